/* collection.c - what every collection type (hash, set, sorted set, list,
 * stream) shares: opening a key for a write, creating it whole on its first
 * member, its member count (the "len" file; lists derive theirs from their
 * end segments, see t_list.c), and removing it when it becomes empty, as
 * Redis does; and the count arguments of HRANDFIELD / ZRANDMEMBER. */
#include "server.h"
#include <errno.h>
#include <limits.h>
#include <strings.h>

int collectionOpenForWrite(client *c, sds key, int type, skey **out) {
    if (lookupKeyWrite(c, key, type, out) != C_OK) return C_ERR;
    if (*out) return C_OK;
    if (storeNewKey(c->db, key, sdslen(key), type, out) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    return C_OK;
}

int collectionLen(skey *k, long long *len) { return storeReadNumber(k, "len", len, 0); }

int collectionCommitGeneric(client *c, skey *k, long long delta, int *outcome) {
    long long len;
    int staged = k->staged, replaced = 0;
    if (outcome) *outcome = COLLECTION_KEPT;
    if (delta == 0 && !staged) return C_OK; /* members replaced in place: the count stands */
    if (collectionLen(k, &len) != STORE_OK) goto ioerr;
    len += delta;
    if (len <= 0) {
        if (storeDeleteKey(k) == STORE_ERR) goto ioerr;
        if (outcome) *outcome = staged ? COLLECTION_DISCARDED : COLLECTION_DELETED;
        return C_OK;
    }
    if (delta != 0 && storeWriteNumber(k, "len", len) != STORE_OK) goto ioerr;
    if (staged && storePublishKey(k, &replaced) != STORE_OK) goto ioerr;
    if (outcome && staged) *outcome = replaced ? COLLECTION_REPLACED : COLLECTION_CREATED;
    return C_OK;
ioerr:
    addReplyErrorIO(c, errno);
    if (k->staged) storeDeleteKey(k);
    return C_ERR;
}

int collectionCommit(client *c, skey *k, long long delta) { return collectionCommitGeneric(c, k, delta, NULL); }

/* HLEN / SCARD / ZCARD / XLEN: the member count of a key of type, 0 when
 * missing. */
void collectionLenCommand(client *c, int type) {
    skey *k;
    long long len = 0;
    if (lookupKeyRead(c, c->argv[1], type, &k) != C_OK) return;
    if (k && collectionLen(k, &len) != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
        return;
    }
    storeCloseKey(k);
    addReplyLongLong(c, len);
}

/* HRANDFIELD / ZRANDMEMBER key count [WITHVALUES|WITHSCORES], checked in
 * Redis 7.0's order and with its error texts. */
int collectionParseRandomCount(client *c, const char *withopt, long *count, int *with) {
    *with = 0;
    if (getLongFromArgOrReply(c, c->argv[2], count, NULL) != C_OK) return C_ERR;
    if (*count < -LONG_MAX) {
        addReplyErrorFormat(c, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX, LONG_MAX);
        return C_ERR;
    }
    if (c->argc > 4 || (c->argc == 4 && strcasecmp(c->argv[3], withopt))) {
        addReplyErrorSyntax(c);
        return C_ERR;
    }
    if (c->argc == 4) {
        *with = 1;
        /* the reply holds two elements per pick */
        if (*count < -LONG_MAX / 2 || *count > LONG_MAX / 2) {
            addReplyError(c, "ERR value is out of range");
            return C_ERR;
        }
    }
    return C_OK;
}
