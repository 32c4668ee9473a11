"""Lists: every command and option compared with a real redis-server, the
layout on disk (docs/storage-format.md, "Lists"), restarts, crash leftovers,
and a randomized differential run."""
import os
import random

from dredis_test import Dredis, Pair, RespError, files_under, staging_leftovers, wait_until

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
LONG_MIN = "-9223372036854775808"
LONG_MAX = "9223372036854775807"
BAD_INTS = ["x", "", "1.0", "+1", "01", " 1", "1 ", "9223372036854775808", "-9223372036854775809"]
BINARY = bytes(range(256))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def key_dir(server, key, db=0):
    return os.path.join(server.db_dir(db), key)


SEG = 64  # elements per segment file


def parse_segment(data):
    """A segment file's (first seq, [elements]): "<seq>\r\n" then the
    elements as RESP bulk strings."""
    nl = data.index(b"\r\n")
    first, p, out = int(data[:nl]), nl + 2, []
    while p < len(data):
        assert data[p:p + 1] == b"$", data[p:p + 20]
        nl = data.index(b"\r\n", p)
        n = int(data[p + 1:nl])
        out.append(data[nl + 2:nl + 2 + n])
        assert data[nl + 2 + n:nl + 4 + n] == b"\r\n"
        p = nl + 4 + n
    return first, out


def list_tree(server, key, db=0):
    """The list key's directory as (head-seg, tail-seg, {n: (first seq,
    [elements])}, other names)."""
    d = key_dir(server, key, db)
    assert read(os.path.join(d, "type")) == b"list"
    hseg = int(read(os.path.join(d, "head-seg")))
    tseg = int(read(os.path.join(d, "tail-seg")))
    segs = {int(n): parse_segment(read(os.path.join(d, "segments", n)))
            for n in os.listdir(os.path.join(d, "segments"))}
    others = sorted(set(os.listdir(d)) - {"type", "head-seg", "tail-seg", "segments"})
    return hseg, tseg, segs, others


def list_seqs(server, key, db=0):
    """{seq: element} of the list key, from its segment files."""
    _, _, segs, _ = list_tree(server, key, db)
    return {first + i: e for first, els in segs.values() for i, e in enumerate(els)}


def check_tree(server, key, expected, db=0):
    """The directory holds exactly expected, in segments head-seg ..
    tail-seg, each holding the seqs of its own 64-slot range, every one
    but the ends full, with no other file. Returns the head seq."""
    hseg, tseg, segs, others = list_tree(server, key, db)
    assert others == [], others
    assert sorted(segs) == list(range(hseg, tseg + 1)), (sorted(segs), hseg, tseg)
    got = []
    for n in range(hseg, tseg + 1):
        first, els = segs[n]
        assert els and first // SEG == n and (first + len(els) - 1) // SEG == n, (n, first, len(els))
        if n > hseg:
            assert first == n * SEG, (n, first)
        if n < tseg:
            assert first + len(els) == (n + 1) * SEG, (n, first, len(els))
        got += els
    assert got == expected
    return segs[hseg][0]


def gone(server, key, db=0):
    return not os.path.exists(key_dir(server, key, db))


def both_lists(p, key):
    return p.run("LRANGE", key, 0, -1)


# ---------------------------------------------------------------------------
# pushes, LLEN, LRANGE, LINDEX
# ---------------------------------------------------------------------------

def test_push_llen_lrange():
    with Pair() as p:
        assert p.run("RPUSH", "l", "a", "b", "c") == 3
        assert p.run("LPUSH", "l", "x", "y") == 5
        assert p.run("RPUSH", "l", "d") == 6
        assert p.run("LLEN", "l") == 6
        assert p.run("LLEN", "missing") == 0
        assert p.run("LRANGE", "l", 0, -1) == [b"y", b"x", b"a", b"b", b"c", b"d"]
        for start, stop in [(0, 0), (1, 3), (-3, -1), (-100, 100), (2, 1), (5, 5), (6, 10), (-1, -2),
                            (0, -7), (-7, 0), (3, -3), (LONG_MIN, LONG_MAX), (LONG_MAX, LONG_MIN), (-6, -6)]:
            p.run("LRANGE", "l", start, stop)
        p.run("LRANGE", "missing", 0, -1)
        for bad in BAD_INTS:
            p.run("LRANGE", "l", bad, 1)
            p.run("LRANGE", "l", 0, bad)
            p.run("LRANGE", "missing", bad, 1)
        p.run("LPUSH", "l")
        p.run("RPUSH", "l")
        p.run("LLEN")
        p.run("LLEN", "l", "x")
        p.run("LRANGE", "l", 0)
        check_tree(p.dredis, "l", [b"y", b"x", b"a", b"b", b"c", b"d"])


def test_pushx():
    with Pair() as p:
        assert p.run("LPUSHX", "l", "a") == 0
        assert p.run("RPUSHX", "l", "a", "b") == 0
        assert p.run("EXISTS", "l") == 0
        assert gone(p.dredis, "l")
        p.run("RPUSH", "l", "m")
        assert p.run("LPUSHX", "l", "a", "b") == 3
        assert p.run("RPUSHX", "l", "y", "z") == 5
        both_lists(p, "l")
        p.run("SET", "s", "v")
        assert p.run("LPUSHX", "s", "a") == WRONGTYPE
        assert p.run("RPUSHX", "s", "a") == WRONGTYPE
        p.run("LPUSHX", "l")
        check_tree(p.dredis, "l", [b"b", b"a", b"m", b"y", b"z"])


def test_lindex():
    with Pair() as p:
        p.run("RPUSH", "l", "a", "b", "c", "d")
        for i in [0, 1, 3, 4, 100, -1, -4, -5, -100, LONG_MIN, LONG_MAX]:
            p.run("LINDEX", "l", i)
        for bad in BAD_INTS:
            p.run("LINDEX", "l", bad)
            p.run("LINDEX", "missing", bad)
        assert p.run("LINDEX", "missing", 0) is None
        p.run("SET", "s", "v")
        assert p.run("LINDEX", "s", 0) == WRONGTYPE
        assert p.run("LINDEX", "s", "x") == WRONGTYPE


# ---------------------------------------------------------------------------
# pops
# ---------------------------------------------------------------------------

def test_pop_single_and_count():
    with Pair() as p:
        p.run("RPUSH", "l", *"abcdefghij")
        assert p.run("LPOP", "l") == b"a"
        assert p.run("RPOP", "l") == b"j"
        assert p.run("LPOP", "l", 2) == [b"b", b"c"]
        assert p.run("RPOP", "l", 2) == [b"i", b"h"]
        assert p.run("LPOP", "l", 0) == []
        assert p.run("RPOP", "l", 0) == []
        assert p.run("LPOP", "l", 1) == [b"d"]
        for cmd in ("LPOP", "RPOP"):
            assert p.run(cmd, "l", -1) == RespError("ERR value is out of range, must be positive")
            for bad in BAD_INTS:
                p.run(cmd, "l", bad)
                p.run(cmd, "missing", bad)
            p.run(cmd, "l", 1, 2)
            p.run(cmd)
            assert p.run(cmd, "missing") is None
            assert p.run(cmd, "missing", 1) is None  # null array
            assert p.run(cmd, "missing", 0) is None
        both_lists(p, "l")
        check_tree(p.dredis, "l", [b"e", b"f", b"g"])
        assert p.run("RPOP", "l", 100) == [b"g", b"f", b"e"]
        assert p.run("EXISTS", "l") == 0
        assert gone(p.dredis, "l")
        p.run("RPUSH", "l", "a", "b")
        assert p.run("LPOP", "l", LONG_MAX) == [b"a", b"b"]
        assert gone(p.dredis, "l")
        p.run("RPUSH", "l", "a")
        assert p.run("RPOP", "l") == b"a"
        assert gone(p.dredis, "l")
        p.run("SET", "s", "v")
        for args in (("LPOP", "s"), ("RPOP", "s"), ("LPOP", "s", 0), ("RPOP", "s", 3)):
            assert p.run(*args) == WRONGTYPE


def test_pop_replies_resp3():
    with Pair() as p:
        p.both("HELLO", "3")
        assert p.run("LPOP", "missing") is None
        assert p.run("LPOP", "missing", 2) is None
        assert p.run("LMPOP", 1, "missing", "LEFT") is None
        p.run("RPUSH", "l", "a", "b", "c")
        p.run("LPOP", "l", 2)
        p.run("LMPOP", 1, "l", "RIGHT", "COUNT", 5)
        p.run("LPOS", "missing", "a")


# ---------------------------------------------------------------------------
# LSET, LREM, LTRIM, LINSERT, LPOS
# ---------------------------------------------------------------------------

def test_lset():
    with Pair() as p:
        assert p.run("LSET", "missing", 0, "x") == RespError("ERR no such key")
        assert p.run("LSET", "missing", "x", "x") == RespError("ERR no such key")
        p.run("RPUSH", "l", "a", "b", "c")
        assert p.run("LSET", "l", 0, "A") == "OK"
        assert p.run("LSET", "l", -1, "C") == "OK"
        assert p.run("LSET", "l", 1, "") == "OK"
        for i in [3, -4, 100, LONG_MIN, LONG_MAX]:
            assert p.run("LSET", "l", i, "z") == RespError("ERR index out of range")
        for bad in BAD_INTS:
            p.run("LSET", "l", bad, "z")
        p.run("LSET", "l", 0)
        both_lists(p, "l")
        check_tree(p.dredis, "l", [b"A", b"", b"C"])
        p.run("SET", "s", "v")
        assert p.run("LSET", "s", 0, "x") == WRONGTYPE


def test_lrem():
    with Pair() as p:
        assert p.run("LREM", "missing", 0, "a") == 0
        for bad in BAD_INTS:
            p.run("LREM", "missing", bad, "a")
        base = [b"a", b"b", b"a", b"c", b"a", b"d", b"a", b"a", b"e", b"a"]
        for count in [0, 1, 2, 3, -1, -2, -3, 100, -100, LONG_MIN, LONG_MAX]:
            p.run("DEL", "l")
            p.run("RPUSH", "l", *base)
            p.run("LREM", "l", count, "a")
            expected = both_lists(p, "l")
            check_tree(p.dredis, "l", expected)
        assert p.run("LREM", "l", 0, "zz") == 0
        p.run("RPUSH", "l", *base)
        for bad in BAD_INTS:
            p.run("LREM", "l", bad, "a")
        # removals near the head (kept elements shifted from the head side)
        # and near the tail (shifted from the tail side)
        p.run("DEL", "l")
        p.run("RPUSH", "l", *[str(i % 7) for i in range(40)])
        p.run("LREM", "l", 2, "1")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LREM", "l", -2, "5")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LREM", "l", 0, "3")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        # removing every element removes the key
        p.run("DEL", "l")
        p.run("RPUSH", "l", "x", "x", "x")
        assert p.run("LREM", "l", 0, "x") == 3
        assert gone(p.dredis, "l")
        p.run("RPUSH", "l", "x", "y", "x")
        assert p.run("LREM", "l", -2, "x") == 2
        assert p.run("LREM", "l", 1, "y") == 1
        assert gone(p.dredis, "l")
        p.run("SET", "s", "v")
        assert p.run("LREM", "s", 0, "v") == WRONGTYPE
        p.run("LREM", "s", "x", "v")


def test_ltrim():
    with Pair() as p:
        assert p.run("LTRIM", "missing", 0, 1) == "OK"
        for bad in BAD_INTS:
            p.run("LTRIM", "missing", bad, 1)
            p.run("LTRIM", "missing", 0, bad)
        ranges = [(0, -1), (1, -1), (0, -2), (2, 4), (-3, -1), (-100, 100), (3, 3), (0, 0), (-1, -1),
                  (LONG_MIN, LONG_MAX)]
        for start, stop in ranges:
            p.run("DEL", "l")
            p.run("RPUSH", "l", *"abcdefgh")
            p.run("LPUSH", "l", "y", "z")
            assert p.run("LTRIM", "l", start, stop) == "OK"
            check_tree(p.dredis, "l", both_lists(p, "l"))
        for start, stop in [(5, 2), (100, 200), (0, -100), (-1, 0), (LONG_MAX, LONG_MIN), (20, -1)]:
            p.run("DEL", "l")
            p.run("RPUSH", "l", *"abcdefgh")
            assert p.run("LTRIM", "l", start, stop) == "OK"
            assert p.run("EXISTS", "l") == 0
            assert gone(p.dredis, "l")
        p.run("SET", "s", "v")
        assert p.run("LTRIM", "s", 0, 1) == WRONGTYPE


def test_linsert():
    with Pair() as p:
        assert p.run("LINSERT", "missing", "BEFORE", "a", "x") == 0
        assert p.run("LINSERT", "missing", "middle", "a", "x") == RespError("ERR syntax error")
        p.run("RPUSH", "l", *"abcdefg")
        assert p.run("LINSERT", "l", "BEFORE", "zz", "x") == -1
        assert p.run("LINSERT", "l", "sideways", "a", "x") == RespError("ERR syntax error")
        # every insertion point: both ends, both halves
        for where in ("BEFORE", "after", "After", "before"):
            for pivot in "abcdefg":
                p.run("LINSERT", "l", where, pivot, where[0] + pivot)
                check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("DEL", "one")
        p.run("RPUSH", "one", "p")
        p.run("LINSERT", "one", "BEFORE", "p", "")
        p.run("LINSERT", "one", "AFTER", "p", BINARY)
        check_tree(p.dredis, "one", both_lists(p, "one"))
        p.run("SET", "s", "v")
        assert p.run("LINSERT", "s", "BEFORE", "v", "x") == WRONGTYPE
        p.run("LINSERT", "s", "nowhere", "v", "x")
        p.run("LINSERT", "l", "BEFORE", "a")


def test_lpos():
    with Pair() as p:
        p.run("RPUSH", "l", *"abcabcabxa")
        opts = [[], ["RANK", 1], ["RANK", 2], ["RANK", -1], ["RANK", -3], ["RANK", 10], ["RANK", -10],
                ["COUNT", 0], ["COUNT", 1], ["COUNT", 2], ["COUNT", 100],
                ["MAXLEN", 0], ["MAXLEN", 1], ["MAXLEN", 4], ["MAXLEN", 100],
                ["RANK", 2, "COUNT", 2], ["RANK", -2, "COUNT", 0], ["RANK", -1, "COUNT", 2, "MAXLEN", 5],
                ["COUNT", 0, "MAXLEN", 7], ["RANK", 3, "MAXLEN", 6], ["COUNT", 1, "COUNT", 3],
                ["RANK", LONG_MIN], ["RANK", LONG_MIN, "COUNT", 1], ["RANK", LONG_MIN, "COUNT", 0],
                ["RANK", LONG_MAX], ["RANK", LONG_MAX, "COUNT", 0], ["rank", -1, "count", 1, "maxlen", 1],
                # errors
                ["RANK", 0], ["RANK", "x"], ["COUNT", -1], ["COUNT", "x"], ["MAXLEN", -1], ["MAXLEN", "x"],
                ["RANK"], ["COUNT"], ["MAXLEN"], ["FOO", 1], ["RANK", 0, "COUNT", -1], ["COUNT", -1, "RANK", 0]]
        for ele in ("a", "b", "x", "zz"):
            for o in opts:
                p.run("LPOS", "l", ele, *o)
        for o in opts:
            p.run("LPOS", "missing", "a", *o)
        p.run("SET", "s", "v")
        assert p.run("LPOS", "s", "v") == WRONGTYPE
        for o in opts:
            p.run("LPOS", "s", "v", *o)


# ---------------------------------------------------------------------------
# LMOVE, RPOPLPUSH, LMPOP
# ---------------------------------------------------------------------------

def test_lmove_between_lists():
    with Pair() as p:
        dirs = ["LEFT", "RIGHT"]
        for wf in dirs:
            for wt in dirs:
                p.run("DEL", "src", "dst")
                p.run("RPUSH", "src", "a", "b", "c")
                assert p.run("LMOVE", "src", "dst", wf, wt) is not None  # creates dst
                p.run("LMOVE", "src", "dst", wf.lower(), wt.lower())
                both_lists(p, "src")
                both_lists(p, "dst")
                check_tree(p.dredis, "src", p.run("LRANGE", "src", 0, -1))
                check_tree(p.dredis, "dst", p.run("LRANGE", "dst", 0, -1))
                p.run("LMOVE", "src", "dst", wf, wt)  # empties src
                assert p.run("EXISTS", "src") == 0
                assert gone(p.dredis, "src")
                check_tree(p.dredis, "dst", p.run("LRANGE", "dst", 0, -1))
                assert p.run("LMOVE", "src", "dst", wf, wt) is None
        p.run("LMOVE", "dst", "src", "UP", "LEFT")
        p.run("LMOVE", "dst", "src", "LEFT", "DOWN")
        p.run("LMOVE", "missing", "dst", "UP", "LEFT")
        p.run("SET", "s", "v")
        assert p.run("LMOVE", "s", "dst", "LEFT", "LEFT") == WRONGTYPE
        assert p.run("LMOVE", "dst", "s", "LEFT", "LEFT") == WRONGTYPE
        assert p.run("LMOVE", "missing", "s", "LEFT", "LEFT") is None
        assert p.run("RPOPLPUSH", "dst", "s") == WRONGTYPE
        assert p.run("RPOPLPUSH", "s", "dst") == WRONGTYPE
        assert p.run("RPOPLPUSH", "missing", "s") is None
        both_lists(p, "dst")
        p.run("RPUSH", "a", "1", "2", "3")
        assert p.run("RPOPLPUSH", "a", "b") == b"3"
        assert p.run("RPOPLPUSH", "a", "b") == b"2"
        both_lists(p, "b")
        p.run("RPOPLPUSH", "a", "b")
        assert gone(p.dredis, "a")
        check_tree(p.dredis, "b", [b"1", b"2", b"3"])
        p.run("RPOPLPUSH", "a")
        p.run("LMOVE", "a", "b", "LEFT")


def test_lmove_rotation_same_key():
    with Pair() as p:
        p.run("RPUSH", "l", "a", "b", "c", "d")
        for _ in range(6):
            p.run("RPOPLPUSH", "l", "l")
            check_tree(p.dredis, "l", both_lists(p, "l"))
        for wf, wt in [("LEFT", "RIGHT"), ("RIGHT", "LEFT"), ("LEFT", "LEFT"), ("RIGHT", "RIGHT")] * 2:
            p.run("LMOVE", "l", "l", wf, wt)
            check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("RPUSH", "one", "x")
        for wf, wt in [("LEFT", "RIGHT"), ("RIGHT", "LEFT"), ("LEFT", "LEFT"), ("RIGHT", "RIGHT")]:
            assert p.run("LMOVE", "one", "one", wf, wt) == b"x"
            check_tree(p.dredis, "one", [b"x"])
        assert p.run("RPOPLPUSH", "one", "one") == b"x"
        check_tree(p.dredis, "one", [b"x"])


def test_lmpop():
    with Pair() as p:
        p.run("RPUSH", "b", *"abcde")
        p.run("RPUSH", "c", "x")
        for args in [(1, "a", "LEFT"), (2, "a", "b", "LEFT"), (3, "a", "b", "c", "right", "COUNT", 2),
                     (2, "a", "c", "RIGHT", "count", 10), (1, "b", "LEFT", "COUNT", 2),
                     (2, "b", "c", "RIGHT", "COUNT", 1)]:
            p.run("LMPOP", *args)
        assert gone(p.dredis, "b") and gone(p.dredis, "c")
        p.run("RPUSH", "b", "a", "b", "c")
        assert p.run("LMPOP", 1, "b", "LEFT", "COUNT", 2) == [b"b", [b"a", b"b"]]
        check_tree(p.dredis, "b", [b"c"])
        errors = [(0, "b", "LEFT"), (-1, "b", "LEFT"), ("x", "b", "LEFT"), (LONG_MAX, "b", "LEFT"),
                  (LONG_MIN, "b", "LEFT"), (2, "b", "LEFT"), (1, "b", "MIDDLE"), (1, "b", "LEFT", "COUNT"),
                  (1, "b", "LEFT", "COUNT", 0), (1, "b", "LEFT", "COUNT", -1), (1, "b", "LEFT", "COUNT", "x"),
                  (1, "b", "LEFT", "COUNT", 1, "COUNT", 1), (1, "b", "LEFT", "FOO"), (1, "b"), (1,),
                  (5, "a", "b", "LEFT")]
        for args in errors:
            p.run("LMPOP", *args)
        p.run("SET", "s", "v")
        assert p.run("LMPOP", 2, "s", "b", "LEFT") == WRONGTYPE
        assert p.run("LMPOP", 2, "missing", "s", "LEFT") == WRONGTYPE
        assert p.run("LMPOP", 2, "b", "s", "LEFT") == [b"b", [b"c"]]
        assert gone(p.dredis, "b")
        assert p.run("LMPOP", 2, "b", "b", "LEFT") is None


# ---------------------------------------------------------------------------
# element contents
# ---------------------------------------------------------------------------

def test_binary_and_empty_elements():
    with Pair() as p:
        elements = [b"", BINARY, b"\r\n", b"\x00", b"a\x00b", b"-1", b"0", "\u00e9\u4e2d".encode(), b" ", b"%2F",
                    b"../x", b".hidden", b"x" * 300]
        p.run("RPUSH", "l", *elements)
        p.run("LPUSH", "l", *elements)
        both_lists(p, "l")
        for e in elements:
            p.run("LPOS", "l", e, "COUNT", 0)
            p.run("LINSERT", "l", "AFTER", e, e + b"!")
        for e in elements:
            p.run("LREM", "l", 1, e)
        both_lists(p, "l")
        p.run("LSET", "l", 0, BINARY)
        p.run("LINDEX", "l", 0)
        check_tree(p.dredis, "l", both_lists(p, "l"))
        # binary and empty key names
        for key in [BINARY, b"", b"a/b", b".k", b"k" * 300]:
            p.run("RPUSH", key, "v1", BINARY)
            p.run("LPUSH", key, "")
            p.run("LRANGE", key, 0, -1)
            p.run("LMOVE", key, key, "LEFT", "RIGHT")
            p.run("RPOP", key, 3)
            p.run("EXISTS", key)


def test_one_megabyte_elements():
    with Pair() as p:
        big = [bytes([i]) * (1 << 20) for i in range(1, 5)]
        assert p.run("RPUSH", "l", big[0], big[1]) == 2
        assert p.run("LPUSH", "l", big[2]) == 3
        assert p.run("LINDEX", "l", 0) == big[2]
        assert p.run("LRANGE", "l", 0, -1) == [big[2], big[0], big[1]]
        p.run("LSET", "l", 1, big[3])
        p.run("LINSERT", "l", "BEFORE", big[1], big[0])
        p.run("LINSERT", "l", "AFTER", big[2], big[0])
        p.run("LPOS", "l", big[0], "COUNT", 0)
        p.run("LREM", "l", 1, big[0])
        p.run("RPOPLPUSH", "l", "l")
        p.run("LMOVE", "l", "m", "LEFT", "RIGHT")
        check_tree(p.dredis, "l", p.run("LRANGE", "l", 0, -1))
        check_tree(p.dredis, "m", p.run("LRANGE", "m", 0, -1))
        p.run("RPOP", "l", 2)
        p.run("LMPOP", 2, "l", "m", "LEFT", "COUNT", 5)
        p.run("LPOP", "l")


# ---------------------------------------------------------------------------
# types, generic key commands
# ---------------------------------------------------------------------------

def test_wrongtype_against_string():
    with Pair() as p:
        p.run("SET", "s", "v")
        cmds = [("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
                ("LPOP", "s"), ("RPOP", "s"), ("LPOP", "s", 2), ("LLEN", "s"), ("LINDEX", "s", 0),
                ("LRANGE", "s", 0, -1), ("LSET", "s", 0, "a"), ("LREM", "s", 0, "a"), ("LTRIM", "s", 0, 1),
                ("LINSERT", "s", "BEFORE", "a", "b"), ("LPOS", "s", "a"), ("LMOVE", "s", "s", "LEFT", "RIGHT"),
                ("RPOPLPUSH", "s", "s"), ("LMPOP", 1, "s", "LEFT")]
        for c in cmds:
            assert p.run(*c) == WRONGTYPE, c
        assert p.run("GET", "s") == b"v"
        p.run("RPUSH", "l", "a")
        assert p.run("GET", "l") == WRONGTYPE
        assert p.run("APPEND", "l", "x") == WRONGTYPE
        assert p.run("SET", "l", "now-a-string") == "OK"
        assert p.run("GET", "l") == b"now-a-string"
        assert p.run("RPUSH", "l", "x") == WRONGTYPE


def test_generic_key_commands_on_lists():
    with Pair() as p:
        p.run("RPUSH", "l1", "a", "b")
        p.run("RPUSH", "l2", "c")
        p.run("SET", "s", "v")
        assert p.run("TYPE", "l1") == "list"
        assert p.run("EXISTS", "l1", "l2", "s", "nope") == 3
        norm = lambda r: sorted(r[1])  # noqa: E731
        assert p.run("SCAN", 0, "TYPE", "list", "COUNT", 100, normalize=norm) == [b"l1", b"l2"]
        assert p.run("SCAN", 0, "TYPE", "string", "COUNT", 100, normalize=norm) == [b"s"]
        assert p.run("KEYS", "l*", normalize=sorted) == [b"l1", b"l2"]
        # RENAME moves the directory and the list keeps working
        assert p.run("RENAME", "l1", "l3") == "OK"
        assert gone(p.dredis, "l1")
        check_tree(p.dredis, "l3", [b"a", b"b"])
        p.run("RPUSH", "l3", "z")
        p.run("RENAME", "l3", "l2")
        check_tree(p.dredis, "l2", [b"a", b"b", b"z"])
        assert p.run("RENAME", "s", "l2") == "OK"
        assert p.run("TYPE", "l2") == "string"
        p.run("RENAME", "l2", "s")
        # EXPIRE: kept by writes, gone with the emptied key
        p.run("RPUSH", "e", "1", "2", "3")
        assert p.run("EXPIRE", "e", 1000) == 1
        p.run("RPUSH", "e", "4")
        p.run("LPOP", "e")
        p.run("LSET", "e", 0, "x")
        p.run("LINSERT", "e", "BEFORE", "x", "w")
        p.run("LREM", "e", 1, "w")
        p.run("LTRIM", "e", 0, -1)
        p.run("RPOPLPUSH", "e", "e")
        p.run("TTL", "e", normalize=lambda t: 990 <= t <= 1000)
        assert p.run("PERSIST", "e") == 1
        assert p.run("TTL", "e") == -1
        p.run("EXPIRE", "e", 1000)
        p.run("RPOP", "e", 10)
        p.run("RPUSH", "e", "new")
        assert p.run("TTL", "e") == -1
        # an expired list is gone, for commands and from the tree
        p.run("PEXPIRE", "e", 1)
        wait_until(lambda: p.d.execute("EXISTS", "e") == 0 and p.r.execute("EXISTS", "e") == 0,
                   what="the list to expire")
        assert p.run("LLEN", "e") == 0
        assert p.run("LRANGE", "e", 0, -1) == []
        assert gone(p.dredis, "e")
        assert p.run("DEL", "l2", "s", "nope") == 1
        p.run("RPUSH", "l", "a")
        assert p.run("DEL", "l") == 1
        assert gone(p.dredis, "l")
        assert p.run("DBSIZE") == 0


def test_copy_move_watch_on_lists():
    with Pair() as p:
        p.run("RPUSH", "l", "a", "b", "c")
        assert p.run("COPY", "l", "c1") == 1
        p.run("RPUSH", "c1", "d")
        p.run("LSET", "l", 0, "A")
        p.run("LINSERT", "c1", "BEFORE", "b", "x")
        both_lists(p, "l")
        both_lists(p, "c1")
        check_tree(p.dredis, "l", [b"A", b"b", b"c"])
        check_tree(p.dredis, "c1", [b"a", b"x", b"b", b"c", b"d"])
        assert p.run("MOVE", "c1", 3) == 1
        p.run("SELECT", 3)
        p.run("LPOP", "c1", 2)
        check_tree(p.dredis, "c1", [b"b", b"c", b"d"], db=3)
        p.run("SELECT", 0)
        # a list write from another client fails a WATCHing transaction; a
        # write to another key does not
        d2, r2 = p.dredis.client(), p.redis.client()
        try:
            for cmd in (("RPUSH", "l", "z"), ("LPOP", "l"), ("LSET", "l", 0, "q"), ("RPOPLPUSH", "l", "l"),
                        ("LMOVE", "l", "l", "LEFT", "LEFT"), ("LTRIM", "l", 0, -1), ("LREM", "l", 0, "nope"),
                        ("LINSERT", "l", "BEFORE", "nope", "x"), ("LPOP", "l", 0), ("LPOS", "l", "b"),
                        ("RPUSH", "other", "z"), ("LMOVE", "l", "other", "RIGHT", "LEFT")):
                p.run("WATCH", "l")
                assert d2.execute(*cmd) == r2.execute(*cmd)
                p.run("MULTI")
                p.run("LLEN", "l")
                p.run("EXEC")
        finally:
            d2.close()
            r2.close()


def test_command_info_for_list_commands():
    names = ["lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lindex", "lrange", "lset", "lrem",
             "ltrim", "linsert", "lpos", "lmove", "rpoplpush", "lmpop"]
    with Pair() as p:
        a, b = p.both("COMMAND", "INFO", *names)
        for x, y in zip(a, b):
            assert x[:8] == y[:8], (x[:8], y[:8])
        for n in names:
            p.run("COMMAND", "GETKEYS", n, "k", "1", "2", "3", normalize=lambda r: r if n != "lmpop" else None)


# ---------------------------------------------------------------------------
# the tree on disk
# ---------------------------------------------------------------------------

def test_tree_after_each_kind_of_write():
    with Dredis() as s, s.client() as c:
        d = key_dir(s, "l")
        c.execute("RPUSH", "l", "b", "c")
        assert files_under(d) == ["head", "items", "items/0", "items/1", "len", "tail", "type"]
        assert read(os.path.join(d, "type")) == b"list"
        assert list_tree(s, "l")[:4] == (0, 2, 2, {0: b"b", 1: b"c"})
        assert read(os.path.join(d, "head")) == b"0" and read(os.path.join(d, "tail")) == b"2"
        c.execute("LPUSH", "l", "a", "z")
        assert list_tree(s, "l")[:4] == (-2, 2, 4, {-2: b"z", -1: b"a", 0: b"b", 1: b"c"})
        c.execute("LPOP", "l")
        assert list_tree(s, "l")[:4] == (-1, 2, 3, {-1: b"a", 0: b"b", 1: b"c"})
        c.execute("RPOP", "l")
        assert list_tree(s, "l")[:4] == (-1, 1, 2, {-1: b"a", 0: b"b"})
        c.execute("LSET", "l", 1, "B")
        assert list_tree(s, "l")[:4] == (-1, 1, 2, {-1: b"a", 0: b"B"})
        c.execute("RPUSH", "l", "c", "d", "e")
        c.execute("LTRIM", "l", 1, -2)
        assert list_tree(s, "l")[:4] == (0, 3, 3, {0: b"B", 1: b"c", 2: b"d"})
        c.execute("LINSERT", "l", "AFTER", "B", "x")  # left half: shifts B towards the head
        assert list_tree(s, "l")[:4] == (-1, 3, 4, {-1: b"B", 0: b"x", 1: b"c", 2: b"d"})
        c.execute("LINSERT", "l", "BEFORE", "d", "y")  # right half: shifts d towards the tail
        assert list_tree(s, "l")[:4] == (-1, 4, 5, {-1: b"B", 0: b"x", 1: b"c", 2: b"y", 3: b"d"})
        c.execute("LREM", "l", 1, "x")  # near the head: B moves up, head follows
        assert list_tree(s, "l")[:4] == (0, 4, 4, {0: b"B", 1: b"c", 2: b"y", 3: b"d"})
        c.execute("LREM", "l", 1, "y")  # near the tail: d moves down, tail follows
        assert list_tree(s, "l")[:4] == (0, 3, 3, {0: b"B", 1: b"c", 2: b"d"})
        c.execute("RPOPLPUSH", "l", "l")
        assert list_tree(s, "l")[:4] == (-1, 2, 3, {-1: b"d", 0: b"B", 1: b"c"})
        c.execute("LMOVE", "l", "m", "LEFT", "RIGHT")
        assert list_tree(s, "l")[:4] == (0, 2, 2, {0: b"B", 1: b"c"})
        assert list_tree(s, "m")[:4] == (0, 1, 1, {0: b"d"})
        c.execute("LMPOP", 1, "l", "RIGHT", "COUNT", 1)
        assert list_tree(s, "l")[:4] == (0, 1, 1, {0: b"B"})
        assert list_tree(s, "l")[4] == []
        # nothing is left behind in the staging area
        assert staging_leftovers(s.root_dir) == []
        c.execute("LPOP", "l")
        assert gone(s, "l")
        assert c.execute("EXISTS", "l") == 0


def _inodes(server, key):
    d = key_dir(server, key)
    out = {}
    for name in files_under(d):
        st = os.lstat(os.path.join(d, name))
        if not os.path.isdir(os.path.join(d, name)):
            out[name] = st.st_ino
    return out


def _changes(before, after):
    """(added, removed, replaced) file names between two inode snapshots."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    replaced = sorted(n for n in set(before) & set(after) if before[n] != after[n])
    return added, removed, replaced


def test_end_operations_touch_constant_files_on_a_long_list():
    """Every write is a new file renamed into place, so inode changes show
    exactly which files a command wrote: a handful, whatever the length."""
    with Dredis() as s, s.client() as c:
        n = 600
        for i in range(0, n, 100):
            c.execute("RPUSH", "l", *[b"e%d" % j for j in range(i, i + 100)])
        c.execute("RPUSH", "other", "o")
        steps = [
            (("RPUSH", "l", "x"), (["items/600"], [], ["len", "tail"])),
            (("LPUSH", "l", "y"), (["items/-1"], [], ["head", "len"])),
            (("LPOP", "l"), ([], ["items/-1"], ["head", "len"])),
            (("RPOP", "l"), ([], ["items/600"], ["len", "tail"])),
            (("LSET", "l", 300, "z"), ([], [], ["items/300"])),
            (("LINDEX", "l", 300), ([], [], [])),
            (("RPOPLPUSH", "l", "l"), (["items/-1"], ["items/599"], ["head", "tail"])),
            (("LMOVE", "l", "l", "LEFT", "RIGHT"), (["items/599"], ["items/-1"], ["head", "tail"])),
            (("LMOVE", "l", "other", "LEFT", "RIGHT"), ([], ["items/0"], ["head", "len"])),
            (("LPOP", "l", 2), ([], ["items/1", "items/2"], ["head", "len"])),
        ]
        for cmd, expected in steps:
            before = _inodes(s, "l")
            c.execute(*cmd)
            assert _changes(before, _inodes(s, "l")) == expected, cmd
        check_tree(s, "other", [b"o", b"e0"])
        # LINSERT moves the shorter side, by hard link: the moved files keep
        # their inodes. The list is now e3 .. e599 at items/3 .. items/599.
        before = _inodes(s, "l")
        c.execute("LINSERT", "l", "BEFORE", "e4", "near-head")
        after = _inodes(s, "l")
        assert _changes(before, after) == (["items/2"], [], ["head", "items/3", "len"])
        assert after["items/2"] == before["items/3"]
        before = after
        c.execute("LINSERT", "l", "AFTER", "e597", "near-tail")
        after = _inodes(s, "l")
        assert _changes(before, after) == (["items/600"], [], ["items/598", "items/599", "len", "tail"])
        assert after["items/600"] == before["items/599"] and after["items/599"] == before["items/598"]
        check_tree(s, "l", c.execute("LRANGE", "l", 0, -1))


def test_restart_keeps_lists():
    with Pair() as p:
        p.run("RPUSH", "l", *[str(i) for i in range(50)])
        p.run("LPUSH", "l", "front", BINARY)
        p.run("RPUSH", "m", "only")
        p.run("LINSERT", "l", "BEFORE", "10", "ten")
        p.dredis.restart()
        p.d.close()
        p.d = p.dredis.client()
        assert p.run("LLEN", "l") == 53
        both_lists(p, "l")
        p.run("LRANGE", "m", 0, -1)
        p.run("LPOP", "l", 3)
        p.run("RPUSH", "l", "after-restart")
        p.run("LREM", "l", 0, "7")
        p.dredis.restart()
        p.d.close()
        p.d = p.dredis.client()
        check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("RPOPLPUSH", "l", "m")
        both_lists(p, "m")


def test_strays_and_stale_len_after_a_crash():
    """What an interrupted command leaves behind: element files outside
    [head, tail) and a stale len. Readers ignore the strays, writes replace
    them, and the next write repairs len."""
    with Dredis() as s:
        with s.client() as c:
            c.execute("RPUSH", "l", "a", "b", "c")
            c.execute("LPUSH", "l", "z")
        s.stop()
        d = key_dir(s, "l")
        head, tail = -1, 3
        write(os.path.join(d, "items", str(tail)), b"stray-tail")       # a push that never moved tail
        write(os.path.join(d, "items", str(tail + 5)), b"stray-far")
        write(os.path.join(d, "items", str(head - 1)), b"stray-head")   # a pop that never unlinked
        write(os.path.join(d, "len"), b"7")                              # a len never rewritten
        s.start()
        with s.client() as c:
            assert c.execute("LLEN", "l") == 4
            assert c.execute("LRANGE", "l", 0, -1) == [b"z", b"a", b"b", b"c"]
            assert c.execute("LINDEX", "l", -1) == b"c"
            assert c.execute("LINDEX", "l", 4) is None
            assert c.execute("LPOS", "l", "stray-tail") is None
            assert c.execute("RPUSH", "l", "d") == 5   # replaces stray-tail, repairs len
            assert c.execute("LPUSH", "l", "y") == 6   # replaces stray-head
            h, t, n, items, _ = list_tree(s, "l")
            assert (h, t, n) == (-2, 4, 6)
            assert [items[i] for i in range(h, t)] == [b"y", b"z", b"a", b"b", b"c", b"d"]
            assert items[8] == b"stray-far"           # still ignored
            assert c.execute("LRANGE", "l", 0, -1) == [b"y", b"z", b"a", b"b", b"c", b"d"]
            # the whole directory goes with the key, strays included
            assert c.execute("DEL", "l") == 1
            assert gone(s, "l")


def test_damaged_list_is_an_error_not_a_crash():
    with Dredis() as s:
        with s.client() as c:
            c.execute("RPUSH", "l", "a", "b", "c")
            c.execute("RPUSH", "m", "a")
        os.unlink(os.path.join(key_dir(s, "l"), "items", "1"))
        write(os.path.join(key_dir(s, "m"), "tail"), b"0")
        with s.client() as c:
            for cmd in [("LRANGE", "l", 0, -1), ("LINDEX", "l", 1), ("LPOS", "l", "c"), ("LREM", "l", 0, "c"),
                        ("LLEN", "m"), ("RPUSH", "m", "x"), ("LPOP", "m")]:
                r = c.execute(*cmd)
                assert isinstance(r, RespError) and r.message.startswith("ERR storage error"), (cmd, r)
            assert c.execute("LINDEX", "l", 0) == b"a"
            assert c.execute("LPOP", "l") == b"a"
            assert c.execute("PING") == "PONG"


# ---------------------------------------------------------------------------
# randomized differential run
# ---------------------------------------------------------------------------

ALPHABET = [b"a", b"b", b"c", b"", b"\x00\xff", b"12", b"-3"]


def _random_command(rng, keys):
    k = rng.choice(keys)
    k2 = rng.choice(keys)
    e = rng.choice(ALPHABET)
    side = rng.choice(["LEFT", "RIGHT"])
    idx = rng.choice([rng.randint(-12, 12), rng.randint(-3, 3)])
    op = rng.choices(
        ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "LPOP", "RPOP", "LLEN", "LINDEX", "LRANGE", "LSET", "LREM",
         "LTRIM", "LINSERT", "LPOS", "LMOVE", "RPOPLPUSH", "LMPOP", "DEL", "EXISTS", "TYPE"],
        weights=[9, 9, 2, 2, 5, 5, 2, 3, 4, 3, 4, 2, 4, 3, 4, 3, 3, 1, 1, 1])[0]
    if op in ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"):
        return [op, k] + [rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))]
    if op in ("LPOP", "RPOP"):
        return [op, k] + ([] if rng.random() < 0.5 else [rng.choice([0, 1, 2, 3, 10, -1])])
    if op in ("LLEN", "DEL", "EXISTS", "TYPE"):
        return [op, k]
    if op == "LINDEX":
        return [op, k, idx]
    if op in ("LRANGE", "LTRIM"):
        if op == "LTRIM" and rng.random() < 0.7:  # trims that keep most of the list
            return [op, k, rng.randint(0, 1), rng.randint(-2, -1)]
        return [op, k, idx, rng.choice([rng.randint(-12, 12), -1])]
    if op == "LSET":
        return [op, k, idx, e]
    if op == "LREM":
        return [op, k, rng.randint(-3, 3), e]
    if op == "LINSERT":
        return [op, k, rng.choice(["BEFORE", "AFTER"]), e, rng.choice(ALPHABET)]
    if op == "LPOS":
        args = [op, k, e]
        if rng.random() < 0.5:
            args += ["RANK", rng.choice([1, 2, -1, -2, 3])]
        if rng.random() < 0.5:
            args += ["COUNT", rng.randint(0, 3)]
        if rng.random() < 0.3:
            args += ["MAXLEN", rng.randint(0, 6)]
        return args
    if op == "LMOVE":
        return [op, k, k2, side, rng.choice(["LEFT", "RIGHT"])]
    if op == "RPOPLPUSH":
        return [op, k, k2]
    n = rng.randint(1, 3)
    args = [op, n] + [rng.choice(keys) for _ in range(n)] + [side]
    if rng.random() < 0.5:
        args += ["COUNT", rng.randint(1, 4)]
    return args


def test_randomized_differential():
    rng = random.Random(20240607)
    keys = ["k1", "k2", "k3", "str"]
    with Pair() as p:
        p.run("SET", "str", "a string")
        for i in range(3000):
            cmd = _random_command(rng, keys)
            if cmd[0] == "DEL" and cmd[1] == "str":
                continue
            p.run(*cmd)
            if i % 250 == 0:
                for k in keys[:3]:
                    if p.run("EXISTS", k):
                        check_tree(p.dredis, k, p.run("LRANGE", k, 0, -1))
                    else:
                        assert gone(p.dredis, k)
        for k in keys[:3]:
            p.run("LRANGE", k, 0, -1)
        assert p.run("GET", "str") == b"a string"
