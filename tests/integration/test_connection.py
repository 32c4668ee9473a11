"""Connection commands: AUTH (with and without DREDIS_REQUIREPASS), HELLO,
RESET, QUIT, CLIENT ID/SETNAME/GETNAME/LIST/INFO/KILL/REPLY/NO-EVICT, and
RESP3 replies of a few data commands. Compared with a real redis-server 7.0
(started with --requirepass for the password tests) wherever possible."""
import re

from dredis_test import Dredis, Pair, RespError, ConnectionClosed
from conn_util import compare, read_raw, raw_exec, is_closed, nothing_pending, client_count, wait_until

PASSWORD = "s3cret pw"
PW_ENV = {"DREDIS_REQUIREPASS": PASSWORD}
PW_ARGS = ("--requirepass", PASSWORD)

NOAUTH = RespError("NOAUTH Authentication required.")
WRONGPASS = RespError("WRONGPASS invalid username-password pair or user is disabled.")


def compare_pw(scenario):
    return compare(scenario, dredis_env=PW_ENV, redis_args=PW_ARGS)


def hello_map(reply):
    """HELLO's reply without the id, which differs between servers."""
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2]))
    if isinstance(reply, dict):
        reply = dict(reply)
        assert isinstance(reply.pop(b"id"), int)
        reply[b"modules"] = tuple(reply[b"modules"])
    return reply


def hello_bytes(raw):
    """HELLO's raw reply with its id replaced by 0."""
    return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:0\r\n", raw)


def info_fields(text):
    if isinstance(text, bytes):
        text = text.decode()
    return dict(f.split("=", 1) for f in text.strip("\n").split(" "))


# ---------------------------------------------------------------------------
# AUTH and HELLO with a password
# ---------------------------------------------------------------------------

def test_noauth_before_auth_and_wrongpass():
    def scenario(s):
        with s.client() as c:
            return [
                ("get", c.execute("GET", "k")),
                ("set", c.execute("SET", "k", "v")),
                ("ping", c.execute("PING")),
                ("client id", c.execute("CLIENT", "ID")),
                ("select", c.execute("SELECT", "1")),
                ("multi", c.execute("MULTI")),
                ("unknown", c.execute("NOPE", "x")),
                ("arity", c.execute("GET")),
                ("wrong pw", c.execute("AUTH", "nope")),
                ("wrong user", c.execute("AUTH", "someone", PASSWORD)),
                ("default wrong", c.execute("AUTH", "default", "nope")),
                ("syntax", c.execute("AUTH", "a", "b", "c")),
                ("still", c.execute("GET", "k")),
                ("auth", c.execute("AUTH", PASSWORD)),
                ("get after", c.execute("GET", "k")),
                ("wrong again", c.execute("AUTH", "nope")),
                ("still authenticated", c.execute("SET", "k", "v")),
            ]

    out = dict(compare_pw(scenario))
    assert out["get"] == NOAUTH and out["wrong pw"] == WRONGPASS
    assert out["auth"] == "OK" and out["get after"] is None and out["still authenticated"] == "OK"


def test_auth_default_user_with_password():
    def scenario(s):
        with s.client() as c, s.client() as d:
            return [c.execute("AUTH", "default", PASSWORD), c.execute("SET", "k", "v"),
                    d.execute("AUTH", "DEFAULT", PASSWORD), d.execute("GET", "k")]

    assert compare_pw(scenario)[:2] == ["OK", "OK"]


def test_quit_and_reset_need_no_auth():
    def scenario(s):
        with s.client() as c, s.client() as d:
            out = [c.execute("RESET"), c.execute("GET", "k"), c.execute("QUIT"), is_closed(c)]
            out += [d.execute("AUTH", PASSWORD), d.execute("GET", "k"), d.execute("RESET"), d.execute("GET", "k")]
            return out

    out = compare_pw(scenario)
    assert out[:4] == ["RESET", NOAUTH, "OK", True]
    assert out[-1] == NOAUTH  # RESET deauthenticates


def test_hello_with_password():
    def scenario(s):
        with s.client() as c:
            out = [
                ("hello no auth", c.execute("HELLO", "3")),
                ("hello 2 no auth", c.execute("HELLO")),
                ("bad proto", c.execute("HELLO", "4", "AUTH", "default", PASSWORD)),
                ("wrong", c.execute("HELLO", "3", "AUTH", "default", "nope")),
                ("wrong user", c.execute("HELLO", "3", "AUTH", "bob", PASSWORD)),
                ("bad name", c.execute("HELLO", "3", "AUTH", "default", "nope", "SETNAME", "a b")),
                ("still resp2 and locked", c.execute("GET", "k")),
            ]
            c.send("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "x")
            out.append(("hello ok", hello_bytes(read_raw(c))))
            out += [("name", c.execute("CLIENT", "GETNAME")), ("get", raw_exec(c, "GET", "k"))]
            return out

    out = dict(compare_pw(scenario))
    assert out["hello no auth"] == RespError(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
        "<user> <pass> option can be used to authenticate the client and select the RESP protocol version at "
        "the same time")
    assert out["wrong"] == WRONGPASS
    assert out["hello ok"].startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert out["name"] == b"x" and out["get"] == b"_\r\n"


def test_hello_options_take_effect_one_by_one():
    """Redis 7.0 applies HELLO's AUTH and SETNAME in order: what succeeded
    before a failing option stays; the protocol switches only on success."""
    cases = [
        ("AUTH", "default", PASSWORD, "SETNAME", "bad name"),
        ("SETNAME", "bad name", "AUTH", "default", "nope"),
        ("SETNAME", "ok", "AUTH", "default", "nope"),
        ("AUTH", "default", "nope", "SETNAME", "ok"),
        ("SETNAME", "ok", "AUTH", "default", PASSWORD, "SETNAME", "bad name"),
        ("AUTH", "default", "nope", "AUTH", "default", PASSWORD),
        ("AUTH", "default", PASSWORD, "AUTH", "default", "nope"),
        ("AUTH", "default", PASSWORD, "FOO"),
        ("AUTH", "default", PASSWORD, "SETNAME"),
    ]

    def scenario(s):
        out = []
        for case in cases:
            with s.client() as c:
                out.append((case, c.execute("HELLO", "3", *case), raw_exec(c, "GET", "k"),
                            c.execute("AUTH", PASSWORD), c.execute("CLIENT", "GETNAME"), raw_exec(c, "GET", "k")))
        return out

    out = compare_pw(scenario)
    assert out[0][1:] == (RespError("ERR Client names cannot contain spaces, newlines or special characters."),
                          b"$-1\r\n", "OK", None, b"$-1\r\n")
    assert out[2][4] == b"ok"


def test_hello_auth_in_resp2_and_setname_only_after_auth():
    def scenario(s):
        with s.client() as c:
            return [hello_map(c.execute("HELLO", "2", "AUTH", "default", PASSWORD, "SETNAME", "n1")),
                    c.execute("CLIENT", "GETNAME"),
                    hello_map(c.execute("HELLO", "SETNAME", "n2")),
                    c.execute("CLIENT", "GETNAME")]

    compare_pw(scenario)


# ---------------------------------------------------------------------------
# AUTH and HELLO without a password
# ---------------------------------------------------------------------------

def test_auth_without_password_configured():
    with Pair() as p:
        assert p.run("AUTH", "x") == RespError(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
            "configuration is correct?")
        assert p.run("AUTH", "default", "anything") == "OK"
        assert p.run("AUTH", "nobody", "x") == WRONGPASS
        p.run("AUTH", "a", "b", "c")
        p.run("AUTH")
        p.run("GET", "k")


def test_hello_errors():
    with Pair() as p:
        assert p.run("HELLO", "4") == RespError("NOPROTO unsupported protocol version")
        p.run("HELLO", "1")
        p.run("HELLO", "-1")
        p.run("HELLO", "x")
        p.run("HELLO", "99999999999999999999999")
        p.run("HELLO", "3", "FOO")
        p.run("HELLO", "3", "AUTH", "default")
        p.run("HELLO", "3", "SETNAME")
        p.run("HELLO", "3", "SETNAME", "bad name")
        p.run("HELLO", "3", "AUTH", "bob", "pw")
        p.run("HELLO", "3", "SETNAME", "bad name", "AUTH", "bob", "pw")
        # none of those switched the protocol
        p.run("GET", "missing")
        p.run("CLIENT", "GETNAME")


def test_hello_reply_map_contents():
    def scenario(s):
        with s.client() as c:
            return [hello_map(c.execute("HELLO")), hello_map(c.execute("HELLO", "2")),
                    hello_bytes(raw_exec(c, "HELLO", "3")), hello_map(c.execute("HELLO")),
                    hello_bytes(raw_exec(c, "HELLO", "2", "SETNAME", "abc")), c.execute("CLIENT", "GETNAME")]

    out = compare(scenario)
    assert out[0] == {b"server": b"redis", b"version": b"7.0.15", b"proto": 2, b"mode": b"standalone",
                      b"role": b"master", b"modules": ()}
    assert out[3][b"proto"] == 3


def test_hello_id_is_client_id():
    with Dredis() as s, s.client() as c:
        cid = c.execute("CLIENT", "ID")
        assert hello_map(c.execute("HELLO", "3")) is not None
        assert c.execute("HELLO", "3")[b"id"] == cid


# ---------------------------------------------------------------------------
# RESET, QUIT
# ---------------------------------------------------------------------------

def test_reset_restores_connection_state():
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("HELLO", "3")
            c.execute("SELECT", "2")
            c.execute("SET", "indb2", "1")
            c.execute("CLIENT", "SETNAME", "named")
            c.execute("WATCH", "w")
            c.execute("MULTI")
            c.execute("SET", "q", "1")
            out = [raw_exec(c, "RESET")]
            other.execute("SET", "w", "changed")  # RESET unwatched w
            out += [c.execute("CLIENT", "GETNAME"), raw_exec(c, "GET", "missing"), c.execute("EXISTS", "indb2"),
                    c.execute("MULTI"), c.execute("EXEC"), c.execute("EXISTS", "q")]
            c.send("CLIENT", "REPLY", "OFF")
            out.append(raw_exec(c, "RESET"))  # RESET turns replies back on
            out.append(raw_exec(c, "PING"))
            return out

    out = compare(scenario)
    assert out[0] == b"+RESET\r\n"
    assert out[1:] == [None, b"$-1\r\n", 0, "OK", [], 0, b"+RESET\r\n", b"+PONG\r\n"]


def test_quit_closes_connection():
    def scenario(s):
        with s.client() as c, s.client() as d:
            out = [c.execute("SET", "k", "v"), c.execute("QUIT"), is_closed(c)]
            d.execute("MULTI")
            out += [d.execute("QUIT"), is_closed(d)]  # QUIT is not queued
            return out

    assert compare(scenario) == ["OK", "OK", True, "OK", True]


def test_quit_pipelined_drops_later_commands():
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.send_raw(b"".join(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in cmd)
                                for cmd in ([b"SET", b"a", b"1"], [b"QUIT"], [b"SET", b"b", b"2"])))
            out = [c.read_reply(), c.read_reply(), is_closed(c)]
            out.append(other.execute("EXISTS", "a", "b"))
            return out

    assert compare(scenario) == ["OK", "OK", True, 1]


# ---------------------------------------------------------------------------
# CLIENT
# ---------------------------------------------------------------------------

def test_client_setname_getname():
    with Pair() as p:
        assert p.run("CLIENT", "GETNAME") is None
        assert p.run("CLIENT", "SETNAME", "my-conn_1") == "OK"
        assert p.run("CLIENT", "GETNAME") == b"my-conn_1"
        for bad in ("a b", "a\nb", "tab\there", "caf\xe9", "\x7f", "x\x00y"):
            assert p.run("CLIENT", "SETNAME", bad) == RespError(
                "ERR Client names cannot contain spaces, newlines or special characters.")
        assert p.run("CLIENT", "GETNAME") == b"my-conn_1"
        p.run("CLIENT", "SETNAME", "~!@#$%^&*()")
        p.run("CLIENT", "SETNAME", "")
        assert p.run("CLIENT", "GETNAME") is None
        p.run("CLIENT", "SETNAME")
        p.run("CLIENT", "SETNAME", "a", "b")
        p.run("CLIENT", "GETNAME", "x")


def test_client_id_is_unique_and_increasing():
    with Dredis() as s:
        clients = [s.client() for _ in range(5)]
        try:
            ids = [c.execute("CLIENT", "ID") for c in clients]
            assert ids == sorted(ids) and len(set(ids)) == 5
            for c, i in zip(clients, ids):
                assert info_fields(c.execute("CLIENT", "INFO"))["id"] == str(i)
        finally:
            for c in clients:
                c.close()
    with Pair() as p:
        p.run("CLIENT", "ID", "x")


FIELDS = ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi",
          "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem", "tot-mem", "events",
          "cmd", "user", "redir", "resp"]


def test_client_info_and_list_fields():
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("SELECT", "5")
            c.execute("CLIENT", "SETNAME", "me")
            info = c.execute("CLIENT", "INFO").decode()
            f = info_fields(info)
            sock = c.sock.getsockname()
            peer = c.sock.getpeername()
            checks = [("ends with newline", info.endswith("\n") and info.count("\n") == 1),
                      ("field names", list(f)),
                      ("addr", f["addr"] == "%s:%d" % sock),
                      ("laddr", f["laddr"] == "%s:%d" % peer),
                      ("fd", int(f["fd"]) > 0),
                      ("id", int(f["id"]) == c.execute("CLIENT", "ID")),
                      ("name db cmd resp user", [f["name"], f["db"], f["cmd"], f["resp"], f["user"]]),
                      ("flags multi sub", [f["flags"], f["multi"], f["sub"], f["psub"], f["ssub"]])]
            listing = other.execute("CLIENT", "LIST").decode()
            lines = listing.splitlines()
            checks.append(("list ends with newline", listing.endswith("\n")))
            checks.append(("list lines", len(lines)))
            mine = [info_fields(l) for l in lines if info_fields(l)["name"] == "me"][0]
            theirs = [info_fields(l) for l in lines if info_fields(l)["name"] == ""][0]
            checks.append(("list fields", list(mine)))
            checks.append(("list: mine", [mine["db"], mine["cmd"], mine["addr"] == f["addr"]]))
            checks.append(("list: theirs (cmd is the running command)", [theirs["cmd"], theirs["db"]]))
            checks.append(("ordered by id", [int(info_fields(l)["id"]) for l in lines] ==
                           sorted(int(info_fields(l)["id"]) for l in lines)))
            c.execute("HELLO", "3")
            checks.append(("info resp3 verbatim", read_raw_verbatim_prefix(c)))
            return checks

    out = dict(compare(scenario))
    assert out["field names"] == FIELDS
    assert out["name db cmd resp user"] == ["me", "5", "client|info", "2", "default"]
    assert out["list: theirs (cmd is the running command)"] == ["client|list", "0"]


def read_raw_verbatim_prefix(c):
    raw = raw_exec(c, "CLIENT", "INFO")
    return raw[:1], raw.split(b"\r\n", 2)[1][:4]


def test_client_list_shows_state_of_other_clients():
    def scenario(s):
        with s.client() as a, s.client() as b, s.client() as q:
            ia, ib = a.execute("CLIENT", "ID"), b.execute("CLIENT", "ID")
            a.execute("SUBSCRIBE", "c1", "c2")
            a.read_reply()
            a.execute("PSUBSCRIBE", "p*")
            b.execute("MULTI")
            b.execute("SET", "k", "v")
            b.execute("GET", "k")
            fa = info_fields(q.execute("CLIENT", "LIST", "ID", ia))
            fb = info_fields(q.execute("CLIENT", "LIST", "ID", ib))
            keys = ("flags", "sub", "psub", "ssub", "multi", "cmd")
            out = [[fa[k] for k in keys], [fb[k] for k in keys]]
            out.append(len(q.execute("CLIENT", "LIST", "TYPE", "pubsub").splitlines()))
            out.append(len(q.execute("CLIENT", "LIST", "TYPE", "normal").splitlines()))
            b.execute("NOPE")
            out.append(info_fields(q.execute("CLIENT", "LIST", "ID", ib))["cmd"])
            b.execute("DISCARD")
            b.execute("WATCH", "w")
            q.execute("SET", "w", "1")
            out.append(info_fields(q.execute("CLIENT", "LIST", "ID", ib))["flags"])
            return out

    out = compare(scenario)
    assert out[0] == ["P", "2", "1", "0", "-1", "psubscribe"]
    assert out[1] == ["x", "0", "0", "0", "2", "get"]
    assert out[2:] == [1, 2, "NULL", "d"]


def test_client_list_filters():
    def scenario(s):
        with s.client() as a, s.client() as b, s.client() as q:
            ia, ib = a.execute("CLIENT", "ID"), b.execute("CLIENT", "ID")
            by_id = q.execute("CLIENT", "LIST", "ID", ib, ia, 999999).decode().splitlines()
            out = [[int(info_fields(l)["id"]) - ia for l in by_id]]
            out += [q.execute("CLIENT", "LIST", "ID", "0"), q.execute("CLIENT", "LIST", "ID", "-3"),
                    q.execute("CLIENT", "LIST", "ID", "abc"), q.execute("CLIENT", "LIST", "ID"),
                    q.execute("CLIENT", "LIST", "TYPE", "bogus"), q.execute("CLIENT", "LIST", "TYPE", "replica"),
                    q.execute("CLIENT", "LIST", "TYPE", "master"), q.execute("CLIENT", "LIST", "x"),
                    q.execute("CLIENT", "LIST", "TYPE", "normal", "x")]
            return out

    out = compare(scenario)
    assert out[0] == [1, 0]  # in the order asked


def _killed_and_alive(s, kill_args_fn, skip_self=False):
    """Three clients a, b, killer; kill_args_fn(a, b, killer) gives the
    CLIENT KILL arguments. Returns the reply and which of a, b, killer were
    closed by it."""
    a, b, k = s.client(), s.client(), s.client()
    try:
        info = {}
        for name, c in (("a", a), ("b", b), ("k", k)):
            info[name] = info_fields(c.execute("CLIENT", "INFO"))
        reply = k.execute("CLIENT", "KILL", *kill_args_fn(info))
        closed = []
        for name, c in (("a", a), ("b", b), ("k", k)):
            try:
                c.sock.settimeout(5)
                r = c.execute("PING")
                if r != "PONG":
                    closed.append(name)
            except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                closed.append(name)
        return [reply, closed]
    finally:
        for c in (a, b, k):
            c.close()


def test_client_kill_old_style_addr():
    out = compare(lambda s: _killed_and_alive(s, lambda i: [i["a"]["addr"]]))
    assert out == ["OK", ["a"]]


def test_client_kill_old_style_self_and_unknown():
    out = compare(lambda s: _killed_and_alive(s, lambda i: [i["k"]["addr"]]))
    assert out == ["OK", ["k"]]
    out = compare(lambda s: _killed_and_alive(s, lambda i: ["10.1.2.3:4567"]))
    assert out == [RespError("ERR No such client"), []]


def test_client_kill_by_id():
    out = compare(lambda s: _killed_and_alive(s, lambda i: ["ID", i["b"]["id"]]))
    assert out == [1, ["b"]]


def test_client_kill_by_addr_and_laddr():
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["ADDR", i["a"]["addr"]])) == [1, ["a"]]
    # every client shares the listening address: SKIPME yes (the default) spares the killer
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["LADDR", i["a"]["laddr"]])) == [2, ["a", "b"]]


def test_client_kill_skipme():
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["ID", i["k"]["id"]])) == [0, []]
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["ID", i["k"]["id"], "SKIPME", "no"])) == [1, ["k"]]
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["USER", "default", "SKIPME", "yes"])) == [2, ["a", "b"]]


def test_client_kill_type_and_combined_filters():
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["TYPE", "normal"])) == [2, ["a", "b"]]
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["TYPE", "pubsub"])) == [0, []]
    # ID and ADDR must both match
    assert compare(lambda s: _killed_and_alive(s, lambda i: ["ID", i["a"]["id"], "ADDR", i["b"]["addr"]])) == [0, []]


def test_client_kill_pubsub_type():
    def scenario(s):
        with s.client() as a, s.client() as b, s.client() as k:
            a.execute("SUBSCRIBE", "ch")
            out = [k.execute("CLIENT", "KILL", "TYPE", "pubsub"), is_closed(a), b.execute("PING")]
            wait_until(lambda: k.execute("PUBSUB", "NUMSUB", "ch")[1] == 0, what="a's subscription to go")
            return out

    assert compare(scenario) == [1, True, "PONG"]


def test_client_kill_errors():
    with Pair() as p:
        for args in (("ID", "abc"), ("ID", "0"), ("ID", "-1"), ("ID", "999999"), ("FOO", "bar"), ("ID", "1", "x"),
                     ("TYPE", "foo"), ("USER", "nobody"), ("SKIPME", "maybe"), ("SKIPME", "yes"),
                     ("ADDR", "1.1.1.1:1"), ("LADDR", "1.1.1.1:1"), ("MAXAGE", "100"), ("1.2.3.4:5",)):
            p.run("CLIENT", "KILL", *args)
        p.run("CLIENT", "KILL")


def test_client_kill_closes_subscribed_and_transaction_clients():
    with Dredis() as s, s.client() as a, s.client() as b, s.client() as k:
        ia, ib = a.execute("CLIENT", "ID"), b.execute("CLIENT", "ID")
        a.execute("SUBSCRIBE", "x")
        b.execute("WATCH", "w")
        b.execute("MULTI")
        b.execute("SET", "w", "queued")
        assert k.execute("CLIENT", "KILL", "ID", ia) == 1
        assert is_closed(a)
        assert k.execute("CLIENT", "KILL", "ID", ib) == 1
        assert is_closed(b)
        # k and the connection client_count opens
        wait_until(lambda: client_count(s) == 2, what="killed clients to be freed")
        assert k.execute("SET", "w", "1") == "OK"
        assert k.execute("PUBLISH", "x", "m") == 0
        assert k.execute("GET", "w") == b"1"


def test_client_reply_off_on_skip():
    def scenario(s):
        with s.client() as c:
            c.send("CLIENT", "REPLY", "OFF")
            c.send("SET", "a", "1")
            c.send("GET", "a")
            c.send("NOPE")  # errors are silenced too
            c.send("CLIENT", "REPLY", "ON")
            out = [c.read_reply(), c.execute("GET", "a")]
            c.send("CLIENT", "REPLY", "SKIP")
            c.send("SET", "b", "2")  # skipped
            c.send("GET", "b")       # replied
            out.append(c.read_reply())
            c.send("CLIENT", "REPLY", "SKIP")
            c.send("CLIENT", "REPLY", "SKIP")  # skips itself, then the next
            c.send("GET", "a")
            c.send("GET", "b")
            out.append(c.read_reply())
            c.send("CLIENT", "REPLY", "OFF")
            c.send("CLIENT", "REPLY", "SKIP")  # no effect while off
            c.send("CLIENT", "REPLY", "ON")
            c.send("GET", "a")
            out += [c.read_reply(), c.read_reply()]
            out.append(nothing_pending(c))
            out.append(c.execute("CLIENT", "REPLY", "MAYBE"))
            return out

    assert compare(scenario) == ["OK", b"1", b"2", b"2", "OK", b"1", True, RespError("ERR syntax error")]


def test_client_no_evict_and_help():
    def scenario(s):
        with s.client() as c:
            out = [c.execute("CLIENT", "NO-EVICT", "on"), info_fields(c.execute("CLIENT", "INFO"))["flags"],
                   c.execute("CLIENT", "NO-EVICT", "OFF"), info_fields(c.execute("CLIENT", "INFO"))["flags"],
                   c.execute("CLIENT", "NO-EVICT", "maybe"), c.execute("CLIENT", "NO-EVICT"),
                   c.execute("CLIENT"), c.execute("CLIENT", "NOPE"), c.execute("CLIENT", "help", "x")]
            c.execute("CLIENT", "NO-EVICT", "on")
            c.execute("RESET")
            out.append(info_fields(c.execute("CLIENT", "INFO"))["flags"])
            return out

    assert compare(scenario)[:4] == ["OK", "e", "OK", "N"]
    with Dredis() as s, s.client() as c:
        lines = c.execute("CLIENT", "HELP")
        assert lines[0].startswith("CLIENT <subcommand>") and lines[-1] == "    Prints this help."


def test_maxclients_not_hit_by_many_connections():
    with Dredis() as s:
        conns = [s.client() for _ in range(50)]
        try:
            assert all(c.execute("PING") == "PONG" for c in conns)
            assert client_count(s) == 51
        finally:
            for c in conns:
                c.close()
        wait_until(lambda: client_count(s) == 1, what="closed connections to be freed")


# ---------------------------------------------------------------------------
# RESP3 basics
# ---------------------------------------------------------------------------

def test_resp3_raw_replies_match_redis():
    def scenario(s):
        with s.client() as c:
            c.execute("HELLO", "3")
            out = []
            for cmd in (("GET", "missing"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", "v", "GET"),
                        ("SET", "nx", "1", "NX", "GET"), ("SET", "k", "x", "NX"), ("EXISTS", "k", "missing"),
                        ("TTL", "k"), ("PTTL", "missing"), ("EXPIRE", "k", "100"), ("TTL", "k"), ("DBSIZE",),
                        ("MGET", "k", "missing", "nx"), ("INCRBYFLOAT", "f", "1.5"),
                        ("INCR", "n"), ("TYPE", "k"), ("TYPE", "missing"), ("GETDEL", "missing"),
                        ("KEYS", "zzz*"), ("ECHO", "hi"), ("PING",), ("PING", "x"), ("STRLEN", "k"),
                        ("GETRANGE", "k", "0", "0"), ("INCR", "k"), ("SELECT", "99"),
                        ("FLUSHDB",), ("RANDOMKEY",), ("SCAN", "0"), ("MSETNX", "a", "1", "b", "2"),
                        ("EXPIRETIME", "a"), ("PERSIST", "a"),
                        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "n"),
                        ("CLIENT", "GETNAME"), ("UNWATCH",), ("CONFIG", "GET", "maxmemory"),
                        ("CONFIG", "GET", "nosuch"), ("OBJECT", "ENCODING", "missing"), ("BLPOP", "nolist", "0.01"),
                        ("LPUSH", "l", "a"), ("LRANGE", "l", "0", "-1"), ("LPOS", "l", "zz")):
                out.append((cmd, raw_exec(c, *cmd)))
            # SCAN and KEYS: the order of keys is Redis's hash order, so compare the header and the sorted keys
            c.execute("MSET", "k1", "1", "k2", "2", "k3", "3")
            for cmd in (("SCAN", "0", "COUNT", "100"), ("SCAN", "0", "MATCH", "k*", "COUNT", "100"), ("KEYS", "*")):
                raw = raw_exec(c, *cmd)
                parts = raw.split(b"\r\n")
                out.append((cmd, parts[:3] if cmd[0] == "SCAN" else parts[:1], sorted(parts[3:] if cmd[0] == "SCAN" else parts[1:])))
            return out

    out = {step[0]: step[1] for step in compare(scenario)}
    assert out[("GET", "missing")] == b"_\r\n"
    assert out[("INCRBYFLOAT", "f", "1.5")] == b"$3\r\n1.5\r\n"


def test_resp3_hello_back_to_resp2():
    def scenario(s):
        with s.client() as c:
            c.execute("HELLO", "3")
            out = [raw_exec(c, "GET", "missing")]
            out.append(hello_bytes(raw_exec(c, "HELLO", "2")))
            out.append(raw_exec(c, "GET", "missing"))
            return out

    out = compare(scenario)
    assert out[0] == b"_\r\n" and out[2] == b"$-1\r\n"
    assert out[1].startswith(b"*14\r\n")


def test_reset_leaves_monitor_mode():
    def scenario(s):
        with s.client() as m, s.client() as other:
            out = [m.execute("MONITOR"), other.execute("SET", "k", "v")]
            line = m.read_reply()
            out.append(isinstance(line, str) and '"SET" "k" "v"' in line)
            out.append(m.execute("RESET"))
            out.append(other.execute("SET", "k", "w"))
            out.append(m.execute("PING"))  # no monitor line before the PONG
            out.append(info_fields(m.execute("CLIENT", "INFO"))["flags"])
            return out

    assert compare(scenario) == ["OK", "OK", True, "RESET", "OK", "PONG", "N"]


def test_monitor_and_slowlog_redact_passwords():
    """AUTH's arguments and HELLO's AUTH username and password show as
    "(redacted)" in MONITOR and SLOWLOG, whether they were right or wrong;
    an AUTH refused for its argument count before looking at them does not."""
    def scenario(s):
        with s.client() as m, s.client() as c:
            out = [m.execute("AUTH", PASSWORD), m.execute("CONFIG", "SET", "slowlog-log-slower-than", "0"),
                   m.execute("SLOWLOG", "RESET"), m.execute("MONITOR")]
            commands = [("AUTH", "wrong"), ("AUTH", PASSWORD), ("AUTH", "default", PASSWORD),
                        ("AUTH", "nobody", "wrong"), ("AUTH", "a", "b", "c"),
                        ("HELLO", "2", "AUTH", "default", PASSWORD, "SETNAME", "cli"),
                        ("HELLO", "2", "AUTH", "default", "wrong"),
                        ("HELLO", "2", "SETNAME", "bad name", "AUTH", "default", PASSWORD),
                        ("HELLO", "2", "AUTH", "default"),
                        ("SET", "k", PASSWORD), ("PING",)]
            out += [c.execute(*cmd) if cmd[0] != "HELLO" else c.execute(*cmd).__class__ for cmd in commands]
            for _ in range(len(commands)):
                line = m.read_reply()
                out.append(line.split(" ", 1)[1].split("] ", 1)[1])  # without the time and the address
            with s.client() as o:
                o.execute("AUTH", PASSWORD)
                entries = o.execute("SLOWLOG", "GET", "-1")
            # newest first; the monitor's AUTH, CONFIG SET... and SLOWLOG RESET come before
            out.append([e[3] for e in reversed(entries) if e[3][0] in (b"AUTH", b"HELLO", b"SET", b"PING")])
            return out

    out = compare_pw(scenario)
    assert '"AUTH" "(redacted)"' in out and '"AUTH" "a" "b" "c"' in out, out
    assert out[-1][0] == [b"AUTH", b"(redacted)"], out[-1]


def test_slowlog_redacts_secret_config_values():
    """CONFIG SET masterauth and requirepass show their values as
    "(redacted)" in SLOWLOG, as Redis's SENSITIVE_CONFIG, also when the
    command fails; the other settings' values stay. (MONITOR shows no admin
    command.)"""
    def scenario(s):
        with s.client() as c:
            out = [c.execute("CONFIG", "SET", "slowlog-log-slower-than", "0"), c.execute("SLOWLOG", "RESET")]
            commands = [("CONFIG", "SET", "masterauth", "pw1"),
                        ("CONFIG", "SET", "masterauth", "pw2", "requirepass", ""),
                        ("CONFIG", "SET", "requirepass", "pw3", "no-such-setting", "1"),
                        ("CONFIG", "SET", "masterauth", "pw4", "masterauth", "pw5"),
                        ("CONFIG", "SET", "timeout", "0", "masterauth", "")]
            out += [c.execute(*cmd) for cmd in commands]
            entries = c.execute("SLOWLOG", "GET", "-1")
            out.append([e[3] for e in reversed(entries) if e[3][:2] == [b"CONFIG", b"SET"]])
            return out

    out = compare(scenario)
    assert [b"CONFIG", b"SET", b"masterauth", b"(redacted)"] in out[-1], out[-1]
    assert [b"CONFIG", b"SET", b"timeout", b"0", b"masterauth", b"(redacted)"] in out[-1], out[-1]


def test_client_kill_of_a_blocked_client():
    def scenario(s):
        with s.client() as b, s.client() as k:
            bid = b.execute("CLIENT", "ID")
            b.send("BLPOP", "list", "0")
            wait_until(lambda: "b" in info_fields(k.execute("CLIENT", "LIST", "ID", bid))["flags"],
                       what="BLPOP to block")
            out = [k.execute("CLIENT", "KILL", "ID", bid), is_closed(b)]
            # nobody waits any more: the pushed item stays
            out += [k.execute("RPUSH", "list", "x"), k.execute("LRANGE", "list", "0", "-1")]
            return out

    assert compare(scenario) == [1, True, 1, [b"x"]]
