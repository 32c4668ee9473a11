"""The append-only file (src/aof.c): appendonly yes|no, the multi-part
layout in DREDIS_SNAPSHOT_DIR/appendonlydir named as Redis 7.0 names it,
the incr file fed with the replicas' stream, BGREWRITEAOF, the aof_* INFO
fields, -MISCONF after a failed write. The acceptance check throughout: a
real redis-server started on a copy of the AOF directory loads it to the
same DEBUG DIGEST as dredis."""
import os
import shutil
import tempfile
import time

from dredis_test import Dredis, Redis, RespError, info_map, wait_until

LIB = "#!lua name=aoflib\nredis.register_function('aoff', function(keys, args) return 1 end)"


def info(c, section="persistence"):
    return info_map(c, section)


def wait_rewrite(c):
    def done():
        i = info(c)
        return i["aof_rewrite_in_progress"] == "0" and i["aof_rewrite_scheduled"] == "0"
    wait_until(done, timeout=60, what="the AOF rewrite to end")  # generous: ASan, strace, a loaded machine


def aof_dir(d, dirname="appendonlydir"):
    return os.path.join(d.root_dir + ".snapshots", dirname)


def listing(path):
    files = sorted(os.listdir(path))
    with open(os.path.join(path, [f for f in files if f.endswith(".manifest")][0])) as f:
        return files, f.read()


STREAM_CHECKS = [("XINFO", "GROUPS", "st"), ("XPENDING", "st", "g"), ("XINFO", "CONSUMERS", "st", "g")]


def stream_state(c):
    """What DEBUG DIGEST leaves out of stream st: its groups, PEL and
    consumers, less their idle times and the groups' entries-read and lag
    (Redis's own stream, XREADGROUP as XCLAIM ... LASTID, does not carry
    entries-read: a Redis loading its own AOF has nil there too)."""
    def strip(fields, names):
        return [x for i, x in enumerate(fields)
                if not (fields[i - (i % 2)] in names)]
    out = []
    for cmd in STREAM_CHECKS:
        r = c.execute(*cmd)
        if cmd[1] == "CONSUMERS":
            r = [strip(cons, (b"idle",)) for cons in r]
        elif cmd[1] == "GROUPS":
            r = [strip(g, (b"entries-read", b"lag")) for g in r]
        out.append(r)
    return out


def redis_digest_of(path, dirname="appendonlydir", filename="appendonly.aof", extra=None):
    """Start a real redis-server on a copy of the AOF directory path; its
    DEBUG DIGEST and the names of its function libraries (and what extra(c)
    returns, when given)."""
    top = tempfile.mkdtemp(prefix="aof-load-")
    try:
        shutil.copytree(path, os.path.join(top, dirname))
        with Redis(extra_args=("--dir", top, "--appendonly", "yes", "--appenddirname", dirname,
                               "--appendfilename", filename)) as r:
            with r.client() as c:
                libs = c.execute("FUNCTION", "LIST")
                names = sorted(lib[1] for lib in libs)
                if extra:
                    return c.execute("DEBUG", "DIGEST"), names, extra(c)
                return c.execute("DEBUG", "DIGEST"), names
    finally:
        shutil.rmtree(top, ignore_errors=True)


def fill(c, tag=""):
    """Every type, TTLs, a function library, MULTI/EXEC, several dbs."""
    c.execute("SET", "s" + tag, "v")
    c.execute("SET", "n" + tag, "10")
    c.execute("INCRBY", "n" + tag, "5")
    c.execute("SET", "ttl" + tag, "x", "EX", "1000")
    c.execute("EXPIRE", "n" + tag, "5000")
    c.execute("RPUSH", "l" + tag, *[str(i) for i in range(100)])
    c.execute("LPOP", "l" + tag)
    c.execute("SADD", "set" + tag, *[str(i) for i in range(80)])
    c.execute("SADD", "iset" + tag, "1", "2", "3")
    c.execute("ZADD", "z" + tag, *sum([[str(i), "m%d" % i] for i in range(70)], []))
    c.execute("HSET", "h" + tag, *sum([["f%d" % i, "v%d" % i] for i in range(70)], []))
    c.execute("XADD", "st" + tag, "1-1", "a", "1")
    c.execute("XADD", "st" + tag, "*", "b", "2")
    c.execute("XGROUP", "CREATE", "st" + tag, "g", "0")
    c.execute("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "st" + tag, ">")
    c.execute("PFADD", "hll" + tag, "a", "b", "c")
    assert c.execute("MULTI") == "OK"
    c.execute("INCR", "m" + tag)
    c.execute("LPUSH", "ml" + tag, "a")
    assert c.execute("EXEC") == [1, 1]
    c.execute("SELECT", "3")
    c.execute("SET", "in3" + tag, "v")
    c.execute("HSET", "h3" + tag, "a", "1")
    c.execute("SELECT", "9")
    c.execute("SADD", "in9" + tag, "x")
    c.execute("SELECT", "0")
    c.execute("EVAL", "redis.call('set', KEYS[1], 'lua') redis.call('incr', KEYS[2])", "2", "ev" + tag, "evn" + tag)
    c.execute("DEL", "s" + tag)
    c.execute("PUBLISH", "ch", "not in the aof")


def assert_loads_same(d, c):
    c.execute("FUNCTION", "LOAD", "REPLACE", LIB)
    # the stream is in the file before the reply left: no wait is needed
    digest = c.execute("DEBUG", "DIGEST")
    got, libs, streams = redis_digest_of(aof_dir(d), extra=stream_state)
    assert got == digest, (got, digest)
    assert libs == [b"aoflib"], libs
    assert streams == stream_state(c), (streams, stream_state(c))


def test_config_set_every_type_and_rewrite():
    """CONFIG SET appendonly yes makes base 1 + incr 1; every write is in the
    incr file; BGREWRITEAOF makes base 2 + incr 2; a real Redis loads the
    directory to the same digest each time."""
    with Dredis() as d, d.client() as c:
        assert c.execute("CONFIG", "GET", "appendonly") == [b"appendonly", b"no"]
        assert info(c)["aof_enabled"] == "0"
        c.execute("SET", "before", "1")
        assert c.execute("CONFIG", "SET", "appendonly", "yes") == "OK"
        assert c.execute("CONFIG", "GET", "appendonly") == [b"appendonly", b"yes"]
        wait_rewrite(c)
        files, manifest = listing(aof_dir(d))
        assert files == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"], files
        assert manifest == ("file appendonly.aof.1.base.rdb seq 1 type b\n"
                            "file appendonly.aof.1.incr.aof seq 1 type i\n"), manifest
        fill(c)
        assert_loads_same(d, c)
        with open(os.path.join(aof_dir(d), "appendonly.aof.1.incr.aof"), "rb") as f:
            incr = f.read()
        assert b"PUBLISH" not in incr.upper() and b"PEXPIREAT" in incr and b"MULTI" in incr, incr[:300]
        assert c.execute("BGREWRITEAOF") == "Background append only file rewriting started"
        wait_rewrite(c)
        files, manifest = listing(aof_dir(d))
        assert files == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"], files
        fill(c, "b")
        assert_loads_same(d, c)
        i = info(c)
        assert i["aof_last_bgrewrite_status"] == "ok" and i["aof_rewrites"] == "2", i
        # nothing stray in ROOT_DIR
        assert not any(n.startswith(("appendonly", "temp-")) for n in os.listdir(d.root_dir))


def test_preamble_no_writes_commands():
    """aof-use-rdb-preamble no: the base is appendonly.aof.N.base.aof in
    Redis's command form (SET, RPUSH, SADD, ZADD, HMSET in batches of 64,
    PEXPIREAT, FUNCTION LOAD; streams as XADD, XSETID, XGROUP, XCLAIM),
    and Redis loads it to
    the same digest; back to yes, an RDB base again."""
    with Dredis() as d, d.client() as c:
        assert c.execute("CONFIG", "SET", "aof-use-rdb-preamble", "no") == "OK"
        fill(c)
        c.execute("RPUSH", "big", *[str(i) for i in range(200)])
        c.execute("ZADD", "zf", "1.5", "a", "-inf", "b", "0.1", "c")
        c.execute("XADD", "empty", "1-1", "a", "b")
        c.execute("XDEL", "empty", "1-1")
        c.execute("XGROUP", "CREATECONSUMER", "st", "g", "idle")
        c.execute("FUNCTION", "LOAD", "REPLACE", LIB)
        assert c.execute("CONFIG", "SET", "appendonly", "yes") == "OK"
        wait_rewrite(c)
        files, manifest = listing(aof_dir(d))
        assert files == ["appendonly.aof.1.base.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"], files
        with open(os.path.join(aof_dir(d), "appendonly.aof.1.base.aof"), "rb") as f:
            base = f.read()
        assert base.startswith(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n"), base[:80]
        for word in (b"RPUSH", b"SADD", b"ZADD", b"HMSET", b"PEXPIREAT", b"SELECT", b"XADD", b"XSETID",
                     b"XGROUP", b"CREATECONSUMER", b"XCLAIM"):
            assert word in base, word
        assert base.count(b"$5\r\nRPUSH\r\n$3\r\nbig\r\n") == 4  # 200 items: 64 + 64 + 64 + 8
        fill(c, "x")
        assert_loads_same(d, c)
        c.execute("CONFIG", "SET", "aof-use-rdb-preamble", "yes")
        c.execute("BGREWRITEAOF")
        wait_rewrite(c)
        files, _ = listing(aof_dir(d))
        assert files == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"], files
        assert_loads_same(d, c)


def test_file_names_follow_redis():
    """The same sequence of operations on redis-server and dredis leaves the
    same files and manifests: start with appendonly yes, BGREWRITEAOF,
    appendonly no + BGREWRITEAOF (base only), appendonly yes again."""
    rdir = tempfile.mkdtemp(prefix="aof-names-")
    try:
        with Redis(extra_args=("--dir", rdir, "--appendonly", "yes")) as r, \
                Dredis(env={"DREDIS_APPENDONLY": "yes"}) as d, r.client() as rc, d.client() as dc:
            steps = [[], [("BGREWRITEAOF",)], [("CONFIG", "SET", "appendonly", "no"), ("BGREWRITEAOF",)],
                     [("CONFIG", "SET", "appendonly", "yes")], [("BGREWRITEAOF",)]]
            for step in steps:
                for cmd in step:
                    a, b = rc.execute(*cmd), dc.execute(*cmd)
                    assert a == b, (cmd, a, b)
                for c in (rc, dc):
                    c.execute("SET", "k", str(time.time()))
                    wait_rewrite(c)
                assert listing(os.path.join(rdir, "appendonlydir")) == listing(aof_dir(d)), step
    finally:
        shutil.rmtree(rdir, ignore_errors=True)


def test_env_restart_and_custom_names():
    """DREDIS_APPENDONLY=yes with DREDIS_APPENDFILENAME/DIRNAME: the AOF is
    made from the tree at start-up and again after a restart (the tree is
    authoritative), its names going on from the manifest."""
    env = {"DREDIS_APPENDONLY": "yes", "DREDIS_APPENDFILENAME": "my.aof", "DREDIS_APPENDDIRNAME": "aofs"}
    with Dredis(env=env) as d:
        with d.client() as c:
            wait_rewrite(c)
            assert c.execute("CONFIG", "GET", "append*name") == [b"appenddirname", b"aofs",
                                                                 b"appendfilename", b"my.aof"]
            r = c.execute("CONFIG", "SET", "appendfilename", "x.aof")
            assert isinstance(r, RespError) and "immutable" in r.message, r
            fill(c)
            digest = c.execute("DEBUG", "DIGEST")
        d.restart()
        with d.client() as c:
            wait_rewrite(c)
            assert c.execute("DEBUG", "DIGEST") == digest
            files, manifest = listing(aof_dir(d, "aofs"))
            assert files == ["my.aof.2.base.rdb", "my.aof.2.incr.aof", "my.aof.manifest"], files
            c.execute("SET", "after", "restart")
            digest = c.execute("DEBUG", "DIGEST")
            got, _ = redis_digest_of(aof_dir(d, "aofs"), "aofs", "my.aof")
            assert got == digest


def test_bad_env_values_stop_the_server():
    for env, word in (({"DREDIS_APPENDONLY": "maybe"}, "DREDIS_APPENDONLY"),
                      ({"DREDIS_APPENDFILENAME": "a/b"}, "DREDIS_APPENDFILENAME"),
                      ({"DREDIS_APPENDDIRNAME": ".."}, "DREDIS_APPENDDIRNAME")):
        d = Dredis(env=env, start=False)
        try:
            d.start()
            raise AssertionError("started with %r" % env)
        except AssertionError as e:
            assert word in str(e), str(e)
        finally:
            d.stop()
            d.cleanup()


def test_info_fields_as_redis():
    """INFO persistence has Redis 7.0's aof_* fields, the size fields only
    while the AOF is on."""
    with Redis() as r, Dredis() as d, r.client() as rc, d.client() as dc:
        for value in ("no", "yes"):
            for c in (rc, dc):
                c.execute("CONFIG", "SET", "appendonly", value)
                wait_rewrite(c)
            ri = [k for k in info(rc) if k.startswith("aof_")]
            di = [k for k in info(dc) if k.startswith("aof_")]
            assert ri == di, (ri, di)
        i = info(dc)
        assert i["aof_enabled"] == "1" and i["aof_last_write_status"] == "ok"
        assert int(i["aof_current_size"]) >= int(i["aof_base_size"]) > 0, i


def test_bgrewriteaof_replies():
    """Already in progress, scheduled inside MULTI, and with appendonly no:
    base + manifest only."""
    with Dredis(env={"DREDIS_ENABLE_DEBUG_FAULTS": "1"}) as d, d.client() as c:
        c.execute("SET", "a", "1")
        assert c.execute("MULTI") == "OK"
        c.execute("BGREWRITEAOF")
        assert c.execute("EXEC") == ["Background append only file rewriting scheduled"]
        wait_rewrite(c)
        files, manifest = listing(aof_dir(d))
        assert files == ["appendonly.aof.1.base.rdb", "appendonly.aof.manifest"], files
        assert manifest == "file appendonly.aof.1.base.rdb seq 1 type b\n"
        assert c.execute("BGREWRITEAOF") == "Background append only file rewriting started"
        wait_rewrite(c)
        got, _ = redis_digest_of(aof_dir(d))
        assert got == c.execute("DEBUG", "DIGEST")
        # Redis's hidden rdb-key-save-delay makes a rewrite last (CONFIG GET *
        # leaves it out, as Redis): a second BGREWRITEAOF is refused, and
        # appendonly no kills the running one
        assert c.execute("CONFIG", "GET", "rdb-key-save-delay") == [b"rdb-key-save-delay", b"0"]
        assert b"rdb-key-save-delay" not in c.execute("CONFIG", "GET", "*")
        c.execute("CONFIG", "SET", "appendonly", "yes")
        wait_rewrite(c)
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "10000000")
        assert c.execute("BGREWRITEAOF") == "Background append only file rewriting started"
        assert c.execute("BGREWRITEAOF") == RespError("ERR Background append only file rewriting already in progress")
        assert info(c)["aof_rewrite_in_progress"] == "1"
        c.execute("CONFIG", "SET", "appendonly", "no")
        assert info(c)["aof_rewrite_in_progress"] == "0"
        assert "Killing running AOF rewrite child" in d.output()
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "0")
        wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", what="the snapshot to end")


def snapshot_entries(d):
    return sorted(e for e in os.listdir(d.root_dir + ".snapshots") if "snapshot" in e)


def test_save_runs_during_a_rewrite_as_redis():
    """SAVE is refused while a BGSAVE runs, not while an AOF rewrite does
    (Redis checks for an RDB child only): it waits for the rewrite's own
    snapshot to be linked, then makes its own; both end whole."""
    with Redis(["--appendonly", "yes", "--rdb-key-save-delay", "200000"]) as r, r.client() as rc:
        for i in range(5):
            rc.execute("SET", "k%d" % i, str(i))
        assert rc.execute("BGREWRITEAOF") == "Background append only file rewriting started"
        assert rc.execute("SAVE") == "OK"
    with Dredis() as d, d.client() as c:
        for i in range(5):
            c.execute("SET", "k%d" % i, str(i))
        lastsave = c.execute("LASTSAVE")
        time.sleep(1.1)  # LASTSAVE moves by whole seconds
        # 0.1 s a key: the rewrite's snapshot is still being linked at SAVE
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "100000")
        assert c.execute("BGREWRITEAOF") == "Background append only file rewriting started"
        assert c.execute("SAVE") == "OK"
        assert c.execute("LASTSAVE") > lastsave
        saved = [e for e in snapshot_entries(d) if e.startswith("snapshot-")]
        assert len(saved) == 1, snapshot_entries(d)
        snap = os.path.join(d.root_dir + ".snapshots", saved[0], "0")
        assert sorted(e for e in os.listdir(snap) if e != ".expires") == ["k%d" % i for i in range(5)]
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "0")
        wait_rewrite(c)
        got, _ = redis_digest_of(aof_dir(d))
        assert got == c.execute("DEBUG", "DIGEST")
        wait_until(lambda: not [e for e in snapshot_entries(d) if "private" in e], what="the private snapshot to go")
        # while a BGSAVE runs, SAVE is refused, as Redis
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "100000")
        assert c.execute("BGSAVE") == "Background saving started"
        r = c.execute("SAVE")
        assert isinstance(r, RespError) and r.message == "ERR Background save already in progress", r
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "0")


def test_rewrite_leaves_the_snapshots_alone():
    """A rewrite reads a private snapshot of its own: the last BGSAVE
    snapshot stays (DREDIS_SNAPSHOT_KEEP=1 kept only one, so a rewrite used
    to replace it), LASTSAVE and rdb_saves do not move, INFO shows no
    BGSAVE, and the private snapshot is gone afterwards. A crash's leftovers
    go at the next start."""
    with Dredis() as d, d.client() as c:
        c.execute("SET", "before", "1")
        assert c.execute("BGSAVE") == "Background saving started"
        wait_until(lambda: info(c)["rdb_bgsave_in_progress"] == "0", what="the snapshot to end")
        saved = snapshot_entries(d)
        assert len(saved) == 1 and saved[0].startswith("snapshot-"), saved
        lastsave, before = c.execute("LASTSAVE"), info(c)
        time.sleep(1.1)  # a new snapshot would have another name and LASTSAVE
        c.execute("SET", "after", "2")
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "200000")  # 0.2 s a key: the rewrite lasts
        assert c.execute("BGREWRITEAOF") == "Background append only file rewriting started"
        during = info(c)
        assert during["aof_rewrite_in_progress"] == "1" and during["rdb_bgsave_in_progress"] == "0", during
        private = [e for e in snapshot_entries(d) if e not in saved]
        assert len(private) == 1 and "private-snapshot-" in private[0], private
        c.execute("CONFIG", "SET", "rdb-key-save-delay", "0")
        wait_rewrite(c)
        wait_until(lambda: snapshot_entries(d) == saved, what="the private snapshot to go")
        after = info(c)
        assert c.execute("LASTSAVE") == lastsave
        for field in ("rdb_saves", "rdb_last_save_time", "dredis_last_snapshot_dir"):
            assert after[field] == before[field], (field, before[field], after[field])
        assert int(after["rdb_changes_since_last_save"]) > int(before["rdb_changes_since_last_save"])
        got, _ = redis_digest_of(aof_dir(d))
        assert got == c.execute("DEBUG", "DIGEST")
        # the snapshot is still the one of its instant
        snap = os.path.join(d.root_dir + ".snapshots", saved[0], "0")
        assert os.path.isdir(os.path.join(snap, "before")) and not os.path.exists(os.path.join(snap, "after"))

        # what a crash in the middle of a rewrite leaves goes at the next start
        top = d.root_dir + ".snapshots"
        os.makedirs(os.path.join(top, "private-snapshot-20260101T000000.000Z", "0"))
        os.makedirs(os.path.join(top, ".incomplete-private-snapshot-20260101T000000.000Z", "0"))
        open(os.path.join(top, "temp-rewriteaof-bg-1-1.aof"), "w").close()
        open(os.path.join(aof_dir(d), "temp-appendonly.aof.incr"), "w").close()
        d.restart()
        left = sorted(e for e in os.listdir(top) if e != "appendonlydir")
        assert left == saved, left
        assert "temp-appendonly.aof.incr" not in os.listdir(aof_dir(d))


def test_settings():
    """The settings dredis follows work; the others refuse what dredis
    does not do, saying why."""
    with Dredis() as d, d.client() as c:
        for name, good, bad in (("aof-timestamp-enabled", "no", "yes"),
                                ("aof-load-truncated", "yes", "no"), ("aof-rewrite-incremental-fsync", "no", "yes")):
            assert c.execute("CONFIG", "SET", name, good) == "OK"
            r = c.execute("CONFIG", "SET", name, bad)
            assert isinstance(r, RespError) and "dredis" in r.message, (name, r)
        for name, value in (("no-appendfsync-on-rewrite", "yes"), ("auto-aof-rewrite-percentage", "50"),
                            ("auto-aof-rewrite-min-size", "1kb")):
            assert c.execute("CONFIG", "SET", name, value) == "OK"
        assert c.execute("CONFIG", "GET", "auto-aof-rewrite-min-size") == [b"auto-aof-rewrite-min-size", b"1024"]
        # automatic rewrite: the AOF grows past min-size and 50% of its base
        c.execute("CONFIG", "SET", "appendonly", "yes")
        wait_rewrite(c)
        for i in range(200):
            c.execute("SET", "k%d" % i, "x" * 100)
        # at least one: on a slow machine the writes outlast a rewrite and
        # the AOF grows past the new base's 50 % again
        wait_until(lambda: int(info(c)["aof_rewrites"]) >= 2, timeout=60, what="an automatic rewrite")
        wait_rewrite(c)
        got, _ = redis_digest_of(aof_dir(d))
        assert got == c.execute("DEBUG", "DIGEST")


def test_failed_write_is_misconf_until_it_succeeds():
    """A failed AOF write: aof_last_write_status:err and writes (and PING)
    refused with Redis's -MISCONF, reads served; once a write succeeds again
    (the pending commands written) all goes back to normal, nothing lost."""
    with Dredis(env={"DREDIS_ENABLE_DEBUG_FAULTS": "1"}) as d, d.client() as c:
        c.execute("CONFIG", "SET", "appendonly", "yes")
        wait_rewrite(c)
        c.execute("SET", "k", "v")
        c.execute("PEXPIREAT", "k", "99999999999999")
        # an unchanged expiry writes nothing to the tree, but is in the stream
        assert c.execute("DEBUG-FAULT", "ARM", "write", "ENOSPC", "AFTER", "0") == "OK"
        c.execute("PEXPIREAT", "k", "99999999999999")
        wait_until(lambda: info(c)["aof_last_write_status"] == "err", what="the write error")
        r = c.execute("SET", "x", "1")
        assert r == RespError("MISCONF Errors writing to the AOF file: No space left on device"), r
        assert c.execute("PING") == r
        assert c.execute("GET", "k") == b"v"
        c.execute("DEBUG-FAULT", "OFF")
        wait_until(lambda: info(c)["aof_last_write_status"] == "ok", what="the write to succeed")
        assert c.execute("SET", "x", "1") == "OK"
        got, _ = redis_digest_of(aof_dir(d))
        assert got == c.execute("DEBUG", "DIGEST")


def test_replica_with_appendonly():
    """A dredis replica with appendonly yes: the AOF is made again after its
    full sync replaced the tree (as Redis's restartAOFAfterSYNC), and the
    master's stream goes into it; Redis loads it to the master's digest."""
    from test_replica import replica_of, synced
    with Dredis() as m, m.client() as mc:
        fill(mc)
        with replica_of(m, env={"DREDIS_APPENDONLY": "yes"}) as r, r.client() as rc:
            synced(m, r)
            wait_rewrite(rc)
            fill(mc, "late")
            mc.execute("FUNCTION", "LOAD", "REPLACE", LIB)
            synced(m, r)
            wait_rewrite(rc)
            digest = mc.execute("DEBUG", "DIGEST")
            assert rc.execute("DEBUG", "DIGEST") == digest
            got, libs = redis_digest_of(aof_dir(r))
            assert got == digest and libs == [b"aoflib"], (got, digest, libs)


def test_always_fsyncs_the_aof_before_acknowledging():
    """appendfsync always (DREDIS_FSYNC=always) with appendonly yes: every
    reply leaves after its command was written to the incr file and that
    file fsynced (strace of the main thread, as test_durability's check of
    the tree)."""
    import re
    from test_durability import run_clients, run_traced
    # under ASan, LeakSanitizer's check at exit attaches to the process with
    # ptrace, which strace already holds: the rewrite's child would fail at
    # exit. The other tests check leaks; this one checks system calls.
    env = {"DREDIS_FSYNC": "always", "DREDIS_APPENDONLY": "yes",
           "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))}

    def work(s):
        with s.client() as c:
            wait_rewrite(c)

        def sets(c, i):
            for j in range(20):
                assert c.execute("SET", "k%d:%d" % (i, j), "v") == "OK"
        run_clients(s, 4, sets)

    calls = run_traced(["write", "writev", "readv", "fsync"], env, work, prefix="dredis-aof-always-")
    aof_fd, last_aof_write, last_aof_fsync, acks = None, -1, -1, 0
    for i, (name, args) in enumerate(calls):
        fd = re.match(r"\d*", args).group()
        rest = args.partition(", ")[2]
        if name == "write" and rest.startswith('"*') and b"SET" in rest.encode():
            aof_fd, last_aof_write = fd, i
        elif name == "fsync" and fd == aof_fd:
            last_aof_fsync = i
        elif name in ("write", "writev") and "+OK\\r\\n" in rest:
            acks += 1
            assert last_aof_write < last_aof_fsync, (
                "a reply left before the AOF was fsynced: %r" % (calls[max(0, i - 8):i + 1],))
    assert acks >= 80 and aof_fd is not None, (acks, aof_fd)


def test_failed_fsync_is_misconf_until_one_succeeds():
    """everysec: a failed fsync of the incr file refuses writes with -MISCONF
    (as Redis's aof_bio_fsync_status) until an fsync, tried again each cron
    turn, succeeds."""
    with Dredis(env={"DREDIS_ENABLE_DEBUG_FAULTS": "1"}) as d, d.client() as c:
        c.execute("CONFIG", "SET", "appendonly", "yes")
        wait_rewrite(c)
        assert c.execute("DEBUG-FAULT", "ARM", "fsync", "EIO", "AFTER", "0") == "OK"
        assert c.execute("SET", "k", "v") == "OK"
        wait_until(lambda: isinstance(c.execute("SET", "x", "1"), RespError), what="writes to be refused")
        assert c.execute("SET", "x", "1") == RespError("MISCONF Errors writing to the AOF file: Input/output error")
        c.execute("DEBUG-FAULT", "OFF")
        wait_until(lambda: c.execute("SET", "x", "1") == "OK", what="writes to be accepted again")
        got, _ = redis_digest_of(aof_dir(d))
        assert got == c.execute("DEBUG", "DIGEST")
