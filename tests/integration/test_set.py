"""Set commands, compared with a real redis-server 7.0, and the tree they
leave on disk (docs/storage-format.md, "Sets")."""
import os
import signal

from dredis_test import Pair, RespError, files_under, sorted_reply, staging_leftovers, wait_until, assert_command_info_matches

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")


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


def members_of(p, key):
    """SMEMBERS on dredis, as a Python set, checked against Redis."""
    return set(p.run("SMEMBERS", key, normalize=sorted_reply))


def test_sadd_srem_scard_sismember_smembers():
    with Pair() as p:
        p.run("SADD", "s", "a", "b", "c")
        p.run("SADD", "s", "a", "d", "d", "e")
        p.run("SADD", "s", "a")
        p.run("SCARD", "s")
        p.run("SCARD", "nokey")
        for m in ("a", "e", "zz", ""):
            p.run("SISMEMBER", "s", m)
        p.run("SISMEMBER", "nokey", "a")
        p.run("SMISMEMBER", "s", "a", "zz", "e", "a")
        p.run("SMISMEMBER", "nokey", "a", "b")
        p.run("SMEMBERS", "s", normalize=sorted_reply)
        p.run("SMEMBERS", "nokey")
        p.run("SREM", "s", "a", "zz", "a")
        p.run("SREM", "nokey", "a")
        p.run("SCARD", "s")
        p.run("SMEMBERS", "s", normalize=sorted_reply)
        # numbers are members like any other (Redis's intset is invisible)
        p.run("SADD", "n", "1", "2", "10", "-5", "007", "1.0")
        p.run("SMEMBERS", "n", normalize=sorted_reply)
        p.run("SISMEMBER", "n", "7")
        p.run("SISMEMBER", "n", "007")


def test_emptied_set_is_removed():
    with Pair() as p:
        p.run("SADD", "s", "a", "b", "c")
        p.run("SREM", "s", "a")
        assert tree(p, "s") == ["len", "type", "values", "values/b", "values/c"]
        p.run("SREM", "s", "b", "zz", "c", "b")
        p.run("EXISTS", "s")
        p.run("SCARD", "s")
        assert not os.path.exists(key_dir(p, "s"))
        # by SPOP, SPOP with a count, SMOVE, one member at a time
        for cmds in ([("SPOP", "s")], [("SPOP", "s", "5")], [("SMOVE", "s", "t", "m")],
                     [("SREM", "s", "m"), ("SREM", "s", "n")]):
            p.run("SADD", "s", "m") if len(cmds) < 2 else p.run("SADD", "s", "m", "n")
            for cmd in cmds:
                p.run(*cmd)
            p.run("EXISTS", "s")
            assert not os.path.exists(key_dir(p, "s")), cmds
        p.run("SMEMBERS", "t")
        p.run("DBSIZE")
        assert staging_empty(p)
        trash = os.path.join(p.dredis.root_dir, ".trash")
        wait_until(lambda: files_under(trash) == [], what="deleted sets to leave .trash")


def test_tree_layout_after_writes():
    with Pair() as p:
        d = key_dir(p, "s")
        p.run("SADD", "s", "a", "b")
        assert tree(p, "s") == ["len", "type", "values", "values/a", "values/b"]
        assert read(os.path.join(d, "type")) == b"set"
        assert read(os.path.join(d, "len")) == b"2"
        assert read(os.path.join(d, "values", "a")) == b""
        p.run("SADD", "s", "a")  # nothing changes
        assert tree(p, "s") == ["len", "type", "values", "values/a", "values/b"]
        p.run("SADD", "s", "x/y", "", ".dot", "\x00\xff")
        assert tree(p, "s") == sorted(["len", "type", "values", "values/a", "values/b", "values/x%2Fy",
                                       "values/%", "values/%2Edot", "values/%00%C3%BF"])
        assert read(os.path.join(d, "len")) == b"6"
        long_member = "M" * 300
        p.run("SADD", "s", long_member)
        names = [n for n in tree(p, "s") if n.startswith("values/.names/")]
        assert len(names) == 1
        digest = names[0].split("/")[-1]
        assert read(os.path.join(d, "values", ".names", digest)) == long_member.encode()
        assert read(os.path.join(d, "values", digest)) == b""
        p.run("SISMEMBER", "s", long_member)
        p.run("SREM", "s", long_member)
        assert not os.path.exists(os.path.join(d, "values", ".names", digest))
        assert read(os.path.join(d, "len")) == b"6"
        # SMOVE: one file leaves, one arrives
        p.run("SMOVE", "s", "t", "a")
        assert tree(p, "t") == ["len", "type", "values", "values/a"]
        assert "values/a" not in tree(p, "s")
        assert read(os.path.join(d, "len")) == b"5"
        # a *STORE result is a set like any other
        p.run("SUNIONSTORE", "u", "s", "t")
        assert tree(p, "u") == sorted(["len", "type", "values", "values/a", "values/b", "values/x%2Fy",
                                       "values/%", "values/%2Edot", "values/%00%C3%BF"])
        assert read(os.path.join(key_dir(p, "u"), "len")) == b"6"
        p.run("SINTERSTORE", "i", "s", "t")
        assert tree(p, "i") == []  # empty intersection: no key
        p.run("SADD", "t", "b")
        p.run("SINTERSTORE", "i", "s", "t")
        assert tree(p, "i") == ["len", "type", "values", "values/b"]
        assert read(os.path.join(key_dir(p, "i"), "len")) == b"1"
        p.run("SDIFFSTORE", "df", "u", "s")
        assert tree(p, "df") == ["len", "type", "values", "values/a"]
        # SPOP: the popped members' files go, len follows
        p.run("SADD", "pop", "p1", "p2", "p3", "p4")
        popped = p.d.execute("SPOP", "pop", 3)
        p.r.execute("SREM", "pop", *popped)
        left = p.run("SMEMBERS", "pop")
        assert tree(p, "pop") == ["len", "type", "values", "values/" + left[0].decode()]
        assert read(os.path.join(key_dir(p, "pop"), "len")) == b"1"
        assert staging_empty(p)


def test_binary_members_large_and_empty():
    with Pair() as p:
        members = [b"", b"\x00", b"\xff\xfe", b"a\r\nb", b"/", b".", b"..", b".names", b"%", b"%25", b"~x",
                   b"sp ace", "\u00e9\u4e2d".encode(), bytes(range(256)), b"x" * 250]
        p.run("SADD", "bin", *members)
        p.run("SCARD", "bin")
        for m in members:
            p.run("SISMEMBER", "bin", m)
        p.run("SMISMEMBER", "bin", *members)
        p.run("SMEMBERS", "bin", normalize=sorted_reply)
        p.run("SREM", "bin", *members[::2])
        p.run("SMEMBERS", "bin", normalize=sorted_reply)
        big = os.urandom(1 << 20)
        p.run("SADD", "bin", big)
        p.run("SISMEMBER", "bin", big)
        assert big in p.run("SMEMBERS", "bin", normalize=sorted_reply)
        p.run("SINTER", "bin", "bin", normalize=sorted_reply)
        p.run("SREM", "bin", big)
        p.run("SISMEMBER", "bin", big)
        p.run("SADD", "e", "")
        p.run("SMEMBERS", "e")
        p.run("SPOP", "e")
        p.run("EXISTS", "e")
        p.run("SADD", b"k\x00/ey", b"m")
        p.run("SMEMBERS", b"k\x00/ey")


def test_wrongtype_and_arity():
    with Pair() as p:
        p.run("SET", "str", "v")
        p.run("HSET", "hash", "f", "v")
        p.run("SADD", "s", "a")
        cmds = [("SADD", "K", "a"), ("SREM", "K", "a"), ("SMEMBERS", "K"), ("SISMEMBER", "K", "a"),
                ("SMISMEMBER", "K", "a"), ("SCARD", "K"), ("SPOP", "K"), ("SPOP", "K", "1"),
                ("SRANDMEMBER", "K"), ("SRANDMEMBER", "K", "-2"), ("SMOVE", "K", "s", "a"), ("SINTER", "K"),
                ("SINTER", "s", "K"), ("SUNION", "s", "K"), ("SDIFF", "s", "K"), ("SINTERSTORE", "d", "s", "K"),
                ("SUNIONSTORE", "d", "s", "K"), ("SDIFFSTORE", "d", "s", "K"), ("SINTERCARD", "2", "s", "K"),
                ("SSCAN", "K", "0")]
        for key in ("str", "hash"):
            for cmd in cmds:
                cmd = tuple(key if a == "K" else a for a in cmd)
                assert p.run(*cmd) == WRONGTYPE, cmd
            # a missing key before a wrong one: still WRONGTYPE, every key is checked
            for op in ("SINTER", "SUNION", "SDIFF"):
                p.run(op, "nokey", key)
            p.run("SINTERCARD", "2", "nokey", key)
            p.run("SMOVE", "s", key, "a")  # destination of another type
            p.run("SMOVE", "nokey", key, "a")  # no source: 0 before any type check
        p.run("EXISTS", "d")
        p.run("GET", "s")
        p.run("HSET", "s", "f", "v")
        p.run("INCR", "s")
        for cmd in cmds:
            p.run(*cmd[:-1])
        p.run("SMOVE", "s", "t", "a", "b")
        p.run("SCARD", "s", "x")


def test_spop():
    with Pair() as p:
        members = {b"m%d" % i for i in range(30)}
        p.run("SADD", "s", *members)
        for args in (("-1",), ("abc",), ("1", "2"), ("0",), ("9223372036854775808",)):
            p.run("SPOP", "s", *args)
            p.run("SPOP", "nokey", *args)
        p.run("SPOP", "nokey")
        d = p.d
        left = set(members)
        one = d.execute("SPOP", "s")
        assert one in left
        left.remove(one)
        got = d.execute("SPOP", "s", 5)
        assert len(got) == 5 and len(set(got)) == 5 and set(got) <= left
        left -= set(got)
        got = d.execute("SPOP", "s", 1)
        assert len(got) == 1 and got[0] in left
        left -= set(got)
        assert d.execute("SCARD", "s") == len(left) == 23
        assert set(d.execute("SMEMBERS", "s")) == left
        assert read(os.path.join(key_dir(p, "s"), "len")) == b"23"
        got = d.execute("SPOP", "s", 100)
        assert set(got) == left and len(got) == 23
        assert d.execute("EXISTS", "s") == 0
        # RESP3: SPOP with a count is a set, without one a bulk string
        resp3(p)
        p.run("SADD", "t", "a", "b", "c")
        p.run("SPOP", "t", "0")
        p.run("SPOP", "nokey", "3")
        p.run("SPOP", "nokey")
        p.run("SPOP", "t", "3")
        p.run("SADD", "t", "a", "b", "c")
        got = d.execute("SPOP", "t", 2)
        assert isinstance(got, set) and len(got) == 2 and got <= {b"a", b"b", b"c"}


def test_srandmember():
    with Pair() as p:
        members = {b"m%d" % i for i in range(20)}
        p.run("SADD", "s", *members)
        for args in (("abc",), ("-9223372036854775808",), ("9223372036854775808",), ("1", "2"), ("0",)):
            p.run("SRANDMEMBER", "s", *args)
            p.run("SRANDMEMBER", "nokey", *args)
        p.run("SRANDMEMBER", "nokey")
        p.run("SRANDMEMBER", "s", "20", normalize=sorted_reply)
        p.run("SRANDMEMBER", "s", "1000", normalize=sorted_reply)
        d = p.d
        for _ in range(20):
            assert d.execute("SRANDMEMBER", "s") in members
            for count in (1, 2, 6, 7, 19):
                got = d.execute("SRANDMEMBER", "s", count)
                assert len(got) == count and len(set(got)) == count and set(got) <= members
            got = d.execute("SRANDMEMBER", "s", -50)
            assert len(got) == 50 and set(got) <= members
        seen = set()
        for _ in range(40):
            seen.update(d.execute("SRANDMEMBER", "s", -20))
        assert seen == members
        p.run("SCARD", "s")  # nothing was removed
        resp3(p)
        p.run("SRANDMEMBER", "s", "25", normalize=sorted_reply)  # an array, not a set, as Redis 7.0
        p.run("SRANDMEMBER", "s", "0")
        p.run("SRANDMEMBER", "nokey", "5")
        assert isinstance(d.execute("SRANDMEMBER", "s", 3), list)
        assert isinstance(d.execute("SRANDMEMBER", "s", -3), list)


def test_random_members_of_a_large_set():
    """A set too large to be read whole for a random pick is sampled by
    directory offsets: still distinct, still from the set, still spread."""
    with Pair() as p:
        n = 900
        members = [("member-%05d-" % i + "y" * 170).encode() for i in range(n)]
        p.run("SADD", "big", *members)
        ms = set(members)
        d = p.d
        got = d.execute("SRANDMEMBER", "big", 40)
        assert len(set(got)) == 40 and set(got) <= ms
        got = d.execute("SRANDMEMBER", "big", -n)
        assert len(got) == n and set(got) <= ms and len(set(got)) > n // 4
        singles = {d.execute("SRANDMEMBER", "big") for _ in range(50)}
        assert singles <= ms and len(singles) > 10
        got = d.execute("SRANDMEMBER", "big", 500)
        assert len(set(got)) == 500 and set(got) <= ms
        popped = d.execute("SPOP", "big", 30)
        assert len(set(popped)) == 30 and set(popped) <= ms
        one = d.execute("SPOP", "big")
        assert one in ms and one not in popped
        left = ms - set(popped) - {one}
        assert d.execute("SCARD", "big") == len(left)
        assert set(d.execute("SMEMBERS", "big")) == left
        assert d.execute("SMISMEMBER", "big", *popped) == [0] * 30


def test_smove():
    with Pair() as p:
        p.run("SADD", "src", "a", "b", "c")
        p.run("SADD", "dst", "c", "x")
        p.run("SMOVE", "src", "dst", "a")
        p.run("SMOVE", "src", "dst", "c")  # already in dst
        p.run("SMOVE", "src", "dst", "zz")
        p.run("SMOVE", "nokey", "dst", "a")
        p.run("SMOVE", "src", "new", "b")  # creates the destination, empties the source
        p.run("SMOVE", "dst", "dst", "x")
        p.run("SMOVE", "dst", "dst", "zz")
        for k in ("src", "dst", "new"):
            p.run("EXISTS", k)
            p.run("SMEMBERS", k, normalize=sorted_reply)
        p.run("SMOVE", "new", "dst", "b")
        p.run("EXISTS", "new")
        p.run("SCARD", "dst")
        assert not os.path.exists(key_dir(p, "new"))
        # the destination keeps its TTL
        p.run("SADD", "ttl", "q")
        p.run("EXPIRE", "ttl", "1000")
        p.run("SMOVE", "dst", "ttl", "x")
        d, r = p.both("TTL", "ttl")
        assert 990 <= d <= 1000 and 990 <= r <= 1000
        assert staging_empty(p)


def test_sinter_sunion_sdiff():
    with Pair() as p:
        p.run("SADD", "a", *"abcdefg")
        p.run("SADD", "b", *"cdexyz")
        p.run("SADD", "c", *"aceyq")
        p.run("SADD", "one", "e")
        combos = [("a",), ("a", "b"), ("b", "a"), ("a", "b", "c"), ("a", "a"), ("a", "nokey"), ("nokey", "a"),
                  ("nokey",), ("c", "one", "a", "b"), ("a", "b", "nokey", "c")]
        for keys in combos:
            for op in ("SINTER", "SUNION", "SDIFF"):
                p.run(op, *keys, normalize=sorted_reply)
            p.run("SINTERCARD", len(keys), *keys)
        for limit in ("0", "1", "2", "3", "100"):
            p.run("SINTERCARD", "2", "a", "b", "LIMIT", limit)
            p.run("SINTERCARD", "3", "a", "b", "c", "limit", limit)
        for args in (("0", "a"), ("-1", "a"), ("abc", "a"), ("3", "a", "b"), ("1", "a", "LIMIT"),
                     ("1", "a", "LIMIT", "-1"), ("1", "a", "LIMIT", "x"), ("1", "a", "FOO", "1"), ("1", "a", "b"),
                     ("2", "a", "b", "LIMIT", "1", "LIMIT", "2")):
            p.run("SINTERCARD", *args)
        resp3(p)
        for keys in combos[:6]:
            for op in ("SINTER", "SUNION", "SDIFF"):
                p.run(op, *keys)  # sets, compared as Python sets
            p.run("SINTERCARD", len(keys), *keys)


def test_store_variants():
    with Pair() as p:
        p.run("SADD", "a", *"abcdefg")
        p.run("SADD", "b", *"cdexyz")
        p.run("SADD", "c", *"aceyq")
        p.run("SET", "str", "v")
        for op in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
            for keys in (("a", "b"), ("a", "b", "c"), ("a", "nokey"), ("nokey",), ("a",), ("a", "a")):
                p.run(op, "dst", *keys)
                p.run("SMEMBERS", "dst", normalize=sorted_reply)
                p.run("SCARD", "dst")
                p.run("TYPE", "dst")
            # the destination is overwritten whatever it held, and loses its TTL
            p.run("SET", "dst", "string")
            p.run("EXPIRE", "dst", "1000")
            p.run(op, "dst", "a", "c")
            p.run("TYPE", "dst")
            p.run("TTL", "dst")
            p.run("SMEMBERS", "dst", normalize=sorted_reply)
            # an empty result deletes it, directory and all
            p.run(op, "dst", "nokey")
            p.run("EXISTS", "dst")
            assert not os.path.exists(key_dir(p, "dst"))
            # the destination may be a source
            p.run("SADD", "self", "a", "x", "y")
            p.run(op, "self", "self", "a")
            p.run("SMEMBERS", "self", normalize=sorted_reply)
            p.run("DEL", "self")
            # a string source fails before anything is written
            p.run("SADD", "keep", "k")
            p.run(op, "keep", "a", "str")
            p.run("SMEMBERS", "keep")
            p.run(op, "str", "a", "b")
            p.run("TYPE", "str")
            p.run("SET", "str", "v")
        p.run("DBSIZE")
        assert staging_empty(p)


def test_sscan():
    with Pair() as p:
        p.run("SADD", "small", "a", "b", "c")
        for args in (("abc",), ("-1x",), ("18446744073709551616",), (" 1",)):
            p.run("SSCAN", "small", *args)
            p.run("SSCAN", "nokey", *args)
        for opts in (("COUNT", "0"), ("COUNT",), ("COUNT", "x"), ("MATCH",), ("FOO", "1"), ("TYPE", "set")):
            p.run("SSCAN", "small", "0", *opts)
            p.run("SSCAN", "nokey", "0", *opts)
        sort_page = lambda v: [v[0], sorted(v[1])]
        p.run("SSCAN", "small", "0", normalize=sort_page)
        p.run("SSCAN", "small", "0", "MATCH", "[ab]", normalize=sort_page)
        p.run("SSCAN", "small", "0", "MATCH", "zz", "COUNT", "5", normalize=sort_page)
        n = 600
        p.run("SADD", "big", *["m:%d" % i for i in range(n)])
        want = sorted(p.r.execute("SMEMBERS", "big"))
        for count in (1, 9, 100, 5000):
            got, cursor = [], b"0"
            while True:
                cursor, page = p.d.execute("SSCAN", "big", cursor, "COUNT", count)
                assert len(page) <= count
                got += page
                if cursor == b"0":
                    break
            assert sorted(got) == want, count
        got, cursor = [], b"0"
        while True:
            cursor, page = p.d.execute("SSCAN", "big", cursor, "MATCH", "m:4?", "COUNT", 30)
            got += page
            if cursor == b"0":
                break
        assert sorted(got) == sorted(b"m:4%d" % i for i in range(10))


def test_restart_keeps_sets():
    with Pair() as p:
        p.run("SADD", "s", "a", b"\x00\xff", "", "L" * 300)
        p.run("SUNIONSTORE", "u", "s")
        restart(p)
        for k in ("s", "u"):
            p.run("SMEMBERS", k, normalize=sorted_reply)
            p.run("SCARD", k)
        p.run("SISMEMBER", "s", "L" * 300)
        p.run("SADD", "s", "after")
        p.run("SREM", "s", "a")
        p.run("SMOVE", "s", "moved", "")
        restart(p, signal.SIGKILL)
        for k in ("s", "moved"):
            p.run("SMEMBERS", k, normalize=sorted_reply)
            p.run("SCARD", k)
        assert staging_empty(p)


def test_generic_commands_on_sets():
    with Pair() as p:
        p.run("SADD", "s", "a", "b")
        p.run("SADD", "s2", "x")
        p.run("HSET", "h", "f", "v")
        p.run("TYPE", "s")
        p.run("EXISTS", "s", "s2", "nokey", "s")
        p.run("SCAN", "0", "TYPE", "set", "COUNT", "100", normalize=lambda v: [v[0], sorted(v[1])])
        p.run("SCAN", "0", "TYPE", "hash", "COUNT", "100", normalize=lambda v: [v[0], sorted(v[1])])
        p.run("RENAME", "s", "t")
        p.run("SMEMBERS", "t", normalize=sorted_reply)
        assert not os.path.exists(key_dir(p, "s"))
        assert tree(p, "t") == ["len", "type", "values", "values/a", "values/b"]
        p.run("RENAMENX", "t", "h")
        p.run("RENAME", "t", "h")
        p.run("TYPE", "h")
        p.run("EXPIRE", "h", "1000")
        p.run("SADD", "h", "c")
        p.run("SREM", "h", "a")
        d, r = p.both("TTL", "h")
        assert 990 <= d <= 1000 and 990 <= r <= 1000
        p.run("PEXPIRE", "h", "30")
        wait_until(lambda: p.d.execute("EXISTS", "h") == 0, what="the set to expire")
        wait_until(lambda: p.r.execute("EXISTS", "h") == 0, what="the set to expire in redis")
        p.run("SMEMBERS", "h")
        assert not os.path.exists(key_dir(p, "h"))
        p.run("COPY", "s2", "s3")
        p.run("SADD", "s3", "y")
        p.run("SREM", "s2", "x")
        p.run("EXISTS", "s2")
        p.run("SMEMBERS", "s3", normalize=sorted_reply)
        p.run("DEL", "s3", "nokey")
        p.run("DBSIZE")


def test_transactions_and_watch():
    with Pair() as p:
        p.run("MULTI")
        p.run("SADD", "s", "a", "b")
        p.run("SMEMBERS", "s")
        p.run("SPOP", "nokey")
        p.run("SINTERCARD", "0", "s")
        p.run("SCARD", "s")
        p.run("EXEC", normalize=lambda v: [sorted_reply(x) for x in v])
        with p.dredis.client() as other_d, p.redis.client() as other_r:
            p.run("WATCH", "s")
            other_d.execute("SREM", "s", "a")
            other_r.execute("SREM", "s", "a")
            p.run("MULTI")
            p.run("SCARD", "s")
            p.run("EXEC")
            p.run("WATCH", "dst")
            other_d.execute("SUNIONSTORE", "dst", "s")
            other_r.execute("SUNIONSTORE", "dst", "s")
            p.run("MULTI")
            p.run("SCARD", "dst")
            p.run("EXEC")


def test_command_info_matches_redis():
    names = ["sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember", "smove",
             "sinter", "sintercard", "sunion", "sdiff", "sinterstore", "sunionstore", "sdiffstore", "sscan"]
    with Pair() as p:
        assert_command_info_matches(p, names)


def test_len_short_of_the_files_is_tolerated():
    """See test_hash: a "len" short of the member files loses nothing."""
    with Pair() as p:
        d = key_dir(p, "s")
        p.run("SADD", "s", "a", "b", "c", "d")
        with open(os.path.join(d, "len"), "w") as f:
            f.write("2")
        p.run("SREM", "s", "a", "b")
        p.run("SMEMBERS", "s", normalize=sorted_reply)
        p.run("SCARD", "s")  # recounted
        with open(os.path.join(d, "len"), "w") as f:
            f.write("1")
        got = p.d.execute("SPOP", "s", 1)  # pops one, not all it finds
        assert len(got) == 1 and got[0] in (b"c", b"d")
        p.r.execute("SREM", "s", got[0])
        p.run("SMEMBERS", "s", normalize=sorted_reply)
        p.run("SCARD", "s")
        p.run("SADD", "s", "e", "f")
        with open(os.path.join(d, "len"), "w") as f:
            f.write("1")
        got = p.d.execute("SRANDMEMBER", "s", 2)
        assert len(got) == 2 and len(set(got)) == 2
        left = p.r.execute("SMEMBERS", "s")
        got = p.d.execute("SPOP", "s", 1)
        assert len(got) == 1 and got[0] in left
        p.r.execute("SREM", "s", got[0])
        p.run("SMEMBERS", "s", normalize=sorted_reply)
        # SMOVE of what "len" says is the last member
        with open(os.path.join(d, "len"), "w") as f:
            f.write("1")
        m = sorted(p.r.execute("SMEMBERS", "s"))[0]
        p.run("SMOVE", "s", "t", m)
        p.run("SMEMBERS", "s", normalize=sorted_reply)
        p.run("SMEMBERS", "t", normalize=sorted_reply)


def test_unpublished_set_is_dropped_at_restart():
    """A new key is built under .tmp and renamed into place whole: what a
    crash leaves under .tmp is never visible, and is cleared at start-up."""
    with Pair() as p:
        p.run("SADD", "s", "a")
        staged = os.path.join(p.dredis.root_dir, ".tmp", "k-crashed")
        os.makedirs(os.path.join(staged, "values"))
        for name, data in (("type", b"set"), ("len", b"1"), ("values/x", b"")):
            with open(os.path.join(staged, name), "wb") as f:
                f.write(data)
        restart(p, signal.SIGKILL)
        p.run("DBSIZE")
        p.run("KEYS", "*")
        p.run("SMEMBERS", "s")
        assert staging_empty(p)


def test_randomized_against_redis():
    """Random set commands on a few keys, every reply compared with Redis,
    and after each one every set's "len" equal to its member files."""
    import random
    rnd = random.Random(20240608)
    keys = ["s1", "s2", "s3", "str"]
    members = ["a", "b", "c", "d", "e", "", "1", "x/y", "M" * 210]
    unordered = ("SMEMBERS", "SINTER", "SUNION", "SDIFF")

    with Pair() as p:
        p.run("SET", "str", "s")
        for step in range(400):
            k = rnd.choice(keys)
            op = rnd.randrange(12)
            if op < 3:
                p.run("SADD", k, *rnd.sample(members, rnd.randint(1, 4)))
            elif op < 5:
                p.run("SREM", k, *rnd.sample(members, rnd.randint(1, 4)))
            elif op == 5:
                p.run("SMOVE", k, rnd.choice(keys), rnd.choice(members))
            elif op == 6:
                p.run(rnd.choice(["SISMEMBER", "SMISMEMBER"]), k, *rnd.sample(members, 2)[:rnd.randint(1, 2)])
            elif op == 7:
                p.run(rnd.choice(["SCARD", "EXISTS", "TYPE"]), k)
            elif op == 8:
                cmd = rnd.choice(unordered)
                p.run(cmd, *rnd.sample(keys, rnd.randint(1, 3)), normalize=sorted_reply)
            elif op == 9:
                srcs = rnd.sample(keys, rnd.randint(1, 3))
                p.run(rnd.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), rnd.choice(keys[:3]), *srcs)
            elif op == 10:
                srcs = rnd.sample(keys, rnd.randint(1, 3))
                p.run("SINTERCARD", len(srcs), *srcs, "LIMIT", rnd.randint(0, 3))
            elif rnd.random() < 0.3:
                p.run("DEL", k)
            if step % 50 == 0 and p.r.execute("TYPE", "str") != "string":
                p.run("SET", "str", "s")
            for key in keys[:3]:
                d = key_dir(p, key)
                if os.path.isdir(d) and read(os.path.join(d, "type")) == b"set":
                    n = len([x for x in os.listdir(os.path.join(d, "values")) if not x.startswith(".")])
                    assert n > 0 and read(os.path.join(d, "len")) == b"%d" % n, (step, key)
        assert staging_empty(p)
