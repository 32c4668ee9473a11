"""HyperLogLog (PFADD, PFCOUNT, PFMERGE), compared with a real
redis-server 7.0: the estimates and the stored bytes (GET) must be
identical, sparse and dense, and HLLs move both ways with DUMP/RESTORE."""
import random

from dredis_test import Pair, RespError

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_HLL = RespError("WRONGTYPE Key is not a valid HyperLogLog string value.")
CORRUPT = RespError("INVALIDOBJ Corrupted HLL object detected")

SPARSE = 1
DENSE = 0


def encoding(p, key):
    v = p.run("GET", key)
    assert v[:4] == b"HYLL", v[:16]
    return v[4]


def add_batches(p, key, start, stop, batch=5000, prefix="e"):
    """PFADD start..stop-1 in batches; replies, PFCOUNT and bytes checked
    against Redis along the way."""
    for lo in range(start, stop, batch):
        els = ["%s%d" % (prefix, i) for i in range(lo, min(lo + batch, stop))]
        p.run("PFADD", key, *els)
        p.run("PFCOUNT", key)
    p.run("GET", key)


def test_pfadd_pfcount_small():
    with Pair() as p:
        p.run("PFADD", "h")               # creates an empty HLL: 1
        p.run("GET", "h")
        p.run("PFADD", "h")               # 0
        p.run("PFCOUNT", "h")
        p.run("GET", "h")                 # the cached cardinality written
        p.run("PFADD", "h", "a", "b", "c")
        p.run("GET", "h")
        p.run("PFADD", "h", "a", "b")     # no register changes: 0
        p.run("PFCOUNT", "h")
        p.run("GET", "h")
        p.run("PFCOUNT", "nokey")
        p.run("EXISTS", "nokey")
        p.run("PFADD", "bin", b"\x00", b"\xff" * 100, b"", b"x" * 1000, b"\x00\x01\x02\x03\x04\x05\x06\x07")
        p.run("PFCOUNT", "bin")
        p.run("GET", "bin")
        for n in (1, 2, 7, 8, 9, 15, 16, 17):  # every tail length of the hash
            p.run("PFADD", "lens", "y" * n)
        p.run("PFCOUNT", "lens")
        p.run("GET", "lens")
        p.run("STRLEN", "h")
        p.run("TYPE", "h")


def test_sparse_to_dense_and_large():
    with Pair() as p:
        # grows one element at a time through the sparse encoding's whole
        # range, checking the bytes as they change
        for i in range(0, 1200, 1):
            p.run("PFADD", "s", "m%d" % i)
            if i % 50 == 0:
                p.run("GET", "s")
                p.run("PFCOUNT", "s")
        assert encoding(p, "s") == SPARSE
        add_batches(p, "s", 1200, 6000, batch=200)
        assert encoding(p, "s") == DENSE
        # a few hundred thousand elements, in batches
        add_batches(p, "big", 0, 300000, batch=10000)
        assert encoding(p, "big") == DENSE
        p.run("PFCOUNT", "big")
        p.run("PFCOUNT", "big", "s")
        p.run("PFCOUNT", "s", "big", "nokey")
        # adding what is already there changes nothing
        p.run("PFADD", "big", *["e%d" % i for i in range(1000)])
        p.run("GET", "big")


def test_promotion_by_register_value():
    """A register over 32 cannot be sparse: found by search, the element
    whose hash has a long run of zeroes promotes a small HLL to dense."""
    with Pair() as p:
        p.run("PFADD", "x", "a", "b")
        assert encoding(p, "x") == SPARSE
        i = 0
        while encoding(p, "x") == SPARSE and i < 400000:
            p.run_many([("PFADD", "x", "z%d" % j) for j in range(i, i + 2000)])
            i += 2000
        p.run("GET", "x")
        p.run("PFCOUNT", "x")


def test_pfmerge():
    with Pair() as p:
        p.run("PFADD", "s1", *["a%d" % i for i in range(100)])
        p.run("PFADD", "s2", *["a%d" % i for i in range(50, 300)])
        add_batches(p, "d1", 0, 20000, batch=5000, prefix="a")
        add_batches(p, "d2", 10000, 40000, batch=10000, prefix="a")
        # sparse + sparse stays sparse
        p.run("PFMERGE", "m1", "s1", "s2")
        p.run("GET", "m1")
        p.run("PFCOUNT", "m1")
        assert encoding(p, "m1") == SPARSE
        # sparse + dense becomes dense
        p.run("PFMERGE", "m2", "s1", "d1")
        p.run("GET", "m2")
        p.run("PFCOUNT", "m2")
        p.run("PFMERGE", "m3", "d1", "d2", "s2", "nokey")
        p.run("GET", "m3")
        p.run("PFCOUNT", "m3")
        p.run("PFCOUNT", "d1", "d2", "s2")
        # into an existing destination (which is also a source)
        p.run("PFMERGE", "s1", "s2")
        p.run("GET", "s1")
        p.run("PFMERGE", "s2", "d2")
        p.run("GET", "s2")
        # many sparse sources that together exceed the sparse limit
        for k in range(8):
            p.run("PFADD", "p%d" % k, *["q%d_%d" % (k, i) for i in range(300)])
        p.run("PFMERGE", "pm", *["p%d" % k for k in range(8)])
        p.run("GET", "pm")
        p.run("PFCOUNT", "pm")
        p.run("PFCOUNT", *["p%d" % k for k in range(8)])
        # no sources but the destination
        p.run("PFMERGE", "fresh")
        p.run("GET", "fresh")
        p.run("PFMERGE", "fresh2", "nokey1", "nokey2")
        p.run("GET", "fresh2")
        p.run("PFCOUNT", "fresh2")
        # the destination's TTL is kept
        p.run("PFADD", "ttl", "a")
        p.run("EXPIRE", "ttl", "1000")
        p.run("PFMERGE", "ttl", "s1")
        p.run("TTL", "ttl")
        p.run("PFADD", "ttl", "zz")
        p.run("PFCOUNT", "ttl")
        p.run("TTL", "ttl")


def test_errors():
    with Pair() as p:
        p.run("SET", "str", "hello")
        p.run("SET", "int", "12345")
        p.run("SET", "short", "HYLL")
        p.run("SET", "badenc", b"HYLL\x02" + b"\x00" * 11 + b"\x40\x00")
        p.run("SET", "baddense", b"HYLL\x00" + b"\x00" * 20)
        p.run("RPUSH", "list", "a")
        for key in ("str", "int", "short", "badenc", "baddense"):
            p.run("PFADD", key, "a")
            p.run("PFCOUNT", key)
            p.run("PFCOUNT", key, "nokey")
            p.run("PFMERGE", "dst", key)
            p.run("PFMERGE", key, "nokey")
        p.run("PFADD", "list", "a")
        p.run("PFCOUNT", "list")
        p.run("PFCOUNT", "nokey", "list")
        p.run("PFMERGE", "list")
        p.run("PFMERGE", "dst", "list")
        p.run("EXISTS", "dst")
        # corrupted sparse representations
        p.run("PFADD", "h", "a", "b", "c")
        good = p.run("GET", "h")
        bad_sparse = [
            good[:16] + b"\x7f\xff",                        # one XZERO of 16384 only... valid
            good[:16] + b"\x7f\xff\x00",                     # one register too many
            good[:16] + b"\x7f\xfe",                         # one register short
            good[:16] + b"\x80" * 20,                        # VALs covering too little
            good[:16],                                       # no opcodes
            good[:16] + b"\xff" * 5000,                      # VALs past the register count
        ]
        for i, v in enumerate(bad_sparse):
            key = "bad%d" % i
            p.run("SET", key, v)
            p.run("PFCOUNT", key)
            p.run("PFCOUNT", key, "h")
            p.run("PFMERGE", "m%d" % i, key)
            p.run("PFADD", key, "x", "y")
            p.run("GET", key)
            p.run("PFADD", key + "b")
        p.run("PFADD")
        p.run("PFCOUNT")
        p.run("PFMERGE")


def test_cached_cardinality():
    with Pair() as p:
        p.run("PFADD", "h", *["c%d" % i for i in range(500)])
        before = p.run("GET", "h")
        assert before[15] & 0x80  # stale after PFADD
        p.run("PFCOUNT", "h")
        after = p.run("GET", "h")
        assert not after[15] & 0x80
        # a cached value is trusted as it is, as Redis does
        forged = after[:8] + (12345).to_bytes(8, "little") + after[16:]
        p.run("SET", "f", forged)
        p.run("PFCOUNT", "f")
        p.run("PFCOUNT", "f", "nokey")  # several keys never use the cache
        p.run("EXPIRE", "h", "500")
        p.run("PFADD", "h", "new-one")
        p.run("PFCOUNT", "h")
        p.run("TTL", "h")


def test_dump_restore_both_ways():
    with Pair() as p:
        p.run("PFADD", "sp", *["r%d" % i for i in range(200)])
        add_batches(p, "de", 0, 30000, batch=10000, prefix="r")
        for key in ("sp", "de"):
            d, r = p.both("DUMP", key)
            # dredis's payload into Redis, Redis's into dredis
            assert p.r.execute("RESTORE", key + "_from_dredis", "0", d) == "OK"
            assert p.d.execute("RESTORE", key + "_from_redis", "0", r) == "OK"
            assert p.d.execute("RESTORE", key + "_from_dredis", "0", d) == "OK"
            assert p.r.execute("RESTORE", key + "_from_redis", "0", r) == "OK"
            for suffix in ("_from_dredis", "_from_redis"):
                p.run("GET", key + suffix)
                p.run("PFCOUNT", key + suffix)
                p.run("PFADD", key + suffix, "more", "and more")
                p.run("PFCOUNT", key + suffix)
                p.run("GET", key + suffix)
            p.run("PFMERGE", key + "_m", key + "_from_dredis", key + "_from_redis", "sp")
            p.run("GET", key + "_m")


def test_from_scripts():
    with Pair() as p:
        p.run("EVAL", "redis.call('PFADD', KEYS[1], 'a', 'b', 'c'); return redis.call('PFCOUNT', KEYS[1])", "1", "h")
        p.run("EVAL", "return redis.call('PFMERGE', KEYS[1], KEYS[2])", "2", "m", "h")
        p.run("EVAL_RO", "return redis.call('PFCOUNT', KEYS[1], KEYS[2])", "2", "m", "h")
        p.run("EVAL", "return redis.pcall('PFADD', KEYS[1], 'x')", "1", "h")
        p.run("SET", "s", "x")
        p.run("EVAL", "return redis.pcall('PFCOUNT', KEYS[1])", "1", "s")
        p.run("GET", "m")
        p.run("GET", "h")
        d, r = p.both("EVAL_RO", "return redis.call('PFADD', KEYS[1], 'y')", "1", "h")
        assert isinstance(d, RespError) and isinstance(r, RespError), (d, r)


def test_multi_and_command_info():
    with Pair() as p:
        p.run("MULTI")
        p.run("PFADD", "h", "a")
        p.run("PFCOUNT", "h")
        p.run("PFMERGE", "m", "h")
        p.run("EXEC")
        p.run("GET", "m")
        for name in ("pfadd", "pfcount", "pfmerge"):
            d, r = p.both("COMMAND", "INFO", name)
            assert d[0][:6] == r[0][:6], (d, r)
            assert d[0][6] == r[0][6], (d, r)
        p.run("COMMAND", "GETKEYS", "PFMERGE", "d", "s1", "s2")
        p.run("COMMAND", "GETKEYS", "PFCOUNT", "a", "b")


def test_watch_sees_writes():
    """PFADD, PFMERGE and a PFCOUNT that refreshes the cached cardinality
    change the key: a transaction WATCHing it fails, as in Redis."""
    with Pair() as p:
        p.run("PFADD", "h", "a", "b")
        d2, r2 = p.dredis.client(), p.redis.client()
        try:
            for cmd in (("PFCOUNT", "h"), ("PFCOUNT", "h"), ("PFADD", "h", "zz"), ("PFADD", "h", "zz"),
                        ("PFMERGE", "h", "nokey"), ("SORT", "nokey", "STORE", "h")):
                p.run("WATCH", "h")
                assert d2.execute(*cmd) == r2.execute(*cmd)
                p.run("MULTI")
                p.run("PING")
                p.run("EXEC")
        finally:
            d2.close()
            r2.close()


# ---------------------------------------------------------------------------
# Hand-made sparse values: every opcode and split path, compared with Redis
# ---------------------------------------------------------------------------

STALE_HEADER = b"HYLL\x01\x00\x00\x00" + b"\x00" * 7 + b"\x80"


def op_zero(n):
    return bytes([n - 1])


def op_xzero(n):
    return bytes([0x40 | (n - 1) >> 8, (n - 1) & 0xff])


def op_val(rank, n):
    return bytes([0x80 | (rank - 1) << 2 | (n - 1)])


def random_sparse(rng, xzero_share):
    """Valid sparse opcodes for the 16384 registers: ZERO, XZERO (also
    short ones, which Redis never writes but reads) and VAL runs of every
    length, at random."""
    out, left = bytearray(), 16384
    while left:
        x = rng.random()
        if x < xzero_share:
            n = rng.randint(1, min(left, 700))
            out += op_xzero(n)
        elif x < xzero_share + 0.25:
            n = rng.randint(1, min(left, 64))
            out += op_zero(n)
        else:
            n = rng.randint(1, min(left, 4))
            out += op_val(rng.randint(1, 32), n)
        left -= n
    return STALE_HEADER + bytes(out)


def test_hand_made_sparse_values_edit_as_in_redis():
    """PFADD into VAL runs (split and joined again), ZERO and XZERO runs of
    every size, promotion when an edit passes 3000 bytes, PFMERGE of such
    values into sparse and dense destinations: same bytes as Redis."""
    rng = random.Random(1515)
    with Pair() as p:
        for case, share in enumerate((0.05, 0.3, 0.7)):
            key = "hm%d" % case
            p.run("SET", key, random_sparse(rng, share))
            p.run("PFCOUNT", key)
            p.run("GET", key)
            for batch in range(30):
                p.run("PFADD", key, *["v%d_%d_%d" % (case, batch, i) for i in range(25)])
                p.run("GET", key)
            p.run("PFCOUNT", key)
        # merges: sparse sources into a new key, into a sparse destination,
        # with a dense source
        p.run("SET", "src1", random_sparse(rng, 0.5))
        p.run("SET", "src2", random_sparse(rng, 0.5))
        p.run("PFMERGE", "mg", "src1", "src2")
        p.run("GET", "mg")
        p.run("PFCOUNT", "mg")
        p.run("PFMERGE", "src1", "src2")
        p.run("GET", "src1")
        add_batches(p, "dn", 0, 12000, batch=6000)
        p.run("PFMERGE", "src2", "dn", "hm0")
        p.run("GET", "src2")
        p.run("PFCOUNT", "src1", "src2", "hm1", "dn")


def test_long_sparse_value_promotes_on_first_growth():
    """A sparse value already over 3000 bytes (4096 VALs: Redis reads it)
    turns dense on the first edit that would lengthen it; with one opcode
    too many, that promotion finds the damage."""
    with Pair() as p:
        vals = op_val(1, 4) * 4096
        p.run("SET", "long", STALE_HEADER + vals)
        p.run("PFCOUNT", "long")
        p.run("SET", "long", STALE_HEADER + vals)
        p.run("PFADD", "long", *["w%d" % i for i in range(10)])
        assert encoding(p, "long") == DENSE
        p.run("GET", "long")
        p.run("SET", "longbad", STALE_HEADER + vals + op_zero(1))
        p.run("PFCOUNT", "longbad")
        p.run("PFADD", "longbad", *["w%d" % i for i in range(10)])
        p.run("GET", "longbad")
        p.run("PFMERGE", "x", "longbad")
        p.run("EXISTS", "x")


def test_xzero_cut_short_at_the_end():
    """A last XZERO whose second byte is missing reads the zero byte after
    the value, as Redis reads its string's terminator: the value counts as
    complete when that makes 16384 registers."""
    with Pair() as p:
        short = STALE_HEADER + op_xzero(16384 - 256 - 1) + op_xzero(256)[:1]
        p.run("SET", "cut", short)
        p.run("PFCOUNT", "cut")
        p.run("PFCOUNT", "cut", "nokey")
        p.run("PFADD", "cut", *["c%d" % i for i in range(40)])
        p.run("GET", "cut")
        p.run("PFCOUNT", "cut")
        p.run("SET", "cut2", STALE_HEADER + op_xzero(16384 - 256))
        p.run("PFMERGE", "cm", "cut2", "nokey")
        p.run("GET", "cm")


def test_joining_vals_looks_at_five_opcodes():
    """After an edit Redis joins equal VALs only within five opcodes of the
    one before the edit: in a value of 16384 one-register VALs (which
    Redis reads, though it never writes it), each PFADD joins a few of the
    VALs after the edited one and leaves the rest."""
    with Pair() as p:
        p.run("SET", "ones", STALE_HEADER + op_val(1, 1) * 16384)
        for i in range(12):
            p.run("PFADD", "ones", "j%d" % i)
            p.run("GET", "ones")
        p.run("PFCOUNT", "ones")


def test_pfdebug_as_redis():
    """PFDEBUG ENCODING/DECODE/GETREG/TODENSE give Redis's replies on the
    same keys, and GETREG/TODENSE leave the value dense with Redis's bytes;
    the key is checked before the subcommand."""
    with Pair() as p:
        p.run("PFADD", "s", *["a%d" % i for i in range(40)])
        p.run("PFADD", "t", *["b%d" % i for i in range(30)])
        p.run("SET", "str", "not an hll")
        p.run("RPUSH", "list", "x")
        replies = p.run_many([("PFDEBUG", "ENCODING", "s"), ("PFDEBUG", "DECODE", "s"), ("PFDEBUG", "encoding", "t"),
                              ("PFDEBUG", "TODENSE", "s"), ("PFDEBUG", "TODENSE", "s"), ("PFDEBUG", "ENCODING", "s"),
                              ("PFDEBUG", "DECODE", "s"), ("PFDEBUG", "GETREG", "t"), ("PFDEBUG", "ENCODING", "t"),
                              ("GET", "s"), ("GET", "t"), ("PFCOUNT", "s"), ("PFCOUNT", "t"),
                              ("PFDEBUG", "NOSUCH", "s"), ("PFDEBUG", "NOSUCH", "missing"), ("PFDEBUG", "GETREG", "missing"),
                              ("PFDEBUG", "DECODE", "str"), ("PFDEBUG", "NOSUCH", "list"), ("PFDEBUG", "GETREG"),
                              ("PFDEBUG", "GETREG", "s", "x")])
        assert replies[0] == "sparse" and replies[1][:2] in (b"Z:", b"z:", b"v:"), replies[:2]
        assert replies[3] == 1 and replies[4] == 0 and len(replies[7]) == 16384
        # a hand-made sparse value, and one whose opcodes are corrupted
        p.run("SET", "h", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80" + b"\x7f\xff")
        p.run_many([("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "GETREG", "h"), ("PFDEBUG", "ENCODING", "h"),
                    ("PFDEBUG", "DECODE", "h")])
        p.run("SET", "bad", b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80" + b"\x4f\xff\x80\x10")
        p.run_many([("PFDEBUG", "DECODE", "bad"), ("PFDEBUG", "TODENSE", "bad"), ("PFDEBUG", "GETREG", "bad"),
                    ("GET", "bad")])
        p.run("COMMAND", "INFO", "PFDEBUG", "PFSELFTEST")


def test_pfselftest():
    with Pair() as p:
        p.run("PFSELFTEST")
        p.run("PFSELFTEST", "x")


# ---------------------------------------------------------------------------
# hll-sparse-max-bytes
# ---------------------------------------------------------------------------

def grow_one_by_one(p, key, prefix, limit=20000, batch=100):
    """PFADD one element at a time, GET after each, until the value is
    dense and one batch more: every step compared with Redis. Returns the
    number of elements added while it was sparse."""
    sparse_for, i, dense_seen = 0, 0, False
    while i < limit:
        cmds = []
        for j in range(i, i + batch):
            cmds += [("PFADD", key, "%s%d" % (prefix, j)), ("GET", key)]
        replies = p.run_many(cmds)
        for n, v in enumerate(replies[1::2]):
            if v[4] == SPARSE:
                sparse_for = i + n + 1
        i += batch
        p.run("PFCOUNT", key)
        if dense_seen:
            break
        dense_seen = encoding(p, key) == DENSE
    assert dense_seen, (key, i)
    return sparse_for


def test_hll_sparse_max_bytes():
    """CONFIG SET/GET hll-sparse-max-bytes as Redis 7.0's (a size_t memory
    setting: its parse, range and error texts), and the edit from which a
    sparse HLL turns dense at several limits, by PFADD and PFMERGE: the
    bytes (GET shows sparse or dense) and PFCOUNT compared with Redis."""
    with Pair() as p:
        p.run("CONFIG", "GET", "hll-sparse-max-bytes")
        p.run("CONFIG", "GET", "hll*")
        for v in ("-1", "abc", "1.5kb", "+5", " 5", "0x10", "9223372036854775808", "18446744073709551616",
                  "99999999999999999999", "8589934592gb", "1" * 128, "",
                  "kb", "1kb", "2MB", "007", "9223372036854775807", "17179869184gb"):
            p.run("CONFIG", "SET", "hll-sparse-max-bytes", v)
            p.run("CONFIG", "GET", "hll-sparse-max-bytes")
        # rolled back with the others when one is bad
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", "500", "list-compress-depth", "nope")
        p.run("CONFIG", "GET", "hll-sparse-max-bytes")

        grew = {}
        for limit in ("30", "100", "0", "3000"):
            p.run("CONFIG", "SET", "hll-sparse-max-bytes", limit)
            p.run("CONFIG", "GET", "hll-sparse-max-bytes")
            grew[limit] = grow_one_by_one(p, "h" + limit, "x" + limit)
        assert grew["0"] == 0 and 0 < grew["30"] < grew["100"] < grew["3000"], grew

        # a value already longer than the limit stays sparse until an edit
        # would lengthen it
        p.run("PFADD", "long", *["l%d" % i for i in range(300)])
        assert encoding(p, "long") == SPARSE
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", "100")
        p.run("PFADD", "long", "l1", "l2")
        p.run("GET", "long")
        assert encoding(p, "long") == SPARSE
        p.run("PFADD", "long", "new")
        p.run("GET", "long")
        assert encoding(p, "long") == DENSE

        # PFMERGE of sparse sources: dense past the limit, sparse under it
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", "3000")
        p.run("PFADD", "m1", *["m%d" % i for i in range(60)])
        p.run("PFADD", "m2", *["m%d" % i for i in range(40, 120)])
        for limit in ("100", "3000", "0"):
            p.run("CONFIG", "SET", "hll-sparse-max-bytes", limit)
            p.run("PFMERGE", "into" + limit, "m1", "m2")
            p.run("GET", "into" + limit)
            p.run("PFCOUNT", "into" + limit)
        assert encoding(p, "into100") == DENSE and encoding(p, "into0") == DENSE
        assert encoding(p, "into3000") == SPARSE

        # a limit far above 3000: sparse while the registers fit, a rank
        # over 32 still needs dense
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", "1gb")
        add_batches(p, "big", 0, 20000, batch=2000, prefix="b")
        p.run("PFCOUNT", "big")
        # PFSELFTEST checks the sparse encoding against the setting too
        p.run("CONFIG", "SET", "hll-sparse-max-bytes", "30")
        p.run("PFSELFTEST")


def test_hll_sparse_max_bytes_at_start():
    """DREDIS_HLL_SPARSE_MAX_BYTES sets it at start-up as Redis's config
    file or command line does."""
    with Pair(env={"DREDIS_HLL_SPARSE_MAX_BYTES": "200"}, redis_args=("--hll-sparse-max-bytes", "200")) as p:
        p.run("CONFIG", "GET", "hll-sparse-max-bytes")
        assert grow_one_by_one(p, "h", "s") < 100
