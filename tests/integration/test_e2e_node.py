"""End-to-end: Node.js clients and job queues work against dredis unchanged:
ioredis and node-redis (v4), Bull (v4) and BullMQ (v5). The programs live in
tests/e2e/node/ with a pinned package.json and package-lock.json; their
node_modules is installed there from the npm registry (see node_modules())
when it is missing or does not match the lock file. Needs node and npm on
PATH (scripts/deps.sh test installs Debian's when there are none)."""
import fcntl
import hashlib
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from dredis_test import Dredis
from e2e_support import E2E_DIR, require_streams, run_client, tail

NODE_DIR = os.path.join(E2E_DIR, "node")
STAMP = os.path.join(NODE_DIR, "node_modules", ".dredis-installed")
DEADLINE_MS = "240000"  # how long a queue program waits for its jobs to settle
_ready = []
_failed = []


def node_modules():
    """Install node_modules unless it already matches the lock file."""
    if _ready:
        return
    if _failed:
        raise AssertionError(_failed[0])
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise AssertionError("node and npm are required (scripts/deps.sh test installs them)")
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(NODE_DIR, name), "rb") as f:
            h.update(f.read())
    want = h.hexdigest()
    lockpath = os.path.join(tempfile.gettempdir(),
                            "dredis-npm-%s.lock" % hashlib.sha256(NODE_DIR.encode()).hexdigest()[:16])
    with open(lockpath, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time per tree
        try:
            with open(STAMP) as f:
                have = f.read().strip()
        except OSError:
            have = None
        if have == want:
            _ready.append(True)
            return
        # `npm ci` installs exactly the lock file. npm 11 refuses a lock that
        # lacks other platforms' optional binaries (msgpackr-extract's darwin
        # and win32 packages, which a filtered registry mirror does not serve,
        # so npm leaves them out of the lock); then `npm install --no-save`
        # installs the same locked versions and leaves the lock file as it is.
        log = []
        for args in (["ci"], ["install", "--no-save"]):
            p = subprocess.run([npm] + args + ["--ignore-scripts", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
            log.append("$ npm %s\n%s" % (" ".join(args), "\n".join(
                p.stdout.decode(errors="replace").splitlines()[:15])))
            if p.returncode == 0:
                break
        else:
            _failed.append("npm could not install %s:\n%s" % (NODE_DIR, "\n".join(log)))
            raise AssertionError(_failed[0])
        with open(STAMP, "w") as f:
            f.write(want + "\n")
    _ready.append(True)


def run_node(script, server, timeout=600):
    out = run_client(["node", os.path.join(NODE_DIR, script)], server, timeout=timeout, cwd=NODE_DIR,
                     env={"NODE_E2E_DEADLINE_MS": DEADLINE_MS})
    notes = [l.strip() for l in out.splitlines() if l.startswith(("skip", "   "))]
    if notes:
        print("   " + " | ".join(notes))
    return out


def test_ioredis_and_node_redis():
    node_modules()
    with Dredis() as s:
        run_node("clients.js", s)


def test_bull_queue():
    node_modules()
    with Dredis() as s:
        run_node("bull.js", s)


def test_bullmq_queue():
    node_modules()
    with Dredis() as s:
        require_streams(s, "BullMQ (its events are a stream)")
        run_node("bullmq.js", s)


def test_bullmq_survives_server_crash():
    """BullMQ workers keep going across a SIGKILL of dredis-server and a
    restart on the same port and ROOT_DIR: every job added before the crash
    is completed after it (bullmq_restart.js)."""
    node_modules()
    with Dredis() as s:
        require_streams(s, "BullMQ (its events are a stream)")
        p = subprocess.Popen(["node", os.path.join(NODE_DIR, "bullmq_restart.js"), str(s.port)], cwd=NODE_DIR,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=dict(os.environ, NODE_E2E_DEADLINE_MS=DEADLINE_MS))
        lines = queue.Queue()
        out = []

        def pump():
            for raw in p.stdout:
                lines.put(raw.decode("utf-8", "replace"))
            lines.put(None)
        threading.Thread(target=pump, daemon=True).start()
        deadline = time.time() + 600
        killed = False
        try:
            while True:
                try:
                    line = lines.get(timeout=max(1, deadline - time.time()))
                except queue.Empty:
                    raise AssertionError("bullmq_restart.js did not finish in time:\n" + tail("".join(out)))
                if line is None:
                    break
                out.append(line)
                if line.strip() == "KILL NOW" and not killed:
                    killed = True
                    s.restart(signal.SIGKILL, same_port=True)
                    p.stdin.write(b"RESTARTED\n")
                    p.stdin.flush()
            code = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        text = "".join(out)
        assert killed, "the program never asked for the crash:\n" + tail(text)
        assert code == 0 and "ALL OK" in text.splitlines(), "bullmq_restart.js exited %s\n%s\n---- server log:\n%s" % (
            code, tail(text), tail(s.output(), 2000))
        print("   " + " | ".join(l.strip() for l in text.splitlines() if l.startswith("   ")))
