/* acl.h - users and their permissions (Redis 7.0's ACL): the checks the
 * dispatch, scripts, EXEC and AUTH make, and the hooks for requirepass and
 * the ACL file. */
#ifndef DREDIS_ACL_H
#define DREDIS_ACL_H

#include "sds.h"

struct client;
struct redisCommand;
typedef struct aclUser aclUser;

/* what a check found */
#define ACL_OK 0
#define ACL_DENIED_CMD 1
#define ACL_DENIED_KEY 2
#define ACL_DENIED_AUTH 3
#define ACL_DENIED_CHANNEL 4

/* where a denied command was (ACL LOG's "context") */
#define ACL_LOG_CTX_TOPLEVEL 0
#define ACL_LOG_CTX_LUA 1
#define ACL_LOG_CTX_MULTI 2

void aclInit(void);              /* after the command table; exits on a bad ACL file */
aclUser *aclDefaultUser(void);
aclUser *aclUserLookup(const char *name); /* NULL: no such user */
const char *aclUserName(const aclUser *u);
int aclDefaultUserNeedsNoAuth(void);
int aclSetPubsubDefault(const char *value); /* acl-pubsub-default: allchannels|resetchannels */
const char *aclPubsubDefault(void); /* new connections start authenticated */
void aclUpdateDefaultUserPassword(const char *password); /* requirepass; NULL: nopass */

/* username NULL: the default user. On failure the error reply is sent and
 * the attempt logged; returns C_OK or C_ERR. */
int aclAuthenticate(struct client *c, sds username, sds password);

/* Can user u run cmd with argv? *argpos: the key or channel that failed. */
int aclCheckCommand(aclUser *u, struct redisCommand *cmd, sds *argv, int argc, int *argpos);
/* Log a denial of c's command (real: the client shown in the log). */
void aclLogDenial(struct client *c, struct client *real, int reason, int context, int argpos);
const char *aclDeniedReason(int reason);
int aclCanReadAnyKey(aclUser *u, struct redisCommand *cmd, sds *argv, int argc); /* SORT BY/GET */ /* "can't run this command or subcommand", ... */


/* acl_file.c: the ACL file's bytes (DREDIS_ACLFILE). Errors are texts as Redis's. */
int aclFileRead(const char *path, sds *text, sds *err);
int aclFileWrite(const char *path, const sds text); /* logs and returns C_ERR on failure */
#endif
