/* keyname.c - key and member names <-> file names.
 *
 * The rules (docs/storage-format.md has the reader's version):
 *  - bytes A-Z a-z 0-9 and  : . _ - @ + = , are kept as they are, except a
 *    leading '.', which is escaped, so that no encoded name starts with '.'
 *    (names starting with '.' belong to dredis itself: .tmp, .expires, ...)
 *    and '.' / '..' cannot arise;
 *  - every other byte is written as %XX (two upper-case hex digits);
 *  - the empty name is written as "%";
 *  - an encoded name longer than KEYNAME_MAX_ENCODED bytes is replaced by its
 *    first 120 bytes (cut before an escape), '~', and the 40 hex digits of the
 *    SHA-1 of the raw name; '~' never appears in an unshortened name.
 */
#include "keyname.h"
#include "sha1.h"
#include <string.h>

#define HASHED_PREFIX_MAX 120

static const char hexdigits[] = "0123456789ABCDEF";

/* ASCII letters and digits and ":._-@+=,", whatever the locale. */
int keynameIsPlainByte(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ':' || c == '.' ||
           c == '_' || c == '-' || c == '@' || c == '+' || c == '=' || c == ',';
}

static int keptPlain(const char *name, size_t i) {
    unsigned char c = (unsigned char)name[i];
    return keynameIsPlainByte(c) && !(i == 0 && c == '.');
}

/* Sized first and filled in one pass: every command opening a key encodes
 * its name, and a byte at a time through sdscatlen was 8 % of a pipelined
 * INCR. */
static sds encodePlain(const char *name, size_t len) {
    if (len == 0) return sdsnewlen("%", 1);
    size_t outlen = 0;
    for (size_t i = 0; i < len; i++) outlen += keptPlain(name, i) ? 1 : 3;
    sds out = sdsnewlen(NULL, outlen);
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (keptPlain(name, i)) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hexdigits[c >> 4];
            *p++ = hexdigits[c & 15];
        }
    }
    return out;
}

sds keynameEncode(const char *name, size_t len, int *hashed) {
    sds enc = encodePlain(name, len);
    *hashed = 0;
    if (sdslen(enc) <= KEYNAME_MAX_ENCODED) return enc;
    size_t cut = HASHED_PREFIX_MAX;
    /* do not split an escape: back up to its '%' */
    if (enc[cut - 1] == '%') cut -= 1;
    else if (enc[cut - 2] == '%') cut -= 2;
    sdssetlen(enc, cut);
    unsigned char digest[20];
    sha1(name, len, digest);
    char hex[41];
    for (int i = 0; i < 20; i++) {
        hex[i * 2] = "0123456789abcdef"[digest[i] >> 4];
        hex[i * 2 + 1] = "0123456789abcdef"[digest[i] & 15];
    }
    enc = sdscatlen(enc, "~", 1);
    enc = sdscatlen(enc, hex, 40);
    *hashed = 1;
    return enc;
}

int keynameIsHashed(const char *fname, size_t len) {
    return memchr(fname, '~', len) != NULL;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

sds keynameDecode(const char *fname, size_t len) {
    if (len == 1 && fname[0] == '%') return sdsempty();
    if (len == 0 || fname[0] == '.') return NULL;
    sds out = sdsMakeRoomFor(sdsempty(), len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)fname[i];
        if (c == '%') {
            if (i + 2 >= len) { sdsfree(out); return NULL; }
            int hi = hexval(fname[i + 1]), lo = hexval(fname[i + 2]);
            if (hi < 0 || lo < 0) { sdsfree(out); return NULL; }
            char b = (char)(hi * 16 + lo);
            /* reject non-canonical escapes so each name has one encoding */
            if (keynameIsPlainByte((unsigned char)b) && !(i == 0 && b == '.')) { sdsfree(out); return NULL; }
            out = sdscatlen(out, &b, 1);
            i += 2;
        } else if (keynameIsPlainByte(c)) {
            out = sdscatlen(out, &fname[i], 1);
        } else {
            sdsfree(out);
            return NULL;
        }
    }
    return out;
}
