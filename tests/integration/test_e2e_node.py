"""End-to-end: Node.js clients and job queues work against dredis unchanged:
ioredis and node-redis (v4), Bull (v4) and BullMQ (v5). The programs live in
tests/e2e/node/ with a pinned package.json and package-lock.json; their
node_modules is installed there from the npm registry (see node_modules())
when it is missing or does not match the lock file. Needs node and npm on
PATH (scripts/deps.sh test installs Debian's when there are none)."""
import os
import queue
import signal
import subprocess
import threading
import time

from dredis_test import Dredis
from e2e_support import E2E_DIR, npm_modules, require_streams, run_client, tail

NODE_DIR = os.path.join(E2E_DIR, "node")
DEADLINE_MS = "240000"  # how long a queue program waits for its jobs to settle


def node_modules():
    """Install node_modules unless it already matches the lock file."""
    npm_modules(NODE_DIR)


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
