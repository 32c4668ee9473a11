/* function.h - what the function modules share: a library and its
 * functions (function.c keeps the registry of libraries and the FUNCTION
 * and FCALL commands) and the Lua engine that loads libraries and runs
 * their functions (function_lua.c). */
#ifndef DREDIS_FUNCTION_H
#define DREDIS_FUNCTION_H

#include "server.h"

typedef struct functionInfo {
    sds name;
    sds desc;                  /* NULL: none given */
    uint64_t flags;            /* SCRIPT_FLAG_* */
    int ref;                   /* the callback, in the engine's Lua registry */
    struct functionLib *lib;
} functionInfo;

typedef struct functionLib {
    sds name;
    sds code;                  /* as loaded: the "#!lua name=..." line and the Lua code */
    functionInfo **funcs;
    int nfuncs;
} functionLib;

/* ---- function.c ---- */
/* redis.register_function: add a function to the library being loaded;
 * takes name and desc. C_ERR with *err (and nothing taken) when refused. */
int functionLibAddFunction(functionLib *lib, sds name, sds desc, uint64_t flags, int ref, sds *err);

/* ---- function_lua.c ---- */
/* Run a library's code (body: what follows its shebang line, from that
 * line's newline on) in the loading context, adding what it registers to
 * lib; timeout_ms 0: no limit. C_ERR with *err. */
int luaEngineLoadLibrary(functionLib *lib, const char *body, size_t len, long long timeout_ms, sds *err);
/* FCALL: run fi with its keys and arguments for c, and reply. */
void luaEngineCall(client *c, functionInfo *fi, int ro, sds *keys, int nkeys, sds *args, int nargs);
void luaEngineReleaseFunction(int ref);

#endif
