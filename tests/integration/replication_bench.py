"""replication_bench - what replication costs at scale.

Loads KEYS string keys into a fresh dredis-server, attaches a real
redis-server as its replica and measures:
  * the full sync: the time until the replica is online with every key,
    the master's peak RSS, and the peak RSS of the child that writes the
    RDB (dredis-server --export-rdb);
  * replica lag under write load: redis-benchmark SETs (50 clients) on
    random keys against the master while the bytes the replica is behind
    (master_repl_offset - the replica's slave_repl_offset) are sampled; and
    the time the replica needs to catch up once the load stops.
Used by scripts/bench-replication (KEYS as asked, 1,000,000 for the figures
in the issue note) and, with a few thousand keys, by test_replication.py.

    python3 replication_bench.py [KEYS] [BENCH_REQUESTS]"""
import os
import shutil
import subprocess
import sys
import time

from dredis_test import Dredis, Redis, info_map, wait_until
from snapshot_bench import loaded_client, peak_rss_kb


def info_field(c, section, field):
    return info_map(c, section).get(field)


def children_of(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p))
        except (OSError, ValueError, IndexError):
            pass
    return out


def run(keys, requests=200000, out=sys.stdout):
    with Dredis() as m:
        c, load_s = loaded_client(m, keys, timeout=3600)
        t0 = time.time()
        with Redis(extra_args=("--replicaof", "127.0.0.1", str(m.port), "--repl-timeout", "600")) as r:
            rc = r.client(timeout=600)
            child_rss = 0
            while info_field(rc, "replication", "master_link_status") != "up":
                for pid in children_of(m.proc.pid):
                    child_rss = max(child_rss, peak_rss_kb(pid))
                time.sleep(0.1)
            sync_s = time.time() - t0
            assert rc.execute("DBSIZE") == keys
            master_rss = peak_rss_kb(m.proc.pid)
            # lag under load
            bench = shutil.which("redis-benchmark")
            lags = []
            load = subprocess.Popen([bench, "-p", str(m.port), "-t", "set", "-n", str(requests), "-r", str(keys),
                                     "-c", "50", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            while load.poll() is None:
                mo = int(info_field(c, "replication", "master_repl_offset"))
                ro = int(info_field(rc, "replication", "slave_repl_offset"))
                lags.append(max(0, mo - ro))
                time.sleep(0.05)
            rate = load.stdout.read().decode().strip().splitlines()[-1:]
            t0 = time.time()
            final = int(info_field(c, "replication", "master_repl_offset"))
            wait_until(lambda: int(info_field(rc, "replication", "slave_repl_offset")) >= final, timeout=600,
                       what="the replica to catch up")
            catchup_s = time.time() - t0
            lags.sort()
            rows = [
                ("keys", "%d" % keys),
                ("load (MSET of 200, pipelined)", "%.1f s, %.0f keys/s" % (load_s, keys / load_s)),
                ("full sync until the replica is online", "%.1f s (%.0f keys/s)" % (sync_s, keys / sync_s)),
                ("master peak RSS", "%.1f MiB" % (master_rss / 1024.0)),
                ("RDB writer (export child) peak RSS", "%.1f MiB" % (child_rss / 1024.0)),
                ("redis-benchmark SET -c 50 on the master", " ".join(rate)),
                ("replica behind during the load (p50/p99/max bytes, %d samples)" % len(lags),
                 "%d / %d / %d" % (lags[len(lags) // 2], lags[int(len(lags) * .99)], lags[-1]) if lags else "-"),
                ("caught up after the load stopped", "%.2f s" % catchup_s),
            ]
            for k, v in rows:
                print("%-66s %s" % (k, v), file=out)
            return {"sync_s": sync_s, "master_rss_kb": master_rss, "child_rss_kb": child_rss, "lags": lags}


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000, int(sys.argv[2]) if len(sys.argv) > 2 else 200000)
