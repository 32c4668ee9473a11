/* store_pool.c - the background thread and what it keeps: the pools of
 * ready-made inodes under .tmp, the recycling queues of replaced files,
 * removal of .trash, the everysec sync; and giving space back on a full
 * disk (pools, then the space reserve). Part of the storage layer (see
 * store_int.h; the pool rules are described there). */
#include "store_int.h"

/* Give an entry under .tmp to a pool; 0 when the pool is full. */
static int poolPut(struct pool *p, const char *name) {
    int ok = 0;
    pthread_mutex_lock(&store.trash_lock);
    if (p->count < p->max && strlen(name) < sizeof(p->names[0])) {
        snprintf(p->names[(p->head + p->count) % p->max], sizeof(p->names[0]), "%s", name);
        p->count++;
        ok = 1;
    }
    pthread_mutex_unlock(&store.trash_lock);
    return ok;
}

/* Take a ready-made entry from a pool (NULL when it is empty). */
sds storePoolTake(struct pool *p) {
    sds name = NULL;
    pthread_mutex_lock(&store.trash_lock);
    if (p->count > 0) {
        name = sdsnew(p->names[p->head]);
        p->head = (p->head + 1) % p->max;
        p->count--;
    }
    if (p->count < POOL_LOW && store.pool_space_ok) pthread_cond_signal(&store.trash_cond);
    pthread_mutex_unlock(&store.trash_lock);
    return name;
}

/* Append name to queue q (trash_lock held); 0 when it is full. */
static int queuePush(struct pool *q, const char *name) {
    if (q->count >= q->max || strlen(name) >= sizeof(q->names[0])) return 0;
    int i = (q->head + q->count) % q->max;
    snprintf(q->names[i], sizeof(q->names[0]), "%s", name);
    q->since[i] = storeMonotonicMs();
    q->count++;
    return 1;
}

/* A file under .tmp that nothing needs any more, of size bytes (-1: not
 * known). A small one may be reused by a writer for a while; the
 * background thread cuts the rest (removed at once when a queue is full). */
void storeRecycleLater(const char *name, long long size) {
    pthread_mutex_lock(&store.trash_lock);
    int reusable = size >= 0 && size <= RECYCLE_REUSE_MAX;
    int queued = queuePush(reusable ? &store.recycle : &store.cut, name);
    if (queued && !reusable) pthread_cond_signal(&store.trash_cond);
    pthread_mutex_unlock(&store.trash_lock);
    if (!queued) sysUnlinkat(store.tmpfd, name, 0);
}

/* Is there room on the file system for the pools to hold inodes? Not when
 * fewer than a reserve of inodes or bytes is free: 1/RESERVE_SHARE of the
 * file system, and at least RESERVE_INODES_MIN inodes and RESERVE_BYTES_MIN
 * bytes (file systems that make inodes on demand, as btrfs, report none). */
static int poolSpaceOk(void) {
    struct statvfs sv;
    if (sysFstatvfs(store.tmpfd, &sv) < 0) return 0;
    unsigned long long files = sv.f_files, reserve = files / RESERVE_SHARE;
    if (reserve < RESERVE_INODES_MIN) reserve = RESERVE_INODES_MIN;
    if (files > 0 && (unsigned long long)sv.f_favail < reserve) return 0;
    unsigned long long unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    unsigned long long bytes = (unsigned long long)sv.f_blocks * unit / RESERVE_SHARE;
    if (bytes < RESERVE_BYTES_MIN) bytes = RESERVE_BYTES_MIN;
    return (unsigned long long)sv.f_bavail * unit >= bytes;
}

/* Empty both pools, removing their entries; returns how many. */
static int poolGiveBack(void) {
    int given = 0;
    struct pool *pools[2] = {&store.files, &store.dirs};
    for (int i = 0; i < 2; i++) {
        sds name;
        while ((name = storePoolTake(pools[i])) != NULL) {
            if (sysUnlinkat(store.tmpfd, name, pools[i] == &store.dirs ? AT_REMOVEDIR : 0) == 0) given++;
            sdsfree(name);
        }
    }
    return given;
}

/* A create under .tmp or in the tree failed (errno tells why): when for
 * want of space, the pools give their entries back and stop taking more
 * until the background thread finds room again, and the caller may retry. */
static int yieldSpace(void) {
    if (errno != ENOSPC && errno != EDQUOT) return 0;
    int saved = errno;
    pthread_mutex_lock(&store.trash_lock);
    store.pool_space_ok = 0;
    pthread_mutex_unlock(&store.trash_lock);
    int given = poolGiveBack();
    errno = saved;
    return given > 0;
}

/* As yieldSpace(), and when the command running may use it (it frees
 * space: DEL, HDEL, LPOP ...), the space reserve is given back too
 * (store_reserve.c): 1 when a retry may succeed. */
static int yieldPoolsAndReserve(int (*release)(void)) {
    if (errno != ENOSPC && errno != EDQUOT) return 0;
    int given = yieldSpace();
    return (!store.reserve_closed && release()) || given;
}

int storeYieldReserve(void) { return yieldPoolsAndReserve(reserveRelease); }

/* As storeYieldReserve(), for a step that adds no data (a rename, a
 * journal record): once the reserve was given back, its tail is cut a
 * chunk at a time for these (store_reserve.c). */
int storeYieldReserveForEntry(void) { return yieldPoolsAndReserve(reserveReleaseForEntry); }

/* Before new data is allocated: a command that adds data (Redis's
 * "denyoom") may not take the room the reserve keeps for deletes, so while
 * the reserve is given back and cannot be made again it fails (ENOSPC). */
int storeRoomForNewData(void) {
    return !store.reserve_closed || reserveEnsure();
}

int storeReserveAllowed(int allowed) {
    int was = !store.reserve_closed;
    store.reserve_closed = !allowed;
    return was;
}

/* renameat2(), once more after storeYieldReserve() on a full disk: a rename can
 * need a new block for the directory it enters. */
int storeRenameOrYield(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags) {
    int r = sysRenameat2(olddirfd, oldname, newdirfd, newname, flags);
    if (r < 0 && storeYieldReserveForEntry()) r = sysRenameat2(olddirfd, oldname, newdirfd, newname, flags);
    return r;
}

/* Background thread: top up a pool. */
static void poolRefill(struct pool *p, int isdir) {
    for (;;) {
        pthread_mutex_lock(&store.trash_lock);
        int full = p->count >= POOL_CREATE || store.trash_stop || !store.pool_space_ok || storeMonotonicMs() < store.refill_after;
        pthread_mutex_unlock(&store.trash_lock);
        if (full) return;
        char name[24];
        snprintf(name, sizeof(name), "%c%d-%llu", p->prefix, (int)getpid(), ++p->seq);
        int ok;
        if (isdir) {
            ok = sysMkdirat(store.tmpfd, name, 0755) == 0;
        } else {
            int fd = sysOpenat(store.tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            ok = fd >= 0;
            if (ok) sysClose(fd);
        }
        if (!ok) { /* full disk or similar: writers fall back to creating */
            pthread_mutex_lock(&store.trash_lock);
            store.refill_after = storeMonotonicMs() + 1000; /* not again at once: no spinning */
            pthread_mutex_unlock(&store.trash_lock);
            return;
        }
        if (!poolPut(p, name)) {
            if (isdir) sysUnlinkat(store.tmpfd, name, AT_REMOVEDIR);
            else sysUnlinkat(store.tmpfd, name, 0);
            return;
        }
    }
}

void storeTrashWake(void) {
    pthread_mutex_lock(&store.trash_lock);
    store.trash_pending++;
    pthread_cond_signal(&store.trash_cond);
    pthread_mutex_unlock(&store.trash_lock);
}

/* ------------------------------------------------------------------------ */
/* Background removal of .trash                                              */
/* ------------------------------------------------------------------------ */

/* May pool p take one more entry? */
static int poolAccepts(struct pool *p) {
    pthread_mutex_lock(&store.trash_lock);
    int ok = store.pool_space_ok && p->count < p->max;
    pthread_mutex_unlock(&store.trash_lock);
    return ok;
}

/* Background thread: move parentfd/name into a pool under a new name. */
static int recycleInto(struct pool *p, int parentfd, const char *name) {
    char fresh[24];
    if (!poolAccepts(p)) return 0;
    pthread_mutex_lock(&store.trash_lock);
    unsigned long long n = ++p->seq;
    pthread_mutex_unlock(&store.trash_lock);
    snprintf(fresh, sizeof(fresh), "%c%d-%llu", p->prefix, (int)getpid(), n);
    if (sysRenameat2(parentfd, name, store.tmpfd, fresh, RENAME_NOREPLACE) < 0) return 0;
    if (!poolPut(p, fresh)) sysUnlinkat(store.tmpfd, fresh, p == &store.dirs ? AT_REMOVEDIR : 0);
    return 1;
}

/* Background thread: parentfd/name, a file of .tmp or .trash that nothing
 * needs any more, becomes an empty file of the pool, if nothing else names
 * it: its link count is read once it has left the tree, where no new name
 * can be made to it, on the very inode that is then cut. 0 when not pooled:
 * the caller removes it. */
static int recycleFile(int parentfd, const char *name) {
    if (!poolAccepts(&store.files)) return 0;
    int fd = sysOpenat(parentfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sb;
    int ok = sysFstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 &&
             (sb.st_size == 0 || sysFtruncate(fd, 0) == 0);
    sysClose(fd);
    if (!ok) return 0;
    if (parentfd != store.tmpfd) return recycleInto(&store.files, parentfd, name);
    return poolPut(&store.files, name);
}

/* Background thread: cut and pool, or remove, the files queued by
 * storeRecycleLater(): all of queue q, or those queued at least age ms ago. */
static void drainQueue(struct pool *q, long long age) {
    for (;;) {
        char name[24];
        pthread_mutex_lock(&store.trash_lock);
        int some = q->count > 0 && !store.trash_stop && (age == 0 || storeMonotonicMs() - q->since[q->head] >= age);
        if (some) {
            memcpy(name, q->names[q->head], sizeof(name));
            q->head = (q->head + 1) % q->max;
            q->count--;
        }
        pthread_mutex_unlock(&store.trash_lock);
        if (!some) return;
        if (!recycleFile(store.tmpfd, name)) sysUnlinkat(store.tmpfd, name, 0);
    }
}

/* Remove parentfd/name recursively without following symbolic links,
 * recycling its files and directories into the pools where there is room. */
static void backgroundDuties(void);

static int removeTree(int parentfd, const char *name) {
    static unsigned removed;
    if (++removed % 256 == 0) backgroundDuties();
    struct stat sb;
    if (sysFstatat(parentfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sb.st_mode)) {
        if (S_ISREG(sb.st_mode) && sb.st_nlink == 1 && recycleFile(parentfd, name)) return 0;
        return sysUnlinkat(parentfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    }
    int fd = sysOpenat(parentfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return -1;
    DIR *d = sysFdopendir(fd);
    if (!d) {
        sysClose(fd);
        return -1;
    }
    /* Entries move out while the directory is read, which may hide some
     * from this pass: read it again until a pass finds it empty. Only an
     * empty directory may be recycled (it becomes a new key). */
    int left = 1;
    for (int pass = 0; pass < 4 && left; pass++) {
        left = 0;
        rewinddir(d);
        struct dirent *de;
        while ((de = sysReaddir(d)) != NULL && !store.trash_stop) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            left = 1;
            removeTree(dirfd(d), de->d_name);
        }
        if (store.trash_stop) break; /* shutting down: the rest waits for the next start */
    }
    sysClosedir(d);
    if (left) return -1; /* stays in .trash; tried again next time */
    if (!recycleInto(&store.dirs, parentfd, name)) return sysUnlinkat(parentfd, name, AT_REMOVEDIR) == 0 ? 0 : -1;
    return 0;
}

static void emptyTrash(int trashfd) {
    int fd = sysOpenat(trashfd, ".", OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = sysFdopendir(fd);
    if (!d) { sysClose(fd); return; }
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL && !store.trash_stop) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        removeTree(trashfd, de->d_name);
    }
    sysClosedir(d);
}

long long storeMonotonicMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does the background thread have something to do now? (trash_lock held) */
static int backgroundWorkWaiting(void) {
    return store.trash_pending || store.cut.count > 0 ||
           (store.pool_space_ok && (store.files.count < POOL_LOW || store.dirs.count < POOL_LOW) &&
            storeMonotonicMs() >= store.refill_after);
}

/* Under everysec, a sync once a second while the tree is dirty. */
static long long bg_last_sync;
static void syncIfDue(void) {
    if (store.fsync_policy == STORE_FSYNC_EVERYSEC && store.dirty && storeMonotonicMs() - bg_last_sync >= 1000) {
        storeSyncTree();
        bg_last_sync = storeMonotonicMs();
    }
}

/* What must not wait for a long pass over .trash (a dropped snapshot is a
 * link per file of the tree): the everysec sync and the recycling queues. */
static void backgroundDuties(void) {
    syncIfDue();
    drainQueue(&store.cut, 0);
    drainQueue(&store.recycle, RECYCLE_AGE_MS);
}

/* Background thread: the pools checked against the free space (given back
 * when it runs low), queued files recycled, the pools topped up, .trash
 * emptied. */
static void backgroundTidy(long long trash) {
    int ok = poolSpaceOk();
    pthread_mutex_lock(&store.trash_lock);
    store.pool_space_ok = ok;
    pthread_mutex_unlock(&store.trash_lock);
    if (!ok) poolGiveBack();
    drainQueue(&store.cut, 0);
    drainQueue(&store.recycle, RECYCLE_AGE_MS);
    poolRefill(&store.files, 0);
    poolRefill(&store.dirs, 1);
    if (trash) emptyTrash(store.trashfd);
}

/* The background thread wakes when work waits and at least once a second
 * (the recycling queue is emptied and the free space checked each time);
 * under everysec it syncs the tree once a second while it is dirty. */
void *storeTrashThreadMain(void *arg) {
    (void)arg;
    sysFaultExemptThread(); /* its calls are timed by the clock, not by commands */
    bg_last_sync = storeMonotonicMs();
    pthread_mutex_lock(&store.trash_lock);
    while (!store.trash_stop) {
        int everysec = store.fsync_policy == STORE_FSYNC_EVERYSEC;
        long long due = storeMonotonicMs() + 1000;
        if (everysec && store.dirty && bg_last_sync + 1000 < due) due = bg_last_sync + 1000;
        struct timespec ts = {(time_t)(due / 1000), (long)(due % 1000) * 1000000L};
        while (!store.trash_stop && !backgroundWorkWaiting())
            if (pthread_cond_timedwait(&store.trash_cond, &store.trash_lock, &ts) != 0) break; /* time is up */
        if (store.trash_stop) break;
        long long trash = store.trash_pending;
        store.trash_pending = 0;
        pthread_mutex_unlock(&store.trash_lock);
        syncIfDue();
        backgroundTidy(trash);
        pthread_mutex_lock(&store.trash_lock);
    }
    pthread_mutex_unlock(&store.trash_lock);
    return NULL;
}

long long storeTrashPending(void) {
    pthread_mutex_lock(&store.trash_lock);
    long long n = store.trash_pending;
    pthread_mutex_unlock(&store.trash_lock);
    return n;
}
