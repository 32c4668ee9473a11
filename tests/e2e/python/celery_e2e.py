"""celery_e2e.py PORT - Celery (Debian's python3-celery, with kombu's redis
transport) against a dredis-server on 127.0.0.1:PORT, which is both the
broker and the result backend: a real `celery worker` (prefork, 2 processes)
works off a few hundred tasks of several kinds - results read back with
.get() (the redis result backend waits on pub/sub), failures, retries,
countdown/eta tasks, priorities, a second queue, groups, chords (the
backend's chord counters), a chain, revocation, remote control (ping,
inspect) - and every outcome is checked. Then ETA tasks the worker holds
unacknowledged are given back to the queue when it is stopped (kombu's
`unacked` hash and `unacked_index` sorted set) and a second worker runs them.

Run with the interpreter that has Celery (/usr/bin/python3 on Debian).
Prints 'ALL OK' at the end; exits 1 on the first failed check, after
printing the workers' logs. Every wait is bounded."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
PORT = int(sys.argv[1])
os.environ["CELERY_E2E_PORT"] = str(PORT)

import celery  # noqa: E402
import kombu  # noqa: E402
import redis  # noqa: E402
from celery import chord, group  # noqa: E402
from celery.exceptions import TaskRevokedError  # noqa: E402
from celery.result import GroupResult, ResultSet  # noqa: E402

import celery_tasks as T  # noqa: E402

TIMEOUT = 30  # for one .get()
LOGDIR = tempfile.mkdtemp(prefix="celery-e2e-")
workers = []


def eq(a, b, what=""):
    assert a == b, "%s: %r != %r" % (what, a, b)


def wait_until(cond, what, timeout=15):
    deadline = time.time() + timeout
    while not cond():
        assert time.time() < deadline, "timed out: " + what
        time.sleep(0.05)


def raises(exc_type, fn, what):
    try:
        fn()
    except exc_type as e:
        return e
    raise AssertionError("%s: %s not raised" % (what, exc_type.__name__))


class Worker:
    """A `celery worker` process, stopped by pid."""

    def __init__(self, name, queues="celery,other"):
        self.name = name
        self.hostname = name + "@e2e"
        self.logpath = os.path.join(LOGDIR, name + ".log")
        self.log = open(self.logpath, "wb")
        env = dict(os.environ, PYTHONPATH=HERE, CELERY_E2E_PORT=str(PORT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_tasks", "worker", "-P", "prefork", "-c", "2",
             "-n", self.hostname, "-Q", queues, "-l", "info", "-E"],
            cwd=LOGDIR, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        workers.append(self)

    def wait_ready(self, timeout=30):
        """Until the worker answers a remote-control ping (a broadcast over
        pub/sub, the reply through a list)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            assert self.proc.poll() is None, "%s exited with %s" % (self.name, self.proc.returncode)
            replies = T.app.control.ping(destination=[self.hostname], timeout=0.5)
            if replies:
                eq(replies, [{self.hostname: {"ok": "pong"}}], "ping reply")
                return
        raise AssertionError("%s did not answer a ping within %ds" % (self.name, timeout))

    def stop(self, timeout=30):
        """SIGTERM (Celery's warm shutdown), then wait; its exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError("%s did not stop within %ds of SIGTERM" % (self.name, timeout))
        self.log.close()
        return self.proc.returncode


def check_one_at_a_time():
    """Send, then wait for the result: .get() subscribed to the task's
    channel when the task was sent and returns on the published result."""
    for i in range(40):
        eq(T.add.delay(i, 1).get(timeout=TIMEOUT), i + 1, "add %d, sent and awaited" % i)
    e = raises(ValueError, lambda: T.fail.delay(-1).get(timeout=TIMEOUT), "a failing task")
    eq(str(e), "task -1 fails on purpose")
    print("ok 41 tasks sent and awaited one at a time with .get()", flush=True)


def check_results(conn):
    """Several hundred tasks sent at once, waited for together (a ResultSet:
    one wait for the lot, as a caller of many tasks would do; a .get() on
    each of many finished tasks would pause Celery's result consumer a
    second each once it has nothing left to listen to), then every result
    checked on its own."""
    t0 = time.time()
    adds = [(i, T.add.delay(i, i)) for i in range(200)]
    fails = [(i, T.fail.delay(i)) for i in range(30)]
    retry_ok = [(i, T.flaky.delay("ok%d" % i, 2)) for i in range(20)]
    retry_out = [(i, T.flaky.delay("out%d" % i, 10)) for i in range(5)]
    eta_at = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    countdown_from = time.time()
    countdowns = [(i, T.ran_at.apply_async((i,), countdown=1)) for i in range(20)]
    etas = [(i, T.ran_at.apply_async((i,), eta=eta_at)) for i in range(10)]
    prio = [(i, T.add.apply_async((i, 1000), priority=[0, 3, 6, 9][i % 4])) for i in range(20)]
    other = [(i, T.add.apply_async((i, 2000), queue="other")) for i in range(20)]
    everything = adds + fails + retry_ok + retry_out + countdowns + etas + prio + other
    print("sent %d tasks" % len(everything), flush=True)
    values = ResultSet([r for _, r in everything]).get(timeout=60, propagate=False)
    eq(len(values), len(everything))
    print("all %d finished (%.1fs)" % (len(everything), time.time() - t0), flush=True)

    for i, r in adds:
        eq(r.get(timeout=TIMEOUT), 2 * i, "add %d" % i)
        eq(r.state, "SUCCESS")
    for i, r in prio:
        eq(r.get(timeout=TIMEOUT), i + 1000, "priority task %d" % i)
    for i, r in other:
        eq(r.get(timeout=TIMEOUT), i + 2000, "task %d on queue other" % i)
    print("ok 240 results (200 plain, 20 with priorities, 20 on a second queue)", flush=True)
    for i, r in fails:
        e = raises(ValueError, lambda: r.get(timeout=TIMEOUT), "fail %d" % i)
        eq(str(e), "task %d fails on purpose" % i)
        eq(r.state, "FAILURE")
        assert "ValueError" in (r.traceback or ""), r.traceback
        eq(r.get(timeout=TIMEOUT, propagate=False).__class__, ValueError)
    print("ok 30 failures: the exception reaches the caller", flush=True)
    for i, r in retry_ok:
        eq(r.get(timeout=TIMEOUT), [3, 2], "retried task %d: attempt, retries" % i)
        eq(conn.get("celery-e2e:attempts:ok%d" % i), b"3")
    for i, r in retry_out:
        e = raises(RuntimeError, lambda: r.get(timeout=TIMEOUT), "task %d out of retries" % i)
        eq(str(e), "out%d: attempt 4 fails" % i, "the last attempt's exception")
        eq(conn.get("celery-e2e:attempts:out%d" % i), b"4", "1 attempt + max_retries=3")
    print("ok 25 tasks retried with self.retry(countdown=0.2): 20 succeed on the 3rd attempt, "
          "5 run out of retries", flush=True)
    for i, r in countdowns:
        got_i, at = r.get(timeout=TIMEOUT)
        eq(got_i, i)
        assert at >= countdown_from + 1 - 0.05, "countdown task %d ran %.3fs early" % (i, countdown_from + 1 - at)
    for i, r in etas:
        got_i, at = r.get(timeout=TIMEOUT)
        eq(got_i, i)
        assert at >= eta_at.timestamp() - 0.05, "eta task %d ran %.3fs early" % (i, eta_at.timestamp() - at)
    print("ok 30 countdown/eta tasks ran when due", flush=True)


def check_canvas(conn):
    g = group(T.add.s(i, i) for i in range(30)).apply_async()
    eq(g.get(timeout=TIMEOUT), [2 * i for i in range(30)], "group")
    g.save()
    restored = GroupResult.restore(g.id, app=T.app)
    eq([r.id for r in restored.results], [r.id for r in g.results], "saved group restored")
    eq(restored.completed_count(), 30)
    c = chord(T.add.s(i, i) for i in range(40))(T.tsum.s())
    eq(c.get(timeout=TIMEOUT), sum(2 * i for i in range(40)), "chord")
    c2 = chord([T.add.s(1, 1), T.fail.s(77)])(T.tsum.s())
    e = raises(Exception, lambda: c2.get(timeout=TIMEOUT), "chord with a failing header task")
    assert "task 77 fails on purpose" in str(e), repr(e)
    ch = (T.add.s(1, 1) | T.add.s(10) | T.add.s(100)).apply_async()
    eq(ch.get(timeout=TIMEOUT), 112, "chain")
    eq(ch.parent.get(timeout=TIMEOUT), 12)
    print("ok a group of 30 (saved and restored), a chord of 40, a chord whose header fails, a chain",
          flush=True)


def check_revoke_and_forget(conn, w):
    r = T.record.apply_async((999,), countdown=1.5)
    T.app.control.revoke(r.id)
    raises(TaskRevokedError, lambda: r.get(timeout=TIMEOUT), "revoked task")
    eq(r.state, "REVOKED")
    eq(conn.sismember("celery-e2e:ran", 999), False, "a revoked task does not run")
    ok = T.record.apply_async((1000,), countdown=0.2)
    eq(ok.get(timeout=TIMEOUT), 1000)
    eq(conn.sismember("celery-e2e:ran", 1000), True)
    ok.forget()
    eq(T.app.AsyncResult(ok.id).state, "PENDING", "a forgotten result")
    stats = T.app.control.inspect(destination=[w.hostname], timeout=2).active_queues()
    eq(sorted(q["name"] for q in stats[w.hostname]), ["celery", "other"], "inspect active_queues")
    print("ok revoke, forget, inspect", flush=True)


def check_unacked_restored(conn, w1):
    """ETA tasks a worker has taken wait in kombu's unacked hash; a worker
    stopped with SIGTERM gives them back to the queue; the next one runs
    them when they are due."""
    eta_at = datetime.now(timezone.utc) + timedelta(seconds=4)
    held = [(i, T.ran_at.apply_async((i,), eta=eta_at)) for i in range(12)]
    wait_until(lambda: conn.hlen("unacked") >= 12 and conn.llen("celery") == 0,
               "the worker took the 12 ETA tasks")
    eq(conn.hlen("unacked"), 12, "ETA tasks held by the worker, unacknowledged")
    eq(conn.zcard("unacked_index"), 12)
    eq(conn.llen("celery"), 0)
    eq(w1.stop(), 0, "worker 1 exit code")
    eq(conn.hlen("unacked"), 0, "unacked messages restored when the worker stopped")
    eq(conn.zcard("unacked_index"), 0)
    eq(conn.llen("celery"), 12, "restored to the queue")
    w2 = Worker("w2")
    w2.wait_ready()
    ResultSet([r for _, r in held]).get(timeout=TIMEOUT)
    for i, r in held:
        got_i, at = r.get(timeout=TIMEOUT)
        eq(got_i, i)
        assert at >= eta_at.timestamp() - 0.05, "restored eta task %d ran early" % i
    # the worker acknowledges (HDEL/ZREM) in its main process, when the task
    # starts: possibly a moment after the result was published
    wait_until(lambda: conn.hlen("unacked") == 0 and conn.zcard("unacked_index") == 0,
               "the second worker acknowledged the restored tasks")
    eq(conn.llen("celery"), 0)
    print("ok 12 unacknowledged ETA tasks given back by a stopped worker and run by the next", flush=True)
    return w2


def main():
    start = time.time()
    print("celery %s, kombu %s, redis-py %s" % (celery.__version__, kombu.__version__, redis.__version__))
    conn = redis.Redis.from_url(T.URL)
    conn.flushall()
    w1 = Worker("w1")
    w1.wait_ready()
    print("worker 1 ready (%.1fs)" % (time.time() - start), flush=True)
    check_one_at_a_time()
    check_results(conn)
    check_canvas(conn)
    check_revoke_and_forget(conn, w1)
    w2 = check_unacked_restored(conn, w1)
    eq(w2.stop(), 0, "worker 2 exit code")
    for w in workers:
        with open(w.logpath, errors="replace") as f:
            log = f.read()
        for bad in ("CRITICAL", "Unrecoverable error", "ResponseError", "consumer: Cannot connect"):
            assert bad not in log, "%s's log has %r:\n%s" % (w.name, bad, log[-3000:])
    shutil.rmtree(LOGDIR, ignore_errors=True)
    print("done in %.1fs" % (time.time() - start))
    print("ALL OK")
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except Exception:
        traceback.print_exc()
        for w in workers:
            if w.proc.poll() is None:
                os.kill(w.proc.pid, signal.SIGKILL)
                w.proc.wait()
            with open(w.logpath, errors="replace") as f:
                print("==== %s log (tail)\n%s" % (w.name, f.read()[-4000:]))
        code = 1
    sys.exit(code)
