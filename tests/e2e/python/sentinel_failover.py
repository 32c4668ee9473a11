"""sentinel_failover.py PASSWORD AFTER SENTINEL_PORT... - redis-py (Debian's
python3-redis) as an application behind Sentinel: it asks the sentinels on
127.0.0.1:SENTINEL_PORT... for the master of 'mymaster'
(redis.sentinel.Sentinel.master_for), authenticates with PASSWORD, and writes c:1, c:2, ... in a loop,
each followed by WAIT 1, across a failover, until AFTER writes went to a
master other than the first one.

Prints 'master HOST:PORT' when it starts, and again each time it writes to
another master; 'ready' once 20 writes were acknowledged (the test kills the
master then); at the end one line 'result {json}' (the masters in order, the
last key written to each, and the keys WAIT acknowledged) and 'ALL OK'. A
write that fails (the master is gone, or is a replica now) is tried again
with the same key and value. Gives up after 90 seconds."""
import json
import sys
import time

import redis
from redis.sentinel import Sentinel

PASSWORD = sys.argv[1]
AFTER = int(sys.argv[2])
SENTINELS = [("127.0.0.1", int(p)) for p in sys.argv[3:]]
DEADLINE = time.time() + 90

sentinel = Sentinel(SENTINELS, socket_timeout=2)
master = sentinel.master_for("mymaster", socket_timeout=2, password=PASSWORD)

masters = []   # [address, last key written there]
acked = []     # keys for which WAIT 1 answered 1
i = 0
while time.time() < DEADLINE:
    i += 1
    while True:
        try:
            master.set("c:%d" % i, "v%d" % i)
            # the connection that ran SET is back in the pool: its address
            conn = master.connection_pool.get_connection("WAIT")
            addr = "%s:%d" % (conn.host, conn.port)
            master.connection_pool.release(conn)
            waited = master.wait(1, 2000)
            break
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            if time.time() > DEADLINE:
                raise
            time.sleep(0.05)
    if not masters or masters[-1][0] != addr:
        masters.append([addr, i])
        print("master", addr, flush=True)
    masters[-1][1] = i
    if waited >= 1:
        acked.append(i)
    if i == 20:
        print("ready", flush=True)
    if len(masters) > 1 and i - masters[0][1] >= AFTER:
        break
else:
    print("gave up: %d writes, masters %r" % (i, masters), flush=True)
    sys.exit(1)

print("result " + json.dumps({"masters": masters, "acked": acked}), flush=True)
print("ALL OK", flush=True)
