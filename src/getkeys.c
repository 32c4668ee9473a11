/* getkeys.c - which arguments of a command line are keys, and how the
 * command uses each (KS_RO, KS_RW, KS_ACCESS, KS_INSERT ...).
 *
 * As in Redis 7.0, the answer comes from the command's key specifications
 * (src/key_specs.c, generated from Redis 7.0.15): a begin search (an index,
 * or a keyword searched for) and a find keys (a range, or a count argument
 * followed by that many keys). The few commands whose keys or flags the
 * specs cannot always give (a spec of unknown form as SORT's STORE, flags
 * that depend on the arguments as SET's GET, a count out of range) carry a
 * procedure of their own, asked when the specs fail. COMMAND GETKEYS,
 * COMMAND GETKEYSANDFLAGS, the ACL key checks and client tracking all ask
 * commandKeys(). */

#include "server.h"
#include "key_specs.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The keys found so far (a growing array). */
typedef struct keyList {
    keyRef *refs;
    int n, cap;
} keyList;

static void keyListAdd(keyList *l, int pos, int flags) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->refs = zrealloc(l->refs, sizeof(keyRef) * (size_t)l->cap);
    }
    l->refs[l->n].pos = pos;
    l->refs[l->n].flags = flags;
    l->n++;
}

/* ---- key specs ---- */

/* Where the spec's search for keys begins: 0 when its keyword is absent
 * (the spec has no keys then), -1 for a spec of unknown form. The keyword
 * is searched from startfrom towards the end (or, when negative, from the
 * end backwards), never at the last argument itself. */
static int specBegin(const keySpec *ks, sds *argv, int argc) {
    if (ks->bs_type == KS_BS_INDEX) return ks->bs_index;
    if (ks->bs_type != KS_BS_KEYWORD) return -1;
    int from = ks->bs_startfrom > 0 ? ks->bs_startfrom : argc + ks->bs_startfrom;
    int to = ks->bs_startfrom > 0 ? argc - 1 : 1;
    int step = from <= to ? 1 : -1;
    for (int i = from; i != to && i >= 1 && i < argc; i += step)
        if (!strcasecmp(argv[i], ks->bs_keyword)) return i + 1;
    return 0;
}

/* The keys of one spec from argument first on, added to out; -1 when the
 * line does not fit the spec (a count that is not a number, a range past
 * the end) or the spec says it is incomplete. */
static int specKeys(const keySpec *ks, int first, sds *argv, int argc, keyList *out) {
    int last, step;
    if (ks->fk_type == KS_FK_RANGE) {
        step = ks->fk_b;
        if (ks->fk_a >= 0) last = first + ks->fk_a;           /* lastkey relative to first */
        else if (!ks->fk_c) last = argc + ks->fk_a;           /* counted from the end */
        else last = first + (argc - first) / ks->fk_c + ks->fk_a; /* a 1/limit part of the rest */
    } else if (ks->fk_type == KS_FK_KEYNUM) {
        step = ks->fk_c;
        int at = first + ks->fk_a;
        long long numkeys;
        if (at >= argc || !string2ll(argv[at], sdslen(argv[at]), &numkeys) || numkeys < 0 || numkeys > argc)
            return -1;
        first += ks->fk_b;
        last = first + (int)numkeys - 1;
    } else {
        return -1;
    }
    if (last >= argc || last < first || first >= argc) return -1;
    for (int i = first; i <= last; i += step) keyListAdd(out, i, ks->flags);
    return (ks->flags & KS_INCOMPLETE) ? -1 : 0;
}

/* All the keys the specs give, or -1 (out emptied) when one spec fails. */
static int keysBySpecs(const redisCommand *cmd, sds *argv, int argc, keyList *out) {
    for (int j = 0; j < cmd->key_specs_num; j++) {
        const keySpec *ks = &cmd->key_specs[j];
        if (ks->flags & KS_NOT_KEY) continue; /* SPUBLISH's channel */
        int first = specBegin(ks, argv, argc);
        if (first == 0) continue;
        if (first < 0 || specKeys(ks, first, argv, argc, out) < 0) {
            out->n = 0;
            return -1;
        }
    }
    return out->n;
}

static int specsFlagged(const redisCommand *cmd, int flag) {
    for (int j = 0; j < cmd->key_specs_num; j++)
        if (cmd->key_specs[j].flags & flag) return 1;
    return 0;
}

/* Has a spec that is not NOT_KEY. */
static int specsHaveKeys(const redisCommand *cmd) {
    for (int j = 0; j < cmd->key_specs_num; j++)
        if (!(cmd->key_specs[j].flags & KS_NOT_KEY)) return 1;
    return 0;
}

/* ---- the commands' own procedures, for what the specs cannot say ---- */

/* numkeys at argv[count_at], the keys from argv[first_at] on, then the
 * destination at argv[dest_at] (0: none). A count that is not a number
 * from 1 to the arguments left gives no keys: the command answers the
 * error itself. */
static int keysAfterCount(int dest_at, int count_at, int first_at, sds *argv, int argc, keyList *out) {
    int num = (int)strtol(argv[count_at], NULL, 10);
    if (num < 1 || num > argc - first_at) return 0;
    for (int i = 0; i < num; i++) keyListAdd(out, first_at + i, 0);
    if (dest_at) keyListAdd(out, dest_at, 0);
    return out->n;
}

/* ZUNION 2 a b, SINTERCARD, LMPOP, ZMPOP, ZINTERCARD ... */
static int countAt1Keys(sds *argv, int argc, keyList *out) { return keysAfterCount(0, 1, 2, argv, argc, out); }

/* EVAL script 2 a b, FCALL, BLMPOP timeout 2 a b, BZMPOP */
static int countAt2Keys(sds *argv, int argc, keyList *out) { return keysAfterCount(0, 2, 3, argv, argc, out); }

/* ZUNIONSTORE dest 2 a b */
static int storeCountKeys(sds *argv, int argc, keyList *out) { return keysAfterCount(1, 2, 3, argv, argc, out); }

/* SORT_RO key ...: the BY and GET patterns name keys no rule can list */
static int sortRoKeys(sds *argv, int argc, keyList *out) {
    (void)argv, (void)argc;
    keyListAdd(out, 1, KS_RO | KS_ACCESS);
    return out->n;
}

/* SORT key ... [STORE dest]: options are walked, skipping the arguments
 * of LIMIT, GET and BY; the last STORE counts, as for SORT itself. */
static int sortKeys(sds *argv, int argc, keyList *out) {
    int store = 0;
    keyListAdd(out, 1, KS_RO | KS_ACCESS);
    for (int i = 2; i < argc; i++) {
        if (!strcasecmp(argv[i], "limit")) i += 2;
        else if (!strcasecmp(argv[i], "get") || !strcasecmp(argv[i], "by")) i += 1;
        else if (!strcasecmp(argv[i], "store") && i + 1 < argc) store = i + 1;
    }
    if (store) keyListAdd(out, store, KS_OW | KS_UPDATE);
    return out->n;
}

/* GEORADIUS key ... [STORE dest] [STOREDIST dest]: the last one counts */
static int georadiusKeys(sds *argv, int argc, keyList *out) {
    int store = 0;
    for (int i = 5; i < argc; i++) {
        if ((!strcasecmp(argv[i], "store") || !strcasecmp(argv[i], "storedist")) && i + 1 < argc) {
            store = i + 1;
            i++;
        }
    }
    keyListAdd(out, 1, 0);
    if (store) keyListAdd(out, store, 0);
    return out->n;
}

/* XREAD/XREADGROUP [options] STREAMS k1 k2 id1 id2: the options are walked
 * to the first STREAMS that is not an option's argument. */
static int xreadKeys(sds *argv, int argc, keyList *out) {
    int streams = 0;
    for (int i = 1; i < argc && !streams; i++) {
        if (!strcasecmp(argv[i], "block") || !strcasecmp(argv[i], "count")) i++;
        else if (!strcasecmp(argv[i], "group")) i += 2;
        else if (!strcasecmp(argv[i], "streams")) streams = i;
        else if (strcasecmp(argv[i], "noack")) break;
    }
    int rest = streams ? argc - streams - 1 : 0;
    if (rest == 0 || rest % 2) return 0;
    for (int i = streams + 1; i < streams + 1 + rest / 2; i++) keyListAdd(out, i, 0);
    return out->n;
}

/* SET key value [... GET ...]: read as well as written with GET */
static int setKeys(sds *argv, int argc, keyList *out) {
    for (int i = 3; i < argc; i++) {
        if (!strcasecmp(argv[i], "get")) {
            keyListAdd(out, 1, KS_RW | KS_ACCESS | KS_UPDATE);
            return out->n;
        }
    }
    keyListAdd(out, 1, KS_OW | KS_UPDATE);
    return out->n;
}

/* BITFIELD key [GET ...]: read-only while every operation is a GET (or
 * OVERFLOW); a SET, INCRBY or anything malformed makes it a write. */
static int bitfieldKeys(sds *argv, int argc, keyList *out) {
    int readonly = 1;
    for (int i = 2; i < argc && readonly; i++) {
        int rest = argc - i - 1;
        if (!strcasecmp(argv[i], "get") && rest >= 2) i += 2;
        else if (!strcasecmp(argv[i], "overflow") && rest >= 1) i += 1;
        else readonly = 0;
    }
    keyListAdd(out, 1, readonly ? KS_RO | KS_ACCESS : KS_RW | KS_ACCESS | KS_UPDATE);
    return out->n;
}

/* MIGRATE host port key db timeout [options]: the key, or with KEYS (and
 * an empty key) every argument after it; AUTH and AUTH2 arguments are
 * skipped while looking for KEYS. KEYS after a key: none (MIGRATE refuses
 * the line). */
static int migrateKeys(sds *argv, int argc, keyList *out) {
    int first = 3, num = 1;
    for (int i = 6; i < argc; i++) {
        if (!strcasecmp(argv[i], "keys")) {
            num = sdslen(argv[3]) ? 0 : argc - i - 1;
            first = i + 1;
            break;
        }
        if (!strcasecmp(argv[i], "auth")) i += 1;
        else if (!strcasecmp(argv[i], "auth2")) i += 2;
    }
    for (int i = 0; i < num; i++) keyListAdd(out, first + i, KS_RW | KS_ACCESS | KS_DELETE);
    return out->n;
}

typedef int getKeysProc(sds *argv, int argc, keyList *out);

static const struct {
    const char *command;
    getKeysProc *proc;
} commandProcs[] = {
    {"bitfield", bitfieldKeys},      {"blmpop", countAt2Keys},       {"bzmpop", countAt2Keys},
    {"eval", countAt2Keys},          {"eval_ro", countAt2Keys},      {"evalsha", countAt2Keys},
    {"evalsha_ro", countAt2Keys},    {"fcall", countAt2Keys},        {"fcall_ro", countAt2Keys},
    {"georadius", georadiusKeys},    {"georadiusbymember", georadiusKeys},
    {"lmpop", countAt1Keys},         {"migrate", migrateKeys},       {"set", setKeys},               {"sintercard", countAt1Keys},
    {"sort", sortKeys},              {"sort_ro", sortRoKeys},        {"xread", xreadKeys},
    {"xreadgroup", xreadKeys},       {"zdiff", countAt1Keys},        {"zdiffstore", storeCountKeys},
    {"zinter", countAt1Keys},        {"zintercard", countAt1Keys},   {"zinterstore", storeCountKeys},
    {"zmpop", countAt1Keys},         {"zunion", countAt1Keys},       {"zunionstore", storeCountKeys},
};

/* ---- the one entry point ---- */

/* Attach its key specs and procedure to a command table entry (start-up). */
void commandKeysInit(redisCommand *cmd) {
    cmd->key_specs = keySpecsOf(cmd->fullname, &cmd->key_specs_num);
    cmd->getkeys_proc = NULL;
    for (size_t i = 0; i < sizeof(commandProcs) / sizeof(commandProcs[0]); i++)
        if (!strcmp(commandProcs[i].command, cmd->fullname)) cmd->getkeys_proc = commandProcs[i].proc;
}

int commandHasKeys(const redisCommand *cmd) { return cmd->getkeys_proc || specsHaveKeys(cmd); }

/* The keys of argv (argv[0] is the command) with the flags of each: the
 * specs when they describe the command fully and fit argv, otherwise the
 * command's procedure. *out is NULL or a zmalloc'ed array for zfree. */
int commandKeys(const redisCommand *cmd, sds *argv, int argc, keyRef **out) {
    keyList l = {NULL, 0, 0};
    int n = -1;
    if (specsHaveKeys(cmd) && !specsFlagged(cmd, KS_VARIABLE_FLAGS)) n = keysBySpecs(cmd, argv, argc, &l);
    if (n < 0) {
        l.n = 0;
        n = cmd->getkeys_proc ? cmd->getkeys_proc(argv, argc, &l) : 0;
    }
    *out = l.refs;
    return n;
}

/* A key's flags as Redis names them (GETKEYSANDFLAGS, COMMAND INFO). */
void addReplyKeyFlags(client *c, int flags) {
    static const struct {
        int flag;
        const char *name;
    } names[] = {{KS_RO, "RO"},           {KS_RW, "RW"},         {KS_OW, "OW"},
                 {KS_RM, "RM"},           {KS_ACCESS, "access"}, {KS_UPDATE, "update"},
                 {KS_INSERT, "insert"},   {KS_DELETE, "delete"}, {KS_NOT_KEY, "not_key"},
                 {KS_INCOMPLETE, "incomplete"}, {KS_VARIABLE_FLAGS, "variable_flags"}};
    long n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (flags & names[i].flag) n++;
    addReplySetLen(c, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (flags & names[i].flag) addReplyStatus(c, names[i].name);
}

static void addReplySearchSpec(client *c, const char *type, int fields) {
    addReplyMapLen(c, 2);
    addReplyBulkCString(c, "type");
    addReplyBulkCString(c, type);
    addReplyBulkCString(c, "spec");
    addReplyMapLen(c, fields);
}

static void addReplyNamedInt(client *c, const char *name, long long v) {
    addReplyBulkCString(c, name);
    addReplyLongLong(c, v);
}

static void addReplyKeySpec(client *c, const keySpec *ks) {
    addReplyMapLen(c, ks->notes ? 4 : 3);
    if (ks->notes) {
        addReplyBulkCString(c, "notes");
        addReplyBulkCString(c, ks->notes);
    }
    addReplyBulkCString(c, "flags");
    addReplyKeyFlags(c, ks->flags);
    addReplyBulkCString(c, "begin_search");
    if (ks->bs_type == KS_BS_INDEX) {
        addReplySearchSpec(c, "index", 1);
        addReplyNamedInt(c, "index", ks->bs_index);
    } else if (ks->bs_type == KS_BS_KEYWORD) {
        addReplySearchSpec(c, "keyword", 2);
        addReplyBulkCString(c, "keyword");
        addReplyBulkCString(c, ks->bs_keyword);
        addReplyNamedInt(c, "startfrom", ks->bs_startfrom);
    } else {
        addReplySearchSpec(c, "unknown", 0);
    }
    addReplyBulkCString(c, "find_keys");
    if (ks->fk_type == KS_FK_RANGE) {
        addReplySearchSpec(c, "range", 3);
        addReplyNamedInt(c, "lastkey", ks->fk_a);
        addReplyNamedInt(c, "keystep", ks->fk_b);
        addReplyNamedInt(c, "limit", ks->fk_c);
    } else if (ks->fk_type == KS_FK_KEYNUM) {
        addReplySearchSpec(c, "keynum", 3);
        addReplyNamedInt(c, "keynumidx", ks->fk_a);
        addReplyNamedInt(c, "firstkey", ks->fk_b);
        addReplyNamedInt(c, "keystep", ks->fk_c);
    } else {
        addReplySearchSpec(c, "unknown", 0);
    }
}

/* The key specs of COMMAND INFO, as Redis 7.0 gives them. */
void addReplyCommandKeySpecs(client *c, const redisCommand *cmd) {
    addReplySetLen(c, cmd->key_specs_num);
    for (int j = 0; j < cmd->key_specs_num; j++) addReplyKeySpec(c, &cmd->key_specs[j]);
}
