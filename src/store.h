/* store.h - the storage layer: the only code that touches the tree under
 * ROOT_DIR. Callers speak of databases, keys, files of a key ("value",
 * "len", ...) and members of a key's namespaces ("fields", "values", ...);
 * they never see a path. Every mutation funnels through a few primitives in
 * store_ops.c so that syncing and journaling can be added underneath (the
 * store's parts and its private header store_int.h: docs/architecture.md).
 *
 * Return convention: STORE_OK, STORE_NOTFOUND, or STORE_ERR with errno set. */
#ifndef DREDIS_STORE_H
#define DREDIS_STORE_H
#include <stddef.h>
#include "sds.h"

#define STORE_OK 0
#define STORE_NOTFOUND 1
#define STORE_ERR (-1)

/* Types, as written in each key's "type" file */
#define OBJ_NONE (-1)
#define OBJ_STRING 0
#define OBJ_LIST 1
#define OBJ_SET 2
#define OBJ_ZSET 3
#define OBJ_HASH 4
#define OBJ_STREAM 5

/* An open key: a directory under ROOT_DIR/<db>/ (or, while being built, under
 * ROOT_DIR/.tmp/). Fields are read-only outside the store (store*.c). */
typedef struct skey {
    int db;
    sds name;          /* the raw key */
    sds fname;         /* its encoded directory name */
    int hashed;        /* fname is shortened: the key lives in the "name" file */
    int dirfd;         /* the key's directory; follows it across renames */
    int type;          /* OBJ_* */
    long long expire;  /* unix ms, or -1 */
    int staged;        /* built under .tmp, not yet visible */
    sds stagename;
    unsigned long long gen; /* its key's generation as it last saw it (store_meta.c) */
    unsigned magic;         /* SKEY_OPEN until closed */
    int sub;                /* a sub-key (a directory inside a key): changes
                             * through it are the key's, its files are not */
    /* namespace directories opened so far (fields, values, ...) */
    int nsfd[4];
    char nsname[4][16];
    /* keys opened by storeOpenKey() are listed, so that when descriptors
     * run short theirs can be closed ("parked") and opened again on next
     * use, checked to be the same directory (inode parkino) */
    int parked;
    unsigned long long parkino;
    struct skey *regprev, *regnext;
} skey;

typedef struct storeIter storeIter;

int storeInit(const char *root, int dbnum, char **err);
/* The tree opened for reading only (offline export): nothing is created,
 * recovered or started in it; storeShutdown() closes it. */
int storeInitReadOnly(const char *root, int dbnum, char **err);
/* Called after any change to a visible key (its name, not its files), and
 * before a database is flushed (before and after SWAPDB exchanges two). */
typedef void storeKeyHook(int db, const char *name, size_t len);
typedef void storeDbHook(int db);
void storeSetHooks(storeKeyHook *onkey, storeDbHook *onflush);
void storeShutdown(void);
const char *storeRoot(void);

/* keys */
int storeOpenKey(int db, const char *name, size_t len, skey **out);
/* The descriptors the store needs besides its caches: its fixed directories
 * and the working set of one command (server.c reserves them). */
int storeReservedFds(int dbnum);
/* Close the key directories the metadata cache keeps open (descriptors ran
 * short); returns how many were closed. */
int storeReleaseCachedFds(void);
/* At most n (and at most 128) descriptors for the cache to keep open: what
 * the open files limit leaves past maxclients and the reserve. Returns the
 * number set. */
int storeSetCachedFdsMax(int n);
void storeCloseKey(skey *k);
int storeNewKey(int db, const char *name, size_t len, int type, skey **out);
int storePublishKey(skey *k, int *replaced);
int storeDeleteKey(skey *k);          /* closes nothing: k stays open, now orphaned */
int storeRenameKey(skey *k, int dstdb, const char *dst, size_t dstlen);
int storeSetExpire(skey *k, long long when_ms); /* -1 removes the expiry */
/* Last access times (OBJECT IDLETIME), in unix ms, kept in memory only (in
 * the metadata cache): nothing is written. A key the cache does not know
 * answers the later of its directory's last change and the store's start
 * (store_meta.c). STORE_ERR (errno) when that cannot be read. */
void storeKeyAccessed(skey *k, long long when_ms);
int storeKeyLastAccess(skey *k, long long *when_ms);
/* The inode number of the key's directory (DEBUG OBJECT's "Value at") */
int storeKeyInode(skey *k, unsigned long long *ino);

/* whole databases */
int storeFlushDb(int db);
int storeSwapDb(int db1, int db2);
/* Copy k to dstdb/dst as a new key sharing k's files (hard links: files are
 * never edited in place, so sharing is safe). replace: overwrite an existing
 * destination. STORE_NOTFOUND... never; errno EEXIST when it exists and
 * !replace. */
int storeCopyKey(skey *k, int dstdb, const char *dst, size_t dstlen, int replace);
int storeDbSize(int db, long long *out);
/* Iterate keys of a db starting at cursor (0 = start). Calls fn for each key
 * until about count keys were seen; *next is 0 when the iteration is done. */
typedef int storeKeyVisitor(void *ud, const char *name, size_t len);
int storeScanKeys(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
                  unsigned long long *next);
/* The next batch of up to STORE_KEY_BATCH key names of db from cursor, as
 * storeScanKeys() lists them, into b (emptied first; the caller frees the
 * names with storeKeyBatchClear()). For whole-database walks (DEBUG DIGEST,
 * the RDB writer) that open each key after listing it. */
#define STORE_KEY_BATCH 256
typedef struct storeKeyBatch {
    sds names[STORE_KEY_BATCH];
    int n;
} storeKeyBatch;
int storeScanKeyBatch(int db, unsigned long long cursor, storeKeyBatch *b, unsigned long long *next);
void storeKeyBatchClear(storeKeyBatch *b);
int storeRandomKey(int db, sds *out);
/* 1 when the key's directory is there with no time to live, known without
 * opening it (two stat calls, or the metadata cache; its type file is not
 * read, so a damaged key counts); 0 when it has a TTL, is gone, or is not
 * known: open the key to tell. */
int storeKeyHasNoTTL(int db, const char *name, size_t len);

/* files of a key */
int storeReadFile(skey *k, const char *file, sds *out);
int storeReadFileRange(skey *k, const char *file, long long off, long long len, sds *out);
int storeFileSize(skey *k, const char *file, long long *size);
int storeWriteFile(skey *k, const char *file, const char *data, size_t len);
int storeRemoveFile(skey *k, const char *file);
/* Write data at offset off of a copy of the file (off -1 appends; a gap is
 * zero-filled) and put the copy in place; *newsize gets its size. */
int storePatchFile(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize);
int storeReadNumber(skey *k, const char *file, long long *out, long long dflt);
int storeWriteNumber(skey *k, const char *file, long long v);

/* members of a namespace directory of a key ("fields", "values", ...) */
int storeReadMember(skey *k, const char *ns, const char *m, size_t mlen, sds *out);
int storeMemberExists(skey *k, const char *ns, const char *m, size_t mlen);
int storeWriteMember(skey *k, const char *ns, const char *m, size_t mlen, const char *data, size_t dlen,
                     int *created);
int storeRemoveMember(skey *k, const char *ns, const char *m, size_t mlen);
/* *out = the number of members of namespace ns (0 when it does not exist),
 * from a directory listing alone: no member file is opened */
int storeCountMembers(skey *k, const char *ns, long long *out);
/* the size of a member's file (a hash field's value length) */
int storeMemberSize(skey *k, const char *ns, const char *m, size_t mlen, long long *size);
/* Sub-keys: a member of namespace ns that is a directory (a stream's
 * consumer groups and consumers), used through a handle of its own with the
 * file and member functions above. Changes through a sub-key are reported as
 * changes to its key. storeCloseKey() closes a sub-key; the other key
 * functions are not for sub-keys, except storeDeleteKey() on one not yet
 * published (discards it). */
/* Open member m of ns as a sub-key: STORE_NOTFOUND when there is none. */
int storeOpenSub(skey *k, const char *ns, const char *m, size_t mlen, skey **out);
/* A new, empty sub-key built under .tmp, put in place whole as member m of
 * ns by storePublishSub() (STORE_ERR, errno EEXIST, when m exists). */
int storeNewSub(skey *k, skey **out);
int storePublishSub(skey *k, const char *ns, const char *m, size_t mlen, skey *sub);
/* Remove the directory member m of ns with all it holds (to .trash: O(1)). */
int storeRemoveSub(skey *k, const char *ns, const char *m, size_t mlen);
/* cursor iteration over members; cursor 0 = start */
int storeIterOpen(skey *k, const char *ns, unsigned long long cursor, storeIter **out);
/* STORE_OK with *m (decoded name) set, STORE_NOTFOUND at the end */
int storeIterNext(storeIter *it, sds *m);
int storeIterCursor(storeIter *it, unsigned long long *cursor); /* resume point, 0 at end */
void storeIterClose(storeIter *it);
/* Random members of a namespace, drawn with replacement. A small namespace
 * (its names fit in a few directory reads) is read whole and drawn from
 * uniformly; a larger one is sampled by seeking to random directory offsets,
 * which costs O(1) reads per draw but favours members that follow a wide gap
 * in the offset space (approximately uniform for hash-ordered directories). */
typedef struct storeSampler storeSampler;
int storeSamplerOpen(skey *k, const char *ns, storeSampler **out); /* STORE_NOTFOUND: no member */
int storeSamplerNext(storeSampler *s, sds *m); /* STORE_NOTFOUND: no member */
void storeSamplerClose(storeSampler *s);

/* expiry index: calls fn(db, name) for entries due at or before now_ms,
 * visiting at most budget entries per call; returns the number visited */
typedef void storeExpireVisitor(int db, const char *name, size_t len, long long when);
long storeExpireScan(int db, long long now_ms, long budget, storeExpireVisitor *fn);
long long storeExpiresCount(int db); /* -1 (errno set) when the index cannot be read */

/* Transactions: every change between the outermost begin and end is
 * applied whole or not at all across a crash (journal.c). A failed level
 * (storeTxnFail) is rolled back at its end. */
void storeTxnBegin(void);
int storeTxnEnd(void); /* 1 when this level was rolled back (storeTxnFail) */
void storeTxnFail(void);

/* The space reserve (store_reserve.c): whether the command about to run
 * may use it, i.e. frees space (not Redis's "denyoom"); returns the
 * previous setting. */
int storeReserveAllowed(int allowed);
long long storeReserveBytes(void); /* held now; at most its tail while given back */
int storeReserveHeld(void);        /* 1 while the whole reserve is in place */

/* Durability */
#define STORE_FSYNC_NO 0
#define STORE_FSYNC_EVERYSEC 1
#define STORE_FSYNC_ALWAYS 2
void storeSetFsyncPolicy(int policy);
int storeDirty(void);
int storeSync(void);
int storeSyncAll(void); /* the tree itself, whatever the policy would do */
/* A transaction's COMMIT record may be held back until its replies are
 * about to leave (one journal write a command instead of two): fn is called
 * whenever one is held, and storeWriteHeldCommit() writes it. */
void storeSetCommitHeldHook(void (*fn)(void));
void storeWriteHeldCommit(void);
long long storeLastSync(void); /* unix seconds of the last successful sync, 0 if none */

/* Snapshots (snapshot.h): a point-in-time copy of the tree as hard links
 * in a new directory under dir, keeping the newest keep (0: all; or
 * SNAPSHOT_PRIVATE, removed with storeRemoveSnapshot once read). */
int storeSnapshot(const char *dir, int keep, int background, const char **err);
void storeRemoveSnapshot(const char *path);

/* statistics */
long long storeTrashPending(void);
/* A replica's full sync: a scratch path under .tmp (thrown away at start-up)
 * for a tree or a file made by another process, every database replaced
 * by those of such a tree in one transaction, and the scratch removed. */
sds storeScratchPath(char tag);
int storeReplaceAllDbs(const char *path);
/* DEBUG RELOAD / LOADAOF: forget what the store keeps in memory of the data
 * and open every database again from the tree, as a restart would (the
 * tree is not changed). No key may be open. STORE_ERR with errno set: the
 * databases stay open as they were. */
int storeReload(void);
int storeRemoveScratch(const char *path);
/* dredis's own small files at ROOT_DIR's top level (.replication) */
int storeReadRootFile(const char *name, sds *out);
int storeWriteRootFile(const char *name, const char *data, size_t len);
int storeRemoveRootFile(const char *name);
/* Function libraries (FUNCTION LOAD), ROOT_DIR/.functions/<encoded name>
 * holding the library's code: written whole, removed, and read all (fn
 * gets the file name and the code; a non-zero return stops with
 * STORE_ERR). Changed inside a command's transaction like keys. */
int storeWriteLibrary(const char *name, size_t len, const char *code, size_t codelen);
int storeRemoveLibrary(const char *name, size_t len);
typedef int storeLibraryVisitor(void *ud, const char *fname, const char *code, size_t len);
int storeReadLibraries(storeLibraryVisitor *fn, void *ud);
/* The bytes allocated on disk to k and all it holds; in each directory the
 * first samples entries are measured and the others given their average
 * (0: every file measured). store_usage.c */
int storeKeyDiskUsage(skey *k, long long samples, long long *bytes);
long long storeChanges(void); /* changes to keys so far (a key per command counts once) */
long long storeMutations(void); /* every change to a key or database so far (replication counts them) */

/* Key generations (store_meta.c): every change to a key gives it a new one.
 * A cache of what the tree says about a key records storeKeyGen(k) when it
 * fills an entry from the tree, and serves the entry only while
 * storeKeyGen(k) is still that (a mismatch is a miss: drop and refill).
 * After a write through k that kept its entry in step, the entry may take
 * storeKeyGenInStep(k): 0 when k's key also changed some other way since k
 * was opened (the entry must then be dropped). Both are 0 for a staged key,
 * which is never cached. */
unsigned long long storeKeyGen(const skey *k);
unsigned long long storeKeyGenInStep(const skey *k);
/* The generation of a key by name, for sweeping a cache; and the floor,
 * which moves when many keys changed at once (a flush, a swap, a rollback):
 * a cache that sees it move may sweep out its entries of stale generations
 * to give their memory back (the check on every hit keeps it right anyway). */
unsigned long long storeKeyGenOf(int db, const char *name, size_t len);
unsigned long long storeKeyGenFloor(void);
/* Key handles open now (every command closes all it opens: asserted). */
long long storeOpenKeyHandles(void);

#endif
