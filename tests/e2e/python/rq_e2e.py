"""rq_e2e.py PORT - RQ (Debian's python3-rq) against a dredis-server on
127.0.0.1:PORT: 500 jobs of several kinds are enqueued, real `rq worker`
processes (burst mode, with the scheduler) work them off, and every job's
outcome, result and the registries are checked; then a long-running worker
is woken by new jobs and stopped by RQ's shutdown command.

Run with the interpreter that has RQ (/usr/bin/python3 on Debian); the
`rq` command is taken from beside that interpreter. Prints 'ALL OK' at the
end; exits 1 on the first failed check. Waits are bounded (workers are run
in rounds until every job has settled or a deadline passes), and no check
depends on timing."""
import os
import shutil
import subprocess
import sys
import time
import traceback
from datetime import timedelta

import redis
import rq
from rq import Queue, Retry, Worker
from rq.job import Dependency, Job, JobStatus
from rq.registry import DeferredJobRegistry, FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry
from rq.results import Result

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rq_tasks  # noqa: E402

PORT = int(sys.argv[1])
URL = "redis://127.0.0.1:%d/0" % PORT
DEADLINE = float(os.environ.get("RQ_E2E_DEADLINE", "600"))
WORKERS = 2
RQ = os.path.join(os.path.dirname(os.path.realpath(sys.executable)), "rq")
if not os.path.exists(RQ):
    RQ = "/usr/bin/rq"


def eq(a, b, what=""):
    assert a == b, "%s: %r != %r" % (what, a, b)


def enqueue_all(conn):
    default = Queue("default", connection=conn)
    high = Queue("high", connection=conn)
    jobs = {k: [] for k in ("add", "add_high", "fail", "retry_ok", "retry_exhausted", "dep_parent",
                            "dep_child", "failing_parent", "deferred_child", "allow_failure_child",
                            "meta", "timeout", "retry_interval", "scheduled")}
    for i in range(233):
        jobs["add"].append((i, default.enqueue(rq_tasks.add, i, i)))
    for i in range(50):
        jobs["add_high"].append((i, high.enqueue(rq_tasks.add, i, 1000, at_front=(i % 2 == 0))))
    for i in range(50):
        jobs["fail"].append((i, default.enqueue(rq_tasks.fail, i)))
    for i in range(20):
        jobs["retry_ok"].append((i, default.enqueue(rq_tasks.flaky, "ok%d" % i, 2, retry=Retry(max=3))))
    for i in range(20):
        jobs["retry_exhausted"].append(
            (i, default.enqueue(rq_tasks.flaky, "ex%d" % i, 5, retry=Retry(max=2))))
    for i in range(20):
        a = default.enqueue(rq_tasks.add, i, 1)
        b = high.enqueue(rq_tasks.add, i, 2)
        jobs["dep_parent"] += [(i, a), (i, b)]
        jobs["dep_child"].append((i, default.enqueue(rq_tasks.sum_dependencies, depends_on=[a, b])))
    for i in range(10):
        p = default.enqueue(rq_tasks.fail, 1000 + i)
        jobs["failing_parent"].append((i, p))
        jobs["deferred_child"].append((i, default.enqueue(rq_tasks.add, 1, 1, depends_on=p)))
        jobs["allow_failure_child"].append(
            (i, default.enqueue(rq_tasks.add, i, 7, depends_on=Dependency(jobs=[p], allow_failure=True))))
    for i in range(20):
        jobs["meta"].append((i, default.enqueue(rq_tasks.record_meta, i)))
    for i in range(2):
        jobs["timeout"].append((i, default.enqueue(rq_tasks.sleep_for, 120, job_timeout=1)))
    for i in range(10):
        jobs["retry_interval"].append(
            (i, default.enqueue(rq_tasks.flaky, "iv%d" % i, 1, retry=Retry(max=2, interval=1))))
    for i in range(5):
        jobs["scheduled"].append((i, default.enqueue_in(timedelta(seconds=1), rq_tasks.add, i, 100)))
    total = sum(len(v) for v in jobs.values())
    eq(total, 500, "jobs enqueued")
    return default, high, jobs


def settled(conn, queues, expect_finished, expect_failed, expect_deferred):
    fin = sum(FinishedJobRegistry(queue=q).count for q in queues)
    failed = sum(FailedJobRegistry(queue=q).count for q in queues)
    deferred = sum(DeferredJobRegistry(queue=q).count for q in queues)
    scheduled = sum(ScheduledJobRegistry(queue=q).count for q in queues)
    waiting = sum(q.count for q in queues)
    state = dict(finished=fin, failed=failed, deferred=deferred, scheduled=scheduled, queued=waiting)
    done = (fin, failed, deferred, scheduled, waiting) == (expect_finished, expect_failed, expect_deferred, 0, 0)
    return done, state


def run_workers(round_no, logdir):
    """One round: WORKERS `rq worker --burst` processes side by side, each
    stopping once the queues are empty. Returns their exit codes."""
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    procs = []
    for w in range(WORKERS):
        log = open(os.path.join(logdir, "worker-%d-%d.log" % (round_no, w)), "wb")
        procs.append((subprocess.Popen(
            [sys.executable, RQ, "worker", "--burst", "--with-scheduler", "--url", URL,
             "--name", "e2e-%d-%d" % (round_no, w), "--path", HERE, "high", "default"],
            cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    codes = []
    for p, log in procs:
        try:
            codes.append(p.wait(timeout=DEADLINE))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
        log.close()
    return codes


def check_jobs(conn, jobs):
    def fetch(job):
        return Job.fetch(job.id, connection=conn)

    for i, j in jobs["add"]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FINISHED, "add %d status" % i)
        eq(j.return_value(), 2 * i, "add %d return value" % i)
        eq(j.result, 2 * i, "add %d result" % i)
        r = j.latest_result()
        eq(r.type, Result.Type.SUCCESSFUL, "add %d latest result type" % i)
        eq(r.return_value, 2 * i)
    for i, j in jobs["add_high"]:
        j = fetch(j)
        eq((j.get_status(), j.return_value(), j.origin), (JobStatus.FINISHED, i + 1000, "high"), "high %d" % i)
    for i, j in jobs["fail"] + [(1000 + k, p) for k, p in jobs["failing_parent"]]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FAILED, "fail %d status" % i)
        assert "ValueError: job %d fails on purpose" % i in j.exc_info, j.exc_info
        r = j.latest_result()
        eq(r.type, Result.Type.FAILED, "fail %d result type" % i)
        assert "ValueError" in r.exc_string, r.exc_string
    for i, j in jobs["retry_ok"]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FINISHED, "retry_ok %d" % i)
        eq(j.return_value(), 3, "retry_ok %d: the third attempt succeeds" % i)
        eq(conn.get("rq-e2e:attempts:ok%d" % i), b"3")
        eq(j.retries_left, 1, "retry_ok %d retries left" % i)
        types = [r.type for r in j.results()]
        eq(types.count(Result.Type.SUCCESSFUL), 1, "retry_ok %d results %r" % (i, types))
    for i, j in jobs["retry_exhausted"]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FAILED, "retry_exhausted %d" % i)
        eq(conn.get("rq-e2e:attempts:ex%d" % i), b"3", "retry_exhausted %d: 1 + 2 retries" % i)
        assert "RuntimeError: ex%d: attempt 3 fails" % i in j.exc_info, j.exc_info
    for i, j in jobs["dep_parent"]:
        eq(fetch(j).get_status(), JobStatus.FINISHED, "dependency parent %d" % i)
    for i, j in jobs["dep_child"]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FINISHED, "dependent job %d" % i)
        eq(j.return_value(), (i + 1) + (i + 2), "dependent job %d sums its dependencies" % i)
    for i, j in jobs["deferred_child"]:
        eq(fetch(j).get_status(), JobStatus.DEFERRED, "child of a failed job %d stays deferred" % i)
    for i, j in jobs["allow_failure_child"]:
        j = fetch(j)
        eq((j.get_status(), j.return_value()), (JobStatus.FINISHED, i + 7), "allow_failure child %d" % i)
    for i, j in jobs["meta"]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FINISHED, "meta %d" % i)
        eq(j.meta, {"progress": "half"}, "meta %d" % i)
        eq(j.return_value(), {"i": i, "progress": "half", "list": [1, 2.5, None, "x"]})
    for i, j in jobs["timeout"]:
        j = fetch(j)
        eq(j.get_status(), JobStatus.FAILED, "timed out job %d" % i)
        assert "JobTimeoutException" in j.exc_info, j.exc_info
    for i, j in jobs["retry_interval"]:
        j = fetch(j)
        eq((j.get_status(), j.return_value()), (JobStatus.FINISHED, 2), "retry with interval %d" % i)
    for i, j in jobs["scheduled"]:
        j = fetch(j)
        eq((j.get_status(), j.return_value()), (JobStatus.FINISHED, i + 100), "enqueue_in %d" % i)


def long_running_worker(conn, queue, logdir):
    """A worker as deployed: not burst, blocked in BLPOP on the empty queues
    when jobs arrive; stopped by RQ's shutdown command (pub/sub)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    log = open(os.path.join(logdir, "worker-long.log"), "wb")
    p = subprocess.Popen([sys.executable, RQ, "worker", "--url", URL, "--name", "e2e-long", "--path", HERE,
                          "high", "default"], cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + DEADLINE
        def idle():
            w = Worker.find_by_key("rq:worker:e2e-long", connection=conn)
            return w is not None and w.get_state() == "idle"
        while not idle() and time.time() < deadline:
            assert p.poll() is None, "the worker exited early"
            time.sleep(0.05)
        assert idle(), "the worker did not start"
        # it blocks in BLPOP; each job wakes it
        jobs = [queue.enqueue(rq_tasks.add, i, 1) for i in range(20)]
        while time.time() < deadline and not all(j.get_status() == JobStatus.FINISHED for j in jobs):
            time.sleep(0.05)
        eq([j.return_value() for j in jobs], [i + 1 for i in range(20)], "jobs run by the long-running worker")
        from rq.command import send_shutdown_command
        send_shutdown_command(conn, "e2e-long")
        code = p.wait(timeout=DEADLINE)
        eq(code, 0, "the worker's exit status after a shutdown command")
        eq([w.name for w in Worker.all(connection=conn)], [], "the worker unregistered")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        log.close()


def main():
    import tempfile
    print("rq %s, redis-py %s" % (rq.__version__, redis.__version__))
    conn = redis.Redis.from_url(URL)
    conn.flushall()
    default, high, jobs = enqueue_all(conn)
    print("enqueued 500 jobs", flush=True)
    finished = sum(len(jobs[k]) for k in ("add", "add_high", "retry_ok", "dep_parent", "dep_child",
                                          "allow_failure_child", "meta", "retry_interval", "scheduled"))
    failed = sum(len(jobs[k]) for k in ("fail", "retry_exhausted", "failing_parent", "timeout"))
    deferred = len(jobs["deferred_child"])
    eq(finished + failed + deferred, 500)
    logdir = tempfile.mkdtemp(prefix="rq-e2e-")
    start = time.time()
    rounds = 0
    done, state = False, {}
    while time.time() - start < DEADLINE:
        rounds += 1
        codes = run_workers(rounds, logdir)
        done, state = settled(conn, [default, high], finished, failed, deferred)
        print("round %d: worker exit codes %s, %s" % (rounds, codes, state), flush=True)
        assert all(c == 0 for c in codes), "a worker failed; logs in %s" % logdir
        if done:
            break
        time.sleep(0.5)  # scheduled jobs and retries with an interval come due
    if not done:
        for name in sorted(os.listdir(logdir)):
            with open(os.path.join(logdir, name), errors="replace") as f:
                print("==== %s\n%s" % (name, f.read()[-3000:]))
        raise AssertionError("jobs did not settle within %ds: %s, want finished=%d failed=%d deferred=%d"
                             % (DEADLINE, state, finished, failed, deferred))
    print("settled in %d worker rounds (%.1fs): %s" % (rounds, time.time() - start, state), flush=True)
    check_jobs(conn, jobs)
    print("ok every job's status, result and exception", flush=True)
    eq(Worker.all(connection=conn), [], "burst workers unregister themselves")
    eq(default.count + high.count, 0)
    # a failed job can be requeued and then succeeds or fails again
    registry = FailedJobRegistry(queue=default)
    some = [j for _, j in jobs["retry_exhausted"]][:3]
    for j in some:
        conn.set("rq-e2e:attempts:ex%d" % [k for k, x in jobs["retry_exhausted"] if x.id == j.id][0], 10)
        registry.requeue(j.id)
    eq(default.count, 3, "requeued jobs are queued")
    codes = run_workers(rounds + 1, logdir)
    assert all(c == 0 for c in codes), codes
    for j in some:
        j = Job.fetch(j.id, connection=conn)
        eq(j.get_status(), JobStatus.FINISHED, "requeued job")
        eq(j.return_value(), 11)
    print("ok requeue from the failed registry", flush=True)
    long_running_worker(conn, default, logdir)
    print("ok a long-running worker: woken from BLPOP, stopped by a shutdown command", flush=True)
    shutil.rmtree(logdir, ignore_errors=True)
    print("ALL OK")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc(file=sys.stdout)
        sys.exit(1)
