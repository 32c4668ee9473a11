/* t_hash.c - hash commands. A hash is a key directory whose fields/ holds
 * one file per field (named by the field's encoding, holding the value) and
 * whose "len" file holds the number of fields; see docs/storage-format.md.
 *
 * Writes: field files first, then "len"; a new hash is built under .tmp and
 * published whole; a hash left without fields is deleted. */
#include "server.h"
#include "members.h"
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <math.h>

#define FIELDS "fields"

/* Read a field that the listing says exists (missing: the key is damaged). */
static int readListedField(skey *k, sds f, sds *v) {
    int r = storeReadMember(k, FIELDS, f, sdslen(f), v);
    if (r == STORE_NOTFOUND) {
        errno = EUCLEAN;
        r = STORE_ERR;
    }
    return r;
}

/* HSET key field value [field value ...] / HMSET */
static void hsetGeneric(client *c, int hmset) {
    skey *k;
    if ((c->argc % 2) == 1) {
        addReplyErrorArity(c);
        return;
    }
    if (collectionOpenForWrite(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    long long created = 0;
    for (int j = 2; j < c->argc; j += 2) {
        int cr;
        if (storeWriteMember(k, FIELDS, c->argv[j], sdslen(c->argv[j]), c->argv[j + 1], sdslen(c->argv[j + 1]),
                             &cr) != STORE_OK) {
            membersFail(c, k, errno);
            storeCloseKey(k);
            return;
        }
        created += cr;
    }
    int outcome;
    int r = collectionCommitGeneric(c, k, created, &outcome);
    storeCloseKey(k);
    if (r != C_OK) return;
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    notifyKeyspaceEvent(NOTIFY_HASH, "hset", c->argv[1], c->db);
    if (hmset) addReplyOK(c);
    else addReplyLongLong(c, created);
}

static void hsetCommand(client *c) { hsetGeneric(c, 0); }
static void hmsetCommand(client *c) { hsetGeneric(c, 1); }

static void hsetnxCommand(client *c) {
    skey *k;
    sds f = c->argv[2], v = c->argv[3];
    if (collectionOpenForWrite(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    int r = storeMemberExists(k, FIELDS, f, sdslen(f));
    if (r == STORE_OK) {
        membersDiscard(k);
        storeCloseKey(k);
        addReplyLongLong(c, 0);
        return;
    }
    if (r == STORE_ERR || storeWriteMember(k, FIELDS, f, sdslen(f), v, sdslen(v), NULL) != STORE_OK) {
        membersFail(c, k, errno);
        storeCloseKey(k);
        return;
    }
    int outcome;
    r = collectionCommitGeneric(c, k, 1, &outcome);
    storeCloseKey(k);
    if (r != C_OK) return;
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    notifyKeyspaceEvent(NOTIFY_HASH, "hset", c->argv[1], c->db);
    addReplyLongLong(c, 1);
}

static void hgetCommand(client *c) {
    skey *k;
    sds v;
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    int r = storeReadMember(k, FIELDS, c->argv[2], sdslen(c->argv[2]), &v);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_OK) addReplyBulkSds(c, v);
    else if (r == STORE_NOTFOUND) addReplyNull(c);
    else addReplyErrorIO(c, saved);
}

static void hmgetCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    replyCapture rc;
    replyCaptureStart(c, &rc);
    for (int j = 2; j < c->argc; j++) {
        sds v;
        int r = k ? storeReadMember(k, FIELDS, c->argv[j], sdslen(c->argv[j]), &v) : STORE_NOTFOUND;
        if (r == STORE_ERR) {
            int saved = errno;
            storeCloseKey(k);
            replyCaptureAbort(c, &rc);
            addReplyErrorIO(c, saved);
            return;
        }
        if (r == STORE_OK) addReplyBulkSds(c, v);
        else addReplyNull(c);
    }
    storeCloseKey(k);
    replyCaptureEndArray(c, &rc, c->argc - 2);
}

static void hdelCommand(client *c) {
    skey *k;
    long long removed;
    int keydeleted;
    if (lookupKeyWrite(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    int r = membersRemove(c, k, FIELDS, c->argv + 2, c->argc - 2, &removed, &keydeleted);
    storeCloseKey(k);
    if (r != C_OK) return;
    if (removed) notifyKeyspaceEvent(NOTIFY_HASH, "hdel", c->argv[1], c->db);
    if (keydeleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
    addReplyLongLong(c, removed);
}

static void hlenCommand(client *c) { collectionLenCommand(c, OBJ_HASH); }

static void hstrlenCommand(client *c) {
    skey *k;
    long long size = 0;
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    int r = k ? storeMemberSize(k, FIELDS, c->argv[2], sdslen(c->argv[2]), &size) : STORE_NOTFOUND;
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) addReplyErrorIO(c, saved);
    else addReplyLongLong(c, r == STORE_OK ? size : 0);
}

static void hexistsCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    int r = k ? storeMemberExists(k, FIELDS, c->argv[2], sdslen(c->argv[2])) : STORE_NOTFOUND;
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) addReplyErrorIO(c, saved);
    else addReplyLongLong(c, r == STORE_OK);
}

#define GETALL_KEYS (1 << 0)
#define GETALL_VALUES (1 << 1)

/* HKEYS, HVALS, HGETALL: every field in directory order. */
static void getallGeneric(client *c, int what) {
    skey *k;
    int both = what == (GETALL_KEYS | GETALL_VALUES);
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (!k) {
        if (both) addReplyMapLen(c, 0);
        else addReplyArrayLen(c, 0);
        return;
    }
    storeIter *it;
    if (storeIterOpen(k, FIELDS, 0, &it) != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
        return;
    }
    replyCapture rc;
    replyCaptureStart(c, &rc);
    long n = 0;
    sds f;
    int r;
    while ((r = storeIterNext(it, &f)) == STORE_OK) {
        sds v = NULL;
        if ((what & GETALL_VALUES) && (r = readListedField(k, f, &v)) != STORE_OK) {
            sdsfree(f);
            break;
        }
        if (what & GETALL_KEYS) addReplyBulk(c, f, sdslen(f));
        if (v) addReplyBulkSds(c, v);
        sdsfree(f);
        n++;
    }
    int saved = errno;
    storeIterClose(it);
    storeCloseKey(k);
    if (r == STORE_ERR) {
        replyCaptureAbort(c, &rc);
        addReplyErrorIO(c, saved);
    } else if (both) {
        replyCaptureEndMap(c, &rc, n);
    } else {
        replyCaptureEndArray(c, &rc, n);
    }
}

static void hkeysCommand(client *c) { getallGeneric(c, GETALL_KEYS); }
static void hvalsCommand(client *c) { getallGeneric(c, GETALL_VALUES); }
static void hgetallCommand(client *c) { getallGeneric(c, GETALL_KEYS | GETALL_VALUES); }

/* Read field f of k (opened for write) for an increment: *cur NULL when the
 * field does not exist. C_ERR after replying and discarding k. */
static int readFieldForIncr(client *c, skey *k, sds f, sds *cur) {
    *cur = NULL;
    int r = storeReadMember(k, FIELDS, f, sdslen(f), cur);
    if (r == STORE_ERR) {
        membersFail(c, k, errno);
        return C_ERR;
    }
    return C_OK;
}

/* Store the new value of field f and publish the events (event: "hincrby"
 * or "hincrbyfloat"); the caller replies. */
static int writeFieldAfterIncr(client *c, skey *k, sds f, const char *val, size_t len, int existed,
                               const char *event) {
    int outcome;
    if (storeWriteMember(k, FIELDS, f, sdslen(f), val, len, NULL) != STORE_OK) {
        membersFail(c, k, errno);
        return C_ERR;
    }
    if (collectionCommitGeneric(c, k, existed ? 0 : 1, &outcome) != C_OK) return C_ERR;
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    notifyKeyspaceEvent(NOTIFY_HASH, event, c->argv[1], c->db);
    return C_OK;
}

static void hincrbyCommand(client *c) {
    long long incr, value = 0;
    skey *k;
    sds cur;
    if (getLongLongFromArgOrReply(c, c->argv[3], &incr, NULL) != C_OK) return;
    if (collectionOpenForWrite(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (readFieldForIncr(c, k, c->argv[2], &cur) != C_OK) {
        storeCloseKey(k);
        return;
    }
    int existed = cur != NULL;
    if (cur) {
        int ok = string2ll(cur, sdslen(cur), &value);
        sdsfree(cur);
        if (!ok) {
            membersDiscard(k);
            storeCloseKey(k);
            addReplyError(c, "ERR hash value is not an integer");
            return;
        }
    }
    if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) || (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
        membersDiscard(k);
        storeCloseKey(k);
        addReplyError(c, "ERR increment or decrement would overflow");
        return;
    }
    value += incr;
    char buf[32];
    int n = ll2string(buf, sizeof(buf), value);
    int r = writeFieldAfterIncr(c, k, c->argv[2], buf, (size_t)n, existed, "hincrby");
    storeCloseKey(k);
    if (r == C_OK) addReplyLongLong(c, value);
}

static void hincrbyfloatCommand(client *c) {
    long double incr, value = 0;
    skey *k;
    sds cur;
    if (getLongDoubleFromArgOrReply(c, c->argv[3], &incr, NULL) != C_OK) return;
    if (isnan(incr) || isinf(incr)) {
        addReplyError(c, "ERR value is NaN or Infinity");
        return;
    }
    if (collectionOpenForWrite(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (readFieldForIncr(c, k, c->argv[2], &cur) != C_OK) {
        storeCloseKey(k);
        return;
    }
    int existed = cur != NULL;
    if (cur) {
        int ok = string2ld(cur, sdslen(cur), &value);
        sdsfree(cur);
        if (!ok) {
            membersDiscard(k);
            storeCloseKey(k);
            addReplyError(c, "ERR hash value is not a float");
            return;
        }
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        membersDiscard(k);
        storeCloseKey(k);
        addReplyError(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5120];
    int n = ld2string(buf, sizeof(buf), value, 1);
    int r = writeFieldAfterIncr(c, k, c->argv[2], buf, (size_t)n, existed, "hincrbyfloat");
    storeCloseKey(k);
    if (r != C_OK) return;
    /* as Redis: replicas set the result, whatever their float arithmetic */
    sds result = sdsnewlen(buf, (size_t)n);
    rewriteCommandForPropagation(c, 4, propWord("HSET"), c->argv[1], c->argv[2], result);
    sdsfree(result);
    addReplyBulk(c, buf, (size_t)n);
}

/* One HRANDFIELD element: the field, and with values its value (a pair of
 * its own in RESP3). */
static int addRandomFieldReply(client *c, skey *k, sds f, int withvalues) {
    sds v = NULL;
    if (withvalues) {
        if (readListedField(k, f, &v) != STORE_OK) return C_ERR;
        if (c->resp > 2) addReplyArrayLen(c, 2);
    }
    addReplyBulk(c, f, sdslen(f));
    if (v) addReplyBulkSds(c, v);
    return C_OK;
}

/* HRANDFIELD key count [WITHVALUES], as Redis's hrandfieldWithCountCommand:
 * a negative count draws with repetition, a positive one distinct fields. */
static void hrandfieldWithCount(client *c, long l, int withvalues) {
    skey *k;
    long long size;
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (!k) {
        addReplyArrayLen(c, 0);
        return;
    }
    int uniq = l >= 0;
    unsigned long count = uniq ? (unsigned long)l : (unsigned long)-l;
    if (count == 0) {
        storeCloseKey(k);
        addReplyArrayLen(c, 0);
        return;
    }
    if (collectionLen(k, &size) != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
        return;
    }
    replyCapture rc;
    replyCaptureStart(c, &rc);
    unsigned long n = 0;
    int r = STORE_OK;
    if (!uniq || count == 1) {
        storeSampler *s;
        r = storeSamplerOpen(k, FIELDS, &s);
        if (r == STORE_OK) {
            sds f;
            while (n < count && (r = storeSamplerNext(s, &f)) == STORE_OK) {
                if (addRandomFieldReply(c, k, f, withvalues) != C_OK) r = STORE_ERR;
                sdsfree(f);
                if (r != STORE_OK) break;
                n++;
            }
            storeSamplerClose(s);
        }
    } else {
        /* distinct fields: the whole hash when count reaches its size */
        sds *a;
        unsigned long m;
        r = (long long)count >= size ? membersAll(k, FIELDS, &a, &m)
                                     : membersRandomDistinct(k, FIELDS, size, count, &a, &m);
        if (r == STORE_OK) {
            if (m > count) m = membersKeepRandom(a, m, count); /* "len" was behind the files */
            for (; n < m; n++)
                if (addRandomFieldReply(c, k, a[n], withvalues) != C_OK) {
                    r = STORE_ERR;
                    break;
                }
            membersFreeArray(a, m);
        }
    }
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) {
        replyCaptureAbort(c, &rc);
        addReplyErrorIO(c, saved);
        return;
    }
    replyCaptureEndArray(c, &rc, (long)(withvalues && c->resp == 2 ? n * 2 : n));
}

static void hrandfieldCommand(client *c) {
    if (c->argc >= 3) {
        long l;
        int withvalues;
        if (collectionParseRandomCount(c, "withvalues", &l, &withvalues) != C_OK) return;
        hrandfieldWithCount(c, l, withvalues);
        return;
    }
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_HASH, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    storeSampler *s;
    sds f = NULL;
    int r = storeSamplerOpen(k, FIELDS, &s);
    if (r == STORE_OK) {
        r = storeSamplerNext(s, &f);
        storeSamplerClose(s);
    }
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) addReplyErrorIO(c, saved);
    else if (f) addReplyBulkSds(c, f);
    else addReplyNull(c);
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] */
static void hscanCommand(client *c) {
    membersScanCommand(c, OBJ_HASH, FIELDS, 1);
}

redisCommand hashCommandTable[] = {
    {"hset", hsetCommand, -4, "write denyoom fast", "write hash fast", 1, 1, 1, NULL},
    {"hsetnx", hsetnxCommand, 4, "write denyoom fast", "write hash fast", 1, 1, 1, NULL},
    {"hget", hgetCommand, 3, "readonly fast", "read hash fast", 1, 1, 1, NULL},
    {"hmset", hmsetCommand, -4, "write denyoom fast", "write hash fast", 1, 1, 1, NULL},
    {"hmget", hmgetCommand, -3, "readonly fast", "read hash fast", 1, 1, 1, NULL},
    {"hdel", hdelCommand, -3, "write fast", "write hash fast", 1, 1, 1, NULL},
    {"hlen", hlenCommand, 2, "readonly fast", "read hash fast", 1, 1, 1, NULL},
    {"hstrlen", hstrlenCommand, 3, "readonly fast", "read hash fast", 1, 1, 1, NULL},
    {"hexists", hexistsCommand, 3, "readonly fast", "read hash fast", 1, 1, 1, NULL},
    {"hkeys", hkeysCommand, 2, "readonly", "read hash slow", 1, 1, 1, NULL},
    {"hvals", hvalsCommand, 2, "readonly", "read hash slow", 1, 1, 1, NULL},
    {"hgetall", hgetallCommand, 2, "readonly", "read hash slow", 1, 1, 1, NULL},
    {"hincrby", hincrbyCommand, 4, "write denyoom fast", "write hash fast", 1, 1, 1, NULL},
    {"hincrbyfloat", hincrbyfloatCommand, 4, "write denyoom fast", "write hash fast", 1, 1, 1, NULL},
    {"hrandfield", hrandfieldCommand, -2, "readonly", "read hash slow", 1, 1, 1, NULL},
    {"hscan", hscanCommand, -3, "readonly", "read hash slow", 1, 1, 1, NULL},
    {NULL}};
