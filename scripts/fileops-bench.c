/* fileops-bench.c - the file operations dredis does for a string key, in a
 * tight loop: the limit of dredis's on-disk layout on a file system.
 *
 *   scripts/fileops-bench DIR COUNT      (the wrapper compiles this file)
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
 * Prints operations per second for each. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DIR_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY)
#define FILE_FLAGS (O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
#define JOURNAL_RESET 65536 /* bytes: the journal is emptied past it */

static int tmpfd, dbfd, jfd;
static long jsize, seq;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void journal(const void *rec, size_t len) {
    if (write(jfd, rec, len) != (ssize_t)len) die("journal write");
    jsize += (long)len;
    if (jsize >= JOURNAL_RESET) {
        if (ftruncate(jfd, 0) < 0) die("journal truncate");
        jsize = 0;
    }
}

/* A pooled staging file or directory: made as the pool thread makes it. */
static void poolName(char *buf, size_t sz, char tag) { snprintf(buf, sz, "%c%ld", tag, ++seq); }

static void poolFile(char *buf, size_t sz) {
    poolName(buf, sz, 'f');
    int fd = openat(tmpfd, buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("pool file");
    close(fd);
}

/* Write data into a pooled file and rename it as name into dirfd. */
static void stageFileInto(int dirfd, const char *name, const char *data, size_t len) {
    char f[32];
    struct stat sb;
    poolFile(f, sizeof(f));
    int fd = openat(tmpfd, f, FILE_FLAGS);
    if (fd < 0 || fstat(fd, &sb) < 0 || write(fd, data, len) != (ssize_t)len) die("stage file");
    close(fd);
    if (renameat2(tmpfd, f, dirfd, name, RENAME_NOREPLACE) < 0) die("rename file");
}

static void newKey(long i) {
    char key[32], d[32];
    struct stat sb;
    snprintf(key, sizeof(key), "key:%ld", i);
    if (openat(dbfd, key, DIR_FLAGS) >= 0 || errno != ENOENT) die("key exists");
    poolName(d, sizeof(d), 'd');
    if (mkdirat(tmpfd, d, 0755) < 0) die("pool dir");
    int dirfd = openat(tmpfd, d, DIR_FLAGS);
    if (dirfd < 0) die("open staging dir");
    stageFileInto(dirfd, "type", "string", 6);
    stageFileInto(dirfd, "value", "abc", 3);
    if (fstatat(dbfd, key, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) die("key appeared");
    char rec[44] = "B";
    journal(rec, sizeof(rec));
    if (renameat2(tmpfd, d, dbfd, key, RENAME_NOREPLACE) < 0) die("rename key");
    close(dirfd);
    journal("C\0\0\0\0\0\0\0\0\0\0\0\1", 13);
}

static void overwrite(int dirfd, char *staged, size_t sz) {
    struct stat sb;
    char rec[63] = "B";
    /* a recycled file: written over from 0 (its stale bytes are as many, so nothing to cut) */
    int fd = openat(tmpfd, staged, FILE_FLAGS);
    if (fd < 0 || fstat(fd, &sb) < 0 || pwrite(fd, "xyz", 3, 0) != 3) die("stage value");
    close(fd);
    if (fstatat(dirfd, "value", &sb, AT_SYMLINK_NOFOLLOW) < 0) die("stat value");
    journal(rec, sizeof(rec));
    if (renameat2(tmpfd, staged, dirfd, "value", RENAME_EXCHANGE) < 0) die("exchange");
    journal("C\0\0\0\0\0\0\0\0\0\0\0\1", 13);
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
    if (openat(dirfd, "expire", O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC) >= 0 || errno != ENOENT)
        die("expire");
    readSmallFile(dirfd, "value");
    close(dirfd);
}

static void report(const char *what, long n, double secs) {
    printf("%-10s %9ld ops in %7.3f s: %10.0f ops/s\n", what, n, secs, n / secs);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s DIR COUNT\n", argv[0]);
        return 2;
    }
    long count = atol(argv[2]);
    if (count < 1) return 2;
    mkdir(argv[1], 0755);
    int rootfd = open(argv[1], DIR_FLAGS);
    if (rootfd < 0) die(argv[1]);
    if ((mkdirat(rootfd, ".tmp", 0755) < 0 && errno != EEXIST) || (mkdirat(rootfd, "0", 0755) < 0 && errno != EEXIST))
        die("mkdir");
    tmpfd = openat(rootfd, ".tmp", DIR_FLAGS);
    dbfd = openat(rootfd, "0", DIR_FLAGS);
    jfd = openat(rootfd, ".journal", O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (tmpfd < 0 || dbfd < 0 || jfd < 0) die("layout");

    double t = now();
    for (long i = 0; i < count; i++) newKey(i);
    report("new", count, now() - t);

    int dirfd = openat(dbfd, "key:0", DIR_FLAGS);
    char staged[32];
    poolFile(staged, sizeof(staged));
    t = now();
    for (long i = 0; i < count; i++) overwrite(dirfd, staged, sizeof(staged));
    report("overwrite", count, now() - t);
    close(dirfd);

    t = now();
    for (long i = 0; i < count; i++) getKey(i);
    report("get", count, now() - t);
    return 0;
}
