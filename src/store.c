/* store.c - the key tree under ROOT_DIR. This file is the only one that
 * builds file names or calls file syscalls for data.
 *
 * Layout (docs/storage-format.md is the full specification):
 *   ROOT_DIR/<db>/<encoded key>/type       "string", "hash", ...
 *   ROOT_DIR/<db>/<encoded key>/value      a string's bytes
 *   ROOT_DIR/<db>/<encoded key>/expire     unix ms, when the key has a TTL
 *   ROOT_DIR/<db>/<encoded key>/name       the raw key, when the name is shortened
 *   ROOT_DIR/<db>/<encoded key>/<ns>/<encoded member>   collections
 *   ROOT_DIR/<db>/.expires/<ms>_<encoded key>           expiry index
 *   ROOT_DIR/.tmp/    files and keys being written (emptied at start-up)
 *   ROOT_DIR/.trash/  deleted keys, removed by a background thread
 *
 * Rules kept here: every path is one component opened relative to a
 * directory descriptor with O_NOFOLLOW, so nothing outside ROOT_DIR is ever
 * reached; files are written beside their target under .tmp and renamed over
 * it, never edited in place; a new key is built whole under .tmp and renamed
 * into its database, so readers see all of it or none of it. All mutations go
 * through the op* primitives below. */

#include "store.h"
#include "keyname.h"
#include "zmalloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/syscall.h>

#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* O_NONBLOCK: opening a FIFO planted in the tree must not hang the server
 * (it has no effect on regular files; anything else is refused after fstat) */
#define OPEN_FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)

static struct {
    sds root;
    int rootfd, tmpfd, trashfd;
    int dbnum;
    int *dbfd;
    int *expfd;
    long long *dbsize;       /* -1 until first counted */
    long long *expcount;     /* -1 until first counted */
    unsigned long long *expcursor;
    unsigned long long seq;
    pthread_t trash_thread;
    pthread_mutex_t trash_lock;
    pthread_cond_t trash_cond;
    int trash_stop;
    long long trash_pending;
    int trash_started;
} st;

static const char *typeNames[] = {"string", "list", "set", "zset", "hash", "stream"};

const char *storeRoot(void) { return st.root; }

/* ------------------------------------------------------------------------ */
/* Small I/O helpers                                                         */
/* ------------------------------------------------------------------------ */

static int writeAll(int fd, const char *p, size_t len) {
    while (len) {
        ssize_t n = write(fd, p, len > (1 << 30) ? (1 << 30) : len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Read a whole file opened relative to dirfd. */
static int readFileAt(int dirfd, const char *name, sds *out) {
    int fd = openat(dirfd, name, OPEN_FILE_FLAGS);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    struct stat sb;
    if (fstat(fd, &sb) < 0) goto err;
    if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; goto err; }
    sds s = sdsnewlen(NULL, (size_t)sb.st_size);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, s + got, (size_t)sb.st_size - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            sdsfree(s);
            goto err;
        }
        if (n == 0) break; /* shrank under us: impossible for our files */
        got += (size_t)n;
    }
    sdssetlen(s, got);
    close(fd);
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        close(fd);
        errno = saved;
        return STORE_ERR;
    }
}

static sds tmpName(char prefix) {
    return sdscatprintf(sdsempty(), "%c%d-%llu", prefix, (int)getpid(), ++st.seq);
}

/* ------------------------------------------------------------------------ */
/* Mutation primitives: every change to the tree goes through these.         */
/* ------------------------------------------------------------------------ */

/* Create a new file under .tmp holding data; returns its name. */
static int opStageFile(const char *data, size_t len, sds *tmpname) {
    sds name = tmpName('w');
    int fd = openat(st.tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) { sdsfree(name); return STORE_ERR; }
    if (writeAll(fd, data, len) < 0 || close(fd) < 0) {
        int saved = errno;
        if (fd >= 0) close(fd);
        unlinkat(st.tmpfd, name, 0);
        sdsfree(name);
        errno = saved;
        return STORE_ERR;
    }
    *tmpname = name;
    return STORE_OK;
}

/* Move a staged file into dirfd/name. noreplace: fail with EEXIST instead of
 * replacing. On failure the staged file is removed. */
static int opInstallFile(sds tmpname, int dirfd, const char *name, int noreplace) {
    int r = renameat2(st.tmpfd, tmpname, dirfd, name, noreplace ? RENAME_NOREPLACE : 0);
    if (r < 0) {
        int saved = errno;
        if (!(noreplace && saved == EEXIST)) {
            unlinkat(st.tmpfd, tmpname, 0);
            sdsfree(tmpname);
        }
        errno = saved;
        return STORE_ERR;
    }
    sdsfree(tmpname);
    return STORE_OK;
}

/* Atomically replace (or create) dirfd/name with data. *created, when given,
 * tells whether the name did not exist before. */
static int opWriteFile(int dirfd, const char *name, const char *data, size_t len, int *created) {
    sds tmp;
    if (opStageFile(data, len, &tmp) != STORE_OK) return STORE_ERR;
    if (created) {
        if (opInstallFile(tmp, dirfd, name, 1) == STORE_OK) {
            *created = 1;
            return STORE_OK;
        }
        if (errno != EEXIST) return STORE_ERR;
        *created = 0;
    }
    return opInstallFile(tmp, dirfd, name, 0);
}

static int opUnlink(int dirfd, const char *name) {
    if (unlinkat(dirfd, name, 0) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    return STORE_OK;
}

static int opMkdir(int dirfd, const char *name) {
    if (mkdirat(dirfd, name, 0755) < 0) return STORE_ERR;
    return STORE_OK;
}

static int opRename(int olddirfd, const char *oldname, int newdirfd, const char *newname, unsigned flags) {
    if (renameat2(olddirfd, oldname, newdirfd, newname, flags) < 0) return STORE_ERR;
    return STORE_OK;
}

static void trashWake(void) {
    pthread_mutex_lock(&st.trash_lock);
    st.trash_pending++;
    pthread_cond_signal(&st.trash_cond);
    pthread_mutex_unlock(&st.trash_lock);
}

/* Move dirfd/name (a file or a whole tree) to .trash for background removal. */
static int opTrash(int dirfd, const char *name) {
    sds t = tmpName('t');
    int r = opRename(dirfd, name, st.trashfd, t, RENAME_NOREPLACE);
    sdsfree(t);
    if (r == STORE_OK) trashWake();
    return r;
}

/* ------------------------------------------------------------------------ */
/* Background removal of .trash                                              */
/* ------------------------------------------------------------------------ */

/* Remove dirfd/name recursively without following symbolic links. */
static void removeTree(int parentfd, const char *name) {
    if (unlinkat(parentfd, name, 0) == 0) return;
    if (errno != EISDIR && errno != EPERM) return;
    int fd = openat(parentfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return; }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (de->d_type == DT_DIR) removeTree(dirfd(d), de->d_name);
        else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR)
            removeTree(dirfd(d), de->d_name);
    }
    closedir(d);
    unlinkat(parentfd, name, AT_REMOVEDIR);
}

static void emptyTrash(int trashfd) {
    int fd = openat(trashfd, ".", OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return; }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        removeTree(trashfd, de->d_name);
    }
    closedir(d);
}

static void *trashThreadMain(void *arg) {
    (void)arg;
    pthread_mutex_lock(&st.trash_lock);
    for (;;) {
        while (st.trash_pending == 0 && !st.trash_stop) pthread_cond_wait(&st.trash_cond, &st.trash_lock);
        if (st.trash_stop) break;
        st.trash_pending = 0;
        pthread_mutex_unlock(&st.trash_lock);
        emptyTrash(st.trashfd);
        pthread_mutex_lock(&st.trash_lock);
    }
    pthread_mutex_unlock(&st.trash_lock);
    return NULL;
}

long long storeTrashPending(void) {
    pthread_mutex_lock(&st.trash_lock);
    long long n = st.trash_pending;
    pthread_mutex_unlock(&st.trash_lock);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Start-up and shutdown                                                     */
/* ------------------------------------------------------------------------ */

static int openOrMakeDir(int parentfd, const char *name, int *out) {
    if (mkdirat(parentfd, name, 0755) < 0 && errno != EEXIST) return STORE_ERR;
    int fd = openat(parentfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return STORE_ERR;
    *out = fd;
    return STORE_OK;
}

/* Anything left under .tmp by a previous run is an unfinished write. */
static void clearStaging(void) {
    int fd = openat(st.tmpfd, ".", OPEN_DIR_FLAGS);
    if (fd < 0) return;
    DIR *d = fdopendir(fd);
    if (!d) { close(fd); return; }
    struct dirent *de;
    int moved = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        sds t = tmpName('s');
        if (renameat(dirfd(d), de->d_name, st.trashfd, t) == 0) moved++;
        sdsfree(t);
    }
    closedir(d);
    if (moved) trashWake();
}

int storeInit(const char *root, int dbnum, char **err) {
    static char errbuf[512];
    memset(&st, 0, sizeof(st));
    st.rootfd = st.tmpfd = st.trashfd = -1;
    st.root = sdsnew(root);
    st.dbnum = dbnum;
    st.rootfd = open(root, OPEN_DIR_FLAGS & ~O_NOFOLLOW);
    if (st.rootfd < 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot open ROOT_DIR '%s': %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    if (faccessat(st.rootfd, ".", W_OK, AT_EACCESS) < 0) {
        snprintf(errbuf, sizeof(errbuf), "ROOT_DIR '%s' is not writable: %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    if (openOrMakeDir(st.rootfd, ".tmp", &st.tmpfd) != STORE_OK ||
        openOrMakeDir(st.rootfd, ".trash", &st.trashfd) != STORE_OK) {
        snprintf(errbuf, sizeof(errbuf), "cannot create .tmp/.trash under ROOT_DIR '%s': %s", root, strerror(errno));
        *err = errbuf;
        return STORE_ERR;
    }
    st.dbfd = zmalloc(sizeof(int) * (size_t)dbnum);
    st.expfd = zmalloc(sizeof(int) * (size_t)dbnum);
    st.dbsize = zmalloc(sizeof(long long) * (size_t)dbnum);
    st.expcount = zmalloc(sizeof(long long) * (size_t)dbnum);
    st.expcursor = zcalloc(sizeof(unsigned long long) * (size_t)dbnum);
    for (int i = 0; i < dbnum; i++) {
        char name[16];
        snprintf(name, sizeof(name), "%d", i);
        st.dbsize[i] = st.expcount[i] = -1;
        if (openOrMakeDir(st.rootfd, name, &st.dbfd[i]) != STORE_OK ||
            openOrMakeDir(st.dbfd[i], ".expires", &st.expfd[i]) != STORE_OK) {
            snprintf(errbuf, sizeof(errbuf), "cannot create database directory %s under ROOT_DIR '%s': %s", name,
                     root, strerror(errno));
            *err = errbuf;
            return STORE_ERR;
        }
    }
    pthread_mutex_init(&st.trash_lock, NULL);
    pthread_cond_init(&st.trash_cond, NULL);
    clearStaging();
    st.trash_pending++; /* empty what a previous run left in .trash */
    if (pthread_create(&st.trash_thread, NULL, trashThreadMain, NULL) != 0) {
        snprintf(errbuf, sizeof(errbuf), "cannot start the trash thread");
        *err = errbuf;
        return STORE_ERR;
    }
    st.trash_started = 1;
    return STORE_OK;
}

void storeShutdown(void) {
    if (st.trash_started) {
        pthread_mutex_lock(&st.trash_lock);
        st.trash_stop = 1;
        pthread_cond_signal(&st.trash_cond);
        pthread_mutex_unlock(&st.trash_lock);
        pthread_join(st.trash_thread, NULL);
        st.trash_started = 0;
    }
    for (int i = 0; i < st.dbnum; i++) {
        if (st.dbfd) close(st.dbfd[i]);
        if (st.expfd) close(st.expfd[i]);
    }
    if (st.tmpfd >= 0) close(st.tmpfd);
    if (st.trashfd >= 0) close(st.trashfd);
    if (st.rootfd >= 0) close(st.rootfd);
    zfree(st.dbfd);
    zfree(st.expfd);
    zfree(st.dbsize);
    zfree(st.expcount);
    zfree(st.expcursor);
    sdsfree(st.root);
    memset(&st, 0, sizeof(st));
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                      */
/* ------------------------------------------------------------------------ */

static int typeFromFile(const sds s) {
    size_t len = sdslen(s);
    while (len && (s[len - 1] == '\n')) len--;
    for (int i = 0; i < (int)(sizeof(typeNames) / sizeof(typeNames[0])); i++)
        if (strlen(typeNames[i]) == len && !memcmp(typeNames[i], s, len)) return i;
    return OBJ_NONE;
}

static skey *newSkey(int db, const char *name, size_t len) {
    skey *k = zcalloc(sizeof(*k));
    k->db = db;
    k->name = sdsnewlen(name, len);
    k->fname = keynameEncode(name, len, &k->hashed);
    k->dirfd = -1;
    k->expire = -1;
    k->type = OBJ_NONE;
    for (int i = 0; i < 4; i++) k->nsfd[i] = -1;
    return k;
}

static void closeNamespaces(skey *k) {
    for (int i = 0; i < 4; i++) {
        if (k->nsfd[i] >= 0) close(k->nsfd[i]);
        k->nsfd[i] = -1;
        k->nsname[i][0] = '\0';
    }
}

void storeCloseKey(skey *k) {
    if (!k) return;
    closeNamespaces(k);
    if (k->dirfd >= 0) close(k->dirfd);
    sdsfree(k->name);
    sdsfree(k->fname);
    sdsfree(k->stagename);
    zfree(k);
}

static sds expireEntryName(long long when, const sds fname) {
    return sdscatprintf(sdsempty(), "%lld_%s", when, fname);
}

/* Read the meta files of an open key directory. */
static int loadKeyMeta(skey *k) {
    sds s;
    int r = readFileAt(k->dirfd, "type", &s);
    if (r != STORE_OK) {
        if (r == STORE_NOTFOUND) errno = EUCLEAN; /* a key directory without a type */
        return STORE_ERR;
    }
    k->type = typeFromFile(s);
    sdsfree(s);
    if (k->type == OBJ_NONE) { errno = EUCLEAN; return STORE_ERR; }
    if (k->hashed) {
        r = readFileAt(k->dirfd, "name", &s);
        if (r != STORE_OK) { errno = EUCLEAN; return STORE_ERR; }
        int same = sdslen(s) == sdslen(k->name) && !memcmp(s, k->name, sdslen(s));
        sdsfree(s);
        if (!same) { errno = EUCLEAN; return STORE_ERR; } /* digest collision */
    }
    r = readFileAt(k->dirfd, "expire", &s);
    if (r == STORE_ERR) return STORE_ERR;
    if (r == STORE_OK) {
        k->expire = strtoll(s, NULL, 10);
        sdsfree(s);
    }
    return STORE_OK;
}

int storeOpenKey(int db, const char *name, size_t len, skey **out) {
    *out = NULL;
    skey *k = newSkey(db, name, len);
    k->dirfd = openat(st.dbfd[db], k->fname, OPEN_DIR_FLAGS);
    if (k->dirfd < 0) {
        int saved = errno;
        storeCloseKey(k);
        if (saved == ENOENT) return STORE_NOTFOUND;
        errno = saved;
        return STORE_ERR;
    }
    if (loadKeyMeta(k) != STORE_OK) {
        int saved = errno;
        storeCloseKey(k);
        errno = saved;
        return STORE_ERR;
    }
    *out = k;
    return STORE_OK;
}

int storeNewKey(int db, const char *name, size_t len, int type, skey **out) {
    *out = NULL;
    skey *k = newSkey(db, name, len);
    k->type = type;
    k->staged = 1;
    k->stagename = tmpName('k');
    if (opMkdir(st.tmpfd, k->stagename) != STORE_OK) goto err;
    k->dirfd = openat(st.tmpfd, k->stagename, OPEN_DIR_FLAGS);
    if (k->dirfd < 0) goto err;
    if (opWriteFile(k->dirfd, "type", typeNames[type], strlen(typeNames[type]), NULL) != STORE_OK) goto err;
    if (k->hashed && opWriteFile(k->dirfd, "name", name, len, NULL) != STORE_OK) goto err;
    *out = k;
    return STORE_OK;
err: {
        int saved = errno;
        if (k->dirfd >= 0) opTrash(st.tmpfd, k->stagename);
        storeCloseKey(k);
        errno = saved;
        return STORE_ERR;
    }
}

static void addExpireEntry(int db, long long when, const sds fname) {
    sds e = expireEntryName(when, fname);
    int fd = openat(st.expfd[db], e, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0) {
        close(fd);
        if (st.expcount[db] >= 0) st.expcount[db]++;
    }
    sdsfree(e);
}

static void removeExpireEntry(int db, long long when, const sds fname) {
    sds e = expireEntryName(when, fname);
    if (opUnlink(st.expfd[db], e) == STORE_OK && st.expcount[db] > 0) st.expcount[db]--;
    sdsfree(e);
}

/* Read the expiry of a key directory found at dirfd/name (for a key that is
 * about to be replaced). */
static long long expireOfDirAt(int dirfd, const char *name) {
    int fd = openat(dirfd, name, OPEN_DIR_FLAGS);
    if (fd < 0) return -1;
    sds s;
    long long when = -1;
    if (readFileAt(fd, "expire", &s) == STORE_OK) {
        when = strtoll(s, NULL, 10);
        sdsfree(s);
    }
    close(fd);
    return when;
}

int storePublishKey(skey *k, int *replaced) {
    int db = k->db;
    if (replaced) *replaced = 0;
    if (!k->staged) return STORE_OK;
    if (opRename(st.tmpfd, k->stagename, st.dbfd[db], k->fname, RENAME_NOREPLACE) != STORE_OK) {
        if (errno != EEXIST && errno != ENOTEMPTY) return STORE_ERR;
        /* Swap with the key in place, then throw the old one away. */
        if (opRename(st.tmpfd, k->stagename, st.dbfd[db], k->fname, RENAME_EXCHANGE) != STORE_OK)
            return STORE_ERR;
        long long oldexp = expireOfDirAt(st.tmpfd, k->stagename);
        if (oldexp >= 0) removeExpireEntry(db, oldexp, k->fname);
        opTrash(st.tmpfd, k->stagename);
        if (replaced) *replaced = 1;
    } else if (st.dbsize[db] >= 0) {
        st.dbsize[db]++;
    }
    k->staged = 0;
    sdsfree(k->stagename);
    k->stagename = NULL;
    if (k->expire >= 0) addExpireEntry(db, k->expire, k->fname);
    return STORE_OK;
}

int storeDeleteKey(skey *k) {
    if (k->staged) {
        opTrash(st.tmpfd, k->stagename);
        return STORE_OK;
    }
    if (opTrash(st.dbfd[k->db], k->fname) != STORE_OK) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    if (k->expire >= 0) removeExpireEntry(k->db, k->expire, k->fname);
    if (st.dbsize[k->db] > 0) st.dbsize[k->db]--;
    return STORE_OK;
}

int storeRenameKey(skey *k, int dstdb, const char *dst, size_t dstlen) {
    int hashed;
    sds dfname = keynameEncode(dst, dstlen, &hashed);
    if (hashed && opWriteFile(k->dirfd, "name", dst, dstlen, NULL) != STORE_OK) goto err;
    if (opRename(st.dbfd[k->db], k->fname, st.dbfd[dstdb], dfname, RENAME_NOREPLACE) != STORE_OK) {
        if (errno != EEXIST && errno != ENOTEMPTY) goto err;
        long long oldexp = expireOfDirAt(st.dbfd[dstdb], dfname);
        if (opRename(st.dbfd[k->db], k->fname, st.dbfd[dstdb], dfname, RENAME_EXCHANGE) != STORE_OK) goto err;
        /* the old destination now sits at the source's name */
        if (oldexp >= 0) removeExpireEntry(dstdb, oldexp, dfname);
        opTrash(st.dbfd[k->db], k->fname);
        if (st.dbsize[k->db] > 0) st.dbsize[k->db]--;
    } else {
        if (st.dbsize[k->db] > 0) st.dbsize[k->db]--;
        if (st.dbsize[dstdb] >= 0) st.dbsize[dstdb]++;
    }
    if (k->hashed && !hashed) opUnlink(k->dirfd, "name");
    if (k->expire >= 0) {
        removeExpireEntry(k->db, k->expire, k->fname);
        addExpireEntry(dstdb, k->expire, dfname);
    }
    sdsfree(k->fname);
    sdsfree(k->name);
    k->fname = dfname;
    k->name = sdsnewlen(dst, dstlen);
    k->hashed = hashed;
    k->db = dstdb;
    return STORE_OK;
err: {
        int saved = errno;
        sdsfree(dfname);
        errno = saved;
        return STORE_ERR;
    }
}

int storeSetExpire(skey *k, long long when) {
    if (when == k->expire) return STORE_OK;
    if (when >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%lld", when);
        if (opWriteFile(k->dirfd, "expire", buf, (size_t)n, NULL) != STORE_OK) return STORE_ERR;
    } else if (opUnlink(k->dirfd, "expire") == STORE_ERR) {
        return STORE_ERR;
    }
    if (!k->staged) {
        if (k->expire >= 0) removeExpireEntry(k->db, k->expire, k->fname);
        if (when >= 0) addExpireEntry(k->db, when, k->fname);
    }
    k->expire = when;
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* Databases: flush, size, scan                                              */
/* ------------------------------------------------------------------------ */

int storeFlushDb(int db) {
    char name[16];
    snprintf(name, sizeof(name), "%d", db);
    int newfd, newexp;
    sds staged = tmpName('d');
    /* build the empty database first, then swap it in */
    if (opMkdir(st.tmpfd, staged) != STORE_OK) { sdsfree(staged); return STORE_ERR; }
    int sfd = openat(st.tmpfd, staged, OPEN_DIR_FLAGS);
    if (sfd < 0 || opMkdir(sfd, ".expires") != STORE_OK ||
        opRename(st.tmpfd, staged, st.rootfd, name, RENAME_EXCHANGE) != STORE_OK) {
        int saved = errno;
        if (sfd >= 0) close(sfd);
        opTrash(st.tmpfd, staged);
        sdsfree(staged);
        errno = saved;
        return STORE_ERR;
    }
    close(sfd);
    opTrash(st.tmpfd, staged);
    sdsfree(staged);
    newfd = openat(st.rootfd, name, OPEN_DIR_FLAGS);
    if (newfd < 0) return STORE_ERR;
    newexp = openat(newfd, ".expires", OPEN_DIR_FLAGS);
    if (newexp < 0) { close(newfd); return STORE_ERR; }
    close(st.dbfd[db]);
    close(st.expfd[db]);
    st.dbfd[db] = newfd;
    st.expfd[db] = newexp;
    st.dbsize[db] = 0;
    st.expcount[db] = 0;
    st.expcursor[db] = 0;
    return STORE_OK;
}

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* A directory read in getdents64 batches from a resumable offset. */
typedef struct dirReader {
    int fd;
    char buf[32768] __attribute__((aligned(8))); /* holds linux_dirent64 records */
    long nread, bpos;
    unsigned long long pos;   /* offset after the last entry returned */
    int eof;
} dirReader;

static int dirReaderOpen(dirReader *r, int dirfd, const char *name, unsigned long long cursor) {
    r->fd = openat(dirfd, name, OPEN_DIR_FLAGS);
    if (r->fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    r->nread = r->bpos = 0;
    r->eof = 0;
    r->pos = cursor;
    if (cursor && lseek(r->fd, (off_t)cursor, SEEK_SET) < 0) {
        int saved = errno;
        if (saved == EINVAL) {
            /* not an offset this directory can have (SCAN 18446744073709551615):
             * nothing follows it */
            r->eof = 1;
            r->pos = 0;
            return STORE_OK;
        }
        close(r->fd);
        errno = saved;
        return STORE_ERR;
    }
    return STORE_OK;
}

/* Next entry that is not "." / ".." / a dot-file of ours. */
static struct linux_dirent64 *dirReaderNext(dirReader *r, int include_dot) {
    for (;;) {
        if (r->bpos >= r->nread) {
            if (r->eof) return NULL;
            long n = syscall(SYS_getdents64, r->fd, r->buf, sizeof(r->buf));
            if (n <= 0) { r->eof = 1; r->pos = 0; return NULL; }
            r->nread = n;
            r->bpos = 0;
        }
        struct linux_dirent64 *d = (struct linux_dirent64 *)(r->buf + r->bpos);
        r->bpos += d->d_reclen;
        r->pos = (unsigned long long)d->d_off;
        if (d->d_name[0] == '.' && !include_dot) continue;
        return d;
    }
}

static void dirReaderClose(dirReader *r) {
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

/* The raw key for a directory entry of a database. */
static sds keyNameOfEntry(int db, const char *fname) {
    size_t len = strlen(fname);
    if (!keynameIsHashed(fname, len)) return keynameDecode(fname, len);
    int fd = openat(st.dbfd[db], fname, OPEN_DIR_FLAGS);
    if (fd < 0) return NULL;
    sds name = NULL;
    if (readFileAt(fd, "name", &name) != STORE_OK) name = NULL;
    close(fd);
    return name;
}

int storeDbSize(int db, long long *out) {
    if (st.dbsize[db] < 0) {
        dirReader r;
        int rc = dirReaderOpen(&r, st.dbfd[db], ".", 0);
        if (rc != STORE_OK) return STORE_ERR;
        long long n = 0;
        while (dirReaderNext(&r, 0)) n++;
        dirReaderClose(&r);
        st.dbsize[db] = n;
    }
    *out = st.dbsize[db];
    return STORE_OK;
}

long long storeExpiresCount(int db) {
    if (st.expcount[db] < 0) {
        dirReader r;
        if (dirReaderOpen(&r, st.expfd[db], ".", 0) != STORE_OK) return 0;
        long long n = 0;
        while (dirReaderNext(&r, 0)) n++;
        dirReaderClose(&r);
        st.expcount[db] = n;
    }
    return st.expcount[db];
}

int storeScanKeys(int db, unsigned long long cursor, long count, storeKeyVisitor *fn, void *ud,
                  unsigned long long *next) {
    dirReader r;
    if (dirReaderOpen(&r, st.dbfd[db], ".", cursor) != STORE_OK) return STORE_ERR;
    long seen = 0;
    struct linux_dirent64 *d;
    while (seen < count && (d = dirReaderNext(&r, 0)) != NULL) {
        seen++;
        sds name = keyNameOfEntry(db, d->d_name);
        if (!name) continue; /* not ours: ignored */
        int stop = fn(ud, name, sdslen(name));
        sdsfree(name);
        if (stop) break;
    }
    /* r.pos is 0 once the end was read */
    *next = r.pos;
    if (!r.eof && r.bpos >= r.nread) {
        /* batch exhausted exactly at count: peek whether anything follows */
        long n = syscall(SYS_getdents64, r.fd, r.buf, sizeof(r.buf));
        if (n <= 0) *next = 0;
    }
    dirReaderClose(&r);
    return STORE_OK;
}

int storeRandomKey(int db, sds *out) {
    *out = NULL;
    long long size;
    if (storeDbSize(db, &size) != STORE_OK) return STORE_ERR;
    if (size == 0) return STORE_NOTFOUND;
    /* ext4 and most file systems hand out hash-ordered offsets: seek to a
     * random one and take the next key, falling back to the start. */
    unsigned long long off = ((unsigned long long)random() << 31 | (unsigned long long)random()) & 0x7fffffffffffffffULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        dirReader r;
        if (dirReaderOpen(&r, st.dbfd[db], ".", attempt == 0 ? off : 0) != STORE_OK) {
            if (attempt == 0) continue;
            return STORE_ERR;
        }
        struct linux_dirent64 *d;
        while ((d = dirReaderNext(&r, 0)) != NULL) {
            sds name = keyNameOfEntry(db, d->d_name);
            if (name) {
                dirReaderClose(&r);
                *out = name;
                return STORE_OK;
            }
        }
        dirReaderClose(&r);
    }
    return STORE_NOTFOUND;
}

/* ------------------------------------------------------------------------ */
/* Files of a key                                                            */
/* ------------------------------------------------------------------------ */

int storeReadFile(skey *k, const char *file, sds *out) { return readFileAt(k->dirfd, file, out); }

int storeFileSize(skey *k, const char *file, long long *size) {
    struct stat sb;
    if (fstatat(k->dirfd, file, &sb, AT_SYMLINK_NOFOLLOW) < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; return STORE_ERR; } /* a link or other intruder */
    *size = sb.st_size;
    return STORE_OK;
}

int storeReadFileRange(skey *k, const char *file, long long off, long long len, sds *out) {
    int fd = openat(k->dirfd, file, OPEN_FILE_FLAGS);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    struct stat sb;
    int bad = fstat(fd, &sb) < 0 ? errno : !S_ISREG(sb.st_mode) ? EUCLEAN : 0;
    if (bad) {
        close(fd);
        errno = bad;
        return STORE_ERR;
    }
    sds s = sdsnewlen(NULL, (size_t)len);
    size_t got = 0;
    while (got < (size_t)len) {
        ssize_t n = pread(fd, s + got, (size_t)len - got, (off_t)(off + (long long)got));
        if (n < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            sdsfree(s);
            close(fd);
            errno = saved;
            return STORE_ERR;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    sdssetlen(s, got);
    close(fd);
    *out = s;
    return STORE_OK;
}

int storeWriteFile(skey *k, const char *file, const char *data, size_t len) {
    return opWriteFile(k->dirfd, file, data, len, NULL);
}

int storeRemoveFile(skey *k, const char *file) { return opUnlink(k->dirfd, file); }

int storePatchFile(skey *k, const char *file, long long off, const char *data, size_t len, long long *newsize) {
    sds tmp = tmpName('w');
    int out = openat(st.tmpfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) { sdsfree(tmp); return STORE_ERR; }
    int in = openat(k->dirfd, file, OPEN_FILE_FLAGS);
    long long oldsize = 0;
    if (in < 0 && errno != ENOENT) goto err;
    if (in >= 0) {
        struct stat sb;
        if (fstat(in, &sb) < 0) goto err;
        if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; goto err; }
        oldsize = sb.st_size;
        loff_t inoff = 0, outoff = 0;
        while (inoff < oldsize) {
            ssize_t n = copy_file_range(in, &inoff, out, &outoff, (size_t)(oldsize - inoff), 0);
            if (n < 0) { if (errno == EINTR) continue; goto err; }
            if (n == 0) break;
        }
        close(in);
        in = -1;
    }
    if (off < 0) off = oldsize;
    if (off > oldsize && ftruncate(out, (off_t)off) < 0) goto err;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(out, data + done, len - done, (off_t)(off + (long long)done));
        if (n < 0) { if (errno == EINTR) continue; goto err; }
        done += (size_t)n;
    }
    if (close(out) < 0) { out = -1; goto err; }
    out = -1;
    *newsize = off + (long long)len > oldsize ? off + (long long)len : oldsize;
    return opInstallFile(tmp, k->dirfd, file, 0);
err: {
        int saved = errno;
        if (in >= 0) close(in);
        if (out >= 0) close(out);
        unlinkat(st.tmpfd, tmp, 0);
        sdsfree(tmp);
        errno = saved;
        return STORE_ERR;
    }
}

int storeReadNumber(skey *k, const char *file, long long *out, long long dflt) {
    sds s;
    int r = readFileAt(k->dirfd, file, &s);
    if (r == STORE_NOTFOUND) { *out = dflt; return STORE_OK; }
    if (r != STORE_OK) return r;
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    int bad = errno || end == s;
    sdsfree(s);
    if (bad) { errno = EUCLEAN; return STORE_ERR; }
    return STORE_OK;
}

int storeWriteNumber(skey *k, const char *file, long long v) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    return opWriteFile(k->dirfd, file, buf, (size_t)n, NULL);
}

/* ------------------------------------------------------------------------ */
/* Members of a key's namespace directory                                    */
/* ------------------------------------------------------------------------ */

#define NAMES_DIR ".names"

/* The descriptor of namespace ns of k, opened once per skey. create: make
 * the directory when it does not exist. Returns -1 (errno ENOENT when it just
 * does not exist). */
static int nsDir(skey *k, const char *ns, int create) {
    int free_slot = -1;
    for (int i = 0; i < 4; i++) {
        if (k->nsfd[i] >= 0 && !strcmp(k->nsname[i], ns)) return k->nsfd[i];
        if (k->nsfd[i] < 0 && free_slot < 0) free_slot = i;
    }
    int fd = openat(k->dirfd, ns, OPEN_DIR_FLAGS);
    if (fd < 0 && errno == ENOENT && create) {
        if (opMkdir(k->dirfd, ns) != STORE_OK && errno != EEXIST) return -1;
        fd = openat(k->dirfd, ns, OPEN_DIR_FLAGS);
    }
    if (fd < 0) return -1;
    if (free_slot < 0) {
        close(k->nsfd[0]);
        free_slot = 0;
    }
    k->nsfd[free_slot] = fd;
    snprintf(k->nsname[free_slot], sizeof(k->nsname[free_slot]), "%s", ns);
    return fd;
}

int storeReadMember(skey *k, const char *ns, const char *m, size_t mlen, sds *out) {
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int r = readFileAt(fd, fname, out);
    if (r == STORE_OK && hashed) {
        /* verify the full name (a digest collision would be a different member) */
        int nfd = openat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        sds full = NULL;
        int ok = nfd >= 0 && readFileAt(nfd, fname, &full) == STORE_OK && sdslen(full) == mlen &&
                 !memcmp(full, m, mlen);
        if (nfd >= 0) close(nfd);
        sdsfree(full);
        if (!ok) {
            sdsfree(*out);
            *out = NULL;
            r = STORE_NOTFOUND;
        }
    }
    sdsfree(fname);
    return r;
}

int storeMemberExists(skey *k, const char *ns, const char *m, size_t mlen) {
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = fstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? STORE_OK
            : errno == ENOENT                                  ? STORE_NOTFOUND
                                                               : STORE_ERR;
    sdsfree(fname);
    return r;
}

int storeWriteMember(skey *k, const char *ns, const char *m, size_t mlen, const char *data, size_t dlen,
                     int *created) {
    int fd = nsDir(k, ns, 1);
    if (fd < 0) return STORE_ERR;
    int hashed, r;
    sds fname = keynameEncode(m, mlen, &hashed);
    if (hashed) {
        int nfd = -1;
        if ((mkdirat(fd, NAMES_DIR, 0755) < 0 && errno != EEXIST) ||
            (nfd = openat(fd, NAMES_DIR, OPEN_DIR_FLAGS)) < 0 ||
            opWriteFile(nfd, fname, m, mlen, NULL) != STORE_OK) {
            int saved = errno;
            if (nfd >= 0) close(nfd);
            sdsfree(fname);
            errno = saved;
            return STORE_ERR;
        }
        close(nfd);
    }
    int dummy;
    r = opWriteFile(fd, fname, data, dlen, created ? created : &dummy);
    sdsfree(fname);
    return r;
}

int storeRemoveMember(skey *k, const char *ns, const char *m, size_t mlen) {
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int r = opUnlink(fd, fname);
    if (r == STORE_OK && hashed) {
        int nfd = openat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        if (nfd >= 0) {
            opUnlink(nfd, fname);
            close(nfd);
        }
    }
    sdsfree(fname);
    return r;
}

struct storeIter {
    dirReader r;
    int empty;
    int nsfd;
};

int storeIterOpen(skey *k, const char *ns, unsigned long long cursor, storeIter **out) {
    storeIter *it = zcalloc(sizeof(*it));
    int fd = nsDir(k, ns, 0);
    it->r.fd = -1;
    if (fd < 0) {
        if (errno != ENOENT) { zfree(it); return STORE_ERR; }
        it->empty = 1;
    } else {
        it->nsfd = fd;
        if (dirReaderOpen(&it->r, fd, ".", cursor) != STORE_OK) {
            zfree(it);
            return STORE_ERR;
        }
    }
    *out = it;
    return STORE_OK;
}

int storeIterNext(storeIter *it, sds *m) {
    if (it->empty) return STORE_NOTFOUND;
    struct linux_dirent64 *d;
    while ((d = dirReaderNext(&it->r, 0)) != NULL) {
        size_t len = strlen(d->d_name);
        sds name = NULL;
        if (keynameIsHashed(d->d_name, len)) {
            int nfd = openat(it->nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
            if (nfd >= 0) {
                if (readFileAt(nfd, d->d_name, &name) != STORE_OK) name = NULL;
                close(nfd);
            }
        } else {
            name = keynameDecode(d->d_name, len);
        }
        if (!name) continue;
        *m = name;
        return STORE_OK;
    }
    return STORE_NOTFOUND;
}

unsigned long long storeIterCursor(storeIter *it) {
    if (it->empty || it->r.eof) return 0;
    if (it->r.bpos >= it->r.nread) {
        long n = syscall(SYS_getdents64, it->r.fd, it->r.buf, sizeof(it->r.buf));
        if (n <= 0) { it->r.eof = 1; return 0; }
        it->r.nread = n;
        it->r.bpos = 0;
    }
    return it->r.pos;
}

void storeIterClose(storeIter *it) {
    if (!it) return;
    if (!it->empty) dirReaderClose(&it->r);
    zfree(it);
}

/* ------------------------------------------------------------------------ */
/* Expiry index                                                              */
/* ------------------------------------------------------------------------ */

long storeExpireScan(int db, long long now_ms, long budget, storeExpireVisitor *fn) {
    dirReader r;
    if (dirReaderOpen(&r, st.expfd[db], ".", st.expcursor[db]) != STORE_OK) return 0;
    long visited = 0;
    struct linux_dirent64 *d;
    while (visited < budget && (d = dirReaderNext(&r, 0)) != NULL) {
        visited++;
        char *us = strchr(d->d_name, '_');
        if (!us) continue;
        long long when = strtoll(d->d_name, NULL, 10);
        if (when > now_ms) continue;
        sds name = keyNameOfEntry(db, us + 1);
        if (name) {
            fn(db, name, sdslen(name), when);
            sdsfree(name);
        }
        /* whatever fn did, this entry is due: drop it if it is still there */
        if (opUnlink(st.expfd[db], d->d_name) == STORE_OK && st.expcount[db] > 0) st.expcount[db]--;
    }
    st.expcursor[db] = r.eof ? 0 : r.pos;
    dirReaderClose(&r);
    return visited;
}
