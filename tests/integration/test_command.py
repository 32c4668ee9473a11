"""COMMAND's introspection of keys and names against a real redis-server:
GETKEYS and GETKEYSANDFLAGS over every command of Redis's table (each with
argument vectors built from its arity, and the hand-picked lines whose keys
move), COMMAND LIST and its FILTERBY, and each command's key specs in
COMMAND INFO."""
import socket

from dredis_test import Pair, encode_command

# lines whose keys depend on the arguments: counts, keywords, options
MOVING_KEYS = """
set k v
set k v get
set k v nx get px 10
bitfield k
bitfield k get u8 0
bitfield k get u8 0 overflow wrap get i4 3
bitfield k get u8 0 set u8 0 1
bitfield k incrby u8 0 1
bitfield k get u8
bitfield k overflow
bitfield_ro k get u8 0
sort k
sort k store d
sort k by p get # store d
sort k store d1 store d2
sort k limit 0 store by store get store
sort k store
sort_ro k by p get #
zunionstore d 2 a b
zunionstore d 2 a b weights 1 2 aggregate max
zunionstore d 5 a b
zunionstore d 0 a b
zunionstore d x a b
zunionstore d 2x a b
zunionstore d -1 a b
zinterstore d 1 a
zdiffstore d 2 a b
zunion 2 a b withscores
zunion 0 a b
zunion 3 a b
zinter 1 a
zdiff 2 a b
zintercard 2 a b limit 1
sintercard 2 a b
sintercard 3 a b
lmpop 2 a b left count 2
lmpop 0 a left
blmpop 0 2 a b left
blmpop 0 9 a b left
zmpop 1 a min
bzmpop 0 2 a b max
eval s 2 a b c
eval s 0
eval s 3 a
eval s x a
evalsha s 1 a
eval_ro s 1 a
evalsha_ro s 1 a b
fcall f 2 a b c
fcall f 0
fcall_ro f 1 a
xread streams a 0
xread count 2 streams a b 0 0
xread count 2 streams a b 0
xread block 0 count 1 streams a b c 0 0 0
xread streams a
xread count 2 a b 0 0
xread streams streams streams 0 0
xreadgroup group g c streams a 0
xreadgroup group g c count 1 noack streams a b 0 0
xreadgroup group streams c streams a 0
xreadgroup streams a b c d streams e
georadius k 0 0 1 m
georadius k 0 0 1 m store d
georadius k 0 0 1 m storedist d
georadius k 0 0 1 m store d1 storedist d2
georadius k 0 0 1 m store
georadiusbymember k m 1 m store d
georadius_ro k 0 0 1 m
geosearchstore d s frommember m byradius 1 m
mset a 1 b 2
msetnx a 1 b 2
mset a 1 b
object encoding k
memory usage k
xgroup create k g $
xinfo stream k
lcs a b
bitop and d a b
pfmerge d a b
pfcount a b
blpop a b 0
del a b c
rename a b
lmove a b left right
spublish ch msg
ssubscribe ch
sunsubscribe ch
publish ch msg
ping
get
get a b
config get x
config nosuch x
object nosuch k
nosuchcommand a
"""


def subcommand_lines(info):
    """(full name, arity) of every command and subcommand of a COMMAND reply"""
    for entry in info:
        name = entry[0].decode()
        if entry[9]:
            for sub in entry[9]:
                yield sub[0].decode(), sub[1]
        yield name, entry[1]


def generic_lines(name, arity):
    """argument vectors for a command from its arity alone: names, numbers
    and keywords at each position, at the shortest lengths it accepts"""
    words = name.split("|")
    lengths = [arity] if arity > 0 else [-arity, -arity + 1, -arity + 2, -arity + 5]
    lines = []
    for n in lengths:
        rest = n - len(words)
        if rest < 0:
            continue
        for fill in (["a%d" % i for i in range(rest)], ["2"] * rest, ["1", "k", "2", "x", "store", "d", "0"] * 2):
            lines.append(words + (fill * (rest // max(len(fill), 1) + 1))[:rest])
        lines.append(words + ["0"] * rest)
    return lines


def both_pipelined(p, commands):
    a, b = p.d.pipeline(commands), p.r.pipeline(commands)
    return list(zip(commands, a, b))


def test_getkeys_and_flags_of_every_command_as_redis():
    """GETKEYS and GETKEYSANDFLAGS agree with Redis for every command and
    subcommand of Redis's table that dredis has, at every length its arity
    allows, and for the lines whose keys move; errors included."""
    with Pair() as p:
        info = p.r.execute("COMMAND")
        ours = p.d.execute("COMMAND", "INFO", *[n for n, _ in subcommand_lines(info)])
        known = {n for n, reply in zip([n for n, _ in subcommand_lines(info)], ours) if reply is not None}
        lines = []
        for name, arity in subcommand_lines(info):
            if name in known:
                lines += generic_lines(name, arity)
        lines += [line.split() for line in MOVING_KEYS.strip().splitlines()]
        commands = [tuple(["COMMAND", sub] + line) for line in lines for sub in ("GETKEYS", "GETKEYSANDFLAGS")]
        differ = [(c, a, b) for c, a, b in both_pipelined(p, commands) if a != b]
        assert not differ, "%d of %d differ, first: %r" % (len(differ), len(commands), differ[:5])
        assert len(known) > 200, len(known)



def test_acl_key_permissions_use_the_same_keys_as_redis():
    """ACL DRYRUN, for a user who may only read some keys and only write
    others, answers as Redis for the same lines: the ACL checks find the
    keys and their flags with the extractor GETKEYSANDFLAGS shows."""
    with Pair() as p:
        info = p.r.execute("COMMAND")
        names = [n for n, _ in subcommand_lines(info)]
        known = {n for n, reply in zip(names, p.d.execute("COMMAND", "INFO", *names)) if reply is not None}
        rules = ("on", "nopass", "+@all", "%R~a*", "%W~d*", "~k", "%R~2", "%W~x")
        p.run("ACL", "SETUSER", "kt", *rules)
        lines = [line.split() for line in MOVING_KEYS.strip().splitlines()]
        for name, arity in subcommand_lines(info):
            if name in known:
                lines += generic_lines(name, arity)
        commands = [tuple(["ACL", "DRYRUN", "kt"] + line) for line in lines if line[0] not in ("nosuchcommand",)]
        differ = [(c, a, b) for c, a, b in both_pipelined(p, commands) if a != b]
        assert not differ, "%d of %d differ, first: %r" % (len(differ), len(commands), differ[:5])
        denied = [a for c, a, b in both_pipelined(p, commands) if isinstance(a, bytes) and b"key" in a]
        assert len(denied) > 100, len(denied)

LIST_FILTERS = [("PATTERN", "*"), ("PATTERN", "set"), ("PATTERN", "config*"), ("PATTERN", "config|*re*"),
                ("PATTERN", "cl*help"), ("PATTERN", "*|*"), ("PATTERN", "X*"), ("PATTERN", "non_exists*"),
                ("ACLCAT", "scripting"), ("ACLCAT", "SCRIPTING"), ("ACLCAT", "connection"), ("ACLCAT", "read"),
                ("ACLCAT", "all"), ("ACLCAT", "non_existing_category"), ("ACLCAT", "@read"),
                ("MODULE", "non_existing_module"), ("module", "x"), ("aclcat", "write"), ("pattern", "GET")]


def test_command_list_and_its_filters_as_redis():
    """COMMAND LIST names every command and subcommand ("client|list"), and
    FILTERBY PATTERN/ACLCAT/MODULE selects as Redis does: the same names,
    save the command dredis does not have (BGREWRITEAOF); syntax
    errors are one error reply each."""
    with Pair() as p:
        ours = set(p.d.execute("COMMAND", "LIST"))
        theirs = set(p.r.execute("COMMAND", "LIST"))
        assert b"client|list" in ours and b"config|get" in ours and b"set" in ours
        assert ours <= theirs, sorted(ours - theirs)
        assert len(ours) == p.d.execute("COMMAND", "COUNT") + sum(
            len(e[9]) for e in p.d.execute("COMMAND"))
        for by, arg in LIST_FILTERS:
            d, r = p.both("COMMAND", "LIST", "FILTERBY", by, arg)
            assert set(d) == set(r) & ours, (by, arg, sorted(set(d) ^ (set(r) & ours)))
            assert len(d) == len(set(d))
        assert p.d.execute("COMMAND", "LIST", "FILTERBY", "ACLCAT", "scripting")
        assert p.d.execute("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*") == [b"config|resetstat",
                                                                                       b"config|rewrite"]
        p.run_many([("COMMAND", "LIST", "bad_arg"), ("COMMAND", "LIST", "FILTERBY", "bad_arg"),
                    ("COMMAND", "LIST", "FILTERBY", "bad_arg", "bad_arg2"), ("COMMAND", "LIST", "FILTERBY"),
                    ("COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "FILTERBY", "PATTERN", "b"),
                    ("COMMAND", "LIST", "FILTERBY", "PATTERN", "x", "extra"), ("PING",)])


def raw_replies(port, payload, end=b"+PONG\r\n"):
    """the bytes a server answers to payload (which ends with a PING)"""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        got = b""
        while not got.endswith(end):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


def test_command_info_key_specs_as_redis():
    """COMMAND INFO gives each command's tips and key specs (flags,
    begin_search, find_keys and Redis's notes) exactly as Redis; in RESP3
    byte for byte."""
    with Pair() as p:
        info = p.r.execute("COMMAND")
        names = [n for n, _ in subcommand_lines(info)]
        d, r = p.both("COMMAND", "INFO", *names)
        differ = [(n, a[7:9], b[7:9]) for n, a, b in zip(names, d, r) if a is not None and a[7:9] != b[7:9]]
        assert not differ, "%d differ, first: %r" % (len(differ), differ[:3])
        assert sum(1 for a in d if a is not None and a[8]) > 150
        assert sum(1 for a in d if a is not None and a[7]) > 50
        payload = (encode_command(["HELLO", "3"]) + encode_command(["COMMAND", "INFO", "sort", "set", "xread",
                                                                    "eval", "georadius", "lmove", "spublish", "info",
                                                                    "smembers"]) +
                   encode_command(["PING"]))
        ours, theirs = raw_replies(p.dredis.port, payload), raw_replies(p.redis.port, payload)
        hello_end = b"modules\r\n*0\r\n"
        assert ours[ours.index(hello_end):] == theirs[theirs.index(hello_end):]
