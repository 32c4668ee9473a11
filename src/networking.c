/* networking.c - the libevent front end: the listener, each client's life
 * (accept, read, parse, dispatch, reply, close), and the reply encoders
 * (RESP2 and RESP3) that commands use to answer. */

#include "server.h"
#include "dict.h"
#include <string.h>
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <stdarg.h>
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>

/* ------------------------------------------------------------------------ */
/* Reply encoders                                                            */
/* ------------------------------------------------------------------------ */

/* With DREDIS_FSYNC=always a reply may not leave before the changes made so
 * far are durable: it is held, and released by flushHeldReplies() after
 * the one sync that ends the loop turn (group commit). */
void holdClient(client *c) {
    if (c->flags & CLIENT_PENDING_FLUSH) return;
    c->flags |= CLIENT_PENDING_FLUSH;
    server.pending_flush = zrealloc(server.pending_flush, sizeof(client *) * (size_t)(server.npending_flush + 1));
    server.pending_flush[server.npending_flush++] = c;
    event_active(server.flush_ev, EV_TIMEOUT, 0);
}

void addReply(client *c, const char *s, size_t len) {
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_SLAVE | CLIENT_MASTER)) return;
    evbuffer_add(c->out, s, len);
    if (c->held && c->out == c->held) holdClient(c);
}

void flushHeldReplies(void) {
    aofFlush(); /* the AOF before any reply (fsynced with appendfsync always) */
    if (server.npending_flush == 0) return;
    long long sync_start = mstime();
    if (storeDirty() && storeSync() != STORE_OK) {
        /* as Redis with appendfsync always: acknowledged writes could not be
         * made durable, so nothing more may be acknowledged */
        serverLog(LL_WARNING, "Can't sync the data tree (DREDIS_FSYNC=always): %s. Exiting...", strerror(errno));
        exit(1);
    }
    latencyAddSampleIfNeeded("store-sync", mstime() - sync_start);
    for (int i = 0; i < server.npending_flush; i++) {
        client *c = server.pending_flush[i];
        c->flags &= ~CLIENT_PENDING_FLUSH;
        if (c->bev) evbuffer_add_buffer(bufferevent_get_output(c->bev), c->held);
    }
    server.npending_flush = 0;
}

/* Replies are written as Redis writes them: straight to the socket at the
 * end of the loop turn (after the sync of DREDIS_FSYNC=always), not through
 * a write event per reply. Only what the socket does not take at once is
 * left to the bufferevent's write event, which is enabled for that and
 * disabled again when the output is empty (writeDone). */
static void scheduleWrite(client *c) {
    if (c->flags & CLIENT_PENDING_WRITE) return;
    c->flags |= CLIENT_PENDING_WRITE;
    server.pending_write = zrealloc(server.pending_write, sizeof(client *) * (size_t)(server.npending_write + 1));
    server.pending_write[server.npending_write++] = c;
    if (!server.in_flush) event_active(server.flush_ev, EV_TIMEOUT, 0);
}

static void dropPendingWrite(client *c) {
    for (int i = 0; i < server.npending_write; i++) {
        if (server.pending_write[i] == c) {
            server.pending_write[i] = server.pending_write[--server.npending_write];
            break;
        }
    }
    c->flags &= ~CLIENT_PENDING_WRITE;
}

/* The output buffer's callback: counts what was written, schedules a
 * write for what was added, and holds it against the client's class of
 * client-output-buffer-limit (a replica's output also carries its RDB file:
 * replication.c counts its stream instead). */
static void outputChanged(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
    (void)buf;
    client *c = arg;
    server.stat_net_output_bytes += (long long)info->n_deleted;
    if (!info->n_added) return;
    /* new output leaves only through writeToClient(), after the COMMIT of
     * the command that made it: not through a write event left on by a
     * partial write (a replica's stream excepted: its RDB transfer runs on
     * that event) */
    if (!(c->flags & CLIENT_SLAVE) && c->bev && (bufferevent_get_enabled(c->bev) & EV_WRITE))
        bufferevent_disable(c->bev, EV_WRITE);
    scheduleWrite(c);
    if (!(c->flags & CLIENT_SLAVE)) {
        size_t used = info->orig_size + info->n_added - info->n_deleted;
        closeClientOnOutputLimit(c, used + (c->held ? evbuffer_get_length(c->held) : 0));
    }
}

/* ------------------------------------------------------------------------ */
/* Backpressure                                                              */
/* ------------------------------------------------------------------------ */

/* A client whose replies wait unwritten past OUTPUT_PAUSE_BYTES has no
 * further command run (and nothing more read from its socket) until they
 * drain below it: its memory stays about one reply, and the kernel's socket
 * buffers hold back a client that sends without reading. It is not closed
 * for that: client-output-buffer-limit closes only the clients whose output
 * grows without their own commands (subscribers, MONITOR), or past a limit
 * set below one reply (the normal class is unlimited by default). */
#define OUTPUT_PAUSE_BYTES (256 * 1024)
/* One client runs commands for at most this long per loop turn when more of
 * its pipeline waits; then the others get their turn. A short pipeline (up
 * to COMMANDS_TURN_MIN commands) is never split: like Redis, which runs
 * all that one read brought, clients see its commands run back to back. */
#define COMMANDS_TURN_BUDGET_US 2000
#define COMMANDS_TURN_MIN 16

static size_t pendingOutput(client *c) {
    size_t n = c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
    return n + (c->held ? evbuffer_get_length(c->held) : 0);
}

/* Our master's stream and a replica's acknowledgements are never paused. */
static int shouldPauseClient(client *c) {
    return !(c->flags & (CLIENT_SLAVE | CLIENT_MASTER)) && c->bev && pendingOutput(c) > OUTPUT_PAUSE_BYTES;
}

static void pauseClientOutput(client *c) {
    c->flags |= CLIENT_OUTPUT_PAUSED;
    server.stat_output_pauses++;
    bufferevent_disable(c->bev, EV_READ);
}

/* Run c's read callback on the next loop turn, for the input it has. */
static void continueInputLater(client *c) {
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Called after each write: a paused client whose output drained enough
 * reads and runs commands again, from the next loop turn. */
static void resumeIfDrained(client *c) {
    if (!(c->flags & CLIENT_OUTPUT_PAUSED) || (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY))) return;
    if (pendingOutput(c) > OUTPUT_PAUSE_BYTES) return;
    c->flags &= ~CLIENT_OUTPUT_PAUSED;
    bufferevent_enable(c->bev, EV_READ);
    continueInputLater(c);
}

static void closeClient(client *c);

/* Write what the socket takes now; the rest goes out with the write event. */
static void writeToClient(client *c) {
    if (!c->bev || (c->flags & CLIENT_CLOSE_ASAP)) return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) == 0 || (bufferevent_get_enabled(c->bev) & EV_WRITE)) return;
    storeWriteHeldCommit(); /* no reply before its command's COMMIT */
    aofFlush();             /* nor before its command is in the AOF */
    evbuffer_unfreeze(out, 1); /* a bufferevent keeps it frozen outside its own writes */
    int w = evbuffer_write(out, c->fd);
    evbuffer_freeze(out, 1);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        closeClientAsync(c); /* the peer is gone */
    } else if (evbuffer_get_length(out) > 0) {
        bufferevent_enable(c->bev, EV_WRITE);
        resumeIfDrained(c);
    } else if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
        closeClient(c);
    } else {
        replicationOutputDrained(c);
        resumeIfDrained(c);
    }
}

static void writePendingClients(void) {
    while (server.npending_write > 0) {
        client *c = server.pending_write[--server.npending_write];
        c->flags &= ~CLIENT_PENDING_WRITE;
        writeToClient(c);
    }
}

/* The bufferevent wrote part of what the socket had not taken (the output
 * is at or below its low watermark, OUTPUT_PAUSE_BYTES). */
static void writeDone(struct bufferevent *bev, void *arg) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        bufferevent_disable(bev, EV_WRITE);
        replicationOutputDrained(arg);
    }
    resumeIfDrained(arg);
}

/* The end of a loop turn: sync and release held replies, then write. */
static void flushEventCallback(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    server.in_flush = 1;
    storeWriteHeldCommit();
    flushHeldReplies();
    writePendingClients();
    server.in_flush = 0;
}

/* A command's COMMIT was held back: the end of the turn writes it. */
static void commitHeld(void) {
    if (!server.in_flush) event_active(server.flush_ev, EV_TIMEOUT, 0);
}

void networkingInit(void) {
    server.flush_ev = event_new(server.base, -1, 0, flushEventCallback, NULL);
    storeSetCommitHeldHook(commitHeld);
    /* No priority of its own: an event of a lower priority runs only in a
     * turn that has no other event, so a client pipelining without pause
     * would hold back every other client's replies. Activated by the first
     * reply of a turn, it joins the end of the turn's active events, after
     * the reads that epoll reported with that client's. */
}

static void dropPendingFlush(client *c) {
    for (int i = 0; i < server.npending_flush; i++) {
        if (server.pending_flush[i] == c) {
            server.pending_flush[i] = server.pending_flush[--server.npending_flush];
            break;
        }
    }
    c->flags &= ~CLIENT_PENDING_FLUSH;
}

void addReplyProto(client *c, const char *s) { addReply(c, s, strlen(s)); }

static void addReplyLenPrefix(client *c, char prefix, long long len) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%c%lld\r\n", prefix, len);
    addReply(c, buf, (size_t)n);
}

void addReplyStatusLength(client *c, const char *s, size_t len) {
    addReply(c, "+", 1);
    addReply(c, s, len);
    addReply(c, "\r\n", 2);
}

void addReplyStatus(client *c, const char *status) { addReplyStatusLength(c, status, strlen(status)); }

void addReplyOK(client *c) { addReply(c, "+OK\r\n", 5); }

/* Errors: newlines are replaced by spaces so the protocol stays intact; a
 * message without an upper-case code gets "ERR ". */
void addReplyErrorLength(client *c, const char *err, size_t len) { addReplyErrorLengthEx(c, err, len, 1); }

/* count_stats 0: an error counted already where it arose (a script's
 * command), so only the command's failed_calls counts it, as Redis's
 * ERR_REPLY_FLAG_NO_STATS_UPDATE */
void addReplyErrorLengthEx(client *c, const char *err, size_t len, int count_stats) {
    if (len == 0 || err[0] != '-') addReply(c, "-", 1);
    char *copy = zmalloc(len ? len : 1);
    memcpy(copy, err, len);
    for (size_t i = 0; i < len; i++)
        if (copy[i] == '\r' || copy[i] == '\n') copy[i] = ' ';
    addReply(c, copy, len);
    zfree(copy);
    addReply(c, "\r\n", 2);
    if (c->cmd) c->cmd->failed_calls++;
    if (count_stats) countErrorReply(err, len);
}

void addReplyError(client *c, const char *err) { addReplyErrorLength(c, err, strlen(err)); }

void addReplyErrorFormat(client *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sds s = sdscatvprintf(sdsempty(), fmt, ap);
    va_end(ap);
    addReplyErrorLength(c, s, sdslen(s));
    sdsfree(s);
}

void addReplyErrorArity(client *c) {
    sds name = sdsdup(c->argv[0]);
    sdstolower(name);
    if (c->cmd && c->cmd->fullname && strchr(c->cmd->fullname, '|')) {
        addReplyErrorFormat(c, "ERR wrong number of arguments for '%s' command", c->cmd->fullname);
    } else {
        addReplyErrorFormat(c, "ERR wrong number of arguments for '%s' command", name);
    }
    sdsfree(name);
}

void addReplyErrorWrongType(client *c) {
    addReplyError(c, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

void addReplyErrorSyntax(client *c) { addReplyError(c, "ERR syntax error"); }

/* A container's subcommand given the wrong arguments, in Redis's words */
void addReplySubcommandSyntaxError(client *c) {
    sds cmd = sdsdup(c->argv[0]);
    for (size_t i = 0; i < sdslen(cmd); i++) cmd[i] = (char)toupper((unsigned char)cmd[i]);
    addReplyErrorFormat(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try %s HELP.",
                        c->argv[1], cmd);
    sdsfree(cmd);
}

/* Only the words: the store already marked the transaction failed when the
 * call that set err failed (store.c, "Sticky failures"), and storeTxnEnd()
 * rolls the command back whichever reply its handler sends. */
void addReplyErrorIO(client *c, int err) {
    server.stat_io_errors++;
    /* the store opens everything with O_NOFOLLOW and expects directories
     * where it opens with O_DIRECTORY: ELOOP and ENOTDIR mean something that
     * dredis did not write sits in the tree (a symbolic link, a file) */
    if (err == EUCLEAN || err == ELOOP || err == ENOTDIR)
        addReplyError(c, "ERR storage error: the key's directory is damaged or not a dredis key");
    else
        addReplyErrorFormat(c, "ERR storage error: %s", strerror(err));
}

void addReplyBulk(client *c, const char *p, size_t len) {
    addReplyLenPrefix(c, '$', (long long)len);
    addReply(c, p, len);
    addReply(c, "\r\n", 2);
}

void addReplyBulkSds(client *c, sds s) {
    addReplyBulk(c, s, sdslen(s));
    sdsfree(s);
}

void addReplyBulkCString(client *c, const char *s) {
    if (!s) addReplyNull(c);
    else addReplyBulk(c, s, strlen(s));
}

void addReplyBulkLongLong(client *c, long long v) {
    char buf[32];
    int n = ll2string(buf, sizeof(buf), v);
    addReplyBulk(c, buf, (size_t)n);
}

void addReplyLongLong(client *c, long long v) {
    if (v == 0) addReply(c, ":0\r\n", 4);
    else if (v == 1) addReply(c, ":1\r\n", 4);
    else addReplyLenPrefix(c, ':', v);
}

void addReplyDouble(client *c, double d) {
    char buf[64];
    int n = d2string(buf, sizeof(buf), d);
    if (c->resp == 3) {
        addReply(c, ",", 1);
        addReply(c, buf, (size_t)n);
        addReply(c, "\r\n", 2);
    } else {
        addReplyBulk(c, buf, (size_t)n);
    }
}

void addReplyHumanLongDouble(client *c, long double d) {
    char buf[5120];
    int n = ld2string(buf, sizeof(buf), d, 1);
    if (c->resp == 3) {
        addReply(c, ",", 1);
        addReply(c, buf, (size_t)n);
        addReply(c, "\r\n", 2);
    } else {
        addReplyBulk(c, buf, (size_t)n);
    }
}

void addReplyNull(client *c) {
    if (c->resp == 3) addReply(c, "_\r\n", 3);
    else addReply(c, "$-1\r\n", 5);
}

void addReplyNullArray(client *c) {
    if (c->resp == 3) addReply(c, "_\r\n", 3);
    else addReply(c, "*-1\r\n", 5);
}

void addReplyArrayLen(client *c, long len) { addReplyLenPrefix(c, '*', len); }

void addReplyMapLen(client *c, long len) {
    if (c->resp == 3) addReplyLenPrefix(c, '%', len);
    else addReplyLenPrefix(c, '*', len * 2);
}

void addReplySetLen(client *c, long len) { addReplyLenPrefix(c, c->resp == 3 ? '~' : '*', len); }

void addReplyBool(client *c, int b) {
    if (c->resp == 3) addReply(c, b ? "#t\r\n" : "#f\r\n", 4);
    else addReplyLongLong(c, b ? 1 : 0);
}

void addReplyVerbatim(client *c, const char *s, size_t len, const char *ext) {
    if (c->resp == 2) {
        addReplyBulk(c, s, len);
        return;
    }
    addReplyLenPrefix(c, '=', (long long)len + 4);
    addReply(c, ext, 3);
    addReply(c, ":", 1);
    addReply(c, s, len);
    addReply(c, "\r\n", 2);
}

/* Deferred lengths: the reply so far is moved aside into a holding buffer;
 * when the length is known the header and the held replies are appended. A
 * stack of such buffers lets deferred replies nest. */
typedef struct deferred {
    struct evbuffer *held;   /* what the client had before the deferred header */
    struct evbuffer *saved_out;
} deferred;

void *addReplyDeferredLen(client *c) {
    deferred *d = zmalloc(sizeof(*d));
    d->saved_out = c->out;
    c->out = evbuffer_new();
    d->held = NULL;
    return d;
}

static void setDeferredReply(client *c, void *node, char prefix, long len) {
    deferred *d = node;
    struct evbuffer *body = c->out;
    c->out = d->saved_out;
    addReplyLenPrefix(c, prefix, len);
    evbuffer_add_buffer(c->out, body);
    evbuffer_free(body);
    zfree(d);
}

void setDeferredArrayLen(client *c, void *node, long len) { setDeferredReply(c, node, '*', len); }

void setDeferredSetLen(client *c, void *node, long len) { setDeferredReply(c, node, c->resp == 3 ? '~' : '*', len); }

void setDeferredMapLen(client *c, void *node, long len) {
    if (c->resp == 3) setDeferredReply(c, node, '%', len);
    else setDeferredReply(c, node, '*', len * 2);
}

/* Replies built aside: between replyCaptureStart() and replyCaptureStop()
 * everything added to the client goes to a buffer of its own. Send appends
 * it after an optional aggregate header, Abort drops it -- so an error found
 * half way can still be the whole reply. */
void replyCaptureStart(client *c, replyCapture *rc) {
    rc->saved = c->out;
    rc->body = evbuffer_new();
    c->out = rc->body;
}

void replyCaptureStop(client *c, replyCapture *rc) {
    if (c->out == rc->body) c->out = rc->saved;
}

void replyCaptureSend(client *c, replyCapture *rc, void (*header)(client *, long), long len) {
    replyCaptureStop(c, rc);
    if (header) header(c, len);
    evbuffer_add_buffer(c->out, rc->body);
    if (c->held && c->out == c->held) holdClient(c);
    evbuffer_free(rc->body);
    rc->body = NULL;
}

void replyCaptureEndArray(client *c, replyCapture *rc, long len) { replyCaptureSend(c, rc, addReplyArrayLen, len); }
void replyCaptureEndSet(client *c, replyCapture *rc, long len) { replyCaptureSend(c, rc, addReplySetLen, len); }
void replyCaptureEndMap(client *c, replyCapture *rc, long len) { replyCaptureSend(c, rc, addReplyMapLen, len); }

void replyCaptureAbort(client *c, replyCapture *rc) {
    replyCaptureStop(c, rc);
    evbuffer_free(rc->body);
    rc->body = NULL;
}

void addReplyHelp(client *c, const char **lines, size_t n) {
    addReplyArrayLen(c, (long)n);
    for (size_t i = 0; i < n; i++) addReplyStatus(c, lines[i]);
}

/* ------------------------------------------------------------------------ */
/* Clients                                                                   */
/* ------------------------------------------------------------------------ */

static void linkClient(client *c) {
    c->next = server.clients;
    c->prev = NULL;
    if (server.clients) server.clients->prev = c;
    server.clients = c;
    server.nclients++;
}

static void unlinkClient(client *c) {
    if (c->prev) c->prev->next = c->next;
    else server.clients = c->next;
    if (c->next) c->next->prev = c->prev;
    server.nclients--;
}

static client *allocClient(void) {
    client *c = zcalloc(sizeof(*c));
    c->id = ++server.next_client_id;
    c->fd = -1;
    c->resp = 2;
    c->db = 0;
    c->ctime = c->last_interaction = mstime();
    c->user = aclDefaultUser();
    c->authenticated = aclDefaultUserNeedsNoAuth();
    respParserInit(&c->parser);
    return c;
}

client *createFakeClient(void) {
    client *c = allocClient();
    c->flags |= CLIENT_FAKE;
    c->user = NULL; /* scripts are checked against their caller's user */
    c->authenticated = 1;
    c->out = evbuffer_new();
    return c;
}

void freeFakeClient(client *c) {
    evbuffer_free(c->out);
    respParserReset(&c->parser);
    sdsfree(c->name);
    zfree(c);
}

static void freeClientArgv(client *c) {
    for (int j = 0; j < c->argc; j++) sdsfree(c->argv[j]);
    zfree(c->argv);
    c->argv = NULL;
    c->argc = 0;
    c->cmd = NULL;
}

static unsigned long clients_freed; /* lets processEventsWhileBlocked() notice frees */

void freeClient(client *c) {
    clients_freed++;
    if (server.verbosity <= LL_DEBUG) serverLog(LL_DEBUG, "client %llu (%s) closed", (unsigned long long)c->id, c->addr);
    c->flags |= CLIENT_CLOSE_ASAP;
    unblockClient(c);
    unlinkClient(c);
    unwatchAllKeys(c);
    freeClientMultiState(c);
    freeClientPubsub(c);
    trackingFreeClient(c);
    if (c->flags & CLIENT_MONITOR) monitorRemoveClient(c);
    if (c->flags & CLIENT_SLAVE) replicationForgetClient(c);
    if (c->flags & CLIENT_MASTER) replicaMasterLinkLost(c);
    if (c->prop_argv) {
        for (int i = 0; i < c->prop_argc; i++) sdsfree(c->prop_argv[i]);
        zfree(c->prop_argv);
    }
    freeClientArgv(c);
    respParserReset(&c->parser);
    if (c->flags & CLIENT_PENDING_FLUSH) dropPendingFlush(c);
    if (c->flags & CLIENT_PENDING_WRITE) dropPendingWrite(c);
    if (c->held) evbuffer_free(c->held);
    if (c->bev) bufferevent_free(c->bev); /* closes the socket */
    sdsfree(c->name);
    zfree(c);
}

static void freeClientsClosingAsap(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    client *c = server.clients;
    while (c) {
        client *next = c->next;
        if (c->flags & CLIENT_CLOSE_ASAP) freeClient(c);
        c = next;
    }
}

/* Close a client from outside its own callbacks (CLIENT KILL): it stops
 * being served now and is freed on the next loop iteration. */
void closeClientAsync(client *c) {
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    c->flags |= CLIENT_CLOSE_ASAP;
    if (c->bev) bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    struct timeval now = {0, 0};
    event_base_once(server.base, -1, EV_TIMEOUT, freeClientsClosingAsap, NULL, &now);
}

sds clientInfoString(client *c) {
    long long now = mstime();
    char flags[16], *p = flags;
    /* the letters and their order of Redis's CLIENT LIST */
    if (c->flags & CLIENT_MONITOR) *p++ = 'O';
    if (c->flags & CLIENT_SLAVE) *p++ = 'S';
    if (c->flags & CLIENT_MASTER) *p++ = 'M';
    if (clientSubscriptionsCount(c) > 0) *p++ = 'P';
    if (c->flags & CLIENT_MULTI) *p++ = 'x';
    if (c->bstate.btype != BLOCKED_NONE) *p++ = 'b';
    p = trackingClientFlags(c, p);
    if (c->flags & CLIENT_DIRTY_CAS) *p++ = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) *p++ = 'c';
    if (c->flags & CLIENT_UNBLOCKED) *p++ = 'u';
    if (c->flags & CLIENT_CLOSE_ASAP) *p++ = 'A';
    if (server.unixsocket && c->fd >= 0 && !strncmp(c->addr, server.unixsocket, strlen(server.unixsocket)) &&
        !strcmp(c->addr + strlen(server.unixsocket), ":0"))
        *p++ = 'U';
    if (c->flags & CLIENT_NO_EVICT) *p++ = 'e';
    if (p == flags) *p++ = 'N';
    *p = '\0';
    /* as Redis's query buffer: the request being run (its bytes are
     * counted while it is parsed) and the input not yet parsed */
    size_t qbuf = (size_t)c->parsed_bytes + (c->bev ? evbuffer_get_length(bufferevent_get_input(c->bev)) : 0);
    size_t omem = c->out ? evbuffer_get_length(c->out) : 0;
    return sdscatprintf(sdsempty(),
                        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%lu psub=%lu "
                        "ssub=%lu multi=%d qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=0 oll=0 "
                        "omem=%zu tot-mem=0 events=%s cmd=%s user=%s redir=-1 resp=%d",
                        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
                        (now - c->ctime) / 1000, (now - c->last_interaction) / 1000, flags, c->db,
                        (unsigned long)(c->pubsub_channels ? dictSize(c->pubsub_channels) : 0),
                        (unsigned long)(c->pubsub_patterns ? dictSize(c->pubsub_patterns) : 0),
                        (unsigned long)(c->pubsub_shard_channels ? dictSize(c->pubsub_shard_channels) : 0),
                        (c->flags & CLIENT_MULTI) ? c->mstate.count : -1, qbuf, qbuf, qbuf, omem,
                        omem ? "rw" : "r", c->lastcmd ? c->lastcmd->fullname : "NULL",
                        aclUserName(c->user), c->resp);
}

/* ------------------------------------------------------------------------ */
/* Reading and dispatch                                                      */
/* ------------------------------------------------------------------------ */

static size_t evLength(void *ud) { return evbuffer_get_length(ud); }
static int evPeek(void *ud) {
    unsigned char ch;
    evbuffer_copyout(ud, &ch, 1);
    return ch;
}
static ssize_t evFind(void *ud, int ch, size_t maxscan) {
    char c = (char)ch;
    struct evbuffer_ptr end;
    if (maxscan < evbuffer_get_length(ud)) {
        evbuffer_ptr_set(ud, &end, maxscan, EVBUFFER_PTR_SET);
        return evbuffer_search_range(ud, &c, 1, NULL, &end).pos;
    }
    return evbuffer_search(ud, &c, 1, NULL).pos;
}
static void evCopyout(void *ud, void *dst, size_t n) { evbuffer_remove(ud, dst, n); }
static void evDrain(void *ud, size_t n) { evbuffer_drain(ud, n); }

static void closeAfterWrite(struct bufferevent *bev, void *arg);
static void discardInput(struct bufferevent *bev, void *arg);
static void closingEventCallback(struct bufferevent *bev, short events, void *arg);

/* Parse and run every complete command in the client's input buffer. */
static void processInputBuffer(client *c) {
    struct evbuffer *in = bufferevent_get_input(c->bev);
    respSource src = {in, evLength, evPeek, evFind, evCopyout, evDrain};
    long long started = ustime();
    int ran = 0;
    while (!(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_OUTPUT_PAUSED)) &&
           c->bstate.btype == BLOCKED_NONE) {
        /* our master's stream waits while a script runs past its limit
         * (it would get -BUSY): replicaCron resumes it */
        if ((c->flags & CLIENT_MASTER) && scriptIsTimedout()) break;
        if (evbuffer_get_length(in) == 0) break;
        if (shouldPauseClient(c)) {
            pauseClientOutput(c);
            break;
        }
        if (ran >= COMMANDS_TURN_MIN && ustime() - started >= COMMANDS_TURN_BUDGET_US) {
            continueInputLater(c); /* the rest of the pipeline on the next turn */
            break;
        }
        c->parser.unauthenticated = !c->authenticated;
        c->parser.no_bulk_limit = (c->flags & CLIENT_MASTER) != 0;
        size_t before = evbuffer_get_length(in);
        int r = respParse(&c->parser, &src);
        c->parsed_bytes += before - evbuffer_get_length(in); /* a master's stream is counted in bytes */
        if (r == RESP_NEED_MORE) break;
        if (r == RESP_PROTO_ERROR) {
            addReplyErrorFormat(c, "ERR %s", c->parser.error);
            serverLog(LL_VERBOSE, "Protocol error (%s) from client %s", c->parser.error, c->addr);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            respParserReset(&c->parser);
            break;
        }
        c->argc = c->parser.argc;
        c->argv = c->parser.argv;
        respParserTakeArgs(&c->parser);
        c->last_interaction = started / 1000; /* as Redis, once per read */
        if (c->flags & CLIENT_MASTER) {
            replicaApplyCommand(c, c->parsed_bytes);
        } else {
            processCommand(c);
        }
        c->parsed_bytes = 0;
        ran++;
        freeClientArgv(c);
        handleClientsBlockedOnKeys();
        /* CLIENT REPLY SKIP silences exactly the next command */
        if (c->flags & CLIENT_REPLY_SKIP) c->flags &= ~CLIENT_REPLY_SKIP;
        if (c->flags & CLIENT_REPLY_SKIP_NEXT) c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
    }
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && (c->flags & CLIENT_PENDING_FLUSH)) flushHeldReplies();
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) closeAfterReply(c);
}

/* Run nothing more for c; close it once its output is written. */
void closeAfterReply(client *c) {
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    bufferevent_setcb(c->bev, discardInput, closeAfterWrite, closingEventCallback, c);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) closeClient(c);
}

/* Closing a socket that still has unread input makes the kernel answer with
 * a reset, which can destroy the reply (a protocol error, QUIT's +OK) before
 * the client has read it. So input that arrives after a client was marked to
 * close is read and dropped, and the socket is drained once more just before
 * it is closed. */
static void discardInput(struct bufferevent *bev, void *arg) {
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void closeClient(client *c) {
    char buf[16384];
    size_t total = 0;
    while (total < (1 << 20)) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0) break;
        total += (size_t)n;
    }
    freeClient(c);
}

static void closingEventCallback(struct bufferevent *bev, short events, void *arg) {
    client *c = arg;
    if (events & BEV_EVENT_ERROR) freeClient(c);
    else if (events & BEV_EVENT_EOF) bufferevent_disable(bev, EV_READ); /* the reply may still go out */
}

/* libevent 2.1 reads at most 4KB per callback. Like Redis, read more of
 * what has already arrived, as much as the request in progress calls for:
 * up to 16KB (Redis's usual read) for ordinary commands, so that a client
 * pipelining many of them takes turns with the others; the whole of a line
 * for an inline command that has no end yet, so that it is "too big" only
 * when no end of line was in sight after 64KB; the whole payload (4MB per
 * turn) for a bulk argument in progress, which runs nothing until complete. */
#define READ_CHUNK (16 * 1024)
#define READ_BURST_MAX (4 << 20)
static void readPending(client *c, struct evbuffer *in) {
    size_t want = READ_CHUNK;
    if (c->parser.reqtype == 2) want = RESP_MAX_INLINE + READ_CHUNK;
    else if (c->parser.bulklen > 0) want = (size_t)c->parser.bulklen + 2;
    size_t have = evbuffer_get_length(in), total = 0;
    if (have >= want) return;
    evbuffer_unfreeze(in, 0); /* bufferevents keep the end of their input frozen */
    while (have < want && total < READ_BURST_MAX) {
        struct evbuffer_iovec v;
        size_t room = want - have < 65536 ? want - have : 65536;
        if (evbuffer_reserve_space(in, (ev_ssize_t)room, &v, 1) != 1) break;
        if (v.iov_len > room) v.iov_len = room;
        ssize_t n = recv(c->fd, v.iov_base, v.iov_len, MSG_DONTWAIT);
        if (n <= 0) break; /* EOF and errors are left for libevent to see */
        size_t asked = v.iov_len;
        v.iov_len = (size_t)n;
        evbuffer_commit_space(in, &v, 1);
        total += (size_t)n;
        have += (size_t)n;
        if ((size_t)n < asked) break;
    }
    evbuffer_freeze(in, 0);
}

void resumeClientInput(client *c) { processInputBuffer(c); }

/* libevent 2.1's evbuffer_read() reads at most this much at a time, and
 * less only when that is all the socket has (it asks FIONREAD first). */
#define LIBEVENT_READ_MAX 4096

/* Redis's client-query-buffer-limit: a client (not our master) whose
 * unparsed input passed it is closed, with Redis's log line. */
static int queryBufferLimitReached(client *c, struct evbuffer *in) {
    size_t qlen = evbuffer_get_length(in);
    if ((c->flags & CLIENT_MASTER) || (long long)qlen <= server.client_max_querybuf_len) return 0;
    char head[64];
    size_t n = qlen < sizeof(head) ? qlen : sizeof(head);
    evbuffer_copyout(in, head, n);
    sds info = clientInfoString(c), bytes = sdscatrepr(sdsempty(), head, n);
    serverLog(LL_WARNING, "Closing client that reached max query buffer length: %s (qbuf initial bytes: %s)", info,
              bytes);
    sdsfree(info);
    sdsfree(bytes);
    closeClientAsync(c);
    return 1;
}

static void readCallback(struct bufferevent *bev, void *arg) {
    client *c = arg;
    /* paused by backpressure: the input waits (resumeIfDrained) */
    if (c->flags & CLIENT_OUTPUT_PAUSED) return;
    /* a replica that writes anything (an ACK, a newline while it loads) is alive */
    if (c->flags & CLIENT_SLAVE) c->repl_ack_time = mstime();
    /* after a short read there is nothing more to read: don't ask again */
    if (c->last_read >= LIBEVENT_READ_MAX) readPending(c, bufferevent_get_input(bev));
    if (queryBufferLimitReached(c, bufferevent_get_input(bev))) return;
    processInputBuffer(c);
}

static void countInput(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg) {
    (void)buf;
    client *c = arg;
    if (info->n_added) c->last_read = info->n_added;
    server.stat_net_input_bytes += (long long)info->n_added;
}

static void closeAfterWrite(struct bufferevent *bev, void *arg) {
    client *c = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) closeClient(c);
}

static void eventCallback(struct bufferevent *bev, short events, void *arg) {
    client *c = arg;
    (void)bev;
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) freeClient(c);
}

client *createClient(int fd, struct bufferevent *bev) {
    client *c = allocClient();
    c->fd = fd;
    c->bev = bev;
    c->out = bufferevent_get_output(bev);
    if (server.fsync_always) {
        c->held = evbuffer_new();
        c->out = c->held;
    }
    linkClient(c);
    return c;
}

static void formatAddr(struct sockaddr *sa, char *buf, size_t len) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(buf, len, "%s:0", server.unixsocket);
        return;
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(buf, len, "%s:%d", ip, port);
}

/* A client on its connection (accepted, or our link to a master once
 * synced): its local address, the callbacks, reading on. */
void serveConnection(client *c) {
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    if (getsockname(c->fd, (struct sockaddr *)&local, &ll) == 0)
        formatAddr((struct sockaddr *)&local, c->laddr, sizeof(c->laddr));
    if (!c->addr[0]) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) == 0) formatAddr((struct sockaddr *)&peer, c->addr, sizeof(c->addr));
    }
    bufferevent_setcb(c->bev, readCallback, writeDone, eventCallback, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, OUTPUT_PAUSE_BYTES, 0);
    evbuffer_add_cb(bufferevent_get_input(c->bev), countInput, c);
    evbuffer_add_cb(bufferevent_get_output(c->bev), outputChanged, c);
    /* EV_WRITE only while a write is partial (a new bufferevent has it on) */
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
}

/* Protected mode: a client from outside while there is no password gets
 * Redis's -DENIED explanation and is closed. */
static int rejectInProtectedMode(int fd, struct sockaddr *sa) {
    char ip[INET6_ADDRSTRLEN] = "";
    if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    if (!protectedModeDenies(server.protected_mode, server.requirepass != NULL, sa->sa_family, ip)) return 0;
    const char *msg = protectedModeDeniedText;
    if (write(fd, msg, strlen(msg)) < 0) { /* best effort, as Redis */ }
    /* what the client sent already is read first: closing with unread
     * input would reset the connection, and the text might be lost */
    char buf[4096];
    for (int i = 0; i < 16 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++) {
    }
    close(fd);
    server.stat_rejected_conn++;
    return 1;
}

static void acceptCallback(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa, int socklen,
                           void *arg) {
    (void)listener;
    (void)socklen;
    (void)arg;
    if (server.maxclients && server.nclients >= server.maxclients) {
        const char *msg = "-ERR max number of clients reached\r\n";
        if (write(fd, msg, strlen(msg)) < 0) { /* best effort */ }
        close(fd);
        server.stat_rejected_conn++;
        return;
    }
    if (rejectInProtectedMode(fd, sa)) return;
    int one = 1;
    if (sa->sa_family != AF_UNIX) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct bufferevent *bev = bufferevent_socket_new(server.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return;
    }
    client *c = createClient(fd, bev);
    formatAddr(sa, c->addr, sizeof(c->addr));
    server.stat_numconnections++;
    serveConnection(c);
    if (server.verbosity <= LL_DEBUG) serverLog(LL_DEBUG, "accepted client %llu from %s", (unsigned long long)c->id, c->addr);
}

/* accept() failing for want of descriptors (EMFILE, ENFILE) or memory
 * leaves the connection in the backlog, and the listener readable: left
 * on, it would fail again at once, spinning the event loop (and the log).
 * The listener pauses ACCEPT_PAUSE_MS instead, while the store gives back
 * the directories it keeps open, then tries again. */
#define ACCEPT_PAUSE_MS 100
static struct acceptPause {
    struct evconnlistener *listener;
    struct event *ev;
} accept_pauses[2];

static void acceptResume(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    evconnlistener_enable(((struct acceptPause *)arg)->listener);
}

static void pauseListener(struct evconnlistener *listener) {
    struct acceptPause *p = NULL;
    for (int i = 0; i < 2 && !p; i++)
        if (accept_pauses[i].listener == listener || !accept_pauses[i].listener) p = &accept_pauses[i];
    if (!p) return;
    if (!p->ev) {
        p->ev = evtimer_new(server.base, acceptResume, p);
        if (!p->ev) return; /* no memory for a timer: go on trying */
        p->listener = listener;
    }
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    evconnlistener_disable(listener);
    evtimer_add(p->ev, &tv);
}

/* A listener about to be freed: no pause timer may wake it any more. */
static void forgetPausedListener(struct evconnlistener *listener) {
    for (int i = 0; i < 2; i++) {
        if (accept_pauses[i].listener != listener) continue;
        if (accept_pauses[i].ev) event_free(accept_pauses[i].ev);
        accept_pauses[i].ev = NULL;
        accept_pauses[i].listener = NULL;
    }
}

static void acceptErrorCallback(struct evconnlistener *listener, void *arg) {
    (void)arg;
    static logLimiter lim;
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        storeReleaseCachedFds();
        pauseListener(listener);
    }
    serverLogLimited(&lim, LL_WARNING, "Accepting client connection: accept: %s", strerror(err));
}

int listenToUnixSocket(char **err) {
    static char errbuf[256];
    struct sockaddr_un sun;
    if (!server.unixsocket) return C_OK;
    if (strlen(server.unixsocket) >= sizeof(sun.sun_path)) {
        snprintf(errbuf, sizeof(errbuf), "DREDIS_UNIXSOCKET path is too long (max %zu bytes)", sizeof(sun.sun_path) - 1);
        *err = errbuf;
        return C_ERR;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, server.unixsocket);
    unlink(server.unixsocket); /* a stale socket from a previous run */
    server.unix_listener = evconnlistener_new_bind(server.base, acceptCallback, NULL,
                                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 511,
                                                   (struct sockaddr *)&sun, (int)sizeof(sun));
    if (!server.unix_listener) {
        snprintf(errbuf, sizeof(errbuf), "cannot listen on unix socket %s: %s", server.unixsocket, strerror(errno));
        *err = errbuf;
        return C_ERR;
    }
    if (server.unixsocketperm && chmod(server.unixsocket, (mode_t)server.unixsocketperm) < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot set permissions of unix socket %s: %s", server.unixsocket,
                 strerror(errno));
        *err = errbuf;
        return C_ERR;
    }
    evconnlistener_set_error_cb(server.unix_listener, acceptErrorCallback);
    return C_OK;
}

int listenToPort(char **err) {
    static char errbuf[256];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t sslen;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, server.host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)server.port);
        sslen = sizeof(*s4);
    } else if (inet_pton(AF_INET6, server.host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)server.port);
        sslen = sizeof(*s6);
    } else {
        snprintf(errbuf, sizeof(errbuf), "DREDIS_HOST '%s' is not an IPv4 or IPv6 address", server.host);
        *err = errbuf;
        return C_ERR;
    }
    server.listener = evconnlistener_new_bind(server.base, acceptCallback, NULL,
                                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511,
                                              (struct sockaddr *)&ss, (int)sslen);
    if (!server.listener) {
        snprintf(errbuf, sizeof(errbuf), "cannot listen on %s:%d: %s", server.host, server.port, strerror(errno));
        *err = errbuf;
        return C_ERR;
    }
    evconnlistener_set_error_cb(server.listener, acceptErrorCallback);
    return C_OK;
}

/* CONFIG SET port, as Redis's changeListenPort(): listen on the new port
 * (0: on no TCP port) before the old one is closed; on failure the old
 * stays. Connected clients stay connected. */
int changeListenPort(int port) {
    struct evconnlistener *old = server.listener;
    int oldport = server.port;
    server.listener = NULL;
    server.port = port;
    char *err;
    if (port && listenToPort(&err) != C_OK) {
        serverLog(LL_WARNING, "Could not change the port to %d: %s", port, err);
        server.listener = old;
        server.port = oldport;
        return C_ERR;
    }
    if (old) {
        forgetPausedListener(old);
        evconnlistener_free(old);
    }
    if (port) serverLog(LL_NOTICE, "Listening on %s:%d", server.host, port);
    else serverLog(LL_NOTICE, "No longer listening on TCP (port %d was closed)", oldport);
    return C_OK;
}

/* ------------------------------------------------------------------------ */
/* Events while a script runs past its time limit                           */
/* ------------------------------------------------------------------------ */

static client *findClientById(uint64_t id) {
    for (client *c = server.clients; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

/* One non-blocking pass over the listener and every client not protected
 * (the script's caller is): accept new connections, read and dispatch input
 * (processCommand answers -BUSY to all but allow_busy commands) and write
 * replies. It is done by hand because libevent cannot re-enter its loop from
 * inside a callback, which is where a script runs; the bufferevents stay
 * consistent since only their evbuffers are used. */
void processEventsWhileBlocked(void) {
    size_t cap = server.nclients + 2, n = 0;
    struct pollfd *pfd = zmalloc(sizeof(*pfd) * cap);
    client **who = zmalloc(sizeof(*who) * cap);
    uint64_t *ids = zmalloc(sizeof(*ids) * cap);
    struct evconnlistener *listeners[] = {server.listener, server.unix_listener};
    for (int l = 0; l < 2; l++) {
        if (!listeners[l]) continue;
        pfd[n] = (struct pollfd){.fd = evconnlistener_get_fd(listeners[l]), .events = POLLIN};
        who[n] = NULL;
        ids[n++] = (uint64_t)l; /* which listener */
    }
    for (client *c = server.clients; c && n < cap; c = c->next) {
        if (!c->bev || (c->flags & (CLIENT_PROTECTED | CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY | CLIENT_OUTPUT_PAUSED)))
            continue;
        pfd[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        who[n] = c;
        ids[n++] = c->id;
    }
    unsigned long freed = clients_freed;
    if (poll(pfd, (nfds_t)n, 0) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (!pfd[i].revents) continue;
            if (!who[i]) {
                for (;;) {
                    struct sockaddr_storage ss;
                    socklen_t sl = sizeof(ss);
                    int fd = accept4(pfd[i].fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    acceptCallback(listeners[ids[i]], fd, (struct sockaddr *)&ss, (int)sl, NULL);
                }
                continue;
            }
            /* a client freed since the snapshot is looked up again by id */
            client *c = freed == clients_freed ? who[i] : findClientById(ids[i]);
            if (!c || (c->flags & CLIENT_PROTECTED)) continue;
            /* a bufferevent keeps the end of its input frozen outside its
             * own reads, and the start of its output outside its writes */
            struct evbuffer *in = bufferevent_get_input(c->bev);
            evbuffer_unfreeze(in, 0);
            int r = evbuffer_read(in, c->fd, 16 * 1024);
            evbuffer_freeze(in, 0);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                freeClient(c);
                continue;
            }
            if (r > 0) {
                server.stat_net_input_bytes += r;
                processInputBuffer(c);
            }
        }
    }
    storeWriteHeldCommit(); /* no reply before its command's COMMIT */
    flushHeldReplies(); /* DREDIS_FSYNC=always: sync, then release replies */
    for (client *c = server.clients, *next; c; c = next) {
        next = c->next;
        if (!c->bev || (c->flags & CLIENT_PROTECTED)) continue;
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (evbuffer_get_length(out) > 0) {
            evbuffer_unfreeze(out, 1);
            evbuffer_write(out, c->fd);
            evbuffer_freeze(out, 1);
        }
        if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && evbuffer_get_length(out) == 0) freeClient(c);
        else resumeIfDrained(c);
    }
    zfree(pfd);
    zfree(who);
    zfree(ids);
}
