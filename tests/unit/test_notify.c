/* test_notify.c - keyspace notifications (notify.c): the class string <->
 * flags conversions as Redis 7.0 does them, and the channels and messages
 * notifyKeyspaceEvent() publishes. The server state and the Pub/Sub
 * publish are provided here: publishing is recorded, not delivered. */
#include "unit.h"
#include "server.h"
#include <string.h>

struct dredisServer server;

/* What notifyKeyspaceEvent() published: up to 4 (channel, message) pairs. */
static struct {
    sds channel, message;
} published[4];
static int npublished;

long long pubsubPublishMessage(const char *channel, size_t clen, const char *msg, size_t mlen) {
    ck_assert_int_lt(npublished, 4);
    published[npublished].channel = sdsnewlen(channel, clen);
    published[npublished].message = sdsnewlen(msg, mlen);
    npublished++;
    return 0;
}

static void resetPublished(void) {
    for (int i = 0; i < npublished; i++) {
        sdsfree(published[i].channel);
        sdsfree(published[i].message);
    }
    npublished = 0;
}

static void assertPublished(int i, const char *channel, size_t clen, const char *message, size_t mlen) {
    ck_assert_int_gt(npublished, i);
    ck_assert_msg(sdslen(published[i].channel) == clen && !memcmp(published[i].channel, channel, clen),
                  "channel %d is '%s'", i, published[i].channel);
    ck_assert_msg(sdslen(published[i].message) == mlen && !memcmp(published[i].message, message, mlen),
                  "message %d is '%s'", i, published[i].message);
}
#define ASSERT_PUBLISHED(i, ch, msg) assertPublished((i), (ch), sizeof(ch) - 1, (msg), sizeof(msg) - 1)

/* ---------------------------------------------------------------------------
 * keyspaceEventsStringToFlags */

START_TEST(test_string_to_flags_each_class) {
    static const struct {
        char c;
        int flag;
    } classes[] = {{'K', NOTIFY_KEYSPACE}, {'E', NOTIFY_KEYEVENT}, {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING},
                   {'l', NOTIFY_LIST},     {'s', NOTIFY_SET},      {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},
                   {'x', NOTIFY_EXPIRED},  {'e', NOTIFY_EVICTED},  {'t', NOTIFY_STREAM},  {'m', NOTIFY_KEY_MISS},
                   {'d', NOTIFY_MODULE},   {'n', NOTIFY_NEW},      {'A', NOTIFY_ALL}};
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        char s[2] = {classes[i].c, '\0'};
        ck_assert_int_eq(keyspaceEventsStringToFlags(s), classes[i].flag);
    }
    ck_assert_int_eq(keyspaceEventsStringToFlags(""), 0);
    ck_assert_int_eq(keyspaceEventsStringToFlags("KEA"), NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL);
    ck_assert_int_eq(keyspaceEventsStringToFlags("AAKK"), NOTIFY_KEYSPACE | NOTIFY_ALL);
    ck_assert_int_eq(keyspaceEventsStringToFlags("g$lshzxetd"), NOTIFY_ALL);
}
END_TEST

START_TEST(test_string_to_flags_all_excludes_new_and_keymiss) {
    int all = keyspaceEventsStringToFlags("A");
    ck_assert_int_eq(all & NOTIFY_NEW, 0);
    ck_assert_int_eq(all & NOTIFY_KEY_MISS, 0);
    ck_assert_int_eq(all & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT), 0);
    ck_assert_int_eq(keyspaceEventsStringToFlags("Anm"), NOTIFY_ALL | NOTIFY_NEW | NOTIFY_KEY_MISS);
}
END_TEST

START_TEST(test_string_to_flags_invalid) {
    static const char *bad[] = {"a", "k", "KEA!", "K E", " ", "M", "N", "1", "KEAx?", "\xff", "G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(keyspaceEventsStringToFlags(bad[i]) == -1, "'%s' should be refused", bad[i]);
}
END_TEST

/* ---------------------------------------------------------------------------
 * keyspaceEventsFlagsToString */

static void assertFlagsString(const char *in, const char *want) {
    int flags = keyspaceEventsStringToFlags(in);
    ck_assert_int_ge(flags, 0);
    sds s = keyspaceEventsFlagsToString(flags);
    ck_assert_msg(!strcmp(s, want), "'%s' shows as '%s', not '%s'", in, s, want);
    sdsfree(s);
}

START_TEST(test_flags_to_string_canonical) {
    /* each of these as Redis 7.0.15's CONFIG GET shows it */
    assertFlagsString("", "");
    assertFlagsString("KEA", "AKE");
    assertFlagsString("AKE", "AKE");
    assertFlagsString("KEAm", "AKEm");
    assertFlagsString("Ex", "xE");
    assertFlagsString("gn", "gn");
    assertFlagsString("nK", "nK");
    assertFlagsString("$lshzxetd", "$lshzxetd");
    assertFlagsString("g$lshzxetd", "A");
    assertFlagsString("dtexzhsl$g", "A");
    assertFlagsString("mEKnA", "AKEm");
    assertFlagsString("Km", "Km");
    assertFlagsString("Elg$", "g$lE");
    /* as Redis 7.0: 'n' is not shown next to A (yet stays set) */
    assertFlagsString("KEAn", "AKE");
    assertFlagsString("glshz$xetdnKEm", "AKEm");
    ck_assert_int_ne(keyspaceEventsStringToFlags("KEAn") & NOTIFY_NEW, 0);
}
END_TEST

START_TEST(test_flags_to_string_round_trip) {
    /* every combination of the letters but A: the string reads back as the
     * same flags (except n beside a complete A, which Redis drops) */
    static const char letters[] = "KEg$lshzxetmdn";
    int n = (int)strlen(letters);
    for (int mask = 0; mask < (1 << n); mask++) {
        char s[32];
        int len = 0;
        for (int i = 0; i < n; i++)
            if (mask & (1 << i)) s[len++] = letters[i];
        s[len] = '\0';
        int flags = keyspaceEventsStringToFlags(s);
        ck_assert_int_ge(flags, 0);
        sds back = keyspaceEventsFlagsToString(flags);
        int again = keyspaceEventsStringToFlags(back);
        int expect = (flags & NOTIFY_ALL) == NOTIFY_ALL ? flags & ~NOTIFY_NEW : flags;
        ck_assert_msg(again == expect, "'%s' -> '%s' -> %d, not %d", s, back, again, expect);
        sdsfree(back);
    }
}
END_TEST

/* ---------------------------------------------------------------------------
 * notifyKeyspaceEvent */

START_TEST(test_notify_publishes_keyspace_then_keyevent) {
    server.notify_keyspace_events = keyspaceEventsStringToFlags("KEA");
    sds key = sdsnew("mykey");
    notifyKeyspaceEvent(NOTIFY_LIST, "lpush", key, 0);
    ck_assert_int_eq(npublished, 2);
    ASSERT_PUBLISHED(0, "__keyspace@0__:mykey", "lpush");
    ASSERT_PUBLISHED(1, "__keyevent@0__:lpush", "mykey");
    resetPublished();
    notifyKeyspaceEvent(NOTIFY_GENERIC, "del", key, 15);
    ck_assert_int_eq(npublished, 2);
    ASSERT_PUBLISHED(0, "__keyspace@15__:mykey", "del");
    ASSERT_PUBLISHED(1, "__keyevent@15__:del", "mykey");
    resetPublished();
    sdsfree(key);
}
END_TEST

START_TEST(test_notify_channel_kinds) {
    sds key = sdsnew("k");
    server.notify_keyspace_events = keyspaceEventsStringToFlags("K$");
    notifyKeyspaceEvent(NOTIFY_STRING, "set", key, 3);
    ck_assert_int_eq(npublished, 1);
    ASSERT_PUBLISHED(0, "__keyspace@3__:k", "set");
    resetPublished();
    server.notify_keyspace_events = keyspaceEventsStringToFlags("E$");
    notifyKeyspaceEvent(NOTIFY_STRING, "set", key, 3);
    ck_assert_int_eq(npublished, 1);
    ASSERT_PUBLISHED(0, "__keyevent@3__:set", "k");
    resetPublished();
    sdsfree(key);
}
END_TEST

START_TEST(test_notify_class_filter) {
    sds key = sdsnew("k");
    static const char *off[] = {"", "KE", "KEl", "g$lshzxetd", "KEn", "KEm"};
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
        server.notify_keyspace_events = keyspaceEventsStringToFlags(off[i]);
        notifyKeyspaceEvent(NOTIFY_HASH, "hset", key, 0);
        ck_assert_msg(npublished == 0, "'%s' published an hset event", off[i]);
    }
    server.notify_keyspace_events = keyspaceEventsStringToFlags("KEA");
    notifyKeyspaceEvent(NOTIFY_NEW, "new", key, 0);
    notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", key, 0);
    ck_assert_int_eq(npublished, 0);
    server.notify_keyspace_events = keyspaceEventsStringToFlags("Enm");
    notifyKeyspaceEvent(NOTIFY_NEW, "new", key, 0);
    notifyKeyspaceEvent(NOTIFY_KEY_MISS, "keymiss", key, 0);
    ck_assert_int_eq(npublished, 2);
    ASSERT_PUBLISHED(0, "__keyevent@0__:new", "k");
    ASSERT_PUBLISHED(1, "__keyevent@0__:keymiss", "k");
    resetPublished();
    sdsfree(key);
}
END_TEST

START_TEST(test_notify_binary_key) {
    server.notify_keyspace_events = keyspaceEventsStringToFlags("KEg");
    notifyKeyspaceEventLen(NOTIFY_GENERIC, "expire", "a\0b", 3, 1);
    ck_assert_int_eq(npublished, 2);
    ASSERT_PUBLISHED(0, "__keyspace@1__:a\0b", "expire");
    ASSERT_PUBLISHED(1, "__keyevent@1__:expire", "a\0b");
    resetPublished();
}
END_TEST

Suite *notify_suite(void) {
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_string_to_flags_each_class);
    tcase_add_test(tc, test_string_to_flags_all_excludes_new_and_keymiss);
    tcase_add_test(tc, test_string_to_flags_invalid);
    tcase_add_test(tc, test_flags_to_string_canonical);
    tcase_add_test(tc, test_flags_to_string_round_trip);
    tcase_add_test(tc, test_notify_publishes_keyspace_then_keyevent);
    tcase_add_test(tc, test_notify_channel_kinds);
    tcase_add_test(tc, test_notify_class_filter);
    tcase_add_test(tc, test_notify_binary_key);
    suite_add_tcase(s, tc);
    return s;
}
