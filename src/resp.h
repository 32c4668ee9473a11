/* resp.h - the incremental RESP request parser. It is pure: it reads bytes
 * through a respSource (an evbuffer in the server, a plain buffer in tests)
 * and never touches a socket. */
#ifndef DREDIS_RESP_H
#define DREDIS_RESP_H
#include <stddef.h>
#include <sys/types.h>
#include "sds.h"

/* Redis 7.0's limits: a line with no terminator in sight after this many
 * buffered bytes is an error; a multibulk count above INT_MAX and a bulk
 * length above proto-max-bulk-len (respMaxBulkLen, 512mb by default) are
 * errors; a client that has not authenticated yet may send no more than 10
 * arguments and 16384 bytes per argument. */
#define RESP_MAX_INLINE (64 * 1024)
#define RESP_MAX_MULTIBULK 2147483647LL
#define RESP_MAX_BULK (512LL * 1024 * 1024)
#define RESP_MAX_UNAUTH_MULTIBULK 10
#define RESP_MAX_UNAUTH_BULK 16384
extern long long respMaxBulkLen; /* proto-max-bulk-len */

#define RESP_NEED_MORE 0
#define RESP_COMMAND 1
#define RESP_PROTO_ERROR (-1)

typedef struct respSource {
    void *ud;
    size_t (*length)(void *ud);
    int (*peek)(void *ud);            /* first byte; length() > 0 */
    /* offset of the first byte ch within the first maxscan bytes, or -1 */
    ssize_t (*find)(void *ud, int ch, size_t maxscan);
    void (*copyout)(void *ud, void *dst, size_t n); /* consumes n bytes */
    void (*drain)(void *ud, size_t n);
} respSource;

typedef struct respParser {
    int reqtype;          /* 0 = between requests, 1 = multibulk, 2 = inline */
    long multibulklen;    /* arguments still to read */
    long long bulklen;    /* payload length awaited, -1 when a header is */
    int argc;
    int argcap;
    sds *argv;
    const char *error;    /* set on RESP_PROTO_ERROR; static text */
    /* set by the caller before each respParse() */
    int unauthenticated;  /* the unauthenticated limits apply */
    int no_bulk_limit;    /* our master's stream: proto-max-bulk-len does not apply */
} respParser;

void respParserInit(respParser *p);
void respParserReset(respParser *p);   /* frees any partial command */
/* Parse at most one command. On RESP_COMMAND the caller takes ownership of
 * p->argv[0..p->argc) and must call respParserTakeArgs() afterwards. */
int respParse(respParser *p, respSource *src);
void respParserTakeArgs(respParser *p);

/* Split an inline command line as Redis does (quotes, \x escapes). Returns
 * NULL on unbalanced quotes. */
sds *sdssplitargs(const char *line, size_t len, int *argc);
void sdsfreesplitres(sds *tokens, int count);

/* A respSource over a contiguous buffer (for tests and for Lua). */
typedef struct respMemSource {
    const char *buf;
    size_t len;
    size_t pos;
} respMemSource;
void respMemSourceInit(respSource *src, respMemSource *m, const char *buf, size_t len);

#endif
