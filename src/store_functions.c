/* store_functions.c - function libraries, one file each under
 * ROOT_DIR/.functions/<encoded name>. Part of the storage layer (see
 * store_int.h). */
#include "store_int.h"

/* ---- function libraries: ROOT_DIR/.functions/<encoded name> ---- */

static int openLibraries(void) { return sysOpenat(store.rootfd, LIBRARIES_DIR, OPEN_DIR_FLAGS); }

int writeLibraryOp(const char *name, size_t len, const char *code, size_t codelen) {
    int fd = openLibraries();
    if (fd < 0) return STORE_ERR;
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    int r = opWriteFile(fd, fname, code, codelen, NULL);
    int saved = errno;
    sdsfree(fname);
    sysClose(fd);
    errno = saved;
    return r;
}

int removeLibraryOp(const char *name, size_t len) {
    int fd = openLibraries();
    if (fd < 0) return STORE_ERR;
    int hashed;
    sds fname = keynameEncode(name, len, &hashed);
    int r = opUnlink(fd, fname);
    int saved = errno;
    sdsfree(fname);
    sysClose(fd);
    errno = saved;
    return r == STORE_NOTFOUND ? STORE_OK : r;
}

int readLibrariesOp(storeLibraryVisitor *fn, void *ud) {
    int fd = openLibraries();
    if (fd < 0) return errno == ENOENT ? STORE_OK : STORE_ERR; /* a tree of an older dredis: none */
    DIR *d = sysFdopendir(fd);
    if (!d) {
        int saved = errno;
        sysClose(fd);
        errno = saved;
        return STORE_ERR;
    }
    int r = STORE_OK;
    struct dirent *de;
    errno = 0;
    while (r == STORE_OK && (de = sysReaddir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        sds code;
        r = storeReadFileAt(dirfd(d), de->d_name, &code);
        if (r != STORE_OK) break;
        r = fn(ud, de->d_name, code, sdslen(code)) == 0 ? STORE_OK : STORE_ERR;
        sdsfree(code);
        errno = 0;
    }
    if (r == STORE_OK && errno) r = STORE_ERR; /* readdir failed: the listing is not whole */
    int saved = errno;
    sysClosedir(d);
    errno = saved;
    return r;
}
