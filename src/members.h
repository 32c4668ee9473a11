/* members.h - helpers the hash and set commands share: an in-memory set of
 * member names, replies built aside until they are known to succeed,
 * removing members (the whole key at once when all of them go), and picking
 * distinct random members. */
#ifndef DREDIS_MEMBERS_H
#define DREDIS_MEMBERS_H
#include "server.h"

/* An open-addressing set of names (copies are kept). */
typedef struct memberSet {
    sds *slots;
    size_t cap, used;
} memberSet;

void memberSetInit(memberSet *s);
/* 1 when m was added, 0 when it was already there */
int memberSetAdd(memberSet *s, const char *m, size_t len);
int memberSetHas(const memberSet *s, const char *m, size_t len);
void memberSetFree(memberSet *s);

/* A key opened by collectionOpenForWrite() that a command ends up not
 * changing: a new one is thrown away. k stays open. */
void membersDiscard(skey *k);
/* A storage error err while writing to k: throw a new key away and reply
 * with the error (which makes the store roll back the command's changes to
 * existing keys, see storeTxnFail). k stays open. */
void membersFail(client *c, skey *k, int err);

/* Remove the n given members from namespace ns of k: "len" is written
 * first, then the member files go, so "len" never exceeds the files. A key
 * left without members is deleted in one step (checked against the
 * directory, not decided from "len" alone); a "len" found behind the files
 * is recounted. *removed gets how many were members, *keydeleted (may be
 * NULL) whether the key went. C_ERR after replying. k stays open. */
int membersRemove(client *c, skey *k, const char *ns, sds *m, int n, long long *removed, int *keydeleted);

/* All member names of ns (*out, *n; the caller frees each and the array). */
int membersAll(skey *k, const char *ns, sds **out, unsigned long *n);
/* count distinct random members of ns, which holds about size members
 * (count < size). Few against size: random draws (see storeSampler) with
 * duplicates thrown back; otherwise, or when draws keep repeating, all
 * names are read and a uniform sample taken. */
int membersRandomDistinct(skey *k, const char *ns, long long size, unsigned long count, sds **out,
                          unsigned long *n);
/* Shuffle a uniform sample of count of the total names of a to its front,
 * free the others; returns how many are kept. */
unsigned long membersKeepRandom(sds *a, unsigned long total, unsigned long count);
void membersFreeArray(sds *a, unsigned long n);

/* Parse [MATCH pattern] [COUNT count] from argv[first]. C_ERR after replying. */
int membersParseScanOptions(client *c, int first, sds *pattern, long *count);
/* Reply to HSCAN / SSCAN for k (NULL: missing) from cursor: visit up to
 * count members of ns, keep those matching pattern (NULL: all), and add each
 * one's value when withvalues. */
/* The whole of HSCAN / SSCAN for a key of type whose members are in ns. */
void membersScanCommand(client *c, int type, const char *ns, int withvalues);
void membersScan(client *c, skey *k, const char *ns, unsigned long long cursor, sds pattern, long count,
                 int withvalues);

#endif
