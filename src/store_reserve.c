/* store_reserve.c - the space reserve (see store_reserve.h).
 *
 * A full disk must not refuse the commands that would empty it, yet even a
 * deletion needs a few new blocks: a journal record that starts a block, a
 * directory entry in .tmp or .trash that starts a directory block. So
 * dredis keeps ROOT_DIR/.reserve, a file of RESERVE_FILE_MAX bytes (at most
 * 1/RESERVE_FILE_SHARE of the file system), its blocks allocated. When a
 * command that frees space (those Redis does not flag "denyoom") meets
 * ENOSPC or EDQUOT, the store (store_pool.c) gives the reserve back and
 * retries. Until the reserve can be made again, writes of "denyoom"
 * commands are refused with ENOSPC before they allocate anything (as Redis
 * refuses them above maxmemory): the reserve's room is for the deletes.
 *
 * A first ENOSPC gives back all but the reserve's tail (a quarter, at most
 * RESERVE_TAIL_MAX). The tail is for what even a plain DEL needs: a rename
 * into .tmp or .trash, whose directories span several blocks, and ext4
 * puts each name in the block its hash points at, so that block can be
 * full while others have room; and a journal record. Such steps cut the
 * tail RESERVE_TAIL_CHUNK bytes at a time (reserveReleaseForEntry()). */
#include "store_reserve.h"
#include "syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static struct {
    int rootfd;
    int held;
    long long size;
    long long releases;
} rs = {-1, 0, 0, 0};

/* The reserve's size on this file system. */
static long long reserveWanted(void) {
    struct statvfs sv;
    if (sysFstatvfs(rs.rootfd, &sv) < 0) return RESERVE_FILE_MAX;
    unsigned long long unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    long long share = (long long)((unsigned long long)sv.f_blocks * unit / RESERVE_FILE_SHARE);
    return share > 0 && share < RESERVE_FILE_MAX ? share : RESERVE_FILE_MAX;
}

/* The tail kept for directory entries and journal records once the rest
 * was given back: a quarter of the reserve, at most RESERVE_TAIL_MAX, in
 * whole chunks. */
static long long tailSize(long long size) {
    long long t = size / 4;
    if (t > RESERVE_TAIL_MAX) t = RESERVE_TAIL_MAX;
    return t / RESERVE_TAIL_CHUNK * RESERVE_TAIL_CHUNK;
}

/* Cut .reserve to size bytes, removing it at 0 (errno kept). */
static void cutTo(long long size) {
    int saved = errno;
    /* cut first: the blocks come back even if the name cannot go */
    int fd = sysOpenat(rs.rootfd, RESERVE_FILE, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        if (sysFtruncate(fd, (off_t)size) < 0) { /* removed below all the same when size is 0 */ }
        sysClose(fd);
    }
    if (size == 0) sysUnlinkat(rs.rootfd, RESERVE_FILE, 0);
    rs.size = size;
    errno = saved;
}

/* Make .reserve with its blocks allocated (not a sparse file); 0 when the
 * file system has no room for it (what was there before, a tail or
 * nothing, is left as it was). */
static int reserveCreate(void) {
    long long want = reserveWanted();
    int fd = sysOpenat(rs.rootfd, RESERVE_FILE, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    struct stat sb;
    int err = sysFstat(fd, &sb) < 0 ? errno : 0;
    if (!err && !S_ISREG(sb.st_mode)) err = EINVAL;
    /* blocks, not just a size: st_blocks counts 512-byte units */
    if (!err && (sb.st_size != want || sb.st_blocks * 512LL < want)) err = sysPosixFallocate(fd, 0, (off_t)want);
    if (!err && sb.st_size > want && sysFtruncate(fd, (off_t)want) < 0) err = errno;
    sysClose(fd);
    if (err) {
        cutTo(rs.size); /* back to the tail, or gone */
        errno = err;
        return 0;
    }
    rs.held = 1;
    rs.size = want;
    return 1;
}

void reserveInit(int rootfd) {
    rs.rootfd = rootfd;
    rs.held = 0;
    rs.size = 0;
    rs.releases = 0;
    /* a tail a previous run left (the disk was full when it stopped) is
     * kept if the whole reserve cannot be made now */
    struct stat sb;
    if (sysFstatat(rootfd, RESERVE_FILE, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
        rs.size = sb.st_size;
    reserveCreate();
}

int reserveRelease(void) {
    if (!rs.held || rs.rootfd < 0) return 0;
    cutTo(tailSize(rs.size));
    rs.held = 0;
    rs.releases++;
    return 1;
}

int reserveReleaseForEntry(void) {
    if (rs.held) return reserveRelease();
    if (rs.rootfd < 0 || rs.size <= 0) return 0;
    cutTo(rs.size > RESERVE_TAIL_CHUNK ? rs.size - RESERVE_TAIL_CHUNK : 0);
    return 1;
}

int reserveEnsure(void) {
    if (rs.held || rs.rootfd < 0) return 1;
    if (reserveCreate()) return 1;
    errno = ENOSPC;
    return 0;
}

int reserveHeld(void) { return rs.held; }
long long reserveSize(void) { return rs.size; }
long long reserveReleases(void) { return rs.releases; }

void reserveClose(void) {
    rs.rootfd = -1;
    rs.held = 0;
}
