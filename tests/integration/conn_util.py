"""conn_util - helpers shared by test_multi, test_pubsub and test_connection:
running one scenario against dredis and against a real redis-server and
comparing what each saw, reading a reply's raw bytes, and telling whether
the server closed a connection."""
import os
import socket

from dredis_test import Dredis, Redis, ConnectionClosed, wait_until


def run_on_both(scenario, dredis_env=None, redis_args=()):
    """Run scenario(server) on a fresh dredis and on a fresh redis-server;
    return (dredis_result, redis_result)."""
    with Dredis(env=dredis_env) as d:
        a = scenario(d)
    with Redis(extra_args=redis_args) as r:
        b = scenario(r)
    return a, b


def compare(scenario, dredis_env=None, redis_args=()):
    """Assert scenario(server) gives the same result on dredis and redis;
    the scenario returns a list of (label, value) steps so a mismatch names
    the first step that differs."""
    a, b = run_on_both(scenario, dredis_env, redis_args)
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            assert x == y, "step %d differs:\n  dredis: %r\n  redis:  %r" % (i, x, y)
        assert len(a) == len(b), "dredis gave %d steps, redis %d" % (len(a), len(b))
    assert a == b, "dredis: %r\nredis: %r" % (a, b)
    return a


def read_raw(c):
    """Read one reply from client c and return its exact bytes."""
    received = []
    start = c.buf
    orig_fill = c._fill

    def fill():
        before = len(c.buf)
        orig_fill()
        received.append(c.buf[before:])

    c._fill = fill
    try:
        c.read_reply()
    finally:
        del c._fill
    total = start + b"".join(received)
    return total[:len(total) - len(c.buf)]


def raw_exec(c, *args):
    c.send(*args)
    return read_raw(c)


def is_closed(c, timeout=10):
    """True once the server has closed c's connection (EOF or reset) within
    timeout seconds; unread replies before the close are skipped."""
    c.sock.settimeout(timeout)
    try:
        while True:
            data = c.sock.recv(1 << 20)
            if not data:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def nothing_pending(c, wait=0.2):
    """True when no bytes arrive on c within wait seconds (used only to
    check that a reply was suppressed, after a later reply proves the
    server already handled the command)."""
    c.sock.settimeout(wait)
    try:
        data = c.sock.recv(1 << 16)
    except socket.timeout:
        return not c.buf
    finally:
        c.sock.settimeout(30)
    c.buf += data
    return False


def client_ids(server):
    with server.client() as c:
        text = c.execute("CLIENT", "LIST").decode()
    return [int(f.split("=", 1)[1]) for line in text.splitlines() for f in line.split(" ") if f.startswith("id=")]


def client_count(server):
    return len(client_ids(server))


def make_hash_key(server, db, key, field=b"f", value=b"v"):
    """A hash key whatever commands exist: HSET on redis, the key's
    directory written by hand on dredis (type file, one field)."""
    if isinstance(server, Dredis):
        d = os.path.join(server.db_dir(db), key)
        os.makedirs(os.path.join(d, "fields"))
        with open(os.path.join(d, "type"), "w") as f:
            f.write("hash")
        with open(os.path.join(d, "len"), "w") as f:
            f.write("1")
        with open(os.path.join(d, "fields", field.decode()), "wb") as f:
            f.write(value)
    else:
        with server.client() as c:
            c.execute("SELECT", db)
            assert c.execute("HSET", key, field, value) == 1


__all__ = ["run_on_both", "compare", "read_raw", "raw_exec", "is_closed", "nothing_pending", "client_ids",
           "client_count", "make_hash_key", "wait_until", "ConnectionClosed"]
