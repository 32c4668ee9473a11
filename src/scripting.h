/* scripting.h - what the scripting modules share: the run context of the
 * script in execution, the Lua interpreter (script_lua.c: its creation, the
 * redis.* API, the conversions between Lua values and RESP), the sandbox
 * (script_sandbox.c: read-only globals and Lua 5.1 behaviour on top of 5.4),
 * the extra libraries (script_lua_libs.c: bit, struct, cjson, 5.1 math) and
 * the Lua sources built into the binary (the files in lua/, as generated C). */
#ifndef DREDIS_SCRIPTING_H
#define DREDIS_SCRIPTING_H

#include "server.h"
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* Script flags (from the run and from a "#!lua flags=..." shebang) */
#define SCRIPT_READ_ONLY (1 << 0)      /* EVAL_RO / EVALSHA_RO / no-writes */
#define SCRIPT_WRITE_DIRTY (1 << 1)    /* a write command was called */
#define SCRIPT_TIMEDOUT (1 << 2)       /* past DREDIS_LUA_TIME_LIMIT */
#define SCRIPT_KILLED (1 << 3)         /* SCRIPT KILL or SHUTDOWN NOSAVE */
#define SCRIPT_EVAL_MODE (1 << 4)      /* EVAL, not FCALL: SCRIPT KILL ends it, not FUNCTION KILL */
#define SCRIPT_ALLOW_OOM (1 << 5)      /* declared allow-oom: writes even over maxmemory */

/* Shebang flags kept with a cached script */
#define SCRIPT_FLAG_NO_WRITES (1ULL << 0)
#define SCRIPT_FLAG_ALLOW_OOM (1ULL << 1)
#define SCRIPT_FLAG_ALLOW_STALE (1ULL << 2)
#define SCRIPT_FLAG_NO_CLUSTER (1ULL << 3)
#define SCRIPT_FLAG_EVAL_COMPAT_MODE (1ULL << 4) /* no shebang */
/* 1 after replying READONLY: a script that may write, on a read-only replica */
int scriptRefusedBeforeRun(client *c, uint64_t script_flags);
#define SCRIPT_FLAG_ALLOW_CROSS_SLOT (1ULL << 5)

/* The flags' names, in Redis's order (FUNCTION LIST shows them so), NULL-ended */
typedef struct scriptFlagDef {
    const char *name;
    uint64_t flag;
} scriptFlagDef;
extern const scriptFlagDef scriptFlagDefs[];

typedef struct scriptRunCtx {
    client *caller;        /* the client that sent EVAL */
    client *c;             /* the fake client redis.call() runs commands on */
    const char *sha;       /* 40 hex digits: the script's name in errors */
    long long start_ms;
    int flags;             /* SCRIPT_* */
    int repl_flags;        /* redis.set_repl(): PROPAGATE_REPL when its writes reach replicas */
} scriptRunCtx;

/* redis.set_repl()'s flags, as Redis's (dredis has no AOF: REPL_AOF alone
 * sends nothing anywhere) */
#define PROPAGATE_AOF 1
#define PROPAGATE_REPL 2

/* The script in execution, NULL between scripts (scripting.c). */
extern scriptRunCtx *curr_run_ctx;

/* Called by the count hook: SCRIPT_KILL when the script must stop. */
#define SCRIPT_CONTINUE 0
#define SCRIPT_KILL 1
int scriptInterrupt(void);

/* ---- scripting.c, for FCALL (function.c) ---- */
/* Run the Lua function on top of L's stack with the nargs values pushed
 * after it for caller c, on script_client, and reply; name is what errors
 * and logs call it. run_flags: SCRIPT_READ_ONLY, SCRIPT_EVAL_MODE. */
void scriptRunFunction(client *c, lua_State *L, client *script_client, const char *name, int run_flags, int nargs);
/* A command's flags as a script with these SCRIPT_FLAG_* makes them */
uint64_t scriptFlagsToCmdFlags(uint64_t cmd_flags, uint64_t script_flags);
void scriptKill(client *c, int eval);
int scriptCheckNumkeys(client *c, long long numkeys); /* C_ERR after replying */ /* SCRIPT KILL (eval 1), FUNCTION KILL (0) */

/* ---- script_lua.c ---- */
/* An interpreter for EVAL, or (functions 1) for the libraries of FUNCTION
 * LOAD: no KEYS/ARGV, none of the redis.* that are EVAL's alone. */
lua_State *luaCreateInterpreter(int functions);
void luaDestroyInterpreter(lua_State *L);
/* The bytes an interpreter holds: EVAL's (0) or the functions' (1), as
 * INFO's used_memory_vm_eval and used_memory_vm_functions; the limit
 * DREDIS_LUA_MEMORY_LIMIT holds the two together. */
size_t luaInterpreterMemory(int functions);
void luaSetMemoryEnforced(int on);  /* apply DREDIS_LUA_MEMORY_LIMIT or not */
int luaErrorHandler(lua_State *L);  /* message handler for lua_pcall */
void luaPushErrorTable(lua_State *L, const char *err); /* {err="CODE msg"} */
/* Push the Lua value of the RESP reply in reply[0..len) (a command's reply
 * to redis.call(); resp3: it was read in RESP3). */
void luaPushRedisReply(lua_State *L, const char *reply, size_t len, int resp3);
/* Reply to c with the value on top of the stack (popped). */
void luaReplyToRedisReply(client *c, client *script_client, lua_State *L);
/* Reply to c for an error object on top of the stack (popped) after a
 * failed lua_pcall with status. */
void luaReplyWithError(client *c, lua_State *L, int status, const char *sha);
void luaSetGlobalArray(lua_State *L, const char *name, sds *elems, int count);
void luaMaskCountHook(lua_State *L, lua_Debug *ar);
int luaRedisLog(lua_State *L);                        /* redis.log */
void luaSetRedisConstants(lua_State *L, int repl);    /* redis.LOG_*, REDIS_VERSION[_NUM] (, REPL_*) */

/* ---- script_sandbox.c ---- */
void luaInstallSandboxFunctions(lua_State *L); /* 5.1 shims, before lua/ */
void luaProtectGlobals(lua_State *L);          /* read-only globals, last */
void luaPushRealGlobals(lua_State *L);         /* the table behind _G */
void luaPushInternalHelpers(lua_State *L);     /* {wrap=, raise=} for lua/ */
int luaIsReadonlyTable(lua_State *L, int idx); /* a library or _G proxy */
const char *luaNumberToString51(lua_Number n, char *buf, size_t len);
void luaRewriteError51(lua_State *L, int idx); /* 5.4 error wording -> 5.1 */
/* A read-only proxy of the table at idx whose unknown names are an error */
void luaPushStrictReadonly(lua_State *L, int idx);
/* Functions' globals: the ordinary ones, or while a library loads
 * (luaSetFunctionLoading(L, 1)) only the names of the table at api_idx */
void luaInstallFunctionGlobals(lua_State *L, int api_idx);
void luaSetFunctionLoading(lua_State *L, int loading);

/* ---- script_lua_libs.c ---- */
int luaopen_bit(lua_State *L);
int luaopen_struct(lua_State *L);
void luaLoadMath51(lua_State *L); /* 5.1 math functions and Redis's random */
int luaopen_cjson(lua_State *L);  /* lua-cjson (Debian package lua-cjson) */

/* ---- script_lua_sources.c (generated from the files in lua/) ---- */
extern const char *const luaEmbeddedNames[]; /* file names without ".lua"; NULL */
extern const char *const luaEmbeddedCode[];
extern const size_t luaEmbeddedLens[];

#endif
