/* snapshot.h - point-in-time snapshots of the tree as hard links (BGSAVE,
 * SAVE). Part of the storage layer: called by the store (store*.c), which owns the
 * tree's descriptors, and never includes server.h.
 *
 * A snapshot is taken at one instant (snapshotBegin) and linked into place
 * key by key afterwards, by a thread of its own, while the server goes on
 * writing: before any change to a key, the store calls
 * snapshotKeyWillChange(), which links the key as it still is (or marks it
 * as absent from the snapshot) unless the thread has done so already. So
 * every key in the snapshot is as it was at the instant, and writers wait
 * only for the keys they touch. docs/storage-format.md has the layout. */
#ifndef DREDIS_SNAPSHOT_H
#define DREDIS_SNAPSHOT_H

#define SNAPSHOT_IDLE 0
#define SNAPSHOT_RUNNING 1
/* keep for a private snapshot (an AOF rewrite's): never pruned, never
 * counted among the keep newest, not snapshotLastDir(); found by
 * snapshotFinishedDir() and removed by snapshotRemove() */
#define SNAPSHOT_PRIVATE (-1)

/* Start a snapshot of the databases whose directories are dbfds[0..dbnum)
 * (of dbsizes[] keys each, -1 when not known) into a new directory under dir
 * (created when missing; it must be on the file system of rootfd), keeping
 * the newest keep snapshots there (0: all). background: linked by a thread
 * (snapshotPoll tells when it is done); else linked before returning.
 * STORE_OK, or STORE_ERR with *err set (a static string). */
int snapshotBegin(int rootfd, const int *dbfds, const long long *dbsizes, int dbnum, const char *dir, int keep,
                  int background, const char **err);
int snapshotRunning(void);
/* Where discarded snapshots go: the server's .trash (one rename), and the
 * function that wakes the thread that empties it. */
void snapshotSetTrash(int trashfd, void (*wake)(void));
/* The key dbfd/fname (database db) is about to change. */
void snapshotKeyWillChange(int db, int dbfd, const char *fname);
/* Database db is about to change as a whole (FLUSHDB, SWAPDB): it is linked
 * whole first. */
void snapshotDbWillChange(int db, int dbfd);
/* A finished background snapshot: 1 and *ok (1 when it is complete) once,
 * after it ended; 0 while it runs or when none ran. */
int snapshotPoll(int *ok);
int snapshotWait(int *ok); /* the same, once the running one finished */
/* The directory of the snapshot snapshotPoll (or a SAVE) just reported
 * complete, private or not. */
const char *snapshotFinishedDir(void);
/* Remove a private snapshot once its caller is done with it (its links
 * would keep deleted data). */
void snapshotRemove(const char *path);
/* What the last snapshot did: its directory (empty before any), keys
 * linked so far and the number of keys in the tree when it started. */
const char *snapshotLastDir(void);
/* At start-up: the newest complete snapshot already in dir, if any. */
void snapshotFindLast(const char *dir);
void snapshotProgress(long long *linked, long long *total);
/* Redis's rdb-key-save-delay: microseconds the linking thread waits before
 * each key (tests that need a snapshot to last). */
void snapshotSetKeyDelay(int us);
/* Stop a running snapshot (shutdown): what is linked stays, incomplete. */
void snapshotAbort(void);

#endif
