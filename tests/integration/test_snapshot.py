"""Point-in-time snapshots (BGSAVE, SAVE, LASTSAVE, INFO persistence,
DREDIS_SNAPSHOT_DIR, DREDIS_SNAPSHOT_KEEP, DREDIS_SAVE): the replies and
INFO fields; a snapshot holds exactly the writes acknowledged before the
BGSAVE reply, whatever is deleted, replaced, renamed, expired, flushed or
swapped while it is being linked; snapshots taken under a load of MULTI
blocks and scripts keep every cross-key invariant; a finished snapshot
never changes; the settings; BGSAVE inside MULTI; TTLs in a snapshot.

A snapshot is checked the way it is meant to be used: a new dredis-server
started with ROOT_DIR=<snapshot> and read through its commands."""
import copy
import datetime
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

from dredis_test import Dredis, Pair, RespError, encode_command, files_under, wait_until
from test_backup import (ELEMENTS, GS, KS, MS, SET3, STRINGS, TOTAL, Y0,
                         InvariantLoad, SiblingDredis, Writers, check, file_states, foreign_string_values,
                         overwrite_keys, overwrite_load, same_generation, settled_disk_use)
from test_config import assert_refused

SNAPSHOT_RE = re.compile(r"snapshot-(\d{8}T\d{6}\.\d{3})Z\Z")
INFO_FIELDS = ("rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time",
               "rdb_last_bgsave_status", "rdb_last_bgsave_time_sec", "rdb_current_bgsave_time_sec", "rdb_saves",
               "current_save_keys_processed", "current_save_keys_total", "dredis_last_snapshot_dir")
# the fields whose values a fresh dredis and a fresh redis-server share
SHARED_FIELDS = ("rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_bgsave_status",
                 "rdb_last_bgsave_time_sec", "rdb_current_bgsave_time_sec", "rdb_saves",
                 "current_save_keys_processed", "current_save_keys_total")
STARTED = "Background saving started"
SCHEDULED = "Background saving scheduled"
IN_PROGRESS = RespError("ERR Background save already in progress")
SYNTAX = RespError("ERR syntax error")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def persistence(c, fields=INFO_FIELDS):
    """INFO persistence as a dict of str; the fields named must be there."""
    text = c.execute("INFO", "persistence")
    assert isinstance(text, bytes), "INFO persistence: %r" % (text,)
    out = {}
    for line in text.decode("utf-8", "replace").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    missing = [f for f in fields if f not in out]
    assert not missing, "INFO persistence lacks %s:\n%s" % (missing, text.decode("utf-8", "replace"))
    return out


def wait_saves(c, n, timeout=60, fields=INFO_FIELDS):
    """Wait until n snapshots have completed (rdb_saves) and none runs; the
    INFO persistence fields then. A failed snapshot fails at once."""
    state = {}

    def done():
        info = state["info"] = persistence(c, fields)
        if info["rdb_last_bgsave_status"] != "ok" and info["rdb_bgsave_in_progress"] == "0":
            raise AssertionError("a snapshot failed: %r" % info)
        return int(info["rdb_saves"]) >= n and info["rdb_bgsave_in_progress"] == "0"

    try:
        wait_until(done, timeout=timeout, interval=0.05, what="snapshot %d to complete" % n)
    except AssertionError as e:
        raise AssertionError("%s; INFO persistence: %r" % (e, state.get("info"))) from None
    assert int(state["info"]["rdb_saves"]) == n, "more snapshots than asked for: %r" % state["info"]
    return state["info"]


def snapshot_names(snap_dir):
    """The complete snapshots in snap_dir, oldest first (by name)."""
    if not os.path.isdir(snap_dir):
        return []
    return sorted(n for n in os.listdir(snap_dir) if SNAPSHOT_RE.match(n))


def incomplete_names(snap_dir):
    if not os.path.isdir(snap_dir):
        return []
    return sorted(n for n in os.listdir(snap_dir) if n.startswith(".incomplete-"))


def snapshot_time(name):
    """The UTC instant in a snapshot's name, as unix seconds."""
    m = SNAPSHOT_RE.match(name)
    assert m, name
    t = datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S.%f")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def tree_value(snapshot, key, db=0):
    """A string key's bytes read from a snapshot's tree (docs/storage-format.md),
    None when the key's directory is not there."""
    try:
        with open(os.path.join(snapshot, str(db), key, "value"), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def fill(c, prefix, n, db=0, batch=500):
    """n string keys <prefix><i> = <prefix><i>:v, made by pipelined MSET in db."""
    cmds = [("SELECT", db)]
    for b in range(0, n, batch):
        cmds.append(["MSET"] + [x for i in range(b, min(n, b + batch)) for x in ("%s%d" % (prefix, i),
                                                                                  "%s%d:v" % (prefix, i))])
    cmds.append(("SELECT", 0))
    for cmd, r in zip(cmds, c.pipeline(cmds)):
        assert r == "OK", (cmd[:3], r)


class Snapshotting(SiblingDredis):
    """A dredis whose ROOT_DIR is parent/root, so that the default snapshot
    directory parent/root.snapshots goes with the parent at cleanup."""

    @property
    def snap_dir(self):
        return self.root_dir + ".snapshots"


# -- the whole content of a server, read through commands -------------------

READERS = {
    "string": lambda k: ("GET", k),
    "list": lambda k: ("LRANGE", k, 0, -1),
    "hash": lambda k: ("HGETALL", k),
    "set": lambda k: ("SMEMBERS", k),
    "zset": lambda k: ("ZRANGE", k, 0, -1, "WITHSCORES"),
    "stream": lambda k: ("XRANGE", k, "-", "+"),
}


def normalized(t, v):
    """A value as read (or as modelled) in one comparable form."""
    if t == "string":
        return v
    if t == "list":
        return tuple(v)
    if t == "hash":
        if isinstance(v, list):
            v = dict(zip(v[::2], v[1::2]))
        return tuple(sorted(v.items()))
    if t == "set":
        return tuple(sorted(v))
    if t == "zset":
        if isinstance(v, list):
            return tuple((m, float(s)) for m, s in zip(v[::2], v[1::2]))
        return tuple(sorted(((m, float(s)) for m, s in v.items()), key=lambda e: (e[1], e[0])))
    if t == "stream":
        return tuple((i, tuple(f)) for i, f in v)
    raise AssertionError("type %r" % t)


def dump(c, dbs=range(16), chunk=4000):
    """{db: {key: (type, value, PEXPIRETIME or None)}} of every key."""
    out = {}
    for db in dbs:
        assert c.execute("SELECT", db) == "OK"
        keys = c.execute("KEYS", "*")
        entries = {}
        for b in range(0, len(keys), chunk):
            part = keys[b:b + chunk]
            types = c.pipeline([("TYPE", k) for k in part])
            cmds, live = [], []
            for k, t in zip(part, types):
                if t == "none":
                    continue  # expired since KEYS
                assert t in READERS, (db, k, t)
                live.append((k, t))
                cmds += [("PEXPIRETIME", k), READERS[t](k)]
            replies = c.pipeline(cmds)
            for (k, t), ttl, v in zip(live, replies[::2], replies[1::2]):
                assert not isinstance(v, RespError) and not isinstance(ttl, RespError), (db, k, t, ttl, v)
                entries[k] = (t, normalized(t, v), None if ttl == -1 else ttl)
        out[db] = entries
    assert c.execute("SELECT", 0) == "OK"
    return out


def served_dump(snapshot, dbs=range(16)):
    """dump() of a snapshot as served by a new dredis with ROOT_DIR=snapshot."""
    with Dredis(root_dir=snapshot) as s, s.client() as c:
        return dump(c, dbs)


ANY_TTL = "a TTL"  # a TTL is set, its exact time unknown (EXPIRE with a relative time)


def differences(expected, got, limit=25):
    """Key by key: what got lacks, has too many, or holds differently."""
    out = []
    for db in sorted(set(expected) | set(got)):
        e, g = expected.get(db, {}), got.get(db, {})
        for k in sorted(set(e) | set(g)):
            if k not in g:
                out.append("db %d: %r missing (expected %.120r)" % (db, k, e[k]))
            elif k not in e:
                out.append("db %d: %r should not be there (holds %.120r)" % (db, k, g[k]))
            else:
                (et, ev, ettl), (gt, gv, gttl) = e[k], g[k]
                same_ttl = (gttl is not None) if ettl == ANY_TTL else gttl == ettl
                if et != gt or ev != gv or not same_ttl:
                    out.append("db %d: %r is %.150r, expected %.150r" % (db, k, g[k], e[k]))
    return ["%d differences" % len(out)] + out[:limit] if out else []


class Model:
    """What the server holds, kept in Python: dbs[db][key] = [type, value,
    ttl], value in the form the writes give it (bytes, list, dict, set,
    dict member->score, list of (id, [field, value])), ttl None, an
    absolute ms time, or ANY_TTL."""

    def __init__(self):
        self.dbs = [dict() for _ in range(16)]

    def expected(self):
        return {db: {k: (e[0], normalized(e[0], e[1]), e[2]) for k, e in d.items()}
                for db, d in enumerate(self.dbs)}

    def clone(self):
        return copy.deepcopy(self)


# ---------------------------------------------------------------------------
# 1. replies and INFO persistence
# ---------------------------------------------------------------------------

def test_replies_and_info_like_redis():
    """A fresh dredis and a fresh redis-server side by side: INFO
    persistence before any save, the change counter, BGSAVE, BGSAVE
    SCHEDULE when none runs, the syntax errors, BGSAVE queued in MULTI
    ('Background saving scheduled'), SAVE refused in MULTI, SAVE: same
    replies and the same counters; on dredis LASTSAVE, rdb_last_save_time,
    and each snapshot a new snapshot-<UTC ms time> directory in
    ROOT_DIR.snapshots (DREDIS_SNAPSHOT_KEEP=0 keeps them all) named after
    when it was made, holding what was written before it."""
    t0 = int(time.time())
    with Pair(env={"DREDIS_SNAPSHOT_KEEP": "0"}) as p:
        snap_dir = p.dredis.root_dir + ".snapshots"
        try:
            t_ready = time.time()
            d_info, r_info = persistence(p.d), persistence(p.r, SHARED_FIELDS)
            assert {f: d_info[f] for f in SHARED_FIELDS} == {f: r_info[f] for f in SHARED_FIELDS}, (d_info, r_info)
            assert d_info["rdb_changes_since_last_save"] == "0" and d_info["rdb_saves"] == "0"
            assert d_info["rdb_last_bgsave_time_sec"] == "-1" and d_info["rdb_current_bgsave_time_sec"] == "-1"
            assert d_info["rdb_last_bgsave_status"] == "ok" and d_info["rdb_bgsave_in_progress"] == "0"
            assert d_info["current_save_keys_processed"] == "0" and d_info["current_save_keys_total"] == "0"
            assert d_info["dredis_last_snapshot_dir"] == "", d_info
            lastsave = p.d.execute("LASTSAVE")
            assert isinstance(lastsave, int) and t0 <= lastsave <= t_ready + 1, (t0, lastsave, t_ready)
            assert d_info["rdb_last_save_time"] == str(lastsave), (d_info, lastsave)
            assert not snapshot_names(snap_dir)

            p.run_many([("SET", "a", "1"), ("SET", "b", "2"), ("INCR", "n")])
            d_info, r_info = persistence(p.d), persistence(p.r, SHARED_FIELDS)
            assert d_info["rdb_changes_since_last_save"] == r_info["rdb_changes_since_last_save"] == "3", (
                d_info, r_info)

            # BGSAVE when none runs
            made = []  # (snapshot name, time before, time after, what it must hold)
            for n, args in ((1, ("BGSAVE",)), (2, ("BGSAVE", "SCHEDULE"))):
                before = time.time()
                assert p.run(*args) == STARTED
                wait_saves(p.r, n, fields=SHARED_FIELDS)
                info = wait_saves(p.d, n)
                made.append((info["dredis_last_snapshot_dir"], before, time.time(), {"a": b"1", "b": b"2"}))
                for f in ("rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_bgsave_status",
                          "rdb_current_bgsave_time_sec", "rdb_saves", "current_save_keys_processed",
                          "current_save_keys_total"):
                    assert info[f] == persistence(p.r, SHARED_FIELDS)[f], (f, info, persistence(p.r))
                assert 0 <= int(info["rdb_last_bgsave_time_sec"]) <= time.time() - before + 1, info
                lastsave = p.d.execute("LASTSAVE")
                assert int(before) <= lastsave <= time.time() and info["rdb_last_save_time"] == str(lastsave), (
                    before, lastsave, info)

            for args in (("BGSAVE", "foo"), ("BGSAVE", "SCHEDULE", "x"), ("BGSAVE", "x", "y")):
                assert p.run(*args) == SYNTAX
            assert p.run("SAVE", "x") == RespError("ERR wrong number of arguments for 'save' command")

            # BGSAVE in MULTI is scheduled; the snapshot holds the transaction
            assert p.run("MULTI") == "OK"
            assert p.run("SET", "a", "in-multi") == "QUEUED"
            assert p.run("BGSAVE") == "QUEUED"
            assert p.run("SET", "b", "in-multi") == "QUEUED"
            before = time.time()
            assert p.run("EXEC") == ["OK", SCHEDULED, "OK"]
            wait_saves(p.r, 3, fields=SHARED_FIELDS)
            info = wait_saves(p.d, 3)
            made.append((info["dredis_last_snapshot_dir"], before, time.time(),
                         {"a": b"in-multi", "b": b"in-multi"}))

            # SAVE is refused in MULTI, as in Redis; SAVE saves
            assert p.run("MULTI") == "OK"
            assert p.run("SAVE") == RespError("ERR Command not allowed inside a transaction")
            assert p.run("EXEC") == RespError("EXECABORT Transaction discarded because of previous errors.")
            p.run("SET", "a", "before-save")
            before = time.time()
            assert p.run("SAVE") == "OK"
            info = persistence(p.d)
            assert info["rdb_saves"] == persistence(p.r, SHARED_FIELDS)["rdb_saves"] == "4", info
            assert info["rdb_changes_since_last_save"] == "0" and info["rdb_bgsave_in_progress"] == "0", info
            made.append((info["dredis_last_snapshot_dir"], before, time.time(),
                         {"a": b"before-save", "b": b"in-multi"}))
            assert p.d.execute("LASTSAVE") == int(info["rdb_last_save_time"]) >= int(before), info
            assert isinstance(p.r.execute("LASTSAVE"), int)

            # four snapshots, each new, in time order, named after its time
            paths = [m[0] for m in made]
            assert len(set(paths)) == 4, paths
            assert snapshot_names(snap_dir) == [os.path.basename(x) for x in paths], (
                snapshot_names(snap_dir), paths)
            assert not incomplete_names(snap_dir), incomplete_names(snap_dir)
            for path, t_before, t_after, holds in made:
                assert os.path.isabs(path) and os.path.dirname(path) == snap_dir, (path, snap_dir)
                assert t_before - 1 <= snapshot_time(os.path.basename(path)) <= t_after + 1, (
                    path, t_before, t_after)
                for k, v in holds.items():
                    assert tree_value(path, k) == v, (path, k, tree_value(path, k), v)
        finally:
            shutil.rmtree(snap_dir, ignore_errors=True)


def test_replies_while_a_snapshot_runs():
    """With 3,000 keys the snapshot runs a while. One pipeline: BGSAVE
    starts it (INFO: in progress, 0 changes, keys total = the keys of every
    database, LASTSAVE still the start-up time); BGSAVE -> already in
    progress; BGSAVE SCHEDULE -> already in progress too (Redis 7.0.15's
    bgsaveCommand: SCHEDULE only waits for another kind of child, an AOF
    rewrite) and nothing is scheduled; SAVE -> already in progress; a SET
    counts 1 change. A BGSAVE once it is over makes a second snapshot that
    holds the SET, the first does not; then SAVE makes a third; the INFO
    fields once none runs."""
    with Snapshotting(env={"DREDIS_SNAPSHOT_KEEP": "0"}) as d, d.client() as c:
        fill(c, "key:", 2500)
        fill(c, "other:", 500, db=5)
        assert c.execute("SET", "marker", "before") == "OK"
        total = 3001
        startup = c.execute("LASTSAVE")
        t_before = time.time()
        replies = c.pipeline([("BGSAVE",), ("INFO", "persistence"), ("LASTSAVE",), ("BGSAVE",),
                              ("BGSAVE", "SCHEDULE"), ("SAVE",), ("SET", "marker", "after"),
                              ("INFO", "persistence"), ("BGSAVE", "foo")])
        assert replies[0] == STARTED, replies[0]
        info1 = dict(line.split(":", 1) for line in replies[1].decode().splitlines() if ":" in line)
        info2 = dict(line.split(":", 1) for line in replies[7].decode().splitlines() if ":" in line)
        assert info1["rdb_bgsave_in_progress"] == "1", (
            "the snapshot of %d keys was over before the next command: the test needs a bigger tree (%r)" % (
                total, info1))
        assert info2["rdb_saves"] == "0", ("the first snapshot ended within one pipeline: the test needs a "
                                           "bigger tree (%r)" % info2)
        # as Redis (dirty_before_bgsave): the changes count as saved once the snapshot is complete
        assert info1["rdb_changes_since_last_save"] == str(total), info1
        assert int(info1["rdb_current_bgsave_time_sec"]) >= 0, info1
        assert 0 <= int(info1["current_save_keys_processed"]) <= total, info1
        assert info1["rdb_last_save_time"] == str(startup) and replies[2] == startup, (info1, replies[2], startup)
        assert info1["rdb_last_bgsave_time_sec"] == "-1" and info1["dredis_last_snapshot_dir"] == "", info1
        assert replies[3] == IN_PROGRESS, replies[3]
        assert replies[4] == IN_PROGRESS, replies[4]
        assert replies[5] == IN_PROGRESS, replies[5]
        assert replies[6] == "OK"
        assert info2["rdb_bgsave_in_progress"] == "1" and info2["rdb_changes_since_last_save"] == str(total + 1), info2
        assert replies[8] == SYNTAX, replies[8]

        wait_saves(c, 1)
        time.sleep(0.5)  # several save cycles: a scheduled snapshot would have started
        info = persistence(c)
        assert info["rdb_saves"] == "1" and info["rdb_bgsave_in_progress"] == "0", info
        assert len(snapshot_names(d.snap_dir)) == 1, os.listdir(d.snap_dir)
        assert c.execute("BGSAVE") == STARTED
        info = wait_saves(c, 2)
        t_after = time.time()
        names = snapshot_names(d.snap_dir)
        assert len(names) == 2 and not incomplete_names(d.snap_dir), os.listdir(d.snap_dir)
        first, second = [os.path.join(d.snap_dir, n) for n in names]
        assert tree_value(first, "marker") == b"before", tree_value(first, "marker")
        assert tree_value(second, "marker") == b"after", tree_value(second, "marker")
        assert tree_value(first, "other:499", db=5) == b"other:499:v"
        assert info["dredis_last_snapshot_dir"] == second, (info, names)
        assert info["rdb_last_bgsave_status"] == "ok" and info["rdb_current_bgsave_time_sec"] == "-1", info
        assert info["current_save_keys_processed"] == "0" and info["current_save_keys_total"] == "0", info
        assert 0 <= int(info["rdb_last_bgsave_time_sec"]) <= t_after - t_before + 1, info
        assert info["rdb_changes_since_last_save"] == "0", info
        lastsave = c.execute("LASTSAVE")
        assert int(t_before) <= lastsave <= t_after and info["rdb_last_save_time"] == str(lastsave), (info, lastsave)
        for n in names:
            assert t_before - 1 <= snapshot_time(n) <= t_after + 1, (n, t_before, t_after)

        assert c.execute("SET", "marker", "saved") == "OK"
        assert persistence(c)["rdb_changes_since_last_save"] == "1"
        assert c.execute("SAVE") == "OK"
        info = persistence(c)
        assert info["rdb_saves"] == "3" and info["rdb_changes_since_last_save"] == "0", info
        names = snapshot_names(d.snap_dir)
        assert len(names) == 3 and info["dredis_last_snapshot_dir"] == os.path.join(d.snap_dir, names[-1]), (
            names, info)
        assert tree_value(info["dredis_last_snapshot_dir"], "marker") == b"saved"
        assert tree_value(first, "marker") == b"before" and tree_value(second, "marker") == b"after"
        # as Redis 7.0: the keys at the start of the snapshot running (checked last: the rest first)
        assert info1["current_save_keys_total"] == str(total), (
            "current_save_keys_total is %s while the snapshot of %d keys runs: %r" % (
                info1["current_save_keys_total"], total, info1))


# ---------------------------------------------------------------------------
# 2. the exact instant, whatever changes while the snapshot is made
# ---------------------------------------------------------------------------

N_STRINGS = 8000
N_INCR = 1000
COLLECTIONS = 20
T_BASE = int(time.time() * 1000) + 3600 * 1000  # PEXPIREAT times, an hour ahead


def build_tree(c):
    """The data of test_exact_instant in dbs 0-7 and its Model."""
    m = Model()
    d0 = m.dbs[0]
    fill(c, "k:", N_STRINGS)
    for i in range(N_STRINGS):
        d0[b"k:%d" % i] = ["string", b"k:%d:v" % i, None]
    cmds = []
    for i in range(COLLECTIONS):
        lst = [b"l%d:%d" % (i, j) for j in range(150)]
        cmds.append(("RPUSH", "l:%d" % i, *lst))
        d0[b"l:%d" % i] = ["list", lst, None]
        h = {b"f%d" % j: b"h%d:%d" % (i, j) for j in range(40)}
        cmds.append(("HSET", "h:%d" % i, *[x for kv in h.items() for x in kv]))
        d0[b"h:%d" % i] = ["hash", h, None]
        s = {b"m%d:%d" % (i, j) for j in range(40)}
        cmds.append(("SADD", "s:%d" % i, *sorted(s)))
        d0[b"s:%d" % i] = ["set", s, None]
        z = {b"z%d:%d" % (i, j): j + 0.5 for j in range(40)}
        cmds.append(("ZADD", "z:%d" % i, *[x for mem, sc in z.items() for x in (repr(sc), mem)]))
        d0[b"z:%d" % i] = ["zset", z, None]
    for i in range(5):
        entries = []
        for j in range(1, 121):
            cmds.append(("XADD", "x:%d" % i, "1-%d" % j, "f", "x%d:%d" % (i, j)))
            entries.append((b"1-%d" % j, [b"f", b"x%d:%d" % (i, j)]))
        d0[b"x:%d" % i] = ["stream", entries, None]
    for i in range(50):
        cmds.append(("SET", "n:%d" % i, 100))
        d0[b"n:%d" % i] = ["string", b"100", None]
    for i in range(200):
        cmds.append(("SET", "t:%d" % i, "t%d" % i, "PXAT", T_BASE + i))
        d0[b"t:%d" % i] = ["string", b"t%d" % i, T_BASE + i]
    for k, when in (("l:0", T_BASE + 1000), ("h:0", T_BASE + 1001), ("z:0", T_BASE + 1002)):
        cmds.append(("PEXPIREAT", k, when))
        d0[k.encode()][2] = when
    for db, prefix, n in ((1, "one:", 300), (2, "two:", 200), (3, "three:", 100), (4, "four:", 100),
                          (6, "six:", 150)):
        cmds.append(("SELECT", db))
        for b in range(0, n, 100):
            cmds.append(["MSET"] + [x for i in range(b, min(n, b + 100)) for x in ("%s%d" % (prefix, i), "%d" % i)])
        for i in range(n):
            m.dbs[db][b"%s%d" % (prefix.encode(), i)] = ["string", b"%d" % i, None]
        cmds.append(("RPUSH", prefix + "list", "a", "b"))
        m.dbs[db][prefix.encode() + b"list"] = ["list", [b"a", b"b"], None]
        cmds.append(("SELECT", 0))
    for cmd, r in zip(cmds, c.pipeline(cmds)):
        assert not isinstance(r, RespError), (cmd[:4], r)
    return m


ANY = object()  # any reply but an error


class Churn:
    """Deterministic writes of every kind to the tree of build_tree(), each
    applied to a Model as well: ops(n) gives n commands with their expected
    replies. Keys whose TTL was cut to a few ms are in short_lived."""

    def __init__(self, model, seed=3):
        self.m = model
        self.d0 = model.dbs[0]
        self.rng = random.Random(seed)
        self.pool = [b"k:%d" % i for i in range(N_STRINGS)]  # keys no op has touched
        self.rng.shuffle(self.pool)
        self.ttl_pool = [b"t:%d" % i for i in range(200)]
        self.rng.shuffle(self.ttl_pool)
        self.n = 0
        self.short_lived = []
        self.specials = {0: self.swap_and_flush_early, 3: self.swap_and_flush_later}
        self.batches = 0
        self.table = [(6, self.op_del), (3, self.op_unlink), (8, self.op_set_over), (4, self.op_rename_existing),
                      (3, self.op_rename_new), (6, self.op_create), (4, self.op_short_ttl), (3, self.op_long_ttl),
                      (4, self.op_ttl_keys), (3, self.op_append), (3, self.op_incr), (2, self.op_getdel),
                      (2, self.op_move), (2, self.op_copy), (10, self.op_list), (8, self.op_hash), (7, self.op_set),
                      (7, self.op_zset), (3, self.op_stream), (1, self.op_retype), (1, self.op_del_collection),
                      (1, self.op_expire_collection)]
        self.weights = [w for w, _ in self.table]

    def fresh(self):
        self.n += 1
        return self.n

    def of_type(self, t, prefix):
        return [k for k in (b"%s:%d" % (prefix, i) for i in range(COLLECTIONS if prefix != b"x" else 5))
                if k in self.d0 and self.d0[k][0] == t]

    # one-time changes of whole databases
    def swap_and_flush_early(self):
        self.m.dbs[2], self.m.dbs[3] = self.m.dbs[3], self.m.dbs[2]
        self.m.dbs[1] = {}
        return [(("SWAPDB", 2, 3), "OK"), (("SELECT", 1), "OK"), (("FLUSHDB",), "OK"), (("SELECT", 0), "OK")]

    def swap_and_flush_later(self):
        self.m.dbs[4], self.m.dbs[5] = self.m.dbs[5], self.m.dbs[4]
        self.m.dbs[6] = {}
        self.m.dbs[6][b"new-after-flush"] = ["string", b"x", None]
        return [(("SWAPDB", 5, 4), "OK"), (("SELECT", 6), "OK"), (("FLUSHDB",), "OK"),
                (("SET", "new-after-flush", "x"), "OK"), (("SELECT", 0), "OK")]

    # strings and keys
    def op_del(self):
        k = self.pool.pop()
        del self.d0[k]
        return [(("DEL", k), 1)]

    def op_unlink(self):
        a, b = self.pool.pop(), self.pool.pop()
        del self.d0[a], self.d0[b]
        return [(("UNLINK", a, b, b"no-such-key"), 2)]

    def op_set_over(self):
        k = self.pool.pop()
        v = b"over:%d" % self.fresh()
        self.d0[k] = ["string", v, None]
        return [(("SET", k, v), "OK")]

    def op_rename_existing(self):
        a, b = self.pool.pop(), self.pool.pop()
        self.d0[b] = self.d0.pop(a)
        return [(("RENAME", a, b), "OK")]

    def op_rename_new(self):
        a, b = self.pool.pop(), b"renamed:%d" % self.fresh()
        self.d0[b] = self.d0.pop(a)
        return [(("RENAME", a, b), "OK")]

    def op_create(self):
        k, v = b"new:%d" % self.fresh(), b"created"
        self.d0[k] = ["string", v, None]
        return [(("SET", k, v), "OK")]

    def op_short_ttl(self):
        if self.rng.random() < 0.5:
            k = self.pool.pop()
            cmd = ("PEXPIRE", k, self.rng.randint(1, 30))
            reply = 1
            del self.d0[k]
        else:
            k = b"brief:%d" % self.fresh()
            cmd, reply = ("SET", k, "brief", "PX", self.rng.randint(1, 30)), "OK"
        self.short_lived.append(k)
        return [(cmd, reply)]

    def op_long_ttl(self):
        k = self.pool.pop()
        self.d0[k][2] = ANY_TTL
        return [(("EXPIRE", k, 100000), 1)]

    def op_ttl_keys(self):
        k = self.ttl_pool.pop() if self.ttl_pool else None
        if k is None:
            return self.op_set_over()
        e = self.d0[k]
        choice = self.rng.randrange(4)
        if choice == 0:
            e[2] = None
            return [(("PERSIST", k), 1)]
        if choice == 1:
            e[2] = T_BASE + 500000 + self.fresh()
            return [(("PEXPIREAT", k, e[2]), 1)]
        if choice == 2:
            e[1] = b"kept-ttl:%d" % self.fresh()
            return [(("SET", k, e[1], "KEEPTTL"), "OK")]
        del self.d0[k]
        return [(("DEL", k), 1)]

    def op_append(self):
        k = self.pool.pop()
        self.d0[k][1] += b"+appended"
        return [(("APPEND", k, "+appended"), len(self.d0[k][1]))]

    def op_incr(self):
        k = b"n:%d" % self.rng.randrange(50)
        e = self.d0[k]
        e[1] = b"%d" % (int(e[1]) + 5)
        return [(("INCRBY", k, 5), int(e[1]))]

    def op_getdel(self):
        k = self.pool.pop()
        return [(("GETDEL", k), self.d0.pop(k)[1])]

    def op_move(self):
        k = self.pool.pop()
        self.m.dbs[7][k] = self.d0.pop(k)
        return [(("MOVE", k, 7), 1)]

    def op_copy(self):
        k, dest = self.pool.pop(), b"copy:%d" % self.fresh()
        self.d0[dest] = copy.deepcopy(self.d0[k])
        return [(("COPY", k, dest), 1)]

    # collections
    def op_list(self):
        lists = self.of_type("list", b"l")
        if len(lists) < 2:
            return self.op_create()
        k = self.rng.choice(lists)
        v = self.d0[k][1]
        choice = self.rng.randrange(7)
        if choice == 0:
            x = b"pushed:%d" % self.fresh()
            v.insert(0, x)
            return [(("LPUSH", k, x), len(v))]
        if choice == 1:
            x = b"pushed:%d" % self.fresh()
            v.append(x)
            return [(("RPUSH", k, x), len(v))]
        if choice in (2, 3) and len(v) > 1:
            x = v.pop() if choice == 2 else v.pop(0)
            return [(("RPOP" if choice == 2 else "LPOP", k), x)]
        if choice == 4 and len(v) > 10:
            i = self.rng.randrange(len(v))
            v[i] = b"set:%d" % self.fresh()
            return [(("LSET", k, i, v[i]), "OK")]
        if choice == 5 and len(v) > 20:
            del v[-3:]
            del v[:2]
            return [(("LTRIM", k, 2, -4), "OK")]
        other = self.rng.choice([x for x in lists if x != k])
        if len(v) < 2:
            return self.op_create()
        x = v.pop()
        self.d0[other][1].insert(0, x)
        return [(("RPOPLPUSH", k, other), x)]

    def op_hash(self):
        hashes = self.of_type("hash", b"h")
        if not hashes:
            return self.op_create()
        k = self.rng.choice(hashes)
        h = self.d0[k][1]
        choice = self.rng.randrange(4)
        if choice == 0:
            f = b"new%d" % self.fresh()
            h[f] = b"v"
            return [(("HSET", k, f, "v"), 1)]
        fields = sorted(set(h) - {b"count"})
        if choice == 1 and len(fields) > 1:
            f = self.rng.choice(fields)
            h[f] = b"over%d" % self.fresh()
            return [(("HSET", k, f, h[f]), 0)]
        if choice == 2 and len(fields) > 1:
            f = self.rng.choice(fields)
            del h[f]
            return [(("HDEL", k, f), 1)]
        h[b"count"] = b"%d" % (int(h.get(b"count", b"0")) + 3)
        return [(("HINCRBY", k, "count", 3), int(h[b"count"]))]

    def op_set(self):
        sets = self.of_type("set", b"s")
        if len(sets) < 2:
            return self.op_create()
        k = self.rng.choice(sets)
        s = self.d0[k][1]
        choice = self.rng.randrange(3)
        if choice == 0:
            x = b"added:%d" % self.fresh()
            s.add(x)
            return [(("SADD", k, x), 1)]
        if len(s) < 2:
            return self.op_create()
        x = self.rng.choice(sorted(s))
        s.discard(x)
        if choice == 1:
            return [(("SREM", k, x), 1)]
        other = self.rng.choice([y for y in sets if y != k])
        self.d0[other][1].add(x)
        return [(("SMOVE", k, other, x), 1)]

    def op_zset(self):
        zsets = self.of_type("zset", b"z")
        if not zsets:
            return self.op_create()
        k = self.rng.choice(zsets)
        z = self.d0[k][1]
        choice = self.rng.randrange(3)
        if choice == 0:
            x, sc = b"zadded:%d" % self.fresh(), self.rng.randint(0, 80) + 0.25
            z[x] = sc
            return [(("ZADD", k, repr(sc), x), 1)]
        if len(z) < 2:
            return self.op_create()
        x = self.rng.choice(sorted(z))
        if choice == 1:
            del z[x]
            return [(("ZREM", k, x), 1)]
        z[x] += 2
        return [(("ZINCRBY", k, 2, x), ANY)]

    def op_stream(self):
        k = self.rng.choice(self.of_type("stream", b"x"))
        entries = self.d0[k][1]
        if self.rng.random() < 0.7 or len(entries) < 2:
            i = b"2-%d" % self.fresh()
            entries.append((i, [b"g", b"added"]))
            return [(("XADD", k, i, "g", "added"), i)]
        e = entries.pop(self.rng.randrange(len(entries)))
        return [(("XDEL", k, e[0]), 1)]

    def op_retype(self):
        cands = self.of_type("hash", b"h") + self.of_type("zset", b"z")
        if len(cands) < 8:
            return self.op_create()
        k = self.rng.choice(cands)
        self.d0[k] = ["string", b"was-a-collection", None]
        return [(("SET", k, "was-a-collection"), "OK")]

    def op_del_collection(self):
        cands = self.of_type("list", b"l") + self.of_type("set", b"s")
        if len(cands) < 20:
            return self.op_create()
        k = self.rng.choice(cands)
        del self.d0[k]
        return [(("DEL", k), 1)]

    def op_expire_collection(self):
        cands = self.of_type("hash", b"h") + self.of_type("list", b"l")
        if len(cands) < 20:
            return self.op_create()
        k = self.rng.choice(cands)
        del self.d0[k]
        self.short_lived.append(k)
        return [(("PEXPIRE", k, 1), 1)]

    def batch(self, n):
        out = []
        special = self.specials.get(self.batches)
        if special:
            out += special()
        self.batches += 1
        while len(out) < n and len(self.pool) > 10:
            out += self.rng.choices(self.table, weights=self.weights)[0][1]()
        return out


def run_checked(c, pairs):
    """Pipeline (command, expected reply) pairs; assert each reply."""
    replies = c.pipeline([cmd for cmd, _ in pairs])
    for (cmd, want), got in zip(pairs, replies):
        if want is ANY:
            assert not isinstance(got, RespError), (cmd, got)
        else:
            assert got == want, "%r replied %r, expected %r" % (cmd, got, want)
    return replies


def info_of(reply):
    return dict(line.split(":", 1) for line in reply.decode().splitlines() if ":" in line)


def test_exact_instant_whatever_changes_meanwhile():
    """8,000 strings, lists, hashes, sets, sorted sets, streams, keys with
    TTLs, and data in dbs 1-6. One connection pipelines INCR c x 1000,
    BGSAVE, INCR c x 1000 in one write buffer; as soon as BGSAVE has
    replied and until the snapshot is complete another connection deletes,
    overwrites, renames, creates, moves, copies and expires keys, pushes
    and pops lists, changes hashes, sets, sorted sets and streams, changes
    the type of keys, flushes databases and swaps them. The snapshot,
    served by a new dredis, holds exactly the data at the BGSAVE reply
    (c = 1000, every key's type, value and PEXPIRETIME), and the live
    server exactly the data after the changes."""
    with Snapshotting() as d, d.client() as a, d.client() as b:
        model = build_tree(a)
        cmds = [("INCR", "c")] * N_INCR + [("BGSAVE",)] + [("INCR", "c")] * N_INCR
        a.send_raw(b"".join(encode_command(cmd) for cmd in cmds))  # one write buffer
        for i in range(N_INCR):
            assert a.read_reply() == i + 1
        assert a.read_reply() == STARTED
        # the reply to BGSAVE is in: the other connection's writes come after it
        at_bgsave = model.clone()
        at_bgsave.dbs[0][b"c"] = ["string", b"%d" % N_INCR, None]
        churn = Churn(model)
        infos = [info_of(b.execute("INFO", "persistence"))]
        for i in range(N_INCR):
            assert a.read_reply() == N_INCR + i + 1
        model.dbs[0][b"c"] = ["string", b"%d" % (2 * N_INCR), None]
        assert infos[0]["rdb_bgsave_in_progress"] == "1", (
            "the snapshot was complete before the first change: the test needs a bigger tree")
        sent = 0
        while True:
            pairs = churn.batch(100) + [(("INFO", "persistence"), ANY)]
            sent += len(pairs) - 1
            infos.append(info_of(run_checked(b, pairs)[-1]))
            if infos[-1]["rdb_bgsave_in_progress"] == "0" or len(churn.pool) <= 10:
                break
        during = sum(1 for i in infos[1:] if i["rdb_bgsave_in_progress"] == "1")
        assert during >= 2, "only %d batches of changes ran while the snapshot was made: the test needs a bigger " \
                            "tree" % during
        info = wait_saves(a, 1)
        snapshot = info["dredis_last_snapshot_dir"]
        assert snapshot_names(d.snap_dir) == [os.path.basename(snapshot)] and not incomplete_names(d.snap_dir), (
            os.listdir(d.snap_dir), snapshot)

        problems = differences(at_bgsave.expected(), served_dump(snapshot))

        def short_lived_gone():
            return all(a.execute("EXISTS", k) == 0 for k in churn.short_lived)
        wait_until(short_lived_gone, timeout=5, what="the keys given a TTL of a few ms to expire")
        live_problems = differences(model.expected(), dump(a))
        assert not problems and not live_problems, (
            "the snapshot is not the data at the BGSAVE reply (%d changes in %d batches while it was made):\n%s\n"
            "the live data is not what was written:\n%s" % (sent, churn.batches, "\n".join(problems),
                                                             "\n".join(live_problems)))


def keys_of(c, db):
    assert c.execute("SELECT", db) == "OK"
    return sorted(c.execute("KEYS", "*"))


def test_flush_and_swap_of_the_database_being_linked():
    """3,000 keys in db 0, 2,000 in db 1. BGSAVE then, in the same write
    buffer, SWAPDB 0 1; then BGSAVE and FLUSHDB; then BGSAVE and FLUSHALL:
    each snapshot, served by a new dredis, holds every key of both
    databases as they were at its BGSAVE."""
    with Snapshotting() as d, d.client() as c:
        fill(c, "k:", 3000)
        fill(c, "j:", 2000, db=1)
        k = sorted(b"k:%d" % i for i in range(3000))
        j = sorted(b"j:%d" % i for i in range(2000))
        bad = []
        for n, change, before in ((1, ("SWAPDB", 0, 1), (k, j)), (2, ("FLUSHDB",), (j, k)),
                                  (3, ("FLUSHALL",), ([], k))):
            replies = c.pipeline([("BGSAVE",), change, ("INFO", "persistence")])
            assert replies[:2] == [STARTED, "OK"], replies
            assert info_of(replies[2])["rdb_bgsave_in_progress"] == "1", "the snapshot ended at once"
            snapshot = wait_saves(c, n)["dredis_last_snapshot_dir"]
            with Dredis(root_dir=snapshot) as s, s.client() as r:
                got = (keys_of(r, 0), keys_of(r, 1))
            for db in (0, 1):
                if got[db] != before[db]:
                    bad.append("BGSAVE then %s: the snapshot's db %d has %d keys, not %d (%d missing, e.g. %r; "
                               "%d too many)" % (" ".join(map(str, change)), db, len(got[db]), len(before[db]),
                                                 len(set(before[db]) - set(got[db])),
                                                 sorted(set(before[db]) - set(got[db]))[:3],
                                                 len(set(got[db]) - set(before[db]))))
        assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------
# 3. snapshots under a load of transactions and scripts
# ---------------------------------------------------------------------------

BULK = 3000


def invariant_problems(c, done, newest):
    """What in a served snapshot breaks the writers' invariants of
    test_snapshots_under_load: a + b = TOTAL; each group of keys one
    generation g with done <= g <= newest; x and y hold each element once
    and h counts the moves; the bulk keys all there."""
    problems = []
    keys = set(c.execute("KEYS", "*"))
    bulk = {k for k in keys if k.startswith(b"bulk:")}
    known = {k.encode() for k in ["a", "b", "x", "y", "h"] + KS + GS + MS}
    if keys - bulk - known:
        problems.append("keys no writer made: %r" % sorted(keys - bulk - known)[:10])
    if len(bulk) != BULK:
        problems.append("%d bulk keys, not %d" % (len(bulk), BULK))
    a, b = c.execute("GET", "a"), c.execute("GET", "b")
    if not (re.fullmatch(rb"-?\d+", a or b"") and re.fullmatch(rb"-?\d+", b or b"")):
        problems.append("a, b hold %r, %r" % (a, b))
    elif int(a) + int(b) != TOTAL:
        problems.append("a + b = %s + %s != %d" % (a, b, TOTAL))
    for keys_, g in ((KS, "k"), (GS, "g"), (MS, "m")):
        found = same_generation(c, keys_, newest[g])
        if found:
            problems += found
            continue
        gen = int(c.execute("GET", keys_[0]).rsplit(b":", 1)[1])
        if gen < done[g]:
            problems.append("%s hold generation %d, older than %d acknowledged before BGSAVE" % (keys_, gen, done[g]))
    x, y, h = c.execute("LRANGE", "x", 0, -1), c.execute("LRANGE", "y", 0, -1), c.execute("HGETALL", "h")
    if not (isinstance(x, list) and isinstance(y, list) and isinstance(h, list)):
        return problems + ["x, y, h: %.150r, %.150r, %.150r" % (x, y, h)]
    if sorted(x + y) != sorted(ELEMENTS):
        problems.append("x and y do not hold each element once: %d in x, %d in y" % (len(x), len(y)))
    h = dict(zip(h[::2], h[1::2]))
    try:
        if len(y) - Y0 != int(h[b"x2y"]) - int(h[b"y2x"]):
            problems.append("LLEN y = %d but h = %r" % (len(y), h))
    except (KeyError, ValueError):
        problems.append("h holds %r" % h)
    return problems


def test_snapshots_under_load():
    """Three clients run MULTI/EXEC transfers between a and b, MSET,
    EVAL/EVALSHA moves between two lists counted in a hash, and scripts
    and MULTI blocks that set groups of keys to one generation, next to
    3,000 other keys, while 3 BGSAVEs are taken one after the other
    (DREDIS_SNAPSHOT_KEEP=0). Each snapshot, served by a new dredis, keeps
    every invariant and holds a generation at least as new as the last one
    acknowledged before its BGSAVE and no newer than the last one sent."""
    with Snapshotting(env={"DREDIS_SNAPSHOT_KEEP": "0"}) as d, d.client() as c:
        fill(c, "bulk:", BULK)
        load = InvariantLoad(c, seed=5)
        newest, done = load.newest, load.done
        writers = Writers(d.port, load.works())
        taken = []
        try:
            for n in range(1, 4):
                wait_until(lambda: min(writers.rounds) >= 3 * n or writers.errors, timeout=20,
                           what="the writers to write between snapshots")
                done_before = dict(done)
                assert c.execute("BGSAVE") == STARTED
                newest_then = dict(newest)
                info = wait_saves(c, n)
                taken.append((info["dredis_last_snapshot_dir"], done_before, newest_then))
        finally:
            writers.stop()
        assert min(writers.rounds) > 10, "the writers hardly wrote: %r rounds" % writers.rounds

        names = snapshot_names(d.snap_dir)
        assert names == [os.path.basename(t[0]) for t in taken], (names, taken)
        bad = []
        for path, done_before, newest_then in taken:
            with Dredis(root_dir=path) as restored, restored.client() as r:
                problems = invariant_problems(r, done_before, newest_then)
            if problems:
                bad.append("%s: %s" % (os.path.basename(path), "; ".join(problems)))
        assert not bad, "%d of %d snapshots are not one point in time:\n%s" % (len(bad), len(taken), "\n".join(bad))


# ---------------------------------------------------------------------------
# 4. a finished snapshot never changes
# ---------------------------------------------------------------------------

def churn_load(w, rnd):
    """Deletes, re-creates, expires, flushes and swaps (test_finished_snapshot_never_changes)."""
    base = (rnd * 50) % 1500
    names = ["bulk:%d" % i for i in range(base, base + 50)]
    cmds = [("SELECT", 1), ("DEL", *names), ["MSET"] + [x for n in names for x in (n, "%s:%d" % (n, rnd))],
            ("SET", "tmp:%d" % rnd, "x", "PX", 1), ("SET", "gone", rnd), ("DEL", "gone"),
            ("SELECT", 2), ("RPUSH", "q", rnd), ("HSET", "qh", "f%d" % (rnd % 7), rnd), ("SWAPDB", 2, 3),
            ("SELECT", 4), ("SET", "f%d" % rnd, 1), ("FLUSHDB",), ("SELECT", 0),
            ("DEL", STRINGS[rnd % len(STRINGS)]), ("SET", STRINGS[rnd % len(STRINGS)], "%s:%d" % (
                STRINGS[rnd % len(STRINGS)], rnd))]
    for cmd, r in zip(cmds, w.pipeline(cmds)):
        assert not isinstance(r, RespError), (cmd[:3], r)


def test_finished_snapshot_never_changes():
    """While writers replace, delete, re-create, expire, flush and swap,
    BGSAVE; every file of the snapshot (bytes and inode) and its list of
    entries right after it completed are the same after a second snapshot,
    more writing, FLUSHALL, and once the server has recycled every replaced
    file; every string value in it is one written for that key."""
    with Snapshotting(env={"DREDIS_SNAPSHOT_KEEP": "0"}) as d, d.client() as c:
        overwrite_keys(c)
        fill(c, "bulk:", 1500, db=1)
        sha = check(c.execute("SCRIPT", "LOAD", SET3), "SCRIPT LOAD").decode()

        writers = Writers(d.port, [overwrite_load(1, sha), overwrite_load(2, sha), churn_load])
        try:
            wait_until(lambda: min(writers.rounds) >= 2 or writers.errors, timeout=20, what="the writers to start")
            assert c.execute("BGSAVE") == STARTED
            snapshot = wait_saves(c, 1)["dredis_last_snapshot_dir"]
            before, entries = file_states(snapshot), files_under(snapshot)
            foreign = foreign_string_values(snapshot)
            rounds = list(writers.rounds)
            wait_until(lambda: min(r - r0 for r, r0 in zip(writers.rounds, rounds)) >= 5 or writers.errors,
                       timeout=30, what="the writers to go on after the snapshot")
            assert c.execute("BGSAVE") == STARTED
            wait_saves(c, 2)
            rounds = list(writers.rounds)
            wait_until(lambda: min(r - r0 for r, r0 in zip(writers.rounds, rounds)) >= 3 or writers.errors,
                       timeout=30, what="the writers to go on after the second snapshot")
        finally:
            writers.stop()
        assert c.execute("FLUSHALL") == "OK"
        wait_until(lambda: persistence(c, ()).get("dredis_trash_pending", "0") == "0", timeout=20,
                   what="deleted data to be removed")
        settled_disk_use(d.root_dir)

        assert len(before) > 1500, "the snapshot has only %d files" % len(before)
        after = file_states(snapshot)
        changed = ["%s: %r -> %r" % (f, was, after.get(f)) for f, was in sorted(before.items()) if after.get(f) != was]
        new = sorted(set(files_under(snapshot)) - set(entries))
        foreign += ["%s (at the end)" % f for f in foreign_string_values(snapshot)]
        assert not changed and not new and not foreign, (
            "the finished snapshot changed: %d files changed, %d entries added, %d string values not the key's "
            "[writers' rounds %r]:\n%s" % (len(changed), len(new), len(foreign), writers.rounds,
                                           "\n".join(changed[:15] + new[:10] + foreign[:10])))


# ---------------------------------------------------------------------------
# 5. the settings
# ---------------------------------------------------------------------------

def test_snapshot_dir_and_keep():
    """DREDIS_SNAPSHOT_DIR puts snapshots there (ROOT_DIR.snapshots is not
    made); DREDIS_SNAPSHOT_KEEP=2 leaves the 2 newest after each snapshot
    and no .incomplete- entry, BGSAVE or SAVE, and after 3 SAVEs pipelined
    in one write buffer; a snapshot that cannot be made is
    rdb_last_bgsave_status:err and changes neither LASTSAVE, rdb_saves nor
    dredis_last_snapshot_dir."""
    with SiblingDredis(env={"DREDIS_SNAPSHOT_KEEP": "2"}, start=False) as d:
        snaps = os.path.join(d.parent, "elsewhere", "snaps")
        os.makedirs(os.path.dirname(snaps))
        d.env["DREDIS_SNAPSHOT_DIR"] = snaps
        d.start()
        with d.client() as c:
            fill(c, "k:", 300)
            gen_of = {}
            for gen in range(1, 5):
                assert c.execute("SET", "gen", gen) == "OK"
                if gen % 2:
                    assert c.execute("BGSAVE") == STARTED
                    info = wait_saves(c, gen)
                else:
                    assert c.execute("SAVE") == "OK"
                    info = persistence(c)
                    assert info["rdb_saves"] == str(gen), info
                path = info["dredis_last_snapshot_dir"]
                assert os.path.dirname(path) == snaps, (path, snaps)
                gen_of[os.path.basename(path)] = b"%d" % gen
                names = snapshot_names(snaps)
                assert len(names) == min(gen, 2) and names[-1] == os.path.basename(path), (gen, names, path)
                assert not incomplete_names(snaps), os.listdir(snaps)
            assert [tree_value(os.path.join(snaps, n), "gen") for n in names] == [b"3", b"4"], names
            assert [gen_of[n] for n in names] == [b"3", b"4"], (names, gen_of)
            assert not os.path.exists(d.root_dir + ".snapshots"), os.listdir(d.parent)

            replies = c.pipeline([("SET", "gen", 5), ("SAVE",), ("SET", "gen", 6), ("SAVE",), ("SET", "gen", 7),
                                  ("SAVE",), ("INFO", "persistence")])
            assert replies[:6] == ["OK"] * 6, replies[:6]
            info = info_of(replies[6])
            assert info["rdb_saves"] == "7", info
            names = snapshot_names(snaps)
            assert [tree_value(os.path.join(snaps, n), "gen") for n in names] == [b"6", b"7"], names
            assert info["dredis_last_snapshot_dir"] == os.path.join(snaps, names[-1]), (info, names)
            assert not incomplete_names(snaps), os.listdir(snaps)

            # a snapshot that fails: the directory cannot take new entries
            lastsave = c.execute("LASTSAVE")
            subprocess.run(["chattr", "+i", snaps], check=True)
            try:
                assert c.execute("SET", "gen", 8) == "OK"
                r = c.execute("BGSAVE")
                assert r == STARTED or isinstance(r, RespError), r
                wait_until(lambda: persistence(c)["rdb_bgsave_in_progress"] == "0", timeout=20,
                           what="the failing BGSAVE to end")
                failed = persistence(c)
                assert failed["rdb_last_bgsave_status"] == "err", failed
                assert failed["rdb_saves"] == "7" and failed["dredis_last_snapshot_dir"] == info[
                    "dredis_last_snapshot_dir"], failed
                # as Redis: what a failed snapshot did not save still counts (DREDIS_SAVE tries again)
                assert failed["rdb_changes_since_last_save"] == "1", failed
                assert c.execute("LASTSAVE") == lastsave
                r = c.execute("SAVE")
                assert isinstance(r, RespError) and r.message.startswith("ERR"), r
                assert snapshot_names(snaps) == names
            finally:
                subprocess.run(["chattr", "-i", snaps], check=True)
            assert c.execute("BGSAVE") == STARTED
            info = wait_saves(c, 8)
            assert info["rdb_last_bgsave_status"] == "ok" and info["rdb_changes_since_last_save"] == "0", info
            names = snapshot_names(snaps)
            assert [tree_value(os.path.join(snaps, n), "gen") for n in names] == [b"7", b"8"], names


def test_save_setting_takes_snapshots():
    """DREDIS_SAVE="1 1": a write, and within a few seconds a snapshot is
    taken with no command asking for it (rdb_saves 1, LASTSAVE later than
    the start-up time, the write in ROOT_DIR.snapshots/snapshot-...); a
    second write, a second snapshot. Each is taken at least 1 s after the
    last one (the first after start-up), as the snapshots' names say."""
    launched = time.time()
    with Snapshotting(env={"DREDIS_SAVE": "1 1"}) as d, d.client() as c:
        startup = c.execute("LASTSAVE")
        assert persistence(c)["rdb_saves"] == "0"
        assert c.execute("SET", "written", "yes") == "OK"
        wait_until(lambda: persistence(c)["rdb_saves"] == "1", timeout=6, interval=0.05,
                   what="DREDIS_SAVE='1 1' to take a snapshot after a write")
        info = wait_saves(c, 1)
        lastsave = c.execute("LASTSAVE")
        assert lastsave > startup and info["rdb_last_save_time"] == str(lastsave), (startup, lastsave, info)
        first = info["dredis_last_snapshot_dir"]
        assert snapshot_names(d.snap_dir) == [os.path.basename(first)], (os.listdir(d.snap_dir), first)
        assert tree_value(first, "written") == b"yes"

        assert c.execute("SET", "written", "again") == "OK"
        wait_until(lambda: persistence(c)["rdb_saves"] == "2", timeout=6, interval=0.05,
                   what="DREDIS_SAVE='1 1' to take a second snapshot after a second write")
        second = wait_saves(c, 2)["dredis_last_snapshot_dir"]
        assert tree_value(second, "written") == b"again"
        t1, t2 = snapshot_time(os.path.basename(first)), snapshot_time(os.path.basename(second))
        # names are in whole ms: 2 ms of slack
        assert t1 - launched >= 0.998, (
            "DREDIS_SAVE='1 1' took a snapshot %.3f s after the server was launched: 1 s must pass "
            "since start-up" % (t1 - launched))
        assert t2 - t1 >= 0.998, "DREDIS_SAVE='1 1' took snapshots %.3f s apart (%s, %s)" % (t2 - t1, first, second)


def test_bad_snapshot_settings_refuse_to_start():
    for name, value in (("DREDIS_SAVE", "abc"), ("DREDIS_SAVE", "1"), ("DREDIS_SAVE", "1 1 5"),
                        ("DREDIS_SAVE", "1 x"), ("DREDIS_SNAPSHOT_KEEP", "-1"), ("DREDIS_SNAPSHOT_KEEP", "abc"),
                        ("DREDIS_SNAPSHOT_KEEP", "1.5")):
        assert_refused({name: value}, [name])


def test_snapshot_dir_on_another_file_system():
    """A DREDIS_SNAPSHOT_DIR on another file system than ROOT_DIR (tmpfs
    /dev/shm) cannot hold hard links: start-up is refused naming the
    variable, or else no snapshot is made there (SAVE fails)."""
    assert os.stat("/dev/shm").st_dev != os.stat(tempfile.gettempdir()).st_dev, "/dev/shm is not another fs"
    shm = tempfile.mkdtemp(prefix="dredis-snap-", dir="/dev/shm")
    parent = tempfile.mkdtemp(prefix="dredis-snap-")
    try:
        d = Dredis(root_dir=os.path.join(parent, "root"), env={"DREDIS_SNAPSHOT_DIR": os.path.join(shm, "s")},
                   start=False)
        try:
            d.start()
        except AssertionError as e:
            d.cleanup()
            assert "exited" in str(e) and "DREDIS_SNAPSHOT_DIR" in str(e), e
            return
        with d, d.client() as c:
            assert c.execute("SET", "k", "v") == "OK"
            r = c.execute("SAVE")
            assert isinstance(r, RespError), "SAVE into a snapshot dir on another file system: %r" % r
            assert not snapshot_names(os.path.join(shm, "s"))
    finally:
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(parent, ignore_errors=True)


# ---------------------------------------------------------------------------
# 6. BGSAVE in MULTI; TTLs in a snapshot
# ---------------------------------------------------------------------------

def test_bgsave_in_multi_holds_the_transaction():
    """MULTI, writes, BGSAVE, more writes, EXEC: 'Background saving
    scheduled', and the snapshot starts by itself after EXEC with the
    whole transaction in it; BGSAVE SCHEDULE in MULTI the same."""
    with Snapshotting() as d, d.client() as c:
        fill(c, "k:", 500)
        assert c.execute("SET", "p", "0") == "OK"
        replies = c.pipeline([("MULTI",), ("SET", "a", "1"), ("BGSAVE",), ("SET", "b", "2"), ("INCR", "c"),
                              ("DEL", "p"), ("RENAME", "k:0", "renamed"), ("EXEC",)])
        assert replies == ["OK"] + ["QUEUED"] * 6 + [["OK", SCHEDULED, "OK", 1, 1, "OK"]], replies
        # no more commands: the snapshot must start and end by itself
        wait_until(lambda: snapshot_names(d.snap_dir), timeout=30, what="the scheduled snapshot")
        info = wait_saves(c, 1)
        snapshot = info["dredis_last_snapshot_dir"]
        with Dredis(root_dir=snapshot) as s, s.client() as r:
            assert r.execute("MGET", "a", "b", "c", "p", "k:0", "renamed", "k:1") == [
                b"1", b"2", b"1", None, None, b"k:0:v", b"k:1:v"]
            assert r.execute("DBSIZE") == 500 + 3

        replies = c.pipeline([("MULTI",), ("SET", "a", "3"), ("BGSAVE", "SCHEDULE"), ("SET", "b", "4"), ("EXEC",)])
        assert replies == ["OK", "QUEUED", "QUEUED", "QUEUED", ["OK", SCHEDULED, "OK"]], replies
        info = wait_saves(c, 2)
        snapshot = info["dredis_last_snapshot_dir"]
        assert tree_value(snapshot, "a") == b"3" and tree_value(snapshot, "b") == b"4"


def test_snapshot_keeps_ttls_and_expires_keys():
    """A snapshot holds each key's TTL as it was at BGSAVE (PERSIST, DEL
    and PEXPIRE after it change nothing there); served by a new dredis,
    a key whose time comes is expired there without being touched (DBSIZE
    drops), while the live server keeps the key it persisted."""
    with Snapshotting() as d, d.client() as c:
        exact = int(time.time() * 1000) + 7200 * 1000
        replies = c.pipeline([("SET", "keep", "v"), ("SET", "soon", "v", "PX", 3000),
                              ("SET", "later", "v", "PX", 600000), ("SET", "gone", "v"),
                              ("SET", "exact", "v", "PXAT", exact), ("BGSAVE",), ("PERSIST", "soon"), ("DEL", "gone"),
                              ("PEXPIRE", "later", 1), ("PEXPIREAT", "exact", 1)])
        assert replies == ["OK"] * 5 + [STARTED, 1, 1, 1, 1], replies
        snapshot = wait_saves(c, 1)["dredis_last_snapshot_dir"]
        with Dredis(root_dir=snapshot) as s, s.client() as r:
            assert r.execute("DBSIZE") == 5
            assert r.execute("PTTL", "keep") == -1
            assert 0 < r.execute("PTTL", "soon") <= 3000
            assert 590000 < r.execute("PTTL", "later") <= 600000
            assert r.execute("PEXPIRETIME", "exact") == exact
            assert r.execute("GET", "gone") == b"v"
            wait_until(lambda: r.execute("DBSIZE") == 4, timeout=8, interval=0.05,
                       what="the key whose TTL passed to be expired by the served snapshot's expiry cycle")
            assert r.execute("EXISTS", "soon") == 0
        assert c.execute("PTTL", "soon") == -1 and c.execute("EXISTS", "later", "gone", "exact") == 0
