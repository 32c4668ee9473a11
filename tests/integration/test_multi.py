"""Transactions: MULTI/EXEC/DISCARD/WATCH/UNWATCH, compared with a real
redis-server 7.0 wherever the behaviour is observable by a client."""
import os
import re
import time

from dredis_test import Dredis, Pair, RespError
from conn_util import compare, make_hash_key, read_raw, raw_exec, wait_until


def test_multi_exec_queues_and_runs_in_order():
    def scenario(s):
        with s.client() as c:
            return [
                ("multi", c.execute("MULTI")),
                ("set", c.execute("SET", "a", "1")),
                ("incr", c.execute("INCR", "a")),
                ("incrby", c.execute("INCRBY", "a", "10")),
                ("get", c.execute("GET", "a")),
                ("mget", c.execute("MGET", "a", "nope")),
                ("exists", c.execute("EXISTS", "a", "nope")),
                ("exec", c.execute("EXEC")),
                ("after", c.execute("GET", "a")),
            ]

    steps = compare(scenario)
    assert steps[1] == ("set", "QUEUED")
    assert steps[7] == ("exec", ["OK", 2, 12, b"12", [b"12", None], 1])


def test_exec_of_empty_transaction():
    with Pair() as p:
        p.run("MULTI")
        assert p.run("EXEC") == []


def test_queued_commands_do_not_run_before_exec():
    def scenario(s):
        with s.client() as c, s.client() as other:
            out = [c.execute("MULTI"), c.execute("SET", "k", "v"), c.execute("DEL", "x")]
            out.append(("seen before exec", other.execute("GET", "k")))
            out.append(c.execute("EXEC"))
            out.append(("seen after exec", other.execute("GET", "k")))
            return out

    steps = compare(scenario)
    assert steps[3] == ("seen before exec", None)


def test_exec_reply_carries_runtime_errors():
    def scenario(s):
        make_hash_key(s, 0, "h")
        with s.client() as c:
            return [
                c.execute("SET", "s", "notanumber"),
                c.execute("MULTI"),
                c.execute("GET", "h"),       # WRONGTYPE at run time
                c.execute("INCR", "s"),      # not an integer at run time
                c.execute("SET", "t", "1"),  # still runs
                c.execute("APPEND", "h", "x"),
                c.execute("EXEC"),
                c.execute("GET", "t"),
            ]

    steps = compare(scenario)
    wrongtype = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
    assert steps[6] == [wrongtype, RespError("ERR value is not an integer or out of range"), "OK", wrongtype]
    assert steps[7] == b"1"


def test_execabort_after_unknown_command():
    def scenario(s):
        with s.client() as c:
            return [
                c.execute("MULTI"),
                c.execute("SET", "a", "1"),
                c.execute("NOSUCHCOMMAND", "x"),
                c.execute("SET", "b", "2"),
                c.execute("EXEC"),
                c.execute("EXISTS", "a", "b"),
                ("still in multi?", c.execute("EXEC")),
            ]

    steps = compare(scenario)
    assert steps[2] == RespError("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' ")
    assert steps[3] == "QUEUED"
    assert steps[4] == RespError("EXECABORT Transaction discarded because of previous errors.")
    assert steps[5] == 0
    assert steps[6] == ("still in multi?", RespError("ERR EXEC without MULTI"))


def test_execabort_after_arity_error():
    def scenario(s):
        with s.client() as c:
            return [
                c.execute("MULTI"),
                c.execute("SET", "a", "1"),
                c.execute("GET"),
                c.execute("INCR", "a", "b"),
                c.execute("EXEC"),
                c.execute("GET", "a"),
            ]

    steps = compare(scenario)
    assert steps[2] == RespError("ERR wrong number of arguments for 'get' command")
    assert steps[4] == RespError("EXECABORT Transaction discarded because of previous errors.")
    assert steps[5] is None


def test_execabort_after_unknown_subcommand_inside_multi():
    def scenario(s):
        with s.client() as c:
            return [c.execute("MULTI"), c.execute("CLIENT", "NOPE"), c.execute("SET", "a", "1"),
                    c.execute("EXEC"), c.execute("EXISTS", "a")]

    steps = compare(scenario)
    assert steps[3] == RespError("EXECABORT Transaction discarded because of previous errors.")


def test_nested_multi_exec_discard_without_multi_and_watch_inside_multi():
    def scenario(s):
        with s.client() as c:
            return [
                ("exec alone", c.execute("EXEC")),
                ("discard alone", c.execute("DISCARD")),
                c.execute("MULTI"),
                ("nested", c.execute("MULTI")),
                ("watch inside", c.execute("WATCH", "a")),
                c.execute("SET", "a", "1"),
                ("exec", c.execute("EXEC")),
                c.execute("GET", "a"),
            ]

    steps = compare(scenario)
    assert steps[0] == ("exec alone", RespError("ERR EXEC without MULTI"))
    assert steps[1] == ("discard alone", RespError("ERR DISCARD without MULTI"))
    assert steps[3] == ("nested", RespError("ERR MULTI calls can not be nested"))
    assert steps[4] == ("watch inside", RespError("ERR WATCH inside MULTI is not allowed"))


def test_discard_drops_the_queue_and_unwatches():
    def scenario(s):
        with s.client() as c, s.client() as other:
            out = [c.execute("WATCH", "w"), c.execute("MULTI"), c.execute("SET", "a", "1"),
                   c.execute("DISCARD"), c.execute("EXISTS", "a")]
            out.append(other.execute("SET", "w", "changed"))
            # the DISCARD unwatched w: this transaction runs
            out += [c.execute("MULTI"), c.execute("SET", "b", "1"), c.execute("EXEC")]
            return out

    steps = compare(scenario)
    assert steps[3] == "OK" and steps[4] == 0
    assert steps[-1] == ["OK"]


def test_queued_in_resp3_and_null_exec_bytes():
    """After HELLO 3 the aborted EXEC is RESP3 null; compare raw bytes."""
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("HELLO", "3")
            out = [raw_exec(c, "WATCH", "k"), raw_exec(c, "MULTI"), raw_exec(c, "GET", "k")]
            other.execute("SET", "k", "x")
            out.append(raw_exec(c, "EXEC"))
            out += [raw_exec(c, "MULTI"), raw_exec(c, "GET", "k"), raw_exec(c, "GET", "missing"), raw_exec(c, "EXEC")]
            return out

    steps = compare(scenario)
    assert steps[3] == b"_\r\n"
    assert steps[-1] == b"*2\r\n$1\r\nx\r\n_\r\n"


# ---------------------------------------------------------------------------
# WATCH races between two clients
# ---------------------------------------------------------------------------

def _watch_then(s, key_setup, interfere, watch_keys=("k",), watcher_db=0):
    """The watcher WATCHes keys, the other client runs interfere(other),
    then the watcher runs MULTI / SET result 1 / EXEC. Returns the EXEC
    reply and whether 'result' was set."""
    with s.client() as c, s.client() as other:
        for cmd in key_setup:
            other.execute(*cmd)
        if watcher_db:
            assert c.execute("SELECT", watcher_db) == "OK"
        assert c.execute("WATCH", *watch_keys) == "OK"
        for cmd in interfere:
            other.execute(*cmd)
        assert c.execute("MULTI") == "OK"
        assert c.execute("SET", "result", "1") == "QUEUED"
        res = c.execute("EXEC")
        return [res, c.execute("EXISTS", "result")]


def _race(setup, interfere, **kw):
    return compare(lambda s: _watch_then(s, setup, interfere, **kw))


def test_watch_other_client_writes_key_fails_exec():
    assert _race([("SET", "k", "v")], [("SET", "k", "v2")]) == [None, 0]


def test_watch_other_client_writes_same_value_still_fails_exec():
    assert _race([("SET", "k", "v")], [("SET", "k", "v")]) == [None, 0]


def test_watch_other_client_creates_missing_key_fails_exec():
    assert _race([], [("SET", "k", "new")]) == [None, 0]


def test_watch_unrelated_key_written_exec_runs():
    assert _race([("SET", "k", "v")], [("SET", "other", "x"), ("GET", "k")]) == [["OK"], 1]


def test_watch_then_del_fails_exec():
    assert _race([("SET", "k", "v")], [("DEL", "k")]) == [None, 0]


def test_watch_then_del_of_missing_key_exec_runs():
    # nothing changed: Redis does not invalidate
    assert _race([], [("DEL", "k")]) == [["OK"], 1]


def test_watch_then_expire_fails_exec():
    assert _race([("SET", "k", "v")], [("EXPIRE", "k", "100")]) == [None, 0]


def test_watch_then_persist_fails_exec():
    assert _race([("SET", "k", "v", "EX", "100")], [("PERSIST", "k")]) == [None, 0]


def test_watch_then_rename_away_fails_exec():
    assert _race([("SET", "k", "v")], [("RENAME", "k", "k2")]) == [None, 0]


def test_watch_rename_destination_fails_exec():
    assert _race([("SET", "src", "v")], [("RENAME", "src", "k")]) == [None, 0]


def test_watch_then_flushdb_fails_exec():
    assert _race([("SET", "k", "v")], [("FLUSHDB",)]) == [None, 0]


def test_watch_then_flushall_fails_exec():
    assert _race([("SET", "k", "v")], [("FLUSHALL",)]) == [None, 0]


def test_watch_missing_key_then_flushdb_exec_runs():
    # Redis 7.0 invalidates only watchers of keys that existed
    assert _race([("SET", "other", "v")], [("FLUSHDB",)]) == [["OK"], 1]


def test_watch_several_keys_one_touched_fails_exec():
    assert _race([("SET", "a", "1")], [("INCR", "c")], watch_keys=("a", "b", "c")) == [None, 0]


def test_watch_in_selected_db():
    # the watcher SELECTs db 3 before WATCH: a write to k in db 0 is unrelated
    assert _race([("SET", "k", "v")], [("SET", "k", "v2")], watcher_db=3) == [["OK"], 1]
    # a write to k in db 3 invalidates
    assert _race([], [("SELECT", "3"), ("SET", "k", "v2")], watcher_db=3) == [None, 0]


def test_watch_key_expiring_before_exec_fails_exec():
    def scenario(s):
        with s.client() as c, s.client() as other:
            other.execute("SET", "k", "v")
            other.execute("PEXPIRE", "k", "1000")
            assert c.execute("WATCH", "k") == "OK"
            alive = other.execute("PTTL", "k") > 0  # so it was alive when WATCHed
            # let it expire; PTTL then removes it
            wait_until(lambda: other.execute("PTTL", "k") == -2, what="k to expire")
            return [alive, c.execute("MULTI"), c.execute("SET", "result", "1"), c.execute("EXEC"),
                    c.execute("EXISTS", "result")]

    assert compare(scenario) == [True, "OK", "QUEUED", None, 0]


def test_watch_key_expiring_before_exec_without_any_access_fails_exec():
    """Nobody reads the key after it expired: EXEC itself must notice (or
    the active expiry removed it)."""
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("SET", "k", "v", "PX", "300")
            assert c.execute("WATCH", "k") == "OK"
            left = other.execute("PTTL", "k")  # reading a live key changes nothing
            time.sleep(max(left, 0) / 1000.0 + 0.05)  # now it has expired
            return [left > 0, c.execute("MULTI"), c.execute("SET", "result", "1"), c.execute("EXEC")]

    assert compare(scenario) == [True, "OK", "QUEUED", None]


def test_watch_already_expired_key_deleted_later_exec_runs():
    """Redis 7.0: a key that had already expired when WATCHed and is then
    removed by the active expiry is no logical change, so EXEC runs."""
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("SET", "k", "v", "PX", "1")
            time.sleep(0.02)  # k expires; reading it now would delete it
            out = [c.execute("WATCH", "k")]
            # DBSIZE counts expired keys until the active expiry removes them
            wait_until(lambda: other.execute("DBSIZE") == 0, what="active expiry of k")
            if isinstance(s, Dredis):
                assert not os.path.exists(os.path.join(s.db_dir(0), "k"))
            out += [c.execute("MULTI"), c.execute("SET", "result", "1"), c.execute("EXEC")]
            return out

    assert compare(scenario)[-1] == ["OK"]


def test_watch_already_expired_key_flushed_exec_runs():
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("SET", "k", "v", "PX", "1")
            time.sleep(0.02)  # k expires; reading it now would delete it
            out = [c.execute("WATCH", "k"), other.execute("FLUSHDB")]
            out += [c.execute("MULTI"), c.execute("SET", "result", "1"), c.execute("EXEC")]
            return out

    assert compare(scenario)[-1] == ["OK"]


def test_watch_already_expired_key_recreated_fails_exec():
    def scenario(s):
        with s.client() as c, s.client() as other:
            c.execute("SET", "k", "v", "PX", "1")
            time.sleep(0.02)  # k expires; reading it now would delete it
            out = [c.execute("WATCH", "k"), other.execute("SET", "k", "again")]
            out += [c.execute("MULTI"), c.execute("SET", "result", "1"), c.execute("EXEC")]
            return out

    assert compare(scenario)[-1] is None


def test_unwatch_clears_watches():
    def scenario(s):
        with s.client() as c, s.client() as other:
            out = [c.execute("WATCH", "k"), other.execute("SET", "k", "1"), c.execute("UNWATCH"),
                   c.execute("MULTI"), c.execute("SET", "r", "1"), c.execute("EXEC")]
            # UNWATCH also clears an already-dirty watch; WATCH again works normally
            out += [c.execute("WATCH", "k"), c.execute("UNWATCH"), other.execute("SET", "k", "2"),
                    c.execute("MULTI"), c.execute("EXEC")]
            return out

    steps = compare(scenario)
    assert steps[5] == ["OK"]
    assert steps[-1] == []


def test_exec_unwatches_keys():
    def scenario(s):
        with s.client() as c, s.client() as other:
            out = [c.execute("WATCH", "k"), c.execute("MULTI"), c.execute("EXEC")]
            out.append(other.execute("SET", "k", "1"))
            out += [c.execute("MULTI"), c.execute("GET", "k"), c.execute("EXEC")]
            # a failed EXEC also unwatches
            out += [c.execute("WATCH", "k"), other.execute("SET", "k", "2"), c.execute("MULTI"), c.execute("EXEC"),
                    other.execute("SET", "k", "3"), c.execute("MULTI"), c.execute("GET", "k"), c.execute("EXEC")]
            return out

    steps = compare(scenario)
    assert steps[6] == [b"1"]
    assert steps[10] is None
    assert steps[-1] == [b"3"]


def test_watch_own_write_before_multi_fails_exec():
    def scenario(s):
        with s.client() as c:
            return [c.execute("WATCH", "k"), c.execute("SET", "k", "mine"), c.execute("MULTI"),
                    c.execute("GET", "k"), c.execute("EXEC")]

    assert compare(scenario)[-1] is None


def test_watch_by_many_clients_all_invalidated():
    def scenario(s):
        watchers = [s.client() for _ in range(5)]
        try:
            with s.client() as other:
                for w in watchers:
                    w.execute("WATCH", "k")
                other.execute("SET", "k", "1")
                out = []
                for w in watchers:
                    w.execute("MULTI")
                    w.execute("GET", "k")
                    out.append(w.execute("EXEC"))
                return out
        finally:
            for w in watchers:
                w.close()

    assert compare(scenario) == [None] * 5


def test_closing_a_watching_client_leaves_others_working():
    with Dredis() as s, s.client() as a, s.client() as b, s.client() as other:
        a.execute("WATCH", "k")
        b.execute("WATCH", "k")
        a.close()
        wait_until(lambda: len(other.execute("CLIENT", "LIST").splitlines()) == 2, what="a to be gone")
        other.execute("SET", "k", "1")
        b.execute("MULTI")
        assert b.execute("EXEC") is None


def test_multi_commands_flagged_no_multi_are_rejected_like_redis():
    def scenario(s):
        with s.client() as c:
            return [c.execute("MULTI"), c.execute("SUBSCRIBE", "ch"), c.execute("PING"),
                    c.execute("EXEC"), c.execute("PING")]

    compare(scenario)


def test_reset_inside_multi_leaves_transaction():
    def scenario(s):
        with s.client() as c:
            return [c.execute("MULTI"), c.execute("SET", "a", "1"), c.execute("RESET"), c.execute("EXEC"),
                    c.execute("EXISTS", "a")]

    steps = compare(scenario)
    assert steps[2] == "RESET" and steps[3] == RespError("ERR EXEC without MULTI")


def test_exec_raw_bytes_resp2():
    with Pair() as p:
        for cmd in (("MULTI",), ("SET", "a", "1"), ("GET", "a"), ("GET", "zz"), ("EXEC",)):
            a, b = raw_exec(p.d, *cmd), raw_exec(p.r, *cmd)
            assert a == b, (cmd, a, b)


def test_select_and_hello_inside_exec():
    def scenario(s):
        with s.client() as c:
            out = [c.execute("MULTI"), c.execute("SELECT", "4"), c.execute("SET", "a", "1"), c.execute("EXEC"),
                   c.execute("GET", "a"), c.execute("SELECT", "0"), c.execute("GET", "a")]
            c.send("MULTI")
            c.send("HELLO", "3")
            c.send("GET", "missing")
            c.send("EXEC")
            out += [read_raw(c), read_raw(c), read_raw(c)]
            out.append(re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"", read_raw(c)))
            return out

    out = compare(scenario)
    assert out[3] == ["OK", "OK"] and out[4] == b"1" and out[6] is None


def test_key_written_between_multi_and_exec_fails_exec():
    def scenario(s):
        with s.client() as c, s.client() as other:
            out = [c.execute("WATCH", "k"), c.execute("MULTI"), c.execute("INCR", "k"),
                   other.execute("SET", "k", "10"), c.execute("INCR", "k"), c.execute("EXEC"),
                   c.execute("GET", "k")]
            return out

    out = compare(scenario)
    assert out[-2:] == [None, b"10"]


def test_long_transaction():
    def scenario(s):
        with s.client() as c:
            cmds = [("MULTI",)] + [("INCR", "n")] * 500 + [("EXEC",)]
            replies = c.pipeline(cmds)
            return [replies[0], set(map(repr, replies[1:-1])), replies[-1][-1], len(replies[-1])]

    assert compare(scenario) == ["OK", {"'QUEUED'"}, 500, 500]


def test_discard_and_exec_inside_resp3_and_errors_count():
    with Pair() as p:
        p.run("HELLO", "3", normalize=lambda r: {k: v for k, v in r.items() if k != b"id"})
        p.run("MULTI")
        p.run("SET", "a", "1")
        p.run("DISCARD")
        p.run("MULTI")
        p.run("INCR", "a")
        p.run("EXEC")
        p.run("DISCARD")


def test_watch_and_swapdb():
    # k missing in db 0 but present in db 1: SWAPDB 0 1 makes it appear
    assert _race([("SELECT", "1"), ("SET", "k", "v")], [("SWAPDB", "0", "1")]) == [None, 0]
    # k present in db 0 only: SWAPDB makes it disappear
    assert _race([("SET", "k", "v")], [("SWAPDB", "0", "1")]) == [None, 0]
    # k in neither db: nothing changed for the watcher
    assert _race([("SET", "other", "v")], [("SWAPDB", "0", "1")]) == [["OK"], 1]
    # a swap of two other databases
    assert _race([("SELECT", "2"), ("SET", "k", "v")], [("SWAPDB", "2", "3")]) == [["OK"], 1]


def test_rejected_exec_is_an_execabort():
    """Redis reports an EXEC refused before it runs (arity, subscribed mode,
    NOAUTH) as EXECABORT '...because of: <error>' and drops the queue."""
    def scenario(s):
        with s.client() as c, s.client() as sub:
            out = [c.execute("EXEC", "x"), c.execute("MULTI"), c.execute("SET", "a", "1"), c.execute("EXEC", "x"),
                   c.execute("EXEC"), c.execute("GET", "a")]
            sub.execute("SUBSCRIBE", "ch")
            out += [sub.execute("EXEC"), sub.execute("DISCARD"), sub.execute("MULTI")]
            return out

    out = compare(scenario)
    assert out[0] == RespError("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' "
                               "command")
    assert out[4] == RespError("ERR EXEC without MULTI") and out[5] is None


def test_exec_before_auth_is_an_execabort():
    def scenario(s):
        with s.client() as c:
            return [c.execute("EXEC"), c.execute("MULTI"), c.execute("DISCARD")]

    out = compare(scenario, dredis_env={"DREDIS_REQUIREPASS": "pw"}, redis_args=("--requirepass", "pw"))
    assert out[0] == RespError("EXECABORT Transaction discarded because of: NOAUTH Authentication required.")


def test_commands_refused_inside_exec():
    def scenario(s):
        with s.client() as c:
            return [c.execute("MULTI"), c.execute("MONITOR"), c.execute("SET", "a", "1"), c.execute("EXEC"),
                    c.execute("MULTI"), c.execute("SHUTDOWN"), c.execute("EXEC"), c.execute("PING")]

    out = compare(scenario)
    assert out[3] == [RespError("ERR MONITOR isn't allowed for DENY BLOCKING client"), "OK"]
    assert out[5] == RespError("ERR Command not allowed inside a transaction")


def test_transaction_commands_info():
    with Pair() as p:
        p.run("COMMAND", "INFO", "multi", "exec", "discard", "watch", "unwatch", "shutdown")


def test_watch_across_repeated_flushes():
    """Each round: WATCH, FLUSHDB by another client, EXEC fails; a few ms
    between rounds let the store's background pools refill."""
    def scenario(s):
        out = []
        with s.client() as c, s.client() as other:
            for i in range(20):
                other.execute("SET", "k", i)
                c.execute("WATCH", "k")
                time.sleep(0.02)
                out.append(other.execute("FLUSHALL" if i % 2 else "FLUSHDB"))
                c.execute("MULTI")
                c.execute("SET", "r", i)
                out.append(c.execute("EXEC"))
        return out

    assert compare(scenario) == ["OK", None] * 20


def test_watch_swapdb_with_expired_keys():
    """Redis 7.0's SWAPDB cases of keys already expired but not yet removed
    (active expiry off): a missing key replaced by an expired one, and an
    expired key replaced by another, are no change; an expired watched key
    replaced by a live one is (multi.tcl's needs:debug tests, and more)."""
    def scenario(p, setup, swap=("SWAPDB", "0", "1")):
        p.run("FLUSHALL")
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        for db, cmd in setup:
            p.run("SELECT", db)
            p.run(*cmd)
        time.sleep(0.01)
        p.run("SELECT", "1")
        p.run("WATCH", "x")
        p.run(*swap)
        p.run("MULTI")
        p.run("PING")
        r = p.run("EXEC")
        p.run("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        p.run("SELECT", "0")
        return r

    env, args = {"DREDIS_ENABLE_DEBUG_COMMAND": "yes"}, ("--enable-debug-command", "yes")
    with Pair(env=env, redis_args=args) as p:
        stale = ("SET", "x", "foo", "PX", "1")
        assert scenario(p, [("0", stale)]) == ["PONG"]  # missing replaced by stale
        assert scenario(p, [("1", stale), ("0", ("SET", "x", "bar", "PX", "1"))]) == ["PONG"]  # stale by stale
        assert scenario(p, [("1", stale), ("0", ("SET", "x", "live"))]) is None  # stale by live
        assert scenario(p, [("1", stale)]) == ["PONG"]  # stale by nothing
        assert scenario(p, [("1", ("SET", "x", "live"))]) is None  # live by nothing
        assert scenario(p, [("0", stale)], swap=("SWAPDB", "2", "3")) == ["PONG"]  # other databases
