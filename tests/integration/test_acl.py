"""ACL: users and their rules (SETUSER, GETUSER, LIST, USERS, DELUSER,
WHOAMI, CAT, GENPASS, DRYRUN, LOG), AUTH/HELLO with a username, requirepass
as the default user's password, and the permission checks on every path:
commands, subcommands, categories, key patterns with read/write permissions,
selectors, Pub/Sub channels, scripts, MULTI/EXEC. Compared with a real
redis-server 7.0 wherever both can run the scenario; the ACL file round trip
across a restart is dredis's own."""
import os
import tempfile

from dredis_test import Dredis, Pair, RespError, ConnectionClosed
from conn_util import is_closed


def both_clients(p):
    """A second connection to each server of the pair."""
    return p.dredis.client(), p.redis.client()


def run_as(p, user, password, commands):
    """Authenticate a new connection to each server as user and run the
    commands on both, asserting equal replies; returns dredis's replies."""
    d, r = both_clients(p)
    try:
        assert d.execute("AUTH", user, password) == r.execute("AUTH", user, password) == "OK"
        out = []
        for cmd in commands:
            a, b = d.execute(*cmd), r.execute(*cmd)
            assert a == b, "%r as %s: dredis replied %r, redis replied %r" % (cmd, user, a, b)
            out.append(a)
        return out
    finally:
        d.close()
        r.close()


def test_setuser_getuser_list_and_errors():
    with Pair() as p:
        p.run("ACL", "SETUSER", "alice", "on", ">p1", "~obj:*", "%R~ro:*", "%W~wo:*", "&news.*", "+get", "-@all",
              "+@string", "-set")
        p.run("ACL", "GETUSER", "alice")
        p.run("ACL", "SETUSER", "bob")
        p.run("ACL", "GETUSER", "bob")
        p.run("ACL", "SETUSER", "carol", "on", "nopass", "allkeys", "allchannels", "allcommands", "-@dangerous")
        p.run("ACL", "GETUSER", "carol")
        p.run("ACL", "SETUSER", "dave", "reset", "on", "#" + "a" * 64, "resetchannels", "+client|id")
        p.run("ACL", "SETUSER", "dave", "!" + "a" * 64, ">x", "<x", "resetpass", "nopass")
        p.run("ACL", "LIST")
        p.run("ACL", "USERS")
        p.run("ACL", "GETUSER", "nobody")
        for bad in (["+nosuchcmd"], ["+@nosuchcat"], ["~*", "~x"], ["&*", "&x"], ["<notset"], ["#abc"],
                    ["+get|x|y"], ["+client|id|x"], ["bogus"], ["(~x +get"], ["%X~x"], ["+select|"]):
            p.run("ACL", "SETUSER", "eve", *bad)
        p.run("ACL", "SETUSER", "has space", "on")
        p.run("ACL", "USERS")  # nothing of eve was created
        p.run("ACL", "DELUSER", "default")
        p.run("ACL", "DELUSER", "alice", "nobody", "bob")
        p.run("ACL", "USERS")
        p.run("ACL", "CAT")
        # the families dredis has in full list the same commands as Redis
        for cat in ("string", "hash", "list", "set", "sortedset", "stream", "pubsub", "transaction", "scripting",
                    "bitmap", "blocking", "nosuch"):
            a, b = p.both("ACL", "CAT", cat)
            if isinstance(a, list):
                assert sorted(a) == sorted(b), cat
            else:
                assert a == b
        # the others: what dredis has of them (no cluster, modules, ...)
        for cat in ("keyspace", "read", "write", "dangerous", "admin", "slow", "fast", "connection"):
            a, b = p.both("ACL", "CAT", cat)
            assert set(a) <= set(b) and len(a) > 10, cat
        assert len(p.d.execute("ACL", "GENPASS")) == 64
        assert len(p.d.execute("ACL", "GENPASS", "5")) == 2
        p.run("ACL", "GENPASS", "0")
        p.run("ACL", "GENPASS", "5000")
        p.run("ACL", "WHOAMI")


def test_selectors_and_getuser_shape():
    with Pair() as p:
        p.run("ACL", "SETUSER", "sel", "on", "nopass", "+set", "~w*", "(~r* +get)", "(", "%R~x*", "+@hash", ")")
        p.run("ACL", "GETUSER", "sel")
        p.run("ACL", "LIST")
        run_as(p, "sel", "any", [("SET", "wa", "1"), ("SET", "ra", "1"), ("GET", "ra"), ("GET", "wa"),
                                 ("HGET", "xa", "f"), ("HSET", "xa", "f", "v"), ("HGET", "ya", "f")])
        for cmd in (("GET", "ra"), ("GET", "wa"), ("SET", "ra", "1"), ("HSET", "xa", "f", "v"), ("LPUSH", "w", "1")):
            p.run("ACL", "DRYRUN", "sel", *cmd)
        p.run("ACL", "SETUSER", "sel", "clearselectors")
        p.run("ACL", "GETUSER", "sel")
        p.run("ACL", "DRYRUN", "nobody", "get", "x")
        p.run("ACL", "DRYRUN", "sel", "nosuchcmd", "x")
        p.run("ACL", "DRYRUN", "sel", "get")


def test_key_read_write_permissions():
    with Pair() as p:
        p.run("ACL", "SETUSER", "kw", "on", ">pw", "+@all", "%R~read*", "%W~write*", "~both*")
        cmds = [("SET", "write1", "v"), ("SET", "read1", "v"), ("SET", "both1", "v"), ("GET", "read1"),
                ("GET", "write1"), ("SET", "write1", "v", "GET"), ("LPUSH", "writel", "a"), ("LPOP", "writel"),
                ("DEL", "write1"), ("DEL", "read1"), ("COPY", "read1", "write2"), ("COPY", "both1", "read2"),
                ("RENAME", "both1", "write3"), ("SINTERSTORE", "write4", "read1", "both1"),
                ("SINTERSTORE", "read4", "both1"), ("EXISTS", "read1", "write1"), ("SORT", "read1"),
                ("SORT", "both1", "STORE", "read5"), ("EVAL", "return 1", "1", "both1"),
                ("EVAL", "return 1", "1", "read1"), ("XREAD", "STREAMS", "read1", "write1", "0", "0"),
                ("ZUNIONSTORE", "write5", "2", "read1", "both2"), ("MSET", "write6", "1", "read6", "2"),
                ("BITFIELD", "read7", "GET", "u8", "0"), ("BITFIELD", "read7", "SET", "u8", "0", "1"),
                ("LMPOP", "2", "write8", "both8", "LEFT")]
        run_as(p, "kw", "pw", cmds)
        for cmd in cmds:
            p.run("ACL", "DRYRUN", "kw", *cmd)


def test_commands_subcommands_first_args_and_categories():
    with Pair() as p:
        p.run("ACL", "SETUSER", "c", "on", ">pw", "allkeys", "+@hash", "-hset", "+get", "+client|id", "+config",
              "-config|set", "+select|0", "+acl|whoami")
        # the single commands come in the order of Redis's command dict: compare them as a set
        a, b = p.both("ACL", "GETUSER", "c")
        a[5], b[5] = sorted(a[5].split()), sorted(b[5].split())
        assert a == b, (a, b)
        run_as(p, "c", "pw", [("GET", "k"), ("SET", "k", "v"), ("HGETALL", "h"), ("HSET", "h", "f", "v"),
                              ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "x"), ("CONFIG", "GET", "maxclients"),
                              ("CONFIG", "SET", "maxclients", "100"), ("SELECT", "0"), ("SELECT", "1"),
                              ("ACL", "WHOAMI"), ("ACL", "LIST"), ("PING",), ("AUTH", "c", "wrong")])


def test_auth_hello_requirepass_and_whoami():
    with Pair() as p:
        p.run("AUTH", "pw")
        p.run("AUTH", "default", "x")
        p.run("ACL", "SETUSER", "u", "on", ">pw", "+@all", "~*")
        p.run("ACL", "SETUSER", "off", "off", ">pw", "+@all")
        p.run("AUTH", "u", "bad")
        p.run("AUTH", "nobody", "pw")
        p.run("AUTH", "off", "pw")
        p.run("AUTH", "u", "pw")
        p.run("ACL", "WHOAMI")
        p.run("HELLO", "2", "AUTH", "u", "wrong")
        p.run("CONFIG", "SET", "requirepass", "newpw")
        p.run("ACL", "GETUSER", "default")
        d, r = both_clients(p)
        for cmd in (("GET", "x"), ("AUTH", "nope"), ("AUTH", "newpw"), ("ACL", "WHOAMI")):
            assert d.execute(*cmd) == r.execute(*cmd), cmd
        d.close()
        r.close()
        p.run("CONFIG", "SET", "requirepass", "")
        p.run("ACL", "GETUSER", "default")
        for c in (p.d, p.r):
            info = c.execute("CLIENT", "INFO")
            assert b" user=u " in info, info


def test_nopermission_errors_multi_and_exec_recheck():
    with Pair() as p:
        p.run("ACL", "SETUSER", "m", "on", ">pw", "~k*", "+@all", "-flushall")
        d, r = both_clients(p)
        for c in (d, r):
            c.execute("AUTH", "m", "pw")
        for cmd in (("MULTI",), ("SET", "k1", "v"), ("SET", "other", "v"), ("FLUSHALL",), ("EXEC",),
                    ("MULTI",), ("SET", "k1", "v"), ("GET", "k1")):
            assert d.execute(*cmd) == r.execute(*cmd), cmd
        p.run("ACL", "SETUSER", "m", "-get", "resetkeys", "~j*")
        assert d.execute("EXEC") == r.execute("EXEC")
        d.close()
        r.close()


def test_scripts_checked_against_caller():
    with Pair() as p:
        p.run("ACL", "SETUSER", "s", "on", ">pw", "+@all", "~ok*", "-del")
        run_as(p, "s", "pw", [
            ("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "ok1"),
            ("EVAL", "return redis.call('set', 'bad', 'v')", "0"),
            ("EVAL", "return redis.pcall('del', 'ok1')", "0"),
            ("EVAL", "return redis.acl_check_cmd('del', 'ok1')", "0"),
            ("EVAL", "return redis.acl_check_cmd('get', 'ok1')", "0"),
            ("EVAL", "return redis.acl_check_cmd('get', 'nope')", "0"),
            ("EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "bad"),
        ])


def test_pubsub_channels():
    with Pair() as p:
        p.run("ACL", "SETUSER", "ps", "on", ">pw", "+@all", "resetchannels", "&news.*", "&exact")
        run_as(p, "ps", "pw", [("PUBLISH", "news.1", "m"), ("PUBLISH", "other", "m"), ("SPUBLISH", "other", "m"),
                               ("SUBSCRIBE", "other"), ("PSUBSCRIBE", "news.*"), ("PSUBSCRIBE", "news.x*"),
                               ("SSUBSCRIBE", "other")])
        for cmd in (("PUBLISH", "news.2", "m"), ("PUBLISH", "exac", "m"), ("PSUBSCRIBE", "exact"),
                    ("SUBSCRIBE", "exact", "nope")):
            p.run("ACL", "DRYRUN", "ps", *cmd)


def normalize_log(reply):
    out = []
    for entry in reply:
        if isinstance(entry, list):
            entry = dict(zip(entry[::2], entry[1::2]))
        entry = dict(entry)
        assert float(entry.pop(b"age-seconds")) >= 0
        info = entry.pop(b"client-info")
        assert b"user=" in info and b"cmd=" in info
        out.append(entry)
    return out


def test_acl_log_entries():
    with Pair() as p:
        p.run("ACL", "LOG", "RESET")
        p.run("ACL", "SETUSER", "l", "on", ">pw", "~k*", "+get", "+set", "+eval", "+multi", "+publish",
              "resetchannels")
        run_as(p, "l", "pw", [("GET", "x"), ("GET", "x"), ("DEL", "k"), ("PUBLISH", "ch", "m"),
                              ("EVAL", "return redis.call('get', 'zz')", "0"), ("MULTI",), ("GET", "q"),
                              ("AUTH", "l", "wrong")])
        p.run("AUTH", "nobody", "pw")
        p.run("ACL", "LOG", normalize=normalize_log)
        p.run("ACL", "LOG", "2", normalize=normalize_log)
        p.run("CONFIG", "SET", "acllog-max-len", "3")
        p.run("ACL", "LOG", normalize=normalize_log)
        p.run("ACL", "LOG", "RESET")
        p.run("ACL", "LOG")
        p.run("ACL", "LOG", "x")


def test_deluser_closes_its_connections():
    with Pair() as p:
        p.run("ACL", "SETUSER", "gone", "on", ">pw", "+@all", "~*")
        d, r = both_clients(p)
        for c in (d, r):
            assert c.execute("AUTH", "gone", "pw") == "OK"
        p.run("ACL", "DELUSER", "gone")
        assert is_closed(d) and is_closed(r)
        p.run("ACL", "SETUSER", "self", "on", ">pw", "+@all", "~*")
        d, r = both_clients(p)
        for c in (d, r):
            c.execute("AUTH", "self", "pw")
            assert c.execute("ACL", "DELUSER", "self") == 1
            assert is_closed(c)


def test_acl_file_round_trip_across_restart():
    tmp = tempfile.mkdtemp(prefix="dredis-aclfile-")
    path = os.path.join(tmp, "users.acl")
    with open(path, "w") as f:
        f.write("user default on nopass ~* &* +@all\nuser ann on >secret ~a* +get\n")
    s = Dredis(env={"DREDIS_ACLFILE": path})
    try:
        c = s.client()
        assert c.execute("ACL", "USERS") == [b"ann", b"default"]
        assert c.execute("CONFIG", "GET", "aclfile") == [b"aclfile", path.encode()]
        assert c.execute("ACL", "SETUSER", "ben", "on", ">pw2", "(~b* +set)", "+get", "~c*") == "OK"
        before = c.execute("ACL", "LIST")
        assert c.execute("ACL", "SAVE") == "OK"
        c.close()
        s.restart()
        c = s.client()
        assert c.execute("ACL", "LIST") == before
        assert c.execute("AUTH", "ben", "pw2") == "OK"
        assert c.execute("SET", "bx", "1") == "OK"
        assert c.execute("SET", "cx", "1") == RespError(
            "NOPERM this user has no permissions to access one of the keys used as arguments")
        # ACL LOAD replaces the users: connections of the old ones are closed
        other = s.client()
        assert other.execute("AUTH", "ben", "pw2") == "OK"
        assert c.execute("AUTH", "default", "x") == "OK"
        assert c.execute("ACL", "LOAD") == "OK"
        assert is_closed(other)
        assert c.execute("ACL", "LIST") == before
        # a bad file is refused as a whole, the users stay
        with open(path, "a") as f:
            f.write("user bad +nosuchcommand\nnot a user line\n")
        c.execute("AUTH", "default", "x")
        err = c.execute("ACL", "LOAD")
        assert isinstance(err, RespError) and "Error in applying operation '+nosuchcommand'" in err.message, err
        assert "should start with user keyword" in err.message
        assert c.execute("ACL", "LIST") == before
        c.close()
    finally:
        s.stop()
        s.cleanup()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


def test_load_and_save_without_a_file():
    with Pair() as p:
        p.run("ACL", "LOAD")
        p.run("ACL", "SAVE")


def test_revoked_channels_close_subscribers():
    with Pair() as p:
        p.run("ACL", "SETUSER", "sub", "on", ">pw", "+@all", "resetchannels", "&a*", "&b")
        d, r = both_clients(p)
        for c in (d, r):
            assert c.execute("AUTH", "sub", "pw") == "OK"
            c.execute("SUBSCRIBE", "abc")
        # a superset of the channels keeps them
        p.run("ACL", "SETUSER", "sub", "&c")
        for c in (d, r):
            c.send("PING")
            assert c.read_reply() == [b"pong", b""]
        p.run("ACL", "SETUSER", "sub", "resetchannels", "&b")
        assert is_closed(d) and is_closed(r)


def test_sort_by_and_get_need_read_access_to_every_key():
    with Pair() as p:
        p.run("RPUSH", "mylist", "1")
        p.run("SET", "v1", "1")
        for rules in (["(+sort ~mylist)"], ["(+sort ~mylist ~v*)"], ["(+sort ~mylist %W~*)"],
                      ["(+sort ~mylist %R~*)"]):
            p.run("ACL", "SETUSER", "so", "reset", "on", "nopass", *rules)
            run_as(p, "so", "x", [("SORT", "mylist", "BY", "v*"), ("SORT", "mylist", "GET", "v*"),
                                  ("SORT", "mylist", "BY", "nosort")])


def test_acl_pubsub_default():
    with Pair() as p:
        p.run("CONFIG", "GET", "acl-pubsub-default")
        p.run("CONFIG", "SET", "acl-pubsub-default", "bogus")
        p.run("CONFIG", "SET", "acl-pubsub-default", "allchannels")
        p.run("ACL", "SETUSER", "ch1", "(+get)")
        p.run("ACL", "GETUSER", "ch1")
        p.run("ACL", "SETUSER", "ch1", "reset")
        p.run("ACL", "LIST")
        p.run("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
        p.run("ACL", "SETUSER", "ch2")
        p.run("ACL", "GETUSER", "ch1")
        p.run("ACL", "GETUSER", "ch2")
        p.run("CONFIG", "GET", "acl-pubsub-default")


def test_sort_in_a_script_runs_as_the_caller():
    with Pair() as p:
        p.run("RPUSH", "mylist", "1")
        p.run("ACL", "SETUSER", "sc", "on", "nopass", "+@all", "~mylist")
        run_as(p, "sc", "x", [("EVAL", "return redis.pcall('sort', KEYS[1], 'by', 'v*')", "1", "mylist"),
                              ("EVAL", "return redis.pcall('sort', KEYS[1])", "1", "mylist")])
