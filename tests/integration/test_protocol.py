"""The wire protocol, compared byte for byte with a real Redis 7.0 where it
can be: pipelining, commands split into 1-byte writes, inline commands as
telnet/nc send them, protocol errors (exact text, connection closed after
the reply), many concurrent clients, and very large values."""
import os
import resource
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from dredis_test import Dredis, Pair, encode_command, wait_until


def count_replies(buf):
    """How many complete RESP2 replies buf starts with."""
    def one(pos):
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        kind, rest = buf[pos:pos + 1], buf[pos + 1:eol]
        pos = eol + 2
        if kind in (b"+", b"-", b":"):
            return pos
        n = int(rest)
        if kind == b"$":
            return pos + n + 2 if n >= 0 and len(buf) >= pos + n + 2 else (pos if n < 0 else None)
        if kind == b"*":
            for _ in range(max(n, 0)):
                pos = one(pos)
                if pos is None:
                    return None
            return pos
        raise AssertionError("not a reply: %r" % buf[pos - 2:pos + 40])
    count, pos = 0, 0
    while pos < len(buf):
        pos = one(pos)
        if pos is None:
            break
        count += 1
    return count


def exchange(port, data, expect=0, quiet=0.3, limit=15.0):
    """Send data on a new connection and collect what comes back until the
    server closes the connection, or (once `expect` complete replies have
    arrived) nothing more arrives for `quiet` seconds. Returns (bytes
    received, how the connection ended: "closed", "reset" or "open")."""
    s = socket.create_connection(("127.0.0.1", port))
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        end = "open"
        deadline = time.time() + limit
        while time.time() < deadline:
            s.settimeout(quiet if count_replies(got) >= expect else max(0.01, deadline - time.time()))
            try:
                chunk = s.recv(1 << 16)
            except socket.timeout:
                break
            except ConnectionResetError:
                end = "reset"
                break
            if not chunk:
                end = "closed"
                break
            got += chunk
        return got, end
    finally:
        s.close()


def compare_raw(pair, cases):
    """Run every case against Redis, then against dredis, waiting there for
    as many replies as Redis gave (dredis may be slower, e.g. under a
    sanitizer); assert equal outcomes."""
    with ThreadPoolExecutor(max_workers=16) as ex:
        theirs = list(ex.map(lambda d: exchange(pair.redis.port, d, quiet=1.0), cases))
        ours = list(ex.map(lambda dt: exchange(pair.dredis.port, dt[0], expect=count_replies(dt[1][0])),
                           zip(cases, theirs)))
    for data, a, b in zip(cases, ours, theirs):
        assert a == b, "%r...: dredis gave %r, redis gave %r" % (data[:60], (a[0][:200], a[1]), (b[0][:200], b[1]))
    return ours


def test_protocol_errors_match_redis():
    cases = [
        b"*abc\r\n", b"*1\r\n$-5\r\n", b"*1\r\n+foo\r\n", b"*1\r\n:1\r\n", b"*1\r\n\r\n",
        b"*1\r\n$abc\r\n", b"*1\r\n$\r\n", b"*\r\n", b"*1x\r\n", b"*01\r\n$4\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n",
        b"*1\r\n$+4\r\nPING\r\n", b"*1\r\n$04\r\nPING\r\n", b"*-0\r\n", b"*1\r\n$-0\r\n",
        b"*99999999999999999999\r\n", b"*1\r\n$99999999999999999999\r\n", b"*" + b"1" * 200 + b"\r\n",
        b"*1\r\n$" + b"1" * 200 + b"\r\n", b"*2147483648\r\n", b"*1\r\n$536870913\r\n", b"*1\r\n$600000000\r\n",
        # no end of line in sight after 64 KB
        b"x" * 70000, b"*1\r\n$4\r\nPING\r\n" + b"y" * 70000, b"*1\r\n$" + b"1" * 70000, b"*" + b"2" * 70000,
        # unbalanced quotes in inline commands
        b'set "a b\r\n', b"set 'a b\r\n", b'set "a"b c\r\n', b"set 'a'b c\r\n", b'ECHO "\\"\r\n',
        # a good command first: its reply comes before the error
        b"PING\r\n*1\r\n$-5\r\n", b"*1\r\n$4\r\nPING\r\n*x\r\n",
    ]
    with Pair() as p:
        results = compare_raw(p, cases)
    for data, (got, end) in zip(cases, results):
        assert got.split(b"\r\n")[-2].startswith(b"-ERR Protocol error"), (data[:40], got)
        assert end == "closed", (data[:40], end)


def test_incomplete_requests_wait_like_redis():
    # Redis waits for the rest of these; so must dredis (the connection stays open)
    cases = [b"*2000000\r\n", b"*1048577\r\n", b"*1\r\n$536870912\r\n", b"*1\r\n$4\r\nPING", b"*1\r", b"*1\rx\n",
             b"PING", b"\x00\r\n", b"PI\x00NG\r\n", b"*1\r\n\x00\r\n", b"*-1\r\n", b"*0\r\n", b"\r\n\r\n", b"   \r\n",
             b"*1\r\n$1\r\n"]
    with Pair() as p:
        results = compare_raw(p, cases)
    for data, (got, end) in zip(cases, results):
        assert (got, end) == (b"", "open"), (data, got, end)


def test_odd_but_valid_requests_match_redis():
    cases = [
        b"*1\r\n$4\r\nPINGxx", b"*1\r\n$4\r\nPINGxx\r\n*1\r\n$4\r\nPING\r\n",  # the 2 bytes after a bulk are skipped
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n",
        b"*-10\r\nPING\r\n", b"\r\n\r\nPING\r\n", b"PING\n", b"  PING   \r\n", b"\tPING\t\r\n",
        b"*1\r\n$1\r\n\xff\r\n", b"\xff\r\n", b"*2\r\n$4\r\nECHO\r\n$3\r\na\x00c\r\n",
        b"x" * 70000 + b"\r\n",  # a long inline line is fine once its end has arrived
        b"ECHO " + b"a" * 65530 + b"\r\n", b"*1\r\n$4\r\nPING\r\n" * 3 + b"PING\r\n" * 3,
        b"$4\r\nPING\r\n", b"+PING\r\n", b":1\r\n", b"$-5\r\n",
    ]
    with Pair() as p:
        compare_raw(p, cases)


def test_inline_commands_as_telnet_sends_them():
    cases = [
        b"SET greeting hello\r\nGET greeting\r\n",
        b'SET k "hello world"\r\nGET k\r\n',
        b"SET k 'single quoted'\r\nGET k\r\n",
        b'SET k "tab\\there\\nnewline\\x41\\x4a\\\\ \\"q\\""\r\nGET k\r\nSTRLEN k\r\n',
        b"SET k 'it\\'s'\r\nGET k\r\n",
        b'SET k "\\xzz\\x4"\r\nGET k\r\n',
        b'SET k ""\r\nGET k\r\nEXISTS k\r\n',
        b"SET k ''\r\nSTRLEN k\r\n",
        b"   SET    spaced     value   \r\nGET spaced\r\n",
        b"set lower case\nget lower\n",
        b"INCR n\r\nINCR n\r\nINCRBY n 10\r\n",
        b"NOPE a b\r\n", b"GET\r\n", b'ECHO "a b" c\r\n', b"MSET a 1 b 2\r\nMGET a b c\r\n",
        b'SET "quoted key" v\r\nKEYS quoted*\r\n',
    ]
    with Pair() as p:
        results = compare_raw(p, cases)
    assert results[0] == (b"+OK\r\n$5\r\nhello\r\n", "open")


def test_pipeline_of_10000_commands_in_one_write():
    cmds = []
    for i in range(10000):
        m = i % 5
        if m == 0:
            cmds.append(("ECHO", "msg-%d" % i))
        elif m == 1:
            cmds.append(("GET", "k%d" % (i % 50)))
        elif m == 2:
            cmds.append(("EXISTS", "k%d" % (i % 50), "other"))
        elif m == 3:
            cmds.append(("PING",))
        elif i % 100 == 4:
            cmds.append(("INCR", "counter"))
        else:
            cmds.append(("STRLEN", "k%d" % (i % 50)))
    setup = [("SET", "k%d" % i, "v" * i) for i in range(50)]
    with Pair() as p:
        p.run_many(setup)
        # one write with all 10,000 commands, on both servers
        replies = p.run_many(cmds)
        assert len(replies) == 10000
        assert replies[0] == b"msg-0" and replies[-1] == 49
        assert p.d.execute("GET", "counter") == b"100"


def test_command_split_into_single_byte_writes():
    data = (encode_command(["SET", "split", "a\r\nb"]) + encode_command(["GET", "split"]) + b"ECHO inline\r\n" +
            encode_command(["MSET", "x", "1", "y", "22"]) + b'SET q "with space"\r\n' + encode_command(["MGET", "x", "y", "q"]))
    with Pair() as p:
        out = []
        for port in (p.dredis.port, p.redis.port):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                s.send(data[i:i + 1])
            expected = b"+OK\r\n$4\r\na\r\nb\r\n$6\r\ninline\r\n+OK\r\n+OK\r\n*3\r\n$1\r\n1\r\n$2\r\n22\r\n$10\r\nwith space\r\n"
            got = b""
            s.settimeout(10)
            while len(got) < len(expected):
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
            s.close()
            out.append(got)
        assert out[0] == out[1] == expected


def test_big_argument_in_pieces_and_many_arguments():
    arg = os.urandom(3 << 20)
    with Pair() as p:
        for c in (p.d, p.r):
            payload = encode_command(["SET", "big", arg])
            for i in range(0, len(payload), 65521):
                c.send_raw(payload[i:i + 65521])
            assert c.read_reply() == "OK"
        p.run_many([("STRLEN", "big"), ("GETRANGE", "big", "1000", "1099")])
        keys = ["k%d" % i for i in range(20000)]
        p.run_many([("MSET", "k1", "a", "k19999", "b"), ["EXISTS"] + keys, ["MGET"] + keys[:5000], ["DEL"] + keys])


def test_client_disconnecting_mid_command_leaves_the_server_well():
    with Dredis() as s:
        for partial in (b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$10\r\nabc", b"*2\r\n$3\r\nGET", b"SET a b", b"*100\r\n"):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(partial)
            c.close()
        with s.client() as c:
            assert c.execute("PING") == "PONG"
            assert c.execute("EXISTS", "a") == 0
            wait_until(lambda: b"connected_clients:1\r\n" in c.execute("INFO", "clients"), what="clients to go")


def test_1000_concurrent_clients():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    with Dredis() as s:
        socks = [socket.create_connection(("127.0.0.1", s.port), timeout=60) for _ in range(1000)]
        try:
            with s.client() as c:
                assert b"connected_clients:1001\r\n" in c.execute("INFO", "clients")
            # every client has a request in flight at the same time
            for i, sock in enumerate(socks):
                sock.sendall(encode_command(["SET", "c%d" % i, "v%d" % i]) + encode_command(["GET", "c%d" % i]) +
                             encode_command(["ECHO", "from %d" % i]))
            for i, sock in enumerate(socks):
                expected = b"+OK\r\n$%d\r\nv%d\r\n$%d\r\nfrom %d\r\n" % (len("v%d" % i), i, len("from %d" % i), i)
                got = b""
                while len(got) < len(expected):
                    chunk = sock.recv(4096)
                    assert chunk, "client %d: connection closed after %r" % (i, got)
                    got += chunk
                assert got == expected, (i, got)
        finally:
            for sock in socks:
                sock.close()
        with s.client() as c:
            assert c.execute("DBSIZE") == 1000
            assert c.execute("MGET", "c0", "c999") == [b"v0", b"v999"]
            wait_until(lambda: b"connected_clients:1\r\n" in c.execute("INFO", "clients"), what="clients to go")


def test_100mb_value():
    big = os.urandom(1 << 20) * 100
    with Dredis() as s, s.client(timeout=300) as c:
        assert c.execute("SET", "big", big) == "OK"
        assert os.path.getsize(os.path.join(s.db_dir(0), "big", "value")) == len(big)
        assert c.execute("STRLEN", "big") == len(big)
        got = c.execute("GET", "big")
        assert len(got) == len(big) and got == big
        del got
        assert c.execute("GETRANGE", "big", "0", "99") == big[:100]
        assert c.execute("GETRANGE", "big", "-100", "-1") == big[-100:]
        assert c.execute("GETRANGE", "big", "52428800", "52429823") == big[52428800:52429824]
        assert c.execute("GETRANGE", "big", "104857500", "999999999") == big[104857500:]
        assert c.execute("APPEND", "big", "tail") == len(big) + 4
        assert c.execute("GETRANGE", "big", "-8", "-1") == big[-4:] + b"tail"
        assert c.execute("SETRANGE", "big", "10", "MIDDLE") == len(big) + 4
        assert c.execute("GETRANGE", "big", "8", "17") == big[8:10] + b"MIDDLE" + big[16:18]
        assert c.execute("DEL", "big") == 1


def test_error_replies_never_break_the_stream():
    # errors with CR/LF in what they quote are still one line
    with Pair() as p:
        p.run_many([("NOPE\r\nx", "a\r\nb"), ("GET", "a", "b\r\n"), ("SET", "k", "v", "EX", "1\r\n"),
                     ("EXPIRE", "k", "1", "B\r\nAD"), ("PING",)])
