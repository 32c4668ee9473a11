"""Hash commands, compared with a real redis-server 7.0, and the tree they
leave on disk (docs/storage-format.md, "Hashes")."""
import os
import signal

from dredis_test import Pair, RespError, files_under, sorted_reply, staging_leftovers, wait_until, assert_command_info_matches

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")


def as_pairs(v):
    """HGETALL / HSCAN / HRANDFIELD WITHVALUES (RESP2) as a sorted pair list."""
    if isinstance(v, dict):
        return sorted(v.items())
    if isinstance(v, list) and v and isinstance(v[0], list):
        return sorted(tuple(x) for x in v)
    if isinstance(v, list):
        return sorted(zip(v[::2], v[1::2]))
    return v


def key_dir(p, name, db=0):
    return os.path.join(p.dredis.db_dir(db), name)


def tree(p, name, db=0):
    return files_under(key_dir(p, name, db))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def restart(p, sig=signal.SIGTERM):
    p.d.close()
    p.dredis.restart(sig)
    p.d = p.dredis.client()


def resp3(p):
    d, r = p.both("HELLO", "3")
    assert isinstance(d, dict) and isinstance(r, dict), (d, r)


def staging_empty(p):
    """Nothing half-written is left under .tmp (its ready-made pools aside)."""
    return staging_leftovers(p.dredis.root_dir) == []


def test_hset_hget_hlen_hexists_hstrlen():
    with Pair() as p:
        assert p.run("HSET", "h", "a", "1", "b", "22") == 2
        assert p.run("HSET", "h", "a", "11", "c", "333") == 1  # a updated, c new
        assert p.run("HSET", "h", "d", "4", "d", "44") == 1  # same field twice
        p.run("HGET", "h", "a")
        p.run("HGET", "h", "d")
        p.run("HGET", "h", "nope")
        p.run("HGET", "nokey", "a")
        p.run("HLEN", "h")
        p.run("HLEN", "nokey")
        for f in ("a", "c", "nope"):
            p.run("HEXISTS", "h", f)
            p.run("HSTRLEN", "h", f)
        p.run("HEXISTS", "nokey", "a")
        p.run("HSTRLEN", "nokey", "a")
        assert p.run("HMSET", "h", "e", "5", "a", "111") == "OK"
        p.run("HMSET", "h2", "x", "1")
        p.run("HMGET", "h", "a", "nope", "e", "a")
        p.run("HMGET", "nokey", "a", "b")
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("HLEN", "h")


def test_hsetnx():
    with Pair() as p:
        p.run("HSETNX", "h", "a", "1")
        p.run("HSETNX", "h", "a", "2")
        p.run("HGET", "h", "a")
        p.run("HSETNX", "h", "b", "")
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("SET", "s", "x")
        p.run("HSETNX", "s", "a", "1")
        assert staging_empty(p)


def test_hdel_and_emptied_hash_is_removed():
    with Pair() as p:
        p.run("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4")
        p.run("HDEL", "h", "a", "nope", "a")
        p.run("HDEL", "nokey", "a")
        p.run("HLEN", "h")
        p.run("HDEL", "h", "b")
        assert tree(p, "h") == ["fields", "fields/c", "fields/d", "len", "type"]
        assert read(os.path.join(key_dir(p, "h"), "len")) == b"2"
        # one command removing the rest (with duplicates and strangers)
        p.run("HDEL", "h", "c", "zz", "d", "c")
        p.run("EXISTS", "h")
        p.run("TYPE", "h")
        p.run("HLEN", "h")
        assert not os.path.exists(key_dir(p, "h"))
        # field by field
        p.run("HSET", "g", "a", "1", "b", "2")
        p.run("HDEL", "g", "a")
        p.run("HDEL", "g", "b")
        p.run("EXISTS", "g")
        assert not os.path.exists(key_dir(p, "g"))
        p.run("DBSIZE")
        assert staging_empty(p)
        trash = os.path.join(p.dredis.root_dir, ".trash")
        wait_until(lambda: files_under(trash) == [], what="deleted hashes to leave .trash")


def test_tree_layout_after_writes():
    with Pair() as p:
        d = key_dir(p, "h")
        p.run("HSET", "h", "a", "1", "b", "two")
        assert tree(p, "h") == ["fields", "fields/a", "fields/b", "len", "type"]
        assert read(os.path.join(d, "type")) == b"hash"
        assert read(os.path.join(d, "len")) == b"2"
        assert read(os.path.join(d, "fields", "a")) == b"1"
        assert read(os.path.join(d, "fields", "b")) == b"two"
        # update: same files, new content, len unchanged
        p.run("HSET", "h", "a", "one")
        assert tree(p, "h") == ["fields", "fields/a", "fields/b", "len", "type"]
        assert read(os.path.join(d, "fields", "a")) == b"one"
        assert read(os.path.join(d, "len")) == b"2"
        # names that are not plain file names are escaped
        p.run("HSET", "h", "x/y", "1", "", "empty", ".dot", "2", "sp ace", "3", "\x00\xff", "4")
        assert tree(p, "h") == sorted(["fields", "fields/a", "fields/b", "fields/x%2Fy", "fields/%",
                                       "fields/%2Edot", "fields/sp%20ace", "fields/%00%C3%BF", "len", "type"])
        assert read(os.path.join(d, "fields", "%")) == b"empty"
        assert read(os.path.join(d, "len")) == b"7"
        # HINCRBY / HINCRBYFLOAT / HSETNX write one field file and len
        p.run("HINCRBY", "h", "n", "5")
        p.run("HINCRBYFLOAT", "h", "fl", "2.5")
        p.run("HSETNX", "h", "nx", "v")
        assert read(os.path.join(d, "fields", "n")) == b"5"
        assert read(os.path.join(d, "fields", "fl")) == b"2.5"
        assert read(os.path.join(d, "fields", "nx")) == b"v"
        assert read(os.path.join(d, "len")) == b"10"
        # a field too long for a file name: a digest name, the full name under .names
        long_field = "F" * 300
        p.run("HSET", "h", long_field, "long")
        names = [n for n in tree(p, "h") if n.startswith("fields/.names/")]
        assert len(names) == 1
        digest = names[0].split("/")[-1]
        assert "~" in digest and len(digest) < 255
        assert read(os.path.join(d, "fields", ".names", digest)) == long_field.encode()
        assert read(os.path.join(d, "fields", digest)) == b"long"
        p.run("HGET", "h", long_field)
        p.run("HDEL", "h", long_field)
        assert not any(n.startswith("fields/" + digest) for n in tree(p, "h"))
        assert not os.path.exists(os.path.join(d, "fields", ".names", digest))
        p.run("HLEN", "h")
        assert staging_empty(p)


def test_binary_fields_and_values():
    with Pair() as p:
        fields = [b"", b"\x00", b"\xff\xfe", b"a\r\nb", b"/", b".", b"..", b".names", b"%", b"%25", b"~x",
                  b"sp ace", "\u00e9\u4e2d".encode(), bytes(range(256)), b"x" * 250]
        args = []
        for i, f in enumerate(fields):
            args += [f, b"v\x00" + bytes([i]) + f]
        p.run("HSET", "bin", *args)
        p.run("HLEN", "bin")
        for f in fields:
            p.run("HGET", "bin", f)
            p.run("HEXISTS", "bin", f)
            p.run("HSTRLEN", "bin", f)
        p.run("HMGET", "bin", *fields)
        p.run("HGETALL", "bin", normalize=as_pairs)
        p.run("HKEYS", "bin", normalize=sorted_reply)
        p.run("HVALS", "bin", normalize=sorted_reply)
        p.run("HDEL", "bin", *fields[::2])
        p.run("HGETALL", "bin", normalize=as_pairs)
        p.run("HDEL", "bin", *fields)
        p.run("EXISTS", "bin")
        # binary key names too
        p.run("HSET", b"k\x00/ey", b"f", b"v")
        p.run("HGETALL", b"k\x00/ey", normalize=as_pairs)
        p.run("TYPE", b"k\x00/ey")


def test_large_values_and_empty_strings():
    with Pair() as p:
        big = os.urandom(1 << 20)
        p.run("HSET", "h", "big", big, "", "", "e", "")
        p.run("HSTRLEN", "h", "big")
        assert p.run("HGET", "h", "big") == big
        p.run("HGET", "h", "")
        p.run("HSTRLEN", "h", "")
        p.run("HEXISTS", "h", "")
        p.run("HGETALL", "h", normalize=as_pairs)
        assert os.path.getsize(os.path.join(key_dir(p, "h"), "fields", "big")) == 1 << 20
        # a 1 MB field name
        p.run("HSET", "h", big, "v")
        p.run("HGET", "h", big)
        p.run("HEXISTS", "h", big)
        p.run("HKEYS", "h", normalize=sorted_reply)
        p.run("HDEL", "h", big)
        p.run("HLEN", "h")
        p.run("HINCRBYFLOAT", "h", "big", "1")  # not a float (too long)


def test_hincrby():
    with Pair() as p:
        p.run("HINCRBY", "h", "n", "5")
        p.run("HINCRBY", "h", "n", "-12")
        p.run("HINCRBY", "new", "n", "0")
        p.run("EXISTS", "new")
        p.run("HSET", "h", "s", "abc", "f", "1.5", "sp", " 1", "big", "9223372036854775807",
              "small", "-9223372036854775808", "e", "")
        for f in ("s", "f", "sp", "e"):
            p.run("HINCRBY", "h", f, "1")
        p.run("HINCRBY", "h", "big", "1")
        p.run("HINCRBY", "h", "big", "0")
        p.run("HINCRBY", "h", "small", "-1")
        p.run("HINCRBY", "h", "small", "1")
        p.run("HINCRBY", "h", "n", "abc")
        p.run("HINCRBY", "h", "n", "1.0")
        p.run("HINCRBY", "h", "n", "9223372036854775808")
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("SET", "str", "1")
        p.run("HINCRBY", "str", "n", "1")
        assert staging_empty(p)


def test_hincrbyfloat():
    with Pair() as p:
        for incr in ("1.5", "-0.25", "10", "1e3", "3.0e-2", "-1e3", "0.1", "0.2", "5.0e3", "-10.5"):
            p.run("HINCRBYFLOAT", "h", "f", incr)
        p.run("HINCRBYFLOAT", "h", "i", "1")
        p.run("HSET", "h", "int", "17", "s", "abc", "e", "", "sp", " 1")
        p.run("HINCRBYFLOAT", "h", "int", "0.5")
        for f in ("s", "e", "sp"):
            p.run("HINCRBYFLOAT", "h", f, "1")
        for bad in ("abc", "nan", "inf", "-inf", "+inf", "", " 1"):
            p.run("HINCRBYFLOAT", "h", "f", bad)
        p.run("HINCRBYFLOAT", "h", "huge", "1e308")
        p.run("HINCRBYFLOAT", "h", "huge", "1e308")  # overflows to inf
        p.run("HINCRBYFLOAT", "h", "x", "1e400")
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("HINCRBYFLOAT", "nokey", "f", "inf")
        p.run("EXISTS", "nokey")
        assert staging_empty(p)


def test_hkeys_hvals_hgetall_resp2_and_resp3():
    with Pair() as p:
        p.run("HSET", "h", *[x for i in range(50) for x in ("f%d" % i, "v%d" % (i * 7))])
        p.run("HKEYS", "h", normalize=sorted_reply)
        p.run("HVALS", "h", normalize=sorted_reply)
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("HKEYS", "nokey")
        p.run("HVALS", "nokey")
        p.run("HGETALL", "nokey")
        resp3(p)
        assert isinstance(p.run("HGETALL", "h"), dict)  # a map, compared as a dict
        p.run("HGETALL", "nokey")
        p.run("HKEYS", "h", normalize=sorted_reply)
        p.run("HVALS", "h", normalize=sorted_reply)
        p.run("HKEYS", "nokey")
        p.run("HGET", "h", "nope")
        p.run("HGET", "nokey", "a")
        p.run("HMGET", "h", "f1", "nope")
        p.run("HEXISTS", "h", "f1")
        p.run("HINCRBYFLOAT", "h", "fl", "1.5")  # a bulk string even in RESP3
        p.run("HSCAN", "nokey", "0")
        p.run("HRANDFIELD", "nokey")
        p.run("HRANDFIELD", "nokey", "3")


def test_wrongtype_and_arity():
    with Pair() as p:
        p.run("SET", "str", "v")
        p.run("SADD", "set", "m")
        p.run("HSET", "h", "a", "1")
        cmds = [("HSET", "K", "a", "1"), ("HSETNX", "K", "a", "1"), ("HGET", "K", "a"), ("HMSET", "K", "a", "1"),
                ("HMGET", "K", "a"), ("HDEL", "K", "a"), ("HLEN", "K"), ("HSTRLEN", "K", "a"),
                ("HEXISTS", "K", "a"), ("HKEYS", "K"), ("HVALS", "K"), ("HGETALL", "K"), ("HINCRBY", "K", "a", "1"),
                ("HINCRBYFLOAT", "K", "a", "1"), ("HRANDFIELD", "K"), ("HRANDFIELD", "K", "2"),
                ("HRANDFIELD", "K", "-2", "WITHVALUES"), ("HSCAN", "K", "0")]
        for key in ("str", "set"):
            for cmd in cmds:
                cmd = (cmd[0], key) + cmd[2:]
                assert p.run(*cmd) == WRONGTYPE, cmd
        p.run("GET", "h")
        p.run("SADD", "h", "x")
        p.run("APPEND", "h", "x")
        # one argument short: the arity error
        for cmd in cmds:
            p.run(*cmd[:-1])
        p.run("HSET", "h", "a", "1", "b")
        p.run("HMSET", "h", "a", "1", "b")
        p.run("HSET", "h", "a")
        p.run("HGETALL", "h", "x")
        p.run("HINCRBY", "h", "a", "1", "2")
        # SET replaces a hash whatever its type
        p.run("SET", "h", "now a string")
        p.run("TYPE", "h")
        p.run("GET", "h")
        assert tree(p, "h") == ["type", "value"]


def test_hrandfield():
    with Pair() as p:
        fields = {b"f%d" % i: b"v%d" % i for i in range(20)}
        p.run("HSET", "h", *[x for kv in fields.items() for x in kv])
        # errors and fixed answers
        for args in (("abc",), ("-9223372036854775808",), ("9223372036854775808",), ("1", "foo"),
                     ("1", "withvalues", "x"), ("-4611686018427387905", "withvalues"),
                     ("4611686018427387904", "withvalues"), ("0",), ("0", "WITHVALUES")):
            p.run("HRANDFIELD", "h", *args)
            p.run("HRANDFIELD", "nokey", *args)
        p.run("HRANDFIELD", "nokey")
        # count >= size: the whole hash
        p.run("HRANDFIELD", "h", "20", normalize=sorted_reply)
        p.run("HRANDFIELD", "h", "1000", normalize=sorted_reply)
        p.run("HRANDFIELD", "h", "20", "WITHVALUES", normalize=as_pairs)
        d, r = p.d, p.r
        for _ in range(20):
            assert d.execute("HRANDFIELD", "h") in fields
            # distinct, from the hash
            for count in (1, 2, 5, 6, 7, 19):
                got = d.execute("HRANDFIELD", "h", count)
                assert len(got) == count and len(set(got)) == count and set(got) <= set(fields)
                got = d.execute("HRANDFIELD", "h", count, "WITHVALUES")
                assert len(got) == 2 * count
                pairs = list(zip(got[::2], got[1::2]))
                assert len(set(pairs)) == count and all(fields[f] == v for f, v in pairs)
            # repetitions allowed: exactly -count
            got = d.execute("HRANDFIELD", "h", -50)
            assert len(got) == 50 and set(got) <= set(fields)
            got = d.execute("HRANDFIELD", "h", -30, "WITHVALUES")
            assert len(got) == 60 and all(fields[f] == v for f, v in zip(got[::2], got[1::2]))
        # every field comes up eventually
        seen = set()
        for _ in range(40):
            seen.update(d.execute("HRANDFIELD", "h", -20))
        assert seen == set(fields)
        # RESP3: WITHVALUES gives [field, value] pairs, like Redis
        resp3(p)
        p.run("HRANDFIELD", "h", "25", "WITHVALUES", normalize=as_pairs)
        p.run("HRANDFIELD", "h", "0", "WITHVALUES")
        got = d.execute("HRANDFIELD", "h", -3, "WITHVALUES")
        want = r.execute("HRANDFIELD", "h", -3, "WITHVALUES")
        assert [len(x) for x in got] == [len(x) for x in want] == [2, 2, 2]
        assert all(fields[f] == v for f, v in got)
        got = d.execute("HRANDFIELD", "h", 4, "WITHVALUES")
        assert len(got) == 4 and all(fields[f] == v for f, v in got)
        assert isinstance(d.execute("HRANDFIELD", "h", 4), list)


def test_hrandfield_large_hash():
    """A hash too large to be read whole for a random pick is sampled by
    directory offsets: still distinct, still from the hash, still spread."""
    with Pair() as p:
        # long names: 900 of them are more than the sampler reads whole
        n = 900
        fields = [("field-%05d-" % i + "x" * 170).encode() for i in range(n)]
        p.run("HSET", "big", *[x for f in fields for x in (f, f[:11])])
        p.run("HLEN", "big")
        d = p.d
        fs = set(fields)
        got = d.execute("HRANDFIELD", "big", 50, "WITHVALUES")
        pairs = list(zip(got[::2], got[1::2]))
        assert len({f for f, _ in pairs}) == 50 and all(f in fs and v == f[:11] for f, v in pairs)
        got = d.execute("HRANDFIELD", "big", -n)
        assert len(got) == n and set(got) <= fs
        assert len(set(got)) > n // 4  # not stuck on a few fields
        singles = {d.execute("HRANDFIELD", "big") for _ in range(50)}
        assert singles <= fs and len(singles) > 10
        got = d.execute("HRANDFIELD", "big", 600)  # a large part: read whole
        assert len(got) == 600 and len(set(got)) == 600 and set(got) <= fs


def test_hscan():
    with Pair() as p:
        p.run("HSET", "small", "a", "1", "b", "2", "c", "3")
        # errors
        for args in (("abc",), ("-1x",), ("18446744073709551616",), (" 1",)):
            p.run("HSCAN", "small", *args)
            p.run("HSCAN", "nokey", *args)
        for opts in (("COUNT", "0"), ("COUNT", "-1"), ("COUNT",), ("COUNT", "x"), ("MATCH",), ("FOO", "1"),
                     ("NOVALUES",), ("TYPE", "hash")):
            p.run("HSCAN", "small", "0", *opts)
            p.run("HSCAN", "nokey", "0", *opts)  # options are not looked at for a missing key
        # a small hash comes whole
        p.run("HSCAN", "small", "0", normalize=lambda v: [v[0], as_pairs(v[1])])
        p.run("HSCAN", "small", "0", "MATCH", "[ab]", "COUNT", "100", normalize=lambda v: [v[0], as_pairs(v[1])])
        p.run("HSCAN", "small", "0", "MATCH", "zz*", normalize=lambda v: [v[0], as_pairs(v[1])])
        # a large one, page by page: every field exactly once
        n = 600
        args = []
        for i in range(n):
            args += ["f:%d" % i, "v%d" % i]
        p.run("HSET", "big", *args)
        want = as_pairs(p.r.execute("HGETALL", "big"))
        for count in (1, 7, 100, 5000):
            got, cursor, calls = [], b"0", 0
            while True:
                cursor, page = p.d.execute("HSCAN", "big", cursor, "COUNT", count)
                got += list(zip(page[::2], page[1::2]))
                calls += 1
                assert len(page) <= 2 * count
                if cursor == b"0":
                    break
            assert sorted(got) == want, count
            assert calls >= n // count
        # MATCH filters every page
        got, cursor = [], b"0"
        while True:
            cursor, page = p.d.execute("HSCAN", "big", cursor, "MATCH", "f:1?", "COUNT", 50)
            got += page[::2]
            if cursor == b"0":
                break
        assert sorted(got) == sorted(b"f:1%d" % i for i in range(10))


def test_restart_keeps_hashes():
    with Pair() as p:
        p.run("HSET", "h", "a", "1", "b", b"\x00\xff", "", "e")
        p.run("HINCRBY", "h", "n", "41")
        p.run("HSET", "long", "L" * 300, "v")
        restart(p)
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("HLEN", "h")
        p.run("HINCRBY", "h", "n", "1")
        p.run("HGET", "long", "L" * 300)
        p.run("HKEYS", "long")
        # killed, not shut down: what was acknowledged is on disk
        p.run("HSET", "h", "after", "kill")
        p.run("HDEL", "h", "a")
        restart(p, signal.SIGKILL)
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("HLEN", "h")
        assert staging_empty(p)


def test_generic_commands_on_hashes():
    with Pair() as p:
        p.run("HSET", "h", "a", "1", "b", "2")
        p.run("HSET", "h2", "x", "1")
        p.run("SET", "s", "v")
        p.run("TYPE", "h")
        p.run("EXISTS", "h", "h2", "nokey")
        p.run("SCAN", "0", "TYPE", "hash", "COUNT", "100", normalize=lambda v: [v[0], sorted(v[1])])
        p.run("SCAN", "0", "TYPE", "string", "COUNT", "100", normalize=lambda v: [v[0], sorted(v[1])])
        p.run("RENAME", "h", "renamed")
        p.run("EXISTS", "h")
        p.run("HGETALL", "renamed", normalize=as_pairs)
        assert not os.path.exists(key_dir(p, "h"))
        assert tree(p, "renamed") == ["fields", "fields/a", "fields/b", "len", "type"]
        p.run("RENAME", "renamed", "s")  # over a string
        p.run("TYPE", "s")
        p.run("HGETALL", "s", normalize=as_pairs)
        # TTL: HSET keeps it, like Redis
        p.run("EXPIRE", "s", "1000")
        p.run("HSET", "s", "c", "3")
        d, r = p.both("TTL", "s")
        assert 990 <= d <= 1000 and 990 <= r <= 1000
        p.run("PERSIST", "s")
        p.run("TTL", "s")
        p.run("PEXPIRE", "s", "30")
        wait_until(lambda: p.d.execute("EXISTS", "s") == 0, what="the hash to expire")
        wait_until(lambda: p.r.execute("EXISTS", "s") == 0, what="the hash to expire in redis")
        p.run("HGETALL", "s")
        p.run("HLEN", "s")
        assert not os.path.exists(key_dir(p, "s"))
        # COPY shares files by hard links: changing the copy leaves the original as it was
        p.run("COPY", "h2", "h3")
        p.run("HSET", "h3", "x", "changed", "y", "new")
        p.run("HINCRBY", "h2", "x", "10")
        p.run("HGETALL", "h2", normalize=as_pairs)
        p.run("HGETALL", "h3", normalize=as_pairs)
        p.run("DEL", "h2", "h3", "nokey")
        p.run("DBSIZE")
        assert not os.path.exists(key_dir(p, "h2"))


def test_transactions_and_watch():
    with Pair() as p:
        p.run("MULTI")
        p.run("HSET", "h", "a", "1", "b", "2")
        p.run("HGET", "h", "a")
        p.run("HGETALL", "h")
        p.run("HINCRBY", "h", "a", "x")
        p.run("HMGET", "h", "a", "z")
        p.run("EXEC", normalize=lambda v: [as_pairs(x) if i == 2 else x for i, x in enumerate(v)])
        # a hash write by another client makes a WATCHing EXEC fail
        with p.dredis.client() as other_d, p.redis.client() as other_r:
            p.run("WATCH", "h")
            other_d.execute("HSET", "h", "c", "3")
            other_r.execute("HSET", "h", "c", "3")
            p.run("MULTI")
            p.run("HLEN", "h")
            p.run("EXEC")
            p.run("WATCH", "h")
            other_d.execute("HDEL", "h", "nope")  # no change
            other_r.execute("HDEL", "h", "nope")
            p.run("MULTI")
            p.run("HLEN", "h")
            p.run("EXEC")


def test_command_info_matches_redis():
    names = ["hset", "hsetnx", "hget", "hmset", "hmget", "hdel", "hlen", "hstrlen", "hexists", "hkeys", "hvals",
             "hgetall", "hincrby", "hincrbyfloat", "hrandfield", "hscan"]
    with Pair() as p:
        assert_command_info_matches(p, names)


def test_len_short_of_the_files_is_tolerated():
    """A copy of the tree taken while a command runs (cp -al) can hold a
    "len" short of the field files, never beyond them (fields are written
    before "len", and "len" before fields are unlinked). Such a hash must
    lose nothing: emptying it by "len" checks the directory, and the count
    is repaired."""
    with Pair() as p:
        d = key_dir(p, "h")
        p.run("HSET", "h", "a", "1", "b", "2", "c", "3")
        with open(os.path.join(d, "len"), "w") as f:
            f.write("2")  # as a copy taken before c was counted
        p.run("HDEL", "h", "a", "b")  # all the members "len" knows of
        p.run("EXISTS", "h")
        p.run("HGETALL", "h", normalize=as_pairs)
        assert read(os.path.join(d, "len")) == b"1"
        p.run("HLEN", "h")
        with open(os.path.join(d, "len"), "w") as f:
            f.write("1")
        p.run("HSET", "h", "x", "9")
        p.run("HDEL", "h", "c")  # "len" reaches 1 - 1 = 0, x is still there
        p.run("HGETALL", "h", normalize=as_pairs)
        p.run("HLEN", "h")
        p.run("HDEL", "h", "x")
        p.run("EXISTS", "h")
        assert not os.path.exists(d)
        # more fields than "len": HRANDFIELD with a count never returns more than asked
        p.run("HSET", "r", "a", "1", "b", "2", "c", "3")
        with open(os.path.join(key_dir(p, "r"), "len"), "w") as f:
            f.write("1")
        got = p.d.execute("HRANDFIELD", "r", 2)
        assert len(got) == 2 and len(set(got)) == 2 and set(got) <= {b"a", b"b", b"c"}


def test_randomized_against_redis():
    """Random hash commands on a few keys, every reply compared with Redis,
    and after each one every hash's "len" equal to its field files."""
    import random
    rnd = random.Random(20240607)
    keys = ["h1", "h2", "h3", "str"]
    fields = ["a", "b", "c", "d", "", "x/y", "n1", "n2", "L" * 210]

    def vals():
        return rnd.choice(["1", "-7", "v", "", "12345678901234567890", "3.5", "x" * 50])

    with Pair() as p:
        p.run("SET", "str", "s")
        for step in range(400):
            k, f = rnd.choice(keys), rnd.choice(fields)
            op = rnd.randrange(14)
            if op < 3:
                args = [x for _ in range(rnd.randint(1, 3)) for x in (rnd.choice(fields), vals())]
                p.run(rnd.choice(["HSET", "HMSET"]), k, *args)
            elif op == 3:
                p.run("HSETNX", k, f, vals())
            elif op < 6:
                p.run("HDEL", k, *rnd.sample(fields, rnd.randint(1, 4)))
            elif op == 6:
                p.run("HINCRBY", k, rnd.choice(["n1", "n2", f]), rnd.choice(["1", "-3", "1000"]))
            elif op == 7:
                p.run("HINCRBYFLOAT", k, rnd.choice(["n1", "n2", f]), rnd.choice(["1.5", "-0.25", "7"]))
            elif op == 8:
                p.run("HMGET", k, *rnd.sample(fields, 3))
            elif op == 9:
                p.run(rnd.choice(["HGET", "HEXISTS", "HSTRLEN"]), k, f)
            elif op == 10:
                p.run(rnd.choice(["HLEN", "EXISTS", "TYPE"]), k)
            elif op == 11:
                p.run("HGETALL", k, normalize=as_pairs)
            elif op == 12:
                p.run(rnd.choice(["HKEYS", "HVALS"]), k, normalize=sorted_reply)
            elif rnd.random() < 0.3:
                p.run("DEL", k)
            for key in keys[:3]:
                d = key_dir(p, key)
                if os.path.isdir(d):
                    n = len([x for x in os.listdir(os.path.join(d, "fields")) if not x.startswith(".")])
                    assert n > 0 and read(os.path.join(d, "len")) == b"%d" % n, (step, key)
        assert staging_empty(p)
