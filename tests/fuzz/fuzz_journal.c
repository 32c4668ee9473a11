/* fuzz_journal.c - crash recovery (journal.c) from arbitrary journal bytes.
 *
 * A scratch directory (on /dev/shm when there is one, so runs stay fast)
 * holds, three levels down, "root", a small ROOT_DIR-like tree rebuilt
 * before every run, and beside it and at each level above files that are
 * not the store's. Each run writes the bytes as
 * root/.journal and runs the recovery of journalOpen() on root, as the
 * server does at start-up. Afterwards nothing outside root may have been
 * created, removed, renamed or changed: recovery must never reach past
 * ROOT_DIR, whatever names a damaged or hostile journal holds. Each input
 * is recovered from as it is and, when they differ, with its records'
 * CRCs made right. */
#include "fuzz.h"
#include "journal.h"
#include "sds.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[256], root[300];
static sds outside_before; /* the state of everything outside root */

/* A line per entry under dir (recursively, links not followed): path,
 * type, inode, size, mtime. */
static sds describeTree(sds out, const char *dir, const char *skip) {
    DIR *d = opendir(dir);
    FUZZ_CHECK(d != NULL, "opendir %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (skip && !strcmp(path, skip)) continue;
        struct stat sb;
        FUZZ_CHECK(lstat(path, &sb) == 0, "lstat %s", path);
        out = sdscatprintf(out, "%s %o %llu %lld %lld.%09ld\n", path, sb.st_mode, (unsigned long long)sb.st_ino,
                           (long long)sb.st_size, (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
        if (S_ISDIR(sb.st_mode)) out = describeTree(out, path, skip);
    }
    closedir(d);
    return out;
}

static sds describeOutside(void) { return describeTree(sdsempty(), base, root); }

static void makeAt(const char *rel, int dir) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    if (dir) {
        FUZZ_CHECK(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0 && write(fd, "x", 1) == 1, "create %s: %s", path, strerror(errno));
    close(fd);
}

/* The store's layout in small, with the names the journal seeds (the log
 * of a real server, killed) refer to: keys in databases 0 and 1, staged
 * and displaced versions in .tmp, the expiry index, the trash. */
static const char *const tree[] = {
    "0/", "0/k/", "0/k/value", "0/k/expire", "0/h/", "0/h/fields/", "0/h/fields/f", "0/l/", "0/l/segments/",
    "0/l/segments/0", "0/s/", "0/z/", "0/x/", "0/a/", "0/a/value", "0/.expires/", "0/.expires/1796613116653_k",
    "1/", "1/k/", ".tmp/", ".tmp/d17604-1/", ".tmp/d17604-2/", ".tmp/d17604-7/", ".tmp/d17604-8/",
    ".tmp/f17604-3", ".tmp/f17604-12", ".tmp/t17604-1/", ".trash/", NULL};

static void rebuildRoot(void) {
    fuzzRemoveTree(root, 1);
    for (int i = 0; tree[i]; i++) {
        char rel[256];
        int n = snprintf(rel, sizeof(rel), "1/2/root/%s", tree[i]);
        int dir = rel[n - 1] == '/';
        if (dir) rel[n - 1] = '\0';
        makeAt(rel, dir);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzzMakeScratch(base, sizeof(base), "journal");
    snprintf(root, sizeof(root), "%s/1/2/root", base);
    makeAt("1", 1);
    makeAt("1/2", 1);
    makeAt("1/2/root", 1);
    /* what must stay untouched: siblings of root, and a file beside the
     * scratch directory's own name */
    makeAt("1/2/outside", 1);
    makeAt("1/2/outside/victim", 0);
    makeAt("1/2/outside/0", 1);
    makeAt("1/2/outside/0/k", 1);
    makeAt("1/2/.tmp", 1);
    makeAt("1/2/victim", 0);
    makeAt("1/victim", 0);
    makeAt("victim", 0);
    outside_before = describeOutside();
    return 0;
}

static void removeScratch(void) {
    if (base[0]) fuzzRemoveTree(base, 0);
}

/* Put the right CRC-32 in every record's CRC slot: without this nearly
 * every mutation would end the log at its first record (a bad CRC is a
 * torn tail) and the undo code would never see fuzzed names. Returns
 * whether anything changed. */
static int fixCrcs(uint8_t *p, size_t size) {
    size_t pos = 0;
    int changed = 0;
    while (pos < size) {
        size_t start = pos++;
        for (int j = 0; j < 4 && pos + 2 <= size; j++) pos += 2 + ((size_t)p[pos] | (size_t)p[pos + 1] << 8);
        if (pos + 4 > size) break;
        uint32_t crc = journalCrc32(p + start, pos - start);
        uint8_t c[4] = {(uint8_t)crc, (uint8_t)(crc >> 8), (uint8_t)(crc >> 16), (uint8_t)(crc >> 24)};
        changed |= memcmp(p + pos, c, 4) != 0;
        memcpy(p + pos, c, 4);
        pos += 4;
    }
    return changed;
}

static void recoverFrom(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int registered;
    if (!registered) registered = atexit(removeScratch) == 0;
    recoverFrom(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    FUZZ_CHECK(fixed != NULL, "out of memory");
    memcpy(fixed, data, size);
    if (fixCrcs(fixed, size)) recoverFrom(fixed, size);
    free(fixed);
    return 0;
}

/* Recovery from a journal of these bytes on a fresh root. */
static void recoverFrom(const uint8_t *data, size_t size) {
    rebuildRoot();
    char path[512];
    snprintf(path, sizeof(path), "%s/.journal", root);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "writing the journal: %s", strerror(errno));
    close(fd);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof(path), "%s/.trash", root);
    int trashfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FUZZ_CHECK(rootfd >= 0 && trashfd >= 0, "opening root: %s", strerror(errno));
    char *err = NULL;
    int rc = journalOpen(rootfd, trashfd, &err);
    FUZZ_CHECK(rc == 0, "recovery failed: %s", err ? err : "?");
    FUZZ_CHECK(lseek(journalFd(), 0, SEEK_END) == 0, "the journal is not empty after recovery");
    journalClose();
    close(trashfd);
    close(rootfd);
    sds after = describeOutside();
    FUZZ_CHECK(sdscmp(after, outside_before) == 0, "recovery changed files outside ROOT_DIR:\nbefore:\n%s\nafter:\n%s",
               outside_before, after);
    sdsfree(after);
}
