/* migrate.c - MIGRATE: keys moved (or copied) to another Redis-protocol
 * server, as Redis 7.0 does it. Each key's DUMP payload (dump.c) is sent in
 * a RESTORE (with its remaining TTL, and REPLACE when asked), after AUTH
 * and SELECT when needed, all in one write; then one reply line is read per
 * command. A key the target acknowledged is deleted here unless COPY, and
 * the MIGRATE reaches the replicas as a DEL of those keys.
 *
 * Like Redis, the transfer is synchronous: the event loop waits on the
 * socket (connect, each 64 KB written, each reply line) for at most the
 * command's timeout each time, so the server serves no one else meanwhile.
 * Connections are kept per host:port (at most 64, closed after 10 idle
 * seconds by the cron, "migrate_cached_sockets" in INFO stats) and
 * remember the database last selected. A socket error before any reply on
 * a kept connection (the target closed it while idle) is retried once on a
 * new connection, unless it was a timeout. */
#include "server.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#define MIGRATE_CACHE_ITEMS 64
#define MIGRATE_CACHE_TTL 10          /* seconds a kept connection may stay idle */
#define MIGRATE_WRITE_CHUNK (64 * 1024)
#define MIGRATE_REPLY_LINE 1024

/* ------------------------------------------------------------------------ */
/* Blocking I/O with a timeout                                               */
/* ------------------------------------------------------------------------ */

/* Wait until fd is ready for events, at most until deadline (ms). 1 when
 * ready, 0 (errno ETIMEDOUT) when the time ran out, -1 on error. */
static int waitReady(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline - mstime();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return 0;
        }
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)(left > 1000000 ? 1000000 : left));
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
}

/* A non-blocking TCP socket to host:port, or -1 when no address of the
 * host could start a connection. As Redis's, a connection still under way
 * is waited for at most timeout ms and then used whatever its outcome: a
 * refused or unfinished one fails on the first write ("writing"). */
static int connectWithin(const char *host, const char *port, long timeout) {
    struct addrinfo hints = {0}, *res, *ai;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    long long deadline = mstime() + timeout;
    int fd = -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS) {
            waitReady(fd, POLLOUT, deadline);
            break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

/* Write all of buf within timeout ms. 0, or -1 (errno set). */
static int writeWithin(int fd, const char *buf, size_t len, long timeout) {
    long long deadline = mstime() + timeout;
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        } else if (waitReady(fd, POLLOUT, deadline) != 1) {
            return -1;
        }
    }
    return 0;
}

/* Read one line (without its CRLF) into buf within timeout ms. Its length
 * (> 0), or -1 on error, end of stream (errno untouched) or timeout
 * (ETIMEDOUT). */
static long readLineWithin(int fd, char *buf, size_t size, long timeout) {
    long long deadline = mstime() + timeout;
    size_t len = 0;
    while (len + 1 < size) {
        char ch;
        ssize_t n = read(fd, &ch, 1);
        if (n == 0) return -1;
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR) return -1;
            if (waitReady(fd, POLLIN, deadline) != 1) return -1;
            continue;
        }
        if (ch == '\n') break;
        buf[len++] = ch;
    }
    if (len && buf[len - 1] == '\r') len--;
    buf[len] = '\0';
    return (long)len;
}

/* ------------------------------------------------------------------------ */
/* Kept connections                                                          */
/* ------------------------------------------------------------------------ */

typedef struct migrateConn {
    sds name; /* "host:port"; NULL when the slot is free */
    int fd;
    long last_dbid; /* -1: SELECT before the next RESTORE */
    time_t last_use;
} migrateConn;

static migrateConn conns[MIGRATE_CACHE_ITEMS];

static void connDrop(migrateConn *mc) {
    if (!mc->name) return;
    close(mc->fd);
    sdsfree(mc->name);
    mc->name = NULL;
}

static migrateConn *connFind(const char *name) {
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++)
        if (conns[i].name && !strcmp(conns[i].name, name)) return &conns[i];
    return NULL;
}

/* A free slot: an empty one, or the least recently used, closed */
static migrateConn *connFreeSlot(void) {
    migrateConn *oldest = &conns[0];
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++) {
        if (!conns[i].name) return &conns[i];
        if (conns[i].last_use < oldest->last_use) oldest = &conns[i];
    }
    connDrop(oldest);
    return oldest;
}

static sds connName(sds host, sds port) { return sdscatprintf(sdsempty(), "%s:%s", host, port); }

/* The connection to host:port, kept or new; NULL after replying. */
static migrateConn *connGet(client *c, sds host, sds port, long timeout) {
    sds name = connName(host, port);
    migrateConn *mc = connFind(name);
    if (mc) {
        sdsfree(name);
        mc->last_use = time(NULL);
        return mc;
    }
    int fd = connectWithin(host, port, timeout);
    if (fd < 0) {
        sdsfree(name);
        addReplyError(c, "IOERR error or timeout connecting to the client");
        return NULL;
    }
    mc = connFreeSlot();
    *mc = (migrateConn){name, fd, -1, time(NULL)};
    return mc;
}

static void connClose(sds host, sds port) {
    sds name = connName(host, port);
    migrateConn *mc = connFind(name);
    sdsfree(name);
    if (mc) connDrop(mc);
}

void migrateCron(void) {
    time_t now = time(NULL);
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++)
        if (conns[i].name && now - conns[i].last_use > MIGRATE_CACHE_TTL) connDrop(&conns[i]);
}

sds genMigrateInfo(sds info) {
    int n = 0;
    for (int i = 0; i < MIGRATE_CACHE_ITEMS; i++) n += conns[i].name != NULL;
    return sdscatprintf(info, "migrate_cached_sockets:%d\r\n", n);
}

/* ------------------------------------------------------------------------ */
/* MIGRATE                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct migrateArgs {
    int copy, replace;
    sds user, password; /* NULL when not given */
    int first_key, num_keys;
    long timeout, dbid;
} migrateArgs;

/* The options after the timeout, then the timeout and the database, in
 * Redis's order. C_ERR after replying. */
static int parseMigrateArgs(client *c, migrateArgs *a) {
    *a = (migrateArgs){0, 0, NULL, NULL, 3, 1, 0, 0};
    for (int j = 6; j < c->argc; j++) {
        int more = c->argc - 1 - j;
        if (!strcasecmp(c->argv[j], "copy")) {
            a->copy = 1;
        } else if (!strcasecmp(c->argv[j], "replace")) {
            a->replace = 1;
        } else if (!strcasecmp(c->argv[j], "auth") && more >= 1) {
            a->password = c->argv[++j];
        } else if (!strcasecmp(c->argv[j], "auth2") && more >= 2) {
            a->user = c->argv[++j];
            a->password = c->argv[++j];
        } else if (!strcasecmp(c->argv[j], "keys")) {
            if (sdslen(c->argv[3])) {
                addReplyError(c, "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
                return C_ERR;
            }
            a->first_key = j + 1;
            a->num_keys = c->argc - j - 1;
            break;
        } else {
            addReplyErrorSyntax(c);
            return C_ERR;
        }
    }
    long long timeout, dbid;
    if (getLongLongFromArgOrReply(c, c->argv[5], &timeout, NULL) != C_OK ||
        getLongLongFromArgOrReply(c, c->argv[4], &dbid, NULL) != C_OK)
        return C_ERR;
    a->timeout = timeout <= 0 ? 1000 : (long)timeout;
    a->dbid = (long)dbid;
    return C_OK;
}

static sds catBulk(sds s, const char *p, size_t len) {
    s = sdscatprintf(s, "$%zu\r\n", len);
    s = sdscatlen(s, p, len);
    return sdscatlen(s, "\r\n", 2);
}

static sds catBulkLongLong(sds s, long long v) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    return catBulk(s, buf, (size_t)n);
}

/* A RESTORE of key (open as k) for the target, appended to out; 0 when
 * the key expired meanwhile (nothing appended), -1 on an I/O error. */
static int catRestore(sds *out, skey *k, int replace) {
    long long ttl = 0;
    if (k->expire != -1) {
        ttl = k->expire - mstime();
        if (ttl < 0) return 0;
        if (ttl < 1) ttl = 1;
    }
    sds payload;
    if (dumpKeyPayload(k, &payload) != STORE_OK) return -1;
    sds s = sdscatprintf(*out, "*%d\r\n", replace ? 5 : 4);
    s = catBulk(s, "RESTORE", 7);
    s = catBulk(s, k->name, sdslen(k->name));
    s = catBulkLongLong(s, ttl);
    s = catBulk(s, payload, sdslen(payload));
    if (replace) s = catBulk(s, "REPLACE", 7);
    sdsfree(payload);
    *out = s;
    return 1;
}

/* The keys that exist, in argument order (duplicates kept, as Redis). */
static int existingKeys(client *c, const migrateArgs *a, sds *keys) {
    int n = 0;
    for (int j = 0; j < a->num_keys; j++) {
        skey *k;
        if (lookupKeyRead(c, c->argv[a->first_key + j], OBJ_NONE, &k) != C_OK) return -1;
        if (k) keys[n++] = c->argv[a->first_key + j];
        storeCloseKey(k);
    }
    return n;
}

/* AUTH and SELECT when needed, then the RESTOREs of keys, dropping from
 * keys those that expired since. C_ERR after replying (an I/O error). */
static int buildRequest(client *c, const migrateArgs *a, int select, sds *keys, int *nkeys, sds *out) {
    sds s = sdsempty();
    if (a->password) {
        s = sdscatprintf(s, "*%d\r\n", a->user ? 3 : 2);
        s = catBulk(s, "AUTH", 4);
        if (a->user) s = catBulk(s, a->user, sdslen(a->user));
        s = catBulk(s, a->password, sdslen(a->password));
    }
    if (select) {
        s = catBulk(sdscat(s, "*2\r\n"), "SELECT", 6);
        s = catBulkLongLong(s, a->dbid);
    }
    int kept = 0;
    for (int j = 0; j < *nkeys; j++) {
        skey *k;
        if (lookupKeyAny(c, keys[j], &k) != C_OK) { /* looked up (and counted) once already */
            sdsfree(s);
            return C_ERR;
        }
        int r = k ? catRestore(&s, k, a->replace) : 0;
        int saved = errno;
        storeCloseKey(k);
        if (r < 0) {
            addReplyErrorIO(c, saved);
            sdsfree(s);
            return C_ERR;
        }
        if (r) keys[kept++] = keys[j];
    }
    *nkeys = kept;
    *out = s;
    return C_OK;
}

static int writeRequest(int fd, sds req, long timeout) {
    for (size_t pos = 0; pos < sdslen(req); pos += MIGRATE_WRITE_CHUNK) {
        size_t n = sdslen(req) - pos < MIGRATE_WRITE_CHUNK ? sdslen(req) - pos : MIGRATE_WRITE_CHUNK;
        if (writeWithin(fd, req + pos, n, timeout) != 0) return -1;
    }
    return 0;
}

/* The outcome of one attempt */
enum { MIGRATE_DONE, MIGRATE_RETRY, MIGRATE_IOERR };

/* Delete the acknowledged key here (unless COPY) and remember it for the
 * DEL the replicas get. C_ERR after replying. */
static int keyMoved(client *c, sds key, sds *dels, int *ndels) {
    int deleted;
    if (deleteKey(c, key, &deleted) != C_OK) return C_ERR;
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, c->db);
    dels[(*ndels)++] = key;
    return C_OK;
}

/* One attempt over the connection to the target: send, read the replies,
 * delete what moved. MIGRATE_RETRY when the socket failed before any
 * reply and a new connection may be tried; MIGRATE_IOERR (with
 * *write_error) when the reply is Redis's IOERR; else DONE, replied. */
static int migrateOnce(client *c, const migrateArgs *a, sds *keys, int *nkeysp, int may_retry, int *write_error) {
    migrateConn *mc = connGet(c, c->argv[1], c->argv[2], a->timeout);
    if (!mc) return MIGRATE_DONE;
    int select = mc->last_dbid != a->dbid;
    sds req;
    if (buildRequest(c, a, select, keys, nkeysp, &req) != C_OK) return MIGRATE_DONE;
    int nkeys = *nkeysp;
    errno = 0;
    *write_error = writeRequest(mc->fd, req, a->timeout) != 0;
    sdsfree(req);
    char auth[MIGRATE_REPLY_LINE], sel[MIGRATE_REPLY_LINE], line[MIGRATE_REPLY_LINE];
    if (*write_error || (a->password && readLineWithin(mc->fd, auth, sizeof(auth), a->timeout) < 0) ||
        (select && readLineWithin(mc->fd, sel, sizeof(sel), a->timeout) < 0)) {
        connClose(c->argv[1], c->argv[2]);
        return may_retry && errno != ETIMEDOUT ? MIGRATE_RETRY : MIGRATE_IOERR;
    }
    sds *dels = zmalloc(sizeof(sds) * (size_t)(nkeys + 1));
    int ndels = 0, target_error = 0, socket_error = 0, j;
    dels[ndels++] = propWord("DEL");
    for (j = 0; j < nkeys; j++) {
        if (readLineWithin(mc->fd, line, sizeof(line), a->timeout) < 0) {
            socket_error = 1;
            break;
        }
        const char *err = a->password && auth[0] == '-' ? auth
                          : select && sel[0] == '-'       ? sel
                          : line[0] == '-'                ? line
                                                          : NULL;
        if (err && !target_error) {
            target_error = 1;
            mc->last_dbid = -1;
            addReplyErrorFormat(c, "ERR Target instance replied with error: %s", err + 1);
        } else if (!err && !a->copy && keyMoved(c, keys[j], dels, &ndels) != C_OK) {
            target_error = 1; /* replied: the store failed here */
        }
    }
    int retry = !target_error && socket_error && j == 0 && may_retry && errno != ETIMEDOUT;
    if (socket_error) connClose(c->argv[1], c->argv[2]);
    if (ndels > 1) rewriteCommandForPropagationArgv(c, ndels, dels);
    zfree(dels);
    if (retry) return MIGRATE_RETRY;
    if (!target_error && socket_error) return MIGRATE_IOERR;
    if (!target_error) {
        mc->last_dbid = a->dbid;
        addReplyOK(c);
    }
    return MIGRATE_DONE;
}

/* MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
 *         [AUTH password | AUTH2 username password] [KEYS key ...] */
static void migrateCommand(client *c) {
    migrateArgs a;
    if (parseMigrateArgs(c, &a) != C_OK) goto done;
    sds *keys = zmalloc(sizeof(sds) * (size_t)a.num_keys);
    int nkeys = existingKeys(c, &a, keys);
    if (nkeys == 0) addReplyStatus(c, "NOKEY");
    int write_error = 0, r = MIGRATE_DONE;
    if (nkeys > 0) {
        r = migrateOnce(c, &a, keys, &nkeys, 1, &write_error);
        if (r == MIGRATE_RETRY) r = migrateOnce(c, &a, keys, &nkeys, 0, &write_error);
    }
    if (r != MIGRATE_DONE)
        addReplyErrorFormat(c, "IOERR error or timeout %s to target instance", write_error ? "writing" : "reading");
    zfree(keys);
done:
    /* as Redis: MONITOR and SLOWLOG never show the password */
    for (int j = 6; j < c->argc; j++) {
        if (!strcasecmp(c->argv[j], "keys")) break;
        if (!strcasecmp(c->argv[j], "auth") && j + 1 < c->argc) redactClientArgument(c, ++j);
        else if (!strcasecmp(c->argv[j], "auth2") && j + 2 < c->argc) {
            redactClientArgument(c, ++j);
            redactClientArgument(c, ++j);
        }
    }
}

redisCommand migrateCommandTable[] = {
    {"migrate", migrateCommand, -6, "write movablekeys", "keyspace write slow dangerous", 3, 3, 1, NULL},
    {NULL}};
