/* fuzz_keyname.c - key names <-> file names (keyname.c).
 *
 * The bytes as a key name: its file name is a single path component that
 * is never "." or "..", never starts with '.', holds no '/' or NUL, fits
 * NAME_MAX, and decodes back to the name (unless shortened, when it must
 * say so). The bytes as a file name: when it decodes, the name encodes
 * back to exactly it (each name has one file name). */
#include "fuzz.h"
#include "keyname.h"
#include <limits.h>
#include <string.h>

static void checkFileName(const char *f, size_t len) {
    FUZZ_CHECK(len > 0 && len <= NAME_MAX, "file name of %zu bytes", len);
    FUZZ_CHECK(f[0] != '.', "file name starting with '.'");
    FUZZ_CHECK(memchr(f, '/', len) == NULL, "'/' in a file name");
    FUZZ_CHECK(memchr(f, '\0', len) == NULL, "NUL in a file name");
}

static void nameRoundTrip(const char *name, size_t len) {
    int hashed = -1;
    sds enc = keynameEncode(name, len, &hashed);
    checkFileName(enc, sdslen(enc));
    FUZZ_CHECK(hashed == 0 || hashed == 1, "hashed %d", hashed);
    FUZZ_CHECK(keynameIsHashed(enc, sdslen(enc)) == hashed, "keynameIsHashed disagrees");
    FUZZ_CHECK(hashed == (sdslen(enc) != 0 && memchr(enc, '~', sdslen(enc)) != NULL), "'~' and hashed disagree");
    if (!hashed) {
        FUZZ_CHECK(sdslen(enc) <= KEYNAME_MAX_ENCODED, "an unshortened name of %zu bytes", sdslen(enc));
        sds dec = keynameDecode(enc, sdslen(enc));
        FUZZ_CHECK(dec != NULL, "the encoding of a name does not decode");
        FUZZ_CHECK(sdslen(dec) == len && memcmp(dec, name, len) == 0, "the round trip changes the name");
        sdsfree(dec);
    } else {
        int again;
        sds enc2 = keynameEncode(name, len, &again);
        FUZZ_CHECK(again && sdscmp(enc, enc2) == 0, "a shortened name is not stable");
        sdsfree(enc2);
    }
    sdsfree(enc);
}

static void fileNameRoundTrip(const char *f, size_t len) {
    sds dec = keynameDecode(f, len);
    if (!dec) return;
    int hashed;
    sds enc = keynameEncode(dec, sdslen(dec), &hashed);
    if (!hashed)
        FUZZ_CHECK(sdslen(enc) == len && memcmp(enc, f, len) == 0, "a file name decodes to a name encoded otherwise");
    sdsfree(enc);
    sdsfree(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nameRoundTrip((const char *)data, size);
    fileNameRoundTrip((const char *)data, size);
    for (size_t i = 0; i < size; i++) FUZZ_CHECK(keynameIsPlainByte(data[i]) <= 1, "not a truth value");
    return 0;
}
