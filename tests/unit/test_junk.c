/*
 * Junk folders: parsing junk_folders, the folder URLs, the per-folder
 * cursors and the junk flag through the state file's JSON, the verdict
 * for a canary delivered to junk, and the config checks.
 */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "evaluate.h"
#include "junk.h"
#include "output.h"
#include "state.h"

static void
test_parse(void **unused)
{
	struct junk_list l;
	struct mc_error err;

	(void)unused;
	assert_int_equal(junk_list_parse("Junk, Spam", &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.name[0], "Junk");
	assert_string_equal(l.name[1], "Spam");
	junk_list_clear(&l);
	/* Blanks separate too; commas and blanks may be mixed. */
	assert_int_equal(junk_list_parse("  Junk Spam,,INBOX.Junk\t", &l,
	    &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[2], "INBOX.Junk");
	junk_list_clear(&l);
	/* A quoted name keeps its blanks and commas. */
	assert_int_equal(junk_list_parse("\"Junk E-mail\", \"a,b\" Spam", &l,
	    &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "Junk E-mail");
	assert_string_equal(l.name[1], "a,b");
	assert_string_equal(l.name[2], "Spam");
	junk_list_clear(&l);
	/* 8-bit names are taken as given (modified UTF-7 is the operator's). */
	assert_int_equal(junk_list_parse("Courrier&AOk-", NULL, &err), 0);
	/* Refused, each saying why. */
	assert_int_equal(junk_list_parse("", &l, &err), -1);
	assert_non_null(strstr(err.msg, "no folder"));
	assert_int_equal(junk_list_parse(" , ", NULL, &err), -1);
	assert_int_equal(junk_list_parse("\"Junk", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "closing quote"));
	assert_int_equal(junk_list_parse("\"\"", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(junk_list_parse("\"Junk\"x", NULL, &err), -1);
	assert_int_equal(junk_list_parse("Ju\\nk", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "backslashes"));
	assert_int_equal(junk_list_parse("Ju\"nk", NULL, &err), -1);
	assert_int_equal(junk_list_parse("Ju\x01nk", NULL, &err), -1);
	assert_int_equal(junk_list_parse("..", NULL, &err), -1);
	assert_non_null(strstr(err.msg, "path segment"));
	assert_int_equal(junk_list_parse("X/../INBOX", NULL, &err), -1);
	assert_int_equal(junk_list_parse("Junk/.", NULL, &err), -1);
	assert_int_equal(junk_list_parse("./Junk", NULL, &err), -1);
	assert_int_equal(junk_list_parse("INBOX.Junk, .Junk, Junk..",
	    NULL, &err), 0);
	assert_int_equal(junk_list_parse("Junk, Junk", &l, &err), -1);
	assert_non_null(strstr(err.msg, "twice"));
	assert_int_equal(l.n, 0);
	assert_int_equal(junk_list_parse("a b c d e f g h i j k l m n o p q",
	    NULL, &err), -1);
	assert_non_null(strstr(err.msg, "more than 16"));
	assert_int_equal(junk_list_parse("a b c d e f g h i j k l m n o p",
	    NULL, &err), 0);
}

static void
test_url(void **unused)
{
	struct mc_error err;
	char *u;

	(void)unused;
	u = junk_folder_url("imap://127.0.0.1:143/INBOX", "Spam", &err);
	assert_non_null(u);
	assert_string_equal(u, "imap://127.0.0.1:143/Spam");
	free(u);
	u = junk_folder_url("imaps://mail.example.test", "Junk E-mail", &err);
	assert_non_null(u);
	assert_string_equal(u, "imaps://mail.example.test/Junk%20E-mail");
	free(u);
	u = junk_folder_url("imap://h:1/INBOX", "INBOX/Junk", &err);
	assert_non_null(u);
	assert_string_equal(u, "imap://h:1/INBOX/Junk");
	free(u);
	u = junk_folder_url("imap://h:1/INBOX", "50%", &err);
	assert_non_null(u);
	assert_string_equal(u, "imap://h:1/50%25");
	free(u);
}

static struct canary *
add(struct state *st, unsigned long seq, int status)
{
	struct canary *c = state_add(st);

	assert_non_null(c);
	c->seq = seq;
	snprintf(c->token, sizeof(c->token), "%lu-1-aaaa", seq);
	c->status = status;
	c->sent_at = c->submitted_at = 1000 + seq;
	c->bounce_class = NDR_NOT_BOUNCE;
	st->next_seq = seq + 1;
	return c;
}

static void
test_roundtrip(void **unused)
{
	struct state st, back;
	struct canary *c;
	struct cursor *cur, *spam;
	char why[200], *text, *again;

	(void)unused;
	state_init(&st);
	c = add(&st, 1, CANARY_IN_FLIGHT);
	assert_int_equal(canary_junk(&st, c, "Spam"), -1);	/* in flight */
	c->status = CANARY_DELIVERED;
	assert_int_equal(canary_junk(&st, c, "Junk E-mail"), 0);
	assert_int_equal(canary_junk(&st, c, "Spam"), -1);	/* once */
	assert_int_equal(st.count.junk, 1);
	add(&st, 2, CANARY_DELIVERED);
	cur = junk_cursor(&st, "imap://h:1/Junk%20E-mail");
	assert_non_null(cur);
	cur->uidvalidity = 77;
	cur->last_uid = 5;
	assert_int_equal(cursor_add_pending(cur, "5"), 0);
	spam = junk_cursor(&st, "imap://h:1/Spam");
	assert_non_null(spam);
	spam->uidvalidity = 9;
	spam->last_uid = 2;
	/* The same URL, the same cursor. */
	assert_ptr_equal(junk_cursor(&st, "imap://h:1/Spam"), spam);
	assert_int_equal(st.njunk, 2);

	text = state_json_dump(&st);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"junk_folder\": \"Junk E-mail\""));
	assert_non_null(strstr(text, "\"junk_mailboxes\""));
	assert_int_equal(state_json_parse(text, strlen(text), &back, why,
	    sizeof(why)), 0);
	assert_int_equal(back.count.junk, 1);
	assert_string_equal(back.c[0].junk_folder, "Junk E-mail");
	assert_null(back.c[1].junk_folder);
	assert_int_equal(back.njunk, 2);
	assert_string_equal(back.junk[0].url, "imap://h:1/Junk%20E-mail");
	assert_int_equal(back.junk[0].uidvalidity, 77);
	assert_int_equal(back.junk[0].last_uid, 5);
	assert_int_equal(back.junk[0].npending, 1);
	assert_int_equal(back.junk[1].uidvalidity, 9);
	again = state_json_dump(&back);
	assert_string_equal(text, again);
	free(again);

	/* A folder left out of the list takes its cursor, unless a
	 * deletion is pending there. */
	{
		char *keep[] = { (char *)"imap://h:1/Other" };

		junk_cursors_keep(&back, keep, 1);
		assert_int_equal(back.njunk, 1);
		assert_string_equal(back.junk[0].url,
		    "imap://h:1/Junk%20E-mail");
		back.junk[0].npending = 0;
		free(back.junk[0].pending[0]);
		junk_cursors_keep(&back, keep, 1);
		assert_int_equal(back.njunk, 0);
	}
	free(text);
	state_clear(&back);
	state_clear(&st);
}

/* A state file from before junk folders loads, and writes none back. */
static void
test_old_file(void **unused)
{
	static const char old[] = "{\"format_version\": 1, \"next_seq\": 3, "
	    "\"last_sent\": 1002, \"counters\": {\"sent\": 2, \"delivered\": 2},"
	    " \"mailbox\": {\"url\": \"imap://h:1/INBOX\", \"uidvalidity\": 1,"
	    " \"last_uid\": 4, \"pending_delete\": []}, \"canaries\": [{\"seq\":"
	    " 2, \"token\": \"2-1-aa\", \"status\": \"delivered\", "
	    "\"latency\": 3}]}";
	static const char bad[] = "{\"format_version\": 1, \"next_seq\": 3, "
	    "\"junk_mailboxes\": [{\"uidvalidity\": 1}]}";
	static const char bad2[] = "{\"format_version\": 1, \"next_seq\": 3, "
	    "\"canaries\": [{\"seq\": 2, \"token\": \"2-1-aa\", \"status\": "
	    "\"delivered\", \"junk_folder\": 7}]}";
	struct state st;
	char why[200], *text;

	(void)unused;
	assert_int_equal(state_json_parse(old, strlen(old), &st, why,
	    sizeof(why)), 0);
	assert_int_equal(st.count.junk, 0);
	assert_int_equal(st.njunk, 0);
	assert_null(st.c[0].junk_folder);
	text = state_json_dump(&st);
	assert_null(strstr(text, "junk_mailboxes"));
	assert_null(strstr(text, "junk_folder"));
	free(text);
	state_clear(&st);
	/* A junk cursor without its URL, a folder that is no string. */
	assert_int_equal(state_json_parse(bad, strlen(bad), &st, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "junk"));
	assert_int_equal(state_json_parse(bad2, strlen(bad2), &st, why,
	    sizeof(why)), -1);
}

static void
test_verdict(void **unused)
{
	struct range w, cr;
	struct mc_error err;
	struct state st;
	struct verdict v;
	struct canary *c;
	char text[400];

	(void)unused;
	range_parse(&w, "1800", &err);
	range_parse(&cr, "3600", &err);
	state_init(&st);
	c = add(&st, 12, CANARY_DELIVERED);
	c->latency = 14;
	c->resolved_at = 2000;
	canary_junk(&st, c, "Spam");
	evaluate(&st, 3000, &w, &cr, &v);
	evaluate_junk(&st, MC_WARNING, &v);
	assert_int_equal(v.state, MC_WARNING);
	assert_int_equal(v.r[v.n - 1].code, REASON_JUNK);
	output_reason(&st, &v.r[v.n - 1], 3000, text, sizeof(text));
	assert_string_equal(text, "delivered to Junk: canary #12 in Spam "
	    "after 14s");
	assert_string_equal(reason_name(REASON_JUNK), "junk");
	evaluate(&st, 3000, &w, &cr, &v);
	evaluate_junk(&st, MC_OK, &v);
	assert_int_equal(v.state, MC_OK);
	evaluate(&st, 3000, &w, &cr, &v);
	evaluate_junk(&st, MC_CRITICAL, &v);
	assert_int_equal(v.state, MC_CRITICAL);
	/* A later canary in the inbox clears it. */
	c = add(&st, 13, CANARY_DELIVERED);
	c->latency = 5;
	c->resolved_at = 2100;
	evaluate(&st, 3000, &w, &cr, &v);
	evaluate_junk(&st, MC_CRITICAL, &v);
	assert_int_equal(v.state, MC_OK);
	state_clear(&st);
}

static void
test_config(void **unused)
{
	struct config cfg;
	struct mc_error err;

	(void)unused;
	config_init(&cfg);
	assert_null(cfg.junk_folders);
	assert_int_equal(cfg.junk, MC_WARNING);
	assert_int_equal(config_set(&cfg, "junk", "ok", &err), 0);
	assert_int_equal(cfg.junk, MC_OK);
	assert_int_equal(config_set(&cfg, "junk", "critical", &err), 0);
	assert_int_equal(cfg.junk, MC_CRITICAL);
	assert_int_equal(config_set(&cfg, "junk", "unknown", &err), -1);
	assert_non_null(strstr(err.msg, "ok, warning or critical"));
	assert_int_equal(config_set(&cfg, "no_send", "on", &err), 0);
	assert_int_equal(config_set(&cfg, "mailbox",
	    "pop3://127.0.0.1:110", &err), 0);
	assert_int_equal(config_set(&cfg, "junk_folders", "Junk", &err), 0);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "POP3 has no folders"));
	assert_int_equal(config_set(&cfg, "mailbox",
	    "imap://127.0.0.1:143/INBOX", &err), 0);
	assert_int_equal(config_finish(&cfg, &err), 0);
	/* The mailbox's own folder is no junk folder. */
	assert_int_equal(config_set(&cfg, "junk_folders", "Junk inbox",
	    &err), 0);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "'inbox' is the test mailbox's own"));
	assert_int_equal(config_set(&cfg, "mailbox",
	    "imap://127.0.0.1:143/Canaries%20In", &err), 0);
	assert_int_equal(config_set(&cfg, "junk_folders", "\"Canaries In\"",
	    &err), 0);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_int_equal(config_set(&cfg, "junk_folders", "INBOX", &err), 0);
	assert_int_equal(config_finish(&cfg, &err), 0);
	assert_int_equal(config_set(&cfg, "mailbox",
	    "imap://127.0.0.1:143", &err), 0);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_int_equal(config_set(&cfg, "junk_folders", "Ju\\nk", &err),
	    0);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "junk_folders"));
	config_clear(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_old_file),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_config),
	};

	return RUN_TESTS(tests);
}
