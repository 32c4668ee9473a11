/* fuzz_rdb.c - the RDB value reader (rdb.c), which RESTORE (dump.c) and the
 * RDB file loader (rdb_load.c) decode every value with, on arbitrary bytes.
 *
 * The bytes are decoded as a DUMP payload whatever their footer says (the
 * CRC would stop nearly every mutation before the decoder; the decoder
 * must be safe without it), once through a sink that checks what it is
 * given (the order and types of the callbacks, scores that are numbers,
 * stream IDs strictly ascending and counts that agree) and once with no
 * callbacks, which must give the same result. Then the same bytes as the
 * pieces of an RDB file: a length, a string, a function library record,
 * an LZF block, and the aux fields at the head of a file. */
#include "fuzz.h"
#include "rdb.h"
#include "rdb_file.h"
#include "server.h"
#include "store.h"
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct seen {
    int objtype;             /* -1 before begin */
    long long members;
    long long entries;
    rdbStreamID last;        /* the last stream entry's ID */
    int meta;                /* streamMeta was called */
    rdbStreamMeta m;
    int group, consumer;     /* inside a group / a consumer */
} seen;

static int onBegin(void *ud, int objtype) {
    seen *s = ud;
    FUZZ_CHECK(s->objtype == -1, "begin twice");
    FUZZ_CHECK(objtype >= OBJ_STRING && objtype <= OBJ_STREAM, "objtype %d", objtype);
    s->objtype = objtype;
    return RDB_OK;
}

static void expectType(seen *s, int objtype, const char *what) {
    FUZZ_CHECK(s->objtype == objtype, "%s for a value of type %d", what, s->objtype);
}

static int onString(void *ud, const char *p, size_t len) {
    seen *s = ud;
    expectType(s, OBJ_STRING, "string");
    FUZZ_CHECK(s->members++ == 0 && (p || !len), "a second string, or no bytes");
    return RDB_OK;
}

static int onElement(void *ud, const char *p, size_t len) {
    seen *s = ud;
    FUZZ_CHECK(s->objtype == OBJ_LIST || s->objtype == OBJ_SET, "element for type %d", s->objtype);
    FUZZ_CHECK(p || !len, "an element without bytes");
    s->members++;
    return RDB_OK;
}

static int onField(void *ud, const char *f, size_t flen, const char *v, size_t vlen) {
    seen *s = ud;
    expectType(s, OBJ_HASH, "field");
    FUZZ_CHECK((f || !flen) && (v || !vlen), "a field without bytes");
    s->members++;
    return RDB_OK;
}

static int onScored(void *ud, const char *m, size_t mlen, double score) {
    seen *s = ud;
    expectType(s, OBJ_ZSET, "scored");
    FUZZ_CHECK(m || !mlen, "a member without bytes");
    FUZZ_CHECK(!isnan(score), "a NaN score");
    s->members++;
    return RDB_OK;
}

static int idCmp(const rdbStreamID *a, const rdbStreamID *b) {
    if (a->ms != b->ms) return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return 0;
}

static int onStreamEntry(void *ud, const rdbStreamID *id, size_t nfields, const char **fv, const size_t *fvlen) {
    seen *s = ud;
    expectType(s, OBJ_STREAM, "streamEntry");
    FUZZ_CHECK(!s->meta, "an entry after the meta");
    FUZZ_CHECK(nfields >= 1, "an entry without fields");
    FUZZ_CHECK(s->entries == 0 || idCmp(&s->last, id) < 0, "entry IDs not ascending");
    for (size_t i = 0; i < 2 * nfields; i++) FUZZ_CHECK(fv[i] || !fvlen[i], "a field without bytes");
    s->last = *id;
    s->entries++;
    return RDB_OK;
}

static int onStreamMeta(void *ud, const rdbStreamMeta *m) {
    seen *s = ud;
    expectType(s, OBJ_STREAM, "streamMeta");
    FUZZ_CHECK(!s->meta, "meta twice");
    FUZZ_CHECK(m->length == (uint64_t)s->entries, "length %llu for %lld entries", (unsigned long long)m->length,
               s->entries);
    FUZZ_CHECK(s->entries == 0 || idCmp(&s->last, &m->last_id) <= 0, "an entry above the last ID");
    s->meta = 1;
    s->m = *m;
    return RDB_OK;
}

static int onStreamGroup(void *ud, const char *name, size_t len, const rdbStreamID *last_id, long long entries_read) {
    seen *s = ud;
    FUZZ_CHECK(s->meta, "a group before the meta");
    FUZZ_CHECK(name || !len, "a group without a name");
    FUZZ_CHECK(entries_read >= RDB_STREAM_ENTRIES_READ_UNKNOWN, "entries_read %lld", entries_read);
    s->group = 1;
    s->consumer = 0;
    return RDB_OK;
}

static int onStreamConsumer(void *ud, const char *name, size_t len, long long seen_time) {
    seen *s = ud;
    FUZZ_CHECK(s->group, "a consumer outside a group");
    FUZZ_CHECK(name || !len, "a consumer without a name");
    s->consumer = 1;
    return RDB_OK;
}

static int onStreamPending(void *ud, const rdbStreamID *id, long long delivery_time, uint64_t delivery_count) {
    seen *s = ud;
    FUZZ_CHECK(s->consumer, "a pending entry outside a consumer");
    return RDB_OK;
}

static const rdbSink checking = {onBegin, onString, onElement, onField, onScored, onStreamEntry,
                                 onStreamMeta, onStreamGroup, onStreamConsumer, onStreamPending};

static void decodePayload(const uint8_t *data, size_t size) {
    seen s;
    memset(&s, 0, sizeof(s));
    s.objtype = -1;
    int type = -2, type2 = -2;
    int rc = rdbDecodeObject(data, size, &checking, &s, &type);
    FUZZ_CHECK(rc >= RDB_OK && rc <= RDB_ERR_UNSUPPORTED, "result %d", rc);
    FUZZ_CHECK(type == (size > 10 ? data[0] : -1), "type byte %d", type); /* after a 10-byte footer */
    if (rc == RDB_OK) {
        FUZZ_CHECK(s.objtype != -1, "a value without begin");
        if (s.objtype == OBJ_STREAM) FUZZ_CHECK(s.meta, "a stream without its meta");
        else FUZZ_CHECK(s.members > 0, "a value without members");
    }
    int rc2 = rdbDecodeObject(data, size, &(rdbSink){0}, NULL, &type2);
    FUZZ_CHECK(rc2 == rc && type2 == type, "%d with callbacks, %d without", rc, rc2);
    rdbVerifyPayload(data, size);
    if (size > 0) {
        size_t used = (size_t)-1;
        rc2 = rdbDecodeValue(data[0], data + 1, size - 1, &(rdbSink){0}, NULL, &used);
        if (rc2 == RDB_OK) FUZZ_CHECK(used <= size - 1, "used %zu of %zu", used, size - 1);
    }
}

static void decodeFilePieces(const uint8_t *data, size_t size) {
    uint64_t len;
    size_t used;
    if (rdbDecodeLen(data, size, &len, &used) == RDB_OK) FUZZ_CHECK(used >= 1 && used <= size, "used %zu", used);
    sds str = NULL;
    if (rdbDecodeString(data, size, &str, &used) == RDB_OK) {
        FUZZ_CHECK(used >= 1 && used <= size, "used %zu", used);
        sdsfree(str);
    }
    if (size > 0) {
        sds code = NULL;
        int type = data[0] & 1 ? RDB_OPCODE_FUNCTION2 : RDB_OPCODE_FUNCTION;
        if (rdbDecodeFunction(type, data + 1, size - 1, &code, &used) == RDB_OK) {
            FUZZ_CHECK(used <= size - 1, "used %zu", used);
            sdsfree(code);
        }
    }
    unsigned char out[1024];
    size_t n = rdbLzfDecompress(data, size, out, sizeof(out));
    FUZZ_CHECK(n <= sizeof(out), "LZF wrote %zu bytes", n);
}

/* The aux fields at the head of a file, read from a memory file. */
static void readAuxFields(const uint8_t *data, size_t size) {
    static int fd = -1;
    if (fd < 0) fd = memfd_create("fuzz-rdb", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0, "memfd_create");
    FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size, "writing the memory file");
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    rdbLoadInfo info;
    memset(&info, 0, sizeof(info));
    sds err = NULL;
    if (rdbReadAuxFields(path, &info, &err) == C_OK) {
        FUZZ_CHECK(info.version >= 1 && info.version <= RDB_VERSION, "version %d", info.version);
        FUZZ_CHECK(strlen(info.repl_id) <= 40, "repl_id too long");
    } else {
        FUZZ_CHECK(err != NULL, "an error without a reason");
    }
    sdsfree(err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    server.verbosity = LL_WARNING;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decodePayload(data, size);
    decodeFilePieces(data, size);
    readAuxFields(data, size);
    return 0;
}
