/* t_zset.c - sorted set commands.
 *
 * A sorted set is a key directory (docs/storage-format.md, "Sorted sets"):
 *   type                  "zset"
 *   len                   the number of members
 *   values/<member>       one file per member holding its score as text;
 *                         the member's score of record
 *   scores/<hex>_<member> one empty file per member; <hex> is the 16-digit
 *                         order-preserving encoding of the score, so the
 *                         listing alone gives the order (zset_index.h)
 *
 * ZADD, ZREM, ZSCORE, ZINCRBY and ZMSCORE touch only the files of the members
 * they name. Commands that need the order (ranges, ranks, counts, pops) use
 * an index, a skip list built from the listing of scores/, kept in a bounded
 * LRU cache (DREDIS_ZSET_CACHE_MEMBERS members in all). Each index carries
 * the generation of its key (storeKeyGen, store.h) and is served only while
 * the key still has it, so any change not made here (deleting, replacing,
 * renaming, flushing, a rolled back command) makes it a miss. A write keeps
 * the cached index of its key in step and then gives it the key's new
 * generation (zsetCommit). A set larger than the whole cache gets a
 * temporary index for the command that needs it.
 *
 * Write order, so that a crash leaves at worst an extra scores/ entry, which
 * the next index build detects (scores/ and values/ counts differ) and
 * repairs: add = scores/ entry, then values/ file; change = new scores/
 * entry, values/ file, then the old scores/ entry is removed; remove =
 * values/ file, then the scores/ entry; len is written last. */
#include "server.h"
#include "zset_index.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <errno.h>
#include <math.h>
#include <limits.h>

#define NS_VALUES "values"
#define NS_SCORES "scores"
/* ZSCAN answers a set up to this size whole, in order, with cursor 0, as
 * Redis does for its compact encoding (zset-max-listpack-entries) */
#define ZSCAN_SMALL_SET 128

/* ------------------------------------------------------------------------ */
/* The index cache                                                           */
/* ------------------------------------------------------------------------ */

static zcache *indexCache;
static long long indexBuilds; /* indexes built from the tree (INFO) */

sds zsetCacheInfo(sds info) {
    return sdscatprintf(info,
                        "dredis_zset_index_cache_budget:%ld\r\n"
                        "dredis_zset_index_cache_members:%llu\r\n"
                        "dredis_zset_index_cache_keys:%lu\r\n"
                        "dredis_zset_index_cache_evictions:%llu\r\n"
                        "dredis_zset_index_builds:%lld\r\n",
                        server.zset_cache_members, indexCache ? zcacheMembers(indexCache) : 0ULL,
                        indexCache ? zcacheKeys(indexCache) : 0UL, indexCache ? zcacheEvictions(indexCache) : 0ULL,
                        indexBuilds);
}

static int zsetIndexStale(int db, const char *name, size_t len, unsigned long long gen) {
    return storeKeyGenOf(db, name, len) != gen;
}

/* The cache, without the indexes of keys that changed as a whole since
 * (swept when the store's generation floor moved: a flush, a swap, a
 * rollback), so that their memory goes back at once. */
static zcache *zsetCache(void) {
    static unsigned long long sweptFloor;
    if (!indexCache) {
        indexCache = zcacheCreate(server.zset_cache_members > 0 ? (unsigned long long)server.zset_cache_members : 0);
        sweptFloor = storeKeyGenFloor();
    } else if (sweptFloor != storeKeyGenFloor()) {
        sweptFloor = storeKeyGenFloor();
        zcacheDropStale(indexCache, zsetIndexStale);
    }
    return indexCache;
}

/* DEBUG RELOAD: every index goes (rebuilt from the tree when next used). */
void zsetIndexCacheClear(void) {
    if (!indexCache) return;
    zcacheFree(indexCache);
    indexCache = NULL;
}

/* The cached index of k, to keep in step while writing to it (NULL when
 * not cached, or when k is a new key not yet published). */
static zidx *zsetCachedIndex(skey *k) {
    if (k->staged || !indexCache) return NULL;
    return zcacheGet(zsetCache(), k->db, k->name, sdslen(k->name), storeKeyGen(k));
}

/* A write through k kept idx (k's cached index when it started, or NULL) in
 * step: the index takes the key's new generation; any other index of k, or
 * one of a key that also changed some other way, goes. */
static void zsetCacheSync(skey *k, const zidx *idx) {
    if (indexCache && !k->staged)
        zcacheSync(indexCache, k->db, k->name, sdslen(k->name), idx, storeKeyGenInStep(k));
}

/* ------------------------------------------------------------------------ */
/* Members on disk                                                           */
/* ------------------------------------------------------------------------ */

/* The raw name of a member's scores/ entry: <16 hex digits>_<member>. */
static sds scoreEntryName(double score, const char *m, size_t len) {
    char hex[ZSET_SCORE_HEX_LEN + 1];
    zsetScoreToHex(score, hex);
    sds s = sdsMakeRoomFor(sdsempty(), ZSET_SCORE_HEX_LEN + 1 + len);
    s = sdscatlen(s, hex, ZSET_SCORE_HEX_LEN);
    s = sdscatlen(s, "_", 1);
    return sdscatlen(s, m, len);
}

static int parseStoredScore(sds s, double *score) {
    size_t len = sdslen(s);
    while (len && s[len - 1] == '\n') len--;
    sdssetlen(s, len);
    s[len] = '\0';
    return zsetParseScore(s, len, score);
}

/* The score of member m: STORE_OK, STORE_NOTFOUND, or STORE_ERR. */
static int zsetReadScore(skey *k, const char *m, size_t len, double *score) {
    sds s;
    int r = storeReadMember(k, NS_VALUES, m, len, &s);
    if (r != STORE_OK) return r;
    int ok = parseStoredScore(s, score);
    sdsfree(s);
    if (!ok) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

/* Add member m with score (old NULL), or move it from score *old. idx, when
 * given, is kept in step. */
static int zsetStoreMember(skey *k, zidx *idx, const char *m, size_t len, double score, const double *old) {
    score = zsetNormalizeScore(score);
    sds e = scoreEntryName(score, m, len);
    int r = storeWriteMember(k, NS_SCORES, e, sdslen(e), "", 0, NULL);
    sdsfree(e);
    if (r != STORE_OK) return STORE_ERR;
    char buf[ZSET_SCORE_MAX_CHARS];
    int n = zsetFormatScore(buf, sizeof(buf), score);
    if (storeWriteMember(k, NS_VALUES, m, len, buf, (size_t)n, NULL) != STORE_OK) return STORE_ERR;
    if (old) {
        e = scoreEntryName(*old, m, len);
        r = storeRemoveMember(k, NS_SCORES, e, sdslen(e));
        sdsfree(e);
        if (r == STORE_ERR) return STORE_ERR;
        if (idx) zidxDelete(idx, *old, m, len);
    }
    if (idx) zidxInsert(idx, score, m, len);
    return STORE_OK;
}

/* Remove member m (whose score is score). */
static int zsetRemoveMember(skey *k, zidx *idx, const char *m, size_t len, double score) {
    if (storeRemoveMember(k, NS_VALUES, m, len) == STORE_ERR) return STORE_ERR;
    sds e = scoreEntryName(score, m, len);
    int r = storeRemoveMember(k, NS_SCORES, e, sdslen(e));
    sdsfree(e);
    if (r == STORE_ERR) return STORE_ERR;
    if (idx) zidxDelete(idx, score, m, len);
    return STORE_OK;
}

/* For DUMP and RESTORE (dump.c): the score of member m (STORE_NOTFOUND when
 * it is not one), and adding member m to a new sorted set being built under
 * .tmp (the caller makes sure m is not already there). */
int zsetMemberScore(skey *k, const char *m, size_t len, double *score) { return zsetReadScore(k, m, len, score); }

int zsetAddToNewKey(skey *k, const char *m, size_t len, double score) {
    return zsetStoreMember(k, NULL, m, len, score, NULL);
}

/* Make scores/ agree with values/ after an interrupted write: drop entries
 * whose member is gone or has another score, add missing ones. */
static int zsetRepairIndex(skey *k, zidx *idx, long long nvalues) {
    long removed = 0, added = 0;
    unsigned long n = idx->length, i = 0;
    zmapEntry *items = zmalloc(sizeof(zmapEntry) * (n ? n : 1));
    for (zidxNode *x = zidxFirst(idx); x; x = zidxNext(x)) {
        items[i].member = sdsdup(x->ele);
        items[i].score = x->score;
        i++;
    }
    int rc = STORE_OK;
    for (i = 0; i < n && rc == STORE_OK; i++) {
        double s;
        sds m = items[i].member;
        int r = zsetReadScore(k, m, sdslen(m), &s);
        if (r == STORE_ERR) {
            rc = STORE_ERR;
            break;
        }
        if (r == STORE_OK && memcmp(&s, &items[i].score, sizeof(s)) == 0) continue;
        sds e = scoreEntryName(items[i].score, m, sdslen(m));
        if (storeRemoveMember(k, NS_SCORES, e, sdslen(e)) == STORE_ERR) rc = STORE_ERR;
        sdsfree(e);
        zidxDelete(idx, items[i].score, m, sdslen(m));
        removed++;
    }
    for (i = 0; i < n; i++) sdsfree(items[i].member);
    zfree(items);
    if (rc == STORE_OK && (long long)idx->length != nvalues) {
        storeIter *it;
        sds m;
        if (storeIterOpen(k, NS_VALUES, 0, &it) != STORE_OK) return STORE_ERR;
        int more;
        while (rc == STORE_OK && (more = storeIterNext(it, &m)) == STORE_OK) {
            double s;
            int r = zsetReadScore(k, m, sdslen(m), &s);
            if (r == STORE_ERR) rc = STORE_ERR;
            else if (r == STORE_OK && zidxRank(idx, s, m, sdslen(m)) == 0) {
                sds e = scoreEntryName(s, m, sdslen(m));
                if (storeWriteMember(k, NS_SCORES, e, sdslen(e), "", 0, NULL) != STORE_OK) rc = STORE_ERR;
                else zidxInsert(idx, s, m, sdslen(m));
                sdsfree(e);
                added++;
            }
            sdsfree(m);
        }
        if (rc == STORE_OK && more == STORE_ERR) rc = STORE_ERR;
        storeIterClose(it);
    }
    static logLimiter repaired; /* one line a second, however many keys */
    serverLogLimited(&repaired, LL_WARNING,
                     "sorted set index of a key in db %d repaired: %ld stale entries removed, %ld added", k->db,
                     removed, added);
    return rc;
}

/* Build the index of k from the listing of scores/ (no member file is
 * opened unless the listing and values/ disagree). */
static int zsetLoadIndex(skey *k, zidx **out) {
    *out = NULL;
    indexBuilds++;
    zidx *idx = zidxCreate();
    storeIter *it;
    sds name;
    if (storeIterOpen(k, NS_SCORES, 0, &it) != STORE_OK) {
        zidxFree(idx);
        return STORE_ERR;
    }
    int listed;
    while ((listed = storeIterNext(it, &name)) == STORE_OK) {
        double s;
        if (sdslen(name) > ZSET_SCORE_HEX_LEN && name[ZSET_SCORE_HEX_LEN] == '_' &&
            zsetHexToScore(name, ZSET_SCORE_HEX_LEN, &s))
            zidxInsert(idx, s, name + ZSET_SCORE_HEX_LEN + 1, sdslen(name) - ZSET_SCORE_HEX_LEN - 1);
        /* any other name is not ours: ignored */
        sdsfree(name);
    }
    storeIterClose(it);
    long long nvalues, len;
    int r = listed == STORE_ERR ? STORE_ERR : storeCountMembers(k, NS_VALUES, &nvalues);
    if (r == STORE_OK && nvalues != (long long)idx->length) r = zsetRepairIndex(k, idx, nvalues);
    /* len is written last: a crash can leave it behind */
    if (r == STORE_OK) r = storeReadNumber(k, "len", &len, 0);
    if (r == STORE_OK && len != (long long)idx->length) r = storeWriteNumber(k, "len", (long long)idx->length);
    if (r != STORE_OK) {
        int saved = errno;
        zidxFree(idx);
        errno = saved;
        return STORE_ERR;
    }
    *out = idx;
    return STORE_OK;
}

/* An index of a key for the length of one command: the cached one, or a
 * temporary one when the set is bigger than the whole cache. */
typedef struct zview {
    zidx *idx;
    int temp;
} zview;

static int zsetOpenView(client *c, skey *k, zview *v) {
    zcache *zc = zsetCache();
    v->temp = 0;
    unsigned long long gen = storeKeyGen(k);
    v->idx = k->staged ? NULL : zcacheGet(zc, k->db, k->name, sdslen(k->name), gen);
    if (v->idx) return C_OK;
    if (zsetLoadIndex(k, &v->idx) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    if (!zcachePut(zc, k->db, k->name, sdslen(k->name), v->idx, storeKeyGenInStep(k))) v->temp = 1;
    return C_OK;
}

static void zsetCloseView(zview *v) {
    if (v->temp) zidxFree(v->idx);
    v->idx = NULL;
    v->temp = 0;
}

/* For SORT (sort.c): the members of k in rank order (score, then member
 * bytes). *out gets *n copies; the caller frees each and the array. */
int zsetMembersInOrder(skey *k, sds **out, unsigned long *n) {
    zidx *idx = zsetCachedIndex(k);
    int temp = 0;
    *out = NULL;
    *n = 0;
    if (!idx) {
        if (zsetLoadIndex(k, &idx) != STORE_OK) return STORE_ERR;
        temp = 1;
    }
    sds *a = zmalloc(sizeof(sds) * (idx->length ? idx->length : 1));
    unsigned long i = 0;
    for (zidxNode *x = zidxFirst(idx); x; x = zidxNext(x)) a[i++] = sdsdup(x->ele);
    if (temp) zidxFree(idx);
    *out = a;
    *n = i;
    return STORE_OK;
}

/* For GEO (t_geo.c): fn for each member of k with min <= score < max, for
 * each of the n ranges in turn, in order, until fn returns nonzero. One
 * index serves every range. C_ERR after replying. */
int zsetVisitScoreRanges(client *c, skey *k, const zsetScoreSpan *spans, int n, zsetRangeVisitor *fn, void *ud) {
    zview v;
    if (zsetOpenView(c, k, &v) != C_OK) return C_ERR;
    int stop = 0;
    for (int i = 0; i < n && !stop; i++) {
        zscoreRange r = {spans[i].min, spans[i].max, 0, 1};
        for (zidxNode *x = zidxFirstInRange(v.idx, &r); x && !stop && zsetScoreLteMax(x->score, &r); x = zidxNext(x))
            stop = fn(ud, x->ele, x->score);
    }
    zsetCloseView(&v);
    return C_OK;
}

/* The index a write through this view must keep in step (none if temporary). */
static zidx *viewLive(zview *v) { return v->temp ? NULL : v->idx; }

/* ------------------------------------------------------------------------ */
/* Write helpers                                                             */
/* ------------------------------------------------------------------------ */

/* The member count changed by delta (idx: the cached index the write kept
 * in step, or NULL): update len (delete an emptied key,
 * publish a new one; *outcome tells which, see collectionCommitGeneric).
 * C_ERR after replying. */
static int zsetCommit(client *c, skey *k, const zidx *idx, long long delta, int *outcome) {
    if (collectionCommitGeneric(c, k, delta, outcome) != C_OK) return C_ERR;
    zsetCacheSync(k, idx);
    return C_OK;
}

/* A storage error in the middle of a write: reply with it (the store rolls
 * the command's changes back, and with them the key's generation moves on:
 * the cached index this write changed is not served again). */
static void zsetFail(client *c, skey *k) {
    int saved = errno;
    if (k->staged) storeDeleteKey(k);
    addReplyErrorIO(c, saved);
}

/* Store items (unique, in any order) as the sorted set dst, replacing whatever dst
 * was; an empty result deletes dst. Replies with the count. event: the
 * keyspace event of a stored result ("zunionstore", "zrangestore", ...). */
void zsetStoreResult(client *c, sds dst, zmapEntry *items, size_t n, const char *event) {
    int deleted, outcome;
    if (n == 0) {
        if (deleteKeyEvenExpired(c, dst, &deleted) != C_OK) return;
        if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dst, c->db);
        addReplyLongLong(c, 0);
        return;
    }
    skey *k;
    /* as Redis's setKey(): an expired destination goes first (its "expired"
     * event), and the result is then a new key */
    if (lookupKeyWrite(c, dst, OBJ_NONE, &k) != C_OK) return;
    storeCloseKey(k);
    if (storeNewKey(c->db, dst, sdslen(dst), OBJ_ZSET, &k) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (zsetStoreMember(k, NULL, items[i].member, sdslen(items[i].member), items[i].score, NULL) != STORE_OK) {
            zsetFail(c, k);
            storeCloseKey(k);
            return;
        }
    }
    int r = collectionCommitGeneric(c, k, (long long)n, &outcome);
    storeCloseKey(k);
    if (r != C_OK) return;
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", dst, c->db);
    notifyKeyspaceEvent(NOTIFY_ZSET, event, dst, c->db);
    addReplyLongLong(c, (long long)n);
}

/* Reply with items as ZRANGE does. */
static void zsetReplyItems(client *c, zmapEntry *items, size_t n, int withscores) {
    addReplyArrayLen(c, (long)((withscores && c->resp == 2) ? n * 2 : n));
    for (size_t i = 0; i < n; i++) {
        if (withscores && c->resp > 2) addReplyArrayLen(c, 2);
        addReplyBulk(c, items[i].member, sdslen(items[i].member));
        if (withscores) addReplyDouble(c, items[i].score);
    }
}

/* A growable list of (member, score) pairs; members borrowed or owned. */
typedef struct zitems {
    zmapEntry *v;
    size_t n, cap;
    int owned;
} zitems;

static void zitemsPush(zitems *l, sds m, double score) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = zrealloc(l->v, sizeof(zmapEntry) * l->cap);
    }
    l->v[l->n].member = l->owned ? sdsdup(m) : m;
    l->v[l->n].score = score;
    l->n++;
}

static void zitemsFree(zitems *l) {
    if (l->owned)
        for (size_t i = 0; i < l->n; i++) sdsfree(l->v[i].member);
    zfree(l->v);
    memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------------ */
/* ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE, ZCARD                               */
/* ------------------------------------------------------------------------ */

#define ZADD_INCR (1 << 0)
#define ZADD_NX (1 << 1)
#define ZADD_XX (1 << 2)
#define ZADD_GT (1 << 3)
#define ZADD_LT (1 << 4)
#define ZADD_CH (1 << 5)

static void zaddGeneric(client *c, int flags) {
    int scoreidx = 2;
    while (scoreidx < c->argc) {
        const char *opt = c->argv[scoreidx];
        if (!strcasecmp(opt, "nx")) flags |= ZADD_NX;
        else if (!strcasecmp(opt, "xx")) flags |= ZADD_XX;
        else if (!strcasecmp(opt, "ch")) flags |= ZADD_CH;
        else if (!strcasecmp(opt, "incr")) flags |= ZADD_INCR;
        else if (!strcasecmp(opt, "gt")) flags |= ZADD_GT;
        else if (!strcasecmp(opt, "lt")) flags |= ZADD_LT;
        else break;
        scoreidx++;
    }
    int incr = flags & ZADD_INCR, nx = flags & ZADD_NX, xx = flags & ZADD_XX, gt = flags & ZADD_GT,
        lt = flags & ZADD_LT, ch = flags & ZADD_CH;
    int elements = c->argc - scoreidx;
    if (elements % 2 || !elements) {
        addReplyErrorSyntax(c);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        addReplyError(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        addReplyError(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        addReplyError(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    double *scores = zmalloc(sizeof(double) * (size_t)elements);
    for (int j = 0; j < elements; j++) {
        sds arg = c->argv[scoreidx + j * 2];
        if (!zsetParseScore(arg, sdslen(arg), &scores[j])) {
            addReplyError(c, "ERR value is not a valid float");
            zfree(scores);
            return;
        }
    }
    skey *k;
    long long added = 0, updated = 0, processed = 0;
    double newscore = 0;
    int outcome = COLLECTION_KEPT;
    if (lookupKeyWrite(c, c->argv[1], OBJ_ZSET, &k) != C_OK) goto cleanup;
    if (!k) {
        if (xx) goto reply;
        if (collectionOpenForWrite(c, c->argv[1], OBJ_ZSET, &k) != C_OK) goto cleanup;
    }
    zidx *idx = zsetCachedIndex(k);
    for (int j = 0; j < elements; j++) {
        sds m = c->argv[scoreidx + j * 2 + 1];
        double score = scores[j], cur;
        int r = zsetReadScore(k, m, sdslen(m), &cur);
        if (r == STORE_ERR) goto ioerr;
        if (r == STORE_OK) {
            if (nx) continue;
            if (incr) {
                score += cur;
                if (isnan(score)) {
                    /* INCR takes one member: nothing was written */
                    addReplyError(c, "ERR resulting score is not a number (NaN)");
                    goto cleanup;
                }
            }
            if ((gt && score <= cur) || (lt && score >= cur)) continue;
            processed++;
            newscore = score;
            if (score != cur) {
                if (zsetStoreMember(k, idx, m, sdslen(m), score, &cur) != STORE_OK) goto ioerr;
                updated++;
            }
        } else {
            if (xx) continue;
            if (zsetStoreMember(k, idx, m, sdslen(m), score, NULL) != STORE_OK) goto ioerr;
            added++;
            processed++;
            newscore = score;
        }
    }
    if (zsetCommit(c, k, idx, added, &outcome) != C_OK) goto cleanup;
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    if (added || updated) notifyKeyspaceEvent(NOTIFY_ZSET, incr ? "zincr" : "zadd", c->argv[1], c->db);
reply:
    if (incr) {
        if (processed) addReplyDouble(c, newscore);
        else addReplyNull(c);
    } else {
        addReplyLongLong(c, ch ? added + updated : added);
    }
    goto cleanup;
ioerr:
    zsetFail(c, k);
cleanup:
    storeCloseKey(k);
    zfree(scores);
}

static void zaddCommand(client *c) { zaddGeneric(c, 0); }
static void zincrbyCommand(client *c) { zaddGeneric(c, ZADD_INCR); }

static void zremCommand(client *c) {
    skey *k;
    if (lookupKeyWrite(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    zidx *idx = zsetCachedIndex(k);
    long long deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        sds m = c->argv[j];
        double score;
        int r = zsetReadScore(k, m, sdslen(m), &score);
        if (r == STORE_NOTFOUND) continue;
        if (r == STORE_ERR || zsetRemoveMember(k, idx, m, sdslen(m), score) != STORE_OK) {
            zsetFail(c, k);
            storeCloseKey(k);
            return;
        }
        deleted++;
    }
    int outcome;
    if (zsetCommit(c, k, idx, -deleted, &outcome) == C_OK) {
        if (deleted) notifyKeyspaceEvent(NOTIFY_ZSET, "zrem", c->argv[1], c->db);
        if (outcome == COLLECTION_DELETED) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
        addReplyLongLong(c, deleted);
    }
    storeCloseKey(k);
}

static void zscoreCommand(client *c) {
    skey *k;
    double score;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    int r = zsetReadScore(k, c->argv[2], sdslen(c->argv[2]), &score);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) addReplyErrorIO(c, saved);
    else if (r == STORE_NOTFOUND) addReplyNull(c);
    else addReplyDouble(c, score);
}

static void zmscoreCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    double *scores = zmalloc(sizeof(double) * (size_t)(c->argc - 2));
    char *found = zmalloc((size_t)(c->argc - 2));
    for (int j = 2; j < c->argc; j++) {
        found[j - 2] = 0;
        if (!k) continue;
        int r = zsetReadScore(k, c->argv[j], sdslen(c->argv[j]), &scores[j - 2]);
        if (r == STORE_ERR) {
            addReplyErrorIO(c, errno);
            goto done;
        }
        found[j - 2] = r == STORE_OK;
    }
    addReplyArrayLen(c, c->argc - 2);
    for (int j = 0; j < c->argc - 2; j++) {
        if (found[j]) addReplyDouble(c, scores[j]);
        else addReplyNull(c);
    }
done:
    storeCloseKey(k);
    zfree(scores);
    zfree(found);
}

static void zcardCommand(client *c) { collectionLenCommand(c, OBJ_ZSET); }

/* ------------------------------------------------------------------------ */
/* ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT                                         */
/* ------------------------------------------------------------------------ */

static void zrankGeneric(client *c, int reverse) {
    skey *k;
    double score;
    sds m = c->argv[2];
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    int r = zsetReadScore(k, m, sdslen(m), &score);
    if (r != STORE_OK) {
        if (r == STORE_ERR) addReplyErrorIO(c, errno);
        else addReplyNull(c);
        storeCloseKey(k);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) == C_OK) {
        unsigned long rank = zidxRank(v.idx, score, m, sdslen(m));
        if (rank == 0) addReplyNull(c);
        else addReplyLongLong(c, reverse ? (long long)(v.idx->length - rank) : (long long)(rank - 1));
        zsetCloseView(&v);
    }
    storeCloseKey(k);
}

static void zrankCommand(client *c) { zrankGeneric(c, 0); }
static void zrevrankCommand(client *c) { zrankGeneric(c, 1); }

static void zcountGeneric(client *c, int lex) {
    zscoreRange range;
    zlexRange lrange;
    if (lex) {
        if (!zsetParseLexRange(c->argv[2], sdslen(c->argv[2]), c->argv[3], sdslen(c->argv[3]), &lrange)) {
            addReplyError(c, "ERR min or max not valid string range item");
            return;
        }
    } else if (!zsetParseScoreRange(c->argv[2], c->argv[3], &range)) {
        addReplyError(c, "ERR min or max is not a float");
        return;
    }
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) == C_OK) {
        addReplyLongLong(c, (long long)(lex ? zidxCountInLexRange(v.idx, &lrange) : zidxCountInRange(v.idx, &range)));
        zsetCloseView(&v);
    }
    storeCloseKey(k);
}

static void zcountCommand(client *c) { zcountGeneric(c, 0); }
static void zlexcountCommand(client *c) { zcountGeneric(c, 1); }

/* ------------------------------------------------------------------------ */
/* ZRANGE and its variants                                                   */
/* ------------------------------------------------------------------------ */

typedef enum { ZRANGE_AUTO, ZRANGE_RANK, ZRANGE_SCORE, ZRANGE_LEX } zrangeType;
typedef enum { ZDIR_AUTO, ZDIR_FORWARD, ZDIR_REVERSE } zrangeDir;

typedef struct zrangeSpec {
    zrangeType type;
    int reverse;
    long start, end;      /* rank */
    zscoreRange score;    /* score */
    zlexRange lex;        /* lex */
    long offset, limit;   /* score and lex: LIMIT (limit -1: all) */
} zrangeSpec;

/* Collect the nodes of idx in spec, in reply order (members borrowed). */
static void zsetCollectRange(zidx *idx, const zrangeSpec *sp, zitems *out) {
    long llen = (long)idx->length;
    if (sp->type == ZRANGE_RANK) {
        long start = sp->start, end = sp->end;
        if (start < 0) start = llen + start;
        if (end < 0) end = llen + end;
        if (start < 0) start = 0;
        if (start > end || start >= llen) return;
        if (end >= llen) end = llen - 1;
        long n = end - start + 1;
        zidxNode *x = sp->reverse ? zidxByRank(idx, (unsigned long)(llen - start)) : zidxByRank(idx, (unsigned long)start + 1);
        while (x && n--) {
            zitemsPush(out, x->ele, x->score);
            x = sp->reverse ? zidxPrev(x) : zidxNext(x);
        }
        return;
    }
    long offset = sp->offset, limit = sp->limit;
    if (offset > 0 && offset >= llen) return;
    if (offset < 0) return; /* Redis skips everything */
    zidxNode *x;
    if (sp->type == ZRANGE_SCORE) x = sp->reverse ? zidxLastInRange(idx, &sp->score) : zidxFirstInRange(idx, &sp->score);
    else x = sp->reverse ? zidxLastInLexRange(idx, &sp->lex) : zidxFirstInLexRange(idx, &sp->lex);
    while (x && offset) {
        offset--;
        x = sp->reverse ? zidxPrev(x) : zidxNext(x);
    }
    while (x && limit) {
        int in;
        if (sp->type == ZRANGE_SCORE)
            in = sp->reverse ? zsetScoreGteMin(x->score, &sp->score) : zsetScoreLteMax(x->score, &sp->score);
        else
            in = sp->reverse ? zsetLexGteMin(x->ele, sdslen(x->ele), &sp->lex)
                             : zsetLexLteMax(x->ele, sdslen(x->ele), &sp->lex);
        if (!in) break;
        zitemsPush(out, x->ele, x->score);
        if (limit > 0) limit--;
        x = sp->reverse ? zidxPrev(x) : zidxNext(x);
    }
}

/* Parse the range arguments at argv[first] (key), min, max, options. */
static int zsetParseRangeArgs(client *c, int first, int store, zrangeType type, zrangeDir dir, zrangeSpec *sp,
                              int *withscores) {
    int minidx = first + 1, maxidx = first + 2;
    *withscores = 0;
    sp->offset = 0;
    sp->limit = -1;
    for (int j = first + 3; j < c->argc; j++) {
        int left = c->argc - j - 1;
        const char *a = c->argv[j];
        if (!store && !strcasecmp(a, "withscores")) {
            *withscores = 1;
        } else if (!strcasecmp(a, "limit") && left >= 2) {
            if (getLongFromArgOrReply(c, c->argv[j + 1], &sp->offset, NULL) != C_OK ||
                getLongFromArgOrReply(c, c->argv[j + 2], &sp->limit, NULL) != C_OK)
                return C_ERR;
            j += 2;
        } else if (dir == ZDIR_AUTO && !strcasecmp(a, "rev")) {
            dir = ZDIR_REVERSE;
        } else if (type == ZRANGE_AUTO && !strcasecmp(a, "bylex")) {
            type = ZRANGE_LEX;
        } else if (type == ZRANGE_AUTO && !strcasecmp(a, "byscore")) {
            type = ZRANGE_SCORE;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
    }
    if (dir == ZDIR_AUTO) dir = ZDIR_FORWARD;
    if (type == ZRANGE_AUTO) type = ZRANGE_RANK;
    if (sp->limit != -1 && type == ZRANGE_RANK) {
        addReplyError(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return C_ERR;
    }
    if (*withscores && type == ZRANGE_LEX) {
        addReplyError(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return C_ERR;
    }
    sp->type = type;
    sp->reverse = dir == ZDIR_REVERSE;
    if (sp->reverse && type != ZRANGE_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    sds min = c->argv[minidx], max = c->argv[maxidx];
    if (type == ZRANGE_RANK) {
        if (getLongFromArgOrReply(c, min, &sp->start, NULL) != C_OK ||
            getLongFromArgOrReply(c, max, &sp->end, NULL) != C_OK)
            return C_ERR;
    } else if (type == ZRANGE_SCORE) {
        if (!zsetParseScoreRange(min, max, &sp->score)) {
            addReplyError(c, "ERR min or max is not a float");
            return C_ERR;
        }
    } else if (!zsetParseLexRange(min, sdslen(min), max, sdslen(max), &sp->lex)) {
        addReplyError(c, "ERR min or max not valid string range item");
        return C_ERR;
    }
    return C_OK;
}

/* ZRANGE, ZRANGESTORE (dst given), ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX */
static void zrangeGeneric(client *c, int first, sds dst, zrangeType type, zrangeDir dir) {
    zrangeSpec sp;
    int withscores;
    if (zsetParseRangeArgs(c, first, dst != NULL, type, dir, &sp, &withscores) != C_OK) return;
    skey *k;
    if (lookupKeyRead(c, c->argv[first], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        if (dst) zsetStoreResult(c, dst, NULL, 0, "zrangestore");
        else addReplyArrayLen(c, 0);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) == C_OK) {
        zitems items = {0};
        zsetCollectRange(v.idx, &sp, &items);
        if (dst) {
            /* the result is copied out: storing may replace the source */
            items.owned = 1;
            for (size_t i = 0; i < items.n; i++) items.v[i].member = sdsdup(items.v[i].member);
            zsetCloseView(&v);
            zsetStoreResult(c, dst, items.v, items.n, "zrangestore");
        } else {
            zsetReplyItems(c, items.v, items.n, withscores);
            zsetCloseView(&v);
        }
        zitemsFree(&items);
    }
    storeCloseKey(k);
}

static void zrangeCommand(client *c) { zrangeGeneric(c, 1, NULL, ZRANGE_AUTO, ZDIR_AUTO); }
static void zrangestoreCommand(client *c) { zrangeGeneric(c, 2, c->argv[1], ZRANGE_AUTO, ZDIR_AUTO); }
static void zrevrangeCommand(client *c) { zrangeGeneric(c, 1, NULL, ZRANGE_RANK, ZDIR_REVERSE); }
static void zrangebyscoreCommand(client *c) { zrangeGeneric(c, 1, NULL, ZRANGE_SCORE, ZDIR_FORWARD); }
static void zrevrangebyscoreCommand(client *c) { zrangeGeneric(c, 1, NULL, ZRANGE_SCORE, ZDIR_REVERSE); }
static void zrangebylexCommand(client *c) { zrangeGeneric(c, 1, NULL, ZRANGE_LEX, ZDIR_FORWARD); }
static void zrevrangebylexCommand(client *c) { zrangeGeneric(c, 1, NULL, ZRANGE_LEX, ZDIR_REVERSE); }

/* ------------------------------------------------------------------------ */
/* ZREMRANGEBYRANK / BYSCORE / BYLEX, ZPOPMIN / ZPOPMAX                       */
/* ------------------------------------------------------------------------ */

/* Remove items (owned copies) from k, keeping the view's index in step,
 * and publish event (when items were removed) and the "del" of an emptied
 * key. */
static int zsetRemoveItems(client *c, skey *k, zview *v, zitems *items, const char *event) {
    zidx *live = viewLive(v);
    for (size_t i = 0; i < items->n; i++) {
        sds m = items->v[i].member;
        if (zsetRemoveMember(k, live, m, sdslen(m), items->v[i].score) != STORE_OK) {
            zsetFail(c, k);
            return C_ERR;
        }
    }
    int outcome;
    if (zsetCommit(c, k, live, -(long long)items->n, &outcome) != C_OK) return C_ERR;
    if (items->n) notifyKeyspaceEvent(NOTIFY_ZSET, event, k->name, k->db);
    if (outcome == COLLECTION_DELETED) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", k->name, k->db);
    return C_OK;
}

static void zremrangeGeneric(client *c, zrangeType type) {
    zrangeSpec sp;
    memset(&sp, 0, sizeof(sp));
    sp.type = type;
    sp.limit = -1;
    if (type == ZRANGE_RANK) {
        if (getLongFromArgOrReply(c, c->argv[2], &sp.start, NULL) != C_OK ||
            getLongFromArgOrReply(c, c->argv[3], &sp.end, NULL) != C_OK)
            return;
    } else if (type == ZRANGE_SCORE) {
        if (!zsetParseScoreRange(c->argv[2], c->argv[3], &sp.score)) {
            addReplyError(c, "ERR min or max is not a float");
            return;
        }
    } else if (!zsetParseLexRange(c->argv[2], sdslen(c->argv[2]), c->argv[3], sdslen(c->argv[3]), &sp.lex)) {
        addReplyError(c, "ERR min or max not valid string range item");
        return;
    }
    skey *k;
    if (lookupKeyWrite(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) == C_OK) {
        zitems items = {0};
        items.owned = 1;
        zsetCollectRange(v.idx, &sp, &items);
        static const char *events[] = {"zremrangebyrank", "zremrangebyscore", "zremrangebylex"};
        const char *event = events[type == ZRANGE_RANK ? 0 : type == ZRANGE_SCORE ? 1 : 2];
        if (zsetRemoveItems(c, k, &v, &items, event) == C_OK) addReplyLongLong(c, (long long)items.n);
        zsetCloseView(&v);
        zitemsFree(&items);
    }
    storeCloseKey(k);
}

static void zremrangebyrankCommand(client *c) { zremrangeGeneric(c, ZRANGE_RANK); }
static void zremrangebyscoreCommand(client *c) { zremrangeGeneric(c, ZRANGE_SCORE); }
static void zremrangebylexCommand(client *c) { zremrangeGeneric(c, ZRANGE_LEX); }

/* The blocking and multi-key forms reach replicas as the ZPOPMIN/ZPOPMAX
 * of the key they popped from, with the count popped (-1: none), as Redis. */
static void propagateZpop(client *c, sds key, int max, long count) {
    sds cmd = propWord(max ? "ZPOPMAX" : "ZPOPMIN");
    if (count < 0) {
        rewriteCommandForPropagation(c, 2, cmd, key);
        return;
    }
    sds n = sdsfromlonglong(count);
    rewriteCommandForPropagation(c, 3, cmd, key, n);
    sdsfree(n);
}

/* Pop up to count members from the first existing key of keys (ZPOPMIN,
 * ZPOPMAX, ZMPOP and the blocking forms). emitkey: the reply names the key;
 * nested: [member, score] pairs; nilempty: a null array when no key exists
 * (else an empty array). The reply shapes are Redis's genericZpopCommand. */
static void zpopFromKeys(client *c, sds *keys, int nkeys, int max, int emitkey, long count, int nested,
                         int nilempty) {
    skey *k = NULL;
    sds key = NULL;
    for (int i = 0; i < nkeys && !k; i++) {
        key = keys[i];
        if (lookupKeyWrite(c, key, OBJ_ZSET, &k) != C_OK) return;
    }
    if (!k) {
        if (nilempty) addReplyNullArray(c);
        else addReplyArrayLen(c, 0);
        return;
    }
    if (count == 0) {
        addReplyArrayLen(c, 0);
        storeCloseKey(k);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) == C_OK) {
        zitems items = {0};
        items.owned = 1;
        zidxNode *x = max ? v.idx->tail : zidxFirst(v.idx);
        for (long i = 0; x && i < count; i++) {
            zitemsPush(&items, x->ele, x->score);
            x = max ? zidxPrev(x) : zidxNext(x);
        }
        if (zsetRemoveItems(c, k, &v, &items, max ? "zpopmax" : "zpopmin") == C_OK) {
            long n = (long)items.n;
            if (emitkey) propagateZpop(c, key, max, nested ? n : -1);
            if (!emitkey) {
                addReplyArrayLen(c, nested ? n : n * 2);
            } else if (!nested) {
                addReplyArrayLen(c, n * 2 + 1);
                addReplyBulk(c, key, sdslen(key));
            } else {
                addReplyArrayLen(c, 2);
                addReplyBulk(c, key, sdslen(key));
                addReplyArrayLen(c, n);
            }
            for (size_t i = 0; i < items.n; i++) {
                if (nested) addReplyArrayLen(c, 2);
                addReplyBulk(c, items.v[i].member, sdslen(items.v[i].member));
                addReplyDouble(c, items.v[i].score);
            }
        }
        zsetCloseView(&v);
        zitemsFree(&items);
    }
    storeCloseKey(k);
}

static void zpopGeneric(client *c, int max) {
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    long count = 1;
    int hascount = c->argc == 3;
    if (hascount && getPositiveLongFromArgOrReply(c, c->argv[2], &count, NULL) != C_OK) return;
    zpopFromKeys(c, &c->argv[1], 1, max, 0, count, c->resp > 2 && hascount, 0);
}

/* The blocking forms: pop from the first key that has members, or wait for
 * one (a client that may not block, inside MULTI or a script, gets the
 * timeout reply at once). */
static void zpopBlocking(client *c, sds *keys, int nkeys, int max, int timeout_idx, long count, int nested,
                         int nilempty) {
    long long timeout;
    if (getBlockingTimeoutOrReply(c, c->argv[timeout_idx], &timeout) != C_OK) return;
    for (int i = 0; i < nkeys; i++) {
        skey *k;
        if (lookupKeyWrite(c, keys[i], OBJ_ZSET, &k) != C_OK) return;
        if (!k) continue;
        storeCloseKey(k);
        zpopFromKeys(c, &keys[i], 1, max, 1, count, nested, nilempty);
        return;
    }
    if (c->flags & (CLIENT_EXECUTING | CLIENT_FAKE)) {
        addReplyNullArray(c);
        return;
    }
    blockForKeys(c, BLOCKED_ZSET, keys, nkeys, timeout, BLOCK_TIMEOUT_NULL_ARRAY);
}

static void bzpopminCommand(client *c) { zpopBlocking(c, &c->argv[1], c->argc - 2, 0, c->argc - 1, 1, 0, 0); }
static void bzpopmaxCommand(client *c) { zpopBlocking(c, &c->argv[1], c->argc - 2, 1, c->argc - 1, 1, 0, 0); }

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count], and BZMPOP timeout ... */
static void zmpopGeneric(client *c, int numkeys_idx, int blocking) {
    long long numkeys;
    long count = -1;
    int max;
    if (!string2ll(c->argv[numkeys_idx], sdslen(c->argv[numkeys_idx]), &numkeys) || numkeys < 1) {
        addReplyError(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - numkeys_idx - 2) {
        addReplyErrorSyntax(c);
        return;
    }
    int where_idx = numkeys_idx + (int)numkeys + 1;
    if (!strcasecmp(c->argv[where_idx], "min")) max = 0;
    else if (!strcasecmp(c->argv[where_idx], "max")) max = 1;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    for (int j = where_idx + 1; j < c->argc; j++) {
        int moreargs = c->argc - 1 - j;
        if (count == -1 && !strcasecmp(c->argv[j], "count") && moreargs) {
            j++;
            long long n;
            if (!string2ll(c->argv[j], sdslen(c->argv[j]), &n) || n < 1 || n > LONG_MAX) {
                addReplyError(c, "ERR count should be greater than 0");
                return;
            }
            count = (long)n;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (count == -1) count = 1;
    sds *keys = &c->argv[numkeys_idx + 1];
    if (blocking) zpopBlocking(c, keys, (int)numkeys, max, 1, count, 1, 1);
    else zpopFromKeys(c, keys, (int)numkeys, max, 1, count, 1, 1);
}

static void zmpopCommand(client *c) { zmpopGeneric(c, 1, 0); }
static void bzmpopCommand(client *c) { zmpopGeneric(c, 2, 1); }

static void zpopminCommand(client *c) { zpopGeneric(c, 0); }
static void zpopmaxCommand(client *c) { zpopGeneric(c, 1); }

/* ------------------------------------------------------------------------ */
/* ZRANDMEMBER                                                               */
/* ------------------------------------------------------------------------ */

static unsigned long randomBelow(unsigned long n) {
    unsigned long long r = ((unsigned long long)random() << 31) ^ (unsigned long long)random();
    return (unsigned long)(r % n);
}

static void replyMember(client *c, zidxNode *x, int withscores) {
    if (withscores && c->resp > 2) addReplyArrayLen(c, 2);
    addReplyBulk(c, x->ele, sdslen(x->ele));
    if (withscores) addReplyDouble(c, x->score);
}

static void zrandmemberWithCount(client *c, long l, int withscores) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyArrayLen(c, 0);
        return;
    }
    unsigned long count = l >= 0 ? (unsigned long)l : (unsigned long)-l;
    int uniq = l >= 0;
    if (count == 0) {
        addReplyArrayLen(c, 0);
        storeCloseKey(k);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) != C_OK) {
        storeCloseKey(k);
        return;
    }
    zidx *idx = v.idx;
    unsigned long size = idx->length;
    int flat = withscores && c->resp == 2;
    if (size == 0) {
        addReplyArrayLen(c, 0);
    } else if (!uniq || count == 1) {
        /* with repetitions, in random order */
        addReplyArrayLen(c, (long)(flat ? count * 2 : count));
        while (count--) replyMember(c, zidxByRank(idx, randomBelow(size) + 1), withscores);
    } else if (count >= size) {
        addReplyArrayLen(c, (long)(flat ? size * 2 : size));
        for (zidxNode *x = zidxFirst(idx); x; x = zidxNext(x)) replyMember(c, x, withscores);
    } else if (count * 3 > size) {
        /* most of the set: a partial shuffle of every node */
        zidxNode **all = zmalloc(sizeof(zidxNode *) * size);
        unsigned long i = 0;
        for (zidxNode *x = zidxFirst(idx); x; x = zidxNext(x)) all[i++] = x;
        for (i = 0; i < count; i++) {
            unsigned long j = i + randomBelow(size - i);
            zidxNode *t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        addReplyArrayLen(c, (long)(flat ? count * 2 : count));
        for (i = 0; i < count; i++) replyMember(c, all[i], withscores);
        zfree(all);
    } else {
        /* a small part: random picks until count distinct ones */
        zmap *seen = zmapCreate();
        zidxNode **picked = zmalloc(sizeof(zidxNode *) * count);
        unsigned long n = 0;
        while (n < count) {
            zidxNode *x = zidxByRank(idx, randomBelow(size) + 1);
            int added;
            zmapAdd(seen, x->ele, sdslen(x->ele), 0, &added);
            if (added) picked[n++] = x;
        }
        addReplyArrayLen(c, (long)(flat ? count * 2 : count));
        for (unsigned long i = 0; i < count; i++) replyMember(c, picked[i], withscores);
        zfree(picked);
        zmapFree(seen);
    }
    zsetCloseView(&v);
    storeCloseKey(k);
}

static void zrandmemberCommand(client *c) {
    if (c->argc >= 3) {
        long l;
        int withscores;
        if (collectionParseRandomCount(c, "withscores", &l, &withscores) != C_OK) return;
        zrandmemberWithCount(c, l, withscores);
        return;
    }
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    zview v;
    if (zsetOpenView(c, k, &v) == C_OK) {
        if (v.idx->length == 0) addReplyNull(c);
        else replyMember(c, zidxByRank(v.idx, randomBelow(v.idx->length) + 1), 0);
        zsetCloseView(&v);
    }
    storeCloseKey(k);
}

/* ------------------------------------------------------------------------ */
/* ZSCAN                                                                     */
/* ------------------------------------------------------------------------ */

static void replyScanEntry(client *c, const char *m, size_t len, double score) {
    char buf[ZSET_SCORE_MAX_CHARS];
    int n = zsetFormatScore(buf, sizeof(buf), score);
    addReplyBulk(c, m, len);
    addReplyBulk(c, buf, (size_t)n);
}

static void zscanCommand(client *c) {
    unsigned long long cursor;
    if (parseScanCursorOrReply(c, c->argv[2], &cursor) != C_OK) return;
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyArrayLen(c, 2);
        addReplyBulk(c, "0", 1);
        addReplyArrayLen(c, 0);
        return;
    }
    long count = 10;
    sds pat = NULL;
    for (int i = 3; i < c->argc; i += 2) {
        int left = c->argc - i;
        if (!strcasecmp(c->argv[i], "count") && left >= 2) {
            if (getLongFromArgOrReply(c, c->argv[i + 1], &count, NULL) != C_OK) goto done;
            if (count < 1) {
                addReplyErrorSyntax(c);
                goto done;
            }
        } else if (!strcasecmp(c->argv[i], "match") && left >= 2) {
            pat = c->argv[i + 1];
            if (sdslen(pat) == 1 && pat[0] == '*') pat = NULL;
        } else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }
    long long len;
    if (collectionLen(k, &len) != STORE_OK) {
        addReplyErrorIO(c, errno);
        goto done;
    }
    void *lenp;
    long n = 0;
    if (len <= ZSCAN_SMALL_SET) {
        zview v;
        if (zsetOpenView(c, k, &v) != C_OK) goto done;
        addReplyArrayLen(c, 2);
        addReplyBulk(c, "0", 1);
        lenp = addReplyDeferredLen(c);
        for (zidxNode *x = zidxFirst(v.idx); x; x = zidxNext(x)) {
            if (pat && !stringmatchlen(pat, (int)sdslen(pat), x->ele, (int)sdslen(x->ele), 0)) continue;
            replyScanEntry(c, x->ele, sdslen(x->ele), x->score);
            n += 2;
        }
        setDeferredArrayLen(c, lenp, n);
        zsetCloseView(&v);
        goto done;
    }
    /* a bigger set: resume the listing of values/ at the cursor */
    storeIter *it;
    if (storeIterOpen(k, NS_VALUES, cursor, &it) != STORE_OK) {
        addReplyErrorIO(c, errno);
        goto done;
    }
    zitems items = {0};
    items.owned = 0;
    sds m;
    long seen = 0;
    int failed = 0, listed = STORE_OK;
    while (seen < count && (listed = storeIterNext(it, &m)) == STORE_OK) {
        double score;
        seen++;
        if (pat && !stringmatchlen(pat, (int)sdslen(pat), m, (int)sdslen(m), 0)) {
            sdsfree(m);
            continue;
        }
        int r = zsetReadScore(k, m, sdslen(m), &score);
        if (r == STORE_ERR) {
            failed = errno;
            sdsfree(m);
            break;
        }
        if (r == STORE_OK) zitemsPush(&items, m, score);
        else sdsfree(m);
    }
    if (!failed && listed == STORE_ERR) failed = errno;
    unsigned long long next = 0;
    if (!failed && storeIterCursor(it, &next) == STORE_ERR) failed = errno;
    storeIterClose(it);
    if (failed) {
        addReplyErrorIO(c, failed);
    } else {
        addReplyArrayLen(c, 2);
        addReplyBulkSds(c, sdscatprintf(sdsempty(), "%llu", next));
        addReplyArrayLen(c, (long)items.n * 2);
        for (size_t i = 0; i < items.n; i++)
            replyScanEntry(c, items.v[i].member, sdslen(items.v[i].member), items.v[i].score);
    }
    items.owned = 1; /* the members came from the iterator: free them */
    zitemsFree(&items);
done:
    storeCloseKey(k);
}

/* ------------------------------------------------------------------------ */
/* ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD                   */
/* ------------------------------------------------------------------------ */

#define SETOP_UNION 0
#define SETOP_INTER 1
#define SETOP_DIFF 2
#define AGGR_SUM 0
#define AGGR_MIN 1
#define AGGR_MAX 2

typedef struct zsrc {
    skey *k;          /* NULL: the key does not exist (an empty input) */
    double weight;
    long long card;
    int pos;          /* position in the command, for a stable sort */
} zsrc;

static void aggregate(double *target, double v, int aggr) {
    if (aggr == AGGR_SUM) {
        *target = *target + v;
        if (isnan(*target)) *target = 0.0; /* inf + -inf */
    } else if (aggr == AGGR_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

static int cmpSrcByCard(const void *a, const void *b) {
    const zsrc *x = a, *y = b;
    if (x->card != y->card) return x->card < y->card ? -1 : 1;
    return x->pos - y->pos;
}

static int sameSource(const zsrc *a, const zsrc *b) {
    return a->k && b->k && sdslen(a->k->name) == sdslen(b->k->name) &&
           !memcmp(a->k->name, b->k->name, sdslen(a->k->name));
}

static int srcCardinality(zsrc *s) {
    s->card = 0;
    if (!s->k) return STORE_OK;
    if (storeReadNumber(s->k, "len", &s->card, -1) != STORE_OK) return STORE_ERR;
    if (s->card < 0) return storeCountMembers(s->k, NS_VALUES, &s->card);
    return STORE_OK;
}

/* Is m in s? Its score (1 for a plain set member) in *score. */
static int srcFind(zsrc *s, const char *m, size_t len, double *score) {
    if (!s->k) return STORE_NOTFOUND;
    if (s->k->type == OBJ_ZSET) return zsetReadScore(s->k, m, len, score);
    *score = 1.0;
    return storeMemberExists(s->k, NS_VALUES, m, len);
}

/* The members of s with their scores: a sorted set's from its index, a
 * plain set's from the listing of values/ (score 1). Members are copied. */
static int srcItems(client *c, zsrc *s, zitems *out) {
    out->owned = 1;
    if (!s->k) return C_OK;
    if (s->k->type == OBJ_ZSET) {
        zview v;
        if (zsetOpenView(c, s->k, &v) != C_OK) return C_ERR;
        for (zidxNode *x = zidxFirst(v.idx); x; x = zidxNext(x)) zitemsPush(out, x->ele, x->score);
        zsetCloseView(&v);
        return C_OK;
    }
    storeIter *it;
    sds m;
    if (storeIterOpen(s->k, NS_VALUES, 0, &it) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    out->owned = 0;
    int listed;
    while ((listed = storeIterNext(it, &m)) == STORE_OK) zitemsPush(out, m, 1.0);
    out->owned = 1;
    storeIterClose(it);
    if (listed == STORE_ERR) {
        addReplyErrorIO(c, errno);
        zitemsFree(out); /* what was listed before the failure */
        return C_ERR;
    }
    return C_OK;
}

/* numkeysIndex: where numkeys is; dst: the STORE destination or NULL;
 * cardonly: ZINTERCARD. */
static void zsetopGeneric(client *c, sds dst, int numkeysIndex, int op, int cardonly) {
    long setnum;
    if (getLongFromArgOrReply(c, c->argv[numkeysIndex], &setnum, NULL) != C_OK) return;
    if (setnum < 1) {
        addReplyErrorFormat(c, "ERR at least 1 input key is needed for '%s' command", c->cmd->fullname);
        return;
    }
    if (setnum > c->argc - numkeysIndex - 1) {
        addReplyErrorSyntax(c);
        return;
    }
    zsrc *src = zcalloc(sizeof(zsrc) * (size_t)setnum);
    zmap *acc = NULL;
    int j = numkeysIndex + 1;
    for (long i = 0; i < setnum; i++, j++) {
        src[i].weight = 1.0;
        src[i].pos = (int)i;
        if (lookupKeyRead(c, c->argv[j], OBJ_NONE, &src[i].k) != C_OK) goto cleanup;
        if (src[i].k && src[i].k->type != OBJ_ZSET && src[i].k->type != OBJ_SET) {
            addReplyErrorWrongType(c);
            goto cleanup;
        }
    }
    int aggr = AGGR_SUM, withscores = 0;
    long limit = 0;
    while (j < c->argc) {
        int remaining = c->argc - j;
        const char *a = c->argv[j];
        if (op != SETOP_DIFF && !cardonly && remaining >= setnum + 1 && !strcasecmp(a, "weights")) {
            j++;
            for (long i = 0; i < setnum; i++, j++) {
                if (!zsetParseScore(c->argv[j], sdslen(c->argv[j]), &src[i].weight)) {
                    addReplyError(c, "ERR weight value is not a float");
                    goto cleanup;
                }
            }
        } else if (op != SETOP_DIFF && !cardonly && remaining >= 2 && !strcasecmp(a, "aggregate")) {
            const char *v = c->argv[j + 1];
            if (!strcasecmp(v, "sum")) aggr = AGGR_SUM;
            else if (!strcasecmp(v, "min")) aggr = AGGR_MIN;
            else if (!strcasecmp(v, "max")) aggr = AGGR_MAX;
            else {
                addReplyErrorSyntax(c);
                goto cleanup;
            }
            j += 2;
        } else if (remaining >= 1 && !dst && !cardonly && !strcasecmp(a, "withscores")) {
            withscores = 1;
            j++;
        } else if (cardonly && remaining >= 2 && !strcasecmp(a, "limit")) {
            if (getPositiveLongFromArgOrReply(c, c->argv[j + 1], &limit, "ERR LIMIT can't be negative") != C_OK)
                goto cleanup;
            j += 2;
        } else {
            addReplyErrorSyntax(c);
            goto cleanup;
        }
    }
    for (long i = 0; i < setnum; i++) {
        if (srcCardinality(&src[i]) != STORE_OK) {
            addReplyErrorIO(c, errno);
            goto cleanup;
        }
    }
    /* smallest first, as Redis does: it decides the order of the additions */
    if (op != SETOP_DIFF) qsort(src, (size_t)setnum, sizeof(zsrc), cmpSrcByCard);

    acc = zmapCreate();
    long long cardinality = 0;
    if (op == SETOP_UNION) {
        for (long i = 0; i < setnum; i++) {
            if (src[i].card == 0) continue;
            zitems items = {0};
            if (srcItems(c, &src[i], &items) != C_OK) goto cleanup;
            for (size_t e = 0; e < items.n; e++) {
                double score = src[i].weight * items.v[e].score;
                if (isnan(score)) score = 0;
                int added;
                zmapEntry *en = zmapAdd(acc, items.v[e].member, sdslen(items.v[e].member), score, &added);
                if (!added) aggregate(&en->score, score, aggr);
            }
            zitemsFree(&items);
        }
    } else if (src[0].card > 0) {
        /* INTER and DIFF: walk the first input, look the others up */
        zitems items = {0};
        if (srcItems(c, &src[0], &items) != C_OK) goto cleanup;
        for (size_t e = 0; e < items.n; e++) {
            sds m = items.v[e].member;
            double score = op == SETOP_INTER ? src[0].weight * items.v[e].score : items.v[e].score;
            if (isnan(score)) score = 0;
            long i;
            int keep = 1;
            for (i = 1; i < setnum; i++) {
                double value;
                int r;
                if (sameSource(&src[i], &src[0])) {
                    value = items.v[e].score;
                    r = STORE_OK;
                } else {
                    r = srcFind(&src[i], m, sdslen(m), &value);
                }
                if (r == STORE_ERR) {
                    addReplyErrorIO(c, errno);
                    zitemsFree(&items);
                    goto cleanup;
                }
                if (op == SETOP_INTER) {
                    if (r == STORE_NOTFOUND) {
                        keep = 0;
                        break;
                    }
                    value *= src[i].weight;
                    aggregate(&score, value, aggr);
                } else if (r == STORE_OK) {
                    keep = 0;
                    break;
                }
            }
            if (!keep) continue;
            if (cardonly) {
                cardinality++;
                if (limit && cardinality >= limit) break;
            } else {
                zmapAdd(acc, m, sdslen(m), score, NULL);
            }
        }
        zitemsFree(&items);
    }
    if (cardonly) {
        addReplyLongLong(c, cardinality);
        goto cleanup;
    }
    zmapSortByScore(acc);
    /* the inputs are closed first: storing may replace one of them */
    for (long i = 0; i < setnum; i++) {
        storeCloseKey(src[i].k);
        src[i].k = NULL;
    }
    if (dst)
        zsetStoreResult(c, dst, acc->entries, acc->count,
                        op == SETOP_UNION ? "zunionstore" : op == SETOP_INTER ? "zinterstore" : "zdiffstore");
    else zsetReplyItems(c, acc->entries, acc->count, withscores);
cleanup:
    for (long i = 0; i < setnum; i++) storeCloseKey(src[i].k);
    zfree(src);
    zmapFree(acc);
}

static void zunionstoreCommand(client *c) { zsetopGeneric(c, c->argv[1], 2, SETOP_UNION, 0); }
static void zinterstoreCommand(client *c) { zsetopGeneric(c, c->argv[1], 2, SETOP_INTER, 0); }
static void zdiffstoreCommand(client *c) { zsetopGeneric(c, c->argv[1], 2, SETOP_DIFF, 0); }
static void zunionCommand(client *c) { zsetopGeneric(c, NULL, 1, SETOP_UNION, 0); }
static void zinterCommand(client *c) { zsetopGeneric(c, NULL, 1, SETOP_INTER, 0); }
static void zdiffCommand(client *c) { zsetopGeneric(c, NULL, 1, SETOP_DIFF, 0); }
static void zintercardCommand(client *c) { zsetopGeneric(c, NULL, 1, SETOP_INTER, 1); }

/* ------------------------------------------------------------------------ */
/* Command table                                                             */
/* ------------------------------------------------------------------------ */

redisCommand zsetCommandTable[] = {
    {"zadd", zaddCommand, -4, "write denyoom fast", "write sortedset fast", 1, 1, 1, NULL},
    {"zincrby", zincrbyCommand, 4, "write denyoom fast", "write sortedset fast", 1, 1, 1, NULL},
    {"zrem", zremCommand, -3, "write fast", "write sortedset fast", 1, 1, 1, NULL},
    {"zcard", zcardCommand, 2, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zscore", zscoreCommand, 3, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zmscore", zmscoreCommand, -3, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zrank", zrankCommand, 3, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zrevrank", zrevrankCommand, 3, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zcount", zcountCommand, 4, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zlexcount", zlexcountCommand, 4, "readonly fast", "read sortedset fast", 1, 1, 1, NULL},
    {"zrange", zrangeCommand, -4, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zrangestore", zrangestoreCommand, -5, "write denyoom", "write sortedset slow", 1, 2, 1, NULL},
    {"zrevrange", zrevrangeCommand, -4, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zrangebyscore", zrangebyscoreCommand, -4, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zrevrangebyscore", zrevrangebyscoreCommand, -4, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zrangebylex", zrangebylexCommand, -4, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zrevrangebylex", zrevrangebylexCommand, -4, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zremrangebyrank", zremrangebyrankCommand, 4, "write", "write sortedset slow", 1, 1, 1, NULL},
    {"zremrangebyscore", zremrangebyscoreCommand, 4, "write", "write sortedset slow", 1, 1, 1, NULL},
    {"zremrangebylex", zremrangebylexCommand, 4, "write", "write sortedset slow", 1, 1, 1, NULL},
    {"zpopmin", zpopminCommand, -2, "write fast", "write sortedset fast", 1, 1, 1, NULL},
    {"zpopmax", zpopmaxCommand, -2, "write fast", "write sortedset fast", 1, 1, 1, NULL},
    {"zmpop", zmpopCommand, -4, "write movablekeys", "write sortedset slow", 0, 0, 0, NULL},
    {"bzpopmin", bzpopminCommand, -3, "write noscript blocking fast", "write sortedset fast blocking", 1, -2, 1, NULL},
    {"bzpopmax", bzpopmaxCommand, -3, "write noscript blocking fast", "write sortedset fast blocking", 1, -2, 1, NULL},
    {"bzmpop", bzmpopCommand, -5, "write blocking movablekeys", "write sortedset slow blocking", 0, 0, 0, NULL},
    {"zrandmember", zrandmemberCommand, -2, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zscan", zscanCommand, -3, "readonly", "read sortedset slow", 1, 1, 1, NULL},
    {"zunionstore", zunionstoreCommand, -4, "write denyoom movablekeys", "write sortedset slow", 1, 1, 1, NULL},
    {"zinterstore", zinterstoreCommand, -4, "write denyoom movablekeys", "write sortedset slow", 1, 1, 1, NULL},
    {"zdiffstore", zdiffstoreCommand, -4, "write denyoom movablekeys", "write sortedset slow", 1, 1, 1, NULL},
    {"zunion", zunionCommand, -3, "readonly movablekeys", "read sortedset slow", 0, 0, 0, NULL},
    {"zinter", zinterCommand, -3, "readonly movablekeys", "read sortedset slow", 0, 0, 0, NULL},
    {"zdiff", zdiffCommand, -3, "readonly movablekeys", "read sortedset slow", 0, 0, 0, NULL},
    {"zintercard", zintercardCommand, -3, "readonly movablekeys", "read sortedset slow", 0, 0, 0, NULL},
    {NULL}};
