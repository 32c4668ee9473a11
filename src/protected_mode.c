/* protected_mode.c - who may connect while there is no password: Redis's
 * protected mode decision (only loopback clients), and its -DENIED text.
 * Pure: networking.c applies it when it accepts a connection. */
#include "server.h"
#include <string.h>
#include <sys/socket.h>

/* As Redis's islocalClient(): a unix socket, or a TCP peer whose address is
 * exactly 127.0.0.1 or ::1 (another 127.x address is not local to Redis). */
int isLoopbackPeer(int family, const char *ip) {
    if (family == AF_UNIX) return 1;
    return !strcmp(ip, "127.0.0.1") || !strcmp(ip, "::1");
}

/* With protected mode on and no password for the default user, only local
 * clients are served. */
int protectedModeDenies(int protected_mode, int has_password, int family, const char *ip) {
    return protected_mode && !has_password && !isLoopbackPeer(family, ip);
}

/* Redis 7.0's text; only its ways out are dredis's: it has no config file
 * (a setting in its environment instead) and no CONFIG REWRITE. Clients
 * match on the -DENIED code; "Redis" stays, as in dredis's other Redis
 * texts (-BUSY Redis is busy ...). */
const char *protectedModeDeniedText =
    "-DENIED Redis is running in protected mode because protected "
    "mode is enabled and no password is set for the default user. "
    "In this mode connections are only accepted from the loopback interface. "
    "If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: "
    "1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface "
    "by connecting to Redis from the same host the server is "
    "running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. "
    "2) Alternatively you can just disable the protected mode by "
    "setting DREDIS_PROTECTED_MODE=no in the server's environment "
    "and restarting the server. "
    "3) Setup a password for the default user (DREDIS_REQUIREPASS "
    "or 'CONFIG SET requirepass'). "
    "NOTE: You only need to do one of the above things in order for "
    "the server to start accepting connections from the outside.\r\n";
