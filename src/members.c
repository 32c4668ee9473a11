/* members.c - helpers shared by the hash (t_hash.c) and set (t_set.c)
 * commands; see members.h. */
#include "members.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>

/* ------------------------------------------------------------------------ */
/* memberSet                                                                 */
/* ------------------------------------------------------------------------ */

void memberSetInit(memberSet *s) {
    s->cap = 16;
    s->used = 0;
    s->slots = zcalloc(sizeof(sds) * s->cap);
}

static size_t memberSetSlot(sds *slots, size_t cap, const char *m, size_t len) {
    size_t i = (size_t)siphashish(m, len) & (cap - 1);
    while (slots[i] && !(sdslen(slots[i]) == len && !memcmp(slots[i], m, len))) i = (i + 1) & (cap - 1);
    return i;
}

int memberSetHas(const memberSet *s, const char *m, size_t len) {
    return s->slots[memberSetSlot(s->slots, s->cap, m, len)] != NULL;
}

int memberSetAdd(memberSet *s, const char *m, size_t len) {
    size_t i = memberSetSlot(s->slots, s->cap, m, len);
    if (s->slots[i]) return 0;
    s->slots[i] = sdsnewlen(m, len);
    if (++s->used * 2 > s->cap) {
        size_t ncap = s->cap * 2;
        sds *n = zcalloc(sizeof(sds) * ncap);
        for (size_t j = 0; j < s->cap; j++)
            if (s->slots[j]) n[memberSetSlot(n, ncap, s->slots[j], sdslen(s->slots[j]))] = s->slots[j];
        zfree(s->slots);
        s->slots = n;
        s->cap = ncap;
    }
    return 1;
}

void memberSetFree(memberSet *s) {
    for (size_t j = 0; j < s->cap; j++) sdsfree(s->slots[j]);
    zfree(s->slots);
    s->slots = NULL;
    s->cap = s->used = 0;
}

/* ------------------------------------------------------------------------ */
/* Writes                                                                    */
/* ------------------------------------------------------------------------ */

void membersDiscard(skey *k) {
    if (k && k->staged) storeDeleteKey(k);
}

void membersFail(client *c, skey *k, int err) {
    /* a key being built is not part of the visible tree, so the journal
     * does not undo it: throw it away here */
    if (k->staged) storeDeleteKey(k);
    addReplyErrorIO(c, err); /* rolls back the command's visible changes */
}

/* Are the members of ns all among the names of args? *listed gets how many
 * there are (counted only when they all are). Stops at the first that is
 * not. */
static int allAmong(skey *k, const char *ns, memberSet *args, int *all, long long *listed) {
    storeIter *it;
    sds m;
    int r;
    *all = 1;
    *listed = 0;
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        int among = memberSetHas(args, m, sdslen(m));
        sdsfree(m);
        if (!among) {
            *all = 0;
            break;
        }
        (*listed)++;
    }
    int saved = errno;
    storeIterClose(it);
    errno = saved;
    return r == STORE_ERR ? STORE_ERR : STORE_OK;
}

int membersRemove(client *c, skey *k, const char *ns, sds *m, int n, long long *removed, int *keydeleted) {
    long long len, newlen;
    memberSet args;
    sds *present = zmalloc(sizeof(sds) * (size_t)(n ? n : 1));
    long long np = 0;
    *removed = 0;
    if (keydeleted) *keydeleted = 0;
    memberSetInit(&args);
    if (collectionLen(k, &len) != STORE_OK) goto ioerr;
    /* which of the (distinct) arguments are members */
    for (int i = 0; i < n; i++) {
        if (!memberSetAdd(&args, m[i], sdslen(m[i]))) continue;
        int r = storeMemberExists(k, ns, m[i], sdslen(m[i]));
        if (r == STORE_ERR) goto ioerr;
        if (r == STORE_OK) present[np++] = m[i];
    }
    if (np == 0) goto done;
    newlen = len - np;
    if (newlen <= 0) {
        /* by "len" the key empties. "len" never counts more members than
         * there are files, but may count fewer after a crash: so read the
         * directory (O(n): it stops at the first member not among the
         * arguments). When nothing else is there, the key goes in one step
         * (one rename), never leaving a half-emptied directory behind. */
        int all;
        long long listed;
        if (allAmong(k, ns, &args, &all, &listed) != STORE_OK) goto ioerr;
        if (all) {
            if (storeDeleteKey(k) == STORE_ERR) goto ioerr;
            *removed = listed;
            if (keydeleted) *keydeleted = 1;
            goto done;
        }
        /* "len" was behind the files: count them */
        storeIter *it;
        sds name;
        int r;
        if (storeIterOpen(k, ns, 0, &it) != STORE_OK) goto ioerr;
        for (newlen = -np; (r = storeIterNext(it, &name)) == STORE_OK; newlen++) sdsfree(name);
        storeIterClose(it);
        if (r == STORE_ERR) goto ioerr;
    }
    /* "len" first, then the files: a crash in between leaves "len" short of
     * the files (those members are back), never beyond them */
    if (storeWriteNumber(k, "len", newlen) != STORE_OK) goto ioerr;
    for (long long i = 0; i < np; i++)
        if (storeRemoveMember(k, ns, present[i], sdslen(present[i])) == STORE_ERR) goto ioerr;
    *removed = np;
done:
    memberSetFree(&args);
    zfree(present);
    return C_OK;
ioerr: {
        int saved = errno;
        memberSetFree(&args);
        zfree(present);
        addReplyErrorIO(c, saved);
        return C_ERR;
    }
}

/* ------------------------------------------------------------------------ */
/* Reading all members, random members                                       */
/* ------------------------------------------------------------------------ */

void membersFreeArray(sds *a, unsigned long n) {
    if (!a) return;
    for (unsigned long i = 0; i < n; i++) sdsfree(a[i]);
    zfree(a);
}

static void pushName(sds **a, unsigned long *n, unsigned long *cap, sds m) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *a = zrealloc(*a, sizeof(sds) * *cap);
    }
    (*a)[(*n)++] = m;
}

int membersAll(skey *k, const char *ns, sds **out, unsigned long *n) {
    storeIter *it;
    sds *a = NULL, m;
    unsigned long cap = 0;
    *out = NULL;
    *n = 0;
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    int r;
    while ((r = storeIterNext(it, &m)) == STORE_OK) pushName(&a, n, &cap, m);
    storeIterClose(it);
    if (r == STORE_ERR) {
        int saved = errno;
        membersFreeArray(a, *n);
        *n = 0;
        errno = saved;
        return STORE_ERR;
    }
    *out = a;
    return STORE_OK;
}

static unsigned long randomBelow(unsigned long n) {
    unsigned long long r = ((unsigned long long)random() << 31) ^ (unsigned long long)random();
    return (unsigned long)(r % n);
}

unsigned long membersKeepRandom(sds *a, unsigned long total, unsigned long count) {
    if (count > total) count = total;
    for (unsigned long i = 0; i < count; i++) {
        unsigned long j = i + randomBelow(total - i);
        sds t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
    for (unsigned long i = count; i < total; i++) sdsfree(a[i]);
    return count;
}

/* Read every name and keep a uniform sample of count of them. */
static int randomDistinctFromAll(skey *k, const char *ns, unsigned long count, sds **out, unsigned long *n) {
    sds *a;
    unsigned long total;
    if (membersAll(k, ns, &a, &total) != STORE_OK) return STORE_ERR;
    *out = a;
    *n = membersKeepRandom(a, total, count);
    return STORE_OK;
}

int membersRandomDistinct(skey *k, const char *ns, long long size, unsigned long count, sds **out,
                          unsigned long *n) {
    *out = NULL;
    *n = 0;
    /* as Redis: when count is a large part of the collection, sampling with
     * rejection would mostly draw duplicates */
    if ((long long)count * 3 > size) return randomDistinctFromAll(k, ns, count, out, n);
    storeSampler *s;
    int r = storeSamplerOpen(k, ns, &s);
    if (r == STORE_NOTFOUND) return STORE_OK;
    if (r != STORE_OK) return STORE_ERR;
    memberSet seen;
    memberSetInit(&seen);
    sds *a = NULL;
    unsigned long cap = 0, draws = count * 10 + 100;
    while (*n < count && draws--) {
        sds m;
        r = storeSamplerNext(s, &m);
        if (r != STORE_OK) break;
        if (memberSetAdd(&seen, m, sdslen(m))) pushName(&a, n, &cap, m);
        else sdsfree(m);
    }
    int saved = errno;
    storeSamplerClose(s);
    memberSetFree(&seen);
    if (r == STORE_ERR) {
        membersFreeArray(a, *n);
        *n = 0;
        errno = saved;
        return STORE_ERR;
    }
    if (*n < count) {
        /* draws kept repeating (offsets cluster) or the collection is
         * smaller than its len says: fall back to reading it whole */
        membersFreeArray(a, *n);
        *n = 0;
        return randomDistinctFromAll(k, ns, count, out, n);
    }
    *out = a;
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* HSCAN / SSCAN arguments                                                   */
/* ------------------------------------------------------------------------ */

int membersParseScanOptions(client *c, int first, sds *pattern, long *count) {
    *pattern = NULL;
    *count = 10;
    for (int i = first; i < c->argc;) {
        int more = c->argc - i;
        if (!strcasecmp(c->argv[i], "count") && more >= 2) {
            if (getLongFromArgOrReply(c, c->argv[i + 1], count, NULL) != C_OK) return C_ERR;
            if (*count < 1) {
                addReplyErrorSyntax(c);
                return C_ERR;
            }
            i += 2;
        } else if (!strcasecmp(c->argv[i], "match") && more >= 2) {
            sds p = c->argv[i + 1];
            *pattern = (sdslen(p) == 1 && p[0] == '*') ? NULL : p;
            i += 2;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
    }
    return C_OK;
}

void membersScan(client *c, skey *k, const char *ns, unsigned long long cursor, sds pattern, long count,
                 int withvalues) {
    sds *a = NULL;
    unsigned long n = 0, cap = 0;
    unsigned long long next = 0;
    /* a cursor no directory offset reaches: the iteration is over */
    if (k && cursor <= (unsigned long long)LLONG_MAX) {
        storeIter *it;
        if (storeIterOpen(k, ns, cursor, &it) != STORE_OK) {
            addReplyErrorIO(c, errno);
            return;
        }
        sds m;
        int r = STORE_OK;
        for (long seen = 0; seen < count && (r = storeIterNext(it, &m)) == STORE_OK; seen++) {
            if (pattern && !stringmatchlen(pattern, (int)sdslen(pattern), m, (int)sdslen(m), 0)) {
                sdsfree(m);
                continue;
            }
            sds v = NULL;
            if (withvalues) {
                r = storeReadMember(k, ns, m, sdslen(m), &v);
                if (r != STORE_OK) {
                    if (r == STORE_NOTFOUND) errno = EUCLEAN;
                    r = STORE_ERR;
                    sdsfree(m);
                    break;
                }
            }
            pushName(&a, &n, &cap, m);
            if (v) pushName(&a, &n, &cap, v);
        }
        if (r == STORE_ERR) {
            int saved = errno;
            storeIterClose(it);
            membersFreeArray(a, n);
            addReplyErrorIO(c, saved);
            return;
        }
        r = storeIterCursor(it, &next);
        int saved = errno;
        storeIterClose(it);
        if (r == STORE_ERR) {
            membersFreeArray(a, n);
            addReplyErrorIO(c, saved);
            return;
        }
    }
    addReplyArrayLen(c, 2);
    addReplyBulkSds(c, sdscatprintf(sdsempty(), "%llu", next));
    addReplyArrayLen(c, (long)n);
    for (unsigned long i = 0; i < n; i++) addReplyBulk(c, a[i], sdslen(a[i]));
    membersFreeArray(a, n);
}

/* HSCAN / SSCAN key cursor [MATCH pattern] [COUNT count] */
void membersScanCommand(client *c, int type, const char *ns, int withvalues) {
    unsigned long long cursor;
    skey *k;
    sds pattern = NULL;
    long count = 0;
    if (parseScanCursorOrReply(c, c->argv[2], &cursor) != C_OK) return;
    if (lookupKeyRead(c, c->argv[1], type, &k) != C_OK) return;
    /* as Redis: options are looked at only when the key exists */
    if (k && membersParseScanOptions(c, 3, &pattern, &count) != C_OK) {
        storeCloseKey(k);
        return;
    }
    membersScan(c, k, ns, cursor, pattern, count, withvalues);
    storeCloseKey(k);
}
