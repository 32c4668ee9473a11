/* propagate.c - what each command changed, told to the replicas the way
 * Redis 7.0 tells it (replication.c sends it): the command as it was given,
 * or as the command rewrote it for replicas (a relative time made absolute,
 * a random choice made explicit, a blocking form made plain), or the
 * commands it chose to send instead (a script's and a transaction's
 * effects are the commands they ran).
 *
 * call() brackets every command with propagateCallBegin/End. A command is
 * propagated when it changed a key (the store counts every change) or asked
 * for it (forceCommandPropagation: PUBLISH, FLUSHALL on an empty server),
 * unless it asked not to be (preventCommandPropagation: EXEC, EVAL), and
 * never when the store rolled it back. What one execution unit produced (a
 * command with the expiries it caused, an EXEC block, a script, one active
 * expiry) is sent together when the outermost call ends, wrapped in
 * MULTI/EXEC when it is more than one command. */
#include "server.h"
#include "scripting.h"
#include <stdarg.h>
#include <string.h>

typedef struct propOp {
    int targets; /* PROPAGATE_AOF | PROPAGATE_REPL: who gets it */
    int db;
    int argc;
    sds *argv;
} propOp;

static propOp *ops;
static int nops, opscap;
static int unitDepth;          /* calls (and expiries) under way */
static long long expiryChanges; /* store changes made by expiries, which are not the command's own */

static sds *copyArgv(int argc, sds *argv) {
    sds *copy = zmalloc(sizeof(sds) * (size_t)argc);
    for (int i = 0; i < argc; i++) copy[i] = sdsdup(argv[i]);
    return copy;
}

static void freeArgv(int argc, sds *argv) {
    for (int i = 0; i < argc; i++) sdsfree(argv[i]);
    zfree(argv);
}

/* Takes argv (an array of sds owned by the caller until now). */
static void pushOpTo(int targets, int db, int argc, sds *argv) {
    if (nops == opscap) {
        opscap = opscap ? opscap * 2 : 16;
        ops = zrealloc(ops, sizeof(propOp) * (size_t)opscap);
    }
    ops[nops++] = (propOp){targets, db, argc, argv};
}

static void pushOp(int db, int argc, sds *argv) { pushOpTo(PROPAGATE_AOF | PROPAGATE_REPL, db, argc, argv); }

static void discardOpsFrom(int from) {
    while (nops > from) {
        nops--;
        freeArgv(ops[nops].argc, ops[nops].argv);
    }
}

/* Who takes the stream: the replicas (and the backlog), and the AOF's
 * incr file (aof.c), fed the same commands at the same point. */
static int propagationWanted(void) { return replicationWanted() || aofFeedWanted(); }

static void feedStream(int targets, int db, int argc, sds *argv) {
    if (targets & PROPAGATE_REPL) replicationFeed(db, argc, argv);
    if (targets & PROPAGATE_AOF) aofFeed(db, argc, argv);
}

/* Send what the unit produced, MULTI/EXEC around more than one command
 * unless no_multi. */
static void propagatePendingAs(int no_multi) {
    if (nops == 0) return;
    sds multi = propWord("MULTI"), exec = propWord("EXEC");
    int transaction = nops > 1 && !no_multi;
    int all = PROPAGATE_AOF | PROPAGATE_REPL;
    if (transaction) feedStream(all, ops[0].db, 1, &multi);
    for (int i = 0; i < nops; i++) feedStream(ops[i].targets, ops[i].db, ops[i].argc, ops[i].argv);
    if (transaction) feedStream(all, ops[nops - 1].db, 1, &exec);
    discardOpsFrom(0);
}

static void propagatePending(void) { propagatePendingAs(0); }

/* Redis's CMD_TOUCHES_ARBITRARY_KEYS commands (SCAN, RANDOMKEY): run
 * directly, the expired keys they delete on their way are sent as plain
 * DELs, not wrapped in MULTI/EXEC (as an active expiry's). */
static int touchesArbitraryKeys(const client *c) {
    return c->cmd && (!strcmp(c->cmd->fullname, "scan") || !strcmp(c->cmd->fullname, "randomkey"));
}

void alsoPropagate(int db, int argc, sds *argv) {
    if (!propagationWanted()) return;
    pushOp(db, argc, copyArgv(argc, argv));
    if (unitDepth == 0) propagatePending();
}

void alsoPropagateArgs(int db, int argc, ...) {
    if (!propagationWanted()) return;
    sds *argv = zmalloc(sizeof(sds) * (size_t)argc);
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) argv[i] = sdsdup(va_arg(ap, sds));
    va_end(ap);
    pushOp(db, argc, argv);
    if (unitDepth == 0) propagatePending();
}

/* A key deleted because it expired (lazily by a command, or by the active
 * cycle): replicas delete it with DEL, as Redis 7.0 tells them
 * (lazyfree-lazy-expire is off). changes: the store's changes the deletion
 * made, which must not make the command that found the key a write. */
void propagateExpiry(int db, sds key, long long changes) {
    expiryChanges += changes;
    alsoPropagateArgs(db, 2, propWord("DEL"), key);
}

/* A command word as an sds that lives as long as the server (SET, PXAT,
 * DEL ...), for the argument lists built here and by the rewrites. */
sds propWord(const char *word) {
    static sds words[64];
    static int n;
    for (int i = 0; i < n; i++)
        if (!strcmp(words[i], word)) return words[i];
    if (n == 64) return sdsnew(word); /* never happens: the words are few */
    return words[n++] = sdsnew(word);
}

void preventCommandPropagation(client *c) { c->prop_flags |= PROP_PREVENT; }
void forceCommandPropagation(client *c) { c->prop_flags |= PROP_FORCE; }
void forceReplicaPropagation(client *c) { c->prop_flags |= PROP_FORCE_REPL; }

/* Replace what the running command propagates (its own argv otherwise). */
void rewriteCommandForPropagation(client *c, int argc, ...) {
    if (c->prop_argv) freeArgv(c->prop_argc, c->prop_argv);
    c->prop_argv = zmalloc(sizeof(sds) * (size_t)argc);
    c->prop_argc = argc;
    va_list ap;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) c->prop_argv[i] = sdsdup(va_arg(ap, sds));
    va_end(ap);
}

/* The same from an array (argv is copied). */
void rewriteCommandForPropagationArgv(client *c, int argc, sds *argv) {
    if (c->prop_argv) freeArgv(c->prop_argc, c->prop_argv);
    c->prop_argv = copyArgv(argc, argv);
    c->prop_argc = argc;
}

void propagateCallBegin(client *c, propState *ps) {
    ps->flags = c->prop_flags;
    ps->argc = c->prop_argc;
    ps->argv = c->prop_argv;
    ps->nops = nops;
    ps->changes = storeMutations();
    ps->expiry_changes = expiryChanges;
    c->prop_flags = 0;
    c->prop_argc = 0;
    c->prop_argv = NULL;
    unitDepth++;
}

/* Where a command that ran goes, as Redis's call(): both when it changed a
 * key or was forced, the replicas only when forced so (PUBLISH), less what
 * a script's redis.set_repl() left out. */
static int commandTargets(client *c, long long own) {
    int targets = 0;
    if (own > 0 || (c->prop_flags & PROP_FORCE)) targets = PROPAGATE_AOF | PROPAGATE_REPL;
    if (c->prop_flags & PROP_FORCE_REPL) targets |= PROPAGATE_REPL;
    return targets & ~c->prop_suppress;
}

void propagateCallEnd(client *c, propState *ps, int rolled_back) {
    int targets;
    long long own = (storeMutations() - ps->changes) - (expiryChanges - ps->expiry_changes);
    if (rolled_back) {
        discardOpsFrom(ps->nops);
    } else if (propagationWanted() && !(c->prop_flags & PROP_PREVENT) &&
               (targets = commandTargets(c, own)) != 0) {
        if (c->prop_argv) {
            pushOpTo(targets, c->db, c->prop_argc, c->prop_argv);
            c->prop_argv = NULL;
        } else {
            pushOpTo(targets, c->db, c->argc, copyArgv(c->argc, c->argv));
        }
    }
    if (c->prop_argv) freeArgv(c->prop_argc, c->prop_argv);
    c->prop_flags = ps->flags;
    c->prop_argc = ps->argc;
    c->prop_argv = ps->argv;
    if (--unitDepth == 0 && nops) {
        propagatePendingAs(touchesArbitraryKeys(c));
        c->woff = server.master_repl_offset; /* WAIT waits for what it wrote */
    }
}

/* A unit that is not a command (an active expiry): what it propagates is
 * sent when it ends. */
void propagateUnitBegin(void) { unitDepth++; }
void propagateUnitEnd(void) {
    if (--unitDepth == 0) propagatePending();
}
