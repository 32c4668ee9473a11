/* hyperloglog.c - PFADD, PFCOUNT and PFMERGE (and PFSELFTEST, PFDEBUG).
 *
 * A HyperLogLog is an ordinary string key whose value is in Redis's HLL
 * format, byte for byte: GET/SET, DUMP/RESTORE and replication move HLLs
 * between dredis and Redis, and PFCOUNT gives Redis's estimates. The format
 * and the algorithm are facts this file reproduces; the code is dredis's.
 * Each command reads the whole value (at most 12 KB) through the store,
 * works on it in memory and writes it back.
 *
 * The value
 * ---------
 *   bytes 0-3    "HYLL"
 *   byte 4       encoding: 0 dense, 1 sparse (nothing else is valid)
 *   bytes 5-7    zero
 *   bytes 8-15   the last cardinality computed, little endian; the top bit
 *                of byte 15 set means it is stale (the registers changed)
 *   bytes 16-    the 16384 registers, dense or sparse
 *
 * An element is hashed with MurmurHash64A (seed 0xadc83b19). The low 14
 * bits of the hash choose a register; the register keeps the largest
 * "rank" seen there: the position (1-based) of the lowest 1 bit in the
 * remaining 50 bits, 51 when they are all zero.
 *
 * Dense: 16384 registers of 6 bits in 12288 bytes, register i in bits
 * 6i..6i+5 counted from the least significant bit of byte 0 upwards.
 *
 * Sparse: opcodes covering the registers in order, exactly 16384 in all:
 *   00nnnnnn            ZERO   n+1 registers (1..64) at 0
 *   01nnnnnn nnnnnnnn   XZERO  n+1 registers (1..16384) at 0
 *   1vvvvvnn            VAL    n+1 registers (1..4) at v+1 (1..32)
 * A new HLL is sparse (one XZERO). It turns dense when a register needs a
 * rank over 32 (whatever the length), or when an edit would make the value
 * longer than hll-sparse-max-bytes (server.hll_sparse_max_bytes, 3000
 * unless CONFIG SET or DREDIS_HLL_SPARSE_MAX_BYTES says otherwise; with 0
 * the first register set turns a new HLL dense). Only an edit that
 * lengthens the value is checked, so a value already longer (restored, or
 * made before the setting was lowered) stays sparse until one does, as in
 * Redis. Where an edit leaves a choice of opcodes, the choice is Redis's,
 * so that the bytes stay the same as Redis's after any sequence of PFADDs.
 *
 * The estimate is Otmar Ertl's improved raw estimator ("New cardinality
 * estimation algorithms for HyperLogLog sketches", arXiv:1702.01284) over
 * the histogram of register values, as Redis computes it. */
#include "server.h"
#include <string.h>
#include <errno.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#define HLL_HEADER_LEN 16
#define HLL_INDEX_BITS 14
#define HLL_REGISTERS (1 << HLL_INDEX_BITS)
#define HLL_RANK_BITS (64 - HLL_INDEX_BITS) /* a rank is 1..HLL_RANK_BITS+1 */
#define HLL_DENSE_LEN (HLL_HEADER_LEN + HLL_REGISTERS * 6 / 8)

/* byte 4 of the value */
#define HLL_ENC_DENSE 0
#define HLL_ENC_SPARSE 1

/* sparse opcodes */
#define OP_ZERO 0
#define OP_XZERO 1
#define OP_VAL 2
#define ZERO_MAX_SPAN 64
#define XZERO_MAX_SPAN HLL_REGISTERS
#define VAL_MAX_SPAN 4
#define VAL_MAX_RANK 32

#define HLL_MURMUR_SEED 0xadc83b19ULL

static const char *err_corrupt = "INVALIDOBJ Corrupted HLL object detected";
static const char *err_not_hll = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/* ------------------------------------------------------------------------ */
/* The value in memory                                                       */
/* ------------------------------------------------------------------------ */

/* A value being read or changed: len bytes, always followed by a zero byte
 * (a sparse opcode cut short by the end reads it, as Redis reads its
 * string's terminator), with room for cap bytes in all. */
typedef struct hllValue {
    uint8_t *b;
    size_t len, cap;
} hllValue;

static void hllValueInit(hllValue *h, const void *bytes, size_t len) {
    h->cap = len + 1;
    h->b = zmalloc(h->cap);
    memcpy(h->b, bytes, len);
    h->b[len] = 0;
    h->len = len;
}

static void hllValueFree(hllValue *h) {
    zfree(h->b);
    h->b = NULL;
    h->len = h->cap = 0;
}

/* Room for extra more bytes (and the terminator) after len. */
static void hllValueGrow(hllValue *h, size_t extra) {
    size_t need = h->len + extra + 1;
    if (need <= h->cap) return;
    h->b = zrealloc(h->b, need);
    memset(h->b + h->cap, 0, need - h->cap);
    h->cap = need;
}

static void hllValueSetLen(hllValue *h, size_t len) {
    h->len = len;
    h->b[len] = 0;
}

static int hllEncoding(const hllValue *h) { return h->b[4]; }
static uint8_t *hllRegisters(hllValue *h) { return h->b + HLL_HEADER_LEN; }

static void hllMarkStale(uint8_t *value) { value[15] |= 0x80; }
static int hllCacheIsValid(const uint8_t *value) { return (value[15] & 0x80) == 0; }

static uint64_t hllCachedCount(const uint8_t *value) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | value[8 + i];
    return n;
}

static void hllSetCachedCount(uint8_t *value, uint64_t n) {
    for (int i = 0; i < 8; i++) value[8 + i] = (uint8_t)(n >> (8 * i));
}

/* Whether bytes are an HLL value this file can work on: the header, a
 * known encoding, and a dense value of exactly the dense length. (A sparse
 * value's opcodes are checked as they are read.) */
static int isHllValue(const uint8_t *v, size_t len) {
    if (len < HLL_HEADER_LEN || memcmp(v, "HYLL", 4) != 0) return 0;
    if (v[4] != HLL_ENC_DENSE && v[4] != HLL_ENC_SPARSE) return 0;
    return v[4] != HLL_ENC_DENSE || len == HLL_DENSE_LEN;
}

/* ------------------------------------------------------------------------ */
/* Elements: hash, register, rank                                            */
/* ------------------------------------------------------------------------ */

static uint64_t loadLE64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* MurmurHash64A (Austin Appleby's MurmurHash2, 64-bit), reading the 8-byte
 * blocks as little-endian numbers whatever the machine's byte order, as
 * Redis does. */
static uint64_t murmurHash64A(const uint8_t *data, size_t len, uint64_t seed) {
    const uint64_t mul = 0xc6a4a7935bd1e995ULL;
    const int shift = 47;
    uint64_t h = seed ^ ((uint64_t)(int)len * mul);
    size_t blocks = len / 8;

    for (size_t i = 0; i < blocks; i++) {
        uint64_t k = loadLE64(data + 8 * i);
        k *= mul;
        k ^= k >> shift;
        k *= mul;
        h ^= k;
        h *= mul;
    }
    const uint8_t *tail = data + 8 * blocks;
    size_t rest = len & 7;
    if (rest) {
        for (size_t i = rest; i > 0; i--) h ^= (uint64_t)tail[i - 1] << (8 * (i - 1));
        h *= mul;
    }
    h ^= h >> shift;
    h *= mul;
    h ^= h >> shift;
    return h;
}

/* The register an element falls in (*reg) and its rank there. */
static int elementRank(const uint8_t *ele, size_t len, long *reg) {
    uint64_t hash = murmurHash64A(ele, len, HLL_MURMUR_SEED);
    *reg = (long)(hash & (HLL_REGISTERS - 1));
    uint64_t rest = (hash >> HLL_INDEX_BITS) | (1ULL << HLL_RANK_BITS); /* stops the count at 51 */
    int rank = 1;
    while ((rest & 1) == 0) {
        rest >>= 1;
        rank++;
    }
    return rank;
}

/* ------------------------------------------------------------------------ */
/* Dense registers                                                           */
/* ------------------------------------------------------------------------ */

static int denseGet(const uint8_t *regs, long i) {
    unsigned long bit = (unsigned long)i * 6, byte = bit / 8, shift = bit % 8;
    unsigned v = regs[byte] >> shift;
    if (shift > 2) v |= (unsigned)regs[byte + 1] << (8 - shift);
    return (int)(v & 63);
}

static void densePut(uint8_t *regs, long i, int rank) {
    unsigned long bit = (unsigned long)i * 6, byte = bit / 8, shift = bit % 8;
    unsigned v = (unsigned)rank & 63;
    regs[byte] = (uint8_t)((regs[byte] & ~(63u << shift)) | (v << shift));
    if (shift > 2)
        regs[byte + 1] = (uint8_t)((regs[byte + 1] & ~(63u >> (8 - shift))) | (v >> (8 - shift)));
}

/* Raise register i to rank: 1 when it was lower, 0 when it stays. */
static int denseRaise(uint8_t *regs, long i, int rank) {
    if (denseGet(regs, i) >= rank) return 0;
    densePut(regs, i, rank);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Sparse opcodes                                                            */
/* ------------------------------------------------------------------------ */

typedef struct sparseOp {
    int kind;  /* OP_ZERO, OP_XZERO, OP_VAL */
    long span; /* registers covered */
    int rank;  /* their value (0 for the zero runs) */
    int size;  /* bytes: 2 for XZERO, else 1 */
} sparseOp;

/* Decode the opcode at p; an XZERO whose second byte is past the end reads
 * the zero byte that follows every value. */
static void sparseDecode(const uint8_t *p, sparseOp *op) {
    uint8_t b = p[0];
    if (b & 0x80) {
        *op = (sparseOp){OP_VAL, (b & 3) + 1, ((b >> 2) & 31) + 1, 1};
    } else if (b & 0x40) {
        *op = (sparseOp){OP_XZERO, (((long)(b & 63) << 8) | p[1]) + 1, 0, 2};
    } else {
        *op = (sparseOp){OP_ZERO, (b & 63) + 1, 0, 1};
    }
}

static int isValOp(uint8_t b) { return (b & 0x80) != 0; }

/* Encoders: each writes one opcode at p and returns its size. */
static int putVal(uint8_t *p, int rank, long span) {
    p[0] = (uint8_t)(0x80 | ((rank - 1) << 2) | (int)(span - 1));
    return 1;
}

/* A run of zeros: ZERO up to 64 registers, XZERO beyond. */
static int putZeros(uint8_t *p, long span) {
    if (span <= ZERO_MAX_SPAN) {
        p[0] = (uint8_t)(span - 1);
        return 1;
    }
    p[0] = (uint8_t)(0x40 | ((span - 1) >> 8));
    p[1] = (uint8_t)((span - 1) & 0xff);
    return 2;
}

/* Call visit(first register, op, ctx) for each opcode of a sparse value in
 * order. C_ERR when the opcodes cover more or fewer than 16384 registers
 * (the walk stops at the first that would go past the end). */
typedef void sparseVisitor(long first, const sparseOp *op, void *ctx);

static int sparseWalk(const uint8_t *ops, const uint8_t *end, sparseVisitor *visit, void *ctx) {
    long reg = 0;
    sparseOp op;
    for (const uint8_t *p = ops; p < end; p += op.size) {
        sparseDecode(p, &op);
        if (reg + op.span > HLL_REGISTERS) return C_ERR;
        if (visit) visit(reg, &op, ctx);
        reg += op.span;
    }
    return reg == HLL_REGISTERS ? C_OK : C_ERR;
}

static const uint8_t *sparseEnd(const hllValue *h) { return h->b + h->len; }

/* The empty HLL: sparse, one XZERO per 16384 registers, count 0 cached. */
static void hllValueNew(hllValue *h) {
    uint8_t v[HLL_HEADER_LEN + 2] = {'H', 'Y', 'L', 'L', HLL_ENC_SPARSE};
    putZeros(v + HLL_HEADER_LEN, XZERO_MAX_SPAN);
    hllValueInit(h, v, sizeof(v));
}

/* ------------------------------------------------------------------------ */
/* Sparse to dense                                                           */
/* ------------------------------------------------------------------------ */

static void copyRunToDense(long first, const sparseOp *op, void *dense) {
    if (op->kind != OP_VAL) return;
    for (long i = first; i < first + op->span; i++) densePut(dense, i, op->rank);
}

/* Rewrite a sparse value as dense (the header, cached count included, is
 * kept); a dense one is left as it is. C_ERR, unchanged, when corrupted. */
static int hllMakeDense(hllValue *h) {
    if (hllEncoding(h) == HLL_ENC_DENSE) return C_OK;
    hllValue dense = {zcalloc(HLL_DENSE_LEN + 1), HLL_DENSE_LEN, HLL_DENSE_LEN + 1};
    memcpy(dense.b, h->b, HLL_HEADER_LEN);
    dense.b[4] = HLL_ENC_DENSE;
    if (sparseWalk(hllRegisters(h), sparseEnd(h), copyRunToDense, hllRegisters(&dense)) != C_OK) {
        hllValueFree(&dense);
        return C_ERR;
    }
    hllValueFree(h);
    *h = dense;
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* Raising a sparse register                                                 */
/* ------------------------------------------------------------------------ */

/* Where register reg is in a sparse value: the opcode covering it (at
 * offset at, its first register first) and the one before (prev, -1 when
 * it is the first). C_ERR when the opcodes end before reg. */
typedef struct sparseSpot {
    size_t at;
    long prev;
    long first;
    sparseOp op;
} sparseSpot;

static int sparseLocate(const hllValue *h, long reg, sparseSpot *s) {
    size_t at = HLL_HEADER_LEN;
    long first = 0, prev = -1;
    while (at < h->len) {
        sparseDecode(h->b + at, &s->op);
        if (reg < first + s->op.span) {
            s->at = at;
            s->prev = prev;
            s->first = first;
            return C_OK;
        }
        prev = (long)at;
        at += (size_t)s->op.size;
        first += s->op.span;
    }
    return C_ERR;
}

/* The opcodes that replace the one at s once register reg is at rank:
 * the part before reg, reg alone as a VAL, the part after. Returns the
 * number of bytes written to out (at most 5). */
static int sparseSplit(const sparseSpot *s, long reg, int rank, uint8_t *out) {
    long before = reg - s->first, after = s->first + s->op.span - 1 - reg;
    int n = 0;
    if (s->op.kind == OP_VAL) {
        if (before) n += putVal(out + n, s->op.rank, before);
        n += putVal(out + n, rank, 1);
        if (after) n += putVal(out + n, s->op.rank, after);
    } else {
        if (before) n += putZeros(out + n, before);
        n += putVal(out + n, rank, 1);
        if (after) n += putZeros(out + n, after);
    }
    return n;
}

/* After an edit, join neighbouring VALs of the same rank whose spans fit
 * in one VAL: Redis looks at five opcodes from the one before the edit
 * (retrying at the same place after each join), no further, so the same
 * is done here to leave the same bytes. */
static void sparseJoinVals(hllValue *h, size_t from) {
    uint8_t *p = h->b + from, *end = h->b + h->len;
    sparseOp a, b;
    for (int looks = 5; p < end && looks > 0; looks--) {
        sparseDecode(p, &a);
        if (a.kind != OP_VAL) {
            p += a.size;
            continue;
        }
        if (p + 1 < end && isValOp(p[1])) {
            sparseDecode(p + 1, &b);
            if (b.rank == a.rank && a.span + b.span <= VAL_MAX_SPAN) {
                putVal(p + 1, a.rank, a.span + b.span);
                memmove(p, p + 1, (size_t)(end - p)); /* with the terminator */
                hllValueSetLen(h, h->len - 1);
                end--;
                continue;
            }
        }
        p++;
    }
}

/* Make the value dense, then raise register reg to rank there. */
static int promoteAndRaise(hllValue *h, long reg, int rank) {
    if (hllMakeDense(h) != C_OK) return -1;
    return denseRaise(hllRegisters(h), reg, rank);
}

/* Raise register reg of a sparse value to rank. 1 when it changed (the
 * value may have turned dense), 0 when it was already as high, -1 when
 * the value is corrupted. */
static int sparseRaise(hllValue *h, long reg, int rank) {
    if (rank > VAL_MAX_RANK) return promoteAndRaise(h, reg, rank);
    hllValueGrow(h, 3); /* the most an edit adds: XZERO -> XZERO VAL XZERO */

    sparseSpot s;
    if (sparseLocate(h, reg, &s) != C_OK) return -1;
    if (s.op.kind == OP_VAL && s.op.rank >= rank) return 0;

    if (s.op.span == 1 && s.op.kind != OP_XZERO) {
        putVal(h->b + s.at, rank, 1); /* a register of its own: same size */
    } else {
        uint8_t seq[5];
        int seqlen = sparseSplit(&s, reg, rank, seq);
        long grow = seqlen - s.op.size;
        if (grow > 0 && h->len + (size_t)grow > (size_t)server.hll_sparse_max_bytes)
            return promoteAndRaise(h, reg, rank);
        size_t next = s.at + (size_t)s.op.size;
        if (grow && next < h->len) memmove(h->b + next + grow, h->b + next, h->len - next);
        hllValueSetLen(h, (size_t)((long)h->len + grow));
        memcpy(h->b + s.at, seq, (size_t)seqlen);
    }
    sparseJoinVals(h, s.prev >= 0 ? (size_t)s.prev : HLL_HEADER_LEN);
    hllMarkStale(h->b);
    return 1;
}

/* Add one element: 1 when a register changed, 0 when not, -1 when the
 * value is corrupted. */
static int hllAddElement(hllValue *h, const uint8_t *ele, size_t len) {
    long reg;
    int rank = elementRank(ele, len, &reg);
    if (hllEncoding(h) == HLL_ENC_DENSE) return denseRaise(hllRegisters(h), reg, rank);
    return sparseRaise(h, reg, rank);
}

/* ------------------------------------------------------------------------ */
/* Union of registers (PFCOUNT of several keys, PFMERGE)                     */
/* ------------------------------------------------------------------------ */

static void maxRunInto(long first, const sparseOp *op, void *max) {
    uint8_t *m = max;
    if (op->kind != OP_VAL) return;
    for (long i = first; i < first + op->span; i++)
        if (m[i] < op->rank) m[i] = (uint8_t)op->rank;
}

/* max[i] = the larger of max[i] and the value's register i, for each of
 * the 16384 registers. C_ERR when the value is corrupted. */
static int hllMaxInto(uint8_t *max, hllValue *h) {
    if (hllEncoding(h) == HLL_ENC_SPARSE) return sparseWalk(hllRegisters(h), sparseEnd(h), maxRunInto, max);
    const uint8_t *regs = hllRegisters(h);
    for (long i = 0; i < HLL_REGISTERS; i++) {
        int v = denseGet(regs, i);
        if (max[i] < v) max[i] = (uint8_t)v;
    }
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* The estimate                                                              */
/* ------------------------------------------------------------------------ */

/* How many registers hold each value (0..51, room for 64) */
typedef struct rankHistogram {
    int n[64];
} rankHistogram;

static void countRun(long first, const sparseOp *op, void *hist) {
    ((rankHistogram *)hist)->n[op->rank] += (int)op->span;
}

/* Ertl's sigma(x) = x + sum over k >= 1 of x^(2^k) * 2^(k-1) */
static double ertlSigma(double x) {
    if (x == 1.) return INFINITY;
    double sum = x, weight = 1, prev;
    do {
        x *= x;
        prev = sum;
        sum += x * weight;
        weight += weight;
    } while (sum != prev);
    return sum;
}

/* Ertl's tau(x) = (1 - x - sum over k >= 1 of (1 - x^(2^-k))^2 * 2^-k) / 3 */
static double ertlTau(double x) {
    if (x == 0. || x == 1.) return 0.;
    double sum = 1 - x, weight = 1, prev;
    do {
        x = sqrt(x);
        prev = sum;
        weight *= 0.5;
        double d = 1 - x;
        sum -= d * d * weight;
    } while (sum != prev);
    return sum / 3;
}

static uint64_t estimateFromHistogram(const rankHistogram *h) {
    const double m = HLL_REGISTERS;
    const double alpha_inf = 0.721347520444481703680; /* 1 / (2 ln 2) */
    double z = m * ertlTau((m - h->n[HLL_RANK_BITS + 1]) / m);
    for (int rank = HLL_RANK_BITS; rank >= 1; rank--) {
        z += h->n[rank];
        z *= 0.5;
    }
    z += m * ertlSigma(h->n[0] / m);
    return (uint64_t)llround(alpha_inf * m * m / z);
}

/* The estimate of a value's registers; C_ERR when it is corrupted. */
static int hllEstimate(hllValue *h, uint64_t *out) {
    rankHistogram hist = {{0}};
    if (hllEncoding(h) == HLL_ENC_SPARSE) {
        if (sparseWalk(hllRegisters(h), sparseEnd(h), countRun, &hist) != C_OK) return C_ERR;
    } else {
        const uint8_t *regs = hllRegisters(h);
        for (long i = 0; i < HLL_REGISTERS; i++) hist.n[denseGet(regs, i)]++;
    }
    *out = estimateFromHistogram(&hist);
    return C_OK;
}

/* The estimate of registers held one per byte (a union) */
static uint64_t estimateFromBytes(const uint8_t *max) {
    rankHistogram hist = {{0}};
    for (long i = 0; i < HLL_REGISTERS; i++) hist.n[max[i]]++;
    return estimateFromHistogram(&hist);
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

/* Look key up and read its HLL into h. C_OK with *kp open (NULL and h
 * untouched when there is no key); C_ERR after replying (not a string,
 * not an HLL, an I/O error). */
static int readHllOrReply(client *c, sds key, int for_write, skey **kp, hllValue *h) {
    skey *k;
    *kp = NULL;
    int r = for_write ? lookupKeyWrite(c, key, OBJ_STRING, &k) : lookupKeyRead(c, key, OBJ_STRING, &k);
    if (r != C_OK) return C_ERR;
    if (!k) return C_OK;
    sds v;
    if ((r = storeReadFile(k, "value", &v)) != STORE_OK) {
        int err = r == STORE_NOTFOUND ? EUCLEAN : errno;
        storeCloseKey(k);
        addReplyErrorIO(c, err);
        return C_ERR;
    }
    if (!isHllValue((const uint8_t *)v, sdslen(v))) {
        sdsfree(v);
        storeCloseKey(k);
        addReplyError(c, err_not_hll);
        return C_ERR;
    }
    hllValueInit(h, v, sdslen(v));
    sdsfree(v);
    *kp = k;
    return C_OK;
}

/* Store h as key's value: into k when the key exists, else as a new string
 * key (with its "new" event). C_ERR after replying. */
static int writeHllOrReply(client *c, sds key, skey *k, hllValue *h) {
    if (k) {
        if (storeWriteFile(k, "value", (const char *)h->b, h->len) == STORE_OK) return C_OK;
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    skey *n;
    if (storeNewKey(c->db, key, sdslen(key), OBJ_STRING, &n) != STORE_OK) {
        addReplyErrorIO(c, errno);
        return C_ERR;
    }
    if (storeWriteFile(n, "value", (const char *)h->b, h->len) != STORE_OK) {
        discardNewKey(c, n);
        return C_ERR;
    }
    if (publishNewKey(c, n) != C_OK) return C_ERR;
    notifyKeyspaceEvent(NOTIFY_NEW, "new", key, c->db);
    return C_OK;
}

/* The union of the registers of keys argv[first..argc-1] into max (16384
 * bytes); missing keys are empty HLLs. *any_dense tells whether one was
 * dense. C_ERR after replying. */
static int unionOfKeysOrReply(client *c, int first, uint8_t *max, int *any_dense) {
    memset(max, 0, HLL_REGISTERS);
    if (any_dense) *any_dense = 0;
    for (int j = first; j < c->argc; j++) {
        skey *k;
        hllValue h;
        if (readHllOrReply(c, c->argv[j], 0, &k, &h) != C_OK) return C_ERR;
        if (!k) continue;
        storeCloseKey(k);
        if (any_dense && hllEncoding(&h) == HLL_ENC_DENSE) *any_dense = 1;
        int r = hllMaxInto(max, &h);
        hllValueFree(&h);
        if (r != C_OK) {
            addReplyError(c, err_corrupt);
            return C_ERR;
        }
    }
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                  */
/* ------------------------------------------------------------------------ */

/* PFADD key [element ...]: 1 when a register changed or the key was
 * created. On a corrupted value, what the elements before the damage
 * changed is kept and the error is the reply, as in Redis. */
static void pfaddCommand(client *c) {
    skey *k;
    hllValue h;
    if (readHllOrReply(c, c->argv[1], 1, &k, &h) != C_OK) return;
    int changed = 0, corrupt = 0;
    if (!k) {
        hllValueNew(&h);
        changed = 1;
    }
    for (int j = 2; j < c->argc && !corrupt; j++) {
        int r = hllAddElement(&h, (const uint8_t *)c->argv[j], sdslen(c->argv[j]));
        if (r < 0) corrupt = 1;
        else changed |= r;
    }
    if (changed && !corrupt) hllMarkStale(h.b);
    if (!changed || writeHllOrReply(c, c->argv[1], k, &h) == C_OK) {
        if (corrupt) {
            addReplyError(c, err_corrupt);
        } else {
            if (changed) notifyKeyspaceEvent(NOTIFY_STRING, "pfadd", c->argv[1], c->db);
            addReplyLongLong(c, changed);
        }
    }
    storeCloseKey(k);
    hllValueFree(&h);
}

/* PFCOUNT of one key: the cached count, or the estimate, which is then
 * cached in the value (a write, as in Redis, although PFCOUNT is a read
 * command). */
static void pfcountOneKey(client *c) {
    skey *k;
    hllValue h;
    if (readHllOrReply(c, c->argv[1], 0, &k, &h) != C_OK) return;
    if (!k) {
        addReplyLongLong(c, 0);
        return;
    }
    uint64_t count;
    if (hllCacheIsValid(h.b)) {
        count = hllCachedCount(h.b);
    } else if (hllEstimate(&h, &count) != C_OK) {
        addReplyError(c, err_corrupt);
        goto done;
    } else {
        hllSetCachedCount(h.b, count);
        if (writeHllOrReply(c, c->argv[1], k, &h) != C_OK) goto done;
    }
    addReplyLongLong(c, (long long)count);
done:
    storeCloseKey(k);
    hllValueFree(&h);
}

/* PFCOUNT key [key ...]: with several keys, the estimate of their union
 * (no cache is read or written). */
static void pfcountCommand(client *c) {
    if (c->argc == 2) {
        pfcountOneKey(c);
        return;
    }
    uint8_t max[HLL_REGISTERS];
    if (unionOfKeysOrReply(c, 1, max, NULL) != C_OK) return;
    addReplyLongLong(c, (long long)estimateFromBytes(max));
}

/* PFMERGE destkey [sourcekey ...]: destkey (itself the first source)
 * becomes the union. It stays sparse unless a source was dense or the
 * union does not fit, as in Redis. */
static void pfmergeCommand(client *c) {
    uint8_t max[HLL_REGISTERS];
    int any_dense;
    if (unionOfKeysOrReply(c, 1, max, &any_dense) != C_OK) return;

    skey *k;
    hllValue h;
    if (readHllOrReply(c, c->argv[1], 1, &k, &h) != C_OK) return;
    if (!k) hllValueNew(&h);
    if (any_dense && hllMakeDense(&h) != C_OK) {
        addReplyError(c, err_corrupt);
        goto done;
    }
    for (long i = 0; i < HLL_REGISTERS; i++) {
        if (!max[i]) continue;
        if (hllEncoding(&h) == HLL_ENC_DENSE) denseRaise(hllRegisters(&h), i, max[i]);
        else sparseRaise(&h, i, max[i]);
    }
    hllMarkStale(h.b);
    if (writeHllOrReply(c, c->argv[1], k, &h) == C_OK) {
        /* a "pfadd" event, as in Redis: a merge adds elements */
        notifyKeyspaceEvent(NOTIFY_STRING, "pfadd", c->argv[1], c->db);
        addReplyOK(c);
    }
done:
    storeCloseKey(k);
    hllValueFree(&h);
}

/* ------------------------------------------------------------------------ */
/* PFSELFTEST and PFDEBUG                                                    */
/* ------------------------------------------------------------------------ */

#define SELFTEST_REGISTER_CYCLES 1000
#define SELFTEST_ELEMENTS 10000000

/* xorshift64*: the self-test's numbers (any sequence does) */
static uint64_t selftestRandom(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dULL;
}

/* Dense registers keep the value put in each without touching their
 * neighbours. NULL, or the failure as Redis words it. */
static sds selftestRegisters(uint64_t *rnd) {
    static uint8_t regs[HLL_DENSE_LEN - HLL_HEADER_LEN];
    uint8_t want[HLL_REGISTERS];
    for (int cycle = 0; cycle < SELFTEST_REGISTER_CYCLES; cycle++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            want[i] = (uint8_t)(selftestRandom(rnd) & 63);
            densePut(regs, i, want[i]);
        }
        for (long i = 0; i < HLL_REGISTERS; i++) {
            int got = denseGet(regs, i);
            if (got != want[i])
                return sdscatprintf(sdsempty(), "TESTFAILED Register %ld should be %d but is %d", i, want[i], got);
        }
    }
    return NULL;
}

/* The same elements added to a sparse and a dense HLL: at each power of
 * ten the sparse one is still sparse (checked, as Redis does, while the
 * count is below half of hll-sparse-max-bytes), both estimate the same,
 * within six standard errors of the truth. NULL, or the failure. */
static sds selftestEstimates(uint64_t *rnd) {
    hllValue sparse, dense;
    hllValueNew(&sparse);
    hllValueNew(&dense);
    sds err = NULL;
    if (hllMakeDense(&dense) != C_OK) err = sdsnew("TESTFAILED dense/sparse disagree");
    const double relerr = 1.04 / sqrt(HLL_REGISTERS);
    uint64_t seed = selftestRandom(rnd);
    long long checkpoint = 1;
    for (long long j = 1; j <= SELFTEST_ELEMENTS && !err; j++) {
        uint64_t ele = (uint64_t)j ^ seed;
        hllAddElement(&dense, (const uint8_t *)&ele, sizeof(ele));
        if (hllAddElement(&sparse, (const uint8_t *)&ele, sizeof(ele)) < 0) err = sdsnew("TESTFAILED sparse corrupted");
        if (j != checkpoint || err) continue;
        uint64_t d = 0, s = 0;
        if (j < server.hll_sparse_max_bytes / 2 && hllEncoding(&sparse) != HLL_ENC_SPARSE) {
            err = sdsnew("TESTFAILED sparse encoding not used");
        } else if (hllEstimate(&dense, &d) != C_OK || hllEstimate(&sparse, &s) != C_OK || d != s) {
            err = sdsnew("TESTFAILED dense/sparse disagree");
        } else {
            long long abserr = llabs(checkpoint - (long long)d);
            long long maxerr = j == 10 ? 1 : (long long)ceil(relerr * 6 * (double)checkpoint);
            if (abserr > maxerr)
                err = sdscatprintf(sdsempty(), "TESTFAILED Too big error. card:%lld abserr:%lld", checkpoint, abserr);
        }
        checkpoint *= 10;
    }
    hllValueFree(&sparse);
    hllValueFree(&dense);
    return err;
}

/* PFSELFTEST: OK, or an ERR error saying TESTFAILED and what failed (Redis
 * gives its failures the ERR code). It runs for a while on the event loop,
 * as in Redis. */
static void pfselftestCommand(client *c) {
    uint64_t rnd = (uint64_t)ustime() | 1;
    sds err = selftestRegisters(&rnd);
    if (!err) err = selftestEstimates(&rnd);
    if (err) {
        addReplyErrorFormat(c, "ERR %s", err);
        sdsfree(err);
    } else {
        addReplyOK(c);
    }
}

/* PFDEBUG DECODE: the sparse opcodes as Redis prints them, "z:n" for ZERO,
 * "Z:n" for XZERO and "v:value,n" for VAL, separated by spaces. */
static sds sparseOpcodesText(const hllValue *h) {
    sds out = sdsempty();
    sparseOp op;
    for (const uint8_t *p = h->b + HLL_HEADER_LEN; p < sparseEnd(h); p += op.size) {
        sparseDecode(p, &op);
        if (sdslen(out)) out = sdscatlen(out, " ", 1);
        if (op.kind == OP_VAL) out = sdscatprintf(out, "v:%d,%ld", op.rank, op.span);
        else out = sdscatprintf(out, "%s:%ld", op.kind == OP_ZERO ? "z" : "Z", op.span);
    }
    return out;
}

/* PFDEBUG GETREG and TODENSE turn a sparse value dense and store it (a
 * change, propagated as in Redis). 1 when converted, 0 when already dense,
 * -1 after replying. */
static int pfdebugMakeDense(client *c, skey *k, hllValue *h) {
    if (hllEncoding(h) == HLL_ENC_DENSE) return 0;
    if (hllMakeDense(h) != C_OK) {
        addReplyError(c, err_corrupt);
        return -1;
    }
    return writeHllOrReply(c, c->argv[2], k, h) == C_OK ? 1 : -1;
}

static void pfdebugGetreg(client *c, skey *k, hllValue *h) {
    if (pfdebugMakeDense(c, k, h) < 0) return;
    const uint8_t *regs = hllRegisters(h);
    addReplyArrayLen(c, HLL_REGISTERS);
    for (long i = 0; i < HLL_REGISTERS; i++) addReplyLongLong(c, denseGet(regs, i));
}

static void pfdebugDecode(client *c, hllValue *h) {
    if (hllEncoding(h) != HLL_ENC_SPARSE) {
        addReplyError(c, "ERR HLL encoding is not sparse");
        return;
    }
    sds text = sparseOpcodesText(h);
    addReplyBulkSds(c, text);
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key: the key is looked up and
 * checked before the subcommand is, as in Redis. */
static void pfdebugCommand(client *c) {
    skey *k;
    hllValue h;
    if (readHllOrReply(c, c->argv[2], 1, &k, &h) != C_OK) return;
    if (!k) {
        addReplyError(c, "ERR The specified key does not exist");
        return;
    }
    const char *sub = c->argv[1];
    if (!strcasecmp(sub, "getreg")) {
        pfdebugGetreg(c, k, &h);
    } else if (!strcasecmp(sub, "decode")) {
        pfdebugDecode(c, &h);
    } else if (!strcasecmp(sub, "encoding")) {
        addReplyStatus(c, hllEncoding(&h) == HLL_ENC_DENSE ? "dense" : "sparse");
    } else if (!strcasecmp(sub, "todense")) {
        int r = pfdebugMakeDense(c, k, &h);
        if (r >= 0) addReplyLongLong(c, r);
    } else {
        addReplyErrorFormat(c, "ERR Unknown PFDEBUG subcommand '%s'", sub);
    }
    storeCloseKey(k);
    hllValueFree(&h);
}

redisCommand hllCommandTable[] = {
    {"pfadd", pfaddCommand, -2, "write denyoom fast", "write hyperloglog fast", 1, 1, 1, NULL},
    {"pfcount", pfcountCommand, -2, "readonly may_replicate", "read hyperloglog slow", 1, -1, 1, NULL},
    {"pfmerge", pfmergeCommand, -2, "write denyoom", "write hyperloglog slow", 1, -1, 1, NULL},
    {"pfselftest", pfselftestCommand, 1, "admin", "hyperloglog admin slow dangerous", 0, 0, 0, NULL},
    {"pfdebug", pfdebugCommand, 3, "write denyoom admin", "write hyperloglog admin slow dangerous", 2, 2, 1, NULL},
    {NULL}};
