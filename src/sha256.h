/* sha256.h - SHA-256 (FIPS 180-4): ACL passwords are kept as its hex digest. */
#ifndef DREDIS_SHA256_H
#define DREDIS_SHA256_H
#include <stddef.h>

/* hex: 64 lowercase hex digits and a NUL */
void sha256Hex(const unsigned char *data, size_t len, char hex[65]);
#endif
