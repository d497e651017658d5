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

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Temporary directories made with tap_tmpdir() are removed, with what is
 * in them, when the group of tests ends: the tests leave nothing in /tmp.
 */
#define TAP_DIRS_MAX	16
static char tap_dirs[TAP_DIRS_MAX][128];
static int tap_ndirs;

static inline int
tap_rm(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb; (void)flag; (void)f;
	return remove(p);
}

/* mkdtemp(tmpl), remembered for removal; NULL on failure. */
static inline char *
tap_tmpdir(char *tmpl)
{
	char *d = mkdtemp(tmpl);

	if (d != NULL && tap_ndirs < TAP_DIRS_MAX)
		snprintf(tap_dirs[tap_ndirs++], sizeof(tap_dirs[0]), "%s", d);
	return d;
}

static inline int
tap_cleanup(void **state)
{
	(void)state;
	while (tap_ndirs > 0)
		nftw(tap_dirs[--tap_ndirs], tap_rm, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}

#define RUN_TESTS(t) \
	(cmocka_set_message_output(CM_OUTPUT_TAP), \
	    cmocka_run_group_tests(t, NULL, tap_cleanup))

#endif
