"""redis-cli used as a person would, against dredis and a real Redis side by
side: the output must be the same (up to the order of unordered replies)."""
import os
import re
import select
import signal
import subprocess
import time

from dredis_test import REDIS_CLI, Pair


def cli(port, *args, stdin=None):
    assert REDIS_CLI, "redis-cli is required (Debian package redis-tools)"
    proc = subprocess.run([REDIS_CLI, "-p", str(port)] + list(args), input=stdin, capture_output=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def same(p, *args, stdin=None, unordered=False):
    a = cli(p.dredis.port, *args, stdin=stdin)
    b = cli(p.redis.port, *args, stdin=stdin)
    if unordered:
        # the lines in any order, without the "1) " numbering of --no-raw
        a = (a[0], sorted(re.sub(rb"(?m)^\d+\) ", b"", a[1]).split(b"\n")), a[2])
        b = (b[0], sorted(re.sub(rb"(?m)^\d+\) ", b"", b[1]).split(b"\n")), b[2])
    assert a == b, "redis-cli %r: dredis %r, redis %r" % (args, a, b)
    return a


def test_everyday_commands():
    with Pair() as p:
        assert same(p, "set", "a", "b")[1] == b"OK\n"
        assert same(p, "get", "a")[1] == b"b\n"
        same(p, "get", "nokey")
        same(p, "--raw", "get", "nokey")
        same(p, "set", "a", "b", "nx")
        same(p, "incr", "n")
        same(p, "--raw", "incrbyfloat", "f", "1.5")
        same(p, "nope")
        same(p, "get")
        same(p, "ping")
        same(p, "echo", "a b")
        same(p, "dbsize")
        same(p, "type", "a")
        same(p, "ttl", "a")
        same(p, "set", "t", "v", "ex", "100")
        same(p, "expire", "a", "100", "gt")
        same(p, "--no-raw", "mget", "a", "nokey", "n")
        same(p, "--no-raw", "incr", "n")
        same(p, "--no-raw", "set", "a", "b")
        same(p, "--no-raw", "get", "nokey")
        same(p, "--no-raw", "nope")
        same(p, "--no-raw", "getrange", "a", "0", "-1")
        same(p, "-n", "3", "set", "in3", "x")
        same(p, "-n", "3", "get", "in3")
        same(p, "-n", "16", "get", "in3")


def test_x_reads_the_value_from_stdin():
    value = b"line one\nline two\x00\xff\n"
    with Pair() as p:
        same(p, "-x", "set", "k", stdin=value)
        assert p.d.execute("GET", "k") == value
        assert p.d.execute("STRLEN", "k") == len(value)
        same(p, "--raw", "get", "k")
        same(p, "--no-raw", "get", "k")
        same(p, "strlen", "k")
        same(p, "-x", "append", "k", stdin=b"more")
        assert p.d.execute("GET", "k") == value + b"more"


def test_no_raw_and_raw_output():
    with Pair() as p:
        p.run_many([("SET", "bin", b"a\x00b\r\n\xff\"q\""), ("MSET", "x", "1", "y", "2")])
        out = same(p, "--no-raw", "get", "bin")[1]
        assert out == b'"a\\x00b\\r\\n\\xff\\"q\\""\n'
        same(p, "--raw", "get", "bin")
        same(p, "--no-raw", "mget", "x", "y", "z")
        same(p, "--raw", "mget", "x", "y", "z")
        same(p, "--no-raw", "keys", "[xy]", unordered=True)
        same(p, "--no-raw", "ttl", "x")
        same(p, "--no-raw", "type", "x")
        same(p, "--no-raw", "ping")


def test_scan_and_pattern():
    with Pair() as p:
        p.run_many([("MSET", "user:1", "a", "user:2", "b", "user:30", "c", "other", "d", "userx", "e")])
        out = same(p, "--scan", "--pattern", "user:*", unordered=True)[1]
        assert out == sorted(b"user:1\nuser:2\nuser:30\n".split(b"\n"))
        same(p, "--scan", unordered=True)
        same(p, "--scan", "--pattern", "*x", unordered=True)
        same(p, "--scan", "--pattern", "nothing*", unordered=True)
        same(p, "keys", "*", unordered=True)


def test_info_and_commands_from_stdin():
    with Pair() as p:
        rc, out, err = cli(p.dredis.port, "info", "server")
        assert rc == 0 and out.startswith(b"# Server")
        assert b"redis_version:7.0" in out
        rc, out, err = cli(p.dredis.port, "info", "keyspace")
        assert rc == 0 and out.strip() == b"# Keyspace"
        same(p, stdin=b"set x 1\nget x\nincr x\nmget x nokey\n")
        same(p, stdin=b'set "two words" "v v"\nkeys two*\nget "two words"\n')


# ---------------------------------------------------------------------------
# --pipe, --stat, MONITOR and the interactive mode
# ---------------------------------------------------------------------------

def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else str(a).encode() if isinstance(a, int) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def test_pipe_mode_thousands_of_commands():
    data = b"".join([resp("SET", "key:%d" % i, "value %d" % i) for i in range(2000)] +
                    [resp("RPUSH", "list", b"e\x00\r\n%d" % i) for i in range(800)] +
                    [resp("HSET", "h", "f%d" % i, i) for i in range(200)] +
                    [b"INCR counter\r\n", b"INCRBY counter 41\r\n"])  # the inline protocol too
    with Pair() as p:
        rc, out, err = same(p, "--pipe", stdin=data)
        assert rc == 0 and err == b"", (rc, err)
        assert out.endswith(b"errors: 0, replies: 3002\n"), out
        assert out.startswith(b"All data transferred. Waiting for the last reply...\n"), out
        p.run("DBSIZE")
        p.run("GET", "key:1999")
        p.run("LLEN", "list")
        p.run("LINDEX", "list", "777")
        p.run("HLEN", "h")
        assert p.run("GET", "counter") == b"42"


def test_pipe_mode_counts_error_replies():
    data = resp("SET", "s", "v") + resp("LPUSH", "s", "x") + resp("NOSUCH", "a") + resp("GET", "s")
    with Pair() as p:
        rc, out, err = same(p, "--pipe", stdin=data)
        assert rc == 1, rc
        assert out.endswith(b"errors: 2, replies: 4\n"), out
        assert b"WRONGTYPE Operation against a key holding the wrong kind of value" in out + err
        assert p.run("GET", "s") == b"v"


class Tty:
    """A program on a pseudo-terminal (24x200), as a person would run it."""

    def __init__(self, argv, term="dumb"):
        import fcntl
        import pty
        import struct
        import termios
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))
        env = dict(os.environ, TERM=term, REDISCLI_HISTFILE="/dev/null", REDISCLI_RCFILE="/dev/null")
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
                                     start_new_session=True)
        os.close(slave)
        self.out = b""

    def read_until(self, pred, timeout=10, what="output"):
        """Read until pred(output) holds, or with pred None until the
        program has closed the terminal."""
        deadline = time.time() + timeout
        while pred is None or not pred(self.out):
            assert time.time() < deadline, "timed out waiting for %s; got %r" % (what, self.out[-2000:])
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # EIO: the program ended
                    data = b""
                if not data and pred is None:
                    break
                assert data, "the program ended; got %r" % self.out[-2000:]
                self.out += data
        return self.out

    def write(self, data):
        os.write(self.master, data)

    def close(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(10)
        finally:
            os.close(self.master)
        return self.proc.returncode


def interactive(port, lines, term="dumb"):
    """Type lines into an interactive redis-cli, each once the prompt is
    back; returns everything it showed, the port replaced by PORT."""
    t = Tty([REDIS_CLI, "-p", str(port)], term=term)
    try:
        prompts = 0
        for line in lines:
            t.read_until(lambda o: o.count(b"> ") > prompts and o.endswith(b"> "), what="a prompt")
            prompts = t.out.count(b"> ")
            t.write(line + b"\r")
        t.read_until(None, what="redis-cli to exit")
    finally:
        t.close()
    return t.out.replace(b":%d" % port, b":PORT")


def test_interactive_mode_on_a_terminal():
    lines = [b'set "two words" "a \\"quoted\\" value"', b"get 'two words'", b'get "two words"',
             b"select 1", b'get "two words"', b"set n 10", b"incr n", b"lpush n x",
             b"nosuch arg", b"get", b"select 0", b"dbsize", b"exit"]
    with Pair() as p:
        a = interactive(p.dredis.port, lines)
        b = interactive(p.redis.port, lines)
        assert a == b, "dredis:\n%s\nredis:\n%s" % (a.decode(errors="replace"), b.decode(errors="replace"))
    assert b'127.0.0.1:PORT> get "two words"\r\n"a \\"quoted\\" value"\r\n' in a, a
    assert b"127.0.0.1:PORT> select 1\r\nOK\r\n127.0.0.1:PORT[1]> " in a, a
    assert b"127.0.0.1:PORT[1]> lpush n x\r\n(error) WRONGTYPE " in a, a
    assert b"(error) ERR unknown command 'nosuch', with args beginning with: 'arg' \r\n" in a, a
    assert b"127.0.0.1:PORT[1]> select 0\r\nOK\r\n127.0.0.1:PORT> dbsize\r\n(integer) 1\r\n" in a, a


def test_interactive_mode_hints_on_a_terminal():
    """With line editing (TERM=xterm) redis-cli shows, as one types, hints
    it builds from the server's COMMAND DOCS arguments; the screen must be
    the same byte for byte."""
    lines = [b'set "a b" 1 ', b"config get maxmemory", b"zadd z nx 1 m", b"xadd s 1-1 f v", b"client", b"exit"]
    with Pair() as p:
        a = interactive(p.dredis.port, lines, term="xterm")
        b = interactive(p.redis.port, lines, term="xterm")
    assert a == b, "dredis:\n%r\nredis:\n%r" % (a, b)
    hint = b"\x1b[0;90;49m key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|" \
           b"PXAT unix-time-milliseconds|KEEPTTL]\x1b[0m"
    assert hint in a, a
    assert b"config get\x1b[0;90;49m parameter [parameter ...]\x1b[0m" in a, a


def test_interactive_commands_from_stdin_that_is_not_a_terminal():
    """Without a terminal redis-cli reads commands line by line, without
    prompts, and prints the replies as it would to a terminal but raw."""
    stdin = b'set "a b" "c \\"d\\""\nget "a b"\nselect 1\nget "a b"\nset x 1\nlpush x y\nnosuch\nselect 0\nkeys *\n'
    with Pair() as p:
        rc, out, err = same(p, stdin=stdin)
        # an error reply is followed by an empty line
        assert out == b'OK\nc "d"\nOK\n\nOK\nWRONGTYPE Operation against a key holding the wrong kind of value\n\n' \
                      b"ERR unknown command 'nosuch', with args beginning with: \n\nOK\na b\n", out


def read_lines(f, n, timeout=10):
    """n lines from the pipe f, waiting at most timeout seconds."""
    fd, buf = f.fileno(), b""
    deadline = time.time() + timeout
    while buf.count(b"\n") < n:
        assert time.time() < deadline, "timed out waiting for %d lines: %r" % (n, buf)
        if select.select([fd], [], [], 0.05)[0]:
            data = os.read(fd, 65536)
            assert data, "the pipe closed: %r" % buf
            buf += data
    return buf.split(b"\n")[:n]


def test_monitor_mode():
    line_re = re.compile(rb'^\d+\.\d{6} \[(\d+) (127\.0\.0\.1:\d+|lua)\] (.*)$')

    def watch(server):
        mon = subprocess.Popen([REDIS_CLI, "-p", str(server.port), "monitor"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        try:
            assert read_lines(mon.stdout, 1) == [b"OK"]
            with server.client() as c:
                c.execute("SET", "k", "v")
                c.execute("SET", "quoted", b'say "hi"\\ \n\t\x00\xff')
                c.execute("SELECT", "2")
                c.execute("LPUSH", "l", "a", "b")
                c.execute("EVAL", "return redis.call('incr', KEYS[1])", 1, "n")
                c.execute("MULTI")
                c.execute("INCR", "n")
                c.execute("EXEC")
                c.execute("GET", "nokey")
            out = read_lines(mon.stdout, 10)
            seen = []
            for line in out:
                m = line_re.match(line)
                assert m, out
                seen.append((m.group(1), m.group(2) == b"lua", m.group(3)))
            return seen
        finally:
            mon.kill()
            mon.wait()

    with Pair() as p:
        a, b = watch(p.dredis), watch(p.redis)
    assert a == b, "dredis:\n%r\nredis:\n%r" % (a, b)
    assert a[0] == (b"0", False, b'"SET" "k" "v"'), a
    assert a[1] == (b"0", False, b'"SET" "quoted" "say \\"hi\\"\\\\ \\n\\t\\x00\\xff"'), a
    assert a[5] == (b"2", True, b'"incr" "n"'), a


def test_stat_mode():
    def stat(server):
        t = Tty([REDIS_CLI, "-p", str(server.port), "--stat", "-i", "0.1"])
        try:
            t.read_until(lambda o: o.count(b"\n") >= 6, what="five lines of --stat")
        finally:
            # not SIGINT: a shell that runs the tests in the background
            # (`make check &`) leaves it ignored in its children
            t.close(signal.SIGTERM)
        return t.out.decode().replace("\r\n", "\n").split("\n")

    with Pair() as p:
        p.run_many([("SET", "k%d" % i, "v") for i in range(123)] + [("SELECT", "3"), ("SET", "other", "x")])
        a, b = stat(p.dredis), stat(p.redis)
    assert a[:2] == b[:2], (a[:2], b[:2])
    assert a[0].startswith("------- data ------ --------------------- load"), a
    assert a[1].split() == ["keys", "mem", "clients", "blocked", "requests", "connections"], a
    for line in a[2:6]:
        keys, mem, clients, blocked, requests, plus, connections = line.split()
        # keys of every database; the --stat client and the Pair's one
        assert (keys, clients, blocked) == ("124", "2", "0"), line
        assert re.match(r"^[\d.]+[KMG]?$", mem) and re.match(r"^\(\+\d+\)$", plus), line
    counts = [int(line.split()[4]) for line in a[2:6]]
    assert counts == sorted(counts) and counts[-1] > counts[0], counts
