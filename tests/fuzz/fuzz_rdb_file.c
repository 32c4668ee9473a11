/* fuzz_rdb_file.c - the RDB file loader (rdb_load.c) on arbitrary bytes,
 * into a real store: the opcodes (AUX, SELECTDB, RESIZEDB, expiries,
 * FUNCTION2 ...), and each value decoded by RESTORE's code (dump.c)
 * straight into a key under .tmp.
 *
 * The store lives in a scratch directory (on /dev/shm when there is one),
 * opened once as the server opens it. A load that fails must leave the
 * store empty, as rdbLoadFile() promises; one that succeeds is emptied
 * again (FLUSHALL's and FUNCTION FLUSH's work) for the next input. */
#include "fuzz.h"
#include "rdb.h"
#include "rdb_file.h"
#include "server.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char base[256], file[300];
static client *fake;

static void removeScratch(void) {
    storeShutdown();
    if (base[0]) fuzzRemoveTree(base, 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzzMakeScratch(base, sizeof(base), "rdb");
    snprintf(file, sizeof(file), "%s/in.rdb", base);
    char root[300];
    snprintf(root, sizeof(root), "%s/root", base);
    setenv("ROOT_DIR", root, 1);
    /* what main() sets before reading the configuration */
    server.pid = getpid();
    server.dbnum = DEFAULT_DBNUM;
    server.start_time_ms = mstime();
    char *err = NULL;
    FUZZ_CHECK(loadConfigFromEnv(&err) == C_OK, "configuration: %s", err);
    server.verbosity = LL_WARNING;
    FUZZ_CHECK(storeInit(server.root_dir, server.dbnum, &err) == STORE_OK, "storeInit: %s", err);
    FUZZ_CHECK(functionsLoadAtStartup() == C_OK, "functions");
    commandTableInit();
    fake = createFakeClient();
    atexit(removeScratch);
    return 0;
}

static long long keysInStore(void) {
    long long total = 0;
    for (int db = 0; db < server.dbnum; db++) {
        long long n = 0;
        FUZZ_CHECK(storeDbSize(db, &n) == STORE_OK, "storeDbSize: %s", strerror(errno));
        total += n;
    }
    return total;
}

/* Run a command's function on the fake client, as the server would. */
static void runCommand(int argc, const char **args) {
    sds argv[4];
    for (int i = 0; i < argc; i++) argv[i] = sdsnew(args[i]);
    redisCommand *cmd = lookupCommand(argv, argc);
    FUZZ_CHECK(cmd != NULL, "no command %s", args[0]);
    fake->argv = argv;
    fake->argc = argc;
    fake->cmd = cmd;
    cmd->proc(fake);
    size_t len = evbuffer_get_length(fake->out);
    const char *reply = (const char *)evbuffer_pullup(fake->out, -1);
    FUZZ_CHECK(len >= 3 && !memcmp(reply, "+OK", 3), "%s: %.*s", args[0], (int)len, reply ? reply : "");
    evbuffer_drain(fake->out, len);
    fake->argv = NULL;
    fake->argc = 0;
    fake->cmd = NULL;
    for (int i = 0; i < argc; i++) sdsfree(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "writing %s: %s", file, strerror(errno));
    close(fd);
    rdbLoadInfo info = {.keep_expired = size & 1};
    sds err = NULL;
    if (rdbLoadFile(file, &info, &err) == C_OK) {
        FUZZ_CHECK(info.version >= 1 && info.version <= RDB_VERSION, "version %d", info.version);
        FUZZ_CHECK(keysInStore() == info.keys_loaded, "%lld keys in the store, %lld loaded", keysInStore(),
                   info.keys_loaded);
        runCommand(1, (const char *[]){"FLUSHALL"});
        runCommand(2, (const char *[]){"FUNCTION", "FLUSH"});
    } else {
        FUZZ_CHECK(err != NULL, "a failed load without a reason");
        FUZZ_CHECK(keysInStore() == 0, "a failed load left %lld keys", keysInStore());
    }
    sdsfree(err);
    FUZZ_CHECK(keysInStore() == 0, "the store is not empty again");
    return 0;
}
