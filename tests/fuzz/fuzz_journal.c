/* fuzz_journal.c - crash recovery (journal.c) from arbitrary journal bytes.
 *
 * A scratch directory (on /dev/shm when there is one, so runs stay fast)
 * holds, three levels down, "root", a small ROOT_DIR-like tree rebuilt
 * before every run with the files and directories the journal names (so
 * the undo steps have something to act on), and beside it and at each
 * level above files that are not the store's. Each run writes the bytes as
 * root/.journal and runs the recovery of journalOpen() on root, as the
 * server does at start-up. Afterwards nothing outside root may have been
 * created, removed, renamed or changed: recovery must never reach past
 * ROOT_DIR, whatever names a damaged or hostile journal holds. Each input
 * is recovered from as it is and, when they differ, with its records'
 * CRCs made right. */
#include "fuzz.h"
#include "journal.h"
#include "sds.h"
#include <ctype.h>
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

/* Create base/rel, a directory or a one-byte file: 0, or -1 with errno. */
static int tryMakeAt(const char *rel, int dir) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", base, rel);
    if (dir) return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
    int ok = fd >= 0 && write(fd, "x", 1) == 1;
    if (fd >= 0) close(fd);
    return ok ? 0 : -1;
}

static void makeAt(const char *rel, int dir) {
    FUZZ_CHECK(tryMakeAt(rel, dir) == 0, "create %s/%s: %s", base, rel, strerror(errno));
}

/* The store's layout in small: databases 0 and 1, the expiry index, the
 * staging area and the trash. */
static const char *const tree[] = {"0/", "0/k/", "0/k/value", "0/.expires/", "1/", ".tmp/", ".trash/", NULL};

/* A path the harness may create below root: components of file-name bytes
 * the store uses, none "." or ".." (so the harness itself never leaves root). */
static int safeRelPath(const char *p, size_t len) {
    if (len == 0 || len > 200) return 0;
    size_t comp = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '/') {
            if (comp == 0 || (comp == 1 && p[i - 1] == '.') || (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
                return 0;
            comp = 0;
        } else if (isalnum((unsigned char)p[i]) || strchr("._-:%~@+=,", p[i])) {
            comp++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Create root/dir (and its parents), and root/dir/name as a file or a
 * directory, when the names are safe. */
static void makeNamed(const uint8_t *dir, size_t dlen, const uint8_t *name, size_t nlen, int as_dir) {
    char rel[512];
    if (dlen > 0 && !safeRelPath((const char *)dir, dlen)) return;
    if (!safeRelPath((const char *)name, nlen) || memchr(name, '/', nlen)) return;
    int n = snprintf(rel, sizeof(rel), "1/2/root/%.*s", (int)dlen, (const char *)dir);
    for (int i = (int)strlen("1/2/root/"); i <= n; i++) {
        if (i == n || rel[i] == '/') {
            char c = rel[i];
            rel[i] = '\0';
            tryMakeAt(rel, 1); /* may be a file already: then what is below fails too */
            rel[i] = c;
        }
    }
    snprintf(rel + n, sizeof(rel) - (size_t)n, "%s%.*s", dlen ? "/" : "", (int)nlen, (const char *)name);
    tryMakeAt(rel, as_dir);
}

/* The fixed tree, plus what the journal's records name (every other one a
 * directory), so that the undo has something to move, swap and trash. */
static void rebuildRoot(const uint8_t *p, size_t size) {
    fuzzRemoveTree(root, 1);
    for (int i = 0; tree[i]; i++) {
        char rel[256];
        int n = snprintf(rel, sizeof(rel), "1/2/root/%s", tree[i]);
        int dir = rel[n - 1] == '/';
        if (dir) rel[n - 1] = '\0';
        makeAt(rel, dir);
    }
    size_t pos = 0;
    for (int rec = 0; pos < size && rec < 64; rec++) {
        const uint8_t *f[4] = {0};
        size_t len[4] = {0};
        pos++; /* the type */
        int j;
        for (j = 0; j < 4 && pos + 2 <= size; j++) {
            len[j] = (size_t)p[pos] | (size_t)p[pos + 1] << 8;
            f[j] = p + pos + 2;
            pos += 2 + len[j];
        }
        if (j < 4 || pos + 4 > size) break;
        pos += 4;
        if (len[1]) makeNamed(f[0], len[0], f[1], len[1], rec & 1);
        if (len[3]) makeNamed(f[2], len[2], f[3], len[3], !(rec & 1));
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
    rebuildRoot(data, size);
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
    if (rc == 0) {
        FUZZ_CHECK(lseek(journalFd(), 0, SEEK_END) == 0, "the journal is not empty after recovery");
        journalClose();
    } else {
        /* an undo step that cannot be done (the tree does not match what the
         * journal names) stops start-up with the reason and keeps the
         * journal for the next start: allowed, as long as it says why and
         * touched nothing outside ROOT_DIR (checked below) */
        FUZZ_CHECK(err != NULL && *err, "recovery failed without a reason");
        struct stat sb;
        snprintf(path, sizeof(path), "%s/.journal", root);
        FUZZ_CHECK(stat(path, &sb) == 0, "a failed recovery removed the journal");
        journalClose(); /* the server exits here; the harness goes on */
    }
    close(trashfd);
    close(rootfd);
    sds after = describeOutside();
    FUZZ_CHECK(sdscmp(after, outside_before) == 0, "recovery changed files outside ROOT_DIR:\nbefore:\n%s\nafter:\n%s",
               outside_before, after);
    sdsfree(after);
}
