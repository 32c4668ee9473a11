"""MIGRATE against real redis-servers: keys of every type moved from dredis
to Redis and from Redis to dredis arrive as Redis moves them (DUMP of the
migrated keys on the target compared), the replies and errors are Redis's
(NOKEY, BUSYKEY and AUTH errors from the target, IOERR on a refused
connection and on a timeout, syntax), and what reaches the replicas is the
DEL of the keys that moved."""
import socket
import time

from dredis_test import Dredis, Pair, Redis, encode_command
from test_replication import assert_same_stream
from test_snapshot import dump


def load_every_type(c, prefix=""):
    """keys of every type, small and larger, two with a TTL; their names"""
    c.execute("SET", prefix + "str", "value")
    c.execute("SET", prefix + "int", "12345")
    c.execute("SET", prefix + "ttl", "v", "EX", "1000")
    c.execute("RPUSH", prefix + "list", *["e%d" % i for i in range(300)])
    c.execute("SADD", prefix + "intset", *range(20))
    c.execute("SADD", prefix + "set", *["m%d" % i for i in range(200)])
    c.execute("ZADD", prefix + "zset", *[x for i in range(150) for x in (i / 7, "z%d" % i)])
    c.execute("HSET", prefix + "hash", *[x for i in range(100) for x in ("f%d" % i, "v" * (i % 9))])
    c.execute("HSET", prefix + "smallhash", "a", "1")
    c.execute("PEXPIRE", prefix + "smallhash", "900000")
    for i in range(120):
        c.execute("XADD", prefix + "stream", "%d-1" % (i + 1), "f", "v%d" % i)
    c.execute("XGROUP", "CREATE", prefix + "stream", "g", "0")
    c.execute("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", prefix + "stream", ">")
    return [prefix + n for n in ("str", "int", "ttl", "list", "intset", "set", "zset", "hash", "smallhash", "stream")]


def ttl_rounded(contents):
    """dump()'s contents with each expiry only present or not (the two
    migrations happen at different times)"""
    return {db: {k: (t, v, e is not None) for k, (t, v, e) in keys.items()} for db, keys in contents.items()}


def test_every_type_from_dredis_to_redis_as_from_redis():
    """The same keys MIGRATEd from dredis to one Redis and from Redis to
    another: the same replies, the same DUMP payloads on the targets, the
    keys gone from the sources."""
    with Pair() as p, Redis() as t1, Redis() as t2, t1.client() as c1, t2.client() as c2:
        names = load_every_type(p.d)
        assert load_every_type(p.r) == names
        a = p.d.execute("MIGRATE", "127.0.0.1", t1.port, "", 3, 5000, "KEYS", *names, "missing")
        b = p.r.execute("MIGRATE", "127.0.0.1", t2.port, "", 3, 5000, "KEYS", *names, "missing")
        assert a == b == "OK", (a, b)
        p.run("DBSIZE")
        c1.execute("SELECT", 3)
        c2.execute("SELECT", 3)
        # the same bytes where Redis's encoding keeps the order it was given
        ordered = [n for n in names if n in ("str", "int", "ttl", "list", "intset", "zset")]
        assert c1.pipeline([("DUMP", n) for n in ordered]) == c2.pipeline([("DUMP", n) for n in ordered])
        assert ttl_rounded(dump(c1, [3])) == ttl_rounded(dump(c2, [3]))
        assert c1.execute("SELECT", 3) == "OK" and 990 <= c1.execute("TTL", "ttl") <= 1000
        # single key form, COPY keeps the source, NOKEY when nothing is there
        p.run("SET", "k", "v")
        assert p.d.execute("MIGRATE", "127.0.0.1", t1.port, "k", 0, 5000, "COPY") == "OK"
        assert p.d.execute("MIGRATE", "127.0.0.1", t1.port, "nokey", 0, 5000) == "NOKEY"
        p.d.execute("DEL", "k")
        p.r.execute("DEL", "k")
        assert c1.execute("SELECT", 0) == "OK" and c1.execute("GET", "k") == b"v"


def test_every_type_from_redis_to_dredis_as_to_redis():
    """Keys MIGRATEd from a Redis to dredis and to another Redis (COPY, so
    that the same keys go to both): the same replies and contents."""
    with Redis() as src, Pair() as p, src.client() as s:
        names = load_every_type(s)
        for target in (p.dredis, p.redis):
            assert s.execute("MIGRATE", "127.0.0.1", target.port, "", 5, 5000, "COPY", "KEYS", *names) == "OK"
        assert ttl_rounded(dump(p.d, [5])) == ttl_rounded(dump(p.r, [5]))
        p.run("SELECT", 5)
        p.run("XINFO", "GROUPS", "stream")
        p.run("XPENDING", "stream", "g")
        # into keys that exist: BUSYKEY from the target, REPLACE overwrites
        replies = [s.execute("MIGRATE", "127.0.0.1", t.port, "", 5, 5000, "COPY", "KEYS", *names)
                   for t in (p.dredis, p.redis)]
        assert replies[0] == replies[1] and str(replies[0]).startswith(
            "ERR Target instance replied with error: BUSYKEY"), replies
        s.execute("RPUSH", "list", "more")
        for t in (p.dredis, p.redis):
            assert s.execute("MIGRATE", "127.0.0.1", t.port, "list", 5, 5000, "COPY", "REPLACE") == "OK"
        p.run("LRANGE", "list", -3, -1)
        # without COPY the source loses the key
        assert s.execute("MIGRATE", "127.0.0.1", p.dredis.port, "str", 6, 5000) == "OK"
        assert s.execute("EXISTS", "str") == 0
        assert p.d.execute("SELECT", 6) == "OK" and p.d.execute("GET", "str") == b"value"


def test_errors_as_redis():
    """Syntax, KEYS with a key, bad numbers, a refused connection, the
    target's errors (BUSYKEY in the middle of KEYS deletes only the keys
    that moved), AUTH and AUTH2."""
    with Pair() as p, Redis() as target, target.client() as t:
        lines = [("MIGRATE", "127.0.0.1", target.port, "k", 0, 1000, "BAD"),
                 ("MIGRATE", "127.0.0.1", target.port, "k", 0, 1000, "KEYS", "a"),
                 ("MIGRATE", "127.0.0.1", target.port, "", 0, 1000, "AUTH"),
                 ("MIGRATE", "127.0.0.1", target.port, "", 0, 1000, "AUTH2", "u"),
                 ("MIGRATE", "127.0.0.1", target.port, "k", "x", 1000),
                 ("MIGRATE", "127.0.0.1", target.port, "k", 0, "x"),
                 ("MIGRATE", "127.0.0.1", target.port, "k", 0),
                 ("MIGRATE", "127.0.0.1", target.port, "", 0, 1000, "KEYS", "nosuch"),
                 ("SET", "k", "v"),
                 ("MIGRATE", "127.0.0.1", free_refusing_port(), "k", 0, 1000),
                 ("MIGRATE", "127.0.0.1", target.port, "k", 0, 1000, "AUTH", "pw"),
                 ("MIGRATE", "127.0.0.1", target.port, "k", 0, 1000, "AUTH2", "user", "pw"),
                 ("EXISTS", "k")]
        p.run_many(lines)
        p.run_many([("MSET", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5)])
        t.execute("MSET", "c", "_", "d", "_")
        moved = p.d.execute("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", "a", "b", "c", "d", "e")
        t.execute("DEL", "a", "b", "e")
        assert p.r.execute("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", "a", "b", "c", "d", "e") == moved
        assert str(moved).startswith("ERR Target instance replied with error: BUSYKEY"), moved
        p.run("KEYS", "*", normalize=sorted)
        t.execute("CONFIG", "SET", "requirepass", "secret")
        p.run_many([("MIGRATE", "127.0.0.1", target.port, "c", 1, 5000, "AUTH", "wrong"),
                    ("MIGRATE", "127.0.0.1", target.port, "c", 1, 5000, "AUTH2", "default", "wrong"),
                    ("MIGRATE", "127.0.0.1", target.port, "c", 1, 5000, "COPY", "AUTH", "secret"),
                    ("MIGRATE", "127.0.0.1", target.port, "c", 1, 5000, "COPY", "REPLACE", "AUTH2", "default",
                     "secret"),
                    ("EXISTS", "c")])
        # the password never shows in SLOWLOG
        p.d.execute("CONFIG", "SET", "slowlog-log-slower-than", 0)
        p.d.execute("MIGRATE", "127.0.0.1", target.port, "c", 1, 5000, "COPY", "REPLACE", "AUTH", "secret")
        assert b"secret" not in repr(p.d.execute("SLOWLOG", "GET", 2)).encode()
        p.run("COMMAND", "INFO", "MIGRATE")
        for line in (("h", 1, "", 0, 1, "KEYS", "a", "b"), ("h", 1, "k", 0, 1), ("h", 1, "k", 0, 1, "KEYS", "a"),
                     ("h", 1, "", 0, 1, "AUTH", "keys", "COPY", "KEYS", "a"), ("h", 1, "", 0, 1, "KEYS"),
                     ("h", 1, "", 0, 1, "AUTH2", "u", "keys", "KEYS", "a", "b", "c")):
            p.run("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", *line)


def free_refusing_port():
    """a loopback port nothing listens on"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connections_are_kept_and_a_timeout_is_an_ioerr():
    """One kept connection per target (INFO migrate_cached_sockets), reused
    after the target closed it (one retry); a target that does not answer
    within the timeout gives IOERR and the key stays."""
    with Dredis() as d, Dredis() as target, d.client() as c, target.client() as t:
        info = lambda: c.execute("INFO", "stats").decode()
        assert "migrate_cached_sockets:0" in info()
        c.execute("SET", "k", "v")
        assert c.execute("MIGRATE", "127.0.0.1", target.port, "k", 0, 1000, "COPY") == "OK"
        assert "migrate_cached_sockets:1" in info()
        t.execute("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        assert c.execute("MIGRATE", "127.0.0.1", target.port, "k", 2, 1000, "COPY") == "OK"
        assert "migrate_cached_sockets:1" in info()
        with socket.create_connection(("127.0.0.1", target.port)) as blocker:
            blocker.sendall(encode_command(["DEBUG", "SLEEP", "3"]))
            time.sleep(0.3)
            start = time.time()
            e = c.execute("MIGRATE", "127.0.0.1", target.port, "k", 3, 300)
            assert str(e) == "IOERR error or timeout reading to target instance", e
            assert time.time() - start < 2.5
        assert c.execute("EXISTS", "k") == 1
        assert "migrate_cached_sockets:0" in info()


def test_replicas_get_the_del_of_the_moved_keys():
    """MIGRATE reaches the replicas as Redis sends it: a DEL of the keys
    the target acknowledged, nothing for COPY or NOKEY."""
    with Redis() as target:
        def scenario(c):
            c.execute("MSET", "a", "1", "b", "2", "c", "3")
            c.execute("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "REPLACE", "KEYS", "a", "x", "b")
            c.execute("MIGRATE", "127.0.0.1", target.port, "c", 0, 5000, "COPY", "REPLACE")
            c.execute("MIGRATE", "127.0.0.1", target.port, "nosuch", 0, 5000)
            c.execute("MIGRATE", "127.0.0.1", target.port, "c", 0, 5000, "REPLACE")
        stream = assert_same_stream(scenario)
        assert [b"DEL", b"a", b"b"] in stream and [b"DEL", b"c"] in stream
