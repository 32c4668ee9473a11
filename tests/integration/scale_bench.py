"""scale_bench - dredis with many keys: load, disk use, start-up, SCAN.

Loads KEYS string keys (key:0 .. key:KEYS-1, 3-byte values) into a fresh
dredis-server with pipelined SETs, one key per command (the new-key path),
then measures:
  * load time and new keys/s, and scripts/fileops-bench's new-key rate for
    the same count in the same directory (the C loop: dredis's file
    operations with nothing else), and dredis as a fraction of it;
  * bytes on disk per key, counting data blocks and inodes (a walk of the
    tree after a clean shutdown; inodes at the file system's inode size);
  * RSS after the load (and the peak);
  * after a restart on the tree: exec to first PONG, RSS, DBSIZE, a full
    SCAN (COUNT 10, as redis-cli --scan) and KEYS key:1*, with RSS after;
and checks what it can: DBSIZE and SCAN see every key, KEYS the right ones.
Used by scripts/bench-scale (1,000,000 keys for docs/benchmarks.md) and,
with a few thousand, by test_scale_bench.py.

    python3 scale_bench.py [KEYS] [DIR]"""
import fcntl
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

from dredis_test import Dredis, encode_command

FILEOPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "fileops-bench")


def load_keys(c, n, depth=100):
    """SET key:i v for i in 0..n-1, depth commands in flight."""
    inflight = 0
    for i in range(n):
        c.send_raw(encode_command(["SET", "key:%d" % i, "%03d" % (i % 1000)]))
        inflight += 1
        if inflight == depth:
            for _ in range(inflight):
                r = c.read_reply()
                assert r == "OK", r
            inflight = 0
    for _ in range(inflight):
        r = c.read_reply()
        assert r == "OK", r


def proc_status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def inode_size(path):
    """The file system's inode size: ext4 tells with tune2fs on its device;
    256 (ext4's and XFS's default; 512 for XFS v5 is close enough) otherwise."""
    try:
        dev = subprocess.run(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, timeout=10).stdout.split()
        if len(dev) == 2 and dev[1] == "ext4":
            out = subprocess.run(["tune2fs", "-l", dev[0]], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 text=True, timeout=10).stdout
            for line in out.splitlines():
                if line.startswith("Inode size:"):
                    return int(line.split(":")[1])
    except (OSError, subprocess.SubprocessError):
        pass
    return 256


FS_IOC_FIEMAP = 0xC020660B        # _IOWR('f', 11, struct fiemap)
FIEMAP_EXTENT_DATA_INLINE = 0x200


def data_is_inline(path):
    """Whether the file's data lives in its inode (ext4 inline_data): ext4
    still reports st_blocks of size/512 rounded up for it, though no block
    is allocated. Asked of the file system (FIEMAP), as filefrag does."""
    buf = bytearray(struct.pack("=QQIIII", 0, 0xFFFFFFFFFFFFFFFF, 0, 0, 1, 0) + bytes(56))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.ioctl(fd, FS_IOC_FIEMAP, buf)
    except OSError:
        return False
    finally:
        os.close(fd)
    mapped = struct.unpack_from("=I", buf, 20)[0]
    return mapped > 0 and bool(struct.unpack_from("=I", buf, 32 + 40)[0] & FIEMAP_EXTENT_DATA_INLINE)


def tree_usage(root):
    """Allocated bytes and inodes of the tree under root, each inode once
    (a walk, so that other users of the file system do not count); a small
    file whose data is inline in its inode counts no block."""
    seen, blocks = set(), 0
    for d, dirs, files in os.walk(root):
        for name in [d] + [os.path.join(d, x) for x in files + dirs]:
            st = os.lstat(name)
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                if not (stat.S_ISREG(st.st_mode) and 0 < st.st_blocks <= 2 and data_is_inline(name)):
                    blocks += st.st_blocks
    return blocks * 512, len(seen)


def c_loop_new_keys(n, where):
    """scripts/fileops-bench's new-key rate (ops/s) for n keys in a fresh directory under where."""
    d = tempfile.mkdtemp(prefix="dredis-fileops-", dir=where)
    try:
        out = subprocess.run([FILEOPS, os.path.join(d, "t"), str(n)], stdout=subprocess.PIPE, text=True,
                             check=True, timeout=7200).stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)
    for line in out.splitlines():
        if line.startswith("new "):
            return float(line.split(":")[1].split()[0])
    raise AssertionError("no new-key rate in %r" % out)


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    return r, time.perf_counter() - t0


def full_scan(c):
    cursor, seen = b"0", 0
    while True:
        cursor, keys = c.execute("SCAN", cursor)
        seen += len(keys)
        if cursor == b"0":
            return seen


def first_pong(server):
    """Start server again on its tree; seconds from exec to the first PONG
    (polled every 20 ms)."""
    _, secs = timed(server.start)
    return secs


def run(keys, where=None, out=sys.stdout, c_loop=True):
    where = where or tempfile.gettempdir()
    figures = {}
    server = Dredis(root_dir=tempfile.mkdtemp(prefix="dredis-scale-", dir=where))
    try:
        with server.client(timeout=600) as c:
            _, secs = timed(lambda: load_keys(c, keys))
            figures["load_s"] = secs
            figures["load_keys_per_s"] = keys / secs
            assert c.execute("DBSIZE") == keys
        figures["rss_after_load_kb"] = proc_status_kb(server.proc.pid, "VmRSS")
        figures["peak_rss_kb"] = proc_status_kb(server.proc.pid, "VmHWM")
        server.stop()  # SHUTDOWN: a clean tree, synced
        used, inodes = tree_usage(server.root_dir)
        figures["bytes_per_key"] = (used + inodes * inode_size(where)) / keys
        figures["inodes_per_key"] = inodes / keys
        figures["first_pong_s"] = first_pong(server)
        figures["rss_after_start_kb"] = proc_status_kb(server.proc.pid, "VmRSS")
        with server.client(timeout=3600) as c:
            n, figures["dbsize_s"] = timed(lambda: c.execute("DBSIZE"))
            assert n == keys, n
            n, figures["scan_s"] = timed(lambda: full_scan(c))
            assert n == keys, n  # no rehashing in a directory: each key once
            figures["rss_after_scan_kb"] = proc_status_kb(server.proc.pid, "VmRSS")
            found, figures["keys_s"] = timed(lambda: c.execute("KEYS", "key:1*"))
            want = sum(1 for i in range(keys) if str(i).startswith("1"))
            assert len(found) == want, (len(found), want)
            figures["keys_matched"] = want
            figures["rss_after_keys_kb"] = proc_status_kb(server.proc.pid, "VmRSS")
            figures["peak_rss_kb"] = max(figures["peak_rss_kb"], proc_status_kb(server.proc.pid, "VmHWM"))
    finally:
        server.stop()
        server.cleanup()
        shutil.rmtree(server.root_dir, ignore_errors=True)
    if c_loop:
        figures["c_loop_new_keys_per_s"] = c_loop_new_keys(keys, where)
        figures["fraction_of_c_loop"] = figures["load_keys_per_s"] / figures["c_loop_new_keys_per_s"]
    report(keys, where, figures, out)
    return figures


def report(keys, where, f, out):
    load = os.getloadavg()
    out.write("%d keys in %s (load average %.1f %.1f %.1f at the end)\n\n" % (keys, where, *load))
    out.write("| measure | value |\n|---|---:|\n")
    rows = [
        ("load (pipelined SET, one new key each)", "%.1f s, %.0f keys/s" % (f["load_s"], f["load_keys_per_s"])),
    ]
    if "c_loop_new_keys_per_s" in f:
        rows.append(("C loop's new keys (scripts/fileops-bench)", "%.0f keys/s; dredis %.2f of it"
                     % (f["c_loop_new_keys_per_s"], f["fraction_of_c_loop"])))
    rows += [
        ("disk per key (blocks + inodes)", "%.0f bytes, %.2f inodes" % (f["bytes_per_key"], f["inodes_per_key"])),
        ("RSS after the load / peak", "%.1f MB / %.1f MB" % (f["rss_after_load_kb"] / 1024, f["peak_rss_kb"] / 1024)),
        ("exec to first PONG on the tree", "%.2f s" % f["first_pong_s"]),
        ("RSS after start", "%.1f MB" % (f["rss_after_start_kb"] / 1024)),
        ("DBSIZE (first)", "%.2f s" % f["dbsize_s"]),
        ("full SCAN, COUNT 10", "%.1f s" % f["scan_s"]),
        ("RSS after the SCAN", "%.1f MB" % (f["rss_after_scan_kb"] / 1024)),
        ("KEYS key:1* (%d keys)" % f["keys_matched"], "%.1f s" % f["keys_s"]),
        ("RSS after KEYS", "%.1f MB" % (f["rss_after_keys_kb"] / 1024)),
    ]
    for name, value in rows:
        out.write("| %s | %s |\n" % (name, value))


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000000, sys.argv[2] if len(sys.argv) > 2 else None)
