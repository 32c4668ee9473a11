"""Backups of the data tree (README "Backup and restore", docs/storage-format.md
"Back up and restore"): the README's CLIENT PAUSE WRITE + cp -al procedure
gives a copy that is one point in time while MULTI/EXEC blocks and scripts
write; a hard-link copy never changes after it was made, whatever the server
writes next; deleted and replaced values give their space and their bytes
back; and the ready-made inodes under .tmp never starve a file system that
is short of inodes."""
import hashlib
import os
import random
import re
import shutil
import stat
import subprocess
import tempfile
import threading
import time

from dredis_test import Client, Dredis, RespError, wait_until


class SiblingDredis(Dredis):
    """A dredis whose ROOT_DIR is parent/root in a private parent directory,
    so that copies made beside it (parent/copy-N) are on the same file
    system, as cp -al needs; cleanup() removes the parent."""

    def __init__(self, **kw):
        self.parent = tempfile.mkdtemp(prefix="dredis-backup-")
        super().__init__(root_dir=os.path.join(self.parent, "root"), **kw)

    def copy_dir(self, n):
        return os.path.join(self.parent, "copy-%d" % n)

    def cleanup(self):
        try:
            super().cleanup()
        finally:
            shutil.rmtree(self.parent, ignore_errors=True)


def cp_al(root, dest):
    """The README's copy, run by the shell as written there:
    mkdir "$B" && cp -al "$ROOT_DIR"/[0-9]* "$B"/ ; the CompletedProcess."""
    return subprocess.run('mkdir "$B" && cp -al "$ROOT_DIR"/[0-9]* "$B"/', shell=True,
                          env=dict(os.environ, ROOT_DIR=root, B=dest), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def check(reply, what):
    assert not isinstance(reply, RespError), "%s: %r" % (what, reply)
    return reply


class Writers:
    """Client threads that write until stop(); each thread runs work(client,
    round) again and again. The replies each round gets are checked by work
    itself; an exception ends the thread and is re-raised by stop()."""

    def __init__(self, port, works):
        self.stopping = threading.Event()
        self.errors = []
        self.rounds = [0] * len(works)
        self.threads = [threading.Thread(target=self._run, args=(port, i, w), daemon=True)
                        for i, w in enumerate(works)]
        for t in self.threads:
            t.start()

    def _run(self, port, i, work):
        try:
            with Client(port, timeout=60) as c:
                while not self.stopping.is_set():
                    work(c, self.rounds[i])
                    self.rounds[i] += 1
        except Exception as e:  # reported by stop()
            self.errors.append("writer %d: %r" % (i, e))

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(90)
        assert not any(t.is_alive() for t in self.threads), "a writer did not stop"
        assert not self.errors, self.errors


# ---------------------------------------------------------------------------
# (a) the README's procedure gives one point in time
# ---------------------------------------------------------------------------

TOTAL = 1000000                        # a + b
X0, Y0 = 40, 20                        # the lists' lengths at the start
ELEMENTS = [b"e:%d" % i for i in range(X0 + Y0)]
KS = ["k%d" % i for i in range(1, 6)]  # MSET to one generation
GS = ["g1", "g2", "g3"]                # a script SETs them to one generation
MS = ["m1", "m2"]                      # a MULTI block SETs them to one generation
KNOWN_KEYS = {"a", "b", "x", "y", "h"} | set(KS) | set(GS) | set(MS)

MOVE = """
local v = redis.call('RPOP', KEYS[1])
if not v then return 0 end
redis.call('LPUSH', KEYS[2], v)
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
return 1
"""
GENERATION = """
for _, k in ipairs(KEYS) do redis.call('SET', k, k .. ':' .. ARGV[1]) end
return #KEYS
"""


def same_generation(c, keys, newest):
    """The keys all hold '<key>:<g>' for one generation g <= newest; the
    problems found (a list of strings)."""
    values = [c.execute("GET", k) for k in keys]
    gens = set()
    for k, v in zip(keys, values):
        m = re.fullmatch(rb"%s:(\d+)" % re.escape(k.encode()), v or b"")
        if not m or int(m.group(1)) > newest:
            return ["%s holds %r, which no writer wrote" % (k, v)]
        gens.add(int(m.group(1)))
    return [] if len(gens) == 1 else ["%s are not one generation: %r" % (keys, values)]


def point_in_time_problems(c, newest):
    """What in the database of c breaks an invariant of the writers of
    test_readme_backup_procedure_is_consistent."""
    problems = []
    keys = {k.decode("utf-8", "replace") for k in c.execute("KEYS", "*")}
    if keys - KNOWN_KEYS:
        problems.append("keys no writer made: %r" % sorted(keys - KNOWN_KEYS))
    a, b = c.execute("GET", "a"), c.execute("GET", "b")
    if not (re.fullmatch(rb"-?\d+", a or b"") and re.fullmatch(rb"-?\d+", b or b"")):
        problems.append("a, b hold %r, %r" % (a, b))
    elif int(a) + int(b) != TOTAL:
        problems.append("a + b = %d + %d = %d, not %d" % (int(a), int(b), int(a) + int(b), TOTAL))
    problems += same_generation(c, KS, newest["k"])
    problems += same_generation(c, GS, newest["g"])
    problems += same_generation(c, MS, newest["m"])
    x, y = c.execute("LRANGE", "x", 0, -1), c.execute("LRANGE", "y", 0, -1)
    h = c.execute("HGETALL", "h")
    if not (isinstance(x, list) and isinstance(y, list) and isinstance(h, list)):
        return problems + ["x, y, h: %.150r, %.150r, %.150r" % (x, y, h)]
    if sorted(x + y) != sorted(ELEMENTS):
        seen = x + y
        problems.append("x and y do not hold each element once: %d in x, %d in y; twice: %r; missing: %r; "
                        "foreign: %r" % (len(x), len(y), sorted({e for e in seen if seen.count(e) > 1})[:5],
                                         sorted(set(ELEMENTS) - set(seen))[:5], sorted(set(seen) - set(ELEMENTS))[:5]))
    h = dict(zip(h[::2], h[1::2]))
    try:
        x2y, y2x = int(h[b"x2y"]), int(h[b"y2x"])
        if set(h) != {b"x2y", b"y2x"} or len(y) - Y0 != x2y - y2x:
            problems.append("LLEN y = %d but h counts %d moves to y and %d from it (h=%r)" % (len(y), x2y, y2x, h))
    except (KeyError, ValueError):
        problems.append("h holds %r" % h)
    return problems


class InvariantLoad:
    """The writers' workload, for Writers: MULTI/EXEC transfers between a
    and b with MSETs of KS, EVAL/EVALSHA moves between the lists x and y
    counted in the hash h, and scripts and MULTI blocks that set GS and MS
    to one generation. The constructor sets the keys up through c. newest:
    the newest generation each writer has sent (a copy may hold it); done:
    the newest acknowledged (a copy taken later must hold it or newer)."""

    def __init__(self, c, seed):
        check(c.execute("MSET", "a", TOTAL // 2, "b", TOTAL - TOTAL // 2), "MSET a b")
        check(c.execute("RPUSH", "x", *ELEMENTS[:X0]), "RPUSH x")
        check(c.execute("RPUSH", "y", *ELEMENTS[X0:]), "RPUSH y")
        check(c.execute("HSET", "h", "x2y", 0, "y2x", 0), "HSET h")
        for k in KS + GS + MS:
            check(c.execute("SET", k, k + ":0"), "SET")
        self.move_sha = check(c.execute("SCRIPT", "LOAD", MOVE), "SCRIPT LOAD").decode()
        self.gen_sha = check(c.execute("SCRIPT", "LOAD", GENERATION), "SCRIPT LOAD").decode()
        self.newest = {"k": 0, "g": 0, "m": 0}
        self.done = {"k": 0, "g": 0, "m": 0}
        self.rng = random.Random(seed)

    def transfers(self, w, rnd):
        cmds = []
        for i in range(8):
            n = self.rng.randint(1, 9)
            cmds += [("MULTI",), ("DECRBY", "a", n), ("INCRBY", "b", n), ("EXEC",)]
            cmds.append(["MSET"] + [x for k in KS for x in (k, "%s:%d" % (k, rnd * 8 + i + 1))])
        self.newest["k"] = rnd * 8 + 8
        for cmd, r in zip(cmds, w.pipeline(cmds)):
            assert not isinstance(r, RespError) and r is not None, (cmd, r)
        self.done["k"] = rnd * 8 + 8

    def moves(self, w, rnd):
        cmds = []
        for i in range(8):
            if (rnd + i) % 2:
                cmds.append(("EVAL", MOVE, 3, "x", "y", "h", "x2y"))
            else:
                cmds.append(("EVALSHA", self.move_sha, 3, "y", "x", "h", "y2x"))
        for cmd, r in zip(cmds, w.pipeline(cmds)):
            assert r in (0, 1), (cmd, r)

    def generations(self, w, rnd):
        cmds = []
        for i in range(8):
            g = rnd * 8 + i + 1
            cmds.append(("EVALSHA", self.gen_sha, len(GS), *GS, g))
            cmds += [("MULTI",)] + [("SET", k, "%s:%d" % (k, g)) for k in MS] + [("EXEC",)]
        self.newest["g"] = self.newest["m"] = rnd * 8 + 8
        for cmd, r in zip(cmds, w.pipeline(cmds)):
            assert not isinstance(r, RespError) and r is not None, (cmd, r)
        self.done["g"] = self.done["m"] = rnd * 8 + 8

    def works(self):
        return [self.transfers, self.moves, self.generations]


def test_readme_backup_procedure_is_consistent():
    """20 copies by the README's procedure (CLIENT PAUSE 600000 WRITE, cp -al
    of the database directories, CLIENT UNPAUSE) while three clients run
    MULTI/EXEC blocks, MSET, EVAL and EVALSHA: each copy, served by a
    dredis of its own, keeps every cross-key invariant of the writers."""
    with SiblingDredis() as d, d.client() as c:
        load = InvariantLoad(c, seed=1)
        newest = load.newest
        writers = Writers(d.port, load.works())
        copies = []
        try:
            for n in range(20):
                time.sleep(0.05)  # the writers go on between copies
                assert c.execute("CLIENT", "PAUSE", "600000", "WRITE") == "OK"
                try:
                    done = cp_al(d.root_dir, d.copy_dir(n))
                finally:
                    assert c.execute("CLIENT", "UNPAUSE") == "OK"
                copies.append((d.copy_dir(n), done, dict(newest)))
            time.sleep(0.05)
        finally:
            writers.stop()
        assert min(writers.rounds) > 5, "the writers hardly wrote: %r rounds" % writers.rounds

        bad = []
        for path, done, newest_then in copies:
            problems = []
            if done.returncode != 0:
                problems.append("cp failed under the pause: %s" % done.stderr.decode(errors="replace")[:500])
            with Dredis(root_dir=path) as restored, restored.client() as r:
                problems += point_in_time_problems(r, newest_then)
            if problems:
                bad.append("%s: %s" % (os.path.basename(path), "; ".join(problems)))
        assert not bad, "%d of %d copies are not one point in time:\n%s" % (len(bad), len(copies), "\n".join(bad))


# ---------------------------------------------------------------------------
# (b) a hard-link copy never changes
# ---------------------------------------------------------------------------

STRINGS = ["s%d" % i for i in range(48)]
COUNTERS = ["c%d" % i for i in range(8)]
LISTS = ["l%d" % i for i in range(4)]
HASHES = ["h%d" % i for i in range(4)]
SETS = ["t%d" % i for i in range(4)]
SET3 = """
for i = 1, 3 do redis.call('SET', KEYS[i], KEYS[i] .. ':' .. ARGV[1]) end
redis.call('RPUSH', KEYS[4], ARGV[1])
redis.call('LPOP', KEYS[4])
return 1
"""


def file_states(copy):
    """path -> (sha256, size, inode) of every regular file under copy."""
    out = {}
    for dirpath, dirs, files in os.walk(copy):
        for name in files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    data = f.read()
                out[os.path.relpath(p, copy)] = (hashlib.sha256(data).hexdigest(), len(data), st.st_ino)
    return out


def foreign_string_values(copy):
    """Value files of the string keys s<i> whose bytes are not '<key>:<n>...'
    as the writers write them: another file's bytes in a linked inode."""
    out = []
    for k in STRINGS:
        p = os.path.join(copy, "0", k, "value")
        try:
            with open(p, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue  # copied while replaced: cp may miss it
        if not re.fullmatch(rb"%s:\d+(:-*)?" % k.encode(), data):
            out.append("%s: %r" % (os.path.relpath(p, copy), data[:80]))
    return out


def overwrite_keys(c):
    """The keys overwrite_load() changes, made through c."""
    for k in STRINGS:
        check(c.execute("SET", k, k + ":0"), "SET")
    for k in COUNTERS:
        check(c.execute("SET", k, 0), "SET")
    for k in LISTS:
        check(c.execute("RPUSH", k, *["i%d" % i for i in range(100)]), "RPUSH")
    for k in HASHES:
        check(c.execute("HSET", k, *[x for i in range(10) for x in ("f%d" % i, "0")]), "HSET")
    for k in SETS:
        check(c.execute("SADD", k, *["m%d" % i for i in range(30)]), "SADD")


def overwrite_load(seed, sha):
    """A writer for test_hard_link_copies_never_change: rounds of pipelined
    MULTI blocks, MSET, EVALSHA, list pushes and pops, HSET, SADD/SREM and
    INCR, nearly all of them replacing files of existing keys."""
    rng = random.Random(seed)

    def work(w, rnd):
        cmds = []
        for i in range(12):
            g = "%d.%d" % (seed, rnd * 12 + i)
            val = lambda k: "%s:%s:%s" % (k, g.replace(".", ""), "-" * rng.randint(0, 40))
            multi = [("MULTI",)] + [("SET", k, val(k)) for k in rng.sample(STRINGS, 8)]
            multi += [("INCR", rng.choice(COUNTERS)), ("HSET", rng.choice(HASHES), "f%d" % rng.randint(0, 9), g),
                      ("LPUSH", rng.choice(LISTS), g), ("RPOP", rng.choice(LISTS)), ("EXEC",)]
            cmds += multi
            cmds.append(["MSET"] + [x for k in rng.sample(STRINGS, 6) for x in (k, val(k))])
            cmds.append(("EVALSHA", sha, 4, *rng.sample(STRINGS, 3), rng.choice(LISTS), g.replace(".", "")))
            lst = rng.choice(LISTS)
            cmds += [("LPUSH", lst, g), ("RPOP", lst), ("RPUSH", lst, g), ("LPOP", lst)]
            cmds.append(("HSET", rng.choice(HASHES), "f%d" % rng.randint(0, 9), g))
            cmds += [("SADD", rng.choice(SETS), "m%d" % rng.randint(0, 29)),
                     ("SREM", rng.choice(SETS), "m%d" % rng.randint(0, 29))]
            cmds.append(("INCR", rng.choice(COUNTERS)))
        for cmd, r in zip(cmds, w.pipeline(cmds)):
            assert not isinstance(r, RespError), (cmd, r)
    return work


def test_hard_link_copies_never_change():
    """100 cp -al copies taken at random instants, with no pause, while
    writers replace files of the same keys over and over (MULTI blocks,
    MSET, scripts, list pushes and pops, HSET, SADD/SREM, INCR): every file
    of every copy is byte for byte what it was right after the copy, and
    each string value in a copy is one the writers wrote for that key."""
    with SiblingDredis() as d, d.client() as c:
        overwrite_keys(c)
        sha = check(c.execute("SCRIPT", "LOAD", SET3), "SCRIPT LOAD").decode()

        rng = random.Random(2)
        writers = Writers(d.port, [overwrite_load(1, sha), overwrite_load(2, sha)])
        taken = []
        foreign = []
        try:
            time.sleep(0.2)
            for n in range(100):
                time.sleep(rng.uniform(0, 0.03))
                path = d.copy_dir(n)
                cp_al(d.root_dir, path)  # cp may report files that vanished: only the copy counts
                taken.append((path, file_states(path)))
                foreign += ["%s/%s" % (os.path.basename(path), f) for f in foreign_string_values(path)]
            time.sleep(0.8)  # the writers go on after the last copy
        finally:
            writers.stop()
        assert min(writers.rounds) > 10, "the writers hardly wrote: %r rounds" % writers.rounds

        changed = []
        for path, before in taken:
            after = file_states(path)
            for f, was in sorted(before.items()):
                if after.get(f) != was:
                    changed.append("%s/%s: %r -> %r" % (os.path.basename(path), f, was, after.get(f)))
            foreign += ["%s/%s (at the end)" % (os.path.basename(path), f) for f in foreign_string_values(path)]
        assert not changed and not foreign, (
            "files of hard-link copies changed after the copy (%d), string values in copies that are "
            "not the key's (%d) [writers' rounds %r]:\n%s" % (
                len(changed), len(foreign), writers.rounds, "\n".join(changed[:20] + foreign[:20])))


# ---------------------------------------------------------------------------
# (c) deleted and replaced values give back their space and bytes
# ---------------------------------------------------------------------------

MARK = b"<dredis-test:deleted-value:"
MB = 1 << 20


def marked(tag, size):
    """size bytes of the marker pattern for tag."""
    unit = MARK + tag.encode() + b">"
    return (unit * (size // len(unit) + 1))[:size]


def disk_use(root):
    """Bytes allocated to everything under root (.tmp, .trash and .journal
    included): st_blocks * 512 of each inode once, links not followed."""
    seen = set()
    total = 0
    for dirpath, dirs, files in os.walk(root):
        for name in [None] + dirs + files:
            p = dirpath if name is None else os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def files_holding(root, needle):
    """Regular files under root whose bytes contain needle."""
    out = []
    for dirpath, dirs, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                with os.fdopen(fd, "rb", closefd=False) as f:
                    tail = b""
                    while True:
                        chunk = f.read(4 * MB)
                        if not chunk:
                            break
                        if needle in tail + chunk:
                            out.append(os.path.relpath(p, root))
                            break
                        tail = chunk[-len(needle):]
            finally:
                os.close(fd)
    return out


def pool_use(root):
    """Blocks of the empty directories ready-made in .tmp: the pool grows to
    its bound (at most 1024, docs/storage-format.md) as deleted keys' directories are
    recycled into it, whatever the values held."""
    tmp = os.path.join(root, ".tmp")
    total = 0
    for name in os.listdir(tmp):
        p = os.path.join(tmp, name)
        try:
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode) and not os.listdir(p):
                total += st.st_blocks * 512
        except FileNotFoundError:
            continue
    return total


def largest_files(root, n=5):
    """The n inodes under root with the most blocks, as 'path: KB'."""
    sizes = []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            try:
                sizes.append((os.lstat(p).st_blocks * 512, os.path.relpath(p, root)))
            except FileNotFoundError:
                continue
    return ", ".join("%s: %d KB" % (p, b // 1024) for b, p in sorted(sizes, reverse=True)[:n])


def wait_freed(root, limit, what, timeout=10):
    """Wait until root uses at most limit bytes and no file under it holds
    MARK; fail saying what is left."""
    state = {}

    def freed():
        state["use"] = disk_use(root) - pool_use(root)
        state["files"] = files_holding(root, MARK) if state["use"] <= limit else None
        return state["use"] <= limit and not state["files"]

    try:
        wait_until(freed, timeout=timeout, interval=0.2, what=what)
    except AssertionError:
        files = state["files"] if state["files"] is not None else files_holding(root, MARK)
        raise AssertionError("%s: %.1f MB in use (at most %.1f MB expected) after %ds; %d files still hold "
                             "deleted bytes: %s; largest: %s" % (
                                 what, state["use"] / MB, limit / MB, timeout, len(files), files[:10],
                                 largest_files(root))) from None


def settled_disk_use(root, timeout=5):
    """Disk use once the background thread has made its ready-made inodes
    (the number of entries under .tmp has not changed for 0.5 s)."""
    tmp = os.path.join(root, ".tmp")
    last, since = None, time.time()
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = len(os.listdir(tmp))
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= 0.5:
            break
        time.sleep(0.05)
    return disk_use(root) - pool_use(root)


def test_deleted_values_free_their_space():
    """Large strings and a hash with large fields, then DEL and FLUSHALL:
    within seconds ROOT_DIR (with .tmp, .trash and .journal) uses no more
    than before they were written, and no file under it holds their bytes;
    the same after a restart, and for the replaced versions of a value SET
    over and over."""
    slack = 2 * MB
    with Dredis() as d:
        root = d.root_dir
        with d.client() as c:
            check(c.execute("SET", "small", "x"), "SET")
            base = settled_disk_use(root)
            for i in range(4):
                check(c.execute("SET", "big%d" % i, marked("big%d" % i, (8 + 2 * i) * MB)), "SET big")
            for i in range(4):
                check(c.execute("HSET", "bighash", "field%d" % i, marked("field%d" % i, 3 * MB),
                                "small%d" % i, "v"), "HSET bighash")
            written = sum((8 + 2 * i) * MB for i in range(4)) + 4 * 3 * MB
            grown = disk_use(root)
            assert grown >= base + written - MB, "%.1f MB written take %.1f MB on disk?" % (
                written / MB, (grown - base) / MB)
            assert c.execute("DEL", "big0", "big1") == 2
            check(c.execute("HDEL", "bighash", "field0"), "HDEL")
            assert c.execute("FLUSHALL") == "OK"
            assert c.execute("DBSIZE") == 0
        wait_freed(root, base + slack, "space and bytes of values removed by DEL and FLUSHALL")

        d.restart()
        wait_freed(root, base + slack, "the same after a restart")

        with d.client() as c:
            base = settled_disk_use(root)
            for i in range(6):
                check(c.execute("SET", "big", marked("version%d" % i, 12 * MB)), "SET big")
            live = b"<the live value>" * (12 * MB // 16)
            check(c.execute("SET", "big", live), "SET big")
            wait_freed(root, base + 12 * MB + slack, "space and bytes of the replaced versions of a value")
            assert c.execute("GET", "big") == live
            assert c.execute("DEL", "big") == 1
        wait_freed(root, base + slack, "space of the last version after DEL")
        assert not files_holding(root, b"<the live value>"), "the deleted value's bytes are still under ROOT_DIR"


# ---------------------------------------------------------------------------
# (d) a file system with few inodes
# ---------------------------------------------------------------------------

def held_inodes(root):
    """Inodes under ROOT_DIR/.tmp and ROOT_DIR/.trash (each counted once,
    the two directories themselves left out): ready-made and deleted
    entries, none of them part of the data."""
    seen = set()
    for area in (".tmp", ".trash"):
        for dirpath, dirs, files in os.walk(os.path.join(root, area)):
            for name in dirs + files:
                try:
                    st = os.lstat(os.path.join(dirpath, name))
                except FileNotFoundError:
                    continue
                seen.add(st.st_ino)
    return len(seen)


def test_inode_starved_file_system():
    """ROOT_DIR on an ext4 with 200 inodes (mkfs.ext4 -N 200 on 16 MB): new
    keys can be made until the file system has (next to) no inode left,
    neither free nor held by dredis under .tmp or .trash; the failing SET
    says why; the server goes on serving; DEL makes room for new keys."""
    work = tempfile.mkdtemp(prefix="dredis-inodes-")
    image, mnt = os.path.join(work, "fs.img"), os.path.join(work, "mnt")
    os.mkdir(mnt)
    mounted = False
    d = None
    try:
        with open(image, "wb") as f:
            f.truncate(16 * MB)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-N", "200", image], check=True, capture_output=True)
        subprocess.run(["mount", "-o", "loop", image, mnt], check=True, capture_output=True)
        mounted = True
        root = os.path.join(mnt, "root")
        d = Dredis(root_dir=root)
        time.sleep(1)  # the background thread makes its ready-made inodes
        with d.client() as c:
            made, failure = 0, None
            while made < 1000:
                r = c.execute("SET", "k%d" % made, "v%d" % made)
                if r != "OK":
                    failure = r
                    break
                made += 1
            vfs = os.statvfs(mnt)
            held = held_inodes(root)
            info = ("%d keys made; at the failure %d inodes free and %d held under .tmp/.trash, of %d; "
                    "the reply: %r" % (made, vfs.f_ffree, held, vfs.f_files, failure))
            assert failure is not None, "no SET failed: " + info
            assert vfs.f_ffree + held <= 10, "SET failed with inodes free or held by dredis: " + info
            assert made >= 30, "too few keys before the first failure: " + info
            assert isinstance(failure, RespError) and failure.message.startswith("ERR") and \
                "No space left on device" in failure.message, info
            assert c.execute("PING") == "PONG"
            assert c.execute("GET", "k0") == b"v0"
            assert c.execute("GET", "k%d" % (made - 1)) == b"v%d" % (made - 1)
            assert c.execute("EXISTS", "k%d" % made) == 0, "the failed SET left its key"
            assert c.execute("DEL", *["k%d" % i for i in range(10)]) == 10

            def new_keys_fit():
                return all(c.execute("SET", "n%d" % i, "new") == "OK" for i in range(3))
            wait_until(new_keys_fit, timeout=5, interval=0.1, what="SET to succeed after DEL (" + info + ")")
            assert c.execute("GET", "n2") == b"new"
            assert c.execute("GET", "k10") == b"v10"
    finally:
        if d:
            d.stop()
            d.cleanup()
        if mounted and subprocess.run(["umount", mnt], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
