"""LATENCY (the latency monitor and LATENCY HISTOGRAM) and MEMORY, compared
with a real redis-server 7.0.15 where the replies are comparable (src/latency.c,
src/object.c memoryCommand, tests/unit/latency-monitor.tcl,
tests/unit/introspection.tcl). Latencies themselves differ from server to
server: the scenarios compare shapes, counts and error texts, and the tests
check dredis's own figures against what was done."""
import os
import time

from dredis_test import RespError
from conn_util import compare


def shape(v):
    """A reply with every integer replaced by 'int' (timestamps, latencies)."""
    if isinstance(v, list):
        return [shape(x) for x in v]
    if isinstance(v, dict):
        return {shape(k): shape(x) for k, x in v.items()}
    if isinstance(v, int) and not isinstance(v, bool):
        return "int"
    return v


def latency_scenario(server):
    c = server.client()
    steps = [("threshold default", c.execute("CONFIG", "GET", "latency-monitor-threshold")),
             ("latest empty", c.execute("LATENCY", "LATEST")),
             ("history none", c.execute("LATENCY", "HISTORY", "command")),
             ("reset none", c.execute("LATENCY", "RESET")),
             ("graph none", c.execute("LATENCY", "GRAPH", "command")),
             ("help arity", c.execute("LATENCY", "HELP", "x")),
             ("bad sub", c.execute("LATENCY", "FOO")),
             ("history arity", c.execute("LATENCY", "HISTORY")),
             ("bad threshold", c.execute("CONFIG", "SET", "latency-monitor-threshold", "x")),
             ("set threshold", c.execute("CONFIG", "SET", "latency-monitor-threshold", "20")),
             ("get threshold", c.execute("CONFIG", "GET", "latency-monitor-threshold")),
             ("fast sleep", c.execute("DEBUG", "SLEEP", "0")),
             ("nothing yet", c.execute("LATENCY", "LATEST")),
             ("sleep", c.execute("DEBUG", "SLEEP", "0.05"))]
    latest = c.execute("LATENCY", "LATEST")
    steps.append(("latest shape", shape(latest)))
    steps.append(("latest at least 50", latest[0][2] >= 50 and latest[0][3] >= 50))
    history = c.execute("LATENCY", "HISTORY", "command")
    steps.append(("history shape", shape(history)))
    steps.append(("history time", abs(history[0][0] - time.time()) < 5))
    graph = c.execute("LATENCY", "GRAPH", "command")
    steps.append(("graph header", graph.split(b"\n")[0].startswith(b"command - high ")))
    steps.append(("graph case", isinstance(c.execute("LATENCY", "GRAPH", "COMMAND"), RespError)))
    steps.append(("doctor", len(c.execute("LATENCY", "DOCTOR")) > 0))
    steps.append(("reset other", c.execute("LATENCY", "RESET", "blabla")))
    steps.append(("reset named", c.execute("LATENCY", "RESET", "COMMAND", "command")))
    steps.append(("latest after", c.execute("LATENCY", "LATEST")))
    c.execute("CONFIG", "SET", "latency-monitor-threshold", "0")
    steps.append(("off: no sample", (c.execute("DEBUG", "SLEEP", "0.03"), c.execute("LATENCY", "LATEST"))))
    c.close()
    return steps


def test_latency_monitor_as_redis():
    steps = dict(compare(latency_scenario, redis_args=("--enable-debug-command", "yes")))
    assert steps["latest shape"] == [[b"command", "int", "int", "int"]]
    assert steps["graph none"] == RespError("ERR No samples available for event 'command'")
    assert steps["help arity"] == RespError("ERR wrong number of arguments for 'latency|help' command")
    assert steps["reset named"] == 1 and steps["latest after"] == []


def histogram_scenario(server):
    c = server.client()
    c.execute("HELLO", "3")
    c.execute("CONFIG", "RESETSTAT")
    c.execute("SET", "a", "b")
    c.execute("SET", "c", "d")
    c.execute("GET", "a")
    c.execute("CLIENT", "ID")
    steps = [("set", shape(c.execute("LATENCY", "HISTOGRAM", "set"))[b"set"][b"calls"]),
             ("names", sorted(c.execute("LATENCY", "HISTOGRAM", "set", "get", "blabla", "zadd").keys())),
             ("container", sorted(c.execute("LATENCY", "HISTOGRAM", "client").keys())),
             ("sub", sorted(c.execute("LATENCY", "HISTOGRAM", "client|id").keys())),
             ("unknown", c.execute("LATENCY", "HISTOGRAM", "blabla"))]
    everything = c.execute("LATENCY", "HISTOGRAM")
    steps.append(("all", sorted(everything.keys())))
    steps.append(("calls", everything[b"set"][b"calls"]))
    steps.append(("buckets", everything[b"set"][b"histogram_usec"]))
    c.close()
    return steps


def test_latency_histogram_as_redis():
    a, b = [], []
    from conn_util import run_on_both
    a, b = run_on_both(histogram_scenario)
    # bucket bounds and counts depend on each server's speed
    assert a[:-1] == b[:-1], "dredis: %r\nredis: %r" % (a, b)
    steps = dict(a)
    assert steps["calls"] == 2
    assert steps["names"] == [b"get", b"set"]
    assert steps["container"] == [b"client|id"]
    buckets = steps["buckets"]
    # cumulative counts on powers of two of microseconds, ending at the calls
    assert all(k & (k - 1) == 0 for k in buckets)
    assert sorted(buckets.values()) == list(buckets.values()) and max(buckets.values()) == 2


def memory_scenario(server):
    c = server.client()
    c.execute("HELLO", "3")
    c.execute("SET", "s", "v")
    steps = [("usage missing", c.execute("MEMORY", "USAGE", "nokey")),
             ("usage int", isinstance(c.execute("MEMORY", "USAGE", "s"), int)),
             ("samples negative", c.execute("MEMORY", "USAGE", "s", "SAMPLES", "-1")),
             ("samples not int", c.execute("MEMORY", "USAGE", "s", "SAMPLES", "x")),
             ("samples missing", c.execute("MEMORY", "USAGE", "s", "SAMPLES")),
             ("bad option", c.execute("MEMORY", "USAGE", "s", "FOO", "1")),
             ("samples zero", isinstance(c.execute("MEMORY", "USAGE", "s", "SAMPLES", "0"), int)),
             ("arity", c.execute("MEMORY", "USAGE")),
             ("bad sub", c.execute("MEMORY", "FOO")),
             ("help", c.execute("MEMORY", "HELP")),
             ("latency help", c.execute("LATENCY", "HELP")),
             ("purge", c.execute("MEMORY", "PURGE")),
             ("doctor", isinstance(c.execute("MEMORY", "DOCTOR"), bytes)),
             ("malloc-stats", isinstance(c.execute("MEMORY", "MALLOC-STATS"), bytes))]
    stats = c.execute("MEMORY", "STATS")
    steps.append(("stats fields", list(stats.keys())))
    steps.append(("stats db.0", sorted(stats[b"db.0"].keys())))
    steps.append(("stats keys", stats[b"keys.count"]))
    c.close()
    return steps


def test_memory_as_redis():
    steps = dict(compare(memory_scenario))
    assert steps["usage missing"] is None and steps["usage int"] is True
    assert steps["samples negative"] == RespError("ERR syntax error")
    assert steps["stats keys"] == 1


def test_memory_usage_is_disk_bytes():
    """MEMORY USAGE is the space the key's tree takes: it grows with the key,
    SAMPLES 0 measures every file, and the default estimate (5 files per
    directory, the rest given their average) stays near it."""
    from dredis_test import Dredis
    with Dredis() as d:
        c = d.client()
        c.execute("SET", "s", "x")
        small = c.execute("MEMORY", "USAGE", "s")
        c.execute("SET", "s", "x" * 100000)
        big = c.execute("MEMORY", "USAGE", "s")
        assert small > 0 and big > small and big >= 100000
        c.execute("HSET", "h", *[a for i in range(200) for a in ("f%d" % i, "v" * 50)])
        exact = c.execute("MEMORY", "USAGE", "h", "SAMPLES", "0")
        estimate = c.execute("MEMORY", "USAGE", "h")
        assert exact > 200 * 50
        assert exact / 2 <= estimate <= exact * 2
        total = 0
        key_dirs = [os.path.join(d.db_dir(0), n) for n in os.listdir(d.db_dir(0)) if n.startswith("h")]
        assert len(key_dirs) == 1
        total += os.lstat(key_dirs[0]).st_blocks * 512
        for root, dirs, files in os.walk(key_dirs[0]):
            for n in dirs + files:
                total += os.lstat(os.path.join(root, n)).st_blocks * 512
        assert exact == total
        c.close()
