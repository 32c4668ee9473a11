"""Sorted sets: every command and option compared with a real redis-server
7.0 (Pair), and the tree each kind of write leaves on disk
(docs/storage-format.md, "Sorted sets"), restarts, the index cache under a
small budget, its invalidation, and the repair of an interrupted write."""
import os
import random
import shutil
import struct
import subprocess

from dredis_test import DREDIS_SERVER, Dredis, Pair, RespError, staging_leftovers, wait_until



# ---------------------------------------------------------------- helpers

def hexscore(d):
    """The 16-hex-digit order-preserving encoding of a score (scores/ names)."""
    u = struct.unpack(">Q", struct.pack(">d", d))[0]
    u = (~u & 0xFFFFFFFFFFFFFFFF) if u >> 63 else (u | (1 << 63))
    return "%016x" % u


def keydir(p, key, db=0):
    return os.path.join(p.dredis.db_dir(db), key)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def listdir(path):
    return sorted(n for n in os.listdir(path) if not n.startswith("."))


def check_tree(p, key, expected):
    """The key directory of a sorted set holds exactly expected, a dict
    {member (plain file name) -> score text}: type, len, values/, scores/."""
    d = keydir(p, key)
    assert read(os.path.join(d, "type")) == b"zset"
    assert read(os.path.join(d, "len")) == str(len(expected)).encode()
    assert listdir(os.path.join(d, "values")) == sorted(expected)
    for m, s in expected.items():
        assert read(os.path.join(d, "values", m)) == s.encode(), m
    want = sorted("%s_%s" % (hexscore(float(s)), m) for m, s in expected.items())
    assert listdir(os.path.join(d, "scores")) == want
    # the listing order is the score order
    by_score = [m for m, s in sorted(expected.items(), key=lambda e: (float(e[1]), e[0].encode()))]
    assert [n.split("_", 1)[1] for n in want] == by_score


def make_set(p, key, members):
    """A plain SET on both servers. dredis gets it through SADD when that
    command exists, else written in the set layout (type 'set', one empty
    file per member under values/, len)."""
    p.r.execute("SADD", key, *members)
    r = p.d.execute("SADD", key, *members)
    if isinstance(r, RespError) and "unknown command" in r.message:
        tmp = os.path.join(p.dredis.root_dir, ".tmp", "test-set-" + key)
        os.makedirs(os.path.join(tmp, "values"))
        with open(os.path.join(tmp, "type"), "w") as f:
            f.write("set")
        with open(os.path.join(tmp, "len"), "w") as f:
            f.write(str(len(set(members))))
        for m in members:
            open(os.path.join(tmp, "values", m), "w").close()
        os.rename(tmp, keydir(p, key))
    else:
        assert r == len(set(members)), r
    assert p.d.execute("TYPE", key) == "set"


def full_scan(c, key, extra=()):
    """Every (member -> [scores seen]) of a whole ZSCAN iteration, and the
    number of calls it took."""
    seen, cursor, calls = {}, b"0", 0
    while True:
        cursor, items = c.execute("ZSCAN", key, cursor, *extra)
        calls += 1
        for m, s in zip(items[::2], items[1::2]):
            seen.setdefault(m, []).append(s)
        if cursor == b"0":
            return seen, calls


def resp3(p):
    for c in (p.d, p.r):
        assert isinstance(c.execute("HELLO", "3"), dict)


def fill(p, key, n, seed=1, scores=None):
    rnd = random.Random(seed)
    args = []
    for i in range(n):
        s = scores[i % len(scores)] if scores else str(rnd.randint(-50, 50) / 4)
        args += [s, "m%04d" % i]
    for i in range(0, len(args), 200):
        p.run("ZADD", key, *args[i:i + 200])


# ---------------------------------------------------------------- ZADD / ZINCRBY

def test_zadd_options_compared_with_redis():
    with Pair() as p:
        p.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        p.run("ZADD", "z", "5", "a", "6", "d")                 # 1 added, a updated
        p.run("ZADD", "z", "CH", "7", "a", "8", "e", "8", "e")  # changed + added
        p.run("ZADD", "z", "NX", "100", "a", "9", "f")
        p.run("ZADD", "z", "XX", "100", "a", "9", "nope")
        p.run("ZADD", "z", "XX", "CH", "101", "a", "2", "b")
        p.run("ZADD", "z", "GT", "CH", "50", "a", "50", "b", "1", "newgt")
        p.run("ZADD", "z", "LT", "CH", "60", "a", "1", "b", "0", "newlt")
        p.run("ZADD", "z", "XX", "GT", "CH", "1000", "a", "-5", "b")
        p.run("ZADD", "z", "gt", "xx", "ch", "1000", "a")       # options in any case and order
        p.run("ZADD", "z", "INCR", "2.5", "a")
        p.run("ZADD", "z", "INCR", "NX", "1", "a")              # exists: nil
        p.run("ZADD", "z", "INCR", "XX", "1", "missing")        # nil
        p.run("ZADD", "z", "INCR", "GT", "-1", "a")             # not greater: nil
        p.run("ZADD", "z", "INCR", "LT", "-1", "a")
        p.run("ZADD", "z", "INCR", "NX", "3", "brandnew")
        p.run("ZADD", "z", "1", "dup", "2", "dup", "3", "dup")  # last one wins
        p.run("ZADD", "z", "CH", "3", "dup")                    # unchanged: 0
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZADD", "xxmissing", "XX", "1", "a")
        p.run("ZADD", "xxmissing", "XX", "INCR", "1", "a")
        p.run("EXISTS", "xxmissing")
        # errors, in Redis's order of checks
        for args in (["z", "1"], ["z", "1", "a", "2"], ["z", "NX", "XX", "1", "a"], ["z", "NX", "GT", "1", "a"],
                     ["z", "GT", "LT", "1", "a"], ["z", "LT", "NX", "1", "a"], ["z", "INCR", "1", "a", "2", "b"],
                     ["z", "x", "a"], ["z", "1", "a", "nan", "b"], ["z", "NaN", "a"], ["z", "1e400", "a"],
                     ["z", " 1", "a"], ["z", "", "a"], ["z", "CH"], ["z", "INCR", "x", "a"],
                     ["nokey", "XX", "NX", "1", "a"]):
            p.run("ZADD", *args)
        p.run("ZADD", "z")
        p.run("ZADD", "z", "1")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")


def test_zadd_score_syntax_and_formatting():
    with Pair() as p:
        scores = ["1", "-1", "0", "-0", "1.5", "0.1", "1.1", "3.0", "1e3", "1E-3", "-2.5e-10", "+7", "0x1A", "inf",
                  "+inf", "-inf", "Infinity", "-INF", "1e308", "-1.7976931348623157e308", "4.9e-324",
                  "123456789012345678", "0.30000000000000004", "1." + "0" * 300]
        for i, s in enumerate(scores):
            p.run("ZADD", "z", s, "m%02d" % i)
            p.run("ZSCORE", "z", "m%02d" % i)
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZINCRBY", "z", "0.2", "m05")
        p.run("ZINCRBY", "z", "-0", "newzero")                 # -0 is replied as computed
        p.run("ZADD", "z", "INCR", "-0", "newzero2")
        p.run("ZSCORE", "z", "newzero")                         # and stored as 0
        p.run("ZINCRBY", "z", "1e308", "m18")                   # overflows to inf
        p.run("ZSCORE", "z", "m18")
        p.run("ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES")


def test_zincrby():
    with Pair() as p:
        p.run("ZINCRBY", "z", "5", "a")
        p.run("ZINCRBY", "z", "-2.5", "a")
        p.run("ZINCRBY", "z", "1e-5", "a")
        p.run("ZINCRBY", "z", "inf", "b")
        p.run("ZINCRBY", "z", "-inf", "b")                      # inf + -inf
        p.run("ZINCRBY", "z", "inf", "b")
        p.run("ZSCORE", "z", "b")
        p.run("ZINCRBY", "z", "abc", "a")
        p.run("ZINCRBY", "z", "nan", "a")
        p.run("ZINCRBY", "z", "1")
        p.run("ZINCRBY", "z", "1", "a", "b")
        p.run("ZINCRBY", "z", "NX", "a")                        # options are parsed, as in Redis
        p.run("ZINCRBY", "z", "1", "NX")                        # "NX" is the member here
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("SET", "s", "x")
        p.run("ZINCRBY", "s", "1", "a")


# ---------------------------------------------------------------- reads

def test_zscore_zmscore_zcard():
    with Pair() as p:
        p.run("ZADD", "z", "1", "a", "2.5", "b", "-inf", "c")
        for m in ("a", "b", "c", "nope", ""):
            p.run("ZSCORE", "z", m)
        p.run("ZSCORE", "nokey", "a")
        p.run("ZMSCORE", "z", "a", "nope", "b", "c", "a")
        p.run("ZMSCORE", "nokey", "a", "b")
        p.run("ZMSCORE", "z")
        p.run("ZCARD", "z")
        p.run("ZCARD", "nokey")
        p.run("ZCARD", "z", "extra")
        p.run("ZSCORE", "z")
        resp3(p)
        p.run("ZSCORE", "z", "b")
        p.run("ZSCORE", "z", "c")
        p.run("ZMSCORE", "z", "a", "nope", "c")
        p.run("ZINCRBY", "z", "1.5", "a")
        p.run("ZADD", "z", "INCR", "1", "b")


def test_zrank_zrevrank():
    with Pair() as p:
        p.run("ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb", "2", "ba", "-inf", "lo", "inf", "hi")
        for m in ("a", "b", "ba", "bb", "c", "lo", "hi", "nope"):
            p.run("ZRANK", "z", m)
            p.run("ZREVRANK", "z", m)
        p.run("ZRANK", "nokey", "a")
        p.run("ZREVRANK", "nokey", "a")
        p.run("ZRANK", "z", "a", "extra")
        p.run("ZRANK", "z")
        p.run("ZINCRBY", "z", "10", "a")
        p.run("ZRANK", "z", "a")
        p.run("ZREM", "z", "lo")
        p.run("ZRANK", "z", "a")
        p.run("ZREVRANK", "z", "b")


def test_zcount_zlexcount():
    with Pair() as p:
        fill(p, "z", 60)
        for mn, mx in (("-inf", "+inf"), ("0", "5"), ("(0", "5"), ("0", "(5"), ("(0", "(5"), ("5", "0"),
                       ("(1", "(1"), ("1", "1"), ("-inf", "-inf"), ("inf", "inf"), ("-3.25", "(4"),
                       ("", "10"), ("(", "3"), (" 1", "2"), ("1e1", "+inf"), ("-Infinity", "0")):
            p.run("ZCOUNT", "z", mn, mx)
        for mn, mx in (("a", "1"), ("1", "b"), ("((1", "2"), ("1", "nan"), ("nan", "1"), ("1 ", "2")):
            p.run("ZCOUNT", "z", mn, mx)
        p.run("ZCOUNT", "nokey", "0", "1")
        p.run("ZCOUNT", "nokey", "x", "1")                      # range parsed first
        p.run("ZADD", "lex", *sum([["0", w] for w in ("a", "b", "c", "d", "e", "ee", "f", "", b"z\xff")], []))
        for mn, mx in (("-", "+"), ("[b", "[d"), ("(b", "(d"), ("[b", "(ee"), ("(a", "+"), ("-", "(c"),
                       ("[", "[a"), ("(", "+"), ("+", "-"), ("-", "-"), ("+", "+"), ("[e", "[e"), ("(e", "[e"),
                       ("[d", "[b")):
            p.run("ZLEXCOUNT", "lex", mn, mx)
        for mn, mx in (("a", "+"), ("-", "b"), ("", "+"), ("+x", "+"), ("-", "-x")):
            p.run("ZLEXCOUNT", "lex", mn, mx)
        p.run("ZLEXCOUNT", "nokey", "-", "+")


# ---------------------------------------------------------------- ranges

def test_zrange_by_rank():
    with Pair() as p:
        fill(p, "z", 25, scores=["1", "2", "2", "3", "-1.5"])
        p.run("ZADD", "z", "-inf", "lo", "inf", "hi")
        n = 27
        idx = ["0", "1", "-1", "-2", "5", "-5", "26", "27", "100", "-27", "-28", "-100", "3"]
        for a in idx:
            for b in idx:
                p.run("ZRANGE", "z", a, b)
        for args in (["0", "-1", "WITHSCORES"], ["0", "-1", "REV"], ["2", "6", "REV", "WITHSCORES"],
                     ["-3", "-1", "withscores", "rev"], ["0", "-1", "LIMIT", "1", "-1"]):
            p.run("ZRANGE", "z", *args)
        for a, b in (("0", "5"), ("-3", "-1"), ("10", "2"), ("0", str(n))):
            p.run("ZREVRANGE", "z", a, b)
            p.run("ZREVRANGE", "z", a, b, "WITHSCORES")
        # errors
        for args in (["a", "1"], ["0", "1.5"], ["0", "-1", "LIMIT", "0", "1"], ["0", "-1", "REV", "REV"],
                     ["0", "-1", "BYSCORE", "BYSCORE"], ["0", "-1", "BYSCORE", "BYLEX"], ["0", "-1", "FOO"],
                     ["0", "-1", "LIMIT", "0"], ["0", "-1", "LIMIT", "x", "1"], ["0", "-1", "WITHSCORES", "x"]):
            p.run("ZRANGE", "z", *args)
        p.run("ZREVRANGE", "z", "0", "-1", "REV")
        p.run("ZREVRANGE", "z", "0", "-1", "LIMIT", "0", "1")
        p.run("ZRANGE", "nokey", "0", "-1")
        p.run("ZRANGE", "nokey", "x", "-1")
        p.run("ZRANGE", "z", "0")
        resp3(p)
        p.run("ZRANGE", "z", "0", "4", "WITHSCORES")
        p.run("ZRANGE", "z", "0", "4")
        p.run("ZREVRANGE", "z", "0", "-1", "WITHSCORES")


def test_zrange_byscore_bylex_and_limit():
    with Pair() as p:
        fill(p, "z", 40)
        p.run("ZADD", "z", "-inf", "lo", "inf", "hi")
        ranges = (("-inf", "+inf"), ("0", "5"), ("(0", "(5"), ("-2.5", "(2.5"), ("5", "0"), ("(3", "3"),
                  ("3", "3"), ("inf", "inf"), ("(-inf", "(inf"))
        limits = ([], ["LIMIT", "0", "3"], ["LIMIT", "2", "5"], ["LIMIT", "0", "-1"], ["LIMIT", "3", "-5"],
                  ["LIMIT", "0", "0"], ["LIMIT", "-1", "3"], ["LIMIT", "100", "1"], ["LIMIT", "41", "2"],
                  ["LIMIT", "1", "1", "LIMIT", "2", "2"])
        for mn, mx in ranges:
            for lim in limits:
                p.run("ZRANGE", "z", mn, mx, "BYSCORE", *lim)
                p.run("ZRANGE", "z", mx, mn, "BYSCORE", "REV", "WITHSCORES", *lim)
                p.run("ZRANGEBYSCORE", "z", mn, mx, "WITHSCORES", *lim)
                p.run("ZREVRANGEBYSCORE", "z", mx, mn, *lim)
        p.run("ZADD", "lex", *sum([["0", w] for w in ("a", "b", "c", "d", "e", "ee", "f", "", "A", "z\x00a")], []))
        lranges = (("-", "+"), ("[b", "[e"), ("(b", "(e"), ("[", "(c"), ("(a", "+"), ("-", "[d"), ("+", "-"),
                   ("[e", "[e"), ("(e", "(e"), ("[z", "+"))
        for mn, mx in lranges:
            for lim in limits[:7]:
                p.run("ZRANGE", "lex", mn, mx, "BYLEX", *lim)
                p.run("ZRANGE", "lex", mx, mn, "BYLEX", "REV", *lim)
                p.run("ZRANGEBYLEX", "lex", mn, mx, *lim)
                p.run("ZREVRANGEBYLEX", "lex", mx, mn, *lim)
        # errors
        p.run("ZRANGEBYSCORE", "z", "a", "1")
        p.run("ZRANGEBYSCORE", "z", "(1", "((2")
        p.run("ZRANGEBYSCORE", "z", "0", "1", "REV")
        p.run("ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "0")
        p.run("ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "a", "1")
        p.run("ZRANGEBYSCORE", "z", "0", "1", "BYLEX")
        p.run("ZRANGEBYLEX", "lex", "a", "+")
        p.run("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES")
        p.run("ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES")
        p.run("ZRANGE", "lex", "a", "+", "BYLEX")
        p.run("ZRANGE", "z", "x", "1", "BYSCORE")
        p.run("ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "1", "2", "WITHSCORES")
        p.run("ZRANGEBYSCORE", "nokey", "0", "1")
        p.run("ZRANGEBYLEX", "nokey", "-", "+")
        p.run("ZRANGEBYSCORE", "z", "0")
        resp3(p)
        p.run("ZRANGEBYSCORE", "z", "0", "5", "WITHSCORES")
        p.run("ZRANGE", "z", "5", "0", "BYSCORE", "REV", "WITHSCORES", "LIMIT", "1", "3")


def test_zrangestore():
    with Pair() as p:
        fill(p, "src", 30)
        p.run("ZRANGESTORE", "dst", "src", "0", "9")
        p.run("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        p.run("ZRANGESTORE", "dst", "src", "5", "0", "BYSCORE", "REV", "LIMIT", "1", "4")
        p.run("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        p.run("ZRANGESTORE", "dst", "src", "(0", "+inf", "BYSCORE")
        p.run("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        p.run("ZADD", "lex", "0", "a", "0", "b", "0", "c")
        p.run("ZRANGESTORE", "dst", "lex", "[b", "+", "BYLEX")
        p.run("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        # replaces another type, and drops its TTL
        p.run("SET", "str", "x")
        p.run("EXPIRE", "str", "1000")
        p.run("ZRANGESTORE", "str", "src", "0", "2")
        p.run("TYPE", "str")
        p.run("TTL", "str")
        # an empty result deletes the destination
        p.run("ZRANGESTORE", "dst", "src", "100", "200")
        p.run("EXISTS", "dst")
        p.run("SET", "dst", "x")
        p.run("ZRANGESTORE", "dst", "nokey", "0", "-1")
        p.run("EXISTS", "dst")
        # the source as destination
        p.run("ZRANGESTORE", "src", "src", "0", "4")
        p.run("ZRANGE", "src", "0", "-1", "WITHSCORES")
        p.run("ZCARD", "src")
        # errors
        p.run("SET", "s", "x")
        p.run("ZRANGESTORE", "dst", "s", "0", "-1")
        p.run("ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES")
        p.run("ZRANGESTORE", "dst", "src", "0", "-1", "LIMIT", "0", "1")
        p.run("ZRANGESTORE", "dst", "src", "0")
        reply = p.d.execute("ZRANGE", "src", "0", "-1", "WITHSCORES")
        check_tree(p, "src", {m.decode(): s.decode() for m, s in zip(reply[::2], reply[1::2])})


def test_zremrangeby_rank_score_lex():
    with Pair() as p:
        for start, end in (("0", "2"), ("-3", "-1"), ("5", "2"), ("100", "200"), ("-100", "1"), ("3", "100"),
                           ("0", "-1")):
            fill(p, "z", 20)
            p.run("ZREMRANGEBYRANK", "z", start, end)
            p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        for mn, mx in (("-inf", "(0"), ("(1", "3"), ("5", "1"), ("-inf", "+inf")):
            fill(p, "z", 20)
            p.run("ZREMRANGEBYSCORE", "z", mn, mx)
            p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZADD", "lex", *sum([["0", w] for w in "abcdefg"], []))
        for mn, mx in (("[b", "(d"), ("(e", "+"), ("[z", "+"), ("-", "+")):
            p.run("ZREMRANGEBYLEX", "lex", mn, mx)
            p.run("ZRANGE", "lex", "0", "-1")
        p.run("EXISTS", "lex")
        assert not os.path.exists(keydir(p, "lex"))
        for cmd, a, b in (("ZREMRANGEBYRANK", "a", "1"), ("ZREMRANGEBYSCORE", "x", "1"),
                          ("ZREMRANGEBYLEX", "a", "+"), ("ZREMRANGEBYRANK", "0", "1.5")):
            p.run(cmd, "z", a, b)
            p.run(cmd, "nokey", a, b)
        for cmd, a, b in (("ZREMRANGEBYRANK", "0", "1"), ("ZREMRANGEBYSCORE", "0", "1"),
                          ("ZREMRANGEBYLEX", "-", "+")):
            p.run(cmd, "nokey", a, b)
            p.run(cmd, "z", a)


def test_zpopmin_zpopmax():
    with Pair() as p:
        fill(p, "z", 15)
        p.run("ZPOPMIN", "z")
        p.run("ZPOPMAX", "z")
        p.run("ZPOPMIN", "z", "3")
        p.run("ZPOPMAX", "z", "2")
        p.run("ZPOPMIN", "z", "0")
        p.run("ZPOPMIN", "z", "-1")
        p.run("ZPOPMIN", "z", "x")
        p.run("ZPOPMIN", "z", "1", "2")
        p.run("ZPOPMIN", "nokey")
        p.run("ZPOPMIN", "nokey", "0")
        p.run("ZPOPMAX", "nokey", "-1")
        resp3(p)
        p.run("ZPOPMIN", "z")
        p.run("ZPOPMIN", "z", "2")
        p.run("ZPOPMAX", "z", "1")
        p.run("ZPOPMAX", "z", "100")
        p.run("EXISTS", "z")
        assert not os.path.exists(keydir(p, "z"))
        p.run("ZPOPMAX", "z", "2")


def test_zrandmember():
    with Pair() as p:
        members = {"m%02d" % i: str(i * 1.5) for i in range(20)}
        p.run("ZADD", "z", *sum([[s, m] for m, s in members.items()], []))
        for _ in range(20):
            m = p.d.execute("ZRANDMEMBER", "z")
            assert m.decode() in members
        for count in (1, 5, 19, 20, 25, 100):
            r = p.d.execute("ZRANDMEMBER", "z", str(count))
            assert len(r) == min(count, 20) and len(set(r)) == len(r)
            assert all(x.decode() in members for x in r)
            r = p.d.execute("ZRANDMEMBER", "z", str(count), "WITHSCORES")
            assert len(r) == 2 * min(count, 20)
            pairs = dict(zip(r[::2], r[1::2]))
            assert len(pairs) == min(count, 20)
            for m, s in pairs.items():
                assert float(s) == float(members[m.decode()])
        for count in (-1, -5, -50):
            r = p.d.execute("ZRANDMEMBER", "z", str(count))
            assert len(r) == -count and all(x.decode() in members for x in r)
            r = p.d.execute("ZRANDMEMBER", "z", str(count), "WITHSCORES")
            assert len(r) == -2 * count
        # with repetitions, a large negative count sees repeats
        r = p.d.execute("ZRANDMEMBER", "z", "-200")
        assert len(set(r)) < 200
        # answers that are not random are compared
        p.run("ZRANDMEMBER", "z", "0")
        p.run("ZRANDMEMBER", "nokey")
        p.run("ZRANDMEMBER", "nokey", "5")
        p.run("ZRANDMEMBER", "nokey", "-5", "WITHSCORES")
        p.run("ZRANDMEMBER", "z", "x")
        p.run("ZRANDMEMBER", "z", "1", "WITHSCORE")
        p.run("ZRANDMEMBER", "z", "1", "WITHSCORES", "x")
        p.run("ZRANDMEMBER", "z", "-9223372036854775808")
        p.run("ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES")
        p.run("ZRANDMEMBER", "z", "-4611686018427387904", "WITHSCORES")
        p.run("ZADD", "one", "3.5", "only")
        p.run("ZRANDMEMBER", "one")
        p.run("ZRANDMEMBER", "one", "-3", "WITHSCORES")
        p.run("ZRANDMEMBER", "one", "3", "WITHSCORES")
        resp3(p)
        p.run("ZRANDMEMBER", "one", "-2", "WITHSCORES")
        p.run("ZRANDMEMBER", "one", "2", "WITHSCORES")
        r = p.d.execute("ZRANDMEMBER", "z", "3", "WITHSCORES")
        assert len(r) == 3 and all(len(x) == 2 and isinstance(x[1], float) for x in r)


# ---------------------------------------------------------------- union, intersection, difference

def test_zunion_zinter_zdiff():
    with Pair() as p:
        p.run("ZADD", "a", "1", "x", "2", "y", "3", "z", "0.1", "m")
        p.run("ZADD", "b", "10", "y", "20", "z", "30", "w", "0.2", "m")
        p.run("ZADD", "c", "-1", "z", "inf", "w", "0.3", "m", "5", "q")
        p.run("ZADD", "d", "-inf", "w", "1", "x")
        keysets = (["a"], ["a", "b"], ["a", "b", "c"], ["c", "b", "a"], ["a", "nokey"], ["nokey", "a"],
                   ["a", "a"], ["b", "c", "d"], ["d", "c"], ["nokey"])
        opts = ([], ["WITHSCORES"], ["AGGREGATE", "MIN", "WITHSCORES"], ["AGGREGATE", "max", "WITHSCORES"],
                ["AGGREGATE", "SUM", "WITHSCORES"])
        for keys in keysets:
            n = str(len(keys))
            weights = ["WEIGHTS"] + [str(w) for w in (2, -1, 0.5, 0, 3)[:len(keys)]]
            for o in opts + (weights + ["WITHSCORES"], weights + ["AGGREGATE", "MAX", "WITHSCORES"]):
                p.run("ZUNION", n, *keys, *o)
                p.run("ZINTER", n, *keys, *o)
            p.run("ZDIFF", n, *keys)
            p.run("ZDIFF", n, *keys, "WITHSCORES")
            p.run("ZUNIONSTORE", "out", n, *keys, *weights)
            p.run("ZRANGE", "out", "0", "-1", "WITHSCORES")
            p.run("ZINTERSTORE", "out", n, *keys, "AGGREGATE", "MIN")
            p.run("ZRANGE", "out", "0", "-1", "WITHSCORES")
            p.run("ZDIFFSTORE", "out", n, *keys)
            p.run("ZRANGE", "out", "0", "-1", "WITHSCORES")
            p.run("EXISTS", "out")
        # weights that make NaN (0 * inf) and sums of inf and -inf give 0
        p.run("ZUNION", "2", "c", "d", "WEIGHTS", "0", "1", "WITHSCORES")
        p.run("ZUNION", "2", "c", "d", "WITHSCORES")
        p.run("ZINTER", "2", "c", "d", "WITHSCORES")
        # the order of floating point additions follows Redis (smallest input first)
        p.run("ZADD", "f1", "0.1", "k", "1", "x1", "2", "x2")
        p.run("ZADD", "f2", "0.2", "k")
        p.run("ZADD", "f3", "0.3", "k", "1", "x3")
        for keys in (["f1", "f2", "f3"], ["f3", "f2", "f1"], ["f2", "f1", "f3"]):
            p.run("ZUNION", "3", *keys, "WITHSCORES")
            p.run("ZINTER", "3", *keys, "WITHSCORES")
        # the destination may be an input; a STORE replaces another type and drops a TTL
        p.run("ZUNIONSTORE", "a", "2", "a", "b")
        p.run("ZRANGE", "a", "0", "-1", "WITHSCORES")
        p.run("SET", "str", "v")
        p.run("PEXPIRE", "str", "100000")
        p.run("ZINTERSTORE", "str", "2", "a", "b")
        p.run("TYPE", "str")
        p.run("TTL", "str")
        p.run("ZINTERSTORE", "str", "2", "a", "nokey")        # empty result deletes
        p.run("EXISTS", "str")
        # errors
        p.run("SET", "s", "x")
        for cmd, args in (("ZUNION", ["0", "a"]), ("ZUNION", ["-1", "a"]), ("ZUNION", ["x", "a"]),
                          ("ZUNION", ["3", "a", "b"]), ("ZUNION", ["2", "a", "s"]), ("ZUNION", ["1", "s", "junk"]),
                          ("ZUNION", ["1", "a", "junk"]), ("ZUNION", ["2", "a", "b", "WEIGHTS", "1"]),
                          ("ZUNION", ["2", "a", "b", "WEIGHTS", "1", "x"]),
                          ("ZUNION", ["1", "a", "AGGREGATE", "AVG"]), ("ZUNION", ["1", "a", "AGGREGATE"]),
                          ("ZINTER", ["1", "a", "WEIGHTS", "nan"]), ("ZDIFF", ["1", "a", "WEIGHTS", "1"]),
                          ("ZDIFF", ["1", "a", "AGGREGATE", "MIN"]), ("ZDIFF", ["0", "a"]),
                          ("ZUNIONSTORE", ["out", "0", "a"]), ("ZUNIONSTORE", ["out", "1", "a", "WITHSCORES"]),
                          ("ZINTERSTORE", ["out", "2", "a", "s"]), ("ZDIFFSTORE", ["out", "1", "a", "WITHSCORES"]),
                          ("ZDIFFSTORE", ["out", "x", "a"]), ("ZUNIONSTORE", ["out", "1"]), ("ZUNION", ["1"])):
            p.run(cmd, *args)
        resp3(p)
        p.run("ZUNION", "2", "b", "c", "WITHSCORES")
        p.run("ZINTER", "2", "b", "c")
        p.run("ZDIFF", "2", "b", "c", "WITHSCORES")


def test_plain_sets_as_inputs():
    with Pair() as p:
        make_set(p, "s1", ["x", "y", "z", "k"])
        make_set(p, "s2", ["y", "q"])
        p.run("ZADD", "z", "5", "x", "2", "y", "-1", "w")
        for keys in (["s1", "z"], ["z", "s1"], ["s1", "s2", "z"], ["s2", "s1"], ["s1"]):
            n = str(len(keys))
            p.run("ZUNION", n, *keys, "WITHSCORES")
            p.run("ZUNION", n, *keys, "WEIGHTS", *["2"] * len(keys), "WITHSCORES")
            p.run("ZINTER", n, *keys, "AGGREGATE", "MAX", "WITHSCORES")
            p.run("ZDIFF", n, *keys, "WITHSCORES")
            p.run("ZUNIONSTORE", "out", n, *keys)
            p.run("ZRANGE", "out", "0", "-1", "WITHSCORES")
            p.run("ZINTERSTORE", "out", n, *keys)
            p.run("ZDIFFSTORE", "out", n, *keys)
            p.run("ZRANGE", "out", "0", "-1", "WITHSCORES")
        p.run("ZINTERCARD", "2", "s1", "z")
        # a set is still not a sorted set for the other commands
        p.run("ZRANGE", "s1", "0", "-1")
        p.run("ZADD", "s1", "1", "a")


def test_zintercard():
    with Pair() as p:
        fill(p, "a", 40, seed=1)
        p.run("ZADD", "b", *sum([["1", "m%04d" % i] for i in range(0, 60, 3)], []))
        p.run("ZINTERCARD", "2", "a", "b")
        p.run("ZINTERCARD", "2", "a", "b", "LIMIT", "3")
        p.run("ZINTERCARD", "2", "a", "b", "LIMIT", "0")
        p.run("ZINTERCARD", "2", "a", "b", "LIMIT", "1000")
        p.run("ZINTERCARD", "1", "a")
        p.run("ZINTERCARD", "2", "a", "nokey")
        p.run("ZINTERCARD", "2", "a", "b", "LIMIT", "-1")
        p.run("ZINTERCARD", "2", "a", "b", "WITHSCORES")
        p.run("ZINTERCARD", "2", "a", "b", "WEIGHTS", "1", "2")
        p.run("ZINTERCARD", "0", "a")
        p.run("ZINTERCARD", "3", "a", "b")


# ---------------------------------------------------------------- ZSCAN

def test_zscan():
    with Pair() as p:
        fill(p, "z", 50)
        # small sets answer whole, in order, with cursor 0, as Redis does
        p.run("ZSCAN", "z", "0")
        p.run("ZSCAN", "z", "0", "COUNT", "5")
        p.run("ZSCAN", "z", "123")
        p.run("ZSCAN", "z", "0", "MATCH", "m00*")
        p.run("ZSCAN", "z", "0", "match", "*1", "count", "2")
        p.run("ZSCAN", "z", "0", "MATCH", "*")
        for args in (["x"], ["-"], ["1.5"], [" 1"], ["0", "COUNT", "0"], ["0", "COUNT", "x"], ["0", "MATCH"],
                     ["0", "FOO", "bar"], ["0", "TYPE", "zset"], ["18446744073709551616"]):
            p.run("ZSCAN", "z", *args)
        p.run("ZSCAN", "nokey", "0")
        p.run("ZSCAN", "nokey", "0", "BAD")
        p.run("SET", "s", "x")
        p.run("ZSCAN", "s", "0")
        # a big set: a full iteration returns every member once with its score
        fill(p, "big", 700)
        d, dcalls = full_scan(p.d, "big", ["COUNT", "50"])
        r, _ = full_scan(p.r, "big", ["COUNT", "50"])
        assert dcalls > 1
        assert all(len(v) == 1 for v in d.values())
        assert d == r
        d, _ = full_scan(p.d, "big", ["MATCH", "m01*", "COUNT", "100"])
        r, _ = full_scan(p.r, "big", ["MATCH", "m01*", "COUNT", "100"])
        assert d == r and len(d) == 100


# ---------------------------------------------------------------- ZREM, types, special members

def test_zrem_and_emptied_key_removed():
    with Pair() as p:
        p.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        p.run("ZREM", "z", "a", "nope", "a")
        p.run("ZREM", "z", "nope")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZREM", "nokey", "a")
        p.run("ZREM", "z")
        p.run("ZREM", "z", "b", "c")
        p.run("EXISTS", "z")
        p.run("TYPE", "z")
        assert not os.path.exists(keydir(p, "z"))
        # and it comes back fresh
        p.run("ZADD", "z", "9", "c")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        check_tree(p, "z", {"c": "9"})


def test_wrongtype():
    with Pair() as p:
        p.run("SET", "s", "x")
        p.run("ZADD", "z", "1", "a")
        for args in (["ZADD", "s", "1", "a"], ["ZINCRBY", "s", "1", "a"], ["ZREM", "s", "a"], ["ZCARD", "s"],
                     ["ZSCORE", "s", "a"], ["ZMSCORE", "s", "a"], ["ZRANK", "s", "a"], ["ZREVRANK", "s", "a"],
                     ["ZCOUNT", "s", "0", "1"], ["ZLEXCOUNT", "s", "-", "+"], ["ZRANGE", "s", "0", "-1"],
                     ["ZRANGE", "s", "0", "1", "BYSCORE"], ["ZRANGESTORE", "d", "s", "0", "-1"],
                     ["ZREVRANGE", "s", "0", "-1"], ["ZRANGEBYSCORE", "s", "0", "1"],
                     ["ZREVRANGEBYSCORE", "s", "1", "0"], ["ZRANGEBYLEX", "s", "-", "+"],
                     ["ZREVRANGEBYLEX", "s", "+", "-"], ["ZREMRANGEBYRANK", "s", "0", "1"],
                     ["ZREMRANGEBYSCORE", "s", "0", "1"], ["ZREMRANGEBYLEX", "s", "-", "+"], ["ZPOPMIN", "s"],
                     ["ZPOPMAX", "s", "2"], ["ZRANDMEMBER", "s"], ["ZRANDMEMBER", "s", "2"], ["ZSCAN", "s", "0"],
                     ["ZUNION", "2", "z", "s"], ["ZINTER", "2", "z", "s"], ["ZDIFF", "2", "z", "s"],
                     ["ZUNIONSTORE", "d", "2", "z", "s"], ["ZINTERSTORE", "d", "1", "s"],
                     ["ZDIFFSTORE", "d", "2", "s", "z"], ["ZINTERCARD", "1", "s"],
                     ["ZADD", "s", "x", "a"], ["ZADD", "s", "NX", "XX", "1", "a"]):
            p.run(*args)
        p.run("GET", "s")
        p.run("EXISTS", "d")


def test_binary_and_special_members():
    with Pair() as p:
        members = ["", "a/b", ".", "..", ".hidden", "x\x00y", b"\xff\xfe", "%", "%41", "sp ace", "~tilde",
                   "new\nline", "a" * 70, "_", "0_1", "é", b"\x80"]
        args = []
        for i, m in enumerate(members):
            args += [str(i % 3), m]
        p.run("ZADD", "bin", *args)
        p.run("ZRANGE", "bin", "0", "-1", "WITHSCORES")
        p.run("ZRANGE", "bin", "-", "+", "BYLEX")
        for m in members:
            p.run("ZSCORE", "bin", m)
            p.run("ZRANK", "bin", m)
        p.run("ZMSCORE", "bin", *members)
        # lex ranges are defined for equal scores only
        p.run("ZADD", "binlex", *sum([["0", m] for m in members], []))
        p.run("ZRANGEBYLEX", "binlex", "[x\x00", "(x\x01")
        p.run("ZRANGEBYLEX", "binlex", b"(\x80", "+")
        p.run("ZLEXCOUNT", "binlex", "[.", "(\x00")
        p.run("ZREM", "bin", "x\x00y", "", "..")
        p.run("ZRANGE", "bin", "0", "-1")
        # a member over 64 bytes makes Redis leave its compact encoding: compare whole iterations
        assert full_scan(p.d, "bin")[0] == full_scan(p.r, "bin")[0]
        # member names are file names escaped as keys are; the scores/ names carry the same escapes
        d = keydir(p, "bin")
        values = os.listdir(os.path.join(d, "values"))
        assert "a%2Fb" in values and "%2E" in values and "%2Ehidden" in values and "%25" in values
        assert "%FF%FE" in values and not any(n in (".", "..") for n in values)
        scores = os.listdir(os.path.join(d, "scores"))
        assert "%s_a%%2Fb" % hexscore(1) in scores
        # a key name that needs escaping
        p.run("ZADD", "k/e y", "1", "m")
        assert os.path.isdir(os.path.join(p.dredis.db_dir(0), "k%2Fe%20y", "scores"))
        p.run("ZRANGE", "k/e y", "0", "-1", "WITHSCORES")


def test_one_megabyte_members():
    with Pair() as p:
        big1 = "a" * (1 << 20)
        big2 = "a" * ((1 << 20) - 1) + "b"
        big3 = "\x00" * (1 << 20)
        p.run("ZADD", "z", "2", big1, "2", big2, "1", big3, "3", "small")
        assert p.d.execute("ZSCORE", "z", big2) == b"2"
        p.run("ZRANK", "z", big2)
        p.run("ZREVRANK", "z", big1)
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZRANGEBYLEX", "z", "-", "+")
        p.run("ZCOUNT", "z", "2", "2")
        p.run("ZINCRBY", "z", "1.5", big1)
        p.run("ZRANGE", "z", "0", "-1")
        d = keydir(p, "z")
        # long names are shortened to a digest; the full name is kept in .names
        vals = os.listdir(os.path.join(d, "values"))
        assert any("~" in n for n in vals)
        names = os.listdir(os.path.join(d, "values", ".names"))
        assert len(names) == 3
        assert sorted(len(read(os.path.join(d, "values", ".names", n))) for n in names) == [1 << 20] * 3
        sc = listdir(os.path.join(d, "scores"))
        assert len(sc) == 4
        assert sc[0].startswith(hexscore(1) + "_")               # the prefix keeps the score order
        p.run("ZREM", "z", big2)
        p.run("ZPOPMAX", "z")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        assert len(os.listdir(os.path.join(d, "values", ".names"))) == 1
        assert len(os.listdir(os.path.join(d, "scores", ".names"))) == 1
        p.dredis.restart()
        p.d = p.dredis.client()
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZRANK", "z", big3)


def test_equal_scores_order_by_member_bytes():
    with Pair() as p:
        rnd = random.Random(5)
        ms = [bytes(rnd.choice(b"ab\x00\xff") for _ in range(rnd.randint(0, 4))) for _ in range(60)]
        for m in ms:
            p.run("ZADD", "z", "7", m)
        p.run("ZRANGE", "z", "0", "-1")
        p.run("ZREVRANGE", "z", "0", "-1")
        p.run("ZRANGEBYLEX", "z", "[a", "(b")
        p.run("ZADD", "z", "7.000000000000001", "\x00")
        p.run("ZRANGE", "z", "-3", "-1", "WITHSCORES")


def test_arity_errors():
    with Pair() as p:
        for args in (["ZADD", "z", "1"], ["ZINCRBY", "z"], ["ZREM", "z"], ["ZCARD"], ["ZSCORE", "z"],
                     ["ZMSCORE", "z"], ["ZRANK", "z"], ["ZREVRANK", "z", "a", "b"], ["ZCOUNT", "z", "1"],
                     ["ZLEXCOUNT", "z"], ["ZRANGE", "z", "0"], ["ZRANGESTORE", "d", "z", "0"],
                     ["ZREVRANGE", "z", "0"], ["ZRANGEBYSCORE", "z"], ["ZREVRANGEBYSCORE", "z", "1"],
                     ["ZRANGEBYLEX", "z", "-"], ["ZREVRANGEBYLEX", "z"], ["ZREMRANGEBYRANK", "z", "0"],
                     ["ZREMRANGEBYSCORE", "z", "0", "1", "2"], ["ZREMRANGEBYLEX", "z"], ["ZPOPMIN"], ["ZPOPMAX"],
                     ["ZRANDMEMBER"], ["ZSCAN", "z"], ["ZUNIONSTORE", "d", "1"], ["ZINTERSTORE", "d"],
                     ["ZDIFFSTORE", "d", "1"], ["ZUNION", "1"], ["ZINTER"], ["ZDIFF", "1"], ["ZINTERCARD", "1"]):
            p.run(*args)


# ---------------------------------------------------------------- the tree

def test_tree_after_each_kind_of_write():
    with Pair() as p:
        p.run("ZADD", "z", "1", "a", "2.5", "b", "-3", "c")
        check_tree(p, "z", {"a": "1", "b": "2.5", "c": "-3"})
        p.run("ZADD", "z", "1.1", "a", "inf", "d")
        check_tree(p, "z", {"a": "1.1000000000000001", "b": "2.5", "c": "-3", "d": "inf"})
        p.run("ZINCRBY", "z", "-10", "b")
        check_tree(p, "z", {"a": "1.1000000000000001", "b": "-7.5", "c": "-3", "d": "inf"})
        p.run("ZADD", "z", "-0", "e", "-inf", "f")
        check_tree(p, "z", {"a": "1.1000000000000001", "b": "-7.5", "c": "-3", "d": "inf", "e": "0",
                            "f": "-inf"})
        p.run("ZREM", "z", "a", "nope")
        check_tree(p, "z", {"b": "-7.5", "c": "-3", "d": "inf", "e": "0", "f": "-inf"})
        p.run("ZPOPMIN", "z")
        p.run("ZPOPMAX", "z")
        check_tree(p, "z", {"b": "-7.5", "c": "-3", "e": "0"})
        p.run("ZADD", "z", "5", "g", "6", "h")
        p.run("ZREMRANGEBYSCORE", "z", "(0", "5")
        check_tree(p, "z", {"b": "-7.5", "c": "-3", "e": "0", "h": "6"})
        p.run("ZREMRANGEBYRANK", "z", "0", "0")
        check_tree(p, "z", {"c": "-3", "e": "0", "h": "6"})
        p.run("ZADD", "l", "0", "a", "0", "b", "0", "c")
        p.run("ZREMRANGEBYLEX", "l", "[b", "+")
        check_tree(p, "l", {"a": "0"})
        p.run("ZUNIONSTORE", "u", "2", "z", "l", "WEIGHTS", "2", "1")
        check_tree(p, "u", {"a": "0", "c": "-6", "e": "0", "h": "12"})
        p.run("ZRANGESTORE", "r", "u", "1", "2")
        check_tree(p, "r", {"a": "0", "e": "0"})
        p.run("ZINTERSTORE", "i", "2", "u", "r", "AGGREGATE", "MAX")
        check_tree(p, "i", {"a": "0", "e": "0"})
        p.run("ZDIFFSTORE", "df", "2", "u", "r")
        check_tree(p, "df", {"c": "-6", "h": "12"})
        # nothing is left behind in the staging area
        assert staging_leftovers(p.dredis.root_dir) == []
        # every tree is exactly type, len, values/, scores/
        for k in ("z", "l", "u", "r", "i", "df"):
            assert sorted(os.listdir(keydir(p, k))) == ["len", "scores", "type", "values"]
        # the replies agree with the trees
        for k in ("z", "l", "u", "r", "i", "df"):
            p.run("ZRANGE", k, "0", "-1", "WITHSCORES")


def test_restart_in_the_middle():
    with Pair() as p:
        fill(p, "z", 120)
        p.run("ZADD", "lex", "0", "x", "0", "y")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")            # the index is cached now
        p.run("EXPIRE", "z", "100000")
        p.dredis.restart()
        p.d = p.dredis.client()
        p.run("ZCARD", "z")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")            # rebuilt from the tree
        p.run("ZRANK", "z", "m0042")
        p.run("ZRANGEBYSCORE", "z", "(-3", "4", "LIMIT", "5", "10")
        assert 0 < p.d.execute("TTL", "z") <= 100000
        p.run("ZADD", "z", "100", "m0001", "-100", "new")
        p.run("ZREM", "z", "m0002")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.dredis.restart()
        p.d = p.dredis.client()
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZRANGE", "lex", "-", "+", "BYLEX")


# ---------------------------------------------------------------- the index cache

def test_small_cache_eviction_and_rebuild():
    """DREDIS_ZSET_CACHE_MEMBERS=10 with sets of 3 to 300 members used in
    turn: indexes are evicted, rebuilt, or (bigger than the cache) built for
    one command only; every reply must still be Redis's."""
    with Pair(env={"DREDIS_ZSET_CACHE_MEMBERS": "10"}) as p:
        sizes = {"s3": 3, "s4": 4, "s6": 6, "s9": 9, "s12": 12, "s40": 40, "s300": 300}
        for i, (k, n) in enumerate(sizes.items()):
            fill(p, k, n, seed=i)
        rnd = random.Random(99)
        keys = list(sizes)
        for step in range(500):
            k = rnd.choice(keys)
            op = rnd.randrange(12)
            m = "m%04d" % rnd.randrange(320)
            s = str(rnd.randint(-60, 60) / 4)
            if op == 0:
                p.run("ZADD", k, s, m)
            elif op == 1:
                p.run("ZREM", k, m)
            elif op == 2:
                p.run("ZINCRBY", k, s, m)
            elif op == 3:
                p.run("ZRANK", k, m)
            elif op == 4:
                p.run("ZRANGE", k, str(rnd.randint(-10, 10)), str(rnd.randint(-10, 10)), "WITHSCORES")
            elif op == 5:
                p.run("ZCOUNT", k, str(rnd.randint(-15, 0)), "(" + str(rnd.randint(0, 15)))
            elif op == 6:
                p.run("ZRANGEBYSCORE", k, "-inf", "+inf", "WITHSCORES", "LIMIT", str(rnd.randint(0, 5)), "4")
            elif op == 7:
                p.run("ZREVRANK", k, m)
            elif op == 8:
                if rnd.random() < 0.3:
                    p.run("ZPOPMIN", k)
            elif op == 9:
                p.run("ZADD", k, "GT", "CH", s, m, s, "x" + m)
            elif op == 10:
                p.run("ZUNIONSTORE", "u", "2", k, rnd.choice(keys))
                p.run("ZRANGE", "u", "0", "5", "WITHSCORES")
            else:
                if rnd.random() < 0.2:
                    p.run("ZREMRANGEBYRANK", k, "0", "1")
        for k in keys:
            p.run("ZRANGE", k, "0", "-1", "WITHSCORES")
            p.run("ZCARD", k)
        info = cache_info(p.d)
        assert info["budget"] == 10 and info["members"] <= 10
        assert info["evictions"] > 0 and info["builds"] > 50
        # exactly: LRU order, and a rebuild after an eviction
        p.run("FLUSHALL")
        for k, n in (("t3", 3), ("t4", 4), ("t5", 5)):
            fill(p, k, n, seed=n)
        before = cache_info(p.d)
        p.run("ZRANGE", "t3", "0", "-1")
        p.run("ZRANGE", "t4", "0", "-1")
        assert cache_info(p.d)["members"] == 7
        p.run("ZRANGE", "t5", "0", "-1", "WITHSCORES")         # evicts t3, the least recently used
        info = cache_info(p.d)
        assert (info["members"], info["keys"]) == (9, 2)
        assert info["evictions"] == before["evictions"] + 1
        p.run("ZRANK", "t4", "m0001")                          # cached: no build
        assert cache_info(p.d)["builds"] == before["builds"] + 3
        p.run("ZADD", "t3", "100", "m0000", "7", "added")      # t3 not cached: only its files change
        p.run("ZRANGE", "t3", "0", "-1", "WITHSCORES")         # rebuilt; evicts t5 (t4 was used after it)
        info = cache_info(p.d)
        assert info["builds"] == before["builds"] + 4
        assert (info["members"], info["keys"]) == (8, 2)
        p.run("ZADD", "t4", "1", "x1", "2", "x2")              # the cached t4 grows in place
        assert cache_info(p.d)["members"] == 10
        p.run("ZADD", "t4", "3", "x3")                         # over the budget together: t3 goes
        info = cache_info(p.d)
        assert (info["members"], info["keys"]) == (7, 1)
        p.run("ZRANGE", "t4", "0", "-1", "WITHSCORES")
        assert cache_info(p.d)["builds"] == before["builds"] + 4


def cache_info(c):
    info = {}
    for line in c.execute("INFO", "memory").decode().split("\r\n"):
        if line.startswith("dredis_zset_index_"):
            name, value = line.split(":")
            info[name.replace("dredis_zset_index_cache_", "").replace("dredis_zset_index_", "")] = int(value)
    return info


def test_cache_dropped_on_del_rename_expire_flush():
    with Pair() as p:
        def cached(k, *args):
            p.run("ZADD", k, *args)
            p.run("ZRANGE", k, "0", "-1", "WITHSCORES")          # builds and caches the index
            builds = cache_info(p.d)["builds"]
            p.run("ZRANGE", k, "0", "-1")
            assert cache_info(p.d)["builds"] == builds            # served from the cache

        cached("a", "1", "x", "2", "y")
        p.run("DEL", "a")
        p.run("ZADD", "a", "5", "fresh")
        p.run("ZRANGE", "a", "0", "-1", "WITHSCORES")
        p.run("ZRANK", "a", "x")
        # rename over another cached set, then reuse the source name
        cached("src", "1", "s1", "2", "s2")
        cached("dst", "9", "d1")
        p.run("RENAME", "src", "dst")
        p.run("ZRANGE", "dst", "0", "-1", "WITHSCORES")
        p.run("ZADD", "src", "3", "other")
        p.run("ZRANGE", "src", "0", "-1", "WITHSCORES")
        p.run("RENAMENX", "dst", "src")
        # replaced by another type, then a sorted set again
        cached("b", "1", "x")
        p.run("SET", "b", "str")
        p.run("ZRANGE", "b", "0", "-1")
        p.run("DEL", "b")
        p.run("ZADD", "b", "2", "y")
        p.run("ZRANGE", "b", "0", "-1", "WITHSCORES")
        # an expiry in the past deletes at once; a short TTL lapses lazily
        cached("e", "1", "x", "2", "y")
        p.run("EXPIREAT", "e", "1")
        p.run("ZADD", "e", "3", "z")
        p.run("ZRANGE", "e", "0", "-1", "WITHSCORES")
        cached("t", "1", "x", "2", "y")
        p.run("PEXPIRE", "t", "30")
        wait_until(lambda: p.d.execute("EXISTS", "t") == 0 and p.r.execute("EXISTS", "t") == 0, what="expiry")
        p.run("ZADD", "t", "7", "q")
        p.run("ZRANGE", "t", "0", "-1", "WITHSCORES")
        # a STORE over a cached destination
        cached("dest", "1", "old1", "2", "old2")
        p.run("ZUNIONSTORE", "dest", "1", "e")
        p.run("ZRANGE", "dest", "0", "-1", "WITHSCORES")
        p.run("ZRANK", "dest", "old1")
        # COPY and MOVE
        cached("c", "1", "x")
        p.run("COPY", "c", "c2")
        p.run("ZADD", "c2", "2", "y")
        p.run("ZRANGE", "c", "0", "-1", "WITHSCORES")
        p.run("ZRANGE", "c2", "0", "-1", "WITHSCORES")
        cached("c2", "3", "z")
        p.run("COPY", "c", "c2", "REPLACE")
        p.run("ZRANGE", "c2", "0", "-1", "WITHSCORES")
        p.run("MOVE", "c", "1")
        p.run("ZADD", "c", "4", "w")
        p.run("ZRANGE", "c", "0", "-1", "WITHSCORES")
        p.run("SELECT", "1")
        p.run("ZRANGE", "c", "0", "-1", "WITHSCORES")
        cached("c", "5", "v")
        p.run("SELECT", "0")
        p.run("SWAPDB", "0", "1")
        p.run("ZRANGE", "c", "0", "-1", "WITHSCORES")
        p.run("SELECT", "1")
        p.run("ZRANGE", "c", "0", "-1", "WITHSCORES")
        p.run("SELECT", "0")
        # flushes
        cached("f", "1", "x")
        p.run("FLUSHDB")
        p.run("ZADD", "f", "2", "y")
        p.run("ZRANGE", "f", "0", "-1", "WITHSCORES")
        p.run("FLUSHALL")
        p.run("ZADD", "f", "3", "z")
        p.run("ZRANGE", "f", "0", "-1", "WITHSCORES")
        assert cache_info(p.d)["keys"] == 1


def test_interrupted_writes_repaired_on_index_build():
    """A crash can leave an extra scores/ entry (a member being added,
    moved or removed) or a stale len; building the index notices (the
    scores/ and values/ counts differ) and repairs the tree."""
    with Dredis() as s:
        with s.client() as c:
            assert c.execute("ZADD", "z", "1", "a", "2", "b", "3", "c") == 3
        s.stop()
        d = os.path.join(s.db_dir(0), "z")
        # b was being moved to 9: the new entry was written, values/ not yet
        open(os.path.join(d, "scores", "%s_b" % hexscore(9)), "w").close()
        # ghost was being added: only its scores/ entry exists
        open(os.path.join(d, "scores", "%s_ghost" % hexscore(0)), "w").close()
        # c was being removed: values/ is gone, the scores/ entry and len remain
        os.unlink(os.path.join(d, "values", "c"))
        s.start()
        with s.client() as c:
            assert c.execute("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
            assert c.execute("ZCARD", "z") == 2
            assert c.execute("ZRANK", "z", "b") == 1
        assert listdir(os.path.join(d, "scores")) == sorted(["%s_a" % hexscore(1), "%s_b" % hexscore(2)])
        assert read(os.path.join(d, "len")) == b"2"
        s.stop()
        # a member whose scores/ entry is missing, and a len left behind
        os.unlink(os.path.join(d, "scores", "%s_a" % hexscore(1)))
        with open(os.path.join(d, "values", "n"), "w") as f:
            f.write("-5")
        open(os.path.join(d, "scores", "%s_n" % hexscore(-5)), "w").close()
        with open(os.path.join(d, "len"), "w") as f:
            f.write("7")
        s.start()
        with s.client() as c:
            assert c.execute("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"n", b"-5", b"a", b"1", b"b", b"2"]
            assert c.execute("ZCARD", "z") == 3
        assert listdir(os.path.join(d, "scores")) == sorted(
            ["%s_a" % hexscore(1), "%s_b" % hexscore(2), "%s_n" % hexscore(-5)])
        assert "repaired" in s.output()


def test_cache_setting_validated():
    for bad in ("abc", "-1", "1.5", "10000000000", " 5"):
        root = os.path.join("/tmp", "dredis-zcfg-%d-%s" % (os.getpid(), abs(hash(bad))))
        env = dict(os.environ, ROOT_DIR=root, DREDIS_PORT="1", DREDIS_ZSET_CACHE_MEMBERS=bad)
        try:
            r = subprocess.run([DREDIS_SERVER], env=env, capture_output=True, timeout=20)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        assert r.returncode != 0
        assert b"DREDIS_ZSET_CACHE_MEMBERS" in r.stdout + r.stderr
    # 0 is valid: no index is cached, every command builds its own
    with Pair(env={"DREDIS_ZSET_CACHE_MEMBERS": "0"}) as p:
        fill(p, "z", 30)
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")
        p.run("ZADD", "z", "100", "m0003")
        p.run("ZRANK", "z", "m0003")
        p.run("ZPOPMIN", "z", "4")
        p.run("ZRANGE", "z", "0", "-1", "WITHSCORES")


def test_random_operations_against_redis():
    """Many random operations on a few keys with the default cache."""
    with Pair() as p:
        rnd = random.Random(2024)
        keys = ["k1", "k2", "k3"]
        for step in range(600):
            k = rnd.choice(keys)
            m = "m%d" % rnd.randrange(40)
            s = rnd.choice(["1", "2", "-1", "0.5", "inf", "-inf", str(rnd.randint(-9, 9))])
            op = rnd.randrange(14)
            if op < 3:
                p.run("ZADD", k, s, m, rnd.choice(["1", "2"]), "m%d" % rnd.randrange(40))
            elif op == 3:
                p.run("ZINCRBY", k, s, m)
            elif op == 4:
                p.run("ZREM", k, m, "m%d" % rnd.randrange(40))
            elif op == 5:
                p.run("ZRANGE", k, "0", "-1", "WITHSCORES")
            elif op == 6:
                p.run("ZRANGEBYSCORE", k, "(" + s if s[0] != "-" else s, "+inf", "LIMIT", "1", "3")
            elif op == 7:
                p.run("ZREVRANK", k, m)
            elif op == 8:
                p.run("ZREMRANGEBYSCORE", k, "0", "0.5")
            elif op == 9:
                p.run("ZPOPMAX", k, str(rnd.randint(0, 2)))
            elif op == 10:
                p.run("ZINTERSTORE", rnd.choice(keys), "2", k, rnd.choice(keys), "AGGREGATE", "MIN")
            elif op == 11:
                p.run("ZCOUNT", k, "-inf", s)
            elif op == 12:
                p.run("ZMSCORE", k, m, "m1", "m2")
            else:
                p.run("ZLEXCOUNT", k, "-", "+")
        for k in keys:
            p.run("ZRANGE", k, "0", "-1", "WITHSCORES")


# ---------------------------------------------------------------- ZMPOP and the blocking pops

def test_zmpop():
    with Pair() as p:
        p.run("ZADD", "a", "1", "x", "2", "y", "3", "z")
        p.run("ZADD", "b", "5", "q")
        p.run("ZMPOP", "2", "nokey", "a", "MIN")
        p.run("ZMPOP", "2", "a", "b", "max", "COUNT", "10")
        p.run("ZMPOP", "2", "a", "b", "MIN", "COUNT", "10")
        p.run("ZMPOP", "2", "a", "b", "MIN")
        p.run("EXISTS", "a", "b")
        for args in (["0", "a", "MIN"], ["-1", "a", "MIN"], ["x", "a", "MIN"], ["2", "a", "MIN"],
                     ["1", "a", "FOO"], ["1", "a", "MIN", "COUNT", "0"], ["1", "a", "MIN", "COUNT", "-1"],
                     ["1", "a", "MIN", "COUNT"], ["1", "a", "MIN", "COUNT", "1", "COUNT", "2"],
                     ["1", "a", "MIN", "junk"], ["1", "a"]):
            p.run("ZMPOP", *args)
        p.run("SET", "s", "x")
        p.run("ZADD", "c", "1", "x")
        p.run("ZMPOP", "2", "s", "c", "MIN")                    # the first existing key decides
        p.run("ZMPOP", "2", "c", "s", "MIN")
        resp3(p)
        p.run("ZADD", "d", "1", "x", "2", "y")
        p.run("ZMPOP", "1", "d", "MAX", "COUNT", "2")
        p.run("ZMPOP", "1", "d", "MAX")


def test_blocking_pops():
    with Pair() as p:
        p.run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        p.run("BZPOPMIN", "nokey", "z", "0")
        p.run("BZPOPMAX", "z", "0")
        p.run("BZMPOP", "0", "2", "nokey", "z", "MIN", "COUNT", "5")
        p.run("EXISTS", "z")
        # nothing to pop: wait for a push from another client
        for srv, c in ((p.dredis, p.d), (p.redis, p.r)):
            c.send("BZPOPMIN", "e1", "e2", "0")
            with srv.client() as other:
                wait_until(lambda: b"blocked_clients:1" in other.execute("INFO", "clients"), what="blocked")
                assert other.execute("ZADD", "e2", "7", "m", "8", "n") == 2
        assert p.d.read_reply() == p.r.read_reply() == [b"e2", b"m", b"7"]
        p.run("ZRANGE", "e2", "0", "-1", "WITHSCORES")
        for srv, c in ((p.dredis, p.d), (p.redis, p.r)):
            c.send("BZMPOP", "0", "1", "e3", "MAX", "COUNT", "2")
            with srv.client() as other:
                wait_until(lambda: b"blocked_clients:1" in other.execute("INFO", "clients"), what="blocked")
                other.execute("ZADD", "e3", "1", "x", "2", "y", "3", "z")
        assert p.d.read_reply() == p.r.read_reply() == [b"e3", [[b"z", b"3"], [b"y", b"2"]]]
        # a timeout answers nil; inside MULTI the answer is at once
        p.run("BZPOPMIN", "never", "0.05")
        p.run("BZMPOP", "0.05", "1", "never", "MIN")
        p.run("MULTI")
        p.run("BZPOPMAX", "never", "0")
        p.run("BZMPOP", "0", "1", "never", "MIN")
        p.run("EXEC")
        # errors
        p.run("SET", "s", "x")
        for args in (["BZPOPMIN", "s", "0"], ["BZPOPMIN", "z", "-1"], ["BZPOPMIN", "z", "x"],
                     ["BZPOPMAX", "z"], ["BZMPOP", "x", "1", "z", "MIN"], ["BZMPOP", "0", "0", "z", "MIN"],
                     ["BZMPOP", "0", "1", "s", "MIN"], ["BZMPOP", "-1", "1", "z", "MIN"]):
            p.run(*args)
        resp3(p)
        p.run("ZADD", "r", "1.5", "a")
        p.run("BZPOPMIN", "r", "0")


def test_failed_write_rolled_back_and_cache_dropped():
    """A storage error half way through a ZADD: the store rolls the command
    back, and the cached index must not keep the half that was done."""
    with Dredis() as s, s.client() as c:
        assert c.execute("ZADD", "z", "1", "a", "2", "b") == 2
        assert c.execute("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]   # cached
        bad = os.path.join(s.db_dir(0), "z", "values", "x")
        os.mkdir(bad)                                   # member x cannot be read: a directory
        r = c.execute("ZADD", "z", "5", "a", "0", "c", "7", "x")
        assert isinstance(r, RespError) and r.message.startswith("ERR storage error")
        os.rmdir(bad)
        assert c.execute("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
        assert c.execute("ZSCORE", "z", "a") == b"1"
        assert c.execute("ZCARD", "z") == 2
        assert c.execute("ZADD", "z", "3", "c") == 1
        assert c.execute("ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c"]


def test_watch_sees_sorted_set_changes():
    """A change to a WATCHed sorted set fails the EXEC; a command that
    changes nothing does not, as in Redis."""
    with Pair() as p:
        p.run("ZADD", "z", "1", "a", "2", "b")
        for change, fails in ((["ZADD", "z", "NX", "5", "a"], False), (["ZADD", "z", "1", "a"], False),
                              (["ZREM", "z", "nope"], False), (["ZINCRBY", "z", "0", "a"], False),
                              (["ZRANGE", "z", "0", "-1"], False), (["ZADD", "z", "3", "a"], True),
                              (["ZREM", "z", "b"], True), (["ZADD", "z", "9", "new"], True),
                              (["ZPOPMIN", "z"], True), (["ZREMRANGEBYSCORE", "z", "100", "200"], False),
                              (["ZUNIONSTORE", "z", "1", "z"], True)):
            p.run("WATCH", "z")
            for srv in (p.dredis, p.redis):
                with srv.client() as other:
                    other.execute(*change)
            p.run("MULTI")
            p.run("ZCARD", "z")
            r = p.run("EXEC")
            assert (r is None) == fails, (change, r)


def test_writes_touch_only_their_members():
    """ZADD, ZINCRBY and ZREM of one member replace only that member's files
    and len, whatever the size of the set; reads replace nothing."""
    with Dredis() as s, s.client() as c:
        for i in range(0, 2000, 500):
            c.execute("ZADD", "z", *sum([[str(j % 97), "m%d" % j] for j in range(i, i + 500)], []))
        c.execute("ZRANGE", "z", "0", "10")
        d = os.path.join(s.db_dir(0), "z")

        def snapshot():
            out = {}
            for sub in ("values", "scores", ""):
                for n in os.listdir(os.path.join(d, sub)):
                    path = os.path.join(d, sub, n)
                    if os.path.isfile(path):
                        st = os.stat(path)
                        out[os.path.join(sub, n)] = (st.st_ino, st.st_mtime_ns)
            return out

        def changes(*cmd):
            before = snapshot()
            reply = c.execute(*cmd)
            after = snapshot()
            changed = {n for n in before.keys() & after.keys() if before[n] != after[n]}
            return reply, changed, set(before) - set(after), set(after) - set(before)

        h = hexscore
        assert changes("ZADD", "z", "1.5", "new") == (1, {"len"}, set(), {"values/new", "scores/%s_new" % h(1.5)})
        assert changes("ZADD", "z", "7", "m5") == (0, {"values/m5"}, {"scores/%s_m5" % h(5)}, {"scores/%s_m5" % h(7)})
        assert changes("ZINCRBY", "z", "1", "m5") == (b"8", {"values/m5"}, {"scores/%s_m5" % h(7)},
                                                     {"scores/%s_m5" % h(8)})
        assert changes("ZREM", "z", "m6") == (1, {"len"}, {"values/m6", "scores/%s_m6" % h(6)}, set())
        for cmd in (("ZSCORE", "z", "m7"), ("ZADD", "z", "NX", "1", "m7"), ("ZRANK", "z", "m7"),
                    ("ZRANGE", "z", "0", "-1"), ("ZCOUNT", "z", "1", "5"), ("ZCARD", "z")):
            assert changes(*cmd)[1:] == (set(), set(), set()), cmd
