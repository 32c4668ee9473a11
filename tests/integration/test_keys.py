"""Connection, server and generic key commands compared with a real Redis
7.0: PING/ECHO/SELECT/DBSIZE/FLUSH*/TIME/INFO/COMMAND, DEL/UNLINK/EXISTS/
TYPE/KEYS/SCAN/RENAME/RANDOMKEY, arity errors and unknown commands."""
import os
import random
import socket
import time

from dredis_test import Dredis, Pair, RespError, sorted_reply, ConnectionClosed

# The commands of the foundation (strings, keys, server); tests below check
# each of them, whatever other commands the server has.
FOUNDATION = ["append", "command", "dbsize", "decr", "decrby", "del", "echo", "exists", "expire", "expireat",
              "expiretime", "flushall", "flushdb", "get", "getdel", "getex", "getrange", "getset", "incr", "incrby",
              "incrbyfloat", "info", "keys", "mget", "mset", "msetnx", "persist", "pexpire", "pexpireat",
              "pexpiretime", "ping", "psetex", "pttl", "quit", "randomkey", "rename", "renamenx", "scan", "select",
              "set", "setex", "setnx", "setrange", "shutdown", "strlen", "time", "ttl", "type", "unlink"]


def sort_lists(cmd, reply):
    if cmd[0].upper() == "KEYS":
        return sorted_reply(reply)
    return reply


def test_ping_echo():
    with Pair() as p:
        p.run_many([("PING",), ("PING", "hello"), ("PING", "a", "b"), ("PING", b"\x00\xff\r\n"), ("ECHO",),
                    ("ECHO", "hi"), ("ECHO", "a", "b"), ("ECHO", b"\x00\xff\r\n"), ("ECHO", ""), ("ping",),
                    ("pInG", "x")])


def test_select_dbsize_flush():
    with Pair() as p:
        p.run_many([
            ("SELECT",), ("SELECT", "16"), ("SELECT", "-1"), ("SELECT", "abc"), ("SELECT", "1.5"), ("SELECT", ""),
            ("SELECT", "0", "1"), ("SELECT", "9223372036854775808"), ("SELECT", "01"),
            ("DBSIZE", "x"), ("FLUSHDB", "foo"), ("FLUSHDB", "async", "sync"), ("FLUSHALL", "x"),
            ("FLUSHALL", "ASYNC", "x"),
            ("SET", "a", "1"), ("SET", "b", "1", "EX", "100"), ("DBSIZE",),
            ("SELECT", "1"), ("GET", "a"), ("SET", "a", "2"), ("SET", "c", "3"), ("DBSIZE",),
            ("SELECT", "15"), ("SET", "z", "1"),
            ("SELECT", "1"), ("FLUSHDB",), ("DBSIZE",), ("SELECT", "0"), ("GET", "a"), ("DBSIZE",),
            ("FLUSHDB", "ASYNC"), ("DBSIZE",), ("SET", "a", "1"), ("FLUSHDB", "sync"), ("DBSIZE",),
            ("SET", "a", "1"), ("SELECT", "3"), ("SET", "a", "3"), ("FLUSHALL",), ("DBSIZE",), ("SELECT", "0"),
            ("DBSIZE",), ("SELECT", "15"), ("DBSIZE",),
            ("SET", "a", "1"), ("FLUSHALL", "async"), ("DBSIZE",), ("SET", "a", "1"), ("FLUSHALL", "SYNC"),
            ("EXISTS", "a"),
        ])


def test_select_is_per_connection():
    with Pair() as p:
        other = p.dredis.client()
        try:
            p.run_many([("SELECT", "2"), ("SET", "k", "db2")])
            assert other.execute("GET", "k") is None
            assert other.execute("SELECT", "2") == "OK"
            assert other.execute("GET", "k") == b"db2"
        finally:
            other.close()


def test_time_shape():
    with Dredis() as s, s.client() as c:
        before = time.time()
        reply = c.execute("TIME")
        after = time.time()
        assert isinstance(reply, list) and len(reply) == 2
        assert all(isinstance(x, bytes) and x.isdigit() for x in reply)
        secs, usecs = int(reply[0]), int(reply[1])
        assert 0 <= usecs < 1000000
        assert int(before) - 1 <= secs <= after + 1
        assert c.execute("TIME", "x") == RespError("ERR wrong number of arguments for 'time' command")


def info_fields(text):
    out = {}
    for line in text.decode().split("\r\n"):
        if line and not line.startswith("#"):
            k, _, v = line.partition(":")
            out[k] = v
    return out


def info_sections(text):
    return [line for line in text.decode().split("\r\n") if line.startswith("# ")]


def test_info_sections_match_redis():
    with Pair() as p:
        for args in [(), ("server",), ("clients",), ("keyspace",), ("nosuch",), ("server", "clients"),
                     ("clients", "server"), ("SERVER",), ("server", "server"), ("default",), ("all",),
                     ("everything",), ("commandstats",), ("cluster",), ("modules",)]:
            a, b = p.both("INFO", *args)
            assert isinstance(a, bytes)
            # dredis has no Latencystats (yet); the rest must be the same, in the same order
            redis_sections = [s for s in info_sections(b) if s != "# Latencystats"]
            assert info_sections(a) == redis_sections, (args, a[:200], b[:200])


def test_info_has_real_figures():
    with Dredis() as s, s.client() as c:
        server = info_fields(c.execute("INFO", "server"))
        assert server["redis_version"].startswith("7.0"), server
        assert int(server["process_id"]) == s.proc.pid
        assert int(server["tcp_port"]) == s.port
        assert int(server["uptime_in_seconds"]) >= 0
        assert info_fields(c.execute("INFO", "clients"))["connected_clients"] == "1"
        others = [s.client() for _ in range(3)]
        for o in others:
            assert o.execute("PING") == "PONG"
        assert info_fields(c.execute("INFO", "clients"))["connected_clients"] == "4"
        for o in others:
            o.close()
        assert info_fields(c.execute("INFO", "keyspace")) == {}
        c.execute("MSET", "a", "1", "b", "2", "c", "3")
        c.execute("EXPIRE", "a", "100")
        c.execute("SET", "d", "4", "PX", "100000")
        c.execute("SELECT", "7")
        c.execute("SET", "x", "1")
        ks = info_fields(c.execute("INFO", "keyspace"))
        assert ks == {"db0": "keys=4,expires=2,avg_ttl=0", "db7": "keys=1,expires=0,avg_ttl=0"}, ks
        c.execute("SELECT", "0")
        c.execute("DEL", "a")
        c.execute("PERSIST", "d")
        assert info_fields(c.execute("INFO", "keyspace"))["db0"] == "keys=3,expires=0,avg_ttl=0"
        # the default INFO has them all
        everything = info_fields(c.execute("INFO"))
        assert "redis_version" in everything and "connected_clients" in everything and "db7" in everything
        stats = info_fields(c.execute("INFO", "commandstats"))
        assert stats["cmdstat_set"].startswith("calls=2,"), stats


def test_info_with_resp3_is_verbatim():
    with Dredis() as s, s.client() as c:
        c.send_raw(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
        hello = c.read_reply()
        if isinstance(hello, RespError):
            return  # HELLO is not part of the foundation; nothing to check without RESP3
        c.send_raw(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        assert c._line().startswith(b"=")


def command_info_shape(entry):
    name, arity, flags, first, last, step, acl = entry[:7]
    return [name, arity, sorted(flags), first, last, step, sorted(acl)]


def test_command_count_info_docs():
    with Pair() as p:
        count = p.d.execute("COMMAND", "COUNT")
        names = p.d.execute("COMMAND", "LIST")
        # as Redis, COMMAND LIST names subcommands too ("config|get"); COUNT does not
        assert isinstance(count, int) and count == len([n for n in names if b"|" not in n])
        assert set(FOUNDATION) <= set(n.decode() for n in names)
        everything = p.d.execute("COMMAND")
        assert len(everything) == count
        # flags Redis does not show
        assert not [e[0] for e in everything if {"sentinel", "only_sentinel"} & set(e[2])]
        p.run_many([("COMMAND", "COUNT", "x"), ("COMMAND", "FOO"), ("COMMAND", "INFO", "nosuch"),
                    ("COMMAND", "DOCS", "nosuch"), ("COMMAND", "HELP", "x"),
                    ("COMMAND", "GETKEYS"), ("COMMAND", "GETKEYS", "ping"), ("COMMAND", "GETKEYS", "get"),
                    ("COMMAND", "GETKEYS", "set", "a", "b"), ("COMMAND", "GETKEYS", "mset", "a", "b", "c", "d"),
                    ("COMMAND", "GETKEYS", "ping", "x"), ("COMMAND", "GETKEYS", "nosuch", "x"),
                    ("COMMAND", "GETKEYS", "get", "a", "b"), ("COMMAND", "GETKEYS", "set", "a"),
                    ("COMMAND", "GETKEYS", "del", "a", "b", "c"), ("COMMAND", "GETKEYS", "rename", "a", "b")])
        for name in FOUNDATION:
            a, b = p.both("COMMAND", "INFO", name)
            assert command_info_shape(a[0]) == command_info_shape(b[0]), (a, b)
        both = p.d.execute("COMMAND", "INFO", "get", "set", "nosuch")
        assert [e[0] for e in both[:2]] == [b"get", b"set"] and both[2] is None
        # key specs and subcommands are arrays, as in Redis
        assert isinstance(both[0][8], list) and isinstance(both[0][9], list)
        a, b = p.both("COMMAND", "DOCS", "get")
        assert a[0] == b"get" and b[0] == b"get"
        docs = dict(zip(a[1][::2], a[1][1::2]))
        assert {b"summary", b"since", b"group", b"complexity"} <= set(docs)
        assert docs[b"group"] == b"string" and docs[b"since"] == b"1.0.0"
        a = p.d.execute("COMMAND", "DOCS", "command")
        docs = dict(zip(a[1][::2], a[1][1::2]))
        assert b"command|count" in docs[b"subcommands"]


def test_command_docs_arguments_match_redis():
    """COMMAND DOCS gives every command's and subcommand's "arguments" as
    Redis 7.0 does (redis-cli builds its hints and HELP lines from them);
    src/command_args.c is generated by scripts/gen-command-args.py."""
    def pairs(reply):
        return dict(zip(reply[::2], reply[1::2])) if isinstance(reply, list) else reply

    def arguments(docs, out):
        for name, spec in pairs(docs).items():
            spec = pairs(spec)
            out[name] = spec.get(b"arguments")
            if b"subcommands" in spec:
                arguments(spec[b"subcommands"], out)
        return out

    with Pair() as p:
        names = p.d.execute("COMMAND", "LIST")
        for resp in ("2", "3"):
            p.both("HELLO", resp)
            d, r = p.both("COMMAND", "DOCS", *names)
            ours, theirs = arguments(d, {}), arguments(r, {})
            assert set(ours) <= set(theirs), set(ours) - set(theirs)
            differ = [n for n in ours if ours[n] != theirs[n]]
            assert not differ, "arguments differ from Redis's for %s (scripts/gen-command-args.py): %r, %r" % (
                differ[:5], ours[differ[0]], theirs[differ[0]])
        assert ours[b"set"][2][b"flags"] == {"optional"}  # RESP3: flags are a set of simple strings


def test_arity_errors_for_every_foundation_command():
    with Pair() as p:
        infos = p.r.execute("COMMAND", "INFO", *FOUNDATION)
        cmds = []
        for name, info in zip(FOUNDATION, infos):
            arity = info[1]
            if abs(arity) >= 2:
                cmds.append((name,) + ("x",) * (abs(arity) - 2))
                cmds.append((name.upper(),) + ("x",) * (abs(arity) - 2))
            if arity > 0:
                cmds.append((name,) + ("x",) * arity)
        p.run_many(cmds)
        ours = p.d.execute("COMMAND", "INFO", *FOUNDATION)
        assert [i[1] for i in ours] == [i[1] for i in infos]


def test_unknown_command_texts():
    with Pair() as p:
        p.run_many([("NOPE",), ("NOPE", "a"), ("NOPE", "a", "b", "c"), ("nope", "a" * 200), ("NOPE", "x" * 100, "y" * 100),
                    ("NOPE", *["arg%d" % i for i in range(40)]), ("",), ("nope\x00x",), ("x" * 300,)])
        # A name with a NUL byte after a real command's name: Redis finds the command only when both
        # names land in the same bucket of its (randomly seeded) hash table. dredis never does.
        assert p.d.execute("GET\x00", "a") == RespError("ERR unknown command 'GET', with args beginning with: 'a' ")


def test_del_unlink_exists_type():
    with Pair() as p:
        p.run_many([
            ("DEL",), ("UNLINK",), ("EXISTS",), ("TYPE",), ("TYPE", "a", "b"),
            ("SET", "a", "1"), ("SET", "b", "2"), ("EXISTS", "a", "a", "b", "missing"), ("EXISTS", "missing"),
            ("TYPE", "a"), ("TYPE", "missing"),
            ("DEL", "a", "a", "missing"), ("EXISTS", "a"), ("DEL", "a"),
            ("SET", "a", "1"), ("UNLINK", "a", "b", "a"), ("EXISTS", "a", "b"), ("DBSIZE",),
            ("SET", "t", "1", "PX", "1"),
        ])
        time.sleep(0.01)
        # an expired key is gone for every command
        p.run_many([("EXISTS", "t", "t"), ("TYPE", "t"), ("DEL", "t"), ("SET", "t", "1", "PX", "1")])
        time.sleep(0.01)
        p.run_many([("UNLINK", "t"), ("KEYS", "*")])


GLOB_KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h[a]llo", "h*llo", "h?llo", "h\\llo", "a-b", "^x",
             "hello world", "HELLO", "h\x00llo", "h\xffllo", "-", "]", "[", "\\", "", "a", "ab", "abc", "user:1",
             "user:22", "user:1:name", "!x", "?", "*"]
GLOB_PATTERNS = ["*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[!e]llo", "h[a-b]llo", "h[e-a]llo", "h\\*llo",
                 "h\\?llo", "h[\\]]llo", "*llo", "h*", "[", "[a-", "h[a-", "\\", "*\\", "h\\\\llo", "a\\-b", "[^h]*",
                 "[b-a]-b", "*[", "?", "??", "???", "h?*", "x", "", "user:*", "user:?", "user:*:name", "*:*",
                 "[u]ser:[0-9]", "[^a-z]*", "[]]", "[\\[]", "\\[", "h*l*o", "h*****o", "*o*o*", "h\x00llo", "h?llo*",
                 "hello", "HELLO", "[a-c]*", "[abc]", "*[0-9]", "[-]", "[a-]", "[!]", "**", "*?", "?*?"]


def test_keys_glob_syntax():
    with Pair() as p:
        p.run_many([("SET", k, "v") for k in GLOB_KEYS])
        p.run_many([("KEYS", pat) for pat in GLOB_PATTERNS] + [("KEYS",), ("KEYS", "a", "b")], normalize=sort_lists)


def scan_all(c, *opts, count=None):
    cursor, seen, calls = b"0", [], 0
    while True:
        args = ["SCAN", cursor] + list(opts) + (["COUNT", str(count)] if count else [])
        cursor, keys = c.execute(*args)
        seen += keys
        calls += 1
        assert calls < 100000
        if cursor == b"0":
            return seen


def test_scan_options_and_errors():
    with Pair() as p:
        p.run_many([("SET", k, "v") for k in GLOB_KEYS])
        p.run_many([("SCAN",), ("SCAN", "abc"), ("SCAN", "0", "COUNT"), ("SCAN", "0", "COUNT", "0"),
                    ("SCAN", "0", "COUNT", "-1"), ("SCAN", "0", "COUNT", "x"), ("SCAN", "0", "FOO", "x"),
                    ("SCAN", "0", "MATCH"), ("SCAN", "0", "TYPE"), ("SCAN", " 1"), ("SCAN", "1 "), ("SCAN", "0x1"),
                    ("SCAN", "18446744073709551616"), ("SCAN", "-18446744073709551616"), ("SCAN", "1.5"),
                    ("SCAN", "0", "COUNT", "10", "MATCH"), ("SCAN", "0", "count", "9223372036854775808")])
        # cursors Redis accepts (strtoul): each starts or ends an iteration
        for cursor in ["", "+0", "-0", "00"]:
            reply = p.d.execute("SCAN", cursor)
            assert isinstance(reply, list) and isinstance(reply[1], list), (cursor, reply)
        for cursor in ["-1", "18446744073709551615", "9223372036854775807"]:
            reply = p.d.execute("SCAN", cursor)
            assert isinstance(reply, list) and reply[0].isdigit(), (cursor, reply)
        everything = set(k.encode() for k in GLOB_KEYS)
        for count in (None, 1, 3, 1000):
            assert set(scan_all(p.d, count=count)) == everything
            assert set(scan_all(p.d, "MATCH", "user:*", count=count)) == {b"user:1", b"user:22", b"user:1:name"}
            assert set(scan_all(p.d, "MATCH", "h?llo", "TYPE", "string", count=count)) == \
                set(scan_all(p.r, "MATCH", "h?llo", "TYPE", "string", count=count))
            assert scan_all(p.d, "TYPE", "hash", count=count) == []
            assert scan_all(p.d, "TYPE", "nosuchtype", count=count) == []
            assert set(scan_all(p.d, "type", "STRING", count=count)) == everything


def make_keys_on_disk(s, names):
    """Write string keys into a stopped server's tree, as the storage format
    says (only names that are plain file names)."""
    db = s.db_dir(0)
    for n in names:
        os.mkdir(os.path.join(db, n))
        with open(os.path.join(db, n, "type"), "w") as f:
            f.write("string")
        with open(os.path.join(db, n, "value"), "w") as f:
            f.write(n)


def test_scan_5000_keys_with_changes_during_iteration():
    s = Dredis(start=False)
    try:
        s.start()
        s.stop()
        stable = ["key:%05d" % i for i in range(5000)]
        doomed = ["doomed:%04d" % i for i in range(500)]
        make_keys_on_disk(s, stable + doomed)
        s.start()
        with s.client() as c:
            assert c.execute("DBSIZE") == 5500
            assert c.execute("GET", "key:01234") == b"key:01234"
            added = []
            seen = []
            cursor, calls = b"0", 0
            while True:
                cursor, keys = c.execute("SCAN", cursor, "COUNT", "100")
                seen += keys
                calls += 1
                # change the keyspace while iterating: add keys, remove some
                if calls <= 50:
                    name = "added:%03d" % calls
                    c.execute("SET", name, "x")
                    added.append(name.encode())
                    c.execute("DEL", doomed[calls * 10 - 10].encode(), doomed[calls * 10 - 5].encode())
                if cursor == b"0":
                    break
            seen_set = set(seen)
            missing = set(k.encode() for k in stable) - seen_set
            assert not missing, "%d keys present all along were never returned, e.g. %r" % (
                len(missing), sorted(missing)[:5])
            # nothing that never existed is returned
            assert seen_set <= set(k.encode() for k in stable + doomed) | set(added)
            # a reasonable number of calls for COUNT 100
            assert calls < 5500 // 100 * 3, calls
            # MATCH and TYPE filter the same iteration
            matched = scan_all(c, "MATCH", "key:0000*", count=500)
            assert sorted(matched) == [("key:%05d" % i).encode() for i in range(10)]
            assert len(set(scan_all(c, "TYPE", "string", count=1000))) == c.execute("DBSIZE")
            assert sorted(c.execute("KEYS", "added:*")) == sorted(added)
    finally:
        s.stop()
        s.cleanup()


def test_scan_steps_never_return_keys_gone_since_the_step_before():
    """A SCAN step continues from the directory entries its predecessor read
    ahead: keys deleted, expired, flushed or swapped away in between must
    not come back from them."""
    with Dredis() as s, s.client() as c:
        names = ["k:%04d" % i for i in range(600)]
        c.execute("MSET", *[x for n in names for x in (n, "v")])
        cursor, first = c.execute("SCAN", "0", "COUNT", "10")
        assert cursor != b"0" and first
        rest = [n for n in names if n.encode() not in first]
        gone = rest[::3]
        c.execute("DEL", *gone)
        for n in rest[1:60:3]:
            c.execute("PEXPIRE", n, "1")
        time.sleep(0.01)
        seen = list(first)
        while cursor != b"0":
            cursor, keys = c.execute("SCAN", cursor, "COUNT", "10")
            seen += keys
        assert len(seen) == len(set(seen))
        assert set(seen) == set(n.encode() for n in names) - set(n.encode() for n in gone + rest[1:60:3])
        assert sorted(c.execute("KEYS", "k:*")) == sorted(seen)
        # a database replaced under a running iteration
        cursor, _ = c.execute("SCAN", "0", "COUNT", "10")
        c.execute("SELECT", "1")
        c.execute("SET", "other", "1")
        c.execute("SWAPDB", "0", "1")
        c.execute("SELECT", "0")
        left = []
        while cursor != b"0":
            cursor, keys = c.execute("SCAN", cursor, "COUNT", "10")
            left += keys
        assert set(left) <= {b"other"}
        cursor, _ = c.execute("SCAN", "0", "COUNT", "1")
        c.execute("SELECT", "1")
        c.execute("SCAN", cursor, "COUNT", "1")  # another db between the steps
        c.execute("SELECT", "0")
        c.execute("FLUSHDB")
        assert c.execute("SCAN", cursor, "COUNT", "1000")[1] == []


def test_rename_renamenx():
    with Pair() as p:
        p.run_many([
            ("RENAME",), ("RENAME", "a"), ("RENAME", "a", "b", "c"), ("RENAMENX", "a"),
            ("RENAME", "nokey", "x"), ("RENAMENX", "nokey", "x"), ("RENAME", "nokey", "nokey"),
            ("SET", "src", "v", "EX", "1000"), ("SET", "dst", "d", "EX", "50"), ("RENAME", "src", "dst"),
            ("TTL", "dst"), ("EXISTS", "src"), ("GET", "dst"),
            ("SET", "src", "v"), ("RENAME", "src", "dst"), ("TTL", "dst"), ("GET", "dst"),
            ("SET", "src", "v", "EX", "1000"), ("RENAMENX", "src", "dst"), ("TTL", "src"),
            ("RENAMENX", "src", "new"), ("TTL", "new"), ("EXISTS", "src"),
            ("SET", "same", "1", "EX", "100"), ("RENAME", "same", "same"), ("TTL", "same"),
            ("RENAMENX", "same", "same"), ("GET", "same"),
            ("SET", "bin\x00", "b"), ("RENAME", "bin\x00", "bin\xff"), ("GET", "bin\xff"), ("KEYS", "bin*"),
        ], normalize=lambda cmd, r: "ttl" if cmd[0] == "TTL" and isinstance(r, int) and r > 0 else r)
        p.run_many([("SET", "x", "1", "PX", "1"), ("SET", "y", "2", "PX", "1")])
        time.sleep(0.01)
        p.run_many([("RENAME", "x", "z"), ("RENAMENX", "x", "z"), ("SET", "x", "1"), ("RENAMENX", "x", "y"),
                    ("GET", "y"), ("EXISTS", "x")])


def test_renamed_key_keeps_exact_expiry():
    with Pair() as p:
        when = str((int(time.time()) + 5000) * 1000 + 7)
        p.run_many([("SET", "a", "1", "PXAT", when), ("RENAME", "a", "b"), ("PEXPIRETIME", "b"),
                    ("RENAMENX", "b", "c"), ("PEXPIRETIME", "c"), ("PEXPIRETIME", "a")])


def test_randomkey():
    with Pair() as p:
        p.run_many([("RANDOMKEY", "x"), ("RANDOMKEY",), ("SET", "only", "1"), ("RANDOMKEY",),
                    ("SET", "gone", "1", "PX", "1"), ("DEL", "only")])
        time.sleep(0.01)
        p.run_many([("RANDOMKEY",)])
        keys = {("k%d" % i).encode() for i in range(20)}
        p.d.execute("MSET", *[x for k in keys for x in (k, b"v")])
        got = {p.d.execute("RANDOMKEY") for _ in range(200)}
        assert got <= keys
        assert len(got) > 1


def test_quit():
    with Pair() as p:
        for c in (p.d, p.r):
            c.send_raw(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")
            assert c.read_reply() == "OK"
            try:
                extra = c.read_reply()
            except (ConnectionClosed, ConnectionResetError):
                extra = "closed"
            assert extra == "closed"


def random_ops(seed, n):
    rng = random.Random(seed)
    keys = ["a", "b", "c", "d", "e", "a/b", ".x", "", "L" * 250, "M" * 199]

    def k():
        return rng.choice(keys)

    def ttl():
        return str(rng.randint(100, 100000))
    makers = [
        lambda i: ("SET", k(), "v%d" % i) + tuple(rng.choice(
            [[], ["EX", ttl()], ["PX", ttl() + "000"], ["KEEPTTL"], ["NX"], ["XX"], ["GET"], ["EX", ttl(), "GET"],
             ["XX", "KEEPTTL"], ["NX", "PX", ttl()]])),
        lambda i: ("GET", k()), lambda i: ("DEL", k(), k()), lambda i: ("UNLINK", k()),
        lambda i: ("RENAME", k(), k()), lambda i: ("RENAMENX", k(), k()),
        lambda i: ("EXPIRE", k(), ttl()) + tuple(rng.choice([[], ["NX"], ["XX"], ["GT"], ["LT"]])),
        lambda i: ("PERSIST", k()), lambda i: ("TTL", k()), lambda i: ("APPEND", k(), "x"), lambda i: ("INCR", k()),
        lambda i: ("GETDEL", k()), lambda i: ("GETEX", k()) + tuple(rng.choice([[], ["EX", ttl()], ["PERSIST"]])),
        lambda i: ("MSET", k(), "m", k(), "n"), lambda i: ("MSETNX", k(), "m", k(), "n"),
        lambda i: ("SETRANGE", k(), str(rng.randint(0, 5)), "zz"), lambda i: ("GETSET", k(), "gs"),
        lambda i: ("SETEX", k(), ttl(), "se"), lambda i: ("SETNX", k(), "nx"), lambda i: ("SELECT", rng.choice("01")),
        lambda i: ("EXISTS", k(), k()), lambda i: ("PEXPIRETIME", k()), lambda i: ("DBSIZE",),
        lambda i: ("INCRBYFLOAT", k(), "0.5"), lambda i: ("STRLEN", k()), lambda i: ("TYPE", k()),
    ]
    return [rng.choice(makers)(i) for i in range(n)]


def test_random_operations_match_redis_and_keep_the_tree_consistent():
    import test_storage

    def norm(cmd, r):
        if cmd[0] in ("TTL", "PEXPIRETIME") and isinstance(r, int) and r > 0:
            return "some time"
        return r
    for seed in (1, 2):
        with Pair() as p:
            p.run_many(random_ops(seed, 1000), normalize=norm)
            for db in (0, 1):
                p.run_many([("SELECT", str(db)), ("DBSIZE",), ("KEYS", "*")], normalize=sort_lists)
                keys = p.d.execute("KEYS", "*")
                dbdir = p.dredis.db_dir(db)
                # one directory per key, and an index entry per key with a TTL
                assert sorted(e for e in os.listdir(dbdir) if e != ".expires") == sorted(
                    test_storage.expected_encoding(k) for k in keys)
                index = []
                for key in keys:
                    when = p.d.execute("PEXPIRETIME", key)
                    if when > 0:
                        index.append("%d_%s" % (when, test_storage.expected_encoding(key)))
                assert sorted(os.listdir(os.path.join(dbdir, ".expires"))) == sorted(index)
            ours = info_fields(p.d.execute("INFO", "keyspace"))
            theirs = info_fields(p.r.execute("INFO", "keyspace"))
            strip = lambda d: {k: v.rsplit(",avg_ttl=", 1)[0] for k, v in d.items()}
            assert strip(ours) == strip(theirs), (ours, theirs)
            assert test_storage.staged_keys(p.dredis.root_dir) == []


def test_shutdown():
    with Pair() as p:
        p.run_many([("SHUTDOWN", "ABORT"), ("SHUTDOWN", "FOO"), ("SHUTDOWN", "NOSAVE", "SAVE"),
                    ("SHUTDOWN", "SAVE", "NOSAVE"), ("SHUTDOWN", "NOW", "FORCE", "ABORT"), ("SHUTDOWN", "ABORT", "NOW"),
                    ("SHUTDOWN", "ABORT", "FOO"), ("SHUTDOWN", "ABORT", "ABORT"), ("SHUTDOWN", "NOSAVE", "NOSAVE", "X"),
                    ("SET", "kept", "v")])
        for c in (p.d, p.r):
            c.send("SHUTDOWN", "NOSAVE", "NOW")
            try:
                reply = c.read_reply()
            except (ConnectionClosed, ConnectionResetError):
                reply = "closed"
            assert reply == "closed"
        assert p.dredis.proc.wait(20) == 0
        assert p.redis.proc.wait(20) == 0
        # dredis always has its data on disk
        p.dredis.start()
        with p.dredis.client() as c:
            assert c.execute("GET", "kept") == b"v"


def test_errorstats_match_redis():
    import test_strings
    with Pair() as p:
        test_strings.make_foreign_keys(p, [("h", "hash")])
        p.run_many([("GET",), ("NOPE",), ("SET", "s", "v"), ("INCR", "s"), ("SET", "k", "v", "EX", "0"),
                    ("GET", "h"), ("APPEND", "h", "x"), ("SELECT", "99"), ("GETDEL", "a", "b")])
        for port in (p.dredis.port, p.redis.port):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"*1\r\n$x\r\n")
                assert s.recv(100).startswith(b"-ERR Protocol error")
        assert info_fields(p.d.execute("INFO", "errorstats")) == {"errorstat_ERR": "count=7",
                                                                  "errorstat_WRONGTYPE": "count=2"}
        assert info_fields(p.d.execute("INFO", "errorstats")) == info_fields(p.r.execute("INFO", "errorstats"))
        assert info_fields(p.d.execute("INFO", "stats"))["total_error_replies"] == \
            info_fields(p.r.execute("INFO", "stats"))["total_error_replies"] == "9"
        # calls, rejected and failed calls of the commands above (not their times)
        names = {"cmdstat_" + n for n in ("get", "set", "incr", "append", "select", "getdel")}
        strip = lambda t: {k: (v.split(",usec=")[0], v.split("rejected_calls=")[1])
                           for k, v in info_fields(t).items() if k in names}
        assert strip(p.d.execute("INFO", "commandstats")) == strip(p.r.execute("INFO", "commandstats"))


def test_keyspace_hits_and_misses_match_redis():
    def stats(c):
        f = info_fields(c.execute("INFO", "stats"))
        # (not expired_keys: the active expiry cycles may reap "gone" at any moment)
        return int(f["keyspace_hits"]), int(f["keyspace_misses"])
    with Pair() as p:
        p.run_many([("SET", "a", "1"), ("SET", "b", "2"), ("SET", "gone", "x", "PX", "1")])
        time.sleep(0.01)
        for cmd in [("GET", "a"), ("GET", "x"), ("MGET", "a", "x", "b", "gone"), ("EXISTS", "a", "x"), ("TYPE", "a"),
                    ("TYPE", "x"), ("TTL", "a"), ("PTTL", "x"), ("EXPIRETIME", "a"), ("STRLEN", "a"),
                    ("STRLEN", "x"), ("GETRANGE", "a", "0", "1"), ("GETEX", "a"), ("GETEX", "x"), ("GETDEL", "x"),
                    ("GETSET", "a", "2"), ("GETSET", "y", "2"), ("SET", "a", "3", "GET"), ("SET", "z", "3", "GET"),
                    ("KEYS", "a"), ("KEYS", "*"), ("SCAN", "0"), ("RANDOMKEY",), ("INCR", "n"),
                    ("APPEND", "a", "x"), ("SETRANGE", "a", "0", "q"), ("EXPIRE", "a", "100"), ("PERSIST", "a"),
                    ("RENAME", "a", "c"), ("DEL", "c"), ("SETNX", "b", "1"), ("MSETNX", "b", "1"),
                    ("INCRBYFLOAT", "f", "1"), ("GETDEL", "b")]:
            before = stats(p.d), stats(p.r)
            p.d.execute(*cmd)
            p.r.execute(*cmd)
            after = stats(p.d), stats(p.r)
            ours = tuple(x - y for x, y in zip(after[0], before[0]))
            theirs = tuple(x - y for x, y in zip(after[1], before[1]))
            assert ours == theirs, "%r changed (hits, misses) by %r in dredis, %r in redis" % (
                cmd, ours, theirs)


def test_object_refcount_of_unshared_values():
    """Values that Redis does not share (lists, hashes, long strings, copies)
    have one reference there, as every dredis value has; a missing key is nil."""
    with Pair() as p:
        p.run("RPUSH", "l", "a", "b")
        p.run("HSET", "h", "f", "v")
        p.run("SET", "s", "x" * 50)
        p.run("COPY", "l", "l2")
        for key in ("l", "h", "s", "l2", "missing"):
            p.run("OBJECT", "REFCOUNT", key)
        p.run("OBJECT", "REFCOUNT")


GETKEYS_CASES = """
sort abc store def
sort abc store invalid store stillbad store def
sort abc limit 0 store by store get store
sort abc store
sort_ro abc
zunionstore d 2 a b
zunionstore d 5 a b
zunionstore d x a b
zunionstore d 0 a b
zinterstore d 2 a b weights 1 2
zdiffstore d 2 a b
zunion 2 a b
zunion 0 a b
zunion 5 a b
zinter 2 a b
zdiff 2 a b
zintercard 2 a b
sintercard 5 a
eval x 2 a b c
eval x 5 a
eval x 0
eval_ro x 1 a b
evalsha x 2 a b c
fcall x 5 a
fcall_ro f 1 a b
lmpop 2 a b left
lmpop 5 a left
blmpop 0 2 a b left
zmpop 2 a b min
bzmpop 0 2 a b min
xread count 2 streams a b 0 0
xread count 2 streams a b 0
xread count 2 a b 0 0
xreadgroup group g c streams a b 0 0
ping
ping x y z
nosuchcommand a
get
get a b
mset a b c d
blpop a b 0
"""


def test_command_getkeys_finds_movable_keys_as_redis():
    """COMMAND GETKEYS for the commands whose keys move (numkeys, STREAMS,
    SORT's STORE), with bad counts, and the errors; COMMAND INFO flags them
    movablekeys."""
    with Pair() as p:
        for line in GETKEYS_CASES.strip().splitlines():
            p.run("COMMAND", "GETKEYS", *line.split())
        movable = ["sort", "zunionstore", "zinterstore", "zdiffstore", "zunion", "zinter", "zdiff",
                   "zintercard", "sintercard", "lmpop", "blmpop", "zmpop", "bzmpop", "eval", "fcall",
                   "xread", "xreadgroup"]
        d, r = p.both("COMMAND", "INFO", *movable)
        for a, b in zip(d, r):
            assert a[:7] == b[:7] and "movablekeys" in a[2], (a[:7], b[:7])


def test_command_info_of_unknown_commands_is_null():
    """COMMAND INFO of an unknown command or subcommand: a null bulk in RESP2
    (Redis's addReplyNull), not a null array."""
    want = b"*2\r\n$-1\r\n$-1\r\n"
    with Pair() as p:
        for server in (p.dredis, p.redis):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(b"*4\r\n$7\r\ncommand\r\n$4\r\ninfo\r\n$7\r\nget|key\r\n$5\r\nnosuch\r\n")
                got = b""
                while len(got) < len(want):
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    got += chunk
                assert got == want, (server, got)
