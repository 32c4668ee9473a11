/* store_meta.c - the metadata cache of keys (type, expiry, open directory,
 * small "value" files), and the notifications every change to a key sends:
 * key listeners, the key and flush hooks, change counting and the snapshot's
 * link-before-change. Part of the storage layer (see store_int.h). */
#include "store_int.h"

/* ---- key generations ----
 * Every key has a generation, a number that changes with every change to
 * the key and is never given to it again. The three caches of what the tree
 * says (this file's metadata cache, t_list.c's list ends, t_zset.c's sorted
 * set indexes) record the generation they were filled at and compare it on
 * every hit (storeKeyGen): a different generation is a miss. So a command
 * cannot leave a cache stale by forgetting to tell it: the store moves the
 * generation itself,
 *   - in storeKeyTouched(), after every change made through a key handle
 *     (every op on a key's files, members and expiry ends there), and
 *   - in storeKeyChanged(), when a key is deleted, replaced (published over,
 *     RESTORE, COPY), renamed or moved (source and destination), and for
 *     whole databases (FLUSHDB, FLUSHALL, SWAPDB, a rolled back command,
 *     every database replaced by a full sync or a loaded RDB).
 * A key's generation lives in its metadata cache entry; a key without one
 * has the floor generation, and the floor moves to a new number whenever
 * entries are dropped (eviction, a whole database changed), so that no key
 * comes back to a generation a cache may have recorded.
 *
 * A handle (skey) remembers the generation it last saw (k->gen, set when it
 * is opened): a change through k moves k along with its key, a change made
 * any other way leaves k behind. storeKeyGenInStep(k) is the generation
 * only while k is not behind: what k's command learnt (a list's ends, an
 * index kept in step with its writes) may then be put in a cache under it.
 *
 * ---- the key metadata cache ----
 * A key's type and expiry, as read from its "type" and "expire" files, kept
 * for up to META_CACHE_MAX keys so that a lookup opens only the key's
 * directory, and, within META_FD_MAX descriptors, the open directory itself
 * and its namespace directories (fields, segments, ...), so that a lookup
 * or a member write opens nothing; and a string's "value" file when it is
 * small (META_VALUE_MAX bytes: counters, flags), so that GET and INCR read
 * nothing. The store keeps an entry in step itself: storeMetaFileChanged()
 * and setExpireOp() update it before the change's storeKeyTouched() moves
 * it to the new generation along with the handle; a change made through a
 * handle that is behind, or storeKeyChanged(), empties it (type OBJ_NONE:
 * only the generation is known). A key's descriptors go back to its entry
 * when the key is closed, and only when both are of the same generation:
 * an entry of another generation may name another directory. */
#define META_CACHE_MAX 65536
#define META_FD_MAX 128 /* lowered by storeSetCachedFdsMax() */
#define META_VALUE_MAX 64
static dict *metacache;
static int metafds;           /* descriptors the entries hold */
static int metafdsmax = META_FD_MAX;
static unsigned long long genCounter = 1; /* the last generation given */
static unsigned long long genFloor = 1;   /* the generation of keys without an entry */
static unsigned long long useTick;        /* for evicting the least recently used */

static void metaEntryForgetFds(metaEntry *e) {
    if (e->dirfd >= 0) {
        sysClose(e->dirfd);
        e->dirfd = -1;
        metafds--;
    }
    for (int i = 0; i < 4; i++)
        if (e->nsfd[i] >= 0) {
            sysClose(e->nsfd[i]);
            e->nsfd[i] = -1;
            e->nsname[i][0] = '\0';
            metafds--;
        }
}

/* The key changed under the entry: it keeps only the generation. */
static void metaEntryEmpty(metaEntry *e) {
    metaEntryForgetFds(e);
    sdsfree(e->value);
    e->value = NULL;
    e->type = OBJ_NONE;
    e->expire = -1;
    e->atime = 0; /* a key made again at the name is not the one accessed */
}

#define META_KEY_INLINE 256

/* The entry found last: a command looks its key up several times (open,
 * access, change, close), and hashing the name each time was a few per
 * cent of a pipelined SET. Forgotten whenever an entry leaves the cache. */
static struct {
    metaEntry *e;
    size_t klen;
    char key[META_KEY_INLINE];
} lastFound;

static void metaEntryFree(void *p) {
    metaEntry *e = p;
    if (lastFound.e == e) lastFound.e = NULL;
    metaEntryEmpty(e);
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

/* DEBUG RELOAD: the store opens the tree again, as at start-up: keys not
 * accessed since read as accessed then (storeKeyLastAccess). */
void storeMetaReopened(void) { metaopened = wallClockMs(); }

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

/* The cache's key for a key of db: "<db>:" then its name, built in buf
 * when it fits (the common case: no allocation, no formatting, on every
 * command's path), else in an allocation that metaKeyDone() frees. */
static char *metaKey(char *buf, int db, const char *name, size_t len, size_t *klen) {
    char *k = len + DB_SCOPED_EXTRA <= META_KEY_INLINE ? buf : zmalloc(len + DB_SCOPED_EXTRA);
    *klen = dbScopedName(k, db, name, len);
    return k;
}

static void metaKeyDone(char *k, char *buf) {
    if (k != buf) zfree(k);
}

static metaEntry *metaFind(int db, const char *name, size_t len) {
    char buf[META_KEY_INLINE];
    size_t klen;
    char *mk = metaKey(buf, db, name, len, &klen);
    metaEntry *e;
    if (lastFound.e && lastFound.klen == klen && !memcmp(lastFound.key, mk, klen)) {
        e = lastFound.e;
    } else {
        e = dictFetch(metacache, mk, klen);
        if (e && mk == buf) {
            lastFound.e = e;
            lastFound.klen = klen;
            memcpy(lastFound.key, mk, klen);
        }
    }
    metaKeyDone(mk, buf);
    return e;
}

/* Every entry goes, and with them every generation they held. */
static void metaClear(void) {
    if (!metacache) return;
    dictRelease(metacache, metaEntryFree);
    metacache = dictCreate();
    genFloor = ++genCounter;
}

static int cmpTick(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

/* The cache is full: the less recently used half of the entries goes (the
 * keys a cache is hot on stay), and the floor moves past their generations. */
static void metaEvict(void) {
    size_t n = dictSize(metacache), i = 0;
    unsigned long long *ticks = zmalloc(sizeof(*ticks) * (n ? n : 1));
    dictIterator it;
    dictIterInit(&it, metacache);
    for (dictEntry *de; (de = dictNext(&it)) != NULL;) ticks[i++] = ((metaEntry *)de->val)->lastuse;
    qsort(ticks, n, sizeof(*ticks), cmpTick);
    unsigned long long median = n ? ticks[n / 2] : 0;
    zfree(ticks);
    dictIterInit(&it, metacache);
    for (dictEntry *de; (de = dictNext(&it)) != NULL;) {
        metaEntry *e = de->val;
        if (e->lastuse <= median) metaEntryFree(dictDelete(metacache, de->key, sdslen(de->key)));
    }
    genFloor = ++genCounter;
}

static metaEntry *metaFetchName(int db, const char *name, size_t len) {
    return metacache ? metaFind(db, name, len) : NULL;
}

static metaEntry *metaFetch(const skey *k) { return metaFetchName(k->db, k->name, sdslen(k->name)); }

/* A new, empty entry (metacache is open) of the floor generation. */
static metaEntry *metaAdd(int db, const char *name, size_t len) {
    if (dictSize(metacache) >= META_CACHE_MAX) metaEvict();
    metaEntry *e = zcalloc(sizeof(*e));
    e->dirfd = -1;
    for (int i = 0; i < 4; i++) e->nsfd[i] = -1;
    e->type = OBJ_NONE;
    e->expire = -1;
    e->gen = genFloor;
    e->lastuse = ++useTick;
    char buf[META_KEY_INLINE];
    size_t klen;
    char *mk = metaKey(buf, db, name, len, &klen);
    dictAdd(metacache, mk, klen, e);
    metaKeyDone(mk, buf);
    return e;
}

static unsigned long long keyGen(int db, const char *name, size_t len) {
    metaEntry *e = metaFetchName(db, name, len);
    return e ? e->gen : genFloor;
}

unsigned long long storeKeyGen(const skey *k) {
    return k->staged ? 0 : keyGen(k->db, k->name, sdslen(k->name));
}

unsigned long long storeKeyGenInStep(const skey *k) {
    unsigned long long g = storeKeyGen(k);
    serverAssert(k->gen <= genCounter); /* no handle is ahead of the store */
    return g && k->gen == g ? g : 0;
}

unsigned long long storeKeyGenOf(int db, const char *name, size_t len) { return keyGen(db, name, len); }

unsigned long long storeKeyGenFloor(void) { return genFloor; }

/* k is what its key now is (published, renamed there): k is in step. */
void storeKeyCaughtUp(skey *k) {
    if (!k->staged) k->gen = keyGen(k->db, k->name, sdslen(k->name));
}

/* k's type and expiry are what the tree says (just read, or just set
 * through k): the entry keeps them, unless k is behind its key. */
void storeMetaRemember(skey *k) {
    if (!metacache || k->staged || k->sub) return;
    metaEntry *e = metaFetch(k);
    if (!e) e = metaAdd(k->db, k->name, sdslen(k->name));
    if (e->gen != k->gen) return; /* behind, or the floor moved while adding */
    e->type = k->type;
    e->expire = k->expire;
}

/* A key being opened: k takes its key's generation, and its type and expiry
 * (and its directory, when the entry has it) from the entry. 1 on a hit. */
int storeMetaLookup(skey *k) {
    metaEntry *e = metaFetch(k);
    k->gen = e ? e->gen : genFloor;
    if (!e || e->type == OBJ_NONE) return 0;
    serverAssert(e->gen <= genCounter);
    e->lastuse = ++useTick;
    k->type = e->type;
    k->expire = e->expire;
    if (e->dirfd >= 0 && k->dirfd < 0) metafds -= moveKeyFds(&e->dirfd, e->nsfd, e->nsname, &k->dirfd, k->nsfd, k->nsname);
    return 1;
}

/* A key being closed: keep its directory (and namespaces) open for the next
 * lookup. 1 when the entry took the descriptors. */
int storeMetaKeepDir(skey *k) {
    if (k->staged || k->sub || k->dirfd < 0 || metafds + 5 > metafdsmax) return 0;
    metaEntry *e = metaFetch(k);
    if (!e || e->gen != k->gen || e->type == OBJ_NONE || e->dirfd >= 0) return 0;
    metafds += moveKeyFds(&k->dirfd, k->nsfd, k->nsname, &e->dirfd, e->nsfd, e->nsname);
    return 1;
}

/* Descriptors run short: the entries close the directories they keep open
 * (their type and expiry stay known). Returns how many were closed. */
int storeMetaDropFds(void) {
    if (!metacache || !metafds) return 0;
    int before = metafds;
    dictIterator it;
    dictIterInit(&it, metacache);
    for (dictEntry *de; (de = dictNext(&it)) != NULL;) metaEntryForgetFds(de->val);
    serverAssert(metafds == 0); /* every descriptor is some entry's */
    return before;
}

int storeReleaseCachedFds(void) { return storeMetaDropFds(); }

int storeSetCachedFdsMax(int n) {
    metafdsmax = n < 0 ? 0 : n > META_FD_MAX ? META_FD_MAX : n;
    if (metafds > metafdsmax) storeMetaDropFds();
    return metafdsmax;
}

/* The entry k was opened with, if it still stands. */
metaEntry *storeMetaOf(const skey *k) {
    if (k->staged || k->sub) return NULL;
    metaEntry *e = metaFetch(k);
    return e && e->gen == k->gen && e->type != OBJ_NONE ? e : NULL;
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

int storeKeyInode(skey *k, unsigned long long *ino) {
    struct stat sb;
    int fd = storeKeyDir(k);
    if (fd < 0 || sysFstat(fd, &sb) < 0) return STORE_ERR;
    *ino = (unsigned long long)sb.st_ino;
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

/* A key (name NULL: every key) changed as a whole: a new generation. */
void storeKeyChanged(int db, const char *name, size_t len) {
    (void)db;
    if (!metacache) return;
    if (!name) { /* a whole database: every entry goes (db -1: all) */
        metaClear();
        storeScanAheadDrop();
        return;
    }
    metaEntry *e = metaFetchName(db, name, len);
    if (!e) e = metaAdd(db, name, len);
    metaEntryEmpty(e);
    e->gen = ++genCounter;
}

static storeKeyHook *keyHook;
storeDbHook *storeFlushHook;

void storeSetHooks(storeKeyHook *onkey, storeDbHook *onflush) {
    keyHook = onkey;
    storeFlushHook = onflush;
}

/* A visible key changed through k: a new generation, which k follows
 * when it was in step; the entry keeps what it knows only then (the store
 * updated it with the change). Then the layer above hears of it (WATCH,
 * tracking, blocked clients). */
void storeKeyTouched(skey *k) {
    if (k->staged) return;
    if (metacache) {
        metaEntry *e = metaFetch(k);
        int instep = k->gen == (e ? e->gen : genFloor);
        if (!e) e = metaAdd(k->db, k->name, sdslen(k->name));
        if (!instep) metaEntryEmpty(e);
        e->gen = ++genCounter;
        if (instep) k->gen = e->gen;
    }
    if (keyHook) keyHook(k->db, k->name, sdslen(k->name));
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
        size_t n = strnlen(fname, sizeof(last_changed) - 1);
        memcpy(last_changed, fname, n);
        last_changed[n] = '\0';
    }
    snapshotKeyWillChange(db, store.dbfd[db], fname);
}

void storeSkeyWillChange(const skey *k) {
    if (!k->staged) storeKeyWillChange(k->db, k->fname);
}

long long storeChanges(void) { return storeChangeCount; }
long long storeMutations(void) { return storeMutationCount; }

int storeTouchedIfOk(skey *k, int r) {
    if (r == STORE_OK) storeKeyTouched(k);
    return r;
}

/* SCAN's and KEYS's common case, in two lookups and without opening a file:
 * the key's directory is there and has no expire file. Its type file is
 * not read, one inode fewer per key on a tree the kernel has not cached: a
 * damaged key is listed (as DBSIZE counts it, and SET refuses its name)
 * and reported when a command opens it. */
int storeKeyHasNoTTL(int db, const char *name, size_t len) {
    if (metacache) {
        metaEntry *e = metaFind(db, name, len);
        if (e && e->type != OBJ_NONE && e->dirfd >= 0) return e->expire < 0; /* as storeOpenKey would trust it */
    }
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    struct stat sb;
    int plain = sysFstatat(store.dbfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
    if (plain) {
        fname = sdscat(fname, "/expire");
        plain = sysFstatat(store.dbfd[db], fname, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
    }
    sdsfree(fname);
    return plain;
}
