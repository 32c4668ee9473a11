/* faults.c - DEBUG-FAULT, the command that drives the fault injector of
 * syscalls.c from tests. It exists only when the server was started with
 * DREDIS_ENABLE_DEBUG_FAULTS=1 (otherwise it is an unknown command);
 * DREDIS_DEBUG_FAULTS=<spec> arms a fault before the tree is opened, for
 * faults during start-up recovery. docs/faults.md describes both. */
#include "server.h"
#include "syscalls.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int enabled = -1;

int faultsEnabled(void) {
    if (enabled < 0) {
        const char *v = getenv("DREDIS_ENABLE_DEBUG_FAULTS");
        enabled = v && !strcmp(v, "1");
    }
    return enabled;
}

/* At start-up, before the store opens the tree: counting on when enabled,
 * and the fault of DREDIS_DEBUG_FAULTS armed. 0, or -1 with a reason. */
int faultsInit(const char **err) {
    const char *spec = getenv("DREDIS_DEBUG_FAULTS");
    if (!faultsEnabled()) {
        if (spec && *spec) return *err = "DREDIS_DEBUG_FAULTS needs DREDIS_ENABLE_DEBUG_FAULTS=1", -1;
        return 0;
    }
    sysFaultSetCounting(1);
    if (spec && *spec && sysFaultArmSpec(spec, err) < 0) return -1;
    if (spec && *spec) serverLog(LL_WARNING, "Fault armed from DREDIS_DEBUG_FAULTS: %s", spec);
    return 0;
}

static void faultStatus(client *c) {
    addReplyMapLen(c, 4);
    addReplyBulkCString(c, "armed");
    addReplyLongLong(c, sysFaultArmed());
    addReplyBulkCString(c, "fired");
    addReplyLongLong(c, sysFaultFired());
    addReplyBulkCString(c, "last");
    addReplyBulkCString(c, sysFaultLastCall());
    addReplyBulkCString(c, "calls");
    addReplyLongLong(c, sysFaultCallCount());
}

/* DEBUG-FAULT ARM <syscall|all> <errno> NTH <n> | AFTER <n> | FRACTION <p> [SEED <n>]
 * DEBUG-FAULT OFF | RESET | COUNT [<syscall>] | STATUS */
static void debugFaultCommand(client *c) {
    const char *sub = c->argv[1];
    if (!strcasecmp(sub, "arm") && c->argc >= 3) {
        const char *err;
        if (sysFaultArm(c->argc - 2, c->argv + 2, &err) < 0) {
            addReplyErrorFormat(c, "ERR %s", err);
            return;
        }
        addReplyOK(c);
    } else if (!strcasecmp(sub, "off") && c->argc == 2) {
        sysFaultDisarm();
        addReplyOK(c);
    } else if (!strcasecmp(sub, "reset") && c->argc == 2) {
        sysFaultResetCount();
        addReplyOK(c);
    } else if (!strcasecmp(sub, "count") && c->argc == 2) {
        addReplyLongLong(c, sysFaultCallCount());
    } else if (!strcasecmp(sub, "count") && c->argc == 3) {
        int sc = sysCallByName(c->argv[2]);
        if (sc < 0) {
            addReplyError(c, "ERR unknown syscall name");
            return;
        }
        addReplyLongLong(c, sysFaultCallCountOf(sc));
    } else if (!strcasecmp(sub, "status") && c->argc == 2) {
        faultStatus(c);
    } else {
        addReplyErrorFormat(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'", sub);
    }
}

redisCommand faultCommandTable[] = {
    {"debug-fault", debugFaultCommand, -2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL,
     .group = "server", .since = "7.0.0",
     .summary = "Fails the storage layer's file system calls on purpose (tests only).", .complexity = "O(1)"},
    {NULL}};
