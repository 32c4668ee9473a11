/* blocking.c - clients that wait: for keys to receive data (BLPOP and the
 * other blocking pops, XREAD BLOCK) or for a timeout (WAIT).
 *
 * A blocking command that finds nothing calls blockForKeys(); the client is
 * then queued, first come first served, on each key. Whenever the store
 * reports a change to a key somebody waits on, the key is marked ready, and
 * after the current command the waiting clients' commands are run again in
 * queue order: a command that is served replies and unblocks its client; one
 * that still finds nothing calls blockForKeys() again, which leaves the
 * client where it was in the queue. Timeouts reply with the command's null
 * reply. Input that arrives while a client is blocked waits in its buffer. */
#include "server.h"
#include "dict.h"
#include <limits.h>
#include <string.h>
#include <stdlib.h>

typedef struct waiters {
    client **items;
    int count;
} waiters;

static dict *blocking_keys;   /* "db:key" -> waiters */
static sds *ready_keys;       /* keys changed since the last pass */
static int nready;
static struct event *unblocked_ev; /* runs unblocked clients' pending input */

static sds blockKeyName(int db, const char *key, size_t len) {
    sds k = sdscatprintf(sdsempty(), "%d:", db);
    return sdscatlen(k, key, len);
}

static void processUnblockedClients(evutil_socket_t fd, short what, void *arg);

void blockingInit(void) {
    blocking_keys = dictCreate();
    unblocked_ev = event_new(server.base, -1, 0, processUnblockedClients, NULL);
}

static void timeoutCallback(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    client *c = arg;
    replyToBlockedClientTimedOut(c);
    unblockClient(c);
}

void blockForKeys(client *c, int btype, sds *keys, int nkeys, long long timeout_ms, int timeout_reply) {
    if (c->bstate.btype != BLOCKED_NONE) {
        /* run again from the ready-key pass and still nothing: stay queued */
        c->bstate.reblocked = 1;
        return;
    }
    c->bstate.btype = btype;
    c->bstate.timeout_reply = timeout_reply;
    c->bstate.db = c->db;
    c->bstate.nkeys = nkeys;
    c->bstate.keys = zmalloc(sizeof(sds) * (size_t)(nkeys ? nkeys : 1));
    /* keep the command to run again */
    c->bstate.cmd = c->cmd;
    c->bstate.argc = c->argc;
    c->bstate.argv = zmalloc(sizeof(sds) * (size_t)c->argc);
    for (int i = 0; i < c->argc; i++) c->bstate.argv[i] = sdsdup(c->argv[i]);
    for (int i = 0; i < nkeys; i++) {
        c->bstate.keys[i] = sdsdup(keys[i]);
        sds bk = blockKeyName(c->db, keys[i], sdslen(keys[i]));
        waiters *w = dictFetch(blocking_keys, bk, sdslen(bk));
        if (!w) {
            w = zcalloc(sizeof(*w));
            dictAdd(blocking_keys, bk, sdslen(bk), w);
        }
        sdsfree(bk);
        int already = 0;
        for (int j = 0; j < w->count; j++)
            if (w->items[j] == c) already = 1;
        if (!already) {
            w->items = zrealloc(w->items, sizeof(client *) * (size_t)(w->count + 1));
            w->items[w->count++] = c;
        }
    }
    if (timeout_ms > 0) {
        c->bstate.timer = evtimer_new(server.base, timeoutCallback, c);
        long long left = timeout_ms - mstime();
        if (left < 0) left = 0;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
        evtimer_add(c->bstate.timer, &tv);
    }
    server.blocked_clients++;
}

static void forgetPostponed(client *c);

void unblockClient(client *c) {
    if (c->bstate.btype == BLOCKED_NONE) return;
    if (c->bstate.btype == BLOCKED_PAUSE) forgetPostponed(c);
    for (int i = 0; i < c->bstate.nkeys; i++) {
        sds bk = blockKeyName(c->bstate.db, c->bstate.keys[i], sdslen(c->bstate.keys[i]));
        waiters *w = dictFetch(blocking_keys, bk, sdslen(bk));
        if (w) {
            for (int j = 0; j < w->count; j++) {
                if (w->items[j] == c) {
                    memmove(&w->items[j], &w->items[j + 1], sizeof(client *) * (size_t)(w->count - j - 1));
                    w->count--;
                    break;
                }
            }
            if (w->count == 0) {
                dictDelete(blocking_keys, bk, sdslen(bk));
                zfree(w->items);
                zfree(w);
            }
        }
        sdsfree(bk);
        sdsfree(c->bstate.keys[i]);
    }
    zfree(c->bstate.keys);
    for (int i = 0; i < c->bstate.argc; i++) sdsfree(c->bstate.argv[i]);
    zfree(c->bstate.argv);
    if (c->bstate.timer) event_free(c->bstate.timer);
    memset(&c->bstate, 0, sizeof(c->bstate));
    server.blocked_clients--;
    /* its pipelined input, if any, is processed on the next loop turn */
    if (c->bev && !(c->flags & CLIENT_CLOSE_ASAP)) {
        c->flags |= CLIENT_UNBLOCKED;
        event_active(unblocked_ev, 0, 0);
    }
}

void replyToBlockedClientTimedOut(client *c) {
    /* a blocking pop or read that times out counts as its call (as in
     * Redis 7.0, where a WAIT that blocked counts as none) */
    if (c->bstate.timeout_reply != BLOCK_TIMEOUT_ACKED && c->bstate.cmd) c->bstate.cmd->calls++;
    switch (c->bstate.timeout_reply) {
    case BLOCK_TIMEOUT_NULL_ARRAY: addReplyNullArray(c); break;
    case BLOCK_TIMEOUT_NULL: addReplyNull(c); break;
    case BLOCK_TIMEOUT_ZERO: addReplyLongLong(c, 0); break;
    case BLOCK_TIMEOUT_ACKED: addReplyLongLong(c, replicationAckedReplicas(c)); break;
    }
}

/* CLIENT UNBLOCK: end target's wait as its timeout would (error == 0) or
 * with Redis's -UNBLOCKED error. A client postponed by CLIENT PAUSE waits
 * for no key and no timeout, so it is not unblocked (Redis 7.0 aborts on
 * it). 1 when target was unblocked. */
int unblockClientOnRequest(client *target, int error) {
    if (target->bstate.btype == BLOCKED_NONE || target->bstate.btype == BLOCKED_PAUSE) return 0;
    if (error) addReplyError(target, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else replyToBlockedClientTimedOut(target);
    unblockClient(target);
    return 1;
}

/* Inside MULTI/EXEC or a script a blocking command answers at once. */
int clientMayBlock(client *c) { return !(c->flags & (CLIENT_MULTI | CLIENT_EXECUTING | CLIENT_FAKE)); }

/* The store's key hook: a key somebody waits on changed. */
void signalKeyAsReady(int db, const char *key, size_t len) {
    if (dictSize(blocking_keys) == 0) return;
    sds bk = blockKeyName(db, key, len);
    if (!dictFind(blocking_keys, bk, sdslen(bk))) {
        sdsfree(bk);
        return;
    }
    for (int i = 0; i < nready; i++) {
        if (sdscmp(ready_keys[i], bk) == 0) {
            sdsfree(bk);
            return;
        }
    }
    ready_keys = zrealloc(ready_keys, sizeof(sds) * (size_t)(nready + 1));
    ready_keys[nready++] = bk;
}

/* Every key waited on in db may have changed (SWAPDB). */
void signalAllBlockedKeysInDb(int db) {
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, blocking_keys);
    while ((e = dictNext(&it)) != NULL) {
        const char *colon = memchr(e->key, ':', sdslen(e->key));
        if (!colon || atoi(e->key) != db) continue;
        signalKeyAsReady(db, colon + 1, sdslen(e->key) - (size_t)(colon + 1 - e->key));
    }
}

/* Can the key "db:name" (a ready key) serve a client blocked as btype? A
 * list or sorted set waiter is served only by a key of its type, as in
 * Redis (a missing key lets the command block again by itself). */
static int keyServesBlockType(sds dbkey, int btype) {
    if (btype != BLOCKED_LIST && btype != BLOCKED_ZSET) return 1;
    const char *colon = memchr(dbkey, ':', sdslen(dbkey));
    if (!colon) return 1;
    skey *k;
    if (storeOpenKey(atoi(dbkey), colon + 1, sdslen(dbkey) - (size_t)(colon + 1 - dbkey), &k) != STORE_OK) return 1;
    int ok = k->type == (btype == BLOCKED_LIST ? OBJ_LIST : OBJ_ZSET) || keyIsExpired(k);
    storeCloseKey(k);
    return ok;
}

/* Run again the commands of clients waiting on keys that changed. Serving a
 * client may change keys again (BLMOVE pushes), so loop until quiet. */
void handleClientsBlockedOnKeys(void) {
    static int running = 0;
    /* not while a script runs (past its time limit other clients' commands
     * are served): waiters must not see the script's keys half way */
    if (running || scriptIsRunning()) return;
    running = 1;
    while (nready) {
        sds *keys = ready_keys;
        int n = nready;
        ready_keys = NULL;
        nready = 0;
        for (int i = 0; i < n; i++) {
            waiters *w = dictFetch(blocking_keys, keys[i], sdslen(keys[i]));
            /* serve in queue order; stop when a waiter is not served (the
             * key ran dry) -- later waiters would not be served either */
            int idx = 0;
            while (w && idx < w->count) {
                client *c = w->items[idx];
                if (!keyServesBlockType(keys[i], c->bstate.btype)) {
                    idx++; /* as Redis: a key now of another type leaves it blocked */
                    continue;
                }
                int saved_db = c->db;
                int saved_argc = c->argc;
                sds *saved_argv = c->argv;
                c->db = c->bstate.db;
                c->argc = c->bstate.argc;
                c->argv = c->bstate.argv;
                c->bstate.reblocked = 0;
                call(c, c->bstate.cmd);
                c->argc = saved_argc;
                c->argv = saved_argv;
                c->db = saved_db;
                if (c->bstate.reblocked) {
                    idx++;
                    continue;
                }
                unblockClient(c); /* served: leaves the queue */
                w = dictFetch(blocking_keys, keys[i], sdslen(keys[i]));
            }
            sdsfree(keys[i]);
        }
        zfree(keys);
    }
    running = 0;
}

static void processUnblockedClients(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    client *c = server.clients;
    while (c) {
        client *next = c->next;
        if (c->flags & CLIENT_UNBLOCKED) {
            c->flags &= ~CLIENT_UNBLOCKED;
            /* may free c (QUIT, protocol error) */
            resumeClientInput(c);
        }
        c = next;
    }
}

int getBlockingTimeoutOrReply(client *c, sds arg, long long *timeout_ms) {
    long double secs;
    if (!string2ld(arg, sdslen(arg), &secs) || secs > 1e15L) {
        addReplyError(c, "ERR timeout is not a float or out of range");
        return C_ERR;
    }
    if (secs < 0) {
        addReplyError(c, "ERR timeout is negative");
        return C_ERR;
    }
    long long ms = (long long)(secs * 1000.0L);
    if (ms == 0 && secs > 0) ms = 1;
    *timeout_ms = ms ? mstime() + ms : 0;
    return C_OK;
}

/* ---- CLIENT PAUSE ---- */

/* As Redis 7.0, each purpose (CLIENT PAUSE, FAILOVER) has its own pause:
 * its end and whether it holds all commands or only writes. What is in
 * effect is the most restrictive of them, until the furthest end among
 * those of that kind; CLIENT UNPAUSE ends only its own. */
static struct {
    long long end_ms; /* 0: this purpose does not pause */
    int all;
} pauses[PAUSE_PURPOSES];
static long long pause_end_ms;     /* 0: not paused; LLONG_MAX: until unpaused */
static int pause_all;              /* ALL, else WRITE */
static client **postponed;         /* in arrival order */
static int npostponed;
static struct event *pause_timer;

static void updatePause(void);

static void pauseTimerCallback(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    updatePause();
}

int writesArePaused(void) { return pause_end_ms != 0; }

/* Would this command wait for the pause to end? The fake clients of
 * scripts are never paused, nor the replication links: a replica's ACKs,
 * and our master's stream (whose offset counts what was applied) go on.
 * As in Redis 7.0, an ALL pause holds every other command, CLIENT UNPAUSE
 * too: it ends by its timeout. */
int clientsArePaused(void) { return pause_end_ms != 0; }

int commandIsPaused(client *c, redisCommand *cmd) {
    if (!pause_end_ms || (c->flags & (CLIENT_FAKE | CLIENT_SLAVE | CLIENT_MASTER))) return 0;
    if (pause_all) return 1;
    /* a WRITE pause holds what may change the data set or be replicated:
     * writes, scripts that do not declare no-writes, PUBLISH, and an EXEC
     * whose queue holds one of those (Redis's is_may_replicate_command) */
    return (commandRunFlags(c, cmd) & (CMD_WRITE | CMD_MAY_REPLICATE)) != 0;
}

static void addPostponed(client *c) {
    postponed = zrealloc(postponed, sizeof(client *) * (size_t)(npostponed + 1));
    postponed[npostponed++] = c;
}

void postponeClient(client *c, redisCommand *cmd) {
    c->cmd = cmd;
    blockForKeys(c, BLOCKED_PAUSE, NULL, 0, 0, BLOCK_TIMEOUT_NULL);
    addPostponed(c);
}

/* Would c's postponed command be held by a pause that a command run just
 * before it started? */
static int postponedStillPaused(client *c, redisCommand *cmd) {
    if (!pause_end_ms) return 0;
    int saved_argc = c->argc;
    sds *saved_argv = c->argv;
    c->argc = c->bstate.argc;
    c->argv = c->bstate.argv;
    int held = commandIsPaused(c, cmd);
    c->argc = saved_argc;
    c->argv = saved_argv;
    return held;
}

/* Run the postponed commands, in the order they arrived; as in Redis, one
 * of them may pause again, and those after it that the new pause holds
 * wait for its end. Each goes through processCommand() again, as Redis
 * processes a postponed command from scratch: what held while it waited
 * may have changed (a FAILOVER made this server a replica: -READONLY). */
static void runPostponed(void) {
    client **list = postponed;
    int n = npostponed;
    postponed = NULL;
    npostponed = 0;
    for (int i = 0; i < n; i++) {
        client *c = list[i];
        if (c->bstate.btype != BLOCKED_PAUSE) continue; /* gone meanwhile */
        redisCommand *cmd = c->bstate.cmd;
        if (postponedStillPaused(c, cmd)) {
            addPostponed(c);
            continue;
        }
        int argc = c->bstate.argc;
        sds *argv = c->bstate.argv;
        c->bstate.argv = NULL;
        c->bstate.argc = 0;
        unblockClient(c);
        int saved_argc = c->argc;
        sds *saved_argv = c->argv;
        c->argc = argc;
        c->argv = argv;
        processCommand(c);
        for (int j = 0; j < c->argc; j++) sdsfree(c->argv[j]);
        zfree(c->argv);
        c->argc = saved_argc;
        c->argv = saved_argv;
    }
    zfree(list);
    handleClientsBlockedOnKeys();
}

/* What is in effect from the pauses of every purpose (the ended ones
 * dropped); when it is less restrictive than before, the postponed
 * commands run (or wait again). */
static void updatePause(void) {
    long long now = mstime();
    int was_all = pause_all;
    long long was_end = pause_end_ms;
    int all = 0, any = 0;
    for (int i = 0; i < PAUSE_PURPOSES; i++) {
        if (pauses[i].end_ms && pauses[i].end_ms < now) pauses[i].end_ms = pauses[i].all = 0; /* as Redis: ended */
        if (!pauses[i].end_ms) continue;
        any = 1;
        if (pauses[i].all) all = 1;
    }
    long long end = 0;
    for (int i = 0; i < PAUSE_PURPOSES; i++)
        if (pauses[i].end_ms && pauses[i].all == all && pauses[i].end_ms > end) end = pauses[i].end_ms;
    pause_all = any && all;
    pause_end_ms = end;
    if (!pause_timer) pause_timer = evtimer_new(server.base, pauseTimerCallback, NULL);
    evtimer_del(pause_timer);
    /* the nearest end of a purpose changes what is in effect */
    long long next = 0;
    for (int i = 0; i < PAUSE_PURPOSES; i++)
        if (pauses[i].end_ms && pauses[i].end_ms != LLONG_MAX && (!next || pauses[i].end_ms < next))
            next = pauses[i].end_ms;
    if (next) {
        long long left = next - now + 1; /* past its end, when it is over */
        if (left < 0) left = 0;
        struct timeval tv = {(time_t)(left / 1000), (suseconds_t)((left % 1000) * 1000)};
        evtimer_add(pause_timer, &tv);
    }
    if ((was_end && !pause_end_ms) || (was_all && !pause_all)) runPostponed();
}

/* Pause for purpose until end_ms (LLONG_MAX: until unpauseClients()); a
 * later end or a wider kind extends that purpose's pause. */
void pauseClients(int purpose, long long end_ms, int all) {
    if (end_ms > pauses[purpose].end_ms) pauses[purpose].end_ms = end_ms;
    if (all) pauses[purpose].all = 1;
    updatePause();
}

void unpauseClients(int purpose) {
    pauses[purpose].end_ms = 0;
    pauses[purpose].all = 0;
    updatePause();
}

/* A client that disconnects while postponed leaves the list. */
static void forgetPostponed(client *c) {
    for (int i = 0; i < npostponed; i++) {
        if (postponed[i] == c) {
            memmove(&postponed[i], &postponed[i + 1], sizeof(client *) * (size_t)(npostponed - i - 1));
            npostponed--;
            return;
        }
    }
}

/* WAIT numreplicas timeout: the number of replicas that acknowledged every
 * write this client made, once numreplicas have or when the timeout comes
 * (never, for timeout 0), as Redis. Inside MULTI or a script it answers at
 * once, with the count of now. */
static void waitCommand(client *c) {
    long long numreplicas, timeout;
    if (getLongLongFromArgOrReply(c, c->argv[1], &numreplicas, NULL) != C_OK) return;
    if (getLongLongFromArgOrReply(c, c->argv[2], &timeout, "ERR timeout is not an integer or out of range") != C_OK)
        return;
    if (timeout < 0) {
        addReplyError(c, "ERR timeout is negative");
        return;
    }
    if (server.masterhost) {
        addReplyError(c, "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
                         "replica is configured to be writable (which is not the default) writes to replicas are "
                         "just local and are not propagated.");
        return;
    }
    int acked = replicationAckedReplicas(c);
    if (acked >= numreplicas || (c->flags & (CLIENT_MULTI | CLIENT_EXECUTING | CLIENT_FAKE))) {
        addReplyLongLong(c, acked);
        return;
    }
    c->bstate.numreplicas = numreplicas;
    blockForKeys(c, BLOCKED_WAIT, NULL, 0, timeout ? mstime() + timeout : 0, BLOCK_TIMEOUT_ACKED);
    replicationRequestAck();
}

/* A replica acknowledged: answer the WAITs it satisfies. */
void replicationWaitersCheck(void) {
    for (client *c = server.clients, *next; c; c = next) {
        next = c->next;
        if (c->bstate.btype != BLOCKED_WAIT) continue;
        int acked = replicationAckedReplicas(c);
        if (acked < c->bstate.numreplicas) continue;
        addReplyLongLong(c, acked);
        unblockClient(c);
    }
}

redisCommand blockingCommandTable[] = {
    {"wait", waitCommand, 3, "noscript", "slow connection", 0, 0, 0, NULL},
    {NULL}};
