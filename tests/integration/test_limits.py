"""Limits of the machine: a full disk and a short supply of file
descriptors.

Full disk: ROOT_DIR on a small loop-mounted ext4 image and on a small tmpfs
is filled by SET/HSET/RPUSH/SADD/ZADD/XADD until ENOSPC, and a file beside
ROOT_DIR then takes every block left before each delete (as another
program on a shared disk would): every key of every type can still be
deleted (the journal keeps blocks allocated ahead, and ROOT_DIR/.reserve is
given back to the deletes, its tail a chunk at a time for their directory
entries: src/store_reserve.c), space comes back, new
writes succeed, and the tree is clean for dredis-check.

File descriptors: under a hard limit too low for maxclients, maxclients is
lowered as Redis does and extra clients refused; a command over 300 keys
works with every client connected (the store parks key directories past 8
and gives back cached ones); accept() failing with EMFILE neither spins nor
floods the log; commands over many keys answer as Redis's."""
import os
import resource
import shutil
import subprocess
import tempfile
import time

from dredis_test import DREDIS_SERVER, Client, ConnectionClosed, Dredis, RespError, free_port, wait_until

MB = 1 << 20
DREDIS_CHECK = os.path.join(os.path.dirname(os.path.abspath(DREDIS_SERVER)), "dredis-check")
NOSPACE = "No space left on device"


class SmallFileSystem:
    """A file system of size bytes mounted on a new directory: "ext4" (an
    image on a loop device) or "tmpfs". Mounting needs root, as CI has: a
    failure to mount fails the test."""

    def __init__(self, kind, size):
        self.work = tempfile.mkdtemp(prefix="dredis-limits-")
        self.mnt = os.path.join(self.work, "mnt")
        os.mkdir(self.mnt)
        self.mounted = False
        if kind == "ext4":
            image = os.path.join(self.work, "fs.img")
            with open(image, "wb") as f:
                f.truncate(size)
            subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True, capture_output=True)
            subprocess.run(["mount", "-o", "loop", image, self.mnt], check=True, capture_output=True)
        else:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d" % size, "tmpfs", self.mnt], check=True,
                           capture_output=True)
        self.mounted = True
        self.filler = None

    def fill(self):
        """Take every free block with a file beside ROOT_DIR."""
        if self.filler is None:
            self.filler = os.open(os.path.join(self.mnt, "filler"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        for size in (MB, 65536, 4096):
            while True:
                try:
                    os.write(self.filler, b"f" * size)
                except OSError:
                    break
        try:
            os.fsync(self.filler)
        except OSError:
            pass

    def unfill(self):
        if self.filler is not None:
            os.close(self.filler)
            os.unlink(os.path.join(self.mnt, "filler"))
            self.filler = None

    def close(self):
        self.unfill()
        if self.mounted and subprocess.run(["umount", self.mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", self.mnt], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)


def fill_with_every_type(c):
    """Write keys of every type with values halving at each ENOSPC, down to
    a few bytes: the disk ends full to its last blocks. Returns {key: type}."""
    writers = [("string", lambda k, v: ("SET", k, v)), ("hash", lambda k, v: ("HSET", k, "f", v, "g", "x")),
               ("list", lambda k, v: ("RPUSH", k, v, "x")), ("set", lambda k, v: ("SADD", k, v, "x")),
               ("zset", lambda k, v: ("ZADD", k, "1", v, "2", "x")), ("stream", lambda k, v: ("XADD", k, "*", "f", v))]
    keys, size, i, failures = {}, 60000, 0, 0
    while size >= 16:
        kind, cmd = writers[i % len(writers)]
        key = "%s:%d" % (kind, i)
        r = c.execute(*cmd(key, "v" * size))
        if isinstance(r, RespError):
            assert NOSPACE in r.message, r
            assert c.execute("EXISTS", key) == 0, "a failed write left its key"
            failures += 1
            size //= 2
        else:
            keys[key] = kind
        i += 1
    assert failures > 0 and len(keys) > 50, (failures, len(keys))
    for kind, _ in writers:
        assert any(t == kind for t in keys.values()), "no %s key fitted" % kind
    return keys


def remove_elements(c, key, kind):
    """Empty key by its type's own element removal (the key goes with its
    last element)."""
    if kind == "string":
        assert c.execute("GETDEL", key) is not None, key
    elif kind == "hash":
        assert c.execute("HDEL", key, "f", "g") == 2, key
    elif kind == "list":
        assert c.execute("LPOP", key, "2") is not None, key
    elif kind == "set":
        assert c.execute("SPOP", key, "2") is not None, key
    elif kind == "zset":
        assert c.execute("ZREM", key, "x", c.execute("ZRANGE", key, "0", "0")[0]) == 2, key
    else:
        ids = [e[0] for e in c.execute("XRANGE", key, "-", "+")]
        assert c.execute("XDEL", key, *ids) == len(ids), key
        assert c.execute("DEL", key) == 1, key
    assert c.execute("EXISTS", key) == 0, key


def info_field(c, name):
    for line in c.execute("INFO", "stats").decode().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise AssertionError("no %s in INFO" % name)


def check_deletes_on_full_disk(kind, size):
    fs = SmallFileSystem(kind, size)
    d = None
    try:
        d = Dredis(root_dir=os.path.join(fs.mnt, "root"), env={"DREDIS_FSYNC": "always"})
        reserve = os.path.join(d.root_dir, ".reserve")
        full = os.path.getsize(reserve)
        assert full > 0 and os.stat(reserve).st_blocks * 512 >= full
        # what is kept for the directory entries of deletes once the rest
        # is given back: a quarter, at most 64 KiB, in 4 KiB chunks
        tail = min(full // 4, 64 << 10) // 4096 * 4096

        def reserve_size():
            return os.path.getsize(reserve) if os.path.exists(reserve) else 0
        with d.client() as c:
            keys = sorted(fill_with_every_type(c).items())
            time.sleep(2.5)  # replaced files recycled: their blocks are free
            fs.fill()
            # writes never take the reserve
            r = c.execute("SET", "more", "v" * 5000)
            assert isinstance(r, RespError) and NOSPACE in r.message, r
            assert os.path.getsize(reserve) > 0
            # a command that frees space (not denyoom) does: (P)EXPIRE
            # writes a file; then writes are refused while it cannot be made
            # again. Three keys get a short TTL: active expiry deletes them
            # on the full disk.
            expiring, keys = keys[:3], keys[3:]
            expired = int(info_field(c, "expired_keys"))
            for key, t in expiring:
                assert c.execute("PEXPIRE", key, 500) == 1, key
            for key in [k for k, t in keys if t == "string"]:
                if reserve_size() < full:
                    break
                fs.fill()
                assert c.execute("EXPIRE", key, 100000) == 1, key
            assert 0 < reserve_size() <= tail, ("EXPIRE did not need the reserve", reserve_size(), tail)
            r = c.execute("SET", "more", "v")
            assert isinstance(r, RespError) and NOSPACE in r.message, r
            wait_until(lambda: "the space reserve was given back" in d.output(), timeout=5, what="the log line")
            fs.fill()
            wait_until(lambda: int(info_field(c, "expired_keys")) == expired + 3, timeout=10,
                       what="active expiry to delete the keys on the full disk")
            # a third of the keys emptied element by element: these rewrite
            # files, with the reserve's blocks once the disk is full
            for key, t in keys[0::3]:
                remove_elements(c, key, t)
            rest = [k for i, k in enumerate(keys) if i % 3]
            # by DEL and UNLINK, every block taken before each: a delete
            # needs no new block but, rarely, a directory block from the
            # reserve's tail (a name whose hashed block of .tmp or .trash
            # is full)
            for n, (key, t) in enumerate(rest[:-10]):
                fs.fill()
                r = c.execute("UNLINK" if n % 2 else "DEL", key)
                assert r == 1, (key, r)
            assert c.execute("DBSIZE") == 10
            fs.unfill()

            def writes_again():
                return c.execute("SET", "new", "v") == "OK"
            wait_until(writes_again, timeout=10, interval=0.05, what="SET to succeed once space is back")
            assert os.stat(reserve).st_blocks * 512 >= os.path.getsize(reserve) == full, "the reserve was not made again"
            wait_until(lambda: "space reserve is in place" in d.output(), timeout=5, what="the log line")
            # the last ones by FLUSHALL, on a full disk again (it makes new
            # database directories: the reserve's blocks)
            fs.fill()
            assert c.execute("FLUSHALL") == "OK"
            assert c.execute("DBSIZE") == 0
            fs.unfill()
            wait_until(writes_again, timeout=10, interval=0.05, what="SET to succeed once space is back")
            assert c.execute("RPUSH", "l", "a", "b") == 2 and c.execute("HSET", "h", "f", "v") == 1
        d.restart()
        with d.client() as c:
            assert c.execute("GET", "new") == b"v" and c.execute("LRANGE", "l", "0", "-1") == [b"a", b"b"]
            assert c.execute("DBSIZE") == 3
        d.stop()
        p = subprocess.run([DREDIS_CHECK, d.root_dir], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
    finally:
        if d:
            d.stop()
            d.cleanup()
        fs.close()


def test_deletes_on_full_ext4():
    check_deletes_on_full_disk("ext4", 30 * MB)


def test_deletes_on_full_tmpfs():
    check_deletes_on_full_disk("tmpfs", 24 * MB)


def test_reserve_tail_serves_the_renames_of_deletes():
    """The space reserve given back in two steps (src/store_reserve.c): the
    first ENOSPC of a delete takes all but the tail; once only the tail is
    left, each rename that meets ENOSPC takes 4 KiB of it and is tried
    again; a write that finds room makes the whole reserve again. ENOSPC
    comes from the fault injector, once each, on the rename that sets the
    deleted key aside."""
    with Dredis(env={"DREDIS_ENABLE_DEBUG_FAULTS": "1"}) as d:
        reserve = os.path.join(d.root_dir, ".reserve")
        full = os.path.getsize(reserve)
        tail = min(full // 4, 64 << 10) // 4096 * 4096
        assert tail >= 3 * 4096, (full, tail)
        with d.client() as c:
            assert c.execute("MSET", "a", "1", "b", "2", "c", "3") == "OK"
            assert c.execute("DEBUG-FAULT", "ARM", "renameat2", "ENOSPC", "NTH", "1") == "OK"
            assert c.execute("DEL", "a") == 1
            assert os.path.getsize(reserve) == tail
            for key, left in (("b", tail - 4096), ("c", tail - 8192)):
                assert c.execute("DEBUG-FAULT", "ARM", "renameat2", "ENOSPC", "NTH", "1") == "OK"
                assert c.execute("UNLINK", key) == 1
                assert os.path.getsize(reserve) == left
            c.execute("DEBUG-FAULT", "OFF")
            assert c.execute("EXISTS", "a", "b", "c") == 0
            # room on the disk: the next write makes the reserve whole again
            assert c.execute("SET", "d", "4") == "OK"
            assert os.path.getsize(reserve) == full and os.stat(reserve).st_blocks * 512 >= full
        # a tail left by a run that stopped on a full disk is kept by a
        # start that cannot make the whole reserve (its fallocate fails)
        d.stop()
        os.truncate(reserve, 8192)
        d.env["DREDIS_DEBUG_FAULTS"] = "posix_fallocate ENOSPC NTH 1"
        d.start()
        assert os.path.getsize(reserve) == 8192
        with d.client() as c:
            c.execute("DEBUG-FAULT", "OFF")
            assert c.execute("SET", "e", "5") == "OK"  # and made whole at the next write
        assert os.path.getsize(reserve) == full


# ---- file descriptors ----
# dredis's reserve of descriptors past maxclients (server.c reservedFds():
# Redis's 32, the store's 4 + 2 per database, one command's working set 64)
RESERVED_FDS = 32 + 4 + 2 * 16 + 64


class LimitedDredis(Dredis):
    """dredis-server started under an open files limit of nofile (soft and
    hard: it cannot raise it)."""

    def __init__(self, nofile, env=None):
        self.nofile = nofile
        super().__init__(env=env)

    def start(self, port=None):
        self.port = port or free_port()
        env = {k: v for k, v in os.environ.items() if k != "DREDIS_SERVER"}
        env.update({"DREDIS_HOST": "127.0.0.1", "DREDIS_PORT": str(self.port), "ROOT_DIR": self.root_dir})
        env.update(self.env)
        self.log = open(self.logfile, "ab")
        limit = self.nofile
        self.proc = subprocess.Popen([DREDIS_SERVER], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
        self._wait_ready()
        return self


def connect_many(port, n):
    """n connections, each PINGed: (served clients, refusal replies)."""
    served, refused = [], []
    for _ in range(n):
        c = Client(port, timeout=10)
        try:
            r = c.execute("PING")
        except (ConnectionClosed, OSError) as e:
            r = e
        if r == "PONG":
            served.append(c)
        else:
            refused.append(r)
            c.close()
    return served, refused


def cpu_ticks(pid):
    """User and system time of process pid so far, in clock ticks."""
    with open("/proc/%d/stat" % pid) as f:
        return sum(int(x) for x in f.read().rsplit(")", 1)[1].split()[11:13])


def log_lines(d, text):
    return sum(1 for line in d.output().splitlines() if text in line)


def test_maxclients_lowered_to_fit_the_limit():
    """As Redis: under a hard limit too low for maxclients, maxclients is
    lowered (with Redis's warnings), the clients past it are told so and
    closed, and a command over 300 keys works with the others connected."""
    nofile = 200
    d = LimitedDredis(nofile)
    clients = []
    try:
        fit = nofile - RESERVED_FDS
        out = d.output()
        assert "You requested maxclients of 10000 requiring at least %d max file descriptors." % (
            10000 + RESERVED_FDS) in out, out
        assert ("Current maximum open files is %d. maxclients has been reduced to %d to compensate for low "
                "ulimit. If you need higher maxclients increase 'ulimit -n'." % (nofile, fit)) in out, out
        with d.client() as c:
            assert c.execute("CONFIG", "GET", "maxclients") == [b"maxclients", str(fit).encode()]
            assert c.execute("CONFIG", "SET", "maxclients", "1000") == RespError(
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not "
                "able to handle the specified number of clients, try with %d" % fit)
            assert c.execute("CONFIG", "GET", "maxclients") == [b"maxclients", str(fit).encode()]
            assert c.execute("CONFIG", "SET", "maxclients", str(fit - 1)) == "OK"
            assert c.execute("CONFIG", "SET", "maxclients", str(fit)) == "OK"
            for i in range(300):
                c.execute("ZADD", "z%d" % i, i, "m%d" % i, 1, "common")
        clients, refused = connect_many(d.port, fit + 20)
        assert len(clients) == fit, (len(clients), refused[:3])
        assert refused == [RespError("ERR max number of clients reached")] * 20, refused[:3]
        c = clients[0]
        keys = ["z%d" % i for i in range(300)]
        assert c.execute("ZUNIONSTORE", "u", 300, *keys) == 301
        assert c.execute("ZSCORE", "u", "common") == b"300"
        assert c.execute("SUNION", *["s%d" % i for i in range(300)]) == []
        assert c.execute("MGET", *["nokey%d" % i for i in range(300)]) == [None] * 300
        assert c.execute("DEL", *keys) == 300
        assert all(x.execute("PING") == "PONG" for x in clients)
        assert info_field(c, "rejected_connections") == "20"
    finally:
        for x in clients:
            x.close()
        d.stop()
        d.cleanup()


def test_out_of_descriptors_does_not_spin():
    """The limit lowered under a running server (prlimit) below what its
    clients take: accept() fails with EMFILE. The listener pauses instead
    of spinning, the failure is logged about once a second, and once
    clients leave the waiting connection is served."""
    d = LimitedDredis(200)
    clients = []
    try:
        with d.client() as c:
            for i in range(300):
                c.execute("SADD", "s%d" % i, "m%d" % i)
        open_now = len(os.listdir("/proc/%d/fd" % d.proc.pid))
        low = open_now + 64  # one command's working set, which clients then take
        resource.prlimit(d.proc.pid, resource.RLIMIT_NOFILE, (low, low))
        clients, refused = connect_many(d.port, 64)
        assert len(clients) >= 60 and not refused, (len(clients), refused)
        waiting = [Client(d.port, timeout=10) for _ in range(5)]  # in the backlog: accept() fails
        before, cpu_before = time.time(), cpu_ticks(d.proc.pid)
        time.sleep(2)
        lines = log_lines(d, "Accepting client connection: accept: Too many open files")
        cpu = cpu_ticks(d.proc.pid) - cpu_before
        assert 1 <= lines <= 4, "%d log lines in %.1f s:\n%s" % (lines, time.time() - before, d.output()[-2000:])
        # served clients still are; once some leave, the waiting ones are
        # served, and a command over 300 keys finds the descriptors it needs
        assert all(x.execute("PING") == "PONG" for x in clients)
        for x in clients[1:]:
            x.close()
        clients = clients[:1]
        for w in waiting:
            assert w.execute("PING") == "PONG"
            w.close()
        r = clients[0].execute("SUNIONSTORE", "u", *["s%d" % i for i in range(300)])
        assert r == 300, (r, low, len(os.listdir("/proc/%d/fd" % d.proc.pid)))
        assert cpu < 50, "the server spun: %d ticks of CPU in 2 s" % cpu
    finally:
        for x in clients:
            x.close()
        d.stop()
        d.cleanup()


def test_commands_over_many_keys_match_redis():
    """A command over more keys than keep their directories open (8: the
    others are parked and opened again on their next use) answers as Redis,
    also when it writes to, renames or deletes keys it holds parked."""
    from dredis_test import Pair
    n = 24
    with Pair() as p:
        cmds = []
        for i in range(n):
            cmds += [("SADD", "s%d" % i, "a", "m%d" % i), ("ZADD", "z%d" % i, i, "a", i, "m%d" % i),
                     ("HSET", "h%d" % i, "f", i), ("RPUSH", "l%d" % i, "x", i), ("SET", "k%d" % i, i)]
        p.run_many(cmds)
        sets, zsets = ["s%d" % i for i in range(n)], ["z%d" % i for i in range(n)]
        def sort(c, r):
            return sorted(r) if c[0] in ("SUNION", "SINTER", "SDIFF", "SMEMBERS") else r
        p.run_many([("SUNION",) + tuple(sets), ("SINTER",) + tuple(sets), ("SDIFF",) + tuple(sets),
                    ("SUNIONSTORE", "s0") + tuple(sets), ("SMEMBERS", "s0"), ("SINTERSTORE", "s1") + tuple(sets),
                    ("ZUNIONSTORE", "z0", n) + tuple(zsets), ("ZRANGE", "z0", 0, -1, "WITHSCORES"),
                    ("ZINTERSTORE", "z1", n) + tuple(zsets) + ("AGGREGATE", "MAX"), ("ZRANGE", "z1", 0, -1, "WITHSCORES"),
                    ("ZUNION", n) + tuple(zsets) + ("WITHSCORES",),
                    ("MGET",) + tuple("k%d" % i for i in range(n)), ("EXISTS",) + tuple("h%d" % i for i in range(n)),
                    ("BLMPOP", 0, n) + tuple("l%d" % i for i in range(n)) + ("LEFT", "COUNT", 5)],
                   normalize=sort)
        p.run_many([("MULTI",)] + [("HINCRBY", "h%d" % i, "f", 1) for i in range(n)] +
                   [("RENAME", "h%d" % i, "r%d" % i) for i in range(n)] + [("EXEC",)])
        p.run_many([("EVAL", "local t = 0 for i = 1, #KEYS do t = t + redis.call('HGET', KEYS[i], 'f') "
                     "redis.call('EXPIRE', KEYS[i], 1000) end return t", n) + tuple("r%d" % i for i in range(n))])
        p.run_many([("DEL",) + tuple(x % i for i in range(n) for x in ("r%d", "s%d", "z%d", "l%d", "k%d")),
                    ("DBSIZE",)])
