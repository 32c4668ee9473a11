/* sha1.c - a straightforward SHA-1 implementation (public-domain algorithm
 * description, FIPS 180-1). */
#include "sha1.h"
#include <string.h>

#define ROL(v, b) (((v) << (b)) | ((v) >> (32 - (b))))

static void SHA1Transform(uint32_t state[5], const unsigned char buffer[64]) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)buffer[i * 4] << 24 | (uint32_t)buffer[i * 4 + 1] << 16 |
               (uint32_t)buffer[i * 4 + 2] << 8 | (uint32_t)buffer[i * 4 + 3];
    for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6; }
        uint32_t t = ROL(a, 5) + f + e + k + w[i];
        e = d; d = c; c = ROL(b, 30); b = a; a = t;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e;
}

void SHA1Init(SHA1_CTX *ctx) {
    ctx->state[0] = 0x67452301;
    ctx->state[1] = 0xEFCDAB89;
    ctx->state[2] = 0x98BADCFE;
    ctx->state[3] = 0x10325476;
    ctx->state[4] = 0xC3D2E1F0;
    ctx->count = 0;
}

void SHA1Update(SHA1_CTX *ctx, const void *data, size_t len) {
    const unsigned char *p = data;
    size_t used = (size_t)(ctx->count & 63);
    ctx->count += len;
    if (used) {
        size_t fill = 64 - used;
        if (len < fill) { memcpy(ctx->buffer + used, p, len); return; }
        memcpy(ctx->buffer + used, p, fill);
        SHA1Transform(ctx->state, ctx->buffer);
        p += fill; len -= fill;
    }
    while (len >= 64) { SHA1Transform(ctx->state, p); p += 64; len -= 64; }
    if (len) memcpy(ctx->buffer, p, len);
}

void SHA1Final(unsigned char digest[20], SHA1_CTX *ctx) {
    uint64_t bits = ctx->count * 8;
    unsigned char pad = 0x80, zero = 0, lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(bits >> (56 - 8 * i));
    SHA1Update(ctx, &pad, 1);
    while ((ctx->count & 63) != 56) SHA1Update(ctx, &zero, 1);
    SHA1Update(ctx, lenbuf, 8);
    for (int i = 0; i < 20; i++) digest[i] = (unsigned char)(ctx->state[i >> 2] >> ((3 - (i & 3)) * 8));
}

void sha1(const void *data, size_t len, unsigned char digest[20]) {
    SHA1_CTX ctx;
    SHA1Init(&ctx);
    SHA1Update(&ctx, data, len);
    SHA1Final(digest, &ctx);
}

void sha1hex(const void *data, size_t len, char out[41]) {
    unsigned char d[20];
    sha1(data, len, d);
    for (int i = 0; i < 20; i++) {
        out[i * 2] = "0123456789abcdef"[d[i] >> 4];
        out[i * 2 + 1] = "0123456789abcdef"[d[i] & 15];
    }
    out[40] = '\0';
}
