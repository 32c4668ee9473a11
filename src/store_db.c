/* store_db.c - databases: flush, swap, size, SCAN, RANDOMKEY, COPY, the
 * snapshot entry point, replacing every database at once (a loaded RDB),
 * scratch space and the files of ROOT_DIR's top level. Part of the
 * storage layer (see store_int.h). */
#include "store_int.h"

int storeSnapshot(const char *dir, int keep, int background, const char **err) {
    if (storeCoalesceSettle() != STORE_OK) { /* the tree as the commands so far left it */
        *err = strerror(errno);
        return STORE_ERR;
    }
    /* the sizes not known yet are counted (a directory listing each, once
     * in the server's life: they are kept up to date afterwards), so that
     * INFO's current_save_keys_total is exact, as Redis's */
    for (int i = 0; i < store.dbnum; i++) {
        long long n;
        if (store.dbsize[i] < 0) storeDbSize(i, &n);
    }
    return snapshotBegin(store.rootfd, store.dbfd, store.dbsize, store.dbnum, dir, keep, background, err);
}

void storeRemoveSnapshot(const char *path) { snapshotRemove(path); }

/* ------------------------------------------------------------------------ */
/* Databases: flush, size, scan                                              */
/* ------------------------------------------------------------------------ */

/* Open db's directory (and its .expires) again after it was replaced. */
static int reopenDb(int db) {
    char name[16];
    storeScanAheadDrop();
    snprintf(name, sizeof(name), "%d", db);
    sysClose(store.dbfd[db]); /* first: the new ones need no descriptor more */
    sysClose(store.expfd[db]);
    store.dbfd[db] = store.expfd[db] = -1;
    int newfd = sysOpenat(store.rootfd, name, OPEN_DIR_FLAGS);
    if (newfd < 0) return STORE_ERR;
    int newexp = sysOpenat(newfd, ".expires", OPEN_DIR_FLAGS);
    if (newexp < 0) {
        sysClose(newfd);
        return STORE_ERR;
    }
    store.dbfd[db] = newfd;
    store.expfd[db] = newexp;
    store.dbsize[db] = store.expcount[db] = -1; /* counted again when asked */
    store.expcursor[db] = 0;
    return STORE_OK;
}

/* DEBUG RELOAD and LOADAOF: the tree is the data, so loading it again means
 * forgetting everything the store keeps in memory of it and reading it
 * afresh, as at start-up: the metadata cache (types, expiries, small values,
 * the directories it keeps open, access times, every key's generation: the
 * list-ends and sorted-set index caches, keyed by generation, then miss
 * too), the cached paths of directories, SCAN's read-ahead, and each
 * database's directory, expiry index, key and expiry counts and expiry
 * cursor, opened and counted again. The layer above hears of it as Redis's
 * emptyData() tells it: WATCHed keys are touched, tracking clients
 * invalidated, blocked clients look again. The new descriptors are opened
 * before the old ones are closed, so a failure leaves the store as it was. */
int storeReload(void) {
    if (storeOpenKeyHandles() > 0) {
        errno = EBUSY;
        return STORE_ERR;
    }
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR; /* what is pending is the tree's too */
    int *dbfd = zmalloc(sizeof(int) * (size_t)store.dbnum), *expfd = zmalloc(sizeof(int) * (size_t)store.dbnum);
    int opened = 0, r = STORE_OK;
    for (; opened < store.dbnum; opened++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", opened);
        dbfd[opened] = sysOpenat(store.rootfd, name, OPEN_DIR_FLAGS);
        expfd[opened] = dbfd[opened] < 0 ? -1 : sysOpenat(dbfd[opened], ".expires", OPEN_DIR_FLAGS);
        if (expfd[opened] < 0) {
            if (dbfd[opened] >= 0) sysClose(dbfd[opened]);
            r = STORE_ERR;
            break;
        }
    }
    int saved = errno;
    if (r != STORE_OK) {
        for (int db = 0; db < opened; db++) {
            sysClose(dbfd[db]);
            sysClose(expfd[db]);
        }
    } else {
        if (storeFlushHook)
            for (int db = 0; db < store.dbnum; db++) storeFlushHook(db);
        storeKeyChanged(-1, NULL, 0); /* every metadata entry and generation; SCAN's read-ahead */
        storeMetaReopened();
        storePathsForget();
        storePathsMoved();
        for (int db = 0; db < store.dbnum; db++) {
            sysClose(store.dbfd[db]);
            sysClose(store.expfd[db]);
            store.dbfd[db] = dbfd[db];
            store.expfd[db] = expfd[db];
            store.dbsize[db] = store.expcount[db] = -1; /* counted again when asked */
            store.expcursor[db] = 0;
        }
    }
    zfree(dbfd);
    zfree(expfd);
    errno = saved;
    return r;
}

/* ---- scratch space and the files of ROOT_DIR's top level ---- */

sds storeScratchPath(char tag) {
    sds name = storeTmpName(tag);
    sds path = sdscatprintf(sdsnew(store.root), "/.tmp/%s", name);
    sdsfree(name);
    return path;
}

int storeRemoveScratch(const char *path) {
    const char *name = strrchr(path, '/');
    return opTrash(store.tmpfd, name ? name + 1 : path);
}

/* The function libraries of the tree at treefd (an empty set when it has
 * none) in place of ours, as storeReplaceAllDbs does for a database. */
static int replaceLibrariesFrom(int treefd) {
    sds staged = storeTmpName('e'), old = NULL;
    int r = STORE_OK;
    if (sysRenameat2(treefd, LIBRARIES_DIR, store.tmpfd, staged, RENAME_NOREPLACE) < 0)
        r = errno == ENOENT ? opMkdir(store.tmpfd, staged) : STORE_ERR;
    if (r == STORE_OK) r = opReplaceDir(store.rootfd, LIBRARIES_DIR, staged, &old);
    if (r == STORE_OK) opTrash(store.tmpfd, old);
    sdsfree(staged);
    sdsfree(old);
    return r;
}

/* Replace every database with the ones of the tree at path (under .tmp, see
 * storeScratchPath: a replica's full sync loads its master's RDB there),
 * in one transaction: after a failure, or a crash, the old ones are back. */
int replaceAllDbsOp(const char *path) {
    storeUncoveredChange(); /* not carried by the journal's J_WRITEs */
    const char *tree = strrchr(path, '/');
    int treefd = sysOpenat(store.tmpfd, tree ? tree + 1 : path, OPEN_DIR_FLAGS);
    if (treefd < 0) return STORE_ERR;
    storeTxnBegin();
    int r = STORE_OK;
    for (int db = 0; db < store.dbnum && r == STORE_OK; db++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", db);
        storeChangeCount++;
        storeMutationCount++;
        snapshotDbWillChange(db, store.dbfd[db]);
        if (storeFlushHook) storeFlushHook(db);
        sds staged = storeTmpName('e'), old = NULL;
        if (sysRenameat2(treefd, name, store.tmpfd, staged, RENAME_NOREPLACE) < 0) r = STORE_ERR;
        int sfd = r == STORE_OK ? sysOpenat(store.tmpfd, staged, OPEN_DIR_FLAGS) : -1;
        if (r == STORE_OK && (sfd < 0 || (sysMkdirat(sfd, ".expires", 0755) < 0 && errno != EEXIST))) r = STORE_ERR;
        if (sfd >= 0) sysClose(sfd);
        if (r == STORE_OK) r = opReplaceDir(store.rootfd, name, staged, &old);
        if (r == STORE_OK) opTrash(store.tmpfd, old);
        sdsfree(staged);
        sdsfree(old);
        storeKeyChanged(db, NULL, 0);
    }
    if (r == STORE_OK) r = replaceLibrariesFrom(treefd);
    int saved = errno;
    sysClose(treefd);
    if (r != STORE_OK) storeTxnFail();
    storeTxnEnd();
    /* whichever tree is in place now, the descriptors follow it; without
     * them the server would serve one tree and write another: it stops,
     * and starts again on the tree as committed */
    for (int db = 0; db < store.dbnum; db++) {
        if (reopenDb(db) != STORE_OK) {
            fprintf(stderr, "dredis: fatal: database %d cannot be opened again after it was replaced: %s\n", db,
                    strerror(errno));
            _exit(1);
        }
    }
    if (storeFlushHook)
        for (int db = 0; db < store.dbnum; db++) storeFlushHook(db);
    errno = saved;
    return r;
}

/* A small file of dredis's own at ROOT_DIR's top level (".replication"):
 * read whole, written whole (a new file synced and renamed over), removed. */
int readRootFileOp(const char *name, sds *out) {
    *out = NULL;
    int fd = sysOpenat(store.rootfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    sds s = sdsempty();
    char buf[4096];
    ssize_t n;
    while ((n = sysRead(fd, buf, sizeof(buf))) > 0 && sdslen(s) < (1 << 20)) s = sdscatlen(s, buf, (size_t)n);
    int saved = errno;
    sysClose(fd);
    if (n < 0) {
        sdsfree(s);
        errno = saved;
        return STORE_ERR;
    }
    *out = s;
    return STORE_OK;
}

int writeRootFileOp(const char *name, const char *data, size_t len) {
    storeUncoveredChange(); /* not carried by the journal's J_WRITEs */
    sds tmp = storeTmpName('w');
    int fd = sysOpenat(store.tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int r = fd < 0 ? STORE_ERR : writeFully(fd, data, len);
    if (r == STORE_OK && sysFsync(fd) < 0) r = STORE_ERR;
    int saved = errno;
    if (fd >= 0) sysClose(fd);
    if (r == STORE_OK && sysRenameat(store.tmpfd, tmp, store.rootfd, name) < 0) r = STORE_ERR;
    if (r == STORE_OK && sysFsync(store.rootfd) < 0) r = STORE_ERR;
    if (r != STORE_OK) {
        saved = errno;
        sysUnlinkat(store.tmpfd, tmp, 0);
    }
    sdsfree(tmp);
    errno = saved;
    return r;
}

int removeRootFileOp(const char *name) {
    storeUncoveredChange(); /* not carried by the journal's J_WRITEs */
    if (sysUnlinkat(store.rootfd, name, 0) < 0 && errno != ENOENT) return STORE_ERR;
    return sysFsync(store.rootfd) < 0 ? STORE_ERR : STORE_OK;
}

int flushDbOp(int db) {
    storeUncoveredChange(); /* not carried by the journal's J_WRITEs */
    char name[16];
    snprintf(name, sizeof(name), "%d", db);
    int newfd, newexp;
    storeChangeCount++;
    storeMutationCount++;
    snapshotDbWillChange(db, store.dbfd[db]);
    if (storeFlushHook) storeFlushHook(db);
    /* 'e', not 'd': the directory pool's names are d<pid>-<n> with their
     * own counter, and a clash made FLUSHDB fail with EEXIST */
    sds staged = storeTmpName('e');
    /* build the empty database first, then swap it in */
    if (opMkdir(store.tmpfd, staged) != STORE_OK) { sdsfree(staged); return STORE_ERR; }
    int sfd = sysOpenat(store.tmpfd, staged, OPEN_DIR_FLAGS);
    sds old = NULL;
    if (sfd < 0 || opMkdir(sfd, ".expires") != STORE_OK || opReplaceDir(store.rootfd, name, staged, &old) != STORE_OK) {
        int saved = errno;
        if (sfd >= 0) sysClose(sfd);
        opTrash(store.tmpfd, staged);
        sdsfree(staged);
        errno = saved;
        return STORE_ERR;
    }
    sysClose(sfd);
    opTrash(store.tmpfd, old);
    sdsfree(old);
    sdsfree(staged);
    storeKeyChanged(db, NULL, 0);
    newfd = sysOpenat(store.rootfd, name, OPEN_DIR_FLAGS);
    if (newfd < 0) return STORE_ERR;
    newexp = sysOpenat(newfd, ".expires", OPEN_DIR_FLAGS);
    if (newexp < 0) { sysClose(newfd); return STORE_ERR; }
    sysClose(store.dbfd[db]);
    sysClose(store.expfd[db]);
    store.dbfd[db] = newfd;
    store.expfd[db] = newexp;
    store.dbsize[db] = 0;
    store.expcount[db] = 0;
    store.expcursor[db] = 0;
    return STORE_OK;
}

int swapDbOp(int db1, int db2) {
    storeUncoveredChange(); /* not carried by the journal's J_WRITEs */
    char n1[16], n2[16];
    if (db1 == db2) return STORE_OK;
    snprintf(n1, sizeof(n1), "%d", db1);
    snprintf(n2, sizeof(n2), "%d", db2);
    storeChangeCount++;
    storeMutationCount++;
    snapshotDbWillChange(db1, store.dbfd[db1]);
    snapshotDbWillChange(db2, store.dbfd[db2]);
    if (storeFlushHook) {
        storeFlushHook(db1);
        storeFlushHook(db2);
    }
    sds aside = storeTmpName('s');
    int r = opRename(store.rootfd, n1, store.tmpfd, aside, RENAME_NOREPLACE);
    if (r == STORE_OK) r = opRename(store.rootfd, n2, store.rootfd, n1, RENAME_NOREPLACE);
    if (r == STORE_OK) r = opRename(store.tmpfd, aside, store.rootfd, n2, RENAME_NOREPLACE);
    sdsfree(aside);
    if (r != STORE_OK) {
        storeTxnFail();
        return STORE_ERR;
    }
#define SWAP(type, a, b) do { type t_ = (a); (a) = (b); (b) = t_; } while (0)
    SWAP(int, store.dbfd[db1], store.dbfd[db2]);
    SWAP(int, store.expfd[db1], store.expfd[db2]);
    SWAP(long long, store.dbsize[db1], store.dbsize[db2]);
    SWAP(long long, store.expcount[db1], store.expcount[db2]);
    SWAP(unsigned long long, store.expcursor[db1], store.expcursor[db2]);
#undef SWAP
    storeKeyChanged(db1, NULL, 0);
    storeKeyChanged(db2, NULL, 0);
    /* and again after: a key that was missing may exist now (WATCH) */
    if (storeFlushHook) {
        storeFlushHook(db1);
        storeFlushHook(db2);
    }
    return STORE_OK;
}

/* Recreate the tree srcfd/name under dstfd/name, hard-linking its files. */
static int linkTree(int srcfd, int dstfd, const char *name) {
    int sfd = sysOpenat(srcfd, name, OPEN_DIR_FLAGS);
    if (sfd < 0) return STORE_ERR;
    if (opMkdir(dstfd, name) != STORE_OK) { sysClose(sfd); return STORE_ERR; }
    int dfd = sysOpenat(dstfd, name, OPEN_DIR_FLAGS);
    int r = dfd < 0 ? STORE_ERR : STORE_OK;
    DIR *d = r == STORE_OK ? sysFdopendir(sfd) : NULL;
    if (!d) {
        if (dfd >= 0) sysClose(dfd);
        sysClose(sfd);
        return STORE_ERR;
    }
    struct dirent *de;
    while (r == STORE_OK && (de = sysReaddir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_type == DT_DIR) r = linkTree(dirfd(d), dfd, de->d_name);
        else if (sysLinkat(dirfd(d), de->d_name, dfd, de->d_name, 0) < 0) r = STORE_ERR;
    }
    int saved = errno;
    sysClosedir(d);
    sysClose(dfd);
    errno = saved;
    return r;
}

int copyKeyOp(skey *k, int dstdb, const char *dst, size_t dstlen, int replace) {
    storeUncoveredChange(); /* not carried by the journal's J_WRITEs */
    skey *n = storeNewSkey(dstdb, dst, dstlen);
    n->type = k->type;
    n->staged = 1;
    n->stagename = storeTmpName('k');
    n->expire = k->expire;
    if (opMkdir(store.tmpfd, n->stagename) != STORE_OK || (n->dirfd = sysOpenat(store.tmpfd, n->stagename, OPEN_DIR_FLAGS)) < 0)
        goto err;
    /* every entry of the key directory: files linked, directories rebuilt */
    int sfd = sysOpenat(storeKeyDir(k), ".", OPEN_DIR_FLAGS);
    DIR *d = sfd >= 0 ? sysFdopendir(sfd) : NULL;
    if (!d) {
        if (sfd >= 0) sysClose(sfd);
        goto err;
    }
    struct dirent *de;
    int r = STORE_OK;
    while (r == STORE_OK && (de = sysReaddir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, "name")) continue;
        if (de->d_type == DT_DIR) r = linkTree(dirfd(d), n->dirfd, de->d_name);
        else if (sysLinkat(dirfd(d), de->d_name, n->dirfd, de->d_name, 0) < 0) r = STORE_ERR;
    }
    int saved = errno;
    sysClosedir(d);
    errno = saved;
    if (r != STORE_OK) goto err;
    if (n->hashed && opWriteFile(n->dirfd, "name", dst, dstlen, NULL) != STORE_OK) goto err;
    if (!replace) {
        struct stat sb;
        int e = storeStatAt(store.dbfd[dstdb], n->fname, &sb);
        if (e != 0) {
            if (e > 0) errno = EEXIST;
            goto err;
        }
    }
    if (publishKeyOp(n, NULL) != STORE_OK) goto err;
    storeCloseKey(n);
    return STORE_OK;
err: {
        int e = errno;
        if (n->dirfd >= 0) opTrash(store.tmpfd, n->stagename);
        storeCloseKey(n);
        errno = e;
        return STORE_ERR;
    }
}

/* The raw key for a directory entry of a database. */
sds storeKeyNameOfEntry(int db, const char *fname) {
    size_t len = strlen(fname);
    if (!keynameIsHashed(fname, len)) return keynameDecode(fname, len);
    int fd = sysOpenat(store.dbfd[db], fname, OPEN_DIR_FLAGS);
    if (fd < 0) return NULL;
    sds name = NULL;
    if (storeReadFileAt(fd, "name", &name) != STORE_OK) name = NULL;
    sysClose(fd);
    return name;
}

int dbSizeOp(int db, long long *out) {
    if (store.dbsize[db] < 0) {
        dirReader r;
        int rc = storeDirReaderOpen(&r, store.dbfd[db], ".", 0);
        if (rc != STORE_OK) return STORE_ERR;
        long long n = 0;
        while (storeDirReaderNext(&r, 0)) n++;
        if (storeDirReaderEnd(&r) != STORE_OK) return STORE_ERR;
        store.dbsize[db] = n;
    }
    *out = store.dbsize[db];
    return STORE_OK;
}

/* The reader of the last SCAN step, kept open with what it read ahead, so
 * that the step that follows (same db, the cursor it returned) needs no
 * open, seek or directory read of its own: a full SCAN then costs one
 * getdents64 per buffer of entries, not one per call. An entry read ahead
 * may have gone since: the caller checks each key before it replies. */
static struct {
    dirReader r;
    int db;
    unsigned long long next;
} scanAhead = {.r = {.fd = -1}, .db = -1};

void storeScanAheadDrop(void) {
    storePrefetchDrop();
    storeDirReaderClose(&scanAhead.r);
    scanAhead.db = -1;
}

/* A reader positioned at cursor: the one kept from the step before, or a new one. */
static int scanReaderAt(int db, unsigned long long cursor, dirReader **out) {
    if (cursor == 0 || scanAhead.db != db || scanAhead.next != cursor) {
        storeScanAheadDrop();
        if (storeDirReaderOpen(&scanAhead.r, store.dbfd[db], ".", cursor) != STORE_OK) return STORE_ERR;
        scanAhead.db = db;
    }
    *out = &scanAhead.r;
    return STORE_OK;
}

int scanKeysOp(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
                  unsigned long long *next) {
    dirReader *r;
    if (scanReaderAt(db, cursor, &r) != STORE_OK) return STORE_ERR;
    long seen = 0;
    struct linux_dirent64 *d;
    storePrefetchEntries(store.dbfd[db], r);
    while (seen < count && (d = storeDirReaderNext(r, 0)) != NULL) {
        storePrefetchEntries(store.dbfd[db], r); /* a buffer just read */
        seen++;
        sds name = storeKeyNameOfEntry(db, d->d_name);
        if (!name) continue; /* not ours: ignored */
        int stop = fn(ud, name, sdslen(name));
        sdsfree(name);
        if (stop) break;
    }
    if (!r->err && !r->eof && r->bpos >= r->nread) {
        /* batch exhausted exactly at count: read on, to know whether anything follows */
        long n = sysGetdents64(r->fd, r->buf, sizeof(r->buf));
        if (n > 0) {
            r->nread = n;
            r->bpos = 0;
            storePrefetchEntries(store.dbfd[db], r); /* looked up while the reply travels */
        } else if (n == 0) {
            r->eof = 1;
            r->pos = 0;
        } else {
            r->err = errno;
        }
    }
    if (r->err) {
        /* a listing cut short is an error, not the end of the scan */
        int err = r->err;
        storeScanAheadDrop();
        errno = err;
        return STORE_ERR;
    }
    *next = r->pos; /* 0 once the end was read */
    if (r->eof) storeScanAheadDrop();
    else scanAhead.next = r->pos;
    return STORE_OK;
}

int randomKeyOp(int db, sds *out) {
    *out = NULL;
    long long size;
    if (dbSizeOp(db, &size) != STORE_OK) return STORE_ERR;
    if (size == 0) return STORE_NOTFOUND;
    /* ext4 and most file systems hand out hash-ordered offsets: seek to a
     * random one and take the next key, falling back to the start. */
    unsigned long long off = ((unsigned long long)random() << 31 | (unsigned long long)random()) & 0x7fffffffffffffffULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        dirReader r;
        if (storeDirReaderOpen(&r, store.dbfd[db], ".", attempt == 0 ? off : 0) != STORE_OK) {
            if (attempt == 0) continue;
            return STORE_ERR;
        }
        struct linux_dirent64 *d;
        while ((d = storeDirReaderNext(&r, 0)) != NULL) {
            sds name = storeKeyNameOfEntry(db, d->d_name);
            if (name) {
                storeDirReaderClose(&r);
                *out = name;
                return STORE_OK;
            }
        }
        storeDirReaderClose(&r);
    }
    return STORE_NOTFOUND;
}
