/* replay.c - runs a fuzz harness over files without fuzzing: the main() of
 * the harness binaries `make check` builds with the ordinary compiler (and
 * with ASan/UBSan in scripts/test --sanitize), so every corpus file, and
 * every crash the fuzzer once found, is replayed on each test run.
 *
 * Usage: replay-<harness> FILE|DIR...  (a directory: each file in it, in
 * name order). Exits 0 after running them all; a failing input aborts. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int runFile(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t cap = 4096, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int byName(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int runPath(const char *path, long *count) {
    struct stat sb;
    if (stat(path, &sb) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        (*count)++;
        return runFile(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, byName), rc = n < 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
            if (runPath(sub, count) < 0) rc = -1;
        }
        free(names[i]);
    }
    free(n >= 0 ? names : NULL);
    return rc;
}

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    long count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (runPath(argv[i], &count) < 0) rc = 1;
    printf("%s: %ld inputs replayed\n", argv[0], count);
    return rc;
}
