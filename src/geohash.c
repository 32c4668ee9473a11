/* geohash.c - positions as 52-bit interleaved integers, distances, and the
 * cells a radius or box search reads (geohash.h states the conventions).
 *
 * Every formula keeps the order of floating point operations that gives
 * Redis 7.0's results bit for bit: the replies print 17 significant digits,
 * so one rounding step done differently shows. */
#include "geohash.h"
#include <math.h>
#include <stddef.h>

#define DEG_TO_RAD_FACTOR (M_PI / 180.0)
#define MERCATOR_MAX 20037726.37

static double toRadians(double deg) { return deg * DEG_TO_RAD_FACTOR; }
static double toDegrees(double rad) { return rad / DEG_TO_RAD_FACTOR; }

/* ------------------------------------------------------------------------ */
/* Bit interleaving                                                          */
/* ------------------------------------------------------------------------ */

/* Spread the 32 bits of v over the even bits of a 64-bit word. */
static uint64_t spreadBits(uint32_t v) {
    uint64_t out = 0;
    for (int i = 0; i < 32; i++)
        if (v & (1U << i)) out |= 1ULL << (2 * i);
    return out;
}

/* The inverse: the even bits of w gathered into 32 bits. */
static uint32_t gatherBits(uint64_t w) {
    uint32_t out = 0;
    for (int i = 0; i < 32; i++)
        if (w & (1ULL << (2 * i))) out |= 1U << i;
    return out;
}

/* Latitude index on the even bits, longitude index on the odd ones. */
static uint64_t interleave(uint32_t lat_idx, uint32_t lon_idx) {
    return spreadBits(lat_idx) | (spreadBits(lon_idx) << 1);
}

static void deinterleave(uint64_t bits, uint32_t *lat_idx, uint32_t *lon_idx) {
    *lat_idx = gatherBits(bits);
    *lon_idx = gatherBits(bits >> 1);
}

/* ------------------------------------------------------------------------ */
/* Encoding and decoding                                                     */
/* ------------------------------------------------------------------------ */

static const geoRange lonLimits = {GEO_LONG_MIN, GEO_LONG_MAX};
static const geoRange latLimits = {GEO_LAT_MIN, GEO_LAT_MAX};

int geoCoordsValid(double lon, double lat) {
    return lon >= GEO_LONG_MIN && lon <= GEO_LONG_MAX && lat >= GEO_LAT_MIN && lat <= GEO_LAT_MAX;
}

int geoEncode(const geoRange *lon_range, const geoRange *lat_range, double lon, double lat, int step,
              geoCell *out) {
    if (step < 1 || step > 32) return 0;
    if (!geoCoordsValid(lon, lat)) return 0;
    if (lat < lat_range->min || lat > lat_range->max || lon < lon_range->min || lon > lon_range->max) return 0;
    double lat_frac = (lat - lat_range->min) / (lat_range->max - lat_range->min);
    double lon_frac = (lon - lon_range->min) / (lon_range->max - lon_range->min);
    lat_frac *= (double)(1ULL << step);
    lon_frac *= (double)(1ULL << step);
    /* the fractions are in [0, 2^step]: the conversion truncates */
    out->bits = interleave((uint32_t)lat_frac, (uint32_t)lon_frac);
    out->step = step;
    return 1;
}

int geoEncodeScore(double lon, double lat, uint64_t *score) {
    geoCell cell;
    if (!geoEncode(&lonLimits, &latLimits, lon, lat, GEO_STEP_MAX, &cell)) return 0;
    *score = cell.bits << (52 - 2 * cell.step);
    return 1;
}

/* One coordinate's interval for index idx of 2^step. The index after the
 * last wraps to 0 in 32 bits, as Redis's unsigned arithmetic does. */
static void cellInterval(const geoRange *r, uint32_t idx, int step, geoRange *out) {
    double cells = (double)(1ULL << step), scale = r->max - r->min;
    uint32_t next = idx + 1;
    out->min = r->min + ((double)idx / cells) * scale;
    out->max = r->min + ((double)next / cells) * scale;
}

static void cellArea(const geoCell *cell, geoArea *area) {
    uint32_t lat_idx, lon_idx;
    deinterleave(cell->bits, &lat_idx, &lon_idx);
    cellInterval(&latLimits, lat_idx, cell->step, &area->lat);
    cellInterval(&lonLimits, lon_idx, cell->step, &area->lon);
}

static double clamp(double v, double lo, double hi) { return v > hi ? hi : v < lo ? lo : v; }

/* x86-64's conversion of a double to uint64_t (what compiled Redis does to
 * a score), written without undefined behaviour: truncation below 2^63
 * (two's complement for negatives), the "indefinite" value 2^63 for NaN and
 * values at or below -2^63, 0 from 2^64 up. */
static uint64_t scoreBits(double score) {
    const double two63 = 9223372036854775808.0;
    if (isnan(score) || score <= -two63) return 1ULL << 63;
    if (score < two63) return (uint64_t)(int64_t)score;
    if (score < 2.0 * two63) return (uint64_t)(int64_t)(score - two63) ^ (1ULL << 63);
    return 0;
}

long long geoScoreToInteger(double score) {
    const double two63 = 9223372036854775808.0;
    /* x86-64 gives INT64_MIN for what does not fit */
    if (isnan(score) || score <= -two63 || score >= two63) return INT64_MIN;
    return (long long)score;
}

void geoDecodeScore(double score, double *lon, double *lat) {
    geoCell cell = {scoreBits(score), GEO_STEP_MAX};
    geoArea area;
    cellArea(&cell, &area);
    *lon = clamp((area.lon.min + area.lon.max) / 2, GEO_LONG_MIN, GEO_LONG_MAX);
    *lat = clamp((area.lat.min + area.lat.max) / 2, GEO_LAT_MIN, GEO_LAT_MAX);
}

void geoHashString(double score, char out[12]) {
    static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";
    static const geoRange standardLat = {-90, 90};
    double lon, lat;
    geoCell cell = {0, 0};
    geoDecodeScore(score, &lon, &lat);
    geoEncode(&lonLimits, &standardLat, lon, lat, GEO_STEP_MAX, &cell);
    /* 52 bits make 10 characters and 2 bits; the 11th is always '0' */
    for (int i = 0; i < 10; i++) out[i] = alphabet[(cell.bits >> (52 - (i + 1) * 5)) & 0x1f];
    out[10] = '0';
    out[11] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Distances                                                                 */
/* ------------------------------------------------------------------------ */

static double latitudeDistance(double lat1, double lat2) {
    return GEO_EARTH_RADIUS_M * fabs(toRadians(lat2) - toRadians(lat1));
}

double geoDistance(double lon1, double lat1, double lon2, double lat2) {
    double half_dlon = sin((toRadians(lon2) - toRadians(lon1)) / 2);
    /* on one meridian the formula reduces to the latitude difference */
    if (half_dlon == 0.0) return latitudeDistance(lat1, lat2);
    double lat1r = toRadians(lat1), lat2r = toRadians(lat2);
    double half_dlat = sin((lat2r - lat1r) / 2);
    double a = half_dlat * half_dlat + cos(lat1r) * cos(lat2r) * half_dlon * half_dlon;
    return 2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(a));
}

int geoShapeContains(const geoShape *shape, double lon, double lat, double *dist) {
    if (shape->type == GEO_SHAPE_RADIUS) {
        *dist = geoDistance(shape->lon, shape->lat, lon, lat);
        return *dist <= shape->radius * shape->to_meters;
    }
    /* box: the latitude test first, it is the cheaper one */
    double width_m = shape->width * shape->to_meters, height_m = shape->height * shape->to_meters;
    if (latitudeDistance(lat, shape->lat) > height_m / 2) return 0;
    if (geoDistance(lon, lat, shape->lon, lat) > width_m / 2) return 0;
    *dist = geoDistance(shape->lon, shape->lat, lon, lat);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* The cells of a search                                                     */
/* ------------------------------------------------------------------------ */

/* The step at which a cell is about as large as the radius (wider near the
 * poles). */
static int estimateStep(double range_m, double lat) {
    if (range_m == 0) return GEO_STEP_MAX;
    int step = 1;
    while (range_m < MERCATOR_MAX) {
        range_m *= 2;
        step++;
    }
    step -= 2;
    if (lat > 66 || lat < -66) {
        step--;
        if (lat > 80 || lat < -80) step--;
    }
    if (step < 1) step = 1;
    if (step > GEO_STEP_MAX) step = GEO_STEP_MAX;
    return step;
}

/* The longitude/latitude bounds of the shape; its longitude span taken at
 * the edge nearer the pole. */
static void shapeBounds(const geoShape *s, geoArea *b) {
    double half_h = s->to_meters * (s->type == GEO_SHAPE_RADIUS ? s->radius : s->height / 2);
    double half_w = s->to_meters * (s->type == GEO_SHAPE_RADIUS ? s->radius : s->width / 2);
    double dlat = toDegrees(half_h / GEO_EARTH_RADIUS_M);
    double dlon_north = toDegrees(half_w / GEO_EARTH_RADIUS_M / cos(toRadians(s->lat + dlat)));
    double dlon_south = toDegrees(half_w / GEO_EARTH_RADIUS_M / cos(toRadians(s->lat - dlat)));
    double dlon = s->lat < 0 ? dlon_south : dlon_north;
    b->lon.min = s->lon - dlon;
    b->lon.max = s->lon + dlon;
    b->lat.min = s->lat - dlat;
    b->lat.max = s->lat + dlat;
}

/* Move one coordinate's index (odd bits: longitude, even: latitude) by
 * delta cells, wrapping within the step; the other coordinate is kept. */
static geoCell moveCell(geoCell c, int dlon, int dlat) {
    uint32_t lat_idx, lon_idx;
    uint32_t mask = (uint32_t)((1ULL << c.step) - 1);
    deinterleave(c.bits, &lat_idx, &lon_idx);
    if (dlon) lon_idx = (uint32_t)(lon_idx + (uint32_t)dlon) & mask;
    if (dlat) lat_idx = (uint32_t)(lat_idx + (uint32_t)dlat) & mask;
    c.bits = interleave(lat_idx, lon_idx);
    return c;
}

/* Indexes into geoSearchCells.cell */
enum { CELL_CENTER, CELL_N, CELL_S, CELL_E, CELL_W, CELL_NE, CELL_NW, CELL_SE, CELL_SW };

static void cellAndNeighbours(const geoShape *s, int step, geoSearchCells *out) {
    static const int moves[GEO_SEARCH_CELLS][2] = {{0, 0},  {0, 1},  {0, -1}, {1, 0},  {-1, 0},
                                                   {1, 1},  {-1, 1}, {1, -1}, {-1, -1}};
    geoCell center = {0, 0};
    geoEncode(&lonLimits, &latLimits, s->lon, s->lat, step, &center);
    for (int i = 0; i < GEO_SEARCH_CELLS; i++) out->cell[i] = moveCell(center, moves[i][0], moves[i][1]);
}

static void dropCells(geoSearchCells *c, int a, int b, int d) {
    c->cell[a].bits = c->cell[b].bits = c->cell[d].bits = 0;
    c->cell[a].step = c->cell[b].step = c->cell[d].step = 0;
}

void geoSearchCellsFor(const geoShape *shape, geoSearchCells *out) {
    geoArea bounds, area, n, so, e, w;
    shapeBounds(shape, &bounds);
    double radius_m = shape->type == GEO_SHAPE_RADIUS
                          ? shape->radius
                          : sqrt((shape->width / 2) * (shape->width / 2) + (shape->height / 2) * (shape->height / 2));
    radius_m *= shape->to_meters;
    int step = estimateStep(radius_m, shape->lat);
    cellAndNeighbours(shape, step, out);

    /* a neighbour that does not reach the edge of the bounds: one step
     * coarser */
    cellArea(&out->cell[CELL_N], &n);
    cellArea(&out->cell[CELL_S], &so);
    cellArea(&out->cell[CELL_E], &e);
    cellArea(&out->cell[CELL_W], &w);
    int too_fine = n.lat.max < bounds.lat.max || so.lat.min > bounds.lat.min || e.lon.max < bounds.lon.max ||
                   w.lon.min > bounds.lon.min;
    if (step > 1 && too_fine) {
        step--;
        cellAndNeighbours(shape, step, out);
    }
    cellArea(&out->cell[CELL_CENTER], &area);

    /* neighbours on a side the bounds do not reach are left out */
    if (step >= 2) {
        if (area.lat.min < bounds.lat.min) dropCells(out, CELL_S, CELL_SW, CELL_SE);
        if (area.lat.max > bounds.lat.max) dropCells(out, CELL_N, CELL_NE, CELL_NW);
        if (area.lon.min < bounds.lon.min) dropCells(out, CELL_W, CELL_SW, CELL_NW);
        if (area.lon.max > bounds.lon.max) dropCells(out, CELL_E, CELL_SE, CELL_NE);
    }
}

void geoCellScoreRange(const geoCell *cell, double *min, double *max) {
    int shift = 52 - 2 * cell->step;
    *min = (double)(cell->bits << shift);
    *max = (double)((cell->bits + 1) << shift);
}
