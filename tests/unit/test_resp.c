/* test_resp.c - the RESP request parser (resp.c): multibulk and inline
 * requests, pipelining, incremental arrival, binary safety, Redis's limits
 * and protocol error texts, and sdssplitargs. */
#include "unit.h"
#include "resp.h"
#include "zmalloc.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * A source over a buffer of which only the first `limit` bytes have
 * "arrived": raising limit simulates more bytes coming from the socket. It
 * also refuses any access past limit, so a parser that looks at bytes it was
 * not given fails the test. */
typedef struct growSource {
    const char *buf;
    size_t len;   /* whole buffer */
    size_t limit; /* bytes that have arrived */
    size_t pos;   /* bytes consumed */
} growSource;

static size_t gsLength(void *ud) {
    growSource *g = ud;
    return g->limit - g->pos;
}
static int gsPeek(void *ud) {
    growSource *g = ud;
    ck_assert_uint_lt(g->pos, g->limit);
    return (unsigned char)g->buf[g->pos];
}
static ssize_t gsFind(void *ud, int ch, size_t maxscan) {
    growSource *g = ud;
    size_t avail = g->limit - g->pos;
    if (maxscan > avail) maxscan = avail;
    const char *lf = memchr(g->buf + g->pos, ch, maxscan);
    return lf ? (ssize_t)(lf - (g->buf + g->pos)) : -1;
}
static void gsCopyout(void *ud, void *dst, size_t n) {
    growSource *g = ud;
    ck_assert_uint_le(n, g->limit - g->pos);
    memcpy(dst, g->buf + g->pos, n);
    g->pos += n;
}
static void gsDrain(void *ud, size_t n) {
    growSource *g = ud;
    ck_assert_uint_le(n, g->limit - g->pos);
    g->pos += n;
}
static void gsInit(respSource *src, growSource *g, const char *buf, size_t len) {
    g->buf = buf;
    g->len = len;
    g->limit = 0;
    g->pos = 0;
    src->ud = g;
    src->length = gsLength;
    src->peek = gsPeek;
    src->find = gsFind;
    src->copyout = gsCopyout;
    src->drain = gsDrain;
}

/* ---------------------------------------------------------------------------
 * Collects the commands parsed out of one input. */
#define MAXCMDS 64
typedef struct parsed {
    int ncmds;
    int argc[MAXCMDS];
    sds *argv[MAXCMDS];
    int status;        /* last respParse result */
    const char *error; /* set when status is RESP_PROTO_ERROR */
    size_t consumed;   /* bytes the parser consumed */
    int calls;         /* respParse calls that returned RESP_NEED_MORE */
} parsed;

static void takeCommand(parsed *out, respParser *p) {
    ck_assert_int_lt(out->ncmds, MAXCMDS);
    ck_assert_int_gt(p->argc, 0);
    out->argc[out->ncmds] = p->argc;
    out->argv[out->ncmds] = p->argv;
    out->ncmds++;
    respParserTakeArgs(p);
    ck_assert_ptr_null(p->argv);
    ck_assert_int_eq(p->argc, 0);
}

static void freeParsed(parsed *out) {
    for (int i = 0; i < out->ncmds; i++) {
        for (int j = 0; j < out->argc[i]; j++) sdsfree(out->argv[i][j]);
        zfree(out->argv[i]);
    }
    out->ncmds = 0;
}

/* Parse buf delivered `chunk` bytes at a time (0: all at once, through a
 * respMemSource). Stops at the first protocol error, or when all bytes have
 * been delivered and the parser wants more. The parser is left reset. */
static void parseChunked(parsed *out, const char *buf, size_t len, size_t chunk) {
    respParser p;
    memset(out, 0, sizeof(*out));
    respParserInit(&p);
    if (chunk == 0) {
        respSource src;
        respMemSource m;
        respMemSourceInit(&src, &m, buf, len);
        for (;;) {
            out->status = respParse(&p, &src);
            if (out->status == RESP_COMMAND) { takeCommand(out, &p); continue; }
            if (out->status == RESP_PROTO_ERROR) out->error = p.error;
            else out->calls++;
            break;
        }
        out->consumed = m.pos;
    } else {
        respSource src;
        growSource g;
        gsInit(&src, &g, buf, len);
        for (;;) {
            out->status = respParse(&p, &src);
            if (out->status == RESP_COMMAND) { takeCommand(out, &p); continue; }
            if (out->status == RESP_PROTO_ERROR) { out->error = p.error; break; }
            out->calls++;
            if (g.limit == len) break;
            g.limit = g.limit + chunk < len ? g.limit + chunk : len;
        }
        out->consumed = g.pos;
    }
    respParserReset(&p);
}

static void parseAll(parsed *out, const char *buf, size_t len) { parseChunked(out, buf, len, 0); }

/* Assert that command idx has exactly the given NUL-terminated arguments. */
static void assertCmd(const parsed *out, int idx, int argc, ...) {
    va_list ap;
    ck_assert_int_lt(idx, out->ncmds);
    ck_assert_int_eq(out->argc[idx], argc);
    va_start(ap, argc);
    for (int j = 0; j < argc; j++) {
        const char *want = va_arg(ap, const char *);
        sds got = out->argv[idx][j];
        ck_assert_uint_eq(sdslen(got), strlen(want));
        ck_assert_mem_eq(got, want, strlen(want));
        ck_assert_int_eq(got[sdslen(got)], '\0'); /* sds stay NUL-terminated */
    }
    va_end(ap);
}

/* Feeding buf must end with a protocol error of exactly msg, whether it
 * arrives at once, byte by byte, or in chunks of 7 (long inputs: in chunks
 * of 1009 and 8192); no memory is kept. */
static void assertProtoError(const char *buf, size_t len, const char *msg) {
    static const size_t small[] = {0, 1, 7}, large[] = {0, 1009, 8192};
    const size_t *chunks = len > 4096 ? large : small;
    for (size_t i = 0; i < 3; i++) {
        size_t before = zmalloc_used_memory();
        parsed out;
        parseChunked(&out, buf, len, chunks[i]);
        ck_assert_msg(out.status == RESP_PROTO_ERROR, "input '%.*s', chunk %zu: expected a protocol error, got %d",
                      (int)(len < 60 ? len : 60), buf, chunks[i], out.status);
        ck_assert_msg(strcmp(out.error, msg) == 0, "input '%.*s', chunk %zu: error '%s', expected '%s'",
                      (int)(len < 60 ? len : 60), buf, chunks[i], out.error, msg);
        freeParsed(&out);
        ck_assert_uint_eq(zmalloc_used_memory(), before);
    }
}

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---------------------------------------------------------------------------
 * Multibulk requests */

START_TEST(test_multibulk_basic) {
    parsed out;
    parseAll(&out, S("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"));
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 3, "SET", "key", "value");
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(out.consumed, 33);
    freeParsed(&out);
}
END_TEST

START_TEST(test_multibulk_single_call_returns_one_command) {
    /* respParse returns after each command, leaving the rest buffered */
    const char req[] = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n";
    respParser p;
    respSource src;
    respMemSource m;
    respParserInit(&p);
    respMemSourceInit(&src, &m, req, sizeof(req) - 1);
    ck_assert_int_eq(respParse(&p, &src), RESP_COMMAND);
    ck_assert_int_eq(p.argc, 1);
    ck_assert_str_eq(p.argv[0], "PING");
    ck_assert_uint_eq(m.pos, 14);
    sds *argv = p.argv;
    int argc = p.argc;
    respParserTakeArgs(&p);
    for (int j = 0; j < argc; j++) sdsfree(argv[j]);
    zfree(argv);
    ck_assert_int_eq(respParse(&p, &src), RESP_COMMAND);
    ck_assert_int_eq(p.argc, 2);
    ck_assert_str_eq(p.argv[0], "ECHO");
    ck_assert_str_eq(p.argv[1], "hi");
    ck_assert_uint_eq(m.pos, sizeof(req) - 1);
    respParserReset(&p); /* frees the untaken command */
    ck_assert_ptr_null(p.argv);
    ck_assert_int_eq(p.argc, 0);
}
END_TEST

START_TEST(test_multibulk_pipelined) {
    const char req[] = "*1\r\n$4\r\nPING\r\n"
                       "*2\r\n$3\r\nGET\r\n$1\r\na\r\n"
                       "*3\r\n$4\r\nINCR\r\n$0\r\n\r\n$2\r\n10\r\n"
                       "*1\r\n$4\r\nQUIT\r\n";
    parsed out;
    parseAll(&out, S(req));
    ck_assert_int_eq(out.ncmds, 4);
    assertCmd(&out, 0, 1, "PING");
    assertCmd(&out, 1, 2, "GET", "a");
    assertCmd(&out, 2, 3, "INCR", "", "10");
    assertCmd(&out, 3, 1, "QUIT");
    ck_assert_uint_eq(out.consumed, sizeof(req) - 1);
    freeParsed(&out);
}
END_TEST

START_TEST(test_multibulk_mixed_with_inline) {
    const char req[] = "PING\r\n*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nSET k v\n*1\r\n$4\r\nPING\r\n";
    parsed out;
    parseAll(&out, S(req));
    ck_assert_int_eq(out.ncmds, 4);
    assertCmd(&out, 0, 1, "PING");
    assertCmd(&out, 1, 2, "ECHO", "abc");
    assertCmd(&out, 2, 3, "SET", "k", "v");
    assertCmd(&out, 3, 1, "PING");
    freeParsed(&out);
}
END_TEST

/* Every chunk size from 1 byte up must give the same commands, and a
 * command must only be returned once its last byte has arrived. */
START_TEST(test_multibulk_incremental_all_chunk_sizes) {
    const char req[] = "*3\r\n$3\r\nSET\r\n$10\r\nkey\r\nwit\0x\r\n$0\r\n\r\n"
                       "*2\r\n$4\r\nECHO\r\n$12\r\n0123456789ab\r\n"
                       "PING\r\n";
    size_t len = sizeof(req) - 1;
    for (size_t chunk = 1; chunk <= len + 1; chunk++) {
        parsed out;
        parseChunked(&out, req, len, chunk);
        ck_assert_int_eq(out.status, RESP_NEED_MORE);
        ck_assert_int_eq(out.ncmds, 3);
        ck_assert_int_eq(out.argc[0], 3);
        ck_assert_str_eq(out.argv[0][0], "SET");
        ck_assert_uint_eq(sdslen(out.argv[0][1]), 10);
        ck_assert_mem_eq(out.argv[0][1], "key\r\nwit\0x", 10);
        ck_assert_uint_eq(sdslen(out.argv[0][2]), 0);
        assertCmd(&out, 1, 2, "ECHO", "0123456789ab");
        assertCmd(&out, 2, 1, "PING");
        ck_assert_uint_eq(out.consumed, len);
        freeParsed(&out);
    }
}
END_TEST

/* Byte by byte: the parser says "need more" at every prefix but the last. */
START_TEST(test_multibulk_byte_by_byte_prefixes) {
    const char req[] = "*2\r\n$3\r\nGET\r\n$6\r\nfoobar\r\n";
    size_t len = sizeof(req) - 1;
    respParser p;
    respSource src;
    growSource g;
    size_t before = zmalloc_used_memory();
    respParserInit(&p);
    gsInit(&src, &g, req, len);
    for (g.limit = 0; g.limit < len; g.limit++) {
        int r = respParse(&p, &src);
        ck_assert_msg(r == RESP_NEED_MORE, "prefix of %zu bytes gave %d", g.limit, r);
    }
    g.limit = len;
    ck_assert_int_eq(respParse(&p, &src), RESP_COMMAND);
    ck_assert_int_eq(p.argc, 2);
    ck_assert_str_eq(p.argv[0], "GET");
    ck_assert_str_eq(p.argv[1], "foobar");
    ck_assert_uint_eq(g.pos, len);
    respParserReset(&p);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
}
END_TEST

/* A partial command can be abandoned (client gone) without leaking. */
START_TEST(test_multibulk_reset_midway_frees) {
    const char req[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nval";
    size_t before = zmalloc_used_memory();
    respParser p;
    respSource src;
    respMemSource m;
    respParserInit(&p);
    respMemSourceInit(&src, &m, req, sizeof(req) - 1);
    ck_assert_int_eq(respParse(&p, &src), RESP_NEED_MORE);
    ck_assert_int_eq(p.argc, 2);
    ck_assert_int_eq(p.multibulklen, 1);
    ck_assert_int_eq(p.bulklen, 5);
    ck_assert_uint_gt(zmalloc_used_memory(), before);
    respParserReset(&p);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
    ck_assert_int_eq(p.reqtype, 0);
    ck_assert_int_eq(p.bulklen, -1);
}
END_TEST

START_TEST(test_multibulk_binary_safe) {
    /* NUL bytes, CRLF, '*' and '$' inside payloads are just data */
    const char req[] = "*4\r\n$3\r\na\0b\r\n$4\r\n\r\n\r\n\r\n$5\r\n*1\r\n$\r\n$1\r\n\xff\r\n";
    parsed out;
    parseAll(&out, S(req));
    ck_assert_int_eq(out.ncmds, 1);
    ck_assert_int_eq(out.argc[0], 4);
    ck_assert_uint_eq(sdslen(out.argv[0][0]), 3);
    ck_assert_mem_eq(out.argv[0][0], "a\0b", 3);
    ck_assert_uint_eq(sdslen(out.argv[0][1]), 4);
    ck_assert_mem_eq(out.argv[0][1], "\r\n\r\n", 4);
    ck_assert_uint_eq(sdslen(out.argv[0][2]), 5);
    ck_assert_mem_eq(out.argv[0][2], "*1\r\n$", 5);
    ck_assert_uint_eq(sdslen(out.argv[0][3]), 1);
    ck_assert_int_eq((unsigned char)out.argv[0][3][0], 0xff);
    ck_assert_uint_eq(out.consumed, sizeof(req) - 1);
    freeParsed(&out);
}
END_TEST

START_TEST(test_multibulk_empty_bulk) {
    parsed out;
    parseAll(&out, S("*2\r\n$0\r\n\r\n$0\r\n\r\n"));
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 2, "", "");
    freeParsed(&out);
}
END_TEST

START_TEST(test_multibulk_large_bulk) {
    size_t n = 200000;
    char *req = malloc(n + 64);
    int h = snprintf(req, 64, "*2\r\n$3\r\nSET\r\n$%zu\r\n", n);
    for (size_t i = 0; i < n; i++) req[h + i] = (char)(i * 7);
    memcpy(req + h + n, "\r\n", 2);
    size_t len = (size_t)h + n + 2;
    static const size_t chunks[] = {0, 1000, 16384};
    for (size_t c = 0; c < 3; c++) {
        parsed out;
        parseChunked(&out, req, len, chunks[c]);
        ck_assert_int_eq(out.ncmds, 1);
        ck_assert_int_eq(out.argc[0], 2);
        ck_assert_uint_eq(sdslen(out.argv[0][1]), n);
        ck_assert_mem_eq(out.argv[0][1], req + h, n);
        freeParsed(&out);
    }
    free(req);
}
END_TEST

START_TEST(test_multibulk_many_args) {
    /* more arguments than the initial argv capacity (1024) */
    int n = 3000;
    sds req = sdscatprintf(sdsempty(), "*%d\r\n", n);
    for (int i = 0; i < n; i++) {
        char arg[16];
        int l = snprintf(arg, sizeof(arg), "a%d", i);
        req = sdscatprintf(req, "$%d\r\n%s\r\n", l, arg);
    }
    parsed out;
    parseChunked(&out, req, sdslen(req), 4096);
    ck_assert_int_eq(out.ncmds, 1);
    ck_assert_int_eq(out.argc[0], n);
    for (int i = 0; i < n; i++) {
        char arg[16];
        snprintf(arg, sizeof(arg), "a%d", i);
        ck_assert_str_eq(out.argv[0][i], arg);
    }
    freeParsed(&out);
    sdsfree(req);
}
END_TEST

START_TEST(test_multibulk_empty_requests_skipped) {
    /* *0 and *-1 (and any count <= 0) are ignored, as in Redis */
    const char req[] = "*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n*0\r\n";
    parsed out;
    parseAll(&out, S(req));
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 1, "PING");
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(out.consumed, sizeof(req) - 1);
    freeParsed(&out);
    /* only empty requests: all consumed, nothing returned */
    parseAll(&out, S("*0\r\n*0\r\n*-1\r\n"));
    ck_assert_int_eq(out.ncmds, 0);
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(out.consumed, 13);
}
END_TEST

START_TEST(test_multibulk_lf_only_headers) {
    /* as in Redis 7.0 (which looks for '\r'), a bare '\n' does not end a
     * header line: the line runs to the next '\r' */
    assertProtoError(S("*2\n$4\nECHO\r\n$1\nx\r\n"), "Protocol error: invalid multibulk length");
    /* and whatever byte follows the '\r' is skipped */
    parsed out;
    parseAll(&out, S("*1\rX$4\rXPING\r\n"));
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 1, "PING");
    freeParsed(&out);
}
END_TEST

START_TEST(test_multibulk_limits_accepted) {
    /* the largest counts that are valid wait for more input */
    parsed out;
    size_t before = zmalloc_used_memory();
    parseAll(&out, S("*1048576\r\n"));
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_int_eq(out.ncmds, 0);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
    /* Redis 7.0 takes counts up to INT_MAX */
    parseAll(&out, S("*2147483647\r\n"));
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(zmalloc_used_memory(), before);

    parseAll(&out, S("*1\r\n$536870912\r\n"));
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(out.consumed, 16);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
}
END_TEST

/* Limits are checked before anything is allocated, and the argv array of a
 * huge count or the buffer of a huge bulk is not allocated up front. */
START_TEST(test_multibulk_no_allocation_from_headers) {
    respParser p;
    respSource src;
    respMemSource m;
    size_t before = zmalloc_used_memory();

    respParserInit(&p);
    respMemSourceInit(&src, &m, S("*2147483648\r\n"));
    ck_assert_int_eq(respParse(&p, &src), RESP_PROTO_ERROR);
    ck_assert_ptr_null(p.argv);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
    respParserReset(&p);

    respParserInit(&p);
    respMemSourceInit(&src, &m, S("*2147483647\r\n"));
    ck_assert_int_eq(respParse(&p, &src), RESP_NEED_MORE);
    ck_assert_int_eq(p.multibulklen, 2147483647);
    ck_assert_uint_le(zmalloc_used_memory() - before, 1024 * sizeof(sds) + 64);
    respParserReset(&p);
    ck_assert_uint_eq(zmalloc_used_memory(), before);

    respParserInit(&p);
    respMemSourceInit(&src, &m, S("*1\r\n$600000000\r\n"));
    ck_assert_int_eq(respParse(&p, &src), RESP_PROTO_ERROR);
    ck_assert_str_eq(p.error, "Protocol error: invalid bulk length");
    respParserReset(&p);
    ck_assert_uint_eq(zmalloc_used_memory(), before);

    /* a valid 512MB bulk header: nothing is allocated until the payload is
     * all there */
    respParserInit(&p);
    respMemSourceInit(&src, &m, S("*1\r\n$536870912\r\nabc"));
    ck_assert_int_eq(respParse(&p, &src), RESP_NEED_MORE);
    ck_assert_int_eq(p.bulklen, 536870912LL);
    ck_assert_uint_lt(zmalloc_used_memory() - before, 4096);
    respParserReset(&p);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Multibulk protocol errors, with Redis's exact texts */

START_TEST(test_err_invalid_multibulk_length) {
    const char *msg = "Protocol error: invalid multibulk length";
    assertProtoError(S("*abc\r\n"), msg);
    assertProtoError(S("*\r\n"), msg);
    assertProtoError(S("*2147483648\r\n"), msg);
    assertProtoError(S("*99999999999999999999\r\n"), msg);
    assertProtoError(S("*9223372036854775808\r\n"), msg);
    assertProtoError(S("*+1\r\n"), msg);
    assertProtoError(S("* 1\r\n"), msg);
    assertProtoError(S("*1 \r\n"), msg);
    assertProtoError(S("*1x\r\n"), msg);
    assertProtoError(S("*-\r\n"), msg);
    /* Redis parses the count with string2ll: no leading zeros, no "-0" */
    assertProtoError(S("*01\r\n$4\r\nPING\r\n"), msg);
    assertProtoError(S("*-0\r\n"), msg);
    /* a complete header line that is long, but not over 64KB */
    char line[300];
    memset(line, '1', sizeof(line));
    line[0] = '*';
    memcpy(line + sizeof(line) - 2, "\r\n", 2);
    assertProtoError(line, sizeof(line), msg);
}
END_TEST

START_TEST(test_err_multibulk_error_after_commands) {
    /* commands before the bad one are still returned */
    parsed out;
    parseAll(&out, S("*1\r\n$4\r\nPING\r\n*x\r\n*1\r\n$4\r\nPING\r\n"));
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 1, "PING");
    ck_assert_int_eq(out.status, RESP_PROTO_ERROR);
    ck_assert_str_eq(out.error, "Protocol error: invalid multibulk length");
    freeParsed(&out);
}
END_TEST

START_TEST(test_err_invalid_bulk_length) {
    const char *msg = "Protocol error: invalid bulk length";
    assertProtoError(S("*1\r\n$-1\r\n"), msg);
    assertProtoError(S("*1\r\n$-5\r\n"), msg);
    assertProtoError(S("*1\r\n$abc\r\n"), msg);
    assertProtoError(S("*1\r\n$\r\n"), msg);
    assertProtoError(S("*1\r\n$3x\r\nfoo\r\n"), msg);
    assertProtoError(S("*1\r\n$+3\r\nfoo\r\n"), msg);
    assertProtoError(S("*1\r\n$03\r\nfoo\r\n"), msg);
    assertProtoError(S("*1\r\n$ 3\r\nfoo\r\n"), msg);
    assertProtoError(S("*1\r\n$536870913\r\n"), msg);
    assertProtoError(S("*1\r\n$600000000\r\n"), msg);
    assertProtoError(S("*1\r\n$99999999999999999999999\r\n"), msg);
    /* after some good arguments, with partial args to free */
    assertProtoError(S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$x\r\n"), msg);
    char line[300];
    memset(line, '7', sizeof(line));
    memcpy(line, "*1\r\n$", 5);
    memcpy(line + sizeof(line) - 2, "\r\n", 2);
    assertProtoError(line, sizeof(line), msg);
}
END_TEST

/* Limits the caller sets: proto-max-bulk-len (not for our master's
 * stream), and Redis's limits on a client that has not authenticated. */
static int parseWith(const char *buf, size_t len, int unauthenticated, int no_bulk_limit, const char **err) {
    respParser p;
    respSource src;
    respMemSource m;
    respParserInit(&p);
    p.unauthenticated = unauthenticated;
    p.no_bulk_limit = no_bulk_limit;
    respMemSourceInit(&src, &m, buf, len);
    int r = respParse(&p, &src);
    *err = p.error;
    if (r == RESP_COMMAND) {
        for (int j = 0; j < p.argc; j++) sdsfree(p.argv[j]);
        zfree(p.argv);
        respParserTakeArgs(&p);
    }
    respParserReset(&p);
    return r;
}

START_TEST(test_caller_limits) {
    const char *err;
    long long saved = respMaxBulkLen;
    respMaxBulkLen = 1024 * 1024;
    ck_assert_int_eq(parseWith(S("*1\r\n$1048577\r\n"), 0, 0, &err), RESP_PROTO_ERROR);
    ck_assert_str_eq(err, "Protocol error: invalid bulk length");
    ck_assert_int_eq(parseWith(S("*1\r\n$1048576\r\n"), 0, 0, &err), RESP_NEED_MORE);
    ck_assert_int_eq(parseWith(S("*1\r\n$1048577\r\n"), 0, 1, &err), RESP_NEED_MORE);
    respMaxBulkLen = saved;
    ck_assert_int_eq(parseWith(S("*11\r\n"), 1, 0, &err), RESP_PROTO_ERROR);
    ck_assert_str_eq(err, "Protocol error: unauthenticated multibulk length");
    ck_assert_int_eq(parseWith(S("*10\r\n"), 1, 0, &err), RESP_NEED_MORE);
    ck_assert_int_eq(parseWith(S("*11\r\n"), 0, 0, &err), RESP_NEED_MORE);
    ck_assert_int_eq(parseWith(S("*1\r\n$16385\r\n"), 1, 0, &err), RESP_PROTO_ERROR);
    ck_assert_str_eq(err, "Protocol error: unauthenticated bulk length");
    ck_assert_int_eq(parseWith(S("*1\r\n$16384\r\n"), 1, 0, &err), RESP_NEED_MORE);
    ck_assert_int_eq(parseWith(S("*1\r\n$-1\r\n"), 1, 0, &err), RESP_PROTO_ERROR);
    ck_assert_str_eq(err, "Protocol error: invalid bulk length");
}
END_TEST

START_TEST(test_err_expected_dollar) {
    assertProtoError(S("*1\r\n:3\r\n"), "Protocol error: expected '$', got ':'");
    assertProtoError(S("*1\r\nfoo\r\n"), "Protocol error: expected '$', got 'f'");
    assertProtoError(S("*2\r\n$3\r\nfoo\r\n+bar\r\n"), "Protocol error: expected '$', got '+'");
    assertProtoError(S("*2\r\n$3\r\nfoo\r\n*1\r\n"), "Protocol error: expected '$', got '*'");
    /* a payload longer than announced: its excess is read as a header */
    assertProtoError(S("*2\r\n$1\r\nabc\r\n$1\r\nc\r\n"), "Protocol error: expected '$', got '\r'");
}
END_TEST

START_TEST(test_err_too_big_count_strings) {
    /* more than 64KB without a newline in a header line */
    size_t n = 70000;
    char *buf = malloc(n + 8);
    buf[0] = '*';
    memset(buf + 1, '1', n - 1);
    assertProtoError(buf, n, "Protocol error: too big mbulk count string");

    memcpy(buf, "*1\r\n$", 5);
    memset(buf + 5, '1', n - 5);
    assertProtoError(buf, n, "Protocol error: too big bulk count string");

    /* up to 64KB, still waiting for the newline */
    parsed out;
    buf[0] = '*';
    memset(buf + 1, '1', 65535);
    parseAll(&out, buf, 65536);
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    free(buf);
}
END_TEST

/* The cases of Redis's tests/unit/protocol.tcl */
START_TEST(test_redis_protocol_tcl_cases) {
    parsed out;
    parseAll(&out, S("\r\n*1\r\n$4\r\nPING\r\n")); /* Handle an empty query */
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 1, "PING");
    freeParsed(&out);
    parseAll(&out, S("*-10\r\nPING\r\n")); /* Negative multibulk length */
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 1, "PING");
    freeParsed(&out);
    assertProtoError(S("*3000000000\r\n"), "Protocol error: invalid multibulk length"); /* 7.0: over INT_MAX */
    assertProtoError(S("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"), "Protocol error: expected '$', got 'f'");
    assertProtoError(S("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n"), "Protocol error: invalid bulk length");
    assertProtoError(S("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n"), "Protocol error: invalid bulk length");
    assertProtoError(S("*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n"), "Protocol error: invalid bulk length");
    assertProtoError(S("*1\r\nfoo\r\n"), "Protocol error: expected '$', got 'f'");
    assertProtoError(S("set \"\"\"test-key\"\"\" test-value\r\n"), "Protocol error: unbalanced quotes in request");
}
END_TEST

START_TEST(test_multibulk_payload_trailer_skipped) {
    /* as in Redis, the two bytes after a payload are skipped unchecked */
    parsed out;
    parseAll(&out, S("*1\r\n$3\r\nfooXY*1\r\n$4\r\nPING\r\n"));
    ck_assert_int_eq(out.ncmds, 2);
    assertCmd(&out, 0, 1, "foo");
    assertCmd(&out, 1, 1, "PING");
    freeParsed(&out);
}
END_TEST

/* ---------------------------------------------------------------------------
 * Inline commands */

START_TEST(test_inline_basic) {
    parsed out;
    parseAll(&out, S("SET key value\r\nGET   key\n\tPING\t\r\n"));
    ck_assert_int_eq(out.ncmds, 3);
    assertCmd(&out, 0, 3, "SET", "key", "value");
    assertCmd(&out, 1, 2, "GET", "key");
    assertCmd(&out, 2, 1, "PING");
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    freeParsed(&out);
}
END_TEST

START_TEST(test_inline_quotes_and_escapes) {
    parsed out;
    parseAll(&out, S("SET \"a b\" 'c d'\r\n"
                     "ECHO \"\\x41\\x62\\n\\r\\t\\b\\a\\\\\\\"q\"\r\n"
                     "ECHO 'it\\'s' 'back\\slash\\n'\r\n"
                     "ECHO \"\\x4\" \"\\xZZ\" \"\"\r\n"
                     "ECHO a\"b c\"\r\n"));
    ck_assert_int_eq(out.ncmds, 5);
    assertCmd(&out, 0, 3, "SET", "a b", "c d");
    assertCmd(&out, 1, 2, "ECHO", "Ab\n\r\t\b\a\\\"q");
    assertCmd(&out, 2, 3, "ECHO", "it's", "back\\slash\\n");
    /* an incomplete \x escape is just an escaped 'x' */
    assertCmd(&out, 3, 4, "ECHO", "x4", "xZZ", "");
    /* a quote inside a word opens a quoted part, as in Redis */
    assertCmd(&out, 4, 2, "ECHO", "ab c");
    freeParsed(&out);
}
END_TEST

START_TEST(test_inline_hex_escape_nul) {
    parsed out;
    parseAll(&out, S("SET k \"a\\x00b\\xffc\\xAb\"\r\n"));
    ck_assert_int_eq(out.ncmds, 1);
    ck_assert_int_eq(out.argc[0], 3);
    ck_assert_uint_eq(sdslen(out.argv[0][2]), 6);
    ck_assert_mem_eq(out.argv[0][2], "a\0b\xff" "c\xab", 6);
    freeParsed(&out);
}
END_TEST

START_TEST(test_inline_empty_lines_skipped) {
    const char req[] = "\r\n\n   \r\n\t\r\nPING\r\n\r\n";
    parsed out;
    parseAll(&out, S(req));
    ck_assert_int_eq(out.ncmds, 1);
    assertCmd(&out, 0, 1, "PING");
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(out.consumed, sizeof(req) - 1);
    freeParsed(&out);
}
END_TEST

START_TEST(test_inline_incremental) {
    const char req[] = "SET \"hello world\" 'x y'\r\nPING\n";
    size_t len = sizeof(req) - 1;
    for (size_t chunk = 1; chunk <= len; chunk++) {
        parsed out;
        parseChunked(&out, req, len, chunk);
        ck_assert_int_eq(out.ncmds, 2);
        assertCmd(&out, 0, 3, "SET", "hello world", "x y");
        assertCmd(&out, 1, 1, "PING");
        ck_assert_uint_eq(out.consumed, len);
        freeParsed(&out);
    }
    /* without its newline an inline command is not complete */
    parsed out;
    parseAll(&out, S("PING"));
    ck_assert_int_eq(out.ncmds, 0);
    ck_assert_int_eq(out.status, RESP_NEED_MORE);
    ck_assert_uint_eq(out.consumed, 0);
}
END_TEST

START_TEST(test_inline_max_size) {
    /* a 64KB line is accepted; 64KB + 1 bytes without newline is not */
    size_t n = RESP_MAX_INLINE;
    char *buf = malloc(n + 16);
    memset(buf, 'a', n);
    memcpy(buf + n, "\r\n", 2);
    parsed out;
    parseAll(&out, buf, n + 2);
    ck_assert_int_eq(out.ncmds, 1);
    ck_assert_int_eq(out.argc[0], 1);
    ck_assert_uint_eq(sdslen(out.argv[0][0]), n);
    freeParsed(&out);

    parseAll(&out, buf, n); /* no newline yet, at the limit: wait */
    ck_assert_int_eq(out.status, RESP_NEED_MORE);

    memset(buf, 'a', n + 1);
    assertProtoError(buf, n + 1, "Protocol error: too big inline request");
    memset(buf, 'a', n + 16);
    assertProtoError(buf, n + 16, "Protocol error: too big inline request");
    free(buf);
}
END_TEST

START_TEST(test_inline_unbalanced_quotes) {
    const char *msg = "Protocol error: unbalanced quotes in request";
    assertProtoError(S("SET \"foo\r\n"), msg);
    assertProtoError(S("SET 'foo\r\n"), msg);
    assertProtoError(S("SET \"foo\"bar\r\n"), msg);
    assertProtoError(S("SET 'foo'bar\r\n"), msg);
    assertProtoError(S("ECHO \"abc\\\"\r\n"), msg);
    assertProtoError(S("ECHO a\"b\"c\r\n"), msg);
    /* after a good command */
    parsed out;
    parseAll(&out, S("PING\r\nECHO \"x\r\nPING\r\n"));
    ck_assert_int_eq(out.ncmds, 1);
    ck_assert_int_eq(out.status, RESP_PROTO_ERROR);
    ck_assert_str_eq(out.error, msg);
    freeParsed(&out);
}
END_TEST

/* ---------------------------------------------------------------------------
 * sdssplitargs */

static sds *split(const char *s, int *argc) { return sdssplitargs(s, strlen(s), argc); }

START_TEST(test_splitargs_basic) {
    int argc = -1;
    sds *v = split("  set   a  b  ", &argc);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(argc, 3);
    ck_assert_str_eq(v[0], "set");
    ck_assert_str_eq(v[1], "a");
    ck_assert_str_eq(v[2], "b");
    sdsfreesplitres(v, argc);

    v = split("", &argc);
    ck_assert_ptr_nonnull(v); /* not NULL even when empty */
    ck_assert_int_eq(argc, 0);
    sdsfreesplitres(v, argc);

    v = split(" \t\r\n\v\f ", &argc);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(argc, 0);
    sdsfreesplitres(v, argc);

    v = split("\"\" ''", &argc);
    ck_assert_int_eq(argc, 2);
    ck_assert_uint_eq(sdslen(v[0]), 0);
    ck_assert_uint_eq(sdslen(v[1]), 0);
    sdsfreesplitres(v, argc);
}
END_TEST

START_TEST(test_splitargs_quotes) {
    int argc;
    sds *v = split("\"a\\x20b\" 'c\\'d' \"e\\\"f\" \"\\q\"", &argc);
    ck_assert_int_eq(argc, 4);
    ck_assert_str_eq(v[0], "a b");
    ck_assert_str_eq(v[1], "c'd");
    ck_assert_str_eq(v[2], "e\"f");
    ck_assert_str_eq(v[3], "q");
    sdsfreesplitres(v, argc);

    /* a closing quote may be followed by any space, or the end */
    v = split("\"a\"\t'b'\n\"c\"", &argc);
    ck_assert_int_eq(argc, 3);
    ck_assert_str_eq(v[0], "a");
    ck_assert_str_eq(v[1], "b");
    ck_assert_str_eq(v[2], "c");
    sdsfreesplitres(v, argc);

    /* hex digits in either case */
    v = split("\"\\xfF\\x7e\"", &argc);
    ck_assert_int_eq(argc, 1);
    ck_assert_uint_eq(sdslen(v[0]), 2);
    ck_assert_mem_eq(v[0], "\xff~", 2);
    sdsfreesplitres(v, argc);
}
END_TEST

START_TEST(test_splitargs_unbalanced) {
    static const char *bad[] = {"\"", "'", "a \"b", "a 'b", "\"a\"b", "'a'b", "\"a\\\"", "\"\\x4", "x \"\\"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int argc = -1;
        size_t before = zmalloc_used_memory();
        sds *v = split(bad[i], &argc);
        ck_assert_msg(v == NULL, "'%s' should be unbalanced", bad[i]);
        ck_assert_int_eq(argc, 0);
        ck_assert_uint_eq(zmalloc_used_memory(), before);
    }
}
END_TEST

START_TEST(test_splitargs_bounded_by_len) {
    /* only len bytes are read: the rest of the buffer is not the line */
    const char buf[] = "get key\"unterminated";
    int argc;
    sds *v = sdssplitargs(buf, 7, &argc);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(argc, 2);
    ck_assert_str_eq(v[1], "key");
    sdsfreesplitres(v, argc);

    /* an escape cut by the end of the line does not read beyond it */
    const char buf2[] = "\"ab\\x41\"";
    v = sdssplitargs(buf2, 6, &argc); /* "ab\x4 */
    ck_assert_ptr_null(v);

    /* a NUL byte separates words rather than ending the line */
    const char buf3[] = "a\0b \"c\0d\"";
    v = sdssplitargs(buf3, sizeof(buf3) - 1, &argc);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(argc, 3);
    ck_assert_str_eq(v[0], "a");
    ck_assert_str_eq(v[1], "b");
    ck_assert_uint_eq(sdslen(v[2]), 3);
    ck_assert_mem_eq(v[2], "c\0d", 3);
    sdsfreesplitres(v, argc);
}
END_TEST

START_TEST(test_splitargs_many) {
    sds line = sdsempty();
    for (int i = 0; i < 1000; i++) line = sdscatprintf(line, "w%d ", i);
    int argc;
    sds *v = sdssplitargs(line, sdslen(line), &argc);
    ck_assert_int_eq(argc, 1000);
    ck_assert_str_eq(v[0], "w0");
    ck_assert_str_eq(v[999], "w999");
    sdsfreesplitres(v, argc);
    sdsfree(line);
    sdsfreesplitres(NULL, 0); /* tolerated */
}
END_TEST

Suite *resp_suite(void) {
    Suite *s = suite_create("resp");
    TCase *tc = tcase_create("multibulk");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_multibulk_basic);
    tcase_add_test(tc, test_multibulk_single_call_returns_one_command);
    tcase_add_test(tc, test_multibulk_pipelined);
    tcase_add_test(tc, test_multibulk_mixed_with_inline);
    tcase_add_test(tc, test_multibulk_incremental_all_chunk_sizes);
    tcase_add_test(tc, test_multibulk_byte_by_byte_prefixes);
    tcase_add_test(tc, test_multibulk_reset_midway_frees);
    tcase_add_test(tc, test_multibulk_binary_safe);
    tcase_add_test(tc, test_multibulk_empty_bulk);
    tcase_add_test(tc, test_multibulk_large_bulk);
    tcase_add_test(tc, test_multibulk_many_args);
    tcase_add_test(tc, test_multibulk_empty_requests_skipped);
    tcase_add_test(tc, test_multibulk_lf_only_headers);
    tcase_add_test(tc, test_multibulk_limits_accepted);
    tcase_add_test(tc, test_multibulk_no_allocation_from_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_err_invalid_multibulk_length);
    tcase_add_test(tc, test_err_multibulk_error_after_commands);
    tcase_add_test(tc, test_err_invalid_bulk_length);
    tcase_add_test(tc, test_err_expected_dollar);
    tcase_add_test(tc, test_err_too_big_count_strings);
    tcase_add_test(tc, test_redis_protocol_tcl_cases);
    tcase_add_test(tc, test_multibulk_payload_trailer_skipped);
    tcase_add_test(tc, test_caller_limits);
    suite_add_tcase(s, tc);

    tc = tcase_create("inline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_inline_basic);
    tcase_add_test(tc, test_inline_quotes_and_escapes);
    tcase_add_test(tc, test_inline_hex_escape_nul);
    tcase_add_test(tc, test_inline_empty_lines_skipped);
    tcase_add_test(tc, test_inline_incremental);
    tcase_add_test(tc, test_inline_max_size);
    tcase_add_test(tc, test_inline_unbalanced_quotes);
    suite_add_tcase(s, tc);

    tc = tcase_create("splitargs");
    tcase_add_test(tc, test_splitargs_basic);
    tcase_add_test(tc, test_splitargs_quotes);
    tcase_add_test(tc, test_splitargs_unbalanced);
    tcase_add_test(tc, test_splitargs_bounded_by_len);
    tcase_add_test(tc, test_splitargs_many);
    suite_add_tcase(s, tc);
    return s;
}
