/* store_coalesce.c - writes coalesced within a loop turn (issue #14).
 *
 * Replies leave at the end of an event-loop turn, so when several commands
 * of one turn overwrite the same file (a pipeline of SETs or INCRs on one
 * key, fifty clients on one counter), only the last version needs to reach
 * the tree. Rules:
 * - the first write of a turn to a file goes the usual way (staged,
 *   journaled, exchanged), so a command alone in its turn reports its own
 *   errors as before; it marks the file as written this turn;
 * - a later overwrite of a marked file by a command that has journaled
 *   nothing yet is kept here, in memory (up to PENDING_VALUE_MAX bytes),
 *   and the file's reads through the store answer it;
 * - the pending writes are "settled" (each written once, the usual way, in a
 *   journal transaction of their own) at the end of the turn, before the
 *   held COMMIT and before any reply leaves (storeCommitPending), and
 *   before anything else changes or reads the tree other than through the
 *   reads that know them (every other public entry point calls
 *   storeCoalesceSettle() first). The tree therefore always holds a prefix
 *   of the commands, in the order they ran, and nothing is acknowledged
 *   before it is in the tree as any other write would be;
 * - a command rolled back puts back, in memory, the pending bytes it
 *   replaced: its pending writes were its only changes;
 * - a settlement that cannot be written (after retries) stops the server:
 *   the replies of the commands folded into it cannot be taken back (a
 *   pipelined GET may have read the value); start-up recovery leaves the
 *   tree as it was before them, and none of them was acknowledged.
 * Part of the storage layer (see store_int.h). */
#include "store_int.h"

#define PENDING_MAX 256            /* files pending at once */
#define PENDING_VALUE_MAX 65536    /* larger writes go the usual way */
#define PENDING_BYTES_MAX (4 << 20) /* all pending bytes together */
#define MARKS_MAX 1024             /* files written this turn */
#define UNDO_MAX 1024              /* pending writes of the running command */

typedef struct fileId {
    int db;
    sds key; /* the raw key */
    sds ns;  /* NULL: one of the key's own files */
    sds name; /* the file, or the raw member name in ns */
} fileId;

typedef struct pendingWrite {
    fileId id;
    sds data;
} pendingWrite;

static pendingWrite pending[PENDING_MAX];
static int npending;
static size_t pendingBytes;

static fileId marks[MARKS_MAX];
static int nmarks;

/* What the running command replaced, step by step: entry idx held prev
 * (NULL: it was not pending) before the step. */
static struct undoStep {
    int idx;
    sds prev;
} undo[UNDO_MAX];
static int nundo;

/* undo[] index when each transaction level began: rolling a level back
 * undoes the steps from there on */
#define TXN_LEVELS 64
static int undoMark[TXN_LEVELS];

static int settling;

static int idIs(const fileId *id, int db, const char *key, size_t klen, const char *ns, const char *name, size_t nlen) {
    return id->db == db && sdslen(id->key) == klen && !memcmp(id->key, key, klen) &&
           (ns ? id->ns && !strcmp(id->ns, ns) : !id->ns) && sdslen(id->name) == nlen && !memcmp(id->name, name, nlen);
}

static int idMatches(const fileId *id, const skey *k, const char *ns, const char *name, size_t nlen) {
    return idIs(id, k->db, k->name, sdslen(k->name), ns, name, nlen);
}

static void idSet(fileId *id, int db, const char *key, size_t klen, const char *ns, const char *name, size_t nlen) {
    id->db = db;
    id->key = sdsnewlen(key, klen);
    id->ns = ns ? sdsnew(ns) : NULL;
    id->name = sdsnewlen(name, nlen);
}

static void idFree(fileId *id) {
    sdsfree(id->key);
    sdsfree(id->ns);
    sdsfree(id->name);
    memset(id, 0, sizeof(*id));
}

static int findPending(const skey *k, const char *ns, const char *name, size_t nlen) {
    for (int i = 0; i < npending; i++)
        if (idMatches(&pending[i].id, k, ns, name, nlen)) return i;
    return -1;
}

static int isMarked(const skey *k, const char *ns, const char *name, size_t nlen) {
    for (int i = 0; i < nmarks; i++)
        if (idMatches(&marks[i], k, ns, name, nlen)) return 1;
    return 0;
}

static int isMarkedId(const fileId *id) {
    for (int i = 0; i < nmarks; i++)
        if (idIs(&marks[i], id->db, id->key, sdslen(id->key), id->ns, id->name, sdslen(id->name))) return 1;
    return 0;
}

static void forgetMarks(void) {
    for (int i = 0; i < nmarks; i++) idFree(&marks[i]);
    nmarks = 0;
}

/* The bytes pending for a file of k (NULL: none): reads answer these. */
sds storeCoalescedValue(const skey *k, const char *ns, const char *name, size_t nlen) {
    if (!npending || k->staged || k->sub) return NULL;
    int i = findPending(k, ns, name, nlen);
    return i < 0 ? NULL : pending[i].data;
}

/* A write to a file of k went the usual way: later overwrites of it in
 * this turn may wait here. */
void storeCoalesceMark(const skey *k, const char *ns, const char *name, size_t nlen) {
    if (k->staged || k->sub || nmarks == MARKS_MAX || isMarked(k, ns, name, nlen)) return;
    idSet(&marks[nmarks++], k->db, k->name, sdslen(k->name), ns, name, nlen);
}

/* Keep this overwrite of a file of k pending instead of writing it, when
 * the rules allow: 1 when it was taken. */
int storeCoalesceTake(const skey *k, const char *ns, const char *name, size_t nlen, const char *data, size_t len) {
    if (settling || store.txn_depth == 0 || store.txn_open || k->staged || k->sub) return 0;
    if (len > PENDING_VALUE_MAX || nundo == UNDO_MAX) return 0;
    int i = findPending(k, ns, name, nlen);
    if (i < 0 && !isMarked(k, ns, name, nlen)) return 0;
    size_t old = i >= 0 ? sdslen(pending[i].data) : 0;
    if (pendingBytes - old + len > PENDING_BYTES_MAX || (i < 0 && npending == PENDING_MAX)) return 0;
    if (i < 0) {
        i = npending++;
        idSet(&pending[i].id, k->db, k->name, sdslen(k->name), ns, name, nlen);
        pending[i].data = NULL;
    }
    undo[nundo].idx = i;
    undo[nundo].prev = pending[i].data;
    nundo++;
    pending[i].data = sdsnewlen(data, len);
    pendingBytes = pendingBytes - old + len;
    return 1;
}

/* Write one pending file the usual way (inside a transaction). */
static int writeOne(const fileId *id, const char *data, size_t len) {
    skey *k;
    int r = openKeyOp(id->db, id->key, sdslen(id->key), &k);
    if (r != STORE_OK) {
        if (r == STORE_NOTFOUND) errno = ENOENT; /* removals settle first: cannot happen */
        return STORE_ERR;
    }
    if (!id->ns) {
        r = opWriteFile(storeKeyDir(k), id->name, data, len, NULL);
    } else {
        int fd = storeNamespaceDir(k, id->ns);
        int hashed;
        sds fname = keynameEncode(id->name, sdslen(id->name), &hashed);
        r = fd < 0 ? STORE_ERR : opWriteFile(fd, fname, data, len, NULL);
        sdsfree(fname);
    }
    int saved = errno;
    storeCloseKey(k);
    errno = saved;
    return r;
}

/* The last step is undone: the bytes it replaced are pending again (none
 * when it made the entry). Returns the entry. */
static pendingWrite *undoLastStep(void) {
    struct undoStep *u = &undo[--nundo];
    pendingWrite *p = &pending[u->idx];
    pendingBytes -= sdslen(p->data);
    sdsfree(p->data);
    p->data = u->prev;
    if (p->data) pendingBytes += sdslen(p->data);
    return p;
}

/* The steps from undo[from] on are undone. */
static int undoFrom(int from) {
    int undone = 0;
    while (nundo > from) {
        pendingWrite *p = undoLastStep();
        storeKeyChanged(p->id.db, p->id.key, sdslen(p->id.key)); /* its cached value was the undone one */
        undone++;
    }
    /* entries left without bytes were created by the undone writes: they
     * are the last ones (an entry is created by its first write) */
    while (npending > 0 && !pending[npending - 1].data) idFree(&pending[--npending].id);
    return undone;
}

static void freeAll(void) {
    for (int i = 0; i < npending; i++) {
        idFree(&pending[i].id);
        sdsfree(pending[i].data);
        pending[i].data = NULL;
    }
    npending = 0;
    pendingBytes = 0;
    for (int i = 0; i < nundo; i++) sdsfree(undo[i].prev);
    nundo = 0;
}

static void settleFailed(void) {
    fprintf(stderr, "dredis: fatal: cannot write the coalesced writes of this loop turn (%s); exiting: "
            "the tree holds the commands before them, and none of them was acknowledged\n", strerror(errno));
    fflush(stderr);
    _exit(1);
}

/* Settle: every pending file is written once, as it was before the running
 * command (if any) wrote it, in a journal transaction of its own; then the
 * running command's own pending writes are made again, step by step, the
 * usual way in its transaction (which has journaled nothing so far), each
 * nesting level's savepoint placed before the steps made since it began,
 * so that rolling back a level still undoes exactly what it did. STORE_ERR
 * (the innermost level marked failed) when one of the innermost level's
 * steps cannot be made: the caller must not go on as if it had. */
static int settle(void);

int storeCoalesceSettle(void) {
    forgetMarks();
    return settle();
}

/* The same before a write or a creation, which removes nothing: the files
 * marked still exist after it, so later overwrites of them in this turn
 * may still wait here (a list push that starts a segment and then fills it
 * writes the new segment once, not once per command). Any other change
 * may remove a marked file: storeCoalesceSettle forgets the marks. */
int storeCoalesceSettleForWrite(void) { return settle(); }

static int settle(void) {
    if (!npending || settling) return STORE_OK;
    settling = 1;
    /* the running command's steps: which file, what it wrote */
    int nsteps = nundo;
    fileId *stepIds = nsteps ? zcalloc(sizeof(*stepIds) * (size_t)nsteps) : NULL;
    sds *stepData = nsteps ? zcalloc(sizeof(*stepData) * (size_t)nsteps) : NULL;
    for (int i = 0; i < nsteps; i++) {
        pendingWrite *p = &pending[undo[i].idx];
        sds wrote = p->data;
        for (int j = i + 1; j < nsteps; j++)
            if (undo[j].idx == undo[i].idx) {
                wrote = undo[j].prev;
                break;
            }
        const fileId *id = &p->id;
        idSet(&stepIds[i], id->db, id->key, sdslen(id->key), id->ns, id->name, sdslen(id->name));
        stepData[i] = sdsdup(wrote);
    }
    /* back to the state before the command (its cached values stay: the
     * steps are made again below) */
    while (nundo > 0) undoLastStep();
    /* the settlement's own transaction, outside the command's */
    int depth = store.txn_depth;
    int failed0 = store.txn_failed[0];
    int lastdb = storeLastChangedDb;
    int marks0[TXN_LEVELS];
    memcpy(marks0, undoMark, sizeof(marks0));
    serverAssert(!store.txn_open); /* the command journaled nothing yet */
    int ok = 0;
    for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        store.txn_depth = 0;
        storeTxnBegin();
        ok = 1;
        for (int i = 0; i < npending && ok; i++)
            if (pending[i].data && writeOne(&pending[i].id, pending[i].data, sdslen(pending[i].data)) != STORE_OK)
                ok = 0;
        if (!ok) storeTxnFail();
        storeTxnEnd();
    }
    if (!ok) settleFailed();
    store.txn_depth = depth;
    store.txn_failed[0] = failed0;
    storeLastChangedDb = lastdb;
    memcpy(undoMark, marks0, sizeof(marks0));
    freeAll();
    /* the running command's steps, now the usual way */
    int levels = depth < TXN_LEVELS ? depth : TXN_LEVELS, level = 0, r = STORE_OK;
    for (int i = 0; i < nsteps; i++) {
        while (level < levels && undoMark[level] <= i) store.txn_savepoint[level++] = journalOffset();
        if (r == STORE_OK && writeOne(&stepIds[i], stepData[i], sdslen(stepData[i])) != STORE_OK) {
            r = STORE_ERR;
            /* a step of a level that ended already (EXEC's earlier command):
             * its reply was made, it cannot be failed now */
            if (level < levels) settleFailed();
            storeTxnFail();
        }
    }
    while (level < levels) store.txn_savepoint[level++] = journalOffset();
    for (int i = 0; i < nsteps; i++) {
        sdsfree(stepData[i]);
        if (r == STORE_OK && nmarks < MARKS_MAX && !isMarkedId(&stepIds[i])) marks[nmarks++] = stepIds[i]; /* written this turn */
        else idFree(&stepIds[i]);
    }
    zfree(stepIds);
    zfree(stepData);
    settling = 0;
    return r;
}

/* Settle where no command can be told of a failure: before replies leave
 * (a running script's own pending writes included, when a busy script lets
 * other clients' replies out), or at shutdown. */
void storeCoalesceSettleOrExit(void) {
    if (storeCoalesceSettle() != STORE_OK) settleFailed();
}

/* A transaction level begins (level: the depth before it). */
void storeCoalesceLevelBegin(int level) {
    if (level < TXN_LEVELS) undoMark[level] = nundo;
}

/* A transaction level ended (level: the depth after it): rolled back, the
 * pending writes made since it began are undone (their count is returned);
 * at the outermost end the command's steps are forgotten, kept. */
int storeCoalesceCommandEnd(int level, int rolled_back) {
    int undone = 0;
    if (rolled_back && level < TXN_LEVELS) {
        undone = undoFrom(undoMark[level]);
        forgetMarks(); /* an undone write may have created a file that is gone again */
    }
    if (level == 0) {
        for (int i = 0; i < nundo; i++) sdsfree(undo[i].prev);
        nundo = 0;
    }
    return undone;
}
