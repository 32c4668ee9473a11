/* test_zset_index.c - the pure parts of sorted sets: score <-> sortable hex
 * encoding, score formatting and parsing, range specifications, the skip
 * list index, the member map and the bounded LRU of indexes. */
#include "unit.h"
#include "zset_index.h"
#include <math.h>
#include <float.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>

/* ---- score encoding ---- */

static const double ordered[] = {-INFINITY, -DBL_MAX, -1e300, -12345.678, -2, -1, -0.5, -DBL_MIN,
                                 -4.9e-324, 0.0,   4.9e-324, DBL_MIN, 1e-300, 0.1,  0.5,  1,
                                 1.0000000000000002, 2, 3.5, 1e15, 4503599627370496.0, 1e300, DBL_MAX, INFINITY};
#define NORDERED (sizeof(ordered) / sizeof(ordered[0]))

START_TEST(test_hex_round_trip) {
    for (size_t i = 0; i < NORDERED; i++) {
        char hex[ZSET_SCORE_HEX_LEN + 1];
        double back;
        zsetScoreToHex(ordered[i], hex);
        ck_assert_uint_eq(strlen(hex), ZSET_SCORE_HEX_LEN);
        ck_assert_int_eq(zsetHexToScore(hex, strlen(hex), &back), 1);
        ck_assert(memcmp(&back, &ordered[i], sizeof(double)) == 0);
    }
    /* random bit patterns (NaNs excluded) round trip too */
    srand(7);
    for (int i = 0; i < 10000; i++) {
        uint64_t u = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double d, back;
        memcpy(&d, &u, sizeof(d));
        if (isnan(d)) continue;
        char hex[ZSET_SCORE_HEX_LEN + 1];
        zsetScoreToHex(d, hex);
        ck_assert_int_eq(zsetHexToScore(hex, ZSET_SCORE_HEX_LEN, &back), 1);
        ck_assert(memcmp(&back, &d, sizeof(double)) == 0);
    }
}
END_TEST

START_TEST(test_hex_sorts_like_scores) {
    for (size_t i = 0; i + 1 < NORDERED; i++) {
        char a[ZSET_SCORE_HEX_LEN + 1], b[ZSET_SCORE_HEX_LEN + 1];
        zsetScoreToHex(ordered[i], a);
        zsetScoreToHex(ordered[i + 1], b);
        ck_assert_msg(strcmp(a, b) < 0, "%g (%s) should sort before %g (%s)", ordered[i], a, ordered[i + 1], b);
    }
    srand(11);
    for (int i = 0; i < 20000; i++) {
        double x = ((double)rand() - RAND_MAX / 2) * pow(10, rand() % 40 - 20);
        double y = ((double)rand() - RAND_MAX / 2) * pow(10, rand() % 40 - 20);
        char a[ZSET_SCORE_HEX_LEN + 1], b[ZSET_SCORE_HEX_LEN + 1];
        zsetScoreToHex(zsetNormalizeScore(x), a);
        zsetScoreToHex(zsetNormalizeScore(y), b);
        int c = strcmp(a, b);
        if (x < y) ck_assert_int_lt(c, 0);
        else if (x > y) ck_assert_int_gt(c, 0);
        else ck_assert_int_eq(c, 0);
    }
}
END_TEST

START_TEST(test_hex_known_values) {
    char hex[ZSET_SCORE_HEX_LEN + 1];
    zsetScoreToHex(0.0, hex);
    ck_assert_str_eq(hex, "8000000000000000");
    zsetScoreToHex(1.0, hex);
    ck_assert_str_eq(hex, "bff0000000000000");
    zsetScoreToHex(-1.0, hex);
    ck_assert_str_eq(hex, "400fffffffffffff");
    zsetScoreToHex(INFINITY, hex);
    ck_assert_str_eq(hex, "fff0000000000000");
    zsetScoreToHex(-INFINITY, hex);
    ck_assert_str_eq(hex, "000fffffffffffff");
    /* -0 is kept as 0 */
    zsetScoreToHex(zsetNormalizeScore(-0.0), hex);
    ck_assert_str_eq(hex, "8000000000000000");
    ck_assert(!signbit(zsetNormalizeScore(-0.0)));
}
END_TEST

START_TEST(test_hex_rejects_bad_input) {
    double d;
    ck_assert_int_eq(zsetHexToScore("8000000000000000", 15, &d), 0);
    ck_assert_int_eq(zsetHexToScore("8000000000000000x", 17, &d), 0);
    ck_assert_int_eq(zsetHexToScore("800000000000000G", 16, &d), 0);
    ck_assert_int_eq(zsetHexToScore("8000000000000A00", 16, &d), 0); /* upper case is not ours */
    /* the encoding of a NaN */
    ck_assert_int_eq(zsetHexToScore("fff8000000000000", 16, &d), 0);
}
END_TEST

/* ---- formatting and parsing ---- */

static const char *fmt(double d) {
    static char buf[ZSET_SCORE_MAX_CHARS];
    zsetFormatScore(buf, sizeof(buf), d);
    return buf;
}

START_TEST(test_format_score) {
    ck_assert_str_eq(fmt(0), "0");
    ck_assert_str_eq(fmt(-0.0), "-0");
    ck_assert_str_eq(fmt(1), "1");
    ck_assert_str_eq(fmt(-42), "-42");
    ck_assert_str_eq(fmt(1.5), "1.5");
    ck_assert_str_eq(fmt(1.1), "1.1000000000000001");
    ck_assert_str_eq(fmt(0.1), "0.10000000000000001");
    ck_assert_str_eq(fmt(INFINITY), "inf");
    ck_assert_str_eq(fmt(-INFINITY), "-inf");
    ck_assert_str_eq(fmt(1e20), "1e+20");
    ck_assert_str_eq(fmt(4503599627370495.0), "4503599627370495");
    ck_assert_str_eq(fmt(-1.7976931348623157e308), "-1.7976931348623157e+308");
    ck_assert_str_eq(fmt(4.9406564584124654e-324), "4.9406564584124654e-324");
    ck_assert_uint_lt(strlen(fmt(-2.2250738585072014e-308)), ZSET_SCORE_MAX_CHARS);
}
END_TEST

static int parse(const char *s, double *d) { return zsetParseScore(s, strlen(s), d); }

START_TEST(test_format_parse_round_trip) {
    srand(3);
    for (int i = 0; i < 20000; i++) {
        uint64_t u = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
        double d, back;
        memcpy(&d, &u, sizeof(d));
        if (isnan(d)) continue;
        char buf[ZSET_SCORE_MAX_CHARS];
        zsetFormatScore(buf, sizeof(buf), d);
        ck_assert_int_eq(parse(buf, &back), 1);
        ck_assert_msg(memcmp(&back, &d, sizeof(d)) == 0, "%s did not read back", buf);
    }
}
END_TEST

START_TEST(test_parse_score) {
    double d;
    ck_assert_int_eq(parse("1.5", &d), 1);
    ck_assert(d == 1.5);
    ck_assert_int_eq(parse("-inf", &d), 1);
    ck_assert(isinf(d) && d < 0);
    ck_assert_int_eq(parse("+inf", &d), 1);
    ck_assert(isinf(d) && d > 0);
    ck_assert_int_eq(parse("inf", &d), 1);
    ck_assert_int_eq(parse("1e3", &d), 1);
    ck_assert(d == 1000);
    ck_assert_int_eq(parse("0x10", &d), 1);
    ck_assert(d == 16);
    ck_assert_int_eq(parse("-0", &d), 1);
    ck_assert(d == 0);
    /* rejected as Redis rejects them */
    ck_assert_int_eq(parse("", &d), 0);
    ck_assert_int_eq(parse(" 1", &d), 0);
    ck_assert_int_eq(parse("1 ", &d), 0);
    ck_assert_int_eq(parse("abc", &d), 0);
    ck_assert_int_eq(parse("nan", &d), 0);
    ck_assert_int_eq(parse("1e400", &d), 0);
    ck_assert_int_eq(parse("1e-400", &d), 0);
    ck_assert_int_eq(parse("1.5x", &d), 0);
    /* embedded NUL: the length decides */
    ck_assert_int_eq(zsetParseScore("1\0" "2", 3, &d), 0);
    /* no length limit */
    char longnum[400];
    memset(longnum, '0', sizeof(longnum));
    longnum[0] = '1';
    longnum[1] = '.';
    longnum[sizeof(longnum) - 1] = '\0';
    ck_assert_int_eq(parse(longnum, &d), 1);
    ck_assert(d == 1);
}
END_TEST

/* ---- ranges ---- */

START_TEST(test_score_range) {
    zscoreRange r;
    ck_assert_int_eq(zsetParseScoreRange("1", "(3", &r), 1);
    ck_assert(r.min == 1 && !r.minex && r.max == 3 && r.maxex);
    ck_assert(zsetScoreGteMin(1, &r) && !zsetScoreGteMin(0.5, &r));
    ck_assert(zsetScoreLteMax(2.9, &r) && !zsetScoreLteMax(3, &r));
    ck_assert_int_eq(zsetParseScoreRange("-inf", "+inf", &r), 1);
    ck_assert(isinf(r.min) && isinf(r.max));
    /* strtod semantics, as Redis */
    ck_assert_int_eq(zsetParseScoreRange("", "(", &r), 1);
    ck_assert(r.min == 0 && r.max == 0 && r.maxex);
    ck_assert(zsetScoreRangeIsEmpty(&r));
    ck_assert_int_eq(zsetParseScoreRange(" 1", "2", &r), 1);
    ck_assert_int_eq(zsetParseScoreRange("a", "2", &r), 0);
    ck_assert_int_eq(zsetParseScoreRange("1", "nan", &r), 0);
    ck_assert_int_eq(zsetParseScoreRange("((1", "2", &r), 0);
    ck_assert_int_eq(zsetParseScoreRange("3", "1", &r), 1);
    ck_assert(zsetScoreRangeIsEmpty(&r));
    ck_assert_int_eq(zsetParseScoreRange("1", "1", &r), 1);
    ck_assert(!zsetScoreRangeIsEmpty(&r));
}
END_TEST

static int lexr(const char *a, const char *b, zlexRange *r) { return zsetParseLexRange(a, strlen(a), b, strlen(b), r); }

START_TEST(test_lex_range) {
    zlexRange r;
    ck_assert_int_eq(lexr("-", "+", &r), 1);
    ck_assert(zsetLexGteMin("", 0, &r) && zsetLexLteMax("\xff\xff", 2, &r));
    ck_assert(!zsetLexRangeIsEmpty(&r));
    ck_assert_int_eq(lexr("[b", "(d", &r), 1);
    ck_assert(zsetLexGteMin("b", 1, &r) && !zsetLexGteMin("a", 1, &r) && zsetLexGteMin("ba", 2, &r));
    ck_assert(zsetLexLteMax("c", 1, &r) && !zsetLexLteMax("d", 1, &r));
    ck_assert_int_eq(lexr("(b", "[b", &r), 1);
    ck_assert(zsetLexRangeIsEmpty(&r));
    ck_assert_int_eq(lexr("[b", "[b", &r), 1);
    ck_assert(!zsetLexRangeIsEmpty(&r));
    ck_assert_int_eq(lexr("+", "-", &r), 1);
    ck_assert(zsetLexRangeIsEmpty(&r));
    ck_assert_int_eq(lexr("-", "-", &r), 1);
    ck_assert(zsetLexRangeIsEmpty(&r));
    ck_assert_int_eq(lexr("[", "+", &r), 1); /* the empty string, inclusive */
    ck_assert(zsetLexGteMin("", 0, &r));
    ck_assert_int_eq(lexr("a", "+", &r), 0);
    ck_assert_int_eq(lexr("-", "+x", &r), 0);
    ck_assert_int_eq(lexr("", "+", &r), 0);
}
END_TEST

START_TEST(test_compare_members) {
    ck_assert_int_lt(zsetCompareMembers("a", 1, "b", 1), 0);
    ck_assert_int_lt(zsetCompareMembers("a", 1, "ab", 2), 0);
    ck_assert_int_gt(zsetCompareMembers("\xff", 1, "a", 1), 0); /* unsigned bytes */
    ck_assert_int_eq(zsetCompareMembers("a\0b", 3, "a\0b", 3), 0);
    ck_assert_int_lt(zsetCompareMembers("a\0a", 3, "a\0b", 3), 0);
    ck_assert_int_eq(zsetCompareMembers("", 0, "", 0), 0);
}
END_TEST

/* ---- the skip list ---- */

static void checkOrder(zidx *zi) {
    unsigned long n = 0;
    zidxNode *prev = NULL;
    for (zidxNode *x = zidxFirst(zi); x; x = zidxNext(x)) {
        n++;
        ck_assert_ptr_eq(x->backward, prev);
        if (prev) {
            ck_assert(prev->score < x->score ||
                      (prev->score == x->score &&
                       zsetCompareMembers(prev->ele, sdslen(prev->ele), x->ele, sdslen(x->ele)) < 0));
        }
        ck_assert_uint_eq(zidxRank(zi, x->score, x->ele, sdslen(x->ele)), n);
        ck_assert_ptr_eq(zidxByRank(zi, n), x);
        prev = x;
    }
    ck_assert_uint_eq(n, zi->length);
    ck_assert_ptr_eq(zi->tail, prev);
}

START_TEST(test_zidx_order_and_ranks) {
    zidx *zi = zidxCreate();
    char m[16];
    /* equal scores order by member bytes */
    for (int i = 0; i < 500; i++) {
        snprintf(m, sizeof(m), "m%03d", (i * 7919) % 500);
        zidxInsert(zi, (double)((i * 7919) % 500 / 10), m, strlen(m));
    }
    checkOrder(zi);
    ck_assert_uint_eq(zi->length, 500);
    ck_assert_str_eq(zidxFirst(zi)->ele, "m000");
    ck_assert_str_eq(zi->tail->ele, "m499");
    ck_assert_uint_eq(zidxRank(zi, 0, "m005", 4), 6);
    ck_assert_uint_eq(zidxRank(zi, 1, "m005", 4), 0); /* wrong score: absent */
    ck_assert_ptr_null(zidxByRank(zi, 0));
    ck_assert_ptr_null(zidxByRank(zi, 501));
    /* delete every third, check again */
    for (int i = 0; i < 500; i += 3) {
        snprintf(m, sizeof(m), "m%03d", i);
        ck_assert_int_eq(zidxDelete(zi, (double)(i / 10), m, strlen(m)), 1);
        ck_assert_int_eq(zidxDelete(zi, (double)(i / 10), m, strlen(m)), 0);
    }
    checkOrder(zi);
    ck_assert_uint_eq(zi->length, 500 - 167);
    zidxFree(zi);
}
END_TEST

START_TEST(test_zidx_binary_members) {
    zidx *zi = zidxCreate();
    zidxInsert(zi, 1, "a\0b", 3);
    zidxInsert(zi, 1, "a\0a", 3);
    zidxInsert(zi, 1, "", 0);
    zidxInsert(zi, 1, "\xff", 1);
    checkOrder(zi);
    ck_assert_uint_eq(sdslen(zidxFirst(zi)->ele), 0);
    ck_assert_uint_eq(zidxRank(zi, 1, "a\0b", 3), 3);
    ck_assert_int_eq(memcmp(zi->tail->ele, "\xff", 1), 0);
    zidxFree(zi);
}
END_TEST

START_TEST(test_zidx_score_ranges) {
    zidx *zi = zidxCreate();
    char m[16];
    for (int i = 1; i <= 100; i++) {
        snprintf(m, sizeof(m), "%d", i);
        zidxInsert(zi, i, m, strlen(m));
    }
    zidxInsert(zi, -INFINITY, "lo", 2);
    zidxInsert(zi, INFINITY, "hi", 2);
    zscoreRange r;
    zsetParseScoreRange("10", "(20", &r);
    ck_assert(zidxFirstInRange(zi, &r)->score == 10);
    ck_assert(zidxLastInRange(zi, &r)->score == 19);
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 10);
    zsetParseScoreRange("(10", "20", &r);
    ck_assert(zidxFirstInRange(zi, &r)->score == 11);
    ck_assert(zidxLastInRange(zi, &r)->score == 20);
    zsetParseScoreRange("-inf", "+inf", &r);
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 102);
    ck_assert_str_eq(zidxFirstInRange(zi, &r)->ele, "lo");
    ck_assert_str_eq(zidxLastInRange(zi, &r)->ele, "hi");
    zsetParseScoreRange("(-inf", "(inf", &r);
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 100);
    zsetParseScoreRange("100.5", "200", &r);
    ck_assert_ptr_null(zidxFirstInRange(zi, &r));
    ck_assert_ptr_null(zidxLastInRange(zi, &r));
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 0);
    zsetParseScoreRange("5.5", "5.7", &r);
    ck_assert_ptr_null(zidxFirstInRange(zi, &r));
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 0);
    zsetParseScoreRange("20", "10", &r);
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 0);
    zidxFree(zi);
    /* an empty index */
    zi = zidxCreate();
    zsetParseScoreRange("-inf", "+inf", &r);
    ck_assert_ptr_null(zidxFirstInRange(zi, &r));
    ck_assert_uint_eq(zidxCountInRange(zi, &r), 0);
    zidxFree(zi);
}
END_TEST

START_TEST(test_zidx_lex_ranges) {
    zidx *zi = zidxCreate();
    const char *words[] = {"apple", "banana", "cherry", "date", "elder", "fig", "grape"};
    for (int i = 0; i < 7; i++) zidxInsert(zi, 0, words[i], strlen(words[i]));
    zlexRange r;
    lexr("[banana", "(elder", &r);
    ck_assert_str_eq(zidxFirstInLexRange(zi, &r)->ele, "banana");
    ck_assert_str_eq(zidxLastInLexRange(zi, &r)->ele, "date");
    ck_assert_uint_eq(zidxCountInLexRange(zi, &r), 3);
    lexr("(b", "[c", &r);
    ck_assert_str_eq(zidxFirstInLexRange(zi, &r)->ele, "banana");
    ck_assert_uint_eq(zidxCountInLexRange(zi, &r), 1);
    lexr("-", "+", &r);
    ck_assert_uint_eq(zidxCountInLexRange(zi, &r), 7);
    lexr("[h", "+", &r);
    ck_assert_ptr_null(zidxFirstInLexRange(zi, &r));
    ck_assert_uint_eq(zidxCountInLexRange(zi, &r), 0);
    zidxFree(zi);
}
END_TEST

/* The skip list against a plain sorted array under random operations. */
typedef struct ref {
    double score;
    char m[8];
} ref;

static int refcmp(const void *a, const void *b) {
    const ref *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return strcmp(x->m, y->m);
}

START_TEST(test_zidx_random_against_reference) {
    zidx *zi = zidxCreate();
    ref *refs = calloc(300, sizeof(ref));
    int n = 0;
    srand(42);
    for (int step = 0; step < 5000; step++) {
        int op = rand() % 3;
        if (op < 2 && n < 300) {
            ref r;
            r.score = rand() % 50;
            snprintf(r.m, sizeof(r.m), "k%d", rand() % 1000);
            int dup = 0;
            for (int i = 0; i < n; i++)
                if (!strcmp(refs[i].m, r.m)) dup = 1;
            if (dup) continue;
            refs[n++] = r;
            zidxInsert(zi, r.score, r.m, strlen(r.m));
        } else if (n > 0) {
            int i = rand() % n;
            ck_assert_int_eq(zidxDelete(zi, refs[i].score, refs[i].m, strlen(refs[i].m)), 1);
            refs[i] = refs[--n];
        }
        if (step % 250 == 0) {
            qsort(refs, (size_t)n, sizeof(ref), refcmp);
            ck_assert_uint_eq(zi->length, (unsigned long)n);
            int i = 0;
            for (zidxNode *x = zidxFirst(zi); x; x = zidxNext(x), i++) {
                ck_assert(x->score == refs[i].score);
                ck_assert_str_eq(x->ele, refs[i].m);
            }
            checkOrder(zi);
            zscoreRange r = {10, 20, 0, 1};
            unsigned long cnt = 0;
            for (int j = 0; j < n; j++)
                if (refs[j].score >= 10 && refs[j].score < 20) cnt++;
            ck_assert_uint_eq(zidxCountInRange(zi, &r), cnt);
        }
    }
    free(refs);
    zidxFree(zi);
}
END_TEST

/* ---- the member map ---- */

START_TEST(test_zmap) {
    zmap *zm = zmapCreate();
    char m[16];
    int added;
    for (int i = 0; i < 1000; i++) {
        snprintf(m, sizeof(m), "x%d", i);
        zmapAdd(zm, m, strlen(m), 1000 - i, &added);
        ck_assert_int_eq(added, 1);
    }
    zmapEntry *e = zmapAdd(zm, "x5", 2, 0, &added);
    ck_assert_int_eq(added, 0);
    ck_assert(e->score == 995);
    e->score += 1;
    ck_assert(zmapFind(zm, "x5", 2)->score == 996);
    ck_assert_ptr_null(zmapFind(zm, "y", 1));
    zmapAdd(zm, "", 0, -1, &added);
    ck_assert_int_eq(added, 1);
    ck_assert_ptr_nonnull(zmapFind(zm, "", 0));
    ck_assert_uint_eq(zm->count, 1001);
    zmapSortByScore(zm);
    ck_assert_uint_eq(sdslen(zm->entries[0].member), 0);
    ck_assert_str_eq(zm->entries[1].member, "x999");
    for (size_t i = 1; i < zm->count; i++) ck_assert(zm->entries[i - 1].score <= zm->entries[i].score);
    zmapFree(zm);
}
END_TEST

/* ---- the cache ---- */

static zidx *idxOf(int n) {
    zidx *zi = zidxCreate();
    char m[16];
    for (int i = 0; i < n; i++) {
        snprintf(m, sizeof(m), "%d", i);
        zidxInsert(zi, i, m, strlen(m));
    }
    return zi;
}

START_TEST(test_zcache_lru_and_budget) {
    zcache *zc = zcacheCreate(10);
    ck_assert_int_eq(zcachePut(zc, 0, "a", 1, idxOf(4), 1), 1);
    ck_assert_int_eq(zcachePut(zc, 0, "b", 1, idxOf(4), 1), 1);
    ck_assert_uint_eq(zcacheMembers(zc), 8);
    ck_assert_ptr_nonnull(zcacheGet(zc, 0, "a", 1, 1)); /* a is now the most recent */
    ck_assert_int_eq(zcachePut(zc, 0, "c", 1, idxOf(4), 1), 1); /* evicts b */
    ck_assert_ptr_null(zcacheGet(zc, 0, "b", 1, 1));
    ck_assert_ptr_nonnull(zcacheGet(zc, 0, "a", 1, 1));
    ck_assert_ptr_nonnull(zcacheGet(zc, 0, "c", 1, 1));
    ck_assert_uint_eq(zcacheMembers(zc), 8);
    ck_assert_uint_eq(zcacheKeys(zc), 2);
    ck_assert_uint_eq(zcacheEvictions(zc), 1);
    /* same name in another db is another key */
    ck_assert_ptr_null(zcacheGet(zc, 1, "a", 1, 1));
    /* bigger than the whole budget: not cached, the caller keeps it */
    zidx *big = idxOf(11);
    ck_assert_int_eq(zcachePut(zc, 0, "big", 3, big, 1), 0);
    ck_assert_ptr_null(zcacheGet(zc, 0, "big", 3, 1));
    zidxFree(big);
    /* growth through a write: others are evicted */
    zidx *a = zcacheGet(zc, 0, "a", 1, 1);
    zidxInsert(a, 100, "new1", 4);
    zidxInsert(a, 101, "new2", 4);
    zidxInsert(a, 102, "new3", 4);
    zcacheSync(zc, 0, "a", 1, a, 1);
    ck_assert_uint_eq(zcacheMembers(zc), 7);
    ck_assert_ptr_null(zcacheGet(zc, 0, "c", 1, 1));
    /* growth beyond the budget drops the index itself */
    a = zcacheGet(zc, 0, "a", 1, 1);
    for (int i = 0; i < 4; i++) {
        char m[16];
        snprintf(m, sizeof(m), "g%d", i);
        zidxInsert(a, 300 + i, m, strlen(m));
    }
    zcacheSync(zc, 0, "a", 1, a, 1);
    ck_assert_ptr_null(zcacheGet(zc, 0, "a", 1, 1));
    ck_assert_uint_eq(zcacheMembers(zc), 0);
    zcacheFree(zc);
}
END_TEST

START_TEST(test_zcache_drop) {
    zcache *zc = zcacheCreate(1000);
    char name[16];
    for (int db = 0; db < 3; db++)
        for (int i = 0; i < 100; i++) {
            snprintf(name, sizeof(name), "key%d", i);
            ck_assert_int_eq(zcachePut(zc, db, name, strlen(name), idxOf(2), 1), 1);
        }
    ck_assert_uint_eq(zcacheKeys(zc), 300);
    ck_assert_uint_eq(zcacheMembers(zc), 600);
    zcacheDrop(zc, 1, "key5", 4);
    ck_assert_ptr_null(zcacheGet(zc, 1, "key5", 4, 1));
    ck_assert_ptr_nonnull(zcacheGet(zc, 0, "key5", 4, 1));
    zcacheDropDb(zc, 2);
    ck_assert_uint_eq(zcacheKeys(zc), 199);
    ck_assert_uint_eq(zcacheMembers(zc), 398);
    /* replacing an entry frees the old index */
    ck_assert_int_eq(zcachePut(zc, 0, "key1", 4, idxOf(5), 1), 1);
    ck_assert_uint_eq(zcacheGet(zc, 0, "key1", 4, 1)->length, 5);
    ck_assert_uint_eq(zcacheMembers(zc), 401);
    zcacheDropDb(zc, -1);
    ck_assert_uint_eq(zcacheKeys(zc), 0);
    ck_assert_uint_eq(zcacheMembers(zc), 0);
    zcacheFree(zc);
    /* a zero budget caches nothing */
    zc = zcacheCreate(0);
    zidx *one = idxOf(1);
    ck_assert_int_eq(zcachePut(zc, 0, "k", 1, one, 1), 0);
    zidxFree(one);
    zcacheFree(zc);
}
END_TEST

/* An index is served only at the generation it was put or synced at. */
START_TEST(test_zcache_generations) {
    zcache *zc = zcacheCreate(100);
    ck_assert_int_eq(zcachePut(zc, 0, "a", 1, idxOf(3), 7), 1);
    ck_assert_ptr_nonnull(zcacheGet(zc, 0, "a", 1, 7));
    /* the key moved on: a miss, and the stale index is gone */
    ck_assert_ptr_null(zcacheGet(zc, 0, "a", 1, 8));
    ck_assert_ptr_null(zcacheGet(zc, 0, "a", 1, 7));
    ck_assert_uint_eq(zcacheKeys(zc), 0);
    ck_assert_uint_eq(zcacheMembers(zc), 0);
    /* a write kept it in step: it takes the new generation */
    ck_assert_int_eq(zcachePut(zc, 0, "b", 1, idxOf(3), 9), 1);
    zidx *b = zcacheGet(zc, 0, "b", 1, 9);
    zidxInsert(b, 50, "x", 1);
    zcacheSync(zc, 0, "b", 1, b, 12);
    ck_assert_ptr_null(zcacheGet(zc, 0, "b", 1, 9));
    ck_assert_int_eq(zcachePut(zc, 0, "b", 1, idxOf(4), 12), 1);
    ck_assert_uint_eq(zcacheGet(zc, 0, "b", 1, 12)->length, 4);
    /* a writer that cannot vouch for it (generation 0) drops it */
    b = zcacheGet(zc, 0, "b", 1, 12);
    zcacheSync(zc, 0, "b", 1, b, 0);
    ck_assert_ptr_null(zcacheGet(zc, 0, "b", 1, 12));
    /* and so does one that did not keep it in step (a stale entry found
     * after writing a new key of that name must not be made current) */
    ck_assert_int_eq(zcachePut(zc, 0, "b", 1, idxOf(4), 13), 1);
    zcacheSync(zc, 0, "b", 1, NULL, 20);
    ck_assert_ptr_null(zcacheGet(zc, 0, "b", 1, 20));
    ck_assert_ptr_null(zcacheGet(zc, 0, "b", 1, 13));
    /* nothing is cached under generation 0 (a key not yet published) */
    zidx *c = idxOf(2);
    ck_assert_int_eq(zcachePut(zc, 0, "c", 1, c, 0), 0);
    zidxFree(c);
    ck_assert_uint_eq(zcacheMembers(zc), 0);
    zcacheFree(zc);
}
END_TEST

Suite *zset_index_suite(void) {
    Suite *s = suite_create("zset_index");
    TCase *tc = tcase_create("scores");
    tcase_add_test(tc, test_hex_round_trip);
    tcase_add_test(tc, test_hex_sorts_like_scores);
    tcase_add_test(tc, test_hex_known_values);
    tcase_add_test(tc, test_hex_rejects_bad_input);
    tcase_add_test(tc, test_format_score);
    tcase_add_test(tc, test_format_parse_round_trip);
    tcase_add_test(tc, test_parse_score);
    suite_add_tcase(s, tc);
    tc = tcase_create("ranges");
    tcase_add_test(tc, test_score_range);
    tcase_add_test(tc, test_lex_range);
    tcase_add_test(tc, test_compare_members);
    suite_add_tcase(s, tc);
    tc = tcase_create("index");
    tcase_add_test(tc, test_zidx_order_and_ranks);
    tcase_add_test(tc, test_zidx_binary_members);
    tcase_add_test(tc, test_zidx_score_ranges);
    tcase_add_test(tc, test_zidx_lex_ranges);
    tcase_add_test(tc, test_zidx_random_against_reference);
    tcase_add_test(tc, test_zmap);
    suite_add_tcase(s, tc);
    tc = tcase_create("cache");
    tcase_add_test(tc, test_zcache_lru_and_budget);
    tcase_add_test(tc, test_zcache_drop);
    tcase_add_test(tc, test_zcache_generations);
    suite_add_tcase(s, tc);
    return s;
}
