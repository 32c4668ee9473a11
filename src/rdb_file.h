/* rdb_file.h - whole RDB files, as Redis 7.0 saves and loads them: the
 * exporter (rdb_save.c) writes the store's databases to one, the loader
 * (rdb_load.c) fills an empty store from one. The values inside are the
 * DUMP encodings of rdb.c, written by dump.c's rdbWriteObject(). */
#ifndef DREDIS_RDB_FILE_H
#define DREDIS_RDB_FILE_H
#include <stdint.h>
#include "sds.h"
#include "store.h"

/* ---- a buffered output with a running CRC64 (rdb_save.c) ---- */

/* Bytes go to buf; with an fd they are written out (and added to crc)
 * once buf holds RDB_OUT_CHUNK bytes, so memory stays bounded by one
 * chunk plus the largest single piece appended at once. With fd -1
 * everything stays in buf (a DUMP payload). */
#define RDB_OUT_CHUNK (256 * 1024)
/* An fd that writes nothing and counts the bytes in written (DEBUG
 * OBJECT's serializedlength: one chunk in memory at a time). */
#define RDB_OUT_COUNT (-2)
typedef struct rdbOut {
    sds buf;
    int fd;                /* -1: keep everything in buf; RDB_OUT_COUNT: only count */
    uint64_t crc;          /* CRC64 of the bytes written to fd so far */
    long long written;     /* bytes written to fd so far */
} rdbOut;

void rdbOutInit(rdbOut *o, int fd);
/* Write buf out: STORE_OK, or STORE_ERR with errno set. */
int rdbOutFlush(rdbOut *o);
/* rdbOutFlush() when buf holds a chunk or more (never with fd -1). */
int rdbOutMaybeFlush(rdbOut *o);
void rdbOutFree(rdbOut *o);

/* ---- one key (dump.c) ---- */

/* Append key k as Redis's rdbSaveObjectType + [key name] + rdbSaveObject:
 * the RDB type byte, the name (when name is not NULL: the form of a key in
 * an RDB file; DUMP passes NULL) and the value in the plain encodings.
 * Members are streamed to o (flushed as they come) except a list's, which
 * are gathered first (their count comes before them). STORE_ERR with
 * errno: EUCLEAN for a
 * damaged key, or the I/O error. */
int rdbWriteObject(rdbOut *o, skey *k, const char *name, size_t len);

/* Decode a value of RDB type rdbtype at p (at most len bytes) into a new
 * key db/name built under .tmp and not yet published (*out, NULL on
 * error); *used gets the bytes the value took. RDB_OK, or an RDB_ERR_*
 * of rdb.h; RDB_ERR_SINK with *ioerr the errno of a store failure. */
int rdbRestoreNewKey(int db, const sds name, int rdbtype, const unsigned char *p, size_t len, size_t *used,
                     skey **out, int *ioerr);

/* ---- the exporter (rdb_save.c) ---- */

/* Append a key's name to s for a message: quoted, bytes outside printable
 * ASCII as \xHH, cut after 64 bytes. */
sds rdbQuoteName(sds s, const char *p, size_t len);

/* The aux fields a master adds to the RDB of a full sync (Redis's
 * rdbSaveInfo): written only when repl_id is not NULL. */
typedef struct rdbSaveInfo {
    int repl_stream_db;
    const char *repl_id;      /* 40 hex characters */
    long long repl_offset;
    int aof_base;             /* the base of an AOF (aof.c): aux aof-base 1, or RDB_AOF_BASE_COMMANDS */
} rdbSaveInfo;
#define RDB_AOF_BASE_COMMANDS 2 /* not an RDB: commands, as aof-use-rdb-preamble no */

typedef struct rdbSaveStats {
    long long keys;
    long long bytes;
} rdbSaveStats;

/* Write every database (server.dbnum of them) of the open store to fd as a complete RDB file
 * (REDIS0010: aux fields, SELECTDB/RESIZEDB per non-empty database, the
 * keys with their expiry, EOF, CRC64). rsi may be NULL. C_OK, or C_ERR with
 * a message in *err (an sds the caller frees). */
int rdbSaveToFd(int fd, const rdbSaveInfo *rsi, rdbSaveStats *stats, sds *err);
/* Redis's rdb-key-save-delay in the export child (--key-save-delay): the
 * microseconds slept before each key is written */
extern int rdbKeySaveDelay;
void rdbDelayKey(void);
void rdbDelay(int us);
extern int rdbKeyLoadDelay; /* --key-load-delay of the import child: Redis's key-load-delay */
/* Open the tree at root read-only (storeInitReadOnly: nothing in it is
 * touched), write its RDB to path atomically (path.tmp-<pid>, fsync,
 * rename, fsync of the directory) and close the store again. For an
 * offline tree or a snapshot; the process must not have a store open. */
int rdbExportTree(const char *root, const char *path, const rdbSaveInfo *rsi, rdbSaveStats *stats, sds *err);

/* ---- the loader (rdb_load.c) ---- */

typedef struct rdbLoadInfo {
    /* in */
    int keep_expired;         /* load keys whose expiry is past (a replica) */
    /* out */
    int version;              /* the file's RDB version */
    long long keys_loaded, keys_expired;
    long long libraries_loaded; /* function libraries */
    int repl_stream_db;       /* -1 when the file has none */
    char repl_id[41];         /* "" when the file has none */
    long long repl_offset;    /* -1 when the file has none */
} rdbLoadInfo;

/* Load the RDB file at path into the open store, which must be empty (no
 * key in any database). Keys already expired are skipped unless
 * info->keep_expired, as a Redis master does. On any error every database
 * is flushed again (nothing is left half loaded) and C_ERR is returned with
 * a message in *err (an sds the caller frees). */
int rdbLoadFile(const char *path, rdbLoadInfo *info, sds *err);
/* The aux fields at the head of an RDB file (repl-stream-db ...), nothing loaded. */
int rdbReadAuxFields(const char *path, rdbLoadInfo *info, sds *err);

/* ---- the entry points (rdb_tool.c) ---- */

/* dredis-server --export-rdb / --import-rdb: argv[1] is one of them. */
int rdbToolIsOption(const char *arg);
int rdbToolMain(int argc, char **argv); /* the process's exit code */
pid_t rdbToolSpawn(const char *root, char *const argv[]); /* this binary as a tool, in a child */
/* Such a child's end, without waiting: -1 while it runs; else *pid is
 * cleared and 1 (it exited 0) or 0 with why ("exit status 1", "signal 9",
 * "waitpid <errno>"). */
int rdbToolReap(pid_t *pid, char *why, size_t whylen);
void rdbToolKill(pid_t *pid); /* SIGKILL and wait (none: nothing); *pid cleared */
int rdbSyncDir(const char *dir); /* fsync a directory by path: 0, or -1 with errno */
/* Load path into the open (empty) store and sync it: C_OK, or C_ERR after
 * printing the reason (the store is left empty). */
int rdbImportAtStartup(const char *path, int keep_expired);

#endif
