"""dredis_test - what the integration tests share: starting dredis-server (and
a real redis-server for comparisons) on free loopback ports with temporary
root directories, stopping them by pid, and a small RESP2/RESP3 client.

Nothing here depends on a server started by hand."""
import os
import shutil
import signal
import socket
import subprocess
import contextlib
import tempfile
import time

DREDIS_SERVER = os.environ.get("DREDIS_SERVER") or os.path.join(
    os.path.dirname(__file__), "..", "..", "src", "dredis-server")
REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


class RespError(Exception):
    """An error reply. Compared by message, so replies can be compared."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __eq__(self, other):
        return isinstance(other, RespError) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return "RespError(%r)" % self.message


class ConnectionClosed(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode_command(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, (int, float)):
            a = repr(a).encode() if isinstance(a, float) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Client:
    """A blocking RESP client. Replies: bytes for bulk strings, str for
    status replies, int, None for nulls, list for arrays, RespError for
    errors (returned, not raised), dict for RESP3 maps, set for sets,
    float for doubles, bool for booleans."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # received bytes; those before _pos are read already. A bytearray,
        # compacted only once half of it was read, so that large replies
        # and long pipelines are read in linear time.
        self._buf = bytearray()
        self._pos = 0

    @property
    def buf(self):
        """The bytes received and not read yet."""
        return bytes(self._buf[self._pos:])

    @buf.setter
    def buf(self, data):
        self._buf = bytearray(data)
        self._pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *args):
        self.send_raw(encode_command(args))

    def execute(self, *args):
        self.send(*args)
        return self.read_reply()

    def pipeline(self, commands):
        self.send_raw(b"".join(encode_command(c) for c in commands))
        return [self.read_reply() for _ in commands]

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionClosed("connection closed by server")
        if self._pos > len(self._buf) // 2:
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    def _line(self):
        while True:
            i = self._buf.find(b"\r\n", self._pos)
            if i >= 0:
                line = bytes(self._buf[self._pos:i])
                self._pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self._buf) - self._pos < n + 2:
            self._fill()
        data = bytes(self._buf[self._pos:self._pos + n])
        self._pos += n + 2
        return data

    def read_reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("utf-8", "replace")
        if t == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        if t == b"_":
            return None
        if t == b",":
            return float(rest)
        if t == b"#":
            return rest == b"t"
        if t == b"%":
            n = int(rest)
            d = {}
            for _ in range(n):
                k = self.read_reply()
                d[_hashable(k)] = self.read_reply()
            return d
        if t == b"~":
            return set(_hashable(self.read_reply()) for _ in range(int(rest)))
        if t == b"=":
            return self._exact(int(rest))[4:]
        if t == b"(":
            return int(rest)
        if t == b">":
            return ["push"] + [self.read_reply() for _ in range(int(rest))]
        raise AssertionError("unexpected reply line %r" % line)


def _hashable(v):
    return tuple(v) if isinstance(v, list) else v


class _Process:
    """Common start/stop for server processes, stopped by pid."""
    proc = None
    port = None

    def client(self, **kw):
        return Client(self.port, **kw)

    def _wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %s: %s" % (self.proc.returncode, self.output()))
            try:
                with Client(self.port, timeout=2) as c:
                    r = c.execute("PING")
                    # a server started with a password answers NOAUTH
                    if r == "PONG" or (isinstance(r, RespError) and r.message.startswith("NOAUTH")):
                        return
            except (OSError, ConnectionClosed):
                time.sleep(0.02)
        raise AssertionError("server did not start on port %d" % self.port)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def output(self):
        try:
            with open(self.logfile, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.cleanup()

    def cleanup(self):
        pass


class Dredis(_Process):
    """dredis-server on a free port with its own ROOT_DIR (kept across
    restart(); removed by cleanup() when we created it)."""

    def __init__(self, root_dir=None, env=None, start=True):
        self.own_root = root_dir is None
        self.root_dir = root_dir or tempfile.mkdtemp(prefix="dredis-test-")
        self.env = dict(env or {})
        self.logfile = tempfile.mktemp(prefix="dredis-log-")
        if start:
            self.start()

    def start(self, port=None):
        self.port = port or free_port()
        # DREDIS_SERVER names the binary under test; it is not a setting
        env = {k: v for k, v in os.environ.items() if k != "DREDIS_SERVER"}
        env.update({"DREDIS_HOST": "127.0.0.1", "DREDIS_PORT": str(self.port), "ROOT_DIR": self.root_dir})
        # DEBUG allowed, as Redis's own test suite configures its servers
        # (tests/assets/default.conf: enable-debug-command yes); a test of
        # the gate sets DREDIS_ENABLE_DEBUG_COMMAND itself
        env["DREDIS_ENABLE_DEBUG_COMMAND"] = "yes"
        env.update(self.env)
        self.log = open(self.logfile, "ab")
        self.proc = subprocess.Popen([DREDIS_SERVER], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def restart(self, sig=signal.SIGTERM, same_port=False):
        """Stop (by sig) and start again on the same ROOT_DIR; on a new free
        port unless same_port (for clients that reconnect by themselves)."""
        port = self.port if same_port else None
        self.stop(sig)
        return self.start(port)

    def cleanup(self):
        report = sanitizer_report(self.output())
        if self.own_root:
            shutil.rmtree(self.root_dir, ignore_errors=True)
            # the server's default DREDIS_SNAPSHOT_DIR, beside ROOT_DIR
            shutil.rmtree(self.root_dir + ".snapshots", ignore_errors=True)
        try:
            os.unlink(self.logfile)
        except OSError:
            pass
        # a server built with -fsanitize may report and carry on: that is a failure too
        assert not report, "dredis-server's sanitizers reported:\n" + report

    def db_dir(self, db=0):
        return os.path.join(self.root_dir, str(db))


class Redis(_Process):
    """A real redis-server (the reference), no persistence, DEBUG allowed
    (as dredis in Dredis; extra_args may say otherwise)."""

    def __init__(self, extra_args=(), parent_dir=None):
        """parent_dir: where its directory is made (default $TMPDIR), e.g.
        on the file system a benchmark measures."""
        if not REDIS_SERVER:
            raise AssertionError("redis-server is required for comparison tests (Debian package redis-server)")
        self.dir = tempfile.mkdtemp(prefix="redis-ref-", dir=parent_dir)
        self.logfile = os.path.join(self.dir, "log")
        self.port = free_port()
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--logfile", self.logfile,
                "--daemonize", "no", "--enable-debug-command", "yes"] + list(extra_args)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Pair:
    """A dredis and a real redis side by side: run() sends a command to both
    and asserts the replies are equal; it returns the reply."""

    def __init__(self, env=None, redis_args=()):
        self.dredis = Dredis(env=env)
        self.redis = Redis(extra_args=redis_args)
        self.d = self.dredis.client()
        self.r = self.redis.client()

    def run(self, *args, normalize=None):
        a = self.d.execute(*args)
        b = self.r.execute(*args)
        if normalize:
            a, b = normalize(a), normalize(b)
        assert a == b, "%r: dredis replied %r, redis replied %r" % (args, a, b)
        return a

    def both(self, *args):
        """Run on both without comparing; return (dredis, redis) replies."""
        return self.d.execute(*args), self.r.execute(*args)

    def run_many(self, commands, normalize=None):
        """Pipeline commands (a list of argument tuples) to both and assert
        the replies are equal one by one; returns dredis's replies."""
        commands = [tuple(c) for c in commands]
        a = self.d.pipeline(commands)
        b = self.r.pipeline(commands)
        for cmd, x, y in zip(commands, a, b):
            if normalize:
                x, y = normalize(cmd, x), normalize(cmd, y)
            assert x == y, "%r: dredis replied %r, redis replied %r" % (cmd, x, y)
        return a

    def restart_dredis(self, sig=signal.SIGTERM):
        """Restart dredis (same ROOT_DIR, a new port) and reconnect."""
        self.d.close()
        self.dredis.restart(sig)
        self.d = self.dredis.client()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.d.close()
        self.r.close()
        try:
            self.dredis.stop()
            self.dredis.cleanup()
        finally:
            self.redis.stop()
            self.redis.cleanup()


SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: AddressSanitizer")


def sanitizer_report(log):
    """The part of a server log from the first sanitizer report on ("" when
    there is none)."""
    found = [log.find(m) for m in SANITIZER_MARKS if m in log]
    if not found:
        return ""
    start = log.rfind("\n", 0, min(found)) + 1
    return log[start:start + 4000]


def sorted_reply(v):
    """For replies whose order Redis leaves unspecified."""
    return sorted(v) if isinstance(v, list) else v


def wait_until(cond, timeout=10, interval=0.02, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(interval)
    raise AssertionError("timed out waiting for " + what)


def proc_io(pid):
    """The counters of /proc/PID/io (syscr: read system calls, ...)."""
    with open("/proc/%d/io" % pid) as f:
        return {k: int(v) for k, v in (line.split(": ") for line in f)}


def files_under(path):
    out = []
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(root, n), path))
    return sorted(out)


def staging_leftovers(root_dir):
    """Entries under ROOT_DIR/.tmp that are not part of the ready-made pools
    (plain files and empty directories, see docs/storage-format.md): what an
    unfinished write would leave behind."""
    tmp = os.path.join(root_dir, ".tmp")
    out = []
    for name in os.listdir(tmp):
        p = os.path.join(tmp, name)
        if os.path.islink(p):
            out.append(name)
        elif os.path.isdir(p):
            if os.listdir(p):
                out.append(name)
        elif not os.path.isfile(p):
            out.append(name)
    return sorted(out)


def info_map(c, section="default"):
    """INFO section of client c as {field: value} (strings)."""
    out = {}
    for line in c.execute("INFO", section).decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def assert_command_info_matches(p, names):
    """COMMAND INFO (name, arity, flags, first/last/step, ACL categories) and
    COMMAND DOCS (summary, since, group) of the named commands are the same
    on both servers of Pair p."""
    d, r = p.both("COMMAND", "INFO", *names)
    for a, b in zip(d, r):
        assert a[:7] == b[:7], (a[:7], b[:7])
    d, r = p.both("COMMAND", "DOCS", *names)
    dd, rd = dict(zip(d[::2], d[1::2])), dict(zip(r[::2], r[1::2]))
    for n in names:
        a = dict(zip(dd[n.encode()][::2], dd[n.encode()][1::2]))
        b = dict(zip(rd[n.encode()][::2], rd[n.encode()][1::2]))
        for field in (b"summary", b"since", b"group"):
            assert a[field] == b[field], (n, field, a[field], b[field])


@contextlib.contextmanager
def mounted_fs(mkfs_args, mount_opts="", size_mb=32):
    """A new file system mounted on a temporary directory (root needed):
    ext4 on a loop image made with mkfs.ext4 mkfs_args, or a tmpfs when
    mkfs_args is None. Yields the mount point; unmounts and removes all."""
    work = tempfile.mkdtemp(prefix="dredis-fs-")
    image, mnt = os.path.join(work, "fs.img"), os.path.join(work, "mnt")
    os.mkdir(mnt)
    mounted = False
    try:
        if mkfs_args is None:
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mb, "tmpfs", mnt], check=True,
                           capture_output=True)
        else:
            with open(image, "wb") as f:
                f.truncate(size_mb << 20)
            subprocess.run(["mkfs.ext4", "-q", "-F"] + mkfs_args + [image], check=True, capture_output=True)
            subprocess.run(["mount", "-o", ",".join(["loop"] + ([mount_opts] if mount_opts else [])), image, mnt],
                           check=True, capture_output=True)
        mounted = True
        yield mnt
    finally:
        if mounted and subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
