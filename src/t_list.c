/* t_list.c - list commands. A list is a key directory holding one file per
 * element, items/<seq>, where seq is a signed 64-bit sequence number; the
 * elements are the seqs head .. tail-1, in order, kept in the "head" and
 * "tail" files, and "len" holds tail - head (docs/storage-format.md, "Lists").
 *
 * Pushing or popping at either end writes the element file and moves one
 * counter: O(1) files whatever the length. Every command orders its writes so
 * that a crash leaves a list that reads correctly: element files are written
 * before the counter that brings them into range and removed only after the
 * counter moved them out of it. Files outside [head, tail) ("strays") are
 * never read; a later write to their seq replaces them. */
#include "server.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>

#define LIST_HEAD 0 /* LEFT */
#define LIST_TAIL 1 /* RIGHT */
#define ITEMS "items"
/* head and tail stay within +-SEQ_LIMIT: a command moves them by less than
 * 2^32, so the arithmetic below cannot overflow. */
#define SEQ_LIMIT (1LL << 62)

typedef struct listRef {
    skey *k;
    long long head, tail; /* the elements are items/head .. items/tail-1 */
    long long stored;     /* the "len" file as read */
} listRef;

/* ------------------------------------------------------------------------ */
/* The list on disk                                                          */
/* ------------------------------------------------------------------------ */

static int listLoad(skey *k, listRef *l) {
    l->k = k;
    if (storeReadNumber(k, "head", &l->head, 0) != STORE_OK || storeReadNumber(k, "tail", &l->tail, 0) != STORE_OK ||
        collectionLen(k, &l->stored) != STORE_OK)
        return STORE_ERR;
    /* a published list always has an element; a new (staged) one has none */
    if (l->head < -SEQ_LIMIT || l->tail > SEQ_LIMIT || l->tail < l->head || (!k->staged && l->tail == l->head)) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

static long long listLen(const listRef *l) { return l->tail - l->head; }

static int itemRead(listRef *l, long long seq, sds *out) {
    char name[32];
    int n = ll2string(name, sizeof(name), seq);
    int r = storeReadMember(l->k, ITEMS, name, (size_t)n, out);
    if (r == STORE_NOTFOUND) errno = EUCLEAN; /* a hole inside [head, tail) */
    return r == STORE_OK ? STORE_OK : STORE_ERR;
}

static int itemWrite(listRef *l, long long seq, const char *p, size_t len) {
    char name[32];
    int n = ll2string(name, sizeof(name), seq);
    return storeWriteMember(l->k, ITEMS, name, (size_t)n, p, len, NULL);
}

/* items/to becomes a copy of items/from (a hard link: no bytes copied). */
static int itemCopy(listRef *l, long long from, long long to) {
    char fname[32], tname[32];
    int fn = ll2string(fname, sizeof(fname), from);
    int tn = ll2string(tname, sizeof(tname), to);
    int r = storeCopyMember(l->k, ITEMS, fname, (size_t)fn, tname, (size_t)tn);
    if (r == STORE_NOTFOUND) errno = EUCLEAN;
    return r == STORE_OK ? STORE_OK : STORE_ERR;
}

/* Remove an element file already outside [head, tail). A failure leaves a
 * stray, which nothing reads: it is not reported. */
static void itemRemove(listRef *l, long long seq) {
    char name[32];
    int n = ll2string(name, sizeof(name), seq);
    storeRemoveMember(l->k, ITEMS, name, (size_t)n);
}

static int listSetHead(listRef *l, long long head) {
    if (head == l->head) return STORE_OK;
    if (storeWriteNumber(l->k, "head", head) != STORE_OK) return STORE_ERR;
    l->head = head;
    return STORE_OK;
}

static int listSetTail(listRef *l, long long tail) {
    if (tail == l->tail) return STORE_OK;
    if (storeWriteNumber(l->k, "tail", tail) != STORE_OK) return STORE_ERR;
    l->tail = tail;
    return STORE_OK;
}

static void listIOError(client *c, skey *k) {
    int saved = errno;
    addReplyErrorIO(c, saved);
    if (k && k->staged) storeDeleteKey(k);
}

/* The last step of every write: bring "len" up to date (it is written last,
 * so a stale one is repaired here), publish a new key, or delete an emptied
 * one (set head = tail for that). C_ERR after replying. */
static int listCommit(client *c, listRef *l) {
    /* a new key gets both counters, whichever end was pushed */
    if (l->k->staged && listLen(l) > 0 &&
        (storeWriteNumber(l->k, "head", l->head) != STORE_OK || storeWriteNumber(l->k, "tail", l->tail) != STORE_OK)) {
        listIOError(c, l->k);
        return C_ERR;
    }
    if (collectionCommit(c, l->k, listLen(l) - l->stored) != C_OK) return C_ERR;
    l->stored = listLen(l);
    return C_OK;
}

/* Remove count (>= 1) elements from the where end: move the counter, then
 * remove the files now outside the range. The whole list: delete the key.
 * C_ERR after replying. */
static int listRemoveEnd(client *c, listRef *l, int where, long long count) {
    if (count >= listLen(l)) {
        l->head = l->tail;
        return listCommit(c, l);
    }
    long long oldh = l->head, oldt = l->tail;
    int r = where == LIST_HEAD ? listSetHead(l, oldh + count) : listSetTail(l, oldt - count);
    if (r != STORE_OK) {
        listIOError(c, NULL);
        return C_ERR;
    }
    for (long long i = 0; i < count; i++) itemRemove(l, where == LIST_HEAD ? oldh + i : oldt - 1 - i);
    return listCommit(c, l);
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
        r = itemRead(l, backwards ? first - i : first + i, &v);
        if (r == STORE_OK) addReplyBulkSds(c, v);
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
    long long first = where == LIST_HEAD ? l->head : l->tail - 1;
    if (readItemsAside(c, l, first, count, where == LIST_TAIL, a) != C_OK) return C_ERR;
    if (listRemoveEnd(c, l, where, count) != C_OK) {
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
 * C_ERR after replying (WRONGTYPE, storage error). */
static int openList(client *c, sds key, int write, skey **k, listRef *l) {
    if ((write ? lookupKeyWrite : lookupKeyRead)(c, key, OBJ_LIST, k) != C_OK) return C_ERR;
    if (!*k) return C_OK;
    if (listLoad(*k, l) != STORE_OK) {
        listIOError(c, NULL);
        storeCloseKey(*k);
        *k = NULL;
        return C_ERR;
    }
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/* LPUSH / RPUSH / LPUSHX / RPUSHX key element [element ...]: all element
 * files first, then the counter, so the push is all or nothing. */
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
    long long n = c->argc - 2;
    if (listLoad(k, &l) != STORE_OK) goto ioerr;
    for (long long j = 0; j < n; j++) {
        sds v = c->argv[j + 2];
        if (itemWrite(&l, where == LIST_HEAD ? l.head - 1 - j : l.tail + j, v, sdslen(v)) != STORE_OK) goto ioerr;
    }
    if ((where == LIST_HEAD ? listSetHead(&l, l.head - n) : listSetTail(&l, l.tail + n)) != STORE_OK) goto ioerr;
    if (listCommit(c, &l) == C_OK) addReplyLongLong(c, listLen(&l));
    storeCloseKey(k);
    return;
ioerr:
    listIOError(c, k);
    storeCloseKey(k);
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
    if (openList(c, c->argv[1], 1, &k, &l) != C_OK) return;
    if (!k) {
        if (hascount) addReplyNullArray(c);
        else addReplyNull(c);
        return;
    }
    if (hascount && count == 0) {
        addReplyArrayLen(c, 0);
        storeCloseKey(k);
        return;
    }
    long long n = !hascount ? 1 : count > listLen(&l) ? listLen(&l) : count;
    replyCapture a;
    if (listPopAside(c, &l, where, n, &a) == C_OK) {
        if (hascount) addReplyArrayLen(c, n);
        replyCaptureSend(c, &a, NULL, 0);
    }
    storeCloseKey(k);
}

static void lpopCommand(client *c) { popGeneric(c, LIST_HEAD); }
static void rpopCommand(client *c) { popGeneric(c, LIST_TAIL); }

static void llenCommand(client *c) {
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 0, &k, &l) != C_OK) return;
    addReplyLongLong(c, k ? listLen(&l) : 0);
    storeCloseKey(k);
}

/* LINDEX key index */
static void lindexCommand(client *c) {
    skey *k;
    listRef l;
    long index;
    if (openList(c, c->argv[1], 0, &k, &l) != C_OK) return;
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
    if (itemRead(&l, l.head + i, &v) != STORE_OK) listIOError(c, NULL);
    else addReplyBulkSds(c, v);
done:
    storeCloseKey(k);
}

/* LSET key index element: one element file replaced. */
static void lsetCommand(client *c) {
    skey *k;
    listRef l;
    long index;
    if (openList(c, c->argv[1], 1, &k, &l) != C_OK) return;
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
    if (itemWrite(&l, l.head + i, c->argv[3], sdslen(c->argv[3])) != STORE_OK) listIOError(c, NULL);
    else addReplyOK(c);
done:
    storeCloseKey(k);
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

/* LRANGE key start stop */
static void lrangeCommand(client *c) {
    long start, end;
    if (getLongFromArgOrReply(c, c->argv[2], &start, NULL) != C_OK ||
        getLongFromArgOrReply(c, c->argv[3], &end, NULL) != C_OK)
        return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 0, &k, &l) != C_OK) return;
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
    storeCloseKey(k);
}

/* LTRIM key start stop: both counters move first (head, then tail), then the
 * files outside the new range are removed. */
static void ltrimCommand(client *c) {
    long start, end;
    if (getLongFromArgOrReply(c, c->argv[2], &start, NULL) != C_OK ||
        getLongFromArgOrReply(c, c->argv[3], &end, NULL) != C_OK)
        return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyOK(c);
        return;
    }
    long long first, count;
    rangeOf(listLen(&l), start, end, &first, &count);
    long long oldh = l.head, oldt = l.tail;
    if (count == listLen(&l)) {
        /* nothing to remove; Redis still reports the key modified (WATCH) */
        touchWatchedKey(k->db, k->name, sdslen(k->name));
        addReplyOK(c);
        goto done;
    }
    if (count == 0) {
        l.head = l.tail; /* empty: the key goes */
    } else if (listSetHead(&l, oldh + first) != STORE_OK || listSetTail(&l, oldh + first + count) != STORE_OK) {
        listIOError(c, NULL);
        goto done;
    } else {
        for (long long s = oldh; s < l.head; s++) itemRemove(&l, s);
        for (long long s = l.tail; s < oldt; s++) itemRemove(&l, s);
    }
    if (listCommit(c, &l) == C_OK) addReplyOK(c);
done:
    storeCloseKey(k);
}

/* Remove the elements at the npos ascending indexes pos. The kept elements
 * on the shorter side are shifted over the gaps one copy at a time (each a
 * hard link renamed over its target, so every intermediate state is a list
 * holding each kept element at least once), then the counter of that side
 * moves and the files left outside the range are removed. C_ERR after
 * replying. */
static int listRemoveAt(client *c, listRef *l, const long long *pos, long long npos) {
    long long n = listLen(l), h = l->head;
    if (npos >= n) {
        l->head = l->tail;
        return listCommit(c, l);
    }
    long long r0 = pos[0], r1 = pos[npos - 1];
    long long before = r1 - (npos - 1);      /* kept elements before r1 */
    long long after = (n - 1 - r0) - (npos - 1); /* kept elements after r0 */
    if (before <= after) {
        long long w = r1, p = npos - 1;
        for (long long r = r1 - 1; r >= 0; r--) {
            if (p > 0 && pos[p - 1] == r) {
                p--;
                continue;
            }
            if (itemCopy(l, h + r, h + w) != STORE_OK) goto ioerr;
            w--;
        }
        if (listSetHead(l, h + npos) != STORE_OK) goto ioerr;
        for (long long i = 0; i < npos; i++) itemRemove(l, h + i);
    } else {
        long long w = r0, p = 0, t = l->tail;
        for (long long r = r0 + 1; r < n; r++) {
            if (p + 1 < npos && pos[p + 1] == r) {
                p++;
                continue;
            }
            if (itemCopy(l, h + r, h + w) != STORE_OK) goto ioerr;
            w++;
        }
        if (listSetTail(l, t - npos) != STORE_OK) goto ioerr;
        for (long long i = 1; i <= npos; i++) itemRemove(l, t - i);
    }
    return listCommit(c, l);
ioerr:
    listIOError(c, NULL);
    return C_ERR;
}

/* LREM key count element */
static void lremCommand(client *c) {
    long toremove;
    if (getLongFromArgOrReply(c, c->argv[2], &toremove, NULL) != C_OK) return;
    skey *k;
    listRef l;
    if (openList(c, c->argv[1], 1, &k, &l) != C_OK) return;
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
        if (itemRead(&l, l.head + idx, &v) != STORE_OK) {
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
        sdsfree(v);
    }
    if (backwards) /* ascending order */
        for (long long i = 0; i < npos / 2; i++) {
            long long t = pos[i];
            pos[i] = pos[npos - 1 - i];
            pos[npos - 1 - i] = t;
        }
    if (npos == 0) addReplyLongLong(c, 0);
    else if (listRemoveAt(c, &l, pos, npos) == C_OK) addReplyLongLong(c, npos);
done:
    zfree(pos);
    storeCloseKey(k);
}

/* LINSERT key BEFORE|AFTER pivot element. The elements on the shorter side
 * of the insertion point move one place outwards: the outermost is copied
 * into the free slot beyond the counter, the counter moves (the list now
 * holds that element twice), the others are copied one by one, and the new
 * element is written last over the one duplicate left. */
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
    if (openList(c, c->argv[1], 1, &k, &l) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    sds pivot = c->argv[3], ele = c->argv[4];
    long long n = listLen(&l), p = -1;
    for (long long i = 0; i < n; i++) {
        sds v;
        if (itemRead(&l, l.head + i, &v) != STORE_OK) goto ioerr;
        int eq = sameBytes(v, sdslen(v), pivot, sdslen(pivot));
        sdsfree(v);
        if (eq) {
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
            if (itemWrite(&l, h - 1, ele, sdslen(ele)) != STORE_OK || listSetHead(&l, h - 1) != STORE_OK) goto ioerr;
        } else {
            if (itemCopy(&l, h, h - 1) != STORE_OK || listSetHead(&l, h - 1) != STORE_OK) goto ioerr;
            for (long long j = 1; j < i; j++)
                if (itemCopy(&l, h + j, h + j - 1) != STORE_OK) goto ioerr;
            if (itemWrite(&l, h + i - 1, ele, sdslen(ele)) != STORE_OK) goto ioerr;
        }
    } else {
        if (i == n) {
            if (itemWrite(&l, t, ele, sdslen(ele)) != STORE_OK || listSetTail(&l, t + 1) != STORE_OK) goto ioerr;
        } else {
            if (itemCopy(&l, t - 1, t) != STORE_OK || listSetTail(&l, t + 1) != STORE_OK) goto ioerr;
            for (long long j = n - 2; j >= i; j--)
                if (itemCopy(&l, h + j, h + j + 1) != STORE_OK) goto ioerr;
            if (itemWrite(&l, h + i, ele, sdslen(ele)) != STORE_OK) goto ioerr;
        }
    }
    if (listCommit(c, &l) == C_OK) addReplyLongLong(c, listLen(&l));
    goto done;
ioerr:
    listIOError(c, NULL);
done:
    storeCloseKey(k);
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
    if (openList(c, c->argv[1], 0, &k, &l) != C_OK) return;
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
        r = itemRead(&l, backwards ? l.tail - 1 - idx : l.head + idx, &v);
        if (r != STORE_OK) break;
        int eq = sameBytes(v, sdslen(v), ele, sdslen(ele));
        sdsfree(v);
        if (!eq) continue;
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
    storeCloseKey(k);
}

/* Move one element between the ends of one list (source == destination).
 * The element is copied to the free slot beyond the destination end, that
 * counter moves (the element is now in the list twice), then the source
 * end's counter, then the old file goes. */
static void listRotate(client *c, listRef *l, int wherefrom, int whereto) {
    long long from = wherefrom == LIST_HEAD ? l->head : l->tail - 1;
    sds v;
    if (itemRead(l, from, &v) != STORE_OK) {
        listIOError(c, NULL);
        return;
    }
    if (wherefrom == whereto) {
        /* nothing to write, but Redis popped and pushed: WATCH sees a change */
        touchWatchedKey(l->k->db, l->k->name, sdslen(l->k->name));
    } else {
        long long h = l->head, t = l->tail;
        int r;
        if (wherefrom == LIST_TAIL)
            r = itemCopy(l, from, h - 1) == STORE_OK && listSetHead(l, h - 1) == STORE_OK &&
                listSetTail(l, t - 1) == STORE_OK;
        else
            r = itemCopy(l, from, t) == STORE_OK && listSetTail(l, t + 1) == STORE_OK &&
                listSetHead(l, h + 1) == STORE_OK;
        if (!r) {
            listIOError(c, NULL);
            sdsfree(v);
            return;
        }
        itemRemove(l, from);
        if (listCommit(c, l) != C_OK) {
            sdsfree(v);
            return;
        }
    }
    addReplyBulkSds(c, v);
}

/* LMOVE / RPOPLPUSH. Between two lists the element is pushed to the
 * destination (written and counted there) before it is popped from the
 * source: a crash between the two leaves it in both, never in neither. */
static void lmoveGeneric(client *c, int wherefrom, int whereto, long long block_timeout) {
    skey *src, *dst = NULL;
    listRef s, d;
    if (openList(c, c->argv[1], 1, &src, &s) != C_OK) return;
    if (!src) {
        if (block_timeout >= 0 && clientMayBlock(c))
            blockForKeys(c, BLOCKED_LIST, &c->argv[1], 1, block_timeout, BLOCK_TIMEOUT_NULL);
        else addReplyNull(c);
        return;
    }
    if (sdscmp(c->argv[1], c->argv[2]) == 0) {
        listRotate(c, &s, wherefrom, whereto);
        storeCloseKey(src);
        return;
    }
    if (collectionOpenForWrite(c, c->argv[2], OBJ_LIST, &dst) != C_OK) {
        storeCloseKey(src);
        return;
    }
    sds v = NULL;
    if (listLoad(dst, &d) != STORE_OK || itemRead(&s, wherefrom == LIST_HEAD ? s.head : s.tail - 1, &v) != STORE_OK)
        goto ioerr;
    if (whereto == LIST_HEAD) {
        if (itemWrite(&d, d.head - 1, v, sdslen(v)) != STORE_OK || listSetHead(&d, d.head - 1) != STORE_OK) goto ioerr;
    } else {
        if (itemWrite(&d, d.tail, v, sdslen(v)) != STORE_OK || listSetTail(&d, d.tail + 1) != STORE_OK) goto ioerr;
    }
    if (listCommit(c, &d) != C_OK || listRemoveEnd(c, &s, wherefrom, 1) != C_OK) goto done;
    addReplyBulkSds(c, v);
    v = NULL;
    goto done;
ioerr:
    listIOError(c, dst);
done:
    sdsfree(v);
    storeCloseKey(src);
    storeCloseKey(dst);
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
    lmoveGeneric(c, wherefrom, whereto, timeout);
}

/* BRPOPLPUSH source destination timeout */
static void brpoplpushCommand(client *c) {
    long long timeout;
    if (getBlockingTimeoutOrReply(c, c->argv[3], &timeout) != C_OK) return;
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
        if (openList(c, c->argv[j], 1, &k, &l) != C_OK) return;
        if (!k) continue;
        replyCapture a;
        if (listPopAside(c, &l, where, 1, &a) == C_OK) {
            addReplyArrayLen(c, 2);
            addReplyBulk(c, c->argv[j], sdslen(c->argv[j]));
            replyCaptureSend(c, &a, NULL, 0);
        }
        storeCloseKey(k);
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
        if (openList(c, c->argv[j], 1, &k, &l) != C_OK) return;
        if (!k) continue;
        long long n = count > listLen(&l) ? listLen(&l) : count;
        replyCapture a;
        if (listPopAside(c, &l, where, n, &a) == C_OK) {
            addReplyArrayLen(c, 2);
            addReplyBulk(c, c->argv[j], sdslen(c->argv[j]));
            addReplyArrayLen(c, n);
            replyCaptureSend(c, &a, NULL, 0);
        }
        storeCloseKey(k);
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
    {"blpop", blpopCommand, -3, "write noscript blocking", "write list slow blocking", 1, -2, 1, "list", "2.0.0",
     "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the "
     "list if the last element was popped.",
     "O(N) where N is the number of provided keys.", NULL},
    {"brpop", brpopCommand, -3, "write noscript blocking", "write list slow blocking", 1, -2, 1, "list", "2.0.0",
     "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the "
     "list if the last element was popped.",
     "O(N) where N is the number of provided keys.", NULL},
    {"brpoplpush", brpoplpushCommand, 4, "write denyoom noscript blocking", "write list slow blocking", 1, 2, 1,
     "list", "2.2.0",
     "Pops an element from a list, pushes it to another list and returns it. Block until an element is available "
     "otherwise. Deletes the list if the last element was popped.",
     "O(1)", NULL},
    {"blmove", blmoveCommand, 6, "write denyoom noscript blocking", "write list slow blocking", 1, 2, 1, "list",
     "6.2.0",
     "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available "
     "otherwise. Deletes the list if the last element was moved.",
     "O(1)", NULL},
    {"blmpop", blmpopCommand, -5, "write blocking", "write list slow blocking", 0, 0, 0, "list", "7.0.0",
     "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes "
     "the list if the last element was popped.",
     "O(N+M) where N is the number of provided keys and M is the number of elements returned.", NULL},
    {"lpush", lpushCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, "list", "1.0.0",
     "Prepends one or more elements to a list. Creates the key if it doesn't exist.",
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
     NULL},
    {"rpush", rpushCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, "list", "1.0.0",
     "Appends one or more elements to a list. Creates the key if it doesn't exist.",
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
     NULL},
    {"lpushx", lpushxCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, "list", "2.2.0",
     "Prepends one or more elements to a list only when the list exists.",
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
     NULL},
    {"rpushx", rpushxCommand, -3, "write denyoom fast", "write list fast", 1, 1, 1, "list", "2.2.0",
     "Appends an element to a list only when the list exists.",
     "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
     NULL},
    {"lpop", lpopCommand, -2, "write fast", "write list fast", 1, 1, 1, "list", "1.0.0",
     "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
     "O(N) where N is the number of elements returned", NULL},
    {"rpop", rpopCommand, -2, "write fast", "write list fast", 1, 1, 1, "list", "1.0.0",
     "Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
     "O(N) where N is the number of elements returned", NULL},
    {"llen", llenCommand, 2, "readonly fast", "read list fast", 1, 1, 1, "list", "1.0.0",
     "Returns the length of a list.", "O(1)", NULL},
    {"lindex", lindexCommand, 3, "readonly", "read list slow", 1, 1, 1, "list", "1.0.0",
     "Returns an element from a list by its index.", "O(1): one file is read", NULL},
    {"lrange", lrangeCommand, 4, "readonly", "read list slow", 1, 1, 1, "list", "1.0.0",
     "Returns a range of elements from a list.", "O(N) where N is the number of elements returned", NULL},
    {"lset", lsetCommand, 4, "write denyoom", "write list slow", 1, 1, 1, "list", "1.0.0",
     "Sets the value of an element in a list by its index.", "O(1): one file is replaced", NULL},
    {"lrem", lremCommand, 4, "write", "write list slow", 1, 1, 1, "list", "1.0.0",
     "Removes elements from a list. Deletes the list if the last element was removed.",
     "O(N+M) where N is the length of the list and M is the number of elements removed; the kept elements on the "
     "shorter side of the removed ones are moved (one hard link each, no bytes copied)",
     NULL},
    {"ltrim", ltrimCommand, 4, "write", "write list slow", 1, 1, 1, "list", "1.0.0",
     "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
     "O(N) where N is the number of elements to be removed by the operation.", NULL},
    {"linsert", linsertCommand, 5, "write denyoom", "write list slow", 1, 1, 1, "list", "2.2.0",
     "Inserts an element before or after another element in a list.",
     "O(N) where N is the number of elements traversed before seeing the pivot, plus the elements on the shorter "
     "side of it, which are moved (one hard link each)",
     NULL},
    {"lpos", lposCommand, -3, "readonly", "read list slow", 1, 1, 1, "list", "6.0.6",
     "Returns the index of matching elements in a list.",
     "O(N) where N is the number of elements in the list, for the average case. When searching for elements near "
     "the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
     NULL},
    {"lmove", lmoveCommand, 5, "write denyoom", "write list slow", 1, 2, 1, "list", "6.2.0",
     "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last "
     "element was moved.",
     "O(1)", NULL},
    {"rpoplpush", rpoplpushCommand, 3, "write denyoom", "write list slow", 1, 2, 1, "list", "1.2.0",
     "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the "
     "last element was popped.",
     "O(1)", NULL},
    {"lmpop", lmpopCommand, -4, "write movablekeys", "write list slow", 0, 0, 0, "list", "7.0.0",
     "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.",
     "O(N+M) where N is the number of provided keys and M is the number of elements returned.", NULL},
    {NULL}};
