/* script_sandbox.c - what keeps a script in its box and makes Lua 5.4 look
 * like Redis's Lua 5.1 where 5.4 behaves differently in C:
 *
 * - Read-only globals. _G and every library table a script can reach are
 *   empty proxies over the real tables: a write raises "Attempt to modify a
 *   readonly table", reading an unknown global raises "Script attempted to
 *   access nonexistent global variable '...'" (Redis 7.0's texts). rawset,
 *   rawget, next, setmetatable, getmetatable and pairs see through proxies
 *   without ever handing out the real tables.
 * - No finalizers: a __gc in a metatable is ignored, as tables had none in
 *   5.1, so no script code can run outside a script's time and memory limits.
 * - 5.1 behaviour: tostring of floats ("%.14g", 5.0 is "5"), error() adding
 *   the position to numbers, load() taking only functions, loadstring() for
 *   text (compiled code is refused), gcinfo(), and pcall() turning an error
 *   table into its err string as Redis's pcall does. */
#include "scripting.h"
#include <string.h>
#include <stdio.h>

#define REG_GLOBALS "dredis:globals"   /* the real globals table */
#define REG_PROXIES "dredis:proxies"   /* weak: proxy -> real table */
#define REG_GMETA "dredis:gmeta"       /* read-only view of _G's metatable */
#define REG_FMETA "dredis:fmeta"       /* the metatable of the functions' globals */
#define REG_FRUN "dredis:frun"         /* what they show while a function runs */
#define REG_FLOAD "dredis:fload"       /* ... and while a library loads */

const char *luaNumberToString51(lua_Number n, char *buf, size_t len) {
    snprintf(buf, len, "%.14g", (double)n);
    return buf;
}

void luaPushRealGlobals(lua_State *L) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_GLOBALS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    }
}

/* If the value at idx is a proxy, push the real table and return 1. */
static int pushProxyTarget(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, LUA_REGISTRYINDEX, REG_PROXIES) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushvalue(L, idx);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 2);
        return 0;
    }
    lua_remove(L, -2);
    return 1;
}

int luaIsReadonlyTable(lua_State *L, int idx) {
    if (!pushProxyTarget(L, idx)) return 0;
    lua_pop(L, 1);
    return 1;
}

static int readonlyError(lua_State *L) {
    lua_pushliteral(L, "Attempt to modify a readonly table");
    return lua_error(L);
}

/* __newindex of a proxy: the error names the script line */
static int proxyNewIndex(lua_State *L) { return luaL_error(L, "Attempt to modify a readonly table"); }

static int proxyNext(lua_State *L) {
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1))) return 2;
    lua_pushnil(L);
    return 1;
}

/* pairs(proxy): iterate the real table without handing it out */
static int proxyPairs(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, proxyNext, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int proxyLen(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

/* Push a read-only proxy of the table at idx. */
static void pushProxy(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, proxyNewIndex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, proxyPairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, proxyLen, 1);
    lua_setfield(L, -2, "__len");
    lua_setmetatable(L, -2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROXIES);
    lua_pushvalue(L, -2);
    lua_pushvalue(L, idx);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* __index of the real globals: unknown names are an error for script code
 * (C code reading a global just gets nil, as in Redis). */
static int nonexistentGlobal(lua_State *L) {
    lua_Debug ar;
    if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "S", &ar) && strcmp(ar.what, "C") != 0)
        return luaL_error(L, "Script attempted to access nonexistent global variable '%s'", luaL_tolstring(L, 2, NULL));
    lua_pushnil(L);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Functions that see through proxies                                        */
/* ------------------------------------------------------------------------ */

static int sbRawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (pushProxyTarget(L, 1)) return readonlyError(L);
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 1;
}

static int sbRawget(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    lua_settop(L, 2);
    if (pushProxyTarget(L, 1)) lua_replace(L, 1);
    lua_rawget(L, 1);
    return 1;
}

static int sbNext(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    if (pushProxyTarget(L, 1)) {
        lua_replace(L, 1);
        if (lua_next(L, 1)) return 2;
        lua_pushnil(L);
        return 1;
    }
    if (lua_next(L, 1)) return 2;
    lua_pushnil(L);
    return 1;
}

static int sbSetmetatable(lua_State *L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (pushProxyTarget(L, 1)) return readonlyError(L);
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    /* A table is registered for finalization only if its metatable has a
     * __gc when set: hide it for the moment so that none is. */
    int gc = 0;
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) {
            gc = lua_gettop(L);
            lua_pushliteral(L, "__gc");
            lua_pushnil(L);
            lua_rawset(L, 2);
        }
    }
    lua_pushvalue(L, 2);
    lua_setmetatable(L, 1);
    if (gc) {
        lua_pushliteral(L, "__gc");
        lua_pushvalue(L, gc);
        lua_rawset(L, 2);
    }
    lua_settop(L, 1);
    return 1;
}

static int sbGetmetatable(lua_State *L) {
    luaL_checkany(L, 1);
    if (pushProxyTarget(L, 1)) {
        /* only _G's real table has a metatable: show a read-only view */
        if (!lua_getmetatable(L, -1)) {
            lua_pushnil(L);
            return 1;
        }
        lua_getfield(L, LUA_REGISTRYINDEX, REG_GMETA);
        return 1;
    }
    if (!lua_getmetatable(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    luaL_getmetafield(L, 1, "__metatable");
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Lua 5.1 behaviour                                                         */
/* ------------------------------------------------------------------------ */

/* Lua 5.4 says "attempt to index a nil value (local 't')" where 5.1 says
 * "attempt to index local 't' (a nil value)", and "near <eof>" where 5.1
 * says "near '<eof>'": rewrite the string at idx in 5.1's words. */
void luaRewriteError51(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TSTRING) return;
    idx = lua_absindex(L, idx);
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    const char *eof = strstr(s, " near <eof>");
    if (eof && eof[11] == '\0') {
        lua_pushfstring(L, "%s near '<eof>'", lua_pushlstring(L, s, (size_t)(eof - s)));
        lua_replace(L, idx);
        lua_pop(L, 1);
        return;
    }
    const char *attempt = strstr(s, "attempt to ");
    const char *val = NULL;
    for (const char *p = attempt; p && (p = strstr(p, " value (")) != NULL; p++) val = p;
    if (!attempt || !val || len < 2 || s[len - 1] != ')' || s[len - 2] != '\'') return;
    const char *a = NULL; /* the " a " before the type */
    for (const char *p = attempt; p < val; p++)
        if (!strncmp(p, " a ", 3)) a = p;
    if (!a) return;
    const char *type = a + 3, *kind = val + 8;
    if (memchr(type, ' ', (size_t)(val - type))) return;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, s, (size_t)(a - s));
    luaL_addchar(&b, ' ');
    luaL_addlstring(&b, kind, (size_t)(s + len - 1 - kind));
    luaL_addstring(&b, " (a ");
    luaL_addlstring(&b, type, (size_t)(val - type));
    luaL_addstring(&b, " value)");
    luaL_pushresult(&b);
    lua_replace(L, idx);
}

static int sbTostring(lua_State *L) {
    luaL_checkany(L, 1);
    if (lua_type(L, 1) == LUA_TNUMBER && !lua_isinteger(L, 1)) {
        char buf[64];
        lua_pushstring(L, luaNumberToString51(lua_tonumber(L, 1), buf, sizeof(buf)));
        return 1;
    }
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* error(msg [, level]): 5.1 adds the position to numbers too */
static int sbError(lua_State *L) {
    lua_Number lvl = luaL_optnumber(L, 2, 1);
    int level = lvl > 100 ? 100 : lvl < -1 ? -1 : (int)lvl;
    lua_settop(L, 1);
    int t = lua_type(L, 1);
    if ((t == LUA_TSTRING || t == LUA_TNUMBER) && level > 0) {
        if (t == LUA_TNUMBER) {
            char buf[64];
            if (lua_isinteger(L, 1)) lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, 1));
            else lua_pushstring(L, luaNumberToString51(lua_tonumber(L, 1), buf, sizeof(buf)));
            lua_replace(L, 1);
        }
        luaL_where(L, level);
        lua_pushvalue(L, 1);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

/* Redis's pcall: an error table becomes its err string. */
static int sbPcall(lua_State *L) {
    luaL_checkany(L, 1);
    int argc = lua_gettop(L);
    lua_pushboolean(L, 1);
    lua_insert(L, 1);
    if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != LUA_OK) {
        lua_remove(L, 1);
        luaRewriteError51(L, -1);
        if (lua_istable(L, -1)) {
            lua_pushliteral(L, "err");
            lua_rawget(L, -2);
            if (lua_isstring(L, -1)) lua_replace(L, -2);
            else lua_pop(L, 1);
        }
        lua_pushboolean(L, 0);
        lua_insert(L, 1);
    }
    return lua_gettop(L);
}

/* load(func [, chunkname]): 5.1 takes only a reader function */
static int sbLoad(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    const char *name = luaL_optstring(L, 2, "=(load)");
    int base = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushstring(L, name);
    lua_pushliteral(L, "t");
    lua_call(L, 3, LUA_MULTRET);
    return lua_gettop(L) - base;
}

/* loadstring(s [, chunkname]): text only; compiled chunks are refused */
static int sbLoadstring(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, s);
    if (luaL_loadbufferx(L, s, len, name, "t") == LUA_OK) return 1;
    luaRewriteError51(L, -1);
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

/* ------------------------------------------------------------------------ */
/* Helpers for the files in lua/                                             */
/* ------------------------------------------------------------------------ */

static int frameIsInternal51(lua_Debug *ar) { return !strcmp(ar->what, "C") || !strncmp(ar->source, "=dredis:", 8); }

/* A function of lua/ as a C function: C functions are never tail-called,
 * so the script's frame stays on the stack for error positions, as with
 * Redis's C libraries. */
static int internalTrampoline(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static int internalWrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_pushcclosure(L, internalTrampoline, 1);
    return 1;
}

/* raise(msg): an error at the script line that called into lua/ (as
 * luaL_error in a C library would report it) */
static int internalRaise(lua_State *L) {
    lua_settop(L, 1);
    if (lua_type(L, 1) == LUA_TSTRING) {
        lua_Debug ar;
        for (int level = 1; lua_getstack(L, level, &ar); level++) {
            lua_getinfo(L, "Sl", &ar);
            if (frameIsInternal51(&ar)) continue;
            if (ar.currentline > 0) {
                lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
                lua_insert(L, 1);
                lua_concat(L, 2);
            }
            break;
        }
    }
    return lua_error(L);
}

void luaPushInternalHelpers(lua_State *L) {
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, internalWrap);
    lua_setfield(L, -2, "wrap");
    lua_pushcfunction(L, internalRaise);
    lua_setfield(L, -2, "raise");
}

static int sbGcinfo(lua_State *L) {
    lua_pushinteger(L, lua_gc(L, LUA_GCCOUNT, 0));
    return 1;
}

void luaInstallSandboxFunctions(lua_State *L) {
    lua_pushglobaltable(L);
    lua_getfield(L, -1, "load");
    lua_pushcclosure(L, sbLoad, 1);
    lua_setfield(L, -2, "load");
    static const luaL_Reg fns[] = {
        {"tostring", sbTostring},     {"error", sbError},   {"pcall", sbPcall},
        {"loadstring", sbLoadstring}, {"gcinfo", sbGcinfo}, {"rawset", sbRawset},
        {"rawget", sbRawget},         {"next", sbNext},     {"setmetatable", sbSetmetatable},
        {"getmetatable", sbGetmetatable}, {"__redis__err__handler", luaErrorHandler}, {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 1);
}

/* Make the globals read-only, as the last step of building the interpreter:
 * from here on scripts (compiled with the registry's globals as _ENV) see
 * only proxies. */
void luaProtectGlobals(lua_State *L) {
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_PROXIES);

    lua_pushglobaltable(L);
    int g = lua_gettop(L);
    lua_pushvalue(L, g);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_GLOBALS);

    /* every library table becomes a proxy */
    lua_pushnil(L);
    while (lua_next(L, g)) {
        if (lua_type(L, -1) == LUA_TTABLE && !lua_rawequal(L, -1, g)) {
            pushProxy(L, -1);
            lua_pushvalue(L, -3);
            lua_insert(L, -2);
            lua_rawset(L, g); /* replacing an existing key's value is allowed while iterating */
        }
        lua_pop(L, 1);
    }

    /* strings index the read-only string library; their metatable is seen
     * through a read-only view */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    int smt = lua_gettop(L);
    lua_getfield(L, g, "string");
    lua_setfield(L, smt, "__index");
    pushProxy(L, smt);
    lua_setfield(L, smt, "__metatable");
    lua_pop(L, 2);

    /* the real globals: unknown names are an error */
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, nonexistentGlobal);
    lua_setfield(L, -2, "__index");
    pushProxy(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_GMETA);
    lua_setmetatable(L, g);

    /* _G and the globals of every script compiled from now on: the proxy */
    pushProxy(L, g);
    lua_pushvalue(L, -1);
    lua_setfield(L, g, "_G");
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pop(L, 1);
}

/* ------------------------------------------------------------------------ */
/* The globals of function libraries                                         */
/* ------------------------------------------------------------------------ */

void luaPushStrictReadonly(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, nonexistentGlobal);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, idx);
    pushProxy(L, idx);
}

/* As Redis 7.0's function engine: the globals every chunk compiled from
 * now on sees are one read-only table whose lookups go to the ordinary
 * globals while a function runs and to the library API (the table at
 * api_idx) while a library's top level runs: the functions a library
 * defines keep that table as their environment, so they find the
 * ordinary globals when they are called. After luaProtectGlobals(). */
void luaInstallFunctionGlobals(lua_State *L, int api_idx) {
    luaPushStrictReadonly(L, api_idx);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FLOAD);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS); /* the proxy of the real globals */
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FRUN);

    lua_newtable(L);
    int fg = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FRUN);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, proxyNewIndex);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_FMETA);
    lua_setmetatable(L, fg);
    /* a proxy of the real globals for rawset, rawget, next, getmetatable */
    lua_getfield(L, LUA_REGISTRYINDEX, REG_PROXIES);
    lua_pushvalue(L, fg);
    luaPushRealGlobals(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
}

void luaSetFunctionLoading(lua_State *L, int loading) {
    lua_getfield(L, LUA_REGISTRYINDEX, REG_FMETA);
    lua_getfield(L, LUA_REGISTRYINDEX, loading ? REG_FLOAD : REG_FRUN);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
