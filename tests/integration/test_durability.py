"""Durability: the undo journal's recovery (docs/durability.md), crash
atomicity under SIGKILL, and the syncs DREDIS_FSYNC=always makes before it
acknowledges a write."""
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import zlib

import crash_torture
import dredis_test
from dredis_test import DREDIS_SERVER, Dredis, Pair, RespError, free_port, staging_leftovers, wait_until


def journal_record(kind, *fields):
    fields = list(fields) + [""] * (4 - len(fields))
    body = kind.encode()
    for f in fields:
        f = f.encode() if isinstance(f, str) else f
        body += struct.pack("<H", len(f)) + f
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_string_key(root, name, value, db=0):
    write(os.path.join(root, str(db), name, "type"), b"string")
    write(os.path.join(root, str(db), name, "value"), value)


def test_recovery_undoes_an_unfinished_transaction():
    root = tempfile.mkdtemp(prefix="dredis-recovery-")
    try:
        # A crash in the middle of "MSET a new b new c new": a was replaced
        # (its old value waits under .tmp), b was created, c not reached.
        make_string_key(root, "a", b"new")
        write(os.path.join(root, ".tmp", "aside-a"), b"old")
        make_string_key(root, "b", b"new")
        make_string_key(root, "c", b"old-c")
        # a committed transaction before it must stay as it is
        make_string_key(root, "kept", b"committed")
        journal = (journal_record("B") + journal_record("N", "0", "kept") + journal_record("C") +
                   journal_record("B") + journal_record("R", "0/a", "value", ".tmp", "aside-a") +
                   journal_record("N", "0", "b"))
        write(os.path.join(root, ".journal"), journal + b"\x4e\x01")  # and a torn tail
        with Dredis(root_dir=root) as s, s.client() as c:
            assert c.execute("GET", "a") == b"old"
            assert c.execute("EXISTS", "b") == 0
            assert c.execute("GET", "c") == b"old-c"
            assert c.execute("GET", "kept") == b"committed"
            assert os.path.getsize(os.path.join(root, ".journal")) == 0
            assert not os.path.exists(os.path.join(root, "0", "b"))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def exchange_record(root, key, staged):
    """An X record for key's value file and .tmp/staged, naming the inodes
    as the server does: the visible file is "old", the staged one "new"."""
    old = os.stat(os.path.join(root, "0", key, "value")).st_ino
    new = os.stat(os.path.join(root, ".tmp", staged)).st_ino
    return journal_record("X", "0/" + key, "value", "%d:%d" % (old, new), staged)


def value_after_recovery(root, journal):
    """Start dredis on root with journal as its .journal (its recovery runs)
    and read the key "a"."""
    write(os.path.join(root, ".journal"), journal)
    with Dredis(root_dir=root) as s, s.client() as c:
        return c.execute("GET", "a")


def test_recovery_of_an_exchange_that_happened_swaps_back():
    root = tempfile.mkdtemp(prefix="dredis-recovery-")
    try:
        # SET a new was journaled and its exchange made: the new version is
        # visible and the old one sits at the staged name.
        make_string_key(root, "a", b"old")
        write(os.path.join(root, ".tmp", "f1-1"), b"new")
        record = exchange_record(root, "a", "f1-1")
        os.rename(os.path.join(root, "0", "a", "value"), os.path.join(root, ".tmp", "swap"))
        os.rename(os.path.join(root, ".tmp", "f1-1"), os.path.join(root, "0", "a", "value"))
        os.rename(os.path.join(root, ".tmp", "swap"), os.path.join(root, ".tmp", "f1-1"))
        assert value_after_recovery(root, journal_record("B") + record) == b"old"
        # the same record again (a crash during recovery) changes nothing
        write(os.path.join(root, ".tmp", "f1-1"), b"new")
        assert value_after_recovery(root, journal_record("B") + record) == b"old"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_recovery_of_an_exchange_that_never_happened_changes_nothing():
    root = tempfile.mkdtemp(prefix="dredis-recovery-")
    try:
        # The crash came after the record and before the exchange: the
        # staged new version must not be taken for the old one.
        make_string_key(root, "a", b"old")
        write(os.path.join(root, ".tmp", "f1-1"), b"new")
        assert value_after_recovery(root, journal_record("B") + exchange_record(root, "a", "f1-1")) == b"old"
        # and twice in a row (a crash during recovery) gives the same
        write(os.path.join(root, ".tmp", "f1-1"), b"new")
        assert value_after_recovery(root, journal_record("B") + exchange_record(root, "a", "f1-1")) == b"old"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_recovery_is_idempotent_after_a_crash_during_recovery():
    root = tempfile.mkdtemp(prefix="dredis-recovery-")
    try:
        # The first recovery already put a's old value back and died before
        # resetting the journal: running the undo again must change nothing.
        make_string_key(root, "a", b"old")
        make_string_key(root, "m", b"moved")  # RENAME x m, already undone once
        make_string_key(root, "x", b"moved")
        os.unlink(os.path.join(root, "0", "m", "value"))
        os.unlink(os.path.join(root, "0", "m", "type"))
        os.rmdir(os.path.join(root, "0", "m"))
        journal = (journal_record("B") + journal_record("R", "0/a", "value", ".tmp", "aside-a") +
                   journal_record("M", "0", "x", "0", "m"))
        write(os.path.join(root, ".journal"), journal)
        with Dredis(root_dir=root) as s, s.client() as c:
            assert c.execute("GET", "a") == b"old"
            assert c.execute("GET", "x") == b"moved"
            assert c.execute("EXISTS", "m") == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_failed_command_is_rolled_back_whole():
    with Dredis() as s, s.client() as c:
        assert c.execute("MSET", "k1", "a", "k2", "a", "k3", "a") == "OK"
        # k3's directory becomes unreadable as a key: MSET fails there
        os.unlink(os.path.join(s.db_dir(), "k3", "type"))
        r = c.execute("MSET", "k1", "b", "k2", "b", "k3", "b")
        assert isinstance(r, RespError) and "storage error" in r.message, r
        assert c.execute("MGET", "k1", "k2") == [b"a", b"a"]


def test_crash_torture_bounded():
    violations, writes = crash_torture.run(30, seed=20261122)
    assert writes > 0
    assert violations == [], violations


def test_crash_torture_fsync_always():
    # DREDIS_FSYNC=always holds each COMMIT back until the next record or
    # the sync before the replies (docs/durability.md): crashes in between
    # must undo only what was never acknowledged.
    violations, writes = crash_torture.run(15, seed=20261123, env={"DREDIS_FSYNC": "always"})
    assert writes > 0
    assert violations == [], violations


def _pipeline_until_killed(c, server, delay):
    """Send pipelines of INCR ctr and MSET a:i x b:i x until a SIGKILL
    after delay seconds cuts the connection. Returns (the highest INCR
    reply read, the highest i whose MSET was acknowledged, the highest i
    sent)."""
    killer = threading.Timer(delay, lambda: os.kill(server.proc.pid, signal.SIGKILL))
    killer.start()
    acked_ctr, acked_i, sent_i = 0, -1, -1
    try:
        while True:
            batch, first = [], sent_i + 1
            for i in range(first, first + 16):
                batch += [("INCR", "ctr"), ("MSET", "a:%d" % i, "x", "b:%d" % i, "x")]
            sent_i = first + 15
            c.send_raw(b"".join(dredis_test.encode_command(cmd) for cmd in batch))
            for n, cmd in enumerate(batch):
                reply = c.read_reply()
                assert not isinstance(reply, RespError), (cmd, reply)
                if cmd[0] == "INCR":
                    acked_ctr = reply
                else:
                    acked_i = first + n // 2
    except (OSError, dredis_test.ConnectionClosed):
        pass
    finally:
        killer.join()
    return acked_ctr, acked_i, sent_i


def test_crash_during_pipelines_keeps_every_acknowledged_write():
    """A COMMIT waits for the end of the loop turn and rides with the next
    command's record (docs/durability.md): killed at any instant while
    pipelines run, the server keeps every acknowledged command, each whole,
    and the tree holds a prefix of the commands sent."""
    server = Dredis()
    try:
        sent_incrs = 0
        for delay in (0.05, 0.13, 0.21, 0.3, 0.42, 0.55):
            c = server.client()
            acked_ctr, acked_i, sent_i = _pipeline_until_killed(c, server, delay)
            c.close()
            server.proc.wait()
            server.start()  # same ROOT_DIR: recovery runs
            sent_incrs += sent_i + 1
            c = server.client()
            ctr = int(c.execute("GET", "ctr") or 0)
            assert acked_ctr <= ctr <= sent_incrs, (acked_ctr, ctr, sent_incrs)
            names = [k for i in range(sent_i + 1) for k in ("a:%d" % i, "b:%d" % i)]
            present = c.execute("EXISTS", *names) if names else 0
            # MSETs are whole and in order: a prefix of them is there
            exists = [c.execute("EXISTS", "a:%d" % i, "b:%d" % i) for i in range(sent_i + 1)]
            assert all(e in (0, 2) for e in exists), exists
            kept = exists.count(2)
            assert exists[:kept] == [2] * kept and present == 2 * kept, exists
            assert kept >= acked_i + 1, (kept, acked_i)
            c.execute("DEL", *names) if names else None
            c.close()
    finally:
        server.stop()
        server.cleanup()


def _trace_main_thread(trace_path, pid):
    calls = []
    with open(trace_path, errors="replace") as f:
        for line in f:
            m = re.match(r"(\d+)\s+(\w+)\((.*)", line)
            if m and int(m.group(1)) == pid:
                calls.append((m.group(2), m.group(3)))
    return calls


def run_traced(syscalls, env, work, prefix="dredis-traced-"):
    """Start dredis-server (with env added) under strace -f tracing the
    system calls named, run work(server) against it, stop the server by its
    pid (then strace ends); the main thread's calls as [(name, args)]."""
    strace = shutil.which("strace")
    assert strace, "strace is needed (Debian package strace)"
    root = tempfile.mkdtemp(prefix=prefix)
    trace = os.path.join(root, "trace")
    port = free_port()
    full_env = dict(os.environ, DREDIS_PORT=str(port), ROOT_DIR=os.path.join(root, "data"), **env)
    full_env.pop("DREDIS_SERVER", None)
    proc = subprocess.Popen([strace, "-f", "-s", "64", "-o", trace, "-e", "trace=" + ",".join(syscalls),
                             DREDIS_SERVER], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    s = Dredis.__new__(Dredis)
    s.proc, s.port, s.logfile = proc, port, os.path.join(root, "nolog")
    try:
        try:
            s._wait_ready(timeout=30)
            work(s)
            with s.client() as c:
                server_pid = int(re.search(r"process_id:(\d+)", c.execute("INFO", "server").decode()).group(1))
        finally:
            try:
                os.kill(server_pid, signal.SIGTERM)
            except (NameError, ProcessLookupError):
                proc.kill()
            proc.wait(timeout=30)
        return _trace_main_thread(trace, server_pid)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_clients(server, n, work):
    """work(client, i) on n connections at once."""
    clients = [server.client() for _ in range(n)]
    threads = [threading.Thread(target=work, args=(c, i)) for i, c in enumerate(clients)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    for c in clients:
        c.close()


def test_always_syncs_before_acknowledging():
    def work(c, i):
        for j in range(20):
            assert c.execute("SET", "k%d:%d" % (i, j), "v") == "OK"
            assert c.execute("HSET", "h%d" % i, "f%d" % j, "v") == 1

    calls = run_traced(["renameat2", "renameat", "unlinkat", "mkdirat", "write", "writev", "readv", "syncfs",
                        "fsync", "fdatasync"], {"DREDIS_FSYNC": "always"}, lambda s: run_clients(s, 5, work),
                       prefix="dredis-always-")
    # A command runs right after its request is read (readv on its
    # socket): the changes that follow belong to that client until the
    # next read. Its reply may leave only after a sync that follows them.
    mutations = ("renameat2", "renameat", "unlinkat", "mkdirat")
    current_fd = None
    last_change = {}
    last_sync = -1
    acks = 0
    for i, (name, args) in enumerate(calls):
        fd = args.split(",", 1)[0]
        if name == "readv":
            current_fd = fd
        elif name in mutations and current_fd is not None:
            last_change[current_fd] = i
        elif name in ("syncfs", "fsync", "fdatasync"):
            last_sync = i
        elif name in ("writev", "write") and (":1\\r\\n" in args or "+OK\\r\\n" in args):
            acks += 1
            assert last_change.get(fd, -1) < last_sync, (
                "a reply left before the changes it acknowledges were synced: %r" % (calls[max(0, i - 12):i + 1],))
    assert acks >= 100, acks
    assert any(name == "syncfs" for name, _ in calls)
    # group commit: far fewer syncs than acknowledged writes is possible,
    # never more syncs than acknowledgements
    assert sum(1 for name, _ in calls if name == "syncfs") <= acks


ALWAYS = {"DREDIS_FSYNC": "always", "DREDIS_ENABLE_DEBUG_FAULTS": "1"}
DREDIS_CHECK = os.path.join(os.path.dirname(os.path.abspath(DREDIS_SERVER)), "dredis-check")


def test_always_overwrites_sync_the_journal_only():
    """Under always, a turn whose changes are all files written whole (an
    overwrite, a new field, a list push) is made durable by the journal,
    which carries their contents (J_WRITE): one fsync of the journal, no
    syncfs. A turn that makes a key or removes anything syncs the tree."""
    def work(s):
        with s.client() as c:
            assert c.execute("SET", "k", "v") == "OK"
            assert c.execute("HSET", "h", "f", "0") == 1
            assert c.execute("RPUSH", "l", "a") == 1
            assert c.execute("ECHO", "overwrites-begin") == b"overwrites-begin"
            for i in range(30):
                assert c.execute("SET", "k", "v%d" % i) == "OK"
                assert c.execute("HSET", "h", "f", str(i), "g%d" % i, "x") == 1
                assert c.execute("LPUSH", "l", "x%d" % i) == i + 2
            assert c.execute("ECHO", "removal-begin") == b"removal-begin"
            assert c.execute("DEL", "k") == 1

    calls = run_traced(["openat", "syncfs", "fsync", "write", "writev"], {"DREDIS_FSYNC": "always"}, work,
                       prefix="dredis-always-")
    journal_fd = next(re.search(r"= (\d+)", a).group(1) for n, a in calls if n == "openat" and '".journal"' in a)
    marks = [i for i, (n, a) in enumerate(calls) if n in ("write", "writev") and "-begin" in a]
    assert len(marks) == 2, marks
    between = calls[marks[0]:marks[1]]
    # "fsync(41)", or "fsync(41 <unfinished ...>" when the other thread interleaves
    journal_syncs = sum(1 for n, a in between if n == "fsync" and re.match(journal_fd + r"\b", a))
    assert not any(n == "syncfs" for n, _ in between), [c for c in between if c[0] == "syncfs"]
    assert journal_syncs >= 90, journal_syncs  # one a command: each was alone in its turn
    assert any(n == "syncfs" for n, _ in calls[marks[1]:]), "the DEL synced the tree"


def lose_file_data(path):
    """What a power cut can leave of a file renamed into place whose data
    had not reached the disk: the name, with no bytes."""
    os.truncate(path, 0)


def test_always_start_up_makes_the_journals_writes_again():
    """A power cut can lose the data of files the journal carries (only the
    journal was synced): the next start writes them again from the journal,
    so every acknowledged write is back. Simulated by emptying the files
    after a SIGKILL (a process crash keeps them: the kernel has them)."""
    with Dredis(env=ALWAYS) as d:
        with d.client() as c:
            assert c.execute("SET", "k", "v") == "OK"
            assert c.execute("HSET", "h", "f", "0") == 1
            assert c.execute("RPUSH", "l", *[str(i) for i in range(10)]) == 10
            assert c.execute("HSET", "h", "gone", "x") == 1
            for i in range(5):
                assert c.execute("SET", "k", "v%d" % i) == "OK"
                assert c.execute("HSET", "h", "f", "f%d" % i) == 0
                assert c.execute("RPUSH", "l", "p%d" % i) == 11 + i
            assert c.execute("HDEL", "h", "gone") == 1  # a removal the journal carries too
        d.stop(signal.SIGKILL)
        lose_file_data(os.path.join(d.db_dir(), "k", "value"))
        lose_file_data(os.path.join(d.db_dir(), "h", "fields", "f"))
        lose_file_data(os.path.join(d.db_dir(), "l", "segments", "0"))
        # the removal's rename lost: the field is back under its name
        with open(os.path.join(d.db_dir(), "h", "fields", "gone"), "w") as f:
            f.write("x")
        r = subprocess.run([DREDIS_CHECK, d.root_dir], capture_output=True, text=True, timeout=60)
        assert "writes the journal carries (DREDIS_FSYNC=always)" in r.stderr + r.stdout, r.stderr + r.stdout
        d.start()
        with d.client() as c:
            assert c.execute("GET", "k") == b"v4"
            assert c.execute("HGET", "h", "f") == b"f4"
            assert c.execute("HGETALL", "h") == [b"f", b"f4"]
            assert c.execute("LRANGE", "l", "0", "-1") == [str(i).encode() for i in range(10)] + \
                [b"p%d" % i for i in range(5)]
        d.stop()
        r = subprocess.run([DREDIS_CHECK, d.root_dir], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr + r.stdout


def test_always_a_rolled_back_write_is_not_made_again():
    """A command that fails half way is rolled back: the journal's records
    of its writes must not be made again at the next start."""
    with Dredis(env=ALWAYS) as d:
        with d.client() as c:
            assert c.execute("HSET", "h", "f", "1") == 1
            assert c.execute("HSET", "h", "f", "2") == 0  # carried by the journal only
            # the second rename of the next HSET fails: f's new version
            # (journaled with its content) is undone with the command
            assert c.execute("DEBUG-FAULT", "ARM", "renameat2", "EIO", "NTH", "2") == "OK"
            r = c.execute("HSET", "h", "f", "3", "g", "4")
            assert isinstance(r, RespError), r
            assert c.execute("DEBUG-FAULT", "STATUS")[1] == 1  # fired
            assert c.execute("HGETALL", "h") == [b"f", b"2"]
        d.stop(signal.SIGKILL)
        d.start()
        with d.client() as c:
            assert c.execute("HGETALL", "h") == [b"f", b"2"]


def test_fsync_policy_is_validated_and_reported():
    root = tempfile.mkdtemp(prefix="dredis-fsync-")
    try:
        r = subprocess.run([DREDIS_SERVER], env=dict(os.environ, ROOT_DIR=root, DREDIS_FSYNC="sometimes",
                                                     DREDIS_PORT=str(free_port())),
                           capture_output=True, timeout=20)
        assert r.returncode != 0
        assert b"DREDIS_FSYNC must be always, everysec or no" in r.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for policy in ("always", "everysec", "no"):
        with Dredis(env={"DREDIS_FSYNC": policy}) as s, s.client() as c:
            assert c.execute("CONFIG", "GET", "appendfsync") == [b"appendfsync", policy.encode()]
            assert c.execute("SET", "a", "b") == "OK"
            assert staging_leftovers(s.root_dir) == []


def test_save_lastsave_role():
    import time as _time
    with Pair() as p:
        before = int(_time.time())
        assert p.run("SAVE") == "OK"
        assert p.d.execute("LASTSAVE") >= before
        assert p.run("ROLE") == [b"master", 0, []]
        p.run("MULTI")
        p.run("SAVE")
        p.run("EXEC")
