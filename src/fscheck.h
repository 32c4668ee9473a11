#ifndef DREDIS_FSCHECK_H
#define DREDIS_FSCHECK_H

/* Log, at start-up, what the file system under root costs dredis in
 * atomicity, speed or space (see fscheck.c). Only logs. */
void fscheckRootDir(const char *root);

#endif
