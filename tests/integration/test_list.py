"""Lists: every command and option compared with a real redis-server, the
layout on disk (docs/storage-format.md, "Lists"), restarts, crash leftovers,
and a randomized differential run."""
import os
import random

from dredis_test import Dredis, Pair, RespError, files_under, proc_io, staging_leftovers, wait_until

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


def _warm(p, *keys):
    """Push to and read each list, so that dredis's ends cache holds it."""
    for k in keys:
        p.run("RPUSH", k, "w")
        p.run("LLEN", k)


def _same_lists(p, *keys):
    for k in keys:
        p.run("LLEN", k)
        p.run("LRANGE", k, 0, -1)
        p.run("LPUSH", k, "h")
        p.run("RPUSH", k, "t")
        p.run("LRANGE", k, 0, -1)


def test_ends_cache_follows_every_other_change_to_a_list():
    """dredis keeps the ends of lists it used in memory (t_list.c, "The
    ends cache"); every change that does not go through the list commands
    (deletion, renames, moves, flushes, replacement by another value, expiry,
    RESTORE, COPY, SORT STORE, scripts, MULTI) must leave the next list
    command reading the list as it is: compared with Redis after each."""
    with Pair() as p:
        seed = [("RPUSH", "a", *["a%d" % i for i in range(100)]), ("RPUSH", "b", *["b%d" % i for i in range(70)])]
        p.run_many(seed)
        _warm(p, "a", "b")
        p.run("DEL", "a")
        _same_lists(p, "a", "b")
        _warm(p, "a", "b")
        p.run("RENAME", "a", "b")          # b was cached: now it is a's list
        _same_lists(p, "a", "b")
        _warm(p, "a", "b")
        p.run("RENAME", "b", "c")
        p.run("RPUSH", "b", "new")
        _same_lists(p, "b", "c")
        _warm(p, "b", "c")
        p.run("MOVE", "c", 2)
        p.run("SELECT", 2)
        _same_lists(p, "c")
        p.run("SELECT", 0)
        _warm(p, "b")
        p.run("SWAPDB", 0, 2)
        _same_lists(p, "b", "c")
        p.run("SWAPDB", 0, 2)
        _warm(p, "b", "c")
        p.run("FLUSHDB")
        _same_lists(p, "b", "c")
        _warm(p, "b", "c")
        p.run("SELECT", 2)
        p.run("FLUSHALL")
        p.run("SELECT", 0)
        _same_lists(p, "b", "c")
        # replaced by another type, then a list again
        _warm(p, "b")
        p.run("SET", "b", "string")
        p.run("DEL", "b")
        _same_lists(p, "b")
        # expired while cached
        _warm(p, "e")
        p.run("PEXPIRE", "e", 1)
        wait_until(lambda: p.dredis.client().execute("EXISTS", "e") == 0 and p.redis.client().execute("EXISTS", "e") == 0)
        _same_lists(p, "e")
        # RESTORE REPLACE, COPY REPLACE and SORT STORE over a cached list
        p.run_many([("RPUSH", "src", *["s%02d" % i for i in range(80)])])
        dump = p.dredis.client().execute("DUMP", "src")
        _warm(p, "b", "c", "e")
        p.run("RESTORE", "b", 0, dump, "REPLACE")
        p.run("COPY", "src", "c", "REPLACE")
        p.run("SORT", "src", "ALPHA", "DESC", "STORE", "e")
        _same_lists(p, "b", "c", "e")
        # writes made by a script and inside MULTI/EXEC, then read outside
        _warm(p, "b", "c")
        p.run("EVAL", "redis.call('RPUSH', KEYS[1], 'x'); redis.call('DEL', KEYS[2]); "
                      "redis.call('LPUSH', KEYS[2], 'y'); return redis.call('LLEN', KEYS[1])", 2, "b", "c")
        _same_lists(p, "b", "c")
        _warm(p, "b", "c")
        p.run("MULTI")
        p.run("LPOP", "b", 5)
        p.run("RENAME", "b", "c")
        p.run("RPUSH", "c", "z")
        p.run("EXEC")
        _same_lists(p, "b", "c")
        # LMOVE between two cached lists and onto itself
        _warm(p, "b", "c")
        p.run("LMOVE", "c", "b", "LEFT", "RIGHT")
        p.run("LMOVE", "c", "c", "LEFT", "RIGHT")
        _same_lists(p, "b", "c")
        # popped to empty (the key goes) and pushed again
        p.run("DEL", "b")
        p.run("RPUSH", "b", "1", "2")
        p.run("LLEN", "b")
        p.run("RPOP", "b", 2)
        _same_lists(p, "b")


def test_ends_cache_pushes_and_pops_read_no_file_of_a_hot_list():
    """A push or pop on a list used just before reads none of its files: the
    ends cache has head-seg, tail-seg and the end segments. A thousand
    commands read a handful of times (the socket), not thousands."""
    with Dredis() as d:
        c = d.client()
        c.execute("RPUSH", "l", *["e%d" % i for i in range(200)])
        assert c.execute("LLEN", "l") == 200
        pid = d.proc.pid
        for cmds in ([("LPUSH", "l", "x%d" % i) for i in range(500)] +
                     [("RPUSH", "l", "y%d" % i) for i in range(500)],
                     [("LLEN", "l")] * 1000,
                     [("LPOP", "l")] * 300 + [("RPOP", "l")] * 300):
            before = proc_io(pid)
            replies = c.pipeline(cmds)
            after = proc_io(pid)
            assert not any(isinstance(r, RespError) for r in replies), replies
            # without the cache each command reads two to four files
            reads = after["syscr"] - before["syscr"]
            assert reads < 100, (cmds[0][0], reads)
        assert c.execute("LLEN", "l") == 600
        assert c.execute("LRANGE", "l", 0, 1) == [b"x199", b"x198"]
        assert c.execute("LRANGE", "l", -2, -1) == [b"y198", b"y199"]
        c.close()
        # the tree agrees with what the cached commands replied
        d.stop()
        check_tree(d, "l", [b"x%d" % i for i in range(199, -1, -1)] + [b"e%d" % i for i in range(200)] +
                   [b"y%d" % i for i in range(200)])


def test_ends_cache_survives_writes_that_change_nothing():
    """A write that leaves the list as it was (LPOP key 0, LTRIM to the whole
    list, LMOVE of an end onto itself) keeps the ends cache: the push after
    it reads no file either."""
    with Dredis() as d:
        c = d.client()
        c.execute("RPUSH", "l", *["e%d" % i for i in range(100)])
        for pair in ([("LPOP", "l", 0), ("LPUSH", "l", "a")], [("LTRIM", "l", 0, -1), ("RPUSH", "l", "b")],
                     [("LMOVE", "l", "l", "LEFT", "LEFT"), ("LPUSH", "l", "c")]):
            c.execute("LLEN", "l")
            before = proc_io(d.proc.pid)
            replies = c.pipeline(pair * 300)
            after = proc_io(d.proc.pid)
            assert not any(isinstance(r, RespError) for r in replies), replies
            reads = after["syscr"] - before["syscr"]
            assert reads < 100, (pair[0][0], reads)
        assert c.execute("LLEN", "l") == 1000
        assert c.execute("LRANGE", "l", 0, 1) == [b"c", b"c"]
        assert c.execute("LINDEX", "l", -1) == b"b"
        c.close()


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
        assert files_under(d) == ["head-seg", "segments", "segments/0", "tail-seg", "type"]
        assert read(os.path.join(d, "type")) == b"list"
        assert read(os.path.join(d, "segments", "0")) == b"0\r\n$1\r\nb\r\n$1\r\nc\r\n"
        assert read(os.path.join(d, "head-seg")) == b"0" and read(os.path.join(d, "tail-seg")) == b"0"
        c.execute("LPUSH", "l", "a", "z")
        assert list_seqs(s, "l") == {-2: b"z", -1: b"a", 0: b"b", 1: b"c"}
        assert read(os.path.join(d, "segments", "-1")) == b"-2\r\n$1\r\nz\r\n$1\r\na\r\n"
        assert list_tree(s, "l")[:2] == (-1, 0)
        c.execute("LPOP", "l")
        assert list_seqs(s, "l") == {-1: b"a", 0: b"b", 1: b"c"}
        c.execute("LPOP", "l")  # segment -1 emptied: its file goes, head-seg moves
        assert files_under(d) == ["head-seg", "segments", "segments/0", "tail-seg", "type"]
        assert list_tree(s, "l")[:2] == (0, 0)
        c.execute("RPOP", "l")
        c.execute("LPUSH", "l", "a")
        assert list_seqs(s, "l") == {-1: b"a", 0: b"b"}
        c.execute("LSET", "l", 1, "B")
        assert list_seqs(s, "l") == {-1: b"a", 0: b"B"}
        c.execute("RPUSH", "l", "c", "d", "e")
        c.execute("LTRIM", "l", 1, -2)
        assert list_seqs(s, "l") == {0: b"B", 1: b"c", 2: b"d"}
        assert list_tree(s, "l")[:2] == (0, 0)
        c.execute("LINSERT", "l", "AFTER", "B", "x")  # left half: shifts B towards the head
        assert list_seqs(s, "l") == {-1: b"B", 0: b"x", 1: b"c", 2: b"d"}
        c.execute("LINSERT", "l", "BEFORE", "d", "y")  # right half: shifts d towards the tail
        assert list_seqs(s, "l") == {-1: b"B", 0: b"x", 1: b"c", 2: b"y", 3: b"d"}
        c.execute("LREM", "l", 1, "x")  # near the head: B moves up, head follows
        assert list_seqs(s, "l") == {0: b"B", 1: b"c", 2: b"y", 3: b"d"}
        c.execute("LREM", "l", 1, "y")  # near the tail: d moves down, tail follows
        assert list_seqs(s, "l") == {0: b"B", 1: b"c", 2: b"d"}
        c.execute("RPOPLPUSH", "l", "l")
        assert list_seqs(s, "l") == {-1: b"d", 0: b"B", 1: b"c"}
        c.execute("LMOVE", "l", "m", "LEFT", "RIGHT")
        assert list_seqs(s, "l") == {0: b"B", 1: b"c"}
        assert list_seqs(s, "m") == {0: b"d"}
        c.execute("LMPOP", 1, "l", "RIGHT", "COUNT", 1)
        assert list_seqs(s, "l") == {0: b"B"}
        assert list_tree(s, "l")[3] == []
        check_tree(s, "l", [b"B"])
        # LPUSH on a new key starts at seq -1, in segment -1
        c.execute("LPUSH", "n", "only")
        assert files_under(key_dir(s, "n")) == ["head-seg", "segments", "segments/-1", "tail-seg", "type"]
        assert read(os.path.join(key_dir(s, "n"), "segments", "-1")) == b"-1\r\n$4\r\nonly\r\n"
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


def _segs(*ns):
    return sorted("segments/%d" % n for n in ns)


def test_end_operations_touch_constant_files_on_a_long_list():
    """Every write is a new file renamed into place, so inode changes show
    exactly which files a command wrote: one segment for a push or pop,
    head-seg or tail-seg only when an end segment is started or emptied."""
    with Dredis() as s, s.client() as c:
        n = 600  # seqs 0 .. 599: segments 0 .. 9, the last holding 576 .. 599
        for i in range(0, n, 100):
            c.execute("RPUSH", "l", *[b"e%d" % j for j in range(i, i + 100)])
        c.execute("RPUSH", "other", "o")
        steps = [
            (("RPUSH", "l", "x"), ([], [], _segs(9))),
            (("LPUSH", "l", "y"), (_segs(-1), [], ["head-seg"])),
            (("LPOP", "l"), ([], _segs(-1), ["head-seg"])),
            (("RPOP", "l"), ([], [], _segs(9))),
            (("LSET", "l", 300, "z"), ([], [], _segs(4))),
            (("LINDEX", "l", 300), ([], [], [])),
            (("LLEN", "l"), ([], [], [])),
            (("LRANGE", "l", 60, 70), ([], [], [])),
            (("RPOPLPUSH", "l", "l"), (_segs(-1), [], ["head-seg"] + _segs(9))),
            (("LMOVE", "l", "l", "LEFT", "RIGHT"), ([], _segs(-1), ["head-seg"] + _segs(9))),
            (("LMOVE", "l", "other", "LEFT", "RIGHT"), ([], [], _segs(0))),
            (("LPOP", "l", 2), ([], [], _segs(0))),
        ]
        for cmd, expected in steps:
            before = _inodes(s, "l")
            c.execute(*cmd)
            assert _changes(before, _inodes(s, "l")) == expected, cmd
        check_tree(s, "other", [b"o", b"e0"])
        # the list is now e3 .. e599 at seqs 3 .. 599. LINSERT moves the
        # shorter side: only the segments from the insertion point to that
        # end are rewritten.
        before = _inodes(s, "l")
        c.execute("LINSERT", "l", "BEFORE", "e4", "near-head")
        assert _changes(before, _inodes(s, "l")) == ([], [], _segs(0))
        before = _inodes(s, "l")
        c.execute("LINSERT", "l", "AFTER", "e597", "near-tail")
        assert _changes(before, _inodes(s, "l")) == ([], [], _segs(9))
        before = _inodes(s, "l")
        c.execute("LINSERT", "l", "BEFORE", "e320", "middle")  # e320 at seq 320: segments 5 .. 9
        assert _changes(before, _inodes(s, "l")) == ([], [], _segs(5, 6, 7, 8, 9))
        before = _inodes(s, "l")
        c.execute("LTRIM", "l", 200, -1)  # segments 0 .. 2 go unread, 3 is rewritten
        assert _changes(before, _inodes(s, "l")) == ([], _segs(0, 1, 2), ["head-seg"] + _segs(3))
        check_tree(s, "l", c.execute("LRANGE", "l", 0, -1))


def test_one_thousand_single_pushes_make_few_files():
    """LPUSH and RPUSH of single elements rewrite one segment file each: the
    key gets one file per 64 elements, not one per element, and a push
    creates a file (an inode) only when it starts a segment."""
    with Dredis() as s, s.client() as c:
        created = 0
        for i in range(1000):
            before = _inodes(s, "q") if i else {}
            assert c.execute("LPUSH", "q", b"job:%d" % i) == i + 1
            added, removed, replaced = _changes(before, _inodes(s, "q"))
            assert removed == [] and len(replaced) <= 1, (i, replaced)
            created += len(added)
        # seqs -1 .. -1000: segments -1 .. -16, plus type, head-seg, tail-seg
        files = files_under(key_dir(s, "q"))
        assert len(files) == 16 + 4, files
        assert len([f for f in files if f.startswith("segments/")]) == 16
        assert created == 16 + 3
        check_tree(s, "q", [b"job:%d" % i for i in reversed(range(1000))])
        for i in range(1000):
            c.execute("RPUSH", "r", i)
        assert len(files_under(key_dir(s, "r"))) == 16 + 4
        # a queue (RPUSH, then LPOP) keeps one or two segments whatever
        # went through it
        for i in range(1000):
            c.execute("RPUSH", "job", i)
            if i >= 10:
                assert c.execute("LPOP", "job") == b"%d" % (i - 10)
            assert len([f for f in files_under(key_dir(s, "job")) if f.startswith("segments/")]) <= 2
        check_tree(s, "job", [b"%d" % i for i in range(990, 1000)])


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


def test_damaged_list_is_an_error_not_a_crash():
    with Dredis() as s:
        with s.client() as c:
            c.execute("RPUSH", "l", *[b"e%d" % i for i in range(130)])  # segments 0, 1, 2
            c.execute("RPUSH", "m", "a")
        # the tree is damaged while the server is down (a running server
        # keeps the ends of lists it used in memory, see README's limits)
        s.stop()
        os.unlink(os.path.join(key_dir(s, "l"), "segments", "1"))
        write(os.path.join(key_dir(s, "m"), "tail-seg"), b"-1")  # before head-seg
        s.start()
        with s.client() as c:
            for cmd in [("LRANGE", "l", 0, -1), ("LINDEX", "l", 100), ("LPOS", "l", "e129"), ("LREM", "l", 0, "e1"),
                        ("LSET", "l", 64, "x"), ("LINSERT", "l", "AFTER", "e100", "x"), ("DUMP", "l"),
                        ("LLEN", "m"), ("RPUSH", "m", "x"), ("LPOP", "m")]:
                r = c.execute(*cmd)
                assert isinstance(r, RespError) and r.message.startswith("ERR storage error"), (cmd, r)
            # what does not need the missing segment still works
            assert c.execute("LLEN", "l") == 130
            assert c.execute("LINDEX", "l", 0) == b"e0"
            assert c.execute("LPOP", "l") == b"e0"
            assert c.execute("RPOP", "l", 2) == [b"e129", b"e128"]
            assert c.execute("PING") == "PONG"


def _damage_cases():
    """(description, {file under the key: bytes, or None to remove it})
    applied to the list RPUSH l e0 .. e129 (segments 0, 1, 2)."""
    seg1 = b"64\r\n" + b"".join(b"$%d\r\ne%d\r\n" % (len(b"e%d" % i), i) for i in range(64, 128))
    return [
        ("a missing head-seg", {"head-seg": None}),
        ("a missing tail-seg", {"tail-seg": None}),
        ("a head-seg that is not a number", {"head-seg": b"x"}),
        ("a missing end segment", {"segments/2": None}),
        ("a header outside the segment", {"segments/1": b"0" + seg1[2:]}),
        ("a header that is not a number", {"segments/1": b"x" + seg1[2:]}),
        ("an interior segment not full", {"segments/1": seg1[:-len(b"$4\r\ne127\r\n")]}),
        ("an empty segment", {"segments/2": b"128\r\n"}),
        ("a bulk length too long", {"segments/1": seg1[:-4] + b"\r\n"}),
        ("no bulk string marker", {"segments/1": seg1.replace(b"$4\r\ne100", b"#4\r\ne100")}),
        ("more than 64 elements", {"segments/1": seg1 + b"$1\r\nx\r\n"}),
        ("an end segment past the next one", {"segments/0": b"1\r\n$1\r\nx\r\n"}),
    ]


def test_damaged_segments_are_reported():
    with Dredis() as s:
        cases = _damage_cases()
        with s.client() as c:
            for i in range(len(cases)):
                c.execute("RPUSH", "l%d" % i, *[b"e%d" % j for j in range(130)])
        s.stop()
        for i, (_, files) in enumerate(cases):
            for name, data in files.items():
                path = os.path.join(key_dir(s, "l%d" % i), name)
                if data is None:
                    os.unlink(path)
                else:
                    write(path, data)
        s.start()
        with s.client() as c:
            for i, (what, _) in enumerate(cases):
                r = c.execute("LRANGE", "l%d" % i, 0, -1)
                assert isinstance(r, RespError) and r.message.startswith("ERR storage error"), (what, r)
                assert c.execute("TYPE", "l%d" % i) == "list"
            assert c.execute("DEL", *["l%d" % i for i in range(len(cases))]) == len(cases)
            assert c.execute("DBSIZE") == 0


def test_old_per_element_layout_is_a_damaged_key():
    """A list directory of the old one-file-per-element layout (items/<seq>,
    head, tail, len) is reported as damaged, never misread."""
    with Dredis() as s:
        s.stop()
        d = key_dir(s, "old")
        os.makedirs(os.path.join(d, "items"))
        for name, data in [("type", b"list"), ("head", b"0"), ("tail", b"2"), ("len", b"2"),
                           ("items/0", b"a"), ("items/1", b"b")]:
            write(os.path.join(d, name), data)
        s.start()
        with s.client() as c:
            assert c.execute("TYPE", "old") == "list"
            assert c.execute("EXISTS", "old") == 1
            for cmd in [("LLEN", "old"), ("LRANGE", "old", 0, -1), ("LINDEX", "old", 0), ("LPOP", "old"),
                        ("RPUSH", "old", "x"), ("LPUSH", "old", "x"), ("RPUSHX", "old", "x"), ("DUMP", "old"),
                        ("LMOVE", "old", "new", "LEFT", "RIGHT"), ("LTRIM", "old", 0, 0), ("BLPOP", "old", 0)]:
                r = c.execute(*cmd)
                assert isinstance(r, RespError) and r.message.startswith("ERR storage error"), (cmd, r)
            assert c.execute("EXISTS", "new") == 0
            assert c.execute("PING") == "PONG"
            assert c.execute("DEL", "old") == 1


# ---------------------------------------------------------------------------
# segment boundaries (64 elements a segment), compared with Redis
# ---------------------------------------------------------------------------

def test_pushes_and_pops_across_segment_boundaries():
    with Pair() as p:
        # one element at a time across several boundaries, both directions:
        # RPUSH fills segments 0, 1, 2 ..., LPUSH segments -1, -2 ...
        for i in range(150):
            p.run("RPUSH", "l", "r%d" % i)
        for i in range(150):
            p.run("LPUSH", "l", "l%d" % i)
        head = check_tree(p.dredis, "l", both_lists(p, "l"))
        assert head == -150
        assert list_tree(p.dredis, "l")[:2] == (-3, 2)
        for idx in (0, 1, 63, 64, 65, 85, 86, 127, 128, 149, 150, 151, 213, 214, 278, 299, -1, -64, -65, -300, 300):
            p.run("LINDEX", "l", idx)
        for start, stop in [(0, 63), (63, 64), (85, 86), (20, 280), (-65, -64), (149, 150), (100, 99), (-1, -1)]:
            p.run("LRANGE", "l", start, stop)
        # pops one at a time from each end down to a few elements
        for _ in range(140):
            p.run("LPOP", "l")
            p.run("RPOP", "l")
            if _ % 35 == 0:
                check_tree(p.dredis, "l", both_lists(p, "l"))
        check_tree(p.dredis, "l", both_lists(p, "l"))
        # pops with a count crossing several segments at once
        p.run("RPUSH", "l", *["x%d" % i for i in range(300)])
        p.run("LPUSH", "l", *["y%d" % i for i in range(200)])
        p.run("LPOP", "l", 130)
        check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("RPOP", "l", 129)
        check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LMPOP", 1, "l", "LEFT", "COUNT", 64)
        p.run("LMPOP", 1, "l", "RIGHT", "COUNT", 65)
        check_tree(p.dredis, "l", both_lists(p, "l"))
        # an element moved across the whole list, segment to segment
        for _ in range(70):
            p.run("RPOPLPUSH", "l", "l")
            p.run("LMOVE", "l", "m", "LEFT", "RIGHT")
            p.run("LMOVE", "m", "l", "LEFT", "LEFT")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        assert p.run("LLEN", "l") == p.run("LLEN", "l")
        p.run("LPOP", "l", 10000)
        assert gone(p.dredis, "l")
        # a queue: pushed at one end, popped at the other, for a long way
        # (growing by one element a round)
        for i in range(400):
            p.run("LPUSH", "q", i, i + 1)
            p.run("RPOP", "q")
        check_tree(p.dredis, "q", both_lists(p, "q"))
        assert len(list_tree(p.dredis, "q")[2]) == 400 // 64 + 1
        assert list_tree(p.dredis, "q")[0] == -800 // 64  # deep into negative segments


def test_long_lists_lindex_lrange_lset_against_redis():
    rng = random.Random(64)
    with Pair() as p:
        n = 1000
        p.run("RPUSH", "l", *["v%d" % i for i in range(600)])
        p.run("LPUSH", "l", *["w%d" % i for i in range(n - 600)])
        assert p.run("LLEN", "l") == n
        for idx in list(range(-n - 2, n + 2, 7)) + [rng.randint(-n, n - 1) for _ in range(50)]:
            p.run("LINDEX", "l", idx)
        for _ in range(60):
            a, b = rng.randint(-n - 5, n + 5), rng.randint(-n - 5, n + 5)
            p.run("LRANGE", "l", a, b)
        p.run("LRANGE", "l", 0, -1)
        for _ in range(100):
            p.run("LSET", "l", rng.randint(-n - 3, n + 2), "s%d" % rng.randint(0, 9))
        for idx in (0, 63, 64, 399, 400, 463, 464, 999, -1, -1000):
            p.run("LSET", "l", idx, "edge%d" % idx)
        check_tree(p.dredis, "l", both_lists(p, "l"))
        for e in ("s3", "edge64", "v599", "w0", "missing"):
            p.run("LPOS", "l", e)
            p.run("LPOS", "l", e, "RANK", -1, "COUNT", 0)
            p.run("LPOS", "l", e, "COUNT", 3, "MAXLEN", 500)


def test_linsert_lrem_ltrim_across_segments_against_redis():
    rng = random.Random(4096)
    alphabet = ["a", "b", "c", "d", "pivot"]
    with Pair() as p:
        p.run("RPUSH", "l", *[rng.choice(alphabet) for _ in range(700)])
        p.run("LPUSH", "l", *[rng.choice(alphabet) for _ in range(300)])
        for i in range(40):
            p.run("LINSERT", "l", rng.choice(["BEFORE", "AFTER"]), rng.choice(alphabet), "ins%d" % i)
            if i % 10 == 0:
                check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LINSERT", "l", "BEFORE", "ins0", "first-half")
        p.run("LINSERT", "l", "AFTER", "ins39", "second-half")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        for count in (1, -1, 3, -3, 40, -40):
            p.run("LREM", "l", count, rng.choice(alphabet))
            check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LREM", "l", 0, "a")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        for start, stop in [(1, -2), (63, -65), (100, 700), (10, 10 + 64 * 3), (5, -5)]:
            p.run("LTRIM", "l", start, stop)
            check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LREM", "l", 0, "b")
        p.run("LREM", "l", 0, "c")
        check_tree(p.dredis, "l", both_lists(p, "l"))
        p.run("LTRIM", "l", 5, 1)
        assert gone(p.dredis, "l")
        # DUMP/RESTORE round trip of a long list in both directions
        p.run("RPUSH", "big", *["e%d" % i for i in range(777)])
        p.run("LPUSH", "big", *["f%d" % i for i in range(77)])
        dumped = p.d.execute("DUMP", "big")
        assert p.r.execute("RESTORE", "back", 0, dumped) == "OK"
        assert p.r.execute("LRANGE", "back", 0, -1) == p.r.execute("LRANGE", "big", 0, -1)
        assert p.d.execute("RESTORE", "back", 0, p.r.execute("DUMP", "big")) == "OK"
        check_tree(p.dredis, "back", p.r.execute("LRANGE", "big", 0, -1))
        assert check_tree(p.dredis, "back", p.d.execute("LRANGE", "back", 0, -1)) == 0
        p.run("COPY", "big", "copy")
        p.run("LPUSH", "copy", "new")
        p.run("RPOP", "big")
        p.run("LRANGE", "copy", 0, -1)
        p.run("LRANGE", "big", 0, -1)
        check_tree(p.dredis, "copy", both_lists(p, "copy"))
        check_tree(p.dredis, "big", both_lists(p, "big"))


def test_big_elements_in_segments():
    with Pair() as p:
        big = [bytes([65 + i]) * (3 << 20) for i in range(4)]
        p.run("RPUSH", "l", "small", big[0])
        for e in big[1:]:
            p.run("LPUSH", "l", e)
            p.run("RPUSH", "l", e)
        p.run("LINDEX", "l", 3)
        p.run("LSET", "l", 2, "x")
        p.run("LRANGE", "l", 0, -1)
        p.run("LPOP", "l", 2)
        p.run("RPOP", "l")
        check_tree(p.dredis, "l", both_lists(p, "l"))


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
