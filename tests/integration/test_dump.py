"""DUMP and RESTORE: keys moved dredis -> dredis, dredis -> Redis 7.0 and
Redis 7.0 -> dredis for every type and encoding, with binary data; TTL,
ABSTTL, REPLACE, BUSYKEY and the option errors compared with a real
redis-server; payloads in the encodings Redis no longer writes (made by
rdb_build.py); bad payloads; the tree a RESTORE leaves; and a fuzz test
feeding mutated payloads to RESTORE."""
import os
import random
import struct
import time

import rdb_build as rb
from dredis_test import Dredis, Pair, Redis, RespError, files_under, staging_leftovers

BAD_FORMAT = RespError("ERR Bad data format")
BAD_PAYLOAD = RespError("ERR DUMP payload version or checksum are wrong")
BUSYKEY = RespError("BUSYKEY Target key name already exists.")


# ---- helpers ----

def content(c, key):
    """Everything a key holds, in a form that compares across servers."""
    t = c.execute("TYPE", key)
    if t == "string":
        return t, c.execute("GET", key)
    if t == "list":
        return t, c.execute("LRANGE", key, 0, -1)
    if t == "set":
        return t, sorted(c.execute("SMEMBERS", key))
    if t == "hash":
        v = c.execute("HGETALL", key)
        return t, sorted(zip(v[::2], v[1::2]))
    if t == "zset":
        return t, c.execute("ZRANGE", key, 0, -1, "WITHSCORES")
    if t == "stream":
        return t, stream_state(c, key)
    return t, None


def fill(c, prefix, big):
    """One key of every type, small (Redis's compact encodings) or big
    (its hash tables, skip lists and multi-node quicklists). Returns the
    key names."""
    n = 1000 if big else 5
    keys = {}
    k = prefix + "str"
    c.execute("SET", k, ("x" * 5000) if big else "hello")
    keys["str"] = k
    k = prefix + "int"
    c.execute("SET", k, "-123456789")
    keys["int"] = k
    k = prefix + "list"
    c.execute("RPUSH", k, *[("element-%d-%s" % (i, "x" * (i % 40))) if i % 3 else str(i * 1000) for i in range(n)])
    c.execute("LPUSH", k, "left1", "left2")  # dredis: sequence numbers below 0
    keys["list"] = k
    k = prefix + "set"
    c.execute("SADD", k, *["m%d" % i for i in range(n)])
    keys["set"] = k
    k = prefix + "intset"
    c.execute("SADD", k, *[str(i * 7 - 300) for i in range(n if not big else 600)])
    keys["intset"] = k
    k = prefix + "hash"
    args = []
    for i in range(n):
        args += ["f%d" % i, ("v%d" % i) if i % 2 else str(i)]
    c.execute("HSET", k, *args)
    keys["hash"] = k
    k = prefix + "zset"
    args = []
    for i in range(n):
        args += [str([1, -2.5, 1e300, 0.1][i % 4] * i), "z%d" % i]
    c.execute("ZADD", k, *args)
    keys["zset"] = k
    return keys


def restore(c, key, p, *opts, ttl=0):
    return c.execute("RESTORE", key, ttl, p, *opts)


def key_dir(dredis, name, db=0):
    return os.path.join(dredis.db_dir(db), name)


def read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- round trips ----

def test_round_trip_dredis_to_dredis():
    with Dredis() as srv:
        c = srv.client()
        for big in (False, True):
            keys = fill(c, "b:" if big else "s:", big)
            for name, k in keys.items():
                p = c.execute("DUMP", k)
                assert isinstance(p, bytes), (k, p)
                assert restore(c, k + ":copy", p) == "OK", k
                assert content(c, k + ":copy") == content(c, k), k
        assert staging_leftovers(srv.root_dir) == []


def test_round_trip_dredis_to_redis():
    with Pair() as p:
        for big in (False, True):
            keys = fill(p.d, "b:" if big else "s:", big)
            for name, k in keys.items():
                payload = p.d.execute("DUMP", k)
                assert restore(p.r, k, payload) == "OK", (k, payload[:40])
                assert content(p.r, k) == content(p.d, k), k
        # what Redis made of them: its own encodings, chosen by size
        assert p.r.execute("OBJECT", "ENCODING", "s:hash") == b"listpack"
        assert p.r.execute("OBJECT", "ENCODING", "b:hash") == b"hashtable"
        assert p.r.execute("OBJECT", "ENCODING", "s:intset") == b"intset"
        assert p.r.execute("OBJECT", "ENCODING", "s:zset") == b"listpack"
        assert p.r.execute("OBJECT", "ENCODING", "b:zset") == b"skiplist"
        assert p.r.execute("OBJECT", "ENCODING", "s:int") == b"int"


def test_round_trip_redis_to_dredis():
    with Pair() as p:
        for big in (False, True):
            keys = fill(p.r, "b:" if big else "s:", big)
            for name, k in keys.items():
                payload = p.r.execute("DUMP", k)
                assert restore(p.d, k, payload) == "OK", (k, payload[:40])
                assert content(p.d, k) == content(p.r, k), k
                # and back again: dredis's DUMP of it is what Redis had
                again = p.d.execute("DUMP", k)
                assert restore(p.r, k + ":back", again) == "OK"
                assert content(p.r, k + ":back") == content(p.r, k), k


def test_redis_payload_encodings_covered():
    """The payloads Redis 7.0 writes for each size are of the types RESTORE
    must read; each of them restores into dredis."""
    with Pair() as p:
        small = fill(p.r, "s:", False)
        big = fill(p.r, "b:", True)
        expect = {
            small["str"]: 0, small["int"]: 0, small["list"]: rb.T_LIST_QUICKLIST_2, small["set"]: rb.T_SET,
            small["intset"]: rb.T_SET_INTSET, small["hash"]: rb.T_HASH_LISTPACK, small["zset"]: rb.T_ZSET_LISTPACK,
            big["str"]: 0, big["list"]: rb.T_LIST_QUICKLIST_2, big["set"]: rb.T_SET, big["intset"]: rb.T_SET,
            big["hash"]: rb.T_HASH, big["zset"]: rb.T_ZSET_2,
        }
        for k, t in expect.items():
            payload = p.r.execute("DUMP", k)
            assert payload[0] == t, (k, payload[0], t)
        # an integer-encoded string and an LZF-compressed one
        assert p.r.execute("DUMP", small["int"])[1] == 0xC2
        assert p.r.execute("DUMP", big["str"])[1] == 0xC3
        # a big list spans several quicklist nodes
        assert p.r.execute("DUMP", big["list"])[1] > 1
        for k in expect:
            assert restore(p.d, k, p.r.execute("DUMP", k)) == "OK"
            assert content(p.d, k) == content(p.r, k), k


def test_quicklist_plain_nodes_from_redis():
    """Elements over quicklist-packed-threshold sit in plain nodes."""
    with Dredis() as srv, Redis(["--enable-debug-command", "yes"]) as ref:
        r, d = ref.client(), srv.client()
        assert r.execute("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100") == "OK"
        items = [b"a", b"B" * 500, b"c", b"\x00" * 300, b"d"]
        r.execute("RPUSH", "l", *items)
        payload = r.execute("DUMP", "l")
        assert payload[0] == rb.T_LIST_QUICKLIST_2 and payload[1] >= 3, payload[:8]
        assert restore(d, "l", payload) == "OK"
        assert d.execute("LRANGE", "l", 0, -1) == items
        assert d.execute("LLEN", "l") == 5


def test_binary_and_long_names():
    """Bytes that need escaping in the tree, empty strings and names long
    enough to be shortened on disk, both ways."""
    long_name = b"k" * 300 + b"\x00/"
    weird = [b"", b"\x00", b"\xff\xfe", b"a/b", b".hidden", b"%41", b"..", b"x" * 250, b"\r\n"]
    with Pair() as p:
        for c in (p.d, p.r):
            c.execute("SET", b"s\x00" + long_name, b"\x00\x01\x02" * 100)
            c.execute("RPUSH", long_name + b"l", *weird)
            c.execute("SADD", long_name + b"s", *weird)
            args = []
            for i, w in enumerate(weird):
                args += [w, weird[-1 - i] + b"!"]
            c.execute("HSET", long_name + b"h", *args)
            args = []
            for i, w in enumerate(weird):
                args += [str(i - 4.5), w]
            c.execute("ZADD", long_name + b"z", *args)
        for k in (b"s\x00" + long_name, long_name + b"l", long_name + b"s", long_name + b"h", long_name + b"z"):
            from_redis = p.r.execute("DUMP", k)
            from_dredis = p.d.execute("DUMP", k)
            assert restore(p.d, k + b"<r", from_redis) == "OK"
            assert restore(p.r, k + b"<d", from_dredis) == "OK"
            assert content(p.d, k + b"<r") == content(p.r, k), k
            assert content(p.r, k + b"<d") == content(p.d, k), k


def test_strings_match_redis_bytes():
    """Short strings dump byte for byte as Redis dumps them."""
    with Pair() as p:
        for v in ("hello", "12345", "-1", "0", "2147483647", "2147483648", "007", "", "-0", "+1"):
            p.run("SET", "k", v)
            p.run("DUMP", "k")


def test_old_and_compact_encodings_made_by_hand():
    """Every encoding Redis 7.0 loads, including the ones it no longer
    writes (ziplists, quicklists of ziplists, zipmaps, text scores), is
    restored alike by dredis and Redis."""
    ints = [0, 12, 13, -1, 127, 128, -128, -129, 4095, -4096, 4096, 32767, -32768, 40000, -8388608, 8388607,
            10000000, -2147483648, 2147483647, 5000000000, -9223372036854775808, 9223372036854775807]
    strs = ["", "x", "y" * 63, "z" * 64, "w" * 4095, "v" * 4096, "u" * 20000, b"\x00\xff"]
    cases = {
        "zl_list": rb.blob_payload(rb.T_LIST_ZIPLIST, rb.ziplist(ints + strs)),
        "zl_hash": rb.blob_payload(rb.T_HASH_ZIPLIST, rb.ziplist(["a", 1, "b", "x" * 300, 7, -5])),
        # zset ziplists and listpacks are kept sorted by score, as Redis writes them
        "zl_zset": rb.blob_payload(rb.T_ZSET_ZIPLIST, rb.ziplist(["c", "-inf", "a", 1, "b", "2.5", 5, 3])),
        "ql1": rb.quicklist1([rb.ziplist(["a", "b"]), rb.ziplist([1, 2, 3]), rb.ziplist([]),
                              rb.ziplist(["q" * 70000])]),
        "ql2": rb.quicklist2([("packed", rb.listpack(ints + strs)), ("plain", b"PLAIN" * 40),
                              ("packed", rb.listpack([])), ("packed", rb.listpack(["end"]))]),
        "lp_hash": rb.blob_payload(rb.T_HASH_LISTPACK, rb.listpack(["f", 1, "g", "v", 5, "x", "big", "b" * 5000])),
        "lp_zset": rb.blob_payload(rb.T_ZSET_LISTPACK, rb.listpack([9, -3, "a", 1, "b", "2.5", "c", "inf"])),
        "is16": rb.blob_payload(rb.T_SET_INTSET, rb.intset([1, 2, -3])),
        "is32": rb.blob_payload(rb.T_SET_INTSET, rb.intset([1, 70000, -3])),
        "is64": rb.blob_payload(rb.T_SET_INTSET, rb.intset([1, 2 ** 40, -3])),
        "zipmap": rb.blob_payload(rb.T_HASH_ZIPMAP, rb.zipmap([("a", "1"), ("bb", "x" * 300), ("", "")])),
        "list1": rb.plain_list(["a", b"\x00\xff", "c"]),
        "zset1": rb.plain_zset1([("a", 1.5), ("b", float("inf")), ("c", -2.0), ("d", 1e-300)]),
        "zset2": rb.plain_zset2([("a", 1.5), ("b", float("-inf")), ("c", -0.0)]),
        "int8": rb.payload(rb.T_STRING, rb.int_string(-7)),
        "int16": rb.payload(rb.T_STRING, rb.int_string(-700)),
        "int32": rb.payload(rb.T_STRING, rb.int_string(-70000)),
        "lzf": rb.payload(rb.T_STRING, rb.lzf_literal_string("hello world, this is literal" * 3)),
        "lzf_hash": rb.payload(rb.T_HASH_LISTPACK, rb.lzf_literal_string(rb.listpack(["f", "v" * 100]))),
        "old_version": rb.footer(rb.plain_list(["v9"])[:-10], version=9),
    }
    with Pair() as p:
        for k, payload in cases.items():
            assert p.run("RESTORE", k, 0, payload) == "OK", k
            assert content(p.d, k) == content(p.r, k), k
            p.run("TYPE", k)


def test_large_hash_100k():
    """A 100,000-field hash, from Redis to dredis and back."""
    with Pair() as p:
        n = 100000
        batch = 10000
        for start in range(0, n, batch):
            args = []
            for i in range(start, start + batch):
                args += ["field:%d" % i, "value:%d" % (i * 31)]
            p.r.execute("HSET", "big", *args)
        payload = p.r.execute("DUMP", "big")
        assert payload[0] == rb.T_HASH
        assert restore(p.d, "big", payload) == "OK"
        assert p.d.execute("HLEN", "big") == n
        assert content(p.d, "big") == content(p.r, "big")
        assert read(os.path.join(key_dir(p.dredis, "big"), "len")) == b"100000"
        back = p.d.execute("DUMP", "big")
        assert restore(p.r, "big2", back) == "OK"
        assert p.r.execute("HLEN", "big2") == n
        assert content(p.r, "big2") == content(p.r, "big")
        assert staging_leftovers(p.dredis.root_dir) == []


# ---- options, TTL, errors ----

def test_ttl_and_absttl():
    with Pair() as p:
        p.run("SET", "src", "v")
        payload = p.r.execute("DUMP", "src")
        p.run("RESTORE", "a", 0, payload)
        p.run("TTL", "a")  # -1: no TTL
        p.run("RESTORE", "b", 100000, payload)
        for c in (p.d, p.r):
            assert 99000 <= c.execute("PTTL", "b") <= 100000
        when = int(time.time() * 1000) + 500000
        p.run("RESTORE", "c", when, payload, "ABSTTL")
        p.run("PEXPIRETIME", "c")
        # an absolute time in the past: OK, and no key
        p.run("RESTORE", "d", 1000, payload, "ABSTTL")
        p.run("EXISTS", "d")
        # ... and with REPLACE the old key goes
        p.run("SET", "e", "old")
        p.run("RESTORE", "e", 1000, payload, "ABSTTL", "REPLACE")
        p.run("EXISTS", "e")
        # REPLACE without a TTL drops the old key's TTL
        p.run("SET", "f", "old", "EX", "1000")
        p.run("RESTORE", "f", 0, payload, "REPLACE")
        p.run("TTL", "f")
        p.run("GET", "f")
        # a TTL so large that adding the clock wraps around: Redis takes it as expired
        p.run("RESTORE", "g", 9223372036854775807, payload)
        p.run("EXISTS", "g")
        # the key with a TTL expires
        p.run("RESTORE", "h", 50, payload)
        time.sleep(0.2)
        p.run("EXISTS", "h")
        # options in any case and order
        p.run("RESTORE", "i", when, payload, "replace", "AbsTtl")
        p.run("PEXPIRETIME", "i")


def test_busykey_and_replace():
    with Pair() as p:
        p.run("SET", "src", "v")
        payload = p.r.execute("DUMP", "src")
        p.run("RPUSH", "l", "a")
        assert p.run("RESTORE", "l", 0, payload) == BUSYKEY
        p.run("TYPE", "l")
        p.run("RESTORE", "l", 0, payload, "REPLACE")
        p.run("TYPE", "l")
        p.run("GET", "l")
        # a key that has expired is not in the way
        p.run("SET", "x", "1", "PX", "1")
        time.sleep(0.05)
        p.run("RESTORE", "x", 0, payload)
        # a sorted set replaced while its index is cached: the new members show
        p.run("ZADD", "z", "1", "a", "2", "b")
        p.run("ZRANGE", "z", 0, -1, "WITHSCORES")
        p.run("ZADD", "other", "5", "c", "-1", "d")
        p.run("RESTORE", "z", 0, p.r.execute("DUMP", "other"), "REPLACE")
        p.run("ZRANGE", "z", 0, -1, "WITHSCORES")
        p.run("ZRANK", "z", "c")
        p.run("ZSCORE", "z", "a")
        # BUSYKEY comes before the TTL and payload checks, as in Redis
        p.run("RESTORE", "l", -1, b"junk")
        p.run("RESTORE", "l", "nope", b"junk")


def test_restore_asking_is_restore_outside_a_cluster():
    """RESTORE-ASKING (MIGRATE's RESTORE in a cluster) restores as RESTORE
    does when the server is no cluster node, errors included."""
    with Pair() as p:
        p.run("HSET", "src", "f", "v")
        payload = p.r.execute("DUMP", "src")
        p.run("RESTORE-ASKING", "h", 0, payload)
        p.run("HGETALL", "h")
        assert p.run("RESTORE-ASKING", "h", 0, payload) == BUSYKEY
        p.run("RESTORE-ASKING", "h", 5000, payload, "REPLACE")
        assert 0 < p.d.execute("PTTL", "h") <= 5000
        p.run("RESTORE-ASKING", "x", 0, b"junk")
        p.run("RESTORE-ASKING", "x", 0)
        p.run("COMMAND", "INFO", "RESTORE-ASKING")


def test_option_and_payload_errors():
    with Pair() as p:
        p.run("SET", "src", "v")
        payload = p.r.execute("DUMP", "src")
        p.run("RESTORE", "k", -1, payload)
        p.run("RESTORE", "k", "abc", payload)
        p.run("RESTORE", "k", "1.5", payload)
        p.run("RESTORE", "k", 0, payload, "FOO")
        p.run("RESTORE", "k", 0, payload, "IDLETIME")
        p.run("RESTORE", "k", 0, payload, "IDLETIME", "-1")
        p.run("RESTORE", "k", 0, payload, "IDLETIME", "x")
        p.run("RESTORE", "k", 0, payload, "FREQ", "256")
        p.run("RESTORE", "k", 0, payload, "FREQ", "-1")
        p.run("RESTORE", "k", 0, payload, "FREQ", "x")
        p.run("RESTORE", "k", 0, payload, "FREQ", "5", "IDLETIME", "5")  # both: a syntax error
        p.run("RESTORE", "k", 0, payload, "IDLETIME", "5", "FREQ", "5")
        p.run("RESTORE", "k")
        p.run("RESTORE", "k", 0)
        p.run("DUMP")
        p.run("DUMP", "a", "b")
        p.run("DUMP", "missing")
        # footers
        assert p.run("RESTORE", "k", 0, b"") == BAD_PAYLOAD
        p.run("RESTORE", "k", 0, payload[:9])
        p.run("RESTORE", "k", 0, payload[:-1] + bytes([payload[-1] ^ 1]))
        p.run("RESTORE", "k", 0, bytes([payload[0]]) + b"X" + payload[2:])
        p.run("RESTORE", "k", 0, rb.footer(payload[:-10], version=11))
        p.run("RESTORE", "k", 0, rb.footer(payload[:-10], version=0xFFFF))
        # right footers around wrong values
        for bad in (b"", b"\x08\x00", b"\x14\x00", b"\x01\x00", b"\x02\x00", b"\x04\x00", b"\x05\x00",
                    b"\x00\x40\x20ab", b"\x0b\x00", b"\x10\x03abc",
                    b"\x05\x01\x01a\x00\x00\x00\x00\x00\x00\xf8\x7f"):  # a NaN score
            assert p.run("RESTORE", "k", 0, rb.footer(bad)) == BAD_FORMAT, bad
        p.run("EXISTS", "k")
        # Redis reads a value that runs past its end into the footer's bytes;
        # dredis stops at the footer
        assert p.d.execute("RESTORE", "k", 0, rb.footer(b"\x00\x05ab")) == BAD_FORMAT
        assert p.d.execute("RESTORE", "k", 0, rb.footer(b"\x04\x01\x01a")) == BAD_FORMAT
        # FREQ is accepted (and ignored: dredis, like Redis without an LFU policy, keeps no frequencies)
        p.run("RESTORE", "f", 0, payload, "FREQ", "100")
        p.run("GET", "f")
        p.run("OBJECT", "FREQ", "f")


def test_idletime_accepted():
    """IDLETIME sets the restored key's access time (test_object_idletime.py
    compares the idle times it gives)."""
    with Pair() as p:
        p.run("SET", "src", "v")
        payload = p.r.execute("DUMP", "src")
        p.run("RESTORE", "k", 0, payload, "IDLETIME", "10")
        p.run("EXISTS", "k")
        p.run("RESTORE", "k", 0, payload, "IDLETIME", "10")  # BUSYKEY


def test_duplicates_are_bad_format():
    """Duplicate members (no Redis writes them) are refused, as Redis
    refuses them in sets and sorted sets."""
    with Pair() as p:
        for payload in (rb.plain_set(["a", "b", "a"]), rb.plain_zset2([("m", 1.0), ("m", 2.0)]),
                        rb.plain_set(["m%d" % i for i in range(600)] + ["m5"])):
            p.run("RESTORE", "k", 0, payload)
            p.run("EXISTS", "k")
        # Redis (without sanitize-dump-payload) takes a small hash's or a
        # compact encoding's duplicates as they are, making a damaged value;
        # dredis refuses them too
        for payload in (rb.plain_hash([("f", "1"), ("f", "2")]),
                        rb.blob_payload(rb.T_HASH_LISTPACK, rb.listpack(["f", 1, "f", 2])),
                        rb.blob_payload(rb.T_SET_INTSET, struct.pack("<IIhh", 2, 2, 5, 5))):
            assert p.d.execute("RESTORE", "k", 0, payload) == BAD_FORMAT
        assert p.d.execute("EXISTS", "k") == 0
        # list elements may repeat
        p.run("RESTORE", "l", 0, rb.plain_list(["a", "a"]))
        p.run("LRANGE", "l", 0, -1)


def test_modules_refused():
    with Pair() as p:
        d = p.d.execute("RESTORE", "m", 0, rb.payload(rb.T_MODULE_2, b"\x01\x02\x03"))
        assert d == RespError("ERR Bad data format: the payload holds a module value (RDB type 7), "
                              "which dredis cannot restore"), d
        assert p.d.execute("DBSIZE") == 0


# ---- streams ----

def stream_info(c, key):
    """XINFO STREAM FULL as a dict, without the radix tree counters (dredis
    counts segments: docs/storage-format.md)."""
    v = c.execute("XINFO", "STREAM", key, "FULL", "COUNT", 0)
    info = dict(zip(v[::2], v[1::2]))
    del info[b"radix-tree-keys"], info[b"radix-tree-nodes"]
    return info


def stream_state(c, key):
    """What a stream holds, apart from the times that move with the clock:
    its entries, XINFO STREAM FULL (absolute times), and per group XPENDING
    (summary, and extended without the idle times) and XINFO GROUPS."""
    state = {"range": c.execute("XRANGE", key, "-", "+"), "full": stream_info(c, key),
             "groups": c.execute("XINFO", "GROUPS", key)}
    for g in c.execute("XINFO", "GROUPS", key):
        name = dict(zip(g[::2], g[1::2]))[b"name"]
        ext = c.execute("XPENDING", key, name, "-", "+", 1000000)
        state[name] = (c.execute("XPENDING", key, name), [(e[0], e[1], e[3]) for e in ext])
    return state


def fill_stream(c, key="s"):
    """A stream with everything a payload can hold: several nodes (> 100
    entries), entries with the master's fields and with others, deleted
    entries, a value > 4096 bytes, groups with pending entries, several
    consumers, claimed deliveries, a consumer without pending entries, a
    group that read nothing, and one whose entries_read is unknown."""
    for i in range(260):
        if i % 9 == 0:
            fields = ["other", "x%d" % i, "n", str(i), "extra", ""]
        else:
            fields = ["f", "v%d" % i, "n", str(i * 1000 - 70000)]
        c.execute("XADD", key, "%d-%d" % (1000 + i // 3, i % 3), *fields)
    c.execute("XADD", key, "5000-0", "big", "B" * 5000, "f", "after")
    c.execute("XADD", key, "5000-1", "f", "v", "n", "1")
    assert c.execute("XDEL", key, "1001-2", "1010-1", "1050-0") == 3
    c.execute("XGROUP", "CREATE", key, "g1", "0")
    c.execute("XGROUP", "CREATE", key, "g2", "1020-0")
    c.execute("XGROUP", "CREATE", key, "idle", "$")
    c.execute("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 5, "STREAMS", key, ">")
    c.execute("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 120, "STREAMS", key, ">")
    c.execute("XREADGROUP", "GROUP", "g2", "carol", "COUNT", 3, "STREAMS", key, ">")
    c.execute("XGROUP", "CREATECONSUMER", key, "g2", "dave")
    c.execute("XACK", key, "g1", "1000-0", "1003-0")
    # claimed: a new owner and a second delivery; then a forced count
    c.execute("XCLAIM", key, "g1", "carol", 0, "1001-0", "1001-1")
    c.execute("XCLAIM", key, "g1", "alice", 0, "1030-0", "RETRYCOUNT", 7)
    # a deleted entry still pending
    c.execute("XDEL", key, "1002-0")
    # entries_read unknown after a SETID to an arbitrary ID
    c.execute("XGROUP", "CREATE", key, "lost", "0")
    c.execute("XGROUP", "SETID", key, "lost", "1040-1")
    # names that are empty or binary
    c.execute("XGROUP", "CREATE", key, b"odd/\n\x00name", "0")
    c.execute("XREADGROUP", "GROUP", b"odd/\n\x00name", "", "COUNT", 1, "STREAMS", key, ">")
    c.execute("XREADGROUP", "GROUP", b"odd/\n\x00name", b"\xff/..", "COUNT", 1, "STREAMS", key, ">")
    return key


def check_same_stream(a, b, key_a, key_b=None):
    sa, sb = stream_state(a, key_a), stream_state(b, key_b or key_a)
    assert sa == sb, (sa, sb)


def continue_both(p, key):
    """XADD, XREADGROUP, XCLAIM, XACK, XDEL and XTRIM go on alike."""
    p.run("XADD", key, "9000-0", "f", "new")
    p.run("XADD", key, "9000-*", "other", "x")
    p.run("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 500, "STREAMS", key, ">")
    p.run("XREADGROUP", "GROUP", "g2", "dave", "STREAMS", key, "0")
    p.run("XACK", key, "g1", "1001-0", "9000-0")
    p.run("XDEL", key, "1100-0")
    p.run("XINFO", "GROUPS", key)
    p.run("XTRIM", key, "MINID", "1005")
    p.run("XLEN", key)
    p.run("XRANGE", key, "-", "+")
    p.run("XPENDING", key, "g1")
    p.run("XINFO", "GROUPS", key)
    p.run("XINFO", "CONSUMERS", key, "g2", normalize=lambda v: [c[:4] for c in v])


def test_stream_round_trip_redis_to_dredis():
    """Redis -> dredis -> Redis (deep sanitization on): the same stream,
    groups, PELs and times; then both go on alike."""
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "sanitize-dump-payload", "yes")
        fill_stream(p.r)
        payload = p.r.execute("DUMP", "s")
        assert payload[0] == rb.T_STREAM_2
        assert restore(p.d, "s", payload) == "OK"
        check_same_stream(p.d, p.r, "s")
        back = p.d.execute("DUMP", "s")
        assert restore(p.r, "s:back", back) == "OK"
        check_same_stream(p.r, p.r, "s", "s:back")
        # Redis made the same nodes of it: its counters agree
        full = p.r.execute("XINFO", "STREAM", "s:back", "FULL", "COUNT", 0)
        orig = p.r.execute("XINFO", "STREAM", "s", "FULL", "COUNT", 0)
        assert full[:6] == orig[:6]
        continue_both(p, "s")
        assert staging_leftovers(p.dredis.root_dir) == []


def test_stream_round_trip_dredis_to_redis():
    """dredis -> Redis (deep sanitization on) -> dredis."""
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "sanitize-dump-payload", "yes")
        fill_stream(p.d)
        payload = p.d.execute("DUMP", "s")
        assert isinstance(payload, bytes) and payload[0] == rb.T_STREAM_2
        assert restore(p.r, "s", payload) == "OK"
        check_same_stream(p.d, p.r, "s")
        # and back: dredis's copy of Redis's copy is the original
        assert restore(p.d, "s:back", p.r.execute("DUMP", "s")) == "OK"
        check_same_stream(p.d, p.d, "s", "s:back")
        assert restore(p.d, "s:copy", payload) == "OK"
        check_same_stream(p.d, p.d, "s", "s:copy")
        continue_both(p, "s")


def test_stream_nodes_match_redis_bytes():
    """Without compression Redis's DUMP of a stream without groups is the
    one dredis writes for the same XADDs, byte for byte: the same nodes,
    master entries, flags, deltas and integer encodings."""
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "rdbcompression", "no")
        for i in range(450):
            if i % 11 == 0:
                args = ["g", "x" * (i % 70), "n", str(-i * 100000)]
            elif i % 50 == 7:
                args = ["f", "y" * 3000]  # nodes closed by size
            else:
                args = ["f", "v%d" % i, "n", str(i)]
            p.run("XADD", "s", "%d-%d" % (10 + i // 4, (i % 4) * 1000), *args)
        p.run("XADD", "s", "20000-0", "big", "z" * 70000)
        p.run("XADD", "s", "20000-1", "f", "after")
        dumped = p.d.execute("DUMP", "s")
        assert dumped == p.r.execute("DUMP", "s")
        p.run("XADD", "e", "1-1", "f", "v")
        p.run("XDEL", "e", "1-1")
        assert p.d.execute("DUMP", "e") == p.r.execute("DUMP", "e")


def test_empty_streams():
    """XADD then XDEL, MKSTREAM, and XTRIM MAXLEN 0: empty streams exist,
    with their last ID, counters and groups, in both directions."""
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "sanitize-dump-payload", "yes")
        for c in (p.d, p.r):
            c.execute("XADD", "deleted", "5-5", "f", "v")
            c.execute("XDEL", "deleted", "5-5")
            c.execute("XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM")
            c.execute("XADD", "trimmed", "7-1", "f", "v")
            c.execute("XADD", "trimmed", "7-2", "f", "v")
            c.execute("XGROUP", "CREATE", "trimmed", "g", "0")
            c.execute("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "trimmed", ">")
            c.execute("XTRIM", "trimmed", "MAXLEN", 0)
        for k in ("deleted", "mk", "trimmed"):
            from_redis = p.r.execute("DUMP", k)
            from_dredis = p.d.execute("DUMP", k)
            assert restore(p.d, k + ":r", from_redis) == "OK"
            assert restore(p.r, k + ":d", from_dredis) == "OK", k
            check_same_stream(p.d, p.r, k + ":r", k)
            check_same_stream(p.r, p.d, k + ":d", k)
            assert p.d.execute("TYPE", k + ":r") == "stream"
            assert p.d.execute("XLEN", k + ":r") == 0
        # the restored empty stream takes entries after its last ID only
        for c, k in ((p.d, "deleted:r"), (p.r, "deleted:d"), (p.r, "deleted")):
            assert c.execute("XADD", k, "5-5", "f", "v") == \
                RespError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
            assert c.execute("XADD", k, "5-*", "f", "v") == b"5-6"
        assert p.d.execute("XINFO", "GROUPS", "trimmed:r") == p.r.execute("XINFO", "GROUPS", "trimmed:d")


def test_trimmed_streams_and_lag():
    """XTRIM MAXLEN / MINID change the first ID and entries-added; groups'
    entries_read and lag survive both ways."""
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "sanitize-dump-payload", "yes")
        for c in (p.d, p.r):
            for i in range(1, 351):
                c.execute("XADD", "t", "%d-0" % i, "f", str(i))
            c.execute("XGROUP", "CREATE", "t", "early", "0")
            c.execute("XREADGROUP", "GROUP", "early", "c", "COUNT", 10, "STREAMS", "t", ">")
            c.execute("XTRIM", "t", "MAXLEN", 300)
            c.execute("XTRIM", "t", "MINID", 120)
            c.execute("XGROUP", "CREATE", "t", "late", "200-0", "ENTRIESREAD", 200)
            c.execute("XDEL", "t", "250-0")
        p.run("XINFO", "GROUPS", "t")
        for src, dst in ((p.r, p.d), (p.d, p.r)):
            assert restore(dst, "t2", src.execute("DUMP", "t")) == "OK"
            check_same_stream(src, dst, "t", "t2")
            dst.execute("DEL", "t2")


def test_stream_type_15_from_redis_6():
    """RDB_TYPE_STREAM_LISTPACKS (Redis 5 and 6): no first ID, tombstone ID,
    entries-added nor entries_read; dredis fills them in as Redis 7.0 does
    when it loads one (Redis restores the same payload for comparison)."""
    entries = [(100, i, [("f", "v%d" % i)]) for i in range(5)] + [(101, 0, [("g", "w"), ("h", "1")])]
    node = rb.listpack(rb.stream_node((100, 0), entries))
    groups = [{"name": "at-last", "last_id": (101, 0), "pel": [(101, 0, 1700000000123, 2)],
               "consumers": [("c", 1700000000456, [(101, 0)])]},
              {"name": "at-first", "last_id": (100, 0), "pel": [], "consumers": []},
              {"name": "before", "last_id": (0, 0), "pel": [], "consumers": []},
              {"name": "middle", "last_id": (100, 2), "pel": [], "consumers": []}]
    payload = rb.stream_payload([((100, 0), node)], 6, (101, 0), groups=groups, rdbtype=rb.T_STREAM)
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "sanitize-dump-payload", "yes")
        assert restore(p.r, "s", payload) == "OK"
        assert restore(p.d, "s", payload) == "OK"
        check_same_stream(p.d, p.r, "s")
        groups = {g[1]: g for g in p.d.execute("XINFO", "GROUPS", "s")}
        assert groups[b"at-last"][9] == 6 and groups[b"middle"][9] is None
        p.run("XADD", "s", "101-*", "f", "v")
        p.run("XREADGROUP", "GROUP", "middle", "c", "STREAMS", "s", ">")
        p.run("XINFO", "GROUPS", "s")


def test_restored_stream_tree_is_xadds_tree():
    """A restored stream's files are those XADD makes: segments of 100,
    their seg-first files, len, head, tail, last-id and the counters."""
    with Pair() as p:
        for c in (p.d, p.r):
            for i in range(230):
                c.execute("XADD", "x", "%d-1" % (i + 1), "f", "v%d" % i)
            c.execute("XDEL", "x", "5-1")
        assert restore(p.d, "y", p.r.execute("DUMP", "x")) == "OK"
        d = p.dredis
        fx, fy = files_under(key_dir(d, "x")), files_under(key_dir(d, "y"))
        assert fx == fy, (fx, fy)
        # XDEL rewrote segment 0 without 5-1; RESTORE packed the 229 live
        # entries into full segments: the same files, the entries shifted
        assert "segments/2" in fy and "entries-removed" in fy and "max-deleted-id" in fy
        assert read(os.path.join(key_dir(d, "y"), "seg-first", "1")) == b"102-1"
        for f in ("len", "last-id", "head", "tail", "max-deleted-id", "entries-removed", "type"):
            assert read(os.path.join(key_dir(d, "x"), f)) == read(os.path.join(key_dir(d, "y"), f)), f
        assert staging_leftovers(d.root_dir) == []


def _small_stream(**kw):
    entries = [(10, 1, [("f", "a")]), (10, 2, [("f", "b")]), (11, 0, [("g", "c")])]
    node = rb.listpack(rb.stream_node((10, 1), entries))
    groups = [{"name": "g", "last_id": (11, 0), "entries_read": 3, "pel": [(10, 2, 1000, 1), (11, 0, 2000, 3)],
               "consumers": [("c1", 500, [(10, 2)]), ("c2", 600, [(11, 0)])]}]
    args = dict(nodes=[((10, 1), node)], length_=3, last_id=(11, 0), first_id=(10, 1), entries_added=3,
                groups=groups)
    args.update(kw)
    return rb.stream_payload(**args)


def test_corrupt_stream_payloads():
    """Every damage is ERR Bad data format, leaves no key and nothing under
    .tmp (and the server up, ASan or not)."""
    good_entries = [(10, 1, [("f", "a")]), (10, 2, [("f", "b")]), (11, 0, [("g", "c")])]
    values = rb.stream_node((10, 1), good_entries)
    lp = rb.listpack(values)
    bad = {}
    # the listpack: a wrong element count, a bad backlen, a live count off by one,
    # a wrong lp-count, a missing master terminator, cut short
    bad["lp count"] = lp[:4] + struct.pack("<H", len(values) + 1) + lp[6:]
    i = lp.index(bytes([0x81]) + b"f" + bytes([2]))  # the master field "f" and its backlen
    bad["backlen"] = lp[:i + 2] + b"" + lp[i + 3:]
    bad["live count"] = rb.listpack([values[0] + 1] + values[1:])
    wrong_lpcount = list(values)
    wrong_lpcount[wrong_lpcount.index(4)] = 5  # the first entry's lp-count (2 + 3 fields... = 4)
    bad["lp-count"] = rb.listpack(wrong_lpcount)
    bad["no terminator"] = rb.listpack(values[:4] + [1] + values[5:])
    bad["cut"] = rb.listpack(values[:-1])
    bad["backwards"] = rb.listpack(rb.stream_node((10, 1), [good_entries[1], good_entries[0], good_entries[2]]))
    bad["same ID twice"] = rb.listpack(rb.stream_node((10, 1), [good_entries[0]] * 2 + [good_entries[2]]))
    payloads = {k: _small_stream(nodes=[((10, 1), v)]) for k, v in bad.items()}
    # the nodes: a short key, keys out of order, empty listpack
    payloads["short key"] = rb.payload(rb.T_STREAM_2, _small_stream()[1:-10].replace(
        rb.string(rb.stream_id(10, 1)), rb.string(rb.stream_id(10, 1)[:15]), 1))
    second = rb.listpack(rb.stream_node((20, 0), [(20, 0, [("f", "x")])]))
    payloads["nodes backwards"] = _small_stream(nodes=[((20, 0), second), ((10, 1), lp)], length_=4,
                                                last_id=(20, 0))
    payloads["IDs overlap nodes"] = _small_stream(nodes=[((10, 1), lp), ((10, 5), rb.listpack(
        rb.stream_node((10, 5), [(10, 5, [("f", "x")])])))], length_=4, last_id=(11, 0))
    payloads["empty listpack"] = _small_stream(nodes=[((10, 1), rb.listpack([]))], length_=0, groups=[])
    # the metadata
    payloads["length"] = _small_stream(length_=4, entries_added=4)
    payloads["entry past last ID"] = _small_stream(last_id=(10, 9))
    payloads["entries added < length"] = _small_stream(entries_added=2)
    # the groups
    g = lambda **kw: [dict({"name": "g", "last_id": (11, 0), "entries_read": 3, "pel": [(10, 2, 1000, 1)],
                            "consumers": [("c1", 500, [(10, 2)])]}, **kw)]
    payloads["PEL entry without consumer"] = _small_stream(groups=g(consumers=[("c1", 500, [])]))
    payloads["consumer PEL not in group PEL"] = _small_stream(groups=g(consumers=[("c1", 500, [(10, 2), (11, 0)])]))
    payloads["PEL owned twice"] = _small_stream(groups=g(consumers=[("c1", 500, [(10, 2)]),
                                                                    ("c2", 500, [(10, 2)])]))
    payloads["PEL out of order"] = _small_stream(groups=g(pel=[(11, 0, 1, 1), (10, 2, 1, 1)],
                                                          consumers=[("c1", 5, [(10, 2), (11, 0)])]))
    payloads["duplicate group"] = _small_stream(groups=g() + g())
    payloads["duplicate consumer"] = _small_stream(groups=g(consumers=[("c1", 5, [(10, 2)]), ("c1", 5, [])]))
    payloads["entries_read < -1"] = _small_stream(groups=g(entries_read=-2))
    payloads["PEL count past the end"] = _small_stream()[:-10 - 4]
    with Dredis() as srv:
        c = srv.client()
        assert restore(c, "ok", _small_stream()) == "OK"
        assert c.execute("XPENDING", "ok", "g") == [2, b"10-2", b"11-0", [[b"c1", b"1"], [b"c2", b"1"]]]
        c.execute("SET", "old", "v")
        for name, payload in payloads.items():
            if not payload.endswith(rb.footer(b"")[-10:]):
                payload = rb.refooter(payload)
            assert restore(c, "k", payload) == BAD_FORMAT, name
            assert restore(c, "old", payload, "REPLACE") == BAD_FORMAT, name
            assert c.execute("EXISTS", "k") == 0, name
            assert c.execute("GET", "old") == b"v", name
        # every cut of a real payload
        full = _small_stream()
        for n in range(1, len(full) - 10):
            reply = restore(c, "k", rb.footer(full[:n]))
            assert reply == BAD_FORMAT, (n, reply)
        assert c.execute("EXISTS", "k") == 0
        assert c.execute("PING") == "PONG"
        assert staging_leftovers(srv.root_dir) == []


def test_dump_of_a_damaged_stream():
    """A pending entry whose consumer is gone, or a segment missing, is a
    damaged key for DUMP, not a payload Redis would refuse."""
    with Dredis() as srv:
        c = srv.client()
        for i in range(150):
            c.execute("XADD", "s", "%d-0" % (i + 1), "f", "v")
        c.execute("XGROUP", "CREATE", "s", "g", "0")
        c.execute("XREADGROUP", "GROUP", "g", "c", "COUNT", 2, "STREAMS", "s", ">")
        assert isinstance(c.execute("DUMP", "s"), bytes)
        import shutil
        shutil.rmtree(os.path.join(key_dir(srv, "s"), "groups", "g", "consumers", "c"))
        damaged = RespError("ERR storage error: the key's directory is damaged or not a dredis key")
        assert c.execute("DUMP", "s") == damaged
        c.execute("XGROUP", "DESTROY", "s", "g")
        assert isinstance(c.execute("DUMP", "s"), bytes)
        os.unlink(os.path.join(key_dir(srv, "s"), "segments", "0"))
        assert c.execute("DUMP", "s") == damaged


# ---- the tree and crash safety ----

def test_tree_after_restore():
    with Pair() as p:
        p.r.execute("SET", "s", "hello")
        p.r.execute("RPUSH", "l", "a", "b", "c")
        p.r.execute("HSET", "h", "f1", "v1", "f/2", "v2")
        p.r.execute("SADD", "st", "x", "y")
        p.r.execute("ZADD", "z", "1", "a", "-2.5", "b")
        for k in ("s", "l", "h", "st", "z"):
            assert restore(p.d, k, p.r.execute("DUMP", k)) == "OK"
        assert restore(p.d, "ttl", p.r.execute("DUMP", "s"), ttl=100000) == "OK"
        d = p.dredis
        assert files_under(key_dir(d, "s")) == ["type", "value"]
        assert read(os.path.join(key_dir(d, "s"), "value")) == b"hello"
        assert files_under(key_dir(d, "l")) == ["head-seg", "segments", "segments/0", "tail-seg", "type"]
        assert [read(os.path.join(key_dir(d, "l"), f)) for f in ("type", "head-seg", "tail-seg", "segments/0")] == \
            [b"list", b"0", b"0", b"0\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"]
        assert files_under(key_dir(d, "h")) == ["fields", "fields/f%2F2", "fields/f1", "len", "type"]
        assert read(os.path.join(key_dir(d, "h"), "fields", "f%2F2")) == b"v2"
        assert read(os.path.join(key_dir(d, "h"), "len")) == b"2"
        assert files_under(key_dir(d, "st")) == ["len", "type", "values", "values/x", "values/y"]
        assert files_under(key_dir(d, "z")) == sorted(["len", "scores", "scores/bff0000000000000_a",
                                                       "scores/3ffbffffffffffff_b", "type", "values", "values/a",
                                                       "values/b"])
        assert read(os.path.join(key_dir(d, "z"), "values", "b")) == b"-2.5"
        assert read(os.path.join(key_dir(d, "z"), "type")) == b"zset"
        assert files_under(key_dir(d, "ttl")) == ["expire", "type", "value"]
        # the sorted set works through its index
        assert p.d.execute("ZRANK", "z", "a") == 1
        assert p.d.execute("ZRANGEBYSCORE", "z", "-inf", "0") == [b"b"]
        assert staging_leftovers(d.root_dir) == []


def test_failed_restore_leaves_nothing():
    """A payload found bad half way through a big collection: no key, the
    old one (REPLACE) untouched, nothing left under .tmp."""
    with Dredis() as srv:
        c = srv.client()
        pairs = [("f%d" % i, "v%d" % i) for i in range(500)] + [("f7", "dup")]
        bad = rb.plain_hash(pairs)
        assert restore(c, "h", bad) == BAD_FORMAT
        assert c.execute("EXISTS", "h") == 0
        c.execute("SADD", "h", "old")
        assert restore(c, "h", bad, "REPLACE") == BAD_FORMAT
        assert c.execute("SMEMBERS", "h") == [b"old"]
        # cut short after a few hundred list elements (the footer made right)
        good = rb.plain_list(["e%d" % i for i in range(1000)])
        cut = rb.footer(good[:-10][:2000])
        assert restore(c, "h", cut, "REPLACE") == BAD_FORMAT
        assert c.execute("TYPE", "h") == "set"
        assert staging_leftovers(srv.root_dir) == []
        assert c.execute("DBSIZE") == 1
        # the restored key survives a restart
        assert restore(c, "l", good) == "OK"
        c.close()
        srv.restart()
        c = srv.client()
        assert c.execute("LLEN", "l") == 1000
        assert c.execute("LINDEX", "l", 999) == b"e999"
        # restored in segments of 64: 0 .. 15
        assert sorted(f for f in files_under(key_dir(srv, "l")) if f.startswith("segments/")) == \
            sorted("segments/%d" % n for n in range(16))
        assert c.execute("LRANGE", "l", 60, 70) == [b"e%d" % i for i in range(60, 71)]
        assert rb.plain_list(["e%d" % i for i in range(1000)])[:-10] == c.execute("DUMP", "l")[:-10]


def test_dump_of_a_damaged_key():
    """A list with a segment file missing from its range is reported as
    damaged, not dumped short."""
    with Dredis() as srv:
        c = srv.client()
        c.execute("RPUSH", "l", *["e%d" % i for i in range(200)])
        os.unlink(os.path.join(key_dir(srv, "l"), "segments", "1"))
        assert c.execute("DUMP", "l") == \
            RespError("ERR storage error: the key's directory is damaged or not a dredis key")
        c.execute("HSET", "h", "f", "v")
        os.unlink(os.path.join(key_dir(srv, "h"), "fields", "f"))
        assert c.execute("DUMP", "h") == \
            RespError("ERR storage error: the key's directory is damaged or not a dredis key")


def test_restore_wakes_watchers_and_blocked_clients():
    with Dredis() as srv:
        c = srv.client()
        c.execute("RPUSH", "src", "x")
        payload = c.execute("DUMP", "src")
        w = srv.client()
        assert w.execute("WATCH", "l") == "OK"
        assert w.execute("MULTI") == "OK"
        assert w.execute("GET", "nothing") == "QUEUED"
        assert restore(c, "l", payload) == "OK"
        assert w.execute("EXEC") is None
        b = srv.client()
        b.send("BLPOP", "l2", 10)
        time.sleep(0.2)
        assert restore(c, "l2", payload) == "OK"
        assert b.read_reply() == [b"l2", b"x"]
        # in a transaction and in a script
        assert c.execute("MULTI") == "OK"
        assert c.execute("RESTORE", "m", 0, payload) == "QUEUED"
        assert c.execute("EXEC") == ["OK"]
        assert c.execute("EVAL", "return redis.call('RESTORE', KEYS[1], 0, ARGV[1])", 1, "e", payload) == "OK"
        assert c.execute("LRANGE", "e", 0, -1) == [b"x"]
        assert c.execute("EVAL", "return redis.call('DUMP', KEYS[1])", 1, "e") == payload


def test_dump_missing_expired_and_db():
    with Pair() as p:
        p.run("DUMP", "nope")
        p.run("SET", "x", "1", "PX", "1")
        time.sleep(0.05)
        p.run("DUMP", "x")
        p.run("SELECT", "3")
        p.run("SET", "y", "in db 3")
        payload = p.run("DUMP", "y")
        p.run("SELECT", "0")
        p.run("DUMP", "y")
        p.run("RESTORE", "y", 0, payload)
        p.run("GET", "y")
        p.run("COMMAND", "GETKEYS", "RESTORE", "k", "0", "payload")
        p.run("COMMAND", "GETKEYS", "DUMP", "k")


# ---- fuzz ----

def _mutate(rng, body):
    body = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        if not body:
            break
        op = rng.randrange(6)
        at = rng.randrange(len(body))
        if op == 0:
            body[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            body[at] = rng.randrange(256)
        elif op == 2:
            del body[at:]
        elif op == 3:
            body[at:at] = bytes([rng.randrange(256)])
        elif op == 4:
            del body[at:at + rng.randint(1, 8)]
        else:  # a length-like byte made large
            body[at] = rng.choice([0x3F, 0x7F, 0x80, 0x81, 0xC3, 0xFE, 0xFF])
    return bytes(body)


def test_fuzz_restore():
    """Mutated payloads (their checksums made right, so they reach the
    decoder) end in OK or a clean error; a key that was restored reads back
    whole and dumps again into something Redis accepts; the server stays up
    and leaves nothing under .tmp."""
    rng = random.Random(1234)
    with Pair() as p:
        seeds = []
        small = fill(p.r, "s:", False)
        for k in small.values():
            seeds.append(p.r.execute("DUMP", k))
        p.r.execute("RPUSH", "ql", *["item%d" % i for i in range(300)])
        p.r.execute("SET", "lzf", "abc" * 50)
        seeds += [p.r.execute("DUMP", "ql"), p.r.execute("DUMP", "lzf")]
        seeds += [rb.blob_payload(rb.T_HASH_ZIPLIST, rb.ziplist(["a", 1, "b", "xyz", 300, -70000])),
                  rb.blob_payload(rb.T_LIST_ZIPLIST, rb.ziplist([0, 12, "s" * 70, 5000000000])),
                  rb.quicklist1([rb.ziplist(["a", "b"]), rb.ziplist([1, 2])]),
                  rb.blob_payload(rb.T_HASH_ZIPMAP, rb.zipmap([("a", "1"), ("bb", "xy")])),
                  rb.plain_zset1([("a", 1.5), ("b", float("inf"))]),
                  rb.quicklist2([("plain", b"P" * 20), ("packed", rb.listpack(["x", 1]))])]
        for k in fill(p.d, "d:", False).values():
            seeds.append(p.d.execute("DUMP", k))
        # streams: a small one with groups from each side, one of two nodes, a type 15 one
        for c in (p.r, p.d):
            for i in range(1, 7):
                c.execute("XADD", "fs", "%d-%d" % (i, i % 2), *(["f", i] if i % 3 else ["g", "x" * i, "f", -i]))
            c.execute("XDEL", "fs", "2-0")
            c.execute("XGROUP", "CREATE", "fs", "g", "0")
            c.execute("XREADGROUP", "GROUP", "g", "a", "COUNT", 2, "STREAMS", "fs", ">")
            c.execute("XREADGROUP", "GROUP", "g", "b", "COUNT", 1, "STREAMS", "fs", ">")
            seeds.append(c.execute("DUMP", "fs"))
        p.r.execute("XADD", "fs2", "MAXLEN", 150, "1-1", "f", "v")
        for i in range(120):
            p.r.execute("XADD", "fs2", "*", "f", i)
        seeds += [p.r.execute("DUMP", "fs2"), _small_stream(rdbtype=rb.T_STREAM)]
        outcomes = {"ok": 0, "error": 0, "stream ok": 0, "stream error": 0}
        last = content(p.d, "fz")
        for i in range(2500):
            seed = rng.choice(seeds)
            mutated = rb.refooter(bytes([seed[0]]) + _mutate(rng, seed[1:-10]) + seed[-10:]) \
                if rng.random() < 0.9 else _mutate(rng, seed)
            reply = p.d.execute("RESTORE", "fz", 0, mutated, "REPLACE")
            if reply == "OK":
                outcomes["ok"] += 1
                t, value = content(p.d, "fz")
                assert t in ("string", "list", "set", "zset", "hash", "stream"), (t, mutated)
                assert not isinstance(value, RespError), (value, mutated)
                again = p.d.execute("DUMP", "fz")
                assert isinstance(again, bytes), again
                assert p.r.execute("RESTORE", "fz", 0, again, "REPLACE") == "OK", mutated
                assert content(p.r, "fz") == (t, value), mutated
                last = (t, value)
                outcomes["stream ok"] += t == "stream"
            else:
                outcomes["error"] += 1
                outcomes["stream error"] += mutated[:1] in (bytes([rb.T_STREAM]), bytes([rb.T_STREAM_2]))
                assert isinstance(reply, RespError), (reply, mutated)
                assert reply.message.startswith(("ERR Bad data format", "ERR DUMP payload version or checksum")), \
                    (reply, mutated)
                # a refused payload leaves the key as it was
                assert content(p.d, "fz") == last, mutated
        assert outcomes["ok"] > 50 and outcomes["error"] > 50, outcomes
        assert outcomes["stream ok"] > 3 and outcomes["stream error"] > 100, outcomes
        assert p.d.execute("PING") == "PONG"
        assert staging_leftovers(p.dredis.root_dir) == []
