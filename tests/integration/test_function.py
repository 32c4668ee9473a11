"""Functions: FUNCTION LOAD/DELETE/FLUSH/LIST/STATS/DUMP/RESTORE/KILL/HELP,
FCALL and FCALL_RO, against a real redis-server 7.0 (Pair: same replies, error
texts included), and the libraries as data: kept in ROOT_DIR/.functions
across restarts, in snapshots as of their instant, in exported RDB files
(loaded by a real Redis) and imported ones, and replicated to a real Redis
replica and to a dredis replica."""
import os
import re
import shutil
import subprocess
import tempfile
import time

from dredis_test import (Dredis, Pair, Redis, RespError, assert_command_info_matches, wait_until)
from test_rdb_file import redis_save, run_tool, sorted_libraries
from test_replication import start_replica, wait_synced
from test_replica import replica_of, synced

LIB = ("#!lua name=mylib\n"
       "local function setget(keys, args)\n"
       "  redis.call('set', keys[1], args[1])\n"
       "  return redis.call('get', keys[1])\n"
       "end\n"
       "redis.register_function('setget', setget)\n"
       "redis.register_function{function_name='getter', callback=function(keys, args) "
       "return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads a key'}\n")
LIB2 = ("#!lua name=lib2\n"
        "redis.register_function{function_name='echo', callback=function(keys, args) return args end, "
        "flags={'no-writes', 'allow-stale'}}\n")
SPIN = ("#!lua name=spin\n"
        "redis.register_function{function_name='spin', callback=function() while true do end end, "
        "flags={'no-writes'}}\n"
        "redis.register_function('spinwrite', function(keys) redis.call('set', keys[1], 'x') "
        "while true do end end)\n")


def fn(name, body, flags=None):
    """A library with one function."""
    f = "" if flags is None else ", flags={%s}" % ", ".join("'%s'" % x for x in flags)
    return ("#!lua name=%s\nredis.register_function{function_name='%s', callback=function(keys, args) %s end%s}\n"
            % (name, name, body, f))


def listing(reply):
    return sorted_libraries(reply) if isinstance(reply, list) else reply


def listing3(reply):
    """RESP3 FUNCTION LIST: maps, functions in a stable order."""
    if not isinstance(reply, list):
        return reply
    out = []
    for lib in reply:
        lib = dict(lib)
        lib[b"functions"] = sorted((sorted(f.items(), key=repr) for f in lib[b"functions"]), key=repr)
        out.append(sorted(lib.items(), key=repr))
    return sorted(out, key=repr)


def any_library(reply):
    """'Library X already exists' without X."""
    if isinstance(reply, RespError) and reply.message.startswith("ERR Library "):
        return RespError(re.sub(r"Library \S+ already", "Library _ already", reply.message))
    return reply


def library_files(d):
    path = os.path.join(d.root_dir, ".functions")
    return sorted(os.listdir(path))


# ---------------------------------------------------------------------------
# FUNCTION LOAD and its errors
# ---------------------------------------------------------------------------

def test_load_errors_match_redis():
    bad = [
        "return 1",
        "#!lua",
        "#!lua\nreturn 1",
        "#!lua name=a name=b\nreturn 1",
        "#!lua foo=a\nreturn 1",
        "#!js name=a\nreturn 1",
        "#!lua name=a-b\nreturn 1",
        "#!lua name=\nreturn 1",
        '#!lua name="unbalanced\nreturn 1',
        "#!lua name=lib\nlocal a = 1",
        "#!lua name=lib\nreturn redis.call('ping')",
        "#!lua name=lib\nredis.setresp(3)",
        "#!lua name=lib\nlocal x = string.upper('a')",
        "#!lua name=lib\nerror('boom')",
        "#!lua name=lib\nx = 1",
        "#!lua name=lib\nredis.register_function('f', function() end) +",
        "#!lua name=lib\nredis.register_function('f', function() end)\nredis.register_function('f', function() end)",
        "#!lua name=lib\nredis.register_function('f-x', function() end)",
        "#!lua name=lib\nredis.register_function('', function() end)",
        "#!lua name=lib\nredis.register_function('f')",
        "#!lua name=lib\nredis.register_function(1, 2, 3)",
        "#!lua name=lib\nredis.register_function()",
        "#!lua name=lib\nredis.register_function('f', 1)",
        "#!lua name=lib\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
        "#!lua name=lib\nredis.register_function{function_name='f', callback=function() end, flags='no-writes'}",
        "#!lua name=lib\nredis.register_function{function_name='f', callback=function() end, foo=1}",
        "#!lua name=lib\nredis.register_function{function_name='f'}",
        "#!lua name=lib\nredis.register_function{callback=function() end}",
        "#!lua name=lib\nredis.register_function{function_name='f', callback=1}",
        "#!lua name=lib\nredis.register_function{function_name='f', callback=function() end, description={}}",
        "#!lua name=lib\nredis.register_function('x')",
        "#!lua name=lib\nredis.log(redis.LOG_WARNING)",
    ]
    with Pair() as p:
        for code in bad:
            r = p.run("FUNCTION", "LOAD", code)
            assert isinstance(r, RespError), (code, r)
        # what a library's top level may use
        p.run("FUNCTION", "LOAD", "#!lua name=ok\nredis.log(redis.LOG_NOTICE, 'loading', redis.REDIS_VERSION)\n"
              "local v = redis.REDIS_VERSION_NUM\nredis.register_function('okf', function() return v > 0 end)")
        p.run("FCALL", "okf", 0)
        # a number is a name
        p.run("FUNCTION", "LOAD", "#!lua name=numname\nredis.register_function(1, function() return 1 end)\n"
              "redis.register_function{function_name=2, callback=function() return 2 end}")
        p.run("FCALL", "1", 0)
        p.run("FCALL", 2, 0)
        for args in (("FUNCTION", "LOAD"), ("FUNCTION", "LOAD", "foo", "bar"), ("FUNCTION", "LOAD", "replace"),
                     ("FUNCTION", "LOAD", "REPLACE", "replace", LIB)):
            p.run(*args)
        p.run("FUNCTION", "LIST", normalize=listing)


def test_load_replace_collisions_delete_flush():
    with Pair() as p:
        assert p.run("FUNCTION", "LOAD", LIB) == b"mylib"
        p.run("FUNCTION", "LOAD", LIB)                         # already exists
        p.run("FUNCTION", "LOAD", fn("other", "return 1").replace("'other', callback", "'setget', callback"))
        p.run("FUNCTION", "LOAD", fn("other", "return 1").replace("function_name='other'", "function_name='SETGET'"))
        p.run("FUNCTION", "LOAD", "REPLACE", LIB.replace("reads a key", "reads"))
        p.run("FUNCTION", "LOAD", "replace", fn("mylib", "return 2"))  # replace drops setget and getter
        p.run("FCALL", "setget", 1, "k", "v")
        p.run("FCALL", "mylib", 0)
        p.run("FUNCTION", "LOAD", LIB2)
        p.run("FUNCTION", "LIST", "WITHCODE", normalize=listing)
        p.run("FUNCTION", "DELETE", "nope")
        p.run("FUNCTION", "DELETE", "MYLIB")
        p.run("FUNCTION", "DELETE", "mylib")
        p.run("FUNCTION", "DELETE", "mylib")
        p.run("FUNCTION", "DELETE")
        p.run("FUNCTION", "DELETE", "a", "b")
        p.run("FUNCTION", "LIST", normalize=listing)
        for args in (("FUNCTION", "FLUSH", "foo"), ("FUNCTION", "FLUSH", "sync", "async"), ("FUNCTION", "FLUSH"),
                     ("FUNCTION", "LOAD", LIB), ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "LOAD", LIB),
                     ("FUNCTION", "FLUSH", "sync"), ("FUNCTION", "LIST"), ("FUNCTION", "STATS")):
            p.run(*args)
        p.run("FUNCTION", "NOSUCH")
        p.run("FUNCTION")
        h = p.run("FUNCTION", "HELP")
        assert h[0].startswith("FUNCTION <subcommand>"), h


def test_a_failed_load_leaves_nothing_behind():
    with Dredis() as d, d.client() as c:
        assert c.execute("FUNCTION", "LOAD", LIB) == b"mylib"
        before = library_files(d)
        for code in ("#!lua name=x\nredis.register_function('f', function() end)\nerror('late')",
                     "#!lua name=x\nredis.register_function('setget', function() end)",
                     "#!lua name=x\nlocal t = {} for i = 1, 1e9 do t[i] = i end",
                     "#!lua name=x\nwhile true do end"):
            r = c.execute("FUNCTION", "LOAD", code)
            assert isinstance(r, RespError), r
        assert library_files(d) == before == ["mylib"]
        r = c.execute("FUNCTION", "LOAD", "#!lua name=x\nwhile true do end")
        assert r == RespError("ERR Error registering functions: ERR FUNCTION LOAD timeout"), r
        # a failed REPLACE keeps the old library
        r = c.execute("FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nerror('x')")
        assert isinstance(r, RespError)
        assert c.execute("FCALL", "setget", 1, "k", "v") == b"v"
        with open(os.path.join(d.root_dir, ".functions", "mylib")) as f:
            assert f.read() == LIB
        assert c.execute("PING") == "PONG"


# ---------------------------------------------------------------------------
# FUNCTION LIST, STATS
# ---------------------------------------------------------------------------

def test_list_shapes_patterns_and_resp3():
    with Pair() as p:
        p.run("FUNCTION", "LOAD", LIB)
        p.run("FUNCTION", "LOAD", LIB2)
        p.run("FUNCTION", "LOAD", fn("my_other", "return 1", ["allow-oom", "no-cluster", "allow-cross-slot-keys"]))
        for args in ((), ("WITHCODE",), ("LIBRARYNAME", "my*"), ("libraryname", "*2", "withcode"),
                     ("WITHCODE", "LIBRARYNAME", "nomatch"), ("LIBRARYNAME", "MYLIB"),
                     ("LIBRARYNAME",), ("foo",), ("WITHCODE", "WITHCODE"), ("LIBRARYNAME", "a", "LIBRARYNAME", "b")):
            p.run("FUNCTION", "LIST", *args, normalize=listing)
        p.run("FUNCTION", "STATS")
        p.both("HELLO", "3")
        for args in ((), ("WITHCODE",), ("LIBRARYNAME", "lib*")):
            p.run("FUNCTION", "LIST", *args, normalize=listing3)
        p.run("FUNCTION", "STATS")
        p.run("FCALL", "echo", 0, "a", "b")


def test_command_info_matches_redis():
    with Pair() as p:
        assert_command_info_matches(p, ["fcall", "fcall_ro", "function|load", "function|list", "function|delete",
                                        "function|flush", "function|dump", "function|restore", "function|kill",
                                        "function|stats", "function|help"])


# ---------------------------------------------------------------------------
# FCALL, FCALL_RO
# ---------------------------------------------------------------------------

def test_fcall_keys_args_flags_and_errors():
    libs = [
        LIB, LIB2,
        fn("keysargs", "return {keys, args, #keys, #args}"),
        fn("pc", "return redis.pcall('incr', keys[1])"),
        fn("callerr", "return redis.call('incr', keys[1])"),
        fn("raise", "error('boom')"),
        fn("raisetable", "error({err='MY custom'})"),
        fn("errreply", "return redis.error_reply('E1 x')"),
        fn("status", "return redis.status_reply('FINE')"),
        fn("noglobal", "return KEYS"),
        fn("setglobal", "y = 1"),
        fn("reg", "redis.register_function('h', function() end)"),
        fn("resp3", "redis.setresp(3) return redis.call('hgetall', keys[1])"),
        fn("ro_writes", "return redis.call('set', 'x', 1)", ["no-writes"]),
        fn("ro_reads", "return redis.call('get', 'x')", ["no-writes"]),
        fn("strlib", "return string.upper(args[1]) .. cjson.encode({1}) .. tostring(math.floor(2.5))"),
        fn("selectdb", "redis.call('select', 5) return redis.call('set', 'in5', '1')"),
        fn("nested", "return redis.call('fcall', 'ro_reads', 0)"),
        fn("evalin", "return redis.call('eval', 'return 1', 0)"),
    ]
    with Pair() as p:
        for lib in libs:
            assert not isinstance(p.run("FUNCTION", "LOAD", lib), RespError), lib
        p.run("HSET", "h", "f", "v")
        p.run("SET", "str", "abc")
        calls = [
            ("FCALL", "setget", 1, "k", "v"), ("FCALL", "SETGET", 1, "k", "v2"), ("FCALL_RO", "getter", 1, "k"),
            ("FCALL_RO", "setget", 1, "k", "v"), ("FCALL", "nope", 0), ("FCALL", "setget", "x"),
            ("FCALL", "setget", 3, "a"), ("FCALL", "setget", -1), ("FCALL", "setget"), ("FCALL_RO", "nope", 0),
            ("FCALL", "keysargs", 2, "a", "b", "c"), ("FCALL", "keysargs", 0), ("FCALL", "pc", 1, "str"),
            ("FCALL", "callerr", 1, "str"), ("FCALL", "raise", 0), ("FCALL", "raisetable", 0),
            ("FCALL", "errreply", 0), ("FCALL", "status", 0), ("FCALL", "noglobal", 0), ("FCALL", "setglobal", 0),
            ("FCALL", "reg", 0), ("FCALL", "resp3", 1, "h"), ("FCALL", "ro_writes", 0), ("FCALL_RO", "ro_reads", 0),
            ("FCALL", "strlib", 0, "abc"), ("FCALL", "selectdb", 0), ("GET", "in5"), ("SELECT", 5), ("GET", "in5"),
            ("SELECT", 0), ("FCALL", "nested", 0), ("FCALL", "evalin", 0), ("FCALL", "echo", 0, "x", "y"),
            ("FCALL_RO", "echo", 1, "k", "x"),
        ]
        for call in calls:
            p.run(*call)
        # MULTI runs FCALL as one of its commands
        p.run("MULTI")
        p.run("FCALL", "setget", 1, "m", "1")
        p.run("FCALL_RO", "getter", 1, "m")
        p.run("EXEC")


def test_client_pause_write_holds_writing_functions_only():
    with Dredis() as d, d.client() as admin, d.client() as a, d.client() as b:
        assert admin.execute("FUNCTION", "LOAD", LIB) == b"mylib"
        assert admin.execute("SET", "k", "v0") == "OK"
        assert admin.execute("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
        a.send("FCALL", "setget", 1, "k", "v1")
        time.sleep(0.3)
        assert b.execute("FCALL", "getter", 1, "k") == b"v0"       # no-writes: runs
        assert b.execute("FCALL_RO", "getter", 1, "k") == b"v0"
        assert a.buf == b""
        assert admin.execute("CLIENT", "UNPAUSE") == "OK"
        assert a.read_reply() == b"v1"


def test_function_kill_and_busy():
    env = {"DREDIS_LUA_TIME_LIMIT": "200"}
    busy_fn = RespError("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
    with Dredis(env=env) as s, s.client() as a, s.client() as b:
        assert b.execute("FUNCTION", "LOAD", SPIN) == b"spin"
        assert b.execute("FUNCTION", "KILL") == RespError("NOTBUSY No scripts in execution right now.")
        a.send("FCALL", "spin", 0)
        wait_until(lambda: b.execute("PING") == busy_fn, timeout=30, what="BUSY")
        assert b.execute("SCRIPT", "KILL") == busy_fn
        stats = b.execute("FUNCTION", "STATS")
        assert stats[0] == b"running_script" and stats[1][:4] == [b"name", b"spin", b"command",
                                                                     [b"FCALL", b"spin", b"0"]], stats
        assert stats[1][4] == b"duration_ms" and stats[1][5] >= 200
        assert b.execute("FUNCTION", "KILL") == "OK"
        r = a.read_reply()
        assert r == RespError("ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."), r
        assert b.execute("PING") == "PONG"
        # a function that wrote cannot be killed
        a.send("FCALL", "spinwrite", 1, "w")
        wait_until(lambda: b.execute("PING") == busy_fn, timeout=30, what="BUSY")
        r = b.execute("FUNCTION", "KILL")
        assert r.message.startswith("UNKILLABLE"), r
        # while an EVAL runs, FUNCTION KILL and FUNCTION STATS are refused with SCRIPT KILL's text
        assert "FUNCTION KILL" in s.output()
    with Dredis(env=env) as s, s.client() as a, s.client() as b:
        busy_eval = RespError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
        a.send("EVAL", "while true do end", 0)
        wait_until(lambda: b.execute("PING") == busy_eval, timeout=30, what="BUSY")
        assert b.execute("FUNCTION", "KILL") == busy_eval
        assert b.execute("FUNCTION", "STATS") == busy_eval
        assert b.execute("SCRIPT", "KILL") == "OK"
        assert isinstance(a.read_reply(), RespError)


# ---------------------------------------------------------------------------
# FUNCTION DUMP, RESTORE: payloads exchanged with Redis
# ---------------------------------------------------------------------------

def test_dump_restore_between_redis_and_dredis():
    with Pair() as p:
        # long code, so that Redis's DUMP compresses it (LZF)
        long_lib = fn("longlib", "return '%s'" % ("abc" * 200))
        for lib in (LIB, LIB2, long_lib):
            p.run("FUNCTION", "LOAD", lib)
        from_redis = p.r.execute("FUNCTION", "DUMP")
        from_dredis = p.d.execute("FUNCTION", "DUMP")
        expected = listing(p.r.execute("FUNCTION", "LIST", "WITHCODE"))
        # errors, nothing changed (which library clashes first is Redis's dict order)
        for args in (("FUNCTION", "RESTORE", from_redis), ("FUNCTION", "RESTORE", from_redis, "append"),
                     ("FUNCTION", "RESTORE", from_redis, "bad"), ("FUNCTION", "RESTORE", b"junk"),
                     ("FUNCTION", "RESTORE", from_redis[:-1] + b"x"), ("FUNCTION", "RESTORE", from_redis, "a", "b"),
                     ("FUNCTION", "RESTORE"), ("FUNCTION", "DUMP", "x")):
            p.run(*args, normalize=any_library)
        # each side's payload in the other
        for d_payload, r_payload in ((from_redis, from_dredis), (from_dredis, from_redis)):
            p.run("FUNCTION", "FLUSH")
            assert p.d.execute("FUNCTION", "RESTORE", d_payload) == "OK"
            assert p.r.execute("FUNCTION", "RESTORE", r_payload) == "OK"
            assert listing(p.d.execute("FUNCTION", "LIST", "WITHCODE")) == expected
            assert listing(p.r.execute("FUNCTION", "LIST", "WITHCODE")) == expected
        # the policies
        p.run("FUNCTION", "FLUSH")
        p.run("FUNCTION", "LOAD", fn("keepme", "return 'kept'"))
        p.run("FUNCTION", "LOAD", fn("mylib", "return 'old'"))
        p.run("FUNCTION", "RESTORE", from_redis, normalize=any_library)  # mylib exists
        p.run("FUNCTION", "RESTORE", from_redis, "REPLACE")
        p.run("FUNCTION", "LIST", normalize=listing)
        p.run("FCALL", "keepme", 0)
        p.run("FCALL", "mylib", 0)
        p.run("FUNCTION", "RESTORE", from_redis, "FLUSH")
        p.run("FUNCTION", "LIST", "WITHCODE", normalize=listing)
        p.run("FCALL", "keepme", 0)
        # a function of another library in the way, even with REPLACE
        p.run("FUNCTION", "FLUSH")
        p.run("FUNCTION", "LOAD", fn("x", "return 1").replace("function_name='x'", "function_name='echo'"))
        p.run("FUNCTION", "RESTORE", from_redis, "REPLACE")
        p.run("FUNCTION", "LIST", normalize=listing)
        # an empty payload
        p.run("FUNCTION", "FLUSH")
        empty = p.run("FUNCTION", "DUMP")
        p.run("FUNCTION", "RESTORE", empty)
    with Dredis() as d, d.client() as c:
        c.execute("FUNCTION", "RESTORE", from_redis)
        assert library_files(d) == ["lib2", "longlib", "mylib"]


# ---------------------------------------------------------------------------
# The libraries as data: restart, snapshot, RDB files, replication
# ---------------------------------------------------------------------------

def test_libraries_survive_restart_and_broken_ones_stop_startup():
    with Dredis() as d:
        with d.client() as c:
            c.execute("FUNCTION", "LOAD", LIB)
            c.execute("FUNCTION", "LOAD", LIB2)
            before = listing(c.execute("FUNCTION", "LIST", "WITHCODE"))
            c.execute("FUNCTION", "DELETE", "lib2")
            c.execute("FUNCTION", "LOAD", LIB2)
        d.restart()
        with d.client() as c:
            assert listing(c.execute("FUNCTION", "LIST", "WITHCODE")) == before
            assert c.execute("FCALL", "setget", 1, "k", "v") == b"v"
            assert c.execute("FUNCTION", "FLUSH") == "OK"
        d.restart(signal_kill())
        with d.client() as c:
            assert c.execute("FUNCTION", "LIST") == []
            c.execute("FUNCTION", "LOAD", LIB)
        d.stop()
        # dredis-check accepts the tree
        check = os.path.join(os.path.dirname(os.environ.get("DREDIS_SERVER", "")) or ".", "dredis-check")
        if os.path.exists(check):
            r = subprocess.run([check, d.root_dir], capture_output=True)
            assert r.returncode == 0, r.stdout + r.stderr
        with open(os.path.join(d.root_dir, ".functions", "broken"), "w") as f:
            f.write("#!lua name=broken\nthis is not lua")
        try:
            d.start()
            started = True
        except AssertionError as e:
            started = False
            assert "broken" in str(e) and "does not load" in str(e), e
        assert not started
        os.unlink(os.path.join(d.root_dir, ".functions", "broken"))


def signal_kill():
    import signal
    return signal.SIGKILL


def test_snapshot_has_the_functions_of_its_instant_and_redis_loads_its_rdb():
    snaps = tempfile.mkdtemp(prefix="dredis-snaps-")
    r = None
    try:
        with Dredis(env={"DREDIS_SNAPSHOT_DIR": snaps}) as d, d.client() as c:
            c.execute("FUNCTION", "LOAD", LIB)
            c.execute("FUNCTION", "LOAD", LIB2)
            c.execute("SET", "k", "v")
            expected = listing(c.execute("FUNCTION", "LIST", "WITHCODE"))
            assert c.execute("SAVE") == "OK"
            c.execute("FUNCTION", "DELETE", "mylib")
            c.execute("FUNCTION", "LOAD", "REPLACE", LIB2.replace("echo", "echo2"))
            names = [n for n in os.listdir(snaps) if n.startswith("snapshot-")]
            assert len(names) == 1, names
            snap = os.path.join(snaps, names[0])
            assert sorted(os.listdir(os.path.join(snap, ".functions"))) == ["lib2", "mylib"]
            with open(os.path.join(snap, ".functions", "lib2")) as f:
                assert f.read() == LIB2
        rdb = os.path.join(snaps, "dump.rdb")
        code, out, err = run_tool(snap, "--export-rdb", rdb)
        assert code == 0, err
        r = Redis(extra_args=("--dir", snaps, "--dbfilename", "dump.rdb"))
        with r.client() as rc:
            assert listing(rc.execute("FUNCTION", "LIST", "WITHCODE")) == expected
            assert rc.execute("GET", "k") == b"v"
        # and the tree made of that RDB by dredis, the same
        root = os.path.join(snaps, "tree")
        code, out, err = run_tool(root, "--import-rdb", rdb)
        assert code == 0, err
        with Dredis(root_dir=root) as d2, d2.client() as c2:
            assert listing(c2.execute("FUNCTION", "LIST", "WITHCODE")) == expected
    finally:
        if r:
            r.stop()
            r.cleanup()
        shutil.rmtree(snaps, ignore_errors=True)


def test_import_of_a_redis_rdb_with_a_clashing_library_fails_whole():
    r = Redis()
    tmp = tempfile.mkdtemp(prefix="rdb-fn-")
    try:
        with r.client() as c:
            c.execute("FUNCTION", "LOAD", LIB)
            c.execute("SET", "k", "v")
            path = redis_save(r)
        root = os.path.join(tmp, "tree")
        os.makedirs(os.path.join(root, ".functions"))
        with open(os.path.join(root, ".functions", "mylib"), "w") as f:
            f.write(LIB)
        code, out, err = run_tool(root, "--import-rdb", path)
        assert code == 1 and "Library 'mylib' already exists" in err, err
        assert os.listdir(os.path.join(root, ".functions")) == ["mylib"]
    finally:
        r.stop()
        r.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_redis_replica_gets_libraries_and_effects():
    with Dredis() as d:
        with d.client() as c:
            c.execute("FUNCTION", "LOAD", LIB)
        with start_replica(d.port) as r:
            wait_synced(d, r)
            with d.client() as c, r.client() as rc:
                assert listing(rc.execute("FUNCTION", "LIST", "WITHCODE")) == listing(
                    c.execute("FUNCTION", "LIST", "WITHCODE"))
                assert c.execute("FUNCTION", "LOAD", LIB2) == b"lib2"
                assert c.execute("FCALL", "setget", 1, "k", "v1") == b"v1"
                assert c.execute("FUNCTION", "LOAD", "REPLACE", fn("mylib", "return 1")) == b"mylib"
                payload = c.execute("FUNCTION", "DUMP")
                c.execute("FUNCTION", "LOAD", fn("gone", "return 1"))
                c.execute("FUNCTION", "DELETE", "gone")
                assert c.execute("FUNCTION", "RESTORE", payload, "FLUSH") == "OK"
                wait_synced(d, r)
                assert rc.execute("GET", "k") == b"v1"
                assert listing(rc.execute("FUNCTION", "LIST", "WITHCODE")) == listing(
                    c.execute("FUNCTION", "LIST", "WITHCODE"))
                c.execute("FUNCTION", "FLUSH")
                wait_synced(d, r)
                assert rc.execute("FUNCTION", "LIST") == []


def test_dredis_replica_gets_libraries_from_full_sync_and_stream():
    with Dredis() as m:
        with m.client() as c:
            c.execute("FUNCTION", "LOAD", LIB)
        with replica_of(m) as r:
            synced(m, r)
            with m.client() as c, r.client() as rc:
                assert listing(rc.execute("FUNCTION", "LIST", "WITHCODE")) == listing(
                    c.execute("FUNCTION", "LIST", "WITHCODE"))
                assert library_files(r) == ["mylib"]
                assert rc.execute("FUNCTION", "LOAD", LIB2) == RespError(
                    "READONLY You can't write against a read only replica.")
                c.execute("FUNCTION", "LOAD", LIB2)
                c.execute("FCALL", "setget", 1, "k", "v")
                wait_synced(m, r)
                assert rc.execute("FCALL_RO", "getter", 1, "k") == b"v"
                assert library_files(r) == ["lib2", "mylib"]
                c.execute("FUNCTION", "DELETE", "mylib")
                wait_synced(m, r)
                assert library_files(r) == ["lib2"]
