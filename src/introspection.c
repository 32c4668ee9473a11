/* introspection.c - watching the server work: SLOWLOG (commands slower than
 * slowlog-log-slower-than) and MONITOR (every command streamed to monitoring
 * clients); LATENCY: latency.c, DEBUG: debug.c. */
#include "server.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <time.h>

#define SLOWLOG_ENTRY_MAX_ARGC 32
#define SLOWLOG_ENTRY_MAX_STRING 128

typedef struct slowlogEntry {
    long long id;
    long long time;      /* unix seconds */
    long long duration;  /* us */
    int argc;
    sds *argv;
    sds peerid;
    sds cname;
} slowlogEntry;

/* A ring of the newest entries, newest first when read. */
static slowlogEntry *slowlog;
static long long slowlog_len, slowlog_cap, slowlog_head, slowlog_next_id;

static void freeSlowlogEntry(slowlogEntry *e) {
    for (int i = 0; i < e->argc; i++) sdsfree(e->argv[i]);
    zfree(e->argv);
    sdsfree(e->peerid);
    sdsfree(e->cname);
    memset(e, 0, sizeof(*e));
}

static void slowlogReset(void) {
    for (long long i = 0; i < slowlog_cap; i++) freeSlowlogEntry(&slowlog[i]);
    slowlog_len = 0;
    slowlog_head = 0;
}

static void slowlogResize(long long cap) {
    slowlogReset();
    zfree(slowlog);
    slowlog = cap ? zcalloc(sizeof(slowlogEntry) * (size_t)cap) : NULL;
    slowlog_cap = cap;
}

void slowlogPushIfNeeded(client *c, int argc, sds *argv, long long duration) {
    if (server.slowlog_log_slower_than < 0 || duration < server.slowlog_log_slower_than) return;
    if (slowlog_cap != server.slowlog_max_len) slowlogResize(server.slowlog_max_len);
    if (slowlog_cap == 0) return;
    slowlogEntry *e = &slowlog[slowlog_head];
    freeSlowlogEntry(e);
    e->id = slowlog_next_id++;
    e->time = time(NULL);
    e->duration = duration;
    e->argc = argc > SLOWLOG_ENTRY_MAX_ARGC ? SLOWLOG_ENTRY_MAX_ARGC : argc;
    e->argv = zmalloc(sizeof(sds) * (size_t)e->argc);
    for (int i = 0; i < e->argc; i++) {
        if (argc > SLOWLOG_ENTRY_MAX_ARGC && i == e->argc - 1) {
            e->argv[i] = sdscatprintf(sdsempty(), "... (%d more arguments)", argc - e->argc + 1);
        } else if (sdslen(argv[i]) > SLOWLOG_ENTRY_MAX_STRING) {
            e->argv[i] = sdsnewlen(argv[i], SLOWLOG_ENTRY_MAX_STRING);
            e->argv[i] = sdscatprintf(e->argv[i], "... (%zu more bytes)", sdslen(argv[i]) - SLOWLOG_ENTRY_MAX_STRING);
        } else {
            e->argv[i] = sdsdup(argv[i]);
        }
    }
    e->peerid = sdsnew(c->addr);
    e->cname = sdsnew(c->name ? c->name : "");
    slowlog_head = (slowlog_head + 1) % slowlog_cap;
    if (slowlog_len < slowlog_cap) slowlog_len++;
}

static void slowlogGetCommand(client *c) {
    long long count = 10;
    if (c->argc == 3) {
        if (getLongLongFromArgOrReply(c, c->argv[2], &count, NULL) != C_OK) return;
        if (count < -1) {
            addReplyError(c, "ERR count should be greater than or equal to -1");
            return;
        }
        if (count == -1) count = slowlog_len;
    }
    if (count > slowlog_len) count = slowlog_len;
    addReplyArrayLen(c, (long)count);
    for (long long i = 0; i < count; i++) {
        slowlogEntry *e = &slowlog[(slowlog_head - 1 - i + slowlog_cap * 2) % slowlog_cap];
        addReplyArrayLen(c, 6);
        addReplyLongLong(c, e->id);
        addReplyLongLong(c, e->time);
        addReplyLongLong(c, e->duration);
        addReplyArrayLen(c, e->argc);
        for (int j = 0; j < e->argc; j++) addReplyBulk(c, e->argv[j], sdslen(e->argv[j]));
        addReplyBulk(c, e->peerid, sdslen(e->peerid));
        addReplyBulk(c, e->cname, sdslen(e->cname));
    }
}

static void slowlogLenCommand(client *c) { addReplyLongLong(c, slowlog_len); }

static void slowlogResetCommand(client *c) {
    slowlogReset();
    addReplyOK(c);
}

static void slowlogHelpCommand(client *c) {
    static const char *help[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help.",
    };
    addReplyHelpLines(c, help);
}

/* ---- MONITOR ---- */

static client **monitors;
static int nmonitors;

static void monitorCommand(client *c) {
    if (c->flags & (CLIENT_FAKE | CLIENT_EXECUTING)) { /* scripts and EXEC, as Redis */
        addReplyError(c, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->flags & CLIENT_MONITOR) return;
    c->flags |= CLIENT_MONITOR;
    monitors = zrealloc(monitors, sizeof(client *) * (size_t)(nmonitors + 1));
    monitors[nmonitors++] = c;
    addReplyOK(c);
}

void monitorRemoveClient(client *c) {
    for (int i = 0; i < nmonitors; i++) {
        if (monitors[i] == c) {
            monitors[i] = monitors[--nmonitors];
            break;
        }
    }
    c->flags &= ~CLIENT_MONITOR;
}

/* Stream a command to every monitor, in Redis's format:
 * +1339518083.107412 [0 127.0.0.1:60866] "keys" "*" */
void feedMonitors(client *c, int argc, sds *argv) {
    if (nmonitors == 0) return;
    long long us = ustime();
    sds line = sdscatprintf(sdsempty(), "+%lld.%06lld [%d %s]", us / 1000000, us % 1000000, c->db,
                            (c->flags & CLIENT_FAKE) ? "lua" : c->addr);
    for (int i = 0; i < argc; i++) {
        line = sdscat(line, " ");
        line = sdscatrepr(line, argv[i], sdslen(argv[i]));
    }
    line = sdscat(line, "\r\n");
    for (int i = 0; i < nmonitors; i++) addReply(monitors[i], line, sdslen(line));
    sdsfree(line);
}

static void dummyContainer(client *c) { (void)c; }

static redisCommand slowlogSubcommands[] = {
    {"get", slowlogGetCommand, -2, "admin loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"help", slowlogHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"len", slowlogLenCommand, 2, "admin loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"reset", slowlogResetCommand, 2, "admin loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};

redisCommand introspectionCommandTable[] = {
    {"slowlog", dummyContainer, -2, "", "slow", 0, 0, 0, slowlogSubcommands},
    {"monitor", monitorCommand, 1, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};
