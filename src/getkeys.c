/* getkeys.c - where the movable keys of a command are in its arguments.
 *
 * Most commands name their keys at fixed positions (firstkey, lastkey and
 * keystep in the command table). The others ("movablekeys" in COMMAND INFO)
 * find them as Redis 7.0's key specs say: after a count argument (ZUNION's
 * numkeys, EVAL's numkeys), after a keyword (XREAD's STREAMS), or, for
 * SORT's STORE, by walking the options. This file holds those rules, one
 * per command, and attaches them to the command table at start-up, so that
 * COMMAND GETKEYS and anything else that needs a command's keys asks
 * commandKeys() alone. */

#include "server.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A key spec of Redis 7.0 (src/commands/<command>.json), reduced to the
 * forms the movable commands use. */
typedef struct movableKeys {
    const char *command;
    enum { AFTER_NUMKEYS, AFTER_KEYWORD, SORT_STORE } kind;
    int index;           /* AFTER_NUMKEYS: the numkeys argument */
    const char *keyword; /* AFTER_KEYWORD: searched from index on */
} movableKeys;

static const movableKeys movableTable[] = {
    {"zunionstore", AFTER_NUMKEYS, 2, NULL},  {"zinterstore", AFTER_NUMKEYS, 2, NULL},
    {"zdiffstore", AFTER_NUMKEYS, 2, NULL},   {"zunion", AFTER_NUMKEYS, 1, NULL},
    {"zinter", AFTER_NUMKEYS, 1, NULL},       {"zdiff", AFTER_NUMKEYS, 1, NULL},
    {"zintercard", AFTER_NUMKEYS, 1, NULL},   {"sintercard", AFTER_NUMKEYS, 1, NULL},
    {"lmpop", AFTER_NUMKEYS, 1, NULL},        {"zmpop", AFTER_NUMKEYS, 1, NULL},
    {"blmpop", AFTER_NUMKEYS, 2, NULL},       {"bzmpop", AFTER_NUMKEYS, 2, NULL},
    {"eval", AFTER_NUMKEYS, 2, NULL},         {"evalsha", AFTER_NUMKEYS, 2, NULL},
    {"eval_ro", AFTER_NUMKEYS, 2, NULL},      {"evalsha_ro", AFTER_NUMKEYS, 2, NULL},
    {"fcall", AFTER_NUMKEYS, 2, NULL},        {"fcall_ro", AFTER_NUMKEYS, 2, NULL},
    {"xread", AFTER_KEYWORD, 1, "streams"},   {"xreadgroup", AFTER_KEYWORD, 4, "streams"},
    {"sort", SORT_STORE, 0, NULL},
};

/* numkeys keys after the count at argv[index]. A count that is not a
 * number from 1 to the arguments left is invalid (-1): as in Redis, the
 * command then has no keys at all (it answers the error itself). */
static int keysAfterNumkeys(int index, int argc, sds *argv, int *out) {
    if (index >= argc) return -1;
    char *end;
    long long numkeys = strtoll(argv[index], &end, 10);
    if (*argv[index] == '\0' || *end != '\0' || numkeys < 1 || numkeys > argc - index - 1) return -1;
    int n = 0;
    for (long long i = index + 1; i <= index + numkeys; i++) out[n++] = (int)i;
    return n;
}

/* Keys after a keyword, searched from index up to the one before the last
 * argument: the first half of what follows it (XREAD's STREAMS k1 k2 id1 id2). */
static int keysAfterKeyword(int index, const char *keyword, int argc, sds *argv, int *out) {
    int first = 0;
    for (int i = index; i < argc - 1; i++) {
        if (!strcasecmp(argv[i], keyword)) {
            first = i + 1;
            break;
        }
    }
    if (!first) return 0;
    int last = first + (argc - first) / 2 - 1, n = 0;
    for (int i = first; i <= last; i++) out[n++] = i;
    return n;
}

/* SORT's STORE destination: the argument after the last STORE, skipping
 * the arguments of LIMIT, GET and BY on the way. */
static int sortStoreKey(int argc, sds *argv, int *out) {
    int store = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcasecmp(argv[i], "limit")) i += 2;
        else if (!strcasecmp(argv[i], "get") || !strcasecmp(argv[i], "by")) i += 1;
        else if (!strcasecmp(argv[i], "store") && i + 1 < argc) store = i + 1;
    }
    if (!store) return 0;
    out[0] = store;
    return 1;
}

static int movableKeysOf(const movableKeys *m, int argc, sds *argv, int *out) {
    switch (m->kind) {
    case AFTER_NUMKEYS: return keysAfterNumkeys(m->index, argc, argv, out);
    case AFTER_KEYWORD: return keysAfterKeyword(m->index, m->keyword, argc, argv, out);
    case SORT_STORE: return sortStoreKey(argc, argv, out);
    }
    return 0;
}

static const movableKeys *movableKeysFor(const redisCommand *cmd) {
    for (size_t i = 0; i < sizeof(movableTable) / sizeof(movableTable[0]); i++)
        if (!strcmp(movableTable[i].command, cmd->fullname)) return &movableTable[i];
    return NULL;
}

int commandHasKeys(const redisCommand *cmd) {
    return cmd->firstkey > 0 || cmd->getkeys || movableKeysFor(cmd);
}

int commandKeys(const redisCommand *cmd, int argc, sds *argv, int *out) {
    int n = 0;
    if (cmd->firstkey > 0) {
        int last = cmd->lastkey < 0 ? argc + cmd->lastkey : cmd->lastkey;
        for (int i = cmd->firstkey; i <= last && i < argc; i += cmd->keystep) out[n++] = i;
    }
    if (cmd->getkeys) n += cmd->getkeys(argc, argv, out + n);
    const movableKeys *m = movableKeysFor(cmd);
    if (m) {
        int moved = movableKeysOf(m, argc, argv, out + n);
        if (moved < 0) return 0;
        n += moved;
    }
    return n;
}
