"""DEBUG against a real redis-server started with --enable-debug-command
(docs/compatibility.md, "DEBUG"): the gate (enable-debug-command no, yes and
local, with Redis's error text, before authentication and inside MULTI),
DIGEST and DIGEST-VALUE byte for byte on every type, PROTOCOL's exact bytes
in RESP2 and RESP3, OBJECT, POPULATE, SLEEP, SET-ACTIVE-EXPIRE, PAUSE-CRON,
SET-DISABLE-DENY-SCRIPTS, QUICKLIST-PACKED-THRESHOLD, the small ones, and
RELOAD / LOADAOF keeping every type, TTL and function library while the
caches of the tree are dropped."""
import os
import random
import re
import socket
import subprocess
import tempfile
import time

from dredis_test import (DREDIS_SERVER, Client, Dredis, Pair, RespError, assert_command_info_matches, free_port,
                         info_map)

ON = {"DREDIS_ENABLE_DEBUG_COMMAND": "yes"}
REDIS_ON = ("--enable-debug-command", "yes")

NOT_ALLOWED = ("DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it "
               "from a local connection, otherwise you need to set this option in the configuration file, and then "
               "restart the server.")


def debug_pair(env=None, redis_args=()):
    return Pair(env=dict(ON, **(env or {})), redis_args=REDIS_ON + tuple(redis_args))


def remote_client(port):
    """A connection from 127.0.0.2: not local to Redis (nor to dredis)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    c = Client.__new__(Client)
    c.sock, c._buf, c._pos = s, bytearray(), 0
    return c


def unix_client(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    c = Client.__new__(Client)
    c.sock, c._buf, c._pos = s, bytearray(), 0
    return c


def raw_reply(c, *args):
    """The exact bytes of the reply to args (a PING after it marks its end)."""
    c.send(*args)
    c.send("PING")
    data = b""
    while not data.endswith(b"+PONG\r\n"):
        chunk = c.sock.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    return data[:-len(b"+PONG\r\n")]


# ---- the gate -------------------------------------------------------------

def test_gate_default_no():
    # the harness allows DEBUG on both (as Redis's test suite); the default is no
    with Pair(env={"DREDIS_ENABLE_DEBUG_COMMAND": ""}, redis_args=("--enable-debug-command", "no")) as p:
        err = p.run("DEBUG", "SLEEP", "0")
        assert err == RespError("ERR " + NOT_ALLOWED), err
        p.run("DEBUG", "HELP")
        p.run("DEBUG", "NOSUCHSUB")
        assert p.run("CONFIG", "GET", "enable-debug-command") == [b"enable-debug-command", b"no"]
        err = p.run("CONFIG", "SET", "enable-debug-command", "yes")
        assert isinstance(err, RespError) and "immutable" in err.message
        # refused at queue time: the transaction is aborted
        p.run("MULTI")
        p.run("DEBUG", "SLEEP", "0")
        assert isinstance(p.run("EXEC"), RespError)
        assert p.run("DEBUG") == RespError("ERR wrong number of arguments for 'debug' command")


def test_gate_before_auth():
    with Pair(env={"DREDIS_REQUIREPASS": "pw", "DREDIS_ENABLE_DEBUG_COMMAND": "no"},
              redis_args=("--requirepass", "pw", "--enable-debug-command", "no")) as p:
        assert p.run("DEBUG", "SLEEP", "0") == RespError("ERR " + NOT_ALLOWED)
        assert p.run("GET", "x") == RespError("NOAUTH Authentication required.")


def test_gate_local():
    d_sock = tempfile.mktemp(prefix="dredis-dbg-sock-")
    r_sock = tempfile.mktemp(prefix="redis-dbg-sock-")
    env = {"DREDIS_ENABLE_DEBUG_COMMAND": "local", "DREDIS_PROTECTED_MODE": "no", "DREDIS_HOST": "0.0.0.0",
           "DREDIS_UNIXSOCKET": d_sock}
    with Pair(env=env, redis_args=("--enable-debug-command", "local", "--protected-mode", "no",
                                   "--bind", "0.0.0.0", "--unixsocket", r_sock)) as p:
        assert p.run("CONFIG", "GET", "enable-debug-command") == [b"enable-debug-command", b"local"]
        assert p.run("DEBUG", "SLEEP", "0") == "OK"  # from 127.0.0.1
        with remote_client(p.dredis.port) as d, remote_client(p.redis.port) as r:
            a, b = d.execute("DEBUG", "SLEEP", "0"), r.execute("DEBUG", "SLEEP", "0")
            assert a == b == RespError("ERR " + NOT_ALLOWED), (a, b)
            assert d.execute("PING") == r.execute("PING") == "PONG"
        with unix_client(d_sock) as d, unix_client(r_sock) as r:
            assert d.execute("DEBUG", "SLEEP", "0") == r.execute("DEBUG", "SLEEP", "0") == "OK"
    for path in (d_sock, r_sock):
        if os.path.exists(path):
            os.unlink(path)


def test_gate_yes_remote():
    env = {"DREDIS_PROTECTED_MODE": "no", "DREDIS_HOST": "0.0.0.0"}
    with debug_pair(env=env, redis_args=("--protected-mode", "no", "--bind", "0.0.0.0")) as p:
        assert p.run("CONFIG", "GET", "enable-debug-command") == [b"enable-debug-command", b"yes"]
        with remote_client(p.dredis.port) as d, remote_client(p.redis.port) as r:
            assert d.execute("DEBUG", "SLEEP", "0") == r.execute("DEBUG", "SLEEP", "0") == "OK"


def test_bad_setting_stops_startup():
    root = tempfile.mkdtemp(prefix="dredis-dbg-")
    env = {k: v for k, v in os.environ.items() if k != "DREDIS_SERVER"}
    env.update({"ROOT_DIR": root, "DREDIS_PORT": str(free_port()), "DREDIS_ENABLE_DEBUG_COMMAND": "maybe"})
    out = subprocess.run([DREDIS_SERVER], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    assert out.returncode != 0
    assert b"DREDIS_ENABLE_DEBUG_COMMAND must be no, yes or local (got 'maybe')" in out.stdout, out.stdout
    subprocess.run(["rm", "-rf", root])


def test_command_table():
    with debug_pair() as p:
        assert_command_info_matches(p, ["debug"])
        p.run("COMMAND", "GETKEYS", "DEBUG", "OBJECT", "k")
        p.run("COMMAND", "GETKEYSANDFLAGS", "DEBUG", "DIGEST-VALUE", "k")


# ---- DIGEST and DIGEST-VALUE ------------------------------------------------

def fill_every_type(p, rnd, prefix="", n=30):
    """Strings (plain, integers, binary, empty), lists across many segments,
    sets (integers and not), hashes, sorted sets (odd scores), streams with
    deleted entries, some keys with a TTL; the same on both servers."""
    cmds = []
    for i in range(n):
        k = "%s%d" % (prefix, i)
        kind = i % 6
        if kind == 0:
            v = rnd.choice([str(rnd.randint(-10 ** 12, 10 ** 12)), "", "x" * rnd.randint(1, 300),
                            bytes(rnd.randrange(256) for _ in range(40))])
            cmds.append(("SET", "s" + k, v))
        elif kind == 1:
            cmds.append(("RPUSH", "l" + k) + tuple(str(rnd.randint(0, 1000)) for _ in range(rnd.randint(1, 200))))
            cmds.append(("LPUSH", "l" + k, "head"))
        elif kind == 2:
            cmds.append(("SADD", "S" + k) + tuple(rnd.choice([str(rnd.randint(0, 99)), "m%d" % rnd.randint(0, 99)])
                                                   for _ in range(rnd.randint(1, 80))))
        elif kind == 3:
            fv = []
            for j in range(rnd.randint(1, 60)):
                fv += ["f%d" % j, rnd.choice(["v%d" % j, str(j), "", "y" * 100])]
            cmds.append(("HSET", "h" + k) + tuple(fv))
        elif kind == 4:
            sm = []
            for j in range(rnd.randint(1, 150)):
                sm += [rnd.choice(["%d" % rnd.randint(-5, 5), "%.6f" % rnd.uniform(-1e6, 1e6), "inf", "-inf",
                                   "1e-300", "3.141592653589793", "0.1"]), rnd.choice(["m%d" % j, str(j)])]
            cmds.append(("ZADD", "z" + k) + tuple(sm))
        else:
            for j in range(rnd.randint(1, 120)):
                cmds.append(("XADD", "x" + k, "%d-%d" % (j // 3 + 1, j % 3), "f", str(j), "g", "v" * (j % 5)))
            cmds.append(("XDEL", "x" + k, "1-1", "2-0"))
        if i % 4 == 0:
            for t in ("s", "l", "S", "h", "z", "x"):
                cmds.append(("PEXPIRE", t + k, "1000000"))
    p.run_many(cmds)


def all_keys(p):
    return sorted(p.d.execute("KEYS", "*"))


def test_digest_every_type():
    with debug_pair() as p:
        assert p.run("DEBUG", "DIGEST") == "0" * 40
        rnd = random.Random(15)
        fill_every_type(p, rnd)
        keys = all_keys(p)
        assert keys == sorted(p.r.execute("KEYS", "*"))
        values = p.run("DEBUG", "DIGEST-VALUE", *keys, "missing")
        assert values[-1] == "0" * 40 and len(set(values)) == len(values)
        p.run("DEBUG", "DIGEST")
        p.run("DEBUG", "DIGEST-VALUE")
        # another database counts: the same data in db 1 digests differently
        p.run("SELECT", "1")
        fill_every_type(p, random.Random(15), prefix="other")
        whole = p.run("DEBUG", "DIGEST")
        p.run("SELECT", "0")
        p.run("MOVE", "s0", "1")
        assert p.run("DEBUG", "DIGEST") != whole
        # order counts in lists and streams, not in sets and hashes
        p.run("DEL", "a", "b")
        p.run("RPUSH", "a", "1", "2")
        p.run("RPUSH", "b", "2", "1")
        d = p.run("DEBUG", "DIGEST-VALUE", "a", "b")
        assert d[0] != d[1]
        p.run("SADD", "c", "1", "2")
        p.run("SADD", "e", "2", "1")
        d = p.run("DEBUG", "DIGEST-VALUE", "c", "e")
        assert d[0] == d[1]
        # a TTL counts, not its value
        p.run("SET", "t1", "v", "EX", "100")
        p.run("SET", "t2", "v", "EX", "5000")
        p.run("SET", "t3", "v")
        d = p.run("DEBUG", "DIGEST-VALUE", "t1", "t2", "t3")
        assert d[0] == d[1] != d[2]


def test_digest_expired_key_still_there():
    with debug_pair() as p:
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        p.run("SET", "gone", "v", "PX", "50")
        time.sleep(0.2)
        d = p.run("DEBUG", "DIGEST-VALUE", "gone")  # read without a lookup: not expired by it
        assert d != ["0" * 40]
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# ---- PROTOCOL ---------------------------------------------------------------

PROTOCOL_TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
                  "verbatim", "true", "false", "nosuchtype"]


def test_protocol_exact_bytes():
    with debug_pair() as p:
        for resp in (2, 3):
            p.d.execute("HELLO", str(resp))
            p.r.execute("HELLO", str(resp))
            for t in PROTOCOL_TYPES:
                a, b = raw_reply(p.d, "DEBUG", "PROTOCOL", t), raw_reply(p.r, "DEBUG", "PROTOCOL", t)
                assert a == b, (resp, t, a, b)
            a, b = raw_reply(p.d, "DEBUG", "PROTOCOL", "STRING"), raw_reply(p.r, "DEBUG", "PROTOCOL", "STRING")
            assert a == b


def test_protocol_from_scripts():
    with debug_pair() as p:
        script = "redis.setresp(%d); return redis.call('debug', 'protocol', ARGV[1])"
        err = p.run("EVAL", script % 2, "0", "string")
        assert isinstance(err, RespError) and "not allowed from script" in err.message
        p.run("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
        for lua_resp in (2, 3):
            for client_resp in (2, 3):
                p.d.execute("HELLO", str(client_resp))
                p.r.execute("HELLO", str(client_resp))
                for t in PROTOCOL_TYPES:
                    if t == "push":
                        continue
                    a = raw_reply(p.d, "EVAL", script % lua_resp, "0", t)
                    b = raw_reply(p.r, "EVAL", script % lua_resp, "0", t)
                    if lua_resp == 3 and t in ("set", "map"):
                        # a Lua table: its order is the interpreter's (docs/compatibility.md)
                        a, b = (x.split(b"\r\n") for x in (a, b))
                        a, b = [a[0]] + sorted(a[1:]), [b[0]] + sorted(b[1:])
                    assert a == b, (lua_resp, client_resp, t, a, b)
        p.run("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")
        assert isinstance(p.run("EVAL", script % 2, "0", "string"), RespError)


# ---- OBJECT -----------------------------------------------------------------

OBJECT_LINE = re.compile(r"^Value at:0x[0-9a-f]+ refcount:(\d+) encoding:(\S+) serializedlength:(\d+) "
                         r"lru:(\d+) lru_seconds_idle:(\d+)(.*)$")


def test_object():
    with debug_pair() as p:
        p.run("DEBUG", "OBJECT", "missing")
        p.run("SET", "small", "hello")
        p.run("SET", "int", "12345")
        p.run("SET", "neg", "-7")
        p.run("RPUSH", "list", "a", "b")
        p.run("HSET", "hash", "f", "v")
        p.run("SADD", "set", "x")
        p.run("ZADD", "zset", "1", "m")
        p.run("XADD", "stream", "1-1", "f", "v")
        for key in ("small", "int", "neg"):  # strings serialize alike (no compression under 21 bytes)
            d, r = OBJECT_LINE.match(p.d.execute("DEBUG", "OBJECT", key)), \
                OBJECT_LINE.match(p.r.execute("DEBUG", "OBJECT", key))
            assert d and r
            assert d.group(3) == r.group(3), (key, d.group(0), r.group(0))
        for key in ("small", "list", "hash", "set", "zset", "stream"):
            line = p.d.execute("DEBUG", "OBJECT", key)
            m = OBJECT_LINE.match(line)
            assert m, line
            refcount, enc, slen, lru, idle, extra = m.groups()
            assert refcount == "1" and extra == ""
            # before DUMP, which touches the key as Redis's does; a second
            # may tick between the two reads (CI saw it)
            assert 0 <= p.d.execute("OBJECT", "IDLETIME", key) - int(idle) <= 1
            assert enc == p.d.execute("OBJECT", "ENCODING", key).decode()
            dump = p.d.execute("DUMP", key)
            assert int(slen) == len(dump) - 1 - 10, (key, slen, len(dump))  # no type byte, no footer
            assert int(lru) == (int(time.time()) - int(idle)) % (1 << 24) or abs(
                int(lru) - (int(time.time()) - int(idle)) % (1 << 24)) <= 1
        # read without touching the key, as Redis
        p.run("RESTORE", "old", "0", p.r.execute("DUMP", "small"), "IDLETIME", "1000")
        d, r = (OBJECT_LINE.match(x.execute("DEBUG", "OBJECT", "old")) for x in (p.d, p.r))
        assert int(d.group(5)) in (1000, 1001) and int(r.group(5)) in (1000, 1001), (d, r)
        p.run("OBJECT", "IDLETIME", "old")


# ---- POPULATE ---------------------------------------------------------------

def test_populate():
    with debug_pair() as p:
        p.run("SET", "key:3", "mine")
        p.run("DEBUG", "POPULATE", "10")
        assert p.run("DBSIZE") == 10
        p.run("MGET", *["key:%d" % i for i in range(11)])
        p.run("DEBUG", "POPULATE", "5", "pad", "12")
        p.run("MGET", *["pad:%d" % i for i in range(5)])  # "value:N" padded with zero bytes
        p.run("DEBUG", "POPULATE", "3", "cut", "3")
        p.run("MGET", "cut:0", "cut:1", "cut:2")
        p.run("DEBUG", "POPULATE", "2", "")
        p.run("MGET", ":0", ":1")
        p.run("DEBUG", "POPULATE", "0")
        long_prefix = "p" * 200  # cut to Redis's 127-byte names
        p.run("DEBUG", "POPULATE", "2", long_prefix)
        d, r = (sorted(x) for x in p.both("KEYS", "*"))
        assert d == r and [k for k in d if k.startswith(b"ppp")] == [b"p" * 127]
        for bad in (("-1",), ("abc",), ("1", "x", "-5"), ("1", "x", "y"), ("1", "x", "1", "extra")):
            p.run("DEBUG", "POPULATE", *bad)
        p.run("DBSIZE")
        p.run("TYPE", "key:0")
        p.run("TTL", "key:0")
        p.run("DEBUG", "DIGEST")


def test_populate_events():
    with debug_pair(env={"DREDIS_NOTIFY_KEYSPACE_EVENTS": "KEA"}, redis_args=("--notify-keyspace-events", "KEA")) as p:
        subs = []
        for srv in (p.dredis, p.redis):
            c = srv.client()
            c.execute("PSUBSCRIBE", "__key*__:*")
            subs.append(c)
        p.run("SET", "key:1", "x")
        p.run("DEBUG", "POPULATE", "3")
        got = []
        for c in subs:
            msgs = []
            c.execute("PING")  # a subscriber's PING is answered after what came before it
            while True:
                m = c.read_reply()
                if m == [b"pong", b""]:
                    break
                msgs.append(m)
            got.append(msgs)
            c.close()
        assert got[0] == got[1], got


# ---- SLEEP, SET-ACTIVE-EXPIRE, PAUSE-CRON ------------------------------------

def test_sleep_blocks_the_server():
    with debug_pair() as p:
        for srv in (p.dredis, p.redis):
            a, b = srv.client(), srv.client()
            t0 = time.time()
            a.send("DEBUG", "SLEEP", "0.3")
            time.sleep(0.05)
            assert b.execute("PING") == "PONG"
            assert time.time() - t0 >= 0.29
            assert a.read_reply() == "OK"
            a.close()
            b.close()
        p.run("DEBUG", "SLEEP", "0")
        p.run("DEBUG", "SLEEP", "abc")  # strtod: 0
        p.run("DEBUG", "SLEEP", "-1")


def test_set_active_expire():
    with debug_pair() as p:
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        p.run("SET", "k", "v", "PX", "100")
        time.sleep(0.6)
        assert p.run("DBSIZE") == 1  # nothing expires in the background
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        deadline = time.time() + 5
        while time.time() < deadline and p.d.execute("DBSIZE") + p.r.execute("DBSIZE"):
            time.sleep(0.05)
        assert p.run("DBSIZE") == 0


def test_pause_cron():
    with debug_pair() as p:
        p.run("DEBUG", "PAUSE-CRON", "1")
        p.run("SET", "k", "v", "PX", "100")
        time.sleep(0.6)
        assert p.run("DBSIZE") == 1  # the cron (active expiry) does not run
        p.run("PING")
        p.run("DEBUG", "PAUSE-CRON", "0")
        deadline = time.time() + 5
        while time.time() < deadline and p.d.execute("DBSIZE") + p.r.execute("DBSIZE"):
            time.sleep(0.05)
        assert p.run("DBSIZE") == 0


# ---- the small ones -----------------------------------------------------------

def test_quicklist_packed_threshold():
    with debug_pair() as p:
        for v in ("1b", "0", "5b", "1kb", "4095mb", "4096mb", "4gb", "5GB", "-1", "abc", "", "b", "1.5",
                  "99999999999999999999999", "1tb"):
            p.run("DEBUG", "QUICKLIST-PACKED-THRESHOLD", v)
        p.run("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")
        p.run("RPUSH", "l", "x" * 10, "y")
        p.run("LRANGE", "l", "0", "-1")


def test_small_subcommands():
    with debug_pair() as p:
        p.run("SET", "s", "v")
        for args in (("LOG", "hello"), ("ERROR", "MYERR some\r\ntext"), ("ERROR", "plain"),
                     ("LISTPACK", "s"), ("LISTPACK", "missing"), ("QUICKLIST", "s"), ("QUICKLIST", "s", "1"),
                     ("QUICKLIST", "missing"), ("HTSTATS-KEY", "s"), ("HTSTATS-KEY", "missing"),
                     ("CLIENT-EVICTION",), ("CLUSTERLINK", "KILL", "all", "abc"),
                     ("NOSUCH",), ("SLEEP",), ("OBJECT",), ("DIGEST", "x"), ("PROTOCOL",),
                     ("SET-ACTIVE-EXPIRE",), ("LOG",)):
            p.run("DEBUG", *args)
        # a fuzz of the glob matcher (10,000,000 rounds, some seconds): dredis's only
        assert p.d.execute("DEBUG", "STRINGMATCH-TEST") == "Apparently Redis did not crash: test passed"
        old = p.d.execute("INFO", "replication")
        assert p.run("DEBUG", "CHANGE-REPL-ID") == "OK"
        new = p.d.execute("INFO", "replication")
        rid = lambda info: re.search(rb"master_replid:(\w+)", info).group(1)
        assert rid(old) != rid(new)
        assert re.search(rb"master_replid2:0{40}", new)
        help_lines = p.d.execute("DEBUG", "HELP")
        assert help_lines[0].startswith("DEBUG <subcommand>") and help_lines[-2:] == ["HELP", "    Print this help."]


def test_refused_subcommands():
    with Dredis(env=ON) as d, d.client() as c:
        for args in (("HTSTATS", "0"), ("SDSLEN", "k"), ("STRUCTSIZE",), ("REPLYBUFFER", "RESIZING", "0"),
                     ("SET-SKIP-CHECKSUM-VALIDATION", "1"), ("REPLICATE", "SET", "a", "b"),
                     ("DROP-CLUSTER-PACKET-FILTER", "1"), ("CONFIG-REWRITE-FORCE-ALL",), ("RESTART",),
                     ("CRASH-AND-RECOVER", "10")):
            r = c.execute("DEBUG", *args)
            assert isinstance(r, RespError) and r.message.startswith(
                "ERR DEBUG %s is not supported by dredis: " % args[0]), (args, r)
        assert c.execute("DEBUG", "AOF-FLUSH-SLEEP", "0") == "OK"  # aof.c: as Redis's
        # MALLCTL is jemalloc's: dredis answers as a Redis built with libc malloc
        r = c.execute("DEBUG", "MALLCTL", "x")
        assert r == RespError("ERR unknown subcommand or wrong number of arguments for 'MALLCTL'. Try DEBUG HELP.")
        assert c.execute("PING") == "PONG"


def test_crash_subcommands():
    for sub in ("SEGFAULT", "ASSERT", "PANIC"):
        with Dredis(env=ON) as d, d.client() as c:
            c.execute("SET", "kept", "v")
            c.send("DEBUG", sub)
            d.proc.wait(30)
            assert d.proc.returncode != 0, sub
            open(d.logfile, "w").close()  # the crash report (a sanitizer's too) was asked for
            d.start()
            with d.client() as c2:
                assert c2.execute("GET", "kept") == b"v"


# ---- RELOAD and LOADAOF ---------------------------------------------------------

LIB = "#!lua name=mylib\nredis.register_function('f', function(keys, args) return 'hi' end)"


def info_field(c, section, field):
    return info_map(c, section)[field]


def ttls_close(p, keys):
    for k in keys:
        a, b = p.d.execute("PTTL", k), p.r.execute("PTTL", k)
        assert (a < 0) == (b < 0) and abs(a - b) < 5000, (k, a, b)


def test_reload_keeps_everything():
    with debug_pair() as p:
        fill_every_type(p, random.Random(7))
        p.run("SELECT", "3")
        fill_every_type(p, random.Random(8), prefix="db3-", n=12)
        p.run("SELECT", "0")
        p.run("FUNCTION", "LOAD", LIB)
        keys = all_keys(p)
        # fill the caches: metadata, list ends, sorted set indexes
        for k in keys:
            p.run("TYPE", k)
            if k.startswith(b"l"):
                p.run("LRANGE", k, "0", "-1")
            if k.startswith(b"z"):
                p.run("ZRANGE", k, "0", "-1", "WITHSCORES")
        digest = p.run("DEBUG", "DIGEST")
        values = p.run("DEBUG", "DIGEST-VALUE", *keys)
        builds = int(info_field(p.d, "all", "dredis_zset_index_builds"))
        assert int(info_field(p.d, "all", "dredis_zset_index_cache_keys")) > 0
        p.run("RESTORE", "idle", "0", p.r.execute("DUMP", keys[0]), "IDLETIME", "5000")
        d, r = p.both("OBJECT", "IDLETIME", "idle")  # 5001 across a second's turn
        assert d in (5000, 5001) and r in (5000, 5001), (d, r)

        assert p.run("DEBUG", "RELOAD") == "OK"
        # access times are those of a fresh load (0, or 1 across a second's turn)
        d, r = p.both("OBJECT", "IDLETIME", "idle")
        assert d <= 1 and r <= 1, (d, r)

        # the caches were dropped: the sorted set indexes are built again
        assert int(info_field(p.d, "all", "dredis_zset_index_cache_keys")) == 0
        zkeys = [k for k in keys if k.startswith(b"z")]
        for k in zkeys:
            p.run("ZRANGE", k, "0", "-1", "WITHSCORES")
        assert int(info_field(p.d, "all", "dredis_zset_index_builds")) == builds + len(zkeys)
        p.run("DEL", "idle")
        assert p.run("DEBUG", "DIGEST") == digest
        assert p.run("DEBUG", "DIGEST-VALUE", *keys) == values
        ttls_close(p, keys)
        assert p.run("FCALL", "f", "0") == b"hi"
        p.run("FUNCTION", "LIST")
        p.run("SELECT", "3")
        p.run("DBSIZE")
        p.run("SELECT", "0")
        p.run("DBSIZE")
        # lists go on at their ends as read again from the tree
        lkeys = [k for k in keys if k.startswith(b"l")]
        for k in lkeys:
            p.run("LPUSH", k, "new-head")
            p.run("RPOP", k)
            p.run("LRANGE", k, "0", "-1")
        p.run("DEBUG", "DIGEST")


def test_reload_options():
    with debug_pair() as p:
        p.run("SET", "a", "1")
        p.run("DEBUG", "RELOAD", "BOGUS")
        # every key conflicts with itself: Redis stops ("Duplicated key"), dredis refuses
        assert p.d.execute("DEBUG", "RELOAD", "NOFLUSH") == RespError("ERR Error trying to load the RDB dump")
        assert p.run("GET", "a") == b"1"
        p.run("DEBUG", "RELOAD", "NOFLUSH", "MERGE")
        p.run("DEBUG", "RELOAD", "NOSAVE")
        p.run("DEBUG", "RELOAD", "merge", "nosave", "noflush")
        p.run("GET", "a")
        p.run("FLUSHALL")
        p.run("DEBUG", "RELOAD", "NOFLUSH")  # nothing there: nothing conflicts
        p.run("FUNCTION", "LOAD", LIB)
        p.run("DEBUG", "RELOAD", "NOFLUSH")  # a library conflicts
        p.run("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
        p.run("FCALL", "f", "0")
        p.run("FUNCTION", "STATS")


def test_reload_touches_watched_keys():
    with debug_pair() as p:
        p.run("SET", "w", "1")
        p.run("WATCH", "w", "nokey")
        for srv in (p.dredis, p.redis):
            with srv.client() as other:
                assert other.execute("DEBUG", "RELOAD") == "OK"
        p.run("MULTI")
        p.run("GET", "w")
        assert p.run("EXEC") is None
        p.run("WATCH", "nokey")
        for srv in (p.dredis, p.redis):
            with srv.client() as other:
                other.execute("DEBUG", "RELOAD")
        p.run("MULTI")
        p.run("GET", "w")
        p.run("EXEC")


def test_reload_then_expiry():
    with debug_pair() as p:
        p.run("SET", "soon", "v", "PX", "300")
        p.run("SET", "later", "v", "EX", "1000")
        p.run("DEBUG", "RELOAD")
        deadline = time.time() + 5
        while time.time() < deadline and p.d.execute("DBSIZE") + p.r.execute("DBSIZE") > 2:
            time.sleep(0.05)
        assert p.run("DBSIZE") == 1
        p.run("EXISTS", "soon", "later")


def test_reload_survives_restart():
    with Dredis(env=ON) as d:
        with d.client() as c:
            c.execute("RPUSH", "l", *[str(i) for i in range(300)])
            c.execute("ZADD", "z", "1", "a", "2", "b")
            c.execute("DEBUG", "RELOAD")
            c.execute("RPUSH", "l", "after")
            c.execute("ZADD", "z", "3", "c")
            before = c.execute("DEBUG", "DIGEST")
        d.restart()
        with d.client() as c:
            assert c.execute("DEBUG", "DIGEST") == before
            assert c.execute("LINDEX", "l", "-1") == b"after"
            assert c.execute("ZRANGE", "z", "0", "-1") == [b"a", b"b", b"c"]


def test_loadaof():
    # Redis needs its AOF on to load it; dredis's LOADAOF is its RELOAD
    with debug_pair(redis_args=("--appendonly", "yes")) as p:
        fill_every_type(p, random.Random(9), n=18)
        p.run("FUNCTION", "LOAD", LIB)
        keys = all_keys(p)
        digest = p.run("DEBUG", "DIGEST")
        assert p.run("DEBUG", "LOADAOF") == "OK"
        assert p.run("DEBUG", "DIGEST") == digest
        ttls_close(p, keys)
        p.run("FCALL", "f", "0")
