/* sds.h - binary-safe, length-prefixed dynamic strings (a small subset of
 * Redis's sds). An sds is a char* that points just past a header holding its
 * length and capacity; it is always NUL-terminated so it can be printed. */
#ifndef DREDIS_SDS_H
#define DREDIS_SDS_H
#include <stddef.h>
#include <stdarg.h>

typedef char *sds;

struct sdshdr {
    size_t len;
    size_t alloc;
    char buf[];
};

static inline size_t sdslen(const sds s) {
    return ((const struct sdshdr *)(s - sizeof(struct sdshdr)))->len;
}

sds sdsnewlen(const void *init, size_t len);
sds sdsnew(const char *init);
sds sdsempty(void);
sds sdsdup(const sds s);
void sdsfree(sds s);
sds sdscatlen(sds s, const void *t, size_t len);
sds sdscat(sds s, const char *t);
sds sdscatsds(sds s, const sds t);
sds sdscatprintf(sds s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
sds sdscatvprintf(sds s, const char *fmt, va_list ap);
sds sdsMakeRoomFor(sds s, size_t addlen);
void sdsIncrLen(sds s, size_t incr);
void sdssetlen(sds s, size_t len);
sds sdsgrowzero(sds s, size_t len);
void sdsrange(sds s, long start, long end);
void sdstolower(sds s);
int sdscmp(const sds a, const sds b);
sds sdsfromlonglong(long long value);
/* p[0..len) appended quoted and escaped, as Redis's sdscatrepr() */
sds sdscatrepr(sds s, const char *p, size_t len);

#endif
