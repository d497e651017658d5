/* Threshold ranges: the Monitoring Plugins syntax, and junk refused. */
#include "tap.h"

#include "range.h"

static void
test_forms(void **unused)
{
	static const struct {
		const char	*text;
		double		 value;
		int		 alert;
	} cases[] = {
		{ "10", 5, 0 }, { "10", 10, 0 }, { "10", 10.1, 1 },
		{ "10", -1, 1 }, { "10:", 9.9, 1 }, { "10:", 10, 0 },
		{ "10:", 1e9, 0 }, { "~:10", -1e9, 0 }, { "~:10", 11, 1 },
		{ "10:20", 9, 1 }, { "10:20", 15, 0 }, { "10:20", 21, 1 },
		{ "@10:20", 15, 1 }, { "@10:20", 9, 0 }, { "@10:20", 21, 0 },
		{ "1800", 1800, 0 }, { "1800", 1800.5, 1 }, { "0.5", 0.6, 1 },
	};
	struct range r;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(range_parse(&r, cases[i].text, NULL), 0);
		assert_int_equal(range_alert(&r, cases[i].value),
		    cases[i].alert);
		assert_string_equal(r.text, cases[i].text);
	}
}

static void
test_junk(void **unused)
{
	static const char *bad[] = { "", "x", "10x", "10:x", "~", ":", "@",
	    "20:10", "1e3", "0x10", "inf", "nan", "10 ", " 10", "10::20",
	    "~:", "--1", "1:2:3" };
	struct mc_error err;
	struct range r;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		assert_int_equal(range_parse(&r, bad[i], &err), -1);
		assert_non_null(strstr(err.msg, "range"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_junk),
	};

	return RUN_TESTS(tests);
}
