"""String commands compared with a real Redis 7.0: replies, error texts and
the effect on values and TTLs, including the odd corners (option
combinations, overflow, float formatting, offsets) and WRONGTYPE against
keys of other types."""
import itertools
import os
import shutil
import time

from dredis_test import Dredis, Pair, RespError, proc_io
from test_notify import events_of

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
FUTURE_S = str(int(time.time()) + 100000)
FUTURE_MS = str((int(time.time()) + 100000) * 1000 + 123)


def ttl_class(cmd, reply):
    """TTL replies differ by a millisecond or two between servers; keep
    what matters: no key, no TTL, or some TTL."""
    if cmd[0] in ("TTL", "PTTL") and isinstance(reply, int) and reply >= 0:
        return "has ttl"
    return reply


# SET options: valid ones, and invalid ones (bad, missing or overflowing
# values, unknown words)
SET_OPTIONS = [
    ["NX"], ["XX"], ["GET"], ["KEEPTTL"], ["EX", "100"], ["PX", "100000"], ["EXAT", FUTURE_S], ["PXAT", FUTURE_MS],
    ["ex", "100"], ["EX", "0"], ["EX", "-1"], ["EX", "abc"], ["PX", "0"], ["EX"], ["PXAT"], ["EXAT", "0"], ["PXAT", "-5"],
    ["EX", "9223372036854775807"], ["PX", "9223372036854775807"], ["EX", "1.5"], ["FOO"],
]


def set_cases(combos):
    cmds = []
    for combo in combos:
        opts = [w for o in combo for w in o]
        for existing in (False, True):
            cmds.append(("DEL", "k"))
            if existing:
                cmds.append(("SET", "k", "old", "EX", "1000"))
            cmds += [("SET", "k", "new") + tuple(opts), ("GET", "k"), ("TTL", "k")]
    return cmds


def test_set_single_and_pairs_of_options():
    combos = [[o] for o in SET_OPTIONS] + list(itertools.combinations(SET_OPTIONS, 2))
    with Pair() as p:
        p.run_many(set_cases(combos), normalize=ttl_class)


def test_set_option_triples_and_repeats():
    combos = [
        (["NX"], ["GET"], ["EX", "100"]), (["XX"], ["GET"], ["KEEPTTL"]), (["NX"], ["XX"], ["GET"]),
        (["GET"], ["PX", "100000"], ["KEEPTTL"]), (["EX", "10"], ["EX", "20"], ["GET"]),
        (["EX", "10"], ["PX", "20"]), (["NX"], ["NX"]), (["XX"], ["XX"]), (["GET"], ["GET"]),
        (["KEEPTTL"], ["KEEPTTL"]), (["EX", "abc"], ["EX", "10"]), (["EX", "10"], ["EX", "abc"]),
        (["PXAT", FUTURE_MS], ["PXAT", "9223372036854775807"]), (["EX", "5"], ["KEEPTTL"], ["EX", "5"]),
        (["EXAT", FUTURE_S], ["EXAT", FUTURE_S]), (["XX"], ["NX"], ["XX"]),
    ]
    with Pair() as p:
        p.run_many(set_cases(combos), normalize=ttl_class)


def test_set_absolute_expiry_is_exact():
    with Pair() as p:
        p.run_many([
            ("SET", "a", "1", "EXAT", FUTURE_S), ("EXPIRETIME", "a"), ("PEXPIRETIME", "a"),
            ("SET", "b", "1", "PXAT", FUTURE_MS), ("EXPIRETIME", "b"), ("PEXPIRETIME", "b"),
            ("SET", "b", "2", "KEEPTTL"), ("PEXPIRETIME", "b"), ("SET", "b", "3"), ("PEXPIRETIME", "b"),
            # in the past: the key is gone at once
            ("SET", "c", "1", "PXAT", "1"), ("EXISTS", "c"), ("SET", "c", "1", "EXAT", "1000"), ("GET", "c"),
        ])


def test_set_get_and_arity():
    with Pair() as p:
        p.run_many([
            ("SET",), ("SET", "k"), ("GET",), ("GET", "a", "b"), ("GET", "missing"),
            ("SET", "k", "v"), ("GET", "k"), ("SET", "k", ""), ("GET", "k"), ("STRLEN", "k"),
            ("SET", "bin", b"\x00\x01\xff\r\n\x00"), ("GET", "bin"), ("STRLEN", "bin"),
            ("set", "lower", "v"), ("GeT", "lower"),
            ("SET", "k", "v", "NX", "GET"), ("SET", "new", "v", "XX", "GET"), ("EXISTS", "new"),
            ("SET", "new", "v", "NX", "GET"), ("GET", "new"),
        ])


def test_getset_getdel():
    with Pair() as p:
        p.run_many([
            ("GETSET",), ("GETSET", "k"), ("GETSET", "k", "v1"), ("GETSET", "k", "v2"), ("GET", "k"),
            ("SET", "t", "v", "EX", "100"), ("GETSET", "t", "w"), ("TTL", "t"),
            ("GETDEL",), ("GETDEL", "a", "b"), ("GETDEL", "k"), ("GETDEL", "k"), ("EXISTS", "k"),
            ("SET", "t", "v", "EX", "100"), ("GETDEL", "t"), ("TTL", "t"),
        ])


def test_getex_options():
    options = [[], ["EX", "10"], ["PX", "10000"], ["EXAT", FUTURE_S], ["PXAT", FUTURE_MS], ["PERSIST"],
               ["ex", "10"], ["persist"], ["EX", "0"], ["EX", "-3"], ["PX", "abc"], ["EX"],
               ["EX", "9223372036854775807"], ["PERSIST", "EX", "10"], ["EX", "10", "PERSIST"], ["KEEPTTL"], ["NX"],
               ["GET"], ["FOO"], ["EX", "10", "PX", "10"], ["EX", "10", "EX", "20"], ["PERSIST", "PERSIST"],
               ["EXAT", "1"], ["PXAT", "1"]]
    cmds = [("GETEX",)]
    for opts in options:
        cmds += [("SET", "g", "v", "EX", "500"), ("GETEX", "g") + tuple(opts), ("TTL", "g"), ("GET", "g"),
                 ("GETEX", "missing") + tuple(opts)]
    with Pair() as p:
        p.run_many(cmds, normalize=ttl_class)
        p.run_many([("SET", "g", "v"), ("GETEX", "g", "PXAT", FUTURE_MS), ("PEXPIRETIME", "g")])


def test_setnx_setex_psetex():
    cmds = [("SETNX",), ("SETNX", "k"), ("SETNX", "k", "1"), ("SETNX", "k", "2"), ("GET", "k"),
            ("SET", "t", "v", "EX", "100"), ("SETNX", "t", "x"), ("TTL", "t")]
    for cmd in ("SETEX", "PSETEX"):
        cmds += [(cmd,), (cmd, "se", "10")]
        for t in ["0", "-1", "abc", "10000", "1.5", "9223372036854775807", "9223372036854775806", "9223372036854",
                  "", " 10", "+10", "010"]:
            cmds += [(cmd, "se", t, "v"), ("TTL", "se"), ("GET", "se")]
        cmds += [("SET", "se", "old"), (cmd, "se", "5000", "new"), ("GET", "se"), ("TTL", "se")]
    with Pair() as p:
        p.run_many(cmds, normalize=ttl_class)


def test_mget_mset_msetnx():
    with Pair() as p:
        p.run_many([
            ("MGET",), ("MSET",), ("MSET", "a"), ("MSET", "a", "1", "b"), ("MSETNX",), ("MSETNX", "x"),
            ("MSETNX", "x", "1", "y"),
            ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "missing", "a"),
            ("MSET", "m", "1", "m", "2"), ("GET", "m"),
            ("SET", "t", "v", "EX", "100"), ("MSET", "t", "w"), ("TTL", "t"),
            ("MSETNX", "a", "9", "fresh", "1"), ("EXISTS", "fresh"), ("GET", "a"),
            ("MSETNX", "x1", "1", "x2", "2"), ("MGET", "x1", "x2"),
            ("MSETNX", "y", "1", "y", "2"), ("GET", "y"),
        ])


def test_mset_naming_a_key_again_keeps_the_last_value_and_every_event():
    """MSET writes only the last value of a key it names more than once
    (short argument lists and long ones, which are checked by a table), and
    still publishes one "set" event per pair, in order, as Redis does."""
    many = []
    for i in range(40):
        many += ["k%d" % (i % 7), "v%d" % i]
    with Pair() as p:
        p.run_many([("MSET", "m", "1", "o", "2", "m", "3", "m", "4"), ("MGET", "m", "o"),
                    tuple(["MSET"] + many), tuple(["MGET"] + ["k%d" % i for i in range(7)]),
                    ("HSET", "h", "f", "v"), ("MSET", "h", "x", "h", "y"), ("TYPE", "h"), ("GET", "h")])
        events = events_of(p, [("MSET", "e", "1", "f", "2", "e", "3")])
    assert events == [("__keyspace@0__:e", "set"), ("__keyevent@0__:set", "e"),
                      ("__keyspace@0__:f", "set"), ("__keyevent@0__:set", "f"),
                      ("__keyspace@0__:e", "set"), ("__keyevent@0__:set", "e")], events


def test_mset_of_one_key_many_times_writes_it_once():
    """MSET naming one key ten times costs about what naming it once does:
    the earlier values never reach the tree. Each MSET is sent alone (a
    loop turn of its own), so that coalescing across commands of one turn
    (store_coalesce.c) cannot fold them and only MSET's own work counts."""
    with Dredis() as d:
        c = d.client()
        once, tenfold = ("MSET", "k", "v"), tuple(["MSET"] + ["k", "v"] * 10)
        assert c.execute(*once) == "OK"
        costs = []
        for cmd in (once, tenfold):
            before = proc_io(d.proc.pid)
            for _ in range(50):
                assert c.execute(*cmd) == "OK"
            costs.append(proc_io(d.proc.pid)["syscw"] - before["syscw"])
        assert costs[0] >= 50, costs  # each MSET alone writes the value
        assert costs[1] < costs[0] * 2, costs
        c.close()


def test_append_strlen():
    with Pair() as p:
        p.run_many([
            ("APPEND",), ("APPEND", "a"), ("STRLEN",), ("STRLEN", "a", "b"),
            ("APPEND", "ap", "hello"), ("APPEND", "ap", " world"), ("GET", "ap"), ("STRLEN", "ap"),
            ("APPEND", "ap", ""), ("GET", "ap"), ("APPEND", "empty", ""), ("EXISTS", "empty"), ("GET", "empty"),
            ("APPEND", "bin", b"\x00\xff"), ("APPEND", "bin", b"\r\n"), ("GET", "bin"), ("STRLEN", "bin"),
            ("STRLEN", "missing"), ("SET", "n", "10"), ("APPEND", "n", "5"), ("INCR", "n"),
        ])


def test_getrange():
    ranges = [(0, 3), (-3, -1), (0, -1), (10, 100), (5, 3), (-100, -50), (-1, -100), (100, 200), (-100, 100),
              (0, 0), (-1, -1), (11, 11), (10, 10), (-11, -11), (-12, -12), (-5, 5), (3, -100), (0, 9223372036854775807),
              (-9223372036854775808, -1), (-9223372036854775808, 9223372036854775807), ("a", 1), (1, "b"),
              ("1.5", 2), ("", 1)]
    cmds = [("GETRANGE",), ("GETRANGE", "s", "0"), ("GETRANGE", "s", "0", "1", "2"),
            ("SET", "s", "Hello World"), ("SET", "e", "")]
    for a, b in ranges:
        for key in ("s", "e", "missing"):
            cmds.append(("GETRANGE", key, str(a), str(b)))
    with Pair() as p:
        p.run_many(cmds)


def test_setrange():
    with Pair() as p:
        p.run_many([
            ("SETRANGE",), ("SETRANGE", "k", "0"),
            ("SETRANGE", "pad", "5", "x"), ("GET", "pad"), ("SETRANGE", "pad", "0", "ab"), ("GET", "pad"),
            ("SETRANGE", "pad", "3", "LONGER"), ("GET", "pad"), ("SETRANGE", "pad", "20", "!"), ("GET", "pad"),
            ("SETRANGE", "pad", "-1", "x"), ("SETRANGE", "pad", "abc", "x"), ("SETRANGE", "pad", "1.5", "x"),
            ("SETRANGE", "pad", "2", ""), ("GET", "pad"),
            ("SETRANGE", "nokey", "2", ""), ("EXISTS", "nokey"), ("SETRANGE", "nokey", "0", ""), ("EXISTS", "nokey"),
            ("SETRANGE", "nokey", "-1", ""),
            # the 512 MB limit: checked before anything is written
            ("SETRANGE", "big", "536870912", "x"), ("SETRANGE", "big", "536870911", "xy"), ("EXISTS", "big"),
            ("SETRANGE", "pad", "99999999999", ""), ("SETRANGE", "pad", "99999999999", "x"),
            # offset + length must not overflow on the way to the limit check
            ("SETRANGE", "pad", "9223372036854775807", "x"), ("SETRANGE", "pad", "9223372036854775806", "xy"),
            ("SETRANGE", "nokey2", "9223372036854775807", "x"), ("EXISTS", "nokey2"), ("GET", "pad"),
            ("SETRANGE", "bin", "2", b"\x00\xff"), ("GET", "bin"),
            ("SET", "t", "abc", "EX", "100"), ("SETRANGE", "t", "1", "X"), ("GET", "t"), ("TTL", "t"),
        ], normalize=ttl_class)


def test_setrange_near_the_limit_pads_with_zeros():
    # a 1 MB gap is zero-filled (without writing 512 MB in a test)
    with Pair() as p:
        p.run_many([("SETRANGE", "z", "1048576", "end"), ("STRLEN", "z"), ("GETRANGE", "z", "0", "15"),
                    ("GETRANGE", "z", "1048570", "-1")])


INT_VALUES = ["0", "1", "-1", "9223372036854775807", "-9223372036854775808", "abc", "", " 1", "1 ", "+1", "01",
              "1.0", "1e3", "0x10", "-0", "9223372036854775808", "10", "\x001"]
INT_OPS = [("INCR",), ("DECR",), ("INCRBY", "5"), ("DECRBY", "5"), ("INCRBY", "-9223372036854775808"),
           ("DECRBY", "-9223372036854775808"), ("INCRBY", "9223372036854775807"), ("DECRBY", "9223372036854775807"),
           ("INCRBY", "abc"), ("INCRBY", "1.5"), ("INCRBY", ""), ("DECRBY", "-1")]
FLOAT_OPS = [("INCRBYFLOAT", x) for x in ["1.5", "abc", "inf", "-inf", "nan", "1e308", "0", "-0.1", "5.0e3", "3e-20",
                                          " 1", "1 ", "0x10", "", "+1", ".5", "5."]]


def test_incr_decr_matrix():
    cmds = [("INCR",), ("INCR", "a", "b"), ("INCRBY", "a"), ("DECRBY",), ("DECR",), ("INCRBYFLOAT", "a")]
    for v in INT_VALUES:
        for op in INT_OPS:
            cmds += [("SET", "n", v), (op[0], "n") + op[1:], ("GET", "n")]
    for op in INT_OPS:
        cmds += [("DEL", "n"), (op[0], "n") + op[1:], ("GET", "n")]
    with Pair() as p:
        p.run_many(cmds)


def test_incrbyfloat_matrix_and_formatting():
    cmds = []
    for v in INT_VALUES + ["1.1", "10.5", "3.0", "1e10", "1.23456789012345678", "-1.5", "inf", "1e400", "0.1",
                           "1.7976931348623157e308"]:
        for op in FLOAT_OPS:
            cmds += [("SET", "f", v), (op[0], "f") + op[1:], ("GET", "f")]
    cmds += [("DEL", "f"), ("INCRBYFLOAT", "f", "2.5"), ("INCRBYFLOAT", "f", "0.1"), ("INCRBYFLOAT", "f", "-2.6"),
             ("SET", "f", "5"), ("INCRBYFLOAT", "f", "1e-5"), ("INCRBYFLOAT", "f", "-5.00001"),
             ("SET", "f", "1e308"), ("INCRBYFLOAT", "f", "1e308"), ("GET", "f"),
             ("SET", "f", "1"), ("INCRBYFLOAT", "f", "12345678901234567890"),
             ("SET", "f", "0"), ("INCRBYFLOAT", "f", "1e20"), ("INCRBYFLOAT", "f", "0.3333333333333333")]
    with Pair() as p:
        p.run_many(cmds)


def test_modifying_commands_keep_the_ttl_and_set_drops_it():
    cmds = []
    for op in [("INCR", "k"), ("INCRBY", "k", "3"), ("DECR", "k"), ("INCRBYFLOAT", "k", "1.5"), ("APPEND", "k", "1"),
               ("SETRANGE", "k", "0", "7"), ("SET", "k", "1"), ("SET", "k", "1", "KEEPTTL"), ("GETSET", "k", "1"),
               ("MSET", "k", "1"), ("SETEX", "k", "50", "2"), ("GETEX", "k"), ("GETEX", "k", "PERSIST")]:
        cmds += [("SET", "k", "1", "EX", "100"), op, ("TTL", "k")]
    with Pair() as p:
        p.run_many(cmds, normalize=ttl_class)


# Keys of the other types, made in dredis by writing the tree (the string
# commands must not care what else is in a key's directory) and in Redis
# with the type's own command.
OTHER_TYPES = {
    "hash": ("HSET", "f", "v"),
    "list": ("RPUSH", "a"),
    "set": ("SADD", "a"),
    "zset": ("ZADD", "1", "a"),
}


def make_foreign_keys(p, names_types):
    p.d.close()
    p.dredis.stop()
    for name, typ in names_types:
        p.r.execute("DEL", name)
        cmd = OTHER_TYPES[typ]
        p.r.execute(cmd[0], name, *cmd[1:])
        kd = os.path.join(p.dredis.db_dir(0), name)
        shutil.rmtree(kd, ignore_errors=True)
        os.makedirs(os.path.join(kd, "members"))
        with open(os.path.join(kd, "type"), "w") as f:
            f.write(typ)
        with open(os.path.join(kd, "len"), "w") as f:
            f.write("1")
        with open(os.path.join(kd, "members", "a"), "w") as f:
            f.write("1")
    p.dredis.start()
    p.d = p.dredis.client()


def test_wrongtype_errors():
    reads_and_writes = [
        ("GET", "w"), ("GETSET", "w", "x"), ("GETDEL", "w"), ("GETEX", "w"), ("GETEX", "w", "EX", "abc"),
        ("GETEX", "w", "PERSIST"), ("SET", "w", "v", "GET"), ("SET", "w", "v", "NX", "GET"),
        ("SET", "w", "v", "XX", "GET"), ("SET", "w", "v", "NX"), ("SETNX", "w", "v"), ("SETRANGE", "w", "0", "x"),
        ("SETRANGE", "w", "0", ""), ("SETRANGE", "w", "-1", "x"), ("GETRANGE", "w", "0", "-1"),
        ("GETRANGE", "w", "a", "b"), ("APPEND", "w", "x"), ("STRLEN", "w"), ("INCR", "w"), ("DECR", "w"),
        ("INCRBY", "w", "2"), ("INCRBY", "w", "x"), ("DECRBY", "w", "2"), ("INCRBYFLOAT", "w", "1.5"),
        ("INCRBYFLOAT", "w", "x"), ("MGET", "w", "nokey"), ("MSETNX", "w", "1", "zz", "2"), ("EXISTS", "zz"),
        ("EXISTS", "w"), ("TYPE", "w"), ("EXPIRE", "w", "100"), ("TTL", "w"), ("PERSIST", "w"), ("TTL", "w"),
        ("KEYS", "w"), ("SCAN", "0", "TYPE", "string"), ("SCAN", "0", "TYPE", "TYPENAME", "COUNT", "100"),
        ("RENAME", "w", "w2"), ("TYPE", "w2"), ("RENAME", "w2", "w"),
        ("SET", "w", "v", "XX", "KEEPTTL"), ("TYPE", "w"), ("GET", "w"),
    ]
    for typ in OTHER_TYPES:
        with Pair() as p:
            make_foreign_keys(p, [("w", typ)])
            replies = p.run_many([tuple(typ if a == "TYPENAME" else a for a in c) for c in reads_and_writes])
            assert replies[0] == WRONGTYPE
            assert [b"0", [b"w"]] in replies


def test_writes_replace_keys_of_other_types():
    finals = [("SET", "w", "new"), ("MSET", "w", "m"), ("SET", "w", "v", "EX", "100"), ("SET", "w", "v", "XX"),
              ("DEL", "w"), ("UNLINK", "w"), ("SET", "w", "v", "KEEPTTL"), ("RENAME", "zz", "w"),
              ("SET", "w", "v", "GET")]
    with Pair() as p:
        for final in finals:
            make_foreign_keys(p, [("w", "hash")])
            p.run_many([("SET", "zz", "1"), ("EXPIRE", "w", "1000"), final, ("TYPE", "w"), ("GET", "w"),
                        ("TTL", "w"), ("DBSIZE",)], normalize=ttl_class)
        # nothing of the old key is left behind in the new one
        make_foreign_keys(p, [("w", "zset")])
        p.run_many([("EXPIRE", "w", "1000"), ("SET", "w", "plain"), ("TTL", "w")])
        assert sorted(os.listdir(os.path.join(p.dredis.db_dir(0), "w"))) == ["type", "value"]


def test_small_values_cached_in_memory_follow_every_change():
    """dredis keeps a string's value in memory when it is small (64 bytes
    or less, store_meta.c's metadata cache); every way of changing it, and of
    changing the key around it, must leave the next read agreeing with
    Redis."""
    with Pair() as p:
        def warm(*keys):
            for k in keys:
                p.run("GET", k)
                p.run("STRLEN", k)

        p.run("SET", "k", "10")
        for cmd in [("INCR", "k"), ("INCRBY", "k", 5), ("DECR", "k"), ("INCRBYFLOAT", "k", "1.5"),
                    ("APPEND", "k", "x"), ("SETRANGE", "k", 1, "ab"), ("SETRANGE", "k", 70, "far"),
                    ("SET", "k", "short"), ("APPEND", "k", "y" * 60), ("SET", "k", "1"), ("SETBIT", "k", 1, 1),
                    ("SETBIT", "k", 700, 1), ("SET", "k", "z"), ("BITFIELD", "k", "SET", "u8", 0, 65),
                    ("GETSET", "k", "g"), ("SET", "k", "s", "GET"), ("GETDEL", "k"), ("SET", "k", "back"),
                    ("GETEX", "k", "PX", 100000), ("SETEX", "k", 100, "ex"), ("PSETEX", "k", 100000, "pex"),
                    ("MSET", "k", "m1", "o", "m2"), ("MSETNX", "k", "no", "n", "no"), ("SETNX", "k", "no"),
                    ("SET", "k", "xx", "XX"), ("SET", "k", "nx", "NX"), ("LCS", "k", "o"),
                    ("EVAL", "redis.call('SET', KEYS[1], 'lua'); return redis.call('GET', KEYS[1])", 1, "k"),
                    ("PFADD", "k2", "a"), ("RENAME", "o", "k"), ("COPY", "k2", "k", "REPLACE")]:
            warm("k")
            p.run(*cmd)
            warm("k")
        # a key replaced under the cached one: RENAME, MOVE, SWAPDB, FLUSHDB
        p.run("SET", "a", "aaa")
        p.run("SET", "b", "bbb")
        warm("a", "b")
        p.run("RENAME", "a", "b")
        warm("a", "b")
        p.run("MOVE", "b", 1)
        warm("b")
        p.run("SET", "b", "db0")
        p.run("SWAPDB", 0, 1)
        warm("b")
        p.run("FLUSHDB")
        warm("b")
        p.run("SET", "b", "1")
        p.run("MULTI")
        p.run("INCR", "b")
        p.run("APPEND", "b", "0")
        p.run("INCR", "b")
        p.run("EXEC")
        warm("b")
        dump = p.dredis.client().execute("DUMP", "b")
        p.run("SET", "c", "other")
        warm("c")
        p.run("RESTORE", "c", 0, dump, "REPLACE")
        warm("c")
        p.run("PEXPIRE", "c", 1)
        time.sleep(0.05)
        warm("c")


def test_counter_reads_no_file_when_hot():
    """INCR and GET of a small value used just before read no file: a
    thousand of each read a handful of times (the socket), not thousands."""
    with Dredis() as d:
        c = d.client()
        c.execute("SET", "n", "0")
        assert c.execute("GET", "n") == b"0"
        for cmds in ([("INCR", "n")] * 1000, [("GET", "n")] * 1000, [("STRLEN", "n")] * 1000):
            before = proc_io(d.proc.pid)
            replies = c.pipeline(cmds)
            after = proc_io(d.proc.pid)
            assert not any(isinstance(r, RespError) for r in replies), replies
            reads = after["syscr"] - before["syscr"]
            assert reads < 100, (cmds[0][0], reads)
        assert c.execute("GET", "n") == b"1000"
        c.close()
        d.stop()
        with open(os.path.join(d.db_dir(0), "n", "value"), "rb") as f:
            assert f.read() == b"1000"
