/* util.h - pure helpers: number parsing and formatting as Redis does it, and
 * glob-style pattern matching. */
#ifndef DREDIS_UTIL_H
#define DREDIS_UTIL_H
#include <stddef.h>
#include <stdint.h>

int string2ll(const char *s, size_t slen, long long *value);
int string2l(const char *s, size_t slen, long *value);
int string2ull(const char *s, size_t slen, unsigned long long *value);
int string2d(const char *s, size_t slen, double *value);
int string2ld(const char *s, size_t slen, long double *value);
int ll2string(char *dst, size_t dstlen, long long value);
#define DB_SCOPED_EXTRA 24 /* room for "<db>:" (an int, its sign, the colon) */
size_t dbScopedName(char *dst, int db, const char *name, size_t len);
/* Redis's double formatting for replies and scores ("inf", "-inf", %.17g) */
int d2string(char *buf, size_t len, double value);
/* INCRBYFLOAT style: no exponent, trailing zeros removed */
int ld2string(char *buf, size_t len, long double value, int humanfriendly);
int stringmatchlen(const char *pattern, int patternLen, const char *string, int stringLen, int nocase);
void getRandomHexChars(char *p, size_t len);
/* write() all of p to fd, again after EINTR and short writes: 0, or -1
 * with errno. */
int writeFully(int fd, const void *p, size_t len);
uint64_t siphashish(const void *data, size_t len); /* fast non-crypto hash */

/* serverAssert: an invariant that holds unless dredis has a bug. On in
 * every build (keep what it evaluates cheap): when it fails, the file, line,
 * expression and the command being run (assertSetContext) are logged to
 * stderr and the process aborts, leaving the tree for start-up recovery. */
#define serverAssert(e) ((e) ? (void)0 : assertFailed(#e, __FILE__, __LINE__))
void assertFailed(const char *expr, const char *file, int line) __attribute__((noreturn));
typedef const char *assertContextFn(void);
void assertSetContext(assertContextFn *fn);
#endif
