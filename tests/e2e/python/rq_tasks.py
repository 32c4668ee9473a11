"""rq_tasks - the job functions the RQ end-to-end test enqueues; the
`rq worker` processes import this module (it is on their PYTHONPATH)."""
import time

from rq import get_current_job


def add(a, b):
    return a + b


def fail(i):
    raise ValueError("job %d fails on purpose" % i)


def flaky(name, failures):
    """Fails the first `failures` times it runs (counted in the server under
    rq-e2e:attempts:<name>), then returns the number of the attempt."""
    job = get_current_job()
    n = job.connection.incr("rq-e2e:attempts:%s" % name)
    if n <= failures:
        raise RuntimeError("%s: attempt %d fails" % (name, n))
    return n


def sum_dependencies():
    """Adds up the return values of the jobs this job depends on."""
    job = get_current_job()
    total = 0
    for dep in job.fetch_dependencies():
        total += dep.return_value()
    return total


def record_meta(i):
    job = get_current_job()
    job.meta["progress"] = "half"
    job.save_meta()
    return {"i": i, "progress": job.meta["progress"], "list": [1, 2.5, None, "x"]}


def sleep_for(seconds):
    time.sleep(seconds)
    return "slept"
