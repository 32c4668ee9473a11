/* rdb_tool.c - the ways in and out of RDB files for people and scripts:
 *
 *   ROOT_DIR=tree dredis-server --export-rdb OUT.rdb [--repl-id ID
 *       [--repl-offset N] [--repl-stream-db N]]
 *     writes the tree (a tree no server uses, or a BGSAVE snapshot) as an
 *     RDB file, opening it read-only: nothing in the tree changes.
 *   ROOT_DIR=empty-tree dredis-server --import-rdb IN.rdb [--keep-expired]
 *     fills an empty tree from an RDB file and exits (a replica's full sync
 *     loads into a fresh tree this way before it is swapped in).
 *   DREDIS_IMPORT_RDB=IN.rdb at start-up: the same before serving.
 *
 * Each prints one line and exits 0, or a reason on stderr and exits 1. */
#include "server.h"
#include "syscalls.h"
#include "rdb_file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

int rdbToolIsOption(const char *arg) { return !strcmp(arg, "--export-rdb") || !strcmp(arg, "--import-rdb"); }

/* Run this binary as one of these tools on the tree at root, in a child
 * process; its pid, or -1 with errno. The child's environment is ROOT_DIR
 * alone (no DREDIS_* setting of the server reaches it), plus the
 * sanitizers' options when the server has them, so that a test's
 * ASAN_OPTIONS hold for the child too. Everything is made before fork():
 * the child only execs. */
pid_t rdbToolSpawn(const char *root, char *const argv[]) {
    static const char *const passed[] = {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"};
    sds vars[4];
    char *envp[5];
    int n = 0;
    vars[n] = sdscatprintf(sdsempty(), "ROOT_DIR=%s", root);
    envp[n] = vars[n];
    n++;
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        const char *v = getenv(passed[i]);
        if (!v) continue;
        vars[n] = sdscatprintf(sdsempty(), "%s=%s", passed[i], v);
        envp[n] = vars[n];
        n++;
    }
    envp[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    int saved = errno;
    for (int i = 0; i < n; i++) sdsfree(vars[i]);
    errno = saved;
    return pid;
}

int rdbToolReap(pid_t *pid, char *why, size_t whylen) {
    int status;
    pid_t r = waitpid(*pid, &status, WNOHANG);
    if (r == 0) return -1;
    *pid = 0;
    if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
    snprintf(why, whylen, "%s %d", r < 0 ? "waitpid" : WIFEXITED(status) ? "exit status" : "signal",
             r < 0 ? errno : WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}

void rdbToolKill(pid_t *pid) {
    if (!*pid) return;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

static int usage(const char *why) {
    fprintf(stderr,
            "dredis: %s\n"
            "usage: ROOT_DIR=DIR dredis-server --export-rdb OUT.rdb [--repl-id ID [--repl-offset N] "
            "[--repl-stream-db N]]\n"
            "       ROOT_DIR=DIR dredis-server --import-rdb IN.rdb [--keep-expired] [--key-load-delay US]\n",
            why);
    return 1;
}

static int parseNumberArg(const char *name, const char *v, long long min, long long *out) {
    if (!v || !string2ll(v, strlen(v), out) || *out < min) {
        fprintf(stderr, "dredis: %s needs an integer of at least %lld\n", name, min);
        return 0;
    }
    return 1;
}

static int isHexId(const char *s) {
    if (strlen(s) != 40) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
    return 1;
}

static int exportMain(const char *root, int argc, char **argv) {
    rdbSaveInfo rsi = {0, NULL, 0, 0};
    for (int i = 3; i < argc; i += 2) { /* each option takes a value */
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        long long n;
        if (!strcmp(argv[i], "--key-save-delay") && next && string2ll(next, strlen(next), &n) && n >= INT_MIN &&
            n <= INT_MAX) {
            rdbKeySaveDelay = (int)n; /* Redis's rdb-key-save-delay, for tests */
        } else if (!strcmp(argv[i], "--aof-base") && next && (!strcmp(next, "1") || !strcmp(next, "commands"))) {
            /* the base of an AOF rewrite (aof.c): an RDB, or commands */
            rsi.aof_base = !strcmp(next, "1") ? 1 : RDB_AOF_BASE_COMMANDS;
        } else if (!strcmp(argv[i], "--repl-id") && next && isHexId(next)) {
            rsi.repl_id = next;
        } else if (!strcmp(argv[i], "--repl-offset")) {
            if (!parseNumberArg("--repl-offset", next, 0, &n)) return 1;
            rsi.repl_offset = n;
        } else if (!strcmp(argv[i], "--repl-stream-db")) {
            if (!parseNumberArg("--repl-stream-db", next, 0, &n)) return 1;
            if (n >= server.dbnum) return usage("--repl-stream-db must be a database number");
            rsi.repl_stream_db = (int)n;
        } else {
            return usage(!strcmp(argv[i], "--repl-id") ? "--repl-id needs 40 lower-case hex characters"
                                                        : "unknown or incomplete option");
        }
    }
    if (!rsi.repl_id && (rsi.repl_offset || rsi.repl_stream_db)) return usage("--repl-offset and --repl-stream-db need --repl-id");
    rdbSaveStats stats;
    sds err;
    long long start = mstime();
    if (rdbExportTree(root, argv[2], &rsi, &stats, &err) != C_OK) {
        fprintf(stderr, "dredis: export of '%s' failed: %s\n", root, err);
        sdsfree(err);
        return 1;
    }
    printf("exported %lld keys (%lld bytes) from %s to %s in %lld ms\n", stats.keys, stats.bytes, root, argv[2],
           mstime() - start);
    if (sysFaultFired()) /* tests check that only harmless failures pass unreported */
        fprintf(stderr, "dredis: an injected failure of %s did not stop the export\n", sysFaultLastCall());
    return 0;
}

int rdbImportAtStartup(const char *path, int keep_expired) {
    rdbLoadInfo info = {.keep_expired = keep_expired};
    sds err;
    long long start = mstime();
    serverLog(LL_NOTICE, "Loading the RDB file %s into ROOT_DIR %s", path, server.root_dir);
    if (rdbLoadFile(path, &info, &err) != C_OK) {
        fprintf(stderr, "dredis: fatal: cannot import the RDB file '%s': %s\n", path, err);
        sdsfree(err);
        return C_ERR;
    }
    if (storeSync() != STORE_OK) {
        fprintf(stderr, "dredis: fatal: the imported keys cannot be synced to disk: %s\n", strerror(errno));
        return C_ERR;
    }
    serverLog(LL_NOTICE, "Imported the RDB file %s (RDB version %d): %lld keys loaded, %lld expired keys skipped, "
              "%lld function libraries, in %lld ms",
              path, info.version, info.keys_loaded, info.keys_expired, info.libraries_loaded, mstime() - start);
    return C_OK;
}

static int importMain(int argc, char **argv) {
    int keep_expired = 0;
    for (int i = 3; i < argc; i++) {
        long long n;
        if (!strcmp(argv[i], "--keep-expired")) {
            keep_expired = 1;
        } else if (!strcmp(argv[i], "--key-load-delay") && i + 1 < argc &&
                   string2ll(argv[i + 1], strlen(argv[i + 1]), &n) && n >= INT_MIN && n <= INT_MAX) {
            rdbKeyLoadDelay = (int)n; /* Redis's key-load-delay, for tests */
            i++;
        } else {
            return usage("unknown option");
        }
    }
    char *err;
    if (loadConfigFromEnv(&err) != C_OK) {
        fprintf(stderr, "dredis: fatal configuration error: %s\n", err);
        return 1;
    }
    if (storeInit(server.root_dir, server.dbnum, &err) != STORE_OK) {
        fprintf(stderr, "dredis: fatal: %s\n", err);
        return 1;
    }
    if (functionsLoadAtStartup() != C_OK) {
        storeShutdown();
        return 1;
    }
    int rc = rdbImportAtStartup(argv[2], keep_expired);
    storeShutdown();
    return rc == C_OK ? 0 : 1;
}

int rdbToolMain(int argc, char **argv) {
    if (argc < 3) return usage("a file name is missing");
    const char *root = getenv("ROOT_DIR");
    if (!root || !*root) return usage("ROOT_DIR must name the tree");
    const char *ferr;
    if (faultsInit(&ferr) < 0) { /* tests fail the tool's file calls as the server's */
        fprintf(stderr, "dredis: fatal configuration error: %s\n", ferr);
        return 1;
    }
    if (!strcmp(argv[1], "--export-rdb")) return exportMain(root, argc, argv);
    return importMain(argc, argv);
}
