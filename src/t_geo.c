/* t_geo.c - the GEO commands: GEOADD, GEOPOS, GEOHASH, GEODIST, GEORADIUS,
 * GEORADIUSBYMEMBER (and their _RO forms), GEOSEARCH and GEOSEARCHSTORE.
 *
 * A geo index is an ordinary sorted set whose scores are 52-bit positions
 * (geohash.h): GEOADD is ZADD with computed scores, and is what replicas
 * receive (as Redis 7.0 sends it). The reads take a member's score through
 * t_zset.c; a search reads the 9 score ranges of the cells around its
 * centre through the set's index, keeps the members inside the shape, and
 * sorts, counts and stores them as Redis does. */
#include "server.h"
#include "geohash.h"
#include "zset_index.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>

/* ------------------------------------------------------------------------ */
/* Arguments                                                                 */
/* ------------------------------------------------------------------------ */

/* Metres per unit; -1 after replying when unit is not one. */
static double parseUnitOrReply(client *c, sds unit) {
    if (!strcasecmp(unit, "m")) return 1;
    if (!strcasecmp(unit, "km")) return 1000;
    if (!strcasecmp(unit, "ft")) return 0.3048;
    if (!strcasecmp(unit, "mi")) return 1609.34;
    addReplyError(c, "ERR unsupported unit provided. please use M, KM, FT, MI");
    return -1;
}

/* argv[0] longitude, argv[1] latitude, within GEOADD's limits. */
static int parseLonLatOrReply(client *c, sds *argv, double *lon, double *lat) {
    if (getDoubleFromArgOrReply(c, argv[0], lon, NULL) != C_OK) return C_ERR;
    if (getDoubleFromArgOrReply(c, argv[1], lat, NULL) != C_OK) return C_ERR;
    if (!geoCoordsValid(*lon, *lat)) {
        addReplyErrorFormat(c, "ERR invalid longitude,latitude pair %f,%f", *lon, *lat);
        return C_ERR;
    }
    return C_OK;
}

/* argv: radius unit */
static int parseRadiusOrReply(client *c, sds *argv, geoShape *s) {
    if (getDoubleFromArgOrReply(c, argv[0], &s->radius, "ERR need numeric radius") != C_OK) return C_ERR;
    if (s->radius < 0) {
        addReplyError(c, "ERR radius cannot be negative");
        return C_ERR;
    }
    if ((s->to_meters = parseUnitOrReply(c, argv[1])) < 0) return C_ERR;
    s->type = GEO_SHAPE_RADIUS;
    return C_OK;
}

/* argv: width height unit */
static int parseBoxOrReply(client *c, sds *argv, geoShape *s) {
    if (getDoubleFromArgOrReply(c, argv[0], &s->width, "ERR need numeric width") != C_OK ||
        getDoubleFromArgOrReply(c, argv[1], &s->height, "ERR need numeric height") != C_OK)
        return C_ERR;
    if (s->width < 0 || s->height < 0) {
        addReplyError(c, "ERR height or width cannot be negative");
        return C_ERR;
    }
    if ((s->to_meters = parseUnitOrReply(c, argv[2])) < 0) return C_ERR;
    s->type = GEO_SHAPE_BOX;
    return C_OK;
}

/* A distance as Redis prints it: rounded (half to even) to 4 decimals. */
static void addReplyDistance(client *c, double d) {
    char buf[64];
    int n;
    if (d == 0) {
        n = snprintf(buf, sizeof(buf), "0.0000");
    } else {
        long long v = llrint(d * 10000.0);
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        n = snprintf(buf, sizeof(buf), "%s%llu.%04llu", v < 0 ? "-" : "", u / 10000, u % 10000);
    }
    addReplyBulk(c, buf, (size_t)n);
}

static void addReplyCoords(client *c, double lon, double lat) {
    addReplyArrayLen(c, 2);
    addReplyHumanLongDouble(c, lon);
    addReplyHumanLongDouble(c, lat);
}

/* The position of member m of k: STORE_OK, STORE_NOTFOUND or STORE_ERR. */
static int memberPosition(skey *k, sds m, double *lon, double *lat) {
    double s;
    int r = zsetMemberScore(k, m, sdslen(m), &s);
    if (r != STORE_OK) return r;
    geoDecodeScore(s, lon, lat);
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* GEOADD                                                                    */
/* ------------------------------------------------------------------------ */

/* Run ZADD with argv in place of c's arguments (slow log and MONITOR keep
 * showing what the client sent); replicas get that ZADD. */
static void runAsZadd(client *c, int argc, sds *argv) {
    redisCommand *zadd = lookupCommandByName("zadd");
    sds *saved_argv = c->argv;
    int saved_argc = c->argc;
    c->argv = argv;
    c->argc = argc;
    zadd->proc(c);
    c->argv = saved_argv;
    c->argc = saved_argc;
    rewriteCommandForPropagationArgv(c, argc, argv);
}

/* GEOADD key [NX|XX] [CH] lon lat member ...: ZADD key [options] score
 * member ..., which also makes its events ("zadd") and what replicas get. */
static void geoaddCommand(client *c) {
    int first = 2, nx = 0, xx = 0;
    for (; first < c->argc; first++) {
        if (!strcasecmp(c->argv[first], "nx")) nx = 1;
        else if (!strcasecmp(c->argv[first], "xx")) xx = 1;
        else if (strcasecmp(c->argv[first], "ch")) break;
    }
    if ((c->argc - first) % 3 || (nx && xx)) {
        addReplyErrorSyntax(c);
        return;
    }
    int elements = (c->argc - first) / 3;
    int argc = first + elements * 2;
    sds *argv = zmalloc(sizeof(sds) * (size_t)argc);
    argv[0] = sdsnew("zadd");
    for (int i = 1; i < first; i++) argv[i] = sdsdup(c->argv[i]);
    int built = first;
    for (int i = 0; i < elements; i++, built += 2) {
        double lon, lat;
        uint64_t score;
        sds *elem = c->argv + first + i * 3;
        if (parseLonLatOrReply(c, elem, &lon, &lat) != C_OK) goto cleanup;
        geoEncodeScore(lon, lat, &score);
        argv[built] = sdsfromlonglong((long long)score);
        argv[built + 1] = sdsdup(elem[2]);
    }
    runAsZadd(c, argc, argv);
cleanup:
    for (int i = 0; i < built; i++) sdsfree(argv[i]);
    zfree(argv);
}

/* ------------------------------------------------------------------------ */
/* GEOPOS, GEOHASH, GEODIST                                                  */
/* ------------------------------------------------------------------------ */

#define GEO_REPLY_POS 0
#define GEO_REPLY_HASH 1

/* For each member argument, its position or its geohash (or a null). The
 * scores are all read before the reply starts, so that an I/O error is the
 * whole reply. */
static void geoMembersReply(client *c, int what) {
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    int n = c->argc - 2;
    double *scores = zmalloc(sizeof(double) * (size_t)n);
    char *found = zcalloc((size_t)n);
    for (int j = 0; j < n && k; j++) {
        int r = zsetMemberScore(k, c->argv[j + 2], sdslen(c->argv[j + 2]), &scores[j]);
        if (r == STORE_ERR) {
            addReplyErrorIO(c, errno);
            goto done;
        }
        found[j] = r == STORE_OK;
    }
    addReplyArrayLen(c, n);
    for (int j = 0; j < n; j++) {
        if (!found[j]) {
            if (what == GEO_REPLY_POS) addReplyNullArray(c);
            else addReplyNull(c);
        } else if (what == GEO_REPLY_POS) {
            double lon, lat;
            geoDecodeScore(scores[j], &lon, &lat);
            addReplyCoords(c, lon, lat);
        } else {
            char hash[12];
            geoHashString(scores[j], hash);
            addReplyBulk(c, hash, 11);
        }
    }
done:
    zfree(scores);
    zfree(found);
    storeCloseKey(k);
}

static void geoposCommand(client *c) { geoMembersReply(c, GEO_REPLY_POS); }
static void geohashCommand(client *c) { geoMembersReply(c, GEO_REPLY_HASH); }

/* GEODIST key member1 member2 [unit] */
static void geodistCommand(client *c) {
    double to_meters = 1;
    if (c->argc == 5) {
        if ((to_meters = parseUnitOrReply(c, c->argv[4])) < 0) return;
    } else if (c->argc > 5) {
        addReplyErrorSyntax(c);
        return;
    }
    skey *k;
    if (lookupKeyRead(c, c->argv[1], OBJ_ZSET, &k) != C_OK) return;
    if (!k) {
        addReplyNull(c);
        return;
    }
    double lon1, lat1, lon2, lat2;
    int r = memberPosition(k, c->argv[2], &lon1, &lat1);
    if (r == STORE_OK) r = memberPosition(k, c->argv[3], &lon2, &lat2);
    int saved = errno;
    storeCloseKey(k);
    if (r == STORE_ERR) addReplyErrorIO(c, saved);
    else if (r == STORE_NOTFOUND) addReplyNull(c);
    else addReplyDistance(c, geoDistance(lon1, lat1, lon2, lat2) / to_meters);
}

/* ------------------------------------------------------------------------ */
/* Searches                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct geoPoint {
    sds member;
    double lon, lat;
    double dist; /* metres from the centre, then in the query's unit */
    double score;
} geoPoint;

typedef struct geoPoints {
    geoPoint *v;
    size_t n, cap;
    const geoShape *shape;
    size_t limit; /* COUNT n ANY: stop at n, 0 = no limit */
} geoPoints;

static int limitReached(const geoPoints *p) { return p->n && p->limit && p->n >= p->limit; }

/* zsetVisitScoreRange's callback: keep the member if inside the shape. */
static int collectPoint(void *ud, sds member, double score) {
    geoPoints *p = ud;
    double lon, lat, dist;
    geoDecodeScore(score, &lon, &lat);
    if (geoShapeContains(p->shape, lon, lat, &dist)) {
        if (p->n == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 16;
            p->v = zrealloc(p->v, sizeof(geoPoint) * p->cap);
        }
        p->v[p->n++] = (geoPoint){sdsdup(member), lon, lat, dist, score};
    }
    return limitReached(p);
}

/* Read the cells of the shape in order, through one index; an identical
 * cell right after the one read before is skipped (large radii make
 * neighbours coincide; as in Redis, the centre cell is not compared with).
 * C_ERR after replying. */
static int collectPoints(client *c, skey *k, geoPoints *p) {
    geoSearchCells cells;
    zsetScoreSpan spans[GEO_SEARCH_CELLS];
    int nspans = 0, last = 0;
    geoSearchCellsFor(p->shape, &cells);
    for (int i = 0; i < GEO_SEARCH_CELLS; i++) {
        geoCell *cell = &cells.cell[i];
        if (cell->step == 0 && cell->bits == 0) continue;
        if (last && cell->bits == cells.cell[last].bits && cell->step == cells.cell[last].step) continue;
        geoCellScoreRange(cell, &spans[nspans].min, &spans[nspans].max);
        nspans++;
        last = i;
    }
    /* collectPoint stops the whole visit at the limit, where Redis stops
     * reading the cell and then reads no other */
    return zsetVisitScoreRanges(c, k, spans, nspans, collectPoint, p);
}

static void freePoints(geoPoints *p) {
    for (size_t i = 0; i < p->n; i++) sdsfree(p->v[i].member);
    zfree(p->v);
}

static int byDistanceAsc(const void *a, const void *b) {
    double x = ((const geoPoint *)a)->dist, y = ((const geoPoint *)b)->dist;
    return x > y ? 1 : x == y ? 0 : -1;
}

static int byDistanceDesc(const void *a, const void *b) { return -byDistanceAsc(a, b); }

#define SORT_NONE 0
#define SORT_ASC 1
#define SORT_DESC 2

/* What the command variant accepts */
#define SEARCH_AROUND_COORDS (1 << 0) /* GEORADIUS: key lon lat radius unit */
#define SEARCH_AROUND_MEMBER (1 << 1) /* GEORADIUSBYMEMBER: key member radius unit */
#define SEARCH_NO_STORE (1 << 2)      /* the _RO forms */
#define SEARCH_GEOSEARCH (1 << 3)     /* FROM... / BY... options */
#define SEARCH_STORE_DST (1 << 4)     /* GEOSEARCHSTORE: argv[1] is the destination */

typedef struct geoQuery {
    geoShape shape;
    int withdist, withhash, withcoord;
    int sort, any;
    long long count; /* 0: all */
    int frommember, fromlonlat, byradius, bybox;
    sds storekey;
    int storedist;
} geoQuery;

/* FROMMEMBER's member when the key exists (missing key: only parsed). */
static int parseFromMember(client *c, skey *k, sds member, geoQuery *q) {
    q->frommember = 1;
    if (!k) return C_OK;
    int r = memberPosition(k, member, &q->shape.lon, &q->shape.lat);
    if (r == STORE_ERR) addReplyErrorIO(c, errno);
    else if (r == STORE_NOTFOUND) addReplyError(c, "ERR could not decode requested zset member");
    return r == STORE_OK ? C_OK : C_ERR;
}

/* The options after the fixed arguments, in any order. */
static int parseSearchOptions(client *c, skey *k, int first, int flags, geoQuery *q) {
    int geosearch = flags & SEARCH_GEOSEARCH;
    int may_store = !(flags & SEARCH_NO_STORE) && !geosearch;
    for (int i = first; i < c->argc; i++) {
        const char *arg = c->argv[i];
        int left = c->argc - i - 1; /* arguments after this one */
        if (!strcasecmp(arg, "withdist")) q->withdist = 1;
        else if (!strcasecmp(arg, "withhash")) q->withhash = 1;
        else if (!strcasecmp(arg, "withcoord")) q->withcoord = 1;
        else if (!strcasecmp(arg, "any")) q->any = 1;
        else if (!strcasecmp(arg, "asc")) q->sort = SORT_ASC;
        else if (!strcasecmp(arg, "desc")) q->sort = SORT_DESC;
        else if (!strcasecmp(arg, "count") && left >= 1) {
            if (getLongLongFromArgOrReply(c, c->argv[i + 1], &q->count, NULL) != C_OK) return C_ERR;
            if (q->count <= 0) {
                addReplyError(c, "ERR COUNT must be > 0");
                return C_ERR;
            }
            i++;
        } else if ((!strcasecmp(arg, "store") || !strcasecmp(arg, "storedist")) && left >= 1 && may_store) {
            q->storekey = c->argv[i + 1];
            q->storedist = !strcasecmp(arg, "storedist");
            i++;
        } else if (!strcasecmp(arg, "storedist") && (flags & SEARCH_STORE_DST)) {
            q->storedist = 1;
        } else if (!strcasecmp(arg, "frommember") && left >= 1 && geosearch && !q->fromlonlat) {
            if (parseFromMember(c, k, c->argv[i + 1], q) != C_OK) return C_ERR;
            i++;
        } else if (!strcasecmp(arg, "fromlonlat") && left >= 2 && geosearch && !q->frommember) {
            if (parseLonLatOrReply(c, c->argv + i + 1, &q->shape.lon, &q->shape.lat) != C_OK) return C_ERR;
            q->fromlonlat = 1;
            i += 2;
        } else if (!strcasecmp(arg, "byradius") && left >= 2 && geosearch && !q->bybox) {
            if (parseRadiusOrReply(c, c->argv + i + 1, &q->shape) != C_OK) return C_ERR;
            q->byradius = 1;
            i += 2;
        } else if (!strcasecmp(arg, "bybox") && left >= 3 && geosearch && !q->byradius) {
            if (parseBoxOrReply(c, c->argv + i + 1, &q->shape) != C_OK) return C_ERR;
            q->bybox = 1;
            i += 3;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
    }
    return C_OK;
}

/* The combinations the options cannot make. */
static int checkSearchQuery(client *c, int flags, geoQuery *q) {
    if (q->storekey && (q->withdist || q->withhash || q->withcoord)) {
        addReplyErrorFormat(c, "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
                            (flags & SEARCH_STORE_DST) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS");
        return C_ERR;
    }
    if ((flags & SEARCH_GEOSEARCH) && !(q->frommember || q->fromlonlat)) {
        addReplyErrorFormat(c, "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s", c->argv[0]);
        return C_ERR;
    }
    if ((flags & SEARCH_GEOSEARCH) && !(q->byradius || q->bybox)) {
        addReplyErrorFormat(c, "ERR exactly one of BYRADIUS and BYBOX can be specified for %s", c->argv[0]);
        return C_ERR;
    }
    if (q->any && !q->count) {
        addReplyError(c, "ERR the ANY argument requires COUNT argument");
        return C_ERR;
    }
    return C_OK;
}

/* The fixed arguments before the options; returns the index of the first
 * option, or -1 after replying. */
static int parseSearchCenter(client *c, skey *k, int flags, geoQuery *q) {
    if (flags & SEARCH_AROUND_COORDS) {
        if (parseLonLatOrReply(c, c->argv + 2, &q->shape.lon, &q->shape.lat) != C_OK) return -1;
        if (parseRadiusOrReply(c, c->argv + 4, &q->shape) != C_OK) return -1;
        return 6;
    }
    if (flags & SEARCH_AROUND_MEMBER) {
        /* a missing key: the rest is parsed only to choose the reply */
        if (!k) return 5;
        if (parseFromMember(c, k, c->argv[2], q) != C_OK) return -1;
        if (parseRadiusOrReply(c, c->argv + 3, &q->shape) != C_OK) return -1;
        return 5;
    }
    if (flags & SEARCH_STORE_DST) {
        q->storekey = c->argv[1];
        return 3;
    }
    return 2;
}

static void replySearchResults(client *c, geoQuery *q, geoPoint *v, long n) {
    int extra = q->withdist + q->withhash + q->withcoord;
    addReplyArrayLen(c, n);
    for (long i = 0; i < n; i++) {
        if (extra) addReplyArrayLen(c, extra + 1);
        addReplyBulk(c, v[i].member, sdslen(v[i].member));
        if (q->withdist) addReplyDistance(c, v[i].dist);
        if (q->withhash) addReplyLongLong(c, geoScoreToInteger(v[i].score));
        if (q->withcoord) addReplyCoords(c, v[i].lon, v[i].lat);
    }
}

static void storeSearchResults(client *c, geoQuery *q, geoPoint *v, long n, int flags) {
    zmapEntry *items = zmalloc(sizeof(zmapEntry) * (size_t)(n ? n : 1));
    for (long i = 0; i < n; i++) {
        items[i].member = v[i].member;
        items[i].score = q->storedist ? v[i].dist : v[i].score;
    }
    zsetStoreResult(c, q->storekey, items, (size_t)n, (flags & SEARCH_GEOSEARCH) ? "geosearchstore" : "georadiusstore");
    zfree(items);
}

static void geoSearchGeneric(client *c, int srcidx, int flags) {
    skey *k;
    geoQuery q;
    memset(&q, 0, sizeof(q));
    if (lookupKeyRead(c, c->argv[srcidx], OBJ_ZSET, &k) != C_OK) return;
    int first = parseSearchCenter(c, k, flags, &q);
    if (first < 0 || parseSearchOptions(c, k, first, flags, &q) != C_OK || checkSearchQuery(c, flags, &q) != C_OK)
        goto done;
    if (!k) {
        if (q.storekey) zsetStoreResult(c, q.storekey, NULL, 0, NULL);
        else addReplyArrayLen(c, 0);
        goto done;
    }
    /* COUNT without ANY means the nearest ones */
    if (q.count && q.sort == SORT_NONE && !q.any) q.sort = SORT_ASC;
    geoPoints points = {.shape = &q.shape, .limit = q.any ? (size_t)q.count : 0};
    if (collectPoints(c, k, &points) != C_OK) {
        freePoints(&points);
        goto done;
    }
    if (q.sort != SORT_NONE && points.n > 1)
        qsort(points.v, points.n, sizeof(geoPoint), q.sort == SORT_ASC ? byDistanceAsc : byDistanceDesc);
    long n = (long)points.n;
    if (q.count && q.count < n) n = (long)q.count;
    for (long i = 0; i < n; i++) points.v[i].dist /= q.shape.to_meters;
    if (q.storekey) storeSearchResults(c, &q, points.v, n, flags);
    else replySearchResults(c, &q, points.v, n);
    freePoints(&points);
done:
    storeCloseKey(k);
}

static void georadiusCommand(client *c) { geoSearchGeneric(c, 1, SEARCH_AROUND_COORDS); }
static void georadiusroCommand(client *c) { geoSearchGeneric(c, 1, SEARCH_AROUND_COORDS | SEARCH_NO_STORE); }
static void georadiusbymemberCommand(client *c) { geoSearchGeneric(c, 1, SEARCH_AROUND_MEMBER); }
static void georadiusbymemberroCommand(client *c) {
    geoSearchGeneric(c, 1, SEARCH_AROUND_MEMBER | SEARCH_NO_STORE);
}
static void geosearchCommand(client *c) { geoSearchGeneric(c, 1, SEARCH_GEOSEARCH); }
static void geosearchstoreCommand(client *c) { geoSearchGeneric(c, 2, SEARCH_GEOSEARCH | SEARCH_STORE_DST); }

/* ------------------------------------------------------------------------ */
/* Command table                                                             */
/* ------------------------------------------------------------------------ */

redisCommand geoCommandTable[] = {
    {"geoadd", geoaddCommand, -5, "write denyoom", "write geo slow", 1, 1, 1, NULL},
    {"geodist", geodistCommand, -4, "readonly", "read geo slow", 1, 1, 1, NULL},
    {"geohash", geohashCommand, -2, "readonly", "read geo slow", 1, 1, 1, NULL},
    {"geopos", geoposCommand, -2, "readonly", "read geo slow", 1, 1, 1, NULL},
    {"georadius", georadiusCommand, -6, "write denyoom movablekeys", "write geo slow", 1, 1, 1, NULL},
    {"georadius_ro", georadiusroCommand, -6, "readonly", "read geo slow", 1, 1, 1, NULL},
    {"georadiusbymember", georadiusbymemberCommand, -5, "write denyoom movablekeys", "write geo slow", 1, 1, 1, NULL},
    {"georadiusbymember_ro", georadiusbymemberroCommand, -5, "readonly", "read geo slow", 1, 1, 1, NULL},
    {"geosearch", geosearchCommand, -7, "readonly", "read geo slow", 1, 1, 1, NULL},
    {"geosearchstore", geosearchstoreCommand, -8, "write denyoom", "write geo slow", 1, 2, 1, NULL},
    {NULL}};
