/* journal.h - the undo journal that makes each command atomic across a
 * crash (part of the storage module; only the store, store*.c, calls it). */
#ifndef DREDIS_JOURNAL_H
#define DREDIS_JOURNAL_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Record types. Paths are relative to ROOT_DIR; ".tmp" is the staging area.
 * Each record describes a change about to be made to the visible tree and
 * how to undo it:
 *   J_NEW      dir/name is about to be created: undo by removing it
 *   J_REPLACED dir/name's current version moves to .tmp/aside: undo by
 *              putting .tmp/aside back (written by older versions; still
 *              undone at recovery)
 *   J_EXCHANGED dir/name and .tmp/name2 are about to swap names
 *              (RENAME_EXCHANGE): the new version, staged at .tmp/name2,
 *              goes in and the old one comes out to .tmp/name2. dir2 holds
 *              "<old inode>:<new inode>" in decimal, which tells recovery
 *              whether the swap happened: undo by swapping back only when
 *              dir/name is the new inode and .tmp/name2 the old one
 *   J_REMOVED  dir/name moves to .tmp/aside (a deletion): undo likewise
 *   J_MOVED    dir/name moves to dir2/name2: undo by moving it back
 * and two records that undo nothing (DREDIS_FSYNC=always, store_txn.c):
 *   J_WRITE    dir/name's new content is dir2 (the bytes, up to
 *              JOURNAL_FIELD_MAX): written with the J_NEW or J_EXCHANGED of
 *              the file, so that the journal alone makes the write durable;
 *              or, when name2 is "-", the file is removed (with its J_REMOVED).
 *              At start-up, after the undo, the J_WRITEs of committed
 *              transactions after the last J_SYNCED are made again, in
 *              order (a power cut may have lost the files' data)
 *   J_SYNCED   the tree was synced: every J_WRITE before it is in the tree */
#define J_BEGIN 'B'
#define J_COMMIT 'C'
#define J_NEW 'N'
#define J_REPLACED 'R'
#define J_REMOVED 'D'
#define J_MOVED 'M'
#define J_EXCHANGED 'X'
#define J_WRITE 'W'
#define J_SYNCED 'S'
#define JOURNAL_FIELD_MAX 65535 /* bytes in one field of a record */

/* Open ROOT_DIR/.journal, undoing the last transaction if it did not commit.
 * The journal stays locked (flock, exclusive) until journalClose() or the
 * end of the process: a second server, or dredis-check, on the same tree
 * is refused. Returns 0, or -1 with a reason in *err. */
int journalOpen(int rootfd, int trashfd, char **err);
void journalClose(void);
/* Append a record; -1 (errno set) when it could not be written, in which
 * case the change must not be made. A BEGIN is held back and written with
 * the next record (a transaction that changes nothing leaves no trace). */
int journalAppend(char type, const char *dir, const char *name, const char *dir2, const char *name2);
/* The same for a J_WRITE: dir/name's new content, data (len bytes, at most
 * JOURNAL_FIELD_MAX). */
int journalAppendWrite(const char *dir, const char *name, const char *data, size_t len);
/* A J_WRITE saying that the file dir/name is removed. */
int journalAppendRemoval(const char *dir, const char *name);
/* Commit the transaction that has just ended: with the next record written
 * (in the same write()) or at journalCommit(), whichever comes first. Used
 * with DREDIS_FSYNC=always, where nothing is acknowledged before the next
 * sync, which journalCommit() precedes. */
void journalCommitLater(void);
int journalCommitPending(void);
/* Write the COMMIT now (if the log cannot take it, empty the log: an empty
 * log commits too). */
void journalCommit(void);
/* Have J_WRITEs been written since the tree was last synced? Then the log
 * is not cut (journalMaybeReset waits) until journalTreeSynced. */
int journalWritesUnsynced(void);
/* The tree was just synced: the J_WRITEs so far are in it. The log is cut
 * when idle (no transaction open), else a J_SYNCED is appended. -1 (errno
 * set) when neither could be done. */
int journalTreeSynced(int idle);
/* Start a new log when the current one has grown (between transactions). */
void journalMaybeReset(void);
void journalReset(void);
/* Undo, newest first, every change recorded since offset from (a command
 * that failed half way, inside a transaction that goes on). */
int journalUndoFrom(off_t from); /* -1 (errno set) when a step failed: run it again */
int journalFd(void);
int journalSync(void); /* fsync of the log: -1 (errno set) on failure */
/* The length of the log: where the next record goes. */
off_t journalOffset(void);
/* The CRC-32 that ends each record (dredis-check reads the log too). */
uint32_t journalCrc32(const unsigned char *p, size_t len);
/* Statistics for INFO. */
long long journalRecoveredTransactions(void);
long long journalUndoneOperations(void);
long long journalRedoneWrites(void);

#endif
