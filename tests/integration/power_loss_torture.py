"""power_loss_torture - cut the power of a virtual machine running
dredis-server under crash_torture's workload, boot it again on the same disk
and check the invariants and that the acknowledged writes the policy promises
are there. Driven by scripts/power-loss-torture, which installs the
prerequisites and fetches the kernel; see docs/durability.md, "Power loss".

    python3 power_loss_torture.py --kernel-dir DIR [--fsync always|everysec|both]
                                  [--grace SECONDS] CYCLES [SEED]

The guest: Debian's kernel (its virtio and ext4 modules in the initramfs),
busybox, and the dredis-server under test ($DREDIS_SERVER) with its shared
libraries. Its disk is a raw ext4 image attached with cache=none, so every
write the guest submitted reaches the image file, and whatever is only in the
guest's page cache is lost when qemu is killed with SIGKILL: the power cut.
The workload runs on the host against a port forwarded to the guest.

One cycle: the workload runs for a random time (0.2 to 4 s), qemu is killed,
the image's ext4 journal is replayed on a copy and checked with e2fsck -fn,
the machine boots again on the image (dredis recovers at start-up) and the
state is checked:
  * crash_torture.check: every MSET whole, SADD/HSET/LPUSH batches whole,
    one RENAME chain, MULTI blocks whole; and the acknowledged writes it
    requires, limited to those acknowledged at least GRACE seconds before the
    cut for everysec (all of them for always);
  * every such acknowledged HSET key, LPUSH batch and MULTI block of the
    cycle is there.
For every acknowledged write of the cycle whose presence can be told, it
also reports how many were lost and how old the oldest lost one was at the
cut."""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crash_torture import BATCH, Workload, check, decode_journal, write_until_cut  # noqa: E402
from dredis_test import Client, ConnectionClosed, DREDIS_SERVER, RespError, free_port  # noqa: E402

MODULES = ["virtio_pci", "virtio_blk", "virtio_net", "crc32c_generic", "ext4"]

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m || echo "POWERLOSS: insmod $m failed"; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
mkdir -p /data
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
opts=$(sed -n 's/.*dredis_mount=\([a-z_=,]*\).*/\1/p' /proc/cmdline)
mount -t ext4 ${opts:+-o $opts} /dev/vda /data || { echo "POWERLOSS: mount failed"; poweroff -f; }
mkdir -p /data/root
fsync=$(sed -n 's/.*dredis_fsync=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "POWERLOSS: mounted: $(grep ' /data ' /proc/mounts)"
echo "POWERLOSS: starting dredis-server, DREDIS_FSYNC=$fsync"
ROOT_DIR=/data/root DREDIS_HOST=0.0.0.0 DREDIS_PROTECTED_MODE=no DREDIS_PORT=6377 DREDIS_FSYNC=$fsync /usr/bin/dredis-server
echo "POWERLOSS: dredis-server exited with status $?"
umount /data
poweroff -f
"""


def log(s):
    print(s, flush=True)


# ---------------------------------------------------------------- initramfs

def modinfo_depends(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"\x00depends=([^\x00]*)\x00", data)
    deps = m.group(1).decode().split(",") if m and m.group(1) else []
    return [d for d in deps if d]


def module_order(moddir):
    """The .ko paths (relative to moddir) of MODULES and their dependencies,
    dependencies first."""
    paths = {}
    for dirpath, _, files in os.walk(moddir):
        for f in files:
            if f.endswith(".ko"):
                paths[f[:-3].replace("-", "_")] = os.path.relpath(os.path.join(dirpath, f), moddir)
    order = []

    def visit(name):
        name = name.replace("-", "_")
        if name in order:
            return
        if name not in paths:
            raise SystemExit("module %s not found under %s (built in?)" % (name, moddir))
        for d in modinfo_depends(os.path.join(moddir, paths[name])):
            visit(d)
        order.append(name)

    for m in MODULES:
        visit(m)
    return [paths[m] for m in order]


def shared_libs(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def build_initramfs(workdir, kernel_dir, server):
    """Writes workdir/initrd.cpio and returns its path."""
    root = os.path.join(workdir, "initramfs")
    shutil.rmtree(root, ignore_errors=True)
    for d in ["bin", "usr/bin", "proc", "sys", "dev", "data", "lib/modules", "tmp"]:
        os.makedirs(os.path.join(root, d))
    busybox = shutil.which("busybox") or "/bin/busybox"
    shutil.copy(busybox, os.path.join(root, "bin/busybox"))
    shutil.copy(server, os.path.join(root, "usr/bin/dredis-server"))
    for lib in shared_libs(server):
        real = os.path.realpath(lib)
        dest = os.path.join(root, lib.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(real, dest)
    moddir = [os.path.join(kernel_dir, "lib/modules", k) for k in os.listdir(os.path.join(kernel_dir, "lib/modules"))][0]
    order = module_order(moddir)
    for rel in order:
        shutil.copy(os.path.join(moddir, rel), os.path.join(root, "lib/modules", os.path.basename(rel)))
    with open(os.path.join(root, "modules.order"), "w") as f:
        f.write("\n".join(os.path.basename(r) for r in order) + "\n")
    init = os.path.join(root, "init")
    with open(init, "w") as f:
        f.write(INIT)
    os.chmod(init, 0o755)
    cpio = os.path.join(workdir, "initrd.cpio")
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    with open(cpio, "wb") as out:
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc"], cwd=root, input=files, stdout=out, check=True)
    return cpio, [os.path.basename(r) for r in order]


# ---------------------------------------------------------------- the machine

class Machine:
    def __init__(self, workdir, kernel, initrd, image, fsync, accel, mount_options=""):
        self.workdir, self.kernel, self.initrd, self.image = workdir, kernel, initrd, image
        self.mount_options = mount_options
        self.fsync, self.accel = fsync, accel
        self.proc = None
        self.port = None
        self.boots = 0
        self.console = None

    def boot(self, timeout=60):
        self.boots += 1
        self.port = free_port()
        self.console = os.path.join(self.workdir, "console-%d.log" % self.boots)
        accel = ["-enable-kvm"] if self.accel == "kvm" else ["-accel", "tcg"]
        cmd = ["qemu-system-x86_64", *accel, "-m", "512", "-smp", "2", "-nodefaults", "-no-reboot",
               "-display", "none", "-serial", "file:" + self.console,
               "-kernel", self.kernel, "-initrd", self.initrd,
               "-append", "console=ttyS0 panic=-1 loglevel=4 dredis_fsync=" + self.fsync
               + (" dredis_mount=" + self.mount_options if self.mount_options else ""),
               "-drive", "file=%s,format=raw,if=virtio,cache=none" % self.image,
               "-netdev", "user,id=n,hostfwd=tcp:127.0.0.1:%d-:6377" % self.port,
               "-device", "virtio-net-pci,netdev=n"]
        t0 = time.time()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.workdir, "qemu-%d.err" % self.boots), "w"))
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("qemu exited with status %s during boot; console:\n%s"
                                   % (self.proc.returncode, self.console_tail()))
            try:
                c = Client(self.port, timeout=2)
                try:
                    if c.execute("PING") == "PONG":
                        c.close()
                        return time.time() - t0
                finally:
                    c.close()
            except (OSError, ConnectionClosed):
                pass
            time.sleep(0.1)
        self.cut()
        raise RuntimeError("dredis in the guest did not answer within %ds; console:\n%s"
                           % (timeout, self.console_tail()))

    def client(self, timeout=30):
        return Client(self.port, timeout=timeout)

    def cut(self):
        """The power cut: qemu dies at once, whatever is only in the
        guest's memory is gone."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def shutdown(self):
        self.cut()

    def console_tail(self, n=3000):
        try:
            with open(self.console, "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""


def fsck_copy(image, copy):
    """Replays the image's ext4 journal on a copy (as the guest's mount
    will), checks it with e2fsck -fn and reads dredis's journal from it.
    Returns (problem or None, journal bytes or None)."""
    subprocess.run(["cp", "--sparse=always", image, copy], check=True)
    if True:
        r = subprocess.run(["e2fsck", "-E", "journal_only", "-y", copy], capture_output=True, text=True)
        if r.returncode not in (0, 1):
            return "e2fsck journal replay: status %d: %s" % (r.returncode, (r.stdout + r.stderr)[-500:]), None
        r = subprocess.run(["e2fsck", "-fn", copy], capture_output=True, text=True)
        problem = None
        if r.returncode != 0:
            problem = "e2fsck -fn: status %d: %s" % (r.returncode, (r.stdout + r.stderr)[-1500:])
        j = subprocess.run(["debugfs", "-R", "cat /root/.journal", copy], capture_output=True)
        return problem, j.stdout


# ---------------------------------------------------------------- checking

def describe_journal(data, last=30):
    """dredis's journal at the cut: its last valid records (as recovery reads
    them: a record that runs past the end or fails its CRC ends the log), and
    what follows them, e.g. zeros where the file's size reached the disk and
    its data did not."""
    pos, recs = 0, []
    while pos < len(data):
        start, p = pos, pos + 1
        for _ in range(4):
            if p + 2 > len(data):
                break
            p += 2 + (data[p] | data[p + 1] << 8)
        if p + 4 > len(data) or zlib.crc32(data[start:p]) != int.from_bytes(data[p:p + 4], "little"):
            break
        pos = p + 4
        recs.append(decode_journal(data[start:pos])[0])
    out = "journal at the cut: %d bytes, %d valid records; the last %d: %r" % (len(data), len(recs), last,
                                                                               recs[-last:])
    if pos < len(data):
        rest = data[pos:]
        nz = len(rest.rstrip(b"\0"))
        out += "; then %d bytes that are not a record (%d of them zeros at the end): %r" % (
            len(rest), len(rest) - nz, rest[:min(nz, 80)])
    return out


class Required:
    """What check() is to require: a Workload-like view holding, per kind,
    the last write the policy promises (for everysec, acknowledged at least
    `grace` seconds before the cut), else what the previous check required."""

    def __init__(self, acked, rename_at):
        self.acked = acked
        self.rename_at = rename_at


def scan_keys(c):
    cursor, keys = b"0", []
    while True:
        cursor, batch = c.execute("SCAN", cursor, "COUNT", "1000")
        keys += batch
        if cursor == b"0":
            return set(keys)


class RecordingClient:
    """A client whose error replies are kept (as violations) and raised."""

    def __init__(self, c):
        self.c, self.errors = c, []

    def execute(self, *args):
        r = self.c.execute(*args)
        if isinstance(r, RespError):
            self.errors.append("%s replied %s" % (" ".join(str(a) for a in args[:3]), r.message))
            raise ReplyError()
        return r


class ReplyError(Exception):
    pass


class Checker:
    def __init__(self, fsync, grace):
        self.fsync, self.grace = fsync, grace
        self.carried = {}          # kind -> gen required at the previous check
        self.ta = 0                # the MULTI counter seen at the previous check
        self.rename_at = None
        self.cycle_start = 0       # index in w.history where the cycle began

    def promised(self, t_ack, cut):
        if t_ack is None or self.fsync == "no":
            return False
        return self.fsync == "always" or t_ack <= cut - self.grace

    def check(self, c, w, cut):
        """After a power cut at host time `cut`: (violations, loss figures)."""
        rc = RecordingClient(c)
        try:
            return self._check(rc, w, cut)
        except (ReplyError, ValueError, TypeError) as e:
            if not isinstance(e, ReplyError):
                # a value that is no number: read what the counters hold
                rc.errors.append("a value is not what the workload wrote (%s): %s" % (e, self.dump(c)))
            acked = sum(1 for e in w.history[self.cycle_start:] if e[2])
            self.cycle_start = len(w.history)
            return rc.errors, {"acked": acked, "lost": 0, "oldest_lost_age": 0.0,
                               "newest_kept_age": None, "out_of_order": 0}

    @staticmethod
    def dump(c):
        keys = ["m:%d" % i for i in range(BATCH)] + ["ta", "tb"]
        out = ["%s=%r" % (k, c.execute("GET", k)) for k in keys]
        out.append("SCARD tset=%r" % (c.execute("SCARD", "tset"),))
        return ", ".join(out)

    def _check(self, c, w, cut):
        hist = w.history[self.cycle_start:]
        acked = dict(self.carried)
        rename_at = self.rename_at
        for gen, kind, t, target in hist:
            if self.promised(t, cut) and kind != "del":
                acked[kind] = gen
                if kind == "rename":
                    rename_at = "r:%d" % gen
        # a DEL that may have run (acknowledged or not, promised or not) can
        # explain a missing SADD key
        if "sadd" in acked:
            dels = [g for g, k, _, tgt in w.history if k == "del" and tgt == "s:%d" % acked["sadd"]]
            acked["del"] = max(dels) if dels else 0
        req = Required(acked, rename_at)
        bad = check(c, req)
        keys = scan_keys(c)
        # the chain moves on from the name that survived (check() moves it
        # only when a RENAME was required)
        rk = [k for k in keys if k.startswith(b"r:")]
        if len(rk) == 1:
            req.rename_at = rk[0].decode()
        elif not rk:
            req.rename_at = None
        w.rename_at = req.rename_at
        self.rename_at = req.rename_at

        vals = c.execute("MGET", *["m:%d" % i for i in range(BATCH)])
        mset_have = int(vals[0]) if vals[0] is not None and len(set(vals)) == 1 else 0
        items = set(c.execute("LRANGE", "l", "0", "-1"))
        rename_have = int(rk[0][2:]) if len(rk) == 1 else 0
        ta = c.execute("GET", "ta")
        ta = 0 if ta is None else int(ta)  # b"" (a value file that lost its data) raises
        c.execute("SCARD", "tset")  # an error reply if the set is damaged
        deleted = {tgt for _, k, _, tgt in w.history if k == "del"}

        # which acknowledged writes of this cycle are there
        lost, kept, nmulti = [], [], 0
        for gen, kind, t, target in hist:
            if kind == "multi":
                nmulti += 1 if t is not None else 0
            if t is None or kind == "del":
                continue
            if kind == "mset":
                present = mset_have >= gen
            elif kind == "hset":
                present = b"h:%d" % gen in keys
            elif kind == "lpush":
                present = str(gen).encode() in items
            elif kind == "sadd":
                if "s:%d" % gen in deleted:
                    continue
                present = b"s:%d" % gen in keys
            elif kind == "rename":
                present = rename_have >= gen
            elif kind == "multi":
                present = ta >= self.ta + nmulti
            (kept if present else lost).append((gen, kind, t))
            if not present and self.promised(t, cut) and kind in ("hset", "lpush", "multi"):
                bad.append("acknowledged %s %d (%.3fs before the cut) lost" % (kind.upper(), gen, cut - t))
        self.ta = ta
        for k in acked:
            if k != "del":
                self.carried[k] = acked[k]
        self.cycle_start = len(w.history)
        acks = [t for _, _, t, _ in hist if t is not None]
        fig = {
            "acked": len(acks),
            "lost": len(lost),
            "oldest_lost_age": max((cut - t for _, _, t in lost), default=0.0),
            "newest_kept_age": min((cut - t for _, _, t in kept), default=None),
            # a lost write older than a kept one: not a prefix of the history
            "out_of_order": sum(1 for g, _, _ in lost if any(kg > g for kg, _, _ in kept)),
        }
        return bad, fig


# ---------------------------------------------------------------- the run

def run_policy(fsync, cycles, rng, args, workdir, kernel, initrd):
    image = os.path.join(workdir, "disk-%s.img" % fsync)
    with open(image, "wb") as f:
        f.truncate(args.disk_mb * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "dredis", image], check=True)
    vm = Machine(workdir, kernel, initrd, image, args.server_fsync or fsync, args.accel, args.mount_options)
    violations = []
    figures = []
    attempted = 0
    try:
        w = Workload(random.Random(rng.random()))
        chk = Checker(fsync, args.grace)
        boot_s = vm.boot()
        log("[%s] booted in %.1fs (port %d)" % (fsync, boot_s, vm.port))
        for n in range(1, cycles + 1):
            if n > 1 and figures[-1]["violations"]:
                # a damaged store would fail every later cycle too: start
                # over on a new file system, so that each cycle counts alone
                vm.shutdown()
                subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "dredis", image], check=True)
                attempted += w.gen
                w = Workload(random.Random(rng.random()))
                chk = Checker(fsync, args.grace)
                boot_s = vm.boot()
                log("[%s] new file system after the violation; booted in %.1fs" % (fsync, boot_s))
            run_for = rng.uniform(0.2, 4.0)
            c = vm.client(timeout=10)
            cut_at = []

            def power_cut():
                cut_at.append(time.time())
                vm.cut()
            start_gen = w.gen
            write_until_cut(w, c, threading.Timer(run_for, power_cut))
            cut = cut_at[0]
            copy = os.path.join(workdir, "cut-%s-%d.img" % (fsync, n))
            problem, journal = fsck_copy(image, copy)
            boot_s = vm.boot()
            with vm.client(timeout=60) as cc:
                bad, fig = chk.check(cc, w, cut)
            bad += w.errors
            w.errors = []
            if problem:
                bad.append(problem)
            fig["violations"] = len(bad)
            figures.append(fig)
            log("[%s] cycle %d: ran %.2fs, %d writes (%d acknowledged), cut; reboot %.1fs; "
                "lost %d acknowledged (oldest %.3fs before the cut), lost before a kept one %d; violations %d"
                % (fsync, n, run_for, w.gen - start_gen, fig["acked"], boot_s, fig["lost"],
                   fig["oldest_lost_age"], fig["out_of_order"], len(bad)))
            if bad:
                for b in bad:
                    log("    VIOLATION: " + b)
                if journal:
                    log("    " + describe_journal(journal))
                log("    console of the boot after the cut:\n" + vm.console_tail(2000))
                if args.keep:
                    log("    the disk at the cut (ext4 journal replayed, before dredis's recovery): " + copy)
            if not (bad and args.keep):
                os.unlink(copy)
            violations += bad
    finally:
        vm.shutdown()
    return violations, figures, attempted + w.gen


def kvm_works(kernel, workdir, timeout=20):
    """Whether a KVM guest gets as far as printing the kernel's banner.
    (/dev/kvm can exist and still not run a guest, e.g. under nested
    virtualization without VMX: there the guest hangs before the banner.)"""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    out = os.path.join(workdir, "kvm-probe.log")
    p = subprocess.Popen(["qemu-system-x86_64", "-enable-kvm", "-m", "256", "-nodefaults", "-no-reboot",
                          "-display", "none", "-serial", "file:" + out, "-kernel", kernel,
                          "-append", "console=ttyS0 panic=-1"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    ok = False
    while time.time() - t0 < timeout and not ok:
        time.sleep(0.2)
        try:
            with open(out, "rb") as f:
                ok = b"Linux version" in f.read()
        except OSError:
            pass
        if p.poll() is not None:
            break
    if p.poll() is None:
        p.kill()
    p.wait()
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cycles", type=int, nargs="?", default=20)
    ap.add_argument("seed", type=int, nargs="?", default=None)
    ap.add_argument("--fsync", default="both", choices=["always", "everysec", "no", "both"],
                    help="both: the cycles split between always and everysec; no: the invariants only")
    ap.add_argument("--grace", type=float, default=2.0,
                    help="everysec: writes acknowledged this long before the cut must survive")
    ap.add_argument("--kernel-dir", required=True, help="a dpkg-deb -x of linux-image-*-amd64")
    ap.add_argument("--server-fsync", default=None, choices=["always", "everysec", "no"],
                    help="run the server with this policy but check --fsync's promises: a negative "
                         "control of the harness (e.g. --fsync always --server-fsync no must fail)")
    ap.add_argument("--mount-options", default="",
                    help="ext4 mount options in the guest, e.g. data=journal (default: ext4's, data=ordered)")
    ap.add_argument("--disk-mb", type=int, default=2048)
    ap.add_argument("--accel", default=None, choices=["kvm", "tcg"])
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    server = os.path.abspath(DREDIS_SERVER)
    if not os.access(server, os.X_OK):
        raise SystemExit("no %s: build dredis first" % server)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    kernel = [os.path.join(args.kernel_dir, "boot", f) for f in os.listdir(os.path.join(args.kernel_dir, "boot"))
              if f.startswith("vmlinuz-")][0]
    workdir = tempfile.mkdtemp(prefix="dredis-power-loss.", dir=os.environ.get("POWER_LOSS_DIR") or "/var/tmp")
    t0 = time.time()
    try:
        if args.accel is None:
            args.accel = "kvm" if kvm_works(kernel, workdir) else "tcg"
            if args.accel == "tcg":
                log("KVM does not work here (the guest does not boot): falling back to TCG emulation")
        initrd, mods = build_initramfs(workdir, args.kernel_dir, server)
        if args.server_fsync:
            log("negative control: the server runs with DREDIS_FSYNC=%s" % args.server_fsync)
        log("seed %d, %s, kernel %s, ext4 mount options: %s, server %s, modules %s"
            % (seed, args.accel, os.path.basename(kernel), args.mount_options or "default (data=ordered)",
               server, " ".join(mods)))
        policies = ["always", "everysec"] if args.fsync == "both" else [args.fsync]
        per = [args.cycles // len(policies)] * len(policies)
        per[0] += args.cycles - sum(per)
        total_v, total_c, writes = [], 0, 0
        summary = []
        for pol, n in zip(policies, per):
            if n == 0:
                continue
            v, figs, gens = run_policy(pol, n, rng, args, workdir, kernel, initrd)
            total_v += v
            total_c += n
            writes += gens
            # the loss figures of the cycles without a violation (a torn
            # MSET or a damaged key makes the loss unmeasurable)
            clean = [f for f in figs if not f["violations"]]
            ages = [f["oldest_lost_age"] for f in clean if f["lost"]]
            summary.append("%s: %d cycles, %d writes acknowledged; in the %d cycles without a violation "
                           "%d acknowledged writes lost, in %d cycles, the oldest %.3fs before the cut "
                           "(median over those cycles %.3fs), lost before a kept one %d; violations %d in %d cycles"
                           % (pol, n, sum(f["acked"] for f in figs), len(clean), sum(f["lost"] for f in clean),
                              len(ages), max(ages, default=0.0), sorted(ages)[len(ages) // 2] if ages else 0.0,
                              sum(f["out_of_order"] for f in clean), len(v),
                              sum(1 for f in figs if f["violations"])))
        for s in summary:
            log(s)
        log("writes attempted: %d, time: %.1fs" % (writes, time.time() - t0))
        log("cycles: %d, violations: %d" % (total_c, len(total_v)))
        return 1 if total_v else 0
    finally:
        if args.keep:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
