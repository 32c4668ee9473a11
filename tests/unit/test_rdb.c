/* test_rdb.c - the RDB payload functions (rdb.c): Redis's crc64, LZF
 * decompression, the writer's exact bytes, the footer check, decoding of
 * real Redis 7.0 DUMP payloads and of hand-made ones in every older
 * encoding, malformed payloads, and random mutations (which must end in a
 * clean result, never a crash or a read out of bounds: run under ASan). */
#include "unit.h"
#include "rdb.h"
#include "store.h"
#include "sds.h"
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>

/* DUMP L */
static const char pl_L[] =
    "\x12\x01\x02\xc3\x40\x6a\x40\xad\x1f\xad\x00\x00\x00\x14\x00\x00\x01\x7f\x01\xc0\x80\x02\xdf\xff"
    "\x02\xd0\x00\x02\xcf\xff\x02\xf1\x00\x10\x03\xf1\x00\x80\x03\xf1\xff\x17\x7f\x03\xf2\x40\x9c\x00"
    "\x04\xf2\x00\x00\x80\x04\xf2\xff\xff\x7f\x04\xf3\x80\x96\x98\x00\x05\xf3\x20\x36\x03\x80\x05\xf3"
    "\xff\x20\x11\x06\x05\xf4\x00\xf2\x05\x2a\x01\x20\x10\x01\x09\xf4\x20\x04\x40\x00\x02\x80\x09\xf4"
    "\x20\x19\x40\x00\x06\x7f\x09\x80\x01\xe0\x46\x78\xe0\x3c\x00\x01\x48\xff\x0a\x00\x1c\x19\x36\x31"
    "\x50\x23\x07\xd8";
/* DUMP H */
static const char pl_H[] =
    "\x10\x27\x27\x00\x00\x00\x06\x00\x84\x6e\x61\x6d\x65\x05\x83\x41\x64\x61\x04\x81\x6e\x02\xdf\xf4"
    "\x02\x83\x62\x69\x67\x04\xf4\xcb\x04\xfb\x71\x1f\x01\x00\x00\x09\xff\x0a\x00\x32\xe8\x48\xce\x15"
    "\x57\x03\x8f";
/* DUMP Z */
static const char pl_Z[] =
    "\x11\x2b\x2b\x00\x00\x00\x0a\x00\x81\x64\x02\x84\x2d\x69\x6e\x66\x05\x81\x65\x02\xdf\xf9\x02\x81"
    "\x61\x02\x01\x01\x81\x62\x02\x83\x32\x2e\x35\x04\x81\x63\x02\x83\x69\x6e\x66\x04\xff\x0a\x00\x3f"
    "\xa8\x29\x9d\x57\xf3\x84\xe2";
/* DUMP S16 */
static const char pl_S16[] =
    "\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\xfe\xff\x01\x00\x2c\x01\x0a\x00\x5b\x0a\xa8\x62\xf7\x94"
    "\x60\x0a";
/* DUMP S64 */
static const char pl_S64[] =
    "\x0b\x18\x08\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xf2\x05\x2a\x01\x00"
    "\x00\x00\x0a\x00\x54\xf5\xa2\x6a\xe7\x07\xb5\xfc";
/* DUMP P */
static const char pl_P[] =
    "\x12\x03\x02\x0e\x0e\x00\x00\x00\x01\x00\x85\x73\x6d\x61\x6c\x6c\x06\xff\x01\x11\x74\x68\x69\x73"
    "\x20\x6f\x6e\x65\x20\x69\x73\x20\x6c\x61\x72\x67\x65\x02\x0a\x0a\x00\x00\x00\x01\x00\x81\x78\x02"
    "\xff\x0a\x00\xa2\xbf\x7f\x6c\x95\xf1\x4e\xf0";
/* DUMP s1 */
static const char pl_s1[] =
    "\x00\x05\x68\x65\x6c\x6c\x6f\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a";
/* DUMP s2 */
static const char pl_s2[] =
    "\x00\xc1\x39\x30\x0a\x00\x9d\x94\xea\x27\x93\xfc\x08\xb9";
/* DUMP s3 */
static const char pl_s3[] =
    "\x00\xc3\x09\x40\x64\x01\x61\x61\xe0\x57\x00\x01\x61\x61\x0a\x00\xe8\xa3\xb5\x07\xb0\x6d\xf2\x71";
/* made by tests/integration/rdb_build.py: zl_list */
static const char pl_zl_list[] =
    "\x0a\x40\x7e\x7e\x00\x00\x00\x34\x00\x00\x00\x0b\x00\x00\xf1\x02\xfd\x02\xfe\x0d\x03\xfe\xff\x03"
    "\xc0\x2c\x01\x04\xf0\x90\xee\xfe\x05\xd0\x80\x96\x98\x00\x06\xe0\x00\xf2\x05\x2a\x01\x00\x00\x00"
    "\x0a\x00\x02\x03\x61\x62\x63\x05\x40\x46\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a"
    "\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a"
    "\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a"
    "\x7a\x7a\x7a\x7a\x7a\x7a\x7a\x7a\xff\x0a\x00\xdb\x8a\xa5\xaa\x38\xa2\xfe\xb9";
/* made by tests/integration/rdb_build.py: zl_hash */
static const char pl_zl_hash[] =
    "\x0d\x18\x18\x00\x00\x00\x12\x00\x00\x00\x04\x00\x00\x01\x61\x03\xf2\x02\x01\x62\x03\x03\x78\x79"
    "\x7a\xff\x0a\x00\x29\x29\x98\x7d\x42\x77\x19\x3d";
/* made by tests/integration/rdb_build.py: zl_zset */
static const char pl_zl_zset[] =
    "\x0c\x21\x21\x00\x00\x00\x1b\x00\x00\x00\x06\x00\x00\x01\x63\x03\x04\x2d\x69\x6e\x66\x06\x01\x61"
    "\x03\xf2\x02\x01\x62\x03\x03\x32\x2e\x35\xff\x0a\x00\xb4\xf9\x0e\xe3\x24\x3a\x5a\xf5";
/* made by tests/integration/rdb_build.py: ql1 */
static const char pl_ql1[] =
    "\x0e\x03\x11\x11\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01\x61\x03\x01\x62\xff\x0b\x0b\x00\x00"
    "\x00\x0a\x00\x00\x00\x00\x00\xff\x0f\x0f\x00\x00\x00\x0c\x00\x00\x00\x02\x00\x00\xf2\x02\xf3\xff"
    "\x0a\x00\x5e\xff\x24\xae\xd6\x4b\x72\xa6";
/* made by tests/integration/rdb_build.py: zm */
static const char pl_zm[] =
    "\x09\x0e\x02\x01\x61\x01\x00\x31\x02\x62\x62\x02\x00\x78\x79\xff\x0a\x00\x7a\xbf\x3a\x44\x65\xdf"
    "\x42\x2d";
/* made by tests/integration/rdb_build.py: z1 */
static const char pl_z1[] =
    "\x03\x03\x01\x61\x03\x31\x2e\x35\x01\x62\xfe\x01\x63\x04\x2d\x32\x2e\x30\x0a\x00\xb9\x44\x10\x35"
    "\xba\x10\x54\x98";

/* DUMP s: XADD s 100-1..100-5 field value-i n i*100, XADD s 101-0 other x, XDEL s 100-2,
 * XGROUP CREATE s grp 0, XREADGROUP GROUP grp alice COUNT 2, XGROUP CREATECONSUMER s grp bob */
static const char pl_X[] =
    "\x13\x01\x10\x00\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00\x01\xc3\x40\x72\x40\x91"
    "\x16\x91\x00\x00\x00\x2b\x00\x05\x01\x01\x01\x02\x01\x85\x66\x69\x65\x6c\x64\x06\x81\x6e\x02\x00"
    "\x20\x0d\x00\x00\x20\x01\x0d\x87\x76\x61\x6c\x75\x65\x2d\x31\x08\x64\x01\x05\x01\x03\x20\x10\x00"
    "\x01\xc0\x12\x05\x32\x08\xc0\xc8\x02\x05\x60\x26\x00\x02\xc0\x13\x03\x33\x08\xc1\x2c\xa0\x13\x00"
    "\x03\xc0\x13\x03\x34\x08\xc1\x90\xa0\x13\x00\x04\xc0\x13\x03\x35\x08\xc1\xf4\x20\x13\x40\x4d\x11"
    "\xdf\xff\x02\x01\x01\x85\x6f\x74\x68\x65\x72\x06\x81\x78\x02\x06\x01\xff\x05\x40\x65\x00\x40\x64"
    "\x01\x40\x64\x02\x06\x01\x03\x67\x72\x70\x40\x64\x03\x81\xff\xff\xff\xff\xff\xff\xff\xff\x02\x00"
    "\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00\x01\xf1\x9e\xde\x4d\xa2\x01\x00\x00\x01"
    "\x00\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00\x03\xf1\x9e\xde\x4d\xa2\x01\x00\x00"
    "\x01\x02\x05\x61\x6c\x69\x63\x65\xf1\x9e\xde\x4d\xa2\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00"
    "\x64\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x64\x00\x00\x00\x00\x00\x00\x00"
    "\x03\x03\x62\x6f\x62\xf1\x9e\xde\x4d\xa2\x01\x00\x00\x00\x0a\x00\xb4\xb0\xe4\x11\xbd\xb9\x88\x72";
#define PL_X_TIME "1796602765041"

#define PL(x) (const unsigned char *)(x), sizeof(x) - 1

/* ---- a sink that writes a transcript ---- */

typedef struct transcript {
    sds s;
    int fail_after; /* > 0: the nth member fails (RDB_ERR_SINK) */
    int n;
} transcript;

static int tBegin(void *ud, int objtype) {
    transcript *t = ud;
    t->s = sdscatprintf(t->s, "type %d;", objtype);
    return RDB_OK;
}

static int tCount(transcript *t) { return t->fail_after > 0 && ++t->n >= t->fail_after ? RDB_ERR_SINK : RDB_OK; }

static int tString(void *ud, const char *p, size_t len) {
    transcript *t = ud;
    t->s = sdscat(t->s, "s=");
    t->s = sdscatlen(t->s, p, len);
    t->s = sdscat(t->s, ";");
    return RDB_OK;
}

static int tElement(void *ud, const char *p, size_t len) {
    transcript *t = ud;
    t->s = sdscatlen(t->s, p, len);
    t->s = sdscat(t->s, ";");
    return tCount(t);
}

static int tField(void *ud, const char *f, size_t flen, const char *v, size_t vlen) {
    transcript *t = ud;
    t->s = sdscatlen(t->s, f, flen);
    t->s = sdscat(t->s, "=");
    t->s = sdscatlen(t->s, v, vlen);
    t->s = sdscat(t->s, ";");
    return tCount(t);
}

static int tScored(void *ud, const char *m, size_t mlen, double score) {
    transcript *t = ud;
    t->s = sdscatlen(t->s, m, mlen);
    t->s = sdscatprintf(t->s, ":%.17g;", score);
    return tCount(t);
}

static sds tID(sds s, const rdbStreamID *id) { return sdscatprintf(s, "%llu-%llu", (unsigned long long)id->ms, (unsigned long long)id->seq); }

static int tStreamEntry(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    transcript *t = ud;
    t->s = tID(t->s, id);
    for (size_t i = 0; i < 2 * nfields; i++) {
        t->s = sdscat(t->s, i % 2 ? "=" : " ");
        t->s = sdscatlen(t->s, fv[i], fvlen[i]);
    }
    t->s = sdscat(t->s, ";");
    return tCount(t);
}

static int tStreamMeta(void *ud, const rdbStreamMeta *m) {
    transcript *t = ud;
    t->s = sdscatprintf(t->s, "len %llu last ", (unsigned long long)m->length);
    t->s = tID(t->s, &m->last_id);
    t->s = sdscat(t->s, " first ");
    t->s = tID(t->s, &m->first_id);
    t->s = sdscat(t->s, " maxdel ");
    t->s = tID(t->s, &m->max_deleted);
    t->s = sdscatprintf(t->s, " added %llu;", (unsigned long long)m->entries_added);
    return RDB_OK;
}

static int tStreamGroup(void *ud, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read) {
    transcript *t = ud;
    t->s = sdscat(t->s, "group ");
    t->s = sdscatlen(t->s, name, len);
    t->s = sdscat(t->s, " ");
    t->s = tID(t->s, last_id);
    t->s = sdscatprintf(t->s, " read %lld;", entries_read);
    return RDB_OK;
}

static int tStreamConsumer(void *ud, const char *name, size_t len, long long seen_time) {
    transcript *t = ud;
    t->s = sdscat(t->s, "consumer ");
    t->s = sdscatlen(t->s, name, len);
    t->s = sdscatprintf(t->s, " %lld;", seen_time);
    return RDB_OK;
}

static int tStreamPending(void *ud, const rdbStreamID *id, long long delivery_time, uint64_t count) {
    transcript *t = ud;
    t->s = sdscat(t->s, "pending ");
    t->s = tID(t->s, id);
    t->s = sdscatprintf(t->s, " %lld %llu;", delivery_time, (unsigned long long)count);
    return RDB_OK;
}

static const rdbSink tsink = {tBegin,       tString,     tElement,     tField,          tScored,
                              tStreamEntry, tStreamMeta, tStreamGroup, tStreamConsumer, tStreamPending};
/* a sink written before streams: no stream callbacks */
static const rdbSink tsinkOld = {tBegin, tString, tElement, tField, tScored};

/* Decode p (checking its footer first) into a transcript; NULL when either fails. */
static sds decode(const unsigned char *p, size_t len, int *rc) {
    transcript t = {sdsempty(), 0, 0};
    int r = rdbVerifyPayload(p, len);
    if (r == RDB_OK) r = rdbDecodeObject(p, len, &tsink, &t, NULL);
    if (rc) *rc = r;
    if (r != RDB_OK) {
        sdsfree(t.s);
        return NULL;
    }
    return t.s;
}

static void assertDecodes(const unsigned char *p, size_t len, const char *expect) {
    int rc;
    sds s = decode(p, len, &rc);
    ck_assert_msg(s != NULL, "decoding failed with %d (expected %s)", rc, expect);
    ck_assert_str_eq(s, expect);
    sdsfree(s);
}

/* ---- crc64 and LZF ---- */

START_TEST(test_crc64) {
    ck_assert(rdbCrc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    ck_assert(rdbCrc64(0, "", 0) == 0);
    /* incremental: the same as one call */
    uint64_t c = rdbCrc64(0, "1234", 4);
    ck_assert(rdbCrc64(c, "56789", 5) == 0xe9c6d914c4b8d9caULL);
}
END_TEST

START_TEST(test_lzf) {
    /* what Redis 7.0 wrote for SET s3 <100 times a> */
    const unsigned char in[] = {0x01, 'a', 'a', 0xe0, 0x57, 0x00, 0x01, 'a', 'a'};
    unsigned char out[100];
    ck_assert_uint_eq(rdbLzfDecompress(in, sizeof(in), out, sizeof(out)), 100);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(out[i], 'a');
    /* too small an output buffer */
    ck_assert_uint_eq(rdbLzfDecompress(in, sizeof(in), out, 99), 0);
    /* a literal run past the end of the input */
    const unsigned char trunc[] = {0x05, 'a', 'b'};
    ck_assert_uint_eq(rdbLzfDecompress(trunc, sizeof(trunc), out, sizeof(out)), 0);
    /* a back reference before the start of the output */
    const unsigned char before[] = {0x00, 'a', 0x20, 0x05};
    ck_assert_uint_eq(rdbLzfDecompress(before, sizeof(before), out, sizeof(out)), 0);
    /* a back reference cut short */
    const unsigned char cut[] = {0x00, 'a', 0xe0};
    ck_assert_uint_eq(rdbLzfDecompress(cut, sizeof(cut), out, sizeof(out)), 0);
    const unsigned char cut2[] = {0x00, 'a', 0x20};
    ck_assert_uint_eq(rdbLzfDecompress(cut2, sizeof(cut2), out, sizeof(out)), 0);
    /* literals only */
    const unsigned char lit[] = {0x02, 'x', 'y', 'z'};
    ck_assert_uint_eq(rdbLzfDecompress(lit, sizeof(lit), out, sizeof(out)), 3);
    ck_assert(memcmp(out, "xyz", 3) == 0);
}
END_TEST

/* ---- writing ---- */

static void assertBytes(sds s, const char *expect, size_t len) {
    ck_assert_uint_eq(sdslen(s), len);
    ck_assert(memcmp(s, expect, len) == 0);
    sdsfree(s);
}

START_TEST(test_append_len) {
    assertBytes(rdbAppendLen(sdsempty(), 0), "\x00", 1);
    assertBytes(rdbAppendLen(sdsempty(), 63), "\x3f", 1);
    assertBytes(rdbAppendLen(sdsempty(), 64), "\x40\x40", 2);
    assertBytes(rdbAppendLen(sdsempty(), 16383), "\x7f\xff", 2);
    assertBytes(rdbAppendLen(sdsempty(), 16384), "\x80\x00\x00\x40\x00", 5);
    assertBytes(rdbAppendLen(sdsempty(), 0xffffffffULL), "\x80\xff\xff\xff\xff", 5);
    assertBytes(rdbAppendLen(sdsempty(), 0x100000000ULL), "\x81\x00\x00\x00\x01\x00\x00\x00\x00", 9);
}
END_TEST

START_TEST(test_append_string) {
    assertBytes(rdbAppendString(sdsempty(), "hello", 5), "\x05hello", 6);
    assertBytes(rdbAppendString(sdsempty(), "", 0), "\x00", 1);
    assertBytes(rdbAppendString(sdsempty(), "0", 1), "\xc0\x00", 2);
    assertBytes(rdbAppendString(sdsempty(), "-1", 2), "\xc0\xff", 2);
    assertBytes(rdbAppendString(sdsempty(), "127", 3), "\xc0\x7f", 2);
    assertBytes(rdbAppendString(sdsempty(), "128", 3), "\xc1\x80\x00", 3);
    assertBytes(rdbAppendString(sdsempty(), "12345", 5), "\xc1\x39\x30", 3); /* as Redis wrote SET s2 12345 */
    assertBytes(rdbAppendString(sdsempty(), "-32768", 6), "\xc1\x00\x80", 3);
    assertBytes(rdbAppendString(sdsempty(), "32768", 5), "\xc2\x00\x80\x00\x00", 5);
    assertBytes(rdbAppendString(sdsempty(), "-2147483648", 11), "\xc2\x00\x00\x00\x80", 5);
    /* not the canonical text of a 32-bit integer: kept as bytes */
    assertBytes(rdbAppendString(sdsempty(), "2147483648", 10), "\x0a" "2147483648", 11);
    assertBytes(rdbAppendString(sdsempty(), "007", 3), "\x03" "007", 4);
    assertBytes(rdbAppendString(sdsempty(), "-0", 2), "\x02-0", 3);
    assertBytes(rdbAppendString(sdsempty(), "+1", 2), "\x02+1", 3);
    assertBytes(rdbAppendString(sdsempty(), " 1", 2), "\x02 1", 3);
    assertBytes(rdbAppendString(sdsempty(), "1\0", 2), "\x02" "1\0", 3);
}
END_TEST

START_TEST(test_writer_matches_redis) {
    /* SET s1 hello and SET s2 12345: byte for byte what Redis 7.0 dumps */
    sds p = rdbAppendFooter(rdbAppendString(rdbAppendType(sdsempty(), RDB_TYPE_STRING), "hello", 5));
    assertBytes(p, pl_s1, sizeof(pl_s1) - 1);
    p = rdbAppendFooter(rdbAppendString(rdbAppendType(sdsempty(), RDB_TYPE_STRING), "12345", 5));
    assertBytes(p, pl_s2, sizeof(pl_s2) - 1);
}
END_TEST

START_TEST(test_write_read_round_trip) {
    /* every plain type, with binary bytes, integers and a long member */
    sds big = sdsempty();
    for (int i = 0; i < 70000; i++) big = sdscatlen(big, i % 7 ? "x" : "\0", 1);
    sds p = rdbAppendType(sdsempty(), RDB_TYPE_HASH);
    p = rdbAppendLen(p, 3);
    p = rdbAppendString(p, "f", 1);
    p = rdbAppendString(p, "1", 1);
    p = rdbAppendString(p, "a\0b", 3);
    p = rdbAppendString(p, "-7", 2);
    p = rdbAppendString(p, "big", 3);
    p = rdbAppendString(p, big, sdslen(big));
    p = rdbAppendFooter(p);
    int rc;
    sds s = decode((unsigned char *)p, sdslen(p), &rc);
    ck_assert_ptr_nonnull(s);
    sds expect = sdscatlen(sdsnew("type 4;f=1;"), "a\0b=-7;big=", 11);
    expect = sdscatlen(expect, big, sdslen(big));
    expect = sdscat(expect, ";");
    ck_assert_uint_eq(sdslen(s), sdslen(expect));
    ck_assert(memcmp(s, expect, sdslen(s)) == 0);
    sdsfree(s);
    sdsfree(expect);
    sdsfree(p);
    sdsfree(big);

    p = rdbAppendType(sdsempty(), RDB_TYPE_ZSET_2);
    p = rdbAppendLen(p, 4);
    const double scores[] = {1.5, -INFINITY, INFINITY, 4.9406564584124654e-324};
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        p = rdbAppendString(p, names[i], 1);
        p = rdbAppendBinaryDouble(p, scores[i]);
    }
    p = rdbAppendFooter(p);
    assertDecodes((unsigned char *)p, sdslen(p), "type 3;a:1.5;b:-inf;c:inf;d:4.9406564584124654e-324;");
    sdsfree(p);

    p = rdbAppendType(sdsempty(), RDB_TYPE_LIST);
    p = rdbAppendLen(p, 3);
    p = rdbAppendString(p, "x", 1);
    p = rdbAppendString(p, "100000", 6);
    p = rdbAppendString(p, "", 0);
    p = rdbAppendFooter(p);
    assertDecodes((unsigned char *)p, sdslen(p), "type 1;x;100000;;");
    sdsfree(p);

    p = rdbAppendType(sdsempty(), RDB_TYPE_SET);
    p = rdbAppendLen(p, 2);
    p = rdbAppendString(p, "m", 1);
    p = rdbAppendString(p, "-5", 2);
    p = rdbAppendFooter(p);
    assertDecodes((unsigned char *)p, sdslen(p), "type 2;m;-5;");
    sdsfree(p);
}
END_TEST

/* ---- the footer ---- */

START_TEST(test_verify) {
    unsigned char buf[64];
    size_t n = sizeof(pl_s1) - 1;
    ck_assert_int_eq(rdbVerifyPayload(PL(pl_s1)), RDB_OK);
    memcpy(buf, pl_s1, n);
    buf[2] ^= 1; /* a changed byte */
    ck_assert_int_eq(rdbVerifyPayload(buf, n), RDB_ERR_CHECKSUM);
    memcpy(buf, pl_s1, n);
    buf[n - 1] ^= 0x80; /* a changed checksum */
    ck_assert_int_eq(rdbVerifyPayload(buf, n), RDB_ERR_CHECKSUM);
    ck_assert_int_eq(rdbVerifyPayload(buf, 9), RDB_ERR_CHECKSUM);
    ck_assert_int_eq(rdbVerifyPayload(buf, 0), RDB_ERR_CHECKSUM);
    /* a later version, even with a right checksum, and an earlier one */
    for (int version = 9; version <= 11; version++) {
        sds p = rdbAppendString(rdbAppendType(sdsempty(), RDB_TYPE_STRING), "v", 1);
        unsigned char v[2] = {(unsigned char)version, 0};
        p = sdscatlen(p, v, 2);
        uint64_t crc = rdbCrc64(0, p, sdslen(p));
        for (int i = 0; i < 8; i++) {
            unsigned char c = (unsigned char)(crc >> (8 * i));
            p = sdscatlen(p, &c, 1);
        }
        ck_assert_int_eq(rdbVerifyPayload((unsigned char *)p, sdslen(p)), version <= 10 ? RDB_OK : RDB_ERR_CHECKSUM);
        sdsfree(p);
    }
}
END_TEST

/* ---- what Redis 7.0 writes ---- */

START_TEST(test_decode_redis_strings) {
    assertDecodes(PL(pl_s1), "type 0;s=hello;");
    assertDecodes(PL(pl_s2), "type 0;s=12345;");
    sds expect = sdsnew("type 0;s=");
    for (int i = 0; i < 100; i++) expect = sdscat(expect, "a");
    expect = sdscat(expect, ";");
    assertDecodes(PL(pl_s3), expect); /* LZF */
    sdsfree(expect);
}
END_TEST

START_TEST(test_decode_redis_collections) {
    /* a quicklist of one LZF-compressed listpack holding integers of every width */
    sds expect = sdsnew("type 1;0;127;128;-1;-4096;4095;4096;-32768;32767;40000;-8388608;8388607;10000000;"
                        "-2147483648;2147483647;5000000000;-9223372036854775808;9223372036854775807;;");
    for (int i = 0; i < 70; i++) expect = sdscat(expect, "x");
    expect = sdscat(expect, ";");
    assertDecodes(PL(pl_L), expect);
    sdsfree(expect);
    assertDecodes(PL(pl_H), "type 4;name=Ada;n=-12;big=1234567890123;");
    assertDecodes(PL(pl_Z), "type 3;d:-inf;e:-7;a:1;b:2.5;c:inf;");
    assertDecodes(PL(pl_S16), "type 2;-2;1;300;");
    assertDecodes(PL(pl_S64), "type 2;1;5000000000;");
    /* plain and packed quicklist nodes */
    assertDecodes(PL(pl_P), "type 1;small;this one is large;x;");
}
END_TEST

START_TEST(test_decode_old_encodings) {
    assertDecodes(PL(pl_zl_list), "type 1;0;12;13;-1;300;-70000;10000000;5000000000;;abc;"
                                  "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz;");
    assertDecodes(PL(pl_zl_hash), "type 4;a=1;b=xyz;");
    assertDecodes(PL(pl_zl_zset), "type 3;c:-inf;a:1;b:2.5;");
    assertDecodes(PL(pl_ql1), "type 1;a;b;1;2;"); /* an empty ziplist node is skipped */
    assertDecodes(PL(pl_zm), "type 4;a=1;bb=xy;");
    assertDecodes(PL(pl_z1), "type 3;a:1.5;b:inf;c:-2;");
}
END_TEST

/* ---- malformed payloads ---- */

/* A payload of type t and body (len bytes), with a right footer. */
static sds makePayload(int t, const char *body, size_t len) {
    return rdbAppendFooter(sdscatlen(rdbAppendType(sdsempty(), t), body, len));
}

static int decodeRc(int t, const char *body, size_t len) {
    sds p = makePayload(t, body, len);
    int rc;
    sds s = decode((unsigned char *)p, sdslen(p), &rc);
    sdsfree(s);
    sdsfree(p);
    return rc;
}

#define BODY(x) x, sizeof(x) - 1

START_TEST(test_malformed) {
    /* empty collections */
    ck_assert_int_eq(decodeRc(RDB_TYPE_LIST, BODY("\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_SET, BODY("\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_HASH, BODY("\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_ZSET_2, BODY("\x00")), RDB_ERR_FORMAT);
    /* an empty string is a value */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\x00")), RDB_OK);
    /* more members than bytes, and absurd lengths */
    ck_assert_int_eq(decodeRc(RDB_TYPE_LIST, BODY("\x05\x01" "a")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_LIST, BODY("\x81\x7f\xff\xff\xff\xff\xff\xff\xff\x01" "a")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\x80\xff\xff\xff\xff" "abc")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\x81\xff\xff\xff\xff\xff\xff\xff\xff")), RDB_ERR_FORMAT);
    /* an unknown length byte and unknown string encodings */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\x82\x00\x00\x00\x01" "a")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc4\x00")), RDB_ERR_FORMAT);
    /* integer encodings cut short */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc1\x01")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc2\x01\x02\x03")), RDB_ERR_FORMAT);
    /* LZF: an uncompressed size too large for its compressed size (4 GB from 3 bytes) */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc3\x03\x80\xff\xff\xff\xff\x01" "ab")), RDB_ERR_FORMAT);
    /* LZF: sizes that disagree with the data */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc3\x03\x03\x01" "ab")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc3\x03\x02\x01" "ab")), RDB_OK);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STRING, BODY("\xc3\x00\x00")), RDB_ERR_FORMAT);
    /* NaN scores */
    ck_assert_int_eq(decodeRc(RDB_TYPE_ZSET_2, BODY("\x01\x01" "a" "\x00\x00\x00\x00\x00\x00\xf8\x7f")),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_ZSET, BODY("\x01\x01" "a" "\xfd")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_ZSET, BODY("\x01\x01" "a" "\x03" "nan")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_ZSET, BODY("\x01\x01" "a" "\x03" "1x5")), RDB_ERR_FORMAT);
    /* streams cut short; modules refused as such; unknown types: malformed */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS, BODY("\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, BODY("\x00\x00\x00\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS, BODY("\x00\x00\x00\x00\x00")), RDB_OK); /* empty */
    ck_assert_int_eq(decodeRc(RDB_TYPE_MODULE_2, BODY("\x00")), RDB_ERR_UNSUPPORTED);
    ck_assert_int_eq(decodeRc(8, BODY("\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(20, BODY("\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(255, BODY("\x00")), RDB_ERR_FORMAT);
    /* a quicklist 2 node of an unknown container, and an empty node */
    ck_assert_int_eq(decodeRc(RDB_TYPE_LIST_QUICKLIST_2, BODY("\x01\x03\x01" "a")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_LIST_QUICKLIST_2, BODY("\x01\x01\x00")), RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_LIST_QUICKLIST_2, BODY("\x01\x01\x01" "a")), RDB_OK);
    /* a payload holding nothing but its footer */
    sds p = rdbAppendFooter(sdsempty());
    int rc;
    ck_assert_ptr_null(decode((unsigned char *)p, sdslen(p), &rc));
    ck_assert_int_eq(rc, RDB_ERR_FORMAT);
    sdsfree(p);
}
END_TEST

/* A listpack of the given entry bytes (each already with its backlen) */
static sds lp(const char *entries, size_t len, unsigned count) {
    unsigned char hdr[6];
    uint32_t total = (uint32_t)(6 + len + 1);
    for (int i = 0; i < 4; i++) hdr[i] = (unsigned char)(total >> (8 * i));
    hdr[4] = (unsigned char)(count & 0xff);
    hdr[5] = (unsigned char)(count >> 8);
    sds s = sdscatlen(sdsnewlen(hdr, 6), entries, len);
    return sdscatlen(s, "\xff", 1);
}

static int blobRc(int t, sds blob) {
    sds body = rdbAppendString(sdsempty(), blob, sdslen(blob));
    int rc = decodeRc(t, body, sdslen(body));
    sdsfree(body);
    sdsfree(blob);
    return rc;
}

START_TEST(test_malformed_compact) {
    /* a good hash listpack: "a" -> 1 */
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY("\x81" "a" "\x02" "\x01\x01"), 2)), RDB_OK);
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY("\x81" "a" "\x02" "\x01\x01"), 65535)), RDB_OK);
    /* wrong count, odd entries, bad backlen, bad encoding byte, no entries */
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY("\x81" "a" "\x02" "\x01\x01"), 3)), RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY("\x81" "a" "\x02"), 1)), RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY("\x81" "a" "\x03" "\x01\x01"), 2)), RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY("\xf5\x01" "\x01\x01"), 2)), RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, lp(BODY(""), 0)), RDB_ERR_FORMAT);
    /* ziplists: a string entry running past the end, then the same entry whole */
    ck_assert_int_eq(blobRc(RDB_TYPE_LIST_ZIPLIST,
                            sdsnewlen("\x0f\x00\x00\x00\x0a\x00\x00\x00\x01\x00" "\x00\x05" "ab" "\xff", 15)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_LIST_ZIPLIST,
                            sdsnewlen("\x0f\x00\x00\x00\x0a\x00\x00\x00\x01\x00" "\x00\x02" "ab" "\xff", 15)),
                     RDB_OK);
    /* a wrong prevlen, a wrong tail offset */
    ck_assert_int_eq(blobRc(RDB_TYPE_LIST_ZIPLIST,
                            sdsnewlen("\x0f\x00\x00\x00\x0a\x00\x00\x00\x01\x00" "\x01\x02" "ab" "\xff", 15)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_LIST_ZIPLIST,
                            sdsnewlen("\x0f\x00\x00\x00\x0b\x00\x00\x00\x01\x00" "\x00\x02" "ab" "\xff", 15)),
                     RDB_ERR_FORMAT);
    /* a total-bytes field that disagrees with the blob */
    sds bad = lp(BODY("\x81" "a" "\x02" "\x01\x01"), 2);
    bad[0]++;
    ck_assert_int_eq(blobRc(RDB_TYPE_HASH_LISTPACK, bad), RDB_ERR_FORMAT);
    /* a sorted set listpack whose score is not a number */
    ck_assert_int_eq(blobRc(RDB_TYPE_ZSET_LISTPACK, lp(BODY("\x81" "a" "\x02" "\x81" "x" "\x02"), 2)), RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_ZSET_LISTPACK, lp(BODY("\x81" "a" "\x02" "\x83" "nan" "\x04"), 2)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_ZSET_LISTPACK, lp(BODY("\x81" "a" "\x02" "\x83" "1.5" "\x04"), 2)), RDB_OK);
    /* intsets: empty, wrong encoding, wrong size, unsorted, duplicates */
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x02\x00\x00\x00\x00\x00\x00\x00", 8)), RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00", 11)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00", 10)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00", 12)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00", 12)),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00", 12)),
                     RDB_OK);
    /* an intset whose count times width overflows 32 bits */
    ck_assert_int_eq(blobRc(RDB_TYPE_SET_INTSET, sdsnewlen("\x08\x00\x00\x00\x00\x00\x00\x20\x01\x00\x02\x00", 12)),
                     RDB_ERR_FORMAT);
}
END_TEST

/* ---- streams ---- */

START_TEST(test_decode_redis_stream) {
    /* LZF-compressed node, a deleted entry, an entry with other fields,
     * entries_read unknown (-1), a consumer without pending entries */
    const char *expect = "type 5;100-1 field=value-1 n=100;100-3 field=value-3 n=300;100-4 field=value-4 n=400;"
                         "100-5 field=value-5 n=500;101-0 other=x;"
                         "len 5 last 101-0 first 100-1 maxdel 100-2 added 6;"
                         "group grp 100-3 read -1;consumer alice " PL_X_TIME ";pending 100-1 " PL_X_TIME " 1;"
                         "pending 100-3 " PL_X_TIME " 1;consumer bob " PL_X_TIME ";";
    assertDecodes(PL(pl_X), expect);
    /* a sink without stream callbacks refuses streams before begin */
    transcript t = {sdsempty(), 0, 0};
    ck_assert_int_eq(rdbDecodeObject(PL(pl_X), &tsinkOld, &t, NULL), RDB_ERR_UNSUPPORTED);
    ck_assert_str_eq(t.s, "");
    sdsfree(t.s);
    /* no sink: only checked */
    ck_assert_int_eq(rdbDecodeObject(PL(pl_X), NULL, NULL, NULL), RDB_OK);
}
END_TEST

/* Entries written by rdbStreamNodes, read back: the same entries, in
 * nodes of at most 100 entries and about 4096 bytes. */
static sds streamPayload(int n, uint64_t *nodes) {
    rdbStreamNodes w;
    sds body = sdsempty(), counted;
    char f[32], v[64];
    for (int pass = 0; pass < 2; pass++) {
        rdbStreamNodesInit(&w, pass ? &body : NULL);
        for (int i = 0; i < n; i++) {
            rdbStreamID id = {1000 + (uint64_t)i / 3, (uint64_t)(i % 3) * 7};
            snprintf(f, sizeof(f), i % 5 ? "f" : "g%d", i);
            snprintf(v, sizeof(v), i % 2 ? "%d" : "value-%d", i * (i % 4 ? 1 : -1000));
            const char *fv[4] = {f, v, "n", ""};
            size_t fvlen[4] = {strlen(f), strlen(v), 1, 0};
            rdbStreamNodesAdd(&w, &id, 2, fv, fvlen);
        }
        rdbStreamNodesEnd(&w);
        if (!pass) body = rdbAppendLen(body, w.nodes);
    }
    *nodes = w.nodes;
    rdbStreamMeta m = {(uint64_t)n, {1000 + (uint64_t)(n - 1) / 3, (uint64_t)((n - 1) % 3) * 7}, {1000, 0}, {0, 0},
                       (uint64_t)n};
    body = rdbAppendStreamMeta(body, &m);
    body = rdbAppendLen(body, 0);
    counted = rdbAppendFooter(sdscatsds(rdbAppendType(sdsempty(), RDB_TYPE_STREAM_LISTPACKS_2), body));
    sdsfree(body);
    return counted;
}

START_TEST(test_stream_writer_round_trip) {
    uint64_t nodes;
    sds p = streamPayload(1234, &nodes);
    ck_assert_uint_eq(nodes, 13); /* 100 entries per node */
    sds s = decode((unsigned char *)p, sdslen(p), NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert(strstr(s, "1000-0 g0=value-0 n=;1000-7 f=1 n=;1000-14 f=value-2 n=;1001-0 f=3 n=;1001-7 f=value--4000 n=;") == s + 7);
    ck_assert(strstr(s, "1411-0 f=1233 n=;len 1234 last 1411-0 first 1000-0") != NULL);
    sdsfree(s);
    sdsfree(p);
    /* big values: a node per entry once the node would pass 4096 bytes */
    rdbStreamNodes w;
    sds out = sdsempty();
    char big[3000];
    memset(big, 'x', sizeof(big));
    rdbStreamNodesInit(&w, &out);
    for (uint64_t i = 0; i < 4; i++) {
        rdbStreamID id = {i + 1, 0};
        const char *fv[2] = {"f", big};
        size_t fvlen[2] = {1, i == 1 ? 10 : sizeof(big)};
        rdbStreamNodesAdd(&w, &id, 1, fv, fvlen);
    }
    rdbStreamNodesEnd(&w);
    ck_assert_uint_eq(w.nodes, 3); /* {1, 2 (small)}, {3}, {4} */
    sdsfree(out);
}
END_TEST

/* Hand-made bodies: every damage is RDB_ERR_FORMAT. */
START_TEST(test_malformed_stream) {
    sds good = sdsnewlen(pl_X + 1, sizeof(pl_X) - 1 - 11);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, good, sdslen(good)), RDB_OK);
    /* the same body read as type 15 has more than a type 15 needs: the
     * first ID's ms is read as the group count, and so on */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS, good, sdslen(good)), RDB_ERR_FORMAT);
    sdsfree(good);
    /* a node key that is not 16 bytes */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, BODY("\x01\x01" "a" "\x01" "b" "\x00\x00\x00\x00\x00\x00\x00\x00\x00")),
                     RDB_ERR_FORMAT);
    /* a huge node count, a huge group count */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, BODY("\x80\x10\x00\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00\x00")),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, BODY("\x00" "\x00\x00\x00\x00\x00\x00\x00\x00" "\x3f")),
                     RDB_ERR_FORMAT);
    /* length 1 without entries; entries-added below the length */
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, BODY("\x00" "\x01\x00\x00\x00\x00\x00\x00\x01\x00")),
                     RDB_ERR_FORMAT);
    ck_assert_int_eq(decodeRc(RDB_TYPE_STREAM_LISTPACKS_2, BODY("\x00" "\x00\x05\x05\x00\x00\x00\x00\x00\x00")),
                     RDB_OK);
}
END_TEST

START_TEST(test_sink_errors_stop) {
    /* the sink's own result ends the decoding, whatever it is */
    transcript t = {sdsempty(), 2, 0};
    ck_assert_int_eq(rdbDecodeObject(PL(pl_H), &tsink, &t, NULL), RDB_ERR_SINK);
    ck_assert_str_eq(t.s, "type 4;name=Ada;n=-12;");
    sdsfree(t.s);
    int type;
    ck_assert_int_eq(rdbDecodeObject(PL(pl_Z), NULL, NULL, &type), RDB_OK);
    ck_assert_int_eq(type, RDB_TYPE_ZSET_LISTPACK);
    ck_assert_str_eq(rdbTypeName(RDB_TYPE_STREAM_LISTPACKS_2), "stream-2");
}
END_TEST

/* Every prefix of a payload (its footer made right) is refused or decodes;
 * none reads out of bounds. */
START_TEST(test_truncations) {
    const struct {
        const char *p;
        size_t len;
    } all[] = {{pl_L, sizeof(pl_L) - 1},         {pl_H, sizeof(pl_H) - 1},   {pl_Z, sizeof(pl_Z) - 1},
               {pl_S16, sizeof(pl_S16) - 1},     {pl_S64, sizeof(pl_S64) - 1}, {pl_P, sizeof(pl_P) - 1},
               {pl_s3, sizeof(pl_s3) - 1},       {pl_zl_list, sizeof(pl_zl_list) - 1},
               {pl_zl_hash, sizeof(pl_zl_hash) - 1}, {pl_zl_zset, sizeof(pl_zl_zset) - 1},
               {pl_ql1, sizeof(pl_ql1) - 1},     {pl_zm, sizeof(pl_zm) - 1}, {pl_z1, sizeof(pl_z1) - 1},
               {pl_X, sizeof(pl_X) - 1}};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        size_t body = all[i].len - 10;
        for (size_t n = 0; n < body; n++) {
            /* a buffer of exactly the right size, so ASan sees any overrun */
            sds p = rdbAppendFooter(sdsnewlen(all[i].p, n));
            unsigned char *exact = malloc(sdslen(p));
            memcpy(exact, p, sdslen(p));
            int rc;
            sds s = decode(exact, sdslen(p), &rc);
            ck_assert_msg(s == NULL, "payload %zu cut to %zu bytes decoded as %s", i, n, s);
            free(exact);
            sdsfree(p);
        }
    }
}
END_TEST

/* Random mutations of real payloads: whatever comes out, it is a clean
 * result (with ASan: no out-of-bounds read, no leak). */
START_TEST(test_mutations) {
    const struct {
        const char *p;
        size_t len;
    } all[] = {{pl_L, sizeof(pl_L) - 1},         {pl_H, sizeof(pl_H) - 1},   {pl_Z, sizeof(pl_Z) - 1},
               {pl_S16, sizeof(pl_S16) - 1},     {pl_S64, sizeof(pl_S64) - 1}, {pl_P, sizeof(pl_P) - 1},
               {pl_s3, sizeof(pl_s3) - 1},       {pl_zl_list, sizeof(pl_zl_list) - 1},
               {pl_zl_hash, sizeof(pl_zl_hash) - 1}, {pl_zl_zset, sizeof(pl_zl_zset) - 1},
               {pl_ql1, sizeof(pl_ql1) - 1},     {pl_zm, sizeof(pl_zm) - 1}, {pl_z1, sizeof(pl_z1) - 1},
               {pl_X, sizeof(pl_X) - 1}};
    srand(20240501);
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 30000; iter++) {
        size_t which = (size_t)rand() % (sizeof(all) / sizeof(all[0]));
        sds body = sdsnewlen(all[which].p, all[which].len - 10);
        int edits = 1 + rand() % 3;
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)rand() % sdslen(body);
            switch (rand() % 4) {
            case 0: body[at] ^= (char)(1 << (rand() % 8)); break;
            case 1: body[at] = (char)rand(); break;
            case 2: sdssetlen(body, at); break; /* truncate */
            default: {                           /* insert a byte */
                sds n = sdscatlen(sdscatlen(sdsnewlen(body, at), "\xff", 1), body + at, sdslen(body) - at);
                n[at] = (char)rand();
                sdsfree(body);
                body = n;
            }
            }
            if (sdslen(body) == 0) break;
        }
        sds p = rdbAppendFooter(body);
        unsigned char *exact = malloc(sdslen(p));
        memcpy(exact, p, sdslen(p));
        transcript t = {sdsempty(), 0, 0};
        int rc = rdbDecodeObject(exact, sdslen(p), &tsink, &t, NULL);
        ck_assert(rc == RDB_OK || rc == RDB_ERR_FORMAT || rc == RDB_ERR_UNSUPPORTED);
        if (rc == RDB_OK) ok++;
        else bad++;
        sdsfree(t.s);
        free(exact);
        sdsfree(p);
    }
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(bad, 0);
}
END_TEST

Suite *rdb_suite(void) {
    Suite *s = suite_create("rdb");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_crc64);
    tcase_add_test(tc, test_lzf);
    tcase_add_test(tc, test_append_len);
    tcase_add_test(tc, test_append_string);
    tcase_add_test(tc, test_writer_matches_redis);
    tcase_add_test(tc, test_write_read_round_trip);
    tcase_add_test(tc, test_verify);
    tcase_add_test(tc, test_decode_redis_strings);
    tcase_add_test(tc, test_decode_redis_collections);
    tcase_add_test(tc, test_decode_old_encodings);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_malformed_compact);
    tcase_add_test(tc, test_decode_redis_stream);
    tcase_add_test(tc, test_stream_writer_round_trip);
    tcase_add_test(tc, test_malformed_stream);
    tcase_add_test(tc, test_sink_errors_stop);
    tcase_add_test(tc, test_truncations);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}
