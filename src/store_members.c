/* store_members.c - what is inside a key: members of a namespace directory
 * (one file each, long names under .names), sub-keys (directories inside a
 * key), iterators and random samplers over a namespace. Part of the
 * storage layer (see store_int.h). */
#include "store_int.h"

/* ------------------------------------------------------------------------ */
/* Members of a key's namespace directory                                    */
/* ------------------------------------------------------------------------ */

#define NAMES_DIR ".names"

/* The descriptor of namespace ns of k, opened once per skey. create: make
 * the directory when it does not exist. Returns -1 (errno ENOENT when it just
 * does not exist). */
static int nsDir(skey *k, const char *ns, int create) {
    storeKeyInUse(k);
    int free_slot = -1;
    for (int i = 0; i < 4; i++) {
        if (k->nsfd[i] >= 0 && !strcmp(k->nsname[i], ns)) return k->nsfd[i];
        if (k->nsfd[i] < 0 && free_slot < 0) free_slot = i;
    }
    int dirfd = storeKeyDir(k);
    if (dirfd < 0) return -1;
    int fd = storeOpenEasing(dirfd, ns, OPEN_DIR_FLAGS, k);
    if (fd < 0 && errno == ENOENT && create) {
        if (opMkdir(dirfd, ns) != STORE_OK && errno != EEXIST) return -1;
        fd = storeOpenEasing(dirfd, ns, OPEN_DIR_FLAGS, k);
    }
    if (fd < 0) return -1;
    if (free_slot < 0) {
        sysClose(k->nsfd[0]);
        free_slot = 0;
    }
    k->nsfd[free_slot] = fd;
    snprintf(k->nsname[free_slot], sizeof(k->nsname[free_slot]), "%s", ns);
    return fd;
}

/* ns of k, for settling a pending member write (store_coalesce.c). */
int storeNamespaceDir(skey *k, const char *ns) { return nsDir(k, ns, 0); }

int readMemberOp(skey *k, const char *ns, const char *m, size_t mlen, sds *out) {
    sds pend = storeCoalescedValue(k, ns, m, mlen);
    if (pend) {
        *out = sdsdup(pend);
        return STORE_OK;
    }
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int r = storeReadFileAt(fd, fname, out);
    if (r == STORE_OK && hashed) {
        /* verify the full name (a digest collision would be a different member) */
        int nfd = sysOpenat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        sds full = NULL;
        int ok = nfd >= 0 && storeReadFileAt(nfd, fname, &full) == STORE_OK && sdslen(full) == mlen &&
                 !memcmp(full, m, mlen);
        if (nfd >= 0) sysClose(nfd);
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

int memberExistsOp(skey *k, const char *ns, const char *m, size_t mlen) {
    if (storeCoalescedValue(k, ns, m, mlen)) return STORE_OK;
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = sysFstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? STORE_OK
            : errno == ENOENT                                  ? STORE_NOTFOUND
                                                               : STORE_ERR;
    sdsfree(fname);
    return r;
}

/* The .names directory of a namespace (full names of shortened member
 * names), created when missing. -1 on error. */
static int namesDir(int nsfd) {
    int nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    if (nfd < 0 && errno == ENOENT) {
        if (opMkdir(nsfd, NAMES_DIR) != STORE_OK && errno != EEXIST) return -1;
        nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    }
    return nfd;
}

int memberSizeOp(skey *k, const char *ns, const char *m, size_t mlen, long long *size) {
    sds pend = storeCoalescedValue(k, ns, m, mlen);
    if (pend) {
        *size = (long long)sdslen(pend);
        return STORE_OK;
    }
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = sysFstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? STORE_OK
            : errno == ENOENT                                  ? STORE_NOTFOUND
                                                               : STORE_ERR;
    if (r == STORE_OK) *size = sb.st_size;
    sdsfree(fname);
    return r;
}

int writeMemberOp(skey *k, const char *ns, const char *m, size_t mlen, const char *data, size_t dlen,
                     int *created) {
    storeSkeyWillChange(k);
    int hashed, r;
    sds fname = keynameEncode(m, mlen, &hashed);
    /* an overwrite may wait for the end of the loop turn (store_coalesce.c) */
    if (!hashed && storeCoalesceTake(k, ns, m, mlen, data, dlen)) {
        sdsfree(fname);
        if (created) *created = 0;
        return storeTouchedIfOk(k, STORE_OK);
    }
    int fd = storeCoalesceSettleForWrite() == STORE_OK ? nsDir(k, ns, 1) : -1;
    if (fd < 0) {
        sdsfree(fname);
        return STORE_ERR;
    }
    if (hashed) {
        int nfd = -1;
        if ((nfd = namesDir(fd)) < 0 || opWriteFile(nfd, fname, m, mlen, NULL) != STORE_OK) {
            int saved = errno;
            if (nfd >= 0) sysClose(nfd);
            sdsfree(fname);
            errno = saved;
            return STORE_ERR;
        }
        sysClose(nfd);
    }
    int dummy;
    r = opWriteFile(fd, fname, data, dlen, created ? created : &dummy);
    if (r == STORE_OK && !hashed) storeCoalesceMark(k, ns, m, mlen);
    sdsfree(fname);
    return storeTouchedIfOk(k, r);
}

int removeMemberOp(skey *k, const char *ns, const char *m, size_t mlen) {
    storeSkeyWillChange(k);
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int r = opUnlink(fd, fname);
    if (r == STORE_OK && hashed) {
        int nfd = sysOpenat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        if (nfd >= 0) {
            opUnlink(nfd, fname);
            sysClose(nfd);
        }
    }
    sdsfree(fname);
    return storeTouchedIfOk(k, r);
}

int countMembersOp(skey *k, const char *ns, long long *out) {
    *out = 0;
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_OK : STORE_ERR;
    dirReader r;
    if (storeDirReaderOpen(&r, fd, ".", 0) != STORE_OK) return STORE_ERR;
    long long n = 0;
    while (storeDirReaderNext(&r, 0)) n++;
    if (storeDirReaderEnd(&r) != STORE_OK) return STORE_ERR;
    *out = n;
    return STORE_OK;
}

/* ------------------------------------------------------------------------ */
/* Sub-keys: directories inside a key                                        */
/* ------------------------------------------------------------------------ */

/* A handle like k's, for a directory inside k: changes are reported as
 * changes to k (the key hook), and k's staged state is shared. */
static skey *newSubKey(skey *k) {
    skey *s = zcalloc(sizeof(*s));
    storeSkeyOpened(s);
    s->gen = k->gen; /* a change through either is a change to the key */
    s->sub = 1;
    s->db = k->db;
    s->name = sdsdup(k->name);
    s->fname = sdsdup(k->fname);
    s->hashed = k->hashed;
    s->dirfd = -1;
    s->type = k->type;
    s->expire = -1;
    s->staged = k->staged;
    for (int i = 0; i < 4; i++) s->nsfd[i] = -1;
    return s;
}

/* Record the full name of a shortened member name in ns's .names. */
static int writeFullName(int nsfd, const char *fname, const char *m, size_t mlen) {
    int nfd = namesDir(nsfd);
    if (nfd < 0) return STORE_ERR;
    int r = opWriteFile(nfd, fname, m, mlen, NULL);
    int saved = errno;
    sysClose(nfd);
    errno = saved;
    return r;
}

/* Whether the .names entry of a shortened name holds exactly m. */
static int fullNameIs(int nsfd, const char *fname, const char *m, size_t mlen) {
    int nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    sds full = NULL;
    int ok = nfd >= 0 && storeReadFileAt(nfd, fname, &full) == STORE_OK && sdslen(full) == mlen && !memcmp(full, m, mlen);
    if (nfd >= 0) sysClose(nfd);
    sdsfree(full);
    return ok;
}

int openSubOp(skey *k, const char *ns, const char *m, size_t mlen, skey **out) {
    *out = NULL;
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    int sfd = sysOpenat(fd, fname, OPEN_DIR_FLAGS);
    int saved = errno;
    if (sfd >= 0 && hashed && !fullNameIs(fd, fname, m, mlen)) {
        /* another name with the same digest */
        sysClose(sfd);
        sfd = -1;
        saved = ENOENT;
    }
    sdsfree(fname);
    if (sfd < 0) {
        errno = saved;
        return saved == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    }
    skey *s = newSubKey(k);
    s->dirfd = sfd;
    *out = s;
    return STORE_OK;
}

int newSubOp(skey *k, skey **out) {
    *out = NULL;
    skey *s = newSubKey(k);
    s->staged = 1;
    if (storeMakeStagingDir(&s->stagename) != STORE_OK) goto err;
    s->dirfd = storeOpenStagedDir(s->stagename);
    if (s->dirfd < 0) goto err;
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        storeCloseKey(s);
        errno = saved;
        return STORE_ERR;
    }
}

int publishSubOp(skey *k, const char *ns, const char *m, size_t mlen, skey *sub) {
    storeSkeyWillChange(k);
    if (!sub->staged || !sub->stagename) { errno = EINVAL; return STORE_ERR; }
    int fd = nsDir(k, ns, 1);
    if (fd < 0) return STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r = STORE_ERR;
    int e = storeStatAt(fd, fname, &sb);
    if (e > 0) errno = EEXIST;
    else if (e == 0 && (!hashed || writeFullName(fd, fname, m, mlen) == STORE_OK))
        r = opRename(store.tmpfd, sub->stagename, fd, fname, RENAME_NOREPLACE);
    int saved = errno;
    sdsfree(fname);
    if (r != STORE_OK) {
        errno = saved;
        return STORE_ERR;
    }
    sdsfree(sub->stagename);
    sub->stagename = NULL;
    sub->staged = k->staged;
    storeKeyTouched(k);
    return STORE_OK;
}

int removeSubOp(skey *k, const char *ns, const char *m, size_t mlen) {
    storeSkeyWillChange(k);
    int fd = nsDir(k, ns, 0);
    if (fd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    int hashed;
    sds fname = keynameEncode(m, mlen, &hashed);
    struct stat sb;
    int r;
    if (sysFstatat(fd, fname, &sb, AT_SYMLINK_NOFOLLOW) < 0) r = errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    else r = opTrash(fd, fname);
    if (r == STORE_OK && hashed) {
        int nfd = sysOpenat(fd, NAMES_DIR, OPEN_DIR_FLAGS);
        if (nfd >= 0) {
            opUnlink(nfd, fname);
            sysClose(nfd);
        }
    }
    sdsfree(fname);
    return storeTouchedIfOk(k, r);
}

struct storeIter {
    dirReader r;
    int empty;
    int nsfd;
};

int iterOpenOp(skey *k, const char *ns, unsigned long long cursor, storeIter **out) {
    storeIter *it = zcalloc(sizeof(*it));
    int fd = nsDir(k, ns, 0);
    it->r.fd = -1;
    if (fd < 0) {
        if (errno != ENOENT) { zfree(it); return STORE_ERR; }
        it->empty = 1;
    } else {
        if (storeDirReaderOpen(&it->r, fd, ".", cursor) != STORE_OK) {
            zfree(it);
            return STORE_ERR;
        }
        it->nsfd = it->r.fd; /* its own: the skey's may be parked meanwhile */
    }
    *out = it;
    return STORE_OK;
}

/* The member named by directory entry fname of namespace directory nsfd, or
 * NULL when the entry is not one of ours. */
static sds memberNameOfEntry(int nsfd, const char *fname) {
    size_t len = strlen(fname);
    if (!keynameIsHashed(fname, len)) return keynameDecode(fname, len);
    sds name = NULL;
    int nfd = sysOpenat(nsfd, NAMES_DIR, OPEN_DIR_FLAGS);
    if (nfd >= 0) {
        if (storeReadFileAt(nfd, fname, &name) != STORE_OK) name = NULL;
        sysClose(nfd);
    }
    return name;
}

int iterNextOp(storeIter *it, sds *m) {
    if (it->empty) return STORE_NOTFOUND;
    struct linux_dirent64 *d;
    while ((d = storeDirReaderNext(&it->r, 0)) != NULL) {
        sds name = memberNameOfEntry(it->nsfd, d->d_name);
        if (!name) continue;
        *m = name;
        return STORE_OK;
    }
    if (it->r.err) {
        errno = it->r.err;
        return STORE_ERR;
    }
    return STORE_NOTFOUND;
}

int iterCursorOp(storeIter *it, unsigned long long *cursor) {
    *cursor = 0;
    if (it->empty) return STORE_OK;
    if (!it->r.err && !it->r.eof && it->r.bpos >= it->r.nread) {
        /* is there anything past what was read? */
        long n = sysGetdents64(it->r.fd, it->r.buf, sizeof(it->r.buf));
        if (n < 0) it->r.err = errno;
        if (n <= 0) it->r.eof = 1;
        else {
            it->r.nread = n;
            it->r.bpos = 0;
        }
    }
    if (it->r.err) { /* a listing cut short has no resume point */
        errno = it->r.err;
        return STORE_ERR;
    }
    if (!it->r.eof) *cursor = it->r.pos;
    return STORE_OK;
}

void storeIterClose(storeIter *it) {
    if (!it) return;
    if (!it->empty) storeDirReaderClose(&it->r);
    zfree(it);
}

/* Random members. Directory offsets (the d_off cookies of getdents64) are
 * increasing along a directory on the file systems we run on (ext4 and xfs
 * hash or block order, tmpfs and btrfs insertion order); seeking to any
 * offset lands on the first entry at or after it. A draw seeks to a random
 * offset below a bound found by binary search and takes the next entry. A
 * directory whose first reads end it, or whose offsets do not increase, is
 * read whole and drawn from exactly. */
#define SAMPLER_EXACT_READS 4     /* getdents64 batches read before sampling by offset */
#define SAMPLER_PROBE_BUF 2048    /* holds at least one entry */
#define SAMPLER_MAX_DRAWS 64      /* draws past the last entry before taking the first one */

struct storeSampler {
    int nsfd;                   /* the namespace directory (fd: the skey's may be parked) */
    int fd;                     /* our own descriptor of it, for seeking */
    int exact;                  /* names holds every entry */
    sds *names;                 /* encoded names, when exact */
    size_t nnames, cap;
    unsigned long long limit;   /* otherwise: every entry's offset is below this */
};

static unsigned long long random64(void) {
    return ((unsigned long long)random() << 33) ^ ((unsigned long long)random() << 2) ^
           ((unsigned long long)random() & 3);
}

/* Does any entry sit at or after offset off? 1 yes, 0 no, -1 error. */
static int samplerAnyAt(storeSampler *s, unsigned long long off) {
    char buf[SAMPLER_PROBE_BUF] __attribute__((aligned(8))); /* holds struct linux_dirent64 records */
    if (sysLseek(s->fd, (off_t)off, SEEK_SET) < 0) return errno == EINVAL ? 0 : -1;
    long n = sysGetdents64(s->fd, buf, sizeof(buf));
    if (n < 0) return -1;
    return n > 0;
}

/* Append the member entries of a getdents64 batch to s->names; *increasing
 * is cleared when an offset does not grow. */
static void samplerKeep(storeSampler *s, const char *buf, long n, long long *last, int *increasing) {
    for (long pos = 0; pos < n;) {
        const struct linux_dirent64 *d = (const struct linux_dirent64 *)(buf + pos);
        pos += d->d_reclen;
        if (d->d_off <= *last) *increasing = 0;
        *last = d->d_off;
        if (d->d_name[0] == '.') continue;
        if (s->nnames == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 64;
            s->names = zrealloc(s->names, sizeof(sds) * s->cap);
        }
        s->names[s->nnames++] = sdsnew(d->d_name);
    }
}

static void samplerFreeNames(storeSampler *s) {
    for (size_t i = 0; i < s->nnames; i++) sdsfree(s->names[i]);
    zfree(s->names);
    s->names = NULL;
    s->nnames = s->cap = 0;
}

void storeSamplerClose(storeSampler *s) {
    if (!s) return;
    samplerFreeNames(s);
    if (s->fd >= 0) sysClose(s->fd);
    zfree(s);
}

int samplerOpenOp(skey *k, const char *ns, storeSampler **out) {
    *out = NULL;
    int nsfd = nsDir(k, ns, 0);
    if (nsfd < 0) return errno == ENOENT ? STORE_NOTFOUND : STORE_ERR;
    storeSampler *s = zcalloc(sizeof(*s));
    s->fd = storeOpenat(nsfd, ".", READ_DIR_FLAGS);
    if (s->fd < 0) goto err;
    s->nsfd = s->fd;
    char *buf = zmalloc(32768);
    long long last = -1;
    int increasing = 1, reads = 0;
    long n;
    while ((n = sysGetdents64(s->fd, buf, 32768)) > 0) {
        samplerKeep(s, buf, n, &last, &increasing);
        /* offsets that do not grow cannot be sampled by seeking: read all */
        if (++reads >= SAMPLER_EXACT_READS && increasing) break;
    }
    zfree(buf);
    if (n < 0) goto err;
    if (n == 0) {
        s->exact = 1;
        if (s->nnames == 0) {
            storeSamplerClose(s);
            return STORE_NOTFOUND;
        }
    } else {
        samplerFreeNames(s);
        /* the smallest power of two no entry reaches (2^63: none does) */
        int lo = 0, hi = 63;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            int any = samplerAnyAt(s, 1ULL << mid);
            if (any < 0) goto err;
            if (any) lo = mid;
            else hi = mid;
        }
        s->limit = hi == 63 ? (unsigned long long)LLONG_MAX : 1ULL << hi;
    }
    *out = s;
    return STORE_OK;
err: {
        int saved = errno;
        storeSamplerClose(s);
        errno = saved;
        return STORE_ERR;
    }
}

/* The first member at or after offset off: STORE_OK, or STORE_NOTFOUND when
 * there is none. */
static int samplerFirstAt(storeSampler *s, unsigned long long off, sds *m) {
    char buf[SAMPLER_PROBE_BUF] __attribute__((aligned(8))); /* holds struct linux_dirent64 records */
    if (sysLseek(s->fd, (off_t)off, SEEK_SET) < 0) return errno == EINVAL ? STORE_NOTFOUND : STORE_ERR;
    long n;
    while ((n = sysGetdents64(s->fd, buf, sizeof(buf))) > 0) {
        for (long pos = 0; pos < n;) {
            const struct linux_dirent64 *d = (const struct linux_dirent64 *)(buf + pos);
            pos += d->d_reclen;
            if (d->d_name[0] == '.') continue;
            sds name = memberNameOfEntry(s->nsfd, d->d_name);
            if (name) {
                *m = name;
                return STORE_OK;
            }
        }
    }
    return n < 0 ? STORE_ERR : STORE_NOTFOUND;
}

int samplerNextOp(storeSampler *s, sds *m) {
    *m = NULL;
    if (s->exact) {
        while (s->nnames) {
            size_t i = (size_t)(random64() % s->nnames);
            sds name = memberNameOfEntry(s->nsfd, s->names[i]);
            if (name) {
                *m = name;
                return STORE_OK;
            }
            /* not a member of ours: forget it */
            sdsfree(s->names[i]);
            s->names[i] = s->names[--s->nnames];
        }
        return STORE_NOTFOUND;
    }
    for (int draw = 0; draw < SAMPLER_MAX_DRAWS; draw++) {
        int r = samplerFirstAt(s, random64() % s->limit, m);
        if (r != STORE_NOTFOUND) return r;
    }
    return samplerFirstAt(s, 0, m);
}
