/* script_lua.c - the Lua interpreter that runs EVAL scripts: its creation
 * (libraries, the redis.* API, the files in lua/, read-only globals), its memory
 * accounting and limit (DREDIS_LUA_MEMORY_LIMIT), redis.call()/pcall()
 * running commands through the command table on a fake client, the message
 * handler that gives errors Redis 7.0's form, and the conversions between
 * RESP replies and Lua values in both directions, as Redis 7.0 does them. */
#include "scripting.h"
#include "sha1.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>
#include <limits.h>
#include <errno.h>

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

static size_t lua_mem_used;      /* both interpreters: what the limit holds */
static size_t lua_mem_of[2];     /* each one's: EVAL's [0], the functions' [1] */
static int lua_mem_enforced;

/* Every allocation of the interpreters goes through here (ud: the
 * interpreter's own count). While a script is compiled or runs, growing
 * past the limit fails: Lua then collects garbage and retries, and if that
 * is not enough raises "not enough memory", which the script can catch or
 * which ends it with a clean error. */
static void *luaAlloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    size_t *own = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        lua_mem_used -= old;
        *own -= old;
        return NULL;
    }
    if (lua_mem_enforced && nsize > old && lua_mem_used - old + nsize > server.lua_memory_limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    lua_mem_used = lua_mem_used - old + nsize;
    *own = *own - old + nsize;
    return p;
}

size_t luaInterpreterMemory(int functions) { return lua_mem_of[functions ? 1 : 0]; }

void luaSetMemoryEnforced(int on) { lua_mem_enforced = on; }

static int luaPanic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    serverLog(LL_WARNING, "Lua panic (unprotected error in the scripting engine): %s", msg ? msg : "?");
    abort();
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* Push {err="CODE msg"} as Redis's luaPushErrorBuff: "-CODE msg" keeps its
 * code, anything else gets "ERR"; trailing newlines are trimmed. */
void luaPushErrorTable(lua_State *L, const char *err) {
    const char *code = "ERR", *msg = err;
    size_t codelen = 3;
    if (err[0] == '-') {
        const char *sp = strchr(err, ' ');
        if (sp) {
            code = err + 1;
            codelen = (size_t)(sp - err - 1);
            msg = sp + 1;
        } else {
            msg = err + 1;
        }
    }
    size_t start = 0, end = strlen(msg);
    while (start < end && (msg[start] == '\r' || msg[start] == '\n')) start++;
    while (end > start && (msg[end - 1] == '\r' || msg[end - 1] == '\n')) end--;
    lua_createtable(L, 0, 1);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, code, codelen);
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, msg + start, end - start);
    luaL_pushresult(&b);
    lua_setfield(L, -2, "err");
}

/* Frames of the Lua files built into dredis are as invisible as C ones. */
static int frameIsInternal(lua_Debug *ar) {
    return !strcmp(ar->what, "C") || !strncmp(ar->source, "=dredis:", 8);
}

/* The message handler of every script call, as Redis's
 * __redis__err__handler: the error becomes {err=...} (a string gets "ERR "
 * before it) with the source and line of the script code that raised it. */
int luaErrorHandler(lua_State *L) {
    lua_Debug ar;
    int found = 0;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "nSl", &ar);
        if (!frameIsInternal(&ar)) {
            found = 1;
            break;
        }
    }
    lua_settop(L, 1);
    luaRewriteError51(L, 1);
    if (luaIsReadonlyTable(L, 1)) {
        /* error(redis): the library stays untouched, its err field goes on */
        lua_createtable(L, 0, 3);
        lua_getfield(L, 1, "err");
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
    }
    if (!lua_istable(L, 1)) {
        char buf[64];
        const char *s;
        if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1))
            s = luaNumberToString51(lua_tonumber(L, 1), buf, sizeof(buf));
        else
            s = luaL_tolstring(L, 1, NULL);
        lua_createtable(L, 0, 3);
        lua_pushfstring(L, "ERR %s", s);
        lua_setfield(L, -2, "err");
        lua_replace(L, 1);
        lua_settop(L, 1);
    }
    if (found) { /* raw: no metamethod of the script's table runs here */
        lua_pushliteral(L, "source");
        lua_pushstring(L, ar.source);
        lua_rawset(L, 1);
        lua_pushliteral(L, "line");
        lua_pushinteger(L, ar.currentline);
        lua_rawset(L, 1);
    }
    return 1;
}

/* t[field] read raw: this runs outside any protected call, where a
 * metamethod's error would bring the server down. */
static sds errorTableField(lua_State *L, int idx, const char *field) {
    sds s = NULL;
    lua_pushstring(L, field);
    lua_rawget(L, idx);
    if (lua_isstring(L, -1)) {
        size_t len;
        const char *p = lua_tolstring(L, -1, &len);
        s = sdsnewlen(p, len);
    }
    lua_pop(L, 1);
    return s;
}

/* An error table that a script's command made: counted in the error
 * stats when it arose, not again as the script's reply (Redis's
 * ignore_error_stats_update). */
static int errorCountedAlready(lua_State *L, int idx) {
    lua_pushliteral(L, "ignore_error_stats_update");
    lua_rawget(L, idx);
    int counted = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return counted;
}

void luaReplyWithError(client *c, lua_State *L, int status, const char *sha) {
    if (status == LUA_ERRMEM) {
        addReplyErrorFormat(c,
                            "ERR Error running script %s, not enough memory: the Lua interpreter may use "
                            "at most %zu bytes (DREDIS_LUA_MEMORY_LIMIT)",
                            sha, server.lua_memory_limit);
    } else if (!lua_istable(L, -1)) {
        const char *msg = lua_tostring(L, -1);
        addReplyErrorFormat(c, "ERR Error running script %s, %.100s", sha, msg ? msg : "execution failure");
    } else {
        int idx = lua_gettop(L);
        sds err = errorTableField(L, idx, "err");
        sds source = errorTableField(L, idx, "source");
        sds line = errorTableField(L, idx, "line");
        sds msg = sdscatprintf(sdsempty(), "-%s", err ? err : "ERR unknown error");
        if (source && line) msg = sdscatprintf(msg, " script: %s, on %s:%s.", sha, source, line);
        addReplyErrorLengthEx(c, msg, sdslen(msg), !errorCountedAlready(L, idx));
        sdsfree(msg);
        sdsfree(err);
        sdsfree(source);
        sdsfree(line);
    }
    lua_pop(L, 1);
}

/* ------------------------------------------------------------------------ */
/* RESP -> Lua (the reply of a command called by the script)                */
/* ------------------------------------------------------------------------ */

typedef struct replyCursor {
    const char *p, *end;
    int resp3; /* arrays may hold nils: no preallocation, so that # sees
                * the same border as in 5.1 */
    long long reserve; /* element slots the tables may still reserve in all */
} replyCursor;

/* The text of the current line (after the type byte) and move past it. */
static const char *replyLine(replyCursor *cur, size_t *len) {
    const char *start = cur->p + 1;
    const char *nl = memchr(start, '\r', (size_t)(cur->end - start));
    if (!nl) nl = cur->end;
    *len = (size_t)(nl - start);
    cur->p = nl + 2 <= cur->end ? nl + 2 : cur->end;
    return start;
}

static long long replyLineNumber(replyCursor *cur) {
    size_t len;
    const char *s = replyLine(cur, &len);
    long long v = 0;
    if (!string2ll(s, len, &v)) v = 0;
    return v;
}

/* The payload of a bulk of len bytes (truncated to what is there). */
static const char *replyPayload(replyCursor *cur, long long len, size_t *got) {
    const char *s = cur->p;
    if (len < 0) len = 0;
    if (len > cur->end - cur->p) len = cur->end - cur->p;
    *got = (size_t)len;
    cur->p += len;
    cur->p = cur->p + 2 <= cur->end ? cur->p + 2 : cur->end;
    return s;
}

static void pushReply(lua_State *L, replyCursor *cur);

/* t[k] = v (both on top of the stack) unless k cannot be a key */
static void safeRawSet(lua_State *L, int t) {
    if (lua_isnil(L, -2) || (lua_type(L, -2) == LUA_TNUMBER && isnan(lua_tonumber(L, -2)))) {
        lua_pop(L, 2);
        return;
    }
    lua_rawset(L, t);
}

/* Room to reserve for n elements: no more than the rest of the reply can
 * hold (each element takes 3 bytes at least), and no more in all than the
 * whole reply can, so that counts the bytes do not back (a damaged reply,
 * or aggregates nested in one another, each claiming the rest) cannot make
 * huge tables: a valid reply's counts add up to at most its length / 3. */
static int sizeHint(replyCursor *cur, long long n) {
    long long most = (cur->end - cur->p) / 3;
    if (most > cur->reserve) most = cur->reserve;
    if (n > most) n = most;
    if (n <= 0 || n >= INT_MAX) return 0;
    cur->reserve -= n;
    return (int)n;
}

static void pushReplyAggregate(lua_State *L, replyCursor *cur, char type, long long n) {
    luaL_checkstack(L, 4, "reply nested too deeply");
    if (type == '%' || type == '~') {
        lua_createtable(L, 0, 1);
        lua_pushstring(L, type == '%' ? "map" : "set");
        lua_createtable(L, 0, sizeHint(cur, n));
        int t = lua_gettop(L);
        for (long long j = 0; j < n && cur->p < cur->end; j++) {
            pushReply(L, cur);
            if (type == '%') pushReply(L, cur);
            else lua_pushboolean(L, 1);
            safeRawSet(L, t);
        }
        lua_rawset(L, -3);
        return;
    }
    lua_createtable(L, cur->resp3 ? 0 : sizeHint(cur, n), 0);
    int t = lua_gettop(L);
    for (long long j = 0; j < n && cur->p < cur->end; j++) {
        lua_pushinteger(L, j + 1);
        pushReply(L, cur);
        safeRawSet(L, t);
    }
}

static void pushReply(lua_State *L, replyCursor *cur) {
    if (cur->p >= cur->end) {
        lua_pushboolean(L, 0);
        return;
    }
    char type = *cur->p;
    size_t len;
    const char *s;
    long long n;
    switch (type) {
    case '+':
        s = replyLine(cur, &len);
        lua_createtable(L, 0, 1);
        lua_pushlstring(L, s, len);
        lua_setfield(L, -2, "ok");
        return;
    case '-':
        s = replyLine(cur, &len);
        lua_pushliteral(L, "-");
        lua_pushlstring(L, s, len);
        lua_concat(L, 2);
        luaPushErrorTable(L, lua_tostring(L, -1));
        lua_remove(L, -2);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ignore_error_stats_update");
        return;
    case ':':
        lua_pushinteger(L, replyLineNumber(cur));
        return;
    case '(':
        s = replyLine(cur, &len);
        lua_createtable(L, 0, 1);
        lua_pushlstring(L, s, len);
        lua_setfield(L, -2, "big_number");
        return;
    case '$':
        n = replyLineNumber(cur);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return;
        }
        s = replyPayload(cur, n, &len);
        lua_pushlstring(L, s, len);
        return;
    case '=':
        n = replyLineNumber(cur);
        s = replyPayload(cur, n, &len);
        lua_createtable(L, 0, 1);
        lua_createtable(L, 0, 2);
        lua_pushlstring(L, s, len >= 3 ? 3 : len);
        lua_setfield(L, -2, "format");
        lua_pushlstring(L, len > 4 ? s + 4 : "", len > 4 ? len - 4 : 0);
        lua_setfield(L, -2, "string");
        lua_setfield(L, -2, "verbatim_string");
        return;
    case '*':
    case '>':
        n = replyLineNumber(cur);
        if (n < 0) {
            lua_pushboolean(L, 0);
            return;
        }
        pushReplyAggregate(L, cur, '*', n);
        return;
    case '%':
    case '~':
        n = replyLineNumber(cur);
        pushReplyAggregate(L, cur, type, n);
        return;
    case '|': /* attributes are skipped, as Redis does */
        n = replyLineNumber(cur);
        pushReplyAggregate(L, cur, '%', n);
        lua_pop(L, 1);
        pushReply(L, cur);
        return;
    case '_':
        replyLine(cur, &len);
        lua_pushnil(L);
        return;
    case '#':
        s = replyLine(cur, &len);
        lua_pushboolean(L, len > 0 && s[0] == 't');
        return;
    case ',': {
        s = replyLine(cur, &len);
        char buf[128];
        size_t l = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
        memcpy(buf, s, l);
        buf[l] = '\0';
        lua_createtable(L, 0, 1);
        lua_pushnumber(L, strtod(buf, NULL));
        lua_setfield(L, -2, "double");
        return;
    }
    default:
        cur->p = cur->end;
        lua_pushboolean(L, 0);
        return;
    }
}

void luaPushRedisReply(lua_State *L, const char *reply, size_t len, int resp3) {
    replyCursor cur = {.p = reply, .end = reply + len, .resp3 = resp3, .reserve = (long long)(len / 3)};
    pushReply(L, &cur);
}

/* ------------------------------------------------------------------------ */
/* Lua -> RESP (the script's result)                                        */
/* ------------------------------------------------------------------------ */

/* Nesting at which Redis's Lua 5.1 stack runs out ("reached lua stack
 * limit"); also what bounds the recursion here. */
#define LUA_REPLY_MAX_DEPTH 7995

/* (long long) of a double as x86 does it: out of range and NaN give
 * LLONG_MIN, which is what Redis replies (the cast is undefined in C). */
static long long doubleToLongLong(double d) {
    if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return LLONG_MIN;
    return (long long)d;
}

static void addReplyBigNum(client *c, const char *num, size_t len) {
    if (c->resp == 2) {
        addReplyBulk(c, num, len);
    } else {
        addReply(c, "(", 1);
        addReply(c, num, len);
        addReply(c, "\r\n", 2);
    }
}

static sds mapNewlines(sds s) {
    for (size_t i = 0; i < sdslen(s); i++)
        if (s[i] == '\r' || s[i] == '\n') s[i] = ' ';
    return s;
}

/* Push t[field] and return its type (t at -1 before the call). */
static int rawField(lua_State *L, const char *field) {
    lua_pushstring(L, field);
    return lua_rawget(L, -2);
}

static void replyValue(client *c, client *sc, lua_State *L, int depth);

static void replyTable(client *c, client *sc, lua_State *L, int depth) {
    /* error */
    if (rawField(L, "err") == LUA_TSTRING) {
        lua_pop(L, 1);
        sds err = errorTableField(L, lua_gettop(L), "err");
        sds msg = sdscatprintf(sdsempty(), "-%s", err);
        addReplyErrorLengthEx(c, msg, sdslen(msg), !errorCountedAlready(L, lua_gettop(L)));
        sdsfree(msg);
        sdsfree(err);
        return;
    }
    lua_pop(L, 1);
    /* status */
    if (rawField(L, "ok") == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        sds ok = mapNewlines(sdsnewlen(s, len));
        addReplyStatusLength(c, ok, sdslen(ok));
        sdsfree(ok);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    /* RESP3 types */
    if (rawField(L, "double") == LUA_TNUMBER) {
        addReplyDouble(c, lua_tonumber(L, -1));
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (rawField(L, "big_number") == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        sds num = mapNewlines(sdsnewlen(s, len));
        addReplyBigNum(c, num, sdslen(num));
        sdsfree(num);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (rawField(L, "verbatim_string") == LUA_TTABLE) {
        if (rawField(L, "format") == LUA_TSTRING) {
            size_t flen;
            const char *fmt = lua_tolstring(L, -1, &flen);
            lua_pushstring(L, "string");
            if (lua_rawget(L, -3) == LUA_TSTRING) {
                size_t len;
                const char *s = lua_tolstring(L, -1, &len);
                char ext[4] = "   ";
                memcpy(ext, fmt, flen < 3 ? flen : 3);
                addReplyVerbatim(c, s, len, ext);
                lua_pop(L, 3);
                return;
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (rawField(L, "map") == LUA_TTABLE) {
        long n = 0;
        void *len = addReplyDeferredLen(c);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            replyValue(c, sc, L, depth + 1); /* key */
            replyValue(c, sc, L, depth + 1); /* value */
            n++;
        }
        setDeferredMapLen(c, len, n);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    if (rawField(L, "set") == LUA_TTABLE) {
        long n = 0;
        void *len = addReplyDeferredLen(c);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            replyValue(c, sc, L, depth + 1);
            n++;
        }
        setDeferredSetLen(c, len, n);
        lua_pop(L, 1);
        return;
    }
    lua_pop(L, 1);
    /* array: up to the first nil */
    void *len = addReplyDeferredLen(c);
    long n = 0;
    for (lua_Integer j = 1;; j++) {
        if (lua_rawgeti(L, -1, j) == LUA_TNIL) {
            lua_pop(L, 1);
            break;
        }
        replyValue(c, sc, L, depth + 1);
        n++;
    }
    setDeferredArrayLen(c, len, n);
}

/* Reply with the value on top of the stack and pop it. */
static void replyValue(client *c, client *sc, lua_State *L, int depth) {
    if (depth >= LUA_REPLY_MAX_DEPTH || !lua_checkstack(L, 4)) {
        addReplyError(c, "ERR reached lua stack limit");
        lua_pop(L, 1);
        return;
    }
    switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        addReplyBulk(c, s, len);
        break;
    }
    case LUA_TBOOLEAN:
        if (sc->resp == 2) {
            if (lua_toboolean(L, -1)) addReply(c, ":1\r\n", 4);
            else addReplyNull(c);
        } else {
            addReplyBool(c, lua_toboolean(L, -1));
        }
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, -1)) addReplyLongLong(c, (long long)lua_tointeger(L, -1));
        else addReplyLongLong(c, doubleToLongLong((double)lua_tonumber(L, -1)));
        break;
    case LUA_TTABLE:
        replyTable(c, sc, L, depth);
        break;
    default:
        addReplyNull(c);
        break;
    }
    lua_pop(L, 1);
}

void luaReplyToRedisReply(client *c, client *script_client, lua_State *L) { replyValue(c, script_client, L, 0); }

/* ------------------------------------------------------------------------ */
/* redis.call / redis.pcall                                                  */
/* ------------------------------------------------------------------------ */

static void freeScriptClientArgv(client *c) {
    for (int j = 0; j < c->argc; j++) sdsfree(c->argv[j]);
    zfree(c->argv);
    c->argv = NULL;
    c->argc = 0;
}

/* Check the Lua arguments as Redis's luaArgsToRedisArgv: NULL (after pushing
 * an error table) when there are none or one is not a string or number.
 * Nothing is allocated before the checks pass, so a Lua error cannot leak. */
static sds *luaArgsToArgv(lua_State *L, int *argc) {
    int n = lua_gettop(L);
    *argc = n;
    if (n == 0) {
        luaPushErrorTable(L, "Please specify at least one argument for this redis lib call");
        return NULL;
    }
    for (int j = 1; j <= n; j++) {
        int t = lua_type(L, j);
        if (t != LUA_TNUMBER && t != LUA_TSTRING) {
            luaPushErrorTable(L, "Lua redis lib command arguments must be strings or integers");
            return NULL;
        }
    }
    luaL_checkstack(L, 4, "too many arguments");
    sds *argv = zmalloc(sizeof(sds) * (size_t)n);
    for (int j = 1; j <= n; j++) {
        if (lua_type(L, j) == LUA_TNUMBER) {
            char buf[64];
            int len;
            /* not lua_tolstring: Lua's format loses precision (and 5.4's
             * prints 5.0 as "5.0"); Redis uses %.17g */
            if (lua_isinteger(L, j)) len = ll2string(buf, sizeof(buf), (long long)lua_tointeger(L, j));
            else len = snprintf(buf, sizeof(buf), "%.17g", (double)lua_tonumber(L, j));
            argv[j - 1] = sdsnewlen(buf, (size_t)len);
        } else {
            size_t len;
            const char *s = lua_tolstring(L, j, &len);
            argv[j - 1] = sdsnewlen(s, len);
        }
    }
    return argv;
}

/* Run argv on the script's fake client with the checks Redis's scriptCall()
 * makes. Returns an error text (static) or NULL when the command ran. */
/* The caller's user must be allowed the command, as Redis's scriptVerifyACL. */
static const char *scriptCheckAcl(scriptRunCtx *rctx, redisCommand *cmd) {
    static char msg[160];
    client *c = rctx->c;
    int pos = 0;
    c->user = rctx->caller->user; /* as Redis: the script's commands run as its caller (SORT's checks too) */
    int r = aclCheckCommand(c->user, cmd, c->argv, c->argc, &pos);
    if (r == ACL_OK) return NULL;
    c->cmd = cmd;
    aclLogDenial(c, rctx->caller, r, ACL_LOG_CTX_LUA, pos);
    c->cmd = NULL;
    c->user = NULL;
    cmd->rejected_calls++;
    snprintf(msg, sizeof(msg), "The user executing the script %s", aclDeniedReason(r));
    return msg;
}

static const char *scriptCall(scriptRunCtx *rctx) {
    const char *err;
    client *c = rctx->c;
    redisCommand *cmd = lookupCommand(c->argv, c->argc);
    if (cmd && cmd->subcommands && c->argc >= 2) cmd = NULL; /* unknown subcommand */
    if (!cmd) return "Unknown Redis command called from script";
    if ((cmd->arity > 0 && cmd->arity != c->argc) || c->argc < -cmd->arity) {
        cmd->rejected_calls++;
        return "Wrong number of args calling Redis command from script";
    }
    /* blocking commands that may run in scripts never block here: the fake
     * client may not (clientMayBlock) and gets the timeout reply */
    if ((cmd->flags & CMD_NOSCRIPT) && !server.script_disable_deny_script) { /* DEBUG SET-DISABLE-DENY-SCRIPTS */
        cmd->rejected_calls++;
        return "This Redis command is not allowed from script";
    }
    if ((rctx->flags & SCRIPT_READ_ONLY) && (cmd->flags & (CMD_WRITE | CMD_MAY_REPLICATE))) {
        cmd->rejected_calls++;
        return "Write commands are not allowed from read-only scripts.";
    }
    if ((cmd->flags & CMD_WRITE) && server.masterhost && !(rctx->caller->flags & CLIENT_MASTER)) {
        cmd->rejected_calls++;
        return "-READONLY You can't write against a read only replica."; /* "-": keeps its code */
    }
    /* reached by scripts without flags: those with flags were refused before they ran */
    if ((cmd->flags & CMD_WRITE) && !replicationGoodReplicasOk()) {
        cmd->rejected_calls++;
        return "-NOREPLICAS Not enough good replicas to write.";
    }
    if ((err = scriptCheckAcl(rctx, cmd)) != NULL) return err;
    /* as Redis's scriptVerifyOOM: over maxmemory when the script started,
     * its first write may still be refused (not one after it: a script is
     * not stopped half-way) */
    if (!(rctx->flags & (SCRIPT_ALLOW_OOM | SCRIPT_WRITE_DIRTY)) && server.maxmemory &&
        !(rctx->caller->flags & CLIENT_MASTER) && server.pre_command_oom_state && (cmd->flags & CMD_DENYOOM)) {
        cmd->rejected_calls++;
        return "-OOM command not allowed when used memory > 'maxmemory'.";
    }
    if (replicaIsStale() && !(cmd->flags & CMD_STALE)) {
        cmd->rejected_calls++;
        return "Can not execute the command on a stale replica";
    }
    if (cmd->flags & CMD_WRITE) rctx->flags |= SCRIPT_WRITE_DIRTY;
    if (server.verbosity <= LL_DEBUG)
        serverLog(LL_DEBUG, "script %s (client %llu) db %d: %s with %d arguments", rctx->sha,
                  (unsigned long long)rctx->caller->id, c->db, cmd->fullname, c->argc - 1);
    /* redis.set_repl(): this command's own effect is sent only where the
     * flags say, replicas and/or the AOF (the expiries it causes go to
     * both, as in Redis) */
    c->prop_suppress = (PROPAGATE_AOF | PROPAGATE_REPL) & ~rctx->repl_flags;
    call(c, cmd);
    c->prop_suppress = 0;
    c->user = NULL; /* no pointer to a user kept past the call: users may be deleted */
    return NULL;
}

static int luaRedisGenericCommand(lua_State *L, int raise_error) {
    scriptRunCtx *rctx = curr_run_ctx;
    if (!rctx) {
        luaPushErrorTable(L, "redis.call/pcall can only be called inside a script invocation");
        return lua_error(L);
    }
    client *c = rctx->c;
    /* leftovers of a call whose reply conversion ran out of memory */
    evbuffer_drain(c->out, evbuffer_get_length(c->out));
    freeScriptClientArgv(c);

    int argc;
    sds *argv = luaArgsToArgv(L, &argc);
    if (!argv) return raise_error ? lua_error(L) : 1;
    lua_settop(L, 0);
    c->argv = argv;
    c->argc = argc;
    const char *err = scriptCall(rctx);
    freeScriptClientArgv(c);
    if (err) {
        /* as Redis's afterErrorReply: counted now, whether or not the
         * script lets it reach its reply (code "ERR" unless it has one) */
        if (err[0] == '-') countErrorReply(err, strlen(err));
        else countErrorReply("ERR", 3);
        evbuffer_drain(c->out, evbuffer_get_length(c->out));
        luaPushErrorTable(L, err);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ignore_error_stats_update");
        return raise_error ? lua_error(L) : 1;
    }
    size_t len = evbuffer_get_length(c->out);
    if (len == 0) {
        luaPushErrorTable(L, "The command did not reply");
        return raise_error ? lua_error(L) : 1;
    }
    const char *reply = (const char *)evbuffer_pullup(c->out, -1);
    if (raise_error && reply[0] != '-') raise_error = 0;
    luaPushRedisReply(L, reply, len, c->resp == 3);
    evbuffer_drain(c->out, len);
    return raise_error ? lua_error(L) : 1;
}

static int luaRedisCallCommand(lua_State *L) { return luaRedisGenericCommand(L, 1); }
static int luaRedisPCallCommand(lua_State *L) { return luaRedisGenericCommand(L, 0); }

/* ------------------------------------------------------------------------ */
/* The rest of redis.*                                                       */
/* ------------------------------------------------------------------------ */

static int raiseError(lua_State *L, const char *msg) {
    luaPushErrorTable(L, msg);
    return lua_error(L);
}

static int luaRedisSha1hexCommand(lua_State *L) {
    if (lua_gettop(L) != 1) return raiseError(L, "wrong number of arguments");
    char digest[41], buf[64];
    size_t len = 0;
    const char *s;
    if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1)) {
        s = luaNumberToString51(lua_tonumber(L, 1), buf, sizeof(buf));
        len = strlen(s);
    } else {
        s = lua_tolstring(L, 1, &len);
        if (!s) s = "", len = 0;
    }
    sha1hex(s, len, digest);
    lua_pushstring(L, digest);
    return 1;
}

/* {field=arg} for redis.status_reply; for a wrong call an error table is
 * returned, not raised (as Redis) */
static int luaReturnSingleFieldTable(lua_State *L, const char *field) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        luaPushErrorTable(L, "wrong number or type of arguments");
        return 1;
    }
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, field);
    return 1;
}

static int luaRedisStatusReplyCommand(lua_State *L) { return luaReturnSingleFieldTable(L, "ok"); }

static int luaRedisErrorReplyCommand(lua_State *L) {
    if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
        luaPushErrorTable(L, "wrong number or type of arguments");
        return 1;
    }
    const char *err = lua_tostring(L, -1);
    if (err[0] != '-') {
        lua_pushfstring(L, "-%s", err);
        err = lua_tostring(L, -1);
    }
    luaPushErrorTable(L, err);
    return 1;
}

int luaRedisLog(lua_State *L) {
    int argc = lua_gettop(L);
    if (argc < 2) return raiseError(L, "redis.log() requires two arguments or more.");
    if (!lua_isnumber(L, 1)) return raiseError(L, "First argument must be a number (log level).");
    lua_Number lvl = lua_tonumber(L, 1);
    if (!(lvl > LL_DEBUG - 1 && lvl < LL_WARNING + 1)) return raiseError(L, "Invalid debug level.");
    int level = (int)lvl;
    /* the text is built by Lua first: nothing leaks if that fails */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int j = 2, first = 1; j <= argc; j++) {
        char buf[64];
        size_t len;
        const char *s;
        int t = lua_type(L, j);
        if (t == LUA_TNUMBER && !lua_isinteger(L, j)) {
            s = luaNumberToString51(lua_tonumber(L, j), buf, sizeof(buf));
            len = strlen(s);
        } else if (t == LUA_TSTRING || t == LUA_TNUMBER) {
            s = lua_tolstring(L, j, &len);
        } else {
            continue;
        }
        if (!first) luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, len);
        first = 0;
    }
    luaL_pushresult(&b);
    serverLog(level, "%s", lua_tostring(L, -1));
    return 0;
}

static int luaSetResp(lua_State *L) {
    scriptRunCtx *rctx = curr_run_ctx;
    if (!rctx) return raiseError(L, "redis.setresp can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raiseError(L, "redis.setresp() requires one argument.");
    lua_Number r = lua_tonumber(L, 1);
    if (r != 2 && r != 3) return raiseError(L, "RESP version must be 2 or 3.");
    rctx->c->resp = (int)r;
    return 0;
}

static int luaRedisSetReplCommand(lua_State *L) {
    if (!curr_run_ctx) return raiseError(L, "redis.set_repl can only be called inside a script invocation");
    if (lua_gettop(L) != 1) return raiseError(L, "redis.set_repl() requires two arguments.");
    lua_Number f = lua_tonumber(L, 1);
    if (!(f >= 0 && f <= (PROPAGATE_AOF | PROPAGATE_REPL)) || f != floor(f))
        return raiseError(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
    curr_run_ctx->repl_flags = (int)f; /* the writes after it reach replicas, or not */
    return 0;
}

static int luaRedisReplicateCommandsCommand(lua_State *L) {
    lua_pushboolean(L, 1);
    return 1;
}

static int luaRedisBreakpointCommand(lua_State *L) {
    lua_pushboolean(L, 0); /* no debugger */
    return 1;
}

static int luaRedisDebugCommand(lua_State *L) {
    (void)L;
    return 0;
}

static int luaRedisAclCheckCmdPermissionsCommand(lua_State *L) {
    if (!curr_run_ctx) return raiseError(L, "redis.acl_check_cmd can only be called inside a script invocation");
    int argc;
    sds *argv = luaArgsToArgv(L, &argc);
    if (!argv) return lua_error(L);
    redisCommand *cmd = lookupCommand(argv, argc);
    if (cmd && cmd->subcommands && argc >= 2) cmd = NULL;
    int pos = 0, allowed = cmd && aclCheckCommand(curr_run_ctx->caller->user, cmd, argv, argc, &pos) == ACL_OK;
    for (int j = 0; j < argc; j++) sdsfree(argv[j]);
    zfree(argv);
    if (!cmd) return raiseError(L, "Invalid command passed to redis.acl_check_cmd()");
    lua_pushboolean(L, allowed);
    return 1;
}

/* redis.LOG_* and REDIS_VERSION[_NUM] (and with repl the REPL_* of
 * redis.set_repl) into the table on top of the stack */
void luaSetRedisConstants(lua_State *L, int repl) {
    static const struct {
        const char *name;
        int value;
        int repl;
    } consts[] = {
        {"LOG_DEBUG", LL_DEBUG, 0},        {"LOG_VERBOSE", LL_VERBOSE, 0},          {"LOG_NOTICE", LL_NOTICE, 0},
        {"LOG_WARNING", LL_WARNING, 0},    {"REPL_NONE", 0, 1},                     {"REPL_AOF", PROPAGATE_AOF, 1},
        {"REPL_SLAVE", PROPAGATE_REPL, 1}, {"REPL_REPLICA", PROPAGATE_REPL, 1}, {"REPL_ALL", PROPAGATE_AOF | PROPAGATE_REPL, 1},
    };
    for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++) {
        if (consts[i].repl && !repl) continue;
        lua_pushinteger(L, consts[i].value);
        lua_setfield(L, -2, consts[i].name);
    }
    lua_pushstring(L, DREDIS_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    int major = 0, minor = 0, patch = 0;
    sscanf(DREDIS_VERSION, "%d.%d.%d", &major, &minor, &patch);
    lua_pushinteger(L, (major << 16) | (minor << 8) | patch);
    lua_setfield(L, -2, "REDIS_VERSION_NUM");
}

static void luaLoadRedisLib(lua_State *L, int functions) {
    static const luaL_Reg eval_only[] = {
        {"replicate_commands", luaRedisReplicateCommandsCommand},
        {"breakpoint", luaRedisBreakpointCommand},
        {"debug", luaRedisDebugCommand},
        {NULL, NULL},
    };
    static const luaL_Reg lib[] = {
        {"call", luaRedisCallCommand},
        {"pcall", luaRedisPCallCommand},
        {"log", luaRedisLog},
        {"setresp", luaSetResp},
        {"sha1hex", luaRedisSha1hexCommand},
        {"error_reply", luaRedisErrorReplyCommand},
        {"status_reply", luaRedisStatusReplyCommand},
        {"set_repl", luaRedisSetReplCommand},
        {"acl_check_cmd", luaRedisAclCheckCmdPermissionsCommand},
        {NULL, NULL},
    };
    luaL_newlib(L, lib);
    if (!functions) luaL_setfuncs(L, eval_only, 0);
    luaSetRedisConstants(L, 1);
    lua_setglobal(L, "redis");
}

/* ------------------------------------------------------------------------ */
/* The interpreter                                                           */
/* ------------------------------------------------------------------------ */

void luaSetGlobalArray(lua_State *L, const char *name, sds *elems, int count) {
    luaPushRealGlobals(L);
    if (elems) {
        lua_createtable(L, count, 0);
        for (int j = 0; j < count; j++) {
            lua_pushlstring(L, elems[j], sdslen(elems[j]));
            lua_rawseti(L, -2, j + 1);
        }
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Run lua/<name>.lua with the real globals and the internal helpers as its
 * arguments; leaves its first result on the stack. A failure here is a bug
 * in dredis. */
static void runEmbedded(lua_State *L, const char *name) {
    for (int i = 0; luaEmbeddedNames[i]; i++) {
        if (strcmp(luaEmbeddedNames[i], name) != 0) continue;
        char chunk[64];
        snprintf(chunk, sizeof(chunk), "=dredis:%s", name);
        if (luaL_loadbufferx(L, luaEmbeddedCode[i], luaEmbeddedLens[i], chunk, "t") != LUA_OK) {
            serverLog(LL_WARNING, "lua/%s.lua does not compile: %s", name, lua_tostring(L, -1));
            abort();
        }
        luaPushRealGlobals(L);
        luaPushInternalHelpers(L);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
            serverLog(LL_WARNING, "lua/%s.lua failed: %s", name, lua_tostring(L, -1));
            abort();
        }
        return;
    }
    serverLog(LL_WARNING, "lua/%s.lua is not built into this binary", name);
    abort();
}

lua_State *luaCreateInterpreter(int functions) {
    lua_State *L = lua_newstate(luaAlloc, &lua_mem_of[functions ? 1 : 0]);
    if (!L) {
        serverLog(LL_WARNING, "cannot create the Lua interpreter: out of memory");
        abort();
    }
    lua_atpanic(L, luaPanic);
    /* only the libraries Redis has: no io, os, package, debug, utf8 */
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    luaL_requiref(L, "cjson", luaopen_cjson, 1);
    luaL_requiref(L, "bit", luaopen_bit, 1);
    luaL_requiref(L, "struct", luaopen_struct, 1);
    lua_settop(L, 0);
    luaLoadMath51(L);
    luaLoadRedisLib(L, functions);
    luaInstallSandboxFunctions(L);
    runEmbedded(L, "cmsgpack");
    lua_setglobal(L, "cmsgpack");
    runEmbedded(L, "compat");
    lua_pop(L, 1);
    luaProtectGlobals(L);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return L;
}

void luaDestroyInterpreter(lua_State *L) { lua_close(L); }

/* The count hook: every 100000 instructions, and on every instruction once
 * the script is to be killed (so that pcall cannot hold it). */
void luaMaskCountHook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (scriptInterrupt() == SCRIPT_KILL) {
        lua_sethook(L, luaMaskCountHook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
        luaPushErrorTable(L, "Script killed by user with SCRIPT KILL...");
        lua_error(L);
    }
}
