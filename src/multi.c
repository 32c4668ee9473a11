/* multi.c - transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queued
 * commands run back to back in EXEC; WATCHed keys are invalidated through
 * the store's key hook, so any write to them (including expiry, renames and
 * FLUSHDB) makes the next EXEC fail. */
#include "server.h"
#include "dict.h"
#include <string.h>
#include <stdlib.h>

/* (db, key) -> clientList of watchers */
typedef struct clientList {
    client **items;
    int count;
} clientList;

static dict *watched_keys;

static void execCommand(client *c);

static sds watchKeyName(int db, const char *key, size_t len) {
    sds k = sdscatprintf(sdsempty(), "%d:", db);
    return sdscatlen(k, key, len);
}

void freeClientMultiState(client *c) {
    for (int i = 0; i < c->mstate.count; i++) {
        multiCmd *mc = &c->mstate.commands[i];
        for (int j = 0; j < mc->argc; j++) sdsfree(mc->argv[j]);
        zfree(mc->argv);
    }
    zfree(c->mstate.commands);
    c->mstate.commands = NULL;
    c->mstate.count = 0;
    c->mstate.cmd_flags = 0;
    c->mstate.cmd_inv_flags = 0;
}

static void discardTransaction(client *c) {
    freeClientMultiState(c);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    unwatchAllKeys(c);
}

/* EXEC itself was rejected before running (arity, NOAUTH, subscribed
 * mode): as Redis, the transaction, if any, is discarded and the error is
 * reported as an EXECABORT (without its "ERR " code). */
void execCommandAbort(client *c, const char *err) {
    discardTransaction(c);
    if (!strncmp(err, "ERR ", 4)) err += 4;
    addReplyErrorFormat(c, "EXECABORT Transaction discarded because of: %s", err);
}

int isExecCommand(const redisCommand *cmd) { return cmd->proc == execCommand; }

/* The client's argv moves into the queue. */
void queueMultiCommand(client *c, redisCommand *cmd) {
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) return; /* EXEC will fail anyway */
    uint64_t flags = scriptCommandFlags(c, cmd);
    c->mstate.cmd_flags |= flags;
    c->mstate.cmd_inv_flags |= ~flags;
    c->mstate.commands = zrealloc(c->mstate.commands, sizeof(multiCmd) * (size_t)(c->mstate.count + 1));
    multiCmd *mc = &c->mstate.commands[c->mstate.count++];
    mc->argc = c->argc;
    mc->argv = c->argv;
    mc->cmd = cmd;
    c->argv = NULL;
    c->argc = 0;
}

void flagTransaction(client *c) {
    if (c->flags & CLIENT_MULTI) c->flags |= CLIENT_DIRTY_EXEC;
}

static void multiCommand(client *c) {
    if (c->flags & CLIENT_MULTI) {
        addReplyError(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    addReplyOK(c);
}

static void discardCommand(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        addReplyError(c, "ERR DISCARD without MULTI");
        return;
    }
    discardTransaction(c);
    addReplyOK(c);
}

int isDiscardCommand(const redisCommand *cmd) { return cmd->proc == discardCommand; }

/* A watched key that was alive at WATCH time and has expired since. */
static int watchedKeyExpired(client *c) {
    for (int i = 0; i < c->nwatched; i++) {
        watchedKey *wk = &c->watched[i];
        if (wk->expired) continue;
        skey *k;
        if (storeOpenKey(wk->db, wk->key, sdslen(wk->key), &k) != STORE_OK) continue;
        int expired = keyIsExpired(k);
        storeCloseKey(k);
        if (expired) return 1;
    }
    return 0;
}

/* As Redis, permissions are checked again when EXEC runs a queued command:
 * ACL SETUSER may have changed them since it was queued. */
static int execAclRecheck(client *c, redisCommand *cmd) {
    int pos = 0;
    int r = aclCheckCommand(c->user, cmd, c->argv, c->argc, &pos);
    if (r == ACL_OK) return C_OK;
    c->cmd = cmd;
    aclLogDenial(c, NULL, r, ACL_LOG_CTX_MULTI, pos);
    addReplyErrorFormat(c, "NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
                           "EXEC call. This command is no longer allowed for the following reason: %s",
                        r == ACL_DENIED_CMD ? "no permission to execute the command or subcommand"
                        : r == ACL_DENIED_KEY ? "no permission to touch the specified keys"
                                              : "no permission to access one of the channels used as arguments");
    return C_ERR;
}

static void execCommand(client *c) {
    preventCommandPropagation(c); /* replicas get the commands it runs */
    if (!(c->flags & CLIENT_MULTI)) {
        addReplyError(c, "ERR EXEC without MULTI");
        return;
    }
    if (c->flags & CLIENT_DIRTY_EXEC) {
        addReplyError(c, "EXECABORT Transaction discarded because of previous errors.");
        discardTransaction(c);
        return;
    }
    if ((c->flags & CLIENT_DIRTY_CAS) || watchedKeyExpired(c)) {
        addReplyNullArray(c);
        discardTransaction(c);
        return;
    }
    unwatchAllKeys(c); /* as Redis: keys are unwatched before running */
    multiState ms = c->mstate;
    c->mstate.commands = NULL;
    c->mstate.count = 0;
    c->flags &= ~CLIENT_MULTI;
    c->flags |= CLIENT_EXECUTING;
    server.in_exec++;
    int saved_argc = c->argc;
    sds *saved_argv = c->argv;
    redisCommand *execcmd = c->cmd;
    addReplyArrayLen(c, ms.count);
    for (int i = 0; i < ms.count; i++) {
        c->argc = ms.commands[i].argc;
        c->argv = ms.commands[i].argv;
        if (execAclRecheck(c, ms.commands[i].cmd) == C_OK) call(c, ms.commands[i].cmd);
        ms.commands[i].argc = c->argc; /* a command may have rewritten its argv */
        ms.commands[i].argv = c->argv;
    }
    c->argc = saved_argc;
    c->argv = saved_argv;
    c->cmd = execcmd;
    c->flags &= ~CLIENT_EXECUTING;
    server.in_exec--;
    c->mstate = ms;
    freeClientMultiState(c);
}

static void watchKey(client *c, int db, sds key) {
    for (int i = 0; i < c->nwatched; i++)
        if (c->watched[i].db == db && sdscmp(c->watched[i].key, key) == 0) return;
    sds wk = watchKeyName(db, key, sdslen(key));
    clientList *cl = dictFetch(watched_keys, wk, sdslen(wk));
    if (!cl) {
        cl = zcalloc(sizeof(*cl));
        dictAdd(watched_keys, wk, sdslen(wk), cl);
    }
    sdsfree(wk);
    cl->items = zrealloc(cl->items, sizeof(client *) * (size_t)(cl->count + 1));
    cl->items[cl->count++] = c;
    c->watched = zrealloc(c->watched, sizeof(watchedKey) * (size_t)(c->nwatched + 1));
    watchedKey *w = &c->watched[c->nwatched++];
    w->db = db;
    w->key = sdsdup(key);
    skey *k;
    w->expired = 0;
    if (storeOpenKey(db, key, sdslen(key), &k) == STORE_OK) {
        w->expired = keyIsExpired(k);
        storeCloseKey(k);
    }
}

void unwatchAllKeys(client *c) {
    for (int i = 0; i < c->nwatched; i++) {
        watchedKey *w = &c->watched[i];
        sds wk = watchKeyName(w->db, w->key, sdslen(w->key));
        clientList *cl = dictFetch(watched_keys, wk, sdslen(wk));
        if (cl) {
            for (int j = 0; j < cl->count; j++) {
                if (cl->items[j] == c) {
                    cl->items[j] = cl->items[--cl->count];
                    break;
                }
            }
            if (cl->count == 0) {
                dictDelete(watched_keys, wk, sdslen(wk));
                zfree(cl->items);
                zfree(cl);
            }
        }
        sdsfree(wk);
        sdsfree(w->key);
    }
    zfree(c->watched);
    c->watched = NULL;
    c->nwatched = 0;
}

static void watchCommand(client *c) {
    if (c->flags & CLIENT_MULTI) {
        addReplyError(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* No point watching if the client is already dirty. */
    if (!(c->flags & CLIENT_DIRTY_CAS))
        for (int j = 1; j < c->argc; j++) watchKey(c, c->db, c->argv[j]);
    addReplyOK(c);
}

static void unwatchCommand(client *c) {
    unwatchAllKeys(c);
    c->flags &= ~CLIENT_DIRTY_CAS;
    addReplyOK(c);
}

/* c's watchedKey entry for (db, key). */
static watchedKey *findWatchedKey(client *c, int db, const char *key, size_t len) {
    for (int i = 0; i < c->nwatched; i++) {
        watchedKey *w = &c->watched[i];
        if (w->db == db && sdslen(w->key) == len && memcmp(w->key, key, len) == 0) return w;
    }
    return NULL;
}

static int keyExists(int db, const char *key, size_t len) {
    skey *k;
    if (storeOpenKey(db, key, len, &k) != STORE_OK) return 0;
    storeCloseKey(k);
    return 1;
}

/* A watched key changed. As Redis 7.0: a key that had already expired when
 * it was WATCHed and is now gone (its expiry was carried out) is no
 * logical change; the watch then stands for a missing key. */
void touchWatchedKey(int db, const char *key, size_t len) {
    if (dictSize(watched_keys) == 0) return;
    sds wk = watchKeyName(db, key, len);
    clientList *cl = dictFetch(watched_keys, wk, sdslen(wk));
    sdsfree(wk);
    if (!cl) return;
    int exists = -1;
    for (int i = 0; i < cl->count; i++) {
        client *c = cl->items[i];
        watchedKey *w = findWatchedKey(c, db, key, len);
        if (w && w->expired) {
            if (exists < 0) exists = keyExists(db, key, len);
            if (!exists) {
                w->expired = 0;
                continue;
            }
        }
        c->flags |= CLIENT_DIRTY_CAS;
    }
}

/* A key in db: -1 missing, 0 there, 1 there but logically expired (its
 * time passed, not yet removed), as Redis's dictFind and keyIsExpired. */
static int keyState(int db, const char *key, size_t len) {
    skey *k;
    if (storeOpenKey(db, key, len, &k) != STORE_OK) return -1;
    int expired = k->expire >= 0 && k->expire <= mstime();
    storeCloseKey(k);
    return expired;
}

/* SWAPDB decides what it does to WATCHes itself (touchWatchedKeysOnSwap);
 * the store's flush hooks around the swap leave them. */
static int swapping;

/* Redis 7.0's touchAllWatchedKeysInDb(emptied, replaced_with), before the
 * swap: a watched key of emptied that exists on either side makes its
 * clients dirty, except that an expired key (one that had expired when
 * WATCHed) replaced by nothing or by another expired key, and a missing key
 * replaced by an expired one (which then counts as watched expired), are no
 * logical change. */
static void touchWatchedKeysReplaced(int emptied, int replaced_with) {
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, watched_keys);
    while ((e = dictNext(&it)) != NULL) {
        const char *colon = memchr(e->key, ':', sdslen(e->key));
        if (!colon || atoi(e->key) != emptied) continue;
        const char *key = colon + 1;
        size_t len = sdslen(e->key) - (size_t)(key - e->key);
        int in_emptied = keyState(emptied, key, len), in_replaced = keyState(replaced_with, key, len);
        if (in_emptied < 0 && in_replaced < 0) continue;
        clientList *cl = e->val;
        for (int i = 0; i < cl->count; i++) {
            client *c = cl->items[i];
            watchedKey *w = findWatchedKey(c, emptied, key, len);
            if (w && w->expired) {
                if (in_replaced < 0) { /* expired key now gone: no logical change */
                    w->expired = 0;
                    continue;
                }
                if (in_replaced == 1) continue; /* expired, and still expired */
            } else if (w && in_emptied < 0 && in_replaced == 1) {
                w->expired = 1; /* a missing key replaced by an expired one */
                continue;
            }
            c->flags |= CLIENT_DIRTY_CAS;
        }
    }
}

void touchWatchedKeysOnSwap(int db1, int db2) {
    swapping = 0;
    if (dictSize(watched_keys) == 0 || db1 == db2) return;
    touchWatchedKeysReplaced(db1, db2);
    touchWatchedKeysReplaced(db2, db1);
    swapping = 1;
}

void touchWatchedKeysOnSwapEnd(void) { swapping = 0; }

/* Before a flush: clients watching a key that exists in db are dirty. */
void touchAllWatchedKeysInDb(int db) {
    if (dictSize(watched_keys) == 0 || swapping) return;
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, watched_keys);
    while ((e = dictNext(&it)) != NULL) {
        const char *colon = memchr(e->key, ':', sdslen(e->key));
        if (!colon || atoi(e->key) != db) continue;
        const char *key = colon + 1;
        size_t len = sdslen(e->key) - (size_t)(key - e->key);
        if (!keyExists(db, key, len)) continue;
        clientList *cl = e->val;
        for (int i = 0; i < cl->count; i++) {
            client *c = cl->items[i];
            watchedKey *w = findWatchedKey(c, db, key, len);
            if (w && w->expired) { /* an expired key flushed away: no logical change */
                w->expired = 0;
                continue;
            }
            c->flags |= CLIENT_DIRTY_CAS;
        }
    }
}

int isMultiControlCommand(const redisCommand *cmd) {
    return cmd->proc == execCommand || cmd->proc == discardCommand || cmd->proc == multiCommand ||
           cmd->proc == watchCommand;
}

void multiInit(void) { watched_keys = dictCreate(); }

redisCommand multiCommandTable[] = {
    {"multi", multiCommand, 1, "noscript loading stale fast allow_busy", "fast transaction", 0, 0, 0, NULL},
    {"exec", execCommand, 1, "noscript loading stale skip_slowlog", "slow transaction", 0, 0, 0, NULL},
    {"discard", discardCommand, 1, "noscript loading stale fast allow_busy", "fast transaction", 0, 0, 0, NULL},
    {"watch", watchCommand, -2, "noscript loading stale fast allow_busy", "fast transaction", 1, -1, 1, NULL},
    {"unwatch", unwatchCommand, 1, "noscript loading stale fast allow_busy", "fast transaction", 0, 0, 0, NULL},
    {NULL}};
