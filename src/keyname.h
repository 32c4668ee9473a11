/* keyname.h - binary-safe, reversible mapping between key (or member) names
 * and file names. Pure: no I/O. */
#ifndef DREDIS_KEYNAME_H
#define DREDIS_KEYNAME_H
#include <stddef.h>
#include "sds.h"

/* Longest encoded name kept as-is; longer ones are shortened to a readable
 * prefix plus '~' and the SHA-1 of the full name. */
#define KEYNAME_MAX_ENCODED 200

/* Encode name into a file name. *hashed is set when the name was too long
 * and the file name is a digest (the full name must then be stored beside
 * it, since the mapping cannot be reversed from the file name alone). */
sds keynameEncode(const char *name, size_t len, int *hashed);
/* Decode a file name produced by keynameEncode (not a hashed one).
 * Returns NULL when fname is not a valid encoded name. */
sds keynameDecode(const char *fname, size_t len);
/* Is this file name a shortened (hashed) one? */
int keynameIsHashed(const char *fname, size_t len);
/* Is the byte kept as itself in file names? */
int keynameIsPlainByte(unsigned char c);

#endif
