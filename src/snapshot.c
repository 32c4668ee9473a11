/* snapshot.c - point-in-time snapshots of the tree as hard links (see
 * snapshot.h). Files of the tree are never written in place and a file
 * with another link is never written again (store_pool.c, store_ops.c),
 * so a hard link is a frozen copy of a file; a snapshot is a tree of new
 * directories holding links to the files of the instant.
 *
 * Layout: DIR/.incomplete-snapshot-<UTC time>/ while it is made, renamed to
 * DIR/snapshot-<UTC time>/ once complete and synced (a private one, which
 * its caller removes when done: private-snapshot-<UTC time>). Inside, 0/ ... 15/,
 * each with its keys and a .expires/ index rebuilt from the keys' expire
 * files, and .functions/ (the function libraries, linked at the instant):
 * a valid ROOT_DIR (the server adds .journal, .tmp and .trash).
 *
 * Which keys are linked by whom: one lock (snap.lock) covers "is this key in
 * the snapshot yet?" and the linking of one key. The thread walks each
 * database and links every key not there yet; before a key changes,
 * snapshotKeyWillChange() links it first (or, when the key does not exist,
 * leaves a marker file of its name, so that the thread will not link the
 * key made after the instant). Markers are removed when a database is
 * done. Nothing is kept in memory per key: the snapshot directory is the
 * record of what was done. */
#include "snapshot.h"
#include "store.h"
#include "syscalls.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <sys/stat.h>

#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define MAX_DBS 64
#define LIBRARIES_DIR ".functions" /* store_int.h's */

static struct {
    pthread_mutex_t lock;
    int state;             /* SNAPSHOT_* */
    int dbnum;
    int srcfd[MAX_DBS];    /* the databases as they were at the instant (the walker's) */
    int dstfd[MAX_DBS];    /* the snapshot's databases */
    int done[MAX_DBS];     /* every key of this database is in the snapshot */
    int parentfd;          /* DIR */
    char name[64];         /* snapshot-<time> or private-snapshot-<time> */
    char dir[4096];        /* DIR, as given */
    char lastdir[4200];    /* the last complete snapshot (not private) */
    char finisheddir[4200]; /* the one snapshotPoll reported */
    int keep;              /* or SNAPSHOT_PRIVATE */
    volatile int failed;   /* an error: the snapshot is abandoned */
    volatile int abort;
    int finished, ok;      /* for snapshotPoll */
    long long linked, total;
    pthread_t thread;
    int thread_started;
    int writer_waiting;    /* the event loop wants the lock (atomic) */
    int trashfd;           /* the server's .trash, for discard() */
    /* the key the thread is linking without the lock (claim_db -1: none);
     * a writer to that key waits on claimed */
    int claim_db;
    char claim[256];
    pthread_cond_t claimed;
    void (*trash_wake)(void);
} snap = {.lock = PTHREAD_MUTEX_INITIALIZER, .trashfd = -1, .claim_db = -1, .claimed = PTHREAD_COND_INITIALIZER};

void snapshotSetTrash(int trashfd, void (*wake)(void)) {
    snap.trashfd = trashfd;
    snap.trash_wake = wake;
}

/* The event loop takes the lock ahead of the thread: the thread, which
 * takes it for each key, lets it through before it takes it again (a
 * mutex is not fair, and a writer could wait for many keys). */
static void lockForWriter(void) {
    __atomic_store_n(&snap.writer_waiting, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&snap.lock);
    __atomic_store_n(&snap.writer_waiting, 0, __ATOMIC_SEQ_CST);
}

static void lockForThread(void) {
    while (__atomic_load_n(&snap.writer_waiting, __ATOMIC_SEQ_CST)) sched_yield();
    pthread_mutex_lock(&snap.lock);
}

/* A new descriptor of directory fd with an offset of its own: a dup() would
 * share the directory offset with every other reader of fd (the server's
 * SCAN, the other thread's walk), and a walk would then skip entries. */
static int reopenDir(int fd) { return sysOpenat(fd, ".", OPEN_DIR_FLAGS); }

/* ---- linking one key ---- */

static int isDotName(const char *n) { return n[0] == '.'; }

/* Make dstfd/name a tree of new directories holding hard links to the
 * files of srcfd/name. */
static int linkTreeAt(int srcfd, int dstfd, const char *name) {
    int sfd = sysOpenat(srcfd, name, OPEN_DIR_FLAGS);
    if (sfd < 0) return -1;
    if (sysMkdirat(dstfd, name, 0755) < 0) {
        sysClose(sfd);
        return -1;
    }
    int dfd = sysOpenat(dstfd, name, OPEN_DIR_FLAGS);
    DIR *d = dfd >= 0 ? sysFdopendir(sfd) : NULL;
    if (!d) {
        int saved = errno;
        if (dfd >= 0) sysClose(dfd);
        sysClose(sfd);
        errno = saved;
        return -1;
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = sysReaddir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        unsigned char type = de->d_type;
        if (type == DT_UNKNOWN) {
            struct stat sb;
            if (sysFstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) { r = -1; break; }
            type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type == DT_DIR) r = linkTreeAt(dirfd(d), dfd, de->d_name);
        else if (type == DT_REG && sysLinkat(dirfd(d), de->d_name, dfd, de->d_name, 0) < 0) r = -1;
    }
    int saved = errno;
    sysClosedir(d);
    sysClose(dfd);
    errno = saved;
    return r;
}

/* The key's entry in the snapshot's expiry index, from its expire file. */
static int indexExpiry(int db, const char *fname) {
    int kfd = sysOpenat(snap.dstfd[db], fname, OPEN_DIR_FLAGS);
    if (kfd < 0) return -1;
    int fd = sysOpenat(kfd, "expire", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    sysClose(kfd);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    char buf[32];
    ssize_t n = sysRead(fd, buf, sizeof(buf) - 1);
    sysClose(fd);
    if (n <= 0) return 0; /* damaged: the server reports it when the key is read */
    buf[n] = '\0';
    char *end;
    long long when = strtoll(buf, &end, 10);
    if (end == buf) return 0;
    int efd = sysOpenat(snap.dstfd[db], ".expires", OPEN_DIR_FLAGS);
    if (efd < 0) return -1;
    char entry[4200];
    snprintf(entry, sizeof(entry), "%lld_%s", when, fname);
    int r = 0;
    fd = sysOpenat(efd, entry, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) r = -1;
    else sysClose(fd);
    sysClose(efd);
    return r;
}

/* Does key fname of database db, found in srcfd, still need linking? A
 * key in the snapshot (or marked absent) does not; a key srcfd does not
 * hold is marked absent here. Called with snap.lock held. */
static int keyNeedsLinking(int db, int srcfd, const char *fname) {
    struct stat sb;
    if (snap.failed || sysFstatat(snap.dstfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) == 0) return 0;
    if (sysFstatat(srcfd, fname, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)) {
        int fd = sysOpenat(snap.dstfd[db], fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644); /* the marker */
        if (fd < 0) snap.failed = 1;
        else sysClose(fd);
        return 0;
    }
    return 1;
}

static void linkKey(int db, int srcfd, const char *fname) {
    if (linkTreeAt(srcfd, snap.dstfd[db], fname) < 0 || indexExpiry(db, fname) < 0) snap.failed = 1;
}

/* The event loop is about to change key fname (lock held by the caller):
 * wait while the thread links it, then link it here if still needed. */
static void linkKeyForWriter(int db, int srcfd, const char *fname) {
    while (snap.claim_db == db && !strcmp(snap.claim, fname)) pthread_cond_wait(&snap.claimed, &snap.lock);
    if (snap.done[db] || snap.finished || !keyNeedsLinking(db, srcfd, fname)) return;
    linkKey(db, srcfd, fname);
    snap.linked++;
}

/* Redis's rdb-key-save-delay (tests): microseconds the thread waits before
 * each key (a negative value -N: 1 us once in N keys, as Redis's
 * debugDelay), slept in slices that see a change of the setting at once. */
static volatile int keyDelay;

void snapshotSetKeyDelay(int us) { __atomic_store_n(&keyDelay, us, __ATOMIC_SEQ_CST); }

static void delayKey(void) {
    int us = __atomic_load_n(&keyDelay, __ATOMIC_SEQ_CST);
    if (us < 0) us = rand() % -us == 0 ? 1 : 0;
    for (long left = us; left > 0 && !snap.abort && __atomic_load_n(&keyDelay, __ATOMIC_SEQ_CST); left -= 10000)
        usleep(left > 10000 ? 10000 : (useconds_t)left);
}

/* The thread: claim the key under the lock, link it without, so that the
 * event loop waits only when it writes that very key. */
static void linkKeyForThread(int db, int srcfd, const char *fname) {
    delayKey();
    lockForThread();
    int claim = !snap.done[db] && strlen(fname) < sizeof(snap.claim) && keyNeedsLinking(db, srcfd, fname);
    if (claim) {
        snap.claim_db = db;
        memcpy(snap.claim, fname, strlen(fname) + 1);
    }
    pthread_mutex_unlock(&snap.lock);
    if (!claim) return;
    linkKey(db, srcfd, fname);
    pthread_mutex_lock(&snap.lock);
    snap.claim_db = -1;
    snap.linked++;
    pthread_cond_broadcast(&snap.claimed);
    pthread_mutex_unlock(&snap.lock);
}

/* ---- walking the databases ---- */

/* Link every key of database db not linked yet, from the directory as it
 * was at the instant, then drop the markers. */
static void linkDatabase(int db, int srcfd, int writer) {
    int fd = reopenDir(srcfd);
    DIR *d = fd >= 0 ? sysFdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) sysClose(fd);
        snap.failed = 1;
        return;
    }
    rewinddir(d);
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL && !snap.failed && !snap.abort) {
        if (isDotName(de->d_name)) continue;
        if (writer) {
            lockForWriter();
            if (!snap.done[db]) linkKeyForWriter(db, srcfd, de->d_name);
            pthread_mutex_unlock(&snap.lock);
        } else {
            linkKeyForThread(db, srcfd, de->d_name);
        }
    }
    sysClosedir(d);
}

static void dropMarkers(int db) {
    int fd = reopenDir(snap.dstfd[db]);
    DIR *d = fd >= 0 ? sysFdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) sysClose(fd);
        snap.failed = 1;
        return;
    }
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL) {
        if (isDotName(de->d_name)) continue;
        struct stat sb;
        if (sysFstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) &&
            sysUnlinkat(dirfd(d), de->d_name, 0) < 0)
            snap.failed = 1;
    }
    sysClosedir(d);
}

/* Database db complete: no key is linked or marked in it any more (its
 * markers are dropped by the thread, before the snapshot is synced). */
static void finishDatabase(int db) {
    pthread_mutex_lock(&snap.lock);
    snap.done[db] = 1;
    pthread_mutex_unlock(&snap.lock);
}

/* Remove parentfd/name and everything under it. */
static int removeAll(int parentfd, const char *name) {
    struct stat sb;
    if (sysFstatat(parentfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sb.st_mode)) return sysUnlinkat(parentfd, name, 0);
    int fd = sysOpenat(parentfd, name, OPEN_DIR_FLAGS);
    DIR *d = fd >= 0 ? sysFdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) sysClose(fd);
        return -1;
    }
    struct dirent *de;
    int r = 0;
    while ((de = sysReaddir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && removeAll(dirfd(d), de->d_name) < 0) r = -1;
    sysClosedir(d);
    if (sysUnlinkat(parentfd, name, AT_REMOVEDIR) < 0) r = -1;
    return r;
}

/* Throw parentfd/name away: one rename into the server's .trash, emptied by
 * its background thread (removed here when that fails), so that a reader
 * never sees a half-removed snapshot under its name. */
static void discard(int parentfd, const char *name) {
    static unsigned long long n;
    char t[96];
    snprintf(t, sizeof(t), "snapshot-%d-%llu", (int)getpid(), ++n);
    if (snap.trashfd >= 0 && sysRenameat(parentfd, name, snap.trashfd, t) == 0) {
        if (snap.trash_wake) snap.trash_wake();
        return;
    }
    removeAll(parentfd, name);
}

static int compareNames(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Keep the newest snap.keep complete snapshots of DIR (0: all), and remove
 * what interrupted snapshots left. */
static void pruneSnapshots(void) {
    int fd = reopenDir(snap.parentfd);
    DIR *d = fd >= 0 ? sysFdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) sysClose(fd);
        return;
    }
    char **names = NULL;
    int n = 0;
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL) {
        if (!strncmp(de->d_name, ".incomplete-snapshot-", 21) || !strncmp(de->d_name, ".incomplete-private-", 20)) {
            if (strcmp(de->d_name + 12, snap.name) != 0) discard(dirfd(d), de->d_name);
        } else if (!strncmp(de->d_name, "snapshot-", 9) && strcmp(de->d_name, snap.name) != 0) {
            char **grown = realloc(names, sizeof(char *) * (size_t)(n + 1));
            if (!grown) break;
            names = grown;
            names[n++] = strdup(de->d_name);
        }
    }
    /* the one just made is kept whatever the clock did: keep - 1 others */
    if (snap.keep > 0 && n > snap.keep - 1) {
        qsort(names, (size_t)n, sizeof(char *), compareNames);
        for (int i = 0; i < n - (snap.keep - 1); i++)
            if (names[i]) discard(dirfd(d), names[i]);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    sysClosedir(d);
}

/* Link what is left, then make the snapshot durable and give it its name. */
static void completeSnapshot(void) {
    for (int db = 0; db < snap.dbnum && !snap.failed && !snap.abort; db++) {
        if (!snap.done[db]) linkDatabase(db, snap.srcfd[db], 0);
        if (!snap.failed && !snap.abort) finishDatabase(db);
    }
    /* every database is done: nobody makes a marker any more */
    for (int db = 0; db < snap.dbnum && !snap.failed && !snap.abort; db++) dropMarkers(db);
    char incomplete[80];
    snprintf(incomplete, sizeof(incomplete), ".incomplete-%s", snap.name);
    int ok = !snap.failed && !snap.abort;
    if (ok && sysSyncfs(snap.parentfd) < 0) ok = 0;
    if (ok && sysRenameat(snap.parentfd, incomplete, snap.parentfd, snap.name) < 0) ok = 0;
    if (ok && sysFsync(snap.parentfd) < 0) ok = 0;
    if (!ok) discard(snap.parentfd, incomplete); /* its links would keep deleted data */
    if (ok) {
        pthread_mutex_lock(&snap.lock);
        snprintf(snap.finisheddir, sizeof(snap.finisheddir), "%s/%s", snap.dir, snap.name);
        if (snap.keep != SNAPSHOT_PRIVATE) snprintf(snap.lastdir, sizeof(snap.lastdir), "%s", snap.finisheddir);
        pthread_mutex_unlock(&snap.lock);
        if (snap.keep != SNAPSHOT_PRIVATE) pruneSnapshots();
    }
    pthread_mutex_lock(&snap.lock);
    for (int db = 0; db < snap.dbnum; db++) {
        sysClose(snap.srcfd[db]);
        sysClose(snap.dstfd[db]);
        snap.srcfd[db] = snap.dstfd[db] = -1;
    }
    sysClose(snap.parentfd);
    snap.parentfd = -1;
    snap.ok = ok;
    snap.finished = 1;
    pthread_mutex_unlock(&snap.lock);
}

static void *snapshotThreadMain(void *arg) {
    (void)arg;
    completeSnapshot();
    return NULL;
}

/* ---- the API ---- */

static void snapshotName(char *out, size_t size, int private) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[24];
    strftime(when, sizeof(when), "%Y%m%dT%H%M%S", &tm);
    snprintf(out, size, "%ssnapshot-%s.%03dZ", private ? "private-" : "", when, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Is directory fd the directory *top or below it? Climbs "..", so that
 * neither a symbolic link nor ".." in DREDIS_SNAPSHOT_DIR can hide it. */
static int insideDir(int fd, const struct stat *top) {
    int cur = reopenDir(fd);
    for (int depth = 0; cur >= 0 && depth < 4096; depth++) {
        struct stat here, up;
        if (sysFstat(cur, &here) < 0) break;
        if (here.st_dev == top->st_dev && here.st_ino == top->st_ino) {
            sysClose(cur);
            return 1;
        }
        int parent = sysOpenat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        sysClose(cur);
        cur = parent;
        if (cur >= 0 && sysFstat(cur, &up) == 0 && up.st_dev == here.st_dev && up.st_ino == here.st_ino) break; /* / */
    }
    if (cur >= 0) sysClose(cur);
    return 0;
}

static void closeAll(void);

/* A snapshot that could not start: its .incomplete- directory goes, and
 * every descriptor it opened is closed. */
static void dropIncomplete(void) {
    if (snap.parentfd >= 0) {
        char incomplete[80];
        snprintf(incomplete, sizeof(incomplete), ".incomplete-%s", snap.name);
        removeAll(snap.parentfd, incomplete);
    }
    closeAll();
}

/* what failed, with errno's words (one message at a time: the event loop's) */
static const char *failedWith(const char *what) {
    static char buf[160];
    snprintf(buf, sizeof(buf), "%s: %s", what, strerror(errno));
    return buf;
}

/* The empty snapshot: DIR/.incomplete-<name>/<db>/.expires/ for every db. */
static int makeSkeleton(int rootfd, int dbnum, const char **err) {
    snap.parentfd = -1;
    for (int db = 0; db < MAX_DBS; db++) snap.srcfd[db] = snap.dstfd[db] = -1;
    if (sysMakeDirs(snap.dir) < 0 || (snap.parentfd = sysOpen(snap.dir, OPEN_DIR_FLAGS & ~O_NOFOLLOW)) < 0) {
        *err = failedWith("cannot create the snapshot directory (DREDIS_SNAPSHOT_DIR)");
        return -1;
    }
    struct stat a, b;
    if (sysFstat(rootfd, &a) < 0 || sysFstat(snap.parentfd, &b) < 0) {
        *err = failedWith("cannot create the snapshot");
        return -1;
    }
    if (a.st_dev != b.st_dev) {
        *err = "the snapshot directory (DREDIS_SNAPSHOT_DIR) is not on ROOT_DIR's file system";
        return -1;
    }
    if (insideDir(snap.parentfd, &a)) {
        *err = "the snapshot directory (DREDIS_SNAPSHOT_DIR) is inside ROOT_DIR";
        sysRmdir(snap.dir); /* made just now, if it is empty: not a key of the tree */
        return -1;
    }
    char incomplete[80];
    snprintf(incomplete, sizeof(incomplete), ".incomplete-%s", snap.name);
    int top = -1;
    if (sysMkdirat(snap.parentfd, incomplete, 0755) < 0 || (top = sysOpenat(snap.parentfd, incomplete, OPEN_DIR_FLAGS)) < 0) {
        *err = failedWith("cannot create the snapshot");
        return -1;
    }
    /* the function libraries of the instant: few files, linked now (they
     * are replaced, never written in place, so the links stay as they are) */
    if (linkTreeAt(rootfd, top, LIBRARIES_DIR) < 0 && errno != ENOENT) {
        *err = failedWith("cannot link the function libraries into the snapshot");
        sysClose(top);
        return -1;
    }
    for (int db = 0; db < dbnum; db++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", db);
        if (sysMkdirat(top, name, 0755) < 0 || (snap.dstfd[db] = sysOpenat(top, name, OPEN_DIR_FLAGS)) < 0 ||
            sysMkdirat(snap.dstfd[db], ".expires", 0755) < 0) {
            *err = failedWith("cannot create the snapshot");
            sysClose(top);
            return -1;
        }
    }
    sysClose(top);
    return 0;
}

static void closeAll(void) {
    for (int db = 0; db < MAX_DBS; db++) {
        if (snap.srcfd[db] >= 0) sysClose(snap.srcfd[db]);
        if (snap.dstfd[db] >= 0) sysClose(snap.dstfd[db]);
        snap.srcfd[db] = snap.dstfd[db] = -1;
    }
    if (snap.parentfd >= 0) sysClose(snap.parentfd);
    snap.parentfd = -1;
}

int snapshotBegin(int rootfd, const int *dbfds, const long long *dbsizes, int dbnum, const char *dir, int keep,
                  int background, const char **err) {
    if (snap.state == SNAPSHOT_RUNNING) {
        *err = "Background save already in progress";
        return STORE_ERR;
    }
    if (dbnum > MAX_DBS) dbnum = MAX_DBS;
    snap.dbnum = dbnum;
    snap.keep = keep;
    snap.failed = snap.abort = snap.finished = snap.ok = 0;
    snap.linked = 0;
    snap.total = 0;
    for (int db = 0; db < dbnum && db < MAX_DBS; db++)
        if (dbsizes[db] > 0) snap.total += dbsizes[db];
    snprintf(snap.dir, sizeof(snap.dir), "%s", dir);
    snapshotName(snap.name, sizeof(snap.name), keep == SNAPSHOT_PRIVATE);
    snap.finisheddir[0] = '\0';
    if (makeSkeleton(rootfd, dbnum, err) < 0) {
        dropIncomplete();
        return STORE_ERR;
    }
    for (int db = 0; db < dbnum; db++) {
        snap.done[db] = 0;
        if ((snap.srcfd[db] = reopenDir(dbfds[db])) < 0) {
            *err = failedWith("cannot start the snapshot");
            dropIncomplete();
            return STORE_ERR;
        }
    }
    snap.state = SNAPSHOT_RUNNING;
    if (!background) {
        completeSnapshot();
        snap.state = SNAPSHOT_IDLE;
        snap.finished = 0;
        if (!snap.ok) {
            *err = "the snapshot failed";
            return STORE_ERR;
        }
        return STORE_OK;
    }
    if (pthread_create(&snap.thread, NULL, snapshotThreadMain, NULL) != 0) {
        snap.state = SNAPSHOT_IDLE;
        dropIncomplete();
        *err = "cannot start the snapshot thread";
        return STORE_ERR;
    }
    snap.thread_started = 1;
    return STORE_OK;
}

int snapshotRunning(void) { return snap.state == SNAPSHOT_RUNNING; }

void snapshotKeyWillChange(int db, int dbfd, const char *fname) {
    if (snap.state != SNAPSHOT_RUNNING || db < 0 || db >= snap.dbnum) return;
    lockForWriter();
    if (!snap.done[db] && !snap.finished) linkKeyForWriter(db, dbfd, fname);
    pthread_mutex_unlock(&snap.lock);
}

void snapshotDbWillChange(int db, int dbfd) {
    if (snap.state != SNAPSHOT_RUNNING || db < 0 || db >= snap.dbnum) return;
    pthread_mutex_lock(&snap.lock);
    int skip = snap.done[db] || snap.finished;
    pthread_mutex_unlock(&snap.lock);
    if (skip) return;
    /* every key not linked yet is as it was at the instant: link them now,
     * from the live directory (the thread may be walking it too) */
    linkDatabase(db, dbfd, 1);
    if (!snap.failed) finishDatabase(db);
}

int snapshotPoll(int *ok) {
    if (snap.state != SNAPSHOT_RUNNING) return 0;
    pthread_mutex_lock(&snap.lock);
    int finished = snap.finished;
    pthread_mutex_unlock(&snap.lock);
    if (!finished) return 0;
    return snapshotWait(ok);
}

/* Wait for the running background snapshot to finish linking, then end
 * it: 1 and its result in *ok; 0 when none runs. */
int snapshotWait(int *ok) {
    if (snap.state != SNAPSHOT_RUNNING) return 0;
    pthread_join(snap.thread, NULL);
    snap.thread_started = 0;
    snap.state = SNAPSHOT_IDLE;
    snap.finished = 0;
    *ok = snap.ok;
    return 1;
}

const char *snapshotLastDir(void) {
    static char copy[sizeof(snap.lastdir)];
    pthread_mutex_lock(&snap.lock);
    memcpy(copy, snap.lastdir, sizeof(copy));
    pthread_mutex_unlock(&snap.lock);
    return copy;
}

const char *snapshotFinishedDir(void) { return snap.finisheddir; }

void snapshotFindLast(const char *dir) {
    DIR *d = sysOpendir(dir);
    if (!d) return;
    char best[256] = "";
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL) {
        if (!strncmp(de->d_name, ".incomplete-snapshot-", 21) || !strncmp(de->d_name, ".incomplete-private-", 20) ||
            !strncmp(de->d_name, "private-snapshot-", 17)) {
            discard(dirfd(d), de->d_name); /* a crash or a stop left it: its links would keep deleted data */
            continue;
        }
        if (!strncmp(de->d_name, "snapshot-", 9) && strlen(de->d_name) < sizeof(best) && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    sysClosedir(d);
    if (best[0]) snprintf(snap.lastdir, sizeof(snap.lastdir), "%s/%s", dir, best);
}

void snapshotProgress(long long *linked, long long *total) {
    pthread_mutex_lock(&snap.lock);
    *linked = snap.linked;
    *total = snap.total;
    pthread_mutex_unlock(&snap.lock);
}

void snapshotAbort(void) {
    if (snap.state != SNAPSHOT_RUNNING) return;
    snap.abort = 1;
    if (snap.thread_started) pthread_join(snap.thread, NULL);
    snap.thread_started = 0;
    snap.state = SNAPSHOT_IDLE;
}

void snapshotRemove(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash || strncmp(slash + 1, "private-snapshot-", 17) != 0) return;
    char parent[4200];
    snprintf(parent, sizeof(parent), "%.*s", (int)(slash - path), path);
    int fd = sysOpen(parent[0] ? parent : "/", OPEN_DIR_FLAGS & ~O_NOFOLLOW);
    if (fd < 0) return;
    discard(fd, slash + 1);
    sysClose(fd);
}
