/* test_sha256.c - SHA-256 (sha256.c) against FIPS 180-4's and NIST's test
 * vectors, including inputs whose padding needs a second block. */
#include "unit.h"
#include "sha256.h"
#include <string.h>

static void assertDigest(const char *input, size_t len, const char *want) {
    char hex[65];
    sha256Hex((const unsigned char *)input, len, hex);
    ck_assert_str_eq(hex, want);
}

START_TEST(test_known_vectors) {
    assertDigest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assertDigest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the length no longer fits the first block */
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assertDigest(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(test_long_input) {
    static char million[1000000];
    memset(million, 'a', sizeof(million));
    assertDigest(million, sizeof(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* 64 and 63 bytes: a block boundary on each side */
    assertDigest(million, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    assertDigest(million, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
}
END_TEST

Suite *sha256_suite(void) {
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_known_vectors);
    tcase_add_test(tc, test_long_input);
    suite_add_tcase(s, tc);
    return s;
}
