/* t_stream.c - streams (docs/storage-format.md, "Streams").
 *
 * A stream key keeps its entries in numbered segment files,
 * segments/<n>, each holding up to stream-node-max-entries entries (as
 * a Redis node; 100 by default) in ID order: per entry its ID and its
 * fields and values as a RESP array (sent to clients as it is). XADD
 * rewrites the last segment with the new entry at its end (a
 * replacement: no new inode), starting a new segment once the last one
 * is full, so it touches a constant number of files. seg-first/<n> holds
 * the ID the segment started with: segment IDs grow with n, so the segment
 * holding an ID is found by a binary search over those small files, and a
 * range of COUNT entries reads O(log segments) small files and one or two
 * segments whatever the length. Trimming removes whole segment files.
 *
 * Consumer groups live in groups/<group>/: last-id, entries-read, the
 * pending entries list as pending/<id> files (delivery time, delivery count,
 * consumer), and consumers/<consumer>/ with seen-time and pending/<id>
 * references to the entries the consumer owns.
 *
 * Every command runs in a store transaction (journal.c): across a crash it
 * is applied whole or not at all. */
#include "server.h"
#include "t_stream.h"
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <ctype.h>

#define SEG_BYTES 65536   /* a segment file this large takes no more entries */
#define SEG_NS "segments"
#define SEGFIRST_NS "seg-first"
#define GROUPS_NS "groups"
#define CONSUMERS_NS "consumers"
#define PENDING_NS "pending"
#define XREAD_BLOCKED_DEFAULT_COUNT 1000
#define SCG_INVALID_ENTRIES_READ (-1)
#define ID_STR_LEN 44

/* ------------------------------------------------------------------------ */
/* Stream IDs                                                                */
/* ------------------------------------------------------------------------ */

typedef struct streamID {
    uint64_t ms, seq;
} streamID;

static const streamID ID_MIN = {0, 0};
static const streamID ID_MAX = {UINT64_MAX, UINT64_MAX};

static int idCmp(const streamID *a, const streamID *b) {
    if (a->ms != b->ms) return a->ms > b->ms ? 1 : -1;
    if (a->seq != b->seq) return a->seq > b->seq ? 1 : -1;
    return 0;
}

static int idCmpQsort(const void *a, const void *b) { return idCmp(a, b); }

static int idIsZero(const streamID *id) { return !id->ms && !id->seq; }

/* The next ID; C_ERR (and 0-0) after the last possible one. */
static int idIncr(streamID *id) {
    if (id->seq == UINT64_MAX) {
        if (id->ms == UINT64_MAX) {
            id->ms = id->seq = 0;
            return C_ERR;
        }
        id->ms++;
        id->seq = 0;
    } else {
        id->seq++;
    }
    return C_OK;
}

static int idDecr(streamID *id) {
    if (id->seq == 0) {
        if (id->ms == 0) {
            id->ms = id->seq = UINT64_MAX;
            return C_ERR;
        }
        id->ms--;
        id->seq = UINT64_MAX;
    } else {
        id->seq--;
    }
    return C_OK;
}

static int idFormat(char *buf, const streamID *id) {
    return snprintf(buf, ID_STR_LEN, "%llu-%llu", (unsigned long long)id->ms, (unsigned long long)id->seq);
}

static void addReplyStreamID(client *c, const streamID *id) {
    char buf[ID_STR_LEN];
    int n = idFormat(buf, id);
    addReplyBulk(c, buf, (size_t)n);
}

/* An ID as dredis writes it in file names and files: canonical decimal
 * "<ms>-<seq>". */
static int idParseStored(const char *s, size_t len, streamID *id) {
    const char *dash = memchr(s, '-', len);
    unsigned long long ms, seq;
    if (!dash || !string2ull(s, (size_t)(dash - s), &ms) ||
        !string2ull(dash + 1, len - (size_t)(dash + 1 - s), &seq))
        return 0;
    id->ms = ms;
    id->seq = seq;
    return 1;
}

/* Redis's string2ull: string2ll, else strtoull (which is more lenient). */
static int redisString2ull(const char *s, unsigned long long *value) {
    long long ll;
    if (string2ll(s, strlen(s), &ll)) {
        if (ll < 0) return 0;
        *value = (unsigned long long)ll;
        return 1;
    }
    errno = 0;
    char *end = NULL;
    *value = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0')) return 0;
    return 1;
}

/* An ID given by a client, as Redis parses it: "<ms>-<seq>", "<ms>" (seq
 * missing_seq), "-" and "+" (unless strict), and "<ms>-*" when seq_given is
 * not NULL (*seq_given 0 then). c NULL: no reply. */
static int parseIDOrReply(client *c, sds arg, streamID *id, uint64_t missing_seq, int strict, int *seq_given) {
    char buf[128];
    if (sdslen(arg) > sizeof(buf) - 1) goto invalid;
    memcpy(buf, arg, sdslen(arg) + 1);
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') goto invalid;
    if (seq_given) *seq_given = 1;
    if (buf[0] == '-' && buf[1] == '\0') {
        *id = ID_MIN;
        return C_OK;
    }
    if (buf[0] == '+' && buf[1] == '\0') {
        *id = ID_MAX;
        return C_OK;
    }
    unsigned long long ms, seq;
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    if (!redisString2ull(buf, &ms)) goto invalid;
    if (dash) {
        if (seq_given && dash[1] == '*' && dash[2] == '\0') {
            seq = 0;
            *seq_given = 0;
        } else if (!redisString2ull(dash + 1, &seq)) {
            goto invalid;
        }
    } else {
        seq = missing_seq;
    }
    id->ms = ms;
    id->seq = seq;
    return C_OK;
invalid:
    if (c) addReplyError(c, "ERR Invalid stream ID specified as stream command argument");
    return C_ERR;
}

static int parseStrictIDOrReply(client *c, sds arg, streamID *id, uint64_t missing_seq, int *seq_given) {
    return parseIDOrReply(c, arg, id, missing_seq, 1, seq_given);
}

/* A range bound: "(" makes it exclusive (then strict). */
static int parseIntervalIDOrReply(client *c, sds arg, streamID *id, int *exclude, uint64_t missing_seq) {
    size_t len = sdslen(arg);
    *exclude = len > 1 && arg[0] == '(';
    if (!*exclude) return parseIDOrReply(c, arg, id, missing_seq, 0, NULL);
    sds t = sdsnewlen(arg + 1, len - 1);
    int r = parseStrictIDOrReply(c, t, id, missing_seq, NULL);
    sdsfree(t);
    return r;
}

/* Start and end of a range given as two interval arguments; C_ERR after
 * replying. */
static int parseRangeOrReply(client *c, sds startarg, sds endarg, streamID *start, streamID *end) {
    int startex, endex;
    if (parseIntervalIDOrReply(c, startarg, start, &startex, 0) != C_OK) return C_ERR;
    if (startex && idIncr(start) != C_OK) {
        addReplyError(c, "ERR invalid start ID for the interval");
        return C_ERR;
    }
    if (parseIntervalIDOrReply(c, endarg, end, &endex, UINT64_MAX) != C_OK) return C_ERR;
    if (endex && idDecr(end) != C_OK) {
        addReplyError(c, "ERR invalid end ID for the interval");
        return C_ERR;
    }
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* Replies built aside, so that a storage error half way can still be the    */
/* only reply                                                                */
/* ------------------------------------------------------------------------ */

typedef struct aside {
    struct evbuffer *saved, *buf;
} aside;

static void asideBegin(client *c, aside *a) {
    a->saved = c->out;
    a->buf = evbuffer_new();
    c->out = a->buf;
}

/* Back to the real reply; the aside part is kept in a until flushed or
 * discarded. */
static void asideEnd(client *c, aside *a) { c->out = a->saved; }

static void asideFlush(client *c, aside *a) {
    evbuffer_add_buffer(c->out, a->buf);
    evbuffer_free(a->buf);
    a->buf = NULL;
}

static void asideDiscard(aside *a) {
    evbuffer_free(a->buf);
    a->buf = NULL;
}

/* ------------------------------------------------------------------------ */
/* The stream on disk                                                        */
/* ------------------------------------------------------------------------ */

typedef struct stream {
    skey *k;
    long long len;             /* "len" */
    long long head, tail;      /* segments head..tail exist; none when head > tail */
    streamID last_id;          /* "last-id" */
    int extra;                 /* the fields below were read */
    streamID max_deleted;      /* "max-deleted-id" */
    long long removed;         /* "entries-removed": entries-added - len */
    int first_known;           /* first_id below is up to date */
    streamID first_id;         /* the first entry's ID, 0-0 when empty */
} stream;

static int readID(skey *k, const char *file, streamID *id) {
    sds v;
    int r = storeReadFile(k, file, &v);
    if (r == STORE_NOTFOUND) {
        *id = ID_MIN;
        return STORE_OK;
    }
    if (r != STORE_OK) return r;
    int ok = idParseStored(v, sdslen(v), id);
    sdsfree(v);
    if (!ok) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

static int writeID(skey *k, const char *file, const streamID *id) {
    char buf[ID_STR_LEN];
    int n = idFormat(buf, id);
    return storeWriteFile(k, file, buf, (size_t)n);
}

/* Read the files every command needs. A key being created (staged) has
 * none of them yet: the defaults describe an empty stream. */
static int streamLoad(skey *k, stream *s) {
    memset(s, 0, sizeof(*s));
    s->k = k;
    if (storeReadNumber(k, "len", &s->len, 0) != STORE_OK || storeReadNumber(k, "head", &s->head, 0) != STORE_OK ||
        storeReadNumber(k, "tail", &s->tail, -1) != STORE_OK || readID(k, "last-id", &s->last_id) != STORE_OK)
        return STORE_ERR;
    if (s->len < 0 || s->head < 0 || s->tail < -1 || s->head > s->tail + 1 || (s->len > 0 && s->head > s->tail)) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

static int streamLoadExtra(stream *s) {
    if (s->extra) return STORE_OK;
    if (readID(s->k, "max-deleted-id", &s->max_deleted) != STORE_OK ||
        storeReadNumber(s->k, "entries-removed", &s->removed, 0) != STORE_OK)
        return STORE_ERR;
    if (s->removed < 0) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    s->extra = 1;
    return STORE_OK;
}

static long long streamEntriesAdded(const stream *s) { return s->len + s->removed; }

/* The files a new stream key must have before it is published. */
static int streamWriteCore(stream *s) {
    if (storeWriteNumber(s->k, "len", s->len) != STORE_OK || storeWriteNumber(s->k, "head", s->head) != STORE_OK ||
        storeWriteNumber(s->k, "tail", s->tail) != STORE_OK || writeID(s->k, "last-id", &s->last_id) != STORE_OK)
        return STORE_ERR;
    return STORE_OK;
}

static int streamHasSegments(const stream *s) { return s->head <= s->tail; }

static void segName(char *buf, size_t len, long long n) { ll2string(buf, len, n); }

static int segFirstRead(stream *s, long long n, streamID *id) {
    char name[32];
    segName(name, sizeof(name), n);
    sds v;
    int r = storeReadMember(s->k, SEGFIRST_NS, name, strlen(name), &v);
    if (r == STORE_NOTFOUND) errno = EUCLEAN; /* every segment has one */
    if (r != STORE_OK) return STORE_ERR;
    int ok = idParseStored(v, sdslen(v), id);
    sdsfree(v);
    if (!ok) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

/* ---- segment files: the segment's entries in ID order, each a record
 * "+<ms>-<seq>\r\n" followed by its fields and values as a RESP array
 * ("*<n>\r\n$<len>\r\n<bytes>\r\n..."), which is sent to clients as it is ---- */

typedef struct segment {
    long long n;
    sds data;            /* the whole file ("" when missing) */
    size_t count;        /* records */
    streamID *ids;
    size_t *off, *alen;  /* where each record starts, and its RESP array's length */
    size_t *aoff;        /* where each RESP array starts */
} segment;

static void segFree(segment *g) {
    sdsfree(g->data);
    zfree(g->ids);
    zfree(g->off);
    zfree(g->aoff);
    zfree(g->alen);
    memset(g, 0, sizeof(*g));
}

/* Read a decimal length terminated by CRLF at p (within end). */
static int readLenCRLF(const char **p, const char *end, long long *out) {
    const char *q = *p;
    long long v = 0;
    if (q >= end || !isdigit((unsigned char)*q)) return 0;
    while (q < end && isdigit((unsigned char)*q)) {
        if (v > (LLONG_MAX - 9) / 10) return 0;
        v = v * 10 + (*q - '0');
        q++;
    }
    if (end - q < 2 || q[0] != '\r' || q[1] != '\n') return 0;
    *p = q + 2;
    *out = v;
    return 1;
}

/* Parse g->data into records; 0 when it is not a valid segment file (IDs
 * must ascend, arrays hold an even number >= 2 of bulk strings). */
static int segParse(segment *g) {
    const char *base = g->data, *p = base, *end = base + sdslen(g->data);
    size_t cap = 0;
    while (p < end) {
        if (*p++ != '+') return 0;
        const char *crlf = p;
        while (crlf + 1 < end && !(crlf[0] == '\r' && crlf[1] == '\n')) crlf++;
        streamID id;
        if (crlf + 1 >= end || !idParseStored(p, (size_t)(crlf - p), &id)) return 0;
        if (g->count && idCmp(&id, &g->ids[g->count - 1]) <= 0) return 0;
        const char *arr = crlf + 2, *q = arr;
        long long nf;
        if (q >= end || *q++ != '*' || !readLenCRLF(&q, end, &nf) || nf < 2 || nf % 2) return 0;
        for (long long i = 0; i < nf; i++) {
            long long l;
            if (q >= end || *q++ != '$' || !readLenCRLF(&q, end, &l) || end - q < l + 2) return 0;
            q += l;
            if (q[0] != '\r' || q[1] != '\n') return 0;
            q += 2;
        }
        if (g->count == cap) {
            cap = cap ? cap * 2 : 128;
            g->ids = zrealloc(g->ids, sizeof(streamID) * cap);
            g->off = zrealloc(g->off, sizeof(size_t) * cap);
            g->aoff = zrealloc(g->aoff, sizeof(size_t) * cap);
            g->alen = zrealloc(g->alen, sizeof(size_t) * cap);
        }
        g->ids[g->count] = id;
        g->off[g->count] = (size_t)(p - 1 - base);
        g->aoff[g->count] = (size_t)(arr - base);
        g->alen[g->count] = (size_t)(q - arr);
        g->count++;
        p = q;
    }
    return 1;
}

/* Load segment n. A missing file reads as an empty segment. */
static int segLoad(stream *s, long long n, segment *g) {
    char name[32];
    memset(g, 0, sizeof(*g));
    g->n = n;
    segName(name, sizeof(name), n);
    int r = storeReadMember(s->k, SEG_NS, name, strlen(name), &g->data);
    if (r == STORE_NOTFOUND) {
        g->data = sdsempty();
        return STORE_OK;
    }
    if (r != STORE_OK) return STORE_ERR;
    if (!segParse(g)) {
        segFree(g);
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

static int segWrite(stream *s, long long n, const char *data, size_t len) {
    char name[32];
    segName(name, sizeof(name), n);
    return storeWriteMember(s->k, SEG_NS, name, strlen(name), data, len, NULL);
}

/* Index of id in g, or -1. */
static long segIndex(const segment *g, const streamID *id) {
    size_t lo = 0, hi = g->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = idCmp(&g->ids[mid], id);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static sds segEntry(const segment *g, size_t i) { return sdsnewlen(g->data + g->aoff[i], g->alen[i]); }

/* The segment without the records whose keep[i] is 0. */
static sds segWithout(const segment *g, const char *keep) {
    sds out = sdsempty();
    for (size_t i = 0; i < g->count; i++)
        if (keep[i]) out = sdscatlen(out, g->data + g->off[i], g->aoff[i] + g->alen[i] - g->off[i]);
    return out;
}

/* The segment that holds id if any segment does: the last one whose first
 * ID is <= id. *n = -1 when id is below every segment. O(log segments). */
static int segFind(stream *s, const streamID *id, long long *n) {
    *n = -1;
    if (!streamHasSegments(s)) return STORE_OK;
    long long lo = s->head, hi = s->tail;
    while (lo <= hi) {
        long long mid = lo + (hi - lo) / 2;
        streamID first;
        if (segFirstRead(s, mid, &first) != STORE_OK) return STORE_ERR;
        if (idCmp(&first, id) <= 0) {
            *n = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return STORE_OK;
}

/* ---- entries ---- */

/* A record: its ID line and the header of the array of n strings that follow */
static sds recordAppendHeader(sds e, const streamID *id, size_t n) {
    char buf[ID_STR_LEN];
    int l = idFormat(buf, id);
    e = sdscatlen(sdscatlen(e, "+", 1), buf, (size_t)l);
    return sdscatprintf(e, "\r\n*%zu\r\n", n);
}

static sds recordAppendBulk(sds e, const char *p, size_t len) {
    e = sdscatprintf(e, "$%zu\r\n", len);
    e = sdscatlen(e, p, len);
    return sdscatlen(e, "\r\n", 2);
}

static sds entryRecord(const streamID *id, sds *argv, int n) {
    sds e = recordAppendHeader(sdsempty(), id, (size_t)n);
    for (int i = 0; i < n; i++) e = recordAppendBulk(e, argv[i], sdslen(argv[i]));
    return e;
}

/* An entry's reply: [id, [field, value, ...]]. */
static void addReplyEntry(client *c, const streamID *id, sds content) {
    addReplyArrayLen(c, 2);
    addReplyStreamID(c, id);
    addReply(c, content, sdslen(content));
}

/* Read entry id wherever it is: STORE_NOTFOUND when the stream has no such
 * entry. O(log segments) small files and one segment. out NULL: only check
 * that it exists. */
static int entryLookup(stream *s, const streamID *id, sds *out) {
    if (s->len == 0 || idCmp(id, &s->last_id) > 0) return STORE_NOTFOUND;
    long long n;
    if (segFind(s, id, &n) != STORE_OK) return STORE_ERR;
    if (n < 0) return STORE_NOTFOUND;
    segment g;
    if (segLoad(s, n, &g) != STORE_OK) return STORE_ERR;
    long i = segIndex(&g, id);
    if (i >= 0 && out) *out = segEntry(&g, (size_t)i);
    segFree(&g);
    return i >= 0 ? STORE_OK : STORE_NOTFOUND;
}

/* ---- iterating over a range of entries, in either direction ---- */

typedef struct streamIter {
    stream *s;
    streamID start, end;
    int rev;
    long long seg;      /* the segment being read */
    segment g;
    long pos;           /* next index to look at */
    long cur;           /* index siNext() returned last */
    int done;
} streamIter;

static int siLoadSeg(streamIter *it) {
    segFree(&it->g);
    if (segLoad(it->s, it->seg, &it->g) != STORE_OK) return STORE_ERR;
    it->pos = it->rev ? (long)it->g.count - 1 : 0;
    return STORE_OK;
}

static int siStart(streamIter *it, stream *s, const streamID *start, const streamID *end, int rev) {
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->start = start ? *start : ID_MIN;
    it->end = end ? *end : ID_MAX;
    it->rev = rev;
    if (!streamHasSegments(s) || s->len == 0 || idCmp(&it->start, &it->end) > 0) {
        it->done = 1;
        return STORE_OK;
    }
    long long n;
    if (!rev) {
        if (idIsZero(&it->start)) n = s->head;
        else if (segFind(s, &it->start, &n) != STORE_OK) return STORE_ERR;
        if (n < 0) n = s->head;
    } else {
        if (idCmp(&it->end, &ID_MAX) == 0 || idCmp(&it->end, &s->last_id) >= 0) n = s->tail;
        else if (segFind(s, &it->end, &n) != STORE_OK) return STORE_ERR;
        if (n < 0) {
            it->done = 1;
            return STORE_OK;
        }
    }
    it->seg = n;
    return siLoadSeg(it);
}

/* 1 with *id set, 0 at the end, -1 on a storage error. */
static int siNext(streamIter *it, streamID *id) {
    while (!it->done) {
        if (!it->rev) {
            while (it->pos < (long)it->g.count) {
                long i = it->pos++;
                streamID *cur = &it->g.ids[i];
                if (idCmp(cur, &it->start) < 0) continue;
                if (idCmp(cur, &it->end) > 0) {
                    it->done = 1;
                    return 0;
                }
                it->cur = i;
                *id = *cur;
                return 1;
            }
            if (it->seg >= it->s->tail) break;
            it->seg++;
        } else {
            while (it->pos >= 0) {
                long i = it->pos--;
                streamID *cur = &it->g.ids[i];
                if (idCmp(cur, &it->end) > 0) continue;
                if (idCmp(cur, &it->start) < 0) {
                    it->done = 1;
                    return 0;
                }
                it->cur = i;
                *id = *cur;
                return 1;
            }
            if (it->seg <= it->s->head) break;
            it->seg--;
        }
        if (siLoadSeg(it) != STORE_OK) return -1;
    }
    it->done = 1;
    return 0;
}

/* The fields and values of the entry siNext() just returned. */
static int siRead(streamIter *it, const streamID *id, sds *out) {
    (void)id;
    *out = segEntry(&it->g, (size_t)it->cur);
    return STORE_OK;
}

static void siStop(streamIter *it) { segFree(&it->g); }

static void freeContents(sds *contents, size_t n) {
    if (!contents) return;
    for (size_t i = 0; i < n; i++) sdsfree(contents[i]);
    zfree(contents);
}

/* Up to count (0: all) entries in [start, end], in order: their IDs and,
 * when contents is not NULL, their files' contents (both zmalloc'ed). */
static int collectEntries(stream *s, const streamID *start, const streamID *end, long long count, int rev,
                          streamID **ids, sds **contents, size_t *n) {
    streamIter it;
    size_t cap = 0;
    *ids = NULL;
    if (contents) *contents = NULL;
    *n = 0;
    if (siStart(&it, s, start, end, rev) != STORE_OK) return STORE_ERR;
    streamID id;
    int r;
    while ((count == 0 || (long long)*n < count) && (r = siNext(&it, &id)) == 1) {
        sds e = NULL;
        if (contents && siRead(&it, &id, &e) != STORE_OK) {
            r = -1;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *ids = zrealloc(*ids, sizeof(streamID) * cap);
            if (contents) *contents = zrealloc(*contents, sizeof(sds) * cap);
        }
        if (contents) (*contents)[*n] = e;
        (*ids)[(*n)++] = id;
    }
    siStop(&it);
    if (r < 0) {
        zfree(*ids);
        *ids = NULL;
        if (contents) {
            freeContents(*contents, *n);
            *contents = NULL;
        }
        *n = 0;
        return STORE_ERR;
    }
    return STORE_OK;
}

static int collectIDs(stream *s, const streamID *start, const streamID *end, long long count, int rev,
                      streamID **ids, size_t *n) {
    return collectEntries(s, start, end, count, rev, ids, NULL, n);
}

/* Emit up to count (0: all) entries of [start, end] as [id, fields] pairs,
 * without the array header; *emitted gets their number. */
static int emitRange(client *c, stream *s, const streamID *start, const streamID *end, long long count, int rev,
                     long long *emitted) {
    streamIter it;
    *emitted = 0;
    if (siStart(&it, s, start, end, rev) != STORE_OK) return STORE_ERR;
    streamID id;
    int r;
    while ((count == 0 || *emitted < count) && (r = siNext(&it, &id)) == 1) {
        sds e;
        if (siRead(&it, &id, &e) != STORE_OK) {
            r = -1;
            break;
        }
        addReplyEntry(c, &id, e);
        sdsfree(e);
        (*emitted)++;
    }
    siStop(&it);
    return r < 0 ? STORE_ERR : STORE_OK;
}

/* The ID of the first entry (0-0 when empty), as Redis's s->first_id. */
static int streamFirstID(stream *s, streamID *out) {
    if (!s->first_known) {
        streamID *ids;
        size_t n;
        if (collectIDs(s, NULL, NULL, 1, 0, &ids, &n) != STORE_OK) return STORE_ERR;
        s->first_id = n ? ids[0] : ID_MIN;
        zfree(ids);
        s->first_known = 1;
    }
    *out = s->first_id;
    return STORE_OK;
}

/* The ID of the last entry that exists (Redis's streamLastValidID); *found
 * 0 when the stream is empty. */
static int streamLastValidID(stream *s, streamID *out, int *found) {
    streamID *ids;
    size_t n;
    if (collectIDs(s, NULL, NULL, 1, 1, &ids, &n) != STORE_OK) return STORE_ERR;
    *found = n > 0;
    *out = n ? ids[0] : ID_MIN;
    zfree(ids);
    return STORE_OK;
}

/* ---- tombstones and the logical read counter (as Redis 7.0) ---- */

static int streamRangeHasTombstones(stream *s, const streamID *start, const streamID *end, int *has) {
    *has = 0;
    if (streamLoadExtra(s) != STORE_OK) return STORE_ERR;
    if (!s->len || idIsZero(&s->max_deleted)) return STORE_OK;
    streamID first;
    if (streamFirstID(s, &first) != STORE_OK) return STORE_ERR;
    if (idCmp(&first, &s->max_deleted) > 0) return STORE_OK;
    streamID a = start ? *start : ID_MIN, b = end ? *end : ID_MAX;
    *has = idCmp(&a, &s->max_deleted) <= 0 && idCmp(&s->max_deleted, &b) <= 0;
    return STORE_OK;
}

static int streamEstimateDistance(stream *s, const streamID *id, long long *out) {
    if (streamLoadExtra(s) != STORE_OK) return STORE_ERR;
    long long added = streamEntriesAdded(s);
    *out = SCG_INVALID_ENTRIES_READ;
    if (!added) {
        *out = 0;
        return STORE_OK;
    }
    if (!s->len && idCmp(id, &s->last_id) < 1) {
        *out = added;
        return STORE_OK;
    }
    int cmp_last = idCmp(id, &s->last_id);
    if (cmp_last == 0) {
        *out = added;
        return STORE_OK;
    }
    if (cmp_last > 0) return STORE_OK;
    streamID first;
    if (streamFirstID(s, &first) != STORE_OK) return STORE_ERR;
    int cmp_id_first = idCmp(id, &first);
    int cmp_xdel_first = idCmp(&s->max_deleted, &first);
    if (idIsZero(&s->max_deleted) || cmp_xdel_first < 0) {
        if (cmp_id_first < 0) *out = added - s->len;
        else if (cmp_id_first == 0) *out = added - s->len + 1;
    }
    return STORE_OK;
}

/* ---- appending and trimming ---- */

/* A segment takes no more entries once it holds stream-node-max-entries
 * of them (as a Redis node does; 0: no limit) or SEG_BYTES bytes. */
static int segmentIsFull(size_t count, size_t bytes) {
    long long max = configStreamNodeMaxEntries();
    return (max > 0 && (long long)count >= max) || bytes >= SEG_BYTES;
}

/* Append an entry with id (> last-id): to the last segment file (rewritten
 * with the new record at its end) unless it is full, else to a new one
 * (its seg-first file, then "tail", then the file); then "last-id" and
 * "len". */
static int streamAppend(stream *s, const streamID *id, sds *argv, int n) {
    long long seg = s->tail;
    int fresh = !streamHasSegments(s);
    segment g;
    memset(&g, 0, sizeof(g));
    if (!fresh) {
        if (segLoad(s, s->tail, &g) != STORE_OK) return STORE_ERR;
        if (segmentIsFull(g.count, sdslen(g.data))) fresh = 1;
    }
    if (fresh) {
        seg = s->tail + 1;
        char sname[32], first[ID_STR_LEN];
        segName(sname, sizeof(sname), seg);
        int flen = idFormat(first, id);
        if (storeWriteMember(s->k, SEGFIRST_NS, sname, strlen(sname), first, (size_t)flen, NULL) != STORE_OK ||
            storeWriteNumber(s->k, "tail", seg) != STORE_OK) {
            int saved = errno;
            segFree(&g);
            errno = saved;
            return STORE_ERR;
        }
        s->tail = seg;
        segFree(&g);
        g.data = sdsempty();
    }
    sds rec = entryRecord(id, argv, n);
    g.data = sdscatsds(g.data, rec);
    sdsfree(rec);
    int r = segWrite(s, seg, g.data, sdslen(g.data));
    segFree(&g);
    if (r != STORE_OK || writeID(s->k, "last-id", id) != STORE_OK ||
        storeWriteNumber(s->k, "len", s->len + 1) != STORE_OK)
        return STORE_ERR;
    s->last_id = *id;
    if (s->len == 0) {
        s->first_id = *id;
        s->first_known = 1;
    }
    s->len++;
    return STORE_OK;
}

#define TRIM_NONE 0
#define TRIM_MAXLEN 1
#define TRIM_MINID 2

typedef struct trimArgs {
    streamID id;       /* XADD: the ID given */
    int id_given, seq_given, no_mkstream;
    int strategy;
    int approx;
    long long limit;   /* 0: no limit */
    long long maxlen;
    streamID minid;
    int trim_arg_idx;  /* argv index of the MAXLEN count or MINID id (0: none) */
} trimArgs;

/* The count of removed entries changes "entries-removed" so that
 * entries-added (len + entries-removed) stays. */
static int streamNoteRemoved(stream *s, long long n) {
    if (n == 0) return STORE_OK;
    if (streamLoadExtra(s) != STORE_OK) return STORE_ERR;
    if (storeWriteNumber(s->k, "len", s->len - n) != STORE_OK ||
        storeWriteNumber(s->k, "entries-removed", s->removed + n) != STORE_OK)
        return STORE_ERR;
    s->len -= n;
    s->removed += n;
    s->first_known = 0;
    return STORE_OK;
}

/* Remove the segments before newhead: "head" moves (so they are out of the
 * stream), then their files and seg-first files go. */
static int streamDropSegments(stream *s, long long newhead) {
    if (newhead <= s->head) return STORE_OK;
    long long old = s->head;
    if (storeWriteNumber(s->k, "head", newhead) != STORE_OK) return STORE_ERR;
    s->head = newhead;
    for (long long n = old; n < newhead; n++) {
        char name[32];
        segName(name, sizeof(name), n);
        if (storeRemoveMember(s->k, SEG_NS, name, strlen(name)) == STORE_ERR ||
            storeRemoveMember(s->k, SEGFIRST_NS, name, strlen(name)) == STORE_ERR)
            return STORE_ERR;
    }
    return STORE_OK;
}

/* Trim as Redis's streamTrim(): whole segments from the head while that is
 * enough, then (unless approximate) single entries of the next one. */
static int streamTrim(stream *s, const trimArgs *a, long long *deleted) {
    *deleted = 0;
    if (a->strategy == TRIM_NONE) return STORE_OK;
    long long len = s->len, newhead = s->head, removed = 0;
    segment partial;
    int have_partial = 0;
    int r = STORE_OK;
    for (long long n = s->head; n <= s->tail; n++) {
        if (a->strategy == TRIM_MAXLEN && len <= a->maxlen) break;
        segment g;
        if (segLoad(s, n, &g) != STORE_OK) {
            r = STORE_ERR;
            break;
        }
        long long entries = (long long)g.count;
        if (a->limit && removed + entries > a->limit) {
            segFree(&g);
            break;
        }
        int remove_seg;
        if (a->strategy == TRIM_MAXLEN) remove_seg = len - entries >= a->maxlen;
        else remove_seg = g.count == 0 || idCmp(&g.ids[g.count - 1], &a->minid) < 0;
        if (remove_seg) {
            segFree(&g);
            newhead = n + 1;
            len -= entries;
            removed += entries;
            continue;
        }
        if (a->approx) {
            segFree(&g);
            break;
        }
        partial = g;
        have_partial = 1;
        break;
    }
    if (r == STORE_OK) r = streamDropSegments(s, newhead);
    if (r == STORE_OK && have_partial) {
        char *keep = zmalloc(partial.count ? partial.count : 1);
        long long gone = 0;
        for (size_t i = 0; i < partial.count; i++) {
            int stop = a->strategy == TRIM_MAXLEN ? len <= a->maxlen : idCmp(&partial.ids[i], &a->minid) >= 0;
            keep[i] = (char)stop;
            if (stop) {
                for (size_t j = i + 1; j < partial.count; j++) keep[j] = 1;
                break;
            }
            len--;
            gone++;
        }
        if (gone) {
            sds rest = segWithout(&partial, keep);
            r = segWrite(s, partial.n, rest, sdslen(rest));
            sdsfree(rest);
            removed += gone;
        }
        zfree(keep);
    }
    if (have_partial) segFree(&partial);
    if (r == STORE_OK) r = streamNoteRemoved(s, removed);
    if (r == STORE_OK) *deleted = removed;
    return r;
}

/* XADD/XTRIM options, as Redis's streamParseAddOrTrimArgsOrReply(): the
 * index of the ID argument (XADD), or -1 after replying. */
static int parseAddOrTrimArgs(client *c, trimArgs *a, int xadd) {
    memset(a, 0, sizeof(*a));
    int i = 2, limit_given = 0;
    for (; i < c->argc; i++) {
        int moreargs = (c->argc - 1) - i;
        sds opt = c->argv[i];
        if (xadd && opt[0] == '*' && opt[1] == '\0') {
            break;
        } else if ((!strcasecmp(opt, "maxlen") || !strcasecmp(opt, "minid")) && moreargs) {
            int maxlen = !strcasecmp(opt, "maxlen");
            if (a->strategy != TRIM_NONE) {
                addReplyError(c, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            a->approx = 0;
            sds next = c->argv[i + 1];
            if (moreargs >= 2 && next[0] == '~' && next[1] == '\0') {
                a->approx = 1;
                i++;
            } else if (moreargs >= 2 && next[0] == '=' && next[1] == '\0') {
                i++;
            }
            a->trim_arg_idx = i + 1;
            if (maxlen) {
                if (getLongLongFromArgOrReply(c, c->argv[i + 1], &a->maxlen, NULL) != C_OK) return -1;
                if (a->maxlen < 0) {
                    addReplyError(c, "ERR The MAXLEN argument must be >= 0.");
                    return -1;
                }
                a->strategy = TRIM_MAXLEN;
            } else {
                if (parseStrictIDOrReply(c, c->argv[i + 1], &a->minid, 0, NULL) != C_OK) return -1;
                a->strategy = TRIM_MINID;
            }
            i++;
        } else if (!strcasecmp(opt, "limit") && moreargs) {
            if (getLongLongFromArgOrReply(c, c->argv[i + 1], &a->limit, NULL) != C_OK) return -1;
            if (a->limit < 0) {
                addReplyError(c, "ERR The LIMIT argument must be >= 0.");
                return -1;
            }
            limit_given = 1;
            i++;
        } else if (xadd && !strcasecmp(opt, "nomkstream")) {
            a->no_mkstream = 1;
        } else if (xadd) {
            if (parseStrictIDOrReply(c, c->argv[i], &a->id, 0, &a->seq_given) != C_OK) return -1;
            a->id_given = 1;
            break;
        } else {
            addReplyErrorSyntax(c);
            return -1;
        }
    }
    if (a->limit && a->strategy == TRIM_NONE) {
        addReplyError(c, "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->strategy == TRIM_NONE) {
        addReplyError(c, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given) {
        if (!a->approx) {
            addReplyError(c, "ERR syntax error, LIMIT cannot be used without the special ~ option");
            return -1;
        }
    } else if (a->approx) {
        /* as Redis: at most 100 segments' worth, within 10,000..1,000,000 */
        long long per = configStreamNodeMaxEntries();
        a->limit = per > 0 && per <= 10000 ? 100 * per : per > 10000 ? 1000000 : 10000;
    } else {
        a->limit = 0;
    }
    return i;
}

/* XADD and XTRIM as replicas get them, as Redis 7.0 sends them: an
 * approximate trim ("~", which trims by dredis's segments, not Redis's
 * nodes) as an exact one ("=") to the length or first ID it left, and
 * XADD's generated ID (idpos > 0) as given. */
static void propagateAddOrTrim(client *c, stream *s, const trimArgs *a, int idpos, const streamID *id) {
    if (!a->approx && !(idpos > 0 && id)) return;
    sds *argv = zmalloc(sizeof(sds) * (size_t)c->argc);
    memcpy(argv, c->argv, sizeof(sds) * (size_t)c->argc);
    char buf[ID_STR_LEN];
    sds trimarg = NULL, idarg = NULL;
    if (a->approx) {
        argv[a->trim_arg_idx - 1] = propWord("=");
        streamID first;
        if (a->strategy == TRIM_MAXLEN) {
            trimarg = sdsfromlonglong(s->len);
        } else if (streamFirstID(s, &first) == STORE_OK) {
            trimarg = sdsnewlen(buf, (size_t)idFormat(buf, &first));
        } else {
            trimarg = sdsdup(c->argv[a->trim_arg_idx]); /* unreadable now: the next read fails too */
        }
        argv[a->trim_arg_idx] = trimarg;
    }
    if (idpos > 0 && id) argv[idpos] = idarg = sdsnewlen(buf, (size_t)idFormat(buf, id));
    rewriteCommandForPropagationArgv(c, c->argc, argv);
    sdsfree(trimarg);
    sdsfree(idarg);
    zfree(argv);
}

/* ---- opening a stream for a command ---- */

/* Reply with the storage error in errno (the command is rolled back). */
static void streamIOError(client *c, skey *k) {
    int saved = errno ? errno : EIO;
    addReplyErrorIO(c, saved);
    if (k && k->staged) storeDeleteKey(k);
}

/* Open an existing stream: C_OK with *k NULL when missing, C_ERR after
 * replying (WRONGTYPE, storage error). */
static int openStream(client *c, sds key, int write, skey **k, stream *s) {
    if ((write ? lookupKeyWrite : lookupKeyRead)(c, key, OBJ_STREAM, k) != C_OK) return C_ERR;
    if (!*k) return C_OK;
    if (streamLoad(*k, s) != STORE_OK) {
        streamIOError(c, NULL);
        storeCloseKey(*k);
        *k = NULL;
        return C_ERR;
    }
    return C_OK;
}

/* A new, empty stream built under .tmp (published by streamPublish). */
static int newStream(client *c, sds key, skey **k, stream *s) {
    if (storeNewKey(c->db, key, sdslen(key), OBJ_STREAM, k) != STORE_OK) {
        streamIOError(c, NULL);
        return C_ERR;
    }
    if (streamLoad(*k, s) != STORE_OK) {
        streamIOError(c, *k);
        storeCloseKey(*k);
        *k = NULL;
        return C_ERR;
    }
    return C_OK;
}

static int streamPublish(stream *s) {
    if (!s->k->staged) return STORE_OK;
    if (streamWriteCore(s) != STORE_OK) return STORE_ERR;
    return storePublishKey(s->k, NULL);
}

/* ------------------------------------------------------------------------ */
/* Consumer groups on disk                                                   */
/* ------------------------------------------------------------------------ */

typedef struct cgroup {
    skey *g;                 /* groups/<name> */
    sds name;
    streamID last_id;        /* "last-id" */
    long long entries_read;  /* "entries-read", -1 when unknown */
} cgroup;

typedef struct nack {
    long long delivery_time;
    long long delivery_count;
    sds consumer;            /* NULL: none (XCLAIM FORCE, before assigning) */
} nack;

static void groupClose(cgroup *cg) {
    storeCloseKey(cg->g);
    sdsfree(cg->name);
    cg->g = NULL;
    cg->name = NULL;
}

static int groupOpen(stream *s, const char *name, size_t len, cgroup *cg) {
    memset(cg, 0, sizeof(*cg));
    int r = storeOpenSub(s->k, GROUPS_NS, name, len, &cg->g);
    if (r != STORE_OK) return r;
    cg->name = sdsnewlen(name, len);
    if (readID(cg->g, "last-id", &cg->last_id) != STORE_OK ||
        storeReadNumber(cg->g, "entries-read", &cg->entries_read, SCG_INVALID_ENTRIES_READ) != STORE_OK) {
        int saved = errno;
        groupClose(cg);
        errno = saved;
        return STORE_ERR;
    }
    if (cg->entries_read < 0) cg->entries_read = SCG_INVALID_ENTRIES_READ;
    return STORE_OK;
}

static int groupSave(cgroup *cg) {
    if (writeID(cg->g, "last-id", &cg->last_id) != STORE_OK ||
        storeWriteNumber(cg->g, "entries-read", cg->entries_read) != STORE_OK)
        return STORE_ERR;
    return STORE_OK;
}

/* Create group name: built whole under .tmp, then put in place, *g left
 * open on it. errno EEXIST when it exists. */
static int groupCreateOpen(stream *s, const char *name, size_t len, const streamID *id, long long entries_read,
                           skey **g) {
    if (storeNewSub(s->k, g) != STORE_OK) return STORE_ERR;
    cgroup cg = {*g, NULL, *id, entries_read};
    int r = groupSave(&cg);
    if (r == STORE_OK) r = storePublishSub(s->k, GROUPS_NS, name, len, *g);
    if (r != STORE_OK) {
        int saved = errno;
        storeDeleteKey(*g);
        storeCloseKey(*g);
        *g = NULL;
        errno = saved;
    }
    return r;
}

static int groupCreate(stream *s, sds name, const streamID *id, long long entries_read) {
    skey *g;
    if (groupCreateOpen(s, name, sdslen(name), id, entries_read, &g) != STORE_OK) return STORE_ERR;
    storeCloseKey(g);
    return STORE_OK;
}

/* The names of the members (files or directories) of ns in k, sorted as
 * Redis's radix trees sort them (bytewise). */
static int cmpSds(const void *a, const void *b) {
    const sds x = *(const sds *)a, y = *(const sds *)b;
    size_t lx = sdslen(x), ly = sdslen(y);
    int c = memcmp(x, y, lx < ly ? lx : ly);
    if (c) return c;
    return lx < ly ? -1 : lx > ly;
}

static void freeNames(sds *names, size_t n) {
    for (size_t i = 0; i < n; i++) sdsfree(names[i]);
    zfree(names);
}

static int listNames(skey *k, const char *ns, sds **names, size_t *n) {
    storeIter *it;
    *names = NULL;
    *n = 0;
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    size_t cap = 0;
    sds m;
    int r;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *names = zrealloc(*names, sizeof(sds) * cap);
        }
        (*names)[(*n)++] = m;
    }
    storeIterClose(it);
    if (r == STORE_ERR) { /* a listing cut short is no answer */
        freeNames(*names, *n);
        *names = NULL;
        *n = 0;
        return STORE_ERR;
    }
    if (*n > 1) qsort(*names, *n, sizeof(sds), cmpSds);
    return STORE_OK;
}


/* The IDs named in ns of k (a PEL), ascending. */
static int listIDs(skey *k, const char *ns, streamID **ids, size_t *n) {
    storeIter *it;
    *ids = NULL;
    *n = 0;
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    size_t cap = 0;
    sds m;
    int r;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        streamID id;
        if (idParseStored(m, sdslen(m), &id)) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *ids = zrealloc(*ids, sizeof(streamID) * cap);
            }
            (*ids)[(*n)++] = id;
        }
        sdsfree(m);
    }
    storeIterClose(it);
    if (r == STORE_ERR) {
        zfree(*ids);
        *ids = NULL;
        *n = 0;
        return STORE_ERR;
    }
    if (*n > 1) qsort(*ids, *n, sizeof(streamID), idCmpQsort);
    return STORE_OK;
}

/* ---- the group's pending entries list: pending/<id> files holding
 * "<delivery time> <delivery count>\n<consumer>" ---- */

static void nackFree(nack *na) {
    sdsfree(na->consumer);
    na->consumer = NULL;
}

static int pelRead(cgroup *cg, const streamID *id, nack *na) {
    char name[ID_STR_LEN];
    int l = idFormat(name, id);
    sds v;
    na->consumer = NULL;
    int r = storeReadMember(cg->g, PENDING_NS, name, (size_t)l, &v);
    if (r != STORE_OK) return r;
    char *nl = memchr(v, '\n', sdslen(v));
    char *end;
    int ok = nl != NULL;
    if (ok) {
        errno = 0;
        na->delivery_time = strtoll(v, &end, 10);
        ok = !errno && end != v && *end == ' ';
        if (ok) {
            char *p = end + 1;
            na->delivery_count = strtoll(p, &end, 10);
            ok = !errno && end != p && end == nl;
        }
    }
    if (ok) na->consumer = sdsnewlen(nl + 1, sdslen(v) - (size_t)(nl + 1 - v));
    sdsfree(v);
    if (!ok) {
        errno = EUCLEAN;
        return STORE_ERR;
    }
    return STORE_OK;
}

static int pelWrite(cgroup *cg, const streamID *id, const nack *na) {
    char name[ID_STR_LEN];
    int l = idFormat(name, id);
    sds v = sdscatprintf(sdsempty(), "%lld %lld\n", na->delivery_time, na->delivery_count);
    if (na->consumer) v = sdscatlen(v, na->consumer, sdslen(na->consumer));
    int r = storeWriteMember(cg->g, PENDING_NS, name, (size_t)l, v, sdslen(v), NULL);
    sdsfree(v);
    return r;
}

/* ---- consumers: consumers/<name>/ with "seen-time" and pending/<id>
 * references to the group PEL entries the consumer owns. The group's
 * pending/<id> file is authoritative: a reference whose entry is gone or
 * names another consumer (left by an interrupted command) is ignored. ---- */

static int consumerOpen(cgroup *cg, sds name, skey **ck) {
    return storeOpenSub(cg->g, CONSUMERS_NS, name, sdslen(name), ck);
}

/* Create consumer name, last seen at seen_time; errno EEXIST when it exists. */
static int consumerCreateSeen(cgroup *cg, const char *name, size_t len, long long seen_time, skey **ck) {
    skey *sub;
    *ck = NULL;
    if (storeNewSub(cg->g, &sub) != STORE_OK) return STORE_ERR;
    int r = storeWriteNumber(sub, "seen-time", seen_time);
    if (r == STORE_OK) r = storePublishSub(cg->g, CONSUMERS_NS, name, len, sub);
    if (r != STORE_OK) {
        int saved = errno;
        storeDeleteKey(sub);
        storeCloseKey(sub);
        errno = saved;
        return STORE_ERR;
    }
    *ck = sub;
    return STORE_OK;
}

/* Create consumer name (seen now); errno EEXIST when it exists. */
static int consumerCreate(cgroup *cg, sds name, skey **ck) {
    return consumerCreateSeen(cg, name, sdslen(name), mstime(), ck);
}

/* Redis's streamLookupConsumer() (refreshing its seen time) falling back to
 * streamCreateConsumer(). *created tells which. */
static int consumerLookupOrCreate(cgroup *cg, sds name, int refresh, skey **ck, int *created) {
    *created = 0;
    int r = consumerOpen(cg, name, ck);
    if (r == STORE_OK) {
        if (refresh && storeWriteNumber(*ck, "seen-time", mstime()) != STORE_OK) {
            int saved = errno;
            storeCloseKey(*ck);
            *ck = NULL;
            errno = saved;
            return STORE_ERR;
        }
        return STORE_OK;
    }
    if (r != STORE_NOTFOUND) return STORE_ERR;
    *created = 1;
    return consumerCreate(cg, name, ck);
}

static int consumerRefAdd(skey *ck, const streamID *id) {
    char name[ID_STR_LEN];
    int l = idFormat(name, id);
    return storeWriteMember(ck, PENDING_NS, name, (size_t)l, "", 0, NULL);
}

/* Remove consumer cname's reference to id (if the consumer still exists). */
static int consumerRefRemoveByName(cgroup *cg, sds cname, const streamID *id) {
    if (!cname) return STORE_OK;
    skey *ck;
    int r = consumerOpen(cg, cname, &ck);
    if (r == STORE_NOTFOUND) return STORE_OK;
    if (r != STORE_OK) return STORE_ERR;
    char name[ID_STR_LEN];
    int l = idFormat(name, id);
    r = storeRemoveMember(ck, PENDING_NS, name, (size_t)l);
    int saved = errno;
    storeCloseKey(ck);
    errno = saved;
    return r == STORE_ERR ? STORE_ERR : STORE_OK;
}

/* The consumer's PEL: its references that the group PEL confirms, with
 * their group entries (nacks[i] owns its consumer string). */
static int consumerPEL(cgroup *cg, skey *ck, sds cname, streamID **ids, nack **nacks, size_t *n) {
    streamID *refs;
    size_t nrefs;
    *ids = NULL;
    *nacks = NULL;
    *n = 0;
    if (listIDs(ck, PENDING_NS, &refs, &nrefs) != STORE_OK) return STORE_ERR;
    if (nrefs) {
        *ids = zmalloc(sizeof(streamID) * nrefs);
        *nacks = zmalloc(sizeof(nack) * nrefs);
    }
    for (size_t i = 0; i < nrefs; i++) {
        nack na;
        int r = pelRead(cg, &refs[i], &na);
        if (r == STORE_NOTFOUND) continue;
        if (r != STORE_OK) {
            for (size_t j = 0; j < *n; j++) nackFree(&(*nacks)[j]);
            zfree(*ids);
            zfree(*nacks);
            zfree(refs);
            *ids = NULL;
            *nacks = NULL;
            *n = 0;
            return STORE_ERR;
        }
        if (sdscmp(na.consumer, cname) != 0) {
            nackFree(&na);
            continue;
        }
        (*ids)[*n] = refs[i];
        (*nacks)[*n] = na;
        (*n)++;
    }
    zfree(refs);
    return STORE_OK;
}

static void freeNacks(nack *nacks, size_t n) {
    for (size_t i = 0; i < n; i++) nackFree(&nacks[i]);
    zfree(nacks);
}

/* ------------------------------------------------------------------------ */
/* Whole streams in RDB terms, for DUMP and RESTORE (t_stream.h)             */
/* ------------------------------------------------------------------------ */

static rdbStreamID toRdbID(const streamID *id) {
    rdbStreamID r = {id->ms, id->seq};
    return r;
}

static streamID fromRdbID(const rdbStreamID *id) {
    streamID r = {id->ms, id->seq};
    return r;
}

static int damaged(void) {
    errno = EUCLEAN;
    return STORE_ERR;
}

int streamReadMeta(skey *k, rdbStreamMeta *m) {
    stream s;
    streamID first;
    if (streamLoad(k, &s) != STORE_OK || streamLoadExtra(&s) != STORE_OK || streamFirstID(&s, &first) != STORE_OK)
        return STORE_ERR;
    m->length = (uint64_t)s.len;
    m->last_id = toRdbID(&s.last_id);
    m->first_id = toRdbID(&first);
    m->max_deleted = toRdbID(&s.max_deleted);
    m->entries_added = (uint64_t)streamEntriesAdded(&s);
    return STORE_OK;
}

/* The strings of a record's RESP array (segParse checked it): fv and fvlen
 * get n pointers into it. */
static void recordStrings(const segment *g, size_t i, const char **fv, size_t *fvlen, size_t n) {
    const char *p = g->data + g->aoff[i], *end = p + g->alen[i];
    long long l;
    p++; /* '*' */
    readLenCRLF(&p, end, &l);
    for (size_t j = 0; j < n; j++) {
        p++; /* '$' */
        readLenCRLF(&p, end, &l);
        fv[j] = p;
        fvlen[j] = (size_t)l;
        p += l + 2;
    }
}

/* The number of strings of record i (its array's length). */
static size_t recordLength(const segment *g, size_t i) {
    const char *p = g->data + g->aoff[i] + 1, *end = g->data + g->aoff[i] + g->alen[i];
    long long n = 0;
    readLenCRLF(&p, end, &n);
    return (size_t)n;
}

static int visitSegment(const segment *g, streamID *prev, long long *seen, streamEntryVisitor *fn, void *ud) {
    for (size_t i = 0; i < g->count; i++) {
        if (*seen && idCmp(&g->ids[i], prev) <= 0) return damaged(); /* segments out of order */
        *prev = g->ids[i];
        (*seen)++;
        size_t n = recordLength(g, i);
        const char **fv = zmalloc(sizeof(char *) * n);
        size_t *fvlen = zmalloc(sizeof(size_t) * n);
        recordStrings(g, i, fv, fvlen, n);
        rdbStreamID id = toRdbID(&g->ids[i]);
        int r = fn(ud, &id, n / 2, fv, fvlen);
        zfree(fv);
        zfree(fvlen);
        if (r != STORE_OK) return r;
    }
    return STORE_OK;
}

int streamVisitEntries(skey *k, streamEntryVisitor *fn, void *ud) {
    stream s;
    if (streamLoad(k, &s) != STORE_OK) return STORE_ERR;
    streamID prev = ID_MIN;
    long long seen = 0;
    for (long long n = s.head; n <= s.tail; n++) {
        segment g;
        if (segLoad(&s, n, &g) != STORE_OK) return STORE_ERR;
        int r = visitSegment(&g, &prev, &seen, fn, ud);
        segFree(&g);
        if (r != STORE_OK) return r;
    }
    if (seen != s.len || (seen && idCmp(&prev, &s.last_id) > 0)) return damaged();
    return STORE_OK;
}

/* A consumer and the pending entries it owns; *owned counts them. */
static int visitConsumer(cgroup *cg, sds name, const streamGroupVisitor *v, void *ud, size_t *owned) {
    skey *ck;
    long long seen;
    streamID *ids;
    nack *nacks;
    size_t n;
    int r = consumerOpen(cg, name, &ck);
    if (r == STORE_NOTFOUND) return damaged();
    if (r != STORE_OK) return STORE_ERR;
    r = storeReadNumber(ck, "seen-time", &seen, 0);
    if (r == STORE_OK) r = consumerPEL(cg, ck, name, &ids, &nacks, &n);
    int saved = errno;
    storeCloseKey(ck);
    errno = saved;
    if (r != STORE_OK) return STORE_ERR;
    v->consumer(ud, name, sdslen(name), seen, n);
    for (size_t i = 0; i < n; i++) {
        rdbStreamID id = toRdbID(&ids[i]);
        v->owned(ud, &id);
    }
    *owned += n;
    zfree(ids);
    freeNacks(nacks, n);
    return STORE_OK;
}

static int visitGroup(stream *s, sds name, const streamGroupVisitor *v, void *ud) {
    cgroup cg;
    int r = groupOpen(s, name, sdslen(name), &cg);
    if (r == STORE_NOTFOUND) return damaged();
    if (r != STORE_OK) return STORE_ERR;
    streamID *ids = NULL;
    size_t n = 0, nconsumers = 0, owned = 0;
    sds *consumers = NULL;
    r = listIDs(cg.g, PENDING_NS, &ids, &n);
    if (r == STORE_OK) r = listNames(cg.g, CONSUMERS_NS, &consumers, &nconsumers);
    if (r == STORE_OK) {
        rdbStreamID last = toRdbID(&cg.last_id);
        v->group(ud, name, sdslen(name), &last, cg.entries_read, n);
    }
    for (size_t i = 0; i < n && r == STORE_OK; i++) {
        nack na;
        if ((r = pelRead(&cg, &ids[i], &na)) == STORE_NOTFOUND) r = damaged();
        if (r != STORE_OK) break;
        rdbStreamID id = toRdbID(&ids[i]);
        v->pending(ud, &id, na.delivery_time, na.delivery_count);
        nackFree(&na);
    }
    if (r == STORE_OK) v->consumers(ud, nconsumers);
    for (size_t i = 0; i < nconsumers && r == STORE_OK; i++) r = visitConsumer(&cg, consumers[i], v, ud, &owned);
    if (r == STORE_OK && owned != n) r = damaged(); /* a pending entry no consumer owns */
    int saved = errno;
    zfree(ids);
    freeNames(consumers, nconsumers);
    groupClose(&cg);
    errno = saved;
    return r;
}

int streamVisitGroups(skey *k, const streamGroupVisitor *v, void *ud) {
    stream s;
    sds *groups;
    size_t ngroups;
    if (streamLoad(k, &s) != STORE_OK || listNames(k, GROUPS_NS, &groups, &ngroups) != STORE_OK) return STORE_ERR;
    v->groups(ud, ngroups);
    int r = STORE_OK;
    for (size_t i = 0; i < ngroups && r == STORE_OK; i++) r = visitGroup(&s, groups[i], v, ud);
    int saved = errno;
    freeNames(groups, ngroups);
    errno = saved;
    return r;
}

/* ---- building a new stream ---- */

struct streamBuild {
    stream s;
    sds seg;             /* the segment being filled */
    size_t segcount;     /* its entries */
    streamID segfirst;   /* its first ID */
    streamID last;       /* the last entry appended (s.len counts them) */
    long long appended;
    cgroup cg;           /* the group being built (cg.g NULL: none) */
    skey *ck;            /* its consumer being built, and the name */
    sds cname;
};

streamBuild *streamBuildStart(skey *k) {
    streamBuild *b = zcalloc(sizeof(*b));
    memset(&b->s, 0, sizeof(b->s));
    b->s.k = k;
    b->s.tail = -1;
    b->s.extra = 1;
    b->seg = sdsempty();
    return b;
}

static int invalid(void) {
    errno = EINVAL;
    return STORE_ERR;
}

/* Write the segment being filled as segment tail+1 (its seg-first, then
 * the file). */
static int buildFlushSegment(streamBuild *b) {
    if (b->segcount == 0) return STORE_OK;
    long long n = b->s.tail + 1;
    char sname[32], first[ID_STR_LEN];
    segName(sname, sizeof(sname), n);
    int flen = idFormat(first, &b->segfirst);
    if (storeWriteMember(b->s.k, SEGFIRST_NS, sname, strlen(sname), first, (size_t)flen, NULL) != STORE_OK ||
        segWrite(&b->s, n, b->seg, sdslen(b->seg)) != STORE_OK)
        return STORE_ERR;
    b->s.tail = n;
    b->s.len += (long long)b->segcount;
    b->segcount = 0;
    sdssetlen(b->seg, 0);
    return STORE_OK;
}

/* As streamAppend() packs entries (segmentIsFull()). */
int streamBuildAppend(streamBuild *b, const rdbStreamID *rid, size_t nfields, const char **fv, const size_t *fvlen) {
    streamID id = fromRdbID(rid);
    if (nfields == 0 || (b->appended && idCmp(&id, &b->last) <= 0)) return invalid();
    if (b->segcount && segmentIsFull(b->segcount, sdslen(b->seg)) && buildFlushSegment(b) != STORE_OK)
        return STORE_ERR;
    if (b->segcount == 0) b->segfirst = id;
    b->seg = recordAppendHeader(b->seg, &id, 2 * nfields);
    for (size_t i = 0; i < 2 * nfields; i++) b->seg = recordAppendBulk(b->seg, fv[i], fvlen[i]);
    b->segcount++;
    b->appended++;
    b->last = id;
    return STORE_OK;
}

int streamBuildMeta(streamBuild *b, const rdbStreamMeta *m) {
    streamID last = fromRdbID(&m->last_id);
    if (m->length != (uint64_t)b->appended || m->entries_added < m->length || m->entries_added > LLONG_MAX ||
        (b->appended && idCmp(&b->last, &last) > 0))
        return invalid();
    b->s.last_id = last;
    b->s.max_deleted = fromRdbID(&m->max_deleted);
    b->s.removed = (long long)(m->entries_added - m->length);
    return STORE_OK;
}

static void buildCloseConsumer(streamBuild *b) {
    if (b->ck) storeCloseKey(b->ck);
    sdsfree(b->cname);
    b->ck = NULL;
    b->cname = NULL;
}

static void buildCloseGroup(streamBuild *b) {
    buildCloseConsumer(b);
    if (b->cg.g) groupClose(&b->cg);
}

int streamBuildGroup(streamBuild *b, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read) {
    buildCloseGroup(b);
    if (entries_read < SCG_INVALID_ENTRIES_READ) return invalid();
    streamID id = fromRdbID(last_id);
    skey *g;
    if (groupCreateOpen(&b->s, name, len, &id, entries_read, &g) != STORE_OK) return STORE_ERR;
    b->cg.g = g;
    b->cg.name = sdsnewlen(name, len);
    b->cg.last_id = id;
    b->cg.entries_read = entries_read;
    return STORE_OK;
}

int streamBuildConsumer(streamBuild *b, const char *name, size_t len, long long seen_time) {
    buildCloseConsumer(b);
    if (!b->cg.g) return invalid();
    if (consumerCreateSeen(&b->cg, name, len, seen_time, &b->ck) != STORE_OK) return STORE_ERR;
    b->cname = sdsnewlen(name, len);
    return STORE_OK;
}

/* A pending entry of the group, owned by the consumer given last: the
 * group's pending file, then the consumer's reference. */
int streamBuildPending(streamBuild *b, const rdbStreamID *rid, long long delivery_time, long long delivery_count) {
    if (!b->ck || delivery_count < 0) return invalid();
    streamID id = fromRdbID(rid);
    nack na = {delivery_time, delivery_count, b->cname};
    if (pelWrite(&b->cg, &id, &na) != STORE_OK || consumerRefAdd(b->ck, &id) != STORE_OK) return STORE_ERR;
    return STORE_OK;
}

/* The stream's own files: the last segment, then len, head, tail,
 * last-id (streamWriteCore) and the removal counters. */
static int buildSave(streamBuild *b) {
    if (buildFlushSegment(b) != STORE_OK || streamWriteCore(&b->s) != STORE_OK) return STORE_ERR;
    if (!idIsZero(&b->s.max_deleted) && writeID(b->s.k, "max-deleted-id", &b->s.max_deleted) != STORE_OK)
        return STORE_ERR;
    if (b->s.removed && storeWriteNumber(b->s.k, "entries-removed", b->s.removed) != STORE_OK) return STORE_ERR;
    return STORE_OK;
}

int streamBuildEnd(streamBuild *b, int save) {
    int r = STORE_OK;
    buildCloseGroup(b);
    if (save) {
        if (b->appended && idCmp(&b->last, &b->s.last_id) > 0) b->s.last_id = b->last; /* no metadata given */
        r = buildSave(b);
    }
    int saved = errno;
    sdsfree(b->seg);
    zfree(b);
    errno = saved;
    return r;
}

/* ------------------------------------------------------------------------ */
/* Commands: entries                                                         */
/* ------------------------------------------------------------------------ */

/* XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...] */
static void xaddCommand(client *c) {
    trimArgs a;
    int idpos = parseAddOrTrimArgs(c, &a, 1);
    if (idpos < 0) return;
    int field_pos = idpos + 1;
    if ((c->argc - field_pos) < 2 || ((c->argc - field_pos) % 2) == 1) {
        addReplyErrorArity(c);
        return;
    }
    if (a.id_given && a.seq_given && idIsZero(&a.id)) {
        addReplyError(c, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    skey *k;
    stream s;
    if (openStream(c, c->argv[1], 1, &k, &s) != C_OK) return;
    if (!k) {
        if (a.no_mkstream) {
            addReplyNull(c);
            return;
        }
        if (newStream(c, c->argv[1], &k, &s) != C_OK) return;
    }
    streamID id;
    if (s.last_id.ms == UINT64_MAX && s.last_id.seq == UINT64_MAX) {
        addReplyError(c, "ERR The stream has exhausted the last possible ID, unable to add more items");
        goto cleanup;
    }
    if (a.id_given) {
        if (a.seq_given) {
            id = a.id;
        } else if (s.last_id.ms == a.id.ms) {
            if (s.last_id.seq == UINT64_MAX) {
                /* what Redis 7.0 answers here */
                addReplyError(c, "ERR Elements are too large to be stored");
                goto cleanup;
            }
            id = s.last_id;
            id.seq++;
        } else {
            id = a.id;
        }
    } else {
        uint64_t ms = (uint64_t)mstime();
        if (ms > s.last_id.ms) {
            id.ms = ms;
            id.seq = 0;
        } else {
            id = s.last_id;
            idIncr(&id);
        }
    }
    if (idCmp(&id, &s.last_id) <= 0) {
        addReplyError(c, "ERR The ID specified in XADD is equal or smaller than the target stream top item");
        goto cleanup;
    }
    size_t total = 0;
    for (int j = field_pos; j < c->argc; j++) total += sdslen(c->argv[j]);
    if (total > (1u << 30)) {
        addReplyError(c, "ERR Elements are too large to be stored");
        goto cleanup;
    }
    long long deleted;
    int created = k->staged;
    if (streamAppend(&s, &id, c->argv + field_pos, c->argc - field_pos) != STORE_OK ||
        streamTrim(&s, &a, &deleted) != STORE_OK || streamPublish(&s) != STORE_OK) {
        streamIOError(c, NULL);
        goto cleanup;
    }
    if (created) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[1], c->db);
    notifyKeyspaceEvent(NOTIFY_STREAM, "xadd", c->argv[1], c->db);
    if (deleted) notifyKeyspaceEvent(NOTIFY_STREAM, "xtrim", c->argv[1], c->db);
    propagateAddOrTrim(c, &s, &a, idpos, (!a.id_given || !a.seq_given) ? &id : NULL);
    addReplyStreamID(c, &id);
cleanup:
    if (k->staged) storeDeleteKey(k);
    storeCloseKey(k);
}

/* XLEN key: the entry count kept in "len", read as HLEN reads its own */
static void xlenCommand(client *c) { collectionLenCommand(c, OBJ_STREAM); }

/* XRANGE key start end [COUNT count] / XREVRANGE key end start [COUNT count] */
static void xrangeGeneric(client *c, int rev) {
    streamID start, end;
    long long count = -1;
    if (parseRangeOrReply(c, rev ? c->argv[3] : c->argv[2], rev ? c->argv[2] : c->argv[3], &start, &end) != C_OK)
        return;
    for (int j = 4; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        if (!strcasecmp(c->argv[j], "COUNT") && additional >= 1) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &count, NULL) != C_OK) return;
            if (count < 0) count = 0;
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    skey *k;
    stream s;
    if (openStream(c, c->argv[1], 0, &k, &s) != C_OK) return;
    if (!k) {
        addReplyArrayLen(c, 0);
        return;
    }
    if (count == 0) {
        addReplyNullArray(c);
    } else {
        if (count == -1) count = 0;
        aside a;
        long long emitted;
        asideBegin(c, &a);
        int r = emitRange(c, &s, &start, &end, count, rev, &emitted);
        asideEnd(c, &a);
        if (r != STORE_OK) {
            asideDiscard(&a);
            streamIOError(c, NULL);
        } else {
            addReplyArrayLen(c, emitted);
            asideFlush(c, &a);
        }
    }
    storeCloseKey(k);
}

static void xrangeCommand(client *c) { xrangeGeneric(c, 0); }
static void xrevrangeCommand(client *c) { xrangeGeneric(c, 1); }

/* Remove emptied segments from the head (they would cost a read each
 * time the stream is read from its start); the last segment stays. */
static int streamDropEmptyHead(stream *s) {
    long long newhead = s->head;
    while (newhead < s->tail) {
        segment g;
        if (segLoad(s, newhead, &g) != STORE_OK) return STORE_ERR;
        size_t n = g.count;
        segFree(&g);
        if (n) break;
        newhead++;
    }
    return streamDropSegments(s, newhead);
}

/* Write back a segment XDEL removed records from. */
static int xdelFlush(stream *s, segment *g, char *keep, int dirty) {
    int r = STORE_OK;
    if (dirty) {
        sds rest = segWithout(g, keep);
        r = segWrite(s, g->n, rest, sdslen(rest));
        sdsfree(rest);
    }
    segFree(g);
    return r;
}

/* XDEL key id [id ...] */
static void xdelCommand(client *c) {
    skey *k;
    stream s;
    if (openStream(c, c->argv[1], 1, &k, &s) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    int nids = c->argc - 2, loaded = 0, dirty = 0;
    streamID *ids = zmalloc(sizeof(streamID) * (size_t)nids);
    segment g;
    char *keep = NULL;
    long long deleted = 0;
    memset(&g, 0, sizeof(g));
    for (int j = 0; j < nids; j++)
        if (parseStrictIDOrReply(c, c->argv[j + 2], &ids[j], 0, NULL) != C_OK) goto cleanup;
    if (streamLoadExtra(&s) != STORE_OK) goto ioerr;
    streamID maxdel = s.max_deleted;
    for (int j = 0; j < nids; j++) {
        if (s.len == 0 || idCmp(&ids[j], &s.last_id) > 0) continue;
        long long n;
        if (segFind(&s, &ids[j], &n) != STORE_OK) goto ioerr;
        if (n < 0) continue;
        if (!loaded || n != g.n) {
            if (loaded) {
                loaded = 0;
                if (xdelFlush(&s, &g, keep, dirty) != STORE_OK) goto ioerr;
                zfree(keep);
                keep = NULL;
            }
            if (segLoad(&s, n, &g) != STORE_OK) goto ioerr;
            loaded = 1;
            dirty = 0;
            keep = zmalloc(g.count ? g.count : 1);
            memset(keep, 1, g.count ? g.count : 1);
        }
        long i = segIndex(&g, &ids[j]);
        if (i < 0 || !keep[i]) continue;
        keep[i] = 0;
        dirty = 1;
        deleted++;
        if (idCmp(&ids[j], &maxdel) > 0) maxdel = ids[j];
    }
    if (loaded) {
        loaded = 0;
        if (xdelFlush(&s, &g, keep, dirty) != STORE_OK) goto ioerr;
    }
    if (deleted) {
        if (idCmp(&maxdel, &s.max_deleted) != 0 && writeID(k, "max-deleted-id", &maxdel) != STORE_OK) goto ioerr;
        s.max_deleted = maxdel;
        if (streamNoteRemoved(&s, deleted) != STORE_OK || streamDropEmptyHead(&s) != STORE_OK) goto ioerr;
        notifyKeyspaceEvent(NOTIFY_STREAM, "xdel", c->argv[1], c->db);
    }
    addReplyLongLong(c, deleted);
    goto cleanup;
ioerr:
    streamIOError(c, NULL);
cleanup:
    if (loaded) segFree(&g);
    zfree(keep);
    zfree(ids);
    storeCloseKey(k);
}

/* XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] */
static void xtrimCommand(client *c) {
    trimArgs a;
    if (parseAddOrTrimArgs(c, &a, 0) < 0) return;
    skey *k;
    stream s;
    if (openStream(c, c->argv[1], 1, &k, &s) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    long long deleted;
    if (streamTrim(&s, &a, &deleted) != STORE_OK) {
        streamIOError(c, NULL);
    } else {
        if (deleted) notifyKeyspaceEvent(NOTIFY_STREAM, "xtrim", c->argv[1], c->db);
        propagateAddOrTrim(c, &s, &a, 0, NULL);
        addReplyLongLong(c, deleted);
    }
    storeCloseKey(k);
}

/* XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id] */
static void xsetidCommand(client *c) {
    streamID id, maxdel = ID_MIN;
    long long added = -1;
    if (parseStrictIDOrReply(c, c->argv[2], &id, 0, NULL) != C_OK) return;
    for (int i = 3; i < c->argc; i += 2) {
        int moreargs = (c->argc - 1) - i;
        if (!strcasecmp(c->argv[i], "ENTRIESADDED") && moreargs) {
            if (getLongLongFromArgOrReply(c, c->argv[i + 1], &added, NULL) != C_OK) return;
            if (added < 0) {
                addReplyError(c, "ERR entries_added must be positive");
                return;
            }
        } else if (!strcasecmp(c->argv[i], "MAXDELETEDID") && moreargs) {
            if (parseStrictIDOrReply(c, c->argv[i + 1], &maxdel, 0, NULL) != C_OK) return;
            if (idCmp(&id, &maxdel) < 0) {
                addReplyError(c, "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return;
            }
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    skey *k;
    stream s;
    if (openStream(c, c->argv[1], 1, &k, &s) != C_OK) return;
    if (!k) {
        addReplyError(c, "ERR no such key");
        return;
    }
    if (streamLoadExtra(&s) != STORE_OK) goto ioerr;
    if (s.len > 0) {
        streamID maxid;
        int found;
        if (streamLastValidID(&s, &maxid, &found) != STORE_OK) goto ioerr;
        if (found && idCmp(&id, &maxid) < 0) {
            addReplyError(c, "ERR The ID specified in XSETID is smaller than the target stream top item");
            goto done;
        }
        if (added != -1 && s.len > added) {
            addReplyError(c, "ERR The entries_added specified in XSETID is smaller than the target stream length");
            goto done;
        }
    }
    if (writeID(k, "last-id", &id) != STORE_OK) goto ioerr;
    if (added != -1 && storeWriteNumber(k, "entries-removed", added - s.len) != STORE_OK) goto ioerr;
    if (!idIsZero(&maxdel) && writeID(k, "max-deleted-id", &maxdel) != STORE_OK) goto ioerr;
    notifyKeyspaceEvent(NOTIFY_STREAM, "xsetid", c->argv[1], c->db);
    addReplyOK(c);
    goto done;
ioerr:
    streamIOError(c, NULL);
done:
    storeCloseKey(k);
}

/* ------------------------------------------------------------------------ */
/* XREAD and XREADGROUP                                                      */
/* ------------------------------------------------------------------------ */

/* A read from a group delivers entry id: the group's last ID and read
 * counter advance (as Redis's streamReplyWithRange()). */
static int groupAdvance(stream *s, cgroup *cg, const streamID *id) {
    if (idCmp(id, &cg->last_id) <= 0) return STORE_OK;
    if (streamLoadExtra(s) != STORE_OK) return STORE_ERR;
    int tomb = 0;
    if (cg->entries_read != SCG_INVALID_ENTRIES_READ &&
        streamRangeHasTombstones(s, id, NULL, &tomb) != STORE_OK)
        return STORE_ERR;
    if (cg->entries_read != SCG_INVALID_ENTRIES_READ && !tomb) {
        cg->entries_read++;
    } else if (streamEntriesAdded(s)) {
        if (streamEstimateDistance(s, id, &cg->entries_read) != STORE_OK) return STORE_ERR;
    }
    cg->last_id = *id;
    return STORE_OK;
}

/* Put id in the PEL of consumer ck (named cname), delivered now once: a
 * reference in the consumer first, then the group's entry (which takes it
 * from its previous owner, whose reference then goes). */
/* ---- what consumer groups tell replicas (as Redis 7.0) ---- */

/* A delivery or claim, which the replica repeats idempotently:
 * XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID
 * group-last-id (Redis's streamPropagateXCLAIM). A claim of an entry that
 * is gone removes it from the replica's PEL the same way. */
static void propagateClaim(client *c, sds key, const cgroup *cg, sds consumer, const streamID *id, const nack *na) {
    char idbuf[ID_STR_LEN], lastbuf[ID_STR_LEN];
    sds idarg = sdsnewlen(idbuf, (size_t)idFormat(idbuf, id));
    sds lastarg = sdsnewlen(lastbuf, (size_t)idFormat(lastbuf, &cg->last_id));
    sds time = sdsfromlonglong(na->delivery_time), count = sdsfromlonglong(na->delivery_count);
    sds zero = propWord("0");
    sds cons = consumer ? consumer : propWord("");
    alsoPropagateArgs(c->db, 14, propWord("XCLAIM"), key, cg->name, cons, zero, idarg, propWord("TIME"), time,
                      propWord("RETRYCOUNT"), count, propWord("FORCE"), propWord("JUSTID"), propWord("LASTID"),
                      lastarg);
    sdsfree(idarg);
    sdsfree(lastarg);
    sdsfree(time);
    sdsfree(count);
}

/* A group's last delivered ID moved without a claim (NOACK, LASTID):
 * XGROUP SETID key group id ENTRIESREAD n (Redis's streamPropagateGroupID). */
static void propagateGroupID(client *c, sds key, const cgroup *cg) {
    char buf[ID_STR_LEN];
    sds idarg = sdsnewlen(buf, (size_t)idFormat(buf, &cg->last_id));
    sds read = sdsfromlonglong(cg->entries_read);
    alsoPropagateArgs(c->db, 7, propWord("XGROUP"), propWord("SETID"), key, cg->name, idarg,
                      propWord("ENTRIESREAD"), read);
    sdsfree(idarg);
    sdsfree(read);
}

/* A consumer XREADGROUP NOACK created: nothing else would create it on the
 * replica (Redis's streamPropagateConsumerCreation). */
static void propagateConsumerCreation(client *c, sds key, const cgroup *cg, sds consumer) {
    alsoPropagateArgs(c->db, 5, propWord("XGROUP"), propWord("CREATECONSUMER"), key, cg->name, consumer);
}

static int pelDeliver(cgroup *cg, skey *ck, sds cname, const streamID *id, long long now) {
    nack old;
    int r = pelRead(cg, id, &old);
    if (r == STORE_ERR) return STORE_ERR;
    nack na = {now, 1, cname};
    if (consumerRefAdd(ck, id) != STORE_OK || pelWrite(cg, id, &na) != STORE_OK) {
        if (r == STORE_OK) nackFree(&old);
        return STORE_ERR;
    }
    if (r == STORE_OK) {
        int rr = STORE_OK;
        if (old.consumer && sdscmp(old.consumer, cname) != 0) rr = consumerRefRemoveByName(cg, old.consumer, id);
        nackFree(&old);
        if (rr != STORE_OK) return STORE_ERR;
    }
    return STORE_OK;
}

typedef struct readTarget {
    skey *k;
    stream s;
    cgroup cg;
    int has_group;
    streamID gt;       /* entries greater than this */
    int history;       /* XREADGROUP with an explicit ID */
    streamID *ids;     /* what will be served */
    sds *contents;     /* and their entries (XREAD, XREADGROUP >) */
    size_t n;
    int served;
} readTarget;

/* Serve one stream of XREADGROUP: deliver t->ids to the consumer. */
static int serveGroup(client *c, readTarget *t, sds consumer, int noack) {
    skey *ck;
    int created;
    long long now = mstime();
    if (consumerLookupOrCreate(&t->cg, consumer, 1, &ck, &created) != STORE_OK) return STORE_ERR;
    if (created) notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-createconsumer", t->k->name, c->db);
    if (created && noack) propagateConsumerCreation(c, t->k->name, &t->cg, consumer);
    int r = STORE_OK;
    if (t->history) {
        /* the consumer's own pending entries after gt */
        streamID *ids;
        nack *nacks;
        size_t n;
        if (consumerPEL(&t->cg, ck, consumer, &ids, &nacks, &n) != STORE_OK) {
            storeCloseKey(ck);
            return STORE_ERR;
        }
        long long count = (long long)t->n; /* the COUNT limit, 0: none */
        size_t first = 0, last;
        while (first < n && idCmp(&ids[first], &t->gt) <= 0) first++;
        last = count && (long long)(n - first) > count ? first + (size_t)count : n;
        addReplyArrayLen(c, (long)(last - first));
        for (size_t i = first; i < last && r == STORE_OK; i++) {
            sds e;
            int lr = entryLookup(&t->s, &ids[i], &e);
            if (lr == STORE_ERR) {
                r = STORE_ERR;
                break;
            }
            if (lr == STORE_NOTFOUND) {
                addReplyArrayLen(c, 2);
                addReplyStreamID(c, &ids[i]);
                addReplyNullArray(c);
                continue;
            }
            addReplyEntry(c, &ids[i], e);
            sdsfree(e);
            nacks[i].delivery_time = now;
            nacks[i].delivery_count++;
            r = pelWrite(&t->cg, &ids[i], &nacks[i]);
        }
        zfree(ids);
        freeNacks(nacks, n);
    } else {
        addReplyArrayLen(c, (long)t->n);
        for (size_t i = 0; i < t->n && r == STORE_OK; i++) {
            r = groupAdvance(&t->s, &t->cg, &t->ids[i]);
            if (r == STORE_OK) addReplyEntry(c, &t->ids[i], t->contents[i]);
            if (r == STORE_OK && !noack) r = pelDeliver(&t->cg, ck, consumer, &t->ids[i], now);
            if (r == STORE_OK && !noack) {
                nack na = {now, 1, consumer};
                propagateClaim(c, t->k->name, &t->cg, consumer, &t->ids[i], &na);
            }
        }
        if (r == STORE_OK && noack && t->n) propagateGroupID(c, t->k->name, &t->cg);
        if (r == STORE_OK) r = groupSave(&t->cg);
    }
    int saved = errno;
    storeCloseKey(ck);
    errno = saved;
    return r;
}

/* XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]
 * XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...]
 *
 * A client that blocks is run again, with the same arguments, whenever one
 * of its keys changes (blocking.c). So that "$" keeps meaning the last ID
 * when it first blocked, the saved arguments get the resolved IDs instead
 * of "$". */
static void xreadGeneric(client *c, int xreadgroup) {
    if (xreadgroup) preventCommandPropagation(c); /* replicas get each delivery (propagateClaim) */
    int rerun = c->bstate.btype == BLOCKED_STREAM; /* run again for a blocked client */
    long long timeout = -1, count = 0;
    int streams_arg = 0, streams_count = 0, noack = 0;
    sds groupname = NULL, consumername = NULL;
    for (int i = 1; i < c->argc; i++) {
        int moreargs = c->argc - i - 1;
        sds o = c->argv[i];
        if (!strcasecmp(o, "BLOCK") && moreargs) {
            if (c->flags & CLIENT_FAKE) { /* a script's client */
                addReplyErrorFormat(c, "ERR %s command is not allowed with BLOCK option from scripts", c->argv[0]);
                return;
            }
            i++;
            if (getLongLongFromArgOrReply(c, c->argv[i], &timeout, "ERR timeout is not an integer or out of range") !=
                C_OK)
                return;
            if (timeout < 0) {
                addReplyError(c, "ERR timeout is negative");
                return;
            }
        } else if (!strcasecmp(o, "COUNT") && moreargs) {
            i++;
            if (getLongLongFromArgOrReply(c, c->argv[i], &count, NULL) != C_OK) return;
            if (count < 0) count = 0;
        } else if (!strcasecmp(o, "STREAMS") && moreargs) {
            streams_arg = i + 1;
            streams_count = c->argc - streams_arg;
            if (streams_count % 2 != 0) {
                addReplyError(c, "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
                                 "specified.");
                return;
            }
            streams_count /= 2;
            break;
        } else if (!strcasecmp(o, "GROUP") && moreargs >= 2) {
            if (!xreadgroup) {
                addReplyError(c, "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            groupname = c->argv[i + 1];
            consumername = c->argv[i + 2];
            i += 2;
        } else if (!strcasecmp(o, "NOACK")) {
            if (!xreadgroup) {
                addReplyError(c, "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return;
            }
            noack = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (streams_arg == 0) {
        addReplyErrorSyntax(c);
        return;
    }
    if (xreadgroup && !groupname) {
        addReplyError(c, "ERR Missing GROUP option for XREADGROUP");
        return;
    }
    if (rerun && count == 0) count = XREAD_BLOCKED_DEFAULT_COUNT;

    readTarget *t = zcalloc(sizeof(readTarget) * (size_t)streams_count);
    int nserved = 0, failed = 0;
    aside a;
    int aside_open = 0;
    for (int i = 0; i < streams_count; i++) {
        sds key = c->argv[streams_arg + i], idarg = c->argv[streams_arg + streams_count + i];
        readTarget *rt = &t[i];
        /* a blocked reader run again announces no misses: Redis serves it
         * from the key that became ready, looking up no other */
        if (lookupKeyReadWithFlags(c, key, OBJ_NONE, rerun ? LOOKUP_NONOTIFY : 0, &rt->k) != C_OK) goto cleanup;
        if (rt->k && rt->k->type != OBJ_STREAM) {
            storeCloseKey(rt->k);
            rt->k = NULL;
            if (!rerun) { /* a blocked reader waits for a stream to come back */
                addReplyErrorWrongType(c);
                goto cleanup;
            }
        }
        if (rt->k && streamLoad(rt->k, &rt->s) != STORE_OK) goto ioerr;
        if (groupname) {
            int r = rt->k ? groupOpen(&rt->s, groupname, sdslen(groupname), &rt->cg) : STORE_NOTFOUND;
            if (r == STORE_ERR) goto ioerr;
            if (r == STORE_NOTFOUND) {
                if (rerun && !rt->k) addReplyError(c, "UNBLOCKED the stream key no longer exists");
                else if (rerun) addReplyError(c, "NOGROUP the consumer group this client was blocked on no longer exists");
                else
                    addReplyErrorFormat(c, "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP "
                                           "option",
                                        key, groupname);
                goto cleanup;
            }
            rt->has_group = 1;
        }
        if (!strcmp(idarg, "$")) {
            if (xreadgroup) {
                addReplyError(c, "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
                                 "history of this consumer by specifying a proper ID, or use the > ID to get new "
                                 "messages. The $ ID would just return an empty result set.");
                goto cleanup;
            }
            rt->gt = rt->k ? rt->s.last_id : ID_MIN;
        } else if (!strcmp(idarg, ">")) {
            if (!xreadgroup) {
                addReplyError(c, "ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
                                 "<group> <consumer> option.");
                goto cleanup;
            }
            rt->gt = ID_MAX;
        } else {
            if (parseStrictIDOrReply(c, idarg, &rt->gt, 0, NULL) != C_OK) goto cleanup;
            if (xreadgroup) rt->history = 1;
        }
    }

    /* Redis looks every key up a second time before serving: a missing one
     * is a second "keymiss" */
    if (!rerun)
        for (int i = 0; i < streams_count; i++)
            if (!t[i].k) notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", c->argv[streams_arg + i], c->db);

    /* What each stream has to serve */
    for (int i = 0; i < streams_count; i++) {
        readTarget *rt = &t[i];
        if (!rt->k) continue;
        if (rt->history) {
            rt->served = 1;
            rt->n = (size_t)count; /* the limit: the consumer's PEL is read when serving */
        } else {
            streamID start = rt->has_group ? rt->cg.last_id : rt->gt;
            if (idIncr(&start) != C_OK) continue;
            if (collectEntries(&rt->s, &start, NULL, count, 0, &rt->ids, &rt->contents, &rt->n) != STORE_OK)
                goto ioerr;
            rt->served = rt->n > 0;
        }
        if (rt->served) nserved++;
    }

    if (nserved) {
        asideBegin(c, &a);
        aside_open = 1;
        if (c->resp == 2) addReplyArrayLen(c, nserved);
        else addReplyMapLen(c, nserved);
        for (int i = 0; i < streams_count; i++) {
            readTarget *rt = &t[i];
            if (!rt->served) continue;
            if (c->resp == 2) addReplyArrayLen(c, 2);
            addReplyBulk(c, c->argv[streams_arg + i], sdslen(c->argv[streams_arg + i]));
            if (rt->has_group) {
                if (serveGroup(c, rt, consumername, noack) != STORE_OK) goto ioerr;
            } else {
                addReplyArrayLen(c, (long)rt->n);
                for (size_t j = 0; j < rt->n; j++) addReplyEntry(c, &rt->ids[j], rt->contents[j]);
            }
        }
        asideEnd(c, &a);
        asideFlush(c, &a);
        aside_open = 0;
        goto cleanup;
    }

    if (timeout != -1 && clientMayBlock(c)) {
        long long now = mstime();
        long long when = timeout == 0 ? 0 : (timeout > LLONG_MAX - now ? LLONG_MAX : now + timeout);
        blockForKeys(c, BLOCKED_STREAM, c->argv + streams_arg, streams_count, when, BLOCK_TIMEOUT_NULL_ARRAY);
        if (!rerun && c->bstate.argv) {
            /* "$" means the last ID as it is now, also when run again */
            for (int i = 0; i < streams_count; i++) {
                int idx = streams_arg + streams_count + i;
                if (strcmp(c->bstate.argv[idx], "$") != 0) continue;
                char buf[ID_STR_LEN];
                int l = idFormat(buf, &t[i].gt);
                sdsfree(c->bstate.argv[idx]);
                c->bstate.argv[idx] = sdsnewlen(buf, (size_t)l);
            }
        }
    } else {
        addReplyNullArray(c);
    }
    goto cleanup;

ioerr:
    failed = 1;
cleanup:
    if (aside_open) {
        asideEnd(c, &a);
        asideDiscard(&a);
    }
    if (failed) streamIOError(c, NULL);
    for (int i = 0; i < streams_count; i++) {
        zfree(t[i].ids);
        freeContents(t[i].contents, t[i].n);
        if (t[i].has_group) groupClose(&t[i].cg);
        storeCloseKey(t[i].k);
    }
    zfree(t);
}

static void xreadCommand(client *c) { xreadGeneric(c, 0); }
static void xreadgroupCommand(client *c) { xreadGeneric(c, 1); }

/* ------------------------------------------------------------------------ */
/* Consumer group commands                                                   */
/* ------------------------------------------------------------------------ */

/* XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
 * XGROUP SETID key group id|$ [ENTRIESREAD n]
 * XGROUP DESTROY key group
 * XGROUP CREATECONSUMER key group consumer
 * XGROUP DELCONSUMER key group consumer
 * XGROUP HELP
 * (one handler for all, as in Redis, so the checks come in Redis's order) */
static void xgroupCommand(client *c) {
    sds opt = c->argv[1];
    int mkstream = 0, found = 0;
    long long entries_read = SCG_INVALID_ENTRIES_READ;
    skey *k = NULL;
    stream s;
    cgroup cg;
    memset(&cg, 0, sizeof(cg));
    memset(&s, 0, sizeof(s));
    sds grpname = NULL;
    if (c->argc >= 4) {
        int create_subcmd = !strcasecmp(opt, "CREATE"), setid_subcmd = !strcasecmp(opt, "SETID");
        for (int i = 5; i < c->argc;) {
            if (create_subcmd && !strcasecmp(c->argv[i], "MKSTREAM")) {
                mkstream = 1;
                i++;
            } else if ((create_subcmd || setid_subcmd) && !strcasecmp(c->argv[i], "ENTRIESREAD") && i + 1 < c->argc) {
                if (getLongLongFromArgOrReply(c, c->argv[i + 1], &entries_read, NULL) != C_OK) return;
                if (entries_read < 0 && entries_read != SCG_INVALID_ENTRIES_READ) {
                    addReplyError(c, "ERR value for ENTRIESREAD must be positive or -1");
                    return;
                }
                i += 2;
            } else {
                addReplySubcommandSyntaxError(c);
                return;
            }
        }
        if (openStream(c, c->argv[2], 1, &k, &s) != C_OK) return;
        grpname = c->argv[3];
    }
    if (c->argc >= 4 && !mkstream) {
        if (!k) {
            addReplyError(c, "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
                             "to use the MKSTREAM option to create an empty stream automatically.");
            return;
        }
        int r = groupOpen(&s, grpname, sdslen(grpname), &cg);
        if (r == STORE_ERR) goto ioerr;
        found = r == STORE_OK;
        if (!found && (!strcasecmp(opt, "SETID") || !strcasecmp(opt, "CREATECONSUMER") ||
                       !strcasecmp(opt, "DELCONSUMER"))) {
            addReplyErrorFormat(c, "NOGROUP No such consumer group '%s' for key name '%s'", grpname, c->argv[2]);
            goto done;
        }
    }

    if (c->argc == 2 && !strcasecmp(opt, "HELP")) {
        static const char *help[] = {
            "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
            "HELP",
            "    Prints this help.",
        };
        addReplyHelpLines(c, help);
    } else if (!strcasecmp(opt, "CREATE") && c->argc >= 5 && c->argc <= 8) {
        streamID id;
        if (!strcmp(c->argv[4], "$")) id = k ? s.last_id : ID_MIN;
        else if (parseStrictIDOrReply(c, c->argv[4], &id, 0, NULL) != C_OK) goto done;
        if (!k && newStream(c, c->argv[2], &k, &s) != C_OK) goto done;
        int created = k->staged;
        if (groupCreate(&s, grpname, &id, entries_read) != STORE_OK) {
            if (errno != EEXIST) goto ioerr;
            addReplyError(c, "BUSYGROUP Consumer Group name already exists");
            goto done;
        }
        if (streamPublish(&s) != STORE_OK) goto ioerr;
        if (created) notifyKeyspaceEvent(NOTIFY_NEW, "new", c->argv[2], c->db);
        notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-create", c->argv[2], c->db);
        addReplyOK(c);
    } else if (!strcasecmp(opt, "SETID") && (c->argc == 5 || c->argc == 7)) {
        streamID id;
        if (!strcmp(c->argv[4], "$")) id = s.last_id;
        else if (parseIDOrReply(c, c->argv[4], &id, 0, 0, NULL) != C_OK) goto done;
        cg.last_id = id;
        cg.entries_read = entries_read;
        if (groupSave(&cg) != STORE_OK) goto ioerr;
        notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-setid", c->argv[2], c->db);
        addReplyOK(c);
    } else if (!strcasecmp(opt, "DESTROY") && c->argc == 4) {
        if (found) {
            if (storeRemoveSub(k, GROUPS_NS, grpname, sdslen(grpname)) == STORE_ERR) goto ioerr;
            notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-destroy", c->argv[2], c->db);
            addReplyLongLong(c, 1);
        } else {
            addReplyLongLong(c, 0);
        }
    } else if (!strcasecmp(opt, "CREATECONSUMER") && c->argc == 5) {
        skey *ck;
        if (consumerCreate(&cg, c->argv[4], &ck) != STORE_OK) {
            if (errno != EEXIST) goto ioerr;
            addReplyLongLong(c, 0);
        } else {
            storeCloseKey(ck);
            notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-createconsumer", c->argv[2], c->db);
            addReplyLongLong(c, 1);
        }
    } else if (!strcasecmp(opt, "DELCONSUMER") && c->argc == 5) {
        skey *ck;
        long long pending = 0;
        int r = consumerOpen(&cg, c->argv[4], &ck);
        if (r == STORE_ERR) goto ioerr;
        if (r == STORE_OK) {
            streamID *ids;
            nack *nacks;
            size_t n;
            r = consumerPEL(&cg, ck, c->argv[4], &ids, &nacks, &n);
            storeCloseKey(ck);
            if (r != STORE_OK) goto ioerr;
            for (size_t i = 0; i < n && r == STORE_OK; i++) {
                char name[ID_STR_LEN];
                int l = idFormat(name, &ids[i]);
                if (storeRemoveMember(cg.g, PENDING_NS, name, (size_t)l) == STORE_ERR) r = STORE_ERR;
            }
            zfree(ids);
            freeNacks(nacks, n);
            if (r != STORE_OK || storeRemoveSub(cg.g, CONSUMERS_NS, c->argv[4], sdslen(c->argv[4])) == STORE_ERR)
                goto ioerr;
            pending = (long long)n;
            notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-delconsumer", c->argv[2], c->db);
        }
        addReplyLongLong(c, pending);
    } else {
        addReplySubcommandSyntaxError(c);
    }
    goto done;
ioerr:
    streamIOError(c, NULL);
done:
    if (k && k->staged) storeDeleteKey(k);
    groupClose(&cg);
    storeCloseKey(k);
}

/* Open key and group for XACK/XPENDING/XCLAIM/XAUTOCLAIM: C_OK with *k NULL
 * when either is missing, C_ERR after replying. */
static int openGroup(client *c, sds key, sds group, skey **k, stream *s, cgroup *cg) {
    memset(cg, 0, sizeof(*cg));
    if (openStream(c, key, 0, k, s) != C_OK) return C_ERR;
    if (!*k) return C_OK;
    int r = groupOpen(s, group, sdslen(group), cg);
    if (r == STORE_OK) return C_OK;
    if (r == STORE_ERR) streamIOError(c, NULL);
    storeCloseKey(*k);
    *k = NULL;
    return r == STORE_ERR ? C_ERR : C_OK;
}

/* XACK key group id [id ...] */
static void xackCommand(client *c) {
    skey *k;
    stream s;
    cgroup cg;
    if (openGroup(c, c->argv[1], c->argv[2], &k, &s, &cg) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    int nids = c->argc - 3;
    streamID *ids = zmalloc(sizeof(streamID) * (size_t)nids);
    long long acked = 0;
    for (int j = 0; j < nids; j++)
        if (parseStrictIDOrReply(c, c->argv[j + 3], &ids[j], 0, NULL) != C_OK) goto done;
    for (int j = 0; j < nids; j++) {
        nack na;
        int r = pelRead(&cg, &ids[j], &na);
        if (r == STORE_NOTFOUND) continue;
        char name[ID_STR_LEN];
        int l = idFormat(name, &ids[j]);
        if (r == STORE_OK && storeRemoveMember(cg.g, PENDING_NS, name, (size_t)l) == STORE_ERR) r = STORE_ERR;
        if (r == STORE_OK) r = consumerRefRemoveByName(&cg, na.consumer, &ids[j]);
        nackFree(&na);
        if (r != STORE_OK) {
            streamIOError(c, NULL);
            goto done;
        }
        acked++;
    }
    addReplyLongLong(c, acked);
done:
    zfree(ids);
    groupClose(&cg);
    storeCloseKey(k);
}

/* XPENDING key group [[IDLE min-idle-time] start end count [consumer]] */
static void xpendingCommand(client *c) {
    int justinfo = c->argc == 3;
    sds consumername = NULL;
    streamID start, end;
    long long count = 0, minidle = 0;
    if (c->argc != 3 && (c->argc < 6 || c->argc > 9)) {
        addReplyErrorSyntax(c);
        return;
    }
    if (c->argc >= 6) {
        int startidx = 3;
        if (!strcasecmp(c->argv[3], "IDLE")) {
            if (getLongLongFromArgOrReply(c, c->argv[4], &minidle, NULL) != C_OK) return;
            if (c->argc < 8) {
                addReplyErrorSyntax(c);
                return;
            }
            startidx += 2;
        }
        if (getLongLongFromArgOrReply(c, c->argv[startidx + 2], &count, NULL) != C_OK) return;
        if (count < 0) count = 0;
        if (parseRangeOrReply(c, c->argv[startidx], c->argv[startidx + 1], &start, &end) != C_OK) return;
        if (startidx + 3 < c->argc) consumername = c->argv[startidx + 3];
    }
    skey *k;
    stream s;
    cgroup cg;
    if (openGroup(c, c->argv[1], c->argv[2], &k, &s, &cg) != C_OK) return;
    if (!k) {
        addReplyErrorFormat(c, "NOGROUP No such key '%s' or consumer group '%s'", c->argv[1], c->argv[2]);
        return;
    }
    streamID *ids = NULL;
    nack *nacks = NULL;
    size_t n = 0;
    sds *owners = NULL;
    size_t nowners = 0;
    aside a;
    asideBegin(c, &a);
    int r = STORE_OK;
    long long now = mstime();
    if (justinfo) {
        r = listIDs(cg.g, PENDING_NS, &ids, &n);
        if (r == STORE_OK && n) owners = zmalloc(sizeof(sds) * n);
        for (size_t i = 0; i < n && r == STORE_OK; i++) {
            nack na;
            int rr = pelRead(&cg, &ids[i], &na);
            if (rr == STORE_ERR) r = STORE_ERR;
            else if (rr == STORE_OK) owners[nowners++] = na.consumer ? na.consumer : sdsempty();
        }
        if (r == STORE_OK) {
            addReplyArrayLen(c, 4);
            addReplyLongLong(c, (long long)n);
            if (n == 0) {
                addReplyNull(c);
                addReplyNull(c);
                addReplyNullArray(c);
            } else {
                addReplyStreamID(c, &ids[0]);
                addReplyStreamID(c, &ids[n - 1]);
                if (nowners > 1) qsort(owners, nowners, sizeof(sds), cmpSds);
                long groups = 0;
                for (size_t i = 0; i < nowners; i++)
                    if (i == 0 || sdscmp(owners[i], owners[i - 1])) groups++;
                addReplyArrayLen(c, groups);
                for (size_t i = 0; i < nowners;) {
                    size_t j = i;
                    while (j < nowners && !sdscmp(owners[j], owners[i])) j++;
                    addReplyArrayLen(c, 2);
                    addReplyBulk(c, owners[i], sdslen(owners[i]));
                    addReplyBulkLongLong(c, (long long)(j - i));
                    i = j;
                }
            }
        }
    } else {
        int have_nacks = 0;
        if (consumername) {
            skey *ck;
            int rr = consumerOpen(&cg, consumername, &ck);
            if (rr == STORE_ERR) r = STORE_ERR;
            if (rr == STORE_OK) {
                r = consumerPEL(&cg, ck, consumername, &ids, &nacks, &n);
                have_nacks = 1;
                storeCloseKey(ck);
            }
        } else {
            r = listIDs(cg.g, PENDING_NS, &ids, &n);
        }
        long long emitted = 0;
        void *len = r == STORE_OK ? addReplyDeferredLen(c) : NULL;
        for (size_t i = 0; i < n && r == STORE_OK && count; i++) {
            if (idCmp(&ids[i], &start) < 0) continue;
            if (idCmp(&ids[i], &end) > 0) break;
            nack na;
            if (have_nacks) {
                na = nacks[i];
            } else {
                int rr = pelRead(&cg, &ids[i], &na);
                if (rr == STORE_NOTFOUND) continue;
                if (rr == STORE_ERR) {
                    r = STORE_ERR;
                    break;
                }
            }
            long long idle = now - na.delivery_time;
            if (!minidle || idle >= minidle) {
                addReplyArrayLen(c, 4);
                addReplyStreamID(c, &ids[i]);
                if (na.consumer) addReplyBulk(c, na.consumer, sdslen(na.consumer));
                else addReplyBulk(c, "", 0);
                addReplyLongLong(c, idle < 0 ? 0 : idle);
                addReplyLongLong(c, na.delivery_count);
                emitted++;
                count--;
            }
            if (!have_nacks) nackFree(&na);
        }
        if (len) setDeferredArrayLen(c, len, emitted);
    }
    asideEnd(c, &a);
    if (r != STORE_OK) {
        asideDiscard(&a);
        streamIOError(c, NULL);
    } else {
        asideFlush(c, &a);
    }
    zfree(ids);
    freeNacks(nacks, nacks ? n : 0);
    for (size_t i = 0; i < nowners; i++) sdsfree(owners[i]);
    zfree(owners);
    groupClose(&cg);
    storeCloseKey(k);
}

/* Give PEL entry id (na, read from the group; na->consumer NULL for a new
 * one) to consumer ck/cname: its reference first, then the entry, then the
 * previous owner's reference goes. */
static int pelAssign(cgroup *cg, skey *ck, sds cname, const streamID *id, nack *na) {
    if (consumerRefAdd(ck, id) != STORE_OK) return STORE_ERR;
    sds old = na->consumer;
    na->consumer = cname;
    int r = pelWrite(cg, id, na);
    na->consumer = old;
    if (r == STORE_OK && old && sdscmp(old, cname) != 0) r = consumerRefRemoveByName(cg, old, id);
    return r;
}

/* Remove PEL entry id (owned by na->consumer). */
static int pelDrop(cgroup *cg, const streamID *id, nack *na) {
    char name[ID_STR_LEN];
    int l = idFormat(name, id);
    if (storeRemoveMember(cg->g, PENDING_NS, name, (size_t)l) == STORE_ERR) return STORE_ERR;
    return consumerRefRemoveByName(cg, na->consumer, id);
}

/* XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-ms] [RETRYCOUNT count] [FORCE]
 * [JUSTID] [LASTID lastid] */
static void xclaimCommand(client *c) {
    skey *k;
    stream s;
    cgroup cg;
    long long minidle, retrycount = -1, deliverytime = -1;
    int force = 0, justid = 0;
    preventCommandPropagation(c); /* replicas get each claim (propagateClaim) */
    if (openGroup(c, c->argv[1], c->argv[2], &k, &s, &cg) != C_OK) return;
    if (!k) {
        addReplyErrorFormat(c, "NOGROUP No such key '%s' or consumer group '%s'", c->argv[1], c->argv[2]);
        return;
    }
    streamID *ids = zmalloc(sizeof(streamID) * (size_t)(c->argc - 5 + 1));
    skey *ck = NULL;
    aside a;
    int aside_open = 0;
    if (getLongLongFromArgOrReply(c, c->argv[4], &minidle, "ERR Invalid min-idle-time argument for XCLAIM") != C_OK)
        goto done;
    if (minidle < 0) minidle = 0;
    int j;
    for (j = 5; j < c->argc; j++)
        if (parseStrictIDOrReply(NULL, c->argv[j], &ids[j - 5], 0, NULL) != C_OK) break;
    int last_id_arg = j - 1;
    long long now = mstime();
    streamID last_id = ID_MIN;
    for (; j < c->argc; j++) {
        int moreargs = (c->argc - 1) - j;
        sds opt = c->argv[j];
        if (!strcasecmp(opt, "FORCE")) {
            force = 1;
        } else if (!strcasecmp(opt, "JUSTID")) {
            justid = 1;
        } else if (!strcasecmp(opt, "IDLE") && moreargs) {
            j++;
            if (getLongLongFromArgOrReply(c, c->argv[j], &deliverytime,
                                          "ERR Invalid IDLE option argument for XCLAIM") != C_OK)
                goto done;
            deliverytime = now - deliverytime;
        } else if (!strcasecmp(opt, "TIME") && moreargs) {
            j++;
            if (getLongLongFromArgOrReply(c, c->argv[j], &deliverytime,
                                          "ERR Invalid TIME option argument for XCLAIM") != C_OK)
                goto done;
        } else if (!strcasecmp(opt, "RETRYCOUNT") && moreargs) {
            j++;
            if (getLongLongFromArgOrReply(c, c->argv[j], &retrycount,
                                          "ERR Invalid RETRYCOUNT option argument for XCLAIM") != C_OK)
                goto done;
        } else if (!strcasecmp(opt, "LASTID") && moreargs) {
            j++;
            if (parseStrictIDOrReply(c, c->argv[j], &last_id, 0, NULL) != C_OK) goto done;
        } else {
            addReplyErrorFormat(c, "ERR Unrecognized XCLAIM option '%s'", opt);
            goto done;
        }
    }
    if (deliverytime != -1) {
        if (deliverytime < 0 || deliverytime > now) deliverytime = now;
    } else {
        deliverytime = now;
    }
    asideBegin(c, &a);
    aside_open = 1;
    int last_id_moved = 0, claims = 0;
    if (idCmp(&last_id, &cg.last_id) > 0) {
        cg.last_id = last_id;
        last_id_moved = 1;
        if (groupSave(&cg) != STORE_OK) goto ioerr;
    }
    void *len = addReplyDeferredLen(c);
    long long arraylen = 0;
    int failed = 0;
    for (int i = 5; i <= last_id_arg && !failed; i++) {
        streamID id = ids[i - 5];
        nack na;
        int have = pelRead(&cg, &id, &na);
        sds e = NULL;
        int exists = have == STORE_ERR ? STORE_ERR : entryLookup(&s, &id, justid ? NULL : &e);
        if (have == STORE_ERR || exists == STORE_ERR) {
            if (have == STORE_OK) nackFree(&na);
            failed = 1;
            break;
        }
        if (exists == STORE_NOTFOUND) {
            /* the entry is gone: so goes its PEL entry */
            if (have == STORE_OK) {
                if (pelDrop(&cg, &id, &na) != STORE_OK) failed = 1;
                else propagateClaim(c, c->argv[1], &cg, na.consumer, &id, &na);
                claims++;
                nackFree(&na);
            }
            continue;
        }
        if (force && have == STORE_NOTFOUND) {
            na.delivery_time = now;
            na.delivery_count = 1;
            na.consumer = NULL;
            have = STORE_OK;
        }
        if (have == STORE_OK) {
            if (na.consumer && minidle && now - na.delivery_time < minidle) {
                nackFree(&na);
                sdsfree(e);
                continue;
            }
            int created = 0;
            if (!ck && consumerLookupOrCreate(&cg, c->argv[3], 1, &ck, &created) != STORE_OK) failed = 1;
            if (created) notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-createconsumer", c->argv[1], c->db);
            if (!failed) {
                na.delivery_time = deliverytime;
                if (retrycount >= 0) na.delivery_count = retrycount;
                else if (!justid) na.delivery_count++;
                if (pelAssign(&cg, ck, c->argv[3], &id, &na) != STORE_OK) failed = 1;
            }
            if (!failed) {
                propagateClaim(c, c->argv[1], &cg, c->argv[3], &id, &na);
                claims++;
                if (justid) addReplyStreamID(c, &id);
                else addReplyEntry(c, &id, e);
                arraylen++;
            }
            nackFree(&na);
        }
        sdsfree(e);
    }
    setDeferredArrayLen(c, len, arraylen);
    if (failed) goto ioerr;
    if (last_id_moved && !claims) propagateGroupID(c, c->argv[1], &cg);
    asideEnd(c, &a);
    asideFlush(c, &a);
    aside_open = 0;
    goto done;
ioerr:
    asideEnd(c, &a);
    asideDiscard(&a);
    aside_open = 0;
    streamIOError(c, NULL);
done:
    if (aside_open) {
        asideEnd(c, &a);
        asideDiscard(&a);
    }
    storeCloseKey(ck);
    zfree(ids);
    groupClose(&cg);
    storeCloseKey(k);
}

/* XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] */
static void xautoclaimCommand(client *c) {
    long long minidle;
    long count = 100;
    const long attempts_factor = 10;
    streamID startid;
    int startex, justid = 0;
    if (getLongLongFromArgOrReply(c, c->argv[4], &minidle, "ERR Invalid min-idle-time argument for XAUTOCLAIM") !=
        C_OK)
        return;
    if (minidle < 0) minidle = 0;
    if (parseIntervalIDOrReply(c, c->argv[5], &startid, &startex, 0) != C_OK) return;
    if (startex && idIncr(&startid) != C_OK) {
        addReplyError(c, "ERR invalid start ID for the interval");
        return;
    }
    for (int j = 6; j < c->argc; j++) {
        int moreargs = (c->argc - 1) - j;
        if (!strcasecmp(c->argv[j], "COUNT") && moreargs) {
            long max_count = LONG_MAX / (long)(sizeof(streamID) > (size_t)attempts_factor ? sizeof(streamID)
                                                                                            : (size_t)attempts_factor);
            if (!string2l(c->argv[j + 1], sdslen(c->argv[j + 1]), &count) || count < 1 || count > max_count) {
                addReplyError(c, "ERR COUNT must be > 0");
                return;
            }
            j++;
        } else if (!strcasecmp(c->argv[j], "JUSTID")) {
            justid = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    skey *k;
    stream s;
    cgroup cg;
    if (openGroup(c, c->argv[1], c->argv[2], &k, &s, &cg) != C_OK) return;
    if (!k) {
        addReplyErrorFormat(c, "NOGROUP No such key '%s' or consumer group '%s'", c->argv[1], c->argv[2]);
        return;
    }
    streamID *ids = NULL, *deleted = NULL;
    size_t n = 0, ndeleted = 0;
    skey *ck = NULL;
    aside a;
    preventCommandPropagation(c); /* replicas get each claim (propagateClaim) */
    asideBegin(c, &a);
    int failed = listIDs(cg.g, PENDING_NS, &ids, &n) != STORE_OK;
    size_t i = 0;
    long long now = mstime();
    long long arraylen = 0;
    void *len = NULL;
    if (!failed) {
        while (i < n && idCmp(&ids[i], &startid) < 0) i++;
        long long attempts = (long long)count * attempts_factor;
        len = addReplyDeferredLen(c);
        while (attempts-- && count && i < n && !failed) {
            streamID id = ids[i++];
            nack na;
            int have = pelRead(&cg, &id, &na);
            if (have == STORE_NOTFOUND) continue;
            sds e = NULL;
            int exists = have == STORE_ERR ? STORE_ERR : entryLookup(&s, &id, justid ? NULL : &e);
            if (have == STORE_ERR || exists == STORE_ERR) {
                if (have == STORE_OK) nackFree(&na);
                failed = 1;
                break;
            }
            if (exists == STORE_NOTFOUND) {
                if (pelDrop(&cg, &id, &na) != STORE_OK) failed = 1;
                else propagateClaim(c, c->argv[1], &cg, na.consumer, &id, &na);
                nackFree(&na);
                deleted = zrealloc(deleted, sizeof(streamID) * (ndeleted + 1));
                deleted[ndeleted++] = id;
                count--;
                continue;
            }
            if (minidle && now - na.delivery_time < minidle) {
                nackFree(&na);
                sdsfree(e);
                continue;
            }
            int created = 0;
            if (!ck && consumerLookupOrCreate(&cg, c->argv[3], 1, &ck, &created) != STORE_OK) failed = 1;
            if (created) notifyKeyspaceEvent(NOTIFY_STREAM, "xgroup-createconsumer", c->argv[1], c->db);
            if (!failed) {
                na.delivery_time = now;
                if (!justid) na.delivery_count++;
                if (pelAssign(&cg, ck, c->argv[3], &id, &na) != STORE_OK) failed = 1;
            }
            if (!failed) {
                propagateClaim(c, c->argv[1], &cg, c->argv[3], &id, &na);
                if (justid) addReplyStreamID(c, &id);
                else addReplyEntry(c, &id, e);
                arraylen++;
                count--;
            }
            nackFree(&na);
            sdsfree(e);
        }
        setDeferredArrayLen(c, len, arraylen);
    }
    asideEnd(c, &a);
    if (failed) {
        asideDiscard(&a);
        streamIOError(c, NULL);
    } else {
        addReplyArrayLen(c, 3);
        addReplyStreamID(c, i < n ? &ids[i] : &ID_MIN);
        asideFlush(c, &a);
        addReplyArrayLen(c, (long)ndeleted);
        for (size_t d = 0; d < ndeleted; d++) addReplyStreamID(c, &deleted[d]);
    }
    storeCloseKey(ck);
    zfree(ids);
    zfree(deleted);
    groupClose(&cg);
    storeCloseKey(k);
}

/* ------------------------------------------------------------------------ */
/* XINFO                                                                     */
/* ------------------------------------------------------------------------ */

static int addReplyGroupLag(client *c, stream *s, cgroup *cg) {
    if (streamLoadExtra(s) != STORE_OK) return STORE_ERR;
    long long added = streamEntriesAdded(s), lag = 0;
    int valid = 0, tomb = 0;
    if (!added) {
        valid = 1;
    } else {
        if (cg->entries_read != SCG_INVALID_ENTRIES_READ &&
            streamRangeHasTombstones(s, &cg->last_id, NULL, &tomb) != STORE_OK)
            return STORE_ERR;
        if (cg->entries_read != SCG_INVALID_ENTRIES_READ && !tomb) {
            lag = added - cg->entries_read;
            valid = 1;
        } else {
            long long er;
            if (streamEstimateDistance(s, &cg->last_id, &er) != STORE_OK) return STORE_ERR;
            if (er != SCG_INVALID_ENTRIES_READ) {
                lag = added - er;
                valid = 1;
            }
        }
    }
    if (valid) addReplyLongLong(c, lag);
    else addReplyNull(c);
    return STORE_OK;
}

static void addReplyEntriesRead(client *c, const cgroup *cg) {
    if (cg->entries_read != SCG_INVALID_ENTRIES_READ) addReplyLongLong(c, cg->entries_read);
    else addReplyNull(c);
}

static int countMembers(skey *k, const char *ns, long long *n) {
    storeIter *it;
    *n = 0;
    if (storeIterOpen(k, ns, 0, &it) != STORE_OK) return STORE_ERR;
    sds m;
    int r;
    while ((r = storeIterNext(it, &m)) == STORE_OK) {
        (*n)++;
        sdsfree(m);
    }
    storeIterClose(it);
    return r == STORE_ERR ? STORE_ERR : STORE_OK;
}

/* XINFO STREAM key [FULL [COUNT count]] */
static int xinfoStream(client *c, stream *s) {
    int full = 1;
    long long count = 10;
    int optc = c->argc - 3;
    sds *optv = c->argv + 3;
    if (optc == 0) {
        full = 0;
    } else {
        if ((optc != 1 && optc != 3) || strcasecmp(optv[0], "full")) {
            addReplySubcommandSyntaxError(c);
            return STORE_OK;
        }
        if (optc == 3) {
            if (strcasecmp(optv[1], "count")) {
                addReplySubcommandSyntaxError(c);
                return STORE_OK;
            }
            if (getLongLongFromArgOrReply(c, optv[2], &count, NULL) != C_OK) return STORE_OK;
            if (count < 0) count = 10;
        }
    }
    if (streamLoadExtra(s) != STORE_OK) return STORE_ERR;
    streamID first;
    if (streamFirstID(s, &first) != STORE_OK) return STORE_ERR;
    long long segs = streamHasSegments(s) ? s->tail - s->head + 1 : 0;
    addReplyMapLen(c, full ? 9 : 10);
    addReplyBulkCString(c, "length");
    addReplyLongLong(c, s->len);
    addReplyBulkCString(c, "radix-tree-keys");
    addReplyLongLong(c, segs);
    addReplyBulkCString(c, "radix-tree-nodes");
    addReplyLongLong(c, segs + 1);
    addReplyBulkCString(c, "last-generated-id");
    addReplyStreamID(c, &s->last_id);
    addReplyBulkCString(c, "max-deleted-entry-id");
    addReplyStreamID(c, &s->max_deleted);
    addReplyBulkCString(c, "entries-added");
    addReplyLongLong(c, streamEntriesAdded(s));
    addReplyBulkCString(c, "recorded-first-entry-id");
    addReplyStreamID(c, &first);
    sds *groups;
    size_t ngroups;
    if (listNames(s->k, GROUPS_NS, &groups, &ngroups) != STORE_OK) return STORE_ERR;
    int r = STORE_OK;
    if (!full) {
        long long emitted;
        addReplyBulkCString(c, "groups");
        addReplyLongLong(c, (long long)ngroups);
        addReplyBulkCString(c, "first-entry");
        r = emitRange(c, s, NULL, NULL, 1, 0, &emitted);
        if (r == STORE_OK && !emitted) addReplyNull(c);
        addReplyBulkCString(c, "last-entry");
        if (r == STORE_OK) r = emitRange(c, s, NULL, NULL, 1, 1, &emitted);
        if (r == STORE_OK && !emitted) addReplyNull(c);
        freeNames(groups, ngroups);
        return r;
    }
    long long emitted;
    addReplyBulkCString(c, "entries");
    void *len = addReplyDeferredLen(c);
    r = emitRange(c, s, NULL, NULL, count, 0, &emitted);
    setDeferredArrayLen(c, len, emitted);
    addReplyBulkCString(c, "groups");
    addReplyArrayLen(c, (long)ngroups);
    for (size_t gi = 0; gi < ngroups && r == STORE_OK; gi++) {
        cgroup cg;
        r = groupOpen(s, groups[gi], sdslen(groups[gi]), &cg);
        if (r != STORE_OK) {
            if (r == STORE_NOTFOUND) errno = EUCLEAN;
            r = STORE_ERR;
            break;
        }
        streamID *ids = NULL;
        size_t n = 0;
        sds *consumers = NULL;
        size_t nconsumers = 0;
        r = listIDs(cg.g, PENDING_NS, &ids, &n);
        if (r == STORE_OK) r = listNames(cg.g, CONSUMERS_NS, &consumers, &nconsumers);
        if (r == STORE_OK) {
            addReplyMapLen(c, 7);
            addReplyBulkCString(c, "name");
            addReplyBulk(c, groups[gi], sdslen(groups[gi]));
            addReplyBulkCString(c, "last-delivered-id");
            addReplyStreamID(c, &cg.last_id);
            addReplyBulkCString(c, "entries-read");
            addReplyEntriesRead(c, &cg);
            addReplyBulkCString(c, "lag");
            r = addReplyGroupLag(c, s, &cg);
        }
        if (r == STORE_OK) {
            addReplyBulkCString(c, "pel-count");
            addReplyLongLong(c, (long long)n);
            addReplyBulkCString(c, "pending");
            size_t shown = count && (long long)n > count ? (size_t)count : n;
            addReplyArrayLen(c, (long)shown);
            for (size_t i = 0; i < shown && r == STORE_OK; i++) {
                nack na;
                r = pelRead(&cg, &ids[i], &na);
                if (r != STORE_OK) {
                    if (r == STORE_NOTFOUND) errno = EUCLEAN;
                    r = STORE_ERR;
                    break;
                }
                addReplyArrayLen(c, 4);
                addReplyStreamID(c, &ids[i]);
                if (na.consumer) addReplyBulk(c, na.consumer, sdslen(na.consumer));
                else addReplyBulk(c, "", 0);
                addReplyLongLong(c, na.delivery_time);
                addReplyLongLong(c, na.delivery_count);
                nackFree(&na);
            }
        }
        if (r == STORE_OK) {
            addReplyBulkCString(c, "consumers");
            addReplyArrayLen(c, (long)nconsumers);
        }
        for (size_t ci = 0; ci < nconsumers && r == STORE_OK; ci++) {
            skey *ck;
            r = consumerOpen(&cg, consumers[ci], &ck);
            if (r != STORE_OK) {
                if (r == STORE_NOTFOUND) errno = EUCLEAN;
                r = STORE_ERR;
                break;
            }
            long long seen;
            streamID *cids;
            nack *cnacks;
            size_t cn;
            r = storeReadNumber(ck, "seen-time", &seen, 0);
            if (r == STORE_OK) r = consumerPEL(&cg, ck, consumers[ci], &cids, &cnacks, &cn);
            storeCloseKey(ck);
            if (r != STORE_OK) break;
            addReplyMapLen(c, 4);
            addReplyBulkCString(c, "name");
            addReplyBulk(c, consumers[ci], sdslen(consumers[ci]));
            addReplyBulkCString(c, "seen-time");
            addReplyLongLong(c, seen);
            addReplyBulkCString(c, "pel-count");
            addReplyLongLong(c, (long long)cn);
            addReplyBulkCString(c, "pending");
            size_t cshown = count && (long long)cn > count ? (size_t)count : cn;
            addReplyArrayLen(c, (long)cshown);
            for (size_t i = 0; i < cshown; i++) {
                addReplyArrayLen(c, 3);
                addReplyStreamID(c, &cids[i]);
                addReplyLongLong(c, cnacks[i].delivery_time);
                addReplyLongLong(c, cnacks[i].delivery_count);
            }
            zfree(cids);
            freeNacks(cnacks, cn);
        }
        zfree(ids);
        freeNames(consumers, nconsumers);
        groupClose(&cg);
    }
    freeNames(groups, ngroups);
    return r;
}

/* XINFO CONSUMERS key group / GROUPS key / STREAM key [FULL [COUNT count]] / HELP */
static void xinfoCommand(client *c) {
    if (!strcasecmp(c->argv[1], "HELP")) {
        if (c->argc != 2) {
            addReplySubcommandSyntaxError(c);
            return;
        }
        static const char *help[] = {
            "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
            "HELP",
            "    Prints this help.",
        };
        addReplyHelpLines(c, help);
        return;
    } else if (c->argc < 3) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    sds opt = c->argv[1];
    skey *k;
    stream s;
    if (openStream(c, c->argv[2], 0, &k, &s) != C_OK) return;
    if (!k) {
        addReplyError(c, "ERR no such key");
        return;
    }
    aside a;
    asideBegin(c, &a);
    int r = STORE_OK;
    long long now = mstime();
    if (!strcasecmp(opt, "CONSUMERS") && c->argc == 4) {
        cgroup cg;
        r = groupOpen(&s, c->argv[3], sdslen(c->argv[3]), &cg);
        if (r == STORE_NOTFOUND) {
            addReplyErrorFormat(c, "NOGROUP No such consumer group '%s' for key name '%s'", c->argv[3], c->argv[2]);
            r = STORE_OK;
        } else if (r == STORE_OK) {
            sds *names;
            size_t n;
            r = listNames(cg.g, CONSUMERS_NS, &names, &n);
            if (r == STORE_OK) addReplyArrayLen(c, (long)n);
            for (size_t i = 0; i < n && r == STORE_OK; i++) {
                skey *ck;
                r = consumerOpen(&cg, names[i], &ck);
                if (r != STORE_OK) {
                    if (r == STORE_NOTFOUND) errno = EUCLEAN;
                    r = STORE_ERR;
                    break;
                }
                long long seen;
                streamID *ids;
                nack *nacks;
                size_t pn;
                r = storeReadNumber(ck, "seen-time", &seen, 0);
                if (r == STORE_OK) r = consumerPEL(&cg, ck, names[i], &ids, &nacks, &pn);
                storeCloseKey(ck);
                if (r != STORE_OK) break;
                zfree(ids);
                freeNacks(nacks, pn);
                long long idle = now - seen;
                addReplyMapLen(c, 3);
                addReplyBulkCString(c, "name");
                addReplyBulk(c, names[i], sdslen(names[i]));
                addReplyBulkCString(c, "pending");
                addReplyLongLong(c, (long long)pn);
                addReplyBulkCString(c, "idle");
                addReplyLongLong(c, idle < 0 ? 0 : idle);
            }
            freeNames(names, n); /* after a failure too: listNames leaves NULL, 0 */
            groupClose(&cg);
        }
    } else if (!strcasecmp(opt, "GROUPS") && c->argc == 3) {
        sds *names;
        size_t n;
        r = listNames(k, GROUPS_NS, &names, &n);
        if (r == STORE_OK) addReplyArrayLen(c, (long)n);
        for (size_t i = 0; i < n && r == STORE_OK; i++) {
            cgroup cg;
            r = groupOpen(&s, names[i], sdslen(names[i]), &cg);
            if (r != STORE_OK) {
                if (r == STORE_NOTFOUND) errno = EUCLEAN;
                r = STORE_ERR;
                break;
            }
            long long nconsumers, npending;
            r = countMembers(cg.g, CONSUMERS_NS, &nconsumers);
            if (r == STORE_OK) r = countMembers(cg.g, PENDING_NS, &npending);
            if (r == STORE_OK) {
                addReplyMapLen(c, 6);
                addReplyBulkCString(c, "name");
                addReplyBulk(c, names[i], sdslen(names[i]));
                addReplyBulkCString(c, "consumers");
                addReplyLongLong(c, nconsumers);
                addReplyBulkCString(c, "pending");
                addReplyLongLong(c, npending);
                addReplyBulkCString(c, "last-delivered-id");
                addReplyStreamID(c, &cg.last_id);
                addReplyBulkCString(c, "entries-read");
                addReplyEntriesRead(c, &cg);
                addReplyBulkCString(c, "lag");
                r = addReplyGroupLag(c, &s, &cg);
            }
            groupClose(&cg);
        }
        freeNames(names, n); /* after a failure too: listNames leaves NULL, 0 */
    } else if (!strcasecmp(opt, "STREAM")) {
        r = xinfoStream(c, &s);
    } else {
        addReplySubcommandSyntaxError(c);
    }
    asideEnd(c, &a);
    if (r != STORE_OK) {
        asideDiscard(&a);
        streamIOError(c, NULL);
    } else {
        asideFlush(c, &a);
    }
    storeCloseKey(k);
}

/* ------------------------------------------------------------------------ */
/* Command table                                                             */
/* ------------------------------------------------------------------------ */

static redisCommand xgroupSubcommands[] = {
    {"create", xgroupCommand, -5, "write denyoom", "write stream slow", 2, 2, 1, NULL},
    {"createconsumer", xgroupCommand, 5, "write denyoom", "write stream slow", 2, 2, 1, NULL},
    {"delconsumer", xgroupCommand, 5, "write", "write stream slow", 2, 2, 1, NULL},
    {"destroy", xgroupCommand, 4, "write", "write stream slow", 2, 2, 1, NULL},
    {"help", xgroupCommand, 2, "loading stale", "stream slow", 0, 0, 0, NULL},
    {"setid", xgroupCommand, -5, "write", "write stream slow", 2, 2, 1, NULL},
    {NULL}};

static redisCommand xinfoSubcommands[] = {
    {"consumers", xinfoCommand, 4, "readonly", "read stream slow", 2, 2, 1, NULL},
    {"groups", xinfoCommand, 3, "readonly", "read stream slow", 2, 2, 1, NULL},
    {"help", xinfoCommand, 2, "loading stale", "stream slow", 0, 0, 0, NULL},
    {"stream", xinfoCommand, -3, "readonly", "read stream slow", 2, 2, 1, NULL},
    {NULL}};

static void xgroupContainerCommand(client *c) { (void)c; }
static void xinfoContainerCommand(client *c) { (void)c; }

redisCommand streamCommandTable[] = {
    {"xack", xackCommand, -4, "write fast", "write stream fast", 1, 1, 1, NULL},
    {"xadd", xaddCommand, -5, "write denyoom fast", "write stream fast", 1, 1, 1, NULL},
    {"xautoclaim", xautoclaimCommand, -6, "write fast", "write stream fast", 1, 1, 1, NULL},
    {"xclaim", xclaimCommand, -6, "write fast", "write stream fast", 1, 1, 1, NULL},
    {"xdel", xdelCommand, -3, "write fast", "write stream fast", 1, 1, 1, NULL},
    {"xgroup", xgroupContainerCommand, -2, "", "slow", 0, 0, 0, xgroupSubcommands},
    {"xinfo", xinfoContainerCommand, -2, "", "slow", 0, 0, 0, xinfoSubcommands},
    {"xlen", xlenCommand, 2, "readonly fast", "read stream fast", 1, 1, 1, NULL},
    {"xpending", xpendingCommand, -3, "readonly", "read stream slow", 1, 1, 1, NULL},
    {"xrange", xrangeCommand, -4, "readonly", "read stream slow", 1, 1, 1, NULL},
    {"xread", xreadCommand, -4, "readonly blocking movablekeys", "read stream slow blocking", 0, 0, 0, NULL},
    {"xreadgroup", xreadgroupCommand, -7, "write blocking movablekeys", "write stream slow blocking", 0, 0, 0, NULL},
    {"xrevrange", xrevrangeCommand, -4, "readonly", "read stream slow", 1, 1, 1, NULL},
    {"xsetid", xsetidCommand, -3, "write denyoom fast", "write stream fast", 1, 1, 1, NULL},
    {"xtrim", xtrimCommand, -4, "write", "write stream slow", 1, 1, 1, NULL},
    {NULL}};
