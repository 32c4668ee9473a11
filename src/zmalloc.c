/* zmalloc.c - counted allocation. Each block carries its size in a small
 * prefix so that used memory can be reported exactly. */
#include "zmalloc.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>

#define PREFIX_SIZE 16 /* keeps 16-byte alignment */
static _Atomic size_t used_memory = 0;

static void zmalloc_oom(size_t size) {
    fprintf(stderr, "dredis: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

void *zmalloc(size_t size) {
    void *p = malloc(size + PREFIX_SIZE);
    if (!p) zmalloc_oom(size);
    *(size_t *)p = size;
    used_memory += size;
    return (char *)p + PREFIX_SIZE;
}

void *zcalloc(size_t size) {
    void *p = calloc(1, size + PREFIX_SIZE);
    if (!p) zmalloc_oom(size);
    *(size_t *)p = size;
    used_memory += size;
    return (char *)p + PREFIX_SIZE;
}

void *zrealloc(void *ptr, size_t size) {
    if (!ptr) return zmalloc(size);
    char *real = (char *)ptr - PREFIX_SIZE;
    size_t old = *(size_t *)real;
    char *p = realloc(real, size + PREFIX_SIZE);
    if (!p) zmalloc_oom(size);
    *(size_t *)p = size;
    used_memory += size;
    used_memory -= old;
    return p + PREFIX_SIZE;
}

void zfree(void *ptr) {
    if (!ptr) return;
    char *real = (char *)ptr - PREFIX_SIZE;
    used_memory -= *(size_t *)real;
    free(real);
}

char *zstrdup(const char *s) {
    size_t l = strlen(s) + 1;
    char *p = zmalloc(l);
    memcpy(p, s, l);
    return p;
}

size_t zmalloc_used_memory(void) { return used_memory; }
