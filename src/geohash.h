/* geohash.h - the pure geometry of the GEO commands (no I/O, no server
 * state), with the conventions Redis 7.0 fixed and clients depend on:
 *
 *  - a position is a 52-bit integer (the score of a sorted set member):
 *    26 bits of latitude and 26 of longitude, interleaved (latitude on the
 *    even bits), each the offset of the coordinate within its range
 *    (longitude -180..180, latitude -85.05112878..85.05112878) scaled to
 *    2^26 and truncated; decoding gives the centre of that cell;
 *  - distances are haversine great-circle distances on a sphere of radius
 *    6372797.560856 m;
 *  - a radius or box search reads 9 score ranges: the cell holding the
 *    centre at a step (precision) estimated from the radius, and its 8
 *    neighbours, minus those the shape cannot reach;
 *  - GEOHASH's text is the standard 11-character base32 geohash of the
 *    decoded position (computed with latitude -90..90), its last
 *    character always '0'. */
#ifndef DREDIS_GEOHASH_H
#define DREDIS_GEOHASH_H
#include <stdint.h>

#define GEO_LONG_MIN (-180.0)
#define GEO_LONG_MAX 180.0
#define GEO_LAT_MIN (-85.05112878)
#define GEO_LAT_MAX 85.05112878
#define GEO_STEP_MAX 26 /* bits per coordinate: 52-bit scores */
#define GEO_EARTH_RADIUS_M 6372797.560856

/* A cell: the top 2*step bits of an interleaved position. step 0 is "no
 * cell" (a neighbour left out of a search). */
typedef struct geoCell {
    uint64_t bits;
    int step;
} geoCell;

typedef struct geoRange {
    double min, max;
} geoRange;

typedef struct geoArea {
    geoRange lon, lat;
} geoArea;

/* What a search covers: a circle (radius) or a box (width x height) around
 * lon,lat; sizes in the unit whose length in metres is to_meters. */
#define GEO_SHAPE_RADIUS 1
#define GEO_SHAPE_BOX 2
typedef struct geoShape {
    int type;
    double lon, lat;
    double to_meters;
    double radius;        /* GEO_SHAPE_RADIUS */
    double width, height; /* GEO_SHAPE_BOX */
} geoShape;

/* The cells a search reads, in the order it reads them: the centre's, then
 * north, south, east, west, north-east, north-west, south-east, south-west.
 * A cell with step 0 is skipped. */
#define GEO_SEARCH_CELLS 9
typedef struct geoSearchCells {
    geoCell cell[GEO_SEARCH_CELLS];
} geoSearchCells;

/* Is lon,lat inside the limits GEOADD accepts? */
int geoCoordsValid(double lon, double lat);
/* The cell of lon,lat at step within the given ranges; 0 when out of them. */
int geoEncode(const geoRange *lon_range, const geoRange *lat_range, double lon, double lat, int step,
              geoCell *out);
/* The 52-bit score of lon,lat (GEOADD); 0 when out of the limits. */
int geoEncodeScore(double lon, double lat, uint64_t *score);
/* The position a sorted set score stands for (any score: the integer is
 * taken as the C conversion on x86-64 gives it, as Redis decodes). */
void geoDecodeScore(double score, double *lon, double *lat);
/* A score as the 64-bit integer WITHHASH replies with. */
long long geoScoreToInteger(double score);
/* The 11 characters (and a NUL) of GEOHASH for a member's score. */
void geoHashString(double score, char out[12]);

/* Distance in metres between two positions. */
double geoDistance(double lon1, double lat1, double lon2, double lat2);
/* Is lon,lat inside the shape? *dist gets its distance (metres) from the
 * shape's centre. */
int geoShapeContains(const geoShape *shape, double lon, double lat, double *dist);
/* The 9 cells to read for shape. */
void geoSearchCellsFor(const geoShape *shape, geoSearchCells *out);
/* The score range [*min, *max) of the members inside cell. */
void geoCellScoreRange(const geoCell *cell, double *min, double *max);

#endif
