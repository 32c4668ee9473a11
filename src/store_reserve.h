/* store_reserve.h - the space reserve: ROOT_DIR/.reserve, a file holding a
 * few blocks so that commands that free space (DEL, HDEL, LPOP ...) can run
 * on a full disk (part of the storage module; only the store, store*.c,
 * calls it). */
#ifndef DREDIS_STORE_RESERVE_H
#define DREDIS_STORE_RESERVE_H

#define RESERVE_FILE ".reserve"
#define RESERVE_FILE_MAX (2LL << 20) /* 2 MiB ... */
#define RESERVE_FILE_SHARE 32        /* ... or 1/32 of a smaller file system */
#define RESERVE_TAIL_MAX (64LL << 10) /* kept for deletes' entries: a quarter, at most this */
#define RESERVE_TAIL_CHUNK 4096LL       /* the tail is given back this much at a time */

/* Create the reserve at start-up when it is missing (a full disk leaves
 * it missing: reserveEnsure() tries again later). */
void reserveInit(int rootfd);
/* Give the reserve's blocks back to the file system (after ENOSPC or
 * EDQUOT), all but its tail; 1 when it was held until now, so a retry may
 * succeed. errno is kept. */
int reserveRelease(void);
/* As reserveRelease() while the reserve is held; after that, for a step
 * that adds no data (a directory entry, a journal record), one chunk of
 * the tail; 1 when something was given back. errno is kept. */
int reserveReleaseForEntry(void);
/* 1 when the reserve is in place, making it again first if it was given
 * back and there is room for it now; 0 (errno ENOSPC) when there is not. */
int reserveEnsure(void);
int reserveHeld(void);
long long reserveSize(void);  /* the bytes it holds (at most the tail when given back) */
long long reserveReleases(void); /* how often it was given back */
void reserveClose(void);

#endif
