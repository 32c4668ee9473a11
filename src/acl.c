/* acl.c - users and permissions, as Redis 7.0's ACL: the users and their
 * rules (ACL SETUSER's language, selectors included), the checks every
 * command goes through (commands, subcommands and first arguments,
 * categories, keys with read/write permissions, Pub/Sub channels), the
 * ACL log, authentication, and the ACL command. The ACL file's bytes are
 * read and written by acl_file.c. */
#include "server.h"
#include "acl.h"
#include "dict.h"
#include "key_specs.h"
#include "sha256.h"
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

/* ---- users and selectors ---- */

#define COMMAND_BITS 1024            /* command ids; the last bit: "future commands" (+@all) */
#define FUTURE_COMMANDS_BIT (COMMAND_BITS - 1)
#define COMMAND_WORDS (COMMAND_BITS / 64)

#define SEL_ROOT (1 << 0)
#define SEL_ALLKEYS (1 << 1)
#define SEL_ALLCHANNELS (1 << 2)
#define SEL_ALLCOMMANDS (1 << 3)

#define USER_ON (1 << 0)
#define USER_OFF (1 << 1)
#define USER_NOPASS (1 << 2)
#define USER_SKIP_SANITIZE (1 << 3)
#define USER_SANITIZE (1 << 4)

#define KEY_READ (1 << 0)
#define KEY_WRITE (1 << 1)
#define KEY_ALL (KEY_READ | KEY_WRITE)

typedef struct keyPattern {
    sds pattern;
    int flags; /* KEY_* */
} keyPattern;

typedef struct aclSelector {
    int flags; /* SEL_* */
    uint64_t allowed[COMMAND_WORDS];
    sds **firstargs; /* per command id a NULL-terminated list, or NULL */
    keyPattern *keys;
    int nkeys;
    sds *channels;
    int nchannels;
} aclSelector;

struct aclUser {
    sds name;
    int flags; /* USER_* */
    sds *passwords; /* SHA-256 hex digests */
    int npasswords;
    aclSelector **selectors; /* [0] is the root selector */
    int nselectors;
};

static aclUser **users; /* sorted by name, as Redis lists them */
static int nusers;
static aclUser *default_user;

/* The categories, in Redis's order (ACL CAT, and the order rules are described in). */
static const char *categories[] = {"keyspace", "read",       "write",      "set",       "sortedset", "list",
                                   "hash",     "string",     "bitmap",     "hyperloglog", "geo",     "stream",
                                   "pubsub",   "admin",      "fast",       "slow",      "blocking",  "dangerous",
                                   "connection", "transaction", "scripting", NULL};

/* Every command and subcommand by id, with its categories as a bit mask. */
static redisCommand *commands_by_id[COMMAND_BITS];
static uint32_t command_categories[COMMAND_BITS];
static int ncommands;

static int categoryIndex(const char *name, size_t len) {
    for (int i = 0; categories[i]; i++)
        if (strlen(categories[i]) == len && !strncasecmp(categories[i], name, len)) return i;
    return -1;
}

static uint32_t parseCategories(const char *acl) {
    uint32_t mask = 0;
    for (const char *s = acl ? acl : ""; *s;) {
        while (*s == ' ') s++;
        size_t n = strcspn(s, " ");
        int i = categoryIndex(s, n);
        if (i >= 0) mask |= 1u << i;
        s += n;
    }
    return mask;
}

static void numberCommand(redisCommand *cmd, void *ud) {
    (void)ud;
    if (ncommands >= FUTURE_COMMANDS_BIT) return;
    cmd->acl_id = ncommands;
    commands_by_id[ncommands] = cmd;
    command_categories[ncommands] = parseCategories(cmd->acl);
    ncommands++;
    if (cmd->subcommands)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) numberCommand(sub, NULL);
}

static int isSubcommand(const redisCommand *cmd) { return strchr(cmd->fullname, '|') != NULL; }

static int hasSpaces(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]) || s[i] == '\0') return 1;
    return 0;
}

/* acl-pubsub-default: whether new selectors start with every channel */
static int pubsub_default_all;

int aclSetPubsubDefault(const char *value) {
    if (!strcasecmp(value, "allchannels")) pubsub_default_all = 1;
    else if (!strcasecmp(value, "resetchannels")) pubsub_default_all = 0;
    else return C_ERR;
    return C_OK;
}

const char *aclPubsubDefault(void) { return pubsub_default_all ? "allchannels" : "resetchannels"; }

static aclSelector *selectorCreate(int flags) {
    aclSelector *s = zcalloc(sizeof(*s));
    s->flags = flags | (pubsub_default_all ? SEL_ALLCHANNELS : 0);
    return s;
}

static void selectorResetFirstArgs(aclSelector *s, int id) {
    if (!s->firstargs || !s->firstargs[id]) return;
    for (int i = 0; s->firstargs[id][i]; i++) sdsfree(s->firstargs[id][i]);
    zfree(s->firstargs[id]);
    s->firstargs[id] = NULL;
}

static void selectorResetAllFirstArgs(aclSelector *s) {
    if (!s->firstargs) return;
    for (int id = 0; id < COMMAND_BITS; id++) selectorResetFirstArgs(s, id);
    zfree(s->firstargs);
    s->firstargs = NULL;
}

static void selectorResetKeys(aclSelector *s) {
    for (int i = 0; i < s->nkeys; i++) sdsfree(s->keys[i].pattern);
    zfree(s->keys);
    s->keys = NULL;
    s->nkeys = 0;
}

static void selectorResetChannels(aclSelector *s) {
    for (int i = 0; i < s->nchannels; i++) sdsfree(s->channels[i]);
    zfree(s->channels);
    s->channels = NULL;
    s->nchannels = 0;
}

static void selectorFree(aclSelector *s) {
    selectorResetAllFirstArgs(s);
    selectorResetKeys(s);
    selectorResetChannels(s);
    zfree(s);
}

static aclSelector *selectorCopy(const aclSelector *src) {
    aclSelector *s = selectorCreate(src->flags);
    memcpy(s->allowed, src->allowed, sizeof(s->allowed));
    if (src->firstargs) {
        s->firstargs = zcalloc(sizeof(sds *) * COMMAND_BITS);
        for (int id = 0; id < COMMAND_BITS; id++) {
            if (!src->firstargs[id]) continue;
            int n = 0;
            while (src->firstargs[id][n]) n++;
            s->firstargs[id] = zmalloc(sizeof(sds) * (size_t)(n + 1));
            for (int i = 0; i < n; i++) s->firstargs[id][i] = sdsdup(src->firstargs[id][i]);
            s->firstargs[id][n] = NULL;
        }
    }
    s->nkeys = src->nkeys;
    s->keys = zmalloc(sizeof(keyPattern) * (size_t)(src->nkeys + 1));
    for (int i = 0; i < src->nkeys; i++) {
        s->keys[i].pattern = sdsdup(src->keys[i].pattern);
        s->keys[i].flags = src->keys[i].flags;
    }
    s->nchannels = src->nchannels;
    s->channels = zmalloc(sizeof(sds) * (size_t)(src->nchannels + 1));
    for (int i = 0; i < src->nchannels; i++) s->channels[i] = sdsdup(src->channels[i]);
    return s;
}

static int commandBit(const aclSelector *s, int id) { return (s->allowed[id / 64] >> (id % 64)) & 1; }

static void setCommandBit(aclSelector *s, int id, int on) {
    if (on) {
        s->allowed[id / 64] |= 1ULL << (id % 64);
    } else {
        s->allowed[id / 64] &= ~(1ULL << (id % 64));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

/* Allow or deny cmd; a container takes its subcommands along. */
static void selectorSetCommand(aclSelector *s, redisCommand *cmd, int on) {
    setCommandBit(s, cmd->acl_id, on);
    selectorResetFirstArgs(s, cmd->acl_id);
    if (cmd->subcommands)
        for (redisCommand *sub = cmd->subcommands; sub->name; sub++) setCommandBit(s, sub->acl_id, on);
}

static void selectorSetCategory(aclSelector *s, int cat, int on) {
    for (int id = 0; id < ncommands; id++)
        if (command_categories[id] & (1u << cat)) selectorSetCommand(s, commands_by_id[id], on);
}

static void selectorAddFirstArg(aclSelector *s, int id, const char *arg) {
    if (!s->firstargs) s->firstargs = zcalloc(sizeof(sds *) * COMMAND_BITS);
    int n = 0;
    if (s->firstargs[id])
        for (; s->firstargs[id][n]; n++)
            if (!strcasecmp(s->firstargs[id][n], arg)) return;
    s->firstargs[id] = zrealloc(s->firstargs[id], sizeof(sds) * (size_t)(n + 2));
    s->firstargs[id][n] = sdsnew(arg);
    s->firstargs[id][n + 1] = NULL;
}

static void selectorAddKeyPattern(aclSelector *s, const char *pat, size_t len, int flags) {
    for (int i = 0; i < s->nkeys; i++) {
        if (sdslen(s->keys[i].pattern) == len && !memcmp(s->keys[i].pattern, pat, len)) {
            s->keys[i].flags |= flags;
            return;
        }
    }
    s->keys = zrealloc(s->keys, sizeof(keyPattern) * (size_t)(s->nkeys + 1));
    s->keys[s->nkeys].pattern = sdsnewlen(pat, len);
    s->keys[s->nkeys].flags = flags;
    s->nkeys++;
}

static void selectorAddChannel(aclSelector *s, const char *pat, size_t len) {
    for (int i = 0; i < s->nchannels; i++)
        if (sdslen(s->channels[i]) == len && !memcmp(s->channels[i], pat, len)) return;
    s->channels = zrealloc(s->channels, sizeof(sds) * (size_t)(s->nchannels + 1));
    s->channels[s->nchannels++] = sdsnewlen(pat, len);
}

/* Why a rule was refused (errno values, as Redis's ACLSetUserStringError). */
static const char *ruleError(int err) {
    switch (err) {
    case ENOENT: return "Unknown command or category name in ACL";
    case EINVAL: return "Syntax error";
    case EEXIST:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
               "effect. Try 'resetkeys' to start with an empty list of patterns";
    case EISDIR:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have "
               "any effect. Try 'resetchannels' to start with an empty list of channels";
    case ENODEV: return "The password you are trying to remove from the user does not exist";
    case EBADMSG: return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
    case ECHILD: return "Allowing first-arg of a subcommand is not supported";
    default: return "Wrong format";
    }
}

/* %R~, %W~, %RW~ (and ~): the permission letters before the '~'. */
static int parseKeyRule(const char *op, size_t len, int *flags, size_t *offset) {
    if (op[0] == '~') {
        *flags = KEY_ALL;
        *offset = 1;
        return 0;
    }
    *flags = 0;
    for (size_t i = 1; i < len; i++) {
        char ch = (char)toupper((unsigned char)op[i]);
        if (ch == 'R' && !(*flags & KEY_READ)) *flags |= KEY_READ;
        else if (ch == 'W' && !(*flags & KEY_WRITE)) *flags |= KEY_WRITE;
        else if (op[i] == '~') {
            *offset = i + 1;
            return 0;
        } else return EINVAL;
    }
    return EINVAL;
}

/* +cmd, +cmd|sub, +cmd|firstarg */
static int allowCommandRule(aclSelector *s, const char *name) {
    const char *bar = strrchr(name, '|');
    if (!bar) {
        redisCommand *cmd = lookupCommandByName(name);
        if (!cmd) return ENOENT;
        selectorSetCommand(s, cmd, 1);
        return 0;
    }
    sds parent_name = sdsnewlen(name, (size_t)(bar - name));
    redisCommand *parent = lookupCommandByName(parent_name);
    sdsfree(parent_name);
    if (!parent) return ENOENT;
    if (isSubcommand(parent)) return ECHILD;
    if (bar[1] == '\0') return EINVAL;
    if (parent->subcommands) {
        redisCommand *sub = lookupCommandByName(name);
        if (!sub) return ENOENT;
        selectorSetCommand(s, sub, 1);
    } else {
        serverLog(LL_WARNING, "Deprecation warning: Allowing a first arg of an otherwise blocked command is a "
                              "misuse of ACL and may get disabled in the future (offender: +%s)", name);
        selectorAddFirstArg(s, parent->acl_id, bar + 1);
    }
    return 0;
}

/* One rule about commands, keys or channels; returns 0 or an errno value. */
static int selectorApply(aclSelector *s, const char *op, size_t len) {
    if (!strcasecmp(op, "allkeys") || !strcmp(op, "~*")) {
        s->flags |= SEL_ALLKEYS;
        selectorResetKeys(s);
    } else if (!strcasecmp(op, "resetkeys")) {
        s->flags &= ~SEL_ALLKEYS;
        selectorResetKeys(s);
    } else if (!strcasecmp(op, "allchannels") || !strcmp(op, "&*")) {
        s->flags |= SEL_ALLCHANNELS;
        selectorResetChannels(s);
    } else if (!strcasecmp(op, "resetchannels")) {
        s->flags &= ~SEL_ALLCHANNELS;
        selectorResetChannels(s);
    } else if (!strcasecmp(op, "allcommands") || !strcasecmp(op, "+@all")) {
        memset(s->allowed, 0xff, sizeof(s->allowed));
        s->flags |= SEL_ALLCOMMANDS;
        selectorResetAllFirstArgs(s);
    } else if (!strcasecmp(op, "nocommands") || !strcasecmp(op, "-@all")) {
        memset(s->allowed, 0, sizeof(s->allowed));
        s->flags &= ~SEL_ALLCOMMANDS;
        selectorResetAllFirstArgs(s);
    } else if (op[0] == '~' || op[0] == '%') {
        if (s->flags & SEL_ALLKEYS) return EEXIST;
        int flags;
        size_t offset;
        if (parseKeyRule(op, len, &flags, &offset)) return EINVAL;
        if (hasSpaces(op + offset, len - offset)) return EINVAL;
        selectorAddKeyPattern(s, op + offset, len - offset, flags);
        s->flags &= ~SEL_ALLKEYS;
    } else if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS) return EISDIR;
        if (hasSpaces(op + 1, len - 1)) return EINVAL;
        selectorAddChannel(s, op + 1, len - 1);
    } else if (op[0] == '+' && op[1] != '@') {
        return allowCommandRule(s, op + 1);
    } else if (op[0] == '-' && op[1] != '@') {
        redisCommand *cmd = lookupCommandByName(op + 1);
        if (!cmd) return ENOENT;
        selectorSetCommand(s, cmd, 0);
    } else if ((op[0] == '+' || op[0] == '-') && op[1] == '@') {
        int cat = categoryIndex(op + 2, len - 2);
        if (cat < 0) return ENOENT;
        selectorSetCategory(s, cat, op[0] == '+');
    } else {
        return EINVAL;
    }
    return 0;
}

static aclUser *userCreateUnlinked(const char *name, size_t len) {
    aclUser *u = zcalloc(sizeof(*u));
    u->name = sdsnewlen(name, len);
    u->flags = USER_OFF;
    u->selectors = zmalloc(sizeof(aclSelector *));
    u->selectors[0] = selectorCreate(SEL_ROOT);
    u->nselectors = 1;
    return u;
}

static void userResetPasswords(aclUser *u) {
    for (int i = 0; i < u->npasswords; i++) sdsfree(u->passwords[i]);
    zfree(u->passwords);
    u->passwords = NULL;
    u->npasswords = 0;
}

static void userClearSelectors(aclUser *u) {
    for (int i = 1; i < u->nselectors; i++) selectorFree(u->selectors[i]);
    u->nselectors = 1;
}

static void userFree(aclUser *u) {
    userResetPasswords(u);
    for (int i = 0; i < u->nselectors; i++) selectorFree(u->selectors[i]);
    zfree(u->selectors);
    sdsfree(u->name);
    zfree(u);
}

/* dst takes src's flags, passwords and selectors (not its name). */
static void userCopyInto(aclUser *dst, const aclUser *src) {
    userResetPasswords(dst);
    for (int i = 0; i < dst->nselectors; i++) selectorFree(dst->selectors[i]);
    dst->flags = src->flags;
    dst->npasswords = src->npasswords;
    dst->passwords = zmalloc(sizeof(sds) * (size_t)(src->npasswords + 1));
    for (int i = 0; i < src->npasswords; i++) dst->passwords[i] = sdsdup(src->passwords[i]);
    dst->nselectors = src->nselectors;
    dst->selectors = zrealloc(dst->selectors, sizeof(aclSelector *) * (size_t)src->nselectors);
    for (int i = 0; i < src->nselectors; i++) dst->selectors[i] = selectorCopy(src->selectors[i]);
}

static int isPasswordHash(const char *h, size_t len) {
    if (len != 64) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return 0;
    return 1;
}

static sds hashPassword(const char *p, size_t len) {
    char hex[65];
    sha256Hex((const unsigned char *)p, len, hex);
    return sdsnewlen(hex, 64);
}

static int userFindPassword(aclUser *u, const char *hash) {
    for (int i = 0; i < u->npasswords; i++)
        if (!strcmp(u->passwords[i], hash)) return i;
    return -1;
}

/* >pass #hash <pass !hash */
static int userPasswordRule(aclUser *u, const char *op, size_t len) {
    sds hash;
    if (op[0] == '>' || op[0] == '<') {
        hash = hashPassword(op + 1, len - 1);
    } else {
        if (!isPasswordHash(op + 1, len - 1)) return EBADMSG;
        hash = sdsnewlen(op + 1, len - 1);
    }
    int at = userFindPassword(u, hash);
    if (op[0] == '>' || op[0] == '#') {
        if (at < 0) {
            u->passwords = zrealloc(u->passwords, sizeof(sds) * (size_t)(u->npasswords + 1));
            u->passwords[u->npasswords++] = hash;
        } else {
            sdsfree(hash);
        }
        u->flags &= ~USER_NOPASS;
        return 0;
    }
    sdsfree(hash);
    if (at < 0) return ENODEV;
    sdsfree(u->passwords[at]);
    memmove(u->passwords + at, u->passwords + at + 1, sizeof(sds) * (size_t)(u->npasswords - at - 1));
    u->npasswords--;
    return 0;
}

static int userApply(aclUser *u, const char *op, size_t len);

/* "(rule rule ...)": a new selector */
static int userAddSelector(aclUser *u, const char *op, size_t len) {
    aclSelector *s = selectorCreate(0);
    int argc = 0;
    sds inner = sdsnewlen(op + 1, len - 2);
    sds *argv = sdssplitargs(inner, sdslen(inner), &argc);
    sdsfree(inner);
    int err = argv ? 0 : EINVAL;
    for (int i = 0; i < argc && !err; i++) err = selectorApply(s, argv[i], sdslen(argv[i]));
    if (argv) sdsfreesplitres(argv, argc);
    if (err) {
        selectorFree(s);
        return err;
    }
    u->selectors = zrealloc(u->selectors, sizeof(aclSelector *) * (size_t)(u->nselectors + 1));
    u->selectors[u->nselectors++] = s;
    return 0;
}

/* One rule of ACL SETUSER; returns 0 or an errno value (ruleError()). */
static int userApply(aclUser *u, const char *op, size_t len) {
    if (len == 0) return 0;
    if (!strcasecmp(op, "on")) {
        u->flags = (u->flags | USER_ON) & ~USER_OFF;
    } else if (!strcasecmp(op, "off")) {
        u->flags = (u->flags | USER_OFF) & ~USER_ON;
    } else if (!strcasecmp(op, "skip-sanitize-payload")) {
        u->flags = (u->flags | USER_SKIP_SANITIZE) & ~USER_SANITIZE;
    } else if (!strcasecmp(op, "sanitize-payload")) {
        u->flags = (u->flags | USER_SANITIZE) & ~USER_SKIP_SANITIZE;
    } else if (!strcasecmp(op, "nopass")) {
        u->flags |= USER_NOPASS;
        userResetPasswords(u);
    } else if (!strcasecmp(op, "resetpass")) {
        u->flags &= ~USER_NOPASS;
        userResetPasswords(u);
    } else if (op[0] == '>' || op[0] == '#' || op[0] == '<' || op[0] == '!') {
        return userPasswordRule(u, op, len);
    } else if (op[0] == '(' && op[len - 1] == ')') {
        return userAddSelector(u, op, len);
    } else if (!strcasecmp(op, "clearselectors")) {
        userClearSelectors(u);
    } else if (!strcasecmp(op, "reset")) {
        static const char *reset_rules[] = {"resetpass", "resetkeys", "resetchannels", "off",
                                            "sanitize-payload", "clearselectors", "-@all"};
        for (size_t i = 0; i < sizeof(reset_rules) / sizeof(reset_rules[0]); i++)
            userApply(u, reset_rules[i], strlen(reset_rules[i]));
        if (pubsub_default_all) userApply(u, "allchannels", 11);
    } else {
        return selectorApply(u->selectors[0], op, len);
    }
    return 0;
}

/* Selectors may be written over several arguments: "(~x" "+get)". Returns
 * the merged rules, or NULL with *bad the argument of an unclosed '('. */
static sds *mergeSelectorArgs(sds *argv, int argc, int *merged, int *bad) {
    sds *out = zmalloc(sizeof(sds) * (size_t)(argc + 1));
    sds open = NULL;
    int open_at = -1;
    *merged = 0;
    for (int j = 0; j < argc; j++) {
        size_t l = sdslen(argv[j]);
        if (open_at < 0 && l && argv[j][0] == '(' && argv[j][l - 1] != ')') {
            open = sdsdup(argv[j]);
            open_at = j;
            continue;
        }
        if (open_at >= 0) {
            open = sdscatlen(sdscatlen(open, " ", 1), argv[j], l);
            if (l && argv[j][l - 1] == ')') {
                out[(*merged)++] = open;
                open = NULL;
                open_at = -1;
            }
            continue;
        }
        out[(*merged)++] = sdsdup(argv[j]);
    }
    if (open_at >= 0) {
        for (int i = 0; i < *merged; i++) sdsfree(out[i]);
        zfree(out);
        sdsfree(open);
        *bad = open_at;
        return NULL;
    }
    return out;
}

static void freeRules(sds *rules, int n) {
    for (int i = 0; i < n; i++) sdsfree(rules[i]);
    zfree(rules);
}

/* ---- the set of users ---- */

static int cmpName(const sds a, const char *b, size_t blen) {
    size_t alen = sdslen(a), n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

static int userPosition(const char *name, size_t len, int *found) {
    int lo = 0, hi = nusers;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = cmpName(users[mid]->name, name, len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = 0;
    return lo;
}

static aclUser *userLookup(const char *name, size_t len) {
    int found, at = userPosition(name, len, &found);
    return found ? users[at] : NULL;
}

static void userInsert(aclUser *u) {
    int found, at = userPosition(u->name, sdslen(u->name), &found);
    users = zrealloc(users, sizeof(aclUser *) * (size_t)(nusers + 1));
    memmove(users + at + 1, users + at, sizeof(aclUser *) * (size_t)(nusers - at));
    users[at] = u;
    nusers++;
}

static void userUnlink(aclUser *u) {
    int found, at = userPosition(u->name, sdslen(u->name), &found);
    if (!found) return;
    memmove(users + at, users + at + 1, sizeof(aclUser *) * (size_t)(nusers - at - 1));
    nusers--;
}

/* Connections authenticated as u are closed (after this reply for the
 * client running the command), as Redis does when a user goes away. */
static void disconnectUserClients(aclUser *u, client *current) {
    for (client *c = server.clients; c; c = c->next) {
        if (c->user != u) continue;
        c->user = default_user;
        c->authenticated = 0;
        if (c == current) c->flags |= CLIENT_CLOSE_AFTER_REPLY; /* once its reply is written */
        else closeClientAsync(c);
    }
}

static void createDefaultUser(void) {
    default_user = userCreateUnlinked("default", 7);
    static const char *rules[] = {"+@all", "~*", "&*", "on", "nopass"};
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) userApply(default_user, rules[i], strlen(rules[i]));
    userInsert(default_user);
}

aclUser *aclDefaultUser(void) { return default_user; }
aclUser *aclUserLookup(const char *name) { return userLookup(name, strlen(name)); }
const char *aclUserName(const aclUser *u) { return u ? u->name : "(superuser)"; }
int aclDefaultUserNeedsNoAuth(void) {
    if (!default_user) return 1; /* the offline RDB tool: no users, no connections */
    return (default_user->flags & USER_NOPASS) && !(default_user->flags & USER_OFF);
}

void aclUpdateDefaultUserPassword(const char *password) {
    userApply(default_user, "resetpass", 9);
    if (password) {
        sds op = sdscat(sdsnew(">"), password);
        userApply(default_user, op, sdslen(op));
        sdsfree(op);
    } else {
        userApply(default_user, "nopass", 6);
    }
}

/* ---- describing users (ACL LIST, GETUSER, the ACL file) ---- */

static void countCategory(const aclSelector *s, int cat, unsigned long *on, unsigned long *off) {
    *on = *off = 0;
    for (int id = 0; id < ncommands; id++) {
        if (!(command_categories[id] & (1u << cat))) continue;
        if (commandBit(s, id)) (*on)++;
        else (*off)++;
    }
}

/* The command rules that rebuild s's bitmap: +@all or -@all, then the
 * categories that fit best, then single commands, as Redis describes them. */
static sds describeCommandRules(const aclSelector *s) {
    int additive = !commandBit(s, FUTURE_COMMANDS_BIT);
    sds rules = sdsnew(additive ? "-@all " : "+@all ");
    aclSelector *fake = selectorCreate(0), *temp = selectorCreate(0);
    selectorApply(fake, additive ? "-@all" : "+@all", 5);
    memcpy(temp->allowed, s->allowed, sizeof(s->allowed));
    char applied[sizeof(categories) / sizeof(categories[0])] = {0};
    for (;;) {
        int best = -1;
        unsigned long mindiff = (unsigned long)-1, maxsame = 0;
        for (int j = 0; categories[j]; j++) {
            if (applied[j]) continue;
            unsigned long on, off;
            countCategory(temp, j, &on, &off);
            unsigned long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        selectorSetCategory(fake, best, additive);
        selectorSetCategory(temp, best, !additive);
        rules = sdscatprintf(rules, "%c@%s ", additive ? '+' : '-', categories[best]);
        applied[best] = 1;
    }
    for (int id = 0; id < ncommands; id++) {
        redisCommand *cmd = commands_by_id[id];
        int want = commandBit(s, id);
        if (want != commandBit(fake, id)) {
            rules = sdscatprintf(rules, "%c%s ", want ? '+' : '-', cmd->fullname);
            selectorSetCommand(fake, cmd, want);
        }
        if (!want && s->firstargs && s->firstargs[id])
            for (int j = 0; s->firstargs[id][j]; j++)
                rules = sdscatprintf(rules, "+%s|%s ", cmd->fullname, s->firstargs[id][j]);
    }
    sdsrange(rules, 0, -2);
    selectorFree(fake);
    selectorFree(temp);
    return rules;
}

static sds catKeyPattern(sds out, const keyPattern *k) {
    if (k->flags == KEY_ALL) out = sdscat(out, "~");
    else if (k->flags == KEY_READ) out = sdscat(out, "%R~");
    else out = sdscat(out, "%W~");
    return sdscatsds(out, k->pattern);
}

static sds describeKeys(const aclSelector *s) {
    if (s->flags & SEL_ALLKEYS) return sdsnew("~*");
    sds out = sdsempty();
    for (int i = 0; i < s->nkeys; i++) {
        if (i) out = sdscat(out, " ");
        out = catKeyPattern(out, &s->keys[i]);
    }
    return out;
}

static sds describeChannels(const aclSelector *s) {
    if (s->flags & SEL_ALLCHANNELS) return sdsnew("&*");
    sds out = sdsempty();
    for (int i = 0; i < s->nchannels; i++) out = sdscatprintf(out, "%s&%s", i ? " " : "", s->channels[i]);
    return out;
}

static sds describeSelector(const aclSelector *s) {
    sds out = sdsempty();
    if (s->flags & SEL_ALLKEYS) {
        out = sdscat(out, "~* ");
    } else {
        for (int i = 0; i < s->nkeys; i++) out = sdscat(catKeyPattern(out, &s->keys[i]), " ");
    }
    if (s->flags & SEL_ALLCHANNELS) {
        out = sdscat(out, "&* ");
    } else {
        out = sdscat(out, "resetchannels ");
        for (int i = 0; i < s->nchannels; i++) out = sdscatprintf(out, "&%s ", s->channels[i]);
    }
    sds rules = describeCommandRules(s);
    out = sdscatsds(out, rules);
    sdsfree(rules);
    return out;
}

static const struct {
    const char *name;
    int flag;
} user_flag_names[] = {{"on", USER_ON},
                       {"off", USER_OFF},
                       {"nopass", USER_NOPASS},
                       {"skip-sanitize-payload", USER_SKIP_SANITIZE},
                       {"sanitize-payload", USER_SANITIZE}};

/* "user NAME rules...", as ACL LIST and the ACL file have it */
static sds describeUser(const aclUser *u) {
    sds out = sdscatprintf(sdsempty(), "user %s ", u->name);
    for (size_t i = 0; i < sizeof(user_flag_names) / sizeof(user_flag_names[0]); i++)
        if (u->flags & user_flag_names[i].flag) out = sdscatprintf(out, "%s ", user_flag_names[i].name);
    for (int i = 0; i < u->npasswords; i++) out = sdscatprintf(out, "#%s ", u->passwords[i]);
    for (int i = 0; i < u->nselectors; i++) {
        sds d = describeSelector(u->selectors[i]);
        out = i == 0 ? sdscatsds(out, d) : sdscatprintf(out, " (%s)", d);
        sdsfree(d);
    }
    return out;
}

/* ---- checks ---- */

static int keyAccessNeeded(int ksflags) {
    int need = 0;
    if (ksflags & KS_ACCESS) need |= KEY_READ;
    if (ksflags & (KS_INSERT | KS_DELETE | KS_UPDATE)) need |= KEY_WRITE;
    return need;
}

static int selectorAllowsKey(const aclSelector *s, const char *key, size_t len, int ksflags) {
    if (s->flags & SEL_ALLKEYS) return 1;
    int need = keyAccessNeeded(ksflags);
    for (int i = 0; i < s->nkeys; i++) {
        if ((s->keys[i].flags & need) != need) continue;
        if (stringmatchlen(s->keys[i].pattern, (int)sdslen(s->keys[i].pattern), key, (int)len, 0)) return 1;
    }
    return 0;
}

/* A channel matches a channel pattern; a PSUBSCRIBE pattern only itself. */
static int channelAllowed(sds *list, int n, const char *ch, size_t len, int is_pattern) {
    for (int i = 0; i < n; i++) {
        if (is_pattern ? (sdslen(list[i]) == len && !memcmp(list[i], ch, len))
                       : stringmatchlen(list[i], (int)sdslen(list[i]), ch, (int)len, 0))
            return 1;
    }
    return 0;
}

/* The channels a command publishes or subscribes to: [first, argc) or one. */
static int commandChannels(redisCommand *cmd, int argc, int *first, int *last, int *is_pattern) {
    const char *n = cmd->fullname;
    *is_pattern = 0;
    if (!strcmp(n, "publish") || !strcmp(n, "spublish")) {
        *first = *last = 1;
    } else if (!strcmp(n, "subscribe") || !strcmp(n, "ssubscribe")) {
        *first = 1, *last = argc - 1;
    } else if (!strcmp(n, "psubscribe")) {
        *first = 1, *last = argc - 1, *is_pattern = 1;
    } else {
        return 0;
    }
    return 1;
}

static int selectorAllowsCommandItself(const aclSelector *s, redisCommand *cmd, sds *argv, int argc) {
    if ((s->flags & SEL_ALLCOMMANDS) || (cmd->flags & CMD_NO_AUTH) || commandBit(s, cmd->acl_id)) return 1;
    if (argc < 2 || !s->firstargs || !s->firstargs[cmd->acl_id]) return 0;
    for (int j = 0; s->firstargs[cmd->acl_id][j]; j++)
        if (!strcasecmp(argv[1], s->firstargs[cmd->acl_id][j])) return 1;
    return 0;
}

static int selectorCheck(const aclSelector *s, redisCommand *cmd, sds *argv, int argc, keyRef *keys, int nkeys,
                         int *argpos) {
    if (!selectorAllowsCommandItself(s, cmd, argv, argc)) return ACL_DENIED_CMD;
    for (int j = 0; j < nkeys && !(s->flags & SEL_ALLKEYS); j++) {
        int pos = keys[j].pos;
        if (!selectorAllowsKey(s, argv[pos], sdslen(argv[pos]), keys[j].flags)) {
            *argpos = pos;
            return ACL_DENIED_KEY;
        }
    }
    int first, last, is_pattern;
    if (!(s->flags & SEL_ALLCHANNELS) && commandChannels(cmd, argc, &first, &last, &is_pattern)) {
        for (int j = first; j <= last && j < argc; j++) {
            if (!channelAllowed(s->channels, s->nchannels, argv[j], sdslen(argv[j]), is_pattern)) {
                *argpos = j;
                return ACL_DENIED_CHANNEL;
            }
        }
    }
    return ACL_OK;
}

int aclCheckCommand(aclUser *u, redisCommand *cmd, sds *argv, int argc, int *argpos) {
    if (!u) return ACL_OK;
    keyRef *keys = NULL;
    int nkeys = -1, relevant = ACL_DENIED_CMD, last_pos = 0;
    for (int i = 0; i < u->nselectors; i++) {
        const aclSelector *s = u->selectors[i];
        if (nkeys < 0 && !(s->flags & SEL_ALLKEYS)) nkeys = commandKeys(cmd, argv, argc, &keys);
        int pos = 0;
        int r = selectorCheck(s, cmd, argv, argc, keys, nkeys < 0 ? 0 : nkeys, &pos);
        if (r == ACL_OK) {
            zfree(keys);
            return ACL_OK;
        }
        if (r > relevant || (r == relevant && pos > last_pos)) {
            relevant = r;
            last_pos = pos;
        }
    }
    zfree(keys);
    *argpos = last_pos;
    return relevant;
}

/* Does one of u's selectors allow the command and reading every key (SORT's
 * BY and GET patterns name keys no check sees)? */
int aclCanReadAnyKey(aclUser *u, redisCommand *cmd, sds *argv, int argc) {
    if (!u) return 1;
    keyRef *keys = NULL;
    int nkeys = commandKeys(cmd, argv, argc, &keys), ok = 0;
    for (int i = 0; i < u->nselectors && !ok; i++) {
        const aclSelector *s = u->selectors[i];
        int pos = 0;
        if (selectorCheck(s, cmd, argv, argc, keys, nkeys, &pos) != ACL_OK) continue;
        ok = (s->flags & SEL_ALLKEYS) != 0;
        for (int j = 0; j < s->nkeys && !ok; j++)
            ok = (s->keys[j].flags & KEY_READ) && !strcmp(s->keys[j].pattern, "*");
    }
    zfree(keys);
    return ok;
}

const char *aclDeniedReason(int reason) {
    switch (reason) {
    case ACL_DENIED_CMD: return "can't run this command or subcommand";
    case ACL_DENIED_KEY: return "can't access at least one of the keys mentioned in the command arguments";
    case ACL_DENIED_CHANNEL: return "can't publish to the channel mentioned in the command";
    default: return "lacking the permissions for the command";
    }
}

/* ---- the ACL log ---- */

#define ACL_LOG_GROUPING_MS 60000

typedef struct aclLogEntry {
    long long count;
    int reason, context;
    sds object, username, cinfo;
    long long ctime;
} aclLogEntry;

static aclLogEntry **acl_log; /* newest first */
static int acl_log_len;

static void logEntryFree(aclLogEntry *e) {
    sdsfree(e->object);
    sdsfree(e->username);
    sdsfree(e->cinfo);
    zfree(e);
}

static void logTrim(void) {
    while (acl_log_len > 0 && acl_log_len > server.acllog_max_len) logEntryFree(acl_log[--acl_log_len]);
}

static void logAdd(int reason, int context, sds object, sds username, client *real) {
    long long now = mstime();
    sds cinfo = clientInfoString(real);
    for (int i = 0; i < acl_log_len && i < 10; i++) {
        aclLogEntry *e = acl_log[i];
        long long delta = e->ctime > now ? e->ctime - now : now - e->ctime;
        if (e->reason == reason && e->context == context && delta <= ACL_LOG_GROUPING_MS && !sdscmp(e->object, object) &&
            !sdscmp(e->username, username)) {
            memmove(acl_log + 1, acl_log, sizeof(*acl_log) * (size_t)i);
            acl_log[0] = e;
            sdsfree(e->cinfo);
            e->cinfo = cinfo;
            e->ctime = now;
            e->count++;
            sdsfree(object);
            sdsfree(username);
            return;
        }
    }
    aclLogEntry *e = zmalloc(sizeof(*e));
    *e = (aclLogEntry){1, reason, context, object, username, cinfo, now};
    acl_log = zrealloc(acl_log, sizeof(*acl_log) * (size_t)(acl_log_len + 1));
    memmove(acl_log + 1, acl_log, sizeof(*acl_log) * (size_t)acl_log_len);
    acl_log[0] = e;
    acl_log_len++;
    logTrim();
}

void aclLogDenial(client *c, client *real, int reason, int context, int argpos) {
    sds object = reason == ACL_DENIED_CMD ? sdsnew(c->cmd ? c->cmd->fullname : c->argv[0]) : sdsdup(c->argv[argpos]);
    logAdd(reason, context, object, sdsnew(aclUserName(c->user)), real ? real : c);
}

/* ---- authentication ---- */

static int passwordsEqual(const char *a, const char *b) {
    unsigned char diff = 0;
    for (int i = 0; i < 64; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static int credentialsValid(aclUser *u, sds password) {
    if (!u || (u->flags & USER_OFF)) return 0;
    if (u->flags & USER_NOPASS) return 1;
    sds hash = hashPassword(password, sdslen(password));
    int ok = 0;
    for (int i = 0; i < u->npasswords; i++)
        if (passwordsEqual(hash, u->passwords[i])) ok = 1;
    sdsfree(hash);
    return ok;
}

int aclAuthenticate(client *c, sds username, sds password) {
    aclUser *u = username ? userLookup(username, sdslen(username)) : default_user;
    if (credentialsValid(u, password)) {
        c->user = u;
        c->authenticated = 1;
        return C_OK;
    }
    logAdd(ACL_DENIED_AUTH, (c->flags & CLIENT_MULTI) ? ACL_LOG_CTX_MULTI : ACL_LOG_CTX_TOPLEVEL, sdsdup(c->argv[0]),
           sdsnew(username ? username : "default"), c);
    addReplyError(c, "WRONGPASS invalid username-password pair or user is disabled.");
    return C_ERR;
}

/* ---- SETUSER and the ACL file ---- */

/* Every channel pattern of u's selectors; *all when one allows every channel. */
static sds *userChannels(const aclUser *u, int *n, int *all) {
    sds *out = NULL;
    *n = 0;
    *all = 0;
    for (int i = 0; i < u->nselectors; i++) {
        const aclSelector *s = u->selectors[i];
        if (s->flags & SEL_ALLCHANNELS) *all = 1;
        for (int j = 0; j < s->nchannels; j++) {
            out = zrealloc(out, sizeof(sds) * (size_t)(*n + 1));
            out[(*n)++] = s->channels[j];
        }
    }
    return out;
}

static int subscriptionsAllowed(dict *d, sds *allowed, int n, int is_pattern) {
    if (!d) return 1;
    dictIterator it;
    dictEntry *e;
    dictIterInit(&it, d);
    while ((e = dictNext(&it)) != NULL)
        if (!channelAllowed(allowed, n, e->key, sdslen(e->key), is_pattern)) return 0;
    return 1;
}

/* As Redis: when new rules take channels away from a user, its subscribed
 * connections that hold a channel no longer allowed are closed. */
static void closeRevokedSubscribers(const aclUser *updated, aclUser *original, client *current) {
    int nnew, all_new, nold, all_old;
    sds *now = userChannels(updated, &nnew, &all_new);
    sds *before = userChannels(original, &nold, &all_old);
    int superset = all_new;
    if (!superset && !all_old) {
        superset = 1;
        for (int i = 0; i < nold && superset; i++) {
            int found = 0;
            for (int j = 0; j < nnew && !found; j++) found = !sdscmp(before[i], now[j]);
            superset = found;
        }
    }
    for (client *c = superset ? NULL : server.clients; c; c = c->next) {
        if (c->user != original || clientSubscriptionsCount(c) == 0) continue;
        if (subscriptionsAllowed(c->pubsub_patterns, now, nnew, 1) &&
            subscriptionsAllowed(c->pubsub_channels, now, nnew, 0) &&
            subscriptionsAllowed(c->pubsub_shard_channels, now, nnew, 0))
            continue;
        if (c == current) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
        else closeClientAsync(c);
    }
    zfree(now);
    zfree(before);
}

/* Apply rules to a copy of u (or a new user): all or nothing. Returns the
 * error text or NULL. */
static sds setUserRules(const char *name, size_t namelen, sds *argv, int argc, client *current) {
    int merged, bad = 0;
    sds *rules = mergeSelectorArgs(argv, argc, &merged, &bad);
    if (!rules) return sdscatprintf(sdsempty(), "Unmatched parenthesis in acl selector starting at '%s'.", argv[bad]);
    aclUser *u = userLookup(name, namelen);
    aclUser *temp = userCreateUnlinked(name, namelen);
    if (u) userCopyInto(temp, u);
    sds error = NULL;
    for (int j = 0; j < merged && !error; j++) {
        int err = userApply(temp, rules[j], sdslen(rules[j]));
        if (err) error = sdscatprintf(sdsempty(), "Error in ACL SETUSER modifier '%s': %s", rules[j], ruleError(err));
    }
    freeRules(rules, merged);
    if (error) {
        userFree(temp);
        return error;
    }
    if (u) {
        closeRevokedSubscribers(temp, u, current);
    } else {
        u = userCreateUnlinked(name, namelen);
        userInsert(u);
    }
    userCopyInto(u, temp);
    userFree(temp);
    return NULL;
}

/* text cut at every sep; empty pieces are kept only when keep_empty. */
static sds *splitOn(const char *text, size_t len, char sep, int keep_empty, int *count) {
    sds *out = NULL;
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != sep) continue;
        if (i > start || keep_empty) {
            out = zrealloc(out, sizeof(sds) * (size_t)(n + 1));
            out[n++] = sdsnewlen(text + start, i - start);
        }
        start = i + 1;
    }
    *count = n;
    return out;
}

static void freeSplit(sds *parts, int n) {
    for (int i = 0; i < n; i++) sdsfree(parts[i]);
    zfree(parts);
}

/* Remove the characters of chars from both ends of s, in place. */
static void trimChars(sds s, const char *chars) {
    size_t len = sdslen(s), start = 0;
    while (start < len && strchr(chars, s[start])) start++;
    while (len > start && strchr(chars, s[len - 1])) len--;
    if (len == start) {
        sdssetlen(s, 0);
        s[0] = '\0';
    } else {
        sdsrange(s, (long)start, (long)len - 1);
    }
}

/* The users of an ACL file's text; NULL and *errors when a line is wrong. */
static aclUser **parseAclText(const char *text, const char *filename, int *count, sds *errors) {
    int nlines = 0;
    sds *lines = splitOn(text, strlen(text), '\n', 1, &nlines);
    aclUser **set = NULL;
    int n = 0;
    *errors = sdsempty();
    for (int i = 0; i < nlines; i++) {
        int linenum = i + 1, argc = 0;
        trimChars(lines[i], " \t\r\n");
        if (lines[i][0] == '\0') continue;
        sds *argv = splitOn(lines[i], sdslen(lines[i]), ' ', 0, &argc);
        if (!argv || argc == 0) {
            if (argv) freeSplit(argv, argc);
            continue;
        }
        if (strcmp(argv[0], "user") || argc < 2) {
            *errors = sdscatprintf(*errors, "%s:%d should start with user keyword followed by the username. ", filename,
                                   linenum);
            freeSplit(argv, argc);
            continue;
        }
        if (hasSpaces(argv[1], sdslen(argv[1]))) {
            *errors = sdscatprintf(*errors, "'%s:%d: username '%s' contains invalid characters. ", filename, linenum,
                                   argv[1]);
            freeSplit(argv, argc);
            continue;
        }
        int dup = 0;
        for (int k = 0; k < n; k++)
            if (!sdscmp(set[k]->name, argv[1])) dup = 1;
        if (dup) {
            *errors = sdscatprintf(*errors, "WARNING: Duplicate user '%s' found on line %d. ", argv[1], linenum);
            freeSplit(argv, argc);
            continue;
        }
        aclUser *u = userCreateUnlinked(argv[1], sdslen(argv[1]));
        set = zrealloc(set, sizeof(aclUser *) * (size_t)(n + 1));
        set[n++] = u;
        int merged = 0, syntax_error = 0;
        int bad_at = 0;
        sds *rules = mergeSelectorArgs(argv + 2, argc - 2, &merged, &bad_at);
        if (!rules) {
            *errors = sdscatprintf(*errors, "%s:%d: Unmatched parenthesis in selector definition.", filename, linenum);
            merged = 0;
        }
        for (int j = 0; j < merged; j++) {
            trimChars(rules[j], "\t\r\n");
            int err = userApply(u, rules[j], sdslen(rules[j]));
            if (err == ENOENT) {
                *errors = sdscatprintf(*errors, "%s:%d: Error in applying operation '%s': %s. ", filename, linenum,
                                       rules[j], ruleError(err));
            } else if (err && !syntax_error) {
                *errors = sdscatprintf(*errors, "%s:%d: %s. ", filename, linenum, ruleError(err));
                syntax_error = 1;
            }
        }
        if (rules) freeRules(rules, merged);
        freeSplit(argv, argc);
    }
    freeSplit(lines, nlines);
    if (sdslen(*errors)) {
        for (int k = 0; k < n; k++) userFree(set[k]);
        zfree(set);
        return NULL;
    }
    sdsfree(*errors);
    *errors = NULL;
    *count = n;
    return set;
}

/* Replace every user by the file's; the default user object stays (its
 * connections keep it), every other old user's connections are closed. */
static sds loadAclFile(client *current) {
    sds text = NULL, err = NULL;
    if (aclFileRead(server.acl_filename, &text, &err) != C_OK) return err;
    int n = 0;
    sds errors = NULL;
    aclUser **set = parseAclText(text, server.acl_filename, &n, &errors);
    sdsfree(text);
    if (!set && errors)
        return sdscat(errors, "WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
    aclUser *new_default = NULL;
    for (int i = 0; i < nusers; i++) {
        if (users[i] == default_user) continue;
        disconnectUserClients(users[i], current);
        userFree(users[i]);
    }
    nusers = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(set[i]->name, "default")) new_default = set[i];
        else userInsert(set[i]);
    }
    zfree(set);
    if (new_default) {
        userCopyInto(default_user, new_default);
        userFree(new_default);
    } else {
        aclUser *saved = default_user;
        createDefaultUser();
        nusers--; /* createDefaultUser inserted the new one: keep the old object */
        userUnlink(default_user);
        userCopyInto(saved, default_user);
        userFree(default_user);
        default_user = saved;
    }
    userInsert(default_user);
    return NULL;
}

static int saveAclFile(void) {
    sds text = sdsempty();
    for (int i = 0; i < nusers; i++) {
        sds line = describeUser(users[i]);
        text = sdscat(sdscatsds(text, line), "\n");
        sdsfree(line);
    }
    int r = aclFileWrite(server.acl_filename, text);
    sdsfree(text);
    return r;
}

void aclInit(void) {
    commandTableForEach(numberCommand, NULL);
    createDefaultUser();
    if (server.requirepass) aclUpdateDefaultUserPassword(server.requirepass);
    if (server.acl_filename) {
        sds err = loadAclFile(NULL);
        if (err) {
            serverLog(LL_WARNING, "Aborting Redis startup because of ACL errors: %s", err);
            exit(1);
        }
    }
}

/* ---- the ACL command ---- */

static void redactArgs(client *c, int from) {
    for (int j = from; j < c->argc; j++) {
        sdsfree(c->argv[j]);
        c->argv[j] = sdsnew("(redacted)");
    }
}

/* err (freed) as an ERR reply on one line */
static void addReplyAclError(client *c, sds err) {
    sds msg = sdscatsds(sdsnew("ERR "), err);
    for (size_t i = 0; i < sdslen(msg); i++)
        if (msg[i] == '\r' || msg[i] == '\n') msg[i] = ' ';
    addReplyErrorLength(c, msg, sdslen(msg));
    sdsfree(msg);
    sdsfree(err);
}

static void aclSetuserCommand(client *c) {
    sds name = c->argv[2];
    if (hasSpaces(name, sdslen(name))) {
        addReplyError(c, "ERR Usernames can't contain spaces or null characters");
        redactArgs(c, 2);
        return;
    }
    sds err = setUserRules(name, sdslen(name), c->argv + 3, c->argc - 3, c);
    redactArgs(c, 2);
    if (!err) {
        addReplyOK(c);
        return;
    }
    addReplyAclError(c, err);
}

static void aclDeluserCommand(client *c) {
    for (int j = 2; j < c->argc; j++) {
        if (!strcmp(c->argv[j], "default")) {
            addReplyError(c, "ERR The 'default' user cannot be removed");
            return;
        }
    }
    long long deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        aclUser *u = userLookup(c->argv[j], sdslen(c->argv[j]));
        if (!u) continue;
        userUnlink(u);
        disconnectUserClients(u, c);
        userFree(u);
        deleted++;
    }
    addReplyLongLong(c, deleted);
}

static void addReplySelector(client *c, const aclSelector *s) {
    addReplyBulkCString(c, "commands");
    addReplyBulkSds(c, describeCommandRules(s));
    addReplyBulkCString(c, "keys");
    addReplyBulkSds(c, describeKeys(s));
    addReplyBulkCString(c, "channels");
    addReplyBulkSds(c, describeChannels(s));
}

static void aclGetuserCommand(client *c) {
    aclUser *u = userLookup(c->argv[2], sdslen(c->argv[2]));
    if (!u) {
        addReplyNull(c);
        return;
    }
    addReplyMapLen(c, 6);
    addReplyBulkCString(c, "flags");
    long nflags = 0;
    for (size_t i = 0; i < sizeof(user_flag_names) / sizeof(user_flag_names[0]); i++)
        if (u->flags & user_flag_names[i].flag) nflags++;
    addReplySetLen(c, nflags);
    for (size_t i = 0; i < sizeof(user_flag_names) / sizeof(user_flag_names[0]); i++)
        if (u->flags & user_flag_names[i].flag) addReplyBulkCString(c, user_flag_names[i].name);
    addReplyBulkCString(c, "passwords");
    addReplyArrayLen(c, u->npasswords);
    for (int i = 0; i < u->npasswords; i++) addReplyBulkCString(c, u->passwords[i]);
    addReplySelector(c, u->selectors[0]);
    addReplyBulkCString(c, "selectors");
    addReplyArrayLen(c, u->nselectors - 1);
    for (int i = 1; i < u->nselectors; i++) {
        addReplyMapLen(c, 3);
        addReplySelector(c, u->selectors[i]);
    }
}

static void aclListCommand(client *c) {
    addReplyArrayLen(c, nusers);
    for (int i = 0; i < nusers; i++) addReplyBulkSds(c, describeUser(users[i]));
}

static void aclUsersCommand(client *c) {
    addReplyArrayLen(c, nusers);
    for (int i = 0; i < nusers; i++) addReplyBulk(c, users[i]->name, sdslen(users[i]->name));
}

static void aclWhoamiCommand(client *c) {
    if (c->user) addReplyBulk(c, c->user->name, sdslen(c->user->name));
    else addReplyNull(c);
}

static int aclFileConfigured(client *c) {
    if (server.acl_filename) return 1;
    addReplyError(c, "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via "
                     "the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration "
                     "file set) in order to store users in the Redis configuration.");
    return 0;
}

static void aclLoadCommand(client *c) {
    if (!aclFileConfigured(c)) return;
    sds err = loadAclFile(c);
    if (!err) {
        addReplyOK(c);
        return;
    }
    addReplyAclError(c, err);
}

static void aclSaveCommand(client *c) {
    if (!aclFileConfigured(c)) return;
    if (saveAclFile() == C_OK) addReplyOK(c);
    else addReplyError(c, "ERR There was an error trying to save the ACLs. Please check the server logs for more information");
}

static void aclCatCommand(client *c) {
    if (c->argc == 2) {
        long n = 0;
        while (categories[n]) n++;
        addReplyArrayLen(c, n);
        for (long i = 0; i < n; i++) addReplyBulkCString(c, categories[i]);
        return;
    }
    if (c->argc > 3) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    int cat = categoryIndex(c->argv[2], sdslen(c->argv[2]));
    if (cat < 0) {
        addReplyErrorFormat(c, "ERR Unknown category '%.128s'", c->argv[2]);
        return;
    }
    long n = 0;
    for (int id = 0; id < ncommands; id++)
        if (command_categories[id] & (1u << cat)) n++;
    addReplyArrayLen(c, n);
    for (int id = 0; id < ncommands; id++)
        if (command_categories[id] & (1u << cat)) addReplyBulkCString(c, commands_by_id[id]->fullname);
}

static void aclGenpassCommand(client *c) {
    long long bits = 256;
    if (c->argc > 3) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    if (c->argc == 3 && getLongLongFromArgOrReply(c, c->argv[2], &bits, NULL) != C_OK) return;
    if (bits <= 0 || bits > 4096) {
        addReplyError(c, "ERR ACL GENPASS argument must be the number of bits for the output password, a positive "
                         "number up to 4096");
        return;
    }
    size_t chars = (size_t)(bits + 3) / 4;
    char pass[1024];
    getRandomHexChars(pass, chars);
    addReplyBulk(c, pass, chars);
}

static void aclLogCommand(client *c) {
    long long count = 10;
    if (c->argc > 3) {
        addReplySubcommandSyntaxError(c);
        return;
    }
    if (c->argc == 3) {
        if (!strcasecmp(c->argv[2], "reset")) {
            for (int i = 0; i < acl_log_len; i++) logEntryFree(acl_log[i]);
            acl_log_len = 0;
            addReplyOK(c);
            return;
        }
        if (getLongLongFromArgOrReply(c, c->argv[2], &count, NULL) != C_OK) return;
        if (count < 0) count = 0;
    }
    if (count > acl_log_len) count = acl_log_len;
    static const char *reasons[] = {"unknown", "command", "key", "auth", "channel"};
    static const char *contexts[] = {"toplevel", "lua", "multi"};
    long long now = mstime();
    addReplyArrayLen(c, (long)count);
    for (long long i = 0; i < count; i++) {
        aclLogEntry *e = acl_log[i];
        addReplyMapLen(c, 7);
        addReplyBulkCString(c, "count");
        addReplyLongLong(c, e->count);
        addReplyBulkCString(c, "reason");
        addReplyBulkCString(c, reasons[e->reason]);
        addReplyBulkCString(c, "context");
        addReplyBulkCString(c, contexts[e->context]);
        addReplyBulkCString(c, "object");
        addReplyBulk(c, e->object, sdslen(e->object));
        addReplyBulkCString(c, "username");
        addReplyBulk(c, e->username, sdslen(e->username));
        addReplyBulkCString(c, "age-seconds");
        addReplyDouble(c, (double)(now - e->ctime) / 1000);
        addReplyBulkCString(c, "client-info");
        addReplyBulk(c, e->cinfo, sdslen(e->cinfo));
    }
}

static void aclDryrunCommand(client *c) {
    aclUser *u = userLookup(c->argv[2], sdslen(c->argv[2]));
    if (!u) {
        addReplyErrorFormat(c, "ERR User '%s' not found", c->argv[2]);
        return;
    }
    redisCommand *cmd = lookupCommandExact(c->argv + 3, c->argc - 3);
    if (!cmd) {
        addReplyErrorFormat(c, "ERR Command '%s' not found", c->argv[3]);
        return;
    }
    int argc = c->argc - 3;
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        addReplyErrorFormat(c, "ERR wrong number of arguments for '%s' command", cmd->fullname);
        return;
    }
    int pos = 0;
    int r = aclCheckCommand(u, cmd, c->argv + 3, argc, &pos);
    if (r == ACL_OK) {
        addReplyOK(c);
    } else if (r == ACL_DENIED_CMD) {
        addReplyBulkSds(c, sdscatprintf(sdsempty(), "This user has no permissions to run the '%s' command", cmd->fullname));
    } else {
        addReplyBulkSds(c, sdscatprintf(sdsempty(), "This user has no permissions to access the '%s' %s",
                                        c->argv[pos + 3], r == ACL_DENIED_KEY ? "key" : "channel"));
    }
}

static void aclHelpCommand(client *c) {
    static const char *help[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
        "HELP",
        "    Print this help.",
    };
    addReplyHelpLines(c, help);
}

static void aclContainerCommand(client *c) { (void)c; }

#define ACL_ADMIN "admin noscript loading stale", "admin slow dangerous", 0, 0, 0
static redisCommand aclSubcommands[] = {
    {"cat", aclCatCommand, -2, "noscript loading stale", "slow", 0, 0, 0, NULL},
    {"deluser", aclDeluserCommand, -3, ACL_ADMIN, NULL},
    {"dryrun", aclDryrunCommand, -4, ACL_ADMIN, NULL},
    {"genpass", aclGenpassCommand, -2, "noscript loading stale", "slow", 0, 0, 0, NULL},
    {"getuser", aclGetuserCommand, 3, ACL_ADMIN, NULL},
    {"help", aclHelpCommand, 2, "loading stale", "slow", 0, 0, 0, NULL},
    {"list", aclListCommand, 2, ACL_ADMIN, NULL},
    {"load", aclLoadCommand, 2, ACL_ADMIN, NULL},
    {"log", aclLogCommand, -2, ACL_ADMIN, NULL},
    {"save", aclSaveCommand, 2, ACL_ADMIN, NULL},
    {"setuser", aclSetuserCommand, -3, ACL_ADMIN, NULL},
    {"users", aclUsersCommand, 2, ACL_ADMIN, NULL},
    {"whoami", aclWhoamiCommand, 2, "noscript loading stale", "slow", 0, 0, 0, NULL},
    {NULL}};

redisCommand aclCommandTable[] = {
    {"acl", aclContainerCommand, -2, "", "slow", 0, 0, 0, aclSubcommands},
    {NULL}};
