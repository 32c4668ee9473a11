"""OBJECT IDLETIME, OBJECT FREQ and TOUCH against a real redis-server: which
commands update a key's last access time and which leave it (TYPE, TTL,
EXISTS, OBJECT, MEMORY USAGE), RESTORE IDLETIME, and what a key's idle time
is after a restart (Redis: after DEBUG RELOAD) and for keys the store's
metadata cache has forgotten (docs/compatibility.md, "Access times").

Idle times are whole seconds on a clock both servers read a little apart,
so each test sleeps just over 2 s once and compares classes, "idle" (>= 2)
and "fresh" (<= 1), rather than exact numbers."""
import time

from dredis_test import Pair, RespError

IDLE_WAIT = 2.2

# commands that leave the key's access time, each on a key of its own
UNTOUCHING = [
    ("TYPE",), ("TTL",), ("PTTL",), ("EXPIRETIME",), ("EXISTS",),
    ("OBJECT", "ENCODING"), ("OBJECT", "REFCOUNT"), ("OBJECT", "FREQ"), ("OBJECT", "IDLETIME"),
    ("MEMORY", "USAGE"), ("KEYS",), ("SCAN",), ("WATCH",),
]
# commands that update it: reads, writes, TOUCH, and a read of the wrong type
TOUCHING = [
    ("GET",), ("MGET",), ("TOUCH",), ("STRLEN",), ("DUMP",), ("APPEND", "x"), ("EXPIRE", "100"), ("PERSIST",),
    ("LLEN",),  # WRONGTYPE: Redis looks the key up (touching it) before checking its type
]


def cmd_on(spec, key):
    if spec[0] in ("OBJECT", "MEMORY"):
        return (spec[0], spec[1], key)
    if spec[0] == "SCAN":  # with its TYPE filter, which looks the key up
        return ("SCAN", "0", "MATCH", key, "TYPE", "string", "COUNT", "1000")
    return (spec[0], key) + tuple(spec[1:])


def idle_class(v):
    assert isinstance(v, int), v
    return "idle" if v >= 2 else "fresh"


def both_idle(p, key):
    return p.d.execute("OBJECT", "IDLETIME", key), p.r.execute("OBJECT", "IDLETIME", key)


def assert_same_class(p, key, expect):
    d, r = both_idle(p, key)
    assert (idle_class(d), idle_class(r)) == (expect, expect), "%s: dredis %r, redis %r (expected %s)" % (
        key, d, r, expect)


def test_which_commands_touch():
    with Pair() as p:
        keys = {}
        for i, spec in enumerate(UNTOUCHING + TOUCHING):
            key = "k%d" % i
            keys[key] = spec
            p.run("SET", key, "value")
        p.run("SET", "renamed", "v")
        p.run("SET", "untouched", "v")
        p.run("RPUSH", "sortme", "x")
        p.run("SET", "weight_x", "1")
        p.run("SET", "copied", "v")
        time.sleep(IDLE_WAIT)
        for key, spec in keys.items():
            p.both(*cmd_on(spec, key))
        p.run("UNWATCH")
        p.run("RENAME", "renamed", "renamed2")  # a write: the key is accessed
        for key, spec in keys.items():
            assert_same_class(p, key, "idle" if spec in UNTOUCHING else "fresh")
        p.run("SORT", "sortme", "BY", "weight_*")  # SORT reads its BY keys
        p.run("COPY", "copied", "copy")
        for key in ("renamed2", "weight_x", "copied", "copy"):
            assert_same_class(p, key, "fresh")
        assert_same_class(p, "untouched", "idle")
        p.run("SET", "new", "v")
        assert both_idle(p, "new") == (0, 0)


def test_missing_keys_and_errors():
    with Pair() as p:
        p.run("OBJECT", "IDLETIME", "missing")
        p.run("OBJECT", "FREQ", "missing")
        p.run("SET", "k", "v")
        p.run("OBJECT", "FREQ", "k")  # no LFU policy: an error, as Redis's
        p.run("OBJECT", "IDLETIME")
        p.run("OBJECT", "IDLETIME", "k", "extra")
        p.run("TOUCH", "k", "missing", "k")
        p.run("TOUCH")
        p.run("RPUSH", "l", "a")
        p.run("OBJECT", "IDLETIME", "l")


def test_restore_idletime():
    """RESTORE IDLETIME places the access time as Redis does, wrapping at
    Redis's 24-bit clock of seconds."""
    with Pair() as p:
        p.run("SET", "src", "v")
        payload = p.r.execute("DUMP", "src")
        for i, idle in enumerate((0, 1000, 2 ** 24 - 10, 2 ** 24 + 100, 10 ** 12, 2 ** 63 - 1)):
            key = "r%d" % i
            p.run("RESTORE", key, 0, payload, "IDLETIME", idle)
            d, r = both_idle(p, key)
            assert abs(d - r) <= 1, (idle, d, r)
        p.run("GET", "r1")
        assert both_idle(p, "r1") == (0, 0)
        # IDLETIME with REPLACE and a TTL
        p.run("RESTORE", "r1", 100000, payload, "REPLACE", "IDLETIME", 500)
        d, r = both_idle(p, "r1")
        assert abs(d - r) <= 1 and 499 <= d <= 501, (d, r)


def test_restart_and_forgotten_keys():
    """A restart (Redis: DEBUG RELOAD, under its default noeviction policy)
    makes every key accessed at load; a key the metadata cache no longer
    holds (SWAPDB empties it) is idle since it was last written."""
    with Pair(redis_args=("--enable-debug-command", "yes")) as p:
        p.run("SET", "a", "v")
        p.run("SET", "b", "v")
        p.run("SET", "c", "v")
        time.sleep(IDLE_WAIT)
        p.run("SET", "b", "w")
        p.run("HSET", "h", "f", "v")
        for _ in range(2):
            p.run("SWAPDB", 0, 1)
        assert_same_class(p, "a", "idle")
        assert_same_class(p, "b", "fresh")
        assert_same_class(p, "h", "fresh")
        p.restart_dredis()
        assert p.r.execute("DEBUG", "RELOAD") == "OK"
        for key in ("a", "b", "c", "h"):
            assert_same_class(p, key, "fresh")
        p.run("OBJECT", "FREQ", "a")
        assert not isinstance(p.d.execute("OBJECT", "IDLETIME", "a"), RespError)
