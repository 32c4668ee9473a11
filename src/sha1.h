/* sha1.h - SHA-1 (FIPS 180-1), used for shortened file names and, later,
 * for script digests. */
#ifndef DREDIS_SHA1_H
#define DREDIS_SHA1_H
#include <stddef.h>
#include <stdint.h>
typedef struct {
    uint32_t state[5];
    uint64_t count;
    unsigned char buffer[64];
} SHA1_CTX;
void SHA1Init(SHA1_CTX *ctx);
void SHA1Update(SHA1_CTX *ctx, const void *data, size_t len);
void SHA1Final(unsigned char digest[20], SHA1_CTX *ctx);
void sha1(const void *data, size_t len, unsigned char digest[20]);
void sha1hex(const void *data, size_t len, char out[41]);
#endif
