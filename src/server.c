/* server.c - main(): start-up, the event loop and its timers, shutdown,
 * logging, and the server/connection commands (PING, ECHO, QUIT, TIME, INFO,
 * SHUTDOWN, COMMAND). */

#include "server.h"
#include "rdb_file.h"
#include "fscheck.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <signal.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>
#include <locale.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

struct dredisServer server;

long long ustime(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

long long mstime(void) { return ustime() / 1000; }

static void logLine(int level, const char *msg) {
    static const char marks[] = ".-*#";
    char when[64];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)tv.tv_usec / 1000);
    fprintf(stderr, "%d:M %s %c %s\n", (int)getpid(), when, marks[level], msg);
    fflush(stderr);
}

void serverLog(int level, const char *fmt, ...) {
    if (level < server.verbosity) return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    logLine(level, msg);
}

void serverLogLimited(logLimiter *l, int level, const char *fmt, ...) {
    if (level < server.verbosity) return;
    long long now = mstime();
    if (l->last_ms && now >= l->last_ms && now - l->last_ms < LOG_REPEAT_MS) {
        l->suppressed++;
        return;
    }
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (l->suppressed && n >= 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, " (%lld more like it in the last %lld ms not logged)",
                 l->suppressed, now - l->last_ms);
    l->last_ms = now;
    l->suppressed = 0;
    logLine(level, msg);
}

/* ------------------------------------------------------------------------ */
/* Server and connection commands                                            */
/* ------------------------------------------------------------------------ */

void pingCommand(client *c) {
    if (c->argc > 2) {
        addReplyErrorArity(c);
        return;
    }
    if (c->resp == 2 && clientSubscriptionsCount(c) > 0) {
        addReplyArrayLen(c, 2);
        addReplyBulkCString(c, "pong");
        if (c->argc == 1) addReplyBulk(c, "", 0);
        else addReplyBulk(c, c->argv[1], sdslen(c->argv[1]));
        return;
    }
    if (c->argc == 1) addReplyStatus(c, "PONG");
    else addReplyBulk(c, c->argv[1], sdslen(c->argv[1]));
}

static void echoCommand(client *c) { addReplyBulk(c, c->argv[1], sdslen(c->argv[1])); }

void quitCommand(client *c) {
    addReplyOK(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void timeCommand(client *c) {
    long long us = ustime();
    addReplyArrayLen(c, 2);
    addReplyBulkLongLong(c, us / 1000000);
    addReplyBulkLongLong(c, us % 1000000);
}

static void shutdownCommand(client *c) {
    /* The tree is always saved, and there are no replicas to wait for, so
     * SAVE/NOSAVE/NOW/FORCE all mean "stop now"; ABORT has nothing to abort.
     * The arguments are checked as Redis checks them. */
    int save = 0, nosave = 0, other = 0, abort = 0;
    for (int i = 1; i < c->argc; i++) {
        const char *opt = c->argv[i];
        if (!strcasecmp(opt, "nosave")) nosave = 1;
        else if (!strcasecmp(opt, "save")) save = 1;
        else if (!strcasecmp(opt, "now") || !strcasecmp(opt, "force")) other = 1;
        else if (!strcasecmp(opt, "abort")) abort = 1;
        else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if ((abort && (save || nosave || other)) || (save && nosave)) {
        addReplyErrorSyntax(c);
        return;
    }
    if (abort) {
        addReplyError(c, "ERR No shutdown in progress.");
        return;
    }
    /* while a script runs past its time limit only SHUTDOWN NOSAVE stops
     * the server (the script is aborted; what it wrote stays on disk) */
    if (scriptIsTimedout() && !nosave) {
        addReplyError(c, scriptBusyError());
        return;
    }
    serverLog(LL_WARNING, "User requested shutdown...");
    server.shutdown_asap = 1;
    event_base_loopbreak(server.base);
}

/* INFO sections in the order Redis prints them; the default ones are those
 * INFO without arguments prints. */
static const struct {
    const char *name;
    int dflt;
} infoSections[] = {
    {"server", 1},      {"clients", 1},      {"memory", 1}, {"persistence", 1}, {"stats", 1},
    {"replication", 1}, {"cpu", 1},          {"modules", 1}, {"commandstats", 0}, {"errorstats", 1},
    {"cluster", 1},     {"keyspace", 1},
};
#define INFO_NSECTIONS (sizeof(infoSections) / sizeof(infoSections[0]))

static size_t sectionIndex(const char *name) {
    for (size_t j = 0; j < INFO_NSECTIONS; j++)
        if (!strcmp(infoSections[j].name, name)) return j;
    return 0;
}

static void addCommandStat(redisCommand *cmd, void *ud) {
    sds *info = ud;
    if (cmd->calls || cmd->failed_calls || cmd->rejected_calls)
        *info = sdscatprintf(*info, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
                         cmd->fullname, cmd->calls, cmd->microseconds,
                         cmd->calls ? (double)cmd->microseconds / (double)cmd->calls : 0.0, cmd->rejected_calls,
                         cmd->failed_calls);
    if (cmd->subcommands)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) addCommandStat(sub, ud);
}

/* The text of INFO for the sections flagged in want (indexes of infoSections). */
static sds genInfo(const int *want) {
    sds info = sdsempty();
#define SECTION(name) (want[sectionIndex(name)] && (info = sdslen(info) ? sdscat(info, "\r\n") : info))
    long long now = ustime();
    long long uptime = (now / 1000 - server.start_time_ms) / 1000;
    if (SECTION("server")) {
        struct utsname name;
        uname(&name);
        info = sdscatprintf(info,
                            "# Server\r\n"
                            "redis_version:%s\r\n"
                            "redis_git_sha1:00000000\r\n"
                            "redis_git_dirty:0\r\n"
                            "redis_build_id:0\r\n"
                            "redis_mode:standalone\r\n"
                            "os:%s %s %s\r\n"
                            "arch_bits:%d\r\n"
                            "multiplexing_api:%s\r\n"
                            "gcc_version:%d.%d.%d\r\n"
                            "process_id:%d\r\n"
                            "process_supervised:no\r\n"
                            "run_id:%s\r\n"
                            "tcp_port:%d\r\n"
                            "server_time_usec:%lld\r\n"
                            "uptime_in_seconds:%lld\r\n"
                            "uptime_in_days:%lld\r\n"
                            "hz:10\r\n"
                            "configured_hz:10\r\n"
                            "executable:dredis-server\r\n"
                            "config_file:\r\n"
                            "io_threads_active:0\r\n"
                            "dredis_version:%s\r\n"
                            "dredis_root_dir:%s\r\n"
                            "dredis_fsync:%s\r\n",
                            DREDIS_VERSION, name.sysname, name.release, name.machine, (int)(sizeof(long) * 8),
                            event_base_get_method(server.base),
#ifdef __GNUC__
                            __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                            0, 0, 0,
#endif
                            (int)server.pid, server.runid, server.port, now, uptime, uptime / 86400,
                            DREDIS_OWN_VERSION, server.root_dir, server.fsync_policy);
    }
    if (SECTION("clients")) {
        info = sdscatprintf(info,
                            "# Clients\r\n"
                            "connected_clients:%lu\r\n"
                            "maxclients:%lu\r\n"
                            "blocked_clients:%lu\r\n"
                            "tracking_clients:%lu\r\n",
                            server.nclients - (unsigned long)replicationReplicaCount(), server.maxclients,
                            server.blocked_clients, trackingClientsCount());
    }
    if (SECTION("memory")) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        info = sdscatprintf(info,
                            "# Memory\r\n"
                            "used_memory:%zu\r\n"
                            "used_memory_peak_rss:%lld\r\n"
                            "maxmemory:%llu\r\n"
                            "maxmemory_policy:noeviction\r\n",
                            zmalloc_used_memory(), (long long)ru.ru_maxrss * 1024, server.maxmemory);
        info = genScriptingMemoryInfo(info);
        info = zsetCacheInfo(info);
    }
    if (SECTION("persistence")) info = genPersistenceInfo(info);
    if (SECTION("stats")) {
        info = sdscatprintf(info,
                            "# Stats\r\n"
                            "total_connections_received:%lld\r\n"
                            "total_commands_processed:%lld\r\n"
                            "total_net_input_bytes:%lld\r\n"
                            "rejected_connections:%lld\r\n"
                            "expired_keys:%lld\r\n"
                            "keyspace_hits:%lld\r\n"
                            "keyspace_misses:%lld\r\n"
                            "total_error_replies:%lld\r\n"
                            "dredis_io_errors:%lld\r\n"
                            "dredis_client_output_pauses:%lld\r\n",
                            server.stat_numconnections, server.stat_numcommands, server.stat_net_input_bytes,
                            server.stat_rejected_conn, server.stat_expiredkeys, server.stat_keyspace_hits,
                            server.stat_keyspace_misses, errorRepliesCount(), server.stat_io_errors,
                            server.stat_output_pauses);
        info = genTrackingInfo(info);
        info = genReplicationStats(info);
        info = genMigrateInfo(info);
    }
    if (SECTION("replication")) info = genReplicationInfo(info);
    if (SECTION("cpu")) {
        struct rusage self;
        getrusage(RUSAGE_SELF, &self);
        info = sdscatprintf(info,
                            "# CPU\r\n"
                            "used_cpu_sys:%ld.%06ld\r\n"
                            "used_cpu_user:%ld.%06ld\r\n",
                            (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
                            (long)self.ru_utime.tv_usec);
    }
    if (SECTION("modules")) info = sdscat(info, "# Modules\r\n");
    if (SECTION("commandstats")) {
        info = sdscat(info, "# Commandstats\r\n");
        commandTableForEach(addCommandStat, &info);
    }
    if (SECTION("errorstats")) info = genErrorStatsInfo(sdscat(info, "# Errorstats\r\n"));
    if (SECTION("cluster")) info = sdscat(info, "# Cluster\r\ncluster_enabled:0\r\n");
    if (SECTION("keyspace")) {
        info = sdscat(info, "# Keyspace\r\n");
        for (int db = 0; db < server.dbnum; db++) {
            long long keys, expires;
            /* INFO has no way to say a count failed: such a database is left out */
            if (storeDbSize(db, &keys) != STORE_OK || keys == 0 || (expires = storeExpiresCount(db)) < 0) continue;
            /* avg_ttl is an estimate Redis samples; dredis does not keep one */
            info = sdscatprintf(info, "db%d:keys=%lld,expires=%lld,avg_ttl=0\r\n", db, keys, expires);
        }
    }
#undef SECTION
    return info;
}

/* INFO [section ...]: "default", "all" (all but module-generated sections),
 * "everything", or section names, in any case; each section is printed once,
 * in Redis's order. */
static void infoCommand(client *c) {
    int want[INFO_NSECTIONS] = {0};
    for (int i = 1; i < c->argc || i == 1; i++) {
        const char *arg = i < c->argc ? c->argv[i] : "default";
        int all = !strcasecmp(arg, "all") || !strcasecmp(arg, "everything");
        int dflt = !strcasecmp(arg, "default");
        for (size_t j = 0; j < INFO_NSECTIONS; j++)
            if (all || (dflt && infoSections[j].dflt) || !strcasecmp(arg, infoSections[j].name)) want[j] = 1;
    }
    sds info = genInfo(want);
    addReplyVerbatim(c, info, sdslen(info), "txt");
    sdsfree(info);
}

extern redisCommand commandSubcommands[];
extern redisCommand expireCommandTable[];

redisCommand serverCommandTable[] = {
    {"ping", pingCommand, -1, "fast", "fast connection", 0, 0, 0, NULL},
    {"echo", echoCommand, 2, "loading stale fast", "fast connection", 0, 0, 0, NULL},
    {"quit", quitCommand, -1, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0, NULL},
    {"time", timeCommand, 1, "loading stale fast", "fast", 0, 0, 0, NULL},
    {"info", infoCommand, -1, "loading stale", "slow dangerous", 0, 0, 0, NULL},
    {"shutdown", shutdownCommand, -1, "admin noscript loading stale no_multi allow_busy", "admin slow dangerous", 0, 0, 0, NULL},
    {"command", commandCommand, -1, "loading stale", "slow connection", 0, 0, 0, commandSubcommands},
    {NULL}};

/* ------------------------------------------------------------------------ */
/* Start-up, timers and shutdown                                             */
/* ------------------------------------------------------------------------ */

/* The store tells us about every change to a visible key. */
static void keyTouchedHook(int db, const char *name, size_t len) {
    touchWatchedKey(db, name, len);
    signalKeyAsReady(db, name, len);
    trackingKeyChanged(name, len);
}
/* A database emptied or replaced as a whole: WATCHers fail, and blocked
 * clients look again (an XREADGROUP whose stream went gets its error, as
 * Redis's scanDatabaseForDeletedStreams does). */
static void dbFlushedHook(int db) {
    touchAllWatchedKeysInDb(db);
    signalAllBlockedKeysInDb(db);
    trackingDbFlushed();
}

/* Close clients idle for longer than the timeout setting, as Redis does
 * (subscribers and monitors are exempt). */
static void closeIdleClients(void) {
    if (!server.idle_timeout) return;
    long long now = mstime();
    for (client *c = server.clients; c; c = c->next) {
        if ((c->flags & (CLIENT_MONITOR | CLIENT_SLAVE | CLIENT_MASTER)) || clientSubscriptionsCount(c) > 0 ||
            c->bstate.btype != BLOCKED_NONE)
            continue;
        if (now - c->last_interaction > server.idle_timeout * 1000) {
            serverLog(LL_VERBOSE, "Closing idle client %s", c->addr);
            closeClientAsync(c);
        }
    }
}

/* Say when the space reserve (store_reserve.c) was given back to the
 * deletes of a full disk, and when it is in place again. */
static void logSpaceReserve(void) {
    static int last = -1;
    static logLimiter full;
    int now = storeReserveHeld();
    if (last == 1 && now == 0)
        serverLogLimited(&full, LL_WARNING, "The disk of ROOT_DIR is full: the space reserve was given back so that "
                         "deletes can run; commands that add data are refused until it can be made again");
    else if (last == 0 && now == 1)
        serverLog(LL_NOTICE, "Space is back on the disk of ROOT_DIR: the %lld byte space reserve is in place",
                  storeReserveBytes());
    last = now;
}

static void serverCron(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    if (server.pause_cron) return; /* DEBUG PAUSE-CRON 1, as Redis's serverCron */
    activeExpireCycle();
    closeIdleClients();
    clientsCronOutputLimits();
    saveCron();
    aofCron();
    replicationCron();
    trackingCron();
    migrateCron();
    memoryUpdatePeak();
    logSpaceReserve();
}


static void signalHandler(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    (void)arg;
    serverLog(LL_WARNING, "Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server.shutdown_asap = 1;
    event_base_loopbreak(server.base);
}

static void printBanner(void) {
    serverLog(LL_NOTICE, "dredis %s (Redis %s compatible) starting, pid=%d", DREDIS_OWN_VERSION, DREDIS_VERSION,
              (int)server.pid);
    serverLog(LL_NOTICE, "Listening on %s:%d", server.host, server.port);
    if (server.unixsocket) serverLog(LL_NOTICE, "Listening on unix socket %s", server.unixsocket);
    serverLog(LL_NOTICE, "ROOT_DIR=%s%s", server.root_dir, server.root_dir_is_temp ? " (new temporary directory)" : "");
    serverLog(LL_NOTICE, "fsync policy: %s; databases: %d; maxclients: %lu; debug: %s", server.fsync_policy,
              server.dbnum, server.maxclients, server.verbosity <= LL_DEBUG ? "on" : "off");
}

/* As Redis does (adjustOpenFilesLimit): raise the open files limit to
 * maxclients plus a reserve for the server's own descriptors; where it
 * cannot, lower maxclients to fit, in Redis's words, or exit when not even
 * the reserve fits. The reserve: Redis's CONFIG_MIN_RESERVED_FDS (32:
 * standard streams, listeners, the event loop, replication, snapshots),
 * plus the store's (storeReservedFds(): its fixed directories and the
 * working set of one command; the store gives back the directories it
 * keeps open when that runs short). */
#define CONFIG_MIN_RESERVED_FDS 32
static rlim_t reservedFds(void) { return CONFIG_MIN_RESERVED_FDS + (rlim_t)storeReservedFds(server.dbnum); }

int adjustOpenFilesLimit(void) {
    rlim_t reserved = reservedFds();
    rlim_t maxfiles = (rlim_t)server.maxclients + reserved;
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1) {
        serverLog(LL_WARNING, "Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max "
                  "clients configuration accordingly.", strerror(errno));
        server.maxclients = 1024 - (unsigned long)reserved;
        return C_ERR;
    }
    rlim_t oldlimit = limit.rlim_cur;
    if (oldlimit >= maxfiles) return C_OK;
    rlim_t bestlimit = maxfiles;
    int setrlimit_error = 0;
    /* the highest limit at most maxfiles that can be set, 16 at a time */
    while (bestlimit > oldlimit) {
        limit.rlim_cur = bestlimit;
        limit.rlim_max = bestlimit;
        if (setrlimit(RLIMIT_NOFILE, &limit) != -1) break;
        setrlimit_error = errno;
        if (bestlimit < 16) {
            bestlimit = oldlimit;
            break;
        }
        bestlimit -= 16;
    }
    if (bestlimit < oldlimit) bestlimit = oldlimit;
    if (bestlimit >= maxfiles) {
        serverLog(LL_NOTICE, "Increased maximum number of open files to %llu (it was originally set to %llu).",
                  (unsigned long long)maxfiles, (unsigned long long)oldlimit);
        return C_OK;
    }
    unsigned long old_maxclients = server.maxclients;
    if (bestlimit <= reserved) {
        serverLog(LL_WARNING, "Your current 'ulimit -n' of %llu is not enough for the server to start. Please "
                  "increase your open file limit to at least %llu. Exiting.",
                  (unsigned long long)oldlimit, (unsigned long long)maxfiles);
        exit(1);
    }
    server.maxclients = (unsigned long)(bestlimit - reserved);
    serverLog(LL_WARNING, "You requested maxclients of %lu requiring at least %llu max file descriptors.",
              old_maxclients, (unsigned long long)maxfiles);
    serverLog(LL_WARNING, "Server can't set maximum open files to %llu because of OS error: %s.",
              (unsigned long long)maxfiles, strerror(setrlimit_error));
    serverLog(LL_WARNING, "Current maximum open files is %llu. maxclients has been reduced to %lu to compensate for "
              "low ulimit. If you need higher maxclients increase 'ulimit -n'.",
              (unsigned long long)bestlimit, server.maxclients);
    return C_ERR;
}

/* The store's cache keeps key directories open only with what the limit
 * leaves past maxclients and the reserve. */
static void fitStoreCaches(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur == RLIM_INFINITY) return;
    rlim_t taken = (rlim_t)server.maxclients + reservedFds();
    storeSetCachedFdsMax(limit.rlim_cur > taken ? (int)(limit.rlim_cur - taken > 1024 ? 1024 : limit.rlim_cur - taken) : 0);
}

static void shutdownServer(void) {
    while (server.clients) freeClient(server.clients);
    if (server.listener) evconnlistener_free(server.listener);
    if (server.unix_listener) {
        evconnlistener_free(server.unix_listener);
        unlink(server.unixsocket);
    }
    if (server.cron_ev) event_free(server.cron_ev);
    if (server.sigterm_ev) event_free(server.sigterm_ev);
    if (server.sigint_ev) event_free(server.sigint_ev);
    replicationShutdown();
    aofShutdown();
    storeShutdown();
    event_base_free(server.base);
    serverLog(LL_WARNING, "dredis is now ready to exit, bye bye...");
}

int main(int argc, char **argv) {
    char *err = NULL;
    if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-v"))) {
        printf("dredis-server v=%s (Redis %s compatible)\n", DREDIS_OWN_VERSION, DREDIS_VERSION);
        return 0;
    }
    if (argc > 1 && !rdbToolIsOption(argv[1])) {
        fprintf(stderr, "dredis-server takes no arguments; it is configured by environment variables (see README.md)\n");
        return 1;
    }
    memset(&server, 0, sizeof(server));
    setlocale(LC_COLLATE, ""); /* as Redis: SORT ALPHA compares with strcoll() */
    server.pid = getpid();
    server.dbnum = DEFAULT_DBNUM;
    server.start_time_ms = mstime();
    server.verbosity = LL_NOTICE;
    server.slowlog_log_slower_than = 10000;
    server.slowlog_max_len = 128;
    getRandomHexChars(server.runid, 40);
    srandom((unsigned)(ustime() ^ server.pid));
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1) return rdbToolMain(argc, argv); /* an offline RDB export or import */

    if (loadConfigFromEnv(&err) != C_OK) {
        fprintf(stderr, "dredis: fatal configuration error: %s\n", err);
        return 1;
    }
    adjustOpenFilesLimit(); /* before anything opens descriptors, as Redis */
    fitStoreCaches();
    server.base = event_base_new();
    if (!server.base) {
        fprintf(stderr, "dredis: cannot create the event loop\n");
        return 1;
    }
    const char *ferr;
    if (faultsInit(&ferr) < 0) {
        fprintf(stderr, "dredis: fatal configuration error: %s\n", ferr);
        return 1;
    }
    if (storeInit(server.root_dir, server.dbnum, &err) != STORE_OK) {
        fprintf(stderr, "dredis: fatal: %s\n", err);
        return 1;
    }
    commandTableInit();
    aclInit(); /* the default user, requirepass, the ACL file */
    networkingInit();
    storeSetFsyncPolicy(server.fsync_always ? STORE_FSYNC_ALWAYS
                        : !strcmp(server.fsync_policy, "no") ? STORE_FSYNC_NO : STORE_FSYNC_EVERYSEC);
    multiInit();
    pubsubInit();
    blockingInit();
    trackingInit();
    latencyInit();
    saveInit();
    replicationInit();
    storeSetHooks(keyTouchedHook, dbFlushedHook);
    if (server.flushall_on_startup) {
        for (int db = 0; db < server.dbnum; db++) {
            if (storeFlushDb(db) != STORE_OK) {
                fprintf(stderr, "dredis: fatal: FLUSHALL_ON_STARTUP failed on db %d: %s\n", db, strerror(errno));
                return 1;
            }
        }
    }
    if (functionsLoadAtStartup() != C_OK) {
        storeShutdown();
        return 1;
    }
    if (server.import_rdb && rdbImportAtStartup(server.import_rdb, 0) != C_OK) {
        storeShutdown();
        return 1;
    }
    aofInit(); /* appendonly yes: the AOF made again from the tree */
    if (listenToPort(&err) != C_OK || listenToUnixSocket(&err) != C_OK) {
        fprintf(stderr, "dredis: fatal: %s\n", err);
        return 1;
    }
    printBanner();
    fscheckRootDir(server.root_dir);
    if (server.flushall_on_startup) serverLog(LL_NOTICE, "FLUSHALL_ON_STARTUP: all databases were emptied");

    struct timeval hz = {0, 100000};
    server.cron_ev = event_new(server.base, -1, EV_PERSIST, serverCron, NULL);
    event_add(server.cron_ev, &hz);
    server.sigterm_ev = evsignal_new(server.base, SIGTERM, signalHandler, NULL);
    server.sigint_ev = evsignal_new(server.base, SIGINT, signalHandler, NULL);
    event_add(server.sigterm_ev, NULL);
    event_add(server.sigint_ev, NULL);
    memoryInit(); /* startup.allocated: what the server holds before any client */
    serverLog(LL_NOTICE, "Ready to accept connections");
    systemdNotifyReady();

    event_base_dispatch(server.base);
    systemdNotifyStopping();
    shutdownServer();
    return 0;
}
