/* store_expire.c - the expiry index: ROOT_DIR/<db>/.expires/<ms>_<key>,
 * one empty file per key with a TTL, kept in step with each key's "expire"
 * file and scanned by active expiry. Part of the storage layer (see
 * store_int.h). */
#include "store_int.h"

static sds expireEntryName(long long when, const sds fname) {
    return sdscatprintf(sdsempty(), "%lld_%s", when, fname);
}

void storeAddExpireEntry(int db, long long when, const sds fname) {
    sds e = expireEntryName(when, fname);
    sds tmp;
    if (opStageFile("", 0, &tmp, NULL) == STORE_OK && opInstallFile(tmp, 0, store.expfd[db], e, 1, NULL) == STORE_OK) {
        if (store.expcount[db] >= 0) store.expcount[db]++;
    } else if (errno == EEXIST) {
        sysUnlinkat(store.tmpfd, tmp, 0); /* already indexed */
        sdsfree(tmp);
    }
    sdsfree(e);
}

void storeRemoveExpireEntry(int db, long long when, const sds fname) {
    sds e = expireEntryName(when, fname);
    if (opUnlink(store.expfd[db], e) == STORE_OK && store.expcount[db] > 0) store.expcount[db]--;
    sdsfree(e);
}

/* Read the expiry of a key directory found at dirfd/name (for a key that is
 * about to be replaced). */
long long storeExpireOfDirAt(int dirfd, const char *name) {
    int fd = sysOpenat(dirfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return -1;
    sds s;
    long long when = -1;
    if (storeReadFileAt(fd, "expire", &s) == STORE_OK) {
        when = strtoll(s, NULL, 10);
        sdsfree(s);
    }
    sysClose(fd);
    return when;
}

long long storeExpiresCount(int db) {
    if (store.expcount[db] < 0) {
        dirReader r;
        if (storeDirReaderOpen(&r, store.expfd[db], ".", 0) != STORE_OK) return -1;
        long long n = 0;
        while (storeDirReaderNext(&r, 0)) n++;
        if (storeDirReaderEnd(&r) != STORE_OK) return -1; /* not cached: counted again next time */
        store.expcount[db] = n;
    }
    return store.expcount[db];
}

/* ------------------------------------------------------------------------ */
/* Expiry index                                                              */
/* ------------------------------------------------------------------------ */

long storeExpireScan(int db, long long now_ms, long budget, storeExpireVisitor *fn) {
    if (storeCoalesceSettle() != STORE_OK) return 0; /* the tree as the commands so far left it */
    if (storeExpiresCount(db) == 0) return 0; /* nothing to look at: no directory read (-1: unknown, look) */
    dirReader r;
    if (storeDirReaderOpen(&r, store.expfd[db], ".", store.expcursor[db]) != STORE_OK) return 0;
    long visited = 0;
    struct linux_dirent64 *d;
    while (visited < budget && (d = storeDirReaderNext(&r, 0)) != NULL) {
        visited++;
        char *us = strchr(d->d_name, '_');
        if (!us) continue;
        long long when = strtoll(d->d_name, NULL, 10);
        /* due as keyIsExpired() judges it: once the clock is past it (a key
         * at its very millisecond is not expired yet, and its entry, dropped
         * below, must not go before it) */
        if (when >= now_ms) continue;
        sds name = storeKeyNameOfEntry(db, us + 1);
        if (name) {
            fn(db, name, sdslen(name), when);
            sdsfree(name);
        }
        /* whatever fn did, this entry is due: drop it if it is still there */
        if (opUnlink(store.expfd[db], d->d_name) == STORE_OK && store.expcount[db] > 0) store.expcount[db]--;
    }
    store.expcursor[db] = r.eof ? 0 : r.pos;
    storeDirReaderClose(&r);
    return visited;
}
