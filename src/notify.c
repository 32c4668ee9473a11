/* notify.c - keyspace notifications, as Redis 7.0's notify.c: the classes
 * set by notify-keyspace-events (CONFIG SET, DREDIS_NOTIFY_KEYSPACE_EVENTS)
 * and the publishing of each event on __keyspace@<db>__:<key> (message: the
 * event) and __keyevent@<db>__:<event> (message: the key) through the
 * ordinary Pub/Sub path. Commands call notifyKeyspaceEvent() where Redis
 * does, with Redis's event names. */
#include "server.h"
#include <string.h>

/* The classes of a string such as "KEA", or -1 when a character maps to no
 * class. */
int keyspaceEventsStringToFlags(const char *classes) {
    int flags = 0;
    for (const char *p = classes; *p; p++) {
        switch (*p) {
        case 'A': flags |= NOTIFY_ALL; break;
        case 'g': flags |= NOTIFY_GENERIC; break;
        case '$': flags |= NOTIFY_STRING; break;
        case 'l': flags |= NOTIFY_LIST; break;
        case 's': flags |= NOTIFY_SET; break;
        case 'h': flags |= NOTIFY_HASH; break;
        case 'z': flags |= NOTIFY_ZSET; break;
        case 'x': flags |= NOTIFY_EXPIRED; break;
        case 'e': flags |= NOTIFY_EVICTED; break;
        case 'K': flags |= NOTIFY_KEYSPACE; break;
        case 'E': flags |= NOTIFY_KEYEVENT; break;
        case 't': flags |= NOTIFY_STREAM; break;
        case 'm': flags |= NOTIFY_KEY_MISS; break;
        case 'd': flags |= NOTIFY_MODULE; break;
        case 'n': flags |= NOTIFY_NEW; break;
        default: return -1;
        }
    }
    return flags;
}

/* The canonical string of flags, as CONFIG GET shows it ("KEA" -> "AKE"). */
sds keyspaceEventsFlagsToString(int flags) {
    sds res = sdsempty();
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        res = sdscatlen(res, "A", 1);
    } else {
        if (flags & NOTIFY_GENERIC) res = sdscatlen(res, "g", 1);
        if (flags & NOTIFY_STRING) res = sdscatlen(res, "$", 1);
        if (flags & NOTIFY_LIST) res = sdscatlen(res, "l", 1);
        if (flags & NOTIFY_SET) res = sdscatlen(res, "s", 1);
        if (flags & NOTIFY_HASH) res = sdscatlen(res, "h", 1);
        if (flags & NOTIFY_ZSET) res = sdscatlen(res, "z", 1);
        if (flags & NOTIFY_EXPIRED) res = sdscatlen(res, "x", 1);
        if (flags & NOTIFY_EVICTED) res = sdscatlen(res, "e", 1);
        if (flags & NOTIFY_STREAM) res = sdscatlen(res, "t", 1);
        if (flags & NOTIFY_MODULE) res = sdscatlen(res, "d", 1);
        /* as Redis 7.0: 'n' is not part of "A", yet not shown next to it */
        if (flags & NOTIFY_NEW) res = sdscatlen(res, "n", 1);
    }
    if (flags & NOTIFY_KEYSPACE) res = sdscatlen(res, "K", 1);
    if (flags & NOTIFY_KEYEVENT) res = sdscatlen(res, "E", 1);
    if (flags & NOTIFY_KEY_MISS) res = sdscatlen(res, "m", 1);
    return res;
}

void notifyKeyspaceEventLen(int type, const char *event, const char *key, size_t keylen, int dbid) {
    int flags = server.notify_keyspace_events;
    if (!(flags & type) || !(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT))) return;
    char prefix[48];
    size_t elen = strlen(event);
    if (flags & NOTIFY_KEYSPACE) {
        int n = snprintf(prefix, sizeof(prefix), "__keyspace@%d__:", dbid);
        sds chan = sdscatlen(sdsnewlen(prefix, (size_t)n), key, keylen);
        pubsubPublishMessage(chan, sdslen(chan), event, elen);
        sdsfree(chan);
    }
    if (flags & NOTIFY_KEYEVENT) {
        int n = snprintf(prefix, sizeof(prefix), "__keyevent@%d__:", dbid);
        sds chan = sdscatlen(sdsnewlen(prefix, (size_t)n), event, elen);
        pubsubPublishMessage(chan, sdslen(chan), key, keylen);
        sdsfree(chan);
    }
}

void notifyKeyspaceEvent(int type, const char *event, sds key, int dbid) {
    notifyKeyspaceEventLen(type, event, key, sdslen(key), dbid);
}
