/* rdb.h - Redis's RDB serialization of one value, as DUMP and RESTORE
 * exchange it (a "DUMP payload"), written and read by pure functions over
 * buffers (no I/O, no server state), so dredis and a real Redis 7.0 can
 * move keys between them in both directions.
 *
 * A payload is: the RDB type byte, the value in that type's encoding, the
 * RDB version (2 bytes, little endian) and the CRC64 (Redis's variant, 8
 * bytes, little endian) of everything before it.
 *
 * Reading accepts every encoding Redis 7.0 writes or loads for strings,
 * lists, sets, sorted sets, hashes and streams (see rdbDecodeObject);
 * writing emits the plain encodings and, for streams, the listpack nodes
 * Redis 7.0's XADD builds (see dump.c). Module values are refused. */
#ifndef DREDIS_RDB_H
#define DREDIS_RDB_H
#include <stddef.h>
#include <stdint.h>
#include "sds.h"

/* The RDB version of Redis 7.0: payloads of a later version are refused,
 * as Redis 7.0 refuses them; the ones written carry this one. */
#define RDB_VERSION 10

/* Object types (the first byte of a payload) */
#define RDB_TYPE_STRING 0
#define RDB_TYPE_LIST 1
#define RDB_TYPE_SET 2
#define RDB_TYPE_ZSET 3   /* scores as text */
#define RDB_TYPE_HASH 4
#define RDB_TYPE_ZSET_2 5 /* scores as binary doubles */
#define RDB_TYPE_MODULE 6
#define RDB_TYPE_MODULE_2 7
#define RDB_TYPE_HASH_ZIPMAP 9
#define RDB_TYPE_LIST_ZIPLIST 10
#define RDB_TYPE_SET_INTSET 11
#define RDB_TYPE_ZSET_ZIPLIST 12
#define RDB_TYPE_HASH_ZIPLIST 13
#define RDB_TYPE_LIST_QUICKLIST 14
#define RDB_TYPE_STREAM_LISTPACKS 15
#define RDB_TYPE_HASH_LISTPACK 16
#define RDB_TYPE_ZSET_LISTPACK 17
#define RDB_TYPE_LIST_QUICKLIST_2 18
#define RDB_TYPE_STREAM_LISTPACKS_2 19

/* Quicklist 2 node containers */
#define RDB_QUICKLIST_PLAIN 1
#define RDB_QUICKLIST_PACKED 2

/* The longest string a payload may decode to (Redis's proto-max-bulk-len
 * default and string size limit); longer ones are malformed. */
#define RDB_MAX_STRING (512ULL * 1024 * 1024)

/* Results */
#define RDB_OK 0
#define RDB_ERR_CHECKSUM 1    /* shorter than a footer, a later RDB version, or a wrong CRC */
#define RDB_ERR_FORMAT 2      /* malformed (or empty, or duplicate members) */
#define RDB_ERR_UNSUPPORTED 3 /* a well-known type dredis cannot hold (modules), or a stream
                               * given to a sink without stream callbacks */
#define RDB_ERR_SINK 4        /* the sink failed; errno tells why */

/* ---- checksums and compression ---- */

/* Redis's crc64: the Jones polynomial 0xad93d23594c935a9, reflected, initial
 * value crc (0 to start), no final xor. crc64("123456789") = 0xe9c6d914c4b8d9ca. */
uint64_t rdbCrc64(uint64_t crc, const void *p, size_t len);
/* LZF decompression (the format of liblzf, which Redis uses): returns the
 * number of bytes written to out, 0 when in is malformed or would not fit
 * in outlen bytes. */
size_t rdbLzfDecompress(const unsigned char *in, size_t inlen, unsigned char *out, size_t outlen);

/* ---- writing ---- */

sds rdbAppendType(sds s, int type);
/* A length: 6, 14, 32 or 64 bits, as Redis's rdbSaveLen. */
sds rdbAppendLen(sds s, uint64_t len);
/* A string: integer-encoded (RDB_ENC_INT8/16/32) when it is the canonical
 * decimal form of a 32-bit integer, as Redis does, else length and bytes
 * (never compressed). */
sds rdbAppendString(sds s, const char *p, size_t len);
sds rdbAppendBinaryDouble(sds s, double d);
/* Append the RDB version and the CRC64 of all of s: s becomes a payload. */
sds rdbAppendFooter(sds s);

/* ---- streams ---- */

/* A stream entry ID */
typedef struct rdbStreamID {
    uint64_t ms, seq;
} rdbStreamID;

/* What a stream payload says of the stream besides its entries. */
typedef struct rdbStreamMeta {
    uint64_t length;         /* live entries (XLEN) */
    rdbStreamID last_id;     /* last-generated-id */
    rdbStreamID first_id;    /* recorded-first-entry-id: the first live entry, 0-0 when none */
    rdbStreamID max_deleted; /* max-deleted-entry-id */
    uint64_t entries_added;  /* entries-added (>= length) */
} rdbStreamMeta;

/* A group's entries_read when it is not known (XINFO shows nil) */
#define RDB_STREAM_ENTRIES_READ_UNKNOWN (-1)

/* The value of a stream (RDB_TYPE_STREAM_LISTPACKS_2) is: the number of
 * nodes, the nodes, rdbAppendStreamMeta(), the number of groups and each
 * group. Nodes are packed as Redis 7.0's XADD packs them with its default
 * stream-node-max-entries (100) and stream-node-max-bytes (4096), so Redis
 * goes on appending to them as to its own: rdbStreamNodesAdd() every entry
 * in ID order, then rdbStreamNodesEnd(). With out NULL nothing is written
 * and only the nodes are counted (a first pass, since their number comes
 * first): memory is one node either way. */
typedef struct rdbStreamNodes {
    sds *out;             /* finished nodes are appended to *out; NULL: only counted */
    uint64_t nodes;       /* nodes finished so far */
    uint64_t count;       /* entries in the node being built (0: none) */
    rdbStreamID master;   /* its master ID (its first entry's) */
    sds *fields;          /* its master fields */
    size_t nfields;
    sds entries;          /* its entries, listpack-encoded */
    uint64_t elements;    /* listpack elements in entries */
} rdbStreamNodes;

void rdbStreamNodesInit(rdbStreamNodes *w, sds *out);
/* fv holds 2 * nfields strings: field, value, field, value... */
void rdbStreamNodesAdd(rdbStreamNodes *w, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen);
/* Finish the last node and free what w holds (w->nodes stays). */
void rdbStreamNodesEnd(rdbStreamNodes *w);
/* length, last ID, first ID, max deleted ID, entries added */
sds rdbAppendStreamMeta(sds s, const rdbStreamMeta *m);
/* An ID as PELs hold it: 128 bits, big endian */
sds rdbAppendStreamID(sds s, const rdbStreamID *id);
/* A unix time in ms: 8 bytes, little endian (delivery and seen times) */
sds rdbAppendMillisecondTime(sds s, long long ms);
/* A group's head: its name, last delivered ID and entries read (-1 unknown);
 * then come its PEL and its consumers, each a count and that many items:
 * a PEL item is rdbAppendStreamID(), rdbAppendMillisecondTime() (delivery)
 * and rdbAppendLen() (delivery count); a consumer is its name (as
 * rdbAppendString()), rdbAppendMillisecondTime() (seen) and its own PEL,
 * a count and that many rdbAppendStreamID(). */
sds rdbAppendStreamGroup(sds s, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read);

/* ---- reading ---- */

/* Check the footer: RDB_OK, or RDB_ERR_CHECKSUM when p is shorter than a
 * footer, of a version later than RDB_VERSION, or its CRC is wrong. */
int rdbVerifyPayload(const unsigned char *p, size_t len);

/* Where rdbDecodeObject sends what it reads. Each callback returns RDB_OK
 * to go on, anything else to stop the decoding with that result (e.g.
 * RDB_ERR_FORMAT for a duplicate member, RDB_ERR_SINK for an I/O error).
 * A NULL callback is skipped: with all NULL the payload is only checked.
 * Members are passed as (pointer, length) valid for the call only; integer
 * encoded members arrive as their decimal text. */
typedef struct rdbSink {
    /* once, before any member: the dredis type (OBJ_STRING, OBJ_LIST,
     * OBJ_SET, OBJ_ZSET, OBJ_HASH or OBJ_STREAM of store.h) */
    int (*begin)(void *ud, int objtype);
    int (*string)(void *ud, const char *p, size_t len);   /* a string's value */
    int (*element)(void *ud, const char *p, size_t len);  /* a list element (in order) or set member */
    int (*field)(void *ud, const char *f, size_t flen, const char *v, size_t vlen); /* a hash field */
    int (*scored)(void *ud, const char *m, size_t mlen, double score);             /* a sorted set member */

    /* Streams, in this order: streamEntry for every live entry (IDs
     * strictly ascending, deleted entries skipped; fv holds 2 * nfields
     * strings, field, value, ..., nfields >= 1); streamMeta once; then per
     * consumer group: streamGroup, and per consumer of it streamConsumer
     * followed by streamPending for each pending entry it owns (delivery
     * time in unix ms and delivery count). Every entry of the group's PEL
     * comes exactly once, with its owner: the decoder checks that the
     * global PEL and the consumers' PELs agree. For RDB_TYPE_STREAM_LISTPACKS
     * (Redis 5/6), which has no such fields, the decoder supplies them as
     * Redis 7.0 does when loading one: entries_added = length, max_deleted
     * 0-0, first_id the first entry's, and each group's entries_read
     * estimated from its last ID (or RDB_STREAM_ENTRIES_READ_UNKNOWN).
     * A sink with a begin callback but no streamMeta gets
     * RDB_ERR_UNSUPPORTED for a stream before begin is called, so sinks
     * written before streams were read keep refusing them. */
    int (*streamEntry)(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen);
    int (*streamMeta)(void *ud, const rdbStreamMeta *meta);
    int (*streamGroup)(void *ud, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read);
    int (*streamConsumer)(void *ud, const char *name, size_t len, long long seen_time);
    int (*streamPending)(void *ud, const rdbStreamID *id, long long delivery_time, uint64_t delivery_count);
} rdbSink;

/* Decode one value from a payload whose footer was checked (p and len
 * cover the whole payload, footer included; nothing is read from the
 * footer). Every length is checked against the bytes there are before
 * anything is allocated; a collection without members (streams may be
 * empty), a NaN score or an entry count that disagrees with the entries is
 * RDB_ERR_FORMAT; a module value is RDB_ERR_UNSUPPORTED. Stream listpacks
 * are checked as Redis's deep sanitization checks them, and more: IDs
 * strictly ascending and none above the last ID, counts that agree with
 * the entries, PELs in ID order and owned by exactly one consumer. *rdbtype (when given) gets the
 * type byte (-1 when there is none). Bytes left over after the value are
 * ignored, as Redis ignores them. */
int rdbDecodeObject(const unsigned char *p, size_t len, const rdbSink *sink, void *ud, int *rdbtype);

/* The same for a value whose type byte was read apart (a whole RDB file
 * has the key between the two): p and len cover the bytes that may hold
 * the value, nothing more; *used (when given) gets the number it took. */
int rdbDecodeValue(int rdbtype, const unsigned char *p, size_t len, const rdbSink *sink, void *ud, size_t *used);
/* A length or a string (in any string encoding) at p, as the RDB file
 * format has them between values: RDB_OK with *used set, or
 * RDB_ERR_FORMAT when len bytes do not hold one. */
int rdbDecodeLen(const unsigned char *p, size_t len, uint64_t *out, size_t *used);
int rdbDecodeString(const unsigned char *p, size_t len, sds *out, size_t *used);

/* ---- function libraries (FUNCTION DUMP payloads, RDB files) ---- */

#define RDB_OPCODE_FUNCTION2 245 /* the library's code, one string */
#define RDB_OPCODE_FUNCTION 246  /* Redis 7.0-rc1/rc2: name, engine, [description], code */
/* Append a FUNCTION2 record of a library's code. */
sds rdbAppendFunction(sds s, const char *code, size_t len);
/* Decode the record of opcode type (already read) at p: *code gets the
 * library's code ("#!<engine> name=<name>" first, as Redis makes it of an
 * rc record), *used the bytes read. RDB_OK or RDB_ERR_FORMAT. */
int rdbDecodeFunction(int type, const unsigned char *p, size_t len, sds *code, size_t *used);

/* A name for an RDB type byte ("stream", "module", "hash-listpack", ...). */
const char *rdbTypeName(int rdbtype);

#endif
