/* acl_file.c - reading and atomically replacing the ACL file (DREDIS_ACLFILE,
 * Redis's aclfile). The file is outside ROOT_DIR: it holds users, not data.
 * Its contents are acl.c's business. */
#include "server.h"
#include "acl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int aclFileRead(const char *path, sds *text, sds *err) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        *err = sdscatprintf(sdsempty(), "Error loading ACLs, opening file '%s': %s", path, strerror(errno));
        return C_ERR;
    }
    sds out = sdsempty();
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) out = sdscatlen(out, buf, n);
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        *err = sdscatprintf(sdsempty(), "Error loading ACLs, reading file '%s': %s", path, strerror(EIO));
        sdsfree(out);
        return C_ERR;
    }
    *text = out;
    return C_OK;
}

/* A temporary file next to it, synced, then renamed over it. */
int aclFileWrite(const char *path, const sds text) {
    sds tmp = sdscatprintf(sdsempty(), "%s.tmp-%d-%lld", path, (int)getpid(), mstime());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1) {
        serverLog(LL_WARNING, "Opening temp ACL file for ACL SAVE: %s", strerror(errno));
        sdsfree(tmp);
        return C_ERR;
    }
    const char *what = NULL;
    if (writeFully(fd, text, sdslen(text)) == -1) what = "Writing ACL file for ACL SAVE";
    else if (fsync(fd) == -1) what = "Syncing ACL file for ACL SAVE";
    if (close(fd) == -1 && !what) what = "Closing ACL file for ACL SAVE";
    if (!what && rename(tmp, path) == -1) what = "Renaming ACL file for ACL SAVE";
    if (what) {
        serverLog(LL_WARNING, "%s: %s", what, strerror(errno));
        unlink(tmp);
    }
    sdsfree(tmp);
    return what ? C_ERR : C_OK;
}
