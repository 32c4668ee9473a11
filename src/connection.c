/* connection.c - commands about the connection itself: AUTH, HELLO, RESET
 * and the CLIENT family (ID, SETNAME, GETNAME, LIST, INFO, KILL, REPLY,
 * NO-EVICT, HELP). */
#include "server.h"
#include <string.h>
#include <strings.h>
#include <ctype.h>

/* Constant-time comparison of the password, as Redis's time_independent_strcmp. */
static int passwordMatches(const char *given, size_t len) {
    const char *want = server.requirepass;
    size_t wlen = strlen(want);
    unsigned char diff = (unsigned char)(len != wlen);
    for (size_t i = 0; i < len; i++) diff |= (unsigned char)(given[i] ^ want[i % (wlen ? wlen : 1)]);
    return diff == 0;
}

/* Check username/password; reply with the error and return C_ERR when wrong. */
static int authenticate(client *c, sds user, sds pass) {
    if (!server.requirepass) {
        if (user && strcmp(user, "default") != 0) goto wrong;
        /* the default user has no password: any password is accepted only with a username */
        if (!user) {
            addReplyError(c, "ERR AUTH <password> called without any password configured for the default user. "
                             "Are you sure your configuration is correct?");
            return C_ERR;
        }
        c->authenticated = 1;
        return C_OK;
    }
    if (user && strcmp(user, "default") != 0) goto wrong;
    if (!passwordMatches(pass, sdslen(pass))) goto wrong;
    c->authenticated = 1;
    return C_OK;
wrong:
    addReplyError(c, "WRONGPASS invalid username-password pair or user is disabled.");
    return C_ERR;
}

static void authCommand(client *c) {
    if (c->argc > 3) {
        addReplyErrorSyntax(c);
        return;
    }
    sds user = c->argc == 3 ? c->argv[1] : NULL;
    sds pass = c->argv[c->argc - 1];
    if (authenticate(c, user, pass) == C_OK) addReplyOK(c);
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
    sds user = NULL, pass = NULL, name = NULL;
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (!strcasecmp(c->argv[j], "AUTH") && more >= 2) {
            user = c->argv[j + 1];
            pass = c->argv[j + 2];
            j += 2;
        } else if (!strcasecmp(c->argv[j], "SETNAME") && more >= 1) {
            name = c->argv[j + 1];
            j++;
        } else {
            addReplyErrorFormat(c, "ERR Syntax error in HELLO option '%s'", c->argv[j]);
            return;
        }
    }
    if (user && authenticate(c, user, pass) != C_OK) return;
    if (server.requirepass && !c->authenticated) {
        addReplyError(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                         "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
                         "RESP protocol version at the same time");
        return;
    }
    if (name && setClientName(c, name) != C_OK) return;
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
    addReplyBulkCString(c, "master");
    addReplyBulkCString(c, "modules");
    addReplyArrayLen(c, 0);
}

void resetCommand(client *c) {
    if (c->flags & CLIENT_MULTI) freeClientMultiState(c);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC | CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP_NEXT |
                  CLIENT_REPLY_SKIP);
    unwatchAllKeys(c);
    pubsubUnsubscribeAll(c, 0, 0);
    pubsubUnsubscribeAll(c, 1, 0);
    c->db = 0;
    c->resp = 2;
    sdsfree(c->name);
    c->name = NULL;
    c->authenticated = server.requirepass == NULL;
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

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...] */
static void clientListCommand(client *c) {
    const char *type = NULL;
    int idsfrom = 0;
    if (c->argc >= 4 && !strcasecmp(c->argv[2], "type") && c->argc == 4) {
        type = c->argv[3];
        if (strcasecmp(type, "normal") && strcasecmp(type, "master") && strcasecmp(type, "replica") &&
            strcasecmp(type, "slave") && strcasecmp(type, "pubsub")) {
            addReplyErrorFormat(c, "ERR Unknown client type '%s'", type);
            return;
        }
    } else if (c->argc >= 4 && !strcasecmp(c->argv[2], "id")) {
        idsfrom = 3;
        for (int j = 3; j < c->argc; j++) {
            long long id;
            if (!string2ll(c->argv[j], sdslen(c->argv[j]), &id) || id <= 0) {
                addReplyError(c, "ERR Invalid client ID");
                return;
            }
        }
    } else if (c->argc != 2) {
        addReplyErrorSyntax(c);
        return;
    }
    sds out = sdsempty();
    for (client *cl = server.clients; cl; cl = cl->next) {
        if (type && strcasecmp(type, "normal") != 0) continue; /* we only have normal clients */
        if (idsfrom) {
            int match = 0;
            for (int j = idsfrom; j < c->argc; j++) {
                long long id;
                string2ll(c->argv[j], sdslen(c->argv[j]), &id);
                if ((uint64_t)id == cl->id) match = 1;
            }
            if (!match) continue;
        }
        sds line = clientInfoString(cl);
        out = sdscatsds(out, line);
        out = sdscat(out, "\n");
        sdsfree(line);
    }
    addReplyVerbatim(c, out, sdslen(out), "txt");
    sdsfree(out);
}

/* CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR ip:port] [LADDR ip:port] [TYPE t] [USER u] [SKIPME yes|no] */
static void clientKillCommand(client *c) {
    const char *addr = NULL, *laddr = NULL, *type = NULL, *user = NULL;
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
                if (strcasecmp(type, "normal") && strcasecmp(type, "master") && strcasecmp(type, "replica") &&
                    strcasecmp(type, "slave") && strcasecmp(type, "pubsub")) {
                    addReplyErrorFormat(c, "ERR Unknown client type '%s'", type);
                    return;
                }
            } else if (!strcasecmp(opt, "user")) user = val;
            else if (!strcasecmp(opt, "skipme")) {
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
        if (type && strcasecmp(type, "normal") != 0) continue;
        if (user && strcmp(user, "default") != 0) continue;
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
    if (!strcasecmp(mode, "on") || !strcasecmp(mode, "off")) addReplyOK(c);
    else addReplyErrorSyntax(c);
}

static void clientHelpCommand(client *c) {
    static const char *help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "HELP",
        "    Print this help.",
    };
    addReplyArrayLen(c, (long)(sizeof(help) / sizeof(help[0])));
    for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) addReplyStatus(c, help[i]);
}

static void clientCommand(client *c) { (void)c; }

static redisCommand clientSubcommands[] = {
    {"getname", clientGetnameCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, "connection",
     "2.6.9", "Returns the name of the connection.", "O(1)", NULL},
    {"help", clientHelpCommand, 2, "loading stale", "slow connection", 0, 0, 0, "connection", "5.0.0",
     "Returns helpful text about the different subcommands.", "O(1)", NULL},
    {"id", clientIdCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, "connection", "5.0.0",
     "Returns the unique client ID of the connection.", "O(1)", NULL},
    {"info", clientInfoCommand, 2, "noscript loading stale", "slow connection", 0, 0, 0, "connection", "6.2.0",
     "Returns information about the connection.", "O(1)", NULL},
    {"kill", clientKillCommand, -3, "admin noscript loading stale", "admin slow dangerous connection", 0, 0, 0,
     "connection", "2.4.0", "Terminates open connections.", "O(N) where N is the number of client connections",
     NULL},
    {"list", clientListCommand, -2, "admin noscript loading stale", "admin slow dangerous connection", 0, 0, 0,
     "connection", "2.4.0", "Lists open connections.", "O(N) where N is the number of client connections", NULL},
    {"no-evict", clientNoEvictCommand, 3, "admin noscript loading stale", "admin slow dangerous connection", 0, 0,
     0, "connection", "7.0.0", "Sets the client eviction mode of the connection.", "O(1)", NULL},
    {"reply", clientReplyCommand, 3, "noscript loading stale", "slow connection", 0, 0, 0, "connection", "3.2.0",
     "Instructs the server whether to reply to commands.", "O(1)", NULL},
    {"setname", clientSetnameCommand, 3, "noscript loading stale", "slow connection", 0, 0, 0, "connection",
     "2.6.9", "Sets the connection name.", "O(1)", NULL},
    {NULL}};

redisCommand connectionCommandTable[] = {
    {"auth", authCommand, -2, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0,
     "connection", "1.0.0", "Authenticates the connection.", "O(N) where N is the number of passwords defined for the user",
     NULL},
    {"hello", helloCommand, -1, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0,
     "connection", "6.0.0", "Handshakes with the Redis server.", "O(1)", NULL},
    {"reset", resetCommand, 1, "noscript loading stale fast no_auth allow_busy", "fast connection", 0, 0, 0,
     "connection", "6.2.0", "Resets the connection.", "O(1)", NULL},
    {"client", clientCommand, -2, "sentinel", "slow", 0, 0, 0, "connection", "2.4.0",
     "A container for client connection commands.", "Depends on subcommand.", clientSubcommands},
    {NULL}};
