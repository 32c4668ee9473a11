"""Replication, dredis as a replica (src/replica.c):

- of a real redis-server 7.0 loaded with every encoding it writes (diskless
  and disk-based full sync), then following its writes;
- of another dredis, read-only to clients, promoted with REPLICAOF NO ONE;
- across restarts: a replica (and the replicas of a master) that stopped
  cleanly continue with a partial resync;
- a full sync that breaks half way, or brings a damaged RDB, leaves the old
  data served and nothing behind in the tree."""
import os
import socket
import threading
import time

from dredis_test import Dredis, Redis, RespError, encode_command, wait_until
from test_rdb_file import fill_every_encoding, fill_streams, stream_groups
from test_replication import master_stat, wait_synced
from test_snapshot import dump

READONLY = RespError("READONLY You can't write against a read only replica.")


def replica_of(master, env=None, root_dir=None):
    e = {"DREDIS_REPLICAOF": "127.0.0.1:%d" % master.port}
    e.update(env or {})
    return Dredis(env=e, root_dir=root_dir)


def link_up(replica):
    with replica.client() as c:
        return "master_link_status:up" in c.execute("INFO", "replication").decode()


def synced(master, replica, timeout=60):
    wait_until(lambda: link_up(replica), timeout=timeout, what="the replica's link to come up")
    wait_synced(master, replica, timeout=timeout)


def same_data(master, replica):
    with master.client() as m, replica.client() as r:
        want, got = dump(m), dump(r)
    assert got == want, "the replica differs: %r" % {
        db: {k: (want.get(db, {}).get(k), got.get(db, {}).get(k))
             for k in set(want.get(db, {})) | set(got.get(db, {}))
             if want.get(db, {}).get(k) != got.get(db, {}).get(k)}
        for db in set(want) | set(got) if want.get(db) != got.get(db)}


def write_load(c):
    """Writes of every kind, rewritten ones included."""
    c.execute("SET", "s1", "v", "EX", "1000")
    c.execute("INCRBYFLOAT", "f", "1.25")
    c.execute("RPUSH", "newlist", "a", "b", "c")
    c.execute("LPOP", "newlist")
    c.execute("SADD", "newset", "x", "y", "z")
    c.execute("SPOP", "newset")
    c.execute("HSET", "newhash", "f", "v")
    c.execute("ZADD", "newz", "1", "a", "2", "b")
    c.execute("ZPOPMIN", "newz")
    c.execute("EVAL", "redis.call('set', KEYS[1], 'a') redis.call('append', KEYS[1], 'b')", "1", "scripted")
    c.execute("MULTI"), c.execute("INCR", "ctr"), c.execute("INCR", "ctr"), c.execute("EXEC")
    c.execute("XADD", "stream", "*", "late", "1")
    c.execute("XREADGROUP", "GROUP", "g1", "carol", "COUNT", "2", "STREAMS", "stream", ">")
    c.execute("SELECT", "9"), c.execute("SET", "in9", "v"), c.execute("SELECT", "0")
    c.execute("DEL", "raw")


def check_follows(master, replica):
    synced(master, replica)
    same_data(master, replica)
    assert stream_groups(replica) == stream_groups(master)
    with master.client() as c:
        write_load(c)
    synced(master, replica)
    same_data(master, replica)


# ---------------------------------------------------------------------------
# of a real Redis
# ---------------------------------------------------------------------------

def every_encoding_master(diskless):
    r = Redis(extra_args=["--repl-diskless-sync", "yes" if diskless else "no", "--repl-diskless-sync-delay", "0",
                          "--rdbcompression", "yes", "--enable-debug-command", "yes"])
    with r.client() as c:
        fill_every_encoding(c)
    return r


def test_replica_of_redis_diskless_sync():
    with every_encoding_master(diskless=True) as m, replica_of(m) as d:
        check_follows(m, d)
        assert "receiving a diskless RDB" in d.output()


def test_replica_of_redis_disk_sync_and_read_only():
    with every_encoding_master(diskless=False) as m, replica_of(m) as d:
        check_follows(m, d)
        with d.client() as c:
            assert c.execute("SET", "x", "1") == READONLY
            err = c.execute("EVAL", "return redis.call('set', 'x', '1')", "0")
            assert isinstance(err, RespError) and err.message.startswith(
                "READONLY You can't write against a read only replica. script: "), err
            assert c.execute("MULTI") == "OK"
            assert c.execute("SET", "x", "1") == READONLY
            assert c.execute("EXEC") == RespError("EXECABORT Transaction discarded because of previous errors.")
            role = c.execute("ROLE")
            assert role[0] == b"slave" and role[2] == m.port and role[3] == b"connected", role
            assert c.execute("WAIT", "1", "0").message.startswith("ERR WAIT cannot be used with replica")


def test_replica_does_not_expire_keys_the_master_has():
    """A replica reads an expired key as missing but leaves it to its
    master's DEL."""
    with Redis(extra_args=["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]) as m, \
            replica_of(m) as d:
        with m.client() as mc:
            mc.execute("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            mc.execute("SET", "t", "v", "PX", "300")
        synced(m, d)
        time.sleep(0.5)
        with d.client() as c:
            assert c.execute("GET", "t") is None
            assert c.execute("DBSIZE") == 1  # still there: the master has not said
        with m.client() as mc:
            assert mc.execute("GET", "t") is None  # the master expires it: DEL
        synced(m, d)
        with d.client() as c:
            assert c.execute("DBSIZE") == 0


# ---------------------------------------------------------------------------
# of another dredis
# ---------------------------------------------------------------------------

def test_replica_of_dredis_then_promoted():
    with Dredis() as m:
        with m.client() as c:
            fill_streams(c)
            for i in range(300):
                c.execute("HSET", "h%d" % (i % 10), "f%d" % i, "v")
        with replica_of(m) as d:
            check_follows(m, d)
            with d.client() as c:
                assert c.execute("REPLICAOF", "127.0.0.1", str(m.port)) == "OK Already connected to specified master"
                assert c.execute("REPLICAOF", "NO", "ONE") == "OK"
                assert c.execute("SET", "after", "promotion") == "OK"
                assert c.execute("GET", "in9") is None and c.execute("HLEN", "h3") == 30
                info = c.execute("INFO", "replication").decode()
                assert "role:master" in info and "master_replid2:" in info, info


def test_replica_of_a_replica():
    with Dredis() as m, replica_of(m) as r1, replica_of(r1) as r2:
        with m.client() as c:
            fill_streams(c)
            write_load(c)
        synced(m, r1)
        wait_until(lambda: link_up(r2), timeout=60, what="the second replica's link")
        with r1.client() as c1, r2.client() as c2:
            def caught_up():
                return dump(c2) == dump(c1) and c2.execute("ROLE")[4] == c1.execute("ROLE")[4]
            wait_until(caught_up, timeout=30, what="the replica of the replica")


# ---------------------------------------------------------------------------
# restarts
# ---------------------------------------------------------------------------

def test_replica_restart_continues_with_a_partial_resync():
    with Dredis() as m:
        with m.client() as c:
            c.execute("SET", "a", "1")
        with replica_of(m) as d:
            synced(m, d)
            d.stop()  # SIGTERM: a clean shutdown writes .replication
            assert os.path.exists(os.path.join(d.root_dir, ".replication"))
            with m.client() as c:
                c.execute("SET", "b", "while the replica was down")
            d.start()
            synced(m, d)
            assert not os.path.exists(os.path.join(d.root_dir, ".replication"))
            with m.client() as c, d.client() as r:
                assert r.execute("GET", "b") == b"while the replica was down"
                assert master_stat(c, "sync_full") == 1 and master_stat(c, "sync_partial_ok") == 1
            # a replica killed (no clean shutdown) syncs in full
            d.kill()
            d.start()
            synced(m, d)
            with m.client() as c:
                assert master_stat(c, "sync_full") == 2


def test_master_restart_lets_replicas_continue():
    with Dredis() as m:
        with m.client() as c:
            c.execute("SET", "a", "1")
        with replica_of(m) as d:
            synced(m, d)
            m.restart(same_port=True)
            with m.client() as c:
                c.execute("SET", "b", "2")
            synced(m, d)
            with m.client() as c, d.client() as r:
                assert r.execute("GET", "b") == b"2"
                assert master_stat(c, "sync_partial_ok") == 1 and master_stat(c, "sync_full") == 0


# ---------------------------------------------------------------------------
# a full sync that fails keeps the old data
# ---------------------------------------------------------------------------

class FakeMaster:
    """A master that answers the handshake, then sends what it is told."""

    def __init__(self, payload):
        """payload: the bytes after +FULLRESYNC (a list: one per connection,
        the last one for the rest)."""
        self.payloads = payload if isinstance(payload, list) else [payload]
        self.psyncs = []  # the PSYNC lines the replica sent
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.syncs = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                buf = b""
                conn.settimeout(5)
                try:
                    while buf.count(b"REPLCONF") < 2:  # PING and two REPLCONF, sent together
                        buf += conn.recv(4096) or b"REPLCONF" * 2
                    conn.sendall(b"+PONG\r\n+OK\r\n+OK\r\n")
                    while b"PSYNC" not in buf or not buf.endswith(b"\r\n"):
                        buf += conn.recv(4096) or b"PSYNC\r\n"
                    self.psyncs.append(buf[buf.index(b"PSYNC"):])
                    payload = self.payloads[min(self.syncs, len(self.payloads) - 1)]
                    conn.sendall(b"+FULLRESYNC " + b"a" * 40 + b" 100\r\n" + payload)
                    self.syncs += 1
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def tmp_leftovers(root):
    return [n for n in os.listdir(os.path.join(root, ".tmp")) if n[0] in "rl"]


def test_broken_or_damaged_full_sync_keeps_the_old_data():
    rdb_head = b"REDIS0010\xfa\x09redis-ver\x067.0.15"
    cases = [b"$1000\r\n" + b"x" * 500,                        # cut half way
             b"$40\r\n" + b"not an rdb file at all, forty bytes long",  # damaged, complete
             b"$%d\r\n" % len(rdb_head) + rdb_head]             # truncated RDB
    with Dredis() as d:
        with d.client() as c:
            c.execute("SET", "old", "data")
            c.execute("RPUSH", "oldlist", "a", "b")
        for payload in cases:
            fake = FakeMaster(payload)
            try:
                with d.client() as c:
                    assert c.execute("REPLICAOF", "127.0.0.1", str(fake.port)) == "OK"
                    wait_until(lambda: fake.syncs >= 2, timeout=30, what="two sync attempts")
                    assert c.execute("GET", "old") == b"data"
                    assert c.execute("LRANGE", "oldlist", "0", "-1") == [b"a", b"b"]
                    assert c.execute("REPLICAOF", "NO", "ONE") == "OK"
                wait_until(lambda: not tmp_leftovers(d.root_dir), timeout=10, what="the sync's files to go")
            finally:
                fake.close()
        assert "MASTER <-> REPLICA sync" in d.output()


def test_master_restart_that_empties_the_data_forces_a_full_sync():
    """FLUSHALL_ON_STARTUP (or an import) replaces the data: the history of
    the last shutdown must not let replicas continue on the old data."""
    with Dredis() as m:
        with m.client() as c:
            c.execute("SET", "a", "1")
        with replica_of(m) as d:
            synced(m, d)
            m.stop()
            m.env["FLUSHALL_ON_STARTUP"] = "yes"
            m.start(port=m.port)
            synced(m, d)
            with m.client() as c, d.client() as r:
                assert master_stat(c, "sync_full") == 1 and master_stat(c, "sync_partial_ok") == 0
                assert r.execute("GET", "a") is None and r.execute("DBSIZE") == 0


def test_masterauth_both_ways():
    """A replica authenticates with DREDIS_MASTERAUTH (masterauth for a real
    Redis replica of dredis); a wrong password keeps it out, with the reason
    in the log."""
    with Dredis(env={"DREDIS_REQUIREPASS": "s3cret"}) as m:
        with m.client() as c:
            assert c.execute("AUTH", "s3cret") == "OK"
            c.execute("SET", "a", "1")
        with replica_of(m, env={"DREDIS_MASTERAUTH": "wrong"}) as bad:
            wait_until(lambda: "Unable to AUTH to MASTER" in bad.output(), timeout=30, what="the AUTH failure")
            assert not link_up(bad)
        with replica_of(m, env={"DREDIS_MASTERAUTH": "s3cret"}) as d:
            wait_until(lambda: link_up(d), timeout=30, what="the replica's link")
            with d.client() as r:
                wait_until(lambda: r.execute("GET", "a") == b"1", timeout=30, what="the data")
        with Redis(extra_args=("--replicaof", "127.0.0.1", str(m.port), "--masterauth", "s3cret")) as rr:
            with rr.client() as r:
                wait_until(lambda: r.execute("GET", "a") == b"1", timeout=30, what="the real replica's data")
    with Redis(extra_args=("--requirepass", "pw", "--repl-diskless-sync-delay", "0")) as m:
        with m.client() as c:
            c.execute("AUTH", "pw")
            c.execute("SET", "b", "2")
        with replica_of(m, env={"DREDIS_MASTERAUTH": "pw"}) as d:
            with d.client() as r:
                wait_until(lambda: r.execute("GET", "b") == b"2", timeout=30, what="the data from Redis")


# ---------------------------------------------------------------------------
# the stream's database across breaks and chains; busy scripts; slow loads
# ---------------------------------------------------------------------------

def test_stream_database_survives_breaks_restarts_and_chains():
    """No SELECT comes again after a partial resync: the replica (and a
    replica of it, synced in full from it) keep writing into the database
    the master's stream is in."""
    with Dredis() as m, replica_of(m) as d:
        with m.client() as c:
            c.execute("SELECT", "3")
            c.execute("SET", "a", "1")
        synced(m, d)
        with d.client() as r:
            assert r.execute("CLIENT", "KILL", "TYPE", "master") == 1
        wait_until(lambda: "Successful partial resynchronization" in d.output(), timeout=30, what="a partial resync")
        with m.client() as c:
            c.execute("SELECT", "3")
            c.execute("SET", "b", "2")  # the master's stream is still in db 3: no SELECT
        synced(m, d)
        d.stop()
        with m.client() as c:
            c.execute("SELECT", "3")
            c.execute("SET", "c", "3")
        d.start()
        synced(m, d)
        with replica_of(d) as d2:
            wait_until(lambda: link_up(d2), timeout=30, what="the chained replica's link")
            with m.client() as c:
                c.execute("SELECT", "3")
                c.execute("SET", "e", "5")
            for s in (d, d2):
                with s.client() as r:
                    r.execute("SELECT", "3")
                    wait_until(lambda: r.execute("MGET", "a", "b", "c", "e") == [b"1", b"2", b"3", b"5"],
                               timeout=30, what="the writes in db 3")
                    r.execute("SELECT", "0")
                    assert r.execute("DBSIZE") == 0, "a write landed in db 0"


def test_master_stream_waits_for_a_busy_script():
    """A replica running a script past its time limit applies nothing of
    its master's stream (it would answer -BUSY) and acknowledges nothing
    more; afterwards it applies it all."""
    with Dredis() as m, replica_of(m, env={"DREDIS_LUA_TIME_LIMIT": "100"}) as d:
        synced(m, d)
        with d.client() as busy:
            busy.send("EVAL", "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] "
                      "while true do local n = redis.call('TIME') "
                      "if n[1] * 1000000 + n[2] - s > 1500000 then return 1 end end", "0")
            time.sleep(0.3)
            with m.client() as c:
                c.execute("SET", "during", "the script")
                assert c.execute("WAIT", "1", "500") == 0  # not acknowledged while it runs
            assert busy.read_reply() == 1
        synced(m, d)
        with d.client() as r:
            assert r.execute("GET", "during") == b"the script"


def test_slow_load_is_not_a_timeout():
    """A replica loading an RDB longer than repl-timeout tells its master
    it is alive (a newline a second) and is not dropped."""
    with Dredis(env={"DREDIS_REPL_TIMEOUT": "2"}) as m:
        with m.client() as c:
            from snapshot_bench import load_keys
            load_keys(c, 12000)
        with replica_of(m) as d:
            synced(m, d, timeout=120)
            with m.client() as c:
                assert master_stat(c, "sync_full") == 1
            assert "dropped" not in m.output(), m.output()


def test_psync_to_a_replica_without_its_master():
    with Dredis() as m, replica_of(m) as d:
        synced(m, d)
        m.kill()
        wait_until(lambda: not link_up(d), timeout=30, what="the link to go down")
        with d.client() as r:
            r.send_raw(encode_command(["PSYNC", "?", "-1"]))
            assert r.read_reply() == RespError("NOMASTERLINK Can't SYNC while not connected with my master")


def test_info_replication_of_a_replica_as_redis():
    """A dredis replica and a real Redis replica of the same master print
    the same INFO replication fields in the same order (Sentinel and
    exporters parse them)."""
    from test_replication import info_fields
    with Dredis() as m, replica_of(m) as d, Redis(extra_args=("--replicaof", "127.0.0.1", str(m.port))) as r:
        synced(m, d)
        wait_until(lambda: link_up(r), timeout=30, what="the Redis replica's link")
        with d.client() as dc, r.client() as rc:
            assert info_fields(dc, "replication") == info_fields(rc, "replication")
            assert dc.execute("ROLE")[:4] == rc.execute("ROLE")[:4]


def test_a_break_inside_multi_is_asked_for_again():
    """The bytes of a MULTI block count once its EXEC is applied: a link
    broken between MULTI and EXEC asks the master for the block again."""
    from test_rdb_file import with_crc
    empty_rdb = with_crc(b"REDIS0010\xff")
    rdb = b"$%d\r\n" % len(empty_rdb) + empty_rdb
    set_x = b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n"
    half_block = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" + set_x + b"*1\r\n$5\r\nMULTI\r\n" + set_x
    fake = FakeMaster([rdb + half_block, rdb])
    try:
        with Dredis(env={"DREDIS_REPLICAOF": "127.0.0.1:%d" % fake.port}) as d:
            wait_until(lambda: fake.syncs >= 2, timeout=30, what="the replica to come back")
            applied = 100 + len(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" + set_x)
            assert fake.psyncs[1].split(b"\r\n")[-2] == str(applied + 1).encode(), fake.psyncs
    finally:
        fake.close()


def test_scripts_that_may_write_do_not_start_on_a_replica():
    """As Redis 7.0: a script (or function) whose flags allow writes is
    refused up front on a read-only replica, as a write command; one
    without a shebang runs and fails at its first write; no-writes ones run."""
    with Dredis() as m, replica_of(m) as d:
        with m.client() as c:
            c.execute("SET", "k", "v")
            c.execute("FUNCTION", "LOAD", "#!lua name=lib\n"
                      "redis.register_function('w', function(keys, args) return redis.call('set', keys[1], 'x') end)\n"
                      "redis.register_function{function_name='r', callback=function(keys, args) "
                      "return redis.call('get', keys[1]) end, flags={'no-writes'}}")
        synced(m, d)
        refused = RespError("READONLY You can't write against a read only replica.")
        with d.client() as r:
            assert r.execute("EVAL", "#!lua\nreturn 1", "0") == refused
            assert r.execute("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0") == b"v"
            assert r.execute("FCALL", "w", "1", "k") == refused
            assert r.execute("FCALL", "r", "1", "k") == b"v"
            assert r.execute("FCALL_RO", "r", "1", "k") == b"v"
            err = r.execute("EVAL", "return redis.call('set', 'k', 'x')", "0")
            assert isinstance(err, RespError) and "READONLY" in err.message, err


def stale_replica_replies(server):
    """A replica whose master cannot be reached, with replica-serve-stale-data no."""
    with server.client() as c:
        out = [c.execute("SET", "x", "before"), c.execute("SCRIPT", "LOAD", "#!lua flags=allow-stale,no-writes\n"
                                                          "return redis.call('echo', 'foobar')")]
        out.append(c.execute("CONFIG", "SET", "slave-serve-stale-data", "no"))
        out.append(sorted(c.execute("CONFIG", "GET", "*serve-stale-data")))
        out.append(c.execute("REPLICAOF", "127.0.0.1", "1"))
        for cmd in (("GET", "x"), ("PING",), ("DBSIZE",), ("SET", "x", "1"), ("ECHO", "e"),
                    ("EVAL", "return redis.call('get', KEYS[1])", "1", "x"), ("EVAL", "return 1", "0"),
                    ("EVAL", "#!lua flags=no-writes\nreturn 1", "0"),
                    ("EVAL", "#!lua flags=allow-stale,no-writes\nreturn 1", "0"),
                    ("EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.call('get', KEYS[1])", "1", "x"),
                    ("EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.call('echo', 'foobar')", "0"),
                    ("EVALSHA", out[1], "0"), ("EVAL", "#!lua flags=allow-stale\nreturn 1", "0"),
                    ("FCALL", "nosuch", "0")):
            r = c.execute(*cmd)
            out.append((cmd, r.message.split(" script: ")[0] if isinstance(r, RespError) else r))
        out.append(c.execute("MULTI"))
        out.append(c.execute("GET", "x"))
        out.append(c.execute("EXEC"))
        out.append(c.execute("MULTI"))
        out.append(c.execute("INFO", "server") is not None)
        out.append(c.execute("EXEC")[0] is not None)
        out.append(c.execute("CONFIG", "SET", "replica-serve-stale-data", "yes"))
        out.append(c.execute("GET", "x"))
        out.append(c.execute("REPLICAOF", "NO", "ONE"))
    return out


def test_replica_serve_stale_data_no_as_redis():
    with Dredis() as d, Redis() as ref:
        got, want = stale_replica_replies(d), stale_replica_replies(ref)
        assert got == want, [(g, w) for g, w in zip(got, want) if g != w]


def test_key_load_delay_slows_the_load_of_a_full_sync():
    """Redis's hidden key-load-delay: the child loading the master's RDB
    sleeps before each key (here 0.2 s for each of 15 keys), so a second
    after the load began the link is still down; then all arrives."""
    with Dredis() as m, Dredis() as d:
        with m.client() as c:
            for i in range(15):
                c.execute("SET", "k%d" % i, "v")
        with d.client() as c:
            assert c.execute("CONFIG", "SET", "key-load-delay", "200000") == "OK"
            assert c.execute("REPLICAOF", "127.0.0.1", str(m.port)) == "OK"
        wait_until(lambda: "loading them" in d.output(), timeout=30, what="the load to begin")
        time.sleep(1)
        assert not link_up(d)
        synced(m, d, timeout=60)
        same_data(m, d)
