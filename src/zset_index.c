/* zset_index.c - the pure parts of sorted sets: score encoding, parsing and
 * formatting, range specifications, the ordering index (a skip list with
 * spans), a member->score hash map and the bounded LRU of indexes. No I/O
 * and no server state, so all of it is unit tested (tests/unit). */
#include "zset_index.h"
#include "zmalloc.h"
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <ctype.h>

/* ------------------------------------------------------------------------ */
/* Scores                                                                    */
/* ------------------------------------------------------------------------ */

double zsetNormalizeScore(double score) { return score == 0 ? 0.0 : score; }

#define SIGN_BIT (1ULL << 63)

void zsetScoreToHex(double score, char out[ZSET_SCORE_HEX_LEN + 1]) {
    static const char digits[] = "0123456789abcdef";
    uint64_t u;
    memcpy(&u, &score, sizeof(u));
    /* negative numbers: flip every bit (larger magnitude sorts first);
     * positive: set the sign bit (so they sort after every negative) */
    u = (u & SIGN_BIT) ? ~u : (u | SIGN_BIT);
    for (int i = ZSET_SCORE_HEX_LEN - 1; i >= 0; i--) {
        out[i] = digits[u & 15];
        u >>= 4;
    }
    out[ZSET_SCORE_HEX_LEN] = '\0';
}

int zsetHexToScore(const char *s, size_t len, double *out) {
    if (len != ZSET_SCORE_HEX_LEN) return 0;
    uint64_t u = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else return 0;
        u = (u << 4) | (uint64_t)v;
    }
    u = (u & SIGN_BIT) ? (u & ~SIGN_BIT) : ~u;
    double d;
    memcpy(&d, &u, sizeof(d));
    if (isnan(d)) return 0;
    *out = d;
    return 1;
}

int zsetFormatScore(char *buf, size_t len, double value) {
    int n;
    if (isnan(value)) n = snprintf(buf, len, "nan");
    else if (isinf(value)) n = snprintf(buf, len, value > 0 ? "inf" : "-inf");
    else if (value == 0) n = snprintf(buf, len, signbit(value) ? "-0" : "0");
    else if (value > -4503599627370495.0 && value < 4503599627370496.0 && value == (double)(long long)value)
        n = snprintf(buf, len, "%lld", (long long)value);
    else n = snprintf(buf, len, "%.17g", value);
    if (n < 0) n = 0;
    if ((size_t)n >= len) n = len ? (int)len - 1 : 0;
    return n;
}

int zsetParseScore(const char *s, size_t len, double *out) {
    if (len == 0 || isspace((unsigned char)s[0])) return 0;
    char *eptr;
    errno = 0;
    double v = strtod(s, &eptr);
    if ((size_t)(eptr - s) != len) return 0;
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) return 0;
    if (isnan(v)) return 0;
    *out = v;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Ranges                                                                    */
/* ------------------------------------------------------------------------ */

static int parseScoreBound(const char *s, double *v, int *ex) {
    char *eptr;
    *ex = 0;
    if (s[0] == '(') {
        *ex = 1;
        s++;
    }
    *v = strtod(s, &eptr);
    return eptr[0] == '\0' && !isnan(*v);
}

int zsetParseScoreRange(const char *min, const char *max, zscoreRange *r) {
    return parseScoreBound(min, &r->min, &r->minex) && parseScoreBound(max, &r->max, &r->maxex);
}

int zsetScoreGteMin(double v, const zscoreRange *r) { return r->minex ? v > r->min : v >= r->min; }
int zsetScoreLteMax(double v, const zscoreRange *r) { return r->maxex ? v < r->max : v <= r->max; }

int zsetScoreRangeIsEmpty(const zscoreRange *r) {
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

int zsetCompareMembers(const char *a, size_t alen, const char *b, size_t blen) {
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static int parseLexBound(const char *s, size_t len, zlexBound *b) {
    b->s = NULL;
    b->len = 0;
    if (len == 0) return 0;
    switch (s[0]) {
    case '+':
        if (s[1] != '\0') return 0;
        b->kind = ZLEX_PLUS_INF;
        b->ex = 1;
        return 1;
    case '-':
        if (s[1] != '\0') return 0;
        b->kind = ZLEX_MINUS_INF;
        b->ex = 1;
        return 1;
    case '(':
    case '[':
        b->kind = ZLEX_STRING;
        b->ex = s[0] == '(';
        b->s = s + 1;
        b->len = len - 1;
        return 1;
    default:
        return 0;
    }
}

int zsetParseLexRange(const char *min, size_t minlen, const char *max, size_t maxlen, zlexRange *r) {
    return parseLexBound(min, minlen, &r->min) && parseLexBound(max, maxlen, &r->max);
}

/* Compare a member with a bound. */
static int cmpLexValue(const char *v, size_t len, const zlexBound *b) {
    if (b->kind == ZLEX_MINUS_INF) return 1;
    if (b->kind == ZLEX_PLUS_INF) return -1;
    return zsetCompareMembers(v, len, b->s, b->len);
}

static int cmpLexBounds(const zlexBound *a, const zlexBound *b) {
    if (a->kind != ZLEX_STRING && a->kind == b->kind) return 0;
    if (a->kind == ZLEX_MINUS_INF || b->kind == ZLEX_PLUS_INF) return -1;
    if (a->kind == ZLEX_PLUS_INF || b->kind == ZLEX_MINUS_INF) return 1;
    return zsetCompareMembers(a->s, a->len, b->s, b->len);
}

int zsetLexGteMin(const char *v, size_t len, const zlexRange *r) {
    int c = cmpLexValue(v, len, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

int zsetLexLteMax(const char *v, size_t len, const zlexRange *r) {
    int c = cmpLexValue(v, len, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

int zsetLexRangeIsEmpty(const zlexRange *r) {
    int c = cmpLexBounds(&r->min, &r->max);
    return c > 0 || (c == 0 && (r->min.ex || r->max.ex));
}

/* ------------------------------------------------------------------------ */
/* zidx: skip list ordered by (score, member), with spans for ranks          */
/* ------------------------------------------------------------------------ */

static uint64_t zidxRandState = 0x9E3779B97F4A7C15ULL;

/* 1 + the number of successes of p = 1/4, capped at ZIDX_MAXLEVEL. */
static int zidxRandomLevel(void) {
    int level = 1;
    for (;;) {
        uint64_t x = zidxRandState;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        zidxRandState = x;
        /* two random bits at a time: 00 = go up a level (p = 1/4) */
        for (int i = 0; i < 32; i++) {
            if ((x & 3) != 0 || level >= ZIDX_MAXLEVEL) return level;
            level++;
            x >>= 2;
        }
    }
}

static zidxNode *zidxNewNode(int level, double score, const char *ele, size_t len) {
    zidxNode *n = zmalloc(sizeof(*n) + (size_t)level * sizeof(struct zidxLevel));
    n->score = score;
    n->ele = ele ? sdsnewlen(ele, len) : NULL;
    n->backward = NULL;
    for (int i = 0; i < level; i++) {
        n->level[i].forward = NULL;
        n->level[i].span = 0;
    }
    return n;
}

zidx *zidxCreate(void) {
    zidx *zi = zmalloc(sizeof(*zi));
    zi->level = 1;
    zi->length = 0;
    zi->header = zidxNewNode(ZIDX_MAXLEVEL, 0, NULL, 0);
    zi->tail = NULL;
    return zi;
}

static void zidxFreeNode(zidxNode *n) {
    sdsfree(n->ele);
    zfree(n);
}

void zidxFree(zidx *zi) {
    if (!zi) return;
    zidxNode *n = zi->header->level[0].forward;
    while (n) {
        zidxNode *next = n->level[0].forward;
        zidxFreeNode(n);
        n = next;
    }
    zfree(zi->header);
    zfree(zi);
}

/* Does node n sort before (score, ele)? */
static int nodeBefore(const zidxNode *n, double score, const char *ele, size_t len) {
    return n->score < score ||
           (n->score == score && zsetCompareMembers(n->ele, sdslen(n->ele), ele, len) < 0);
}

zidxNode *zidxInsert(zidx *zi, double score, const char *ele, size_t len) {
    zidxNode *update[ZIDX_MAXLEVEL], *x = zi->header;
    unsigned long rank[ZIDX_MAXLEVEL];
    for (int i = zi->level - 1; i >= 0; i--) {
        rank[i] = i == zi->level - 1 ? 0 : rank[i + 1];
        while (x->level[i].forward && nodeBefore(x->level[i].forward, score, ele, len)) {
            rank[i] += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    int level = zidxRandomLevel();
    if (level > zi->level) {
        for (int i = zi->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zi->header;
            update[i]->level[i].span = zi->length;
        }
        zi->level = level;
    }
    x = zidxNewNode(level, score, ele, len);
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < zi->level; i++) update[i]->level[i].span++;
    x->backward = update[0] == zi->header ? NULL : update[0];
    if (x->level[0].forward) x->level[0].forward->backward = x;
    else zi->tail = x;
    zi->length++;
    return x;
}

static void zidxUnlink(zidx *zi, zidxNode *x, zidxNode **update) {
    for (int i = 0; i < zi->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward) x->level[0].forward->backward = x->backward;
    else zi->tail = x->backward;
    while (zi->level > 1 && zi->header->level[zi->level - 1].forward == NULL) zi->level--;
    zi->length--;
}

int zidxDelete(zidx *zi, double score, const char *ele, size_t len) {
    zidxNode *update[ZIDX_MAXLEVEL], *x = zi->header;
    for (int i = zi->level - 1; i >= 0; i--) {
        while (x->level[i].forward && nodeBefore(x->level[i].forward, score, ele, len)) x = x->level[i].forward;
        update[i] = x;
    }
    x = x->level[0].forward;
    if (x && x->score == score && zsetCompareMembers(x->ele, sdslen(x->ele), ele, len) == 0) {
        zidxUnlink(zi, x, update);
        zidxFreeNode(x);
        return 1;
    }
    return 0;
}

unsigned long zidxRank(zidx *zi, double score, const char *ele, size_t len) {
    zidxNode *x = zi->header;
    unsigned long rank = 0;
    for (int i = zi->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               (x->level[i].forward->score < score ||
                (x->level[i].forward->score == score &&
                 zsetCompareMembers(x->level[i].forward->ele, sdslen(x->level[i].forward->ele), ele, len) <= 0))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x->ele && x->score == score && zsetCompareMembers(x->ele, sdslen(x->ele), ele, len) == 0) return rank;
    }
    return 0;
}

zidxNode *zidxByRank(zidx *zi, unsigned long rank) {
    if (rank == 0 || rank > zi->length) return NULL;
    zidxNode *x = zi->header;
    unsigned long traversed = 0;
    for (int i = zi->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) return x;
    }
    return NULL;
}

/* Walk down from the header while pred(next) holds; returns the last node
 * for which it held (the header when none) and the count of such nodes. */
#define ZIDX_DESCEND(zi, pred, out_node, out_rank)                                       \
    do {                                                                                 \
        zidxNode *x_ = (zi)->header;                                                     \
        unsigned long r_ = 0;                                                            \
        for (int i_ = (zi)->level - 1; i_ >= 0; i_--) {                                  \
            while (x_->level[i_].forward && (pred(x_->level[i_].forward))) {             \
                r_ += x_->level[i_].span;                                                \
                x_ = x_->level[i_].forward;                                              \
            }                                                                            \
        }                                                                                \
        (out_node) = x_;                                                                 \
        (out_rank) = r_;                                                                 \
    } while (0)

zidxNode *zidxFirstInRange(zidx *zi, const zscoreRange *r) {
    if (zsetScoreRangeIsEmpty(r) || zi->length == 0) return NULL;
    zidxNode *x;
    unsigned long rank;
#define BELOW_MIN(n) (!zsetScoreGteMin((n)->score, r))
    ZIDX_DESCEND(zi, BELOW_MIN, x, rank);
#undef BELOW_MIN
    (void)rank;
    x = x->level[0].forward;
    if (!x || !zsetScoreLteMax(x->score, r)) return NULL;
    return x;
}

zidxNode *zidxLastInRange(zidx *zi, const zscoreRange *r) {
    if (zsetScoreRangeIsEmpty(r) || zi->length == 0) return NULL;
    zidxNode *x;
    unsigned long rank;
#define WITHIN_MAX(n) (zsetScoreLteMax((n)->score, r))
    ZIDX_DESCEND(zi, WITHIN_MAX, x, rank);
#undef WITHIN_MAX
    (void)rank;
    if (x == zi->header || !zsetScoreGteMin(x->score, r)) return NULL;
    return x;
}

unsigned long zidxCountInRange(zidx *zi, const zscoreRange *r) {
    if (zsetScoreRangeIsEmpty(r) || zi->length == 0) return 0;
    zidxNode *x;
    unsigned long below, upto;
#define BELOW_MIN(n) (!zsetScoreGteMin((n)->score, r))
#define WITHIN_MAX(n) (zsetScoreLteMax((n)->score, r))
    ZIDX_DESCEND(zi, BELOW_MIN, x, below);
    ZIDX_DESCEND(zi, WITHIN_MAX, x, upto);
#undef BELOW_MIN
#undef WITHIN_MAX
    (void)x;
    return upto > below ? upto - below : 0;
}

zidxNode *zidxFirstInLexRange(zidx *zi, const zlexRange *r) {
    if (zsetLexRangeIsEmpty(r) || zi->length == 0) return NULL;
    zidxNode *x;
    unsigned long rank;
#define BELOW_MIN(n) (!zsetLexGteMin((n)->ele, sdslen((n)->ele), r))
    ZIDX_DESCEND(zi, BELOW_MIN, x, rank);
#undef BELOW_MIN
    (void)rank;
    x = x->level[0].forward;
    if (!x || !zsetLexLteMax(x->ele, sdslen(x->ele), r)) return NULL;
    return x;
}

zidxNode *zidxLastInLexRange(zidx *zi, const zlexRange *r) {
    if (zsetLexRangeIsEmpty(r) || zi->length == 0) return NULL;
    zidxNode *x;
    unsigned long rank;
#define WITHIN_MAX(n) (zsetLexLteMax((n)->ele, sdslen((n)->ele), r))
    ZIDX_DESCEND(zi, WITHIN_MAX, x, rank);
#undef WITHIN_MAX
    (void)rank;
    if (x == zi->header || !zsetLexGteMin(x->ele, sdslen(x->ele), r)) return NULL;
    return x;
}

unsigned long zidxCountInLexRange(zidx *zi, const zlexRange *r) {
    if (zsetLexRangeIsEmpty(r) || zi->length == 0) return 0;
    zidxNode *x;
    unsigned long below, upto;
#define BELOW_MIN(n) (!zsetLexGteMin((n)->ele, sdslen((n)->ele), r))
#define WITHIN_MAX(n) (zsetLexLteMax((n)->ele, sdslen((n)->ele), r))
    ZIDX_DESCEND(zi, BELOW_MIN, x, below);
    ZIDX_DESCEND(zi, WITHIN_MAX, x, upto);
#undef BELOW_MIN
#undef WITHIN_MAX
    (void)x;
    return upto > below ? upto - below : 0;
}

/* ------------------------------------------------------------------------ */
/* zmap: member -> score                                                     */
/* ------------------------------------------------------------------------ */

static uint64_t hashBytes(const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

zmap *zmapCreate(void) {
    zmap *zm = zcalloc(sizeof(*zm));
    zm->nslots = 16;
    zm->slots = zcalloc(sizeof(uint32_t) * zm->nslots);
    return zm;
}

void zmapFree(zmap *zm) {
    if (!zm) return;
    for (size_t i = 0; i < zm->count; i++) sdsfree(zm->entries[i].member);
    zfree(zm->entries);
    zfree(zm->slots);
    zfree(zm);
}

static size_t zmapSlot(const zmap *zm, const char *m, size_t len, int *found) {
    size_t mask = zm->nslots - 1;
    size_t i = (size_t)hashBytes(m, len) & mask;
    for (;;) {
        uint32_t e = zm->slots[i];
        if (e == 0) {
            *found = 0;
            return i;
        }
        const zmapEntry *en = &zm->entries[e - 1];
        if (sdslen(en->member) == len && (len == 0 || !memcmp(en->member, m, len))) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

zmapEntry *zmapFind(zmap *zm, const char *m, size_t len) {
    int found;
    size_t i = zmapSlot(zm, m, len, &found);
    return found ? &zm->entries[zm->slots[i] - 1] : NULL;
}

static void zmapGrow(zmap *zm) {
    size_t n = zm->nslots * 2;
    zfree(zm->slots);
    zm->slots = zcalloc(sizeof(uint32_t) * n);
    zm->nslots = n;
    for (size_t e = 0; e < zm->count; e++) {
        int found;
        size_t i = zmapSlot(zm, zm->entries[e].member, sdslen(zm->entries[e].member), &found);
        zm->slots[i] = (uint32_t)(e + 1);
    }
}

zmapEntry *zmapAdd(zmap *zm, const char *m, size_t len, double score, int *added) {
    int found;
    size_t i = zmapSlot(zm, m, len, &found);
    if (found) {
        if (added) *added = 0;
        return &zm->entries[zm->slots[i] - 1];
    }
    if (zm->count == zm->cap) {
        zm->cap = zm->cap ? zm->cap * 2 : 16;
        zm->entries = zrealloc(zm->entries, sizeof(zmapEntry) * zm->cap);
    }
    zmapEntry *en = &zm->entries[zm->count];
    en->member = sdsnewlen(m, len);
    en->score = score;
    zm->slots[i] = (uint32_t)(zm->count + 1);
    zm->count++;
    if (zm->count * 2 > zm->nslots) zmapGrow(zm);
    if (added) *added = 1;
    return &zm->entries[zm->count - 1];
}

static int cmpEntryByScore(const void *a, const void *b) {
    const zmapEntry *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    return zsetCompareMembers(x->member, sdslen(x->member), y->member, sdslen(y->member));
}

void zmapSortByScore(zmap *zm) {
    if (zm->count > 1) qsort(zm->entries, zm->count, sizeof(zmapEntry), cmpEntryByScore);
    memset(zm->slots, 0, sizeof(uint32_t) * zm->nslots);
}

/* ------------------------------------------------------------------------ */
/* zcache: LRU of indexes bounded by their total member count                */
/* ------------------------------------------------------------------------ */

typedef struct zcacheEntry {
    int db;
    sds name;
    zidx *idx;
    unsigned long long gen;          /* the key's generation idx describes */
    unsigned long accounted;         /* members counted in zc->total */
    struct zcacheEntry *hnext;       /* hash chain */
    struct zcacheEntry *prev, *next; /* LRU list, head = most recent */
} zcacheEntry;

struct zcache {
    unsigned long long budget, total, evictions;
    zcacheEntry **table;
    size_t tsize;
    unsigned long count;
    zcacheEntry *head, *tail;
};

zcache *zcacheCreate(unsigned long long budget) {
    zcache *zc = zcalloc(sizeof(*zc));
    zc->budget = budget;
    zc->tsize = 64;
    zc->table = zcalloc(sizeof(zcacheEntry *) * zc->tsize);
    return zc;
}

static size_t zcacheBucket(const zcache *zc, int db, const char *name, size_t len) {
    return (size_t)((hashBytes(name, len) * 31 + (uint64_t)(unsigned)db) & (zc->tsize - 1));
}

static zcacheEntry **zcacheFindRef(zcache *zc, int db, const char *name, size_t len) {
    zcacheEntry **ref = &zc->table[zcacheBucket(zc, db, name, len)];
    while (*ref) {
        zcacheEntry *e = *ref;
        if (e->db == db && sdslen(e->name) == len && (len == 0 || !memcmp(e->name, name, len))) return ref;
        ref = &e->hnext;
    }
    return ref;
}

static void lruUnlink(zcache *zc, zcacheEntry *e) {
    if (e->prev) e->prev->next = e->next;
    else zc->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else zc->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lruPushHead(zcache *zc, zcacheEntry *e) {
    e->prev = NULL;
    e->next = zc->head;
    if (zc->head) zc->head->prev = e;
    zc->head = e;
    if (!zc->tail) zc->tail = e;
}

/* Remove the entry *ref points to and free it with its index. */
static void zcacheRemoveRef(zcache *zc, zcacheEntry **ref) {
    zcacheEntry *e = *ref;
    *ref = e->hnext;
    lruUnlink(zc, e);
    zc->total -= e->accounted;
    zc->count--;
    zidxFree(e->idx);
    sdsfree(e->name);
    zfree(e);
}

static void zcacheRemove(zcache *zc, zcacheEntry *e) {
    zcacheRemoveRef(zc, zcacheFindRef(zc, e->db, e->name, sdslen(e->name)));
}

static void zcacheRehash(zcache *zc) {
    size_t n = zc->tsize * 2;
    zcacheEntry **t = zcalloc(sizeof(zcacheEntry *) * n);
    for (size_t i = 0; i < zc->tsize; i++) {
        zcacheEntry *e = zc->table[i];
        while (e) {
            zcacheEntry *next = e->hnext;
            size_t b = (size_t)((hashBytes(e->name, sdslen(e->name)) * 31 + (uint64_t)(unsigned)e->db) & (n - 1));
            e->hnext = t[b];
            t[b] = e;
            e = next;
        }
    }
    zfree(zc->table);
    zc->table = t;
    zc->tsize = n;
}

/* Evict least recently used entries other than keep until within budget. */
static void zcacheEvict(zcache *zc, zcacheEntry *keep) {
    zcacheEntry *e = zc->tail;
    while (zc->total > zc->budget && e) {
        zcacheEntry *prev = e->prev;
        if (e != keep) {
            zcacheRemove(zc, e);
            zc->evictions++;
        }
        e = prev;
    }
}

void zcacheFree(zcache *zc) {
    if (!zc) return;
    zcacheDropDb(zc, -1);
    zfree(zc->table);
    zfree(zc);
}

zidx *zcacheGet(zcache *zc, int db, const char *name, size_t len, unsigned long long gen) {
    zcacheEntry **ref = zcacheFindRef(zc, db, name, len);
    zcacheEntry *e = *ref;
    if (!e) return NULL;
    if (e->gen != gen) { /* the key changed since the index was built */
        zcacheRemoveRef(zc, ref);
        return NULL;
    }
    if (zc->head != e) {
        lruUnlink(zc, e);
        lruPushHead(zc, e);
    }
    return e->idx;
}

int zcachePut(zcache *zc, int db, const char *name, size_t len, zidx *idx, unsigned long long gen) {
    zcacheEntry **ref = zcacheFindRef(zc, db, name, len);
    if (*ref) zcacheRemoveRef(zc, ref);
    if (idx->length > zc->budget || !gen) return 0;
    zcacheEntry *e = zcalloc(sizeof(*e));
    e->db = db;
    e->gen = gen;
    e->name = sdsnewlen(name, len);
    e->idx = idx;
    e->accounted = idx->length;
    ref = zcacheFindRef(zc, db, name, len);
    *ref = e;
    lruPushHead(zc, e);
    zc->total += e->accounted;
    zc->count++;
    zcacheEvict(zc, e);
    if (zc->count > zc->tsize) zcacheRehash(zc);
    return 1;
}

void zcacheSync(zcache *zc, int db, const char *name, size_t len, const zidx *idx, unsigned long long gen) {
    zcacheEntry **ref = zcacheFindRef(zc, db, name, len);
    zcacheEntry *e = *ref;
    if (!e) return;
    if (!gen || e->idx != idx) { /* the writer cannot vouch for this index */
        zcacheRemoveRef(zc, ref);
        return;
    }
    e->gen = gen;
    zc->total -= e->accounted;
    e->accounted = e->idx->length;
    zc->total += e->accounted;
    if (e->accounted > zc->budget) {
        zcacheRemoveRef(zc, ref);
        zc->evictions++;
        return;
    }
    zcacheEvict(zc, e);
}

void zcacheDrop(zcache *zc, int db, const char *name, size_t len) {
    zcacheEntry **ref = zcacheFindRef(zc, db, name, len);
    if (*ref) zcacheRemoveRef(zc, ref);
}

void zcacheDropDb(zcache *zc, int db) {
    zcacheEntry *e = zc->head;
    while (e) {
        zcacheEntry *next = e->next;
        if (db < 0 || e->db == db) zcacheRemove(zc, e);
        e = next;
    }
}

void zcacheDropStale(zcache *zc, zcacheStaleFn *stale) {
    zcacheEntry *e = zc->head;
    while (e) {
        zcacheEntry *next = e->next;
        if (stale(e->db, e->name, sdslen(e->name), e->gen)) zcacheRemove(zc, e);
        e = next;
    }
}

unsigned long long zcacheMembers(const zcache *zc) { return zc->total; }
unsigned long zcacheKeys(const zcache *zc) { return zc->count; }
unsigned long long zcacheEvictions(const zcache *zc) { return zc->evictions; }
