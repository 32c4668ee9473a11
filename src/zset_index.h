/* zset_index.h - the pure parts of sorted sets (no I/O, no server state):
 *
 *  - scores: Redis's parsing and formatting of doubles, and the 16-hex-digit
 *    order-preserving encoding of a score used in the names of the files
 *    under a sorted set's scores/ directory;
 *  - score and lex range specifications (ZRANGEBYSCORE / ZRANGEBYLEX
 *    arguments) and the tests against them;
 *  - zidx: the ordering index, a skip list ordered by (score, member bytes)
 *    with spans, so that rank queries are O(log N);
 *  - zmap: a hash map member -> score used to compute unions and
 *    intersections;
 *  - zcache: a bounded LRU of zidx per (db, key), the budget counted in
 *    members.
 *
 * docs/storage-format.md ("Sorted sets") describes how t_zset.c uses them. */
#ifndef DREDIS_ZSET_INDEX_H
#define DREDIS_ZSET_INDEX_H
#include <stddef.h>
#include <stdint.h>
#include "sds.h"

/* ---- scores ---- */

#define ZSET_SCORE_HEX_LEN 16
/* Longest text zsetFormatScore produces, with its NUL ("-1.2345678901234567e-308") */
#define ZSET_SCORE_MAX_CHARS 32

/* -0 becomes 0: scores are kept without the sign of zero, as Redis keeps
 * them in its compact (listpack) encoding. */
double zsetNormalizeScore(double score);
/* Write the 16 lower-case hex digits (and a NUL) of score's order-preserving
 * transform: for any a < b, hex(a) < hex(b) byte-wise. */
void zsetScoreToHex(double score, char out[ZSET_SCORE_HEX_LEN + 1]);
/* Inverse of zsetScoreToHex; 0 when s is not 16 hex digits or encodes NaN. */
int zsetHexToScore(const char *s, size_t len, double *out);
/* Redis's d2string: "inf", "-inf", integers without a decimal point,
 * otherwise %.17g (which reads back to the same double). Returns the length. */
int zsetFormatScore(char *buf, size_t len, double score);
/* Redis's string2d (scores, increments, weights): the whole of s must be a
 * strtod number, no leading space, no NaN, no overflow/underflow to
 * +-HUGE_VAL or 0. s[len] must be a NUL (sds strings are). 1 when valid. */
int zsetParseScore(const char *s, size_t len, double *out);

/* ---- ranges ---- */

typedef struct zscoreRange {
    double min, max;
    int minex, maxex; /* exclusive bounds: "(" */
} zscoreRange;

/* ZRANGEBYSCORE-style bounds: "(" prefix for exclusive, otherwise anything
 * strtod reads completely (so "", " 1", "inf", "+inf" and "-inf" too).
 * Strings must be NUL-terminated. 0 when not valid (NaN included). */
int zsetParseScoreRange(const char *min, const char *max, zscoreRange *r);
int zsetScoreGteMin(double v, const zscoreRange *r);
int zsetScoreLteMax(double v, const zscoreRange *r);
/* No score can be in this range (min > max, or equal with an open end). */
int zsetScoreRangeIsEmpty(const zscoreRange *r);

#define ZLEX_MINUS_INF 0 /* "-" */
#define ZLEX_STRING 1   /* "[x" or "(x" */
#define ZLEX_PLUS_INF 2 /* "+" */

typedef struct zlexBound {
    int kind;
    const char *s; /* points into the argument, after its '[' or '(' */
    size_t len;
    int ex;
} zlexBound;

typedef struct zlexRange {
    zlexBound min, max;
} zlexRange;

/* ZRANGEBYLEX-style bounds: "-", "+", "[x" or "(x". The strings must be
 * NUL-terminated at their length; r points into them. 0 when not valid. */
int zsetParseLexRange(const char *min, size_t minlen, const char *max, size_t maxlen, zlexRange *r);
int zsetLexGteMin(const char *v, size_t len, const zlexRange *r);
int zsetLexLteMax(const char *v, size_t len, const zlexRange *r);
int zsetLexRangeIsEmpty(const zlexRange *r);

/* Binary-safe comparison of member names (memcmp, then length), the order
 * Redis gives members of equal score. */
int zsetCompareMembers(const char *a, size_t alen, const char *b, size_t blen);

/* ---- zidx: the ordering index (skip list) ---- */

#define ZIDX_MAXLEVEL 32

typedef struct zidxNode {
    double score;
    sds ele;
    struct zidxNode *backward;
    struct zidxLevel {
        struct zidxNode *forward;
        unsigned long span;
    } level[];
} zidxNode;

typedef struct zidx {
    zidxNode *header, *tail;
    unsigned long length;
    int level;
} zidx;

zidx *zidxCreate(void);
void zidxFree(zidx *zi);
/* Insert (score, ele); the caller makes sure that exact pair is absent. */
zidxNode *zidxInsert(zidx *zi, double score, const char *ele, size_t len);
/* Remove (score, ele): 1 when it was there. */
int zidxDelete(zidx *zi, double score, const char *ele, size_t len);
/* 1-based rank of (score, ele), 0 when absent. */
unsigned long zidxRank(zidx *zi, double score, const char *ele, size_t len);
/* The node at 1-based rank, NULL when out of range. */
zidxNode *zidxByRank(zidx *zi, unsigned long rank);
static inline zidxNode *zidxFirst(zidx *zi) { return zi->header->level[0].forward; }
static inline zidxNode *zidxNext(zidxNode *n) { return n->level[0].forward; }
static inline zidxNode *zidxPrev(zidxNode *n) { return n->backward; }

zidxNode *zidxFirstInRange(zidx *zi, const zscoreRange *r);
zidxNode *zidxLastInRange(zidx *zi, const zscoreRange *r);
/* Number of elements whose score is in r. */
unsigned long zidxCountInRange(zidx *zi, const zscoreRange *r);
zidxNode *zidxFirstInLexRange(zidx *zi, const zlexRange *r);
zidxNode *zidxLastInLexRange(zidx *zi, const zlexRange *r);
unsigned long zidxCountInLexRange(zidx *zi, const zlexRange *r);

/* ---- zmap: member -> score ---- */

typedef struct zmapEntry {
    sds member;
    double score;
} zmapEntry;

typedef struct zmap {
    zmapEntry *entries; /* in insertion order */
    size_t count, cap;
    uint32_t *slots;    /* open addressing: entry index + 1, 0 = free */
    size_t nslots;
} zmap;

zmap *zmapCreate(void);
void zmapFree(zmap *zm);
/* The entry of member, NULL when absent. Valid until the next zmapAdd. */
zmapEntry *zmapFind(zmap *zm, const char *m, size_t len);
/* Add member with score unless present; returns its entry (*added tells
 * which). Valid until the next zmapAdd. */
zmapEntry *zmapAdd(zmap *zm, const char *m, size_t len, double score, int *added);
/* Sort the entries by (score, member); the map stops answering zmapFind
 * correctly afterwards (it is then just the sorted result). */
void zmapSortByScore(zmap *zm);

/* ---- zcache: a bounded LRU of indexes ---- */

typedef struct zcache zcache;

/* budget: the most members all cached indexes may hold together; 0 caches
 * nothing. */
zcache *zcacheCreate(unsigned long long budget);
void zcacheFree(zcache *zc);
/* Each index carries the generation of its key (store.h, storeKeyGen) it
 * was built at or last kept in step with. */
/* The cached index of (db, name) at generation gen, made the most recently
 * used; NULL when there is none, or when it is of another generation (it
 * is then dropped). */
zidx *zcacheGet(zcache *zc, int db, const char *name, size_t len, unsigned long long gen);
/* Hand idx to the cache as the index of (db, name) at generation gen
 * (replacing any), evicting the least recently used others to stay within
 * the budget. Returns 1 when cached (the cache owns idx), 0 when idx alone
 * is over the budget or gen is 0 (the caller keeps it). */
int zcachePut(zcache *zc, int db, const char *name, size_t len, zidx *idx, unsigned long long gen);
/* After a write kept idx, the cached index of (db, name) it got from
 * zcacheGet(), in step: it is now of generation gen; account for its size
 * and evict others (or, if it alone is over the budget, drop it: the
 * pointer the caller had is then freed). A cached index other than idx (the
 * writer did not keep it in step; idx NULL: it had none), or gen 0 (the key
 * also changed some other way), is dropped. */
void zcacheSync(zcache *zc, int db, const char *name, size_t len, const zidx *idx, unsigned long long gen);
/* Forget the indexes for which stale(db, name, len, gen) says so. */
typedef int zcacheStaleFn(int db, const char *name, size_t len, unsigned long long gen);
void zcacheDropStale(zcache *zc, zcacheStaleFn *stale);
/* Forget (and free) the index of (db, name). */
void zcacheDrop(zcache *zc, int db, const char *name, size_t len);
/* Forget every index of db (db < 0: of every db). */
void zcacheDropDb(zcache *zc, int db);
unsigned long long zcacheMembers(const zcache *zc); /* members cached now */
unsigned long zcacheKeys(const zcache *zc);          /* indexes cached now */
unsigned long long zcacheEvictions(const zcache *zc);

#endif
