"""celery_tasks - the Celery app and tasks of the Celery end-to-end test
(celery_e2e.py). dredis on 127.0.0.1:$CELERY_E2E_PORT is both the broker and
the result backend; the `celery worker` processes import this module (it is
on their PYTHONPATH)."""
import os
import time

import redis
from celery import Celery

URL = "redis://127.0.0.1:%d/0" % int(os.environ["CELERY_E2E_PORT"])

app = Celery("celery_tasks", broker=URL, backend=URL)
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"],
    result_expires=600,
    worker_prefetch_multiplier=4,
    broker_transport_options={"visibility_timeout": 3600},
    worker_hijack_root_logger=False,
)

_conn = None


def conn():
    global _conn
    if _conn is None:
        _conn = redis.Redis.from_url(URL)
    return _conn


@app.task
def add(x, y):
    return x + y


@app.task
def tsum(values):
    return sum(values)


@app.task
def fail(i):
    raise ValueError("task %d fails on purpose" % i)


@app.task
def ran_at(i):
    """For countdown/eta tasks: when it ran, to compare with the eta."""
    return [i, time.time()]


@app.task(bind=True, max_retries=3)
def flaky(self, name, failures):
    """Fails the first `failures` attempts (counted in the server under
    celery-e2e:attempts:<name>), retrying after a countdown each time; the
    attempt that succeeds returns its number and Celery's retry count."""
    n = conn().incr("celery-e2e:attempts:" + name)
    if n <= failures:
        raise self.retry(countdown=0.2, exc=RuntimeError("%s: attempt %d fails" % (name, n)))
    return [n, self.request.retries]


@app.task
def record(i):
    """Leaves a mark in the server, to tell a task ran (or did not)."""
    conn().sadd("celery-e2e:ran", i)
    return i
