/* test_keyname.c - placeholder replaced below */
#include "unit.h"
Suite *keyname_suite(void) { return suite_create("keyname"); }
