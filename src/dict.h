/* dict.h - a small chained hash table with binary-safe byte-string keys,
 * for the in-memory bookkeeping that must scale with clients (watched keys,
 * pub/sub channels): never with the data, which lives on disk. */
#ifndef DREDIS_DICT_H
#define DREDIS_DICT_H
#include <stddef.h>
#include "sds.h"

typedef struct dictEntry {
    sds key;
    void *val;
    struct dictEntry *next;
} dictEntry;

typedef struct dict {
    dictEntry **table;
    size_t size;   /* buckets, a power of two */
    size_t used;   /* entries */
} dict;

typedef struct dictIterator {
    dict *d;
    size_t bucket;
    dictEntry *entry, *next;
} dictIterator;

dict *dictCreate(void);
void dictRelease(dict *d, void (*freeval)(void *));
void *dictFetch(dict *d, const char *key, size_t len);
dictEntry *dictFind(dict *d, const char *key, size_t len);
/* Adds key (copied) -> val; returns the entry, or NULL if it exists. */
dictEntry *dictAdd(dict *d, const char *key, size_t len, void *val);
/* Removes key; returns its value (NULL when absent). */
void *dictDelete(dict *d, const char *key, size_t len);
size_t dictSize(const dict *d);
void dictIterInit(dictIterator *it, dict *d);
/* Safe against deleting the entry just returned. */
dictEntry *dictNext(dictIterator *it);

#endif
