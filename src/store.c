/* store.c - the key tree under ROOT_DIR. This file is the only one that
 * builds file names or calls file syscalls for data.
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
 * Rules kept here: every path is one component opened relative to a
 * directory descriptor with O_NOFOLLOW, so nothing outside ROOT_DIR is ever
 * reached; files are written beside their target under .tmp and renamed over
 * it, never edited in place; a new key is built whole under .tmp and renamed
 * into its database, so readers see all of it or none of it. All mutations go
 * through the op* primitives below. */

#include "store.h"
#include "util.h"
#include "keyname.h"
#include "journal.h"
#include "dict.h"
#include "snapshot.h"
#include "syscalls.h"
#include "store_reserve.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <time.h>

#define LIBRARIES_DIR ".functions"
#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* O_NONBLOCK: opening a FIFO planted in the tree must not hang the server
 * (it has no effect on regular files; anything else is refused after fstat) */
#define OPEN_FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)

/* Ready-made files and directories under .tmp. Creating an inode is by far
 * the slowest file operation on many systems (milliseconds on some), so the
 * background thread creates them ahead, and the inodes of replaced files and
 * deleted keys are recycled instead of being freed. Rules:
 * - a file that anything else may still name (a hard-link backup, a
 *   snapshot, COPY's second name) is never written again: a writer about
 *   to reuse an inode checks, on the descriptor it will write through, that
 *   it is a regular file with one link; under .tmp and .trash no new name
 *   can be made to it, but a link() that looked the name up just before the
 *   file left the tree may still be completing: a replaced file is reused
 *   only RECYCLE_MIN_AGE_MS after it left (found by a hard-link copy taken
 *   under load, 1 run in 6, when reuse came at once);
 * - deleted and replaced bytes don't linger: a replaced small file
 *   (RECYCLE_REUSE_MAX bytes at most) waits in the recycling queue, where a
 *   writer takes it once it is old enough and overwrites it from offset 0
 *   (a block reused in place: no allocation, no freeing), or, after
 *   RECYCLE_AGE_MS, the background thread cuts it to size 0; anything
 *   larger, and the files of deleted keys, are cut as soon as the thread
 *   gets to them. The pools hold only empty inodes;
 * - the pools never take the last inodes or blocks: below a reserve of the
 *   file system (poolSpaceOk) they take nothing and give back what they hold,
 *   and a create that fails for want of space gives them back and retries. */
#define POOL_MAX 4096    /* the most entries a pool holds */
#define RECYCLE_QUEUE_MAX 32768 /* replaced files waiting: a second of writes */
#define POOL_DIRS_MAX 1024 /* empty directories take a block each */
#define POOL_CREATE 256  /* new inodes are created up to this */
#define POOL_LOW 64      /* below this the background thread creates more */
#define RECYCLE_REUSE_MAX 65536 /* larger replaced files are cut at once */
#define RECYCLE_MIN_AGE_MS 1000 /* a replaced file is reused no sooner */
#define RECYCLE_AGE_MS 2000 /* a replaced file not reused by then is cut */
#define RESERVE_INODES_MIN 1024ULL
#define RESERVE_BYTES_MIN (64ULL << 20)
#define RESERVE_SHARE 32 /* and at least 1/32 of the file system */
struct pool {
    char (*names)[24];         /* max entries, a ring from head */
    long long *since;          /* queues: when each entry was queued (ms) */
    int head, count, max;
    unsigned long long seq;
    char prefix;
};

static struct {
    sds root;
    int rootfd, tmpfd, trashfd;
    int dbnum;
    int *dbfd;
    int *expfd;
    long long *dbsize;       /* -1 until first counted */
    long long *expcount;     /* -1 until first counted */
    unsigned long long *expcursor;
    unsigned long long seq;
    /* the background thread: empties .trash, keeps the pools filled */
    pthread_t trash_thread;
    pthread_mutex_t trash_lock;
    pthread_cond_t trash_cond;
    volatile int trash_stop;
    long long trash_pending;
    int trash_started;
    struct pool files, dirs;
    struct pool recycle;     /* replaced small files, reusable for a while */
    struct pool cut;         /* files to cut to size 0 (or remove) soon */
    int pool_space_ok;       /* the last poolSpaceOk(): pools may take inodes */
    long long refill_after;  /* a create failed: no refill before (monotonic ms) */
    /* transactions (see journal.c) */
    sds rootreal;            /* ROOT_DIR as /proc/self/fd shows it */
    int txn_depth;
    int txn_open;            /* a BEGIN record was written */
    int ncommit_deferred;    /* deferred actions waiting for a held-back COMMIT */
    unsigned long long pathgen; /* bumped when a directory may have moved */
    int txn_failed[64];      /* per nesting level: roll this level back */
    off_t txn_savepoint[64]; /* journal offset where each level began */
    struct deferred { char action; sds name; long long size; } *deferred;
    int ndeferred;
    /* durability */
    int fsync_policy;
    volatile int dirty;      /* changes not yet synced */
    int reserve_closed;      /* the command running may not use the space reserve */
} st;

#define MAX_KEY_LISTENERS 8
static storeKeyChangedFn *keyListeners[MAX_KEY_LISTENERS];
static int nkeyListeners;

int storeAddKeyListener(storeKeyChangedFn *fn) {
    for (int i = 0; i < nkeyListeners; i++)
        if (keyListeners[i] == fn) return STORE_OK;
    if (nkeyListeners == MAX_KEY_LISTENERS) return STORE_ERR;
    keyListeners[nkeyListeners++] = fn;
    return STORE_OK;
}

/* ---- the key metadata cache ----
 * A key's type and expiry, as read from its "type" and "expire" files, kept
 * for up to META_CACHE_MAX keys so that a lookup opens only the key's
 * directory, and, within META_FD_MAX descriptors, the open directory itself
 * and its namespace directories (fields, segments, ...), so that a lookup
 * or a member write opens nothing; and a string's "value" file when it is
 * small (META_VALUE_MAX bytes: counters, flags), so that GET and INCR read
 * nothing. Every change to them goes through this
 * file: keyChanged() drops an entry (or a whole database), setExpireOp()
 * updates it. A key's descriptor goes back to its entry when the key is
 * closed, and only to the entry it was opened with (same generation): an
 * entry dropped and made again meanwhile may name another directory. */
#define META_CACHE_MAX 65536
#define META_FD_MAX 128 /* lowered by storeSetCachedFdsMax() */
#define META_VALUE_MAX 64
typedef struct metaEntry {
    int type;
    long long expire;
    int dirfd;                /* the key's directory, or -1 */
    int nsfd[4];              /* with dirfd: its namespaces open so far (skey's) */
    char nsname[4][16];
    sds value;                /* the "value" file, when known and small */
    unsigned long long gen;
} metaEntry;
static dict *metacache;
static int metafds;           /* descriptors the entries hold */
static int metafdsmax = META_FD_MAX;
static unsigned long long metagen;

static void metaEntryFree(void *p) {
    metaEntry *e = p;
    sdsfree(e->value);
    if (e->dirfd >= 0) {
        sysClose(e->dirfd);
        metafds--;
    }
    for (int i = 0; i < 4; i++)
        if (e->nsfd[i] >= 0) {
            sysClose(e->nsfd[i]);
            metafds--;
        }
    zfree(e);
}

/* Move the descriptors of a key directory and its namespaces from one
 * holder (an entry or an skey) to the other; returns how many moved. */
static int moveKeyFds(int *dirfd, int *nsfd, char (*nsname)[16], int *todirfd, int *tonsfd, char (*tonsname)[16]) {
    int n = 1;
    *todirfd = *dirfd;
    *dirfd = -1;
    for (int i = 0; i < 4; i++) {
        tonsfd[i] = nsfd[i];
        memcpy(tonsname[i], nsname[i], sizeof(tonsname[i]));
        if (nsfd[i] >= 0) n++;
        nsfd[i] = -1;
        nsname[i][0] = '\0';
    }
    return n;
}

static sds metaKey(int db, const char *name, size_t len) {
    sds k = sdscatprintf(sdsempty(), "%d:", db);
    return sdscatlen(k, name, len);
}

static void metaClear(void) {
    if (!metacache) return;
    dictRelease(metacache, metaEntryFree);
    metacache = dictCreate();
}

static void scanAheadDrop(void);

static void metaForget(int db, const char *name, size_t len) {
    if (!metacache) return;
    if (!name) { /* a whole database (or all: db -1) */
        metaClear();
        scanAheadDrop();
        return;
    }
    sds k = metaKey(db, name, len);
    metaEntry *e = dictDelete(metacache, k, sdslen(k));
    if (e) metaEntryFree(e);
    sdsfree(k);
}

static metaEntry *metaFetch(const skey *k) {
    if (!metacache) return NULL;
    sds mk = metaKey(k->db, k->name, sdslen(k->name));
    metaEntry *e = dictFetch(metacache, mk, sdslen(mk));
    sdsfree(mk);
    return e;
}

static void metaRemember(skey *k) {
    if (!metacache || k->staged) return;
    metaEntry *e = metaFetch(k);
    if (e && k->metagen && e->gen != k->metagen) {
        /* k was opened before its entry was dropped and made again: what
         * it knows may be of another directory */
        metaForget(k->db, k->name, sdslen(k->name));
        return;
    }
    if (!e) {
        if (dictSize(metacache) >= META_CACHE_MAX) metaClear(); /* crude but bounded */
        e = zmalloc(sizeof(*e));
        e->dirfd = -1;
        e->value = NULL;
        for (int i = 0; i < 4; i++) e->nsfd[i] = -1;
        e->gen = ++metagen;
        sds mk = metaKey(k->db, k->name, sdslen(k->name));
        dictAdd(metacache, mk, sdslen(mk), e);
        sdsfree(mk);
    }
    e->type = k->type;
    e->expire = k->expire;
    k->metagen = e->gen;
}

/* Fill k's type and expiry (and its directory, when the entry has it). */
static int metaLookup(skey *k) {
    metaEntry *e = metaFetch(k);
    if (!e) return 0;
    k->type = e->type;
    k->expire = e->expire;
    k->metagen = e->gen;
    if (e->dirfd >= 0 && k->dirfd < 0) metafds -= moveKeyFds(&e->dirfd, e->nsfd, e->nsname, &k->dirfd, k->nsfd, k->nsname);
    return 1;
}

/* A key being closed: keep its directory (and namespaces) open for the next
 * lookup. 1 when the entry took the descriptors. */
static int metaKeepDir(skey *k) {
    if (k->staged || k->dirfd < 0 || metafds + 5 > metafdsmax) return 0;
    metaEntry *e = metaFetch(k);
    if (!e || e->gen != k->metagen || e->dirfd >= 0) return 0;
    metafds += moveKeyFds(&k->dirfd, k->nsfd, k->nsname, &e->dirfd, e->nsfd, e->nsname);
    return 1;
}

/* Descriptors run short: the entries close the directories they keep open
 * (their type and expiry stay known). Returns how many were closed. */
static int metaDropFds(void) {
    if (!metacache || !metafds) return 0;
    int closed = 0;
    dictIterator it;
    dictIterInit(&it, metacache);
    for (dictEntry *de; (de = dictNext(&it)) != NULL;) {
        metaEntry *e = de->val;
        if (e->dirfd >= 0) {
            sysClose(e->dirfd);
            e->dirfd = -1;
            closed++;
        }
        for (int i = 0; i < 4; i++)
            if (e->nsfd[i] >= 0) {
                sysClose(e->nsfd[i]);
                e->nsfd[i] = -1;
                e->nsname[i][0] = '\0';
                closed++;
            }
    }
    metafds = 0;
    return closed;
}

int storeReleaseCachedFds(void) { return metaDropFds(); }

int storeSetCachedFdsMax(int n) {
    metafdsmax = n < 0 ? 0 : n > META_FD_MAX ? META_FD_MAX : n;
    if (metafds > metafdsmax) metaDropFds();
    return metafdsmax;
}

/* The entry k was opened with, if it still stands. */
static metaEntry *metaOf(const skey *k) {
    if (k->staged || !k->metagen) return NULL;
    metaEntry *e = metaFetch(k);
    return e && e->gen == k->metagen ? e : NULL;
}

static int isValueFile(const char *file) { return !strcmp(file, "value"); }

/* The entry's copy of the "value" file: data (NULL: unknown). */
static void metaSetValue(metaEntry *e, const char *data, size_t len) {
    sdsfree(e->value);
    e->value = data && len <= META_VALUE_MAX ? sdsnewlen(data, len) : NULL;
}

/* k's file now holds data (NULL: unknown, e.g. patched or removed). */
static void metaFileChanged(const skey *k, const char *file, const char *data, size_t len) {
    metaEntry *e;
    if (isValueFile(file) && (e = metaOf(k))) metaSetValue(e, data, len);
}

static void keyChanged(int db, const char *name, size_t len) {
    metaForget(db, name, len);
    for (int i = 0; i < nkeyListeners; i++) keyListeners[i](db, name, len);
}

static const char *typeNames[] = {"string", "list", "set", "zset", "hash", "stream"};

static storeKeyHook *keyHook;
static storeDbHook *flushHook;

void storeSetHooks(storeKeyHook *onkey, storeDbHook *onflush) {
    keyHook = onkey;
    flushHook = onflush;
}

/* Tell the layer above that a visible key changed (WATCH, caches). */
static void keyTouched(const skey *k) {
    if (keyHook && !k->staged) keyHook(k->db, k->name, sdslen(k->name));
}

/* Every change to a visible key passes here first: it is counted (a key
 * changed again by the same command counts once), and a running snapshot
 * links the key as it still is. */
static long long changes;
static int last_changed_db = -1;
static char last_changed[NAME_MAX + 1];

static long long mutations; /* every change, however many to one key */

static void keyWillChange(int db, const char *fname) {
    mutations++;
    if (db != last_changed_db || strcmp(last_changed, fname) != 0) {
        changes++;
        last_changed_db = db;
        snprintf(last_changed, sizeof(last_changed), "%s", fname);
    }
    snapshotKeyWillChange(db, st.dbfd[db], fname);
}

static void skeyWillChange(const skey *k) {
    if (!k->staged) keyWillChange(k->db, k->fname);
}

long long storeChanges(void) { return changes; }
long long storeMutations(void) { return mutations; }

static int touchedIfOk(const skey *k, int r) {
    if (r == STORE_OK) keyTouched(k);
    return r;
}

const char *storeRoot(void) { return st.root; }

/* ------------------------------------------------------------------------ */
/* Small I/O helpers                                                         */
/* ------------------------------------------------------------------------ */


/* Read a whole file opened relative to dirfd. */
/* Is there an entry dirfd/name? 1 yes (*sb filled), 0 no, -1 when it cannot
 * be told (errno set): never take a failed lookup for an absent name. */
static int statAt(int dirfd, const char *name, struct stat *sb) {
    if (sysFstatat(dirfd, name, sb, AT_SYMLINK_NOFOLLOW) == 0) return 1;
    return errno == ENOENT ? 0 : -1;
}

static int openEasing(int dirfd, const char *name, int flags, const skey *inuse);

static int readFileAt(int dirfd, const char *name, sds *out) {
    int fd = openEasing(dirfd, name, OPEN_FILE_FLAGS, NULL);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    struct stat sb;
    if (sysFstat(fd, &sb) < 0) goto err;
    if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; goto err; }
    sds s = sdsnewlen(NULL, (size_t)sb.st_size);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = sysRead(fd, s + got, (size_t)sb.st_size - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            sdsfree(s);
            goto err;
        }
        if (n == 0) break; /* shrank under us: impossible for our files */
        got += (size_t)n;
    }
    sdssetlen(s, got);
    sysClose(fd);
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        sysClose(fd);
        errno = saved;
        return STORE_ERR;
    }
}

static sds tmpName(char prefix) {
    return sdscatprintf(sdsempty(), "%c%d-%llu", prefix, (int)getpid(), ++st.seq);
}

/* ------------------------------------------------------------------------ */
/* Transactions: which directories are visible, and the journal records      */
/* ------------------------------------------------------------------------ */

/* Paths of open directories, by descriptor, so that journaling a change
 * does not ask /proc for the same path again and again. An entry is good
 * while its descriptor still names the same inode (descriptors are reused)
 * and no directory has moved since it was made (pathsMoved()). */
#define FDPATH_CACHE 1024
static struct fdpath {
    sds path;               /* NULL: no entry */
    ino_t ino;
    unsigned long long gen; /* st.pathgen when made */
    int visible;
} fdpaths[FDPATH_CACHE];

/* Called by every change that can move a directory: cached paths go stale. */
static void pathsMoved(void) { st.pathgen++; }

/* The path of a directory relative to ROOT_DIR; 0 when it is not part of
 * the visible tree (.tmp, .trash, a key still being built). */
static int relPath(int fd, sds *out) {
    *out = NULL;
    if (fd < 0) return 0; /* a parked key that could not be opened again (st.expfd may hold -1 too) */
    if (fd == st.tmpfd) { *out = sdsnew(".tmp"); return 0; }
    if (fd == st.rootfd) { *out = sdsempty(); return 1; }
    for (int i = 0; i < st.dbnum; i++) {
        if (fd == st.dbfd[i]) { *out = sdsfromlonglong(i); return 1; }
        if (fd == st.expfd[i]) { *out = sdscatprintf(sdsempty(), "%d/.expires", i); return 1; }
    }
    struct stat sb;
    struct fdpath *c = fd >= 0 && fd < FDPATH_CACHE ? &fdpaths[fd] : NULL;
    if (c && sysFstat(fd, &sb) == 0) {
        if (c->path && c->ino == sb.st_ino && c->gen == st.pathgen) {
            *out = sdsdup(c->path);
            return c->visible;
        }
    } else {
        c = NULL;
    }
    char proc[64], buf[4096];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
    if (n <= 0) return 0;
    buf[n] = '\0';
    size_t rl = sdslen(st.rootreal);
    if (strncmp(buf, st.rootreal, rl) != 0 || (buf[rl] != '/' && buf[rl] != '\0')) return 0;
    const char *rel = buf[rl] == '/' ? buf + rl + 1 : "";
    *out = sdsnew(rel);
    int visible = strncmp(rel, ".tmp", 4) && strncmp(rel, ".trash", 6);
    if (c) {
        sdsfree(c->path);
        c->path = sdsdup(*out);
        c->ino = sb.st_ino;
        c->gen = st.pathgen;
        c->visible = visible;
    }
    return visible;
}

static void commitWritten(void);
static int yieldReserve(void);
static int renameOrYield(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags);

/* Append one record, after the transaction's BEGIN when it is the first. */
static int journalRecord(char type, const char *dir, const char *name, const char *dir2, const char *name2) {
    serverAssert(st.txn_depth > 0 && journalFd() >= 0); /* records only inside a transaction, to an open log */
    st.dirty = 1;
    if (!st.txn_open) {
        if (journalAppend(J_BEGIN, "", "", "", "") < 0) return -1;
        st.txn_open = 1;
    }
    int pending = journalCommitPending();
    int r = journalAppend(type, dir, name, dir2, name2);
    if (r < 0 && yieldReserve()) r = journalAppend(type, dir, name, dir2, name2);
    if (pending && !journalCommitPending()) commitWritten(); /* it went out with this record */
    return r;
}

/* Journal a change about to be made (see journal.h for the types). Nothing
 * is written outside a transaction or when neither side is visible. -1 with
 * errno when the record could not be written: the change must not happen. */
static int journalNote(char type, int fd1, const char *name1, int fd2, const char *name2) {
    if (!st.txn_depth) return 0;
    sds p1, p2 = NULL;
    int vis = relPath(fd1, &p1);
    if (fd2 >= 0) vis |= relPath(fd2, &p2);
    int r = vis ? journalRecord(type, p1 ? p1 : "", name1, p2 ? p2 : "", name2 ? name2 : "") : 0;
    sdsfree(p1);
    sdsfree(p2);
    return r;
}

/* Is this directory visible and are we in a transaction? */
static int journaling(int fd) {
    if (!st.txn_depth) return 0;
    sds p;
    int vis = relPath(fd, &p);
    sdsfree(p);
    return vis;
}

#define DEFER_RECYCLE 'r'
#define DEFER_TRASH 't'

static void recycleLater(const char *name, long long size);
static void trashWake(void);

static void runDeferred(char action, const char *name, long long size) {
    if (action == DEFER_RECYCLE) {
        recycleLater(name, size);
    } else {
        sds t = tmpName('t');
        pathsMoved();
        if (renameOrYield(st.tmpfd, name, st.trashfd, t, RENAME_NOREPLACE) == 0) trashWake();
        sdsfree(t);
    }
}

/* Something under .tmp that is done with (of size bytes, -1 when not
 * known): at once outside a transaction, at commit inside one (an undo may
 * still need it). */
static void deferAction(char action, const char *name, long long size) {
    if (!st.txn_depth) {
        runDeferred(action, name, size);
        return;
    }
    st.deferred = zrealloc(st.deferred, sizeof(*st.deferred) * (size_t)(st.ndeferred + 1));
    st.deferred[st.ndeferred].action = action;
    st.deferred[st.ndeferred].name = sdsnew(name);
    st.deferred[st.ndeferred].size = size;
    st.ndeferred++;
}

void storeTxnBegin(void) {
    if (st.txn_depth < 64) {
        st.txn_failed[st.txn_depth] = 0;
        st.txn_savepoint[st.txn_depth] = journalOffset();
    }
    st.txn_depth++;
}

/* A storage error happened in the current command: roll it back. */
void storeTxnFail(void) {
    if (st.txn_depth > 0 && st.txn_depth <= 64) st.txn_failed[st.txn_depth - 1] = 1;
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
    serverAssert(st.txn_depth > 0); /* every end has its begin */
    st.txn_depth--;
    if (st.txn_depth < 64 && st.txn_failed[st.txn_depth] && st.txn_open) {
        rolled_back = 1;
        /* undo this level's changes, newest first; the dbsize counters may
         * be off now, so they are counted again when next asked */
        rollBack(st.txn_savepoint[st.txn_depth]);
        pathsMoved();
        for (int i = 0; i < st.dbnum; i++) st.dbsize[i] = st.expcount[i] = -1;
        if (flushHook)
            for (int i = 0; i < st.dbnum; i++) flushHook(i);
        /* any key may be back to an older version: caches start over */
        for (int i = 0; i < st.dbnum; i++) keyChanged(i, NULL, 0);
    }
    if (st.txn_depth > 0) return rolled_back;
    last_changed_db = -1; /* the next command's changes count anew */
    if (st.txn_open) {
        st.txn_open = 0;
        if (st.fsync_policy == STORE_FSYNC_ALWAYS) {
            /* No reply leaves before the next sync, and storeSync() writes
             * the COMMIT first, if the next transaction's first record has
             * not taken it along: one write a command instead of two. What
             * waits for the commit (old versions to recycle) waits too. */
            journalCommitLater();
            st.ncommit_deferred = st.ndeferred;
            return rolled_back;
        }
        journalCommit();
    }
    if (journalCommitPending()) return rolled_back; /* what this one deferred waits with the rest */
    runDeferredFirst(st.ndeferred);
    journalMaybeReset();
    return rolled_back;
}

/* Run the first n deferred actions and forget them; the rest move up. */
static void runDeferredFirst(int n) {
    for (int i = 0; i < n; i++) {
        runDeferred(st.deferred[i].action, st.deferred[i].name, st.deferred[i].size);
        sdsfree(st.deferred[i].name);
    }
    if (n > 0 && st.ndeferred > n)
        memmove(st.deferred, st.deferred + n, sizeof(*st.deferred) * (size_t)(st.ndeferred - n));
    st.ndeferred -= n;
}

/* A held-back COMMIT has been written: what waited for it can run. */
static void commitWritten(void) {
    int n = st.ncommit_deferred;
    st.ncommit_deferred = 0;
    runDeferredFirst(n);
}

/* Write a held-back COMMIT now (before a sync that acknowledges). */
static void commitPending(void) {
    if (!journalCommitPending()) return;
    journalCommit();
    commitWritten();
    if (st.txn_depth == 0) {
        runDeferredFirst(st.ndeferred);
        journalMaybeReset();
    }
}

/* Give an entry under .tmp to a pool; 0 when the pool is full. */
static int poolPut(struct pool *p, const char *name) {
    int ok = 0;
    pthread_mutex_lock(&st.trash_lock);
    if (p->count < p->max && strlen(name) < sizeof(p->names[0])) {
        snprintf(p->names[(p->head + p->count) % p->max], sizeof(p->names[0]), "%s", name);
        p->count++;
        ok = 1;
    }
    pthread_mutex_unlock(&st.trash_lock);
    return ok;
}

/* Take a ready-made entry from a pool (NULL when it is empty). */
static sds poolTake(struct pool *p) {
    sds name = NULL;
    pthread_mutex_lock(&st.trash_lock);
    if (p->count > 0) {
        name = sdsnew(p->names[p->head]);
        p->head = (p->head + 1) % p->max;
        p->count--;
    }
    if (p->count < POOL_LOW && st.pool_space_ok) pthread_cond_signal(&st.trash_cond);
    pthread_mutex_unlock(&st.trash_lock);
    return name;
}

static long long monotonicMs(void);

/* Append name to queue q (trash_lock held); 0 when it is full. */
static int queuePush(struct pool *q, const char *name) {
    if (q->count >= q->max || strlen(name) >= sizeof(q->names[0])) return 0;
    int i = (q->head + q->count) % q->max;
    snprintf(q->names[i], sizeof(q->names[0]), "%s", name);
    q->since[i] = monotonicMs();
    q->count++;
    return 1;
}

/* A file under .tmp that nothing needs any more, of size bytes (-1: not
 * known). A small one may be reused by a writer for a while; the
 * background thread cuts the rest (removed at once when a queue is full). */
static void recycleLater(const char *name, long long size) {
    pthread_mutex_lock(&st.trash_lock);
    int reusable = size >= 0 && size <= RECYCLE_REUSE_MAX;
    int queued = queuePush(reusable ? &st.recycle : &st.cut, name);
    if (queued && !reusable) pthread_cond_signal(&st.trash_cond);
    pthread_mutex_unlock(&st.trash_lock);
    if (!queued) sysUnlinkat(st.tmpfd, name, 0);
}

/* Is there room on the file system for the pools to hold inodes? Not when
 * fewer than a reserve of inodes or bytes is free: 1/RESERVE_SHARE of the
 * file system, and at least RESERVE_INODES_MIN inodes and RESERVE_BYTES_MIN
 * bytes (file systems that make inodes on demand, as btrfs, report none). */
static int poolSpaceOk(void) {
    struct statvfs sv;
    if (sysFstatvfs(st.tmpfd, &sv) < 0) return 0;
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
    struct pool *pools[2] = {&st.files, &st.dirs};
    for (int i = 0; i < 2; i++) {
        sds name;
        while ((name = poolTake(pools[i])) != NULL) {
            if (sysUnlinkat(st.tmpfd, name, pools[i] == &st.dirs ? AT_REMOVEDIR : 0) == 0) given++;
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
    pthread_mutex_lock(&st.trash_lock);
    st.pool_space_ok = 0;
    pthread_mutex_unlock(&st.trash_lock);
    int given = poolGiveBack();
    errno = saved;
    return given > 0;
}

/* As yieldSpace(), and when the command running may use it (it frees
 * space: DEL, HDEL, LPOP ...), the space reserve is given back too
 * (store_reserve.c): 1 when a retry may succeed. */
static int yieldReserve(void) {
    if (errno != ENOSPC && errno != EDQUOT) return 0;
    int given = yieldSpace();
    return (!st.reserve_closed && reserveRelease()) || given;
}

/* Before new data is allocated: a command that adds data (Redis's
 * "denyoom") may not take the room the reserve keeps for deletes, so while
 * the reserve is given back and cannot be made again it fails (ENOSPC). */
static int roomForNewData(void) {
    return !st.reserve_closed || reserveEnsure();
}

int storeReserveAllowed(int allowed) {
    int was = !st.reserve_closed;
    st.reserve_closed = !allowed;
    return was;
}

/* renameat2(), once more after yieldReserve() on a full disk: a rename can
 * need a new block for the directory it enters. */
static int renameOrYield(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags) {
    int r = sysRenameat2(olddirfd, oldname, newdirfd, newname, flags);
    if (r < 0 && yieldReserve()) r = sysRenameat2(olddirfd, oldname, newdirfd, newname, flags);
    return r;
}

/* Background thread: top up a pool. */
static void poolRefill(struct pool *p, int isdir) {
    for (;;) {
        pthread_mutex_lock(&st.trash_lock);
        int full = p->count >= POOL_CREATE || st.trash_stop || !st.pool_space_ok || monotonicMs() < st.refill_after;
        pthread_mutex_unlock(&st.trash_lock);
        if (full) return;
        char name[24];
        snprintf(name, sizeof(name), "%c%d-%llu", p->prefix, (int)getpid(), ++p->seq);
        int ok;
        if (isdir) {
            ok = sysMkdirat(st.tmpfd, name, 0755) == 0;
        } else {
            int fd = sysOpenat(st.tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            ok = fd >= 0;
            if (ok) sysClose(fd);
        }
        if (!ok) { /* full disk or similar: writers fall back to creating */
            pthread_mutex_lock(&st.trash_lock);
            st.refill_after = monotonicMs() + 1000; /* not again at once: no spinning */
            pthread_mutex_unlock(&st.trash_lock);
            return;
        }
        if (!poolPut(p, name)) {
            if (isdir) sysUnlinkat(st.tmpfd, name, AT_REMOVEDIR);
            else sysUnlinkat(st.tmpfd, name, 0);
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Mutation primitives: every change to the tree goes through these.         */
/* ------------------------------------------------------------------------ */

/* Open a file of the recycling queue or the pool for writing, if nothing
 * else names it (and, from the pool, if it is empty as promised); *stale
 * gets its size. -1 (and the name removed) otherwise. */
static int openRecycledFile(const char *name, int mode, int fresh, ino_t *ino, long long *stale) {
    int fd = sysOpenat(st.tmpfd, name, mode | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    if (sysFstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 && (!fresh || sb.st_size == 0)) {
        *ino = sb.st_ino;
        *stale = sb.st_size;
        return fd;
    }
    sysClose(fd);
    sysUnlinkat(st.tmpfd, name, 0); /* our name only: another keeps its bytes */
    return -1;
}

/* The oldest replaced file of the recycling queue, if it left the tree
 * RECYCLE_MIN_AGE_MS ago (NULL otherwise). */
static sds recycleTake(void) {
    sds name = NULL;
    pthread_mutex_lock(&st.trash_lock);
    struct pool *q = &st.recycle;
    if (q->count > 0 && monotonicMs() - q->since[q->head] >= RECYCLE_MIN_AGE_MS) {
        name = sdsnew(q->names[q->head]);
        q->head = (q->head + 1) % q->max;
        q->count--;
    }
    pthread_mutex_unlock(&st.trash_lock);
    return name;
}

/* A file under .tmp to write a new version into: a replaced one of the
 * recycling queue (*stale bytes in it, to overwrite and cut), else an empty
 * one from the pool or a new one (*stale 0); *ino gets its inode number. */
static int openStagingFile(sds *tmpname, int rdwr, ino_t *ino, long long *stale) {
    int mode = rdwr ? O_RDWR : O_WRONLY;
    *stale = 0;
    if (!roomForNewData()) return -1;
    int fd = -1;
    sds name = NULL;
    for (int tries = 0; fd < 0 && tries < 4 && (name = recycleTake()) != NULL; tries++) {
        fd = openRecycledFile(name, mode, 0, ino, stale);
        if (fd < 0) {
            sdsfree(name);
            name = NULL;
        }
    }
    if (fd < 0 && (name = poolTake(&st.files)) != NULL) fd = openRecycledFile(name, mode, 1, ino, stale);
    if (fd < 0) {
        sdsfree(name);
        name = tmpName('w');
        fd = sysOpenat(st.tmpfd, name, mode | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && yieldReserve()) fd = sysOpenat(st.tmpfd, name, mode | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        struct stat sb;
        if (fd >= 0 && sysFstat(fd, &sb) < 0) {
            int saved = errno;
            sysClose(fd);
            sysUnlinkat(st.tmpfd, name, 0);
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
static int makeStagingDir(sds *tmpname) {
    if (!roomForNewData()) return STORE_ERR;
    sds name = poolTake(&st.dirs);
    if (!name) {
        name = tmpName('k');
        if (sysMkdirat(st.tmpfd, name, 0755) < 0 && !(yieldReserve() && sysMkdirat(st.tmpfd, name, 0755) == 0)) {
            sdsfree(name);
            return STORE_ERR;
        }
    }
    *tmpname = name;
    return STORE_OK;
}

/* Create a new file under .tmp holding data; returns its name and, when
 * ino is given, its inode number. */
static int opStageFile(const char *data, size_t len, sds *tmpname, ino_t *ino) {
    for (int attempt = 0;; attempt++) {
        sds name;
        ino_t staged;
        long long stale;
        int fd = openStagingFile(&name, 0, &staged, &stale);
        if (fd < 0) return STORE_ERR;
        if (writeFully(fd, data, len) < 0 || (stale > (long long)len && sysFtruncate(fd, (off_t)len) < 0)) {
            int saved = errno;
            sysClose(fd);
            sysUnlinkat(st.tmpfd, name, 0);
            sdsfree(name);
            errno = saved;
            if (attempt == 0 && yieldReserve()) continue; /* the pools' (or the reserve's) blocks may be enough */
            return STORE_ERR;
        }
        if (sysClose(fd) < 0) {
            int saved = errno;
            sysUnlinkat(st.tmpfd, name, 0);
            sdsfree(name);
            errno = saved;
            return STORE_ERR;
        }
        if (ino) *ino = staged;
        *tmpname = name;
        return STORE_OK;
    }
}

/* Move a staged file (inode stagedino, 0 when unknown) into dirfd/name.
 * noreplace: fail with EEXIST instead of replacing. *created, when given,
 * tells whether the name was new. On failure the staged file is removed
 * (but for EEXIST under noreplace). An existing file is replaced by
 * exchanging the two names and recycling the old one: as atomic as a
 * rename over it, and on ext4 much faster (a rename over an existing file
 * makes ext4 flush the new file's data, see auto_da_alloc). */
static int opInstallFile(sds tmpname, ino_t stagedino, int dirfd, const char *name, int noreplace, int *created) {
    st.dirty = 1;
    int r, exists;
    sds dir = NULL;
    if (st.txn_depth && relPath(dirfd, &dir)) {
        /* the journal must say beforehand whether this creates or replaces */
        struct stat sb;
        exists = statAt(dirfd, name, &sb);
        if (exists < 0) {
            r = -1;
        } else if (exists && noreplace) {
            errno = EEXIST;
            r = -1;
        } else if (!exists) {
            r = journalRecord(J_NEW, dir, name, "", "");
            if (r == 0) r = sysRenameat2(st.tmpfd, tmpname, dirfd, name, RENAME_NOREPLACE);
        } else {
            /* The record names both inodes, so that recovery can tell
             * whether the exchange happened before a crash. */
            struct stat staged;
            if (!stagedino && sysFstatat(st.tmpfd, tmpname, &staged, AT_SYMLINK_NOFOLLOW) == 0)
                stagedino = staged.st_ino;
            char inodes[48];
            snprintf(inodes, sizeof(inodes), "%llu:%llu", (unsigned long long)sb.st_ino,
                     (unsigned long long)stagedino);
            r = stagedino ? journalRecord(J_EXCHANGED, dir, name, inodes, tmpname) : -1;
            if (r == 0) r = sysRenameat2(st.tmpfd, tmpname, dirfd, name, RENAME_EXCHANGE);
            /* the old version: recycled once the command commits, if
             * nothing else names it then */
            if (r == 0) deferAction(DEFER_RECYCLE, tmpname, S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1);
        }
    } else {
        r = sysRenameat2(st.tmpfd, tmpname, dirfd, name, RENAME_NOREPLACE);
        exists = r < 0 && errno == EEXIST;
        if (exists && !noreplace) {
            r = sysRenameat2(st.tmpfd, tmpname, dirfd, name, RENAME_EXCHANGE);
            if (r == 0) {
                recycleLater(tmpname, -1); /* the old version */
            } else if (errno == ENOENT) {
                r = sysRenameat2(st.tmpfd, tmpname, dirfd, name, 0); /* vanished meanwhile */
                exists = 0;
            }
        }
    }
    sdsfree(dir);
    if (r < 0) {
        int saved = errno;
        if (!(noreplace && saved == EEXIST)) {
            sysUnlinkat(st.tmpfd, tmpname, 0);
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
static int opWriteFile(int dirfd, const char *name, const char *data, size_t len, int *created) {
    sds tmp;
    ino_t ino;
    if (opStageFile(data, len, &tmp, &ino) != STORE_OK) return STORE_ERR;
    return opInstallFile(tmp, ino, dirfd, name, 0, created);
}

static int opUnlink(int dirfd, const char *name) {
    st.dirty = 1;
    if (journaling(dirfd)) {
        /* set aside under .tmp, so that an undo can put it back */
        struct stat sb;
        if (sysFstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
        sds aside = tmpName('u');
        int r = journalNote(J_REMOVED, dirfd, name, st.tmpfd, aside);
        if (r == 0) r = renameOrYield(dirfd, name, st.tmpfd, aside, RENAME_NOREPLACE);
        if (r == 0) deferAction(DEFER_RECYCLE, aside, S_ISREG(sb.st_mode) ? (long long)sb.st_size : -1);
        sdsfree(aside);
        return r == 0 ? STORE_OK : STORE_ERR;
    }
    if (sysUnlinkat(dirfd, name, 0) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    return STORE_OK;
}

static int opMkdir(int dirfd, const char *name) {
    st.dirty = 1;
    if (journaling(dirfd)) {
        /* a J_NEW record for a name that already exists would undo it */
        struct stat sb;
        int e = statAt(dirfd, name, &sb);
        if (e != 0) {
            if (e > 0) errno = EEXIST;
            return STORE_ERR;
        }
        if (journalNote(J_NEW, dirfd, name, -1, NULL) < 0) return STORE_ERR;
    }
    if (!roomForNewData()) return STORE_ERR;
    if (sysMkdirat(dirfd, name, 0755) < 0 && !(yieldReserve() && sysMkdirat(dirfd, name, 0755) == 0)) return STORE_ERR;
    return STORE_OK;
}

/* A move to a free name (RENAME_NOREPLACE). */
static int opRename(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags) {
    st.dirty = 1;
    pathsMoved();
    if (journalNote(J_MOVED, olddirfd, oldname, newdirfd, newname) < 0 ||
        renameOrYield(olddirfd, oldname, newdirfd, newname, flags) < 0)
        return STORE_ERR;
    return STORE_OK;
}

/* Replace the directory dirfd/name with .tmp/staged. The old version ends
 * up under .tmp, at *oldname (caller frees). Outside a transaction the two
 * swap names in one step; inside one the old version is first moved aside,
 * then the new one moved in, each step journaled before it is made, so that
 * an undo can never mistake the new version for the old. */
static int opReplaceDir(int dirfd, const char *name, const char *staged, sds *oldname) {
    st.dirty = 1;
    pathsMoved();
    if (!journaling(dirfd)) {
        if (sysRenameat2(st.tmpfd, staged, dirfd, name, RENAME_EXCHANGE) < 0) return STORE_ERR;
        *oldname = sdsnew(staged);
        return STORE_OK;
    }
    sds aside = tmpName('o');
    if (journalNote(J_REMOVED, dirfd, name, st.tmpfd, aside) < 0 ||
        sysRenameat2(dirfd, name, st.tmpfd, aside, RENAME_NOREPLACE) < 0) {
        sdsfree(aside);
        return STORE_ERR;
    }
    if (journalNote(J_MOVED, st.tmpfd, staged, dirfd, name) < 0 ||
        sysRenameat2(st.tmpfd, staged, dirfd, name, RENAME_NOREPLACE) < 0) {
        int saved = errno;
        sysRenameat2(st.tmpfd, aside, dirfd, name, RENAME_NOREPLACE); /* the old one back */
        sdsfree(aside);
        errno = saved;
        return STORE_ERR;
    }
    *oldname = aside;
    return STORE_OK;
}

void storeSetFsyncPolicy(int policy) { st.fsync_policy = policy; }

int storeDirty(void) { return st.dirty; }

/* Make every change so far durable: one syncfs() covers the data and the
 * directory entries of the whole tree, and the journal. */
static volatile long long last_sync_time; /* unix seconds */

int storeSync(void) {
    commitPending();
    st.dirty = 0;
    if (sysSyncfs(st.rootfd) < 0) {
        st.dirty = 1;
        return STORE_ERR;
    }
    last_sync_time = (long long)time(NULL);
    return STORE_OK;
}

long long storeLastSync(void) { return last_sync_time; }

long long storeReserveBytes(void) { return reserveSize(); }

int storeSnapshot(const char *dir, int keep, int background, const char **err) {
    /* the sizes not known yet are counted (a directory listing each, once
     * in the server's life: they are kept up to date afterwards), so that
     * INFO's current_save_keys_total is exact, as Redis's */
    for (int i = 0; i < st.dbnum; i++) {
        long long n;
        if (st.dbsize[i] < 0) storeDbSize(i, &n);
    }
    return snapshotBegin(st.rootfd, st.dbfd, st.dbsize, st.dbnum, dir, keep, background, err);
}

static void trashWake(void) {
    pthread_mutex_lock(&st.trash_lock);
    st.trash_pending++;
    pthread_cond_signal(&st.trash_cond);
    pthread_mutex_unlock(&st.trash_lock);
}

/* Move dirfd/name (a file or a whole tree) to .trash for background removal.
 * In a transaction a visible entry is first set aside under .tmp, and
 * anything under .tmp stays until the commit. */
static int opTrash(int dirfd, const char *name) {
    st.dirty = 1;
    pathsMoved();
    if (dirfd == st.tmpfd && st.txn_depth) {
        deferAction(DEFER_TRASH, name, -1);
        return STORE_OK;
    }
    if (journaling(dirfd)) {
        sds aside = tmpName('t');
        int r = journalNote(J_REMOVED, dirfd, name, st.tmpfd, aside);
        if (r == 0) r = renameOrYield(dirfd, name, st.tmpfd, aside, RENAME_NOREPLACE);
        if (r == 0) deferAction(DEFER_TRASH, aside, -1);
        sdsfree(aside);
        return r == 0 ? STORE_OK : STORE_ERR;
    }
    sds t = tmpName('t');
    int r = opRename(dirfd, name, st.trashfd, t, RENAME_NOREPLACE);
    sdsfree(t);
    if (r == STORE_OK) trashWake();
    return r;
}

/* ------------------------------------------------------------------------ */
/* Background removal of .trash                                              */
/* ------------------------------------------------------------------------ */

/* May pool p take one more entry? */
static int poolAccepts(struct pool *p) {
    pthread_mutex_lock(&st.trash_lock);
    int ok = st.pool_space_ok && p->count < p->max;
    pthread_mutex_unlock(&st.trash_lock);
    return ok;
}

/* Background thread: move parentfd/name into a pool under a new name. */
static int recycleInto(struct pool *p, int parentfd, const char *name) {
    char fresh[24];
    if (!poolAccepts(p)) return 0;
    pthread_mutex_lock(&st.trash_lock);
    unsigned long long n = ++p->seq;
    pthread_mutex_unlock(&st.trash_lock);
    snprintf(fresh, sizeof(fresh), "%c%d-%llu", p->prefix, (int)getpid(), n);
    if (sysRenameat2(parentfd, name, st.tmpfd, fresh, RENAME_NOREPLACE) < 0) return 0;
    if (!poolPut(p, fresh)) sysUnlinkat(st.tmpfd, fresh, p == &st.dirs ? AT_REMOVEDIR : 0);
    return 1;
}

/* Background thread: parentfd/name, a file of .tmp or .trash that nothing
 * needs any more, becomes an empty file of the pool, if nothing else names
 * it: its link count is read once it has left the tree, where no new name
 * can be made to it, on the very inode that is then cut. 0 when not pooled:
 * the caller removes it. */
static int recycleFile(int parentfd, const char *name) {
    if (!poolAccepts(&st.files)) return 0;
    int fd = sysOpenat(parentfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat sb;
    int ok = sysFstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 &&
             (sb.st_size == 0 || sysFtruncate(fd, 0) == 0);
    sysClose(fd);
    if (!ok) return 0;
    if (parentfd != st.tmpfd) return recycleInto(&st.files, parentfd, name);
    return poolPut(&st.files, name);
}

/* Background thread: cut and pool, or remove, the files queued by
 * recycleLater(): all of queue q, or those queued at least age ms ago. */
static void drainQueue(struct pool *q, long long age) {
    for (;;) {
        char name[24];
        pthread_mutex_lock(&st.trash_lock);
        int some = q->count > 0 && !st.trash_stop && (age == 0 || monotonicMs() - q->since[q->head] >= age);
        if (some) {
            memcpy(name, q->names[q->head], sizeof(name));
            q->head = (q->head + 1) % q->max;
            q->count--;
        }
        pthread_mutex_unlock(&st.trash_lock);
        if (!some) return;
        if (!recycleFile(st.tmpfd, name)) sysUnlinkat(st.tmpfd, name, 0);
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
        while ((de = sysReaddir(d)) != NULL && !st.trash_stop) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            left = 1;
            removeTree(dirfd(d), de->d_name);
        }
        if (st.trash_stop) break; /* shutting down: the rest waits for the next start */
    }
    sysClosedir(d);
    if (left) return -1; /* stays in .trash; tried again next time */
    if (!recycleInto(&st.dirs, parentfd, name)) return sysUnlinkat(parentfd, name, AT_REMOVEDIR) == 0 ? 0 : -1;
    return 0;
}

static void emptyTrash(int trashfd) {
    int fd = sysOpenat(trashfd, ".", OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = sysFdopendir(fd);
    if (!d) { sysClose(fd); return; }
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL && !st.trash_stop) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        removeTree(trashfd, de->d_name);
    }
    sysClosedir(d);
}

static long long monotonicMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Does the background thread have something to do now? (trash_lock held) */
static int backgroundWorkWaiting(void) {
    return st.trash_pending || st.cut.count > 0 ||
           (st.pool_space_ok && (st.files.count < POOL_LOW || st.dirs.count < POOL_LOW) &&
            monotonicMs() >= st.refill_after);
}

/* Under everysec, a sync once a second while the tree is dirty. */
static long long bg_last_sync;
static void syncIfDue(void) {
    if (st.fsync_policy == STORE_FSYNC_EVERYSEC && st.dirty && monotonicMs() - bg_last_sync >= 1000) {
        storeSync();
        bg_last_sync = monotonicMs();
    }
}

/* What must not wait for a long pass over .trash (a dropped snapshot is a
 * link per file of the tree): the everysec sync and the recycling queues. */
static void backgroundDuties(void) {
    syncIfDue();
    drainQueue(&st.cut, 0);
    drainQueue(&st.recycle, RECYCLE_AGE_MS);
}

/* Background thread: the pools checked against the free space (given back
 * when it runs low), queued files recycled, the pools topped up, .trash
 * emptied. */
static void backgroundTidy(long long trash) {
    int ok = poolSpaceOk();
    pthread_mutex_lock(&st.trash_lock);
    st.pool_space_ok = ok;
    pthread_mutex_unlock(&st.trash_lock);
    if (!ok) poolGiveBack();
    drainQueue(&st.cut, 0);
    drainQueue(&st.recycle, RECYCLE_AGE_MS);
    poolRefill(&st.files, 0);
    poolRefill(&st.dirs, 1);
    if (trash) emptyTrash(st.trashfd);
}

/* The background thread wakes when work waits and at least once a second
 * (the recycling queue is emptied and the free space checked each time);
 * under everysec it syncs the tree once a second while it is dirty. */
static void *trashThreadMain(void *arg) {
    (void)arg;
    sysFaultExemptThread(); /* its calls are timed by the clock, not by commands */
    bg_last_sync = monotonicMs();
    pthread_mutex_lock(&st.trash_lock);
    while (!st.trash_stop) {
        int everysec = st.fsync_policy == STORE_FSYNC_EVERYSEC;
        long long due = monotonicMs() + 1000;
        if (everysec && st.dirty && bg_last_sync + 1000 < due) due = bg_last_sync + 1000;
        struct timespec ts = {(time_t)(due / 1000), (long)(due % 1000) * 1000000L};
        while (!st.trash_stop && !backgroundWorkWaiting())
            if (pthread_cond_timedwait(&st.trash_cond, &st.trash_lock, &ts) != 0) break; /* time is up */
        if (st.trash_stop) break;
        long long trash = st.trash_pending;
        st.trash_pending = 0;
        pthread_mutex_unlock(&st.trash_lock);
        syncIfDue();
        backgroundTidy(trash);
        pthread_mutex_lock(&st.trash_lock);
    }
    pthread_mutex_unlock(&st.trash_lock);
    return NULL;
}

long long storeTrashPending(void) {
    pthread_mutex_lock(&st.trash_lock);
    long long n = st.trash_pending;
    pthread_mutex_unlock(&st.trash_lock);
    return n;
}

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
    int fd = sysOpenat(st.tmpfd, ".", OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = sysFdopendir(fd);
    if (!d) { sysClose(fd); return; }
    struct dirent *de;
    int moved = 0;
    while ((de = sysReaddir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        sds t = tmpName('s');
        if (sysRenameat(dirfd(d), de->d_name, st.trashfd, t) == 0) moved++;
        sdsfree(t);
    }
    sysClosedir(d);
    if (moved) trashWake();
}

/* The state of a store on root with dbnum databases, nothing opened yet:
 * every descriptor -1, every count "not counted yet". */
static void resetState(const char *root, int dbnum) {
    memset(&st, 0, sizeof(st));
    st.rootfd = st.tmpfd = st.trashfd = -1;
    metacache = dictCreate();
    st.root = sdsnew(root);
    st.dbnum = dbnum;
    st.dbfd = zmalloc(sizeof(int) * (size_t)dbnum);
    st.expfd = zmalloc(sizeof(int) * (size_t)dbnum);
    st.dbsize = zmalloc(sizeof(long long) * (size_t)dbnum);
    st.expcount = zmalloc(sizeof(long long) * (size_t)dbnum);
    st.expcursor = zcalloc(sizeof(unsigned long long) * (size_t)dbnum);
    for (int i = 0; i < dbnum; i++) {
        st.dbfd[i] = st.expfd[i] = -1;
        st.dbsize[i] = st.expcount[i] = -1;
    }
}

int storeInit(const char *root, int dbnum, char **err) {
    static char errbuf[512];
    resetState(root, dbnum);
    st.rootfd = sysOpen(root, OPEN_DIR_FLAGS & ~O_NOFOLLOW);
    if (st.rootfd < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot open ROOT_DIR '%s': %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    if (sysFaccessat(st.rootfd, ".", W_OK, AT_EACCESS) < 0) {
        snprintf(errbuf, sizeof(errbuf), "ROOT_DIR '%s' is not writable: %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    int libfd = -1;
    if (openOrMakeDir(st.rootfd, ".tmp", &st.tmpfd) != STORE_OK ||
        openOrMakeDir(st.rootfd, ".trash", &st.trashfd) != STORE_OK ||
        openOrMakeDir(st.rootfd, LIBRARIES_DIR, &libfd) != STORE_OK) {
        snprintf(errbuf, sizeof(errbuf), "cannot create .tmp/.trash/%s under ROOT_DIR '%s': %s", LIBRARIES_DIR, root,
                 strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    sysClose(libfd);
    for (int i = 0; i < dbnum; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", i);
        if (openOrMakeDir(st.rootfd, name, &st.dbfd[i]) != STORE_OK ||
            openOrMakeDir(st.dbfd[i], ".expires", &st.expfd[i]) != STORE_OK) {
            snprintf(errbuf, sizeof(errbuf), "cannot create database directory %s under ROOT_DIR '%s': %s", name,
                     root, strerror(errno));
            *err = errbuf;
            return STORE_ERR;
        }
    }
    st.files.prefix = 'f';
    st.dirs.prefix = 'd';
    st.files.max = st.cut.max = POOL_MAX;
    st.dirs.max = POOL_DIRS_MAX;
    st.recycle.max = RECYCLE_QUEUE_MAX;
    struct pool *pools[4] = {&st.files, &st.dirs, &st.recycle, &st.cut};
    for (int i = 0; i < 4; i++) {
        pools[i]->names = zcalloc(sizeof(pools[i]->names[0]) * (size_t)pools[i]->max);
        pools[i]->since = zcalloc(sizeof(long long) * (size_t)pools[i]->max);
    }
    st.pool_space_ok = 0; /* until the background thread has looked */
    pthread_mutex_init(&st.trash_lock, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC); /* waits measured in monotonicMs() */
    pthread_cond_init(&st.trash_cond, &cattr);
    pthread_condattr_destroy(&cattr);
    {
        char proc[64], buf[4096];
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", st.rootfd);
        ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
        st.rootreal = sdsnewlen(buf, n > 0 ? (size_t)n : 0);
    }
    /* undo a transaction a crash interrupted, before .tmp is cleared: the
     * versions it displaced wait there */
    if (journalOpen(st.rootfd, st.trashfd, err) < 0) return STORE_ERR;
    reserveInit(st.rootfd);
    clearStaging();
    st.trash_pending++; /* empty what a previous run left in .trash */
    snapshotSetTrash(st.trashfd, trashWake);
    if (pthread_create(&st.trash_thread, NULL, trashThreadMain, NULL) != 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot start the trash thread");
        *err = errbuf;
        return STORE_ERR;
    }
    st.trash_started = 1;
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
    st.rootreal = sdsnew(root);
    st.rootfd = sysOpen(root, OPEN_DIR_FLAGS & ~O_NOFOLLOW);
    if (st.rootfd < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot open the tree '%s': %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    for (int i = 0; i < dbnum; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", i);
        st.dbfd[i] = sysOpenat(st.rootfd, name, OPEN_DIR_FLAGS);
        if (st.dbfd[i] < 0) {
            snprintf(errbuf, sizeof(errbuf), "cannot open database directory %s of '%s' (not a dredis tree?): %s",
                     name, root, strerror(errno));
            *err = errbuf;
            return STORE_ERR;
        }
        st.expfd[i] = sysOpenat(st.dbfd[i], ".expires", OPEN_DIR_FLAGS); /* -1: counted as none */
    }
    return STORE_OK;
}

void storeShutdown(void) {
    snapshotAbort();
    snapshotSetTrash(-1, NULL);
    commitPending();
    if (st.trash_started) {
        pthread_mutex_lock(&st.trash_lock);
        st.trash_stop = 1;
        pthread_cond_signal(&st.trash_cond);
        pthread_mutex_unlock(&st.trash_lock);
        pthread_join(st.trash_thread, NULL);
        st.trash_started = 0;
    }
    for (int i = 0; i < st.dbnum; i++) {
        if (st.dbfd) sysClose(st.dbfd[i]);
        if (st.expfd) sysClose(st.expfd[i]);
    }
    journalClose();
    reserveClose();
    if (st.tmpfd >= 0) sysClose(st.tmpfd);
    if (st.trashfd >= 0) sysClose(st.trashfd);
    if (st.rootfd >= 0) sysClose(st.rootfd);
    zfree(st.dbfd);
    zfree(st.expfd);
    zfree(st.dbsize);
    zfree(st.expcount);
    zfree(st.expcursor);
    sdsfree(st.root);
    sdsfree(st.rootreal);
    zfree(st.deferred);
    for (int i = 0; i < FDPATH_CACHE; i++) {
        sdsfree(fdpaths[i].path);
        fdpaths[i].path = NULL;
    }
    dictRelease(metacache, metaEntryFree);
    metacache = NULL;
    struct pool *pools[4] = {&st.files, &st.dirs, &st.recycle, &st.cut};
    for (int i = 0; i < 4; i++) {
        zfree(pools[i]->names);
        zfree(pools[i]->since);
    }
    last_changed_db = -1;
    memset(&st, 0, sizeof(st));
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

static int typeFromFile(const sds s) {
    size_t len = sdslen(s);
    while (len && (s[len - 1] == '\n')) len--;
    for (int i = 0; i < (int)(sizeof(typeNames) / sizeof(typeNames[0])); i++)
        if (strlen(typeNames[i]) == len && !memcmp(typeNames[i], s, len)) return i;
    return OBJ_NONE;
}

static skey *newSkey(int db, const char *name, size_t len) {
    skey *k = zcalloc(sizeof(*k));
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
 * next use (keyDir()), refusing one that is not the same inode. */
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
    int closed = metaDropFds();
    for (skey *k = openkeys; k; k = k->regnext)
        if (k != inuse && k != keyinuse) closed += parkKey(k);
    return closed;
}

/* openat(), once more after easeFds() when descriptors ran short. */
static int openEasing(int dirfd, const char *name, int flags, const skey *inuse) {
    int fd = sysOpenat(dirfd, name, flags);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && easeFds(inuse) > 0) fd = sysOpenat(dirfd, name, flags);
    return fd;
}

/* k's directory, opened again when it was parked (-1, errno set, when it
 * cannot be, or is no longer the directory k was opened on: ESTALE). */
/* k is being worked on: first in the list (a sub-key is not listed: its
 * parent stays marked). */
static void keyInUse(skey *k) {
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

static int keyDir(skey *k) {
    keyInUse(k);
    if (k->dirfd >= 0 || !k->parked) return k->dirfd;
    int fd = openEasing(st.dbfd[k->db], k->fname, OPEN_DIR_FLAGS, k);
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
    unlistKey(k);
    if (keyinuse == k) keyinuse = NULL;
    if (k->dirfd >= 0 && !metaKeepDir(k)) sysClose(k->dirfd);
    closeNamespaces(k); /* those the entry did not take */
    sdsfree(k->name);
    sdsfree(k->fname);
    sdsfree(k->stagename);
    zfree(k);
}

static sds expireEntryName(long long when, const sds fname) {
    return sdscatprintf(sdsempty(), "%lld_%s", when, fname);
}

/* Read the meta files of an open key directory. */
static int loadKeyMeta(skey *k) {
    sds s;
    int r = readFileAt(k->dirfd, "type", &s);
    if (r != STORE_OK) {
        if (r == STORE_NOTFOUND) errno = EUCLEAN; /* a key directory without a type */
        return STORE_ERR;
    }
    k->type = typeFromFile(s);
    sdsfree(s);
    if (k->type == OBJ_NONE) { errno = EUCLEAN; return STORE_ERR; }
    if (k->hashed) {
        r = readFileAt(k->dirfd, "name", &s);
        if (r != STORE_OK) { errno = EUCLEAN; return STORE_ERR; }
        int same = sdslen(s) == sdslen(k->name) && !memcmp(s, k->name, sdslen(s));
        sdsfree(s);
        if (!same) { errno = EUCLEAN; return STORE_ERR; } /* digest collision */
    }
    r = readFileAt(k->dirfd, "expire", &s);
    if (r == STORE_ERR) return STORE_ERR;
    if (r == STORE_OK) {
        k->expire = strtoll(s, NULL, 10);
        sdsfree(s);
    }
    return STORE_OK;
}

static int openKeyOp(int db, const char *name, size_t len, skey **out) {
    *out = NULL;
    skey *k = newSkey(db, name, len);
    int cached = metaLookup(k);
    if (cached && k->dirfd >= 0) { /* its directory was kept open */
        listKey(k);
        parkIdleKeys();
        *out = k;
        return STORE_OK;
    }
    k->dirfd = openEasing(st.dbfd[db], k->fname, OPEN_DIR_FLAGS, NULL);
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
        metaRemember(k);
    }
    listKey(k);
    parkIdleKeys();
    *out = k;
    return STORE_OK;
}

static int newKeyOp(int db, const char *name, size_t len, int type, skey **out) {
    *out = NULL;
    skey *k = newSkey(db, name, len);
    k->type = type;
    k->staged = 1;
    if (makeStagingDir(&k->stagename) != STORE_OK) goto err;
    k->dirfd = sysOpenat(st.tmpfd, k->stagename, OPEN_DIR_FLAGS);
    if (k->dirfd < 0) goto err;
    if (opWriteFile(k->dirfd, "type", typeNames[type], strlen(typeNames[type]), NULL) != STORE_OK) goto err;
    if (k->hashed && opWriteFile(k->dirfd, "name", name, len, NULL) != STORE_OK) goto err;
    *out = k;
    return STORE_OK;
err: {
        int saved = errno;
        if (k->dirfd >= 0) opTrash(st.tmpfd, k->stagename);
        storeCloseKey(k);
        errno = saved;
        return STORE_ERR;
    }
}

static void addExpireEntry(int db, long long when, const sds fname) {
    sds e = expireEntryName(when, fname);
    sds tmp;
    if (opStageFile("", 0, &tmp, NULL) == STORE_OK && opInstallFile(tmp, 0, st.expfd[db], e, 1, NULL) == STORE_OK) {
        if (st.expcount[db] >= 0) st.expcount[db]++;
    } else if (errno == EEXIST) {
        sysUnlinkat(st.tmpfd, tmp, 0); /* already indexed */
        sdsfree(tmp);
    }
    sdsfree(e);
}

static void removeExpireEntry(int db, long long when, const sds fname) {
    sds e = expireEntryName(when, fname);
    if (opUnlink(st.expfd[db], e) == STORE_OK && st.expcount[db] > 0) st.expcount[db]--;
    sdsfree(e);
}

/* Read the expiry of a key directory found at dirfd/name (for a key that is
 * about to be replaced). */
static long long expireOfDirAt(int dirfd, const char *name) {
    int fd = sysOpenat(dirfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return -1;
    sds s;
    long long when = -1;
    if (readFileAt(fd, "expire", &s) == STORE_OK) {
        when = strtoll(s, NULL, 10);
        sdsfree(s);
    }
    sysClose(fd);
    return when;
}

static int publishKeyOp(skey *k, int *replaced) {
    int db = k->db;
    if (replaced) *replaced = 0;
    if (!k->staged) return STORE_OK;
    keyWillChange(db, k->fname);
    /* The journal must know beforehand whether this creates or replaces. */
    struct stat sb;
    int exists = statAt(st.dbfd[db], k->fname, &sb);
    if (exists < 0) return STORE_ERR;
    if (exists || opRename(st.tmpfd, k->stagename, st.dbfd[db], k->fname, RENAME_NOREPLACE) != STORE_OK) {
        if (!exists && errno != EEXIST && errno != ENOTEMPTY) return STORE_ERR;
        /* Put the new key in place, then throw the old one away. */
        sds old;
        if (opReplaceDir(st.dbfd[db], k->fname, k->stagename, &old) != STORE_OK) return STORE_ERR;
        long long oldexp = expireOfDirAt(st.tmpfd, old);
        if (oldexp >= 0) removeExpireEntry(db, oldexp, k->fname);
        opTrash(st.tmpfd, old);
        sdsfree(old);
        if (replaced) *replaced = 1;
    } else if (st.dbsize[db] >= 0) {
        st.dbsize[db]++;
    }
    k->staged = 0;
    sdsfree(k->stagename);
    k->stagename = NULL;
    if (k->expire >= 0) addExpireEntry(db, k->expire, k->fname);
    keyTouched(k);
    keyChanged(db, k->name, sdslen(k->name));
    return STORE_OK;
}

static int deleteKeyOp(skey *k) {
    if (k->staged) {
        opTrash(st.tmpfd, k->stagename);
        return STORE_OK;
    }
    if (keyDir(k) < 0 && k->parked) return STORE_ERR; /* an orphan keeps its directory open */
    keyWillChange(k->db, k->fname);
    if (opTrash(st.dbfd[k->db], k->fname) != STORE_OK) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    unlistKey(k); /* orphaned: never parked, it could not be found again */
    if (k->expire >= 0) removeExpireEntry(k->db, k->expire, k->fname);
    if (st.dbsize[k->db] > 0) st.dbsize[k->db]--;
    keyTouched(k);
    keyChanged(k->db, k->name, sdslen(k->name));
    return STORE_OK;
}

static int renameKeyOp(skey *k, int dstdb, const char *dst, size_t dstlen) {
    int hashed;
    if (keyDir(k) < 0 && k->parked) return STORE_ERR;
    sds dfname = keynameEncode(dst, dstlen, &hashed);
    keyWillChange(k->db, k->fname);
    keyWillChange(dstdb, dfname);
    if (hashed && opWriteFile(keyDir(k), "name", dst, dstlen, NULL) != STORE_OK) goto err;
    struct stat sb;
    int dstexists = statAt(st.dbfd[dstdb], dfname, &sb);
    if (dstexists < 0) goto err;
    if (dstexists) {
        /* the destination goes first, then the source moves in */
        long long oldexp = expireOfDirAt(st.dbfd[dstdb], dfname);
        if (opTrash(st.dbfd[dstdb], dfname) != STORE_OK) goto err;
        if (oldexp >= 0) removeExpireEntry(dstdb, oldexp, dfname);
        if (st.dbsize[dstdb] > 0) st.dbsize[dstdb]--;
    }
    if (opRename(st.dbfd[k->db], k->fname, st.dbfd[dstdb], dfname, RENAME_NOREPLACE) != STORE_OK) goto err;
    if (st.dbsize[k->db] > 0) st.dbsize[k->db]--;
    if (st.dbsize[dstdb] >= 0) st.dbsize[dstdb]++;
    if (k->hashed && !hashed) opUnlink(keyDir(k), "name");
    if (k->expire >= 0) {
        removeExpireEntry(k->db, k->expire, k->fname);
        addExpireEntry(dstdb, k->expire, dfname);
    }
    keyTouched(k);
    keyChanged(k->db, k->name, sdslen(k->name));
    keyChanged(dstdb, dst, dstlen);
    sdsfree(k->fname);
    sdsfree(k->name);
    k->fname = dfname;
    k->name = sdsnewlen(dst, dstlen);
    k->hashed = hashed;
    k->db = dstdb;
    keyTouched(k);
    return STORE_OK;
err: {
        int saved = errno;
        sdsfree(dfname);
        errno = saved;
        return STORE_ERR;
    }
}

static int setExpireOp(skey *k, long long when) {
    if (when == k->expire) return STORE_OK;
    skeyWillChange(k);
    if (when >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", when);
        if (opWriteFile(keyDir(k), "expire", buf, (size_t)n, NULL) != STORE_OK) return STORE_ERR;
    } else if (opUnlink(keyDir(k), "expire") == STORE_ERR) {
        return STORE_ERR;
    }
    if (!k->staged) {
        if (k->expire >= 0) removeExpireEntry(k->db, k->expire, k->fname);
        if (when >= 0) addExpireEntry(k->db, when, k->fname);
    }
    k->expire = when;
    if (!k->staged) metaRemember(k);
    keyTouched(k);
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* Databases: flush, size, scan                                              */
/* ------------------------------------------------------------------------ */

/* Open db's directory (and its .expires) again after it was replaced. */
static int reopenDb(int db) {
    char name[16];
    scanAheadDrop();
    snprintf(name, sizeof(name), "%d", db);
    sysClose(st.dbfd[db]); /* first: the new ones need no descriptor more */
    sysClose(st.expfd[db]);
    st.dbfd[db] = st.expfd[db] = -1;
    int newfd = sysOpenat(st.rootfd, name, OPEN_DIR_FLAGS);
    if (newfd < 0) return STORE_ERR;
    int newexp = sysOpenat(newfd, ".expires", OPEN_DIR_FLAGS);
    if (newexp < 0) {
        sysClose(newfd);
        return STORE_ERR;
    }
    st.dbfd[db] = newfd;
    st.expfd[db] = newexp;
    st.dbsize[db] = st.expcount[db] = -1; /* counted again when asked */
    st.expcursor[db] = 0;
    return STORE_OK;
}

/* ---- scratch space and the files of ROOT_DIR's top level ---- */

sds storeScratchPath(char tag) {
    sds name = tmpName(tag);
    sds path = sdscatprintf(sdsnew(st.root), "/.tmp/%s", name);
    sdsfree(name);
    return path;
}

int storeRemoveScratch(const char *path) {
    const char *name = strrchr(path, '/');
    return opTrash(st.tmpfd, name ? name + 1 : path);
}

/* The function libraries of the tree at treefd (an empty set when it has
 * none) in place of ours, as storeReplaceAllDbs does for a database. */
static int replaceLibrariesFrom(int treefd) {
    sds staged = tmpName('e'), old = NULL;
    int r = STORE_OK;
    if (sysRenameat2(treefd, LIBRARIES_DIR, st.tmpfd, staged, RENAME_NOREPLACE) < 0)
        r = errno == ENOENT ? opMkdir(st.tmpfd, staged) : STORE_ERR;
    if (r == STORE_OK) r = opReplaceDir(st.rootfd, LIBRARIES_DIR, staged, &old);
    if (r == STORE_OK) opTrash(st.tmpfd, old);
    sdsfree(staged);
    sdsfree(old);
    return r;
}

/* Replace every database with the ones of the tree at path (under .tmp, see
 * storeScratchPath: a replica's full sync loads its master's RDB there),
 * in one transaction: after a failure, or a crash, the old ones are back. */
static int replaceAllDbsOp(const char *path) {
    const char *tree = strrchr(path, '/');
    int treefd = sysOpenat(st.tmpfd, tree ? tree + 1 : path, OPEN_DIR_FLAGS);
    if (treefd < 0) return STORE_ERR;
    storeTxnBegin();
    int r = STORE_OK;
    for (int db = 0; db < st.dbnum && r == STORE_OK; db++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", db);
        changes++;
        mutations++;
        snapshotDbWillChange(db, st.dbfd[db]);
        if (flushHook) flushHook(db);
        sds staged = tmpName('e'), old = NULL;
        if (sysRenameat2(treefd, name, st.tmpfd, staged, RENAME_NOREPLACE) < 0) r = STORE_ERR;
        int sfd = r == STORE_OK ? sysOpenat(st.tmpfd, staged, OPEN_DIR_FLAGS) : -1;
        if (r == STORE_OK && (sfd < 0 || (sysMkdirat(sfd, ".expires", 0755) < 0 && errno != EEXIST))) r = STORE_ERR;
        if (sfd >= 0) sysClose(sfd);
        if (r == STORE_OK) r = opReplaceDir(st.rootfd, name, staged, &old);
        if (r == STORE_OK) opTrash(st.tmpfd, old);
        sdsfree(staged);
        sdsfree(old);
        keyChanged(db, NULL, 0);
    }
    if (r == STORE_OK) r = replaceLibrariesFrom(treefd);
    int saved = errno;
    sysClose(treefd);
    if (r != STORE_OK) storeTxnFail();
    storeTxnEnd();
    /* whichever tree is in place now, the descriptors follow it; without
     * them the server would serve one tree and write another: it stops,
     * and starts again on the tree as committed */
    for (int db = 0; db < st.dbnum; db++) {
        if (reopenDb(db) != STORE_OK) {
            fprintf(stderr, "dredis: fatal: database %d cannot be opened again after it was replaced: %s\n", db,
                    strerror(errno));
            _exit(1);
        }
    }
    if (flushHook)
        for (int db = 0; db < st.dbnum; db++) flushHook(db);
    errno = saved;
    return r;
}

/* A small file of dredis's own at ROOT_DIR's top level (".replication"):
 * read whole, written whole (a new file synced and renamed over), removed. */
static int readRootFileOp(const char *name, sds *out) {
    *out = NULL;
    int fd = sysOpenat(st.rootfd, name, O_RDONLY | O_CLOEXEC);
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

static int writeRootFileOp(const char *name, const char *data, size_t len) {
    sds tmp = tmpName('w');
    int fd = sysOpenat(st.tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int r = fd < 0 ? STORE_ERR : writeFully(fd, data, len);
    if (r == STORE_OK && sysFsync(fd) < 0) r = STORE_ERR;
    int saved = errno;
    if (fd >= 0) sysClose(fd);
    if (r == STORE_OK && sysRenameat(st.tmpfd, tmp, st.rootfd, name) < 0) r = STORE_ERR;
    if (r == STORE_OK && sysFsync(st.rootfd) < 0) r = STORE_ERR;
    if (r != STORE_OK) {
        saved = errno;
        sysUnlinkat(st.tmpfd, tmp, 0);
    }
    sdsfree(tmp);
    errno = saved;
    return r;
}

static int removeRootFileOp(const char *name) {
    if (sysUnlinkat(st.rootfd, name, 0) < 0 && errno != ENOENT) return STORE_ERR;
    return sysFsync(st.rootfd) < 0 ? STORE_ERR : STORE_OK;
}

/* ---- function libraries: ROOT_DIR/.functions/<encoded name> ---- */

static int openLibraries(void) { return sysOpenat(st.rootfd, LIBRARIES_DIR, OPEN_DIR_FLAGS); }

static int writeLibraryOp(const char *name, size_t len, const char *code, size_t codelen) {
    int fd = openLibraries();
    if (fd < 0) return STORE_ERR;
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    int r = opWriteFile(fd, fname, code, codelen, NULL);
    int saved = errno;
    sdsfree(fname);
    sysClose(fd);
    errno = saved;
    return r;
}

static int removeLibraryOp(const char *name, size_t len) {
    int fd = openLibraries();
    if (fd < 0) return STORE_ERR;
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    int r = opUnlink(fd, fname);
    int saved = errno;
    sdsfree(fname);
    sysClose(fd);
    errno = saved;
    return r == STORE_NOTFOUND ? STORE_OK : r;
}

static int readLibrariesOp(storeLibraryVisitor *fn, void *ud) {
    int fd = openLibraries();
    if (fd < 0) return errno == ENOENT ? STORE_OK : STORE_ERR; /* a tree of an older dredis: none */
    DIR *d = sysFdopendir(fd);
    if (!d) {
        int saved = errno;
        sysClose(fd);
        errno = saved;
        return STORE_ERR;
    }
    int r = STORE_OK;
    struct dirent *de;
    errno = 0;
    while (r == STORE_OK && (de = sysReaddir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        sds code;
        r = readFileAt(dirfd(d), de->d_name, &code);
        if (r != STORE_OK) break;
        r = fn(ud, de->d_name, code, sdslen(code)) == 0 ? STORE_OK : STORE_ERR;
        sdsfree(code);
        errno = 0;
    }
    int saved = errno;
    sysClosedir(d);
    errno = saved;
    return r;
}

static int flushDbOp(int db) {
    char name[16];
    snprintf(name, sizeof(name), "%d", db);
    int newfd, newexp;
    changes++;
    mutations++;
    snapshotDbWillChange(db, st.dbfd[db]);
    if (flushHook) flushHook(db);
    /* 'e', not 'd': the directory pool's names are d<pid>-<n> with their
     * own counter, and a clash made FLUSHDB fail with EEXIST */
    sds staged = tmpName('e');
    /* build the empty database first, then swap it in */
    if (opMkdir(st.tmpfd, staged) != STORE_OK) { sdsfree(staged); return STORE_ERR; }
    int sfd = sysOpenat(st.tmpfd, staged, OPEN_DIR_FLAGS);
    sds old = NULL;
    if (sfd < 0 || opMkdir(sfd, ".expires") != STORE_OK || opReplaceDir(st.rootfd, name, staged, &old) != STORE_OK) {
        int saved = errno;
        if (sfd >= 0) sysClose(sfd);
        opTrash(st.tmpfd, staged);
        sdsfree(staged);
        errno = saved;
        return STORE_ERR;
    }
    sysClose(sfd);
    opTrash(st.tmpfd, old);
    sdsfree(old);
    sdsfree(staged);
    keyChanged(db, NULL, 0);
    newfd = sysOpenat(st.rootfd, name, OPEN_DIR_FLAGS);
    if (newfd < 0) return STORE_ERR;
    newexp = sysOpenat(newfd, ".expires", OPEN_DIR_FLAGS);
    if (newexp < 0) { sysClose(newfd); return STORE_ERR; }
    sysClose(st.dbfd[db]);
    sysClose(st.expfd[db]);
    st.dbfd[db] = newfd;
    st.expfd[db] = newexp;
    st.dbsize[db] = 0;
    st.expcount[db] = 0;
    st.expcursor[db] = 0;
    return STORE_OK;
}

static int swapDbOp(int db1, int db2) {
    char n1[16], n2[16];
    if (db1 == db2) return STORE_OK;
    snprintf(n1, sizeof(n1), "%d", db1);
    snprintf(n2, sizeof(n2), "%d", db2);
    changes++;
    mutations++;
    snapshotDbWillChange(db1, st.dbfd[db1]);
    snapshotDbWillChange(db2, st.dbfd[db2]);
    if (flushHook) {
        flushHook(db1);
        flushHook(db2);
    }
    sds aside = tmpName('s');
    int r = opRename(st.rootfd, n1, st.tmpfd, aside, RENAME_NOREPLACE);
    if (r == STORE_OK) r = opRename(st.rootfd, n2, st.rootfd, n1, RENAME_NOREPLACE);
    if (r == STORE_OK) r = opRename(st.tmpfd, aside, st.rootfd, n2, RENAME_NOREPLACE);
    sdsfree(aside);
    if (r != STORE_OK) {
        storeTxnFail();
        return STORE_ERR;
    }
#define SWAP(type, a, b) do { type t_ = (a); (a) = (b); (b) = t_; } while (0)
    SWAP(int, st.dbfd[db1], st.dbfd[db2]);
    SWAP(int, st.expfd[db1], st.expfd[db2]);
    SWAP(long long, st.dbsize[db1], st.dbsize[db2]);
    SWAP(long long, st.expcount[db1], st.expcount[db2]);
    SWAP(unsigned long long, st.expcursor[db1], st.expcursor[db2]);
#undef SWAP
    keyChanged(db1, NULL, 0);
    keyChanged(db2, NULL, 0);
    /* and again after: a key that was missing may exist now (WATCH) */
    if (flushHook) {
        flushHook(db1);
        flushHook(db2);
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

static int copyKeyOp(skey *k, int dstdb, const char *dst, size_t dstlen, int replace) {
    skey *n = newSkey(dstdb, dst, dstlen);
    n->type = k->type;
    n->staged = 1;
    n->stagename = tmpName('k');
    n->expire = k->expire;
    if (opMkdir(st.tmpfd, n->stagename) != STORE_OK || (n->dirfd = sysOpenat(st.tmpfd, n->stagename, OPEN_DIR_FLAGS)) < 0)
        goto err;
    /* every entry of the key directory: files linked, directories rebuilt */
    int sfd = sysOpenat(keyDir(k), ".", OPEN_DIR_FLAGS);
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
        int e = statAt(st.dbfd[dstdb], n->fname, &sb);
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
        if (n->dirfd >= 0) opTrash(st.tmpfd, n->stagename);
        storeCloseKey(n);
        errno = e;
        return STORE_ERR;
    }
}

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* A directory read in getdents64 batches from a resumable offset. */
typedef struct dirReader {
    int fd;
    char buf[32768] __attribute__((aligned(8))); /* holds struct linux_dirent64 records */
    long nread, bpos;
    unsigned long long pos;   /* offset after the last entry returned */
    int eof;
    int err;                  /* errno of a failed read: the listing is cut short */
} dirReader;

static int dirReaderOpen(dirReader *r, int dirfd, const char *name, unsigned long long cursor) {
    r->fd = sysOpenat(dirfd, name, OPEN_DIR_FLAGS);
    if (r->fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    r->nread = r->bpos = 0;
    r->eof = r->err = 0;
    r->pos = cursor;
    if (cursor && sysLseek(r->fd, (off_t)cursor, SEEK_SET) < 0) {
        int saved = errno;
        if (saved == EINVAL) {
            /* not an offset this directory can have (SCAN 18446744073709551615):
             * nothing follows it */
            r->eof = 1;
            r->pos = 0;
            return STORE_OK;
        }
        sysClose(r->fd);
        errno = saved;
        return STORE_ERR;
    }
    return STORE_OK;
}

/* Next entry that is not "." / ".." / a dot-file of ours. */
static struct linux_dirent64 *dirReaderNext(dirReader *r, int include_dot) {
    for (;;) {
        if (r->bpos >= r->nread) {
            if (r->eof) return NULL;
            long n = sysGetdents64(r->fd, r->buf, sizeof(r->buf));
            if (n < 0) r->err = errno;
            if (n <= 0) { r->eof = 1; r->pos = 0; return NULL; }
            r->nread = n;
            r->bpos = 0;
        }
        struct linux_dirent64 *d = (struct linux_dirent64 *)(r->buf + r->bpos);
        r->bpos += d->d_reclen;
        r->pos = (unsigned long long)d->d_off;
        if (d->d_name[0] == '.' && !include_dot) continue;
        return d;
    }
}

static void dirReaderClose(dirReader *r) {
    if (r->fd >= 0) sysClose(r->fd);
    r->fd = -1;
}

/* Close r; STORE_ERR (errno set) when a read failed, so that a listing cut
 * short is never taken for the whole directory. */
static int dirReaderEnd(dirReader *r) {
    int err = r->err;
    dirReaderClose(r);
    if (!err) return STORE_OK;
    errno = err;
    return STORE_ERR;
}

/* The raw key for a directory entry of a database. */
static sds keyNameOfEntry(int db, const char *fname) {
    size_t len = strlen(fname);
    if (!keynameIsHashed(fname, len)) return keynameDecode(fname, len);
    int fd = sysOpenat(st.dbfd[db], fname, OPEN_DIR_FLAGS);
    if (fd < 0) return NULL;
    sds name = NULL;
    if (readFileAt(fd, "name", &name) != STORE_OK) name = NULL;
    sysClose(fd);
    return name;
}

static int dbSizeOp(int db, long long *out) {
    if (st.dbsize[db] < 0) {
        dirReader r;
        int rc = dirReaderOpen(&r, st.dbfd[db], ".", 0);
        if (rc != STORE_OK) return STORE_ERR;
        long long n = 0;
        while (dirReaderNext(&r, 0)) n++;
        if (dirReaderEnd(&r) != STORE_OK) return STORE_ERR;
        st.dbsize[db] = n;
    }
    *out = st.dbsize[db];
    return STORE_OK;
}

long long storeExpiresCount(int db) {
    if (st.expcount[db] < 0) {
        dirReader r;
        if (dirReaderOpen(&r, st.expfd[db], ".", 0) != STORE_OK) return 0;
        long long n = 0;
        while (dirReaderNext(&r, 0)) n++;
        dirReaderClose(&r);
        st.expcount[db] = n;
    }
    return st.expcount[db];
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

static void scanAheadDrop(void) {
    dirReaderClose(&scanAhead.r);
    scanAhead.db = -1;
}

/* A reader positioned at cursor: the one kept from the step before, or a new one. */
static int scanReaderAt(int db, unsigned long long cursor, dirReader **out) {
    if (cursor == 0 || scanAhead.db != db || scanAhead.next != cursor) {
        scanAheadDrop();
        if (dirReaderOpen(&scanAhead.r, st.dbfd[db], ".", cursor) != STORE_OK) return STORE_ERR;
        scanAhead.db = db;
    }
    *out = &scanAhead.r;
    return STORE_OK;
}

static int scanKeysOp(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
                  unsigned long long *next) {
    dirReader *r;
    if (scanReaderAt(db, cursor, &r) != STORE_OK) return STORE_ERR;
    long seen = 0;
    struct linux_dirent64 *d;
    while (seen < count && (d = dirReaderNext(r, 0)) != NULL) {
        seen++;
        sds name = keyNameOfEntry(db, d->d_name);
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
        scanAheadDrop();
        errno = err;
        return STORE_ERR;
    }
    *next = r->pos; /* 0 once the end was read */
    if (r->eof) scanAheadDrop();
    else scanAhead.next = r->pos;
    return STORE_OK;
}

int storeKeyHasNoTTL(int db, const char *name, size_t len) {
    if (metacache) {
        sds mk = metaKey(db, name, len);
        metaEntry *e = dictFetch(metacache, mk, sdslen(mk));
        sdsfree(mk);
        if (e && e->dirfd >= 0) return e->expire < 0; /* as storeOpenKey would trust it */
    }
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    struct stat sb;
    int plain = sysFstatat(st.dbfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
    size_t dirlen = sdslen(fname);
    if (plain) {
        fname = sdscat(fname, "/expire");
        plain = sysFstatat(st.dbfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
    }
    if (plain) {
        /* and a type it knows: a damaged key is left to the full check */
        sdssetlen(fname, dirlen);
        fname[dirlen] = '\0';
        fname = sdscat(fname, "/type");
        char buf[16];
        int fd = sysOpenat(st.dbfd[db], fname, OPEN_FILE_FLAGS);
        ssize_t n = fd >= 0 ? sysRead(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0) sysClose(fd);
        plain = 0;
        if (n > 0) {
            sds type = sdsnewlen(buf, (size_t)n);
            plain = typeFromFile(type) != OBJ_NONE;
            sdsfree(type);
        }
    }
    sdsfree(fname);
    return plain;
}

static int randomKeyOp(int db, sds *out) {
    *out = NULL;
    long long size;
    if (dbSizeOp(db, &size) != STORE_OK) return STORE_ERR;
    if (size == 0) return STORE_NOTFOUND;
    /* ext4 and most file systems hand out hash-ordered offsets: seek to a
     * random one and take the next key, falling back to the start. */
    unsigned long long off = ((unsigned long long)random() << 31 | (unsigned long long)random()) & 0x7fffffffffffffffULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        dirReader r;
        if (dirReaderOpen(&r, st.dbfd[db], ".", attempt == 0 ? off : 0) != STORE_OK) {
            if (attempt == 0) continue;
            return STORE_ERR;
        }
        struct linux_dirent64 *d;
        while ((d = dirReaderNext(&r, 0)) != NULL) {
            sds name = keyNameOfEntry(db, d->d_name);
            if (name) {
                dirReaderClose(&r);
                *out = name;
                return STORE_OK;
            }
        }
        dirReaderClose(&r);
    }
    return STORE_NOTFOUND;
}

/* ------------------------------------------------------------------------ */
/* Files of a key                                                            */
/* ------------------------------------------------------------------------ */

static int readFileOp(skey *k, const char *file, sds *out) {
    metaEntry *e = isValueFile(file) ? metaOf(k) : NULL;
    if (e && e->value) {
        *out = sdsdup(e->value);
        return STORE_OK;
    }
    int r = readFileAt(keyDir(k), file, out);
    if (r == STORE_OK && e) metaSetValue(e, *out, sdslen(*out));
    return r;
}

static int fileSizeOp(skey *k, const char *file, long long *size) {
    metaEntry *e = isValueFile(file) ? metaOf(k) : NULL;
    if (e && e->value) {
        *size = (long long)sdslen(e->value);
        return STORE_OK;
    }
    struct stat sb;
    if (sysFstatat(keyDir(k), file, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; return STORE_ERR; } /* a link or other intruder */
    *size = sb.st_size;
    return STORE_OK;
}

static int readFileRangeOp(skey *k, const char *file, long long off, long long len, sds *out) {
    int fd = sysOpenat(keyDir(k), file, OPEN_FILE_FLAGS);
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

static int writeFileOp(skey *k, const char *file, const char *data, size_t len) {
    skeyWillChange(k);
    int r = opWriteFile(keyDir(k), file, data, len, NULL);
    metaFileChanged(k, file, r == STORE_OK ? data : NULL, len);
    return touchedIfOk(k, r);
}

static int removeFileOp(skey *k, const char *file) {
    skeyWillChange(k);
    metaFileChanged(k, file, NULL, 0);
    return touchedIfOk(k, opUnlink(keyDir(k), file));
}

static int patchFileOp(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize) {
    skeyWillChange(k);
    sds tmp;
    ino_t ino;
    long long stale;
    int out = openStagingFile(&tmp, 1, &ino, &stale);
    if (out < 0) return STORE_ERR;
    /* a reused file is emptied first: a gap must read as zeros */
    if (stale > 0 && sysFtruncate(out, 0) < 0) {
        int saved = errno;
        sysClose(out);
        sysUnlinkat(st.tmpfd, tmp, 0);
        sdsfree(tmp);
        errno = saved;
        return STORE_ERR;
    }
    int in = sysOpenat(keyDir(k), file, OPEN_FILE_FLAGS);
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
    metaFileChanged(k, file, NULL, 0);
    return touchedIfOk(k, opInstallFile(tmp, ino, keyDir(k), file, 0, NULL));
err: {
        int saved = errno;
        if (in >= 0) sysClose(in);
        if (out >= 0) sysClose(out);
        sysUnlinkat(st.tmpfd, tmp, 0);
        sdsfree(tmp);
        errno = saved;
        return STORE_ERR;
    }
}

static int readNumberOp(skey *k, const char *file, long long *out, long long dflt) {
    sds s;
    int r = readFileAt(keyDir(k), file, &s);
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

static int writeNumberOp(skey *k, const char *file, long long v) {
    skeyWillChange(k);
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    int r = opWriteFile(keyDir(k), file, buf, (size_t)n, NULL);
    metaFileChanged(k, file, r == STORE_OK ? buf : NULL, (size_t)n);
    return touchedIfOk(k, r);
}

/* ------------------------------------------------------------------------ */
/* Members of a key's namespace directory                                    */
/* ------------------------------------------------------------------------ */

#define NAMES_DIR ".names"

/* The descriptor of namespace ns of k, opened once per skey. create: make
 * the directory when it does not exist. Returns -1 (errno ENOENT when it just
 * does not exist). */
static int nsDir(skey *k, const char *ns, int create) {
    keyInUse(k);
    int free_slot = -1;
    for (int i = 0; i < 4; i++) {
        if (k->nsfd[i] >= 0 && !strcmp(k->nsname[i], ns)) return k->nsfd[i];
        if (k->nsfd[i] < 0 && free_slot < 0) free_slot = i;
    }
    int dirfd = keyDir(k);
    if (dirfd < 0) return -1;
    int fd = openEasing(dirfd, ns, OPEN_DIR_FLAGS, k);
    if (fd < 0 && errno == ENOENT && create) {
        if (opMkdir(dirfd, ns) != STORE_OK && errno != EEXIST) return -1;
        fd = openEasing(dirfd, ns, OPEN_DIR_FLAGS, k);
    }
    if (fd < 0) return -1;
    if (free_slot < 0) {
        sysClose(k->nsfd[0]);
        free_slot = 0;
    }
    k->nsfd[free_slot] = fd;
    snprintf(k->nsname[free_slot], sizeof(k->nsname[free_slot]), "%s", ns);
    return fd;
}

static int readMemberOp(skey *k, const char *ns, const char *m, size_t mlen, sds *out) {
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int r = readFileAt(fd, fname, out);
    if (r == STORE_OK && hashed) {
        /* verify the full name (a digest collision would be a different member) */
        int nfd = sysOpenat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        sds full = NULL;
        int ok = nfd >= 0 && readFileAt(nfd, fname, &full) == STORE_OK && sdslen(full) == mlen &&
                 !memcmp(full, m, mlen);
        if (nfd >= 0) sysClose(nfd);
        sdsfree(full);
        if (!ok) {
            sdsfree(*out);
            *out = NULL;
            r = STORE_NOTFOUND;
        }
    }
    sdsfree(fname);
    return r;
}

static int memberExistsOp(skey *k, const char *ns, const char *m, size_t mlen) {
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = sysFstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? STORE_OK
            : errno == ENOENT                                  ? STORE_NOTFOUND
                                                               : STORE_ERR;
    sdsfree(fname);
    return r;
}

/* The .names directory of a namespace (full names of shortened member
 * names), created when missing. -1 on error. */
static int namesDir(int nsfd) {
    int nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    if (nfd < 0 && errno == ENOENT) {
        if (opMkdir(nsfd, NAMES_DIR) != STORE_OK && errno != EEXIST) return -1;
        nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    }
    return nfd;
}

static int memberSizeOp(skey *k, const char *ns, const char *m, size_t mlen, long long *size) {
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = sysFstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? STORE_OK
            : errno == ENOENT                                  ? STORE_NOTFOUND
                                                               : STORE_ERR;
    if (r == STORE_OK) *size = sb.st_size;
    sdsfree(fname);
    return r;
}

static int writeMemberOp(skey *k, const char *ns, const char *m, size_t mlen, const char *data, size_t dlen,
                     int *created) {
    skeyWillChange(k);
    int fd = nsDir(k, ns, 1);
    if (fd < 0) return STORE_ERR;
    int hashed, r;
    sds fname = keynameEncode(m, mlen, &hashed);
    if (hashed) {
        int nfd = -1;
        if ((nfd = namesDir(fd)) < 0 || opWriteFile(nfd, fname, m, mlen, NULL) != STORE_OK) {
            int saved = errno;
            if (nfd >= 0) sysClose(nfd);
            sdsfree(fname);
            errno = saved;
            return STORE_ERR;
        }
        sysClose(nfd);
    }
    int dummy;
    r = opWriteFile(fd, fname, data, dlen, created ? created : &dummy);
    sdsfree(fname);
    return touchedIfOk(k, r);
}

static int removeMemberOp(skey *k, const char *ns, const char *m, size_t mlen) {
    skeyWillChange(k);
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int r = opUnlink(fd, fname);
    if (r == STORE_OK && hashed) {
        int nfd = sysOpenat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        if (nfd >= 0) {
            opUnlink(nfd, fname);
            sysClose(nfd);
        }
    }
    sdsfree(fname);
    return touchedIfOk(k, r);
}

static int countMembersOp(skey *k, const char *ns, long long *out) {
    *out = 0;
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_OK : STORE_ERR;
    dirReader r;
    if (dirReaderOpen(&r, fd, ".", 0) != STORE_OK) return STORE_ERR;
    long long n = 0;
    while (dirReaderNext(&r, 0)) n++;
    if (dirReaderEnd(&r) != STORE_OK) return STORE_ERR;
    *out = n;
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* Sub-keys: directories inside a key                                        */
/* ------------------------------------------------------------------------ */

/* A handle like k's, for a directory inside k: changes are reported as
 * changes to k (the key hook), and k's staged state is shared. */
static skey *newSubKey(skey *k) {
    skey *s = zcalloc(sizeof(*s));
    s->db = k->db;
    s->name = sdsdup(k->name);
    s->fname = sdsdup(k->fname);
    s->hashed = k->hashed;
    s->dirfd = -1;
    s->type = k->type;
    s->expire = -1;
    s->staged = k->staged;
    for (int i = 0; i < 4; i++) s->nsfd[i] = -1;
    return s;
}

/* Record the full name of a shortened member name in ns's .names. */
static int writeFullName(int nsfd, const char *fname, const char *m, size_t mlen) {
    int nfd = namesDir(nsfd);
    if (nfd < 0) return STORE_ERR;
    int r = opWriteFile(nfd, fname, m, mlen, NULL);
    int saved = errno;
    sysClose(nfd);
    errno = saved;
    return r;
}

/* Whether the .names entry of a shortened name holds exactly m. */
static int fullNameIs(int nsfd, const char *fname, const char *m, size_t mlen) {
    int nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    sds full = NULL;
    int ok = nfd >= 0 && readFileAt(nfd, fname, &full) == STORE_OK && sdslen(full) == mlen && !memcmp(full, m, mlen);
    if (nfd >= 0) sysClose(nfd);
    sdsfree(full);
    return ok;
}

static int openSubOp(skey *k, const char *ns, const char *m, size_t mlen, skey **out) {
    *out = NULL;
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int sfd = sysOpenat(fd, fname, OPEN_DIR_FLAGS);
    int saved = errno;
    if (sfd >= 0 && hashed && !fullNameIs(fd, fname, m, mlen)) {
        /* another name with the same digest */
        sysClose(sfd);
        sfd = -1;
        saved = ENOENT;
    }
    sdsfree(fname);
    if (sfd < 0) {
        errno = saved;
        return saved == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    }
    skey *s = newSubKey(k);
    s->dirfd = sfd;
    *out = s;
    return STORE_OK;
}

static int newSubOp(skey *k, skey **out) {
    *out = NULL;
    skey *s = newSubKey(k);
    s->staged = 1;
    if (makeStagingDir(&s->stagename) != STORE_OK) goto err;
    s->dirfd = sysOpenat(st.tmpfd, s->stagename, OPEN_DIR_FLAGS);
    if (s->dirfd < 0) goto err;
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        storeCloseKey(s);
        errno = saved;
        return STORE_ERR;
    }
}

static int publishSubOp(skey *k, const char *ns, const char *m, size_t mlen, skey *sub) {
    skeyWillChange(k);
    if (!sub->staged || !sub->stagename) { errno = EINVAL; return STORE_ERR; }
    int fd = nsDir(k, ns, 1);
    if (fd < 0) return STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = STORE_ERR;
    int e = statAt(fd, fname, &sb);
    if (e > 0) errno = EEXIST;
    else if (e == 0 && (!hashed || writeFullName(fd, fname, m, mlen) == STORE_OK))
        r = opRename(st.tmpfd, sub->stagename, fd, fname, RENAME_NOREPLACE);
    int saved = errno;
    sdsfree(fname);
    if (r != STORE_OK) {
        errno = saved;
        return STORE_ERR;
    }
    sdsfree(sub->stagename);
    sub->stagename = NULL;
    sub->staged = k->staged;
    keyTouched(k);
    return STORE_OK;
}

static int removeSubOp(skey *k, const char *ns, const char *m, size_t mlen) {
    skeyWillChange(k);
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r;
    if (sysFstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) < 0) r = errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    else r = opTrash(fd, fname);
    if (r == STORE_OK && hashed) {
        int nfd = sysOpenat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        if (nfd >= 0) {
            opUnlink(nfd, fname);
            sysClose(nfd);
        }
    }
    sdsfree(fname);
    return touchedIfOk(k, r);
}

struct storeIter {
    dirReader r;
    int empty;
    int nsfd;
};

static int iterOpenOp(skey *k, const char *ns, unsigned long long cursor, storeIter **out) {
    storeIter *it = zcalloc(sizeof(*it));
    int fd = nsDir(k, ns, 0);
    it->r.fd = -1;
    if (fd < 0) {
        if (errno != ENOENT) { zfree(it); return STORE_ERR; }
        it->empty = 1;
    } else {
        if (dirReaderOpen(&it->r, fd, ".", cursor) != STORE_OK) {
            zfree(it);
            return STORE_ERR;
        }
        it->nsfd = it->r.fd; /* its own: the skey's may be parked meanwhile */
    }
    *out = it;
    return STORE_OK;
}

/* The member named by directory entry fname of namespace directory nsfd, or
 * NULL when the entry is not one of ours. */
static sds memberNameOfEntry(int nsfd, const char *fname) {
    size_t len = strlen(fname);
    if (!keynameIsHashed(fname, len)) return keynameDecode(fname, len);
    sds name = NULL;
    int nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    if (nfd >= 0) {
        if (readFileAt(nfd, fname, &name) != STORE_OK) name = NULL;
        sysClose(nfd);
    }
    return name;
}

static int iterNextOp(storeIter *it, sds *m) {
    if (it->empty) return STORE_NOTFOUND;
    struct linux_dirent64 *d;
    while ((d = dirReaderNext(&it->r, 0)) != NULL) {
        sds name = memberNameOfEntry(it->nsfd, d->d_name);
        if (!name) continue;
        *m = name;
        return STORE_OK;
    }
    if (it->r.err) {
        errno = it->r.err;
        return STORE_ERR;
    }
    return STORE_NOTFOUND;
}

unsigned long long storeIterCursor(storeIter *it) {
    if (it->empty || it->r.eof) return 0;
    if (it->r.bpos >= it->r.nread) {
        long n = sysGetdents64(it->r.fd, it->r.buf, sizeof(it->r.buf));
        if (n <= 0) { it->r.eof = 1; return 0; }
        it->r.nread = n;
        it->r.bpos = 0;
    }
    return it->r.pos;
}

void storeIterClose(storeIter *it) {
    if (!it) return;
    if (!it->empty) dirReaderClose(&it->r);
    zfree(it);
}

/* Random members. Directory offsets (the d_off cookies of getdents64) are
 * increasing along a directory on the file systems we run on (ext4 and xfs
 * hash or block order, tmpfs and btrfs insertion order); seeking to any
 * offset lands on the first entry at or after it. A draw seeks to a random
 * offset below a bound found by binary search and takes the next entry. A
 * directory whose first reads end it, or whose offsets do not increase, is
 * read whole and drawn from exactly. */
#define SAMPLER_EXACT_READS 4     /* getdents64 batches read before sampling by offset */
#define SAMPLER_PROBE_BUF 2048    /* holds at least one entry */
#define SAMPLER_MAX_DRAWS 64      /* draws past the last entry before taking the first one */

struct storeSampler {
    int nsfd;                   /* the namespace directory (fd: the skey's may be parked) */
    int fd;                     /* our own descriptor of it, for seeking */
    int exact;                  /* names holds every entry */
    sds *names;                 /* encoded names, when exact */
    size_t nnames, cap;
    unsigned long long limit;   /* otherwise: every entry's offset is below this */
};

static unsigned long long random64(void) {
    return ((unsigned long long)random() << 33) ^ ((unsigned long long)random() << 2) ^
           ((unsigned long long)random() & 3);
}

/* Does any entry sit at or after offset off? 1 yes, 0 no, -1 error. */
static int samplerAnyAt(storeSampler *s, unsigned long long off) {
    char buf[SAMPLER_PROBE_BUF] __attribute__((aligned(8))); /* holds struct linux_dirent64 records */
    if (sysLseek(s->fd, (off_t)off, SEEK_SET) < 0) return errno == EINVAL ? 0 : -1;
    long n = sysGetdents64(s->fd, buf, sizeof(buf));
    if (n < 0) return -1;
    return n > 0;
}

/* Append the member entries of a getdents64 batch to s->names; *increasing
 * is cleared when an offset does not grow. */
static void samplerKeep(storeSampler *s, const char *buf, long n, long long *last, int *increasing) {
    for (long pos = 0; pos < n;) {
        const struct linux_dirent64 *d = (const struct linux_dirent64 *)(buf + pos);
        pos += d->d_reclen;
        if (d->d_off <= *last) *increasing = 0;
        *last = d->d_off;
        if (d->d_name[0] == '.') continue;
        if (s->nnames == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->names = zrealloc(s->names, sizeof(sds) * s->cap);
        }
        s->names[s->nnames++] = sdsnew(d->d_name);
    }
}

static void samplerFreeNames(storeSampler *s) {
    for (size_t i = 0; i < s->nnames; i++) sdsfree(s->names[i]);
    zfree(s->names);
    s->names = NULL;
    s->nnames = s->cap = 0;
}

void storeSamplerClose(storeSampler *s) {
    if (!s) return;
    samplerFreeNames(s);
    if (s->fd >= 0) sysClose(s->fd);
    zfree(s);
}

static int samplerOpenOp(skey *k, const char *ns, storeSampler **out) {
    *out = NULL;
    int nsfd = nsDir(k, ns, 0);
    if (nsfd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    storeSampler *s = zcalloc(sizeof(*s));
    s->fd = sysOpenat(nsfd, ".", OPEN_DIR_FLAGS);
    if (s->fd < 0) goto err;
    s->nsfd = s->fd;
    char *buf = zmalloc(32768);
    long long last = -1;
    int increasing = 1, reads = 0;
    long n;
    while ((n = sysGetdents64(s->fd, buf, 32768)) > 0) {
        samplerKeep(s, buf, n, &last, &increasing);
        /* offsets that do not grow cannot be sampled by seeking: read all */
        if (++reads >= SAMPLER_EXACT_READS && increasing) break;
    }
    zfree(buf);
    if (n < 0) goto err;
    if (n == 0) {
        s->exact = 1;
        if (s->nnames == 0) {
            storeSamplerClose(s);
            return STORE_NOTFOUND;
        }
    } else {
        samplerFreeNames(s);
        /* the smallest power of two no entry reaches (2^63: none does) */
        int lo = 0, hi = 63;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            int any = samplerAnyAt(s, 1ULL << mid);
            if (any < 0) goto err;
            if (any) lo = mid;
            else hi = mid;
        }
        s->limit = hi == 63 ? (unsigned long long)LLONG_MAX : 1ULL << hi;
    }
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        storeSamplerClose(s);
        errno = saved;
        return STORE_ERR;
    }
}

/* The first member at or after offset off: STORE_OK, or STORE_NOTFOUND when
 * there is none. */
static int samplerFirstAt(storeSampler *s, unsigned long long off, sds *m) {
    char buf[SAMPLER_PROBE_BUF] __attribute__((aligned(8))); /* holds struct linux_dirent64 records */
    if (sysLseek(s->fd, (off_t)off, SEEK_SET) < 0) return errno == EINVAL ? STORE_NOTFOUND : STORE_ERR;
    long n;
    while ((n = sysGetdents64(s->fd, buf, sizeof(buf))) > 0) {
        for (long pos = 0; pos < n;) {
            const struct linux_dirent64 *d = (const struct linux_dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (d->d_name[0] == '.') continue;
            sds name = memberNameOfEntry(s->nsfd, d->d_name);
            if (name) {
                *m = name;
                return STORE_OK;
            }
        }
    }
    return n < 0 ? STORE_ERR : STORE_NOTFOUND;
}

static int samplerNextOp(storeSampler *s, sds *m) {
    *m = NULL;
    if (s->exact) {
        while (s->nnames) {
            size_t i = (size_t)(random64() % s->nnames);
            sds name = memberNameOfEntry(s->nsfd, s->names[i]);
            if (name) {
                *m = name;
                return STORE_OK;
            }
            /* not a member of ours: forget it */
            sdsfree(s->names[i]);
            s->names[i] = s->names[--s->nnames];
        }
        return STORE_NOTFOUND;
    }
    for (int draw = 0; draw < SAMPLER_MAX_DRAWS; draw++) {
        int r = samplerFirstAt(s, random64() % s->limit, m);
        if (r != STORE_NOTFOUND) return r;
    }
    return samplerFirstAt(s, 0, m);
}

/* ------------------------------------------------------------------------ */
/* Expiry index                                                              */
/* ------------------------------------------------------------------------ */

long storeExpireScan(int db, long long now_ms, long budget, storeExpireVisitor *fn) {
    if (storeExpiresCount(db) == 0) return 0; /* nothing to look at: no directory read */
    dirReader r;
    if (dirReaderOpen(&r, st.expfd[db], ".", st.expcursor[db]) != STORE_OK) return 0;
    long visited = 0;
    struct linux_dirent64 *d;
    while (visited < budget && (d = dirReaderNext(&r, 0)) != NULL) {
        visited++;
        char *us = strchr(d->d_name, '_');
        if (!us) continue;
        long long when = strtoll(d->d_name, NULL, 10);
        /* due as keyIsExpired() judges it: once the clock is past it (a key
         * at its very millisecond is not expired yet, and its entry, dropped
         * below, must not go before it) */
        if (when >= now_ms) continue;
        sds name = keyNameOfEntry(db, us + 1);
        if (name) {
            fn(db, name, sdslen(name), when);
            sdsfree(name);
        }
        /* whatever fn did, this entry is due: drop it if it is still there */
        if (opUnlink(st.expfd[db], d->d_name) == STORE_OK && st.expcount[db] > 0) st.expcount[db]--;
    }
    st.expcursor[db] = r.eof ? 0 : r.pos;
    dirReaderClose(&r);
    return visited;
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
    return stickyResult(newKeyOp(db, name, len, type, out));
}
int storePublishKey(skey *k, int *replaced) { return stickyResult(publishKeyOp(k, replaced)); }
int storeDeleteKey(skey *k) { return stickyResult(deleteKeyOp(k)); }
int storeRenameKey(skey *k, int dstdb, const char *dst, size_t dstlen) {
    return stickyResult(renameKeyOp(k, dstdb, dst, dstlen));
}
int storeSetExpire(skey *k, long long when) { return stickyResult(setExpireOp(k, when)); }
int storeReplaceAllDbs(const char *path) { return stickyResult(replaceAllDbsOp(path)); }
int storeReadRootFile(const char *name, sds *out) { return stickyResult(readRootFileOp(name, out)); }
int storeWriteRootFile(const char *name, const char *data, size_t len) {
    return stickyResult(writeRootFileOp(name, data, len));
}
int storeRemoveRootFile(const char *name) { return stickyResult(removeRootFileOp(name)); }
int storeWriteLibrary(const char *name, size_t len, const char *code, size_t codelen) {
    return stickyResult(writeLibraryOp(name, len, code, codelen));
}
int storeRemoveLibrary(const char *name, size_t len) { return stickyResult(removeLibraryOp(name, len)); }
int storeReadLibraries(storeLibraryVisitor *fn, void *ud) { return stickyResult(readLibrariesOp(fn, ud)); }
int storeFlushDb(int db) { return stickyResult(flushDbOp(db)); }
int storeSwapDb(int db1, int db2) { return stickyResult(swapDbOp(db1, db2)); }
int storeCopyKey(skey *k, int dstdb, const char *dst, size_t dstlen, int replace) {
    return stickyUnlessExists(copyKeyOp(k, dstdb, dst, dstlen, replace));
}
int storeDbSize(int db, long long *out) { return stickyResult(dbSizeOp(db, out)); }
int storeScanKeys(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
              unsigned long long *next) {
    return stickyResult(scanKeysOp(db, cursor, count, fn, ud, next));
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
int storeRemoveFile(skey *k, const char *file) { return stickyResult(removeFileOp(k, file)); }
int storePatchFile(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize) {
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
    return stickyResult(removeMemberOp(k, ns, m, mlen));
}
int storeCountMembers(skey *k, const char *ns, long long *out) { return stickyResult(countMembersOp(k, ns, out)); }
int storeOpenSub(skey *k, const char *ns, const char *m, size_t mlen, skey **out) {
    return stickyResult(openSubOp(k, ns, m, mlen, out));
}
int storeNewSub(skey *k, skey **out) { return stickyResult(newSubOp(k, out)); }
int storePublishSub(skey *k, const char *ns, const char *m, size_t mlen, skey *sub) {
    return stickyUnlessExists(publishSubOp(k, ns, m, mlen, sub));
}
int storeRemoveSub(skey *k, const char *ns, const char *m, size_t mlen) {
    return stickyResult(removeSubOp(k, ns, m, mlen));
}
int storeIterOpen(skey *k, const char *ns, unsigned long long cursor, storeIter **out) {
    return stickyResult(iterOpenOp(k, ns, cursor, out));
}
int storeIterNext(storeIter *it, sds *m) { return stickyResult(iterNextOp(it, m)); }
int storeSamplerOpen(skey *k, const char *ns, storeSampler **out) { return stickyResult(samplerOpenOp(k, ns, out)); }
int storeSamplerNext(storeSampler *s, sds *m) { return stickyResult(samplerNextOp(s, m)); }
