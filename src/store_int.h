/* store_int.h - the store's private header: what the parts of the storage
 * layer (src/store.c and src/store_*.c) share with each other. Nothing
 * outside those files includes it: the rest of dredis sees only store.h.
 *
 * The parts (docs/architecture.md tells how they fit):
 *   store.c            start-up and shutdown, the public entry points through
 *                      the sticky-failure wrappers
 *   store_meta.c       the metadata cache of keys, key-change notification
 *   store_io.c         small I/O helpers, staging names, directory readers
 *   store_txn.c        transactions: visibility, journal records, deferred
 *                      actions, COMMIT, rollback, sync
 *   store_pool.c       the background thread, the .tmp inode pools and
 *                      recycling queues, .trash removal, the everysec sync
 *   store_ops.c        the mutation primitives (op*) every change goes through
 *   store_keys.c       keys: open, create, publish, delete, rename, expiry,
 *                      the descriptors of open keys, the files of a key
 *   store_members.c    members of a namespace, sub-keys, iterators, samplers
 *   store_db.c         databases: flush, swap, size, scan, random key, copy,
 *                      scratch space, the files of ROOT_DIR's top level
 *   store_expire.c     the expiry index ROOT_DIR/<db>/.expires
 *   store_functions.c  function libraries under ROOT_DIR/.functions
 * (store_reserve.c and store_usage.c predate the split and keep their own
 * headers.)
 *
 * Naming: a function of one part that another part calls is either an op
 * (op* primitives, *Op bodies of the public entry points) or starts with
 * "store"; everything else stays static in its file. */
#ifndef DREDIS_STORE_INT_H
#define DREDIS_STORE_INT_H

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
#define OPEN_FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOATIME)
/* A directory opened to list its entries. O_NOATIME (here and above): a
 * read must not write, and under relatime the first read after each change
 * updates the inode's access time (a metadata write per GET after a SET);
 * storeOpenat() drops it where the kernel refuses it. */
#define READ_DIR_FLAGS (OPEN_DIR_FLAGS | O_NOATIME)

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

/* The state of the open store (one per process), defined in store.c. */
struct storeState {
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
    int uncovered;           /* always: a change since the last syncfs that no J_WRITE carries */
    int journal_only;        /* always: J_WRITEs acknowledged with only the journal synced */
    volatile int dirty;      /* changes not yet synced */
    int reserve_closed;      /* the command running may not use the space reserve */
};
extern struct storeState store;

/* DREDIS_FSYNC=always (store_txn.c): changes the journal does not carry */
void storeUncoveredChange(void);
void storeUntrackedChange(int fd);
int storeJournalRecordWrite(char type, const char *dir, const char *name, const char *dir2, const char *name2,
                            const char *data, size_t len);
int storeJournalNoteRemoval(int fd1, const char *name1, int fd2, const char *name2);

#define DEFER_RECYCLE 'r' /* deferred actions (store_txn.c) */
#define DEFER_TRASH 't'

/* A key's entry in the metadata cache (store_meta.c): its generation, and
 * unless type is OBJ_NONE what the tree says of it. */
typedef struct metaEntry {
    int type;
    long long expire;
    long long atime;          /* last access by a command, unix ms; 0: unknown */
    int dirfd;                /* the key's directory, or -1 */
    int nsfd[4];              /* with dirfd: its namespaces open so far (skey's) */
    char nsname[4][16];
    sds value;                /* the "value" file, when known and small */
    unsigned long long gen;   /* the key's generation (store_meta.c) */
    unsigned long long lastuse;
} metaEntry;

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

/* SCAN's read-ahead of inodes (store_prefetch.c). */
void storePrefetchEntries(int dbfd, const dirReader *r);
void storePrefetchDrop(void);
void storePrefetchStop(void);

/* Key-change bookkeeping (store_meta.c). */
extern storeDbHook *storeFlushHook;
extern long long storeChangeCount;   /* keys changed, each once a command */
extern long long storeMutationCount; /* every change, however many to one key */
extern int storeLastChangedDb;       /* -1: the next change counts anew */
void storeMetaOpen(void);
void storeMetaClose(void);
void storeMetaReopened(void);


/* store_meta.c */
void storeMetaRemember(skey *k);
int storeMetaLookup(skey *k);
int storeMetaKeepDir(skey *k);
int storeMetaDropFds(void);
metaEntry *storeMetaOf(const skey *k);
int storeIsValueFile(const char *file);
void storeMetaSetValue(metaEntry *e, const char *data, size_t len);
void storeMetaFileChanged(const skey *k, const char *file, const char *data, size_t len);
void storeKeyChanged(int db, const char *name, size_t len);
void storeKeyTouched(skey *k);
void storeKeyCaughtUp(skey *k);
void storeKeyWillChange(int db, const char *fname);
void storeSkeyWillChange(const skey *k);
int storeTouchedIfOk(skey *k, int r);

/* store_io.c */
int storeStatAt(int dirfd, const char *name, struct stat *sb);
int storeReadFileAt(int dirfd, const char *name, sds *out);
sds storeTmpName(char prefix);
int storeDirReaderOpen(dirReader *r, int dirfd, const char *name, unsigned long long cursor);
struct linux_dirent64 *storeDirReaderNext(dirReader *r, int include_dot);
void storeDirReaderClose(dirReader *r);
int storeDirReaderEnd(dirReader *r);

/* store_txn.c */
void storePathsForget(void);
void storePathsMoved(void);
int storeRelPath(int fd, sds *out);
void storePathIs(int fd, const char *rel, int visible);
void storePathOfChild(int dirfd, int fd, const char *name);
int storeOpenStagedDir(const char *name);
int storeJournalRecord(char type, const char *dir, const char *name, const char *dir2, const char *name2);
int storeJournalNote(char type, int fd1, const char *name1, int fd2, const char *name2);
int storeJournaling(int fd);
void storeDeferAction(char action, const char *name, long long size);
void storeCommitPending(void);
int storeSyncTree(void);

/* store_pool.c */
sds storePoolTake(struct pool *p);
void storeRecycleLater(const char *name, long long size);
int storeYieldReserve(void);
int storeYieldReserveForEntry(void);
int storeRoomForNewData(void);
int storeRenameOrYield(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags);
void storeTrashWake(void);
void *storeTrashThreadMain(void *arg);
long long storeMonotonicMs(void);

/* store_ops.c */
int storeOpenStagingFile(sds *tmpname, int rdwr, ino_t *ino, long long *stale);
int storeMakeStagingDir(sds *tmpname);
int opStageFile(const char *data, size_t len, sds *tmpname, ino_t *ino);
int opInstallFile(sds tmpname, ino_t stagedino, int dirfd, const char *name, int noreplace, int *created);
int opWriteFile(int dirfd, const char *name, const char *data, size_t len, int *created);
int opUnlink(int dirfd, const char *name);
int opMkdir(int dirfd, const char *name);
int opRename(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags);
int opReplaceDir(int dirfd, const char *name, const char *staged, sds *oldname);
int opTrash(int dirfd, const char *name);

/* store_db.c */
int replaceAllDbsOp(const char *path);
int readRootFileOp(const char *name, sds *out);
int writeRootFileOp(const char *name, const char *data, size_t len);
int removeRootFileOp(const char *name);
int flushDbOp(int db);
int swapDbOp(int db1, int db2);
int copyKeyOp(skey *k, int dstdb, const char *dst, size_t dstlen, int replace);
sds storeKeyNameOfEntry(int db, const char *fname);
int dbSizeOp(int db, long long *out);
void storeScanAheadDrop(void);
int scanKeysOp(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
                  unsigned long long *next);
int randomKeyOp(int db, sds *out);

/* store_keys.c */
int storeTypeFromFile(const sds s);
skey *storeNewSkey(int db, const char *name, size_t len);
void storeSkeyOpened(skey *k);
int storeOpenEasing(int dirfd, const char *name, int flags, const skey *inuse);
int storeOpenat(int dirfd, const char *name, int flags);
void storeKeyInUse(skey *k);
int storeKeyDir(skey *k);
int openKeyOp(int db, const char *name, size_t len, skey **out);
int newKeyOp(int db, const char *name, size_t len, int type, skey **out);
int publishKeyOp(skey *k, int *replaced);
int deleteKeyOp(skey *k);
int renameKeyOp(skey *k, int dstdb, const char *dst, size_t dstlen);
int setExpireOp(skey *k, long long when);
int readFileOp(skey *k, const char *file, sds *out);
int fileSizeOp(skey *k, const char *file, long long *size);
int readFileRangeOp(skey *k, const char *file, long long off, long long len, sds *out);
int writeFileOp(skey *k, const char *file, const char *data, size_t len);
int removeFileOp(skey *k, const char *file);
int patchFileOp(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize);
int readNumberOp(skey *k, const char *file, long long *out, long long dflt);
int writeNumberOp(skey *k, const char *file, long long v);

/* store_coalesce.c */
sds storeCoalescedValue(const skey *k, const char *ns, const char *name, size_t nlen);
void storeCoalesceMark(const skey *k, const char *ns, const char *name, size_t nlen);
int storeCoalesceTake(const skey *k, const char *ns, const char *name, size_t nlen, const char *data, size_t len);
int storeCoalesceSettle(void);
int storeCoalesceSettleForWrite(void);
void storeCoalesceSettleOrExit(void);
void storeCoalesceLevelBegin(int level);
int storeCoalesceCommandEnd(int level, int rolled_back);
int storeNamespaceDir(skey *k, const char *ns);

/* store_expire.c */
void storeAddExpireEntry(int db, long long when, const sds fname);
void storeRemoveExpireEntry(int db, long long when, const sds fname);
long long storeExpireOfDirAt(int dirfd, const char *name);

/* store_functions.c */
int writeLibraryOp(const char *name, size_t len, const char *code, size_t codelen);
int removeLibraryOp(const char *name, size_t len);
int readLibrariesOp(storeLibraryVisitor *fn, void *ud);

/* store_members.c */
int readMemberOp(skey *k, const char *ns, const char *m, size_t mlen, sds *out);
int memberExistsOp(skey *k, const char *ns, const char *m, size_t mlen);
int memberSizeOp(skey *k, const char *ns, const char *m, size_t mlen, long long *size);
int writeMemberOp(skey *k, const char *ns, const char *m, size_t mlen, const char *data, size_t dlen,
                     int *created);
int removeMemberOp(skey *k, const char *ns, const char *m, size_t mlen);
int countMembersOp(skey *k, const char *ns, long long *out);
int openSubOp(skey *k, const char *ns, const char *m, size_t mlen, skey **out);
int newSubOp(skey *k, skey **out);
int publishSubOp(skey *k, const char *ns, const char *m, size_t mlen, skey *sub);
int removeSubOp(skey *k, const char *ns, const char *m, size_t mlen);
int iterOpenOp(skey *k, const char *ns, unsigned long long cursor, storeIter **out);
int iterNextOp(storeIter *it, sds *m);
int iterCursorOp(storeIter *it, unsigned long long *cursor);
int samplerOpenOp(skey *k, const char *ns, storeSampler **out);
int samplerNextOp(storeSampler *s, sds *m);

#endif
