"""Key time-to-live compared with a real Redis 7.0: EXPIRE/PEXPIRE/EXPIREAT/
PEXPIREAT with NX/XX/GT/LT, TTL/PTTL/EXPIRETIME/PEXPIRETIME/PERSIST, expiry
times in the past; then dredis's own expiry: lazy (on access) and active
(the cycle removes keys from disk with no client touching them)."""
import os
import time

from dredis_test import Dredis, Pair, RespError, wait_until

EXPIRE_CMDS = ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")
FLAG_SETS = [[], ["NX"], ["XX"], ["GT"], ["LT"], ["nx"], ["NX", "XX"], ["GT", "LT"], ["NX", "GT"], ["NX", "LT"],
             ["XX", "GT"], ["XX", "LT"], ["FOO"], ["NX", "NX"], ["GT", "GT", "XX"], ["LT", "XX", "LT"]]


def unordered(cmd, reply):
    if cmd[0] == "KEYS":
        return sorted(reply)
    if cmd[0] == "SCAN":
        return [reply[0], sorted(reply[1])]
    return reply


def ttl_close(cmd, reply):
    """PTTL values may differ by a few milliseconds between the servers."""
    if cmd[0] in ("PTTL", "TTL") and isinstance(reply, int) and reply >= 0:
        return "ttl ~%d" % round(reply / (1000000 if cmd[0] == "PTTL" else 1000))
    return reply


def test_expire_flags_against_existing_ttls():
    now = int(time.time())
    cmds = []
    for cmd in EXPIRE_CMDS:
        cmds += [(cmd,), (cmd, "k"), (cmd, "nokey", "100"), (cmd, "nokey", "abc"), (cmd, "nokey", "100", "NX", "XX"),
                 (cmd, "k", "10", "FOO", "bar")]
        # a value between the existing TTLs below (50 s and 5000 s from now)
        when = {"EXPIRE": "1000", "PEXPIRE": "1000000", "EXPIREAT": str(now + 1000),
                "PEXPIREAT": str((now + 1000) * 1000)}[cmd]
        for flags in FLAG_SETS:
            for existing in (None, "5000000", "50000"):
                cmds += [("DEL", "k"), ("SET", "k", "v")]
                if existing:
                    cmds.append(("PEXPIRE", "k", existing))
                cmds += [(cmd, "k", when) + tuple(flags), ("PTTL", "k")]
    with Pair() as p:
        p.run_many(cmds, normalize=ttl_close)


def test_expire_odd_values():
    cmds = []
    for cmd in EXPIRE_CMDS:
        for v in ["0", "-1", "-100", "9223372036854775807", "-9223372036854775808", "9223372036854775",
                  "-9223372036854775", "9223372036854775806", "1.5", " 1", "+1", "01", "", "1e3"]:
            for flags in ([], ["GT"], ["LT"], ["XX"], ["NX"]):
                cmds += [("SET", "k", "v"), (cmd, "k", v) + tuple(flags), ("EXISTS", "k")]
    with Pair() as p:
        p.run_many(cmds)


def test_past_expiry_deletes_the_key():
    cmds = []
    for cmd, v in [("EXPIRE", "0"), ("EXPIRE", "-5"), ("PEXPIRE", "-1"), ("EXPIREAT", "1"), ("PEXPIREAT", "1000"),
                   ("EXPIREAT", "0"), ("PEXPIREAT", "-1")]:
        cmds += [("SET", "k", "v", "EX", "100"), (cmd, "k", v), ("EXISTS", "k"), ("GET", "k"), ("TTL", "k"),
                 ("DBSIZE",)]
        # with GT a past time is never greater than a key without TTL: nothing happens
        cmds += [("SET", "k", "v"), (cmd, "k", v, "GT"), ("EXISTS", "k"), (cmd, "k", v, "LT"), ("EXISTS", "k")]
    with Pair() as p:
        p.run_many(cmds)


def test_ttl_family():
    future = int(time.time()) + 100000
    with Pair() as p:
        cmds = []
        for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST"):
            cmds += [(cmd,), (cmd, "a", "b"), (cmd, "nokey"), ("SET", "np", "v"), (cmd, "np")]
        cmds += [("SET", "t", "v", "EXAT", str(future)), ("EXPIRETIME", "t"), ("PEXPIRETIME", "t"), ("PERSIST", "t"),
                 ("PERSIST", "t"), ("TTL", "t"), ("PTTL", "t"), ("EXPIRETIME", "t"),
                 ("SET", "t", "v", "PXAT", str(future * 1000 + 123)), ("EXPIRETIME", "t"), ("PEXPIRETIME", "t"),
                 ("SET", "t", "v", "PXAT", str(future * 1000 + 500)), ("EXPIRETIME", "t"),
                 ("SET", "t", "v", "PXAT", str(future * 1000 + 499)), ("EXPIRETIME", "t"),
                 ("SET", "t", "v", "EX", "100"), ("TTL", "t"), ("PTTL", "t"),
                 ("EXPIREAT", "t", str(future)), ("TTL", "t"), ("EXPIRETIME", "t"),
                 # rounding to seconds next to LLONG_MAX milliseconds
                 ("SET", "t", "v", "PXAT", "9223372036854775807"), ("EXPIRETIME", "t"), ("PEXPIRETIME", "t"),
                 ("TTL", "t"), ("EXPIREAT", "t", "9223372036854775"), ("EXPIRETIME", "t"),
                 ("PEXPIREAT", "t", "9223372036854775500"), ("EXPIRETIME", "t")]
        p.run_many(cmds, normalize=ttl_close)


def test_lazy_expiry_on_access():
    with Pair() as p:
        p.run_many([("SET", k, "v", "PX", "1") for k in ("a", "b", "c", "d", "e", "f")] + [("SET", "live", "v")])
        time.sleep(0.02)
        p.run_many([("GET", "a"), ("EXISTS", "b"), ("TTL", "c"), ("PTTL", "c"), ("EXPIRETIME", "d"), ("TYPE", "e"),
                    ("STRLEN", "f"), ("APPEND", "f", "x"), ("GET", "f"), ("TTL", "f"), ("KEYS", "*"),
                    ("SCAN", "0", "COUNT", "100"), ("MGET", "a", "live")], normalize=unordered)


def test_active_expiry_removes_keys_from_disk():
    """No client touches the keys: the cycle alone removes them, their
    directories and their expiry index entries."""
    with Dredis() as s, s.client() as c:
        names = ["e%d" % i for i in range(30)]
        # all due at the same moment, a little later
        due = str(int(time.time() * 1000) + 2000)
        for n in names:
            assert c.execute("SET", n, "v", "PXAT", due) == "OK"
        c.execute("SET", "keeper", "v", "EX", "1000")
        c.execute("SELECT", "9")
        c.execute("SET", "other-db", "v", "PXAT", due)
        c.execute("SELECT", "0")
        db0, db9 = s.db_dir(0), s.db_dir(9)
        assert set(names) <= set(os.listdir(db0))
        assert len(os.listdir(os.path.join(db0, ".expires"))) == 31

        def all_gone():
            return not any(n in names for n in os.listdir(db0)) and "other-db" not in os.listdir(db9)
        wait_until(all_gone, timeout=20, what="the active expiry cycle to remove the keys")
        assert sorted(os.listdir(db0)) == [".expires", "keeper"]
        assert len(os.listdir(os.path.join(db0, ".expires"))) == 1
        assert os.listdir(os.path.join(db9, ".expires")) == []
        info = c.execute("INFO", "stats").decode()
        assert "expired_keys:31\r\n" in info, info
        assert c.execute("DBSIZE") == 1
        assert c.execute("TTL", "keeper") > 900


def test_active_expiry_after_persist_and_overwrite():
    with Dredis() as s, s.client() as c:
        # the old index entries (due in 1.5 s) must not take the keys with them
        assert c.execute("SET", "p", "v", "PX", "1500") == "OK"
        assert c.execute("PERSIST", "p") == 1
        assert c.execute("SET", "o", "v", "PX", "1500") == "OK"
        assert c.execute("SET", "o", "w") == "OK"
        assert c.execute("SET", "x", "v", "PX", "1500") == "OK"
        assert c.execute("PEXPIRE", "x", "100000") == 1
        c.execute("SET", "gone", "v", "PX", "1500")
        wait_until(lambda: "gone" not in os.listdir(s.db_dir(0)), timeout=20, what="expiry of 'gone'")
        assert c.execute("MGET", "p", "o", "x") == [b"v", b"w", b"v"]
        assert c.execute("TTL", "p") == -1 and c.execute("TTL", "o") == -1 and c.execute("TTL", "x") > 90
        assert os.listdir(os.path.join(s.db_dir(0), ".expires")) != []


def test_expire_errors_text():
    with Pair() as p:
        replies = p.run_many([("SET", "k", "v"), ("EXPIRE", "k", "10", "NX", "XX"), ("EXPIRE", "k", "10", "GT", "LT"),
                              ("EXPIRE", "k", "10", "BAD"), ("EXPIRE", "k", "9223372036854775807"),
                              ("PEXPIRE", "k", "9223372036854775807"), ("EXPIREAT", "k", "9223372036854775807")])
        assert replies[1] == RespError("ERR NX and XX, GT or LT options at the same time are not compatible")
        assert replies[2] == RespError("ERR GT and LT options at the same time are not compatible")
        assert replies[3] == RespError("ERR Unsupported option BAD")
        assert replies[4] == RespError("ERR invalid expire time in 'expire' command")


def test_time_stands_still_inside_a_command_a_transaction_and_a_script():
    """As Redis 7.0 (keyIsExpired): a key cannot expire half way through an
    EXEC block or a script, whatever time the block takes; the next command
    sees it expired."""
    with Pair(redis_args=("--enable-debug-command", "yes")) as p:
        p.run("MULTI")
        for cmd in (("SET", "k", "v", "PX", 20), ("DEBUG", "SLEEP", "0.1"), ("GET", "k"), ("EXISTS", "k"),
                    ("LPUSH", "l", "x"), ("PEXPIRE", "l", 20), ("DEBUG", "SLEEP", "0.1"), ("LLEN", "l"),
                    ("RENAME", "l", "l2"), ("EXISTS", "l2")):
            p.run(*cmd)
        p.run("EXEC")
        p.run("GET", "k")
        p.run("EXISTS", "l2")
        # a script busy for longer than the key lives
        script = ("redis.call('SET', KEYS[1], 'v', 'PX', 5); redis.call('SET', KEYS[2], 1, 'PX', 5); "
                  "local t = 0; for i = 1, 20000000 do t = t + i end; "
                  "return {redis.call('GET', KEYS[1]), redis.call('EXISTS', KEYS[1]), "
                  "redis.call('INCR', KEYS[2]), redis.call('TYPE', KEYS[1])['ok']}")
        p.run("EVAL", script, 2, "s", "n")
        p.run("GET", "s")
        p.run("GET", "n")
