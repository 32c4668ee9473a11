"""Keyspace notifications (notify-keyspace-events): CONFIG SET/GET and
DREDIS_NOTIFY_KEYSPACE_EVENTS, and the events every command publishes.

Each event test runs the same commands against dredis and a real
redis-server 7.0 with a subscriber on __key*__:* on each, and asserts that
the two subscribers received the same messages in the same order (the
commands' replies are compared too). The subscriber also listens on a
channel of its own: a PUBLISH there after the commands marks the end of
what they published."""
import time

from conn_util import read_raw
from dredis_test import Dredis, Pair, RespError, wait_until
from test_config import assert_refused

END = "notify-test-end"
ALL = "KEA"            # every class but 'n' and 'm'
ALL_NEW = "KEAn"       # ... with the "new" events
KEYMISS = "KEm"


class Subscriber:
    """A client of one server subscribed to every keyspace and keyevent
    channel (in RESP2, or RESP3 where messages are push messages)."""

    def __init__(self, server, pattern="__key*__:*", resp3=False):
        self.c = server.client()
        if resp3:
            self.c.execute("HELLO", "3")
        self.c.send("PSUBSCRIBE", pattern)
        self.c.read_reply()
        self.c.send("SUBSCRIBE", END)
        self.c.read_reply()
        self.raw = []

    def collect(self, publisher):
        """The (channel, message) pairs received before publisher's
        PUBLISH on the end channel."""
        publisher.execute("PUBLISH", END, "end")
        out = []
        while True:
            m = self.c.read_reply()
            self.raw.append(m)
            if m[0] == "push":
                m = m[1:]
            if m[0] == b"message" and m[1] == END.encode():
                return out
            assert m[0] == b"pmessage", m
            out.append((m[2].decode(), m[3].decode()))

    def close(self):
        self.c.close()


def set_flags(p, flags):
    assert p.run("CONFIG", "SET", "notify-keyspace-events", flags) == "OK"


def events_of(p, commands, flags=ALL, setup=(), normalize=None, subscribers=None, ordered=True):
    """Run setup (notifications off), then commands with flags on, on both
    servers; assert both published the same events (in the same order unless
    not ordered) and return them."""
    set_flags(p, "")
    if setup:
        p.run_many(setup)
    set_flags(p, flags)
    subs = subscribers or (Subscriber(p.dredis), Subscriber(p.redis))
    try:
        p.run_many(commands, normalize)
        d = subs[0].collect(p.d)
        r = subs[1].collect(p.r)
    finally:
        if not subscribers:
            for s in subs:
                s.close()
    if not ordered:
        d, r = sorted(d), sorted(r)
    assert_same(d, r)
    return d


def assert_same(d, r):
    for i, (x, y) in enumerate(zip(d, r)):
        assert x == y, "event %d differs: dredis %r, redis %r\ndredis: %r\nredis:  %r" % (i, x, y, d, r)
    assert len(d) == len(r), "dredis published %d events, redis %d:\ndredis: %r\nredis:  %r" % (
        len(d), len(r), d, r)


def keyevents(events):
    """Only the __keyevent@ messages, as (event, key)."""
    return [(ch.split(":", 1)[1], msg) for ch, msg in events if ch.startswith("__keyevent@")]


def DebugPair():
    """A Pair whose redis-server allows DEBUG (SET-ACTIVE-EXPIRE)."""
    return Pair(redis_args=("--enable-debug-command", "yes"))


def compare(commands, flags=ALL_NEW, setup=(), normalize=None):
    with Pair() as p:
        return events_of(p, commands, flags, setup, normalize)


# ---------------------------------------------------------------------------
# CONFIG SET / GET and the environment variable
# ---------------------------------------------------------------------------

def test_config_set_get_canonical_strings():
    with Pair() as p:
        assert p.run("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b""]
        for flags in ("KEA", "AKE", "KEAn", "KEAnm", "Ex", "gn", "nK", "$lshzxetd", "glshz$xetdnKEm", "Km",
                      "A", "K", "E", "m", "n", "d", "e", "t", "AAA", "KKEE", "gg$", "Ag", "KEg$lshzxetdnm", ""):
            set_flags(p, flags)
            p.run("CONFIG", "GET", "notify-keyspace-events")
        set_flags(p, "KEA")
        assert p.run("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKE"]
        # several parameters at once, and the pattern form of CONFIG GET
        p.run("CONFIG", "SET", "notify-keyspace-events", "Kl", "timeout", "0")
        p.run("CONFIG", "GET", "notify-*")


def test_config_set_invalid_strings():
    with Pair() as p:
        set_flags(p, "Kg")
        for bad in ("KEA!", "K E", "x1", "a", "k", "KEAN", "M", "?", "A,K", " ", "\xff"):
            r = p.run("CONFIG", "SET", "notify-keyspace-events", bad)
            assert isinstance(r, RespError), bad
            assert r.message == ("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
                                 "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
        assert p.run("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"gK"]
        # an invalid value among others applies none of them
        r = p.run("CONFIG", "SET", "notify-keyspace-events", "KEA", "maxclients", "nope")
        assert isinstance(r, RespError)
        p.run("CONFIG", "GET", "notify-keyspace-events")
        r = p.run("CONFIG", "SET", "timeout", "7", "notify-keyspace-events", "Q")
        assert isinstance(r, RespError)
        p.run("CONFIG", "GET", "timeout")
        p.run("CONFIG", "SET", "notify-keyspace-events")


def test_environment_variable():
    with Dredis(env={"DREDIS_NOTIFY_KEYSPACE_EVENTS": "KEA"}) as s, s.client() as c:
        assert c.execute("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"AKE"]
        sub = Subscriber(s)
        c.execute("SET", "k", "v")
        assert sub.collect(c) == [("__keyspace@0__:k", "set"), ("__keyevent@0__:set", "k")]
        sub.close()
        # CONFIG SET changes it at run time
        assert c.execute("CONFIG", "SET", "notify-keyspace-events", "") == "OK"
        sub = Subscriber(s)
        c.execute("SET", "k", "w")
        assert sub.collect(c) == []
        sub.close()
        # the variable is known: no "unknown setting" warning
        assert "DREDIS_NOTIFY" not in s.output()
    with Dredis(env={"DREDIS_NOTIFY_KEYSPACE_EVENTS": "Elg$"}) as s, s.client() as c:
        assert c.execute("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b"g$lE"]
    with Dredis(env={"DREDIS_NOTIFY_KEYSPACE_EVENTS": ""}) as s, s.client() as c:
        assert c.execute("CONFIG", "GET", "notify-keyspace-events") == [b"notify-keyspace-events", b""]


def test_environment_variable_bad_values():
    for bad in ("KEA!", "yes", "K E", "1"):
        assert_refused({"DREDIS_NOTIFY_KEYSPACE_EVENTS": bad}, ["DREDIS_NOTIFY_KEYSPACE_EVENTS", bad])


# ---------------------------------------------------------------------------
# Which events are sent
# ---------------------------------------------------------------------------

WRITES = [("SET", "s", "1"), ("INCR", "s"), ("LPUSH", "l", "a"), ("SADD", "st", "a"), ("HSET", "h", "f", "v"),
          ("ZADD", "z", "1", "a"), ("XADD", "x", "1-1", "f", "v"), ("EXPIRE", "s", "100"), ("DEL", "l"),
          ("GET", "missing"), ("RPOP", "nolist")]


def test_no_events_when_off():
    for flags in ("", "K", "E", "KE", "g$lshzxetd", "Ax", "n", "m"):
        assert compare(WRITES, flags=flags) == [], flags


def test_classes_select_events():
    for flags in ("Kl", "El", "K$", "Eg", "Ks", "Eh", "Kz", "Et", "KEn", "KEm", "Km", "K$lE", "AK", "EA",
                  "KEAnm"):
        compare(WRITES, flags=flags)


def test_keyspace_and_keyevent_channels():
    events = compare([("SET", "k", "v")], flags="KEA")
    assert events == [("__keyspace@0__:k", "set"), ("__keyevent@0__:set", "k")]
    assert compare([("SET", "k", "v")], flags="K$") == [("__keyspace@0__:k", "set")]
    assert compare([("SET", "k", "v")], flags="E$") == [("__keyevent@0__:set", "k")]


def test_other_databases_and_binary_keys():
    compare([("SELECT", "5"), ("SET", "k", "v"), ("MOVE", "k", "9"), ("SELECT", "9"), ("DEL", "k"),
             ("SET", "bin\x00key\xff", "v"), ("SET", "a:b:c", "1"), ("SET", "*?[]", "1"), ("SELECT", "0")])


def test_resp3_subscriber_gets_push_messages():
    with Pair() as p:
        set_flags(p, ALL_NEW)
        subs = (Subscriber(p.dredis, resp3=True), Subscriber(p.redis, resp3=True))
        events_of(p, [("SET", "k", "v"), ("LPUSH", "l", "a", "b"), ("DEL", "k", "l")], flags=ALL_NEW,
                  subscribers=subs)
        assert subs[0].raw == subs[1].raw
        assert subs[0].raw[0] == ["push", b"pmessage", b"__key*__:*", b"__keyspace@0__:k", b"new"]


def test_resp3_client_subscribed_to_its_own_events():
    """A RESP3 client subscribed to the events of its own commands gets each
    message before the reply of the command that published it, also when
    the reply is built aside (SCAN deleting an expired key)."""
    with DebugPair() as p:
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        set_flags(p, "KEA")
        p.run("SET", "k", "v", "PX", "1")
        time.sleep(0.02)
        out = []
        for server in (p.dredis, p.redis):
            with server.client() as c:
                c.execute("HELLO", "3")
                c.send("PSUBSCRIBE", "__key*__:*")
                c.read_reply()
                got = []
                for cmd in (("SET", "a", "1"), ("SCAN", "0"), ("DEL", "a")):
                    c.send(*cmd)
                    got.append([read_raw(c) for _ in range(3)])
                out.append(got)
        assert out[0] == out[1], out
        assert out[0][1][2] == b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n"


def test_subscribe_to_one_channel():
    with Pair() as p:
        set_flags(p, ALL)
        subs = (Subscriber(p.dredis, pattern="__keyevent@0__:del"), Subscriber(p.redis, pattern="__keyevent@0__:del"))
        events = events_of(p, [("SET", "a", "1"), ("SET", "b", "1"), ("DEL", "a", "b", "c")], subscribers=subs)
        assert events == [("__keyevent@0__:del", "a"), ("__keyevent@0__:del", "b")]


# ---------------------------------------------------------------------------
# Generic commands
# ---------------------------------------------------------------------------

def test_generic_events():
    events = compare([
        ("SET", "a", "1"), ("SET", "b", "2"), ("DEL", "a", "b", "nosuch"), ("UNLINK", "nosuch"),
        ("SET", "a", "1"), ("UNLINK", "a"),
        ("SET", "src", "v"), ("RENAME", "src", "dst"), ("RENAME", "dst", "dst"), ("RENAME", "nosuch", "x"),
        ("SET", "other", "1"), ("RENAME", "dst", "other"), ("RENAMENX", "other", "dst"), ("SET", "x", "1"),
        ("RENAMENX", "dst", "x"),
        ("MOVE", "dst", "3"), ("MOVE", "dst", "3"), ("MOVE", "x", "0"),
        ("COPY", "x", "y"), ("COPY", "x", "y"), ("COPY", "x", "y", "REPLACE"), ("COPY", "x", "z", "DB", "2"),
        ("COPY", "nosuch", "z"),
        ("EXPIRE", "x", "100"), ("PEXPIRE", "x", "100000"), ("EXPIREAT", "x", "4000000000"),
        ("PEXPIREAT", "x", "4000000000000"), ("EXPIRE", "x", "50", "NX"), ("EXPIRE", "x", "50", "XX"),
        ("EXPIRE", "x", "10", "GT"), ("EXPIRE", "x", "10", "LT"), ("EXPIRE", "nosuch", "10"),
        ("PERSIST", "x"), ("PERSIST", "x"), ("PERSIST", "nosuch"),
        ("EXPIRE", "x", "0"), ("SET", "y", "1"), ("PEXPIRE", "y", "-5"), ("SET", "y", "1"),
        ("EXPIREAT", "y", "1"),
        ("SET", "t", "1"), ("TOUCH", "t", "nosuch"), ("TYPE", "t"), ("EXISTS", "t"),
    ])
    assert ("__keyevent@0__:rename_from", "src") in events
    assert ("__keyevent@3__:move_to", "dst") in events


def test_restore_events():
    with Pair() as p:
        p.run("SET", "s", "value")
        p.run("RPUSH", "l", "a", "b")
        dump_s = p.d.execute("DUMP", "s")
        dump_l = p.d.execute("DUMP", "l")
        events_of(p, [("RESTORE", "r1", "0", dump_s), ("RESTORE", "r1", "0", dump_s),
                      ("RESTORE", "r1", "0", dump_l, "REPLACE"), ("RESTORE", "r2", "100000", dump_l),
                      ("RESTORE", "r2", "1", dump_s, "REPLACE", "ABSTTL"), ("RESTORE", "r3", "1", dump_s, "ABSTTL"),
                      ("EXISTS", "r2", "r3")], flags=ALL_NEW)


def test_flushdb_flushall_swapdb_send_nothing():
    events = compare([("SET", "a", "1"), ("SELECT", "1"), ("SET", "b", "1"), ("SWAPDB", "0", "1"),
                      ("FLUSHDB",), ("SELECT", "0"), ("FLUSHALL",), ("FLUSHALL", "ASYNC"), ("FLUSHDB", "SYNC")])
    assert keyevents(events) == [("new", "a"), ("set", "a"), ("new", "b"), ("set", "b")]


# ---------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------

def test_string_events():
    compare([
        ("SET", "a", "1"), ("SET", "a", "2"), ("SET", "a", "3", "NX"), ("SET", "a", "4", "XX"),
        ("SET", "b", "1", "XX"), ("SET", "b", "1", "GET"), ("SET", "b", "2", "GET"), ("SET", "c", "1", "EX", "100"),
        ("SET", "c", "1", "PX", "100000", "GET"), ("SET", "c", "2", "KEEPTTL"), ("SET", "d", "1", "EXAT", "4000000000"),
        ("SET", "d", "1", "PXAT", "4000000000000"), ("SET", "e", "1", "EX", "0"),
        ("SETNX", "a", "x"), ("SETNX", "f", "x"), ("SETEX", "g", "100", "v"), ("PSETEX", "g", "100000", "w"),
        ("GETSET", "g", "x"), ("GETSET", "h", "x"),
        ("MSET", "m1", "1", "m2", "2", "a", "3"), ("MSETNX", "n1", "1", "n2", "2"), ("MSETNX", "n2", "1", "n3", "2"),
        ("APPEND", "a", "xyz"), ("APPEND", "ap", "new"),
        ("SETRANGE", "a", "1", "Q"), ("SETRANGE", "sr", "3", "abc"), ("SETRANGE", "sr2", "3", ""),
        ("SETRANGE", "a", "0", ""),
        ("INCR", "i"), ("INCR", "i"), ("DECR", "i"), ("INCRBY", "i", "10"), ("DECRBY", "i", "3"), ("DECR", "j"),
        ("INCRBY", "a", "1"), ("INCRBYFLOAT", "i", "1.5"), ("INCRBYFLOAT", "fl", "2.5"),
        ("GETDEL", "a"), ("GETDEL", "a"),
        ("GETEX", "m1"), ("GETEX", "m1", "EX", "100"), ("GETEX", "m1", "PX", "100000"),
        ("GETEX", "m1", "EXAT", "4000000000"), ("GETEX", "m1", "PERSIST"), ("GETEX", "m1", "PERSIST"),
        ("GETEX", "m1", "PXAT", "1"), ("GETEX", "m2", "EXAT", "1"), ("GETEX", "nosuch", "EX", "10"),
        ("SET", "l", "x"), ("LPUSH", "lst", "a"), ("SET", "lst", "now a string"),
    ])


def test_bit_events():
    compare([
        ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "0"), ("SETBIT", "b", "100", "0"),
        ("GETBIT", "nosuch", "1"), ("BITCOUNT", "b"),
        ("BITFIELD", "f", "SET", "u8", "0", "255"), ("BITFIELD", "f", "GET", "u8", "0"),
        ("BITFIELD", "f", "INCRBY", "u8", "0", "1"), ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"),
        ("BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"), ("BITFIELD", "h", "GET", "u8", "0"),
        ("BITFIELD_RO", "f", "GET", "u8", "0"),
        ("SET", "x", "ab"), ("SET", "y", "cd"), ("BITOP", "AND", "dst", "x", "y"), ("BITOP", "OR", "dst", "x", "y"),
        ("BITOP", "NOT", "dst2", "nosuch"), ("BITOP", "XOR", "dst", "nosuch", "nosuch2"), ("LPUSH", "l", "a"),
        ("BITOP", "OR", "l", "x"),
    ], flags=ALL_NEW + "m")


def test_hyperloglog_events():
    compare([
        ("PFADD", "h", "a", "b"), ("PFADD", "h", "a"), ("PFADD", "h"), ("PFADD", "new-empty"),
        ("PFCOUNT", "h"), ("PFCOUNT", "nosuch"), ("PFADD", "h2", "c"),
        ("PFMERGE", "m", "h", "h2"), ("PFMERGE", "m", "h"), ("PFMERGE", "m2", "nosuch"),
        ("SET", "s", "not an hll"), ("PFADD", "s", "x"), ("PFMERGE", "m", "s"),
    ], flags=ALL_NEW + "m")


def test_sort_store_events():
    compare([
        ("RPUSH", "l", "3", "1", "2"), ("SORT", "l", "STORE", "dst"), ("SORT", "l", "STORE", "dst"),
        ("SORT", "nosuch", "STORE", "dst"), ("SORT", "nosuch", "STORE", "dst"), ("SORT", "l"),
        ("SADD", "s", "b", "a"), ("SORT", "s", "ALPHA", "STORE", "dst2"),
    ], flags=ALL_NEW + "m")
    # an expired destination: "expired" first, then a new key
    with DebugPair() as p:
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        set_flags(p, "")
        p.run_many([("RPUSH", "l", "3", "1", "2"), ("SET", "exp", "x", "PX", "30"), ("SET", "exp2", "x", "PX", "30")])
        time.sleep(0.05)
        events = events_of(p, [("SORT", "l", "STORE", "exp"), ("SORT", "nosuch", "STORE", "exp2")], ALL_NEW)
        assert keyevents(events)[:3] == [("expired", "exp"), ("new", "exp"), ("sortstore", "exp")], events


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------

def test_list_events():
    compare([
        ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d"), ("LPUSHX", "l", "x"), ("RPUSHX", "l", "y"),
        ("LPUSHX", "nosuch", "x"), ("RPUSHX", "nosuch", "x"),
        ("LSET", "l", "0", "X"), ("LSET", "l", "99", "X"),
        ("LINSERT", "l", "BEFORE", "a", "ins"), ("LINSERT", "l", "AFTER", "nopivot", "ins"),
        ("LREM", "l", "0", "ins"), ("LREM", "l", "0", "nothere"),
        ("LTRIM", "l", "0", "-1"), ("LTRIM", "l", "1", "3"), ("LTRIM", "nosuch", "0", "1"),
        ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "0"), ("RPOP", "nosuch"), ("LPOP", "l", "5"),
        ("RPUSH", "l2", "a", "b", "c"), ("RPOP", "l2", "2"), ("LPOP", "l2"),
        ("RPUSH", "t", "a", "b"), ("LTRIM", "t", "5", "10"),
        ("RPUSH", "r", "a", "a"), ("LREM", "r", "0", "a"),
        ("RPUSH", "s1", "a", "b"), ("RPOPLPUSH", "s1", "d1"), ("RPOPLPUSH", "s1", "d1"), ("RPOPLPUSH", "s1", "d1"),
        ("LMOVE", "d1", "d2", "LEFT", "RIGHT"), ("LMOVE", "d1", "d1", "LEFT", "RIGHT"),
        ("LMOVE", "d1", "d1", "RIGHT", "RIGHT"), ("LMOVE", "d1", "d2", "RIGHT", "LEFT"),
        ("RPUSH", "one", "x"), ("LMOVE", "one", "one", "LEFT", "LEFT"), ("RPOPLPUSH", "one", "one"),
        ("LMPOP", "2", "nosuch", "d2", "LEFT", "COUNT", "1"), ("LMPOP", "1", "d2", "RIGHT", "COUNT", "5"),
        ("RPUSH", "b1", "x", "y"), ("BLPOP", "nosuch", "b1", "0"), ("BRPOP", "b1", "0"),
        ("RPUSH", "b2", "x", "y"), ("BLMOVE", "b2", "b3", "LEFT", "LEFT", "0"), ("BRPOPLPUSH", "b2", "b3", "0"),
        ("BLMPOP", "0", "1", "b3", "LEFT", "COUNT", "10"),
        ("LRANGE", "b3", "0", "-1"), ("LLEN", "b3"),
    ])


def blocked_clients(c):
    info = c.execute("INFO", "clients").decode()
    return int(info.split("blocked_clients:")[1].split("\r\n")[0])


def served_alike(p, block, write):
    """On each server, a new client sends the blocking command block, the
    pair's client then sends write, which serves it: the two replies of the
    blocked clients must be equal."""
    replies = []
    for server, c in ((p.dredis, p.d), (p.redis, p.r)):
        with server.client() as b:
            b.send(*block)
            wait_until(lambda: blocked_clients(c) == 1, what="the client to block")
            c.execute(*write)
            replies.append(b.read_reply())
    assert replies[0] == replies[1], (block, replies)


def test_blocked_pops_served_by_a_push():
    """A client blocked in BLPOP / BRPOP / BLMOVE / BLMPOP / BZPOPMIN /
    BZPOPMAX / BZMPOP, served when another adds: the addition's events, then
    the pop's (and "del")."""
    with Pair() as p:
        set_flags(p, ALL_NEW)
        subs = (Subscriber(p.dredis), Subscriber(p.redis))
        for block, push in ((("BLPOP", "q", "0"), ("RPUSH", "q", "a")),
                            (("BRPOP", "q", "other", "0"), ("LPUSH", "q", "a", "b")),
                            (("BLMOVE", "q2", "dst", "RIGHT", "LEFT", "0"), ("RPUSH", "q2", "a")),
                            (("BRPOPLPUSH", "q3", "dst", "0"), ("RPUSH", "q3", "a", "b")),
                            (("BLMPOP", "0", "2", "x", "q4", "LEFT", "COUNT", "2"), ("RPUSH", "q4", "a", "b", "c")),
                            (("BZPOPMIN", "zq", "0"), ("ZADD", "zq", "1", "a")),
                            (("BZPOPMAX", "zq", "zq0", "0"), ("ZADD", "zq", "1", "a", "2", "b")),
                            (("BZMPOP", "0", "1", "zq2", "MAX", "COUNT", "2"), ("ZADD", "zq2", "1", "a", "2", "b"))):
            served_alike(p, block, push)
        events = events_of(p, [("LRANGE", "dst", "0", "-1")], flags=ALL_NEW, subscribers=subs)
        assert ("__keyevent@0__:lpop", "q") in events


def test_blocked_pop_stays_blocked_when_its_key_becomes_another_type():
    """A transaction that leaves the key a string does not serve (nor fail)
    the client blocked on it: it waits on, as in Redis, until a list (or
    sorted set) comes."""
    with Pair() as p:
        for block, retype, serve in ((("BLPOP", "k", "0"), ("SET", "k", "str"), ("RPUSH", "k", "a")),
                                     (("BZPOPMIN", "z", "0"), ("SET", "z", "str"), ("ZADD", "z", "1", "m"))):
            replies = []
            for server, c in ((p.dredis, p.d), (p.redis, p.r)):
                with server.client() as b:
                    b.send(*block)
                    wait_until(lambda: blocked_clients(c) == 1, what="the client to block")
                    c.pipeline([("MULTI",), (serve[0],) + serve[1:], ("DEL", block[1]), retype, ("EXEC",)])
                    assert blocked_clients(c) == 1, "the retyped key served or failed the blocked client"
                    c.execute("DEL", block[1])
                    c.execute(*serve)
                    replies.append(b.read_reply())
            assert replies[0] == replies[1], (block, replies)


# ---------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------

def test_hash_events():
    compare([
        ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HMSET", "h", "c", "3"),
        ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "d", "4"), ("HSETNX", "h2", "a", "1"),
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-2"), ("HINCRBY", "h", "a", "x"),
        ("HINCRBY", "h", "b", "9223372036854775807"), ("HINCRBY", "h3", "n", "1"),
        ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBYFLOAT", "h4", "f", "2"), ("HINCRBYFLOAT", "h", "a", "1e400"),
        ("HDEL", "h", "a", "nosuch"), ("HDEL", "h", "nosuch"), ("HDEL", "nosuch", "a"),
        ("HDEL", "h", "b", "c", "d", "n", "f"), ("HDEL", "h2", "a"),
        ("HGET", "h3", "n"), ("HGETALL", "h4"),
    ])


# ---------------------------------------------------------------------------
# Sets
# ---------------------------------------------------------------------------

def test_set_events():
    compare([
        ("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SADD", "s", "a", "d"),
        ("SREM", "s", "nosuch"), ("SREM", "s", "a", "nosuch"), ("SREM", "nosuch", "a"),
        ("SADD", "one", "x"), ("SPOP", "one"), ("SPOP", "one"), ("SADD", "one", "x"), ("SPOP", "one", "0"),
        ("SPOP", "one", "1"), ("SADD", "two", "x", "y"), ("SPOP", "two", "5"), ("SPOP", "nosuch", "2"),
        ("SADD", "src", "m", "n"), ("SMOVE", "src", "dst", "m"), ("SMOVE", "src", "dst", "nosuch"),
        ("SADD", "dst", "n"), ("SMOVE", "src", "dst", "n"), ("SMOVE", "dst", "dst", "n"),
        ("SMOVE", "nosuch", "dst", "n"), ("SADD", "s3", "q"), ("SMOVE", "dst", "s3", "m"),
        ("SADD", "A", "1", "2", "3"), ("SADD", "B", "2", "3", "4"),
        ("SINTERSTORE", "i", "A", "B"), ("SINTERSTORE", "i", "A", "B"), ("SINTERSTORE", "i", "A", "nosuch"),
        ("SINTERSTORE", "i", "A", "nosuch"), ("SUNIONSTORE", "u", "A", "B", "nosuch"),
        ("SUNIONSTORE", "u", "nosuch"), ("SDIFFSTORE", "d", "A", "B"), ("SDIFFSTORE", "d", "A", "A"),
        ("SDIFFSTORE", "A", "A", "B"), ("SINTERSTORE", "B", "B", "B"),
        ("SMEMBERS", "A"), ("SCARD", "B"),
    ], normalize=lambda cmd, r: sorted(r) if isinstance(r, (list, set)) else r)


# ---------------------------------------------------------------------------
# Sorted sets
# ---------------------------------------------------------------------------

def test_zset_events():
    compare([
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "5", "a"),
        ("ZADD", "z", "NX", "9", "a"), ("ZADD", "z", "XX", "9", "new"), ("ZADD", "z2", "XX", "1", "a"),
        ("ZADD", "z", "GT", "1", "a"), ("ZADD", "z", "LT", "1", "a"), ("ZADD", "z", "CH", "7", "a", "1", "d"),
        ("ZADD", "z", "INCR", "1", "a"), ("ZADD", "z", "INCR", "0", "a"), ("ZADD", "z", "NX", "INCR", "1", "a"),
        ("ZINCRBY", "z", "2", "b"), ("ZINCRBY", "z3", "2", "b"),
        ("ZREM", "z", "nosuch"), ("ZREM", "z", "d", "nosuch"), ("ZREM", "z3", "b"), ("ZREM", "nosuch", "a"),
        ("ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"),
        ("ZREMRANGEBYRANK", "r", "0", "0"), ("ZREMRANGEBYRANK", "r", "10", "20"),
        ("ZREMRANGEBYSCORE", "r", "2", "3"), ("ZREMRANGEBYSCORE", "r", "100", "200"),
        ("ZADD", "lex", "0", "a", "0", "b", "0", "c"), ("ZREMRANGEBYLEX", "lex", "[a", "[b"),
        ("ZREMRANGEBYLEX", "lex", "[x", "[z"), ("ZREMRANGEBYLEX", "lex", "-", "+"),
        ("ZREMRANGEBYRANK", "r", "0", "-1"),
        ("ZADD", "p", "1", "a", "2", "b", "3", "c"), ("ZPOPMIN", "p"), ("ZPOPMAX", "p", "1"), ("ZPOPMIN", "p", "0"),
        ("ZPOPMAX", "p", "5"), ("ZPOPMIN", "nosuch"),
        ("ZADD", "p", "1", "a", "2", "b"), ("ZMPOP", "2", "nosuch", "p", "MIN"), ("ZMPOP", "1", "p", "MAX", "COUNT", "9"),
        ("ZADD", "p", "1", "a", "2", "b"), ("BZPOPMIN", "p", "0"), ("BZPOPMAX", "p", "0"),
        ("ZADD", "p", "1", "a"), ("BZMPOP", "0", "1", "p", "MIN"),
        ("ZADD", "A", "1", "a", "2", "b"), ("ZADD", "B", "3", "b", "4", "c"), ("SADD", "S", "a", "c"),
        ("ZUNIONSTORE", "u", "2", "A", "B"), ("ZUNIONSTORE", "u", "2", "A", "S"), ("ZUNIONSTORE", "u", "1", "nosuch"),
        ("ZINTERSTORE", "i", "2", "A", "B"), ("ZINTERSTORE", "i", "2", "A", "nosuch"),
        ("ZDIFFSTORE", "d", "2", "A", "B"), ("ZDIFFSTORE", "d", "2", "A", "A"),
        ("ZRANGESTORE", "rs", "A", "0", "-1"), ("ZRANGESTORE", "rs", "B", "0", "0"), ("ZRANGESTORE", "rs", "A", "5", "9"),
        ("ZRANGESTORE", "rs2", "nosuch", "0", "-1"), ("ZUNIONSTORE", "A", "2", "A", "B"),
        ("ZRANGE", "A", "0", "-1", "WITHSCORES"), ("ZCARD", "B"),
    ])


# ---------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------

def test_stream_events():
    compare([
        ("XADD", "s", "1-1", "f", "1"), ("XADD", "s", "MAXLEN", "1", "2-1", "f", "2"), ("XADD", "s", "3-1", "f", "3"),
        ("XADD", "s", "MAXLEN", "5", "4-1", "f", "4"), ("XADD", "s", "1-1", "f", "bad"),
        ("XADD", "nomk", "NOMKSTREAM", "*", "f", "v"), ("XADD", "s", "MINID", "4", "5-1", "f", "5"),
        ("XTRIM", "s", "MAXLEN", "1"), ("XTRIM", "s", "MAXLEN", "1"), ("XTRIM", "nosuch", "MAXLEN", "1"),
        ("XADD", "s", "6-1", "f", "6"), ("XDEL", "s", "6-1", "9-9"), ("XDEL", "s", "9-9"), ("XDEL", "nosuch", "1-1"),
        ("XSETID", "s", "10-0"), ("XSETID", "s", "1-0"), ("XSETID", "nosuch", "1-0"),
        ("XADD", "s", "11-0", "f", "7"), ("XADD", "s", "12-0", "f", "8"),
        ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"), ("XGROUP", "CREATE", "mk", "g2", "$", "MKSTREAM"),
        ("XGROUP", "CREATE", "nosuch", "g", "$"),
        ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "s", ">"),
        ("XREADGROUP", "GROUP", "g", "c3", "STREAMS", "mk", ">"),
        ("XREADGROUP", "GROUP", "g", "c4", "STREAMS", "s", "0"),
        ("XACK", "s", "g", "11-0"), ("XACK", "s", "g", "11-0"),
        ("XCLAIM", "s", "g", "c5", "0", "12-0"), ("XCLAIM", "s", "g", "c6", "0", "99-0"),
        ("XCLAIM", "s", "g", "c5", "0", "12-0", "JUSTID"),
        ("XAUTOCLAIM", "s", "g", "c7", "0", "0"), ("XAUTOCLAIM", "s", "g", "c8", "999999999", "0"),
        ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "2"),
        ("XGROUP", "DELCONSUMER", "s", "g", "c2"), ("XGROUP", "DELCONSUMER", "s", "g", "nosuch"),
        ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "g"), ("XGROUP", "DESTROY", "s", "nosuch"),
        ("XLEN", "s"), ("XRANGE", "s", "-", "+"), ("DEL", "s"),
    ], normalize=lambda cmd, r: None if cmd[0] in ("XCLAIM", "XAUTOCLAIM", "XREADGROUP") and cmd[3] in (
        "c5", "c6", "c7", "c8") else r)


def test_blocked_xread_served_by_xadd():
    with Pair() as p:
        set_flags(p, ALL_NEW + "m")
        subs = (Subscriber(p.dredis), Subscriber(p.redis))
        p.run("XGROUP", "CREATE", "g", "grp", "$", "MKSTREAM")
        for block, add in ((("XREAD", "BLOCK", "0", "STREAMS", "nosuch", "s", "0", "$"), ("XADD", "s", "1-1", "f", "v")),
                           (("XREADGROUP", "GROUP", "grp", "c", "BLOCK", "0", "STREAMS", "g", ">"),
                            ("XADD", "g", "1-1", "f", "v"))):
            served_alike(p, block, add)
        events_of(p, [("XLEN", "s")], flags=ALL_NEW + "m", subscribers=subs)


# ---------------------------------------------------------------------------
# "new" and "keymiss"
# ---------------------------------------------------------------------------

def test_new_events_only():
    events = compare([
        ("SET", "a", "1"), ("SET", "a", "2"), ("LPUSH", "l", "x"), ("SET", "l", "str"), ("HSET", "h", "f", "v"),
        ("SADD", "s", "m"), ("ZADD", "z", "1", "m"), ("XADD", "x", "1-1", "f", "v"), ("INCR", "i"),
        ("APPEND", "ap", "x"), ("SETRANGE", "sr", "0", "x"), ("RENAME", "a", "b"), ("COPY", "b", "c"),
        ("SUNIONSTORE", "su", "s"), ("ZUNIONSTORE", "zu", "1", "z"), ("MSET", "m1", "1", "m2", "2"),
        ("SETEX", "se", "100", "v"), ("GETSET", "gs", "v"), ("HINCRBY", "hi", "f", "1"), ("LMOVE", "l2", "l3", "LEFT", "LEFT"),
    ], flags="KEn")
    assert all(ev == "new" for ev, key in keyevents(events))


def test_keymiss_events():
    """'m': read commands that find no key (write commands never do)."""
    compare([
        ("GET", "a"), ("MGET", "a", "b"), ("STRLEN", "a"), ("GETRANGE", "a", "0", "1"), ("EXISTS", "a", "b"),
        ("TOUCH", "a"), ("TYPE", "a"), ("TTL", "a"), ("PTTL", "a"), ("EXPIRETIME", "a"), ("DUMP", "a"),
        ("OBJECT", "ENCODING", "a"), ("GETDEL", "a"), ("GETEX", "a"), ("SET", "a", "1", "GET"), ("GETSET", "b", "2"),
        ("COPY", "nosuch", "c"),
        ("LRANGE", "l", "0", "-1"), ("LLEN", "l"), ("LINDEX", "l", "0"), ("LPOS", "l", "x"),
        ("LPOP", "l"), ("RPOPLPUSH", "l", "l2"), ("LMPOP", "1", "l", "LEFT"),
        ("HGET", "h", "f"), ("HMGET", "h", "f"), ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"), ("HLEN", "h"),
        ("HEXISTS", "h", "f"), ("HSTRLEN", "h", "f"), ("HRANDFIELD", "h"), ("HSCAN", "h", "0"), ("HDEL", "h", "f"),
        ("SMEMBERS", "s"), ("SISMEMBER", "s", "m"), ("SMISMEMBER", "s", "m"), ("SCARD", "s"), ("SRANDMEMBER", "s"),
        ("SINTER", "s", "t"), ("SUNION", "s", "t"), ("SDIFF", "s", "t"), ("SINTERCARD", "2", "s", "t"),
        ("SSCAN", "s", "0"), ("SINTERSTORE", "d", "s", "t"), ("SUNIONSTORE", "d", "s"), ("SREM", "s", "m"),
        ("ZRANGE", "z", "0", "-1"), ("ZSCORE", "z", "m"), ("ZMSCORE", "z", "m"), ("ZCARD", "z"), ("ZRANK", "z", "m"),
        ("ZCOUNT", "z", "0", "1"), ("ZLEXCOUNT", "z", "-", "+"), ("ZRANDMEMBER", "z"), ("ZSCAN", "z", "0"),
        ("ZUNION", "2", "z", "y"), ("ZINTERCARD", "1", "z"), ("ZUNIONSTORE", "d", "1", "z"),
        ("ZRANGESTORE", "d", "z", "0", "-1"), ("ZREM", "z", "m"), ("ZPOPMIN", "z"),
        ("XRANGE", "x", "-", "+"), ("XLEN", "x"), ("XREAD", "STREAMS", "x", "y", "0", "0"),
        ("XPENDING", "x", "g"), ("XACK", "x", "g", "1-1"), ("XINFO", "STREAM", "x"),
        ("SET", "present", "1"), ("GET", "present"), ("HGET", "present", "f"),
    ], flags=KEYMISS)


# ---------------------------------------------------------------------------
# Expiry
# ---------------------------------------------------------------------------

def test_expired_on_access():
    """A key found expired by a command: "expired", then the command's own
    events ("new" when a write creates the key again, "keymiss" for a read)."""
    setup = [("SET", "s", "v", "PX", "30"), ("RPUSH", "l", "a"), ("PEXPIRE", "l", "30"),
             ("HSET", "h", "f", "v"), ("PEXPIRE", "h", "30"), ("SADD", "st", "m"), ("PEXPIRE", "st", "30"),
             ("ZADD", "z", "1", "m"), ("PEXPIRE", "z", "30"), ("SET", "g", "v", "PX", "30"),
             ("SET", "d", "v", "PX", "30"), ("SET", "x", "v", "PX", "30"), ("SET", "dst", "v", "PX", "30"),
             ("SADD", "src", "a"), ("SET", "dst2", "v", "PX", "30"),
             ("SET", "e1", "v", "PX", "30"), ("SET", "e2", "v", "PX", "30"), ("SET", "e3", "v", "PX", "30"),
             ("SET", "e4", "v", "PX", "30"), ("SET", "sn", "v", "PX", "30"), ("SET", "inc", "1", "PX", "30"),
             ("RPUSH", "l1", "a"), ("SET", "ld", "v", "PX", "30"), ("SADD", "s1", "a"), ("SET", "sd", "v", "PX", "30"),
             ("SET", "xs", "v", "PX", "30"), ("SET", "rn", "v", "PX", "30"), ("SET", "mv", "v"), ("SELECT", "1"),
             ("SET", "mv", "v", "PX", "30"), ("SELECT", "0")]
    with DebugPair() as p:
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        set_flags(p, "")
        p.run_many(setup)
        time.sleep(0.05)
        events = events_of(p, [
            ("GET", "s"), ("LPUSH", "l", "b"), ("HGET", "h", "f"), ("SADD", "st", "m2"), ("ZSCORE", "z", "m"),
            ("SET", "g", "w", "GET"), ("DEL", "d"), ("EXISTS", "x"), ("SUNIONSTORE", "dst", "src"),
            ("ZUNIONSTORE", "dst2", "1", "src"),
            # an empty STORE result deletes an expired destination as any
            # other: "del", not "expired"
            ("SINTERSTORE", "e1", "src", "nosuch"), ("ZUNIONSTORE", "e2", "1", "nosuch"),
            ("SDIFFSTORE", "e3", "src", "src"), ("ZRANGESTORE", "e4", "nosuch", "0", "-1"),
            ("SETNX", "sn", "1"), ("INCR", "inc"), ("LMOVE", "l1", "ld", "LEFT", "LEFT"), ("SMOVE", "s1", "sd", "a"),
            ("XADD", "xs", "1-1", "f", "v"), ("RENAME", "rn", "x"), ("MOVE", "mv", "1"),
        ], flags=ALL_NEW + "m")
    assert ("__keyevent@0__:del", "e1") in events
    assert ("__keyevent@0__:expired", "s") in events


def expired_keys(c):
    info = c.execute("INFO", "stats").decode()
    return int(info.split("expired_keys:")[1].split("\r\n")[0])


def test_expired_by_the_active_cycle():
    with Pair() as p:
        set_flags(p, ALL)
        subs = (Subscriber(p.dredis), Subscriber(p.redis))
        p.run("SET", "k", "v", "PX", "50")
        p.run("HSET", "h", "f", "v")
        p.run("PEXPIRE", "h", "700")
        # at least n: a slow poll may see both expirations at once (k
        # expires 650 ms before h); keyevents() below checks their order
        for n in (1, 2):
            for c in (p.d, p.r):
                wait_until(lambda: expired_keys(c) >= n, timeout=10, what="the active expiry cycle")
        assert expired_keys(p.d) == expired_keys(p.r) == 2
        d = subs[0].collect(p.d)
        r = subs[1].collect(p.r)
        assert_same(d, r)
        assert keyevents(d) == [("set", "k"), ("expire", "k"), ("hset", "h"), ("expire", "h"),
                                ("expired", "k"), ("expired", "h")]


def test_keys_does_not_expire_scan_and_randomkey_do():
    """KEYS skips an expired key without deleting it (no "expired" event);
    SCAN and RANDOMKEY delete it, as Redis's do."""
    with DebugPair() as p:
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        set_flags(p, "")
        p.run_many([("SET", "k", "v", "PX", "1"), ("SET", "k2", "v", "PX", "1")])
        time.sleep(0.02)
        assert events_of(p, [("KEYS", "*"), ("KEYS", "k"), ("KEYS", "k?"), ("DBSIZE",)], flags="KEx") == []
        # the order SCAN visits keys in is its own: sorted
        events = events_of(p, [("SCAN", "0", "COUNT", "100")], flags="KEx", normalize=lambda cmd, r: r[0],
                           ordered=False)
        assert sorted(events) == [("__keyevent@0__:expired", "k"), ("__keyevent@0__:expired", "k2"),
                                  ("__keyspace@0__:k", "expired"), ("__keyspace@0__:k2", "expired")]
        p.run("SET", "k3", "v", "PX", "1")
        time.sleep(0.02)
        assert events_of(p, [("RANDOMKEY",), ("DBSIZE",)], flags="KEx") == [
            ("__keyspace@0__:k3", "expired"), ("__keyevent@0__:expired", "k3")]
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "1")

# ---------------------------------------------------------------------------
# Inside scripts and transactions
# ---------------------------------------------------------------------------

def test_events_from_eval():
    script = ("redis.call('SET', KEYS[1], 'v'); redis.call('LPUSH', KEYS[2], 'a', 'b'); "
              "redis.call('RPOP', KEYS[2]); redis.call('RPOP', KEYS[2]); redis.call('GET', 'missing'); "
              "redis.pcall('INCR', KEYS[2]); redis.call('EXPIRE', KEYS[1], 100); return 1")
    events = compare([("EVAL", script, "2", "k", "l"), ("EVAL", "return redis.call('DEL', KEYS[1])", "1", "k"),
                      ("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k")], flags=ALL_NEW + "m")
    assert keyevents(events)[:2] == [("new", "k"), ("set", "k")]


def test_events_from_multi_exec():
    events = compare([("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("RPUSH", "l", "x"), ("LPOP", "l"),
                      ("GET", "nosuch"), ("EXEC",),
                      ("MULTI",), ("SET", "b", "1"), ("DISCARD",),
                      ("WATCH", "a"), ("SET", "a", "2"), ("MULTI",), ("SET", "c", "1"), ("EXEC",)],
                     flags=ALL_NEW + "m")
    assert ("__keyevent@0__:set", "c") not in events
