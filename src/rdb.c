/* rdb.c - Redis's RDB serialization of one value (DUMP payloads): CRC64,
 * LZF decompression, the writer of the plain encodings and of streams
 * (listpack nodes packed as Redis 7.0's XADD packs them), and the reader of
 * every encoding of strings, lists, sets, sorted sets, hashes and streams
 * that Redis 7.0 writes or loads: plain (0-5), zipmap (9), ziplists (10, 12,
 * 13), intset (11), quicklists of ziplists (14) and of listpacks (18, plain
 * and packed nodes), listpacks (16, 17), streams (15, 19). See rdb.h.
 *
 * Nothing in a payload is trusted: every length is checked against the
 * bytes that remain before it is used, allocations are bounded by them (an
 * LZF string by its compressed size times LZF's largest expansion), and
 * the compact encodings are walked entry by entry with every field checked,
 * so a damaged payload ends in RDB_ERR_FORMAT, never in a read out of
 * bounds. */
#include "rdb.h"
#include "store.h"
#include "util.h"
#include "zmalloc.h"
#include <string.h>
#include <stdlib.h>
#include <math.h>
#include <errno.h>
#include <limits.h>

/* ------------------------------------------------------------------------ */
/* CRC64 (Jones), reflected, as Redis's crc64()                              */
/* ------------------------------------------------------------------------ */

static uint64_t crcTable[256];
static int crcReady;

static void crcInit(void) {
    const uint64_t poly = 0x95ac9329ac4bc9b5ULL; /* 0xad93d23594c935a9 bit-reversed */
    for (int i = 0; i < 256; i++) {
        uint64_t c = (uint64_t)i;
        for (int j = 0; j < 8; j++) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        crcTable[i] = c;
    }
    crcReady = 1;
}

uint64_t rdbCrc64(uint64_t crc, const void *p, size_t len) {
    const unsigned char *s = p;
    if (!crcReady) crcInit();
    for (size_t i = 0; i < len; i++) crc = crcTable[(crc ^ s[i]) & 0xff] ^ (crc >> 8);
    return crc;
}

/* ------------------------------------------------------------------------ */
/* LZF decompression                                                         */
/* ------------------------------------------------------------------------ */

/* The format: a control byte c. c < 32: a literal run of c+1 bytes follows.
 * Otherwise a back reference: length c>>5 (7 means: add the next byte),
 * plus 2; offset ((c & 31) << 8) + the next byte + 1 bytes back from the
 * end of the output so far (the copy may overlap itself). */
size_t rdbLzfDecompress(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen) {
    size_t ip = 0, op = 0;
    while (ip < inlen) {
        unsigned int ctrl = in[ip++];
        if (ctrl < 32) {
            size_t run = (size_t)ctrl + 1;
            if (run > inlen - ip || run > outlen - op) return 0;
            memcpy(out + op, in + ip, run);
            ip += run;
            op += run;
        } else {
            size_t len = ctrl >> 5;
            size_t back = (size_t)(ctrl & 0x1f) << 8;
            if (ip >= inlen) return 0;
            if (len == 7) {
                len += in[ip++];
                if (ip >= inlen) return 0;
            }
            back += (size_t)in[ip++] + 1;
            len += 2;
            if (back > op || len > outlen - op) return 0;
            for (size_t i = 0; i < len; i++, op++) out[op] = out[op - back];
        }
    }
    return op;
}

/* A back reference of 3 bytes yields at most 264: no LZF input expands more
 * than 88 times. */
#define LZF_MAX_RATIO 88

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

#define RDB_6BITLEN 0
#define RDB_14BITLEN 1
#define RDB_32BITLEN 0x80
#define RDB_64BITLEN 0x81
#define RDB_ENCVAL 3
#define RDB_ENC_INT8 0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF 3

sds rdbAppendType(sds s, int type) {
    unsigned char b = (unsigned char)type;
    return sdscatlen(s, &b, 1);
}

sds rdbAppendLen(sds s, uint64_t len) {
    unsigned char b[9];
    size_t n;
    if (len < (1 << 6)) {
        b[0] = (unsigned char)((len & 0xff) | (RDB_6BITLEN << 6));
        n = 1;
    } else if (len < (1 << 14)) {
        b[0] = (unsigned char)(((len >> 8) & 0xff) | (RDB_14BITLEN << 6));
        b[1] = (unsigned char)(len & 0xff);
        n = 2;
    } else if (len <= UINT32_MAX) {
        b[0] = RDB_32BITLEN;
        for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(len >> (24 - 8 * i)); /* big endian */
        n = 5;
    } else {
        b[0] = RDB_64BITLEN;
        for (int i = 0; i < 8; i++) b[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    return sdscatlen(s, b, n);
}

sds rdbAppendString(sds s, const char *p, size_t len) {
    long long v;
    char buf[32];
    /* only the canonical form: "007" or "+1" must stay as they are */
    if (len > 0 && len <= 11 && string2ll(p, len, &v) && v >= INT32_MIN && v <= INT32_MAX &&
        (size_t)ll2string(buf, sizeof(buf), v) == len && memcmp(buf, p, len) == 0) {
        unsigned char b[5];
        size_t n;
        if (v >= INT8_MIN && v <= INT8_MAX) {
            b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT8;
            b[1] = (unsigned char)(v & 0xff);
            n = 2;
        } else if (v >= INT16_MIN && v <= INT16_MAX) {
            b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT16;
            b[1] = (unsigned char)(v & 0xff);
            b[2] = (unsigned char)((v >> 8) & 0xff);
            n = 3;
        } else {
            b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT32;
            for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)(((uint64_t)v >> (8 * i)) & 0xff);
            n = 5;
        }
        return sdscatlen(s, b, n);
    }
    s = rdbAppendLen(s, len);
    return sdscatlen(s, p, len);
}

sds rdbAppendBinaryDouble(sds s, double d) {
    uint64_t u;
    unsigned char b[8];
    memcpy(&u, &d, sizeof(u));
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(u >> (8 * i)); /* little endian */
    return sdscatlen(s, b, 8);
}

sds rdbAppendFooter(sds s) {
    unsigned char b[8];
    b[0] = RDB_VERSION & 0xff;
    b[1] = (RDB_VERSION >> 8) & 0xff;
    s = sdscatlen(s, b, 2);
    uint64_t crc = rdbCrc64(0, s, sdslen(s));
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(crc >> (8 * i));
    return sdscatlen(s, b, 8);
}

/* ---- streams: listpack nodes as Redis 7.0's streamAppendItem() lays them
 * out. A node is a listpack holding the master entry
 *
 *     count | deleted | num-fields | field_1 .. field_N | 0
 *
 * then each entry: flags | ms-diff | seq-diff [| num-fields | fields]
 * | values | lp-count, where the ID is the difference from the node's
 * master ID (its key, 128 bits big endian), the fields are left out (flag
 * SAMEFIELDS) when they are the master's, and lp-count is the number of
 * elements of the entry before it. ---- */

#define STREAM_FLAG_DELETED 1
#define STREAM_FLAG_SAMEFIELDS 2
#define STREAM_NODE_MAX_ENTRIES 100  /* Redis's stream-node-max-entries default */
#define STREAM_NODE_MAX_BYTES 4096   /* Redis's stream-node-max-bytes default */
#define LP_HEADER_SIZE 6

static size_t lpBacklenSize(uint64_t l);

/* A listpack element from its encoding (hdr, then data), with its backlen. */
static sds lpAppendElement(sds lp, const unsigned char *hdr, size_t hlen, const char *data, size_t dlen) {
    uint64_t l = hlen + dlen;
    unsigned char back[5];
    size_t n = lpBacklenSize(l);
    for (size_t i = 0; i < n; i++) {
        back[i] = (unsigned char)((l >> (7 * (n - 1 - i))) & 127);
        if (i > 0) back[i] |= 128;
    }
    lp = sdscatlen(lp, hdr, hlen);
    if (dlen) lp = sdscatlen(lp, data, dlen);
    return sdscatlen(lp, back, n);
}

/* An integer in the smallest of listpack's integer encodings. */
static sds lpAppendInteger(sds lp, int64_t v) {
    unsigned char b[9];
    size_t n;
    uint64_t u = (uint64_t)v;
    if (v >= 0 && v <= 127) {
        b[0] = (unsigned char)v;
        n = 1;
    } else if (v >= -4096 && v <= 4095) {
        u &= 0x1fff;
        b[0] = (unsigned char)(0xc0 | (u >> 8));
        b[1] = (unsigned char)(u & 0xff);
        n = 2;
    } else {
        int bytes = v >= INT16_MIN && v <= INT16_MAX ? 2 : v >= -8388608 && v <= 8388607 ? 3
                  : v >= INT32_MIN && v <= INT32_MAX ? 4 : 8;
        b[0] = bytes == 2 ? 0xf1 : bytes == 3 ? 0xf2 : bytes == 4 ? 0xf3 : 0xf4;
        for (int i = 0; i < bytes; i++) b[1 + i] = (unsigned char)(u >> (8 * i));
        n = (size_t)bytes + 1;
    }
    return lpAppendElement(lp, b, n, NULL, 0);
}

/* A string; as an integer when it is one's canonical text, as listpack
 * stores such strings. */
static sds lpAppendString(sds lp, const char *p, size_t len) {
    long long v;
    char buf[32];
    if (len > 0 && len <= 20 && string2ll(p, len, &v) && (size_t)ll2string(buf, sizeof(buf), v) == len &&
        memcmp(buf, p, len) == 0)
        return lpAppendInteger(lp, v);
    unsigned char b[5];
    size_t n;
    if (len < 64) {
        b[0] = (unsigned char)(0x80 | len);
        n = 1;
    } else if (len < 4096) {
        b[0] = (unsigned char)(0xe0 | (len >> 8));
        b[1] = (unsigned char)(len & 0xff);
        n = 2;
    } else {
        b[0] = 0xf0;
        for (int i = 0; i < 4; i++) b[1 + i] = (unsigned char)((uint64_t)len >> (8 * i));
        n = 5;
    }
    return lpAppendElement(lp, b, n, p, len);
}

/* The master entry of the node being built (its count as given). */
static sds streamMasterEntry(const rdbStreamNodes *w, uint64_t count) {
    sds m = lpAppendInteger(sdsempty(), (int64_t)count);
    m = lpAppendInteger(m, 0); /* deleted */
    m = lpAppendInteger(m, (int64_t)w->nfields);
    for (size_t i = 0; i < w->nfields; i++) m = lpAppendString(m, w->fields[i], sdslen(w->fields[i]));
    return lpAppendInteger(m, 0);
}

/* The size of the node being built as a listpack (lpBytes) */
static size_t streamNodeBytes(const rdbStreamNodes *w) {
    sds m = streamMasterEntry(w, w->count);
    size_t n = LP_HEADER_SIZE + sdslen(m) + sdslen(w->entries) + 1;
    sdsfree(m);
    return n;
}

sds rdbAppendStreamID(sds s, const rdbStreamID *id) {
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(id->ms >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(id->seq >> (56 - 8 * i));
    }
    return sdscatlen(s, b, 16);
}

static void streamNodeFinish(rdbStreamNodes *w) {
    if (w->count == 0) return;
    if (w->out) {
        sds m = streamMasterEntry(w, w->count);
        uint64_t total = LP_HEADER_SIZE + sdslen(m) + sdslen(w->entries) + 1;
        uint64_t elements = 4 + w->nfields + w->elements;
        unsigned char hdr[LP_HEADER_SIZE];
        for (int i = 0; i < 4; i++) hdr[i] = (unsigned char)(total >> (8 * i));
        if (elements > 65535) elements = 65535; /* "unknown": counted when needed */
        hdr[4] = (unsigned char)(elements & 0xff);
        hdr[5] = (unsigned char)(elements >> 8);
        sds key = rdbAppendStreamID(sdsempty(), &w->master);
        *w->out = rdbAppendString(*w->out, key, sdslen(key));
        *w->out = rdbAppendLen(*w->out, total);
        *w->out = sdscatlen(*w->out, hdr, LP_HEADER_SIZE);
        *w->out = sdscatlen(*w->out, m, sdslen(m));
        *w->out = sdscatlen(*w->out, w->entries, sdslen(w->entries));
        *w->out = sdscatlen(*w->out, "\xff", 1);
        sdsfree(key);
        sdsfree(m);
    }
    for (size_t i = 0; i < w->nfields; i++) sdsfree(w->fields[i]);
    zfree(w->fields);
    w->fields = NULL;
    w->nfields = 0;
    sdssetlen(w->entries, 0);
    w->elements = 0;
    w->count = 0;
    w->nodes++;
}

void rdbStreamNodesInit(rdbStreamNodes *w, sds *out) {
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->entries = sdsempty();
}

/* A new node takes the entry when the last one holds max entries, or its
 * size plus the entry's fields and values would reach max bytes (as XADD
 * decides). */
static int streamNodeIsFull(const rdbStreamNodes *w, size_t nfields, const size_t *fvlen) {
    if (w->count == 0) return 0;
    if (w->count >= STREAM_NODE_MAX_ENTRIES) return 1;
    size_t total = 0;
    for (size_t i = 0; i < 2 * nfields; i++) total += fvlen[i];
    return streamNodeBytes(w) + total >= STREAM_NODE_MAX_BYTES;
}

static int streamSameFields(const rdbStreamNodes *w, size_t nfields, const char **fv, const size_t *fvlen) {
    if (nfields != w->nfields) return 0;
    for (size_t i = 0; i < nfields; i++)
        if (sdslen(w->fields[i]) != fvlen[2 * i] || memcmp(w->fields[i], fv[2 * i], fvlen[2 * i]) != 0) return 0;
    return 1;
}

void rdbStreamNodesAdd(rdbStreamNodes *w, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    if (streamNodeIsFull(w, nfields, fvlen)) streamNodeFinish(w);
    if (w->count == 0) {
        w->master = *id;
        w->fields = zmalloc(sizeof(sds) * (nfields ? nfields : 1));
        for (size_t i = 0; i < nfields; i++) w->fields[i] = sdsnewlen(fv[2 * i], fvlen[2 * i]);
        w->nfields = nfields;
    }
    int same = streamSameFields(w, nfields, fv, fvlen);
    w->entries = lpAppendInteger(w->entries, same ? STREAM_FLAG_SAMEFIELDS : 0);
    w->entries = lpAppendInteger(w->entries, (int64_t)(id->ms - w->master.ms));
    w->entries = lpAppendInteger(w->entries, (int64_t)(id->seq - w->master.seq));
    if (!same) w->entries = lpAppendInteger(w->entries, (int64_t)nfields);
    for (size_t i = 0; i < nfields; i++) {
        if (!same) w->entries = lpAppendString(w->entries, fv[2 * i], fvlen[2 * i]);
        w->entries = lpAppendString(w->entries, fv[2 * i + 1], fvlen[2 * i + 1]);
    }
    int64_t lp_count = (int64_t)nfields + 3 + (same ? 0 : (int64_t)nfields + 1);
    w->entries = lpAppendInteger(w->entries, lp_count);
    w->elements += (uint64_t)lp_count + 1;
    w->count++;
}

void rdbStreamNodesEnd(rdbStreamNodes *w) {
    streamNodeFinish(w);
    sdsfree(w->entries);
    w->entries = NULL;
}

sds rdbAppendStreamMeta(sds s, const rdbStreamMeta *m) {
    s = rdbAppendLen(s, m->length);
    s = rdbAppendLen(s, m->last_id.ms);
    s = rdbAppendLen(s, m->last_id.seq);
    s = rdbAppendLen(s, m->first_id.ms);
    s = rdbAppendLen(s, m->first_id.seq);
    s = rdbAppendLen(s, m->max_deleted.ms);
    s = rdbAppendLen(s, m->max_deleted.seq);
    return rdbAppendLen(s, m->entries_added);
}

sds rdbAppendMillisecondTime(sds s, long long ms) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)ms >> (8 * i));
    return sdscatlen(s, b, 8);
}

sds rdbAppendStreamGroup(sds s, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read) {
    s = rdbAppendString(s, name, len);
    s = rdbAppendLen(s, last_id->ms);
    s = rdbAppendLen(s, last_id->seq);
    return rdbAppendLen(s, (uint64_t)entries_read); /* -1 as Redis writes it: all ones */
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

#define FOOTER_LEN 10

int rdbVerifyPayload(const unsigned char *p, size_t len) {
    if (len < FOOTER_LEN) return RDB_ERR_CHECKSUM;
    const unsigned char *footer = p + len - FOOTER_LEN;
    unsigned version = (unsigned)footer[0] | ((unsigned)footer[1] << 8);
    if (version > RDB_VERSION) return RDB_ERR_CHECKSUM;
    uint64_t crc = rdbCrc64(0, p, len - 8), stored = 0;
    for (int i = 0; i < 8; i++) stored |= (uint64_t)footer[2 + i] << (8 * i);
    return crc == stored ? RDB_OK : RDB_ERR_CHECKSUM;
}

const char *rdbTypeName(int t) {
    switch (t) {
    case RDB_TYPE_STRING: return "string";
    case RDB_TYPE_LIST: return "list";
    case RDB_TYPE_SET: return "set";
    case RDB_TYPE_ZSET: return "zset";
    case RDB_TYPE_HASH: return "hash";
    case RDB_TYPE_ZSET_2: return "zset-2";
    case RDB_TYPE_MODULE: return "module";
    case RDB_TYPE_MODULE_2: return "module-2";
    case RDB_TYPE_HASH_ZIPMAP: return "hash-zipmap";
    case RDB_TYPE_LIST_ZIPLIST: return "list-ziplist";
    case RDB_TYPE_SET_INTSET: return "set-intset";
    case RDB_TYPE_ZSET_ZIPLIST: return "zset-ziplist";
    case RDB_TYPE_HASH_ZIPLIST: return "hash-ziplist";
    case RDB_TYPE_LIST_QUICKLIST: return "list-quicklist";
    case RDB_TYPE_STREAM_LISTPACKS: return "stream";
    case RDB_TYPE_HASH_LISTPACK: return "hash-listpack";
    case RDB_TYPE_ZSET_LISTPACK: return "zset-listpack";
    case RDB_TYPE_LIST_QUICKLIST_2: return "list-quicklist-2";
    case RDB_TYPE_STREAM_LISTPACKS_2: return "stream-2";
    default: return "unknown";
    }
}

/* A cursor over the payload. */
typedef struct rdbReader {
    const unsigned char *p;
    size_t len, pos;
} rdbReader;

static size_t remaining(const rdbReader *r) { return r->len - r->pos; }

static int readBytes(rdbReader *r, size_t n, const unsigned char **out) {
    if (n > remaining(r)) return RDB_ERR_FORMAT;
    *out = r->p + r->pos;
    r->pos += n;
    return RDB_OK;
}

static int readByte(rdbReader *r, unsigned *out) {
    const unsigned char *b;
    if (readBytes(r, 1, &b) != RDB_OK) return RDB_ERR_FORMAT;
    *out = b[0];
    return RDB_OK;
}

static uint64_t le(const unsigned char *b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static uint64_t be(const unsigned char *b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | b[i];
    return v;
}

/* A length, or (*encoded set) a special string encoding's number. As in
 * Redis, an "encoded" byte read where a plain length is expected counts
 * as its low 6 bits. */
static int readLen(rdbReader *r, uint64_t *len, int *encoded) {
    unsigned b0;
    const unsigned char *b;
    if (encoded) *encoded = 0;
    if (readByte(r, &b0) != RDB_OK) return RDB_ERR_FORMAT;
    int type = (b0 & 0xc0) >> 6;
    if (type == RDB_ENCVAL) {
        if (encoded) *encoded = 1;
        *len = b0 & 0x3f;
    } else if (type == RDB_6BITLEN) {
        *len = b0 & 0x3f;
    } else if (type == RDB_14BITLEN) {
        unsigned b1;
        if (readByte(r, &b1) != RDB_OK) return RDB_ERR_FORMAT;
        *len = ((uint64_t)(b0 & 0x3f) << 8) | b1;
    } else if (b0 == RDB_32BITLEN) {
        if (readBytes(r, 4, &b) != RDB_OK) return RDB_ERR_FORMAT;
        *len = be(b, 4);
    } else if (b0 == RDB_64BITLEN) {
        if (readBytes(r, 8, &b) != RDB_OK) return RDB_ERR_FORMAT;
        *len = be(b, 8);
    } else {
        return RDB_ERR_FORMAT;
    }
    return RDB_OK;
}

/* A string read from the payload: p points into the payload, into num (an
 * integer encoding), or into owned (decompressed). */
typedef struct rdbStr {
    const unsigned char *p;
    size_t len;
    unsigned char *owned;
    char num[24];
} rdbStr;

static void strFree(rdbStr *s) {
    if (s->owned) zfree(s->owned);
    s->owned = NULL;
}

static void strNumber(rdbStr *s, long long v) {
    s->len = (size_t)ll2string(s->num, sizeof(s->num), v);
    s->p = (const unsigned char *)s->num;
}

static int readString(rdbReader *r, rdbStr *s) {
    uint64_t len;
    int encoded;
    const unsigned char *b;
    s->owned = NULL;
    if (readLen(r, &len, &encoded) != RDB_OK) return RDB_ERR_FORMAT;
    if (!encoded) {
        if (len > remaining(r)) return RDB_ERR_FORMAT;
        s->len = (size_t)len;
        return readBytes(r, s->len, &s->p);
    }
    switch (len) {
    case RDB_ENC_INT8:
        if (readBytes(r, 1, &b) != RDB_OK) return RDB_ERR_FORMAT;
        strNumber(s, (int8_t)b[0]);
        return RDB_OK;
    case RDB_ENC_INT16:
        if (readBytes(r, 2, &b) != RDB_OK) return RDB_ERR_FORMAT;
        strNumber(s, (int16_t)(uint16_t)le(b, 2));
        return RDB_OK;
    case RDB_ENC_INT32:
        if (readBytes(r, 4, &b) != RDB_OK) return RDB_ERR_FORMAT;
        strNumber(s, (int32_t)(uint32_t)le(b, 4));
        return RDB_OK;
    case RDB_ENC_LZF: {
        uint64_t clen, ulen;
        if (readLen(r, &clen, NULL) != RDB_OK || readLen(r, &ulen, NULL) != RDB_OK) return RDB_ERR_FORMAT;
        if (clen == 0 || clen > remaining(r) || ulen == 0 || ulen > RDB_MAX_STRING || ulen / LZF_MAX_RATIO > clen)
            return RDB_ERR_FORMAT;
        if (readBytes(r, (size_t)clen, &b) != RDB_OK) return RDB_ERR_FORMAT;
        s->owned = zmalloc((size_t)ulen);
        if (rdbLzfDecompress(b, (size_t)clen, s->owned, (size_t)ulen) != ulen) {
            strFree(s);
            return RDB_ERR_FORMAT;
        }
        s->p = s->owned;
        s->len = (size_t)ulen;
        return RDB_OK;
    }
    default:
        return RDB_ERR_FORMAT;
    }
}

/* ---- the decoder's state: the sink, and a count of members ---- */

typedef struct decoder {
    const rdbSink *sink;
    void *ud;
    uint64_t members;
} decoder;

static int emitElement(decoder *d, const unsigned char *p, size_t len) {
    d->members++;
    return d->sink->element ? d->sink->element(d->ud, (const char *)p, len) : RDB_OK;
}

static int emitField(decoder *d, const rdbStr *f, const rdbStr *v) {
    d->members++;
    return d->sink->field ? d->sink->field(d->ud, (const char *)f->p, f->len, (const char *)v->p, v->len) : RDB_OK;
}

static int emitScored(decoder *d, const unsigned char *m, size_t len, double score) {
    if (isnan(score)) return RDB_ERR_FORMAT;
    d->members++;
    return d->sink->scored ? d->sink->scored(d->ud, (const char *)m, len, score) : RDB_OK;
}

/* A score written as text (a listpack or ziplist entry, RDB_TYPE_ZSET):
 * the whole text must be a number. */
static int parseScoreText(const unsigned char *p, size_t len, double *out) {
    char buf[256];
    if (len == 0 || len >= sizeof(buf)) return RDB_ERR_FORMAT;
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *end;
    double d = strtod(buf, &end); /* out of range: +-inf or 0, as Redis reads it */
    if (end != buf + len || isnan(d)) return RDB_ERR_FORMAT;
    *out = d;
    return RDB_OK;
}

/* ---- compact encodings: an entry is a string or an integer ---- */

typedef struct entry {
    const unsigned char *p; /* string bytes, or NULL for an integer */
    size_t len;
    long long v;
} entry;

/* Make e a string (integers as decimal text in buf). */
static void entryText(entry *e, char buf[24]) {
    if (e->p) return;
    e->len = (size_t)ll2string(buf, 24, e->v);
    e->p = (const unsigned char *)buf;
}

/* Walk a series of entries, calling fn for each, in groups of `group`
 * (1: elements, 2: pairs). */
typedef int entryFn(decoder *d, entry *e, int n);

/* ---- listpack ---- */

static size_t lpBacklenSize(uint64_t l) {
    if (l <= 127) return 1;
    if (l < 16383) return 2;
    if (l < 2097151) return 3;
    if (l < 268435455) return 4;
    return 5;
}

/* The backlen bytes written after an entry of l bytes (see listpack.c). */
static int lpBacklenOk(const unsigned char *b, uint64_t l) {
    size_t n = lpBacklenSize(l);
    for (size_t i = 0; i < n; i++) {
        unsigned expect = (unsigned)((l >> (7 * (n - 1 - i))) & 127);
        if (i > 0) expect |= 128;
        if (b[i] != expect) return 0;
    }
    return 1;
}

/* Read the entry at lp[*pos] (lp holds size bytes, the last one EOF). */
static int lpNextEntry(const unsigned char *lp, size_t size, size_t *pos, entry *e) {
    size_t at = *pos, avail = size - 1 - at; /* bytes before the EOF byte */
    const unsigned char *p = lp + at;
    uint64_t hdr, datalen = 0;
    int isstr = 0;
    e->p = NULL;
    if (avail == 0) return RDB_ERR_FORMAT;
    unsigned b = p[0];
    if ((b & 0x80) == 0) { /* 7-bit unsigned */
        hdr = 1;
        e->v = b & 0x7f;
    } else if ((b & 0xc0) == 0x80) { /* 6-bit string length */
        hdr = 1;
        datalen = b & 0x3f;
        isstr = 1;
    } else if ((b & 0xe0) == 0xc0) { /* 13-bit signed */
        if (avail < 2) return RDB_ERR_FORMAT;
        hdr = 2;
        uint64_t uv = ((uint64_t)(b & 0x1f) << 8) | p[1];
        e->v = uv >= (1 << 12) ? (long long)uv - (1 << 13) : (long long)uv;
    } else if ((b & 0xf0) == 0xe0) { /* 12-bit string length */
        if (avail < 2) return RDB_ERR_FORMAT;
        hdr = 2;
        datalen = ((uint64_t)(b & 0x0f) << 8) | p[1];
        isstr = 1;
    } else if (b == 0xf0) { /* 32-bit string length */
        if (avail < 5) return RDB_ERR_FORMAT;
        hdr = 5;
        datalen = le(p + 1, 4);
        isstr = 1;
    } else if (b >= 0xf1 && b <= 0xf4) { /* 16, 24, 32, 64-bit signed */
        int bytes = b == 0xf1 ? 2 : b == 0xf2 ? 3 : b == 0xf3 ? 4 : 8;
        if (avail < (size_t)bytes + 1) return RDB_ERR_FORMAT;
        hdr = (uint64_t)bytes + 1;
        uint64_t uv = le(p + 1, bytes);
        if (bytes < 8 && (uv >> (8 * bytes - 1))) uv |= ~0ULL << (8 * bytes); /* sign-extend */
        e->v = (long long)uv;
    } else {
        return RDB_ERR_FORMAT; /* 0xf5..0xfe, or EOF where an entry should be */
    }
    if (datalen > avail - hdr) return RDB_ERR_FORMAT;
    uint64_t l = hdr + datalen;
    size_t bl = lpBacklenSize(l);
    if (bl > avail - l || !lpBacklenOk(p + l, l)) return RDB_ERR_FORMAT;
    if (isstr) {
        e->p = p + hdr;
        e->len = (size_t)datalen;
    }
    *pos = at + (size_t)l + bl;
    return RDB_OK;
}

/* Walk the listpack lp (size bytes), `group` entries at a time. */
static int walkListpack(decoder *d, const unsigned char *lp, size_t size, int group, entryFn *fn) {
    if (size < 7 || le(lp, 4) != size || lp[size - 1] != 0xff) return RDB_ERR_FORMAT;
    uint64_t declared = le(lp + 4, 2), n = 0;
    size_t pos = 6;
    entry es[2];
    int k = 0, r;
    while (pos < size - 1) {
        if ((r = lpNextEntry(lp, size, &pos, &es[k])) != RDB_OK) return r;
        n++;
        if (++k == group) {
            if ((r = fn(d, es, group)) != RDB_OK) return r;
            k = 0;
        }
    }
    if (k != 0) return RDB_ERR_FORMAT; /* an odd number of entries for pairs */
    if (declared != 65535 && declared != n) return RDB_ERR_FORMAT;
    return RDB_OK;
}

/* ---- ziplist ---- */

static int zlNextEntry(const unsigned char *zl, size_t size, size_t *pos, size_t *prevlen, entry *e) {
    size_t at = *pos, avail = size - 1 - at;
    const unsigned char *p = zl + at;
    size_t pl, hdr;
    uint64_t datalen = 0;
    e->p = NULL;
    if (avail < 2) return RDB_ERR_FORMAT;
    if (p[0] < 254) {
        pl = 1;
        if (p[0] != *prevlen) return RDB_ERR_FORMAT;
    } else if (p[0] == 254) {
        if (avail < 6) return RDB_ERR_FORMAT;
        pl = 5;
        if (le(p + 1, 4) != *prevlen) return RDB_ERR_FORMAT;
    } else {
        return RDB_ERR_FORMAT;
    }
    const unsigned char *q = p + pl;
    size_t left = avail - pl;
    if (left < 1) return RDB_ERR_FORMAT;
    unsigned b = q[0];
    switch (b >> 6) {
    case 0: /* 6-bit string length */
        hdr = 1;
        datalen = b & 0x3f;
        break;
    case 1: /* 14-bit string length, big endian */
        if (left < 2) return RDB_ERR_FORMAT;
        hdr = 2;
        datalen = ((uint64_t)(b & 0x3f) << 8) | q[1];
        break;
    case 2: /* 32-bit string length, big endian (the low 6 bits unused) */
        if (left < 5) return RDB_ERR_FORMAT;
        hdr = 5;
        datalen = be(q + 1, 4);
        break;
    default: { /* integers */
        int bytes;
        if (b == 0xc0) bytes = 2;
        else if (b == 0xd0) bytes = 4;
        else if (b == 0xe0) bytes = 8;
        else if (b == 0xf0) bytes = 3;
        else if (b == 0xfe) bytes = 1;
        else if (b >= 0xf1 && b <= 0xfd) bytes = 0;
        else return RDB_ERR_FORMAT;
        if ((size_t)bytes + 1 > left) return RDB_ERR_FORMAT;
        hdr = 1;
        if (bytes == 0) {
            e->v = (long long)(b & 0x0f) - 1;
        } else {
            uint64_t uv = le(q + 1, bytes);
            if (bytes < 8 && (uv >> (8 * bytes - 1))) uv |= ~0ULL << (8 * bytes);
            e->v = (long long)uv;
        }
        size_t total = pl + hdr + (size_t)bytes;
        *prevlen = total;
        *pos = at + total;
        return RDB_OK;
    }
    }
    if (datalen > left - hdr) return RDB_ERR_FORMAT;
    e->p = q + hdr;
    e->len = (size_t)datalen;
    size_t total = pl + hdr + (size_t)datalen;
    *prevlen = total;
    *pos = at + total;
    return RDB_OK;
}

static int walkZiplist(decoder *d, const unsigned char *zl, size_t size, int group, entryFn *fn) {
    if (size < 11 || le(zl, 4) != size || zl[size - 1] != 0xff) return RDB_ERR_FORMAT;
    uint64_t tail = le(zl + 4, 4), declared = le(zl + 8, 2), n = 0;
    size_t pos = 10, prevlen = 0, last = 10;
    entry es[2];
    int k = 0, r;
    while (pos < size - 1) {
        last = pos;
        if ((r = zlNextEntry(zl, size, &pos, &prevlen, &es[k])) != RDB_OK) return r;
        n++;
        if (++k == group) {
            if ((r = fn(d, es, group)) != RDB_OK) return r;
            k = 0;
        }
    }
    if (k != 0 || tail != last) return RDB_ERR_FORMAT;
    if (declared != 65535 && declared != n) return RDB_ERR_FORMAT;
    return RDB_OK;
}

/* ---- zipmap (Redis 2.x hashes) ---- */

static int zmReadLen(const unsigned char *zm, size_t size, size_t *pos, uint64_t *len) {
    if (*pos >= size - 1) return RDB_ERR_FORMAT;
    unsigned b = zm[*pos];
    if (b < 254) {
        *len = b;
        *pos += 1;
        return RDB_OK;
    }
    if (b != 254 || size - 1 - *pos < 5) return RDB_ERR_FORMAT;
    *len = le(zm + *pos + 1, 4);
    *pos += 5;
    return RDB_OK;
}

static int walkZipmap(decoder *d, const unsigned char *zm, size_t size) {
    if (size < 2 || zm[size - 1] != 0xff) return RDB_ERR_FORMAT;
    size_t pos = 1;
    int r;
    while (pos < size - 1) {
        uint64_t flen, vlen;
        rdbStr f = {0}, v = {0};
        if (zmReadLen(zm, size, &pos, &flen) != RDB_OK || flen > size - 1 - pos) return RDB_ERR_FORMAT;
        f.p = zm + pos;
        f.len = (size_t)flen;
        pos += (size_t)flen;
        if (zmReadLen(zm, size, &pos, &vlen) != RDB_OK || pos >= size - 1) return RDB_ERR_FORMAT;
        unsigned free_bytes = zm[pos++];
        if (vlen > size - 1 - pos || free_bytes > size - 1 - pos - vlen) return RDB_ERR_FORMAT;
        v.p = zm + pos;
        v.len = (size_t)vlen;
        pos += (size_t)vlen + free_bytes;
        if ((r = emitField(d, &f, &v)) != RDB_OK) return r;
    }
    if (zm[0] < 254 && zm[0] != d->members) return RDB_ERR_FORMAT;
    return RDB_OK;
}

/* ---- intset ---- */

static int walkIntset(decoder *d, const unsigned char *is, size_t size) {
    if (size < 8) return RDB_ERR_FORMAT;
    uint64_t enc = le(is, 4), count = le(is + 4, 4);
    if (enc != 2 && enc != 4 && enc != 8) return RDB_ERR_FORMAT;
    if (count == 0 || count > (size - 8) / enc || 8 + count * enc != size) return RDB_ERR_FORMAT;
    long long prev = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t uv = le(is + 8 + i * enc, (int)enc);
        if (enc < 8 && (uv >> (8 * enc - 1))) uv |= ~0ULL << (8 * enc);
        long long v = (long long)uv;
        if (i > 0 && v <= prev) return RDB_ERR_FORMAT; /* sorted, no duplicates */
        prev = v;
        char buf[24];
        int n = ll2string(buf, sizeof(buf), v);
        int r = emitElement(d, (const unsigned char *)buf, (size_t)n);
        if (r != RDB_OK) return r;
    }
    return RDB_OK;
}

/* ---- entry callbacks ---- */

static int onElementEntry(decoder *d, entry *e, int n) {
    (void)n;
    char buf[24];
    entryText(&e[0], buf);
    return emitElement(d, e[0].p, e[0].len);
}

static int onFieldEntries(decoder *d, entry *e, int n) {
    (void)n;
    char fb[24], vb[24];
    entryText(&e[0], fb);
    entryText(&e[1], vb);
    rdbStr f = {0}, v = {0};
    f.p = e[0].p;
    f.len = e[0].len;
    v.p = e[1].p;
    v.len = e[1].len;
    return emitField(d, &f, &v);
}

static int onScoredEntries(decoder *d, entry *e, int n) {
    (void)n;
    char mb[24];
    double score;
    entryText(&e[0], mb);
    if (e[1].p) {
        if (parseScoreText(e[1].p, e[1].len, &score) != RDB_OK) return RDB_ERR_FORMAT;
    } else {
        score = (double)e[1].v;
    }
    return emitScored(d, e[0].p, e[0].len, score);
}

/* ---- objects ---- */

static int objTypeOf(int t) {
    switch (t) {
    case RDB_TYPE_STRING: return OBJ_STRING;
    case RDB_TYPE_LIST:
    case RDB_TYPE_LIST_ZIPLIST:
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: return OBJ_LIST;
    case RDB_TYPE_SET:
    case RDB_TYPE_SET_INTSET: return OBJ_SET;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: return OBJ_ZSET;
    case RDB_TYPE_HASH:
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK: return OBJ_HASH;
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2: return OBJ_STREAM;
    default: return OBJ_NONE;
    }
}

/* The RDB_TYPE_ZSET score: a length byte (253 NaN, 254 +inf, 255 -inf)
 * and that many characters of text. */
static int readTextScore(rdbReader *r, double *score) {
    unsigned n;
    const unsigned char *b;
    if (readByte(r, &n) != RDB_OK) return RDB_ERR_FORMAT;
    if (n == 253) return RDB_ERR_FORMAT; /* NaN */
    if (n == 254) { *score = INFINITY; return RDB_OK; }
    if (n == 255) { *score = -INFINITY; return RDB_OK; }
    if (readBytes(r, n, &b) != RDB_OK) return RDB_ERR_FORMAT;
    return parseScoreText(b, n, score);
}

/* A count of members each taking at least min_bytes: more than the bytes
 * left can hold is malformed (checked before anything is done with it). */
static int readCount(rdbReader *r, uint64_t min_bytes, uint64_t *count) {
    if (readLen(r, count, NULL) != RDB_OK) return RDB_ERR_FORMAT;
    if (*count == 0 || *count > remaining(r) / min_bytes) return RDB_ERR_FORMAT;
    return RDB_OK;
}

static int decodePlain(rdbReader *r, decoder *d, int t) {
    uint64_t count;
    rdbStr a, b;
    int rc = RDB_OK;
    switch (t) {
    case RDB_TYPE_STRING:
        if (readString(r, &a) != RDB_OK) return RDB_ERR_FORMAT;
        if (d->sink->string) rc = d->sink->string(d->ud, (const char *)a.p, a.len);
        strFree(&a);
        return rc;
    case RDB_TYPE_LIST:
    case RDB_TYPE_SET:
        if (readCount(r, 1, &count) != RDB_OK) return RDB_ERR_FORMAT;
        for (uint64_t i = 0; i < count && rc == RDB_OK; i++) {
            if (readString(r, &a) != RDB_OK) return RDB_ERR_FORMAT;
            rc = emitElement(d, a.p, a.len);
            strFree(&a);
        }
        return rc;
    case RDB_TYPE_HASH:
        if (readCount(r, 2, &count) != RDB_OK) return RDB_ERR_FORMAT;
        for (uint64_t i = 0; i < count && rc == RDB_OK; i++) {
            if (readString(r, &a) != RDB_OK) return RDB_ERR_FORMAT;
            if (readString(r, &b) != RDB_OK) {
                strFree(&a);
                return RDB_ERR_FORMAT;
            }
            rc = emitField(d, &a, &b);
            strFree(&a);
            strFree(&b);
        }
        return rc;
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2:
        if (readCount(r, t == RDB_TYPE_ZSET_2 ? 9 : 2, &count) != RDB_OK) return RDB_ERR_FORMAT;
        for (uint64_t i = 0; i < count && rc == RDB_OK; i++) {
            double score;
            const unsigned char *s;
            if (readString(r, &a) != RDB_OK) return RDB_ERR_FORMAT;
            if (t == RDB_TYPE_ZSET_2) {
                if (readBytes(r, 8, &s) == RDB_OK) {
                    uint64_t u = le(s, 8);
                    memcpy(&score, &u, sizeof(score));
                    rc = emitScored(d, a.p, a.len, score);
                } else {
                    rc = RDB_ERR_FORMAT;
                }
            } else {
                rc = readTextScore(r, &score);
                if (rc == RDB_OK) rc = emitScored(d, a.p, a.len, score);
            }
            strFree(&a);
        }
        return rc;
    }
    return RDB_ERR_FORMAT;
}

/* A quicklist (14: ziplist nodes; 18: listpack or plain nodes). */
static int decodeQuicklist(rdbReader *r, decoder *d, int t) {
    uint64_t nodes;
    if (readCount(r, t == RDB_TYPE_LIST_QUICKLIST_2 ? 2 : 1, &nodes) != RDB_OK) return RDB_ERR_FORMAT;
    for (uint64_t i = 0; i < nodes; i++) {
        uint64_t container = RDB_QUICKLIST_PACKED;
        rdbStr blob;
        if (t == RDB_TYPE_LIST_QUICKLIST_2) {
            if (readLen(r, &container, NULL) != RDB_OK) return RDB_ERR_FORMAT;
            if (container != RDB_QUICKLIST_PLAIN && container != RDB_QUICKLIST_PACKED) return RDB_ERR_FORMAT;
        }
        if (readString(r, &blob) != RDB_OK) return RDB_ERR_FORMAT;
        int rc;
        if (blob.len == 0) rc = RDB_ERR_FORMAT;
        else if (container == RDB_QUICKLIST_PLAIN) rc = emitElement(d, blob.p, blob.len);
        else if (t == RDB_TYPE_LIST_QUICKLIST_2) rc = walkListpack(d, blob.p, blob.len, 1, onElementEntry);
        else rc = walkZiplist(d, blob.p, blob.len, 1, onElementEntry);
        strFree(&blob);
        if (rc != RDB_OK) return rc;
    }
    return RDB_OK;
}

/* The types stored as one blob in a compact encoding. */
static int decodeBlob(rdbReader *r, decoder *d, int t) {
    rdbStr blob;
    int rc;
    if (readString(r, &blob) != RDB_OK) return RDB_ERR_FORMAT;
    switch (t) {
    case RDB_TYPE_HASH_ZIPMAP: rc = walkZipmap(d, blob.p, blob.len); break;
    case RDB_TYPE_LIST_ZIPLIST: rc = walkZiplist(d, blob.p, blob.len, 1, onElementEntry); break;
    case RDB_TYPE_SET_INTSET: rc = walkIntset(d, blob.p, blob.len); break;
    case RDB_TYPE_ZSET_ZIPLIST: rc = walkZiplist(d, blob.p, blob.len, 2, onScoredEntries); break;
    case RDB_TYPE_HASH_ZIPLIST: rc = walkZiplist(d, blob.p, blob.len, 2, onFieldEntries); break;
    case RDB_TYPE_ZSET_LISTPACK: rc = walkListpack(d, blob.p, blob.len, 2, onScoredEntries); break;
    case RDB_TYPE_HASH_LISTPACK: rc = walkListpack(d, blob.p, blob.len, 2, onFieldEntries); break;
    default: rc = RDB_ERR_FORMAT;
    }
    strFree(&blob);
    return rc;
}

/* ---- streams ---- */

static int idCompare(const rdbStreamID *a, const rdbStreamID *b) {
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

static rdbStreamID idFromBigEndian(const unsigned char *b) {
    rdbStreamID id = {be(b, 8), be(b + 8, 8)};
    return id;
}

/* What decoding a stream keeps: the last entry seen, counts. */
typedef struct streamState {
    int any;               /* an entry (live or deleted) was seen */
    rdbStreamID last;      /* the last one */
    int any_live;
    rdbStreamID first_live;
    uint64_t live;
} streamState;

/* Walking the elements of one node's listpack. */
typedef struct lpCursor {
    const unsigned char *lp;
    size_t size, pos;
    uint64_t n;            /* elements read */
} lpCursor;

static int lpcNext(lpCursor *c, entry *e) {
    if (c->pos >= c->size - 1) return RDB_ERR_FORMAT; /* at the EOF byte */
    c->n++;
    return lpNextEntry(c->lp, c->size, &c->pos, e);
}

/* An element that must be an integer (as Redis's lpGetIntegerIfValid: a
 * string holding one counts). */
static int lpcInteger(lpCursor *c, int64_t *v) {
    entry e;
    long long ll;
    if (lpcNext(c, &e) != RDB_OK) return RDB_ERR_FORMAT;
    if (!e.p) {
        *v = e.v;
        return RDB_OK;
    }
    if (!string2ll((const char *)e.p, e.len, &ll)) return RDB_ERR_FORMAT;
    *v = ll;
    return RDB_OK;
}

/* A count of elements that follow, each taking at least 2 bytes. */
static int lpcCount(lpCursor *c, int64_t *v) {
    if (lpcInteger(c, v) != RDB_OK || *v < 0 || (uint64_t)*v > (c->size - 1 - c->pos) / 2) return RDB_ERR_FORMAT;
    return RDB_OK;
}

/* The strings of an entry (or of the master entry) as text: integers are
 * written into num. Arrays grow with what was actually read. */
typedef struct strList {
    const char **p;
    size_t *len;
    char (*num)[24];
    size_t n, cap;
} strList;

static void slFree(strList *l) {
    zfree(l->p);
    zfree(l->len);
    zfree(l->num);
    memset(l, 0, sizeof(*l));
}

static int slReadString(strList *l, lpCursor *c) {
    entry e;
    if (lpcNext(c, &e) != RDB_OK) return RDB_ERR_FORMAT;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->p = zrealloc(l->p, sizeof(*l->p) * l->cap);
        l->len = zrealloc(l->len, sizeof(*l->len) * l->cap);
        l->num = zrealloc(l->num, sizeof(*l->num) * l->cap);
    }
    if (e.p) {
        l->p[l->n] = (const char *)e.p;
        l->len[l->n] = e.len;
    } else {
        l->p[l->n] = NULL; /* points into num: set once the list is complete */
        l->len[l->n] = (size_t)ll2string(l->num[l->n], sizeof(l->num[l->n]), e.v);
    }
    l->n++;
    return RDB_OK;
}

/* Point the integers' strings at their text (num moves as the list grows). */
static void slFixNumbers(strList *l, const char **out) {
    for (size_t i = 0; i < l->n; i++) out[i] = l->p[i] ? l->p[i] : l->num[i];
}

/* One entry of a node: check it, and send it to the sink unless deleted. */
static int decodeStreamEntry(decoder *d, lpCursor *c, const rdbStreamID *master, strList *mf, const char **mfp,
                             streamState *st, uint64_t *deleted) {
    int64_t flags, msdiff, seqdiff, nfields, lp_count;
    int rc = RDB_ERR_FORMAT;
    if (lpcInteger(c, &flags) != RDB_OK || flags < 0 || flags > (STREAM_FLAG_DELETED | STREAM_FLAG_SAMEFIELDS))
        return RDB_ERR_FORMAT;
    if (lpcInteger(c, &msdiff) != RDB_OK || lpcInteger(c, &seqdiff) != RDB_OK) return RDB_ERR_FORMAT;
    rdbStreamID id = {master->ms + (uint64_t)msdiff, master->seq + (uint64_t)seqdiff};
    if (st->any && idCompare(&id, &st->last) <= 0) return RDB_ERR_FORMAT; /* IDs ascend */
    st->any = 1;
    st->last = id;
    int same = (flags & STREAM_FLAG_SAMEFIELDS) != 0;
    strList l = {0};
    if (same) {
        nfields = (int64_t)mf->n;
    } else {
        if (lpcCount(c, &nfields) != RDB_OK) return RDB_ERR_FORMAT;
    }
    if (nfields == 0) return RDB_ERR_FORMAT; /* XADD takes at least one field */
    for (int64_t i = 0; i < nfields; i++) {
        if (!same && slReadString(&l, c) != RDB_OK) goto done;
        if (slReadString(&l, c) != RDB_OK) goto done;
    }
    if (lpcInteger(c, &lp_count) != RDB_OK || lp_count != nfields + 3 + (same ? 0 : nfields + 1)) goto done;
    if (flags & STREAM_FLAG_DELETED) {
        (*deleted)++;
        rc = RDB_OK;
        goto done;
    }
    if (!st->any_live) st->first_live = id;
    st->any_live = 1;
    st->live++;
    rc = RDB_OK;
    if (d->sink->streamEntry) {
        const char **fv = zmalloc(sizeof(char *) * 2 * (size_t)nfields);
        size_t *fvlen = zmalloc(sizeof(size_t) * 2 * (size_t)nfields);
        const char **vals = zmalloc(sizeof(char *) * l.n);
        slFixNumbers(&l, vals);
        for (int64_t i = 0; i < nfields; i++) {
            if (same) {
                fv[2 * i] = mfp[i];
                fvlen[2 * i] = mf->len[i];
                fv[2 * i + 1] = vals[i];
                fvlen[2 * i + 1] = l.len[i];
            } else {
                fv[2 * i] = vals[2 * i];
                fvlen[2 * i] = l.len[2 * i];
                fv[2 * i + 1] = vals[2 * i + 1];
                fvlen[2 * i + 1] = l.len[2 * i + 1];
            }
        }
        rc = d->sink->streamEntry(d->ud, &id, (size_t)nfields, fv, fvlen);
        zfree(fv);
        zfree(fvlen);
        zfree(vals);
    }
done:
    slFree(&l);
    return rc;
}

/* A node: its key (the master ID) and its listpack. */
static int decodeStreamNode(decoder *d, const rdbStr *key, const rdbStr *blob, streamState *st) {
    if (key->len != 16) return RDB_ERR_FORMAT;
    const unsigned char *lp = blob->p;
    size_t size = blob->len;
    if (size < 7 || le(lp, 4) != size || lp[size - 1] != 0xff) return RDB_ERR_FORMAT;
    rdbStreamID master = idFromBigEndian(key->p);
    lpCursor c = {lp, size, LP_HEADER_SIZE, 0};
    int64_t count, deleted, nmaster, zero;
    strList mf = {0};
    const char **mfp = NULL;
    uint64_t seen_deleted = 0, live_before = st->live;
    int rc = RDB_ERR_FORMAT;
    if (lpcInteger(&c, &count) != RDB_OK || count < 0 || lpcInteger(&c, &deleted) != RDB_OK || deleted < 0 ||
        lpcCount(&c, &nmaster) != RDB_OK)
        return RDB_ERR_FORMAT;
    for (int64_t i = 0; i < nmaster; i++)
        if (slReadString(&mf, &c) != RDB_OK) goto done;
    if (lpcInteger(&c, &zero) != RDB_OK || zero != 0) goto done;
    /* every entry takes at least 4 elements of 2 bytes */
    if ((uint64_t)count + (uint64_t)deleted > (size - 1 - c.pos) / 8) goto done;
    mfp = zmalloc(sizeof(char *) * (mf.n ? mf.n : 1));
    slFixNumbers(&mf, mfp);
    rc = RDB_OK;
    for (int64_t i = 0; i < count + deleted && rc == RDB_OK; i++)
        rc = decodeStreamEntry(d, &c, &master, &mf, mfp, st, &seen_deleted);
    if (rc != RDB_OK) goto done;
    rc = RDB_ERR_FORMAT;
    if (c.pos != size - 1) goto done; /* elements after the last entry */
    uint64_t declared = le(lp + 4, 2);
    if (declared != 65535 && declared != c.n) goto done;
    if (seen_deleted != (uint64_t)deleted || st->live - live_before != (uint64_t)count) goto done;
    rc = RDB_OK;
done:
    zfree(mfp);
    slFree(&mf);
    return rc;
}

/* A group's PEL entry, as the global PEL holds it. */
typedef struct pelItem {
    rdbStreamID id;
    long long delivery_time;
    uint64_t delivery_count;
    int owned;
} pelItem;

static int readStreamID(rdbReader *r, rdbStreamID *id) {
    uint64_t ms, seq;
    if (readLen(r, &ms, NULL) != RDB_OK || readLen(r, &seq, NULL) != RDB_OK) return RDB_ERR_FORMAT;
    id->ms = ms;
    id->seq = seq;
    return RDB_OK;
}

static int readRawStreamID(rdbReader *r, rdbStreamID *id) {
    const unsigned char *b;
    if (readBytes(r, 16, &b) != RDB_OK) return RDB_ERR_FORMAT;
    *id = idFromBigEndian(b);
    return RDB_OK;
}

static int readMillisecondTime(rdbReader *r, long long *t) {
    const unsigned char *b;
    if (readBytes(r, 8, &b) != RDB_OK) return RDB_ERR_FORMAT;
    *t = (long long)le(b, 8);
    return RDB_OK;
}

/* A count of items each taking at least min_bytes (0 allowed). */
static int readItemCount(rdbReader *r, uint64_t min_bytes, uint64_t *count) {
    if (readLen(r, count, NULL) != RDB_OK || *count > remaining(r) / min_bytes) return RDB_ERR_FORMAT;
    return RDB_OK;
}

static pelItem *pelFind(pelItem *pel, uint64_t n, const rdbStreamID *id) {
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = idCompare(&pel[mid].id, id);
        if (c == 0) return &pel[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* A group's consumers, each with the IDs of the PEL entries it owns. */
static int decodeStreamConsumers(rdbReader *r, decoder *d, pelItem *pel, uint64_t npel) {
    uint64_t nconsumers, owned = 0;
    if (readItemCount(r, 10, &nconsumers) != RDB_OK) return RDB_ERR_FORMAT;
    for (uint64_t i = 0; i < nconsumers; i++) {
        rdbStr name;
        long long seen;
        uint64_t n;
        if (readString(r, &name) != RDB_OK) return RDB_ERR_FORMAT;
        int rc = readMillisecondTime(r, &seen);
        if (rc == RDB_OK && d->sink->streamConsumer)
            rc = d->sink->streamConsumer(d->ud, (const char *)name.p, name.len, seen);
        strFree(&name);
        if (rc != RDB_OK) return rc;
        if (readItemCount(r, 16, &n) != RDB_OK) return RDB_ERR_FORMAT;
        for (uint64_t j = 0; j < n; j++) {
            rdbStreamID id;
            if (readRawStreamID(r, &id) != RDB_OK) return RDB_ERR_FORMAT;
            pelItem *it = pelFind(pel, npel, &id);
            if (!it || it->owned) return RDB_ERR_FORMAT; /* not pending, or owned twice */
            it->owned = 1;
            owned++;
            if (d->sink->streamPending &&
                (rc = d->sink->streamPending(d->ud, &id, it->delivery_time, it->delivery_count)) != RDB_OK)
                return rc;
        }
    }
    return owned == npel ? RDB_OK : RDB_ERR_FORMAT; /* a pending entry without a consumer */
}

/* Redis's streamEstimateDistanceFromFirstEverEntry() for a stream of
 * RDB_TYPE_STREAM_LISTPACKS, where nothing was ever deleted. */
static long long estimateEntriesRead(const rdbStreamMeta *m, const rdbStreamID *id) {
    if (m->entries_added == 0) return 0;
    int cmp_last = idCompare(id, &m->last_id);
    if (m->length == 0 && cmp_last < 1) return (long long)m->entries_added;
    if (cmp_last == 0) return (long long)m->entries_added;
    if (cmp_last > 0) return RDB_STREAM_ENTRIES_READ_UNKNOWN;
    int cmp_first = idCompare(id, &m->first_id);
    if (cmp_first < 0) return (long long)(m->entries_added - m->length);
    if (cmp_first == 0) return (long long)(m->entries_added - m->length + 1);
    return RDB_STREAM_ENTRIES_READ_UNKNOWN;
}

static int decodeStreamGroup(rdbReader *r, decoder *d, int t, const rdbStreamMeta *m) {
    rdbStr name;
    rdbStreamID last_id;
    long long entries_read;
    uint64_t npel;
    pelItem *pel = NULL;
    if (readString(r, &name) != RDB_OK) return RDB_ERR_FORMAT;
    int rc = readStreamID(r, &last_id);
    if (rc == RDB_OK && t == RDB_TYPE_STREAM_LISTPACKS_2) {
        uint64_t v;
        rc = readLen(r, &v, NULL);
        entries_read = (long long)v;
        if (rc == RDB_OK && entries_read < RDB_STREAM_ENTRIES_READ_UNKNOWN) rc = RDB_ERR_FORMAT;
    } else {
        entries_read = estimateEntriesRead(m, &last_id);
    }
    if (rc == RDB_OK && d->sink->streamGroup)
        rc = d->sink->streamGroup(d->ud, (const char *)name.p, name.len, &last_id, entries_read);
    strFree(&name);
    if (rc != RDB_OK) return rc;
    if (readItemCount(r, 25, &npel) != RDB_OK) return RDB_ERR_FORMAT;
    if (npel) pel = zmalloc(sizeof(pelItem) * npel);
    for (uint64_t i = 0; i < npel && rc == RDB_OK; i++) {
        pelItem *it = &pel[i];
        it->owned = 0;
        if (readRawStreamID(r, &it->id) != RDB_OK || readMillisecondTime(r, &it->delivery_time) != RDB_OK ||
            readLen(r, &it->delivery_count, NULL) != RDB_OK)
            rc = RDB_ERR_FORMAT;
        else if (i > 0 && idCompare(&pel[i - 1].id, &it->id) >= 0)
            rc = RDB_ERR_FORMAT; /* in ID order, no duplicates */
        else if (it->delivery_count > (uint64_t)LLONG_MAX)
            rc = RDB_ERR_FORMAT;
    }
    if (rc == RDB_OK) rc = decodeStreamConsumers(r, d, pel, npel);
    zfree(pel);
    return rc;
}

/* The nodes, what follows them, and the consumer groups. */
static int decodeStream(rdbReader *r, decoder *d, int t) {
    uint64_t nodes, ngroups;
    streamState st = {0};
    int rc;
    int have_key = 0;
    unsigned char prev_key[16];
    /* a node takes at least a 17-byte key and an 8-byte listpack */
    if (readItemCount(r, 25, &nodes) != RDB_OK) return RDB_ERR_FORMAT;
    for (uint64_t i = 0; i < nodes; i++) {
        rdbStr key, blob;
        if (readString(r, &key) != RDB_OK) return RDB_ERR_FORMAT;
        if (readString(r, &blob) != RDB_OK) {
            strFree(&key);
            return RDB_ERR_FORMAT;
        }
        rc = RDB_OK;
        if (key.len == 16) { /* keys ascend, as a radix tree holds them */
            if (have_key && memcmp(prev_key, key.p, 16) >= 0) rc = RDB_ERR_FORMAT;
            memcpy(prev_key, key.p, 16);
            have_key = 1;
        }
        if (rc == RDB_OK) rc = decodeStreamNode(d, &key, &blob, &st);
        strFree(&key);
        strFree(&blob);
        if (rc != RDB_OK) return rc;
    }
    rdbStreamMeta m = {0};
    if (readLen(r, &m.length, NULL) != RDB_OK || readStreamID(r, &m.last_id) != RDB_OK) return RDB_ERR_FORMAT;
    if (t == RDB_TYPE_STREAM_LISTPACKS_2) {
        if (readStreamID(r, &m.first_id) != RDB_OK || readStreamID(r, &m.max_deleted) != RDB_OK ||
            readLen(r, &m.entries_added, NULL) != RDB_OK)
            return RDB_ERR_FORMAT;
    } else {
        m.entries_added = m.length;
        if (st.any_live) m.first_id = st.first_live;
    }
    if (m.length != st.live || m.entries_added < m.length) return RDB_ERR_FORMAT;
    if (st.any && idCompare(&st.last, &m.last_id) > 0) return RDB_ERR_FORMAT; /* an entry past the last ID */
    if (d->sink->streamMeta && (rc = d->sink->streamMeta(d->ud, &m)) != RDB_OK) return rc;
    /* a group takes at least: a name, 2 ID lengths, a PEL count, a consumer count */
    if (readItemCount(r, 5, &ngroups) != RDB_OK) return RDB_ERR_FORMAT;
    for (uint64_t i = 0; i < ngroups; i++)
        if ((rc = decodeStreamGroup(r, d, t, &m)) != RDB_OK) return rc;
    return RDB_OK;
}

int rdbDecodeObject(const unsigned char *p, size_t len, const rdbSink *sink, void *ud, int *rdbtype) {
    size_t body = len >= FOOTER_LEN ? len - FOOTER_LEN : 0;
    if (rdbtype) *rdbtype = body ? p[0] : -1;
    if (body == 0) return RDB_ERR_FORMAT;
    return rdbDecodeValue(p[0], p + 1, body - 1, sink, ud, NULL);
}

int rdbDecodeValue(int rdbtype, const unsigned char *p, size_t len, const rdbSink *sink, void *ud, size_t *used) {
    static const rdbSink none = {0};
    rdbReader r = {p, len, 0};
    decoder d = {sink ? sink : &none, ud, 0};
    int t = rdbtype;
    if (t == RDB_TYPE_MODULE || t == RDB_TYPE_MODULE_2) return RDB_ERR_UNSUPPORTED;
    int objtype = objTypeOf(t);
    if (objtype == OBJ_STREAM && d.sink->begin && !d.sink->streamMeta) return RDB_ERR_UNSUPPORTED;
    if (objtype == OBJ_NONE) return RDB_ERR_FORMAT;
    int rc = d.sink->begin ? d.sink->begin(ud, objtype) : RDB_OK;
    if (rc != RDB_OK) return rc;
    if (t <= RDB_TYPE_ZSET_2) rc = decodePlain(&r, &d, t);
    else if (t == RDB_TYPE_LIST_QUICKLIST || t == RDB_TYPE_LIST_QUICKLIST_2) rc = decodeQuicklist(&r, &d, t);
    else if (objtype == OBJ_STREAM) rc = decodeStream(&r, &d, t); /* streams may be empty */
    else rc = decodeBlob(&r, &d, t);
    if (rc == RDB_OK && objtype == OBJ_STREAM) {
        if (used) *used = r.pos;
        return rc;
    }
    if (rc == RDB_OK && objtype != OBJ_STRING && d.members == 0) rc = RDB_ERR_FORMAT; /* an empty key */
    if (used) *used = r.pos;
    return rc;
}

int rdbDecodeLen(const unsigned char *p, size_t len, uint64_t *out, size_t *used) {
    rdbReader r = {p, len, 0};
    if (readLen(&r, out, NULL) != RDB_OK) return RDB_ERR_FORMAT;
    *used = r.pos;
    return RDB_OK;
}

int rdbDecodeString(const unsigned char *p, size_t len, sds *out, size_t *used) {
    rdbReader r = {p, len, 0};
    rdbStr s;
    if (readString(&r, &s) != RDB_OK) return RDB_ERR_FORMAT;
    *out = sdsnewlen(s.p, s.len);
    strFree(&s);
    *used = r.pos;
    return RDB_OK;
}

/* ------------------------------------------------------------------------ */
/* Function libraries                                                        */
/* ------------------------------------------------------------------------ */

sds rdbAppendFunction(sds s, const char *code, size_t len) {
    s = rdbAppendType(s, RDB_OPCODE_FUNCTION2);
    return rdbAppendString(s, code, len);
}

/* The strings of an rc record: name, engine, a description flag (and the
 * description), code; made into one library code as Redis does. */
static int decodeFunctionRc(const unsigned char *p, size_t len, sds *code, size_t *used) {
    sds name = NULL, engine = NULL, desc = NULL, body = NULL;
    size_t pos = 0, n;
    uint64_t has_desc = 0;
    int rc = RDB_ERR_FORMAT;
    if (rdbDecodeString(p, len, &name, &n) != RDB_OK) goto done;
    pos += n;
    if (rdbDecodeString(p + pos, len - pos, &engine, &n) != RDB_OK) goto done;
    pos += n;
    if (rdbDecodeLen(p + pos, len - pos, &has_desc, &n) != RDB_OK) goto done;
    pos += n;
    if (has_desc) {
        if (rdbDecodeString(p + pos, len - pos, &desc, &n) != RDB_OK) goto done;
        pos += n;
    }
    if (rdbDecodeString(p + pos, len - pos, &body, &n) != RDB_OK) goto done;
    pos += n;
    *code = sdscatprintf(sdsempty(), "#!%s name=%s\n", engine, name);
    *code = sdscatlen(*code, body, sdslen(body));
    *used = pos;
    rc = RDB_OK;
done:
    sdsfree(name);
    sdsfree(engine);
    sdsfree(desc);
    sdsfree(body);
    return rc;
}

int rdbDecodeFunction(int type, const unsigned char *p, size_t len, sds *code, size_t *used) {
    *code = NULL;
    if (type == RDB_OPCODE_FUNCTION) return decodeFunctionRc(p, len, code, used);
    if (type != RDB_OPCODE_FUNCTION2) return RDB_ERR_FORMAT;
    return rdbDecodeString(p, len, code, used) == RDB_OK ? RDB_OK : RDB_ERR_FORMAT;
}
