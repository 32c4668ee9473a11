/* test_store.c - the store (store.h) on a tree of its own under /tmp:
 * what the active expiry scan treats as due. */
#include "unit.h"
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

Suite *store_suite(void) {
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("expire");
    tcase_add_test(tc, test_expire_scan_due_only_past_the_millisecond);
    suite_add_tcase(s, tc);
    return s;
}
