/* expire.c - key time-to-live: the EXPIRE/TTL command family and the active
 * expiry cycle. Expiry times live in each key's "expire" file and in the
 * per-database expiry index (see store_expire.c); the cycle walks that index a slice
 * at a time, so its cost follows the number of keys with a TTL. */
#include "server.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>

#define EXPIRE_NX (1 << 0)
#define EXPIRE_XX (1 << 1)
#define EXPIRE_GT (1 << 2)
#define EXPIRE_LT (1 << 3)

#define ACTIVE_EXPIRE_BUDGET 200 /* index entries looked at per db per cycle */

static void expireIfDue(int db, const char *name, size_t len, long long when) {
    (void)when;
    skey *k;
    if (storeOpenKey(db, name, len, &k) != STORE_OK) return;
    long long before = storeMutations();
    propagateUnitBegin();
    if (keyIsExpired(k) && storeDeleteKey(k) == STORE_OK) {
        propagateExpiry(db, k->name, storeMutations() - before);
        server.stat_expiredkeys++;
        notifyKeyspaceEvent(NOTIFY_EXPIRED, "expired", k->name, db);
    }
    propagateUnitEnd();
    storeCloseKey(k);
}

void activeExpireCycle(void) {
    /* CLIENT PAUSE freezes the data set, as in Redis: nothing expires */
    if (writesArePaused() || server.active_expire_disabled) return;
    if (server.masterhost) return; /* a replica waits for its master's DELs */
    long long now = mstime();
    for (int db = 0; db < server.dbnum; db++) storeExpireScan(db, now, ACTIVE_EXPIRE_BUDGET, expireIfDue);
    latencyAddSampleIfNeeded("expire-cycle", mstime() - now);
}

static int parseExpireFlags(client *c, int first, int *flags) {
    *flags = 0;
    for (int j = first; j < c->argc; j++) {
        const char *opt = c->argv[j];
        if (!strcasecmp(opt, "nx")) *flags |= EXPIRE_NX;
        else if (!strcasecmp(opt, "xx")) *flags |= EXPIRE_XX;
        else if (!strcasecmp(opt, "gt")) *flags |= EXPIRE_GT;
        else if (!strcasecmp(opt, "lt")) *flags |= EXPIRE_LT;
        else {
            addReplyErrorFormat(c, "ERR Unsupported option %s", opt);
            return C_ERR;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        addReplyError(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return C_ERR;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        addReplyError(c, "ERR GT and LT options at the same time are not compatible");
        return C_ERR;
    }
    return C_OK;
}

/* As Redis 7.0 tells replicas: DEL for a time already past, else
 * PEXPIREAT with the absolute time (and the same NX/XX/GT/LT). */
static void propagateExpire(client *c, int past, long long when) {
    /* even when the time set is the one the key had (EXPIRE then PEXPIRE
     * within a millisecond), which changes nothing in the store: Redis
     * counts every successful expire as a change and sends it */
    forceCommandPropagation(c);
    if (past) {
        rewriteCommandForPropagation(c, 2, propWord("DEL"), c->argv[1]);
        return;
    }
    sds *argv = zmalloc(sizeof(sds) * (size_t)c->argc);
    memcpy(argv, c->argv, sizeof(sds) * (size_t)c->argc);
    sds ms = sdsfromlonglong(when);
    argv[0] = propWord("PEXPIREAT");
    argv[2] = ms;
    rewriteCommandForPropagationArgv(c, c->argc, argv);
    sdsfree(ms);
    zfree(argv);
}

/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT: basetime is now (relative) or 0
 * (absolute); unit_ms is 1000 for seconds, 1 for milliseconds. */
static void expireGeneric(client *c, long long basetime, int unit_ms) {
    long long when;
    int flags;
    if (parseExpireFlags(c, 3, &flags) != C_OK) return;
    if (getLongLongFromArgOrReply(c, c->argv[2], &when, NULL) != C_OK) return;
    if (unit_ms == 1000) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) goto invalid;
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) goto invalid;
    when += basetime;

    skey *k;
    if (lookupKeyWrite(c, c->argv[1], OBJ_NONE, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    long long cur = k->expire;
    if (flags) {
        int ok = 1;
        if ((flags & EXPIRE_NX) && cur != -1) ok = 0;
        if ((flags & EXPIRE_XX) && cur == -1) ok = 0;
        /* a key without TTL counts as an infinite TTL */
        if ((flags & EXPIRE_GT) && (cur == -1 || when <= cur)) ok = 0;
        if ((flags & EXPIRE_LT) && cur != -1 && when >= cur) ok = 0;
        if (!ok) {
            storeCloseKey(k);
            addReplyLongLong(c, 0);
            return;
        }
    }
    int r, past = when <= mstime();
    if (past) r = storeDeleteKey(k); /* already in the past */
    else r = storeSetExpire(k, when);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) {
        addReplyErrorIO(c, saved);
        return;
    }
    notifyKeyspaceEvent(NOTIFY_GENERIC, past ? "del" : "expire", c->argv[1], c->db);
    propagateExpire(c, past, when);
    addReplyLongLong(c, 1);
    return;
invalid: {
        sds name = sdsdup(c->argv[0]);
        sdstolower(name);
        addReplyErrorFormat(c, "ERR invalid expire time in '%s' command", name);
        sdsfree(name);
    }
}

static void expireCommand(client *c) { expireGeneric(c, mstime(), 1000); }
static void pexpireCommand(client *c) { expireGeneric(c, mstime(), 1); }
static void expireatCommand(client *c) { expireGeneric(c, 0, 1000); }
static void pexpireatCommand(client *c) { expireGeneric(c, 0, 1); }

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME */
static void ttlGeneric(client *c, int output_ms, int output_abs) {
    skey *k;
    if (lookupKeyReadWithFlags(c, c->argv[1], OBJ_NONE, LOOKUP_NOTOUCH, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, -2);
        return;
    }
    long long expire = k->expire;
    storeCloseKey(k);
    if (expire == -1) {
        addReplyLongLong(c, -1);
        return;
    }
    long long v = output_abs ? expire : expire - mstime();
    if (v < 0) v = 0;
    /* rounded to the nearest second, without overflowing near LLONG_MAX */
    addReplyLongLong(c, output_ms ? v : (long long)(((unsigned long long)v + 500) / 1000));
}

static void ttlCommand(client *c) { ttlGeneric(c, 0, 0); }
static void pttlCommand(client *c) { ttlGeneric(c, 1, 0); }
static void expiretimeCommand(client *c) { ttlGeneric(c, 0, 1); }
static void pexpiretimeCommand(client *c) { ttlGeneric(c, 1, 1); }

static void persistCommand(client *c) {
    skey *k;
    if (lookupKeyWrite(c, c->argv[1], OBJ_NONE, &k) != C_OK) return;
    if (!k || k->expire == -1) {
        storeCloseKey(k);
        addReplyLongLong(c, 0);
        return;
    }
    int r = storeSetExpire(k, -1);
    int saved = errno;
    storeCloseKey(k);
    if (r != STORE_OK) {
        addReplyErrorIO(c, saved);
        return;
    }
    notifyKeyspaceEvent(NOTIFY_GENERIC, "persist", c->argv[1], c->db);
    addReplyLongLong(c, 1);
}

redisCommand expireCommandTable[] = {
    {"expire", expireCommand, -3, "write fast", "keyspace write fast", 1, 1, 1, NULL},
    {"pexpire", pexpireCommand, -3, "write fast", "keyspace write fast", 1, 1, 1, NULL},
    {"expireat", expireatCommand, -3, "write fast", "keyspace write fast", 1, 1, 1, NULL},
    {"pexpireat", pexpireatCommand, -3, "write fast", "keyspace write fast", 1, 1, 1, NULL},
    {"ttl", ttlCommand, 2, "readonly fast", "keyspace read fast", 1, 1, 1, NULL},
    {"pttl", pttlCommand, 2, "readonly fast", "keyspace read fast", 1, 1, 1, NULL},
    {"expiretime", expiretimeCommand, 2, "readonly fast", "keyspace read fast", 1, 1, 1, NULL},
    {"pexpiretime", pexpiretimeCommand, 2, "readonly fast", "keyspace read fast", 1, 1, 1, NULL},
    {"persist", persistCommand, 2, "write fast", "keyspace write fast", 1, 1, 1, NULL},
    {NULL}};
