"""SORT and SORT_RO, compared with a real redis-server 7.0: every option,
each collection type, BY and GET patterns (missing keys and fields
included), STORE, the errors, and SORT from scripts."""
from dredis_test import Pair, RespError, sorted_reply

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")


def fill(p):
    """A list, a set and a sorted set of the same numbers, with weights and
    hash fields for BY and GET."""
    nums = ["3", "10", "1", "-2.5", "7", "100", "0", "42", "5e1", "8"]
    p.run("RPUSH", "l", *nums)
    p.run("SADD", "s", *nums)
    zargs = []
    for i, n in enumerate(nums):
        zargs += [str((i * 7) % 10), n]
    p.run("ZADD", "z", *zargs)
    for i, n in enumerate(nums):
        if i != 4:  # w_7 and h_7 are missing
            p.run("SET", "w_" + n, str((i * 3) % 7))
            p.run("HSET", "h_" + n, "f", "name-%d" % ((i * 3) % 10), "g", str(-i))
        p.run("SET", "o_" + n, "obj-" + n)
    return nums


def test_sort_numeric_each_type():
    with Pair() as p:
        fill(p)
        for key in ("l", "s", "z"):
            p.run("SORT", key)
            p.run("SORT", key, "ASC")
            p.run("SORT", key, "DESC")
            p.run("SORT_RO", key)
            p.run("SORT_RO", key, "DESC")
            p.run("SORT", key, "LIMIT", "2", "3")
            p.run("SORT", key, "DESC", "LIMIT", "0", "4")
            p.run("SORT", key, "ALPHA")
            p.run("SORT", key, "ALPHA", "DESC", "LIMIT", "1", "5")
        p.run("SORT", "nokey")
        p.run("SORT", "nokey", "LIMIT", "0", "10", "ALPHA")
        p.run("SORT_RO", "nokey", "DESC")


def test_sort_limit_edges():
    with Pair() as p:
        fill(p)
        for key in ("l", "s", "z"):
            for off, cnt in [("0", "0"), ("0", "-1"), ("-5", "3"), ("8", "10"), ("10", "1"), ("100", "5"),
                             ("3", "-7"), ("0", "9223372036854775807"), ("9223372036854775807", "2")]:
                p.run("SORT", key, "LIMIT", off, cnt)
                if key != "s":  # a set's own order is not Redis's (test_sort_nosort)
                    p.run("SORT", key, "BY", "nosort", "LIMIT", off, cnt)
                    p.run("SORT", key, "BY", "nosort", "DESC", "LIMIT", off, cnt)
        p.run("SORT", "l", "LIMIT", "a", "1")
        p.run("SORT", "l", "LIMIT", "1", "1.5")
        p.run("SORT", "l", "LIMIT", "1")
        p.run("SORT", "nokey", "LIMIT", "1", "x")


def test_sort_by_pattern():
    with Pair() as p:
        fill(p)
        for key in ("l", "s", "z"):
            p.run("SORT", key, "BY", "w_*")
            p.run("SORT", key, "BY", "w_*", "DESC")
            p.run("SORT", key, "BY", "w_*", "LIMIT", "1", "4")
            p.run("SORT", key, "BY", "h_*->g")
            p.run("SORT", key, "BY", "h_*->g", "DESC", "LIMIT", "2", "2")
            p.run("SORT", key, "BY", "h_*->f", "ALPHA")
            p.run("SORT", key, "BY", "h_*->f", "ALPHA", "DESC")
            p.run("SORT", key, "BY", "o_*", "ALPHA")
            p.run("SORT", key, "BY", "o_*", "ALPHA", "STORE", "dst")
            p.run("LRANGE", "dst", "0", "-1")
            # missing keys and fields sort as 0 (or first with ALPHA)
            p.run("SORT", key, "BY", "missing_*")
            p.run("SORT", key, "BY", "h_*->nofield")
            p.run("SORT", key, "BY", "w_*->f")  # w_ are strings, not hashes
            p.run("SORT", key, "BY", "h_*")     # h_ are hashes, not strings
        # BY values that are not numbers
        p.run("SORT", "l", "BY", "o_*")
        p.run("SORT", "l", "BY", "h_*->f")
        p.run("SORT", "l", "BY", "o_*", "STORE", "dst2")
        p.run("EXISTS", "dst2")


def test_sort_nosort():
    with Pair() as p:
        fill(p)
        for key in ("l", "z"):
            p.run("SORT", key, "BY", "nosort")
            p.run("SORT", key, "BY", "nosort", "DESC")
            p.run("SORT", key, "BY", "nosort", "LIMIT", "2", "3")
            p.run("SORT", key, "BY", "nosort", "DESC", "LIMIT", "2", "3")
            p.run("SORT", key, "BY", "nosort", "GET", "o_*", "GET", "#")
            p.run("SORT", key, "BY", "nosort", "STORE", "dst")
            p.run("LRANGE", "dst", "0", "-1")
            p.run("SORT", key, "BY", "constant->f")
        # a set BY nosort: Redis answers in its hash table order, dredis in
        # its directory order; compared as sets
        p.run("SORT", "s", "BY", "nosort", normalize=sorted_reply)
        # with STORE (and from scripts) Redis sorts the set ALPHA instead
        p.run("SORT", "s", "BY", "nosort", "STORE", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        p.run("SORT", "s", "BY", "nosort", "DESC", "LIMIT", "1", "3", "STORE", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        p.run("EVAL", "return redis.call('SORT', KEYS[1], 'BY', 'nosort')", "1", "s")
        p.run("EVAL", "return redis.call('SORT_RO', KEYS[1], 'BY', 'nosort', 'DESC')", "1", "s")
        # zset with equal scores keeps (score, member) order
        p.run("ZADD", "ze", "1", "b", "1", "a", "1", "c", "0", "z")
        p.run("SORT", "ze", "BY", "nosort")
        p.run("SORT", "ze", "BY", "nosort", "DESC", "LIMIT", "1", "2")


def test_sort_get():
    with Pair() as p:
        fill(p)
        for key in ("l", "s", "z"):
            p.run("SORT", key, "GET", "#")
            p.run("SORT", key, "GET", "o_*")
            p.run("SORT", key, "GET", "o_*", "GET", "#", "GET", "h_*->f", "GET", "w_*")
            p.run("SORT", key, "GET", "missing_*", "GET", "h_*->nofield", "GET", "w_*->f", "GET", "h_*")
            p.run("SORT", key, "GET", "nostar", "GET", "h_*->", "DESC", "LIMIT", "1", "3")
            p.run("SORT", key, "BY", "w_*", "GET", "#", "GET", "w_*")
            p.run("SORT", key, "GET", "o_*", "GET", "h_*->f", "STORE", "dst")
            p.run("LRANGE", "dst", "0", "-1")
            p.run("SORT_RO", key, "GET", "#", "GET", "h_*->g", "LIMIT", "0", "3")
        p.run("SORT", "nokey", "GET", "#")
        # "->" with the field in the key part, and '*' in the middle
        p.run("SET", "pre_3_post", "three")
        p.run("HSET", "hp_3_x", "a->b", "v")
        p.run("SORT", "l", "GET", "pre_*_post", "GET", "hp_*_x->a->b")


def test_sort_alpha_binary():
    with Pair() as p:
        vals = [b"b", b"a\x00z", b"a\x00b", b"\xff\xfe", b"A", b"", b"a", b"\x01", b"ab", b"\xc3\xa9"]
        p.run("RPUSH", "bl", *vals)
        p.run("SADD", "bs", *vals)
        for key in ("bl", "bs"):
            p.run("SORT", key, "ALPHA", "STORE", "dst")
            p.run("LRANGE", "dst", "0", "-1")
            p.run("SORT", key, "ALPHA", "DESC", "STORE", "dst")
            p.run("LRANGE", "dst", "0", "-1")
        # without STORE Redis compares with strcoll(), up to a NUL byte: the
        # relative order of "a\0z", "a\0b" and "a" is unspecified; the rest is
        # compared exactly
        vals2 = [b"b", b"\xff\xfe", b"A", b"", b"a", b"\x01", b"ab", b"\xc3\xa9", b"Z9", b"10", b"9"]
        p.run("RPUSH", "bl2", *vals2)
        p.run("SORT", "bl2", "ALPHA")
        p.run("SORT", "bl2", "ALPHA", "DESC", "LIMIT", "2", "5")
        for i, v in enumerate(vals2):
            p.run("SET", b"by_" + v, bytes([0x61 + (i * 3) % 11]) + b"\xfex")
        p.run("SORT", "bl2", "BY", "by_*", "ALPHA")
        p.run("SORT", "bl2", "BY", "by_*", "ALPHA", "STORE", "dst")
        p.run("LRANGE", "dst", "0", "-1")


def test_sort_numeric_details():
    with Pair() as p:
        p.run("RPUSH", "n", "1e1", " 5", "0x10", "-inf", "inf", "3.0", "3", "-0", "0", "007", "1e308")
        p.run("SORT", "n")
        p.run("SORT", "n", "DESC")
        p.run("RPUSH", "e", "", "1", "-1")
        p.run("SORT", "e")
        # (Redis leaves errno as it is before strtod(): after an ERANGE
        # failure a later SORT of numbers that parse without touching errno
        # can fail too, so the valid cases come first)
        # not numbers: the error, and nothing stored
        for bad in ("abc", "1x", "nan", "1e400", "-1e400", "1e-400", "1 "):
            p.run("DEL", "b")
            p.run("RPUSH", "b", "1", bad, "2")
            p.run("SORT", "b")
            p.run("SORT", "b", "STORE", "dst")
            p.run("SORT", "b", "ALPHA")
        p.run("EXISTS", "dst")
        # duplicates in a list
        p.run("RPUSH", "d", "2", "1", "2", "b", "a", "2")
        p.run("SORT", "d", "ALPHA")
        p.run("SORT", "d", "ALPHA", "DESC", "GET", "#")


def test_sort_store():
    with Pair() as p:
        fill(p)
        p.run("SET", "dst", "was a string")
        p.run("EXPIRE", "dst", "1000")
        p.run("SORT", "l", "STORE", "dst")
        p.run("TYPE", "dst")
        p.run("TTL", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        p.run("SORT", "s", "DESC", "LIMIT", "2", "3", "STORE", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        p.run("SORT", "z", "ALPHA", "STORE", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        # an empty result deletes the destination
        p.run("SORT", "nokey", "STORE", "dst")
        p.run("EXISTS", "dst")
        p.run("SORT", "nokey", "STORE", "dst")
        p.run("RPUSH", "dst", "x")
        p.run("SORT", "l", "LIMIT", "100", "1", "STORE", "dst")
        p.run("EXISTS", "dst")
        # the sorted key itself as destination
        p.run("SORT", "l", "DESC", "STORE", "l")
        p.run("LRANGE", "l", "0", "-1")
        # more than a segment of elements
        many = [str((i * 7919) % 1000) for i in range(700)]
        p.run("RPUSH", "big", *many)
        p.run("SORT", "big", "STORE", "bigdst")
        p.run("LRANGE", "bigdst", "0", "-1")
        p.run("SORT", "big", "DESC", "LIMIT", "100", "300")
        p.run("LLEN", "bigdst")
        # STORE with GET: missing values stored as empty strings
        p.run("SORT", "l", "GET", "#", "GET", "missing_*", "STORE", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        # last STORE wins
        p.run("SORT", "l", "STORE", "a1", "STORE", "a2")
        p.run("EXISTS", "a1", "a2")


def test_sort_errors():
    with Pair() as p:
        fill(p)
        p.run("SET", "str", "x")
        p.run("HSET", "hash", "a", "1")
        p.run("XADD", "stream", "1-1", "a", "1")
        for key in ("str", "hash", "stream"):
            p.run("SORT", key)
            p.run("SORT_RO", key)
            p.run("SORT", key, "STORE", "dst")
        p.run("EXISTS", "dst")
        # syntax errors come before WRONGTYPE
        p.run("SORT", "str", "FOO")
        for args in (["FOO"], ["BY"], ["GET"], ["STORE"], ["LIMIT", "1"], ["ASC", "BY"], ["ALPHA", "x"]):
            p.run("SORT", "l", *args)
            p.run("SORT_RO", "l", *args)
        p.run("SORT_RO", "l", "STORE", "dst")
        p.run("EXISTS", "dst")
        p.run("SORT")
        p.run("SORT_RO")
        # case-insensitive options
        p.run("sort", "l", "by", "O_*", "limit", "0", "3", "get", "#", "desc")
        p.run("Sort", "l", "By", "o_*", "Limit", "0", "3", "Get", "#", "Desc", "Alpha")


def test_sort_from_scripts():
    with Pair() as p:
        fill(p)
        p.run("EVAL", "return redis.call('SORT', KEYS[1], 'DESC', 'GET', '#', 'GET', 'o_*')", "1", "l")
        p.run("EVAL", "return redis.call('SORT', KEYS[1], 'BY', 'w_*', 'STORE', KEYS[2])", "2", "s", "dst")
        p.run("LRANGE", "dst", "0", "-1")
        p.run("EVAL", "return redis.call('SORT_RO', KEYS[1], 'ALPHA')", "1", "z")
        p.run("EVAL_RO", "return redis.call('SORT_RO', KEYS[1], 'LIMIT', 0, 2)", "1", "z")
        p.run("EVAL", "return redis.pcall('SORT', KEYS[1])", "1", "o_1")
        p.run("EVAL", "return redis.pcall('SORT_RO', KEYS[1], 'STORE', 'x')", "1", "l")
        d, r = p.both("EVAL_RO", "return redis.call('SORT', KEYS[1])", "1", "l")
        assert isinstance(d, RespError) and isinstance(r, RespError), (d, r)


def test_sort_command_info():
    with Pair() as p:
        for name in ("sort", "sort_ro"):
            d, r = p.both("COMMAND", "INFO", name)
            assert d[0][:6] == r[0][:6], (d, r)
            assert d[0][6] == r[0][6], (d, r)
        p.run("COMMAND", "GETKEYS", "SORT", "k")
