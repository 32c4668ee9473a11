/* lolwut.c - LOLWUT [VERSION v] [arguments ...], as Redis 7.0 draws it.
 *
 * Without VERSION 5 or 6 the answer is the version line alone ("Redis ver.
 * 7.0.15"). VERSION 5 draws Georg Nees's "Schotter" (1968): a grid of
 * squares, tilted and shifted at random more and more towards the bottom,
 * rendered in Braille characters (2x4 pixels each); VERSION 6 a city
 * skyline in the four grays of a terminal. The geometry is Redis's, with
 * the same float arithmetic, so that every part not left to chance (the
 * first two rows of squares, the sizes, the captions) is byte for byte
 * Redis's; the random parts are as random as Redis's. */
#include "server.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A canvas of width x height pixels, one byte (a color) each */
typedef struct canvas {
    int width, height;
    char *pixels;
} canvas;

static canvas *canvasNew(int width, int height, int color) {
    canvas *cv = zmalloc(sizeof(*cv));
    cv->width = width;
    cv->height = height;
    cv->pixels = zmalloc((size_t)width * (size_t)height);
    memset(cv->pixels, color, (size_t)width * (size_t)height);
    return cv;
}

static void canvasFree(canvas *cv) {
    zfree(cv->pixels);
    zfree(cv);
}

static int inCanvas(const canvas *cv, int x, int y) { return x >= 0 && x < cv->width && y >= 0 && y < cv->height; }

static void setPixel(canvas *cv, int x, int y, int color) {
    if (inCanvas(cv, x, y)) cv->pixels[x + y * cv->width] = (char)color;
}

static int pixel(const canvas *cv, int x, int y) { return inCanvas(cv, x, y) ? cv->pixels[x + y * cv->width] : 0; }

/* Bresenham's line from (x1,y1) to (x2,y2), both ends included */
static void drawLine(canvas *cv, int x1, int y1, int x2, int y2, int color) {
    int dx = abs(x2 - x1), dy = abs(y2 - y1);
    int sx = x1 < x2 ? 1 : -1, sy = y1 < y2 ? 1 : -1;
    int err = dx - dy;
    for (;;) {
        setPixel(cv, x1, y1, color);
        if (x1 == x2 && y1 == y2) return;
        int twice = err * 2;
        if (twice > -dy) {
            err -= dy;
            x1 += sx;
        }
        if (twice < dx) {
            err += dx;
            y1 += sy;
        }
    }
}

/* A square of side size centred on (x,y), turned by angle radians. The
 * corners are on the circle through them, computed in Redis's types
 * (float, with double intermediates) so that they round alike. */
static void drawSquare(canvas *cv, int x, int y, float size, float angle, int color) {
    int px[4], py[4];
    size /= 1.4142135623; /* the half diagonal of a square of side 1 is 1/sqrt(2) */
    size = (float)round(size);
    float k = (float)(M_PI / 4 + angle);
    for (int j = 0; j < 4; j++) {
        px[j] = (int)round(sin(k) * size + x);
        py[j] = (int)round(cos(k) * size + y);
        k = (float)(k + M_PI / 2);
    }
    for (int j = 0; j < 4; j++) drawLine(cv, px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
}

static long clampLong(long v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : v; }

/* argv[i] as a number when given (else *out stays); C_ERR after replying */
static int optionalLong(client *c, sds *argv, int argc, int i, long *out) {
    return i < argc ? getLongFromArgOrReply(c, argv[i], out, NULL) : C_OK;
}

static void replyArt(client *c, sds art) {
    art = sdscatprintf(art, "%s\n", DREDIS_VERSION);
    addReplyVerbatim(c, art, sdslen(art), "txt");
    sdsfree(art);
}

/* ---- version 5: Schotter ---- */

/* A random fraction in [0, 1] of the row's share of the disorder, its sign
 * at random too (the draws in Redis's order: three values, three signs) */
static void schotterJitter(long rows, int y, float r[3]) {
    for (int i = 0; i < 3; i++) r[i] = (float)rand() / (float)RAND_MAX / rows * y;
    for (int i = 0; i < 3; i++)
        if (rand() % 2) r[i] = -r[i];
}

static canvas *drawSchotter(long cols, long per_row, long per_col) {
    int width = (int)cols * 2;
    int padding = width > 4 ? 2 : 0;
    float side = (float)(width - padding * 2) / per_row;
    int height = (int)(side * per_col + padding * 2);
    canvas *cv = canvasNew(width, height, 0);
    for (int y = 0; y < per_col; y++) {
        for (int x = 0; x < per_row; x++) {
            int sx = (int)(x * side + side / 2 + padding);
            int sy = (int)(y * side + side / 2 + padding);
            float angle = 0;
            if (y > 1) { /* the first two rows stay in order */
                float r[3];
                schotterJitter(per_col, y, r);
                angle = r[0];
                sx = (int)(sx + r[1] * side / 3);
                sy = (int)(sy + r[2] * side / 3);
            }
            drawSquare(cv, sx, sy, side, angle, 1);
        }
    }
    return cv;
}

/* The canvas in Braille: each character is a block of 2x4 pixels, whose
 * dots are bits 0-2 (left column, top down), 3-5 (right column), 6 and 7
 * (the bottom row, left then right) of U+2800 + bits, in UTF-8. */
static sds brailleText(const canvas *cv) {
    static const int dot[8][2] = {{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}, {0, 3}, {1, 3}};
    sds text = sdsempty();
    for (int y = 0; y < cv->height; y += 4) {
        for (int x = 0; x < cv->width; x += 2) {
            int bits = 0;
            for (int b = 0; b < 8; b++)
                if (pixel(cv, x + dot[b][0], y + dot[b][1])) bits |= 1 << b;
            int code = 0x2800 + bits;
            char utf8[3] = {(char)(0xE0 | (code >> 12)), (char)(0x80 | ((code >> 6) & 0x3F)),
                            (char)(0x80 | (code & 0x3F))};
            text = sdscatlen(text, utf8, 3);
        }
        if (y != cv->height - 1) text = sdscatlen(text, "\n", 1);
    }
    return text;
}

/* [columns (66)] [squares per row (8)] [squares per column (12)] */
static void lolwut5(client *c, sds *argv, int argc) {
    long cols = 66, per_row = 8, per_col = 12;
    if (optionalLong(c, argv, argc, 1, &cols) != C_OK || optionalLong(c, argv, argc, 2, &per_row) != C_OK ||
        optionalLong(c, argv, argc, 3, &per_col) != C_OK)
        return;
    canvas *cv = drawSchotter(clampLong(cols, 1, 1000), clampLong(per_row, 1, 200), clampLong(per_col, 1, 200));
    sds art = brailleText(cv);
    canvasFree(cv);
    replyArt(c, sdscat(art, "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. "));
}

/* ---- version 6: a skyline ---- */

typedef struct building {
    int xoff, width, height;
    int windows; /* lit windows, at random in the two grays */
    int color;
} building;

/* A window pixel's color: a gray other than the building's, the same as
 * its left neighbour for the second pixel of a window */
static int windowColor(canvas *cv, const building *b, int x, int y, int relx) {
    int color;
    do {
        color = 1 + rand() % 2;
    } while (color == b->color);
    return relx % 2 ? pixel(cv, x - 1, y) : color;
}

static void drawBuilding(canvas *cv, const building *b) {
    int bottom = cv->height - 1, top = bottom - b->height + 1;
    for (int y = bottom; y >= top; y--) {
        for (int x = b->xoff; x < b->xoff + b->width; x++) {
            if (y == top && (x <= b->xoff + 1 || x >= b->xoff + b->width - 2)) continue; /* a narrower roof */
            int color = b->color;
            int inner = x > b->xoff + 1 && x < b->xoff + b->width - 2 && y > top + 1 && y < bottom - 1;
            if (b->windows && inner) {
                int relx = x - (b->xoff + 1), rely = y - (top + 1);
                if (relx / 2 % 2 && rely % 2) color = windowColor(cv, b, x, y, relx);
            }
            setPixel(cv, x, y, color);
        }
    }
}

/* Two rows of plain buildings behind (light gray, then dark gray), then
 * black ones with windows in front; the random draws in Redis's order. */
static void drawSkyline(canvas *cv) {
    building b;
    for (int color = 2; color >= 1; color--) {
        b.color = color;
        b.windows = 0;
        for (int offset = -10; offset < cv->width;) {
            offset += rand() % 8;
            b.xoff = offset;
            b.width = 10 + rand() % 9;
            b.height = cv->height / 2 + rand() % cv->height / (color == 2 ? 2 : 3);
            drawBuilding(cv, &b);
            offset += color == 2 ? b.width / 2 : b.width + 1;
        }
    }
    b.color = 0;
    b.windows = 1;
    for (int offset = -10; offset < cv->width;) {
        offset += rand() % 8;
        b.xoff = offset;
        b.width = 5 + rand() % 14;
        if (b.width % 4) b.width += b.width % 3;
        b.height = cv->height / 3 + rand() % cv->height / 2;
        drawBuilding(cv, &b);
        offset += b.width + 5;
    }
}

/* Each pixel a space with the color as foreground and background */
static sds grayText(const canvas *cv) {
    static const char *escape[4] = {"0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"};
    sds text = sdsempty();
    for (int y = 0; y < cv->height; y++) {
        for (int x = 0; x < cv->width; x++) {
            int color = pixel(cv, x, y);
            text = sdscatprintf(text, "\033[%s \033[0m", escape[color >= 0 && color < 4 ? color : 0]);
        }
        if (y != cv->height - 1) text = sdscatlen(text, "\n", 1);
    }
    return text;
}

/* [columns (80)] [rows (20)] */
static void lolwut6(client *c, sds *argv, int argc) {
    long cols = 80, rows = 20;
    if (optionalLong(c, argv, argc, 1, &cols) != C_OK || optionalLong(c, argv, argc, 2, &rows) != C_OK) return;
    canvas *cv = canvasNew((int)clampLong(cols, 1, 1000), (int)clampLong(rows, 1, 1000), 3);
    drawSkyline(cv);
    sds art = grayText(cv);
    canvasFree(cv);
    replyArt(c, sdscat(art, "\nDedicated to the 8 bit game developers of past and present.\n"
                            "Original 8 bit image from Plaguemon by hikikomori. Redis ver. "));
}

/* LOLWUT [VERSION v [arguments]]: v as Redis reads it (an unsigned int, so
 * that 2^32+5 is 5); the arguments after it go to that version's art,
 * any other line gets the version line. */
static void lolwutCommand(client *c) {
    unsigned int version = 0;
    if (c->argc >= 3 && !strcasecmp(c->argv[1], "version")) {
        long v;
        if (getLongFromArgOrReply(c, c->argv[2], &v, NULL) != C_OK) return;
        version = (unsigned int)v;
    }
    if (version == 5) lolwut5(c, c->argv + 2, c->argc - 2);
    else if (version == 6) lolwut6(c, c->argv + 2, c->argc - 2);
    else replyArt(c, sdsnew("Redis ver. "));
}

redisCommand lolwutCommandTable[] = {
    {"lolwut", lolwutCommand, -1, "readonly fast", "read fast", 0, 0, 0, NULL},
    {NULL}};
