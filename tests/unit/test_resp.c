/* test_resp.c - placeholder replaced below */
#include "unit.h"
Suite *resp_suite(void) { return suite_create("resp"); }
