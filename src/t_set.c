/* t_set.c - set commands. A set is a key directory whose values/ holds one
 * empty file per member (named by the member's encoding) and whose "len"
 * file holds the cardinality; see docs/storage-format.md.
 *
 * Writes: member files first, then "len"; a new set (and every *STORE
 * result) is built under .tmp and published whole; a set left without
 * members is deleted; SMOVE adds to the destination before it removes from
 * the source. */
#include "server.h"
#include "members.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>

#define VALUES "values"

/* Add m to set k unless it is there: *added 1 when it was not. */
static int setAddMember(skey *k, sds m, int *added) {
    *added = 0;
    int r = storeMemberExists(k, VALUES, m, sdslen(m));
    if (r != STORE_NOTFOUND) return r;
    if (storeWriteMember(k, VALUES, m, sdslen(m), "", 0, NULL) != STORE_OK) return STORE_ERR;
    *added = 1;
    return STORE_OK;
}

static void saddCommand(client *c) {
    skey *k;
    if (collectionOpenForWrite(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    long long added = 0;
    for (int j = 2; j < c->argc; j++) {
        int a;
        if (setAddMember(k, c->argv[j], &a) != STORE_OK) {
            membersFail(c, k, errno);
            storeCloseKey(k);
            return;
        }
        added += a;
    }
    int outcome;
    int r = collectionCommitGeneric(c, k, added, &outcome);
    storeCloseKey(k);
    if (r != C_OK) return;
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    if (added) notifyKeyspaceEvent(NOTIFY_SET, "sadd", c->argv[1], c->db);
    addReplyLongLong(c, added);
}

static void sremCommand(client *c) {
    skey *k;
    long long removed;
    int keydeleted;
    if (lookupKeyWrite(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    int r = membersRemove(c, k, VALUES, c->argv + 2, c->argc - 2, &removed, &keydeleted);
    storeCloseKey(k);
    if (r != C_OK) return;
    if (removed) notifyKeyspaceEvent(NOTIFY_SET, "srem", c->argv[1], c->db);
    if (keydeleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
    addReplyLongLong(c, removed);
}

/* Reply with every member of k (NULL: none) as a set. */
static void replyAllMembers(client *c, skey *k) {
    if (!k) {
        addReplySetLen(c, 0);
        return;
    }
    storeIter *it;
    if (storeIterOpen(k, VALUES, 0, &it) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    replyCapture rc;
    replyCaptureStart(c, &rc);
    long n = 0;
    sds m;
    int r;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        addReplyBulk(c, m, sdslen(m));
        sdsfree(m);
        n++;
    }
    int saved = errno;
    storeIterClose(it);
    if (r == STORE_ERR) {
        replyCaptureAbort(c, &rc);
        addReplyErrorIO(c, saved);
        return;
    }
    replyCaptureEndSet(c, &rc, n);
}

static void smembersCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    replyAllMembers(c, k);
    storeCloseKey(k);
}

static void sismemberCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    int r = k ? storeMemberExists(k, VALUES, c->argv[2], sdslen(c->argv[2])) : STORE_NOTFOUND;
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) addReplyErrorIO(c, saved);
    else addReplyLongLong(c, r == STORE_OK);
}

static void smismemberCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    replyCapture rc;
    replyCaptureStart(c, &rc);
    for (int j = 2; j < c->argc; j++) {
        int r = k ? storeMemberExists(k, VALUES, c->argv[j], sdslen(c->argv[j])) : STORE_NOTFOUND;
        if (r == STORE_ERR) {
            int saved = errno;
            storeCloseKey(k);
            replyCaptureAbort(c, &rc);
            addReplyErrorIO(c, saved);
            return;
        }
        addReplyLongLong(c, r == STORE_OK);
    }
    storeCloseKey(k);
    replyCaptureEndArray(c, &rc, c->argc - 2);
}

static void scardCommand(client *c) { collectionLenCommand(c, OBJ_SET); }

/* One random member of k: STORE_NOTFOUND when it has none. */
static int randomMember(skey *k, sds *m) {
    storeSampler *s;
    *m = NULL;
    int r = storeSamplerOpen(k, VALUES, &s);
    if (r != STORE_OK) return r;
    r = storeSamplerNext(s, m);
    int saved = errno;
    storeSamplerClose(s);
    errno = saved;
    return r;
}

/* What replicas get for SPOP key count, as Redis 7.0 sends it: DEL when
 * every member went, else SREM of the members chosen, 1024 at a time. */
#define SPOP_PROPAGATE_BATCH 1024
static void propagateSpop(client *c, int whole, sds *members, unsigned long n) {
    if (whole) {
        rewriteCommandForPropagation(c, 2, propWord("DEL"), c->argv[1]);
        return;
    }
    preventCommandPropagation(c);
    sds *argv = zmalloc(sizeof(sds) * (SPOP_PROPAGATE_BATCH + 2));
    argv[0] = propWord("SREM");
    argv[1] = c->argv[1];
    for (unsigned long i = 0; i < n; i += SPOP_PROPAGATE_BATCH) {
        unsigned long batch = n - i < SPOP_PROPAGATE_BATCH ? n - i : SPOP_PROPAGATE_BATCH;
        memcpy(argv + 2, members + i, sizeof(sds) * batch);
        alsoPropagate(c->db, (int)batch + 2, argv);
    }
    zfree(argv);
}

/* SPOP key count */
static void spopWithCountCommand(client *c) {
    long l;
    skey *k;
    long long size, removed;
    if (getPositiveLongFromArgOrReply(c, c->argv[2], &l, NULL) != C_OK) return;
    if (lookupKeyWrite(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    if (!k || l == 0) {
        storeCloseKey(k);
        addReplySetLen(c, 0);
        return;
    }
    sds *a = NULL;
    unsigned long n = 0;
    if (collectionLen(k, &size) != STORE_OK) goto ioerr;
    int whole = 0; /* every member goes: the key is deleted in one step */
    if (l >= size) {
        /* read them all; more than l only when "len" was behind the files */
        if (membersAll(k, VALUES, &a, &n) != STORE_OK) goto ioerr;
        if (n > (unsigned long)l) n = membersKeepRandom(a, n, (unsigned long)l);
        else whole = 1;
    } else if (membersRandomDistinct(k, VALUES, size, (unsigned long)l, &a, &n) != STORE_OK) {
        goto ioerr;
    }
    int keydeleted = 0;
    if (whole) {
        if (storeDeleteKey(k) == STORE_ERR) goto ioerr;
        keydeleted = 1;
    } else if (membersRemove(c, k, VALUES, a, (int)n, &removed, &keydeleted) != C_OK) {
        membersFreeArray(a, n);
        storeCloseKey(k);
        return;
    }
    storeCloseKey(k);
    propagateSpop(c, whole, a, n);
    notifyKeyspaceEvent(NOTIFY_SET, "spop", c->argv[1], c->db);
    if (keydeleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
    addReplySetLen(c, (long)n);
    for (unsigned long i = 0; i < n; i++) addReplyBulk(c, a[i], sdslen(a[i]));
    membersFreeArray(a, n);
    return;
ioerr: {
        int saved = errno;
        membersFreeArray(a, n);
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
    }
}

static void spopCommand(client *c) {
    if (c->argc == 3) {
        spopWithCountCommand(c);
        return;
    }
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    skey *k;
    sds m;
    long long removed;
    if (lookupKeyWrite(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    int r = randomMember(k, &m);
    if (r != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        if (r == STORE_NOTFOUND) addReplyNull(c);
        else addReplyErrorIO(c, saved);
        return;
    }
    int keydeleted;
    r = membersRemove(c, k, VALUES, &m, 1, &removed, &keydeleted);
    storeCloseKey(k);
    if (r != C_OK) {
        sdsfree(m);
        return;
    }
    rewriteCommandForPropagation(c, 3, propWord("SREM"), c->argv[1], m);
    notifyKeyspaceEvent(NOTIFY_SET, "spop", c->argv[1], c->db);
    if (keydeleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
    addReplyBulkSds(c, m);
}

/* SRANDMEMBER key count, as Redis's srandmemberWithCountCommand: a negative
 * count draws with repetition, a positive one distinct members. */
static void srandmemberWithCountCommand(client *c) {
    long l;
    skey *k;
    long long size;
    if (getLongFromArgOrReply(c, c->argv[2], &l, NULL) != C_OK) return;
    if (l < -LONG_MAX) {
        addReplyErrorFormat(c, "ERR value is out of range, value must between %ld and %ld", -LONG_MAX, LONG_MAX);
        return;
    }
    int uniq = l >= 0;
    unsigned long count = uniq ? (unsigned long)l : (unsigned long)-l;
    if (lookupKeyRead(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    if (!k || count == 0) {
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
    if (!uniq || count == 1) {
        storeSampler *s;
        int r = storeSamplerOpen(k, VALUES, &s);
        if (r == STORE_ERR) {
            int saved = errno;
            storeCloseKey(k);
            addReplyErrorIO(c, saved);
            return;
        }
        replyCapture rc;
        replyCaptureStart(c, &rc);
        unsigned long n = 0;
        sds m;
        while (r == STORE_OK && n < count && (r = storeSamplerNext(s, &m)) == STORE_OK) {
            addReplyBulkSds(c, m);
            n++;
        }
        int saved = errno;
        storeSamplerClose(s);
        storeCloseKey(k);
        if (r == STORE_ERR) {
            replyCaptureAbort(c, &rc);
            addReplyErrorIO(c, saved);
            return;
        }
        replyCaptureEndArray(c, &rc, (long)n);
        return;
    }
    sds *a;
    unsigned long n;
    int r = (long long)count >= size ? membersAll(k, VALUES, &a, &n)
                                      : membersRandomDistinct(k, VALUES, size, count, &a, &n);
    int saved = errno;
    storeCloseKey(k);
    if (r != STORE_OK) {
        addReplyErrorIO(c, saved);
        return;
    }
    if (n > count) n = membersKeepRandom(a, n, count); /* "len" was behind the files */
    addReplyArrayLen(c, (long)n);
    for (unsigned long i = 0; i < n; i++) addReplyBulk(c, a[i], sdslen(a[i]));
    membersFreeArray(a, n);
}

static void srandmemberCommand(client *c) {
    if (c->argc == 3) {
        srandmemberWithCountCommand(c);
        return;
    }
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    skey *k;
    sds m;
    if (lookupKeyRead(c, c->argv[1], OBJ_SET, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    int r = randomMember(k, &m);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_OK) addReplyBulkSds(c, m);
    else if (r == STORE_NOTFOUND) addReplyNull(c);
    else addReplyErrorIO(c, saved);
}

/* SMOVE source destination member. The member is added to the destination
 * before it leaves the source, so a crash in between duplicates it rather
 * than losing it. */
static void smoveCommand(client *c) {
    skey *src, *dst;
    sds m = c->argv[3];
    long long removed;
    if (lookupKeyWrite(c, c->argv[1], OBJ_NONE, &src) != C_OK) return;
    if (!src) {
        addReplyLongLong(c, 0);
        return;
    }
    if (src->type != OBJ_SET) {
        storeCloseKey(src);
        addReplyErrorWrongType(c);
        return;
    }
    if (lookupKeyWrite(c, c->argv[2], OBJ_SET, &dst) != C_OK) {
        storeCloseKey(src);
        return;
    }
    int r = storeMemberExists(src, VALUES, m, sdslen(m));
    if (r != STORE_OK || sdscmp(c->argv[1], c->argv[2]) == 0) {
        int saved = errno;
        storeCloseKey(src);
        storeCloseKey(dst);
        if (r == STORE_ERR) addReplyErrorIO(c, saved);
        else addReplyLongLong(c, r == STORE_OK);
        return;
    }
    if (!dst && storeNewKey(c->db, c->argv[2], sdslen(c->argv[2]), OBJ_SET, &dst) != STORE_OK) {
        storeCloseKey(src);
        addReplyErrorIO(c, errno);
        return;
    }
    int added;
    if (setAddMember(dst, m, &added) != STORE_OK) {
        membersFail(c, dst, errno);
        storeCloseKey(src);
        storeCloseKey(dst);
        return;
    }
    int outcome, keydeleted = 0;
    r = collectionCommitGeneric(c, dst, added, &outcome);
    storeCloseKey(dst);
    if (r == C_OK) r = membersRemove(c, src, VALUES, &m, 1, &removed, &keydeleted);
    storeCloseKey(src);
    if (r != C_OK) return;
    /* in Redis's order: the source's events, then the destination's */
    notifyKeyspaceEvent(NOTIFY_SET, "srem", c->argv[1], c->db);
    if (keydeleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
    if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[2], c->db);
    if (added) notifyKeyspaceEvent(NOTIFY_SET, "sadd", c->argv[2], c->db);
    addReplyLongLong(c, 1);
}

/* ------------------------------------------------------------------------ */
/* SINTER, SUNION, SDIFF and their CARD / STORE forms                        */
/* ------------------------------------------------------------------------ */

/* Look up the n source sets (missing ones are NULL). C_ERR after replying
 * WRONGTYPE: like Redis, every key is checked before any work. */
static int openSources(client *c, sds *keys, int n, skey ***out) {
    skey **sets = zcalloc(sizeof(skey *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (lookupKeyRead(c, keys[i], OBJ_SET, &sets[i]) != C_OK) {
            for (int j = 0; j < i; j++) storeCloseKey(sets[j]);
            zfree(sets);
            return C_ERR;
        }
    }
    *out = sets;
    return C_OK;
}

static void closeSources(skey **sets, int n) {
    for (int i = 0; i < n; i++) storeCloseKey(sets[i]);
    zfree(sets);
}

/* Where a set operation's result goes: a new set built under .tmp (STORE),
 * a count (SINTERCARD), or the reply. */
typedef struct setSink {
    client *c;
    sds dstkey;
    const char *event; /* STORE: the keyspace event of a stored result */
    skey *dk;
    int cardonly;
    int dedupe;       /* members may come more than once (SUNION) */
    memberSet seen;
    replyCapture rc;
    long long card;
} setSink;

static int sinkOpen(client *c, setSink *s, sds dstkey, const char *event, int cardonly, int dedupe) {
    memset(s, 0, sizeof(*s));
    s->c = c;
    s->dstkey = dstkey;
    s->event = event;
    s->cardonly = cardonly;
    s->dedupe = dedupe;
    if (dstkey) {
        if (storeNewKey(c->db, dstkey, sdslen(dstkey), OBJ_SET, &s->dk) != STORE_OK) {
            addReplyErrorIO(c, errno);
            return C_ERR;
        }
    } else if (!cardonly) {
        replyCaptureStart(c, &s->rc);
        if (dedupe) memberSetInit(&s->seen);
    }
    return C_OK;
}

static int sinkAdd(setSink *s, sds m) {
    if (s->dk) {
        int added = 1;
        int r = s->dedupe ? setAddMember(s->dk, m, &added)
                          : storeWriteMember(s->dk, VALUES, m, sdslen(m), "", 0, NULL);
        if (r != STORE_OK) return STORE_ERR;
        s->card += added;
    } else if (s->cardonly) {
        s->card++;
    } else if (!s->dedupe || memberSetAdd(&s->seen, m, sdslen(m))) {
        addReplyBulk(s->c, m, sdslen(m));
        s->card++;
    }
    return STORE_OK;
}

static void sinkFail(setSink *s, int err) {
    if (s->dk) {
        storeDeleteKey(s->dk);
        storeCloseKey(s->dk);
    } else if (!s->cardonly) {
        replyCaptureAbort(s->c, &s->rc);
        if (s->dedupe) memberSetFree(&s->seen);
    }
    addReplyErrorIO(s->c, err);
}

static void sinkFinish(setSink *s) {
    client *c = s->c;
    if (s->dk) {
        int outcome, deleted = 0;
        if (s->card > 0) {
            /* as Redis's setKey(): an expired destination goes first (its
             * "expired" event), and the result is then a new key */
            skey *old;
            if (lookupKeyWrite(c, s->dstkey, OBJ_NONE, &old) != C_OK) {
                storeDeleteKey(s->dk);
                storeCloseKey(s->dk);
                return;
            }
            storeCloseKey(old);
        }
        /* publishes the new set over the destination, or throws it away */
        int r = collectionCommitGeneric(c, s->dk, s->card, &outcome);
        storeCloseKey(s->dk);
        if (r != C_OK) return;
        if (s->card == 0) {
            if (deleteKeyEvenExpired(c, s->dstkey, &deleted) != C_OK) return;
            if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", s->dstkey, c->db);
        } else {
            if (outcome == COLLECTION_CREATED) notifyKeyspaceEvent(NOTIFY_NEW, "new", s->dstkey, c->db);
            notifyKeyspaceEvent(NOTIFY_SET, s->event, s->dstkey, c->db);
        }
        addReplyLongLong(c, s->card);
    } else if (s->cardonly) {
        addReplyLongLong(c, s->card);
    } else {
        replyCaptureEndSet(c, &s->rc, (long)s->card);
        if (s->dedupe) memberSetFree(&s->seen);
    }
}

/* The result when a source is missing (so the intersection is empty). */
static void sinkEmpty(client *c, sds dstkey, int cardonly) {
    if (dstkey) {
        int deleted;
        if (deleteKeyEvenExpired(c, dstkey, &deleted) != C_OK) return;
        if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", dstkey, c->db);
        addReplyLongLong(c, 0);
    } else if (cardonly) {
        addReplyLongLong(c, 0);
    } else {
        addReplySetLen(c, 0);
    }
}

/* Is m in every set of others (n of them)? STORE_OK yes, STORE_NOTFOUND no. */
static int inAll(skey **others, int n, sds m) {
    for (int j = 0; j < n; j++) {
        int r = storeMemberExists(others[j], VALUES, m, sdslen(m));
        if (r != STORE_OK) return r;
    }
    return STORE_OK;
}

static void sinterGeneric(client *c, sds *keys, int n, sds dstkey, int cardonly, long limit) {
    skey **sets;
    if (openSources(c, keys, n, &sets) != C_OK) return;
    for (int i = 0; i < n; i++) {
        if (!sets[i]) {
            closeSources(sets, n);
            sinkEmpty(c, dstkey, cardonly);
            return;
        }
    }
    /* walk the smallest set, checking the others from the smallest up */
    long long *len = zmalloc(sizeof(long long) * (size_t)n);
    for (int i = 0; i < n; i++) {
        if (collectionLen(sets[i], &len[i]) != STORE_OK) {
            int saved = errno;
            zfree(len);
            closeSources(sets, n);
            addReplyErrorIO(c, saved);
            return;
        }
        for (int j = i; j > 0 && len[j] < len[j - 1]; j--) {
            long long tl = len[j];
            skey *tk = sets[j];
            len[j] = len[j - 1];
            sets[j] = sets[j - 1];
            len[j - 1] = tl;
            sets[j - 1] = tk;
        }
    }
    zfree(len);
    setSink sink;
    if (sinkOpen(c, &sink, dstkey, "sinterstore", cardonly, 0) != C_OK) {
        closeSources(sets, n);
        return;
    }
    storeIter *it;
    sds m;
    int r = storeIterOpen(sets[0], VALUES, 0, &it);
    if (r == STORE_OK) {
        while ((r = storeIterNext(it, &m)) == STORE_OK) {
            int in = inAll(sets + 1, n - 1, m);
            if (in == STORE_OK) in = sinkAdd(&sink, m);
            sdsfree(m);
            if (in == STORE_ERR) {
                r = STORE_ERR;
                break;
            }
            if (limit && sink.card >= limit) break;
        }
        int saved = errno;
        storeIterClose(it);
        errno = saved;
    }
    int saved = errno;
    closeSources(sets, n);
    if (r == STORE_ERR) sinkFail(&sink, saved);
    else sinkFinish(&sink);
}

/* Is m in none of the sets of others (n of them, NULL ones missing)?
 * STORE_OK yes, STORE_NOTFOUND no. */
static int notInAny(skey **others, int n, sds m) {
    for (int j = 0; j < n; j++) {
        if (!others[j]) continue;
        int r = storeMemberExists(others[j], VALUES, m, sdslen(m));
        if (r == STORE_OK) return STORE_NOTFOUND;
        if (r == STORE_ERR) return STORE_ERR;
    }
    return STORE_OK;
}

#define SET_OP_UNION 0
#define SET_OP_DIFF 1

static void sunionDiffGeneric(client *c, sds *keys, int n, sds dstkey, int op) {
    skey **sets;
    if (openSources(c, keys, n, &sets) != C_OK) return;
    setSink sink;
    if (sinkOpen(c, &sink, dstkey, op == SET_OP_UNION ? "sunionstore" : "sdiffstore", 0, op == SET_OP_UNION) !=
        C_OK) {
        closeSources(sets, n);
        return;
    }
    int r = STORE_OK;
    /* union: every member of every set; difference: the members of the
     * first set that no other set has */
    for (int i = 0; i < (op == SET_OP_UNION ? n : 1) && r != STORE_ERR; i++) {
        if (!sets[i]) continue;
        storeIter *it;
        sds m;
        r = storeIterOpen(sets[i], VALUES, 0, &it);
        if (r != STORE_OK) break;
        while ((r = storeIterNext(it, &m)) == STORE_OK) {
            int keep = op == SET_OP_DIFF ? notInAny(sets + 1, n - 1, m) : STORE_OK;
            if (keep == STORE_OK) keep = sinkAdd(&sink, m);
            sdsfree(m);
            if (keep == STORE_ERR) {
                r = STORE_ERR;
                break;
            }
        }
        int saved = errno;
        storeIterClose(it);
        errno = saved;
    }
    int saved = errno;
    closeSources(sets, n);
    if (r == STORE_ERR) sinkFail(&sink, saved);
    else sinkFinish(&sink);
}

static void sinterCommand(client *c) { sinterGeneric(c, c->argv + 1, c->argc - 1, NULL, 0, 0); }
static void sinterstoreCommand(client *c) { sinterGeneric(c, c->argv + 2, c->argc - 2, c->argv[1], 0, 0); }
static void sunionCommand(client *c) { sunionDiffGeneric(c, c->argv + 1, c->argc - 1, NULL, SET_OP_UNION); }
static void sunionstoreCommand(client *c) { sunionDiffGeneric(c, c->argv + 2, c->argc - 2, c->argv[1], SET_OP_UNION); }
static void sdiffCommand(client *c) { sunionDiffGeneric(c, c->argv + 1, c->argc - 1, NULL, SET_OP_DIFF); }
static void sdiffstoreCommand(client *c) { sunionDiffGeneric(c, c->argv + 2, c->argc - 2, c->argv[1], SET_OP_DIFF); }

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static void sintercardCommand(client *c) {
    long numkeys, limit = 0;
    if (!string2l(c->argv[1], sdslen(c->argv[1]), &numkeys) || numkeys < 1) {
        addReplyError(c, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > c->argc - 2) {
        addReplyError(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (!strcasecmp(c->argv[j], "limit") && more) {
            j++;
            if (getPositiveLongFromArgOrReply(c, c->argv[j], &limit, "ERR LIMIT can't be negative") != C_OK) return;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    sinterGeneric(c, c->argv + 2, (int)numkeys, NULL, 1, limit);
}

/* SSCAN key cursor [MATCH pattern] [COUNT count] */
static void sscanCommand(client *c) {
    membersScanCommand(c, OBJ_SET, VALUES, 0);
}

redisCommand setCommandTable[] = {
    {"sadd", saddCommand, -3, "write denyoom fast", "write set fast", 1, 1, 1, NULL},
    {"srem", sremCommand, -3, "write fast", "write set fast", 1, 1, 1, NULL},
    {"smembers", smembersCommand, 2, "readonly", "read set slow", 1, 1, 1, NULL},
    {"sismember", sismemberCommand, 3, "readonly fast", "read set fast", 1, 1, 1, NULL},
    {"smismember", smismemberCommand, -3, "readonly fast", "read set fast", 1, 1, 1, NULL},
    {"scard", scardCommand, 2, "readonly fast", "read set fast", 1, 1, 1, NULL},
    {"spop", spopCommand, -2, "write fast", "write set fast", 1, 1, 1, NULL},
    {"srandmember", srandmemberCommand, -2, "readonly", "read set slow", 1, 1, 1, NULL},
    {"smove", smoveCommand, 4, "write fast", "write set fast", 1, 2, 1, NULL},
    {"sinter", sinterCommand, -2, "readonly", "read set slow", 1, -1, 1, NULL},
    {"sintercard", sintercardCommand, -3, "readonly movablekeys", "read set slow", 0, 0, 0, NULL},
    {"sunion", sunionCommand, -2, "readonly", "read set slow", 1, -1, 1, NULL},
    {"sdiff", sdiffCommand, -2, "readonly", "read set slow", 1, -1, 1, NULL},
    {"sinterstore", sinterstoreCommand, -3, "write denyoom", "write set slow", 1, -1, 1, NULL},
    {"sunionstore", sunionstoreCommand, -3, "write denyoom", "write set slow", 1, -1, 1, NULL},
    {"sdiffstore", sdiffstoreCommand, -3, "write denyoom", "write set slow", 1, -1, 1, NULL},
    {"sscan", sscanCommand, -3, "readonly", "read set slow", 1, 1, 1, NULL},
    {NULL}};
