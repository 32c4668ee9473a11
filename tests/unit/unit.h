/* unit.h - the Check suites of the pure modules, and of the store on a
 * tree of its own. */
#ifndef DREDIS_UNIT_H
#define DREDIS_UNIT_H
#include <check.h>
Suite *resp_suite(void);
Suite *keyname_suite(void);
Suite *util_suite(void);
Suite *zset_index_suite(void);
Suite *rdb_suite(void);
Suite *notify_suite(void);
Suite *store_suite(void);
Suite *sha256_suite(void);
Suite *syscalls_suite(void);
Suite *geohash_suite(void);
Suite *client_limits_suite(void);
#endif
