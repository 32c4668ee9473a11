"""scripts/dredis-backup against an S3 server on loopback: push (BGSAVE of a
running dredis, content-addressed upload through rclone), list, pull
(download, verification, a ROOT_DIR a new dredis serves) and prune.

The S3 server is s3rver (npm, pinned in tests/e2e/s3/package.json and its
package-lock.json, installed into tests/e2e/s3/node_modules as
test_e2e_node.py installs its packages), started on a free port with a
temporary directory and stopped by pid. rclone (Debian package rclone,
scripts/deps.sh test) reaches it through environment variables only."""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from dredis_test import DREDIS_SERVER, Client, Dredis, free_port, wait_until
from e2e_support import E2E_DIR, npm_modules, tail
from test_backup import MOVE, SiblingDredis, Writers, check

S3_DIR = os.path.join(E2E_DIR, "s3")
BACKUP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                                       "dredis-backup"))
BUCKET = "dredis-backups"
SUMMARY = re.compile(r"pushed (\S+): (\d+) files, (\d+) bytes, (\d+) objects uploaded \((\d+) bytes\), "
                     r"(\d+) objects already on the remote \(hashed (\d+) files, [0-9.]+s\)\Z")


# ---------------------------------------------------------------------------
# the S3 server and rclone
# ---------------------------------------------------------------------------

DREDIS_CHECK = os.path.join(os.path.dirname(os.path.abspath(DREDIS_SERVER)), "dredis-check")


def s3_modules():
    """Install tests/e2e/s3/node_modules unless it matches the lock file."""
    npm_modules(S3_DIR)


class S3:
    """s3rver on a free loopback port with a temporary directory, and the
    environment that makes rclone's remote "dbt:" reach it. remote is
    dbt:<bucket>/dredis; the bucket is made with rclone mkdir."""

    def __init__(self):
        if not shutil.which("rclone"):
            raise AssertionError("rclone is required (Debian package rclone; scripts/deps.sh test installs it)")
        s3_modules()
        self.dir = tempfile.mkdtemp(prefix="dredis-s3-")
        self.port = free_port()
        self.logfile = os.path.join(self.dir, "s3rver.log")
        os.mkdir(os.path.join(self.dir, "data"))
        self.log = open(self.logfile, "wb")
        self.proc = subprocess.Popen(
            ["node", os.path.join(S3_DIR, "node_modules", "s3rver", "bin", "s3rver.js"), "-d",
             os.path.join(self.dir, "data"), "-a", "127.0.0.1", "-p", str(self.port), "--silent"],
            cwd=S3_DIR, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        # rclone from the environment only: no config file, nothing inherited
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_"))}
        env.update({"RCLONE_CONFIG": os.path.join(self.dir, "rclone.conf"),
                    "RCLONE_CONFIG_DBT_TYPE": "s3", "RCLONE_CONFIG_DBT_PROVIDER": "Other",
                    "RCLONE_CONFIG_DBT_ENDPOINT": "http://127.0.0.1:%d" % self.port,
                    "RCLONE_CONFIG_DBT_ACCESS_KEY_ID": "S3RVER", "RCLONE_CONFIG_DBT_SECRET_ACCESS_KEY": "S3RVER",
                    "RCLONE_CONFIG_DBT_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG_DBT_REGION": "us-east-1"})
        self.env = env
        self.remote = "dbt:%s/dredis" % BUCKET
        try:
            deadline = time.time() + 30
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError("s3rver exited with %s:\n%s" % (self.proc.returncode, self.output()))
                p = subprocess.run(["rclone", "mkdir", "dbt:" + BUCKET], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=60)
                if p.returncode == 0:
                    break
                if time.time() > deadline:
                    raise AssertionError("rclone mkdir dbt:%s failed:\n%s\ns3rver: %s" % (
                        BUCKET, p.stdout.decode(errors="replace"), self.output()))
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def output(self):
        with open(self.logfile, "rb") as f:
            return tail(f.read().decode("utf-8", "replace"), 3000)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def rclone(self, *args, data=None):
        p = subprocess.run(["rclone"] + list(args), env=self.env, input=data, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        assert p.returncode == 0, "rclone %s: %s" % (" ".join(args), p.stderr.decode(errors="replace"))
        return p.stdout

    def objects(self):
        """The objects on the remote: {sha256: size}."""
        out = {}
        for line in self.rclone("lsf", "--files-only", "--format", "sp", self.remote + "/objects").decode().split():
            size, name = line.split(";")
            out[name] = int(size)
        return out

    def backup_files(self):
        return sorted(self.rclone("lsf", "-R", "--files-only", self.remote + "/backups").decode().split())

    def markers(self):
        return sorted(self.rclone("lsf", "--files-only", self.remote + "/pushes").decode().split())

    def manifest_objects(self, name):
        """The sha256 of every file entry of backup name's manifest."""
        text = self.rclone("cat", "%s/backups/%s/manifest" % (self.remote, name)).decode()
        return {line.split(" ")[1] for line in text.splitlines() if line.startswith("f ")}

    def backup(self, *args, server=None, env=None, expect=0, timeout=120):
        """Run scripts/dredis-backup args (with --remote) against this S3 and
        the dredis server given; (stdout, stderr) as text."""
        full = dict(self.env)
        if server is not None:
            full.update({"DREDIS_HOST": "127.0.0.1", "DREDIS_PORT": str(server.port)})
        full.setdefault("DREDIS_CHECK", DREDIS_CHECK)  # pull checks what it restores
        full.update(env or {})
        argv = [BACKUP] + list(args) + ["--remote", self.remote]
        p = subprocess.run(argv, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        assert p.returncode == expect, "dredis-backup %s exited %d (expected %d)\n-- stdout:\n%s\n-- stderr:\n%s" % (
            " ".join(args), p.returncode, expect, tail(out), tail(err))
        return out, err

    def push(self, server, *args, env=None):
        """dredis-backup push; its summary as a dict (and the seconds it took)."""
        t0 = time.time()
        out, err = self.backup("push", *args, server=server, env=env)
        took = time.time() - t0
        lines = out.splitlines()
        assert len(lines) == 1 and SUMMARY.match(lines[0]), "push printed %r (stderr %r)" % (out, err)
        assert err == "", "push wrote to stderr though it is not a terminal: %r" % err
        m = SUMMARY.match(lines[0])
        keys = ("name", "files", "bytes", "uploaded", "uploaded_bytes", "present", "hashed")
        r = dict(zip(keys, [m.group(1)] + [int(g) for g in m.groups()[1:]]))
        r["seconds"] = took
        return r

    def names(self):
        out, _ = self.backup("list")
        return out.split()


def pull_and_serve(s3, name, parent, dest=None):
    """pull backup name into dest (default parent/<name>) and start a dredis
    on it (stopped by the caller's with; the directory is left)."""
    dest = dest or os.path.join(parent, name)
    out, _ = s3.backup("pull", name, dest)
    assert "ROOT_DIR=%s dredis-server" % dest in out and "is ready" in out, out
    return Dredis(root_dir=dest)


def fill(c, prefix, n, value=lambda i: "v%d" % i):
    for start in range(0, n, 500):
        cmds = [("SET", "%s%d" % (prefix, i), value(i)) for i in range(start, min(n, start + 500))]
        for r in c.pipeline(cmds):
            check(r, "SET")


# ---------------------------------------------------------------------------
# 1. end to end under a write load
# ---------------------------------------------------------------------------

TOTAL = 1000000
ELEMENTS = [b"e:%d" % i for i in range(60)]
X0 = 40


def load_problems(c, acked_before):
    """What breaks the writers' invariants in the database of c, or loses a
    counter value acknowledged before the push started."""
    problems = []
    a, b = int(c.execute("GET", "a")), int(c.execute("GET", "b"))
    if a + b != TOTAL:
        problems.append("a + b = %d + %d = %d, not %d" % (a, b, a + b, TOTAL))
    x, y = c.execute("LRANGE", "x", 0, -1), c.execute("LRANGE", "y", 0, -1)
    if sorted(x + y) != sorted(ELEMENTS):
        problems.append("x and y do not hold each element once: %d + %d elements" % (len(x), len(y)))
    h = c.execute("HGETALL", "h")
    h = dict(zip(h[::2], h[1::2]))
    if len(y) - (len(ELEMENTS) - X0) != int(h[b"x2y"]) - int(h[b"y2x"]):
        problems.append("LLEN y = %d but h counts %r" % (len(y), h))
    for key, acked in acked_before.items():
        got = int(c.execute("GET", key) or 0)
        if got < acked:
            problems.append("%s is %d, but %d was acknowledged before the push" % (key, got, acked))
    return problems


def test_push_under_load_and_restore():
    """Three pushes while clients run MULTI/EXEC transfers (a + b constant),
    an EVAL moving elements between two lists (counted in a hash) and
    counters: each backup, pulled into a new directory and served by a new
    dredis, keeps the invariants and holds every counter value acknowledged
    before its push started; list shows them newest first."""
    with S3() as s3, SiblingDredis() as d, d.client() as c:
        check(c.execute("MSET", "a", TOTAL // 2, "b", TOTAL - TOTAL // 2, "n1", 0, "n2", 0), "MSET")
        check(c.execute("RPUSH", "x", *ELEMENTS[:X0]), "RPUSH")
        check(c.execute("RPUSH", "y", *ELEMENTS[X0:]), "RPUSH")
        check(c.execute("HSET", "h", "x2y", 0, "y2x", 0), "HSET")
        acked = {"n1": 0, "n2": 0}
        rng = random.Random(7)

        def transfers(w, rnd):
            cmds = []
            for _ in range(5):
                n = rng.randint(1, 9)
                cmds += [("MULTI",), ("DECRBY", "a", n), ("INCRBY", "b", n), ("EXEC",)]
            cmds.append(("SET", "t:%d" % (rnd % 500), "transfer round %d" % rnd))  # new content for each push
            cmds.append(("INCR", "n1"))
            replies = w.pipeline(cmds)
            for cmd, r in zip(cmds, replies):
                check(r, cmd)
            acked["n1"] = replies[-1]
            time.sleep(0.01)

        def moves(w, rnd):
            r = w.execute("EVAL", MOVE, 3, *(("x", "y", "h", "x2y") if rnd % 3 else ("y", "x", "h", "y2x")))
            assert r in (0, 1), r
            acked["n2"] = check(w.execute("INCR", "n2"), "INCR")
            time.sleep(0.005)

        writers = Writers(d.port, [transfers, moves])
        pushed = []
        try:
            for _ in range(3):
                time.sleep(0.3)
                before = dict(acked)
                assert writers.rounds[0] and writers.rounds[1], "the writers do not run"
                r = s3.push(d)
                pushed.append((r["name"], before))
        finally:
            writers.stop()
        final = {k: int(c.execute("GET", k)) for k in acked}
        names = [n for n, _ in pushed]
        assert len(set(names)) == 3, names
        assert s3.names() == names[::-1], (s3.names(), names)
        parent = tempfile.mkdtemp(prefix="dredis-pulled-")
        try:
            for name, before in pushed:
                with pull_and_serve(s3, name, parent) as restored, restored.client() as rc:
                    problems = load_problems(rc, before)
                    for k, v in final.items():
                        if int(rc.execute("GET", k)) > v:
                            problems.append("%s holds a value never written" % k)
                    assert not problems, "backup %s: %s" % (name, problems)
                    print("   %s: n1 %s (acked before push %d), n2 %s (acked %d)" % (
                        name, rc.execute("GET", "n1").decode(), before["n1"], rc.execute("GET", "n2").decode(),
                        before["n2"]))
        finally:
            shutil.rmtree(parent, ignore_errors=True)


def test_push_while_another_client_runs_bgsave():
    """Another client runs BGSAVE again and again (DREDIS_SNAPSHOT_KEEP=1, so
    each new snapshot deletes the one before, maybe the one being pushed):
    push waits for the snapshot in progress, takes its own, and its backup
    restores the data whole. A push whose snapshot is deleted while it
    reads it (stopped with SIGSTOP meanwhile) takes a new one."""
    with S3() as s3, SiblingDredis() as d, d.client() as c:
        fill(c, "k", 800, lambda i: "v%d" % (i % 50))  # few objects: the S3 server is slow
        stop = threading.Event()
        started = [0]

        def spam():
            with Client(d.port) as b:
                deadline = time.time() + 60
                while not stop.is_set() and time.time() < deadline:
                    if b.execute("BGSAVE") == "Background saving started":
                        started[0] += 1
                    # often, but not so often that push's three tries can
                    # all lose their snapshot on a loaded machine (CI did,
                    # at 0.02 s): losing one is what the SIGSTOP part tests
                    time.sleep(0.3)
        t = threading.Thread(target=spam, daemon=True)
        t.start()
        try:
            time.sleep(0.2)
            pushed = s3.push(d)
            names = [pushed["name"]]
        finally:
            stop.set()
            t.join(30)
        assert started[0] >= 1, "the other client's BGSAVE never started"
        snapdir = d.root_dir + ".snapshots"
        assert not [n for n in os.listdir(snapdir) if n.startswith(".dredis-backup-work-")], os.listdir(snapdir)
        # a push stopped (SIGSTOP) as it starts reading its snapshot, which a
        # newer BGSAVE then deletes: it notices, takes another, and succeeds
        check(c.execute("SET", "more", "after the first pushes"), "SET")
        env = dict(s3.env, DREDIS_HOST="127.0.0.1", DREDIS_PORT=str(d.port))
        p = subprocess.Popen([BACKUP, "push", "--remote", s3.remote], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            stage = os.path.join(snapdir, ".dredis-backup-work-%d" % p.pid, "stage")
            deadline = time.time() + 60
            while not os.path.isdir(stage) and p.poll() is None and time.time() < deadline:
                time.sleep(0.001)
            os.kill(p.pid, signal.SIGSTOP)
            first = c.execute("INFO", "persistence").decode().split("dredis_last_snapshot_dir:")[1].split()[0]
            # ours may still be deleting the one before: BGSAVE is refused
            # until it is over (as Redis 7.0, with or without SCHEDULE)
            wait_until(lambda: c.execute("BGSAVE") == "Background saving started", timeout=60,
                       what="a BGSAVE of another client to start")
            wait_until(lambda: not os.path.exists(first), timeout=60, what="the newer BGSAVE to delete the first")
            os.kill(p.pid, signal.SIGCONT)
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait()
        assert p.returncode == 0, (out, err)
        retried = out.decode().split()[1].rstrip(":")
        assert retried != os.path.basename(first) and retried.startswith("snapshot-"), (first, out)
        names.append(retried)
        parent = tempfile.mkdtemp(prefix="dredis-pulled-")
        try:
            for name in (names[0], names[-1]):
                with pull_and_serve(s3, name, parent) as r, r.client() as rc:
                    assert rc.execute("DBSIZE") == (801 if name == names[-1] else 800), name
                    assert rc.execute("GET", "k799") == b"v49", name
        finally:
            shutil.rmtree(parent, ignore_errors=True)
        print("   the other client started %d snapshots meanwhile; the push took %.2fs" % (
            started[0], pushed["seconds"]))


# ---------------------------------------------------------------------------
# 2. incremental
# ---------------------------------------------------------------------------

def test_second_push_sends_only_what_changed():
    """A first push of 3000 keys (500 distinct values: the S3 server on
    loopback stores ~200 objects a second) sends every distinct content once; after 5
    keys change, 3 are added and 2 deleted, the second push sends exactly
    the 8 new contents (objects on the remote before/after and the summary
    line agree); a third push reads (hashes) almost nothing: the cache
    knows the files. The server has a password (DREDIS_REQUIREPASS)."""
    with S3() as s3, SiblingDredis(env={"DREDIS_REQUIREPASS": "sekret"}) as d, d.client() as c:
        assert c.execute("AUTH", "sekret") == "OK"
        fill(c, "key:", 3000, lambda i: "value %d %s" % (i % 500, "x" * (i % 50)))
        _, err = s3.backup("push", server=d, expect=1)
        assert "DREDIS_REQUIREPASS" in err, err
        pw = {"DREDIS_REQUIREPASS": "sekret"}
        first = s3.push(d, env=pw)
        after_first = s3.objects()
        # 3000 values, "string" (the type files) and the empty file (.expires has none here)
        assert first["uploaded"] == len(after_first), (first, len(after_first))
        assert first["uploaded"] == 501 and first["present"] == 0, first
        assert first["files"] == 6000, first
        for i in range(5):
            check(c.execute("SET", "key:%d" % (i * 100), "changed %d" % i), "SET")
        for i in range(3):
            check(c.execute("SET", "new:%d" % i, "brand new %d" % i), "SET")
        check(c.execute("DEL", "key:7", "key:8"), "DEL")
        second = s3.push(d, env=pw)
        after_second = s3.objects()
        new = set(after_second) - set(after_first)
        assert len(new) == 8 and second["uploaded"] == 8, (second, len(new))
        assert new == {hashlib.sha256(v.encode()).hexdigest() for v in
                       ["changed %d" % i for i in range(5)] + ["brand new %d" % i for i in range(3)]}
        assert second["files"] == 6000 - 4 + 6, second
        assert second["present"] + second["uploaded"] == len(s3.manifest_objects(second["name"])), second
        third = s3.push(d, env=pw)
        assert third["uploaded"] == 0 and set(s3.objects()) == set(after_second), third
        assert third["hashed"] <= 100, "the third push read %d files: the cache did not serve" % third["hashed"]
        print("   push 1: %d files, %d objects uploaded, %.2fs; push 2: %d uploaded, %d already there, hashed %d, "
              "%.2fs; push 3: hashed %d, %.2fs" % (first["files"], first["uploaded"], first["seconds"],
                                                  second["uploaded"], second["present"], second["hashed"],
                                                  second["seconds"], third["hashed"], third["seconds"]))


# ---------------------------------------------------------------------------
# 3. an interrupted push
# ---------------------------------------------------------------------------

def test_interrupted_push_is_never_listed_or_restored():
    """A push killed (SIGKILL, with its rclone) while it uploads leaves
    objects and its marker, no manifest: list does not show it and pull
    refuses it; a later push succeeds (and removes the dead push's work
    directory), and prune removes what the killed push left (its marker and
    the objects no backup uses)."""
    with S3() as s3, SiblingDredis() as d, d.client() as c:
        fill(c, "doomed:", 600, lambda i: "doomed value %d" % i)
        # one object at a time, 50 a second: 12 s to upload them all
        env = dict(s3.env, DREDIS_HOST="127.0.0.1", DREDIS_PORT=str(d.port), RCLONE_TRANSFERS="1",
                   RCLONE_TPSLIMIT="50")
        p = subprocess.Popen([BACKUP, "push", "--remote", s3.remote], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            wait_until(lambda: p.poll() is not None or len(s3.objects()) >= 10, timeout=60, interval=0.1,
                       what="the push to upload some objects")
            assert p.poll() is None, "the push ended before it was killed: %r" % (p.communicate(),)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)  # the push and its rclone
            p.wait()
        uploaded = s3.objects()
        assert 10 <= len(uploaded) < 600, len(uploaded)
        assert s3.backup_files() == [], s3.backup_files()
        assert len(s3.markers()) == 1, s3.markers()
        name = os.path.basename(c.execute("INFO", "persistence").decode().split("dredis_last_snapshot_dir:")[1]
                                .split()[0])
        assert name.startswith("snapshot-"), name
        assert s3.names() == [], "an incomplete backup is listed"
        _, err = s3.backup("pull", name, os.path.join(d.parent, "never"), expect=1)
        assert "no complete backup named %s" % name in err, err
        assert not os.path.exists(os.path.join(d.parent, "never")), err
        # its work directory: in $TMPDIR (the server had no snapshot yet, so
        # its snapshot directory was not known) and beside the snapshots
        snapdir = d.root_dir + ".snapshots"
        killed_tmp = os.path.join(tempfile.gettempdir(), "dredis-backup-work-%d" % p.pid)
        assert os.path.isdir(killed_tmp)
        assert [n for n in os.listdir(snapdir) if n.startswith(".dredis-backup-work-")], os.listdir(snapdir)
        # the data changes; a new push works and cleans the dead push's work directory
        check(c.execute("FLUSHALL"), "FLUSHALL")
        fill(c, "kept:", 50, lambda i: "kept value %d" % i)
        r = s3.push(d)
        assert s3.names() == [r["name"]]
        assert not [n for n in os.listdir(snapdir) if n.startswith(".dredis-backup-work-")], os.listdir(snapdir)
        assert not os.path.exists(killed_tmp)
        out, _ = s3.backup("prune", "--keep", "1")
        assert "1 interrupted pushes cleaned" in out, out
        assert s3.backup_files() == [r["name"] + "/manifest"] and s3.markers() == [], (s3.backup_files(),
                                                                                      s3.markers())
        assert set(s3.objects()) == s3.manifest_objects(r["name"]), out
        print("   killed with %d of 601 objects uploaded; %s" % (len(uploaded), out.strip()))


# ---------------------------------------------------------------------------
# 4. prune
# ---------------------------------------------------------------------------

def test_prune_keeps_the_newest():
    """Two backups of different data (named so that name order is not time
    order); prune --keep 1 leaves the newest and exactly the objects it
    uses (but no object goes while a push runs elsewhere); pull of a pruned
    one fails clearly, the kept one restores."""
    with S3() as s3, SiblingDredis() as d, d.client() as c:
        fill(c, "k", 200, lambda i: "gen0 %d" % i)
        names = ["zulu", "mike"]
        for g, name in enumerate(names):
            fill(c, "k", 200 if g == 0 else 20, lambda i: "gen%d %d" % (g, i))
            s3.push(d, "--name", name)
        assert s3.names() == names[::-1], s3.names()
        _, err = s3.backup("push", "--name", "mike", server=d, expect=1)
        assert "exists" in err, err
        # a push running on another host (its marker is recent): backups go, objects stay
        before = s3.objects()
        marker = "%s/pushes/elsewhere-1" % s3.remote
        s3.rclone("rcat", marker, data=b"host elsewhere\npid 1\nstarted %d\n" % int(time.time()))
        out, _ = s3.backup("prune", "--keep", "1")
        assert "objects left alone: a push is running (host elsewhere, pid 1)" in out, out
        assert s3.names() == ["mike"] and s3.objects() == before, (s3.names(), out)
        s3.rclone("deletefile", marker)
        out, _ = s3.backup("prune", "--keep", "1")
        assert s3.names() == ["mike"], s3.names()
        assert s3.backup_files() == ["mike/manifest"], s3.backup_files()
        assert set(s3.objects()) == s3.manifest_objects("mike") != set(before), out
        parent = tempfile.mkdtemp(prefix="dredis-pulled-")
        try:
            _, err = s3.backup("pull", "zulu", os.path.join(parent, "zulu"), expect=1)
            assert "no complete backup named zulu" in err, err
            assert os.listdir(parent) == [], os.listdir(parent)
            with pull_and_serve(s3, "mike", parent) as r, r.client() as rc:
                assert rc.execute("GET", "k5") == b"gen1 5" and rc.execute("GET", "k150") == b"gen0 150"
                assert rc.execute("DBSIZE") == 200
        finally:
            shutil.rmtree(parent, ignore_errors=True)
        _, err = s3.backup("prune", "--keep", "0", expect=1)
        assert "--keep" in err, err


# ---------------------------------------------------------------------------
# 5. pull verifies
# ---------------------------------------------------------------------------

def test_pull_verifies_every_file():
    """An object overwritten on the remote (rclone rcat) makes pull fail and
    name the file that uses it; so does a missing one; nothing is left
    behind. pull refuses a directory that is not empty, and push explains
    an unreachable server."""
    with S3() as s3, SiblingDredis() as d, d.client() as c:
        fill(c, "k", 100)
        check(c.execute("SET", "victim", "the victim's value"), "SET")
        check(c.execute("SET", "gone", "a value that goes missing"), "SET")
        check(c.execute("HSET", "hash", "f", "v"), "HSET")
        check(c.execute("DEL", "hash"), "DEL")  # nothing left of it
        name = s3.push(d)["name"]
        parent = tempfile.mkdtemp(prefix="dredis-pulled-")
        try:
            os.mkdir(os.path.join(parent, "full"))
            open(os.path.join(parent, "full", "x"), "w").close()
            _, err = s3.backup("pull", name, os.path.join(parent, "full"), expect=1)
            assert "not empty" in err, err
            sha = hashlib.sha256(b"the victim's value").hexdigest()
            s3.rclone("rcat", "%s/objects/%s" % (s3.remote, sha), data=b"the victim's VALUE")
            dest = os.path.join(parent, "restored")
            _, err = s3.backup("pull", name, dest, expect=1)
            assert "0/victim/value" in err and "damaged" in err, err
            assert sorted(os.listdir(parent)) == ["full"], os.listdir(parent)
            s3.rclone("deletefile", "%s/objects/%s" % (s3.remote, hashlib.sha256(b"a value that goes missing")
                                                       .hexdigest()))
            _, err = s3.backup("pull", name, dest, expect=1)
            assert "0/gone/value" in err and "missing" in err and "0/victim/value" in err, err
            assert sorted(os.listdir(parent)) == ["full"], os.listdir(parent)
            # an empty directory is fine once the objects are right again
            s3.rclone("rcat", "%s/objects/%s" % (s3.remote, sha), data=b"the victim's value")
            s3.rclone("rcat", "%s/objects/%s" % (s3.remote, hashlib.sha256(b"a value that goes missing")
                                                 .hexdigest()), data=b"a value that goes missing")
            os.mkdir(dest)
            with pull_and_serve(s3, name, parent, dest) as r, r.client() as rc:
                assert rc.execute("GET", "victim") == b"the victim's value"
                assert rc.execute("DBSIZE") == 102
            # a backup whose files all match its manifest but whose tree is
            # damaged (a hash's len behind the server's back, before the
            # snapshot) is not put in place: dredis-check fails the pull
            check(c.execute("HSET", "counted", "f1", "v", "f2", "v"), "HSET")
            lenfile = os.path.join(d.root_dir, "0", "counted", "len")
            with open(lenfile + ".new", "w") as f:
                f.write("7")
            os.rename(lenfile + ".new", lenfile)
            name = s3.push(d)["name"]
            dest = os.path.join(parent, "damaged")
            _, err = s3.backup("pull", name, dest, expect=1)
            assert "dredis-check finds the tree damaged" in err and "/0/counted/len: says 7, there are 2" in err, err
            assert not os.path.exists(dest) and not [n for n in os.listdir(parent) if "dredis-backup-pull" in n]
        finally:
            shutil.rmtree(parent, ignore_errors=True)
        # clear failures: no server, no rclone, rclone failing (its message shown)
        port = free_port()
        _, err = s3.backup("push", env={"DREDIS_HOST": "127.0.0.1", "DREDIS_PORT": str(port)}, expect=1)
        assert "cannot reach dredis at 127.0.0.1:%d" % port in err, err
        bare = tempfile.mkdtemp(prefix="dredis-nopath-")
        try:
            os.symlink(shutil.which("python3"), os.path.join(bare, "python3"))
            _, err = s3.backup("list", env={"PATH": bare}, expect=1)
            assert "rclone is not installed" in err, err
        finally:
            shutil.rmtree(bare, ignore_errors=True)
        _, err = s3.backup("list", env={"RCLONE_CONFIG_DBT_ENDPOINT": "http://127.0.0.1:%d" % port,
                                        "RCLONE_LOW_LEVEL_RETRIES": "1", "RCLONE_RETRIES": "1"}, expect=1)
        assert "rclone failed to list the backups" in err and "connection refused" in err, err


def test_bgsave_failure_is_reported():
    """A snapshot the server cannot make (DREDIS_SNAPSHOT_DIR under a regular
    file) fails push with the server's reason, and uploads nothing."""
    with S3() as s3, SiblingDredis(env={"DREDIS_SNAPSHOT_DIR": "/dev/null/snapshots"}, start=False) as d:
        try:
            d.start()
        except AssertionError as e:  # a server that checks the setting at start-up is fine too
            assert "DREDIS_SNAPSHOT_DIR" in str(e), e
            return
        _, err = s3.backup("push", server=d, expect=1)
        assert "BGSAVE failed" in err and "DREDIS_SNAPSHOT_DIR" in err, err
        assert s3.backup_files() == [] and s3.objects() == {} and s3.markers() == []

