"""Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, the redis.* API,
the conversions between Lua and RESP, the libraries (cjson, cmsgpack, struct,
bit), Lua 5.1 compatibility, the sandbox, the time limit (BUSY, SCRIPT KILL,
UNKILLABLE, SHUTDOWN NOSAVE) and the memory limit.

Most tests run the same scripts on dredis and on a real redis-server 7.0 (Pair)
and require identical replies, error texts included."""
import os
import socket
import subprocess
import tempfile
import threading

from dredis_test import (DREDIS_SERVER, Client, ConnectionClosed, Dredis, Pair, Redis, RespError,
                         encode_command, info_map, wait_until)

BUSY = RespError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
UNKILLABLE = RespError(
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait "
    "the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
NOSCRIPT = RespError("NOSCRIPT No matching script. Please use EVAL.")


def run_scripts(p, scripts, *keys_and_args, numkeys=0):
    """EVAL each script on both servers; replies must be identical."""
    for script in scripts:
        p.run("EVAL", script, numkeys, *keys_and_args)


def busy_env(**extra):
    env = {"DREDIS_LUA_TIME_LIMIT": "200"}
    env.update(extra)
    return env


def wait_busy(c):
    wait_until(lambda: c.execute("PING") == BUSY, timeout=30, what="the server to report BUSY")


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------

def test_lua_to_resp_every_reply_type_matches_redis():
    with Pair() as p:
        run_scripts(p, [
            "return 1",
            "return -42",
            "return 3.99",
            "return -3.99",
            "return 1e20",
            "return -1e20",
            "return 0/0",
            "return 2^53",
            "return 'a string'",
            "return ''",
            "return '\\0binary\\255'",
            "return true",
            "return false",
            "return nil",
            "return {}",
            "return {1, 'two', {3, {4}}, true, false}",
            "return {1, 2, nil, 4}",
            "return {1, false, 3}",
            "return {ok='FINE'}",
            "return {ok=3}",
            "return {err='MYCODE something failed'}",
            "return {err=''}",
            "return {err='-x'}",
            "return {err=3}",
            "return {a=1, b=2}",
            "return {1, {err='inner error'}, {ok='inner ok'}, 3}",
            "return {ok='a\\r\\nb'}",
            "return {err='a\\r\\nb'}",
            "return {double=3.5}",
            "return {double=3}",
            "return {double=1/0}",
            "return {map={a=1}}",
            "return {set={x=true}}",
            "return {big_number='123456789012345678901234567890'}",
            "return {verbatim_string={format='txt', string='hello'}}",
            "return function() end",
            "return coroutine.create(function() end)",
            "return cjson.null",
            "return redis.status_reply('STATUS')",
            "return redis.error_reply('MY error')",
            "return redis.error_reply('plain')",
            "return redis.error_reply('-X')",
            "return redis.error_reply('')",
            "return redis.error_reply('a\\r\\nb')",
            "return redis.status_reply('a\\r\\nb')",
            "return redis.error_reply(3)",
            "return redis.error_reply()",
            "return redis.status_reply(3)",
        ])


def test_self_referencing_table_reply_stops_at_lua_stack_limit():
    """Redis nests 7995 arrays and then answers 'reached lua stack limit'."""
    def nesting(port):
        body = b"local t = {} t[1] = t return t"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(encode_command(["EVAL", body, 0]))
            data = b""
            while not data.endswith(b"\r\n") or b"-" not in data[-100:]:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        lines = data.split(b"\r\n")[:-1]
        assert set(lines[:-1]) == {b"*1"}, lines[:3]
        return len(lines) - 1, lines[-1]

    with Pair() as p:
        d, r = nesting(p.dredis.port), nesting(p.redis.port)
        assert d == r == (7995, b"-ERR reached lua stack limit"), (d, r)
        assert p.d.execute("PING") == "PONG"


def test_resp_to_lua_conversions_match_redis():
    with Pair() as p:
        p.run("SET", "s", "abc")
        p.run("SET", "n", "10")
        run_scripts(p, [
            "local r = redis.call('incr', 'n') return {type(r), r}",
            "local r = redis.call('get', 's') return {type(r), r}",
            "local r = redis.call('get', 'nokey') return {type(r), tostring(r)}",
            "local r = redis.call('set', 'k', 'v') return {type(r), r.ok}",
            "local r = redis.call('ping') return r",
            "local r = redis.call('mget', 's', 'nokey', 'n') return {#r, r[1], tostring(r[2]), r[3]}",
            "return redis.call('mget', 's', 'nokey', 'n')",
            "local r = redis.pcall('incr', 's') return {type(r), r.err, tostring(r.ignore_error_stats_update)}",
            "return redis.pcall('incr', 's')",
            "local r = redis.call('exists', 's', 'nokey') return r + 1",
            "local r = redis.call('incrbyfloat', 'n', '0.5') return {type(r), r}",
            "local r = redis.call('time') return {type(r), #r, type(r[1])}",
            "return redis.call('keys', 'nomatch*')",
            "return type(redis.call('command', 'info', 'get')[1][3][1])",
        ])


def test_resp3_under_setresp_matches_redis():
    with Pair() as p:
        p.run("SET", "k", "v")
        p.run("SET", "f", "1.5")
        run_scripts(p, [
            "redis.setresp(3) return true",
            "redis.setresp(3) return false",
            "redis.setresp(3) return {true, false, 1}",
            "redis.setresp(3) return nil",
            "redis.setresp(3) local r = redis.call('get', 'nokey') return type(r)",
            "redis.setresp(3) local r = redis.call('set', 'k', 'v') return r.ok",
            "redis.setresp(3) return redis.call('incrbyfloat', 'f', '1.5')",
            "redis.setresp(3) local r = redis.call('mget', 'k', 'nokey', 'k') return #r",
            "redis.setresp(3) return redis.call('mget', 'k', 'nokey', 'k')",
            "redis.setresp(3) local r = redis.call('command', 'docs', 'get') return r.map.get.map.group",
            "redis.setresp(3) local r = redis.call('command', 'info', 'get') return type(r[1][3].set)",
            "redis.setresp(3) local r = redis.call('info', 'server') return r.verbatim_string.format",
            "redis.setresp(3) redis.setresp(2) return redis.call('get', 'nokey')",
            "return redis.setresp(4)",
            "return redis.setresp()",
            "return redis.setresp(2, 3)",
        ])


def test_numbers_passed_to_redis_call_are_formatted_as_redis_does():
    with Pair() as p:
        run_scripts(p, [
            "return redis.call('echo', 3.5)",
            "return redis.call('echo', 5.0)",
            "return redis.call('echo', 10 / 2)",
            "return redis.call('echo', 0.1)",
            "return redis.call('echo', 1e100)",
            "return redis.call('echo', -0.0)",
            "return redis.call('echo', 123456789)",
            "redis.call('set', 'x', 2.5) return redis.call('get', 'x')",
            "redis.call('set', 'y', 7 / 7) return redis.call('incr', 'y')",
            "return redis.call('echo', true)",
            "return redis.call('echo', nil)",
            "return redis.call('echo', {})",
            "return redis.call()",
            "return redis.pcall()",
            "return redis.pcall('echo', {})",
        ])


def test_keys_and_argv():
    with Pair() as p:
        p.run("EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", 2, "k1", "k2", "a1", "a2")
        p.run("EVAL", "return {#KEYS, #ARGV}", 0)
        p.run("EVAL", "return {#KEYS, #ARGV}", 0, "a", "b", "c")
        p.run("EVAL", "return {#KEYS, #ARGV}", 3, "a", "b", "c")
        p.run("EVAL", "KEYS[1] = 'changed' return KEYS[1]", 1, "k")
        p.run("EVAL", "return KEYS[1]", 1, "bin\x00ary")
        p.run("EVAL", "return 1", 2, "onlyone")
        p.run("EVAL", "return 1", -1)
        p.run("EVAL", "return 1", "x")
        p.run("EVAL", "return 1", "1.5", "a")
        p.run("EVAL", "return 1")
        # KEYS and ARGV of one call are not seen by the next
        p.run("EVAL", "return {#KEYS, #ARGV}", 0)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

def test_error_texts_match_redis():
    with Pair() as p:
        p.run("SET", "s", "abc")
        run_scripts(p, [
            "error('boom')",
            "error('boom', 0)",
            "error('boom', 2)",
            "error(123)",
            "error(nil)",
            "error({err='MYCODE with a table'})",
            "\n\nerror('on line three')",
            "local function f() error('deep') end\nf()",
            "return nil + 1",
            "local t = nil return t.x",
            "return #nil",
            "return {} .. 'x'",
            "return 'x' < 1",
            "return nosuchfunction()",
            "return 'unfinished",
            "return 1 +",
            "return )",
            "return redis.call('incr', 's')",
            "return redis.call('nosuchcommand')",
            "return redis.call('get')",
            "return redis.call('incr', 's', 'extra')",
            "return redis.call('command', 'nosuchsub')",
            "return redis.call('script', 'load', 'return 1')",
            "return redis.call('eval', 'return 1', 0)",
            "return redis.call('shutdown')",
            "return redis.call('quit')",
            "return redis.call('set', 'x')",
            "local function f() redis.call('incr', 's') end\n\nf()",
            "return redis.call({})",
            "return string.rep()",
            "return math.random(0)",
            "return math.random(1, 2, 3)",
            "return table.getn(5)",
            "return table.setn({}, 1)",
            "local t = table.setn({}, 1) return t",
            "return string.format('%d', 'x')",
            "return string.format('%s', true)",
            "return cjson.decode('{')",
            "return cmsgpack.unpack('\\193')",
            "return struct.pack('y', 1)",
            "return bit.band('x')",
        ])


def test_call_raises_and_pcall_returns_the_error():
    with Pair() as p:
        p.run("SET", "s", "abc")
        run_scripts(p, [
            # redis.call raises: the script stops there
            "redis.call('set', 'before', '1') redis.call('incr', 's') redis.call('set', 'after', '1')",
            "return {redis.call('exists', 'before'), redis.call('exists', 'after')}",
            # redis.pcall returns the error table and the script goes on
            "local e = redis.pcall('incr', 's') redis.call('set', 'after2', '1') return e",
            "local e = redis.pcall('incr', 's') return e.err",
            "local e = redis.pcall('nosuch') return {e.err, tostring(e.ignore_error_stats_update)}",
            "local e = redis.pcall('get') return e.err",
            # Lua's pcall around redis.call gets the error as a string (Redis's pcall)
            "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), type(e), e}",
            "local ok, e = pcall(function() redis.call('incr', 's') end) return e",
            "local ok, e = pcall(function() error({err='X y'}) end) return {type(e), e}",
            "local ok, e = pcall(function() error('plain') end) return e",
            "local ok, e = pcall(function() redis.call('incr', 's') end) error(e)",
            "return pcall(redis.call, 'nosuch')",
            "return {pcall(error)}",
            "return {xpcall(function() error('x') end, function(m) return 'handled: ' .. m end)}",
            # an error table returned is an error reply; raised, it gets the script position
            "return redis.pcall('incr', 's')",
            "error(redis.pcall('incr', 's'))",
        ])


def test_odd_error_objects_do_not_crash():
    """Redis 7.0 crashes on error({}) and on an error table whose __index
    fails; dredis replies with an error, and a library raised as an error
    stays untouched."""
    with Dredis() as s, s.client() as c:
        for script in ("error({})",
                       "error(setmetatable({}, {__index = function() return 'x' end}))",
                       "error(setmetatable({}, {__index = function() error('x') end}))",
                       "error(setmetatable({err='E x'}, {__newindex = function() error('no') end}))",
                       "error(setmetatable({}, {__tostring = function() error('no') end}))",
                       "error(redis)",
                       "error(string)",
                       "error(_G)",
                       "return setmetatable({}, {__index = function() error('x') end})",
                       "return setmetatable({err = 'E y'}, {__index = function() error('x') end})"):
            r = c.execute("EVAL", script, 0)
            assert r is None or isinstance(r, (RespError, list)), (script, r)
        assert c.execute("EVAL", "return {rawget(redis, 'source'), rawget(string, 'line')}", 0) == []
        assert c.execute("EVAL", "return redis.call('ping')", 0) == "PONG"
        assert c.execute("PING") == "PONG"


def test_runaway_recursion_is_an_error_not_a_crash():
    with Dredis() as s, s.client() as c:
        r = c.execute("EVAL", "local function f(n) return f(n + 1) + 1 end return f(1)", 0)
        assert isinstance(r, RespError) and "stack overflow" in r.message, r
        r = c.execute("EVAL", "local function f(s) local r = f(s .. 'x') return r end return f('')", 0)
        assert isinstance(r, RespError), r
        r = c.execute("EVAL", "return string.rep('x', -1)", 0)
        assert r == b""
        assert c.execute("EVAL", "return 'alive'", 0) == b"alive"


# ---------------------------------------------------------------------------
# The redis.* API
# ---------------------------------------------------------------------------

def test_redis_api_matches_redis():
    with Pair() as p:
        run_scripts(p, [
            "return redis.REDIS_VERSION",
            "return redis.REDIS_VERSION_NUM",
            "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
            "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
            "local t = {} for k in pairs(redis) do t[#t + 1] = k end table.sort(t) return t",
            "return redis.sha1hex('')",
            "return redis.sha1hex('abc')",
            "return redis.sha1hex(12)",
            "return redis.sha1hex(1.5)",
            "return redis.sha1hex()",
            "return redis.sha1hex(1, 2)",
            "return redis.replicate_commands()",
            "return redis.set_repl(redis.REPL_ALL)",
            "return redis.set_repl(redis.REPL_NONE)",
            "return redis.set_repl(99)",
            "return redis.set_repl()",
            "return redis.breakpoint()",
            "return redis.debug('x')",
            "return redis.acl_check_cmd('get', 'x')",
            "return redis.acl_check_cmd('nosuch')",
            "return redis.acl_check_cmd()",
            "return redis.log(redis.LOG_DEBUG, 'quiet')",
            "return redis.log(7, 'x')",
            "return redis.log(-1, 'x')",
            "return redis.log('x')",
            "return redis.log('x', 'y')",
            "return redis.status_reply('OK')",
        ])


def test_redis_log_writes_to_the_server_log():
    with Dredis() as s, s.client() as c:
        assert c.execute("EVAL", "redis.log(redis.LOG_WARNING, 'scripted', 'warning', 42, 1.5) return 1", 0) == 1
        assert c.execute("EVAL", "redis.log(redis.LOG_NOTICE, 'scripted notice') return 1", 0) == 1
        assert c.execute("EVAL", "redis.log(redis.LOG_DEBUG, 'scripted debug') return 1", 0) == 1
        wait_until(lambda: "scripted notice" in s.output(), what="the log line")
        log = s.output()
        assert "# scripted warning 42 1.5" in log, log
        assert "* scripted notice" in log, log
        assert "scripted debug" not in log  # below the log level without DEBUG


def test_select_in_a_script_changes_only_the_script_db():
    with Pair() as p:
        p.run("SELECT", "2")
        run_scripts(p, [
            "redis.call('set', 'where', 'db2') redis.call('select', 5) redis.call('set', 'where', 'db5') "
            "return redis.call('get', 'where')",
            "return redis.call('get', 'where')",  # the next script starts in the caller's db again
        ])
        p.run("GET", "where")
        p.run("SELECT", "5")
        p.run("GET", "where")
        p.run("SELECT", "0")
        p.run("EXISTS", "where")
        p.run("EVAL", "return redis.call('select', 99)", 0)


def test_commands_scripts_may_not_call():
    with Pair() as p:
        run_scripts(p, [
            "return redis.call('eval', 'return 1', 0)",
            "return redis.call('evalsha', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 0)",
            "return redis.call('script', 'flush')",
            "return redis.call('script', 'kill')",
            "return redis.call('shutdown', 'nosave')",
            "return redis.call('quit')",
            "return redis.pcall('quit').err",
        ])
        p.run("PING")


# ---------------------------------------------------------------------------
# EVALSHA, SCRIPT, EVAL_RO, shebang
# ---------------------------------------------------------------------------

def test_evalsha_script_load_exists_flush():
    with Pair() as p:
        sha = p.run("SCRIPT", "LOAD", "return {KEYS[1], ARGV[1]}")
        assert len(sha) == 40
        p.run("EVALSHA", sha, 1, "k", "a")
        p.run("EVALSHA", sha.upper(), 1, "k", "a")
        p.run("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", 0)
        p.run("EVALSHA", "abc", 0)
        p.run("EVALSHA", "abc", "notanumber")
        p.run("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "notanumber")
        p.run("EVALSHA_RO", sha, 1, "k", "a")
        p.run("SCRIPT", "EXISTS", sha, sha.upper(), "nope", "ffffffffffffffffffffffffffffffffffffffff")
        # EVAL caches too
        p.run("EVAL", "return 'cached by eval'", 0)
        eval_sha = p.run("SCRIPT", "LOAD", "return 'cached by eval'")
        p.run("SCRIPT", "EXISTS", eval_sha)
        p.run("SCRIPT", "LOAD", "return 1 +")
        p.run("SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1")
        p.run("SCRIPT", "FLUSH")
        p.run("SCRIPT", "EXISTS", sha, eval_sha)
        p.run("EVALSHA", sha, 1, "k", "a")
        p.run("SCRIPT", "LOAD", "return 2")
        p.run("SCRIPT", "FLUSH", "ASYNC")
        p.run("SCRIPT", "FLUSH", "sync")
        p.run("SCRIPT", "FLUSH", "bad")
        p.run("SCRIPT", "FLUSH", "sync", "extra")
        p.run("SCRIPT", "EXISTS")
        p.run("SCRIPT", "LOAD")
        p.run("SCRIPT", "LOAD", "a", "b")
        p.run("SCRIPT", "KILL")
        p.run("SCRIPT", "KILL", "x")
        p.run("SCRIPT", "HELP")
        p.run("SCRIPT")
        p.run("SCRIPT", "NOSUCH")
        p.run("SCRIPT", "DEBUG", "no")
        p.run("SCRIPT", "DEBUG", "bad")


def test_evalsha_fallback_to_eval_as_client_libraries_do():
    """ioredis/redis-py: EVALSHA, on NOSCRIPT EVAL, then EVALSHA works."""
    script = "return redis.call('incrby', KEYS[1], ARGV[1])"
    with Pair() as p:
        sha = p.run("EVAL", "return redis.sha1hex(ARGV[1])", 0, script)
        assert p.run("EVALSHA", sha, 1, "counter", 5) == NOSCRIPT
        assert p.run("EVAL", script, 1, "counter", 5) == 5
        assert p.run("EVALSHA", sha, 1, "counter", 5) == 10


def test_eval_ro_and_shebang_flags():
    with Pair() as p:
        p.run("SET", "k", "v")
        p.run("EVAL_RO", "return redis.call('get', 'k')", 1, "k")
        p.run("EVAL_RO", "return redis.call('set', 'k', 'x')", 1, "k")
        p.run("EVAL_RO", "return redis.pcall('set', 'k', 'x')", 1, "k")
        p.run("EVAL_RO", "return redis.call('incr', 'n')", 0)
        p.run("EVAL_RO", "return redis.call('del', 'k')", 0)
        p.run("EVAL_RO", "return redis.call('expire', 'k', 10)", 0)
        p.run("EVAL_RO", "return redis.call('flushall')", 0)
        p.run("GET", "k")
        sha = p.run("SCRIPT", "LOAD", "return redis.call('set', 'k', 'y')")
        p.run("EVALSHA_RO", sha, 0)
        p.run("GET", "k")
        # shebang scripts
        p.run("EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", 0)
        p.run("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", 0)
        p.run("EVAL_RO", "#!lua\nreturn 1", 0)
        p.run("EVAL_RO", "#!lua flags=no-writes\nreturn 1", 0)
        p.run("EVAL", "#!lua flags=no-writes,allow-oom\nreturn 2", 0)
        p.run("EVAL", "#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\nreturn 3", 0)
        p.run("EVAL", "#!lua flags=\nreturn 3", 0)
        p.run("EVAL", "#!lua flags=bad\nreturn 1", 0)
        p.run("EVAL", "#!lua flags=no-writes,bad\nreturn 1", 0)
        p.run("EVAL", "#!lua foo=bar\nreturn 1", 0)
        p.run("EVAL", "#!python\nreturn 1", 0)
        p.run("EVAL", "#!lua", 0)
        p.run("EVAL", "#!lua\nerror('line two')", 0)
        p.run("EVAL", "#!lua\nreturn KEYS[1]", 1, "key")
        p.run("EVAL", "#!lua\nreturn redis.call('set', 'shebang', 'w')", 0)
        p.run("GET", "shebang")


def test_script_cache_is_bounded_but_keeps_loaded_scripts():
    with Dredis() as s, s.client() as c:
        loaded = c.execute("SCRIPT", "LOAD", "return 'loaded'")
        first = c.execute("EVAL", "return redis.sha1hex(ARGV[1])", 0, "return 0")
        assert c.execute("EVAL", "return 0", 0) == 0
        for i in range(1, 520):
            assert c.execute("EVAL", "return %d" % i, 0) == i
        info = c.execute("INFO", "memory").decode()
        n = int(info.split("number_of_cached_scripts:")[1].split()[0])
        assert 500 <= n <= 502, n
        assert c.execute("EVALSHA", first, 0) == NOSCRIPT   # the oldest EVAL script went
        assert c.execute("EVALSHA", loaded, 0) == b"loaded"  # SCRIPT LOAD ones stay
        recent = c.execute("EVAL", "return redis.sha1hex(ARGV[1])", 0, "return 519")
        assert c.execute("EVALSHA", recent, 0) == 519


def test_info_reports_the_lua_engine():
    with Dredis() as s, s.client() as c:
        c.execute("SCRIPT", "LOAD", "return 1")
        c.execute("EVAL", "return 2", 0)
        info = c.execute("INFO", "memory").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        assert int(fields["number_of_cached_scripts"]) == 2
        assert int(fields["used_memory_lua"]) > 10000
        assert int(fields["used_memory_scripts_eval"]) > 0
        assert int(fields["dredis_lua_memory_limit"]) == 64 * 1024 * 1024
        c.execute("SCRIPT", "FLUSH")
        info = c.execute("INFO", "memory").decode()
        assert "number_of_cached_scripts:0\r\n" in info


def test_info_counts_each_lua_interpreter_apart():
    """As Redis 7.0: used_memory_lua / used_memory_vm_eval are EVAL's
    interpreter alone, used_memory_vm_functions the functions' one, and
    used_memory_vm_total both; used_memory_functions and used_memory_scripts
    the caches beside them. The field names and order are Redis's."""
    lib = "#!lua name=mylib\nredis.register_function('f', function(keys, args) return 1 end)"
    with Dredis() as s, s.client() as c, Redis() as r, r.client() as rc:
        def fields(cl):
            info = cl.execute("INFO", "memory").decode()
            return dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line), info
        f, info = fields(c)
        names = [l.split(":")[0] for l in info.split("\r\n") if l.startswith(("used_memory_lua", "used_memory_vm",
                 "used_memory_scripts", "used_memory_functions", "number_of_"))]
        rnames = [l.split(":")[0] for l in fields(rc)[1].split("\r\n") if l.startswith(("used_memory_lua",
                  "used_memory_vm", "used_memory_scripts", "used_memory_functions", "number_of_"))]
        assert names == rnames, (names, rnames)
        assert c.execute("FUNCTION", "LOAD", lib) == b"mylib"
        f, _ = fields(c)
        functions_vm = int(f["used_memory_vm_functions"])
        assert functions_vm > 10000 and int(f["used_memory_lua"]) == int(f["used_memory_vm_eval"]) == 0, f
        assert int(f["used_memory_vm_total"]) == functions_vm
        assert int(f["used_memory_functions"]) > len(lib) and int(f["used_memory_scripts"]) == \
            int(f["used_memory_functions"]) + int(f["used_memory_scripts_eval"])
        for _ in range(2000):  # loaded again and again: neither interpreter grows
            c.execute("FUNCTION", "LOAD", "REPLACE", lib)
            c.execute("FCALL", "f", 0)
        assert c.execute("EVAL", "return 1", 0) == 1
        f, _ = fields(c)
        eval_vm = int(f["used_memory_lua"])
        assert eval_vm > 10000 and int(f["used_memory_vm_functions"]) < functions_vm * 2, f
        assert int(f["used_memory_vm_total"]) == eval_vm + int(f["used_memory_vm_functions"]), f
        c.execute("SCRIPT", "FLUSH")  # EVAL's interpreter only
        f, _ = fields(c)
        assert int(f["used_memory_lua"]) == 0 and int(f["used_memory_vm_functions"]) > 10000, f


def test_command_info_for_scripting_commands():
    with Pair() as p:
        for name in ("eval", "evalsha", "eval_ro", "evalsha_ro", "script", "script|kill", "script|load",
                     "script|exists", "script|flush", "script|help", "script|debug"):
            d, r = p.both("COMMAND", "INFO", name)
            # name, arity, flags, first/last/step, ACL categories
            assert d[0][:7] == r[0][:7], (name, d[0][:7], r[0][:7])


# ---------------------------------------------------------------------------
# Sandbox
# ---------------------------------------------------------------------------

def test_scripts_cannot_create_or_read_undefined_globals():
    with Pair() as p:
        run_scripts(p, [
            "x = 1",
            "local function f() y = 1 end f()",
            "return undefined_thing",
            "local function f() return undefined_thing end return f()",
            "_G.x = 1",
            "_G['x'] = 1",
            "rawset(_G, 'x', 1)",
            "setmetatable(_G, nil)",
            "setmetatable(_G, {})",
            "local mt = getmetatable(_G) mt.__index = nil",
            "return rawget(_G, 'nosuch')",
            "return rawget(_G, 'redis') ~= nil",
            "return rawequal(_G, _G._G)",
            "return next(_G) ~= nil",
            "local n = 0 for k in pairs(_G) do n = n + 1 end return n > 20",
            "local t = {} for k in pairs(_G) do t[#t + 1] = k end table.sort(t) return t",
            "return type(getmetatable(_G))",
            "return getmetatable(redis)",
            "KEYS = {}",
            "function f() end",
            "local t = {} t.x = 1 return t.x",  # locals are fine
        ])


def test_libraries_are_read_only():
    with Pair() as p:
        run_scripts(p, [
            "redis.call = nil",
            "redis.call = function() return 'hijacked' end",
            "redis.newfield = 1",
            "string.sub = nil",
            "string.foo = 1",
            "rawset(string, 'sub', nil)",
            "table.insert(redis, 1)",
            "cjson.encode = nil",
            "cmsgpack.pack = nil",
            "struct.pack = nil",
            "bit.band = nil",
            "math.random = function() return 4 end",
            "math.pi = 3",
            "coroutine.wrap = nil",
            "getmetatable('').__index = {}",
            "local mt = getmetatable('') mt.x = 1",
            "setmetatable(getmetatable(''), {})",
            "return getmetatable('').__index == string",
            "return ('x'):upper()",
            "return redis.call('ping').ok",  # still intact
        ])


def test_no_files_os_modules_or_debugger():
    with Pair() as p:
        run_scripts(p, [
            "return os.execute('touch /tmp/dredis-escape')",
            "return os.getenv('HOME')",
            "return io.open('/etc/passwd')",
            "return io.popen('id')",
            "return require('os')",
            "return dofile('/etc/passwd')",
            "return loadfile('/etc/passwd')",
            "return package.loadlib('libc.so.6', 'system')",
            "return debug.getinfo(1)",
            "return debug.sethook()",
            "return print('x')",
            "return setfenv(1, {})",
            "return getfenv(1)",
            "return module('x')",
            "return newproxy(true)",
            "return utf8.char(72)",
            "return rawlen({})",
            "return warn('x')",
            "return bit32",
            "return collectgarbage('count') > 0",
            "return gcinfo() > 0",
            "return _VERSION",
            "local t = {} for k in pairs(string) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(table) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(math) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(coroutine) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(cjson) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(cmsgpack) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(struct) do t[#t + 1] = k end table.sort(t) return t",
            "local t = {} for k in pairs(bit) do t[#t + 1] = k end table.sort(t) return t",
        ])
    assert not os.path.exists("/tmp/dredis-escape")


def test_loadstring_runs_text_but_not_compiled_code():
    with Pair() as p:
        run_scripts(p, [
            "return loadstring('return 1 + 1')()",
            "return loadstring('return KEYS[1]')()",
            "return loadstring('x = 5')()",
            "local f, e = loadstring('return +') return {tostring(f), e}",
            "local f = loadstring(string.dump(function() return 1 end)) return tostring(f)",
            "return load('return 7')",
            "local parts = {'return ', '42'} local i = 0 "
            "return load(function() i = i + 1 return parts[i] end)()",
            "return type(string.dump(function() end))",
        ])
    # the refusal's wording differs (Lua 5.1 failed to parse it, 5.4 refuses binary chunks)
    with Dredis() as s, s.client() as c:
        r = c.execute("EVAL", "local f, e = loadstring(string.dump(function() return 1 end)) return e", 0)
        assert b"binary chunk" in r, r


def test_keys_cannot_reach_files_outside_root_dir():
    outside = tempfile.mkdtemp(prefix="dredis-outside-")
    try:
        with Dredis() as s, s.client() as c:
            target = os.path.relpath(os.path.join(outside, "escaped"), s.db_dir(0))
            assert c.execute("EVAL", "return redis.call('set', KEYS[1], 'x')", 1, target) == "OK"
            assert c.execute("EVAL", "return redis.call('set', KEYS[1], 'x')", 1, "/etc/dredis-abs") == "OK"
            assert c.execute("EVAL", "return redis.call('get', KEYS[1])", 1, target) == b"x"
            assert os.listdir(outside) == []
            assert not os.path.exists("/etc/dredis-abs")
    finally:
        os.rmdir(outside)


def test_finalizers_never_run():
    """Tables had no __gc in Lua 5.1: a finalizer could otherwise run
    outside any script, with no time limit."""
    with Dredis(env={"DREDIS_LUA_TIME_LIMIT": "200"}) as s, s.client() as c:
        script = ("local t = setmetatable({}, {__gc = function() while true do end end}) t = nil "
                  "collectgarbage() collectgarbage() return type(getmetatable(setmetatable({}, {__gc = 1})).__gc)")
        assert c.execute("EVAL", script, 0) == b"number"
        for _ in range(60):  # plenty of GC steps afterwards
            assert c.execute("EVAL", "local t = {} for i = 1, 1000 do t[i] = {} end return #t", 0) == 1000
        assert c.execute("EVAL", "collectgarbage() return 'done'", 0) == b"done"
        c.execute("SCRIPT", "FLUSH")  # closing the interpreter does not run them either
        assert c.execute("PING") == "PONG"


# ---------------------------------------------------------------------------
# Lua 5.1 compatibility
# ---------------------------------------------------------------------------

def test_lua51_functions_match_redis():
    with Pair() as p:
        run_scripts(p, [
            "return unpack({1, 2, 3}, 2)",
            "return {unpack({1, 2, 3}, 2, 3)}",
            "return select('#', unpack({}, 1, 3))",
            "return table.getn({1, 2, 3})",
            "return table.maxn({[1] = 1, [10] = 2, x = 3})",
            "return table.foreach({10}, function(k, v) return k + v end)",
            "return table.foreachi({5, 6}, function(i, v) if v == 6 then return i end end)",
            "return {math.mod(7, 3), math.pow(2, 10), math.log10(1000), math.ldexp(0.5, 4)}",
            "return {math.frexp(8)}",
            "return {math.floor(-3.5), math.ceil(3.2), math.abs(-4), math.max(1, 5, 3), math.fmod(7, 3)}",
            "return tostring(math.atan2(1, 1))",
            "return tostring(math.cosh(1)) .. tostring(math.sinh(1)) .. tostring(math.tanh(1))",
            "return tostring(math.log(8, 2))",
            "local r = {} for w in string.gfind('a b c', '%a') do r[#r + 1] = w end return r",
            "return {string.byte('ABC', 1, 3)}",
            "return {string.find('hello world', 'o w')}",
            "return {string.match('key:123', '(%a+):(%d+)')}",
            "return {string.gsub('hello', 'l', 'L')}",
            "return {tonumber('0x10'), tonumber('10', 2), tonumber('  5  '), tonumber('z', 36), tonumber('x')}",
            "local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end) "
            "local _, v1 = coroutine.resume(co, 1) local _, v2 = coroutine.resume(co, 10) "
            "return {v1, v2, coroutine.status(co)}",
            "return coroutine.wrap(function() coroutine.yield(5) end)()",
            "local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}) return t.foo",
            "local t = setmetatable({}, {__tostring = function() return 'TT' end}) return tostring(t)",
            "local t = setmetatable({}, {__metatable = 'locked'}) return getmetatable(t)",
            "local t = setmetatable({}, {__metatable = 'locked'}) return setmetatable(t, {})",
            "return select(-1, 1, 2, 3)",
            "return string.format('%q', 'a\\nb')",
            "return string.format('%5s|%-5s|%05d|%x|%X|%o|%e|%g|%c', 'a', 'b', 42, 255, 255, 8, 12345.678, 0.0001, 65)",
        ])


def test_numbers_print_as_in_lua51():
    with Pair() as p:
        run_scripts(p, [
            "return tostring(10 / 2)",
            "return tostring(7 / 2)",
            "return tostring(2^10)",
            "return tostring(3 * 1.0)",
            "return tostring(0.1)",
            "return tostring(1e15)",
            "return tostring(1e16)",
            "return tostring(2^53)",
            "return tostring(-0.0)",
            "return tostring(12)",
            "return tostring(1/3)",
            "return tostring(tonumber('1e2'))",
            "return string.format('%s %s %s', 1, 1.5, 4 / 2)",
            "return string.format('%d %i', 3.7, -3.7)",
            "return string.format('%d', 2^31)",
            "return string.format('%.3f', 2 / 3)",
            "return string.format('%5.1f|%x', 2.25, 255.0)",
            "return table.concat({1, 2.5, 3.0, 'x', 10 / 5}, ',')",
            "return table.concat({}, ',')",
            "return table.concat({1, {}}, ',')",
            "return 'id:' .. cjson.decode('{\"id\":42}').id",
            "return tostring(cjson.decode('12'))",
            "return {10 / 2, 7 / 2, 2^10, 7 % 3, -7 % 3, 7.5 % 2}",
        ])


def test_math_random_sequence_matches_redis():
    """Redis 7.0 does not reseed math.random per script: a fresh server gives
    the same sequence across scripts, and randomseed() restarts it."""
    with Pair() as p:
        run_scripts(p, [
            "return math.random(1000000)",
            "return {math.random(1000000), math.random(1000000), math.random(5, 10)}",
            "return tostring(math.random())",
            "return math.random(100)",
            "math.randomseed(42) return {math.random(1000000), math.random(1000000)}",
            "return math.random(-5, 5)",
            "math.randomseed(0) return math.random(1000)",
            "return math.random(3, 3)",
            "return math.random(5, 4)",
            "return math.randomseed()",
        ])
        p.run("SCRIPT", "FLUSH")
        p.run("EVAL", "return math.random(1000000)", 0)


# ---------------------------------------------------------------------------
# Libraries
# ---------------------------------------------------------------------------

def test_cjson_matches_redis():
    with Pair() as p:
        run_scripts(p, [
            "return cjson.encode({1, 2, 3, 'a', true, false})",
            "return cjson.encode({a={b={c=1}}})",
            "return cjson.encode({})",
            "return cjson.encode(cjson.null)",
            "return cjson.encode({1.5, 0.1, 1e20, 12345678901234, -0.0})",
            "return cjson.encode('a\"b\\\\c\\n\\t/\\1')",
            "return cjson.encode({[1]=1, [2]=2, [4]=4})",
            "return cjson.encode({[1]=1, [2]=2, [20]=4})",
            "return cjson.encode(0/0)",
            "return cjson.encode(function() end)",
            "return cjson.encode({[true]=1})",
            "local t = {} t[1] = t return cjson.encode(t)",
            "return cjson.encode()",
            "local t = cjson.decode('{\"a\":[1,2,{\"b\":null}],\"c\":\"x\",\"d\":1.5,\"e\":true}') "
            "return {t.a[1], t.a[2], tostring(t.a[3].b == cjson.null), t.c, tostring(t.d), tostring(t.e)}",
            "local t = cjson.decode('[1,2,3]') return {#t, t[1] + t[3]}",
            "return cjson.decode('\"x\"')",
            "return cjson.decode('12')",
            "return cjson.decode('[1e2]')[1]",
            "return cjson.encode(cjson.decode('[1.0, 2.5, -0, 100000000000000, 1e300]'))",
            "return cjson.decode(cjson.encode({1, {2, {3}}}))[2][2][1]",
            "return cjson.decode('{')",
            "return cjson.decode('[1,2')",
            "return cjson.decode('nul')",
            "return cjson.decode()",
            "return cjson.encode(cjson.decode('{\"k\":\"v\"}'))",
            "return cjson.encode_keep_buffer == nil",
        ])


def test_cjson_round_trip_of_job_data():
    """The round trip job queues do: JSON in ARGV, fields read in the script,
    JSON stored and returned."""
    job = '{"id":"17","name":"email","data":{"to":"a@b.c","tries":3,"ratio":0.25,"tags":["x","y"]},"delay":0}'
    script = """
        local job = cjson.decode(ARGV[1])
        job.data.tries = job.data.tries + 1
        job.processedOn = tonumber(ARGV[2])
        redis.call('set', KEYS[1] .. ':' .. job.id, cjson.encode(job))
        local back = cjson.decode(redis.call('get', KEYS[1] .. ':' .. job.id))
        return {back.id, back.name, back.data.tries, back.data.tags[2], tostring(back.data.ratio),
                back.processedOn, KEYS[1] .. ':' .. back.data.tries}
    """
    with Pair() as p:
        p.run("EVAL", script, 1, "bull:q", job, "1700000000000")


def test_cmsgpack_matches_redis():
    with Pair() as p:
        run_scripts(p, [
            "return cmsgpack.pack(1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -1, -32, -33, "
            "-128, -129, -32768, -32769, -2147483648, -2147483649)",
            "return cmsgpack.pack(0.5, 0.1, 1.5, -2.25, 1e300, 1/0, -1/0, 3.0)",
            "return cmsgpack.pack('', 'abc', string.rep('x', 31), string.rep('y', 32), string.rep('z', 255), "
            "string.rep('w', 256), string.rep('v', 70000))",
            "return cmsgpack.pack(true, false, nil, {}, {1, 2, 3}, {a=1}, function() end)",
            "return cmsgpack.pack({1, {2, {3, {4}}}}, {[1]='a', [3]='c'})",
            "local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)",
            "local t = {} for i = 1, 70000 do t[i] = i % 7 end return cmsgpack.pack(t)",
            "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)",
            "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, 2}, true))}",
            "local a, b, c = cmsgpack.unpack(cmsgpack.pack(1, 2, 3)) return {a, b, c}",
            "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
            "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
            "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
            "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
            "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}",
            "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 0)}",
            "local t = cmsgpack.unpack(cmsgpack.pack({a=1, b={c='d'}})) return {t.a, t.b.c}",
            "return tostring(cmsgpack.unpack(cmsgpack.pack(0.5)))",
            "return tostring(cmsgpack.unpack('\\203\\63\\185\\153\\153\\153\\153\\153\\154'))",
            "return cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')",
            "return cmsgpack.unpack('\\211\\255\\255\\255\\255\\255\\255\\255\\255')",
            "return cmsgpack.unpack('\\218\\0\\3abc')",
            "return cmsgpack.unpack('\\220\\0\\2\\1\\2')",
            "return cmsgpack.unpack('\\222\\0\\1\\161k\\161v').k",
            "return cmsgpack.unpack('\\196\\3abc')",
            "return cmsgpack.unpack('\\193')",
            "return cmsgpack.unpack('\\205\\1')",
            "return cmsgpack.unpack('\\145')",
            "return cmsgpack.unpack('\\129\\192\\1')",
            "return cmsgpack.unpack_one('abc', -1)",
            "return cmsgpack.unpack_one('abc', 10)",
            "return cmsgpack.pack()",
            "return cmsgpack.unpack()",
            "return cmsgpack.unpack(12)",
        ])


def test_struct_matches_redis():
    with Pair() as p:
        run_scripts(p, [
            "return struct.pack('>I2', 258)",
            "return struct.pack('<i4', -2)",
            "return struct.pack('>bBhHlLT', -1, 255, -2, 65535, -3, 7, 9)",
            "return struct.pack('!4 b i4', 1, 2)",
            "return struct.pack('>d', 1.5) .. struct.pack('<f', -0.25)",
            "return struct.pack('s', 'abc')",
            "return struct.pack('c3', 'abcdef')",
            "return struct.pack('c0', 'abcdef')",
            "return struct.pack('c5', 'ab')",
            "return struct.pack('x')",
            "return struct.pack('y', 1)",
            "return struct.pack('i40', 1)",
            "return struct.pack('!3 i', 1)",
            "return struct.pack('>i3', -1)",
            "return struct.pack('>I', 1.9)",
            "return {struct.unpack('>I2', '\\1\\2')}",
            "return {struct.unpack('<i4', struct.pack('<i4', -2))}",
            "return {struct.unpack('>bBhHlL', struct.pack('>bBhHlL', -1, 255, -2, 65535, -3, 7))}",
            "return {struct.unpack('s', 'abc\\0def')}",
            "return {struct.unpack('B c0', '\\3abcdef')}",
            "return {struct.unpack('c2', 'abcdef', 3)}",
            "return {struct.unpack('>I4', 'ab')}",
            "return {struct.unpack('>I2', 'abcd', 0)}",
            "return {struct.unpack('s', 'abc')}",
            "return {struct.unpack('c0', 'abc')}",
            "return {struct.unpack('>i3', '\\255\\255\\254')}",
            "return {struct.unpack('>I8', '\\0\\0\\0\\0\\255\\255\\255\\255')}",
            "return tostring(struct.unpack('>d', struct.pack('>d', 1.5)))",
            "return tostring(struct.unpack('<f', struct.pack('<f', 0.1)))",
            "return struct.size('>i4 h b')",
            "return struct.size('!8 b d')",
            "return struct.size('s')",
            "return struct.size('c0')",
            # a round trip of a record
            "local s = struct.pack('>I4 c5 d h', 7, 'hello', 2.5, -3) return {struct.unpack('>I4 c5 d h', s)}",
        ])


def test_bit_matches_redis():
    with Pair() as p:
        run_scripts(p, [
            "return {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(-1), bit.tobit(1.5), bit.tobit(2.5), "
            "bit.tobit(-2.5)}",
            "return {bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(5, 3, 1), bit.bnot(0), bit.bnot(-1)}",
            "return {bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.rshift(-1, 28), "
            "bit.arshift(-256, 4), bit.arshift(256, 4), bit.rshift(0x80000000, 31)}",
            "return {bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.rol(1, 0), bit.ror(1, 32), "
            "bit.bswap(0x12345678)}",
            "return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -4), "
            "bit.tohex(0x12345678, 12), bit.tohex(1, 0)}",
            "return {bit.tobit(2^53), bit.tobit(-2^53 + 3), bit.tobit(1e20), bit.tobit(0/0)}",
            "return bit.band('12', 4)",
            "return bit.band('x')",
            "return bit.band()",
        ])
        # a 32-bit hash as scripts compute them (djb2)
        p.run("EVAL", "local h = 5381 for i = 1, #ARGV[1] do h = bit.band(bit.lshift(h, 5) + h + ARGV[1]:byte(i), "
              "0xffffffff) end return {h, bit.tohex(h)}", 0, "some key to hash")


# ---------------------------------------------------------------------------
# Scripts real applications run
# ---------------------------------------------------------------------------

RATE_LIMITER = """
local current = redis.call('INCR', KEYS[1])
if current == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
if current > tonumber(ARGV[2]) then
  return {0, current}
end
return {1, current}
"""

# GCRA (as redis-gcra / go-redis/redis_rate), with "now" passed in instead of
# TIME so that both servers compute the same thing.
GCRA = """
redis.replicate_commands()
local rate_limit_key = KEYS[1]
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local emission_interval = period / rate
local increment = emission_interval * cost
local burst_offset = emission_interval * burst
local tat = redis.call("GET", rate_limit_key)
if not tat then tat = now else tat = tonumber(tat) end
tat = math.max(tat, now)
local new_tat = tat + increment
local allow_at = new_tat - burst_offset
local diff = now - allow_at
local remaining = diff / emission_interval
if remaining < 0 then
  return {0, 0, tostring(diff * -1), tostring(tat - now)}
end
local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", rate_limit_key, new_tat, "EX", math.ceil(reset_after))
end
return {cost, math.floor(remaining), tostring(-1), tostring(reset_after)}
"""


def test_rate_limiter_scripts():
    with Pair() as p:
        for _ in range(5):
            p.run("EVAL", RATE_LIMITER, 1, "rl:user1", 60000, 3)
        assert p.run("EVAL", RATE_LIMITER, 1, "rl:user2", 60000, 3) == [1, 1]
        ttl = p.d.execute("PTTL", "rl:user1")
        assert 0 < ttl <= 60000
        now = 1700000000.5
        for i in range(8):
            p.run("EVAL", GCRA, 1, "gcra:k", 5, 10, 1, 1, repr(now + i * 0.01))
        p.run("GET", "gcra:k")
        p.run("EVAL", GCRA, 1, "gcra:k", 5, 10, 1, 1, repr(now + 60))
        p.run("GET", "gcra:k")


LOCK_RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1])
else
  return 0
end
"""

LOCK_EXTEND = """
if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("pexpire", KEYS[1], ARGV[2])
else
  return 0
end
"""


def test_lock_acquire_extend_release():
    with Pair() as p:
        p.run("SET", "lock:res", "token-a", "NX", "PX", 30000)
        p.run("SET", "lock:res", "token-b", "NX", "PX", 30000)
        p.run("EVAL", LOCK_EXTEND, 1, "lock:res", "token-b", 60000)   # not the owner
        p.run("EVAL", LOCK_EXTEND, 1, "lock:res", "token-a", 60000)
        assert 30000 < p.d.execute("PTTL", "lock:res") <= 60000
        p.run("EVAL", LOCK_RELEASE, 1, "lock:res", "token-b")          # not the owner
        p.run("GET", "lock:res")
        p.run("EVAL", LOCK_RELEASE, 1, "lock:res", "token-a")
        p.run("EXISTS", "lock:res")
        p.run("EVAL", LOCK_RELEASE, 1, "lock:res", "token-a")          # already gone
        sha = p.run("SCRIPT", "LOAD", LOCK_RELEASE)
        p.run("SET", "lock:res", "token-c")
        p.run("EVALSHA", sha, 1, "lock:res", "token-c")


def test_script_runs_atomically():
    """Another client never sees the state between two writes of a script."""
    script = """
        redis.call('set', KEYS[1], 'intermediate')
        local x = 0
        for i = 1, 3000000 do x = x + i end
        redis.call('set', KEYS[1], 'final')
        return x
    """
    with Dredis() as s, s.client() as a, s.client() as b:
        seen = set()
        done = threading.Event()

        def reader():
            with s.client() as r:
                while not done.is_set():
                    seen.add(r.execute("GET", "k"))

        t = threading.Thread(target=reader)
        t.start()
        try:
            for _ in range(3):
                assert a.execute("EVAL", script, 1, "k") == 4500001500000
                a.execute("DEL", "k")
        finally:
            done.set()
            t.join()
        assert b"intermediate" not in seen, seen
        assert seen <= {None, b"final"}, seen


# ---------------------------------------------------------------------------
# Time limit
# ---------------------------------------------------------------------------

def test_busy_script_then_script_kill():
    with Dredis(env=busy_env()) as s, s.client() as a, s.client() as b:
        assert b.execute("SCRIPT", "KILL") == RespError("NOTBUSY No scripts in execution right now.")
        a.send("EVAL", "local i = 0 while true do i = i + 1 end", 0)
        wait_busy(b)
        for cmd in (("GET", "x"), ("SET", "x", "1"), ("EVAL", "return 1", 0), ("SCRIPT", "LOAD", "return 1"),
                    ("SCRIPT", "FLUSH"), ("INFO",), ("SHUTDOWN",), ("SHUTDOWN", "NOW")):
            assert b.execute(*cmd) == BUSY, cmd
        # errors found before the busy check are still reported
        assert b.execute("NOSUCH") == RespError("ERR unknown command 'NOSUCH', with args beginning with: ")
        assert b.execute("GET") == RespError("ERR wrong number of arguments for 'get' command")
        assert b.execute("SCRIPT", "KILL", "x") == RespError(
            "ERR wrong number of arguments for 'script|kill' command")
        # a connection made while the script runs is served too
        with s.client() as late:
            assert late.execute("PING") == BUSY
        assert b.execute("SCRIPT", "KILL") == "OK"
        r = a.read_reply()
        assert r == RespError("ERR Script killed by user with SCRIPT KILL... script: "
                              "3fcf51a9b854b8f66cb8685600b0d7df968f4398, on @user_script:1."), r
        assert b.execute("PING") == "PONG"
        assert a.execute("PING") == "PONG"
        assert b.execute("SCRIPT", "KILL") == RespError("NOTBUSY No scripts in execution right now.")
        assert "Slow script detected" in s.output()


def test_busy_texts_match_redis():
    """The caller's error after SCRIPT KILL, as Redis words it."""
    with Pair() as p:
        p.r.execute("CONFIG", "SET", "busy-reply-threshold", "200")
        p.dredis.stop()
        p.dredis.env.update(busy_env())
        p.dredis.start()
        p.d = p.dredis.client()
        script = "local n = 0 while true do local ok = pcall(function() while true do end end) n = n + 1 end"
        replies = []
        for server in (p.dredis, p.redis):
            with server.client() as a, server.client() as b:
                a.send("EVAL", script, 0)
                wait_busy(b)
                assert b.execute("SCRIPT", "KILL") == "OK"
                replies.append(a.read_reply())
                assert a.execute("PING") == "PONG"
        assert replies[0] == replies[1], replies


def test_caller_pipelined_commands_wait_for_the_script():
    with Dredis(env=busy_env()) as s, s.client() as a, s.client() as b:
        a.send_raw(encode_command(["EVAL", "while true do end", 0]) + encode_command(["PING"]) +
                   encode_command(["SET", "after", "1"]))
        wait_busy(b)
        assert b.execute("EXISTS", "after") == BUSY
        assert b.execute("SCRIPT", "KILL") == "OK"
        assert isinstance(a.read_reply(), RespError)
        assert a.read_reply() == "PONG"
        assert a.read_reply() == "OK"
        assert b.execute("GET", "after") == b"1"


def test_eval_ro_script_can_be_killed():
    with Dredis(env=busy_env()) as s, s.client() as a, s.client() as b:
        a.send("EVAL_RO", "redis.call('get', 'x') while true do end", 0)
        wait_busy(b)
        assert b.execute("SCRIPT", "KILL") == "OK"
        assert isinstance(a.read_reply(), RespError)


def test_writing_script_is_unkillable_then_shutdown_nosave():
    with Dredis(env=busy_env()) as s, s.client() as a, s.client() as b:
        a.send("EVAL", "redis.call('set', 'w', '1') while true do end", 0)
        wait_busy(b)
        assert b.execute("SCRIPT", "KILL") == UNKILLABLE
        assert b.execute("SHUTDOWN") == BUSY
        assert b.execute("SHUTDOWN", "SAVE") == BUSY
        b.send("SHUTDOWN", "NOSAVE")
        assert s.proc.wait(timeout=30) == 0
        try:
            r = b.read_reply()
        except (ConnectionClosed, OSError):
            r = None
        assert r is None, r


def test_a_failed_write_still_makes_the_script_unkillable():
    """As Redis: calling a write command marks the script, even if it failed."""
    with Dredis(env=busy_env()) as s, s.client() as a, s.client() as b:
        b.execute("SET", "s", "abc")
        a.send("EVAL", "redis.pcall('incr', 's') while true do end", 0)
        wait_busy(b)
        assert b.execute("SCRIPT", "KILL") == UNKILLABLE
        b.send("SHUTDOWN", "NOSAVE")
        assert s.proc.wait(timeout=30) == 0


def test_fast_scripts_never_see_busy():
    with Dredis(env=busy_env()) as s, s.client() as c:
        for i in range(50):
            assert c.execute("EVAL", "local x = 0 for i = 1, 1000 do x = x + i end return x", 0) == 500500
        assert "Slow script" not in s.output()


# ---------------------------------------------------------------------------
# Memory limit and configuration
# ---------------------------------------------------------------------------

def test_memory_limit_gives_a_clean_error():
    with Dredis(env={"DREDIS_LUA_MEMORY_LIMIT": str(4 * 1024 * 1024)}) as s, s.client() as c:
        for script in ("local t = {} for i = 1, 1e8 do t[i] = i end return #t",
                       "return #string.rep('x', 10 * 1024 * 1024)",
                       "local s = 'x' for i = 1, 40 do s = s .. s end return #s",
                       "local t = {} for i = 1, 100 do t[i] = string.rep(tostring(i), 100000) end return #t"):
            r = c.execute("EVAL", script, 0)
            assert isinstance(r, RespError), r
            assert "not enough memory" in r.message and "DREDIS_LUA_MEMORY_LIMIT" in r.message, r
        # the script can catch it
        r = c.execute("EVAL", "local ok, e = pcall(string.rep, 'x', 10 * 1024 * 1024) return {tostring(ok), e}", 0)
        assert r == [b"false", b"not enough memory"], r
        # a big reply from a command is refused the same way
        c.execute("SET", "big", "y" * (5 * 1024 * 1024))
        r = c.execute("EVAL", "return #redis.call('get', 'big')", 0)
        assert isinstance(r, RespError) and "not enough memory" in r.message, r
        # and everything is fine afterwards
        assert c.execute("EVAL", "return redis.call('strlen', 'big')", 0) == 5 * 1024 * 1024
        assert c.execute("EVAL", "local t = {} for i = 1, 1000 do t[i] = i end return #t", 0) == 1000
        info = c.execute("INFO", "memory").decode()
        used = int(info.split("used_memory_lua:")[1].split()[0])
        assert used < 4 * 1024 * 1024, used


def test_lua_settings_are_validated():
    for var, value in (("DREDIS_LUA_TIME_LIMIT", "0"), ("DREDIS_LUA_TIME_LIMIT", "abc"),
                       ("DREDIS_LUA_TIME_LIMIT", "-5"), ("DREDIS_LUA_MEMORY_LIMIT", "1000"),
                       ("DREDIS_LUA_MEMORY_LIMIT", "lots")):
        root = tempfile.mkdtemp(prefix="dredis-cfg-")
        try:
            env = dict(os.environ, ROOT_DIR=root, DREDIS_PORT="1", **{var: value})
            r = subprocess.run([DREDIS_SERVER], env=env, capture_output=True, timeout=30)
            assert r.returncode != 0, (var, value)
            assert var in r.stderr.decode(), r.stderr
        finally:
            os.rmdir(root) if not os.listdir(root) else None
    with Dredis(env={"DREDIS_LUA_TIME_LIMIT": "100", "DREDIS_LUA_MEMORY_LIMIT": "2097152"}) as s:
        assert "ignoring unknown setting DREDIS_LUA" not in s.output()
        with s.client() as c:
            assert "dredis_lua_memory_limit:2097152" in c.execute("INFO", "memory").decode()


# ---------------------------------------------------------------------------
# Scripts and the rest of the server
# ---------------------------------------------------------------------------

def test_replies_to_a_resp3_caller_match_redis():
    with Pair() as p:
        p.both("HELLO", "3")
        p.run("SET", "s", "abc")
        run_scripts(p, [
            "return {1, 'x', {2}}",
            "return {1, false, 3}",
            "return false",
            "return nil",
            "return true",
            "return {ok='x'}",
            "return {err='E x'}",
            "return {double=2.5}",
            "return {map={a={1, 2}, b={map={c=true}}}}",
            "return {set={a=true}}",
            "return {big_number='123'}",
            "return {verbatim_string={format='txt', string='v'}}",
            "redis.setresp(3) return {true, false, nil}",
            "redis.setresp(3) return redis.call('incrbyfloat', 'f', '1.5')",
            "redis.setresp(3) local r = redis.call('command', 'docs', 'get') return r.map.get.map.since",
            "return redis.call('get', 's')",
        ])


def test_scripts_inside_multi_and_watch():
    with Pair() as p:
        p.run("MULTI")
        p.run("EVAL", "return redis.call('incr', 'm')", 0)
        p.run("SET", "x", "1")
        p.run("EVAL", "return redis.call('get', 'x')", 0)
        p.run("EXEC")
        # a script's write to a WATCHed key aborts the transaction
        p.run("WATCH", "w")
        p.run("EVAL", "return redis.call('set', 'w', 'by script')", 0)
        p.run("MULTI")
        p.run("SET", "w", "by exec")
        p.run("EXEC")
        p.run("GET", "w")


def test_monitor_sees_the_script_then_its_commands():
    with Dredis() as s, s.client() as m, s.client() as c:
        assert m.execute("MONITOR") == "OK"
        assert c.execute("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v") == "OK"
        first, second = m.read_reply(), m.read_reply()
        assert '"EVAL" "return redis.call(\'set\', KEYS[1], ARGV[1])" "1" "k" "v"' in first, first
        assert second.endswith('[0 lua] "set" "k" "v"'), second


def test_blocked_clients_are_not_served_while_a_script_runs():
    """A BLPOP waiter must not get what a script pushes and pops again, even
    when other clients are served because the script is past its limit."""
    script = """
        redis.call('rpush', KEYS[1], 'transient')
        local start = redis.call('time')
        while true do
          local now = redis.call('time')
          if (now[1] - start[1]) * 1000000 + (now[2] - start[2]) > 2000000 then break end
        end
        return redis.call('lpop', KEYS[1])
    """
    with Dredis(env=busy_env()) as s, s.client() as waiter, s.client() as a, s.client() as b:
        waiter.send("BLPOP", "q", 0)
        wait_until(lambda: b"blocked_clients:1" in b.execute("INFO", "clients"), what="BLPOP to block")
        a.send("EVAL", script, 1, "q")
        wait_busy(b)
        assert a.read_reply() == b"transient"
        assert b.execute("RPUSH", "q", "real") == 1
        assert waiter.read_reply() == [b"q", b"real"]


def test_a_script_feeds_waiting_clients_when_it_ends():
    with Pair() as p:
        for server, client in ((p.dredis, p.d), (p.redis, p.r)):
            with server.client() as waiter:
                waiter.send("BLPOP", "q2", 0)
                wait_until(lambda: b"blocked_clients:1" in client.execute("INFO", "clients"),
                           what="BLPOP to block")
                assert client.execute("EVAL", "redis.call('rpush', KEYS[1], 'a', 'b') "
                                      "return redis.call('llen', KEYS[1])", 1, "q2") == 2
                assert waiter.read_reply() == [b"q2", b"a"]
        p.run("LRANGE", "q2", 0, -1)


# ---------------------------------------------------------------------------
# Table order across processes (the vendored Lua's constant hash seed)
# ---------------------------------------------------------------------------

# cjson.encode of 50 string keys, and the keys in pairs() order
ORDER_SCRIPT = """
local t = {}
for i = 1, 50 do t['field:' .. i] = i end
local keys = {}
for k in pairs(t) do keys[#keys + 1] = k end
return {cjson.encode(t), table.concat(keys, ',')}
"""


def memory_layout(pid):
    """Where the process's executable and stack were mapped (ASLR moves them)."""
    with open("/proc/%d/maps" % pid) as f:
        lines = f.read().splitlines()
    stack = [line.split("-")[0] for line in lines if line.endswith("[stack]")]
    return lines[0].split("-")[0], tuple(stack)


def test_small_tables_are_visited_in_redis_order():
    """With the string hash seeded 0 (deps/lua_user.h), Lua 5.4 hashes short
    strings as Redis's 5.1 does: objects of a few string keys encode to
    Redis's bytes (cjson, cmsgpack), pairs() visits them in its order."""
    scripts = [
        "return cjson.encode({a=1,b=2,c=3,name='x',value='y',id=5})",
        "return cjson.encode({foo='bar', baz={1,2,3}, qux={hello='world', abc=1, zzz=2}})",
        "local t = {} for _, k in ipairs({'user','email','created','score','tags','active'}) do t[k] = k end "
        "local o = {} for k in pairs(t) do o[#o + 1] = k end return table.concat(o, ',')",
        # the official suite's "cmsgpack can pack and unpack circular references?"
        "local a = {x=nil,y=5} local b = {x=a} a['x'] = b local e = cmsgpack.pack(a) local h = '' "
        "for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h",
        "return cmsgpack.pack({status='ok', count=3, items={'a','b'}})",
    ]
    with Pair() as p:
        p.run_many([("EVAL", s, "0") for s in scripts])


def test_table_order_is_the_same_after_a_restart_and_in_another_process():
    with Dredis() as a, Dredis() as b:
        first = a.client().execute("EVAL", ORDER_SCRIPT, 0)
        layouts = {memory_layout(a.proc.pid)}
        # the same interpreter state answers the same
        assert a.client().execute("EVAL", ORDER_SCRIPT, 0) == first
        for _ in range(3):
            a.restart()
            layouts.add(memory_layout(a.proc.pid))
            assert a.client().execute("EVAL", ORDER_SCRIPT, 0) == first
        layouts.add(memory_layout(b.proc.pid))
        assert b.client().execute("EVAL", ORDER_SCRIPT, 0) == first
        # SCRIPT FLUSH starts a new interpreter state: same order
        a.client().execute("SCRIPT", "FLUSH")
        assert a.client().execute("EVAL", ORDER_SCRIPT, 0) == first
        # the processes had their code and stack at different addresses
        # (ASLR), which stock Lua 5.4 mixes into its seed: the order did
        # not follow them
        with open("/proc/sys/kernel/randomize_va_space") as f:
            if f.read().strip() != "0":
                assert len(layouts) == 5, layouts
    # the order is a property of the build (a change of seed or of Lua
    # version shows here), and cjson.encode follows it
    keys = first[1].split(b",")
    assert keys[:5] == [b"field:28", b"field:17", b"field:27", b"field:26", b"field:39"], keys
    assert sorted(keys) == sorted(b"field:%d" % i for i in range(1, 51))
    assert first[0] == b"{" + b",".join(b'"%s":%s' % (k, k[6:]) for k in keys) + b"}"



def test_error_stats_of_script_commands_as_redis():
    """A script's command that fails counts once in INFO errorstats and
    total_error_replies, where it failed: refused ones too (an unknown
    command, a write in EVAL_RO) even when pcall swallows them, and the
    script's own error reply made from it does not count again (its
    failed_calls does)."""
    cases = [("EVAL", "return redis.call('incr', KEYS[1])", "1", "s"),
             ("EVAL", "return redis.pcall('incr', KEYS[1])", "1", "s"),
             ("EVAL", "local t = redis.pcall('incr', KEYS[1]) return 1", "1", "s"),
             ("EVAL", "return redis.call('nosuch')", "0"),
             ("EVAL", "local t = redis.pcall('nosuch') return 1", "0"),
             ("EVAL_RO", "local t = redis.pcall('set', KEYS[1], 1) return 1", "1", "s"),
             ("EVAL", "return redis.pcall('get', KEYS[1], 'extra')", "1", "s"),
             ("EVAL", "return {err='My error'}", "0"),
             ("EVAL", "return {err='My error', ignore_error_stats_update=true}", "0")]
    keep = ("calls", "rejected_calls", "failed_calls")
    with Pair() as p:
        p.run("SET", "s", "x")
        for case in cases:
            p.run("CONFIG", "RESETSTAT")
            p.run(*case)
            got = []
            for c in (p.d, p.r):
                errors = info_map(c, "errorstats")
                total = info_map(c, "stats")["total_error_replies"]
                cmds = {k: [f for f in v.split(",") if f.split("=")[0] in keep]
                        for k, v in info_map(c, "commandstats").items() if k != "cmdstat_config"}
                got.append((errors, total, cmds))
            assert got[0] == got[1], (case, got)
