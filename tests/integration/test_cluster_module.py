"""CLUSTER, READONLY, READWRITE, ASKING and MODULE against a real
redis-server 7.0 run with its defaults (cluster-enabled no,
enable-module-command no): every subcommand's reply, refusals inside
MULTI and before authentication, and COMMAND INFO/DOCS of each."""
from dredis_test import Pair, assert_command_info_matches

CLUSTER_LINES = """
cluster info
cluster help
cluster myid
cluster nodes
cluster slots
cluster shards
cluster links
cluster keyslot k
cluster countkeysinslot 1
cluster getkeysinslot 1 10
cluster addslots 1 2
cluster addslotsrange 1 2
cluster delslots 1
cluster delslotsrange 1 2
cluster flushslots
cluster forget id
cluster meet 127.0.0.1 7000
cluster replicate id
cluster replicas id
cluster slaves id
cluster reset hard
cluster saveconfig
cluster set-config-epoch 1
cluster setslot 1 stable
cluster bumpepoch
cluster failover force
cluster count-failure-reports id
cluster nosuch
cluster NoSuch a b
cluster keyslot
cluster help extra
cluster
readonly
readwrite
asking
readonly x
"""

MODULE_LINES = """
module list
module help
module load /nonexistent.so
module loadex /nonexistent.so CONFIG a b ARGS x
module unload nosuch
module nosuch
module list extra
module load
module unload a b
module
config get enable-module-command
config set enable-module-command yes
config get cluster-enabled
config set cluster-enabled yes
"""


def lines(text):
    return [tuple(l.split()) for l in text.strip().splitlines()]


def test_cluster_commands_answer_as_redis_without_cluster_support():
    with Pair() as p:
        replies = p.run_many(lines(CLUSTER_LINES))
        assert str(replies[0]) == "ERR This instance has cluster support disabled"
        p.run("INFO", "cluster")


def test_module_commands_answer_as_redis_with_module_command_disabled():
    with Pair() as p:
        replies = p.run_many(lines(MODULE_LINES))
        assert replies[0] == []
        assert str(replies[2]).startswith("ERR MODULE command not allowed.")
        p.both("HELLO", "3")
        p.run("MODULE", "LIST")


def test_refusals_abort_a_transaction_and_come_before_authentication():
    """MODULE LOAD is refused when queued (EXEC then aborts), a CLUSTER
    subcommand is queued and fails in EXEC; before AUTH, MODULE LOAD's
    refusal comes first, as in Redis."""
    with Pair() as p:
        p.run_many([("MULTI",), ("CLUSTER", "INFO"), ("READONLY",), ("EXEC",)])
        p.run_many([("MULTI",), ("MODULE", "LOAD", "x"), ("MODULE", "LIST"), ("EXEC",)])
        p.run_many([("CONFIG", "SET", "requirepass", "pw")])
        p.d.close()
        p.r.close()
        p.d, p.r = p.dredis.client(), p.redis.client()
        p.run_many([("MODULE", "LOAD", "x"), ("MODULE", "LIST"), ("CLUSTER", "INFO"), ("ASKING",)])
        p.run_many([("AUTH", "pw"), ("CONFIG", "SET", "requirepass", "")])


def test_command_info_and_docs_as_redis():
    names = ["cluster", "readonly", "readwrite", "asking", "module"]
    with Pair() as p:
        assert_command_info_matches(p, names)
        subs = [n.decode() for n in p.r.execute("COMMAND", "LIST", "FILTERBY", "PATTERN", "cluster|*")]
        subs += [n.decode() for n in p.r.execute("COMMAND", "LIST", "FILTERBY", "PATTERN", "module|*")]
        assert len(subs) == 32, subs
        assert_command_info_matches(p, subs)
        p.run("COMMAND", "INFO", *subs)
        p.run("COMMAND", "GETKEYS", "CLUSTER", "COUNTKEYSINSLOT", "1")
