/* dict.c - chained hash table keyed by byte strings; grows by doubling. */
#include "dict.h"
#include "util.h"
#include "zmalloc.h"
#include <string.h>

#define DICT_INITIAL_SIZE 16

dict *dictCreate(void) {
    dict *d = zmalloc(sizeof(*d));
    d->size = DICT_INITIAL_SIZE;
    d->used = 0;
    d->table = zcalloc(sizeof(dictEntry *) * d->size);
    return d;
}

void dictRelease(dict *d, void (*freeval)(void *)) {
    if (!d) return;
    for (size_t i = 0; i < d->size; i++) {
        dictEntry *e = d->table[i];
        while (e) {
            dictEntry *next = e->next;
            if (freeval) freeval(e->val);
            sdsfree(e->key);
            zfree(e);
            e = next;
        }
    }
    zfree(d->table);
    zfree(d);
}

static size_t bucketOf(const dict *d, const char *key, size_t len) {
    return (size_t)siphashish(key, len) & (d->size - 1);
}

dictEntry *dictFind(dict *d, const char *key, size_t len) {
    for (dictEntry *e = d->table[bucketOf(d, key, len)]; e; e = e->next)
        if (sdslen(e->key) == len && memcmp(e->key, key, len) == 0) return e;
    return NULL;
}

void *dictFetch(dict *d, const char *key, size_t len) {
    dictEntry *e = dictFind(d, key, len);
    return e ? e->val : NULL;
}

static void dictGrow(dict *d) {
    size_t newsize = d->size * 2;
    dictEntry **nt = zcalloc(sizeof(dictEntry *) * newsize);
    for (size_t i = 0; i < d->size; i++) {
        dictEntry *e = d->table[i];
        while (e) {
            dictEntry *next = e->next;
            size_t b = (size_t)siphashish(e->key, sdslen(e->key)) & (newsize - 1);
            e->next = nt[b];
            nt[b] = e;
            e = next;
        }
    }
    zfree(d->table);
    d->table = nt;
    d->size = newsize;
}

dictEntry *dictAdd(dict *d, const char *key, size_t len, void *val) {
    if (dictFind(d, key, len)) return NULL;
    if (d->used >= d->size) dictGrow(d);
    size_t b = bucketOf(d, key, len);
    dictEntry *e = zmalloc(sizeof(*e));
    e->key = sdsnewlen(key, len);
    e->val = val;
    e->next = d->table[b];
    d->table[b] = e;
    d->used++;
    return e;
}

void *dictDelete(dict *d, const char *key, size_t len) {
    size_t b = bucketOf(d, key, len);
    dictEntry **pp = &d->table[b];
    while (*pp) {
        dictEntry *e = *pp;
        if (sdslen(e->key) == len && memcmp(e->key, key, len) == 0) {
            void *val = e->val;
            *pp = e->next;
            sdsfree(e->key);
            zfree(e);
            d->used--;
            return val;
        }
        pp = &e->next;
    }
    return NULL;
}

size_t dictSize(const dict *d) { return d->used; }

void dictIterInit(dictIterator *it, dict *d) {
    it->d = d;
    it->bucket = 0;
    it->entry = NULL;
    it->next = d->size ? d->table[0] : NULL;
}

dictEntry *dictNext(dictIterator *it) {
    while (!it->next) {
        if (++it->bucket >= it->d->size) return NULL;
        it->next = it->d->table[it->bucket];
    }
    it->entry = it->next;
    it->next = it->entry->next;
    return it->entry;
}
