"""e2e_support - what the end-to-end tests (test_e2e_*.py) share: running a
client program (a real client library or job queue, tests/e2e/) against a
dredis-server and reporting its output, and the server's, when it fails."""
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

E2E_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))


_npm_ready = set()
_npm_failed = {}


def npm_modules(pkg_dir):
    """Install pkg_dir/node_modules from the npm registry unless it already
    matches pkg_dir's package.json and package-lock.json (a stamp file
    records what was installed); one install at a time per directory, across
    processes. A failure is remembered and raised again for the next caller."""
    if pkg_dir in _npm_ready:
        return
    if pkg_dir in _npm_failed:
        raise AssertionError(_npm_failed[pkg_dir])
    if not shutil.which("node") or not shutil.which("npm"):
        raise AssertionError("node and npm are required (scripts/deps.sh test installs them)")
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        with open(os.path.join(pkg_dir, name), "rb") as f:
            h.update(f.read())
    want = h.hexdigest()
    stamp = os.path.join(pkg_dir, "node_modules", ".dredis-installed")
    lockpath = os.path.join(tempfile.gettempdir(),
                            "dredis-npm-%s.lock" % hashlib.sha256(pkg_dir.encode()).hexdigest()[:16])
    with open(lockpath, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time per tree
        try:
            with open(stamp) as f:
                have = f.read().strip()
        except OSError:
            have = None
        if have != want:
            # `npm ci` installs exactly the lock file. npm 11 refuses a lock
            # that lacks other platforms' optional binaries (msgpackr-extract's
            # darwin and win32 packages, which a filtered registry mirror does
            # not serve, so npm leaves them out of the lock); then `npm install
            # --no-save` installs the same locked versions and leaves the lock
            # file as it is.
            log = []
            for args in (["ci"], ["install", "--no-save"]):
                p = subprocess.run(["npm"] + args + ["--ignore-scripts", "--no-audit", "--no-fund"], cwd=pkg_dir,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
                log.append("$ npm %s\n%s" % (" ".join(args), "\n".join(
                    p.stdout.decode(errors="replace").splitlines()[:15])))
                if p.returncode == 0:
                    break
            else:
                _npm_failed[pkg_dir] = "npm could not install %s:\n%s" % (pkg_dir, "\n".join(log))
                raise AssertionError(_npm_failed[pkg_dir])
            with open(stamp, "w") as f:
                f.write(want + "\n")
    _npm_ready.add(pkg_dir)


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
