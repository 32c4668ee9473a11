/* store_ops.c - the mutation primitives: every change to the tree goes
 * through an op* function here (staging a file under .tmp and installing
 * it, unlink, mkdir, rename, replacing a directory, moving to .trash), each
 * journaled first inside a transaction. Part of the storage layer (see
 * store_int.h). */
#include "store_int.h"

/* ------------------------------------------------------------------------ */
/* Mutation primitives: every change to the tree goes through these.         */
/* ------------------------------------------------------------------------ */

/* Open a file of the recycling queue or the pool for writing, if nothing
 * else names it (and, from the pool, if it is empty as promised); *stale
 * gets its size. -1 (and the name removed) otherwise. */
static int openRecycledFile(const char *name, int mode, int fresh, ino_t *ino, long long *stale) {
    int fd = sysOpenat(store.tmpfd, name, mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    if (sysFstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 && (!fresh || sb.st_size == 0)) {
        *ino = sb.st_ino;
        *stale = sb.st_size;
        return fd;
    }
    sysClose(fd);
    sysUnlinkat(store.tmpfd, name, 0); /* our name only: another keeps its bytes */
    return -1;
}

/* The oldest replaced file of the recycling queue, if it left the tree
 * RECYCLE_MIN_AGE_MS ago (NULL otherwise). */
static sds recycleTake(void) {
    sds name = NULL;
    pthread_mutex_lock(&store.trash_lock);
    struct pool *q = &store.recycle;
    if (q->count > 0 && storeMonotonicMs() - q->since[q->head] >= RECYCLE_MIN_AGE_MS) {
        name = sdsnew(q->names[q->head]);
        q->head = (q->head + 1) % q->max;
        q->count--;
    }
    pthread_mutex_unlock(&store.trash_lock);
    return name;
}

/* A file under .tmp to write a new version into: a replaced one of the
 * recycling queue (*stale bytes in it, to overwrite and cut), else an empty
 * one from the pool or a new one (*stale 0); *ino gets its inode number. */
int storeOpenStagingFile(sds *tmpname, int rdwr, ino_t *ino, long long *stale) {
    int mode = rdwr ? O_RDWR : O_WRONLY;
    *stale = 0;
    if (!storeRoomForNewData()) return -1;
    int fd = -1;
    sds name = NULL;
    for (int tries = 0; fd < 0 && tries < 4 && (name = recycleTake()) != NULL; tries++) {
        fd = openRecycledFile(name, mode, 0, ino, stale);
        if (fd < 0) {
            sdsfree(name);
            name = NULL;
        }
    }
    if (fd < 0 && (name = storePoolTake(&store.files)) != NULL) fd = openRecycledFile(name, mode, 1, ino, stale);
    if (fd < 0) {
        sdsfree(name);
        name = storeTmpName('w');
        fd = sysOpenat(store.tmpfd, name, mode | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && storeYieldReserve()) fd = sysOpenat(store.tmpfd, name, mode | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        struct stat sb;
        if (fd >= 0 && sysFstat(fd, &sb) < 0) {
            int saved = errno;
            sysClose(fd);
            sysUnlinkat(store.tmpfd, name, 0);
            errno = saved;
            fd = -1;
        } else if (fd >= 0) {
            *ino = sb.st_ino;
        }
    }
    if (fd < 0) {
        sdsfree(name);
        return -1;
    }
    *tmpname = name;
    return fd;
}

/* A new empty directory under .tmp (a key or sub-key being built), from the
 * pool when it has one. */
int storeMakeStagingDir(sds *tmpname) {
    if (!storeRoomForNewData()) return STORE_ERR;
    sds name = storePoolTake(&store.dirs);
    if (!name) {
        name = storeTmpName('k');
        if (sysMkdirat(store.tmpfd, name, 0755) < 0 && !(storeYieldReserve() && sysMkdirat(store.tmpfd, name, 0755) == 0)) {
            sdsfree(name);
            return STORE_ERR;
        }
    }
    *tmpname = name;
    return STORE_OK;
}

/* Open .tmp/name, a directory being built, its path remembered. */
int storeOpenStagedDir(const char *name) {
    int fd = sysOpenat(store.tmpfd, name, OPEN_DIR_FLAGS);
    if (fd >= 0) {
        sds rel = sdscat(sdsnew(".tmp/"), name);
        storePathIs(fd, rel, 0);
        sdsfree(rel);
    }
    return fd;
}

/* Create a new file under .tmp holding data; returns its name and, when
 * ino is given, its inode number. */
int opStageFile(const char *data, size_t len, sds *tmpname, ino_t *ino) {
    for (int attempt = 0;; attempt++) {
        sds name;
        ino_t staged;
        long long stale;
        int fd = storeOpenStagingFile(&name, 0, &staged, &stale);
        if (fd < 0) return STORE_ERR;
        if (writeFully(fd, data, len) < 0 || (stale > (long long)len && sysFtruncate(fd, (off_t)len) < 0)) {
            int saved = errno;
            sysClose(fd);
            sysUnlinkat(store.tmpfd, name, 0);
            sdsfree(name);
            errno = saved;
            if (attempt == 0 && storeYieldReserve()) continue; /* the pools' (or the reserve's) blocks may be enough */
            return STORE_ERR;
        }
        if (sysClose(fd) < 0) {
            int saved = errno;
            sysUnlinkat(store.tmpfd, name, 0);
            sdsfree(name);
            errno = saved;
            return STORE_ERR;
        }
        if (ino) *ino = staged;
        *tmpname = name;
        return STORE_OK;
    }
}

/* The content opWriteFile is installing (for its J_WRITE under always). */
static const char *installing_data;
static size_t installing_len;

/* Move a staged file (inode stagedino, 0 when unknown) into dirfd/name.
 * noreplace: fail with EEXIST instead of replacing. *created, when given,
 * tells whether the name was new. On failure the staged file is removed
 * (but for EEXIST under noreplace). An existing file is replaced by
 * exchanging the two names and recycling the old one: as atomic as a
 * rename over it, and on ext4 much faster (a rename over an existing file
 * makes ext4 flush the new file's data, see auto_da_alloc). */
int opInstallFile(sds tmpname, ino_t stagedino, int dirfd, const char *name, int noreplace, int *created) {
    store.dirty = 1;
    int r, exists;
    sds dir = NULL;
    const char *data = installing_data;
    installing_data = NULL;
    if (store.txn_depth && storeRelPath(dirfd, &dir)) {
        /* the journal must say beforehand whether this creates or replaces */
        struct stat sb;
        exists = storeStatAt(dirfd, name, &sb);
        if (exists < 0) {
            r = -1;
        } else if (exists && noreplace) {
            errno = EEXIST;
            r = -1;
        } else if (!exists) {
            r = storeJournalRecordWrite(J_NEW, dir, name, "", "", data, installing_len);
            if (r == 0) r = sysRenameat2(store.tmpfd, tmpname, dirfd, name, RENAME_NOREPLACE);
        } else {
            /* The record names both inodes, so that recovery can tell
             * whether the exchange happened before a crash. */
            struct stat staged;
            if (!stagedino && sysFstatat(store.tmpfd, tmpname, &staged, AT_SYMLINK_NOFOLLOW) == 0)
                stagedino = staged.st_ino;
            char inodes[48];
            snprintf(inodes, sizeof(inodes), "%llu:%llu", (unsigned long long)sb.st_ino,
                     (unsigned long long)stagedino);
            r = stagedino ? storeJournalRecordWrite(J_EXCHANGED, dir, name, inodes, tmpname, data, installing_len)
                          : -1;
            if (r == 0) r = sysRenameat2(store.tmpfd, tmpname, dirfd, name, RENAME_EXCHANGE);
            /* the old version: recycled once the command commits, if
             * nothing else names it then */
            if (r == 0) storeDeferAction(DEFER_RECYCLE, tmpname, S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1);
        }
    } else {
        if (!store.txn_depth) storeUntrackedChange(dirfd);
        r = sysRenameat2(store.tmpfd, tmpname, dirfd, name, RENAME_NOREPLACE);
        exists = r < 0 && errno == EEXIST;
        if (exists && !noreplace) {
            r = sysRenameat2(store.tmpfd, tmpname, dirfd, name, RENAME_EXCHANGE);
            if (r == 0) {
                storeRecycleLater(tmpname, -1); /* the old version */
            } else if (errno == ENOENT) {
                r = sysRenameat2(store.tmpfd, tmpname, dirfd, name, 0); /* vanished meanwhile */
                exists = 0;
            }
        }
    }
    sdsfree(dir);
    if (r < 0) {
        int saved = errno;
        if (!(noreplace && saved == EEXIST)) {
            sysUnlinkat(store.tmpfd, tmpname, 0);
            sdsfree(tmpname);
        }
        errno = saved;
        return STORE_ERR;
    }
    if (created) *created = !exists;
    sdsfree(tmpname);
    return STORE_OK;
}

/* Atomically replace (or create) dirfd/name with data. *created, when given,
 * tells whether the name did not exist before. */
int opWriteFile(int dirfd, const char *name, const char *data, size_t len, int *created) {
    sds tmp;
    ino_t ino;
    if (opStageFile(data, len, &tmp, &ino) != STORE_OK) return STORE_ERR;
    installing_data = data ? data : "";
    installing_len = len;
    return opInstallFile(tmp, ino, dirfd, name, 0, created);
}

int opUnlink(int dirfd, const char *name) {
    store.dirty = 1;
    if (storeJournaling(dirfd)) {
        /* set aside under .tmp, so that an undo can put it back */
        struct stat sb;
        if (sysFstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
        sds aside = storeTmpName('u');
        int r = S_ISREG(sb.st_mode) ? storeJournalNoteRemoval(dirfd, name, store.tmpfd, aside)
                                    : storeJournalNote(J_REMOVED, dirfd, name, store.tmpfd, aside);
        if (r == 0) r = storeRenameOrYield(dirfd, name, store.tmpfd, aside, RENAME_NOREPLACE);
        if (r == 0) storeDeferAction(DEFER_RECYCLE, aside, S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1);
        sdsfree(aside);
        return r == 0 ? STORE_OK : STORE_ERR;
    }
    if (sysUnlinkat(dirfd, name, 0) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    return STORE_OK;
}

int opMkdir(int dirfd, const char *name) {
    store.dirty = 1;
    if (storeJournaling(dirfd)) {
        /* a J_NEW record for a name that already exists would undo it */
        struct stat sb;
        int e = storeStatAt(dirfd, name, &sb);
        if (e != 0) {
            if (e > 0) errno = EEXIST;
            return STORE_ERR;
        }
        if (storeJournalNote(J_NEW, dirfd, name, -1, NULL) < 0) return STORE_ERR;
    }
    if (!storeRoomForNewData()) return STORE_ERR;
    if (sysMkdirat(dirfd, name, 0755) < 0 && !(storeYieldReserve() && sysMkdirat(dirfd, name, 0755) == 0)) return STORE_ERR;
    return STORE_OK;
}

/* A move to a free name (RENAME_NOREPLACE). */
int opRename(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags) {
    store.dirty = 1;
    storePathsMoved();
    if (storeJournalNote(J_MOVED, olddirfd, oldname, newdirfd, newname) < 0 ||
        storeRenameOrYield(olddirfd, oldname, newdirfd, newname, flags) < 0)
        return STORE_ERR;
    return STORE_OK;
}

/* Replace the directory dirfd/name with .tmp/staged. The old version ends
 * up under .tmp, at *oldname (caller frees). Outside a transaction the two
 * swap names in one step; inside one the old version is first moved aside,
 * then the new one moved in, each step journaled before it is made, so that
 * an undo can never mistake the new version for the old. */
int opReplaceDir(int dirfd, const char *name, const char *staged, sds *oldname) {
    store.dirty = 1;
    storePathsMoved();
    if (!storeJournaling(dirfd)) {
        if (sysRenameat2(store.tmpfd, staged, dirfd, name, RENAME_EXCHANGE) < 0) return STORE_ERR;
        *oldname = sdsnew(staged);
        return STORE_OK;
    }
    sds aside = storeTmpName('o');
    if (storeJournalNote(J_REMOVED, dirfd, name, store.tmpfd, aside) < 0 ||
        sysRenameat2(dirfd, name, store.tmpfd, aside, RENAME_NOREPLACE) < 0) {
        sdsfree(aside);
        return STORE_ERR;
    }
    if (storeJournalNote(J_MOVED, store.tmpfd, staged, dirfd, name) < 0 ||
        sysRenameat2(store.tmpfd, staged, dirfd, name, RENAME_NOREPLACE) < 0) {
        int saved = errno;
        sysRenameat2(store.tmpfd, aside, dirfd, name, RENAME_NOREPLACE); /* the old one back */
        sdsfree(aside);
        errno = saved;
        return STORE_ERR;
    }
    *oldname = aside;
    return STORE_OK;
}

/* Move dirfd/name (a file or a whole tree) to .trash for background removal.
 * In a transaction a visible entry is first set aside under .tmp, and
 * anything under .tmp stays until the commit. */
int opTrash(int dirfd, const char *name) {
    store.dirty = 1;
    storePathsMoved();
    if (dirfd == store.tmpfd && store.txn_depth) {
        storeDeferAction(DEFER_TRASH, name, -1);
        return STORE_OK;
    }
    if (storeJournaling(dirfd)) {
        sds aside = storeTmpName('t');
        int r = storeJournalNote(J_REMOVED, dirfd, name, store.tmpfd, aside);
        if (r == 0) r = storeRenameOrYield(dirfd, name, store.tmpfd, aside, RENAME_NOREPLACE);
        if (r == 0) storeDeferAction(DEFER_TRASH, aside, -1);
        sdsfree(aside);
        return r == 0 ? STORE_OK : STORE_ERR;
    }
    sds t = storeTmpName('t');
    int r = opRename(dirfd, name, store.trashfd, t, RENAME_NOREPLACE);
    sdsfree(t);
    if (r == STORE_OK) storeTrashWake();
    return r;
}
