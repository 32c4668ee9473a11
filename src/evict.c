/* evict.c - maxmemory. dredis keeps its data on disk: what the process
 * holds in memory (zmalloc's count, INFO used_memory) is caches, buffers
 * and the Lua interpreters, not the keys, so evicting keys would free
 * nothing. Its one policy is Redis's noeviction: above maxmemory, commands
 * flagged deny-oom (and scripts that may write) are refused with -OOM
 * (commands.c, scripting), as Redis's performEvictions() under noeviction.
 * A replica ignores maxmemory, as Redis's replica-ignore-maxmemory yes. */
#include "server.h"

/* Memory Redis leaves out of the count (freeMemoryGetNotCountedMemory):
 * the AOF's bytes not written yet. The replicas' output is in libevent's
 * buffers, which zmalloc does not count either. */
static size_t memoryNotCounted(void) { return aofBufferLength(); }

/* As Redis's isSafeToPerformEvictions(): not while a script runs past its
 * time limit, on a replica, or while clients are paused. */
static int maxmemoryApplies(void) {
    return server.maxmemory && !scriptIsTimedout() && !server.masterhost && !clientsArePaused();
}

int overMaxmemory(void) {
    if (!maxmemoryApplies()) return 0;
    size_t used = zmalloc_used_memory();
    if (used <= server.maxmemory) return 0;
    size_t overhead = memoryNotCounted();
    used = used > overhead ? used - overhead : 0;
    return used > server.maxmemory;
}
