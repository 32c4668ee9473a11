/* memory.c - the MEMORY command: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE
 * and HELP, answered with dredis's real figures.
 *
 * dredis keeps the data in the tree, not in memory, so MEMORY USAGE tells
 * the bytes a key takes on disk (store_usage.c), and MEMORY STATS reports
 * the process's memory under Redis 7.0's field names: what zmalloc counts
 * (total.allocated), glibc malloc's own figures (allocator.*), the resident
 * set from /proc (rss), the client buffers, the replication backlog and the
 * scripts cache. docs/compatibility.md says how each field is answered. */
#include "server.h"
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define USAGE_DEFAULT_SAMPLES 5 /* as Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES */

static size_t startup_allocated, peak_allocated;

/* After start-up: what the server needs before any client or key. */
void memoryInit(void) { startup_allocated = peak_allocated = zmalloc_used_memory(); }

/* serverCron and MEMORY STATS: the peak, sampled. */
void memoryUpdatePeak(void) {
    size_t used = zmalloc_used_memory();
    if (used > peak_allocated) peak_allocated = used;
}

/* The resident set size from /proc/self/statm; 0 when unreadable. */
static size_t processRss(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages = 0, resident = 0;
    if (!f) return 0;
    int ok = fscanf(f, "%lld %lld", &pages, &resident) == 2;
    fclose(f);
    return ok ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* MEMORY USAGE key [SAMPLES count] */
static void memoryUsageCommand(client *c) {
    long long samples = USAGE_DEFAULT_SAMPLES;
    for (int j = 3; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "samples") && j + 1 < c->argc) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &samples, NULL) != C_OK) return;
            if (samples < 0) {
                addReplyErrorSyntax(c);
                return;
            }
            j++;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    skey *k;
    if (lookupKeyAny(c, c->argv[2], &k) != C_OK) return; /* replied */
    if (!k) {
        addReplyNull(c);
        return;
    }
    long long bytes;
    int rc = storeKeyDiskUsage(k, samples, &bytes);
    storeCloseKey(k);
    if (rc != STORE_OK) addReplyErrorIO(c, errno);
    else addReplyLongLong(c, bytes);
}

typedef struct memoryFigures {
    size_t peak, total, startup, backlog, clients_slaves, clients_normal, lua_caches, overhead, dataset;
    long long keys;
    size_t alloc_allocated, alloc_active, alloc_resident, rss;
} memoryFigures;

static size_t clientMemory(client *c) {
    size_t n = sizeof(*c) + (c->out ? evbuffer_get_length(c->out) : 0);
    if (c->bev) n += evbuffer_get_length(bufferevent_get_input(c->bev));
    if (c->held) n += evbuffer_get_length(c->held);
    for (int i = 0; i < c->argc; i++) n += sdslen(c->argv[i]);
    return n;
}

static void gatherFigures(memoryFigures *m) {
    memset(m, 0, sizeof(*m));
    memoryUpdatePeak();
    m->peak = peak_allocated;
    m->total = zmalloc_used_memory();
    m->startup = startup_allocated;
    m->backlog = replicationBacklogMemory();
    for (client *c = server.clients; c; c = c->next) {
        if (c->flags & CLIENT_SLAVE) m->clients_slaves += clientMemory(c);
        else m->clients_normal += clientMemory(c);
    }
    m->lua_caches = scriptsCacheMemory();
    m->overhead = m->startup + m->backlog + m->clients_slaves + m->clients_normal + m->lua_caches;
    m->dataset = m->total > m->overhead ? m->total - m->overhead : 0;
    for (int db = 0; db < server.dbnum; db++) {
        long long n = 0;
        if (storeDbSize(db, &n) == STORE_OK) m->keys += n;
    }
    struct mallinfo2 mi = mallinfo2();
    m->alloc_allocated = mi.uordblks + mi.hblkhd;
    m->alloc_active = mi.arena + mi.hblkhd;
    m->rss = processRss();
    m->alloc_resident = m->rss;
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

static void statLL(client *c, const char *name, long long v) {
    addReplyBulkCString(c, name);
    addReplyLongLong(c, v);
}

static void statDouble(client *c, const char *name, double v) {
    addReplyBulkCString(c, name);
    addReplyDouble(c, v);
}

/* MEMORY STATS: Redis 7.0's fields in its order. */
static void memoryStatsCommand(client *c) {
    memoryFigures m;
    gatherFigures(&m);
    int ndbs = 0;
    for (int db = 0; db < server.dbnum; db++) {
        long long n = 0;
        if (storeDbSize(db, &n) == STORE_OK && n > 0) ndbs++;
    }
    addReplyMapLen(c, 27 + ndbs);
    statLL(c, "peak.allocated", (long long)m.peak);
    statLL(c, "total.allocated", (long long)m.total);
    statLL(c, "startup.allocated", (long long)m.startup);
    statLL(c, "replication.backlog", (long long)m.backlog);
    statLL(c, "clients.slaves", (long long)m.clients_slaves);
    statLL(c, "clients.normal", (long long)m.clients_normal);
    statLL(c, "cluster.links", 0);    /* no cluster */
    statLL(c, "aof.buffer", (long long)aofBufferLength()); /* the AOF's bytes not written yet */
    statLL(c, "lua.caches", (long long)m.lua_caches);
    statLL(c, "functions.caches", 0); /* libraries live in the tree and the Lua VM */
    for (int db = 0; db < server.dbnum; db++) {
        long long n = 0;
        if (storeDbSize(db, &n) != STORE_OK || n == 0) continue;
        char name[32];
        snprintf(name, sizeof(name), "db.%d", db);
        addReplyBulkCString(c, name);
        addReplyMapLen(c, 3);
        /* the keyspace is directories on disk: no hash table in memory */
        statLL(c, "overhead.hashtable.main", 0);
        statLL(c, "overhead.hashtable.expires", 0);
        statLL(c, "overhead.hashtable.slot-to-keys", 0);
    }
    statLL(c, "overhead.total", (long long)m.overhead);
    statLL(c, "keys.count", m.keys);
    size_t net = m.total > m.startup ? m.total - m.startup : 0;
    statLL(c, "keys.bytes-per-key", m.keys ? (long long)(net / (size_t)m.keys) : 0);
    statLL(c, "dataset.bytes", (long long)m.dataset);
    statDouble(c, "dataset.percentage", net ? ratio(m.dataset, net) * 100 : 0);
    statDouble(c, "peak.percentage", ratio(m.total, m.peak) * 100);
    statLL(c, "allocator.allocated", (long long)m.alloc_allocated);
    statLL(c, "allocator.active", (long long)m.alloc_active);
    statLL(c, "allocator.resident", (long long)m.alloc_resident);
    statDouble(c, "allocator-fragmentation.ratio", ratio(m.alloc_active, m.alloc_allocated));
    statLL(c, "allocator-fragmentation.bytes", (long long)m.alloc_active - (long long)m.alloc_allocated);
    statDouble(c, "allocator-rss.ratio", ratio(m.alloc_resident, m.alloc_active));
    statLL(c, "allocator-rss.bytes", (long long)m.alloc_resident - (long long)m.alloc_active);
    statDouble(c, "rss-overhead.ratio", ratio(m.rss, m.alloc_resident));
    statLL(c, "rss-overhead.bytes", (long long)m.rss - (long long)m.alloc_resident);
    statDouble(c, "fragmentation", ratio(m.rss, m.total));
    statLL(c, "fragmentation.bytes", (long long)m.rss - (long long)m.total);
}

/* MEMORY DOCTOR: the checks that mean something for dredis. */
static void memoryDoctorCommand(client *c) {
    memoryFigures m;
    gatherFigures(&m);
    sds r = sdsempty();
    if (m.total < 5 * 1024 * 1024) {
        r = sdscat(r, "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be "
                      "used in these conditions. Please, leave for your mission on Earth and fill it with some data. "
                      "The new Sam and I will be back to our programming as soon as I finished rebooting.\n");
    } else {
        int issues = 0;
        r = sdscat(r, "Sam, I detected a few issues in this dredis instance memory implants:\n\n");
        if (m.peak > m.total * 3 / 2) {
            r = sdscatprintf(r, " * Peak memory: at some point the process used %zu bytes, 150%% more than the %zu "
                                "it uses now.\n\n", m.peak, m.total);
            issues++;
        }
        if (m.clients_normal > 200 * 1024 * 1024) {
            r = sdscat(r, " * Big client buffers: the clients' query and output buffers take over 200 MB; "
                          "see CLIENT LIST (qbuf, omem).\n\n");
            issues++;
        }
        if (m.lua_caches > 1000 * 1024 * 1024) {
            r = sdscat(r, " * Big Lua scripts cache: over 1 GB; SCRIPT FLUSH empties it.\n\n");
            issues++;
        }
        if (!issues) {
            sdsfree(r);
            r = sdsnew("Hi Sam, I can't find any memory issue in your instance. I can only account for what "
                       "occurs on this base.\n");
        }
    }
    addReplyVerbatim(c, r, sdslen(r), "txt");
    sdsfree(r);
}

/* MEMORY MALLOC-STATS: glibc's malloc_info() report (XML). */
static void memoryMallocStatsCommand(client *c) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f || malloc_info(0, f) != 0) {
        if (f) fclose(f);
        free(buf);
        addReplyErrorIO(c, errno);
        return;
    }
    fclose(f);
    addReplyVerbatim(c, buf, len, "txt");
    free(buf);
}

/* MEMORY PURGE: give free heap pages back to the system (malloc_trim). */
static void memoryPurgeCommand(client *c) {
    malloc_trim(0);
    addReplyOK(c);
}

static void memoryHelpCommand(client *c) {
    static const char *help[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

static void memoryContainer(client *c) { (void)c; }

static redisCommand memorySubcommands[] = {
    {"doctor", memoryDoctorCommand, 2, "", "slow", 0, 0, 0, NULL},
    {"help", memoryHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"malloc-stats", memoryMallocStatsCommand, 2, "", "slow", 0, 0, 0, NULL},
    {"purge", memoryPurgeCommand, 2, "", "slow", 0, 0, 0, NULL},
    {"stats", memoryStatsCommand, 2, "", "slow", 0, 0, 0, NULL},
    {"usage", memoryUsageCommand, -3, "readonly", "read slow", 2, 2, 1, NULL},
    {NULL}};

redisCommand memoryCommandTable[] = {
    {"memory", memoryContainer, -2, "", "slow", 0, 0, 0, memorySubcommands},
    {NULL}};
