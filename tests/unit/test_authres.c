/*
 * Authentication-Results: the examples of RFC 8601 appendix B, comments
 * everywhere the grammar allows them, hostile values (bounded, never a
 * crash), which fields of a copy are trusted, and McAuthResult held
 * against the MIB text.
 */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "buf.h"
#include "evaluate.h"
#include "message.h"
#include "metrics.h"
#include "output.h"
#include "probe.h"
#include "state.h"

static void
parse_ok(const char *v, struct authres_field *f)
{
	if (authres_parse(v, f) != 0)
		fail_msg("did not parse: %s", v);
}

/* B.2: nothing was checked. */
static void
test_b2_none(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("example.org 1; none", &f);
	assert_string_equal(f.authserv_id, "example.org");
	assert_int_equal(f.version, 1);
	assert_true(f.none);
	assert_int_equal(f.n, 0);
}

/* B.3: one SPF result with a property. */
static void
test_b3_spf(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("example.com; spf=pass smtp.mailfrom=example.net", &f);
	assert_string_equal(f.authserv_id, "example.com");
	assert_int_equal(f.n, 1);
	assert_string_equal(f.r[0].method, "spf");
	assert_string_equal(f.r[0].result, "pass");
	assert_int_equal(f.r[0].nprops, 1);
	assert_string_equal(f.r[0].prop[0].ptype, "smtp");
	assert_string_equal(f.r[0].prop[0].property, "mailfrom");
	assert_string_equal(f.r[0].prop[0].value, "example.net");
}

/* B.4: several results, a comment after a result, folded lines. */
static void
test_b4_multiple(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("example.com;\r\n    auth=pass (cram-md5) "
	    "smtp.auth=sender@example.net;\r\n    spf=pass "
	    "smtp.mailfrom=example.net", &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.r[0].method, "auth");
	assert_string_equal(f.r[0].comment, "cram-md5");
	assert_string_equal(f.r[0].prop[0].value, "sender@example.net");
	assert_string_equal(f.r[1].method, "spf");
	parse_ok("example.com; iprev=pass\r\n    policy.iprev=192.0.2.200",
	    &f);
	assert_string_equal(f.r[0].prop[0].ptype, "policy");
	assert_string_equal(f.r[0].prop[0].value, "192.0.2.200");
}

/* B.6: reason= with a quoted-string, two DKIM results. */
static void
test_b6_reason(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("example.com;\r\n    dkim=pass reason=\"good signature\"\r\n"
	    "      header.i=@mail-router.example.net;\r\n    dkim=fail "
	    "reason=\"bad signature\"\r\n      header.i=@newyork.example.com",
	    &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.r[0].reason, "good signature");
	assert_string_equal(f.r[0].prop[0].value, "@mail-router.example.net");
	assert_string_equal(f.r[1].result, "fail");
	assert_string_equal(f.r[1].reason, "bad signature");
}

/* B.7: comments and header.b. */
static void
test_b7_comments(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("mail-router.example.net;\r\n    dkim=pass (good signature) "
	    "header.d=newyork.example.com\r\n          header.b=oINEO8hg;\r\n"
	    "    dkim=fail (bad signature) header.d=mail-router.example.net\r\n"
	    "          header.b=EToRSuvU", &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.r[1].comment, "bad signature");
	assert_int_equal(f.r[1].nprops, 2);
	assert_string_equal(f.r[1].prop[1].property, "b");
	assert_string_equal(f.r[1].prop[1].value, "EToRSuvU");
}

/* CFWS wherever RFC 8601's grammar allows it (its section 2.2 example). */
static void
test_cfws_everywhere(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("foo.example.net (foobar) 1 (baz); dkim (Because I like it) "
	    "/ 1 (One yay) = (wait for it) fail policy (A dot can go here) . "
	    "(like that) expired (this surprised me) = (as I wasn't "
	    "expecting it) 1362471462", &f);
	assert_string_equal(f.authserv_id, "foo.example.net");
	assert_int_equal(f.version, 1);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.r[0].method, "dkim");
	assert_string_equal(f.r[0].result, "fail");
	assert_int_equal(f.r[0].nprops, 1);
	assert_string_equal(f.r[0].prop[0].ptype, "policy");
	assert_string_equal(f.r[0].prop[0].property, "expired");
	assert_string_equal(f.r[0].prop[0].value, "1362471462");
	/* Nested comments with quoted-pairs, and a quoted authserv-id. */
	parse_ok("\"mx.example.org\"; spf=softfail (a (nested \\) one) "
	    "here) smtp.mailfrom=\"odd user\"@example.org", &f);
	assert_string_equal(f.authserv_id, "mx.example.org");
	assert_string_equal(f.r[0].comment, "a (nested ) one) here");
	assert_string_equal(f.r[0].prop[0].value, "odd user@example.org");
}

/* What real filters write: OpenDKIM, OpenDMARC, Gmail. */
static void
test_real_world(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("mx.greylist.test; dkim=fail reason=\"signature verification "
	    "failed\" (1024-bit key; unprotected) header.d=corp.test "
	    "header.i=@corp.test header.a=rsa-sha256 header.s=canary "
	    "header.b=Xb1x2fGk", &f);
	assert_string_equal(f.r[0].reason, "signature verification failed");
	assert_string_equal(f.r[0].comment, "1024-bit key; unprotected");
	assert_int_equal(f.r[0].nprops, 5);
	parse_ok("mx.greylist.test; dmarc=pass (p=reject dis=none) "
	    "header.from=corp.test", &f);
	assert_string_equal(f.r[0].method, "dmarc");
	assert_string_equal(f.r[0].comment, "p=reject dis=none");
	parse_ok("mx.google.com;\r\n       dkim=pass header.i=@example.com "
	    "header.s=20230601 header.b=abc;\r\n       spf=pass (google.com: "
	    "domain of a@example.com designates 2607:f8b0::1 as permitted "
	    "sender) smtp.mailfrom=a@example.com;\r\n       dmarc=pass "
	    "(p=NONE sp=NONE dis=NONE) header.from=example.com", &f);
	assert_int_equal(f.n, 3);
	assert_string_equal(f.r[1].comment, "google.com: domain of "
	    "a@example.com designates 2607:f8b0::1 as permitted sender");
	/* Upper case words are folded; the method-version is read. */
	parse_ok("EXAMPLE.COM; DKIM/1=PASS HEADER.D=Example.COM", &f);
	assert_string_equal(f.r[0].method, "dkim");
	assert_string_equal(f.r[0].result, "pass");
	assert_string_equal(f.r[0].prop[0].value, "Example.COM");
}

/* One entry that does not read is skipped; the rest are kept. */
static void
test_skip_bad_entry(void **st)
{
	struct authres_field f;

	(void)st;
	parse_ok("mx.example; =pass; spf=; dkim pass; x.y=z; "
	    "spf=pass smtp.mailfrom; dkim=pass header.d=ok.example", &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.r[0].method, "dkim");
	assert_int_equal(f.skipped, 5);
	/* A ';' inside a quoted reason or a comment is no separator. */
	parse_ok("mx.example; spf=fail reason=\"a;b\" (c;d); dkim=pass", &f);
	assert_int_equal(f.n, 2);
	assert_string_equal(f.r[0].reason, "a;b");
	assert_string_equal(f.r[0].comment, "c;d");
}

static void
test_not_a_field(void **st)
{
	struct authres_field f;

	(void)st;
	assert_int_equal(authres_parse("", &f), -1);
	assert_int_equal(authres_parse("   (only a comment)", &f), -1);
	assert_int_equal(authres_parse("; spf=pass", &f), -1);
	assert_int_equal(authres_parse("example.com", &f), -1);
	assert_int_equal(authres_parse("example.com;", &f), -1);
	assert_int_equal(authres_parse("example.com spf=pass", &f), -1);
}

/* Hostile values: unterminated, deep, long, binary, many entries. */
static void
test_hostile(void **st)
{
	struct authres_field *f = malloc(sizeof(*f));
	size_t big = 1024 * 1024, i;
	char *s = malloc(big + 1);

	(void)st;
	assert_non_null(f);
	assert_non_null(s);
	assert_int_equal(authres_parse("a; spf=pass (unterminated", f), 0);
	assert_string_equal(f->r[0].comment, "unterminated");
	assert_int_equal(authres_parse("a; spf=pass reason=\"open", f), 0);
	assert_string_equal(f->r[0].reason, "open");
	assert_int_equal(authres_parse("\"", f), -1);
	assert_int_equal(authres_parse("a; spf=pass x.y=\"", f), 0);
	assert_int_equal(authres_parse("a; spf=pass (\\", f), 0);
	/* A million '(': skipped as one comment to the end. */
	memset(s, '(', big);
	s[big] = '\0';
	s[0] = 'a';
	s[1] = ';';
	assert_int_equal(authres_parse(s, f), -1);
	/* A million entries: 16 kept, the rest counted. */
	s[0] = 'a';
	for (i = 1; i + 9 <= big; i += 9)
		memcpy(s + i, "; spf=pas", 9);
	s[i] = '\0';
	assert_int_equal(authres_parse(s, f), 0);
	assert_int_equal(f->n, AUTHRES_RESINFO_MAX);
	assert_true(f->skipped > 100000);
	/* A word, reason and value far over their caps: cut, not overrun. */
	memset(s, 'x', big);
	memcpy(s, "a; ", 3);
	memcpy(s + 400000, "=pass reason=", 13);
	memcpy(s + 600000, " header.d=", 10);
	s[big] = '\0';
	assert_int_equal(authres_parse(s, f), 0);
	assert_int_equal(strlen(f->r[0].method), AUTHRES_WORD_MAX);
	assert_int_equal(strlen(f->r[0].reason), AUTHRES_VALUE_MAX);
	assert_int_equal(strlen(f->r[0].prop[0].value), AUTHRES_VALUE_MAX);
	/* Every byte value, as a field would never carry them. */
	for (i = 0; i < 255 * 4; i++)
		s[i] = (char)(1 + i % 255);
	s[i] = '\0';
	(void)authres_parse(s, f);
	/* More than AUTHRES_PROPS_MAX properties: kept up to the cap. */
	snprintf(s, big, "a; dkim=pass a.a=1 b.b=2 c.c=3 d.d=4 e.e=5 f.f=6 "
	    "g.g=7 h.h=8 i.i=9 j.j=10");
	assert_int_equal(authres_parse(s, f), 0);
	assert_int_equal(f->r[0].nprops, AUTHRES_PROPS_MAX);
	free(s);
	free(f);
}

static void
headers_of(const char *block, struct headers *h)
{
	struct mc_error err;

	if (headers_parse(block, strlen(block), h, &err) != 0)
		fail_msg("headers_parse: %s", err.msg);
}

/* The receiving server's fields only: another authserv-id is ignored. */
static void
test_read_trusted_only(void **st)
{
	struct headers *h = calloc(1, sizeof(*h));
	struct authres a;

	(void)st;
	assert_non_null(h);
	headers_of("Authentication-Results: forged.example; spf=fail; "
	    "dkim=fail; dmarc=fail\r\n"
	    "Authentication-Results: MX.Greylist.Test;\r\n"
	    " dkim=fail reason=\"signature verification failed\" "
	    "header.d=corp.test\r\n"
	    "Authentication-Results: mx.greylist.test; spf=pass "
	    "(sender is permitted) smtp.mailfrom=corp.test; dkim=pass\r\n"
	    "Authentication-Results: mx.greylist.test; dmarc=pass "
	    "header.from=corp.test\r\n"
	    "Received: from relay by mx.greylist.test; Tue, 1 Dec 2026 "
	    "01:00:00 +0000\r\n"
	    "Authentication-Results: mx.greylist.test; spf=fail\r\n"
	    "Subject: x\r\n\r\n", h);
	authres_read(h, "mx.greylist.test", &a);
	assert_true(a.checked);
	/* Two DKIM signatures: the one that passes counts. */
	assert_int_equal(a.result[AUTHRES_DKIM], AUTHRES_PASS);
	assert_int_equal(a.result[AUTHRES_SPF], AUTHRES_PASS);
	assert_string_equal(a.reason[AUTHRES_SPF], "sender is permitted");
	assert_int_equal(a.result[AUTHRES_DMARC], AUTHRES_PASS);
	assert_true(authres_all_pass(&a));
	/* Another authserv-id: only the forged field names it. */
	authres_read(h, "forged.example", &a);
	assert_int_equal(a.result[AUTHRES_SPF], AUTHRES_FAIL);
	authres_read(h, "elsewhere.example", &a);
	assert_true(a.checked);
	assert_int_equal(a.result[AUTHRES_SPF], AUTHRES_MISSING);
	assert_int_equal(a.result[AUTHRES_DKIM], AUTHRES_MISSING);
	/* None configured: nothing read at all. */
	authres_read(h, NULL, &a);
	assert_false(a.checked);
	assert_int_equal(a.result[AUTHRES_DKIM], AUTHRES_MISSING);
	authres_read(h, "", &a);
	assert_false(a.checked);
	headers_free(h);
	free(h);
}

/* Of results that do not pass, the first wins; a pass is never undone. */
static void
test_read_first_wins(void **st)
{
	struct headers *h = calloc(1, sizeof(*h));
	struct authres a;

	(void)st;
	assert_non_null(h);
	headers_of("Authentication-Results: mx.greylist.test;\r\n"
	    " dkim=fail reason=\"bad signature\" header.d=esp.test;\r\n"
	    " dkim=neutral reason=\"no key\" header.d=corp.test;\r\n"
	    " spf=pass; spf=fail; dmarc=none\r\n"
	    "Subject: x\r\n\r\n", h);
	authres_read(h, "mx.greylist.test", &a);
	assert_int_equal(a.result[AUTHRES_DKIM], AUTHRES_FAIL);
	assert_string_equal(a.reason[AUTHRES_DKIM], "bad signature");
	assert_int_equal(a.result[AUTHRES_SPF], AUTHRES_PASS);
	assert_int_equal(a.result[AUTHRES_DMARC], AUTHRES_NONE);
	assert_false(authres_all_pass(&a));
	headers_free(h);
	free(h);
}

/* Below the Received: field that ends the topmost run, nothing counts. */
static void
test_read_received_boundary(void **st)
{
	struct headers *h = calloc(1, sizeof(*h));
	struct authres a;

	(void)st;
	assert_non_null(h);
	headers_of("Received: from relay by mx.greylist.test; Tue, 1 Dec 2026 "
	    "01:00:00 +0000\r\n"
	    "Authentication-Results: mx.greylist.test; dkim=pass\r\n"
	    "Received: from client by exchange.corp.test; Tue, 1 Dec 2026 "
	    "00:59:59 +0000\r\n"
	    "Authentication-Results: mx.greylist.test; spf=pass; dmarc=pass\r\n"
	    "Subject: x\r\n\r\n", h);
	authres_read(h, "mx.greylist.test", &a);
	assert_int_equal(a.result[AUTHRES_DKIM], AUTHRES_PASS);
	assert_int_equal(a.result[AUTHRES_SPF], AUTHRES_MISSING);
	assert_int_equal(a.result[AUTHRES_DMARC], AUTHRES_MISSING);
	headers_free(h);
	free(h);
}

/* Result words: RFC 8601's, SPF's old hardfail, anything else unknown. */
static void
test_results(void **st)
{
	struct headers *h = calloc(1, sizeof(*h));
	struct authres a;
	int r;

	(void)st;
	assert_non_null(h);
	headers_of("Authentication-Results: m; spf=hardfail; dkim=weird; "
	    "dmarc=temperror\r\n\r\n", h);
	authres_read(h, "m", &a);
	assert_int_equal(a.result[AUTHRES_SPF], AUTHRES_FAIL);
	assert_int_equal(a.result[AUTHRES_DKIM], AUTHRES_UNKNOWN);
	assert_int_equal(a.result[AUTHRES_DMARC], AUTHRES_TEMPERROR);
	for (r = AUTHRES_NONE; r <= AUTHRES_MISSING; r++)
		assert_int_equal(authres_result_parse(authres_result_name(r)),
		    r);
	assert_int_equal(authres_result_parse("bogus"), -1);
	assert_string_equal(authres_method_name(AUTHRES_DMARC), "dmarc");
	headers_free(h);
	free(h);
}

/* McAuthResult in the MIB: label(value) for every result, in order. */
static void
test_mib_enum(void **st)
{
	const char *top = getenv("top_srcdir");
	char path[1024], want[64], *buf, *p;
	FILE *fp;
	size_t n;
	int r;

	(void)st;
	snprintf(path, sizeof(path), "%s/mibs/MAILCANARY-MIB.txt",
	    top != NULL ? top : ".");
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(buf = calloc(1, 256 * 1024));
	n = fread(buf, 1, 256 * 1024 - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_non_null(p = strstr(buf, "McAuthResult ::= TEXTUAL-CONVENTION"));
	for (r = AUTHRES_NONE; r <= AUTHRES_MISSING; r++) {
		snprintf(want, sizeof(want), "%s(%d)", authres_result_name(r),
		    r);
		if (strstr(p, want) == NULL)
			fail_msg("McAuthResult has no %s", want);
	}
	free(buf);
}

/* A state with canary #1 delivered, its results as given. */
static void
delivered_with(struct state *st, int spf, int dkim, int dmarc,
    const char *why)
{
	struct canary *c;
	struct authres a;

	state_init(st);
	st->next_seq = 2;
	assert_non_null(c = state_add(st));
	assert_int_equal(canary_submitting(c, 1, "tok", "canary@x.test",
	    1000), 0);
	assert_int_equal(canary_submitted(st, c, "relay:25", "250 ok", "QID",
	    1001), 0);
	assert_int_equal(canary_deliver(st, c, 1010, NULL, 1012), 0);
	authres_init(&a);
	a.checked = 1;
	a.result[AUTHRES_SPF] = spf;
	a.result[AUTHRES_DKIM] = dkim;
	a.result[AUTHRES_DMARC] = dmarc;
	snprintf(a.reason[AUTHRES_DKIM], sizeof(a.reason[0]), "%s", why);
	canary_set_authres(st, c, &a);
}

/* require: WARNING naming the methods that did not pass; report: none. */
static void
test_evaluate_auth(void **unused)
{
	struct range w, c;
	struct state st;
	struct verdict v;
	char text[600];

	(void)unused;
	assert_int_equal(range_parse(&w, "1800", NULL), 0);
	assert_int_equal(range_parse(&c, "3600", NULL), 0);
	delivered_with(&st, AUTHRES_PASS, AUTHRES_FAIL, AUTHRES_MISSING,
	    "signature verification failed");
	assert_int_equal(st.count.auth_not_passed, 1);
	evaluate(&st, 1020, &w, &c, &v);
	evaluate_auth(&st, 0, &v);
	assert_int_equal(v.state, MC_OK);
	evaluate_auth(&st, 1, &v);
	assert_int_equal(v.state, MC_WARNING);
	assert_int_equal(v.r[v.n - 1].code, REASON_AUTH_RESULTS);
	assert_int_equal(v.r[v.n - 1].canary, 1);
	assert_int_equal(verdict_condition(&v), MC_COND_DELIVERED);
	output_reason(&st, &v.r[v.n - 1], 1020, text, sizeof(text));
	assert_string_equal(text, "canary #1 delivered but dkim=fail "
	    "(signature verification failed), dmarc=missing");
	state_clear(&st);
	/* All three pass: OK under require, nothing counted. */
	delivered_with(&st, AUTHRES_PASS, AUTHRES_PASS, AUTHRES_PASS, "");
	assert_int_equal(st.count.auth_not_passed, 0);
	evaluate(&st, 1020, &w, &c, &v);
	evaluate_auth(&st, 1, &v);
	assert_int_equal(v.state, MC_OK);
	/* Not read (no authserv_id): require has nothing to judge. */
	st.c[0].auth.checked = 0;
	evaluate(&st, 1020, &w, &c, &v);
	evaluate_auth(&st, 1, &v);
	assert_int_equal(v.state, MC_OK);
	state_clear(&st);
}

/* The results go to the state file and back; older files load. */
static void
test_state_roundtrip(void **unused)
{
	struct state st, back;
	char why[200], *data;
	const char *old = "{\"format_version\": 1, \"next_seq\": 2, "
	    "\"last_sent\": 1000, \"canaries\": [{\"seq\": 1, "
	    "\"token\": \"tok\", \"status\": \"delivered\"}]}";
	const char *bad[] = {
		"\"auth_results\": 1",
		"\"auth_results\": {\"dkim\": \"great\"}",
		"\"auth_results\": {\"dkim\": 2}",
		"\"auth_results\": {\"dkim_reason\": []}",
	};
	char buf[1024];
	size_t i;

	(void)unused;
	delivered_with(&st, AUTHRES_SOFTFAIL, AUTHRES_FAIL, AUTHRES_NONE,
	    "bad \"sig\"");
	assert_non_null(data = state_json_dump(&st));
	assert_int_equal(state_json_parse(data, strlen(data), &back, why,
	    sizeof(why)), 0);
	assert_true(back.c[0].auth.checked);
	assert_int_equal(back.c[0].auth.result[AUTHRES_SPF], AUTHRES_SOFTFAIL);
	assert_int_equal(back.c[0].auth.result[AUTHRES_DKIM], AUTHRES_FAIL);
	assert_int_equal(back.c[0].auth.result[AUTHRES_DMARC], AUTHRES_NONE);
	assert_string_equal(back.c[0].auth.reason[AUTHRES_DKIM],
	    "bad \"sig\"");
	assert_int_equal(back.count.auth_not_passed, 1);
	free(data);
	state_clear(&back);
	state_clear(&st);
	/* A state file from before: no results, nothing read. */
	if (state_json_parse(old, strlen(old), &back, why, sizeof(why)) != 0)
		fail_msg("old state: %s", why);
	assert_false(back.c[0].auth.checked);
	state_clear(&back);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"format_version\": 1, "
		    "\"next_seq\": 2, \"last_sent\": 1000, \"canaries\": "
		    "[{\"seq\": 1, \"token\": \"tok\", \"status\": "
		    "\"delivered\", %s}]}", bad[i]);
		assert_int_equal(state_json_parse(buf, strlen(buf), &back, why,
		    sizeof(why)), -1);
	}
}

/* Long output, perfdata and metrics of the newest delivery. */
static void
test_output_metrics(void **unused)
{
	struct probe_report rep;
	struct metrics_probe m;
	struct perfdata p;
	struct output_opts o = { "p", 0, "1800", "3600" };
	struct range w, c;
	struct buf b;
	char line[1024];
	size_t i;
	int seen = 0;

	(void)unused;
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(range_parse(&w, "1800", NULL), 0);
	assert_int_equal(range_parse(&c, "3600", NULL), 0);
	delivered_with(&rep.st, AUTHRES_PASS, AUTHRES_FAIL, AUTHRES_PASS,
	    "signature verification failed");
	rep.now = 1020;
	evaluate(&rep.st, rep.now, &w, &c, &rep.v);
	output_canary(&rep.st.c[0], rep.now, line, sizeof(line));
	assert_non_null(strstr(line, "delivered in 9.0s; spf=pass dkim=fail "
	    "(signature verification failed) dmarc=pass"));
	output_perfdata(&rep.st, &rep.v, &o, &p);
	for (i = 0; i < p.n; i++) {
		if (strcmp(p.item[i].label, "auth_pass") == 0) {
			assert_true(p.item[i].value == 2);
			seen |= 1;
		}
		if (strcmp(p.item[i].label, "auth_not_passed") == 0) {
			assert_true(p.item[i].value == 1);
			assert_string_equal(p.item[i].uom, "c");
			seen |= 2;
		}
	}
	assert_int_equal(seen, 3);
	metrics_from_report(&m, "p", &rep);
	buf_init(&b, 65536);
	assert_int_equal(metrics_render(&b, &m, 1, 0), 0);
	assert_non_null(strstr(b.data,
	    "mailcanary_auth_not_passed_total{probe=\"p\"} 1\n"));
	assert_non_null(strstr(b.data, "mailcanary_auth_result{probe=\"p\","
	    "method=\"dkim\",result=\"fail\"} 1\n"));
	assert_non_null(strstr(b.data, "mailcanary_auth_result{probe=\"p\","
	    "method=\"dkim\",result=\"pass\"} 0\n"));
	buf_free(&b);
	/* Not read: no auth_pass, and no per-method series. */
	rep.st.c[0].auth.checked = 0;
	rep.st.count.auth_not_passed = 0;
	output_perfdata(&rep.st, &rep.v, &o, &p);
	for (i = 0; i < p.n; i++)
		assert_null(strstr(p.item[i].label, "auth"));
	metrics_from_report(&m, "p", &rep);
	buf_init(&b, 65536);
	assert_int_equal(metrics_render(&b, &m, 1, 0), 0);
	assert_null(strstr(b.data, "mailcanary_auth_result{"));
	buf_free(&b);
	probe_report_clear(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b2_none),
		cmocka_unit_test(test_b3_spf),
		cmocka_unit_test(test_b4_multiple),
		cmocka_unit_test(test_b6_reason),
		cmocka_unit_test(test_b7_comments),
		cmocka_unit_test(test_cfws_everywhere),
		cmocka_unit_test(test_real_world),
		cmocka_unit_test(test_skip_bad_entry),
		cmocka_unit_test(test_not_a_field),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_read_trusted_only),
		cmocka_unit_test(test_read_first_wins),
		cmocka_unit_test(test_read_received_boundary),
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_mib_enum),
		cmocka_unit_test(test_evaluate_auth),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_output_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
