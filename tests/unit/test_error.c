/*
 * Errors carry a code as well as a sentence, and the code is what callers
 * decide on: each code has its own name, a prefix keeps the code, and a
 * failed transfer says "timeout" or "signal" once the run's time is up,
 * whatever libcurl reported.
 */
#include "tap.h"

#include <string.h>

#include "deadline.h"
#include "error.h"
#include "net.h"

static void
test_set_and_prefix(void **unused)
{
	struct mc_error err;

	(void)unused;
	memset(&err, 0, sizeof(err));
	assert_int_equal(error_set(&err, MC_ERR_LOCKED, "held by %d", 7), -1);
	assert_int_equal(err.code, MC_ERR_LOCKED);
	assert_string_equal(err.msg, "held by 7");
	assert_int_equal(error_prefix(&err, "state %s", "p1"), -1);
	assert_int_equal(err.code, MC_ERR_LOCKED);
	assert_string_equal(err.msg, "state p1: held by 7");
	/* NULL is allowed: the caller did not want the reason. */
	assert_int_equal(error_set(NULL, MC_ERR_NOMEM, "x"), -1);
	assert_int_equal(error_prefix(NULL, "x"), -1);
}

static void
test_names(void **unused)
{
	int i, j;

	(void)unused;
	for (i = 0; i <= MC_ERR_MAX; i++) {
		assert_non_null(error_code_name(i));
		for (j = 0; j < i; j++)
			assert_string_not_equal(error_code_name(i),
			    error_code_name(j));
	}
	assert_string_equal(error_code_name(MC_ERR_TIMEOUT), "timeout");
	assert_string_equal(error_code_name(MC_ERR_SIGNAL), "signal");
	assert_string_equal(error_code_name(MC_ERR_MAX + 1), "internal");
	assert_string_equal(error_code_name(-1), "internal");
}

static void
test_stopped(void **unused)
{
	struct mc_error err;

	(void)unused;
	error_set(&err, MC_ERR_TIMEOUT, "t");
	assert_true(error_stopped(&err));
	error_set(&err, MC_ERR_SIGNAL, "s");
	assert_true(error_stopped(&err));
	error_set(&err, MC_ERR_SERVER, "refused");
	assert_false(error_stopped(&err));
	error_set(&err, MC_ERR_NOMEM, "m");
	assert_false(error_stopped(&err));
}

static void
test_net_error(void **unused)
{
	struct net_trace t;
	struct mc_error err;

	(void)unused;
	memset(&t, 0, sizeof(t));
	t.step = "SMTP DATA";
	snprintf(t.host, sizeof(t.host), "127.0.0.1:25");
	deadline_start(60);
	net_error(&err, "SMTP", CURLE_COULDNT_CONNECT, &t, "");
	assert_int_equal(err.code, MC_ERR_SERVER);
	net_error(&err, "SMTP", CURLE_OUT_OF_MEMORY, &t, "");
	assert_int_equal(err.code, MC_ERR_NOMEM);
	net_error(&err, "SMTP", CURLE_OPERATION_TIMEDOUT, &t, "");
	assert_int_equal(err.code, MC_ERR_TIMEOUT);
	assert_non_null(strstr(err.msg, "timed out"));
	/* The budget spent: whatever libcurl says, the run ended it. */
	deadline_start(0);
	net_error(&err, "SMTP", CURLE_RECV_ERROR, &t, "");
	assert_int_equal(err.code, MC_ERR_TIMEOUT);
	deadline_start(60);
	deadline_signal = 1;
	net_error(&err, "SMTP", CURLE_ABORTED_BY_CALLBACK, &t, "");
	assert_int_equal(err.code, MC_ERR_SIGNAL);
	assert_non_null(strstr(err.msg, "terminated by a signal"));
	net_error(&err, "SMTP", CURLE_RECV_ERROR, &t, "");
	assert_int_equal(err.code, MC_ERR_SIGNAL);
	deadline_signal = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_and_prefix),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_stopped),
		cmocka_unit_test(test_net_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
