/* check_util.c - what dredis-check's checks share: the report lines, the
 * progress line, reading files and listing directories through directory
 * descriptors (never following a link, never leaving ROOT_DIR), resolving
 * entry names to raw names, and the repairs' primitives: an atomic write,
 * a move into lost+found, a recursive removal. */
#include "dredis_check.h"
#include "keyname.h"
#include "util.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <time.h>
#include <sys/stat.h>

#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* O_NONBLOCK: a FIFO planted in the tree must not hang the check */
#define OPEN_FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)

/* ------------------------------------------------------------------------ */
/* Report lines and the progress line                                        */
/* ------------------------------------------------------------------------ */

static int progress_shown;

/* Print s with bytes that are not printable ASCII as \xNN (and '\' as
 * \\), so that a hostile name cannot break a line or the terminal. */
static void printEscaped(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\') fputs("\\\\", f);
        else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
}

static void report(const char *path, const char *prefix, const char *fmt, va_list ap) {
    checkProgressEnd();
    printEscaped(stdout, chk.root);
    if (*path) {
        fputc('/', stdout);
        printEscaped(stdout, path);
    }
    fputs(": ", stdout);
    fputs(prefix, stdout);
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    printEscaped(stdout, msg);
    fputc('\n', stdout);
    fflush(stdout);
}

void checkProblem(const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    chk.problems++;
    report(path, "", fmt, ap);
    va_end(ap);
}

void checkProblemAt(const char *dir, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sds path = pathJoin(dir, name);
    chk.problems++;
    report(path, "", fmt, ap);
    sdsfree(path);
    va_end(ap);
}

void checkRepaired(const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    chk.repaired++;
    report(path, "repaired: ", fmt, ap);
    va_end(ap);
}

static long long monotonicMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* At most 5 times a second: "checking: N keys, M entries, P problems". */
void checkProgress(int force) {
    static long long last;
    if (!chk.progress) return;
    long long now = monotonicMs();
    if (!force && now - last < 200) return;
    last = now;
    fprintf(stderr, "\rdredis-check: %lld keys, %lld entries, %lld problems ", chk.keys, chk.entries, chk.problems);
    fflush(stderr);
    progress_shown = 1;
}

void checkProgressEnd(void) {
    if (!progress_shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    progress_shown = 0;
}

sds pathJoin(const char *dir, const char *name) {
    sds p = sdsnew(dir);
    if (*dir) p = sdscat(p, "/");
    return sdscat(p, name);
}

/* ------------------------------------------------------------------------ */
/* Files                                                                     */
/* ------------------------------------------------------------------------ */

int openDirAt(int dirfd, const char *name) { return openat(dirfd, name, OPEN_DIR_FLAGS); }

int readSmallFile(int dirfd, const char *name, size_t max, sds *out) {
    *out = NULL;
    int fd = openat(dirfd, name, OPEN_FILE_FLAGS);
    if (fd < 0) return errno == ENOENT ? CHECK_MISSING : CHECK_ERR;
    struct stat sb;
    if (fstat(fd, &sb) < 0) goto err;
    if (!S_ISREG(sb.st_mode)) {
        errno = EUCLEAN;
        goto err;
    }
    if ((unsigned long long)sb.st_size > max) {
        errno = EFBIG;
        goto err;
    }
    sds s = sdsMakeRoomFor(sdsempty(), (size_t)sb.st_size);
    for (;;) {
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            sdsfree(s);
            goto err;
        }
        if (n == 0) break;
        if (sdslen(s) + (size_t)n > max) {
            sdsfree(s);
            errno = EFBIG;
            goto err;
        }
        s = sdscatlen(s, buf, (size_t)n);
    }
    close(fd);
    *out = s;
    return CHECK_OK;
err: {
        int saved = errno;
        close(fd);
        errno = saved;
        return CHECK_ERR;
    }
}

static const char *readError(void) { return errno == EUCLEAN ? "not a regular file" : strerror(errno); }

int readNumberFile(int dirfd, const char *dirpath, const char *name, long long *out) {
    sds s;
    int r = readSmallFile(dirfd, name, 64, &s);
    if (r == CHECK_MISSING) return r;
    sds path = pathJoin(dirpath, name);
    if (r == CHECK_ERR) {
        checkProblem(path, "cannot read: %s", errno == EFBIG ? "too large for a number" : readError());
    } else if (!string2ll(s, sdslen(s), out)) {
        checkProblem(path, "not a decimal number: '%.40s'", s);
        r = CHECK_ERR;
    }
    sdsfree(s);
    sdsfree(path);
    return r;
}

void checkCountFile(int keyfd, const char *keypath, long long count, const char *what) {
    sds p = pathJoin(keypath, "len");
    long long len;
    int r = readNumberFile(keyfd, keypath, "len", &len), bad = 1;
    if (r == CHECK_MISSING) checkProblem(p, "missing (there are %lld %s)", count, what);
    else if (r == CHECK_OK && len != count) checkProblem(p, "says %lld, there are %lld %s", len, count, what);
    else bad = r == CHECK_ERR;
    if (bad && chk.repair) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", count);
        if (writeFileAt(keyfd, "len", buf, (size_t)n) == 0) checkRepaired(p, "len set to %lld", count);
        else checkProblem(p, "cannot rewrite: %s", strerror(errno));
    }
    sdsfree(p);
}

int entryType(int dirfd, const char *name) {
    struct stat sb;
    if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) return DT_UNKNOWN;
    if (S_ISDIR(sb.st_mode)) return DT_DIR;
    if (S_ISREG(sb.st_mode)) return DT_REG;
    if (S_ISLNK(sb.st_mode)) return DT_LNK;
    return DT_FIFO; /* any other kind: the checks only tell files from the rest */
}

/* .tmp under ROOT_DIR, made when missing: where repairs stage their files
 * (what a crash leaves there is discarded at the next start). */
static int stagingDir(void) {
    static int fd = -1;
    if (fd >= 0) return fd;
    if (mkdirat(chk.rootfd, ".tmp", 0755) < 0 && errno != EEXIST) return -1;
    fd = openDirAt(chk.rootfd, ".tmp");
    return fd;
}

int writeFileAt(int dirfd, const char *name, const char *data, size_t len) {
    static unsigned long long seq;
    int tmpfd = stagingDir();
    if (tmpfd < 0) return -1;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "c%d-%llu", (int)getpid(), ++seq);
    int fd = openat(tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    int ok = writeFully(fd, data, len) == 0 && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (ok && renameat(tmpfd, tmp, dirfd, name) == 0) return 0;
    saved = errno;
    unlinkat(tmpfd, tmp, 0);
    errno = saved;
    return -1;
}

/* Make the directories of path (relative, '/'-separated) below parentfd;
 * returns the descriptor of the last one, -1 on error. */
static int makeDirs(int parentfd, const char *path) {
    int fd = dup(parentfd);
    sds copy = sdsnew(path);
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c && fd >= 0; c = strtok_r(NULL, "/", &save)) {
        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
            close(fd);
            fd = -1;
            break;
        }
        int next = openDirAt(fd, c);
        close(fd);
        fd = next;
    }
    sdsfree(copy);
    return fd;
}

/* lost+found/<UTC time>-<pid>: one directory per repairing run. */
static sds lostFoundDir(void) {
    if (chk.lost) return chk.lost;
    char stamp[64];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(stamp + n, sizeof(stamp) - n, "-%d", (int)getpid());
    chk.lost = pathJoin(LOST_FOUND, stamp);
    return chk.lost;
}

int moveToLostFound(int dirfd, const char *name, const char *path, const char *why) {
    sds dest = pathJoin(lostFoundDir(), path);
    /* the parent of dest: dest without its last component */
    sds parent = sdsdup(dest);
    sdssetlen(parent, (size_t)(strrchr(parent, '/') - parent));
    int pfd = makeDirs(chk.rootfd, parent);
    int r = -1;
    if (pfd >= 0) {
        r = renameat(dirfd, name, pfd, strrchr(dest, '/') + 1);
        int saved = errno;
        close(pfd);
        errno = saved;
    }
    if (r == 0) checkRepaired(path, "%s: moved to %s", why, dest);
    else checkProblem(path, "%s: could not move it to %s: %s", why, dest, strerror(errno));
    sdsfree(parent);
    sdsfree(dest);
    return r;
}

void removeStale(int dirfd, const char *name, const char *path, const char *what) {
    if (unlinkat(dirfd, name, 0) == 0) checkRepaired(path, "%s removed", what);
    else checkProblem(path, "cannot remove: %s", strerror(errno));
}

int removeTree(int dirfd, const char *name) {
    if (unlinkat(dirfd, name, 0) == 0) return 0;
    if (errno != EISDIR && errno != EPERM) return -1;
    dirIter it;
    if (dirOpen(&it, dirfd, name) < 0) return -1;
    const char *e;
    int type, r = 0;
    while ((e = dirNext(&it, &type)) != NULL) {
        if (type == DT_DIR) {
            if (removeTree(it.fd, e) < 0) r = -1;
        } else if (unlinkat(it.fd, e, 0) < 0) {
            r = -1;
        }
    }
    dirClose(&it);
    if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0) r = -1;
    return r;
}

/* ------------------------------------------------------------------------ */
/* Directory listings                                                        */
/* ------------------------------------------------------------------------ */

int dirOpen(dirIter *it, int dirfd, const char *name) {
    it->d = NULL;
    it->fd = openDirAt(dirfd, name);
    if (it->fd < 0) return -1;
    int fd2 = dup(it->fd);
    DIR *d = fd2 >= 0 ? fdopendir(fd2) : NULL;
    if (!d) {
        int saved = errno;
        if (fd2 >= 0) close(fd2);
        close(it->fd);
        it->fd = -1;
        errno = saved;
        return -1;
    }
    it->d = d;
    return 0;
}

const char *dirNext(dirIter *it, int *type) {
    struct dirent *de;
    while ((de = readdir((DIR *)it->d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        chk.entries++;
        *type = de->d_type;
        if (*type != DT_DIR && *type != DT_REG) *type = entryType(it->fd, de->d_name);
        return de->d_name;
    }
    return NULL;
}

long long countMembers(int nsfd) {
    dirIter it;
    long long n = 0;
    const char *e;
    int type;
    if (dirOpen(&it, nsfd, ".") < 0) return 0;
    while ((e = dirNext(&it, &type)) != NULL)
        if (e[0] != '.') n++;
    dirClose(&it);
    return n;
}

void dirClose(dirIter *it) {
    if (it->d) closedir((DIR *)it->d);
    if (it->fd >= 0) close(it->fd);
    it->d = NULL;
    it->fd = -1;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

sds resolveName(int namesfd, const char *namefile, const char *fname, const char *path, const char *what) {
    size_t len = strlen(fname);
    sds raw = NULL;
    if (keynameIsHashed(fname, len)) {
        int r = namesfd < 0 ? CHECK_MISSING : readSmallFile(namesfd, namefile, (size_t)1 << 32, &raw);
        if (r == CHECK_MISSING) {
            checkProblem(path, "shortened %s name without its full name (%s missing)", what,
                         !strcmp(namefile, "name") ? "name file" : ".names entry");
            return NULL;
        }
        if (r == CHECK_ERR) {
            checkProblem(path, "cannot read the full %s name: %s", what, readError());
            return NULL;
        }
    } else if ((raw = keynameDecode(fname, len)) == NULL) {
        checkProblem(path, "not a valid %s name: not the encoding of any name", what);
        return NULL;
    }
    int hashed;
    sds enc = keynameEncode(raw, sdslen(raw), &hashed);
    int same = !strcmp(enc, fname);
    sdsfree(enc);
    if (same) return raw;
    sdsfree(raw);
    if (keynameIsHashed(fname, len))
        checkProblem(path, "the full %s name stored beside this shortened name does not encode to it "
                     "(prefix or SHA-1 differ)", what);
    else checkProblem(path, "not a valid %s name: encodings longer than 200 bytes must be shortened", what);
    return NULL;
}

void checkNamesDir(int nsfd, const char *nspath) {
    if (entryType(nsfd, ".names") == DT_UNKNOWN) return;
    sds npath = pathJoin(nspath, ".names");
    dirIter it;
    if (dirOpen(&it, nsfd, ".names") < 0) {
        checkProblem(npath, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
        sdsfree(npath);
        return;
    }
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        if (type == DT_REG && keynameIsHashed(e, strlen(e)) && entryType(nsfd, e) != DT_UNKNOWN) continue;
        sds p = pathJoin(npath, e);
        if (type != DT_REG || !keynameIsHashed(e, strlen(e))) {
            checkProblem(p, "stray entry: not the full name of a shortened member name");
            if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
        } else {
            checkProblem(p, "orphan full name: no member of this name");
            if (chk.repair) removeStale(it.fd, e, p, "orphan full name");
        }
        sdsfree(p);
    }
    dirClose(&it);
    sdsfree(npath);
}
