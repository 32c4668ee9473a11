/* dredis_check.h - dredis-check: what its files share (check.c, check_util.c,
 * check_key.c, check_seq.c). dredis-check verifies a dredis tree against
 * docs/storage-format.md and, with --repair, fixes what follows from the
 * data; docs/check.md is its manual. It never links the server: only the
 * pure modules (sds, keyname, sha1, zset_index, util) and journal.c. */
#ifndef DREDIS_CHECK_H
#define DREDIS_CHECK_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "sds.h"

#define CHECK_DBNUM 16
#define LOST_FOUND "lost+found"

/* Exit codes (docs/check.md). */
#define CHECK_EXIT_CLEAN 0    /* no problem, or every problem repaired */
#define CHECK_EXIT_PROBLEMS 1 /* problems remain */
#define CHECK_EXIT_FAILED 2   /* could not run: usage, lock, ROOT_DIR */

typedef struct checkState {
    const char *root;     /* ROOT_DIR as given */
    int rootfd;
    int repair;           /* --repair */
    int progress;         /* a progress line on stderr (a terminal) */
    long long problems;   /* problems found */
    long long repaired;   /* of which repaired */
    long long keys;       /* keys checked */
    long long entries;    /* directory entries looked at */
    long long now_ms;
    sds lost;             /* lost+found/<stamp>, relative to ROOT_DIR (made on first use) */
} checkState;

extern checkState chk;

/* ---- reporting (check_util.c). path is relative to ROOT_DIR; each line
 * is "<ROOT_DIR>/<path>: <what>", with bytes that are not printable shown
 * as \xNN so that one problem is one line. ---- */
void checkProblem(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for entry name of directory dir. */
void checkProblemAt(const char *dir, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void checkRepaired(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void checkProgress(int force);
void checkProgressEnd(void);
sds pathJoin(const char *dir, const char *name);

/* ---- files, read through directory descriptors, never following links ---- */
#define CHECK_OK 0
#define CHECK_MISSING 1
#define CHECK_ERR 2
/* Open dirfd/name as a directory; -1 (errno) when it is not one. */
int openDirAt(int dirfd, const char *name);
/* Read the whole regular file dirfd/name into *out (at most max bytes:
 * larger is an error, errno EFBIG). CHECK_OK, CHECK_MISSING or CHECK_ERR
 * (errno set; EUCLEAN when it is not a regular file). */
int readSmallFile(int dirfd, const char *name, size_t max, sds *out);
/* A decimal number file as dredis writes it (no sign for unsigned ones,
 * no space, no newline). CHECK_OK, CHECK_MISSING, or CHECK_ERR with a
 * problem already reported. */
int readNumberFile(int dirfd, const char *dirpath, const char *name, long long *out);
/* Check keyfd's "len" file against count (members or entries), rewritten
 * with --repair when wrong (and count > 0). */
void checkCountFile(int keyfd, const char *keypath, long long count, const char *what);
/* Is dirfd/name there (any type)? and its type (DT_*) */
int entryType(int dirfd, const char *name);
/* Write dirfd/name atomically (a new file beside it, renamed over it). */
int writeFileAt(int dirfd, const char *name, const char *data, size_t len);
/* Move dirfd/name (path: relative to ROOT_DIR) into lost+found, keeping
 * its path below it; reports the move. 0 on success. */
int moveToLostFound(int dirfd, const char *name, const char *path, const char *why);
/* Unlink dirfd/name, a derived entry found stale (what: its kind), and
 * report it repaired (or the failure). */
void removeStale(int dirfd, const char *name, const char *path, const char *what);
/* Remove dirfd/name and all below it. */
int removeTree(int dirfd, const char *name);

/* ---- directory listing, streamed ---- */
typedef struct dirIter {
    void *d; /* DIR * */
    int fd;
} dirIter;
int dirOpen(dirIter *it, int dirfd, const char *name);
/* Next entry other than "." and ".."; NULL at the end. *type is its DT_*
 * (looked up when the file system does not say). */
const char *dirNext(dirIter *it, int *type);
void dirClose(dirIter *it);

/* ---- names ---- */
/* The raw name of entry fname: decoded, or for a shortened name read from
 * namesfd/namefile (the key's "name" file, or a member's .names entry;
 * namesfd -1: none). NULL with a problem reported when fname is not the
 * encoding of a name or the stored full name does not encode to it.
 * what: "key", "field", ... */
sds resolveName(int namesfd, const char *namefile, const char *fname, const char *path, const char *what);
/* Check a namespace's .names directory: every entry names an existing
 * member (dirfd/<entry>); orphans are removed with --repair. */
void checkNamesDir(int nsfd, const char *nspath);

/* ---- keys (check_key.c, check_seq.c) ---- */
/* Check key directory dbfd/fname of database db, whose expiry index is
 * expfd (-1: none). Returns 1 when it is a key. */
int checkKey(int db, int dbfd, int expfd, const char *fname);
/* Per-type checks of an open key directory; return 0 when the key is
 * damaged beyond repair (the caller moves it to lost+found with --repair). */
int checkList(int keyfd, const char *path);
int checkStream(int keyfd, const char *path);
/* Is name one of the key-level files a list or stream owns? */
int listOwnsEntry(const char *name);
int streamOwnsEntry(const char *name);

/* Count members of a namespace directory (entries not starting with '.'). */
long long countMembers(int nsfd);

/* ---- stream IDs (check_seq.c) ---- */
/* A stream ID "<ms>-<seq>" in canonical decimal. */
typedef struct checkID {
    uint64_t ms, seq;
} checkID;
int parseID(const char *s, size_t len, checkID *id);
int cmpID(const checkID *a, const checkID *b);

#endif
