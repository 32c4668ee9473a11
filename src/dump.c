/* dump.c - DUMP and RESTORE: a key's value as Redis's RDB payload (rdb.c),
 * so keys move between dredis and Redis 7.0 in both directions.
 *
 * DUMP reads the key through the store and writes the plain encodings:
 * strings (integer-encoded when they are a 32-bit integer's canonical
 * text), RDB_TYPE_LIST, RDB_TYPE_SET, RDB_TYPE_ZSET_2 (binary scores) and
 * RDB_TYPE_HASH, and for streams RDB_TYPE_STREAM_LISTPACKS_2 with the
 * listpack nodes Redis 7.0's XADD would have built (rdbStreamNodes) and the
 * consumer groups (t_stream.h reads them), never compressed, RDB version 10.
 *
 * RESTORE decodes the payload straight into a new key built under .tmp
 * (storeNewKey): every member is written as it is read, so a collection of
 * any size needs no more memory than the payload itself, and the key is
 * published with one rename (storePublishKey, which replaces an existing key
 * whole for REPLACE). A stream is built by t_stream.c's streamBuild, its
 * segments written once each, its groups and consumers with the times the
 * payload gives. A payload found bad half way throws the staged key
 * away: a crash or an error never leaves half a key. Duplicate members (which
 * no Redis writes) make the payload malformed, as Redis finds them in its
 * plain encodings. */
#include "server.h"
#include "rdb.h"
#include "rdb_file.h"
#include "t_stream.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>

/* The namespaces of each type (docs/storage-format.md) */
#define HASH_FIELDS "fields"
#define SET_VALUES "values"
#define ZSET_VALUES "values"

/* ------------------------------------------------------------------------ */
/* DUMP                                                                      */
/* ------------------------------------------------------------------------ */

/* Reading a member the listing just returned: missing means damaged. */
static int readListed(skey *k, const char *ns, sds m, sds *v) {
    int r = storeReadMember(k, ns, m, sdslen(m), v);
    if (r == STORE_NOTFOUND) {
        errno = EUCLEAN;
        r = STORE_ERR;
    }
    return r;
}

static int damaged(void) {
    errno = EUCLEAN;
    return STORE_ERR;
}

/* Append one member of ns of k to o as encode() writes it. */
typedef int memberEncoder(skey *k, sds m, rdbOut *o);

/* The count of the members of ns (from the directory listing), then each
 * member, flushed as it comes; a listing that disagrees with the count
 * (or an empty collection) is a damaged key. */
static int writeMembers(rdbOut *o, skey *k, const char *ns, memberEncoder *encode) {
    long long expected, count = 0;
    storeIter *it;
    sds m;
    int r;
    if (storeCountMembers(k, ns, &expected) != STORE_OK) return STORE_ERR;
    if (expected <= 0) return damaged(); /* a collection key always has a member */
    o->buf = rdbAppendLen(o->buf, (uint64_t)expected);
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        r = encode(k, m, o);
        sdsfree(m);
        if (r == STORE_OK) r = rdbOutMaybeFlush(o);
        if (r != STORE_OK) break;
        count++;
    }
    int saved = errno;
    storeIterClose(it);
    errno = saved;
    if (r != STORE_NOTFOUND) return STORE_ERR;
    return count == expected ? STORE_OK : damaged();
}

static int encodeSetMember(skey *k, sds m, rdbOut *o) {
    (void)k;
    o->buf = rdbAppendString(o->buf, m, sdslen(m));
    return STORE_OK;
}

static int encodeHashField(skey *k, sds f, rdbOut *o) {
    sds v;
    if (readListed(k, HASH_FIELDS, f, &v) != STORE_OK) return STORE_ERR;
    o->buf = rdbAppendString(o->buf, f, sdslen(f));
    o->buf = rdbAppendString(o->buf, v, sdslen(v));
    sdsfree(v);
    return STORE_OK;
}

static int encodeZsetMember(skey *k, sds m, rdbOut *o) {
    double score;
    int r = zsetMemberScore(k, m, sdslen(m), &score);
    if (r == STORE_NOTFOUND) errno = EUCLEAN;
    if (r != STORE_OK) return STORE_ERR;
    o->buf = rdbAppendString(o->buf, m, sdslen(m));
    o->buf = rdbAppendBinaryDouble(o->buf, score);
    return STORE_OK;
}

/* A list: its elements in order (t_list.c reads its segments), gathered
 * first since their count comes before them. */
static int appendListElement(void *ud, const char *p, size_t len) {
    sds *body = ud;
    *body = rdbAppendString(*body, p, len);
    return STORE_OK;
}

static int writeList(rdbOut *o, skey *k) {
    sds body = sdsempty();
    long long count;
    if (listVisit(k, appendListElement, &body, &count) != STORE_OK) {
        int saved = errno;
        sdsfree(body);
        errno = saved;
        return STORE_ERR;
    }
    o->buf = rdbAppendLen(o->buf, (uint64_t)count);
    o->buf = sdscatlen(o->buf, body, sdslen(body));
    sdsfree(body);
    return rdbOutMaybeFlush(o);
}

static int writeString(rdbOut *o, skey *k) {
    sds v;
    int r = storeReadFile(k, "value", &v);
    if (r == STORE_NOTFOUND) return damaged();
    if (r != STORE_OK) return STORE_ERR;
    o->buf = rdbAppendString(o->buf, v, sdslen(v));
    sdsfree(v);
    return rdbOutMaybeFlush(o);
}

/* The RDB type each dredis type is written as (-1: none yet). */
static int rdbTypeOfKey(const skey *k) {
    switch (k->type) {
    case OBJ_STRING: return RDB_TYPE_STRING;
    case OBJ_LIST: return RDB_TYPE_LIST;
    case OBJ_SET: return RDB_TYPE_SET;
    case OBJ_ZSET: return RDB_TYPE_ZSET_2;
    case OBJ_HASH: return RDB_TYPE_HASH;
    case OBJ_STREAM: return RDB_TYPE_STREAM_LISTPACKS_2;
    default: return -1;
    }
}

static int dumpStream(skey *k, sds *out);

int rdbWriteObject(rdbOut *o, skey *k, const char *name, size_t len) {
    int t = rdbTypeOfKey(k);
    if (t < 0) return damaged();
    o->buf = rdbAppendType(o->buf, t);
    if (name) o->buf = rdbAppendString(o->buf, name, len);
    switch (k->type) {
    case OBJ_STRING: return writeString(o, k);
    case OBJ_LIST: return writeList(o, k);
    case OBJ_SET: return writeMembers(o, k, SET_VALUES, encodeSetMember);
    case OBJ_HASH: return writeMembers(o, k, HASH_FIELDS, encodeHashField);
    case OBJ_STREAM: return dumpStream(k, &o->buf) == STORE_OK ? rdbOutMaybeFlush(o) : STORE_ERR;
    default: return writeMembers(o, k, ZSET_VALUES, encodeZsetMember);
    }
}

/* A stream: RDB_TYPE_STREAM_LISTPACKS_2, its entries packed into nodes as
 * Redis's XADD packs them. The number of nodes comes first, so the entries
 * are read twice: once to count the nodes, once to write them (one segment
 * and one node in memory at a time, besides the payload). */
static int addStreamEntry(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    rdbStreamNodes *w = ud;
    rdbStreamNodesAdd(w, id, nfields, fv, fvlen);
    return STORE_OK;
}

static int dumpStreamNodes(skey *k, sds *out, uint64_t *nodes) {
    rdbStreamNodes w;
    rdbStreamNodesInit(&w, out);
    int r = streamVisitEntries(k, addStreamEntry, &w);
    int saved = errno;
    rdbStreamNodesEnd(&w);
    errno = saved;
    *nodes = w.nodes;
    return r;
}

/* The group visitor's callbacks: each appends to the payload. */
static void dumpGroups(void *ud, size_t n) {
    sds *out = ud;
    *out = rdbAppendLen(*out, n);
}

static void dumpGroup(void *ud, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read,
                      size_t npending) {
    sds *out = ud;
    *out = rdbAppendStreamGroup(*out, name, len, last_id, entries_read);
    *out = rdbAppendLen(*out, npending);
}

static void dumpPending(void *ud, const rdbStreamID *id, long long delivery_time, long long delivery_count) {
    sds *out = ud;
    *out = rdbAppendStreamID(*out, id);
    *out = rdbAppendMillisecondTime(*out, delivery_time);
    *out = rdbAppendLen(*out, (uint64_t)delivery_count);
}

static void dumpConsumer(void *ud, const char *name, size_t len, long long seen_time, size_t npending) {
    sds *out = ud;
    *out = rdbAppendString(*out, name, len);
    *out = rdbAppendMillisecondTime(*out, seen_time);
    *out = rdbAppendLen(*out, npending);
}

static void dumpOwned(void *ud, const rdbStreamID *id) {
    sds *out = ud;
    *out = rdbAppendStreamID(*out, id);
}

static const streamGroupVisitor dumpGroupFns = {dumpGroups, dumpGroup, dumpPending, dumpGroups, dumpConsumer,
                                                dumpOwned};

static int dumpStream(skey *k, sds *out) {
    rdbStreamMeta m;
    uint64_t nodes, written;
    if (streamReadMeta(k, &m) != STORE_OK || dumpStreamNodes(k, NULL, &nodes) != STORE_OK) return STORE_ERR;
    *out = rdbAppendLen(*out, nodes);
    if (dumpStreamNodes(k, out, &written) != STORE_OK) return STORE_ERR;
    if (written != nodes) { /* the same entries, packed the same way twice */
        errno = EUCLEAN;
        return STORE_ERR;
    }
    *out = rdbAppendStreamMeta(*out, &m);
    return streamVisitGroups(k, &dumpGroupFns, out);
}

/* The DUMP payload of k in *out (DUMP, MIGRATE). STORE_ERR with errno set. */
int dumpKeyPayload(skey *k, sds *out) {
    rdbOut o;
    rdbOutInit(&o, -1);
    if (rdbWriteObject(&o, k, NULL, 0) != STORE_OK) {
        int saved = errno;
        rdbOutFree(&o);
        errno = saved;
        return STORE_ERR;
    }
    *out = rdbAppendFooter(o.buf);
    return STORE_OK;
}

static void dumpCommand(client *c) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_NONE, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    sds payload;
    int r = dumpKeyPayload(k, &payload);
    int saved = errno;
    storeCloseKey(k);
    if (r != STORE_OK) addReplyErrorIO(c, saved);
    else addReplyBulkSds(c, payload);
}

/* ------------------------------------------------------------------------ */
/* RESTORE                                                                   */
/* ------------------------------------------------------------------------ */

/* The rdbSink that writes what the payload holds into a new staged key. */
typedef struct restoreSink {
    int db;
    sds key;
    skey *k;      /* the new key under .tmp, once the type is known */
    listRef *list; /* a list being built in k */
    streamBuild *stream; /* a stream being built in k */
    int objtype;
    long long count;
    int err;      /* errno of a failed write (RDB_ERR_SINK) */
} restoreSink;

static int sinkFailed(restoreSink *rs) {
    rs->err = errno;
    return RDB_ERR_SINK;
}

static int sinkBegin(void *ud, int objtype) {
    restoreSink *rs = ud;
    rs->objtype = objtype;
    if (storeNewKey(rs->db, rs->key, sdslen(rs->key), objtype, &rs->k) != STORE_OK) return sinkFailed(rs);
    if (objtype == OBJ_LIST) rs->list = listBuildStart(rs->k);
    if (objtype == OBJ_STREAM) rs->stream = streamBuildStart(rs->k);
    return RDB_OK;
}

static int sinkString(void *ud, const char *p, size_t len) {
    restoreSink *rs = ud;
    return storeWriteFile(rs->k, "value", p, len) == STORE_OK ? RDB_OK : sinkFailed(rs);
}

/* A list element (pushed at the tail) or a set member. */
static int sinkElement(void *ud, const char *p, size_t len) {
    restoreSink *rs = ud;
    if (rs->objtype == OBJ_LIST) {
        if (listBuildPush(rs->list, p, len) != STORE_OK) return sinkFailed(rs);
    } else {
        int created;
        if (storeWriteMember(rs->k, SET_VALUES, p, len, "", 0, &created) != STORE_OK) return sinkFailed(rs);
        if (!created) return RDB_ERR_FORMAT; /* a duplicate member */
    }
    rs->count++;
    return RDB_OK;
}

static int sinkField(void *ud, const char *f, size_t flen, const char *v, size_t vlen) {
    restoreSink *rs = ud;
    int created;
    if (storeWriteMember(rs->k, HASH_FIELDS, f, flen, v, vlen, &created) != STORE_OK) return sinkFailed(rs);
    if (!created) return RDB_ERR_FORMAT; /* a duplicate field */
    rs->count++;
    return RDB_OK;
}

static int sinkScored(void *ud, const char *m, size_t mlen, double score) {
    restoreSink *rs = ud;
    int r = storeMemberExists(rs->k, ZSET_VALUES, m, mlen);
    if (r == STORE_OK) return RDB_ERR_FORMAT; /* a duplicate member */
    if (r == STORE_ERR || zsetAddToNewKey(rs->k, m, mlen, score) != STORE_OK) return sinkFailed(rs);
    rs->count++;
    return RDB_OK;
}

/* A stream: what the stream builder refuses (EINVAL: out of order, EEXIST:
 * a group or consumer twice) is a malformed payload. */
static int sinkStreamResult(restoreSink *rs, int r) {
    if (r == STORE_OK) return RDB_OK;
    if (errno == EINVAL || errno == EEXIST) return RDB_ERR_FORMAT;
    return sinkFailed(rs);
}

static int sinkStreamEntry(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    restoreSink *rs = ud;
    return sinkStreamResult(rs, streamBuildAppend(rs->stream, id, nfields, fv, fvlen));
}

static int sinkStreamMeta(void *ud, const rdbStreamMeta *meta) {
    restoreSink *rs = ud;
    return sinkStreamResult(rs, streamBuildMeta(rs->stream, meta));
}

static int sinkStreamGroup(void *ud, const char *name, size_t len, const rdbStreamID *last_id,
                           long long entries_read) {
    restoreSink *rs = ud;
    return sinkStreamResult(rs, streamBuildGroup(rs->stream, name, len, last_id, entries_read));
}

static int sinkStreamConsumer(void *ud, const char *name, size_t len, long long seen_time) {
    restoreSink *rs = ud;
    return sinkStreamResult(rs, streamBuildConsumer(rs->stream, name, len, seen_time));
}

static int sinkStreamPending(void *ud, const rdbStreamID *id, long long delivery_time, uint64_t delivery_count) {
    restoreSink *rs = ud;
    if (delivery_count > LLONG_MAX) return RDB_ERR_FORMAT;
    return sinkStreamResult(rs, streamBuildPending(rs->stream, id, delivery_time, (long long)delivery_count));
}

static const rdbSink restoreSinkFns = {sinkBegin,          sinkString,          sinkElement,     sinkField,
                                       sinkScored,         sinkStreamEntry,     sinkStreamMeta,  sinkStreamGroup,
                                       sinkStreamConsumer, sinkStreamPending};

/* The counters a new collection key needs once its members are written. */
static int restoreFinish(restoreSink *rs) {
    if (rs->objtype == OBJ_STRING) return STORE_OK;
    if (rs->objtype == OBJ_LIST) {
        listRef *l = rs->list;
        rs->list = NULL;
        return listBuildEnd(l, 1);
    }
    if (rs->objtype == OBJ_STREAM) {
        streamBuild *b = rs->stream;
        rs->stream = NULL;
        return streamBuildEnd(b, 1);
    }
    return storeWriteNumber(rs->k, "len", rs->count);
}

int rdbRestoreNewKey(int db, const sds name, int rdbtype, const unsigned char *p, size_t len, size_t *used,
                     skey **out, int *ioerr) {
    restoreSink rs = {db, name, NULL, NULL, NULL, OBJ_NONE, 0, 0};
    *out = NULL;
    *ioerr = 0;
    int rc = rdbDecodeValue(rdbtype, p, len, &restoreSinkFns, &rs, used);
    if (rc == RDB_OK && rs.k && restoreFinish(&rs) != STORE_OK) rc = sinkFailed(&rs);
    if (rs.list) listBuildEnd(rs.list, 0);
    if (rs.stream) streamBuildEnd(rs.stream, 0);
    if (rc != RDB_OK) {
        if (rs.k) {
            storeDeleteKey(rs.k);
            storeCloseKey(rs.k);
        }
        *ioerr = rs.err;
        return rc;
    }
    *out = rs.k;
    return RDB_OK;
}

static void replyDecodeError(client *c, int rc, int rdbtype) {
    if (rc == RDB_ERR_UNSUPPORTED) {
        addReplyErrorFormat(c, "ERR Bad data format: the payload holds a module value (RDB type %d), "
                            "which dredis cannot restore", rdbtype);
    } else {
        addReplyError(c, "ERR Bad data format");
    }
}

/* A relative TTL reaches replicas as the absolute time (ABSTTL), as Redis. */
static void propagateRestoreAbsolute(client *c, long long when) {
    sds *argv = zmalloc(sizeof(sds) * (size_t)(c->argc + 1));
    memcpy(argv, c->argv, sizeof(sds) * (size_t)c->argc);
    sds ms = sdsfromlonglong(when);
    argv[2] = ms;
    argv[c->argc] = propWord("ABSTTL");
    rewriteCommandForPropagationArgv(c, c->argc + 1, argv);
    sdsfree(ms);
    zfree(argv);
}

/* RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
 *
 * Checks in Redis's order: options, BUSYKEY, TTL, payload footer, payload.
 * FREQ is checked (0-255) and ignored, as Redis ignores it unless its
 * maxmemory-policy is an LFU one: dredis has no such policy and keeps no
 * access frequencies (OBJECT FREQ says so). IDLETIME sets the key's last
 * access time (OBJECT IDLETIME), as Redis does under any other policy. */
static void restoreCommand(client *c) {
    long long ttl, lfu_freq = -1, lru_idle = -1;
    int replace = 0, absttl = 0;
    for (int j = 4; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (!strcasecmp(c->argv[j], "replace")) {
            replace = 1;
        } else if (!strcasecmp(c->argv[j], "absttl")) {
            absttl = 1;
        } else if (!strcasecmp(c->argv[j], "idletime") && additional >= 1 && lfu_freq == -1) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &lru_idle, NULL) != C_OK) return;
            if (lru_idle < 0) {
                addReplyError(c, "ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (!strcasecmp(c->argv[j], "freq") && additional >= 1 && lru_idle == -1) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &lfu_freq, NULL) != C_OK) return;
            if (lfu_freq < 0 || lfu_freq > 255) {
                addReplyError(c, "ERR Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    sds key = c->argv[1];
    if (!replace) {
        skey *old;
        if (lookupKeyWrite(c, key, OBJ_NONE, &old) != C_OK) return;
        int exists = old != NULL;
        storeCloseKey(old);
        if (exists) {
            addReplyError(c, "BUSYKEY Target key name already exists.");
            return;
        }
    }

    if (getLongLongFromArgOrReply(c, c->argv[2], &ttl, NULL) != C_OK) return;
    if (ttl < 0) {
        addReplyError(c, "ERR Invalid TTL value, must be >= 0");
        return;
    }

    sds payload = c->argv[3];
    const unsigned char *p = (const unsigned char *)payload;
    if (rdbVerifyPayload(p, sdslen(payload)) != RDB_OK) {
        addReplyError(c, "ERR DUMP payload version or checksum are wrong");
        return;
    }

    /* the type byte, the value, then the footer (checked above) */
    size_t body = sdslen(payload) - 10;
    int rdbtype = body ? p[0] : -1;
    skey *k = NULL;
    int ioerr = 0;
    int rc = body ? rdbRestoreNewKey(c->db, key, rdbtype, p + 1, body - 1, NULL, &k, &ioerr) : RDB_ERR_FORMAT;
    if (rc != RDB_OK) {
        if (rc == RDB_ERR_SINK) addReplyErrorIO(c, ioerr);
        else replyDecodeError(c, rc, rdbtype);
        return;
    }

    /* Redis adds a relative TTL to the clock as it is (wrapping around on
     * overflow, which then reads as expired). */
    long long when = -1;
    if (ttl) when = absttl ? ttl : (long long)((unsigned long long)ttl + (unsigned long long)mstime());
    if (ttl && when <= mstime()) {
        /* already expired: the key is not created, and REPLACE deletes the old one */
        storeDeleteKey(k);
        storeCloseKey(k);
        int deleted = 0;
        if (replace && deleteKeyEvenExpired(c, key, &deleted) != C_OK) return;
        if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c->db);
        rewriteCommandForPropagation(c, 2, propWord("DEL"), key);
        addReplyOK(c);
        return;
    }
    if (when >= 0 && storeSetExpire(k, when) != STORE_OK) {
        discardNewKey(c, k);
        return;
    }
    if (storePublishKey(k, NULL) != STORE_OK) {
        discardNewKey(c, k);
        return;
    }
    if (lru_idle >= 0) storeKeyAccessed(k, lruAccessTimeOfIdle(lru_idle, mstime()));
    storeCloseKey(k);
    if (when >= 0 && !absttl) propagateRestoreAbsolute(c, when);
    /* as Redis: a replaced key is deleted and the restored one added anew */
    notifyKeyspaceEvent(NOTIFY_NEW, "new", key, c->db);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "restore", key, c->db);
    addReplyOK(c);
}

redisCommand dumpCommandTable[] = {
    {"dump", dumpCommand, 2, "readonly", "keyspace read slow", 1, 1, 1, NULL},
    {"restore", restoreCommand, -4, "write denyoom", "keyspace write slow dangerous", 1, 1, 1, NULL},
    /* MIGRATE's RESTORE in a cluster; without one, RESTORE itself */
    {"restore-asking", restoreCommand, -4, "write denyoom asking", "keyspace write slow dangerous", 1, 1, 1, NULL},
    {NULL}};
