/* pubsub.c - publish/subscribe: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
 * PUNSUBSCRIBE, PUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT, the messages
 * (arrays in RESP2, push messages in RESP3), and the output limit that keeps
 * a subscriber who never reads from taking the server's memory. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <strings.h>

/* channel or pattern -> array of subscribed clients */
typedef struct subscribers {
    client **items;
    int count;
} subscribers;

static dict *channels;
static dict *patterns;

#define PUBSUB_OUTPUT_HARD_LIMIT (32LL * 1024 * 1024)

void pubsubInit(void) {
    channels = dictCreate();
    patterns = dictCreate();
}

int clientSubscriptionsCount(client *c) {
    return (c->pubsub_channels ? (int)dictSize(c->pubsub_channels) : 0) +
           (c->pubsub_patterns ? (int)dictSize(c->pubsub_patterns) : 0);
}

static void addReplyPushLen(client *c, long len) {
    if (c->resp == 3) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), ">%ld\r\n", len);
        addReply(c, buf, (size_t)n);
    } else {
        addReplyArrayLen(c, len);
    }
}

/* subscribe/unsubscribe confirmations: [kind, name-or-nil, count] */
static void addReplyPubsubConfirm(client *c, const char *kind, const char *name, size_t len) {
    addReplyPushLen(c, 3);
    addReplyBulkCString(c, kind);
    if (name) addReplyBulk(c, name, len);
    else addReplyNull(c);
    addReplyLongLong(c, clientSubscriptionsCount(c));
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

/* kind 0: channel, 1: pattern */
static int subscribe(client *c, int pattern, sds name) {
    dict **mine = pattern ? &c->pubsub_patterns : &c->pubsub_channels;
    if (!*mine) *mine = dictCreate();
    int added = dictAdd(*mine, name, sdslen(name), NULL) != NULL;
    if (added) subscribersAdd(pattern ? patterns : channels, name, sdslen(name), c);
    addReplyPubsubConfirm(c, pattern ? "psubscribe" : "subscribe", name, sdslen(name));
    return added;
}

static int unsubscribe(client *c, int pattern, const char *name, size_t len, int notify) {
    dict *mine = pattern ? c->pubsub_patterns : c->pubsub_channels;
    int removed = 0;
    if (mine && dictFind(mine, name, len)) {
        dictDelete(mine, name, len);
        subscribersRemove(pattern ? patterns : channels, name, len, c);
        removed = 1;
    }
    if (notify) addReplyPubsubConfirm(c, pattern ? "punsubscribe" : "unsubscribe", name, len);
    return removed;
}

/* Unsubscribe from every channel (or pattern); with notify, one reply each
 * (or a single one with a nil name when there were none). */
int pubsubUnsubscribeAll(client *c, int pattern, int notify) {
    dict *mine = pattern ? c->pubsub_patterns : c->pubsub_channels;
    int count = 0;
    if (mine) {
        dictIterator it;
        dictEntry *e;
        dictIterInit(&it, mine);
        while ((e = dictNext(&it)) != NULL) {
            sds name = sdsdup(e->key);
            count += unsubscribe(c, pattern, name, sdslen(name), notify);
            sdsfree(name);
        }
    }
    if (notify && count == 0) addReplyPubsubConfirm(c, pattern ? "punsubscribe" : "unsubscribe", NULL, 0);
    return count;
}

void freeClientPubsub(client *c) {
    pubsubUnsubscribeAll(c, 0, 0);
    pubsubUnsubscribeAll(c, 1, 0);
    dictRelease(c->pubsub_channels, NULL);
    dictRelease(c->pubsub_patterns, NULL);
    c->pubsub_channels = c->pubsub_patterns = NULL;
}

/* A subscriber whose unread output passed the hard limit is disconnected,
 * as Redis's client-output-buffer-limit pubsub 32mb. */
static void enforceOutputLimit(client *c) {
    if (!c->bev || (c->flags & CLIENT_CLOSE_ASAP)) return;
    if ((long long)evbuffer_get_length(c->out) > PUBSUB_OUTPUT_HARD_LIMIT) {
        serverLog(LL_WARNING, "Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                  (unsigned long long)c->id, c->addr);
        closeClientAsync(c);
    }
}

long long pubsubPublishMessage(const char *channel, size_t clen, const char *msg, size_t mlen) {
    long long receivers = 0;
    subscribers *s = dictFetch(channels, channel, clen);
    if (s) {
        for (int i = 0; i < s->count; i++) {
            client *c = s->items[i];
            addReplyPushLen(c, 3);
            addReplyBulkCString(c, "message");
            addReplyBulk(c, channel, clen);
            addReplyBulk(c, msg, mlen);
            enforceOutputLimit(c);
            receivers++;
        }
    }
    if (dictSize(patterns)) {
        dictIterator it;
        dictEntry *e;
        dictIterInit(&it, patterns);
        while ((e = dictNext(&it)) != NULL) {
            if (!stringmatchlen(e->key, (int)sdslen(e->key), channel, (int)clen, 0)) continue;
            subscribers *ps = e->val;
            for (int i = 0; i < ps->count; i++) {
                client *c = ps->items[i];
                addReplyPushLen(c, 4);
                addReplyBulkCString(c, "pmessage");
                addReplyBulk(c, e->key, sdslen(e->key));
                addReplyBulk(c, channel, clen);
                addReplyBulk(c, msg, mlen);
                enforceOutputLimit(c);
                receivers++;
            }
        }
    }
    return receivers;
}

static void subscribeCommand(client *c) {
    for (int j = 1; j < c->argc; j++) subscribe(c, 0, c->argv[j]);
}

static void psubscribeCommand(client *c) {
    for (int j = 1; j < c->argc; j++) subscribe(c, 1, c->argv[j]);
}

static void unsubscribeCommand(client *c) {
    if (c->argc == 1) pubsubUnsubscribeAll(c, 0, 1);
    else
        for (int j = 1; j < c->argc; j++) unsubscribe(c, 0, c->argv[j], sdslen(c->argv[j]), 1);
}

static void punsubscribeCommand(client *c) {
    if (c->argc == 1) pubsubUnsubscribeAll(c, 1, 1);
    else
        for (int j = 1; j < c->argc; j++) unsubscribe(c, 1, c->argv[j], sdslen(c->argv[j]), 1);
}

static void publishCommand(client *c) {
    addReplyLongLong(c, pubsubPublishMessage(c->argv[1], sdslen(c->argv[1]), c->argv[2], sdslen(c->argv[2])));
}

static void pubsubChannelsCommand(client *c) {
    sds pat = c->argc == 3 ? c->argv[2] : NULL;
    void *len = addReplyDeferredLen(c);
    long n = 0;
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, channels);
    while ((e = dictNext(&it)) != NULL) {
        if (pat && !stringmatchlen(pat, (int)sdslen(pat), e->key, (int)sdslen(e->key), 0)) continue;
        addReplyBulk(c, e->key, sdslen(e->key));
        n++;
    }
    setDeferredArrayLen(c, len, n);
}

static void pubsubNumsubCommand(client *c) {
    addReplyMapLen(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        subscribers *s = dictFetch(channels, c->argv[j], sdslen(c->argv[j]));
        addReplyBulk(c, c->argv[j], sdslen(c->argv[j]));
        addReplyLongLong(c, s ? s->count : 0);
    }
}

static void pubsubNumpatCommand(client *c) { addReplyLongLong(c, (long long)dictSize(patterns)); }

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
        "HELP",
        "    Print this help.",
    };
    addReplyArrayLen(c, (long)(sizeof(help) / sizeof(help[0])));
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) addReplyStatus(c, help[i]);
}

static void pubsubCommand(client *c) { (void)c; }

/* In RESP2 a subscribed client may only run these. */
int pubsubAllowedWhileSubscribed(const redisCommand *cmd) {
    return cmd->proc == subscribeCommand || cmd->proc == unsubscribeCommand || cmd->proc == psubscribeCommand ||
           cmd->proc == punsubscribeCommand || cmd->proc == pingCommand || cmd->proc == quitCommand ||
           cmd->proc == resetCommand;
}

static redisCommand pubsubSubcommands[] = {
    {"channels", pubsubChannelsCommand, -2, "pubsub loading stale", "pubsub slow", 0, 0, 0, "pubsub", "2.8.0",
     "Returns the active channels.", "O(N) where N is the number of active channels", NULL},
    {"help", pubsubHelpCommand, 2, "loading stale", "slow", 0, 0, 0, "pubsub", "6.2.0",
     "Returns helpful text about the different subcommands.", "O(1)", NULL},
    {"numpat", pubsubNumpatCommand, 2, "pubsub loading stale", "pubsub slow", 0, 0, 0, "pubsub", "2.8.0",
     "Returns a count of unique pattern subscriptions.", "O(1)", NULL},
    {"numsub", pubsubNumsubCommand, -2, "pubsub loading stale", "pubsub slow", 0, 0, 0, "pubsub", "2.8.0",
     "Returns a count of subscribers to channels.", "O(N) for the number of requested channels", NULL},
    {NULL}};

redisCommand pubsubCommandTable[] = {
    {"subscribe", subscribeCommand, -2, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, "pubsub", "2.0.0",
     "Listens for messages published to channels.", "O(N) where N is the number of channels to subscribe to.", NULL},
    {"unsubscribe", unsubscribeCommand, -1, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, "pubsub",
     "2.0.0", "Stops listening to messages posted to channels.", "O(N) where N is the number of channels.", NULL},
    {"psubscribe", psubscribeCommand, -2, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, "pubsub",
     "2.0.0", "Listens for messages published to channels that match one or more patterns.",
     "O(N) where N is the number of patterns to subscribe to.", NULL},
    {"punsubscribe", punsubscribeCommand, -1, "pubsub noscript loading stale", "pubsub slow", 0, 0, 0, "pubsub",
     "2.0.0", "Stops listening to messages published to channels that match one or more patterns.",
     "O(N) where N is the number of patterns.", NULL},
    {"publish", publishCommand, 3, "pubsub loading stale fast may_replicate", "pubsub fast", 0, 0, 0, "pubsub",
     "2.0.0", "Posts a message to a channel.",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of "
     "subscribed patterns (by any client).",
     NULL},
    {"pubsub", pubsubCommand, -2, "", "slow", 0, 0, 0, "pubsub", "2.8.0", "A container for Pub/Sub commands.",
     "Depends on subcommand.", pubsubSubcommands},
    {NULL}};
