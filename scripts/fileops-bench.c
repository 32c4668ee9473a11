/* fileops-bench.c - the file operations dredis does for a string key, in a
 * tight loop: the limit of dredis's on-disk layout on a file system.
 *
 *   scripts/fileops-bench DIR COUNT      (the wrapper compiles this file)
 *   scripts/fileops-bench [--mode plain|uring|threads] [--batch B]
 *                         [--threads T] [--cpu 1] DIR COUNT
 *
 * In DIR (made if missing, emptied by the caller) it lays out what a
 * ROOT_DIR has (.tmp, a database directory 0, .journal) and times, for
 * COUNT keys each:
 *   new:       SET of a new key: the staging directory and two files taken
 *              from the pool (made here inline; dredis makes them on a
 *              background thread), "type" and "value" written and renamed
 *              in, the journal's begin record, the directory renamed into
 *              the database, the commit record;
 *   overwrite: SET of an existing key whose directory is open (dredis's
 *              metadata cache): a staging file written, stat'ed, its
 *              record journalled, exchanged with "value" (renameat2
 *              RENAME_EXCHANGE); the old version is the next staging file,
 *              written over in place as dredis reuses a recycled one;
 *   get:       GET of a key not in the metadata cache: the directory, its
 *              "type" and "value" read, its "expire" looked for.
 * The sequence follows `strace -f -e trace=file,desc` of dredis-server on
 * SET new / SET existing / GET (see docs/benchmarks.md) and src/store_ops.c.
 * Nothing is synced (dredis's default, everysec, syncs once a second).
 * Prints operations per second for each.
 *
 * Batching the same operations (issue #14), new keys and overwrites only:
 *   --mode uring --batch B   each key's operations as io_uring SQEs, linked
 *              (IOSQE_IO_LINK) where one needs the one before; B keys in
 *              flight per io_uring_submit_and_wait. A new key takes two
 *              submissions per batch: renameat into the staging directory
 *              needs its descriptor, which only the first one's openat
 *              gives back. Staged files are opened as direct descriptors
 *              (openat_direct, write, close_direct in one chain), so their
 *              fstat is a statx of the same name. Every CQE is checked: a
 *              failure (or a lookup that should fail with ENOENT and does
 *              not) is an error exit. Built only with liburing (the wrapper
 *              links it when pkg-config finds it).
 *   --mode threads --threads T   the plain sequence on T threads, over
 *              independent keys (new keys split in T ranges; each thread
 *              overwrites its own key); journal records under a mutex.
 * Overwrites in these modes go to B (or T) different keys, as an MSET or a
 * loop turn would. Instead of the uncached reads they check, untimed, that
 * every key holds what was written.
 *   --cpu 1    adds the CPU time per operation (user + system, all threads
 *              of the process, io_uring's workers included: getrusage).
 *
 * Syncing each operation (DREDIS_FSYNC=always), plain mode only:
 *   --sync syncfs   one syncfs() after each new key or overwrite, as dredis
 *              does at the end of a loop turn;
 *   --sync files    instead, fdatasync() of each file written before it is
 *              closed, then fsync() of each directory an entry entered or
 *              left and fdatasync() of the journal: the alternative that
 *              syncs only what the operation changed.
 *   --sync journal  only fdatasync() of the journal, the tree left to the
 *              file system: what a journal carrying each turn's new bytes
 *              (a write-ahead log) would cost, an upper bound for it;
 *   --sync none     (the default) nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY)
#define FILE_FLAGS (O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
#define JOURNAL_RESET 65536 /* bytes: the journal is emptied past it */

static int tmpfd, dbfd, jfd;
static long jsize, seq;
static int threaded; /* --mode threads: journal() takes jlock */
static pthread_mutex_t jlock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* A check that failed with no system call failing: no errno to show. */
static void wrong(const char *what) {
    fprintf(stderr, "%s\n", what);
    exit(1);
}

/* A lookup that must find nothing: ENOENT is right, success is wrong,
 * another errno is that error. */
static void mustBeMissing(int found, const char *what) {
    if (found) wrong(what);
    if (errno != ENOENT) die(what);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void journal(const void *rec, size_t len) {
    if (threaded) pthread_mutex_lock(&jlock);
    if (write(jfd, rec, len) != (ssize_t)len) die("journal write");
    jsize += (long)len;
    if (jsize >= JOURNAL_RESET) {
        if (ftruncate(jfd, 0) < 0) die("journal truncate");
        jsize = 0;
    }
    if (threaded) pthread_mutex_unlock(&jlock);
}

/* A pooled staging file or directory: made as the pool thread makes it. */
static void poolName(char *buf, size_t sz, char tag) {
    snprintf(buf, sz, "%c%ld", tag, __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
}

static void poolFile(char *buf, size_t sz) {
    poolName(buf, sz, 'f');
    int fd = openat(tmpfd, buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("pool file");
    close(fd);
}

enum { SYNC_NONE, SYNC_SYNCFS, SYNC_FILES, SYNC_JOURNAL };
static int syncMode = SYNC_NONE;
static int rootFd = -1;

/* --sync files: a file written, before it is closed. */
static void syncWritten(int fd) {
    if (syncMode == SYNC_FILES && fdatasync(fd) < 0) die("fdatasync");
}

/* The end of an operation: made durable as --sync says. dirs: the
 * directories whose entries changed. */
static void syncOperation(const int *dirs, int ndirs) {
    if (syncMode == SYNC_SYNCFS && syncfs(rootFd) < 0) die("syncfs");
    if (syncMode == SYNC_JOURNAL && fdatasync(jfd) < 0) die("fdatasync journal");
    if (syncMode != SYNC_FILES) return;
    for (int i = 0; i < ndirs; i++)
        if (fsync(dirs[i]) < 0) die("fsync dir");
    if (fdatasync(jfd) < 0) die("fdatasync journal");
}

/* Write data into a pooled file and rename it as name into dirfd. */
static void stageFileInto(int dirfd, const char *name, const char *data, size_t len) {
    char f[32];
    struct stat sb;
    poolFile(f, sizeof(f));
    int fd = openat(tmpfd, f, FILE_FLAGS);
    if (fd < 0 || fstat(fd, &sb) < 0 || write(fd, data, len) != (ssize_t)len) die("stage file");
    syncWritten(fd);
    close(fd);
    if (renameat2(tmpfd, f, dirfd, name, RENAME_NOREPLACE) < 0) die("rename file");
}

static void newKey(long i) {
    char key[32], d[32];
    struct stat sb;
    snprintf(key, sizeof(key), "key:%ld", i);
    mustBeMissing(openat(dbfd, key, DIR_FLAGS) >= 0, "key exists");
    poolName(d, sizeof(d), 'd');
    if (mkdirat(tmpfd, d, 0755) < 0) die("pool dir");
    int dirfd = openat(tmpfd, d, DIR_FLAGS);
    if (dirfd < 0) die("open staging dir");
    stageFileInto(dirfd, "type", "string", 6);
    stageFileInto(dirfd, "value", "abc", 3);
    mustBeMissing(fstatat(dbfd, key, &sb, AT_SYMLINK_NOFOLLOW) == 0, "key appeared");
    char rec[44] = "B";
    journal(rec, sizeof(rec));
    if (renameat2(tmpfd, d, dbfd, key, RENAME_NOREPLACE) < 0) die("rename key");
    journal("C\0\0\0\0\0\0\0\0\0\0\0\1", 13);
    int changed[3] = {dirfd, tmpfd, dbfd};
    syncOperation(changed, 3);
    close(dirfd);
}

static void overwrite(int dirfd, char *staged, size_t sz) {
    struct stat sb;
    char rec[63] = "B";
    /* a recycled file: written over from 0 (its stale bytes are as many, so nothing to cut) */
    int fd = openat(tmpfd, staged, FILE_FLAGS);
    if (fd < 0 || fstat(fd, &sb) < 0 || pwrite(fd, "xyz", 3, 0) != 3) die("stage value");
    syncWritten(fd);
    close(fd);
    if (fstatat(dirfd, "value", &sb, AT_SYMLINK_NOFOLLOW) < 0) die("stat value");
    journal(rec, sizeof(rec));
    if (renameat2(tmpfd, staged, dirfd, "value", RENAME_EXCHANGE) < 0) die("exchange");
    journal("C\0\0\0\0\0\0\0\0\0\0\0\1", 13);
    int changed[2] = {dirfd, tmpfd};
    syncOperation(changed, 2);
    (void)sz; /* the old version, now under staged, is the next staging file */
}

static void readSmallFile(int dirfd, const char *name) {
    char buf[64];
    struct stat sb;
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0 || read(fd, buf, sizeof(buf)) < 0) die("read file");
    close(fd);
}

static void getKey(long i) {
    char key[32];
    snprintf(key, sizeof(key), "key:%ld", i);
    int dirfd = openat(dbfd, key, DIR_FLAGS);
    if (dirfd < 0) die("open key");
    readSmallFile(dirfd, "type");
    mustBeMissing(openat(dirfd, "expire", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC) >= 0, "expire");
    readSmallFile(dirfd, "value");
    close(dirfd);
}

static int showCpu; /* --cpu: CPU time per operation, every thread of the process */
static double cpuAt;

static double cpuSeconds(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0) die("getrusage");
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The start of a timed phase. */
static double start(void) {
    if (showCpu) cpuAt = cpuSeconds();
    return now();
}

static void report(const char *what, long n, double secs) {
    if (showCpu)
        printf("%-10s %9ld ops in %7.3f s: %10.0f ops/s, cpu %6.1f us/op\n", what, n, secs, n / secs,
               (cpuSeconds() - cpuAt) / n * 1e6);
    else
        printf("%-10s %9ld ops in %7.3f s: %10.0f ops/s\n", what, n, secs, n / secs);
    fflush(stdout);
}

/* Untimed check of the batched modes: key i holds type "string" and
 * value "abc", or "xyz" for the first nover keys (the ones overwritten). */
static void checkFile(int dirfd, const char *name, const char *want, long i) {
    char buf[64];
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
    if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n) != 0) {
        fprintf(stderr, "check: key:%ld/%s is not \"%s\"\n", i, name, want);
        exit(1);
    }
    close(fd);
}

static void checkKeys(long count, long nover) {
    for (long i = 0; i < count; i++) {
        char key[32];
        snprintf(key, sizeof(key), "key:%ld", i);
        int dirfd = openat(dbfd, key, DIR_FLAGS);
        if (dirfd < 0) die("check: open key");
        checkFile(dirfd, "type", "string", i);
        checkFile(dirfd, "value", i < nover ? "xyz" : "abc", i);
        close(dirfd);
    }
}

/* --mode threads: the plain sequence, T threads over independent keys. */
struct worker {
    pthread_t tid;
    long from, to; /* new keys [from, to) */
    long overwrites;
    int dirfd; /* the key this thread overwrites */
    char staged[32];
};

static void *newKeysThread(void *arg) {
    struct worker *w = arg;
    for (long i = w->from; i < w->to; i++) newKey(i);
    return NULL;
}

static void *overwriteThread(void *arg) {
    struct worker *w = arg;
    for (long i = 0; i < w->overwrites; i++) overwrite(w->dirfd, w->staged, sizeof(w->staged));
    return NULL;
}

static void runWorkers(struct worker *w, int n, void *(*fn)(void *)) {
    for (int t = 0; t < n; t++)
        if ((errno = pthread_create(&w[t].tid, NULL, fn, &w[t])) != 0) die("pthread_create");
    for (int t = 0; t < n; t++) pthread_join(w[t].tid, NULL);
}

static void benchThreads(long count, int nthreads) {
    struct worker w[nthreads];
    threaded = 1;
    for (int t = 0; t < nthreads; t++) {
        w[t].from = count * t / nthreads;
        w[t].to = count * (t + 1) / nthreads;
    }
    double t0 = start();
    runWorkers(w, nthreads, newKeysThread);
    report("new", count, now() - t0);

    for (int t = 0; t < nthreads; t++) {
        char key[32];
        snprintf(key, sizeof(key), "key:%d", t);
        w[t].dirfd = openat(dbfd, key, DIR_FLAGS);
        if (w[t].dirfd < 0) die("open key");
        poolFile(w[t].staged, sizeof(w[t].staged));
        w[t].overwrites = count * (t + 1) / nthreads - count * t / nthreads;
    }
    t0 = start();
    runWorkers(w, nthreads, overwriteThread);
    report("overwrite", count, now() - t0);
    for (int t = 0; t < nthreads; t++) close(w[t].dirfd);
    threaded = 0;
    checkKeys(count, nthreads);
}

#ifdef HAVE_LIBURING
#include <liburing.h>

/* --mode uring. Every SQE's user_data indexes ops[], which says what its
 * CQE must be. Fixed-file slots: 2 per key of a batch. */
enum want { WANT_ZERO, WANT_ENOENT, WANT_LEN, WANT_FD };
struct op {
    enum want want;
    int len; /* WANT_LEN: bytes written */
    int *fd; /* WANT_FD: where the descriptor goes */
    const char *what;
};

struct ukey {
    char key[32], d[32], f[2][32];
    int dirfd;
    struct statx sx;
};

static struct io_uring ring;
static struct op *ops;
static unsigned nops;
static const char recB44[44] = "B", recB63[63] = "B", recC[13] = "C\0\0\0\0\0\0\0\0\0\0\0\1";

static struct io_uring_sqe *sqe(enum want want, int len, int *fd, const char *what) {
    struct io_uring_sqe *e = io_uring_get_sqe(&ring);
    if (!e) {
        fprintf(stderr, "io_uring: submission queue full\n");
        exit(1);
    }
    ops[nops] = (struct op){want, len, fd, what};
    e->user_data = nops++; /* the prep_* calls leave user_data alone */
    return e;
}

/* Queues prep(sqe, ...) with flags (io_uring_prep_rw() clears them, so after it). */
#define QUEUE(sqeflags, want, len, fd, what, prep, ...)                                                                \
    do {                                                                                                               \
        struct io_uring_sqe *e_ = sqe(want, len, fd, what);                                                            \
        prep(e_, __VA_ARGS__);                                                                                         \
        e_->flags |= (sqeflags);                                                                                       \
    } while (0)

/* Submits what was queued, waits for all of it, checks every CQE. */
static void submitAndCheck(void) {
    if (nops == 0) return;
    int r = io_uring_submit_and_wait(&ring, nops);
    if (r < 0 || (unsigned)r != nops) {
        fprintf(stderr, "io_uring_submit_and_wait: %s (%d of %u)\n", r < 0 ? strerror(-r) : "short", r, nops);
        exit(1);
    }
    for (unsigned seen = 0; seen < nops; seen++) {
        struct io_uring_cqe *c;
        if ((r = io_uring_wait_cqe(&ring, &c)) < 0) {
            fprintf(stderr, "io_uring_wait_cqe: %s\n", strerror(-r));
            exit(1);
        }
        struct op *o = &ops[c->user_data];
        int res = c->res, ok;
        switch (o->want) {
        case WANT_ZERO: ok = res == 0; break;
        case WANT_ENOENT: ok = res == -ENOENT; break;
        case WANT_LEN: ok = res == o->len; break;
        default:
            ok = res >= 0;
            if (ok) *o->fd = res;
            break;
        }
        if (!ok) {
            fprintf(stderr, "io_uring %s: %s (res %d)\n", o->what, res < 0 ? strerror(-res) : "unexpected result", res);
            exit(1);
        }
        io_uring_cqe_seen(&ring, c);
    }
    nops = 0;
}

static void journalBytes(long len) {
    jsize += len;
    if (jsize >= JOURNAL_RESET) {
        if (ftruncate(jfd, 0) < 0) die("journal truncate");
        jsize = 0;
    }
}

/* A direct descriptor is in no descriptor table: the kernel refuses
 * O_CLOEXEC for it (EINVAL), so the uring mode's opens go without it. */
#define DIRECT(flags) ((flags) & ~O_CLOEXEC)

/* One staged file, as stageFileInto(): open, stat, write, close, rename in. */
static void uStageFile(struct ukey *k, int j, unsigned slot, const char *name, const char *data, int len) {
    QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "open staged file", io_uring_prep_openat_direct, tmpfd, k->f[j],
          DIRECT(FILE_FLAGS), 0, slot);
    QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "stat staged file", io_uring_prep_statx, tmpfd, k->f[j],
          AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &k->sx);
    QUEUE(IOSQE_IO_LINK | IOSQE_FIXED_FILE, WANT_LEN, len, NULL, "write staged file", io_uring_prep_write, (int)slot,
          data, (unsigned)len, 0);
    QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "close staged file", io_uring_prep_close_direct, slot);
    QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "rename file", io_uring_prep_renameat, tmpfd, k->f[j], k->dirfd, name,
          RENAME_NOREPLACE);
}

static void uNewKeys(struct ukey *keys, long first, int n) {
    /* Submission 1, per key: the key looked for (ENOENT); the pool's
     * staging directory made and opened; its two files made (dredis's
     * pool thread does these but the opening of the directory). */
    for (int b = 0; b < n; b++) {
        struct ukey *k = &keys[b];
        unsigned s0 = 2 * (unsigned)b, s1 = s0 + 1;
        snprintf(k->key, sizeof(k->key), "key:%ld", first + b);
        poolName(k->d, sizeof(k->d), 'd');
        poolName(k->f[0], sizeof(k->f[0]), 'f');
        poolName(k->f[1], sizeof(k->f[1]), 'f');
        QUEUE(0, WANT_ENOENT, 0, NULL, "key exists", io_uring_prep_openat, dbfd, k->key, DIR_FLAGS, 0);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "pool dir", io_uring_prep_mkdirat, tmpfd, k->d, 0755);
        QUEUE(0, WANT_FD, 0, &k->dirfd, "open staging dir", io_uring_prep_openat, tmpfd, k->d, DIR_FLAGS, 0);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "pool file", io_uring_prep_openat_direct, tmpfd, k->f[0],
              DIRECT(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC), 0644, s0);
        QUEUE(0, WANT_ZERO, 0, NULL, "close pool file", io_uring_prep_close_direct, s0);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "pool file", io_uring_prep_openat_direct, tmpfd, k->f[1],
              DIRECT(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC), 0644, s1);
        QUEUE(0, WANT_ZERO, 0, NULL, "close pool file", io_uring_prep_close_direct, s1);
    }
    submitAndCheck();
    /* Submission 2, one chain per key: type and value staged and renamed
     * in, the key's name looked for (ENOENT: a hard link, so that the
     * expected failure does not cut the chain), the begin record, the
     * directory renamed into the database, closed, the commit record. */
    for (int b = 0; b < n; b++) {
        struct ukey *k = &keys[b];
        uStageFile(k, 0, 2 * (unsigned)b, "type", "string", 6);
        uStageFile(k, 1, 2 * (unsigned)b + 1, "value", "abc", 3);
        QUEUE(IOSQE_IO_HARDLINK, WANT_ENOENT, 0, NULL, "key appeared", io_uring_prep_statx, dbfd, k->key,
              AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &k->sx);
        QUEUE(IOSQE_IO_LINK, WANT_LEN, sizeof(recB44), NULL, "journal write", io_uring_prep_write, jfd, recB44,
              sizeof(recB44), (__u64)-1);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "rename key", io_uring_prep_renameat, tmpfd, k->d, dbfd, k->key,
              RENAME_NOREPLACE);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "close staging dir", io_uring_prep_close, k->dirfd);
        QUEUE(0, WANT_LEN, sizeof(recC), NULL, "journal write", io_uring_prep_write, jfd, recC, sizeof(recC),
              (__u64)-1);
    }
    submitAndCheck();
    journalBytes((long)n * (long)(sizeof(recB44) + sizeof(recC)));
}

/* As overwrite(), for n keys in one submission, one chain per key. */
static void uOverwrite(struct ukey *keys, int n) {
    for (int b = 0; b < n; b++) {
        struct ukey *k = &keys[b];
        unsigned slot = (unsigned)b;
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "open staged file", io_uring_prep_openat_direct, tmpfd, k->f[0],
              DIRECT(FILE_FLAGS), 0, slot);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "stat staged file", io_uring_prep_statx, tmpfd, k->f[0],
              AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &k->sx);
        QUEUE(IOSQE_IO_LINK | IOSQE_FIXED_FILE, WANT_LEN, 3, NULL, "stage value", io_uring_prep_write, (int)slot, "xyz",
              3, 0);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "close staged file", io_uring_prep_close_direct, slot);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "stat value", io_uring_prep_statx, k->dirfd, "value",
              AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &k->sx);
        QUEUE(IOSQE_IO_LINK, WANT_LEN, sizeof(recB63), NULL, "journal write", io_uring_prep_write, jfd, recB63,
              sizeof(recB63), (__u64)-1);
        QUEUE(IOSQE_IO_LINK, WANT_ZERO, 0, NULL, "exchange", io_uring_prep_renameat, tmpfd, k->f[0], k->dirfd, "value",
              RENAME_EXCHANGE);
        QUEUE(0, WANT_LEN, sizeof(recC), NULL, "journal write", io_uring_prep_write, jfd, recC, sizeof(recC),
              (__u64)-1);
    }
    submitAndCheck();
    journalBytes((long)n * (long)(sizeof(recB63) + sizeof(recC)));
}

static void benchUring(long count, int batch) {
    if (batch > count) batch = (int)count;
    unsigned entries = 16;
    while (entries < 15u * (unsigned)batch)
        entries *= 2;
    int r = io_uring_queue_init(entries, &ring, 0);
    if (r < 0) {
        fprintf(stderr, "io_uring_queue_init: %s (io_uring disabled? see /proc/sys/kernel/io_uring_disabled)\n",
                strerror(-r));
        exit(1);
    }
    if ((r = io_uring_register_files_sparse(&ring, 2 * (unsigned)batch)) < 0) {
        fprintf(stderr, "io_uring_register_files_sparse: %s\n", strerror(-r));
        exit(1);
    }
    struct ukey *keys = calloc((size_t)batch, sizeof(*keys));
    ops = calloc(entries, sizeof(*ops));
    if (!keys || !ops) die("calloc");

    double t = start();
    for (long i = 0; i < count; i += batch)
        uNewKeys(keys, i, (int)(count - i < batch ? count - i : batch));
    report("new", count, now() - t);

    for (int b = 0; b < batch; b++) { /* keys 0..batch-1: their directories open, a staged file each */
        char key[32];
        snprintf(key, sizeof(key), "key:%d", b);
        keys[b].dirfd = openat(dbfd, key, DIR_FLAGS);
        if (keys[b].dirfd < 0) die("open key");
        poolFile(keys[b].f[0], sizeof(keys[b].f[0]));
    }
    t = start();
    for (long i = 0; i < count; i += batch)
        uOverwrite(keys, (int)(count - i < batch ? count - i : batch));
    report("overwrite", count, now() - t);
    for (int b = 0; b < batch; b++)
        close(keys[b].dirfd);
    io_uring_queue_exit(&ring);
    free(keys);
    free(ops);
    checkKeys(count, batch);
}
#endif

static void usage(const char *prog) {
    fprintf(stderr, "usage: %s [--mode plain|uring|threads] [--batch B] [--threads T] [--cpu 1] "
                    "[--sync none|syncfs|files|journal] DIR COUNT\n", prog);
    exit(2);
}

int main(int argc, char **argv) {
    const char *mode = "plain";
    int batch = 1, nthreads = 2, a = 1;
    for (; a + 1 < argc && strncmp(argv[a], "--", 2) == 0; a += 2) {
        if (strcmp(argv[a], "--mode") == 0) mode = argv[a + 1];
        else if (strcmp(argv[a], "--batch") == 0) batch = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--threads") == 0) nthreads = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--cpu") == 0) showCpu = atoi(argv[a + 1]);
        else if (strcmp(argv[a], "--sync") == 0) {
            const char *v = argv[a + 1];
            syncMode = !strcmp(v, "syncfs")    ? SYNC_SYNCFS
                       : !strcmp(v, "files")   ? SYNC_FILES
                       : !strcmp(v, "journal") ? SYNC_JOURNAL
                                               : SYNC_NONE;
            if (syncMode == SYNC_NONE && strcmp(v, "none") != 0) usage(argv[0]);
        }
        else usage(argv[0]);
    }
    if (argc - a != 2 || batch < 1 || batch > 4096 || nthreads < 1 || nthreads > 256) usage(argv[0]);
    if (strcmp(mode, "plain") != 0 && strcmp(mode, "uring") != 0 && strcmp(mode, "threads") != 0) usage(argv[0]);
    if (syncMode != SYNC_NONE && strcmp(mode, "plain") != 0) usage(argv[0]);
#ifndef HAVE_LIBURING
    if (strcmp(mode, "uring") == 0) {
        fprintf(stderr, "%s: built without liburing, --mode uring is unavailable "
                        "(apt-get install liburing-dev, or scripts/deps.sh bench, then run scripts/fileops-bench)\n",
                argv[0]);
        return 2;
    }
#endif
    char **pos = argv + a;
    long count = atol(pos[1]);
    if (count < 1) return 2;
    mkdir(pos[0], 0755);
    int rootfd = open(pos[0], DIR_FLAGS);
    if (rootfd < 0) die(pos[0]);
    rootFd = rootfd;
    if ((mkdirat(rootfd, ".tmp", 0755) < 0 && errno != EEXIST) || (mkdirat(rootfd, "0", 0755) < 0 && errno != EEXIST))
        die("mkdir");
    tmpfd = openat(rootfd, ".tmp", DIR_FLAGS);
    dbfd = openat(rootfd, "0", DIR_FLAGS);
    jfd = openat(rootfd, ".journal", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (tmpfd < 0 || dbfd < 0 || jfd < 0) die("layout");

    if (strcmp(mode, "threads") == 0) {
        if (nthreads > count) nthreads = (int)count;
        printf("mode threads, %d threads\n", nthreads);
        benchThreads(count, nthreads);
        return 0;
    }
#ifdef HAVE_LIBURING
    if (strcmp(mode, "uring") == 0) {
        printf("mode uring, batch %d\n", batch > count ? (int)count : batch);
        benchUring(count, batch);
        return 0;
    }
#endif

    double t = start();
    for (long i = 0; i < count; i++) newKey(i);
    report("new", count, now() - t);

    int dirfd = openat(dbfd, "key:0", DIR_FLAGS);
    char staged[32];
    poolFile(staged, sizeof(staged));
    t = start();
    for (long i = 0; i < count; i++) overwrite(dirfd, staged, sizeof(staged));
    report("overwrite", count, now() - t);
    close(dirfd);

    t = start();
    for (long i = 0; i < count; i++) getKey(i);
    report("get", count, now() - t);
    return 0;
}
