/* debug.c - DEBUG, as Redis 7.0 has it, behind its gate enable-debug-command
 * (DREDIS_ENABLE_DEBUG_COMMAND: no, yes or local; refused before it runs,
 * with Redis's words, like MODULE's protected subcommands).
 *
 * Each subcommand does what it means for dredis (docs/compatibility.md,
 * "DEBUG"): RELOAD and LOADAOF sync the tree and open it again, dropping
 * every cache and in-memory state of the data (the tree is the data, so
 * that is what loading it again is); DIGEST and DIGEST-VALUE are Redis's
 * SHA-1 digests of the values, read from the tree; OBJECT tells where a
 * value is and what dredis knows of it; POPULATE, PROTOCOL, SLEEP and the
 * switches (SET-ACTIVE-EXPIRE, PAUSE-CRON, SET-DISABLE-DENY-SCRIPTS) are
 * Redis's, and so is AOF-FLUSH-SLEEP (aof.c). What has no meaning for
 * dredis (Redis's allocator, its hash tables and reply buffers,
 * restarting) is refused, naming why;
 * what Redis answers when its own feature is off (listpack or quicklist
 * details of a key that is neither, cluster links without a cluster) is
 * answered the same way, because it is just as true of dredis. */
#include "server.h"
#include "rdb.h"
#include "rdb_file.h"
#include "t_stream.h"
#include "sha1.h"
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void debugCommand(client *c);

/* ------------------------------------------------------------------------ */
/* The gate: enable-debug-command                                            */
/* ------------------------------------------------------------------------ */

static const char debugNotAllowed[] =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a "
    "local connection, otherwise you need to set this option in the configuration file, and then restart the "
    "server.";

/* As Redis's islocalClient(): the unix socket, or a TCP peer at exactly
 * 127.0.0.1 or ::1. */
static int clientIsLocal(client *c) {
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&sa, &len) < 0) return 0;
    char ip[INET6_ADDRSTRLEN] = "";
    if (sa.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof(ip));
    else if (sa.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip, sizeof(ip));
    return isLoopbackPeer(sa.ss_family, ip);
}

/* The refusal of cmd for c (NULL: allowed, or not DEBUG), as Redis's
 * processCommand() refuses its protected commands: before authentication,
 * and at queue time inside MULTI. Scripts are not gated (Redis's
 * scriptCall() does not check either; DEBUG is noscript anyway). */
const char *debugCommandRefused(client *c, const redisCommand *cmd) {
    if (cmd->proc != debugCommand) return NULL;
    if (server.enable_debug_cmd == PROTECTED_ACTION_ALLOWED_YES) return NULL;
    if (server.enable_debug_cmd == PROTECTED_ACTION_ALLOWED_LOCAL && clientIsLocal(c)) return NULL;
    return debugNotAllowed;
}

/* ------------------------------------------------------------------------ */
/* DIGEST and DIGEST-VALUE: Redis's algorithm (its debug.c), over the tree   */
/* ------------------------------------------------------------------------ */

/* digest ^= SHA1(p): the order of what is xored in does not matter */
static void xorDigest(unsigned char *digest, const void *p, size_t len) {
    SHA1_CTX ctx;
    unsigned char hash[20];
    SHA1Init(&ctx);
    SHA1Update(&ctx, p, len);
    SHA1Final(hash, &ctx);
    for (int i = 0; i < 20; i++) digest[i] ^= hash[i];
}

/* digest = SHA1(digest ^ SHA1(p)): the order matters */
static void mixDigest(unsigned char *digest, const void *p, size_t len) {
    SHA1_CTX ctx;
    xorDigest(digest, p, len);
    SHA1Init(&ctx);
    SHA1Update(&ctx, digest, 20);
    SHA1Final(digest, &ctx);
}

static int mixListElement(void *ud, const char *p, size_t len) {
    mixDigest(ud, p, len);
    return STORE_OK;
}

static int mixStreamEntry(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    unsigned char *digest = ud;
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "%llu.%llu", (unsigned long long)id->ms, (unsigned long long)id->seq);
    mixDigest(digest, buf, (size_t)n);
    for (size_t i = 0; i < nfields * 2; i++) mixDigest(digest, fv[i], fvlen[i]);
    return STORE_OK;
}

/* Every member of ns of k, each made into an element digest xored in:
 * a set's members, a hash's fields with their values, a sorted set's
 * members with their scores as "%.17g" (as Redis, whatever its encoding). */
static int xorMembers(skey *k, const char *ns, unsigned char *digest) {
    storeIter *it;
    sds m;
    int r;
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        if (k->type == OBJ_SET) {
            xorDigest(digest, m, sdslen(m));
        } else {
            unsigned char ele[20] = {0};
            mixDigest(ele, m, sdslen(m));
            if (k->type == OBJ_HASH) {
                sds v;
                r = storeReadMember(k, ns, m, sdslen(m), &v);
                if (r == STORE_OK) {
                    mixDigest(ele, v, sdslen(v));
                    sdsfree(v);
                }
            } else {
                double score;
                r = zsetMemberScore(k, m, sdslen(m), &score);
                if (r == STORE_OK) {
                    char buf[128];
                    int n = snprintf(buf, sizeof(buf), "%.17g", score);
                    mixDigest(ele, buf, (size_t)n);
                }
            }
            if (r == STORE_NOTFOUND) errno = EUCLEAN; /* listed, then missing: damaged */
            if (r == STORE_OK) xorDigest(digest, ele, 20);
        }
        sdsfree(m);
        if (r != STORE_OK) break;
    }
    int saved = errno;
    storeIterClose(it);
    errno = saved;
    return r == STORE_NOTFOUND ? STORE_OK : STORE_ERR;
}

/* Redis's xorObjectDigest(): the type (Redis's numbering, in which streams
 * are 6), the value, and whether the key has a time to live. */
static int digestValue(skey *k, unsigned char *digest) {
    uint32_t type = htonl((uint32_t)(k->type == OBJ_STREAM ? 6 : k->type));
    mixDigest(digest, &type, sizeof(type));
    int r = STORE_OK;
    switch (k->type) {
    case OBJ_STRING: {
        sds v;
        r = storeReadFile(k, "value", &v);
        if (r == STORE_NOTFOUND) errno = EUCLEAN;
        if (r != STORE_OK) return STORE_ERR;
        mixDigest(digest, v, sdslen(v));
        sdsfree(v);
        break;
    }
    case OBJ_LIST: {
        long long count;
        r = listVisit(k, mixListElement, digest, &count);
        break;
    }
    case OBJ_SET: r = xorMembers(k, "values", digest); break;
    case OBJ_ZSET: r = xorMembers(k, "values", digest); break;
    case OBJ_HASH: r = xorMembers(k, "fields", digest); break;
    case OBJ_STREAM: r = streamVisitEntries(k, mixStreamEntry, digest); break;
    default: errno = EUCLEAN; return STORE_ERR;
    }
    if (r != STORE_OK) return STORE_ERR;
    if (k->expire >= 0) xorDigest(digest, "!!expire!!", 10);
    return STORE_OK;
}

static sds digestHex(const unsigned char *digest) {
    sds d = sdsempty();
    for (int i = 0; i < 20; i++) d = sdscatprintf(d, "%02x", digest[i]);
    return d;
}

/* Redis's computeDatasetDigest(): per non-empty database its number mixed
 * in, then every key's digest (its name mixed, then its value) xored in.
 * Keys are read as they are, expired or not, as Redis reads its dict. */
static int datasetDigest(unsigned char *final) {
    memset(final, 0, 20);
    for (int db = 0; db < server.dbnum; db++) {
        long long size;
        if (storeDbSize(db, &size) != STORE_OK) return STORE_ERR;
        if (size == 0) continue;
        uint32_t aux = htonl((uint32_t)db);
        mixDigest(final, &aux, sizeof(aux));
        storeKeyBatch b = {.n = 0};
        unsigned long long cursor = 0;
        int r = STORE_OK;
        do {
            r = storeScanKeyBatch(db, cursor, &b, &cursor);
            for (int i = 0; r == STORE_OK && i < b.n; i++) {
                skey *k;
                int o = storeOpenKey(db, b.names[i], sdslen(b.names[i]), &k);
                if (o == STORE_NOTFOUND) continue; /* gone since it was listed */
                if (o != STORE_OK) {
                    r = STORE_ERR;
                    break;
                }
                unsigned char digest[20] = {0};
                mixDigest(digest, b.names[i], sdslen(b.names[i]));
                r = digestValue(k, digest);
                int saved = errno;
                storeCloseKey(k);
                errno = saved;
                if (r == STORE_OK) xorDigest(final, digest, 20);
            }
            storeKeyBatchClear(&b);
        } while (r == STORE_OK && cursor != 0);
        if (r != STORE_OK) return STORE_ERR;
    }
    return STORE_OK;
}

static void debugDigest(client *c) {
    unsigned char digest[20];
    if (datasetDigest(digest) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    sds d = digestHex(digest);
    addReplyStatus(c, d);
    sdsfree(d);
}

/* Each key's value digest (40 zeros for a missing key), read without a
 * lookup, as Redis: an expired key not yet removed has its digest. */
static void debugDigestValue(client *c) {
    sds *digests = zcalloc(sizeof(sds) * (size_t)(c->argc > 2 ? c->argc - 2 : 1));
    int err = 0;
    for (int j = 2; j < c->argc && !err; j++) {
        unsigned char digest[20] = {0};
        skey *k;
        int r = storeOpenKey(c->db, c->argv[j], sdslen(c->argv[j]), &k);
        if (r == STORE_OK) {
            r = digestValue(k, digest);
            int saved = errno;
            storeCloseKey(k);
            errno = saved;
        }
        if (r == STORE_ERR) err = errno;
        else digests[j - 2] = digestHex(digest);
    }
    if (err) addReplyErrorIO(c, err);
    else addReplyArrayLen(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        if (!err) addReplyStatus(c, digests[j - 2]);
        sdsfree(digests[j - 2]);
    }
    zfree(digests);
}

/* ------------------------------------------------------------------------ */
/* RELOAD and LOADAOF                                                        */
/* ------------------------------------------------------------------------ */

/* Redis saves its dataset, empties memory and loads the file back. In
 * dredis the tree is the dataset and always the latest "file": saving is
 * syncing it, emptying memory is forgetting every cache and in-memory state
 * of the data (the store's, the list-ends and sorted-set index caches, the
 * function libraries' Lua state), loading is reading it again, as after a
 * restart: keys, values, TTLs and libraries are the same, every access time
 * is now (Redis's RDB keeps none under noeviction). */
static int reloadFromTree(client *c, int sync, const char *what) {
    if (scriptIsRunning()) { /* the libraries' Lua state cannot go while a script runs */
        addReplyErrorFormat(c, "ERR DEBUG %s is not allowed from a script", what);
        return C_ERR;
    }
    if (sync && storeSync() != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    if (storeReload() != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    listEndsCacheClear();
    zsetIndexCacheClear();
    sds err = NULL;
    if (functionsLoadFromStore(&err) != C_OK) {
        serverLog(LL_WARNING, "DEBUG %s: the function libraries do not load: %s", what, err);
        addReplyErrorFormat(c, "ERR Error trying to load the RDB dump: %s", err);
        sdsfree(err);
        return C_ERR;
    }
    return C_OK;
}

/* Is there anything a load would find already there (a key or a library)? */
static int datasetIsEmpty(int *empty) {
    *empty = functionsLibraryCount() == 0;
    for (int db = 0; db < server.dbnum && *empty; db++) {
        long long size;
        if (storeDbSize(db, &size) != STORE_OK) return STORE_ERR;
        if (size > 0) *empty = 0;
    }
    return STORE_OK;
}

static void debugReload(client *c) {
    int flush = 1, save = 1, merge = 0;
    for (int j = 2; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "MERGE")) merge = 1;
        else if (!strcasecmp(c->argv[j], "NOFLUSH")) flush = 0;
        else if (!strcasecmp(c->argv[j], "NOSAVE")) save = 0;
        else {
            addReplyError(c, "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
            return;
        }
    }
    /* NOFLUSH without MERGE: every key and library of the tree is already
     * there, so each one conflicts (Redis fails on a library, and stops
     * the server on a key); dredis refuses and changes nothing */
    if (!flush && !merge) {
        int empty;
        if (datasetIsEmpty(&empty) != STORE_OK) {
            addReplyErrorIO(c, errno);
            return;
        }
        if (!empty) {
            addReplyError(c, "ERR Error trying to load the RDB dump");
            return;
        }
    }
    if (reloadFromTree(c, save, "RELOAD") != C_OK) return;
    serverLog(LL_WARNING, "DB reloaded by DEBUG RELOAD");
    addReplyOK(c);
}

static void debugLoadaof(client *c) {
    aofFlush(); /* as Redis's flushAppendOnlyFile; the tree, not the AOF, is then loaded */
    if (reloadFromTree(c, 1, "LOADAOF") != C_OK) return;
    serverLog(LL_WARNING, "Append Only File loaded by DEBUG LOADAOF");
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* OBJECT                                                                    */
/* ------------------------------------------------------------------------ */

/* Redis's line, with what dredis knows: "Value at" is where the value is,
 * the inode of the key's directory; refcount 1 (nothing is shared, as
 * OBJECT REFCOUNT says); the encoding as OBJECT ENCODING says; the length
 * of the value as dredis's RDB writer serializes it (DUMP without the type
 * byte and footer); lru and lru_seconds_idle the last access on Redis's
 * LRU clock and OBJECT IDLETIME. No ql_* fields: no list is a quicklist. */
static void debugObject(client *c) {
    skey *k;
    int r = storeOpenKey(c->db, c->argv[2], sdslen(c->argv[2]), &k);
    if (r == STORE_NOTFOUND) {
        addReplyError(c, "ERR no such key");
        return;
    }
    if (r != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    unsigned long long ino = 0;
    long long atime = 0;
    rdbOut o;
    rdbOutInit(&o, RDB_OUT_COUNT);
    r = storeKeyInode(k, &ino);
    if (r == STORE_OK) r = storeKeyLastAccess(k, &atime);
    if (r == STORE_OK) r = rdbWriteObject(&o, k, NULL, 0);
    if (r == STORE_OK) r = rdbOutFlush(&o);
    int saved = errno;
    int type = k->type;
    storeCloseKey(k);
    rdbOutFree(&o);
    if (r != STORE_OK) {
        addReplyErrorIO(c, saved);
        return;
    }
    long long now = mstime();
    sds line = sdscatprintf(sdsempty(),
                            "Value at:0x%llx refcount:1 encoding:%s serializedlength:%lld lru:%lld "
                            "lru_seconds_idle:%lld",
                            ino, type == OBJ_STRING ? "file" : "dirtree", o.written - 1, lruClockOf(atime),
                            lruIdleSeconds(atime, now));
    addReplyStatus(c, line);
    sdsfree(line);
}

/* LISTPACK, QUICKLIST, HTSTATS-KEY: Redis's replies for a key not in that
 * encoding, which every dredis key is (its values are files and directory
 * trees, OBJECT ENCODING "file" or "dirtree"). */
static void debugEncodingDetail(client *c, const char *refusal) {
    skey *k;
    if (lookupKeyReadWithFlags(c, c->argv[2], OBJ_NONE, LOOKUP_NONOTIFY | LOOKUP_NOTOUCH, &k) != C_OK) return;
    if (!k) {
        addReplyError(c, "ERR no such key");
        return;
    }
    storeCloseKey(k);
    addReplyError(c, refusal);
}

/* ------------------------------------------------------------------------ */
/* POPULATE                                                                  */
/* ------------------------------------------------------------------------ */

/* count string keys <prefix>:<n> (Redis's 127-byte name buffer), skipping
 * those that exist, valued "value:<n>" cut or padded with zero bytes to
 * size when size is given; each a new key ("new" event, blocked clients
 * and WATCH told), none propagated to replicas (as Redis). */
static void debugPopulate(client *c) {
    long keys, valsize = 0;
    if (getPositiveLongFromArgOrReply(c, c->argv[2], &keys, NULL) != C_OK) return;
    if (c->argc == 5 && getPositiveLongFromArgOrReply(c, c->argv[4], &valsize, NULL) != C_OK) return;
    const char *prefix = c->argc == 3 ? "key" : c->argv[3];
    char buf[128];
    preventCommandPropagation(c);
    for (long j = 0; j < keys; j++) {
        snprintf(buf, sizeof(buf), "%s:%lu", prefix, (unsigned long)j);
        sds key = sdsnew(buf);
        skey *k;
        if (lookupKeyWrite(c, key, OBJ_NONE, &k) != C_OK) {
            sdsfree(key);
            return;
        }
        if (k) {
            storeCloseKey(k);
            sdsfree(key);
            continue;
        }
        int vlen = snprintf(buf, sizeof(buf), "value:%lu", (unsigned long)j);
        sds val;
        if (valsize == 0) {
            val = sdsnewlen(buf, (size_t)vlen);
        } else {
            val = sdsgrowzero(sdsempty(), (size_t)valsize);
            memcpy(val, buf, (size_t)(valsize <= vlen ? valsize : vlen));
        }
        skey *n;
        int ok = storeNewKey(c->db, key, sdslen(key), OBJ_STRING, &n) == STORE_OK;
        if (!ok) {
            addReplyErrorIO(c, errno);
        } else if (storeWriteFile(n, "value", val, sdslen(val)) != STORE_OK || storeSetExpire(n, -1) != STORE_OK) {
            discardNewKey(c, n);
            ok = 0;
        } else if (publishNewKey(c, n) != C_OK) {
            ok = 0;
        } else {
            notifyKeyspaceEvent(NOTIFY_NEW, "new", key, c->db);
        }
        sdsfree(val);
        sdsfree(key);
        if (!ok) return;
    }
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* PROTOCOL                                                                  */
/* ------------------------------------------------------------------------ */

static void addReplyRaw(client *c, const char *s) { addReply(c, s, strlen(s)); }

static void debugProtocol(client *c) {
    const char *name = c->argv[2];
    if (!strcasecmp(name, "string")) {
        addReplyBulkCString(c, "Hello World");
    } else if (!strcasecmp(name, "integer")) {
        addReplyLongLong(c, 12345);
    } else if (!strcasecmp(name, "double")) {
        addReplyDouble(c, 3.141);
    } else if (!strcasecmp(name, "bignum")) {
        if (c->resp == 3) addReplyRaw(c, "(1234567999999999999999999999999999999\r\n");
        else addReplyBulkCString(c, "1234567999999999999999999999999999999");
    } else if (!strcasecmp(name, "null")) {
        addReplyNull(c);
    } else if (!strcasecmp(name, "array")) {
        addReplyArrayLen(c, 3);
        for (int j = 0; j < 3; j++) addReplyLongLong(c, j);
    } else if (!strcasecmp(name, "set")) {
        addReplySetLen(c, 3);
        for (int j = 0; j < 3; j++) addReplyLongLong(c, j);
    } else if (!strcasecmp(name, "map")) {
        addReplyMapLen(c, 3);
        for (int j = 0; j < 3; j++) {
            addReplyLongLong(c, j);
            addReplyBool(c, j == 1);
        }
    } else if (!strcasecmp(name, "attrib")) {
        /* an attribute is not a reply: a real one follows */
        if (c->resp >= 3) addReplyRaw(c, "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n");
        addReplyBulkCString(c, "Some real reply following the attribute");
    } else if (!strcasecmp(name, "push")) {
        if (c->resp < 3) {
            addReplyError(c, "ERR RESP2 is not supported by this command");
            return;
        }
        addReplyRaw(c, ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n");
        addReplyBulkCString(c, "Some real reply following the push reply");
    } else if (!strcasecmp(name, "true")) {
        addReplyBool(c, 1);
    } else if (!strcasecmp(name, "false")) {
        addReplyBool(c, 0);
    } else if (!strcasecmp(name, "verbatim")) {
        addReplyVerbatim(c, "This is a verbatim\nstring", 25, "txt");
    } else {
        addReplyError(c, "ERR Wrong protocol type name. Please use one of the following: "
                         "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
    }
}

/* ------------------------------------------------------------------------ */
/* The rest                                                                  */
/* ------------------------------------------------------------------------ */

/* Redis's memtoull(): digits, then b, k, kb, m, mb, g or gb in any case;
 * its unsigned arithmetic too (no digits read as 0). */
static unsigned long long memToUll(const char *p, int *err) {
    *err = 0;
    if (*p == '-') {
        *err = 1;
        return 0;
    }
    const char *u = p;
    while (*u >= '0' && *u <= '9') u++;
    unsigned long long mul;
    if (*u == '\0' || !strcasecmp(u, "b")) mul = 1;
    else if (!strcasecmp(u, "k")) mul = 1000;
    else if (!strcasecmp(u, "kb")) mul = 1024;
    else if (!strcasecmp(u, "m")) mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb")) mul = 1024 * 1024;
    else if (!strcasecmp(u, "g")) mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(u, "gb")) mul = 1024ULL * 1024 * 1024;
    else {
        *err = 1;
        return 0;
    }
    char buf[128];
    size_t digits = (size_t)(u - p);
    if (digits >= sizeof(buf)) {
        *err = 1;
        return 0;
    }
    memcpy(buf, p, digits);
    buf[digits] = '\0';
    return strtoull(buf, NULL, 10) * mul; /* ULLONG_MAX on overflow, as Redis's */
}

/* Redis's QUICKLIST-PACKED-THRESHOLD: the size from which a list element
 * gets a quicklist node of its own. Like the encoding settings
 * (docs/compatibility.md) it is kept and changes nothing in the tree. */
static void debugQuicklistPackedThreshold(client *c) {
    int err;
    unsigned long long sz = memToUll(c->argv[2], &err);
    if (err || sz > (1ULL << 32) - (1 << 20)) {
        addReplyError(c, "ERR argument must be a memory value bigger than 1 and smaller than 4gb");
        return;
    }
    server.quicklist_packed_threshold = sz ? sz : 1ULL << 30;
    addReplyOK(c);
}

/* Redis's fuzz test of its glob matcher, run against dredis's. */
static void debugStringmatchTest(client *c) {
    char str[32], pat[32];
    long long matches = 0;
    for (int cycles = 10000000; cycles > 0; cycles--) {
        int slen = rand() % (int)sizeof(str), plen = rand() % (int)sizeof(pat);
        for (int j = 0; j < slen; j++) str[j] = (char)(rand() % 128);
        for (int j = 0; j < plen; j++) pat[j] = (char)(rand() % 128);
        matches += stringmatchlen(pat, plen, str, slen, 0);
    }
    serverLog(LL_DEBUG, "DEBUG STRINGMATCH-TEST: %lld matches", matches);
    addReplyStatus(c, "Apparently Redis did not crash: test passed");
}

/* DEBUG ERROR: the string as an error reply, newlines made spaces */
static void debugError(client *c) {
    sds e = sdscatlen(sdsnew("-"), c->argv[2], sdslen(c->argv[2]));
    for (size_t i = 0; i < sdslen(e); i++)
        if (e[i] == '\r' || e[i] == '\n') e[i] = ' ';
    e = sdscat(e, "\r\n");
    addReply(c, e, sdslen(e));
    sdsfree(e);
}

static void debugRefuse(client *c, const char *why) {
    sds sub = sdsdup(c->argv[1]);
    for (size_t i = 0; i < sdslen(sub); i++)
        if (sub[i] >= 'a' && sub[i] <= 'z') sub[i] = (char)(sub[i] - 'a' + 'A');
    addReplyErrorFormat(c, "ERR DEBUG %s is not supported by dredis: %s", sub, why);
    sdsfree(sub);
}

static void debugHelp(client *c) {
    static const char *help[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ASSERT",
        "    Crash by assertion failed.",
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "CLIENT-EVICTION",
        "    Show low level client eviction pools info (maxmemory-clients: disabled in dredis).",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "DIGEST-VALUE <key> [<key> ...]",
        "    Output a hex signature of the values of all the specified keys.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LEAK <string>",
        "    Create a memory leak of the input string.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "HTSTATS-KEY <key>",
        "    Like Redis's HTSTATS for the hash table of <key>'s value: no dredis value is one.",
        "LOADAOF",
        "    Flush the AOF, sync the data tree and load the tree again (as RELOAD: the AOF is never loaded).",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "OOM",
        "    Crash the server simulating an out-of-memory error.",
        "PANIC",
        "    Crash the server simulating a panic.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Sync the data tree, drop every in-memory cache and state of the dataset and",
        "    open it again from the tree, as a restart would. Valid <option> values:",
        "    * MERGE: conflicting keys will be loaded from the tree.",
        "    * NOFLUSH: keep the in-memory state; without MERGE every existing key or",
        "      library conflicts, and the reload is refused.",
        "    * NOSAVE: do not sync before loading.",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "    Kept only: dredis lists are segment files, not quicklists.",
        "SET-DISABLE-DENY-SCRIPTS <0|1>",
        "    Let scripts run commands flagged noscript (1) or not (0, the default).",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "STRINGMATCH-TEST",
        "    Run a fuzz tester against the stringmatchlen() function.",
        "LISTPACK <key>",
        "    Show low level info about the listpack encoding of <key>.",
        "QUICKLIST <key> [<0|1>]",
        "    Show low level info about the quicklist encoding of <key>.",
        "    The optional argument (0 by default) sets the level of detail",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "CLUSTERLINK KILL <to|from|all> <node-id>",
        "    Kills the link based on the direction to/from (both) with the provided node.",
        "HELP",
        "    Print this help.",
    };
    addReplyHelpLines(c, help);
}

static void debugCommand(client *c) {
    const char *sub = c->argv[1];
    int argc = c->argc;
    if (argc == 2 && !strcasecmp(sub, "help")) {
        debugHelp(c);
    } else if (!strcasecmp(sub, "segfault")) {
        /* a write to a read-only page, as Redis's */
        char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        *(volatile char *)p = 'x';
        addReplyOK(c); /* not reached */
    } else if (!strcasecmp(sub, "panic")) {
        serverLog(LL_WARNING, "Guru Meditation: DEBUG PANIC called at Unix time %lld", (long long)time(NULL));
        abort();
    } else if (!strcasecmp(sub, "oom")) {
        void *ptr = zmalloc(SIZE_MAX / 2); /* zmalloc's out-of-memory exit */
        zfree(ptr);
        addReplyOK(c);
    } else if (!strcasecmp(sub, "assert")) {
        serverAssert(1 == 2);
    } else if (!strcasecmp(sub, "log") && argc == 3) {
        serverLog(LL_WARNING, "DEBUG LOG: %s", c->argv[2]);
        addReplyOK(c);
    } else if (!strcasecmp(sub, "leak") && argc == 3) {
        (void)sdsdup(c->argv[2]);
        addReplyOK(c);
    } else if (!strcasecmp(sub, "reload")) {
        debugReload(c);
    } else if (!strcasecmp(sub, "loadaof")) {
        debugLoadaof(c);
    } else if (!strcasecmp(sub, "object") && argc == 3) {
        debugObject(c);
    } else if (!strcasecmp(sub, "listpack") && argc == 3) {
        debugEncodingDetail(c, "ERR Not a listpack encoded object.");
    } else if (!strcasecmp(sub, "quicklist") && (argc == 3 || argc == 4)) {
        debugEncodingDetail(c, "ERR Not a quicklist encoded object.");
    } else if (!strcasecmp(sub, "htstats-key") && argc == 3) {
        debugEncodingDetail(c, "ERR The value stored at the specified key is not represented using an hash table");
    } else if (!strcasecmp(sub, "populate") && argc >= 3 && argc <= 5) {
        debugPopulate(c);
    } else if (!strcasecmp(sub, "digest") && argc == 2) {
        debugDigest(c);
    } else if (!strcasecmp(sub, "digest-value") && argc >= 2) {
        debugDigestValue(c);
    } else if (!strcasecmp(sub, "protocol") && argc == 3) {
        debugProtocol(c);
    } else if (!strcasecmp(sub, "sleep") && argc == 3) {
        /* as Redis: strtod, whatever it makes of the argument */
        long long us = (long long)(strtod(c->argv[2], NULL) * 1000000);
        struct timespec ts = {(time_t)(us / 1000000), (long)((us % 1000000) * 1000)};
        nanosleep(&ts, NULL);
        addReplyOK(c);
    } else if (!strcasecmp(sub, "set-active-expire") && argc == 3) {
        server.active_expire_disabled = atoi(c->argv[2]) == 0; /* as Redis: atoi */
        addReplyOK(c);
    } else if (!strcasecmp(sub, "quicklist-packed-threshold") && argc == 3) {
        debugQuicklistPackedThreshold(c);
    } else if (!strcasecmp(sub, "set-disable-deny-scripts") && argc == 3) {
        server.script_disable_deny_script = atoi(c->argv[2]);
        addReplyOK(c);
    } else if (!strcasecmp(sub, "pause-cron") && argc == 3) {
        server.pause_cron = atoi(c->argv[2]);
        addReplyOK(c);
    } else if (!strcasecmp(sub, "error") && argc == 3) {
        debugError(c);
    } else if (!strcasecmp(sub, "change-repl-id") && argc == 2) {
        serverLog(LL_WARNING, "Changing replication IDs after receiving DEBUG change-repl-id");
        replicationChangeIds();
        addReplyOK(c);
    } else if (!strcasecmp(sub, "stringmatch-test") && argc == 2) {
        debugStringmatchTest(c);
    } else if (!strcasecmp(sub, "client-eviction") && argc == 2) {
        addReplyError(c, "ERR maxmemory-clients is disabled.");
    } else if (!strcasecmp(sub, "clusterlink") && argc == 5 && !strcasecmp(c->argv[2], "kill")) {
        addReplyError(c, "ERR Debug option only available for cluster mode enabled setup!");
    } else if (!strcasecmp(sub, "htstats") && argc == 3) {
        debugRefuse(c, "the keyspace is directories, not an in-memory hash table");
    } else if (!strcasecmp(sub, "sdslen") && argc == 3) {
        debugRefuse(c, "values live in files, not in sds strings");
    } else if (!strcasecmp(sub, "structsize") && argc == 2) {
        debugRefuse(c, "Redis's in-memory structures do not exist in dredis");
    } else if (!strcasecmp(sub, "replybuffer") && argc == 4) {
        debugRefuse(c, "replies go to libevent buffers, which have no peak tracking or resizing cron");
    } else if (!strcasecmp(sub, "aof-flush-sleep") && argc == 3) {
        aofSetFlushSleep(atoi(c->argv[2])); /* as Redis: microseconds before each AOF write */
        addReplyOK(c);
    } else if (!strcasecmp(sub, "set-skip-checksum-validation") && argc == 3) {
        debugRefuse(c, "RDB payloads are always verified");
    } else if (!strcasecmp(sub, "replicate") && argc >= 3) {
        debugRefuse(c, "the replication stream only carries what commands did");
    } else if (!strcasecmp(sub, "drop-cluster-packet-filter") && argc == 3) {
        debugRefuse(c, "there is no cluster bus");
    } else if (!strcasecmp(sub, "config-rewrite-force-all") && argc == 2) {
        debugRefuse(c, "the server is running without a config file");
    } else if ((!strcasecmp(sub, "restart") || !strcasecmp(sub, "crash-and-recover")) && argc <= 3) {
        debugRefuse(c, "the server does not restart itself");
    } else {
        /* MALLCTL and MALLCTL-STR too: dredis uses libc malloc, as a Redis
         * built without jemalloc, which has neither */
        addReplySubcommandSyntaxError(c);
    }
}

redisCommand debugCommandTable[] = {
    {"debug", debugCommand, -2, "admin noscript loading stale", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};
