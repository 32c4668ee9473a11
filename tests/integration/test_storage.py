"""The data tree: every kind of key name round-trips and stays inside
ROOT_DIR, the layout is the documented one (src/store*.c, src/keyname.c),
planted symbolic links and other intruders are never followed, and data and
TTLs survive restarts and crashes."""
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time

from dredis_test import DREDIS_SERVER, Dredis, Pair, RespError, files_under, wait_until

DAMAGED = RespError("ERR storage error: the key's directory is damaged or not a dredis key")

ODD_NAMES = [b"\x00", b"a\x00b", b"\r\n", b"a\r\nb", bytes(range(0x80, 0x100)), b"", b"../x", b"a/b", b"/", b".",
             b"..", b"...", b".hidden", b"k" * 300, b"x" * 65536, b"~", b"%", b"a~b", b"%41", b"a%2Fb", b"%2E",
             b".tmp", b".trash", b".expires", b"0", b"*", b"a b", "\u00e9\u4e2d".encode(), b"../" * 100,
             b"%" * 150, b"\xff" * 67, b"-", b"name", b"type", b"value"]


def expected_encoding(name):
    """The file name rules of src/keyname.c."""
    if name == b"":
        return "%"
    plain = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-@+=,")
    out = ""
    for i, byte in enumerate(name):
        if byte in plain and not (i == 0 and byte == ord(".")):
            out += chr(byte)
        else:
            out += "%%%02X" % byte
    if len(out) <= 200:
        return out
    cut = 120
    if out[cut - 1] == "%":
        cut -= 1
    elif out[cut - 2] == "%":
        cut -= 2
    return out[:cut] + "~" + hashlib.sha1(name).hexdigest()


def tree(root):
    """The tree below ROOT_DIR without dredis's working areas: the files
    under .tmp (staging, and empty files and directories made ahead of
    need) and the undo journal."""
    return [f for f in files_under(root) if not f.startswith(".tmp/") and f != ".journal"]


SKELETON = sorted([".functions", ".reserve", ".tmp", ".trash"] + [x for db in range(16) for x in (str(db), "%d/.expires" % db)])


def staged_keys(root):
    """Key directories left under .tmp (a key being built has a type file)."""
    tmp = os.path.join(root, ".tmp")
    return [e for e in os.listdir(tmp) if os.path.isdir(os.path.join(tmp, e)) and
            os.path.lexists(os.path.join(tmp, e, "type"))]


class IsolatedDredis(Dredis):
    """A dredis whose ROOT_DIR is the only thing in a private parent
    directory, so anything written beside it shows."""

    def __init__(self, **kw):
        self.parent = tempfile.mkdtemp(prefix="dredis-parent-")
        super().__init__(root_dir=os.path.join(self.parent, "root"), **kw)

    def cleanup(self):
        super().cleanup()
        shutil.rmtree(self.parent, ignore_errors=True)


def test_odd_key_names_round_trip_and_stay_inside_root():
    with Pair() as p:
        p.d.close()
        p.dredis.stop()
        p.dredis.cleanup()
        p.dredis = IsolatedDredis()
        p.d = p.dredis.client()
        root = p.dredis.root_dir
        assert os.listdir(p.dredis.parent) == ["root"]
        cmds = []
        for i, n in enumerate(ODD_NAMES):
            cmds += [("SET", n, b"v%d:" % i + n[:20]), ("GET", n), ("EXISTS", n), ("TYPE", n), ("STRLEN", n)]
        p.run_many(cmds)
        p.run_many([("KEYS", "*"), ("DBSIZE",), ("EXPIRE", ODD_NAMES[0], "1000"), ("EXPIRE", b"x" * 65536, "1000")],
                   normalize=lambda c, r: sorted(r) if c[0] == "KEYS" else r)
        # the tree holds exactly one directory per key, named as keyname.c says
        db0 = p.dredis.db_dir(0)
        entries = sorted(e for e in os.listdir(db0) if e != ".expires")
        assert entries == sorted(expected_encoding(n) for n in ODD_NAMES)
        for n in ODD_NAMES:
            kd = os.path.join(db0, expected_encoding(n))
            files = sorted(os.listdir(kd))
            hashed = "~" in expected_encoding(n)
            want = ["type", "value"] + (["name"] if hashed else []) + (["expire"] if n in (b"\x00", b"x" * 65536) else [])
            assert files == sorted(want), (n[:20], files)
            if hashed:
                with open(os.path.join(kd, "name"), "rb") as f:
                    assert f.read() == n
        assert sorted(os.listdir(os.path.join(db0, ".expires"))) == sorted(
            "%d_%s" % (p.d.execute("PEXPIRETIME", n), expected_encoding(n)) for n in (b"\x00", b"x" * 65536))
        # SCAN returns each of them, KEYS finds them by pattern
        cursor, seen = b"0", []
        while True:
            cursor, keys = p.d.execute("SCAN", cursor, "COUNT", "5")
            seen += keys
            if cursor == b"0":
                break
        assert sorted(set(seen)) == sorted(ODD_NAMES)
        p.run_many([("KEYS", pat) for pat in (b"*\x00*", b"a?b", b".*", b"..", b"*~*", b"%*", b"k*", b"[.]",
                                                b"\\.*", b"a/*", b"*\x80*", b"../*", b"x*")],
                   normalize=lambda c, r: sorted(r))
        # rename every key to a name of the same family, then delete them
        cmds = []
        for n in ODD_NAMES:
            cmds += [("RENAME", n, n + b"/r"), ("GET", n + b"/r"), ("EXISTS", n), ("TTL", n + b"/r")]
        p.run_many(cmds, normalize=lambda c, r: "ttl" if c[0] == "TTL" and r > 0 else r)
        p.run_many([("RENAMENX", n + b"/r", n) for n in ODD_NAMES] + [("DBSIZE",)])
        p.run_many([("DEL", n) for n in ODD_NAMES] + [("DBSIZE",), ("KEYS", "*")])
        # nothing was written outside ROOT_DIR, and once the trash is emptied
        # only the skeleton is left
        assert os.listdir(p.dredis.parent) == ["root"]
        wait_until(lambda: tree(root) == SKELETON, what="the trash to be emptied")
        assert staged_keys(root) == []


def test_layout_of_a_string_key():
    with Dredis() as s, s.client() as c:
        assert c.execute("SET", "user:1", b"hello\x00world") == "OK"
        kd = os.path.join(s.db_dir(0), "user:1")
        assert sorted(os.listdir(kd)) == ["type", "value"]
        with open(os.path.join(kd, "type"), "rb") as f:
            assert f.read() == b"string"
        with open(os.path.join(kd, "value"), "rb") as f:
            assert f.read() == b"hello\x00world"
        assert c.execute("PEXPIRE", "user:1", "100000") == 1
        when = c.execute("PEXPIRETIME", "user:1")
        with open(os.path.join(kd, "expire"), "rb") as f:
            assert f.read() == b"%d" % when
        assert os.listdir(os.path.join(s.db_dir(0), ".expires")) == ["%d_user:1" % when]
        assert c.execute("PERSIST", "user:1") == 1
        assert sorted(os.listdir(kd)) == ["type", "value"]
        assert os.listdir(os.path.join(s.db_dir(0), ".expires")) == []
        c.execute("SELECT", "3")
        c.execute("SET", "in db 3", "x")
        assert os.path.isdir(os.path.join(s.db_dir(3), "in%20db%203"))
        # every database and the working areas exist from the start
        top = sorted(e for e in os.listdir(s.root_dir) if e != ".journal")
        assert top == sorted([".functions", ".reserve", ".tmp", ".trash"] + [str(i) for i in range(16)])
        # nothing is left staged once commands are done
        assert staged_keys(s.root_dir) == []


def _age_access_times(paths):
    """Set the access time of paths to 1 s after the epoch, before every
    change time, so that any read the file system records (relatime does
    after a change) moves it. Listing a directory is such a read: the
    paths are listed once, before."""
    for p in paths:
        os.utime(p, ns=(1_000_000_000, os.lstat(p).st_mtime_ns), follow_symlinks=False)


def test_reads_leave_access_times_alone():
    """Reading keys does not write their inodes: files are read with
    O_NOATIME, as a backup tool would, so a GET after a SET is not a
    metadata write and a tree being read is not being changed."""
    with Dredis() as s:
        with s.client() as c:
            c.execute("SET", "s", "v")
            c.execute("HSET", "h", "f1", "a", "f2", "b")
            c.execute("RPUSH", "l", "a", "b", "c")
            c.execute("SADD", "set", "m1", "m2")
            c.execute("ZADD", "z", "1", "a", "2", "b")
            c.execute("SET", "t", "v", "PX", "5000000")
        s.stop()
        db = s.db_dir(0)
        paths = [os.path.join(db, rel) for rel in [""] + files_under(db)]
        _age_access_times(paths)
        # the control: this file system records reads, so the test can fail
        control = os.path.join(db, "s", "type")
        with open(control, "rb") as f:
            f.read()
        assert os.stat(control).st_atime_ns != 1_000_000_000, "the file system does not record reads (noatime?)"
        _age_access_times(paths)
        s.start()
        with s.client() as c:
            assert c.execute("GET", "s") == b"v"
            assert c.execute("GET", "t") == b"v"
            assert sorted(c.execute("HGETALL", "h")) == [b"a", b"b", b"f1", b"f2"]
            assert c.execute("HGET", "h", "f2") == b"b"
            assert c.execute("LRANGE", "l", "0", "-1") == [b"a", b"b", b"c"]
            assert sorted(c.execute("SMEMBERS", "set")) == [b"m1", b"m2"]
            assert c.execute("SRANDMEMBER", "set") in (b"m1", b"m2")
            assert c.execute("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
            assert sorted(c.execute("KEYS", "*")) == [b"h", b"l", b"s", b"set", b"t", b"z"]
            assert c.execute("SCAN", "0", "COUNT", "100")[0] == b"0"
            assert c.execute("DBSIZE") == 6
        moved = [os.path.relpath(p, db) for p in paths if os.lstat(p).st_atime_ns != 1_000_000_000]
        assert moved == [], moved


def test_keys_written_by_hand_and_copied_directories_are_read():
    with Dredis() as src, Dredis(start=False) as dst:
        with src.client() as c:
            c.execute("SET", "copied", "payload")
            c.execute("SET", "with ttl", "v", "PX", "5000000")
            when = c.execute("PEXPIRETIME", "with ttl")
        src.stop()
        dst.start()
        dst.stop()
        for name in ("copied", "with%20ttl"):
            shutil.copytree(os.path.join(src.db_dir(0), name), os.path.join(dst.db_dir(4), name), symlinks=True)
        os.mkdir(os.path.join(dst.db_dir(4), "by-hand"))
        with open(os.path.join(dst.db_dir(4), "by-hand", "type"), "w") as f:
            f.write("string")
        with open(os.path.join(dst.db_dir(4), "by-hand", "value"), "w") as f:
            f.write("typed in")
        dst.start()
        with dst.client() as c:
            c.execute("SELECT", "4")
            assert c.execute("MGET", "copied", "with ttl", "by-hand") == [b"payload", b"v", b"typed in"]
            assert c.execute("PEXPIRETIME", "with ttl") == when
            assert sorted(c.execute("KEYS", "*")) == [b"by-hand", b"copied", b"with ttl"]
            assert c.execute("DBSIZE") == 3


def test_damaged_keys_are_reported_not_guessed():
    with Dredis() as s:
        with s.client() as c:
            c.execute("MSET", "notype", "1", "badtype", "2", "good", "3")
        s.stop()
        db0 = s.db_dir(0)
        os.unlink(os.path.join(db0, "notype", "type"))
        with open(os.path.join(db0, "badtype", "type"), "w") as f:
            f.write("martian")
        os.mkdir(os.path.join(db0, "not%ZZvalid"))  # not a name dredis writes: not a key
        s.start()
        with s.client() as c:
            assert c.execute("GET", "notype") == DAMAGED
            assert c.execute("GET", "badtype") == DAMAGED
            assert c.execute("SET", "badtype", "x") == DAMAGED
            assert c.execute("GET", "good") == b"3"
            # their names are taken: listed (a listing does not
            # read a key's type file), reported when a command opens them
            assert sorted(c.execute("KEYS", "*")) == [b"badtype", b"good", b"notype"]
            assert sorted(c.execute("SCAN", "0", "COUNT", "100")[1]) == [b"badtype", b"good", b"notype"]
            assert c.execute("SCAN", "0", "COUNT", "100", "TYPE", "string")[1] == [b"good"]
            assert c.execute("TYPE", "notype") == DAMAGED
            assert c.execute("MGET", "notype", "good") == [None, b"3"]
            assert c.execute("PING") == "PONG"


def make_outside(parent):
    outside = os.path.join(parent, "outside")
    os.makedirs(os.path.join(outside, "secretkey"))
    with open(os.path.join(outside, "secretkey", "type"), "w") as f:
        f.write("string")
    with open(os.path.join(outside, "secretkey", "value"), "w") as f:
        f.write("SECRET")
    with open(os.path.join(outside, "file"), "w") as f:
        f.write("SECRET2")
    return outside


def snapshot(path):
    out = {}
    for rel in files_under(path):
        full = os.path.join(path, rel)
        st = os.lstat(full)
        content = None
        if stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                content = f.read()
        out[rel] = (stat.S_IFMT(st.st_mode), st.st_mtime_ns, content)
    return out


ALL_STRING_COMMANDS = [
    ("GET", "K"), ("STRLEN", "K"), ("GETRANGE", "K", "0", "-1"), ("MGET", "K"), ("EXISTS", "K"), ("TYPE", "K"),
    ("TTL", "K"), ("APPEND", "K", "x"), ("SETRANGE", "K", "0", "zz"), ("SETRANGE", "K", "100", "zz"), ("INCR", "K"),
    ("INCRBYFLOAT", "K", "1"), ("GETSET", "K", "new"), ("GETEX", "K", "EX", "100"), ("GETDEL", "K"),
    ("EXPIRE", "K", "100"), ("PERSIST", "K"), ("RENAME", "K", "K2"), ("RENAMENX", "K", "K3"), ("KEYS", "*"),
    ("SCAN", "0"), ("RANDOMKEY",), ("SETNX", "K", "v"), ("MSETNX", "K", "v"), ("DEL", "K"), ("UNLINK", "K"),
    ("SET", "K", "new"), ("GET", "K"), ("MSET", "K", "m"), ("SET", "K", "v", "GET"), ("GET", "K"),
]


def run_against_planted(c, key):
    replies = []
    for cmd in ALL_STRING_COMMANDS:
        replies.append((cmd, c.execute(*[key if a == "K" else a for a in cmd])))
    return replies


def test_symlinked_key_directory_is_never_followed():
    with IsolatedDredis() as s:
        outside = make_outside(s.parent)
        with s.client() as c:
            c.execute("SET", "victim", "mine")
        s.stop()
        kd = os.path.join(s.db_dir(0), "victim")
        shutil.rmtree(kd)
        os.symlink(os.path.join(outside, "secretkey"), kd)
        before = snapshot(outside)
        s.start()
        with s.client() as c:
            assert c.execute("GET", "victim") == DAMAGED
            for cmd, reply in run_against_planted(c, "victim"):
                assert b"SECRET" not in repr(reply).encode(), (cmd, reply)
            assert c.execute("FLUSHALL") == "OK"
            assert c.execute("SET", "victim", "fresh") == "OK"
            assert c.execute("GET", "victim") == b"fresh"
        wait_until(lambda: os.listdir(os.path.join(s.root_dir, ".trash")) == [], what="the trash to be emptied")
        s.stop()
        assert snapshot(outside) == before


def test_symlinked_files_of_a_key_are_never_followed():
    for planted in ("value", "type", "expire"):
        with IsolatedDredis() as s:
            outside = make_outside(s.parent)
            with s.client() as c:
                c.execute("SET", "victim", "mine", "EX", "1000")
            s.stop()
            f = os.path.join(s.db_dir(0), "victim", planted)
            os.unlink(f)
            os.symlink(os.path.join(outside, "file"), f)
            before = snapshot(outside)
            s.start()
            with s.client() as c:
                assert c.execute("GET", "victim") == DAMAGED, planted
                assert c.execute("STRLEN", "victim") == DAMAGED, planted
                for cmd, reply in run_against_planted(c, "victim"):
                    assert b"SECRET" not in repr(reply).encode(), (planted, cmd, reply)
                    assert not (isinstance(reply, int) and reply == len("SECRET2") and cmd[0] == "STRLEN")
                c.execute("FLUSHALL")
            wait_until(lambda: os.listdir(os.path.join(s.root_dir, ".trash")) == [], what="the trash to be emptied")
            s.stop()
            assert snapshot(outside) == before, planted


def test_set_replaces_a_symlinked_value_without_touching_its_target():
    with IsolatedDredis() as s:
        outside = make_outside(s.parent)
        with s.client() as c:
            c.execute("SET", "victim", "mine")
            f = os.path.join(s.db_dir(0), "victim", "value")
            os.unlink(f)
            os.symlink(os.path.join(outside, "file"), f)
            before = snapshot(outside)
            for cmd in (("APPEND", "victim", "x"), ("SETRANGE", "victim", "0", "y"), ("INCR", "victim")):
                assert c.execute(*cmd) == DAMAGED
            assert c.execute("SET", "victim", "new") == "OK"
            assert c.execute("GET", "victim") == b"new"
            assert not os.path.islink(f)
            assert snapshot(outside) == before


def test_symlinked_database_directory_stops_the_server():
    parent = tempfile.mkdtemp(prefix="dredis-parent-")
    try:
        root = os.path.join(parent, "root")
        outside = make_outside(parent)
        s = Dredis(root_dir=root)
        s.stop()
        shutil.rmtree(os.path.join(root, "0"))
        os.symlink(outside, os.path.join(root, "0"))
        before = snapshot(outside)
        env = dict(os.environ, ROOT_DIR=root, DREDIS_PORT="1", DREDIS_HOST="127.0.0.1")
        proc = subprocess.run([DREDIS_SERVER], env=env, capture_output=True, timeout=30)
        assert proc.returncode != 0
        assert b"database directory 0" in proc.stderr, proc.stderr
        assert snapshot(outside) == before
        s.cleanup()
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def test_fifo_or_directory_as_value_does_not_hang_the_server():
    with Dredis() as s, s.client(timeout=10) as c:
        c.execute("MSET", "fifo", "1", "dir", "2")
        os.unlink(os.path.join(s.db_dir(0), "fifo", "value"))
        os.mkfifo(os.path.join(s.db_dir(0), "fifo", "value"))
        os.unlink(os.path.join(s.db_dir(0), "dir", "value"))
        os.mkdir(os.path.join(s.db_dir(0), "dir", "value"))
        for key in ("fifo", "dir"):
            for cmd in (("GET", key), ("STRLEN", key), ("GETRANGE", key, "0", "1"), ("APPEND", key, "x"),
                        ("INCR", key), ("SETRANGE", key, "1", "x")):
                reply = c.execute(*cmd)
                assert isinstance(reply, RespError) and reply.message.startswith("ERR storage error"), (cmd, reply)
        assert c.execute("MGET", "fifo", "dir") == [None, None]
        assert c.execute("PING") == "PONG"


def test_data_survives_restart_and_crash():
    with Dredis() as s:
        future_ms = (int(time.time()) + 100000) * 1000 + 321
        with s.client() as c:
            c.execute("MSET", "a", "1", "bin\x00", b"\x00\xff\r\n", "empty", "")
            c.execute("SET", "ttl", "v", "PXAT", str(future_ms))
            c.execute("SELECT", "15")
            c.execute("SET", "z", "in 15")
            c.execute("INCRBYFLOAT", "f", "1.5")
            c.execute("APPEND", "ap", "x")
            c.execute("APPEND", "ap", "y")
        for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
            s.restart(sig)
            with s.client() as c:
                assert c.execute("MGET", "a", "bin\x00", "empty") == [b"1", b"\x00\xff\r\n", b""]
                assert c.execute("PEXPIRETIME", "ttl") == future_ms
                assert c.execute("DBSIZE") == 4
                c.execute("SELECT", "15")
                assert c.execute("MGET", "z", "f", "ap") == [b"in 15", b"1.5", b"xy"]
                assert c.execute("INCR", "counter") == (1 if sig == signal.SIGTERM else 2 if sig == signal.SIGKILL else 3)
                info = c.execute("INFO", "keyspace").decode()
                assert "db0:keys=4,expires=1," in info and "db15:keys=4,expires=0," in info, info


def test_keys_that_expire_while_the_server_is_down():
    with Dredis() as s:
        with s.client() as c:
            for i in range(5):
                c.execute("SET", "short%d" % i, "v", "PX", "1500")
            c.execute("SET", "long", "v", "EX", "1000")
        s.stop(signal.SIGKILL)
        time.sleep(1.6)  # let the short TTLs run out while the server is down
        s.start()
        with s.client() as c:
            assert c.execute("GET", "short0") is None
            assert c.execute("EXISTS", "short1", "short2") == 0
            assert c.execute("KEYS", "*") == [b"long"]
            wait_until(lambda: sorted(os.listdir(s.db_dir(0))) == [".expires", "long"],
                       what="expired keys to leave the disk")
            assert c.execute("DBSIZE") == 1
            assert len(os.listdir(os.path.join(s.db_dir(0), ".expires"))) == 1
            assert c.execute("TTL", "long") > 900


def test_leftovers_of_a_crash_are_cleaned_at_start():
    with Dredis() as s:
        s.stop()
        os.makedirs(os.path.join(s.root_dir, ".tmp", "k999-1"))
        with open(os.path.join(s.root_dir, ".tmp", "w999-2"), "w") as f:
            f.write("half written")
        os.makedirs(os.path.join(s.root_dir, ".trash", "t999-3", "x"))
        s.start()
        planted = {"k999-1", "w999-2"}
        wait_until(lambda: not planted & set(os.listdir(os.path.join(s.root_dir, ".tmp"))) and
                   os.listdir(os.path.join(s.root_dir, ".trash")) == [], what="staging and trash to be emptied")
        with s.client() as c:
            assert c.execute("DBSIZE") == 0


def test_flushdb_removes_the_files():
    with Dredis() as s, s.client() as c:
        c.execute("MSET", "a", "1", "b", "2")
        c.execute("SET", "c", "3", "EX", "100")
        c.execute("SELECT", "1")
        c.execute("SET", "other", "x")
        c.execute("SELECT", "0")
        assert c.execute("FLUSHDB") == "OK"
        assert os.listdir(s.db_dir(0)) == [".expires"]
        assert os.listdir(os.path.join(s.db_dir(0), ".expires")) == []
        assert os.listdir(s.db_dir(1)) != [".expires"]
        assert c.execute("FLUSHALL", "ASYNC") == "OK"
        wait_until(lambda: tree(s.root_dir) == SKELETON, what="the trash to be emptied")
