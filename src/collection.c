/* collection.c - what every collection type (hash, set, sorted set, list,
 * stream) shares: opening a key for a write, creating it whole on its first
 * member, its member count (the "len" file; lists derive theirs from their
 * end segments, see t_list.c), and removing it when it becomes empty, as
 * Redis does. */
#include "server.h"
#include <errno.h>

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

/* HLEN / SCARD / ZCARD: the member count of a key of type, 0 when missing. */
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
