/* commands.c - the command table and dispatch. Each t_*.c and db.c, server.c
 * contributes a table of its own; at start-up they are merged into one sorted
 * index that the network, scripts and COMMAND all use. Dispatch checks
 * existence and arity here, once, and keeps per-command statistics. */
#include "server.h"
#include "key_specs.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <ctype.h>
#include <stdarg.h>

extern redisCommand expireCommandTable[];
static redisCommand *tables[] = {serverCommandTable, keyspaceCommandTable, expireCommandTable, stringCommandTable,
                                 hashCommandTable,   setCommandTable,      zsetCommandTable,   listCommandTable,
                                 multiCommandTable,  connectionCommandTable, pubsubCommandTable, configCommandTable,
                                 introspectionCommandTable, latencyCommandTable, memoryCommandTable, blockingCommandTable,
                                 scriptingCommandTable, functionCommandTable, streamCommandTable, dumpCommandTable, bitopsCommandTable,
                                 sortCommandTable,   hllCommandTable,      geoCommandTable,      aclCommandTable,      saveCommandTable, aofCommandTable, replicationCommandTable, replicaCommandTable,
                                 clusterCommandTable, moduleCommandTable, migrateCommandTable, lolwutCommandTable, debugCommandTable,
                                 faultCommandTable};

/* A table left out of the index: DEBUG-FAULT unless enabled. */
static int tableHidden(const redisCommand *t) { return t == faultCommandTable && !faultsEnabled(); }

/* The command being run, innermost first (for serverAssert's report). */
static const char *runningCommand;
static const char *commandRunning(void) { return runningCommand; }

static redisCommand **index_;
static size_t index_len;

static const struct {
    const char *name;
    uint64_t flag;
} flagNames[] = {
    {"write", CMD_WRITE},       {"readonly", CMD_READONLY}, {"denyoom", CMD_DENYOOM},
    {"admin", CMD_ADMIN},       {"pubsub", CMD_PUBSUB},     {"noscript", CMD_NOSCRIPT},
    {"blocking", CMD_BLOCKING}, {"loading", CMD_LOADING},   {"stale", CMD_STALE},
    {"fast", CMD_FAST},         {"no_auth", CMD_NO_AUTH},   {"may_replicate", CMD_MAY_REPLICATE},
    {"sentinel", CMD_SENTINEL}, {"allow_busy", CMD_ALLOW_BUSY}, {"no_multi", CMD_NO_MULTI},
    {"skip_slowlog", CMD_SKIP_SLOWLOG}, {"skip_monitor", CMD_SKIP_MONITOR}, {"no_async_loading", CMD_NO_ASYNC_LOADING},
};

static uint64_t parseFlags(const char *s) {
    uint64_t flags = 0;
    if (!s) return 0;
    char word[32];
    while (*s) {
        while (*s == ' ') s++;
        size_t n = 0;
        while (s[n] && s[n] != ' ') n++;
        if (n == 0) break;
        if (n < sizeof(word)) {
            memcpy(word, s, n);
            word[n] = '\0';
            for (size_t i = 0; i < sizeof(flagNames) / sizeof(flagNames[0]); i++)
                if (!strcmp(word, flagNames[i].name)) flags |= flagNames[i].flag;
        }
        s += n;
    }
    return flags;
}

static int cmpCommand(const void *a, const void *b) {
    return strcmp((*(redisCommand *const *)a)->name, (*(redisCommand *const *)b)->name);
}

static void initEntry(redisCommand *cmd, const char *parent) {
    cmd->flags = parseFlags(cmd->sflags);
    if (parent) {
        size_t l = strlen(parent) + strlen(cmd->name) + 2;
        char *full = zmalloc(l);
        snprintf(full, l, "%s|%s", parent, cmd->name);
        cmd->fullname = full;
    } else {
        cmd->fullname = cmd->name;
    }
    commandKeysInit(cmd);
    if (cmd->subcommands)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) initEntry(sub, cmd->name);
}

void commandTableInit(void) {
    size_t n = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (redisCommand *cmd = tables[t]; cmd->name && !tableHidden(tables[t]); cmd++) n++;
    index_ = zmalloc(sizeof(redisCommand *) * n);
    index_len = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (redisCommand *cmd = tables[t]; cmd->name && !tableHidden(tables[t]); cmd++) {
            initEntry(cmd, NULL);
            index_[index_len++] = cmd;
        }
    qsort(index_, index_len, sizeof(redisCommand *), cmpCommand);
    assertSetContext(commandRunning);
}

size_t commandTableCount(void) { return index_len; }

static void resetStats(redisCommand *cmd) {
    cmd->calls = cmd->failed_calls = cmd->rejected_calls = cmd->microseconds = 0;
    if (cmd->subcommands)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) resetStats(sub);
}

/* Error replies by their code (the first word: ERR, WRONGTYPE, ...), for
 * INFO errorstats. Like Redis, at most 128 kinds are told apart. */
#define ERROR_STATS_MAX 128
static struct {
    char code[32];
    long long count;
} errorStats[ERROR_STATS_MAX];
static int errorStatsLen;
static long long errorRepliesTotal;

void countErrorReply(const char *err, size_t len) {
    errorRepliesTotal++;
    if (len && err[0] == '-') err++, len--;
    const char *space = memchr(err, ' ', len < 31 ? len : 31);
    const char *code = space && space > err ? err : "ERR";
    size_t n = space && space > err ? (size_t)(space - err) : 3;
    for (int i = 0; i < errorStatsLen; i++) {
        if (strlen(errorStats[i].code) == n && !memcmp(errorStats[i].code, code, n)) {
            errorStats[i].count++;
            return;
        }
    }
    if (errorStatsLen == ERROR_STATS_MAX) return;
    memcpy(errorStats[errorStatsLen].code, code, n);
    errorStats[errorStatsLen].code[n] = '\0';
    errorStats[errorStatsLen].count = 1;
    errorStatsLen++;
}

long long errorRepliesCount(void) { return errorRepliesTotal; }

static int cmpErrorCode(const void *a, const void *b) { return strcmp(a, b); }

/* The lines of INFO errorstats, codes in byte order as Redis lists them. */
sds genErrorStatsInfo(sds info) {
    char codes[ERROR_STATS_MAX][32];
    for (int i = 0; i < errorStatsLen; i++) memcpy(codes[i], errorStats[i].code, sizeof(codes[i]));
    qsort(codes, (size_t)errorStatsLen, sizeof(codes[0]), cmpErrorCode);
    for (int i = 0; i < errorStatsLen; i++)
        for (int j = 0; j < errorStatsLen; j++)
            if (!strcmp(codes[i], errorStats[j].code))
                info = sdscatprintf(info, "errorstat_%s:count=%lld\r\n", codes[i], errorStats[j].count);
    return info;
}

void resetCommandStats(void) {
    for (size_t i = 0; i < index_len; i++) resetStats(index_[i]);
    errorStatsLen = 0;
    errorRepliesTotal = 0;
    latencyResetHistograms();
}

void commandTableForEach(void (*fn)(redisCommand *cmd, void *ud), void *ud) {
    for (size_t i = 0; i < index_len; i++) fn(index_[i], ud);
}

static redisCommand *findIn(redisCommand **idx, size_t len, const char *name, size_t nlen) {
    char lower[64];
    if (nlen >= sizeof(lower)) return NULL;
    for (size_t i = 0; i < nlen; i++) lower[i] = (char)tolower((unsigned char)name[i]);
    lower[nlen] = '\0';
    if (strlen(lower) != nlen) return NULL; /* embedded NUL */
    size_t lo = 0, hi = len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(lower, idx[mid]->name);
        if (c == 0) return idx[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

static redisCommand *findSub(redisCommand *parent, const char *name, size_t nlen) {
    for (redisCommand *sub = parent->subcommands; sub->name; sub++)
        if (strlen(sub->name) == nlen && !strncasecmp(sub->name, name, nlen)) return sub;
    return NULL;
}

redisCommand *lookupCommandByName(const char *name) {
    const char *bar = strchr(name, '|');
    if (!bar) return findIn(index_, index_len, name, strlen(name));
    redisCommand *parent = findIn(index_, index_len, name, (size_t)(bar - name));
    if (!parent || !parent->subcommands) return NULL;
    return findSub(parent, bar + 1, strlen(bar + 1));
}

/* The command for argv, descending into subcommands. For a container given
 * an unknown subcommand the container itself is returned; its arity check
 * and handler report the error. */
redisCommand *lookupCommand(sds *argv, int argc) {
    redisCommand *cmd = findIn(index_, index_len, argv[0], sdslen(argv[0]));
    if (!cmd || !cmd->subcommands || argc < 2) return cmd;
    redisCommand *sub = findSub(cmd, argv[1], sdslen(argv[1]));
    return sub ? sub : cmd;
}

/* The command argv names, as Redis's lookupCommand() (COMMAND GETKEYS, ACL
 * DRYRUN): a container given an unknown subcommand is no command. */
redisCommand *lookupCommandExact(sds *argv, int argc) {
    redisCommand *cmd = lookupCommand(argv, argc);
    if (cmd && cmd->subcommands && argc >= 2) return NULL;
    return cmd;
}

static int arityOk(redisCommand *cmd, int argc) {
    return (cmd->arity > 0 && cmd->arity == argc) || (cmd->arity < 0 && argc >= -cmd->arity);
}

void call(client *c, redisCommand *cmd) {
    long long start = ustime();
    const char *outer = runningCommand;
    runningCommand = cmd->fullname;
    int was_blocked = c->bstate.btype != BLOCKED_NONE; /* a blocked command run again */
    c->cmd = c->lastcmd = cmd;
    propState ps;
    propagateCallBegin(c, &ps);
    trackingCallBegin(c);
    expiryClockEnter(start / 1000);
    storeTxnBegin();
    int reserve_was = storeReserveAllowed(!(cmd->flags & CMD_DENYOOM)); /* deletes may use it */
    cmd->proc(c);
    int rolled_back = storeTxnEnd();
    /* every handle a command opens it closes (a script's or EXEC's commands
     * run inside: only the outermost can check) */
    serverAssert(outer || storeOpenKeyHandles() == 0);
    storeReserveAllowed(reserve_was);
    expiryClockLeave();
    propagateCallEnd(c, &ps, rolled_back);
    trackingCallEnd(c, cmd);
    if (c->held) holdClient(c); /* its reply waits for the sync */
    long long dur = ustime() - start;
    /* as Redis: a command that blocked counts as a call once it is served
     * (or times out), not each time it is run and blocks again */
    int blocked = c->bstate.btype != BLOCKED_NONE && (!was_blocked || c->bstate.reblocked);
    if (!blocked) cmd->calls++;
    cmd->microseconds += dur;
    latencyRecordCommand(cmd, dur);
    if (!(cmd->flags & CMD_SKIP_SLOWLOG)) slowlogPushIfNeeded(c, c->argc, c->argv, dur);
    if (!(cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN))) feedMonitors(c, c->argc, c->argv);
    server.stat_numcommands++;
    c->cmd = NULL;
    runningCommand = outer;
}

static void logCommand(client *c) {
    sds line = sdscatprintf(sdsempty(), "client %llu db %d:", (unsigned long long)c->id, c->db);
    for (int i = 0; i < c->argc; i++) {
        line = sdscat(line, " \"");
        size_t len = sdslen(c->argv[i]);
        for (size_t j = 0; j < len && j < 256; j++) {
            unsigned char ch = (unsigned char)c->argv[i][j];
            if (ch == '"' || ch == '\\') line = sdscatprintf(line, "\\%c", ch);
            else if (ch < 32 || ch > 126) line = sdscatprintf(line, "\\x%02x", ch);
            else line = sdscatlen(line, &c->argv[i][j], 1);
        }
        if (len > 256) line = sdscatprintf(line, "...(%zu bytes)", len);
        line = sdscat(line, "\"");
    }
    serverLog(LL_DEBUG, "%s", line);
    sdsfree(line);
}

/* Reply with an error to a command that will not run; inside MULTI this
 * also dooms the transaction, as in Redis. */
static void rejectCommand(client *c, redisCommand *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rejectCommand(client *c, redisCommand *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sds msg = sdscatvprintf(sdsempty(), fmt, ap);
    va_end(ap);
    flagTransaction(c);
    if (cmd && isExecCommand(cmd)) execCommandAbort(c, msg);
    else addReplyErrorLength(c, msg, sdslen(msg));
    sdsfree(msg);
    if (cmd) cmd->rejected_calls++;
}

/* The user's permissions (acl.c): a denial is logged and answered NOPERM. */
static int checkAclOrReject(client *c, redisCommand *cmd) {
    int pos = 0;
    int r = aclCheckCommand(c->user, cmd, c->argv, c->argc, &pos);
    if (r == ACL_OK) return C_OK;
    c->cmd = cmd;
    aclLogDenial(c, NULL, r, (c->flags & CLIENT_MULTI) ? ACL_LOG_CTX_MULTI : ACL_LOG_CTX_TOPLEVEL, pos);
    c->cmd = NULL;
    if (r == ACL_DENIED_CMD)
        rejectCommand(c, cmd, "NOPERM this user has no permissions to run the '%s' command", cmd->fullname);
    else
        rejectCommand(c, cmd, "NOPERM this user has no permissions to access one of the %s used as arguments",
                      r == ACL_DENIED_KEY ? "keys" : "channels");
    return C_ERR;
}

/* The flags of this run of cmd, as Redis's getCommandFlags() with EXEC: a
 * script by the flags it declares, EXEC with those of what it queued. */
uint64_t commandRunFlags(client *c, redisCommand *cmd) {
    uint64_t flags = scriptCommandFlags(c, cmd);
    if (isExecCommand(cmd)) flags |= c->mstate.cmd_flags;
    return flags;
}

/* As Redis's maxmemory check under noeviction: over maxmemory, deny-oom
 * commands (a script's by its flags, EXEC's by what it queued) and
 * anything queued inside MULTI are refused. The state is kept for the
 * scripts that run (their first write checks it). 1 after replying. */
static int rejectedForMemory(client *c, redisCommand *cmd) {
    if (!server.maxmemory) return 0;
    int oom = overMaxmemory();
    int deny = (commandRunFlags(c, cmd) & CMD_DENYOOM) != 0;
    if ((c->flags & CLIENT_MULTI) && !isExecCommand(cmd) && !isDiscardCommand(cmd) && cmd->proc != quitCommand &&
        cmd->proc != resetCommand)
        deny = 1;
    if (oom && deny) {
        rejectCommand(c, cmd, "OOM command not allowed when used memory > 'maxmemory'.");
        return 1;
    }
    server.pre_command_oom_state = oom;
    return 0;
}

int processCommand(client *c) {
    if (server.verbosity <= LL_DEBUG) logCommand(c);
    redisCommand *cmd = lookupCommand(c->argv, c->argc);
    c->lastcmd = cmd; /* as Redis: CLIENT LIST shows the command being run (NULL if unknown) */
    if (!cmd) {
        sds args = sdsempty();
        for (int i = 1; i < c->argc && sdslen(args) < 128; i++)
            args = sdscatprintf(args, "'%.*s' ", 128 - (int)sdslen(args), c->argv[i]);
        rejectCommand(c, NULL, "ERR unknown command '%.128s', with args beginning with: %s", c->argv[0], args);
        sdsfree(args);
        return C_ERR;
    }
    if (cmd->subcommands && c->argc >= 2) {
        sds upper = sdsdup(c->argv[0]);
        for (size_t i = 0; i < sdslen(upper); i++) upper[i] = (char)toupper((unsigned char)upper[i]);
        rejectCommand(c, cmd, "ERR unknown subcommand '%.128s'. Try %s HELP.", c->argv[1], upper);
        sdsfree(upper);
        return C_ERR;
    }
    if (!arityOk(cmd, c->argc)) {
        rejectCommand(c, cmd, "ERR wrong number of arguments for '%s' command", cmd->fullname);
        return C_ERR;
    }
    const char *refused = moduleCommandRefused(cmd); /* as Redis's protected commands */
    if (!refused) refused = debugCommandRefused(c, cmd);
    if (refused) {
        rejectCommand(c, cmd, "%s", refused);
        return C_ERR;
    }
    /* as Redis's authRequired(): while the default user needs no password
     * (nopass and on), every connection runs as it */
    if (!c->authenticated && !aclDefaultUserNeedsNoAuth() && !(cmd->flags & CMD_NO_AUTH)) {
        rejectCommand(c, cmd, "NOAUTH Authentication required.");
        return C_ERR;
    }
    if (checkAclOrReject(c, cmd) != C_OK) return C_ERR;
    if (rejectedForMemory(c, cmd)) return C_ERR;
    trackingBeforeCommand(); /* as Redis: the tracking table within its limit */
    /* as Redis: a failed AOF write stops writes (and PING), but not our master's */
    if (aofWritesDenied() && !(c->flags & CLIENT_MASTER) &&
        ((commandRunFlags(c, cmd) & CMD_WRITE) || cmd->proc == pingCommand)) {
        rejectCommand(c, cmd, "MISCONF Errors writing to the AOF file: %s", aofWriteError());
        return C_ERR;
    }
    if ((commandRunFlags(c, cmd) & CMD_WRITE) && !replicationGoodReplicasOk()) {
        rejectCommand(c, cmd, "NOREPLICAS Not enough good replicas to write.");
        return C_ERR;
    }
    if (server.masterhost && (commandRunFlags(c, cmd) & CMD_WRITE) && !(c->flags & CLIENT_MASTER)) {
        rejectCommand(c, cmd, "READONLY You can't write against a read only replica.");
        return C_ERR;
    }
    if (c->resp == 2 && !pubsubAllowedWhileSubscribed(cmd) && clientSubscriptionsCount(c) > 0) {
        rejectCommand(c, cmd,
                      "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                      "allowed in this context",
                      cmd->fullname);
        return C_ERR;
    }
    /* as Redis: only "stale" commands (INFO, REPLICAOF, ...) while the link is down */
    if (replicaIsStale() && (!(commandRunFlags(c, cmd) & CMD_STALE) ||
                             (isExecCommand(cmd) && (c->mstate.cmd_inv_flags & CMD_STALE)))) {
        rejectCommand(c, cmd, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        return C_ERR;
    }
    if ((c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI) && !isMultiControlCommand(cmd)) {
        rejectCommand(c, cmd, "ERR Command not allowed inside a transaction");
        return C_ERR;
    }
    /* a script runs past its time limit: only allow_busy commands run */
    if (scriptIsTimedout() && !(cmd->flags & CMD_ALLOW_BUSY)) {
        rejectCommand(c, cmd, "%s", scriptBusyError());
        return C_ERR;
    }
    /* as Redis, a command is held by CLIENT PAUSE before it is queued */
    if (commandIsPaused(c, cmd)) {
        postponeClient(c, cmd); /* runCommandOrQueue() when the pause ends */
        return C_OK;
    }
    runCommandOrQueue(c, cmd);
    return C_OK;
}

/* The last step of processCommand(): inside MULTI the command is queued,
 * otherwise it runs. */
void runCommandOrQueue(client *c, redisCommand *cmd) {
    if ((c->flags & CLIENT_MULTI) && !isMultiControlCommand(cmd) && cmd->proc != quitCommand &&
        cmd->proc != resetCommand) {
        queueMultiCommand(c, cmd);
        addReplyStatus(c, "QUEUED");
        return;
    }
    call(c, cmd);
}

/* ------------------------------------------------------------------------ */
/* COMMAND                                                                   */
/* ------------------------------------------------------------------------ */

static void addReplyWords(client *c, const char *words, const char *prefix, int as_status) {
    long n = 0;
    const char *s = words ? words : "";
    void *len = addReplyDeferredLen(c);
    while (*s) {
        while (*s == ' ') s++;
        size_t l = 0;
        while (s[l] && s[l] != ' ') l++;
        if (!l) break;
        /* flags Redis keeps for itself and does not list (7.0 does not
         * list may_replicate either) */
        if ((l == 8 && !strncmp(s, "sentinel", 8)) || (l == 13 && !strncmp(s, "only_sentinel", 13)) ||
            (l == 13 && !strncmp(s, "may_replicate", 13))) {
            s += l;
            continue;
        }
        sds w = sdscatlen(sdsnew(prefix), s, l);
        if (as_status) addReplyStatusLength(c, w, sdslen(w));
        else addReplyBulk(c, w, sdslen(w));
        sdsfree(w);
        n++;
        s += l;
    }
    setDeferredSetLen(c, len, n);
}

static void addReplyCommandInfo(client *c, redisCommand *cmd) {
    if (!cmd) {
        addReplyNull(c); /* as Redis: a null bulk in RESP2 */
        return;
    }
    addReplyArrayLen(c, 10);
    addReplyBulkCString(c, cmd->fullname);
    addReplyLongLong(c, cmd->arity);
    addReplyWords(c, cmd->sflags, "", 1);
    addReplyLongLong(c, cmd->firstkey);
    addReplyLongLong(c, cmd->lastkey);
    addReplyLongLong(c, cmd->keystep);
    addReplyWords(c, cmd->acl, "@", 1);
    addReplyWords(c, commandTipsOf(cmd->fullname), "", 0);
    addReplyCommandKeySpecs(c, cmd);
    if (cmd->subcommands) {
        long n = 0;
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) n++;
        addReplyArrayLen(c, n);
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) addReplyCommandInfo(c, sub);
    } else {
        addReplySetLen(c, 0); /* as Redis: an empty set when there are none */
    }
}

/* Replay a RESP3 value (arrays, maps, sets, bulk and simple strings,
 * integers) in the client's protocol; returns the end of the value. */
static const char *addReplyResp3(client *c, const char *p) {
    char t = *p++;
    const char *eol = strstr(p, "\r\n");
    if (t == '+') {
        addReplyStatusLength(c, p, (size_t)(eol - p));
        return eol + 2;
    }
    long long n = strtoll(p, NULL, 10);
    p = eol + 2;
    switch (t) {
    case '$':
        addReplyBulk(c, p, (size_t)n);
        return p + n + 2;
    case ':': addReplyLongLong(c, n); return p;
    case '%': addReplyMapLen(c, (long)n); n *= 2; break;
    case '~': addReplySetLen(c, (long)n); break;
    default: addReplyArrayLen(c, (long)n); break;
    }
    while (n--) p = addReplyResp3(c, p);
    return p;
}

/* COMMAND DOCS of one command: the fields Redis 7.0 gives for it (summary,
 * since, group, complexity, doc_flags, history, arguments: redis-cli's hints
 * and HELP come from them), or, for a command Redis has not, those of its
 * table entry; then its subcommands. */
static void addReplyCommandDocs(client *c, redisCommand *cmd) {
    int fields = 0;
    const char *redis = commandRedisDocs(cmd->fullname, &fields);
    if (!redis) fields = 4;
    addReplyBulkCString(c, cmd->fullname);
    addReplyMapLen(c, fields + (cmd->subcommands ? 1 : 0));
    if (redis) {
        const char *p = redis;
        for (int i = 0; i < 2 * fields; i++) p = addReplyResp3(c, p);
    } else {
        addReplyBulkCString(c, "summary");
        addReplyBulkCString(c, cmd->summary ? cmd->summary : "");
        addReplyBulkCString(c, "since");
        addReplyBulkCString(c, cmd->since ? cmd->since : "1.0.0");
        addReplyBulkCString(c, "group");
        addReplyBulkCString(c, cmd->group ? cmd->group : "generic");
        addReplyBulkCString(c, "complexity");
        addReplyBulkCString(c, cmd->complexity ? cmd->complexity : "O(1)");
    }
    if (cmd->subcommands) {
        long m = 0;
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) m++;
        addReplyBulkCString(c, "subcommands");
        addReplyMapLen(c, m);
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) addReplyCommandDocs(c, sub);
    }
}

void commandCommand(client *c) {
    if (c->argc == 1) {
        addReplyArrayLen(c, (long)index_len);
        for (size_t i = 0; i < index_len; i++) addReplyCommandInfo(c, index_[i]);
    }
}

static void commandCountCommand(client *c) { addReplyLongLong(c, (long long)index_len); }

static void commandInfoCommand(client *c) {
    if (c->argc == 2) {
        addReplyArrayLen(c, (long)index_len);
        for (size_t i = 0; i < index_len; i++) addReplyCommandInfo(c, index_[i]);
        return;
    }
    addReplyArrayLen(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) addReplyCommandInfo(c, lookupCommandByName(c->argv[i]));
}

static void commandDocsCommand(client *c) {
    if (c->argc == 2) {
        addReplyMapLen(c, (long)index_len);
        for (size_t i = 0; i < index_len; i++) addReplyCommandDocs(c, index_[i]);
        return;
    }
    void *len = addReplyDeferredLen(c);
    long n = 0;
    for (int i = 2; i < c->argc; i++) {
        redisCommand *cmd = lookupCommandByName(c->argv[i]);
        if (!cmd) continue;
        addReplyCommandDocs(c, cmd);
        n++;
    }
    setDeferredMapLen(c, len, n);
}

/* COMMAND LIST's FILTERBY: what a command is tested against */
typedef enum { LIST_ALL, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN } listFilterType;

/* Is cat (any case) one of the command's ACL categories? */
static int commandInCategory(const redisCommand *cmd, const char *cat) {
    size_t catlen = strlen(cat);
    for (const char *p = cmd->acl ? cmd->acl : ""; *p;) {
        size_t l = strcspn(p, " ");
        if (l == catlen && !strncasecmp(p, cat, l)) return 1;
        p += l;
        p += strspn(p, " ");
    }
    return 0;
}

static int commandListed(const redisCommand *cmd, listFilterType type, sds arg) {
    switch (type) {
    case LIST_ALL: return 1;
    case LIST_MODULE: return 0; /* dredis has no modules */
    case LIST_ACLCAT: return commandInCategory(cmd, arg);
    case LIST_PATTERN:
        return stringmatchlen(arg, (int)sdslen(arg), cmd->fullname, (int)strlen(cmd->fullname), 1);
    }
    return 0;
}

/* The full names ("config|get" for subcommands) of the listed commands. */
static long addReplyCommandNames(client *c, redisCommand *cmd, listFilterType type, sds arg) {
    long n = 0;
    if (commandListed(cmd, type, arg)) {
        addReplyBulkCString(c, cmd->fullname);
        n++;
    }
    if (cmd->subcommands)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) n += addReplyCommandNames(c, sub, type, arg);
    return n;
}

/* COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern] */
static void commandListCommand(client *c) {
    listFilterType type = LIST_ALL;
    sds arg = NULL;
    if (c->argc != 2) {
        const char *by = c->argc == 5 && !strcasecmp(c->argv[2], "filterby") ? c->argv[3] : "";
        if (!strcasecmp(by, "module")) type = LIST_MODULE;
        else if (!strcasecmp(by, "aclcat")) type = LIST_ACLCAT;
        else if (!strcasecmp(by, "pattern")) type = LIST_PATTERN;
        else {
            addReplyErrorSyntax(c);
            return;
        }
        arg = c->argv[4];
    }
    void *len = addReplyDeferredLen(c);
    long n = 0;
    for (size_t i = 0; i < index_len; i++) n += addReplyCommandNames(c, index_[i], type, arg);
    setDeferredArrayLen(c, len, n);
}

/* COMMAND GETKEYS and GETKEYSANDFLAGS, with Redis 7.0's checks in its order */
static void getKeysReply(client *c, int with_flags) {
    sds *argv = c->argv + 2;
    int argc = c->argc - 2;
    redisCommand *cmd = lookupCommandExact(argv, argc);
    if (!cmd) {
        addReplyError(c, "ERR Invalid command specified");
        return;
    }
    if (!commandHasKeys(cmd)) {
        addReplyError(c, "ERR The command has no key arguments");
        return;
    }
    if (!arityOk(cmd, argc)) {
        addReplyError(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    keyRef *keys;
    int n = commandKeys(cmd, argv, argc, &keys);
    if (n == 0 && !strstr(cmd->sflags, "no_mandatory_keys")) {
        addReplyError(c, "ERR Invalid arguments specified for command");
    } else {
        addReplyArrayLen(c, n);
        for (int i = 0; i < n; i++) {
            if (with_flags) addReplyArrayLen(c, 2);
            addReplyBulk(c, argv[keys[i].pos], sdslen(argv[keys[i].pos]));
            if (with_flags) addReplyKeyFlags(c, keys[i].flags);
        }
    }
    zfree(keys);
}

static void commandGetKeysCommand(client *c) { getKeysReply(c, 0); }

static void commandGetKeysAndFlagsCommand(client *c) { getKeysReply(c, 1); }

static void commandHelpCommand(client *c) {
    static const char *help[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Print this help.",
    };
    addReplyHelpLines(c, help);
}

redisCommand commandSubcommands[] = {
    {"count", commandCountCommand, 2, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"docs", commandDocsCommand, -2, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"getkeys", commandGetKeysCommand, -4, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"getkeysandflags", commandGetKeysAndFlagsCommand, -4, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"help", commandHelpCommand, 2, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"info", commandInfoCommand, -2, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"list", commandListCommand, -2, "loading stale", "slow connection", 0, 0, 0, NULL},
    {NULL}};
