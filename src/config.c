/* config.c - settings from the environment. Every variable is validated at
 * start-up; a bad value stops the server with a one-line reason. */
#include "server.h"
#include "store.h"
#include "syscalls.h"
#include "snapshot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>

extern char **environ;

static char errbuf[1024];

static int fail(char **err, const char *fmt, const char *name, const char *value) {
    snprintf(errbuf, sizeof(errbuf), fmt, name, value);
    *err = errbuf;
    return C_ERR;
}

static int parseBool(const char *name, const char *v, int *out, char **err) {
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) *out = 1;
    else if (!*v || !strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off"))
        *out = 0;
    else return fail(err, "%s must be one of 1/0, true/false, yes/no, on/off (got '%s')", name, v);
    return C_OK;
}

static int parseLong(const char *name, const char *v, long min, long max, long *out, char **err) {
    long n;
    if (!string2l(v, strlen(v), &n) || n < min || n > max) {
        static char fmt[256];
        snprintf(fmt, sizeof(fmt), "%%s must be an integer from %ld to %ld (got '%%s')", min, max);
        return fail(err, fmt, name, v);
    }
    *out = n;
    return C_OK;
}

static int setupRootDir(char **err) {
    const char *v = getenv("ROOT_DIR");
    if (!v || !*v) {
        const char *tmp = getenv("TMPDIR");
        char templ[PATH_MAX];
        snprintf(templ, sizeof(templ), "%s/dredis-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(templ)) return fail(err, "cannot create a temporary %s: %s", "ROOT_DIR", strerror(errno));
        server.root_dir = zstrdup(templ);
        server.root_dir_is_temp = 1;
        return C_OK;
    }
    struct stat sb;
    if (stat(v, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode)) return fail(err, "%s '%s' exists and is not a directory", "ROOT_DIR", v);
    } else if (errno != ENOENT || sysMakeDirs(v) < 0) {
        snprintf(errbuf, sizeof(errbuf), "ROOT_DIR '%s' cannot be created: %s", v, strerror(errno));
        *err = errbuf;
        return C_ERR;
    }
    if (access(v, W_OK | X_OK) < 0) return fail(err, "%s '%s' is not writable", "ROOT_DIR", v);
    char *real = realpath(v, NULL);
    server.root_dir = zstrdup(real ? real : v);
    free(real);
    return C_OK;
}

static const char *knownVars[] = {"DREDIS_HOST", "DREDIS_PORT", "DREDIS_MAXCLIENTS", "DREDIS_FSYNC",
                                  "DREDIS_REQUIREPASS", "DREDIS_UNIXSOCKET", "DREDIS_UNIXSOCKETPERM",
                                  "DREDIS_LUA_TIME_LIMIT", "DREDIS_LUA_MEMORY_LIMIT",
                                  "DREDIS_ZSET_CACHE_MEMBERS", "DREDIS_NOTIFY_KEYSPACE_EVENTS",
                                  "DREDIS_SNAPSHOT_DIR", "DREDIS_SNAPSHOT_KEEP", "DREDIS_SAVE",
                                  "DREDIS_REPL_BACKLOG_SIZE", "DREDIS_REPL_PING_REPLICA_PERIOD",
                                  "DREDIS_REPL_TIMEOUT", "DREDIS_REPLICAOF", "DREDIS_MASTERAUTH", "DREDIS_REPLICA_PRIORITY",
                                  "DREDIS_MIN_REPLICAS_TO_WRITE", "DREDIS_MIN_REPLICAS_MAX_LAG",
                                  "DREDIS_REPLICA_SERVE_STALE_DATA",
                                  "DREDIS_IMPORT_RDB", "DREDIS_PROTECTED_MODE", "DREDIS_CLIENT_OUTPUT_BUFFER_LIMIT",
                                  "DREDIS_CLIENT_QUERY_BUFFER_LIMIT", "DREDIS_PROTO_MAX_BULK_LEN", "DREDIS_ACLFILE",
                                  "DREDIS_ENABLE_DEBUG_COMMAND", "DREDIS_HLL_SPARSE_MAX_BYTES", "DREDIS_MAXMEMORY",
                                  "DREDIS_APPENDONLY", "DREDIS_APPENDFILENAME", "DREDIS_APPENDDIRNAME", NULL};

static const char *setYesNo(const char *v, int *out);
static const char *setSizeMemory(const char *v, unsigned long long min, unsigned long long max, long long *out);

/* Replication, with Redis's defaults: a 1 MB backlog, a PING to replicas
 * every 10 s, replicas dropped after 60 s without an acknowledgement. */
static int loadReplicationSettings(char **err) {
    const char *v;
    long n;
    server.repl_backlog_size = 1024 * 1024;
    server.repl_ping_period = 10;
    server.repl_timeout = 60;
    if ((v = getenv("DREDIS_REPL_BACKLOG_SIZE")) && *v &&
        setSizeMemory(v, 16 * 1024, 1LL << 40, &server.repl_backlog_size))
        return fail(err, "%s must be a memory value from 16kb (16384) to 1099511627776 (got '%s')",
                    "DREDIS_REPL_BACKLOG_SIZE", v);
    if ((v = getenv("DREDIS_REPL_PING_REPLICA_PERIOD")) && *v) {
        if (parseLong("DREDIS_REPL_PING_REPLICA_PERIOD", v, 1, 3600, &n, err) != C_OK) return C_ERR;
        server.repl_ping_period = n;
    }
    if ((v = getenv("DREDIS_REPL_TIMEOUT")) && *v) {
        if (parseLong("DREDIS_REPL_TIMEOUT", v, 1, 86400, &n, err) != C_OK) return C_ERR;
        server.repl_timeout = n;
    }
    server.replica_priority = 100;
    server.repl_min_replicas_max_lag = 10;
    server.repl_serve_stale_data = 1;
    if ((v = getenv("DREDIS_REPLICA_SERVE_STALE_DATA")) && *v && setYesNo(v, &server.repl_serve_stale_data))
        return fail(err, "%s must be yes or no (got '%s')", "DREDIS_REPLICA_SERVE_STALE_DATA", v);
    if ((v = getenv("DREDIS_MIN_REPLICAS_TO_WRITE")) && *v) {
        if (parseLong("DREDIS_MIN_REPLICAS_TO_WRITE", v, 0, INT_MAX, &n, err) != C_OK) return C_ERR;
        server.repl_min_replicas_to_write = n;
    }
    if ((v = getenv("DREDIS_MIN_REPLICAS_MAX_LAG")) && *v) {
        if (parseLong("DREDIS_MIN_REPLICAS_MAX_LAG", v, 0, INT_MAX, &n, err) != C_OK) return C_ERR;
        server.repl_min_replicas_max_lag = n;
    }
    if ((v = getenv("DREDIS_REPLICA_PRIORITY")) && *v) {
        if (parseLong("DREDIS_REPLICA_PRIORITY", v, 0, INT_MAX, &n, err) != C_OK) return C_ERR;
        server.replica_priority = n;
    }
    if ((v = getenv("DREDIS_MASTERAUTH")) && *v) server.masterauth = zstrdup(v);
    if ((v = getenv("DREDIS_REPLICAOF")) && *v) {
        /* host:port (the last colon splits, so an IPv6 address may have its own) */
        const char *colon = strrchr(v, ':');
        if (!colon || colon == v || parseLong("DREDIS_REPLICAOF", colon + 1, 1, 65535, &n, err) != C_OK)
            return fail(err, "%s must be host:port, e.g. 10.0.0.5:6379 (got '%s')", "DREDIS_REPLICAOF", v);
        server.masterhost = zmalloc((size_t)(colon - v) + 1);
        memcpy(server.masterhost, v, (size_t)(colon - v));
        server.masterhost[colon - v] = '\0';
        server.masterport = (int)n;
    }
    return C_OK;
}


/* Protected mode and the limits on what a client may cost, with Redis's
 * defaults and the syntax of their CONFIG SET. */
static int loadClientLimitSettings(char **err) {
    const char *v, *why;
    server.protected_mode = 1;
    memcpy(server.client_obuf_limits, clientOutputLimitDefaults, sizeof(server.client_obuf_limits));
    server.client_max_querybuf_len = 1024LL * 1024 * 1024;
    if ((v = getenv("DREDIS_PROTECTED_MODE")) && *v && setYesNo(v, &server.protected_mode))
        return fail(err, "%s must be yes or no (got '%s')", "DREDIS_PROTECTED_MODE", v);
    if ((v = getenv("DREDIS_CLIENT_OUTPUT_BUFFER_LIMIT")) && *v && (why = setClientOutputLimits(v))) {
        snprintf(errbuf, sizeof(errbuf), "DREDIS_CLIENT_OUTPUT_BUFFER_LIMIT '%s': %s", v, why);
        *err = errbuf;
        return C_ERR;
    }
    /* read as CONFIG SET reads them (Redis's memory values and ranges) */
    if ((v = getenv("DREDIS_CLIENT_QUERY_BUFFER_LIMIT")) && *v &&
        setSizeMemory(v, 1024 * 1024, LONG_MAX, &server.client_max_querybuf_len))
        return fail(err, "%s must be a memory value from 1mb (1048576) to 9223372036854775807 (got '%s')",
                    "DREDIS_CLIENT_QUERY_BUFFER_LIMIT", v);
    if ((v = getenv("DREDIS_PROTO_MAX_BULK_LEN")) && *v && setSizeMemory(v, 1024 * 1024, LONG_MAX, &respMaxBulkLen))
        return fail(err, "%s must be a memory value from 1mb (1048576) to 9223372036854775807 (got '%s')",
                    "DREDIS_PROTO_MAX_BULK_LEN", v);
    return C_OK;
}

/* DREDIS_SAVE: Redis's "save" syntax, pairs of "seconds changes" (empty:
 * no periodic snapshots). */
static int parseSaveParams(const char *v, char **err) {
    int n;
    sds *parts = sdssplitargs(v, strlen(v), &n);
    if (!parts || n % 2) {
        if (parts) sdsfreesplitres(parts, n);
        return fail(err, "%s must be pairs of seconds and changes, e.g. '3600 1 300 100' (got '%s')", "DREDIS_SAVE", v);
    }
    server.save_params = zmalloc(sizeof(*server.save_params) * (size_t)(n / 2 + 1));
    server.save_params_count = 0;
    for (int i = 0; i < n; i += 2) {
        long long s, c;
        if (!string2ll(parts[i], sdslen(parts[i]), &s) || !string2ll(parts[i + 1], sdslen(parts[i + 1]), &c) ||
            s < 1 || c < 0) {
            sdsfreesplitres(parts, n);
            return fail(err, "%s must be pairs of seconds (1 or more) and changes (0 or more) (got '%s')",
                        "DREDIS_SAVE", v);
        }
        server.save_params[server.save_params_count].seconds = s;
        server.save_params[server.save_params_count].changes = c;
        server.save_params_count++;
    }
    sdsfreesplitres(parts, n);
    return C_OK;
}

/* DREDIS_IMPORT_RDB: a readable regular file (loaded once the store is
 * open, into an empty ROOT_DIR: rdb_tool.c). */
static int setupImportRdb(const char *v, char **err) {
    struct stat sb;
    if (stat(v, &sb) < 0) {
        snprintf(errbuf, sizeof(errbuf), "DREDIS_IMPORT_RDB '%s' cannot be read: %s", v, strerror(errno));
        *err = errbuf;
        return C_ERR;
    }
    if (!S_ISREG(sb.st_mode)) return fail(err, "%s '%s' is not a regular file", "DREDIS_IMPORT_RDB", v);
    if (access(v, R_OK) < 0) return fail(err, "%s '%s' is not readable", "DREDIS_IMPORT_RDB", v);
    server.import_rdb = zstrdup(v);
    return C_OK;
}

/* The append-only file (aof.c): DREDIS_APPENDONLY, and its names as
 * Redis's appendfilename and appenddirname (in DREDIS_SNAPSHOT_DIR). */
static int loadAofSettings(char **err) {
    const char *v, *why;
    int enabled = 0;
    const char *fname = "appendonly.aof", *dname = "appendonlydir";
    if ((v = getenv("DREDIS_APPENDONLY")) && *v && setYesNo(v, &enabled))
        return fail(err, "%s must be yes or no (got '%s')", "DREDIS_APPENDONLY", v);
    if ((v = getenv("DREDIS_APPENDFILENAME")) && *v) {
        if ((why = aofValidName(v, 0))) {
            snprintf(errbuf, sizeof(errbuf), "DREDIS_APPENDFILENAME '%s': %s", v, why);
            *err = errbuf;
            return C_ERR;
        }
        fname = v;
    }
    if ((v = getenv("DREDIS_APPENDDIRNAME")) && *v) {
        if ((why = aofValidName(v, 1))) {
            snprintf(errbuf, sizeof(errbuf), "DREDIS_APPENDDIRNAME '%s': %s", v, why);
            *err = errbuf;
            return C_ERR;
        }
        dname = v;
    }
    aofConfigure(fname, dname, enabled);
    return C_OK;
}

/* DREDIS_SNAPSHOT_DIR, by default ROOT_DIR with ".snapshots" appended;
 * never ROOT_DIR itself or a directory inside it. */
static int setupSnapshotDir(char **err) {
    const char *v = getenv("DREDIS_SNAPSHOT_DIR");
    sds dir;
    if (v && *v) {
        if (v[0] != '/') {
            char cwd[PATH_MAX];
            if (!getcwd(cwd, sizeof(cwd))) return fail(err, "%s '%s': cannot read the working directory", "DREDIS_SNAPSHOT_DIR", v);
            dir = sdscatprintf(sdsempty(), "%s/%s", cwd, v);
        } else {
            dir = sdsnew(v);
        }
    } else {
        dir = sdscatprintf(sdsempty(), "%s.snapshots", server.root_dir);
    }
    while (sdslen(dir) > 1 && dir[sdslen(dir) - 1] == '/') sdssetlen(dir, sdslen(dir) - 1);
    char *real = realpath(dir, NULL); /* when it exists already (BGSAVE checks again) */
    const char *cmp = real ? real : dir;
    size_t rl = strlen(server.root_dir);
    int inside = !strncmp(cmp, server.root_dir, rl) && (cmp[rl] == '\0' || cmp[rl] == '/');
    free(real);
    if (inside) {
        int r = fail(err, "%s '%s' must not be ROOT_DIR or inside it", "DREDIS_SNAPSHOT_DIR", dir);
        sdsfree(dir);
        return r;
    }
    server.snapshot_dir = zstrdup(dir);
    sdsfree(dir);
    return C_OK;
}

int loadConfigFromEnv(char **err) {
    const char *v;
    long n;
    server.host = zstrdup((v = getenv("DREDIS_HOST")) && *v ? v : "127.0.0.1");
    server.port = 6377;
    if ((v = getenv("DREDIS_PORT")) && *v) {
        if (parseLong("DREDIS_PORT", v, 1, 65535, &n, err) != C_OK) return C_ERR;
        server.port = (int)n;
    }
    server.maxclients = 10000;
    server.tracking_table_max_keys = 1000000;
    if ((v = getenv("DREDIS_MAXCLIENTS")) && *v) {
        if (parseLong("DREDIS_MAXCLIENTS", v, 1, 1000000, &n, err) != C_OK) return C_ERR;
        server.maxclients = (unsigned long)n;
    }
    server.zset_cache_members = 1000000;
    if ((v = getenv("DREDIS_ZSET_CACHE_MEMBERS")) && *v) {
        if (parseLong("DREDIS_ZSET_CACHE_MEMBERS", v, 0, 1000000000, &n, err) != C_OK) return C_ERR;
        server.zset_cache_members = n;
    }
    /* Redis's hll-sparse-max-bytes, read as CONFIG SET reads it */
    server.hll_sparse_max_bytes = 3000;
    if ((v = getenv("DREDIS_HLL_SPARSE_MAX_BYTES")) && *v &&
        setSizeMemory(v, 0, LONG_MAX, &server.hll_sparse_max_bytes))
        return fail(err, "%s must be a memory value from 0 to 9223372036854775807 (got '%s')",
                    "DREDIS_HLL_SPARSE_MAX_BYTES", v);
    /* Redis's maxmemory (evict.c), read as CONFIG SET reads it */
    server.maxmemory = 0;
    if ((v = getenv("DREDIS_MAXMEMORY")) && *v && !parseMemoryAsRedis(v, &server.maxmemory))
        return fail(err, "%s must be a memory value (got '%s')", "DREDIS_MAXMEMORY", v);
    server.fsync_policy = "everysec";
    if ((v = getenv("DREDIS_FSYNC")) && *v) {
        if (strcmp(v, "always") && strcmp(v, "everysec") && strcmp(v, "no"))
            return fail(err, "%s must be always, everysec or no (got '%s')", "DREDIS_FSYNC", v);
        server.fsync_policy = !strcmp(v, "always") ? "always" : !strcmp(v, "no") ? "no" : "everysec";
    }
    server.fsync_always = !strcmp(server.fsync_policy, "always");
    server.lua_time_limit = 5000;
    if ((v = getenv("DREDIS_LUA_TIME_LIMIT")) && *v) {
        if (parseLong("DREDIS_LUA_TIME_LIMIT", v, 1, 86400000L, &n, err) != C_OK) return C_ERR;
        server.lua_time_limit = n;
    }
    server.lua_memory_limit = 64UL * 1024 * 1024;
    if ((v = getenv("DREDIS_LUA_MEMORY_LIMIT")) && *v) {
        if (parseLong("DREDIS_LUA_MEMORY_LIMIT", v, 1024L * 1024, 1L << 40, &n, err) != C_OK) return C_ERR;
        server.lua_memory_limit = (size_t)n;
    }
    server.notify_keyspace_events = 0;
    if ((v = getenv("DREDIS_NOTIFY_KEYSPACE_EVENTS")) && *v) {
        int flags = keyspaceEventsStringToFlags(v);
        if (flags < 0)
            return fail(err, "%s must be made of the event class characters 'Ag$lshzxeKEtmdn' (got '%s')",
                        "DREDIS_NOTIFY_KEYSPACE_EVENTS", v);
        server.notify_keyspace_events = flags;
    }
    if ((v = getenv("DREDIS_REQUIREPASS")) && *v) server.requirepass = zstrdup(v);
    if ((v = getenv("DREDIS_ACLFILE")) && *v) server.acl_filename = zstrdup(v);
    server.acllog_max_len = 128;
    if (loadClientLimitSettings(err) != C_OK) return C_ERR;
    if ((v = getenv("DREDIS_UNIXSOCKET")) && *v) server.unixsocket = zstrdup(v);
    if ((v = getenv("DREDIS_UNIXSOCKETPERM")) && *v) {
        char *end;
        long perm = strtol(v, &end, 8);
        if (*end || perm < 0 || perm > 0777) return fail(err, "%s must be an octal mode such as 700 (got '%s')", "DREDIS_UNIXSOCKETPERM", v);
        server.unixsocketperm = perm;
    }
    /* Redis's enable-debug-command (an enum: its words in any case) */
    server.enable_debug_cmd = PROTECTED_ACTION_ALLOWED_NO;
    if ((v = getenv("DREDIS_ENABLE_DEBUG_COMMAND")) && *v) {
        if (!strcasecmp(v, "no")) server.enable_debug_cmd = PROTECTED_ACTION_ALLOWED_NO;
        else if (!strcasecmp(v, "yes")) server.enable_debug_cmd = PROTECTED_ACTION_ALLOWED_YES;
        else if (!strcasecmp(v, "local")) server.enable_debug_cmd = PROTECTED_ACTION_ALLOWED_LOCAL;
        else return fail(err, "%s must be no, yes or local (got '%s')", "DREDIS_ENABLE_DEBUG_COMMAND", v);
    }
    if ((v = getenv("DEBUG")) && parseBool("DEBUG", v, &server.debug, err) != C_OK) return C_ERR;
    if (server.debug) server.verbosity = LL_DEBUG;
    if ((v = getenv("FLUSHALL_ON_STARTUP")) && parseBool("FLUSHALL_ON_STARTUP", v, &server.flushall_on_startup, err) != C_OK)
        return C_ERR;
    if (setupRootDir(err) != C_OK) return C_ERR;
    if (setupSnapshotDir(err) != C_OK) return C_ERR;
    server.snapshot_keep = 1;
    if ((v = getenv("DREDIS_SNAPSHOT_KEEP")) && *v) {
        if (parseLong("DREDIS_SNAPSHOT_KEEP", v, 0, 1000000, &n, err) != C_OK) return C_ERR;
        server.snapshot_keep = (int)n;
    }
    if ((v = getenv("DREDIS_SAVE")) && *v && parseSaveParams(v, err) != C_OK) return C_ERR;
    if (loadReplicationSettings(err) != C_OK) return C_ERR;
    if (loadAofSettings(err) != C_OK) return C_ERR;
    if ((v = getenv("DREDIS_IMPORT_RDB")) && *v && setupImportRdb(v, err) != C_OK) return C_ERR;
    /* warn about DREDIS_* names we do not know: likely typos */
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "DREDIS_", 7) != 0) continue;
        size_t len = strcspn(*e, "=");
        int known = 0;
        for (int i = 0; knownVars[i]; i++)
            if (strlen(knownVars[i]) == len && !strncmp(knownVars[i], *e, len)) known = 1;
        if (!known) serverLog(LL_WARNING, "ignoring unknown setting %.*s", (int)len, *e);
    }
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* CONFIG GET / SET / RESETSTAT / REWRITE                                    */
/* ------------------------------------------------------------------------ */

/* A setting as CONFIG sees it: get renders the current value; set (NULL for
 * immutable settings) validates and applies, or returns an error reason. */
typedef struct configEntry {
    const char *name;
    sds (*get)(void);
    const char *(*set)(const char *value);
    const char *alias;  /* the other name Redis 7.0 accepts (its 6.x name), or NULL */
} configEntry;

static sds fmtLL(long long v) { return sdsfromlonglong(v); }

static const char *setLongLong(const char *value, long long min, long long max, long long *out) {
    static char reason[128];
    long long v;
    if (!string2ll(value, strlen(value), &v)) return "argument couldn't be parsed into an integer";
    if (v < min || v > max) {
        snprintf(reason, sizeof(reason), "argument must be between %lld and %lld inclusive", min, max);
        return reason;
    }
    *out = v;
    return NULL;
}

static sds getPort(void) { return fmtLL(server.port); }
static sds getBind(void) { return sdsnew(server.host); }
/* CONFIG SET port: as Redis's, a new listener (networking.c) */
static const char *setPort(const char *v) {
    long long port;
    const char *why = setLongLong(v, 0, 65535, &port);
    if (why) return why;
    if (port == server.port) return NULL;
    return changeListenPort((int)port) == C_OK ? NULL : "Unable to listen on this port. Check server logs."; /* as Redis */
}
/* bind is fixed at start-up: CONFIG SET accepts its current value (as
 * Redis does any value) and refuses a change, saying why. */
static const char *setBind(const char *v) {
    return !strcmp(v, server.host) ? NULL : "dredis cannot change bind while running (DREDIS_HOST)";
}
static sds getDatabases(void) { return fmtLL(server.dbnum); }
static sds getDir(void) { return sdsnew(server.root_dir); }
static sds getMaxclients(void) { return fmtLL((long long)server.maxclients); }
/* As Redis: more clients than the open files limit can take (raised if it
 * can be) are refused, saying how many it can. */
static const char *setMaxclients(const char *v) {
    long long n;
    const char *err = setLongLong(v, 1, 4294967295LL, &n);
    if (err) return err;
    unsigned long old = server.maxclients;
    server.maxclients = (unsigned long)n;
    if (server.maxclients > old && adjustOpenFilesLimit() != C_OK) {
        static char msg[128];
        snprintf(msg, sizeof(msg), "The operating system is not able to handle the specified number of clients, "
                 "try with %lu", server.maxclients);
        server.maxclients = old;
        return msg;
    }
    return NULL;
}
static sds getRequirepass(void) { return sdsnew(server.requirepass ? server.requirepass : ""); }
static const char *setRequirepass(const char *v) {
    zfree(server.requirepass);
    server.requirepass = *v ? zstrdup(v) : NULL;
    aclUpdateDefaultUserPassword(server.requirepass); /* as Redis: requirepass is the default user's password */
    return NULL;
}
static sds getAclPubsubDefault(void) { return sdsnew(aclPubsubDefault()); }
static const char *setAclPubsubDefault(const char *v) {
    return aclSetPubsubDefault(v) == C_OK ? NULL : "argument(s) must be one of the following: allchannels, resetchannels";
}
static sds getAclfile(void) { return sdsnew(server.acl_filename ? server.acl_filename : ""); }
static sds getAcllogMaxLen(void) { return fmtLL(server.acllog_max_len); }
static const char *setAcllogMaxLen(const char *v) { return setLongLong(v, 0, LONG_MAX, &server.acllog_max_len); }
static sds getLatencyThreshold(void) { return fmtLL(server.latency_monitor_threshold); }
static const char *setLatencyThreshold(const char *v) {
    return setLongLong(v, 0, LLONG_MAX, &server.latency_monitor_threshold);
}
static sds getTrackingMaxKeys(void) { return fmtLL(server.tracking_table_max_keys); }
static const char *setTrackingMaxKeys(const char *v) {
    return setLongLong(v, 0, LONG_MAX, &server.tracking_table_max_keys);
}
static sds getTimeout(void) { return fmtLL(server.idle_timeout); }
static const char *setTimeout(const char *v) { return setLongLong(v, 0, INT_MAX, &server.idle_timeout); }
static sds getSlowlogSlower(void) { return fmtLL(server.slowlog_log_slower_than); }
static const char *setSlowlogSlower(const char *v) {
    return setLongLong(v, -1, LLONG_MAX, &server.slowlog_log_slower_than);
}
static sds getSlowlogMaxLen(void) { return fmtLL(server.slowlog_max_len); }
static const char *setSlowlogMaxLen(const char *v) { return setLongLong(v, 0, LONG_MAX, &server.slowlog_max_len); }
static sds getLoglevel(void) {
    return sdsnew(server.verbosity == LL_DEBUG     ? "debug"
                  : server.verbosity == LL_VERBOSE ? "verbose"
                  : server.verbosity == LL_NOTICE  ? "notice"
                                                   : "warning");
}
static const char *setLoglevel(const char *v) {
    static const char *names[] = {"debug", "verbose", "notice", "warning"};
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(v, names[i])) {
            server.verbosity = i;
            return NULL;
        }
    return "argument(s) must be one of the following: debug, verbose, notice, warning, nothing";
}
/* maxmemory (evict.c): over it, deny-oom commands are refused, as Redis's
 * noeviction; dredis never evicts (its keys are on disk, not in memory), so
 * the eviction settings accept only what is true of it. */
static sds getZero(void) { return sdsnew("0"); }
static sds getMaxmemory(void) { return sdscatprintf(sdsempty(), "%llu", server.maxmemory); }
static const char *setMaxmemory(const char *v) {
    unsigned long long n;
    if (!parseMemoryAsRedis(v, &n)) return "argument must be a memory value"; /* as Redis */
    if (n && n < zmalloc_used_memory())
        serverLog(LL_WARNING,
                  "WARNING: the new maxmemory value set via CONFIG SET (%llu) is smaller than the current memory "
                  "usage (%zu). This will result in key eviction and/or the inability to accept new write commands "
                  "depending on the maxmemory-policy.",
                  n, zmalloc_used_memory());
    server.maxmemory = n;
    return NULL;
}
static sds getNoeviction(void) { return sdsnew("noeviction"); }
static const char *setMaxmemoryPolicy(const char *v) {
    static const char *policies[] = {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                     "allkeys-lru", "allkeys-lfu", "allkeys-random"};
    if (!strcasecmp(v, "noeviction")) return NULL;
    for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++)
        if (!strcasecmp(v, policies[i])) return "dredis never evicts keys: only noeviction is supported";
    return "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
           "allkeys-lru, allkeys-lfu, allkeys-random, noeviction"; /* as Redis */
}
/* What tunes eviction: Redis's bounds and errors, then only the value
 * true of dredis (why: the refusal). */
static const char *setOnly(const char *v, long long min, long long max, long long only, const char *why) {
    long long n;
    const char *bad = setLongLong(v, min, max, &n);
    return bad ? bad : n == only ? NULL : why;
}
static sds getMaxmemorySamples(void) { return sdsnew("5"); }
static const char *setMaxmemorySamples(const char *v) {
    return setOnly(v, 1, INT_MAX, 5, "dredis never evicts keys (noeviction samples none): only 5 is supported");
}
static sds getEvictionTenacity(void) { return sdsnew("10"); }
static const char *setEvictionTenacity(const char *v) {
    return setOnly(v, 0, 100, 10, "dredis never evicts keys: only 10 is supported");
}
/* maxmemory-clients: a memory value or a percentage of maxmemory, read as
 * Redis's; dredis never evicts clients, so only 0 */
static const char *setMaxmemoryClients(const char *v) {
    unsigned long long n;
    long long value, pct;
    size_t len = strlen(v);
    /* as Redis: a percentage is kept negative, and a memory value past
     * LLONG_MAX wraps into one */
    if (parseMemoryAsRedis(v, &n)) value = (long long)n;
    else if (len > 1 && v[len - 1] == '%' && string2ll(v, len - 1, &pct) && pct >= 0) value = -pct;
    else return "argument must be a memory or percent value";
    if (value < -100) return "percentage argument must be less or equal to 100";
    return value == 0 ? NULL : "dredis does not evict clients for memory: only 0 is supported";
}
static const char *setReplicaIgnoreMaxmemory(const char *v) {
    int yes;
    const char *why = setYesNo(v, &yes);
    if (why) return why;
    return yes ? NULL : "a dredis replica always ignores maxmemory: only yes is supported";
}
static sds getNo(void) { return sdsnew("no"); }
/* enable-debug-command: DREDIS_ENABLE_DEBUG_COMMAND, immutable as in Redis */
static sds getEnableDebugCmd(void) {
    return sdsnew(server.enable_debug_cmd == PROTECTED_ACTION_ALLOWED_YES     ? "yes"
                  : server.enable_debug_cmd == PROTECTED_ACTION_ALLOWED_LOCAL ? "local"
                                                                              : "no");
}
/* The append-only file (aof.c). The settings dredis does not follow
 * refuse any value but the one that is true of it. */
static sds getAppendonly(void) { return sdsnew(aofEnabled() ? "yes" : "no"); }
static const char *setAppendonly(const char *v) {
    int yes;
    const char *why = setYesNo(v, &yes);
    return why ? why : aofSetEnabled(yes ? "yes" : "no");
}
static sds getAppendfilename(void) { return sdsnew(aofFilename()); }
static sds getAppenddirname(void) { return sdsnew(aofDirname()); }
static sds getYes(void) { return sdsnew("yes"); }
static sds getAofPreamble(void) { return sdsnew(*aofUseRdbPreamble() ? "yes" : "no"); }
static const char *setAofPreamble(const char *v) { return setYesNo(v, aofUseRdbPreamble()); }
static const char *setAofTimestamp(const char *v) {
    int yes;
    const char *why = setYesNo(v, &yes);
    return why ? why : !yes ? NULL : "dredis writes no timestamp annotations in the AOF";
}
static const char *setAofLoadTruncated(const char *v) {
    int yes;
    const char *why = setYesNo(v, &yes);
    return why ? why : yes ? NULL : "dredis never loads the AOF (the tree is its data)";
}
static const char *setAofIncrementalFsync(const char *v) {
    int yes;
    const char *why = setYesNo(v, &yes);
    return why ? why : !yes ? NULL : "dredis fsyncs the rewritten AOF base once, when it is complete";
}
static sds getAofAutoPerc(void) { return fmtLL(*aofAutoPercentage()); }
static const char *setAofAutoPerc(const char *v) { return setLongLong(v, 0, INT_MAX, aofAutoPercentage()); }
static sds getAofAutoMin(void) { return fmtLL(*aofAutoMinSize()); }
static const char *setAofAutoMin(const char *v) { return setSizeMemory(v, 0, LLONG_MAX, aofAutoMinSize()); }
/* Redis's hidden rdb-key-save-delay, which tests use to make a save last:
 * the snapshot thread and the RDB/AOF export children sleep before each key */
static sds getKeySaveDelay(void) { return fmtLL(server.rdb_key_save_delay); }
static const char *setKeySaveDelay(const char *v) {
    const char *why = setLongLong(v, INT_MIN, INT_MAX, &server.rdb_key_save_delay);
    if (!why) snapshotSetKeyDelay((int)server.rdb_key_save_delay);
    return why;
}
/* Redis's hidden key-load-delay: the child loading a full sync's RDB on a
 * replica (the one RDB dredis loads while it serves) sleeps before each key */
static sds getKeyLoadDelay(void) { return fmtLL(server.key_load_delay); }
static const char *setKeyLoadDelay(const char *v) { return setLongLong(v, INT_MIN, INT_MAX, &server.key_load_delay); }
static sds getNoFsyncOnRewrite(void) { return sdsnew(*aofNoFsyncOnRewrite() ? "yes" : "no"); }
static const char *setNoFsyncOnRewrite(const char *v) { return setYesNo(v, aofNoFsyncOnRewrite()); }
static sds getSave(void) {
    sds s = sdsempty();
    for (int i = 0; i < server.save_params_count; i++)
        s = sdscatprintf(s, "%s%lld %lld", i ? " " : "", server.save_params[i].seconds, server.save_params[i].changes);
    return s;
}
static sds getNotifyKeyspaceEvents(void) { return keyspaceEventsFlagsToString(server.notify_keyspace_events); }
static const char *setNotifyKeyspaceEvents(const char *v) {
    int flags = keyspaceEventsStringToFlags(v);
    if (flags < 0) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
    server.notify_keyspace_events = flags;
    return NULL;
}
static sds getFsync(void) { return sdsnew(server.fsync_policy); }
/* appendfsync is DREDIS_FSYNC: what was written before the change is
 * synced first, so that "always" covers every reply sent after it */
static const char *setFsync(const char *v) {
    const char *policy = !strcasecmp(v, "always") ? "always" : !strcasecmp(v, "everysec") ? "everysec"
                       : !strcasecmp(v, "no") ? "no" : NULL;
    if (!policy) return "argument(s) must be one of the following: everysec, always, no";
    /* under always the journal may carry writes the tree has not synced */
    if ((storeDirty() || server.fsync_always) && storeSyncAll() != STORE_OK)
        return "cannot sync what was written before the change";
    server.fsync_policy = policy;
    server.fsync_always = !strcmp(policy, "always");
    storeSetFsyncPolicy(server.fsync_always ? STORE_FSYNC_ALWAYS
                        : !strcmp(policy, "no") ? STORE_FSYNC_NO : STORE_FSYNC_EVERYSEC);
    return NULL;
}
static sds getUnixsocket(void) { return sdsnew(server.unixsocket ? server.unixsocket : ""); }
static sds getUnixsocketperm(void) { return sdscatprintf(sdsempty(), "%lo", server.unixsocketperm); }
static sds getHz(void) { return sdsnew("10"); }
static const char *setHz(const char *v) {
    return !strcmp(v, "10") ? NULL : "dredis runs its cron at a fixed 10 Hz";
}
static sds getProtoMaxBulkLen(void) { return fmtLL(respMaxBulkLen); }
static const char *setProtoMaxBulkLen(const char *v) { return setSizeMemory(v, 1024 * 1024, LONG_MAX, &respMaxBulkLen); }
static sds getQueryBufferLimit(void) { return fmtLL(server.client_max_querybuf_len); }
static const char *setQueryBufferLimit(const char *v) {
    return setSizeMemory(v, 1024 * 1024, LONG_MAX, &server.client_max_querybuf_len);
}
/* hll-sparse-max-bytes: a sparse HLL that an edit would make longer turns
 * dense (hyperloglog.c) */
static sds getHllSparseMaxBytes(void) { return fmtLL(server.hll_sparse_max_bytes); }
static const char *setHllSparseMaxBytes(const char *v) {
    return setSizeMemory(v, 0, LONG_MAX, &server.hll_sparse_max_bytes);
}
static sds getProtectedMode(void) { return sdsnew(server.protected_mode ? "yes" : "no"); }
static const char *setProtectedMode(const char *v) { return setYesNo(v, &server.protected_mode); }

/* Redis's encoding settings tune only how Redis lays values out in its
 * memory, never what a command answers; tools and Redis's own tests set
 * them. dredis keeps what they are set to and reports it, and nothing in
 * its tree depends on them (docs/compatibility.md), except
 * stream-node-max-entries (below). Values as Redis 7.0's
 * defaults and ranges; the *-value and stream-node-max-bytes ones take
 * memory units (4kb). */
static struct encodingSetting {
    const char *name;
    long long value, min, max;
    int memory;
} encodingSettings[] = {
    {"hash-max-listpack-entries", 512, 0, LONG_MAX, 0}, {"hash-max-listpack-value", 64, 0, LONG_MAX, 1},
    {"list-compress-depth", 0, 0, INT_MAX, 0},          {"list-max-listpack-size", -2, INT_MIN, INT_MAX, 0},
    {"set-max-intset-entries", 512, 0, LONG_MAX, 0},    {"stream-node-max-bytes", 4096, 0, LONG_MAX, 1},
    {"stream-node-max-entries", 100, 0, LLONG_MAX, 0},  {"zset-max-listpack-entries", 128, 0, LONG_MAX, 0},
    {"zset-max-listpack-value", 64, 0, LONG_MAX, 1},
};

/* The multiplier of a memory unit: none, b, k, kb, m, mb, g or gb in any
 * case; 0 when s is not one. */
static long long memoryUnit(const char *s) {
    static const struct { const char *unit; long long mul; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000 * 1000}, {"mb", 1024 * 1024},
        {"g", 1000LL * 1000 * 1000}, {"gb", 1024LL * 1024 * 1024}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(s, units[i].unit)) return units[i].mul;
    return 0;
}

/* Redis's memtoull to the letter, for every memory setting (and the
 * limits of client-output-buffer-limit): only digits (none at all reads as
 * 0: "" and "kb" are 0; no sign, no spaces), then b, k, kb, m, mb, g or gb
 * in any case; a number past 2^64-1 reads as 2^64-1 and the unit multiplies
 * modulo 2^64, so that a range check refuses what Redis's refuses, with its
 * words. 0 when it is not a memory value. */
int parseMemoryAsRedis(const char *v, unsigned long long *out) {
    size_t digits = strspn(v, "0123456789");
    unsigned long long mul = (unsigned long long)memoryUnit(v + digits);
    char buf[128];
    if (!mul || digits >= sizeof(buf)) return 0;
    memcpy(buf, v, digits);
    buf[digits] = '\0';
    *out = strtoull(buf, NULL, 10) * mul;
    return 1;
}

/* A memory setting of Redis's: its parse, its range and its texts. Redis
 * compares a size_t setting's range as unsigned and a long long one's as
 * signed; with the bounds all of them have (from 0 to at most 2^63-1) the
 * two refuse the same values, a parse past 2^63-1 included. */
static const char *setSizeMemory(const char *v, unsigned long long min, unsigned long long max, long long *out) {
    static char reason[128];
    unsigned long long n;
    if (!parseMemoryAsRedis(v, &n)) return "argument must be a memory value";
    if (n < min || n > max) {
        snprintf(reason, sizeof(reason), "argument must be between %llu and %llu inclusive", min, max);
        return reason;
    }
    *out = (long long)n;
    return NULL;
}

static const char *setYesNo(const char *v, int *out) {
    if (!strcasecmp(v, "yes")) *out = 1;
    else if (!strcasecmp(v, "no")) *out = 0;
    else return "argument must be 'yes' or 'no'";
    return NULL;
}

static struct encodingSetting *encodingSetting(const char *name) {
    for (size_t i = 0; i < sizeof(encodingSettings) / sizeof(encodingSettings[0]); i++)
        if (!strcmp(encodingSettings[i].name, name)) return &encodingSettings[i];
    return NULL;
}

/* stream-node-max-entries is the one encoding setting that dredis's tree
 * follows: a stream segment takes that many entries, as a Redis node does,
 * so an approximate trim ("~") removes what it removes in Redis. */
long long configStreamNodeMaxEntries(void) {
    return encodingSetting("stream-node-max-entries")->value;
}

static const char *setEncoding(const char *name, const char *v) {
    struct encodingSetting *e = encodingSetting(name);
    if (!e->memory) return setLongLong(v, e->min, e->max, &e->value);
    return setSizeMemory(v, (unsigned long long)e->min, (unsigned long long)e->max, &e->value);
}

#define ENCODING_SETTING(fn, name)                                                                 \
    static sds get##fn(void) { return fmtLL(encodingSetting(name)->value); }                      \
    static const char *set##fn(const char *v) { return setEncoding(name, v); }
ENCODING_SETTING(HashEntries, "hash-max-listpack-entries")
ENCODING_SETTING(HashValue, "hash-max-listpack-value")
ENCODING_SETTING(ListCompress, "list-compress-depth")
ENCODING_SETTING(ListSize, "list-max-listpack-size")
ENCODING_SETTING(IntsetEntries, "set-max-intset-entries")
ENCODING_SETTING(StreamBytes, "stream-node-max-bytes")
ENCODING_SETTING(StreamEntries, "stream-node-max-entries")
ENCODING_SETTING(ZsetEntries, "zset-max-listpack-entries")
ENCODING_SETTING(ZsetValue, "zset-max-listpack-value")

/* save: the periodic snapshots (DREDIS_SAVE's syntax; "" for none) */
static const char *setSave(const char *v) {
    char *err = NULL;
    struct saveParam *old = server.save_params;
    int oldn = server.save_params_count;
    server.save_params = NULL;
    server.save_params_count = 0;
    if (*v && parseSaveParams(v, &err) != C_OK) {
        zfree(server.save_params);
        server.save_params = old;
        server.save_params_count = oldn;
        return "Invalid save parameters";
    }
    zfree(old);
    return NULL;
}

static sds getBusyReply(void) { return fmtLL(server.lua_time_limit); }
static const char *setBusyReply(const char *v) { return setLongLong(v, 0, LONG_MAX, &server.lua_time_limit); }

static sds getReplBacklogSize(void) { return fmtLL(server.repl_backlog_size); }
static const char *setReplBacklogSize(const char *v) {
    long long n;
    const char *why = setSizeMemory(v, 1, LLONG_MAX, &n);
    if (why) return why;
    replicationResizeBacklog(n);
    return NULL;
}
static sds getReplPingPeriod(void) { return fmtLL(server.repl_ping_period); }
static const char *setReplPingPeriod(const char *v) { return setLongLong(v, 1, INT_MAX, &server.repl_ping_period); }
static sds getReplTimeout(void) { return fmtLL(server.repl_timeout); }
static const char *setReplTimeout(const char *v) { return setLongLong(v, 1, INT_MAX, &server.repl_timeout); }

static sds getMinReplicas(void) { return fmtLL(server.repl_min_replicas_to_write); }
static const char *setMinReplicas(const char *v) { return setLongLong(v, 0, INT_MAX, &server.repl_min_replicas_to_write); }
static sds getMinReplicasLag(void) { return fmtLL(server.repl_min_replicas_max_lag); }
static const char *setMinReplicasLag(const char *v) { return setLongLong(v, 0, INT_MAX, &server.repl_min_replicas_max_lag); }
static sds getServeStale(void) { return sdsnew(server.repl_serve_stale_data ? "yes" : "no"); }
static const char *setServeStale(const char *v) { return setYesNo(v, &server.repl_serve_stale_data); }
static sds getReplicaPriority(void) { return fmtLL(server.replica_priority); }
static const char *setReplicaPriority(const char *v) { return setLongLong(v, 0, INT_MAX, &server.replica_priority); }
static sds getMasterauth(void) { return sdsnew(server.masterauth ? server.masterauth : ""); }
static const char *setMasterauth(const char *v) {
    zfree(server.masterauth);
    server.masterauth = *v ? zstrdup(v) : NULL;
    return NULL;
}
static sds getReplicaReadOnly(void) { return sdsnew("yes"); }
static const char *setReplicaReadOnly(const char *v) {
    return strcasecmp(v, "yes") == 0 ? NULL : "dredis replicas are always read-only";
}

/* replicaof (slaveof): set by REPLICAOF, not by CONFIG SET, as in Redis */
static sds getReplicaof(void) {
    if (!server.masterhost) return sdsempty();
    return sdscatprintf(sdsempty(), "%s %d", server.masterhost, server.masterport);
}

/* Redis 7.0's settings that it cannot change while running (its
 * IMMUTABLE_CONFIG ones) and that dredis has not: CONFIG SET refuses them
 * with Redis's words rather than as unknown */
static const char *redisImmutableConfigs[] = {
    "rdbchecksum", "daemonize", "io-threads-do-reads", "always-show-logo", "set-proc-title", "syslog-enabled",
    "disable-thp", "aclfile", "pidfile", "cluster-config-file", "syslog-ident",
    "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist",
    "logfile", "supervised", "syslog-facility", "enable-protected-configs",
    "io-threads", "tcp-backlog", "cluster-port", "socket-mark-id",
};

static int isRedisImmutableConfig(const char *name) {
    for (size_t i = 0; i < sizeof(redisImmutableConfigs) / sizeof(redisImmutableConfigs[0]); i++)
        if (!strcasecmp(redisImmutableConfigs[i], name)) return 1;
    return 0;
}

static const configEntry configTable[] = {
    {"appendfsync", getFsync, setFsync},
    {"appenddirname", getAppenddirname, NULL},
    {"appendfilename", getAppendfilename, NULL},
    {"appendonly", getAppendonly, setAppendonly},
    {"aof-load-truncated", getYes, setAofLoadTruncated},
    {"aof-rewrite-incremental-fsync", getNo, setAofIncrementalFsync},
    {"aof-timestamp-enabled", getNo, setAofTimestamp},
    {"aof-use-rdb-preamble", getAofPreamble, setAofPreamble},
    {"auto-aof-rewrite-min-size", getAofAutoMin, setAofAutoMin},
    {"auto-aof-rewrite-percentage", getAofAutoPerc, setAofAutoPerc},
    {"bind", getBind, setBind},
    {"busy-reply-threshold", getBusyReply, setBusyReply, "lua-time-limit"},
    {"client-output-buffer-limit", getClientOutputLimits, setClientOutputLimits},
    {"client-query-buffer-limit", getQueryBufferLimit, setQueryBufferLimit},
    {"databases", getDatabases, NULL},
    {"dir", getDir, NULL},
    {"cluster-enabled", getNo, NULL},
    {"enable-debug-command", getEnableDebugCmd, NULL},
    {"enable-module-command", getNo, NULL},
    {"acl-pubsub-default", getAclPubsubDefault, setAclPubsubDefault},
    {"aclfile", getAclfile, NULL},
    {"acllog-max-len", getAcllogMaxLen, setAcllogMaxLen},
    {"hash-max-listpack-entries", getHashEntries, setHashEntries, "hash-max-ziplist-entries"},
    {"hash-max-listpack-value", getHashValue, setHashValue, "hash-max-ziplist-value"},
    {"hll-sparse-max-bytes", getHllSparseMaxBytes, setHllSparseMaxBytes},
    {"hz", getHz, setHz},
    {"latency-monitor-threshold", getLatencyThreshold, setLatencyThreshold},
    {"list-compress-depth", getListCompress, setListCompress},
    {"list-max-listpack-size", getListSize, setListSize, "list-max-ziplist-size"},
    {"loglevel", getLoglevel, setLoglevel},
    {"masterauth", getMasterauth, setMasterauth},
    {"maxclients", getMaxclients, setMaxclients},
    {"maxmemory", getMaxmemory, setMaxmemory},
    {"maxmemory-clients", getZero, setMaxmemoryClients},
    {"maxmemory-eviction-tenacity", getEvictionTenacity, setEvictionTenacity},
    {"maxmemory-policy", getNoeviction, setMaxmemoryPolicy},
    {"maxmemory-samples", getMaxmemorySamples, setMaxmemorySamples},
    {"no-appendfsync-on-rewrite", getNoFsyncOnRewrite, setNoFsyncOnRewrite},
    {"min-replicas-max-lag", getMinReplicasLag, setMinReplicasLag, "min-slaves-max-lag"},
    {"min-replicas-to-write", getMinReplicas, setMinReplicas, "min-slaves-to-write"},
    {"notify-keyspace-events", getNotifyKeyspaceEvents, setNotifyKeyspaceEvents},
    {"port", getPort, setPort},
    {"protected-mode", getProtectedMode, setProtectedMode},
    {"proto-max-bulk-len", getProtoMaxBulkLen, setProtoMaxBulkLen},
    {"rdb-key-save-delay", getKeySaveDelay, setKeySaveDelay},
    {"key-load-delay", getKeyLoadDelay, setKeyLoadDelay},
    {"repl-backlog-size", getReplBacklogSize, setReplBacklogSize},
    {"repl-ping-replica-period", getReplPingPeriod, setReplPingPeriod},
    {"repl-timeout", getReplTimeout, setReplTimeout},
    {"replica-priority", getReplicaPriority, setReplicaPriority},
    {"replica-ignore-maxmemory", getYes, setReplicaIgnoreMaxmemory, "slave-ignore-maxmemory"},
    {"replica-read-only", getReplicaReadOnly, setReplicaReadOnly},
    {"replica-serve-stale-data", getServeStale, setServeStale, "slave-serve-stale-data"},
    {"replicaof", getReplicaof, NULL, "slaveof"},
    {"requirepass", getRequirepass, setRequirepass},
    {"save", getSave, setSave},
    {"set-max-intset-entries", getIntsetEntries, setIntsetEntries},
    {"slowlog-log-slower-than", getSlowlogSlower, setSlowlogSlower},
    {"slowlog-max-len", getSlowlogMaxLen, setSlowlogMaxLen},
    {"stream-node-max-bytes", getStreamBytes, setStreamBytes},
    {"stream-node-max-entries", getStreamEntries, setStreamEntries},
    {"timeout", getTimeout, setTimeout},
    {"tracking-table-max-keys", getTrackingMaxKeys, setTrackingMaxKeys},
    {"unixsocket", getUnixsocket, NULL},
    {"unixsocketperm", getUnixsocketperm, NULL},
    {"zset-max-listpack-entries", getZsetEntries, setZsetEntries, "zset-max-ziplist-entries"},
    {"zset-max-listpack-value", getZsetValue, setZsetValue, "zset-max-ziplist-value"},
};
#define CONFIG_COUNT (sizeof(configTable) / sizeof(configTable[0]))

static const configEntry *findConfig(const char *name) {
    for (size_t i = 0; i < CONFIG_COUNT; i++)
        if (!strcasecmp(configTable[i].name, name) || (configTable[i].alias && !strcasecmp(configTable[i].alias, name)))
            return &configTable[i];
    return NULL;
}

/* CONFIG GET pattern [pattern ...]: each setting whose name or alias a
 * pattern matches, under the name that matched (both when both do), once. */
static int isHiddenConfig(const char *name) {
    return !strcmp(name, "rdb-key-save-delay") || !strcmp(name, "key-load-delay");
}

static void configGetCommand(client *c) {
    int matched[CONFIG_COUNT][2];
    memset(matched, 0, sizeof(matched));
    long n = 0;
    for (int j = 2; j < c->argc; j++) {
        sds pat = c->argv[j];
        for (size_t i = 0; i < CONFIG_COUNT; i++) {
            const char *names[2] = {configTable[i].name, configTable[i].alias};
            for (int a = 0; a < 2; a++) {
                /* as Redis's HIDDEN_CONFIG: only its exact name shows it */
                if (names[a] && isHiddenConfig(names[a]) && strcasecmp(pat, names[a])) continue;
                if (names[a] && !matched[i][a] && stringmatchlen(pat, (int)sdslen(pat), names[a], (int)strlen(names[a]), 1)) {
                    matched[i][a] = 1;
                    n++;
                }
            }
        }
    }
    addReplyMapLen(c, n);
    for (size_t i = 0; i < CONFIG_COUNT; i++) {
        for (int a = 0; a < 2; a++) {
            if (!matched[i][a]) continue;
            addReplyBulkCString(c, a ? configTable[i].alias : configTable[i].name);
            addReplyBulkSds(c, configTable[i].get());
        }
    }
}

static void configSetApply(client *c) {
    int npairs = (c->argc - 2) / 2;
    const configEntry *entries[64];
    if (npairs > 64) {
        addReplyError(c, "ERR CONFIG SET accepts at most 64 parameters at once");
        return;
    }
    /* validate everything first, so that nothing is applied on error */
    for (int p = 0; p < npairs; p++) {
        const char *name = c->argv[2 + p * 2];
        const configEntry *e = findConfig(name);
        if (!e && isRedisImmutableConfig(name)) {
            addReplyErrorFormat(c, "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config",
                                name);
            return;
        }
        if (!e) {
            addReplyErrorFormat(c, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", name);
            return;
        }
        /* as Redis: a setting and its alias are two settings there, so
         * only the same name twice is a duplicate */
        for (int q = 0; q < p; q++) {
            if (entries[q] == e && !strcasecmp(c->argv[2 + q * 2], name)) {
                addReplyErrorFormat(c, "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter",
                                    name);
                return;
            }
        }
        if (!e->set) {
            addReplyErrorFormat(c, "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config",
                                name);
            return;
        }
        entries[p] = e;
    }
    sds olds[64];
    for (int p = 0; p < npairs; p++) {
        olds[p] = entries[p]->get();
        const char *err = entries[p]->set(c->argv[3 + p * 2]);
        if (err) {
            /* roll back this one and those applied before it */
            for (int q = p; q >= 0; q--) entries[q]->set(olds[q]);
            for (int q = 0; q <= p; q++) sdsfree(olds[q]);
            /* as Redis: under the name given (its alias is a setting of its own there) */
            const char *given = c->argv[2 + p * 2];
            addReplyErrorFormat(c, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                                entries[p]->alias && !strcasecmp(given, entries[p]->alias) ? entries[p]->alias
                                                                                            : entries[p]->name,
                                err);
            return;
        }
    }
    for (int p = 0; p < npairs; p++) sdsfree(olds[p]);
    addReplyOK(c);
}

/* The settings Redis flags SENSITIVE_CONFIG (masteruser has no dredis
 * counterpart) */
static int isSensitiveConfig(const configEntry *e) {
    return e && (!strcmp(e->name, "masterauth") || !strcmp(e->name, "requirepass"));
}

static void configSetCommand(client *c) {
    if (c->argc < 4 || (c->argc % 2) != 0) {
        addReplyErrorArity(c);
        return;
    }
    configSetApply(c);
    /* as Redis: the value of a secret setting is "(redacted)" in SLOWLOG
     * and MONITOR, whether the command succeeded or not */
    for (int j = 2; j + 1 < c->argc; j += 2)
        if (isSensitiveConfig(findConfig(c->argv[j]))) redactClientArgument(c, j + 1);
}

static void configResetstatCommand(client *c) {
    server.stat_numcommands = server.stat_numconnections = server.stat_rejected_conn = 0;
    server.stat_expiredkeys = server.stat_keyspace_hits = server.stat_keyspace_misses = 0;
    server.stat_net_input_bytes = server.stat_net_output_bytes = server.stat_io_errors = 0;
    server.stat_output_pauses = 0;
    resetCommandStats();
    addReplyOK(c);
}

static void configRewriteCommand(client *c) {
    addReplyError(c, "ERR The server is running without a config file");
}

static void configHelpCommand(client *c) {
    static const char *help[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
    };
    addReplyHelpLines(c, help);
}

static void configCommand(client *c) { (void)c; }

static redisCommand configSubcommands[] = {
    {"get", configGetCommand, -3, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"help", configHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"resetstat", configResetstatCommand, 2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"rewrite", configRewriteCommand, 2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"set", configSetCommand, -4, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};

redisCommand configCommandTable[] = {
    {"config", configCommand, -2, "", "slow", 0, 0, 0, configSubcommands},
    {NULL}};
