/* save.c - point-in-time snapshots as commands: BGSAVE [SCHEDULE], SAVE,
 * LASTSAVE, the periodic snapshots of DREDIS_SAVE, and INFO persistence.
 * The snapshot itself is made by the storage layer (store_db.c, snapshot.c):
 * a tree of hard links in a new directory of DREDIS_SNAPSHOT_DIR, taken
 * at the instant the command runs. */
#include "server.h"
#include "snapshot.h"
#include <string.h>
#include <strings.h>
#include <time.h>

/* As Redis's dirty_before_bgsave: the changes a snapshot holds count as
 * saved only once it is complete (a failed one leaves them to count, so
 * that DREDIS_SAVE tries again). */
static void snapshotStarted(void) {
    server.changes_at_start = storeChanges();
    server.rdb_save_time_start = (long long)time(NULL);
    server.lastsave_try = server.rdb_save_time_start;
}

static void snapshotEnded(int ok) {
    long long now = (long long)time(NULL);
    server.rdb_save_time_last = now - server.rdb_save_time_start;
    server.rdb_save_time_start = -1;
    server.lastbgsave_ok = ok;
    if (ok) {
        server.changes_at_save = server.changes_at_start;
        server.lastsave = now;
        server.rdb_saves++;
        serverLog(LL_NOTICE, "Snapshot complete: %s", snapshotLastDir());
    } else {
        serverLog(LL_WARNING, "Snapshot failed");
    }
    replicationSnapshotEnded(ok, snapshotLastDir());
}

/* The running snapshot is an AOF rewrite's, private: it is no BGSAVE and
 * replaces none (aof.c removes it once the base is written). */
static int snapshot_for_aof;

/* As Redis's "child process active": a snapshot being linked, or the RDB
 * of a full sync being written from the last one (which a new snapshot
 * could discard). */
int saveInProgress(void) { return snapshotRunning() || replicationExportRunning() || aofRewriteRunning(); }

/* Start a background snapshot; NULL, or the reason it did not start. */
const char *saveStartBackground(void) {
    const char *err = NULL;
    if (storeSnapshot(server.snapshot_dir, server.snapshot_keep, 1, &err) != STORE_OK) {
        server.lastbgsave_ok = 0;
        server.lastsave_try = (long long)time(NULL);
        serverLog(LL_WARNING, "Can't start a snapshot: %s", err);
        return err;
    }
    snapshotStarted();
    serverLog(LL_NOTICE, "Background snapshot started");
    return NULL;
}

/* Start an AOF rewrite's private snapshot; NULL, or the reason. Its end
 * goes to aofSnapshotEnded() alone. */
const char *saveStartForAof(void) {
    const char *err = NULL;
    if (storeSnapshot(server.snapshot_dir, SNAPSHOT_PRIVATE, 1, &err) != STORE_OK) return err;
    snapshot_for_aof = 1;
    return NULL;
}

/* BGSAVE [SCHEDULE] */
static void bgsaveCommand(client *c) {
    int schedule = 0;
    if (c->argc > 1) {
        if (c->argc == 2 && !strcasecmp(c->argv[1], "schedule")) {
            schedule = 1;
        } else {
            addReplyErrorSyntax(c);
            return;
        }
    }
    /* As Redis 7.0: SCHEDULE waits only for another kind of child (an AOF
     * rewrite, aof.c); a snapshot in progress (or the RDB of a full sync
     * being written) is an error with or without it. */
    if (aofRewriteRunning()) {
        /* as Redis: the AOF rewrite is "another child" */
        if (schedule) {
            server.bgsave_scheduled = 1;
            addReplyStatus(c, "Background saving scheduled");
        } else {
            addReplyError(c, "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE "
                             "SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else if (saveInProgress()) {
        addReplyError(c, "ERR Background save already in progress");
    } else if (c->flags & CLIENT_EXECUTING) {
        /* as Redis: inside EXEC the snapshot waits for the transaction */
        server.bgsave_scheduled = 1;
        addReplyStatus(c, "Background saving scheduled");
    } else {
        const char *err = saveStartBackground();
        if (err) addReplyErrorFormat(c, "ERR %s", err);
        else addReplyStatus(c, "Background saving started");
    }
}

/* SAVE: the same snapshot, made before the reply. As Redis, refused only
 * while a BGSAVE (or the RDB of a full sync) runs: during an AOF rewrite it
 * runs, after the rewrite's own snapshot (if still being linked) is done. */
static void saveCommand(client *c) {
    if ((snapshotRunning() && !snapshot_for_aof) || replicationExportRunning()) {
        addReplyError(c, "ERR Background save already in progress");
        return;
    }
    int aof_ok;
    if (snapshot_for_aof && snapshotWait(&aof_ok)) {
        snapshot_for_aof = 0;
        aofSnapshotEnded(aof_ok, snapshotFinishedDir());
    }
    const char *err = NULL;
    snapshotStarted();
    int ok = storeSnapshot(server.snapshot_dir, server.snapshot_keep, 0, &err) == STORE_OK;
    snapshotEnded(ok);
    if (ok) addReplyOK(c);
    else addReplyErrorFormat(c, "ERR %s", err);
}

static void lastsaveCommand(client *c) { addReplyLongLong(c, server.lastsave); }

/* Is a periodic snapshot due (DREDIS_SAVE)? As Redis's serverCron: enough
 * changes and seconds since the last, and a failed one retried no sooner
 * than 5 seconds after. */
static int periodicSnapshotDue(void) {
    long long now = (long long)time(NULL), changes = storeChanges() - server.changes_at_save;
    for (int i = 0; i < server.save_params_count; i++) {
        struct saveParam *sp = &server.save_params[i];
        if (changes >= sp->changes && now - server.lastsave > sp->seconds &&
            (server.lastbgsave_ok || now - server.lastsave_try > 5))
            return 1;
    }
    return 0;
}

void saveCron(void) {
    int ok;
    if (snapshotPoll(&ok)) {
        if (snapshot_for_aof) {
            snapshot_for_aof = 0;
            aofSnapshotEnded(ok, snapshotFinishedDir());
        } else {
            snapshotEnded(ok);
        }
    }
    if (saveInProgress()) return;
    if (server.bgsave_scheduled) {
        server.bgsave_scheduled = 0;
        saveStartBackground();
    } else if (periodicSnapshotDue()) {
        saveStartBackground();
    }
}

void saveInit(void) {
    server.lastsave = (long long)time(NULL);
    server.lastbgsave_ok = 1;
    server.rdb_save_time_start = -1;
    server.rdb_save_time_last = -1;
    server.changes_at_save = storeChanges();
    snapshotFindLast(server.snapshot_dir);
}

sds genPersistenceInfo(sds info) {
    long long linked = 0, total = 0;
    int running = snapshotRunning() && !snapshot_for_aof;
    if (snapshotRunning()) snapshotProgress(&linked, &total); /* an AOF rewrite's too, as Redis's */
    info = sdscatprintf(info,
                        "# Persistence\r\n"
                        "loading:0\r\n"
                        "async_loading:0\r\n"
                        "current_save_keys_processed:%lld\r\n"
                        "current_save_keys_total:%lld\r\n"
                        "rdb_changes_since_last_save:%lld\r\n"
                        "rdb_bgsave_in_progress:%d\r\n"
                        "rdb_last_save_time:%lld\r\n"
                        "rdb_last_bgsave_status:%s\r\n"
                        "rdb_last_bgsave_time_sec:%lld\r\n"
                        "rdb_current_bgsave_time_sec:%lld\r\n"
                        "rdb_saves:%lld\r\n",
                        linked, total, storeChanges() - server.changes_at_save, running, server.lastsave,
                        server.lastbgsave_ok ? "ok" : "err", server.rdb_save_time_last,
                        running ? (long long)time(NULL) - server.rdb_save_time_start : -1LL, server.rdb_saves);
    info = aofGenInfo(info);
    return sdscatprintf(info,
                        "dredis_last_snapshot_dir:%s\r\n"
                        "dredis_trash_pending:%lld\r\n",
                        snapshotLastDir(), storeTrashPending());
}

redisCommand saveCommandTable[] = {
    {"bgsave", bgsaveCommand, -1, "admin noscript no_async_loading", "admin slow dangerous", 0, 0, 0, NULL},
    {"save", saveCommand, 1, "admin noscript no_async_loading no_multi", "admin slow dangerous", 0, 0, 0, NULL},
    {"lastsave", lastsaveCommand, 1, "loading stale fast", "admin fast dangerous", 0, 0, 0, NULL},
    {NULL}};
