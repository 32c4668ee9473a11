"""The caches of what the tree says (the store's metadata cache, the list-ends
cache, the sorted-set index cache; docs/architecture.md, "Caches of the
tree") against a real redis-server: keys of every type are read (which fills
the caches), changed by every command family (writes of each type,
RENAME/MOVE/COPY/SWAPDB/FLUSHDB/EXPIRE/RESTORE, MULTI/EXEC with a failing
command, EVAL, a write failed by fault injection and rolled back), and read
again, every reply compared. The sequence is random with a fixed seed."""
import random
import time

from dredis_test import Pair, RespError

LISTS = ["l1", "l2", "l3"]
ZSETS = ["z1", "z2", "z3"]
STRINGS = ["s1", "s2", "s3"]
HASHES = ["h1", "h2"]
SETS = ["t1", "t2"]
STREAMS = ["x1", "x2"]
ALL = LISTS + ZSETS + STRINGS + HASHES + SETS + STREAMS
WORDS = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "10", "-3", "7"]
SCORES = ["1", "2", "-1", "0.5", "3", "inf", "-inf", "10"]
FAULT_ENV = {"DREDIS_ENABLE_DEBUG_FAULTS": "1"}

SCRIPT = ("redis.call('RPUSH', KEYS[1], ARGV[1]); redis.call('ZINCRBY', KEYS[2], 1, ARGV[1]); "
          "redis.call('SET', KEYS[3], ARGV[1]); local r = redis.pcall('INCR', KEYS[1]); "
          "return {redis.call('LLEN', KEYS[1]), redis.call('ZSCORE', KEYS[2], ARGV[1]), "
          "redis.call('GET', KEYS[3]), type(r) == 'table' and r.err or r}")


def normalize(cmd, reply):
    """Replies whose order or timing legitimately differ, made comparable."""
    name = cmd[0].upper()
    if isinstance(reply, RespError):
        # a script's error names the script differently: the kind is enough
        return RespError(reply.message.split(" ")[0]) if name == "EVAL" else reply
    if name in ("SMEMBERS", "KEYS", "SINTER", "SUNION", "SDIFF"):
        return sorted(reply)
    if name == "HGETALL":
        return sorted(zip(reply[::2], reply[1::2]))
    if name in ("TTL", "PTTL"):
        return "ttl" if reply > 0 else reply
    if name == "DUMP":
        return reply is None  # each server restores its own payload
    return reply


class Run:
    """One pair and the random choices; every command goes to both."""

    def __init__(self, p, seed):
        self.p = p
        self.rnd = random.Random(seed)
        self.xid = 0

    def run(self, *cmd):
        return self.p.run_many([cmd], normalize=normalize)[0]

    def pick(self, keys):
        # now and then a key of another type: WRONGTYPE must agree too
        return self.rnd.choice(ALL if self.rnd.random() < 0.1 else keys)

    def words(self, n):
        return [self.rnd.choice(WORDS) for _ in range(n)]

    # ---- reads: fill the caches and check them
    def read(self, key):
        reads = {
            "l": [("LRANGE", key, "0", "-1"), ("LLEN", key), ("LINDEX", key, "0"), ("LINDEX", key, "-1"),
                  ("LPOS", key, "a")],
            "z": [("ZRANGE", key, "0", "-1", "WITHSCORES"), ("ZCARD", key), ("ZRANK", key, "c"),
                  ("ZRANGEBYSCORE", key, "(0", "+inf", "LIMIT", "0", "3"), ("ZSCORE", key, "d")],
            "s": [("GET", key), ("STRLEN", key)],
            "h": [("HGETALL", key), ("HLEN", key), ("HGET", key, "a")],
            "t": [("SMEMBERS", key), ("SCARD", key), ("SISMEMBER", key, "b")],
            "x": [("XRANGE", key, "-", "+"), ("XLEN", key)],
        }[key[0]]
        for cmd in reads + [("TYPE", key), ("TTL", key), ("EXISTS", key)]:
            self.run(*cmd)

    def read_all(self, db_too=False):
        for key in ALL:
            self.read(key)
        if db_too:
            self.run("SELECT", "1")
            for key in ALL:
                self.run("TYPE", key)
            self.run("SELECT", "0")

    # ---- writes of each type (the commands a failed run may also try)
    def list_write(self):
        k, r = self.pick(LISTS), self.rnd.randrange(11)
        if r < 3:  # now and then enough for several 64-element segments
            n = 150 if self.rnd.random() < 0.1 else self.rnd.randint(1, 4)
            return (self.rnd.choice(["LPUSH", "RPUSH"]), k, *self.words(n))
        return self.rnd.choice([
            ("LPOP", k), ("RPOP", k, "2"), ("LSET", k, "0", "new"), ("LINSERT", k, "BEFORE", "a", "ins"),
            ("LREM", k, "0", "b"), ("LTRIM", k, "1", "-2"), ("LMOVE", k, self.rnd.choice(LISTS), "LEFT", "RIGHT"),
            ("RPUSHX", k, "x")])

    def zset_write(self):
        k, w, s = self.pick(ZSETS), self.rnd.choice(WORDS), self.rnd.choice(SCORES)
        return self.rnd.choice([
            ("ZADD", k, s, w, self.rnd.choice(SCORES), self.rnd.choice(WORDS)), ("ZADD", k, "GT", s, w),
            ("ZINCRBY", k, s, w), ("ZREM", k, w, self.rnd.choice(WORDS)), ("ZPOPMIN", k),
            ("ZPOPMAX", k, "2"), ("ZREMRANGEBYRANK", k, "0", "0"), ("ZREMRANGEBYSCORE", k, "0", "1"),
            ("ZUNIONSTORE", k, "2", k, self.rnd.choice(ZSETS)),
            ("ZRANGESTORE", k, self.rnd.choice(ZSETS), "0", "2")])

    def string_write(self):
        k = self.pick(STRINGS)
        return self.rnd.choice([
            ("SET", k, self.rnd.choice(WORDS)), ("INCR", k), ("APPEND", k, "x"), ("SETRANGE", k, "1", "yz"),
            ("INCRBY", k, "5"), ("GETDEL", k), ("MSET", k, "1", self.rnd.choice(STRINGS), "2"),
            ("SET", k, "v" * 100), ("SETNX", k, "n")])

    def hash_write(self):
        k, w = self.pick(HASHES), self.rnd.choice(WORDS)
        return self.rnd.choice([("HSET", k, w, self.rnd.choice(WORDS), "a", "1"), ("HDEL", k, w, "a"),
                                ("HINCRBY", k, "n", "3"), ("HSETNX", k, w, "s")])

    def set_write(self):
        k, w = self.pick(SETS), self.rnd.choice(WORDS)
        return self.rnd.choice([("SADD", k, w, self.rnd.choice(WORDS)), ("SREM", k, w),
                                ("SMOVE", k, self.rnd.choice(SETS), w),
                                ("SINTERSTORE", k, k, self.rnd.choice(SETS))])

    def stream_write(self):
        k = self.pick(STREAMS)
        self.xid += 1
        return self.rnd.choice([("XADD", k, "%d-1" % self.xid, "f", self.rnd.choice(WORDS)),
                                ("XDEL", k, "%d-1" % self.rnd.randint(1, self.xid)), ("XTRIM", k, "MAXLEN", "3")])

    def type_write(self):
        return self.rnd.choice([self.list_write, self.list_write, self.zset_write, self.zset_write,
                                self.string_write, self.hash_write, self.set_write, self.stream_write])()

    # ---- keyspace
    def keyspace(self):
        # half the time two keys of one type: the destination's cache then
        # looks valid to a command of that type
        family = self.rnd.choice([LISTS, LISTS, ZSETS, STRINGS, ALL])
        a, b = self.rnd.choice(family), self.rnd.choice(family)
        r = self.rnd.randrange(12)
        if r == 0:
            return [("RENAME", a, b)]
        if r == 1:
            return [("MOVE", a, "1"), ("SELECT", "1"), ("RENAME", a, b), ("MOVE", b, "0"), ("SELECT", "0")]
        if r == 2:
            return [("COPY", a, b, "REPLACE")]
        if r == 3:
            return [("COPY", a, b, "DB", "1"), ("SWAPDB", "0", "1")]
        if r == 4:
            return [("DEL", a)]
        if r == 5:
            return [("EXPIRE", a, "1000"), ("PERSIST", b)]
        if r == 6:
            return [("PEXPIREAT", a, "1")]  # in the past: deleted at once
        if r == 7:
            return [("UNLINK", a, b)]
        if r == 8:
            return [("FLUSHDB",)] if self.rnd.random() < 0.3 else [("SWAPDB", "1", "0")]
        if r == 9:
            return [("SORT", a, "ALPHA", "STORE", b)]
        return [("RENAMENX", a, b)]

    def restore(self, src, dst):
        """DUMP src on each server and RESTORE it over dst there."""
        d_payload = self.p.d.execute("DUMP", src)
        r_payload = self.p.r.execute("DUMP", src)
        assert (d_payload is None) == (r_payload is None), src
        if d_payload is None:
            return
        a = self.p.d.execute("RESTORE", dst, "0", d_payload, "REPLACE")
        b = self.p.r.execute("RESTORE", dst, "0", r_payload, "REPLACE")
        assert a == b == "OK", (src, dst, a, b)

    def multi(self):
        # the failing command (WRONGTYPE at EXEC) is between two that stand
        cmds = [self.type_write(), ("INCR", self.rnd.choice(LISTS + ZSETS)), self.type_write()]
        self.run("MULTI")
        for c in cmds:
            self.run(*c)
        self.run("EXEC")

    def script(self):
        self.run("EVAL", SCRIPT, "3", self.rnd.choice(LISTS), self.rnd.choice(ZSETS), self.rnd.choice(STRINGS),
                 self.rnd.choice(WORDS))

    def failed_write(self):
        """A write on dredis whose nth file operation fails: rolled back, so
        redis does not run it. When it happened to make fewer than n file
        operations it succeeded: then redis runs it too."""
        cmd = self.type_write()
        n = self.rnd.randint(1, 8)
        assert self.p.d.execute("DEBUG-FAULT", "ARM", "all", "EIO", "NTH", str(n)) == "OK"
        reply = self.p.d.execute(*cmd)
        fired = self.p.d.execute("DEBUG-FAULT", "STATUS")[3]
        assert self.p.d.execute("DEBUG-FAULT", "OFF") == "OK"
        if fired and isinstance(reply, RespError) and "storage error" in reply.message:
            return cmd
        # not fired, or on a call whose failure is harmless: the command stands
        other = self.p.r.execute(*cmd)
        assert normalize(cmd, reply) == normalize(cmd, other), (cmd, reply, other)
        return cmd

    def step(self):
        r = self.rnd.random()
        if r < 0.4:
            cmds = [self.type_write()]
        elif r < 0.68:
            cmds = self.keyspace()
        elif r < 0.73:
            self.restore(self.rnd.choice(ALL), self.rnd.choice(ALL))
            cmds = []
        elif r < 0.8:
            self.multi()
            cmds = []
        elif r < 0.85:
            self.script()
            cmds = []
        else:
            cmds = [self.failed_write()]
            for key in set(ALL) & set(cmds[0][1:]):
                self.read(key)
            return
        for c in cmds:
            self.run(*c)
        for key in set(ALL) & {a for c in cmds for a in c[1:]}:
            self.read(key)
        self.read(self.rnd.choice(ALL))


def test_caches_follow_every_change():
    with Pair(env=FAULT_ENV) as p:
        p.d.execute("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        run = Run(p, 1607)
        start = time.time()
        for i in range(700):
            run.step()
            if i % 50 == 49:
                run.read_all(db_too=i % 100 == 99)
        run.read_all(db_too=True)
        # the caches were in use: lists and sorted sets were served from them
        info = p.d.execute("INFO", "all").decode()
        assert "dredis_zset_index_cache_keys" in info
        assert time.time() - start < 120


def test_each_cache_after_each_kind_of_change():
    """Deterministic: each cache warmed, the key changed behind it, read."""
    with Pair(env=FAULT_ENV) as p:
        def fill():
            p.run_many([("FLUSHALL",), ("RPUSH", "l", *["e%d" % i for i in range(70)]),
                        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("SET", "s", "12"),
                        ("HSET", "h", "f", "v"), ("SADD", "t", "m")])

        def warm():
            for cmd in [("LRANGE", "l", "0", "-1"), ("LLEN", "l"), ("ZRANGE", "z", "0", "-1", "WITHSCORES"),
                        ("GET", "s"), ("TTL", "s"), ("TYPE", "l"), ("HGETALL", "h"), ("SMEMBERS", "t")]:
                p.run_many([cmd], normalize=normalize)

        changes = [
            [("RENAME", "z", "l")], [("RENAME", "l", "z")], [("RENAME", "s", "z")],
            [("MOVE", "l", "1"), ("SELECT", "1"), ("RPUSH", "l", "x"), ("MOVE", "l", "0"), ("SELECT", "0")],
            [("COPY", "z", "l", "REPLACE")], [("COPY", "s", "z", "REPLACE")],
            [("SWAPDB", "0", "1"), ("RPUSH", "l", "y"), ("ZADD", "z", "9", "q"), ("SWAPDB", "1", "0")],
            [("FLUSHDB",), ("RPUSH", "l", "n"), ("ZADD", "z", "1", "n"), ("SET", "s", "1")],
            [("PEXPIREAT", "l", "1"), ("PEXPIREAT", "z", "1"), ("RPUSH", "l", "n"), ("ZADD", "z", "5", "n")],
            [("EXPIRE", "s", "100"), ("INCR", "s")],
            [("DEL", "l", "z"), ("LPUSH", "l", "k"), ("ZADD", "z", "4", "k")],
            [("SORT", "z", "ALPHA", "STORE", "l")],
            [("MULTI",), ("RPUSH", "l", "m1"), ("INCR", "l"), ("ZADD", "z", "7", "m"), ("EXEC",)],
            [("EVAL", SCRIPT, "3", "l", "z", "s", "w")],
            [("LMOVE", "l", "l", "LEFT", "RIGHT"), ("ZUNIONSTORE", "z", "2", "z", "z")],
        ]
        for change in changes:
            fill()
            warm()
            p.run_many(change, normalize=normalize)
            warm()
        # RESTORE over each warmed key, from another key's DUMP
        for src, dst in [("z", "l"), ("l", "z"), ("s", "l"), ("h", "s")]:
            fill()
            warm()
            Run(p, 0).restore(src, dst)
            warm()
        # a write rolled back after its first file operations, each cache warm
        for cmd in [("RPUSH", "l", "r1", "r2"), ("LPOP", "l"), ("ZADD", "z", "5", "a", "6", "new"),
                    ("ZPOPMIN", "z"), ("INCR", "s"), ("SET", "s", "x" * 10), ("RENAME", "l", "z"),
                    ("EXPIRE", "s", "100")]:
            for n in range(1, 6):
                fill()
                warm()
                assert p.d.execute("DEBUG-FAULT", "ARM", "all", "EIO", "NTH", str(n)) == "OK"
                reply = p.d.execute(*cmd)
                fired = p.d.execute("DEBUG-FAULT", "STATUS")[3]
                p.d.execute("DEBUG-FAULT", "OFF")
                # made fewer file operations, or the failed one was harmless
                if not (fired and isinstance(reply, RespError) and "storage error" in reply.message):
                    assert reply == p.r.execute(*cmd), (cmd, n, reply)
                warm()
