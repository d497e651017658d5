/* Replies of IMAP servers, good and hostile, and SMTP queue ids. */
#include "tap.h"

#include <string.h>

#include "mailbox.h"
#include "submit.h"

static void
test_status(void **unused)
{
	unsigned long v = 0, n = 0;

	(void)unused;
	assert_int_equal(mailbox_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "1763788800 UIDNEXT 5)\r\n", &v, &n), 0);
	assert_int_equal(v, 1763788800);
	assert_int_equal(n, 5);
	assert_int_equal(mailbox_parse_status("* STATUS \"A b\" (UIDNEXT 9 "
	    "UIDVALIDITY 3)\r\n", &v, &n), 0);
	assert_int_equal(v, 3);
	assert_int_equal(n, 9);
	assert_int_equal(mailbox_parse_status("", &v, &n), -1);
	assert_int_equal(mailbox_parse_status("* STATUS INBOX (UIDNEXT 5)",
	    &v, &n), -1);
	assert_int_equal(mailbox_parse_status("* STATUS INBOX (UIDVALIDITY x "
	    "UIDNEXT 5)", &v, &n), -1);
	assert_int_equal(mailbox_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "99999999999999999999999 UIDNEXT 5)", &v, &n), -1);
	assert_int_equal(mailbox_parse_status("* STATUS INBOX (UIDVALIDITY 0 "
	    "UIDNEXT 5)", &v, &n), -1);
}

static void
test_search(void **unused)
{
	unsigned long u[4];

	(void)unused;
	assert_int_equal(mailbox_parse_search("* SEARCH\r\n", u, 4), 0);
	assert_int_equal(mailbox_parse_search("* SEARCH 3 17 9\r\n", u, 4), 3);
	assert_int_equal(u[1], 17);
	/* More than fit: the first ones, the count capped. */
	assert_int_equal(mailbox_parse_search("* SEARCH 1 2 3 4 5 6", u, 4),
	    4);
	assert_int_equal(mailbox_parse_search("* SEARCH 1 x", u, 4), -1);
	assert_int_equal(mailbox_parse_search("* SEARCH 0", u, 4), -1);
	assert_int_equal(mailbox_parse_search("garbage", u, 4), -1);
}

static void
test_queue_id(void **unused)
{
	static const struct {
		const char *reply, *id;
	} cases[] = {
		{ "250 2.0.0 Ok: queued as 404E6A72667", "404E6A72667" },
		{ "250 OK id=1vB2xY-000abc-Qr", "1vB2xY-000abc-Qr" },
		{ "250 2.0.0 4AM5U1xx012345 Message accepted for delivery",
		    "4AM5U1xx012345" },
		{ "250 2.6.0 <abc@ex.corp> Queued mail for delivery",
		    "<abc@ex.corp>" },
		{ "250 Ok", "" },
		{ "", "" },
	};
	char out[128];
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		submit_queue_id(cases[i].reply, out, sizeof(out));
		assert_string_equal(out, cases[i].id);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_queue_id),
	};

	return RUN_TESTS(tests);
}
