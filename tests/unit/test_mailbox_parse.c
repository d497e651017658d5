/* Replies of IMAP and POP3 servers, good and hostile, and SMTP queue ids. */
#include "tap.h"

#include <string.h>

#include "imap.h"
#include "mailbox.h"
#include "pop3.h"
#include "submit.h"

static void
test_status(void **unused)
{
	unsigned long v = 0, n = 0;

	(void)unused;
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "1763788800 UIDNEXT 5)\r\n", &v, &n), 0);
	assert_int_equal(v, 1763788800);
	assert_int_equal(n, 5);
	assert_int_equal(imap_parse_status("* STATUS \"A b\" (UIDNEXT 9 "
	    "UIDVALIDITY 3)\r\n", &v, &n), 0);
	assert_int_equal(v, 3);
	assert_int_equal(n, 9);
	assert_int_equal(imap_parse_status("", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDNEXT 5)",
	    &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY x "
	    "UIDNEXT 5)", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "99999999999999999999999 UIDNEXT 5)", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY 0 "
	    "UIDNEXT 5)", &v, &n), -1);
}

/* RFC 3501 2.3.1.1: UIDs, UIDVALIDITY and UIDNEXT are nz-number, 32 bits. */
static void
test_status_32bit(void **unused)
{
	unsigned long v = 0, n = 0;

	(void)unused;
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "4294967295 UIDNEXT 4294967295)\r\n", &v, &n), 0);
	assert_int_equal(v, 4294967295UL);
	assert_int_equal(n, 4294967295UL);
	/* The reply that once carried the cursor past every real UID. */
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY 7 "
	    "UIDNEXT 4294967296)\r\n", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "4294967296 UIDNEXT 5)\r\n", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY 7 "
	    "UIDNEXT 0)\r\n", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY 7 "
	    "UIDNEXT -5)\r\n", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY 7 "
	    "UIDNEXT 5x)\r\n", &v, &n), -1);
	/* Only keys of the STATUS list itself, never of a later line. */
	assert_int_equal(imap_parse_status("* STATUS INBOX (MESSAGES 3)\r\n"
	    "* OK [UIDVALIDITY 7] [UIDNEXT 9]\r\n", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS INBOX (XUIDNEXT 9 "
	    "UIDVALIDITY 7)\r\n", &v, &n), -1);
	assert_int_equal(imap_parse_status("* STATUS \"a (UIDNEXT 9)\" "
	    "(UIDVALIDITY 7 UIDNEXT 8)\r\n", &v, &n), 0);
	assert_int_equal(n, 8);
}

static void
test_search(void **unused)
{
	unsigned long u[4];

	(void)unused;
	assert_int_equal(imap_parse_search("* SEARCH\r\n", u, 4), 0);
	assert_int_equal(imap_parse_search("* SEARCH 3 17 9\r\n", u, 4), 3);
	assert_int_equal(u[1], 17);
	/* More than fit: refused, never some of them taken for all. */
	assert_int_equal(imap_parse_search("* SEARCH 1 2 3 4 5 6", u, 4),
	    -1);
	assert_int_equal(imap_parse_search("* SEARCH 1 2 3 4", u, 4), 4);
	assert_int_equal(imap_parse_search("* SEARCH 1 x", u, 4), -1);
	assert_int_equal(imap_parse_search("* SEARCH 0", u, 4), -1);
	assert_int_equal(imap_parse_search("garbage", u, 4), -1);
	/* 32 bits (RFC 3501 2.3.1.1), digits only. */
	assert_int_equal(imap_parse_search("* SEARCH 4294967295\r\n", u,
	    4), 1);
	assert_int_equal(u[0], 4294967295UL);
	assert_int_equal(imap_parse_search("* SEARCH 4294967296\r\n", u,
	    4), -1);
	assert_int_equal(imap_parse_search("* SEARCH 18446744073709551617",
	    u, 4), -1);
	assert_int_equal(imap_parse_search("* SEARCH 3 +4", u, 4), -1);
	assert_int_equal(imap_parse_search("* SEARCH 3 4x", u, 4), -1);
	assert_int_equal(imap_parse_search("* SEARCHX 3", u, 4), -1);
}

static void
test_fetch(void **unused)
{
	unsigned long size = 0;
	time_t at = 0;

	(void)unused;
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 INTERNALDATE "
	    "\"22-Nov-2026 05:30:01 +0000\" RFC822.SIZE 9437184)\r\n", 7,
	    &size, &at), 0);
	assert_int_equal(size, 9437184);
	assert_int_equal(at, 1795325401);
	/* Order free, FLAGS and unsolicited news of others skipped. */
	assert_int_equal(imap_parse_fetch("* 1 FETCH (FLAGS (\\Seen))\r\n"
	    "* 3 EXISTS\r\n* 2 FETCH (RFC822.SIZE 0 FLAGS (\\Seen \\Recent) "
	    "UID 7)\r\n", 7, &size, &at), 0);
	assert_int_equal(size, 0);
	assert_int_equal(at, 0);
	/* An unreadable date is no date, not an unreadable reply. */
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 INTERNALDATE "
	    "\"someday\" RFC822.SIZE 5)", 7, &size, &at), 0);
	assert_int_equal(at, 0);
	/* Nothing for UID 7: it is gone. */
	assert_int_equal(imap_parse_fetch("", 7, &size, &at), 1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 8 RFC822.SIZE "
	    "5)\r\n", 7, &size, &at), 1);
	/* Unreadable: no size, a size or UID past 32 bits, junk, literals. */
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 FLAGS ())", 7,
	    &size, &at), -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 RFC822.SIZE "
	    "4294967296)", 7, &size, &at), -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 4294967303 "
	    "RFC822.SIZE 5)", 7, &size, &at), -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 RFC822.SIZE "
	    "-1)", 7, &size, &at), -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 RFC822.SIZE 5",
	    7, &size, &at), -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 X {5}\r\n",
	    7, &size, &at), -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 INTERNALDATE "
	    "\"22-Nov", 7, &size, &at), -1);
}

static void
test_list(void **unused)
{
	unsigned long size = 0;

	(void)unused;
	assert_int_equal(pop3_parse_list("+OK 3 9437184", 3, &size), 0);
	assert_int_equal(size, 9437184);
	assert_int_equal(pop3_parse_list("+OK 3 120 octets", 3, &size), 0);
	assert_int_equal(size, 120);
	assert_int_equal(pop3_parse_list("+OK 4 120", 3, &size), -1);
	assert_int_equal(pop3_parse_list("-ERR no such message", 3, &size),
	    -1);
	assert_int_equal(pop3_parse_list("+OK 3", 3, &size), -1);
	assert_int_equal(pop3_parse_list("+OK 3 x", 3, &size), -1);
	assert_int_equal(pop3_parse_list("+OK 3 99999999999", 3, &size),
	    -1);
	assert_int_equal(pop3_parse_list("", 3, &size), -1);
}

/* The first names, which the fuzz target calls, still parse. */
static void
test_old_names(void **unused)
{
	unsigned long a = 0, b = 0, u[2];
	time_t at = 0;

	(void)unused;
	assert_int_equal(imap_parse_status("* STATUS INBOX (UIDVALIDITY "
	    "7 UIDNEXT 9)\r\n", &a, &b), 0);
	assert_int_equal(a, 7);
	assert_int_equal(b, 9);
	assert_int_equal(imap_parse_search("* SEARCH 3 4\r\n", u, 2), 2);
	assert_int_equal(imap_parse_search("* SEARCH 3 4 5\r\n", u, 2),
	    -1);
	assert_int_equal(imap_parse_fetch("* 2 FETCH (UID 7 RFC822.SIZE "
	    "120)\r\n", 7, &a, &at), 0);
	assert_int_equal(a, 120);
	assert_int_equal(imap_parse_fetch("", 7, &a, &at), 1);
	assert_int_equal(pop3_parse_list("+OK 3 99", 3, &a), 0);
	assert_int_equal(a, 99);
	assert_int_equal(pop3_parse_list("+OK 4 99", 3, &a), -1);
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
		cmocka_unit_test(test_status_32bit),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_fetch),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_old_names),
		cmocka_unit_test(test_queue_id),
	};

	return RUN_TESTS(tests);
}
