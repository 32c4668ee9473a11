"""crash_torture - kill dredis-server with SIGKILL at random instants while a
client runs multi-key writes with checkable invariants, restart it on the
same ROOT_DIR, and check that every invariant holds and that every write
acknowledged before the kill is there.

Used by tests/integration/test_durability.py (a bounded number of kills), by
scripts/crash-torture (as many kills as asked) and by
scripts/power-loss-torture (Workload and check against a server in a virtual
machine, over any host:port). Run as a script:
    python3 crash_torture.py KILLS [SEED]
prints the number of violations (must be 0)."""
import os
import random
import signal
import sys
import threading
import time

from dredis_test import ConnectionClosed, Dredis, RespError

BATCH = 8  # members per SADD/HSET/LPUSH batch, keys per MSET


class Workload:
    """The client side. Generations only grow; `acked` keeps, per kind of
    write, the last generation the server acknowledged."""

    def __init__(self, rng):
        self.rng = rng
        self.gen = 0
        self.acked = {}
        self.rename_at = None  # the r:N key that must exist (last acked)
        self.errors = []       # error replies (each is a violation too)
        # every write attempted, as [gen, kind, time acknowledged or None,
        # target key of a DEL or None] (scripts/power-loss-torture reads it)
        self.history = []

    def step(self, c):
        self.gen += 1
        g = str(self.gen)
        kind = self.rng.choice(["mset", "sadd", "hset", "lpush", "rename", "multi", "del"])
        entry = [self.gen, kind, None, None]
        self.history.append(entry)
        if kind == "mset":
            args = ["MSET"]
            for i in range(BATCH):
                args += ["m:%d" % i, g]
            ok = c.execute(*args) == "OK"
        elif kind == "sadd":
            ok = c.execute("SADD", "s:" + g, *["m%d" % i for i in range(BATCH)]) == BATCH
        elif kind == "hset":
            args = ["HSET", "h:" + g]
            for i in range(BATCH):
                args += ["f%d" % i, g]
            ok = c.execute(*args) == BATCH
        elif kind == "lpush":
            ok = isinstance(c.execute("LPUSH", "l", *[g] * BATCH), int)
        elif kind == "rename":
            src = self.rename_at
            if src is None:
                ok = c.execute("SET", "r:" + g, g) == "OK"
            else:
                ok = c.execute("RENAME", src, "r:" + g) == "OK"
            if ok:
                self.rename_at = "r:" + g
        elif kind == "multi":
            c.send("MULTI")
            c.send("INCR", "ta")
            c.send("SADD", "tset", g)
            c.send("INCR", "tb")
            c.send("EXEC")
            replies = [c.read_reply() for _ in range(5)]
            ok = isinstance(replies[-1], list) and not any(isinstance(r, RespError) for r in replies[-1])
            if isinstance(replies[-1], list) and not ok:
                self.errors.append("EXEC replied %r" % (replies[-1],))
        else:  # delete a whole batch key
            entry[3] = "s:" + str(self.rng.randint(1, self.gen))
            ok = isinstance(c.execute("DEL", entry[3]), int)
        if ok:
            self.acked[kind] = self.gen
            entry[2] = time.time()
        return ok


def check(c, w):
    """Returns a list of violation descriptions."""
    bad = []
    vals = c.execute("MGET", *["m:%d" % i for i in range(BATCH)])
    if len(set(vals)) != 1:
        bad.append("MSET torn: %r" % (vals,))
    elif "mset" in w.acked and (vals[0] is None or int(vals[0]) < w.acked["mset"]):
        bad.append("acknowledged MSET %d lost (have %r)" % (w.acked["mset"], vals[0]))
    cursor = b"0"
    keys = []
    while True:
        cursor, batch = c.execute("SCAN", cursor, "COUNT", "1000")
        keys += batch
        if cursor == b"0":
            break
    for k in keys:
        if k.startswith(b"s:"):
            n = c.execute("SCARD", k)
            members = c.execute("SMEMBERS", k)
            if n != BATCH or len(members) != BATCH:
                bad.append("SADD batch %r torn: SCARD %r, %d members" % (k, n, len(members)))
        elif k.startswith(b"h:"):
            n = c.execute("HLEN", k)
            fields = c.execute("HGETALL", k)
            if n != BATCH or len(fields) != 2 * BATCH:
                bad.append("HSET batch %r torn: HLEN %r, %d fields" % (k, n, len(fields) // 2))
    if "sadd" in w.acked and b"s:%d" % w.acked["sadd"] not in keys:
        # a later DEL may have removed it only if a DEL was acked after it
        if w.acked.get("del", 0) < w.acked["sadd"]:
            bad.append("acknowledged SADD s:%d lost" % w.acked["sadd"])
    if "hset" in w.acked and b"h:%d" % w.acked["hset"] not in keys:
        bad.append("acknowledged HSET h:%d lost" % w.acked["hset"])
    items = c.execute("LRANGE", "l", "0", "-1")
    if len(items) % BATCH != 0:
        bad.append("LPUSH batch torn: LLEN %d" % len(items))
    else:
        for i in range(0, len(items), BATCH):
            if len(set(items[i:i + BATCH])) != 1:
                bad.append("LPUSH batch interleaved at %d" % i)
                break
    if "lpush" in w.acked and str(w.acked["lpush"]).encode() not in items:
        bad.append("acknowledged LPUSH %d lost" % w.acked["lpush"])
    rkeys = [k for k in keys if k.startswith(b"r:")]
    if len(rkeys) > 1:
        bad.append("RENAME chain split: %r" % rkeys)
    elif w.rename_at is not None:
        if not rkeys:
            bad.append("RENAME chain lost its key (last acked %s)" % w.rename_at)
        else:
            # the acked name, or a later one whose RENAME was not acked
            if int(rkeys[0][2:]) < int(w.rename_at[2:]):
                bad.append("acknowledged RENAME to %s lost (have %r)" % (w.rename_at, rkeys[0]))
            w.rename_at = rkeys[0].decode()
    ta, tb = c.execute("GET", "ta"), c.execute("GET", "tb")
    if ta != tb:
        bad.append("MULTI/EXEC torn: ta=%r tb=%r" % (ta, tb))
    return bad


def write_until_cut(w, c, cut):
    """Run w's steps on c until the connection breaks, which the timer cut
    (a threading.Timer: a kill, a power cut) brings about; then close c."""
    cut.start()
    try:
        while True:
            w.step(c)
    except (ConnectionClosed, OSError):
        pass
    cut.join()
    c.close()


def decode_journal(data):
    """The records of a journal file, as (type, fields) tuples."""
    out, pos = [], 0
    while pos < len(data):
        t = chr(data[pos])
        pos += 1
        fields = []
        for _ in range(4):
            n = data[pos] | data[pos + 1] << 8
            fields.append(data[pos + 2:pos + 2 + n].decode("utf-8", "replace"))
            pos += 2 + n
        pos += 4
        out.append((t, [f for f in fields if f]))
    return out


def run(kills, seed=None, env=None, log=None):
    rng = random.Random(seed)
    w = Workload(rng)
    violations = []
    server = Dredis(env=env)
    try:
        for n in range(kills):
            c = server.client(timeout=10)
            deadline = time.time() + rng.uniform(0.05, 0.4)
            write_until_cut(w, c, threading.Timer(max(0.0, deadline - time.time()),
                                                  lambda: os.kill(server.proc.pid, signal.SIGKILL)))
            server.proc.wait()
            with open(os.path.join(server.root_dir, ".journal"), "rb") as f:
                journal = f.read()
            server.start()  # same ROOT_DIR: recovery runs
            with server.client() as cc:
                bad = check(cc, w)
            if bad and log:
                log("kill %d: %s" % (n + 1, "; ".join(bad)))
                log("journal before recovery: %r" % (decode_journal(journal)[-40:],))
                log("server log: %s" % server.output()[-3000:])
            violations += bad
    finally:
        server.stop()
        server.cleanup()
    return violations, w.gen


if __name__ == "__main__":
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else None
    t0 = time.time()
    v, gens = run(kills, seed, log=lambda s: print(s, flush=True))
    print("kills: %d, writes attempted: %d, time: %.1fs" % (kills, gens, time.time() - t0))
    print("violations: %d" % len(v))
    sys.exit(1 if v else 0)
