/* util.c - number parsing/formatting and glob matching, following Redis's
 * util.c semantics (strict integer syntax, no spaces, "inf" handling), and
 * writing a buffer whole. */
#include "util.h"
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <float.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>

/* Strict: optional '-', no leading zeros (except "0"), no spaces, no '+'. */
int string2ll(const char *s, size_t slen, long long *value) {
    const char *p = s;
    size_t plen = 0;
    int negative = 0;
    unsigned long long v;
    if (plen == slen || slen >= 21) return 0;
    if (slen == 1 && p[0] == '0') { if (value) *value = 0; return 1; }
    if (p[0] == '-') {
        negative = 1; p++; plen++;
        if (plen == slen) return 0;
    }
    if (p[0] >= '1' && p[0] <= '9') { v = (unsigned long long)(p[0] - '0'); p++; plen++; }
    else return 0;
    while (plen < slen && p[0] >= '0' && p[0] <= '9') {
        if (v > (ULLONG_MAX / 10)) return 0;
        v *= 10;
        if (v > (ULLONG_MAX - (unsigned long long)(p[0] - '0'))) return 0;
        v += (unsigned long long)(p[0] - '0');
        p++; plen++;
    }
    if (plen < slen) return 0;
    if (negative) {
        if (v > ((unsigned long long)(-(LLONG_MIN + 1)) + 1)) return 0;
        if (value) *value = (long long)(-v);
    } else {
        if (v > LLONG_MAX) return 0;
        if (value) *value = (long long)v;
    }
    return 1;
}

int string2l(const char *s, size_t slen, long *lval) {
    long long llval;
    if (!string2ll(s, slen, &llval)) return 0;
    if (llval < LONG_MIN || llval > LONG_MAX) return 0;
    *lval = (long)llval;
    return 1;
}

int string2ull(const char *s, size_t slen, unsigned long long *value) {
    char buf[32];
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    if (buf[0] == '-' || buf[0] == '+' || isspace((unsigned char)buf[0])) return 0;
    if (slen > 1 && buf[0] == '0') return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno || end != buf + slen) return 0; /* also rejects embedded NULs */
    *value = v;
    return 1;
}

int string2d(const char *s, size_t slen, double *dp) {
    char buf[256];
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    char *eptr;
    errno = 0;
    double value = strtod(buf, &eptr);
    if ((size_t)(eptr - buf) != slen || (errno == ERANGE && (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) || isnan(value))
        return 0;
    if (dp) *dp = value;
    return 1;
}

int string2ld(const char *s, size_t slen, long double *dp) {
    char buf[5120];
    if (slen == 0 || slen >= sizeof(buf)) return 0;
    memcpy(buf, s, slen);
    buf[slen] = '\0';
    if (isspace((unsigned char)buf[0])) return 0;
    char *eptr;
    errno = 0;
    long double value = strtold(buf, &eptr);
    if ((size_t)(eptr - buf) != slen || (errno == ERANGE && (value == HUGE_VALL || value == -HUGE_VALL || fpclassify(value) == FP_ZERO)) || isnan(value))
        return 0;
    if (dp) *dp = value;
    return 1;
}

/* value in decimal, NUL-terminated: its length, or 0 when dst is too small.
 * By hand: snprintf's format parsing was a few per cent of a list push,
 * whose segments carry each element's length in decimal. */
int ll2string(char *dst, size_t dstlen, long long value) {
    char rev[24];
    unsigned long long v = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    int n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (value < 0) rev[n++] = '-';
    if ((size_t)n >= dstlen) return 0;
    for (int i = 0; i < n; i++) dst[i] = rev[n - 1 - i];
    dst[n] = '\0';
    return n;
}

/* "<db>:" then name into dst, which has room for len + DB_SCOPED_EXTRA
 * bytes: the key of a per-key cache entry. Returns its length (no NUL). */
size_t dbScopedName(char *dst, int db, const char *name, size_t len) {
    int n = ll2string(dst, DB_SCOPED_EXTRA, db);
    dst[n] = ':';
    if (len) memcpy(dst + n + 1, name, len);
    return (size_t)n + 1 + len;
}

int d2string(char *buf, size_t len, double value) {
    if (isnan(value)) return snprintf(buf, len, "nan");
    if (isinf(value)) return snprintf(buf, len, value > 0 ? "inf" : "-inf");
    if (value == 0) return snprintf(buf, len, signbit(value) ? "-0" : "0"); /* as Redis 7.0 */
    /* integers that fit are printed without a decimal point, as Redis does */
    if (value > -4503599627370496.0 && value < 4503599627370496.0 && value == (double)(long long)value)
        return snprintf(buf, len, "%lld", (long long)value);
    return snprintf(buf, len, "%.17g", value);
}

int ld2string(char *buf, size_t len, long double value, int humanfriendly) {
    int l;
    if (isinf(value)) {
        if (len < 5) return 0;
        if (value > 0) { memcpy(buf, "inf", 3); l = 3; }
        else { memcpy(buf, "-inf", 4); l = 4; }
        buf[l] = '\0';
        return l;
    }
    if (humanfriendly) {
        l = snprintf(buf, len, "%.17Lf", value);
        if (l < 0 || (size_t)l >= len) return 0;
        if (strchr(buf, '.') != NULL) {
            char *p = buf + l - 1;
            while (*p == '0') { p--; l--; }
            if (*p == '.') l--;
        }
        if (l == 2 && buf[0] == '-' && buf[1] == '0') { buf[0] = '0'; l = 1; }
    } else {
        l = snprintf(buf, len, "%.17Lg", value);
        if (l < 0 || (size_t)l >= len) return 0;
    }
    buf[l] = '\0';
    return l;
}

/* Glob-style matching with Redis's syntax: * ? [abc] [^a] [a-z] \x */
static int stringmatchlen_impl(const char *pattern, int patternLen, const char *string, int stringLen,
                               int nocase, int *skipLongerMatches, int nesting) {
    if (nesting > 1000) return 0; /* pathological patterns */
    while (patternLen && stringLen) {
        switch (pattern[0]) {
        case '*':
            while (patternLen > 1 && pattern[1] == '*') { pattern++; patternLen--; }
            if (patternLen == 1) return 1;
            while (stringLen) {
                if (stringmatchlen_impl(pattern + 1, patternLen - 1, string, stringLen, nocase, skipLongerMatches, nesting + 1))
                    return 1;
                if (*skipLongerMatches) return 0;
                string++; stringLen--;
            }
            *skipLongerMatches = 1;
            return 0;
        case '?':
            string++; stringLen--;
            break;
        case '[': {
            int not, match;
            pattern++; patternLen--;
            not = patternLen && pattern[0] == '^';
            if (not) { pattern++; patternLen--; }
            match = 0;
            while (1) {
                if (patternLen >= 2 && pattern[0] == '\\') {
                    pattern++; patternLen--;
                    if (pattern[0] == string[0]) match = 1;
                } else if (patternLen == 0) {
                    pattern--; patternLen++;
                    break;
                } else if (pattern[0] == ']') {
                    break;
                } else if (patternLen >= 3 && pattern[1] == '-') {
                    int start = (unsigned char)pattern[0], end = (unsigned char)pattern[2], c = (unsigned char)string[0];
                    if (start > end) { int t = start; start = end; end = t; }
                    if (nocase) { start = tolower(start); end = tolower(end); c = tolower(c); }
                    pattern += 2; patternLen -= 2;
                    if (c >= start && c <= end) match = 1;
                } else {
                    if (!nocase) { if (pattern[0] == string[0]) match = 1; }
                    else if (tolower((unsigned char)pattern[0]) == tolower((unsigned char)string[0])) match = 1;
                }
                pattern++; patternLen--;
            }
            if (not) match = !match;
            if (!match) return 0;
            string++; stringLen--;
            break;
        }
        case '\\':
            if (patternLen >= 2) { pattern++; patternLen--; }
            /* fall through */
        default:
            if (!nocase) { if (pattern[0] != string[0]) return 0; }
            else if (tolower((unsigned char)pattern[0]) != tolower((unsigned char)string[0])) return 0;
            string++; stringLen--;
            break;
        }
        pattern++; patternLen--;
        if (stringLen == 0) {
            while (patternLen && *pattern == '*') { pattern++; patternLen--; }
            break;
        }
    }
    return patternLen == 0 && stringLen == 0;
}

int stringmatchlen(const char *pattern, int patternLen, const char *string, int stringLen, int nocase) {
    int skip = 0;
    return stringmatchlen_impl(pattern, patternLen, string, stringLen, nocase, &skip, 0);
}

void getRandomHexChars(char *p, size_t len) {
    static const char *charset = "0123456789abcdef";
    unsigned char buf[64];
    size_t done = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (done < len) {
        size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
        if (fd < 0 || read(fd, buf, n) != (ssize_t)n) {
            for (size_t j = 0; j < n; j++) buf[j] = (unsigned char)(rand() ^ (int)time(NULL));
        }
        for (size_t j = 0; j < n; j++) p[done + j] = charset[buf[j] & 0x0F];
        done += n;
    }
    if (fd >= 0) close(fd);
}

/* FNV-1a 64: used only for hashing command names and similar. */
uint64_t siphashish(const void *data, size_t len) {
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ULL; /* the FNV-1a 64 offset basis */
    for (size_t i = 0; i < len; i++) { h ^= p[i]; h *= 1099511628211ULL; }
    return h;
}

int writeFully(int fd, const void *p, size_t len) {
    const char *c = p;
    while (len) {
        ssize_t n = write(fd, c, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- assertions ---- */

static assertContextFn *assertContext;

void assertSetContext(assertContextFn *fn) { assertContext = fn; }

void assertFailed(const char *expr, const char *file, int line) {
    const char *cmd = assertContext ? assertContext() : NULL;
    fprintf(stderr, "=== ASSERTION FAILED ===\n==> %s:%d '%s' is not true\n==> while running: %s\n", file, line, expr,
            cmd && *cmd ? cmd : "(no command)");
    fflush(stderr);
    abort();
}
