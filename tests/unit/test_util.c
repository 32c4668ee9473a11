/* test_util.c - placeholder replaced below */
#include "unit.h"
Suite *util_suite(void) { return suite_create("util"); }
