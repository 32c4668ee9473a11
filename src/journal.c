/* journal.c - the undo journal ROOT_DIR/.journal.
 *
 * Before the store (store_ops.c) changes the visible tree inside a
 * transaction (one command, a MULTI/EXEC block or a script), it appends a record saying how to undo
 * that change; displaced versions are kept under .tmp until the transaction
 * commits. A COMMIT record ends the transaction. At start-up, a transaction
 * without its COMMIT is undone, records in reverse order. Every undo step
 * checks the tree's state first, so running the recovery twice (a crash
 * during recovery) gives the same result. docs/durability.md has the design.
 *
 * Record layout: type (1 byte), 4 fields each as a 2-byte little-endian
 * length and bytes, then a 4-byte CRC-32 of everything before it. A torn or
 * corrupt tail ends the log: the change it described was never made. */
#include "journal.h"
#include "syscalls.h"
#include "sds.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#define JOURNAL_NAME ".journal"
#define JOURNAL_RESET_SIZE (1 << 20)
#define JOURNAL_AHEAD (64 << 10) /* bytes kept allocated past the end */

static int jfd = -1;
static int jrootfd = -1, jtrashfd = -1;
static long long jsize;
static long long jallocated;  /* the blocks allocated reach this offset */
static long long recovered_txns, undone_ops, redone_writes;
static unsigned long long trash_seq;

static uint32_t crc_table[256];

static void crcInit(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        crc_table[i] = c;
    }
}

static uint32_t crc32(const unsigned char *p, size_t len) {
    if (!crc_table[1]) crcInit();
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t journalCrc32(const unsigned char *p, size_t len) { return crc32(p, len); }

static sds putField(sds rec, const char *s, size_t len) {
    unsigned char l[2] = {(unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
    rec = sdscatlen(rec, l, 2);
    return sdscatlen(rec, s ? s : "", len);
}

/* fields f[0..3] of lengths l[0..3] (each at most JOURNAL_FIELD_MAX) */
static sds encodeFields(sds rec, char type, const char *const *f, const size_t *l) {
    size_t start = sdslen(rec);
    rec = sdscatlen(rec, &type, 1);
    for (int i = 0; i < 4; i++) rec = putField(rec, f[i], l[i]);
    uint32_t crc = crc32((unsigned char *)rec + start, sdslen(rec) - start);
    unsigned char c[4] = {(unsigned char)crc, (unsigned char)(crc >> 8), (unsigned char)(crc >> 16),
                          (unsigned char)(crc >> 24)};
    return sdscatlen(rec, c, 4);
}

/* a record without fields (BEGIN, COMMIT) */
static sds encodeBare(sds rec, char type) {
    const char *f[4] = {"", "", "", ""};
    size_t l[4] = {0, 0, 0, 0};
    return encodeFields(rec, type, f, l);
}

/* A BEGIN goes out with the record after it, in one write, and a COMMIT
 * held back by journalCommitLater() with the next record or at
 * journalCommit(). */
static int begin_pending, commit_pending;
/* J_WRITEs written since the tree was last synced: the log may not be cut
 * before the tree is synced (journalTreeSynced) */
static int unsynced_writes;

/* Keep JOURNAL_AHEAD bytes of blocks allocated past the end of the log
 * (its size unchanged: FALLOC_FL_KEEP_SIZE), so that the records of a
 * delete on a full disk need no new block. Best effort: on a full disk the
 * space reserve (store_reserve.c) covers what is missing. */
static void allocateAhead(void) {
    if (jsize + JOURNAL_AHEAD / 2 <= jallocated) return;
    if (sysFallocate(jfd, FALLOC_FL_KEEP_SIZE, (off_t)jsize, JOURNAL_AHEAD) == 0) jallocated = jsize + JOURNAL_AHEAD;
}

/* The log cut to size 0, with its blocks ahead. */
static int truncateLog(void) {
    if (sysFtruncate(jfd, 0) < 0) return -1;
    unsynced_writes = 0; /* callers synced the tree first */
    jsize = jallocated = 0;
    allocateAhead();
    return 0;
}

static int appendRecord(char type, const char *const *f, const size_t *l) {
    if (type == J_BEGIN) {
        begin_pending = 1;
        return 0;
    }
    sds rec = sdsempty();
    int with_commit = commit_pending && type != J_COMMIT;
    int with_begin = begin_pending && type != J_COMMIT;
    if (with_commit) rec = encodeBare(rec, J_COMMIT);
    if (with_begin) rec = encodeBare(rec, J_BEGIN);
    rec = encodeFields(rec, type, f, l);
    ssize_t n;
    do {
        n = sysWrite(jfd, rec, sdslen(rec));
    } while (n < 0 && errno == EINTR);
    int ok = n == (ssize_t)sdslen(rec);
    if (n > 0 && !ok) {
        /* a partial record: cut it off so the log stays parseable */
        if (sysFtruncate(jfd, (off_t)jsize) < 0) { /* nothing more to do */ }
        jallocated = jsize; /* a truncate frees the blocks past the end */
        errno = ENOSPC;
    }
    if (ok) {
        jsize += n;
        begin_pending = 0;
        commit_pending = 0;
        allocateAhead();
    } else {
        int saved = errno;
        if (!with_begin) begin_pending = 0; /* a COMMIT that failed: nothing is pending */
        if (with_commit) journalCommit();   /* the earlier transaction commits all the same */
        errno = saved;
    }
    sdsfree(rec);
    return ok ? 0 : -1;
}

int journalAppend(char type, const char *dir, const char *name, const char *dir2, const char *name2) {
    const char *f[4] = {dir, name, dir2, name2};
    size_t l[4];
    for (int i = 0; i < 4; i++) l[i] = f[i] ? strlen(f[i]) : 0;
    return appendRecord(type, f, l);
}

int journalAppendWrite(const char *dir, const char *name, const char *data, size_t len) {
    if (len > JOURNAL_FIELD_MAX) {
        errno = EFBIG;
        return -1;
    }
    const char *f[4] = {dir, name, data, ""};
    size_t l[4] = {strlen(dir), strlen(name), len, 0};
    if (appendRecord(J_WRITE, f, l) < 0) return -1;
    unsynced_writes = 1;
    return 0;
}

int journalAppendRemoval(const char *dir, const char *name) {
    const char *f[4] = {dir, name, "", "-"};
    size_t l[4] = {strlen(dir), strlen(name), 0, 1};
    if (appendRecord(J_WRITE, f, l) < 0) return -1;
    unsynced_writes = 1;
    return 0;
}

int journalWritesUnsynced(void) { return unsynced_writes; }

int journalTreeSynced(int idle) {
    if (!unsynced_writes) return 0;
    if (idle && !begin_pending && !commit_pending) return truncateLog();
    if (journalAppend(J_SYNCED, "", "", "", "") < 0) return -1;
    unsynced_writes = 0;
    return 0;
}

void journalCommitLater(void) { commit_pending = 1; }
int journalCommitPending(void) { return commit_pending; }

void journalCommit(void) {
    commit_pending = 0;
    if (journalAppend(J_COMMIT, "", "", "", "") == 0) return;
    /* an empty log commits too, once the writes it carries are in the tree */
    if (unsynced_writes && sysSyncfs(jrootfd) < 0) {
        fprintf(stderr, "dredis: fatal: cannot write a COMMIT nor sync the tree (%s); exiting: the next start "
                "undoes the transaction, which was not acknowledged\n", strerror(errno));
        fflush(stderr);
        _exit(1);
    }
    journalReset();
}

void journalMaybeReset(void) {
    if (jsize < JOURNAL_RESET_SIZE || unsynced_writes) return;
    truncateLog();
}

int journalFd(void) { return jfd; }
int journalSync(void) { return sysFsync(jfd); }
off_t journalOffset(void) { return (off_t)jsize; }
long long journalRecoveredTransactions(void) { return recovered_txns; }
long long journalUndoneOperations(void) { return undone_ops; }
long long journalRedoneWrites(void) { return redone_writes; }

/* ---- recovery ---- */

typedef struct jrec {
    char type;
    sds f[4];
} jrec;

/* Open a directory given relative to ROOT_DIR, never following links. */
static int openRel(const char *dir) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    return (int)sysOpenat2(jrootfd, *dir ? dir : ".", &how, sizeof(how));
}

/* Every undo step tells "already as it should be" (a name absent, a
 * directory never made) from a call that failed: a failed step fails the
 * undo (-1, errno set), which leaves the journal as it is, to be run again. */

/* An undo step's directory: -1 when absent (ENOENT: nothing to undo there),
 * -2 when it cannot be opened. */
static int openStepDir(const char *dir) {
    int fd = openRel(dir);
    if (fd < 0 && errno != ENOENT) return -2;
    return fd;
}

/* 1 exists, 0 absent, -1 failed */
static int existsAt(int dirfd, const char *name) {
    struct stat sb;
    if (sysFstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) return 1;
    return errno == ENOENT ? 0 : -1;
}

static int trashAt(int dirfd, const char *name) {
    char t[64];
    snprintf(t, sizeof(t), "j%d-%llu", (int)getpid(), ++trash_seq);
    return sysRenameat(dirfd, name, jtrashfd, t);
}

/* The inode of dirfd/name: 0 when absent, (ino_t)-1 when it cannot be told. */
static ino_t inodeAt(int dirfd, const char *name) {
    struct stat sb;
    if (dirfd < 0) return 0;
    if (sysFstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) return sb.st_ino;
    return errno == ENOENT ? 0 : (ino_t)-1;
}

/* J_EXCHANGED: swap back when the swap happened, as the inodes tell. */
static int undoExchange(int d1, const jrec *r) {
    unsigned long long oldino, newino;
    if (sscanf(r->f[2], "%llu:%llu", &oldino, &newino) != 2) return 0;
    int tmpfd = openStepDir(".tmp");
    if (tmpfd == -2) return -1;
    ino_t visible = inodeAt(d1, r->f[1]), staged = inodeAt(tmpfd, r->f[3]);
    int rc = 0;
    if (visible == (ino_t)-1 || staged == (ino_t)-1) {
        rc = -1;
    } else if (visible == (ino_t)newino && staged == (ino_t)oldino) {
        rc = sysRenameat2(tmpfd, r->f[3], d1, r->f[1], RENAME_EXCHANGE);
    } else if (visible != (ino_t)oldino && visible != 0) {
        /* neither version where it should be: the tree was copied to
         * another file system (new inode numbers) or edited by hand */
        fprintf(stderr, "dredis: recovery: cannot tell whether %s/%s was replaced (inode numbers changed); "
                "left as it is\n", r->f[0], r->f[1]);
    }
    if (tmpfd >= 0) sysClose(tmpfd);
    return rc;
}

/* Put dir2/name2 back at dir1/name (what is at dir1/name goes to the trash
 * when replace, else the step waits for dir1/name to be free). */
static int moveBack(int d1, const char *name, int d2, const char *name2, int replace) {
    int there = existsAt(d2, name2);
    if (there <= 0) return there;
    int taken = existsAt(d1, name);
    if (taken < 0) return -1;
    if (taken && !replace) return 0;
    if (taken && trashAt(d1, name) < 0) return -1;
    return sysRenameat(d2, name2, d1, name);
}

/* A record's names are single entries of their directories, as the store
 * writes them: anything else (a damaged or forged log: "../x", "a/b")
 * could make the undo reach past its directory, even out of ROOT_DIR. */
static int isEntryName(const char *s) {
    return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int undoRecord(const jrec *r) {
    if (!isEntryName(r->f[1]) || (r->type != J_NEW && !isEntryName(r->f[3]))) {
        fprintf(stderr, "dredis: recovery: skipped a journal record naming '%s' and '%s' (not file names)\n",
                r->f[1], r->f[3]);
        return 0;
    }
    int d1 = openStepDir(r->f[0]);
    int d2 = (r->type == J_NEW || r->type == J_EXCHANGED) ? -1 : openStepDir(r->f[2]);
    const char *name = r->f[1], *name2 = r->f[3];
    int rc = 0;
    if (d1 == -2 || d2 == -2) {
        rc = -1;
    } else if (d1 >= 0) {
        switch (r->type) {
        case J_NEW: {
            int e = existsAt(d1, name);
            rc = e < 0 ? -1 : e ? trashAt(d1, name) : 0;
            break;
        }
        case J_REPLACED:
        case J_REMOVED: /* the earlier version waits at dir2/name2: put it back */
            if (d2 >= 0) rc = moveBack(d1, name, d2, name2, 1);
            break;
        case J_MOVED:
            if (d2 >= 0) rc = moveBack(d1, name, d2, name2, 0);
            break;
        case J_EXCHANGED: rc = undoExchange(d1, r); break;
        }
    }
    int saved = errno;
    if (rc == 0) undone_ops++;
    if (d1 >= 0) sysClose(d1);
    if (d2 >= 0) sysClose(d2);
    errno = saved;
    return rc < 0 ? -1 : 0;
}

static void freeRecs(jrec *recs, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 4; j++) sdsfree(recs[i].f[j]);
    zfree(recs);
}

static void pushRec(jrec **recs, int *n, const jrec *r) {
    *recs = zrealloc(*recs, sizeof(jrec) * (size_t)(*n + 1));
    (*recs)[(*n)++] = *r;
}

/* J_WRITE: make dir/name hold the content again (staged under .tmp, then
 * renamed over it). A directory that is gone is left gone: nothing after
 * the write removed it (such a removal syncs the tree and writes a
 * J_SYNCED first), so it was never made durable, and neither were the
 * keys in it. */
static int redoWrite(const jrec *r) {
    if (!isEntryName(r->f[1])) {
        fprintf(stderr, "dredis: recovery: skipped a journal write naming '%s' (not a file name)\n", r->f[1]);
        return 0;
    }
    int d = openStepDir(r->f[0]);
    if (d == -2 && (errno == EXDEV || errno == ELOOP || errno == ENOTDIR)) {
        /* a damaged or forged record: a path leaving ROOT_DIR or through a link */
        fprintf(stderr, "dredis: recovery: skipped a journal write into '%s' (not a directory of the tree)\n",
                r->f[0]);
        return 0;
    }
    if (d == -2) return -1;
    if (d == -1) {
        fprintf(stderr, "dredis: recovery: %s is gone; its write of %s is not made again\n", r->f[0], r->f[1]);
        return 0;
    }
    if (!strcmp(r->f[3], "-")) { /* a removal: the file goes to the trash if it is there */
        int e = existsAt(d, r->f[1]);
        int rc = e < 0 ? -1 : e ? trashAt(d, r->f[1]) : 0;
        int saved = errno;
        sysClose(d);
        errno = saved;
        if (rc == 0) redone_writes++;
        return rc;
    }
    int tmpfd = openStepDir(".tmp");
    int rc = -1;
    if (tmpfd >= 0) {
        char t[64];
        snprintf(t, sizeof(t), "redo%d-%llu", (int)getpid(), ++trash_seq);
        int fd = sysOpenat(tmpfd, t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) {
            size_t len = sdslen(r->f[2]), off = 0;
            while (off < len) {
                ssize_t n = sysWrite(fd, r->f[2] + off, len - off);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                off += (size_t)n;
            }
            int saved = errno;
            sysClose(fd);
            errno = saved;
            if (off == len && sysRenameat(tmpfd, t, d, r->f[1]) == 0) rc = 0;
            else sysUnlinkat(tmpfd, t, 0);
        }
        sysClose(tmpfd);
    } else if (tmpfd == -1) {
        errno = ENOENT;
    }
    int saved = errno;
    sysClose(d);
    errno = saved;
    if (rc == 0) redone_writes++;
    return rc;
}

/* Parse the log from offset from; undo the records after the last BEGIN
 * that has no COMMIT (all records, when all_from: a rollback of the part of
 * a transaction written since from). */
static int undoOpen(off_t from, int all_from) {
    struct stat sb;
    if (sysFstat(jfd, &sb) < 0) return -1;
    if (sb.st_size <= from) return 0;
    size_t len = (size_t)(sb.st_size - from);
    unsigned char *buf = zmalloc(len);
    size_t got = 0;
    while (got < len) {
        ssize_t n = sysPread(jfd, buf + got, len - got, from + (off_t)got);
        if (n < 0) {
            zfree(buf);
            return -1;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    jrec *open = NULL;
    int nopen = 0, inopen = all_from;
    /* J_WRITEs (start-up only): of the transaction being read, and of the
     * committed ones since the last J_SYNCED */
    jrec *cur = NULL, *redo = NULL;
    int ncur = 0, nredo = 0;
    size_t pos = 0;
    while (pos < got) {
        size_t start = pos;
        jrec r;
        memset(&r, 0, sizeof(r));
        r.type = (char)buf[pos++];
        int ok = 1;
        for (int j = 0; j < 4 && ok; j++) {
            if (pos + 2 > got) { ok = 0; break; }
            size_t l = (size_t)buf[pos] | ((size_t)buf[pos + 1] << 8);
            pos += 2;
            if (pos + l > got) { ok = 0; break; }
            r.f[j] = sdsnewlen(buf + pos, l);
            pos += l;
        }
        if (ok && pos + 4 <= got) {
            uint32_t want = (uint32_t)buf[pos] | (uint32_t)buf[pos + 1] << 8 | (uint32_t)buf[pos + 2] << 16 |
                            (uint32_t)buf[pos + 3] << 24;
            ok = crc32(buf + start, pos - start) == want;
            pos += 4;
        } else {
            ok = 0;
        }
        if (!ok) {
            for (int j = 0; j < 4; j++) sdsfree(r.f[j]);
            break; /* torn tail */
        }
        if (r.type == J_BEGIN || r.type == J_COMMIT) {
            freeRecs(open, nopen);
            open = NULL;
            nopen = 0;
            inopen = r.type == J_BEGIN;
            for (int j = 0; j < 4; j++) sdsfree(r.f[j]);
            for (int i = 0; i < ncur; i++) {
                if (r.type == J_COMMIT) pushRec(&redo, &nredo, &cur[i]);
                else for (int j = 0; j < 4; j++) sdsfree(cur[i].f[j]);
            }
            zfree(cur);
            cur = NULL;
            ncur = 0;
        } else if (r.type == J_SYNCED || r.type == J_WRITE) {
            if (r.type == J_SYNCED) {
                freeRecs(redo, nredo);
                freeRecs(cur, ncur);
                redo = cur = NULL;
                nredo = ncur = 0;
            }
            if (r.type == J_WRITE && !all_from) pushRec(&cur, &ncur, &r);
            else for (int j = 0; j < 4; j++) sdsfree(r.f[j]);
        } else {
            open = zrealloc(open, sizeof(jrec) * (size_t)(nopen + 1));
            open[nopen++] = r;
        }
    }
    zfree(buf);
    int rc = 0;
    if (inopen) {
        for (int i = nopen - 1; i >= 0 && rc == 0; i--) rc = undoRecord(&open[i]);
        if (!all_from && rc == 0) recovered_txns++;
    }
    /* then the committed writes the journal carries, oldest first */
    for (int i = 0; i < nredo && rc == 0; i++) rc = redoWrite(&redo[i]);
    int saved = errno;
    freeRecs(open, nopen);
    freeRecs(cur, ncur);
    freeRecs(redo, nredo);
    errno = saved;
    return rc;
}

int journalUndoFrom(off_t from) { return undoOpen(from, 1); }

void journalReset(void) { truncateLog(); }

int journalOpen(int rootfd, int trashfd, char **err) {
    static char errbuf[256];
    jrootfd = rootfd;
    jtrashfd = trashfd;
    jfd = sysOpenat(rootfd, JOURNAL_NAME, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (jfd < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot open the journal %s: %s", JOURNAL_NAME, strerror(errno));
        *err = errbuf;
        return -1;
    }
    /* one process at a time: the lock says the tree is in use (dredis-check
     * refuses such a tree); it goes with the process */
    if (sysFlock(jfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            snprintf(errbuf, sizeof(errbuf), "ROOT_DIR is in use: another process (a dredis-server or dredis-check) "
                     "holds its journal locked");
        else snprintf(errbuf, sizeof(errbuf), "cannot lock the journal: %s", strerror(errno));
        sysClose(jfd);
        jfd = -1;
        *err = errbuf;
        return -1;
    }
    /* a failure leaves the journal as it is: the next start runs it again */
    if (undoOpen(0, 0) < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot recover from the journal (undo an unfinished transaction, make "
                 "the writes it carries again): %s", strerror(errno));
        *err = errbuf;
        return -1;
    }
    /* the tree is consistent now: make that durable, then start a new log */
    if (sysSyncfs(rootfd) < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot sync the recovered tree: %s", strerror(errno));
        *err = errbuf;
        return -1;
    }
    if (truncateLog() < 0 || sysFsync(jfd) < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot reset the journal: %s", strerror(errno));
        *err = errbuf;
        return -1;
    }
    return 0;
}

void journalClose(void) {
    if (jfd >= 0) sysClose(jfd);
    jfd = -1;
}
