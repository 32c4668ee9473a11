/* t_list.c - list commands. A list is a key directory holding its elements
 * in segment files, segments/<n>, of up to SEG_SIZE elements each
 * (docs/storage-format.md, "Lists").
 *
 * Every element has a signed 64-bit sequence number: the elements are the
 * seqs head .. tail-1, in order; LPUSH counts down from head, RPUSH up from
 * tail. Segment n holds the elements whose seq is in [n*64, n*64+64), so
 * every segment but the first and the last is full, and the segment and slot
 * of an element follow from its seq by arithmetic. A segment file starts
 * with the seq of its first element, then holds its elements as RESP bulk
 * strings. "head-seg" and "tail-seg" hold the numbers of the first and last
 * segments; head and tail are derived from those two segments.
 *
 * Pushing or popping one element rewrites one segment file (a replacement
 * through the store: no new inode); "head-seg" or "tail-seg" changes only
 * when a segment is started or emptied, one time in 64. Every command runs
 * in one store transaction (journal.c), so across a crash it is applied
 * whole or not at all. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>

#define LIST_HEAD 0 /* LEFT */
#define LIST_TAIL 1 /* RIGHT */
#define SEG_NS "segments"
#define SEG_SIZE 64 /* elements per segment */
#define HEAD_SEG "head-seg"
#define TAIL_SEG "tail-seg"
/* Segment numbers stay within +-SEGNO_LIMIT, so seqs stay within +-2^62: a
 * command moves them by less than 2^32, the arithmetic cannot overflow. */
#define SEGNO_LIMIT (1LL << 56)
#define SEG_CACHE 8 /* segments a command keeps in memory at once */

/* A segment in memory: its elements, the first with seq first. */
typedef struct listSeg {
    long long n;
    long long first;
    sds *ele;
    long count, cap;
    int dirty; /* to be written back (or removed, when count is 0) */
} listSeg;

struct listRef {
    skey *k;
    long long hseg, tseg;     /* the first and last segments; empty when hseg > tseg */
    long long shseg, stseg;   /* as stored in head-seg and tail-seg */
    long long head, tail;     /* the elements are seqs head .. tail-1 */
    int hknown, tknown;       /* head, tail are known (read from their segment) */
    listSeg *cache[SEG_CACHE]; /* segments read or written so far, oldest first */
    int ncache;
    int readonly;             /* opened by a read: its knowledge goes back to the ends cache */
    int changed;              /* changed in memory (listSave() then writes it) */
};

/* ------------------------------------------------------------------------ */
/* Segments                                                                  */
/* ------------------------------------------------------------------------ */

/* The segment of seq: floor(seq / SEG_SIZE), for negative seqs too. */
static long long segOf(long long seq) { return seq >= 0 ? seq / SEG_SIZE : -((-seq - 1) / SEG_SIZE) - 1; }

static long long segStart(long long n) { return n * SEG_SIZE; }

static int segName(char *buf, size_t len, long long n) { return ll2string(buf, len, n); }

static void segFree(listSeg *g) {
    if (!g) return;
    for (long i = 0; i < g->count; i++) sdsfree(g->ele[i]);
    zfree(g->ele);
    zfree(g);
}

static listSeg *segNew(long long n, long long first) {
    listSeg *g = zmalloc(sizeof(*g));
    g->n = n;
    g->first = first;
    g->count = 0;
    g->cap = 4;
    g->ele = zmalloc(sizeof(sds) * (size_t)g->cap);
    g->dirty = 0;
    return g;
}

/* Insert v (taken over) at slot i. */
static void segInsert(listSeg *g, long i, sds v) {
    if (g->count == g->cap) {
        g->cap = g->cap * 2 > SEG_SIZE ? SEG_SIZE : g->cap * 2;
        g->ele = zrealloc(g->ele, sizeof(sds) * (size_t)g->cap);
    }
    memmove(g->ele + i + 1, g->ele + i, sizeof(sds) * (size_t)(g->count - i));
    g->ele[i] = v;
    g->count++;
    g->dirty = 1;
}

/* Free cnt elements from slot i on. */
static void segDelete(listSeg *g, long i, long cnt) {
    for (long j = i; j < i + cnt; j++) sdsfree(g->ele[j]);
    memmove(g->ele + i, g->ele + i + cnt, sizeof(sds) * (size_t)(g->count - i - cnt));
    g->count -= cnt;
    g->dirty = 1;
}

/* Parse a segment file: "<first seq>\r\n" then the elements as RESP bulk
 * strings "$<len>\r\n<bytes>\r\n". NULL when it is not one, or when its seqs
 * are not all in segment n. */
static listSeg *segParse(const char *p, size_t len, long long n) {
    const char *end = p + len, *nl = memchr(p, '\r', len);
    long long first, blen;
    if (!nl || nl + 1 >= end || nl[1] != '\n' || !string2ll(p, (size_t)(nl - p), &first)) return NULL;
    if (first < segStart(n) || first >= segStart(n + 1)) return NULL;
    listSeg *g = segNew(n, first);
    p = nl + 2;
    while (p < end) {
        if (*p != '$' || first + g->count >= segStart(n + 1)) goto bad;
        nl = memchr(p, '\r', (size_t)(end - p));
        if (!nl || !string2ll(p + 1, (size_t)(nl - p - 1), &blen) || blen < 0 || end - nl < 4 ||
            (unsigned long long)(end - nl - 4) < (unsigned long long)blen || nl[1] != '\n' || nl[2 + blen] != '\r' ||
            nl[3 + blen] != '\n')
            goto bad;
        segInsert(g, g->count, sdsnewlen(nl + 2, (size_t)blen));
        p = nl + 4 + blen;
    }
    if (g->count == 0) goto bad;
    g->dirty = 0;
    return g;
bad:
    segFree(g);
    return NULL;
}

/* Write segment g back: its file rewritten (a replacement through the
 * store), or removed when it holds nothing. */
static int segSave(skey *k, listSeg *g) {
    char name[32];
    int nlen = segName(name, sizeof(name), g->n);
    if (g->count == 0) {
        if (storeRemoveMember(k, SEG_NS, name, (size_t)nlen) == STORE_ERR) return STORE_ERR;
        g->dirty = 0;
        return STORE_OK;
    }
    size_t total = 32;
    for (long i = 0; i < g->count; i++) total += sdslen(g->ele[i]) + 32;
    sds buf = sdsMakeRoomFor(sdsempty(), total);
    char num[32];
    int l = ll2string(num, sizeof(num), g->first);
    buf = sdscatlen(buf, num, (size_t)l);
    buf = sdscatlen(buf, "\r\n", 2);
    for (long i = 0; i < g->count; i++) {
        num[0] = '$';
        l = ll2string(num + 1, sizeof(num) - 1, (long long)sdslen(g->ele[i]));
        buf = sdscatlen(buf, num, (size_t)l + 1);
        buf = sdscatlen(buf, "\r\n", 2);
        buf = sdscatlen(buf, g->ele[i], sdslen(g->ele[i]));
        buf = sdscatlen(buf, "\r\n", 2);
    }
    int r = storeWriteMember(k, SEG_NS, name, (size_t)nlen, buf, sdslen(buf), NULL);
    int saved = errno;
    sdsfree(buf);
    errno = saved;
    if (r != STORE_OK) return STORE_ERR;
    g->dirty = 0;
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* The ends cache                                                            */
/* ------------------------------------------------------------------------ */

/* What a command learnt of a list's ends, kept for the next command on the
 * same list so that a push or a pop on a hot list reads no file: head-seg
 * and tail-seg, head and tail, and the end segments themselves when they
 * are small. A write takes the entry (its listRef owns it while the command
 * runs) and puts back what it knows once listCommit() has written
 * everything; a read copies the numbers. An entry carries the generation
 * of its key when it was filled (storeKeyGen, store.h) and is served only
 * while the key still has it: any other change to the key (a deletion,
 * RENAME, MOVE, FLUSHDB, SWAPDB, RESTORE, a command rolled back, any write
 * not made here) gave it a new generation, and the entry is dropped when
 * next met. An entry is put back only under storeKeyGenInStep(), so what a
 * command learnt while something else also changed the list is not kept.
 * Bounded: ENDS_CACHE_KEYS lists, a segment only when its elements take at
 * most ENDS_CACHE_SEG_BYTES, key names up to ENDS_CACHE_NAME_MAX bytes. */
#define ENDS_CACHE_KEYS 1024
#define ENDS_CACHE_SEG_BYTES 4096
#define ENDS_CACHE_NAME_MAX 1024

typedef struct endsEntry {
    long long hseg, tseg, head, tail;
    int hknown, tknown;
    listSeg *seg[2]; /* end segments (either may be NULL) */
    unsigned long long gen; /* the key's generation it describes */
} endsEntry;

static dict *endsCache;

static void endsEntryFree(void *p) {
    endsEntry *e = p;
    segFree(e->seg[0]);
    segFree(e->seg[1]);
    zfree(e);
}

static void endsClear(void) {
    if (!endsCache) return;
    dictRelease(endsCache, endsEntryFree);
    endsCache = dictCreate();
}

/* DEBUG RELOAD: every list's ends are read from the tree again. */
void listEndsCacheClear(void) { endsClear(); }

static sds endsKey(int db, const char *name, size_t len) {
    sds k = sdsnewlen(NULL, len + DB_SCOPED_EXTRA);
    sdssetlen(k, dbScopedName(k, db, name, len));
    return k;
}

/* The floor of the store's generations moved (a flush, a swap, a rollback):
 * the entries of keys that changed go, to give their memory back (they
 * would only be dropped when next met). */
static void endsSweep(void) {
    static unsigned long long sweptFloor;
    if (!endsCache || sweptFloor == storeKeyGenFloor()) return;
    sweptFloor = storeKeyGenFloor();
    dictIterator it;
    dictIterInit(&it, endsCache);
    for (dictEntry *de; (de = dictNext(&it)) != NULL;) {
        char *colon = memchr(de->key, ':', sdslen(de->key));
        int db = atoi(de->key);
        size_t off = (size_t)(colon - de->key) + 1;
        if (storeKeyGenOf(db, de->key + off, sdslen(de->key) - off) != ((endsEntry *)de->val)->gen)
            endsEntryFree(dictDelete(endsCache, de->key, sdslen(de->key)));
    }
}

static int listEmpty(const listRef *l) { return l->hseg > l->tseg; }

static int endsCacheable(const skey *k) { return !k->staged && sdslen(k->name) <= ENDS_CACHE_NAME_MAX; }

/* Fill l from k's entry: a write (take) takes the entry and its segments, a
 * read copies the numbers. 1 when there was one. */
static int endsLoad(listRef *l, int take) {
    if (!endsCache || !endsCacheable(l->k)) return 0;
    endsSweep();
    unsigned long long gen = storeKeyGen(l->k);
    sds ek = endsKey(l->k->db, l->k->name, sdslen(l->k->name));
    endsEntry *e = dictFetch(endsCache, ek, sdslen(ek));
    int stale = e && e->gen != gen;
    if (e && (take || stale)) dictDelete(endsCache, ek, sdslen(ek));
    sdsfree(ek);
    if (stale) { /* the list changed since the entry was filled: a miss */
        endsEntryFree(e);
        return 0;
    }
    if (!e) return 0;
    serverAssert(e->gen == gen && e->hseg <= e->tseg); /* served: current, of a non-empty list */
    l->hseg = l->shseg = e->hseg;
    l->tseg = l->stseg = e->tseg;
    l->head = e->head;
    l->tail = e->tail;
    l->hknown = e->hknown;
    l->tknown = e->tknown;
    if (take) {
        for (int i = 0; i < 2; i++)
            if (e->seg[i]) l->cache[l->ncache++] = e->seg[i];
        zfree(e);
    }
    return 1;
}

static size_t segBytes(const listSeg *g) {
    size_t n = 0;
    for (long i = 0; i < g->count; i++) n += sdslen(g->ele[i]);
    return n;
}

/* Keep what l knows, l being in step with the tree (after a read, or after
 * listCommit() wrote a change). A write hands over its clean end segments;
 * a read adds an entry only where there is none. */
static void endsRemember(listRef *l) {
    if (!endsCacheable(l->k) || listEmpty(l) || !(l->hknown || l->tknown)) return;
    if (!endsCache) endsCache = dictCreate();
    unsigned long long gen = storeKeyGenInStep(l->k);
    sds ek = endsKey(l->k->db, l->k->name, sdslen(l->k->name));
    endsEntry *old = dictFetch(endsCache, ek, sdslen(ek));
    if (old && l->readonly && gen && old->gen == gen) {
        sdsfree(ek);
        return;
    }
    if (old) endsEntryFree(dictDelete(endsCache, ek, sdslen(ek)));
    if (!gen) { /* the list also changed other than through l: l may be behind */
        sdsfree(ek);
        return;
    }
    if (dictSize(endsCache) >= ENDS_CACHE_KEYS) endsClear(); /* crude but bounded */
    endsEntry *e = zcalloc(sizeof(*e));
    e->hseg = l->hseg;
    e->tseg = l->tseg;
    e->head = l->head;
    e->tail = l->tail;
    e->hknown = l->hknown;
    e->tknown = l->tknown;
    e->gen = gen;
    int nseg = 0;
    for (int i = 0; !l->readonly && i < l->ncache && nseg < 2;) {
        listSeg *g = l->cache[i];
        if (!g->dirty && g->count > 0 && (g->n == l->hseg || g->n == l->tseg) &&
            segBytes(g) <= ENDS_CACHE_SEG_BYTES) {
            e->seg[nseg++] = g;
            memmove(l->cache + i, l->cache + i + 1, sizeof(listSeg *) * (size_t)(l->ncache - i - 1));
            l->ncache--;
        } else {
            i++;
        }
    }
    dictAdd(endsCache, ek, sdslen(ek), e);
    sdsfree(ek);
}

/* ------------------------------------------------------------------------ */
/* The list on disk                                                          */
/* ------------------------------------------------------------------------ */

static int damaged(void) {
    errno = EUCLEAN;
    return STORE_ERR;
}

/* Open the list of k: only "head-seg" and "tail-seg" are read (nothing
 * when the ends cache knows the list); segments are read as the command
 * needs them. A new (staged) key is an empty list whose first push goes to
 * seq -1 (LPUSH) or 0 (RPUSH). readonly: the command only reads. */
static int listLoad(skey *k, listRef *l, int readonly) {
    memset(l, 0, sizeof(*l));
    l->k = k;
    l->readonly = readonly;
    if (k->staged) {
        l->hseg = l->shseg = 0;
        l->tseg = l->stseg = -1;
        l->hknown = l->tknown = 1;
        return STORE_OK;
    }
    if (endsLoad(l, !readonly)) return STORE_OK;
    /* a list key always has both files and an element (an items/ tree of
     * the old layout has neither file: damaged) */
    if (storeReadNumber(k, HEAD_SEG, &l->hseg, LLONG_MIN) != STORE_OK ||
        storeReadNumber(k, TAIL_SEG, &l->tseg, LLONG_MIN) != STORE_OK)
        return STORE_ERR;
    if (l->hseg < -SEGNO_LIMIT || l->tseg > SEGNO_LIMIT || l->tseg < l->hseg) return damaged();
    l->shseg = l->hseg;
    l->stseg = l->tseg;
    return STORE_OK;
}

/* Write segment back and forget it. */
static int cacheEvict(listRef *l, int i) {
    listSeg *g = l->cache[i];
    int r = g->dirty ? segSave(l->k, g) : STORE_OK;
    segFree(g);
    memmove(l->cache + i, l->cache + i + 1, sizeof(listSeg *) * (size_t)(l->ncache - i - 1));
    l->ncache--;
    return r;
}

/* Forget segment n without writing it (it is removed or rewritten whole). */
static void cacheDrop(listRef *l, long long n) {
    for (int i = 0; i < l->ncache; i++)
        if (l->cache[i]->n == n) {
            l->cache[i]->dirty = 0;
            cacheEvict(l, i);
            return;
        }
}

/* Segment n, read on first use. A segment outside [hseg, tseg] (one a push
 * is about to start) is new and empty. Reading the first or last segment
 * makes head or tail known. A pointer stays valid until the next call. */
static int segGet(listRef *l, long long n, listSeg **out) {
    for (int i = 0; i < l->ncache; i++)
        if (l->cache[i]->n == n) {
            *out = l->cache[i];
            return STORE_OK;
        }
    if (l->ncache == SEG_CACHE && cacheEvict(l, 0) != STORE_OK) return STORE_ERR;
    listSeg *g;
    if (n < l->hseg || n > l->tseg) {
        g = segNew(n, segStart(n));
    } else {
        char name[32];
        int nlen = segName(name, sizeof(name), n);
        sds data;
        int r = storeReadMember(l->k, SEG_NS, name, (size_t)nlen, &data);
        if (r == STORE_NOTFOUND) return damaged(); /* every segment in range has its file */
        if (r != STORE_OK) return STORE_ERR;
        g = segParse(data, sdslen(data), n);
        sdsfree(data);
        if (!g) return damaged();
        /* interior segments are full; the ends agree with what is known */
        long long gend = g->first + g->count;
        if ((n > l->hseg && g->first != segStart(n)) || (n < l->tseg && gend != segStart(n + 1)) ||
            (n == l->hseg && l->hknown && g->first != l->head) || (n == l->tseg && l->tknown && gend != l->tail)) {
            segFree(g);
            return damaged();
        }
        if (n == l->hseg) {
            l->head = g->first;
            l->hknown = 1;
        }
        if (n == l->tseg) {
            l->tail = gend;
            l->tknown = 1;
        }
    }
    l->cache[l->ncache++] = g;
    *out = g;
    return STORE_OK;
}

/* Make head (LIST_HEAD) or tail known. */
static int listKnow(listRef *l, int where) {
    listSeg *g;
    if (listEmpty(l) || (where == LIST_HEAD ? l->hknown : l->tknown)) return STORE_OK;
    return segGet(l, where == LIST_HEAD ? l->hseg : l->tseg, &g);
}

/* Make head and tail known: at most the two end segments are read. */
static int listEnds(listRef *l) {
    return listKnow(l, LIST_HEAD) == STORE_OK && listKnow(l, LIST_TAIL) == STORE_OK ? STORE_OK : STORE_ERR;
}

/* Once listEnds() */
static long long listLen(const listRef *l) { return listEmpty(l) ? 0 : l->tail - l->head; }

/* The element at seq (inside [head, tail)), borrowed: valid until the next
 * segGet(). */
static int listAt(listRef *l, long long seq, sds *v) {
    listSeg *g;
    if (segGet(l, segOf(seq), &g) != STORE_OK) return STORE_ERR;
    long long i = seq - g->first;
    if (i < 0 || i >= g->count) return damaged();
    *v = g->ele[i];
    return STORE_OK;
}

/* The element at seq becomes a copy of p. */
static int listSet(listRef *l, long long seq, const char *p, size_t len) {
    listSeg *g;
    l->changed = 1;
    if (segGet(l, segOf(seq), &g) != STORE_OK) return STORE_ERR;
    long long i = seq - g->first;
    if (i < 0 || i >= g->count) return damaged();
    sdsfree(g->ele[i]);
    g->ele[i] = sdsnewlen(p, len);
    g->dirty = 1;
    return STORE_OK;
}

/* Push a copy of p at the where end. */
static int listPush(listRef *l, int where, const char *p, size_t len) {
    if (listKnow(l, where) != STORE_OK) return STORE_ERR;
    l->changed = 1;
    long long seq = where == LIST_HEAD ? l->head - 1 : l->tail;
    long long n = segOf(seq);
    if (n < -SEGNO_LIMIT || n > SEGNO_LIMIT) return damaged();
    listSeg *g;
    if (segGet(l, n, &g) != STORE_OK) return STORE_ERR;
    if (g->count == 0) g->first = seq;
    if (where == LIST_HEAD) {
        segInsert(g, 0, sdsnewlen(p, len));
        g->first = seq;
    } else {
        segInsert(g, g->count, sdsnewlen(p, len));
    }
    if (listEmpty(l)) {
        l->hseg = l->tseg = n;
        l->head = seq;
        l->tail = seq + 1;
        l->hknown = l->tknown = 1;
    } else if (where == LIST_HEAD) {
        l->hseg = n;
        l->head = seq;
    } else {
        l->tseg = n;
        l->tail = seq + 1;
    }
    return STORE_OK;
}

/* Remove count (1 .. length) elements from the where end. A whole segment
 * is removed without being read, unless it is the first segment of the
 * end, which is read to learn where the list starts. */
static int listDrop(listRef *l, int where, long long count) {
    l->changed = 1;
    while (count > 0 && !listEmpty(l)) {
        if (listKnow(l, where) != STORE_OK) return STORE_ERR;
        long long n = where == LIST_HEAD ? l->hseg : l->tseg;
        if (l->hseg == l->tseg && listEnds(l) != STORE_OK) return STORE_ERR;
        long long lo = n == l->hseg ? l->head : segStart(n);
        long long hi = n == l->tseg ? l->tail : segStart(n + 1);
        if (hi - lo <= count) {
            /* the whole segment goes */
            count -= hi - lo;
            cacheDrop(l, n);
            char name[32];
            int nlen = segName(name, sizeof(name), n);
            if (storeRemoveMember(l->k, SEG_NS, name, (size_t)nlen) == STORE_ERR) return STORE_ERR;
            if (where == LIST_HEAD) {
                l->hseg++;
                l->head = hi;
            } else {
                l->tseg--;
                l->tail = lo;
            }
            continue;
        }
        listSeg *g;
        if (segGet(l, n, &g) != STORE_OK) return STORE_ERR;
        if (where == LIST_HEAD) {
            segDelete(g, 0, (long)count);
            g->first += count;
            l->head += count;
        } else {
            segDelete(g, g->count - (long)count, (long)count);
            l->tail -= count;
        }
        count = 0;
    }
    if (listEmpty(l)) l->tail = l->head;
    return STORE_OK;
}

/* Write back what changed: the segments in memory (kept, clean, for the
 * ends cache; emptied ones forgotten), then "head-seg" and "tail-seg" when
 * a segment was started or emptied at an end. */
static int listSave(listRef *l) {
    for (int i = 0; i < l->ncache;) {
        listSeg *g = l->cache[i];
        if (g->dirty && segSave(l->k, g) != STORE_OK) return STORE_ERR;
        if (g->count == 0) cacheEvict(l, i);
        else i++;
    }
    if ((l->k->staged || l->hseg != l->shseg) && storeWriteNumber(l->k, HEAD_SEG, l->hseg) != STORE_OK) return STORE_ERR;
    if ((l->k->staged || l->tseg != l->stseg) && storeWriteNumber(l->k, TAIL_SEG, l->tseg) != STORE_OK) return STORE_ERR;
    l->shseg = l->hseg;
    l->stseg = l->tseg;
    return STORE_OK;
}

/* Free what l holds in memory (nothing is written). */
static void listRelease(listRef *l) {
    for (int i = 0; i < l->ncache; i++) segFree(l->cache[i]);
    l->ncache = 0;
}

static void listIOError(client *c, skey *k) {
    int saved = errno;
    addReplyErrorIO(c, saved);
    if (k && k->staged) storeDeleteKey(k);
}

/* The last step of every write: write back the changes, publish a new key,
 * or delete an emptied one. C_ERR after replying. */
static int listCommit(client *c, listRef *l) {
    if (listEmpty(l)) {
        listRelease(l);
        if (storeDeleteKey(l->k) == STORE_ERR) goto ioerr;
        return C_OK;
    }
    if (listSave(l) != STORE_OK || (l->k->staged && storePublishKey(l->k, NULL) != STORE_OK)) goto ioerr;
    endsRemember(l);
    return C_OK;
ioerr:
    listRelease(l);
    listIOError(c, l->k);
    return C_ERR;
}

/* ------------------------------------------------------------------------ */
/* For DUMP and RESTORE (dump.c)                                             */
/* ------------------------------------------------------------------------ */

int listVisit(skey *k, listVisitor *fn, void *ud, long long *count) {
    listRef l;
    *count = 0;
    if (listLoad(k, &l, 1) != STORE_OK) return STORE_ERR;
    if (listEmpty(&l)) return damaged(); /* a list key always has an element */
    int r = listEnds(&l);
    for (long long seq = l.head; r == STORE_OK && seq < l.tail; seq++) {
        sds v;
        if ((r = listAt(&l, seq, &v)) == STORE_OK) r = fn(ud, v, sdslen(v));
        if (r == STORE_OK) (*count)++;
    }
    int saved = errno;
    listRelease(&l);
    errno = saved;
    return r;
}

listRef *listBuildStart(skey *k) {
    listRef *l = zmalloc(sizeof(*l));
    listLoad(k, l, 0); /* a staged key: nothing is read */
    return l;
}

int listBuildPush(listRef *l, const char *p, size_t len) { return listPush(l, LIST_TAIL, p, len); }

int listBuildEnd(listRef *l, int save) {
    int r = save ? listSave(l) : STORE_OK;
    int saved = errno;
    listRelease(l);
    zfree(l);
    errno = saved;
    return r;
}

/* ------------------------------------------------------------------------ */
/* Replies built aside: multi-element replies are read into a buffer of their
 * own, so that a storage error half way can still be the only reply.        */
/* ------------------------------------------------------------------------ */

/* Read count elements starting at seq first, forwards or backwards, into an
 * aside buffer of bulk replies. C_ERR after replying. */
static int readItemsAside(client *c, listRef *l, long long first, long long count, int backwards, replyCapture *a) {
    replyCaptureStart(c, a);
    int r = STORE_OK;
    for (long long i = 0; i < count && r == STORE_OK; i++) {
        sds v;
        r = listAt(l, backwards ? first - i : first + i, &v);
        if (r == STORE_OK) addReplyBulk(c, v, sdslen(v));
    }
    replyCaptureStop(c, a);
    if (r != STORE_OK) {
        listIOError(c, NULL);
        replyCaptureAbort(c, a);
        return C_ERR;
    }
    return C_OK;
}

/* Pop count (1..len) elements from the where end, leaving their bulk
 * replies in a (in pop order) for the caller to frame. C_ERR after
 * replying. */
static int listPopAside(client *c, listRef *l, int where, long long count, replyCapture *a) {
    if (listKnow(l, where) != STORE_OK) {
        listIOError(c, NULL);
        return C_ERR;
    }
    long long first = where == LIST_HEAD ? l->head : l->tail - 1;
    if (readItemsAside(c, l, first, count, where == LIST_TAIL, a) != C_OK) return C_ERR;
    if (listDrop(l, where, count) != STORE_OK) {
        listIOError(c, NULL);
        replyCaptureAbort(c, a);
        return C_ERR;
    }
    if (listCommit(c, l) != C_OK) {
        replyCaptureAbort(c, a);
        return C_ERR;
    }
    return C_OK;
}

static int sameBytes(const char *a, size_t alen, const char *b, size_t blen) {
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* LEFT / RIGHT */
static int getListPositionOrReply(client *c, sds arg, int *where) {
    if (!strcasecmp(arg, "right")) *where = LIST_TAIL;
    else if (!strcasecmp(arg, "left")) *where = LIST_HEAD;
    else {
        addReplyErrorSyntax(c);
        return C_ERR;
    }
    return C_OK;
}

/* Open an existing list for a command: C_OK with *k NULL when missing,
 * C_ERR after replying (WRONGTYPE, storage error). ends: make head and
 * tail known (the length). */
static int openList(client *c, sds key, int write, int ends, skey **k, listRef *l) {
    memset(l, 0, sizeof(*l));
    if ((write ? lookupKeyWrite : lookupKeyRead)(c, key, OBJ_LIST, k) != C_OK) return C_ERR;
    if (!*k) return C_OK;
    if (listLoad(*k, l, !write) != STORE_OK || (ends && listEnds(l) != STORE_OK)) {
        listIOError(c, NULL);
        listRelease(l);
        storeCloseKey(*k);
        *k = NULL;
        return C_ERR;
    }
    return C_OK;
}

/* Done with the list: what a read, or a write that changed nothing (LPOP
 * key 0, LREM without a match, ...), learnt goes to the ends cache. (A
 * write that changed the list remembered it in listCommit().) */
static void closeList(skey *k, listRef *l) {
    if (k && (l->readonly || !l->changed)) endsRemember(l);
    listRelease(l);
    storeCloseKey(k);
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/* Keyspace events of a pop from the where end of key: "lpop" or "rpop",
 * then "del" when it took the last element. */
static void notifyListPop(client *c, sds key, int where, int emptied) {
    notifyKeyspaceEvent(NOTIFY_LIST, where == LIST_HEAD ? "lpop" : "rpop", key, c->db);
    if (emptied) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c->db);
}

/* ... and of a push: "new" for a list it created, then "lpush" or "rpush". */
static void notifyListPush(client *c, sds key, int where, int created) {
    if (created) notifyKeyspaceEvent(NOTIFY_NEW, "new", key, c->db);
    notifyKeyspaceEvent(NOTIFY_LIST, where == LIST_HEAD ? "lpush" : "rpush", key, c->db);
}

/* LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...]: one segment
 * rewritten (and one more per 64 elements pushed). */
static void pushGeneric(client *c, int where, int xx) {
    skey *k;
    if (xx) {
        if (lookupKeyWrite(c, c->argv[1], OBJ_LIST, &k) != C_OK) return;
        if (!k) {
            addReplyLongLong(c, 0);
            return;
        }
    } else if (collectionOpenForWrite(c, c->argv[1], OBJ_LIST, &k) != C_OK) {
        return;
    }
    listRef l;
    memset(&l, 0, sizeof(l));
    int created = k->staged;
    if (listLoad(k, &l, 0) != STORE_OK) goto ioerr;
    for (int j = 2; j < c->argc; j++)
        if (listPush(&l, where, c->argv[j], sdslen(c->argv[j])) != STORE_OK) goto ioerr;
    /* the reply needs the other end too */
    if (listEnds(&l) != STORE_OK) goto ioerr;
    long long len = listLen(&l);
    if (listCommit(c, &l) == C_OK) {
        notifyListPush(c, c->argv[1], where, created);
        addReplyLongLong(c, len);
    }
    closeList(k, &l);
    return;
ioerr:
    listIOError(c, k);
    closeList(k, &l);
}

static void lpushCommand(client *c) { pushGeneric(c, LIST_HEAD, 0); }
static void rpushCommand(client *c) { pushGeneric(c, LIST_TAIL, 0); }
static void lpushxCommand(client *c) { pushGeneric(c, LIST_HEAD, 1); }
static void rpushxCommand(client *c) { pushGeneric(c, LIST_TAIL, 1); }

/* LPOP / RPOP key [count] */
static void popGeneric(client *c, int where) {
    int hascount = c->argc == 3;
    long count = 0;
    if (c->argc > 3) {
        addReplyErrorArity(c);
        return;
    }
    if (hascount && getPositiveLongFromArgOrReply(c, c->argv[2], &count, NULL) != C_OK) return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 1, hascount, &k, &l) != C_OK) return;
    if (!k) {
        if (hascount) addReplyNullArray(c);
        else addReplyNull(c);
        return;
    }
    if (hascount && count == 0) {
        addReplyArrayLen(c, 0);
        closeList(k, &l);
        return;
    }
    long long n = !hascount ? 1 : count > listLen(&l) ? listLen(&l) : count;
    replyCapture a;
    if (listPopAside(c, &l, where, n, &a) == C_OK) {
        notifyListPop(c, c->argv[1], where, listEmpty(&l));
        if (hascount) addReplyArrayLen(c, n);
        replyCaptureSend(c, &a, NULL, 0);
    }
    closeList(k, &l);
}

static void lpopCommand(client *c) { popGeneric(c, LIST_HEAD); }
static void rpopCommand(client *c) { popGeneric(c, LIST_TAIL); }

static void llenCommand(client *c) {
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 0, 1, &k, &l) != C_OK) return;
    addReplyLongLong(c, k ? listLen(&l) : 0);
    closeList(k, &l);
}

/* LINDEX key index */
static void lindexCommand(client *c) {
    skey *k;
    listRef l;
    long index;
    if (openList(c, c->argv[1], 0, 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    if (getLongFromArgOrReply(c, c->argv[2], &index, NULL) != C_OK) goto done;
    long long len = listLen(&l), i = index < 0 ? len + index : index;
    if (i < 0 || i >= len) {
        addReplyNull(c);
        goto done;
    }
    sds v;
    if (listAt(&l, l.head + i, &v) != STORE_OK) listIOError(c, NULL);
    else addReplyBulk(c, v, sdslen(v));
done:
    closeList(k, &l);
}

/* LSET key index element: one segment rewritten. */
static void lsetCommand(client *c) {
    skey *k;
    listRef l;
    long index;
    if (openList(c, c->argv[1], 1, 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyError(c, "ERR no such key");
        return;
    }
    if (getLongFromArgOrReply(c, c->argv[2], &index, NULL) != C_OK) goto done;
    long long len = listLen(&l), i = index < 0 ? len + index : index;
    if (i < 0 || i >= len) {
        addReplyError(c, "ERR index out of range");
        goto done;
    }
    if (listSet(&l, l.head + i, c->argv[3], sdslen(c->argv[3])) != STORE_OK) {
        listIOError(c, NULL);
    } else if (listCommit(c, &l) == C_OK) {
        notifyKeyspaceEvent(NOTIFY_LIST, "lset", c->argv[1], c->db);
        addReplyOK(c);
    }
done:
    closeList(k, &l);
}

/* Resolve a Redis start/end pair against len: C_OK with the first index and
 * count, count 0 for an empty range. */
static void rangeOf(long long len, long long start, long long end, long long *first, long long *count) {
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (start > end || start >= len) {
        *first = 0;
        *count = 0;
        return;
    }
    if (end >= len) end = len - 1;
    *first = start;
    *count = end - start + 1;
}

/* LRANGE key start stop: reads the segments holding the range. */
static void lrangeCommand(client *c) {
    long start, end;
    if (getLongFromArgOrReply(c, c->argv[2], &start, NULL) != C_OK ||
        getLongFromArgOrReply(c, c->argv[3], &end, NULL) != C_OK)
        return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 0, 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyArrayLen(c, 0);
        return;
    }
    long long first, count;
    rangeOf(listLen(&l), start, end, &first, &count);
    replyCapture a;
    if (readItemsAside(c, &l, l.head + first, count, 0, &a) == C_OK) {
        addReplyArrayLen(c, count);
        replyCaptureSend(c, &a, NULL, 0);
    }
    closeList(k, &l);
}

/* LTRIM key start stop: the elements before the range are dropped from the
 * head, those after it from the tail; whole segments go unread. */
static void ltrimCommand(client *c) {
    long start, end;
    if (getLongFromArgOrReply(c, c->argv[2], &start, NULL) != C_OK ||
        getLongFromArgOrReply(c, c->argv[3], &end, NULL) != C_OK)
        return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 1, 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyOK(c);
        return;
    }
    long long first, count, len = listLen(&l);
    rangeOf(len, start, end, &first, &count);
    if (count == len) {
        /* nothing to remove; Redis still reports the key modified (WATCH) */
        touchWatchedKey(k->db, k->name, sdslen(k->name));
        notifyKeyspaceEvent(NOTIFY_LIST, "ltrim", c->argv[1], c->db);
        addReplyOK(c);
        goto done;
    }
    if (count == 0) {
        l.hseg = l.tseg + 1; /* empty: the key goes */
        l.changed = 1;
    } else if ((first > 0 && listDrop(&l, LIST_HEAD, first) != STORE_OK) ||
               (len - first - count > 0 && listDrop(&l, LIST_TAIL, len - first - count) != STORE_OK)) {
        listIOError(c, NULL);
        goto done;
    }
    if (listCommit(c, &l) == C_OK) {
        notifyKeyspaceEvent(NOTIFY_LIST, "ltrim", c->argv[1], c->db);
        if (listEmpty(&l)) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
        addReplyOK(c);
    }
done:
    closeList(k, &l);
}

/* Copy the element at seq from over the one at seq to. */
static int listCopy(listRef *l, long long from, long long to) {
    sds v;
    if (listAt(l, from, &v) != STORE_OK) return STORE_ERR;
    v = sdsdup(v); /* listSet() may read another segment, evicting this one */
    int r = listSet(l, to, v, sdslen(v));
    sdsfree(v);
    return r;
}

/* Remove the elements at the npos ascending indexes pos (ends known). The
 * kept elements on the shorter side are shifted over the gaps, then the
 * slots left at that end are dropped: every segment from the first removed
 * element to that end is rewritten once. */
static int listRemoveAt(listRef *l, const long long *pos, long long npos) {
    long long n = listLen(l), h = l->head;
    if (npos >= n) {
        l->hseg = l->tseg + 1;
        l->changed = 1;
        return STORE_OK;
    }
    long long r0 = pos[0], r1 = pos[npos - 1];
    long long before = r1 - (npos - 1);          /* kept elements before r1 */
    long long after = (n - 1 - r0) - (npos - 1); /* kept elements after r0 */
    if (before <= after) {
        long long w = r1, p = npos - 1;
        for (long long r = r1 - 1; r >= 0; r--) {
            if (p > 0 && pos[p - 1] == r) {
                p--;
                continue;
            }
            if (listCopy(l, h + r, h + w) != STORE_OK) return STORE_ERR;
            w--;
        }
        return listDrop(l, LIST_HEAD, npos);
    }
    long long w = r0, p = 0;
    for (long long r = r0 + 1; r < n; r++) {
        if (p + 1 < npos && pos[p + 1] == r) {
            p++;
            continue;
        }
        if (listCopy(l, h + r, h + w) != STORE_OK) return STORE_ERR;
        w++;
    }
    return listDrop(l, LIST_TAIL, npos);
}

/* LREM key count element */
static void lremCommand(client *c) {
    long toremove;
    if (getLongFromArgOrReply(c, c->argv[2], &toremove, NULL) != C_OK) return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 1, 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    sds ele = c->argv[3];
    long long n = listLen(&l), npos = 0, cap = 16;
    long long *pos = zmalloc(sizeof(long long) * (size_t)cap);
    int backwards = toremove < 0;
    /* the limit, as an unsigned number: -LONG_MIN does not fit a long */
    unsigned long long limit = toremove == 0 ? ULLONG_MAX
                               : backwards   ? 0ULL - (unsigned long long)toremove
                                             : (unsigned long long)toremove;
    for (long long i = 0; i < n && (unsigned long long)npos < limit; i++) {
        long long idx = backwards ? n - 1 - i : i;
        sds v;
        if (listAt(&l, l.head + idx, &v) != STORE_OK) {
            listIOError(c, NULL);
            goto done;
        }
        if (sameBytes(v, sdslen(v), ele, sdslen(ele))) {
            if (npos == cap) {
                cap *= 2;
                pos = zrealloc(pos, sizeof(long long) * (size_t)cap);
            }
            pos[npos++] = idx;
        }
    }
    if (backwards) /* ascending order */
        for (long long i = 0; i < npos / 2; i++) {
            long long t = pos[i];
            pos[i] = pos[npos - 1 - i];
            pos[npos - 1 - i] = t;
        }
    if (npos == 0) addReplyLongLong(c, 0);
    else if (listRemoveAt(&l, pos, npos) != STORE_OK) listIOError(c, NULL);
    else if (listCommit(c, &l) == C_OK) {
        notifyKeyspaceEvent(NOTIFY_LIST, "lrem", c->argv[1], c->db);
        if (listEmpty(&l)) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
        addReplyLongLong(c, npos);
    }
done:
    zfree(pos);
    closeList(k, &l);
}

/* LINSERT key BEFORE|AFTER pivot element. The elements on the shorter side
 * of the insertion point move one place outwards: the outermost is pushed
 * at that end, the others are copied one place, and the new element is
 * written into the slot left free. Every segment from the insertion point
 * to that end is rewritten once. */
static void linsertCommand(client *c) {
    int after;
    if (!strcasecmp(c->argv[2], "after")) after = 1;
    else if (!strcasecmp(c->argv[2], "before")) after = 0;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 1, 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    sds pivot = c->argv[3], ele = c->argv[4];
    long long n = listLen(&l), p = -1;
    for (long long i = 0; i < n; i++) {
        sds v;
        if (listAt(&l, l.head + i, &v) != STORE_OK) goto ioerr;
        if (sameBytes(v, sdslen(v), pivot, sdslen(pivot))) {
            p = i;
            break;
        }
    }
    if (p < 0) {
        addReplyLongLong(c, -1);
        goto done;
    }
    long long i = p + after; /* the new element's index */
    long long h = l.head, t = l.tail;
    if (i <= n - i) {
        if (i == 0) {
            if (listPush(&l, LIST_HEAD, ele, sdslen(ele)) != STORE_OK) goto ioerr;
        } else {
            sds v;
            if (listAt(&l, h, &v) != STORE_OK) goto ioerr;
            v = sdsdup(v);
            int r = listPush(&l, LIST_HEAD, v, sdslen(v));
            sdsfree(v);
            if (r != STORE_OK) goto ioerr;
            for (long long j = 1; j < i; j++)
                if (listCopy(&l, h + j, h + j - 1) != STORE_OK) goto ioerr;
            if (listSet(&l, h + i - 1, ele, sdslen(ele)) != STORE_OK) goto ioerr;
        }
    } else {
        if (i == n) {
            if (listPush(&l, LIST_TAIL, ele, sdslen(ele)) != STORE_OK) goto ioerr;
        } else {
            sds v;
            if (listAt(&l, t - 1, &v) != STORE_OK) goto ioerr;
            v = sdsdup(v);
            int r = listPush(&l, LIST_TAIL, v, sdslen(v));
            sdsfree(v);
            if (r != STORE_OK) goto ioerr;
            for (long long j = n - 2; j >= i; j--)
                if (listCopy(&l, h + j, h + j + 1) != STORE_OK) goto ioerr;
            if (listSet(&l, h + i, ele, sdslen(ele)) != STORE_OK) goto ioerr;
        }
    }
    if (listCommit(c, &l) == C_OK) {
        notifyKeyspaceEvent(NOTIFY_LIST, "linsert", c->argv[1], c->db);
        addReplyLongLong(c, n + 1);
    }
    goto done;
ioerr:
    listIOError(c, NULL);
done:
    closeList(k, &l);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static void lposCommand(client *c) {
    sds ele = c->argv[2];
    int backwards = 0;
    long rank = 1, count = -1, maxlen = 0; /* count -1: no COUNT option */
    for (int j = 3; j < c->argc; j++) {
        const char *opt = c->argv[j];
        int moreargs = (c->argc - 1) - j;
        if (!strcasecmp(opt, "rank") && moreargs) {
            j++;
            if (getLongFromArgOrReply(c, c->argv[j], &rank, NULL) != C_OK) return;
            if (rank == 0) {
                addReplyError(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                                 "or use negative to start from the end of the list");
                return;
            }
        } else if (!strcasecmp(opt, "count") && moreargs) {
            j++;
            if (getPositiveLongFromArgOrReply(c, c->argv[j], &count, "ERR COUNT can't be negative") != C_OK) return;
        } else if (!strcasecmp(opt, "maxlen") && moreargs) {
            j++;
            if (getPositiveLongFromArgOrReply(c, c->argv[j], &maxlen, "ERR MAXLEN can't be negative") != C_OK) return;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    /* A negative rank counts from the tail. Redis negates it in a long, so
     * LONG_MIN stays LONG_MIN: every match then qualifies and COUNT never
     * ends the search early. Unsigned arithmetic below reproduces that. */
    if (rank < 0) {
        backwards = 1;
        if (rank != LONG_MIN) rank = -rank;
    }
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 0, 1, &k, &l) != C_OK) return;
    if (!k) {
        if (count != -1) addReplyArrayLen(c, 0);
        else addReplyNull(c);
        return;
    }
    long long len = listLen(&l), matches = 0, found = -1, nreplies = 0;
    replyCapture a;
    replyCaptureStart(c, &a);
    int r = STORE_OK;
    for (long long idx = 0; idx < len && (maxlen == 0 || idx < maxlen); idx++) {
        sds v;
        r = listAt(&l, backwards ? l.tail - 1 - idx : l.head + idx, &v);
        if (r != STORE_OK) break;
        if (!sameBytes(v, sdslen(v), ele, sdslen(ele))) continue;
        matches++;
        if (matches < rank) continue;
        long long at = backwards ? len - idx - 1 : idx;
        if (count == -1) {
            found = at;
            break;
        }
        addReplyLongLong(c, at);
        nreplies++;
        long long got = (long long)((unsigned long long)matches - (unsigned long long)rank + 1ULL);
        if (count && got >= count) break;
    }
    replyCaptureStop(c, &a);
    if (r != STORE_OK) {
        listIOError(c, NULL);
        replyCaptureAbort(c, &a);
    } else if (count != -1) {
        addReplyArrayLen(c, nreplies);
        replyCaptureSend(c, &a, NULL, 0);
    } else {
        replyCaptureAbort(c, &a);
        if (found >= 0) addReplyLongLong(c, found);
        else addReplyNull(c);
    }
    closeList(k, &l);
}

/* Move one element between the ends of one list (source == destination):
 * popped from one end and pushed at the other, one or two segments
 * rewritten. */
static void listRotate(client *c, listRef *l, int wherefrom, int whereto) {
    sds v;
    if (listKnow(l, wherefrom) != STORE_OK || listAt(l, wherefrom == LIST_HEAD ? l->head : l->tail - 1, &v) != STORE_OK) {
        listIOError(c, NULL);
        return;
    }
    v = sdsdup(v);
    if (wherefrom == whereto) {
        /* nothing to write, but Redis popped and pushed: WATCH sees a change */
        touchWatchedKey(l->k->db, l->k->name, sdslen(l->k->name));
    } else {
        if (listDrop(l, wherefrom, 1) != STORE_OK || listPush(l, whereto, v, sdslen(v)) != STORE_OK) {
            listIOError(c, NULL);
            sdsfree(v);
            return;
        }
        if (listCommit(c, l) != C_OK) {
            sdsfree(v);
            return;
        }
    }
    /* as Redis: a push to the key, then the pop from it */
    notifyListPush(c, l->k->name, whereto, 0);
    notifyListPop(c, l->k->name, wherefrom, 0);
    addReplyBulkSds(c, v);
}

/* LMOVE / RPOPLPUSH. Between two lists the element is pushed to the
 * destination, then popped from the source, in one transaction. */
static void lmoveGeneric(client *c, int wherefrom, int whereto, long long block_timeout) {
    skey *src, *dst = NULL;
    listRef s, d;
    memset(&d, 0, sizeof(d));
    if (openList(c, c->argv[1], 1, 0, &src, &s) != C_OK) return;
    if (!src) {
        if (block_timeout >= 0 && clientMayBlock(c))
            blockForKeys(c, BLOCKED_LIST, &c->argv[1], 1, block_timeout, BLOCK_TIMEOUT_NULL);
        else addReplyNull(c);
        return;
    }
    if (sdscmp(c->argv[1], c->argv[2]) == 0) {
        listRotate(c, &s, wherefrom, whereto);
        closeList(src, &s);
        return;
    }
    if (collectionOpenForWrite(c, c->argv[2], OBJ_LIST, &dst) != C_OK) {
        closeList(src, &s);
        return;
    }
    sds v = NULL;
    int created = dst->staged;
    if (listLoad(dst, &d, 0) != STORE_OK || listKnow(&s, wherefrom) != STORE_OK ||
        listAt(&s, wherefrom == LIST_HEAD ? s.head : s.tail - 1, &v) != STORE_OK)
        goto ioerr;
    v = sdsdup(v);
    if (listPush(&d, whereto, v, sdslen(v)) != STORE_OK) goto ioerr;
    if (listCommit(c, &d) != C_OK) goto done;
    if (listDrop(&s, wherefrom, 1) != STORE_OK) {
        listIOError(c, NULL);
        goto done;
    }
    if (listCommit(c, &s) != C_OK) goto done;
    /* in Redis's order: the destination's events, then the source's */
    notifyListPush(c, c->argv[2], whereto, created);
    notifyListPop(c, c->argv[1], wherefrom, listEmpty(&s));
    addReplyBulkSds(c, v);
    v = NULL;
    goto done;
ioerr:
    listIOError(c, dst);
done:
    sdsfree(v);
    closeList(src, &s);
    closeList(dst, &d);
}

static void lmoveCommand(client *c) {
    int wherefrom, whereto;
    if (getListPositionOrReply(c, c->argv[3], &wherefrom) != C_OK ||
        getListPositionOrReply(c, c->argv[4], &whereto) != C_OK)
        return;
    lmoveGeneric(c, wherefrom, whereto, -1);
}

static void rpoplpushCommand(client *c) { lmoveGeneric(c, LIST_TAIL, LIST_HEAD, -1); }

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
static void blmoveCommand(client *c) {
    int wherefrom, whereto;
    long long timeout;
    if (getListPositionOrReply(c, c->argv[3], &wherefrom) != C_OK ||
        getListPositionOrReply(c, c->argv[4], &whereto) != C_OK ||
        getBlockingTimeoutOrReply(c, c->argv[5], &timeout) != C_OK)
        return;
    /* replicas move what was there: LMOVE, as Redis tells them */
    rewriteCommandForPropagation(c, 5, propWord("LMOVE"), c->argv[1], c->argv[2], c->argv[3], c->argv[4]);
    lmoveGeneric(c, wherefrom, whereto, timeout);
}

/* BRPOPLPUSH source destination timeout */
static void brpoplpushCommand(client *c) {
    long long timeout;
    if (getBlockingTimeoutOrReply(c, c->argv[3], &timeout) != C_OK) return;
    rewriteCommandForPropagation(c, 3, propWord("RPOPLPUSH"), c->argv[1], c->argv[2]);
    lmoveGeneric(c, LIST_TAIL, LIST_HEAD, timeout);
}

/* BLPOP / BRPOP key [key ...] timeout: [key, element] from the first
 * non-empty list, or wait for one. */
static void blockingPopGeneric(client *c, int where) {
    long long timeout;
    if (getBlockingTimeoutOrReply(c, c->argv[c->argc - 1], &timeout) != C_OK) return;
    for (int j = 1; j < c->argc - 1; j++) {
        skey *k;
        listRef l;
        if (openList(c, c->argv[j], 1, 0, &k, &l) != C_OK) return;
        if (!k) continue;
        replyCapture a;
        if (listPopAside(c, &l, where, 1, &a) == C_OK) {
            notifyListPop(c, c->argv[j], where, listEmpty(&l));
            rewriteCommandForPropagation(c, 2, propWord(where == LIST_HEAD ? "LPOP" : "RPOP"), c->argv[j]);
            addReplyArrayLen(c, 2);
            addReplyBulk(c, c->argv[j], sdslen(c->argv[j]));
            replyCaptureSend(c, &a, NULL, 0);
        }
        closeList(k, &l);
        return;
    }
    if (clientMayBlock(c)) blockForKeys(c, BLOCKED_LIST, &c->argv[1], c->argc - 2, timeout, BLOCK_TIMEOUT_NULL_ARRAY);
    else addReplyNullArray(c);
}

static void blpopCommand(client *c) { blockingPopGeneric(c, LIST_HEAD); }
static void brpopCommand(client *c) { blockingPopGeneric(c, LIST_TAIL); }

/* [B]LMPOP: numkeys is argv[first]; block_timeout -1 for LMPOP. */
static void lmpopGeneric(client *c, int first, long long block_timeout) {
    long numkeys, count = -1;
    int where;
    if (!string2l(c->argv[first], sdslen(c->argv[first]), &numkeys) || numkeys < 1) {
        addReplyError(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys >= c->argc - first - 1) { /* no room for LEFT|RIGHT */
        addReplyErrorSyntax(c);
        return;
    }
    int where_idx = first + 1 + (int)numkeys;
    if (getListPositionOrReply(c, c->argv[where_idx], &where) != C_OK) return;
    for (int j = where_idx + 1; j < c->argc; j++) {
        int moreargs = (c->argc - 1) - j;
        if (count == -1 && !strcasecmp(c->argv[j], "count") && moreargs) {
            j++;
            if (!string2l(c->argv[j], sdslen(c->argv[j]), &count) || count < 1) {
                addReplyError(c, "ERR count should be greater than 0");
                return;
            }
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (count == -1) count = 1;
    for (int j = first + 1; j < where_idx; j++) {
        skey *k;
        listRef l;
        if (openList(c, c->argv[j], 1, 1, &k, &l) != C_OK) return;
        if (!k) continue;
        long long n = count > listLen(&l) ? listLen(&l) : count;
        replyCapture a;
        if (listPopAside(c, &l, where, n, &a) == C_OK) {
            notifyListPop(c, c->argv[j], where, listEmpty(&l));
            sds count_arg = sdsfromlonglong(n);
            rewriteCommandForPropagation(c, 3, propWord(where == LIST_HEAD ? "LPOP" : "RPOP"), c->argv[j], count_arg);
            sdsfree(count_arg);
            addReplyArrayLen(c, 2);
            addReplyBulk(c, c->argv[j], sdslen(c->argv[j]));
            addReplyArrayLen(c, n);
            replyCaptureSend(c, &a, NULL, 0);
        }
        closeList(k, &l);
        return;
    }
    if (block_timeout >= 0 && clientMayBlock(c))
        blockForKeys(c, BLOCKED_LIST, &c->argv[first + 1], (int)numkeys, block_timeout, BLOCK_TIMEOUT_NULL_ARRAY);
    else addReplyNullArray(c);
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void lmpopCommand(client *c) { lmpopGeneric(c, 1, -1); }

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void blmpopCommand(client *c) {
    long long timeout;
    if (getBlockingTimeoutOrReply(c, c->argv[1], &timeout) != C_OK) return;
    lmpopGeneric(c, 2, timeout);
}

redisCommand listCommandTable[] = {
    {"blpop", blpopCommand, -3, "write noscript blocking", "write list slow blocking", 1, -2, 1, NULL},
    {"brpop", brpopCommand, -3, "write noscript blocking", "write list slow blocking", 1, -2, 1, NULL},
    {"brpoplpush", brpoplpushCommand, 4, "write denyoom noscript blocking", "write list slow blocking", 1, 2, 1, NULL},
    {"blmove", blmoveCommand, 6, "write denyoom noscript blocking", "write list slow blocking", 1, 2, 1, NULL},
    {"blmpop", blmpopCommand, -5, "write blocking movablekeys", "write list slow blocking", 0, 0, 0, NULL},
    {"lpush", lpushCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, NULL},
    {"rpush", rpushCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, NULL},
    {"lpushx", lpushxCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, NULL},
    {"rpushx", rpushxCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, NULL},
    {"lpop", lpopCommand, -2, "write fast", "write list fast", 1, 1, 1, NULL},
    {"rpop", rpopCommand, -2, "write fast", "write list fast", 1, 1, 1, NULL},
    {"llen", llenCommand, 2, "readonly fast", "read list fast", 1, 1, 1, NULL},
    {"lindex", lindexCommand, 3, "readonly", "read list slow", 1, 1, 1, NULL},
    {"lrange", lrangeCommand, 4, "readonly", "read list slow", 1, 1, 1, NULL},
    {"lset", lsetCommand, 4, "write denyoom", "write list slow", 1, 1, 1, NULL},
    {"lrem", lremCommand, 4, "write", "write list slow", 1, 1, 1, NULL},
    {"ltrim", ltrimCommand, 4, "write", "write list slow", 1, 1, 1, NULL},
    {"linsert", linsertCommand, 5, "write denyoom", "write list slow", 1, 1, 1, NULL},
    {"lpos", lposCommand, -3, "readonly", "read list slow", 1, 1, 1, NULL},
    {"lmove", lmoveCommand, 5, "write denyoom", "write list slow", 1, 2, 1, NULL},
    {"rpoplpush", rpoplpushCommand, 3, "write denyoom", "write list slow", 1, 2, 1, NULL},
    {"lmpop", lmpopCommand, -4, "write movablekeys", "write list slow", 0, 0, 0, NULL},
    {NULL}};
