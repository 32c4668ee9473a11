/* function.c - Redis 7.0's functions: the registry of the libraries that
 * FUNCTION LOAD made (each a name, its code and the functions its top
 * level registered), their persistence in the store (one file a library,
 * ROOT_DIR/.functions/, see docs/storage-format.md), the FUNCTION
 * subcommands (LOAD, DELETE, FLUSH, LIST, STATS, DUMP, RESTORE, KILL,
 * HELP), FCALL and FCALL_RO, and the libraries' way in from RDB files.
 *
 * Every change is made on disk first, inside the command's store
 * transaction, and in memory only once the disk has it: a command that
 * fails leaves both as they were. The Lua side (loading a library, running
 * a function) is function_lua.c's. */
#include "function.h"
#include "scripting.h"
#include "rdb.h"
#include "dict.h"
#include "util.h"
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#define LOAD_TIMEOUT_MS 500
#define ENGINE_NAME "LUA"

static functionLib **libs; /* sorted by name */
static int nlibs;
static dict *funcs;        /* folded (lower-case) function name -> functionInfo */
static long long nfuncs;

/* ------------------------------------------------------------------------ */
/* Libraries                                                                 */
/* ------------------------------------------------------------------------ */

static sds foldName(const char *s, size_t len) {
    sds f = sdsnewlen(s, len);
    for (size_t i = 0; i < len; i++) f[i] = (char)tolower((unsigned char)f[i]);
    return f;
}

/* [a-zA-Z0-9_]+, for library and function names alike */
static int nameIsValid(const char *s, size_t len) {
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

static const char *invalidNameError =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

static functionLib *libraryNew(sds name, const char *code, size_t len) {
    functionLib *lib = zcalloc(sizeof(*lib));
    lib->name = name;
    lib->code = sdsnewlen(code, len);
    return lib;
}

static void libraryFree(functionLib *lib) {
    if (!lib) return;
    for (int i = 0; i < lib->nfuncs; i++) {
        functionInfo *fi = lib->funcs[i];
        luaEngineReleaseFunction(fi->ref);
        sdsfree(fi->name);
        sdsfree(fi->desc);
        zfree(fi);
    }
    zfree(lib->funcs);
    sdsfree(lib->name);
    sdsfree(lib->code);
    zfree(lib);
}

int functionLibAddFunction(functionLib *lib, sds name, sds desc, uint64_t flags, int ref, sds *err) {
    if (!nameIsValid(name, sdslen(name))) {
        *err = sdsnew(invalidNameError);
        return C_ERR;
    }
    for (int i = 0; i < lib->nfuncs; i++) {
        if (!strcmp(lib->funcs[i]->name, name)) {
            *err = sdsnew("Function already exists in the library");
            return C_ERR;
        }
    }
    functionInfo *fi = zcalloc(sizeof(*fi));
    *fi = (functionInfo){.name = name, .desc = desc, .flags = flags, .ref = ref, .lib = lib};
    lib->funcs = zrealloc(lib->funcs, sizeof(*lib->funcs) * (size_t)(lib->nfuncs + 1));
    lib->funcs[lib->nfuncs++] = fi;
    return C_OK;
}

/* The library's name and where its Lua code starts (at the shebang line's
 * newline, so that line numbers are right), as Redis's
 * functionExtractLibMetaData. */
static int parseLibraryHeader(const char *code, size_t len, sds *name, size_t *body, sds *err) {
    *name = NULL;
    if (len < 2 || memcmp(code, "#!", 2) != 0) {
        *err = sdsnew("Missing library metadata");
        return C_ERR;
    }
    const char *nl = memchr(code, '\n', len);
    int n = 0;
    sds *parts = nl ? sdssplitargs(code, (size_t)(nl - code), &n) : NULL;
    if (!parts || n == 0) {
        if (parts) sdsfreesplitres(parts, n);
        *err = sdsnew("Invalid library metadata");
        return C_ERR;
    }
    for (int i = 1; i < n; i++) {
        if (!strncasecmp(parts[i], "name=", 5)) {
            if (*name) {
                *err = sdsnew("Invalid metadata value, name argument was given multiple times");
                goto error;
            }
            *name = sdsnewlen(parts[i] + 5, sdslen(parts[i]) - 5);
            continue;
        }
        *err = sdscatprintf(sdsempty(), "Invalid metadata value given: %s", parts[i]);
        goto error;
    }
    if (!*name) {
        *err = sdsnew("Library name was not given");
        goto error;
    }
    if (!nameIsValid(*name, sdslen(*name))) {
        *err = sdsnew(invalidNameError);
        goto error;
    }
    if (strcasecmp(parts[0] + 2, ENGINE_NAME) != 0) {
        *err = sdscatprintf(sdsempty(), "Engine '%s' not found", parts[0] + 2);
        goto error;
    }
    sdsfreesplitres(parts, n);
    *body = (size_t)(nl - code);
    return C_OK;
error:
    sdsfreesplitres(parts, n);
    sdsfree(*name);
    *name = NULL;
    return C_ERR;
}

/* ------------------------------------------------------------------------ */
/* The registry                                                              */
/* ------------------------------------------------------------------------ */

/* The index of the library called name, or where it would go (-pos - 1). */
static int librarySlot(const char *name, size_t len) {
    int lo = 0, hi = nlibs - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        size_t ml = sdslen(libs[mid]->name);
        int c = memcmp(libs[mid]->name, name, ml < len ? ml : len);
        if (c == 0) c = ml < len ? -1 : ml > len ? 1 : 0;
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -lo - 1;
}

static functionLib *libraryFind(const char *name, size_t len) {
    int slot = librarySlot(name, len);
    return slot >= 0 ? libs[slot] : NULL;
}

static functionInfo *functionFind(const char *name, size_t len) {
    if (!funcs) return NULL;
    sds f = foldName(name, len);
    functionInfo *fi = dictFetch(funcs, f, sdslen(f));
    sdsfree(f);
    return fi;
}

static void registryLink(functionLib *lib) {
    int slot = -librarySlot(lib->name, sdslen(lib->name)) - 1;
    libs = zrealloc(libs, sizeof(*libs) * (size_t)(nlibs + 1));
    memmove(libs + slot + 1, libs + slot, sizeof(*libs) * (size_t)(nlibs - slot));
    libs[slot] = lib;
    nlibs++;
    if (!funcs) funcs = dictCreate();
    for (int i = 0; i < lib->nfuncs; i++) {
        sds f = foldName(lib->funcs[i]->name, sdslen(lib->funcs[i]->name));
        if (dictAdd(funcs, f, sdslen(f), lib->funcs[i])) nfuncs++;
        sdsfree(f);
    }
}

static void registryUnlink(functionLib *lib) {
    int slot = librarySlot(lib->name, sdslen(lib->name));
    if (slot < 0 || libs[slot] != lib) return;
    memmove(libs + slot, libs + slot + 1, sizeof(*libs) * (size_t)(nlibs - slot - 1));
    nlibs--;
    for (int i = 0; i < lib->nfuncs; i++) {
        sds f = foldName(lib->funcs[i]->name, sdslen(lib->funcs[i]->name));
        if (dictFetch(funcs, f, sdslen(f)) == lib->funcs[i]) {
            dictDelete(funcs, f, sdslen(f));
            nfuncs--;
        }
        sdsfree(f);
    }
}

/* A function of lib that another linked library has already. */
static int registryCollision(functionLib *lib, sds *err) {
    for (int i = 0; i < lib->nfuncs; i++) {
        if (functionFind(lib->funcs[i]->name, sdslen(lib->funcs[i]->name))) {
            *err = sdscatprintf(sdsempty(), "Function %s already exists", lib->funcs[i]->name);
            return 1;
        }
    }
    return 0;
}

/* Compile code into a new library, not linked; NULL with *err. */
static functionLib *libraryCreate(const char *code, size_t len, long long timeout_ms, sds *err) {
    sds name;
    size_t body;
    if (parseLibraryHeader(code, len, &name, &body, err) != C_OK) return NULL;
    functionLib *lib = libraryNew(name, code, len);
    if (luaEngineLoadLibrary(lib, code + body, len - body, timeout_ms, err) != C_OK) {
        libraryFree(lib);
        return NULL;
    }
    if (lib->nfuncs == 0) {
        *err = sdsnew("No functions registered");
        libraryFree(lib);
        return NULL;
    }
    return lib;
}

/* ------------------------------------------------------------------------ */
/* Changes, on disk then in memory                                           */
/* ------------------------------------------------------------------------ */

/* Add lib (compiled, not linked), in place of the library of its name
 * when replace. C_ERR with *err (lib freed); *ioerr is an errno when the
 * store failed, 0 otherwise. */
static int libraryInstall(functionLib *lib, int replace, sds *err, int *ioerr) {
    *ioerr = 0;
    functionLib *old = libraryFind(lib->name, sdslen(lib->name));
    if (old && !replace) {
        *err = sdscatprintf(sdsempty(), "Library '%s' already exists", lib->name);
        libraryFree(lib);
        return C_ERR;
    }
    if (old) registryUnlink(old);
    if (registryCollision(lib, err)) {
        if (old) registryLink(old);
        libraryFree(lib);
        return C_ERR;
    }
    if (storeWriteLibrary(lib->name, sdslen(lib->name), lib->code, sdslen(lib->code)) != STORE_OK) {
        *ioerr = errno;
        if (old) registryLink(old);
        libraryFree(lib);
        return C_ERR;
    }
    registryLink(lib);
    libraryFree(old);
    return C_OK;
}

static int libraryRemove(functionLib *lib) {
    if (storeRemoveLibrary(lib->name, sdslen(lib->name)) != STORE_OK) return C_ERR;
    registryUnlink(lib);
    libraryFree(lib);
    return C_OK;
}

/* Every library's file removed; memory keeps them until the command has
 * made all its changes on disk (on a failure, the command's rollback
 * brings the files back). */
static int librariesRemoveFiles(void) {
    for (int i = 0; i < nlibs; i++)
        if (storeRemoveLibrary(libs[i]->name, sdslen(libs[i]->name)) != STORE_OK) return C_ERR;
    return C_OK;
}

static void librariesDropMemory(void) {
    while (nlibs > 0) {
        functionLib *lib = libs[nlibs - 1];
        registryUnlink(lib);
        libraryFree(lib);
    }
}

/* ------------------------------------------------------------------------ */
/* Start-up, full syncs, RDB files                                           */
/* ------------------------------------------------------------------------ */

static int loadStoredLibrary(void *ud, const char *fname, const char *code, size_t len) {
    sds *err = ud, why = NULL;
    functionLib *lib = libraryCreate(code, len, 0, &why);
    if (lib && (libraryFind(lib->name, sdslen(lib->name)) || registryCollision(lib, &why))) {
        if (!why) why = sdscatprintf(sdsempty(), "Library '%s' already exists", lib->name);
        libraryFree(lib);
        lib = NULL;
    }
    if (!lib) {
        *err = sdscatprintf(sdsempty(), "the function library in .functions/%s does not load: %s", fname, why);
        sdsfree(why);
        return 1;
    }
    registryLink(lib);
    return 0;
}

int functionsLoadFromStore(sds *err) {
    *err = NULL;
    librariesDropMemory();
    if (storeReadLibraries(loadStoredLibrary, err) != STORE_OK) {
        if (!*err) *err = sdscatprintf(sdsempty(), "cannot read the function libraries (.functions): %s", strerror(errno));
        librariesDropMemory();
        return C_ERR;
    }
    if (nlibs) serverLog(LL_NOTICE, "Loaded %d function libraries (%lld functions)", nlibs, nfuncs);
    return C_OK;
}

int functionsLibraryCount(void) { return nlibs; }

int functionsLoadAtStartup(void) {
    sds err = NULL;
    if (functionsLoadFromStore(&err) == C_OK) return C_OK;
    /* as Redis, which does not start when a library does not load */
    fprintf(stderr, "dredis: fatal: %s\n", err);
    sdsfree(err);
    return C_ERR;
}

int functionsLoadLibraryCode(const char *code, size_t len, sds *err) {
    *err = NULL;
    functionLib *lib = libraryCreate(code, len, 0, err);
    if (!lib) return C_ERR;
    int ioerr;
    storeTxnBegin();
    int rc = libraryInstall(lib, 0, err, &ioerr);
    if (rc != C_OK && ioerr) {
        *err = sdscatprintf(sdsempty(), "cannot store a function library: %s", strerror(ioerr));
        storeTxnFail();
    }
    storeTxnEnd();
    return rc;
}

void functionsDeleteLibrary(const char *name, size_t len) {
    functionLib *lib = libraryFind(name, len);
    if (!lib) return;
    storeTxnBegin();
    if (libraryRemove(lib) != C_OK) storeTxnFail();
    storeTxnEnd();
}

/* What the registry holds outside the interpreter (Redis's
 * used_memory_functions): each library's name, code and functions. */
size_t functionsCacheMemory(void) {
    size_t n = sizeof(*libs) * (size_t)nlibs;
    for (int i = 0; i < nlibs; i++) {
        functionLib *lib = libs[i];
        n += sizeof(*lib) + sdslen(lib->name) + sdslen(lib->code) + sizeof(*lib->funcs) * (size_t)lib->nfuncs;
        for (int j = 0; j < lib->nfuncs; j++)
            n += sizeof(*lib->funcs[j]) + sdslen(lib->funcs[j]->name) +
                 (lib->funcs[j]->desc ? sdslen(lib->funcs[j]->desc) : 0);
    }
    return n;
}

sds genFunctionsMemoryInfo(sds info) {
    return sdscatprintf(info,
                        "number_of_functions:%lld\r\n"
                        "number_of_libraries:%d\r\n"
                        "used_memory_vm_functions:%zu\r\n",
                        nfuncs, nlibs, luaInterpreterMemory(1));
}

/* ------------------------------------------------------------------------ */
/* FCALL, FCALL_RO                                                           */
/* ------------------------------------------------------------------------ */

static void fcallGeneric(client *c, int ro) {
    /* monitors see the call before the commands it runs */
    feedMonitors(c, c->argc, c->argv);
    preventCommandPropagation(c); /* replicas get the commands it runs */
    functionInfo *fi = functionFind(c->argv[1], sdslen(c->argv[1]));
    if (!fi) {
        addReplyError(c, "ERR Function not found");
        return;
    }
    long long numkeys;
    if (!string2ll(c->argv[2], sdslen(c->argv[2]), &numkeys)) {
        addReplyError(c, "ERR Bad number of keys provided");
        return;
    }
    if (scriptCheckNumkeys(c, numkeys) != C_OK) return;
    if (ro && !(fi->flags & SCRIPT_FLAG_NO_WRITES)) {
        addReplyError(c, "ERR Can not execute a script with write flag using *_ro command.");
        return;
    }
    if (scriptRefusedBeforeRun(c, fi->flags)) return;
    luaEngineCall(c, fi, ro, c->argv + 3, (int)numkeys, c->argv + 3 + numkeys, c->argc - 3 - (int)numkeys);
}

static void fcallCommand(client *c) { fcallGeneric(c, 0); }
static void fcallRoCommand(client *c) { fcallGeneric(c, 1); }

uint64_t fcallCommandFlags(client *c, redisCommand *cmd) {
    if ((cmd->proc != fcallCommand && cmd->proc != fcallRoCommand) || c->argc < 2) return cmd->flags;
    functionInfo *fi = functionFind(c->argv[1], sdslen(c->argv[1]));
    return fi ? scriptFlagsToCmdFlags(cmd->flags, fi->flags) : cmd->flags;
}

/* ------------------------------------------------------------------------ */
/* FUNCTION LOAD, DELETE, FLUSH                                              */
/* ------------------------------------------------------------------------ */

static void replyChangeFailed(client *c, sds err, int ioerr) {
    if (ioerr) {
        addReplyErrorIO(c, ioerr);
        sdsfree(err);
        return;
    }
    addReplyErrorFormat(c, "ERR %s", err);
    sdsfree(err);
}

static void functionLoadCommand(client *c) {
    int replace = 0, pos = 2;
    for (; pos < c->argc - 1; pos++) {
        if (strcasecmp(c->argv[pos], "replace") != 0) {
            addReplyErrorFormat(c, "ERR Unknown option given: %s", c->argv[pos]);
            return;
        }
        replace = 1;
    }
    sds err = NULL, code = c->argv[pos];
    /* our master's libraries load whatever time they take, as in Redis */
    long long timeout = (c->flags & CLIENT_MASTER) ? 0 : LOAD_TIMEOUT_MS;
    sds name;
    size_t body;
    /* an existing library is refused before its replacement is compiled */
    if (parseLibraryHeader(code, sdslen(code), &name, &body, &err) != C_OK) {
        replyChangeFailed(c, err, 0);
        return;
    }
    if (!replace && libraryFind(name, sdslen(name))) {
        addReplyErrorFormat(c, "ERR Library '%s' already exists", name);
        sdsfree(name);
        return;
    }
    sdsfree(name);
    functionLib *lib = libraryCreate(code, sdslen(code), timeout, &err);
    if (!lib) {
        replyChangeFailed(c, err, 0);
        return;
    }
    name = sdsdup(lib->name);
    int ioerr;
    if (libraryInstall(lib, replace, &err, &ioerr) != C_OK) {
        replyChangeFailed(c, err, ioerr);
        sdsfree(name);
        return;
    }
    forceCommandPropagation(c);
    addReplyBulkSds(c, name);
}

static void functionDeleteCommand(client *c) {
    functionLib *lib = libraryFind(c->argv[2], sdslen(c->argv[2]));
    if (!lib) {
        addReplyError(c, "ERR Library not found");
        return;
    }
    if (libraryRemove(lib) != C_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    forceCommandPropagation(c);
    addReplyOK(c);
}

static void functionFlushCommand(client *c) {
    if (c->argc > 3) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    if (c->argc == 3 && strcasecmp(c->argv[2], "sync") && strcasecmp(c->argv[2], "async")) {
        addReplyError(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    if (librariesRemoveFiles() != C_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    librariesDropMemory();
    forceCommandPropagation(c);
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* FUNCTION LIST, STATS                                                      */
/* ------------------------------------------------------------------------ */

static void addReplyFunctionFlags(client *c, uint64_t flags) {
    int n = 0;
    for (int k = 0; scriptFlagDefs[k].name; k++)
        if (flags & scriptFlagDefs[k].flag) n++;
    addReplySetLen(c, n);
    for (int k = 0; scriptFlagDefs[k].name; k++)
        if (flags & scriptFlagDefs[k].flag) addReplyStatus(c, scriptFlagDefs[k].name);
}

static void addReplyLibrary(client *c, functionLib *lib, int with_code) {
    addReplyMapLen(c, with_code ? 4 : 3);
    addReplyBulkCString(c, "library_name");
    addReplyBulk(c, lib->name, sdslen(lib->name));
    addReplyBulkCString(c, "engine");
    addReplyBulkCString(c, ENGINE_NAME);
    addReplyBulkCString(c, "functions");
    addReplyArrayLen(c, lib->nfuncs);
    for (int i = 0; i < lib->nfuncs; i++) {
        functionInfo *fi = lib->funcs[i];
        addReplyMapLen(c, 3);
        addReplyBulkCString(c, "name");
        addReplyBulk(c, fi->name, sdslen(fi->name));
        addReplyBulkCString(c, "description");
        if (fi->desc) addReplyBulk(c, fi->desc, sdslen(fi->desc));
        else addReplyNull(c);
        addReplyBulkCString(c, "flags");
        addReplyFunctionFlags(c, fi->flags);
    }
    if (with_code) {
        addReplyBulkCString(c, "library_code");
        addReplyBulk(c, lib->code, sdslen(lib->code));
    }
}

static void functionListCommand(client *c) {
    int with_code = 0;
    sds pattern = NULL;
    for (int i = 2; i < c->argc; i++) {
        if (!with_code && !strcasecmp(c->argv[i], "withcode")) {
            with_code = 1;
        } else if (!pattern && !strcasecmp(c->argv[i], "libraryname")) {
            if (i >= c->argc - 1) {
                addReplyError(c, "ERR library name argument was not given");
                return;
            }
            pattern = c->argv[++i];
        } else {
            addReplyErrorFormat(c, "ERR Unknown argument %s", c->argv[i]);
            return;
        }
    }
    long n = 0;
    for (int i = 0; i < nlibs; i++)
        if (!pattern || stringmatchlen(pattern, (int)sdslen(pattern), libs[i]->name, (int)sdslen(libs[i]->name), 1))
            n++;
    addReplyArrayLen(c, n);
    for (int i = 0; i < nlibs; i++)
        if (!pattern || stringmatchlen(pattern, (int)sdslen(pattern), libs[i]->name, (int)sdslen(libs[i]->name), 1))
            addReplyLibrary(c, libs[i], with_code);
}

static void functionStatsCommand(client *c) {
    scriptRunCtx *rctx = curr_run_ctx;
    if (rctx && (rctx->flags & SCRIPT_EVAL_MODE)) {
        addReplyError(c, scriptBusyError());
        return;
    }
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "running_script");
    if (!rctx) {
        addReplyNull(c);
    } else {
        addReplyMapLen(c, 3);
        addReplyBulkCString(c, "name");
        addReplyBulkCString(c, rctx->sha);
        addReplyBulkCString(c, "command");
        addReplyArrayLen(c, rctx->caller->argc);
        for (int i = 0; i < rctx->caller->argc; i++)
            addReplyBulk(c, rctx->caller->argv[i], sdslen(rctx->caller->argv[i]));
        addReplyBulkCString(c, "duration_ms");
        addReplyLongLong(c, mstime() - rctx->start_ms);
    }
    addReplyBulkCString(c, "engines");
    addReplyMapLen(c, 1);
    addReplyBulkCString(c, ENGINE_NAME);
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "libraries_count");
    addReplyLongLong(c, nlibs);
    addReplyBulkCString(c, "functions_count");
    addReplyLongLong(c, nfuncs);
}

/* ------------------------------------------------------------------------ */
/* FUNCTION DUMP, RESTORE                                                    */
/* ------------------------------------------------------------------------ */

static void functionDumpCommand(client *c) {
    sds payload = sdsempty();
    for (int i = 0; i < nlibs; i++) payload = rdbAppendFunction(payload, libs[i]->code, sdslen(libs[i]->code));
    payload = rdbAppendFooter(payload);
    addReplyBulkSds(c, payload);
}

#define RESTORE_APPEND 0
#define RESTORE_REPLACE 1
#define RESTORE_FLUSH 2

/* The libraries of a payload (footer checked), compiled, not linked: the
 * count in *n, NULL with *err when one does not load. */
static functionLib **payloadLibraries(const unsigned char *p, size_t len, int *n, sds *err) {
    functionLib **out = NULL;
    size_t pos = 0, end = len - 10; /* the RDB version and the CRC64 */
    *n = 0;
    while (pos < end) {
        int type = p[pos++];
        sds code = NULL;
        size_t used;
        if (type != RDB_OPCODE_FUNCTION && type != RDB_OPCODE_FUNCTION2) {
            *err = sdsnew("given type is not a function");
        } else if (rdbDecodeFunction(type, p + pos, end - pos, &code, &used) != RDB_OK) {
            *err = sdsnew("failed loading the given functions payload");
        } else {
            pos += used;
            functionLib *lib = libraryCreate(code, sdslen(code), 0, err);
            for (int i = 0; lib && i < *n; i++) {
                if (!strcmp(out[i]->name, lib->name)) {
                    *err = sdscatprintf(sdsempty(), "Library '%s' already exists", lib->name);
                } else {
                    for (int f = 0; f < lib->nfuncs && !*err; f++)
                        for (int g = 0; g < out[i]->nfuncs && !*err; g++)
                            if (!strcasecmp(lib->funcs[f]->name, out[i]->funcs[g]->name))
                                *err = sdscatprintf(sdsempty(), "Function %s already exists", lib->funcs[f]->name);
                }
            }
            if (lib && !*err) {
                out = zrealloc(out, sizeof(*out) * (size_t)(*n + 1));
                out[(*n)++] = lib;
            } else {
                libraryFree(lib);
            }
        }
        sdsfree(code);
        if (*err) break;
    }
    if (*err) {
        for (int i = 0; i < *n; i++) libraryFree(out[i]);
        zfree(out);
        *n = 0;
        return NULL;
    }
    return out;
}

/* Check the new libraries against the ones in place under policy: NULL,
 * or the error. */
static sds restoreConflict(functionLib **fresh, int n, int policy) {
    if (policy == RESTORE_FLUSH) return NULL;
    sds err = NULL;
    for (int i = 0; i < n && !err; i++) {
        functionLib *old = libraryFind(fresh[i]->name, sdslen(fresh[i]->name));
        if (old && policy == RESTORE_APPEND) err = sdscatprintf(sdsempty(), "Library %s already exists", old->name);
    }
    /* functions against the libraries that stay */
    for (int i = 0; i < n && !err; i++) {
        for (int f = 0; f < fresh[i]->nfuncs && !err; f++) {
            functionInfo *fi = functionFind(fresh[i]->funcs[f]->name, sdslen(fresh[i]->funcs[f]->name));
            int replaced = 0;
            for (int j = 0; fi && j < n; j++)
                if (!strcmp(fi->lib->name, fresh[j]->name)) replaced = 1;
            if (fi && !replaced) err = sdscatprintf(sdsempty(), "Function %s already exists", fresh[i]->funcs[f]->name);
        }
    }
    return err;
}

static void functionRestoreCommand(client *c) {
    if (c->argc > 4) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    int policy = RESTORE_APPEND;
    if (c->argc == 4) {
        if (!strcasecmp(c->argv[3], "append")) policy = RESTORE_APPEND;
        else if (!strcasecmp(c->argv[3], "replace")) policy = RESTORE_REPLACE;
        else if (!strcasecmp(c->argv[3], "flush")) policy = RESTORE_FLUSH;
        else {
            addReplyError(c, "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    }
    const unsigned char *p = (const unsigned char *)c->argv[2];
    size_t len = sdslen(c->argv[2]);
    if (rdbVerifyPayload(p, len) != RDB_OK) {
        addReplyError(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    sds err = NULL;
    int n;
    functionLib **fresh = payloadLibraries(p, len, &n, &err);
    if (!err) err = restoreConflict(fresh, n, policy);
    if (err) {
        for (int i = 0; i < n; i++) libraryFree(fresh[i]);
        zfree(fresh);
        replyChangeFailed(c, err, 0);
        return;
    }
    /* disk: the old ones out (all, or those replaced), the new ones in */
    int rc = policy == RESTORE_FLUSH ? librariesRemoveFiles() : C_OK;
    for (int i = 0; rc == C_OK && i < n; i++)
        if (storeWriteLibrary(fresh[i]->name, sdslen(fresh[i]->name), fresh[i]->code, sdslen(fresh[i]->code)) !=
            STORE_OK)
            rc = C_ERR;
    if (rc != C_OK) {
        int e = errno;
        for (int i = 0; i < n; i++) libraryFree(fresh[i]);
        zfree(fresh);
        addReplyErrorIO(c, e); /* the disk is rolled back; memory was not touched */
        return;
    }
    if (policy == RESTORE_FLUSH) librariesDropMemory();
    for (int i = 0; i < n; i++) {
        functionLib *old = libraryFind(fresh[i]->name, sdslen(fresh[i]->name));
        if (old) {
            registryUnlink(old);
            libraryFree(old);
        }
        registryLink(fresh[i]);
    }
    zfree(fresh);
    forceCommandPropagation(c);
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* FUNCTION KILL, HELP                                                       */
/* ------------------------------------------------------------------------ */

static void functionKillCommand(client *c) { scriptKill(c, 0); }

static void functionContainerCommand(client *c) { addReplyErrorArity(c); }

static void functionHelpCommand(client *c) {
    static const char *help[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

/* ------------------------------------------------------------------------ */
/* Command table                                                             */
/* ------------------------------------------------------------------------ */

static redisCommand functionSubcommands[] = {
    {"delete", functionDeleteCommand, 3, "write noscript", "write slow scripting", 0, 0, 0, NULL},
    {"dump", functionDumpCommand, 2, "noscript", "slow scripting", 0, 0, 0, NULL},
    {"flush", functionFlushCommand, -2, "write noscript", "write slow scripting", 0, 0, 0, NULL},
    {"help", functionHelpCommand, 2, "loading stale", "slow scripting", 0, 0, 0, NULL},
    {"kill", functionKillCommand, 2, "noscript allow_busy", "slow scripting", 0, 0, 0, NULL},
    {"list", functionListCommand, -2, "noscript", "slow scripting", 0, 0, 0, NULL},
    {"load", functionLoadCommand, -3, "write denyoom noscript", "write slow scripting", 0, 0, 0, NULL},
    {"restore", functionRestoreCommand, -3, "write denyoom noscript", "write slow scripting", 0, 0, 0, NULL},
    {"stats", functionStatsCommand, 2, "noscript allow_busy", "slow scripting", 0, 0, 0, NULL},
    {NULL}};

redisCommand functionCommandTable[] = {
    {"fcall", fcallCommand, -3, "noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys",
     "slow scripting", 0, 0, 0, NULL},
    {"fcall_ro", fcallRoCommand, -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys",
     "slow scripting", 0, 0, 0, NULL},
    {"function", functionContainerCommand, -2, "", "slow", 0, 0, 0, functionSubcommands},
    {NULL}};
