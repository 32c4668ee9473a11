/* store_io.c - small I/O helpers of the storage layer: looking a name up,
 * reading a whole file, names under .tmp, and the resumable getdents64
 * directory reader. Part of the storage layer (see store_int.h). */
#include "store_int.h"

/* ------------------------------------------------------------------------ */
/* Small I/O helpers                                                         */
/* ------------------------------------------------------------------------ */

/* Read a whole file opened relative to dirfd. */
/* Is there an entry dirfd/name? 1 yes (*sb filled), 0 no, -1 when it cannot
 * be told (errno set): never take a failed lookup for an absent name. */
int storeStatAt(int dirfd, const char *name, struct stat *sb) {
    if (sysFstatat(dirfd, name, sb, AT_SYMLINK_NOFOLLOW) == 0) return 1;
    return errno == ENOENT ? 0 : -1;
}

int storeReadFileAt(int dirfd, const char *name, sds *out) {
    int fd = storeOpenEasing(dirfd, name, OPEN_FILE_FLAGS, NULL);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    struct stat sb;
    if (sysFstat(fd, &sb) < 0) goto err;
    if (!S_ISREG(sb.st_mode)) { errno = EUCLEAN; goto err; }
    sds s = sdsnewlen(NULL, (size_t)sb.st_size);
    size_t got = 0;
    while (got < (size_t)sb.st_size) {
        ssize_t n = sysRead(fd, s + got, (size_t)sb.st_size - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            sdsfree(s);
            goto err;
        }
        if (n == 0) break; /* shrank under us: impossible for our files */
        got += (size_t)n;
    }
    sdssetlen(s, got);
    sysClose(fd);
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        sysClose(fd);
        errno = saved;
        return STORE_ERR;
    }
}

sds storeTmpName(char prefix) {
    return sdscatprintf(sdsempty(), "%c%d-%llu", prefix, (int)getpid(), ++store.seq);
}

int storeDirReaderOpen(dirReader *r, int dirfd, const char *name, unsigned long long cursor) {
    r->fd = storeOpenat(dirfd, name, READ_DIR_FLAGS);
    if (r->fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    r->nread = r->bpos = 0;
    r->eof = r->err = 0;
    r->pos = cursor;
    if (cursor && sysLseek(r->fd, (off_t)cursor, SEEK_SET) < 0) {
        int saved = errno;
        if (saved == EINVAL) {
            /* not an offset this directory can have (SCAN 18446744073709551615):
             * nothing follows it */
            r->eof = 1;
            r->pos = 0;
            return STORE_OK;
        }
        sysClose(r->fd);
        errno = saved;
        return STORE_ERR;
    }
    return STORE_OK;
}

/* Next entry that is not "." / ".." / a dot-file of ours. */
struct linux_dirent64 *storeDirReaderNext(dirReader *r, int include_dot) {
    for (;;) {
        if (r->bpos >= r->nread) {
            if (r->eof) return NULL;
            long n = sysGetdents64(r->fd, r->buf, sizeof(r->buf));
            if (n < 0) r->err = errno;
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

void storeDirReaderClose(dirReader *r) {
    if (r->fd >= 0) sysClose(r->fd);
    r->fd = -1;
}

/* Close r; STORE_ERR (errno set) when a read failed, so that a listing cut
 * short is never taken for the whole directory. */
int storeDirReaderEnd(dirReader *r) {
    int err = r->err;
    storeDirReaderClose(r);
    if (!err) return STORE_OK;
    errno = err;
    return STORE_ERR;
}
