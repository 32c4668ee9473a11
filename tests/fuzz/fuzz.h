/* fuzz.h - what the harnesses share: the libFuzzer entry points and a
 * check that aborts (so libFuzzer, or the replay driver, reports the input)
 * with the reason when an invariant does not hold. */
#ifndef DREDIS_FUZZ_H
#define DREDIS_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <ftw.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* A new scratch directory dredis-fuzz-<tag>-XXXXXX in $FUZZ_SCRATCH_DIR
 * (scripts/fuzz sets it, and removes it after the run: a harness stopped
 * by a crash leaves its scratch behind), else /dev/shm, else /tmp. */
static inline void fuzzMakeScratch(char *path, size_t size, const char *tag) {
    const char *dir = getenv("FUZZ_SCRATCH_DIR");
    if (!dir || !*dir) dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, size, "%s/dredis-fuzz-%s-XXXXXX", dir, tag);
    FUZZ_CHECK(mkdtemp(path) != NULL, "mkdtemp %s: %s", path, strerror(errno));
}

static inline int fuzzRemoveBelow(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    if (ftw->level > 0) remove(path);
    return 0;
}

/* Remove what dir holds (links not followed), and dir too unless keep. */
static inline void fuzzRemoveTree(const char *dir, int keep) {
    nftw(dir, fuzzRemoveBelow, 16, FTW_DEPTH | FTW_PHYS);
    if (!keep) rmdir(dir);
}

#endif
