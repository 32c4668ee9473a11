/* unit_tests.c - runs every Check suite of the pure modules. */
#include "unit.h"
#include <stdlib.h>

int main(void) {
    SRunner *sr = srunner_create(resp_suite());
    srunner_add_suite(sr, keyname_suite());
    srunner_add_suite(sr, util_suite());
    srunner_add_suite(sr, zset_index_suite());
    srunner_add_suite(sr, rdb_suite());
    srunner_add_suite(sr, notify_suite());
    srunner_add_suite(sr, store_suite());
    srunner_add_suite(sr, sha256_suite());
    srunner_add_suite(sr, syscalls_suite());
    srunner_add_suite(sr, geohash_suite());
    srunner_add_suite(sr, client_limits_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
