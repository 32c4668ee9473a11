/* store.c - the key tree under ROOT_DIR: the store's core. This file and
 * the other parts of the storage layer (store_*.c, listed in store_int.h)
 * are the only code that builds file names or calls file syscalls for data.
 *
 * Layout (docs/storage-format.md is the full specification):
 *   ROOT_DIR/<db>/<encoded key>/type       "string", "hash", ...
 *   ROOT_DIR/<db>/<encoded key>/value      a string's bytes
 *   ROOT_DIR/<db>/<encoded key>/expire     unix ms, when the key has a TTL
 *   ROOT_DIR/<db>/<encoded key>/name       the raw key, when the name is shortened
 *   ROOT_DIR/<db>/<encoded key>/<ns>/<encoded member>   collections
 *   ROOT_DIR/<db>/.expires/<ms>_<encoded key>           expiry index
 *   ROOT_DIR/.tmp/    files and keys being written (emptied at start-up)
 *   ROOT_DIR/.trash/  deleted keys, removed by a background thread
 *
 * Rules kept by every part: every path is one component opened relative to
 * a directory descriptor with O_NOFOLLOW, so nothing outside ROOT_DIR is
 * ever reached; files are written beside their target under .tmp and
 * renamed over it, never edited in place; a new key is built whole under
 * .tmp and renamed into its database, so readers see all of it or none of
 * it. All mutations go through the op* primitives (store_ops.c).
 *
 * This file owns the store's state, start-up and shutdown, and the public
 * entry points of store.h that can fail: each is its *Op body (in the part
 * that owns it) through the sticky-failure wrappers at the end. */
#include "store_int.h"

struct storeState store;

const char *storeRoot(void) { return store.root; }

/* ------------------------------------------------------------------------ */
/* Start-up and shutdown                                                     */
/* ------------------------------------------------------------------------ */

static int openOrMakeDir(int parentfd, const char *name, int *out) {
    if (sysMkdirat(parentfd, name, 0755) < 0 && errno != EEXIST) return STORE_ERR;
    int fd = sysOpenat(parentfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return STORE_ERR;
    *out = fd;
    return STORE_OK;
}

/* Anything left under .tmp by a previous run is an unfinished write. */
static void clearStaging(void) {
    int fd = sysOpenat(store.tmpfd, ".", OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = sysFdopendir(fd);
    if (!d) { sysClose(fd); return; }
    struct dirent *de;
    int moved = 0;
    while ((de = sysReaddir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        sds t = storeTmpName('s');
        if (sysRenameat(dirfd(d), de->d_name, store.trashfd, t) == 0) moved++;
        sdsfree(t);
    }
    sysClosedir(d);
    if (moved) storeTrashWake();
}

/* The state of a store on root with dbnum databases, nothing opened yet:
 * every descriptor -1, every count "not counted yet". */
static void resetState(const char *root, int dbnum) {
    memset(&store, 0, sizeof(store));
    store.rootfd = store.tmpfd = store.trashfd = -1;
    storeMetaOpen();
    store.root = sdsnew(root);
    store.dbnum = dbnum;
    store.dbfd = zmalloc(sizeof(int) * (size_t)dbnum);
    store.expfd = zmalloc(sizeof(int) * (size_t)dbnum);
    store.dbsize = zmalloc(sizeof(long long) * (size_t)dbnum);
    store.expcount = zmalloc(sizeof(long long) * (size_t)dbnum);
    store.expcursor = zcalloc(sizeof(unsigned long long) * (size_t)dbnum);
    for (int i = 0; i < dbnum; i++) {
        store.dbfd[i] = store.expfd[i] = -1;
        store.dbsize[i] = store.expcount[i] = -1;
    }
}

int storeInit(const char *root, int dbnum, char **err) {
    static char errbuf[512];
    resetState(root, dbnum);
    store.rootfd = sysOpen(root, OPEN_DIR_FLAGS & ~O_NOFOLLOW);
    if (store.rootfd < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot open ROOT_DIR '%s': %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    if (sysFaccessat(store.rootfd, ".", W_OK, AT_EACCESS) < 0) {
        snprintf(errbuf, sizeof(errbuf), "ROOT_DIR '%s' is not writable: %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    int libfd = -1;
    if (openOrMakeDir(store.rootfd, ".tmp", &store.tmpfd) != STORE_OK ||
        openOrMakeDir(store.rootfd, ".trash", &store.trashfd) != STORE_OK ||
        openOrMakeDir(store.rootfd, LIBRARIES_DIR, &libfd) != STORE_OK) {
        snprintf(errbuf, sizeof(errbuf), "cannot create .tmp/.trash/%s under ROOT_DIR '%s': %s", LIBRARIES_DIR, root,
                 strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    sysClose(libfd);
    for (int i = 0; i < dbnum; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", i);
        if (openOrMakeDir(store.rootfd, name, &store.dbfd[i]) != STORE_OK ||
            openOrMakeDir(store.dbfd[i], ".expires", &store.expfd[i]) != STORE_OK) {
            snprintf(errbuf, sizeof(errbuf), "cannot create database directory %s under ROOT_DIR '%s': %s", name,
                     root, strerror(errno));
            *err = errbuf;
            return STORE_ERR;
        }
    }
    store.files.prefix = 'f';
    store.dirs.prefix = 'd';
    store.files.max = store.cut.max = POOL_MAX;
    store.dirs.max = POOL_DIRS_MAX;
    store.recycle.max = RECYCLE_QUEUE_MAX;
    struct pool *pools[4] = {&store.files, &store.dirs, &store.recycle, &store.cut};
    for (int i = 0; i < 4; i++) {
        pools[i]->names = zcalloc(sizeof(pools[i]->names[0]) * (size_t)pools[i]->max);
        pools[i]->since = zcalloc(sizeof(long long) * (size_t)pools[i]->max);
    }
    store.pool_space_ok = 0; /* until the background thread has looked */
    pthread_mutex_init(&store.trash_lock, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC); /* waits measured in monotonicMs() */
    pthread_cond_init(&store.trash_cond, &cattr);
    pthread_condattr_destroy(&cattr);
    {
        char proc[64], buf[4096];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", store.rootfd);
        ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
        store.rootreal = sdsnewlen(buf, n > 0 ? (size_t)n : 0);
    }
    /* undo a transaction a crash interrupted, before .tmp is cleared: the
     * versions it displaced wait there */
    if (journalOpen(store.rootfd, store.trashfd, err) < 0) return STORE_ERR;
    reserveInit(store.rootfd);
    clearStaging();
    store.trash_pending++; /* empty what a previous run left in .trash */
    snapshotSetTrash(store.trashfd, storeTrashWake);
    if (pthread_create(&store.trash_thread, NULL, storeTrashThreadMain, NULL) != 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot start the trash thread");
        *err = errbuf;
        return STORE_ERR;
    }
    store.trash_started = 1;
    return STORE_OK;
}

/* Open the tree read-only, for an offline export (rdb_save.c) of a tree no
 * server uses or of a snapshot: nothing is created, recovered, cleaned or
 * started (no journal, no .tmp/.trash, no background thread, no pools), so
 * the tree is left exactly as it was. Reading works as usual; a write fails
 * (there is no staging area). Every database directory must exist. */
int storeInitReadOnly(const char *root, int dbnum, char **err) {
    static char errbuf[512];
    resetState(root, dbnum);
    store.rootreal = sdsnew(root);
    store.rootfd = sysOpen(root, OPEN_DIR_FLAGS & ~O_NOFOLLOW);
    if (store.rootfd < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot open the tree '%s': %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    for (int i = 0; i < dbnum; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", i);
        store.dbfd[i] = sysOpenat(store.rootfd, name, OPEN_DIR_FLAGS);
        if (store.dbfd[i] < 0) {
            snprintf(errbuf, sizeof(errbuf), "cannot open database directory %s of '%s' (not a dredis tree?): %s",
                     name, root, strerror(errno));
            *err = errbuf;
            return STORE_ERR;
        }
        /* a tree without an expiry index has no TTLs; one that cannot be read is an error */
        store.expfd[i] = sysOpenat(store.dbfd[i], ".expires", OPEN_DIR_FLAGS);
        if (store.expfd[i] < 0 && errno != ENOENT) {
            snprintf(errbuf, sizeof(errbuf), "cannot open the expiry index of database %s of '%s': %s", name, root,
                     strerror(errno));
            *err = errbuf;
            return STORE_ERR;
        }
    }
    return STORE_OK;
}

void storeShutdown(void) {
    snapshotAbort();
    snapshotSetTrash(-1, NULL);
    storePrefetchStop();
    storeCommitPending();
    /* the writes only the journal carries go to the tree (else the next
     * start makes them again) */
    if (store.fsync_policy == STORE_FSYNC_ALWAYS && journalWritesUnsynced()) storeSyncAll();
    if (store.trash_started) {
        pthread_mutex_lock(&store.trash_lock);
        store.trash_stop = 1;
        pthread_cond_signal(&store.trash_cond);
        pthread_mutex_unlock(&store.trash_lock);
        pthread_join(store.trash_thread, NULL);
        store.trash_started = 0;
    }
    for (int i = 0; i < store.dbnum; i++) {
        if (store.dbfd) sysClose(store.dbfd[i]);
        if (store.expfd) sysClose(store.expfd[i]);
    }
    journalClose();
    reserveClose();
    if (store.tmpfd >= 0) sysClose(store.tmpfd);
    if (store.trashfd >= 0) sysClose(store.trashfd);
    if (store.rootfd >= 0) sysClose(store.rootfd);
    zfree(store.dbfd);
    zfree(store.expfd);
    zfree(store.dbsize);
    zfree(store.expcount);
    zfree(store.expcursor);
    sdsfree(store.root);
    sdsfree(store.rootreal);
    zfree(store.deferred);
    storePathsForget();
    storeMetaClose();
    struct pool *pools[4] = {&store.files, &store.dirs, &store.recycle, &store.cut};
    for (int i = 0; i < 4; i++) {
        zfree(pools[i]->names);
        zfree(pools[i]->since);
    }
    storeLastChangedDb = -1;
    memset(&store, 0, sizeof(store));
}

/* ------------------------------------------------------------------------ */
/* Sticky failures: the public entry points                                  */
/* ------------------------------------------------------------------------ */

/* Every entry point of store.h that can fail is the op of the same name
 * (above) through stickyResult(): a STORE_ERR marks the current transaction
 * failed, so storeTxnEnd() rolls back whatever the command did, whichever
 * reply its handler then sends (as SQLite's pager enters its error state on
 * the first I/O error). A failed read marks it too: a read-only command has
 * nothing to roll back, and a write command that cannot read what it must
 * update may not keep its changes. The only failures that are expected
 * answers, not errors, are named by their callers (EEXIST below). */
/* Every entry point that changes the tree, or reads it other than through
 * the reads that know pending writes, first writes what writes coalesced
 * within this loop turn left pending (storeCoalesceSettle(), see
 * store_coalesce.c), so the tree changes in the order commands ran. */
static int stickyResult(int r) {
    if (r == STORE_ERR) storeTxnFail();
    return r;
}

/* STORE_ERR with errno EEXIST is an answer ("it exists"), nothing failed. */
static int stickyUnlessExists(int r) {
    return r == STORE_ERR && errno == EEXIST ? r : stickyResult(r);
}

int storeOpenKey(int db, const char *name, size_t len, skey **out) {
    return stickyResult(openKeyOp(db, name, len, out));
}
int storeNewKey(int db, const char *name, size_t len, int type, skey **out) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(newKeyOp(db, name, len, type, out));
}
int storePublishKey(skey *k, int *replaced) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(publishKeyOp(k, replaced));
}
int storeDeleteKey(skey *k) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(deleteKeyOp(k));
}
int storeRenameKey(skey *k, int dstdb, const char *dst, size_t dstlen) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(renameKeyOp(k, dstdb, dst, dstlen));
}
int storeSetExpire(skey *k, long long when) {
    if (when != k->expire && storeCoalesceSettle() != STORE_OK) return STORE_ERR; /* else it changes nothing */
    return stickyResult(setExpireOp(k, when));
}
int storeReplaceAllDbs(const char *path) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(replaceAllDbsOp(path));
}
int storeReadRootFile(const char *name, sds *out) { return stickyResult(readRootFileOp(name, out)); }
int storeWriteRootFile(const char *name, const char *data, size_t len) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(writeRootFileOp(name, data, len));
}
int storeRemoveRootFile(const char *name) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(removeRootFileOp(name));
}
int storeWriteLibrary(const char *name, size_t len, const char *code, size_t codelen) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(writeLibraryOp(name, len, code, codelen));
}
int storeRemoveLibrary(const char *name, size_t len) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(removeLibraryOp(name, len));
}
int storeReadLibraries(storeLibraryVisitor *fn, void *ud) { return stickyResult(readLibrariesOp(fn, ud)); }
int storeFlushDb(int db) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(flushDbOp(db));
}
int storeSwapDb(int db1, int db2) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(swapDbOp(db1, db2));
}
int storeCopyKey(skey *k, int dstdb, const char *dst, size_t dstlen, int replace) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyUnlessExists(copyKeyOp(k, dstdb, dst, dstlen, replace));
}
int storeDbSize(int db, long long *out) { return stickyResult(dbSizeOp(db, out)); }
int storeScanKeys(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
              unsigned long long *next) {
    return stickyResult(scanKeysOp(db, cursor, count, fn, ud, next));
}
static int collectKeyName(void *ud, const char *name, size_t len) {
    storeKeyBatch *b = ud;
    b->names[b->n++] = sdsnewlen(name, len);
    return b->n == STORE_KEY_BATCH; /* full: the cursor resumes after it */
}
int storeScanKeyBatch(int db, unsigned long long cursor, storeKeyBatch *b, unsigned long long *next) {
    storeKeyBatchClear(b);
    return storeScanKeys(db, cursor, STORE_KEY_BATCH, collectKeyName, b, next);
}
void storeKeyBatchClear(storeKeyBatch *b) {
    int saved = errno;
    for (int i = 0; i < b->n; i++) sdsfree(b->names[i]);
    b->n = 0;
    errno = saved;
}
int storeRandomKey(int db, sds *out) { return stickyResult(randomKeyOp(db, out)); }
int storeReadFile(skey *k, const char *file, sds *out) { return stickyResult(readFileOp(k, file, out)); }
int storeFileSize(skey *k, const char *file, long long *size) { return stickyResult(fileSizeOp(k, file, size)); }
int storeReadFileRange(skey *k, const char *file, long long off, long long len, sds *out) {
    return stickyResult(readFileRangeOp(k, file, off, len, out));
}
int storeWriteFile(skey *k, const char *file, const char *data, size_t len) {
    return stickyResult(writeFileOp(k, file, data, len));
}
int storeRemoveFile(skey *k, const char *file) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(removeFileOp(k, file));
}
int storePatchFile(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(patchFileOp(k, file, off, data, len, newsize));
}
int storeReadNumber(skey *k, const char *file, long long *out, long long dflt) {
    return stickyResult(readNumberOp(k, file, out, dflt));
}
int storeWriteNumber(skey *k, const char *file, long long v) { return stickyResult(writeNumberOp(k, file, v)); }
int storeReadMember(skey *k, const char *ns, const char *m, size_t mlen, sds *out) {
    return stickyResult(readMemberOp(k, ns, m, mlen, out));
}
int storeMemberExists(skey *k, const char *ns, const char *m, size_t mlen) {
    return stickyResult(memberExistsOp(k, ns, m, mlen));
}
int storeMemberSize(skey *k, const char *ns, const char *m, size_t mlen, long long *size) {
    return stickyResult(memberSizeOp(k, ns, m, mlen, size));
}
int storeWriteMember(skey *k, const char *ns, const char *m, size_t mlen, const char *data, size_t dlen, int *created) {
    return stickyResult(writeMemberOp(k, ns, m, mlen, data, dlen, created));
}
int storeRemoveMember(skey *k, const char *ns, const char *m, size_t mlen) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(removeMemberOp(k, ns, m, mlen));
}
int storeCountMembers(skey *k, const char *ns, long long *out) { return stickyResult(countMembersOp(k, ns, out)); }
int storeOpenSub(skey *k, const char *ns, const char *m, size_t mlen, skey **out) {
    return stickyResult(openSubOp(k, ns, m, mlen, out));
}
int storeNewSub(skey *k, skey **out) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(newSubOp(k, out));
}
int storePublishSub(skey *k, const char *ns, const char *m, size_t mlen, skey *sub) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyUnlessExists(publishSubOp(k, ns, m, mlen, sub));
}
int storeRemoveSub(skey *k, const char *ns, const char *m, size_t mlen) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    return stickyResult(removeSubOp(k, ns, m, mlen));
}
int storeIterOpen(skey *k, const char *ns, unsigned long long cursor, storeIter **out) {
    return stickyResult(iterOpenOp(k, ns, cursor, out));
}
int storeIterNext(storeIter *it, sds *m) { return stickyResult(iterNextOp(it, m)); }
int storeIterCursor(storeIter *it, unsigned long long *cursor) { return stickyResult(iterCursorOp(it, cursor)); }
int storeSamplerOpen(skey *k, const char *ns, storeSampler **out) { return stickyResult(samplerOpenOp(k, ns, out)); }
int storeSamplerNext(storeSampler *s, sds *m) { return stickyResult(samplerNextOp(s, m)); }
