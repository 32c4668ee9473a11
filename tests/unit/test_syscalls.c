/* test_syscalls.c - the syscall seam and its fault injector (syscalls.c):
 * the table's entries can be replaced; NTH, AFTER and FRACTION fail exactly
 * the calls they name, with the chosen errno; only matching calls count; a
 * failed close still releases the descriptor; exempt threads are left alone;
 * bad specifications are refused. */
#include "unit.h"
#include "syscalls.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static int fakeCalls;
static int fakeFsync(int fd) {
    (void)fd;
    fakeCalls++;
    return 0;
}

static void armOrFail(const char *spec) {
    const char *err = NULL;
    ck_assert_msg(sysFaultArmSpec(spec, &err) == 0, "%s: %s", spec, err ? err : "");
}

START_TEST(test_table_entry_can_be_replaced) {
    int (*real)(int) = sysCalls.fsync;
    sysCalls.fsync = fakeFsync;
    fakeCalls = 0;
    ck_assert_int_eq(sysFsync(-1), 0);
    ck_assert_int_eq(fakeCalls, 1);
    sysCalls.fsync = real;
    ck_assert_int_eq(sysFsync(-1), -1); /* the real call: EBADF */
    ck_assert_int_eq(errno, EBADF);
}
END_TEST

START_TEST(test_nth_fails_one_call) {
    sysCalls.fsync = fakeFsync;
    fakeCalls = 0;
    armOrFail("fsync EDQUOT NTH 3");
    int results[5];
    for (int i = 0; i < 5; i++) results[i] = sysFsync(0);
    ck_assert_int_eq(results[0], 0);
    ck_assert_int_eq(results[1], 0);
    ck_assert_int_eq(results[2], -1);
    ck_assert_int_eq(results[3], 0);
    ck_assert_int_eq(results[4], 0);
    ck_assert_int_eq(fakeCalls, 4); /* the failed call never reached the table */
    ck_assert_int_eq(sysFaultFired(), 1);
    ck_assert_str_eq(sysFaultLastCall(), "fsync");
    sysFaultDisarm();
}
END_TEST

START_TEST(test_after_fails_every_later_call_and_errno_is_set) {
    sysCalls.fsync = fakeFsync;
    armOrFail("all EROFS AFTER 2");
    ck_assert_int_eq(sysFsync(0), 0);
    ck_assert_int_eq(sysFsync(0), 0);
    for (int i = 0; i < 3; i++) {
        errno = 0;
        ck_assert_int_eq(sysFsync(0), -1);
        ck_assert_int_eq(errno, EROFS);
    }
    sysFaultDisarm();
    ck_assert_int_eq(sysFsync(0), 0);
}
END_TEST

START_TEST(test_other_calls_do_not_match_nor_count) {
    sysCalls.fsync = fakeFsync;
    sysFaultSetCounting(1);
    armOrFail("syncfs EIO NTH 1");
    sysFaultResetCount();
    ck_assert_int_eq(sysFsync(0), 0); /* not a syncfs */
    ck_assert_int_eq(sysFaultCallCount(), 0);
    ck_assert_int_eq(sysFaultCallCountOf(SC_FSYNC), 1);
    sysFaultDisarm();
    sysFaultResetCount();
    ck_assert_int_eq(sysFsync(0), 0);
    ck_assert_int_eq(sysFaultCallCount(), 1); /* unarmed: every call counts */
    sysFaultSetCounting(0);
}
END_TEST

START_TEST(test_fraction_is_seeded) {
    sysCalls.fsync = fakeFsync;
    int first[64], second[64], failed = 0;
    armOrFail("all EIO FRACTION 0.5 SEED 42");
    for (int i = 0; i < 64; i++) failed += (first[i] = sysFsync(0)) < 0;
    armOrFail("all EIO FRACTION 0.5 SEED 42");
    for (int i = 0; i < 64; i++) second[i] = sysFsync(0);
    sysFaultDisarm();
    ck_assert_mem_eq(first, second, sizeof(first));
    ck_assert_int_gt(failed, 8);
    ck_assert_int_lt(failed, 56);
}
END_TEST

START_TEST(test_failed_close_releases_the_descriptor) {
    int fd = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    armOrFail("close EIO NTH 1");
    ck_assert_int_eq(sysClose(fd), -1);
    ck_assert_int_eq(errno, EIO);
    sysFaultDisarm();
    ck_assert_int_eq(fcntl(fd, F_GETFD), -1); /* closed anyway */
}
END_TEST

static void *exemptThreadMain(void *arg) {
    sysFaultExemptThread();
    *(int *)arg = sysFsync(0);
    return NULL;
}

START_TEST(test_exempt_thread_is_left_alone) {
    sysCalls.fsync = fakeFsync;
    armOrFail("all EIO AFTER 0");
    int r = -1;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, exemptThreadMain, &r), 0);
    pthread_join(t, NULL);
    ck_assert_int_eq(r, 0);
    ck_assert_int_eq(sysFsync(0), -1); /* this thread is not exempt */
    sysFaultDisarm();
}
END_TEST

START_TEST(test_bad_specifications_are_refused) {
    const char *bad[] = {"", "all", "all EIO", "nosuch EIO NTH 1", "all EWHAT NTH 1", "all EIO NTH 0",
                         "all EIO NTH x", "all EIO AFTER -1", "all EIO FRACTION 1.5", "all EIO FRACTION 0.5 SEED",
                         "all EIO FRACTION 0.5 SALT 1", "all EIO SOMETIMES 1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = NULL;
        ck_assert_msg(sysFaultArmSpec(bad[i], &err) == -1 && err, "accepted: '%s'", bad[i]);
    }
    ck_assert_int_eq(sysFaultArmed(), 0);
}
END_TEST

static void restoreTable(void) { sysCalls.fsync = fsync; }

Suite *syscalls_suite(void) {
    Suite *s = suite_create("syscalls");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, NULL, restoreTable);
    tcase_add_test(tc, test_table_entry_can_be_replaced);
    tcase_add_test(tc, test_nth_fails_one_call);
    tcase_add_test(tc, test_after_fails_every_later_call_and_errno_is_set);
    tcase_add_test(tc, test_other_calls_do_not_match_nor_count);
    tcase_add_test(tc, test_fraction_is_seeded);
    tcase_add_test(tc, test_failed_close_releases_the_descriptor);
    tcase_add_test(tc, test_exempt_thread_is_left_alone);
    tcase_add_test(tc, test_bad_specifications_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
