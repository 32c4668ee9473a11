"""e2e_support - what the end-to-end tests (test_e2e_*.py) share: running a
client program (a real client library or job queue, tests/e2e/) against a
dredis-server and reporting its output, and the server's, when it fails."""
import os
import subprocess
import unittest

E2E_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))


def tail(text, n=4000):
    return text if len(text) <= n else "...\n" + text[-n:]


def run_client(argv, server, timeout, cwd=None, env=None, expect="ALL OK"):
    """Run argv (a client program taking the server's port as its last
    argument) to completion, at most timeout seconds, with os.environ
    updated by env. Asserts it exited 0
    and printed the line `expect`; returns its output."""
    full_env = dict(os.environ)
    for k, v in (env or {}).items():  # None removes a variable
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    try:
        p = subprocess.run(argv + [str(server.port)], cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out, code = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, code = (e.stdout or b"").decode("utf-8", "replace"), "timeout after %ds" % timeout
    lines = out.splitlines()
    if code != 0 or expect not in lines:
        raise AssertionError("%s exited %s\n---- its output:\n%s\n---- dredis-server log:\n%s"
                             % (" ".join(os.path.basename(a) for a in argv[:2]), code, tail(out),
                                tail(server.output(), 2000)))
    return out


def require_streams(server, who):
    """Fail clearly when the server has no stream commands."""
    with server.client() as c:
        reply = c.execute("COMMAND", "INFO", "XADD", "XREVRANGE")
    if not reply or None in reply:
        raise AssertionError("%s needs stream commands (XADD, XREVRANGE) that this dredis-server lacks" % who)
