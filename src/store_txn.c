/* store_txn.c - transactions: which directories are visible (and their
 * paths, cached), the journal records written before each change, actions
 * deferred to the commit, COMMIT and rollback, and syncing the tree
 * (storeSync). Part of the storage layer (see store_int.h, journal.c). */
#include "store_int.h"

static volatile long long last_sync_time; /* unix seconds of the last sync that made every change durable */
static void storeNoteSynced(void) { last_sync_time = (long long)time(NULL); }

/* Under always, the journal holding more than this makes the turn sync the
 * tree and start a new log, so that start-up never has much to make again. */
#define JOURNAL_SYNC_TREE_SIZE (1 << 20)

/* ------------------------------------------------------------------------ */
/* Transactions: which directories are visible, and the journal records      */
/* ------------------------------------------------------------------------ */

/* Paths of open directories, by descriptor, so that journaling a change
 * does not ask /proc for the same path again and again. An entry is good
 * while its descriptor number was not handed out again (descriptors are
 * reused: every store descriptor comes from the syscall seam, which counts
 * them, so no fstat is needed to tell) and no directory has moved since it
 * was made (storePathsMoved()). */
#define FDPATH_CACHE SYS_FD_GENERATIONS
static struct fdpath {
    sds path;               /* NULL: no entry */
    unsigned fdgen;         /* sysFdGeneration() when made */
    unsigned long long gen; /* st.pathgen when made */
    int visible;
} fdpaths[FDPATH_CACHE];

/* The store is closing: the cached paths go. */
void storePathsForget(void) {
    for (int i = 0; i < FDPATH_CACHE; i++) {
        sdsfree(fdpaths[i].path);
        fdpaths[i].path = NULL;
    }
}

/* Called by every change that can move a directory: cached paths go stale. */
void storePathsMoved(void) { store.pathgen++; }

/* The path of a directory relative to ROOT_DIR; 0 when it is not part of
 * the visible tree (.tmp, .trash, a key still being built). */
int storeRelPath(int fd, sds *out) {
    *out = NULL;
    if (fd < 0) return 0; /* a parked key that could not be opened again (st.expfd may hold -1 too) */
    if (fd == store.tmpfd) { *out = sdsnew(".tmp"); return 0; }
    if (fd == store.rootfd) { *out = sdsempty(); return 1; }
    for (int i = 0; i < store.dbnum; i++) {
        if (fd == store.dbfd[i]) { *out = sdsfromlonglong(i); return 1; }
        if (fd == store.expfd[i]) { *out = sdscatprintf(sdsempty(), "%d/.expires", i); return 1; }
    }
    struct fdpath *c = fd < FDPATH_CACHE ? &fdpaths[fd] : NULL;
    unsigned fdgen = sysFdGeneration(fd);
    if (c && c->path && c->fdgen == fdgen && c->gen == store.pathgen) {
        *out = sdsdup(c->path);
        return c->visible;
    }
    char proc[64], buf[4096];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
    if (n <= 0) return 0;
    buf[n] = '\0';
    size_t rl = sdslen(store.rootreal);
    if (strncmp(buf, store.rootreal, rl) != 0 || (buf[rl] != '/' && buf[rl] != '\0')) return 0;
    const char *rel = buf[rl] == '/' ? buf + rl + 1 : "";
    *out = sdsnew(rel);
    int visible = strncmp(rel, ".tmp", 4) && strncmp(rel, ".trash", 6);
    if (c) {
        sdsfree(c->path);
        c->path = sdsdup(*out);
        c->fdgen = fdgen;
        c->gen = store.pathgen;
        c->visible = visible;
    }
    return visible;
}

/* fd was just opened on rel (relative to ROOT_DIR): its path is known
 * without asking /proc (a new key's staging directory, on every new key). */
void storePathIs(int fd, const char *rel, int visible) {
    if (fd < 0 || fd >= FDPATH_CACHE) return;
    struct fdpath *c = &fdpaths[fd];
    sdsfree(c->path);
    c->path = sdsnew(rel);
    c->fdgen = sysFdGeneration(fd);
    c->gen = store.pathgen;
    c->visible = visible;
}

/* fd was just opened on dirfd/name: its path follows from dirfd's when
 * that is known without a system call (a database, a cached entry), so
 * that journaling a change in it does not ask /proc. */
void storePathOfChild(int dirfd, int fd, const char *name) {
    if (dirfd < 0 || fd < 0 || fd >= FDPATH_CACHE || dirfd == store.rootfd || dirfd == store.tmpfd) return;
    sds parent = NULL;
    int visible = 0;
    for (int i = 0; i < store.dbnum && !parent; i++)
        if (dirfd == store.dbfd[i]) {
            parent = sdsfromlonglong(i);
            visible = 1;
        }
    if (!parent && dirfd < FDPATH_CACHE) {
        struct fdpath *c = &fdpaths[dirfd];
        if (!c->path || c->fdgen != sysFdGeneration(dirfd) || c->gen != store.pathgen) return;
        parent = sdsdup(c->path);
        visible = c->visible;
    }
    if (!parent) return;
    parent = sdscat(sdscat(parent, "/"), name);
    storePathIs(fd, parent, visible);
    sdsfree(parent);
}

static void commitWritten(void);

/* ---- DREDIS_FSYNC=always: the journal carries the writes ----
 *
 * Under "always" nothing is acknowledged before it is durable. A file
 * written with its content (opWriteFile) gets a J_WRITE record with that
 * content beside its J_NEW or J_EXCHANGED, so the journal alone makes it
 * durable: when every change since the last syncfs is such a write, the
 * end of the loop turn syncs the journal file only (storeSync), one
 * journal commit of the file system instead of a sync of every file and
 * directory the turn touched; the removal of a regular file gets a J_WRITE
 * saying so. Start-up makes the J_WRITEs of committed transactions again
 * (journal.c) in case a power cut lost the files.
 *
 * Any other change of the visible tree (a new key or directory, a key
 * removed or moved, a flush, a file whose content is not at hand or too
 * big) is "uncovered": the J_WRITEs before it could replay older contents
 * over it after a power cut, so they are closed by a J_SYNCED record first
 * (after a syncfs when earlier turns were acknowledged on them), and the
 * turn ends with a syncfs. Every journaled change passes journalRecord,
 * every unjournaled one storeUntrackedChange (visible directories only). */

/* A sync of the tree that cannot be made here ends the server, as a failed
 * sync under always does at the end of a turn: every acknowledged write is
 * in the journal, and the next start makes it again. */
static void syncFailedExit(const char *what) {
    fprintf(stderr, "dredis: fatal: cannot sync the tree %s (%s); exiting: the journal holds every acknowledged "
            "write, and the next start makes them again\n", what, strerror(errno));
    fflush(stderr);
    _exit(1);
}

/* The tree was just synced: the J_WRITEs so far are in it. */
static int treeSynced(void) {
    int pending = journalCommitPending();
    int idle = store.txn_depth == 0 && !store.txn_open;
    int r = journalTreeSynced(idle);
    if (pending && !journalCommitPending()) commitWritten(); /* it went out with the J_SYNCED */
    return r;
}

void storeUncoveredChange(void) {
    if (store.fsync_policy != STORE_FSYNC_ALWAYS) return;
    store.uncovered = 1; /* the turn ends with a syncfs: no more J_WRITEs needed */
    if (!journalWritesUnsynced()) return;
    /* J_WRITEs of earlier turns were acknowledged with only the journal
     * synced: the tree is synced before they are closed. Those of this turn
     * alone are closed as they are: its commands are not acknowledged
     * before the syncfs that ends it, and a power cut before that can tear
     * them as it could before the journal carried writes. */
    if (store.journal_only && sysSyncfs(store.rootfd) < 0) syncFailedExit("before a change the journal does not carry");
    if (treeSynced() < 0) syncFailedExit("before a change the journal does not carry");
    if (store.journal_only) storeNoteSynced();
    store.journal_only = 0;
}

/* A change of fd's entries outside a transaction (nothing journaled). */
void storeUntrackedChange(int fd) {
    if (store.fsync_policy != STORE_FSYNC_ALWAYS || fd == store.tmpfd || fd == store.trashfd) return;
    sds p;
    int visible = storeRelPath(fd, &p);
    sdsfree(p);
    if (visible) storeUncoveredChange();
}

/* data: the content of a file being written whole (len bytes); removal:
 * a file being removed. Either can be carried by a J_WRITE. */
static int journalRecord(char type, const char *dir, const char *name, const char *dir2, const char *name2,
                         const char *data, size_t len, int removal) {
    serverAssert(store.txn_depth > 0 && journalFd() >= 0); /* records only inside a transaction, to an open log */
    /* past JOURNAL_SYNC_TREE_SIZE the journal carries nothing more: what
     * start-up reads (and holds in memory) stays about a megabyte */
    int carried = (removal || (data && len <= JOURNAL_FIELD_MAX)) && journalOffset() < JOURNAL_SYNC_TREE_SIZE;
    int covered = carried && store.fsync_policy == STORE_FSYNC_ALWAYS && !store.uncovered;
    /* (once the turn syncs the tree anyway, its writes need no J_WRITE) */
    int needless = carried && store.fsync_policy == STORE_FSYNC_ALWAYS && store.uncovered;
    if (!covered && !needless) storeUncoveredChange(); /* before its record */
    store.dirty = 1;
    if (!store.txn_open) {
        if (journalAppend(J_BEGIN, "", "", "", "") < 0) return -1;
        store.txn_open = 1;
    }
    int pending = journalCommitPending();
    int r = journalAppend(type, dir, name, dir2, name2);
    if (r < 0 && storeYieldReserveForEntry()) r = journalAppend(type, dir, name, dir2, name2);
    if (r == 0 && covered) {
        r = removal ? journalAppendRemoval(dir, name) : journalAppendWrite(dir, name, data, len);
        if (r < 0 && storeYieldReserveForEntry())
            r = removal ? journalAppendRemoval(dir, name) : journalAppendWrite(dir, name, data, len);
    }
    if (pending && !journalCommitPending()) commitWritten(); /* it went out with this record */
    return r;
}

/* Append one record, after the transaction's BEGIN when it is the first. */
int storeJournalRecord(char type, const char *dir, const char *name, const char *dir2, const char *name2) {
    return journalRecord(type, dir, name, dir2, name2, NULL, 0, 0);
}

/* The same for a file about to get the content data (J_NEW or
 * J_EXCHANGED), with its J_WRITE under always. */
int storeJournalRecordWrite(char type, const char *dir, const char *name, const char *dir2, const char *name2,
                            const char *data, size_t len) {
    return journalRecord(type, dir, name, dir2, name2, data, len, 0);
}

/* Journal a change about to be made (see journal.h for the types). Nothing
 * is written outside a transaction or when neither side is visible. -1 with
 * errno when the record could not be written: the change must not happen. */
static int journalNote(char type, int fd1, const char *name1, int fd2, const char *name2, int removal) {
    if (!store.txn_depth) {
        storeUntrackedChange(fd1);
        if (fd2 >= 0) storeUntrackedChange(fd2);
        return 0;
    }
    sds p1, p2 = NULL;
    int vis = storeRelPath(fd1, &p1);
    if (fd2 >= 0) vis |= storeRelPath(fd2, &p2);
    int r = !vis ? 0 : journalRecord(type, p1 ? p1 : "", name1, p2 ? p2 : "", name2 ? name2 : "", NULL, 0, removal);
    sdsfree(p1);
    sdsfree(p2);
    return r;
}

int storeJournalNote(char type, int fd1, const char *name1, int fd2, const char *name2) {
    return journalNote(type, fd1, name1, fd2, name2, 0);
}

/* The same for the removal of the regular file fd1/name1 (set aside at
 * fd2/name2), carried by a J_WRITE under always. */
int storeJournalNoteRemoval(int fd1, const char *name1, int fd2, const char *name2) {
    return journalNote(J_REMOVED, fd1, name1, fd2, name2, 1);
}

/* Is this directory visible and are we in a transaction? */
int storeJournaling(int fd) {
    if (!store.txn_depth) {
        storeUntrackedChange(fd); /* the caller changes fd's entries unjournaled */
        return 0;
    }
    sds p;
    int vis = storeRelPath(fd, &p);
    sdsfree(p);
    return vis;
}

static void runDeferred(char action, const char *name, long long size) {
    if (action == DEFER_RECYCLE) {
        storeRecycleLater(name, size);
    } else {
        sds t = storeTmpName('t');
        storePathsMoved();
        if (storeRenameOrYield(store.tmpfd, name, store.trashfd, t, RENAME_NOREPLACE) == 0) storeTrashWake();
        sdsfree(t);
    }
}

/* Something under .tmp that is done with (of size bytes, -1 when not
 * known): at once outside a transaction, at commit inside one (an undo may
 * still need it). */
void storeDeferAction(char action, const char *name, long long size) {
    if (!store.txn_depth) {
        runDeferred(action, name, size);
        return;
    }
    store.deferred = zrealloc(store.deferred, sizeof(*store.deferred) * (size_t)(store.ndeferred + 1));
    store.deferred[store.ndeferred].action = action;
    store.deferred[store.ndeferred].name = sdsnew(name);
    store.deferred[store.ndeferred].size = size;
    store.ndeferred++;
}

/* Told when a COMMIT is held back (see storeTxnEnd). */
static void (*commitHeldHook)(void);

void storeSetCommitHeldHook(void (*fn)(void)) { commitHeldHook = fn; }

void storeTxnBegin(void) {
    storeCoalesceLevelBegin(store.txn_depth);
    if (store.txn_depth < 64) {
        store.txn_failed[store.txn_depth] = 0;
        store.txn_savepoint[store.txn_depth] = journalOffset();
    }
    store.txn_depth++;
}

/* A storage error happened in the current command: roll it back. */
void storeTxnFail(void) {
    if (store.txn_depth > 0 && store.txn_depth <= 64) store.txn_failed[store.txn_depth - 1] = 1;
}

static void runDeferredFirst(int n);

/* Undo the journal from savepoint on. Each undo step is idempotent, so a
 * failed one is tried again; when the tree still cannot be put back, the
 * process stops without the transaction's COMMIT: start-up recovery
 * finishes the undo from the journal (SQLite's hot journal). Going on
 * would serve, and later commit, a half-made command. */
static void rollBack(off_t savepoint) {
    for (int attempt = 0; attempt < 3; attempt++)
        if (journalUndoFrom(savepoint) == 0) return;
    fprintf(stderr, "dredis: fatal: cannot roll back a failed command (%s); exiting: the journal's undo is "
            "finished at the next start\n", strerror(errno));
    fflush(stderr);
    _exit(1);
}

int storeTxnEnd(void) {
    int rolled_back = 0;
    serverAssert(store.txn_depth > 0); /* every end has its begin */
    store.txn_depth--;
    if (store.txn_depth < 64 && store.txn_failed[store.txn_depth] && store.txn_open) {
        rolled_back = 1;
        /* undo this level's changes, newest first; the dbsize counters may
         * be off now, so they are counted again when next asked */
        rollBack(store.txn_savepoint[store.txn_depth]);
        /* the J_WRITEs of what was undone may not be made again */
        storeUncoveredChange();
        storePathsMoved();
        for (int i = 0; i < store.dbnum; i++) store.dbsize[i] = store.expcount[i] = -1;
        if (storeFlushHook)
            for (int i = 0; i < store.dbnum; i++) storeFlushHook(i);
        /* any key may be back to an older version: caches start over */
        for (int i = 0; i < store.dbnum; i++) storeKeyChanged(i, NULL, 0);
    }
    /* writes this level left pending (store_coalesce.c) are undone with it */
    if (storeCoalesceCommandEnd(store.txn_depth, store.txn_depth < 64 && store.txn_failed[store.txn_depth]))
        rolled_back = 1;
    if (store.txn_depth > 0) return rolled_back;
    storeLastChangedDb = -1; /* the next command's changes count anew */
    if (store.txn_open) {
        store.txn_open = 0;
        if (store.fsync_policy == STORE_FSYNC_ALWAYS || commitHeldHook) {
            /* No reply leaves before the COMMIT is written: with always
             * storeSync() writes it before the sync, otherwise the hook has
             * the end of the loop turn write it (storeWriteHeldCommit())
             * before any reply, if the next transaction's first record has
             * not taken it along: one write a command instead of two. What
             * waits for the commit (old versions to recycle) waits too. */
            journalCommitLater();
            store.ncommit_deferred = store.ndeferred;
            if (commitHeldHook) commitHeldHook();
            return rolled_back;
        }
        journalCommit();
    }
    if (journalCommitPending()) return rolled_back; /* what this one deferred waits with the rest */
    runDeferredFirst(store.ndeferred);
    journalMaybeReset();
    return rolled_back;
}

/* Run the first n deferred actions and forget them; the rest move up. */
static void runDeferredFirst(int n) {
    for (int i = 0; i < n; i++) {
        runDeferred(store.deferred[i].action, store.deferred[i].name, store.deferred[i].size);
        sdsfree(store.deferred[i].name);
    }
    if (n > 0 && store.ndeferred > n)
        memmove(store.deferred, store.deferred + n, sizeof(*store.deferred) * (size_t)(store.ndeferred - n));
    store.ndeferred -= n;
}

/* A held-back COMMIT has been written: what waited for it can run. */
static void commitWritten(void) {
    int n = store.ncommit_deferred;
    store.ncommit_deferred = 0;
    runDeferredFirst(n);
}

/* Write a held-back COMMIT now (before a sync that acknowledges). */
void storeCommitPending(void) {
    storeCoalesceSettleOrExit(); /* pending writes first: they go out with their COMMIT */
    if (!journalCommitPending()) return;
    journalCommit();
    commitWritten();
    if (store.txn_depth == 0) {
        runDeferredFirst(store.ndeferred);
        journalMaybeReset();
    }
}

/* Before a reply leaves: a COMMIT held back is written (main thread). It
 * is the COMMIT of a transaction that ended: writing it while another one
 * runs (a script, whose wait lets other clients' replies out) is as right,
 * since that one's first record, if written, took it along already. */
void storeWriteHeldCommit(void) { storeCommitPending(); }

void storeSetFsyncPolicy(int policy) { store.fsync_policy = policy; }

int storeDirty(void) { return store.dirty; }

/* Make every change so far durable: one syncfs() covers the data and the
 * directory entries of the whole tree, and the journal. */
/* The background thread's everysec sync: the tree as it is, without the
 * COMMIT the main thread may hold (the journal is the main thread's). */
int storeSyncTree(void) {
    store.dirty = 0;
    if (sysSyncfs(store.rootfd) < 0) {
        store.dirty = 1;
        return STORE_ERR;
    }
    storeNoteSynced();
    return STORE_OK;
}

static int syncTreeClosingWrites(void);

int storeSync(void) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    storeCommitPending();
    if (store.fsync_policy == STORE_FSYNC_ALWAYS && !store.uncovered &&
        journalOffset() < JOURNAL_SYNC_TREE_SIZE) {
        /* every change since the last syncfs is a J_WRITE: the journal
         * file alone makes them durable */
        store.dirty = 0;
        if (journalSync() < 0) {
            store.dirty = 1;
            return STORE_ERR;
        }
        if (journalWritesUnsynced()) store.journal_only = 1;
        storeNoteSynced();
        return STORE_OK;
    }
    return syncTreeClosingWrites();
}

/* The tree itself synced (and the journal's J_WRITEs closed, or the log
 * cut): what DREDIS_FSYNC=always does when a turn changed more than files
 * the journal carries, when the journal has grown, and before the policy
 * changes. */
int storeSyncAll(void) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR;
    storeCommitPending();
    return syncTreeClosingWrites();
}

static int syncTreeClosingWrites(void) {
    if (storeSyncTree() != STORE_OK) return STORE_ERR;
    store.uncovered = 0;
    if (treeSynced() < 0) {
        store.dirty = 1;
        return STORE_ERR;
    }
    store.journal_only = 0;
    return STORE_OK;
}

long long storeLastSync(void) { return last_sync_time; }

long long storeReserveBytes(void) { return reserveSize(); }
int storeReserveHeld(void) { return reserveHeld(); }
