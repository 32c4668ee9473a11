"""Writes coalesced within a loop turn (src/store_coalesce.c): overwrites of
a file already written in the same turn wait in memory and only the last
one reaches the tree, before any reply leaves. These tests check the
answers, what survives a restart and a SIGKILL (a prefix of the commands,
nothing acknowledged lost), rollbacks of commands whose writes were pending,
and that the file operations really are fewer."""
import os
import signal
import time

from dredis_test import Dredis, RespError, proc_io, wait_until

FAULTS = {"DREDIS_ENABLE_DEBUG_FAULTS": "1"}


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def test_pipelined_overwrites_answer_and_persist():
    with Dredis() as d:
        with d.client() as c:
            cmds = [("SET", "k", "0")] + [("INCR", "k")] * 300 + [("GET", "k")]
            cmds += [("HSET", "h", "f", str(i)) for i in range(50)] + [("HGET", "h", "f"), ("HLEN", "h")]
            cmds += [("LPUSH", "l", str(i)) for i in range(40)] + [("LRANGE", "l", "0", "2"), ("LLEN", "l")]
            cmds += [("SET", "s", "a"), ("SET", "s", "bb"), ("APPEND", "s", "cc"), ("SET", "s", "d"),
                     ("STRLEN", "s"), ("GETRANGE", "s", "0", "-1"), ("SET", "s", "xyz"), ("GETRANGE", "s", "1", "5")]
            r = c.pipeline(cmds)
            assert r[1:301] == list(range(1, 301))
            assert r[301] == b"300"
            assert r[302] == 1 and r[303:352] == [0] * 49
            assert r[352:354] == [b"49", 1]
            assert r[354:394] == list(range(1, 41))
            assert r[394:396] == [[b"39", b"38", b"37"], 40]
            assert r[396:] == ["OK", "OK", 4, "OK", 1, b"d", "OK", b"yz"]
        d.restart()
        with d.client() as c:
            assert c.execute("GET", "k") == b"300"
            assert c.execute("HGET", "h", "f") == b"49"
            assert c.execute("LRANGE", "l", "0", "2") == [b"39", b"38", b"37"]
            assert c.execute("GET", "s") == b"xyz"
        # the tree itself holds the last versions
        assert open(os.path.join(d.db_dir(), "k", "value"), "rb").read() == b"300"


def test_a_pipeline_on_one_key_makes_fewer_writes_than_commands():
    with Dredis() as d, d.client() as c:
        c.execute("SET", "n", "0")
        before = proc_io(d.proc.pid)["syscw"]
        n = 2000
        r = c.pipeline([("INCR", "n")] * n)
        assert r == list(range(1, n + 1))
        writes = proc_io(d.proc.pid)["syscw"] - before
        # without coalescing each INCR writes its value and a journal
        # record: at least 2 * n write calls; coalesced, a few per loop turn
        assert writes < n, writes


def test_a_segment_a_turn_starts_is_written_once_at_its_end():
    """A list push that starts a segment writes it, and the pushes after it
    in the same turn wait in memory: the segment is written once more, at
    the end of the turn, however many follow. (The head-seg write that
    starts a segment used to make the next push write the new segment at
    once, then the rest wait.)"""
    with Dredis(env=FAULTS) as d, d.client() as c:
        assert c.execute("RPUSH", "l", *[str(i) for i in range(63)]) == 63
        assert c.execute("DEBUG-FAULT", "RESET") == "OK"
        # one short pipeline: one loop turn (never split under 16 commands)
        r = c.pipeline([("LPUSH", "l", x) for x in ("a", "b", "c", "d", "e")])
        assert r == [64, 65, 66, 67, 68]
        renames = c.execute("DEBUG-FAULT", "COUNT", "renameat2")
        # RPUSH filled segment 0 from its start: "a" starts segment -1 (1
        # rename) and rewrites head-seg (1); "b" to "e" wait and segment -1
        # is written once at the end of the turn (1). It was 4 before.
        assert renames == 3, renames
        d.restart()
        with d.client() as c2:
            assert c2.execute("LRANGE", "l", "0", "5") == [b"e", b"d", b"c", b"b", b"a", b"0"]
            assert c2.execute("LLEN", "l") == 68


def test_sigkill_leaves_a_prefix_and_every_acknowledged_write():
    with Dredis() as d:
        c = d.client()
        c.execute("MSET", "a", "0", "b", "0")
        pairs = 3000
        c.send_raw(b"".join(enc("INCR", "a") + enc("INCR", "b") for _ in range(pairs)))
        acked_a = acked_b = 0
        for i in range(pairs):  # read about half the replies, then kill
            acked_a = c.read_reply()
            acked_b = c.read_reply()
            if i == pairs // 2:
                break
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        c.close()
        d.start()
        with d.client() as c2:
            a = int(c2.execute("GET", "a"))
            b = int(c2.execute("GET", "b"))
        # INCR a always ran before its INCR b: a prefix has a == b or a == b + 1
        assert a in (b, b + 1), (a, b)
        assert a >= acked_a and b >= acked_b, (a, b, acked_a, acked_b)


def test_a_rolled_back_command_puts_back_the_pending_value():
    """MSET's write of k waits in memory (k was written earlier in the turn
    and MSET has journaled nothing); its look-up of zz then fails, so MSET
    is rolled back and k reads as before it, then and after a restart."""
    with Dredis(env=FAULTS) as d, d.client() as c:
        c.execute("SET", "k", "0")
        r = c.pipeline([("SET", "k", "1"), ("SET", "k", "2"),
                        ("DEBUG-FAULT", "ARM", "openat", "EIO", "NTH", "1"),
                        ("MSET", "k", "3", "zz", "4"),
                        ("DEBUG-FAULT", "OFF"), ("MGET", "k", "zz")])
        assert r[:3] == ["OK", "OK", "OK"]
        assert isinstance(r[3], RespError) and "Input/output error" in r[3].message, r[3]
        assert r[5] == [b"2", None], r
        d.restart()
        with d.client() as c2:
            assert c2.execute("MGET", "k", "zz") == [b"2", None]


def test_a_failed_call_in_a_script_keeps_the_scripts_earlier_pending_write():
    """As without coalescing, a failed redis.call() is rolled back alone:
    the script's SET k 3 before it, waiting in memory, stays."""
    with Dredis(env=FAULTS) as d, d.client() as c:
        c.execute("SET", "k", "0")
        script = "redis.call('SET', KEYS[1], '3'); return redis.call('GET', KEYS[2])"
        r = c.pipeline([("SET", "k", "1"), ("SET", "k", "2"),
                        ("DEBUG-FAULT", "ARM", "openat", "EIO", "NTH", "1"),
                        ("EVAL", script, "2", "k", "other"),
                        ("DEBUG-FAULT", "OFF"), ("GET", "k")])
        assert r[:3] == ["OK", "OK", "OK"]
        assert isinstance(r[3], RespError) and "Input/output error" in r[3].message, r[3]
        assert r[5] == b"3", r
        d.restart()
        with d.client() as c2:
            assert c2.execute("GET", "k") == b"3"


def test_a_failure_after_settling_rolls_back_only_the_failed_command():
    """MSET k 3 new 4: k's write waits, then creating `new` settles what is
    pending (SET k 2 in a transaction of its own, then MSET's k the usual
    way); a failure from there on rolls back MSET alone: k stays 2."""
    outcomes = set()
    for nth in range(1, 9):
        with Dredis(env=FAULTS) as d, d.client() as c:
            r = c.pipeline([("SET", "k", "1"), ("SET", "k", "2"),
                            ("DEBUG-FAULT", "ARM", "renameat2", "EIO", "NTH", str(nth)),
                            ("MSET", "k", "3", "new", "4"),
                            ("DEBUG-FAULT", "OFF"), ("MGET", "k", "new")])
            assert r[:3] == ["OK", "OK", "OK"]
            if isinstance(r[3], RespError):
                assert r[5] == [b"2", None], (nth, r)
                outcomes.add("rolled back")
            else:
                assert r[3] == "OK" and r[5] == [b"3", b"4"], (nth, r)
                outcomes.add("done")
            expect = r[5]
            d.restart()
            with d.client() as c2:
                assert c2.execute("MGET", "k", "new") == expect, nth
    assert outcomes == {"rolled back", "done"}, outcomes


def test_a_settlement_that_cannot_be_written_stops_the_server_unacknowledged():
    with Dredis(env=FAULTS) as d:
        c = d.client()
        c.execute("SET", "k", "0")  # k exists: its next write marks its value file
        c.send_raw(enc("SET", "k", "1") + enc("DEBUG-FAULT", "ARM", "renameat2", "EIO", "AFTER", "0") +
                   enc("SET", "k", "2"))
        wait_until(lambda: d.proc.poll() is not None, timeout=30, what="the server to stop")
        assert d.proc.returncode == 1
        got = b""
        try:
            while True:
                data = c.sock.recv(4096)
                if not data:
                    break
                got += data
        except OSError:
            pass
        c.close()
        assert got == b"", got  # no reply left: nothing was acknowledged
        assert "cannot write the coalesced writes" in d.output()
        d.start()
        with d.client() as c2:
            assert c2.execute("GET", "k") == b"1"


def test_a_failed_command_inside_exec_keeps_the_earlier_pending_write():
    """Inside EXEC, SET k 3 waits in memory; the next queued command fails
    and is rolled back alone (as any command of EXEC): k stays 3."""
    with Dredis(env=FAULTS) as d, d.client() as c:
        c.execute("SET", "k", "0")
        r = c.pipeline([("SET", "k", "1"), ("SET", "k", "2"), ("MULTI",), ("SET", "k", "3"),
                        ("DEBUG-FAULT", "ARM", "openat", "EIO", "NTH", "1"), ("GET", "other"),
                        ("DEBUG-FAULT", "OFF"), ("EXEC",), ("GET", "k")])
        assert r[:3] == ["OK", "OK", "OK"] and r[3:7] == ["QUEUED"] * 4
        ex = r[7]
        assert ex[0] == "OK" and ex[1] == "OK" and isinstance(ex[2], RespError) and ex[3] == "OK", ex
        assert r[8] == b"3", r
        d.restart()
        with d.client() as c2:
            assert c2.execute("GET", "k") == b"3"


def test_debug_reload_settles_what_is_pending_first():
    with Dredis() as d, d.client() as c:
        c.execute("SET", "k", "0")
        r = c.pipeline([("SET", "k", "1"), ("SET", "k", "2"), ("DEBUG", "RELOAD", "NOSAVE"), ("GET", "k")])
        assert r == ["OK", "OK", "OK", b"2"], r
        assert open(os.path.join(d.db_dir(), "k", "value"), "rb").read() == b"2"
