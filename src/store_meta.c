/* store_meta.c - the metadata cache of keys (type, expiry, open directory,
 * small "value" files), and the notifications every change to a key sends:
 * key listeners, the key and flush hooks, change counting and the snapshot's
 * link-before-change. Part of the storage layer (see store_int.h). */
#include "store_int.h"

#define MAX_KEY_LISTENERS 8
static storeKeyChangedFn *keyListeners[MAX_KEY_LISTENERS];
static int nkeyListeners;

int storeAddKeyListener(storeKeyChangedFn *fn) {
    for (int i = 0; i < nkeyListeners; i++)
        if (keyListeners[i] == fn) return STORE_OK;
    if (nkeyListeners == MAX_KEY_LISTENERS) return STORE_ERR;
    keyListeners[nkeyListeners++] = fn;
    return STORE_OK;
}

/* ---- the key metadata cache ----
 * A key's type and expiry, as read from its "type" and "expire" files, kept
 * for up to META_CACHE_MAX keys so that a lookup opens only the key's
 * directory, and, within META_FD_MAX descriptors, the open directory itself
 * and its namespace directories (fields, segments, ...), so that a lookup
 * or a member write opens nothing; and a string's "value" file when it is
 * small (META_VALUE_MAX bytes: counters, flags), so that GET and INCR read
 * nothing. Every change to them goes through this
 * file: storeKeyChanged() drops an entry (or a whole database), setExpireOp()
 * updates it. A key's descriptor goes back to its entry when the key is
 * closed, and only to the entry it was opened with (same generation): an
 * entry dropped and made again meanwhile may name another directory. */
#define META_CACHE_MAX 65536
#define META_FD_MAX 128 /* lowered by storeSetCachedFdsMax() */
#define META_VALUE_MAX 64
static dict *metacache;
static int metafds;           /* descriptors the entries hold */
static int metafdsmax = META_FD_MAX;
static unsigned long long metagen;

static void metaEntryFree(void *p) {
    metaEntry *e = p;
    sdsfree(e->value);
    if (e->dirfd >= 0) {
        sysClose(e->dirfd);
        metafds--;
    }
    for (int i = 0; i < 4; i++)
        if (e->nsfd[i] >= 0) {
            sysClose(e->nsfd[i]);
            metafds--;
        }
    zfree(e);
}

/* The cache starts empty with each store (storeInit) and is freed with it. */
static long long metaopened; /* unix ms: the floor of every access time */

static long long wallClockMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void storeMetaOpen(void) {
    metacache = dictCreate();
    metaopened = wallClockMs();
}

void storeMetaClose(void) {
    dictRelease(metacache, metaEntryFree);
    metacache = NULL;
}

/* Move the descriptors of a key directory and its namespaces from one
 * holder (an entry or an skey) to the other; returns how many moved. */
static int moveKeyFds(int *dirfd, int *nsfd, char (*nsname)[16], int *todirfd, int *tonsfd, char (*tonsname)[16]) {
    int n = 1;
    *todirfd = *dirfd;
    *dirfd = -1;
    for (int i = 0; i < 4; i++) {
        tonsfd[i] = nsfd[i];
        memcpy(tonsname[i], nsname[i], sizeof(tonsname[i]));
        if (nsfd[i] >= 0) n++;
        nsfd[i] = -1;
        nsname[i][0] = '\0';
    }
    return n;
}

static sds metaKey(int db, const char *name, size_t len) {
    sds k = sdscatprintf(sdsempty(), "%d:", db);
    return sdscatlen(k, name, len);
}

static void metaClear(void) {
    if (!metacache) return;
    dictRelease(metacache, metaEntryFree);
    metacache = dictCreate();
}

static void metaForget(int db, const char *name, size_t len) {
    if (!metacache) return;
    if (!name) { /* a whole database (or all: db -1) */
        metaClear();
        storeScanAheadDrop();
        return;
    }
    sds k = metaKey(db, name, len);
    metaEntry *e = dictDelete(metacache, k, sdslen(k));
    if (e) metaEntryFree(e);
    sdsfree(k);
}

static metaEntry *metaFetch(const skey *k) {
    if (!metacache) return NULL;
    sds mk = metaKey(k->db, k->name, sdslen(k->name));
    metaEntry *e = dictFetch(metacache, mk, sdslen(mk));
    sdsfree(mk);
    return e;
}

void storeMetaRemember(skey *k) {
    if (!metacache || k->staged) return;
    metaEntry *e = metaFetch(k);
    if (e && k->metagen && e->gen != k->metagen) {
        /* k was opened before its entry was dropped and made again: what
         * it knows may be of another directory */
        metaForget(k->db, k->name, sdslen(k->name));
        return;
    }
    if (!e) {
        if (dictSize(metacache) >= META_CACHE_MAX) metaClear(); /* crude but bounded */
        e = zmalloc(sizeof(*e));
        e->dirfd = -1;
        e->value = NULL;
        e->atime = 0;
        for (int i = 0; i < 4; i++) e->nsfd[i] = -1;
        e->gen = ++metagen;
        sds mk = metaKey(k->db, k->name, sdslen(k->name));
        dictAdd(metacache, mk, sdslen(mk), e);
        sdsfree(mk);
    }
    e->type = k->type;
    e->expire = k->expire;
    k->metagen = e->gen;
}

/* Fill k's type and expiry (and its directory, when the entry has it). */
int storeMetaLookup(skey *k) {
    metaEntry *e = metaFetch(k);
    if (!e) return 0;
    k->type = e->type;
    k->expire = e->expire;
    k->metagen = e->gen;
    if (e->dirfd >= 0 && k->dirfd < 0) metafds -= moveKeyFds(&e->dirfd, e->nsfd, e->nsname, &k->dirfd, k->nsfd, k->nsname);
    return 1;
}

/* A key being closed: keep its directory (and namespaces) open for the next
 * lookup. 1 when the entry took the descriptors. */
int storeMetaKeepDir(skey *k) {
    if (k->staged || k->dirfd < 0 || metafds + 5 > metafdsmax) return 0;
    metaEntry *e = metaFetch(k);
    if (!e || e->gen != k->metagen || e->dirfd >= 0) return 0;
    metafds += moveKeyFds(&k->dirfd, k->nsfd, k->nsname, &e->dirfd, e->nsfd, e->nsname);
    return 1;
}

/* Descriptors run short: the entries close the directories they keep open
 * (their type and expiry stay known). Returns how many were closed. */
int storeMetaDropFds(void) {
    if (!metacache || !metafds) return 0;
    int closed = 0;
    dictIterator it;
    dictIterInit(&it, metacache);
    for (dictEntry *de; (de = dictNext(&it)) != NULL;) {
        metaEntry *e = de->val;
        if (e->dirfd >= 0) {
            sysClose(e->dirfd);
            e->dirfd = -1;
            closed++;
        }
        for (int i = 0; i < 4; i++)
            if (e->nsfd[i] >= 0) {
                sysClose(e->nsfd[i]);
                e->nsfd[i] = -1;
                e->nsname[i][0] = '\0';
                closed++;
            }
    }
    metafds = 0;
    return closed;
}

int storeReleaseCachedFds(void) { return storeMetaDropFds(); }

int storeSetCachedFdsMax(int n) {
    metafdsmax = n < 0 ? 0 : n > META_FD_MAX ? META_FD_MAX : n;
    if (metafds > metafdsmax) storeMetaDropFds();
    return metafdsmax;
}

/* The entry k was opened with, if it still stands. */
metaEntry *storeMetaOf(const skey *k) {
    if (k->staged || !k->metagen) return NULL;
    metaEntry *e = metaFetch(k);
    return e && e->gen == k->metagen ? e : NULL;
}

/* ---- last access times (OBJECT IDLETIME) ----
 * Kept only in memory, in the key's cache entry: recording a read writes
 * nothing. A key the cache does not know (never accessed since the store
 * opened, or its entry dropped: a whole-key change, a flush or swap, the
 * cache emptied when full) was last accessed, as far as the store can tell,
 * when its directory last changed (its ctime: every write of the key's own
 * files, its creation, a rename), and never before the store opened: as
 * Redis, whose keys loaded at start-up are all accessed then. */
void storeKeyAccessed(skey *k, long long when_ms) {
    if (k->staged) return;
    metaEntry *e = storeMetaOf(k);
    if (!e) {
        storeMetaRemember(k);
        e = storeMetaOf(k);
    }
    if (e) e->atime = when_ms;
}

int storeKeyLastAccess(skey *k, long long *when_ms) {
    metaEntry *e = storeMetaOf(k);
    if (e && e->atime) {
        *when_ms = e->atime;
        return STORE_OK;
    }
    struct stat sb;
    int fd = storeKeyDir(k);
    if (fd < 0 || sysFstat(fd, &sb) < 0) return STORE_ERR;
    long long changed = (long long)sb.st_ctim.tv_sec * 1000 + sb.st_ctim.tv_nsec / 1000000;
    *when_ms = changed > metaopened ? changed : metaopened;
    return STORE_OK;
}

int storeIsValueFile(const char *file) { return !strcmp(file, "value"); }

/* The entry's copy of the "value" file: data (NULL: unknown). */
void storeMetaSetValue(metaEntry *e, const char *data, size_t len) {
    sdsfree(e->value);
    e->value = data && len <= META_VALUE_MAX ? sdsnewlen(data, len) : NULL;
}

/* k's file now holds data (NULL: unknown, e.g. patched or removed). */
void storeMetaFileChanged(const skey *k, const char *file, const char *data, size_t len) {
    metaEntry *e;
    if (storeIsValueFile(file) && (e = storeMetaOf(k))) storeMetaSetValue(e, data, len);
}

void storeKeyChanged(int db, const char *name, size_t len) {
    metaForget(db, name, len);
    for (int i = 0; i < nkeyListeners; i++) keyListeners[i](db, name, len);
}

static storeKeyHook *keyHook;
storeDbHook *storeFlushHook;

void storeSetHooks(storeKeyHook *onkey, storeDbHook *onflush) {
    keyHook = onkey;
    storeFlushHook = onflush;
}

/* Tell the layer above that a visible key changed (WATCH, caches). */
void storeKeyTouched(const skey *k) {
    if (keyHook && !k->staged) keyHook(k->db, k->name, sdslen(k->name));
}

/* Every change to a visible key passes here first: it is counted (a key
 * changed again by the same command counts once), and a running snapshot
 * links the key as it still is. */
long long storeChangeCount;
int storeLastChangedDb = -1;
static char last_changed[NAME_MAX + 1];

long long storeMutationCount;

void storeKeyWillChange(int db, const char *fname) {
    storeMutationCount++;
    if (db != storeLastChangedDb || strcmp(last_changed, fname) != 0) {
        storeChangeCount++;
        storeLastChangedDb = db;
        snprintf(last_changed, sizeof(last_changed), "%s", fname);
    }
    snapshotKeyWillChange(db, store.dbfd[db], fname);
}

void storeSkeyWillChange(const skey *k) {
    if (!k->staged) storeKeyWillChange(k->db, k->fname);
}

long long storeChanges(void) { return storeChangeCount; }
long long storeMutations(void) { return storeMutationCount; }

int storeTouchedIfOk(const skey *k, int r) {
    if (r == STORE_OK) storeKeyTouched(k);
    return r;
}

int storeKeyHasNoTTL(int db, const char *name, size_t len) {
    if (metacache) {
        sds mk = metaKey(db, name, len);
        metaEntry *e = dictFetch(metacache, mk, sdslen(mk));
        sdsfree(mk);
        if (e && e->dirfd >= 0) return e->expire < 0; /* as storeOpenKey would trust it */
    }
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    struct stat sb;
    int plain = sysFstatat(store.dbfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
    size_t dirlen = sdslen(fname);
    if (plain) {
        fname = sdscat(fname, "/expire");
        plain = sysFstatat(store.dbfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
    }
    if (plain) {
        /* and a type it knows: a damaged key is left to the full check */
        sdssetlen(fname, dirlen);
        fname[dirlen] = '\0';
        fname = sdscat(fname, "/type");
        char buf[16];
        int fd = sysOpenat(store.dbfd[db], fname, OPEN_FILE_FLAGS);
        ssize_t n = fd >= 0 ? sysRead(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0) sysClose(fd);
        plain = 0;
        if (n > 0) {
            sds type = sdsnewlen(buf, (size_t)n);
            plain = storeTypeFromFile(type) != OBJ_NONE;
            sdsfree(type);
        }
    }
    sdsfree(fname);
    return plain;
}
