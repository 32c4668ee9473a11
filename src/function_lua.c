/* function_lua.c - the Lua engine of FUNCTION LOAD and FCALL, as Redis
 * 7.0's function_lua.c behaves: one interpreter for every library (its
 * own, beside EVAL's), a library's top level run once at load time in a
 * context where only redis.register_function, redis.log, redis.LOG_* and
 * redis.REDIS_VERSION[_NUM] exist (and no other global), under a time limit
 * (FUNCTION LOAD timeout), and a registered function called with its keys
 * and arguments as two tables, in the run context of scripting.c. */
#include "function.h"
#include "scripting.h"
#include <string.h>
#include <strings.h>

#define LOAD_HOOK_INSTRUCTIONS 100000

static lua_State *flua;
static client *fclient;           /* the fake client functions' redis.call() runs on */
static functionLib *loading_lib;  /* the library whose top level runs, NULL otherwise */
static long long load_start, load_timeout;

static int luaRegisterFunction(lua_State *L);

/* The table a library's top level sees as its globals: redis = {...} */
static void pushLibraryApi(lua_State *L) {
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, 8);
    lua_pushcfunction(L, luaRegisterFunction);
    lua_setfield(L, -2, "register_function");
    lua_pushcfunction(L, luaRedisLog);
    lua_setfield(L, -2, "log");
    luaSetRedisConstants(L, 0);
    luaPushStrictReadonly(L, -1);
    lua_setfield(L, -3, "redis");
    lua_pop(L, 1);
}

static lua_State *getFunctionLua(void) {
    if (!flua) {
        flua = luaCreateInterpreter(1);
        pushLibraryApi(flua);
        luaInstallFunctionGlobals(flua, -1);
        lua_pop(flua, 1);
        fclient = createFakeClient();
    }
    return flua;
}


void luaEngineReleaseFunction(int ref) {
    if (flua) luaL_unref(flua, LUA_REGISTRYINDEX, ref);
}

/* ------------------------------------------------------------------------ */
/* redis.register_function                                                   */
/* ------------------------------------------------------------------------ */

static int raise(lua_State *L, const char *msg) {
    luaPushErrorTable(L, msg);
    return lua_error(L);
}

/* A string (or number) argument, copied; NULL for anything else. */
static sds stringArg(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TSTRING && lua_type(L, idx) != LUA_TNUMBER) return NULL;
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    return sdsnewlen(s, len);
}

/* flags={...}: the table at -1; C_ERR for an unknown flag */
static int readFlags(lua_State *L, uint64_t *out) {
    uint64_t flags = 0;
    for (lua_Integer j = 1;; j++) {
        lua_pushinteger(L, j);
        lua_rawget(L, -2);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        const char *s = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : NULL;
        int k = 0;
        if (s)
            for (; scriptFlagDefs[k].name; k++)
                if (!strcasecmp(scriptFlagDefs[k].name, s)) break;
        lua_pop(L, 1);
        if (!s || !scriptFlagDefs[k].name) return C_ERR;
        flags |= scriptFlagDefs[k].flag;
    }
    *out = flags;
    return C_OK;
}

typedef struct registerArgs {
    sds name, desc;
    uint64_t flags;
    int has_callback;          /* the callback is at stack index 2 */
} registerArgs;

static void freeRegisterArgs(registerArgs *a) {
    sdsfree(a->name);
    sdsfree(a->desc);
}

/* redis.register_function{function_name=, callback=, flags=, description=}:
 * the table is at index 1; the callback is moved to index 2. NULL or the
 * error text. */
static const char *readNamedArgs(lua_State *L, registerArgs *a) {
    if (!lua_istable(L, 1))
        return "calling redis.register_function with a single argument is only applicable to Lua table "
               "(representing named arguments).";
    lua_pushnil(L); /* index 2: the callback, once found */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        int kt = lua_type(L, -2);
        if (kt != LUA_TSTRING && kt != LUA_TNUMBER) return "named argument key given to redis.register_function is not a string";
        const char *key = kt == LUA_TSTRING ? lua_tostring(L, -2) : ""; /* a number: unknown */
        if (!strcasecmp(key, "function_name")) {
            sdsfree(a->name);
            if (!(a->name = stringArg(L, -1))) return "function_name argument given to redis.register_function must be a string";
        } else if (!strcasecmp(key, "description")) {
            sdsfree(a->desc);
            if (!(a->desc = stringArg(L, -1))) return "description argument given to redis.register_function must be a string";
        } else if (!strcasecmp(key, "callback")) {
            if (!lua_isfunction(L, -1)) return "callback argument given to redis.register_function must be a function";
            lua_pushvalue(L, -1);
            lua_replace(L, 2);
            a->has_callback = 1;
        } else if (!strcasecmp(key, "flags")) {
            if (!lua_istable(L, -1)) return "flags argument to redis.register_function must be a table representing function flags";
            if (readFlags(L, &a->flags) != C_OK) return "unknown flag given";
        } else {
            return "unknown argument given to redis.register_function";
        }
        lua_pop(L, 1);
    }
    if (!a->name) return "redis.register_function must get a function name argument";
    if (!a->has_callback) return "redis.register_function must get a callback argument";
    return NULL;
}

static const char *readPositionalArgs(lua_State *L, registerArgs *a) {
    if (!(a->name = stringArg(L, 1))) return "first argument to redis.register_function must be a string";
    if (!lua_isfunction(L, 2)) return "second argument to redis.register_function must be a function";
    a->has_callback = 1;
    return NULL;
}

static int luaRegisterFunction(lua_State *L) {
    functionLib *lib = loading_lib;
    if (!lib) return raise(L, "redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2) return raise(L, "wrong number of arguments to redis.register_function");
    registerArgs a = {0};
    const char *err = argc == 1 ? readNamedArgs(L, &a) : readPositionalArgs(L, &a);
    if (err) {
        freeRegisterArgs(&a);
        return raise(L, err);
    }
    /* from here nothing raises before the function is the library's or freed */
    lua_pushvalue(L, 2);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    sds why = NULL;
    if (functionLibAddFunction(lib, a.name, a.desc, a.flags, ref, &why) != C_OK) {
        luaL_unref(L, LUA_REGISTRYINDEX, ref);
        freeRegisterArgs(&a);
        luaPushErrorTable(L, why);
        sdsfree(why);
        return lua_error(L);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading a library                                                         */
/* ------------------------------------------------------------------------ */

static void loadHook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (load_timeout > 0 && mstime() - load_start > load_timeout) {
        lua_sethook(L, loadHook, LUA_MASKLINE | LUA_MASKCOUNT, 1); /* pcall cannot hold it */
        luaPushErrorTable(L, "FUNCTION LOAD timeout");
        lua_error(L);
    }
}

/* The text of the error object on top of the stack (popped). */
static sds loadErrorText(lua_State *L, int status) {
    sds msg;
    if (status == LUA_ERRMEM) {
        msg = sdscatprintf(sdsempty(), "not enough memory: the Lua interpreter may use at most %zu bytes "
                                       "(DREDIS_LUA_MEMORY_LIMIT)", server.lua_memory_limit);
    } else if (lua_istable(L, -1)) {
        lua_pushliteral(L, "err");
        lua_rawget(L, -2);
        const char *e = lua_tostring(L, -1);
        msg = sdsnew(e ? e : "ERR unknown error");
        lua_pop(L, 1);
    } else {
        const char *e = lua_tostring(L, -1);
        msg = sdsnew(e ? e : "ERR unknown error");
    }
    lua_pop(L, 1);
    return msg;
}

int luaEngineLoadLibrary(functionLib *lib, const char *body, size_t len, long long timeout_ms, sds *err) {
    lua_State *L = getFunctionLua();
    luaSetMemoryEnforced(1);
    int status = luaL_loadbufferx(L, body, len, "@user_function", "t");
    if (status != LUA_OK) {
        luaSetMemoryEnforced(0);
        luaRewriteError51(L, -1);
        const char *msg = lua_tostring(L, -1);
        *err = sdscatprintf(sdsempty(), "Error compiling function: %s", msg ? msg : "?");
        lua_pop(L, 1);
        lua_gc(L, LUA_GCCOLLECT, 0);
        return C_ERR;
    }
    lua_pushcfunction(L, luaErrorHandler);
    lua_insert(L, -2);
    loading_lib = lib;
    load_start = mstime();
    load_timeout = timeout_ms;
    luaSetFunctionLoading(L, 1);
    lua_sethook(L, loadHook, LUA_MASKCOUNT, LOAD_HOOK_INSTRUCTIONS);
    status = lua_pcall(L, 0, 0, -2);
    lua_sethook(L, NULL, 0, 0);
    luaSetFunctionLoading(L, 0);
    loading_lib = NULL;
    luaSetMemoryEnforced(0);
    if (status != LUA_OK) {
        sds msg = loadErrorText(L, status);
        *err = sdscatprintf(sdsempty(), "Error registering functions: %s", msg);
        sdsfree(msg);
    }
    lua_pop(L, 1); /* the error handler */
    lua_gc(L, LUA_GCRESTART, 0);
    if (status == LUA_ERRMEM) lua_gc(L, LUA_GCCOLLECT, 0);
    return status == LUA_OK ? C_OK : C_ERR;
}

/* ------------------------------------------------------------------------ */
/* Calling a function                                                        */
/* ------------------------------------------------------------------------ */

static void pushArray(lua_State *L, sds *elems, int count) {
    lua_createtable(L, count, 0);
    for (int j = 0; j < count; j++) {
        lua_pushlstring(L, elems[j], sdslen(elems[j]));
        lua_rawseti(L, -2, j + 1);
    }
}

void luaEngineCall(client *c, functionInfo *fi, int ro, sds *keys, int nkeys, sds *args, int nargs) {
    lua_State *L = getFunctionLua();
    int run_flags = ro || (fi->flags & SCRIPT_FLAG_NO_WRITES) ? SCRIPT_READ_ONLY : 0;
    if (fi->flags & SCRIPT_FLAG_ALLOW_OOM) run_flags |= SCRIPT_ALLOW_OOM;
    lua_rawgeti(L, LUA_REGISTRYINDEX, fi->ref);
    pushArray(L, keys, nkeys);
    pushArray(L, args, nargs);
    scriptRunFunction(c, L, fclient, fi->name, run_flags, 2);
}
