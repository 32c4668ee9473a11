#!/usr/bin/env python3
"""make_corpus.py - (re)make the seed corpus of the fuzz harnesses in
tests/fuzz/corpus/<harness>/ from real servers:

  resp       requests as clients send them (multibulk, inline, pipelined)
  keyname    key names of every kind of byte, and file names
  rdb        DUMP payloads made by redis-server 7.0 for every type and
             encoding it writes, and an RDB file (SAVE) of them all
  rdb_file   that RDB file, and an RDB file of each DUMP payload's key alone
  journal    .journal files of a dredis-server killed with SIGKILL after
             writes of every type, whole and cut before their last COMMIT
  lua_reply  replies of redis-server 7.0 in RESP2 and RESP3 (as
             redis.call() receives them) and a few table programs

Usage: tests/fuzz/make_corpus.py DREDIS_SERVER  (redis-server 7.0 on PATH).
The seeds made before (seed-*) are replaced; the inputs of crashes found
(crash-*) are left alone."""
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from dredis_test import encode_command as encode, free_port  # noqa: E402


def save(harness, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


class Conn:
    def __init__(self, port):
        for _ in range(200):
            try:
                self.s = socket.create_connection(("127.0.0.1", port))
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("no server on port %d" % port)

    def raw(self, *args):
        """Send one command; return its reply's exact bytes."""
        self.s.sendall(encode(args))
        buf = b""
        while True:
            buf += self.s.recv(1 << 20)
            end = reply_end(buf, 0)
            if end is not None:
                return buf[:end]


def reply_end(b, i):
    """The offset after the reply at b[i:], None when incomplete."""
    nl = b.find(b"\r\n", i)
    if nl < 0:
        return None
    t, line = b[i:i + 1], b[i + 1:nl]
    j = nl + 2
    if t in b"$=!":
        n = int(line)
        if n < 0:
            return j
        return j + n + 2 if len(b) >= j + n + 2 else None
    if t in b"*~>%|":
        n = int(line)
        n = n * 2 if t in b"%|" else n
        for _ in range(max(n, 0)):
            j = reply_end(b, j)
            if j is None:
                return None
        if t == b"|":
            return reply_end(b, j)
        return j
    return j


def resp_seeds():
    reqs = [
        encode(["SET", "key", "value"]),
        encode(["GET", "key"]) + encode(["INCR", "n"]) + encode(["PING"]),
        encode(["HSET", "h", "f1", "v1", "f2", b"\x00\xff\r\n"]),
        encode(["EVAL", "return redis.call('get', KEYS[1])", "1", "key"]),
        encode(["XADD", "s", "*", "f", "v"]),
        b"PING\r\n",
        b"SET \"a b\" 'c d' \"\\x41\\n\"\r\n",
        b"  GET   k  \n\n\r\nPING\n",
        b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
        b"*2\r\n$3\r\nGET\r\n$-1\r\n",
        b"*1\r\n+PING\r\n",
        b"*3000000000\r\n",
        b"SET \"unbalanced\r\n",
        encode(["MSET"] + ["k%d" % i for i in range(40)]),
        encode(["SET", "big", "x" * 600]),
    ]
    for r in reqs:
        save("resp", r)


def keyname_seeds():
    for n in [b"", b".", b"..", b"a/b", b".hidden", b"key:1", b"%", b"~", b"\x00", b"\xff\xfe",
              b"user@example.com", b"a b", b"x" * 199, b"x" * 200, b"/" * 80, b"%41", b"%2F", b"%2E.."]:
        save("keyname", n)


def with_redis(fn):
    d = tempfile.mkdtemp(prefix="fuzz-corpus-redis-")
    port = free_port()
    p = subprocess.Popen(["redis-server", "--port", str(port), "--dir", d, "--save", "",
                          "--enable-debug-command", "yes"], stdout=subprocess.DEVNULL)
    try:
        fn(Conn(port), d)
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def fill_redis(c):
    """Keys of every type and encoding Redis 7.0 writes."""
    c.raw("SET", "int", "12345")
    c.raw("SET", "bigint", "12345678901")
    c.raw("SET", "short", "hello")
    c.raw("SET", "long", "a" * 30 + "b" * 30)     # LZF compressed
    c.raw("SET", "random", os.urandom(80))
    c.raw("RPUSH", "list", "a", "1", "b" * 70)
    c.raw("RPUSH", "biglist", *[str(i) * 20 for i in range(300)])  # several nodes
    c.raw("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100")
    c.raw("RPUSH", "plainlist", "x" * 200, "y")   # a PLAIN node
    c.raw("SADD", "intset", "1", "2", "-3", "100000")
    c.raw("SADD", "set", "a", "b", "c")
    c.raw("SADD", "bigset", *[str(i) + "x" for i in range(200)])
    c.raw("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c")
    c.raw("ZADD", "bigzset", *sum([[str(i / 3), "m" + str(i)] for i in range(200)], []))
    c.raw("HSET", "hash", "f", "v", "n", "12")
    c.raw("HSET", "bighash", *sum([["f" + str(i), "v" * (i % 100)] for i in range(200)], []))
    for i in range(5):
        c.raw("XADD", "stream", "*", "f", "v%d" % i, "g", "w")
    c.raw("XADD", "stream", "*", "other", "fields")
    c.raw("XDEL", "stream", c.raw("XRANGE", "stream", "-", "+", "COUNT", "1").split(b"\r\n")[4])
    c.raw("XGROUP", "CREATE", "stream", "g1", "0")
    c.raw("XGROUP", "CREATE", "stream", "g2", "$")
    c.raw("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "stream", ">")
    c.raw("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "1", "STREAMS", "stream", ">")
    c.raw("XADD", "emptystream", "*", "f", "v")
    c.raw("XTRIM", "emptystream", "MAXLEN", "0")
    c.raw("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)")
    return ["int", "bigint", "short", "long", "random", "list", "biglist", "plainlist", "intset", "set",
            "bigset", "zset", "bigzset", "hash", "bighash", "stream", "emptystream"]


def rdb_seeds():
    def run(c, d):
        for k in fill_redis(c):
            reply = c.raw("DUMP", k)
            nl = reply.index(b"\r\n")
            payload = reply[nl + 2:-2]
            save("rdb", payload)
            # the same value as the one key of a small RDB file (checksum 0:
            # not checked), so rdb_file's runs load one key, not all of them
            save("rdb_file", b"REDIS0010\xfe\x00" + payload[:1] + bytes([len(k)]) + k.encode() +
                 payload[1:-10] + b"\xff" + bytes(8))
        reply = c.raw("FUNCTION", "DUMP")
        nl = reply.index(b"\r\n")
        save("rdb", reply[nl + 2:-2])
        c.raw("SAVE")
        with open(os.path.join(d, "dump.rdb"), "rb") as f:
            rdb = f.read()
        save("rdb", rdb)
        save("rdb_file", rdb)
    with_redis(run)


def lua_reply_seeds():
    def run(c, d):
        fill_redis(c)
        cmds = [["GET", "short"], ["GET", "missing"], ["INCR", "int"], ["LRANGE", "list", "0", "-1"],
                ["HGETALL", "hash"], ["SMEMBERS", "set"], ["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
                ["XRANGE", "stream", "-", "+"], ["XINFO", "STREAM", "stream", "FULL"], ["SET", "k", "v"],
                ["LPOP", "int"], ["EXISTS", "short"], ["ZSCORE", "zset", "b"], ["HRANDFIELD", "hash", "-3"],
                ["OBJECT", "ENCODING", "list"], ["LPOS", "list", "zz"], ["XPENDING", "stream", "g1"],
                ["CONFIG", "GET", "maxmemory*"], ["CLIENT", "INFO"]]
        for proto in ("2", "3"):
            c.raw("HELLO", proto)
            for cmd in cmds:
                reply = c.raw(*cmd)
                mode = b"\x01" if proto == "2" else b"\x07"  # bit 1: read as RESP3, bit 2: caller RESP3
                save("lua_reply", mode + reply)
                save("lua_reply", (b"\x03" if proto == "3" else b"\x05") + reply)
    with_redis(run)
    save("lua_reply", b"\x01|1\r\n+key\r\n+val\r\n:3\r\n")
    save("lua_reply", b"\x03(12345678901234567890\r\n")
    save("lua_reply", b"\x07=15\r\ntxt:hello world\r\n")
    # table programs (byte 0 even): see runTableProgram in fuzz_lua_reply.c
    save("lua_reply", b"\x00\x05\x00\x02ok\x06")              # {ok="ok"}
    save("lua_reply", b"\x04\x05\x00\x05ERR x\x16")           # {err="ERR x"}
    save("lua_reply", b"\x04\x05\x05\x00\x01a\x03\x08\x00\x01b\x13\x08\x46")  # {map={a=false,b=true}}
    save("lua_reply", b"\x04\x05\x02\x00\x00\x00\x00\x00\x00\xf8\x7f\x26")    # {double=nan}
    save("lua_reply", b"\x00\x05\x01\x07\x00\x00\x00\x00\x00\x00\x00\x07\x00\x01x\x07\x05\x03\x07\x07")


def journal_seeds(server):
    d = tempfile.mkdtemp(prefix="fuzz-corpus-dredis-")
    root = os.path.join(d, "root")
    port = free_port()
    env = dict(os.environ, ROOT_DIR=root, DREDIS_PORT=str(port))
    p = subprocess.Popen([server], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = Conn(port)
        c.raw("SET", "k", "v")
        c.raw("SET", "k", "v2")
        c.raw("HSET", "h", "f", "v", "g", "w")
        c.raw("RPUSH", "l", "a", "b")
        c.raw("LPOP", "l")
        c.raw("SADD", "s", "m")
        c.raw("ZADD", "z", "1", "m")
        c.raw("XADD", "x", "*", "f", "v")
        c.raw("EXPIRE", "k", "100")
        c.raw("RENAME", "h", "h2")
        c.raw("DEL", "s")
        c.raw("MULTI")
        c.raw("SET", "a", "1")
        c.raw("INCR", "a")
        c.raw("EXEC")
        c.raw("SELECT", "1")
        c.raw("SET", "k", "db1")
        c.raw("MOVE", "k", "0")
        time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    with open(os.path.join(root, ".journal"), "rb") as f:
        log = f.read()
    shutil.rmtree(d, ignore_errors=True)
    save("journal", log)
    # records: type, 4 x (2-byte length, bytes), CRC-32: cut the log into
    # them, and save it as if the crash came before each COMMIT
    recs, i = [], 0
    while i < len(log):
        j = i + 1
        for _ in range(4):
            j += 2 + (log[j] | log[j + 1] << 8)
        recs.append(log[i:j + 4])
        i = j + 4
    for n, r in enumerate(recs):
        if r[:1] == b"C":
            save("journal", b"".join(recs[:n]))
    save("journal", b"".join(recs[-6:]))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for h in os.listdir(CORPUS) if os.path.isdir(CORPUS) else []:
        for f in os.listdir(os.path.join(CORPUS, h)):
            if f.startswith("seed-"):
                os.unlink(os.path.join(CORPUS, h, f))
    resp_seeds()
    keyname_seeds()
    rdb_seeds()
    lua_reply_seeds()
    journal_seeds(sys.argv[1])


if __name__ == "__main__":
    main()
