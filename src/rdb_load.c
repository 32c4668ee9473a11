/* rdb_load.c - the RDB loader: a complete RDB file as Redis 7.0 writes it
 * (versions 1 to 10, as Redis 7.0 accepts) loaded into an empty store, as
 * Redis's rdbLoadRio reads it:
 *
 *   "REDIS" and 4 digits of version, then opcodes until EOF:
 *   AUX (skipped, repl-* fields reported), SELECTDB, RESIZEDB (a hint:
 *   ignored), EXPIRETIME (s) / EXPIRETIME_MS, FREQ and IDLE (dredis keeps
 *   no access statistics: ignored, as Redis ignores them without an LRU or
 *   LFU policy), a key (type, name, value); then (version 5 and later) the
 *   CRC64 of everything before it, 0 meaning "not checksummed", as Redis.
 *
 * FUNCTION2 (and 7.0-rc's FUNCTION) records are function libraries:
 * loaded as FUNCTION LOAD would (function.c), so stored in .functions.
 *
 * Refused, with the reason: MODULE_AUX and module values (dredis has no
 * modules), a library that does not load, a database number beyond
 * dredis's, a key twice in one database (Redis panics on it).
 *
 * The file is mapped (mmap) and read front to back: memory holds one
 * value's decoding at a time, and the pages read are given back as the
 * loading goes. Each value is decoded by dump.c's RESTORE code straight
 * into a new key under .tmp and published in one rename, inside a store
 * transaction of its own. On any error every database is flushed again:
 * the store is left empty, never half loaded. */
#include "server.h"
#include "rdb.h"
#include "rdb_file.h"
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

int rdbKeyLoadDelay; /* Redis's key-load-delay (the import child's --key-load-delay) */

#define RDB_OPCODE_MODULE_AUX 247
#define RDB_OPCODE_IDLE 248
#define RDB_OPCODE_FREQ 249
#define RDB_OPCODE_AUX 250
#define RDB_OPCODE_RESIZEDB 251
#define RDB_OPCODE_EXPIRETIME_MS 252
#define RDB_OPCODE_EXPIRETIME 253
#define RDB_OPCODE_SELECTDB 254
#define RDB_OPCODE_EOF 255
#define RELEASE_EVERY (64LL * 1024 * 1024) /* give back the pages read, every so many bytes */

typedef struct loader {
    const unsigned char *p; /* the mapped file */
    size_t len, pos;
    size_t released;        /* pages before this offset were given back */
    uint64_t crc;           /* CRC64 of p[0 .. crcpos) */
    size_t crcpos;
    int db;
    long long now;
    rdbLoadInfo *info;
    sds err;
    sds *libraries;         /* the function libraries loaded so far */
    int nlibraries;
} loader;

static int fail(loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sds what = sdscatvprintf(sdsempty(), fmt, ap);
    va_end(ap);
    if (!l->err) l->err = sdscatprintf(sdsempty(), "bad RDB file at byte %zu: %s", l->pos, what);
    sdsfree(what);
    return C_ERR;
}

static int truncated(loader *l) { return fail(l, "the file ends too early (truncated?)"); }

/* ---- reading ---- */

static int readBytes(loader *l, size_t n, const unsigned char **out) {
    *out = NULL;
    if (n > l->len - l->pos) return truncated(l);
    *out = l->p + l->pos;
    l->pos += n;
    return C_OK;
}

static int readByte(loader *l, int *out) {
    const unsigned char *b;
    if (readBytes(l, 1, &b) != C_OK) return C_ERR;
    *out = b[0];
    return C_OK;
}

static long long readLittleEndian(const unsigned char *b, int n) {
    unsigned long long v = 0;
    for (int i = 0; i < n; i++) v |= (unsigned long long)b[i] << (8 * i);
    return (long long)v;
}

static int readLen(loader *l, uint64_t *out) {
    size_t used;
    if (rdbDecodeLen(l->p + l->pos, l->len - l->pos, out, &used) != RDB_OK)
        return fail(l, "a malformed or truncated length");
    l->pos += used;
    return C_OK;
}

static int readString(loader *l, sds *out) {
    size_t used;
    if (rdbDecodeString(l->p + l->pos, l->len - l->pos, out, &used) != RDB_OK)
        return fail(l, "a malformed or truncated string");
    l->pos += used;
    return C_OK;
}

/* Add what was read to the CRC and give back the pages behind us. */
static void advance(loader *l) {
    l->crc = rdbCrc64(l->crc, l->p + l->crcpos, l->pos - l->crcpos);
    l->crcpos = l->pos;
    if ((long long)(l->pos - l->released) >= RELEASE_EVERY) {
        long page = sysconf(_SC_PAGESIZE);
        size_t upto = l->pos / (size_t)page * (size_t)page;
        madvise((void *)(l->p + l->released), upto - l->released, MADV_DONTNEED);
        l->released = upto;
    }
}

/* ---- opcodes ---- */

static int loadAux(loader *l) {
    sds key, val;
    if (readString(l, &key) != C_OK) return C_ERR;
    if (readString(l, &val) != C_OK) {
        sdsfree(key);
        return C_ERR;
    }
    rdbLoadInfo *i = l->info;
    if (!strcasecmp(key, "repl-stream-db")) i->repl_stream_db = atoi(val);
    else if (!strcasecmp(key, "repl-id") && sdslen(val) == 40) memcpy(i->repl_id, val, 41);
    else if (!strcasecmp(key, "repl-offset")) i->repl_offset = strtoll(val, NULL, 10);
    else if (!strcasecmp(key, "redis-ver")) serverLog(LL_NOTICE, "Loading an RDB file produced by Redis %s", val);
    sdsfree(key);
    sdsfree(val);
    return C_OK;
}

static int loadSelectDb(loader *l) {
    uint64_t db;
    if (readLen(l, &db) != C_OK) return C_ERR;
    if (db >= (uint64_t)server.dbnum)
        return fail(l, "the file has database %llu, dredis has databases 0 to %d", (unsigned long long)db,
                    server.dbnum - 1);
    l->db = (int)db;
    return C_OK;
}

/* Redis's moduleTypeNameByID: the 9 characters in the upper 54 bits. */
static void moduleNameOfId(uint64_t id, char name[10]) {
    static const char *cset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    id >>= 10;
    for (int j = 8; j >= 0; j--) {
        name[j] = cset[id & 63];
        id >>= 6;
    }
    name[9] = '\0';
}

static int refuseModuleAux(loader *l) {
    uint64_t id;
    char name[10];
    if (readLen(l, &id) != C_OK) return C_ERR;
    moduleNameOfId(id, name);
    return fail(l, "the file holds auxiliary data of the Redis module '%s': dredis has no modules", name);
}

/* A function library (FUNCTION2: its code; FUNCTION: Redis 7.0-rc's
 * form), loaded and stored as FUNCTION LOAD would; its name is kept to
 * undo the load if the file fails later. */
static int loadFunction(loader *l, int type) {
    sds code, err = NULL;
    size_t used;
    if (rdbDecodeFunction(type, l->p + l->pos, l->len - l->pos, &code, &used) != RDB_OK)
        return fail(l, "a malformed or truncated function library");
    l->pos += used;
    if (functionsLoadLibraryCode(code, sdslen(code), &err) != C_OK) {
        fail(l, "the function library does not load: %s", err);
        sdsfree(err);
        sdsfree(code);
        return C_ERR;
    }
    const char *n = strstr(code, "name=");
    size_t nl = n ? strcspn(n + 5, " \r\n") : 0;
    l->libraries = zrealloc(l->libraries, sizeof(sds) * (size_t)(l->nlibraries + 1));
    l->libraries[l->nlibraries++] = sdsnewlen(n ? n + 5 : "", nl);
    l->info->libraries_loaded++;
    sdsfree(code);
    return C_OK;
}

/* Why a value could not be decoded into a key. */
static int valueFailed(loader *l, sds name, int type, int rc, int ioerr) {
    sds who = rdbQuoteName(sdsnew("key "), name, sdslen(name));
    if (rc == RDB_ERR_SINK) {
        fail(l, "%s in db %d cannot be stored: %s", who, l->db, strerror(ioerr));
    } else if (rc == RDB_ERR_UNSUPPORTED && (type == RDB_TYPE_MODULE || type == RDB_TYPE_MODULE_2)) {
        uint64_t id = 0;
        size_t used;
        char module[10] = "?";
        if (rdbDecodeLen(l->p + l->pos, l->len - l->pos, &id, &used) == RDB_OK) moduleNameOfId(id, module);
        fail(l, "%s in db %d holds a value of the Redis module '%s': dredis has no modules", who, l->db, module);
    } else {
        fail(l, "%s in db %d has a malformed or truncated value (RDB type %s)", who, l->db, rdbTypeName(type));
    }
    sdsfree(who);
    return C_ERR;
}

/* Put a new key in place; a key that is there already is a duplicate. */
static int publishLoaded(loader *l, skey *k, long long expire) {
    int replaced = 0, r;
    storeTxnBegin();
    r = expire >= 0 ? storeSetExpire(k, expire) : STORE_OK;
    if (r == STORE_OK) r = storePublishKey(k, &replaced);
    int saved = errno;
    storeTxnEnd();
    if (r != STORE_OK) {
        storeDeleteKey(k);
        storeCloseKey(k);
        return fail(l, "cannot store a key: %s", strerror(saved));
    }
    sds who = rdbQuoteName(sdsnew("key "), k->name, sdslen(k->name));
    storeCloseKey(k);
    if (replaced) fail(l, "%s appears twice in db %d", who, l->db);
    sdsfree(who);
    return replaced ? C_ERR : C_OK;
}

/* A key: its name and value (type already read), expiring at expire. */
static int loadKey(loader *l, int type, long long expire) {
    sds name;
    if (!strcmp(rdbTypeName(type), "unknown"))
        return fail(l, "unknown opcode or value type %d (a later Redis version's?)", type);
    if (readString(l, &name) != C_OK) return C_ERR;
    skey *k;
    size_t used = 0;
    int ioerr;
    int rc = rdbRestoreNewKey(l->db, name, type, l->p + l->pos, l->len - l->pos, &used, &k, &ioerr);
    if (rc != RDB_OK) {
        valueFailed(l, name, type, rc, ioerr);
        sdsfree(name);
        return C_ERR;
    }
    sdsfree(name);
    l->pos += used;
    if (expire >= 0 && expire < l->now && !l->info->keep_expired) {
        storeDeleteKey(k); /* as a Redis master: an expired key is not loaded */
        storeCloseKey(k);
        l->info->keys_expired++;
        return C_OK;
    }
    if (publishLoaded(l, k, expire) != C_OK) return C_ERR;
    l->info->keys_loaded++;
    rdbDelay(rdbKeyLoadDelay);
    return C_OK;
}

/* ---- the file ---- */

static int checkHeader(loader *l) {
    const unsigned char *b;
    if (l->len < 9 || memcmp(l->p, "REDIS", 5) != 0)
        return fail(l, "not an RDB file (it does not start with \"REDIS\" and a version)");
    readBytes(l, 9, &b);
    int version = 0;
    for (int i = 5; i < 9; i++) {
        if (b[i] < '0' || b[i] > '9') return fail(l, "not an RDB file (bad version digits)");
        version = version * 10 + (b[i] - '0');
    }
    if (version < 1 || version > RDB_VERSION)
        return fail(l, "RDB version %d is not supported (Redis 7.0 files are versions 1 to %d)", version,
                    RDB_VERSION);
    l->info->version = version;
    return C_OK;
}

/* Version 5 on: the CRC64 of everything before it (0: none was computed). */
static int checkChecksum(loader *l) {
    if (l->info->version < 5) return C_OK;
    const unsigned char *b;
    advance(l);
    if (readBytes(l, 8, &b) != C_OK) return C_ERR;
    uint64_t stored = (uint64_t)readLittleEndian(b, 8);
    if (stored == 0) {
        serverLog(LL_WARNING, "The RDB file was saved with checksum disabled: no check performed.");
        return C_OK;
    }
    if (stored != l->crc)
        return fail(l, "wrong checksum: the file says %016llx, its content gives %016llx (corrupted?)",
                    (unsigned long long)stored, (unsigned long long)l->crc);
    return C_OK;
}

/* The opcodes until EOF. */
static int loadOpcodes(loader *l) {
    long long expire = -1;
    while (1) {
        int type;
        const unsigned char *b;
        uint64_t ignored;
        advance(l);
        if (readByte(l, &type) != C_OK) return C_ERR;
        switch (type) {
        case RDB_OPCODE_EOF:
            return C_OK;
        case RDB_OPCODE_EXPIRETIME:
            if (readBytes(l, 4, &b) != C_OK) return C_ERR;
            expire = (long long)(int32_t)(uint32_t)readLittleEndian(b, 4) * 1000;
            continue;
        case RDB_OPCODE_EXPIRETIME_MS:
            if (readBytes(l, 8, &b) != C_OK) return C_ERR;
            expire = readLittleEndian(b, 8);
            continue;
        case RDB_OPCODE_FREQ:
            if (readBytes(l, 1, &b) != C_OK) return C_ERR;
            continue;
        case RDB_OPCODE_IDLE:
            if (readLen(l, &ignored) != C_OK) return C_ERR;
            continue;
        case RDB_OPCODE_SELECTDB:
            if (loadSelectDb(l) != C_OK) return C_ERR;
            continue;
        case RDB_OPCODE_RESIZEDB:
            if (readLen(l, &ignored) != C_OK || readLen(l, &ignored) != C_OK) return C_ERR;
            continue;
        case RDB_OPCODE_AUX:
            if (loadAux(l) != C_OK) return C_ERR;
            continue;
        case RDB_OPCODE_MODULE_AUX:
            return refuseModuleAux(l);
        case RDB_OPCODE_FUNCTION:
        case RDB_OPCODE_FUNCTION2:
            if (loadFunction(l, type) != C_OK) return C_ERR;
            continue;
        default:
            if (loadKey(l, type, expire) != C_OK) return C_ERR;
            expire = -1;
        }
    }
}

static int storeIsEmpty(sds *err) {
    for (int db = 0; db < server.dbnum; db++) {
        long long n;
        if (storeDbSize(db, &n) != STORE_OK) {
            *err = sdscatprintf(sdsempty(), "cannot read database %d: %s", db, strerror(errno));
            return 0;
        }
        if (n > 0) {
            *err = sdscatprintf(sdsempty(), "the store is not empty (database %d has keys): an RDB file is only "
                                            "loaded into an empty ROOT_DIR", db);
            return 0;
        }
    }
    return 1;
}

/* Undo a partial load: the libraries it loaded deleted, every database
 * flushed (their keys go to .trash). */
static void flushAllAfterFailure(loader *l, sds *err) {
    for (int i = 0; i < l->nlibraries; i++) functionsDeleteLibrary(l->libraries[i], sdslen(l->libraries[i]));
    for (int db = 0; db < server.dbnum; db++) {
        if (storeFlushDb(db) != STORE_OK)
            *err = sdscatprintf(*err, "; and database %d could not be emptied again: %s", db, strerror(errno));
    }
}

static int mapFile(const char *path, const unsigned char **p, size_t *len, sds *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0) {
        *err = sdscatprintf(sdsempty(), "cannot open the RDB file '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return C_ERR;
    }
    if (!S_ISREG(sb.st_mode)) {
        *err = sdscatprintf(sdsempty(), "the RDB file '%s' is not a regular file", path);
        close(fd);
        return C_ERR;
    }
    *len = (size_t)sb.st_size;
    *p = NULL;
    if (*len > 0) {
        void *m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            *err = sdscatprintf(sdsempty(), "cannot map the RDB file '%s': %s", path, strerror(errno));
            close(fd);
            return C_ERR;
        }
        madvise(m, *len, MADV_SEQUENTIAL);
        *p = m;
    }
    close(fd);
    return C_OK;
}

/* Only the aux fields at the head of the file (a replica wants the
 * repl-stream-db of its master's RDB); loads nothing. */
int rdbReadAuxFields(const char *path, rdbLoadInfo *info, sds *err) {
    *err = NULL;
    info->version = 0;
    info->repl_stream_db = -1;
    info->repl_id[0] = '\0';
    info->repl_offset = -1;
    loader l = {.db = 0, .now = mstime(), .info = info};
    if (mapFile(path, &l.p, &l.len, err) != C_OK) return C_ERR;
    int rc = checkHeader(&l), type;
    while (rc == C_OK && l.pos < l.len && l.p[l.pos] == RDB_OPCODE_AUX) {
        rc = readByte(&l, &type);
        if (rc == C_OK) rc = loadAux(&l);
    }
    if (l.p) munmap((void *)l.p, l.len);
    if (rc != C_OK) *err = l.err;
    return rc;
}

int rdbLoadFile(const char *path, rdbLoadInfo *info, sds *err) {
    *err = NULL;
    info->version = 0;
    info->keys_loaded = info->keys_expired = info->libraries_loaded = 0;
    info->repl_stream_db = -1;
    info->repl_id[0] = '\0';
    info->repl_offset = -1;
    if (!storeIsEmpty(err)) return C_ERR;
    loader l = {.db = 0, .now = mstime(), .info = info};
    if (mapFile(path, &l.p, &l.len, err) != C_OK) return C_ERR;
    int rc = checkHeader(&l);
    if (rc == C_OK) rc = loadOpcodes(&l);
    if (rc == C_OK) rc = checkChecksum(&l);
    if (l.p) munmap((void *)l.p, l.len);
    if (rc != C_OK) {
        *err = l.err;
        flushAllAfterFailure(&l, err);
    }
    for (int i = 0; i < l.nlibraries; i++) sdsfree(l.libraries[i]);
    zfree(l.libraries);
    return rc;
}
