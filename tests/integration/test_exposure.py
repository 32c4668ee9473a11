"""test_exposure - what a client may cost the server and who may connect:
protected mode, backpressure on clients that do not read their replies,
client-output-buffer-limit (normal, pubsub), client-query-buffer-limit,
proto-max-bulk-len and the unauthenticated request limits; each compared
with a real redis-server where the behaviour is observable.

Protected mode is tested with a client whose source address is 127.0.0.2:
Redis (and dredis) count only 127.0.0.1, ::1 and unix sockets as local, so
that client is a remote one on any Linux machine, with or without a second
network interface."""
import os
import socket
import threading
import time

from dredis_test import Dredis, Client, ConnectionClosed, RespError, encode_command
from conn_util import compare, is_closed, wait_until
from test_replication import RawReplica


def remote_client(server, timeout=10):
    """A connection to server from 127.0.0.2 (not local to Redis)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", server.port))
    c = Client.__new__(Client)
    c.sock, c._buf, c._pos = s, bytearray(), 0
    return c


def first_reply_and_closed(c, *args):
    """Send args, return (reply or 'closed', whether the server then closed)."""
    try:
        c.send(*args)
        r = c.read_reply()
    except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
        return "closed", True
    return r, is_closed(c, timeout=5)


def vmstat(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


# ---- protected mode ------------------------------------------------------

DENIED_HEAD = ("DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
               "for the default user. In this mode connections are only accepted from the loopback interface.")


def _protected_scenario(server):
    out = []
    with remote_client(server) as c:
        r, closed = first_reply_and_closed(c, "PING")
        out.append(("remote denied", isinstance(r, RespError) and r.message.startswith(DENIED_HEAD), closed))
    with server.client() as local:
        out.append(("local served", local.execute("PING")))
        out.append(("get", local.execute("CONFIG", "GET", "protected-mode")))
        out.append(("bad value", local.execute("CONFIG", "SET", "protected-mode", "maybe")))
        out.append(("set password", local.execute("CONFIG", "SET", "requirepass", "pw")))
        with remote_client(server) as c:
            out.append(("remote with a password", c.execute("PING"), c.execute("AUTH", "pw"), c.execute("PING")))
        local.execute("AUTH", "pw")
        out.append(("no password", local.execute("CONFIG", "SET", "requirepass", "")))
        out.append(("off", local.execute("CONFIG", "SET", "protected-mode", "no")))
        with remote_client(server) as c:
            out.append(("remote served", c.execute("PING")))
        out.append(("on", local.execute("CONFIG", "SET", "protected-mode", "yes")))
    with remote_client(server) as c:
        r, closed = first_reply_and_closed(c, "PING")
        out.append(("denied again", isinstance(r, RespError) and r.message.startswith(DENIED_HEAD), closed))
    return out


def test_protected_mode_as_redis():
    out = compare(_protected_scenario, redis_args=("--bind", "0.0.0.0"),
                  dredis_env={"DREDIS_HOST": "0.0.0.0"})
    assert out[0] == ("remote denied", True, True)
    assert out[-1] == ("denied again", True, True)


def test_protected_mode_text_names_dredis_settings():
    with Dredis(env={"DREDIS_HOST": "0.0.0.0"}) as d:
        with remote_client(d) as c:
            r = c.execute("PING")
        assert r.message.startswith(DENIED_HEAD)
        assert "DREDIS_PROTECTED_MODE=no" in r.message and "CONFIG SET protected-mode no" in r.message
        with d.client() as c:
            assert c.execute("INFO", "stats").count(b"rejected_connections:1") == 1


def test_protected_mode_off_from_the_environment():
    with Dredis(env={"DREDIS_HOST": "0.0.0.0", "DREDIS_PROTECTED_MODE": "no"}) as d:
        with remote_client(d) as c:
            assert c.execute("PING") == "PONG"
        with d.client() as c:
            assert c.execute("CONFIG", "GET", "protected-mode") == [b"protected-mode", b"no"]
    with Dredis(env={"DREDIS_HOST": "0.0.0.0", "DREDIS_REQUIREPASS": "pw"}) as d:
        with remote_client(d) as c:
            assert c.execute("AUTH", "pw") == "OK" and c.execute("PING") == "PONG"


def test_protected_mode_bad_setting_stops_the_server():
    d = Dredis(env={"DREDIS_PROTECTED_MODE": "maybe"}, start=False)
    try:
        d.start()
        raise AssertionError("dredis started with DREDIS_PROTECTED_MODE=maybe")
    except AssertionError as e:
        assert "DREDIS_PROTECTED_MODE must be yes or no (got 'maybe')" in str(e), str(e)
    finally:
        d.stop()
        d.cleanup()


# ---- backpressure --------------------------------------------------------

LIST_LEN = 20000  # a reply of about 370 KB, above the 256 KB at which a client is paused
FLOOD = 100


def load_list(c, key, n):
    for i in range(0, n, 1000):
        c.execute("RPUSH", key, *["element-%d" % j for j in range(i, min(n, i + 1000))])


def expected_lrange(n):
    return b"*%d\r\n" % n + b"".join(b"$%d\r\n%s\r\n" % (len(e), e) for e in (b"element-%d" % j for j in range(n)))


def read_exactly(sock, n, timeout=120):
    sock.settimeout(timeout)
    parts, got = [], 0
    while got < n:
        data = sock.recv(min(1 << 20, n - got))
        if not data:
            raise ConnectionClosed("closed after %d of %d bytes" % (got, n))
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def test_flood_of_large_replies_is_held_back_not_buffered():
    """A client sends LRANGE of a 20,000-element list 100 times in one write
    and does not read: dredis runs no more of its commands while a reply
    waits (its memory grows by about one reply, not 200), answers others
    meanwhile, and the flooder gets every reply intact once it reads."""
    # a sanitizer build would keep freed memory in its quarantine
    asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "quarantine_size_mb=0"]))
    with Dredis(env={"ASAN_OPTIONS": asan}) as d:
        with d.client() as c:
            load_list(c, "big", LIST_LEN)
        one = expected_lrange(LIST_LEN)
        before = vmstat(d.proc.pid, "VmRSS")
        f = socket.create_connection(("127.0.0.1", d.port))
        f.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        f.sendall(encode_command(["LRANGE", "big", 0, -1]) * FLOOD)
        with d.client(timeout=60) as other:
            # the flooder is paused (INFO counts it) and others are answered
            wait_until(lambda: b"dredis_client_output_pauses:0\r\n" not in other.execute("INFO", "stats"),
                       what="the flooder to be paused")
            assert other.execute("PING") == "PONG"
            assert other.execute("LLEN", "big") == LIST_LEN
            time.sleep(0.5)
            assert other.execute("PING") == "PONG"
            grown_mb = (vmstat(d.proc.pid, "VmHWM") - before) / 1024
            total_mb = len(one) * FLOOD / (1 << 20)
            print("flooder stalled: VmHWM grew by %.1f MB for %.0f MB of replies asked for" % (grown_mb, total_mb))
            assert grown_mb < 12, "dredis grew by %.1f MB" % grown_mb
            data = read_exactly(f, len(one) * FLOOD)
            f.close()
            for i in range(FLOOD):
                assert data[i * len(one):(i + 1) * len(one)] == one, "reply %d differs" % i
            assert other.execute("PING") == "PONG"


def commands_processed(c):
    for line in c.execute("INFO", "stats").decode().splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":")[1])
    raise AssertionError("no total_commands_processed in INFO")


def test_deep_pipeline_lets_others_in():
    """50,000 GETs in one write: another client is answered while the
    pipeline is still running, and the pipeline's replies are all there.
    (Reads: no files written that would slow the test's clean-up.)"""
    n = 50000
    with Dredis() as d:
        with d.client(timeout=60) as other:
            base = commands_processed(other) + 1  # this INFO counts once done
            f = socket.create_connection(("127.0.0.1", d.port))
            sender = threading.Thread(target=f.sendall, args=(encode_command(["GET", "nokey"]) * n,))
            sender.start()
            wait_until(lambda: commands_processed(other) > base + 1, what="the pipeline to start")
            assert other.execute("PING") == "PONG"
            mid = commands_processed(other) - base
            assert 0 < mid < n, mid
            data = read_exactly(f, 5 * n)
            sender.join()
            f.close()
            assert data == b"$-1\r\n" * n
            assert commands_processed(other) - base >= n


# ---- client-output-buffer-limit ------------------------------------------

def test_output_buffer_limit_config_syntax_as_redis():
    def scenario(server):
        with server.client() as c:
            return [
                ("default", c.execute("CONFIG", "GET", "client-output-buffer-limit")),
                ("set", c.execute("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 512kb 10 replica 1gb 0 0")),
                ("get", c.execute("CONFIG", "GET", "client-output-buffer-limit")),
                ("odd", c.execute("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0")),
                ("class", c.execute("CONFIG", "SET", "client-output-buffer-limit", "master 1mb 0 0")),
                ("class2", c.execute("CONFIG", "SET", "client-output-buffer-limit", "bogus 1mb 0 0")),
                ("value", c.execute("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1xb 0 0")),
                ("seconds", c.execute("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 0 -1")),
                ("unchanged", c.execute("CONFIG", "GET", "client-output-buffer-limit")),
                ("qbuf", c.execute("CONFIG", "GET", "client-query-buffer-limit")),
                ("qbuf small", c.execute("CONFIG", "SET", "client-query-buffer-limit", "1000")),
                ("qbuf set", c.execute("CONFIG", "SET", "client-query-buffer-limit", "2mb")),
                ("qbuf get", c.execute("CONFIG", "GET", "client-query-buffer-limit")),
                ("bulk", c.execute("CONFIG", "GET", "proto-max-bulk-len")),
                ("bulk small", c.execute("CONFIG", "SET", "proto-max-bulk-len", "1000")),
                ("bulk set", c.execute("CONFIG", "SET", "proto-max-bulk-len", "1gb")),
                ("bulk get", c.execute("CONFIG", "GET", "proto-max-bulk-len")),
            ]

    compare(scenario)


def _pubsub_limit_scenario(limit, wait_soft):
    def scenario(server):
        with server.client() as c, server.client() as sub, server.client() as good:
            c.execute("CONFIG", "SET", "client-output-buffer-limit", limit)
            sub.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sub.execute("SUBSCRIBE", "ch")
            good.execute("SUBSCRIBE", "ch")
            msg = b"x" * 64 * 1024
            reached = []
            for _ in range(192):  # 12 MB (more than the kernel's socket buffers), read by good
                reached.append(c.execute("PUBLISH", "ch", msg))
                good.read_reply()
            if wait_soft:
                time.sleep(2.5)  # past the soft limit's seconds
                c.execute("PUBLISH", "ch", "tick")
                good.read_reply()
            wait_until(lambda: c.execute("PUBSUB", "NUMSUB", "ch")[1] == 1, timeout=20,
                       what="the subscriber that does not read to be closed")
            return [("closed", is_closed(sub, timeout=20)), ("first", reached[0]),
                    ("good", c.execute("PUBLISH", "ch", "after"), good.read_reply()),
                    ("logged", "for overcoming of output buffer limits" in server.output())]
    return scenario


def test_pubsub_hard_limit_closes_a_subscriber_that_does_not_read():
    compare(_pubsub_limit_scenario("pubsub 1mb 0 0", False))


def test_pubsub_soft_limit_closes_after_its_seconds():
    compare(_pubsub_limit_scenario("pubsub 0 512kb 1", True))


def test_normal_class_limit_closes_a_client_past_it():
    """The normal class is unlimited by default; set below one reply it
    closes the client as Redis does (no reply at all)."""
    def scenario(server):
        with server.client() as c:
            for _ in range(4):
                c.execute("RPUSH", "big", *[b"v" * 1000] * 500)
            c.execute("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0")
            with server.client() as v:
                r = v.execute("LRANGE", "big", 0, 99)  # about 100 KB: under the limit
                out = [("small", len(r), v.execute("PING"))]
            with server.client() as v:
                v.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
                v.send("LRANGE", "big", 0, -1)  # about 2 MB
                time.sleep(0.5)
                out.append(("closed", is_closed(v, timeout=10)))
            out.append(("still serving", c.execute("PING")))
            return out

    compare(scenario)


# ---- query buffer and protocol limits -------------------------------------

def test_query_buffer_limit_closes_the_client():
    def scenario(server):
        with server.client() as c:
            c.execute("CONFIG", "SET", "client-query-buffer-limit", "1mb")
            with server.client() as v:
                v.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
                try:
                    v.send_raw(b"x" * 1500000)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                closed = is_closed(v, timeout=10)
            with server.client() as v:  # under the limit: served
                ok = v.execute("SET", "k", b"y" * 900000)
            return [("closed", closed), ("under", ok), ("alive", c.execute("STRLEN", "k")),
                    ("logged", "Closing client that reached max query buffer length" in server.output())]

    compare(scenario)


def test_proto_max_bulk_len_as_redis():
    def scenario(server):
        with server.client() as c:
            out = [("set", c.execute("CONFIG", "SET", "proto-max-bulk-len", "1mb"))]
            with server.client() as v:
                v.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n")
                out.append(("too long", v.read_reply(), is_closed(v)))
            out.append(("setrange", c.execute("SETRANGE", "k", 1024 * 1024, "x")))
            out.append(("setbit", c.execute("SETBIT", "k", 8 * 1024 * 1024, 1)))
            out.append(("append ok", c.execute("SETRANGE", "k", 1024 * 1024 - 1, "x")))
            out.append(("append", c.execute("APPEND", "k", "y")))
            return out

    compare(scenario)


def test_unauthenticated_request_limits_as_redis():
    def scenario(server):
        out = []
        with server.client() as c:
            c.execute("CONFIG", "SET", "requirepass", "pw")
        with server.client() as v:
            v.send(*(["ECHO"] + ["a"] * 10))
            out.append(("eleven", v.read_reply(), is_closed(v)))
        with server.client() as v:
            v.send("ECHO", b"a" * 20000)
            out.append(("long", v.read_reply(), is_closed(v)))
        with server.client() as v:
            out.append(("ten", v.execute(*(["ECHO"] + ["a"] * 9))))
            out.append(("auth", v.execute("AUTH", "pw"), v.execute("ECHO", b"a" * 20000) == b"a" * 20000))
        return out

    compare(scenario)


def test_replica_class_limit_drops_a_replica_that_does_not_read():
    """A replica that stops reading the stream is dropped at the replica
    class's hard limit (never below repl-backlog-size), with Redis's log
    line; the master serves on."""
    def scenario(server):
        with server.client() as c:
            c.execute("CONFIG", "SET", "client-output-buffer-limit", "replica 2mb 0 0")
            rep = RawReplica(server.port)
            rep.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            wait_until(lambda: b"connected_slaves:1" in c.execute("INFO", "replication"), what="the replica")
            for i in range(12):  # 12 MB of stream: more than the kernel's socket buffers
                c.execute("SET", "k%d" % i, b"v" * (1 << 20))
            wait_until(lambda: b"connected_slaves:0" in c.execute("INFO", "replication"), timeout=20,
                       what="the replica to be dropped")
            rep.sock.close()
            logged = "for overcoming of output buffer limits" in server.output()
            return [("logged", logged), ("serving", c.execute("DBSIZE"))]

    compare(scenario, redis_args=("--repl-diskless-sync", "no"))
