"""Failover by Debian's redis-sentinel (scripts/deps.sh test installs it):
three sentinels (quorum 2) watch a master and two replicas; the master is
killed (SIGKILL); the sentinels promote a replica and repoint the other.

- dredis master, dredis replicas: every write that WAIT 1 acknowledged
  before the kill is on the new master, the other replica follows it, and
  the old master, restarted on its port and ROOT_DIR, is turned into a
  replica of the new one by Sentinel and catches up;
- redis-py's Sentinel client (tests/e2e/python/sentinel_failover.py) writes
  across the failover and goes on with the new master;
- mixed: a real redis-server replica beside a dredis one (either may be
  promoted), and a real redis-server master with dredis replicas.

Nothing waits for a fixed time: every wait polls, bounded."""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from dredis_test import ConnectionClosed, Dredis, Redis, RespError, _Process, free_port, wait_until
from test_e2e_python import CLEAN_ENV, PYTHON, require
from test_e2e_python import HERE as E2E_PYTHON
from test_replica import replica_of
from test_snapshot import dump

REDIS_SENTINEL = shutil.which("redis-sentinel")
# Sentinel marks a master down after DOWN_AFTER ms without a PONG. Not
# 1000: after a switch Sentinel counts from the switch but reconnects to
# the new master only once a second, so with 1000 it can find the new
# master "down" before it has even pinged it, and fail over again.
DOWN_AFTER = 2000
FAILOVER_TIMEOUT = 6000
PASSWORD = "sentinel-test-secret"


class Sentinel(_Process):
    """redis-sentinel on a free port, its (rewritten) config file and log in
    a temporary directory."""

    def __init__(self, master_port, quorum=2, password=None):
        if not REDIS_SENTINEL:
            raise AssertionError("redis-sentinel is required (Debian package redis-sentinel: scripts/deps.sh test)")
        self.dir = tempfile.mkdtemp(prefix="sentinel-test-")
        self.logfile = os.path.join(self.dir, "log")
        self.port = free_port()
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nloglevel verbose\n"
                    "sentinel monitor mymaster 127.0.0.1 %d %d\n"
                    "sentinel down-after-milliseconds mymaster %d\n"
                    "sentinel failover-timeout mymaster %d\n"
                    % (self.port, self.dir, self.logfile, master_port, quorum, DOWN_AFTER, FAILOVER_TIMEOUT))
            if password:
                f.write("sentinel auth-pass mymaster %s\n" % password)
        self.proc = subprocess.Popen([REDIS_SENTINEL, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def ask(self, *args):
        with self.client(timeout=5) as c:
            return c.execute("SENTINEL", *args)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def fields(flat):
    """A SENTINEL replicas/sentinels entry ([name, value, ...]) as a dict."""
    return {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}


def events(sentinels):
    """The +/- events of the sentinels' logs, for failure messages."""
    out = []
    for s in sentinels:
        out += ["%d: %s" % (s.port, line[line.find(" ", 30):]) for line in s.output().splitlines()
                if " # +" in line or " # -" in line or " * +" in line]
    return "\n".join(out[-80:])


class Setup:
    """A master, its replicas and three sentinels watching them."""

    def __init__(self, master, replicas, sentinels, password=None):
        self.master, self.replicas, self.sentinels = master, replicas, sentinels
        self.password = password

    def client(self, server):
        c = server.client(timeout=10)
        if self.password:
            assert c.execute("AUTH", self.password) == "OK"
        return c

    def info(self, server):
        with self.client(server) as c:
            text = c.execute("INFO", "replication").decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def wait(self, cond, what, timeout=60):
        try:
            wait_until(cond, timeout=timeout, interval=0.1, what=what)
        except AssertionError as e:
            raise AssertionError("%s\nsentinel events:\n%s" % (e, events(self.sentinels)))

    def wait_watching(self):
        """Until every sentinel sees every replica (link up) and the other
        sentinels."""
        want = sorted(r.port for r in self.replicas)

        def watching():
            for s in self.sentinels:
                reps = [fields(r) for r in s.ask("replicas", "mymaster")]
                if sorted(int(r["port"]) for r in reps if r["master-link-status"] == "ok"
                          and "s_down" not in r["flags"]) != want:
                    return False
                if len(s.ask("sentinels", "mymaster")) != len(self.sentinels) - 1:
                    return False
            return True
        self.wait(watching, "the sentinels to see the replicas and each other")

    def master_port(self, sentinel=None):
        addr = (sentinel or self.sentinels[0]).ask("get-master-addr-by-name", "mymaster")
        return int(addr[1])

    def fail_over(self):
        """SIGKILL the master; wait until every sentinel names one of the
        replicas; returns (promoted, the other replicas, seconds taken)."""
        old = self.master.port
        t0 = time.time()
        self.master.kill()

        def switched():
            ports = set(self.master_port(s) for s in self.sentinels)
            return len(ports) == 1 and old not in ports
        self.wait(switched, "the sentinels to name a new master")
        took = time.time() - t0
        port = self.master_port()
        promoted = [r for r in self.replicas if r.port == port]
        assert promoted, "the new master %d is not one of the replicas %r" % (port, [r.port for r in self.replicas])
        print("   failover: %s promoted after %.1fs" % (type(promoted[0]).__name__, took))
        return promoted[0], [r for r in self.replicas if r is not promoted[0]], took

    def wait_follows(self, replica, master, timeout=60):
        """Until replica is a replica of master with its link up and the same
        data."""
        def follows():
            try:
                i = self.info(replica)
                if (i.get("role"), i.get("master_port"), i.get("master_link_status")) != ("slave", str(master.port),
                                                                                           "up"):
                    return False
                with self.client(master) as m, self.client(replica) as r:
                    return dump(m) == dump(r)
            except (ConnectionClosed, ConnectionResetError):
                # Sentinel turning a server into a replica sends it CLIENT
                # KILL TYPE normal, which may close this poll's connection
                return False
        self.wait(follows, "%d to follow %d with the same data" % (replica.port, master.port), timeout)


@contextlib.contextmanager
def watched(master, *replicas, password=None):
    """Setup of master, a replica of it by each of replicas (functions of
    the master and the password), and three sentinels; all stopped (by pid)
    and removed at the end, whatever happens."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(master)
        reps = [stack.enter_context(make(master, password)) for make in replicas]
        sentinels = [stack.enter_context(Sentinel(master.port, password=password)) for _ in range(3)]
        yield Setup(master, reps, sentinels, password)


def dredis_master(password=None):
    return Dredis(env={"DREDIS_REQUIREPASS": password} if password else None)


def dredis_replica(master, password=None):
    """A replica that a client or Sentinel reaches with the same password."""
    return replica_of(master, env={"DREDIS_REQUIREPASS": password, "DREDIS_MASTERAUTH": password} if password else None)


def redis_replica(master, password=None):
    return Redis(["--replicaof", "127.0.0.1", str(master.port)])


def acknowledged_writes(c, tag, n=30):
    """n writes of several types by client c, each acknowledged by WAIT 1;
    returns what they left (dump of db 0, keys of this tag)."""
    for i in range(n):
        k = "%s:%d" % (tag, i)
        c.execute("SET", k + ":s", "v%d" % i)
        c.execute("HSET", tag + ":h", "f%d" % i, i)
        c.execute("RPUSH", tag + ":l", i)
        c.execute("ZADD", tag + ":z", i, "m%d" % i)
        c.execute("INCR", tag + ":n")
        acked = c.execute("WAIT", "1", "5000")
        assert isinstance(acked, int) and acked >= 1, "WAIT 1 answered %r" % acked
    return {k: v for k, v in dump(c, dbs=[0])[0].items() if k.startswith(tag.encode() + b":")}


def assert_has(c, want):
    got = dump(c, dbs=[0])[0]
    missing = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
    assert not missing, "the new master lacks acknowledged writes (key: (written, found)): %r" % missing


def fail_over_and_check(setup):
    """The failover every test goes through: acknowledged writes, the kill,
    a replica promoted that has them, the others following it. Returns the
    promoted server."""
    setup.wait_watching()
    with setup.client(setup.master) as c:
        written = acknowledged_writes(c, "before")
    new, others, _ = setup.fail_over()
    setup.wait(lambda: setup.info(new)["role"] == "master", "the promoted replica to report role:master")
    with setup.client(new) as c:
        assert_has(c, written)
    for r in others:
        setup.wait_follows(r, new)
    # the new master takes writes, acknowledged by the replica it has left
    with setup.client(new) as c:
        assert acknowledged_writes(c, "after")
    for r in others:
        setup.wait_follows(r, new)
    return new


def test_dredis_replicas_fail_over_and_the_old_master_rejoins():
    with watched(dredis_master(), dredis_replica, dredis_replica) as s:
        new = fail_over_and_check(s)
        # the old master comes back on its port with its data: Sentinel
        # turns it into a replica of the new master, which it then follows
        with s.client(new) as c:
            c.execute("SET", "missed", "by the old master")
        s.master.start(port=s.master.port)
        s.wait_follows(s.master, new)
        # the new master's log names its replicas as Sentinel does: by the
        # port they listen on
        for r in s.replicas + [s.master]:
            if r is not new:
                assert "Replica 127.0.0.1:%d asks for synchronization" % r.port in new.output(), new.output()
        with s.client(s.master) as c:
            assert c.execute("GET", "missed") == b"by the old master"
            assert c.execute("SET", "x", "1").message.startswith("READONLY")
        assert set(r.port for r in s.replicas) | {s.master.port} == set(
            int(fields(r)["port"]) for r in s.sentinels[0].ask("replicas", "mymaster")) | {new.port}


def test_redis_py_sentinel_client_writes_across_the_failover():
    require(["redis"], ["python3-redis"])
    with watched(dredis_master(PASSWORD), dredis_replica, dredis_replica, password=PASSWORD) as s:
        s.wait_watching()
        env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        after = 200
        client = subprocess.Popen([PYTHON, os.path.join(E2E_PYTHON, "sentinel_failover.py"), PASSWORD, str(after)]
                                  + [str(x.port) for x in s.sentinels],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            lines = []
            for line in client.stdout:
                lines.append(line.decode().rstrip())
                if lines[-1] == "ready":
                    break
            assert lines[-1:] == ["ready"], "the client did not start: %s" % "\n".join(lines)
            new, _, _ = s.fail_over()
            out, _ = client.communicate(timeout=100)
            lines += out.decode().splitlines()
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        assert client.returncode == 0 and lines[-1] == "ALL OK", "the client failed:\n%s\nsentinel events:\n%s" % (
            "\n".join(lines[-30:]), events(s.sentinels))
        result = json.loads([l for l in lines if l.startswith("result ")][0][len("result "):])
        masters = [m for m, _ in result["masters"]]
        assert masters == ["127.0.0.1:%d" % s.master.port, "127.0.0.1:%d" % new.port], result["masters"]
        last_on_old = result["masters"][0][1]
        last = result["masters"][1][1]
        assert last - last_on_old >= after
        with s.client(new) as c:
            # every key WAIT acknowledged, and every one written after the
            # failover, is on the new master
            want = sorted(set(result["acked"]) | set(range(last_on_old + 1, last + 1)))
            got = c.pipeline([("GET", "c:%d" % i) for i in want])
            assert [g for g, i in zip(got, want) if g != b"v%d" % i] == []


def test_mixed_real_redis_replica():
    """A dredis master with one dredis and one real Redis replica: whichever
    is promoted, the other follows it."""
    with watched(dredis_master(), dredis_replica, redis_replica) as s:
        fail_over_and_check(s)


def test_mixed_real_redis_master():
    """A real Redis master with two dredis replicas."""
    with watched(Redis(), dredis_replica, dredis_replica) as s:
        fail_over_and_check(s)


def test_sentinel_kills_a_busy_script():
    """A master stuck in a read-only script answers PING with -BUSY; once it
    is subjectively down Sentinel sends SCRIPT KILL, and the master is back.
    One sentinel with quorum 2: no failover can start."""
    with Dredis(env={"DREDIS_LUA_TIME_LIMIT": "100"}) as m, Sentinel(m.port) as sentinel, m.client() as c:
        def watching():
            return fields(sentinel.ask("master", "mymaster"))["flags"] == "master"
        wait_until(watching, timeout=30, interval=0.1, what="the sentinel to watch the master")
        c.send("EVAL", "while true do end", "0")
        reply = c.read_reply()  # until the script is killed: bounded by the client's timeout
        assert isinstance(reply, RespError) and reply.message.startswith("ERR Script killed by user"), reply
        assert "+sdown master mymaster" in sentinel.output()
        wait_until(watching, timeout=30, interval=0.1, what="the master to be up again")
        assert c.execute("PING") == "PONG"
