/* test_client_limits.c - protected mode's decision: who is local, as
 * Redis's islocalClient() decides it. (The integration tests refuse a
 * client from 127.0.0.2; this covers the addresses they cannot use.) */
#include "unit.h"
#include "server.h"
#include <sys/socket.h>

START_TEST(test_loopback_peers) {
    ck_assert(isLoopbackPeer(AF_INET, "127.0.0.1"));
    ck_assert(isLoopbackPeer(AF_INET6, "::1"));
    ck_assert(isLoopbackPeer(AF_UNIX, ""));
    ck_assert(!isLoopbackPeer(AF_INET, "127.0.0.2"));
    ck_assert(!isLoopbackPeer(AF_INET, "10.0.0.5"));
    ck_assert(!isLoopbackPeer(AF_INET6, "::ffff:127.0.0.1"));
    ck_assert(!isLoopbackPeer(AF_INET6, "fd00::2"));
}
END_TEST

START_TEST(test_protected_mode_decision) {
    /* protected mode, password, family, address */
    ck_assert(protectedModeDenies(1, 0, AF_INET, "192.0.2.7"));
    ck_assert(protectedModeDenies(1, 0, AF_INET6, "2001:db8::1"));
    ck_assert(!protectedModeDenies(1, 0, AF_INET, "127.0.0.1"));
    ck_assert(!protectedModeDenies(1, 0, AF_UNIX, ""));
    ck_assert(!protectedModeDenies(1, 1, AF_INET, "192.0.2.7"));
    ck_assert(!protectedModeDenies(0, 0, AF_INET, "192.0.2.7"));
}
END_TEST

Suite *client_limits_suite(void) {
    Suite *s = suite_create("client_limits");
    TCase *tc = tcase_create("protected mode");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_loopback_peers);
    tcase_add_test(tc, test_protected_mode_decision);
    suite_add_tcase(s, tc);
    return s;
}
