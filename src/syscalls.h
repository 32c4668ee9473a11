/* syscalls.h - the one seam under every file system call that touches
 * ROOT_DIR (and the snapshot directory). The store (store*.c), journal.c
 * and snapshot.c call sysOpenat(), sysRenameat2(), ... instead of the libc functions; each
 * wrapper asks the fault injector first, then calls through sysCalls, a
 * table of function pointers holding the real calls (as SQLite's
 * aSyscall[]), which a test may replace.
 *
 * The fault injector is compiled in every build and does nothing unless
 * armed (one load and branch per call). Armed, it counts the calls that
 * match (a syscall name, or every call) and makes one fail with a chosen
 * errno: the Nth, every one after the first N, or a seeded fraction. Calls
 * made by a thread that declared itself exempt (the background trash thread,
 * whose timing is not the commands') are neither counted nor failed.
 * docs/faults.md describes the specification words. */
#ifndef DREDIS_SYSCALLS_H
#define DREDIS_SYSCALLS_H
#include <dirent.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

struct open_how;

/* The calls behind the seam, in the order of sysCallNames[]. */
#define SYSCALL_LIST(X)                                                                                          \
    X(OPENAT, openat)                                                                                            \
    X(OPEN, open)                                                                                                \
    X(OPENAT2, openat2)                                                                                          \
    X(CLOSE, close)                                                                                              \
    X(READ, read)                                                                                                \
    X(PREAD, pread)                                                                                              \
    X(WRITE, write)                                                                                              \
    X(PWRITE, pwrite)                                                                                            \
    X(LSEEK, lseek)                                                                                              \
    X(FSYNC, fsync)                                                                                              \
    X(SYNCFS, syncfs)                                                                                            \
    X(FTRUNCATE, ftruncate)                                                                                      \
    X(FALLOCATE, fallocate)                                                                                      \
    X(POSIX_FALLOCATE, posix_fallocate)                                                                          \
    X(COPY_FILE_RANGE, copy_file_range)                                                                          \
    X(FSTAT, fstat)                                                                                              \
    X(FSTATAT, fstatat)                                                                                          \
    X(FSTATVFS, fstatvfs)                                                                                        \
    X(FACCESSAT, faccessat)                                                                                      \
    X(FLOCK, flock)                                                                                              \
    X(DUP, dup)                                                                                                  \
    X(MKDIRAT, mkdirat)                                                                                          \
    X(MKDIR, mkdir)                                                                                              \
    X(RMDIR, rmdir)                                                                                              \
    X(UNLINKAT, unlinkat)                                                                                        \
    X(RENAMEAT, renameat)                                                                                        \
    X(RENAMEAT2, renameat2)                                                                                      \
    X(LINKAT, linkat)                                                                                            \
    X(GETDENTS64, getdents64)                                                                                    \
    X(FDOPENDIR, fdopendir)                                                                                      \
    X(OPENDIR, opendir)                                                                                          \
    X(READDIR, readdir)                                                                                          \
    X(CLOSEDIR, closedir)

#define SYSCALL_ENUM(id, name) SC_##id,
enum { SYSCALL_LIST(SYSCALL_ENUM) SC_COUNT };
#undef SYSCALL_ENUM
extern const char *const sysCallNames[SC_COUNT];

/* The real calls, unless a test put others in. */
struct sysCallTable {
    int (*openat)(int dirfd, const char *path, int flags, mode_t mode);
    int (*open)(const char *path, int flags, mode_t mode);
    long (*openat2)(int dirfd, const char *path, struct open_how *how, size_t size);
    int (*close)(int fd);
    ssize_t (*read)(int fd, void *buf, size_t n);
    ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
    ssize_t (*write)(int fd, const void *buf, size_t n);
    ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
    off_t (*lseek)(int fd, off_t off, int whence);
    int (*fsync)(int fd);
    int (*syncfs)(int fd);
    int (*ftruncate)(int fd, off_t len);
    int (*fallocate)(int fd, int mode, off_t off, off_t len);
    int (*posix_fallocate)(int fd, off_t off, off_t len);
    ssize_t (*copy_file_range)(int in, off_t *inoff, int out, off_t *outoff, size_t len, unsigned flags);
    int (*fstat)(int fd, struct stat *sb);
    int (*fstatat)(int dirfd, const char *path, struct stat *sb, int flags);
    int (*fstatvfs)(int fd, struct statvfs *sv);
    int (*faccessat)(int dirfd, const char *path, int mode, int flags);
    int (*flock)(int fd, int op);
    int (*dup)(int fd);
    int (*mkdirat)(int dirfd, const char *path, mode_t mode);
    int (*mkdir)(const char *path, mode_t mode);
    int (*rmdir)(const char *path);
    int (*unlinkat)(int dirfd, const char *path, int flags);
    int (*renameat)(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
    int (*renameat2)(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags);
    int (*linkat)(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
    long (*getdents64)(int fd, void *buf, size_t n);
    DIR *(*fdopendir)(int fd);
    DIR *(*opendir)(const char *path);
    struct dirent *(*readdir)(DIR *d);
    int (*closedir)(DIR *d);
};
extern struct sysCallTable sysCalls;

/* The wrappers every storage file calls. openat and open take the mode only
 * with O_CREAT/O_TMPFILE, as the libc functions. A failed close or closedir
 * still releases the descriptor (as Linux's close). */
int sysOpenat(int dirfd, const char *path, int flags, ...);
/* Counts, per descriptor number below SYS_FD_GENERATIONS, the descriptors
 * the wrappers handed out (open, openat, openat2, dup, opendir): what a
 * descriptor named is still what it names while this is unchanged. */
#define SYS_FD_GENERATIONS 1024
unsigned sysFdGeneration(int fd);
int sysOpen(const char *path, int flags, ...);
long sysOpenat2(int dirfd, const char *path, struct open_how *how, size_t size);
int sysClose(int fd);
ssize_t sysRead(int fd, void *buf, size_t n);
ssize_t sysPread(int fd, void *buf, size_t n, off_t off);
ssize_t sysWrite(int fd, const void *buf, size_t n);
ssize_t sysPwrite(int fd, const void *buf, size_t n, off_t off);
off_t sysLseek(int fd, off_t off, int whence);
int sysFsync(int fd);
int sysSyncfs(int fd);
int sysFtruncate(int fd, off_t len);
int sysFallocate(int fd, int mode, off_t off, off_t len);
/* as posix_fallocate: 0, or the error number (errno untouched) */
int sysPosixFallocate(int fd, off_t off, off_t len);
ssize_t sysCopyFileRange(int in, off_t *inoff, int out, off_t *outoff, size_t len, unsigned flags);
int sysFstat(int fd, struct stat *sb);
int sysFstatat(int dirfd, const char *path, struct stat *sb, int flags);
int sysFstatvfs(int fd, struct statvfs *sv);
int sysFaccessat(int dirfd, const char *path, int mode, int flags);
int sysFlock(int fd, int op);
int sysDup(int fd);
int sysMkdirat(int dirfd, const char *path, mode_t mode);
int sysMkdir(const char *path, mode_t mode);
int sysRmdir(const char *path);
int sysUnlinkat(int dirfd, const char *path, int flags);
int sysRenameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int sysRenameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned flags);
int sysLinkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags);
long sysGetdents64(int fd, void *buf, size_t n);
DIR *sysFdopendir(int fd);
DIR *sysOpendir(const char *path);
/* NULL at the end (errno untouched) or on failure (errno set): callers
 * that must tell them apart clear errno first. */
struct dirent *sysReaddir(DIR *d);
int sysClosedir(DIR *d);

/* ---- small helpers made of the calls above ---- */
int sysWriteFully(int fd, const void *buf, size_t n); /* 0, or -1 with errno */
int sysMakeDirs(const char *path);                     /* mkdir -p: 0, or -1 with errno */

/* ---- the fault injector ---- */
#define FAULT_NTH 1   /* fail the Nth matching call only */
#define FAULT_AFTER 2 /* let N matching calls through, fail every later one */
#define FAULT_RATE 3  /* fail each matching call with a probability */

/* Arm a fault from words: <syscall|all> <errno name> NTH <n> | AFTER <n> |
 * FRACTION <0..1> [SEED <n>]. Returns 0, or -1 with a reason in *err (a
 * static string). Re-arming replaces the previous fault. */
int sysFaultArm(int argc, char **argv, const char **err);
int sysFaultArmSpec(const char *spec, const char **err); /* the same words in one string */
void sysFaultDisarm(void);
int sysFaultArmed(void);
/* Calls counted (matching the armed fault's name, or all when none is
 * armed) since the last sysFaultResetCount(); and per syscall name. */
long long sysFaultCallCount(void);
long long sysFaultCallCountOf(int sc);
void sysFaultResetCount(void);
long long sysFaultFired(void);      /* faults injected since armed */
const char *sysFaultLastCall(void); /* the name of the call last failed, or "" */
int sysCallByName(const char *name); /* SC_*, or -1 */
int sysErrnoByName(const char *name); /* ENOSPC..., or 0 */
/* Counting is on when the fault command is enabled (it costs an atomic add
 * per call); off otherwise. */
void sysFaultSetCounting(int on);
/* This thread's calls are never counted nor failed. */
void sysFaultExemptThread(void);

#endif
