/* cluster.c - the Redis Cluster commands of a server that is not a cluster
 * node: CLUSTER (every Redis 7.0 subcommand), READONLY, READWRITE and ASKING.
 * dredis runs as Redis does with its default cluster-enabled no, where each
 * of these answers that cluster support is disabled (an unknown CLUSTER
 * subcommand and a wrong argument count are refused before, by commands.c,
 * as in Redis). */
#include "server.h"

/* Redis's reply to every cluster command while cluster-enabled is no */
static void clusterDisabledCommand(client *c) {
    addReplyError(c, "ERR This instance has cluster support disabled");
}

/* the container: commands.c runs a subcommand, never this */
static void clusterCommand(client *c) { (void)c; }

#define CLUSTER_ADMIN "admin stale no_async_loading", "admin slow dangerous", 0, 0, 0, NULL
#define CLUSTER_READ "stale", "slow", 0, 0, 0, NULL

static redisCommand clusterSubcommands[] = {
    {"addslots", clusterDisabledCommand, -3, CLUSTER_ADMIN},
    {"addslotsrange", clusterDisabledCommand, -4, CLUSTER_ADMIN},
    {"bumpepoch", clusterDisabledCommand, 2, CLUSTER_ADMIN},
    {"count-failure-reports", clusterDisabledCommand, 3, "admin stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"countkeysinslot", clusterDisabledCommand, 3, CLUSTER_READ},
    {"delslots", clusterDisabledCommand, -3, CLUSTER_ADMIN},
    {"delslotsrange", clusterDisabledCommand, -4, CLUSTER_ADMIN},
    {"failover", clusterDisabledCommand, -2, CLUSTER_ADMIN},
    {"flushslots", clusterDisabledCommand, 2, CLUSTER_ADMIN},
    {"forget", clusterDisabledCommand, 3, CLUSTER_ADMIN},
    {"getkeysinslot", clusterDisabledCommand, 4, CLUSTER_READ},
    {"help", clusterDisabledCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"info", clusterDisabledCommand, 2, CLUSTER_READ},
    {"keyslot", clusterDisabledCommand, 3, CLUSTER_READ},
    {"links", clusterDisabledCommand, 2, CLUSTER_READ},
    {"meet", clusterDisabledCommand, -4, CLUSTER_ADMIN},
    {"myid", clusterDisabledCommand, 2, CLUSTER_READ},
    {"nodes", clusterDisabledCommand, 2, CLUSTER_READ},
    {"replicas", clusterDisabledCommand, 3, "admin stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"replicate", clusterDisabledCommand, 3, CLUSTER_ADMIN},
    {"reset", clusterDisabledCommand, -2, "admin noscript stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"saveconfig", clusterDisabledCommand, 2, CLUSTER_ADMIN},
    {"set-config-epoch", clusterDisabledCommand, 3, CLUSTER_ADMIN},
    {"setslot", clusterDisabledCommand, -4, CLUSTER_ADMIN},
    {"shards", clusterDisabledCommand, 2, CLUSTER_READ},
    {"slaves", clusterDisabledCommand, 3, "admin stale", "admin slow dangerous", 0, 0, 0, NULL},
    {"slots", clusterDisabledCommand, 2, CLUSTER_READ},
    {NULL}};

redisCommand clusterCommandTable[] = {
    {"cluster", clusterCommand, -2, "", "slow", 0, 0, 0, clusterSubcommands},
    {"readonly", clusterDisabledCommand, 1, "loading stale fast", "fast connection", 0, 0, 0, NULL},
    {"readwrite", clusterDisabledCommand, 1, "loading stale fast", "fast connection", 0, 0, 0, NULL},
    {"asking", clusterDisabledCommand, 1, "fast", "fast connection", 0, 0, 0, NULL},
    {NULL}};
