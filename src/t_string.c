/* t_string.c - string commands. A string is a key directory whose "value"
 * file holds its bytes. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>
#include <math.h>

#define STRING_MAX_SIZE respMaxBulkLen /* proto-max-bulk-len */

#define SET_NX (1 << 0)
#define SET_XX (1 << 1)
#define SET_EX (1 << 2)
#define SET_PX (1 << 3)
#define SET_EXAT (1 << 4)
#define SET_PXAT (1 << 5)
#define SET_KEEPTTL (1 << 6)
#define SET_GET (1 << 7)
#define SET_PERSIST (1 << 8)
#define SET_EXPIRE_FLAGS (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

enum { COMMAND_SET, COMMAND_GETEX };

static int replyIOError(client *c) {
    addReplyErrorIO(c, errno);
    return C_ERR;
}

/* Store val as the string at key. k is the key as looked up (NULL when it
 * does not exist; any type). expire: unix ms or -1; keepttl keeps k's TTL.
 * A key that did not exist is announced with the "new" event, as Redis's
 * dbAdd() does (replacing a key of another type is no new key). */
static int setStringValue(client *c, sds key, skey *k, const char *val, size_t len, long long expire, int keepttl) {
    if (k && k->type == OBJ_STRING) {
        if (storeWriteFile(k, "value", val, len) != STORE_OK) return replyIOError(c);
        if (!keepttl && storeSetExpire(k, expire) != STORE_OK) return replyIOError(c);
        return C_OK;
    }
    skey *n;
    if (storeNewKey(c->db, key, sdslen(key), OBJ_STRING, &n) != STORE_OK) return replyIOError(c);
    if (keepttl && k) expire = k->expire;
    if (storeWriteFile(n, "value", val, len) != STORE_OK || storeSetExpire(n, expire) != STORE_OK) {
        discardNewKey(c, n);
        return C_ERR;
    }
    if (publishNewKey(c, n) != C_OK) return C_ERR;
    if (!k) notifyKeyspaceEvent(NOTIFY_NEW, "new", key, c->db);
    return C_OK;
}

/* Read a string key's value. C_OK with *val NULL when missing. */
static int getStringValue(client *c, sds key, sds *val, skey **keep) {
    skey *k;
    *val = NULL;
    if (keep) *keep = NULL;
    if (lookupKeyRead(c, key, OBJ_STRING, &k) != C_OK) return C_ERR;
    if (!k) return C_OK;
    if (storeReadFile(k, "value", val) != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        errno = saved;
        return replyIOError(c);
    }
    if (keep) *keep = k;
    else storeCloseKey(k);
    return C_OK;
}

static int isOpt(const char *a, const char *name) { return !strcasecmp(a, name); }

/* Parse SET / GETEX options as Redis's parseExtendedStringArgumentsOrReply. */
static int parseStringOptions(client *c, int first, int type, int *flags, sds *expire_arg) {
    *flags = 0;
    *expire_arg = NULL;
    for (int j = first; j < c->argc; j++) {
        const char *opt = c->argv[j];
        sds next = j == c->argc - 1 ? NULL : c->argv[j + 1];
        if (isOpt(opt, "nx") && !(*flags & SET_XX) && type == COMMAND_SET) {
            *flags |= SET_NX;
        } else if (isOpt(opt, "xx") && !(*flags & SET_NX) && type == COMMAND_SET) {
            *flags |= SET_XX;
        } else if (isOpt(opt, "get") && type == COMMAND_SET) {
            *flags |= SET_GET;
        } else if (isOpt(opt, "keepttl") && !(*flags & (SET_PERSIST | SET_EXPIRE_FLAGS)) && type == COMMAND_SET) {
            *flags |= SET_KEEPTTL;
        } else if (isOpt(opt, "persist") && type == COMMAND_GETEX && !(*flags & (SET_EXPIRE_FLAGS | SET_KEEPTTL))) {
            *flags |= SET_PERSIST;
        } else if (next && (isOpt(opt, "ex") || isOpt(opt, "px") || isOpt(opt, "exat") || isOpt(opt, "pxat"))) {
            /* the same expire option may repeat (the last one wins); two
             * different ones conflict */
            int f = isOpt(opt, "ex") ? SET_EX : isOpt(opt, "px") ? SET_PX : isOpt(opt, "exat") ? SET_EXAT : SET_PXAT;
            if (*flags & ((SET_KEEPTTL | SET_PERSIST | SET_EXPIRE_FLAGS) & ~f)) {
                addReplyErrorSyntax(c);
                return C_ERR;
            }
            *flags |= f;
            *expire_arg = next;
            j++;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
    }
    return C_OK;
}

static void replyInvalidExpire(client *c) {
    addReplyErrorFormat(c, "ERR invalid expire time in '%s' command", c->cmd->fullname);
}

/* The absolute expiry (unix ms) for an EX/PX/EXAT/PXAT argument. */
static int expireFromOption(client *c, sds arg, int flags, long long *out) {
    long long v;
    if (getLongLongFromArgOrReply(c, arg, &v, NULL) != C_OK) return C_ERR;
    int seconds = flags & (SET_EX | SET_EXAT);
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
        replyInvalidExpire(c);
        return C_ERR;
    }
    if (seconds) v *= 1000;
    if (flags & (SET_EX | SET_PX)) {
        long long now = mstime();
        if (v > LLONG_MAX - now) {
            replyInvalidExpire(c);
            return C_ERR;
        }
        v += now;
    }
    *out = v;
    return C_OK;
}

/* What replicas get for SET (and SETEX, PSETEX, GETSET), as Redis 7.0
 * sends it: a time to live as an absolute PXAT, and no GET. */
static void propagateSet(client *c, sds key, sds val, int flags, long long expire) {
    if (expire != -1) {
        sds ms = sdsfromlonglong(expire);
        rewriteCommandForPropagation(c, 5, propWord("SET"), key, val, propWord("PXAT"), ms);
        sdsfree(ms);
    } else if (flags & SET_GET) {
        sds *argv = zmalloc(sizeof(sds) * (size_t)c->argc);
        int argc = 0;
        argv[argc++] = propWord("SET");
        for (int j = 1; j < c->argc; j++)
            if (j < 3 || strcasecmp(c->argv[j], "get")) argv[argc++] = c->argv[j];
        rewriteCommandForPropagationArgv(c, argc, argv);
        zfree(argv);
    }
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] */
static void setGeneric(client *c, sds key, sds val, int flags, long long expire) {
    skey *k;
    if (lookupKeyWrite(c, key, OBJ_NONE, &k) != C_OK) return;
    if (flags & SET_GET) {
        /* the GET part is a read, as Redis counts (and announces) it */
        if (k) {
            server.stat_keyspace_hits++;
        } else {
            server.stat_keyspace_misses++;
            notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", key, c->db);
        }
    }
    if ((flags & SET_GET) && k && k->type != OBJ_STRING) {
        storeCloseKey(k);
        addReplyErrorWrongType(c);
        return;
    }
    sds old = NULL;
    if ((flags & SET_GET) && k && storeReadFile(k, "value", &old) != STORE_OK) {
        storeCloseKey(k);
        replyIOError(c);
        return;
    }
    if (((flags & SET_NX) && k) || ((flags & SET_XX) && !k)) {
        storeCloseKey(k);
        if (flags & SET_GET) {
            if (old) addReplyBulkSds(c, old);
            else addReplyNull(c);
        } else {
            addReplyNull(c);
        }
        return;
    }
    int r = setStringValue(c, key, k, val, sdslen(val), expire, flags & SET_KEEPTTL);
    storeCloseKey(k);
    if (r != C_OK) {
        sdsfree(old);
        return;
    }
    notifyKeyspaceEvent(NOTIFY_STRING, "set", key, c->db);
    if (expire != -1) notifyKeyspaceEvent(NOTIFY_GENERIC, "expire", key, c->db);
    propagateSet(c, key, val, flags, expire);
    if (flags & SET_GET) {
        if (old) addReplyBulkSds(c, old);
        else addReplyNull(c);
    } else {
        addReplyOK(c);
    }
}

static void setCommand(client *c) {
    int flags;
    sds expire_arg;
    long long expire = -1;
    if (parseStringOptions(c, 3, COMMAND_SET, &flags, &expire_arg) != C_OK) return;
    if (expire_arg && expireFromOption(c, expire_arg, flags, &expire) != C_OK) return;
    setGeneric(c, c->argv[1], c->argv[2], flags, expire);
}

static void setnxCommand(client *c) {
    skey *k;
    if (lookupKeyWrite(c, c->argv[1], OBJ_NONE, &k) != C_OK) return;
    if (k) {
        storeCloseKey(k);
        addReplyLongLong(c, 0);
        return;
    }
    if (setStringValue(c, c->argv[1], NULL, c->argv[2], sdslen(c->argv[2]), -1, 0) != C_OK) return;
    notifyKeyspaceEvent(NOTIFY_STRING, "set", c->argv[1], c->db);
    addReplyLongLong(c, 1);
}

static void setexGeneric(client *c, int flags) {
    long long expire;
    if (expireFromOption(c, c->argv[2], flags, &expire) != C_OK) return;
    setGeneric(c, c->argv[1], c->argv[3], 0, expire);
}

static void setexCommand(client *c) { setexGeneric(c, SET_EX); }
static void psetexCommand(client *c) { setexGeneric(c, SET_PX); }

static void getCommand(client *c) {
    sds val;
    if (getStringValue(c, c->argv[1], &val, NULL) != C_OK) return;
    if (val) addReplyBulkSds(c, val);
    else addReplyNull(c);
}

static void getsetCommand(client *c) { setGeneric(c, c->argv[1], c->argv[2], SET_GET, -1); }

static void getdelCommand(client *c) {
    sds val;
    skey *k;
    if (getStringValue(c, c->argv[1], &val, &k) != C_OK) return;
    if (!val) {
        addReplyNull(c);
        return;
    }
    int r = storeDeleteKey(k);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) {
        sdsfree(val);
        addReplyErrorIO(c, saved);
        return;
    }
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[1], c->db);
    rewriteCommandForPropagation(c, 2, propWord("DEL"), c->argv[1]);
    addReplyBulkSds(c, val);
}

/* GETEX as replicas get it: DEL, PEXPIREAT or PERSIST, as Redis 7.0. */
static void propagateGetex(client *c, const char *event, long long expire) {
    if (!event) return;
    forceCommandPropagation(c); /* as expire.c's: an unchanged time is sent too */
    if (!strcmp(event, "del")) {
        rewriteCommandForPropagation(c, 2, propWord("DEL"), c->argv[1]);
    } else if (!strcmp(event, "expire")) {
        sds ms = sdsfromlonglong(expire);
        rewriteCommandForPropagation(c, 3, propWord("PEXPIREAT"), c->argv[1], ms);
        sdsfree(ms);
    } else {
        rewriteCommandForPropagation(c, 2, propWord("PERSIST"), c->argv[1]);
    }
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST] */
static void getexCommand(client *c) {
    int flags;
    sds expire_arg, val;
    long long expire = -1;
    skey *k;
    if (parseStringOptions(c, 2, COMMAND_GETEX, &flags, &expire_arg) != C_OK) return;
    if (getStringValue(c, c->argv[1], &val, &k) != C_OK) return;
    if (!val) {
        addReplyNull(c);
        return;
    }
    /* as Redis: a missing key or a wrong type is reported before the expire */
    if (expire_arg && expireFromOption(c, expire_arg, flags, &expire) != C_OK) {
        sdsfree(val);
        storeCloseKey(k);
        return;
    }
    int r = STORE_OK;
    const char *event = NULL;
    if (expire_arg && expire <= mstime()) {
        r = storeDeleteKey(k);
        event = "del";
    } else if (expire_arg) {
        r = storeSetExpire(k, expire);
        event = "expire";
    } else if ((flags & SET_PERSIST) && k->expire != -1) {
        r = storeSetExpire(k, -1);
        event = "persist";
    }
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) {
        sdsfree(val);
        addReplyErrorIO(c, saved);
        return;
    }
    if (event) notifyKeyspaceEvent(NOTIFY_GENERIC, event, c->argv[1], c->db);
    propagateGetex(c, event, expire);
    addReplyBulkSds(c, val);
}

static void mgetCommand(client *c) {
    addReplyArrayLen(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        sds val = NULL;
        /* MGET answers nil for keys of other types, and for unreadable ones */
        skey *k = lookupKeyReadOrNil(c, c->argv[j]);
        if (k && k->type == OBJ_STRING && storeReadFile(k, "value", &val) != STORE_OK) val = NULL;
        storeCloseKey(k);
        if (val) addReplyBulkSds(c, val);
        else addReplyNull(c);
    }
}

/* For MSET: which pairs name a key that a later pair sets again. Only the
 * last value of a key is written (the earlier ones would be replaced within
 * the same command, which is atomic); each pair still sends its event.
 * Returns a zcalloc'ed flag per argv slot (caller frees). */
#define MSET_LINEAR_PAIRS 16
static char *msetSupersededPairs(client *c) {
    char *superseded = zcalloc((size_t)c->argc);
    int npairs = (c->argc - 1) / 2;
    if (npairs <= MSET_LINEAR_PAIRS) {
        for (int j = 1; j < c->argc; j += 2)
            for (int l = j + 2; l < c->argc && !superseded[j]; l += 2)
                superseded[j] = sdslen(c->argv[j]) == sdslen(c->argv[l]) &&
                                !memcmp(c->argv[j], c->argv[l], sdslen(c->argv[j]));
        return superseded;
    }
    dict *later = dictCreate();
    for (int j = c->argc - 2; j >= 1; j -= 2)
        if (!dictAdd(later, c->argv[j], sdslen(c->argv[j]), NULL)) superseded[j] = 1;
    dictRelease(later, NULL);
    return superseded;
}

/* Set every pair (C_ERR once one failed, its error replied). */
static int msetWritePairs(client *c) {
    char *superseded = msetSupersededPairs(c);
    int ok = C_OK;
    for (int j = 1; j < c->argc && ok == C_OK; j += 2) {
        if (!superseded[j]) {
            skey *k;
            ok = lookupKeyWrite(c, c->argv[j], OBJ_NONE, &k);
            if (ok != C_OK) break;
            ok = setStringValue(c, c->argv[j], k, c->argv[j + 1], sdslen(c->argv[j + 1]), -1, 0);
            storeCloseKey(k);
            if (ok != C_OK) break;
        }
        notifyKeyspaceEvent(NOTIFY_STRING, "set", c->argv[j], c->db);
    }
    zfree(superseded);
    return ok;
}

static void msetGeneric(client *c, int nx) {
    if ((c->argc % 2) == 0) {
        addReplyErrorArity(c);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2) {
            skey *k;
            if (lookupKeyWrite(c, c->argv[j], OBJ_NONE, &k) != C_OK) return;
            if (k) {
                storeCloseKey(k);
                addReplyLongLong(c, 0);
                return;
            }
        }
    }
    if (msetWritePairs(c) != C_OK) return;
    if (nx) addReplyLongLong(c, 1);
    else addReplyOK(c);
}

static void msetCommand(client *c) { msetGeneric(c, 0); }
static void msetnxCommand(client *c) { msetGeneric(c, 1); }

/* size + append must stay within the 512 MB limit (and not overflow: an
 * offset may be as large as LLONG_MAX). */
static int checkStringLength(client *c, long long size, long long append) {
    if (size > STRING_MAX_SIZE || append > STRING_MAX_SIZE - size) {
        addReplyError(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return C_ERR;
    }
    return C_OK;
}

static void appendCommand(client *c) {
    skey *k;
    sds add = c->argv[2];
    if (lookupKeyWrite(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (!k) {
        if (setStringValue(c, c->argv[1], NULL, add, sdslen(add), -1, 0) != C_OK) return;
        notifyKeyspaceEvent(NOTIFY_STRING, "append", c->argv[1], c->db);
        addReplyLongLong(c, (long long)sdslen(add));
        return;
    }
    long long size, newsize;
    if (storeFileSize(k, "value", &size) != STORE_OK) goto ioerr;
    if (checkStringLength(c, size, (long long)sdslen(add)) != C_OK) {
        storeCloseKey(k);
        return;
    }
    if (storePatchFile(k, "value", -1, add, sdslen(add), &newsize) != STORE_OK) goto ioerr;
    storeCloseKey(k);
    notifyKeyspaceEvent(NOTIFY_STRING, "append", c->argv[1], c->db);
    addReplyLongLong(c, newsize);
    return;
ioerr: {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
    }
}

static void strlenCommand(client *c) {
    skey *k;
    long long size = 0;
    if (lookupKeyRead(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (k && storeFileSize(k, "value", &size) != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
        return;
    }
    storeCloseKey(k);
    addReplyLongLong(c, size);
}

static void getrangeCommand(client *c) {
    long long start, end, size;
    skey *k;
    if (getLongLongFromArgOrReply(c, c->argv[2], &start, NULL) != C_OK) return;
    if (getLongLongFromArgOrReply(c, c->argv[3], &end, NULL) != C_OK) return;
    if (lookupKeyRead(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (!k) {
        addReplyBulk(c, "", 0);
        return;
    }
    if (storeFileSize(k, "value", &size) != STORE_OK) goto ioerr;
    if (start < 0 && end < 0 && start > end) {
        storeCloseKey(k);
        addReplyBulk(c, "", 0);
        return;
    }
    if (start < 0) start = size + start;
    if (end < 0) end = size + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= size) end = size - 1;
    if (start > end || size == 0) {
        storeCloseKey(k);
        addReplyBulk(c, "", 0);
        return;
    }
    sds part;
    if (storeReadFileRange(k, "value", start, end - start + 1, &part) != STORE_OK) goto ioerr;
    storeCloseKey(k);
    addReplyBulkSds(c, part);
    return;
ioerr: {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
    }
}

static void setrangeCommand(client *c) {
    long long offset, newsize, size = 0;
    sds val = c->argv[3];
    skey *k;
    if (getLongLongFromArgOrReply(c, c->argv[2], &offset, NULL) != C_OK) return;
    if (offset < 0) {
        addReplyError(c, "ERR offset is out of range");
        return;
    }
    if (lookupKeyWrite(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (k && storeFileSize(k, "value", &size) != STORE_OK) goto ioerr;
    if (sdslen(val) == 0) {
        storeCloseKey(k);
        addReplyLongLong(c, size);
        return;
    }
    if (checkStringLength(c, offset, (long long)sdslen(val)) != C_OK) {
        storeCloseKey(k);
        return;
    }
    if (!k) {
        sds v = sdsgrowzero(sdsempty(), (size_t)offset);
        v = sdscatlen(v, val, sdslen(val));
        if (setStringValue(c, c->argv[1], NULL, v, sdslen(v), -1, 0) == C_OK) {
            notifyKeyspaceEvent(NOTIFY_STRING, "setrange", c->argv[1], c->db);
            addReplyLongLong(c, (long long)sdslen(v));
        }
        sdsfree(v);
        return;
    }
    if (storePatchFile(k, "value", offset, val, sdslen(val), &newsize) != STORE_OK) goto ioerr;
    storeCloseKey(k);
    notifyKeyspaceEvent(NOTIFY_STRING, "setrange", c->argv[1], c->db);
    addReplyLongLong(c, newsize);
    return;
ioerr: {
        int saved = errno;
        storeCloseKey(k);
        addReplyErrorIO(c, saved);
    }
}

/* Read the key as an integer for INCR and friends. */
static void incrDecr(client *c, long long incr) {
    skey *k;
    long long value = 0;
    if (lookupKeyWrite(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (k) {
        sds cur;
        if (storeReadFile(k, "value", &cur) != STORE_OK) {
            int saved = errno;
            storeCloseKey(k);
            addReplyErrorIO(c, saved);
            return;
        }
        int ok = string2ll(cur, sdslen(cur), &value);
        sdsfree(cur);
        if (!ok) {
            storeCloseKey(k);
            addReplyError(c, "ERR value is not an integer or out of range");
            return;
        }
    }
    if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) || (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
        storeCloseKey(k);
        addReplyError(c, "ERR increment or decrement would overflow");
        return;
    }
    value += incr;
    char buf[32];
    int n = ll2string(buf, sizeof(buf), value);
    int r = setStringValue(c, c->argv[1], k, buf, (size_t)n, -1, 1);
    storeCloseKey(k);
    if (r != C_OK) return;
    notifyKeyspaceEvent(NOTIFY_STRING, "incrby", c->argv[1], c->db);
    addReplyLongLong(c, value);
}

static void incrCommand(client *c) { incrDecr(c, 1); }
static void decrCommand(client *c) { incrDecr(c, -1); }

static void incrbyCommand(client *c) {
    long long incr;
    if (getLongLongFromArgOrReply(c, c->argv[2], &incr, NULL) != C_OK) return;
    incrDecr(c, incr);
}

static void decrbyCommand(client *c) {
    long long incr;
    if (getLongLongFromArgOrReply(c, c->argv[2], &incr, NULL) != C_OK) return;
    if (incr == LLONG_MIN) {
        addReplyError(c, "ERR decrement would overflow");
        return;
    }
    incrDecr(c, -incr);
}

static void incrbyfloatCommand(client *c) {
    long double incr, value = 0;
    skey *k;
    /* as Redis: the key's type, then its value, then the increment */
    if (lookupKeyWrite(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (k) {
        sds cur;
        if (storeReadFile(k, "value", &cur) != STORE_OK) {
            int saved = errno;
            storeCloseKey(k);
            addReplyErrorIO(c, saved);
            return;
        }
        int ok = string2ld(cur, sdslen(cur), &value);
        sdsfree(cur);
        if (!ok) {
            storeCloseKey(k);
            addReplyError(c, "ERR value is not a valid float");
            return;
        }
    }
    if (getLongDoubleFromArgOrReply(c, c->argv[2], &incr, NULL) != C_OK) {
        storeCloseKey(k);
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        storeCloseKey(k);
        addReplyError(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[5120];
    int n = ld2string(buf, sizeof(buf), value, 1);
    int r = setStringValue(c, c->argv[1], k, buf, (size_t)n, -1, 1);
    storeCloseKey(k);
    if (r != C_OK) return;
    notifyKeyspaceEvent(NOTIFY_STRING, "incrbyfloat", c->argv[1], c->db);
    /* as Redis: replicas set the result, whatever their float arithmetic */
    sds result = sdsnewlen(buf, (size_t)n);
    rewriteCommandForPropagation(c, 4, propWord("SET"), c->argv[1], result, propWord("KEEPTTL"));
    sdsfree(result);
    addReplyBulk(c, buf, (size_t)n);
}

redisCommand stringCommandTable[] = {
    {"get", getCommand, 2, "readonly fast", "read string fast", 1, 1, 1, NULL},
    {"set", setCommand, -3, "write denyoom", "write string slow", 1, 1, 1, NULL},
    {"setnx", setnxCommand, 3, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"setex", setexCommand, 4, "write denyoom", "write string slow", 1, 1, 1, NULL},
    {"psetex", psetexCommand, 4, "write denyoom", "write string slow", 1, 1, 1, NULL},
    {"getset", getsetCommand, 3, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"getdel", getdelCommand, 2, "write fast", "write string fast", 1, 1, 1, NULL},
    {"getex", getexCommand, -2, "write fast", "write string fast", 1, 1, 1, NULL},
    {"mget", mgetCommand, -2, "readonly fast", "read string fast", 1, -1, 1, NULL},
    {"mset", msetCommand, -3, "write denyoom", "write string slow", 1, -1, 2, NULL},
    {"msetnx", msetnxCommand, -3, "write denyoom", "write string slow", 1, -1, 2, NULL},
    {"append", appendCommand, 3, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"strlen", strlenCommand, 2, "readonly fast", "read string fast", 1, 1, 1, NULL},
    {"getrange", getrangeCommand, 4, "readonly", "read string slow", 1, 1, 1, NULL},
    {"substr", getrangeCommand, 4, "readonly", "read string slow", 1, 1, 1, NULL},
    {"setrange", setrangeCommand, 4, "write denyoom", "write string slow", 1, 1, 1, NULL},
    {"incr", incrCommand, 2, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"decr", decrCommand, 2, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"incrby", incrbyCommand, 3, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"decrby", decrbyCommand, 3, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {"incrbyfloat", incrbyfloatCommand, 3, "write denyoom fast", "write string fast", 1, 1, 1, NULL},
    {NULL}};
