/* sds.c - binary-safe dynamic strings: allocation, growth and the few
 * operations the rest of dredis needs. */
#include "sds.h"
#include "zmalloc.h"
#include <stdio.h>
#include <string.h>
#include <ctype.h>

static inline struct sdshdr *sdsHdr(const sds s) {
    return (struct sdshdr *)(s - sizeof(struct sdshdr));
}

sds sdsnewlen(const void *init, size_t len) {
    struct sdshdr *sh = zmalloc(sizeof(*sh) + len + 1);
    sh->len = len;
    sh->alloc = len;
    if (len && init) memcpy(sh->buf, init, len);
    else if (len) memset(sh->buf, 0, len);
    sh->buf[len] = '\0';
    return sh->buf;
}

sds sdsnew(const char *init) { return sdsnewlen(init, init ? strlen(init) : 0); }
sds sdsempty(void) { return sdsnewlen("", 0); }
sds sdsdup(const sds s) { return sdsnewlen(s, sdslen(s)); }

void sdsfree(sds s) {
    if (s) zfree(sdsHdr(s));
}

sds sdsMakeRoomFor(sds s, size_t addlen) {
    struct sdshdr *sh = sdsHdr(s);
    if (sh->alloc - sh->len >= addlen) return s;
    size_t newlen = sh->len + addlen;
    if (newlen < 1024 * 1024) newlen *= 2;
    else newlen += 1024 * 1024;
    sh = zrealloc(sh, sizeof(*sh) + newlen + 1);
    sh->alloc = newlen;
    return sh->buf;
}

void sdsIncrLen(sds s, size_t incr) {
    struct sdshdr *sh = sdsHdr(s);
    sh->len += incr;
    sh->buf[sh->len] = '\0';
}

void sdssetlen(sds s, size_t len) {
    struct sdshdr *sh = sdsHdr(s);
    sh->len = len;
    sh->buf[len] = '\0';
}

sds sdsgrowzero(sds s, size_t len) {
    size_t cur = sdslen(s);
    if (len <= cur) return s;
    s = sdsMakeRoomFor(s, len - cur);
    memset(s + cur, 0, len - cur + 1);
    sdssetlen(s, len);
    return s;
}

sds sdscatlen(sds s, const void *t, size_t len) {
    size_t cur = sdslen(s);
    s = sdsMakeRoomFor(s, len);
    if (len) memcpy(s + cur, t, len);
    sdssetlen(s, cur + len);
    return s;
}

sds sdscat(sds s, const char *t) { return sdscatlen(s, t, strlen(t)); }
sds sdscatsds(sds s, const sds t) { return sdscatlen(s, t, sdslen(t)); }

sds sdscatvprintf(sds s, const char *fmt, va_list ap) {
    va_list cpy;
    char stackbuf[1024];
    va_copy(cpy, ap);
    int n = vsnprintf(stackbuf, sizeof(stackbuf), fmt, cpy);
    va_end(cpy);
    if (n < 0) return s;
    if ((size_t)n < sizeof(stackbuf)) return sdscatlen(s, stackbuf, (size_t)n);
    size_t cur = sdslen(s);
    s = sdsMakeRoomFor(s, (size_t)n);
    va_copy(cpy, ap);
    vsnprintf(s + cur, (size_t)n + 1, fmt, cpy);
    va_end(cpy);
    sdssetlen(s, cur + (size_t)n);
    return s;
}

sds sdscatprintf(sds s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    s = sdscatvprintf(s, fmt, ap);
    va_end(ap);
    return s;
}

/* Keep the bytes in [start, end] (inclusive, negative counts from the end). */
void sdsrange(sds s, long start, long end) {
    long len = (long)sdslen(s);
    if (len == 0) return;
    if (start < 0) { start += len; if (start < 0) start = 0; }
    if (end < 0) { end += len; if (end < 0) end = 0; }
    long newlen = (start > end) ? 0 : (end - start) + 1;
    if (newlen != 0) {
        if (start >= len) newlen = 0;
        else if (end >= len) { end = len - 1; newlen = (end - start) + 1; }
    }
    if (start && newlen) memmove(s, s + start, (size_t)newlen);
    sdssetlen(s, (size_t)newlen);
}

void sdstolower(sds s) {
    size_t len = sdslen(s);
    for (size_t j = 0; j < len; j++) s[j] = (char)tolower((unsigned char)s[j]);
}

int sdscmp(const sds a, const sds b) {
    size_t l1 = sdslen(a), l2 = sdslen(b);
    size_t m = l1 < l2 ? l1 : l2;
    int c = memcmp(a, b, m);
    if (c != 0) return c;
    return (l1 > l2) - (l1 < l2);
}

sds sdsfromlonglong(long long value) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", value);
    return sdsnewlen(buf, (size_t)n);
}

sds sdscatrepr(sds s, const char *p, size_t len) {
    s = sdscatlen(s, "\"", 1);
    for (size_t j = 0; j < len; j++) {
        unsigned char ch = (unsigned char)p[j];
        switch (ch) {
        case '\\': s = sdscatlen(s, "\\\\", 2); break;
        case '"': s = sdscatlen(s, "\\\"", 2); break;
        case '\n': s = sdscatlen(s, "\\n", 2); break;
        case '\r': s = sdscatlen(s, "\\r", 2); break;
        case '\t': s = sdscatlen(s, "\\t", 2); break;
        case '\a': s = sdscatlen(s, "\\a", 2); break;
        case '\b': s = sdscatlen(s, "\\b", 2); break;
        default:
            if (ch >= 32 && ch < 127) s = sdscatlen(s, p + j, 1);
            else s = sdscatprintf(s, "\\x%02x", ch);
        }
    }
    return sdscatlen(s, "\"", 1);
}
