/* aof.c - Redis 7.0's append-only file, kept beside the tree: the settings
 * appendonly, appendfilename, appenddirname, aof-use-rdb-preamble,
 * auto-aof-rewrite-*, the files of the multi-part layout in
 * DREDIS_SNAPSHOT_DIR/<appenddirname> (the manifest, the base, the incr
 * files), the incr file fed with the stream the replicas get (propagate.c
 * calls aofFeed where it calls replicationFeed), its writes and fsyncs,
 * BGREWRITEAOF, and the aof_* fields of INFO persistence.
 *
 * The tree stays the database: dredis never loads the AOF. The AOF is a
 * second record of the same data that a real Redis loads. A rewrite takes
 * a snapshot of the tree (save.c, snapshot.c) and, at that same instant,
 * starts a new incr file; a child (dredis-server --export-rdb, as for a
 * full sync) writes the snapshot as the new base; when it is done the
 * manifest is replaced and the files it no longer names are removed, as
 * Redis 7.0's backgroundRewriteDoneHandler does. The AOF is outside
 * ROOT_DIR, so its files are written with plain system calls through the
 * seam (syscalls.h), as rdb_save.c writes its files. */
#include "server.h"
#include "rdb.h"
#include "rdb_file.h"
#include "syscalls.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define AOF_OFF 0
#define AOF_ON 1
#define AOF_WAIT_REWRITE 2 /* on, waiting for its first base: writes go to the temp incr file */
#define MAX_INCR 64

typedef struct aofFile {
    sds name;
    long long seq;
} aofFile;

static struct {
    int state;
    int enabled_config;          /* appendonly as set (yes also while waiting for the rewrite) */
    char *filename;              /* appendfilename */
    char *dirname;               /* appenddirname */
    sds dirpath;                 /* DREDIS_SNAPSHOT_DIR/appenddirname */
    long long auto_perc, auto_min_size;
    int no_fsync_on_rewrite;
    int use_rdb_preamble;        /* aof-use-rdb-preamble: the base as an RDB file, or as commands */
    /* the manifest as it is on disk */
    aofFile base;                /* name NULL: none */
    aofFile incr[MAX_INCR];
    int nincr;
    long long base_seq, incr_seq; /* the last used */
    /* the open incr file (or the temp incr while AOF_WAIT_REWRITE) */
    int fd;
    sds buf;
    int seldb;
    long long incr_size;          /* of the open file, as written */
    long long current_size, rewrite_base_size, fsynced_size;
    int write_ok;
    int fsync_ok;                 /* as Redis's aof_bio_fsync_status: the last fsync failed */
    int write_errno;
    long long last_fsync;         /* unix s */
    /* the rewrite */
    int scheduled;
    int waiting_snapshot;         /* its snapshot is being linked */
    pid_t child;                  /* writing the base */
    char tmpbase[4200];
    char snapdir[4200];           /* the rewrite's private snapshot, while its child reads it */
    long long rewrite_start, last_rewrite_time;
    int last_rewrite_ok;
    long long rewrites, consecutive_failures;
    long long last_try;           /* unix s of the last failed start */
    int flush_sleep;              /* DEBUG AOF-FLUSH-SLEEP: microseconds before a write */
} aof = {.fd = -1, .seldb = -1, .write_ok = 1, .fsync_ok = 1, .last_rewrite_ok = 1, .last_rewrite_time = -1};

/* ------------------------------------------------------------------------ */
/* Names and the manifest                                                    */
/* ------------------------------------------------------------------------ */

static sds aofPath(const char *name) { return sdscatprintf(sdsempty(), "%s/%s", aof.dirpath, name); }
static sds baseName(long long seq) {
    return sdscatprintf(sdsempty(), "%s.%lld.base.%s", aof.filename, seq, aof.use_rdb_preamble ? "rdb" : "aof");
}
static sds incrName(long long seq) { return sdscatprintf(sdsempty(), "%s.%lld.incr.aof", aof.filename, seq); }
static sds tempIncrName(void) { return sdscatprintf(sdsempty(), "temp-%s.incr", aof.filename); }
static sds manifestName(void) { return sdscatprintf(sdsempty(), "%s.manifest", aof.filename); }

static sds manifestText(const aofFile *history, int nhistory) {
    sds s = sdsempty();
    if (aof.base.name) s = sdscatprintf(s, "file %s seq %lld type b\n", aof.base.name, aof.base.seq);
    for (int i = 0; i < nhistory; i++) s = sdscatprintf(s, "file %s seq %lld type h\n", history[i].name, history[i].seq);
    for (int i = 0; i < aof.nincr; i++) s = sdscatprintf(s, "file %s seq %lld type i\n", aof.incr[i].name, aof.incr[i].seq);
    return s;
}

static int makeAofDir(void) {
    if (sysMakeDirs(aof.dirpath) < 0 && errno != EEXIST) {
        serverLog(LL_WARNING, "Can't create the append-only directory %s: %s", aof.dirpath, strerror(errno));
        return C_ERR;
    }
    return C_OK;
}

/* Replace the manifest atomically: temp file, fsync, rename, fsync of the
 * directory, as Redis's persistAofManifest. */
static int persistManifest(const aofFile *history, int nhistory) {
    if (makeAofDir() != C_OK) return C_ERR;
    sds text = manifestText(history, nhistory), mname = manifestName();
    sds tmpname = sdscatprintf(sdsempty(), "temp-%s", mname);
    sds tmp = aofPath(tmpname), path = aofPath(mname);
    int rc = C_ERR;
    int fd = sysOpen(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        if (sysWriteFully(fd, text, sdslen(text)) == 0 && sysFsync(fd) == 0) rc = C_OK;
        int saved = errno;
        if (sysClose(fd) < 0 && rc == C_OK) rc = C_ERR;
        else errno = saved;
    }
    if (rc == C_OK && (sysRenameat(AT_FDCWD, tmp, AT_FDCWD, path) < 0 || rdbSyncDir(aof.dirpath) < 0)) rc = C_ERR;
    if (rc != C_OK) {
        serverLog(LL_WARNING, "Can't persist the AOF manifest %s: %s", path, strerror(errno));
        sysUnlinkat(AT_FDCWD, tmp, 0);
    }
    sdsfree(text);
    sdsfree(mname);
    sdsfree(tmpname);
    sdsfree(tmp);
    sdsfree(path);
    return rc;
}

/* At start-up: the sequence numbers and files of an existing manifest, so
 * that the names go on from there and the old files are removed by the
 * first rewrite, as Redis's would be. */
static void readManifest(void) {
    sds mname = manifestName(), path = aofPath(mname);
    FILE *f = fopen(path, "r");
    sdsfree(mname);
    sdsfree(path);
    if (!f) return;
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        char name[800], type;
        long long seq;
        if (sscanf(line, "file %799s seq %lld type %c", name, &seq, &type) != 3) continue;
        if (type == 'b') {
            sdsfree(aof.base.name);
            aof.base = (aofFile){sdsnew(name), seq};
            if (seq > aof.base_seq) aof.base_seq = seq;
        } else if (type == 'i' && aof.nincr < MAX_INCR) {
            aof.incr[aof.nincr++] = (aofFile){sdsnew(name), seq};
            if (seq > aof.incr_seq) aof.incr_seq = seq;
        }
    }
    fclose(f);
}

static long long fileSize(const char *name) {
    struct stat sb;
    sds p = aofPath(name);
    int r = stat(p, &sb);
    sdsfree(p);
    return r == 0 ? (long long)sb.st_size : 0;
}

/* ------------------------------------------------------------------------ */
/* The base in command form (aof-use-rdb-preamble no)                        */
/* ------------------------------------------------------------------------ */

/* Written by the rewrite's child (rdb_tool.c, --aof-base commands) from a
 * snapshot, as Redis's rewriteAppendOnlyFileRio: FUNCTION LOAD per
 * library, then per database with keys SELECT, and per key SET, RPUSH,
 * SADD, ZADD or HMSET (at most 64 items a command), a stream as XADD,
 * XSETID, XGROUP and XCLAIM, and PEXPIREAT for a TTL. A value is decoded from its
 * DUMP payload (rdbDecodeObject), so it is in memory whole while written. */
#define AOF_REWRITE_ITEMS_PER_CMD 64

typedef struct cmdWriter {
    rdbOut *o;
    sds key;
    /* a stream: entries seen, the group and consumer being written, and
     * whether that consumer owns a pending entry yet */
    uint64_t entries;
    sds group;
    sds consumer;
    int consumer_pending;
    const char *cmd;  /* RPUSH, SADD, ZADD, HMSET */
    int per_item;     /* arguments per item */
    sds items[AOF_REWRITE_ITEMS_PER_CMD * 2];
    int nitems;       /* arguments held */
} cmdWriter;

static sds catBulk(sds s, const char *p, size_t len) {
    s = sdscatprintf(s, "$%zu\r\n", len);
    s = sdscatlen(s, p, len);
    return sdscatlen(s, "\r\n", 2);
}

static void flushItems(cmdWriter *w) {
    if (!w->nitems) return;
    w->o->buf = sdscatprintf(w->o->buf, "*%d\r\n", 2 + w->nitems);
    w->o->buf = catBulk(w->o->buf, w->cmd, strlen(w->cmd));
    w->o->buf = catBulk(w->o->buf, w->key, sdslen(w->key));
    for (int i = 0; i < w->nitems; i++) {
        w->o->buf = catBulk(w->o->buf, w->items[i], sdslen(w->items[i]));
        sdsfree(w->items[i]);
    }
    w->nitems = 0;
}

static int addItem(cmdWriter *w, const char *a, size_t alen, const char *b, size_t blen) {
    w->items[w->nitems++] = sdsnewlen(a, alen);
    if (b) w->items[w->nitems++] = sdsnewlen(b, blen);
    if (w->nitems == AOF_REWRITE_ITEMS_PER_CMD * w->per_item) flushItems(w);
    return rdbOutMaybeFlush(w->o) == STORE_OK ? RDB_OK : RDB_ERR_SINK;
}

static int cwBegin(void *ud, int objtype) {
    cmdWriter *w = ud;
    w->per_item = 1;
    w->cmd = objtype == OBJ_LIST ? "RPUSH" : objtype == OBJ_SET ? "SADD" : objtype == OBJ_ZSET ? "ZADD" : "HMSET";
    if (objtype == OBJ_ZSET || objtype == OBJ_HASH) w->per_item = 2;
    return RDB_OK;
}
static int cwString(void *ud, const char *p, size_t len) {
    cmdWriter *w = ud;
    w->o->buf = sdscat(w->o->buf, "*3\r\n$3\r\nSET\r\n");
    w->o->buf = catBulk(w->o->buf, w->key, sdslen(w->key));
    w->o->buf = catBulk(w->o->buf, p, len);
    return RDB_OK;
}
static int cwElement(void *ud, const char *p, size_t len) { return addItem(ud, p, len, NULL, 0); }
static int cwField(void *ud, const char *f, size_t flen, const char *v, size_t vlen) {
    return addItem(ud, f, flen, v, vlen);
}
static int cwScored(void *ud, const char *m, size_t mlen, double score) {
    char d[128];
    int dlen = snprintf(d, sizeof(d), "%.17g", score); /* as Redis's rioWriteBulkDouble */
    return addItem(ud, d, (size_t)dlen, m, mlen);
}

/* Streams as Redis's rewriteStreamObject: XADD per entry (an empty stream
 * through XADD MAXLEN 0), XSETID, and per group XGROUP CREATE, then per
 * consumer XCLAIM ... JUSTID FORCE for each pending entry, or XGROUP
 * CREATECONSUMER when it has none. */
static sds catCount(sds s, int n) { return sdscatprintf(s, "*%d\r\n", n); }
static sds catWord(sds s, const char *w) { return catBulk(s, w, strlen(w)); }
static sds catID(sds s, const rdbStreamID *id) {
    char b[64];
    int n = snprintf(b, sizeof(b), "%llu-%llu", (unsigned long long)id->ms, (unsigned long long)id->seq);
    return catBulk(s, b, (size_t)n);
}
static sds catNumber(sds s, long long v) {
    char b[32];
    int n = snprintf(b, sizeof(b), "%lld", v);
    return catBulk(s, b, (size_t)n);
}

static int cwStreamEntry(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    cmdWriter *w = ud;
    sds s = catCount(w->o->buf, 3 + (int)nfields * 2);
    s = catWord(s, "XADD");
    s = catBulk(s, w->key, sdslen(w->key));
    s = catID(s, id);
    for (size_t i = 0; i < nfields * 2; i++) s = catBulk(s, fv[i], fvlen[i]);
    w->o->buf = s;
    w->entries++;
    return rdbOutMaybeFlush(w->o) == STORE_OK ? RDB_OK : RDB_ERR_SINK;
}

static int cwStreamMeta(void *ud, const rdbStreamMeta *m) {
    cmdWriter *w = ud;
    sds s = w->o->buf;
    if (!w->entries) {
        s = catCount(s, 7);
        s = catWord(s, "XADD");
        s = catBulk(s, w->key, sdslen(w->key));
        s = catWord(s, "MAXLEN");
        s = catWord(s, "0");
        s = catWord(s, "0-1");
        s = catWord(s, "x");
        s = catWord(s, "y");
    }
    s = catCount(s, 7);
    s = catWord(s, "XSETID");
    s = catBulk(s, w->key, sdslen(w->key));
    s = catID(s, &m->last_id);
    s = catWord(s, "ENTRIESADDED");
    s = catNumber(s, (long long)m->entries_added);
    s = catWord(s, "MAXDELETEDID");
    s = catID(s, &m->max_deleted);
    w->o->buf = s;
    return RDB_OK;
}

/* The consumer before this point had no pending entry: XGROUP CREATECONSUMER */
static void endConsumer(cmdWriter *w) {
    if (w->consumer && !w->consumer_pending) {
        sds s = catCount(w->o->buf, 5);
        s = catWord(s, "XGROUP");
        s = catWord(s, "CREATECONSUMER");
        s = catBulk(s, w->key, sdslen(w->key));
        s = catBulk(s, w->group, sdslen(w->group));
        w->o->buf = catBulk(s, w->consumer, sdslen(w->consumer));
    }
    sdsfree(w->consumer);
    w->consumer = NULL;
}

static int cwStreamGroup(void *ud, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read) {
    cmdWriter *w = ud;
    endConsumer(w);
    sdsfree(w->group);
    w->group = sdsnewlen(name, len);
    sds s = catCount(w->o->buf, 7);
    s = catWord(s, "XGROUP");
    s = catWord(s, "CREATE");
    s = catBulk(s, w->key, sdslen(w->key));
    s = catBulk(s, name, len);
    s = catID(s, last_id);
    s = catWord(s, "ENTRIESREAD");
    w->o->buf = catNumber(s, entries_read);
    return RDB_OK;
}

static int cwStreamConsumer(void *ud, const char *name, size_t len, long long seen_time) {
    (void)seen_time; /* as Redis's rewrite: not kept */
    cmdWriter *w = ud;
    endConsumer(w);
    w->consumer = sdsnewlen(name, len);
    w->consumer_pending = 0;
    return RDB_OK;
}

static int cwStreamPending(void *ud, const rdbStreamID *id, long long delivery_time, uint64_t delivery_count) {
    cmdWriter *w = ud;
    w->consumer_pending = 1;
    sds s = catCount(w->o->buf, 12);
    s = catWord(s, "XCLAIM");
    s = catBulk(s, w->key, sdslen(w->key));
    s = catBulk(s, w->group, sdslen(w->group));
    s = catBulk(s, w->consumer, sdslen(w->consumer));
    s = catWord(s, "0");
    s = catID(s, id);
    s = catWord(s, "TIME");
    s = catNumber(s, delivery_time);
    s = catWord(s, "RETRYCOUNT");
    s = catNumber(s, (long long)delivery_count);
    s = catWord(s, "JUSTID");
    w->o->buf = catWord(s, "FORCE");
    return rdbOutMaybeFlush(w->o) == STORE_OK ? RDB_OK : RDB_ERR_SINK;
}

static int writeKeyCommands(rdbOut *o, int db, sds name, long long *saved, sds *err) {
    skey *k;
    rdbDelayKey();
    int r = storeOpenKey(db, name, sdslen(name), &k);
    if (r == STORE_NOTFOUND) return C_OK;
    sds payload = NULL;
    if (r != STORE_OK || dumpKeyPayload(k, &payload) != STORE_OK) {
        *err = sdscatprintf(sdsempty(), "cannot read a key of database %d: %s", db, strerror(errno));
        if (r == STORE_OK) storeCloseKey(k);
        return C_ERR;
    }
    long long expire = k->expire;
    storeCloseKey(k);
    cmdWriter w = {.o = o, .key = name};
    rdbSink sink = {.begin = cwBegin, .string = cwString, .element = cwElement, .field = cwField,
                    .scored = cwScored, .streamEntry = cwStreamEntry, .streamMeta = cwStreamMeta,
                    .streamGroup = cwStreamGroup, .streamConsumer = cwStreamConsumer,
                    .streamPending = cwStreamPending};
    r = rdbDecodeObject((const unsigned char *)payload, sdslen(payload), &sink, &w, NULL);
    flushItems(&w);
    endConsumer(&w);
    sdsfree(w.group);
    if (r != RDB_OK) {
        sdsfree(payload);
        *err = sdscatprintf(sdsempty(), "cannot write a key of database %d", db);
        return C_ERR;
    }
    sdsfree(payload);
    if (expire >= 0) {
        char ms[32];
        int len = snprintf(ms, sizeof(ms), "%lld", expire);
        o->buf = sdscat(o->buf, "*3\r\n$9\r\nPEXPIREAT\r\n");
        o->buf = catBulk(o->buf, name, sdslen(name));
        o->buf = catBulk(o->buf, ms, (size_t)len);
    }
    (*saved)++;
    return rdbOutMaybeFlush(o) == STORE_OK ? C_OK : C_ERR;
}

static int writeLibraryCommand(void *ud, const char *fname, const char *code, size_t len) {
    (void)fname;
    rdbOut *o = ud;
    o->buf = sdscat(o->buf, "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n");
    o->buf = catBulk(o->buf, code, len);
    return rdbOutMaybeFlush(o) == STORE_OK ? 0 : 1;
}

int aofWriteCommandBase(int fd, long long *keys, long long *bytes, sds *err) {
    rdbOut o;
    int rc = C_OK;
    *keys = 0;
    rdbOutInit(&o, fd);
    if (storeReadLibraries(writeLibraryCommand, &o) != STORE_OK) {
        *err = sdscatprintf(sdsempty(), "cannot read the function libraries: %s", strerror(errno));
        rc = C_ERR;
    }
    for (int db = 0; rc == C_OK && db < server.dbnum; db++) {
        long long size;
        if (storeDbSize(db, &size) != STORE_OK) {
            *err = sdscatprintf(sdsempty(), "cannot read database %d: %s", db, strerror(errno));
            rc = C_ERR;
            break;
        }
        if (size == 0) continue;
        char n[16];
        int nlen = snprintf(n, sizeof(n), "%d", db);
        o.buf = sdscat(o.buf, "*2\r\n$6\r\nSELECT\r\n");
        o.buf = catBulk(o.buf, n, (size_t)nlen);
        storeKeyBatch b = {.n = 0};
        unsigned long long cursor = 0;
        do {
            if (storeScanKeyBatch(db, cursor, &b, &cursor) != STORE_OK) {
                *err = sdscatprintf(sdsempty(), "cannot list database %d: %s", db, strerror(errno));
                rc = C_ERR;
            }
            for (int i = 0; rc == C_OK && i < b.n; i++) rc = writeKeyCommands(&o, db, b.names[i], keys, err);
            storeKeyBatchClear(&b);
        } while (rc == C_OK && cursor != 0);
    }
    if (rc == C_OK && rdbOutFlush(&o) != STORE_OK) rc = C_ERR;
    if (rc != C_OK && !*err) *err = sdscatprintf(sdsempty(), "cannot write the AOF base: %s", strerror(errno));
    *bytes = o.written;
    rdbOutFree(&o);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing the incr file                                                     */
/* ------------------------------------------------------------------------ */

int aofFeedWanted(void) { return aof.fd >= 0; }

/* One command of the stream (propagate.c), in database db. */
void aofFeed(int db, int argc, sds *argv) {
    if (aof.fd < 0) return;
    if (db >= 0 && db != aof.seldb) {
        char n[16];
        int len = snprintf(n, sizeof(n), "%d", db);
        aof.buf = sdscatprintf(aof.buf, "*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n", len, n);
        aof.seldb = db;
    }
    aof.buf = catCommandMultibulk(aof.buf, argc, argv);
}

static int fsyncAllowed(void) { return !(aof.no_fsync_on_rewrite && (aof.child || saveInProgress())); }

/* A failed fsync refuses writes until one succeeds (tried again each
 * cron turn), as Redis's aof_bio_fsync_status. */
static void fsyncIncr(void) {
    if (aof.fd < 0 || (aof.fsync_ok && aof.fsynced_size == aof.current_size) || !fsyncAllowed()) return;
    if (sysFsync(aof.fd) < 0) {
        if (aof.fsync_ok) serverLog(LL_WARNING, "Can't fsync the AOF: %s", strerror(errno));
        aof.fsync_ok = 0;
        aof.write_errno = errno;
        return;
    }
    if (!aof.fsync_ok) serverLog(LL_WARNING, "AOF fsync error looks solved.");
    aof.fsync_ok = 1;
    aof.fsynced_size = aof.current_size;
    aof.last_fsync = (long long)time(NULL);
}

/* Write what the commands added, before any reply leaves; with appendfsync
 * always, fsync it too. A failed write is undone (the file cut back to
 * where it was) and kept to try again; writes are refused meanwhile. */
void aofFlush(void) {
    if (aof.fd < 0) return;
    size_t len = sdslen(aof.buf);
    if (len) {
        if (aof.flush_sleep) usleep((useconds_t)aof.flush_sleep);
        if (sysWriteFully(aof.fd, aof.buf, len) < 0) {
            int saved = errno;
            if (sysFtruncate(aof.fd, aof.incr_size) == 0) sysLseek(aof.fd, aof.incr_size, SEEK_SET);
            if (aof.write_ok || saved != aof.write_errno)
                serverLog(LL_WARNING, "Error writing to the AOF file: %s", strerror(saved));
            aof.write_ok = 0;
            aof.write_errno = saved;
            return;
        }
        if (!aof.write_ok) serverLog(LL_WARNING, "AOF write error looks solved, Redis can write again.");
        aof.write_ok = 1;
        aof.incr_size += (long long)len;
        aof.current_size += (long long)len;
        sdsfree(aof.buf); /* not kept: one command can make it large */
        aof.buf = sdsempty();
    }
    if (server.fsync_always) fsyncIncr();
}

/* -MISCONF while the last write failed (processCommand) */
int aofWritesDenied(void) { return aof.state != AOF_OFF && (!aof.write_ok || !aof.fsync_ok); }
const char *aofWriteError(void) { return strerror(aof.write_errno); }

static void closeIncr(void) {
    if (aof.fd < 0) return;
    aofFlush();
    if (strcmp(server.fsync_policy, "no")) fsyncIncr();
    sysClose(aof.fd);
    aof.fd = -1;
    sdssetlen(aof.buf, 0);
}

/* A new incr file, not yet the one written (-1 on failure, logged). */
static int createIncr(const char *name, int truncate) {
    if (makeAofDir() != C_OK) return -1;
    sds path = aofPath(name);
    int fd = sysOpen(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
    if (fd < 0) serverLog(LL_WARNING, "Can't open the append-only file %s: %s", path, strerror(errno));
    sdsfree(path);
    return fd;
}

/* From now on the stream goes to fd. */
static void switchIncr(int fd) {
    closeIncr();
    aof.fd = fd;
    aof.seldb = -1; /* each incr file selects its database first */
    struct stat sb;
    aof.incr_size = sysFstat(fd, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* ------------------------------------------------------------------------ */
/* BGREWRITEAOF                                                              */
/* ------------------------------------------------------------------------ */

int aofRewriteRunning(void) { return aof.waiting_snapshot || aof.child; }

static void removeTempBase(void) {
    if (aof.tmpbase[0]) sysUnlinkat(AT_FDCWD, aof.tmpbase, 0);
    aof.tmpbase[0] = '\0';
}

/* The rewrite's snapshot is its own: it goes once the base is written. */
static void removeRewriteSnapshot(void) {
    if (aof.snapdir[0]) storeRemoveSnapshot(aof.snapdir);
    aof.snapdir[0] = '\0';
}

static void rewriteFailed(const char *why) {
    serverLog(LL_WARNING, "Background AOF rewrite terminated with error: %s", why);
    aof.last_rewrite_ok = 0;
    aof.consecutive_failures++;
    aof.last_rewrite_time = (long long)time(NULL) - aof.rewrite_start;
    aof.rewrite_start = -1;
    aof.last_try = (long long)time(NULL);
    removeTempBase();
    if (aof.state == AOF_WAIT_REWRITE) aof.scheduled = 1; /* as Redis: the AOF waits for a base */
}

/* The new incr file starts at the instant of the snapshot: when the AOF is
 * on, a new numbered one added to the manifest at once (as Redis's
 * openNewIncrAofForAppend); while waiting for the first base, the temp
 * incr file. */
static int startNewIncr(void) {
    if (aof.state == AOF_ON) {
        /* as Redis: the manifest names the new file before it is written */
        if (aof.nincr == MAX_INCR) return C_ERR;
        sds name = incrName(aof.incr_seq + 1);
        int fd = createIncr(name, 0);
        if (fd < 0) {
            sdsfree(name);
            return C_ERR;
        }
        aof.incr[aof.nincr++] = (aofFile){name, aof.incr_seq + 1};
        if (persistManifest(NULL, 0) != C_OK) {
            aof.nincr--;
            sysClose(fd);
            sds p = aofPath(name);
            sysUnlinkat(AT_FDCWD, p, 0);
            sdsfree(p);
            sdsfree(name);
            return C_ERR;
        }
        aof.incr_seq++;
        switchIncr(fd);
    } else if (aof.state == AOF_WAIT_REWRITE) {
        sds name = tempIncrName();
        int fd = createIncr(name, 1);
        sdsfree(name);
        if (fd < 0) return C_ERR;
        switchIncr(fd);
    }
    return C_OK;
}

/* Start a rewrite now: C_OK, or C_ERR (logged). */
static int startRewrite(void) {
    aof.last_try = (long long)time(NULL);
    if (makeAofDir() != C_OK) return C_ERR;
    aofFlush();
    if (startNewIncr() != C_OK) return C_ERR;
    const char *err = saveStartForAof();
    if (err) {
        serverLog(LL_WARNING, "Can't rewrite the append only file in background: %s", err);
        aof.last_try = (long long)time(NULL);
        return C_ERR;
    }
    aof.scheduled = 0;
    aof.last_try = 0;
    aof.waiting_snapshot = 1;
    aof.rewrites++;
    aof.rewrite_start = (long long)time(NULL);
    serverLog(LL_NOTICE, "Background append only file rewriting started");
    return C_OK;
}

/* save.c: the rewrite's private snapshot ended. It is written as the new
 * base by a child, as a full sync's is (replication.c), then removed. */
void aofSnapshotEnded(int ok, const char *dir) {
    if (ok) snprintf(aof.snapdir, sizeof(aof.snapdir), "%s", dir);
    if (!aof.waiting_snapshot) { /* the rewrite was stopped meanwhile */
        removeRewriteSnapshot();
        return;
    }
    aof.waiting_snapshot = 0;
    if (!ok) {
        rewriteFailed("the snapshot failed");
        return;
    }
    static unsigned long long n;
    snprintf(aof.tmpbase, sizeof(aof.tmpbase), "%s/temp-rewriteaof-bg-%d-%llu.aof", server.snapshot_dir,
             (int)getpid(), ++n);
    char delay[32];
    snprintf(delay, sizeof(delay), "%lld", server.rdb_key_save_delay);
    char *argv[] = {"dredis-server", "--export-rdb", aof.tmpbase, "--aof-base",
                    aof.use_rdb_preamble ? "1" : "commands", "--key-save-delay", delay, NULL};
    pid_t pid = rdbToolSpawn(dir, argv);
    if (pid < 0) {
        rewriteFailed(strerror(errno));
        removeRewriteSnapshot();
        return;
    }
    aof.child = pid;
    serverLog(LL_NOTICE, "Writing the AOF base from snapshot %s (pid %d)", dir, (int)pid);
}

static void removeFiles(const aofFile *files, int n) {
    for (int i = 0; i < n; i++) {
        sds p = aofPath(files[i].name);
        sysUnlinkat(AT_FDCWD, p, 0);
        sdsfree(p);
    }
}

static void freeFiles(aofFile *files, int n) {
    for (int i = 0; i < n; i++) sdsfree(files[i].name);
}

/* The base is written: put it in place, and the incr files that it makes
 * history out of the manifest, as Redis's backgroundRewriteDoneHandler. */
static void rewriteDone(void) {
    aofFlush();
    aofFile history[MAX_INCR + 1];
    int nhistory = 0;
    sds bname = baseName(aof.base_seq + 1), bpath = aofPath(bname);
    if (sysRenameat(AT_FDCWD, aof.tmpbase, AT_FDCWD, bpath) < 0) {
        sds why = sdscatprintf(sdsempty(), "renaming %s to %s: %s", aof.tmpbase, bpath, strerror(errno));
        rewriteFailed(why);
        sdsfree(why);
        sdsfree(bname);
        sdsfree(bpath);
        return;
    }
    aof.tmpbase[0] = '\0';
    sds newincr = NULL;
    if (aof.state == AOF_WAIT_REWRITE) {
        sds tname = tempIncrName(), tpath = aofPath(tname);
        newincr = incrName(aof.incr_seq + 1);
        sds npath = aofPath(newincr);
        int r = sysRenameat(AT_FDCWD, tpath, AT_FDCWD, npath);
        int saved = errno;
        sdsfree(tname);
        sdsfree(tpath);
        sdsfree(npath);
        if (r < 0) {
            sds why = sdscatprintf(sdsempty(), "renaming the temp incr file: %s", strerror(saved));
            sysUnlinkat(AT_FDCWD, bpath, 0);
            rewriteFailed(why);
            sdsfree(why);
            sdsfree(newincr);
            sdsfree(bname);
            sdsfree(bpath);
            return;
        }
    }
    /* the manifest as it will be: the new base, the incr files after the
     * instant; the others are history */
    aofFile oldbase = aof.base, oldincr[MAX_INCR];
    int noldincr = aof.nincr;
    memcpy(oldincr, aof.incr, sizeof(aofFile) * (size_t)aof.nincr);
    if (oldbase.name) history[nhistory++] = oldbase;
    int keep = aof.state == AOF_ON ? 1 : 0; /* the incr file opened at the instant */
    for (int i = 0; i < aof.nincr - keep; i++) history[nhistory++] = aof.incr[i];
    aof.base = (aofFile){bname, aof.base_seq + 1};
    if (keep && aof.nincr) {
        aof.incr[0] = aof.incr[aof.nincr - 1];
        aof.nincr = 1;
    } else {
        aof.nincr = 0;
    }
    if (newincr) aof.incr[aof.nincr++] = (aofFile){newincr, aof.incr_seq + 1};
    if (persistManifest(history, nhistory) != C_OK) {
        aof.base = oldbase;
        memcpy(aof.incr, oldincr, sizeof(aofFile) * (size_t)noldincr);
        aof.nincr = noldincr;
        sysUnlinkat(AT_FDCWD, bpath, 0);
        if (newincr) {
            sds np = aofPath(newincr);
            sysUnlinkat(AT_FDCWD, np, 0);
            sdsfree(np);
            sdsfree(newincr);
        }
        sdsfree(bname);
        sdsfree(bpath);
        rewriteFailed("the manifest could not be written");
        return;
    }
    sdsfree(bpath);
    aof.base_seq++;
    if (newincr) aof.incr_seq++;
    /* as Redis's aofDelHistoryFiles: the history goes, and the manifest
     * names it no more */
    removeFiles(history, nhistory);
    persistManifest(NULL, 0);
    freeFiles(history, nhistory);
    if (aof.state == AOF_WAIT_REWRITE) {
        aof.state = AOF_ON;
        serverLog(LL_NOTICE, "Background AOF rewrite finished successfully");
    }
    if (aof.state != AOF_OFF) {
        aof.current_size = fileSize(aof.base.name) + aof.incr_size;
        aof.fsynced_size = aof.current_size;
        aof.rewrite_base_size = aof.current_size;
    }
    aof.last_rewrite_ok = 1;
    aof.consecutive_failures = 0;
    aof.last_rewrite_time = (long long)time(NULL) - aof.rewrite_start;
    aof.rewrite_start = -1;
    serverLog(LL_NOTICE, "Background AOF rewrite terminated with success");
}

static void killRewrite(void) {
    if (aof.waiting_snapshot) serverLog(LL_NOTICE, "Killing running AOF rewrite child: its snapshot is removed once linked");
    if (aof.child) {
        serverLog(LL_NOTICE, "Killing running AOF rewrite child: %ld", (long)aof.child);
        rdbToolKill(&aof.child);
        removeTempBase();
        removeRewriteSnapshot();
        sds tname = tempIncrName(), tpath = aofPath(tname);
        sysUnlinkat(AT_FDCWD, tpath, 0);
        sdsfree(tname);
        sdsfree(tpath);
    }
    /* a snapshot still being linked is removed when it ends */
    aof.waiting_snapshot = 0;
    aof.rewrite_start = -1;
}

static void checkChild(void) {
    if (!aof.child) return;
    char why[64];
    int ok = rdbToolReap(&aof.child, why, sizeof(why));
    if (ok < 0) return;
    removeRewriteSnapshot();
    if (!ok) {
        rewriteFailed("the child writing the base failed");
        return;
    }
    rewriteDone();
}

static void bgrewriteaofCommand(client *c) {
    if (aof.child || aof.waiting_snapshot) {
        addReplyError(c, "ERR Background append only file rewriting already in progress");
    } else if (saveInProgress() || (c->flags & CLIENT_EXECUTING)) {
        aof.scheduled = 1;
        aof.consecutive_failures = 0;
        addReplyStatus(c, "Background append only file rewriting scheduled");
    } else if (startRewrite() == C_OK) {
        addReplyStatus(c, "Background append only file rewriting started");
    } else {
        addReplyError(c, "ERR Can't execute an AOF background rewriting. Please check the server logs for more "
                         "information.");
    }
}

/* ------------------------------------------------------------------------ */
/* appendonly yes / no                                                       */
/* ------------------------------------------------------------------------ */

/* As Redis's startAppendOnly: wait for a rewrite, whose end turns it on. */
static int startAppendOnly(void) {
    aof.state = AOF_WAIT_REWRITE;
    if (aofRewriteRunning() && !server.in_exec) killRewrite(); /* as Redis: a new one starts */
    if (saveInProgress()) {
        aof.scheduled = 1;
        serverLog(LL_NOTICE, "AOF was enabled but there is already another background operation. An AOF "
                  "background was scheduled to start when possible.");
    } else if (server.in_exec) {
        aof.scheduled = 1; /* as Redis: the transaction's writes are not in the stream yet */
    } else {
        if (startRewrite() != C_OK) {
            aof.state = AOF_OFF;
            return C_ERR;
        }
    }
    return C_OK;
}

static void stopAppendOnly(void) {
    closeIncr();
    aof.state = AOF_OFF;
    aof.write_ok = 1;
    aof.fsync_ok = 1;
    aof.scheduled = 0;
    killRewrite();
}

const char *aofSetEnabled(const char *v) {
    int yes;
    if (!strcasecmp(v, "yes")) yes = 1;
    else if (!strcasecmp(v, "no")) yes = 0;
    else return "argument must be 'yes' or 'no'";
    if (yes && aof.state == AOF_OFF) {
        if (startAppendOnly() != C_OK) return "Unable to turn on AOF. Check server logs.";
    } else if (!yes && aof.state != AOF_OFF) {
        stopAppendOnly();
    }
    return NULL;
}

int aofEnabled(void) { return aof.state != AOF_OFF; }
size_t aofBufferLength(void) { return aof.buf ? sdslen(aof.buf) : 0; }
void aofSetFlushSleep(int us) { aof.flush_sleep = us > 0 ? us : 0; }

/* replica.c: a full sync replaced the tree; as Redis's restartAOFAfterSYNC,
 * the AOF is made again from it. */
void aofTreeReplaced(void) {
    if (aof.state == AOF_OFF) return;
    stopAppendOnly();
    if (startAppendOnly() != C_OK) {
        aof.state = AOF_WAIT_REWRITE;
        aof.scheduled = 1;
    }
}

/* ------------------------------------------------------------------------ */
/* Settings (config.c reads the environment, CONFIG GET/SET come here)       */
/* ------------------------------------------------------------------------ */

const char *aofValidName(const char *v, int dir) {
    if (!*v) return dir ? "appenddirname can't be empty" : "appendfilename can't be empty";
    if (strchr(v, '/')) return dir ? "appenddirname can't be a path, just a dirname"
                                   : "appendfilename can't be a path, just a filename";
    if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(v))
        return dir ? "dredis takes an appenddirname of letters, digits, '.', '_' and '-' only"
                   : "dredis takes an appendfilename of letters, digits, '.', '_' and '-' only";
    if (!strcmp(v, ".") || !strcmp(v, "..")) return dir ? "appenddirname can't be . or .." : "appendfilename can't be . or ..";
    /* DREDIS_SNAPSHOT_DIR's own entries (snapshot.c removes old ones) */
    if (dir && (!strncmp(v, "snapshot-", 9) || !strncmp(v, "private-snapshot-", 17) || !strncmp(v, ".incomplete-", 12) ||
                !strncmp(v, ".sync-", 6) ||
                !strncmp(v, "temp-", 5)))
        return "appenddirname can't begin as DREDIS_SNAPSHOT_DIR's own entries (snapshot-, private-snapshot-, "
               ".incomplete-, .sync-, temp-)";
    return NULL;
}

void aofConfigure(const char *filename, const char *dirname, int enabled) {
    aof.filename = zstrdup(filename);
    aof.dirname = zstrdup(dirname);
    aof.enabled_config = enabled;
    aof.auto_perc = 100;
    aof.use_rdb_preamble = 1;
    aof.auto_min_size = 64 * 1024 * 1024;
}

const char *aofFilename(void) { return aof.filename; }
const char *aofDirname(void) { return aof.dirname; }
long long *aofAutoPercentage(void) { return &aof.auto_perc; }
long long *aofAutoMinSize(void) { return &aof.auto_min_size; }
int *aofNoFsyncOnRewrite(void) { return &aof.no_fsync_on_rewrite; }
int *aofUseRdbPreamble(void) { return &aof.use_rdb_preamble; }

/* What a rewrite cut short by a crash or a stop left: its base being
 * written (DREDIS_SNAPSHOT_DIR/temp-rewriteaof-bg-*) and the temp incr
 * file (its private snapshot is snapshot.c's to remove). */
static void removeRewriteLeftovers(void) {
    DIR *d = sysOpendir(server.snapshot_dir);
    if (d) {
        struct dirent *de;
        while ((de = sysReaddir(d)) != NULL)
            if (!strncmp(de->d_name, "temp-rewriteaof-bg-", 19)) sysUnlinkat(dirfd(d), de->d_name, 0);
        sysClosedir(d);
    }
    sds tname = tempIncrName(), tpath = aofPath(tname);
    sysUnlinkat(AT_FDCWD, tpath, 0);
    sdsfree(tname);
    sdsfree(tpath);
}

/* After the store is open (and an RDB imported): with appendonly yes the
 * AOF is made again from the tree (dredis never loads it). */
int aofInit(void) {
    aof.buf = sdsempty();
    aof.dirpath = sdscatprintf(sdsempty(), "%s/%s", server.snapshot_dir, aof.dirname);
    removeRewriteLeftovers();
    readManifest();
    if (!aof.enabled_config) return C_OK;
    serverLog(LL_NOTICE, "appendonly yes: the AOF in %s is made again from the tree", aof.dirpath);
    aof.state = AOF_WAIT_REWRITE;
    if (startRewrite() != C_OK) {
        serverLog(LL_WARNING, "Can't start the AOF rewrite at start-up; it will be tried again");
        aof.scheduled = 1;
    }
    return C_OK;
}

void aofShutdown(void) {
    closeIncr();
    killRewrite();
}

/* serverCron: the child, a scheduled or automatic rewrite, a failed write
 * tried again, the everysec fsync. */
void aofCron(void) {
    checkChild();
    /* a scheduled rewrite, tried again at most every 5 s after a failure */
    if (!aofRewriteRunning() && !saveInProgress() && aof.scheduled && (long long)time(NULL) - aof.last_try >= 5)
        startRewrite();
    if (aof.state == AOF_ON && !aofRewriteRunning() && !saveInProgress() && aof.auto_perc &&
        aof.current_size > aof.auto_min_size) {
        long long base = aof.rewrite_base_size ? aof.rewrite_base_size : 1;
        long long growth = (aof.current_size * 100 / base) - 100;
        if (growth >= aof.auto_perc) {
            serverLog(LL_NOTICE, "Starting automatic rewriting of AOF on %lld%% growth", growth);
            startRewrite();
        }
    }
    if (aof.fd < 0) return;
    if (!aof.write_ok || sdslen(aof.buf)) aofFlush();
    if ((!strcmp(server.fsync_policy, "everysec") && (long long)time(NULL) > aof.last_fsync) || !aof.fsync_ok)
        fsyncIncr();
}

sds aofGenInfo(sds info) {
    long long now = (long long)time(NULL);
    info = sdscatprintf(info,
                        "aof_enabled:%d\r\n"
                        "aof_rewrite_in_progress:%d\r\n"
                        "aof_rewrite_scheduled:%d\r\n"
                        "aof_last_rewrite_time_sec:%lld\r\n"
                        "aof_current_rewrite_time_sec:%lld\r\n"
                        "aof_last_bgrewrite_status:%s\r\n"
                        "aof_rewrites:%lld\r\n"
                        "aof_rewrites_consecutive_failures:%lld\r\n"
                        "aof_last_write_status:%s\r\n"
                        "aof_last_cow_size:0\r\n",
                        aof.state != AOF_OFF, aofRewriteRunning(), aof.scheduled, aof.last_rewrite_time,
                        aofRewriteRunning() ? now - aof.rewrite_start : -1LL, aof.last_rewrite_ok ? "ok" : "err",
                        aof.rewrites, aof.consecutive_failures, aof.write_ok ? "ok" : "err");
    if (aof.state != AOF_OFF)
        info = sdscatprintf(info,
                            "aof_current_size:%lld\r\n"
                            "aof_base_size:%lld\r\n"
                            "aof_pending_rewrite:%d\r\n"
                            "aof_buffer_length:%zu\r\n"
                            "aof_pending_bio_fsync:0\r\n"
                            "aof_delayed_fsync:0\r\n",
                            aof.current_size, aof.rewrite_base_size, aof.scheduled, sdslen(aof.buf));
    return info;
}

redisCommand aofCommandTable[] = {
    {"bgrewriteaof", bgrewriteaofCommand, 1, "admin noscript no_async_loading", "admin slow dangerous", 0, 0, 0,
     NULL},
    {NULL}};
