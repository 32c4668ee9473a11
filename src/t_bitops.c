/* t_bitops.c - bit operations on string values, as Redis's bitops.c: SETBIT,
 * GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO; and the string
 * algorithm LCS (Redis keeps it in t_string.c).
 *
 * A string is the "value" file of its key (see t_string.c). Commands that
 * touch a few bits (GETBIT, SETBIT, BITFIELD) read only the bytes they need
 * with storeReadFileRange() and write them back with storePatchFile(), which
 * zero-fills a gap when the string grows. BITCOUNT and BITPOS stream the
 * range they cover in chunks; BITOP reads its sources in chunks and builds
 * the result in memory (as Redis does); LCS reads both strings whole (its
 * table is O(N*M) anyway). */
#include "server.h"
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#define STRING_MAX_SIZE respMaxBulkLen /* proto-max-bulk-len */
#define BITOPS_CHUNK (1024 * 1024)             /* bytes read at once when streaming */

static void replyIOErrorClose(client *c, skey *k) {
    int saved = errno;
    storeCloseKey(k);
    addReplyErrorIO(c, saved);
}

/* The size of k's value (0 when k is NULL). */
static int valueSize(skey *k, long long *size) {
    *size = 0;
    if (!k) return STORE_OK;
    int r = storeFileSize(k, "value", size);
    if (r == STORE_NOTFOUND) {
        *size = 0;
        return STORE_OK;
    }
    return r;
}

/* Bytes [off, off+len) of k's value into buf, zero past its end (all zero
 * when k is NULL). */
static int readBytes(skey *k, long long off, long long len, unsigned char *buf) {
    memset(buf, 0, (size_t)len);
    if (!k || len == 0) return STORE_OK;
    sds part;
    int r = storeReadFileRange(k, "value", off, len, &part);
    if (r == STORE_NOTFOUND) return STORE_OK;
    if (r != STORE_OK) return r;
    memcpy(buf, part, sdslen(part) < (size_t)len ? sdslen(part) : (size_t)len);
    sdsfree(part);
    return STORE_OK;
}

/* A new string key whose value is len bytes of data at offset off, zeros
 * before them. */
static int createPatchedString(client *c, sds key, skey **out) {
    skey *n;
    *out = NULL;
    if (storeNewKey(c->db, key, sdslen(key), OBJ_STRING, &n) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    *out = n;
    return C_OK;
}

/* Parse a bit offset as Redis's getBitOffsetFromArgument: "#N" means N*bits
 * when hash is set (BITFIELD); the offset must address a byte below 512 MB. */
static int getBitOffsetOrReply(client *c, sds arg, uint64_t *offset, int hash, int bits) {
    const char *err = "ERR bit offset is not an integer or out of range";
    size_t len = sdslen(arg);
    int usehash = len > 0 && arg[0] == '#' && hash && bits > 0;
    long long v;
    if (!string2ll(arg + usehash, len - (size_t)usehash, &v)) {
        addReplyError(c, err);
        return C_ERR;
    }
    if (usehash) v = (long long)((unsigned long long)v * (unsigned long long)bits);
    if (v < 0 || (v >> 3) >= STRING_MAX_SIZE) {
        addReplyError(c, err);
        return C_ERR;
    }
    *offset = (uint64_t)v;
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* SETBIT, GETBIT                                                            */
/* ------------------------------------------------------------------------ */

static void setbitCommand(client *c) {
    const char *err = "ERR bit is not an integer or out of range";
    uint64_t bitoffset;
    long on;
    if (getBitOffsetOrReply(c, c->argv[2], &bitoffset, 0, 0) != C_OK) return;
    if (getLongFromArgOrReply(c, c->argv[3], &on, err) != C_OK) return;
    if (on & ~1L) {
        addReplyError(c, err);
        return;
    }
    skey *k;
    if (lookupKeyWrite(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    long long byte = (long long)(bitoffset >> 3), size, newsize;
    int bit = 7 - (int)(bitoffset & 7);
    unsigned char byteval;
    if (!k) {
        skey *n;
        byteval = (unsigned char)(on << bit);
        if (createPatchedString(c, c->argv[1], &n) != C_OK) return;
        if (storePatchFile(n, "value", byte, (const char *)&byteval, 1, &newsize) != STORE_OK) {
            discardNewKey(c, n);
            return;
        }
        if (publishNewKey(c, n) != C_OK) return;
        notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
        notifyKeyspaceEvent(NOTIFY_STRING, "setbit", c->argv[1], c->db);
        addReplyLongLong(c, 0);
        return;
    }
    if (valueSize(k, &size) != STORE_OK || readBytes(k, byte, 1, &byteval) != STORE_OK) {
        replyIOErrorClose(c, k);
        return;
    }
    int old = (byteval >> bit) & 1;
    if (byte >= size || old != on) {
        byteval = (unsigned char)((byteval & ~(1 << bit)) | (on << bit));
        if (storePatchFile(k, "value", byte, (const char *)&byteval, 1, &newsize) != STORE_OK) {
            replyIOErrorClose(c, k);
            return;
        }
        /* as Redis: only when the string grew or the bit changed */
        notifyKeyspaceEvent(NOTIFY_STRING, "setbit", c->argv[1], c->db);
    }
    storeCloseKey(k);
    addReplyLongLong(c, old);
}

static void getbitCommand(client *c) {
    uint64_t bitoffset;
    skey *k;
    if (getBitOffsetOrReply(c, c->argv[2], &bitoffset, 0, 0) != C_OK) return;
    if (lookupKeyRead(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    unsigned char byteval = 0;
    if (k && readBytes(k, (long long)(bitoffset >> 3), 1, &byteval) != STORE_OK) {
        replyIOErrorClose(c, k);
        return;
    }
    storeCloseKey(k);
    addReplyLongLong(c, (byteval >> (7 - (bitoffset & 7))) & 1);
}

/* ------------------------------------------------------------------------ */
/* BITCOUNT, BITPOS                                                          */
/* ------------------------------------------------------------------------ */

static long long popcount(const unsigned char *p, size_t n) {
    long long bits = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        bits += __builtin_popcountll(w);
    }
    for (; i < n; i++) bits += __builtin_popcount(p[i]);
    return bits;
}

/* Convert start/end (bytes, or bits when isbit) of a string of size bytes as
 * BITCOUNT and BITPOS do: negative from the end, clamped. On return *start
 * and *end are byte indexes and *firstmask / *lastmask the bits of the first
 * and last byte outside a bit range. */
static void bitRange(long long size, int isbit, long long *start, long long *end, unsigned char *firstmask,
                     unsigned char *lastmask) {
    long long totlen = isbit ? size << 3 : size;
    *firstmask = *lastmask = 0;
    if (*start < 0) *start = totlen + *start;
    if (*end < 0) *end = totlen + *end;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= totlen) *end = totlen - 1;
    if (isbit && *start <= *end) {
        *firstmask = (unsigned char)(~((1 << (8 - (*start & 7))) - 1) & 0xff);
        *lastmask = (unsigned char)((1 << (7 - (*end & 7))) - 1);
        *start >>= 3;
        *end >>= 3;
    }
}

static int parseBitByte(client *c, sds arg, int *isbit) {
    if (!strcasecmp(arg, "bit")) *isbit = 1;
    else if (!strcasecmp(arg, "byte")) *isbit = 0;
    else {
        addReplyErrorSyntax(c);
        return C_ERR;
    }
    return C_OK;
}

/* The optional range of BITCOUNT (argv[first] on: start end [BYTE|BIT]) or
 * of BITPOS (end_optional: start [end [BYTE|BIT]]), as given: no range is
 * the whole string (0 .. size - 1), and so is a left-out end. As Redis 7.0
 * does, BITPOS reads BYTE|BIT before end, BITCOUNT after it, and BITCOUNT
 * answers a negative start past a negative end (nothing, *none) before
 * reading the unit. C_ERR after replying. */
typedef struct bitRangeArgs {
    long long start, end;
    int isbit;     /* start and end count bits, not bytes */
    int end_given; /* an explicit end */
    int none;      /* BITCOUNT: the range is empty, the rest was not read */
} bitRangeArgs;

static int parseBitRangeArgs(client *c, int first, int end_optional, long long size, bitRangeArgs *r) {
    int n = c->argc - first;
    r->start = 0;
    r->end = size - 1;
    r->isbit = 0;
    r->end_given = 0;
    r->none = 0;
    if (n == 0) return C_OK;
    if (n < (end_optional ? 1 : 2) || n > 3) {
        addReplyErrorSyntax(c);
        return C_ERR;
    }
    int unit_first = end_optional;
    if (getLongLongFromArgOrReply(c, c->argv[first], &r->start, NULL) != C_OK) return C_ERR;
    if (n == 3 && unit_first && parseBitByte(c, c->argv[first + 2], &r->isbit) != C_OK) return C_ERR;
    if (n >= 2) {
        if (getLongLongFromArgOrReply(c, c->argv[first + 1], &r->end, NULL) != C_OK) return C_ERR;
        r->end_given = 1;
    }
    if (!unit_first && r->start < 0 && r->end < 0 && r->start > r->end) {
        r->none = 1;
        return C_OK;
    }
    if (n == 3 && !unit_first && parseBitByte(c, c->argv[first + 2], &r->isbit) != C_OK) return C_ERR;
    return C_OK;
}

/* BITCOUNT key [start end [BYTE|BIT]] */
static void bitcountCommand(client *c) {
    skey *k;
    long long size;
    bitRangeArgs r;
    unsigned char firstmask, lastmask;
    /* as Redis 7.0: the key first (a missing key counts 0 whatever follows) */
    if (lookupKeyRead(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    if (valueSize(k, &size) != STORE_OK) {
        replyIOErrorClose(c, k);
        return;
    }
    if (parseBitRangeArgs(c, 2, 0, size, &r) != C_OK) {
        storeCloseKey(k);
        return;
    }
    if (r.none) {
        storeCloseKey(k);
        addReplyLongLong(c, 0);
        return;
    }
    long long start = r.start, end = r.end;
    bitRange(size, r.isbit, &start, &end, &firstmask, &lastmask);
    if (start > end) {
        storeCloseKey(k);
        addReplyLongLong(c, 0);
        return;
    }
    long long count = 0;
    unsigned char *buf = zmalloc(BITOPS_CHUNK);
    for (long long off = start; off <= end; off += BITOPS_CHUNK) {
        long long n = end - off + 1 < BITOPS_CHUNK ? end - off + 1 : BITOPS_CHUNK;
        if (readBytes(k, off, n, buf) != STORE_OK) {
            zfree(buf);
            replyIOErrorClose(c, k);
            return;
        }
        if (off == start) buf[0] &= (unsigned char)~firstmask;
        if (off + n - 1 == end) buf[n - 1] &= (unsigned char)~lastmask;
        count += popcount(buf, (size_t)n);
    }
    zfree(buf);
    storeCloseKey(k);
    addReplyLongLong(c, count);
}

/* The first bit equal to bit in bytes start..end of k's value, bits of the
 * first and last byte under firstmask / lastmask excluded: its absolute
 * position in *pos, or -1. */
static int findBit(skey *k, long long start, long long end, unsigned char firstmask, unsigned char lastmask,
                   int bit, long long *pos) {
    unsigned char *buf = zmalloc(BITOPS_CHUNK);
    uint64_t skipword = bit ? 0 : UINT64_MAX;
    *pos = -1;
    for (long long off = start; off <= end; off += BITOPS_CHUNK) {
        long long n = end - off + 1 < BITOPS_CHUNK ? end - off + 1 : BITOPS_CHUNK;
        if (readBytes(k, off, n, buf) != STORE_OK) {
            zfree(buf);
            return STORE_ERR;
        }
        /* the excluded bits never match */
        if (off == start) buf[0] = bit ? (buf[0] & (unsigned char)~firstmask) : (buf[0] | firstmask);
        if (off + n - 1 == end) buf[n - 1] = bit ? (buf[n - 1] & (unsigned char)~lastmask) : (buf[n - 1] | lastmask);
        long long i = 0;
        while (i < n) {
            if (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, buf + i, 8);
                if (w == skipword) {
                    i += 8;
                    continue;
                }
            }
            unsigned char v = bit ? buf[i] : (unsigned char)~buf[i];
            if (v) {
                int b = 0;
                while (!(v & (0x80 >> b))) b++;
                *pos = (off + i) * 8 + b;
                zfree(buf);
                return STORE_OK;
            }
            i++;
        }
    }
    zfree(buf);
    return STORE_OK;
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
static void bitposCommand(client *c) {
    long bit;
    skey *k;
    long long size;
    bitRangeArgs r;
    unsigned char firstmask, lastmask;
    if (getLongFromArgOrReply(c, c->argv[2], &bit, NULL) != C_OK) return;
    if (bit != 0 && bit != 1) {
        addReplyError(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    /* a missing key is an infinite run of zeros */
    if (lookupKeyRead(c, c->argv[1], OBJ_STRING, &k) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, bit ? -1 : 0);
        return;
    }
    if (valueSize(k, &size) != STORE_OK) {
        replyIOErrorClose(c, k);
        return;
    }
    if (parseBitRangeArgs(c, 3, 1, size, &r) != C_OK) {
        storeCloseKey(k);
        return;
    }
    long long start = r.start, end = r.end;
    bitRange(size, r.isbit, &start, &end, &firstmask, &lastmask);
    if (start > end) {
        storeCloseKey(k);
        addReplyLongLong(c, -1);
        return;
    }
    long long pos;
    if (findBit(k, start, end, firstmask, lastmask, (int)bit, &pos) != STORE_OK) {
        replyIOErrorClose(c, k);
        return;
    }
    storeCloseKey(k);
    /* no clear bit in the range: without an explicit end the string is
     * taken as zero-padded on the right */
    if (pos < 0 && bit == 0 && !r.end_given) pos = (end + 1) * 8;
    addReplyLongLong(c, pos);
}

/* ------------------------------------------------------------------------ */
/* BITOP                                                                     */
/* ------------------------------------------------------------------------ */

#define BITOP_AND 0
#define BITOP_OR 1
#define BITOP_XOR 2
#define BITOP_NOT 3

/* Store val as the string at key (replacing a key of any type, dropping its
 * TTL), as Redis's setKey, which announces a key it creates ("new"). */
static int storeStringValue(client *c, sds key, const char *val, size_t len) {
    skey *k, *n;
    if (lookupKeyWrite(c, key, OBJ_NONE, &k) != C_OK) return C_ERR;
    if (k && k->type == OBJ_STRING) {
        if (storeWriteFile(k, "value", val, len) != STORE_OK || storeSetExpire(k, -1) != STORE_OK) {
            replyIOErrorClose(c, k);
            return C_ERR;
        }
        storeCloseKey(k);
        return C_OK;
    }
    int existed = k != NULL;
    storeCloseKey(k);
    if (storeNewKey(c->db, key, sdslen(key), OBJ_STRING, &n) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    if (storeWriteFile(n, "value", val, len) != STORE_OK) {
        discardNewKey(c, n);
        return C_ERR;
    }
    if (publishNewKey(c, n) != C_OK) return C_ERR;
    if (!existed) notifyKeyspaceEvent(NOTIFY_NEW, "new", key, c->db);
    return C_OK;
}

/* BITOP AND|OR|XOR|NOT destkey key [key ...] */
static void bitopCommand(client *c) {
    const char *opname = c->argv[1];
    int op;
    if (!strcasecmp(opname, "and")) op = BITOP_AND;
    else if (!strcasecmp(opname, "or")) op = BITOP_OR;
    else if (!strcasecmp(opname, "xor")) op = BITOP_XOR;
    else if (!strcasecmp(opname, "not")) op = BITOP_NOT;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    if (op == BITOP_NOT && c->argc != 4) {
        addReplyError(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int numkeys = c->argc - 3;
    skey **keys = zcalloc(sizeof(skey *) * (size_t)numkeys);
    long long *lens = zcalloc(sizeof(long long) * (size_t)numkeys);
    long long maxlen = 0;
    unsigned char *res = NULL, *buf = NULL;
    for (int j = 0; j < numkeys; j++) {
        if (lookupKeyRead(c, c->argv[j + 3], OBJ_STRING, &keys[j]) != C_OK) goto done;
        if (keys[j] && valueSize(keys[j], &lens[j]) != STORE_OK) goto ioerr;
        if (lens[j] > maxlen) maxlen = lens[j];
    }
    if (maxlen) {
        res = zcalloc((size_t)maxlen);
        buf = zmalloc(BITOPS_CHUNK);
        for (int j = 0; j < numkeys; j++) {
            /* the bytes past a source's end are zeros: AND clears them */
            if (op == BITOP_AND && j > 0 && lens[j] < maxlen) memset(res + lens[j], 0, (size_t)(maxlen - lens[j]));
            for (long long off = 0; off < lens[j]; off += BITOPS_CHUNK) {
                long long n = lens[j] - off < BITOPS_CHUNK ? lens[j] - off : BITOPS_CHUNK;
                if (readBytes(keys[j], off, n, buf) != STORE_OK) goto ioerr;
                unsigned char *r = res + off;
                if (j == 0) {
                    memcpy(r, buf, (size_t)n);
                } else if (op == BITOP_AND) {
                    for (long long i = 0; i < n; i++) r[i] &= buf[i];
                } else if (op == BITOP_OR) {
                    for (long long i = 0; i < n; i++) r[i] |= buf[i];
                } else {
                    for (long long i = 0; i < n; i++) r[i] ^= buf[i];
                }
            }
        }
        if (op == BITOP_NOT)
            for (long long i = 0; i < maxlen; i++) res[i] = (unsigned char)~res[i];
    }
    for (int j = 0; j < numkeys; j++) {
        storeCloseKey(keys[j]);
        keys[j] = NULL;
    }
    if (maxlen) {
        if (storeStringValue(c, c->argv[2], (const char *)res, (size_t)maxlen) != C_OK) goto done;
        notifyKeyspaceEvent(NOTIFY_STRING, "set", c->argv[2], c->db);
    } else {
        /* as Redis's dbDelete(): an expired destination too, with "del" */
        int deleted;
        if (deleteKeyEvenExpired(c, c->argv[2], &deleted) != C_OK) goto done;
        if (deleted) notifyKeyspaceEvent(NOTIFY_GENERIC, "del", c->argv[2], c->db);
    }
    addReplyLongLong(c, maxlen);
    goto done;
ioerr:
    addReplyErrorIO(c, errno);
done:
    for (int j = 0; j < numkeys; j++) storeCloseKey(keys[j]);
    zfree(keys);
    zfree(lens);
    zfree(res);
    zfree(buf);
}

/* ------------------------------------------------------------------------ */
/* BITFIELD, BITFIELD_RO                                                     */
/* ------------------------------------------------------------------------ */

#define BFOVERFLOW_WRAP 0
#define BFOVERFLOW_SAT 1
#define BFOVERFLOW_FAIL 2

#define BITFIELDOP_GET 0
#define BITFIELDOP_SET 1
#define BITFIELDOP_INCRBY 2

/* The bitmap's bit 0 is the most significant bit of its first byte. */
static void setUnsignedBitfield(unsigned char *p, uint64_t offset, uint64_t bits, uint64_t value) {
    for (uint64_t j = 0; j < bits; j++) {
        uint64_t bitval = (value >> (bits - 1 - j)) & 1;
        uint64_t byte = offset >> 3;
        int bit = 7 - (int)(offset & 7);
        p[byte] = (unsigned char)((p[byte] & ~(1 << bit)) | (bitval << bit));
        offset++;
    }
}

static uint64_t getUnsignedBitfield(const unsigned char *p, uint64_t offset, uint64_t bits) {
    uint64_t value = 0;
    for (uint64_t j = 0; j < bits; j++) {
        uint64_t byte = offset >> 3;
        int bit = 7 - (int)(offset & 7);
        value = (value << 1) | ((p[byte] >> bit) & 1);
        offset++;
    }
    return value;
}

static int64_t getSignedBitfield(const unsigned char *p, uint64_t offset, uint64_t bits) {
    uint64_t u = getUnsignedBitfield(p, offset, bits);
    if (bits < 64 && (u & ((uint64_t)1 << (bits - 1)))) u |= UINT64_MAX << bits;
    int64_t v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* Whether value+incr overflows (1) or underflows (-1) an unsigned integer of
 * bits bits; *limit gets the value to store for WRAP and SAT. */
static int checkUnsignedBitfieldOverflow(uint64_t value, int64_t incr, uint64_t bits, int owtype, uint64_t *limit) {
    uint64_t max = bits == 64 ? UINT64_MAX : (((uint64_t)1 << bits) - 1);
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int r = 0;
    if (value > max || (incr > 0 && incr > maxincr)) r = 1;
    else if (incr < 0 && incr < minincr) r = -1;
    if (!r) return 0;
    if (owtype == BFOVERFLOW_WRAP) {
        uint64_t res = value + (uint64_t)incr;
        if (bits < 64) res &= ~(UINT64_MAX << bits);
        *limit = res;
    } else if (owtype == BFOVERFLOW_SAT) {
        *limit = r > 0 ? max : 0;
    }
    return r;
}

static int checkSignedBitfieldOverflow(int64_t value, int64_t incr, uint64_t bits, int owtype, int64_t *limit) {
    int64_t max = bits == 64 ? INT64_MAX : (((int64_t)1 << (bits - 1)) - 1);
    int64_t min = (-max) - 1;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int r = 0;
    if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) r = 1;
    else if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) r = -1;
    if (!r) return 0;
    if (owtype == BFOVERFLOW_WRAP) {
        uint64_t cv = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            if (cv & ((uint64_t)1 << (bits - 1))) cv |= mask;
            else cv &= ~mask;
        }
        memcpy(limit, &cv, sizeof(cv));
    } else if (owtype == BFOVERFLOW_SAT) {
        *limit = r > 0 ? max : min;
    }
    return r;
}

static int getBitfieldTypeOrReply(client *c, sds arg, int *sign, int *bits) {
    const char *err =
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    long long llbits;
    if (arg[0] == 'i') *sign = 1;
    else if (arg[0] == 'u') *sign = 0;
    else {
        addReplyError(c, err);
        return C_ERR;
    }
    if (!string2ll(arg + 1, strlen(arg + 1), &llbits) || llbits < 1 || (*sign == 1 && llbits > 64) ||
        (*sign == 0 && llbits > 63)) {
        addReplyError(c, err);
        return C_ERR;
    }
    *bits = (int)llbits;
    return C_OK;
}

typedef struct bitfieldOp {
    uint64_t offset;
    int64_t i64;   /* SET value or INCRBY increment */
    int opcode;
    int owtype;
    int bits;
    int sign;
    int seg;       /* the segment holding its bytes */
    long long reply;
    int isnull;
} bitfieldOp;

/* A run of bytes [lo, hi] of the value that some operations touch. */
typedef struct bitfieldSeg {
    long long lo, hi;
    unsigned char *buf;
    int dirty;
} bitfieldSeg;

static long long opFirstByte(const bitfieldOp *op) { return (long long)(op->offset >> 3); }
static long long opLastByte(const bitfieldOp *op) { return (long long)((op->offset + (uint64_t)op->bits - 1) >> 3); }

static int cmpOpByStart(const void *a, const void *b) {
    long long x = opFirstByte(*(bitfieldOp *const *)a), y = opFirstByte(*(bitfieldOp *const *)b);
    return x < y ? -1 : x > y;
}

/* Run one SET or INCRBY on its segment's bytes. */
static void bitfieldWrite(bitfieldOp *op, bitfieldSeg *seg) {
    uint64_t off = op->offset - (uint64_t)seg->lo * 8;
    int changed;
    if (op->sign) {
        int64_t oldval = getSignedBitfield(seg->buf, off, (uint64_t)op->bits), newval, wrapped = 0, retval;
        int overflow;
        if (op->opcode == BITFIELDOP_INCRBY) {
            overflow = checkSignedBitfieldOverflow(oldval, op->i64, (uint64_t)op->bits, op->owtype, &wrapped);
            newval = overflow ? wrapped : (int64_t)((uint64_t)oldval + (uint64_t)op->i64);
            retval = newval;
        } else {
            newval = op->i64;
            overflow = checkSignedBitfieldOverflow(newval, 0, (uint64_t)op->bits, op->owtype, &wrapped);
            if (overflow) newval = wrapped;
            retval = oldval;
        }
        if (overflow && op->owtype == BFOVERFLOW_FAIL) {
            op->isnull = 1;
            return;
        }
        op->reply = retval;
        setUnsignedBitfield(seg->buf, off, (uint64_t)op->bits, (uint64_t)newval);
        changed = oldval != newval;
    } else {
        uint64_t oldval = getUnsignedBitfield(seg->buf, off, (uint64_t)op->bits), newval, wrapped = 0, retval;
        int overflow;
        if (op->opcode == BITFIELDOP_INCRBY) {
            newval = oldval + (uint64_t)op->i64;
            overflow = checkUnsignedBitfieldOverflow(oldval, op->i64, (uint64_t)op->bits, op->owtype, &wrapped);
            if (overflow) newval = wrapped;
            retval = newval;
        } else {
            newval = (uint64_t)op->i64;
            overflow = checkUnsignedBitfieldOverflow(newval, 0, (uint64_t)op->bits, op->owtype, &wrapped);
            if (overflow) newval = wrapped;
            retval = oldval;
        }
        if (overflow && op->owtype == BFOVERFLOW_FAIL) {
            op->isnull = 1;
            return;
        }
        op->reply = (long long)retval;
        setUnsignedBitfield(seg->buf, off, (uint64_t)op->bits, newval);
        changed = oldval != newval;
    }
    if (changed) seg->dirty = 1;
}

#define BITFIELD_FLAG_READONLY 1

/* BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset
 * increment] [OVERFLOW WRAP|SAT|FAIL] ...; BITFIELD_RO allows only GET. */
static void bitfieldGeneric(client *c, int flags) {
    int owtype = BFOVERFLOW_WRAP, numops = 0, readonly = 1;
    bitfieldOp *ops = NULL;
    long long highest_write_byte = -1;

    for (int j = 2; j < c->argc; j++) {
        int remargs = c->argc - j - 1;
        const char *subcmd = c->argv[j];
        int opcode, sign = 0, bits = 0;
        long long i64 = 0;
        uint64_t bitoffset;
        if (!strcasecmp(subcmd, "get") && remargs >= 2) {
            opcode = BITFIELDOP_GET;
        } else if (!strcasecmp(subcmd, "set") && remargs >= 3) {
            opcode = BITFIELDOP_SET;
        } else if (!strcasecmp(subcmd, "incrby") && remargs >= 3) {
            opcode = BITFIELDOP_INCRBY;
        } else if (!strcasecmp(subcmd, "overflow") && remargs >= 1) {
            const char *name = c->argv[++j];
            if (!strcasecmp(name, "wrap")) owtype = BFOVERFLOW_WRAP;
            else if (!strcasecmp(name, "sat")) owtype = BFOVERFLOW_SAT;
            else if (!strcasecmp(name, "fail")) owtype = BFOVERFLOW_FAIL;
            else {
                addReplyError(c, "ERR Invalid OVERFLOW type specified");
                zfree(ops);
                return;
            }
            continue;
        } else {
            addReplyErrorSyntax(c);
            zfree(ops);
            return;
        }
        if (getBitfieldTypeOrReply(c, c->argv[j + 1], &sign, &bits) != C_OK ||
            getBitOffsetOrReply(c, c->argv[j + 2], &bitoffset, 1, bits) != C_OK) {
            zfree(ops);
            return;
        }
        if (opcode != BITFIELDOP_GET) {
            readonly = 0;
            long long last = (long long)((bitoffset + (uint64_t)bits - 1) >> 3);
            if (last > highest_write_byte) highest_write_byte = last;
            if (getLongLongFromArgOrReply(c, c->argv[j + 3], &i64, NULL) != C_OK) {
                zfree(ops);
                return;
            }
        }
        ops = zrealloc(ops, sizeof(*ops) * (size_t)(numops + 1));
        bitfieldOp *op = &ops[numops++];
        memset(op, 0, sizeof(*op));
        op->offset = bitoffset;
        op->i64 = i64;
        op->opcode = opcode;
        op->owtype = owtype;
        op->bits = bits;
        op->sign = sign;
        j += 3 - (opcode == BITFIELDOP_GET);
    }

    skey *k = NULL;
    if (readonly) {
        if (lookupKeyRead(c, c->argv[1], OBJ_STRING, &k) != C_OK) {
            zfree(ops);
            return;
        }
    } else {
        if (flags & BITFIELD_FLAG_READONLY) {
            zfree(ops);
            addReplyError(c, "ERR BITFIELD_RO only supports the GET subcommand");
            return;
        }
        if (lookupKeyWrite(c, c->argv[1], OBJ_STRING, &k) != C_OK) {
            zfree(ops);
            return;
        }
    }
    long long size = 0;
    if (valueSize(k, &size) != STORE_OK) {
        zfree(ops);
        replyIOErrorClose(c, k);
        return;
    }
    /* as Redis, a write grows the string to its farthest bit first (even
     * when OVERFLOW FAIL then writes nothing) */
    int growing = highest_write_byte >= size;
    long long newsize = growing ? highest_write_byte + 1 : size;

    /* group the bytes the operations touch into segments, read each once */
    bitfieldSeg *segs = NULL;
    int nsegs = 0;
    if (numops) {
        bitfieldOp **sorted = zmalloc(sizeof(*sorted) * (size_t)numops);
        for (int j = 0; j < numops; j++) sorted[j] = &ops[j];
        qsort(sorted, (size_t)numops, sizeof(*sorted), cmpOpByStart);
        segs = zmalloc(sizeof(*segs) * (size_t)numops);
        for (int j = 0; j < numops; j++) {
            long long lo = opFirstByte(sorted[j]), hi = opLastByte(sorted[j]);
            if (nsegs && lo <= segs[nsegs - 1].hi + 64) {
                if (hi > segs[nsegs - 1].hi) segs[nsegs - 1].hi = hi;
            } else {
                segs[nsegs].lo = lo;
                segs[nsegs].hi = hi;
                segs[nsegs].buf = NULL;
                segs[nsegs].dirty = 0;
                nsegs++;
            }
            sorted[j]->seg = nsegs - 1;
        }
        zfree(sorted);
    }
    int err = 0;
    for (int s = 0; s < nsegs && !err; s++) {
        segs[s].buf = zmalloc((size_t)(segs[s].hi - segs[s].lo + 1));
        if (readBytes(k, segs[s].lo, segs[s].hi - segs[s].lo + 1, segs[s].buf) != STORE_OK) err = 1;
    }
    if (!err) {
        for (int j = 0; j < numops; j++) {
            bitfieldOp *op = &ops[j];
            bitfieldSeg *seg = &segs[op->seg];
            if (op->opcode == BITFIELDOP_GET) {
                uint64_t off = op->offset - (uint64_t)seg->lo * 8;
                if (op->sign) op->reply = getSignedBitfield(seg->buf, off, (uint64_t)op->bits);
                else op->reply = (long long)getUnsignedBitfield(seg->buf, off, (uint64_t)op->bits);
            } else {
                bitfieldWrite(op, seg);
                if (growing && opLastByte(op) == highest_write_byte) seg->dirty = 1;
            }
        }
    }
    /* write back the changed segments (up to the string's new end) */
    skey *n = NULL;
    if (!err && !readonly && !k) {
        if (createPatchedString(c, c->argv[1], &n) != C_OK) goto cleanup;
    }
    skey *target = k ? k : n;
    for (int s = 0; s < nsegs && !err; s++) {
        if (!segs[s].dirty) continue;
        long long hi = segs[s].hi < newsize - 1 ? segs[s].hi : newsize - 1, ns;
        if (storePatchFile(target, "value", segs[s].lo, (const char *)segs[s].buf, (size_t)(hi - segs[s].lo + 1), &ns) !=
            STORE_OK)
            err = 1;
    }
    if (err) {
        if (n) discardNewKey(c, n);
        else replyIOErrorClose(c, k);
        k = NULL;
        goto cleanup;
    }
    if (n && publishNewKey(c, n) != C_OK) goto cleanup;
    /* as Redis: "setbit" when a SET or INCRBY was carried out */
    int changes = 0;
    for (int j = 0; j < numops; j++)
        if (ops[j].opcode != BITFIELDOP_GET && !ops[j].isnull) changes++;
    if (n) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    if (changes) notifyKeyspaceEvent(NOTIFY_STRING, "setbit", c->argv[1], c->db);
    addReplyArrayLen(c, numops);
    for (int j = 0; j < numops; j++) {
        if (ops[j].isnull) addReplyNull(c);
        else addReplyLongLong(c, ops[j].reply);
    }
cleanup:
    storeCloseKey(k);
    for (int s = 0; s < nsegs; s++) zfree(segs[s].buf);
    zfree(segs);
    zfree(ops);
}

static void bitfieldCommand(client *c) { bitfieldGeneric(c, 0); }
static void bitfieldroCommand(client *c) { bitfieldGeneric(c, BITFIELD_FLAG_READONLY); }

/* ------------------------------------------------------------------------ */
/* LCS                                                                       */
/* ------------------------------------------------------------------------ */

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] */
static void lcsCommand(client *c) {
    skey *ka = NULL, *kb = NULL;
    sds a = NULL, b = NULL;
    long long minmatchlen = 0, asize = 0, bsize = 0;
    int getlen = 0, getidx = 0, withmatchlen = 0;
    uint32_t *lcs = NULL;

    if (lookupKeyRead(c, c->argv[1], OBJ_NONE, &ka) != C_OK) return;
    if (lookupKeyRead(c, c->argv[2], OBJ_NONE, &kb) != C_OK) goto cleanup;
    if ((ka && ka->type != OBJ_STRING) || (kb && kb->type != OBJ_STRING)) {
        addReplyError(c, "ERR The specified keys must contain string values");
        goto cleanup;
    }
    for (int j = 3; j < c->argc; j++) {
        const char *opt = c->argv[j];
        int moreargs = (c->argc - 1) - j;
        if (!strcasecmp(opt, "IDX")) {
            getidx = 1;
        } else if (!strcasecmp(opt, "LEN")) {
            getlen = 1;
        } else if (!strcasecmp(opt, "WITHMATCHLEN")) {
            withmatchlen = 1;
        } else if (!strcasecmp(opt, "MINMATCHLEN") && moreargs) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &minmatchlen, NULL) != C_OK) goto cleanup;
            if (minmatchlen < 0) minmatchlen = 0;
            j++;
        } else {
            addReplyErrorSyntax(c);
            goto cleanup;
        }
    }
    if (getidx && getlen) {
        addReplyError(c, "ERR If you want both the length and indexes, please just use IDX.");
        goto cleanup;
    }
    if (valueSize(ka, &asize) != STORE_OK || valueSize(kb, &bsize) != STORE_OK) goto ioerr;
    if (asize >= UINT32_MAX - 1 || bsize >= UINT32_MAX - 1) {
        addReplyError(c, "ERR String too long for LCS");
        goto cleanup;
    }
    uint32_t alen = (uint32_t)asize, blen = (uint32_t)bsize;
    unsigned long long lcssize = (unsigned long long)(alen + 1) * (blen + 1);
    unsigned long long lcsalloc = lcssize * sizeof(uint32_t);
    if (lcsalloc > (unsigned long long)STRING_MAX_SIZE) {
        addReplyError(c, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        goto cleanup;
    }
    lcs = malloc((size_t)lcsalloc);
    if (!lcs) {
        addReplyError(c, "ERR Insufficient memory, failed allocating transient memory for LCS");
        goto cleanup;
    }
    if (ka && alen) {
        if (storeReadFileRange(ka, "value", 0, alen, &a) != STORE_OK) goto ioerr;
    }
    if (kb && blen) {
        if (storeReadFileRange(kb, "value", 0, blen, &b) != STORE_OK) goto ioerr;
    }
    if (!a) a = sdsempty();
    if (!b) b = sdsempty();
    /* the strings may have changed size between the two looks: trust the bytes */
    alen = (uint32_t)sdslen(a) < alen ? (uint32_t)sdslen(a) : alen;
    blen = (uint32_t)sdslen(b) < blen ? (uint32_t)sdslen(b) : blen;
    storeCloseKey(ka);
    storeCloseKey(kb);
    ka = kb = NULL;

#define LCS(A, B) lcs[(B) + ((size_t)(A) * (blen + 1))]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) LCS(i, j) = 0;
            else if (a[i - 1] == b[j - 1]) LCS(i, j) = LCS(i - 1, j - 1) + 1;
            else {
                uint32_t lcs1 = LCS(i - 1, j), lcs2 = LCS(i, j - 1);
                LCS(i, j) = lcs1 > lcs2 ? lcs1 : lcs2;
            }
        }
    }

    /* Walk back from the end, building the LCS string and the matched
     * ranges (from the last to the first, as Redis reports them). */
    uint32_t idx = LCS(alen, blen);
    sds result = NULL;
    void *arraylenptr = NULL;
    uint32_t arange_start = alen, arange_end = 0, brange_start = 0, brange_end = 0;
    int computelcs = getidx || !getlen;
    if (computelcs) result = sdsnewlen(NULL, idx);
    long arraylen = 0;
    if (getidx) {
        addReplyMapLen(c, 2);
        addReplyBulkCString(c, "matches");
        arraylenptr = addReplyDeferredLen(c);
    }
    uint32_t i = alen, j = blen;
    while (computelcs && i > 0 && j > 0) {
        int emit_range = 0;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (arange_start == alen) {
                arange_start = i - 1;
                arange_end = i - 1;
                brange_start = j - 1;
                brange_end = j - 1;
            } else if (arange_start == i && brange_start == j) {
                arange_start--;
                brange_start--;
            } else {
                emit_range = 1;
            }
            if (arange_start == 0 || brange_start == 0) emit_range = 1;
            idx--;
            i--;
            j--;
        } else {
            uint32_t lcs1 = LCS(i - 1, j), lcs2 = LCS(i, j - 1);
            if (lcs1 > lcs2) i--;
            else j--;
            if (arange_start != alen) emit_range = 1;
        }
        uint32_t match_len = arange_end - arange_start + 1;
        if (emit_range) {
            if ((minmatchlen == 0 || match_len >= minmatchlen) && arraylenptr) {
                addReplyArrayLen(c, 2 + withmatchlen);
                addReplyArrayLen(c, 2);
                addReplyLongLong(c, arange_start);
                addReplyLongLong(c, arange_end);
                addReplyArrayLen(c, 2);
                addReplyLongLong(c, brange_start);
                addReplyLongLong(c, brange_end);
                if (withmatchlen) addReplyLongLong(c, match_len);
                arraylen++;
            }
            arange_start = alen;
        }
    }
    if (arraylenptr) {
        setDeferredArrayLen(c, arraylenptr, arraylen);
        addReplyBulkCString(c, "len");
        addReplyLongLong(c, LCS(alen, blen));
    } else if (getlen) {
        addReplyLongLong(c, LCS(alen, blen));
    } else {
        addReplyBulkSds(c, result);
        result = NULL;
    }
#undef LCS
    sdsfree(result);
    goto cleanup;
ioerr:
    addReplyErrorIO(c, errno);
cleanup:
    free(lcs);
    sdsfree(a);
    sdsfree(b);
    storeCloseKey(ka);
    storeCloseKey(kb);
}

redisCommand bitopsCommandTable[] = {
    {"setbit", setbitCommand, 4, "write denyoom", "write bitmap slow", 1, 1, 1, NULL},
    {"getbit", getbitCommand, 3, "readonly fast", "read bitmap fast", 1, 1, 1, NULL},
    {"bitcount", bitcountCommand, -2, "readonly", "read bitmap slow", 1, 1, 1, NULL},
    {"bitpos", bitposCommand, -3, "readonly", "read bitmap slow", 1, 1, 1, NULL},
    {"bitop", bitopCommand, -4, "write denyoom", "write bitmap slow", 2, -1, 1, NULL},
    {"bitfield", bitfieldCommand, -2, "write denyoom", "write bitmap slow", 1, 1, 1, NULL},
    {"bitfield_ro", bitfieldroCommand, -2, "readonly fast", "read bitmap fast", 1, 1, 1, NULL},
    {"lcs", lcsCommand, -3, "readonly", "read string slow", 1, 2, 1, NULL},
    {NULL}};
