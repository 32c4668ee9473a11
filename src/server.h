/* server.h - the types every part of dredis shares: the server state, the
 * client, the command table entry, and the prototypes of the reply API and of
 * each module's entry points. */
#ifndef DREDIS_SERVER_H
#define DREDIS_SERVER_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include "sds.h"
#include "zmalloc.h"
#include "resp.h"
#include "util.h"
#include "store.h"
#include "acl.h"

#define DREDIS_VERSION "7.0.15"
#define DREDIS_OWN_VERSION "0.1.0"

#define C_OK 0
#define C_ERR (-1)

#define DEFAULT_DBNUM 16

/* Client flags */
#define CLIENT_CLOSE_AFTER_REPLY (1 << 0)
#define CLIENT_FAKE (1 << 1)
#define CLIENT_CLOSE_ASAP (1 << 2)
#define CLIENT_MULTI (1 << 3)       /* inside MULTI */
#define CLIENT_DIRTY_CAS (1 << 4)   /* a WATCHed key changed: EXEC fails */
#define CLIENT_DIRTY_EXEC (1 << 5)  /* a queued command was rejected */
#define CLIENT_EXECUTING (1 << 6)   /* running EXEC's commands */
#define CLIENT_REPLY_OFF (1 << 7)   /* CLIENT REPLY OFF */
#define CLIENT_REPLY_SKIP_NEXT (1 << 8)
#define CLIENT_REPLY_SKIP (1 << 9)
#define CLIENT_MONITOR (1 << 10)
#define CLIENT_UNBLOCKED (1 << 11)  /* unblocked: its buffered input awaits */
#define CLIENT_PENDING_FLUSH (1 << 12) /* has replies held until the next sync */
#define CLIENT_PROTECTED (1 << 13)  /* a script's caller while it runs: input not read */
#define CLIENT_PENDING_WRITE (1 << 15) /* has output to write at the end of the loop turn */
#define CLIENT_NO_EVICT (1 << 14)    /* CLIENT NO-EVICT ON (shown in CLIENT LIST) */
#define CLIENT_SLAVE (1 << 16)       /* a replica's connection (replication.c): no replies */
#define CLIENT_PRE_PSYNC (1 << 17)   /* the replica asked with SYNC, not PSYNC */
#define CLIENT_REPL_RDBONLY (1 << 18) /* REPLCONF rdb-only 1: the RDB, then close */
#define CLIENT_MASTER (1 << 19)       /* the link to our master (replica.c): its stream is applied */
#define CLIENT_OUTPUT_PAUSED (1 << 20) /* backpressure: no command runs until its replies drain */

/* The classes of client-output-buffer-limit, in Redis's order */
#define CLIENT_TYPE_NORMAL 0
#define CLIENT_TYPE_SLAVE 1
#define CLIENT_TYPE_PUBSUB 2
#define CLIENT_TYPE_OBUF_COUNT 3
typedef struct clientBufferLimits {
    unsigned long long hard_bytes, soft_bytes; /* 0: no limit */
    long long soft_seconds;
} clientBufferLimits;

/* What propagate.c does with the running command (client.prop_flags) */
#define PROP_PREVENT (1 << 0) /* not propagated (its effects are, or nothing) */
#define PROP_FORCE (1 << 1)   /* propagated even without a change to a key */
#define PROP_FORCE_REPL (1 << 2) /* propagated to replicas only, even without a change (PUBLISH) */

/* What a blocked client waits for */
#define BLOCKED_NONE 0
#define BLOCKED_LIST 1
#define BLOCKED_ZSET 2
#define BLOCKED_STREAM 3
#define BLOCKED_WAIT 4
#define BLOCKED_PAUSE 5  /* postponed by CLIENT PAUSE: runs when it ends */
/* Its reply when the timeout comes first */
#define BLOCK_TIMEOUT_NULL_ARRAY 0
#define BLOCK_TIMEOUT_NULL 1
#define BLOCK_TIMEOUT_ZERO 2
#define BLOCK_TIMEOUT_ACKED 3 /* WAIT: the replicas that acknowledged */

/* Command flags (parsed from the table's flag string) */
#define CMD_WRITE (1ULL << 0)
#define CMD_READONLY (1ULL << 1)
#define CMD_DENYOOM (1ULL << 2)
#define CMD_ADMIN (1ULL << 3)
#define CMD_PUBSUB (1ULL << 4)
#define CMD_NOSCRIPT (1ULL << 5)
#define CMD_BLOCKING (1ULL << 6)
#define CMD_LOADING (1ULL << 7)
#define CMD_STALE (1ULL << 8)
#define CMD_FAST (1ULL << 9)
#define CMD_NO_AUTH (1ULL << 10)
#define CMD_MAY_REPLICATE (1ULL << 11)
#define CMD_SENTINEL (1ULL << 12)
#define CMD_ALLOW_BUSY (1ULL << 13)
#define CMD_NO_MULTI (1ULL << 14)
#define CMD_SKIP_SLOWLOG (1ULL << 15)
#define CMD_SKIP_MONITOR (1ULL << 16)
#define CMD_NO_ASYNC_LOADING (1ULL << 17) /* listed as Redis lists it: dredis never loads asynchronously */

typedef struct client client;

typedef struct multiCmd {
    int argc;
    sds *argv;
    struct redisCommand *cmd;
} multiCmd;

typedef struct multiState {
    multiCmd *commands;
    int count;
    uint64_t cmd_flags;     /* the queued commands' flags, or-ed (commandFlags) */
    uint64_t cmd_inv_flags; /* the flags some queued command lacks, or-ed */
} multiState;

typedef struct blockingState {
    int btype;                 /* BLOCKED_* */
    int timeout_reply;         /* BLOCK_TIMEOUT_* */
    int db;
    int nkeys;
    sds *keys;
    struct redisCommand *cmd;  /* the command to run again when keys change */
    int argc;
    sds *argv;
    struct event *timer;
    int reblocked;             /* set when a re-run found nothing again */
    long long numreplicas;     /* WAIT: replicas to wait for */
} blockingState;

typedef struct watchedKey {
    int db;
    sds key;
    int expired; /* had already expired when WATCHed */
} watchedKey;
typedef void commandProc(client *c);
struct keySpec;
struct keyList; /* getkeys.c */

typedef struct redisCommand {
    const char *name;      /* lower case; "container|sub" names are not used */
    commandProc *proc;
    int arity;             /* N exact, -N at least N (the name counts) */
    const char *sflags;    /* space separated: write readonly denyoom fast ... */
    const char *acl;       /* space separated ACL categories without '@' */
    int firstkey, lastkey, keystep;
    struct redisCommand *subcommands; /* NULL-terminated table or NULL */
    /* where its keys are (getkeys.c sets these at start-up): Redis 7.0's key
     * specs, and the procedure for the lines the specs cannot describe */
    const struct keySpec *key_specs;
    int key_specs_num;
    int (*getkeys_proc)(sds *argv, int argc, struct keyList *out);
    /* COMMAND DOCS of a command Redis has not (DEBUG-FAULT); for the others
     * it answers Redis's own (command_args.c) */
    const char *group;     /* generic, string, server, connection, ... */
    const char *since;
    const char *summary;
    const char *complexity;
    /* filled at start-up */
    uint64_t flags;
    const char *fullname;  /* "config|get" for subcommands, else name */
    /* statistics */
    long long calls, failed_calls, rejected_calls, microseconds;
    int acl_id;            /* its bit in ACL command permissions (acl.c) */
} redisCommand;

struct client {
    uint64_t id;
    int fd;
    struct bufferevent *bev;  /* NULL for fake clients */
    struct evbuffer *out;     /* where replies go */
    struct evbuffer *held;    /* DREDIS_FSYNC=always: replies waiting for the sync */
    int db;
    int flags;
    int resp;                 /* protocol version: 2 or 3 */
    respParser parser;
    int argc;
    sds *argv;
    redisCommand *cmd, *lastcmd;
    sds name;
    char addr[64];
    char laddr[64];
    long long ctime;          /* ms */
    long long last_interaction; /* ms */
    size_t last_read;           /* bytes of the socket's last read */
    int authenticated;
    struct aclUser *user;     /* the ACL user (acl.c); NULL: a fake client, may run anything */
    struct dict *pubsub_channels; /* NULL until the first SUBSCRIBE */
    struct dict *pubsub_patterns;
    struct dict *pubsub_shard_channels;
    multiState mstate;
    blockingState bstate;
    watchedKey *watched;
    int nwatched;
    /* propagation of the running command (propagate.c) */
    int prop_flags;            /* PROP_* */
    int prop_suppress;         /* a script's redis.set_repl(): PROPAGATE_AOF/REPL its commands are not sent to */
    int prop_argc;             /* what it propagates instead of argv, when set */
    sds *prop_argv;
    long long woff;            /* master_repl_offset after its last command (WAIT) */
    /* a replica's connection (replication.c) */
    int replstate;
    int slave_capa;
    int slave_listening_port;
    char slave_addr[64];       /* REPLCONF ip-address */
    long long repl_ack_off;    /* the offset it acknowledged last */
    long long repl_ack_time;   /* unix ms of its last acknowledgement */
    long long psync_initial_offset; /* where its stream starts after the RDB */
    struct evbuffer *repl_pending; /* the stream while its RDB is made */
    size_t parsed_bytes;       /* of the command being parsed (a master's stream offset) */
    long long obuf_soft_limit_reached_time; /* unix s its output first passed the soft limit, 0: below */
    struct trackingState *tracking; /* CLIENT TRACKING (tracking.c), NULL until used */
    struct client *prev, *next;
};

/* What call() keeps of the propagation state around a command (propagate.c) */
typedef struct propState {
    int flags, argc;
    sds *argv;
    int nops;
    long long changes, expiry_changes;
} propState;

struct dredisServer {
    struct event_base *base;
    struct evconnlistener *listener;
    struct evconnlistener *unix_listener;
    char *unixsocket;          /* NULL: TCP only */
    long unixsocketperm;
    struct event *cron_ev;
    struct event *sigterm_ev, *sigint_ev;
    char *host;
    int port;
    char *root_dir;
    int root_dir_is_temp;
    int debug;
    int flushall_on_startup;
    char *import_rdb;         /* DREDIS_IMPORT_RDB: an RDB file loaded at start-up (rdb_tool.c) */
    int dbnum;
    pid_t pid;
    long long start_time_ms;
    uint64_t next_client_id;
    client *clients;          /* doubly linked list head */
    unsigned long nclients;
    unsigned long maxclients;
    unsigned long blocked_clients;
    unsigned long long maxmemory; /* 0: none (evict.c) */
    int pre_command_oom_state;    /* over maxmemory when the command started (scripts check it) */
    /* stats */
    long long stat_numcommands;
    long long stat_numconnections;
    long long stat_rejected_conn;
    long long stat_expiredkeys;
    long long stat_keyspace_hits, stat_keyspace_misses;
    long long stat_net_input_bytes, stat_net_output_bytes;
    long long stat_io_errors;
    int shutdown_asap;
    const char *fsync_policy;
    int fsync_always;          /* replies wait for the batch's sync */
    int in_exec;               /* an EXEC runs its commands */
    long long rdb_key_save_delay; /* Redis's rdb-key-save-delay (tests): snapshot.c, export children */
    long long key_load_delay;     /* Redis's key-load-delay (tests): a replica's RDB loading child */
    struct event *flush_ev;    /* runs after every other event of a loop turn */
    client **pending_flush;    /* clients with held replies */
    int npending_flush;
    client **pending_write;    /* clients with output not yet written */
    int npending_write;
    int in_flush;              /* flush_ev's callback is running */
    char *requirepass;        /* NULL: no password */
    char *acl_filename;       /* DREDIS_ACLFILE (Redis's aclfile), NULL: none */
    long long acllog_max_len; /* acllog-max-len */
    int protected_mode;       /* protected-mode: only loopback clients without a password */
    clientBufferLimits client_obuf_limits[CLIENT_TYPE_OBUF_COUNT]; /* client-output-buffer-limit */
    long long client_max_querybuf_len; /* client-query-buffer-limit */
    long long stat_output_pauses; /* clients paused by backpressure */
    int verbosity;            /* LL_* */
    long long idle_timeout;   /* seconds; 0 = never close idle clients */
    long long slowlog_log_slower_than; /* us */
    long long slowlog_max_len;
    char runid[41];
    /* scripting */
    long long lua_time_limit;  /* ms before other clients get -BUSY */
    size_t lua_memory_limit;   /* bytes the Lua interpreter may use */
    long zset_cache_members;  /* DREDIS_ZSET_CACHE_MEMBERS: sorted set index cache budget */
    long long hll_sparse_max_bytes; /* hll-sparse-max-bytes: a sparse HLL that would grow longer turns dense */
    int notify_keyspace_events; /* NOTIFY_* classes (notify-keyspace-events) */
    int active_expire_disabled; /* DEBUG SET-ACTIVE-EXPIRE 0: keys expire only when accessed */
    int enable_debug_cmd;      /* DREDIS_ENABLE_DEBUG_COMMAND: PROTECTED_ACTION_ALLOWED_* */
    int pause_cron;            /* DEBUG PAUSE-CRON 1: serverCron does nothing */
    int script_disable_deny_script; /* DEBUG SET-DISABLE-DENY-SCRIPTS 1: scripts may run noscript commands */
    unsigned long long quicklist_packed_threshold; /* DEBUG QUICKLIST-PACKED-THRESHOLD (kept, no effect) */
    /* snapshots (save.c) */
    char *snapshot_dir;        /* DREDIS_SNAPSHOT_DIR */
    int snapshot_keep;         /* DREDIS_SNAPSHOT_KEEP: newest kept, 0 = all */
    struct saveParam { long long seconds, changes; } *save_params; /* DREDIS_SAVE */
    int save_params_count;
    long long lastsave;        /* unix s of the last complete snapshot (start-up before) */
    long long lastsave_try;    /* unix s of the last attempt, for DREDIS_SAVE */
    int lastbgsave_ok;
    long long changes_at_save; /* storeChanges() when the last complete snapshot began */
    long long changes_at_start; /* storeChanges() when the running one began */
    long long rdb_saves;
    long long rdb_save_time_start; /* unix s, -1 when none runs */
    long long rdb_save_time_last;  /* seconds the last one took, -1 before any */
    int bgsave_scheduled;
    /* replication (replication.c) */
    char replid[41];           /* this history's replication id */
    char replid2[41];          /* the one before it, valid up to second_replid_offset */
    long long master_repl_offset;
    long long second_replid_offset;
    long long repl_backlog_size; /* DREDIS_REPL_BACKLOG_SIZE */
    long long repl_ping_period;  /* seconds between PINGs to replicas */
    long long repl_timeout;      /* seconds without an acknowledgement before a replica is dropped */
    char *masterhost;            /* a replica of masterhost:masterport (replica.c), NULL for a master */
    int masterport;
    char *masterauth;            /* DREDIS_MASTERAUTH */
    struct client *master;       /* the master client, once synced */
    long long replica_priority;  /* replica-priority, for Sentinel */
    long long repl_min_replicas_to_write; /* min-replicas-to-write: 0, off */
    long long repl_min_replicas_max_lag;  /* min-replicas-max-lag, seconds: 0, off */
    int repl_serve_stale_data;            /* replica-serve-stale-data */
    long long tracking_table_max_keys; /* tracking-table-max-keys, 0 = no limit */
    long long latency_monitor_threshold; /* ms, 0 = the latency monitor is off */
};

extern struct dredisServer server;

/* ---- networking.c ---- */
int listenToPort(char **err);
int changeListenPort(int port); /* CONFIG SET port */
int listenToUnixSocket(char **err);
client *createClient(int fd, struct bufferevent *bev);
client *createFakeClient(void);
void freeClient(client *c);
void freeFakeClient(client *c);
void closeClientAsync(client *c);
void closeAfterReply(client *c); /* close once the output is written */
void serveConnection(client *c);  /* callbacks set, reading on */
void resumeClientInput(client *c);
void networkingInit(void);
void flushHeldReplies(void);
void holdClient(client *c);
void addReply(client *c, const char *s, size_t len);
void addReplyProto(client *c, const char *s);
void addReplyStatus(client *c, const char *status);
void addReplyStatusLength(client *c, const char *s, size_t len);
void addReplyError(client *c, const char *err);
void addReplyErrorLength(client *c, const char *err, size_t len);
void addReplyErrorLengthEx(client *c, const char *err, size_t len, int count_stats);
void addReplyErrorFormat(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void addReplyErrorArity(client *c);
void addReplyErrorWrongType(client *c);
void addReplyErrorSyntax(client *c);
void addReplySubcommandSyntaxError(client *c);
void addReplyErrorIO(client *c, int err);
void addReplyBulk(client *c, const char *p, size_t len);
void addReplyBulkSds(client *c, sds s); /* frees s */
void addReplyBulkCString(client *c, const char *s);
void addReplyBulkLongLong(client *c, long long v);
void addReplyLongLong(client *c, long long v);
void addReplyDouble(client *c, double d);
void addReplyHumanLongDouble(client *c, long double d);
void addReplyNull(client *c);
void addReplyNullArray(client *c);
void addReplyArrayLen(client *c, long len);
void addReplyMapLen(client *c, long len);
void addReplySetLen(client *c, long len);
void addReplyBool(client *c, int b);
void addReplyOK(client *c);
void addReplyVerbatim(client *c, const char *s, size_t len, const char *ext);
void *addReplyDeferredLen(client *c);
void setDeferredArrayLen(client *c, void *node, long len);
void setDeferredMapLen(client *c, void *node, long len);
void setDeferredSetLen(client *c, void *node, long len);
sds clientInfoString(client *c);
/* ---- protected_mode.c ---- */
extern const char *protectedModeDeniedText;
int isLoopbackPeer(int family, const char *ip);
int protectedModeDenies(int protected_mode, int has_password, int family, const char *ip);
/* ---- client_limits.c ---- */
extern clientBufferLimits clientOutputLimitDefaults[CLIENT_TYPE_OBUF_COUNT];
int clientOutputClass(client *c);
int clientOutputLimitReached(client *c, size_t used);
int closeClientOnOutputLimit(client *c, size_t used);
void clientsCronOutputLimits(void);
const char *setClientOutputLimits(const char *value);
sds getClientOutputLimits(void);
int parseMemoryAsRedis(const char *v, unsigned long long *out); /* config.c: Redis's memtoull */
client *lookupClientByID(uint64_t id); /* connection.c */
/* A reply built aside (see networking.c). */
typedef struct replyCapture {
    struct evbuffer *saved, *body;
} replyCapture;
void replyCaptureStart(client *c, replyCapture *rc);
void replyCaptureStop(client *c, replyCapture *rc);
void replyCaptureSend(client *c, replyCapture *rc, void (*header)(client *, long), long len);
void replyCaptureEndArray(client *c, replyCapture *rc, long len);
void replyCaptureEndSet(client *c, replyCapture *rc, long len);
void replyCaptureEndMap(client *c, replyCapture *rc, long len);
void replyCaptureAbort(client *c, replyCapture *rc);
/* HELP subcommands: the lines as status replies */
void addReplyHelp(client *c, const char **lines, size_t n);
#define addReplyHelpLines(c, lines) addReplyHelp((c), (lines), sizeof(lines) / sizeof((lines)[0]))
void processEventsWhileBlocked(void);

/* ---- commands.c ---- */
void commandTableInit(void);
redisCommand *lookupCommand(sds *argv, int argc);
redisCommand *lookupCommandExact(sds *argv, int argc); /* NULL for an unknown subcommand */
redisCommand *lookupCommandByName(const char *name);
/* command_args.c, generated: Redis 7.0's COMMAND DOCS fields of a command
 * (RESP3 key/value pairs, *fields of them), NULL for one Redis has not */
const char *commandRedisDocs(const char *fullname, int *fields);
void call(client *c, redisCommand *cmd);
int processCommand(client *c);
void commandCommand(client *c);
void quitCommand(client *c);
void pingCommand(client *c);
void resetCommand(client *c);
size_t commandTableCount(void);
void resetCommandStats(void);
void countErrorReply(const char *err, size_t len);
long long errorRepliesCount(void);
sds genErrorStatsInfo(sds info);
void commandTableForEach(void (*fn)(redisCommand *cmd, void *ud), void *ud);

/* ---- multi.c ---- */
void multiInit(void);
void freeClientMultiState(client *c);
void queueMultiCommand(client *c, redisCommand *cmd);
void flagTransaction(client *c);
void unwatchAllKeys(client *c);
void touchWatchedKey(int db, const char *key, size_t len);
void touchAllWatchedKeysInDb(int db);
/* SWAPDB: Redis's WATCH effects of swapping db1 and db2, decided before the
 * swap; the flush hooks of the swap leave WATCHes until ...End() */
void touchWatchedKeysOnSwap(int db1, int db2);
void touchWatchedKeysOnSwapEnd(void);
int isMultiControlCommand(const redisCommand *cmd);
int isExecCommand(const redisCommand *cmd);
int isDiscardCommand(const redisCommand *cmd);
void execCommandAbort(client *c, const char *err);

/* ---- pubsub.c ---- */
void pubsubInit(void);
int clientSubscriptionsCount(client *c);
int pubsubUnsubscribeAll(client *c, int kind, int notify); /* kind: 0 channels, 1 patterns, 2 shard channels */
void freeClientPubsub(client *c);
long long pubsubPublishMessage(const char *channel, size_t clen, const char *msg, size_t mlen);
int pubsubAllowedWhileSubscribed(const redisCommand *cmd);

/* ---- notify.c ---- */
/* Keyspace notification classes, as Redis 7.0's (and their letters) */
#define NOTIFY_KEYSPACE (1 << 0)  /* K */
#define NOTIFY_KEYEVENT (1 << 1)  /* E */
#define NOTIFY_GENERIC (1 << 2)   /* g */
#define NOTIFY_STRING (1 << 3)    /* $ */
#define NOTIFY_LIST (1 << 4)      /* l */
#define NOTIFY_SET (1 << 5)       /* s */
#define NOTIFY_HASH (1 << 6)      /* h */
#define NOTIFY_ZSET (1 << 7)      /* z */
#define NOTIFY_EXPIRED (1 << 8)   /* x */
#define NOTIFY_EVICTED (1 << 9)   /* e (dredis never evicts) */
#define NOTIFY_STREAM (1 << 10)   /* t */
#define NOTIFY_KEY_MISS (1 << 11) /* m (not part of A) */
#define NOTIFY_MODULE (1 << 13)   /* d (dredis has no modules) */
#define NOTIFY_NEW (1 << 14)      /* n (not part of A) */
#define NOTIFY_ALL (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | \
                    NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE) /* A */
int keyspaceEventsStringToFlags(const char *classes); /* -1: a character is no class */
sds keyspaceEventsFlagsToString(int flags);
/* Publish event of class type about key of db dbid, if that class is on. */
void notifyKeyspaceEvent(int type, const char *event, sds key, int dbid);
void notifyKeyspaceEventLen(int type, const char *event, const char *key, size_t keylen, int dbid);

/* ---- blocking.c ---- */
void blockingInit(void);
/* Block c until one of keys changes or timeout_ms (absolute unix ms, 0 =
 * forever); called by a blocking command that found nothing to serve. */
void blockForKeys(client *c, int btype, sds *keys, int nkeys, long long timeout_ms, int timeout_reply);
void unblockClient(client *c);
int clientMayBlock(client *c);
void replyToBlockedClientTimedOut(client *c);
int unblockClientOnRequest(client *target, int error); /* CLIENT UNBLOCK */
void signalKeyAsReady(int db, const char *key, size_t len);
void handleClientsBlockedOnKeys(void);
void signalAllBlockedKeysInDb(int db);
/* CLIENT PAUSE */
int commandIsPaused(client *c, redisCommand *cmd);
int clientsArePaused(void);
/* evict.c: over maxmemory, when deny-oom commands are refused (noeviction) */
int overMaxmemory(void);
void runCommandOrQueue(client *c, redisCommand *cmd);
void postponeClient(client *c, redisCommand *cmd);
#define PAUSE_BY_CLIENT_COMMAND 0 /* CLIENT PAUSE */
#define PAUSE_DURING_FAILOVER 1   /* FAILOVER (replication.c) */
#define PAUSE_PURPOSES 2
void pauseClients(int purpose, long long end_ms, int all);
void unpauseClients(int purpose);
int writesArePaused(void); /* CLIENT PAUSE in effect: no key changes, not even expiry */
/* Parse a blocking timeout in seconds (decimals allowed) into absolute unix
 * ms (0 = forever); replies with Redis's error and returns C_ERR on error. */
int getBlockingTimeoutOrReply(client *c, sds arg, long long *timeout_ms);

/* ---- introspection.c ---- */
void slowlogPushIfNeeded(client *c, int argc, sds *argv, long long duration);
void feedMonitors(client *c, int argc, sds *argv);
void monitorRemoveClient(client *c);

/* ---- tracking.c ---- */
void trackingInit(void);
void trackingKeyChanged(const char *key, size_t len); /* the store's key hook */
void trackingDbFlushed(void);                         /* a database flushed or swapped */
void trackingCallBegin(client *c);
void trackingCallEnd(client *c, redisCommand *cmd);
void trackingFreeClient(client *c);
void trackingDisable(client *c);
void trackingCron(void);
void trackingBeforeCommand(void); /* processCommand: the table within tracking-table-max-keys */
char *trackingClientFlags(client *c, char *p);        /* CLIENT LIST letters t R B */
unsigned long trackingClientsCount(void);
sds genTrackingInfo(sds info);
void clientTrackingCommand(client *c);
void clientCachingCommand(client *c);
void clientGetredirCommand(client *c);
void clientTrackinginfoCommand(client *c);

/* ---- memory.c ---- */
void memoryInit(void);
void memoryUpdatePeak(void);
size_t replicationBacklogMemory(void); /* replication.c */
size_t scriptsCacheMemory(void);       /* scripting.c: the EVAL scripts' bodies */

/* ---- latency.c ---- */
void latencyInit(void);
void latencyAddSampleIfNeeded(const char *event, long long ms);
void latencyRecordCommand(redisCommand *cmd, long long us);
void latencyResetHistograms(void);

/* ---- server.c ---- */
long long mstime(void);
long long ustime(void);
void serverLog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line that can repeat (a failing accept(), a full disk ...): logged at
 * most once per LOG_REPEAT_MS for each limiter (a static one per call
 * site), the next line saying how many were left out. */
#define LOG_REPEAT_MS 1000
typedef struct logLimiter {
    long long last_ms;
    long long suppressed;
} logLimiter;
void serverLogLimited(logLimiter *l, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raise RLIMIT_NOFILE to maxclients plus dredis's reserve, or lower
 * maxclients to what it allows (C_ERR), as Redis. */
int adjustOpenFilesLimit(void);
#define LL_DEBUG 0
#define LL_VERBOSE 1
#define LL_NOTICE 2
#define LL_WARNING 3

/* ---- config.c ---- */
int loadConfigFromEnv(char **err);

/* ---- db.c (keyspace) ---- */
#define LOOKUP_FOUND 0
#define LOOKUP_MISSING 1
#define LOOKUP_NONOTIFY (1 << 0) /* a read miss publishes no "keymiss" */
#define LOOKUP_NOTOUCH (1 << 1)  /* the key's last access time stays (TYPE, TTL, ...) */
int lookupKeyRead(client *c, sds key, int type, skey **out);
int lookupKeyReadWithFlags(client *c, sds key, int type, int flags, skey **out);
int lookupKeyWrite(client *c, sds key, int type, skey **out);
int lookupKeyAny(client *c, sds key, skey **out); /* leaves the access time */
long long lruIdleSeconds(long long atime_ms, long long now_ms);
long long lruClockOf(long long ms); /* Redis's 24-bit LRU clock at unix ms */
long long lruAccessTimeOfIdle(long long idle_s, long long now_ms);
skey *lookupKeyReadOrNil(client *c, sds key);
int deleteKey(client *c, sds key, int *deleted);
int deleteKeyEvenExpired(client *c, sds key, int *deleted);
void discardNewKey(client *c, skey *n);  /* a new key given up: removed, errno replied */
int publishNewKey(client *c, skey *n);   /* made visible and closed; C_ERR after replying */
void activeExpireCycle(void);
void expiryClockEnter(long long nowms); /* call(): the outermost command fixes the clock */
void expiryClockLeave(void);
int keyIsExpired(const skey *k);   /* by that clock, as Redis 7.0 judges it */
const char *typeName(int type);
int typeFromName(const char *name);
int getLongLongFromArgOrReply(client *c, sds arg, long long *out, const char *msg);
int getLongFromArgOrReply(client *c, sds arg, long *out, const char *msg);
int getDoubleFromArgOrReply(client *c, sds arg, double *out, const char *msg);
int getLongDoubleFromArgOrReply(client *c, sds arg, long double *out, const char *msg);
int getPositiveLongFromArgOrReply(client *c, sds arg, long *out, const char *msg);
int selectDb(client *c, long id);
/* The cursor of SCAN, HSCAN, SSCAN and ZSCAN (strtoul rules, as Redis).
 * C_ERR after replying. */
int parseScanCursorOrReply(client *c, sds arg, unsigned long long *cursor);

/* ---- collection.c ---- */
/* Open key for a write as a collection of type: the existing key, or a new
 * one built under .tmp (k->staged) that collectionCommit() publishes. C_ERR
 * after replying (WRONGTYPE, storage error). */
int collectionOpenForWrite(client *c, sds key, int type, skey **out);
/* The member count kept in the key's "len" file (0 when absent). */
int collectionLen(skey *k, long long *len);
/* After a command changed the collection by delta members: update "len",
 * publish a new key, or delete an emptied one. C_ERR after replying. */
int collectionCommit(client *c, skey *k, long long delta);
/* The same, telling in *outcome what became of the key, for the keyspace
 * events ("new" for CREATED, "del" for DELETED) the command publishes. */
#define COLLECTION_KEPT 0      /* an existing key, still there */
#define COLLECTION_CREATED 1   /* a new key, published */
#define COLLECTION_REPLACED 2  /* a new key, published over an existing one */
#define COLLECTION_DELETED 3   /* an existing key left empty, deleted */
#define COLLECTION_DISCARDED 4 /* a new key left empty, thrown away */
int collectionCommitGeneric(client *c, skey *k, long long delta, int *outcome);
/* The whole of HLEN / SCARD / ZCARD / XLEN for a key of type. */
void collectionLenCommand(client *c, int type);
/* The count and the option of HRANDFIELD / ZRANDMEMBER key count [withopt]
 * (argc >= 3): *with tells whether withopt ("withvalues", "withscores")
 * was given. C_ERR after replying. */
int collectionParseRandomCount(client *c, const char *withopt, long *count, int *with);

/* ---- t_list.c ---- */
/* For DUMP: fn for each element of list k in order; *count gets their
 * number. STORE_ERR (errno EUCLEAN for a damaged key) or what fn returned. */
typedef int listVisitor(void *ud, const char *p, size_t len);
int listVisit(skey *k, listVisitor *fn, void *ud, long long *count);
void listEndsCacheClear(void); /* DEBUG RELOAD */
/* For RESTORE: a new (staged) list key built element by element, in
 * segments; listBuildEnd() writes what is left (save) and frees l. */
typedef struct listRef listRef;
listRef *listBuildStart(skey *k);
int listBuildPush(listRef *l, const char *p, size_t len);
int listBuildEnd(listRef *l, int save);

/* ---- notify_systemd.c ---- */
void systemdNotifyReady(void);    /* Type=notify units: journal recovered, ports open */
void systemdNotifyStopping(void);

/* ---- propagate.c ---- */
void propagateCallBegin(client *c, propState *ps);
void propagateCallEnd(client *c, propState *ps, int rolled_back);
void propagateUnitBegin(void);
void propagateUnitEnd(void);
void alsoPropagate(int db, int argc, sds *argv);     /* argv is copied */
void alsoPropagateArgs(int db, int argc, ...);       /* argc sds arguments, copied */
void propagateExpiry(int db, sds key, long long changes);
sds propWord(const char *word); /* a shared, never freed sds of a command word */
void preventCommandPropagation(client *c);
void forceCommandPropagation(client *c);
void forceReplicaPropagation(client *c); /* PUBLISH: to replicas, not to the AOF */
void rewriteCommandForPropagation(client *c, int argc, ...); /* argc sds arguments, copied */
void rewriteCommandForPropagationArgv(client *c, int argc, sds *argv);

/* ---- replication.c ---- */
void replicationInit(void);
void replicationShutdown(void);
void replicationCron(void);
int replicationWanted(void);        /* a backlog or a replica: the stream is kept */
long long replicationOffset(void);
void replicationFeed(int db, int argc, sds *argv);
void replicationForgetClient(client *c);
void replicationSnapshotEnded(int ok, const char *dir);
int replicationExportRunning(void);
int replicationAckedReplicas(client *c); /* replicas that acknowledged c's writes */
int replicationGoodReplicasOk(void);
int replicaIsStale(void); /* a replica without its master link, with replica-serve-stale-data no */     /* min-replicas-to-write is met (or off, or not a master) */
void replicationRequestAck(void);
void replicationWaitersCheck(void);     /* blocking.c: WAIT clients now satisfied */
sds genReplicationInfo(sds info);
sds genReplicationStats(sds info);
void replicationFeedRaw(const char *p, size_t len);
void replicationOutputDrained(client *c);
sds catCommandMultibulk(sds s, int argc, sds *argv); /* a command as the stream has it */
int replicationHasHistory(void);
int replicationReplicaCount(void);
size_t replicationPendingStream(client *c);
void replicationDisconnectReplicas(void);
void replicationResetHistory(const char *replid, long long offset);
void replicationChangeIds(void); /* DEBUG CHANGE-REPL-ID */
void replicationShiftHistory(const char *newid);
void replicationPromote(void);
void replicationRestoreHistory(const char *replid, long long offset);
/* FAILOVER (replication.c): its state, and what replica.c tells it */
#define NO_FAILOVER 0
#define FAILOVER_WAIT_FOR_SYNC 1  /* writes paused; the target's acknowledgement awaited */
#define FAILOVER_IN_PROGRESS 2    /* a replica of the target: PSYNC ... FAILOVER sent */
int failoverState(void);
void failoverPsyncAccepted(void); /* the target answered +CONTINUE or +FULLRESYNC */
void failoverAbort(const char *why);

/* ---- replica.c ---- */
void replicaInit(void);
void replicaShutdown(void);
void replicaCron(void);
void replicaApplyCommand(client *c, size_t bytes);
void replicaMasterLinkLost(client *c);
void replicaGetAck(client *c);
int replicaStreamDb(void); /* the database of our master's stream where we are */
sds genReplicaInfo(sds info);
void addReplyReplicaRole(client *c);
void replicaSetMasterForFailover(const char *host, int port); /* replicas stay connected */
void replicaUnsetMaster(void); /* a master again, under a new replication id */

/* ---- aof.c ---- */
int aofFeedWanted(void);                      /* an incr file is open: propagate.c feeds it */
void aofFeed(int db, int argc, sds *argv);    /* one command of the stream */
void aofFlush(void);                          /* before replies leave (networking.c) */
int aofWritesDenied(void);                    /* the last AOF write failed: -MISCONF */
const char *aofWriteError(void);
int aofRewriteRunning(void);
void aofSnapshotEnded(int ok, const char *dir); /* save.c */
void aofTreeReplaced(void);                   /* replica.c: a full sync's tree */
const char *aofSetEnabled(const char *v);     /* CONFIG SET appendonly */
int aofEnabled(void);
size_t aofBufferLength(void);  /* MEMORY STATS aof.buffer */
void aofSetFlushSleep(int us);  /* DEBUG AOF-FLUSH-SLEEP */
const char *aofValidName(const char *v, int dir);
void aofConfigure(const char *filename, const char *dirname, int enabled);
const char *aofFilename(void);
const char *aofDirname(void);
long long *aofAutoPercentage(void);
long long *aofAutoMinSize(void);
int *aofNoFsyncOnRewrite(void);
int *aofUseRdbPreamble(void);
/* the rewrite's child: the base as commands (aof-use-rdb-preamble no) */
int aofWriteCommandBase(int fd, long long *keys, long long *bytes, sds *err);
int aofInit(void);
void aofShutdown(void);
void aofCron(void);
sds aofGenInfo(sds info);
extern redisCommand aofCommandTable[];

/* ---- save.c ---- */
void saveInit(void);
int saveInProgress(void);          /* a snapshot or the RDB of a full sync is being made */
const char *saveStartBackground(void); /* NULL, or why no snapshot could start */
const char *saveStartForAof(void);      /* the same, for an AOF rewrite (private) */
void saveCron(void);          /* serverCron: a finished snapshot, a scheduled or periodic one */
sds genPersistenceInfo(sds info);

/* ---- scripting.c ---- */
int scriptIsRunning(void);           /* inside EVAL and friends */
long long scriptStartTime(void);     /* when the running script started (ms) */
int scriptIsTimedout(void);          /* a script runs past DREDIS_LUA_TIME_LIMIT */
/* cmd's flags for this run of it: a script's shebang decides EVAL's */
uint64_t scriptCommandFlags(client *c, redisCommand *cmd);
uint64_t commandRunFlags(client *c, redisCommand *cmd); /* scriptCommandFlags, and EXEC's queue */
sds genScriptingMemoryInfo(sds info); /* INFO memory fields of the Lua engine */
const char *scriptBusyError(void);    /* the -BUSY text while a script or function runs too long */

/* ---- function.c ---- */
/* Load the libraries kept in the store (start-up, after a full sync's
 * swap): C_ERR with *err (caller frees) when one does not load. */
int functionsLoadFromStore(sds *err);
int functionsLoadAtStartup(void); /* the same; the reason on stderr */
int functionsLibraryCount(void);
sds genFunctionsMemoryInfo(sds info); /* number_of_functions ... for INFO memory */
size_t functionsCacheMemory(void);         /* the libraries held outside Lua (used_memory_functions) */
/* FCALL's flags as its function declares them; cmd->flags for others */
uint64_t fcallCommandFlags(client *c, redisCommand *cmd);
/* An RDB file's FUNCTION2 record (the library code): loaded and stored as
 * FUNCTION LOAD would; C_ERR with *err. */
int functionsLoadLibraryCode(const char *code, size_t len, sds *err);
/* Delete a library, if it exists (undoing a failed RDB load) */
void functionsDeleteLibrary(const char *name, size_t len);
/* ---- t_zset.c ---- */
/* INFO lines about the sorted set index cache, appended to info. */
sds zsetCacheInfo(sds info);
void zsetIndexCacheClear(void); /* DEBUG RELOAD */
/* For DUMP/RESTORE: a member's score; adding a member to a new (staged) key */
int zsetMemberScore(skey *k, const char *m, size_t len, double *score);
int zsetAddToNewKey(skey *k, const char *m, size_t len, double score);
/* For SORT: all members in rank order (the caller frees each and the array) */
int zsetMembersInOrder(skey *k, sds **out, unsigned long *n);
/* For GEO: fn for each member with min <= score < max of each span in
 * turn, until fn returns nonzero (C_ERR after replying); storing a result
 * as ZRANGESTORE does (items unique; event: the keyspace event of the
 * store) */
typedef int zsetRangeVisitor(void *ud, sds member, double score);
typedef struct zsetScoreSpan { double min, max; } zsetScoreSpan;
int zsetVisitScoreRanges(client *c, skey *k, const zsetScoreSpan *spans, int n, zsetRangeVisitor *fn, void *ud);
struct zmapEntry;
void zsetStoreResult(client *c, sds dst, struct zmapEntry *items, size_t n, const char *event);

/* Command tables, one per file, each terminated by a {NULL} entry. */
extern redisCommand serverCommandTable[];
extern redisCommand aclCommandTable[];
extern redisCommand keyspaceCommandTable[];
extern redisCommand stringCommandTable[];
extern redisCommand hashCommandTable[];
extern redisCommand setCommandTable[];
extern redisCommand zsetCommandTable[];
extern redisCommand listCommandTable[];
extern redisCommand multiCommandTable[];
extern redisCommand connectionCommandTable[];
extern redisCommand pubsubCommandTable[];
extern redisCommand configCommandTable[];
extern redisCommand introspectionCommandTable[];
extern redisCommand faultCommandTable[];
/* faults.c: DEBUG-FAULT exists only with DREDIS_ENABLE_DEBUG_FAULTS=1 */
int faultsEnabled(void);
int faultsInit(const char **err);
extern redisCommand latencyCommandTable[];
extern redisCommand memoryCommandTable[];
extern redisCommand blockingCommandTable[];
extern redisCommand scriptingCommandTable[];
extern redisCommand functionCommandTable[];
extern redisCommand streamCommandTable[];
extern redisCommand dumpCommandTable[];
int dumpKeyPayload(skey *k, sds *out);
extern redisCommand migrateCommandTable[];
extern redisCommand lolwutCommandTable[];
void migrateCron(void);
sds genMigrateInfo(sds info);
void redactClientArgument(client *c, int i);
extern redisCommand bitopsCommandTable[];
extern redisCommand sortCommandTable[];
extern redisCommand hllCommandTable[];
extern redisCommand clusterCommandTable[];
extern redisCommand moduleCommandTable[];
const char *moduleCommandRefused(const redisCommand *cmd);
/* debug.c: DEBUG, and its gate (enable-debug-command) */
extern redisCommand debugCommandTable[];
#define PROTECTED_ACTION_ALLOWED_NO 0
#define PROTECTED_ACTION_ALLOWED_YES 1
#define PROTECTED_ACTION_ALLOWED_LOCAL 2
const char *debugCommandRefused(client *c, const redisCommand *cmd);
extern redisCommand geoCommandTable[];
extern redisCommand saveCommandTable[];
extern redisCommand replicationCommandTable[];
extern redisCommand replicaCommandTable[];

/* config.c: entries per stream segment (Redis's stream-node-max-entries, 0 = no limit) */
long long configStreamNodeMaxEntries(void);

/* getkeys.c: which arguments of a command line are keys (as Redis 7.0's
 * getKeysFromCommandWithSpecs), each with its KS_* flags (key_specs.h) */
typedef struct keyRef {
    int pos;   /* in argv, argv[0] being the command */
    int flags; /* KS_* */
} keyRef;
void commandKeysInit(redisCommand *cmd);
int commandHasKeys(const redisCommand *cmd);
int commandKeys(const redisCommand *cmd, sds *argv, int argc, keyRef **out); /* *out: zfree */
void addReplyKeyFlags(client *c, int flags);
void addReplyCommandKeySpecs(client *c, const redisCommand *cmd);

/* replication.c: CONFIG SET repl-backlog-size (keeps the newest history) */
void replicationResizeBacklog(long long size);

#endif
