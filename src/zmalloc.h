/* zmalloc.h - allocation wrappers that count used memory (for INFO and the
 * memory limits) and abort cleanly on out-of-memory. */
#ifndef DREDIS_ZMALLOC_H
#define DREDIS_ZMALLOC_H
#include <stddef.h>
void *zmalloc(size_t size);
void *zcalloc(size_t size);
void *zrealloc(void *ptr, size_t size);
void zfree(void *ptr);
char *zstrdup(const char *s);
size_t zmalloc_used_memory(void);
#endif
