"""Replication, dredis as a master, in Redis 7.0's protocol.

- The stream: the same commands run on dredis and on a real redis-server
  7.0, each watched by a raw replica connection (PSYNC ? -1), must produce
  the same replication stream, rewrites included (absolute expiry times,
  pops of the blocking forms, SPOP as SREM, scripts and transactions by
  their effects in MULTI/EXEC, stream deliveries as XCLAIM, expiries as
  DEL); times and generated IDs are compared within a tolerance.
- A real redis-server as a replica of dredis: full sync of every type, then
  a write load, then the same data key by key; a write load during the full
  sync; a partial resync (+CONTINUE) after the link breaks; a full resync
  once the backlog no longer holds what was missed; WAIT.
- redis-cli --rdb fetches an RDB that redis-check-rdb accepts.
- INFO replication and ROLE have Redis's fields."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from dredis_test import (REDIS_CLI, REDIS_SERVER, ConnectionClosed, Dredis, Redis, RespError, encode_command,
                         free_port, wait_until)
from test_snapshot import dump


# ---------------------------------------------------------------------------
# a raw replica connection: the stream as bytes, parsed into commands
# ---------------------------------------------------------------------------

class RawReplica:
    """PSYNC ? -1 on a socket: the +FULLRESYNC line, the RDB bulk, then the
    commands of the stream."""

    def __init__(self, port, rdb_only=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.command("REPLCONF", "capa", "eof", "capa", "psync2")
        if rdb_only:
            self.command("REPLCONF", "rdb-only", "1")
        self.sock.sendall(encode_command(["PSYNC", "?", "-1"]))
        line = self.line(skip_newlines=True)
        assert line.startswith(b"+FULLRESYNC "), line
        _, self.replid, offset = line.split()
        self.offset = int(offset)
        head = self.line(skip_newlines=True)
        assert head.startswith(b"$") and not head.startswith(b"$EOF:"), head
        self.rdb = self.exact(int(head[1:]))

    def command(self, *args):
        self.sock.sendall(encode_command(args))
        reply = self.line()
        assert reply == b"+OK", (args, reply)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the master closed the connection")
        self.buf += data

    def line(self, skip_newlines=False):
        while True:
            while b"\r\n" not in self.buf and not (skip_newlines and self.buf.startswith(b"\n")):
                self.fill()
            if skip_newlines and self.buf.startswith(b"\n"):
                self.buf = self.buf[1:]  # keep-alive newline while the RDB is made
                continue
            i = self.buf.index(b"\r\n")
            out, self.buf = self.buf[:i], self.buf[i + 2:]
            return out

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_command(self):
        head = self.line()
        assert head.startswith(b"*"), head
        argv = []
        for _ in range(int(head[1:])):
            n = self.line()
            assert n.startswith(b"$"), n
            argv.append(self.exact(int(n[1:])))
            assert self.exact(2) == b"\r\n"
        return argv

    def commands_until(self, marker):
        """The commands up to (not including) PUBLISH <marker> ..., PINGs
        and GETACKs left out."""
        out = []
        while True:
            argv = self.read_command()
            name = argv[0].upper()
            if name == b"PING" or (name == b"REPLCONF" and argv[1].upper() == b"GETACK"):
                continue
            if name == b"PUBLISH" and argv[1] == marker:
                return out
            out.append([name] + argv[1:])

    def ack(self, offset):
        self.sock.sendall(encode_command(["REPLCONF", "ACK", str(offset)]))

    def close(self):
        self.sock.close()


# commands whose numbers are times (argument index -> tolerance in ms)
TIMES = {b"SET": "PXAT", b"PEXPIREAT": 2, b"RESTORE": 2, b"XCLAIM": "TIME"}


def normalize(cmds, now_ms):
    """Times near now_ms become "<time>"; the rest stays as it is."""
    out = []
    for argv in cmds:
        argv = list(argv)
        where = TIMES.get(argv[0])
        idx = None
        if isinstance(where, int):
            idx = where
        elif where:
            for i, a in enumerate(argv):
                if a.upper() == where.encode() and i + 1 < len(argv):
                    idx = i + 1
        if idx is not None and idx < len(argv) and argv[idx].isdigit():
            t = int(argv[idx])
            if abs(t - now_ms) < 600_000:
                argv[idx] = b"<time>"
        out.append(argv)
    return out


def stream_of(server_port, scenario, marker):
    """Run scenario(client) against a server watched by a raw replica;
    return the normalized stream it produced."""
    from dredis_test import Client
    replica = RawReplica(server_port)
    try:
        with Client(server_port) as c:
            scenario(c)
            c.execute("PUBLISH", marker, "end")
        return normalize(replica.commands_until(marker), int(time.time() * 1000))
    finally:
        replica.close()


def assert_same_stream(scenario, dredis_env=None):
    marker = b"end-of-scenario"
    with Dredis(env=dredis_env) as d, Redis(extra_args=("--repl-diskless-sync", "no", "--enable-debug-command",
                                                        "yes")) as r:
        for s in (d, r):
            with s.client() as c:
                assert c.execute("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
        got = stream_of(d.port, scenario, marker)
        want = stream_of(r.port, scenario, marker)
        assert got == want, "stream differs:\n dredis: %r\n redis:  %r" % (got, want)
        return got


def run_all(commands):
    def scenario(c):
        for cmd in commands:
            c.execute(*cmd)
    return scenario


# ---------------------------------------------------------------------------
# the stream, compared with Redis's
# ---------------------------------------------------------------------------

def test_stream_strings_and_expiry():
    far = str(int(time.time()) + 100000)
    got = assert_same_stream(run_all([
        ("SET", "k", "v"), ("SET", "k2", "v", "EX", "100"), ("SET", "k3", "v", "PX", "100000", "GET"),
        ("SETEX", "k4", "100", "v"), ("PSETEX", "k5", "100000", "v"), ("GETSET", "k", "v2"),
        ("SET", "k", "v3", "GET"), ("SET", "k", "x", "NX"), ("SET", "nx", "v", "NX"), ("SETNX", "nx", "w"),
        ("INCR", "n"), ("INCRBY", "n", "5"), ("DECR", "n"), ("INCRBYFLOAT", "f", "1.5"),
        ("APPEND", "k", "x"), ("MSET", "a", "1", "b", "2"), ("MSETNX", "a", "1", "c", "3"),
        ("EXPIRE", "a", "100"), ("PEXPIRE", "b", "100000", "NX"), ("EXPIREAT", "k", far),
        ("PEXPIREAT", "k2", far + "000"), ("EXPIRE", "a", "200", "GT"), ("EXPIRE", "a", "300", "LT"), ("EXPIRE", "b", "-1"),
        ("PERSIST", "k2"), ("PERSIST", "k2"), ("GETEX", "k3", "EX", "100"), ("GETEX", "k3", "PERSIST"),
        ("GETEX", "k3"), ("GETDEL", "k4"), ("GETDEL", "k4"), ("SETRANGE", "k", "1", "yy"),
        ("SET", "gone", "v", "PX", "1"), ("DEL", "missing"), ("UNLINK", "k5"),
        ("RENAME", "k", "k6"), ("COPY", "k6", "k7"), ("MOVE", "k7", "2"),
    ]))
    assert [b"SET", b"k2", b"v", b"PXAT", b"<time>"] in got, got


def test_stream_lazy_expiry_is_a_del():
    def scenario(c):
        c.execute("SET", "e", "v", "PX", "1")
        c.execute("SET", "e2", "v", "PX", "1")
        time.sleep(0.05)
        c.execute("GET", "e")          # read: DEL e alone
        c.execute("SET", "e2", "new")  # write: DEL e2 then SET, in MULTI/EXEC
    got = assert_same_stream(scenario)
    assert [b"DEL", b"e"] in got, got


def test_stream_scan_and_randomkey_expiries_are_plain_dels():
    """SCAN and RANDOMKEY (Redis's TOUCHES_ARBITRARY_KEYS commands) run
    directly send the expired keys they delete as plain DELs, not in
    MULTI/EXEC (expire.tcl's "Lazy-expire should not be wrapped" tests);
    inside MULTI they are wrapped with the rest."""
    def scenario(c):
        for cmd in ("SCAN", "RANDOMKEY", "MULTI"):
            c.execute("FLUSHALL")
            c.execute("SET", "foo1", "v", "PX", "1")
            c.execute("SET", "foo2", "v", "PX", "1")
            time.sleep(0.05)
            if cmd == "SCAN":
                c.execute("SCAN", "0")
            elif cmd == "RANDOMKEY":
                c.execute("RANDOMKEY")
            else:
                c.execute("MULTI")
                c.execute("SCAN", "0")
                c.execute("EXEC")
    def dels_sorted(stream):  # which expired key a scan meets first is the keyspace's order
        out, run = [], []
        for argv in stream + [None]:
            if argv and argv[0] == b"DEL":
                run.append(argv)
                continue
            out += sorted(run)
            run = []
            if argv:
                out.append(argv)
        return out
    marker = b"end-of-scenario"
    with Dredis() as d, Redis(extra_args=("--repl-diskless-sync", "no")) as r:
        for srv in (d, r):
            with srv.client() as c:
                c.execute("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        got = dels_sorted(stream_of(d.port, scenario, marker))
        want = dels_sorted(stream_of(r.port, scenario, marker))
    assert got == want, "stream differs:\n dredis: %r\n redis:  %r" % (got, want)
    assert got.count([b"MULTI"]) == 1 and got.count([b"DEL", b"foo1"]) == 3, got


def test_stream_collections_and_pops():
    assert_same_stream(run_all([
        ("HSET", "h", "f", "v", "g", "1"), ("HINCRBYFLOAT", "h", "g", "2.5"), ("HINCRBY", "h", "i", "1"),
        ("HDEL", "h", "f"), ("HSETNX", "h", "f", "x"),
        ("RPUSH", "l", "a", "b", "c", "d", "e", "f"), ("LPUSH", "l", "z"), ("LPOP", "l"), ("RPOP", "l", "1"),
        ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("BLPOP", "l", "0"), ("BRPOP", "l2", "nope", "0"),
        ("BLMOVE", "l", "l2", "RIGHT", "LEFT", "0"), ("BRPOPLPUSH", "l", "l2", "0"),
        ("LMPOP", "2", "nope", "l2", "LEFT", "COUNT", "5"), ("BLMPOP", "0", "1", "l", "RIGHT"),
        ("RPOPLPUSH", "missing", "l3"), ("LSET", "l2", "0", "q"), ("LINSERT", "l2", "BEFORE", "q", "p"),
        ("LREM", "l2", "0", "p"), ("LTRIM", "l2", "0", "0"),
        ("SADD", "s", "only"), ("SPOP", "s"), ("SADD", "s2", "a", "b"), ("SPOP", "s2", "5"),
        ("SADD", "s3", "a", "b", "c"), ("SREM", "s3", "a"), ("SMOVE", "s3", "s4", "b"),
        ("SINTERSTORE", "s5", "s3", "s4"), ("SUNIONSTORE", "s6", "s3", "s4"),
        ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZINCRBY", "z", "2.5", "a"), ("ZPOPMIN", "z"),
        ("BZPOPMAX", "z", "0"), ("ZMPOP", "1", "z", "MIN", "COUNT", "5"), ("ZADD", "z2", "1", "x"),
        ("BZMPOP", "0", "1", "z2", "MAX"), ("ZADD", "z3", "1", "a", "2", "b"), ("ZREMRANGEBYSCORE", "z3", "1", "1"),
        ("ZUNIONSTORE", "z4", "1", "z3"), ("PFADD", "hll", "a", "b"), ("SETBIT", "bits", "7", "1"),
        ("BITOP", "NOT", "bits2", "bits"), ("SORT", "l", "ALPHA", "STORE", "sorted"),
    ]))


def test_stream_transactions_and_scripts():
    def scenario(c):
        c.execute("MULTI"), c.execute("SET", "x", "1"), c.execute("INCR", "x"), c.execute("EXEC")
        c.execute("MULTI"), c.execute("SET", "y", "1"), c.execute("GET", "y"), c.execute("EXEC")  # one write: no MULTI
        c.execute("MULTI"), c.execute("GET", "y"), c.execute("EXEC")  # no write: nothing
        c.execute("EVAL", "redis.call('set', KEYS[1], '1') redis.call('incr', KEYS[1])", "1", "ev")
        c.execute("EVAL", "redis.call('set', KEYS[1], '2')", "1", "ev2")
        c.execute("EVAL", "return redis.call('get', KEYS[1])", "1", "ev2")
        c.execute("EVAL", "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], 'hidden') "
                  "redis.set_repl(redis.REPL_ALL) redis.call('set', KEYS[2], 'shown')", "2", "hid", "shown")
        c.execute("EVAL", "redis.set_repl(redis.REPL_AOF) redis.call('set', KEYS[1], 'aof only')", "1", "hid2")
        c.execute("EVAL", "redis.call('select', 4) redis.call('set', 'in4', 'v') redis.call('spop', KEYS[1])",
                  "1", "noset")
        c.execute("SELECT", "3"), c.execute("SET", "d3", "v"), c.execute("SELECT", "0")
        c.execute("SET", "d0", "v")
        c.execute("PUBLISH", "chan", "msg")
        c.execute("SWAPDB", "0", "3")
        c.execute("FLUSHDB")
        c.execute("FLUSHALL")
        c.execute("FLUSHALL")
    got = assert_same_stream(scenario)
    assert got[:4] == [[b"SELECT", b"0"], [b"MULTI"], [b"SET", b"x", b"1"], [b"INCR", b"x"]], got


def test_stream_restore_gets_an_absolute_ttl():
    from dredis_test import Client

    with Redis() as r, Client(r.port) as c:
        c.execute("SET", "src", "value")
        payload = c.execute("DUMP", "src")
    got = assert_same_stream(run_all([
        ("RESTORE", "r1", "100000", payload), ("RESTORE", "r2", "0", payload),
        ("RESTORE", "r1", "1", payload, "REPLACE", "ABSTTL"),
    ]))
    assert [b"RESTORE", b"r1", b"<time>", payload, b"ABSTTL"] in got, got


def test_stream_consumer_groups():
    assert_same_stream(run_all([
        ("XADD", "st", "1-1", "f", "v"), ("XADD", "st", "1-*", "f", "v"), ("XADD", "st", "2-1", "g", "w"),
        ("XADD", "st", "MAXLEN", "~", "100", "3-1", "f", "v"), ("XTRIM", "st", "MAXLEN", "=", "10"),
        ("XADD", "st", "NOMKSTREAM", "4-1", "f", "v"), ("XADD", "nost", "NOMKSTREAM", "*", "f", "v"),
        ("XGROUP", "CREATE", "st", "g", "0"), ("XGROUP", "CREATE", "st", "g2", "$"),
        ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "st", ">"),
        ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "st", "0"),
        ("XREADGROUP", "GROUP", "g", "c2", "NOACK", "COUNT", "1", "STREAMS", "st", ">"),
        ("XREADGROUP", "GROUP", "g", "c3", "NOACK", "STREAMS", "st", ">"),
        ("XACK", "st", "g", "1-1"), ("XCLAIM", "st", "g", "c4", "0", "1-2", "TIME", "1000"),
        ("XCLAIM", "st", "g", "c4", "0", "1-1", "9-9", "LASTID", "5-0"),
        ("XDEL", "st", "1-2"), ("XAUTOCLAIM", "st", "g", "c5", "0", "0"),
        ("XGROUP", "SETID", "st", "g", "0", "ENTRIESREAD", "0"), ("XGROUP", "CREATECONSUMER", "st", "g", "c9"),
        ("XGROUP", "DELCONSUMER", "st", "g", "c9"), ("XSETID", "st", "9-9"), ("XGROUP", "DESTROY", "st", "g2"),
    ]))


def test_stream_generated_ids():
    """XADD * and an approximate trim reach replicas as the ID made and an
    exact trim."""
    with Dredis() as d:
        replica = RawReplica(d.port)
        try:
            with d.client() as c:
                ids = [c.execute("XADD", "st", "MAXLEN", "~", "2", "*", "i", str(i)) for i in range(3)]
                c.execute("PUBLISH", b"mark", "x")
            cmds = replica.commands_until(b"mark")
        finally:
            replica.close()
    xadds = [a for a in cmds if a[0] == b"XADD"]
    assert [a[5] for a in xadds] == ids, cmds
    assert all(a[2:4] == [b"MAXLEN", b"="] for a in xadds), cmds
    assert [int(a[4]) for a in xadds] == [1, 2, 3], cmds  # '~' trims whole segments: nothing here


def test_stream_has_every_successful_expire():
    """An expire that sets the time the key already has changes nothing,
    but Redis counts it as a change and sends it; so must dredis (the
    official suite's EXPIRE then PEXPIRE within a millisecond)."""
    far = int(time.time()) + 100000
    got = assert_same_stream(run_all([
        ("SET", "k", "v"), ("EXPIREAT", "k", str(far)), ("EXPIREAT", "k", str(far)),
        ("PEXPIREAT", "k", str(far * 1000)), ("EXPIREAT", "k", str(far), "GT"), ("EXPIREAT", "k", str(far), "XX"),
        ("SET", "g", "v"), ("GETEX", "g", "EXAT", str(far)), ("GETEX", "g", "PXAT", str(far * 1000)),
        ("GETEX", "g", "PERSIST"), ("GETEX", "g", "PERSIST"),
    ]))
    assert got.count([b"PEXPIREAT", b"k", str(far * 1000).encode()]) == 3, got


def read_until_quiet(replica, quiet=1.0):
    """The commands a raw replica gets until the master closes the link or
    sends nothing for `quiet` seconds."""
    out = []
    replica.sock.settimeout(quiet)
    try:
        while True:
            out.append(replica.read_command())
    except (socket.timeout, EOFError):
        return out


def test_a_replica_is_online_as_soon_as_its_rdb_is_sent():
    """Writes made just after a replica got its RDB reach it before a
    REPLICAOF that follows them at once (the official suite's "MULTI / EXEC
    with REPLICAOF"): Redis puts a replica online when the last byte of its
    RDB is written, not at a later cron tick."""
    def stream(server):
        replica = RawReplica(server.port)
        try:
            with server.client() as c:
                c.execute("SET", "foo", "bar")
                c.execute("MULTI")
                c.execute("SET", "foo2", "bar")
                c.execute("REPLICAOF", "127.0.0.1", str(free_port()))
                c.execute("SET", "foo3", "bar")
                c.execute("EXEC")
                got = read_until_quiet(replica)
                assert c.execute("REPLICAOF", "NO", "ONE") == "OK"
            return got
        finally:
            replica.close()

    with Dredis() as d, Redis(extra_args=("--repl-diskless-sync", "no")) as r:
        got, want = stream(d), stream(r)
    assert got == want == [[b"SELECT", b"0"], [b"SET", b"foo", b"bar"]], (got, want)


# ---------------------------------------------------------------------------
# a real redis-server following dredis
# ---------------------------------------------------------------------------

def assert_same_contents(a, b):
    if a == b:
        return
    diff = {(db, k): (a.get(db, {}).get(k), b.get(db, {}).get(k)) for db in set(a) | set(b)
            for k in set(a.get(db, {})) | set(b.get(db, {})) if a.get(db, {}).get(k) != b.get(db, {}).get(k)}
    raise AssertionError("the data differ (replica, master): %r" % diff)


def contents(c, dbs=range(16)):
    """Every key of the databases (test_snapshot.dump: type, value, expiry)."""
    return dump(c, dbs)


def start_replica(master_port, extra=()):
    return Redis(extra_args=("--replicaof", "127.0.0.1", str(master_port)) + tuple(extra))


def info_replication(server):
    with server.client() as c:
        info = c.execute("INFO", "replication").decode()
    return dict(line.split(":", 1) for line in info.splitlines() if ":" in line)


def wait_synced(master, replica, timeout=30):
    """Wait until the replica applied everything the master wrote so far,
    and the master counts it online.

    Not WAIT from a new connection: as in Redis, WAIT counts the replicas
    that acknowledged that connection's own writes, and a new connection has
    written nothing, so it answers at once."""
    target = int(info_replication(master)["master_repl_offset"])

    def applied():
        mine = info_replication(replica)
        return (mine.get("master_link_status") == "up"
                and int(mine.get("slave_repl_offset", -1)) >= target
                and any(k.startswith("slave") and "state=online" in v
                        for k, v in info_replication(master).items()))
    wait_until(applied, timeout=timeout, what="the replica to apply offset %d" % target)


def load_every_type(c, n=50):
    for i in range(n):
        c.execute("SET", "s%d" % i, "v%d" % i)
        c.execute("RPUSH", "l%d" % (i % 5), *["e%d" % j for j in range(i % 7 + 1)])
        c.execute("SADD", "set%d" % (i % 5), "m%d" % i, "7")
        c.execute("ZADD", "z%d" % (i % 5), str(i / 3), "m%d" % i)
        c.execute("HSET", "h%d" % (i % 5), "f%d" % i, "v" * (i % 11))
    c.execute("SET", "ttl", "v", "EX", "1000")
    c.execute("SET", b"bin\x00\xff/..", b"\x00\x01")
    c.execute("SELECT", "7")
    c.execute("SET", "in7", "v")
    c.execute("SELECT", "0")


def test_redis_replica_full_sync_then_writes():
    with Dredis() as d:
        with d.client() as c:
            load_every_type(c)
        with start_replica(d.port) as r:
            wait_synced(d, r)
            with d.client() as c, r.client() as rc:
                assert_same_contents(contents(rc), contents(c))
                # writes of every kind after the sync
                c.execute("INCRBYFLOAT", "s1", "0.25")
                c.execute("SPOP", "set1", "1")
                c.execute("BLPOP", "l1", "0")
                c.execute("EVAL", "redis.call('hset', KEYS[1], 'x', 'y') redis.call('del', KEYS[2])", "2",
                          "h1", "s2")
                c.execute("XADD", "st", "*", "f", "v")
                c.execute("XGROUP", "CREATE", "st", "g", "0")
                c.execute("XREADGROUP", "GROUP", "g", "c", "STREAMS", "st", ">")
                c.execute("SET", "shortlived", "v", "PX", "50")
                time.sleep(0.3)
                assert c.execute("GET", "shortlived") is None
                wait_synced(d, r)
                assert_same_contents(contents(rc), contents(c))
                # the delivery reached the replica's group (its entries-read
                # does not: Redis 7.0's XCLAIM ... LASTID leaves it, for a real
                # Redis master's replicas too)
                assert rc.execute("XPENDING", "st", "g") == c.execute("XPENDING", "st", "g")
                info = rc.execute("INFO", "replication").decode()
                assert "master_link_status:up" in info, info


def test_writes_during_full_sync_reach_the_replica():
    stop = threading.Event()
    written = []

    def writer(port):
        from dredis_test import Client
        with Client(port) as c:
            i = 0
            while not stop.is_set():
                c.execute("MULTI")
                c.execute("INCR", "counter")
                c.execute("RPUSH", "log", str(i))
                c.execute("EXEC")
                written.append(i)
                i += 1

    with Dredis() as d:
        with d.client() as c:
            for i in range(2000):
                c.execute("SET", "pre%d" % i, "x" * 100)
        t = threading.Thread(target=writer, args=(d.port,))
        t.start()
        try:
            time.sleep(0.2)
            with start_replica(d.port) as r:
                wait_synced(d, r)
                time.sleep(0.3)
                stop.set()
                t.join()
                wait_synced(d, r)
                with d.client() as c, r.client() as rc:
                    assert int(rc.execute("GET", "counter")) == len(written)
                    assert rc.execute("LRANGE", "log", "0", "-1") == [str(i).encode() for i in written]
                    assert_same_contents(contents(rc, dbs=[0]), contents(c, dbs=[0]))
        finally:
            stop.set()
            t.join()


def master_stat(c, name):
    for line in c.execute("INFO", "stats").decode().splitlines():
        if line.startswith(name + ":"):
            return int(line.split(":", 1)[1])
    raise AssertionError("INFO stats has no " + name)


def test_partial_resync_after_the_link_breaks():
    with Dredis() as d:
        with d.client() as c:
            c.execute("SET", "a", "1")
        with start_replica(d.port) as r:
            wait_synced(d, r)
            with d.client() as c, r.client() as rc:
                assert master_stat(c, "sync_full") == 1
                # the replica drops its master link, and writes go on meanwhile
                assert rc.execute("CLIENT", "KILL", "TYPE", "master") >= 1
                c.execute("SET", "b", "2")
                c.execute("RPUSH", "l", "x")
                wait_synced(d, r)
                assert master_stat(c, "sync_partial_ok") == 1
                assert master_stat(c, "sync_full") == 1
                assert rc.execute("GET", "b") == b"2" and rc.execute("LRANGE", "l", "0", "-1") == [b"x"]
                assert "Partial resynchronization of replica" in d.output()


def test_a_resized_backlog_keeps_its_newest_history():
    """CONFIG SET repl-backlog-size (grown, then shrunk to 16 KB): a PSYNC
    from an offset still inside the kept history gets +CONTINUE, one from
    before it a full resync."""
    with Dredis() as d, start_replica(d.port) as r:
        wait_synced(d, r)
        with d.client() as c:
            for i in range(200):
                c.execute("SET", "k%d" % i, "v" * 200)  # about 50 KB of stream
            info = dict(l.split(":", 1) for l in c.execute("INFO", "replication").decode().splitlines()
                        if ":" in l)
            replid, offset = info["master_replid"], int(info["master_repl_offset"])
            assert c.execute("CONFIG", "SET", "repl-backlog-size", "4mb") == "OK"
            assert c.execute("CONFIG", "SET", "repl-backlog-size", "16kb") == "OK"
            for start, want in ((offset - 1000, "CONTINUE"), (offset - 40000, "FULLRESYNC")):
                with d.client() as raw:
                    raw.send("PSYNC", replid, start + 1)
                    line = raw.read_reply()
                    assert str(line).startswith(want), (start, line)


def test_partial_resync_after_a_replica_restart():
    """A replica that saved its RDB (with its master's replication id and
    offset) and restarts continues where it stopped: +CONTINUE."""
    with Dredis() as d:
        with d.client() as c:
            c.execute("SET", "a", "1")
        rdir = tempfile.mkdtemp(prefix="replica-")
        port = None
        try:
            args = ["--replicaof", "127.0.0.1", str(d.port), "--dir", rdir, "--save", "", "--dbfilename", "r.rdb"]
            r = Redis(extra_args=args)
            port = r.port
            wait_synced(d, r)
            with r.client() as rc:
                try:
                    rc.execute("SHUTDOWN", "SAVE")
                except ConnectionClosed:
                    pass  # it stopped
            r.proc.wait(10)
            with d.client() as c:
                c.execute("SET", "b", "while-down")
            r2 = Redis(extra_args=args)
            try:
                wait_synced(d, r2)
                with d.client() as c, r2.client() as rc:
                    assert rc.execute("GET", "b") == b"while-down"
                    assert master_stat(c, "sync_partial_ok") == 1
                    assert master_stat(c, "sync_full") == 1
            finally:
                r2.stop()
                r2.cleanup()
            r.cleanup()
        finally:
            shutil.rmtree(rdir, ignore_errors=True)
        assert port


def psync(port, replid, offset):
    """PSYNC replid offset on a new connection: the first line of the reply."""
    replica = RawReplica.__new__(RawReplica)
    replica.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    replica.buf = b""
    try:
        replica.command("REPLCONF", "capa", "psync2")
        replica.sock.sendall(encode_command(["PSYNC", replid, str(offset)]))
        return replica.line(skip_newlines=True)
    finally:
        replica.close()


def test_partial_or_full_resync_by_what_the_backlog_holds():
    with Dredis(env={"DREDIS_REPL_BACKLOG_SIZE": "16384"}) as d:
        first = RawReplica(d.port)
        replid, offset = first.replid, first.offset
        first.close()
        with d.client() as c:
            c.execute("SET", "small", "x")
            assert psync(d.port, replid, offset + 1) == b"+CONTINUE " + replid
            assert psync(d.port, b"0" * 40, offset + 1).startswith(b"+FULLRESYNC ")  # another history
            # 100 kB more than the 16 kB backlog holds: a full resync
            c.pipeline([("SET", "big%d" % i, "x" * 1000) for i in range(100)])
            assert psync(d.port, replid, offset + 1).startswith(b"+FULLRESYNC ")
            assert master_stat(c, "sync_partial_ok") == 1
            assert master_stat(c, "sync_partial_err") == 2
            info = c.execute("INFO", "replication").decode()
            assert "repl_backlog_histlen:16384" in info, info


def test_a_huge_backlog_setting_takes_memory_only_as_history_grows():
    """repl-backlog-size of 1,000,000 GB (Redis accepts it and allocates as
    the stream grows) with a replica attached: the server neither allocates
    it nor stops; the ring grows past its first megabyte keeping every byte,
    so a PSYNC from the first offset still gets +CONTINUE; memory stays
    near the history's size."""
    with Dredis(env={"DREDIS_REPL_BACKLOG_SIZE": "64kb"}) as d:
        first = RawReplica(d.port)
        replid, offset = first.replid, first.offset
        first.close()
        with d.client() as c:
            assert c.execute("CONFIG", "SET", "repl-backlog-size", "1000000gb") == "OK"
            assert c.execute("CONFIG", "GET", "repl-backlog-size") == [b"repl-backlog-size", b"1073741824000000"]
            rss0 = int(open("/proc/%d/statm" % d.proc.pid).read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for n in range(3):  # about 3 MB of stream: the ring doubles twice
                c.pipeline([("SET", "big%d" % i, "x" * 1000) for i in range(n * 1000, n * 1000 + 1000)])
            info = c.execute("INFO", "replication").decode()
            assert "repl_backlog_size:1073741824000000" in info, info
            hist = int(info.split("repl_backlog_histlen:")[1].split()[0])
            assert hist > 3000000, info
            assert psync(d.port, replid, offset + 1) == b"+CONTINUE " + replid
            rss1 = int(open("/proc/%d/statm" % d.proc.pid).read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            assert rss1 - rss0 < 64 << 20, (rss0, rss1)
            # shrunk again: the newest 16 KB stay
            assert c.execute("CONFIG", "SET", "repl-backlog-size", "1") == "OK"
            assert "repl_backlog_histlen:16384" in c.execute("INFO", "replication").decode()
            assert c.execute("PING") == "PONG"


def test_wait_counts_acknowledgements():
    with Dredis() as d:
        with d.client() as c:
            assert c.execute("WAIT", "0", "0") == 0
            t0 = time.time()
            assert c.execute("WAIT", "1", "300") == 0  # no replica: the timeout
            assert time.time() - t0 >= 0.25
            with start_replica(d.port) as r, start_replica(d.port) as r2:
                wait_synced(d, r)
                c.execute("SET", "k", "v")
                assert c.execute("WAIT", "2", "5000") == 2
                assert c.execute("WAIT", "5", "200") == 2
                with r.client() as rc, r2.client() as rc2:
                    assert rc.execute("GET", "k") == rc2.execute("GET", "k") == b"v"


def test_redis_cli_rdb_and_check_rdb():
    if not REDIS_CLI:
        raise AssertionError("redis-cli is required")
    check = shutil.which("redis-check-rdb") or os.path.join(os.path.dirname(REDIS_SERVER), "redis-check-rdb")
    with Dredis() as d:
        with d.client() as c:
            load_every_type(c, 20)
        out = tempfile.mktemp(suffix=".rdb")
        try:
            p = subprocess.run([REDIS_CLI, "-p", str(d.port), "--rdb", out], capture_output=True, timeout=60)
            assert p.returncode == 0, p.stdout + p.stderr
            chk = subprocess.run([check, out], capture_output=True, timeout=60)
            assert chk.returncode == 0 and b"RDB looks OK" in chk.stdout, chk.stdout + chk.stderr
            with Redis(extra_args=("--dir", os.path.dirname(out), "--dbfilename", os.path.basename(out))) as r:
                with r.client() as rc, d.client() as c:
                    assert_same_contents(contents(rc), contents(c))
        finally:
            if os.path.exists(out):
                os.unlink(out)


def info_fields(c, section):
    text = c.execute("INFO", section).decode()
    return [line.split(":", 1)[0] for line in text.splitlines() if ":" in line]


def test_info_replication_and_role_as_redis():
    with Dredis() as d, Redis() as ref:
        with start_replica(d.port) as r, start_replica(ref.port) as r2:
            wait_synced(d, r)
            wait_synced(ref, r2)
            with d.client() as c, ref.client() as rc:
                assert info_fields(c, "replication") == info_fields(rc, "replication")
                role = c.execute("ROLE")
                want = rc.execute("ROLE")
                assert role[0] == want[0] == b"master"
                assert len(role[2]) == len(want[2]) == 1
                assert role[2][0][0] == b"127.0.0.1" and int(role[2][0][1]) == r.port
                assert c.execute("REPLCONF", "bogus", "1") == RespError("ERR Unrecognized REPLCONF option: bogus")


def test_replication_bench_at_small_scale():
    """scripts/bench-replication's measurement, on 3,000 keys: the replica
    gets every key, and the master's memory stays small."""
    import io
    import replication_bench
    out = io.StringIO()
    res = replication_bench.run(3000, requests=5000, out=out)
    assert res["master_rss_kb"] < 200 * 1024, out.getvalue()
    assert "caught up after the load stopped" in out.getvalue()


def min_replicas_replies(master, replica_pid):
    """The same min-replicas-to-write session on a master with one replica."""
    out = []
    with master.client() as c:
        c.execute("FUNCTION", "LOAD", "REPLACE", "#!lua name=mr\n"
                  "redis.register_function{function_name='rw', callback=function(k) return redis.call('get', k[1]) end}\n"
                  "redis.register_function{function_name='ro', callback=function(k) return redis.call('get', k[1]) end,"
                  " flags={'no-writes'}}")
        c.execute("SET", "x", "v")
        out.append(sorted(c.execute("CONFIG", "GET", "min-*")))
        out.append(c.execute("CONFIG", "SET", "min-slaves-to-write", "1", "min-slaves-max-lag", "10"))
        out.append(c.execute("SET", "x", "1"))
        out.append(info_replication(master).get("min_slaves_good_slaves"))
        out.append(c.execute("CONFIG", "SET", "min-replicas-to-write", "2"))
        out.append(info_replication(master).get("min_slaves_good_slaves"))
        for cmd in (("SET", "x", "2"), ("GET", "x"), ("INCR", "n"), ("DEL", "x"), ("PUBLISH", "ch", "m"),
                    ("EVAL", "return redis.call('get', KEYS[1])", "1", "x"),
                    ("EVAL", "return redis.call('set', KEYS[1], 'e')", "1", "x"),
                    ("EVAL", "#!lua\nreturn redis.call('get', KEYS[1])", "1", "x"),
                    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "x"),
                    ("FCALL", "rw", "1", "x"), ("FCALL", "ro", "1", "x"), ("FCALL_RO", "ro", "1", "x")):
            out.append((cmd, c.execute(*cmd)))
        out.append(c.execute("MULTI"))
        out.append(c.execute("GET", "x"))
        out.append(c.execute("SET", "x", "3"))
        out.append(c.execute("EXEC"))
        out.append(c.execute("MULTI"))
        out.append(c.execute("GET", "x"))
        out.append(c.execute("EXEC"))
        # a replica that stops acknowledging falls out after max-lag seconds
        out.append(c.execute("CONFIG", "SET", "min-replicas-to-write", "1", "min-replicas-max-lag", "1"))
        out.append(c.execute("SET", "x", "4"))
        os.kill(replica_pid, signal.SIGSTOP)
        try:
            wait_until(lambda: isinstance(c.execute("SET", "x", "5"), RespError), timeout=20,
                       what="the stopped replica to count as lagging")
            out.append(c.execute("SET", "x", "6"))
        finally:
            os.kill(replica_pid, signal.SIGCONT)
        wait_until(lambda: c.execute("SET", "x", "7") == "OK", timeout=20, what="the replica to be good again")
        out.append(c.execute("CONFIG", "SET", "min-replicas-to-write", "0"))
        out.append(c.execute("SET", "x", "8"))
    return out


def test_min_replicas_to_write_as_redis():
    with Dredis() as d, Redis() as ref:
        with start_replica(d.port) as r, start_replica(ref.port) as r2:
            wait_synced(d, r)
            wait_synced(ref, r2)
            got = min_replicas_replies(d, r.proc.pid)
            want = min_replicas_replies(ref, r2.proc.pid)
            assert got == want, [(g, w) for g, w in zip(got, want) if g != w]
            with r.client() as rc:  # ignored by replicas, as in Redis
                assert rc.execute("CONFIG", "SET", "min-replicas-to-write", "3") == "OK"
                wait_synced(d, r)
                assert rc.execute("GET", "x") == b"8"
