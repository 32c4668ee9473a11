"""Whole RDB files (src/rdb_save.c, src/rdb_load.c, src/rdb_tool.c):
dredis-server --export-rdb writes a tree as an RDB file that
redis-check-rdb accepts and a real redis-server 7.0 loads with exactly the
same data; an RDB file a real redis-server SAVEs, in every encoding it
writes, is loaded by DREDIS_IMPORT_RDB (and --import-rdb) with exactly the
same data; an export of a BGSAVE snapshot while the server runs leaves the
snapshot unchanged; damaged or unsupported files are refused with a reason,
never a crash, and leave ROOT_DIR without a key."""
import hashlib
import os
import random
import shutil
import struct
import subprocess
import tempfile
import time

from dredis_test import DREDIS_SERVER, Dredis, free_port, Redis, RespError, sanitizer_report, wait_until
from test_snapshot import dump, snapshot_names, wait_saves

CHECK_RDB = shutil.which("redis-check-rdb")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def run_tool(root, *args, env=None):
    """dredis-server --export-rdb/--import-rdb ... with ROOT_DIR=root:
    (exit code, stdout, stderr). A sanitizer report fails the test."""
    e = {k: v for k, v in os.environ.items() if k != "DREDIS_SERVER" and not k.startswith("DREDIS_")}
    e["ROOT_DIR"] = root
    e.update(env or {})
    p = subprocess.run([DREDIS_SERVER] + list(args), env=e, capture_output=True, timeout=300)
    out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
    report = sanitizer_report(out + err)
    assert not report, "sanitizer report:\n" + report
    assert p.returncode >= 0, "dredis-server died of signal %d: %s" % (-p.returncode, err)
    return p.returncode, out, err


def export(root, path, *extra):
    code, out, err = run_tool(root, "--export-rdb", path, *extra)
    assert code == 0, (code, out, err)
    assert "exported" in out, out
    return out


def check_rdb(path):
    """redis-check-rdb's verdict on the file: its output (asserting OK)."""
    assert CHECK_RDB, "redis-check-rdb is required (Debian package redis-tools)"
    p = subprocess.run([CHECK_RDB, path], capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0 and "RDB looks OK" in out, out
    return out


def redis_with_rdb(path, extra=()):
    """A real redis-server started on a copy of the RDB file."""
    d = tempfile.mkdtemp(prefix="redis-rdb-")
    shutil.copy(path, os.path.join(d, "f.rdb"))
    r = Redis(extra_args=["--dir", d, "--dbfilename", "f.rdb"] + list(extra))
    r.extra_dir = d
    return r


def stop_redis(r):
    r.stop()
    r.cleanup()
    shutil.rmtree(r.extra_dir, ignore_errors=True)


def redis_save(r):
    """SAVE on a real redis-server and the path of the file."""
    c = r.client()
    assert c.execute("SAVE") == "OK"
    d = c.execute("CONFIG", "GET", "dir")[1].decode()
    f = c.execute("CONFIG", "GET", "dbfilename")[1].decode()
    c.close()
    return os.path.join(d, f)


def keys_in_tree(root):
    """Key directories under ROOT_DIR/<db>/ (names not starting with '.')."""
    out = []
    for db in range(16):
        d = os.path.join(root, str(db))
        if os.path.isdir(d):
            out += ["%d/%s" % (db, n) for n in os.listdir(d) if not n.startswith(".")]
    return out


def tree_digest(path):
    """Every entry under path: its relative name, kind, mode and content."""
    h = {}
    for base, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(base, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, path)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    h[rel] = ("f", st.st_mode, hashlib.sha1(f.read()).hexdigest())
            else:
                h[rel] = ("d", st.st_mode, None)
    return h


def fill_streams(c):
    """A stream of several nodes with a consumer group, pending entries of
    two consumers, a deleted entry, and an empty stream with a group."""
    for i in range(250):
        c.execute("XADD", "stream", "%d-1" % (i + 1), "field", "v%d" % i, *(("extra", "x") if i % 3 else ()))
    c.execute("XDEL", "stream", "5-1")
    c.execute("XGROUP", "CREATE", "stream", "g1", "0")
    c.execute("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "10", "STREAMS", "stream", ">")
    c.execute("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "5", "STREAMS", "stream", ">")
    c.execute("XACK", "stream", "g1", "2-1")
    c.execute("XGROUP", "CREATE", "stream", "g2", "$")
    c.execute("XGROUP", "CREATE", "emptystream", "g", "$", "MKSTREAM")


def stream_groups(server, keys=(b"stream", b"emptystream")):
    """What a stream holds besides its entries: XINFO STREAM FULL, less
    the node counts (Redis's radix tree, dredis's segments)."""
    out = {}
    with server.client() as c:
        for k in keys:
            full = c.execute("XINFO", "STREAM", k, "FULL")
            info = dict(zip(full[::2], full[1::2]))
            for n in (b"radix-tree-keys", b"radix-tree-nodes"):
                info.pop(n, None)
            out[k] = info
    return out


def data_of(server, dbs=range(16)):
    with server.client() as c:
        return dump(c, dbs)


def assert_same(expected, got):
    for db in sorted(set(expected) | set(got)):
        a, b = expected.get(db, {}), got.get(db, {})
        missing = sorted(set(a) - set(b))[:5]
        extra = sorted(set(b) - set(a))[:5]
        assert not missing and not extra, "db %d: missing %r, extra %r" % (db, missing, extra)
        diff = [k for k in a if a[k] != b[k]]
        assert not diff, "db %d: %d keys differ, e.g. %r: %r != %r" % (
            db, len(diff), diff[0], a[diff[0]], b[diff[0]])


def assert_redis_loads(path, expected):
    """redis-check-rdb accepts the file and a real redis-server loads
    exactly the expected data from it; redis-check-rdb's report."""
    report = check_rdb(path)
    r = redis_with_rdb(path)
    try:
        assert_same(expected, data_of(r))
    finally:
        stop_redis(r)
    return report


def fill_every_type(c, big=2000):
    """Every type small and big, TTLs, binary and long keys, empty strings,
    integers, several databases."""
    future = int(time.time() * 1000) + 3600 * 1000
    for db in (0, 1, 7, 15):
        cmds = [("SELECT", db),
                ("SET", "str", "hello %d" % db), ("SET", "empty", ""), ("SET", "int", "12345"),
                ("SET", "negint", "-7"), ("SET", "bigint", "123456789012345678"), ("SET", "float", "3.25"),
                ("SET", "zero-lead", "007"), ("SET", b"bin\x00\xff\r\nkey", b"\x00\x01\xfe\xffvalue"),
                ("SET", "k" * 300, "long key"), ("SET", "\u00e9t\u00e9/a b.c", "utf8"),
                ("SET", "longval", "x" * 100000),
                ("SET", "ttl", "v"), ("PEXPIREAT", "ttl", future + db),
                ("RPUSH", "list", "a", "", "3", "-4", "b" * 10000),
                ("SADD", "set", "x", "y", ""), ("SADD", "intset", "1", "2", "-3", "100000"),
                ("ZADD", "zset", "1.5", "a", "-inf", "b", "inf", "c", "0", ""),
                ("HSET", "hash", "f", "v", "", "empty-field", "n", "10"),
                ("HSET", "hashttl", "f", "v"), ("PEXPIREAT", "hashttl", future)]
        assert all(not isinstance(r, RespError) for r in c.pipeline(cmds)), db
    c.execute("SELECT", 0)
    for i in range(0, big * 5, 1000):
        c.execute("RPUSH", "biglist", *["e%d" % j for j in range(i, i + 1000)])
    for i in range(0, big, 500):
        c.execute("HSET", "bighash", *[x for j in range(i, i + 500) for x in ("f%d" % j, "v%d" % (j * 7))])
        c.execute("SADD", "bigset", *["m%d" % j for j in range(i, i + 500)])
        c.execute("SADD", "bigintset", *[str(j * 3) for j in range(i, i + 500)])
        c.execute("ZADD", "bigzset", *[x for j in range(i, i + 500) for x in (repr(j / 7.0), "z%d" % j)])


# ---------------------------------------------------------------------------
# dredis -> Redis
# ---------------------------------------------------------------------------

def test_export_loads_in_redis_with_the_same_data():
    with Dredis() as d:
        with d.client() as c:
            fill_every_type(c)
            fill_streams(c)
        expected = data_of(d)
        groups = stream_groups(d)
        d.stop()
        before = tree_digest(d.root_dir)
        out = os.path.join(tempfile.mkdtemp(prefix="rdb-out-"), "dump.rdb")
        try:
            export(d.root_dir, out)
            assert tree_digest(d.root_dir) == before, "the export changed the tree"
            assert "0 already expired" in assert_redis_loads(out, expected)
            r = redis_with_rdb(out)
            try:
                assert stream_groups(r) == groups
            finally:
                stop_redis(r)
            with open(out, "rb") as f:
                head = f.read(9)
            assert head == b"REDIS0010", head
        finally:
            shutil.rmtree(os.path.dirname(out), ignore_errors=True)


def test_export_aux_fields_and_replication_fields():
    with Dredis() as d:
        with d.client() as c:
            c.execute("SET", "a", "1")
        d.stop()
        tmp = tempfile.mkdtemp(prefix="rdb-out-")
        try:
            plain, repl = os.path.join(tmp, "plain.rdb"), os.path.join(tmp, "repl.rdb")
            export(d.root_dir, plain)
            rid = "0123456789abcdef0123456789abcdef01234567"
            export(d.root_dir, repl, "--repl-id", rid, "--repl-offset", "98765", "--repl-stream-db", "3")
            p, r = open(plain, "rb").read(), open(repl, "rb").read()
            for name in (b"redis-ver", b"7.0.15", b"redis-bits", b"ctime", b"used-mem", b"aof-base"):
                assert name in p and name in r, name
            assert b"repl-id" not in p and b"repl-offset" not in p
            assert b"repl-stream-db" in r and rid.encode() in r and b"repl-offset" in r
            check_rdb(repl)
            # dredis loads them too (the fields are read and skipped)
            code, out, err = run_tool(os.path.join(tmp, "t"), "--import-rdb", repl)
            assert code == 0, err
            # bad replication arguments are refused
            for args in (["--repl-id", "xyz"], ["--repl-offset", "5"], ["--repl-id", rid, "--repl-offset", "-1"],
                         ["--bogus"]):
                code, out, err = run_tool(d.root_dir, "--export-rdb", os.path.join(tmp, "x.rdb"), *args)
                assert code == 1 and err.strip(), (args, code, err)
                assert not os.path.exists(os.path.join(tmp, "x.rdb"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def test_export_refuses_damaged_keys_and_missing_trees():
    with Dredis() as d:
        with d.client() as c:
            c.execute("SET", "a", "1")
            c.execute("SET", "s", "v")
        d.stop()
        os.unlink(os.path.join(d.root_dir, "0", "s", "value"))  # a string without its value
        tmp = tempfile.mkdtemp(prefix="rdb-out-")
        try:
            out = os.path.join(tmp, "x.rdb")
            code, _, err = run_tool(d.root_dir, "--export-rdb", out)
            assert code == 1 and "damaged" in err and '"s"' in err, err
            assert os.listdir(tmp) == [], os.listdir(tmp)  # no file, no temporary left
            code, _, err = run_tool(os.path.join(tmp, "nowhere"), "--export-rdb", out)
            assert code == 1 and "nowhere" in err, err
            assert not os.path.exists(os.path.join(tmp, "nowhere")), "the export created the tree"
            code, _, err = run_tool(d.root_dir, "--export-rdb", "/proc/no/such/dir/x.rdb")
            assert code == 1 and "cannot create" in err, err
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def test_export_of_a_snapshot_while_the_server_runs():
    snaps = tempfile.mkdtemp(prefix="rdb-snaps-")
    tmp = tempfile.mkdtemp(prefix="rdb-out-")
    try:
        with Dredis(env={"DREDIS_SNAPSHOT_DIR": snaps}) as d, d.client() as c:
            fill_every_type(c, big=500)
            expected = dump(c)
            assert c.execute("BGSAVE") == "Background saving started"
            wait_saves(c, 1)
            snap = os.path.join(snaps, snapshot_names(snaps)[-1])
            before = tree_digest(snap)
            # the server keeps changing its own tree meanwhile
            c.execute("FLUSHDB")
            c.execute("SET", "after", "snapshot")
            out = os.path.join(tmp, "snap.rdb")
            export(snap, out)
            c.execute("SET", "during", "export")
            assert c.execute("GET", "after") == b"snapshot"
            assert tree_digest(snap) == before, "the export changed the snapshot"
            assert not any(n.startswith(".") and n != ".functions" for n in os.listdir(snap)), os.listdir(snap)
            assert_redis_loads(out, expected)
    finally:
        shutil.rmtree(snaps, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# Redis -> dredis
# ---------------------------------------------------------------------------

# incompressible, so that it appears as it is in the file
PLAIN_ELEMENT = random.Random(7).randbytes(9000)


def fill_every_encoding(c):
    """Every encoding Redis 7.0 writes, small and large, in several dbs."""
    future = int(time.time() * 1000) + 3600 * 1000
    cmds = [("SET", "int", "42"), ("SET", "int32", "-2147483648"), ("SET", "bigint", "9223372036854775807"),
            ("SET", "raw", "hello world"), ("SET", "empty", ""),
            ("SET", "lzf", "abcdefgh" * 5000),                       # LZF-compressed
            ("SET", "lzf2", ("0123456789" * 300) + "tail"),
            ("SET", b"\x00bin\xff", b"\x00\xff" * 50),
            ("RPUSH", "smalllist", "a", "1", "-1", "300", "70000", "5000000000", ""),  # listpack quicklist
            ("RPUSH", "plainlist", "x"),
            ("SADD", "intset", "1", "2", "3", "-100", "65536", "4294967296"),
            ("SADD", "smallset", "a", "b", "c"),                       # listpack set? (7.2) / hashtable (7.0)
            ("ZADD", "smallzset", "1", "a", "2.5", "b", "-3", "c"),     # listpack
            ("HSET", "smallhash", "a", "1", "b", "", "c", "xyz"),       # listpack
            ("HSET", "bigvalhash", "f", "v" * 100),                     # hashtable (value > 64)
            ("SET", "ttl", "v"), ("PEXPIREAT", "ttl", future),
            ("HSET", "ttlhash", "a", "1"), ("PEXPIREAT", "ttlhash", future + 1),
            ("SELECT", 2), ("SET", "db2", "two"), ("RPUSH", "db2list", "q"),
            ("SELECT", 15), ("SET", "db15", "fifteen"), ("ZADD", "db15z", "inf", "top", "-inf", "bottom"),
            ("SELECT", 0)]
    assert all(not isinstance(r, RespError) for r in c.pipeline(cmds))
    # Redis 7.0 makes a plain node of an element of 1GB or more, or of more
    # than this threshold (a debug setting): a list with a 9000-byte one
    assert c.execute("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "8192") == "OK"
    c.execute("RPUSH", "plainlist", PLAIN_ELEMENT, "z")
    assert c.execute("DEBUG", "QUICKLIST-PACKED-THRESHOLD", str(1 << 30)) == "OK"
    for i in range(0, 6000, 1000):
        c.execute("RPUSH", "biglist", *["element-%d" % j for j in range(i, i + 1000)])   # many quicklist nodes
    c.execute("SADD", "bigintset", *[str(j * 11) for j in range(1000)])  # intset
    c.execute("SADD", "bigset", *["m%d" % j for j in range(1000)])        # hashtable
    c.execute("ZADD", "bigzset", *[x for j in range(500) for x in (repr(j * 1.25), "z%d" % j)])  # skiplist
    c.execute("HSET", "bighash", *[x for j in range(1000) for x in ("f%d" % j, "v%d" % j)])     # hashtable
    c.execute("RPUSH", "compressedlist", *[("item%d-" % j) * 20 for j in range(300)])
    fill_streams(c)


def encodings(c, db=0):
    out = {}
    c.execute("SELECT", db)
    for k in c.execute("KEYS", "*"):
        out[k] = c.execute("OBJECT", "ENCODING", k)
    c.execute("SELECT", 0)
    return out


def test_import_every_encoding_redis_writes():
    r = Redis(extra_args=["--rdbcompression", "yes", "--list-compress-depth", "1", "--enable-debug-command", "yes"])
    try:
        with r.client() as c:
            fill_every_encoding(c)
            enc = encodings(c)
            # the encodings this test means to cover are there
            for k, e in ((b"int", b"int"), (b"lzf", b"raw"), (b"smalllist", b"quicklist"), (b"intset", b"intset"),
                         (b"bigset", b"hashtable"), (b"smallzset", b"listpack"), (b"bigzset", b"skiplist"),
                         (b"smallhash", b"listpack"), (b"bighash", b"hashtable"), (b"bigvalhash", b"hashtable")):
                assert enc[k] == e, (k, enc[k], e)
            expected = dump(c)
            groups = stream_groups(r)
            # a key that expires between SAVE and the import is not loaded
            c.execute("SET", "soon", "gone", "PX", "400")
            path = redis_save(r)
        with open(path, "rb") as f:
            data = f.read()
        assert b"abcdefgh" * 100 not in data, "the long string was not LZF-compressed"
        # the plain node: container 1 (RDB_QUICKLIST_PLAIN), its 14-bit length, the bytes
        assert b"\x01\x63\x28" + PLAIN_ELEMENT in data, "no plain quicklist node"
        time.sleep(0.5)
        with Dredis(env={"DREDIS_IMPORT_RDB": path}) as d:
            assert "keys loaded" in d.output() and "1 expired keys skipped" in d.output(), d.output()
            assert_same(expected, data_of(d))
            assert stream_groups(d) == groups
            # and what dredis exports from it loads in Redis the same again
            d.stop()
            out = os.path.join(os.path.dirname(path), "again.rdb")
            export(d.root_dir, out)
            assert_redis_loads(out, expected)
    finally:
        r.stop()
        r.cleanup()


def test_import_without_checksum_and_offline():
    r = Redis(extra_args=["--rdbchecksum", "no"])
    tmp = tempfile.mkdtemp(prefix="rdb-imp-")
    try:
        with r.client() as c:
            c.execute("SET", "a", "1")
            c.execute("RPUSH", "l", "x", "y")
            c.execute("SELECT", 4)
            c.execute("HSET", "h", "f", "v")
            expected = dump(c)
            path = redis_save(r)
        with open(path, "rb") as f:
            assert f.read()[-8:] == b"\0" * 8, "Redis wrote a checksum"
        root = os.path.join(tmp, "tree")
        code, out, err = run_tool(root, "--import-rdb", path)
        assert code == 0, err
        with Dredis(root_dir=root) as d:
            assert_same(expected, data_of(d))
        # a second import into the now non-empty tree is refused, the tree kept
        code, out, err = run_tool(root, "--import-rdb", path)
        assert code == 1 and "not empty" in err, err
        assert len(keys_in_tree(root)) == 3
    finally:
        r.stop()
        r.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def test_import_loads_functions():
    """FUNCTION2 records are function libraries: imported into .functions,
    they are what FUNCTION LIST shows afterwards, as in the Redis that saved
    them."""
    r = Redis()
    tmp = tempfile.mkdtemp(prefix="rdb-imp-")
    try:
        with r.client() as c:
            c.execute("SET", "before", "1")
            assert c.execute("FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f', function() "
                             "return 1 end)") == b"mylib"
            assert c.execute("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function{function_name='g', "
                             "callback=function(k, a) return a[1] end, flags={'no-writes'}, "
                             "description='echo'}") == b"other"
            c.execute("SET", "zafter", "2")
            expected = sorted_libraries(c.execute("FUNCTION", "LIST", "WITHCODE"))
            path = redis_save(r)
        root = os.path.join(tmp, "tree")
        code, out, err = run_tool(root, "--import-rdb", path)
        assert code == 0, (out, err)
        assert sorted(os.listdir(os.path.join(root, ".functions"))) == ["mylib", "other"]
        with Dredis(root_dir=root) as d:
            with d.client() as c:
                assert sorted_libraries(c.execute("FUNCTION", "LIST", "WITHCODE")) == expected
                assert c.execute("FCALL", "g", 0, "hi") == b"hi"
                assert sorted(c.execute("KEYS", "*")) == [b"before", b"zafter"]
    finally:
        r.stop()
        r.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def sorted_libraries(listing):
    """FUNCTION LIST in a stable order (Redis's is its dict's)."""
    out = []
    for lib in listing:
        lib = list(lib)
        i = lib.index(b"functions")
        lib[i + 1] = sorted(lib[i + 1], key=repr)
        out.append(lib)
    return sorted(out, key=repr)


# ---------------------------------------------------------------------------
# damaged files
# ---------------------------------------------------------------------------

def crc64(data):
    """Redis's CRC64 (Jones, reflected)."""
    poly, crc = 0x95ac9329ac4bc9b5, 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (poly if crc & 1 else 0)
    return crc


def with_crc(body):
    return body + struct.pack("<Q", crc64(body))


def sample_rdb():
    """A small RDB file Redis wrote, with several types, a TTL, two dbs."""
    r = Redis()
    try:
        with r.client() as c:
            c.execute("SET", "s", "value")
            c.execute("SET", "t", "v", "PX", "3600000")
            c.execute("RPUSH", "l", "a", "b", "c")
            c.execute("SADD", "st", "1", "2")
            c.execute("ZADD", "z", "1", "m")
            c.execute("SELECT", 3)
            c.execute("HSET", "h", "f", "v", "g", "w")
            with open(redis_save(r), "rb") as f:
                return f.read()
    finally:
        r.stop()
        r.cleanup()


def assert_import_refused(tmp, data, words, name):
    path = os.path.join(tmp, "bad-%s.rdb" % name)
    with open(path, "wb") as f:
        f.write(data)
    root = os.path.join(tmp, "tree-" + name)
    code, out, err = run_tool(root, "--import-rdb", path)
    assert code == 1, (name, code, out, err)
    assert "cannot import the RDB file" in err, (name, err)
    for w in words:
        assert w in err, (name, w, err)
    assert keys_in_tree(root) == [], (name, keys_in_tree(root))
    shutil.rmtree(root, ignore_errors=True)
    os.unlink(path)


def test_damaged_files_are_refused_and_leave_nothing():
    good = sample_rdb()
    assert good[-8:] == struct.pack("<Q", crc64(good[:-8])), "crc64 helper disagrees with Redis"
    tmp = tempfile.mkdtemp(prefix="rdb-bad-")
    try:
        # truncated anywhere
        for n in range(0, len(good)):
            assert_import_refused(tmp, good[:n], [], "trunc%d" % n)
        body = good[:-8]
        # a wrong checksum
        bad = bytearray(good)
        bad[-1] ^= 0x55
        assert_import_refused(tmp, bytes(bad), ["wrong checksum"], "crc")
        # a changed byte in a value: the checksum tells (or the decoding)
        pos = good.index(b"value")
        bad = bytearray(good)
        bad[pos] ^= 0x20
        assert_import_refused(tmp, bytes(bad), ["wrong checksum"], "flip")
        # an unknown opcode, with a valid checksum
        eof = len(body) - 1
        assert body[eof] == 0xFF
        assert_import_refused(tmp, with_crc(body[:eof] + b"\xf0" + body[eof:]), ["unknown opcode", "240"], "opcode")
        # a later RDB version
        assert_import_refused(tmp, with_crc(b"REDIS0011" + body[9:]), ["version 11"], "v11")
        assert_import_refused(tmp, with_crc(b"REDIS0000" + body[9:]), ["version 0"], "v0")
        assert_import_refused(tmp, b"NOTREDIS0010" + body, ["not an RDB file"], "magic")
        # a database beyond dredis's 16
        assert_import_refused(tmp, with_crc(body[:eof] + b"\xfe\x10\x00\x01k\x01v" + body[eof:]), ["database 16"], "db16")
        # a key twice in a database (db 3, the last one selected)
        dup = b"\x00\x01d\x01x"  # string "d" = "x"
        assert_import_refused(tmp, with_crc(body[:eof] + dup + dup + body[eof:]), ['"d"', "twice", "db 3"], "dup")
        # a malformed value: a list claiming more elements than it has
        assert_import_refused(tmp, with_crc(body[:eof] + b"\x01\x02kl\x05\x01a" + body[eof:]), ["malformed"], "list")
        # a module's auxiliary data
        assert_import_refused(tmp, with_crc(body[:eof] + b"\xf7\x81" + b"\x00" * 8 + body[eof:]), ["module"], "modaux")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_startup_import_refusals():
    good = sample_rdb()
    tmp = tempfile.mkdtemp(prefix="rdb-start-")
    try:
        path = os.path.join(tmp, "good.rdb")
        with open(path, "wb") as f:
            f.write(good)
        bad = os.path.join(tmp, "bad.rdb")
        with open(bad, "wb") as f:
            f.write(good[:len(good) // 2])

        def refused(root, env, words):
            code, out, err = run_tool(root, env=dict(env, DREDIS_PORT=str(free_port())))
            assert code == 1, (env, code, out, err)
            for w in words:
                assert w in out + err, (w, out, err)

        refused(os.path.join(tmp, "t1"), {"DREDIS_IMPORT_RDB": os.path.join(tmp, "missing.rdb")},
                ["DREDIS_IMPORT_RDB", "missing.rdb"])
        refused(os.path.join(tmp, "t2"), {"DREDIS_IMPORT_RDB": tmp}, ["DREDIS_IMPORT_RDB", "not a regular file"])
        refused(os.path.join(tmp, "t3"), {"DREDIS_IMPORT_RDB": bad}, ["cannot import", "bad RDB file at byte"])
        assert keys_in_tree(os.path.join(tmp, "t3")) == []
        # into a ROOT_DIR that has keys: refused, the keys untouched
        with Dredis() as d:
            with d.client() as c:
                c.execute("SET", "mine", "1")
            d.stop()
            refused(d.root_dir, {"DREDIS_IMPORT_RDB": path}, ["not empty"])
            with d.start().client() as c:
                assert c.execute("KEYS", "*") == [b"mine"]
            # FLUSHALL_ON_STARTUP empties it first: then the import goes in
            d.stop()
            d.env = {"DREDIS_IMPORT_RDB": path, "FLUSHALL_ON_STARTUP": "yes"}
            with d.start().client() as c:
                assert c.execute("GET", "mine") is None
                assert c.execute("GET", "s") == b"value"
                assert 3595000 < c.execute("PTTL", "t") <= 3600000
                c.execute("SELECT", 3)
                assert c.execute("HGET", "h", "g") == b"w"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
