/* Headers, dates, Received: chains and the canary itself. */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "token.h"

static void
test_headers(void **unused)
{
	static const char msg[] =
	    "Received: from relay (localhost [127.0.0.1])\r\n"
	    "\tby mx.greylist.test (Postfix) with ESMTP id AB12\r\n"
	    "\tfor <c@d>; Sun, 22 Nov 2026 05:30:09 +0000 (UTC)\r\n"
	    "Subject: hello\r\n"
	    "  world\r\n"
	    "X-Empty:\r\n"
	    "\r\n"
	    "Body: not a header\r\n";
	struct headers *h = malloc(sizeof(*h));

	(void)unused;
	assert_int_equal(headers_parse(msg, sizeof(msg) - 1, h, NULL), 0);
	assert_int_equal(h->n, 3);
	assert_string_equal(headers_get(h, "subject"), "hello  world");
	assert_string_equal(headers_get(h, "X-Empty"), "");
	assert_null(headers_get(h, "Body"));
	headers_free(h);
	/* Bare LF works the same. */
	assert_int_equal(headers_parse("A: 1\nB: 2\n\nC: 3\n", 16, h, NULL), 0);
	assert_int_equal(h->n, 2);
	headers_free(h);
	free(h);
}

static void
test_headers_hostile(void **unused)
{
	struct headers *h = malloc(sizeof(*h));
	struct mc_error err;
	char *big;
	size_t i;

	(void)unused;
	assert_int_equal(headers_parse(" folded first\r\n", 15, h, &err), -1);
	assert_int_equal(headers_parse("no colon here\r\n", 15, h, &err), -1);
	assert_int_equal(headers_parse(": empty name\r\n", 14, h, &err), -1);
	/* An endless field is a reported error, never a truncation. */
	big = malloc(MESSAGE_LINE_MAX * 2 + 10);
	memcpy(big, "X: ", 3);
	memset(big + 3, 'a', MESSAGE_LINE_MAX * 2);
	assert_int_equal(headers_parse(big, MESSAGE_LINE_MAX * 2 + 3, h, &err),
	    -1);
	assert_non_null(strstr(err.msg, "longer than"));
	/* Too many fields. */
	for (i = 0; i < MESSAGE_FIELDS_MAX + 1; i++)
		memcpy(big + i * 5, "A: 1\n", 5);
	assert_int_equal(headers_parse(big, (MESSAGE_FIELDS_MAX + 1) * 5, h,
	    &err), -1);
	assert_non_null(strstr(err.msg, "header fields"));
	/* NUL bytes do not cut a value short. */
	assert_int_equal(headers_parse("A: x\0y\n", 7, h, &err), 0);
	assert_string_equal(headers_get(h, "A"), "x y");
	headers_free(h);
	free(big);
	free(h);
}

static void
test_dates(void **unused)
{
	static const struct {
		const char	*text;
		long long	 epoch;	/* -1: must be refused */
	} cases[] = {
		{ "Sun, 22 Nov 2026 05:30:09 +0000", 1795325409 },
		{ "22 Nov 2026 05:30:09 +0000", 1795325409 },
		{ "Sun, 22 Nov 2026 06:30:09 +0100 (CET)", 1795325409 },
		{ "Sat, 21 Nov 2026 21:30:09 -0800", 1795325409 },
		{ "Sun, 22 Nov 2026 00:30:09 EST", 1795325409 },
		{ "Sun, 22 Nov 2026 05:30 GMT", 1795325400 },
		{ "Sun,  2 Nov 26 05:30:09 UT", 1793597409 },
		{ " (comment) 22 Nov 2026 05:30:09 +0000", 1795325409 },
		{ "32 Nov 2026 05:30:09 +0000", -1 },
		{ "22 Foo 2026 05:30:09 +0000", -1 },
		{ "22 Nov 2026 25:30:09 +0000", -1 },
		{ "22 Nov 2026 05:30:09 +00", -1 },
		{ "", -1 },
		{ "garbage", -1 },
	};
	time_t t;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s\n", cases[i].text);
		if (cases[i].epoch == -1)
			assert_int_equal(date_parse_rfc5322(cases[i].text, &t),
			    -1);
		else {
			assert_int_equal(date_parse_rfc5322(cases[i].text, &t),
			    0);
			assert_int_equal((long long)t, cases[i].epoch);
		}
	}
	assert_int_equal(date_parse_imap("22-Nov-2026 05:30:09 +0000", &t), 0);
	assert_int_equal((long long)t, 1795325409);
	assert_int_equal(date_parse_imap(" 2-Nov-2026 05:30:09 +0000", &t), 0);
	assert_int_equal(date_parse_imap("22-Nov-2026 05:30:09", &t), -1);
	assert_int_equal(date_parse_imap("22-Nov-2026 05:30:09 +0000x", &t),
	    -1);
}

static void
test_received(void **unused)
{
	static const char msg[] =
	    "X-Greylist: delayed 8 seconds by postgrey-1.37 at mx; "
	    "Sun, 22 Nov 2026 05:30:09 +0000\n"
	    "Received: from exchange.corp.test (localhost [127.0.0.1])\n"
	    " by mx.greylist.test (Postfix) with ESMTP id CF0D2;"
	    " Sun, 22 Nov 2026 05:30:09 +0000 (UTC)\n"
	    "Received: from client (localhost [127.0.0.1])\n"
	    " by exchange.corp.test (Postfix) with ESMTPS id ADA05;"
	    " Sun, 22 Nov 2026 05:30:01 +0000 (UTC)\n\n";
	struct headers *h = malloc(sizeof(*h));
	struct received_chain rc;

	(void)unused;
	assert_int_equal(headers_parse(msg, sizeof(msg) - 1, h, NULL), 0);
	received_parse(h, &rc);
	assert_int_equal(rc.n, 2);
	assert_string_equal(rc.hop[0].by, "exchange.corp.test");
	assert_string_equal(rc.hop[0].from, "client");
	assert_string_equal(rc.hop[1].by, "mx.greylist.test");
	assert_int_equal(rc.hop[1].at - rc.hop[0].at, 8);
	assert_true(rc.greylisted);
	assert_int_equal(rc.greylist_delay, 8);
	assert_string_equal(rc.greylist_source, "x-greylist");
	assert_string_equal(rc.greylist_at, "exchange.corp.test");
	headers_free(h);

	/* No X-Greylist: the dwell at the first hop tells. */
	assert_int_equal(headers_parse(strchr(msg, '\n') + 1,
	    strlen(strchr(msg, '\n') + 1), h, NULL), 0);
	received_parse(h, &rc);
	assert_true(rc.greylisted);
	assert_int_equal(rc.greylist_delay, 8);
	assert_string_equal(rc.greylist_source, "received");
	headers_free(h);
	free(h);
}

static void
test_compose(void **unused)
{
	struct token_key key = { { 0 } };
	char tok[TOKEN_MAX], rcpt[320];
	struct headers *h = malloc(sizeof(*h));
	struct mc_error err;
	struct buf b;

	(void)unused;
	token_make(&key, "exch", 3, 1795325409, tok);
	buf_init(&b, 65536);
	assert_int_equal(message_compose("exch", "probe@corp.test",
	    "canary@greylist.test", 1, tok, 1795325409, &b, rcpt,
	    sizeof(rcpt), &err), 0);
	assert_int_equal(strncmp(rcpt, "canary+", 7), 0);
	assert_non_null(strstr(rcpt, tok));
	assert_non_null(strstr(rcpt, "@greylist.test"));
	assert_int_equal(headers_parse(b.data, b.len, h, NULL), 0);
	assert_string_equal(headers_get(h, "X-Mailcanary-Token"), tok);
	assert_string_equal(headers_get(h, "X-Mailcanary-Probe"), "exch");
	assert_non_null(strstr(headers_get(h, "Message-ID"), tok));
	assert_non_null(strstr(headers_get(h, "Subject"), "mailcanary exch"));
	assert_non_null(headers_get(h, "Date"));
	assert_non_null(strstr(b.data, "\r\n\r\nThis is a mailcanary"));
	assert_non_null(strstr(b.data, "may be deleted"));
	headers_free(h);
	/* Injection through an address or the probe name is refused. */
	assert_int_equal(message_compose("exch", "a@b\r\nBcc: x@y",
	    "c@d", 0, tok, 0, &b, rcpt, sizeof(rcpt), &err), -1);
	assert_int_equal(message_compose("ex\nch", "a@b", "c@d", 0, tok, 0,
	    &b, rcpt, sizeof(rcpt), &err), -1);
	buf_free(&b);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_headers_hostile),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_compose),
	};

	return RUN_TESTS(tests);
}
