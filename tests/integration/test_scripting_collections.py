"""Scripts over every collection type (hashes, sets, sorted sets, lists) and
the scripts job queues and schedulers run over them, compared with a real
redis-server 7.0 (Pair).

Each test first asks dredis (COMMAND INFO) whether the commands it needs
exist. While a type is not implemented its tests have nothing to check and
pass; once the commands exist, any difference from Redis fails the test.
(To be made unconditional once every collection type has landed.)"""
from dredis_test import Pair


def have(p, *names):
    """Whether dredis has every named command."""
    info = p.d.execute("COMMAND", "INFO", *names)
    return isinstance(info, list) and all(entry is not None for entry in info)


def run_scripts(p, scripts, *keys_and_args, numkeys=0):
    for script in scripts:
        p.run("EVAL", script, numkeys, *keys_and_args)


# Field and member order of hashes and sets is not specified: these helpers
# (prepended to scripts) sort in Lua before replying.
SORTED_PAIRS = """
local function sorted_pairs(flat)
  local t = {}
  for i = 1, #flat, 2 do t[#t + 1] = flat[i] .. '=' .. flat[i + 1] end
  table.sort(t)
  return t
end
local function sorted_keys(m)
  local t = {}
  for k, v in pairs(m) do t[#t + 1] = k .. (v == true and '' or '=' .. tostring(v)) end
  table.sort(t)
  return t
end
local function sorted(list) table.sort(list) return list end
"""


def test_hash_commands_from_scripts():
    with Pair() as p:
        if not have(p, "hset", "hget", "hgetall", "hincrby", "hdel", "hexists", "hlen", "hmget"):
            return
        run_scripts(p, [
            "return redis.call('hset', KEYS[1], 'a', '1', 'b', '2', 'c', '3')",
            "return redis.call('hget', KEYS[1], 'a')",
            "return redis.call('hget', KEYS[1], 'nofield')",
            "return type(redis.call('hget', KEYS[1], 'nofield'))",
            "return redis.call('hmget', KEYS[1], 'a', 'nofield', 'c')",
            "return redis.call('hincrby', KEYS[1], 'a', 10)",
            "return redis.call('hincrby', KEYS[1], 'a', 2.5)",
            "return redis.pcall('hincrby', KEYS[1], 'a', 'x')",
            "return {redis.call('hexists', KEYS[1], 'a'), redis.call('hexists', KEYS[1], 'z')}",
            "return redis.call('hdel', KEYS[1], 'b', 'zz')",
            "return redis.call('hlen', KEYS[1])",
            SORTED_PAIRS + "return sorted_pairs(redis.call('hgetall', KEYS[1]))",
            SORTED_PAIRS + "redis.setresp(3) return sorted_keys(redis.call('hgetall', KEYS[1]).map)",
            "return #redis.call('hgetall', 'nohash')",
            "redis.setresp(3) local m = redis.call('hgetall', 'nohash') return type(m.map)",
            "redis.call('set', 'str', 'x') return redis.pcall('hset', 'str', 'f', 'v')",
            "return redis.call('hset', 'str', 'f', 'v')",
        ], "h", numkeys=1)
        if have(p, "hincrbyfloat"):
            p.run("EVAL", "return redis.call('hincrbyfloat', KEYS[1], 'fl', 0.1)", 1, "h")
            p.run("EVAL", "return redis.call('hincrbyfloat', KEYS[1], 'fl', 2.5)", 1, "h")


def test_set_commands_from_scripts():
    with Pair() as p:
        if not have(p, "sadd", "srem", "sismember", "smembers", "scard"):
            return
        run_scripts(p, [
            "return redis.call('sadd', KEYS[1], 'a', 'b', 'c', 'a')",
            "return redis.call('sismember', KEYS[1], 'a')",
            "return redis.call('sismember', KEYS[1], 'z')",
            "return redis.call('srem', KEYS[1], 'b', 'zz')",
            "return redis.call('scard', KEYS[1])",
            SORTED_PAIRS + "return sorted(redis.call('smembers', KEYS[1]))",
            SORTED_PAIRS + "redis.setresp(3) return sorted_keys(redis.call('smembers', KEYS[1]).set)",
            "return redis.call('smembers', 'noset')",
            "redis.call('sadd', KEYS[1], 1.5, 2) return redis.call('sismember', KEYS[1], '1.5')",
            "redis.call('set', 'str', 'x') return redis.pcall('sadd', 'str', 'm')",
        ], "s", numkeys=1)


def test_sorted_set_commands_from_scripts():
    with Pair() as p:
        if not have(p, "zadd", "zscore", "zincrby", "zrange", "zrangebyscore", "zrem", "zcard"):
            return
        run_scripts(p, [
            "return redis.call('zadd', KEYS[1], 1, 'a', 2.5, 'b', 3, 'c')",
            "return redis.call('zadd', KEYS[1], 1.5 * 2, 'd')",
            "return redis.call('zscore', KEYS[1], 'b')",
            "return type(redis.call('zscore', KEYS[1], 'b'))",
            "return redis.call('zscore', KEYS[1], 'nomember')",
            "redis.setresp(3) local s = redis.call('zscore', KEYS[1], 'b') return {type(s), tostring(s.double)}",
            "redis.setresp(3) return redis.call('zscore', KEYS[1], 'b')",
            "return redis.call('zincrby', KEYS[1], 0.5, 'a')",
            "return redis.call('zrange', KEYS[1], 0, -1)",
            "return redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')",
            "redis.setresp(3) local r = redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES') "
            "return {r[1][1], tostring(r[1][2].double)}",
            "return redis.call('zrangebyscore', KEYS[1], '-inf', 2.5)",
            "return redis.call('zrangebyscore', KEYS[1], '(1.5', '+inf', 'LIMIT', 0, 1)",
            "return redis.call('zrem', KEYS[1], 'a', 'nomember')",
            "return redis.call('zcard', KEYS[1])",
            "return redis.pcall('zadd', KEYS[1], 'notascore', 'x')",
            "return redis.call('zadd', KEYS[1], 0/0, 'x')",
        ], "z", numkeys=1)


def test_list_commands_from_scripts():
    with Pair() as p:
        if not have(p, "lpush", "rpush", "lrange", "lpop", "rpop", "llen", "lindex", "lrem", "rpoplpush"):
            return
        run_scripts(p, [
            "return redis.call('rpush', KEYS[1], 'a', 'b', 'c')",
            "return redis.call('lpush', KEYS[1], 'z', 1, 2.5)",
            "return redis.call('lrange', KEYS[1], 0, -1)",
            "return redis.call('lindex', KEYS[1], 0)",
            "return redis.call('lindex', KEYS[1], 100)",
            "return redis.call('llen', KEYS[1])",
            "return redis.call('lpop', KEYS[1])",
            "return redis.call('rpop', KEYS[1])",
            "return redis.call('lrem', KEYS[1], 0, 'a')",
            "return redis.call('rpoplpush', KEYS[1], 'other')",
            "return {redis.call('lrange', KEYS[1], 0, -1), redis.call('lrange', 'other', 0, -1)}",
            "return redis.call('lpop', 'nolist')",
            "return type(redis.call('lpop', 'nolist'))",
            "return redis.call('lrange', 'nolist', 0, -1)",
            "redis.call('set', 'str', 'x') return redis.pcall('lpush', 'str', 'v')",
        ], "l", numkeys=1)


def test_blocking_commands_in_scripts():
    with Pair() as p:
        for name, script in (("blpop", "return redis.call('blpop', 'nolist', 0)"),
                             ("brpop", "return redis.call('brpop', 'nolist', 0)"),
                             ("brpoplpush", "return redis.call('brpoplpush', 'nolist', 'other', 0)"),
                             ("blmove", "return redis.call('blmove', 'nolist', 'other', 'LEFT', 'RIGHT', 0)"),
                             ("bzpopmin", "return redis.call('bzpopmin', 'nozset', 0)"),
                             ("bzpopmax", "return redis.pcall('bzpopmax', 'nozset', 0)"),
                             # not refused: they run without blocking, as on timeout
                             ("blmpop", "return redis.call('blmpop', 0, 1, 'nolist', 'LEFT')"),
                             ("bzmpop", "return redis.call('bzmpop', 0, 1, 'nozset', 'MIN')")):
            if have(p, name):
                p.run("EVAL", script, 0)
        if have(p, "blmpop", "rpush"):
            p.run("RPUSH", "full", "a", "b")
            p.run("EVAL", "return redis.call('blmpop', 0, 1, 'full', 'LEFT', 'COUNT', 5)", 0)
        p.run("PING")


BULL_ADD_JOB = """
local jobCounter = redis.call("INCR", KEYS[4])
local jobId
if ARGV[2] == "" then jobId = jobCounter .. "" else jobId = ARGV[2] end
local jobIdKey = ARGV[1] .. jobId
if redis.call("EXISTS", jobIdKey) == 1 then
  return jobId .. ""
end
redis.call("HMSET", jobIdKey, "name", ARGV[3], "data", ARGV[4], "opts", ARGV[5],
           "timestamp", ARGV[6], "delay", ARGV[7], "priority", ARGV[9])
local delayedTimestamp = tonumber(ARGV[8])
if delayedTimestamp ~= 0 then
  local timestamp = delayedTimestamp * 0x1000 + bit.band(jobCounter, 0xfff)
  redis.call("ZADD", KEYS[5], timestamp, jobId)
else
  local target = KEYS[1]
  local priority = tonumber(ARGV[9])
  if priority == 0 then
    redis.call(ARGV[10], target, jobId)
  else
    redis.call("ZADD", KEYS[6], priority, jobId)
    local count = redis.call("ZCOUNT", KEYS[6], 0, priority)
    local len = redis.call("LLEN", target)
    local id = redis.call("LINDEX", target, len - (count - 1))
    if id then
      redis.call("LINSERT", target, "BEFORE", id, jobId)
    else
      redis.call("RPUSH", target, jobId)
    end
  end
end
return jobId .. ""
"""

BULL_MOVE_TO_ACTIVE = """
local jobId = redis.call("RPOPLPUSH", KEYS[1], KEYS[2])
if jobId then
  local jobKey = ARGV[1] .. jobId
  redis.call("SET", jobKey .. ":lock", ARGV[2], "PX", ARGV[3])
  redis.call("ZREM", KEYS[3], jobId)
  redis.call("HSET", jobKey, "processedOn", ARGV[4])
  local job = redis.call("HGETALL", jobKey)
  local t = {}
  for i = 1, #job, 2 do t[#t + 1] = job[i] .. "=" .. job[i + 1] end
  table.sort(t)
  return {t, jobId}
end
return false
"""

BULL_MOVE_TO_FINISHED = """
if redis.call("EXISTS", KEYS[3]) == 1 then
  if ARGV[5] ~= "0" then
    local lockKey = KEYS[3] .. ":lock"
    if redis.call("GET", lockKey) == ARGV[5] then
      redis.call("DEL", lockKey)
    else
      return -2
    end
  end
  redis.call("LREM", KEYS[1], -1, ARGV[1])
  redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
  redis.call("HMSET", KEYS[3], ARGV[3], ARGV[4], "finishedOn", ARGV[2])
  return 0
else
  return -1
end
"""

PROMOTE_DELAYED = """
local jobs = redis.call("ZRANGEBYSCORE", KEYS[1], 0, tonumber(ARGV[1]) * 0x1000 + 0xfff, "LIMIT", 0, 10)
for _, jobId in ipairs(jobs) do
  redis.call("ZREM", KEYS[1], jobId)
  redis.call("LPUSH", KEYS[2], jobId)
  redis.call("HSET", ARGV[2] .. jobId, "delay", 0)
end
return jobs
"""


def test_bull_style_job_queue_scripts():
    with Pair() as p:
        if not have(p, "hmset", "hset", "hgetall", "zadd", "zcount", "zrem", "zrangebyscore", "llen", "lindex",
                    "linsert", "rpush", "lpush", "rpoplpush", "lrem", "lrange", "zrange"):
            return
        q = "bull:mail:"
        keys = [q + "wait", q + "active", q + "priority", q + "id", q + "delayed", q + "priority"]
        for i, (delay_ts, priority, push) in enumerate([(0, 0, "LPUSH"), (0, 0, "LPUSH"), (0, 3, "LPUSH"),
                                                        (1700000000123, 0, "LPUSH"), (0, 1, "RPUSH")]):
            p.run("EVAL", BULL_ADD_JOB, 6, *keys, q, "", "send", '{"to":"x@y.z","n":%d}' % i,
                  '{"attempts":3}', 1700000000000 + i, delay_ts and 5000, delay_ts, priority, push)
        p.run("EVAL", BULL_ADD_JOB, 6, *keys, q, "custom-id", "send", "{}", "{}", 1, 0, 0, 0, "LPUSH")
        p.run("EVAL", BULL_ADD_JOB, 6, *keys, q, "custom-id", "send", "{}", "{}", 1, 0, 0, 0, "LPUSH")
        p.run("LRANGE", q + "wait", 0, -1)
        p.run("ZRANGE", q + "delayed", 0, -1, "WITHSCORES")
        p.run("ZRANGE", q + "priority", 0, -1, "WITHSCORES")
        for _ in range(3):
            p.run("EVAL", BULL_MOVE_TO_ACTIVE, 3, q + "wait", q + "active", q + "priority", q, "token-1", 30000,
                  1700000001000)
        p.run("EVAL", BULL_MOVE_TO_FINISHED, 3, q + "active", q + "completed", q + "1", "1", 1700000002000,
              "returnvalue", '"done"', "token-1")
        p.run("EVAL", BULL_MOVE_TO_FINISHED, 3, q + "active", q + "completed", q + "2", "2", 1700000002000,
              "returnvalue", '"done"', "wrong-token")
        p.run("EVAL", BULL_MOVE_TO_FINISHED, 3, q + "active", q + "completed", q + "999", "999", 1, "x", "y", "0")
        p.run("LRANGE", q + "active", 0, -1)
        p.run("ZRANGE", q + "completed", 0, -1, "WITHSCORES")
        p.run("HGET", q + "1", "finishedOn")
        p.run("EVAL", PROMOTE_DELAYED, 2, q + "delayed", q + "wait", 1700000000200, q)
        p.run("LRANGE", q + "wait", 0, -1)


DRAIN_QUEUE = """
local prefix = ARGV[1]
local count = 0
while true do
  local job_id = redis.call("lpop", KEYS[1])
  if job_id == false then break end
  redis.call("del", prefix .. job_id)
  redis.call("srem", KEYS[2], job_id)
  count = count + 1
end
return count
"""

POLL_SCHEDULED = """
local jobs = redis.call("zrangebyscore", KEYS[1], "-inf", ARGV[1], "limit", 0, 1)
if jobs[1] then
  redis.call("zrem", KEYS[1], jobs[1])
  redis.call("rpush", KEYS[2], jobs[1])
  return jobs[1]
end
return nil
"""


def test_rq_and_sidekiq_style_scripts():
    with Pair() as p:
        if not have(p, "lpop", "rpush", "sadd", "srem", "scard", "zadd", "zrangebyscore", "zrem", "llen"):
            return
        for i in range(5):
            p.run("RPUSH", "rq:queue:default", "job%d" % i)
            p.run("SET", "rq:job:job%d" % i, "payload")
            p.run("SADD", "rq:registry", "job%d" % i)
        p.run("EVAL", DRAIN_QUEUE, 2, "rq:queue:default", "rq:registry", "rq:job:")
        p.run("SCARD", "rq:registry")
        p.run("EXISTS", "rq:job:job0", "rq:job:job4")
        for i, ts in enumerate((100, 200, 300)):
            p.run("ZADD", "schedule", ts, "sjob%d" % i)
        for now in (50, 250, 250, 250, 1000):
            p.run("EVAL", POLL_SCHEDULED, 2, "schedule", "queue:default", now)
        p.run("LRANGE", "queue:default", 0, -1) if have(p, "lrange") else None


def test_type_errors_across_collections():
    with Pair() as p:
        if not have(p, "hset", "sadd", "zadd", "lpush"):
            return
        p.run("HSET", "h", "f", "v")
        p.run("SADD", "s", "m")
        p.run("ZADD", "z", 1, "m")
        p.run("LPUSH", "l", "e")
        run_scripts(p, [
            "return redis.pcall('get', 'h')",
            "return redis.pcall('sadd', 'h', 'x')",
            "return redis.pcall('zadd', 's', 1, 'x')",
            "return redis.pcall('lpush', 'z', 'x')",
            "return redis.pcall('hset', 'l', 'f', 'v')",
            "return redis.call('lpush', 'z', 'x')",
            "return {redis.call('type', 'h').ok, redis.call('type', 's').ok, redis.call('type', 'z').ok, "
            "redis.call('type', 'l').ok}",
        ])
