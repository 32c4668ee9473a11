"""snapshot_bench - what a BGSAVE costs the writers of a large tree.

Loads KEYS string keys into a fresh dredis-server, then measures, with one
client writing SETs to random existing keys one at a time:
  * the latency of those writes before any snapshot (p50, p99, max);
  * the time BGSAVE takes to answer (the only moment every writer waits);
  * the latency of the same writes while the snapshot is being linked
    (each first write to a key not linked yet links it first);
  * how long the snapshot takes to complete, and the server's peak RSS;
and checks that the snapshot holds every key. Used by scripts/bench-snapshot
(KEYS as asked, 1,000,000 for the figures in docs/durability.md) and, with a
few thousand keys, by test_snapshot_scale.py.

    python3 snapshot_bench.py [KEYS] [SECONDS_OF_BASELINE]"""
import os
import random
import sys
import time

from dredis_test import Dredis, encode_command, info_map


def load_keys(c, n, batch=200):
    """SET k:0 .. k:n-1 with MSETs of batch keys, pipelined."""
    sent = 0
    inflight = 0
    while sent < n:
        args = ["MSET"]
        for i in range(sent, min(n, sent + batch)):
            args += ["k:%d" % i, "v%d" % i]
        c.send_raw(encode_command(args))
        sent = min(n, sent + batch)
        inflight += 1
        if inflight == 50:
            for _ in range(inflight):
                assert c.read_reply() == "OK"
            inflight = 0
    for _ in range(inflight):
        assert c.read_reply() == "OK"


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0.0


def timed_writes(c, n, until, rng):
    """SET random existing keys until until() is true; latencies in ms."""
    lat = []
    while not until():
        k = "k:%d" % rng.randrange(n)
        t0 = time.perf_counter()
        r = c.execute("SET", k, "w")
        lat.append((time.perf_counter() - t0) * 1000)
        assert r == "OK", r
    return lat


def info(c, field):
    fields = info_map(c, "persistence")
    assert field in fields, "no %s in INFO persistence" % field
    return fields[field]


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def loaded_client(server, keys, timeout=600):
    """A client of server after load_keys(keys): (client, seconds the load took)."""
    c = server.client(timeout=timeout)
    t0 = time.time()
    load_keys(c, keys)
    load_s = time.time() - t0
    assert c.execute("DBSIZE") == keys
    return c, load_s


def run(keys, baseline_seconds=2.0, out=sys.stdout):
    rng = random.Random(1)
    with Dredis() as s:
        c, load_s = loaded_client(s, keys)
        w = s.client(timeout=600)
        end = time.time() + baseline_seconds
        before = timed_writes(w, keys, lambda: time.time() > end, rng)
        t0 = time.perf_counter()
        assert c.execute("BGSAVE") == "Background saving started"
        bgsave_ms = (time.perf_counter() - t0) * 1000
        started = time.time()
        during = timed_writes(w, keys, lambda: info(c, "rdb_bgsave_in_progress") == "0", rng)
        # the poll above runs between writes; the snapshot ended within one write of it
        snapshot_s = time.time() - started
        assert info(c, "rdb_last_bgsave_status") == "ok"
        snap = info(c, "dredis_last_snapshot_dir")
        linked = sum(1 for n in os.listdir(os.path.join(snap, "0")) if not n.startswith("."))
        assert linked == keys, (linked, keys)
        rss = peak_rss_kb(s.proc.pid)
        rows = [
            ("keys", "%d" % keys),
            ("load (MSET of 200, pipelined)", "%.1f s, %.0f keys/s" % (load_s, keys / load_s)),
            ("SET latency before (p50/p99/max ms, %d writes)" % len(before),
             "%.3f / %.3f / %.3f" % (percentile(before, .5), percentile(before, .99), max(before))),
            ("BGSAVE reply (ms)", "%.3f" % bgsave_ms),
            ("SET latency while linking (p50/p99/max ms, %d writes)" % len(during),
             "%.3f / %.3f / %.3f" % (percentile(during, .5), percentile(during, .99), max(during) if during else 0)),
            ("snapshot complete after", "%.1f s (%.0f keys/s)" % (snapshot_s, keys / max(snapshot_s, 1e-9))),
            ("server peak RSS", "%.1f MiB" % (rss / 1024.0)),
        ]
        for k, v in rows:
            print("%-58s %s" % (k, v), file=out)
        return {"bgsave_ms": bgsave_ms, "before": before, "during": during, "snapshot_s": snapshot_s}


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000,
        float(sys.argv[2]) if len(sys.argv) > 2 else 2.0)
