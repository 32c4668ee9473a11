/* test_util.c - number parsing and formatting as Redis does it, glob
 * matching, SHA-1 and the small hashing/random helpers (util.c, sha1.c). */
#include "unit.h"
#include "util.h"
#include "sds.h"
#include "sha1.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S(lit) (lit), (sizeof(lit) - 1)

/* ---------------------------------------------------------------------------
 * string2ll / string2l / string2ull */

static void ll_ok(const char *s, size_t len, long long want) {
    long long v = 12345;
    ck_assert_msg(string2ll(s, len, &v) == 1, "string2ll('%.*s') should succeed", (int)len, s);
    ck_assert_int_eq(v, want);
    ck_assert_int_eq(string2ll(s, len, NULL), 1);
}
static void ll_bad(const char *s, size_t len) {
    long long v = 12345;
    ck_assert_msg(string2ll(s, len, &v) == 0, "string2ll('%.*s') should fail", (int)len, s);
    ck_assert_int_eq(v, 12345); /* untouched */
}

START_TEST(test_string2ll_valid) {
    ll_ok(S("0"), 0);
    ll_ok(S("1"), 1);
    ll_ok(S("-1"), -1);
    ll_ok(S("10"), 10);
    ll_ok(S("123456789"), 123456789);
    ll_ok(S("-100"), -100);
    ll_ok(S("9223372036854775807"), LLONG_MAX);
    ll_ok(S("-9223372036854775808"), LLONG_MIN);
    ll_ok(S("9223372036854775806"), LLONG_MAX - 1);
    ll_ok(S("-9223372036854775807"), LLONG_MIN + 1);
    /* only slen bytes are looked at */
    ll_ok("123abc", 3, 123);
    ll_ok("-42 ", 3, -42);
}
END_TEST

START_TEST(test_string2ll_invalid) {
    ll_bad("", 0);
    ll_bad(S("-"));
    ll_bad(S("+1"));
    ll_bad(S("+0"));
    ll_bad(S(" 1"));
    ll_bad(S("1 "));
    ll_bad(S("\t1"));
    ll_bad(S("1\n"));
    ll_bad(S("01"));
    ll_bad(S("00"));
    ll_bad(S("-0"));
    ll_bad(S("-01"));
    ll_bad(S("1a"));
    ll_bad(S("a1"));
    ll_bad(S("1.0"));
    ll_bad(S("1e3"));
    ll_bad(S("0x10"));
    ll_bad(S("--1"));
    ll_bad(S("1-"));
    ll_bad(S("9223372036854775808"));
    ll_bad(S("-9223372036854775809"));
    ll_bad(S("18446744073709551615"));
    ll_bad(S("18446744073709551616"));
    ll_bad(S("99999999999999999999"));
    ll_bad(S("100000000000000000000"));
    ll_bad(S("-99999999999999999999"));
    ll_bad(S("000000000000000000001"));
    ll_bad(S("1\0")); /* embedded NUL */
    ll_bad(S("\0"));
}
END_TEST

/* A pseudo-random value of random magnitude and sign (xorshift64). */
static long long randomMagnitude(unsigned long long *x, unsigned shifts) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (long long)*x >> (*x % shifts);
}

START_TEST(test_string2ll_roundtrip) {
    /* every value printed by ll2string parses back */
    static const long long vals[] = {0, 1, -1, 9, 10, -10, 99, 100, 12345678, -987654321, 4294967296LL,
                                     LLONG_MAX, LLONG_MIN, LLONG_MAX / 10, LLONG_MIN / 10};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char buf[32];
        int n = ll2string(buf, sizeof(buf), vals[i]);
        ck_assert_int_gt(n, 0);
        ck_assert_uint_eq(strlen(buf), (size_t)n);
        ll_ok(buf, (size_t)n, vals[i]);
    }
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 10000; i++) {
        long long v = randomMagnitude(&x, 60);
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", v);
        ll_ok(buf, (size_t)n, v);
    }
}
END_TEST

START_TEST(test_ll2string) {
    char buf[32];
    ck_assert_int_eq(ll2string(buf, sizeof(buf), 0), 1);
    ck_assert_str_eq(buf, "0");
    ck_assert_int_eq(ll2string(buf, sizeof(buf), -42), 3);
    ck_assert_str_eq(buf, "-42");
    ck_assert_int_eq(ll2string(buf, sizeof(buf), LLONG_MIN), 20);
    ck_assert_str_eq(buf, "-9223372036854775808");
    ck_assert_int_eq(ll2string(buf, sizeof(buf), LLONG_MAX), 19);
    ck_assert_str_eq(buf, "9223372036854775807");
    /* no room: 0 */
    ck_assert_int_eq(ll2string(buf, 3, 123), 0);
    ck_assert_int_eq(ll2string(buf, 4, 123), 3);
    ck_assert_str_eq(buf, "123");
    ck_assert_int_eq(ll2string(buf, 20, LLONG_MIN), 0);
    ck_assert_int_eq(ll2string(buf, 21, LLONG_MIN), 20);
    /* the same digits as printf's, across magnitudes and signs */
    unsigned long long x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 20000; i++) {
        long long v = randomMagnitude(&x, 64);
        char want[32];
        int n = snprintf(want, sizeof(want), "%lld", v);
        ck_assert_int_eq(ll2string(buf, sizeof(buf), v), n);
        ck_assert_str_eq(buf, want);
    }
}
END_TEST

START_TEST(test_db_scoped_name) {
    char buf[64];
    ck_assert_uint_eq(dbScopedName(buf, 0, "k", 1), 3);
    ck_assert(memcmp(buf, "0:k", 3) == 0);
    ck_assert_uint_eq(dbScopedName(buf, 15, "a\0b", 3), 6);
    ck_assert(memcmp(buf, "15:a\0b", 6) == 0);
    ck_assert_uint_eq(dbScopedName(buf, -2147483647 - 1, "", 0), 12);
    ck_assert(memcmp(buf, "-2147483648:", 12) == 0);
}
END_TEST

START_TEST(test_string2l) {
    long v = 7;
    ck_assert_int_eq(string2l(S("0"), &v), 1);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(string2l(S("-123"), &v), 1);
    ck_assert_int_eq(v, -123);
    char buf[32];
    snprintf(buf, sizeof(buf), "%ld", LONG_MAX);
    ck_assert_int_eq(string2l(buf, strlen(buf), &v), 1);
    ck_assert_int_eq(v, LONG_MAX);
    snprintf(buf, sizeof(buf), "%ld", LONG_MIN);
    ck_assert_int_eq(string2l(buf, strlen(buf), &v), 1);
    ck_assert_int_eq(v, LONG_MIN);
    v = 7;
    ck_assert_int_eq(string2l(S("+1"), &v), 0);
    ck_assert_int_eq(string2l(S("01"), &v), 0);
    ck_assert_int_eq(string2l(S(" 1"), &v), 0);
    ck_assert_int_eq(string2l(S(""), &v), 0);
    ck_assert_int_eq(string2l(S("1x"), &v), 0);
    ck_assert_int_eq(string2l(S("99999999999999999999"), &v), 0);
#if LONG_MAX < LLONG_MAX
    ck_assert_int_eq(string2l(S("9223372036854775807"), &v), 0);
#else
    ck_assert_int_eq(string2l(S("9223372036854775808"), &v), 0);
#endif
    ck_assert_int_eq(v, 7);
}
END_TEST

START_TEST(test_string2ull) {
    unsigned long long v = 7;
    ck_assert_int_eq(string2ull(S("0"), &v), 1);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(string2ull(S("42"), &v), 1);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(string2ull(S("9223372036854775808"), &v), 1);
    ck_assert_uint_eq(v, 9223372036854775808ULL);
    ck_assert_int_eq(string2ull(S("18446744073709551615"), &v), 1);
    ck_assert_uint_eq(v, ULLONG_MAX);
    ck_assert_int_eq(string2ull("17abc", 2, &v), 1);
    ck_assert_uint_eq(v, 17);
    v = 7;
    ck_assert_int_eq(string2ull(S("18446744073709551616"), &v), 0);
    ck_assert_int_eq(string2ull(S("99999999999999999999999"), &v), 0);
    ck_assert_int_eq(string2ull(S("-1"), &v), 0);
    ck_assert_int_eq(string2ull(S("-0"), &v), 0);
    ck_assert_int_eq(string2ull(S("+1"), &v), 0);
    ck_assert_int_eq(string2ull(S(" 1"), &v), 0);
    ck_assert_int_eq(string2ull(S("1 "), &v), 0);
    ck_assert_int_eq(string2ull(S("01"), &v), 0);
    ck_assert_int_eq(string2ull(S("1a"), &v), 0);
    ck_assert_int_eq(string2ull(S("0x1"), &v), 0);
    ck_assert_int_eq(string2ull(S(""), &v), 0);
    ck_assert_int_eq(string2ull(S("1.5"), &v), 0);
    /* binary safe: the bytes after a NUL count */
    ck_assert_int_eq(string2ull(S("5\0"), &v), 0);
    ck_assert_int_eq(string2ull(S("5\0abc"), &v), 0);
    /* too long to be a number */
    ck_assert_int_eq(string2ull(S("00000000000000000000000000000000001"), &v), 0);
    ck_assert_uint_eq(v, 7);
}
END_TEST

/* ---------------------------------------------------------------------------
 * string2d / string2ld */

static void d_ok(const char *s, size_t len, double want) {
    double v = 12345;
    ck_assert_msg(string2d(s, len, &v) == 1, "string2d('%.*s') should succeed", (int)len, s);
    ck_assert_msg(v == want && signbit(v) == signbit(want), "string2d('%.*s') = %.17g, want %.17g", (int)len, s, v,
                  want);
}
static void d_bad(const char *s, size_t len) {
    double v = 12345;
    ck_assert_msg(string2d(s, len, &v) == 0, "string2d('%.*s') should fail", (int)len, s);
    ck_assert(v == 12345);
    long double lv = 12345;
    ck_assert_msg(string2ld(s, len, &lv) == 0, "string2ld('%.*s') should fail", (int)len, s);
    ck_assert(lv == 12345);
}

START_TEST(test_string2d) {
    d_ok(S("0"), 0);
    d_ok(S("-0"), -0.0);
    d_ok(S("1"), 1);
    d_ok(S("1.5"), 1.5);
    d_ok(S("-2.25"), -2.25);
    d_ok(S("+3"), 3);
    d_ok(S(".5"), 0.5);
    d_ok(S("5."), 5);
    d_ok(S("1e10"), 1e10);
    d_ok(S("1E10"), 1e10);
    d_ok(S("5.0e3"), 5000);
    d_ok(S("-1e-3"), -0.001);
    d_ok(S("0.1"), 0.1);
    d_ok(S("inf"), INFINITY);
    d_ok(S("-inf"), -INFINITY);
    d_ok(S("+inf"), INFINITY);
    d_ok(S("Inf"), INFINITY);
    d_ok(S("1.7976931348623157e308"), 1.7976931348623157e308);
    d_ok("3.25xyz", 4, 3.25);
    d_bad("", 0);
    d_bad(S(" 1"));
    d_bad(S("1 "));
    d_bad(S(" "));
    d_bad(S("\t1"));
    d_bad(S("nan"));
    d_bad(S("NaN"));
    d_bad(S("-nan"));
    d_bad(S("abc"));
    d_bad(S("1.5x"));
    d_bad(S("1e"));
    d_bad(S("--1"));
    d_bad(S("1\0"));
    d_bad(S("1e999999")); /* overflow */
    d_bad(S("-1e999999"));
}
END_TEST

START_TEST(test_string2d_range) {
    double v;
    /* out of double range: rejected as Redis does (ERANGE to HUGE_VAL or 0) */
    ck_assert_int_eq(string2d(S("1e400"), &v), 0);
    ck_assert_int_eq(string2d(S("-1e400"), &v), 0);
    ck_assert_int_eq(string2d(S("1e-400"), &v), 0);
    /* a long but valid number */
    char buf[300];
    memset(buf, '0', sizeof(buf));
    buf[0] = '1';
    buf[1] = '.';
    ck_assert_int_eq(string2d(buf, 200, &v), 1);
    ck_assert(v == 1.0);
    ck_assert_int_eq(string2d(buf, sizeof(buf), &v), 0); /* over 255 bytes */
}
END_TEST

START_TEST(test_string2ld) {
    long double v = 0;
    ck_assert_int_eq(string2ld(S("10.5"), &v), 1);
    ck_assert(v == 10.5L);
    ck_assert_int_eq(string2ld(S("5.0e3"), &v), 1);
    ck_assert(v == 5000.0L);
    ck_assert_int_eq(string2ld(S("-3"), &v), 1);
    ck_assert(v == -3.0L);
    ck_assert_int_eq(string2ld(S("inf"), &v), 1);
    ck_assert(isinf(v) && v > 0);
    ck_assert_int_eq(string2ld(S("-inf"), &v), 1);
    ck_assert(isinf(v) && v < 0);
    ck_assert_int_eq(string2ld(S("1e10"), &v), 1);
    ck_assert(v == 1e10L);
    ck_assert_int_eq(string2ld(S("0.1"), &v), 1);
    ck_assert(v == 0.1L);
    ck_assert_int_eq(string2ld(S("1.5"), NULL), 1);
    v = 7;
    ck_assert_int_eq(string2ld(S("nan"), &v), 0);
    ck_assert_int_eq(string2ld(S(" 1"), &v), 0);
    ck_assert_int_eq(string2ld(S("1 "), &v), 0);
    ck_assert_int_eq(string2ld(S(""), &v), 0);
    ck_assert_int_eq(string2ld(S("1x"), &v), 0);
    ck_assert_int_eq(string2ld(S("2\0"), &v), 0);
    ck_assert(v == 7);
    /* up to 5119 bytes */
    char *buf = malloc(6000);
    memset(buf, '0', 6000);
    buf[0] = '2';
    buf[1] = '.';
    ck_assert_int_eq(string2ld(buf, 5119, &v), 1);
    ck_assert(v == 2.0L);
    ck_assert_int_eq(string2ld(buf, 5120, &v), 0);
    free(buf);
}
END_TEST

/* ---------------------------------------------------------------------------
 * d2string / ld2string */

static void d2s(double d, const char *want) {
    char buf[128];
    int n = d2string(buf, sizeof(buf), d);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(test_d2string) {
    d2s(1, "1");
    d2s(-3, "-3");
    d2s(0, "0");
    d2s(-0.0, "-0");
    d2s(10, "10");
    d2s(1.5, "1.5");
    d2s(-2.5, "-2.5");
    d2s(0.1, "0.10000000000000001");
    d2s(3.14, "3.1400000000000001");
    d2s(1e-5, "1.0000000000000001e-05");
    d2s(1e20, "1e+20");
    d2s(1e15, "1000000000000000");
    d2s(4503599627370495.0, "4503599627370495");
    d2s(4503599627370496.0, "4503599627370496");
    d2s(-4503599627370496.0, "-4503599627370496");
    d2s(9007199254740993.0, "9007199254740992");
    d2s(1.7976931348623157e308, "1.7976931348623157e+308");
    d2s(INFINITY, "inf");
    d2s(-INFINITY, "-inf");
    d2s(NAN, "nan");
    /* the output always parses back to the same double */
    unsigned long long x = 0x2545F4914F6CDD1DULL;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double d;
        memcpy(&d, &x, sizeof(d));
        if (isnan(d)) continue;
        char buf[128];
        int n = d2string(buf, sizeof(buf), d);
        double back;
        ck_assert_int_eq(string2d(buf, (size_t)n, &back), 1);
        ck_assert_msg(back == d, "%s", buf);
    }
}
END_TEST

static void ld2h(long double d, const char *want) {
    char buf[5120];
    int n = ld2string(buf, sizeof(buf), d, 1);
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(n, (int)strlen(want));
}

START_TEST(test_ld2string_humanfriendly) {
    ld2h(10.5L, "10.5");
    ld2h(3.0L, "3");
    ld2h(5.0e3L, "5000");
    ld2h(0, "0");
    ld2h(-0.0L, "0");
    ld2h(-2.5L, "-2.5");
    ld2h(0.1L, "0.1");
    ld2h(10.5L + 0.1L, "10.6");
    ld2h(1.25L, "1.25");
    ld2h(100.0L, "100");
    ld2h(1e20L, "100000000000000000000");
    ld2h(-1e3L, "-1000");
    ld2h(0.001L, "0.001");
    ld2h(1.0e-17L, "0.00000000000000001");
    ld2h(1.0e-18L, "0"); /* beyond 17 decimals */
    ld2h(INFINITY, "inf");
    ld2h(-INFINITY, "-inf");
    /* the largest long double fits the 5120-byte buffers the callers use */
    char big[5120];
    int n = ld2string(big, sizeof(big), LDBL_MAX, 1);
    ck_assert_int_gt(n, 300);
    ck_assert_uint_eq(strlen(big), (size_t)n);
    ck_assert_ptr_null(strchr(big, '.'));
    ck_assert_int_gt(ld2string(big, sizeof(big), -LDBL_MAX, 1), n);
    /* INCRBYFLOAT examples from Redis's test suite */
    long double v;
    ck_assert_int_eq(string2ld(S("10.5"), &v), 1);
    ld2h(v + 0.1L, "10.6");
    ck_assert_int_eq(string2ld(S("5.0e3"), &v), 1);
    ld2h(v + 1, "5001");
    ld2h(17179869184.0L + 1.5L, "17179869185.5");
}
END_TEST

START_TEST(test_ld2string_other) {
    char buf[64];
    ck_assert_int_eq(ld2string(buf, sizeof(buf), 3.0L, 0), 1);
    ck_assert_str_eq(buf, "3");
    ck_assert_int_eq(ld2string(buf, sizeof(buf), 0.5L, 0), 3);
    ck_assert_str_eq(buf, "0.5");
    ck_assert_int_gt(ld2string(buf, sizeof(buf), 1e20L, 0), 0);
    ck_assert_str_eq(buf, "1e+20");
    /* no room: 0 */
    ck_assert_int_eq(ld2string(buf, 4, INFINITY, 1), 0);
    ck_assert_int_eq(ld2string(buf, 5, -INFINITY, 1), 4);
    ck_assert_str_eq(buf, "-inf");
    ck_assert_int_eq(ld2string(buf, 5, 123.5L, 1), 0);
    ck_assert_int_eq(ld2string(buf, 5, 123.5L, 0), 0);
}
END_TEST

/* ---------------------------------------------------------------------------
 * stringmatchlen. Pattern and string are copied into buffers of exactly
 * their size, so any read beyond their length is caught by ASan. */

static int match(const char *pat, size_t plen, const char *str, size_t slen, int nocase) {
    char *p = malloc(plen ? plen : 1), *s = malloc(slen ? slen : 1);
    memcpy(p, pat, plen);
    memcpy(s, str, slen);
    int r = stringmatchlen(p, (int)plen, s, (int)slen, nocase);
    free(p);
    free(s);
    return r;
}
static int m(const char *pat, const char *str) { return match(pat, strlen(pat), str, strlen(str), 0); }
static int mi(const char *pat, const char *str) { return match(pat, strlen(pat), str, strlen(str), 1); }

#define MATCH(p, s) ck_assert_msg(m(p, s) == 1, "'%s' should match '%s'", p, s)
#define NOMATCH(p, s) ck_assert_msg(m(p, s) == 0, "'%s' should not match '%s'", p, s)

START_TEST(test_match_literal_and_empty) {
    MATCH("hello", "hello");
    NOMATCH("hello", "hell");
    NOMATCH("hell", "hello");
    NOMATCH("hello", "Hello");
    MATCH("", "");
    NOMATCH("", "a");
    NOMATCH("a", "");
    NOMATCH("?", "");
    NOMATCH("[a]", "");
    /* as in Redis, a lone '*' does not match the empty string (KEYS and
     * SCAN special-case the "*" pattern before calling the matcher) */
    NOMATCH("*", "");
    NOMATCH("**", "");
}
END_TEST

START_TEST(test_match_star) {
    MATCH("*", "anything");
    MATCH("*", "x");
    MATCH("**", "x");
    MATCH("h*", "h");
    MATCH("h*", "hello");
    MATCH("*o", "hello");
    MATCH("*llo", "hello");
    NOMATCH("*llo", "hell");
    MATCH("h*o", "ho");
    MATCH("h*o", "hello");
    NOMATCH("h*o", "hella");
    MATCH("he*", "he");
    MATCH("he**", "he");
    MATCH("h*o*", "hello");
    MATCH("a*b*c", "abc");
    MATCH("a*b*c", "aXbYc");
    MATCH("a*b*c", "abbbc");
    MATCH("a*b*c", "aXXbc");
    MATCH("a*b*c", "abcbc");
    NOMATCH("a*b*c", "acb");
    NOMATCH("a*b*c", "ab");
    NOMATCH("a*b*c", "abcd");
    MATCH("user:*:name", "user:1000:name");
    NOMATCH("user:*:name", "user:1000:email");
    MATCH("*:*", "a:b");
    MATCH("*a*", "banana");
    NOMATCH("*z*", "banana");
}
END_TEST

START_TEST(test_match_question) {
    MATCH("h?llo", "hello");
    MATCH("h?llo", "hallo");
    NOMATCH("h?llo", "hllo");
    NOMATCH("h?llo", "heello");
    MATCH("???", "abc");
    NOMATCH("???", "ab");
    MATCH("?*", "a");
    NOMATCH("?*", "");
    MATCH("*?", "abc");
}
END_TEST

START_TEST(test_match_classes) {
    MATCH("h[ae]llo", "hello");
    MATCH("h[ae]llo", "hallo");
    NOMATCH("h[ae]llo", "hillo");
    NOMATCH("h[ae]llo", "hllo");
    MATCH("h[^e]llo", "hallo");
    NOMATCH("h[^e]llo", "hello");
    MATCH("h[a-b]llo", "hallo");
    MATCH("h[a-b]llo", "hbllo");
    NOMATCH("h[a-b]llo", "hcllo");
    MATCH("[b-a]", "a"); /* reversed ranges work */
    MATCH("[0-9]", "5");
    NOMATCH("[0-9]", "a");
    MATCH("[a-z0-9_]*", "k_9");
    NOMATCH("[^a-z]", "q");
    MATCH("[^a-z]", "Q");
    MATCH("[\\]]", "]");
    MATCH("[\\^a]", "^");
    MATCH("[a\\-z]", "-");
    NOMATCH("[a\\-z]", "b");
    MATCH("x[abc", "xa"); /* unterminated class: up to the end */
    NOMATCH("x[abc", "xd");
    NOMATCH("[", "a");
    NOMATCH("[]", "a");
}
END_TEST

START_TEST(test_match_escapes) {
    MATCH("h\\*llo", "h*llo");
    NOMATCH("h\\*llo", "hello");
    MATCH("\\?", "?");
    NOMATCH("\\?", "a");
    MATCH("\\[a]", "[a]");
    NOMATCH("\\[a]", "a");
    MATCH("\\\\", "\\");
    MATCH("a\\", "a\\"); /* a trailing backslash is literal */
    MATCH("\\a", "a");
}
END_TEST

START_TEST(test_match_nocase) {
    ck_assert_int_eq(mi("HeLLo", "hello"), 1);
    ck_assert_int_eq(m("HeLLo", "hello"), 0);
    ck_assert_int_eq(mi("h*O", "HELLO"), 1);
    ck_assert_int_eq(mi("[A-Z]", "q"), 1);
    ck_assert_int_eq(m("[A-Z]", "q"), 0);
    ck_assert_int_eq(mi("[abc]", "B"), 1);
    ck_assert_int_eq(m("[abc]", "B"), 0);
    ck_assert_int_eq(mi("[^abc]", "B"), 0);
    ck_assert_int_eq(mi("config|get", "CONFIG|GET"), 1);
    ck_assert_int_eq(mi("abc", "abd"), 0);
}
END_TEST

START_TEST(test_match_binary) {
    ck_assert_int_eq(match(S("a\0*"), S("a\0bc"), 0), 1);
    ck_assert_int_eq(match(S("a\0*"), S("a\1bc"), 0), 0);
    ck_assert_int_eq(match(S("?"), S("\0"), 0), 1);
    ck_assert_int_eq(match(S("[\x80-\xff]"), S("\xc3"), 0), 1);
    ck_assert_int_eq(match(S("[\x80-\xff]"), S("a"), 0), 0);
    ck_assert_int_eq(match(S("*\xff"), S("ab\xff"), 0), 1);
}
END_TEST

START_TEST(test_match_respects_pattern_length) {
    /* only patternLen bytes of the pattern count, whatever follows them */
    ck_assert_int_eq(stringmatchlen("**", 1, "abc", 3, 0), 1);
    ck_assert_int_eq(stringmatchlen("a*", 1, "a", 1, 0), 1);
    ck_assert_int_eq(stringmatchlen("a*", 1, "ab", 2, 0), 0);
    ck_assert_int_eq(stringmatchlen("ab*", 2, "ab", 2, 0), 1);
    ck_assert_int_eq(stringmatchlen("*a**", 2, "xa", 2, 0), 1);
    ck_assert_int_eq(stringmatchlen("hello", 5, "hello world", 5, 0), 1);
}
END_TEST

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_match_pathological_fast) {
    /* exponential without the "skip longer matches" rule */
    sds pat = sdsempty();
    for (int i = 0; i < 50; i++) pat = sdscat(pat, "a*");
    pat = sdscat(pat, "b");
    char *str = malloc(20000);
    memset(str, 'a', 20000);
    double t0 = now();
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 20000, 0), 0);
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 20000, 1), 0);
    str[19999] = 'b';
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 20000, 0), 1);
    sdsfree(pat);
    pat = sdsnew("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c");
    str[19999] = 'a';
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 20000, 0), 0);
    sdsfree(pat);
    pat = sdsnew("[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*[a-z]*?x");
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 20000, 0), 0);
    double elapsed = now() - t0;
    ck_assert_msg(elapsed < 2.0, "pathological patterns took %.2fs", elapsed);
    sdsfree(pat);
    free(str);
}
END_TEST

START_TEST(test_match_nesting_limit) {
    /* Redis's bound: a pattern of up to 1000 star groups can match, more
     * never does (no stack overflow); a run of stars is one group */
    char *str = malloc(5000);
    memset(str, 'x', 5000);
    sds pat = sdsempty();
    for (int i = 0; i < 1000; i++) pat = sdscat(pat, "*?");
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 5000, 0), 1);
    pat = sdscat(pat, "*?");
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 5000, 0), 0);
    sdsfree(pat);
    pat = sdsempty();
    for (int i = 0; i < 100000; i++) pat = sdscat(pat, "*");
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 5000, 0), 1);
    pat = sdscat(pat, "x");
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 5000, 0), 1);
    pat = sdscat(pat, "y");
    ck_assert_int_eq(stringmatchlen(pat, (int)sdslen(pat), str, 5000, 0), 0);
    sdsfree(pat);
    free(str);
}
END_TEST

/* ---------------------------------------------------------------------------
 * SHA-1 */

static void sha1is(const void *data, size_t len, const char *want) {
    char hex[41];
    memset(hex, 'Z', sizeof(hex));
    sha1hex(data, len, hex);
    ck_assert_str_eq(hex, want);
    /* the same through SHA1Update in uneven pieces */
    static const size_t pieces[] = {1, 3, 63, 64, 65, 1000};
    for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
        SHA1_CTX ctx;
        unsigned char d[20];
        SHA1Init(&ctx);
        size_t off = 0, step = pieces[k];
        while (off < len) {
            size_t n = len - off < step ? len - off : step;
            SHA1Update(&ctx, (const char *)data + off, n);
            off += n;
            step = step * 7 % 97 + 1; /* vary the piece sizes */
        }
        SHA1Final(d, &ctx);
        char h2[41];
        for (int i = 0; i < 20; i++) snprintf(h2 + 2 * i, 3, "%02x", d[i]);
        ck_assert_str_eq(h2, want);
    }
}

START_TEST(test_sha1_vectors) {
    sha1is("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    /* FIPS 180-1 appendix A (the value given in the task brief was wrong) */
    sha1is(S("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    sha1is(S("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    sha1is(S("The quick brown fox jumps over the lazy dog"), "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
    /* lengths around the padding boundary */
    char a[66];
    memset(a, 'a', sizeof(a));
    sha1is(a, 55, "c1c8bbdc22796e28c0e15163d20899b65621d65a");
    sha1is(a, 56, "c2db330f6083854c99d4b5bfb6e8f29f201be699");
    sha1is(a, 63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5");
    sha1is(a, 64, "0098ba824b5c16427bd7a1122a5a442a25ec644d");
    sha1is(a, 65, "11655326c708d70319be2610e8a57d9a5b959d3b");
    /* all byte values */
    unsigned char all[1024];
    for (int i = 0; i < 1024; i++) all[i] = (unsigned char)i;
    sha1is(all, sizeof(all), "5b00669c480d5cffbdfa8bdba99561160f2d1b77");
}
END_TEST

START_TEST(test_sha1_million_a) {
    size_t n = 1000000;
    char *buf = malloc(n);
    memset(buf, 'a', n);
    sha1is(buf, n, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    unsigned char d[20];
    sha1(buf, n, d);
    ck_assert_int_eq(d[0], 0x34);
    ck_assert_int_eq(d[19], 0x6f);
    free(buf);
}
END_TEST

/* ---------------------------------------------------------------------------
 * small helpers */

START_TEST(test_random_hex) {
    char a[101], b[101];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    getRandomHexChars(a, 100);
    getRandomHexChars(b, 100);
    ck_assert_uint_eq(strlen(a), 100); /* exactly len bytes written */
    for (int i = 0; i < 100; i++) ck_assert_ptr_nonnull(strchr("0123456789abcdef", a[i]));
    ck_assert(memcmp(a, b, 100) != 0);
    char c[3] = {'x', 'x', 'x'};
    getRandomHexChars(c, 2);
    ck_assert_int_eq(c[2], 'x');
    getRandomHexChars(c, 0);
}
END_TEST

START_TEST(test_fnv_hash) {
    /* FNV-1a 64 reference values */
    ck_assert_uint_eq(siphashish("", 0), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(siphashish("a", 1), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(siphashish("foobar", 6), 0x85944171f73967e8ULL);
    ck_assert_uint_ne(siphashish("get", 3), siphashish("set", 3));
    ck_assert_uint_eq(siphashish("get", 3), siphashish("get", 3));
}
END_TEST

Suite *util_suite(void) {
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("integers");
    tcase_add_test(tc, test_string2ll_valid);
    tcase_add_test(tc, test_string2ll_invalid);
    tcase_add_test(tc, test_string2ll_roundtrip);
    tcase_add_test(tc, test_ll2string);
    tcase_add_test(tc, test_db_scoped_name);
    tcase_add_test(tc, test_string2l);
    tcase_add_test(tc, test_string2ull);
    suite_add_tcase(s, tc);

    tc = tcase_create("doubles");
    tcase_add_test(tc, test_string2d);
    tcase_add_test(tc, test_string2d_range);
    tcase_add_test(tc, test_string2ld);
    tcase_add_test(tc, test_d2string);
    tcase_add_test(tc, test_ld2string_humanfriendly);
    tcase_add_test(tc, test_ld2string_other);
    suite_add_tcase(s, tc);

    tc = tcase_create("stringmatch");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_match_literal_and_empty);
    tcase_add_test(tc, test_match_star);
    tcase_add_test(tc, test_match_question);
    tcase_add_test(tc, test_match_classes);
    tcase_add_test(tc, test_match_escapes);
    tcase_add_test(tc, test_match_nocase);
    tcase_add_test(tc, test_match_binary);
    tcase_add_test(tc, test_match_respects_pattern_length);
    tcase_add_test(tc, test_match_pathological_fast);
    tcase_add_test(tc, test_match_nesting_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("sha1");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sha1_vectors);
    tcase_add_test(tc, test_sha1_million_a);
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_add_test(tc, test_random_hex);
    tcase_add_test(tc, test_fnv_hash);
    suite_add_tcase(s, tc);
    return s;
}
