/* check_seq.c - dredis-check of the keys kept in numbered segment files:
 * lists (head-seg, tail-seg, segments/<n> of RESP bulk strings) and
 * streams (len, head, tail, last-id, segments/<n> of ID records,
 * seg-first/<n>, consumer groups with their PEL and consumers). Segment
 * files are read through a small buffer, never whole, so that a huge
 * element costs no memory; a run of segments is bounded by the number of
 * files really there, so that a corrupt head or tail cannot make the check
 * loop for ever. */
#include "dredis_check.h"
#include "keyname.h"
#include "util.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define LIST_SEG_SIZE 64
#define LIST_SEGNO_LIMIT (1LL << 56)
#define SEG_MISSING_NAMED 64 /* missing segments reported one by one, at most */

/* ------------------------------------------------------------------------ */
/* A buffered reader of one segment file                                     */
/* ------------------------------------------------------------------------ */

typedef struct segReader {
    int fd;
    long long size, off; /* file size; offset of buf[0] */
    size_t pos, len;
    char buf[16384];
} segReader;

static int rdOpen(segReader *r, int dirfd, const char *name) {
    r->fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (r->fd < 0) return errno == ENOENT ? CHECK_MISSING : CHECK_ERR;
    struct stat sb;
    if (fstat(r->fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        close(r->fd);
        r->fd = -1;
        errno = EUCLEAN;
        return CHECK_ERR;
    }
    r->size = sb.st_size;
    r->off = 0;
    r->pos = r->len = 0;
    return CHECK_OK;
}

static void rdClose(segReader *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

static int rdAtEnd(const segReader *r) { return r->off + (long long)r->pos >= r->size; }

static int rdByte(segReader *r) {
    if (r->pos == r->len) {
        r->off += (long long)r->len;
        r->pos = r->len = 0;
        ssize_t n;
        do {
            n = pread(r->fd, r->buf, sizeof(r->buf), r->off);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) return -1;
        r->len = (size_t)n;
    }
    return (unsigned char)r->buf[r->pos++];
}

/* A line up to "\r\n" of at most max-1 bytes into out (NUL-terminated).
 * 0 when there is none. */
static int rdLine(segReader *r, char *out, size_t max, size_t *len) {
    size_t n = 0;
    for (;;) {
        int c = rdByte(r);
        if (c < 0) return 0;
        if (c == '\r') {
            if (rdByte(r) != '\n') return 0;
            out[n] = '\0';
            *len = n;
            return 1;
        }
        if (n + 1 >= max) return 0;
        out[n++] = (char)c;
    }
}

/* Skip n bytes, then expect "\r\n". */
static int rdSkipBulk(segReader *r, long long n) {
    long long at = r->off + (long long)r->pos;
    if (n < 0 || n > r->size - at - 2) return 0;
    at += n;
    if (at >= r->off && at < r->off + (long long)r->len) {
        r->pos = (size_t)(at - r->off);
    } else {
        r->off = at;
        r->pos = r->len = 0;
    }
    return rdByte(r) == '\r' && rdByte(r) == '\n';
}

/* "<prefix><decimal length>\r\n" */
static int rdLength(segReader *r, char prefix, long long *out) {
    char line[32];
    size_t len;
    return rdByte(r) == prefix && rdLine(r, line, sizeof(line), &len) && string2ll(line, len, out) && *out >= 0;
}

/* ------------------------------------------------------------------------ */
/* Shared                                                                    */
/* ------------------------------------------------------------------------ */

/* Is name the canonical decimal form of a number? (*n gets it) */
static int canonicalNumber(const char *name, long long *n) {
    char back[32];
    if (!string2ll(name, strlen(name), n)) return 0;
    ll2string(back, sizeof(back), *n);
    return !strcmp(back, name);
}

/* The entries of a directory of numbered files that lie outside first..last
 * (or are not numbers): reported, moved to lost+found with --repair.
 * Returns how many files lie inside the range. */
static long long checkNumberedDir(int keyfd, const char *keypath, const char *ns, long long first, long long last) {
    sds nspath = pathJoin(keypath, ns);
    dirIter it;
    long long inside = 0;
    if (dirOpen(&it, keyfd, ns) < 0) {
        if (errno != ENOENT) checkProblem(nspath, "cannot open: %s", errno == ENOTDIR ? "not a directory" : strerror(errno));
        sdsfree(nspath);
        return 0;
    }
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        long long n;
        if (type == DT_REG && canonicalNumber(e, &n) && n >= first && n <= last) {
            inside++;
            continue;
        }
        sds p = pathJoin(nspath, e);
        checkProblem(p, "stray entry: not a segment of this key (segments %lld..%lld)", first, last);
        if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
        sdsfree(p);
    }
    dirClose(&it);
    sdsfree(nspath);
    return inside;
}

static int readNumberOrReport(int keyfd, const char *keypath, const char *name, long long *out) {
    int r = readNumberFile(keyfd, keypath, name, out);
    if (r == CHECK_MISSING) checkProblemAt(keypath, name, "missing");
    return r == CHECK_OK;
}

/* ------------------------------------------------------------------------ */
/* Lists                                                                     */
/* ------------------------------------------------------------------------ */

int listOwnsEntry(const char *name) {
    return !strcmp(name, "head-seg") || !strcmp(name, "tail-seg") || !strcmp(name, "segments");
}

static long long listSegStart(long long n) { return n * LIST_SEG_SIZE; }

/* Segment n of a list whose segments are hseg..tseg: its header in its
 * range, whole bulk strings, at least one, interior segments full. */
static int checkListSegment(int segfd, const char *segpath, long long n, long long hseg, long long tseg) {
    char name[32];
    ll2string(name, sizeof(name), n);
    sds p = pathJoin(segpath, name);
    segReader r;
    int rc = rdOpen(&r, segfd, name), ok = 0;
    char line[32];
    size_t len;
    long long first, count = 0, blen;
    if (rc == CHECK_MISSING) {
        checkProblem(p, "missing: segments %lld..%lld must all exist", hseg, tseg);
    } else if (rc == CHECK_ERR) {
        checkProblem(p, "cannot read: %s", errno == EUCLEAN ? "not a regular file" : strerror(errno));
    } else if (!rdLine(&r, line, sizeof(line), &len) || !string2ll(line, len, &first)) {
        checkProblem(p, "bad header: not '<first seq>\\r\\n'");
    } else if (first < listSegStart(n) || first >= listSegStart(n + 1)) {
        checkProblem(p, "bad header: seq %lld is not in segment %lld (%lld..%lld)", first, n, listSegStart(n),
                     listSegStart(n + 1) - 1);
    } else if (n > hseg && first != listSegStart(n)) {
        checkProblem(p, "starts at seq %lld: a segment after the first starts at %lld", first, listSegStart(n));
    } else {
        ok = 1;
        while (ok && !rdAtEnd(&r)) {
            long long at = r.off + (long long)r.pos;
            if (first + count >= listSegStart(n + 1)) {
                checkProblem(p, "more than %d elements (at byte %lld)", LIST_SEG_SIZE, at);
                ok = 0;
            } else if (!rdLength(&r, '$', &blen) || !rdSkipBulk(&r, blen)) {
                checkProblem(p, "bad bulk string at byte %lld (element %lld)", at, count);
                ok = 0;
            } else {
                count++;
            }
        }
        if (ok && count == 0) {
            checkProblem(p, "holds no element");
            ok = 0;
        } else if (ok && n < tseg && first + count != listSegStart(n + 1)) {
            checkProblem(p, "holds %lld elements: a segment before the last is full (%d)", count, LIST_SEG_SIZE);
            ok = 0;
        }
    }
    if (rc == CHECK_OK) rdClose(&r);
    sdsfree(p);
    return ok;
}

int checkList(int keyfd, const char *path) {
    long long hseg, tseg;
    if (!readNumberOrReport(keyfd, path, "head-seg", &hseg) || !readNumberOrReport(keyfd, path, "tail-seg", &tseg))
        return 0;
    if (hseg < -LIST_SEGNO_LIMIT || tseg > LIST_SEGNO_LIMIT || tseg < hseg) {
        sds p = pathJoin(path, "head-seg");
        checkProblem(p, "head-seg %lld and tail-seg %lld: head-seg <= tail-seg, within +-2^56 expected", hseg, tseg);
        sdsfree(p);
        return 0;
    }
    long long files = checkNumberedDir(keyfd, path, "segments", hseg, tseg);
    sds segpath = pathJoin(path, "segments");
    int ok = 1;
    /* a few missing segments are named one by one below; more, and the
     * range is not worth walking */
    if (files + SEG_MISSING_NAMED < tseg - hseg + 1) {
        checkProblem(segpath, "%lld segment files for segments %lld..%lld: %lld missing", files, hseg, tseg,
                     tseg - hseg + 1 - files);
        ok = 0;
    }
    int segfd = openDirAt(keyfd, "segments");
    for (long long n = hseg; ok && segfd >= 0 && n <= tseg; n++) {
        ok = checkListSegment(segfd, segpath, n, hseg, tseg);
        checkProgress(0);
    }
    if (segfd >= 0) close(segfd);
    sdsfree(segpath);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Streams                                                                   */
/* ------------------------------------------------------------------------ */

static const char *const streamEntries[] = {"len", "last-id", "head", "tail", "max-deleted-id", "entries-removed",
                                            "segments", "seg-first", "groups", NULL};

int streamOwnsEntry(const char *name) {
    for (int i = 0; streamEntries[i]; i++)
        if (!strcmp(streamEntries[i], name)) return 1;
    return 0;
}

int parseID(const char *s, size_t len, checkID *id) {
    const char *dash = memchr(s, '-', len);
    unsigned long long ms, seq;
    if (!dash || !string2ull(s, (size_t)(dash - s), &ms) || !string2ull(dash + 1, len - (size_t)(dash + 1 - s), &seq))
        return 0;
    id->ms = ms;
    id->seq = seq;
    return 1;
}

int cmpID(const checkID *a, const checkID *b) {
    if (a->ms != b->ms) return a->ms > b->ms ? 1 : -1;
    if (a->seq != b->seq) return a->seq > b->seq ? 1 : -1;
    return 0;
}

static sds formatID(const checkID *id) { return sdscatprintf(sdsempty(), "%llu-%llu", (unsigned long long)id->ms, (unsigned long long)id->seq); }

/* A file holding an ID. CHECK_OK, CHECK_MISSING, CHECK_ERR (reported). */
static int readIDFile(int dirfd, const char *dirpath, const char *name, checkID *id) {
    sds s;
    int r = readSmallFile(dirfd, name, 64, &s);
    if (r == CHECK_MISSING) return r;
    sds p = pathJoin(dirpath, name);
    if (r == CHECK_ERR) checkProblem(p, "cannot read: %s", errno == EFBIG ? "too large for an ID" : strerror(errno));
    else if (!parseID(s, sdslen(s), id)) {
        checkProblem(p, "not a stream ID '<ms>-<seq>': '%.44s'", s);
        r = CHECK_ERR;
    }
    if (s) sdsfree(s);
    sdsfree(p);
    return r;
}

/* Segment n of a stream: ascending records, each an ID and an even number
 * (at least 2) of bulk strings, IDs from seg-first/<n> (first) up to below
 * next (NULL: up to last-id). *count gets its records. */
static int checkStreamSegment(int segfd, const char *segpath, long long n, const checkID *first, const checkID *next,
                              const checkID *last, long long *count) {
    char name[32];
    ll2string(name, sizeof(name), n);
    sds p = pathJoin(segpath, name);
    segReader r;
    int rc = rdOpen(&r, segfd, name), ok = 1;
    *count = 0;
    if (rc == CHECK_ERR) {
        checkProblem(p, "cannot read: %s", errno == EUCLEAN ? "not a regular file" : strerror(errno));
        ok = 0;
    }
    checkID prev = {0, 0};
    while (rc == CHECK_OK && ok && !rdAtEnd(&r)) {
        long long at = r.off + (long long)r.pos, nf, blen;
        char line[64];
        size_t len;
        checkID id;
        if (rdByte(&r) != '+' || !rdLine(&r, line, sizeof(line), &len) || !parseID(line, len, &id)) {
            checkProblem(p, "bad record at byte %lld: not '+<ms>-<seq>\\r\\n'", at);
            ok = 0;
        } else if (*count && cmpID(&id, &prev) <= 0) {
            checkProblem(p, "record %s at byte %lld: IDs must ascend", line, at);
            ok = 0;
        } else if (cmpID(&id, first) < 0 || (next && cmpID(&id, next) >= 0) || cmpID(&id, last) > 0) {
            checkProblem(p, "record %s at byte %lld: outside the segment (from its seg-first, below the next "
                         "segment's, at most last-id)", line, at);
            ok = 0;
        } else if (!rdLength(&r, '*', &nf) || nf < 2 || nf % 2) {
            checkProblem(p, "record %s at byte %lld: not an array of field-value pairs", line, at);
            ok = 0;
        } else {
            for (long long i = 0; ok && i < nf; i++)
                if (!rdLength(&r, '$', &blen) || !rdSkipBulk(&r, blen)) {
                    checkProblem(p, "record %s: bad bulk string %lld", line, i);
                    ok = 0;
                }
            prev = id;
            (*count)++;
        }
    }
    if (rc == CHECK_OK) rdClose(&r);
    sdsfree(p);
    return ok;
}

/* seg-first/<n>: 0 when missing or not an ID (reported). */
static int readSegFirst(int ffd, const char *fpath, long long n, checkID *id) {
    char name[32];
    ll2string(name, sizeof(name), n);
    int r = readIDFile(ffd, fpath, name, id);
    if (r == CHECK_MISSING) checkProblemAt(fpath, name, "missing: every segment of a stream has its first ID");
    return r == CHECK_OK;
}

/* The segments head..tail: seg-first files ascending, segment files valid.
 * *entries gets the number of entries. */
static int checkStreamSegments(int keyfd, const char *path, long long head, long long tail, const checkID *last,
                               long long *entries) {
    *entries = 0;
    long long nfirst = checkNumberedDir(keyfd, path, "seg-first", head, tail);
    checkNumberedDir(keyfd, path, "segments", head, tail);
    if (head > tail) return 1;
    sds fpath = pathJoin(path, "seg-first"), spath = pathJoin(path, "segments");
    int ok = 1;
    if (nfirst + SEG_MISSING_NAMED < tail - head + 1) {
        checkProblem(fpath, "%lld files for segments %lld..%lld: every segment has its seg-first", nfirst, head, tail);
        ok = 0;
    }
    int ffd = openDirAt(keyfd, "seg-first"), sfd = openDirAt(keyfd, "segments");
    if (ok && ffd < 0) ok = 0;
    checkID cur, next;
    char name[32];
    if (ok) ok = readSegFirst(ffd, fpath, head, &cur);
    for (long long n = head; ok && n <= tail; n++) {
        int has_next = n < tail;
        if (has_next) {
            if (!readSegFirst(ffd, fpath, n + 1, &next)) {
                ok = 0;
                break;
            }
            ll2string(name, sizeof(name), n + 1);
            if (cmpID(&next, &cur) <= 0) {
                sds p = pathJoin(fpath, name);
                checkProblem(p, "not above the previous segment's first ID");
                sdsfree(p);
                ok = 0;
                break;
            }
        }
        long long count = 0;
        if (sfd >= 0) ok = checkStreamSegment(sfd, spath, n, &cur, has_next ? &next : NULL, last, &count);
        *entries += count;
        cur = next;
        checkProgress(0);
    }
    if (ffd >= 0) close(ffd);
    if (sfd >= 0) close(sfd);
    sdsfree(fpath);
    sdsfree(spath);
    return ok;
}

/* ---- consumer groups ---- */

/* A pending file "<delivery ms> <delivery count>\n<consumer>": the
 * consumer (NULL when the file is not one). */
static sds readPending(int pendfd, const char *id, const char *p) {
    sds v;
    int r = readSmallFile(pendfd, id, (size_t)1 << 32, &v);
    if (r != CHECK_OK) {
        checkProblem(p, "cannot read: %s", r == CHECK_ERR && errno == EUCLEAN ? "not a regular file" : strerror(errno));
        return NULL;
    }
    char *nl = memchr(v, '\n', sdslen(v)), *sp = nl ? memchr(v, ' ', (size_t)(nl - v)) : NULL;
    long long t, c;
    sds consumer = NULL;
    if (sp && string2ll(v, (size_t)(sp - v), &t) && string2ll(sp + 1, (size_t)(nl - sp - 1), &c))
        consumer = sdsnewlen(nl + 1, sdslen(v) - (size_t)(nl + 1 - v));
    else checkProblem(p, "not a pending entry '<delivery ms> <count>\\n<consumer>'");
    sdsfree(v);
    return consumer;
}

static int isCanonicalID(const char *e, checkID *id) {
    if (!parseID(e, strlen(e), id)) return 0;
    sds back = formatID(id);
    int same = !strcmp(back, e);
    sdsfree(back);
    return same;
}

/* Give consumer (dirfd consumersfd, encoded cf) a reference to pending id;
 * the consumer is made when missing (seen at the delivery time). */
static int addConsumerRef(int consumersfd, const char *cf, int hashed, const sds consumer, const char *id) {
    if (entryType(consumersfd, cf) == DT_UNKNOWN) {
        if (hashed) {
            if (mkdirat(consumersfd, ".names", 0755) < 0 && errno != EEXIST) return -1;
            int nfd = openDirAt(consumersfd, ".names");
            int r = nfd < 0 ? -1 : writeFileAt(nfd, cf, consumer, sdslen(consumer));
            if (nfd >= 0) close(nfd);
            if (r < 0) return -1;
        }
        if (mkdirat(consumersfd, cf, 0755) < 0) return -1;
    }
    int cfd = openDirAt(consumersfd, cf);
    if (cfd < 0) return -1;
    int r = 0;
    if (entryType(cfd, "seen-time") == DT_UNKNOWN) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", chk.now_ms);
        r = writeFileAt(cfd, "seen-time", buf, (size_t)n);
    }
    if (r == 0 && mkdirat(cfd, "pending", 0755) < 0 && errno != EEXIST) r = -1;
    int pfd = r == 0 ? openDirAt(cfd, "pending") : -1;
    if (pfd < 0) r = -1;
    else r = writeFileAt(pfd, id, "", 0);
    if (pfd >= 0) close(pfd);
    close(cfd);
    return r;
}

/* The group's PEL: each entry parses and its consumer holds a reference. */
static void checkGroupPending(int gfd, const char *gpath) {
    sds ppath = pathJoin(gpath, "pending");
    dirIter it;
    if (dirOpen(&it, gfd, "pending") < 0) {
        if (errno != ENOENT) checkProblem(ppath, "cannot open: %s", strerror(errno));
        sdsfree(ppath);
        return;
    }
    int consumersfd = openDirAt(gfd, "consumers");
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        sds p = pathJoin(ppath, e);
        checkID id;
        sds consumer = NULL;
        if (type != DT_REG || !isCanonicalID(e, &id)) {
            checkProblem(p, "stray entry: not a pending entry");
            if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
        } else if ((consumer = readPending(it.fd, e, p)) == NULL) {
            if (chk.repair) moveToLostFound(it.fd, e, p, "damaged pending entry");
        } else {
            int hashed;
            sds cf = keynameEncode(consumer, sdslen(consumer), &hashed);
            sds ref = sdscatprintf(pathJoin(gpath, "consumers"), "/%s/pending/%s", cf, e);
            int cfd = consumersfd >= 0 ? openDirAt(consumersfd, cf) : -1;
            int pfd = cfd >= 0 ? openDirAt(cfd, "pending") : -1;
            if (pfd < 0 || entryType(pfd, e) != DT_REG) {
                checkProblem(ref, "missing: the reference of pending entry %s to its consumer", p);
                if (chk.repair && consumersfd < 0 && (mkdirat(gfd, "consumers", 0755) == 0 || errno == EEXIST))
                    consumersfd = openDirAt(gfd, "consumers");
                if (chk.repair) {
                    if (consumersfd >= 0 && addConsumerRef(consumersfd, cf, hashed, consumer, e) == 0)
                        checkRepaired(ref, "reference added");
                    else checkProblem(ref, "cannot add: %s", strerror(errno));
                }
            }
            if (pfd >= 0) close(pfd);
            if (cfd >= 0) close(cfd);
            sdsfree(ref);
            sdsfree(cf);
        }
        sdsfree(consumer);
        sdsfree(p);
    }
    dirClose(&it);
    if (consumersfd >= 0) close(consumersfd);
    sdsfree(ppath);
}

/* Does the group's pending/<id> name this consumer? */
static int pendingNames(int gfd, const char *id, const sds consumer) {
    int pfd = openDirAt(gfd, "pending");
    sds v;
    int r = pfd >= 0 ? readSmallFile(pfd, id, (size_t)1 << 32, &v) : CHECK_MISSING;
    if (pfd >= 0) close(pfd);
    if (r != CHECK_OK) return 0;
    char *nl = memchr(v, '\n', sdslen(v));
    int same = nl && sdslen(v) - (size_t)(nl + 1 - v) == sdslen(consumer) && !memcmp(nl + 1, consumer, sdslen(consumer));
    sdsfree(v);
    return same;
}

/* One consumer: seen-time, and references only to entries it owns. */
static void checkConsumer(int gfd, int cfd, const char *cpath, const sds consumer) {
    long long seen;
    if (readNumberFile(cfd, cpath, "seen-time", &seen) == CHECK_MISSING) {
        sds p = pathJoin(cpath, "seen-time");
        checkProblem(p, "missing");
        if (chk.repair) {
            char buf[32];
            int n = snprintf(buf, sizeof(buf), "%lld", chk.now_ms);
            if (writeFileAt(cfd, "seen-time", buf, (size_t)n) == 0) checkRepaired(p, "set to now");
        }
        sdsfree(p);
    }
    dirIter it;
    const char *e;
    int type;
    if (dirOpen(&it, cfd, ".") < 0) return;
    while ((e = dirNext(&it, &type)) != NULL) {
        if (!strcmp(e, "seen-time") || (!strcmp(e, "pending") && type == DT_DIR)) continue;
        sds p = pathJoin(cpath, e);
        checkProblem(p, "stray entry: no part of a consumer");
        if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
        sdsfree(p);
    }
    dirClose(&it);
    sds ppath = pathJoin(cpath, "pending");
    if (dirOpen(&it, cfd, "pending") == 0) {
        while ((e = dirNext(&it, &type)) != NULL) {
            checkID id;
            sds p = pathJoin(ppath, e);
            if (type != DT_REG || !isCanonicalID(e, &id)) {
                checkProblem(p, "stray entry: not a reference to a pending entry");
                if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
            } else if (!pendingNames(gfd, e, consumer)) {
                checkProblem(p, "stale reference: the group's pending entry does not name this consumer");
                if (chk.repair) removeStale(it.fd, e, p, "stale reference");
            }
            sdsfree(p);
        }
        dirClose(&it);
    }
    sdsfree(ppath);
}

/* Entries of a directory of named sub-directories (groups/, consumers/):
 * fn for each one whose name is valid, the rest reported. */
typedef void subdirFn(int parentfd, int fd, const char *path, const sds name);
static void forEachNamedDir(int parentfd, const char *ns, const char *parentpath, const char *what, subdirFn *fn) {
    sds nspath = pathJoin(parentpath, ns);
    dirIter it;
    if (dirOpen(&it, parentfd, ns) < 0) {
        if (errno != ENOENT) checkProblem(nspath, "cannot open: %s", strerror(errno));
        sdsfree(nspath);
        return;
    }
    int namesfd = openDirAt(it.fd, ".names");
    const char *e;
    int type;
    while ((e = dirNext(&it, &type)) != NULL) {
        if (!strcmp(e, ".names") && type == DT_DIR) continue;
        sds p = pathJoin(nspath, e);
        sds name = NULL;
        if (e[0] == '.' || type != DT_DIR) checkProblem(p, "stray entry: not a %s", what);
        else name = resolveName(namesfd, e, e, p, what);
        int fd = name ? openDirAt(it.fd, e) : -1;
        if (fd >= 0) {
            fn(parentfd, fd, p, name);
            close(fd);
        } else if (chk.repair) {
            moveToLostFound(it.fd, e, p, "not a valid " "entry");
        }
        sdsfree(name);
        sdsfree(p);
    }
    checkNamesDir(it.fd, nspath);
    if (namesfd >= 0) close(namesfd);
    dirClose(&it);
    sdsfree(nspath);
}

static int consumer_gfd; /* the group whose consumers forEachNamedDir visits */

static void visitConsumer(int parentfd, int fd, const char *path, const sds name) {
    (void)parentfd;
    checkConsumer(consumer_gfd, fd, path, name);
}

static void visitGroup(int parentfd, int gfd, const char *gpath, const sds name) {
    (void)parentfd;
    (void)name;
    checkID id;
    long long entries_read;
    if (readIDFile(gfd, gpath, "last-id", &id) == CHECK_MISSING)
        checkProblemAt(gpath, "last-id", "missing: a consumer group's last delivered ID");
    readNumberFile(gfd, gpath, "entries-read", &entries_read);
    dirIter it;
    const char *e;
    int type;
    if (dirOpen(&it, gfd, ".") == 0) {
        while ((e = dirNext(&it, &type)) != NULL) {
            if (!strcmp(e, "last-id") || !strcmp(e, "entries-read")) continue;
            if ((!strcmp(e, "pending") || !strcmp(e, "consumers")) && type == DT_DIR) continue;
            sds p = pathJoin(gpath, e);
            checkProblem(p, "stray entry: no part of a consumer group");
            if (chk.repair) moveToLostFound(it.fd, e, p, "stray entry");
            sdsfree(p);
        }
        dirClose(&it);
    }
    checkGroupPending(gfd, gpath);
    consumer_gfd = gfd;
    forEachNamedDir(gfd, "consumers", gpath, "consumer", visitConsumer);
}

int checkStream(int keyfd, const char *path) {
    long long head, tail, removed;
    checkID last, maxdel;
    if (!readNumberOrReport(keyfd, path, "head", &head) || !readNumberOrReport(keyfd, path, "tail", &tail)) return 0;
    int lr = readIDFile(keyfd, path, "last-id", &last);
    if (lr != CHECK_OK) {
        if (lr == CHECK_MISSING) checkProblemAt(path, "last-id", "missing");
        return 0;
    }
    if (readIDFile(keyfd, path, "max-deleted-id", &maxdel) == CHECK_ERR) return 0;
    if (readNumberFile(keyfd, path, "entries-removed", &removed) == CHECK_OK && removed < 0) {
        checkProblemAt(path, "entries-removed", "negative");
        return 0;
    }
    if (head < 0 || tail < -1 || head > tail + 1) {
        checkProblem(path, "head %lld and tail %lld: 0 <= head <= tail + 1 expected", head, tail);
        return 0;
    }
    long long entries;
    if (!checkStreamSegments(keyfd, path, head, tail, &last, &entries)) return 0;
    checkCountFile(keyfd, path, entries, "entries");
    forEachNamedDir(keyfd, "groups", path, "consumer group", visitGroup);
    return 1;
}
