/* test_store.c - the store (store.h) on a tree of its own under /tmp:
 * what the active expiry scan treats as due; keys' last access times. */
#include "unit.h"
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

static int visited;

static void countVisit(int db, const char *name, size_t len, long long when) {
    (void)db;
    (void)name;
    (void)len;
    (void)when;
    visited++;
}

/* A key whose expiry is the scan's very millisecond is not expired yet (as
 * keyIsExpired() judges it): its index entry must stay for a later scan,
 * or the key would never be expired by the cycle. */
START_TEST(test_expire_scan_due_only_past_the_millisecond) {
    char dir[] = "/tmp/dredis-unit-store-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *err = NULL;
    ck_assert_int_eq(storeInit(dir, 16, &err), STORE_OK);
    skey *k;
    storeTxnBegin();
    ck_assert_int_eq(storeNewKey(0, "k", 1, OBJ_STRING, &k), STORE_OK);
    ck_assert_int_eq(storeWriteFile(k, "value", "v", 1), STORE_OK);
    ck_assert_int_eq(storeSetExpire(k, 5000), STORE_OK);
    ck_assert_int_eq(storePublishKey(k, NULL), STORE_OK);
    storeCloseKey(k);
    storeTxnEnd();
    ck_assert_int_eq(storeExpiresCount(0), 1);
    visited = 0;
    storeExpireScan(0, 4999, 100, countVisit);
    storeExpireScan(0, 5000, 100, countVisit);
    ck_assert_int_eq(visited, 0);
    ck_assert_int_eq(storeExpiresCount(0), 1);
    storeExpireScan(0, 5001, 100, countVisit);
    ck_assert_int_eq(visited, 1);
    ck_assert_int_eq(storeExpiresCount(0), 0);
    storeShutdown();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* file times come from the kernel's coarse clock: up to a tick behind */
#define FS_CLOCK_SLACK_MS 20

static long long nowMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void makeStringKey(const char *name) {
    skey *k;
    storeTxnBegin();
    ck_assert_int_eq(storeNewKey(0, name, strlen(name), OBJ_STRING, &k), STORE_OK);
    ck_assert_int_eq(storeWriteFile(k, "value", "v", 1), STORE_OK);
    ck_assert_int_eq(storePublishKey(k, NULL), STORE_OK);
    storeCloseKey(k);
    storeTxnEnd();
}

static long long lastAccessOf(const char *name) {
    skey *k;
    long long when = -1;
    ck_assert_int_eq(storeOpenKey(0, name, strlen(name), &k), STORE_OK);
    ck_assert_int_eq(storeKeyLastAccess(k, &when), STORE_OK);
    storeCloseKey(k);
    return when;
}

/* A recorded access is kept (in memory) across opens; a key the cache does
 * not know was last accessed when its directory last changed, and never
 * before the store opened; a whole-key change (a rename) forgets the
 * recorded time. */
START_TEST(test_last_access_times) {
    char dir[] = "/tmp/dredis-unit-store-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *err = NULL;
    ck_assert_int_eq(storeInit(dir, 16, &err), STORE_OK);
    makeStringKey("old");
    storeShutdown();
    usleep(50000);
    long long opened = nowMs();
    ck_assert_int_eq(storeInit(dir, 16, &err), STORE_OK);
    long long t = lastAccessOf("old"); /* written before this start */
    ck_assert(t >= opened && t <= nowMs());
    usleep(50000);
    long long before = nowMs();
    makeStringKey("k");
    t = lastAccessOf("k");
    ck_assert(t >= before - FS_CLOCK_SLACK_MS && t <= nowMs());
    skey *k;
    ck_assert_int_eq(storeOpenKey(0, "k", 1, &k), STORE_OK);
    storeKeyAccessed(k, 1234);
    storeCloseKey(k);
    ck_assert_int_eq(lastAccessOf("k"), 1234);
    usleep(50000);
    before = nowMs();
    ck_assert_int_eq(storeOpenKey(0, "k", 1, &k), STORE_OK);
    storeTxnBegin();
    ck_assert_int_eq(storeRenameKey(k, 0, "k2", 2), STORE_OK);
    storeTxnEnd();
    storeCloseKey(k);
    t = lastAccessOf("k2"); /* a rename changes the directory's ctime */
    ck_assert(t >= before - FS_CLOCK_SLACK_MS && t <= nowMs());
    storeShutdown();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *store_suite(void) {
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("expire");
    tcase_add_test(tc, test_expire_scan_due_only_past_the_millisecond);
    tcase_add_test(tc, test_last_access_times);
    suite_add_tcase(s, tc);
    return s;
}
