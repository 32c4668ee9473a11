"""dredis-check: a tree written by a real dredis-server (every type, long,
binary and hostile names, TTLs, lists of several segments, sorted sets,
streams with consumer groups) passes; each way the format can be damaged
is reported with its exact path and a nonzero exit; --repair makes a tree
pass again where the data allows, and the server then serves the repaired
data (HLEN, SCARD, ZCARD, ZRANGE, TTL, XPENDING ...). Also: the exit codes,
the refusal of a tree a live server uses (and the server's refusal of a
second server), a BGSAVE snapshot passing, and the progress line only on
a terminal."""
import hashlib
import os
import pty
import shutil
import struct
import subprocess
import tempfile
import time

from dredis_test import DREDIS_SERVER, Dredis, free_port, wait_until

DREDIS_CHECK = os.environ.get("DREDIS_CHECK") or os.path.join(os.path.dirname(os.path.abspath(DREDIS_SERVER)),
                                                              "dredis-check")
KEEP = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-@+=,"
HOSTILE = "../../etc/passwd\n\x00\x7f\r%~ é"
LONG_KEY = "k" * 300
LONG_MEMBER = "m" * 250


def enc(name):
    """A name's file name (docs/storage-format.md, Names)."""
    raw = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    e = "".join(chr(c) if c in KEEP and not (i == 0 and c == 46) else "%%%02X" % c for i, c in enumerate(raw)) or "%"
    if len(e) > 200:
        cut = 119 if e[119] == "%" else 118 if e[118] == "%" else 120
        e = e[:cut] + "~" + hashlib.sha1(raw).hexdigest()
    return e


def score_hex(score):
    u = struct.unpack(">Q", struct.pack(">d", float(score)))[0]
    u = (~u & 0xFFFFFFFFFFFFFFFF) if u >> 63 else u | (1 << 63)
    return "%016x" % u


def run_check(root, *args):
    p = subprocess.run([DREDIS_CHECK] + list(args) + [root], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def populate(c):
    """Every type, with the names and shapes that stress the format."""
    c.execute("SET", "greeting", "hello")
    c.execute("SET", LONG_KEY, "long")
    c.execute("SET", HOSTILE, b"\xff\x00bin\r\n")
    c.execute("SET", ".hidden", "dot")
    c.execute("SET", "", "empty name")
    c.execute("SET", "ttl", "v", "EX", "3600")
    c.execute("HSET", "h", "f1", "v1", "f2", "v2", "x" * 300, "long field", HOSTILE, "hostile")
    c.execute("EXPIRE", "h", "7200")
    c.execute("SADD", "s", "a", "b", "", LONG_MEMBER, HOSTILE)
    c.execute("ZADD", "z", 1, "a", 2.5, "b", -3, "c", 7, "q" * 300, "-inf", HOSTILE)
    c.execute("RPUSH", "l", *["e%d" % i for i in range(200)])
    c.execute("LPUSH", "l", "first", "", "two\r\nlines")
    for i in range(250):
        c.execute("XADD", "st", "%d-1" % (i + 1), "f", str(i), "g", "x" * (i % 7))
    c.execute("XGROUP", "CREATE", "st", "g1", "0")
    c.execute("XGROUP", "CREATE", "st", "G" * 300, "0")
    c.execute("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "st", ">")
    c.execute("XREADGROUP", "GROUP", "G" * 300, "c" * 300, "COUNT", "3", "STREAMS", "st", ">")
    c.execute("XDEL", "st", "3-1")
    c.execute("SELECT", 3)
    c.execute("SET", "in3", "x", "PX", "100000")
    c.execute("SELECT", 0)


_BASE = None


def base_tree():
    """One tree built by a real server, stopped; copied for each test."""
    global _BASE
    if _BASE is None:
        root = tempfile.mkdtemp(prefix="dredis-check-base-")
        d = Dredis(root_dir=root)
        try:
            with d.client() as c:
                populate(c)
        finally:
            d.stop()
            d.cleanup()
        _BASE = root
    return _BASE


class Tree:
    """A copy of the base tree, removed afterwards."""

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="dredis-check-")
        os.rmdir(self.root)
        shutil.copytree(base_tree(), self.root, symlinks=True)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, rel, data):
        with open(self.path(rel), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()


def expire_entry(t, key, db=0):
    return "%s/.expires/%s_%s" % (db, t.read("%s/%s/expire" % (db, enc(key))).decode(), enc(key))


def test_clean_tree_passes():
    with Tree() as t:
        rc, out, err = run_check(t.root)
        assert (rc, out) == (0, ""), (rc, out, err)
        assert "no problem found" in err
        # the names the test relies on are where the format puts them
        for key in (LONG_KEY, HOSTILE, ".hidden", ""):
            assert os.path.isdir(t.path("0", enc(key))), key
        assert len(os.listdir(t.path("0", "l", "segments"))) == 5


def test_bgsave_snapshot_passes():
    snaps = tempfile.mkdtemp(prefix="dredis-check-snaps-")
    d = Dredis(env={"DREDIS_SNAPSHOT_DIR": snaps})
    try:
        with d.client() as c:
            populate(c)
            assert c.execute("BGSAVE") == "Background saving started"
            wait_until(lambda: c.execute("INFO", "persistence").decode().count("rdb_bgsave_in_progress:0"),
                       what="the snapshot")
            c.execute("SET", "after", "x")  # the server goes on while the snapshot is checked
            names = [n for n in os.listdir(snaps) if n.startswith("snapshot-")]
            assert len(names) == 1, names
            rc, out, err = run_check(os.path.join(snaps, names[0]))
            assert (rc, out) == (0, ""), (rc, out, err)
            assert "0 entries" not in err
    finally:
        d.stop()
        d.cleanup()
        shutil.rmtree(snaps, ignore_errors=True)


def served(root, fn):
    """Start a server on the repaired tree and return fn(client)."""
    d = Dredis(root_dir=root)
    try:
        with d.client() as c:
            return fn(c)
    finally:
        d.stop()
        d.cleanup()


def seg_rewrite(t, n, fn):
    rel = "0/l/segments/%d" % n
    t.write(rel, fn(t.read(rel)))
    return rel


def damage_cases():
    """(name, damage(t) -> the path reported, repairable, check(client) after repair)."""
    def zscores(c):
        return c.execute("ZRANGE", "z", 0, -1, "WITHSCORES")

    return [
        ("missing type", lambda t: (os.unlink(t.path("0/greeting/type")), "0/greeting/type")[1], True,
         lambda c: c.execute("EXISTS", "greeting") == 0 and c.execute("DBSIZE") == 10),
        ("invalid type", lambda t: (t.write("0/s/type", "blob"), "0/s/type")[1], True,
         lambda c: c.execute("EXISTS", "s") == 0),
        ("wrong hash len", lambda t: (t.write("0/h/len", "7"), "0/h/len")[1], True,
         lambda c: c.execute("HLEN", "h") == 4 and c.execute("HGET", "h", "f1") == b"v1"),
        ("wrong set len", lambda t: (t.write("0/s/len", "2"), "0/s/len")[1], True,
         lambda c: c.execute("SCARD", "s") == 5),
        ("zset len not a number", lambda t: (t.write("0/z/len", "five"), "0/z/len")[1], True,
         lambda c: c.execute("ZCARD", "z") == 5),
        ("wrong stream len", lambda t: (t.write("0/st/len", "1000"), "0/st/len")[1], True,
         lambda c: c.execute("XLEN", "st") == 249),
        ("orphan score entry", lambda t: (t.write("0/z/scores/%s_ghost" % score_hex(5), ""),
                                          "0/z/scores/%s_ghost" % score_hex(5))[1], True,
         lambda c: c.execute("ZCARD", "z") == 5 and b"ghost" not in zscores(c)),
        ("stale score entry", lambda t: (t.write("0/z/scores/%s_a" % score_hex(9), ""),
                                         "0/z/scores/%s_a" % score_hex(9))[1], True,
         lambda c: c.execute("ZSCORE", "z", "a") == b"1" and c.execute("ZRANGEBYSCORE", "z", 9, 9) == []),
        ("missing score entry", lambda t: (os.unlink(t.path("0/z/scores/%s_b" % score_hex(2.5))),
                                           "0/z/scores/%s_b" % score_hex(2.5))[1], True,
         lambda c: c.execute("ZRANK", "z", "b") == 3 and c.execute("ZCOUNT", "z", 2, 3) == 1),
        ("stray .tmp file", lambda t: (t.write(".tmp/notes.tmp", "x"), ".tmp/notes.tmp")[1], True, None),
        ("stray file in a key", lambda t: (t.write("0/greeting/notes", "x"), "0/greeting/notes")[1], True,
         lambda c: c.execute("GET", "greeting") == b"hello"),
        ("stray top-level file", lambda t: (t.write("dump.rdb", "x"), "dump.rdb")[1], True, None),
        ("bad name encoding", lambda t: (os.mkdir(t.path("0/bad%2fname")), t.write("0/bad%2fname/type", "string"),
                                         t.write("0/bad%2fname/value", "v"), "0/bad%2fname")[3], True,
         lambda c: c.execute("DBSIZE") == 11),
        ("bad member name", lambda t: (t.write("0/h/fields/a%zz", "v"), "0/h/fields/a%zz")[1], True,
         lambda c: c.execute("HLEN", "h") == 4),
        ("shortened name disagrees", lambda t: (t.write("0/%s/name" % enc(LONG_KEY), "k" * 299),
                                                "0/%s" % enc(LONG_KEY))[1], True,
         lambda c: c.execute("EXISTS", LONG_KEY) == 0),
        ("shortened member without .names", lambda t: (os.unlink(t.path("0/s/values/.names", enc(LONG_MEMBER))),
                                                       "0/s/values/" + enc(LONG_MEMBER))[1], True,
         lambda c: c.execute("SCARD", "s") == 4 and c.execute("SISMEMBER", "s", LONG_MEMBER) == 0),
        ("expire without index entry", lambda t: (lambda e: (os.unlink(t.path(e)), e)[1])(expire_entry(t, "ttl")),
         True, lambda c: 3000 < c.execute("TTL", "ttl") <= 3600 and c.execute("DBSIZE") == 11),
        ("index entry without expire", lambda t: (t.write("0/.expires/123_greeting", ""),
                                                  "0/.expires/123_greeting")[1], True,
         lambda c: c.execute("TTL", "greeting") == -1),
        ("index entry of no key", lambda t: (t.write("0/.expires/123_nokey", ""), "0/.expires/123_nokey")[1], True,
         None),
        ("list bad header", lambda t: seg_rewrite(t, 0, lambda b: b"x" + b), True,
         lambda c: c.execute("EXISTS", "l") == 0),
        ("list bad bulk length", lambda t: seg_rewrite(t, 1, lambda b: b.replace(b"$3\r\ne70", b"$9\r\ne70", 1)), True,
         lambda c: c.execute("EXISTS", "l") == 0),
        ("list head-seg > tail-seg", lambda t: (t.write("0/l/head-seg", "4"), "0/l/head-seg")[1], True,
         lambda c: c.execute("EXISTS", "l") == 0),
        ("list missing middle segment", lambda t: (os.unlink(t.path("0/l/segments/1")), "0/l/segments/1")[1], True,
         lambda c: c.execute("EXISTS", "l") == 0 and c.execute("DBSIZE") == 10),
        ("list interior segment not full", lambda t: seg_rewrite(t, 1, lambda b: b[:b.rindex(b"$")]), True,
         lambda c: c.execute("EXISTS", "l") == 0),
        ("stream bad record", lambda t: (lambda rel: (t.write(rel, t.read(rel).replace(b"+10-1", b"+1x-1")), rel)[1])(
            "0/st/segments/0"), True, lambda c: c.execute("EXISTS", "st") == 0),
        ("stream missing seg-first", lambda t: (os.unlink(t.path("0/st/seg-first/1")), "0/st/seg-first/1")[1], True,
         lambda c: c.execute("EXISTS", "st") == 0),
        ("missing consumer reference", lambda t: (os.unlink(t.path("0/st/groups/g1/consumers/alice/pending/2-1")),
                                                  "0/st/groups/g1/consumers/alice/pending/2-1")[1], True,
         lambda c: len(c.execute("XPENDING", "st", "g1", "-", "+", 10, "alice")) == 5),
        ("stale consumer reference", lambda t: (t.write("0/st/groups/g1/consumers/alice/pending/200-1", ""),
                                                "0/st/groups/g1/consumers/alice/pending/200-1")[1], True,
         lambda c: len(c.execute("XPENDING", "st", "g1", "-", "+", 10, "alice")) == 5),
        ("truncated journal", lambda t: (os.truncate(t.path(".journal"), os.path.getsize(t.path(".journal")) - 3),
                                         ".journal")[1], True, None),
    ]


def test_each_damage_is_reported_and_repaired():
    failures = []
    for name, damage, repairable, served_ok in damage_cases():
        with Tree() as t:
            rel = damage(t)
            want = t.path(rel) + ":"
            rc, out, err = run_check(t.root)
            if rc != 1 or want not in out:
                failures.append("%s: check gave %d, wanted %r in\n%s%s" % (name, rc, want, out, err))
                continue
            rc, out, err = run_check(t.root, "--repair")
            if rc != 0 or "repaired: " not in out:
                failures.append("%s: --repair gave %d:\n%s%s" % (name, rc, out, err))
                continue
            rc, out, err = run_check(t.root)
            if (rc, out) != (0, ""):
                failures.append("%s: after --repair, check gave %d:\n%s%s" % (name, rc, out, err))
                continue
            if served_ok and not served(t.root, served_ok):
                failures.append("%s: the server does not serve the repaired data as expected" % name)
    assert not failures, "\n".join(failures)


def test_damaged_keys_go_to_lost_and_found():
    with Tree() as t:
        os.unlink(t.path("0/greeting/type"))
        rc, out, err = run_check(t.root, "--repair")
        assert rc == 0, (out, err)
        found = [os.path.join(d, f) for d, _, fs in os.walk(t.path("lost+found")) for f in fs]
        assert [f for f in found if f.endswith("/0/greeting/value")], found
        with open([f for f in found if f.endswith("/0/greeting/value")][0], "rb") as f:
            assert f.read() == b"hello"  # the user's bytes are kept


def test_unfinished_transaction_is_reported_and_undone():
    with Tree() as t:
        d = Dredis(root_dir=t.root)
        with d.client() as c:
            c.execute("MULTI")
            c.execute("SET", "new1", "a")
            c.execute("SET", "greeting", "changed")
            assert c.execute("EXEC") == ["OK", "OK"]
        d.stop(9)
        d.cleanup()
        # the journal as a crash between the transaction's changes and its
        # COMMIT leaves it: the COMMIT record (type, 4 empty fields, CRC:
        # 13 bytes) cut off
        size = os.path.getsize(t.path(".journal"))
        with open(t.path(".journal"), "rb") as f:
            f.seek(size - 13)
            assert f.read(1) == b"C"
        os.truncate(t.path(".journal"), size - 13)
        rc, out, err = run_check(t.root)
        assert rc == 1 and t.path(".journal") + ":" in out, (out, err)
        rc, out, err = run_check(t.root, "--repair")
        assert rc == 0 and "replayed" in out, (out, err)
        assert run_check(t.root)[:2] == (0, "")


def test_exit_codes_and_usage():
    with Tree() as t:
        assert run_check(t.root, "--bogus")[0] == 2
        assert run_check(t.root, "--force", "--repair")[0] == 2
        rc, out, err = run_check(t.path("no-such-dir"))
        assert rc == 2 and "cannot open ROOT_DIR" in err, err
        p = subprocess.run([DREDIS_CHECK], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert p.returncode == 2 and b"Usage" in p.stderr
        assert subprocess.run([DREDIS_CHECK, "--help"], stdout=subprocess.PIPE).returncode == 0


def test_refuses_a_live_servers_tree():
    with Tree() as t:
        d = Dredis(root_dir=t.root)
        try:
            rc, out, err = run_check(t.root)
            assert rc == 2 and "in use" in err, (rc, out, err)
            assert run_check(t.root, "--repair")[0] == 2
            # --force checks read-only, and says so
            rc, out, err = run_check(t.root, "--force")
            assert rc in (0, 1) and "--force" in err, (rc, out, err)
            # nor does a second server start on it
            other = subprocess.run([DREDIS_SERVER], env=dict(os.environ, ROOT_DIR=t.root, DREDIS_PORT=str(free_port()),
                                                             DREDIS_HOST="127.0.0.1"),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
            assert other.returncode != 0 and b"in use" in other.stdout, other.stdout
            with d.client() as c:
                assert c.execute("GET", "greeting") == b"hello"
        finally:
            d.stop()
            d.cleanup()
        assert run_check(t.root)[:2] == (0, "")


def test_progress_line_only_on_a_terminal():
    with Tree() as t:
        rc, out, err = run_check(t.root)
        assert rc == 0 and "\r" not in err, repr(err)
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([DREDIS_CHECK, t.root], stdout=subprocess.PIPE, stderr=slave)
            os.close(slave)
            slave = None
            p.wait(60)
            got = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                got += chunk
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        assert p.returncode == 0 and b"\rdredis-check: " in got and b"keys" in got, got


def test_large_tree_in_bounded_memory():
    """10000 keys and a 20000-member set: the check's peak RSS stays small
    (nothing is held per key or per member)."""
    root = tempfile.mkdtemp(prefix="dredis-check-big-")
    d = Dredis(root_dir=root)
    try:
        with d.client() as c:
            for i in range(0, 10000, 500):
                c.execute("MSET", *[x for j in range(i, i + 500) for x in ("key:%d" % j, "v")])
            for i in range(0, 20000, 1000):
                c.execute("SADD", "bigset", *["member-%d-%s" % (j, "y" * 40) for j in range(i, i + 1000)])
        d.stop()
        rc, out, err = run_check(root)
        assert (rc, out) == (0, "") and "10001 keys" in err, (rc, out, err)
        if not os.path.exists("/usr/bin/time"):
            return

        def peak_kb(tree):
            # a sanitizer build would keep freed memory in its quarantine
            env = dict(os.environ, ASAN_OPTIONS=":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                                         "quarantine_size_mb=0"])))
            p = subprocess.run(["/usr/bin/time", "-f", "%M", DREDIS_CHECK, tree], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
            assert p.returncode == 0 and p.stdout == b"", p.stderr
            return int(p.stderr.decode().strip().splitlines()[-1])
        # against the check of a tiny tree, so that a sanitizer build's own
        # overhead (its shadow memory) does not count
        with Tree() as small:
            base = peak_kb(small.root)
        big = peak_kb(root)
        assert big - base < 16000, "peak RSS %d kB, %d kB on a tree of 11 keys" % (big, base)
    finally:
        d.stop()
        d.cleanup()
        shutil.rmtree(root, ignore_errors=True)
