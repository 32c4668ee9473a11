"""Running dredis as a systemd service (scripts/systemd): the units pass
`systemd-analyze verify`, and dredis-server speaks systemd's readiness
protocol (sd_notify: READY=1 once the port is open, STOPPING=1 on the way
out) on the socket NOTIFY_SOCKET names, as a Type=notify unit needs."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile

from dredis_test import DREDIS_SERVER, Client, free_port

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNITS = os.path.join(TOP, "scripts", "systemd")


def make_units(workdir):
    """The units as make install writes them, with @bindir@ a directory
    holding the binaries under test."""
    bindir = os.path.join(workdir, "bin")
    os.mkdir(bindir)
    os.symlink(os.path.abspath(DREDIS_SERVER), os.path.join(bindir, "dredis-server"))
    os.symlink(os.path.join(TOP, "scripts", "dredis-backup"), os.path.join(bindir, "dredis-backup"))
    out = []
    for name in ("dredis.service", "dredis-backup.service", "dredis-backup.timer"):
        src = os.path.join(UNITS, name + ".in")
        if not os.path.exists(src):
            src = os.path.join(UNITS, name)
        with open(src) as f:
            text = f.read().replace("@bindir@", bindir)
        assert "@" not in text.replace("@bindir@", ""), name
        path = os.path.join(workdir, name)
        with open(path, "w") as f:
            f.write(text)
        out.append(path)
    return out


def test_units_pass_systemd_analyze_verify():
    work = tempfile.mkdtemp(prefix="dredis-units-")
    try:
        units = make_units(work)
        p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units, cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        # verify reports parse errors as warnings with status 0: any output is a failure
        assert p.returncode == 0 and p.stdout.strip() == "", p.stdout
        with open(units[0]) as f:
            service = f.read()
        for line in ("Type=notify", "User=dredis", "EnvironmentFile=-/etc/default/dredis",
                     "Environment=ROOT_DIR=/var/lib/dredis/data", "StateDirectory=dredis"):
            assert line in service.splitlines(), line
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_verify_catches_a_broken_unit():
    """The check above can fail: a unit with a bad setting is reported."""
    work = tempfile.mkdtemp(prefix="dredis-units-")
    try:
        units = make_units(work)
        with open(units[0]) as f:
            text = f.read()
        with open(units[0], "w") as f:
            f.write(text.replace("Type=notify", "Type=notifyy"))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", units[0]], cwd=work,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        assert "notifyy" in p.stdout, p.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_with_notify_socket(address, bind_to):
    """Start dredis-server with NOTIFY_SOCKET=address (a datagram socket
    bound at bind_to); return the messages it sent and whether the port
    answered as soon as READY=1 came."""
    root = tempfile.mkdtemp(prefix="dredis-notify-")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(bind_to)
    sock.settimeout(15)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DREDIS_SERVER"}
    env.update({"DREDIS_PORT": str(port), "ROOT_DIR": root, "NOTIFY_SOCKET": address})
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([DREDIS_SERVER], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = sock.recv(4096).decode()
        with Client(port, timeout=5) as c:
            pong = c.execute("PING")
        os.kill(proc.pid, signal.SIGTERM)
        stopping = sock.recv(4096).decode()
        proc.wait(20)
        return ready, pong, stopping, proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        shutil.rmtree(root, ignore_errors=True)


def test_ready_and_stopping_are_sent_to_notify_socket():
    d = tempfile.mkdtemp(prefix="dredis-sock-")
    try:
        path = os.path.join(d, "notify")
        ready, pong, stopping, rc = run_with_notify_socket(path, path)
        assert ready.split("\n")[0] == "READY=1", ready
        assert pong == "PONG"  # the port was open when READY=1 was sent
        assert stopping == "STOPPING=1", stopping
        assert rc == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_abstract_notify_socket():
    name = "dredis-test-notify-%d" % os.getpid()
    ready, pong, stopping, rc = run_with_notify_socket("@" + name, "\0" + name)
    assert ready.startswith("READY=1"), ready
    assert pong == "PONG" and stopping == "STOPPING=1" and rc == 0
