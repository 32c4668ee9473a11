/* replication.c - dredis as a master, in Redis 7.0's replication protocol,
 * so that real redis-server replicas (and redis-cli --rdb, and Sentinel)
 * follow it:
 *
 * - the stream: every write, as propagate.c hands it over, encoded as RESP
 *   with a SELECT where the database changes, appended to the replication
 *   backlog (a ring of DREDIS_REPL_BACKLOG_SIZE bytes) and to each replica;
 *   its byte count is master_repl_offset;
 * - PSYNC/SYNC: +CONTINUE and the missed part of the backlog when the
 *   replica's replication id and offset allow it, else +FULLRESYNC: a
 *   snapshot of the tree is taken at that instant (save.c, snapshot.c),
 *   written as an RDB file by a child process (dredis-server --export-rdb)
 *   and sent as a bulk ($<len>, then the file with sendfile), followed by
 *   the stream buffered for that replica since the instant;
 * - REPLCONF (listening-port, ip-address, capa, ack, getack, rdb-only),
 *   WAIT counting acknowledgements, PING to replicas every
 *   repl-ping-replica-period, replicas dropped after repl-timeout without an
 *   acknowledgement, INFO replication and ROLE.
 *
 * Memory stays bounded: the RDB never passes through memory, and the stream
 * buffered for a replica is limited (client-output-buffer-limit's replica
 * class, client_limits.c); a replica past it is dropped and syncs again. */
#include "server.h"
#include "rdb_file.h"
#include "syscalls.h"
#include "snapshot.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A replica's connection, as Redis names its states */
#define REPL_STATE_NONE 0
#define SLAVE_STATE_WAIT_BGSAVE_START 6 /* a snapshot is needed and none could start yet */
#define SLAVE_STATE_WAIT_BGSAVE_END 7   /* its snapshot and RDB are being made */
#define SLAVE_STATE_SEND_BULK 8         /* its RDB is being sent; the stream waits */
#define SLAVE_STATE_ONLINE 9            /* the stream flows */

#define SLAVE_CAPA_EOF (1 << 0)
#define SLAVE_CAPA_PSYNC2 (1 << 1)

static struct {
    char *backlog;          /* ring buffer, NULL until the first replica */
    long long backlog_cap;  /* its bytes: grows towards repl_backlog_size */
    long long backlog_idx;  /* where the next byte goes */
    long long histlen;      /* bytes of history it holds */
    long long backlog_off;  /* replication offset of its first byte */
    int seldb;              /* the database the stream last selected, -1: none */
    client **replicas;
    int nreplicas;
    /* the snapshot and the RDB of a full sync */
    int snapshot_for_sync;  /* the running snapshot was started for replicas */
    long long snapshot_offset; /* master_repl_offset at its instant */
    int snapshot_stream_db;    /* a replica: the database its master's stream was in then */
    pid_t export_pid;       /* the child writing the RDB, 0 when none */
    char export_path[4096];
    long long last_ping;    /* unix ms of the last PING to replicas */
    long long last_newline; /* unix ms of the last keep-alive newline */
    long long stat_sync_full, stat_sync_partial_ok, stat_sync_partial_err;
    int getack_pending;     /* WAIT asked for acknowledgements during a pause */
} repl;

/* FAILOVER: the coordinated handover to a replica (Redis 7.0's) */
static struct {
    int state;              /* NO_FAILOVER, FAILOVER_WAIT_FOR_SYNC, FAILOVER_IN_PROGRESS */
    long long end_ms;       /* TIMEOUT's deadline, 0: none */
    int force;              /* FORCE: at the deadline, fail over anyway */
    char *host;             /* the target, NULL until chosen (FAILOVER without TO) */
    int port;
} fo;

static void scheduleFailoverCheck(void);

static const char *stateName(int state) {
    switch (state) {
    case SLAVE_STATE_WAIT_BGSAVE_START:
    case SLAVE_STATE_WAIT_BGSAVE_END: return "wait_bgsave";
    case SLAVE_STATE_SEND_BULK: return "send_bulk";
    case SLAVE_STATE_ONLINE: return "online";
    default: return "none";
    }
}

/* ------------------------------------------------------------------------ */
/* Replication ids                                                           */
/* ------------------------------------------------------------------------ */

static void changeReplicationId(void) {
    getRandomHexChars(server.replid, 40);
    server.replid[40] = '\0';
}

static void clearReplicationId2(void) {
    memset(server.replid2, '0', 40);
    server.replid2[40] = '\0';
    server.second_replid_offset = -1;
}

/* DEBUG CHANGE-REPL-ID: a new id, and no second one, as Redis's. */
void replicationChangeIds(void) {
    changeReplicationId();
    clearReplicationId2();
}

/* ------------------------------------------------------------------------ */
/* The backlog                                                               */
/* ------------------------------------------------------------------------ */

/* The ring is allocated as the history grows, doubling up to
 * repl_backlog_size (as Redis's backlog of blocks takes memory only for
 * what it holds): a large setting costs nothing until it is used. */
#define BACKLOG_FIRST (1024 * 1024)

size_t replicationBacklogMemory(void) { return repl.backlog ? (size_t)repl.backlog_cap : 0; }

static void createBacklog(void) {
    repl.backlog_cap = server.repl_backlog_size < BACKLOG_FIRST ? server.repl_backlog_size : BACKLOG_FIRST;
    repl.backlog = zmalloc((size_t)repl.backlog_cap);
    repl.backlog_idx = 0;
    repl.histlen = 0;
    /* the next byte written is the first of the history */
    repl.backlog_off = server.master_repl_offset + 1;
}

/* Move the newest history that fits into a ring of cap bytes, from its
 * start. */
static void relayoutBacklog(long long cap) {
    long long keep = repl.histlen < cap ? repl.histlen : cap;
    char *nb = zmalloc((size_t)cap);
    long long old = repl.backlog_cap;
    long long start = (repl.backlog_idx - keep + old * 2) % old;
    for (long long done = 0; done < keep;) {
        long long n = old - start < keep - done ? old - start : keep - done;
        memcpy(nb + done, repl.backlog + start, (size_t)n);
        start = (start + n) % old;
        done += n;
    }
    zfree(repl.backlog);
    repl.backlog = nb;
    repl.backlog_cap = cap;
    repl.histlen = keep;
    repl.backlog_idx = keep % cap;
    repl.backlog_off = server.master_repl_offset - keep + 1;
}

static void appendToBacklog(const char *p, size_t len) {
    server.master_repl_offset += (long long)len;
    long long size = server.repl_backlog_size;
    if ((long long)len > size) { /* only the end of it fits */
        p += (long long)len - size;
        len = (size_t)size;
    }
    if (repl.histlen + (long long)len > repl.backlog_cap && repl.backlog_cap < size) {
        long long want = repl.backlog_cap * 2 > repl.histlen + (long long)len ? repl.backlog_cap * 2
                                                                               : repl.histlen + (long long)len;
        /* the history so far ends before this write: laid out, then added */
        server.master_repl_offset -= (long long)len;
        relayoutBacklog(want < size ? want : size);
        server.master_repl_offset += (long long)len;
    }
    long long cap = repl.backlog_cap;
    while (len) {
        size_t room = (size_t)(cap - repl.backlog_idx);
        size_t n = len < room ? len : room;
        memcpy(repl.backlog + repl.backlog_idx, p, n);
        repl.backlog_idx = (repl.backlog_idx + (long long)n) % cap;
        repl.histlen += (long long)n;
        p += n;
        len -= n;
    }
    if (repl.histlen > cap) repl.histlen = cap;
    repl.backlog_off = server.master_repl_offset - repl.histlen + 1;
}

/* CONFIG SET repl-backlog-size (at least 16 KB, as in Redis): a smaller
 * size keeps the newest history that fits, so partial resyncs still find
 * it; a larger one is taken as the history grows. */
void replicationResizeBacklog(long long size) {
    if (size < 16 * 1024) size = 16 * 1024;
    if (repl.backlog && size < repl.backlog_cap) relayoutBacklog(size);
    server.repl_backlog_size = size;
}

/* Queue the history from offset on (within the backlog) for c. */
static void addBacklogFrom(client *c, long long offset) {
    long long skip = offset - repl.backlog_off;
    long long len = repl.histlen - skip;
    long long cap = repl.backlog_cap;
    long long start = (repl.backlog_idx - repl.histlen + skip + cap * 2) % cap;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    while (len > 0) {
        long long n = cap - start < len ? cap - start : len;
        evbuffer_add(out, repl.backlog + start, (size_t)n);
        start = (start + n) % cap;
        len -= n;
    }
}

/* ------------------------------------------------------------------------ */
/* Feeding the stream                                                        */
/* ------------------------------------------------------------------------ */

/* A master keeps the stream once a replica connected (a replica keeps its
 * master's, replicationFeedRaw()). */
int replicationWanted(void) { return !server.masterhost && (repl.backlog != NULL || repl.nreplicas > 0); }

int replicationHasHistory(void) { return repl.backlog != NULL; }

/* as Redis, INFO's connected_clients leaves out the replicas' connections */
int replicationReplicaCount(void) { return repl.nreplicas; }

/* What the replica class of client-output-buffer-limit counts: the stream
 * waiting for replica c (kept aside during its full sync, then in its
 * output), never its RDB file. */
size_t replicationPendingStream(client *c) {
    if (c->repl_pending) return evbuffer_get_length(c->repl_pending);
    if (c->replstate == SLAVE_STATE_ONLINE) return evbuffer_get_length(bufferevent_get_output(c->bev));
    return 0;
}

long long replicationOffset(void) { return server.master_repl_offset; }

static void replicaAddress(client *c, char *ip, size_t len) {
    if (c->slave_addr[0]) {
        snprintf(ip, len, "%s", c->slave_addr);
        return;
    }
    snprintf(ip, len, "%s", c->addr);
    char *colon = strrchr(ip, ':');
    if (colon) *colon = '\0';
}

/* A replica as Redis names it in the log, and as INFO and Sentinel know
 * it: its address and the port it listens on (REPLCONF listening-port), not
 * the port of its connection to us. */
static const char *replicaName(client *c) {
    static char buf[128];
    char ip[64];
    replicaAddress(c, ip, sizeof(ip));
    if (c->slave_listening_port) snprintf(buf, sizeof(buf), strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip,
                                          c->slave_listening_port);
    else snprintf(buf, sizeof(buf), "%s:<unknown-replica-port>", ip);
    return buf;
}

static void dropReplica(client *c, const char *why) {
    serverLog(LL_WARNING, "Replica %s dropped: %s", replicaName(c), why);
    closeClientAsync(c);
}

/* Raw stream bytes to every replica that takes them now or later. */
static void feedReplicas(const char *p, size_t len) {
    appendToBacklog(p, len);
    for (int i = 0; i < repl.nreplicas; i++) {
        client *r = repl.replicas[i];
        if (r->flags & CLIENT_CLOSE_ASAP) continue;
        /* the limit counts the stream, not an RDB file queued for sending */
        struct evbuffer *dst = r->replstate == SLAVE_STATE_ONLINE ? bufferevent_get_output(r->bev)
                               : r->replstate == SLAVE_STATE_WAIT_BGSAVE_END || r->replstate == SLAVE_STATE_SEND_BULK
                                   ? r->repl_pending
                                   : NULL;
        if (!dst) continue;
        evbuffer_add(dst, p, len);
        closeClientOnOutputLimit(r, evbuffer_get_length(dst)); /* the replica class */
    }
}

/* A command as a master writes it in its stream: a canonical multibulk. */
sds catCommandMultibulk(sds s, int argc, sds *argv) {
    s = sdscatprintf(s, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        s = sdscatprintf(s, "$%zu\r\n", sdslen(argv[i]));
        s = sdscatlen(s, argv[i], sdslen(argv[i]));
        s = sdscatlen(s, "\r\n", 2);
    }
    return s;
}

/* A replica: its master's stream as it came, for our backlog and our
 * replicas (their offsets are our master's). */
void replicationFeedRaw(const char *p, size_t len) {
    if (!repl.backlog) createBacklog();
    feedReplicas(p, len);
}

/* One command of the stream, in database db (-1: any). */
void replicationFeed(int db, int argc, sds *argv) {
    if (!replicationWanted()) return;
    if (!repl.backlog) createBacklog();
    sds s = sdsempty();
    if (db >= 0 && db != repl.seldb) {
        s = sdscatprintf(s, "*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n", db >= 10 ? 2 : 1, db);
        repl.seldb = db;
    }
    s = catCommandMultibulk(s, argc, argv);
    feedReplicas(s, sdslen(s));
    sdsfree(s);
}

/* ------------------------------------------------------------------------ */
/* Histories: the replication id and offset as roles change                  */
/* ------------------------------------------------------------------------ */

void replicationDisconnectReplicas(void) {
    for (int i = 0; i < repl.nreplicas; i++) closeClientAsync(repl.replicas[i]);
}

/* A full sync from our master: its history, from offset on, replaces ours. */
void replicationResetHistory(const char *replid, long long offset) {
    memcpy(server.replid, replid, 40);
    server.replid[40] = '\0';
    clearReplicationId2();
    server.master_repl_offset = offset;
    zfree(repl.backlog);
    createBacklog();
    repl.seldb = -1;
    replicationDisconnectReplicas();
}

/* Our history goes on under a new id (our master's after a failover, or
 * ours after a promotion): the old id stays valid up to here, so that
 * replicas that followed it can continue. */
void replicationShiftHistory(const char *newid) {
    memcpy(server.replid2, server.replid, 41);
    server.second_replid_offset = server.master_repl_offset + 1;
    memcpy(server.replid, newid, 40);
    server.replid[40] = '\0';
    replicationDisconnectReplicas();
}

/* REPLICAOF NO ONE */
void replicationPromote(void) {
    char id[41];
    getRandomHexChars(id, 40);
    id[40] = '\0';
    replicationShiftHistory(id);
    if (!repl.backlog) createBacklog();
    repl.seldb = -1;
}

/* At start-up: the history of the last clean shutdown, with an empty
 * backlog, so that replicas in sync then continue (+CONTINUE). */
void replicationRestoreHistory(const char *replid, long long offset) {
    memcpy(server.replid, replid, 40);
    server.replid[40] = '\0';
    clearReplicationId2();
    server.master_repl_offset = offset;
    if (!repl.backlog) createBacklog();
}

/* ------------------------------------------------------------------------ */
/* Replicas                                                                  */
/* ------------------------------------------------------------------------ */

static void addReplica(client *c) {
    repl.replicas = zrealloc(repl.replicas, sizeof(client *) * (size_t)(repl.nreplicas + 1));
    repl.replicas[repl.nreplicas++] = c;
    c->flags |= CLIENT_SLAVE;
    c->repl_ack_time = mstime();
}

/* freeClient(): a replica's connection is gone. */
void replicationForgetClient(client *c) {
    if (c->repl_pending) {
        evbuffer_free(c->repl_pending);
        c->repl_pending = NULL;
    }
    for (int i = 0; i < repl.nreplicas; i++) {
        if (repl.replicas[i] == c) {
            repl.replicas[i] = repl.replicas[--repl.nreplicas];
            serverLog(LL_NOTICE, "Connection with replica %s lost.", replicaName(c));
            return;
        }
    }
}

static void sendRaw(client *c, const char *s) { evbuffer_add(bufferevent_get_output(c->bev), s, strlen(s)); }

/* The replica's stream starts at offset (its RDB holds everything before). */
static void setupFullResync(client *c, long long offset) {
    c->replstate = SLAVE_STATE_WAIT_BGSAVE_END;
    c->psync_initial_offset = offset;
    c->repl_pending = evbuffer_new();
    if (c->flags & CLIENT_PRE_PSYNC) return; /* SYNC: no +FULLRESYNC line */
    char line[128];
    snprintf(line, sizeof(line), "+FULLRESYNC %s %lld\r\n", server.replid, offset);
    sendRaw(c, line);
}

/* Start the snapshot that the waiting replicas need, when none runs. */
static void startSyncSnapshot(void) {
    if (repl.export_pid || saveInProgress()) return;
    int waiting = 0;
    for (int i = 0; i < repl.nreplicas; i++)
        if (repl.replicas[i]->replstate == SLAVE_STATE_WAIT_BGSAVE_START) waiting++;
    if (!waiting) return;
    const char *err = saveStartBackground();
    if (err) {
        for (int i = 0; i < repl.nreplicas; i++)
            if (repl.replicas[i]->replstate == SLAVE_STATE_WAIT_BGSAVE_START) {
                sds why = sdscatprintf(sdsempty(), "the snapshot for its full sync could not start: %s", err);
                sendRaw(repl.replicas[i], "-ERR snapshot for full sync failed\r\n");
                dropReplica(repl.replicas[i], why);
                sdsfree(why);
            }
        return;
    }
    repl.snapshot_for_sync = 1;
    repl.snapshot_offset = server.master_repl_offset;
    repl.snapshot_stream_db = server.masterhost ? replicaStreamDb() : 0;
    repl.seldb = -1; /* the stream after the RDB selects its database first */
    for (int i = 0; i < repl.nreplicas; i++)
        if (repl.replicas[i]->replstate == SLAVE_STATE_WAIT_BGSAVE_START)
            setupFullResync(repl.replicas[i], repl.snapshot_offset);
    serverLog(LL_NOTICE, "Starting a snapshot for the full sync of %d replica(s), offset %lld", waiting,
              repl.snapshot_offset);
}

/* A replica that arrives while a sync snapshot is being made shares it when
 * another replica's buffered stream covers everything since its instant. */
static int attachToRunningSync(client *c) {
    if (!repl.snapshot_for_sync && !repl.export_pid) return 0;
    for (int i = 0; i < repl.nreplicas; i++) {
        client *o = repl.replicas[i];
        if (o == c || o->replstate != SLAVE_STATE_WAIT_BGSAVE_END || !o->repl_pending ||
            (o->flags & CLIENT_CLOSE_ASAP))
            continue;
        if (o->psync_initial_offset != repl.snapshot_offset) continue;
        setupFullResync(c, repl.snapshot_offset);
        size_t n = evbuffer_get_length(o->repl_pending);
        unsigned char *copy = zmalloc(n ? n : 1);
        evbuffer_copyout(o->repl_pending, copy, n);
        evbuffer_add(c->repl_pending, copy, n);
        zfree(copy);
        return 1;
    }
    return 0;
}

static void fullResync(client *c) {
    if (!repl.backlog) {
        /* as Redis: a new history starts with the first replica */
        changeReplicationId();
        clearReplicationId2();
        createBacklog();
    }
    c->replstate = SLAVE_STATE_WAIT_BGSAVE_START;
    if (attachToRunningSync(c)) return;
    startSyncSnapshot(); /* or later, from replicationCron, once the running one ends */
}

/* +CONTINUE when the replica's history is ours and the backlog still holds
 * what it misses. */
static int tryPartialResync(client *c, const char *replid, const char *offstr) {
    long long offset;
    if (!string2ll(offstr, strlen(offstr), &offset)) return 0;
    int ours = !strcasecmp(replid, server.replid);
    int before_switch = !strcasecmp(replid, server.replid2) && offset <= server.second_replid_offset;
    if (!ours && !before_switch) return 0;
    if (!repl.backlog || offset < repl.backlog_off || offset > repl.backlog_off + repl.histlen) return 0;
    repl.stat_sync_partial_ok++;
    c->replstate = SLAVE_STATE_ONLINE;
    c->repl_ack_time = mstime();
    char line[128];
    if (c->slave_capa & SLAVE_CAPA_PSYNC2) snprintf(line, sizeof(line), "+CONTINUE %s\r\n", server.replid);
    else snprintf(line, sizeof(line), "+CONTINUE\r\n");
    sendRaw(c, line);
    addBacklogFrom(c, offset);
    serverLog(LL_NOTICE, "Partial resynchronization of replica %s accepted, %lld bytes of backlog sent from offset %lld",
              replicaName(c), server.master_repl_offset - offset + 1, offset);
    return 1;
}

/* SYNC and PSYNC replid offset */
static void syncCommand(client *c) {
    if (c->flags & CLIENT_SLAVE) return;
    if (c->flags & (CLIENT_MULTI | CLIENT_EXECUTING | CLIENT_FAKE)) {
        addReplyError(c, "ERR Replica can't sync from inside a transaction or a script");
        return;
    }
    int psync = !strcasecmp(c->argv[0], "psync");
    if (psync && c->argc > 3 && !strcasecmp(c->argv[3], "failover")) {
        /* PSYNC <replid> <offset> FAILOVER: our master hands over to us
         * (its FAILOVER); we become a master, and it continues as our
         * replica with the history we share */
        serverLog(LL_WARNING, "Failover request received for replid %s.", c->argv[1]);
        if (!server.masterhost) {
            addReplyError(c, "ERR PSYNC FAILOVER can't be sent to a master.");
            return;
        }
        if (strcasecmp(c->argv[1], server.replid)) {
            addReplyError(c, "ERR PSYNC FAILOVER replid must match my replid.");
            return;
        }
        replicaUnsetMaster();
        sds who = clientInfoString(c);
        serverLog(LL_NOTICE, "MASTER MODE enabled (failover request from '%s')", who);
        sdsfree(who);
    }
    if (fo.state != NO_FAILOVER) {
        addReplyError(c, "NOMASTERLINK Can't SYNC while failing over");
        return;
    }
    if (server.masterhost && !server.master) {
        /* a replica passes on only what its master confirmed */
        addReplyError(c, "NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    if (evbuffer_get_length(c->out) > 0) {
        addReplyError(c, "ERR SYNC and PSYNC are invalid with pending output");
        return;
    }
    serverLog(LL_NOTICE, "Replica %s asks for synchronization", replicaName(c));
    long long offset;
    if (psync && getLongLongFromArgOrReply(c, c->argv[2], &offset, NULL) != C_OK) return;
    if (!psync) c->flags |= CLIENT_PRE_PSYNC;
    addReplica(c);
    if (psync && tryPartialResync(c, c->argv[1], c->argv[2])) return;
    if (psync && strcmp(c->argv[1], "?")) repl.stat_sync_partial_err++;
    repl.stat_sync_full++;
    fullResync(c);
}

/* REPLCONF option value [option value ...] */
static void replconfCommand(client *c) {
    if ((c->argc % 2) == 0) {
        addReplyErrorSyntax(c);
        return;
    }
    for (int j = 1; j < c->argc; j += 2) {
        const char *opt = c->argv[j], *val = c->argv[j + 1];
        long long v;
        if (!strcasecmp(opt, "listening-port")) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &v, NULL) != C_OK) return;
            c->slave_listening_port = (int)v;
        } else if (!strcasecmp(opt, "ip-address")) {
            if (sdslen(c->argv[j + 1]) >= sizeof(c->slave_addr)) {
                addReplyErrorFormat(c, "ERR REPLCONF ip-address provided by replica instance is too long: %zd bytes",
                                    sdslen(c->argv[j + 1]));
                return;
            }
            memcpy(c->slave_addr, val, sdslen(c->argv[j + 1]) + 1);
        } else if (!strcasecmp(opt, "capa")) {
            if (!strcasecmp(val, "eof")) c->slave_capa |= SLAVE_CAPA_EOF;
            else if (!strcasecmp(val, "psync2")) c->slave_capa |= SLAVE_CAPA_PSYNC2;
        } else if (!strcasecmp(opt, "ack")) {
            /* a replica's acknowledgement: never answered */
            if (!(c->flags & CLIENT_SLAVE)) return;
            if (string2ll(val, sdslen(c->argv[j + 1]), &v) && v > c->repl_ack_off) c->repl_ack_off = v;
            c->repl_ack_time = mstime();
            replicationWaitersCheck();
            if (fo.state == FAILOVER_WAIT_FOR_SYNC) scheduleFailoverCheck();
            return;
        } else if (!strcasecmp(opt, "getack")) {
            replicaGetAck(c); /* from our master: where we are */
            return;
        } else if (!strcasecmp(opt, "rdb-only")) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &v, NULL) != C_OK) return;
            if (v == 1) c->flags |= CLIENT_REPL_RDBONLY;
            else if (v == 0) c->flags &= ~CLIENT_REPL_RDBONLY;
            else {
                addReplyErrorSyntax(c);
                return;
            }
        } else {
            addReplyErrorFormat(c, "ERR Unrecognized REPLCONF option: %s", opt);
            return;
        }
    }
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* The RDB of a full sync                                                    */
/* ------------------------------------------------------------------------ */

/* dredis-server --export-rdb, run on the snapshot: the RDB file of the
 * replicas waiting for it. */
static int startExport(const char *snapdir) {
    static unsigned long long n;
    snprintf(repl.export_path, sizeof(repl.export_path), "%s/.sync-%d-%llu.rdb", server.snapshot_dir,
             (int)getpid(), ++n);
    char offset[32], db[16];
    snprintf(offset, sizeof(offset), "%lld", repl.snapshot_offset);
    /* a replica's replicas get its master's stream as it is: the RDB says
     * which database that stream is in (a master SELECTs first itself) */
    snprintf(db, sizeof(db), "%d", server.masterhost ? repl.snapshot_stream_db : 0);
    char *argv[] = {"dredis-server", "--export-rdb", repl.export_path, "--repl-id", server.replid,
                    "--repl-offset", offset, "--repl-stream-db", db, NULL};
    pid_t pid = rdbToolSpawn(snapdir, argv);
    if (pid < 0) return C_ERR;
    repl.export_pid = pid;
    serverLog(LL_NOTICE, "Writing the RDB of snapshot %s for replicas (pid %d)", snapdir, (int)pid);
    return C_OK;
}

static void failWaitingReplicas(const char *why) {
    for (int i = 0; i < repl.nreplicas; i++)
        if (repl.replicas[i]->replstate == SLAVE_STATE_WAIT_BGSAVE_END) dropReplica(repl.replicas[i], why);
}

/* save.c: a background snapshot ended. */
void replicationSnapshotEnded(int ok, const char *dir) {
    if (!repl.snapshot_for_sync) return;
    repl.snapshot_for_sync = 0;
    if (!ok) {
        failWaitingReplicas("the snapshot for its full sync failed");
        return;
    }
    if (startExport(dir) != C_OK) {
        sds why = sdscatprintf(sdsempty(), "fork() for its RDB failed: %s", strerror(errno));
        failWaitingReplicas(why);
        sdsfree(why);
    }
}

/* The RDB is written: each waiting replica gets it as a bulk, then the
 * stream buffered since the snapshot's instant. */
static void sendRdbToWaitingReplicas(void) {
    for (int i = 0; i < repl.nreplicas; i++) {
        client *c = repl.replicas[i];
        if (c->replstate != SLAVE_STATE_WAIT_BGSAVE_END || (c->flags & CLIENT_CLOSE_ASAP)) continue;
        int fd = sysOpen(repl.export_path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || sysFstat(fd, &sb) < 0) {
            sds why = sdscatprintf(sdsempty(), "its RDB could not be opened: %s", strerror(errno));
            if (fd >= 0) sysClose(fd);
            dropReplica(c, why);
            sdsfree(why);
            continue;
        }
        struct evbuffer *out = bufferevent_get_output(c->bev);
        char head[64];
        snprintf(head, sizeof(head), "$%lld\r\n", (long long)sb.st_size);
        /* the head only once the file is queued: a replica must never take
         * the stream for RDB bytes */
        struct evbuffer *bulk = evbuffer_new();
        evbuffer_add(bulk, head, strlen(head));
        int r = 0;
        if (sb.st_size > 0) r = evbuffer_add_file(bulk, fd, 0, sb.st_size); /* takes fd */
        else sysClose(fd);
        if (r < 0) {
            evbuffer_free(bulk);
            sysClose(fd);
            dropReplica(c, "its RDB could not be queued for sending");
            continue;
        }
        evbuffer_add_buffer(out, bulk);
        evbuffer_free(bulk);
        c->replstate = SLAVE_STATE_SEND_BULK; /* online once the file is sent (replicationOutputDrained) */
        if (c->flags & CLIENT_REPL_RDBONLY) {
            /* redis-cli --rdb: the file and nothing more */
            evbuffer_free(c->repl_pending);
            c->repl_pending = NULL;
            closeAfterReply(c);
            continue;
        }
        serverLog(LL_NOTICE, "Synchronization with replica %s: sending an RDB of %lld bytes, then the stream from "
                  "offset %lld", replicaName(c), (long long)sb.st_size, c->psync_initial_offset);
    }
    sysUnlinkat(AT_FDCWD, repl.export_path, 0); /* the open descriptors keep it until sent */
}

static void checkExportDone(void) {
    if (!repl.export_pid) return;
    char why[64];
    int ok = rdbToolReap(&repl.export_pid, why, sizeof(why));
    if (ok < 0) return;
    if (!ok) {
        serverLog(LL_WARNING, "Writing the RDB for replicas failed (%s)", why);
        sysUnlinkat(AT_FDCWD, repl.export_path, 0);
        failWaitingReplicas("its RDB could not be written");
        return;
    }
    sendRdbToWaitingReplicas();
}

int replicationExportRunning(void) { return repl.export_pid != 0; }

/* ------------------------------------------------------------------------ */
/* WAIT                                                                      */
/* ------------------------------------------------------------------------ */

static int countAcked(long long offset) {
    int n = 0;
    for (int i = 0; i < repl.nreplicas; i++)
        if (repl.replicas[i]->replstate == SLAVE_STATE_ONLINE && repl.replicas[i]->repl_ack_off >= offset) n++;
    return n;
}

int replicationAckedReplicas(client *c) { return countAcked(c->woff); }

/* Replicas online that acknowledged within min-replicas-max-lag seconds
 * (lag in whole seconds, as Redis counts it). */
static int countGoodReplicas(void) {
    long long now = mstime();
    int n = 0;
    for (int i = 0; i < repl.nreplicas; i++) {
        client *r = repl.replicas[i];
        if (r->replstate == SLAVE_STATE_ONLINE && (now - r->repl_ack_time) / 1000 <= server.repl_min_replicas_max_lag)
            n++;
    }
    return n;
}

/* As Redis's checkGoodReplicasStatus(): writes are refused on a master
 * with fewer good replicas than min-replicas-to-write (both settings on). */
int replicationGoodReplicasOk(void) {
    return server.masterhost || !server.repl_min_replicas_max_lag || !server.repl_min_replicas_to_write ||
           countGoodReplicas() >= server.repl_min_replicas_to_write;
}

/* WAIT blocked: ask the replicas where they are (REPLCONF GETACK * in
 * the stream; each answers with REPLCONF ACK). */
void replicationRequestAck(void) {
    if (!repl.nreplicas) return;
    /* as Redis, not while clients are paused: it would move the offset
     * that a FAILOVER waits for the replica to reach (replicationCron
     * sends it once the pause is over) */
    if (writesArePaused()) {
        repl.getack_pending = 1;
        return;
    }
    repl.getack_pending = 0;
    sds argv[3] = {sdsnew("REPLCONF"), sdsnew("GETACK"), sdsnew("*")};
    replicationFeed(-1, 3, argv);
    for (int i = 0; i < 3; i++) sdsfree(argv[i]);
}

/* ------------------------------------------------------------------------ */
/* FAILOVER                                                                  */
/* ------------------------------------------------------------------------ */

/* As Redis 7.0's: writes are paused (as CLIENT PAUSE WRITE), and once the
 * chosen replica acknowledged our whole stream (its REPLCONF ACK, sent every
 * second) we become its replica and ask it, with PSYNC <replid> <offset>
 * FAILOVER, to become a master and take us on with a partial resync; once
 * it answers, the pause ends (writes then get -READONLY). TIMEOUT ends the
 * wait (FORCE: fails over all the same), FAILOVER ABORT ends it any time.
 * The replica side of it is in syncCommand(). */

static const char *failoverStateName(void) {
    switch (fo.state) {
    case NO_FAILOVER: return "no-failover";
    case FAILOVER_IN_PROGRESS: return "failover-in-progress";
    case FAILOVER_WAIT_FOR_SYNC: return "waiting-for-sync";
    default: return "unknown";
    }
}

int failoverState(void) { return fo.state; }

/* The replica at host:port (its address as INFO shows it, and the port it
 * listens on), in any state; NULL when none. */
static client *findReplica(const char *host, int port) {
    for (int i = 0; i < repl.nreplicas; i++) {
        client *r = repl.replicas[i];
        char ip[64];
        replicaAddress(r, ip, sizeof(ip));
        if (!strcasecmp(host, ip) && port == r->slave_listening_port) return r;
    }
    return NULL;
}

/* The failover ended (done or aborted): writes go on. */
static void clearFailoverState(void) {
    fo.state = NO_FAILOVER;
    fo.end_ms = 0;
    fo.force = 0;
    zfree(fo.host);
    fo.host = NULL;
    fo.port = 0;
    unpauseClients(PAUSE_DURING_FAILOVER);
}

/* replica.c: the target answered our PSYNC ... FAILOVER as a master. */
void failoverPsyncAccepted(void) {
    if (fo.state == FAILOVER_IN_PROGRESS) clearFailoverState();
}

void failoverAbort(const char *why) {
    if (fo.state == NO_FAILOVER) return;
    if (fo.host) serverLog(LL_NOTICE, "FAILOVER to %s:%d aborted: %s", fo.host, fo.port, why);
    else serverLog(LL_NOTICE, "FAILOVER to any replica aborted: %s", why);
    /* already a replica of the target: a master again, under a new id */
    if (fo.state == FAILOVER_IN_PROGRESS) replicaUnsetMaster();
    clearFailoverState();
}

static void startFailingOver(void) {
    fo.state = FAILOVER_IN_PROGRESS;
    replicaSetMasterForFailover(fo.host, fo.port);
}

/* From replicationCron and after each acknowledgement: has the target (or,
 * without TO, any replica) reached our offset, or is the time up? */
static void updateFailoverStatus(void) {
    if (fo.state != FAILOVER_WAIT_FOR_SYNC) return;
    if (fo.end_ms && fo.end_ms <= mstime()) {
        if (fo.force) {
            serverLog(LL_NOTICE, "FAILOVER to %s:%d time out exceeded, failing over.", fo.host, fo.port);
            startFailingOver();
        } else {
            failoverAbort("Replica never caught up before timeout");
        }
        return;
    }
    client *replica = NULL;
    if (fo.host) {
        replica = findReplica(fo.host, fo.port);
    } else {
        for (int i = 0; i < repl.nreplicas; i++) {
            client *r = repl.replicas[i];
            if (r->repl_ack_off != server.master_repl_offset) continue;
            char ip[64];
            replicaAddress(r, ip, sizeof(ip));
            fo.host = zstrdup(ip); /* we fail over to this one now */
            fo.port = r->slave_listening_port;
            replica = r;
            break;
        }
    }
    if (replica && replica->repl_ack_off == server.master_repl_offset) {
        serverLog(LL_NOTICE, "Failover target %s:%d is synced, failing over.", fo.host, fo.port);
        startFailingOver();
    }
}

/* An acknowledgement came: check once the command that brought it is done
 * (failing over changes the replicas and the master link). */
static void failoverCheckCallback(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    updateFailoverStatus();
}

static struct event *failover_check_ev;

static void scheduleFailoverCheck(void) {
    if (!failover_check_ev) failover_check_ev = event_new(server.base, -1, 0, failoverCheckCallback, NULL);
    event_active(failover_check_ev, EV_TIMEOUT, 0);
}

/* FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms] */
static void failoverCommand(client *c) {
    if (c->argc == 2 && !strcasecmp(c->argv[1], "abort")) {
        if (fo.state == NO_FAILOVER) {
            addReplyError(c, "ERR No failover in progress.");
            return;
        }
        failoverAbort("Failover manually aborted");
        addReplyOK(c);
        return;
    }
    long long timeout = 0, port = 0;
    int force = 0;
    const char *host = NULL;
    for (int j = 1; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "timeout") && j + 1 < c->argc && timeout == 0) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 1], &timeout, NULL) != C_OK) return;
            if (timeout <= 0) {
                addReplyError(c, "ERR FAILOVER timeout must be greater than 0");
                return;
            }
            j++;
        } else if (!strcasecmp(c->argv[j], "to") && j + 2 < c->argc && !host) {
            if (getLongLongFromArgOrReply(c, c->argv[j + 2], &port, NULL) != C_OK) return;
            host = c->argv[j + 1];
            j += 2;
        } else if (!strcasecmp(c->argv[j], "force") && !force) {
            force = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    if (fo.state != NO_FAILOVER) {
        addReplyError(c, "ERR FAILOVER already in progress.");
        return;
    }
    if (server.masterhost) {
        addReplyError(c, "ERR FAILOVER is not valid when server is a replica.");
        return;
    }
    if (repl.nreplicas == 0) {
        addReplyError(c, "ERR FAILOVER requires connected replicas.");
        return;
    }
    if (force && (!timeout || !host)) {
        addReplyError(c, "ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
        return;
    }
    if (host) {
        client *replica = findReplica(host, (int)port);
        if (!replica) {
            addReplyError(c, "ERR FAILOVER target HOST and PORT is not a replica.");
            return;
        }
        if (replica->replstate != SLAVE_STATE_ONLINE) {
            addReplyError(c, "ERR FAILOVER target replica is not online.");
            return;
        }
        fo.host = zstrdup(host);
        fo.port = (int)port;
        serverLog(LL_NOTICE, "FAILOVER requested to %s:%lld.", host, port);
    } else {
        serverLog(LL_NOTICE, "FAILOVER requested to any replica.");
    }
    fo.end_ms = timeout ? mstime() + timeout : 0;
    fo.force = force;
    fo.state = FAILOVER_WAIT_FOR_SYNC;
    pauseClients(PAUSE_DURING_FAILOVER, LLONG_MAX, 0);
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* Cron                                                                      */
/* ------------------------------------------------------------------------ */

/* A replica whose RDB went out: the stream kept for it follows, and its
 * acknowledgements are awaited from now. */
static void finishBulkTransfer(client *c) {
    if (c->replstate != SLAVE_STATE_SEND_BULK || !c->repl_pending || (c->flags & CLIENT_CLOSE_ASAP)) return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) > 0) return;
    evbuffer_add_buffer(out, c->repl_pending);
    evbuffer_free(c->repl_pending);
    c->repl_pending = NULL;
    c->replstate = SLAVE_STATE_ONLINE;
    c->repl_ack_time = mstime();
    serverLog(LL_NOTICE, "Synchronization with replica %s succeeded", replicaName(c));
}

static void finishBulkTransfers(void) {
    for (int i = 0; i < repl.nreplicas; i++) finishBulkTransfer(repl.replicas[i]);
}

/* networking.c: a replica's output was all written. Once that includes its
 * RDB, it is online at once, as Redis puts a replica online when the last
 * byte of the file is written: the stream kept for it goes out in this
 * turn, not at the next cron tick (a REPLICAOF or a failover in between
 * would drop the replica with writes it was never sent). */
void replicationOutputDrained(client *c) {
    if (c->flags & CLIENT_SLAVE) finishBulkTransfer(c);
}

void replicationCron(void) {
    long long now = mstime();
    updateFailoverStatus();
    checkExportDone();
    finishBulkTransfers();
    startSyncSnapshot();
    replicaCron();
    if (repl.getack_pending && !writesArePaused()) replicationRequestAck();
    if (repl.nreplicas && !server.masterhost && now - repl.last_ping >= server.repl_ping_period * 1000) {
        repl.last_ping = now;
        /* as Redis, no PING while a FAILOVER with a TIMEOUT holds writes:
         * the offset it waits for stays put */
        if (fo.end_ms && writesArePaused()) goto pinged;
        sds ping = sdsnew("PING");
        replicationFeed(repl.seldb, 1, &ping);
        sdsfree(ping);
    }
pinged:
    if (now - repl.last_newline >= 1000) {
        /* replicas waiting for their RDB: a newline keeps them from timing
         * out. Not once the RDB is queued (SEND_BULK): the newline would
         * follow it, inside the stream, which the replica then takes for
         * a command (a dredis replica syncs again) */
        repl.last_newline = now;
        for (int i = 0; i < repl.nreplicas; i++)
            if (repl.replicas[i]->replstate == SLAVE_STATE_WAIT_BGSAVE_START ||
                repl.replicas[i]->replstate == SLAVE_STATE_WAIT_BGSAVE_END)
                sendRaw(repl.replicas[i], "\n");
    }
    for (int i = 0; i < repl.nreplicas; i++) {
        client *c = repl.replicas[i];
        if (c->replstate == SLAVE_STATE_ONLINE && !(c->flags & (CLIENT_PRE_PSYNC | CLIENT_REPL_RDBONLY)) &&
            now - c->repl_ack_time > server.repl_timeout * 1000)
            dropReplica(c, "timeout: no acknowledgement within repl-timeout");
    }
}

/* ------------------------------------------------------------------------ */
/* INFO replication and ROLE                                                 */
/* ------------------------------------------------------------------------ */

/* The replication lines of INFO stats */
sds genReplicationStats(sds info) {
    return sdscatprintf(info, "sync_full:%lld\r\nsync_partial_ok:%lld\r\nsync_partial_err:%lld\r\n",
                        repl.stat_sync_full, repl.stat_sync_partial_ok, repl.stat_sync_partial_err);
}

sds genReplicationInfo(sds info) {
    info = sdscat(info, "# Replication\r\n");
    if (server.masterhost) info = genReplicaInfo(info);
    else info = sdscat(info, "role:master\r\n");
    info = sdscatprintf(info, "connected_slaves:%d\r\n", repl.nreplicas);
    if (server.repl_min_replicas_to_write && server.repl_min_replicas_max_lag)
        info = sdscatprintf(info, "min_slaves_good_slaves:%d\r\n", countGoodReplicas());
    long long now = mstime();
    for (int i = 0; i < repl.nreplicas; i++) {
        client *c = repl.replicas[i];
        char ip[64];
        replicaAddress(c, ip, sizeof(ip));
        info = sdscatprintf(info, "slave%d:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n", i, ip,
                            c->slave_listening_port, stateName(c->replstate), c->repl_ack_off,
                            (now - c->repl_ack_time) / 1000);
    }
    return sdscatprintf(info,
                        "master_failover_state:%s\r\n"
                        "master_replid:%s\r\n"
                        "master_replid2:%s\r\n"
                        "master_repl_offset:%lld\r\n"
                        "second_repl_offset:%lld\r\n"
                        "repl_backlog_active:%d\r\n"
                        "repl_backlog_size:%lld\r\n"
                        "repl_backlog_first_byte_offset:%lld\r\n"
                        "repl_backlog_histlen:%lld\r\n",
                        failoverStateName(), server.replid, server.replid2, server.master_repl_offset,
                        server.second_replid_offset,
                        repl.backlog != NULL, server.repl_backlog_size, repl.backlog ? repl.backlog_off : 0,
                        repl.histlen);
}

static void roleCommand(client *c) {
    if (server.masterhost) {
        addReplyReplicaRole(c);
        return;
    }
    addReplyArrayLen(c, 3);
    addReplyBulkCString(c, "master");
    addReplyLongLong(c, server.master_repl_offset);
    void *len = addReplyDeferredLen(c);
    long n = 0;
    for (int i = 0; i < repl.nreplicas; i++) {
        client *r = repl.replicas[i];
        if (r->replstate != SLAVE_STATE_ONLINE) continue;
        char ip[64];
        replicaAddress(r, ip, sizeof(ip));
        addReplyArrayLen(c, 3);
        addReplyBulkCString(c, ip);
        addReplyBulkLongLong(c, r->slave_listening_port);
        addReplyBulkLongLong(c, r->repl_ack_off);
        n++;
    }
    setDeferredArrayLen(c, len, n);
}

/* RDB files of full syncs a crash left in DREDIS_SNAPSHOT_DIR */
static void removeStaleSyncFiles(void) {
    DIR *d = sysOpendir(server.snapshot_dir);
    if (!d) return;
    struct dirent *de;
    while ((de = sysReaddir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (!strncmp(de->d_name, ".sync-", 6) && n > 4 && !strcmp(de->d_name + n - 4, ".rdb") &&
            sysUnlinkat(dirfd(d), de->d_name, 0) == 0)
            serverLog(LL_NOTICE, "Removed %s/%s, left by an earlier full sync", server.snapshot_dir, de->d_name);
    }
    sysClosedir(d);
}

void replicationInit(void) {
    removeStaleSyncFiles();
    changeReplicationId();
    clearReplicationId2();
    repl.seldb = -1;
    repl.last_ping = mstime();
    replicaInit();
}

void replicationShutdown(void) {
    replicaShutdown();
    if (repl.export_pid) {
        rdbToolKill(&repl.export_pid);
        sysUnlinkat(AT_FDCWD, repl.export_path, 0);
    }
    if (failover_check_ev) event_free(failover_check_ev);
    failover_check_ev = NULL;
    zfree(fo.host); /* a failover under way at shutdown */
    memset(&fo, 0, sizeof(fo));
    zfree(repl.backlog);
    repl.backlog = NULL;
    zfree(repl.replicas);
    repl.replicas = NULL;
    repl.nreplicas = 0;
}

redisCommand replicationCommandTable[] = {
    {"psync", syncCommand, -3, "admin noscript no_async_loading no_multi", "admin slow dangerous", 0, 0, 0, NULL},
    {"sync", syncCommand, 1, "admin noscript no_async_loading no_multi", "admin slow dangerous", 0, 0, 0, NULL},
    {"replconf", replconfCommand, -1, "admin noscript loading stale allow_busy", "admin slow dangerous", 0, 0, 0, NULL},
    {"role", roleCommand, 1, "noscript loading stale fast", "admin fast dangerous", 0, 0, 0, NULL},
    {"failover", failoverCommand, -1, "admin noscript stale", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};
