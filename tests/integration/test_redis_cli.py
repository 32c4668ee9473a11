"""redis-cli used as a person would, against dredis and a real Redis side by
side: the output must be the same (up to the order of unordered replies)."""
import re
import subprocess

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
