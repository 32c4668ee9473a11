/* server_nomain.c - server.c (the global server state, serverLog, the
 * commands it owns) without its main(), for the harnesses that call into
 * modules needing them: the harness drivers have main() of their own. */
int dredisServerMain(int argc, char **argv);
#define main dredisServerMain
#include "../../src/server.c"
