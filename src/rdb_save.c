/* rdb_save.c - the RDB exporter: the store's databases as one complete RDB
 * file, as Redis 7.0's rdbSaveRio writes it, so that a real Redis (or a
 * replica of a dredis master) loads it:
 *
 *   "REDIS0010"
 *   AUX redis-ver 7.0.15, redis-bits, ctime, used-mem,
 *       [repl-stream-db, repl-id, repl-offset (a master's full sync)], aof-base 0
 *   FUNCTION2 code, per function library (ROOT_DIR/.functions)
 *   per database with keys: SELECTDB n, RESIZEDB keys expires,
 *       per key: [EXPIRETIME_MS t] type name value (dump.c's rdbWriteObject)
 *   EOF, CRC64 of everything before it (little endian)
 *
 * Keys are walked with the store's scan in batches, never all in memory;
 * members are streamed through a buffered writer (rdbOut) that keeps the
 * running CRC64. Keys whose expiry is past are written with it, as Redis
 * 7.0 does: the loader drops them (a master) or keeps them (a replica).
 *
 * Also owns rdbOut, which DUMP uses in memory (fd -1). */
#include "server.h"
#include "rdb.h"
#include "rdb_file.h"
#include "syscalls.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <libgen.h>

#define RDB_OPCODE_AUX 250
#define RDB_OPCODE_RESIZEDB 251
#define RDB_OPCODE_EXPIRETIME_MS 252
#define RDB_OPCODE_SELECTDB 254
#define RDB_OPCODE_EOF 255
#define RDB_SAVE_VERSION_STRING "7.0.15" /* the Redis whose files these are */

/* ------------------------------------------------------------------------ */
/* rdbOut                                                                    */
/* ------------------------------------------------------------------------ */

void rdbOutInit(rdbOut *o, int fd) {
    o->buf = sdsempty();
    o->fd = fd;
    o->crc = 0;
    o->written = 0;
}

int rdbOutFlush(rdbOut *o) {
    if (o->fd == -1) return STORE_OK;
    size_t len = sdslen(o->buf);
    if (o->fd == RDB_OUT_COUNT) {
        o->written += (long long)len;
        sdssetlen(o->buf, 0);
        return STORE_OK;
    }
    if (sysWriteFully(o->fd, o->buf, len) < 0) return STORE_ERR;
    o->crc = rdbCrc64(o->crc, o->buf, len);
    o->written += (long long)len;
    sdssetlen(o->buf, 0);
    return STORE_OK;
}

int rdbOutMaybeFlush(rdbOut *o) {
    return o->fd != -1 && sdslen(o->buf) >= RDB_OUT_CHUNK ? rdbOutFlush(o) : STORE_OK;
}

void rdbOutFree(rdbOut *o) {
    sdsfree(o->buf);
    o->buf = NULL;
}

/* ------------------------------------------------------------------------ */
/* The file                                                                  */
/* ------------------------------------------------------------------------ */

static void appendAux(rdbOut *o, const char *key, const char *val) {
    o->buf = rdbAppendType(o->buf, RDB_OPCODE_AUX);
    o->buf = rdbAppendString(o->buf, key, strlen(key));
    o->buf = rdbAppendString(o->buf, val, strlen(val));
}

static void appendAuxNumber(rdbOut *o, const char *key, long long v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    appendAux(o, key, buf);
}

/* Redis's rdbSaveInfoAuxFields, in its order. */
static void appendAuxFields(rdbOut *o, const rdbSaveInfo *rsi) {
    appendAux(o, "redis-ver", RDB_SAVE_VERSION_STRING);
    appendAuxNumber(o, "redis-bits", sizeof(void *) == 8 ? 64 : 32);
    appendAuxNumber(o, "ctime", (long long)time(NULL));
    appendAuxNumber(o, "used-mem", (long long)zmalloc_used_memory());
    if (rsi && rsi->repl_id) {
        appendAuxNumber(o, "repl-stream-db", rsi->repl_stream_db);
        appendAux(o, "repl-id", rsi->repl_id);
        appendAuxNumber(o, "repl-offset", rsi->repl_offset);
    }
    appendAuxNumber(o, "aof-base", rsi && rsi->aof_base ? 1 : 0);
}

static void appendMillis(rdbOut *o, long long ms) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((unsigned long long)ms >> (8 * i));
    o->buf = sdscatlen(o->buf, b, 8);
}

sds rdbQuoteName(sds s, const char *p, size_t len) {
    size_t shown = len > 64 ? 64 : len;
    s = sdscatlen(s, "\"", 1);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 32 && c < 127 && c != '"' && c != '\\') s = sdscatlen(s, &p[i], 1);
        else s = sdscatprintf(s, "\\x%02x", c);
    }
    return sdscat(s, len > shown ? "\"..." : "\"");
}

static sds keyError(int db, sds name, const char *what) {
    sds e = rdbQuoteName(sdsnew("key "), name, sdslen(name));
    return sdscatprintf(e, " in db %d: %s", db, what);
}

/* [EXPIRETIME_MS] type name value of one key; a key gone since the scan saw
 * it is skipped (only a live tree changes under the scan). */
int rdbKeySaveDelay; /* --key-save-delay of the export child: Redis's rdb-key-save-delay */

/* As Redis's debugDelay(): a negative delay sleeps 1 us once in -us times */
void rdbDelay(int us) {
    if (us < 0) us = rand() % -us == 0 ? 1 : 0;
    if (us > 0) usleep((useconds_t)us);
}

void rdbDelayKey(void) { rdbDelay(rdbKeySaveDelay); }

static int saveKey(rdbOut *o, int db, sds name, long long *saved, sds *err) {
    skey *k;
    rdbDelayKey();
    int r = storeOpenKey(db, name, sdslen(name), &k);
    if (r == STORE_NOTFOUND) return C_OK;
    if (r != STORE_OK) {
        *err = keyError(db, name, strerror(errno));
        return C_ERR;
    }
    if (k->expire >= 0) {
        o->buf = rdbAppendType(o->buf, RDB_OPCODE_EXPIRETIME_MS);
        appendMillis(o, k->expire);
    }
    r = rdbWriteObject(o, k, name, sdslen(name));
    int e = errno;
    storeCloseKey(k);
    if (r != STORE_OK) {
        if (e == EUCLEAN) *err = keyError(db, name, "the key's directory is damaged");
        else *err = keyError(db, name, strerror(e));
        return C_ERR;
    }
    (*saved)++;
    return C_OK;
}

/* SELECTDB, RESIZEDB and every key of db (nothing for an empty db). */
static int saveDb(rdbOut *o, int db, long long *saved, sds *err) {
    long long size;
    if (storeDbSize(db, &size) != STORE_OK) {
        *err = sdscatprintf(sdsempty(), "cannot read database %d: %s", db, strerror(errno));
        return C_ERR;
    }
    if (size == 0) return C_OK;
    o->buf = rdbAppendType(o->buf, RDB_OPCODE_SELECTDB);
    o->buf = rdbAppendLen(o->buf, (uint64_t)db);
    o->buf = rdbAppendType(o->buf, RDB_OPCODE_RESIZEDB);
    o->buf = rdbAppendLen(o->buf, (uint64_t)size);
    long long expires = storeExpiresCount(db);
    if (expires < 0) {
        *err = sdscatprintf(sdsempty(), "cannot read the expiry index of database %d: %s", db, strerror(errno));
        return C_ERR;
    }
    o->buf = rdbAppendLen(o->buf, (uint64_t)expires);
    storeKeyBatch b = {.n = 0};
    unsigned long long cursor = 0;
    int rc = C_OK;
    do {
        if (storeScanKeyBatch(db, cursor, &b, &cursor) != STORE_OK) {
            *err = sdscatprintf(sdsempty(), "cannot list database %d: %s", db, strerror(errno));
            rc = C_ERR;
        }
        for (int i = 0; rc == C_OK && i < b.n; i++) rc = saveKey(o, db, b.names[i], saved, err);
        storeKeyBatchClear(&b);
    } while (rc == C_OK && cursor != 0);
    return rc;
}

/* A function library: a FUNCTION2 record of its code, as Redis writes it
 * before the databases. */
static int saveLibrary(void *ud, const char *fname, const char *code, size_t len) {
    (void)fname;
    rdbOut *o = ud;
    o->buf = rdbAppendFunction(o->buf, code, len);
    return rdbOutMaybeFlush(o) == STORE_OK ? 0 : 1;
}

int rdbSaveToFd(int fd, const rdbSaveInfo *rsi, rdbSaveStats *stats, sds *err) {
    rdbOut o;
    long long keys = 0;
    int rc = C_OK;
    *err = NULL;
    if (rsi && rsi->aof_base == RDB_AOF_BASE_COMMANDS) {
        long long bytes;
        rc = aofWriteCommandBase(fd, &keys, &bytes, err);
        if (stats) {
            stats->keys = keys;
            stats->bytes = bytes;
        }
        return rc;
    }
    rdbOutInit(&o, fd);
    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    o.buf = sdscat(o.buf, magic);
    appendAuxFields(&o, rsi);
    if (storeReadLibraries(saveLibrary, &o) != STORE_OK) {
        *err = sdscatprintf(sdsempty(), "cannot read the function libraries: %s", strerror(errno));
        rc = C_ERR;
    }
    for (int db = 0; rc == C_OK && db < server.dbnum; db++) rc = saveDb(&o, db, &keys, err);
    if (rc == C_OK) {
        o.buf = rdbAppendType(o.buf, RDB_OPCODE_EOF);
        /* the checksum covers every byte before it: all of them written first */
        int written = rdbOutFlush(&o) == STORE_OK;
        if (written) {
            uint64_t crc = o.crc;
            for (int i = 0; i < 8; i++) {
                char c = (char)(crc >> (8 * i));
                o.buf = sdscatlen(o.buf, &c, 1);
            }
            written = rdbOutFlush(&o) == STORE_OK;
        }
        if (!written) {
            *err = sdscatprintf(sdsempty(), "cannot write the RDB file: %s", strerror(errno));
            rc = C_ERR;
        }
    }
    if (stats) {
        stats->keys = keys;
        stats->bytes = o.written;
    }
    rdbOutFree(&o);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* A tree to a file, atomically                                              */
/* ------------------------------------------------------------------------ */

int rdbSyncDir(const char *dir) {
    int fd = sysOpen(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = sysFsync(fd);
    int saved = errno;
    sysClose(fd);
    errno = saved;
    return r;
}

static int syncParentDir(const char *path) {
    char *copy = zstrdup(path);
    int r = rdbSyncDir(dirname(copy));
    int saved = errno;
    zfree(copy);
    errno = saved;
    return r;
}

/* Write the open store's RDB to path through path.tmp-<pid>. */
static int saveToPath(const char *path, const rdbSaveInfo *rsi, rdbSaveStats *stats, sds *err) {
    sds tmp = sdscatprintf(sdsempty(), "%s.tmp-%d", path, (int)getpid());
    int fd = sysOpen(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        *err = sdscatprintf(sdsempty(), "cannot create '%s': %s", tmp, strerror(errno));
        sdsfree(tmp);
        return C_ERR;
    }
    int rc = rdbSaveToFd(fd, rsi, stats, err);
    if (rc == C_OK && sysFsync(fd) < 0) {
        *err = sdscatprintf(sdsempty(), "cannot sync '%s': %s", tmp, strerror(errno));
        rc = C_ERR;
    }
    if (sysClose(fd) < 0 && rc == C_OK) {
        *err = sdscatprintf(sdsempty(), "cannot write '%s': %s", tmp, strerror(errno));
        rc = C_ERR;
    }
    if (rc == C_OK && sysRenameat(AT_FDCWD, tmp, AT_FDCWD, path) < 0) {
        *err = sdscatprintf(sdsempty(), "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        rc = C_ERR;
    }
    if (rc == C_OK && syncParentDir(path) < 0) {
        *err = sdscatprintf(sdsempty(), "cannot sync the directory of '%s': %s", path, strerror(errno));
        rc = C_ERR;
    }
    if (rc != C_OK) sysUnlinkat(AT_FDCWD, tmp, 0);
    sdsfree(tmp);
    return rc;
}

int rdbExportTree(const char *root, const char *path, const rdbSaveInfo *rsi, rdbSaveStats *stats,
                  sds *err) {
    char *serr = NULL;
    *err = NULL;
    if (storeInitReadOnly(root, server.dbnum, &serr) != STORE_OK) {
        *err = sdsnew(serr);
        storeShutdown();
        return C_ERR;
    }
    int rc = saveToPath(path, rsi, stats, err);
    storeShutdown();
    return rc;
}
