/* client_limits.c - what a client's output may cost the server: the
 * client-output-buffer-limit classes (normal, replica, pubsub; hard and soft
 * limits with seconds), their check and Redis's CONFIG syntax. (The
 * backpressure that pauses a client before its replies pile up is in
 * networking.c; protected mode in protected_mode.c.) */
#include "server.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Redis 7.0's defaults, in CLIENT_TYPE_* order */
clientBufferLimits clientOutputLimitDefaults[CLIENT_TYPE_OBUF_COUNT] = {
    {0, 0, 0},                                       /* normal */
    {256ULL * 1024 * 1024, 64ULL * 1024 * 1024, 60}, /* slave */
    {32ULL * 1024 * 1024, 8ULL * 1024 * 1024, 60},   /* pubsub */
};

static const char *classNames[CLIENT_TYPE_OBUF_COUNT] = {"normal", "slave", "pubsub"};

/* ------------------------------------------------------------------------ */
/* client-output-buffer-limit                                                */
/* ------------------------------------------------------------------------ */

/* As Redis's getClientType(), for the limits: our master's link counts as
 * a normal client, MONITOR clients (flagged as replicas in Redis) too. */
int clientOutputClass(client *c) {
    if ((c->flags & CLIENT_SLAVE) && !(c->flags & CLIENT_MONITOR)) return CLIENT_TYPE_SLAVE;
    if (clientSubscriptionsCount(c) > 0) return CLIENT_TYPE_PUBSUB;
    return CLIENT_TYPE_NORMAL;
}

/* Redis's checkClientOutputBufferLimits(): the hard limit at once, the
 * soft one when it held for more than its seconds. A replica's hard limit
 * is never below repl-backlog-size (a partial sync would succeed, then the
 * replica be dropped). */
int clientOutputLimitReached(client *c, size_t used) {
    int class = clientOutputClass(c);
    const clientBufferLimits *l = &server.client_obuf_limits[class];
    unsigned long long hard_bytes = l->hard_bytes;
    if (class == CLIENT_TYPE_SLAVE && hard_bytes && (long long)hard_bytes < server.repl_backlog_size)
        hard_bytes = (unsigned long long)server.repl_backlog_size;
    int hard = hard_bytes && used >= hard_bytes;
    int soft = l->soft_bytes && used >= l->soft_bytes;
    if (!soft) {
        c->obuf_soft_limit_reached_time = 0;
    } else {
        long long now = (long long)time(NULL);
        if (c->obuf_soft_limit_reached_time == 0) {
            c->obuf_soft_limit_reached_time = now; /* first seen: the clock starts */
            soft = 0;
        } else if (now - c->obuf_soft_limit_reached_time <= l->soft_seconds) {
            soft = 0;
        }
    }
    return hard || soft;
}

/* Close c when used bytes of pending output pass its class's limits, with
 * Redis's log line: "scheduled to be closed ASAP" when output was added (it
 * is closed on the next loop turn), "closed" from the cron; 1 when closed. */
static int closeIfOverLimit(client *c, size_t used, int from_cron) {
    if (!c->bev || (c->flags & CLIENT_CLOSE_ASAP)) return 0;
    if (!clientOutputLimitReached(c, used)) return 0;
    sds info = clientInfoString(c);
    closeClientAsync(c);
    serverLog(LL_WARNING, from_cron ? "Client %s closed for overcoming of output buffer limits."
                                    : "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
              info);
    sdsfree(info);
    return 1;
}

int closeClientOnOutputLimit(client *c, size_t used) { return closeIfOverLimit(c, used, 0); }

/* As Redis's clientsCron: a soft limit's seconds run out without any new
 * output, so every client is checked once per cron run too. */
void clientsCronOutputLimits(void) {
    for (client *c = server.clients; c; c = c->next) {
        if (!c->bev) continue;
        size_t used;
        if (c->flags & CLIENT_SLAVE) used = replicationPendingStream(c);
        else used = evbuffer_get_length(bufferevent_get_output(c->bev)) + (c->held ? evbuffer_get_length(c->held) : 0);
        closeIfOverLimit(c, used, 1);
    }
}

/* CONFIG SET client-output-buffer-limit "<class> <hard> <soft> <seconds> ...":
 * all or nothing, Redis's reasons. Read as Redis 7.0 reads it: the value
 * split at every single space (two spaces make an empty word, which as a
 * limit or as seconds reads as 0), the limits by its memtoull, the seconds
 * by strtoll into an int (so leading blanks and a sign pass, and a number
 * past 2^31-1 wraps, refused when that is negative). */
const char *setClientOutputLimits(const char *value) {
    const char *err = NULL;
    clientBufferLimits values[CLIENT_TYPE_OBUF_COUNT];
    int given[CLIENT_TYPE_OBUF_COUNT] = {0};
    size_t len = strlen(value);
    int argc = 0;
    sds *argv = NULL;
    if (len) { /* Redis's sdssplitlen(value, len, " ", 1): "" has no words */
        for (size_t i = 0; i < len; i++) argc += value[i] == ' ';
        argc++;
        argv = zmalloc(sizeof(sds) * (size_t)argc);
        const char *w = value;
        for (int k = 0; k < argc; k++) {
            const char *sp = strchr(w, ' ');
            size_t wl = sp ? (size_t)(sp - w) : strlen(w);
            argv[k] = sdsnewlen(w, wl);
            w += wl + 1;
        }
    }
    if (argc % 4) {
        err = "Wrong number of arguments in buffer limit configuration.";
        goto done;
    }
    for (int j = 0; j < argc; j += 4) {
        int class = -1;
        if (!strcasecmp(argv[j], "normal")) class = CLIENT_TYPE_NORMAL;
        else if (!strcasecmp(argv[j], "slave") || !strcasecmp(argv[j], "replica")) class = CLIENT_TYPE_SLAVE;
        else if (!strcasecmp(argv[j], "pubsub")) class = CLIENT_TYPE_PUBSUB;
        if (class < 0) { /* "master" too: Redis refuses it here */
            err = "Invalid client class specified in buffer limit configuration.";
            goto done;
        }
        unsigned long long hard, soft;
        char *end;
        int seconds = (int)strtoll(argv[j + 3], &end, 10);
        if (!parseMemoryAsRedis(argv[j + 1], &hard) || !parseMemoryAsRedis(argv[j + 2], &soft) || seconds < 0 ||
            *end != '\0') {
            err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            goto done;
        }
        values[class] = (clientBufferLimits){hard, soft, seconds};
        given[class] = 1;
    }
    for (int k = 0; k < CLIENT_TYPE_OBUF_COUNT; k++)
        if (given[k]) server.client_obuf_limits[k] = values[k];
done:
    if (argv) sdsfreesplitres(argv, argc);
    return err;
}

sds getClientOutputLimits(void) {
    sds s = sdsempty();
    for (int k = 0; k < CLIENT_TYPE_OBUF_COUNT; k++) {
        const clientBufferLimits *l = &server.client_obuf_limits[k];
        s = sdscatprintf(s, "%s%s %llu %llu %lld", k ? " " : "", classNames[k], l->hard_bytes, l->soft_bytes,
                         l->soft_seconds);
    }
    return s;
}
