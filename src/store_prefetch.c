/* store_prefetch.c - SCAN's read-ahead of inodes. Part of the storage layer
 * (see store_int.h).
 *
 * On a tree the kernel has not cached, SCAN spends its time waiting for
 * the disk: each key it lists is checked (its directory, whether it has an
 * expire file), an inode and often a directory block read, one key after
 * the other. A disk serves many
 * reads at once far faster than the same reads in a row, so when SCAN (or
 * KEYS) reads a new buffer of directory entries, the keys in it are handed
 * to a few helper threads that look them up ahead of the main thread,
 * which then finds them cached. Only a hint: the helpers change nothing,
 * their failures are ignored, and a fault injected by a test never hits
 * them (their calls are exempt). The queue holds at most one buffer of
 * names; a new buffer replaces what was not looked up yet. */
#include "store_int.h"
#include <pthread.h>

#define PREFETCH_THREADS 4
#define PREFETCH_SLOTS 1024 /* a 32 KiB buffer of entries holds fewer */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t threads[PREFETCH_THREADS];
    int started, stop;
    int dbfd;                              /* the directory of the queued names */
    char names[PREFETCH_SLOTS][NAME_MAX + 1];
    int head, count;                       /* the queue: names[head..head+count) */
} pf = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .dbfd = -1};

/* A key's directory and its entries into the kernel's caches, by the
 * lookups SCAN's check makes (storeKeyHasNoTTL); the
 * descriptor may have been closed (and its number reused) since it was
 * queued: a lookup through it then finds nothing or something else, which
 * is harmless. */
static void prefetchKey(int dbfd, const char *fname) {
    struct stat sb;
    char path[NAME_MAX + 8];
    if (sysFstatat(dbfd, fname, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode)) return;
    snprintf(path, sizeof(path), "%s/expire", fname);
    (void)sysFstatat(dbfd, path, &sb, AT_SYMLINK_NOFOLLOW);
}

static void *prefetchThreadMain(void *arg) {
    (void)arg;
    sysFaultExemptThread();
    char name[NAME_MAX + 1];
    pthread_mutex_lock(&pf.lock);
    for (;;) {
        while (!pf.stop && pf.count == 0) pthread_cond_wait(&pf.cond, &pf.lock);
        if (pf.stop) break;
        memcpy(name, pf.names[pf.head], sizeof(name));
        int dbfd = pf.dbfd;
        pf.head = (pf.head + 1) % PREFETCH_SLOTS;
        pf.count--;
        pthread_mutex_unlock(&pf.lock);
        prefetchKey(dbfd, name);
        pthread_mutex_lock(&pf.lock);
    }
    pthread_mutex_unlock(&pf.lock);
    return NULL;
}

/* Start the helpers the first time they are needed (lock held); 0 when
 * they cannot be (the hint is then skipped). */
static int prefetchStarted(void) {
    if (pf.started) return pf.started > 0;
    pf.started = -1;
    for (int i = 0; i < PREFETCH_THREADS; i++) {
        if (pthread_create(&pf.threads[i], NULL, prefetchThreadMain, NULL) != 0) break;
        pf.started = i + 1;
    }
    return pf.started > 0;
}

/* The entries of r's buffer from its read position on, directories of
 * database directory dbfd, are looked up ahead. Called after each read of
 * r; a buffer already handed over is not handed over again. */
static unsigned long long last_off; /* the buffer handed over last: its first entry's offset */
static long last_nread = -1;        /* and its length */

void storePrefetchEntries(int dbfd, const dirReader *r) {
    if (r->bpos >= r->nread) return;
    const struct linux_dirent64 *first = (const struct linux_dirent64 *)r->buf;
    if (r->nread == last_nread && (unsigned long long)first->d_off == last_off) return; /* this buffer, again */
    last_nread = r->nread;
    last_off = (unsigned long long)first->d_off;
    pthread_mutex_lock(&pf.lock);
    if (!pf.stop && prefetchStarted()) {
        pf.head = pf.count = 0; /* names of an older buffer were passed by */
        pf.dbfd = dbfd;
        for (long pos = r->bpos; pos < r->nread && pf.count < PREFETCH_SLOTS;) {
            const struct linux_dirent64 *d = (const struct linux_dirent64 *)(r->buf + pos);
            pos += d->d_reclen;
            if (d->d_name[0] == '.' || (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN)) continue;
            size_t len = strlen(d->d_name);
            if (len > NAME_MAX) continue;
            memcpy(pf.names[pf.count++], d->d_name, len + 1);
        }
        pthread_cond_broadcast(&pf.cond);
    }
    pthread_mutex_unlock(&pf.lock);
}

/* Nothing queued is looked up any more (the database directory changed). */
void storePrefetchDrop(void) {
    pthread_mutex_lock(&pf.lock);
    pf.head = pf.count = 0;
    last_nread = -1; /* the same buffer read again is handed over again */
    pthread_mutex_unlock(&pf.lock);
}

/* The helpers stop (at shutdown). */
void storePrefetchStop(void) {
    pthread_mutex_lock(&pf.lock);
    int n = pf.started;
    pf.stop = 1;
    pf.count = 0;
    pthread_cond_broadcast(&pf.cond);
    pthread_mutex_unlock(&pf.lock);
    for (int i = 0; i < n; i++) pthread_join(pf.threads[i], NULL);
    pthread_mutex_lock(&pf.lock);
    pf.started = 0;
    pf.stop = 0;
    pthread_mutex_unlock(&pf.lock);
}
