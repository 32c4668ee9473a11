/* fscheck.c - start-up warnings about the file system under ROOT_DIR.
 *
 * dredis keeps every key as a directory of small files, so the file system
 * decides much of its atomicity, speed and disk use (docs/filesystems.md,
 * docs/durability.md). At start-up we look at it once and log what it will
 * cost:
 *  - ext4 without a journal at all: a power loss can need fsck, and new
 *    files are slow for minutes after many are removed;
 *  - ext4 without data=journal: a power loss can tear the last writes;
 *  - ext4 with data=journal: every file's data is written twice;
 *  - any disk file system that gives a 3-byte file a whole block: found by
 *    measuring a probe file in ROOT_DIR/.tmp (st_blocks), since the ext4
 *    feature that avoids it (inline_data) is only readable from the
 *    superblock, which needs read access to the block device.
 * Nothing here changes behaviour. */
#include "server.h"
#include "store.h"
#include "fscheck.h"
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "syscalls.h"

#define PROBE_WASTE_BYTES 1024 /* a 3-byte file taking this much: a block of its own */

typedef struct mountInfo {
    unsigned maj, min; /* the device */
    char fstype[64];
    char source[1024];
    char opts[2048]; /* the file system's own (super) options */
} mountInfo;

/* The /proc/self/mountinfo line of the file system holding path. */
static int mountOf(const char *path, mountInfo *m) {
    struct stat sb;
    FILE *f = sysFstatat(AT_FDCWD, path, &sb, 0) == 0 ? fopen("/proc/self/mountinfo", "r") : NULL;
    if (!f) return -1;
    char line[4096];
    int found = -1;
    while (found < 0 && fgets(line, sizeof(line), f)) {
        unsigned maj, min;
        if (sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2 || makedev(maj, min) != sb.st_dev) continue;
        char *sep = strstr(line, " - ");
        if (sep && sscanf(sep + 3, "%63s %1023s %2047s", m->fstype, m->source, m->opts) == 3) found = 0;
        m->maj = maj;
        m->min = min;
    }
    fclose(f);
    return found;
}

/* Does the ext4 on device maj:min have a journal? 1 yes, 0 no, -1 unknown.
 * The kernel shows it without the superblock: /sys/fs/ext4/<dev>/
 * journal_task names the journal's thread, "<none>" without a journal
 * (kernels before 6.x lack the file; there /proc/fs/jbd2/<dev>-8 exists
 * only with a journal). */
static int ext4HasJournal(unsigned maj, unsigned min) {
    char link[64], target[512], path[1024];
    snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", maj, min);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0) return -1;
    target[n] = '\0';
    const char *dev = strrchr(target, '/');
    dev = dev ? dev + 1 : target;
    snprintf(path, sizeof(path), "/sys/fs/ext4/%s/journal_task", dev);
    FILE *f = fopen(path, "r");
    if (f) {
        char task[64] = "";
        int got = fgets(task, sizeof(task), f) != NULL;
        fclose(f);
        return got ? strncmp(task, "<none>", 6) != 0 : -1;
    }
    struct stat sb;
    snprintf(path, sizeof(path), "/proc/fs/jbd2/%s-8", dev);
    if (stat(path, &sb) == 0) return 1;
    snprintf(path, sizeof(path), "/sys/fs/ext4/%s", dev);
    return stat(path, &sb) == 0 && stat("/proc/fs/jbd2", &sb) == 0 ? 0 : -1;
}

/* ext4 made without a journal (mkfs.ext4 -O ^has_journal; some cloud
 * images are): measured in docs/filesystems.md, "ext4 without a journal". */
static int checkExt4Journal(const mountInfo *m) {
    if (strcmp(m->fstype, "ext4") != 0 || ext4HasJournal(m->maj, m->min) != 0) return 0;
    serverLog(LL_WARNING,
              "ROOT_DIR is on ext4 (%s) without a journal: after a power loss the file system needs fsck, and "
              "keys being written then can be lost or torn, with DREDIS_FSYNC=always too (nothing orders ext4's "
              "own metadata writes); and ext4 without a journal does not reuse a freed inode for a minute or "
              "more, so new keys run several times slower for minutes after many keys are removed (FLUSHALL, "
              "DEL, expiry). Use an ext4 with a journal (the mkfs.ext4 default) for ROOT_DIR "
              "(docs/filesystems.md, \"ext4 without a journal\").",
              m->source);
    return 1;
}

/* Power-loss atomicity was measured on ext4 (docs/durability.md, "Power
 * loss"): with data=ordered, the default, a power cut can persist renames
 * whose files' data never reached the disk; with data=journal it did not
 * happen, at the price of writing the data twice. */
static void checkExt4DataMode(const mountInfo *m) {
    if (strcmp(m->fstype, "ext4") != 0) return;
    if (!strstr(m->opts, "data=journal"))
        serverLog(LL_WARNING,
                  "ROOT_DIR is on ext4 (%s) without data=journal: a process crash leaves every key whole, "
                  "but a power loss can leave the keys of the last writes torn. Mount it with data=journal "
                  "for atomicity across power loss (docs/durability.md, \"Power loss\").",
                  m->source);
    else
        serverLog(LL_WARNING,
                  "ROOT_DIR is on ext4 (%s) with data=journal: every file dredis writes goes to the journal "
                  "first and to its place after, twice the disk writes of data=ordered. It is what keeps keys "
                  "whole across a power loss; if you do not need that, data=ordered is faster "
                  "(docs/filesystems.md).",
                  m->source);
}

/* Bytes a 3-byte file takes on disk here, measured on a scratch file; -1
 * when it cannot be told. */
static long long smallFileBytes(void) {
    sds path = storeScratchPath('f');
    long long bytes = -1;
    int fd = sysOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        struct stat sb;
        /* synced first: blocks may be allocated only at write-back */
        if (sysWrite(fd, "abc", 3) == 3 && sysFsync(fd) == 0 && sysFstat(fd, &sb) == 0)
            bytes = (long long)sb.st_blocks * 512;
        sysClose(fd);
        storeRemoveScratch(path);
    }
    sdsfree(path);
    return bytes;
}

static void checkSmallFileSpace(const mountInfo *m) {
    if (!strcmp(m->fstype, "tmpfs") || !strcmp(m->fstype, "ramfs")) return; /* memory, not disk */
    long long bytes = smallFileBytes();
    if (bytes < PROBE_WASTE_BYTES) return;
    serverLog(LL_WARNING,
              "ROOT_DIR is on %s (%s) where a 3-byte file takes %lld bytes on disk: every small key (a directory "
              "and two or more files) takes several blocks. ext4 made with `mkfs.ext4 -O inline_data -I 256` keeps "
              "small files and directories inside their inodes (docs/filesystems.md).",
              m->fstype, m->source, bytes);
}

void fscheckRootDir(const char *root) {
    mountInfo m;
    if (mountOf(root, &m) < 0) return;
    if (!checkExt4Journal(&m)) checkExt4DataMode(&m);
    checkSmallFileSpace(&m);
}
