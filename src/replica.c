/* replica.c - dredis as a replica, in Redis 7.0's replication protocol, of
 * a real redis-server or of another dredis:
 *
 * - REPLICAOF host port / NO ONE (and SLAVEOF), DREDIS_REPLICAOF and
 *   DREDIS_MASTERAUTH at start-up;
 * - the handshake: PING, AUTH, REPLCONF listening-port and capa, PSYNC with
 *   the history we have (our replication id and offset) or "? -1";
 * - a full sync: the master's RDB (a $<len> bulk, or diskless with an EOF
 *   mark) written to a file under .tmp, loaded by a child process
 *   (dredis-server --import-rdb) into a new tree beside the live one, and
 *   swapped in with one store transaction (storeReplaceAllDbs): until
 *   then, and if the sync breaks half way, the old data is served;
 * - a partial sync (+CONTINUE): the stream goes on where it stopped;
 * - the stream applied by the master client (networking.c hands each
 *   command here with its size in bytes, the replication offset), kept in
 *   our own backlog for replicas of ours and for a partial sync after a
 *   failover; REPLCONF ACK every second and on GETACK;
 * - -READONLY to clients' writes; expiry left to the master (its DELs);
 * - the replication id and offset written at a clean shutdown to
 *   ROOT_DIR/.replication and taken back at start-up, so that a restarted
 *   replica asks for a partial sync first, as Redis 7.0 does. */
#include "server.h"
#include "syscalls.h"
#include "rdb_file.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* The link's states, as Redis names them */
#define REPL_STATE_NONE 0
#define REPL_STATE_CONNECT 1    /* to connect (again) on the next cron */
#define REPL_STATE_CONNECTING 2 /* connect() under way */
#define REPL_STATE_HANDSHAKE 3  /* PING ... PSYNC sent, replies awaited */
#define REPL_STATE_TRANSFER 4   /* receiving the RDB */
#define REPL_STATE_LOADING 5    /* a child loads it into a new tree */
#define REPL_STATE_CONNECTED 6  /* the stream is applied */

#define REPL_STATE_FILE ".replication"
#define EOF_MARK_LEN 40

static struct {
    int state;
    struct bufferevent *bev;  /* the link until it becomes the master client */
    int replies_left;         /* handshake replies still awaited */
    int replies_seen;
    int auth_sent;
    /* the transfer */
    long long transfer_size;  /* -1: diskless, ended by eofmark */
    long long transfer_read;
    char eofmark[EOF_MARK_LEN];
    char tail[EOF_MARK_LEN];  /* diskless: the last bytes, held back */
    int tail_len;
    int rdbfd;
    sds rdbpath, treepath;
    pid_t load_pid;
    char master_replid[41];   /* from +FULLRESYNC */
    long long master_offset;
    long long last_io;        /* unix ms of the last bytes from the master */
    long long down_since;     /* unix ms the link went down (0: never up) */
    long long last_ack;
    long long last_connect;   /* unix ms of the last attempt: one a second */
    long long last_newline;   /* unix ms of the last keep-alive sent while loading */
    int stream_db;            /* the database the master's stream is in (kept over a break) */
    sds unapplied;            /* stream bytes of a MULTI not yet EXECed: not counted yet */
    int raw_mismatch_logged;
    int failover_rejected;    /* the target of our FAILOVER refused its PSYNC */
} rs;

static const char *linkStateName(void) {
    switch (rs.state) {
    case REPL_STATE_CONNECT: return "connect";
    case REPL_STATE_CONNECTING: return "connecting";
    case REPL_STATE_HANDSHAKE: return "handshake";
    case REPL_STATE_TRANSFER:
    case REPL_STATE_LOADING: return "sync";
    case REPL_STATE_CONNECTED: return "connected";
    default: return "none";
    }
}

/* ------------------------------------------------------------------------ */
/* Ending a sync or a link                                                   */
/* ------------------------------------------------------------------------ */

static void removeSyncFiles(void) {
    if (rs.rdbfd >= 0) sysClose(rs.rdbfd);
    rs.rdbfd = -1;
    if (rs.rdbpath) storeRemoveScratch(rs.rdbpath);
    if (rs.treepath) storeRemoveScratch(rs.treepath);
    sdsfree(rs.rdbpath);
    sdsfree(rs.treepath);
    rs.rdbpath = rs.treepath = NULL;
}

static void stopLoader(void) {
    rdbToolKill(&rs.load_pid);
}

/* Drop whatever link or sync is under way; reconnect on a later cron. */
static void cancelSync(const char *why) {
    if (why) serverLog(LL_WARNING, "MASTER <-> REPLICA sync: %s", why);
    stopLoader();
    removeSyncFiles();
    if (rs.bev) {
        bufferevent_free(rs.bev);
        rs.bev = NULL;
    }
    if (server.master) closeClientAsync(server.master);
    if (rs.state != REPL_STATE_NONE) rs.state = REPL_STATE_CONNECT;
}

/* freeClient(): the master client is gone (the link broke, CLIENT KILL). */
void replicaMasterLinkLost(client *c) {
    if (server.master != c) return;
    server.master = NULL;
    rs.stream_db = c->db; /* a partial resync goes on in it: no SELECT comes again */
    if (rs.unapplied) sdssetlen(rs.unapplied, 0); /* sent again from the offset we ask for */
    rs.down_since = mstime();
    if (rs.state == REPL_STATE_CONNECTED) rs.state = REPL_STATE_CONNECT;
    serverLog(LL_NOTICE, "Connection with master lost; a partial resync will be tried from offset %lld",
              server.master_repl_offset + 1);
}

/* ------------------------------------------------------------------------ */
/* The stream                                                                */
/* ------------------------------------------------------------------------ */


/* networking.c: one command of the master's stream, of bytes bytes. It
 * runs, then the bytes join our history (backlog, replicas of ours) and
 * the offset. */
void replicaApplyCommand(client *c, size_t bytes) {
    sds raw = catCommandMultibulk(sdsempty(), c->argc, c->argv);
    if (sdslen(raw) != bytes) {
        /* a master writes every command as a canonical multibulk: anything
         * else cannot be kept byte for byte, so sync again */
        if (!rs.raw_mismatch_logged++)
            serverLog(LL_WARNING, "The master's stream is not in canonical RESP: syncing again");
        sdsfree(raw);
        closeClientAsync(c);
        return;
    }
    rs.last_io = mstime();
    processCommand(c);
    /* as Redis's reploff: bytes count once applied, a MULTI block at its
     * EXEC (a break before it makes the master send it all again) */
    if (!rs.unapplied) rs.unapplied = sdsempty();
    rs.unapplied = sdscatlen(rs.unapplied, raw, sdslen(raw));
    sdsfree(raw);
    if (!(c->flags & CLIENT_MULTI) && c->bstate.btype == BLOCKED_NONE) {
        replicationFeedRaw(rs.unapplied, sdslen(rs.unapplied));
        sdssetlen(rs.unapplied, 0);
    }
}

int replicaIsStale(void) {
    return server.masterhost && rs.state != REPL_STATE_CONNECTED && !server.repl_serve_stale_data;
}

int replicaStreamDb(void) { return server.master ? server.master->db : rs.stream_db; }

static void sendToMaster(struct bufferevent *bev, int argc, const char **argv) {
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add_printf(out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) evbuffer_add_printf(out, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

static void sendAck(void) {
    if (!server.master || rs.state != REPL_STATE_CONNECTED) return;
    char off[32];
    snprintf(off, sizeof(off), "%lld", server.master_repl_offset);
    const char *argv[] = {"REPLCONF", "ACK", off};
    sendToMaster(server.master->bev, 3, argv);
    rs.last_ack = mstime();
}

/* REPLCONF GETACK from the master client */
void replicaGetAck(client *c) {
    if (c == server.master) sendAck();
}

/* ------------------------------------------------------------------------ */
/* Becoming connected                                                        */
/* ------------------------------------------------------------------------ */

/* The link turns into the master client: the stream after the RDB (or
 * after +CONTINUE) is applied as it comes. */
static void createMasterClient(int db) {
    struct bufferevent *bev = rs.bev;
    rs.bev = NULL;
    client *c = createClient(bufferevent_getfd(bev), bev);
    c->flags |= CLIENT_MASTER;
    c->db = db >= 0 && db < server.dbnum ? db : 0;
    c->authenticated = 1;
    c->user = NULL; /* the master's stream is applied whatever the ACL */
    snprintf(c->addr, sizeof(c->addr), "%s:%d", server.masterhost, server.masterport);
    serveConnection(c);
    server.master = c;
    rs.state = REPL_STATE_CONNECTED;
    rs.last_io = mstime();
    sendAck();
    resumeClientInput(c); /* what arrived already */
}

/* ------------------------------------------------------------------------ */
/* The full sync: transfer, load, swap                                       */
/* ------------------------------------------------------------------------ */

static int writeRdb(const char *p, size_t len) { return sysWriteFully(rs.rdbfd, p, len); }

static void startLoader(void) {
    sysClose(rs.rdbfd);
    rs.rdbfd = -1;
    rs.treepath = storeScratchPath('l');
    bufferevent_disable(rs.bev, EV_READ); /* the stream waits in the socket */
    char delay[32];
    snprintf(delay, sizeof(delay), "%lld", server.key_load_delay);
    char *argv[] = {"dredis-server", "--import-rdb", rs.rdbpath, "--keep-expired", "--key-load-delay", delay, NULL};
    pid_t pid = rdbToolSpawn(rs.treepath, argv);
    if (pid < 0) {
        cancelSync("fork() for loading the RDB failed");
        return;
    }
    rs.load_pid = pid;
    rs.state = REPL_STATE_LOADING;
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: %lld bytes of RDB received, loading them (pid %d)",
              rs.transfer_read, (int)pid);
}

/* The loader finished: swap the tree in, or give up on this sync. */
static void loaderDone(int ok) {
    if (!ok) {
        cancelSync("loading the master's RDB failed (see the lines above)");
        return;
    }
    if (storeReplaceAllDbs(rs.treepath) != STORE_OK) {
        sds why = sdscatprintf(sdsempty(), "replacing the data with the master's failed: %s", strerror(errno));
        cancelSync(why);
        sdsfree(why);
        return;
    }
    /* the master's function libraries are ours now, on disk: in memory too */
    sds ferr = NULL;
    if (functionsLoadFromStore(&ferr) != C_OK) {
        serverLog(LL_WARNING, "MASTER <-> REPLICA sync: the master's function libraries do not load: %s", ferr);
        sdsfree(ferr);
    }
    /* the stream after the RDB is in the database the master's RDB names */
    rdbLoadInfo info;
    sds err = NULL;
    int db = rdbReadAuxFields(rs.rdbpath, &info, &err) == C_OK ? info.repl_stream_db : -1;
    sdsfree(err);
    removeSyncFiles();
    replicationResetHistory(rs.master_replid, rs.master_offset);
    aofTreeReplaced();
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: Finished with success, at offset %lld", rs.master_offset);
    createMasterClient(db);
}

/* The RDB's bytes: to the file, up to the size (or the EOF mark). */
static void readTransfer(struct evbuffer *in) {
    char buf[65536];
    while (rs.state == REPL_STATE_TRANSFER && evbuffer_get_length(in) > 0) {
        size_t want = sizeof(buf);
        if (rs.transfer_size >= 0 && (long long)want > rs.transfer_size - rs.transfer_read)
            want = (size_t)(rs.transfer_size - rs.transfer_read);
        int n = evbuffer_remove(in, buf, want);
        if (n <= 0) break;
        rs.transfer_read += n;
        int failed;
        if (rs.transfer_size >= 0) {
            failed = writeRdb(buf, (size_t)n) < 0;
        } else {
            /* diskless: hold back the last EOF_MARK_LEN bytes, which may be the mark */
            char joined[EOF_MARK_LEN + sizeof(buf)];
            memcpy(joined, rs.tail, (size_t)rs.tail_len);
            memcpy(joined + rs.tail_len, buf, (size_t)n);
            size_t total = (size_t)rs.tail_len + (size_t)n;
            size_t keep = total < EOF_MARK_LEN ? total : EOF_MARK_LEN;
            failed = writeRdb(joined, total - keep) < 0;
            memcpy(rs.tail, joined + total - keep, keep);
            rs.tail_len = (int)keep;
        }
        if (failed) {
            sds why = sdscatprintf(sdsempty(), "writing the RDB to %s failed: %s", rs.rdbpath, strerror(errno));
            cancelSync(why);
            sdsfree(why);
            return;
        }
        int done = rs.transfer_size >= 0 ? rs.transfer_read == rs.transfer_size
                                         : rs.tail_len == EOF_MARK_LEN && !memcmp(rs.tail, rs.eofmark, EOF_MARK_LEN);
        if (done) startLoader();
    }
}

/* "$<len>" or "$EOF:<mark>": the RDB starts. */
static int startTransfer(const char *line) {
    if (!strncmp(line, "$EOF:", 5) && strlen(line + 5) == EOF_MARK_LEN) {
        memcpy(rs.eofmark, line + 5, EOF_MARK_LEN);
        rs.transfer_size = -1;
    } else if (line[0] == '$' && string2ll(line + 1, strlen(line + 1), &rs.transfer_size) && rs.transfer_size >= 0) {
        /* the size is known */
    } else {
        return C_ERR;
    }
    rs.transfer_read = 0;
    rs.tail_len = 0;
    rs.rdbpath = storeScratchPath('r');
    rs.rdbfd = sysOpen(rs.rdbpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (rs.rdbfd < 0) return C_ERR;
    rs.state = REPL_STATE_TRANSFER;
    serverLog(LL_NOTICE, "MASTER <-> REPLICA sync: receiving %s", rs.transfer_size >= 0 ? "the RDB" : "a diskless RDB");
    if (rs.transfer_size == 0) startLoader();
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* The handshake                                                             */
/* ------------------------------------------------------------------------ */

static void sendHandshake(void) {
    char port[16];
    snprintf(port, sizeof(port), "%d", server.port);
    const char *ping[] = {"PING"};
    sendToMaster(rs.bev, 1, ping);
    rs.replies_left = 1;
    rs.auth_sent = 0;
    if (server.masterauth) {
        const char *auth[] = {"AUTH", server.masterauth};
        sendToMaster(rs.bev, 2, auth);
        rs.replies_left++;
        rs.auth_sent = 1;
    }
    const char *lport[] = {"REPLCONF", "listening-port", port};
    const char *capa[] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
    sendToMaster(rs.bev, 3, lport);
    sendToMaster(rs.bev, 5, capa);
    rs.replies_left += 3; /* and PSYNC's, sent once these are answered (a
                           * master refuses PSYNC with replies pending) */
    rs.replies_seen = 0;
    rs.state = REPL_STATE_HANDSHAKE;
}

static void sendPsync(void) {
    char offset[32];
    /* our history, if we have one: a partial sync may continue it */
    const char *psync[] = {"PSYNC", "?", "-1", "FAILOVER"};
    if (replicationHasHistory()) {
        snprintf(offset, sizeof(offset), "%lld", server.master_repl_offset + 1);
        psync[1] = server.replid;
        psync[2] = offset;
        serverLog(LL_NOTICE, "Trying a partial resynchronization (replication id %s, offset %s)", server.replid,
                  offset);
    }
    /* a FAILOVER of ours: the target becomes a master on this request */
    sendToMaster(rs.bev, failoverState() == FAILOVER_IN_PROGRESS ? 4 : 3, psync);
}

/* The PSYNC reply. C_ERR: the link is dropped (retried later). */
static int psyncReply(const char *line) {
    if (!strncmp(line, "+FULLRESYNC", 11)) {
        char id[64];
        long long off;
        if (sscanf(line + 11, " %63s %lld", id, &off) != 2 || strlen(id) != 40) return C_ERR;
        memcpy(rs.master_replid, id, 41);
        rs.master_offset = off;
        serverLog(LL_NOTICE, "Full resync from master: %s:%lld", id, off);
        rs.state = REPL_STATE_TRANSFER; /* the bulk head comes next */
        rs.transfer_size = -2;          /* not started */
        failoverPsyncAccepted(); /* as Redis, a full sync ends a FAILOVER too */
        return C_OK;
    }
    if (!strncmp(line, "+CONTINUE", 9)) {
        char id[64];
        if (sscanf(line + 9, " %63s", id) == 1 && strlen(id) == 40 && strcmp(id, server.replid) != 0) {
            /* the master's history goes on under a new id (a failover) */
            replicationShiftHistory(id);
        }
        serverLog(LL_NOTICE, "Successful partial resynchronization with master, from offset %lld",
                  server.master_repl_offset + 1);
        createMasterClient(rs.stream_db);
        failoverPsyncAccepted();
        return C_OK;
    }
    serverLog(LL_WARNING, "Unexpected reply to PSYNC from master: %s", line);
    if (failoverState() == FAILOVER_IN_PROGRESS) rs.failover_rejected = 1;
    return C_ERR;
}

/* One handshake reply; C_ERR ends the link. */
static int handshakeReply(const char *line) {
    int index = rs.replies_seen++;
    rs.replies_left--;
    if (rs.replies_left == 0) return psyncReply(line);
    if (index == 0) {
        /* PING: PONG, or an authentication error when AUTH follows */
        if (line[0] == '-' && strncmp(line, "-NOAUTH", 7) && strncmp(line, "-NOPERM", 7) &&
            strncmp(line, "-ERR operation not permitted", 28)) {
            serverLog(LL_WARNING, "Error reply to PING from master: '%s'", line);
            return C_ERR;
        }
        return C_OK;
    }
    if (rs.auth_sent && index == 1) {
        if (line[0] == '-') {
            serverLog(LL_WARNING, "Unable to AUTH to MASTER: %s", line);
            return C_ERR;
        }
        return C_OK;
    }
    /* REPLCONF: a master that does not know an option still syncs */
    if (line[0] == '-') serverLog(LL_NOTICE, "(Non critical) Master does not understand REPLCONF: %s", line);
    if (rs.replies_left == 1) sendPsync();
    return C_OK;
}

static void linkRead(struct bufferevent *bev, void *arg) {
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    rs.last_io = mstime();
    while (rs.state == REPL_STATE_HANDSHAKE || (rs.state == REPL_STATE_TRANSFER && rs.transfer_size == -2)) {
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
        if (!line) {
            if (evbuffer_get_length(in) > 65536) cancelSync("the master sent 64 KB without a line end");
            return;
        }
        int r = C_OK;
        if (len == 0) {
            /* a keep-alive newline while the master prepares the RDB */
        } else if (rs.state == REPL_STATE_HANDSHAKE) {
            r = handshakeReply(line);
        } else {
            r = startTransfer(line);
        }
        free(line);
        if (r != C_OK) {
            cancelSync("the master's reply ended the handshake");
            if (rs.failover_rejected) {
                /* the target did not take over: a master again */
                rs.failover_rejected = 0;
                failoverAbort("Failover target rejected psync request");
            }
            return;
        }
        if (rs.state == REPL_STATE_CONNECTED) return; /* the master client reads the rest */
    }
    if (rs.state == REPL_STATE_TRANSFER) readTransfer(in);
}

static void linkEvent(struct bufferevent *bev, short events, void *arg) {
    (void)bev;
    (void)arg;
    if (events & BEV_EVENT_CONNECTED) {
        serverLog(LL_NOTICE, "MASTER <-> REPLICA sync started: connected to %s:%d", server.masterhost,
                  server.masterport);
        sendHandshake();
        return;
    }
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        sds why = sdscatprintf(sdsempty(), "the link to %s:%d failed: %s", server.masterhost, server.masterport,
                               (events & BEV_EVENT_EOF) ? "closed by the master" : strerror(EVUTIL_SOCKET_ERROR()));
        cancelSync(why);
        sdsfree(why);
    }
}

static void connectToMaster(void) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    char port[16];
    snprintf(port, sizeof(port), "%d", server.masterport);
    int gai = getaddrinfo(server.masterhost, port, &hints, &res);
    if (gai != 0) {
        serverLog(LL_WARNING, "Cannot resolve master %s: %s", server.masterhost, gai_strerror(gai));
        return;
    }
    rs.bev = bufferevent_socket_new(server.base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(rs.bev, linkRead, NULL, linkEvent, NULL);
    bufferevent_enable(rs.bev, EV_READ);
    rs.state = REPL_STATE_CONNECTING;
    rs.last_io = mstime();
    int connected = bufferevent_socket_connect(rs.bev, res->ai_addr, (int)res->ai_addrlen);
    if (connected == 0) evutil_make_socket_closeonexec(bufferevent_getfd(rs.bev)); /* not in our children */
    if (connected < 0) {
        serverLog(LL_WARNING, "Cannot connect to master %s:%d: %s", server.masterhost, server.masterport,
                  strerror(errno));
        bufferevent_free(rs.bev);
        rs.bev = NULL;
        rs.state = REPL_STATE_CONNECT;
    }
    freeaddrinfo(res);
}

/* ------------------------------------------------------------------------ */
/* Cron                                                                      */
/* ------------------------------------------------------------------------ */

void replicaCron(void) {
    if (!server.masterhost) return;
    long long now = mstime();
    if (rs.state == REPL_STATE_CONNECT) {
        /* as Redis, which runs its replication cron ten times a second
         * while a FAILOVER of ours goes on */
        if (now - rs.last_connect >= (failoverState() != NO_FAILOVER ? 100 : 1000)) {
            rs.last_connect = now;
            connectToMaster();
        }
        return;
    }
    if (rs.load_pid) {
        char why[64];
        int ok = rdbToolReap(&rs.load_pid, why, sizeof(why));
        if (ok >= 0) {
            loaderDone(ok);
        } else if (now - rs.last_newline >= 1000 && rs.bev) {
            /* a newline a second tells the master we are loading, not gone */
            rs.last_newline = now;
            evbuffer_add(bufferevent_get_output(rs.bev), "\n", 1);
        }
        return;
    }
    /* the stream that waited while a script ran past its time limit */
    if (server.master && !scriptIsTimedout() && evbuffer_get_length(bufferevent_get_input(server.master->bev)))
        resumeClientInput(server.master);
    if ((rs.state == REPL_STATE_CONNECTING || rs.state == REPL_STATE_HANDSHAKE || rs.state == REPL_STATE_TRANSFER ||
         rs.state == REPL_STATE_CONNECTED) &&
        now - rs.last_io > server.repl_timeout * 1000) {
        cancelSync("timeout: nothing from the master within repl-timeout");
        return;
    }
    if (rs.state == REPL_STATE_CONNECTED && now - rs.last_ack >= 1000) sendAck();
}

/* ------------------------------------------------------------------------ */
/* REPLICAOF                                                                 */
/* ------------------------------------------------------------------------ */

/* As Redis's disconnectAllBlockedClients(): a master turned replica does
 * not serve the clients blocked on its keys (its data now follows another
 * master); they are told and closed. Those held by CLIENT PAUSE run their
 * command again from the start when the pause ends. */
static void disconnectBlockedClients(void) {
    for (client *c = server.clients, *next; c; c = next) {
        next = c->next;
        if (c->bstate.btype == BLOCKED_NONE || c->bstate.btype == BLOCKED_PAUSE) continue;
        addReplyError(c, "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
                         "replica?)");
        unblockClient(c);
        closeAfterReply(c);
    }
}

static void setMaster(const char *host, int port) {
    int was_master = !server.masterhost;
    cancelSync(NULL);
    zfree(server.masterhost);
    server.masterhost = zstrdup(host);
    server.masterport = port;
    disconnectBlockedClients();
    replicationDisconnectReplicas(); /* ours resync with the new history */
    rs.state = REPL_STATE_CONNECT;
    /* as Redis: a master that was never a replica has no link down time
     * (master_link_down_since_seconds:-1) */
    rs.down_since = was_master ? 0 : mstime();
    serverLog(LL_NOTICE, "Connecting to MASTER %s:%d", host, port);
}

/* A FAILOVER of ours: a replica of its target at once. As Redis, our
 * replicas stay connected: the target drops its link to us when it takes
 * over, the others are dropped once the target's +CONTINUE gives our
 * history its new id, and continue with us (PSYNC with our former id). */
void replicaSetMasterForFailover(const char *host, int port) {
    cancelSync(NULL);
    zfree(server.masterhost);
    server.masterhost = zstrdup(host);
    server.masterport = port;
    disconnectBlockedClients();
    rs.state = REPL_STATE_CONNECT;
    rs.down_since = 0; /* a master until now: -1, as Redis */
    rs.last_connect = 0; /* now: writes wait for it */
    serverLog(LL_NOTICE, "Connecting to MASTER %s:%d", host, port);
}

/* REPLICAOF NO ONE (and PSYNC ... FAILOVER, an aborted FAILOVER): a master
 * again, its history going on under a new id. */
void replicaUnsetMaster(void) {
    if (!server.masterhost) return;
    cancelSync(NULL);
    zfree(server.masterhost);
    server.masterhost = NULL;
    rs.state = REPL_STATE_NONE;
    rs.down_since = 0;
    replicationPromote();
}

static void replicaofCommand(client *c) {
    if (c->flags & CLIENT_MASTER) return; /* not from the stream */
    if (failoverState() != NO_FAILOVER) {
        addReplyError(c, "ERR REPLICAOF not allowed while failing over.");
        return;
    }
    if (!strcasecmp(c->argv[1], "no") && !strcasecmp(c->argv[2], "one")) {
        if (server.masterhost) {
            replicaUnsetMaster();
            serverLog(LL_NOTICE, "MASTER MODE enabled (user request)");
        }
        addReplyOK(c);
        return;
    }
    long long port;
    if (getLongLongFromArgOrReply(c, c->argv[2], &port, NULL) != C_OK) return;
    if (port < 0 || port > 65535) {
        addReplyError(c, "ERR Invalid master port");
        return;
    }
    if (server.masterhost && !strcasecmp(server.masterhost, c->argv[1]) && server.masterport == port) {
        addReplyStatus(c, "OK Already connected to specified master");
        return;
    }
    setMaster(c->argv[1], (int)port);
    addReplyOK(c);
}

/* ------------------------------------------------------------------------ */
/* INFO, ROLE, start and stop                                                */
/* ------------------------------------------------------------------------ */

sds genReplicaInfo(sds info) {
    long long now = mstime();
    info = sdscatprintf(info,
                        "role:slave\r\n"
                        "master_host:%s\r\n"
                        "master_port:%d\r\n"
                        "master_link_status:%s\r\n"
                        "master_last_io_seconds_ago:%d\r\n"
                        "master_sync_in_progress:%d\r\n"
                        "slave_read_repl_offset:%lld\r\n"
                        "slave_repl_offset:%lld\r\n",
                        server.masterhost, server.masterport, rs.state == REPL_STATE_CONNECTED ? "up" : "down",
                        server.master ? (int)((now - rs.last_io) / 1000) : -1,
                        rs.state == REPL_STATE_TRANSFER || rs.state == REPL_STATE_LOADING, server.master_repl_offset,
                        server.master_repl_offset);
    if (rs.state == REPL_STATE_TRANSFER && rs.transfer_size >= -1) {
        long long total = rs.transfer_size;
        info = sdscatprintf(info,
                            "master_sync_total_bytes:%lld\r\n"
                            "master_sync_read_bytes:%lld\r\n"
                            "master_sync_left_bytes:%lld\r\n"
                            "master_sync_perc:%.2f\r\n"
                            "master_sync_last_io_seconds_ago:%d\r\n",
                            total, rs.transfer_read, total >= 0 ? total - rs.transfer_read : -1,
                            total > 0 ? (double)rs.transfer_read * 100 / (double)total : 0.0,
                            (int)((now - rs.last_io) / 1000));
    }
    if (rs.state != REPL_STATE_CONNECTED)
        info = sdscatprintf(info, "master_link_down_since_seconds:%lld\r\n",
                            rs.down_since ? (now - rs.down_since) / 1000 : -1);
    return sdscatprintf(info, "slave_priority:%lld\r\nslave_read_only:1\r\nreplica_announced:1\r\n",
                        server.replica_priority);
}

void addReplyReplicaRole(client *c) {
    addReplyArrayLen(c, 5);
    addReplyBulkCString(c, "slave");
    addReplyBulkCString(c, server.masterhost);
    addReplyLongLong(c, server.masterport);
    addReplyBulkCString(c, linkStateName());
    addReplyLongLong(c, server.master ? server.master_repl_offset : -1);
}

/* At start-up: the history written at the last clean shutdown (then the
 * file goes: after a crash the data may be past it), and the master of
 * DREDIS_REPLICAOF. */
void replicaInit(void) {
    rs.rdbfd = -1;
    rs.stream_db = 0;
    sds saved;
    if (storeReadRootFile(REPL_STATE_FILE, &saved) == STORE_OK) {
        char id[64];
        long long offset;
        /* not when the data is about to change under it (emptied, imported) */
        if (server.flushall_on_startup || server.import_rdb) {
            serverLog(LL_NOTICE, "The replication history of the last shutdown is dropped: the data is replaced");
        } else if (sscanf(saved, "%63s %lld %d", id, &offset, &rs.stream_db) >= 2 && strlen(id) == 40 &&
                   offset >= 0) {
            replicationRestoreHistory(id, offset);
            serverLog(LL_NOTICE, "Replication history from the last shutdown: id %s, offset %lld", id, offset);
        }
        sdsfree(saved);
        if (storeRemoveRootFile(REPL_STATE_FILE) != STORE_OK)
            serverLog(LL_WARNING, "Cannot remove %s/%s: %s", server.root_dir, REPL_STATE_FILE, strerror(errno));
    }
    if (server.masterhost) {
        rs.state = REPL_STATE_CONNECT;
        rs.down_since = mstime();
    }
}

/* At a clean shutdown, after the last sync: where our history stands. */
void replicaShutdown(void) {
    cancelSync(NULL);
    if (!replicationHasHistory()) return;
    if (storeSync() != STORE_OK) return;
    sds s = sdscatprintf(sdsempty(), "%s %lld %d\n", server.replid, server.master_repl_offset, replicaStreamDb());
    if (storeWriteRootFile(REPL_STATE_FILE, s, sdslen(s)) != STORE_OK)
        serverLog(LL_WARNING, "Cannot write %s/%s: %s", server.root_dir, REPL_STATE_FILE, strerror(errno));
    sdsfree(s);
}

redisCommand replicaCommandTable[] = {
    {"replicaof", replicaofCommand, 3, "admin noscript stale no_async_loading", "admin slow dangerous", 0, 0, 0, NULL},
    {"slaveof", replicaofCommand, 3, "admin noscript stale no_async_loading", "admin slow dangerous", 0, 0, 0, NULL},
    {NULL}};
