"""FAILOVER (src/replication.c, src/replica.c): Redis 7.0's coordinated
handover from a master to one of its replicas, with real processes only:

- dredis master -> real redis-server replica, real redis-server master ->
  dredis replica, and dredis -> dredis (with a second replica that follows
  the old master), each checked for the data on every node afterwards, the
  roles, the partial resyncs (+CONTINUE: sync_partial_ok, no sync_full) and
  the two replication ids (master_replid2, second_repl_offset);
- the same scenarios run on three redis-servers, and what INFO replication
  and ROLE show compared;
- TIMEOUT (abort, or FORCE: fail over all the same), FAILOVER ABORT, a
  target that refuses the PSYNC, writes held meanwhile (and their replies
  after), blocked clients, and every argument or state error, each against
  a real redis-server's answer to the same call.

Nothing is timed by sleeping: every wait polls with a generous deadline
(CI runs this under AddressSanitizer on a busy machine)."""
import contextlib
import os
import select
import signal

from dredis_test import Dredis, Redis, RespError, encode_command, info_map, wait_until
from test_replica import replica_of
from test_replication import wait_synced
from test_snapshot import dump

DEADLINE = 60  # seconds, for anything that waits on replication
KINDS = ("dredis", "redis")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def start(kind, master=None):
    """A dredis or a redis-server, a replica of master when given."""
    if kind == "dredis":
        return replica_of(master) if master else Dredis()
    args = ("--repl-diskless-sync-delay", "0")
    if master:
        args += ("--replicaof", "127.0.0.1", str(master.port))
    return Redis(extra_args=args)


def info(server, section="replication"):
    with server.client() as c:
        return info_map(c, section)


def info_names(server):
    return list(info(server))


def role(server):
    with server.client() as c:
        return c.execute("ROLE")


def stat(server, name):
    return int(info(server, "stats")[name])


def syncs(server):
    return stat(server, "sync_full"), stat(server, "sync_partial_ok")


def failover_state(server):
    return info(server)["master_failover_state"]


def wait_state(server, state, timeout=DEADLINE):
    wait_until(lambda: failover_state(server) == state, timeout=timeout,
               what="master_failover_state:%s on port %d" % (state, server.port))


def link_up(server):
    return info(server).get("master_link_status") == "up"


def wait_replica_of(replica, master, timeout=DEADLINE):
    """replica follows master, its link up and in sync with it"""
    def following():
        r = role(replica)
        return r[0] == b"slave" and r[2] == master.port and r[3] == b"connected"
    wait_until(following, timeout=timeout, what="port %d to follow port %d" % (replica.port, master.port))
    wait_synced(master, replica, timeout=timeout)


def same_data(*servers):
    dumps = []
    for s in servers:
        with s.client() as c:
            dumps.append(dump(c))
    for s, d in zip(servers[1:], dumps[1:]):
        assert d == dumps[0], "port %d differs from port %d: %r" % (s.port, servers[0].port, {
            db: {k: (dumps[0].get(db, {}).get(k), d.get(db, {}).get(k))
                 for k in set(dumps[0].get(db, {})) | set(d.get(db, {}))
                 if dumps[0].get(db, {}).get(k) != d.get(db, {}).get(k)}
            for db in set(dumps[0]) | set(d) if dumps[0].get(db) != d.get(db)})


def load(c, tag, n=40):
    """writes of several types, in two databases"""
    for i in range(n):
        c.execute("SET", "%s:s%d" % (tag, i), "v%d" % i)
        c.execute("RPUSH", "%s:l%d" % (tag, i % 4), "e%d" % i)
        c.execute("HSET", "%s:h" % tag, "f%d" % i, i)
        c.execute("ZADD", "%s:z" % tag, i, "m%d" % i)
    c.execute("SET", "%s:ttl" % tag, "v", "EX", "1000")
    c.execute("SELECT", "5")
    c.execute("SADD", "%s:in5" % tag, "a", "b")
    c.execute("SELECT", "0")


def log_of(server):
    if isinstance(server, Dredis):
        return server.output()
    with open(server.logfile, errors="replace") as f:
        return f.read()


@contextlib.contextmanager
def stopped(server):
    """server frozen by SIGSTOP for the block (so it acknowledges nothing)"""
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)


def blocked_clients(server):
    return int(info(server, "clients")["blocked_clients"])


def has_reply(client):
    """whether a reply is waiting to be read (without waiting for one)"""
    return bool(client.buf) or bool(select.select([client.sock], [], [], 0)[0])


class Held:
    """A write sent on its own connection while FAILOVER holds writes: it
    must be postponed (counted in blocked_clients), its reply read later."""

    def __init__(self, master, *args):
        self.client = master.client()
        before = blocked_clients(master)
        self.client.send(*args)
        wait_until(lambda: blocked_clients(master) == before + 1, timeout=DEADLINE, what="the write to be held")
        assert not has_reply(self.client)

    def reply(self):
        try:
            return self.client.read_reply()
        finally:
            self.client.close()


# ---------------------------------------------------------------------------
# across implementations
# ---------------------------------------------------------------------------

def test_dredis_master_fails_over_to_a_redis_replica():
    """FAILOVER TO a real redis-server replica: Redis takes over with a
    partial resync of dredis, and a second (dredis) replica of dredis
    continues from dredis under the new id."""
    with Dredis() as m:
        with m.client() as c:
            load(c, "before")
        with start("redis", m) as r, replica_of(m) as d2:
            wait_replica_of(r, m)
            wait_replica_of(d2, m)
            old = info(m)
            r_syncs, m_syncs = syncs(r), syncs(m)
            with m.client() as c:
                load(c, "last", 5)  # not acknowledged yet: FAILOVER waits for them
                assert c.execute("FAILOVER", "TO", "127.0.0.1", r.port) == "OK"
            wait_state(m, "no-failover")
            assert role(r)[0] == b"master"
            wait_replica_of(m, r)
            wait_replica_of(d2, m)
            # +CONTINUE both ways: the target took dredis on, dredis its replica
            assert syncs(r) == (r_syncs[0], r_syncs[1] + 1)
            assert syncs(m) == (m_syncs[0], m_syncs[1] + 1)
            ids = [info(n) for n in (r, m, d2)]
            for i in ids:
                assert i["master_replid"] == ids[0]["master_replid"] != old["master_replid"]
                assert i["master_replid2"] == old["master_replid"]
                assert i["second_repl_offset"] == ids[0]["second_repl_offset"]
                assert int(i["second_repl_offset"]) > int(old["master_repl_offset"])
            with r.client() as c:
                load(c, "after")
            wait_replica_of(m, r)
            wait_replica_of(d2, m)
            same_data(r, m, d2)
            with m.client() as c:
                assert c.execute("SET", "x", "1") == RespError("READONLY You can't write against a read only replica.")
            assert "Failover target 127.0.0.1:%d is synced, failing over." % r.port in log_of(m)


def test_redis_master_fails_over_to_a_dredis_replica():
    """FAILOVER TO a dredis replica on a real redis-server: dredis promotes
    itself on Redis's PSYNC ... FAILOVER and takes Redis on with +CONTINUE;
    a second (Redis) replica continues from the old master."""
    with start("redis") as m:
        with m.client() as c:
            load(c, "before")
        with start("dredis", m) as d, start("redis", m) as r2:
            wait_replica_of(d, m)
            wait_replica_of(r2, m)
            old = info(m)
            d_syncs = syncs(d)
            with m.client() as c:
                load(c, "last", 5)
                assert c.execute("FAILOVER", "TO", "127.0.0.1", d.port) == "OK"
            wait_state(m, "no-failover")
            assert role(d)[0] == b"master"
            wait_replica_of(m, d)
            wait_replica_of(r2, m)
            assert syncs(d) == (d_syncs[0], d_syncs[1] + 1)
            ids = [info(n) for n in (d, m, r2)]
            for i in ids:
                assert i["master_replid"] == ids[0]["master_replid"] != old["master_replid"]
                assert i["master_replid2"] == old["master_replid"]
                assert i["second_repl_offset"] == ids[0]["second_repl_offset"]
                assert int(i["second_repl_offset"]) > int(old["master_repl_offset"])
            assert "MASTER MODE enabled (failover request from" in log_of(d)
            with d.client() as c:
                load(c, "after")
            wait_replica_of(m, d)
            wait_replica_of(r2, m)
            same_data(d, m, r2)


def failover_of_three(kind):
    """n0 master of n1 and n2; FAILOVER TO n1 right after writes. What the
    three show afterwards, with ports and ids left out."""
    with start(kind) as n0:
        with n0.client() as c:
            load(c, "before")
        with start(kind, n0) as n1, start(kind, n0) as n2:
            wait_replica_of(n1, n0)
            wait_replica_of(n2, n0)
            old = info(n0)
            before = [syncs(n) for n in (n0, n1, n2)]
            with n0.client() as c:
                load(c, "last", 10)
                assert c.execute("FAILOVER", "TO", "127.0.0.1", n1.port) == "OK"
            wait_state(n0, "no-failover")
            wait_replica_of(n0, n1)
            wait_replica_of(n2, n0)
            seen = {"roles": [], "names": [], "ids": [], "syncs": []}
            for n, (full, partial) in zip((n0, n1, n2), before):
                r = role(n)
                seen["roles"].append([r[0], len(r)] + ([r[3]] if r[0] == b"slave" else [len(r[2])]))
                seen["names"].append(info_names(n))
                i = info(n)
                seen["ids"].append((i["master_replid"] == info(n1)["master_replid"],
                                    i["master_replid2"] == old["master_replid"],
                                    int(i["second_repl_offset"]) > int(old["master_repl_offset"]),
                                    i["master_failover_state"]))
                now = syncs(n)
                seen["syncs"].append((now[0] - full, now[1] - partial))
            assert role(n0)[2] == n1.port and role(n2)[2] == n0.port
            with n1.client() as c:
                load(c, "after", 10)
            wait_replica_of(n0, n1)
            wait_replica_of(n2, n0)
            same_data(n1, n0, n2)
            return seen


def test_dredis_to_dredis_as_redis_to_redis():
    """The same failover among three dredis and among three redis-servers:
    the same roles, INFO replication fields, replication ids and
    partial resyncs (n1 takes n0 on, n0 takes n2 on again, no full sync)."""
    ours = failover_of_three("dredis")
    theirs = failover_of_three("redis")
    assert ours == theirs, (ours, theirs)
    assert ours["syncs"] == [(0, 1), (0, 1), (0, 0)]
    assert ours["roles"] == [[b"slave", 5, b"connected"], [b"master", 3, 1], [b"slave", 5, b"connected"]]


# ---------------------------------------------------------------------------
# TIMEOUT, FORCE, ABORT, a refused PSYNC (each on dredis and on Redis)
# ---------------------------------------------------------------------------

def timeout_aborts(kind):
    with start(kind) as m, start(kind, m) as r:
        wait_replica_of(r, m)
        before = syncs(m)
        replid = info(m)["master_replid"]
        with stopped(r):
            with m.client() as c:
                assert c.execute("SET", "behind", "1") == "OK"
                assert c.execute("FAILOVER", "TO", "127.0.0.1", r.port, "TIMEOUT", 5000) == "OK"
                assert failover_state(m) == "waiting-for-sync"
                held = Held(m, "SET", "held", "1")
                # reads go on; CLIENT UNPAUSE ends CLIENT PAUSE's pause, not FAILOVER's
                assert c.execute("GET", "behind") == b"1"
                assert c.execute("CLIENT", "UNPAUSE") == "OK"
                assert blocked_clients(m) == 1 and not has_reply(held.client)
            wait_state(m, "no-failover")
            replies = [held.reply()]
        wait_replica_of(r, m)
        same_data(m, r)
        assert syncs(m) == before
        assert info(m)["master_replid"] == replid
        assert "FAILOVER to 127.0.0.1:%d aborted: Replica never caught up before timeout" % r.port in log_of(m)
        return replies + [role(m)[0], role(r)[0]]


def test_timeout_aborts_as_redis():
    """TIMEOUT without FORCE: the master gives up, stays the master (same
    history), and the write it held runs."""
    ours, theirs = timeout_aborts("dredis"), timeout_aborts("redis")
    assert ours == theirs == ["OK", b"master", b"slave"], (ours, theirs)


def abort_and_errors_while_waiting(kind):
    with start(kind) as m, start(kind, m) as r:
        wait_replica_of(r, m)
        before = syncs(m)
        with stopped(r):
            with m.client() as c:
                assert c.execute("SET", "behind", "1") == "OK"
                assert c.execute("FAILOVER", "TO", "127.0.0.1", r.port, "TIMEOUT", 600000) == "OK"
                held = Held(m, "SET", "held", "1")
                replies = [failover_state(m)]
                replies += [c.execute(*cmd) for cmd in (
                    ("FAILOVER",), ("FAILOVER", "TO", "127.0.0.1", r.port), ("FAILOVER", "BOGUS"),
                    ("REPLICAOF", "NO", "ONE"), ("REPLICAOF", "127.0.0.1", r.port),
                    ("PSYNC", "?", "-1"), ("GET", "behind"))]
                replies.append(c.execute("FAILOVER", "ABORT"))
                replies.append(held.reply())
                replies += [failover_state(m), c.execute("FAILOVER", "ABORT")]
        wait_replica_of(r, m)
        same_data(m, r)
        assert syncs(m) == before
        return replies + [role(m)[0]]


def test_abort_and_what_is_refused_meanwhile_as_redis():
    """While waiting for the replica: FAILOVER again, REPLICAOF and a
    replica's PSYNC are refused with Redis's errors, reads are served;
    FAILOVER ABORT ends it, and the held write runs."""
    ours = abort_and_errors_while_waiting("dredis")
    theirs = abort_and_errors_while_waiting("redis")
    assert ours == theirs, (ours, theirs)
    assert ours[:4] == ["waiting-for-sync", RespError("ERR FAILOVER already in progress."),
                        RespError("ERR FAILOVER already in progress."), RespError("ERR syntax error")]
    assert ours[-5:] == ["OK", "OK", "no-failover", RespError("ERR No failover in progress."), b"master"]


def force_after_timeout(kind):
    with start(kind) as m, start(kind, m) as r:
        wait_replica_of(r, m)
        with m.client() as c:
            load(c, "before", 10)
        wait_replica_of(r, m)
        blocked = m.client()
        blocked.send("BLPOP", "nothing", 0)
        wait_until(lambda: blocked_clients(m) == 1, timeout=DEADLINE, what="BLPOP to block")
        with stopped(r):
            with m.client() as c:
                assert c.execute("FAILOVER", "TO", "127.0.0.1", r.port, "TIMEOUT", 3000, "FORCE") == "OK"
                held = Held(m, "SET", "held", "1")
            # the master gave up waiting and is a replica of the target
            # already, its writes still held until the target answers
            wait_state(m, "failover-in-progress")
            i = info(m)
            replies = [role(m)[0], info_names(m), i["master_link_status"], i["master_link_down_since_seconds"],
                       i["master_sync_in_progress"]]
            assert not has_reply(held.client)
        wait_state(m, "no-failover")
        replies += [held.reply(), blocked.read_reply()]
        blocked.close()
        wait_replica_of(m, r)
        same_data(r, m)
        assert "FAILOVER to 127.0.0.1:%d time out exceeded, failing over." % r.port in log_of(m)
        return replies + [role(m)[0], role(r)[0]]


def test_force_fails_over_after_the_timeout_as_redis():
    """TIMEOUT with FORCE: at the deadline the master becomes the target's
    replica anyway; the held write then gets -READONLY, and a client
    blocked in BLPOP on it is told and dropped (-UNBLOCKED)."""
    ours, theirs = force_after_timeout("dredis"), force_after_timeout("redis")
    assert ours == theirs, (ours, theirs)
    assert ours[:1] + ours[2:] == [b"slave", "down", "-1", "0",
                                   RespError("READONLY You can't write against a read only replica."),
                                   RespError("UNBLOCKED force unblock from blocking operation, instance state changed "
                                             "(master -> replica?)"), b"slave", b"master"]


def refused_psync(kind):
    with start(kind) as m, start(kind, m) as r:
        wait_replica_of(r, m)
        with r.client() as c:
            assert c.execute("ACL", "SETUSER", "default", "-psync") == "OK"
        before = syncs(m)
        replid = info(m)["master_replid"]
        offset = int(info(m)["master_repl_offset"])
        with stopped(r):
            with m.client() as c:
                assert c.execute("SET", "behind", "1") == "OK"
                assert c.execute("FAILOVER", "TO", "127.0.0.1", r.port) == "OK"
                held = Held(m, "SET", "held", "1")
        wait_state(m, "no-failover")
        replies = [held.reply(), role(m)[0]]
        wait_replica_of(r, m)
        # a master again under a new id: its replica continued (+CONTINUE)
        after = info(m)
        assert after["master_replid"] != replid and after["master_replid2"] == replid
        assert int(after["second_repl_offset"]) > offset
        assert syncs(m) == (before[0], before[1] + 1)
        same_data(m, r)
        assert "Failover target rejected psync request" in log_of(m)
        return replies + [role(r)[0]]


def test_target_that_refuses_the_psync_aborts_as_redis():
    """A target that answers PSYNC with an error (its ACL denies PSYNC): the
    master aborts and is a master again, under a new replication id that
    its replicas continue with."""
    ours, theirs = refused_psync("dredis"), refused_psync("redis")
    assert ours == theirs == ["OK", b"master", b"slave"], (ours, theirs)


def any_replica(kind):
    with start(kind) as m, start(kind, m) as r1, start(kind, m) as r2:
        wait_replica_of(r1, m)
        wait_replica_of(r2, m)
        with stopped(r2):
            with m.client() as c:
                assert c.execute("SET", "k", "v") == "OK"
                assert c.execute("FAILOVER") == "OK"
            wait_state(m, "no-failover")
            roles = [role(m)[0], role(m)[2] == r1.port, role(r1)[0]]
        wait_replica_of(m, r1)
        wait_replica_of(r2, m)
        same_data(r1, m, r2)
        return roles


def test_failover_without_to_picks_a_replica_in_sync_as_redis():
    """FAILOVER without TO: the first replica that acknowledged the whole
    stream (not the one stopped behind it) takes over."""
    ours, theirs = any_replica("dredis"), any_replica("redis")
    assert ours == theirs == [b"slave", True, b"master"], (ours, theirs)


# ---------------------------------------------------------------------------
# argument and state errors
# ---------------------------------------------------------------------------

SYNTAX = [
    ("FAILOVER", "BOGUS"), ("FAILOVER", "TO"), ("FAILOVER", "TO", "127.0.0.1"),
    ("FAILOVER", "TO", "127.0.0.1", "notaport"), ("FAILOVER", "TO", "127.0.0.1", "99999999999999999999"),
    ("FAILOVER", "TIMEOUT"), ("FAILOVER", "TIMEOUT", "0"), ("FAILOVER", "TIMEOUT", "-5"),
    ("FAILOVER", "TIMEOUT", "1.5"), ("FAILOVER", "TIMEOUT", "x"), ("FAILOVER", "TIMEOUT", "5", "TIMEOUT", "6"),
    ("FAILOVER", "TO", "a", "1", "TO", "b", "2"), ("FAILOVER", "FORCE", "FORCE"),
    ("FAILOVER", "ABORT", "TIMEOUT", "5"), ("FAILOVER", "TIMEOUT", "5", "ABORT"), ("FAILOVER", "ABORT", "ABORT"),
    ("failover", "to", "127.0.0.1", "1", "force", "timeout", "-1"),
]


def errors_without_replicas(kind):
    with start(kind) as m, m.client() as c:
        return [c.execute(*cmd) for cmd in SYNTAX + [
            ("FAILOVER",), ("FAILOVER", "ABORT"), ("FAILOVER", "FORCE"), ("FAILOVER", "TIMEOUT", "100"),
            ("FAILOVER", "TO", "127.0.0.1", "1"), ("PSYNC", "0" * 40, "1", "FAILOVER"),
            ("PSYNC", "?", "-1", "failover"), ("PING",)]]


def errors_with_a_replica(kind):
    with start(kind) as m, start(kind, m) as r:
        wait_replica_of(r, m)
        port = str(r.port)
        replid = info(r)["master_replid"]
        with m.client() as c:
            out = [c.execute(*cmd) for cmd in SYNTAX + [
                ("FAILOVER", "FORCE"), ("FAILOVER", "FORCE", "TIMEOUT", "100"),
                ("FAILOVER", "TO", "127.0.0.1", port, "FORCE"), ("FAILOVER", "TO", "invalidhost", port),
                ("FAILOVER", "TO", "127.0.0.1", "1"), ("FAILOVER", "TO", "localhost", port), ("FAILOVER", "ABORT")]]
        with r.client() as c:
            out += [c.execute(*cmd) for cmd in SYNTAX + [
                ("FAILOVER",), ("FAILOVER", "TO", "127.0.0.1", port), ("FAILOVER", "ABORT"),
                ("PSYNC", "0" * 40, "1", "FAILOVER")]]
        # nothing changed: the replica still follows, the master is a master
        wait_replica_of(r, m)
        assert failover_state(m) == failover_state(r) == "no-failover"
        assert info(r)["master_replid"] == replid
        return out + [role(m)[0], role(r)[0]]


def test_errors_as_redis():
    """Every invalid FAILOVER (syntax, a bad TIMEOUT or port, FORCE without
    TO and TIMEOUT, no replicas, a target that is not a replica, sent to a
    replica, ABORT with nothing to abort) and PSYNC ... FAILOVER to a master
    or with another replication id: Redis's exact errors, in Redis's order
    of checks, and nothing changes."""
    ours, theirs = errors_without_replicas("dredis"), errors_without_replicas("redis")
    assert ours == theirs, [(a, b) for a, b in zip(ours, theirs) if a != b]
    assert RespError("ERR FAILOVER requires connected replicas.") in ours
    assert RespError("ERR PSYNC FAILOVER can't be sent to a master.") in ours
    ours, theirs = errors_with_a_replica("dredis"), errors_with_a_replica("redis")
    assert ours == theirs, [(a, b) for a, b in zip(ours, theirs) if a != b]
    for text in ("ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
                 "ERR FAILOVER target HOST and PORT is not a replica.",
                 "ERR FAILOVER is not valid when server is a replica.",
                 "ERR PSYNC FAILOVER replid must match my replid.",
                 "ERR FAILOVER timeout must be greater than 0",
                 "ERR value is not an integer or out of range"):
        assert RespError(text) in ours, text


def test_raw_psync_failover_promotes_a_dredis_replica():
    """PSYNC <its replid> <offset> FAILOVER on a plain connection, as a
    master that fails over sends it: the dredis replica becomes a master and
    answers +CONTINUE <new id> for the history it shares."""
    with Dredis() as m, replica_of(m) as r:
        with m.client() as c:
            load(c, "before", 10)
        wait_replica_of(r, m)
        old = info(r)
        offset = int(old["master_repl_offset"])
        with r.client() as c:
            assert c.execute("REPLCONF", "capa", "psync2") == "OK"
            c.send("PSYNC", old["master_replid"], offset + 1, "FAILOVER")
            line = c._line()
        new = info(r)
        assert new["role"] == "master"
        assert line == b"+CONTINUE " + new["master_replid"].encode(), (line, old, new)
        assert new["master_replid2"] == old["master_replid"]
        assert int(new["second_repl_offset"]) >= offset + 1  # (a PING may have come since)
        with r.client() as c:
            assert c.execute("SET", "now", "a master") == "OK"
