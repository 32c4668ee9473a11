"""Configuration by environment variables: bad values stop the server with
a one-line reason and a non-zero status; DEBUG logs every command;
FLUSHALL_ON_STARTUP empties the data; the other settings do what the README
says."""
import os
import re
import shutil
import socket
import subprocess
import tempfile

from dredis_test import DREDIS_SERVER, Client, Dredis, Pair, RespError, free_port, wait_until


def run_server_expecting_exit(env_overrides, root_dir=None):
    """Start dredis-server with the given environment; it must exit on its
    own. Returns (exit status, output lines)."""
    tmp = tempfile.mkdtemp(prefix="dredis-cfg-")
    try:
        # only our settings: the test runner's own DREDIS_SERVER would add a warning line
        env = {k: v for k, v in os.environ.items() if not k.startswith("DREDIS_") and k != "DEBUG"}
        env.update({"DREDIS_HOST": "127.0.0.1", "DREDIS_PORT": str(free_port()),
                    "ROOT_DIR": root_dir or os.path.join(tmp, "root"), "TMPDIR": tmp})
        for k, v in env_overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        proc = subprocess.run([DREDIS_SERVER], env=env, capture_output=True, timeout=30)
        lines = (proc.stdout + proc.stderr).decode("utf-8", "replace").splitlines()
        return proc.returncode, lines
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def assert_refused(env, mentions, root_dir=None):
    code, lines = run_server_expecting_exit(env, root_dir)
    assert code != 0, (env, code, lines)
    assert len(lines) == 1, (env, lines)
    for word in mentions:
        assert word in lines[0], (env, lines[0])


def test_bad_port_values():
    for v in ("99999", "abc", "0", "-1", "65536", "80x", " 80", "1.5"):
        assert_refused({"DREDIS_PORT": v}, ["DREDIS_PORT", v])


def test_bad_boolean_values():
    for name in ("DEBUG", "FLUSHALL_ON_STARTUP"):
        for v in ("2", "maybe", "enabled", "-1"):
            assert_refused({name: v}, [name, v])


def test_bad_root_dir():
    with tempfile.NamedTemporaryFile(prefix="dredis-not-a-dir-") as f:
        assert_refused({}, ["ROOT_DIR", f.name, "not a directory"], root_dir=f.name)
    assert_refused({}, ["ROOT_DIR", "/dev/null/x"], root_dir="/dev/null/x")
    assert_refused({}, ["ROOT_DIR", "/proc/dredis-cannot-exist"], root_dir="/proc/dredis-cannot-exist")
    # exists but nothing can be created in it (even by root)
    assert_refused({}, ["ROOT_DIR", "/proc"], root_dir="/proc")


def test_other_bad_settings():
    assert_refused({"DREDIS_HOST": "not-an-address"}, ["DREDIS_HOST", "not-an-address"])
    assert_refused({"DREDIS_MAXCLIENTS": "0"}, ["DREDIS_MAXCLIENTS"])
    assert_refused({"DREDIS_FSYNC": "sometimes"}, ["DREDIS_FSYNC", "sometimes"])
    for v in ("-1", "abc", "1.5kb", "9223372036854775808"):
        assert_refused({"DREDIS_HLL_SPARSE_MAX_BYTES": v}, ["DREDIS_HLL_SPARSE_MAX_BYTES", v, "memory value"])
    for name in ("DREDIS_PROTO_MAX_BULK_LEN", "DREDIS_CLIENT_QUERY_BUFFER_LIMIT"):
        for v in ("-1", "abc", "+5mb", " 5mb", "5mb ", "1.5mb", "1048575", "1023kb", "9223372036854775808",
                  "99999999999999999999", "17179869184gb"):
            assert_refused({name: v}, [name, v, "memory value"])
    for v in ("normal 1 2", "normal +5 0 0", "normal 1mb 0 -1", "master 0 0 0"):
        assert_refused({"DREDIS_CLIENT_OUTPUT_BUFFER_LIMIT": v}, ["DREDIS_CLIENT_OUTPUT_BUFFER_LIMIT", v])


def test_memory_settings_from_env():
    """The memory-valued start-up settings take Redis's units, as CONFIG SET."""
    env = {"DREDIS_PROTO_MAX_BULK_LEN": "2MB", "DREDIS_CLIENT_QUERY_BUFFER_LIMIT": "1048576",
           "DREDIS_CLIENT_OUTPUT_BUFFER_LIMIT": "pubsub 1k 1kb 7", "DREDIS_HLL_SPARSE_MAX_BYTES": "kb"}
    with Dredis(env=env) as d, d.client() as c:
        got = config_map(c.execute("CONFIG", "GET", "*max-bulk-len", "client-*-limit", "hll-sparse-max-bytes"))
        assert got == {b"proto-max-bulk-len": b"2097152", b"client-query-buffer-limit": b"1048576",
                       b"client-output-buffer-limit":
                           b"normal 0 0 0 slave 268435456 67108864 60 pubsub 1000 1024 7",
                       b"hll-sparse-max-bytes": b"0"}, got


def test_port_in_use():
    with Dredis() as s:
        assert_refused({"DREDIS_PORT": str(s.port)}, [str(s.port)])
        with s.client() as c:
            assert c.execute("PING") == "PONG"


def test_arguments_and_version():
    proc = subprocess.run([DREDIS_SERVER, "--port", "1"], capture_output=True, timeout=30)
    assert proc.returncode != 0 and len(proc.stderr.decode().splitlines()) == 1
    proc = subprocess.run([DREDIS_SERVER, "--version"], capture_output=True, timeout=30)
    assert proc.returncode == 0 and b"7.0.15" in proc.stdout


def test_debug_logs_one_line_per_command():
    with Dredis(env={"DEBUG": "1"}) as s, s.client() as c:
        markers = ["marker-%d" % i for i in range(20)]
        for m in markers:
            c.execute("SET", m, "v")
        c.execute("GET", "marker-0")
        c.execute("NOPE", "marker-unknown")
        c.send_raw(b"ECHO marker-inline\r\n")
        assert c.read_reply() == b"marker-inline"
        c.execute("SET", "marker-binary", "a\x00\n\"b")
        c.execute("PING")  # the log is written before a command runs

        def lines_with(word):
            return [line for line in s.output().splitlines() if word in line]
        for m in markers[1:]:
            assert len(lines_with('"%s"' % m)) == 1, (m, lines_with(m))
        assert len(lines_with('"marker-0"')) == 2
        assert len(lines_with("marker-unknown")) == 1
        assert len(lines_with("marker-inline")) == 1
        binary = lines_with("marker-binary")
        assert len(binary) == 1 and "\n" not in binary[0]


def test_debug_off_logs_no_commands():
    for value in ("0", "off", "false", "no", ""):
        with Dredis(env={"DEBUG": value}) as s, s.client() as c:
            c.execute("SET", "marker-quiet", "v")
            assert c.execute("GET", "marker-quiet") == b"v"
            assert "marker-quiet" not in s.output()


def test_flushall_on_startup():
    with Dredis() as s:
        with s.client() as c:
            c.execute("SET", "a", "1", "EX", "100")
            c.execute("SELECT", "9")
            c.execute("SET", "b", "2")
        s.env["FLUSHALL_ON_STARTUP"] = "0"
        s.restart()
        with s.client() as c:
            assert c.execute("EXISTS", "a") == 1
        s.env["FLUSHALL_ON_STARTUP"] = "1"
        s.restart()
        with s.client() as c:
            assert c.execute("DBSIZE") == 0
            assert c.execute("SELECT", "9") == "OK"
            assert c.execute("DBSIZE") == 0
            assert c.execute("SET", "after", "1") == "OK"
        wait_until(lambda: os.listdir(os.path.join(s.root_dir, ".trash")) == [], what="the trash to be emptied")
        assert os.listdir(s.db_dir(0)) == [".expires"]
        assert os.listdir(os.path.join(s.db_dir(0), ".expires")) == []


def test_root_dir_is_created_and_default_is_a_new_temporary_directory():
    parent = tempfile.mkdtemp(prefix="dredis-cfg-")
    try:
        nested = os.path.join(parent, "a", "b", "root")
        with Dredis(root_dir=nested) as s, s.client() as c:
            assert c.execute("SET", "k", "v") == "OK"
            assert os.path.isfile(os.path.join(nested, "0", "k", "value"))
        # no ROOT_DIR: a new directory under TMPDIR, announced at start-up
        s = Dredis(root_dir=parent, env={"TMPDIR": parent}, start=False)
        s.env["ROOT_DIR"] = ""
        try:
            s.start()
            with s.client() as c:
                c.execute("SET", "k", "v")
            made = [d for d in os.listdir(parent) if d.startswith("dredis-")]
            assert len(made) == 1
            assert os.path.isfile(os.path.join(parent, made[0], "0", "k", "value"))
            assert re.search(r"ROOT_DIR=%s .*temporary" % re.escape(os.path.join(parent, made[0])), s.output())
        finally:
            s.stop()
            s.cleanup()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_maxclients():
    with Dredis(env={"DREDIS_MAXCLIENTS": "3"}) as s:
        clients = [s.client() for _ in range(3)]
        try:
            for c in clients:
                assert c.execute("PING") == "PONG"
            extra = Client(s.port)
            try:
                assert extra.read_reply() == RespError("ERR max number of clients reached")
            finally:
                extra.close()
            clients.pop().close()
            wait_until(lambda: b"connected_clients:2\r\n" in clients[0].execute("INFO", "clients"))
            with s.client() as c:
                assert c.execute("PING") == "PONG"
        finally:
            for c in clients:
                c.close()


def test_unknown_setting_is_reported_but_harmless():
    with Dredis(env={"DREDIS_PROT": "1234"}) as s, s.client() as c:
        assert c.execute("PING") == "PONG"
        assert "DREDIS_PROT" in s.output()


def test_ipv6_host():
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        return  # no IPv6 loopback in this environment: nothing to check
    port = free_port()
    s = Dredis(start=False, env={"DREDIS_HOST": "::1"})
    try:
        s.port = port
        env = dict(os.environ, DREDIS_HOST="::1", DREDIS_PORT=str(port), ROOT_DIR=s.root_dir)
        s.proc = subprocess.Popen([DREDIS_SERVER], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                with Client(port, host="::1", timeout=2) as c:
                    return c.execute("PING") == "PONG"
            except OSError:
                return False
        wait_until(up, what="dredis on ::1")
    finally:
        s.stop()
        s.cleanup()


ENCODING_SETTINGS = ["hash-max-listpack-entries", "hash-max-ziplist-entries", "hash-max-listpack-value",
                     "hash-max-ziplist-value", "list-compress-depth", "list-max-listpack-size",
                     "list-max-ziplist-size", "set-max-intset-entries", "stream-node-max-bytes",
                     "stream-node-max-entries", "zset-max-listpack-entries", "zset-max-ziplist-entries",
                     "zset-max-listpack-value", "zset-max-ziplist-value"]


def config_map(reply):
    return dict(zip(reply[::2], reply[1::2])) if isinstance(reply, list) else reply


def test_encoding_settings_and_save_as_redis():
    """Redis's encoding settings (and their 6.x aliases), busy-reply-threshold
    (lua-time-limit) and save: CONFIG GET and SET answer as Redis 7.0's."""
    from dredis_test import Pair
    with Pair() as p:
        norm = config_map
        p.run("CONFIG", "GET", "*-max-*-entries", normalize=norm)
        for name in ENCODING_SETTINGS + ["busy-reply-threshold", "lua-time-limit"]:
            p.run("CONFIG", "GET", name, normalize=norm)
        for name, value in [("hash-max-ziplist-entries", "7"), ("zset-max-listpack-value", "1kb"),
                            ("stream-node-max-bytes", "2mb"), ("list-max-listpack-size", "-5"),
                            ("list-max-ziplist-size", "3"), ("list-compress-depth", "2"),
                            ("set-max-intset-entries", "0"), ("stream-node-max-entries", "0"),
                            ("lua-time-limit", "2000"), ("busy-reply-threshold", "3000"),
                            ("save", "3600 1 300 100"), ("save", ""),
                            ("hash-max-listpack-value", "-1"), ("hash-max-listpack-value", "12xb"),
                            ("list-compress-depth", "-1"), ("set-max-intset-entries", "nope"),
                            ("save", "100"), ("save", "0 1")]:
            p.run("CONFIG", "SET", name, value)
            p.run("CONFIG", "GET", name, normalize=norm)
        # several at once, rolled back together on a bad one
        p.run("CONFIG", "SET", "hash-max-listpack-entries", "9", "list-compress-depth", "bad")
        p.run("CONFIG", "GET", "hash-max-listpack-entries", "list-compress-depth", normalize=norm)
        # a setting and its alias are two settings to Redis: both in one
        # CONFIG SET is no duplicate (the last wins); one name twice is,
        # in any case
        p.run("CONFIG", "SET", "hash-max-listpack-value", "11", "hash-max-ziplist-value", "12")
        p.run("CONFIG", "GET", "hash-max-listpack-value", normalize=norm)
        p.run("CONFIG", "SET", "hash-max-ziplist-value", "13", "HASH-MAX-ZIPLIST-VALUE", "14")
        p.run("CONFIG", "SET", "list-max-ziplist-size", "4", "list-max-listpack-size", "bad")
        p.run("CONFIG", "GET", "list-max-listpack-size", normalize=norm)
        # the data does not care
        p.run("HSET", "h", "f", "v" * 100)
        p.run("HGETALL", "h")


# values for a memory setting, each read by Redis's memtoull: empty and unit
# alone are 0, no sign or blank passes, past 2^64-1 is 2^64-1, a unit
# multiplies modulo 2^64; then each setting's own range
MEMORY_VALUES = ["", "0", "+5", " 5", "5 ", "-1", "-0", "abc", "0x10", "1.5mb", "1e3", "kb", "1b", "1kb", "1KB",
                 "1k", "1K", "1mb", "1Mb", "1m", "1g", "1gb", "007", "12xb", "1" * 127, "1" * 128,
                 "1048575", "1048576", "1023kb", "1024kb", "9223372036854775807", "9223372036854775808",
                 "8589934591gb", "8589934592gb", "18446744073709551615", "18446744073709551616",
                 "99999999999999999999", "17179869184gb", "17179869185gb", "18014398509481984kb"]
MEMORY_SETTINGS = ["proto-max-bulk-len", "client-query-buffer-limit", "hash-max-listpack-value",
                   "hash-max-ziplist-value", "zset-max-listpack-value", "zset-max-ziplist-value",
                   "stream-node-max-bytes", "repl-backlog-size", "hll-sparse-max-bytes", "maxmemory"]


def test_memory_settings_parse_as_redis():
    """Every memory-valued setting: CONFIG SET answers as Redis 7.0 does to
    each of MEMORY_VALUES (value, range and error texts) and CONFIG GET shows
    the same bytes; client-output-buffer-limit as Redis splits
    and reads it (the limits set for the normal class are 0 or big: dredis
    counts every reply byte where Redis counts past its 16 KB buffer)."""
    with Pair() as p:
        before = {name: p.run("CONFIG", "GET", name) for name in MEMORY_SETTINGS + ["client-output-buffer-limit"]}
        for name in MEMORY_SETTINGS:
            p.run_many([c for v in MEMORY_VALUES
                        for c in (("CONFIG", "SET", name, v), ("CONFIG", "GET", name))])
        for v in ("", "0", "0kb", "kb", "17179869184gb", "-1", "+0", " 0", "abc", "1.5mb"):
            p.run("CONFIG", "SET", "maxmemory", v)
        p.run("CONFIG", "GET", "maxmemory")
        # maxmemory-clients reads as Redis (memory or percent); dredis then
        # takes only 0, as it never evicts clients
        for v in ("0", "0%", "0kb", "101%", "-1%", "1.5%", "abc", "%", "9223372036854775808"):
            p.run("CONFIG", "SET", "maxmemory-clients", v)
        for v in ("1kb", "50%", "100%"):
            d, r = p.both("CONFIG", "SET", "maxmemory-clients", v)
            assert r == "OK" and isinstance(d, RespError) and "only 0" in d.message, (v, d)
            p.r.execute("CONFIG", "SET", "maxmemory-clients", "0")
        p.run("CONFIG", "GET", "maxmemory-clients")
        for v in ("", "normal 0 0 0", "pubsub 1kb 1KB 5", "slave 1k 1K 6", "normal 1gb 1024mb 1", "pubsub 1.5mb 0 0",
                  "normal  1 2 3", "normal 1 2 3 ", " normal 1 2 3", "pubsub 1 2 ", "pubsub  1 0",
                  "pubsub +5 0 0", "pubsub 5 0 +5", "pubsub 5 0 -0", "pubsub 5 0  5", "pubsub 5 0 5x",
                  "pubsub 5 0 -1", "pubsub kb  4294967297", "pubsub 1 1 2147483648", "pubsub 1 1 2147483647",
                  "pubsub 99999999999999999999 17179869184gb 9", "pubsub 18446744073709551615 -1 0",
                  "slave 1mb 2mb 3", "replica 1g 1gb 7", "REPLICA 2g 2gb 8", "Pubsub 3 4 5", "master 1 1 1",
                  "bogus 1 1 1", "normal\t1 1 1", "normal 1 1 1 pubsub abc 0 0", "pubsub 7 8 9 pubsub 10 11 12",
                  "pubsub 32mb 8mb 60 normal 0 0 0 slave 256mb 64mb 60"):
            p.run("CONFIG", "SET", "client-output-buffer-limit", v)
            p.run("CONFIG", "GET", "client-output-buffer-limit")
        for name, reply in before.items():
            p.run("CONFIG", "SET", name, reply[1])
            assert p.run("CONFIG", "GET", name) == reply, (name, reply)


def test_config_set_save_schedules_snapshots():
    with Dredis() as d, d.client() as c:
        assert c.execute("CONFIG", "SET", "save", "1 1") == "OK"
        c.execute("SET", "k", "v")
        wait_until(lambda: b"rdb_saves:1" in c.execute("INFO", "persistence"), timeout=30,
                   what="a periodic snapshot")
        assert c.execute("CONFIG", "SET", "save", "") == "OK"
        assert c.execute("CONFIG", "GET", "save") == [b"save", b""]


def test_appendfsync_immutable_settings_and_replicaof_alias():
    """CONFIG SET appendfsync changes the fsync policy (INFO's dredis_fsync);
    Redis's immutable settings are refused as immutable; CONFIG GET *of
    names both replicaof and slaveof; CLIENT INFO's qbuf is the request."""
    with Pair() as p:
        for policy in ("always", "no", "everysec"):
            p.run("CONFIG", "SET", "appendfsync", policy)
            p.run("CONFIG", "GET", "appendfsync")
        assert b"dredis_fsync:everysec" in p.d.execute("INFO", "server")
        p.run("CONFIG", "SET", "appendfsync", "sometimes")
        for name in ("daemonize", "io-threads", "logfile"):
            p.run("CONFIG", "SET", name, "yes")
        p.run("CONFIG", "SET", "no-such-setting", "1")
        for reply in p.both("CONFIG", "GET", "*of"):
            assert dict(zip(reply[::2], reply[1::2])) == {b"replicaof": b"", b"slaveof": b""}, reply
        for c in (p.d, p.r):
            info = c.execute("CLIENT", "INFO").decode()
            assert " qbuf=26 " in info, info


def test_repl_backlog_size_and_fixed_settings():
    """repl-backlog-size changes at run time (at least 16 KB, as in Redis;
    test_replication checks that partial resyncs still find the history);
    settings fixed at start accept their current value and refuse a change."""
    with Pair() as p:
        for v in ("10000", "2mb", "0", "1mb"):
            p.run("CONFIG", "SET", "repl-backlog-size", v)
            p.run("CONFIG", "GET", "repl-backlog-size")
        for name, value in (("appendonly", "no"), ("hz", "10")):
            p.run("CONFIG", "SET", name, value)
        for c, server in ((p.d, p.dredis), (p.r, p.redis)):
            assert c.execute("CONFIG", "SET", "port", str(server.port)) == "OK"
        for name, value in (("bind", "0.0.0.0"),):
            err = p.d.execute("CONFIG", "SET", name, value)
            assert isinstance(err, RespError) and "dredis" in err.message, (name, err)


def test_config_set_port_as_redis():
    """CONFIG SET port listens on the new port before closing the old one
    (connected clients stay); a port in use is Redis's error and changes
    nothing, together with the settings set in the same CONFIG SET."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        with Pair() as p:
            for v in ("abc", "-1", "65536"):
                p.run("CONFIG", "SET", "port", v)
            p.run("CONFIG", "SET", "maxmemory", "10000002")
            p.run("CONFIG", "SET", "maxmemory", "10000001", "port", str(busy.getsockname()[1]),
                  "client-query-buffer-limit", "10m")
            p.run("CONFIG", "GET", "maxmemory")
            p.run("CONFIG", "GET", "client-query-buffer-limit")
            for c, server in ((p.d, p.dredis), (p.r, p.redis)):
                assert c.execute("CONFIG", "GET", "port") == [b"port", str(server.port).encode()]
                with server.client() as other:
                    assert other.execute("PING") == "PONG"
            old, new = p.dredis.port, free_port()
            assert p.d.execute("CONFIG", "SET", "port", str(new)) == "OK"
            assert p.d.execute("PING") == "PONG"  # the client connected before stays
            p.dredis.port = new
            with p.dredis.client() as c:
                assert c.execute("CONFIG", "GET", "port") == [b"port", str(new).encode()]
                assert b"tcp_port:%d" % new in c.execute("INFO", "server")
            try:
                socket.create_connection(("127.0.0.1", old), timeout=2).close()
                raise AssertionError("the old port still accepts connections")
            except ConnectionRefusedError:
                pass
            p.run("CONFIG", "SET", "maxmemory", "0")
    finally:
        busy.close()
