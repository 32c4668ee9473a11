/* sort.c - SORT and SORT_RO, with Redis 7.0's semantics: the elements of a
 * list, set or sorted set, sorted numerically or (ALPHA) as strings, by
 * themselves or BY the values of other keys (a pattern whose first '*' is
 * replaced by the element, "->field" naming a hash field), output directly
 * or through GET patterns, optionally STOREd as a list.
 *
 * As in Redis the whole collection is loaded in memory and sorted there;
 * the keys named by BY and GET patterns are read through the store as
 * strings or hash fields. */
#include "server.h"
#include "members.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define HASH_FIELDS "fields"
#define SET_VALUES "values"

typedef struct sortObject {
    sds obj;       /* the element */
    double score;  /* numeric sort: the element's or BY value's number */
    sds cmpobj;    /* ALPHA with BY: the BY value (NULL when missing) */
} sortObject;

/* qsort() has no context argument: the options of the running sort. */
static struct {
    int desc, alpha, bypattern, store;
} sortParams;

/* Binary comparison, as Redis's compareStringObjects. */
static int compareBinary(const char *a, size_t alen, const char *b, size_t blen) {
    size_t min = alen < blen ? alen : blen;
    int cmp = memcmp(a, b, min);
    if (cmp == 0) return alen < blen ? -1 : (alen > blen ? 1 : 0);
    return cmp;
}

static int sortCompare(const void *s1, const void *s2) {
    const sortObject *so1 = s1, *so2 = s2;
    int cmp;
    if (!sortParams.alpha) {
        if (so1->score > so2->score) {
            cmp = 1;
        } else if (so1->score < so2->score) {
            cmp = -1;
        } else {
            /* same score: the elements decide, so the result is deterministic */
            cmp = compareBinary(so1->obj, sdslen(so1->obj), so2->obj, sdslen(so2->obj));
        }
    } else if (sortParams.bypattern) {
        if (!so1->cmpobj || !so2->cmpobj) {
            /* a missing BY value sorts first */
            if (so1->cmpobj == so2->cmpobj) cmp = 0;
            else if (so1->cmpobj == NULL) cmp = -1;
            else cmp = 1;
        } else if (sortParams.store) {
            cmp = compareBinary(so1->cmpobj, sdslen(so1->cmpobj), so2->cmpobj, sdslen(so2->cmpobj));
        } else {
            cmp = strcoll(so1->cmpobj, so2->cmpobj);
        }
    } else if (sortParams.store) {
        cmp = compareBinary(so1->obj, sdslen(so1->obj), so2->obj, sdslen(so2->obj));
    } else {
        cmp = strcoll(so1->obj, so2->obj);
    }
    return sortParams.desc ? -cmp : cmp;
}

/* The value a BY or GET pattern names for element subst, as Redis's
 * lookupKeyByPattern: "#" is the element itself; otherwise the first '*'
 * is replaced by the element and the key read as a string, or, with
 * "->field" after the '*', as a hash whose field is read. *out is NULL when
 * there is no such value (no '*', a missing key or field, another type).
 * STORE_ERR on a storage error. */
static int lookupKeyByPattern(client *c, sds pattern, sds subst, sds *out) {
    *out = NULL;
    if (pattern[0] == '#' && pattern[1] == '\0') {
        *out = sdsdup(subst);
        return STORE_OK;
    }
    char *p = strchr(pattern, '*');
    if (!p) return STORE_OK;
    char *f = strstr(p + 1, "->");
    size_t fieldlen = 0;
    if (f && f[2] != '\0') fieldlen = sdslen(pattern) - (size_t)(f - pattern) - 2;
    else f = NULL;
    size_t prefixlen = (size_t)(p - pattern);
    size_t postfixlen = sdslen(pattern) - (prefixlen + 1) - (fieldlen ? fieldlen + 2 : 0);
    sds key = sdsnewlen(pattern, prefixlen);
    key = sdscatlen(key, subst, sdslen(subst));
    key = sdscatlen(key, p + 1, postfixlen);
    skey *k = lookupKeyReadOrNil(c, key);
    sdsfree(key);
    if (!k) return STORE_OK;
    int r = STORE_OK;
    if (fieldlen) {
        if (k->type == OBJ_HASH) r = storeReadMember(k, HASH_FIELDS, f + 2, fieldlen, out);
    } else if (k->type == OBJ_STRING) {
        r = storeReadFile(k, "value", out);
    }
    int saved = errno;
    storeCloseKey(k);
    errno = saved;
    if (r == STORE_NOTFOUND) {
        *out = NULL;
        r = STORE_OK;
    }
    return r;
}

/* Collect the elements of a list (listVisit's callback). */
typedef struct sortVector {
    sortObject *v;
    long len, cap;
} sortVector;

static void vectorPush(sortVector *vec, sds ele) {
    if (vec->len == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 16;
        vec->v = zrealloc(vec->v, sizeof(sortObject) * (size_t)vec->cap);
    }
    vec->v[vec->len].obj = ele;
    vec->v[vec->len].score = 0;
    vec->v[vec->len].cmpobj = NULL;
    vec->len++;
}

static int pushListElement(void *ud, const char *p, size_t len) {
    vectorPush(ud, sdsnewlen(p, len));
    return STORE_OK;
}

static void vectorFree(sortVector *vec) {
    for (long j = 0; j < vec->len; j++) {
        sdsfree(vec->v[j].obj);
        if (vec->v[j].cmpobj) sdsfree(vec->v[j].cmpobj);
    }
    zfree(vec->v);
}

/* Load the elements of k (NULL: a missing key, no element) in their own
 * order: a list's, a sorted set's by rank, a set's as listed. */
static int loadElements(skey *k, sortVector *vec) {
    if (!k) return STORE_OK;
    if (k->type == OBJ_LIST) {
        long long count;
        return listVisit(k, pushListElement, vec, &count);
    }
    sds *a;
    unsigned long n;
    int r = k->type == OBJ_ZSET ? zsetMembersInOrder(k, &a, &n) : membersAll(k, SET_VALUES, &a, &n);
    if (r != STORE_OK) return r;
    for (unsigned long i = 0; i < n; i++) vectorPush(vec, a[i]);
    zfree(a);
    return STORE_OK;
}

/* Store the result as a list at dst (deleting dst when it is empty). */
static int storeSortResult(client *c, sds dst, sds *items, long n) {
    if (n == 0) {
        int deleted;
        if (deleteKeyEvenExpired(c, dst, &deleted) != C_OK) return C_ERR;
        if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dst, c->db);
        return C_OK;
    }
    /* as Redis's setKey(): an expired destination goes first (its
     * "expired" event), and the result is then a new key */
    skey *k, *old;
    if (lookupKeyWrite(c, dst, OBJ_NONE, &old) != C_OK) return C_ERR;
    int existed = old != NULL;
    storeCloseKey(old);
    if (storeNewKey(c->db, dst, sdslen(dst), OBJ_LIST, &k) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    listRef *l = listBuildStart(k);
    int r = STORE_OK;
    for (long j = 0; j < n && r == STORE_OK; j++) r = listBuildPush(l, items[j], sdslen(items[j]));
    if (listBuildEnd(l, r == STORE_OK) != STORE_OK) r = STORE_ERR;
    if (r != STORE_OK) {
        discardNewKey(c, k);
        return C_ERR;
    }
    if (publishNewKey(c, k) != C_OK) return C_ERR;
    if (!existed) notifyKeyspaceEvent(NOTIFY_NEW, "new", dst, c->db);
    notifyKeyspaceEvent(NOTIFY_LIST, "sortstore", dst, c->db);
    return C_OK;
}

/* SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
 *      [ASC|DESC] [ALPHA] [STORE destination]
 * SORT_RO is the same without STORE. */
static void sortGeneric(client *c, int readonly) {
    int desc = 0, alpha = 0, dontsort = 0;
    long limit_start = 0, limit_count = -1, start, end;
    sds sortby = NULL, storekey = NULL;
    sds *getops = zmalloc(sizeof(sds) * (size_t)c->argc);
    int getop = 0;
    int can_read_any_key = aclCanReadAnyKey(c->user, c->cmd, c->argv, c->argc);

    for (int j = 2; j < c->argc; j++) {
        int leftargs = c->argc - j - 1;
        sds a = c->argv[j];
        if (!strcasecmp(a, "asc")) {
            desc = 0;
        } else if (!strcasecmp(a, "desc")) {
            desc = 1;
        } else if (!strcasecmp(a, "alpha")) {
            alpha = 1;
        } else if (!strcasecmp(a, "limit") && leftargs >= 2) {
            if (getLongFromArgOrReply(c, c->argv[j + 1], &limit_start, NULL) != C_OK ||
                getLongFromArgOrReply(c, c->argv[j + 2], &limit_count, NULL) != C_OK) {
                zfree(getops);
                return;
            }
            j += 2;
        } else if (!readonly && !strcasecmp(a, "store") && leftargs >= 1) {
            storekey = c->argv[++j];
        } else if (!strcasecmp(a, "by") && leftargs >= 1) {
            sortby = c->argv[++j];
            /* a pattern without '*' names no key: nothing to sort by */
            if (strchr(sortby, '*') == NULL) dontsort = 1;
            else if (!can_read_any_key) { /* as Redis: the keys it names escape the ACL checks */
                addReplyError(c, "ERR BY option of SORT denied due to insufficient ACL permissions.");
                zfree(getops);
                return;
            }
        } else if (!strcasecmp(a, "get") && leftargs >= 1) {
            if (!can_read_any_key) {
                addReplyError(c, "ERR GET option of SORT denied due to insufficient ACL permissions.");
                zfree(getops);
                return;
            }
            getops[getop++] = c->argv[++j];
        } else {
            addReplyErrorSyntax(c);
            zfree(getops);
            return;
        }
    }

    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_NONE, &k) != C_OK) {
        zfree(getops);
        return;
    }
    if (k && k->type != OBJ_SET && k->type != OBJ_LIST && k->type != OBJ_ZSET) {
        storeCloseKey(k);
        zfree(getops);
        addReplyErrorWrongType(c);
        return;
    }
    int type = k ? k->type : OBJ_LIST;

    /* A set in no particular order would make the result depend on how it
     * is listed: for STORE and scripts Redis sorts it (ALPHA) instead. */
    if (dontsort && type == OBJ_SET && (storekey || scriptIsRunning())) {
        dontsort = 0;
        alpha = 1;
        sortby = NULL;
    }

    sortVector vec = {NULL, 0, 0};
    int r = loadElements(k, &vec);
    int saved = errno;
    storeCloseKey(k);
    if (r != STORE_OK) {
        vectorFree(&vec);
        zfree(getops);
        addReplyErrorIO(c, saved);
        return;
    }
    long vectorlen = vec.len;

    /* LIMIT, kept within the collection */
    start = limit_start < 0 ? 0 : (limit_start > vectorlen ? vectorlen : limit_start);
    if (limit_count < -1) limit_count = -1;
    if (limit_count > vectorlen) limit_count = vectorlen;
    end = limit_count < 0 ? vectorlen - 1 : start + limit_count - 1;
    if (start >= vectorlen) {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if (end >= vectorlen) end = vectorlen - 1;

    /* Lists and sorted sets not sorted keep their order, reversed by DESC. */
    if (dontsort && desc && (type == OBJ_LIST || type == OBJ_ZSET)) {
        for (long i = 0, o = vectorlen - 1; i < o; i++, o--) {
            sortObject t = vec.v[i];
            vec.v[i] = vec.v[o];
            vec.v[o] = t;
        }
    }

    int conversion_error = 0;
    if (!dontsort) {
        for (long j = 0; j < vectorlen; j++) {
            sds byval;
            if (sortby) {
                if (lookupKeyByPattern(c, sortby, vec.v[j].obj, &byval) != STORE_OK) {
                    saved = errno;
                    vectorFree(&vec);
                    zfree(getops);
                    addReplyErrorIO(c, saved);
                    return;
                }
                if (!byval) continue;
            } else {
                byval = vec.v[j].obj;
            }
            if (alpha) {
                if (sortby) vec.v[j].cmpobj = byval;
            } else {
                char *eptr;
                errno = 0;
                vec.v[j].score = strtod(byval, &eptr);
                if (eptr[0] != '\0' || errno == ERANGE || isnan(vec.v[j].score)) conversion_error = 1;
                if (sortby) sdsfree(byval);
            }
        }
        sortParams.desc = desc;
        sortParams.alpha = alpha;
        sortParams.bypattern = sortby != NULL;
        sortParams.store = storekey != NULL;
        if (vectorlen > 1) qsort(vec.v, (size_t)vectorlen, sizeof(sortObject), sortCompare);
    }

    long outputlen = getop ? getop * (end - start + 1) : end - start + 1;
    if (conversion_error) {
        addReplyError(c, "ERR One or more scores can't be converted into double");
    } else if (!storekey) {
        replyCapture rc;
        replyCaptureStart(c, &rc);
        for (long j = start; j <= end; j++) {
            if (!getop) addReplyBulk(c, vec.v[j].obj, sdslen(vec.v[j].obj));
            for (int g = 0; g < getop; g++) {
                sds val;
                if (lookupKeyByPattern(c, getops[g], vec.v[j].obj, &val) != STORE_OK) {
                    saved = errno;
                    replyCaptureAbort(c, &rc);
                    vectorFree(&vec);
                    zfree(getops);
                    addReplyErrorIO(c, saved);
                    return;
                }
                if (val) addReplyBulkSds(c, val);
                else addReplyNull(c);
            }
        }
        replyCaptureEndArray(c, &rc, outputlen);
    } else {
        sds *items = zmalloc(sizeof(sds) * (size_t)(outputlen > 0 ? outputlen : 1));
        long n = 0;
        int ok = 1;
        for (long j = start; ok && j <= end; j++) {
            if (!getop) {
                items[n++] = sdsdup(vec.v[j].obj);
                continue;
            }
            for (int g = 0; g < getop; g++) {
                sds val;
                if (lookupKeyByPattern(c, getops[g], vec.v[j].obj, &val) != STORE_OK) {
                    addReplyErrorIO(c, errno);
                    ok = 0;
                    break;
                }
                items[n++] = val ? val : sdsempty();
            }
        }
        if (ok && storeSortResult(c, storekey, items, n) == C_OK) addReplyLongLong(c, outputlen);
        for (long j = 0; j < n; j++) sdsfree(items[j]);
        zfree(items);
    }
    vectorFree(&vec);
    zfree(getops);
}

static void sortCommand(client *c) { sortGeneric(c, 0); }
static void sortroCommand(client *c) { sortGeneric(c, 1); }

redisCommand sortCommandTable[] = {
    {"sort", sortCommand, -2, "write denyoom movablekeys", "write set sortedset list slow dangerous", 1, 1, 1, NULL},
    {"sort_ro", sortroCommand, -2, "readonly movablekeys", "read set sortedset list slow dangerous", 1, 1, 1, NULL},
    {NULL}};
