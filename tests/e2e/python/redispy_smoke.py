"""redispy_smoke.py PORT - redis-py (Debian's python3-redis), used as an
application would, against a dredis-server on 127.0.0.1:PORT.

Run with the interpreter that has redis-py (/usr/bin/python3 on Debian).
Prints one 'ok SECTION' line per section that passed, 'skip SECTION: why'
for a feature this redis-py lacks, and 'ALL OK' at the end; on the first
failure it prints the traceback and exits 1. No assertion depends on timing:
every wait is bounded and only guards against a hang."""
import inspect
import sys
import threading
import time
import traceback

import redis

PORT = int(sys.argv[1])
R = redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=60)
S = redis.Redis(host="127.0.0.1", port=PORT, socket_timeout=60, decode_responses=True)


def eq(a, b, what=""):
    assert a == b, "%s: %r != %r" % (what, a, b)


def strings():
    eq(R.ping(), True)
    eq(R.echo("hi"), b"hi")
    eq(R.set("s", "v"), True)
    eq(R.get("s"), b"v")
    eq(R.get("nosuch"), None)
    eq(R.set("s", "w", nx=True), None)
    eq(R.set("s", "w", xx=True), True)
    eq(R.set("s2", "x", xx=True), None)
    eq(R.set("s", "old", get=True), b"w")
    eq(R.mset({"a": 1, "b": 2, "c": "three"}), True)
    eq(R.mget("a", "b", "c", "nosuch"), [b"1", b"2", b"three", None])
    eq(R.msetnx({"a": 5, "new": 1}), False)
    eq(R.incr("a"), 2)
    eq(R.incrby("a", 10), 12)
    eq(R.decr("a"), 11)
    eq(R.decrby("a", 3), 8)
    eq(R.incrbyfloat("f", 1.5), 1.5)
    eq(R.incrbyfloat("f", 0.25), 1.75)
    try:
        R.incr("c")
        raise AssertionError("INCR of a non-integer did not fail")
    except redis.ResponseError as e:
        eq(str(e), "value is not an integer or out of range")
    eq(R.append("s", "er"), 5)
    eq(R.strlen("s"), 5)
    eq(R.getrange("s", 1, 3), b"lde")
    eq(R.setrange("s", 0, "ZZ"), 5)
    eq(R.get("s"), b"ZZder")
    eq(R.getset("s", "n"), b"ZZder")
    eq(R.getdel("s"), b"n")
    eq(R.exists("s"), 0)
    eq(R.set("bin", b"\x00\xff\r\n"), True)
    eq(R.get("bin"), b"\x00\xff\r\n")
    big = b"x" * (1 << 20)
    R.set("big", big)
    eq(R.get("big"), big)
    eq(R.set("ttl", "v", ex=100), True)
    assert 0 < R.ttl("ttl") <= 100
    assert 0 < R.pttl("ttl") <= 100000
    eq(R.persist("ttl"), True)
    eq(R.ttl("ttl"), -1)
    eq(R.expire("ttl", 50), True)
    eq(R.getex("ttl", persist=True), b"v")
    eq(R.ttl("ttl"), -1)
    R.set("gone", "v", px=1)
    deadline = time.time() + 10
    while R.exists("gone") and time.time() < deadline:
        time.sleep(0.01)
    eq(R.get("gone"), None, "expired key")
    eq(R.setex("sx", 100, "v"), True)
    eq(R.setnx("sx", "w"), False)
    eq(R.type("sx"), b"string")
    eq(R.rename("sx", "sy"), True)
    eq(R.renamenx("sy", "a"), False)
    eq(R.delete("sy", "nosuch"), 1)
    eq(R.unlink("a", "b"), 2)
    eq(S.get("c"), "three")
    eq(S.set("unicode", "h\u00e9llo \u2603"), True)
    eq(S.get("unicode"), "h\u00e9llo \u2603")
    eq(S.copy("unicode", "unicode2"), True)
    eq(S.get("unicode2"), "h\u00e9llo \u2603")


def hashes():
    eq(R.hset("h", "f1", "v1"), 1)
    eq(R.hset("h", mapping={"f2": "v2", "f3": 3}), 2)
    eq(R.hget("h", "f1"), b"v1")
    eq(R.hgetall("h"), {b"f1": b"v1", b"f2": b"v2", b"f3": b"3"})
    eq(R.hmget("h", ["f1", "nosuch", "f3"]), [b"v1", None, b"3"])
    eq(R.hincrby("h", "f3", 4), 7)
    eq(R.hincrbyfloat("h", "fl", 2.5), 2.5)
    eq(R.hsetnx("h", "f1", "x"), False)
    eq(R.hexists("h", "f2"), True)
    eq(R.hlen("h"), 4)
    eq(sorted(R.hkeys("h")), [b"f1", b"f2", b"f3", b"fl"])
    eq(sorted(R.hvals("h")), [b"2.5", b"7", b"v1", b"v2"])
    eq(R.hstrlen("h", "f1"), 2)
    eq(R.hdel("h", "f1", "f2", "nosuch"), 2)
    R.hset("hbig", mapping={"k%d" % i: i for i in range(300)})
    got = dict(R.hscan_iter("hbig", count=20))
    eq(len(got), 300, "hscan_iter")
    eq(got[b"k42"], b"42")
    eq(S.hgetall("h"), {"f3": "7", "fl": "2.5"})
    assert S.hrandfield("hbig") in {"k%d" % i for i in range(300)}


def lists():
    eq(R.rpush("l", "a", "b", "c"), 3)
    eq(R.lpush("l", "z"), 4)
    eq(R.lrange("l", 0, -1), [b"z", b"a", b"b", b"c"])
    eq(R.llen("l"), 4)
    eq(R.lindex("l", 1), b"a")
    eq(R.lset("l", 1, "A"), True)
    eq(R.linsert("l", "before", "b", "x"), 5)
    eq(R.lpos("l", "b"), 3)
    eq(R.lrem("l", 0, "x"), 1)
    eq(R.lpop("l"), b"z")
    eq(R.rpop("l"), b"c")
    eq(R.rpush("l", *range(10)), 12)
    eq(R.lpop("l", 2), [b"A", b"b"])
    eq(R.rpop("l", 2), [b"9", b"8"])
    eq(R.ltrim("l", 0, 2), True)
    eq(R.lrange("l", 0, -1), [b"0", b"1", b"2"])
    eq(R.lmove("l", "l2", "LEFT", "RIGHT"), b"0")
    eq(R.rpoplpush("l", "l2"), b"2")
    eq(R.lrange("l2", 0, -1), [b"2", b"0"])
    eq(R.lpushx("nosuch", "v"), 0)
    eq(R.rpushx("l2", "v"), 3)


def sets():
    eq(R.sadd("s1", "a", "b", "c"), 3)
    eq(R.sadd("s2", "b", "c", "d"), 3)
    eq(R.sadd("s1", "a"), 0)
    eq(R.smembers("s1"), {b"a", b"b", b"c"})
    eq(R.sismember("s1", "a"), True)
    eq(R.smismember("s1", ["a", "x"]), [1, 0])
    eq(R.scard("s1"), 3)
    eq(R.sinter("s1", "s2"), {b"b", b"c"})
    eq(R.sunion("s1", "s2"), {b"a", b"b", b"c", b"d"})
    eq(R.sdiff("s1", "s2"), {b"a"})
    eq(R.sinterstore("s3", ["s1", "s2"]), 2)
    eq(R.sunionstore("s4", ["s1", "s2"]), 4)
    eq(R.sdiffstore("s5", ["s1", "s2"]), 1)
    eq(R.smove("s1", "s2", "a"), True)
    eq(R.srem("s1", "b", "x"), 1)
    assert R.spop("s4") in {b"a", b"b", b"c", b"d"}
    assert R.srandmember("s2") in {b"a", b"b", b"c", b"d"}
    eq(len(R.srandmember("s2", 2)), 2)
    R.sadd("sbig", *range(500))
    eq(len(set(R.sscan_iter("sbig", count=50))), 500, "sscan_iter")
    eq(len(set(R.sscan_iter("sbig", match="1*"))), 111, "sscan_iter match")
    eq(S.smembers("s1"), {"c"})


def zsets():
    eq(R.zadd("z", {"a": 1, "b": 2, "c": 3}), 3)
    eq(R.zadd("z", {"a": 5}, nx=True), 0)
    eq(R.zadd("z", {"a": 0.5}, xx=True, ch=True), 1)
    eq(R.zadd("z", {"a": 10}, lt=True), 0)
    eq(R.zadd("z", {"d": 4}, incr=True), 4.0)
    eq(R.zrange("z", 0, -1), [b"a", b"b", b"c", b"d"])
    eq(R.zrange("z", 0, 1, withscores=True), [(b"a", 0.5), (b"b", 2.0)])
    eq(R.zrevrange("z", 0, 0, withscores=True), [(b"d", 4.0)])
    eq(R.zrangebyscore("z", 2, "+inf"), [b"b", b"c", b"d"])
    eq(R.zrangebyscore("z", "(2", 10, start=0, num=1), [b"c"])
    eq(R.zrevrangebyscore("z", 10, 2), [b"d", b"c", b"b"])
    eq(R.zrange("z", 1, 3, byscore=True, withscores=True), [(b"b", 2.0), (b"c", 3.0)])
    eq(R.zrange("z", 0, 1, desc=True), [b"d", b"c"])
    eq(R.zrank("z", "c"), 2)
    eq(R.zrevrank("z", "c"), 1)
    eq(R.zscore("z", "b"), 2.0)
    eq(R.zscore("z", "nosuch"), None)
    eq(R.zmscore("z", ["a", "nosuch"]), [0.5, None])
    eq(R.zincrby("z", 2.5, "b"), 4.5)
    eq(R.zcard("z"), 4)
    eq(R.zcount("z", 3, 4.5), 3)
    eq(R.zrem("z", "c", "nosuch"), 1)
    eq(R.zpopmin("z"), [(b"a", 0.5)])
    eq(R.zpopmax("z", 2), [(b"b", 4.5), (b"d", 4.0)])
    eq(R.exists("z"), 0)
    R.zadd("za", {"x": 1, "y": 2})
    R.zadd("zb", {"y": 10, "z": 20})
    eq(R.zunionstore("zu", ["za", "zb"]), 3)
    eq(R.zrange("zu", 0, -1, withscores=True), [(b"x", 1.0), (b"y", 12.0), (b"z", 20.0)])
    eq(R.zinterstore("zi", {"za": 2, "zb": 1}, aggregate="MAX"), 1)
    eq(R.zrange("zi", 0, -1, withscores=True), [(b"y", 10.0)])
    R.zadd("zl", {"a": 0, "b": 0, "c": 0, "d": 0})
    eq(R.zrangebylex("zl", "[b", "(d"), [b"b", b"c"])
    eq(R.zlexcount("zl", "-", "+"), 4)
    eq(R.zremrangebyrank("zl", 0, 1), 2)
    R.zadd("zbig", {"m%d" % i: i for i in range(400)})
    got = dict(R.zscan_iter("zbig", count=30))
    eq(len(got), 400, "zscan_iter")
    eq(got[b"m7"], 7.0)
    eq(R.zremrangebyscore("zbig", 100, "+inf"), 300)
    eq(S.zrange("zu", 0, 0), ["x"])


def redis7():
    """Redis 6.2/7.0 forms that redis-py 4.3 exposes as methods."""
    import datetime
    R.set("r7", "v")
    eq(R.expire("r7", 100, nx=True), True)
    eq(R.expire("r7", 50, gt=True), False)
    eq(R.expire("r7", 200, gt=True), True)
    eq(R.expire("r7", 300, lt=True), False)
    assert R.expiretime("r7") > time.time()
    eq(R.set("r7", "w", keepttl=True), True)
    assert 100 < R.ttl("r7") <= 200
    at = int(time.time()) + 1000
    eq(R.set("r7x", "v", exat=at), True)
    eq(R.expiretime("r7x"), at)
    eq(R.getex("r7x", pxat=at * 1000 + 500), b"v")
    eq(R.pexpiretime("r7x") if hasattr(R, "pexpiretime") else at * 1000 + 500, at * 1000 + 500)
    eq(R.getex("r7x", ex=datetime.timedelta(seconds=60)), b"v")
    R.rpush("r7l", "a", "b", "a", "c", "a")
    eq(R.lpos("r7l", "a", rank=2), 2)
    eq(R.lpos("r7l", "a", count=0), [0, 2, 4])
    eq(R.lpos("r7l", "a", rank=-1, count=2), [4, 2])
    eq(R.lmpop(2, "r7none", "r7l", direction="RIGHT", count=2), [b"r7l", [b"a", b"c"]])
    eq(R.blmpop(1, 1, "r7l", direction="LEFT", count=1), [b"r7l", [b"a"]])
    R.sadd("r7s1", "a", "b", "c")
    R.sadd("r7s2", "b", "c", "d")
    eq(R.sintercard(2, ["r7s1", "r7s2"]), 2)
    eq(R.sintercard(2, ["r7s1", "r7s2"], limit=1), 1)
    eq(R.smismember("r7s1", ["a", "d"]), [1, 0])
    R.zadd("r7z1", {"a": 1, "b": 2, "c": 3})
    R.zadd("r7z2", {"b": 10, "c": 20, "d": 30})
    eq(R.zinter(["r7z1", "r7z2"], withscores=True), [(b"b", 12.0), (b"c", 23.0)])
    eq(R.zunion(["r7z1", "r7z2"], aggregate="MIN"), [b"a", b"b", b"c", b"d"])
    eq(R.zdiff(["r7z1", "r7z2"], withscores=True), [b"a", b"1"])  # (redis-py 4.3 does not pair these)
    eq(R.zintercard(2, ["r7z1", "r7z2"]), 2)
    eq(R.zrangestore("r7zs", "r7z2", 15, 100, byscore=True), 2)
    eq(R.zrange("r7zs", 0, -1), [b"c", b"d"])
    eq(R.zadd("r7z1", {"a": 0}, gt=True, ch=True), 0)
    eq(R.zadd("r7z1", {"a": 5}, gt=True, ch=True), 1)
    eq(R.zmpop(2, ["r7none", "r7z1"], min=True, count=2), [b"r7z1", [[b"b", b"2"], [b"c", b"3"]]])
    eq(R.bzmpop(1, 1, ["r7z1"], max=True), [b"r7z1", [[b"a", b"5"]]])
    got = R.zrandmember("r7z2", 2, withscores=True)
    eq(len(got), 4)
    got = R.hrandfield("hbig", 3, withvalues=True)
    eq(len(got), 6)
    eq(R.copy("r7s1", "r7s2", replace=True), True)
    eq(R.smembers("r7s2"), {b"a", b"b", b"c"})
    eq(R.copy("r7s1", "r7db", destination_db=3), True)
    eq(R.object("encoding", "nosuch"), None)


def pipelines():
    with R.pipeline(transaction=False) as p:
        p.set("p1", 1).incr("p1").get("p1").lpush("pl", "a", "b").lrange("pl", 0, -1)
        p.hset("ph", "f", "v").hgetall("ph").zadd("pz", {"m": 1}).zscore("pz", "m")
        p.incr("plist")  # fine
        p.lpush("p1", "x")  # WRONGTYPE, must not stop the rest
        p.get("p1")
        res = p.execute(raise_on_error=False)
    eq(res[:10], [True, 2, b"2", 2, [b"b", b"a"], 1, {b"f": b"v"}, 1, 1.0, 1])
    assert isinstance(res[10], redis.ResponseError) and "WRONGTYPE" in str(res[10]), res[10]
    eq(res[11], b"2")
    with R.pipeline() as p:
        p.multi()
        p.set("t1", "a").append("t1", "b").get("t1").incr("t2").incr("t2")
        eq(p.execute(), [True, 2, b"ab", 1, 2])
    with R.pipeline(transaction=True) as p:
        p.set("t3", "str").incr("t3").set("t4", "after")
        try:
            p.execute()
            raise AssertionError("EXEC with a failing command raised nothing")
        except redis.ResponseError as e:
            assert "not an integer" in str(e), e
    eq(R.get("t4"), b"after", "commands after a failing one in MULTI still run")
    # an error queued before EXEC (unknown command) aborts the transaction
    with R.pipeline(transaction=True) as p:
        p.set("t5", "x")
        p.execute_command("NOSUCHCOMMAND", "a")
        try:
            p.execute()
            raise AssertionError("EXEC after a queuing error raised nothing")
        except redis.ResponseError:
            pass
    eq(R.exists("t5"), 0, "EXECABORT discards the transaction")
    # a long pipeline
    with R.pipeline(transaction=False) as p:
        for i in range(2000):
            p.rpush("plong", i)
        res = p.execute()
    eq(res[-1], 2000)
    eq(R.llen("plong"), 2000)


def watch():
    other = redis.Redis(host="127.0.0.1", port=PORT)
    R.set("acct", 100)
    with R.pipeline() as p:
        p.watch("acct")
        bal = int(p.get("acct"))
        other.incrby("acct", 1)  # somebody else writes between WATCH and EXEC
        p.multi()
        p.set("acct", bal - 10)
        try:
            p.execute()
            raise AssertionError("EXEC after a watched key changed raised no WatchError")
        except redis.WatchError:
            pass
    eq(R.get("acct"), b"101")
    with R.pipeline() as p:
        p.watch("acct")
        bal = int(p.get("acct"))
        p.multi()
        p.set("acct", bal - 10)
        eq(p.execute(), [True])
    eq(R.get("acct"), b"91")
    # a watched key that expires or is deleted also aborts
    with R.pipeline() as p:
        p.watch("acct")
        other.delete("acct")
        p.multi()
        p.set("acct", 1)
        try:
            p.execute()
            raise AssertionError("DEL of a watched key did not abort EXEC")
        except redis.WatchError:
            pass
    # optimistic locking under contention: threads increment through
    # WATCH/MULTI/EXEC with retries; no increment may be lost
    R.set("counter", 0)
    retries = []

    def incr_many(n):
        c = redis.Redis(host="127.0.0.1", port=PORT)
        for _ in range(n):
            def tx(pipe):
                v = int(pipe.get("counter"))
                time.sleep(0.001)  # invite the other threads in
                pipe.multi()
                pipe.set("counter", v + 1)
            while True:
                try:
                    c.transaction(tx, "counter")
                    break
                except redis.WatchError:
                    retries.append(1)
        c.close()

    threads = [threading.Thread(target=incr_many, args=(50,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "WATCH contention threads hang"
    eq(R.get("counter"), b"200", "increments under WATCH")
    other.close()
    print("   (%d WatchError retries under contention)" % len(retries))


def pubsub():
    p = R.pubsub()
    p.subscribe("news", "sport")
    seen = []
    deadline = time.time() + 30
    while len(seen) < 2 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m:
            seen.append(m)
    eq([(m["type"], m["channel"], m["data"]) for m in seen],
       [("subscribe", b"news", 1), ("subscribe", b"sport", 2)])
    p.psubscribe("wea*")
    m = p.get_message(timeout=10)
    eq((m["type"], m["channel"], m["data"]), ("psubscribe", b"wea*", 3))
    eq(R.pubsub_numsub("news", "nothing"), [(b"news", 1), (b"nothing", 0)])
    assert b"sport" in R.pubsub_channels()
    eq(R.pubsub_numpat(), 1)
    eq(R.publish("news", "hello"), 1)
    eq(R.publish("weather", "rain"), 1)
    eq(R.publish("nobody", "x"), 0)
    got = []
    deadline = time.time() + 30
    while len(got) < 2 and time.time() < deadline:
        m = p.get_message(timeout=1)
        if m:
            got.append(m)
    eq([(m["type"], m.get("pattern"), m["channel"], m["data"]) for m in got],
       [("message", None, b"news", b"hello"), ("pmessage", b"wea*", b"weather", b"rain")])
    p.unsubscribe("news")
    p.punsubscribe()
    p.close()
    # a callback handler and listen() in a thread, as applications do
    received = []
    done = threading.Event()
    q = S.pubsub(ignore_subscribe_messages=True)
    q.subscribe("jobs")

    def listener():
        for m in q.listen():
            if m["type"] != "message":
                continue
            if m["data"] == "stop":
                break
            received.append(m["data"])
        done.set()

    t = threading.Thread(target=listener, daemon=True)
    t.start()
    deadline = time.time() + 30
    while S.pubsub_numsub("jobs")[0][1] < 1 and time.time() < deadline:
        time.sleep(0.01)
    for i in range(100):
        S.publish("jobs", "job-%d" % i)
    S.publish("jobs", "stop")
    assert done.wait(60), "listen() did not get the stop message"
    eq(received, ["job-%d" % i for i in range(100)])
    q.close()
    # run_in_thread with a handler
    handled = []
    r = S.pubsub()
    r.subscribe(**{"cb": lambda m: handled.append(m["data"])})
    worker = r.run_in_thread(sleep_time=0.05, daemon=True)
    deadline = time.time() + 30
    while S.pubsub_numsub("cb")[0][1] < 1 and time.time() < deadline:
        time.sleep(0.01)
    S.publish("cb", "one")
    S.publish("cb", "two")
    deadline = time.time() + 30
    while len(handled) < 2 and time.time() < deadline:
        time.sleep(0.01)
    worker.stop()
    worker.join(30)
    r.close()
    eq(handled, ["one", "two"])


def scripts():
    incr_by = R.register_script("""
        local v = redis.call('INCRBY', KEYS[1], ARGV[1])
        redis.call('RPUSH', KEYS[2], v)
        return {v, redis.call('LLEN', KEYS[2]), 'text', 1.5}
    """)
    eq(incr_by(keys=["lua:n", "lua:l"], args=[5]), [5, 1, b"text", 1])
    eq(incr_by(keys=["lua:n", "lua:l"], args=[2]), [7, 2, b"text", 1])
    eq(R.script_exists(incr_by.sha), [True])
    R.script_flush()
    eq(R.script_exists(incr_by.sha), [False])
    # the Script object reloads itself after NOSCRIPT
    eq(incr_by(keys=["lua:n", "lua:l"], args=[1]), [8, 3, b"text", 1])
    with R.pipeline() as p:
        incr_by(keys=["lua:n", "lua:l"], args=[1], client=p)
        p.get("lua:n")
        eq(p.execute(), [[9, 4, b"text", 1], b"9"])
    R.script_flush()
    with R.pipeline() as p:  # a pipeline loads missing scripts before running
        incr_by(keys=["lua:n", "lua:l"], args=[1], client=p)
        eq(p.execute(), [[10, 5, b"text", 1]])
    eq(R.eval("return redis.call('GET', KEYS[1])", 1, "lua:n"), b"10")
    sha = R.script_load("return ARGV[1] .. ARGV[2]")
    eq(R.evalsha(sha, 0, "a", "b"), b"ab")
    try:
        R.eval("return redis.error_reply('my error')", 0)
        raise AssertionError("error_reply raised nothing")
    except redis.ResponseError as e:
        eq(str(e), "my error")
    try:
        R.eval("return redis.call('INCR', KEYS[1])", 1, "lua:l")
        raise AssertionError("a failing call raised nothing")
    except redis.ResponseError as e:
        assert "WRONGTYPE" in str(e), e
    js = R.eval("return cjson.encode({a=1, b={'x','y'}})", 0)
    import json
    eq(json.loads(js), {"a": 1, "b": ["x", "y"]})
    # redis-py's Lock is built on Lua scripts
    lock = R.lock("resource", timeout=30, blocking_timeout=10)
    assert lock.acquire()
    assert not R.lock("resource", blocking_timeout=0.1).acquire()
    assert lock.owned()
    lock.extend(10)
    lock.release()
    assert not R.exists("resource")
    with R.lock("resource2", timeout=30):
        assert R.exists("resource2")
    assert not R.exists("resource2")


def scanning():
    R.flushdb()
    with R.pipeline(transaction=False) as p:
        for i in range(1000):
            p.set("user:%d" % i, i)
        for i in range(200):
            p.sadd("other:%d" % i, i)
        p.execute()
    keys = set(R.scan_iter(match="user:*", count=100))
    eq(len(keys), 1000, "scan_iter match")
    eq(len(set(R.scan_iter())), 1200, "scan_iter all")
    eq(len(set(R.scan_iter(_type="SET"))), 200, "scan_iter type")
    eq(R.dbsize(), 1200)
    eq(len(R.keys("other:1*")), 111)
    assert R.randomkey() is not None
    R.flushdb()
    eq(R.dbsize(), 0)
    eq(R.randomkey(), None)


def blocking():
    eq(R.blpop(["bl:empty"], timeout=1), None, "BLPOP timeout")
    R.rpush("bl:1", "x")
    eq(R.blpop(["bl:0", "bl:1"], timeout=5), (b"bl:1", b"x"))
    other = redis.Redis(host="127.0.0.1", port=PORT)

    def later(fn):
        def run():
            # wait until the main client is blocked, then wake it
            deadline = time.time() + 30
            while time.time() < deadline:
                if any(c.get("cmd", "").startswith(("blpop", "brpop", "blmove", "bzpopmin", "brpoplpush"))
                       for c in other.client_list()):
                    break
                time.sleep(0.01)
            fn()
        t = threading.Thread(target=run)
        t.start()
        return t

    t = later(lambda: other.rpush("bl:q", "wake"))
    eq(R.blpop("bl:q", timeout=60), (b"bl:q", b"wake"), "BLPOP woken by RPUSH")
    t.join()
    t = later(lambda: other.lpush("bl:r", "w2"))
    eq(R.brpop(["bl:x", "bl:r"], timeout=60), (b"bl:r", b"w2"), "BRPOP woken")
    t.join()
    t = later(lambda: other.rpush("bl:src", "m"))
    eq(R.blmove("bl:src", "bl:dst", 60, "LEFT", "RIGHT"), b"m", "BLMOVE woken")
    t.join()
    eq(R.lrange("bl:dst", 0, -1), [b"m"])
    R.rpush("bl:src", "n")
    eq(R.brpoplpush("bl:src", "bl:dst", timeout=5), b"n")
    t = later(lambda: other.zadd("bl:z", {"zz": 3}))
    eq(R.bzpopmin(["bl:z"], timeout=60), (b"bl:z", b"zz", 3.0), "BZPOPMIN woken")
    t.join()
    # several blocked clients are served first come, first served
    results = {}

    def blocked(i):
        c = redis.Redis(host="127.0.0.1", port=PORT)
        results[i] = c.blpop("bl:fifo", timeout=60)
        c.close()
    ts = []
    for i in range(3):
        th = threading.Thread(target=blocked, args=(i,))
        th.start()
        ts.append(th)
        deadline = time.time() + 30
        while time.time() < deadline and sum(
                1 for c in other.client_list() if c.get("cmd") == "blpop") < i + 1:
            time.sleep(0.01)
    other.rpush("bl:fifo", "a", "b", "c")
    for th in ts:
        th.join(90)
    eq(results, {0: (b"bl:fifo", b"a"), 1: (b"bl:fifo", b"b"), 2: (b"bl:fifo", b"c")})
    other.close()


def server():
    info = R.info()
    eq(info["redis_version"].split(".")[0], "7")
    assert "connected_clients" in info
    assert "used_memory" in R.info("memory")
    R.client_setname("smoke")
    eq(R.client_getname(), "smoke")
    assert any(c.get("name") == "smoke" for c in R.client_list())
    assert isinstance(R.client_id(), int)
    assert isinstance(R.time()[0], int)
    cfg = R.config_get("maxmemory*")
    assert isinstance(cfg, dict), cfg
    db1 = redis.Redis(host="127.0.0.1", port=PORT, db=1)
    db1.set("in1", "x")
    eq(R.exists("in1"), 0)
    eq(db1.get("in1"), b"x")
    db1.close()
    url = redis.Redis.from_url("redis://127.0.0.1:%d/2" % PORT)
    url.set("u", 1)
    eq(url.get("u"), b"1")
    url.close()
    # a pool shared by threads
    pool = redis.ConnectionPool(host="127.0.0.1", port=PORT, max_connections=8)
    shared = redis.Redis(connection_pool=pool)
    errors = []

    def hammer(i):
        try:
            for j in range(100):
                shared.hincrby("pool:h", "f%d" % (j % 5), 1)
        except Exception as e:  # noqa
            errors.append(e)
    ts = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    eq(errors, [])
    eq(sum(int(v) for v in shared.hvals("pool:h")), 800)
    pool.disconnect()


def resp3():
    params = inspect.signature(redis.Redis.__init__).parameters
    if "protocol" not in params:
        print("skip resp3: redis-py %s has no protocol=3" % redis.__version__)
        return False
    r3 = redis.Redis(host="127.0.0.1", port=PORT, protocol=3, decode_responses=True)
    r3.hset("r3h", mapping={"a": 1, "b": 2})
    eq(r3.hgetall("r3h"), {"a": "1", "b": "2"})
    r3.zadd("r3z", {"m": 1.5})
    eq(r3.zscore("r3z", "m"), 1.5)
    eq([tuple(x) for x in r3.zrange("r3z", 0, -1, withscores=True)], [("m", 1.5)])
    r3.sadd("r3s", "x")
    eq(r3.smembers("r3s"), {"x"})
    p = r3.pubsub()
    p.subscribe("r3c")
    deadline = time.time() + 30
    while r3.pubsub_numsub("r3c")[0][1] < 1 and time.time() < deadline:
        time.sleep(0.01)
    r3.publish("r3c", "hi")
    msgs = []
    while time.time() < deadline and not any(m["type"] == "message" for m in msgs):
        m = p.get_message(timeout=1)
        if m:
            msgs.append(m)
    assert any(m["type"] == "message" and m["data"] == "hi" for m in msgs), msgs
    p.close()
    r3.close()
    return True


SECTIONS = [strings, hashes, lists, sets, zsets, redis7, pipelines, watch, pubsub, scripts, scanning, blocking, server, resp3]


def main():
    print("redis-py %s" % redis.__version__)
    R.flushall()
    for fn in SECTIONS:
        t0 = time.time()
        try:
            if fn() is not False:
                print("ok %s (%.2fs)" % (fn.__name__, time.time() - t0), flush=True)
        except Exception:
            print("FAILED %s" % fn.__name__)
            traceback.print_exc(file=sys.stdout)
            return 1
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
