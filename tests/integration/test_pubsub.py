"""Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
PUBSUB CHANNELS/NUMSUB/NUMPAT, subscribed mode in RESP2 and RESP3, and the
32MB output limit of a subscriber that never reads. Replies are compared
with a real redis-server 7.0, byte for byte where the order is defined."""
from dredis_test import Pair, RespError, sorted_reply
from conn_util import compare, read_raw, raw_exec, is_closed, wait_until


def raw_replies(c, n):
    return [read_raw(c) for _ in range(n)]


def unsubscribed_all(c, n):
    """The n confirmations of an UNSUBSCRIBE/PUNSUBSCRIBE/SUNSUBSCRIBE
    without arguments, whose order Redis leaves to its hash table: the
    kinds, the names and the counts, each sorted."""
    replies = [c.read_reply() for _ in range(n)]
    return [sorted(r[0] for r in replies), sorted(r[1] for r in replies), sorted(r[2] for r in replies)]


def test_subscribe_unsubscribe_confirmations_bytes():
    def scenario(s):
        with s.client() as c:
            c.send("SUBSCRIBE", "a", "b", "a")
            out = raw_replies(c, 3)
            c.send("UNSUBSCRIBE", "b", "nope")
            out += raw_replies(c, 2)
            c.send("UNSUBSCRIBE")
            out += raw_replies(c, 1)  # only a is left
            c.send("UNSUBSCRIBE")
            out += raw_replies(c, 1)  # none left: nil channel
            out.append(raw_exec(c, "GET", "x"))  # out of subscribed mode
            return out

    out = compare(scenario)
    assert out[0] == b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
    assert out[2] == b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
    assert out[6] == b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"


def test_psubscribe_punsubscribe_confirmations_bytes():
    def scenario(s):
        with s.client() as c:
            c.send("SUBSCRIBE", "chan")
            out = raw_replies(c, 1)
            c.send("PSUBSCRIBE", "news.*", "h?llo", "news.*")
            out += raw_replies(c, 3)
            c.send("PUNSUBSCRIBE", "h?llo", "nomatch*")
            out += raw_replies(c, 2)
            c.send("PUNSUBSCRIBE")
            out += raw_replies(c, 1)
            c.send("PUNSUBSCRIBE")
            out += raw_replies(c, 1)
            c.send("UNSUBSCRIBE")
            out += raw_replies(c, 1)
            return out

    out = compare(scenario)
    assert out[1] == b"*3\r\n$10\r\npsubscribe\r\n$6\r\nnews.*\r\n:2\r\n"


def test_unsubscribe_all_several_channels():
    def scenario(s):
        with s.client() as c:
            c.execute("SUBSCRIBE", "c1", "c2", "c3")
            c.read_reply()
            c.read_reply()
            c.send("UNSUBSCRIBE")
            replies = [c.read_reply() for _ in range(3)]
            counts = sorted(r[2] for r in replies)
            return [sorted(r[1] for r in replies), counts, [r[0] for r in replies], c.execute("PING")]

    assert compare(scenario)[1] == [0, 1, 2]


def test_messages_and_pmessages_bytes():
    def scenario(s):
        with s.client() as sub, s.client() as pub:
            sub.send("SUBSCRIBE", "news.tech")
            sub.read_reply()
            sub.send("PSUBSCRIBE", "news.*")
            sub.read_reply()
            out = [pub.execute("PUBLISH", "news.tech", "hello"),
                   read_raw(sub), read_raw(sub),
                   pub.execute("PUBLISH", "news.sport", b"bin\x00\r\nary"),
                   read_raw(sub),
                   pub.execute("PUBLISH", "other", "x"),
                   pub.execute("PUBLISH", "news.tech", "")]
            out += [read_raw(sub), read_raw(sub)]
            return out

    out = compare(scenario)
    assert out[0] == 2
    assert out[1] == b"*3\r\n$7\r\nmessage\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n"
    assert out[2] == b"*4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$5\r\nhello\r\n"
    assert out[5] == 0


def test_publish_counts_each_matching_subscription():
    def scenario(s):
        with s.client() as a, s.client() as b, s.client() as pub:
            a.execute("SUBSCRIBE", "ch")
            a.execute("PSUBSCRIBE", "c*")
            a.execute("PSUBSCRIBE", "*h")
            b.execute("PSUBSCRIBE", "c*")
            return [pub.execute("PUBLISH", "ch", "m"), pub.execute("PUBLISH", "cx", "m"),
                    pub.execute("PUBLISH", "xh", "m"), pub.execute("PUBLISH", "zz", "m")]

    assert compare(scenario) == [4, 2, 1, 0]


def test_pubsub_channels_numsub_numpat():
    def scenario(s):
        a, b, c = s.client(), s.client(), s.client()
        try:
            with s.client() as q:
                a.execute("SUBSCRIBE", "news.tech", "news.sport", "hello")
                a.read_reply()
                a.read_reply()
                b.execute("SUBSCRIBE", "news.tech", "hallo")
                b.read_reply()
                c.execute("PSUBSCRIBE", "news.*", "h*")
                c.read_reply()
                b.send("PSUBSCRIBE", "news.*")
                b.read_reply()
                out = [
                    ("all", sorted_reply(q.execute("PUBSUB", "CHANNELS"))),
                    ("star", sorted_reply(q.execute("PUBSUB", "CHANNELS", "*"))),
                    ("news", sorted_reply(q.execute("PUBSUB", "CHANNELS", "news.*"))),
                    ("h?llo", sorted_reply(q.execute("PUBSUB", "CHANNELS", "h?llo"))),
                    ("none", q.execute("PUBSUB", "CHANNELS", "zzz*")),
                    ("numsub", q.execute("PUBSUB", "NUMSUB", "news.tech", "hello", "nope", "news.*")),
                    ("numsub empty", q.execute("PUBSUB", "NUMSUB")),
                    ("numpat", q.execute("PUBSUB", "NUMPAT")),
                ]
                a.close()
                wait_until(lambda: q.execute("PUBSUB", "NUMSUB", "news.tech")[1] == 1, what="a's subscriptions to go")
                out.append(("after close", sorted_reply(q.execute("PUBSUB", "CHANNELS"))))
                c.execute("PUNSUBSCRIBE", "h*")
                out.append(("numpat after", q.execute("PUBSUB", "NUMPAT")))
                return out
        finally:
            for x in (a, b, c):
                x.close()

    out = compare(scenario)
    assert out[0] == ("all", [b"hallo", b"hello", b"news.sport", b"news.tech"])
    assert out[5] == ("numsub", [b"news.tech", 2, b"hello", 1, b"nope", 0, b"news.*", 0])
    assert out[7] == ("numpat", 2)


def test_pubsub_errors_and_help():
    with Pair() as p:
        p.run("PUBSUB")
        p.run("PUBSUB", "NOPE")
        p.run("PUBSUB", "NUMPAT", "x")
        p.run("PUBSUB", "HELP")
        p.run("PUBSUB", "CHANNELS", "a", "b")
        p.run("PUBSUB", "channels", "a", "b")
        p.run("PUBSUB", "NUMSUB")
        p.run("PUBSUB", "SHARDNUMSUB")
        p.run("PUBSUB", "SHARDCHANNELS", "a", "b")
        p.run("SSUBSCRIBE")
        p.run("SPUBLISH", "ch")
        p.run("COMMAND", "INFO", "ssubscribe", "sunsubscribe", "spublish", "pubsub|shardchannels",
              "pubsub|shardnumsub", "subscribe", "publish", "pubsub|numsub")
        p.run("SUBSCRIBE")
        p.run("PSUBSCRIBE")
        p.run("PUBLISH", "ch")


def test_pubsub_replies_in_resp3_bytes():
    def scenario(s):
        with s.client() as c, s.client() as sub:
            sub.send("SUBSCRIBE", "x", "y")
            sub.read_reply()
            sub.read_reply()
            c.execute("HELLO", "3")
            return [raw_exec(c, "PUBSUB", "NUMSUB", "x", "z"), raw_exec(c, "PUBSUB", "NUMPAT"),
                    sorted(c.execute("PUBSUB", "CHANNELS")), raw_exec(c, "PUBSUB", "CHANNELS", "y")]

    compare(scenario)


def test_resp2_subscribed_mode_restricts_commands():
    def scenario(s):
        with s.client() as c:
            c.execute("SUBSCRIBE", "ch")
            out = [c.execute("GET", "k"), c.execute("SET", "k", "v"), c.execute("CLIENT", "ID"),
                   c.execute("PUBSUB", "NUMPAT"), c.execute("PUBLISH", "ch", "self"),
                   c.execute("NOSUCH"), c.execute("GET")]
            # PSUBSCRIBE/UNSUBSCRIBE are allowed
            out.append(c.execute("PSUBSCRIBE", "p*"))
            out.append(c.execute("UNSUBSCRIBE", "ch"))
            out.append(c.execute("GET", "k"))  # still subscribed to p*
            out.append(c.execute("PUNSUBSCRIBE"))
            out.append(c.execute("GET", "k"))  # out of subscribed mode
            return out

    out = compare(scenario)
    assert out[0] == RespError("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                               "RESET are allowed in this context")
    assert out[2] == RespError("ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                               "QUIT / RESET are allowed in this context")
    assert out[-1] is None


def test_ping_in_subscribed_mode():
    def scenario(s):
        with s.client() as c:
            c.execute("SUBSCRIBE", "ch")
            out = [raw_exec(c, "PING"), raw_exec(c, "PING", "hello"), raw_exec(c, "PING", "a", "b")]
            c.execute("UNSUBSCRIBE")
            out += [raw_exec(c, "PING"), raw_exec(c, "PING", "x")]
            return out

    out = compare(scenario)
    assert out[0] == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert out[1] == b"*2\r\n$4\r\npong\r\n$5\r\nhello\r\n"
    assert out[3] == b"+PONG\r\n"


def test_reset_leaves_subscribed_mode():
    def scenario(s):
        with s.client() as c, s.client() as q:
            c.execute("SUBSCRIBE", "ch")
            c.execute("PSUBSCRIBE", "p*")
            out = [q.execute("PUBSUB", "NUMSUB", "ch"), q.execute("PUBSUB", "NUMPAT")]
            out.append(raw_exec(c, "RESET"))
            out += [c.execute("GET", "k"), q.execute("PUBSUB", "NUMSUB", "ch"), q.execute("PUBSUB", "NUMPAT"),
                    q.execute("PUBLISH", "ch", "m"), c.execute("PING")]
            return out

    out = compare(scenario)
    assert out[2] == b"+RESET\r\n"
    assert out[3] is None and out[6] == 0


def test_quit_in_subscribed_mode():
    def scenario(s):
        with s.client() as c, s.client() as q:
            c.execute("SUBSCRIBE", "ch")
            out = [c.execute("QUIT"), is_closed(c)]
            wait_until(lambda: q.execute("PUBSUB", "NUMSUB", "ch")[1] == 0, what="subscription to go")
            out.append(q.execute("PUBLISH", "ch", "m"))
            return out

    assert compare(scenario) == ["OK", True, 0]


def test_hundred_subscribers_receive_publish():
    def scenario(s):
        subs = [s.client() for _ in range(100)]
        try:
            for i, c in enumerate(subs):
                if i % 2:
                    c.execute("PSUBSCRIBE", "room.*")
                else:
                    c.execute("SUBSCRIBE", "room.1")
            with s.client() as pub:
                out = [pub.execute("PUBSUB", "NUMSUB", "room.1"), pub.execute("PUBSUB", "NUMPAT"),
                       pub.execute("PUBLISH", "room.1", "hi all"), pub.execute("PUBLISH", "room.2", "odd only")]
            got = []
            for i, c in enumerate(subs):
                got.append(c.read_reply())
                if i % 2:
                    got.append(c.read_reply())
            out.append(sorted(map(repr, got)))
            return out
        finally:
            for c in subs:
                c.close()

    out = compare(scenario)
    assert out[:4] == [[b"room.1", 50], 1, 100, 50]
    assert len(out[4]) == 150


def test_resp3_push_messages_bytes():
    def scenario(s):
        with s.client() as sub, s.client() as pub:
            sub.execute("HELLO", "3")
            sub.send("SUBSCRIBE", "ch1", "ch2")
            out = raw_replies(sub, 2)
            sub.send("PSUBSCRIBE", "c*")
            out += raw_replies(sub, 1)
            out.append(pub.execute("PUBLISH", "ch1", "payload"))
            out += raw_replies(sub, 2)
            # RESP3 allows any command while subscribed; replies interleave with pushes
            out += [raw_exec(sub, "GET", "missing"), raw_exec(sub, "SET", "k", "v"), raw_exec(sub, "PING"),
                    raw_exec(sub, "PING", "x"), raw_exec(sub, "EXISTS", "k")]
            sub.send("UNSUBSCRIBE", "ch2")
            out += raw_replies(sub, 1)
            sub.send("PUNSUBSCRIBE")
            out += raw_replies(sub, 1)
            sub.send("UNSUBSCRIBE")
            out += raw_replies(sub, 1)
            sub.send("UNSUBSCRIBE")
            out += raw_replies(sub, 1)
            sub.send("PUNSUBSCRIBE")
            out += raw_replies(sub, 1)
            return out

    out = compare(scenario)
    assert out[0] == b">3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n"
    assert out[4] == b">3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$7\r\npayload\r\n"
    assert out[6] == b"_\r\n"


def test_resp3_subscriber_receives_push_between_replies():
    def scenario(s):
        with s.client() as sub, s.client() as pub:
            sub.execute("HELLO", "3")
            sub.send("SUBSCRIBE", "ch")
            sub.read_reply()
            pub.execute("PUBLISH", "ch", "m1")
            # the push arrives before the reply to the next command
            return [raw_exec(sub, "ECHO", "e"), read_raw(sub)]

    out = compare(scenario)
    assert out[0].startswith(b">3\r\n")


def test_pubsub_output_is_pushed_despite_client_reply_off():
    """Redis 7.0 delivers confirmations and messages to a client under CLIENT
    REPLY OFF/SKIP (they are push output); other replies stay silenced."""
    def scenario(s):
        with s.client() as sub, s.client() as pub:
            sub.send("CLIENT", "REPLY", "OFF")
            sub.send("SUBSCRIBE", "ch")
            wait_until(lambda: pub.execute("PUBSUB", "NUMSUB", "ch")[1] == 1, what="subscription")
            out = [pub.execute("PUBLISH", "ch", "m1")]
            sub.send("CLIENT", "REPLY", "ON")  # refused in subscribed mode, and the error is silenced
            out += [read_raw(sub), read_raw(sub)]
            sub.send("CLIENT", "REPLY", "SKIP")  # refused too
            sub.send("SUBSCRIBE", "ch2")
            wait_until(lambda: pub.execute("PUBSUB", "NUMSUB", "ch2")[1] == 1, what="subscription")
            out.append(pub.execute("PUBLISH", "ch2", "m2"))
            out += [read_raw(sub), read_raw(sub)]
            sub.send("UNSUBSCRIBE")
            out.append(unsubscribed_all(sub, 2))
            sub.send("GET", "k")  # silenced: replies are still off
            sub.send("CLIENT", "REPLY", "ON")
            sub.send("PING")
            out += [read_raw(sub), read_raw(sub)]
            return out

    out = compare(scenario)
    assert out[1] == b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    assert out[-2:] == [b"+OK\r\n", b"+PONG\r\n"]


def test_sharded_pubsub():
    def scenario(s):
        with s.client() as c, s.client() as p:
            out = []
            c.send("SSUBSCRIBE", "x", "z", "x")
            out += raw_replies(c, 3)
            out.append(raw_exec(c, "PSUBSCRIBE", "p*"))  # counts channels and patterns only
            out.append(raw_exec(c, "SUBSCRIBE", "x"))
            out += [p.execute("SPUBLISH", "x", "m"), read_raw(c)]
            out += [p.execute("PUBLISH", "x", "plain"), read_raw(c)]
            out += [p.execute("SPUBLISH", "nobody", "m")]
            out += [p.execute("PUBSUB", "SHARDNUMSUB", "x", "z", "y"), sorted(p.execute("PUBSUB", "SHARDCHANNELS")),
                    p.execute("PUBSUB", "CHANNELS"), p.execute("PUBSUB", "SHARDCHANNELS", "z*"),
                    p.execute("PUBSUB", "shardchannels", "x*", "y"), p.execute("PUBSUB", "SHARDNUMSUB")]
            out += [c.execute("GET", "a"), c.execute("PING")]
            c.send("SUNSUBSCRIBE")
            out.append(unsubscribed_all(c, 2))
            out += [raw_exec(c, "SUNSUBSCRIBE"), raw_exec(c, "SUNSUBSCRIBE", "x", "q"), read_raw(c)]
            out += [c.execute("GET", "a")]  # still subscribed to x and p*
            c.execute("UNSUBSCRIBE")
            c.execute("PUNSUBSCRIBE")
            out += [c.execute("GET", "a"), raw_exec(c, "SSUBSCRIBE", "only"), c.execute("GET", "a"), c.execute("RESET"),
                    p.execute("PUBSUB", "SHARDCHANNELS"), c.execute("GET", "a")]
            out += [c.execute("SSUBSCRIBE"), c.execute("SPUBLISH", "x"), c.execute("SUNSUBSCRIBE")]
            c.execute("HELLO", "3")
            out += [raw_exec(c, "SSUBSCRIBE", "r3"), p.execute("SPUBLISH", "r3", "m3"), read_raw(c),
                    raw_exec(c, "GET", "a")]
            return out

    out = compare(scenario)
    assert out[0] == b"*3\r\n$10\r\nssubscribe\r\n$1\r\nx\r\n:1\r\n"
    assert out[5] == 1 and out[6] == b"*3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$1\r\nm\r\n"


def test_ssubscribe_inside_multi_is_refused_at_exec():
    def scenario(s):
        with s.client() as c:
            return [c.execute("MULTI"), c.execute("SSUBSCRIBE", "x"), c.execute("SUBSCRIBE", "y"), c.execute("EXEC"),
                    c.execute("PING")]

    compare(scenario)


def _slow_subscriber_scenario(s):
    """A subscriber that never reads is disconnected once its pending output
    passes 32MB; a reading subscriber gets every message and other clients
    are served all along."""
    with s.client() as slow, s.client() as good, s.client() as pub, s.client() as other:
        slow_id = slow.execute("CLIENT", "ID")
        slow.execute("SUBSCRIBE", "big")
        good.execute("SUBSCRIBE", "big")
        msg = b"x" * (1 << 20)
        receivers = []
        slow_gone = False
        # 1MB messages until the slow subscriber is dropped (the kernel's
        # socket buffers take some MB before the server's output grows)
        while len(receivers) < 256 and not slow_gone:
            receivers.append(pub.execute("PUBLISH", "big", msg))
            m = good.read_reply()
            assert m == [b"message", b"big", msg], "message %d to the reading subscriber" % len(receivers)
            assert other.execute("SET", "n", len(receivers)) == "OK"
            slow_gone = other.execute("CLIENT", "LIST", "ID", slow_id) == b""
        closed = is_closed(slow, timeout=20)
        return [slow_gone, closed, 32 <= len(receivers) < 256, receivers[0], set(receivers[:-1]),
                pub.execute("PUBLISH", "big", "small"), good.read_reply(),
                other.execute("GET", "n") == str(len(receivers)).encode(), pub.execute("PUBSUB", "NUMSUB", "big")]


def test_subscriber_that_never_reads_is_disconnected_at_32mb():
    out = compare(_slow_subscriber_scenario)
    assert out == [True, True, True, 2, {2}, 1, [b"message", b"big", b"small"], True, [b"big", 1]]


def test_subscriber_that_never_reads_is_disconnected_with_fsync_always():
    """With DREDIS_FSYNC=always replies are held until the sync; they count
    towards the limit all the same."""
    out = compare(_slow_subscriber_scenario, dredis_env={"DREDIS_FSYNC": "always"})
    assert out[:2] == [True, True]
