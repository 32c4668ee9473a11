/* store_usage.c - how much disk a key takes (MEMORY USAGE).
 *
 * The answer is the space allocated to the key's directory and everything
 * in it (st_blocks * 512: files, namespace directories, sub-keys), which
 * is what the key costs dredis. Files hard-linked with another key (COPY
 * shares them) count in full for each. Large namespaces are estimated as
 * Redis estimates large values: in every directory the first `samples`
 * entries are measured and the rest are counted and assumed to be of their
 * average size; samples 0 measures every file (exact). */
#include "store_int.h"

#define USAGE_MAX_DEPTH 4 /* key / namespace / sub-key / namespace */

static int dirUsage(int dirfd, long long samples, int depth, long long *bytes);

/* One entry of dirfd: its blocks, and for a directory what it holds. */
static int entryUsage(int dirfd, const char *name, long long samples, int depth, long long *bytes) {
    struct stat st;
    if (sysFstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? STORE_OK : STORE_ERR;
    *bytes += (long long)st.st_blocks * 512;
    if (!S_ISDIR(st.st_mode) || depth >= USAGE_MAX_DEPTH) return STORE_OK;
    int fd = sysOpenat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return errno == ENOENT ? STORE_OK : STORE_ERR;
    return dirUsage(fd, samples, depth + 1, bytes); /* closes fd */
}

/* What the directory fd holds (fd is closed): sampled entries measured,
 * the others counted and given their average. */
static int dirUsage(int fd, long long samples, int depth, long long *bytes) {
    DIR *d = sysFdopendir(fd);
    if (!d) {
        int saved = errno;
        sysClose(fd);
        errno = saved;
        return STORE_ERR;
    }
    long long measured = 0, sampled = 0, unsampled = 0;
    struct dirent *e;
    int rc = STORE_OK;
    errno = 0;
    while ((e = sysReaddir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (samples && sampled >= samples) {
            unsampled++;
            continue;
        }
        if (entryUsage(dirfd(d), e->d_name, samples, depth, &measured) != STORE_OK) {
            rc = STORE_ERR;
            break;
        }
        sampled++;
        errno = 0;
    }
    if (rc == STORE_OK && errno != 0) rc = STORE_ERR;
    int saved = errno;
    sysClosedir(d);
    errno = saved;
    if (rc != STORE_OK) return rc;
    *bytes += measured;
    if (sampled && unsampled) *bytes += measured / sampled * unsampled;
    return STORE_OK;
}

int storeKeyDiskUsage(skey *k, long long samples, long long *bytes) {
    if (storeCoalesceSettle() != STORE_OK) return STORE_ERR; /* the tree as the commands so far left it */
    struct stat st;
    *bytes = 0;
    int dirfd = storeKeyDir(k); /* opened again if it was parked */
    if (dirfd < 0 || sysFstat(dirfd, &st) != 0) return STORE_ERR;
    *bytes = (long long)st.st_blocks * 512;
    int fd = sysOpenat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return STORE_ERR;
    return dirUsage(fd, samples, 1, bytes);
}
