/* scripting.c - EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: the cache of
 * compiled scripts by SHA1, running a script atomically with KEYS and ARGV
 * on the Lua interpreter (script_lua.c), the time limit (past
 * DREDIS_LUA_TIME_LIMIT other clients get -BUSY, SCRIPT KILL ends a script
 * that has not written, SHUTDOWN NOSAVE any) and the INFO fields of the Lua
 * engine.
 *
 * The cache is bounded: scripts that EVAL compiled are evicted, least
 * recently used first, beyond SCRIPT_CACHE_EVAL_MAX (as Redis 7.4 does);
 * scripts loaded with SCRIPT LOAD stay until SCRIPT FLUSH. */
#include "scripting.h"
#include "sha1.h"
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <stdio.h>

#define SCRIPT_CACHE_EVAL_MAX 500
#define LUA_GC_CYCLE_PERIOD 50
#define LUA_HOOK_INSTRUCTIONS 100000

typedef struct cachedScript {
    char sha[41];
    sds body;
    uint64_t flags;                     /* SCRIPT_FLAG_* of its shebang */
    int evictable;                      /* compiled by EVAL, not SCRIPT LOAD */
    struct cachedScript *hnext;         /* hash chain */
    struct cachedScript *prev, *next;   /* LRU list of evictable scripts */
} cachedScript;

scriptRunCtx *curr_run_ctx;

static lua_State *lua;
static client *lua_client;
static cachedScript **buckets;
static size_t nbuckets, nscripts, scripts_mem;
static cachedScript *lru_head, *lru_tail;
static size_t lru_len;
static long gc_count;

/* ------------------------------------------------------------------------ */
/* The interpreter and the cache                                             */
/* ------------------------------------------------------------------------ */

static lua_State *getLua(void) {
    if (!lua) {
        lua = luaCreateInterpreter(0);
        lua_client = createFakeClient();
    }
    return lua;
}

static size_t shaBucket(const char *sha) { return (size_t)(siphashish(sha, 40) & (nbuckets - 1)); }

static cachedScript *scriptFind(const char *sha) {
    if (!nbuckets) return NULL;
    for (cachedScript *s = buckets[shaBucket(sha)]; s; s = s->hnext)
        if (!memcmp(s->sha, sha, 40)) return s;
    return NULL;
}

static void lruUnlink(cachedScript *s) {
    if (s->prev) s->prev->next = s->next;
    else lru_head = s->next;
    if (s->next) s->next->prev = s->prev;
    else lru_tail = s->prev;
    s->prev = s->next = NULL;
    lru_len--;
}

static void lruPushHead(cachedScript *s) {
    s->prev = NULL;
    s->next = lru_head;
    if (lru_head) lru_head->prev = s;
    lru_head = s;
    if (!lru_tail) lru_tail = s;
    lru_len++;
}

static void scriptTouch(cachedScript *s) {
    if (!s->evictable || lru_head == s) return;
    lruUnlink(s);
    lruPushHead(s);
}

static void functionName(char *out, const char *sha) {
    out[0] = 'f';
    out[1] = '_';
    memcpy(out + 2, sha, 40);
    out[42] = '\0';
}

static void scriptDelete(cachedScript *s) {
    cachedScript **pp = &buckets[shaBucket(s->sha)];
    while (*pp != s) pp = &(*pp)->hnext;
    *pp = s->hnext;
    if (s->evictable) lruUnlink(s);
    char fname[43];
    functionName(fname, s->sha);
    lua_pushnil(lua);
    lua_setfield(lua, LUA_REGISTRYINDEX, fname);
    scripts_mem -= sizeof(*s) + sdslen(s->body);
    nscripts--;
    sdsfree(s->body);
    zfree(s);
}

static void scriptInsert(cachedScript *s) {
    if (nscripts + 1 > nbuckets) {
        size_t nn = nbuckets ? nbuckets * 2 : 64;
        cachedScript **nb = zcalloc(sizeof(*nb) * nn);
        for (size_t i = 0; i < nbuckets; i++) {
            for (cachedScript *e = buckets[i], *next; e; e = next) {
                next = e->hnext;
                size_t b = (size_t)(siphashish(e->sha, 40) & (nn - 1));
                e->hnext = nb[b];
                nb[b] = e;
            }
        }
        zfree(buckets);
        buckets = nb;
        nbuckets = nn;
    }
    size_t b = shaBucket(s->sha);
    s->hnext = buckets[b];
    buckets[b] = s;
    nscripts++;
    scripts_mem += sizeof(*s) + sdslen(s->body);
    if (s->evictable) {
        lruPushHead(s);
        while (lru_len > SCRIPT_CACHE_EVAL_MAX) scriptDelete(lru_tail);
    }
}

/* SCRIPT FLUSH: a new interpreter and an empty cache. */
static void scriptingReset(void) {
    for (size_t i = 0; i < nbuckets; i++) {
        for (cachedScript *s = buckets[i], *next; s; s = next) {
            next = s->hnext;
            sdsfree(s->body);
            zfree(s);
        }
    }
    zfree(buckets);
    buckets = NULL;
    nbuckets = nscripts = scripts_mem = lru_len = 0;
    lru_head = lru_tail = NULL;
    if (lua) {
        luaDestroyInterpreter(lua);
        freeFakeClient(lua_client);
        lua = NULL;
        lua_client = NULL;
    }
}

/* ------------------------------------------------------------------------ */
/* Compiling                                                                 */
/* ------------------------------------------------------------------------ */

const scriptFlagDef scriptFlagDefs[] = {
    {"no-writes", SCRIPT_FLAG_NO_WRITES},   {"allow-oom", SCRIPT_FLAG_ALLOW_OOM},
    {"allow-stale", SCRIPT_FLAG_ALLOW_STALE}, {"no-cluster", SCRIPT_FLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SCRIPT_FLAG_ALLOW_CROSS_SLOT}, {NULL, 0},
};

/* Parse a "#!lua [flags=a,b]" first line as Redis's
 * evalExtractShebangFlags. *len is the shebang's length (its newline is
 * kept so that line numbers stay right). */
static int extractShebangFlags(sds body, uint64_t *out, size_t *len, sds *err) {
    uint64_t flags = SCRIPT_FLAG_EVAL_COMPAT_MODE;
    *len = 0;
    if (sdslen(body) >= 2 && !memcmp(body, "#!", 2)) {
        const char *end = memchr(body, '\n', sdslen(body));
        if (!end) {
            *err = sdsnew("Invalid script shebang");
            return C_ERR;
        }
        *len = (size_t)(end - body);
        int n;
        sds *parts = sdssplitargs(body, *len, &n);
        if (!parts || n == 0) {
            *err = sdsnew("Invalid engine in script shebang");
            if (parts) sdsfreesplitres(parts, n);
            return C_ERR;
        }
        if (strcmp(parts[0], "#!lua") != 0) {
            *err = sdscatprintf(sdsempty(), "Unexpected engine in script shebang: %s", parts[0]);
            sdsfreesplitres(parts, n);
            return C_ERR;
        }
        flags &= ~SCRIPT_FLAG_EVAL_COMPAT_MODE;
        for (int j = 1; j < n; j++) {
            if (strncmp(parts[j], "flags=", 6) != 0) {
                *err = sdscatprintf(sdsempty(), "Unknown lua shebang option: %s", parts[j]);
                sdsfreesplitres(parts, n);
                return C_ERR;
            }
            const char *p = parts[j] + 6, *stop = parts[j] + sdslen(parts[j]);
            while (p <= stop) {
                const char *comma = memchr(p, ',', (size_t)(stop - p));
                size_t l = comma ? (size_t)(comma - p) : (size_t)(stop - p);
                size_t k;
                for (k = 0; scriptFlagDefs[k].name; k++)
                    if (strlen(scriptFlagDefs[k].name) == l && !memcmp(scriptFlagDefs[k].name, p, l)) break;
                if (!scriptFlagDefs[k].name) {
                    /* an empty flag list ("flags=") is fine */
                    if (l == 0 && p == parts[j] + 6 && !comma) break;
                    *err = sdscatprintf(sdsempty(), "Unexpected flag in script shebang: %.*s", (int)l, p);
                    sdsfreesplitres(parts, n);
                    return C_ERR;
                }
                flags |= scriptFlagDefs[k].flag;
                if (!comma) break;
                p = comma + 1;
            }
        }
        sdsfreesplitres(parts, n);
    }
    *out = flags;
    return C_OK;
}

/* Compile body and cache it under sha. NULL after replying with the error. */
static cachedScript *scriptCreate(client *c, sds body, const char *sha, int evictable) {
    uint64_t flags;
    size_t shebang_len;
    sds err = NULL;
    if (extractShebangFlags(body, &flags, &shebang_len, &err) != C_OK) {
        addReplyErrorFormat(c, "ERR %s", err);
        sdsfree(err);
        return NULL;
    }
    lua_State *L = getLua();
    luaSetMemoryEnforced(1);
    int status = luaL_loadbuffer(L, body + shebang_len, sdslen(body) - shebang_len, "@user_script");
    luaSetMemoryEnforced(0);
    if (status != LUA_OK) {
        luaRewriteError51(L, -1);
        const char *msg = lua_tostring(L, -1);
        addReplyErrorFormat(c, "ERR Error compiling script (new function): %s", msg ? msg : "?");
        lua_pop(L, 1);
        if (status == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT, 0);
        return NULL;
    }
    char fname[43];
    functionName(fname, sha);
    lua_setfield(L, LUA_REGISTRYINDEX, fname);
    cachedScript *s = zcalloc(sizeof(*s));
    memcpy(s->sha, sha, 41);
    s->body = sdsdup(body);
    s->flags = flags;
    s->evictable = evictable;
    scriptInsert(s);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Running                                                                   */
/* ------------------------------------------------------------------------ */

int scriptIsRunning(void) { return curr_run_ctx != NULL; }

long long scriptStartTime(void) { return curr_run_ctx ? curr_run_ctx->start_ms : 0; }

int scriptIsTimedout(void) { return curr_run_ctx && (curr_run_ctx->flags & SCRIPT_TIMEDOUT); }

int scriptInterrupt(void) {
    scriptRunCtx *rctx = curr_run_ctx;
    if (!rctx) return SCRIPT_CONTINUE;
    if (rctx->flags & SCRIPT_KILLED) return SCRIPT_KILL;
    if (!(rctx->flags & SCRIPT_TIMEDOUT)) {
        long long elapsed = mstime() - rctx->start_ms;
        if (elapsed < server.lua_time_limit) return SCRIPT_CONTINUE;
        serverLog(LL_WARNING,
                  "Slow script detected: still in execution after %lld milliseconds. You can try killing the "
                  "script using the %s command. Script name is: %s.",
                  elapsed, (rctx->flags & SCRIPT_EVAL_MODE) ? "SCRIPT KILL" : "FUNCTION KILL", rctx->sha);
        rctx->flags |= SCRIPT_TIMEDOUT;
        /* the caller's further input waits for the script's end */
        rctx->caller->flags |= CLIENT_PROTECTED;
    }
    processEventsWhileBlocked();
    if (server.shutdown_asap && !(rctx->flags & SCRIPT_KILLED)) {
        serverLog(LL_WARNING, "Lua script stopped by SHUTDOWN NOSAVE.");
        rctx->flags |= SCRIPT_KILLED;
    } else if (rctx->flags & SCRIPT_KILLED) {
        serverLog(LL_WARNING, "Lua script killed by user with SCRIPT KILL.");
    }
    return (rctx->flags & SCRIPT_KILLED) ? SCRIPT_KILL : SCRIPT_CONTINUE;
}

/* Run the Lua function on top of L's stack, with the nargs values pushed
 * after it, for caller c: the message handler goes below it, the run
 * context is set up (name is what errors and logs call the script), the
 * time limit watched, the reply (or error) sent, and L is left as before.
 * run_flags: SCRIPT_READ_ONLY and SCRIPT_EVAL_MODE. */
void scriptRunFunction(client *c, lua_State *L, client *script_client, const char *name, int run_flags, int nargs) {
    scriptRunCtx rctx = {.caller = c, .c = script_client, .sha = name, .start_ms = mstime(), .flags = run_flags,
                         .repl_flags = PROPAGATE_AOF | PROPAGATE_REPL};
    script_client->db = c->db; /* SELECT in the script changes only this */
    script_client->resp = 2;   /* redis.setresp() changes it */
    lua_pushcfunction(L, luaErrorHandler);
    lua_insert(L, -(nargs + 2));

    curr_run_ctx = &rctx;
    lua_sethook(L, luaMaskCountHook, LUA_MASKCOUNT, LUA_HOOK_INSTRUCTIONS);
    luaSetMemoryEnforced(1);
    int status = lua_pcall(L, nargs, 1, -(nargs + 2));
    luaSetMemoryEnforced(0);
    lua_sethook(L, NULL, 0, 0);
    curr_run_ctx = NULL;
    if (rctx.flags & SCRIPT_TIMEDOUT) {
        c->flags &= ~CLIENT_PROTECTED;
        serverLog(LL_WARNING, "Slow script %s finished after %lld milliseconds.", name, mstime() - rctx.start_ms);
    }

    if (status != LUA_OK) luaReplyWithError(c, L, status, name);
    else luaReplyToRedisReply(c, script_client, L);
    lua_pop(L, 1); /* the error handler */

    evbuffer_drain(script_client->out, evbuffer_get_length(script_client->out));
    lua_gc(L, LUA_GCRESTART, 0); /* in case the script stopped it */
    if (status == LUA_ERRMEM) {
        lua_gc(L, LUA_GCCOLLECT, 0);
    } else if (++gc_count >= LUA_GC_CYCLE_PERIOD) {
        lua_gc(L, LUA_GCSTEP, LUA_GC_CYCLE_PERIOD);
        gc_count = 0;
    }
}

static void runScript(client *c, cachedScript *s, long long numkeys, int ro) {
    lua_State *L = getLua();
    int run_flags = SCRIPT_EVAL_MODE;
    if (ro || (!(s->flags & SCRIPT_FLAG_EVAL_COMPAT_MODE) && (s->flags & SCRIPT_FLAG_NO_WRITES)))
        run_flags |= SCRIPT_READ_ONLY;
    if (!(s->flags & SCRIPT_FLAG_EVAL_COMPAT_MODE) && (s->flags & SCRIPT_FLAG_ALLOW_OOM)) run_flags |= SCRIPT_ALLOW_OOM;
    luaSetGlobalArray(L, "KEYS", c->argv + 3, (int)numkeys);
    luaSetGlobalArray(L, "ARGV", c->argv + 3 + numkeys, c->argc - 3 - (int)numkeys);
    char fname[43];
    functionName(fname, s->sha);
    lua_getfield(L, LUA_REGISTRYINDEX, fname);
    scriptRunFunction(c, L, lua_client, s->sha, run_flags, 0);
    /* nothing of the run stays referenced */
    luaSetGlobalArray(L, "KEYS", NULL, 0);
    luaSetGlobalArray(L, "ARGV", NULL, 0);
}

/* numkeys of EVAL or FCALL against the arguments: C_ERR after replying */
int scriptCheckNumkeys(client *c, long long numkeys) {
    if (numkeys > c->argc - 3) {
        addReplyError(c, "ERR Number of keys can't be greater than number of args");
        return C_ERR;
    }
    if (numkeys < 0) {
        addReplyError(c, "ERR Number of keys can't be negative");
        return C_ERR;
    }
    return C_OK;
}

static void evalGenericCommand(client *c, int evalsha, int ro) {
    long long numkeys;
    /* monitors see the script before the commands it runs (EVAL is
     * skip_monitor in the table for that) */
    feedMonitors(c, c->argc, c->argv);
    preventCommandPropagation(c); /* replicas get the commands it runs */
    if (getLongLongFromArgOrReply(c, c->argv[2], &numkeys, NULL) != C_OK) return;
    if (scriptCheckNumkeys(c, numkeys) != C_OK) return;
    char sha[41];
    if (evalsha) {
        for (int j = 0; j < 40; j++) sha[j] = (char)tolower((unsigned char)c->argv[1][j]);
        sha[40] = '\0';
    } else {
        sha1hex(c->argv[1], sdslen(c->argv[1]), sha);
    }
    cachedScript *s = scriptFind(sha);
    if (s) {
        scriptTouch(s);
    } else {
        if (evalsha) {
            addReplyError(c, "-NOSCRIPT No matching script. Please use EVAL.");
            return;
        }
        if (!(s = scriptCreate(c, c->argv[1], sha, 1))) return;
    }
    if (ro && !(s->flags & SCRIPT_FLAG_EVAL_COMPAT_MODE) && !(s->flags & SCRIPT_FLAG_NO_WRITES)) {
        addReplyError(c, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    if (scriptRefusedBeforeRun(c, s->flags)) return;
    runScript(c, s, numkeys, ro);
}

/* As Redis 7.0's scriptPrepareForRun(): on a replica whose master link is
 * down with replica-serve-stale-data no, a script runs only if it declares
 * allow-stale; a script or function that declares it may write does not
 * start on a read-only replica, nor over maxmemory unless it declares
 * allow-oom (one without flags fails at its first write). 1 after
 * replying. */
int scriptRefusedBeforeRun(client *c, uint64_t script_flags) {
    if (script_flags & SCRIPT_FLAG_EVAL_COMPAT_MODE) { /* no flags: only a stale replica refuses it here */
        if (!replicaIsStale()) return 0;
        addReplyError(c, "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        return 1;
    }
    if (replicaIsStale() && !(script_flags & SCRIPT_FLAG_ALLOW_STALE)) {
        addReplyError(c, "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and "
                         "'allow-stale' flag is not set on the script.");
        return 1;
    }
    if (server.masterhost && !(c->flags & CLIENT_MASTER) && !(script_flags & SCRIPT_FLAG_NO_WRITES)) {
        addReplyError(c, "READONLY Can not run script with write flag on readonly replica");
        return 1;
    }
    if (server.pre_command_oom_state && server.maxmemory &&
        !(script_flags & (SCRIPT_FLAG_ALLOW_OOM | SCRIPT_FLAG_NO_WRITES))) {
        addReplyError(c, "-OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
        return 1;
    }
    return 0;
}

/* The flags of a script's command as they are for this run (Redis's
 * evalGetCommandFlags): a script that declares its flags in a shebang is a
 * write unless it says no-writes, and no longer "may replicate"; one
 * without (or not found) keeps the table's flags. */
static uint64_t evalRunFlags(client *c, uint64_t cmd_flags, int evalsha) {
    uint64_t flags;
    if (evalsha) {
        if (sdslen(c->argv[1]) != 40) return cmd_flags;
        char sha[41];
        for (int j = 0; j < 40; j++) sha[j] = (char)tolower((unsigned char)c->argv[1][j]);
        sha[40] = '\0';
        cachedScript *s = scriptFind(sha);
        if (!s) return cmd_flags;
        flags = s->flags;
    } else {
        size_t len;
        sds err = NULL;
        if (extractShebangFlags(c->argv[1], &flags, &len, &err) != C_OK) {
            sdsfree(err);
            return cmd_flags;
        }
    }
    if (flags & SCRIPT_FLAG_EVAL_COMPAT_MODE) return cmd_flags;
    return scriptFlagsToCmdFlags(cmd_flags, flags);
}

uint64_t scriptFlagsToCmdFlags(uint64_t cmd_flags, uint64_t script_flags) {
    cmd_flags &= ~(CMD_STALE | CMD_WRITE | CMD_MAY_REPLICATE | CMD_DENYOOM);
    if (!(script_flags & SCRIPT_FLAG_NO_WRITES)) cmd_flags |= CMD_WRITE;
    if (!(script_flags & (SCRIPT_FLAG_NO_WRITES | SCRIPT_FLAG_ALLOW_OOM))) cmd_flags |= CMD_DENYOOM; /* no-writes implies allow-oom */
    if (script_flags & SCRIPT_FLAG_ALLOW_STALE) cmd_flags |= CMD_STALE;
    return cmd_flags;
}

static void evalCommand(client *c) { evalGenericCommand(c, 0, 0); }
static void evalRoCommand(client *c) { evalGenericCommand(c, 0, 1); }

static void evalShaGeneric(client *c, int ro) {
    if (sdslen(c->argv[1]) != 40) {
        addReplyError(c, "-NOSCRIPT No matching script. Please use EVAL.");
        return;
    }
    evalGenericCommand(c, 1, ro);
}

static void evalShaCommand(client *c) { evalShaGeneric(c, 0); }
static void evalShaRoCommand(client *c) { evalShaGeneric(c, 1); }

uint64_t scriptCommandFlags(client *c, redisCommand *cmd) {
    if (cmd->proc == evalCommand || cmd->proc == evalRoCommand) return evalRunFlags(c, cmd->flags, 0);
    if (cmd->proc == evalShaCommand || cmd->proc == evalShaRoCommand) return evalRunFlags(c, cmd->flags, 1);
    return fcallCommandFlags(c, cmd);
}

/* ------------------------------------------------------------------------ */
/* SCRIPT                                                                    */
/* ------------------------------------------------------------------------ */

static void scriptContainerCommand(client *c) { addReplyErrorArity(c); }

static void scriptLoadCommand(client *c) {
    char sha[41];
    sha1hex(c->argv[2], sdslen(c->argv[2]), sha);
    cachedScript *s = scriptFind(sha);
    if (!s) {
        if (!scriptCreate(c, c->argv[2], sha, 0)) return;
    } else if (s->evictable) {
        lruUnlink(s); /* loaded explicitly: kept until SCRIPT FLUSH */
        s->evictable = 0;
    }
    addReplyBulk(c, sha, 40);
}

static void scriptExistsCommand(client *c) {
    addReplyArrayLen(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        int found = 0;
        if (sdslen(c->argv[j]) == 40) {
            char sha[41];
            for (int k = 0; k < 40; k++) sha[k] = (char)tolower((unsigned char)c->argv[j][k]);
            sha[40] = '\0';
            found = scriptFind(sha) != NULL;
        }
        addReplyLongLong(c, found);
    }
}

static void scriptFlushCommand(client *c) {
    if (c->argc > 3 || (c->argc == 3 && strcasecmp(c->argv[2], "sync") && strcasecmp(c->argv[2], "async"))) {
        addReplyError(c, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    scriptingReset();
    addReplyOK(c);
}

const char *scriptBusyError(void) {
    return curr_run_ctx && !(curr_run_ctx->flags & SCRIPT_EVAL_MODE)
               ? "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
               : "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
}

/* SCRIPT KILL (eval 1) and FUNCTION KILL (eval 0), as Redis's scriptKill */
void scriptKill(client *c, int eval) {
    if (!curr_run_ctx) {
        addReplyError(c, "-NOTBUSY No scripts in execution right now.");
        return;
    }
    if (curr_run_ctx->flags & SCRIPT_WRITE_DIRTY) {
        addReplyError(c, "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
                         "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
                         "NOSAVE command.");
        return;
    }
    if (eval != !!(curr_run_ctx->flags & SCRIPT_EVAL_MODE)) {
        /* SCRIPT KILL does not end a function, nor FUNCTION KILL a script */
        addReplyError(c, scriptBusyError());
        return;
    }
    curr_run_ctx->flags |= SCRIPT_KILLED;
    addReplyOK(c);
}

static void scriptKillCommand(client *c) { scriptKill(c, 1); }

static void scriptDebugCommand(client *c) {
    if (!strcasecmp(c->argv[2], "no")) {
        addReplyOK(c);
    } else if (!strcasecmp(c->argv[2], "yes") || !strcasecmp(c->argv[2], "sync")) {
        addReplyError(c, "ERR SCRIPT DEBUG YES/SYNC is not supported: dredis has no Lua debugger");
    } else {
        addReplyError(c, "ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

static void scriptHelpCommand(client *c) {
    static const char *help[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

/* ------------------------------------------------------------------------ */
/* INFO                                                                      */
/* ------------------------------------------------------------------------ */

static void bytesToHuman(char *s, size_t len, unsigned long long n) {
    if (n < 1024) snprintf(s, len, "%lluB", n);
    else if (n < 1024ULL * 1024) snprintf(s, len, "%.2fK", (double)n / 1024);
    else if (n < 1024ULL * 1024 * 1024) snprintf(s, len, "%.2fM", (double)n / (1024 * 1024));
    else snprintf(s, len, "%.2fG", (double)n / (1024.0 * 1024 * 1024));
}

size_t scriptsCacheMemory(void) { return scripts_mem; }

/* INFO memory's scripting lines, in Redis 7.0's order: each interpreter
 * on its own, then both, then the caches beside them. */
sds genScriptingMemoryInfo(sds info) {
    char human[64], total_human[64], caches_human[64];
    size_t vm = luaInterpreterMemory(0), total = vm + luaInterpreterMemory(1);
    size_t caches = scripts_mem + functionsCacheMemory();
    bytesToHuman(human, sizeof(human), vm);
    bytesToHuman(total_human, sizeof(total_human), total);
    bytesToHuman(caches_human, sizeof(caches_human), caches);
    info = sdscatprintf(info,
                        "used_memory_lua:%zu\r\n"
                        "used_memory_vm_eval:%zu\r\n"
                        "used_memory_lua_human:%s\r\n"
                        "used_memory_scripts_eval:%zu\r\n"
                        "number_of_cached_scripts:%zu\r\n",
                        vm, vm, human, scripts_mem, nscripts);
    info = genFunctionsMemoryInfo(info);
    return sdscatprintf(info,
                        "used_memory_vm_total:%zu\r\n"
                        "used_memory_vm_total_human:%s\r\n"
                        "used_memory_functions:%zu\r\n"
                        "used_memory_scripts:%zu\r\n"
                        "used_memory_scripts_human:%s\r\n"
                        "dredis_lua_memory_limit:%zu\r\n",
                        total, total_human, functionsCacheMemory(), caches, caches_human, server.lua_memory_limit);
}

/* ------------------------------------------------------------------------ */
/* Command table                                                             */
/* ------------------------------------------------------------------------ */

static redisCommand scriptSubcommands[] = {
    {"debug", scriptDebugCommand, 3, "noscript", "slow scripting", 0, 0, 0, NULL},
    {"exists", scriptExistsCommand, -3, "noscript", "slow scripting", 0, 0, 0, NULL},
    {"flush", scriptFlushCommand, -2, "noscript", "slow scripting", 0, 0, 0, NULL},
    {"help", scriptHelpCommand, 2, "loading stale", "slow scripting", 0, 0, 0, NULL},
    {"kill", scriptKillCommand, 2, "noscript allow_busy", "slow scripting", 0, 0, 0, NULL},
    {"load", scriptLoadCommand, 3, "noscript stale", "slow scripting", 0, 0, 0, NULL},
    {NULL}};

redisCommand scriptingCommandTable[] = {
    {"eval", evalCommand, -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
     "slow scripting", 0, 0, 0, NULL},
    {"evalsha", evalShaCommand, -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
     "slow scripting", 0, 0, 0, NULL},
    {"eval_ro", evalRoCommand, -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
     "slow scripting", 0, 0, 0, NULL},
    {"evalsha_ro", evalShaRoCommand, -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
     "slow scripting", 0, 0, 0, NULL},
    {"script", scriptContainerCommand, -2, "", "slow", 0, 0, 0, scriptSubcommands},
    {NULL}};
