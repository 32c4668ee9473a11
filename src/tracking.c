/* tracking.c - client-side caching (CLIENT TRACKING, CACHING, GETREDIR,
 * TRACKINGINFO) as Redis 7.0 does it.
 *
 * Default mode: after a read-only command of a tracking client, the keys it
 * named are remembered in the tracking table (key name -> ids of clients,
 * across databases, as Redis). When the store reports a change to a key
 * (the key hook, so every write path: commands, scripts, expiry, RENAME,
 * MOVE, RESTORE, a master's stream ...) each client that read it gets one
 * invalidation and the key is forgotten. The table holds at most
 * tracking-table-max-keys keys: past it, keys are dropped with an
 * invalidation, as Redis.
 *
 * BCAST mode: a client names prefixes; every changed key under a prefix is
 * collected and, at the end of the event loop turn, each client of the
 * prefix gets one message listing them (in byte order, as Redis's rax).
 *
 * A flushed or swapped database sends a null invalidation to every tracking
 * client. Messages go as RESP3 "invalidate" pushes, or to the REDIRECT
 * client (as a __redis__:invalidate Pub/Sub message when it speaks RESP2
 * and is subscribed). A message for the client whose command caused it
 * waits until that command has replied, as Redis. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <stdlib.h>

#define TRACK_ON (1 << 0)
#define TRACK_BCAST (1 << 1)
#define TRACK_OPTIN (1 << 2)
#define TRACK_OPTOUT (1 << 3)
#define TRACK_CACHING (1 << 4) /* CLIENT CACHING given for the next command */
#define TRACK_NOLOOP (1 << 5)
#define TRACK_BROKEN_REDIR (1 << 6)

struct trackingState {
    int flags;
    uint64_t redirect;   /* 0: none */
    sds *prefixes;       /* BCAST prefixes, kept in byte order */
    int nprefixes;
};

typedef struct idSet {   /* the clients that read a key */
    uint64_t *ids;
    int count;
} idSet;

typedef struct bcastState {
    client **clients;    /* the BCAST clients of the prefix */
    int nclients;
    dict *keys;          /* changed keys -> the client that changed them last (or NULL) */
} bcastState;

static dict *tracking_table;   /* key -> idSet */
static long long table_items;  /* ids over all keys */
static dict *prefix_table;     /* prefix -> bcastState */
static unsigned long tracking_clients;
static client *current;        /* the client whose command runs (a script's caller) */
static int call_depth;
static int flushed_in_call;    /* the outermost command already sent its null invalidations */
static sds *pending;           /* invalidations for current, sent after its reply: NULL = flush */
static int npending;
static struct event *bcast_ev; /* end of the loop turn: broadcast */

#define CHANNEL "__redis__:invalidate"

static void broadcastEvent(evutil_socket_t fd, short what, void *arg);

void trackingInit(void) {
    tracking_table = dictCreate();
    prefix_table = dictCreate();
    bcast_ev = event_new(server.base, -1, 0, broadcastEvent, NULL);
}

static int trackingFlags(client *c) { return c->tracking ? c->tracking->flags : 0; }

unsigned long trackingClientsCount(void) { return tracking_clients; }

/* INFO stats: tracking_total_keys, tracking_total_items, tracking_total_prefixes */
sds genTrackingInfo(sds info) {
    return sdscatprintf(info,
                        "tracking_total_keys:%zu\r\n"
                        "tracking_total_items:%lld\r\n"
                        "tracking_total_prefixes:%zu\r\n",
                        dictSize(tracking_table), table_items, dictSize(prefix_table));
}

/* CLIENT LIST letters: t tracking, R broken redirect, B broadcast. */
char *trackingClientFlags(client *c, char *p) {
    int f = trackingFlags(c);
    if (f & TRACK_ON) *p++ = 't';
    if (f & TRACK_BROKEN_REDIR) *p++ = 'R';
    if (f & TRACK_BCAST) *p++ = 'B';
    return p;
}

/* ---- messages ---- */

/* Invalidations reach the client even under CLIENT REPLY OFF/SKIP, as
 * Redis's "pushing" replies. */
static void addReplyPushed(client *c, const char *s, size_t len) {
    int saved = c->flags & (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP);
    c->flags &= ~saved;
    addReply(c, s, len);
    c->flags |= saved;
}

/* Send payload (a RESP value: a key array or a null) to c or to the
 * client it redirects to, as Redis's sendTrackingMessage(). */
static void sendTrackingMessage(client *c, const char *payload, size_t len) {
    client *to = c;
    int redirected = 0;
    if (c->tracking->redirect) {
        to = lookupClientByID(c->tracking->redirect);
        if (!to) {
            c->tracking->flags |= TRACK_BROKEN_REDIR;
            if (c->resp > 2) {
                char buf[64];
                int n = snprintf(buf, sizeof(buf), ">2\r\n$21\r\ntracking-redir-broken\r\n:%llu\r\n",
                                 (unsigned long long)c->tracking->redirect);
                addReplyPushed(c, buf, (size_t)n);
            }
            return;
        }
        redirected = 1;
    }
    sds msg;
    if (to->resp > 2) msg = sdsnew(">2\r\n$10\r\ninvalidate\r\n");
    else if (redirected && clientSubscriptionsCount(to) > 0)
        msg = sdsnew("*3\r\n$7\r\nmessage\r\n$20\r\n" CHANNEL "\r\n");
    else return;
    msg = sdscatlen(msg, payload, len);
    addReplyPushed(to, msg, sdslen(msg));
    sdsfree(msg);
}

static sds keyArrayPayload(const char *key, size_t len) {
    sds p = sdscatprintf(sdsempty(), "*1\r\n$%zu\r\n", len);
    p = sdscatlen(p, key, len);
    return sdscatlen(p, "\r\n", 2);
}

static void sendKeyInvalidation(client *c, const char *key, size_t len) {
    sds p = keyArrayPayload(key, len);
    sendTrackingMessage(c, p, sdslen(p));
    sdsfree(p);
}

static void sendFlushInvalidation(client *c) {
    if (c->resp > 2) sendTrackingMessage(c, "_\r\n", 3);
    else sendTrackingMessage(c, "$-1\r\n", 5);
}

static void queueForCurrent(const char *key, size_t len) {
    pending = zrealloc(pending, sizeof(sds) * (size_t)(npending + 1));
    pending[npending++] = key ? sdsnewlen(key, len) : NULL;
}

/* After the outermost command: what it invalidated for its own client. */
static void sendPendingInvalidations(void) {
    for (int i = 0; i < npending; i++) {
        if (current && current->tracking && (current->tracking->flags & TRACK_ON)) {
            if (pending[i]) sendKeyInvalidation(current, pending[i], sdslen(pending[i]));
            else sendFlushInvalidation(current);
        }
        sdsfree(pending[i]);
    }
    zfree(pending);
    pending = NULL;
    npending = 0;
}

/* ---- the tracking table (default mode) ---- */

static void idSetFree(void *v) {
    idSet *s = v;
    if (!s) return;
    zfree(s->ids);
    zfree(s);
}

static void rememberKey(client *c, const char *key, size_t len) {
    idSet *s = dictFetch(tracking_table, key, len);
    if (!s) {
        s = zcalloc(sizeof(*s));
        dictAdd(tracking_table, key, len, s);
    }
    for (int i = 0; i < s->count; i++)
        if (s->ids[i] == c->id) return;
    s->ids = zrealloc(s->ids, sizeof(uint64_t) * (size_t)(s->count + 1));
    s->ids[s->count++] = c->id;
    table_items++;
}

/* The keys a command names (getkeys.c, as for COMMAND GETKEYS). */
static void rememberCommandKeys(client *c, redisCommand *cmd, int argc, sds *argv) {
    keyRef *keys;
    int n = commandKeys(cmd, argv, argc, &keys);
    for (int i = 0; i < n; i++) rememberKey(c, argv[keys[i].pos], sdslen(argv[keys[i].pos]));
    zfree(keys);
}

/* Forget key, invalidating it for every default-mode client that read it;
 * by is the client that changed it (NOLOOP), NULL for the server. */
static void invalidateTrackedKey(client *by, const char *key, size_t len) {
    idSet *s = dictFetch(tracking_table, key, len);
    if (!s) return;
    for (int i = 0; i < s->count; i++) {
        client *t = lookupClientByID(s->ids[i]);
        int f = t ? trackingFlags(t) : 0;
        if (!(f & TRACK_ON) || (f & TRACK_BCAST)) continue;
        if ((f & TRACK_NOLOOP) && t == by) continue;
        if (t == current && call_depth > 0) queueForCurrent(key, len);
        else sendKeyInvalidation(t, key, len);
    }
    table_items -= s->count;
    dictDelete(tracking_table, key, len);
    idSetFree(s);
}

/* Past tracking-table-max-keys: drop keys (invalidated) until under it. */
static void limitTrackingTable(void) {
    if (!server.tracking_table_max_keys) return;
    while (dictSize(tracking_table) > (size_t)server.tracking_table_max_keys) {
        dictIterator it;
        dictIterInit(&it, tracking_table);
        dictEntry *e = dictNext(&it);
        if (!e) break;
        sds key = sdsnewlen(e->key, sdslen(e->key));
        invalidateTrackedKey(NULL, key, sdslen(key));
        sdsfree(key);
    }
}

/* ---- broadcast mode ---- */

static int prefixCovers(const char *prefix, size_t plen, const char *key, size_t klen) {
    return plen <= klen && memcmp(prefix, key, plen) == 0;
}

static void collectForBroadcast(client *by, const char *key, size_t len) {
    dictIterator it;
    dictEntry *e;
    int any = 0;
    dictIterInit(&it, prefix_table);
    while ((e = dictNext(&it)) != NULL) {
        if (!prefixCovers(e->key, sdslen(e->key), key, len)) continue;
        bcastState *bs = e->val;
        dictEntry *k = dictFind(bs->keys, key, len);
        if (k) k->val = by;
        else dictAdd(bs->keys, key, len, by);
        any = 1;
    }
    if (any) event_active(bcast_ev, 0, 0);
}

static int compareKeys(const void *a, const void *b) {
    const dictEntry *x = *(dictEntry *const *)a, *y = *(dictEntry *const *)b;
    size_t lx = sdslen(x->key), ly = sdslen(y->key);
    int r = memcmp(x->key, y->key, lx < ly ? lx : ly);
    return r ? r : (lx < ly ? -1 : lx > ly);
}

/* The keys of bs in byte order, leaving out those skip changed last. */
static sds broadcastPayload(dictEntry **keys, size_t n, client *skip) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (!skip || keys[i]->val != skip) count++;
    if (count == 0) return NULL;
    sds p = sdscatprintf(sdsempty(), "*%zu\r\n", count);
    for (size_t i = 0; i < n; i++) {
        if (skip && keys[i]->val == skip) continue;
        p = sdscatprintf(p, "$%zu\r\n", sdslen(keys[i]->key));
        p = sdscatlen(p, keys[i]->key, sdslen(keys[i]->key));
        p = sdscatlen(p, "\r\n", 2);
    }
    return p;
}

static void broadcastPrefix(bcastState *bs) {
    size_t n = dictSize(bs->keys);
    if (n == 0) return;
    dictEntry **keys = zmalloc(sizeof(dictEntry *) * n);
    dictIterator it;
    dictEntry *e;
    size_t i = 0;
    dictIterInit(&it, bs->keys);
    while ((e = dictNext(&it)) != NULL) keys[i++] = e;
    qsort(keys, n, sizeof(*keys), compareKeys);
    sds all = broadcastPayload(keys, n, NULL);
    for (int j = 0; j < bs->nclients; j++) {
        client *c = bs->clients[j];
        if (c->tracking->flags & TRACK_NOLOOP) {
            sds own = broadcastPayload(keys, n, c);
            if (own) sendTrackingMessage(c, own, sdslen(own));
            sdsfree(own);
        } else {
            sendTrackingMessage(c, all, sdslen(all));
        }
    }
    sdsfree(all);
    zfree(keys);
    dictRelease(bs->keys, NULL);
    bs->keys = dictCreate();
}

static void broadcastEvent(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, prefix_table);
    while ((e = dictNext(&it)) != NULL) broadcastPrefix(e->val);
}

static void addBcastPrefix(client *c, const char *prefix, size_t len) {
    bcastState *bs = dictFetch(prefix_table, prefix, len);
    if (!bs) {
        bs = zcalloc(sizeof(*bs));
        bs->keys = dictCreate();
        dictAdd(prefix_table, prefix, len, bs);
    }
    for (int i = 0; i < bs->nclients; i++)
        if (bs->clients[i] == c) return;
    bs->clients = zrealloc(bs->clients, sizeof(client *) * (size_t)(bs->nclients + 1));
    bs->clients[bs->nclients++] = c;
    struct trackingState *ts = c->tracking;
    int at = 0;
    while (at < ts->nprefixes) {
        size_t l = sdslen(ts->prefixes[at]);
        int r = memcmp(ts->prefixes[at], prefix, l < len ? l : len);
        if (r > 0 || (r == 0 && l > len)) break;
        at++;
    }
    ts->prefixes = zrealloc(ts->prefixes, sizeof(sds) * (size_t)(ts->nprefixes + 1));
    memmove(&ts->prefixes[at + 1], &ts->prefixes[at], sizeof(sds) * (size_t)(ts->nprefixes - at));
    ts->prefixes[at] = sdsnewlen(prefix, len);
    ts->nprefixes++;
}

static void removeBcastClient(client *c) {
    struct trackingState *ts = c->tracking;
    for (int i = 0; i < ts->nprefixes; i++) {
        sds p = ts->prefixes[i];
        bcastState *bs = dictFetch(prefix_table, p, sdslen(p));
        if (bs) {
            for (int j = 0; j < bs->nclients; j++) {
                if (bs->clients[j] == c) {
                    memmove(&bs->clients[j], &bs->clients[j + 1], sizeof(client *) * (size_t)(bs->nclients - j - 1));
                    bs->nclients--;
                    break;
                }
            }
            if (bs->nclients == 0) {
                dictDelete(prefix_table, p, sdslen(p));
                dictRelease(bs->keys, NULL);
                zfree(bs->clients);
                zfree(bs);
            }
        }
        sdsfree(p);
    }
    zfree(ts->prefixes);
    ts->prefixes = NULL;
    ts->nprefixes = 0;
}

/* ---- hooks from the rest of the server ---- */

/* The store's key hook: key changed (in any database, as Redis). */
void trackingKeyChanged(const char *key, size_t len) {
    if (!tracking_clients && dictSize(tracking_table) == 0) return;
    client *by = current;
    if (dictSize(prefix_table)) collectForBroadcast(by, key, len);
    invalidateTrackedKey(by, key, len);
}

/* A database flushed or swapped: every tracking client drops its cache. */
void trackingDbFlushed(void) {
    /* FLUSHALL empties every database, SWAPDB reports two: one message */
    if (call_depth > 0 && flushed_in_call++) return;
    for (client *c = server.clients; c; c = c->next) {
        if (!(trackingFlags(c) & TRACK_ON)) continue;
        if (c == current && call_depth > 0) queueForCurrent(NULL, 0);
        else sendFlushInvalidation(c);
    }
    dictRelease(tracking_table, idSetFree);
    tracking_table = dictCreate();
    table_items = 0;
}

/* serverCron: a table left over its limit by CONFIG SET is trimmed even
 * when no command follows, as Redis. */
void trackingCron(void) {
    if (tracking_clients && call_depth == 0) limitTrackingTable();
}

/* processCommand(), before a command runs or is queued (MULTI), as Redis's
 * trackingLimitUsedSlots() there: with the cron paused (DEBUG PAUSE-CRON)
 * a command queued after CONFIG SET tracking-table-max-keys still gets the
 * invalidations first. */
void trackingBeforeCommand(void) {
    if (tracking_clients && call_depth == 0) limitTrackingTable();
}

/* call(): around every command; nested calls (EXEC, scripts) belong to the
 * outermost client. */
void trackingCallBegin(client *c) {
    if (call_depth == 0) {
        /* as Redis, before the command: invalidations go out at once */
        current = NULL;
        if (tracking_clients) limitTrackingTable();
        current = c;
        flushed_in_call = 0;
    }
    call_depth++;
}

void trackingCallEnd(client *c, redisCommand *cmd) {
    client *caller = current;
    int f = caller ? trackingFlags(caller) : 0;
    if ((cmd->flags & CMD_READONLY) && (f & TRACK_ON) && !(f & TRACK_BCAST) &&
        strcmp(cmd->fullname, "eval_ro") && strcmp(cmd->fullname, "evalsha_ro") &&
        strcmp(cmd->fullname, "fcall_ro") && !(cmd->flags & CMD_PUBSUB)) {
        int optin = f & TRACK_OPTIN, optout = f & TRACK_OPTOUT, caching = f & TRACK_CACHING;
        /* a script's reads: the keys its caller's command declared, as Redis */
        client *src = (caller != c && caller->cmd) ? caller : c;
        if (!((optin && !caching) || (optout && caching)))
            rememberCommandKeys(caller, src->cmd ? src->cmd : cmd, src->argc, src->argv);
    }
    if (--call_depth == 0) {
        sendPendingInvalidations();
        /* CLIENT CACHING applies to the next command (or transaction) only */
        if (c->tracking && !(c->flags & CLIENT_MULTI) && strncmp(cmd->fullname, "client|", 7))
            c->tracking->flags &= ~TRACK_CACHING;
        current = NULL;
    }
}

void trackingFreeClient(client *c) {
    if (!c->tracking) return;
    if (c->tracking->flags & TRACK_ON) tracking_clients--;
    removeBcastClient(c);
    zfree(c->tracking);
    c->tracking = NULL;
    if (current == c) current = NULL;
}

/* ---- CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO ---- */

static void disableTracking(client *c) {
    if (!(trackingFlags(c) & TRACK_ON)) return;
    removeBcastClient(c);
    c->tracking->flags = 0;
    c->tracking->redirect = 0;
    tracking_clients--;
}

/* As Redis: a prefix overlapping one the client has, or one given after
 * it. 0 after replying with the error; as Redis's checkPrefixCollisionsOrReply,
 * an overlap between two given prefixes past the first replies with the
 * error and still lets the command go on. */
/* RESET turns tracking off, as CLIENT TRACKING OFF does */
void trackingDisable(client *c) { disableTracking(c); }

static int checkPrefixes(client *c, sds *prefixes, int n) {
    struct trackingState *ts = c->tracking;
    for (int i = 0; i < n; i++) {
        for (int k = 0; ts && k < ts->nprefixes; k++) {
            size_t l1 = sdslen(ts->prefixes[k]), l2 = sdslen(prefixes[i]);
            if (memcmp(ts->prefixes[k], prefixes[i], l1 < l2 ? l1 : l2) == 0) {
                addReplyErrorFormat(c, "ERR Prefix '%s' overlaps with an existing prefix '%s'. "
                                    "Prefixes for a single client must not overlap.", prefixes[i], ts->prefixes[k]);
                return 0;
            }
        }
        for (int j = i + 1; j < n; j++) {
            size_t l1 = sdslen(prefixes[i]), l2 = sdslen(prefixes[j]);
            if (memcmp(prefixes[i], prefixes[j], l1 < l2 ? l1 : l2) == 0) {
                addReplyErrorFormat(c, "ERR Prefix '%s' overlaps with another provided prefix '%s'. "
                                    "Prefixes for a single client must not overlap.", prefixes[i], prefixes[j]);
                return i;
            }
        }
    }
    return 1;
}

static void enableTracking(client *c, uint64_t redirect, int options, sds *prefixes, int n) {
    if (!c->tracking) c->tracking = zcalloc(sizeof(*c->tracking));
    struct trackingState *ts = c->tracking;
    if (!(ts->flags & TRACK_ON)) tracking_clients++;
    ts->flags = TRACK_ON | (ts->flags & TRACK_CACHING);
    ts->redirect = redirect;
    if (options & TRACK_BCAST) {
        ts->flags |= TRACK_BCAST;
        if (n == 0) addBcastPrefix(c, "", 0);
        for (int i = 0; i < n; i++) addBcastPrefix(c, prefixes[i], sdslen(prefixes[i]));
    }
    ts->flags |= options & (TRACK_OPTIN | TRACK_OPTOUT | TRACK_NOLOOP);
}

/* Checks of CLIENT TRACKING ON against the options and the present mode,
 * in Redis's order; NULL when they pass, else the error. */
static const char *trackingOnError(client *c, int options, int nprefixes) {
    int f = trackingFlags(c);
    if (!(options & TRACK_BCAST) && nprefixes) return "ERR PREFIX option requires BCAST mode to be enabled";
    if ((f & TRACK_ON) && !!(f & TRACK_BCAST) != !!(options & TRACK_BCAST))
        return "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
               "re-enabling it with a different mode.";
    if ((options & TRACK_BCAST) && (options & (TRACK_OPTIN | TRACK_OPTOUT)))
        return "ERR OPTIN and OPTOUT are not compatible with BCAST";
    if ((options & TRACK_OPTIN) && (options & TRACK_OPTOUT))
        return "ERR You can't specify both OPTIN mode and OPTOUT mode";
    if (((options & TRACK_OPTIN) && (f & TRACK_OPTOUT)) || ((options & TRACK_OPTOUT) && (f & TRACK_OPTIN)))
        return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
               "re-enabling it with a different mode.";
    return NULL;
}

/* CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP] */
void clientTrackingCommand(client *c) {
    long long redirect = 0;
    int options = 0, n = 0;
    sds *prefixes = zmalloc(sizeof(sds) * (size_t)c->argc);
    for (int j = 3; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        const char *opt = c->argv[j];
        if (!strcasecmp(opt, "redirect") && more) {
            j++;
            if (redirect != 0) {
                addReplyError(c, "ERR A client can only redirect to a single other client");
                goto done;
            }
            if (getLongLongFromArgOrReply(c, c->argv[j], &redirect, NULL) != C_OK) goto done;
            if (redirect <= 0 || !lookupClientByID((uint64_t)redirect)) {
                addReplyError(c, "ERR The client ID you want redirect to does not exist");
                goto done;
            }
        } else if (!strcasecmp(opt, "bcast")) options |= TRACK_BCAST;
        else if (!strcasecmp(opt, "optin")) options |= TRACK_OPTIN;
        else if (!strcasecmp(opt, "optout")) options |= TRACK_OPTOUT;
        else if (!strcasecmp(opt, "noloop")) options |= TRACK_NOLOOP;
        else if (!strcasecmp(opt, "prefix") && more) prefixes[n++] = c->argv[++j];
        else {
            addReplyErrorSyntax(c);
            goto done;
        }
    }
    if (!strcasecmp(c->argv[2], "on")) {
        const char *err = trackingOnError(c, options, n);
        if (err) {
            addReplyError(c, err);
            goto done;
        }
        if ((options & TRACK_BCAST) && !checkPrefixes(c, prefixes, n)) goto done;
        enableTracking(c, (uint64_t)redirect, options, prefixes, n);
    } else if (!strcasecmp(c->argv[2], "off")) {
        disableTracking(c);
    } else {
        addReplyErrorSyntax(c);
        goto done;
    }
    addReplyOK(c);
done:
    zfree(prefixes);
}

/* CLIENT CACHING YES|NO */
void clientCachingCommand(client *c) {
    int f = trackingFlags(c);
    if (!(f & TRACK_ON)) {
        addReplyError(c, "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
                         "OPTOUT mode enabled");
        return;
    }
    if (!strcasecmp(c->argv[2], "yes")) {
        if (!(f & TRACK_OPTIN)) {
            addReplyError(c, "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
            return;
        }
    } else if (!strcasecmp(c->argv[2], "no")) {
        if (!(f & TRACK_OPTOUT)) {
            addReplyError(c, "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        addReplyErrorSyntax(c);
        return;
    }
    c->tracking->flags |= TRACK_CACHING;
    addReplyOK(c);
}

static long long trackingRedirect(client *c) {
    return (trackingFlags(c) & TRACK_ON) ? (long long)c->tracking->redirect : -1;
}

void clientGetredirCommand(client *c) { addReplyLongLong(c, trackingRedirect(c)); }

void clientTrackinginfoCommand(client *c) {
    int f = trackingFlags(c);
    addReplyMapLen(c, 3);
    addReplyBulkCString(c, "flags");
    const char *names[8];
    int n = 0;
    names[n++] = (f & TRACK_ON) ? "on" : "off";
    if (f & TRACK_BCAST) names[n++] = "bcast";
    if (f & TRACK_OPTIN) {
        names[n++] = "optin";
        if (f & TRACK_CACHING) names[n++] = "caching-yes";
    }
    if (f & TRACK_OPTOUT) {
        names[n++] = "optout";
        if (f & TRACK_CACHING) names[n++] = "caching-no";
    }
    if (f & TRACK_NOLOOP) names[n++] = "noloop";
    if (f & TRACK_BROKEN_REDIR) names[n++] = "broken_redirect";
    addReplySetLen(c, n);
    for (int i = 0; i < n; i++) addReplyBulkCString(c, names[i]);
    addReplyBulkCString(c, "redirect");
    addReplyLongLong(c, trackingRedirect(c));
    addReplyBulkCString(c, "prefixes");
    int np = c->tracking ? c->tracking->nprefixes : 0;
    addReplyArrayLen(c, np);
    for (int i = 0; i < np; i++) addReplyBulk(c, c->tracking->prefixes[i], sdslen(c->tracking->prefixes[i]));
}
