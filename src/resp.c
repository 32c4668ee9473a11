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

long long respMaxBulkLen = RESP_MAX_BULK;

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

/* Where the line starting at the head of src ends: the offset of the first
 * ch, or -1 when there is none yet. Redis looks for it with strchr() on its
 * query buffer, so a NUL byte before it hides it as well. */
static ssize_t findTerminator(respSource *src, int ch) {
    size_t avail = src->length(src->ud);
    ssize_t pos = src->find(src->ud, ch, avail);
    if (pos < 0) return -1;
    if (pos > 0 && src->find(src->ud, '\0', (size_t)pos) >= 0) return -1;
    return pos;
}

static void pushArg(respParser *p, sds arg) {
    if (p->argc == p->argcap) {
        p->argcap = p->argcap ? p->argcap * 2 : 8;
        p->argv = zrealloc(p->argv, sizeof(sds) * (size_t)p->argcap);
    }
    p->argv[p->argc++] = arg;
}

/* An inline command: one line ended by '\n' (a '\r' before it is dropped),
 * of any length once its end has arrived. */
static int parseInline(respParser *p, respSource *src) {
    ssize_t lf = findTerminator(src, '\n');
    if (lf < 0) {
        if (src->length(src->ud) > RESP_MAX_INLINE) return protoError(p, "Protocol error: too big inline request");
        return RESP_NEED_MORE;
    }
    char *line = zmalloc((size_t)lf + 1);
    src->copyout(src->ud, line, (size_t)lf + 1);
    size_t n = (size_t)lf;
    if (n > 0 && line[n - 1] == '\r') n--;
    int argc;
    sds *argv = sdssplitargs(line, n, &argc);
    zfree(line);
    if (!argv) return protoError(p, "Protocol error: unbalanced quotes in request");
    for (int j = 0; j < argc; j++) pushArg(p, argv[j]);
    zfree(argv);
    p->reqtype = 0;
    return argc > 0 ? RESP_COMMAND : RESP_NEED_MORE;
}

/* A multibulk header line ("*<count>" or "$<len>"): as in Redis it ends at
 * the first '\r', and the byte after that is skipped whatever it is. Parses
 * the number after the type byte with Redis's strict string2ll rules. Returns
 * 1 with *out set, 0 when the line is not complete yet, -1 when the line is
 * too long to be waited for, -2 when the number is not valid. *type gets the
 * first byte of the line. */
static int readHeader(respSource *src, char *type, long long *out) {
    ssize_t cr = findTerminator(src, '\r');
    if (cr < 0) return src->length(src->ud) > RESP_MAX_INLINE ? -1 : 0;
    if (src->length(src->ud) < (size_t)cr + 2) return 0;
    char line[32];
    size_t n = (size_t)cr;
    if (n < sizeof(line)) {
        src->copyout(src->ud, line, n);
        src->drain(src->ud, 2);
    } else {
        /* far too long for a number: invalid, the connection is closed anyway */
        src->copyout(src->ud, line, 1);
        src->drain(src->ud, n + 1);
    }
    *type = n ? line[0] : '\r';
    if (n >= sizeof(line) || n < 1) return -2;
    return string2ll(line + 1, n - 1, out) ? 1 : -2;
}

static int parseMultibulk(respParser *p, respSource *src) {
    char type;
    long long v;
    if (p->multibulklen == 0) {
        int r = readHeader(src, &type, &v);
        if (r == 0) return RESP_NEED_MORE;
        if (r == -1) return protoError(p, "Protocol error: too big mbulk count string");
        if (r == -2 || v > RESP_MAX_MULTIBULK) return protoError(p, "Protocol error: invalid multibulk length");
        if (v > RESP_MAX_UNAUTH_MULTIBULK && p->unauthenticated)
            return protoError(p, "Protocol error: unauthenticated multibulk length");
        if (v <= 0) { p->reqtype = 0; return RESP_NEED_MORE; } /* empty request */
        p->multibulklen = (long)v;
        p->argcap = (int)(v < 1024 ? v : 1024);
        p->argv = zmalloc(sizeof(sds) * (size_t)p->argcap);
        p->bulklen = -1;
    }
    while (p->multibulklen > 0) {
        if (p->bulklen == -1) {
            int r = readHeader(src, &type, &v);
            if (r == 0) return RESP_NEED_MORE;
            if (r == -1) return protoError(p, "Protocol error: too big bulk count string");
            if (type != '$') {
                static char msg[64];
                /* Redis quotes the offending byte */
                strcpy(msg, "Protocol error: expected '$', got ' '");
                msg[strlen(msg) - 2] = type;
                return protoError(p, msg);
            }
            if (r == -2 || v < 0 || (v > respMaxBulkLen && !p->no_bulk_limit))
                return protoError(p, "Protocol error: invalid bulk length");
            if (v > RESP_MAX_UNAUTH_BULK && p->unauthenticated)
                return protoError(p, "Protocol error: unauthenticated bulk length");
            p->bulklen = v;
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
static ssize_t memFind(void *ud, int ch, size_t maxscan) {
    respMemSource *m = ud;
    size_t avail = m->len - m->pos;
    if (maxscan > avail) maxscan = avail;
    const char *lf = memchr(m->buf + m->pos, ch, maxscan);
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
    src->find = memFind;
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
