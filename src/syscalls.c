/* syscalls.c - the table of file system calls under the storage layer and
 * the fault injector that can make any of them fail (see syscalls.h). Pure:
 * no server state, so unit tests and tools link it alone. */
#include "syscalls.h"
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/syscall.h>

#define SYSCALL_NAME(id, name) #name,
const char *const sysCallNames[SC_COUNT] = {SYSCALL_LIST(SYSCALL_NAME)};
#undef SYSCALL_NAME

/* ---- the real calls (adapters where libc's signature differs) ---- */

static int realOpenat(int dirfd, const char *path, int flags, mode_t mode) { return openat(dirfd, path, flags, mode); }
static int realOpen(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }
static long realOpenat2(int dirfd, const char *path, struct open_how *how, size_t size) {
    return syscall(SYS_openat2, dirfd, path, how, size);
}
static long realGetdents64(int fd, void *buf, size_t n) { return syscall(SYS_getdents64, fd, buf, n); }

struct sysCallTable sysCalls = {
    .openat = realOpenat,   .open = realOpen,         .openat2 = realOpenat2,   .close = close,
    .read = read,           .pread = pread,           .write = write,           .pwrite = pwrite,
    .lseek = lseek,         .fsync = fsync,           .syncfs = syncfs,         .ftruncate = ftruncate,
    .fallocate = fallocate, .posix_fallocate = posix_fallocate,
    .copy_file_range = copy_file_range,               .fstat = fstat,           .fstatat = fstatat,
    .fstatvfs = fstatvfs,   .faccessat = faccessat,   .flock = flock,           .dup = dup,
    .mkdirat = mkdirat,     .mkdir = mkdir,           .rmdir = rmdir,           .unlinkat = unlinkat,
    .renameat = renameat,   .renameat2 = renameat2,   .linkat = linkat,         .getdents64 = realGetdents64,
    .fdopendir = fdopendir, .opendir = opendir,       .readdir = readdir,       .closedir = closedir,
};

/* ---- the fault injector ---- */

static struct {
    volatile int active;   /* armed or counting: the wrappers look no further when 0 */
    int counting;
    int armed;
    int sc;                /* SC_* to match, -1: every call */
    int mode;              /* FAULT_* */
    int err;
    long long n;           /* NTH/AFTER's N */
    double rate;           /* FRACTION's probability */
    uint64_t rng;
    long long matched;     /* matching calls since armed */
    long long fired;
    const char *last;
    long long calls;       /* counted since the last reset */
    long long callsOf[SC_COUNT];
    pthread_mutex_t lock;
} fi = {.sc = -1, .last = "", .lock = PTHREAD_MUTEX_INITIALIZER};

static __thread int exemptThread;

void sysFaultExemptThread(void) { exemptThread = 1; }

static void updateActive(void) { fi.active = fi.armed || fi.counting; }

void sysFaultSetCounting(int on) {
    pthread_mutex_lock(&fi.lock);
    fi.counting = on;
    updateActive();
    pthread_mutex_unlock(&fi.lock);
}

static double nextRandom(void) {
    fi.rng ^= fi.rng << 13; /* xorshift64 */
    fi.rng ^= fi.rng >> 7;
    fi.rng ^= fi.rng << 17;
    return (double)(fi.rng >> 11) / (double)(1ULL << 53);
}

/* Does the armed fault make this matching call fail? (lock held) */
static int shouldFail(void) {
    fi.matched++;
    switch (fi.mode) {
    case FAULT_NTH: return fi.matched == fi.n;
    case FAULT_AFTER: return fi.matched > fi.n;
    default: return nextRandom() < fi.rate;
    }
}

/* Count the call and decide whether it fails; errno set when it does. */
static int faultHit(int sc) {
    if (!fi.active || exemptThread) return 0;
    int fail = 0, err = 0;
    pthread_mutex_lock(&fi.lock);
    fi.callsOf[sc]++;
    if (!fi.armed || fi.sc < 0 || fi.sc == sc) fi.calls++;
    if (fi.armed && (fi.sc < 0 || fi.sc == sc) && shouldFail()) {
        fail = 1;
        err = fi.err;
        fi.fired++;
        fi.last = sysCallNames[sc];
    }
    pthread_mutex_unlock(&fi.lock);
    if (fail) errno = err;
    return fail;
}

int sysCallByName(const char *name) {
    for (int i = 0; i < SC_COUNT; i++)
        if (!strcasecmp(name, sysCallNames[i])) return i;
    return -1;
}

static const struct {
    const char *name;
    int err;
} errnoNames[] = {{"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EIO", EIO},       {"EROFS", EROFS},
                  {"EMFILE", EMFILE}, {"ENFILE", ENFILE}, {"ENOMEM", ENOMEM}, {"EACCES", EACCES}};

int sysErrnoByName(const char *name) {
    for (size_t i = 0; i < sizeof(errnoNames) / sizeof(errnoNames[0]); i++)
        if (!strcasecmp(name, errnoNames[i].name)) return errnoNames[i].err;
    return 0;
}

static int parseCount(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

int sysFaultArm(int argc, char **argv, const char **err) {
    if (argc != 4 && argc != 6)
        return *err = "expected <syscall|all> <errno> NTH|AFTER <n> or FRACTION <p> [SEED <n>]", -1;
    int sc = strcasecmp(argv[0], "all") ? sysCallByName(argv[0]) : -1;
    if (sc < 0 && strcasecmp(argv[0], "all")) return *err = "unknown syscall name", -1;
    int e = sysErrnoByName(argv[1]);
    if (!e) return *err = "unknown errno name (ENOSPC EDQUOT EIO EROFS EMFILE ENFILE ENOMEM EACCES)", -1;
    int mode;
    long long n = 0, seed = 1;
    double rate = 0;
    if (!strcasecmp(argv[2], "nth") && argc == 4) {
        mode = FAULT_NTH;
        if (parseCount(argv[3], &n) < 0 || n < 1) return *err = "NTH needs a count of 1 or more", -1;
    } else if (!strcasecmp(argv[2], "after") && argc == 4) {
        mode = FAULT_AFTER;
        if (parseCount(argv[3], &n) < 0) return *err = "AFTER needs a count of 0 or more", -1;
    } else if (!strcasecmp(argv[2], "fraction")) {
        mode = FAULT_RATE;
        char *end;
        rate = strtod(argv[3], &end);
        if (end == argv[3] || *end || !(rate >= 0 && rate <= 1))
            return *err = "FRACTION needs a number from 0 to 1", -1;
        if (argc == 6 && (strcasecmp(argv[4], "seed") || parseCount(argv[5], &seed) < 0))
            return *err = "expected SEED <n> after FRACTION <p>", -1;
    } else {
        return *err = "expected NTH <n>, AFTER <n> or FRACTION <p> [SEED <n>]", -1;
    }
    pthread_mutex_lock(&fi.lock);
    fi.sc = sc;
    fi.err = e;
    fi.mode = mode;
    fi.n = n;
    fi.rate = rate;
    fi.rng = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;
    fi.matched = fi.fired = 0;
    fi.last = "";
    fi.armed = 1;
    updateActive();
    pthread_mutex_unlock(&fi.lock);
    return 0;
}

int sysFaultArmSpec(const char *spec, const char **err) {
    char buf[256], *words[8];
    int n = 0;
    if (strlen(spec) >= sizeof(buf)) return *err = "fault specification too long", -1;
    strcpy(buf, spec);
    for (char *save = NULL, *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == 8) return *err = "too many words in the fault specification", -1;
        words[n++] = w;
    }
    return sysFaultArm(n, words, err);
}

void sysFaultDisarm(void) {
    pthread_mutex_lock(&fi.lock);
    fi.armed = 0;
    updateActive();
    pthread_mutex_unlock(&fi.lock);
}

int sysFaultArmed(void) { return fi.armed; }

long long sysFaultCallCount(void) {
    pthread_mutex_lock(&fi.lock);
    long long n = fi.calls;
    pthread_mutex_unlock(&fi.lock);
    return n;
}

long long sysFaultCallCountOf(int sc) {
    pthread_mutex_lock(&fi.lock);
    long long n = fi.callsOf[sc];
    pthread_mutex_unlock(&fi.lock);
    return n;
}

void sysFaultResetCount(void) {
    pthread_mutex_lock(&fi.lock);
    fi.calls = 0;
    memset(fi.callsOf, 0, sizeof(fi.callsOf));
    pthread_mutex_unlock(&fi.lock);
}

long long sysFaultFired(void) {
    pthread_mutex_lock(&fi.lock);
    long long n = fi.fired;
    pthread_mutex_unlock(&fi.lock);
    return n;
}

const char *sysFaultLastCall(void) { return fi.last; }

/* ---- the wrappers ---- */

static mode_t modeArg(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* How many times the calls below handed out each descriptor number (below
 * SYS_FD_GENERATIONS): a cache of what a descriptor names (the store's
 * paths of open directories) is good while this has not moved. */
static unsigned fdgen[SYS_FD_GENERATIONS];

static long handedOut(long fd) {
    if (fd >= 0 && fd < SYS_FD_GENERATIONS) __atomic_add_fetch(&fdgen[fd], 1, __ATOMIC_RELAXED);
    return fd;
}

unsigned sysFdGeneration(int fd) {
    return fd >= 0 && fd < SYS_FD_GENERATIONS ? __atomic_load_n(&fdgen[fd], __ATOMIC_RELAXED) : 0;
}

int sysOpenat(int dirfd, const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = modeArg(flags, ap);
    va_end(ap);
    return faultHit(SC_OPENAT) ? -1 : (int)handedOut(sysCalls.openat(dirfd, path, flags, mode));
}

int sysOpen(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    mode_t mode = modeArg(flags, ap);
    va_end(ap);
    return faultHit(SC_OPEN) ? -1 : (int)handedOut(sysCalls.open(path, flags, mode));
}

long sysOpenat2(int dirfd, const char *path, struct open_how *how, size_t size) {
    return faultHit(SC_OPENAT2) ? -1 : handedOut(sysCalls.openat2(dirfd, path, how, size));
}

int sysClose(int fd) {
    if (faultHit(SC_CLOSE)) {
        int e = errno;
        sysCalls.close(fd); /* the descriptor is gone either way */
        errno = e;
        return -1;
    }
    return sysCalls.close(fd);
}

ssize_t sysRead(int fd, void *buf, size_t n) { return faultHit(SC_READ) ? -1 : sysCalls.read(fd, buf, n); }
ssize_t sysPread(int fd, void *buf, size_t n, off_t off) {
    return faultHit(SC_PREAD) ? -1 : sysCalls.pread(fd, buf, n, off);
}
ssize_t sysWrite(int fd, const void *buf, size_t n) { return faultHit(SC_WRITE) ? -1 : sysCalls.write(fd, buf, n); }
ssize_t sysPwrite(int fd, const void *buf, size_t n, off_t off) {
    return faultHit(SC_PWRITE) ? -1 : sysCalls.pwrite(fd, buf, n, off);
}
off_t sysLseek(int fd, off_t off, int whence) { return faultHit(SC_LSEEK) ? -1 : sysCalls.lseek(fd, off, whence); }
int sysFsync(int fd) { return faultHit(SC_FSYNC) ? -1 : sysCalls.fsync(fd); }
int sysSyncfs(int fd) { return faultHit(SC_SYNCFS) ? -1 : sysCalls.syncfs(fd); }
int sysFtruncate(int fd, off_t len) { return faultHit(SC_FTRUNCATE) ? -1 : sysCalls.ftruncate(fd, len); }
int sysFallocate(int fd, int mode, off_t off, off_t len) {
    return faultHit(SC_FALLOCATE) ? -1 : sysCalls.fallocate(fd, mode, off, len);
}
int sysPosixFallocate(int fd, off_t off, off_t len) {
    int saved = errno;
    if (faultHit(SC_POSIX_FALLOCATE)) {
        int e = errno;
        errno = saved;
        return e;
    }
    return sysCalls.posix_fallocate(fd, off, len);
}
ssize_t sysCopyFileRange(int in, off_t *inoff, int out, off_t *outoff, size_t len, unsigned flags) {
    return faultHit(SC_COPY_FILE_RANGE) ? -1 : sysCalls.copy_file_range(in, inoff, out, outoff, len, flags);
}
int sysFstat(int fd, struct stat *sb) { return faultHit(SC_FSTAT) ? -1 : sysCalls.fstat(fd, sb); }
int sysFstatat(int dirfd, const char *path, struct stat *sb, int flags) {
    return faultHit(SC_FSTATAT) ? -1 : sysCalls.fstatat(dirfd, path, sb, flags);
}
int sysFstatvfs(int fd, struct statvfs *sv) { return faultHit(SC_FSTATVFS) ? -1 : sysCalls.fstatvfs(fd, sv); }
int sysFaccessat(int dirfd, const char *path, int mode, int flags) {
    return faultHit(SC_FACCESSAT) ? -1 : sysCalls.faccessat(dirfd, path, mode, flags);
}
int sysFlock(int fd, int op) { return faultHit(SC_FLOCK) ? -1 : sysCalls.flock(fd, op); }
int sysDup(int fd) { return faultHit(SC_DUP) ? -1 : (int)handedOut(sysCalls.dup(fd)); }
int sysMkdirat(int dirfd, const char *path, mode_t mode) {
    return faultHit(SC_MKDIRAT) ? -1 : sysCalls.mkdirat(dirfd, path, mode);
}
int sysMkdir(const char *path, mode_t mode) { return faultHit(SC_MKDIR) ? -1 : sysCalls.mkdir(path, mode); }
int sysRmdir(const char *path) { return faultHit(SC_RMDIR) ? -1 : sysCalls.rmdir(path); }
int sysUnlinkat(int dirfd, const char *path, int flags) {
    return faultHit(SC_UNLINKAT) ? -1 : sysCalls.unlinkat(dirfd, path, flags);
}
int sysRenameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return faultHit(SC_RENAMEAT) ? -1 : sysCalls.renameat(olddirfd, oldpath, newdirfd, newpath);
}
int sysRenameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags) {
    return faultHit(SC_RENAMEAT2) ? -1 : sysCalls.renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}
int sysLinkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags) {
    return faultHit(SC_LINKAT) ? -1 : sysCalls.linkat(olddirfd, oldpath, newdirfd, newpath, flags);
}
long sysGetdents64(int fd, void *buf, size_t n) {
    return faultHit(SC_GETDENTS64) ? -1 : sysCalls.getdents64(fd, buf, n);
}
DIR *sysFdopendir(int fd) { return faultHit(SC_FDOPENDIR) ? NULL : sysCalls.fdopendir(fd); }
DIR *sysOpendir(const char *path) {
    DIR *d = faultHit(SC_OPENDIR) ? NULL : sysCalls.opendir(path);
    if (d) handedOut(dirfd(d));
    return d;
}
struct dirent *sysReaddir(DIR *d) { return faultHit(SC_READDIR) ? NULL : sysCalls.readdir(d); }
int sysClosedir(DIR *d) {
    if (faultHit(SC_CLOSEDIR)) {
        int e = errno;
        sysCalls.closedir(d);
        errno = e;
        return -1;
    }
    return sysCalls.closedir(d);
}

/* ---- small helpers made of the calls above ---- */

int sysWriteFully(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = sysWrite(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int sysMakeDirs(const char *path) {
    char p[PATH_MAX];
    if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (sysMkdir(p, 0755) < 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    return sysMkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}
