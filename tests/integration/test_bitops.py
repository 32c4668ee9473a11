"""Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
BITFIELD_RO) and the string algorithms LCS and SUBSTR, compared with a real
Redis 7.0: replies, error texts, the values they leave, binary data, big
offsets, RESP3 reply shapes, scripts, and a randomized run."""
import random
import time

from dredis_test import Pair, RespError, assert_command_info_matches, info_map

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
BAD_OFFSET = RespError("ERR bit offset is not an integer or out of range")
BAD_BIT = RespError("ERR bit is not an integer or out of range")

BINARY = bytes(range(256)) + b"\x00\xff\x80\x01" * 8


def test_setbit_getbit():
    with Pair() as p:
        p.run_many([
            ("SETBIT", "k", 7, 1), ("GET", "k"), ("SETBIT", "k", 7, 1), ("SETBIT", "k", 7, 0), ("GET", "k"),
            ("STRLEN", "k"),
            # growing pads with zero bytes; the old bit of new bytes is 0
            ("SETBIT", "k", 100, 1), ("GET", "k"), ("STRLEN", "k"), ("SETBIT", "k", 100, 0), ("GET", "k"),
            ("SETBIT", "k", 200, 0), ("STRLEN", "k"), ("GET", "k"),
            ("GETBIT", "k", 100), ("GETBIT", "k", 7), ("GETBIT", "k", 0), ("GETBIT", "k", 100000),
            ("GETBIT", "missing", 0), ("GETBIT", "missing", 4294967295),
            # a new key by SETBIT ... 0 exists, all zeros
            ("SETBIT", "z", 9, 0), ("EXISTS", "z"), ("GET", "z"),
            ("SET", "s", "foobar"), ("SETBIT", "s", 1, 0), ("SETBIT", "s", 2, 1), ("GET", "s"),
            ("GETBIT", "s", 1), ("GETBIT", "s", 47), ("GETBIT", "s", 48),
            # integers are strings of digits
            ("SET", "n", "12345"), ("GETBIT", "n", 2), ("GETBIT", "n", 3), ("SETBIT", "n", 7, 0), ("GET", "n"),
            # errors
            ("SETBIT", "k", -1, 1), ("SETBIT", "k", "x", 1), ("SETBIT", "k", "1.5", 1), ("SETBIT", "k", "", 1),
            ("SETBIT", "k", "01", 1), ("SETBIT", "k", 4294967296, 1), ("SETBIT", "k", "9223372036854775807", 1),
            ("SETBIT", "k", "99999999999999999999", 1),
            ("SETBIT", "k", 0, 2), ("SETBIT", "k", 0, -1), ("SETBIT", "k", 0, "x"), ("SETBIT", "k", 0, ""),
            ("SETBIT", "k", 0, "1.0"), ("SETBIT", "k", -1, 2),
            ("GETBIT", "k", -1), ("GETBIT", "k", "x"), ("GETBIT", "k", 4294967296), ("GETBIT", "missing", -5),
            ("SETBIT", "k"), ("SETBIT", "k", 1), ("SETBIT", "k", 1, 1, 1), ("GETBIT", "k"), ("GETBIT", "k", 1, 2),
        ])


def test_setbit_keeps_ttl():
    with Pair() as p:
        p.run_many([("SET", "k", "a", "EX", 1000), ("SETBIT", "k", 100, 1), ("SETBIT", "k", 0, 1)])
        assert p.d.execute("TTL", "k") > 900 and p.r.execute("TTL", "k") > 900
        p.run("GET", "k")


def test_wrongtype():
    with Pair() as p:
        p.run_many([
            ("LPUSH", "l", "a"), ("SET", "s", "abc"),
            ("SETBIT", "l", 0, 1), ("GETBIT", "l", 0), ("BITCOUNT", "l"), ("BITCOUNT", "l", 0, 1),
            ("BITPOS", "l", 1), ("BITPOS", "l", 0, 0, 1), ("BITOP", "AND", "d", "s", "l"), ("BITOP", "NOT", "d", "l"),
            ("EXISTS", "d"), ("BITOP", "OR", "l", "s"), ("TYPE", "l"), ("GET", "l"), ("LPUSH", "l", "a"),
            ("BITFIELD", "l", "GET", "u8", 0), ("BITFIELD", "l", "SET", "u8", 0, 1), ("BITFIELD", "l"),
            ("BITFIELD_RO", "l", "GET", "u8", 0), ("BITFIELD_RO", "l"),
            ("LCS", "l", "s"), ("LCS", "s", "l"), ("LCS", "l", "missing", "LEN"), ("SUBSTR", "l", 0, 1),
            # argument errors come first, or after the type check, as in Redis
            ("SETBIT", "l", -1, 1), ("SETBIT", "l", 0, 5), ("GETBIT", "l", -1), ("BITPOS", "l", 2),
            ("BITPOS", "l", "x"), ("BITCOUNT", "l", "x", "y"), ("BITCOUNT", "l", 1),
            ("BITFIELD_RO", "l", "SET", "u8", 0, 1), ("BITFIELD", "l", "GET", "x8", 0),
            ("BITFIELD", "l", "FOO"), ("BITOP", "NOT", "d", "l", "s"),
        ])


def test_bitcount():
    with Pair() as p:
        cmds = [("SET", "s", "foobar"), ("SET", "b", BINARY), ("SET", "e", "")]
        for key in ("s", "b", "e", "missing"):
            cmds.append(("BITCOUNT", key))
            for start, end in [(0, 0), (1, 1), (0, -1), (-2, -1), (-1, -2), (5, 30), (-100, 100), (3, 2), (-3, -5),
                               (100, 200), (-1, 0), (0, 9223372036854775807), (-9223372036854775808, -1)]:
                for unit in ((), ("BYTE",), ("BIT",), ("bit",), ("byte",)):
                    cmds.append(("BITCOUNT", key, start, end) + unit)
        cmds += [
            ("BITCOUNT", "s", 1), ("BITCOUNT", "s", 0, 1, "BITS"), ("BITCOUNT", "s", 0, 1, "BIT", "x"),
            # Redis 7.0 answers an empty negative range before it reads the unit
            ("BITCOUNT", "s", -1, -3, "bad"), ("BITCOUNT", "s", -3, -1, "bad"), ("BITCOUNT", "s", -1, -3, "BIT", "x"),
            ("BITCOUNT", "s", "a", 1), ("BITCOUNT", "s", 0, "b"), ("BITCOUNT", "s", "1.5", 2),
            ("BITCOUNT", "missing", "a", "b"), ("BITCOUNT", "missing", 1), ("BITCOUNT", "missing", 0, 1, "x"),
            ("BITCOUNT",), ("SET", "n", 12345), ("BITCOUNT", "n"), ("BITCOUNT", "n", 1, 2, "BIT"),
        ]
        p.run_many(cmds)


def test_bitpos():
    with Pair() as p:
        cmds = [("SET", "s", "\xff\xf0\x00"), ("SET", "b", BINARY), ("SET", "e", ""), ("SET", "ones", b"\xff" * 40),
                ("SET", "zeros", b"\x00" * 40), ("SET", "mid", b"\x00" * 20 + b"\x10" + b"\xff" * 20)]
        for key in ("s", "b", "e", "ones", "zeros", "mid", "missing"):
            for bit in (0, 1):
                cmds.append(("BITPOS", key, bit))
                for start in (0, 1, 2, -1, -2, -100, 100, 20, 21, 7):
                    cmds.append(("BITPOS", key, bit, start))
                    for end in (0, 1, 2, -1, -2, -100, 100, 3, 167, 168, 8, 15, 16, 9, 330):
                        for unit in ((), ("BYTE",), ("BIT",)):
                            cmds.append(("BITPOS", key, bit, start, end) + unit)
        cmds += [
            ("BITPOS", "s", 2), ("BITPOS", "s", -1), ("BITPOS", "s", "x"), ("BITPOS", "missing", 2),
            ("BITPOS", "s", 1, "x"), ("BITPOS", "s", 1, 0, "x"), ("BITPOS", "s", 1, 0, 1, "x"),
            ("BITPOS", "s", 1, 0, "x", "y"), ("BITPOS", "s", 1, 0, "x", "BIT"), ("BITPOS", "s", 1, 0, 1, "BIT", "x"),
            ("BITPOS", "missing", 1, "x"), ("BITPOS", "missing", 0, "x", "y", "z"), ("BITPOS", "s"),
            ("BITPOS", "s", 1, "9223372036854775807"), ("BITPOS", "s", 0, 0, "-9223372036854775808"),
            ("SET", "n", 12345), ("BITPOS", "n", 1), ("BITPOS", "n", 0, 2),
        ]
        p.run_many(cmds)


def test_bitop():
    with Pair() as p:
        cmds = [("SET", "a", "foobar"), ("SET", "b", "abcdef\x00\xffxyz"), ("SET", "c", BINARY), ("SET", "e", ""),
                ("SET", "n", 12345)]
        for op in ("AND", "OR", "XOR", "and", "Or", "xOr"):
            for srcs in (("a",), ("a", "b"), ("b", "a"), ("a", "b", "c"), ("a", "missing"), ("missing", "a"),
                         ("missing",), ("e",), ("e", "a"), ("a", "a"), ("c", "n"), ("missing", "missing2")):
                cmds += [("BITOP", op, "dest") + srcs, ("GET", "dest"), ("EXISTS", "dest")]
        for src in ("a", "b", "c", "e", "missing", "n"):
            cmds += [("BITOP", "NOT", "dest", src), ("GET", "dest"), ("EXISTS", "dest")]
        cmds += [
            # the destination may be a source; the result replaces any type and drops the TTL
            ("BITOP", "XOR", "a", "a", "b"), ("GET", "a"),
            ("LPUSH", "l", "x"), ("BITOP", "OR", "l", "b"), ("TYPE", "l"), ("GET", "l"),
            ("SET", "t", "x", "EX", 100), ("BITOP", "OR", "t", "b"), ("TTL", "t"),
            # an empty result deletes the destination
            ("SET", "d2", "x"), ("BITOP", "AND", "d2", "missing", "e"), ("EXISTS", "d2"),
            ("LPUSH", "l2", "x"), ("BITOP", "OR", "l2", "missing"), ("EXISTS", "l2"),
            # errors
            ("BITOP", "NAND", "d", "a"), ("BITOP", "NOT", "d", "a", "b"), ("BITOP", "NOT", "d"), ("BITOP", "AND", "d"),
            ("BITOP", "NOT", "d", "missing", "l"), ("BITOP", "FOO", "d", "l"),
        ]
        p.run_many(cmds)


def test_bitfield():
    with Pair() as p:
        cmds = [("SET", "b", BINARY)]
        for t in ("u1", "u7", "u8", "u15", "u16", "u31", "u32", "u63", "i1", "i2", "i8", "i13", "i32", "i63", "i64"):
            for off in (0, 1, 5, 8, 100, 2000, 2100, "#0", "#1", "#3", "#100"):
                cmds.append(("BITFIELD", "b", "GET", t, off))
                cmds.append(("BITFIELD_RO", "b", "GET", t, off))
        cmds.append(("BITFIELD", "missing", "GET", "i64", 0, "GET", "u8", 100))
        cmds.append(("EXISTS", "missing"))
        # SET / INCRBY and every overflow mode, signed and unsigned
        for t in ("u1", "u2", "u8", "u16", "u63", "i1", "i2", "i8", "i16", "i63", "i64"):
            for ow in ("WRAP", "SAT", "FAIL"):
                for v in (0, 1, -1, 2, 100, 127, 128, 255, 256, -128, -129, 32767, 65536, -65536,
                          9223372036854775807, -9223372036854775808, 4611686018427387904):
                    cmds += [("DEL", "k"), ("BITFIELD", "k", "OVERFLOW", ow, "SET", t, 3, v, "GET", t, 3),
                             ("BITFIELD", "k", "OVERFLOW", ow, "INCRBY", t, 3, v, "INCRBY", t, 3, v),
                             ("GET", "k"), ("STRLEN", "k")]
        cmds += [
            ("DEL", "k"),
            # several operations; OVERFLOW applies to the following ones
            ("BITFIELD", "k", "SET", "u8", 0, 255, "GET", "u8", 0, "INCRBY", "u8", 0, 10, "OVERFLOW", "SAT",
             "INCRBY", "u8", 0, 300, "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 1, "OVERFLOW", "WRAP", "INCRBY", "i8",
             "#1", -200, "GET", "i16", 0, "GET", "u4", 4, "set", "i5", "#7", -3, "incrby", "u3", 60, 9),
            ("GET", "k"),
            # a failed write still grows the string (as Redis)
            ("BITFIELD", "k2", "OVERFLOW", "FAIL", "SET", "u2", 100, 9), ("GET", "k2"),
            ("BITFIELD", "k2", "OVERFLOW", "FAIL", "INCRBY", "u2", 300, 9, "GET", "u8", 500), ("GET", "k2"),
            # GET past the end, a write in the middle, a GET beyond the write
            ("SET", "k3", "hello"), ("BITFIELD", "k3", "GET", "u8", 1000, "SET", "u8", 80, 65, "GET", "u16", 72,
                                     "GET", "i64", 3000), ("GET", "k3"),
            ("BITFIELD", "k3", "SET", "u8", 0, 104), ("GET", "k3"),
            # operations far apart (two segments)
            ("BITFIELD", "k3", "SET", "u8", 0, 1, "SET", "u16", 80000, 65535, "GET", "u32", 79992,
             "INCRBY", "i8", 4, 1), ("STRLEN", "k3"), ("GETRANGE", "k3", 0, 20), ("GETRANGE", "k3", 9990, 10010),
            # no operations
            ("BITFIELD", "nokey"), ("EXISTS", "nokey"), ("BITFIELD", "k3"), ("BITFIELD_RO", "nokey"),
            # errors
            ("BITFIELD", "k", "GET", "u64", 0), ("BITFIELD", "k", "GET", "i65", 0), ("BITFIELD", "k", "GET", "u0", 0),
            ("BITFIELD", "k", "GET", "i0", 0), ("BITFIELD", "k", "GET", "I8", 0), ("BITFIELD", "k", "GET", "x", 0),
            ("BITFIELD", "k", "GET", "u", 0), ("BITFIELD", "k", "GET", "", 0), ("BITFIELD", "k", "GET", "u-1", 0),
            ("BITFIELD", "k", "GET", "u8", -1), ("BITFIELD", "k", "GET", "u8", "#-1"), ("BITFIELD", "k", "GET", "u8", "#"),
            ("BITFIELD", "k", "GET", "u8", "x"), ("BITFIELD", "k", "GET", "u8", 4294967296),
            ("BITFIELD", "k", "GET", "u8", 4294967295), ("BITFIELD", "k", "GET", "u8", "#536870912"),
            ("BITFIELD", "k", "GET", "u8", "#536870911"), ("BITFIELD", "k", "GET", "i64", "#9223372036854775807"),
            ("BITFIELD", "k", "GET", "u8"), ("BITFIELD", "k", "GET"), ("BITFIELD", "k", "SET", "u8", 0),
            ("BITFIELD", "k", "SET", "u8", 0, "x"), ("BITFIELD", "k", "INCRBY", "u8", 0, "1.5"),
            ("BITFIELD", "k", "INCRBY", "u8", 0), ("BITFIELD", "k", "OVERFLOW"), ("BITFIELD", "k", "OVERFLOW", "x"),
            ("BITFIELD", "k", "OVERFLOW", "sat", "GET", "u8", 0, "FOO"), ("BITFIELD", "k", "FOO", "u8", 0),
            ("BITFIELD", "k", "SET", "u8", 0, 1, "OVERFLOW", "BAD"), ("BITFIELD", "k", "GET", "u8", 0, "SET", "i8"),
            ("BITFIELD_RO", "k", "SET", "u8", 0, 1), ("BITFIELD_RO", "k", "INCRBY", "u8", 0, 1),
            ("BITFIELD_RO", "nokey", "GET", "u8", 0, "SET", "u8", 0, 1), ("BITFIELD_RO", "k", "OVERFLOW", "SAT"),
            ("BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "u8", 0), ("BITFIELD_RO", "k", "FOO"),
            ("BITFIELD",), ("BITFIELD_RO",), ("EXISTS", "nokey"),
        ]
        p.run_many(cmds)


def test_bitfield_keeps_ttl_and_reads_integers():
    with Pair() as p:
        p.run_many([("SET", "k", "a", "EX", 1000), ("BITFIELD", "k", "SET", "u8", 100, 3), ("SET", "n", 9),
                    ("BITFIELD", "n", "GET", "u8", 0, "INCRBY", "u8", 0, 1), ("GET", "n")])
        assert p.d.execute("TTL", "k") > 900 and p.r.execute("TTL", "k") > 900


def test_lcs():
    with Pair() as p:
        cmds = [("SET", "a", "ohmytext"), ("SET", "b", "mynewtext"), ("SET", "c", "abcXdefYghi"),
                ("SET", "d", "abcdefghiZZZabc"), ("SET", "bin1", BINARY[:120]), ("SET", "bin2", BINARY[40:200]),
                ("SET", "e", ""), ("SET", "n", 1234567), ("SET", "m", 7654321)]
        pairs = [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c"), ("bin1", "bin2"), ("a", "e"), ("e", "a"),
                 ("a", "missing"), ("missing", "missing2"), ("a", "a"), ("n", "m")]
        opts = [(), ("LEN",), ("IDX",), ("IDX", "WITHMATCHLEN"), ("IDX", "MINMATCHLEN", 2),
                ("IDX", "MINMATCHLEN", 3, "WITHMATCHLEN"), ("IDX", "MINMATCHLEN", 0), ("IDX", "MINMATCHLEN", -5),
                ("IDX", "MINMATCHLEN", 100), ("LEN", "MINMATCHLEN", 2), ("WITHMATCHLEN",), ("MINMATCHLEN", 1),
                ("idx", "withmatchlen", "minmatchlen", 1), ("LEN", "LEN"), ("IDX", "IDX")]
        for x, y in pairs:
            for o in opts:
                cmds.append(("LCS", x, y) + o)
        cmds += [("LCS", "a", "b", "LEN", "IDX"), ("LCS", "a", "b", "IDX", "LEN"), ("LCS", "a", "b", "FOO"),
                 ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "MINMATCHLEN", "x"), ("LCS", "a"), ("LCS",),
                 ("LCS", "a", "b", "IDX", "MINMATCHLEN", "1.5")]
        p.run_many(cmds)
        # RESP3: IDX replies with a map
        p.run("HELLO", "3", normalize=lambda r: r[b"proto"] if isinstance(r, dict) else r)
        p.run_many([("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", 2),
                    ("LCS", "a", "b", "LEN"), ("LCS", "a", "b"), ("LCS", "missing", "b", "IDX")])


def test_lcs_table_limit():
    with Pair() as p:
        # (12001 * 12001 * 4) bytes of table exceed 512 MB: refused before any work
        p.run_many([("SET", "x", "x" * 12000), ("SET", "y", "y" * 12000), ("LCS", "x", "y"), ("LCS", "x", "y", "LEN"),
                    ("SET", "small", "xyz" * 300), ("LCS", "x", "small", "LEN"), ("LCS", "x", "small", "IDX")])


def test_substr():
    with Pair() as p:
        cmds = [("SET", "s", "Hello World"), ("SET", "b", BINARY)]
        for key in ("s", "b", "missing"):
            for start, end in [(0, 3), (-3, -1), (0, -1), (10, 100), (5, 3), (-100, 2), (-1, -5)]:
                cmds.append(("SUBSTR", key, start, end))
        cmds += [("SUBSTR", "s", "x", 1), ("SUBSTR", "s", 0), ("SUBSTR", "s", 0, 1, 2), ("SET", "n", 123),
                 ("SUBSTR", "n", 1, 1)]
        p.run_many(cmds)


def test_binary_values():
    with Pair() as p:
        cmds = [("SET", "b", BINARY), ("BITCOUNT", "b"), ("BITPOS", "b", 1), ("BITPOS", "b", 0, 1)]
        for off in range(0, len(BINARY) * 8, 97):
            cmds += [("SETBIT", "b", off, 1 - (off & 1)), ("GETBIT", "b", off + 3)]
        cmds += [("GET", "b"), ("BITFIELD", "b", "INCRBY", "u7", 1001, 77, "SET", "i9", 333, -200), ("GET", "b"),
                 ("BITOP", "XOR", "x", "b", "b"), ("GET", "x"), ("BITOP", "NOT", "y", "b"), ("GET", "y")]
        p.run_many(cmds)


def test_big_offsets():
    """A bit at 80,000,000 makes a 10 MB value in both servers; reading and
    writing single bits there must stay quick."""
    with Pair() as p:
        t0 = time.time()
        p.run_many([
            ("SETBIT", "big", 80000000, 1), ("STRLEN", "big"), ("GETBIT", "big", 80000000), ("GETBIT", "big", 79999999),
            ("SETBIT", "big", 5, 1), ("SETBIT", "big", 80000001, 1), ("SETBIT", "big", 80000001, 1),
            ("BITCOUNT", "big"), ("BITCOUNT", "big", -1, -1), ("BITCOUNT", "big", 80000000, 80000003, "BIT"),
            ("BITPOS", "big", 1), ("BITPOS", "big", 1, 1), ("BITPOS", "big", 1, 8388608), ("BITPOS", "big", 0, -1),
            ("BITPOS", "big", 1, 79999999, 80000007, "BIT"), ("BITPOS", "big", 0, 0, -1),
            ("BITFIELD", "big", "GET", "u16", 79999992, "INCRBY", "u16", 79999992, 7, "SET", "i8", 80000100, -1),
            ("STRLEN", "big"), ("GETRANGE", "big", 9999998, 10000020),
            ("BITOP", "AND", "big2", "big", "big"), ("STRLEN", "big2"), ("BITCOUNT", "big2"),
            ("BITOP", "OR", "big3", "big", "missing"), ("BITCOUNT", "big3"),
            ("GETBIT", "missing", 4294967295), ("BITFIELD", "big", "GET", "u8", 4294967287),
            ("SETBIT", "big", 4294967296, 1), ("BITFIELD", "big", "SET", "u8", 4294967290, 1),
            ("DEL", "big", "big2", "big3"),
            # the last addressable bit: a 512 MB string (sparse in dredis); only cheap reads of it
            ("SETBIT", "edge", 4294967295, 1), ("STRLEN", "edge"), ("GETBIT", "edge", 4294967295),
            ("GETBIT", "edge", 4294967294), ("BITPOS", "edge", 1, -1), ("BITCOUNT", "edge", -2, -1),
            ("BITFIELD", "edge", "GET", "u8", 4294967288, "GET", "i16", "#268435455"), ("DEL", "edge"),
        ])
        assert time.time() - t0 < 20, "big offsets took %.1fs" % (time.time() - t0)


def test_bitfield_ro_in_multi_and_watch():
    with Pair() as p:
        p.run_many([("SET", "k", "abc"), ("MULTI",), ("SETBIT", "k", 0, 1), ("BITFIELD_RO", "k", "GET", "u8", 0),
                    ("BITCOUNT", "k"), ("EXEC",)])
        # a SETBIT that changes nothing does not touch WATCHed keys (as Redis)
        for c in (p.d, p.r):
            c.execute("WATCH", "k")
            c.execute("SETBIT", "k", 0, 1)
            c.execute("MULTI")
            c.execute("GET", "k")
        p.run("EXEC")


def test_commands_from_scripts():
    script = """
    redis.call('SETBIT', KEYS[1], 10, 1)
    local r = {}
    r[1] = redis.call('GETBIT', KEYS[1], 10)
    r[2] = redis.call('BITCOUNT', KEYS[1])
    r[3] = redis.call('BITPOS', KEYS[1], 1)
    r[4] = redis.call('BITFIELD', KEYS[1], 'INCRBY', 'u8', 0, 200, 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', 0, 100)
    r[5] = redis.call('BITFIELD_RO', KEYS[1], 'GET', 'i8', 0)
    r[6] = redis.call('BITOP', 'NOT', KEYS[2], KEYS[1])
    r[7] = redis.call('GET', KEYS[2])
    r[8] = redis.call('LCS', KEYS[1], KEYS[2], 'IDX', 'WITHMATCHLEN')
    r[9] = redis.call('SUBSTR', KEYS[2], 0, 0)
    r[10] = redis.pcall('SETBIT', KEYS[1], -1, 1)
    r[11] = redis.pcall('BITFIELD_RO', KEYS[1], 'SET', 'u8', 0, 1)
    return r
    """
    with Pair() as p:
        p.run("EVAL", script, 2, "k1", "k2")
        p.run("EVAL", "return redis.call('BITFIELD_RO', KEYS[1], 'GET', 'u8', 0)", 1, "k1")
        p.run("EVAL_RO", "return redis.call('BITCOUNT', KEYS[1])", 1, "k1")
        p.run("EVAL_RO", "return redis.pcall('SETBIT', KEYS[1], 0, 1)", 1, "k1",
              normalize=lambda r: r.message.split(" script:")[0] if isinstance(r, RespError) else r)


def test_command_info_matches_redis():
    names = ["setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro", "lcs", "substr"]
    with Pair() as p:
        assert_command_info_matches(p, names)
        p.run_many([("COMMAND", "GETKEYS", "BITOP", "AND", "d", "a", "b"), ("COMMAND", "GETKEYS", "LCS", "a", "b"),
                    ("COMMAND", "GETKEYS", "SETBIT", "k", 1, 1), ("COMMAND", "GETKEYS", "BITFIELD", "k")])
        # arity errors
        p.run_many([("SETBIT", "k", 1), ("GETBIT", "k"), ("BITCOUNT",), ("BITPOS", "k"), ("BITOP", "AND", "d"),
                    ("BITFIELD",), ("BITFIELD_RO",), ("LCS", "a"), ("SUBSTR", "k", 1)])


def test_randomized_against_redis():
    rng = random.Random(20240607)
    keys = ["r1", "r2", "r3", "r4"]
    cmds = []
    for _ in range(400):
        k = rng.choice(keys)
        kind = rng.random()
        off = rng.choice([rng.randrange(0, 64), rng.randrange(0, 2000), rng.randrange(0, 40000)])
        if kind < 0.3:
            cmds.append(("SETBIT", k, off, rng.randrange(2)))
        elif kind < 0.5:
            ops = []
            for _ in range(rng.randrange(1, 5)):
                sign = rng.choice("iu")
                bits = rng.randrange(1, 65 if sign == "i" else 64)
                o = rng.choice([off, "#%d" % rng.randrange(0, 100)])
                what = rng.random()
                if what < 0.2:
                    ops += ["OVERFLOW", rng.choice(["WRAP", "SAT", "FAIL"])]
                if what < 0.4:
                    ops += ["GET", sign + str(bits), o]
                elif what < 0.7:
                    ops += ["SET", sign + str(bits), o, rng.randrange(-2 ** 63, 2 ** 63)]
                else:
                    ops += ["INCRBY", sign + str(bits), o, rng.choice([rng.randrange(-300, 300),
                                                                       rng.randrange(-2 ** 63, 2 ** 63)])]
            cmds.append(("BITFIELD", k) + tuple(ops))
        elif kind < 0.62:
            cmds.append(("BITCOUNT", k) + rng.choice([(), (rng.randrange(-50, 50), rng.randrange(-50, 50)),
                                                       (rng.randrange(-400, 400), rng.randrange(-400, 400), "BIT")]))
        elif kind < 0.75:
            cmds.append(("BITPOS", k, rng.randrange(2)) +
                        rng.choice([(), (rng.randrange(-50, 50),), (rng.randrange(-50, 50), rng.randrange(-50, 50)),
                                    (rng.randrange(-400, 400), rng.randrange(-400, 400), "BIT")]))
        elif kind < 0.85:
            op = rng.choice(["AND", "OR", "XOR", "NOT"])
            srcs = [rng.choice(keys + ["missing"])] if op == "NOT" else rng.sample(keys + ["missing"], rng.randrange(1, 4))
            cmds.append(("BITOP", op, rng.choice(keys)) + tuple(srcs))
        elif kind < 0.9:
            cmds.append(("GETBIT", k, off))
        elif kind < 0.95:
            cmds.append(("GET", k))
        else:
            cmds.append(("SETRANGE", k, rng.randrange(0, 100), bytes(rng.randrange(256) for _ in range(5))))
    with Pair() as p:
        p.run_many(cmds)
        p.run_many([("GET", k) for k in keys])


def info_field(client, name):
    return int(info_map(client, "stats")[name])


def test_keyspace_hits_and_misses():
    """Reads count hits and misses as in Redis; writes (SETBIT, BITFIELD with
    a write, BITOP's destination) count none."""
    with Pair() as p:
        p.run_many([("SET", "a", "abc"), ("SET", "b", "xbz")])
        before = [(info_field(c, "keyspace_hits"), info_field(c, "keyspace_misses")) for c in (p.d, p.r)]
        p.run_many([("GETBIT", "a", 1), ("GETBIT", "nope", 1), ("BITCOUNT", "a"), ("BITCOUNT", "nope"),
                    ("BITPOS", "a", 1), ("BITPOS", "nope", 0), ("SETBIT", "a", 3, 1), ("SETBIT", "new", 3, 1),
                    ("BITOP", "OR", "dst", "a", "b", "nope"), ("BITFIELD", "a", "GET", "u8", 0),
                    ("BITFIELD", "nope2", "GET", "u8", 0), ("BITFIELD", "a", "SET", "u8", 0, 1),
                    ("BITFIELD_RO", "b", "GET", "u8", 0), ("LCS", "a", "b"), ("LCS", "nope", "b"),
                    ("SUBSTR", "a", 0, 1), ("SUBSTR", "nope", 0, 1)])
        after = [(info_field(c, "keyspace_hits"), info_field(c, "keyspace_misses")) for c in (p.d, p.r)]
        deltas = [(x[0] - y[0], x[1] - y[1]) for x, y in zip(after, before)]
        assert deltas[0] == deltas[1], deltas


def test_changes_survive_a_restart():
    with Pair() as p:
        cmds = [("SETBIT", "a", 1000, 1), ("SETBIT", "a", 3, 1), ("BITFIELD", "b", "SET", "i16", "#3", -1234,
                                                                  "INCRBY", "u8", 4, 3),
                ("BITOP", "XOR", "c", "a", "b"), ("BITFIELD", "c", "OVERFLOW", "FAIL", "SET", "u1", 9000, 2)]
        p.run_many(cmds)
        p.restart_dredis()
        p.run_many([("GET", "a"), ("GET", "b"), ("GET", "c"), ("STRLEN", "c")])
