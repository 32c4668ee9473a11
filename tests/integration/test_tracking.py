"""CLIENT UNBLOCK and CLIENT TRACKING (client-side caching), compared with a
real redis-server 7.0.15 (src/networking.c clientCommand, src/tracking.c,
tests/unit/tracking.tcl and the "client unblock tests" of
tests/unit/type/list.tcl).

Each scenario runs on a fresh dredis and a fresh redis-server through
conn_util.compare(): the list of steps it returns must be equal, and the
tests then check the steps against explicit values. "Blocked" is never
judged by a timeout: a scenario waits until INFO counts the client in
blocked_clients (so the server has read its command)."""
from dredis_test import Pair, RespError, wait_until
from conn_util import client_ids, compare, nothing_pending


def info_field(c, section, field):
    for line in c.execute("INFO", section).decode().split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    raise AssertionError("INFO %s has no %s" % (section, field))


def wait_blocked(admin, n):
    wait_until(lambda: int(info_field(admin, "clients", "blocked_clients")) == n, what="%d blocked" % n)


# ---------------------------------------------------------------------------
# CLIENT UNBLOCK
# ---------------------------------------------------------------------------

BLOCKING = [
    ("BLPOP", "l", "0"),
    ("BRPOPLPUSH", "l", "dst", "0"),
    ("BLMOVE", "l", "dst", "LEFT", "RIGHT", "0"),
    ("BZPOPMIN", "z", "0"),
    ("BZMPOP", "0", "1", "z", "MIN"),
    ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
    ("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"),
    ("WAIT", "1", "0"),
]


def unblock_scenario(server):
    steps = []
    admin, waiter = server.client(), server.client()
    steps.append(("group", admin.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")))
    wid = waiter.execute("CLIENT", "ID")
    for how in ("TIMEOUT", "ERROR", None):
        for cmd in BLOCKING:
            waiter.send(*cmd)
            wait_blocked(admin, 1)
            args = ("CLIENT", "UNBLOCK", str(wid)) + ((how,) if how else ())
            steps.append((cmd[0] + " unblock " + str(how), admin.execute(*args)))
            steps.append((cmd[0] + " reply " + str(how), waiter.read_reply()))
            wait_blocked(admin, 0)
            steps.append((cmd[0] + " again " + str(how), admin.execute(*args)))
    steps.append(("after", waiter.execute("PING")))
    steps.append(("not blocked", admin.execute("CLIENT", "UNBLOCK", str(wid))))
    steps.append(("no such id", admin.execute("CLIENT", "UNBLOCK", "999999")))
    steps.append(("zero id", admin.execute("CLIENT", "UNBLOCK", "0")))
    steps.append(("bad id", admin.execute("CLIENT", "UNBLOCK", "x")))
    steps.append(("bad reason", admin.execute("CLIENT", "UNBLOCK", str(wid), "later")))
    steps.append(("bad reason before id", admin.execute("CLIENT", "UNBLOCK", "x", "later")))
    steps.append(("too many", admin.execute("CLIENT", "UNBLOCK", str(wid), "ERROR", "x")))
    steps.append(("too few", admin.execute("CLIENT", "UNBLOCK")))
    admin.close()
    waiter.close()
    return steps


def test_client_unblock_as_redis():
    steps = dict(compare(unblock_scenario))
    assert steps["BLPOP unblock TIMEOUT"] == 1
    assert steps["BLPOP reply TIMEOUT"] is None
    assert steps["BLPOP again TIMEOUT"] == 0
    assert steps["WAIT reply TIMEOUT"] == 0
    assert steps["XREADGROUP reply ERROR"] == RespError("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    assert steps["BZPOPMIN reply None"] is None
    assert steps["not blocked"] == 0
    assert steps["bad reason"] == RespError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    assert steps["bad id"] == RespError("ERR value is not an integer or out of range")


def unblock_then_pipeline_scenario(server):
    """The unblocked client's pipelined input runs after its reply; the
    timeout it had is gone (no second reply)."""
    admin, waiter = server.client(), server.client()
    wid = waiter.execute("CLIENT", "ID")
    waiter.send("BLPOP", "l", "30")
    waiter.send("RPUSH", "after", "x")
    wait_blocked(admin, 1)
    steps = [("unblock", admin.execute("CLIENT", "UNBLOCK", str(wid), "ERROR")),
             ("blpop", waiter.read_reply()), ("rpush", waiter.read_reply()),
             ("pushed", admin.execute("LRANGE", "after", "0", "-1")),
             ("push l", admin.execute("RPUSH", "l", "v")),
             ("nothing more", nothing_pending(waiter)),
             ("l kept", admin.execute("LRANGE", "l", "0", "-1"))]
    admin.close()
    waiter.close()
    return steps


def test_client_unblock_then_pipelined_input():
    steps = dict(compare(unblock_then_pipeline_scenario))
    assert steps["rpush"] == 1 and steps["nothing more"] is True
    assert steps["l kept"] == [b"v"]


# ---------------------------------------------------------------------------
# CLIENT TRACKING
# ---------------------------------------------------------------------------

def as_map(v):
    """TRACKINGINFO's reply: a map in RESP3, a flat array in RESP2."""
    if isinstance(v, dict):
        return v
    return {v[i]: (set(v[i + 1]) if v[i] == b"flags" else v[i + 1]) for i in range(0, len(v), 2)}


def resp3(server):
    c = server.client()
    c.execute("HELLO", "3")
    return c


def settle(c):
    """Every message the server sent c before a PING round trip, in order
    (the PING's reply left out)."""
    c.send("PING")
    out = []
    while True:
        r = c.read_reply()
        if r == "PONG":
            return out
        out.append(r)


def default_mode_scenario(server):
    steps = []
    t, w = resp3(server), server.client()
    steps.append(("on", t.execute("CLIENT", "TRACKING", "ON")))
    steps.append(("get", t.execute("GET", "a")))
    t.execute("MGET", "b", "c")
    t.execute("HGET", "h", "f")
    t.execute("ZUNION", "2", "z1", "z2")
    t.execute("EXISTS", "e1", "e2")
    for args in (("SET", "a", "1"), ("MSET", "b", "1", "c", "2"), ("HSET", "h", "f", "v"), ("ZADD", "z2", "1", "m"),
                 ("SET", "e2", "x"), ("SET", "a", "2")):
        w.execute(*args)
        steps.append((" ".join(args), settle(t)))
    # self-invalidation comes after the reply of the command that caused it
    t.execute("GET", "a")
    t.send("SET", "a", "3")
    steps.append(("own set reply", t.read_reply()))
    steps.append(("own set push", t.read_reply()))
    # every write path
    t.execute("MGET", "x1", "x2", "x3", "x4", "x5", "x6", "x7")
    for args in (("SET", "x1", "v", "PX", "1"),):
        w.execute(*args)
        steps.append((" ".join(args), settle(t)))
    t.execute("GET", "x1")
    w.execute("SET", "x2", "v")
    settle(t)
    t.execute("GET", "x2")
    for args in (("RENAME", "x2", "x3"), ("COPY", "x3", "x4"), ("MOVE", "x4", "1"), ("DEL", "x3"),
                 ("EVAL", "redis.call('set', KEYS[1], 'v')", "1", "x5"), ("LPUSH", "x6", "a"),
                 ("EXPIRE", "x6", "100"), ("PERSIST", "x6"), ("UNLINK", "x6")):
        w.execute(*args)
        steps.append((" ".join(args), settle(t)))
    steps.append(("info", info_field(w, "clients", "tracking_clients")))
    steps.append(("flushall", w.execute("FLUSHALL")))
    steps.append(("flushall push", settle(t)))
    steps.append(("not tracked after flush", (w.execute("SET", "a", "1"), settle(t))))
    steps.append(("off", t.execute("CLIENT", "TRACKING", "OFF")))
    steps.append(("info off", info_field(w, "clients", "tracking_clients")))
    t.close()
    w.close()
    return steps


def test_tracking_default_mode_as_redis():
    steps = dict(compare(default_mode_scenario))
    assert steps["SET a 1"] == [["push", b"invalidate", [b"a"]]]
    assert steps["MSET b 1 c 2"] == [["push", b"invalidate", [b"b"]], ["push", b"invalidate", [b"c"]]]
    assert steps["SET a 2"] == []  # forgotten after its invalidation
    assert steps["own set reply"] == "OK"
    assert steps["own set push"] == ["push", b"invalidate", [b"a"]]
    assert steps["RENAME x2 x3"] == [["push", b"invalidate", [b"x2"]], ["push", b"invalidate", [b"x3"]]]
    assert steps["flushall push"] == [["push", b"invalidate", None]]
    assert steps["info"] == "1" and steps["info off"] == "0"


def expiry_scenario(server):
    t, w = resp3(server), server.client()
    t.execute("CLIENT", "TRACKING", "ON")
    w.execute("SET", "k", "v", "PX", "100")
    t.execute("GET", "k")
    # active expiry (no client touches k)
    wait_until(lambda: w.execute("DBSIZE") == 0, what="k expired")
    steps = [("expired", settle(t))]
    t.close()
    w.close()
    return steps


def test_tracking_active_expiry_invalidates():
    steps = dict(compare(expiry_scenario))
    assert steps["expired"] == [["push", b"invalidate", [b"k"]]]


def redirect_scenario(server):
    steps = []
    r, t, w = server.client(), server.client(), server.client()
    rid = r.execute("CLIENT", "ID")
    steps.append(("subscribe", r.execute("SUBSCRIBE", "__redis__:invalidate")))
    steps.append(("on", t.execute("CLIENT", "TRACKING", "ON", "REDIRECT", str(rid))))
    steps.append(("getredir", t.execute("CLIENT", "GETREDIR") == rid))
    info = as_map(t.execute("CLIENT", "TRACKINGINFO"))
    steps.append(("trackinginfo", (info[b"flags"], info[b"redirect"] == rid, info[b"prefixes"])))
    t.execute("GET", "k")
    w.execute("SET", "k", "1")
    steps.append(("message", r.read_reply()))
    t.execute("GET", "k")
    steps.append(("flushdb", w.execute("FLUSHDB")))
    steps.append(("flush message", r.read_reply()))
    # the redirect client goes: RESP2 gets nothing, TRACKINGINFO says so
    t.execute("GET", "k")
    r.close()
    wait_until(lambda: rid not in client_ids(server), what="redirect client gone")
    w.execute("SET", "k", "2")
    info = as_map(t.execute("CLIENT", "TRACKINGINFO"))
    steps.append(("broken", (info[b"flags"], info[b"redirect"] == rid)))
    steps.append(("list flags", [f for f in t.execute("CLIENT", "INFO").decode().split() if f.startswith("flags=")]))
    # errors
    steps.append(("no such client", t.execute("CLIENT", "TRACKING", "ON", "REDIRECT", "99999")))
    steps.append(("two redirects", t.execute("CLIENT", "TRACKING", "ON", "REDIRECT", "1", "REDIRECT", "2")))
    steps.append(("bad id", t.execute("CLIENT", "TRACKING", "ON", "REDIRECT", "x")))
    steps.append(("off", t.execute("CLIENT", "TRACKING", "OFF")))
    steps.append(("getredir off", t.execute("CLIENT", "GETREDIR")))
    t.close()
    w.close()
    return steps


def test_tracking_redirect_resp2_as_redis():
    steps = dict(compare(redirect_scenario))
    assert steps["message"] == [b"message", b"__redis__:invalidate", [b"k"]]
    assert steps["flush message"] == [b"message", b"__redis__:invalidate", None]
    assert steps["broken"] == ({b"on", b"broken_redirect"}, True)
    assert steps["getredir off"] == -1


def broken_redirect_resp3_scenario(server):
    r, t, w = server.client(), resp3(server), server.client()
    rid = r.execute("CLIENT", "ID")
    t.execute("CLIENT", "TRACKING", "ON", "REDIRECT", str(rid))
    t.execute("GET", "k")
    r.close()
    wait_until(lambda: rid not in client_ids(server), what="redirect client gone")
    w.execute("SET", "k", "2")
    steps = [("pushed", [m[:2] + [m[2] == rid] for m in settle(t)])]
    t.close()
    w.close()
    return steps


def test_tracking_broken_redirect_resp3_as_redis():
    steps = dict(compare(broken_redirect_resp3_scenario))
    assert steps["pushed"] == [["push", b"tracking-redir-broken", True]]


def bcast_scenario(server):
    steps = []
    t, n, w = resp3(server), resp3(server), server.client()
    steps.append(("on", t.execute("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a:", "PREFIX", "b:")))
    steps.append(("noloop on", n.execute("CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP")))
    steps.append(("info", t.execute("CLIENT", "TRACKINGINFO")))
    w.execute("MULTI")
    for k in ("b:2", "a:1", "c:1", "a:0", "b:10", "a:1"):
        w.execute("SET", k, "v")
    w.execute("EXEC")
    steps.append(("batch", settle(t)))
    steps.append(("all", settle(n)))
    n.execute("SET", "a:9", "v")
    w.execute("SET", "b:9", "v")
    steps.append(("noloop own+other", settle(n)))
    steps.append(("prefixed", settle(t)))
    # prefix errors
    steps.append(("overlap existing", t.execute("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a")))
    steps.append(("overlap given", t.execute("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "x", "PREFIX", "xy")))
    steps.append(("prefix needs bcast", w.execute("CLIENT", "TRACKING", "ON", "PREFIX", "a")))
    steps.append(("switch bcast", t.execute("CLIENT", "TRACKING", "ON")))
    steps.append(("bcast optin", w.execute("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN")))
    steps.append(("more prefixes", t.execute("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "c:")))
    steps.append(("info after", t.execute("CLIENT", "TRACKINGINFO")))
    steps.append(("stats", [info_field(w, "stats", f) for f in ("tracking_total_prefixes", "tracking_total_keys")]))
    steps.append(("flushall", w.execute("FLUSHALL")))
    steps.append(("flush push", settle(t)))
    t.close()
    n.close()
    w.close()
    return steps


def test_tracking_bcast_as_redis():
    steps = dict(compare(bcast_scenario))
    assert steps["batch"] == [["push", b"invalidate", [b"a:0", b"a:1"]], ["push", b"invalidate", [b"b:10", b"b:2"]]]
    assert steps["noloop own+other"] == [["push", b"invalidate", [b"b:9"]]]
    assert steps["overlap existing"] == RespError(
        "ERR Prefix 'a' overlaps with an existing prefix 'a:'. Prefixes for a single client must not overlap.")
    assert steps["info after"][b"prefixes"] == [b"a:", b"b:", b"c:"]


def optin_optout_scenario(server):
    steps = []
    i, o, w = resp3(server), resp3(server), server.client()
    steps.append(("caching not tracking", i.execute("CLIENT", "CACHING", "YES")))
    steps.append(("optin", i.execute("CLIENT", "TRACKING", "ON", "OPTIN")))
    steps.append(("optout", o.execute("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP")))
    steps.append(("caching no on optin", i.execute("CLIENT", "CACHING", "NO")))
    steps.append(("caching yes on optout", o.execute("CLIENT", "CACHING", "YES")))
    steps.append(("caching bad", i.execute("CLIENT", "CACHING", "maybe")))
    i.execute("GET", "k1")  # not tracked
    steps.append(("caching yes", i.execute("CLIENT", "CACHING", "YES")))
    steps.append(("info caching", i.execute("CLIENT", "TRACKINGINFO")[b"flags"]))
    i.execute("GET", "k2")  # tracked
    i.execute("GET", "k3")  # not: CACHING lasted one command
    o.execute("GET", "k1")
    o.execute("CLIENT", "CACHING", "NO")
    o.execute("GET", "k2")  # not tracked
    o.execute("GET", "k3")
    for k in ("k1", "k2", "k3"):
        w.execute("SET", k, "v")
    steps.append(("optin pushes", settle(i)))
    steps.append(("optout pushes", settle(o)))
    o.execute("GET", "k4")
    o.execute("SET", "k4", "own")
    steps.append(("noloop own write", settle(o)))
    steps.append(("both", i.execute("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT")))
    steps.append(("switch", i.execute("CLIENT", "TRACKING", "ON", "OPTOUT")))
    steps.append(("syntax", i.execute("CLIENT", "TRACKING", "ON", "FOO")))
    steps.append(("bad state", i.execute("CLIENT", "TRACKING", "MAYBE")))
    steps.append(("too few", i.execute("CLIENT", "TRACKING")))
    steps.append(("info", o.execute("CLIENT", "TRACKINGINFO")))
    i.close()
    o.close()
    w.close()
    return steps


def test_tracking_optin_optout_as_redis():
    steps = dict(compare(optin_optout_scenario))
    assert steps["optin pushes"] == [["push", b"invalidate", [b"k2"]]]
    assert steps["optout pushes"] == [["push", b"invalidate", [b"k1"]], ["push", b"invalidate", [b"k3"]]]
    assert steps["noloop own write"] == []
    assert steps["info caching"] == {b"on", b"optin", b"caching-yes"}


def table_limit_scenario(server):
    t, w = resp3(server), server.client()
    steps = [("set limit", w.execute("CONFIG", "SET", "tracking-table-max-keys", "2")),
             ("get limit", w.execute("CONFIG", "GET", "tracking-table-max-keys"))]
    t.execute("CLIENT", "TRACKING", "ON")
    t.execute("GET", "a")
    t.execute("GET", "b")
    t.execute("GET", "c")  # three keys now; the next command trims the table
    t.send("GET", "d")
    first = t.read_reply()
    pushes = []
    while first is not None and isinstance(first, list):
        pushes.append(first)
        first = t.read_reply()
    pushes += settle(t)
    steps.append(("evicted count", len(pushes)))
    steps.append(("keys", int(info_field(w, "stats", "tracking_total_keys"))))
    w.execute("CONFIG", "SET", "tracking-table-max-keys", "1000000")
    t.close()
    w.close()
    return steps


def test_tracking_table_limit_as_redis():
    steps = dict(compare(table_limit_scenario))
    # one key trimmed before GET d, one before the PING that follows it
    assert steps["evicted count"] == 2 and steps["keys"] == 2


def test_reset_turns_tracking_off():
    """RESET clears client state, tracking included (CLIENT LIST flags=N)."""
    with Pair() as p:
        for c in (p.d, p.r):
            assert c.execute("CLIENT", "TRACKING", "ON") == "OK"
            assert c.execute("RESET") == "RESET"
            info = c.execute("CLIENT", "INFO").decode()
            assert " flags=N " in info, info
            assert c.execute("CLIENT", "TRACKINGINFO")[:2] == [b"flags", [b"off"]]


def test_table_limit_applies_before_a_queued_command():
    """tracking.tcl's "Regression test for #11715": with the cron paused
    (DEBUG PAUSE-CRON 1), a lowered tracking-table-max-keys is applied when
    the next command arrives, before it is queued in MULTI: the
    invalidation comes before QUEUED."""
    env, args = {"DREDIS_ENABLE_DEBUG_COMMAND": "yes"}, ("--enable-debug-command", "yes")
    with Pair(env=env, redis_args=args) as p:
        p.run("CONFIG", "SET", "tracking-table-max-keys", "2")
        p.run("DEBUG", "PAUSE-CRON", "1")
        out = []
        for srv in (p.dredis, p.redis):
            with srv.client() as c:
                c.execute("HELLO", "3")
                steps = [c.execute("CLIENT", "TRACKING", "on"),
                         c.execute("MGET", "1{tag}", "2{tag}"), c.execute("MULTI")]
                admin = p.d if srv is p.dredis else p.r
                admin.execute("CONFIG", "SET", "tracking-table-max-keys", "1")
                c.send("PING")
                push = c.read_reply()
                steps += [push[:2], len(push[2]), c.read_reply(), c.execute("EXEC")]
                admin.execute("CONFIG", "SET", "tracking-table-max-keys", "2")
            out.append(steps)
        p.run("DEBUG", "PAUSE-CRON", "0")  # (Redis shuts down from its cron)
        assert out[0] == out[1], out
        assert out[0][3:] == [["push", b"invalidate"], 1, "QUEUED", ["PONG"]], out[0]
