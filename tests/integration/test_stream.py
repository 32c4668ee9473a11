"""Streams: every command and option compared with a real redis-server 7.0
(explicit IDs where replies must match byte for byte, shapes for '*'),
blocking reads, consumer-group state across restarts, the layout on disk
(docs/storage-format.md, "Streams"), and reads on a long stream touching a
bounded number of files."""
import os
import random
import re
import shutil
import signal
import subprocess
import time

from dredis_test import Dredis, Pair, RespError, files_under, proc_io, staging_leftovers, wait_until

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
INVALID_ID = RespError("ERR Invalid stream ID specified as stream command argument")
SYNTAX = RespError("ERR syntax error")
ID_RE = re.compile(rb"^\d+-\d+$")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def read(path):
    with open(path, "rb") as f:
        return f.read()


def key_dir(server, key, db=0):
    return os.path.join(server.db_dir(db), key)


def both(p, *args):
    """Run on both without comparing."""
    return p.both(*args)


def fill(p, key, n, start=1, fields=("f", "v")):
    """XADD n entries with IDs start-1 .. start+n-1 - 1 to both servers."""
    cmds = [("XADD", key, "%d-1" % (start + i)) + tuple(fields) for i in range(n)]
    a = p.d.pipeline(cmds)
    b = p.r.pipeline(cmds)
    assert a == b, (a[:3], b[:3])
    return a


def masked(reply, names, value=b"<masked>"):
    """Replace the values following the given field names in (nested)
    RESP2 maps of a reply."""
    if isinstance(reply, list):
        out = []
        i = 0
        while i < len(reply):
            v = reply[i]
            if isinstance(v, bytes) and v in names and i + 1 < len(reply):
                out.append(v)
                out.append(value)
                i += 2
                continue
            out.append(masked(v, names, value))
            i += 1
        return out
    if isinstance(reply, dict):
        return {k: (value if k in names else masked(v, names, value)) for k, v in reply.items()}
    return reply


def radix_masked(reply):
    return masked(reply, {b"radix-tree-keys", b"radix-tree-nodes"})


def info_full_masked(reply):
    """XINFO STREAM FULL without the internal radix tree sizes and the
    delivery/seen times."""
    r = masked(reply, {b"radix-tree-keys", b"radix-tree-nodes", b"seen-time"})
    groups = r[r.index(b"groups") + 1]
    for g in groups:
        pending = g[g.index(b"pending") + 1]
        for e in pending:
            e[2] = 0
        for cons in g[g.index(b"consumers") + 1]:
            for e in cons[cons.index(b"pending") + 1]:
                e[1] = 0
    return r


def pending_masked(reply):
    """XPENDING extended form without the idle times."""
    return [[e[0], e[1], 0, e[3]] for e in reply] if isinstance(reply, list) else reply


def consumers_masked(reply):
    return masked(reply, {b"idle"}, 0) if isinstance(reply, list) else reply


def blocked_clients(client):
    info = client.execute("INFO", "clients").decode()
    return int(re.search(r"blocked_clients:(\d+)", info).group(1))


def wait_blocked(client, n=1):
    wait_until(lambda: blocked_clients(client) == n, what="%d blocked client(s)" % n)


def stream_files(server, key, db=0):
    d = key_dir(server, key, db)
    return sorted(files_under(d))


# ---------------------------------------------------------------------------
# XADD, XLEN, XRANGE, XREVRANGE
# ---------------------------------------------------------------------------

def test_xadd_explicit_ids_and_errors():
    with Pair() as p:
        assert p.run("XADD", "s", "1-1", "a", "1", "b", "2") == b"1-1"
        assert p.run("XADD", "s", "1-2", "a", "1") == b"1-2"
        p.run("XADD", "s", "1-2", "a", "1")          # equal
        p.run("XADD", "s", "1-1", "a", "1")          # smaller
        p.run("XADD", "s", "0-5", "a", "1")
        assert p.run("XADD", "s", "1-*", "a", "1") == b"1-3"
        assert p.run("XADD", "s", "5-*", "a", "1") == b"5-0"
        assert p.run("XADD", "s", "5", "a", "1") == RespError(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item")
        assert p.run("XADD", "s", "6", "a", "1") == b"6-0"
        for bad in ["0-0", "0", "-", "+", "abc", "1-x", "x-1", "1-2-3", "-1", "1--1", "", "(1", "1-*-", "*-1",
                    "18446744073709551616", "1-18446744073709551616"]:
            p.run("XADD", "s", bad, "a", "1")
        p.run("XADD", "z", "0-0", "a", "1")
        p.run("XADD", "z", "0", "a", "1")
        assert p.run("EXISTS", "z") == 0
        assert p.run("XADD", "z", "0-*", "a", "1") == b"0-1"
        # Redis parses IDs leniently (strtoull): the same answers
        for odd in ["+7", " 8", "09-1", "10-+1", "11- 1"]:
            p.run("XADD", "s", odd, "a", "1")
        # arity
        p.run("XADD", "s", "20-1")
        p.run("XADD", "s", "20-1", "a")
        p.run("XADD", "s", "20-1", "a", "1", "b")
        p.run("XADD", "s")
        p.run("XADD", "s", "*")
        # the largest IDs
        p.run("XADD", "m", "18446744073709551615-18446744073709551614", "a", "1")
        p.run("XADD", "m", "18446744073709551615-*", "a", "1")
        p.run("XADD", "m", "18446744073709551615-*", "a", "1")
        p.run("XADD", "m", "*", "a", "1")
        p.run("XADD", "m2", "5-18446744073709551615", "a", "1")
        p.run("XADD", "m2", "5-*", "a", "1")
        p.run("XADD", "m2", "*", "a", "1", normalize=lambda r: ID_RE.match(r) is not None)
        p.run("XRANGE", "s", "-", "+")
        p.run("XLEN", "s")
        # NOMKSTREAM
        assert p.run("XADD", "n", "NOMKSTREAM", "1-1", "a", "1") is None
        assert p.run("EXISTS", "n") == 0
        p.run("XADD", "s", "NOMKSTREAM", "30-1", "a", "1")
        # binary and empty fields and values
        p.run("XADD", "b", "1-1", b"\x00\r\n\xff", b"", b"", b"\x00" * 1000)
        p.run("XRANGE", "b", "-", "+")
        # wrong type
        p.run("SET", "str", "x")
        assert p.run("XADD", "str", "1-1", "a", "1") == WRONGTYPE
        assert p.run("XLEN", "str") == WRONGTYPE
        assert p.run("XRANGE", "str", "-", "+") == WRONGTYPE
        assert p.run("XLEN", "missing") == 0


def test_xadd_star_ids_have_the_shape_of_redis_ones():
    with Pair() as p:
        before = int(time.time() * 1000)
        a, b = both(p, "XADD", "s", "*", "f", "v")
        after = int(time.time() * 1000)
        for reply in (a, b):
            assert ID_RE.match(reply)
        ms, seq = map(int, a.split(b"-"))
        assert before - 5 <= ms <= after + 5 and seq == 0
        ids = [p.d.execute("XADD", "s", "*", "f", str(i)) for i in range(50)]
        parsed = [tuple(map(int, i.split(b"-"))) for i in [a] + ids]
        assert parsed == sorted(parsed) and len(set(parsed)) == len(parsed)
        # a future explicit ms makes * continue from it
        p.run("XADD", "f", "99999999999999-5", "a", "1")
        assert p.run("XADD", "f", "*", "a", "1") == b"99999999999999-6"
        # <ms>-* below the current time
        p.run("XADD", "g", "1000-*", "a", "1")
        p.run("XADD", "g", "1000-*", "a", "1")
        p.run("XADD", "g", "2000-*", "a", "1")
        assert p.d.execute("XLEN", "s") == 51


def test_xadd_trimming_options():
    with Pair() as p:
        fill(p, "s", 10)
        assert p.run("XADD", "s", "MAXLEN", "5", "11-1", "f", "v") == b"11-1"
        p.run("XRANGE", "s", "-", "+")
        p.run("XADD", "s", "MAXLEN", "=", "3", "12-1", "f", "v")
        p.run("XADD", "s", "MINID", "11-1", "13-1", "f", "v")
        p.run("XADD", "s", "MINID", "=", "12-1", "14-1", "f", "v")
        p.run("XRANGE", "s", "-", "+")
        p.run("XADD", "s", "MAXLEN", "0", "15-1", "f", "v")
        assert p.run("XLEN", "s") == 0
        assert p.run("EXISTS", "s") == 1
        # approximate trimming only removes whole nodes (100 entries)
        fill(p, "a", 250)
        p.run("XADD", "a", "MAXLEN", "~", "200", "300-1", "f", "v")
        p.run("XLEN", "a")
        p.run("XADD", "a", "MAXLEN", "~", "120", "301-1", "f", "v")
        p.run("XLEN", "a")
        p.run("XRANGE", "a", "-", "+", "COUNT", "3")
        p.run("XADD", "a", "MINID", "~", "250-1", "302-1", "f", "v")
        p.run("XLEN", "a")
        fill(p, "l", 500)
        p.run("XADD", "l", "MAXLEN", "~", "10", "LIMIT", "150", "600-1", "f", "v")
        p.run("XLEN", "l")
        p.run("XADD", "l", "MAXLEN", "~", "10", "LIMIT", "0", "601-1", "f", "v")
        p.run("XLEN", "l")
        p.run("XRANGE", "l", "-", "+")
        # errors
        for args in [("MAXLEN", "-1"), ("MAXLEN", "x"), ("MAXLEN", "~", "x"), ("MAXLEN", "5", "MINID", "1"),
                     ("MINID", "1", "MAXLEN", "5"), ("MINID", "x"), ("MINID", "-"), ("MINID", "+"),
                     ("MAXLEN", "5", "LIMIT", "10"), ("LIMIT", "10"), ("MAXLEN", "~", "5", "LIMIT", "-1"),
                     ("MAXLEN", "~", "5", "LIMIT", "x"), ("MAXLEN",), ("MAXLEN", "~"), ("MINID", "~", "5"),
                     ("NOMKSTREAM", "MAXLEN", "=", "5")]:
            p.run("XADD", "e", *args, "1-1", "f", "v")
            p.run("XADD", "e", *args)
        p.run("XADD", "e", "MAXLEN", "5", "*", normalize=lambda r: r)
        assert p.run("EXISTS", "e") in (0, 1)


def test_xrange_and_xrevrange():
    with Pair() as p:
        for ms in range(1, 6):
            for seq in range(0, 3):
                p.run("XADD", "s", "%d-%d" % (ms, seq), "f", "%d.%d" % (ms, seq), "g", "x")
        bounds = ["-", "+", "0", "1", "2-1", "3", "5-2", "6", "(1-0", "(2", "(5-2", "(0-0", "(6",
                  "18446744073709551615", "(18446744073709551615", "0-18446744073709551615"]
        for a in bounds:
            for b in bounds:
                p.run("XRANGE", "s", a, b)
                p.run("XREVRANGE", "s", b, a)
        for count in ["0", "1", "2", "-1", "100", "9223372036854775807"]:
            p.run("XRANGE", "s", "-", "+", "COUNT", count)
            p.run("XREVRANGE", "s", "+", "-", "COUNT", count)
            p.run("XRANGE", "s", "(2-1", "+", "COUNT", count)
        for bad in [("(-", "+"), ("-", "(+"), ("(18446744073709551615-18446744073709551615", "+"),
                    ("-", "(0-0"), ("(", "+"), ("x", "+"), ("-", "1-x"), ("-", "+", "COUNT"),
                    ("-", "+", "COUNT", "x"), ("-", "+", "LIMIT", "1"), ("-", "+", "COUNT", "1", "COUNT", "2")]:
            p.run("XRANGE", "s", *bad)
            p.run("XREVRANGE", "s", *bad)
            p.run("XRANGE", "missing", *bad)
        p.run("XRANGE", "missing", "-", "+")
        p.run("XRANGE", "missing", "-", "+", "COUNT", "0")
        p.run("XREVRANGE", "missing", "+", "-")


def test_ranges_across_segments_with_deletions():
    with Pair() as p:
        fill(p, "s", 450)
        rng = random.Random(7)
        dels = rng.sample(range(1, 451), 120) + list(range(100, 201))
        for chunk in range(0, len(dels), 30):
            p.run("XDEL", "s", *["%d-1" % i for i in dels[chunk:chunk + 30]])
        p.run("XLEN", "s")
        for _ in range(60):
            a, b = sorted(rng.sample(range(0, 470), 2))
            count = rng.choice(["1", "7", "50", "1000"])
            p.run("XRANGE", "s", "%d" % a, "%d" % b, "COUNT", count)
            p.run("XREVRANGE", "s", "%d" % b, "%d" % a, "COUNT", count)
            p.run("XRANGE", "s", "(%d-1" % a, "+", "COUNT", count)
        p.run("XRANGE", "s", "-", "+")
        p.run("XREVRANGE", "s", "+", "-")
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)


# ---------------------------------------------------------------------------
# XDEL, XTRIM, XSETID
# ---------------------------------------------------------------------------

def test_xdel():
    with Pair() as p:
        fill(p, "s", 5)
        assert p.run("XDEL", "s", "2-1", "2-1", "9-9", "4-1") == 2
        p.run("XRANGE", "s", "-", "+")
        p.run("XDEL", "s", "x")
        p.run("XDEL", "s", "1-1", "x")       # nothing deleted: the IDs are checked first
        p.run("XDEL", "s", "-")
        p.run("XDEL", "s", "+")
        p.run("XDEL", "s", "3")
        p.run("XLEN", "s")
        p.run("XDEL", "missing", "x")
        p.run("XDEL", "missing", "1-1")
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        # deleting every entry keeps the (empty) stream
        p.run("XDEL", "s", "1-1", "3-1", "5-1")
        assert p.run("XLEN", "s") == 0
        assert p.run("EXISTS", "s") == 1
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        p.run("XADD", "s", "6-1", "f", "v")
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        p.run("SET", "str", "x")
        p.run("XDEL", "str", "1-1")
        p.run("XDEL", "s")


def test_xtrim():
    with Pair() as p:
        for strategy in [("MAXLEN", "300"), ("MAXLEN", "=", "250"), ("MAXLEN", "~", "150"), ("MINID", "=", "320-1"),
                         ("MINID", "~", "430-1"), ("MAXLEN", "~", "0", "LIMIT", "30"), ("MAXLEN", "~", "10"),
                         ("MAXLEN", "0"), ("MINID", "1000-1")]:
            p.run("DEL", "s")
            fill(p, "s", 500)
            p.run("XTRIM", "s", *strategy)
            p.run("XLEN", "s")
            p.run("XRANGE", "s", "-", "+", "COUNT", "2")
            p.run("XINFO", "STREAM", "s", normalize=radix_masked)
            p.run("XTRIM", "s", *strategy)
        fill(p, "t", 20)
        for args in [(), ("MAXLEN",), ("MAXLEN", "x"), ("MAXLEN", "-1"), ("MINID", "x"), ("LIMIT", "5"),
                     ("MAXLEN", "5", "LIMIT", "5"), ("MAXLEN", "~", "5", "LIMIT", "-5"), ("FOO",),
                     ("MAXLEN", "5", "MINID", "3"), ("NOMKSTREAM", "MAXLEN", "5"), ("MAXLEN", "5", "10")]:
            p.run("XTRIM", "t", *args)
            p.run("XTRIM", "missing", *args)
        p.run("XLEN", "t")
        p.run("SET", "str", "x")
        p.run("XTRIM", "str", "MAXLEN", "1")


def test_xsetid():
    with Pair() as p:
        fill(p, "s", 3)
        p.run("XSETID", "s", "10-1")
        p.run("XADD", "s", "10-1", "f", "v")
        p.run("XADD", "s", "11-0", "f", "v")
        p.run("XSETID", "s", "1-1")
        p.run("XSETID", "missing", "1-1")
        for args in [("x",), ("-",), ("+",), ("99999999999999-1", "ENTRIESADDED", "-1"),
                     ("99999999999999-1", "ENTRIESADDED", "x"), ("99999999999999-1", "ENTRIESADDED", "1"),
                     ("99999999999999-1", "MAXDELETEDID", "99999999999999-2"),
                     ("99999999999999-1", "MAXDELETEDID", "x"), ("99999999999999-1", "FOO", "1"),
                     ("99999999999999-1", "ENTRIESADDED"),
                     ("99999999999999-1", "ENTRIESADDED", "100", "MAXDELETEDID", "5-5")]:
            p.run("XSETID", "s", *args)
            p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        p.run("DEL", "e")
        p.run("XADD", "e", "MAXLEN", "0", "5-5", "f", "v")
        p.run("XSETID", "e", "1-1")
        p.run("XSETID", "e", "7-7", "ENTRIESADDED", "0")
        p.run("XINFO", "STREAM", "e", normalize=radix_masked)
        p.run("SET", "str", "x")
        p.run("XSETID", "str", "1-1")


# ---------------------------------------------------------------------------
# XREAD
# ---------------------------------------------------------------------------

def test_xread_without_blocking():
    with Pair() as p:
        fill(p, "a", 5)
        fill(p, "b", 3, start=10)
        p.run("XREAD", "STREAMS", "a", "0")
        p.run("XREAD", "COUNT", "2", "STREAMS", "a", "b", "2-1", "0-0")
        p.run("XREAD", "COUNT", "0", "STREAMS", "a", "b", "5-1", "0")
        p.run("XREAD", "COUNT", "-5", "STREAMS", "a", "b", "3", "11")
        p.run("XREAD", "STREAMS", "a", "b", "$", "$")
        p.run("XREAD", "STREAMS", "a", "missing", "0", "0")
        p.run("XREAD", "STREAMS", "missing", "0")
        p.run("XREAD", "STREAMS", "a", "18446744073709551615-18446744073709551615")
        p.run("XREAD", "BLOCK", "10", "COUNT", "1", "STREAMS", "a", "b", "0", "0")
        for args in [("STREAMS", "a"), ("STREAMS", "a", "b", "0"), ("STREAMS",), ("COUNT", "x", "STREAMS", "a", "0"),
                     ("BLOCK", "x", "STREAMS", "a", "0"), ("BLOCK", "-1", "STREAMS", "a", "0"),
                     ("GROUP", "g", "c", "STREAMS", "a", "0"), ("NOACK", "STREAMS", "a", "0"),
                     ("STREAMS", "a", ">"), ("STREAMS", "a", "x"), ("STREAMS", "a", "-"), ("STREAMS", "a", "+"),
                     ("FOO", "STREAMS", "a", "0"), ("COUNT", "1"), ("STREAMS", "a", "b", "0", "x")]:
            p.run("XREAD", *args)
        p.run("SET", "str", "x")
        p.run("XREAD", "STREAMS", "a", "str", "0", "0")
        p.run("XREAD", "STREAMS", "str", "$")
        p.d.execute("HELLO", "3")
        p.r.execute("HELLO", "3")
        p.run("XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0")
        p.run("XREAD", "STREAMS", "a", "$")
        p.run("XREAD", "BLOCK", "10", "STREAMS", "a", "$")


def _blocking_pair_flow(server_client, make_client):
    """A reader blocked with $ is woken by XADD from another client with
    exactly the new entry; entries added before it blocked are not seen."""
    out = {}
    admin = server_client
    admin.execute("DEL", "s")
    admin.execute("XADD", "s", "1-1", "old", "x")
    reader = make_client()
    reader.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    wait_blocked(admin, 1)
    # a change that adds nothing keeps it waiting
    admin.execute("XGROUP", "CREATE", "s", "g", "0")
    admin.execute("XDEL", "s", "9-9")
    time.sleep(0.05)
    assert blocked_clients(admin) == 1
    admin.execute("XADD", "s", "2-1", "new", "y")
    out["woken"] = reader.read_reply()
    # timeout: a null array
    reader.send("XREAD", "BLOCK", "50", "STREAMS", "s", "$")
    out["timeout"] = reader.read_reply()
    # several streams, one of them missing; woken by the key created later
    reader.send("XREAD", "BLOCK", "0", "COUNT", "5", "STREAMS", "s", "t", "$", "$")
    wait_blocked(admin, 1)
    admin.execute("XADD", "t", "7-7", "f", "v")
    out["created"] = reader.read_reply()
    # an explicit ID already below the top answers at once
    out["at_once"] = reader.execute("XREAD", "BLOCK", "0", "STREAMS", "s", "1-1")
    # deleting the stream keeps an XREAD waiting; XADD recreating it wakes it
    reader.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    wait_blocked(admin, 1)
    admin.execute("DEL", "s")
    admin.execute("SET", "s", "string now")
    time.sleep(0.05)
    assert blocked_clients(admin) == 1
    admin.execute("DEL", "s")
    admin.execute("XADD", "s", "5-5", "back", "1")
    out["recreated"] = reader.read_reply()
    # two readers of one stream are both served
    r2 = make_client()
    reader.send("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    r2.send("XREAD", "BLOCK", "0", "STREAMS", "s", "5-5")
    wait_blocked(admin, 2)
    admin.execute("XADD", "s", "6-6", "both", "1")
    out["first"] = reader.read_reply()
    out["second"] = r2.read_reply()
    r2.close()
    # inside MULTI, BLOCK answers at once
    admin.execute("MULTI")
    admin.execute("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    out["multi"] = admin.execute("EXEC")
    reader.close()
    return out


def test_xread_block_woken_by_xadd():
    with Pair() as p:
        a = _blocking_pair_flow(p.d, p.dredis.client)
        b = _blocking_pair_flow(p.r, p.redis.client)
        assert a == b, (a, b)
        assert a["woken"] == [[b"s", [[b"2-1", [b"new", b"y"]]]]]
        assert a["timeout"] is None


def test_xread_block_timeouts_and_resp3():
    with Pair() as p:
        for server_client, make in ((p.d, p.dredis.client), (p.r, p.redis.client)):
            c = make()
            c.execute("HELLO", "3")
            t0 = time.time()
            assert c.execute("XREAD", "BLOCK", "100", "STREAMS", "nothing", "$") is None
            assert time.time() - t0 >= 0.09
            c.send("XREAD", "BLOCK", "0", "STREAMS", "r3", "0")
            wait_blocked(server_client, 1)
            server_client.execute("XADD", "r3", "1-1", "k", "v")
            assert c.read_reply() == {b"r3": [[b"1-1", [b"k", b"v"]]]}
            c.close()
            server_client.execute("DEL", "r3")


# ---------------------------------------------------------------------------
# Consumer groups
# ---------------------------------------------------------------------------

def test_xgroup_subcommands():
    with Pair() as p:
        p.run("XGROUP", "CREATE", "s", "g", "$")
        p.run("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        p.run("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        fill(p, "s", 5)
        p.run("XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "2")
        p.run("XGROUP", "CREATE", "s", "g3", "3-1")
        p.run("XGROUP", "CREATE", "s", "g4", "$", "ENTRIESREAD", "-1")
        for args in [("CREATE", "s", "x", "bad"), ("CREATE", "s", "x", "-"), ("CREATE", "s", "x", "+"),
                     ("CREATE", "s", "x", "0", "ENTRIESREAD", "-2"), ("CREATE", "s", "x", "0", "ENTRIESREAD", "y"),
                     ("CREATE", "s", "x", "0", "ENTRIESREAD"), ("CREATE", "s", "x", "0", "FOO"),
                     ("CREATE", "s", "x"), ("CREATE", "s", "x", "0", "MKSTREAM", "ENTRIESREAD", "1", "X"),
                     ("SETID", "s", "nope", "0"), ("SETID", "s", "g", "bad"), ("SETID", "s", "g", "0", "MKSTREAM"),
                     ("SETID", "s", "g", "0", "ENTRIESREAD"), ("SETID", "s", "g", "0", "ENTRIESREAD", "-3"),
                     ("SETID", "missing", "g", "0"), ("DESTROY", "missing", "g"), ("DESTROY", "s"),
                     ("CREATECONSUMER", "s", "nope", "c"), ("DELCONSUMER", "s", "nope", "c"),
                     ("CREATECONSUMER", "s", "g"), ("FOO", "s", "g"), ("FOO",), ("HELP", "x"), ("DESTROY", "s", "g", "x"),
                     ("CREATECONSUMER", "missing", "g", "c")]:
            p.run("XGROUP", *args)
        p.run("XGROUP")
        p.run("XGROUP", "HELP")
        p.run("XGROUP", "help")
        p.run("XINFO", "GROUPS", "s")
        p.run("XGROUP", "SETID", "s", "g", "2-1")
        p.run("XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "5")
        p.run("XGROUP", "SETID", "s", "g2", "-")
        p.run("XGROUP", "SETID", "s", "g3", "+")
        p.run("XGROUP", "SETID", "s", "g4", "3")
        p.run("XINFO", "GROUPS", "s")
        assert p.run("XGROUP", "CREATECONSUMER", "s", "g", "alice") == 1
        assert p.run("XGROUP", "CREATECONSUMER", "s", "g", "alice") == 0
        p.run("XGROUP", "CREATECONSUMER", "s", "g", "")
        p.run("XGROUP", "CREATECONSUMER", "s", "g", b"b\x00b/..")
        p.run("XINFO", "CONSUMERS", "s", "g", normalize=consumers_masked)
        assert p.run("XGROUP", "DELCONSUMER", "s", "g", "alice") == 0
        assert p.run("XGROUP", "DELCONSUMER", "s", "g", "alice") == 0
        p.run("XINFO", "CONSUMERS", "s", "g", normalize=consumers_masked)
        assert p.run("XGROUP", "DESTROY", "s", "g3") == 1
        assert p.run("XGROUP", "DESTROY", "s", "g3") == 0
        p.run("XINFO", "GROUPS", "s")
        p.run("SET", "str", "x")
        p.run("XGROUP", "CREATE", "str", "g", "$", "MKSTREAM")
        p.run("XGROUP", "DESTROY", "str", "g")
        # a long group name (shortened on disk) and binary ones
        long_name = "g" * 300
        p.run("XGROUP", "CREATE", "s", long_name, "0")
        p.run("XGROUP", "CREATE", "s", b"\x00\xff", "0")
        p.run("XREADGROUP", "GROUP", long_name, "c" * 300, "COUNT", "2", "STREAMS", "s", ">")
        p.run("XINFO", "GROUPS", "s")
        p.run("XINFO", "STREAM", "s", "FULL", normalize=info_full_masked)
        assert p.run("XGROUP", "DESTROY", "s", long_name) == 1
        p.run("XINFO", "GROUPS", "s")


def test_xreadgroup_pel_xack_and_history():
    with Pair() as p:
        fill(p, "s", 10)
        p.run("XGROUP", "CREATE", "s", "g", "0")
        p.run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "g", "carol", "COUNT", "2", "NOACK", "STREAMS", "s", ">")
        p.run("XPENDING", "s", "g")
        p.run("XPENDING", "s", "g", "-", "+", "10", normalize=pending_masked)
        p.run("XINFO", "GROUPS", "s")
        # history: the consumer's own pending entries, delivery count going up
        p.run("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0")
        p.run("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", "1-1")
        p.run("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0-0")
        p.run("XREADGROUP", "GROUP", "g", "nobody", "STREAMS", "s", "0")
        p.run("XPENDING", "s", "g", "-", "+", "10", normalize=pending_masked)
        # a deleted entry shows in the history as [id, nil]
        p.run("XDEL", "s", "2-1")
        p.run("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0")
        p.run("XPENDING", "s", "g", "-", "+", "10", "alice", normalize=pending_masked)
        assert p.run("XACK", "s", "g", "1-1", "2-1", "1-1", "9-9") == 2
        p.run("XACK", "s", "g", "3-1", "bad")
        p.run("XACK", "s", "nope", "3-1")
        p.run("XACK", "missing", "g", "bad")
        p.run("XPENDING", "s", "g")
        p.run("XINFO", "CONSUMERS", "s", "g", normalize=consumers_masked)
        # everything read: nothing more, a null array
        p.run("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "g", "dave", "STREAMS", "s", ">")
        p.run("XINFO", "CONSUMERS", "s", "g", normalize=consumers_masked)
        # SETID back: re-delivery moves PEL entries to the reader
        p.run("XGROUP", "SETID", "s", "g", "0")
        p.run("XREADGROUP", "GROUP", "g", "erin", "COUNT", "4", "STREAMS", "s", ">")
        p.run("XPENDING", "s", "g", "-", "+", "20", normalize=pending_masked)
        p.run("XINFO", "CONSUMERS", "s", "g", normalize=consumers_masked)
        p.run("XINFO", "GROUPS", "s")
        # errors
        fill(p, "t", 2)
        for args in [("GROUP", "nope", "c", "STREAMS", "s", ">"), ("GROUP", "g", "c", "STREAMS", "missing", ">"),
                     ("GROUP", "g", "c", "STREAMS", "s", "$"), ("GROUP", "g", "c", "STREAMS", "s", "bad"),
                     ("GROUP", "g", "c", "STREAMS", "s", "t", ">", ">"), ("STREAMS", "s", ">"),
                     ("GROUP", "g", "STREAMS", "s", ">"), ("GROUP", "g", "c", "STREAMS", "s"),
                     ("GROUP", "g", "c", "COUNT", "x", "STREAMS", "s", ">"), ("GROUP", "g", "c", "FOO", "STREAMS", "s", ">"),
                     ("GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">"), ("GROUP", "g", "c", "STREAMS", "s", "-")]:
            p.run("XREADGROUP", *args)
        p.run("SET", "str", "x")
        p.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">")
        # multiple streams, RESP3
        p.run("XGROUP", "CREATE", "t", "g", "0")
        p.d.execute("HELLO", "3")
        p.r.execute("HELLO", "3")
        p.run("XREADGROUP", "GROUP", "g", "zed", "STREAMS", "s", "t", ">", ">")
        p.run("XREADGROUP", "GROUP", "g", "zed", "STREAMS", "s", "t", "0", "0")


def test_entries_read_and_lag():
    with Pair() as p:
        fill(p, "s", 6)
        p.run("XGROUP", "CREATE", "s", "g", "0")
        p.run("XGROUP", "CREATE", "s", "h", "$")
        p.run("XGROUP", "CREATE", "s", "i", "3-1")
        p.run("XINFO", "GROUPS", "s")
        p.run("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "i", "c", "COUNT", "1", "STREAMS", "s", ">")
        p.run("XINFO", "GROUPS", "s")
        p.run("XDEL", "s", "5-1")            # a tombstone ahead of the groups
        p.run("XINFO", "GROUPS", "s")
        p.run("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
        p.run("XINFO", "GROUPS", "s")
        p.run("XDEL", "s", "1-1")            # the first entry
        p.run("XINFO", "GROUPS", "s")
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        p.run("XADD", "s", "7-1", "f", "v")
        p.run("XINFO", "GROUPS", "s")
        p.run("XTRIM", "s", "MAXLEN", "0")
        p.run("XINFO", "GROUPS", "s")
        p.run("XINFO", "STREAM", "s", "FULL", normalize=info_full_masked)


def test_xpending_forms():
    with Pair() as p:
        fill(p, "s", 12)
        p.run("XGROUP", "CREATE", "s", "g", "0")
        p.run("XPENDING", "s", "g")
        p.run("XREADGROUP", "GROUP", "g", "b", "COUNT", "4", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "g", "a", "COUNT", "5", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
        p.run("XPENDING", "s", "g")
        for args in [("-", "+", "3"), ("-", "+", "0"), ("-", "+", "-1"), ("(2-1", "+", "100"), ("3", "6", "100"),
                     ("-", "(5-1", "100"), ("-", "+", "100", "a"), ("-", "+", "2", "b"), ("-", "+", "100", "nobody"),
                     ("IDLE", "0", "-", "+", "100"), ("IDLE", "100000", "-", "+", "100"),
                     ("IDLE", "0", "-", "+", "100", "c")]:
            p.run("XPENDING", "s", "g", *args, normalize=pending_masked)
        for args in [("-",), ("-", "+"), ("-", "+", "x"), ("x", "+", "1"), ("-", "y", "1"), ("IDLE", "x", "-", "+", "1"),
                     ("IDLE", "5", "-", "+"), ("(-", "+", "1"), ("-", "+", "1", "a", "b", "c", "d"),
                     ("IDLE", "1", "-", "+", "1", "a", "x")]:
            p.run("XPENDING", "s", "g", *args)
        p.run("XPENDING", "s", "nope")
        p.run("XPENDING", "missing", "g")
        p.run("XPENDING", "missing", "g", "-", "+", "1")
        p.run("SET", "str", "x")
        p.run("XPENDING", "str", "g")
        # idle times are real: an entry delivered a while ago
        time.sleep(0.12)
        p.run("XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "STREAMS", "s", ">")
        a = p.d.execute("XPENDING", "s", "g", "IDLE", "100", "-", "+", "100")
        b = p.r.execute("XPENDING", "s", "g", "IDLE", "100", "-", "+", "100")
        assert pending_masked(a) == pending_masked(b) and len(a) == 10
        assert all(e[2] >= 100 for e in a)


def test_xclaim():
    with Pair() as p:
        fill(p, "s", 10)
        p.run("XGROUP", "CREATE", "s", "g", "0")
        p.run("XREADGROUP", "GROUP", "g", "a", "COUNT", "6", "STREAMS", "s", ">")
        p.run("XCLAIM", "s", "g", "b", "0", "1-1", "2-1")
        p.run("XCLAIM", "s", "g", "b", "0", "3-1", "JUSTID")
        p.run("XCLAIM", "s", "g", "b", "3600000", "4-1")           # not idle long enough
        p.run("XCLAIM", "s", "g", "b", "0", "4-1", "RETRYCOUNT", "7", "JUSTID")
        p.run("XCLAIM", "s", "g", "c", "0", "5-1", "IDLE", "5000")
        p.run("XCLAIM", "s", "g", "c", "0", "6-1", "TIME", "1000")
        p.run("XCLAIM", "s", "g", "c", "0", "8-1")                 # not pending: ignored
        p.run("XCLAIM", "s", "g", "c", "0", "8-1", "9-1", "FORCE")  # created
        p.run("XCLAIM", "s", "g", "c", "0", "99-1", "FORCE")       # no such entry
        p.run("XCLAIM", "s", "g", "c", "0", "10-1", "FORCE", "JUSTID", "LASTID", "10-1")
        p.run("XINFO", "GROUPS", "s")
        p.run("XPENDING", "s", "g", "-", "+", "20", normalize=pending_masked)
        a = p.d.execute("XPENDING", "s", "g", "-", "+", "20")
        b = p.r.execute("XPENDING", "s", "g", "-", "+", "20")
        idle = {e[0]: e[2] for e in a}
        assert idle[b"5-1"] >= 5000 and idle[b"6-1"] > 10 ** 9, a
        assert [e[2] >= 5000 for e in a] == [e[2] >= 5000 for e in b]
        p.run("XINFO", "CONSUMERS", "s", "g", normalize=consumers_masked)
        # an entry deleted from the stream leaves the PEL when claimed
        p.run("XDEL", "s", "1-1")
        p.run("XCLAIM", "s", "g", "c", "0", "1-1")
        p.run("XPENDING", "s", "g")
        for args in [("x", "1-1"), ("0", "1-1", "FOO"), ("0", "1-1", "IDLE", "x"), ("0", "1-1", "TIME", "x"),
                     ("0", "1-1", "RETRYCOUNT", "x"), ("0", "1-1", "LASTID", "x"), ("0", "bad"),
                     ("0", "1-1", "FORCE", "2-1"), ("-5", "2-1", "JUSTID")]:
            p.run("XCLAIM", "s", "g", "c", *args)
        p.run("XCLAIM", "s", "nope", "c", "x", "1-1")
        p.run("XCLAIM", "missing", "g", "c", "0", "1-1")
        p.run("SET", "str", "x")
        p.run("XCLAIM", "str", "g", "c", "0", "1-1")


def test_xautoclaim():
    with Pair() as p:
        fill(p, "s", 20)
        p.run("XGROUP", "CREATE", "s", "g", "0")
        p.run("XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">")
        p.run("XAUTOCLAIM", "s", "g", "b", "0", "0", "COUNT", "3")
        p.run("XAUTOCLAIM", "s", "g", "b", "0", "4-1", "COUNT", "2", "JUSTID")
        p.run("XAUTOCLAIM", "s", "g", "b", "3600000", "0")
        p.run("XDEL", "s", "7-1", "8-1", "12-1")
        p.run("XAUTOCLAIM", "s", "g", "c", "0", "(6-1", "COUNT", "4")
        p.run("XAUTOCLAIM", "s", "g", "c", "0", "-")
        p.run("XAUTOCLAIM", "s", "g", "c", "0", "19-1")
        p.run("XAUTOCLAIM", "s", "g", "c", "0", "21-1")
        p.run("XPENDING", "s", "g")
        p.run("XPENDING", "s", "g", "-", "+", "50", normalize=pending_masked)
        for args in [("x", "0"), ("0", "x"), ("0", "0", "COUNT", "0"), ("0", "0", "COUNT", "-1"),
                     ("0", "0", "COUNT", "x"), ("0", "0", "COUNT", "9223372036854775807"), ("0", "0", "FOO"),
                     ("0", "(18446744073709551615-18446744073709551615"), ("0", "0", "COUNT")]:
            p.run("XAUTOCLAIM", "s", "g", "c", *args)
        p.run("XAUTOCLAIM", "s", "nope", "c", "0", "0")
        p.run("XAUTOCLAIM", "missing", "g", "c", "0", "0")
        p.run("XAUTOCLAIM", "missing", "g", "c", "x", "0")


def test_xinfo():
    with Pair() as p:
        p.run("XINFO", "STREAM", "missing")
        p.run("XINFO", "GROUPS", "missing")
        p.run("XINFO", "HELP")
        p.run("XINFO", "help")
        p.run("XINFO", "HELP", "x")
        p.run("XINFO")
        p.run("XINFO", "FOO")
        fill(p, "s", 30)
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        p.run("XINFO", "STREAM", "s", "FULL", normalize=info_full_masked)
        p.run("XGROUP", "CREATE", "s", "g1", "0")
        p.run("XGROUP", "CREATE", "s", "g0", "5-1")
        p.run("XREADGROUP", "GROUP", "g1", "x", "COUNT", "12", "STREAMS", "s", ">")
        p.run("XREADGROUP", "GROUP", "g1", "y", "COUNT", "3", "STREAMS", "s", ">")
        p.run("XGROUP", "CREATECONSUMER", "s", "g1", "idle")
        for args in [("FULL",), ("FULL", "COUNT", "5"), ("FULL", "COUNT", "0"), ("FULL", "COUNT", "-3"),
                     ("full", "count", "2")]:
            p.run("XINFO", "STREAM", "s", *args, normalize=info_full_masked)
        for args in [("FULL", "COUNT"), ("FULL", "COUNT", "x"), ("FOO",), ("FULL", "X", "1"), ("FULL", "COUNT", "1", "x")]:
            p.run("XINFO", "STREAM", "s", *args)
        p.run("XINFO", "GROUPS", "s")
        p.run("XINFO", "CONSUMERS", "s", "g1", normalize=consumers_masked)
        p.run("XINFO", "CONSUMERS", "s", "nope")
        p.run("XINFO", "CONSUMERS", "s")
        p.run("XINFO", "GROUPS", "s", "x")
        p.run("SET", "str", "x")
        p.run("XINFO", "STREAM", "str")
        # RESP3 maps
        p.d.execute("HELLO", "3")
        p.r.execute("HELLO", "3")
        p.run("XINFO", "STREAM", "s", normalize=radix_masked)
        p.run("XINFO", "GROUPS", "s")
        # seen times and idle times are real times
        info = p.d.execute("XINFO", "STREAM", "s", "FULL")
        now = int(time.time() * 1000)
        for g in info[b"groups"]:
            for cons in g[b"consumers"]:
                assert abs(now - cons[b"seen-time"]) < 60000
            for e in g[b"pending"]:
                assert abs(now - e[2]) < 60000


# ---------------------------------------------------------------------------
# Blocking XREADGROUP
# ---------------------------------------------------------------------------

def _readgroup_block_flow(admin, make_client):
    out = {}
    admin.execute("DEL", "s")
    admin.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    reader = make_client()
    reader.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(admin, 1)
    admin.execute("XADD", "s", "1-1", "job", "1")
    out["woken"] = reader.read_reply()
    out["pending"] = pending_masked(admin.execute("XPENDING", "s", "g", "-", "+", "10"))
    # two readers in one group: each entry goes to one of them
    r2 = make_client()
    reader.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", ">")
    wait_blocked(admin, 1)
    r2.send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "COUNT", "1", "STREAMS", "s", ">")
    wait_blocked(admin, 2)
    admin.execute("XADD", "s", "2-1", "job", "2")
    out["alice"] = reader.read_reply()
    wait_blocked(admin, 1)
    admin.execute("XADD", "s", "3-1", "job", "3")
    out["bob"] = r2.read_reply()
    # NOACK
    reader.send("XREADGROUP", "GROUP", "g", "carol", "BLOCK", "0", "NOACK", "STREAMS", "s", ">")
    wait_blocked(admin, 1)
    admin.execute("XADD", "s", "4-1", "job", "4")
    out["noack"] = reader.read_reply()
    out["summary"] = admin.execute("XPENDING", "s", "g")
    out["groups"] = admin.execute("XINFO", "GROUPS", "s")
    # timeout
    out["timeout"] = reader.execute("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "30", "STREAMS", "s", ">")
    # the group destroyed while waiting
    reader.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(admin, 1)
    admin.execute("XGROUP", "DESTROY", "s", "g")
    out["destroyed"] = reader.read_reply()
    # the key deleted while waiting
    admin.execute("XGROUP", "CREATE", "s", "g", "$")
    reader.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
    wait_blocked(admin, 1)
    admin.execute("DEL", "s")
    out["deleted"] = reader.read_reply()
    # FLUSHALL and FLUSHDB while waiting: the same
    for flush in ("FLUSHALL", "FLUSHDB"):
        admin.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        reader.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
        wait_blocked(admin, 1)
        admin.execute(flush)
        out[flush] = reader.read_reply()
    # history reads never block
    admin.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    out["history"] = reader.execute("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", "0")
    out["clients"] = blocked_clients(admin)
    reader.close()
    r2.close()
    return out


def test_xreadgroup_block_woken_by_xadd():
    with Pair() as p:
        a = _readgroup_block_flow(p.d, p.dredis.client)
        b = _readgroup_block_flow(p.r, p.redis.client)
        assert a == b, (a, b)
        assert a["woken"] == [[b"s", [[b"1-1", [b"job", b"1"]]]]]
        assert a["destroyed"] == RespError("NOGROUP the consumer group this client was blocked on no longer exists")
        assert a["deleted"] == RespError("UNBLOCKED the stream key no longer exists")
        assert a["FLUSHALL"] == a["FLUSHDB"] == a["deleted"]


# ---------------------------------------------------------------------------
# generic key commands, emptied and deleted streams
# ---------------------------------------------------------------------------

def test_generic_key_commands_on_streams():
    with Pair() as p:
        fill(p, "s", 3)
        p.run("XGROUP", "CREATE", "s", "g", "0")
        p.run("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
        assert p.run("TYPE", "s") == "stream"
        p.run("EXISTS", "s")
        p.run("SCAN", "0", "TYPE", "stream")
        p.run("SET", "str", "x")
        p.run("SCAN", "0", "TYPE", "stream")
        p.run("RENAME", "s", "s2")
        p.run("XRANGE", "s2", "-", "+")
        p.run("XPENDING", "s2", "g")
        p.run("XINFO", "STREAM", "s2", "FULL", normalize=info_full_masked)
        p.run("EXPIRE", "s2", "100")
        p.run("TTL", "s2")
        p.run("PERSIST", "s2")
        p.run("PEXPIRE", "s2", "50")
        wait_until(lambda: p.d.execute("EXISTS", "s2") == 0 and p.r.execute("EXISTS", "s2") == 0,
                   what="expiry of a stream")
        p.run("XLEN", "s2")
        # an empty stream is a key
        p.run("XADD", "e", "MAXLEN", "0", "1-1", "f", "v")
        assert p.run("TYPE", "e") == "stream"
        p.run("XINFO", "STREAM", "e", normalize=radix_masked)
        p.run("XRANGE", "e", "-", "+")
        p.run("XREAD", "STREAMS", "e", "0")
        assert p.run("DEL", "e") == 1
        p.run("XLEN", "e")
        p.run("XGROUP", "CREATE", "m", "g", "$", "MKSTREAM")
        assert p.run("TYPE", "m") == "stream"
        p.run("XINFO", "STREAM", "m", normalize=radix_masked)
        p.run("COPY", "m", "m2")
        p.run("XINFO", "GROUPS", "m2")
        p.run("XADD", "m2", "1-1", "f", "v")
        p.run("XLEN", "m")
        p.run("XLEN", "m2")


def test_command_info_for_stream_commands():
    with Pair() as p:
        for name in ["xadd", "xlen", "xrange", "xrevrange", "xdel", "xtrim", "xsetid", "xack", "xclaim",
                     "xautoclaim", "xpending", "xread", "xreadgroup"]:
            a, b = both(p, "COMMAND", "INFO", name)
            assert a[0][:2] == b[0][:2], (a[0], b[0])           # name, arity
            assert set(a[0][2]) - {"movablekeys"} == set(b[0][2]) - {"movablekeys"}, (name, a[0][2], b[0][2])
        for sub in ["xgroup|create", "xgroup|setid", "xgroup|destroy", "xgroup|createconsumer",
                    "xgroup|delconsumer", "xinfo|stream", "xinfo|groups", "xinfo|consumers"]:
            a, b = both(p, "COMMAND", "INFO", sub)
            assert a[0][:2] == b[0][:2], (a[0], b[0])


# ---------------------------------------------------------------------------
# the tree on disk
# ---------------------------------------------------------------------------

def test_tree_after_each_kind_of_write():
    with Dredis() as d:
        c = d.client()
        d_ = key_dir(d, "s")
        assert c.execute("XADD", "s", "5-1", "f", "v", "g", b"\x00") == b"5-1"
        assert stream_files(d, "s") == ["head", "last-id", "len", "seg-first", "seg-first/0", "segments",
                                        "segments/0", "tail", "type"]
        assert read(os.path.join(d_, "type")) == b"stream"
        assert read(os.path.join(d_, "len")) == b"1"
        assert read(os.path.join(d_, "head")) == b"0"
        assert read(os.path.join(d_, "tail")) == b"0"
        assert read(os.path.join(d_, "last-id")) == b"5-1"
        assert read(os.path.join(d_, "seg-first", "0")) == b"5-1"
        rec5 = b"+5-1\r\n*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\ng\r\n$1\r\n\x00\r\n"
        assert read(os.path.join(d_, "segments", "0")) == rec5
        # the 101st entry starts segment 1
        c.pipeline([("XADD", "s", "%d-1" % i, "f", "v") for i in range(6, 106)])
        assert sorted(os.listdir(os.path.join(d_, "segments"))) == ["0", "1"]
        seg0 = read(os.path.join(d_, "segments", "0"))
        assert seg0 == rec5 + b"".join(b"+%d-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n" % i for i in range(6, 105))
        assert read(os.path.join(d_, "segments", "1")) == b"+105-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
        assert read(os.path.join(d_, "seg-first", "1")) == b"105-1"
        assert read(os.path.join(d_, "tail")) == b"1"
        assert read(os.path.join(d_, "len")) == b"101"
        assert read(os.path.join(d_, "last-id")) == b"105-1"
        # XDEL: the segment is rewritten without the entry; len, max-deleted-id
        # and entries-removed follow
        assert c.execute("XDEL", "s", "50-1") == 1
        assert read(os.path.join(d_, "segments", "0")) == seg0.replace(b"+50-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", b"")
        assert read(os.path.join(d_, "len")) == b"100"
        assert read(os.path.join(d_, "max-deleted-id")) == b"50-1"
        assert read(os.path.join(d_, "entries-removed")) == b"1"
        # XTRIM ~ drops whole segments
        assert c.execute("XTRIM", "s", "MAXLEN", "~", "1") == 99
        assert os.listdir(os.path.join(d_, "segments")) == ["1"]
        assert os.listdir(os.path.join(d_, "seg-first")) == ["1"]
        assert read(os.path.join(d_, "head")) == b"1"
        assert read(os.path.join(d_, "entries-removed")) == b"100"
        info = c.execute("XINFO", "STREAM", "s")
        assert info[info.index(b"entries-added") + 1] == 101
        # exact trimming of everything removes the last segment too
        assert c.execute("XTRIM", "s", "MAXLEN", "0") == 1
        assert os.listdir(os.path.join(d_, "segments")) == []
        assert read(os.path.join(d_, "head")) == b"2" and read(os.path.join(d_, "tail")) == b"1"
        assert c.execute("XADD", "s", "200-1", "f", "v") == b"200-1"
        assert os.listdir(os.path.join(d_, "segments")) == ["2"]
        # consumer groups
        c.execute("XGROUP", "CREATE", "s", "g", "0")
        g = os.path.join(d_, "groups", "g")
        assert sorted(os.listdir(g)) == ["entries-read", "last-id"]
        assert read(os.path.join(g, "last-id")) == b"0-0" and read(os.path.join(g, "entries-read")) == b"-1"
        c.execute("XADD", "s", "201-1", "f", "v")
        c.execute("XREADGROUP", "GROUP", "g", "c/1", "COUNT", "1", "STREAMS", "s", ">")
        assert read(os.path.join(g, "last-id")) == b"200-1"
        assert read(os.path.join(g, "entries-read")) == b"102"
        pel = read(os.path.join(g, "pending", "200-1"))
        t, rest = pel.split(b" ", 1)
        assert rest == b"1\nc/1" and abs(int(t) - time.time() * 1000) < 60000
        cons = os.path.join(g, "consumers", "c%2F1")
        assert sorted(files_under(cons)) == ["pending", "pending/200-1", "seen-time"]
        assert read(os.path.join(cons, "pending", "200-1")) == b""
        c.execute("XCLAIM", "s", "g", "d", "0", "200-1")
        assert os.listdir(os.path.join(cons, "pending")) == []
        assert os.listdir(os.path.join(g, "consumers", "d", "pending")) == ["200-1"]
        assert read(os.path.join(g, "pending", "200-1")).endswith(b" 2\nd")
        c.execute("XACK", "s", "g", "200-1")
        assert os.listdir(os.path.join(g, "pending")) == []
        assert os.listdir(os.path.join(g, "consumers", "d", "pending")) == []
        c.execute("XGROUP", "DELCONSUMER", "s", "g", "d")
        assert sorted(os.listdir(os.path.join(g, "consumers"))) == ["c%2F1"]
        c.execute("XGROUP", "DESTROY", "s", "g")
        assert os.listdir(os.path.join(d_, "groups")) == []
        assert staging_leftovers(d.root_dir) == []
        c.close()


def test_consumer_group_state_survives_restart():
    with Dredis() as d:
        c = d.client()
        c.pipeline([("XADD", "s", "%d-1" % i, "f", str(i)) for i in range(1, 251)])
        c.execute("XGROUP", "CREATE", "s", "g", "0")
        c.execute("XGROUP", "CREATE", "s", "h", "100-1", "ENTRIESREAD", "100")
        c.execute("XREADGROUP", "GROUP", "g", "alice", "COUNT", "120", "STREAMS", "s", ">")
        c.execute("XREADGROUP", "GROUP", "g", "bob", "COUNT", "5", "STREAMS", "s", ">")
        c.execute("XREADGROUP", "GROUP", "h", "carol", "COUNT", "3", "NOACK", "STREAMS", "s", ">")
        c.execute("XCLAIM", "s", "g", "bob", "0", "7-1", "8-1", "RETRYCOUNT", "4")
        c.execute("XACK", "s", "g", "1-1", "2-1")
        c.execute("XDEL", "s", "3-1", "200-1")
        c.execute("XGROUP", "CREATECONSUMER", "s", "h", "dave")
        queries = [("XINFO", "STREAM", "s", "FULL", "COUNT", "0"), ("XINFO", "GROUPS", "s"),
                   ("XPENDING", "s", "g"), ("XPENDING", "s", "h"), ("XLEN", "s"), ("XRANGE", "s", "-", "+"),
                   ("XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", "0")]
        before = [c.execute(*q) for q in queries[:-1]]
        before_consumers = consumers_masked(c.execute("XINFO", "CONSUMERS", "s", "g"))
        before_pending = pending_masked(c.execute("XPENDING", "s", "g", "-", "+", "1000"))
        c.close()
        d.restart()
        c = d.client()
        after = [c.execute(*q) for q in queries[:-1]]
        assert after == before
        assert consumers_masked(c.execute("XINFO", "CONSUMERS", "s", "g")) == before_consumers
        assert pending_masked(c.execute("XPENDING", "s", "g", "-", "+", "1000")) == before_pending
        info = c.execute("XINFO", "GROUPS", "s")
        assert info[0][info[0].index(b"pending") + 1] == 123
        assert info[0][info[0].index(b"last-delivered-id") + 1] == b"125-1"
        assert info[0][info[0].index(b"entries-read") + 1] == 125
        # reading goes on where it stopped
        assert c.execute("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "s", ">") == \
            [[b"s", [[b"126-1", [b"f", b"126"]]]]]
        c.close()


# ---------------------------------------------------------------------------
# a long stream
# ---------------------------------------------------------------------------

def _strace_command(pid, client, args):
    """Run one command while strace follows the server; returns its reply
    and {syscall: calls} the main thread made between reading the command
    and writing its reply, less the expiry scan's (a timer that may run in
    the same event loop turn)."""
    out = "/tmp/dredis-strace-%d-%d" % (os.getpid(), pid)
    proc = subprocess.Popen(["strace", "-f", "-y", "-s", "40", "-e",
                             "trace=openat,getdents64,read,readv,recvfrom,write,writev,sendto",
                             "-o", out, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            # SIGINT stops it below: not ignored, even when the tests run in the background
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stderr.readline().decode()   # "strace: Process N attached"
    assert "attached" in line, line
    time.sleep(0.5)                          # every thread attached
    try:
        reply = client.execute(*args)
    finally:
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    with open(out, errors="replace") as f:
        lines = f.read().splitlines()
    os.unlink(out)
    counts, inside, sockfd, tid = {}, False, None, None
    marker = '$%d\\r\\n%s' % (len(args[0]), args[0])
    unfinished = {}                          # thread -> (call, fd) of a call strace split in two
    for l in lines:
        if "/.expires>" in l:
            continue                         # the expiry scan of the timer, run in the same loop turn
        m = re.match(r"^(\d+)\s+(\w+)\((\d+)?", l)
        if m and l.endswith("<unfinished ...>"):
            unfinished[m.group(1)] = (m.group(2), m.group(3))
            continue
        r = re.match(r"^(\d+)\s+<\.\.\. (\w+) resumed>", l)
        if r and r.group(1) in unfinished:
            (call, fd), thread = unfinished.pop(r.group(1)), r.group(1)
        elif m:
            thread, call, fd = m.group(1), m.group(2), m.group(3)
        else:
            continue
        if not inside:
            if call in ("read", "readv", "recvfrom") and marker in l:
                inside, sockfd, tid = True, fd, thread
            continue
        if thread != tid:
            continue                         # the background thread (trash, pools)
        if call in ("write", "writev", "sendto") and fd == sockfd:
            break
        counts[call] = counts.get(call, 0) + 1
    assert inside, "the command was not seen in the trace"
    return reply, counts


def test_long_stream_reads_a_bounded_number_of_files():
    n = 100000
    with Dredis() as d:
        c = d.client(timeout=120)
        batch = 2000
        for start in range(0, n, batch):
            replies = c.pipeline([("XADD", "big", "%d-1" % (i + 1), "f", "v%d" % (i + 1))
                                  for i in range(start, start + batch)])
            assert replies[-1] == b"%d-1" % (start + batch)
        assert c.execute("XLEN", "big") == n
        segments = os.listdir(os.path.join(key_dir(d, "big"), "segments"))
        assert len(segments) == n // 100
        mid = n // 2
        expected = [[b"%d-1" % i, [b"f", b"v%d" % i]] for i in range(mid, mid + 10)]
        pid = d.proc.pid
        before = proc_io(pid)
        reply = c.execute("XRANGE", "big", "%d" % mid, "+", "COUNT", "10")
        after = proc_io(pid)
        assert reply == expected
        # a whole-stream read would be 100,000 file reads
        reads = after["syscr"] - before["syscr"]
        assert reads < 200, reads
        assert c.execute("XREVRANGE", "big", "%d" % (mid + 9), "-", "COUNT", "10") == expected[::-1]
        before = proc_io(pid)
        assert c.execute("XREAD", "COUNT", "10", "STREAMS", "big", "%d-1" % (mid - 1)) == [[b"big", expected]]
        after = proc_io(pid)
        assert after["syscr"] - before["syscr"] < 200, after["syscr"] - before["syscr"]
        if shutil.which("strace"):
            reply, counts = _strace_command(pid, c, ("XRANGE", "big", "(%d-1" % (mid - 1), "+", "COUNT", "10"))
            assert reply == expected
            # key files, ~log2(1000) segment first-IDs, one or two segment
            # listings and ten entries
            assert 10 <= counts.get("openat", 0) < 60, counts
            assert counts.get("getdents64", 0) < 10, counts
        # XADD on the long stream touches a constant number of files
        before = proc_io(pid)
        assert c.execute("XADD", "big", "MAXLEN", "~", str(n), "%d-1" % (n + 1), "f", "v") == b"%d-1" % (n + 1)
        after = proc_io(pid)
        assert after["syscr"] - before["syscr"] < 100
        c.close()


# ---------------------------------------------------------------------------
# randomized comparison
# ---------------------------------------------------------------------------

def test_randomized_differential():
    rng = random.Random(1234)
    with Pair() as p:
        next_id = {"a": 1, "b": 1}
        for step in range(1500):
            key = rng.choice(["a", "b"])
            op = rng.random()
            if op < 0.45:
                next_id[key] += rng.choice([0, 1, 1, 2, 50])
                args = ["XADD", key]
                r = rng.random()
                if r < 0.1:
                    args += ["MAXLEN", rng.choice(["=", ""]) or "=", str(rng.randint(0, 300))]
                elif r < 0.15:
                    args += ["MINID", str(rng.randint(0, next_id[key]))]
                args += ["%d-%d" % (next_id[key], rng.randint(0, 3)), "f", str(step)]
                p.run(*args)
            elif op < 0.6:
                ids = ["%d-%d" % (rng.randint(0, next_id[key]), rng.randint(0, 3)) for _ in range(rng.randint(1, 5))]
                p.run("XDEL", key, *ids)
            elif op < 0.65:
                p.run("XTRIM", key, "MAXLEN", str(rng.randint(0, 400)))
            elif op < 0.9:
                a, b = sorted([rng.randint(0, next_id[key] + 5), rng.randint(0, next_id[key] + 5)])
                cmd = rng.choice(["XRANGE", "XREVRANGE"])
                lo, hi = rng.choice([(str(a), str(b)), ("-", str(b)), ("(%d-0" % a, "+")])
                args = [cmd, key] + ([lo, hi] if cmd == "XRANGE" else [hi, lo])
                if rng.random() < 0.7:
                    args += ["COUNT", str(rng.randint(1, 30))]
                p.run(*args)
            elif op < 0.95:
                p.run("XREAD", "COUNT", str(rng.randint(1, 20)), "STREAMS", "a", "b",
                      str(rng.randint(0, next_id["a"])), str(rng.randint(0, next_id["b"])))
            else:
                p.run("XLEN", key)
                p.run("XINFO", "STREAM", key, normalize=radix_masked)
        p.run("XRANGE", "a", "-", "+")
        p.run("XRANGE", "b", "-", "+")


def test_streams_in_scripts():
    with Pair() as p:
        p.run("EVAL", "return redis.call('xadd', KEYS[1], '1-1', 'f', 'v')", 1, "s")
        p.run("EVAL", "return redis.call('xadd', KEYS[1], 'MAXLEN', '~', '10000', '*', 'event', 'done')", 1, "s",
              normalize=lambda r: ID_RE.match(r) is not None)
        p.run("EVAL", "return redis.call('xrange', KEYS[1], '-', '1-1')", 1, "s")
        p.run("EVAL", "return redis.call('xlen', KEYS[1])", 1, "s")
        # BLOCK is refused in scripts
        p.run("EVAL", "return redis.pcall('xread', 'block', '0', 'streams', KEYS[1], '$')", 1, "s")
        p.run("EVAL", "return redis.pcall('xreadgroup', 'group', 'g', 'c', 'block', '0', 'streams', KEYS[1], '>')",
              1, "s")
        p.run("EVAL", "return redis.call('xread', 'count', '1', 'streams', KEYS[1], '0')", 1, "s")
        p.run("EVAL", "redis.call('xgroup', 'create', KEYS[1], 'g', '0'); "
                      "return redis.call('xreadgroup', 'group', 'g', 'c', 'count', '1', 'streams', KEYS[1], '>')",
              1, "s")
        p.run("EVAL", "return redis.call('xpending', KEYS[1], 'g')", 1, "s")
        p.run("EVAL", "return redis.call('xack', KEYS[1], 'g', '1-1')", 1, "s")
        p.run("EVAL", "return redis.call('xinfo', 'groups', KEYS[1])", 1, "s")


def test_kill_during_writes_leaves_a_consistent_stream():
    with Dredis() as d:
        c = d.client()
        c.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        cmds = []
        for i in range(1, 3001):
            cmds.append(("XADD", "s", "MAXLEN", "=", "2500", "%d-1" % i, "f", "v%d" % i))
            if i % 7 == 0:
                cmds.append(("XREADGROUP", "GROUP", "g", "c%d" % (i % 3), "COUNT", "3", "STREAMS", "s", ">"))
            if i % 11 == 0:
                cmds.append(("XACK", "s", "g", "%d-1" % (i - 20)))
        from dredis_test import encode_command
        c.send_raw(b"".join(encode_command(x) for x in cmds))
        probe = d.client()
        wait_until(lambda: probe.execute("XLEN", "s") > 300, what="some entries written")
        probe.close()
        d.kill()
        c.close()
        d.start()
        c = d.client()
        n = c.execute("XLEN", "s")
        entries = c.execute("XRANGE", "s", "-", "+")
        assert len(entries) == n > 0
        ids = [int(e[0].split(b"-")[0]) for e in entries]
        assert ids[-1] < 3000, "the kill came after the last write"
        assert ids == list(range(ids[0], ids[0] + n))
        assert all(e[1] == [b"f", b"v%d" % i] for e, i in zip(entries, ids))
        info = c.execute("XINFO", "STREAM", "s")
        assert info[info.index(b"last-generated-id") + 1] == b"%d-1" % ids[-1]
        assert info[info.index(b"entries-added") + 1] == ids[-1]
        # the PEL and the consumers' references agree
        summary = c.execute("XPENDING", "s", "g")
        per_consumer = sum(int(x[1]) for x in summary[3] or [])
        assert summary[0] == per_consumer
        detail = c.execute("XPENDING", "s", "g", "-", "+", "100000")
        assert len(detail) == summary[0]
        cons = c.execute("XINFO", "CONSUMERS", "s", "g")
        assert sum(x[x.index(b"pending") + 1] for x in cons) == summary[0]
        assert c.execute("XADD", "s", "%d-1" % (ids[-1] + 1), "f", "next") == b"%d-1" % (ids[-1] + 1)
        assert staging_leftovers(d.root_dir) == []
        c.close()


def test_approximate_trim_follows_stream_node_max_entries():
    """Redis's unit/type/stream LIMIT tests: `~` removes whole nodes of
    stream-node-max-entries entries, at most LIMIT entries."""
    with Pair() as p:
        p.run("CONFIG", "SET", "stream-node-max-entries", "10")
        for i in range(100):
            p.run("XADD", "s", "%d-1" % (i + 1), "f", "v")
        p.run("XADD", "s", "MAXLEN", "~", "55", "LIMIT", "30", "200-1", "f", "v")
        p.run("XLEN", "s")
        p.run("XADD", "s", "MAXLEN", "~", "55", "LIMIT", "30", "201-1", "f", "v")
        assert p.run("XLEN", "s") == 62
        p.run("CONFIG", "SET", "stream-node-max-entries", "2")
        for i in range(3):
            p.run("XADD", "t", "%d-1" % (i + 1), "f", "v")
        assert p.run("XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "1") == 0
        assert p.run("XTRIM", "t", "MAXLEN", "~", "0", "LIMIT", "2") == 2
        p.run("CONFIG", "SET", "stream-node-max-entries", "0")
        for i in range(250):
            p.run("XADD", "u", "%d-1" % (i + 1), "f", "v")
        p.run("XTRIM", "u", "MAXLEN", "~", "10")
        p.run("XLEN", "u")
        p.run("CONFIG", "SET", "stream-node-max-entries", "100")


def test_blocked_commands_count_as_one_call():
    """INFO commandstats: a command that blocked counts once, when it is
    served, fails (XGROUP DESTROY under XREADGROUP) or times out."""
    def calls(c, name):
        info = c.execute("INFO", "commandstats").decode()
        for line in info.splitlines():
            if line.startswith("cmdstat_%s:" % name):
                fields = dict(f.split("=") for f in line.split(":", 1)[1].split(","))
                return fields["calls"], fields["failed_calls"]
        return None

    with Pair() as p:
        for server, c in ((p.dredis, p.d), (p.redis, p.r)):
            c.execute("CONFIG", "RESETSTAT")
            c.execute("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
            with server.client() as w:
                w.send("XREADGROUP", "GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">")
                wait_until(lambda: b"blocked_clients:1" in c.execute("INFO", "clients"), what="block")
                c.execute("SET", "unrelated", "1")
                c.execute("XGROUP", "DESTROY", "s", "g")
                assert isinstance(w.read_reply(), RespError)
                w.send("BLPOP", "l", 0)
                wait_until(lambda: b"blocked_clients:1" in c.execute("INFO", "clients"), what="block")
                c.execute("RPUSH", "l", "a")
                assert w.read_reply() == [b"l", b"a"]
                assert w.execute("BLPOP", "nothing", "0.05") is None
        for name in ("xreadgroup", "blpop"):
            assert calls(p.d, name) == calls(p.r, name), (name, calls(p.d, name), calls(p.r, name))
