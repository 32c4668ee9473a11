/* connection.c - commands about the connection itself: AUTH, HELLO, RESET
 * and the CLIENT family (ID, SETNAME, GETNAME, LIST, INFO, KILL, REPLY,
 * NO-EVICT, HELP). */
#include "server.h"
#include <string.h>
#include <strings.h>
#include <ctype.h>

/* Check username/password against the ACL users (acl.c); reply with the
 * error and return C_ERR when wrong. */
static int authenticate(client *c, sds user, sds pass) {
    /* AUTH <password> when the default user needs none is an error, as Redis */
    if (!user && aclDefaultUserNeedsNoAuth()) {
        addReplyError(c, "ERR AUTH <password> called without any password configured for the default user. "
                         "Are you sure your configuration is correct?");
        return C_ERR;
    }
    return aclAuthenticate(c, user, pass);
}

/* MONITOR and SLOWLOG show a secret argument as "(redacted)", as Redis's
 * redactClientCommandArgument; both read c->argv once the command ran, so
 * it is replaced once the command has used it. */
void redactClientArgument(client *c, int i) {
    sdsfree(c->argv[i]);
    c->argv[i] = sdsnew("(redacted)");
}

static void authCommand(client *c) {
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    sds user = c->argc == 3 ? c->argv[1] : NULL;
    sds pass = c->argv[c->argc - 1];
    int ok = authenticate(c, user, pass) == C_OK;
    for (int i = 1; i < c->argc; i++) redactClientArgument(c, i);
    if (ok) addReplyOK(c);
}

static int validClientName(const sds name) {
    for (size_t i = 0; i < sdslen(name); i++)
        if (name[i] < '!' || name[i] > '~') return 0;
    return 1;
}

static int setClientName(client *c, sds name) {
    if (!validClientName(name)) {
        addReplyError(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return C_ERR;
    }
    sdsfree(c->name);
    c->name = sdslen(name) ? sdsdup(name) : NULL;
    return C_OK;
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void helloCommand(client *c) {
    long long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (getLongLongFromArgOrReply(c, c->argv[1], &ver, "ERR Protocol version is not an integer or out of range") != C_OK)
            return;
        next = 2;
        if (ver < 2 || ver > 3) {
            addReplyError(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    /* Options take effect one by one, as in Redis 7.0: an AUTH or SETNAME
     * that succeeded stays in effect even when a later option fails. */
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (!strcasecmp(c->argv[j], "AUTH") && more >= 2) {
            int ok = authenticate(c, c->argv[j + 1], c->argv[j + 2]) == C_OK;
            redactClientArgument(c, j + 1);
            redactClientArgument(c, j + 2);
            if (!ok) return;
            j += 2;
        } else if (!strcasecmp(c->argv[j], "SETNAME") && more >= 1) {
            if (setClientName(c, c->argv[j + 1]) != C_OK) return;
            j++;
        } else {
            addReplyErrorFormat(c, "ERR Syntax error in HELLO option '%s'", c->argv[j]);
            return;
        }
    }
    if (!c->authenticated && !aclDefaultUserNeedsNoAuth()) {
        addReplyError(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                         "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
                         "protocol version at the same time");
        return;
    }
    if (ver) c->resp = (int)ver;
    addReplyMapLen(c, 7);
    addReplyBulkCString(c, "server");
    addReplyBulkCString(c, "redis");
    addReplyBulkCString(c, "version");
    addReplyBulkCString(c, DREDIS_VERSION);
    addReplyBulkCString(c, "proto");
    addReplyLongLong(c, c->resp);
    addReplyBulkCString(c, "id");
    addReplyLongLong(c, (long long)c->id);
    addReplyBulkCString(c, "mode");
    addReplyBulkCString(c, "standalone");
    addReplyBulkCString(c, "role");
    addReplyBulkCString(c, server.masterhost ? "replica" : "master");
    addReplyBulkCString(c, "modules");
    addReplyArrayLen(c, 0);
}

void resetCommand(client *c) {
    if (c->flags & CLIENT_MULTI) freeClientMultiState(c);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT |
                  CLIENT_REPLY_SKIP); /* CLIENT NO-EVICT survives RESET in Redis 7.0 */
    unwatchAllKeys(c);
    if (c->flags & CLIENT_MONITOR) monitorRemoveClient(c);
    pubsubUnsubscribeAll(c, 0, 0);
    pubsubUnsubscribeAll(c, 1, 0);
    pubsubUnsubscribeAll(c, 2, 0);
    trackingDisable(c);
    c->db = 0;
    c->resp = 2;
    sdsfree(c->name);
    c->name = NULL;
    c->user = aclDefaultUser();
    c->authenticated = aclDefaultUserNeedsNoAuth();
    addReplyStatus(c, "RESET");
}

/* ---- CLIENT ---- */

static void clientIdCommand(client *c) { addReplyLongLong(c, (long long)c->id); }

static void clientSetnameCommand(client *c) {
    if (setClientName(c, c->argv[2]) == C_OK) addReplyOK(c);
}

static void clientGetnameCommand(client *c) {
    if (c->name) addReplyBulk(c, c->name, sdslen(c->name));
    else addReplyNull(c);
}

static void clientInfoCommand(client *c) {
    sds s = clientInfoString(c);
    s = sdscat(s, "\n");
    addReplyVerbatim(c, s, sdslen(s), "txt");
    sdsfree(s);
}

/* The type CLIENT LIST/KILL TYPE filter on, as Redis's getClientType():
 * the link to our master, a replica's connection, a client with
 * subscriptions ("pubsub"), or "normal". */
static int validClientType(const char *type) {
    return !strcasecmp(type, "normal") || !strcasecmp(type, "master") || !strcasecmp(type, "replica") ||
           !strcasecmp(type, "slave") || !strcasecmp(type, "pubsub");
}

static int clientIsOfType(client *c, const char *type) {
    int master = (c->flags & CLIENT_MASTER) != 0, replica = (c->flags & CLIENT_SLAVE) && !(c->flags & CLIENT_MONITOR);
    if (!strcasecmp(type, "master")) return master;
    if (!strcasecmp(type, "replica") || !strcasecmp(type, "slave")) return !master && replica;
    if (master || replica) return 0;
    if (!strcasecmp(type, "pubsub")) return clientSubscriptionsCount(c) > 0;
    if (!strcasecmp(type, "normal")) return clientSubscriptionsCount(c) == 0;
    return 0;
}

client *lookupClientByID(uint64_t id) {
    for (client *cl = server.clients; cl; cl = cl->next)
        if (cl->id == id) return cl;
    return NULL;
}

static sds catClientLine(sds out, client *cl) {
    sds line = clientInfoString(cl);
    out = sdscatsds(out, line);
    out = sdscat(out, "\n");
    sdsfree(line);
    return out;
}

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...] */
static void clientListCommand(client *c) {
    const char *type = NULL;
    sds out;
    if (c->argc == 4 && !strcasecmp(c->argv[2], "type")) {
        type = c->argv[3];
        if (!validClientType(type)) {
            addReplyErrorFormat(c, "ERR Unknown client type '%s'", type);
            return;
        }
    } else if (c->argc >= 4 && !strcasecmp(c->argv[2], "id")) {
        /* in the order asked; ids of no client are left out */
        out = sdsempty();
        for (int j = 3; j < c->argc; j++) {
            long long id;
            if (!string2ll(c->argv[j], sdslen(c->argv[j]), &id)) {
                sdsfree(out);
                addReplyError(c, "ERR Invalid client ID");
                return;
            }
            client *cl = id > 0 ? lookupClientByID((uint64_t)id) : NULL;
            if (cl) out = catClientLine(out, cl);
        }
        addReplyVerbatim(c, out, sdslen(out), "txt");
        sdsfree(out);
        return;
    } else if (c->argc != 2) {
        addReplyErrorSyntax(c);
        return;
    }
    /* oldest first, as Redis: the list is kept newest first */
    client *last = server.clients;
    while (last && last->next) last = last->next;
    out = sdsempty();
    for (client *cl = last; cl; cl = cl->prev) {
        if (type && !clientIsOfType(cl, type)) continue;
        out = catClientLine(out, cl);
    }
    addReplyVerbatim(c, out, sdslen(out), "txt");
    sdsfree(out);
}

/* CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [TYPE t] [USER u] [SKIPME yes|no] */
static void clientKillCommand(client *c) {
    const char *addr = NULL, *laddr = NULL, *type = NULL;
    aclUser *user = NULL;
    long long id = 0;
    int skipme = 1, oldstyle = 0;
    if (c->argc == 3) {
        addr = c->argv[2];
        oldstyle = 1;
        skipme = 0;
    } else if (c->argc > 3 && c->argc % 2 == 0) {
        for (int i = 2; i < c->argc; i += 2) {
            const char *opt = c->argv[i];
            sds val = c->argv[i + 1];
            if (!strcasecmp(opt, "id")) {
                if (!string2ll(val, sdslen(val), &id) || id <= 0) {
                    addReplyError(c, "ERR client-id should be greater than 0");
                    return;
                }
            } else if (!strcasecmp(opt, "addr")) addr = val;
            else if (!strcasecmp(opt, "laddr")) laddr = val;
            else if (!strcasecmp(opt, "type")) {
                type = val;
                if (!validClientType(type)) {
                    addReplyErrorFormat(c, "ERR Unknown client type '%s'", type);
                    return;
                }
            } else if (!strcasecmp(opt, "user")) {
                user = aclUserLookup(val);
                if (!user) {
                    addReplyErrorFormat(c, "ERR No such user '%s'", val);
                    return;
                }
            } else if (!strcasecmp(opt, "skipme")) {
                if (!strcasecmp(val, "yes")) skipme = 1;
                else if (!strcasecmp(val, "no")) skipme = 0;
                else {
                    addReplyErrorSyntax(c);
                    return;
                }
            } else {
                addReplyErrorSyntax(c);
                return;
            }
        }
    } else {
        addReplyErrorSyntax(c);
        return;
    }
    long long killed = 0;
    for (client *cl = server.clients; cl; cl = cl->next) {
        if (addr && strcmp(cl->addr, addr) != 0) continue;
        if (laddr && strcmp(cl->laddr, laddr) != 0) continue;
        if (id && cl->id != (uint64_t)id) continue;
        if (type && !clientIsOfType(cl, type)) continue;
        if (user && cl->user != user) continue;
        if (cl == c && skipme) continue;
        if (cl == c) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        else closeClientAsync(cl);
        killed++;
    }
    if (oldstyle) {
        if (killed == 0) addReplyError(c, "ERR No such client");
        else addReplyOK(c);
    } else {
        addReplyLongLong(c, killed);
    }
}

/* CLIENT PAUSE timeout [WRITE|ALL]: the mode is checked first, as Redis */
static void clientPauseCommand(client *c) {
    long long timeout;
    int all = 1;
    if (c->argc > 4) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    if (c->argc == 4) {
        if (!strcasecmp(c->argv[3], "write")) all = 0;
        else if (strcasecmp(c->argv[3], "all")) {
            addReplyError(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    if (getLongLongFromArgOrReply(c, c->argv[2], &timeout, "ERR timeout is not an integer or out of range") != C_OK)
        return;
    if (timeout < 0) {
        addReplyError(c, "ERR timeout is negative");
        return;
    }
    pauseClients(PAUSE_BY_CLIENT_COMMAND, mstime() + timeout, all);
    addReplyOK(c);
}

static void clientUnpauseCommand(client *c) {
    unpauseClients(PAUSE_BY_CLIENT_COMMAND); /* not FAILOVER's */
    addReplyOK(c);
}

static void clientReplyCommand(client *c) {
    const char *mode = c->argv[2];
    if (!strcasecmp(mode, "on")) {
        c->flags &= ~(CLIENT_REPLY_SKIP | CLIENT_REPLY_OFF);
        addReplyOK(c);
    } else if (!strcasecmp(mode, "off")) {
        c->flags |= CLIENT_REPLY_OFF;
    } else if (!strcasecmp(mode, "skip")) {
        if (!(c->flags & CLIENT_REPLY_OFF)) c->flags |= CLIENT_REPLY_SKIP_NEXT;
    } else {
        addReplyErrorSyntax(c);
    }
}

/* dredis never evicts keys, so every client is already exempt from eviction. */
static void clientNoEvictCommand(client *c) {
    const char *mode = c->argv[2];
    if (!strcasecmp(mode, "on")) c->flags |= CLIENT_NO_EVICT;
    else if (!strcasecmp(mode, "off")) c->flags &= ~CLIENT_NO_EVICT;
    else {
        addReplyErrorSyntax(c);
        return;
    }
    addReplyOK(c);
}

/* CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when the client was blocked */
static void clientUnblockCommand(client *c) {
    int error = 0;
    long long id;
    if (c->argc > 4) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    if (c->argc == 4) {
        if (!strcasecmp(c->argv[3], "error")) error = 1;
        else if (strcasecmp(c->argv[3], "timeout")) {
            addReplyError(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    }
    if (getLongLongFromArgOrReply(c, c->argv[2], &id, NULL) != C_OK) return;
    client *target = id > 0 ? lookupClientByID((uint64_t)id) : NULL;
    addReplyLongLong(c, target && unblockClientOnRequest(target, error));
}

static void clientHelpCommand(client *c) {
    static const char *help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.",
    };
    addReplyHelpLines(c, help);
}

static void clientCommand(client *c) { (void)c; }

static redisCommand clientSubcommands[] = {
    {"caching", clientCachingCommand, 3, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"getredir", clientGetredirCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"tracking", clientTrackingCommand, -3, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"trackinginfo", clientTrackinginfoCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"getname", clientGetnameCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"help", clientHelpCommand, 2, "loading stale", "slow connection", 0, 0, 0, NULL},
    {"id", clientIdCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"info", clientInfoCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"kill", clientKillCommand, -3, "admin noscript loading stale", "admin slow dangerous connection", 0, 0, 0, NULL},
    {"list", clientListCommand, -2, "admin noscript loading stale", "admin slow dangerous connection", 0, 0, 0, NULL},
    {"no-evict", clientNoEvictCommand, 3, "admin noscript loading stale", "admin slow dangerous connection", 0, 0,
     0, NULL},
    {"pause", clientPauseCommand, -3, "admin noscript loading stale", "admin slow dangerous connection", 0, 0, 0, NULL},
    {"unpause", clientUnpauseCommand, 2, "admin noscript loading stale", "admin slow dangerous connection", 0, 0, 0, NULL},
    {"reply", clientReplyCommand, 3, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {"unblock", clientUnblockCommand, -3, "admin noscript loading stale", "admin slow dangerous connection", 0, 0,
     0, NULL},
    {"setname", clientSetnameCommand, 3, "noscript loading stale", "slow connection", 0, 0, 0, NULL},
    {NULL}};

redisCommand connectionCommandTable[] = {
    {"auth", authCommand, -2, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0, NULL},
    {"hello", helloCommand, -1, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0, NULL},
    {"reset", resetCommand, 1, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0, NULL},
    {"client", clientCommand, -2, "sentinel", "slow", 0, 0, 0, clientSubcommands},
    {NULL}};
