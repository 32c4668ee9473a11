/* test_geohash.c - the GEO geometry (geohash.c) against values a real
 * Redis 7.0.15 gives: scores of GEOADD, positions of GEOPOS, GEOHASH
 * strings, distances, and the cells a search reads. */
#include "unit.h"
#include "geohash.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t scoreOf(double lon, double lat) {
    uint64_t s = 0;
    ck_assert(geoEncodeScore(lon, lat, &s));
    return s;
}

START_TEST(test_encode_scores) {
    ck_assert_uint_eq(scoreOf(13.361389, 38.115556), 3479099956230698ULL);
    ck_assert_uint_eq(scoreOf(15.087269, 37.502669), 3479447370796909ULL);
    ck_assert_uint_eq(scoreOf(-180, -85.05112878), 0);
    ck_assert_uint_eq(scoreOf(0, 0), 3377699720527872ULL);
    /* the upper limits make an index of 2^26: bits 52 and 53 */
    ck_assert_uint_eq(scoreOf(180, 85.05112878), 13510798882111488ULL);
    uint64_t s;
    ck_assert(!geoEncodeScore(180.0001, 0, &s));
    ck_assert(!geoEncodeScore(0, -85.05112879, &s));
    ck_assert(!geoEncodeScore(NAN, 0, &s));
}
END_TEST

START_TEST(test_decode_positions) {
    double lon, lat;
    geoDecodeScore(3479099956230698.0, &lon, &lat);
    ck_assert_double_eq_tol(lon, 13.36138933897018433, 1e-12);
    ck_assert_double_eq_tol(lat, 38.11555639549629859, 1e-12);
    geoDecodeScore(0, &lon, &lat);
    ck_assert_double_eq_tol(lon, -179.99999731779098511, 1e-12);
    ck_assert_double_eq_tol(lat, -85.05112751263942528, 1e-12);
    /* clamped to the limits */
    geoDecodeScore(13510798882111488.0, &lon, &lat);
    ck_assert(lon == GEO_LONG_MAX);
    ck_assert(lat == GEO_LAT_MAX);
}
END_TEST

START_TEST(test_geohash_strings) {
    char out[12];
    geoHashString((double)scoreOf(-5.6, 42.6), out);
    ck_assert_str_eq(out, "ezs42e44yx0");
    geoHashString(13510798882111488.0, out);
    ck_assert_str_eq(out, "bp05b5048p0");
    geoHashString(0, out);
    ck_assert_str_eq(out, "00bh0hbj200");
    geoHashString(3377699720527872.0, out);
    ck_assert_str_eq(out, "s0000000000");
}
END_TEST

START_TEST(test_distances) {
    double lon1, lat1, lon2, lat2;
    geoDecodeScore(3479099956230698.0, &lon1, &lat1);
    geoDecodeScore(3479447370796909.0, &lon2, &lat2);
    /* GEODIST Sicily Palermo Catania: 166274.1516 */
    ck_assert_double_eq_tol(geoDistance(lon1, lat1, lon2, lat2), 166274.1516, 0.00005);
    ck_assert(geoDistance(lon1, lat1, lon1, lat1) == 0);
    /* one meridian: the latitude difference on the sphere */
    ck_assert_double_eq_tol(geoDistance(10, 0, 10, 1), GEO_EARTH_RADIUS_M * M_PI / 180, 1e-6);
}
END_TEST

START_TEST(test_integer_of_scores) {
    ck_assert_int_eq(geoScoreToInteger(3479099956230698.0), 3479099956230698LL);
    ck_assert_int_eq(geoScoreToInteger(-1.5), -1);
    ck_assert(geoScoreToInteger(1e30) == INT64_MIN);
    ck_assert(geoScoreToInteger(-INFINITY) == INT64_MIN);
}
END_TEST

/* The centre cell holds the centre; every cell read has the same step. */
START_TEST(test_search_cells) {
    geoShape s = {.type = GEO_SHAPE_RADIUS, .lon = 15, .lat = 37, .to_meters = 1000, .radius = 200};
    geoSearchCells cells;
    geoSearchCellsFor(&s, &cells);
    double min, max, score = (double)scoreOf(15, 37);
    geoCellScoreRange(&cells.cell[0], &min, &max);
    ck_assert(min <= score && score < max);
    int step = cells.cell[0].step;
    ck_assert_int_gt(step, 0);
    for (int i = 1; i < GEO_SEARCH_CELLS; i++)
        ck_assert(cells.cell[i].step == step || (cells.cell[i].step == 0 && cells.cell[i].bits == 0));
    /* radius 0: the finest cells, one score each */
    s.radius = 0;
    geoSearchCellsFor(&s, &cells);
    ck_assert_int_eq(cells.cell[0].step, GEO_STEP_MAX);
    geoCellScoreRange(&cells.cell[0], &min, &max);
    ck_assert(min == score && max == score + 1);
    /* a box: the point on its edge is in, just beyond is out */
    geoShape box = {.type = GEO_SHAPE_BOX, .lon = 0, .lat = 0, .to_meters = 1, .width = 2000, .height = 2000};
    double dist;
    ck_assert(geoShapeContains(&box, 0, 0.008, &dist));
    ck_assert(!geoShapeContains(&box, 0, 0.01, &dist));
    ck_assert(!geoShapeContains(&box, 0.01, 0, &dist));
}
END_TEST

Suite *geohash_suite(void) {
    Suite *s = suite_create("geohash");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_encode_scores);
    tcase_add_test(tc, test_decode_positions);
    tcase_add_test(tc, test_geohash_strings);
    tcase_add_test(tc, test_distances);
    tcase_add_test(tc, test_integer_of_scores);
    tcase_add_test(tc, test_search_cells);
    suite_add_tcase(s, tc);
    return s;
}
