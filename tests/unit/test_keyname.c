/* test_keyname.c - key names <-> file names (keyname.c): readable names
 * stay readable, everything else is escaped, the mapping is reversible and
 * canonical, and long names are shortened with a SHA-1 digest. */
#include "unit.h"
#include "keyname.h"
#include "sha1.h"
#include "zmalloc.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* encode name and check the result against want (NUL-terminated) */
static void assertEncodes(const char *name, size_t len, const char *want) {
    int hashed = -1;
    sds enc = keynameEncode(name, len, &hashed);
    ck_assert_int_eq(hashed, 0);
    ck_assert_msg(sdslen(enc) == strlen(want) && memcmp(enc, want, strlen(want)) == 0,
                  "encoded as '%s', expected '%s'", enc, want);
    ck_assert_int_eq(keynameIsHashed(enc, sdslen(enc)), 0);
    sds dec = keynameDecode(enc, sdslen(enc));
    ck_assert_ptr_nonnull(dec);
    ck_assert_uint_eq(sdslen(dec), len);
    ck_assert_mem_eq(dec, name, len);
    sdsfree(dec);
    sdsfree(enc);
}

static void assertDecodeFails(const char *fname, size_t len) {
    size_t before = zmalloc_used_memory();
    sds dec = keynameDecode(fname, len);
    ck_assert_msg(dec == NULL, "'%.*s' (%zu bytes) should not decode", (int)len, fname, len);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
}

#define S(lit) (lit), (sizeof(lit) - 1)

START_TEST(test_plain_names_unchanged) {
    static const char *names[] = {"user:1000", "session.abc", "a", "Z", "0", "key", "UPPER_lower-09",
                                  "a:b.c_d-e@f+g=h,i", "x.", "a..b", "foo...", "1.5", "-", "@", "+", "=", ",",
                                  ":", "_", "email@example.com"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assertEncodes(names[i], strlen(names[i]), names[i]);
}
END_TEST

START_TEST(test_escaped_bytes) {
    assertEncodes(S("/"), "%2F");
    assertEncodes(S("a/b"), "a%2Fb");
    assertEncodes(S("%"), "%25");
    assertEncodes(S("100%"), "100%25");
    assertEncodes(S("~"), "%7E");
    assertEncodes(S("a~b"), "a%7Eb");
    assertEncodes(S(" "), "%20");
    assertEncodes(S("hello world"), "hello%20world");
    assertEncodes(S("\0"), "%00");
    assertEncodes(S("a\0b"), "a%00b");
    assertEncodes(S("\n"), "%0A");
    assertEncodes(S("\r\n"), "%0D%0A");
    assertEncodes(S("\t"), "%09");
    assertEncodes(S("\x7f"), "%7F");
    assertEncodes(S("\x80"), "%80");
    assertEncodes(S("\xff"), "%FF");
    assertEncodes(S("caf\xc3\xa9"), "caf%C3%A9");
    assertEncodes(S("*?[]{}"), "%2A%3F%5B%5D%7B%7D");
    assertEncodes(S("\"'\\"), "%22%27%5C");
    assertEncodes(S("#!$&;<>|"), "%23%21%24%26%3B%3C%3E%7C");
}
END_TEST

START_TEST(test_leading_dot_escaped) {
    assertEncodes(S("."), "%2E");
    assertEncodes(S(".."), "%2E.");
    assertEncodes(S("..."), "%2E..");
    assertEncodes(S(".hidden"), "%2Ehidden");
    assertEncodes(S(".tmp"), "%2Etmp");
    assertEncodes(S(".expires"), "%2Eexpires");
    assertEncodes(S("a.b"), "a.b");
    assertEncodes(S("./x"), "%2E%2Fx");
    assertEncodes(S("../etc/passwd"), "%2E.%2Fetc%2Fpasswd");
}
END_TEST

START_TEST(test_empty_name) {
    int hashed = -1;
    sds enc = keynameEncode("", 0, &hashed);
    ck_assert_int_eq(hashed, 0);
    ck_assert_uint_eq(sdslen(enc), 1);
    ck_assert_str_eq(enc, "%");
    sds dec = keynameDecode(enc, sdslen(enc));
    ck_assert_ptr_nonnull(dec);
    ck_assert_uint_eq(sdslen(dec), 0);
    sdsfree(dec);
    sdsfree(enc);
}
END_TEST

START_TEST(test_plain_byte_set) {
    for (int c = 0; c < 256; c++) {
        int want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                   c == '.' || c == '_' || c == '-' || c == '@' || c == '+' || c == '=' || c == ',';
        ck_assert_msg(!!keynameIsPlainByte((unsigned char)c) == want, "byte 0x%02x", c);
        /* every single byte round-trips, plain ones unescaped */
        char b = (char)c;
        int hashed;
        sds enc = keynameEncode(&b, 1, &hashed);
        if (want && c != '.') {
            ck_assert_uint_eq(sdslen(enc), 1);
            ck_assert_int_eq((unsigned char)enc[0], c);
        } else {
            char esc[4];
            snprintf(esc, sizeof(esc), "%%%02X", c);
            ck_assert_str_eq(enc, esc);
        }
        sds dec = keynameDecode(enc, sdslen(enc));
        ck_assert_ptr_nonnull(dec);
        ck_assert_uint_eq(sdslen(dec), 1);
        ck_assert_int_eq((unsigned char)dec[0], c);
        sdsfree(dec);
        sdsfree(enc);
    }
}
END_TEST

START_TEST(test_decode_rejects_invalid) {
    assertDecodeFails("", 0);
    assertDecodeFails(S("."));
    assertDecodeFails(S(".."));
    assertDecodeFails(S(".hidden"));
    assertDecodeFails(S(".tmp"));
    /* bytes that are always escaped may not appear raw */
    assertDecodeFails(S("a/b"));
    assertDecodeFails(S("/"));
    assertDecodeFails(S("a b"));
    assertDecodeFails(S("a~b"));
    assertDecodeFails(S("a\0b"));
    assertDecodeFails(S("\n"));
    assertDecodeFails(S("caf\xc3\xa9"));
    assertDecodeFails(S("*"));
    /* bad escapes */
    assertDecodeFails(S("%%"));
    assertDecodeFails(S("a%"));
    assertDecodeFails(S("%2"));
    assertDecodeFails(S("a%2"));
    assertDecodeFails(S("%G0"));
    assertDecodeFails(S("%0G"));
    assertDecodeFails(S("%zz"));
    assertDecodeFails(S("%%20"));
    assertDecodeFails(S("%-1"));
    assertDecodeFails(S("% 2"));
    /* lower-case hex is not canonical */
    assertDecodeFails(S("%2f"));
    assertDecodeFails(S("%7e"));
    assertDecodeFails(S("%ff"));
    assertDecodeFails(S("%2e"));
    /* escapes of plain bytes are not canonical: one name, one file name */
    assertDecodeFails(S("%41"));
    assertDecodeFails(S("%61"));
    assertDecodeFails(S("%30"));
    assertDecodeFails(S("%3A"));
    assertDecodeFails(S("a%2E")); /* '.' is only escaped in front */
    assertDecodeFails(S("%2E%2E"));
    assertDecodeFails(S("%5F"));
    /* the empty name has exactly one form */
    assertDecodeFails(S("%%"));
    /* hashed names cannot be decoded */
    assertDecodeFails(S("abc~da39a3ee5e6b4b0d3255bfef95601890afd80709"));
}
END_TEST

START_TEST(test_decode_accepts_canonical) {
    static const struct { const char *fname; const char *name; size_t len; } ok[] = {
        {"%2E", ".", 1},
        {"%2E.", "..", 2},
        {"%2E%2F", "./", 2},
        {"a%00", "a\0", 2},
        {"%FF%80", "\xff\x80", 2},
        {"x%20y", "x y", 3},
        {"%25", "%", 1},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        sds dec = keynameDecode(ok[i].fname, strlen(ok[i].fname));
        ck_assert_ptr_nonnull(dec);
        ck_assert_uint_eq(sdslen(dec), ok[i].len);
        ck_assert_mem_eq(dec, ok[i].name, ok[i].len);
        sdsfree(dec);
    }
}
END_TEST

/* the plain (unshortened) encoding, computed independently */
static sds plainEncode(const unsigned char *name, size_t len) {
    if (len == 0) return sdsnew("%");
    sds out = sdsempty();
    for (size_t i = 0; i < len; i++) {
        if (keynameIsPlainByte(name[i]) && !(i == 0 && name[i] == '.')) out = sdscatlen(out, &name[i], 1);
        else out = sdscatprintf(out, "%%%02X", name[i]);
    }
    return out;
}

static int isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/* Everything a hashed file name must satisfy. */
static void checkHashed(const char *name, size_t len, sds enc) {
    size_t n = sdslen(enc);
    ck_assert_uint_le(n, 255);
    ck_assert_uint_le(n, 120 + 1 + 40);
    ck_assert_uint_ge(n, 118 + 1 + 40);
    ck_assert_int_ne(enc[0], '.');
    ck_assert_ptr_null(memchr(enc, '/', n));
    ck_assert_ptr_null(memchr(enc, '\0', n));
    ck_assert(keynameIsHashed(enc, n));
    /* <prefix>~<40 hex digits of SHA-1(name)> */
    ck_assert_int_eq(enc[n - 41], '~');
    ck_assert_ptr_eq(memchr(enc, '~', n), enc + n - 41); /* the only '~' */
    for (size_t i = n - 40; i < n; i++) ck_assert(isLowerHex(enc[i]));
    char hex[41];
    sha1hex(name, len, hex);
    ck_assert_mem_eq(enc + n - 40, hex, 40);
    /* the prefix is the start of the plain encoding, cut at 120 bytes or
     * just before an escape, so it is itself a valid encoded name */
    size_t plen = n - 41;
    int hashed;
    sds full = plainEncode((const unsigned char *)name, len);
    ck_assert_uint_gt(sdslen(full), 200);
    ck_assert_mem_eq(enc, full, plen);
    if (plen < 120) ck_assert_int_eq(full[plen], '%');
    sds dec = keynameDecode(enc, plen);
    ck_assert_ptr_nonnull(dec);
    ck_assert_uint_le(sdslen(dec), len);
    ck_assert_mem_eq(dec, name, sdslen(dec));
    sdsfree(dec);
    sdsfree(full);
    /* deterministic */
    sds again = keynameEncode(name, len, &hashed);
    ck_assert(hashed);
    ck_assert_uint_eq(sdslen(again), n);
    ck_assert_mem_eq(again, enc, n);
    sdsfree(again);
    /* not decodable as an ordinary name */
    ck_assert_ptr_null(keynameDecode(enc, n));
}

START_TEST(test_hash_threshold) {
    char name[400];
    int hashed;
    /* 200 encoded bytes: kept */
    memset(name, 'a', 200);
    sds enc = keynameEncode(name, 200, &hashed);
    ck_assert_int_eq(hashed, 0);
    ck_assert_uint_eq(sdslen(enc), 200);
    sdsfree(enc);
    /* 201: shortened */
    memset(name, 'a', 201);
    enc = keynameEncode(name, 201, &hashed);
    ck_assert_int_eq(hashed, 1);
    checkHashed(name, 201, enc);
    ck_assert_uint_eq(sdslen(enc), 161);
    ck_assert_mem_eq(enc, name, 120);
    sdsfree(enc);
    /* 66 escaped bytes + 2 plain = 200 encoded bytes: kept */
    memset(name, '/', 66);
    memcpy(name + 66, "ab", 2);
    enc = keynameEncode(name, 68, &hashed);
    ck_assert_int_eq(hashed, 0);
    ck_assert_uint_eq(sdslen(enc), 200);
    sdsfree(enc);
    /* 67 escaped bytes = 201 encoded bytes: shortened */
    memset(name, '/', 67);
    enc = keynameEncode(name, 67, &hashed);
    ck_assert_int_eq(hashed, 1);
    checkHashed(name, 67, enc);
    sdsfree(enc);
}
END_TEST

START_TEST(test_hash_prefix_cut_before_escape) {
    char name[300];
    int hashed;
    size_t expect[3] = {120, 119, 118}; /* escape at 117, 119 and 118 */
    size_t plain[3] = {117, 119, 118};
    for (int k = 0; k < 3; k++) {
        memset(name, 'b', sizeof(name));
        name[plain[k]] = '/';
        sds enc = keynameEncode(name, sizeof(name), &hashed);
        ck_assert_int_eq(hashed, 1);
        ck_assert_uint_eq(sdslen(enc) - 41, expect[k]);
        ck_assert_mem_eq(enc, name, plain[k]);
        if (expect[k] == 120) ck_assert_mem_eq(enc + 117, "%2F", 3);
        checkHashed(name, sizeof(name), enc);
        sdsfree(enc);
    }
    /* all escapes: the cut always lands on an escape boundary */
    memset(name, '~', sizeof(name));
    sds enc = keynameEncode(name, sizeof(name), &hashed);
    ck_assert_uint_eq(sdslen(enc) - 41, 120); /* 40 whole escapes */
    checkHashed(name, sizeof(name), enc);
    sdsfree(enc);
    /* a leading '.' stays escaped in the prefix */
    memset(name, 'c', sizeof(name));
    name[0] = '.';
    enc = keynameEncode(name, sizeof(name), &hashed);
    ck_assert_mem_eq(enc, "%2Ecc", 5);
    checkHashed(name, sizeof(name), enc);
    sdsfree(enc);
}
END_TEST

START_TEST(test_hash_differs_with_same_prefix) {
    char a[500], b[500];
    int ha, hb;
    memset(a, 'k', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[499] = 'K';
    sds ea = keynameEncode(a, sizeof(a), &ha), eb = keynameEncode(b, sizeof(b), &hb);
    ck_assert(ha && hb);
    ck_assert_uint_eq(sdslen(ea), sdslen(eb));
    ck_assert_mem_eq(ea, eb, sdslen(ea) - 40);
    ck_assert(memcmp(ea, eb, sdslen(ea)) != 0);
    sdsfree(ea);
    sdsfree(eb);
    /* a name one byte longer, too */
    ea = keynameEncode(a, 499, &ha);
    eb = keynameEncode(a, 500, &hb);
    ck_assert(ha && hb);
    ck_assert(memcmp(ea, eb, sdslen(ea)) != 0);
    sdsfree(ea);
    sdsfree(eb);
}
END_TEST

/* deterministic PRNG (xorshift64*) so failures are reproducible */
static uint64_t rngState = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void) {
    rngState ^= rngState >> 12;
    rngState ^= rngState << 25;
    rngState ^= rngState >> 27;
    return rngState * 2685821657736338717ULL;
}

typedef struct { sds name; sds enc; } pair;

static int cmpEnc(const void *a, const void *b) {
    const pair *x = a, *y = b;
    size_t lx = sdslen(x->enc), ly = sdslen(y->enc);
    int c = memcmp(x->enc, y->enc, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

START_TEST(test_roundtrip_random) {
    enum { N = 10000 };
    pair *all = malloc(sizeof(pair) * N);
    int nhashed = 0, nplain = 0;
    size_t before = zmalloc_used_memory();
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(rng() % 301);
        unsigned char buf[300];
        int mode = (int)(rng() % 4);
        for (size_t j = 0; j < len; j++) {
            uint64_t r = rng();
            if (mode == 0) buf[j] = (unsigned char)r; /* any byte */
            else if (mode == 1) buf[j] = "abcXYZ019:._-@+=,"[r % 17]; /* plain bytes */
            else if (mode == 2) buf[j] = "./%~ \0\n\xff"[r % 8]; /* the tricky ones */
            else buf[j] = (r & 1) ? (unsigned char)(r >> 8) : (unsigned char)('a' + (r >> 8) % 26);
        }
        int hashed = -1;
        sds enc = keynameEncode((char *)buf, len, &hashed);
        size_t n = sdslen(enc);
        sds plain = plainEncode(buf, len);
        size_t plainLen = sdslen(plain);
        ck_assert_int_eq(hashed, plainLen > 200);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_le(n, 255);
        ck_assert_int_ne(enc[0], '.');
        ck_assert_ptr_null(memchr(enc, '/', n));
        ck_assert_ptr_null(memchr(enc, '\0', n));
        ck_assert_int_eq(!!keynameIsHashed(enc, n), hashed);
        for (size_t j = 0; j < n; j++) {
            unsigned char c = (unsigned char)enc[j];
            ck_assert(keynameIsPlainByte(c) || c == '%' || c == '~');
        }
        if (hashed) {
            nhashed++;
            checkHashed((char *)buf, len, enc);
        } else {
            nplain++;
            ck_assert_uint_eq(n, plainLen);
            ck_assert_mem_eq(enc, plain, n);
            sds dec = keynameDecode(enc, n);
            ck_assert_ptr_nonnull(dec);
            ck_assert_uint_eq(sdslen(dec), len);
            ck_assert_mem_eq(dec, buf, len);
            sdsfree(dec);
        }
        sdsfree(plain);
        all[i].name = sdsnewlen(buf, len);
        all[i].enc = enc;
    }
    ck_assert_int_gt(nhashed, 1000);
    ck_assert_int_gt(nplain, 1000);
    /* different names never share a file name */
    qsort(all, N, sizeof(pair), cmpEnc);
    for (int i = 1; i < N; i++) {
        if (cmpEnc(&all[i - 1], &all[i]) == 0) {
            ck_assert_uint_eq(sdslen(all[i - 1].name), sdslen(all[i].name));
            ck_assert_mem_eq(all[i - 1].name, all[i].name, sdslen(all[i].name));
        }
    }
    for (int i = 0; i < N; i++) {
        sdsfree(all[i].name);
        sdsfree(all[i].enc);
    }
    free(all);
    ck_assert_uint_eq(zmalloc_used_memory(), before);
}
END_TEST

Suite *keyname_suite(void) {
    Suite *s = suite_create("keyname");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, test_plain_names_unchanged);
    tcase_add_test(tc, test_escaped_bytes);
    tcase_add_test(tc, test_leading_dot_escaped);
    tcase_add_test(tc, test_empty_name);
    tcase_add_test(tc, test_plain_byte_set);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, test_decode_rejects_invalid);
    tcase_add_test(tc, test_decode_accepts_canonical);
    suite_add_tcase(s, tc);

    tc = tcase_create("hashed");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hash_threshold);
    tcase_add_test(tc, test_hash_prefix_cut_before_escape);
    tcase_add_test(tc, test_hash_differs_with_same_prefix);
    tcase_add_test(tc, test_roundtrip_random);
    suite_add_tcase(s, tc);
    return s;
}
