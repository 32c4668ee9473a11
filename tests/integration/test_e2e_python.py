"""End-to-end: Debian's redis-py (python3-redis), RQ (python3-rq) and Celery
(python3-celery) work against dredis unchanged. The client programs live in tests/e2e/python/ and
run under the interpreter that has Debian's packages (/usr/bin/python3, or
$DREDIS_E2E_PYTHON), which need not be the one running these tests;
scripts/deps.sh test installs the packages."""
import os
import subprocess

from dredis_test import Dredis
from e2e_support import E2E_DIR, require_streams, run_client

PYTHON = os.environ.get("DREDIS_E2E_PYTHON", "/usr/bin/python3")
HERE = os.path.join(E2E_DIR, "python")
# the Debian interpreter must not see another Python's settings
CLEAN_ENV = {"PYTHONHOME": None, "PYTHONPATH": None}


def require(modules, packages):
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    p = subprocess.run([PYTHON, "-c", "import " + ", ".join(modules)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env)
    if p.returncode != 0:
        raise AssertionError("%s cannot import %s (install Debian's %s: scripts/deps.sh test): %s"
                             % (PYTHON, ", ".join(modules), " ".join(packages),
                                p.stdout.decode(errors="replace").strip().splitlines()[-1:]))


def test_redis_py_smoke():
    require(["redis"], ["python3-redis"])
    with Dredis() as s:
        out = run_client([PYTHON, os.path.join(HERE, "redispy_smoke.py")], s, timeout=600, env=CLEAN_ENV)
    print("   " + " | ".join(l for l in out.splitlines() if l.startswith(("redis-py", "skip"))))


def test_rq_worker_500_jobs():
    require(["redis", "rq"], ["python3-redis", "python3-rq"])
    with Dredis() as s:
        require_streams(s, "RQ (results are kept in streams on servers reporting 5.0+)")
        out = run_client([PYTHON, os.path.join(HERE, "rq_e2e.py")], s, timeout=900,
                         env=dict(CLEAN_ENV, RQ_E2E_DEADLINE="600"))
    print("   " + " | ".join(l for l in out.splitlines() if l.startswith(("rq ", "settled"))))


def test_celery_worker_broker_and_backend():
    require(["redis", "celery", "kombu"], ["python3-redis", "python3-celery"])
    with Dredis() as s:
        out = run_client([PYTHON, os.path.join(HERE, "celery_e2e.py")], s, timeout=180, env=CLEAN_ENV)
    print("   " + " | ".join(l for l in out.splitlines() if l.startswith(("celery ", "sent ", "done "))))
