/* store_keys.c - keys: opening (through the metadata cache), creating under
 * .tmp and publishing, deleting, renaming, setting the expiry; the
 * descriptors of open keys (parked when they run short); and the files of
 * a key. Part of the storage layer (see store_int.h). */
#include "store_int.h"

static const char *typeNames[] = {"string", "list", "set", "zset", "hash", "stream"};

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

int storeTypeFromFile(const sds s) {
    size_t len = sdslen(s);
    while (len && (s[len - 1] == '\n')) len--;
    for (int i = 0; i < (int)(sizeof(typeNames) / sizeof(typeNames[0])); i++)
        if (strlen(typeNames[i]) == len && !memcmp(typeNames[i], s, len)) return i;
    return OBJ_NONE;
}

/* ---- key handles ----
 * Every skey is counted from its creation to storeCloseKey(), which a
 * handle gets exactly once: a second close, or a handle left open at the
 * end of a command (call() asserts none are), is a bug. */
#define SKEY_OPEN 0x736b6579u   /* "skey" */
#define SKEY_CLOSED 0xdeadbeefu
static long long openHandles;

void storeSkeyOpened(skey *k) {
    k->magic = SKEY_OPEN;
    openHandles++;
}

long long storeOpenKeyHandles(void) { return openHandles; }

skey *storeNewSkey(int db, const char *name, size_t len) {
    skey *k = zcalloc(sizeof(*k));
    storeSkeyOpened(k);
    k->db = db;
    k->name = sdsnewlen(name, len);
    k->fname = keynameEncode(name, len, &k->hashed);
    k->dirfd = -1;
    k->expire = -1;
    k->type = OBJ_NONE;
    for (int i = 0; i < 4; i++) k->nsfd[i] = -1;
    return k;
}

static void closeNamespaces(skey *k) {
    for (int i = 0; i < 4; i++) {
        if (k->nsfd[i] >= 0) sysClose(k->nsfd[i]);
        k->nsfd[i] = -1;
        k->nsname[i][0] = '\0';
    }
}

/* ---- descriptors running short ----
 * Beyond STORE_WORKING_FDS for one command, the store holds descriptors
 * in two places it can give back: the metadata cache's open directories,
 * and the keys a command holds open (ZUNIONSTORE over 300 keys holds 300).
 * At most OPEN_KEYS_MAX keys keep their directories open, the most recently
 * used: opening another parks the rest. When an open fails with EMFILE or
 * ENFILE anyway, the cache's and every key's but the one in use are closed
 * and the open is tried again. A parked key opens its directory again on
 * next use (storeKeyDir()), refusing one that is not the same inode. */
#define STORE_FIXED_FDS 4       /* ROOT_DIR, .tmp, .trash, .journal */
#define STORE_WORKING_FDS 64    /* one command: its open keys, files, listings */
#define OPEN_KEYS_MAX 8         /* keys with their directories open (5 each at most) */
static skey *openkeys;
static const skey *keyinuse; /* the key last worked on: never parked */

int storeReservedFds(int dbnum) { return STORE_FIXED_FDS + 2 * dbnum + STORE_WORKING_FDS; }

static void listKey(skey *k) {
    k->regprev = NULL;
    k->regnext = openkeys;
    if (openkeys) openkeys->regprev = k;
    openkeys = k;
}

static void unlistKey(skey *k) {
    if (k->regprev) k->regprev->regnext = k->regnext;
    else if (openkeys == k) openkeys = k->regnext;
    if (k->regnext) k->regnext->regprev = k->regprev;
    k->regprev = k->regnext = NULL;
}

static int parkKey(skey *k) {
    struct stat sb;
    if (k->dirfd < 0 || k->staged || sysFstat(k->dirfd, &sb) < 0) return 0;
    int closed = 1;
    for (int i = 0; i < 4; i++) closed += k->nsfd[i] >= 0;
    sysClose(k->dirfd);
    k->dirfd = -1;
    closeNamespaces(k);
    k->parkino = (unsigned long long)sb.st_ino;
    k->parked = 1;
    return closed;
}

static int easeFds(const skey *inuse) {
    int closed = storeMetaDropFds();
    for (skey *k = openkeys; k; k = k->regnext)
        if (k != inuse && k != keyinuse) closed += parkKey(k);
    return closed;
}

/* openat(); without O_NOATIME where it is refused (EPERM: a file this
 * process does not own, such as one restored by another user). */
int storeOpenat(int dirfd, const char *name, int flags) {
    int fd = sysOpenat(dirfd, name, flags);
    if (fd < 0 && errno == EPERM && (flags & O_NOATIME)) fd = sysOpenat(dirfd, name, flags & ~O_NOATIME);
    return fd;
}

/* storeOpenat(), once more after easeFds() when descriptors ran short. */
int storeOpenEasing(int dirfd, const char *name, int flags, const skey *inuse) {
    int fd = storeOpenat(dirfd, name, flags);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && easeFds(inuse) > 0) fd = storeOpenat(dirfd, name, flags);
    if (fd >= 0 && (flags & O_DIRECTORY)) storePathOfChild(dirfd, fd, name);
    return fd;
}

/* k's directory, opened again when it was parked (-1, errno set, when it
 * cannot be, or is no longer the directory k was opened on: ESTALE). */
/* k is being worked on: first in the list (a sub-key is not listed: its
 * parent stays marked). */
void storeKeyInUse(skey *k) {
    if (!k->regprev && openkeys != k) return;
    keyinuse = k;
    if (openkeys != k) {
        unlistKey(k);
        listKey(k);
    }
}

/* Park the keys past the OPEN_KEYS_MAX most recently used open ones. */
static void parkIdleKeys(void) {
    int open = 0;
    for (skey *k = openkeys; k; k = k->regnext)
        if (k->dirfd >= 0 && ++open > OPEN_KEYS_MAX && k != keyinuse) parkKey(k);
}

int storeKeyDir(skey *k) {
    storeKeyInUse(k);
    if (k->dirfd >= 0 || !k->parked) return k->dirfd;
    int fd = storeOpenEasing(store.dbfd[k->db], k->fname, OPEN_DIR_FLAGS, k);
    struct stat sb;
    if (fd >= 0 && (sysFstat(fd, &sb) < 0 || (unsigned long long)sb.st_ino != k->parkino)) {
        sysClose(fd);
        errno = ESTALE;
        return -1;
    }
    if (fd >= 0) {
        k->dirfd = fd;
        k->parked = 0;
        parkIdleKeys();
    }
    return fd;
}

void storeCloseKey(skey *k) {
    if (!k) return;
    serverAssert(k->magic == SKEY_OPEN); /* closed once */
    k->magic = SKEY_CLOSED;
    openHandles--;
    unlistKey(k);
    if (keyinuse == k) keyinuse = NULL;
    if (k->dirfd >= 0 && !storeMetaKeepDir(k)) sysClose(k->dirfd);
    closeNamespaces(k); /* those the entry did not take */
    sdsfree(k->name);
    sdsfree(k->fname);
    sdsfree(k->stagename);
    zfree(k);
}

/* Read the meta files of an open key directory. */
static int loadKeyMeta(skey *k) {
    sds s;
    int r = storeReadFileAt(k->dirfd, "type", &s);
    if (r != STORE_OK) {
        if (r == STORE_NOTFOUND) errno = EUCLEAN; /* a key directory without a type */
        return STORE_ERR;
    }
    k->type = storeTypeFromFile(s);
    sdsfree(s);
    if (k->type == OBJ_NONE) { errno = EUCLEAN; return STORE_ERR; }
    if (k->hashed) {
        r = storeReadFileAt(k->dirfd, "name", &s);
        if (r != STORE_OK) { errno = EUCLEAN; return STORE_ERR; }
        int same = sdslen(s) == sdslen(k->name) && !memcmp(s, k->name, sdslen(s));
        sdsfree(s);
        if (!same) { errno = EUCLEAN; return STORE_ERR; } /* digest collision */
    }
    r = storeReadFileAt(k->dirfd, "expire", &s);
    if (r == STORE_ERR) return STORE_ERR;
    if (r == STORE_OK) {
        k->expire = strtoll(s, NULL, 10);
        sdsfree(s);
    }
    return STORE_OK;
}

int openKeyOp(int db, const char *name, size_t len, skey **out) {
    *out = NULL;
    skey *k = storeNewSkey(db, name, len);
    int cached = storeMetaLookup(k);
    if (cached && k->dirfd >= 0) { /* its directory was kept open */
        listKey(k);
        parkIdleKeys();
        *out = k;
        return STORE_OK;
    }
    k->dirfd = storeOpenEasing(store.dbfd[db], k->fname, OPEN_DIR_FLAGS, NULL);
    if (k->dirfd < 0) {
        int saved = errno;
        storeCloseKey(k);
        if (saved == ENOENT) return STORE_NOTFOUND;
        errno = saved;
        return STORE_ERR;
    }
    if (!cached) {
        if (loadKeyMeta(k) != STORE_OK) {
            int saved = errno;
            storeCloseKey(k);
            errno = saved;
            return STORE_ERR;
        }
        storeMetaRemember(k);
    }
    listKey(k);
    parkIdleKeys();
    *out = k;
    return STORE_OK;
}

int newKeyOp(int db, const char *name, size_t len, int type, skey **out) {
    *out = NULL;
    skey *k = storeNewSkey(db, name, len);
    k->type = type;
    k->staged = 1;
    if (storeMakeStagingDir(&k->stagename) != STORE_OK) goto err;
    k->dirfd = storeOpenStagedDir(k->stagename);
    if (k->dirfd < 0) goto err;
    if (opWriteFile(k->dirfd, "type", typeNames[type], strlen(typeNames[type]), NULL) != STORE_OK) goto err;
    if (k->hashed && opWriteFile(k->dirfd, "name", name, len, NULL) != STORE_OK) goto err;
    *out = k;
    return STORE_OK;
err: {
        int saved = errno;
        if (k->dirfd >= 0) opTrash(store.tmpfd, k->stagename);
        storeCloseKey(k);
        errno = saved;
        return STORE_ERR;
    }
}

int publishKeyOp(skey *k, int *replaced) {
    int db = k->db;
    if (replaced) *replaced = 0;
    if (!k->staged) return STORE_OK;
    storeKeyWillChange(db, k->fname);
    /* The journal must know beforehand whether this creates or replaces. */
    struct stat sb;
    int exists = storeStatAt(store.dbfd[db], k->fname, &sb);
    if (exists < 0) return STORE_ERR;
    if (exists || opRename(store.tmpfd, k->stagename, store.dbfd[db], k->fname, RENAME_NOREPLACE) != STORE_OK) {
        if (!exists && errno != EEXIST && errno != ENOTEMPTY) return STORE_ERR;
        /* Put the new key in place, then throw the old one away. */
        sds old;
        if (opReplaceDir(store.dbfd[db], k->fname, k->stagename, &old) != STORE_OK) return STORE_ERR;
        long long oldexp = storeExpireOfDirAt(store.tmpfd, old);
        if (oldexp >= 0) storeRemoveExpireEntry(db, oldexp, k->fname);
        opTrash(store.tmpfd, old);
        sdsfree(old);
        if (replaced) *replaced = 1;
    } else if (store.dbsize[db] >= 0) {
        store.dbsize[db]++;
    }
    k->staged = 0;
    sdsfree(k->stagename);
    k->stagename = NULL;
    if (k->expire >= 0) storeAddExpireEntry(db, k->expire, k->fname);
    storeKeyTouched(k);
    storeKeyChanged(db, k->name, sdslen(k->name));
    storeKeyCaughtUp(k); /* k is what the key now is */
    return STORE_OK;
}

int deleteKeyOp(skey *k) {
    if (k->staged) {
        opTrash(store.tmpfd, k->stagename);
        return STORE_OK;
    }
    if (storeKeyDir(k) < 0 && k->parked) return STORE_ERR; /* an orphan keeps its directory open */
    storeKeyWillChange(k->db, k->fname);
    if (opTrash(store.dbfd[k->db], k->fname) != STORE_OK) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    unlistKey(k); /* orphaned: never parked, it could not be found again */
    if (k->expire >= 0) storeRemoveExpireEntry(k->db, k->expire, k->fname);
    if (store.dbsize[k->db] > 0) store.dbsize[k->db]--;
    storeKeyTouched(k);
    storeKeyChanged(k->db, k->name, sdslen(k->name));
    return STORE_OK;
}

int renameKeyOp(skey *k, int dstdb, const char *dst, size_t dstlen) {
    int hashed;
    if (storeKeyDir(k) < 0 && k->parked) return STORE_ERR;
    sds dfname = keynameEncode(dst, dstlen, &hashed);
    storeKeyWillChange(k->db, k->fname);
    storeKeyWillChange(dstdb, dfname);
    if (hashed && opWriteFile(storeKeyDir(k), "name", dst, dstlen, NULL) != STORE_OK) goto err;
    struct stat sb;
    int dstexists = storeStatAt(store.dbfd[dstdb], dfname, &sb);
    if (dstexists < 0) goto err;
    if (dstexists) {
        /* the destination goes first, then the source moves in */
        long long oldexp = storeExpireOfDirAt(store.dbfd[dstdb], dfname);
        if (opTrash(store.dbfd[dstdb], dfname) != STORE_OK) goto err;
        if (oldexp >= 0) storeRemoveExpireEntry(dstdb, oldexp, dfname);
        if (store.dbsize[dstdb] > 0) store.dbsize[dstdb]--;
    }
    if (opRename(store.dbfd[k->db], k->fname, store.dbfd[dstdb], dfname, RENAME_NOREPLACE) != STORE_OK) goto err;
    if (store.dbsize[k->db] > 0) store.dbsize[k->db]--;
    if (store.dbsize[dstdb] >= 0) store.dbsize[dstdb]++;
    if (k->hashed && !hashed) opUnlink(storeKeyDir(k), "name");
    if (k->expire >= 0) {
        storeRemoveExpireEntry(k->db, k->expire, k->fname);
        storeAddExpireEntry(dstdb, k->expire, dfname);
    }
    storeKeyTouched(k);
    storeKeyChanged(k->db, k->name, sdslen(k->name));
    storeKeyChanged(dstdb, dst, dstlen);
    sdsfree(k->fname);
    sdsfree(k->name);
    k->fname = dfname;
    k->name = sdsnewlen(dst, dstlen);
    k->hashed = hashed;
    k->db = dstdb;
    storeKeyCaughtUp(k); /* k is what the destination now is */
    storeKeyTouched(k);
    return STORE_OK;
err: {
        int saved = errno;
        sdsfree(dfname);
        errno = saved;
        return STORE_ERR;
    }
}

int setExpireOp(skey *k, long long when) {
    if (when == k->expire) return STORE_OK;
    storeSkeyWillChange(k);
    if (when >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", when);
        if (opWriteFile(storeKeyDir(k), "expire", buf, (size_t)n, NULL) != STORE_OK) return STORE_ERR;
    } else if (opUnlink(storeKeyDir(k), "expire") == STORE_ERR) {
        return STORE_ERR;
    }
    if (!k->staged) {
        if (k->expire >= 0) storeRemoveExpireEntry(k->db, k->expire, k->fname);
        if (when >= 0) storeAddExpireEntry(k->db, when, k->fname);
    }
    k->expire = when;
    if (!k->staged) storeMetaRemember(k);
    storeKeyTouched(k);
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* Files of a key                                                            */
/* ------------------------------------------------------------------------ */

int readFileOp(skey *k, const char *file, sds *out) {
    sds pend = storeCoalescedValue(k, NULL, file, strlen(file));
    if (pend) {
        *out = sdsdup(pend);
        return STORE_OK;
    }
    metaEntry *e = storeIsValueFile(file) ? storeMetaOf(k) : NULL;
    if (e && e->value) {
        *out = sdsdup(e->value);
        return STORE_OK;
    }
    int r = storeReadFileAt(storeKeyDir(k), file, out);
    if (r == STORE_OK && e) storeMetaSetValue(e, *out, sdslen(*out));
    return r;
}

int fileSizeOp(skey *k, const char *file, long long *size) {
    sds pend = storeCoalescedValue(k, NULL, file, strlen(file));
    if (pend) {
        *size = (long long)sdslen(pend);
        return STORE_OK;
    }
    metaEntry *e = storeIsValueFile(file) ? storeMetaOf(k) : NULL;
    if (e && e->value) {
        *size = (long long)sdslen(e->value);
        return STORE_OK;
    }
    struct stat sb;
    if (sysFstatat(storeKeyDir(k), file, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; return STORE_ERR; } /* a link or other intruder */
    *size = sb.st_size;
    return STORE_OK;
}

int readFileRangeOp(skey *k, const char *file, long long off, long long len, sds *out) {
    sds pend = storeCoalescedValue(k, NULL, file, strlen(file));
    if (pend) {
        long long size = (long long)sdslen(pend);
        long long from = off < size ? off : size, n = len < size - from ? len : size - from;
        *out = sdsnewlen(pend + from, (size_t)n);
        return STORE_OK;
    }
    int fd = storeOpenat(storeKeyDir(k), file, OPEN_FILE_FLAGS);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    struct stat sb;
    int bad = sysFstat(fd, &sb) < 0 ? errno : !S_ISREG(sb.st_mode) ? EUCLEAN : 0;
    if (bad) {
        sysClose(fd);
        errno = bad;
        return STORE_ERR;
    }
    sds s = sdsnewlen(NULL, (size_t)len);
    size_t got = 0;
    while (got < (size_t)len) {
        ssize_t n = sysPread(fd, s + got, (size_t)len - got, (off_t)(off + (long long)got));
        if (n < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            sdsfree(s);
            sysClose(fd);
            errno = saved;
            return STORE_ERR;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    sdssetlen(s, got);
    sysClose(fd);
    *out = s;
    return STORE_OK;
}

/* A key's own file is overwritten with data: kept pending when
 * store_coalesce.c's rules allow, otherwise written the usual way after
 * what is pending. */
static int writeKeyFile(skey *k, const char *file, const char *data, size_t len) {
    size_t flen = strlen(file);
    if (storeCoalesceTake(k, NULL, file, flen, data, len)) return STORE_OK;
    if (storeCoalesceSettleForWrite() != STORE_OK) return STORE_ERR;
    int r = opWriteFile(storeKeyDir(k), file, data, len, NULL);
    if (r == STORE_OK) storeCoalesceMark(k, NULL, file, flen);
    return r;
}

int writeFileOp(skey *k, const char *file, const char *data, size_t len) {
    storeSkeyWillChange(k);
    int r = writeKeyFile(k, file, data, len);
    storeMetaFileChanged(k, file, r == STORE_OK ? data : NULL, len);
    return storeTouchedIfOk(k, r);
}

int removeFileOp(skey *k, const char *file) {
    storeSkeyWillChange(k);
    storeMetaFileChanged(k, file, NULL, 0);
    return storeTouchedIfOk(k, opUnlink(storeKeyDir(k), file));
}

int patchFileOp(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize) {
    storeSkeyWillChange(k);
    sds tmp;
    ino_t ino;
    long long stale;
    int out = storeOpenStagingFile(&tmp, 1, &ino, &stale);
    if (out < 0) return STORE_ERR;
    /* a reused file is emptied first: a gap must read as zeros */
    if (stale > 0 && sysFtruncate(out, 0) < 0) {
        int saved = errno;
        sysClose(out);
        sysUnlinkat(store.tmpfd, tmp, 0);
        sdsfree(tmp);
        errno = saved;
        return STORE_ERR;
    }
    int in = storeOpenat(storeKeyDir(k), file, OPEN_FILE_FLAGS);
    long long oldsize = 0;
    if (in < 0 && errno != ENOENT) goto err;
    if (in >= 0) {
        struct stat sb;
        if (sysFstat(in, &sb) < 0) goto err;
        if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; goto err; }
        oldsize = sb.st_size;
        loff_t inoff = 0, outoff = 0;
        while (inoff < oldsize) {
            ssize_t n = sysCopyFileRange(in, &inoff, out, &outoff, (size_t)(oldsize - inoff), 0);
            if (n < 0) { if (errno == EINTR) continue; goto err; }
            if (n == 0) break;
        }
        sysClose(in);
        in = -1;
    }
    if (off < 0) off = oldsize;
    long long finalsize = off + (long long)len > oldsize ? off + (long long)len : oldsize;
    if (off > oldsize && sysFtruncate(out, (off_t)off) < 0) goto err;
    size_t done = 0;
    while (done < len) {
        ssize_t n = sysPwrite(out, data + done, len - done, (off_t)(off + (long long)done));
        if (n < 0) { if (errno == EINTR) continue; goto err; }
        done += (size_t)n;
    }
    if (sysClose(out) < 0) { out = -1; goto err; }
    out = -1;
    *newsize = finalsize;
    storeMetaFileChanged(k, file, NULL, 0);
    return storeTouchedIfOk(k, opInstallFile(tmp, ino, storeKeyDir(k), file, 0, NULL));
err: {
        int saved = errno;
        if (in >= 0) sysClose(in);
        if (out >= 0) sysClose(out);
        sysUnlinkat(store.tmpfd, tmp, 0);
        sdsfree(tmp);
        errno = saved;
        return STORE_ERR;
    }
}

int readNumberOp(skey *k, const char *file, long long *out, long long dflt) {
    sds s, pend = storeCoalescedValue(k, NULL, file, strlen(file));
    int r = pend ? (s = sdsdup(pend), STORE_OK) : storeReadFileAt(storeKeyDir(k), file, &s);
    if (r == STORE_NOTFOUND) { *out = dflt; return STORE_OK; }
    if (r != STORE_OK) return r;
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    int bad = errno || end == s;
    sdsfree(s);
    if (bad) { errno = EUCLEAN; return STORE_ERR; }
    return STORE_OK;
}

int writeNumberOp(skey *k, const char *file, long long v) {
    storeSkeyWillChange(k);
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    int r = writeKeyFile(k, file, buf, (size_t)n);
    storeMetaFileChanged(k, file, r == STORE_OK ? buf : NULL, (size_t)n);
    return storeTouchedIfOk(k, r);
}
