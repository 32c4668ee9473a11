/* pubsub.c - publish/subscribe: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
 * PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT, the messages
 * (arrays in RESP2, push messages in RESP3), and the output limit that keeps
 * a subscriber who never reads from taking the server's memory. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <strings.h>

/* channel, pattern or shard channel -> array of subscribed clients */
typedef struct subscribers {
    client **items;
    int count;
} subscribers;

/* The three kinds of subscription, as in Redis 7.0. In a server that is not
 * a cluster, shard channels are plain channels of their own namespace. */
#define PS_CHANNEL 0
#define PS_PATTERN 1
#define PS_SHARD 2

static dict *registry[3]; /* by kind: name -> subscribers */

static const struct {
    const char *sub, *unsub;
} kindNames[3] = {{"subscribe", "unsubscribe"}, {"psubscribe", "punsubscribe"}, {"ssubscribe", "sunsubscribe"}};

void pubsubInit(void) {
    for (int k = 0; k < 3; k++) registry[k] = dictCreate();
}

static dict **clientDict(client *c, int kind) {
    return kind == PS_CHANNEL ? &c->pubsub_channels : kind == PS_PATTERN ? &c->pubsub_patterns
                                                                       : &c->pubsub_shard_channels;
}

static int dictCount(dict *d) { return d ? (int)dictSize(d) : 0; }

/* Every subscription of any kind: while it is not zero the client is in
 * subscribed mode (RESP2 restrictions, PING's reply). */
int clientSubscriptionsCount(client *c) {
    return dictCount(c->pubsub_channels) + dictCount(c->pubsub_patterns) + dictCount(c->pubsub_shard_channels);
}

/* The count that a (un)subscribe confirmation reports: channels and
 * patterns together, shard channels on their own (as Redis). */
static int confirmCount(client *c, int kind) {
    if (kind == PS_SHARD) return dictCount(c->pubsub_shard_channels);
    return dictCount(c->pubsub_channels) + dictCount(c->pubsub_patterns);
}

/* Pub/Sub output is pushed to the client even under CLIENT REPLY OFF/SKIP,
 * as Redis 7.0 does for its "pushing" replies. */
static int beginPush(client *c) {
    int saved = c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP);
    c->flags &= ~saved;
    return saved;
}

static void endPush(client *c, int saved) { c->flags |= saved; }

static void addReplyPushLen(client *c, long len) {
    if (c->resp == 3) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), ">%ld\r\n", len);
        addReply(c, buf, (size_t)n);
    } else {
        addReplyArrayLen(c, len);
    }
}

/* (un)subscribe confirmations: [kind, name-or-nil, count] */
static void addReplyPubsubConfirm(client *c, int kind, int unsub, const char *name, size_t len) {
    int saved = beginPush(c);
    addReplyPushLen(c, 3);
    addReplyBulkCString(c, unsub ? kindNames[kind].unsub : kindNames[kind].sub);
    if (name) addReplyBulk(c, name, len);
    else addReplyNull(c);
    addReplyLongLong(c, confirmCount(c, kind));
    endPush(c, saved);
}

static void subscribersAdd(dict *d, const char *name, size_t len, client *c) {
    subscribers *s = dictFetch(d, name, len);
    if (!s) {
        s = zcalloc(sizeof(*s));
        dictAdd(d, name, len, s);
    }
    s->items = zrealloc(s->items, sizeof(client *) * (size_t)(s->count + 1));
    s->items[s->count++] = c;
}

static void subscribersRemove(dict *d, const char *name, size_t len, client *c) {
    subscribers *s = dictFetch(d, name, len);
    if (!s) return;
    for (int i = 0; i < s->count; i++) {
        if (s->items[i] == c) {
            memmove(&s->items[i], &s->items[i + 1], sizeof(client *) * (size_t)(s->count - i - 1));
            s->count--;
            break;
        }
    }
    if (s->count == 0) {
        dictDelete(d, name, len);
        zfree(s->items);
        zfree(s);
    }
}

static int subscribe(client *c, int kind, sds name) {
    dict **mine = clientDict(c, kind);
    if (!*mine) *mine = dictCreate();
    int added = dictAdd(*mine, name, sdslen(name), NULL) != NULL;
    if (added) subscribersAdd(registry[kind], name, sdslen(name), c);
    addReplyPubsubConfirm(c, kind, 0, name, sdslen(name));
    return added;
}

static int unsubscribe(client *c, int kind, const char *name, size_t len, int notify) {
    dict *mine = *clientDict(c, kind);
    int removed = 0;
    if (mine && dictFind(mine, name, len)) {
        dictDelete(mine, name, len);
        subscribersRemove(registry[kind], name, len, c);
        removed = 1;
    }
    if (notify) addReplyPubsubConfirm(c, kind, 1, name, len);
    return removed;
}

/* Unsubscribe from every channel, pattern or shard channel (kind 0, 1, 2);
 * with notify, one reply each (or a single one with a nil name when there
 * were none). */
int pubsubUnsubscribeAll(client *c, int kind, int notify) {
    dict *mine = *clientDict(c, kind);
    int count = 0;
    if (mine) {
        dictIterator it;
        dictEntry *e;
        dictIterInit(&it, mine);
        while ((e = dictNext(&it)) != NULL) {
            sds name = sdsdup(e->key);
            count += unsubscribe(c, kind, name, sdslen(name), notify);
            sdsfree(name);
        }
    }
    if (notify && count == 0) addReplyPubsubConfirm(c, kind, 1, NULL, 0);
    return count;
}

void freeClientPubsub(client *c) {
    for (int kind = 0; kind < 3; kind++) {
        pubsubUnsubscribeAll(c, kind, 0);
        dict **mine = clientDict(c, kind);
        dictRelease(*mine, NULL);
        *mine = NULL;
    }
}

/* A subscriber whose unread output passed its class's limits
 * (client-output-buffer-limit pubsub, client_limits.c) is disconnected. */
static void enforceOutputLimit(client *c) {
    if (!c->bev || (c->flags & CLIENT_CLOSE_ASAP)) return;
    /* what waits in the socket's buffer, and (DREDIS_FSYNC=always) what is
     * held for the next sync */
    size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev)) + (c->held ? evbuffer_get_length(c->held) : 0);
    closeClientOnOutputLimit(c, pending);
}

/* Where a client's replies go when none is being built aside. */
static struct evbuffer *clientOutput(client *c) {
    if (c->held) return c->held;
    return c->bev ? bufferevent_get_output(c->bev) : c->out;
}

static void addReplyMessage(client *c, const char *type, const char *pat, size_t plen, const char *channel,
                            size_t clen, const char *msg, size_t mlen) {
    int saved = beginPush(c);
    /* A message for the client whose command publishes it (a keyspace
     * event, in RESP3) while that command builds its reply aside goes out
     * before the reply, not into the middle of it. */
    struct evbuffer *out = c->out;
    c->out = clientOutput(c);
    addReplyPushLen(c, pat ? 4 : 3);
    addReplyBulkCString(c, type);
    if (pat) addReplyBulk(c, pat, plen);
    addReplyBulk(c, channel, clen);
    addReplyBulk(c, msg, mlen);
    c->out = out;
    endPush(c, saved);
    enforceOutputLimit(c);
}

static long long publishToKind(int kind, const char *channel, size_t clen, const char *msg, size_t mlen) {
    long long receivers = 0;
    subscribers *s = dictFetch(registry[kind], channel, clen);
    if (!s) return 0;
    for (int i = 0; i < s->count; i++) {
        addReplyMessage(s->items[i], kind == PS_SHARD ? "smessage" : "message", NULL, 0, channel, clen, msg, mlen);
        receivers++;
    }
    return receivers;
}

long long pubsubPublishMessage(const char *channel, size_t clen, const char *msg, size_t mlen) {
    long long receivers = publishToKind(PS_CHANNEL, channel, clen, msg, mlen);
    if (dictSize(registry[PS_PATTERN])) {
        dictIterator it;
        dictEntry *e;
        dictIterInit(&it, registry[PS_PATTERN]);
        while ((e = dictNext(&it)) != NULL) {
            if (!stringmatchlen(e->key, (int)sdslen(e->key), channel, (int)clen, 0)) continue;
            subscribers *ps = e->val;
            for (int i = 0; i < ps->count; i++) {
                addReplyMessage(ps->items[i], "pmessage", e->key, sdslen(e->key), channel, clen, msg, mlen);
                receivers++;
            }
        }
    }
    return receivers;
}

static void subscribeCommand(client *c) {
    for (int j = 1; j < c->argc; j++) subscribe(c, PS_CHANNEL, c->argv[j]);
}

static void psubscribeCommand(client *c) {
    for (int j = 1; j < c->argc; j++) subscribe(c, PS_PATTERN, c->argv[j]);
}

static void ssubscribeCommand(client *c) {
    /* Redis refuses it to a client that expects one reply per command, as a
     * transaction's EXEC does. */
    if (c->flags & CLIENT_EXECUTING) {
        addReplyError(c, "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    for (int j = 1; j < c->argc; j++) subscribe(c, PS_SHARD, c->argv[j]);
}

static void unsubscribeKind(client *c, int kind) {
    if (c->argc == 1) pubsubUnsubscribeAll(c, kind, 1);
    else
        for (int j = 1; j < c->argc; j++) unsubscribe(c, kind, c->argv[j], sdslen(c->argv[j]), 1);
}

static void unsubscribeCommand(client *c) { unsubscribeKind(c, PS_CHANNEL); }
static void punsubscribeCommand(client *c) { unsubscribeKind(c, PS_PATTERN); }
static void sunsubscribeCommand(client *c) { unsubscribeKind(c, PS_SHARD); }

/* PUBLISH and SPUBLISH reach the replicas' subscribers too, as in Redis. */
static void publishCommand(client *c) {
    forceReplicaPropagation(c); /* as Redis: not in the AOF */
    addReplyLongLong(c, pubsubPublishMessage(c->argv[1], sdslen(c->argv[1]), c->argv[2], sdslen(c->argv[2])));
}

static void spublishCommand(client *c) {
    forceReplicaPropagation(c);
    addReplyLongLong(c, publishToKind(PS_SHARD, c->argv[1], sdslen(c->argv[1]), c->argv[2], sdslen(c->argv[2])));
}

static void listChannels(client *c, int kind) {
    if (c->argc > 3) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    sds pat = c->argc == 3 ? c->argv[2] : NULL;
    void *len = addReplyDeferredLen(c);
    long n = 0;
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, registry[kind]);
    while ((e = dictNext(&it)) != NULL) {
        if (pat && !stringmatchlen(pat, (int)sdslen(pat), e->key, (int)sdslen(e->key), 0)) continue;
        addReplyBulk(c, e->key, sdslen(e->key));
        n++;
    }
    setDeferredArrayLen(c, len, n);
}

static void countSubscribers(client *c, int kind) {
    /* a flat array of name, count pairs in RESP3 too, as Redis */
    addReplyArrayLen(c, (long)(c->argc - 2) * 2);
    for (int j = 2; j < c->argc; j++) {
        subscribers *s = dictFetch(registry[kind], c->argv[j], sdslen(c->argv[j]));
        addReplyBulk(c, c->argv[j], sdslen(c->argv[j]));
        addReplyLongLong(c, s ? s->count : 0);
    }
}

static void pubsubChannelsCommand(client *c) { listChannels(c, PS_CHANNEL); }
static void pubsubShardchannelsCommand(client *c) { listChannels(c, PS_SHARD); }
static void pubsubNumsubCommand(client *c) { countSubscribers(c, PS_CHANNEL); }
static void pubsubShardnumsubCommand(client *c) { countSubscribers(c, PS_SHARD); }
static void pubsubNumpatCommand(client *c) { addReplyLongLong(c, (long long)dictSize(registry[PS_PATTERN])); }

static void pubsubHelpCommand(client *c) {
    static const char *help[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

static void pubsubCommand(client *c) { (void)c; }

/* In RESP2 a subscribed client may only run these. */
int pubsubAllowedWhileSubscribed(const redisCommand *cmd) {
    return cmd->proc == subscribeCommand || cmd->proc == unsubscribeCommand || cmd->proc == psubscribeCommand ||
           cmd->proc == punsubscribeCommand || cmd->proc == ssubscribeCommand || cmd->proc == sunsubscribeCommand ||
           cmd->proc == pingCommand || cmd->proc == quitCommand ||
           cmd->proc == resetCommand;
}

static redisCommand pubsubSubcommands[] = {
    {"channels", pubsubChannelsCommand, -2, "pubsub loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"help", pubsubHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"numpat", pubsubNumpatCommand, 2, "pubsub loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"numsub", pubsubNumsubCommand, -2, "pubsub loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"shardchannels", pubsubShardchannelsCommand, -2, "pubsub loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"shardnumsub", pubsubShardnumsubCommand, -2, "pubsub loading stale", "pubsub slow", 0, 0, 0, NULL},
    {NULL}};

redisCommand pubsubCommandTable[] = {
    {"subscribe", subscribeCommand, -2, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"unsubscribe", unsubscribeCommand, -1, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"psubscribe", psubscribeCommand, -2, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"punsubscribe", punsubscribeCommand, -1, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, NULL},
    {"publish", publishCommand, 3, "pubsub loading stale fast may_replicate", "pubsub fast", 0, 0, 0, NULL},
    {"ssubscribe", ssubscribeCommand, -2, "pubsub noscript loading stale", "pubsub slow", 1, -1, 1, NULL},
    {"sunsubscribe", sunsubscribeCommand, -1, "pubsub noscript loading stale", "pubsub slow", 1, -1, 1, NULL},
    {"spublish", spublishCommand, 3, "pubsub loading stale fast may_replicate", "pubsub fast", 1, 1, 1, NULL},
    {"pubsub", pubsubCommand, -2, "", "slow", 0, 0, 0, pubsubSubcommands},
    {NULL}};
