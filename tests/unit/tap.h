/*
 * tap.h - shared by the unit tests: cmocka with TAP output, so automake's
 * tap-driver counts every test case.
 */
#ifndef MC_TEST_TAP_H
#define MC_TEST_TAP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define RUN_TESTS(t) \
	(cmocka_set_message_output(CM_OUTPUT_TAP), \
	    cmocka_run_group_tests(t, NULL, NULL))

#endif
