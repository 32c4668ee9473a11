/* db.c - the keyspace as commands see it: looking keys up (with lazy expiry
 * and type checks), deleting and renaming them, and the generic key commands
 * (DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, RANDOMKEY, DBSIZE, FLUSHDB,
 * FLUSHALL, SELECT). */
#include "server.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <ctype.h>
#include <stdlib.h>

/* ------------------------------------------------------------------------ */
/* The expiry clock                                                          */
/* ------------------------------------------------------------------------ */

/* As Redis 7.0 (keyIsExpired): inside a script time stands still at the
 * script's start, inside any other command at the outermost command's start
 * (an EXEC block included), so that a key cannot expire half way through
 * one command, script or transaction; elsewhere (the active expiry cycle)
 * the clock runs. A key expires once the clock is past its time. */
static int expiryClockDepth;
static long long expiryClockMs;

void expiryClockEnter(long long nowms) {
    if (expiryClockDepth++ == 0) expiryClockMs = nowms;
}

void expiryClockLeave(void) { expiryClockDepth--; }

/* The running command's clock (read once per command, not once per key),
 * else now: a key's access time, and its expiry outside scripts. */
static long long accessNow(void) { return expiryClockDepth ? expiryClockMs : mstime(); }

static long long expiryNow(void) { return scriptIsRunning() ? scriptStartTime() : accessNow(); }

int keyIsExpired(const skey *k) { return k->expire >= 0 && k->expire < expiryNow(); }

static const char *typeNamesTable[] = {"string", "list", "set", "zset", "hash", "stream"};

const char *typeName(int type) {
    if (type < 0 || type > OBJ_STREAM) return "none";
    return typeNamesTable[type];
}

int typeFromName(const char *name) {
    for (int i = 0; i <= OBJ_STREAM; i++)
        if (!strcasecmp(name, typeNamesTable[i])) return i;
    return OBJ_NONE;
}

int selectDb(client *c, long id) {
    if (id < 0 || id >= server.dbnum) return C_ERR;
    c->db = (int)id;
    return C_OK;
}

/* Delete an open key whose time has come. */
static void expireOpenKey(skey *k) {
    if (writesArePaused()) return; /* looks absent, removed after the pause */
    if (server.masterhost) return;  /* looks absent; the master's DEL removes it */
    long long before = storeMutations();
    if (storeDeleteKey(k) == STORE_OK) {
        propagateExpiry(k->db, k->name, storeMutations() - before);
        server.stat_expiredkeys++;
        if (server.verbosity <= LL_DEBUG) serverLog(LL_DEBUG, "key expired in db %d", k->db);
        notifyKeyspaceEvent(NOTIFY_EXPIRED, "expired", k->name, k->db);
    }
}

/* Open a key for a command. Returns C_OK with *out set to the key (or NULL
 * when it does not exist or has expired), or C_ERR after replying with
 * WRONGTYPE or a storage error. type OBJ_NONE accepts any type. A live key
 * is marked accessed now (OBJECT IDLETIME), even of the wrong type, as in
 * Redis, unless flags has LOOKUP_NOTOUCH. */
static int lookupKeyGeneric(client *c, sds key, int type, int flags, skey **out) {
    skey *k;
    *out = NULL;
    int r = storeOpenKey(c->db, key, sdslen(key), &k);
    if (r == STORE_ERR) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    if (r == STORE_NOTFOUND) return C_OK;
    /* a replica's master sees its keys as they are: it sends their DEL */
    if (keyIsExpired(k) && !(c->flags & CLIENT_MASTER)) {
        expireOpenKey(k);
        storeCloseKey(k);
        return C_OK;
    }
    if (!(flags & LOOKUP_NOTOUCH)) storeKeyAccessed(k, accessNow());
    if (type != OBJ_NONE && k->type != type) {
        storeCloseKey(k);
        addReplyErrorWrongType(c);
        return C_ERR;
    }
    *out = k;
    return C_OK;
}

/* A read: counts a hit or a miss and, unless LOOKUP_NONOTIFY, publishes the
 * "keymiss" event of a miss (after the "expired" of a key found expired). */
int lookupKeyReadWithFlags(client *c, sds key, int type, int flags, skey **out) {
    int r = lookupKeyGeneric(c, key, type, flags, out);
    if (r == C_OK) {
        if (*out) {
            server.stat_keyspace_hits++;
        } else {
            server.stat_keyspace_misses++;
            if (!(flags & LOOKUP_NONOTIFY)) notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", key, c->db);
        }
    }
    return r;
}

int lookupKeyRead(client *c, sds key, int type, skey **out) { return lookupKeyReadWithFlags(c, key, type, 0, out); }

int lookupKeyWrite(client *c, sds key, int type, skey **out) { return lookupKeyGeneric(c, key, type, 0, out); }

int lookupKeyAny(client *c, sds key, skey **out) { return lookupKeyGeneric(c, key, OBJ_NONE, LOOKUP_NOTOUCH, out); }

/* lookupKeyRead for commands that answer nil rather than an error for a key
 * they cannot use (MGET): the key of any type, or NULL when it is missing,
 * expired (it is deleted) or unreadable. Counts hits and misses; never
 * replies. */
skey *lookupKeyReadOrNil(client *c, sds key) {
    skey *k;
    if (storeOpenKey(c->db, key, sdslen(key), &k) != STORE_OK) k = NULL;
    if (k && keyIsExpired(k) && !(c->flags & CLIENT_MASTER)) {
        expireOpenKey(k);
        storeCloseKey(k);
        k = NULL;
    }
    if (k) {
        storeKeyAccessed(k, accessNow());
        server.stat_keyspace_hits++;
    } else {
        server.stat_keyspace_misses++;
        notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", key, c->db);
    }
    return k;
}

/* Delete key if it exists. *deleted tells whether it did. */
int deleteKey(client *c, sds key, int *deleted) {
    skey *k;
    *deleted = 0;
    if (lookupKeyAny(c, key, &k) != C_OK) return C_ERR;
    if (!k) return C_OK;
    int r = storeDeleteKey(k);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) {
        addReplyErrorIO(c, saved);
        return C_ERR;
    }
    *deleted = r == STORE_OK;
    return C_OK;
}

/* Delete key if it exists, expired or not, as Redis's dbDelete() (what a
 * STORE command with an empty result does to its destination): an expired
 * key is deleted like any other, with no "expired" event. */
int deleteKeyEvenExpired(client *c, sds key, int *deleted) {
    skey *k;
    *deleted = 0;
    int r = storeOpenKey(c->db, key, sdslen(key), &k);
    if (r == STORE_NOTFOUND) return C_OK;
    if (r == STORE_OK) {
        r = storeDeleteKey(k);
        int saved = errno;
        storeCloseKey(k);
        errno = saved;
    }
    if (r == STORE_ERR) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    *deleted = r == STORE_OK;
    return C_OK;
}

/* A new key (storeNewKey) that cannot be finished: removed and closed, and
 * the storage error that stopped it (errno) replied. */
void discardNewKey(client *c, skey *n) {
    int saved = errno;
    storeDeleteKey(n);
    storeCloseKey(n);
    addReplyErrorIO(c, saved);
}

/* Make a finished new key visible and close it; C_ERR after replying (the
 * key discarded). */
int publishNewKey(client *c, skey *n) {
    if (storePublishKey(n, NULL) != STORE_OK) {
        discardNewKey(c, n);
        return C_ERR;
    }
    storeCloseKey(n);
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

static void delCommand(client *c) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        int deleted;
        if (deleteKey(c, c->argv[j], &deleted) != C_OK) return;
        if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[j], c->db);
        n += deleted;
    }
    addReplyLongLong(c, n);
}

/* EXISTS leaves the keys' access times, TOUCH sets them (as Redis). */
static void countExistingKeys(client *c, int flags) {
    long long n = 0;
    for (int j = 1; j < c->argc; j++) {
        skey *k;
        if (lookupKeyReadWithFlags(c, c->argv[j], OBJ_NONE, flags, &k) != C_OK) return;
        if (k) n++;
        storeCloseKey(k);
    }
    addReplyLongLong(c, n);
}

static void existsCommand(client *c) { countExistingKeys(c, LOOKUP_NOTOUCH); }
static void touchCommand(client *c) { countExistingKeys(c, 0); }

static void typeCommand(client *c) {
    skey *k;
    if (lookupKeyReadWithFlags(c, c->argv[1], OBJ_NONE, LOOKUP_NOTOUCH, &k) != C_OK) return;
    addReplyStatus(c, k ? typeName(k->type) : "none");
    storeCloseKey(k);
}

static int patternIsLiteral(const sds p) {
    for (size_t i = 0; i < sdslen(p); i++)
        if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\') return 0;
    return 1;
}

/* Whether a key seen in a directory listing is alive, of the wanted type
 * (OBJ_NONE for any). With reap, expired keys are deleted on the way (SCAN,
 * RANDOMKEY); KEYS only skips them, as Redis's does. */
static int keyIsLive(client *c, const char *name, size_t len, int type, int reap) {
    if (type == OBJ_NONE && storeKeyHasNoTTL(c->db, name, len)) return 1; /* SCAN's common case: no open */
    skey *k;
    if (storeOpenKey(c->db, name, len, &k) != STORE_OK) return 0;
    int live = 1;
    if (keyIsExpired(k)) {
        if (reap) expireOpenKey(k);
        live = 0;
    } else if (type != OBJ_NONE && k->type != type) {
        live = 0;
    }
    storeCloseKey(k);
    return live;
}

typedef struct keysCtx {
    client *c;
    sds pattern;
    int allkeys;
    int type;
    int reap;
    long n;
} keysCtx;

static int keysVisitor(void *ud, const char *name, size_t len) {
    keysCtx *kc = ud;
    if (!kc->allkeys && !stringmatchlen(kc->pattern, (int)sdslen(kc->pattern), name, (int)len, 0)) return 0;
    if (!keyIsLive(kc->c, name, len, kc->type, kc->reap)) return 0;
    addReplyBulk(kc->c, name, len);
    kc->n++;
    return 0;
}

static void keysCommand(client *c) {
    sds pattern = c->argv[1];
    if (patternIsLiteral(pattern)) {
        /* KEYS counts no hits or misses */
        if (keyIsLive(c, pattern, sdslen(pattern), OBJ_NONE, 0)) {
            addReplyArrayLen(c, 1);
            addReplyBulk(c, pattern, sdslen(pattern));
        } else {
            addReplyArrayLen(c, 0);
        }
        return;
    }
    keysCtx kc = {c, pattern, sdslen(pattern) == 1 && pattern[0] == '*', OBJ_NONE, 0, 0};
    replyCapture rc;
    unsigned long long cursor = 0;
    int r;
    replyCaptureStart(c, &rc);
    do {
        r = storeScanKeys(c->db, cursor, 1000, keysVisitor, &kc, &cursor);
    } while (r == STORE_OK && cursor != 0);
    if (r != STORE_OK) {
        int saved = errno;
        replyCaptureAbort(c, &rc);
        addReplyErrorIO(c, saved);
        return;
    }
    replyCaptureEndArray(c, &rc, kc.n);
}

/* A SCAN cursor, read as Redis reads it: with strtoul(), so "+5", "-1"
 * (the largest cursor) and "" (0) are accepted. */
int parseScanCursorOrReply(client *c, sds arg, unsigned long long *cursor) {
    char *end;
    errno = 0;
    *cursor = strtoull(arg, &end, 10);
    if (isspace((unsigned char)arg[0]) || *end != '\0' || errno == ERANGE) {
        addReplyError(c, "ERR invalid cursor");
        return C_ERR;
    }
    return C_OK;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void scanCommand(client *c) {
    unsigned long long cursor;
    if (parseScanCursorOrReply(c, c->argv[1], &cursor) != C_OK) return;
    sds pattern = NULL;
    long count = 10;
    int type = OBJ_NONE;
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            addReplyErrorSyntax(c);
            return;
        }
        if (!strcasecmp(c->argv[i], "match")) {
            pattern = c->argv[i + 1];
        } else if (!strcasecmp(c->argv[i], "count")) {
            if (getLongFromArgOrReply(c, c->argv[i + 1], &count, NULL) != C_OK) return;
            if (count < 1) {
                addReplyErrorSyntax(c);
                return;
            }
        } else if (!strcasecmp(c->argv[i], "type")) {
            type = typeFromName(c->argv[i + 1]);
            /* Redis 7.0 accepts an unknown type: it matches no key */
            if (type == OBJ_NONE) type = -2;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    keysCtx kc = {c, pattern, pattern == NULL || (sdslen(pattern) == 1 && pattern[0] == '*'), type, 1, 0};
    replyCapture rc;
    unsigned long long next;
    replyCaptureStart(c, &rc);
    int r = storeScanKeys(c->db, cursor, count, keysVisitor, &kc, &next);
    replyCaptureStop(c, &rc);
    if (r != STORE_OK) {
        int saved = errno;
        replyCaptureAbort(c, &rc);
        addReplyErrorIO(c, saved);
        return;
    }
    addReplyArrayLen(c, 2);
    addReplyBulkSds(c, sdscatprintf(sdsempty(), "%llu", next));
    replyCaptureEndArray(c, &rc, kc.n);
}

static void dbsizeCommand(client *c) {
    long long n;
    if (storeDbSize(c->db, &n) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    addReplyLongLong(c, n);
}

static int parseFlushMode(client *c) {
    if (c->argc == 1) return C_OK;
    if (c->argc == 2 && (!strcasecmp(c->argv[1], "sync") || !strcasecmp(c->argv[1], "async"))) return C_OK;
    addReplyErrorSyntax(c);
    return C_ERR;
}

static void flushdbCommand(client *c) {
    if (parseFlushMode(c) != C_OK) return;
    if (storeFlushDb(c->db) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    forceCommandPropagation(c); /* as Redis: even when it was empty */
    addReplyOK(c);
}

static void flushallCommand(client *c) {
    if (parseFlushMode(c) != C_OK) return;
    for (int db = 0; db < server.dbnum; db++) {
        if (storeFlushDb(db) != STORE_OK) {
            addReplyErrorIO(c, errno);
            return;
        }
    }
    forceCommandPropagation(c);
    addReplyOK(c);
}

static void selectCommand(client *c) {
    long id;
    if (getLongFromArgOrReply(c, c->argv[1], &id, "ERR value is not an integer or out of range") != C_OK) return;
    if (selectDb(c, id) != C_OK) {
        addReplyError(c, "ERR DB index is out of range");
        return;
    }
    addReplyOK(c);
}

static void randomkeyCommand(client *c) {
    for (int attempt = 0; attempt < 100; attempt++) {
        sds name;
        int r = storeRandomKey(c->db, &name);
        if (r == STORE_ERR) {
            addReplyErrorIO(c, errno);
            return;
        }
        if (r == STORE_NOTFOUND) break;
        if (keyIsLive(c, name, sdslen(name), OBJ_NONE, 1)) {
            addReplyBulkSds(c, name);
            return;
        }
        sdsfree(name);
    }
    addReplyNull(c);
}

static void renameGeneric(client *c, int nx) {
    skey *src, *dst;
    if (lookupKeyWrite(c, c->argv[1], OBJ_NONE, &src) != C_OK) return;
    if (!src) {
        addReplyError(c, "ERR no such key");
        return;
    }
    int same = sdscmp(c->argv[1], c->argv[2]) == 0;
    if (same) {
        storeCloseKey(src);
        if (nx) addReplyLongLong(c, 0);
        else addReplyOK(c);
        return;
    }
    if (lookupKeyWrite(c, c->argv[2], OBJ_NONE, &dst) != C_OK) {
        storeCloseKey(src);
        return;
    }
    int exists = dst != NULL;
    storeCloseKey(dst);
    if (nx && exists) {
        storeCloseKey(src);
        addReplyLongLong(c, 0);
        return;
    }
    int r = storeRenameKey(src, c->db, c->argv[2], sdslen(c->argv[2]));
    int saved = errno;
    storeCloseKey(src);
    if (r != STORE_OK) {
        addReplyErrorIO(c, saved);
        return;
    }
    /* as Redis: an existing destination is deleted and the key added anew */
    notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[2], c->db);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "rename_from", c->argv[1], c->db);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "rename_to", c->argv[2], c->db);
    if (nx) addReplyLongLong(c, 1);
    else addReplyOK(c);
}

static void renameCommand(client *c) { renameGeneric(c, 0); }
static void renamenxCommand(client *c) { renameGeneric(c, 1); }

static int getDbIndexOrReply(client *c, sds arg, int *db, const char *notint) {
    long id;
    if (getLongFromArgOrReply(c, arg, &id, notint ? notint : "ERR value is not an integer or out of range") != C_OK)
        return C_ERR;
    if (id < 0 || id >= server.dbnum) {
        addReplyError(c, "ERR DB index is out of range");
        return C_ERR;
    }
    *db = (int)id;
    return C_OK;
}

/* Does key exist (alive) in db? Expired keys are removed on the way. */
static int lookupInDb(client *c, int db, sds key, skey **out) {
    int saved = c->db;
    c->db = db;
    int r = lookupKeyWrite(c, key, OBJ_NONE, out);
    c->db = saved;
    return r;
}

static void moveCommand(client *c) {
    int dstdb;
    if (getDbIndexOrReply(c, c->argv[2], &dstdb, NULL) != C_OK) return;
    if (dstdb == c->db) {
        addReplyError(c, "ERR source and destination objects are the same");
        return;
    }
    skey *src, *dst;
    if (lookupKeyWrite(c, c->argv[1], OBJ_NONE, &src) != C_OK) return;
    if (!src) {
        addReplyLongLong(c, 0);
        return;
    }
    if (lookupInDb(c, dstdb, c->argv[1], &dst) != C_OK) {
        storeCloseKey(src);
        return;
    }
    if (dst) {
        storeCloseKey(dst);
        storeCloseKey(src);
        addReplyLongLong(c, 0);
        return;
    }
    int r = storeRenameKey(src, dstdb, c->argv[1], sdslen(c->argv[1]));
    int saved = errno;
    storeCloseKey(src);
    if (r != STORE_OK) {
        addReplyErrorIO(c, saved);
        return;
    }
    notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], dstdb);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "move_from", c->argv[1], c->db);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "move_to", c->argv[1], dstdb);
    addReplyLongLong(c, 1);
}

/* COPY source destination [DB destination-db] [REPLACE] */
static void copyCommand(client *c) {
    int dstdb = c->db, replace = 0;
    for (int j = 3; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "replace")) {
            replace = 1;
        } else if (!strcasecmp(c->argv[j], "db") && j + 1 < c->argc) {
            if (getDbIndexOrReply(c, c->argv[++j], &dstdb, NULL) != C_OK) return;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (dstdb == c->db && sdscmp(c->argv[1], c->argv[2]) == 0) {
        addReplyError(c, "ERR source and destination objects are the same");
        return;
    }
    skey *src, *dst;
    if (lookupKeyRead(c, c->argv[1], OBJ_NONE, &src) != C_OK) return;
    if (!src) {
        addReplyLongLong(c, 0);
        return;
    }
    if (lookupInDb(c, dstdb, c->argv[2], &dst) != C_OK) {
        storeCloseKey(src);
        return;
    }
    int exists = dst != NULL;
    storeCloseKey(dst);
    if (exists && !replace) {
        storeCloseKey(src);
        addReplyLongLong(c, 0);
        return;
    }
    int r = storeCopyKey(src, dstdb, c->argv[2], sdslen(c->argv[2]), 1);
    int saved = errno;
    storeCloseKey(src);
    if (r != STORE_OK) {
        addReplyErrorIO(c, saved);
        return;
    }
    /* as Redis: a replaced destination is deleted and the copy added anew */
    notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[2], dstdb);
    notifyKeyspaceEvent(NOTIFY_GENERIC, "copy_to", c->argv[2], dstdb);
    addReplyLongLong(c, 1);
}

static void swapdbCommand(client *c) {
    int db1, db2;
    if (getDbIndexOrReply(c, c->argv[1], &db1, "ERR invalid first DB index") != C_OK) return;
    if (getDbIndexOrReply(c, c->argv[2], &db2, "ERR invalid second DB index") != C_OK) return;
    touchWatchedKeysOnSwap(db1, db2);
    int r = storeSwapDb(db1, db2);
    touchWatchedKeysOnSwapEnd();
    if (r != STORE_OK) {
        addReplyErrorIO(c, errno);
        return;
    }
    signalAllBlockedKeysInDb(db1);
    signalAllBlockedKeysInDb(db2);
    forceCommandPropagation(c);
    addReplyOK(c);
}

/* The key OBJECT asks about, looked up as Redis's objectCommandLookup (no
 * "keymiss" event, the key's access time stays), or NULL after replying:
 * nil for a missing key, or the lookup's error. */
static skey *objectLookupOrReply(client *c) {
    skey *k;
    if (lookupKeyReadWithFlags(c, c->argv[2], OBJ_NONE, LOOKUP_NONOTIFY | LOOKUP_NOTOUCH, &k) != C_OK) return NULL;
    if (!k) addReplyNull(c);
    return k;
}

/* OBJECT ENCODING answers for dredis's own storage: a string is a "file",
 * a collection a "dirtree". */
static void objectEncodingCommand(client *c) {
    skey *k = objectLookupOrReply(c);
    if (!k) return;
    addReplyBulkCString(c, k->type == OBJ_STRING ? "file" : "dirtree");
    storeCloseKey(k);
}

/* dredis's only maxmemory-policy is noeviction (config.c): Redis answers
 * this error for every policy but the LFU ones, even for a missing key. */
static void objectFreqCommand(client *c) {
    skey *k = objectLookupOrReply(c);
    if (!k) return;
    storeCloseKey(k);
    addReplyError(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
                     "when switching between policies at runtime LRU and LFU data will take some time to adjust.");
}

/* OBJECT REFCOUNT: nothing in dredis shares a value between keys (each key
 * is its own directory; COPY's shared files are never written again), so
 * an existing key's value has exactly one reference. */
static void objectRefcountCommand(client *c) {
    skey *k = objectLookupOrReply(c);
    if (!k) return;
    storeCloseKey(k);
    addReplyLongLong(c, 1);
}

/* ---- Redis's LRU clock ----
 * Redis keeps a key's last access as a clock of seconds that wraps at 24
 * bits (about 194 days), and reads idle times back from it; dredis keeps
 * unix milliseconds (storeKeyAccessed) and answers through the same clock,
 * so that idle times, their rounding and their wrapping are Redis's. */
#define LRU_CLOCK_MAX ((1LL << 24) - 1)
#define LRU_CLOCK_SPAN (1LL << 24)

long long lruClockOf(long long ms) { return ((ms / 1000) % LRU_CLOCK_SPAN + LRU_CLOCK_SPAN) % LRU_CLOCK_SPAN; }

/* Seconds between two access times, as Redis's estimateObjectIdleTime. */
long long lruIdleSeconds(long long atime_ms, long long now_ms) {
    long long clock = lruClockOf(now_ms), lru = lruClockOf(atime_ms);
    return clock >= lru ? clock - lru : clock + (LRU_CLOCK_MAX - lru);
}

/* The access time that reads back as idle_s seconds idle (RESTORE
 * IDLETIME), as Redis's objectSetLRUOrLFU places it on its clock (scaling
 * the seconds to ms and back, which wraps for idle_s past LLONG_MAX/1000). */
long long lruAccessTimeOfIdle(long long idle_s, long long now_ms) {
    long long clock = lruClockOf(now_ms);
    long long lru = clock - (long long)((unsigned long long)idle_s * 1000ULL) / 1000;
    if (lru < 0) lru += LRU_CLOCK_MAX;
    lru = (lru % LRU_CLOCK_SPAN + LRU_CLOCK_SPAN) % LRU_CLOCK_SPAN; /* Redis's 24-bit field */
    long long back = ((clock - lru) % LRU_CLOCK_SPAN + LRU_CLOCK_SPAN) % LRU_CLOCK_SPAN;
    return (now_ms / 1000 - back) * 1000;
}

/* OBJECT IDLETIME: seconds since the key was last accessed. The access
 * times live in memory (storeKeyAccessed): see docs/compatibility.md for
 * what a key the store's cache has forgotten answers. */
static void objectIdletimeCommand(client *c) {
    skey *k = objectLookupOrReply(c);
    if (!k) return;
    long long atime;
    int r = storeKeyLastAccess(k, &atime);
    int saved = errno;
    storeCloseKey(k);
    if (r != STORE_OK) addReplyErrorIO(c, saved);
    else addReplyLongLong(c, lruIdleSeconds(atime, mstime()));
}

static void objectHelpCommand(client *c) {
    static const char *help[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>: 'file' for strings, 'dirtree' for collections.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>: not tracked by dredis,",
        "    whose only maxmemory-policy is noeviction (an error, as Redis's).",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>: always 1 in dredis, which shares no values between keys.",
        "HELP",
        "    Print this help.",
    };
    addReplyHelpLines(c, help);
}

static void objectCommand(client *c) { (void)c; }

static redisCommand objectSubcommands[] = {
    {"encoding", objectEncodingCommand, 3, "readonly", "keyspace read slow", 2, 2, 1, NULL},
    {"freq", objectFreqCommand, 3, "readonly", "keyspace read slow", 2, 2, 1, NULL},
    {"help", objectHelpCommand, 2, "loading stale", "keyspace slow", 0, 0, 0, NULL},
    {"idletime", objectIdletimeCommand, 3, "readonly", "keyspace read slow", 2, 2, 1, NULL},
    {"refcount", objectRefcountCommand, 3, "readonly", "keyspace read slow", 2, 2, 1, NULL},
    {NULL}};

redisCommand keyspaceCommandTable[] = {
    {"move", moveCommand, 3, "write fast", "keyspace write fast", 1, 1, 1, NULL},
    {"copy", copyCommand, -3, "write denyoom", "keyspace write slow", 1, 2, 1, NULL},
    {"swapdb", swapdbCommand, 3, "write fast", "keyspace write fast dangerous", 0, 0, 0, NULL},
    {"touch", touchCommand, -2, "readonly fast", "keyspace read fast", 1, -1, 1, NULL},
    {"object", objectCommand, -2, "", "slow", 0, 0, 0, objectSubcommands},
    {"del", delCommand, -2, "write", "keyspace write slow", 1, -1, 1, NULL},
    {"unlink", delCommand, -2, "write fast", "keyspace write fast", 1, -1, 1, NULL},
    {"exists", existsCommand, -2, "readonly fast", "keyspace read fast", 1, -1, 1, NULL},
    {"type", typeCommand, 2, "readonly fast", "keyspace read fast", 1, 1, 1, NULL},
    {"keys", keysCommand, 2, "readonly", "keyspace read slow dangerous", 0, 0, 0, NULL},
    {"scan", scanCommand, -2, "readonly", "keyspace read slow", 0, 0, 0, NULL},
    {"dbsize", dbsizeCommand, 1, "readonly fast", "keyspace read fast", 0, 0, 0, NULL},
    {"flushdb", flushdbCommand, -1, "write", "keyspace write slow dangerous", 0, 0, 0, NULL},
    {"flushall", flushallCommand, -1, "write", "keyspace write slow dangerous", 0, 0, 0, NULL},
    {"select", selectCommand, 2, "loading stale fast", "fast connection", 0, 0, 0, NULL},
    {"randomkey", randomkeyCommand, 1, "readonly", "keyspace read slow", 0, 0, 0, NULL},
    {"rename", renameCommand, 3, "write", "keyspace write slow", 1, 2, 1, NULL},
    {"renamenx", renamenxCommand, 3, "write fast", "keyspace write fast", 1, 2, 1, NULL},
    {NULL}};
