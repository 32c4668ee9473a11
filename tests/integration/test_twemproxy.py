"""twemproxy (Debian's nutcracker) shards keys over three dredis servers, as
docs/sharding.md configures it.

Three dredis-servers and a nutcracker on free loopback ports; the config is
written to a temporary directory. Keys of every type are written and read
back through the proxy, then each dredis is asked directly which keys it
holds: every key must be on exactly the server that twemproxy's ketama ring
names, computed here in Python as twemproxy 0.5.0 does it
(src/hashkit/nc_ketama.c, nc_murmur.c, nc_md5.c; server names and weights
from conf_add_server in src/nc_conf.c; hash tags from server_pool_idx in
src/nc_server.c). Also: hash tags, the pool that names servers by address
and uses redis_db, what the proxy refuses (it closes the connection, no
error reply), redis_auth, and that a stopped shard is not ejected."""
import bisect
import contextlib
import hashlib
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import tempfile

from dredis_test import ConnectionClosed, Client, Dredis, RespError, _Process, free_port, wait_until

NUTCRACKER = shutil.which("nutcracker")
WEIGHTS = (1, 1, 2)
TIMEOUT_MS = 10000  # generous: CI machines are slow; docs/sharding.md explains the choice


# ---------------------------------------------------------------------------
# twemproxy's placement, in Python
# ---------------------------------------------------------------------------

M32 = 0xFFFFFFFF


def murmur(key):
    """hash_murmur of nc_murmur.c (MurmurHash2, seed 0xdeadbeef * length;
    4-byte blocks read as a little-endian host reads them)."""
    m, n = 0x5bd1e995, len(key)
    h = ((0xdeadbeef * n) & M32) ^ n
    i = 0
    while n - i >= 4:
        k = struct.unpack_from("<I", key, i)[0]
        k = (k * m) & M32
        k ^= k >> 24
        k = (k * m) & M32
        h = ((h * m) & M32) ^ k
        i += 4
    rest = n - i
    if rest == 3:
        h ^= key[i + 2] << 16
    if rest >= 2:
        h ^= key[i + 1] << 8
    if rest >= 1:
        h = ((h ^ key[i]) * m) & M32
    h ^= h >> 13
    h = (h * m) & M32
    h ^= h >> 15
    return h


def f32(x):
    """x rounded to a C float."""
    return struct.unpack("f", struct.pack("f", x))[0]


class Ring:
    """The ketama continuum of ketama_update(): for each server, in config
    order, points in proportion to weight/total weight (computed in C float
    arithmetic, 160 a server on average), 4 points per MD5 of
    "<name>-<i>"; a key goes to the first point >= its hash, wrapping."""

    def __init__(self, servers, hash_tag=b"{}"):
        """servers: (name, weight) pairs, name as bytes."""
        self.hash_tag = hash_tag
        total, n = sum(w for _, w in servers), len(servers)
        points = []
        for idx, (name, weight) in enumerate(servers):
            pct = f32(f32(weight) / f32(total))
            per_server = int(math.floor(f32(f32(f32(f32(pct * 160) / 4) * n) + 1e-10))) * 4
            for i in range(per_server // 4):
                digest = hashlib.md5(b"%s-%d" % (name, i)).digest()
                points += [(v, idx) for v in struct.unpack("<4I", digest)]
        points.sort()
        # qsort leaves the order of equal points open: the model is exact
        # only without them
        assert len({v for v, _ in points}) == len(points), "two ketama points are equal"
        self.values = [v for v, _ in points]
        self.owners = [idx for _, idx in points]

    def hashed_part(self, key):
        """The part of the key that is hashed: what lies between the first
        '{' and the first '}' after it, when that is not empty."""
        if self.hash_tag:
            start = key.find(self.hash_tag[:1])
            if start >= 0:
                end = key.find(self.hash_tag[1:2], start + 1)
                if end > start + 1:
                    return key[start + 1:end]
        return key

    def server(self, key):
        if isinstance(key, str):
            key = key.encode()
        part = self.hashed_part(key)
        h = murmur(part) if part else 0  # server_pool_hash: an empty key hashes to 0
        i = bisect.bisect_left(self.values, h)
        return self.owners[i % len(self.owners)]

    def shares(self):
        """The fraction of the 32-bit hash space each server owns."""
        out = [0] * (max(self.owners) + 1)
        for i, (v, idx) in enumerate(zip(self.values, self.owners)):
            prev = self.values[i - 1] if i else self.values[-1] - (1 << 32)
            out[idx] += v - prev
        return [x / (1 << 32) for x in out]


# ---------------------------------------------------------------------------
# the processes
# ---------------------------------------------------------------------------

def pool_yaml(name, port, servers, named, extra=()):
    """One pool of the config: servers is a list of (Dredis, weight)."""
    lines = ["%s:" % name,
             "  listen: 127.0.0.1:%d" % port,
             "  redis: true",
             "  hash: murmur",
             "  distribution: ketama",
             "  auto_eject_hosts: false",
             "  timeout: %d" % TIMEOUT_MS,
             "  preconnect: true",
             "  server_connections: 1"]
    lines += ["  " + e for e in extra]
    lines.append("  servers:")
    for i, (d, w) in enumerate(servers):
        lines.append("    - 127.0.0.1:%d:%d%s" % (d.port, w, " shard%d" % (i + 1) if named else ""))
    return "\n".join(lines) + "\n"


class Nutcracker(_Process):
    """nutcracker with two pools over the same dredis servers:
    - "dredis" on self.port: servers named shard1..3 with WEIGHTS, hash_tag {}
    - "byaddr" on self.addr_port: unnamed (placed by host:port), weight 1
      each, redis_db 1."""

    def __init__(self, dredis, password=None):
        if not NUTCRACKER:
            raise AssertionError("nutcracker is required (Debian package nutcracker; scripts/deps.sh test installs it)")
        self.dir = tempfile.mkdtemp(prefix="dredis-twem-")
        self.logfile = os.path.join(self.dir, "nutcracker.log")
        self.port, self.addr_port, self.stats_port = free_port(), free_port(), free_port()
        self.conf = os.path.join(self.dir, "nutcracker.yml")
        auth = ["redis_auth: " + password] if password else []
        with open(self.conf, "w") as f:
            f.write(pool_yaml("dredis", self.port, list(zip(dredis, WEIGHTS)), True, ['hash_tag: "{}"'] + auth))
            f.write(pool_yaml("byaddr", self.addr_port, [(d, 1) for d in dredis], False, ["redis_db: 1"] + auth))
        subprocess.run([NUTCRACKER, "--test-conf", "-c", self.conf], check=True, capture_output=True, timeout=10)
        self.proc = subprocess.Popen(
            [NUTCRACKER, "-c", self.conf, "-s", str(self.stats_port), "-a", "127.0.0.1", "-i", "100",
             "-o", self.logfile, "-p", os.path.join(self.dir, "nutcracker.pid")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_ready()
        wait_until(lambda: self.stats() is not None, what="nutcracker's stats port")

    def stats(self):
        """The stats port's JSON, or None while it does not answer."""
        try:
            with socket.create_connection(("127.0.0.1", self.stats_port), timeout=5) as s:
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return json.loads(data)
                    data += chunk
        except (OSError, ValueError):
            return None

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def cluster(password=None):
    """Three dredis-servers and a nutcracker in front; all stopped by pid
    at the end, whatever happened. With a password, the servers require it
    (DREDIS_REQUIREPASS) and so does the proxy (redis_auth)."""
    with contextlib.ExitStack() as stack:
        servers = []
        for _ in range(3):
            d = Dredis(env={"DREDIS_REQUIREPASS": password} if password else None)
            stack.enter_context(d)
            servers.append(d)
        proxy = Nutcracker(servers, password)
        stack.enter_context(proxy)
        yield servers, proxy


def named_ring():
    return Ring([(b"shard%d" % (i + 1), w) for i, w in enumerate(WEIGHTS)])


def addr_ring(servers):
    # no name in the config: the name is "host:port" (the port left out
    # only when it is 11211, for libmemcached's sake)
    return Ring([(b"127.0.0.1:%d" % d.port, 1) for d in servers], hash_tag=b"")


def keys_on(server, db=0, password=None):
    with server.client() as c:
        if password:
            assert c.execute("AUTH", password) == "OK"
        if db:
            assert c.execute("SELECT", db) == "OK"
        return set(c.execute("KEYS", "*"))


def assert_placement(servers, ring, keys, db=0, password=None):
    """Each server holds exactly the keys the ring gives it; returns the
    number of keys on each."""
    keys = {k.encode() if isinstance(k, str) else k for k in keys}
    counts = []
    for idx, d in enumerate(servers):
        have = keys_on(d, db, password)
        want = {k for k in keys if ring.server(k) == idx}
        assert have == want, "server %d (db %d): %d keys that belong elsewhere (%r), %d missing (%r)" % (
            idx, db, len(have - want), sorted(have - want)[:5], len(want - have), sorted(want - have)[:5])
        counts.append(len(have))
    return counts


def batched(client, commands, size=500):
    out = []
    for i in range(0, len(commands), size):
        out += client.pipeline(commands[i:i + size])
    return out


def chunks(seq, size):
    return [seq[i:i + size] for i in range(0, len(seq), size)]


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------

N = 400  # keys of each kind; strings get 1000


def test_keys_of_every_type_land_where_ketama_puts_them():
    ring = named_ring()
    with cluster() as (servers, proxy):
        c = proxy.client()
        # "" hashes to 0; keys of UTF-8 bytes check the hash past ASCII
        strings = ["str:%d" % i for i in range(1000)] + ["ключ:%d" % i for i in range(50)] + [""]
        msets = ["mset:%d" % i for i in range(200)]
        hashes, lists, sets, zsets, counters, ttls = (
            ["%s:%d" % (kind, i) for i in range(N)] for kind in ("hash", "list", "set", "zset", "counter", "ttl"))
        doomed = ["del:%d" % i for i in range(300)]
        writes = [("SET", k, "v-" + k) for k in strings]
        writes += [("HSET", k, "f1", k, "f2", "2") for k in hashes]
        writes += [("RPUSH", k, "a", k, "c") for k in lists]
        writes += [("SADD", k, "x", "y", k) for k in sets]
        writes += [("ZADD", k, 1, "one", 2.5, k) for k in zsets]
        writes += [("INCR", k) for k in counters] + [("INCRBY", k, 2) for k in counters]
        writes += [("SET", k, "t") for k in ttls] + [("EXPIRE", k, 1000) for k in ttls]
        writes += [("SET", k, "x") for k in doomed]
        replies = batched(c, writes)
        assert not [r for r in replies if isinstance(r, RespError)], [r for r in replies if isinstance(r, RespError)][:3]
        # MSET, MGET, DEL (UNLINK, TOUCH) over many keys: twemproxy splits
        # them by server and puts the replies back together
        for part in chunks(msets, 50):
            assert c.execute("MSET", *[a for k in part for a in (k, "m-" + k)]) == "OK"

        for part in chunks(strings, 100):
            assert c.execute("MGET", *part) == [b"v-" + k.encode() for k in part]
        assert c.execute("MGET", *msets) == [b"m-" + k.encode() for k in msets]
        # but not EXISTS, whatever twemproxy's notes/redis.md says: 0.5.0
        # sends it whole to the first key's server, which counts its own
        first = ring.server(doomed[0])
        assert c.execute("EXISTS", *doomed) == sum(ring.server(k) == first for k in doomed) < len(doomed)
        assert c.execute("DEL", *doomed, "never-written") == len(doomed)
        assert c.execute("MGET", *doomed) == [None] * len(doomed)
        assert c.execute("GET", "") == b"v-"
        # a value much larger than nutcracker's 16 KB buffers
        big = bytes(range(256)) * 1024
        assert c.execute("SET", "big", big) == "OK" and c.execute("GET", "big") == big
        assert c.execute("STRLEN", "big") == len(big)
        reads = [("HGETALL", k) for k in hashes] + [("LRANGE", k, 0, -1) for k in lists]
        reads += [("SMEMBERS", k) for k in sets] + [("ZRANGE", k, 0, -1, "WITHSCORES") for k in zsets]
        reads += [("GET", k) for k in counters] + [("TTL", k) for k in ttls]
        got = iter(batched(c, reads))
        for k in hashes:
            assert next(got) == [b"f1", k.encode(), b"f2", b"2"], k
        for k in lists:
            assert next(got) == [b"a", k.encode(), b"c"], k
        for k in sets:
            assert sorted(next(got)) == sorted([b"x", b"y", k.encode()]), k
        for k in zsets:
            assert next(got) == [b"one", b"1", k.encode(), b"2.5"], k
        for k in counters:
            assert next(got) == b"3", k
        for k in ttls:
            assert 990 <= next(got) <= 1000, k
        c.close()

        everything = strings + msets + hashes + lists + sets + zsets + counters + ttls + ["big"]
        counts = assert_placement(servers, ring, everything)
        # the types made it too, and the expiry
        for idx, d in enumerate(servers):
            with d.client() as dc:
                mine = [k for k in hashes + zsets + ttls if ring.server(k) == idx]
                types = dc.pipeline([("TYPE", k) for k in mine])
                want = ["hash" if k.startswith("hash:") else "zset" if k.startswith("zset:") else "string"
                        for k in mine]
                assert types == want, idx
                assert all(t > 0 for t in dc.pipeline([("TTL", k) for k in mine if k.startswith("ttl:")]))

        # shares: the ring gives each server its weight's share of the hash
        # space (weights 1, 1, 2: 1/4, 1/4, 1/2), and the keys follow
        total = sum(counts)
        assert total == len(set(everything)) == 3652
        for share, count, w in zip(ring.shares(), counts, WEIGHTS):
            assert abs(share - w / sum(WEIGHTS)) < 0.03, (ring.shares(), WEIGHTS)
            assert abs(count / total - share) < 0.04, (counts, ring.shares())
        stats = proxy.stats()
        assert sorted(k for k in stats["dredis"] if k.startswith("shard")) == ["shard1", "shard2", "shard3"]
        assert stats["dredis"]["server_ejects"] == 0


def test_servers_named_by_address_and_redis_db():
    """The "byaddr" pool: no server names, so "127.0.0.1:<port>" is what
    the ring hashes; redis_db 1 makes nutcracker SELECT 1 on its server
    connections. Nothing lands in db 0."""
    with cluster() as (servers, proxy):
        ring = addr_ring(servers)
        keys = ["addr:%d" % i for i in range(900)]
        with Client(proxy.addr_port) as c:
            assert batched(c, [("SET", k, k) for k in keys]) == ["OK"] * len(keys)
            assert c.execute("MGET", *keys) == [k.encode() for k in keys]
        counts = assert_placement(servers, ring, keys, db=1)
        assert all(keys_on(d) == set() for d in servers)
        # the ring depends on the ports here: over 2000 random port triples
        # no server's share was off 1/3 by more than 0.083
        for share, n in zip(ring.shares(), counts):
            assert abs(share - 1 / 3) < 0.12 and abs(n / len(keys) - share) < 0.06, (counts, ring.shares())
        # the same keys through the named pool are placed by another ring
        named = named_ring()
        assert sum(ring.server(k) != named.server(k) for k in keys) > len(keys) // 4


def test_hash_tags_keep_keys_on_one_server():
    ring = named_ring()
    with cluster() as (servers, proxy), proxy.client() as c:
        users = ["user%d" % i for i in range(300)]
        keys = ["{%s}:%s" % (u, s) for u in users for s in ("a", "b", "c")]
        # only the first {...} counts; an empty or unclosed one does not
        odd = ["x{user1}y{zz}", "{}user1", "{user1", "user1}"]
        assert batched(c, [("SET", k, "1") for k in keys + odd]) == ["OK"] * (len(keys) + len(odd))
        assert_placement(servers, ring, keys + odd)
        where = {u: {ring.server("{%s}:%s" % (u, s)) for s in "abc"} for u in users}
        assert all(len(s) == 1 for s in where.values())
        assert where["user1"] == {ring.server("user1")}
        assert {s.pop() for s in where.values()} == {0, 1, 2}  # the tags do spread
        assert ring.server("x{user1}y{zz}") == ring.server("user1")
        assert ring.hashed_part(b"{}user1") == b"{}user1" and ring.hashed_part(b"{user1") == b"{user1"

        # commands over several keys work when the keys share a tag...
        assert c.execute("SADD", "{user1}:s1", "a", "b") == 2
        assert c.execute("SADD", "{user1}:s2", "c") == 1
        assert c.execute("SUNIONSTORE", "{user1}:u", "{user1}:s1", "{user1}:s2") == 3
        assert c.execute("RPUSH", "{user1}:l1", "x") == 1
        assert c.execute("RPOPLPUSH", "{user1}:l1", "{user1}:l2") == b"x"
        assert c.execute("LRANGE", "{user1}:l2", 0, -1) == [b"x"]
        # ...and silently use only the first key's server when they do not:
        # twemproxy does not check
        dst = next(k for k in ("dst:%d" % i for i in range(100)) if ring.server(k) != ring.server("{user1}:s1"))
        assert c.execute("SUNIONSTORE", dst, "{user1}:s1") == 0
        assert c.execute("EXISTS", dst) == 0


# what nutcracker 0.5.0 does with commands it does not proxy: no error
# reply, it closes the client connection (and logs "parsed unsupported
# command"). Replies still owed to commands pipelined before it may be lost
# with the connection.
REFUSED = [("MULTI",), ("EXEC",), ("WATCH", "k"), ("KEYS", "*"), ("SCAN", "0"), ("RANDOMKEY",),
           ("RENAME", "a", "b"), ("MSETNX", "a", "1", "b", "2"), ("SELECT", "1"), ("INFO",),
           ("DBSIZE",), ("FLUSHALL",), ("SUBSCRIBE", "ch"), ("PUBLISH", "ch", "m"), ("BLPOP", "l", 1),
           ("BRPOPLPUSH", "a", "b", 1), ("SCRIPT", "LOAD", "return 1"), ("HELLO", "3"),
           ("CLIENT", "SETNAME", "x"), ("ECHO", "x"), ("COMMAND", "COUNT"),
           # EVAL needs a key to route by
           ("EVAL", "return 1", 0)]


def assert_closes(c, *cmd):
    c.send(*cmd)
    try:
        r = c.read_reply()
    except ConnectionClosed:
        return
    raise AssertionError("%r: nutcracker answered %r instead of closing the connection" % (cmd, r))


def test_what_the_proxy_refuses():
    with cluster() as (servers, proxy):
        for cmd in REFUSED:
            with proxy.client(timeout=10) as c:
                assert c.execute("SET", "before", "1") == "OK", cmd
                assert_closes(c, *cmd)
        with proxy.client() as c:
            assert c.execute("PING") == "PONG"
            # scripts with keys are routed by their first key
            assert c.execute("EVAL", "return redis.call('GET', KEYS[1])", 1, "before") == b"1"
            assert c.execute("EVAL", "return redis.call('SET', KEYS[1], 'y')", 1, "{user1}:e") == "OK"
            assert c.execute("GET", "{user1}:e") == b"y"
            # COMMAND is forwarded to one of the servers
            assert isinstance(c.execute("COMMAND"), list)
            assert_closes(c, "QUIT")  # without Redis's +OK
        assert "parsed unsupported command 'MULTI'" in proxy.output()


def test_a_stopped_shard_is_not_ejected():
    """auto_eject_hosts: false: while a shard is down its keys fail with
    nutcracker's error and are not written anywhere else; once it is back
    (same port) they work again."""
    ring = named_ring()
    with cluster() as (servers, proxy), proxy.client() as c:
        keys = ["k:%d" % i for i in range(60)]
        down = ring.server("k:0")
        servers[down].stop()
        replies = batched(c, [("SET", k, "1") for k in keys])
        for k, r in zip(keys, replies):
            if ring.server(k) == down:
                assert r == RespError("ERR Connection refused"), (k, r)
            else:
                assert r == "OK", (k, r)
        for idx, d in enumerate(servers):
            if idx != down:
                assert keys_on(d) == {k.encode() for k in keys if ring.server(k) == idx}
        servers[down].start(servers[down].port)
        wait_until(lambda: c.execute("SET", "k:0", "2") == "OK", what="the shard to come back")
        assert c.execute("GET", "k:0") == b"2"
        assert proxy.stats()["dredis"]["server_ejects"] == 0


def test_redis_auth():
    """redis_auth: the proxy wants AUTH from its clients and sends AUTH to
    each server (which has DREDIS_REQUIREPASS) when it connects."""
    ring = named_ring()
    with cluster(password="s3cret") as (servers, proxy), proxy.client() as c:
        assert c.execute("SET", "a", "1") == RespError("NOAUTH Authentication required")  # no "." as Redis
        assert c.execute("AUTH", "wrong") == RespError("ERR invalid password")
        assert c.execute("AUTH", "wrong") == RespError("ERR invalid password")
        assert c.execute("AUTH", "s3cret") == "OK"
        keys = ["auth:%d" % i for i in range(300)]
        assert batched(c, [("SET", k, k) for k in keys]) == ["OK"] * len(keys)
        assert c.execute("MGET", *keys) == [k.encode() for k in keys]
        assert all(assert_placement(servers, ring, keys, password="s3cret"))
        # redis_auth with redis_db does not work: nutcracker 0.5.0 sends
        # SELECT when it connects (preconnect) and AUTH only in front of the
        # first request; the server answers the SELECT with NOAUTH (as
        # Redis does) and the pool's keys go to db 0
        with Client(proxy.addr_port) as c2:
            assert c2.execute("AUTH", "s3cret") == "OK" and c2.execute("SET", "x", "1") == "OK"
        where = addr_ring(servers).server("x")
        assert [keys_on(d, 1, "s3cret") for d in servers] == [set()] * 3
        assert b"x" in keys_on(servers[where], 0, "s3cret")
