/* fuzz_resp.c - the request parser (resp.c): multibulk and inline requests,
 * and sdssplitargs() on the inline lines.
 *
 * The bytes are parsed twice: all at once, and arriving in pieces (sizes
 * taken from the bytes themselves), as they would from a socket. Both must
 * give the same commands and end the same way (the same protocol error, or
 * waiting for more): the parser keeps its state right across any split. */
#include "fuzz.h"
#include "resp.h"
#include "sds.h"
#include "zmalloc.h"
#include <string.h>

#define MAX_COMMANDS 4096

typedef struct parsed {
    sds all;            /* the commands, each argument length-prefixed */
    long commands;
    const char *error;  /* the protocol error that ended the parse, or NULL */
} parsed;

static void takeCommand(parsed *out, respParser *p) {
    FUZZ_CHECK(p->argc > 0, "a command without arguments");
    out->all = sdscatprintf(out->all, "*%d", p->argc);
    for (int j = 0; j < p->argc; j++) {
        out->all = sdscatprintf(out->all, "$%zu:", sdslen(p->argv[j]));
        out->all = sdscatsds(out->all, p->argv[j]);
        sdsfree(p->argv[j]);
    }
    zfree(p->argv);
    respParserTakeArgs(p);
    out->commands++;
}

/* Parse what src holds now; 0 to go on, -1 after an error (or too many commands). */
static int parseAvailable(parsed *out, respParser *p, respSource *src) {
    for (;;) {
        int r = respParse(p, src);
        if (r == RESP_NEED_MORE) return 0;
        if (r == RESP_PROTO_ERROR) {
            FUZZ_CHECK(p->error != NULL, "a protocol error without a text");
            out->error = p->error;
            return -1;
        }
        takeCommand(out, p);
        if (out->commands >= MAX_COMMANDS) return -1;
    }
}

/* Feed data in pieces: each piece's size is taken from the data. */
static void parseInPieces(parsed *out, const uint8_t *data, size_t size) {
    respParser p;
    respParserInit(&p);
    respSource src;
    respMemSource m;
    respMemSourceInit(&src, &m, (const char *)data, 0);
    size_t shown = 0, k = 0;
    while (shown < size) {
        size_t piece = 1 + (data[k++ % size] % 17);
        shown = shown + piece < size ? shown + piece : size;
        m.len = shown;
        if (parseAvailable(out, &p, &src) < 0) break;
    }
    respParserReset(&p);
}

static void parseAtOnce(parsed *out, const uint8_t *data, size_t size) {
    respParser p;
    respParserInit(&p);
    respSource src;
    respMemSource m;
    respMemSourceInit(&src, &m, (const char *)data, size);
    parseAvailable(out, &p, &src);
    respParserReset(&p);
}

/* Every line of the input through sdssplitargs(): a split that succeeds
 * gives as many tokens as it says, and a freed result leaks nothing. */
static void splitLines(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int argc = -1;
        sds *argv = sdssplitargs(p, len, &argc);
        if (argv) {
            FUZZ_CHECK(argc >= 0, "argc %d", argc);
            for (int j = 0; j < argc; j++) FUZZ_CHECK(sdslen(argv[j]) <= len, "a token longer than its line");
            sdsfreesplitres(argv, argc);
        } else {
            FUZZ_CHECK(argc == 0, "argc %d after a failed split", argc);
        }
        p += len + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    parsed whole = {sdsempty(), 0, NULL}, pieces = {sdsempty(), 0, NULL};
    parseAtOnce(&whole, data, size);
    parseInPieces(&pieces, data, size);
    /* the "too big" limits depend on how much has arrived without a line
     * end, as in Redis: only inputs below them must split evenly */
    if (size <= RESP_MAX_INLINE && whole.commands < MAX_COMMANDS) {
        FUZZ_CHECK(whole.commands == pieces.commands, "%ld commands at once, %ld in pieces", whole.commands,
                   pieces.commands);
        FUZZ_CHECK(sdscmp(whole.all, pieces.all) == 0, "the commands differ when the bytes come in pieces");
        FUZZ_CHECK((whole.error == NULL) == (pieces.error == NULL) &&
                       (!whole.error || strcmp(whole.error, pieces.error) == 0),
                   "at once: %s; in pieces: %s", whole.error ? whole.error : "no error",
                   pieces.error ? pieces.error : "no error");
    }
    sdsfree(whole.all);
    sdsfree(pieces.all);
    splitLines(data, size);
    return 0;
}
