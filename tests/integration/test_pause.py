"""CLIENT PAUSE / CLIENT UNPAUSE, compared with a real redis-server 7.0.15
(processCommand in src/server.c and tests/unit/pause.tcl).

A WRITE pause holds (postpones until the pause ends) every command whose
flags include WRITE or MAY_REPLICATE: writes, PFCOUNT, PUBLISH, SPUBLISH,
EVAL/EVALSHA of scripts without a shebang, `#!lua` scripts without
no-writes, and EXEC of a transaction that queued one of those. Read-only
commands, EVAL_RO/EVALSHA_RO, no-writes scripts and read-only transactions
run. Nothing expires while paused. An ALL pause holds every command, CLIENT
UNPAUSE included. When the pause ends the held commands run in the order
they arrived.

Each scenario runs on a fresh dredis and a fresh redis-server (compare());
the steps must be equal and are then checked against explicit values.
"Held" is never judged by a timeout alone: a held command has no reply and
the server counts its client in INFO blocked_clients (which also proves the
server has read it); see held(). Pauses are long (100 s) and end with
CLIENT UNPAUSE, except in the tests about the pause ending by itself, which
check only that a reply comes no earlier than the pause's end."""
import os
import select
import time

from dredis_test import Dredis, RespError, encode_command, wait_until
from conn_util import compare

LONG = 100000  # ms: a pause that only CLIENT UNPAUSE ends

NOSCRIPT = RespError("NOSCRIPT No matching script. Please use EVAL.")
RO_WRITE_FLAG = RespError("ERR Can not execute a script with write flag using *_ro command.")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def info_field(c, section, field):
    for line in c.execute("INFO", section).decode().split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise AssertionError("INFO %s has no %s" % (section, field))


def blocked_clients(admin):
    return int(info_field(admin, "clients", "blocked_clients"))


def reply_pending(clients, wait=0.0):
    """True when any of clients has (part of) a reply to read."""
    if any(c.buf for c in clients):
        return True
    ready, _, _ = select.select([c.sock for c in clients], [], [], wait)
    return bool(ready)


def held(admin, clients, nblocked, timeout=10):
    """True when the commands just sent by clients are postponed: the server
    counts nblocked blocked clients (so it has read them) and none of clients
    has a reply. False as soon as one of them gets a reply (the server ran a
    command it should have held)."""
    if not isinstance(clients, (list, tuple)):
        clients = [clients]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if reply_pending(clients):
            return False
        if blocked_clients(admin) == nblocked:
            return not reply_pending(clients, 0.02)
        time.sleep(0.005)
    raise AssertionError("the server neither answered nor counted %d blocked clients" % nblocked)


def pause(admin, mode="WRITE", ms=LONG):
    return admin.execute("CLIENT", "PAUSE", ms, mode)


def unpause_in_new_client(s):
    """For finally blocks: end a WRITE pause whatever state the other
    clients are in."""
    try:
        with s.client(timeout=5) as c:
            c.execute("CLIENT", "UNPAUSE")
    except OSError:
        pass


# ---------------------------------------------------------------------------
# what a WRITE pause lets through
# ---------------------------------------------------------------------------

def test_read_commands_run_during_write_pause():
    ro_script = "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"
    plain_read = "return redis.call('get', KEYS[1])"

    def scenario(s):
        with s.client() as admin, s.client(timeout=5) as c:
            admin.execute("SET", "foo", "bar")
            admin.execute("RPUSH", "list", "a", "b")
            admin.execute("HSET", "h", "f", "v")
            admin.execute("SADD", "set", "m")
            admin.execute("ZADD", "z", "1", "m")
            admin.execute("SET", "n", "10", "EX", "1000")
            plain_sha = admin.execute("SCRIPT", "LOAD", plain_read)
            out = [("pause", pause(admin))]
            try:
                for cmd in (("GET", "foo"), ("MGET", "foo", "nope"), ("EXISTS", "foo", "nope"), ("TTL", "n"),
                            ("PING",), ("ECHO", "hi"), ("DBSIZE",), ("TYPE", "list"), ("STRLEN", "foo"),
                            ("LRANGE", "list", "0", "-1"), ("HGETALL", "h"), ("SMEMBERS", "set"),
                            ("ZRANGE", "z", "0", "-1", "WITHSCORES"), ("GETRANGE", "foo", "0", "1"),
                            ("PUBSUB", "CHANNELS"), ("SELECT", "1"), ("EXISTS", "foo"), ("SELECT", "0"),
                            ("WATCH", "foo"), ("UNWATCH",),
                            # read-only scripts: no-writes shebang (not cached, then cached), EVAL_RO,
                            # SCRIPT LOAD then EVALSHA of a no-writes script, EVALSHA_RO
                            ("EVAL", "#!lua flags=no-writes\nreturn 'unique script'", 0),
                            ("EVAL", "#!lua flags=no-writes\nreturn 'unique script'", 0),
                            ("EVAL", ro_script, 1, "foo"),
                            ("EVAL_RO", "return redis.call('GeT', KEYS[1])..' unique script'", 1, "foo"),
                            ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 2"),
                            ("EVALSHA", "#sha", 0),
                            ("EVALSHA_RO", plain_sha, 1, "foo"),
                            ("SCRIPT", "EXISTS", plain_sha),
                            # another pause and a client's own connection commands
                            ("CLIENT", "PAUSE", LONG, "WRITE"), ("CLIENT", "SETNAME", "reader"),
                            ("CLIENT", "GETNAME")):
                    sent = ("EVALSHA", out[-1][1]) + cmd[2:] if cmd[:2] == ("EVALSHA", "#sha") else cmd
                    out.append((cmd, c.execute(*sent)))
                out.append(("INFO is served", isinstance(c.execute("INFO"), bytes)))
                out.append(("blocked_clients", blocked_clients(admin)))
            finally:
                unpause_in_new_client(s)
            return out

    steps = dict((str(k), v) for k, v in compare(scenario))
    assert steps["pause"] == "OK"
    assert steps[str(("GET", "foo"))] == b"bar"
    assert steps[str(("LRANGE", "list", "0", "-1"))] == [b"a", b"b"]
    assert steps[str(("EVAL", "#!lua flags=no-writes\nreturn 'unique script'", 0))] == b"unique script"
    assert steps[str(("EVAL", ro_script, 1, "foo"))] == b"bar"
    assert steps[str(("EVAL_RO", "return redis.call('GeT', KEYS[1])..' unique script'", 1, "foo"))] == \
        b"bar unique script"
    assert steps[str(("EVALSHA", "#sha", 0))] == 2
    assert steps[str(("CLIENT", "PAUSE", LONG, "WRITE"))] == "OK"
    assert steps["INFO is served"] is True
    assert steps["blocked_clients"] == 0


def test_read_only_multi_exec_runs_during_write_pause():
    def scenario(s):
        with s.client() as admin, s.client(timeout=5) as c:
            admin.execute("SET", "FOO", "BAR")
            out = [pause(admin)]
            try:
                out += [c.execute("MULTI"), c.execute("PING"), c.execute("GET", "FOO"),
                        c.execute("EVAL", "#!lua flags=no-writes\nreturn 12", 0),
                        c.execute("EVAL", "#!lua flags=no-writes\nreturn 13", 0),
                        c.execute("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "FOO"),
                        c.execute("EXEC")]
                out.append(("blocked_clients", blocked_clients(admin)))
                # an empty transaction and a discarded one
                out += [c.execute("MULTI"), c.execute("EXEC"), c.execute("MULTI"), c.execute("GET", "FOO"),
                        c.execute("DISCARD"), c.execute("GET", "FOO")]
            finally:
                unpause_in_new_client(s)
            return out

    steps = compare(scenario)
    assert steps[:8] == ["OK", "OK", "QUEUED", "QUEUED", "QUEUED", "QUEUED", "QUEUED",
                         ["PONG", b"BAR", 12, 13, b"BAR"]]
    assert steps[8] == ("blocked_clients", 0)
    assert steps[9:11] == ["OK", []]
    assert steps[-1] == b"BAR"


def test_argument_errors_are_answered_during_pause():
    def scenario(s):
        with s.client() as admin, s.client(timeout=5) as c:
            out = [pause(admin)]
            try:
                out += [c.execute("SET", "FOO"), c.execute("NOSUCHCOMMAND", "x"),
                        c.execute("INCR", "a", "b"),
                        # an arity error inside MULTI makes EXEC fail at once
                        c.execute("MULTI"), c.execute("SET", "FOO"), c.execute("EXEC"),
                        ("blocked_clients", blocked_clients(admin))]
            finally:
                unpause_in_new_client(s)
            return out

    steps = compare(scenario)
    assert steps[1] == RespError("ERR wrong number of arguments for 'set' command")
    assert steps[2] == RespError("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ")
    assert steps[6] == RespError("EXECABORT Transaction discarded because of previous errors.")
    assert steps[7] == ("blocked_clients", 0)


def test_may_replicate_commands_are_rejected_in_read_only_scripts():
    def scenario(s):
        with s.client() as c:
            return [c.execute("EVAL_RO", "return redis.call('publish','ch','msg')", 0),
                    c.execute("EVAL", "#!lua flags=no-writes\nreturn redis.call('publish','ch','msg')", 0),
                    c.execute("EVAL_RO", "return redis.call('spublish','ch','msg')", 0),
                    c.execute("EVAL", "#!lua flags=no-writes\nreturn redis.call('set','k','v')", 0),
                    # publish is not blocked from a script that may write
                    c.execute("EVAL", "return redis.call('publish','ch','msg')", 0)]

    steps = compare(scenario)
    for e in steps[:4]:
        assert isinstance(e, RespError)
        assert e.message.startswith("ERR Write commands are not allowed from read-only scripts. script:"), e
    assert steps[4] == 0


# ---------------------------------------------------------------------------
# what a WRITE pause holds
# ---------------------------------------------------------------------------

def test_write_command_is_held_until_unpause():
    def scenario(s):
        with s.client() as admin, s.client() as a:
            admin.execute("SET", "FOO", "old")
            out = [pause(admin)]
            try:
                a.send("SET", "FOO", "BAR")
                out.append(("held", held(admin, a, 1)))
                out.append(("seen while paused", admin.execute("GET", "FOO")))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("reply", a.read_reply()))
                out.append(("seen after", admin.execute("GET", "FOO")))
                out.append(("blocked_clients", blocked_clients(admin)))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", ("held", True), ("seen while paused", b"old"), ("unpause", "OK"),
                                 ("reply", "OK"), ("seen after", b"BAR"), ("blocked_clients", 0)]


def test_various_writes_are_held():
    writes = [("DEL", "s"), ("INCR", "n"), ("LPUSH", "l", "x"), ("HSET", "h", "f", "v"), ("EXPIRE", "s", "100"),
              ("SADD", "set", "m"), ("ZADD", "z", "1", "m"), ("XADD", "st", "1-1", "f", "v"),
              ("PFADD", "hll", "a"), ("SETBIT", "bits", "7", "1"), ("FLUSHDB",)]

    def scenario(s):
        with s.client() as admin:
            admin.execute("SET", "s", "v")
            out = [pause(admin)]
            clients = [s.client() for _ in writes]
            try:
                for i, (c, cmd) in enumerate(zip(clients, writes)):
                    c.send(*cmd)
                    out.append((cmd, "held", held(admin, c, i + 1)))
                out.append(("keys while paused", sorted(admin.execute("KEYS", "*"))))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out += [(cmd, c.read_reply()) for c, cmd in zip(clients, writes)]
                out.append(("keys after", admin.execute("KEYS", "*")))
            finally:
                for c in clients:
                    c.close()
                unpause_in_new_client(s)
            return out

    steps = compare(scenario)
    assert all(step[2] is True for step in steps[1:1 + len(writes)]), steps
    assert steps[1 + len(writes)] == ("keys while paused", [b"s"])
    assert steps[-1] == ("keys after", [])  # FLUSHDB came last


def test_held_commands_run_in_arrival_order():
    def scenario(s):
        with s.client() as admin:
            out = [pause(admin)]
            clients = [s.client() for _ in range(3)]
            try:
                for i, c in enumerate(clients):
                    c.send("APPEND", "k", str(i + 1))
                    out.append(("held", held(admin, c, i + 1)))
                out.append(("seen while paused", admin.execute("GET", "k")))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out += [("reply", c.read_reply()) for c in clients]
                out.append(("seen after", admin.execute("GET", "k")))
            finally:
                for c in clients:
                    c.close()
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", ("held", True), ("held", True), ("held", True), ("seen while paused", None),
                                 ("unpause", "OK"), ("reply", 1), ("reply", 2), ("reply", 3),
                                 ("seen after", b"123")]


def test_commands_pipelined_after_a_held_write_wait_too():
    def scenario(s):
        with s.client() as admin, s.client() as a:
            admin.execute("SET", "k", "old")
            out = [pause(admin)]
            try:
                pipeline = (("SET", "k", "new"), ("GET", "k"), ("PING",), ("INCR", "n"))
                a.send_raw(b"".join(encode_command(cmd) for cmd in pipeline))
                out.append(("held", held(admin, a, 1)))
                out.append(("seen while paused", admin.execute("GET", "k"), admin.execute("GET", "n")))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("replies", [a.read_reply() for _ in range(4)]))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", ("held", True), ("seen while paused", b"old", None), ("unpause", "OK"),
                                 ("replies", ["OK", b"new", "PONG", 1])]


def test_write_into_a_list_a_client_blocks_on_is_held():
    def scenario(s):
        with s.client() as admin, s.client() as popper, s.client() as pusher:
            popper.send("BLPOP", "L", "0")
            wait_until(lambda: blocked_clients(admin) == 1, what="BLPOP to block")
            out = [pause(admin)]
            try:
                pusher.send("LPUSH", "L", "x")
                out.append(("held", held(admin, [pusher, popper], 2)))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("pusher", pusher.read_reply()))
                out.append(("popper", popper.read_reply()))
                out.append(("left", admin.execute("LLEN", "L")))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", ("held", True), ("unpause", "OK"), ("pusher", 1),
                                 ("popper", [b"L", b"x"]), ("left", 0)]


def test_pfcount_is_held():
    def scenario(s):
        with s.client() as admin, s.client() as a, s.client() as b:
            admin.execute("PFADD", "pause-hll", "test")
            out = [pause(admin)]
            try:
                a.send("PFCOUNT", "pause-hll")
                out.append(("held", held(admin, a, 1)))
                b.send("PFCOUNT", "missing-hll")
                out.append(("held", held(admin, b, 2)))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("replies", a.read_reply(), b.read_reply()))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", ("held", True), ("held", True), ("unpause", "OK"), ("replies", 1, 0)]


def _publish_scenario(subscribe, publish):
    def scenario(s):
        with s.client() as admin, s.client() as a, s.client() as sub, s.client(timeout=5) as late:
            out = [("subscribe", sub.execute(subscribe, "ch"))]
            out.append(("pause", pause(admin)))
            try:
                a.send(publish, "ch", "hello")
                out.append(("held", held(admin, a, 1)))
                out.append(("message while paused", reply_pending([sub])))
                # subscribing is not a write
                out.append(("subscribe while paused", late.execute(subscribe, "ch2")))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("publish reply", a.read_reply()))
                out.append(("message", sub.read_reply()))
            finally:
                unpause_in_new_client(s)
            return out
    return scenario


def test_publish_is_held():
    steps = compare(_publish_scenario("SUBSCRIBE", "PUBLISH"))
    assert steps == [("subscribe", [b"subscribe", b"ch", 1]), ("pause", "OK"), ("held", True),
                     ("message while paused", False), ("subscribe while paused", [b"subscribe", b"ch2", 1]),
                     ("unpause", "OK"), ("publish reply", 1), ("message", [b"message", b"ch", b"hello"])]


def test_spublish_is_held():
    steps = compare(_publish_scenario("SSUBSCRIBE", "SPUBLISH"))
    assert steps == [("subscribe", [b"ssubscribe", b"ch", 1]), ("pause", "OK"), ("held", True),
                     ("message while paused", False), ("subscribe while paused", [b"ssubscribe", b"ch2", 1]),
                     ("unpause", "OK"), ("publish reply", 1), ("message", [b"smessage", b"ch", b"hello"])]


def test_exec_of_write_transaction_is_held():
    def scenario(s):
        with s.client() as admin, s.client() as a, s.client() as b, s.client() as sub:
            admin.execute("SET", "FOO", "old")
            sub.execute("SUBSCRIBE", "ch")
            out = [a.execute("MULTI"), a.execute("SET", "FOO", "BAR"), a.execute("INCR", "n"), a.execute("GET", "FOO")]
            # a transaction whose only may-replicate command is PUBLISH
            out += [b.execute("MULTI"), b.execute("GET", "FOO"), b.execute("PUBLISH", "ch", "m")]
            out.append(pause(admin))
            try:
                a.send("EXEC")
                out.append(("held", held(admin, a, 1)))
                b.send("EXEC")
                out.append(("held", held(admin, b, 2)))
                out.append(("seen while paused", admin.execute("MGET", "FOO", "n")))
                out.append(("message while paused", reply_pending([sub])))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("exec a", a.read_reply()))
                out.append(("exec b", b.read_reply()))
                out.append(("message", sub.read_reply()))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == [
        "OK", "QUEUED", "QUEUED", "QUEUED", "OK", "QUEUED", "QUEUED", "OK", ("held", True), ("held", True),
        ("seen while paused", [b"old", None]), ("message while paused", False), ("unpause", "OK"),
        ("exec a", ["OK", 1, b"BAR"]), ("exec b", [b"BAR", 1]), ("message", [b"message", b"ch", b"m"])]


def test_exec_of_transaction_aborted_by_watch_is_not_held():
    """A command queued after a WATCHed key changed is dropped, so it does not
    make EXEC a write: EXEC answers nil at once."""
    def scenario(s):
        with s.client() as admin, s.client(timeout=5) as a:
            out = [a.execute("WATCH", "k"), admin.execute("SET", "k", "theirs"),
                   a.execute("MULTI"), a.execute("SET", "k", "mine"), pause(admin)]
            try:
                out.append(("exec", a.execute("EXEC")))
                out.append(("value", admin.execute("GET", "k")))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", "OK", "OK", "QUEUED", "OK", ("exec", None), ("value", b"theirs")]


def test_write_sent_inside_multi_is_held_before_it_is_queued():
    """Redis checks the pause before queueing: a write sent inside MULTI gets
    its QUEUED only when the pause ends (a read is queued at once)."""
    def scenario(s):
        with s.client() as admin, s.client() as a:
            admin.execute("SET", "k", "old")
            out = [a.execute("MULTI"), pause(admin)]
            try:
                out.append(("read queued", a.execute("GET", "k")))
                a.send("SET", "k", "new")
                out.append(("held", held(admin, a, 1)))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("queued", a.read_reply()))
                out.append(("exec", a.execute("EXEC")))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", "OK", ("read queued", "QUEUED"), ("held", True), ("unpause", "OK"),
                                 ("queued", "QUEUED"), ("exec", [b"old", "OK"])]


def test_scripts_that_may_write_are_held():
    incr = "return redis.call('incr', KEYS[1])"
    scripts = [
        ("EVAL", incr, 1, "n"),                          # no shebang, writes
        ("EVAL", "return 1", 0),                         # no shebang: may replicate
        ("EVAL", "#!lua\nreturn 1", 0),                  # shebang without no-writes: a write
        ("EVALSHA", "#plain", 1, "n"),                   # a cached script without shebang
        ("EVALSHA", "#shebang", 0),                      # a cached #!lua script without no-writes
        ("EVALSHA", "a" * 40, 0),                        # unknown: held, then NOSCRIPT
        ("EVAL_RO", "#!lua\nreturn 1", 0),               # write flag: held, then refused
    ]

    def scenario(s):
        with s.client() as admin:
            admin.execute("SET", "n", "0")
            shas = {"#plain": admin.execute("SCRIPT", "LOAD", incr),
                    "#shebang": admin.execute("SCRIPT", "LOAD", "#!lua\nreturn 'sb'")}
            out = [pause(admin)]
            clients = [s.client() for _ in scripts]
            try:
                for i, (c, cmd) in enumerate(zip(clients, scripts)):
                    c.send(*(cmd[:1] + (shas.get(cmd[1], cmd[1]),) + cmd[2:]))
                    out.append((cmd, "held", held(admin, c, i + 1)))
                out.append(("seen while paused", admin.execute("GET", "n")))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out += [(cmd, c.read_reply()) for c, cmd in zip(clients, scripts)]
                out.append(("seen after", admin.execute("GET", "n")))
            finally:
                for c in clients:
                    c.close()
                unpause_in_new_client(s)
            return out

    steps = compare(scenario)
    n = len(scripts)
    assert [st[2] for st in steps[1:1 + n]] == [True] * n, steps
    assert steps[1 + n] == ("seen while paused", b"0")
    assert [st[1] for st in steps[3 + n:3 + 2 * n]] == [1, 1, 1, 2, b"sb", NOSCRIPT, RO_WRITE_FLAG]
    assert steps[-1] == ("seen after", b"2")


def test_write_scripts_in_multi_exec_are_held():
    def scenario(s):
        with s.client() as admin, s.client() as a, s.client() as b:
            out = [a.execute("MULTI"), a.execute("EVAL", "#!lua\nreturn 12", 0),
                   b.execute("MULTI"), b.execute("EVAL", "return 13", 0), pause(admin)]
            try:
                a.send("EXEC")
                out.append(("held", held(admin, a, 1)))
                b.send("EXEC")
                out.append(("held", held(admin, b, 2)))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("exec", a.read_reply(), b.read_reply()))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", "QUEUED", "OK", "QUEUED", "OK", ("held", True), ("held", True),
                                 ("unpause", "OK"), ("exec", [12], [13])]


# ---------------------------------------------------------------------------
# clients that go away, pauses that overlap, pauses inside transactions
# ---------------------------------------------------------------------------

def test_held_client_that_disconnects_is_dropped():
    def scenario(s):
        with s.client() as admin, s.client() as a, s.client() as c:
            admin.execute("SET", "k", "old")
            out = [pause(admin)]
            try:
                a.send("SET", "k", "from-a")
                out.append(("held", held(admin, a, 1)))
                c.send("APPEND", "log", "c")
                out.append(("held", held(admin, c, 2)))
                a.close()
                wait_until(lambda: blocked_clients(admin) == 1, what="the closed client to go")
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("c", c.read_reply()))
                out.append(("values", admin.execute("MGET", "k", "log")))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", ("held", True), ("held", True), ("unpause", "OK"), ("c", 1),
                                 ("values", [b"old", b"c"])]


def test_shorter_pause_does_not_shorten_a_longer_one():
    def scenario(s):
        with s.client() as admin, s.client() as a:
            out = [pause(admin), pause(admin, ms=1), pause(admin, ms=0)]
            try:
                time.sleep(0.05)
                a.send("SET", "k", "v")
                out.append(("held", held(admin, a, 1)))
                out.append(("unpause", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("reply", a.read_reply()))
                out.append(("unpause when not paused", admin.execute("CLIENT", "UNPAUSE")))
                out.append(("write after", a.execute("SET", "k", "w")))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", "OK", "OK", ("held", True), ("unpause", "OK"), ("reply", "OK"),
                                 ("unpause when not paused", "OK"), ("write after", "OK")]


def test_pause_inside_transaction_starts_after_exec():
    def scenario(s):
        with s.client() as r, s.client() as a:
            out = [r.execute("MULTI"), r.execute("SET", "FOO1", "BAR"), r.execute("CLIENT", "PAUSE", LONG, "WRITE"),
                   r.execute("SET", "FOO2", "BAR"), r.execute("EXEC")]
            try:
                a.send("SET", "FOO3", "BAR")
                out.append(("held", held(r, a, 1)))
                out.append(("seen while paused", r.execute("MGET", "FOO1", "FOO2", "FOO3")))
                out.append(("unpause", r.execute("CLIENT", "UNPAUSE")))
                out.append(("reply", a.read_reply()))
                out.append(("seen after", r.execute("GET", "FOO3")))
            finally:
                unpause_in_new_client(s)
            return out

    assert compare(scenario) == ["OK", "QUEUED", "QUEUED", "QUEUED", ["OK", "OK", "OK"], ("held", True),
                                 ("seen while paused", [b"BAR", b"BAR", None]), ("unpause", "OK"),
                                 ("reply", "OK"), ("seen after", b"BAR")]


def test_keys_do_not_expire_during_pause():
    """Reads see an expired key as missing, but neither a read nor the active
    expiry deletes it until the pause ends."""
    def key_dirs(s):
        if isinstance(s, Dredis):
            return sorted(n for n in ("foo", "bar") if os.path.isdir(os.path.join(s.db_dir(0), n)))
        return None

    def scenario(s):
        with s.client() as r:
            expired_before = info_field(r, "stats", "expired_keys")
            out = [r.execute("MULTI"), r.execute("SET", "foo", "bar", "PX", "10"),
                   r.execute("SET", "bar", "foo", "PX", "10"), r.execute("CLIENT", "PAUSE", LONG, "WRITE"),
                   r.execute("EXEC")]
            dirs = {}
            try:
                wait_until(lambda: r.execute("GET", "foo") is None and r.execute("GET", "bar") is None,
                           what="the keys to expire logically")
                time.sleep(0.3)  # several active expiry cycles (every 100 ms in Redis)
                out += [("reads", r.execute("GET", "foo"), r.execute("EXISTS", "foo", "bar"), r.execute("TTL", "bar"),
                         r.execute("MGET", "foo", "bar"), r.execute("KEYS", "*")),
                        ("dbsize while paused", r.execute("DBSIZE")),
                        ("expired_keys while paused", info_field(r, "stats", "expired_keys") == expired_before)]
                dirs["paused"] = key_dirs(s)
                out.append(("unpause", r.execute("CLIENT", "UNPAUSE")))
                out.append(("reads after", r.execute("GET", "foo"), r.execute("GET", "bar")))
                out.append(("dbsize after", r.execute("DBSIZE")))
                out.append(("expired_keys after",
                            int(info_field(r, "stats", "expired_keys")) - int(expired_before)))
                dirs["after"] = key_dirs(s)
            finally:
                unpause_in_new_client(s)
            if isinstance(s, Dredis):
                assert dirs == {"paused": ["bar", "foo"], "after": []}, dirs
            return out

    assert compare(scenario) == [
        "OK", "QUEUED", "QUEUED", "QUEUED", ["OK", "OK", "OK"], ("reads", None, 0, -2, [None, None], []),
        ("dbsize while paused", 2), ("expired_keys while paused", True), ("unpause", "OK"),
        ("reads after", None, None), ("dbsize after", 0), ("expired_keys after", 2)]


# ---------------------------------------------------------------------------
# pauses that end by themselves, and ALL
# ---------------------------------------------------------------------------

def _answered_after(c, t0, ms):
    """Read c's reply; it must not come before t0 + ms (the pause's end;
    the server computed the end after t0). Returns (reply, came late enough)."""
    reply = c.read_reply()
    return reply, time.monotonic() - t0 >= ms / 1000.0 - 0.01


def test_write_pause_ends_by_itself():
    ms = 300

    def scenario(s):
        with s.client() as admin, s.client() as a:
            t0 = time.monotonic()
            out = [pause(admin, ms=ms)]
            a.send("SET", "k", "v")
            out.append(("reply", _answered_after(a, t0, ms)))
            out.append(("seen after", admin.execute("GET", "k")))
            out.append(("write runs at once now", a.execute("SET", "k", "w")))
            return out

    assert compare(scenario) == ["OK", ("reply", ("OK", True)), ("seen after", b"v"),
                                 ("write runs at once now", "OK")]


def test_pause_all_holds_reads_and_writes():
    ms = 500

    def scenario(s):
        with s.client() as admin, s.client() as a, s.client() as b, s.client() as c:
            admin.execute("SET", "k", "1")
            t0 = time.monotonic()
            out = [pause(admin, "ALL", ms)]
            a.send("GET", "k")
            b.send("SET", "other", "2")
            c.send("PING")
            admin.send("GET", "other")  # the client that paused is held too
            early = reply_pending([a, b, c, admin], 0.1) and time.monotonic() - t0 < ms / 1000.0 - 0.01
            out.append(("any reply before the pause's end", early))
            out += [("a", _answered_after(a, t0, ms)), ("b", _answered_after(b, t0, ms)),
                    ("c", _answered_after(c, t0, ms)), ("admin", admin.read_reply() in (None, b"2"))]
            out.append(("after", a.execute("MGET", "k", "other")))
            return out

    assert compare(scenario) == ["OK", ("any reply before the pause's end", False), ("a", (b"1", True)),
                                 ("b", ("OK", True)), ("c", ("PONG", True)), ("admin", True),
                                 ("after", [b"1", b"2"])]


def test_client_unpause_is_held_by_pause_all():
    """Redis 7.0 holds every command in an ALL pause, CLIENT UNPAUSE too: an
    ALL pause lasts its whole time."""
    ms = 500

    def scenario(s):
        with s.client() as admin, s.client() as a:
            t0 = time.monotonic()
            out = [pause(admin, "ALL", ms)]
            admin.send("CLIENT", "UNPAUSE")
            a.send("GET", "k")
            out.append(("unpause", _answered_after(admin, t0, ms)))
            out.append(("get", _answered_after(a, t0, ms)))
            return out

    assert compare(scenario) == ["OK", ("unpause", ("OK", True)), ("get", (None, True))]


def test_client_pause_argument_errors():
    cases = [("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "10.5"), ("CLIENT", "PAUSE", "-1"),
             ("CLIENT", "PAUSE", "9999999999999999999"), ("CLIENT", "PAUSE", "10", "FOO"),
             ("CLIENT", "PAUSE", "abc", "FOO"), ("CLIENT", "PAUSE", "-1", "READ"),
             ("CLIENT", "PAUSE", "10", "WRITE", "x"), ("CLIENT", "UNPAUSE", "x")]

    def scenario(s):
        with s.client() as c:
            out = [(cmd, c.execute(*cmd)) for cmd in cases]
            out.append(("blocked_clients", blocked_clients(c)))
            out.append(("still not paused", c.execute("SET", "k", "v")))
            return out

    steps = dict((str(k), v) for k, v in compare(scenario))
    assert steps[str(("CLIENT", "PAUSE", "abc"))] == RespError("ERR timeout is not an integer or out of range")
    assert steps[str(("CLIENT", "PAUSE", "-1"))] == RespError("ERR timeout is negative")
    assert steps[str(("CLIENT", "PAUSE", "10", "FOO"))] == RespError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    assert steps[str(("CLIENT", "PAUSE", "abc", "FOO"))] == RespError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    assert steps["still not paused"] == "OK"
