/* resp.c - incremental parser for client requests (RESP multibulk and inline
 * commands), with Redis's limits and protocol error texts. Limits are checked
 * before anything is allocated, and a bulk payload is copied exactly once,
 * from the source into its argument. */
#include "resp.h"
#include "zmalloc.h"
#include "util.h"
#include <string.h>
#include <stdlib.h>
#include <ctype.h>
#include <errno.h>

void respParserInit(respParser *p) {
    memset(p, 0, sizeof(*p));
    p->bulklen = -1;
}

static void freeArgs(respParser *p) {
    for (int j = 0; j < p->argc; j++) sdsfree(p->argv[j]);
    zfree(p->argv);
    p->argv = NULL;
    p->argc = p->argcap = 0;
}

void respParserReset(respParser *p) {
    freeArgs(p);
    respParserInit(p);
}

void respParserTakeArgs(respParser *p) {
    p->argv = NULL;
    p->argc = p->argcap = 0;
    p->reqtype = 0;
    p->multibulklen = 0;
    p->bulklen = -1;
}

static int protoError(respParser *p, const char *msg) {
    p->error = msg;
    return RESP_PROTO_ERROR;
}

/* Read one line (without its '\n', and without a trailing '\r') into buf,
 * which has room for bufmax + 2 bytes. Returns its length; -1 when no complete
 * line is buffered yet; -2 when more than limit bytes are buffered without a
 * '\n' (Redis's "too big ... request/count string"); -3 when a complete line
 * (consumed) is longer than bufmax. */
static ssize_t readLine(respSource *src, char *buf, size_t bufmax, size_t limit) {
    size_t avail = src->length(src->ud);
    ssize_t lf = src->findLF(src->ud, avail < limit + 2 ? avail : limit + 2);
    if (lf < 0) return avail > limit ? -2 : -1;
    size_t n = (size_t)lf;
    if (n > bufmax + 1) { src->drain(src->ud, n + 1); return -3; }
    src->copyout(src->ud, buf, n + 1);
    if (n > 0 && buf[n - 1] == '\r') n--;
    if (n > bufmax) return -3;
    buf[n] = '\0';
    return (ssize_t)n;
}

static void pushArg(respParser *p, sds arg) {
    if (p->argc == p->argcap) {
        p->argcap = p->argcap ? p->argcap * 2 : 8;
        p->argv = zrealloc(p->argv, sizeof(sds) * (size_t)p->argcap);
    }
    p->argv[p->argc++] = arg;
}

static int parseInline(respParser *p, respSource *src) {
    char *line = zmalloc(RESP_MAX_INLINE + 2);
    ssize_t n = readLine(src, line, RESP_MAX_INLINE, RESP_MAX_INLINE);
    if (n == -1) { zfree(line); return RESP_NEED_MORE; }
    if (n < 0) { zfree(line); return protoError(p, "Protocol error: too big inline request"); }
    int argc;
    sds *argv = sdssplitargs(line, (size_t)n, &argc);
    zfree(line);
    if (!argv) return protoError(p, "Protocol error: unbalanced quotes in request");
    for (int j = 0; j < argc; j++) pushArg(p, argv[j]);
    zfree(argv);
    p->reqtype = 0;
    return argc > 0 ? RESP_COMMAND : RESP_NEED_MORE;
}

/* Header lines: like Redis, a header may take up to RESP_MAX_INLINE bytes
 * before "too big ... count string"; a complete header longer than the line
 * buffer cannot hold a valid number. Numbers are parsed with string2ll, as
 * Redis does (no '+', no leading zeros, no "-0"). */
static int parseMultibulk(respParser *p, respSource *src) {
    char line[128];
    if (p->multibulklen == 0) {
        ssize_t n = readLine(src, line, sizeof(line) - 2, RESP_MAX_INLINE);
        if (n == -1) return RESP_NEED_MORE;
        if (n == -2) return protoError(p, "Protocol error: too big mbulk count string");
        long long count;
        if (n == -3 || !string2ll(line + 1, (size_t)n - 1, &count) || count > RESP_MAX_MULTIBULK)
            return protoError(p, "Protocol error: invalid multibulk length");
        if (count <= 0) { p->reqtype = 0; return RESP_NEED_MORE; } /* empty request */
        p->multibulklen = (long)count;
        p->argcap = (int)(count < 1024 ? count : 1024);
        p->argv = zmalloc(sizeof(sds) * (size_t)p->argcap);
        p->bulklen = -1;
    }
    while (p->multibulklen > 0) {
        if (p->bulklen == -1) {
            size_t avail = src->length(src->ud);
            if (avail == 0) return RESP_NEED_MORE;
            int first = src->peek(src->ud);
            ssize_t n = readLine(src, line, sizeof(line) - 2, RESP_MAX_INLINE);
            if (n == -1) return RESP_NEED_MORE;
            if (n == -2) return protoError(p, "Protocol error: too big bulk count string");
            if (first != '$') {
                static char msg[64];
                /* Redis quotes the offending byte */
                strcpy(msg, "Protocol error: expected '$', got ' '");
                msg[strlen(msg) - 2] = (char)first;
                return protoError(p, msg);
            }
            long long len;
            if (n == -3 || !string2ll(line + 1, (size_t)n - 1, &len) || len < 0 || len > RESP_MAX_BULK)
                return protoError(p, "Protocol error: invalid bulk length");
            p->bulklen = len;
        }
        if (src->length(src->ud) < (size_t)p->bulklen + 2) return RESP_NEED_MORE;
        sds arg = sdsnewlen(NULL, (size_t)p->bulklen);
        src->copyout(src->ud, arg, (size_t)p->bulklen);
        src->drain(src->ud, 2); /* CRLF, skipped as Redis does */
        pushArg(p, arg);
        p->bulklen = -1;
        p->multibulklen--;
    }
    return RESP_COMMAND;
}

int respParse(respParser *p, respSource *src) {
    for (;;) {
        int r;
        if (p->reqtype == 0) {
            if (src->length(src->ud) == 0) return RESP_NEED_MORE;
            p->reqtype = src->peek(src->ud) == '*' ? 1 : 2;
        }
        r = p->reqtype == 1 ? parseMultibulk(p, src) : parseInline(p, src);
        if (r != RESP_NEED_MORE || p->reqtype != 0) return r;
        /* an empty request was skipped: go on with the next one */
    }
}

static size_t memLength(void *ud) {
    respMemSource *m = ud;
    return m->len - m->pos;
}
static int memPeek(void *ud) {
    respMemSource *m = ud;
    return (unsigned char)m->buf[m->pos];
}
static ssize_t memFindLF(void *ud, size_t maxscan) {
    respMemSource *m = ud;
    size_t avail = m->len - m->pos;
    if (maxscan > avail) maxscan = avail;
    const char *lf = memchr(m->buf + m->pos, '\n', maxscan);
    return lf ? (ssize_t)(lf - (m->buf + m->pos)) : -1;
}
static void memCopyout(void *ud, void *dst, size_t n) {
    respMemSource *m = ud;
    memcpy(dst, m->buf + m->pos, n);
    m->pos += n;
}
static void memDrain(void *ud, size_t n) {
    respMemSource *m = ud;
    size_t avail = m->len - m->pos;
    m->pos += n < avail ? n : avail;
}

void respMemSourceInit(respSource *src, respMemSource *m, const char *buf, size_t len) {
    m->buf = buf;
    m->len = len;
    m->pos = 0;
    src->ud = m;
    src->length = memLength;
    src->peek = memPeek;
    src->findLF = memFindLF;
    src->copyout = memCopyout;
    src->drain = memDrain;
}

static int isHexDigit(char c) { return isxdigit((unsigned char)c); }
static int hexDigitValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    return tolower((unsigned char)c) - 'a' + 10;
}

/* Redis's sdssplitargs, bounded by len instead of a NUL terminator. */
sds *sdssplitargs(const char *line, size_t len, int *argc) {
    const char *p = line, *end = line + len;
    sds *vector = NULL;
    int cap = 0;
    *argc = 0;
    for (;;) {
        while (p < end && isspace((unsigned char)*p)) p++;
        if (p >= end) return vector ? vector : zmalloc(sizeof(sds));
        int inq = 0, insq = 0, done = 0;
        sds current = sdsempty();
        while (!done) {
            if (inq) {
                if (p >= end) goto err;
                if (*p == '\\' && p + 3 < end && p[1] == 'x' && isHexDigit(p[2]) && isHexDigit(p[3])) {
                    char byte = (char)(hexDigitValue(p[2]) * 16 + hexDigitValue(p[3]));
                    current = sdscatlen(current, &byte, 1);
                    p += 3;
                } else if (*p == '\\' && p + 1 < end) {
                    char c;
                    p++;
                    switch (*p) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = *p; break;
                    }
                    current = sdscatlen(current, &c, 1);
                } else if (*p == '"') {
                    if (p + 1 < end && !isspace((unsigned char)p[1])) goto err;
                    done = 1;
                } else {
                    current = sdscatlen(current, p, 1);
                }
            } else if (insq) {
                if (p >= end) goto err;
                if (*p == '\\' && p + 1 < end && p[1] == '\'') {
                    p++;
                    current = sdscatlen(current, "'", 1);
                } else if (*p == '\'') {
                    if (p + 1 < end && !isspace((unsigned char)p[1])) goto err;
                    done = 1;
                } else {
                    current = sdscatlen(current, p, 1);
                }
            } else {
                if (p >= end) { done = 1; break; }
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    done = 1;
                    break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: current = sdscatlen(current, p, 1); break;
                }
            }
            if (p < end) p++;
        }
        if (*argc == cap) {
            cap = cap ? cap * 2 : 4;
            vector = zrealloc(vector, sizeof(sds) * (size_t)cap);
        }
        vector[(*argc)++] = current;
        continue;
    err:
        sdsfree(current);
        sdsfreesplitres(vector, *argc);
        *argc = 0;
        return NULL;
    }
}

void sdsfreesplitres(sds *tokens, int count) {
    if (!tokens) return;
    for (int j = 0; j < count; j++) sdsfree(tokens[j]);
    zfree(tokens);
}
