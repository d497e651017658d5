/* Output: perfdata shape, the status line, sanitising, caps. */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "output.h"

/* The output of a probe configured as cfg. */
static int
print_cfg(FILE *fp, const struct config *cfg, const struct state *st,
    const struct verdict *v, double now)
{
	struct output_opts opts;

	config_output_opts(cfg, &opts);
	return output_print(fp, &opts, st, v, now);
}

static void
test_perf_format(void **unused)
{
	struct perfdata p;
	char out[128];

	(void)unused;
	memset(&p, 0, sizeof(p));
	perf_add(&p, "latency", 12.44, "s", "1800", "3600", 1, 1);
	perf_add(&p, "inflight", 2, "", NULL, NULL, 1, 0);
	perf_add(&p, "sent", 42, "c", NULL, NULL, 0, 0);
	perf_add(&p, "oldest_inflight", 7212, "s", "1800", "~:3600", 1, 0);
	perf_format(&p.item[0], out, sizeof(out));
	assert_string_equal(out, "latency=12.4s;1800;3600;0");
	perf_format(&p.item[1], out, sizeof(out));
	assert_string_equal(out, "inflight=2;;;0");
	perf_format(&p.item[2], out, sizeof(out));
	assert_string_equal(out, "sent=42c");
	perf_format(&p.item[3], out, sizeof(out));
	assert_string_equal(out, "oldest_inflight=7212s;1800;~:3600;0");
}

static void
test_duration(void **unused)
{
	char out[16];

	(void)unused;
	output_duration(4.26, out, sizeof(out));
	assert_string_equal(out, "4.3s");
	output_duration(45, out, sizeof(out));
	assert_string_equal(out, "45s");
	output_duration(7200, out, sizeof(out));
	assert_string_equal(out, "2.0h");
	output_duration(7199, out, sizeof(out));
	assert_string_equal(out, "120m");
	output_duration(-3, out, sizeof(out));
	assert_string_equal(out, "0.0s");
}

static struct config cfg;

static void
setup_cfg(void)
{
	config_init(&cfg);
	config_set(&cfg, "lost_after", "7200", NULL);
	strcpy(cfg.name, "exch");
}

static void
test_hidden_line(void **unused)
{
	struct state st;
	struct verdict v;
	struct canary *c;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	double now = 1795325409;

	(void)unused;
	setup_cfg();
	state_init(&st);
	c = state_add(&st);
	c->seq = 41;
	c->status = CANARY_HIDDEN;
	c->sent_at = c->submitted_at = now - 7212;
	c->hidden_at = c->resolved_at = now - 12;
	state_set_str(&c->via, "127.0.0.1:12525");
	/* A hostile reply: control characters and '|' must not get out. */
	state_set_str(&c->queue_id, "4F2A|x\r\ny");
	st.next_seq = 42;
	st.count.sent = 42;
	st.count.hidden = 1;
	evaluate(&st, now, &cfg.warning, &cfg.critical, &v);
	fp = open_memstream(&text, &len);
	assert_int_equal(print_cfg(fp, &cfg, &st, &v, now), MC_CRITICAL);
	fclose(fp);
	print_message("# %s", text);
	assert_int_equal(strncmp(text, "MAILCANARY CRITICAL - 1 canary hidden: "
	    "#41 sent ", 48), 0);
	assert_non_null(strstr(text, "via 127.0.0.1:12525 (queue id 4F2A/x  y)"
	    " neither arrived nor bounced in 2.0h | "));
	assert_non_null(strstr(text, " sent=42c "));
	assert_non_null(strstr(text, " hidden=1c "));
	assert_non_null(strstr(text, "\n#41 sent "));
	/* Exactly one '|' on the status line, none in the long output. */
	assert_int_equal(strchr(text, '|'), strrchr(text, '|'));
	free(text);
	state_clear(&st);
	config_clear(&cfg);
}

/* A clock stepped back is said once, and the age counts as 0. */
static void
test_clock_step(void **unused)
{
	struct state st;
	struct verdict v;
	struct canary *c;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;
	double now = 1795325409;

	(void)unused;
	setup_cfg();
	state_init(&st);
	c = state_add(&st);
	c->seq = 1;
	c->status = CANARY_IN_FLIGHT;
	c->sent_at = c->submitted_at = now + 60;
	st.next_seq = 2;
	evaluate(&st, now, &cfg.warning, &cfg.critical, &v);
	assert_int_equal(v.state, MC_OK);
	assert_int_equal(v.clock_steps, 1);
	assert_true(v.oldest_inflight == 0);
	fp = open_memstream(&text, &len);
	assert_int_equal(print_cfg(fp, &cfg, &st, &v, now), MC_OK);
	fclose(fp);
	print_message("# %s", text);
	assert_non_null(strstr(text, "\nclock step: the system clock is 60s "
	    "behind the sending time of 1 canary in flight; its age is "
	    "counted as 0\n"));
	assert_non_null(strstr(text, "oldest_inflight=0s;"));
	free(text);
	/* A time that cannot be a date is printed as epoch seconds. */
	st.c[0].sent_at = st.c[0].submitted_at = 1e300;
	evaluate(&st, now, &cfg.warning, &cfg.critical, &v);
	text = NULL;
	fp = open_memstream(&text, &len);
	print_cfg(fp, &cfg, &st, &v, now);
	fclose(fp);
	print_message("# %s", text);
	assert_non_null(strstr(text, "#1 sent @"));
	assert_null(strstr(text, "0.0s behind"));
	free(text);
	state_clear(&st);
	config_clear(&cfg);
}

static void
test_long_output_cap(void **unused)
{
	struct state st;
	struct verdict v;
	struct canary *c;
	char *text = NULL;
	size_t len = 0, i;
	FILE *fp;
	double now = 1795325409;

	(void)unused;
	setup_cfg();
	state_init(&st);
	for (i = 1; i <= 200; i++) {
		c = state_add(&st);
		c->seq = i;
		c->status = CANARY_SUBMIT_FAILED;
		c->sent_at = now - 10;
		c->resolved_at = now - 5;
		state_set_str(&c->error, "SMTP 127.0.0.1:1 failed at SMTP "
		    "connect: a long reason repeated to fill the output "
		    "well past every cap that Nagios has");
	}
	st.next_seq = 201;
	evaluate(&st, now, &cfg.warning, &cfg.critical, &v);
	fp = open_memstream(&text, &len);
	print_cfg(fp, &cfg, &st, &v, now);
	fclose(fp);
	assert_true(len < 4096);
	free(text);
	state_clear(&st);
	config_clear(&cfg);
}

/* handover= is the newest submission's, wherever its canary stands. */
static void
test_handover(void **unused)
{
	struct state st;
	struct verdict v;
	struct output_opts o;
	struct perfdata p;
	struct canary *c;
	char out[128], *text = NULL;
	size_t i, len = 0;
	FILE *fp;

	(void)unused;
	setup_cfg();
	config_output_opts(&cfg, &o);
	state_init(&st);
	evaluate(&st, 1, &cfg.warning, &cfg.critical, &v);
	output_perfdata(&st, &v, &o, &p);
	for (i = 0; i < p.n; i++)
		assert_string_not_equal(p.item[i].label, "handover");
	st.next_seq = 4;
	c = state_add(&st);
	c->seq = 1;
	strcpy(c->token, "1-abc-0123456789abcdef01234567");
	c->status = CANARY_DELIVERED;
	c->handover = 2.5;
	c = state_add(&st);
	c->seq = 2;
	strcpy(c->token, "2-abc-0123456789abcdef01234567");
	c->status = CANARY_IN_FLIGHT;
	c->handover = 0.0421;
	c = state_add(&st);
	c->seq = 3;
	strcpy(c->token, "3-abc-0123456789abcdef01234567");
	c->status = CANARY_SUBMIT_FAILED;	/* none measured */
	output_perfdata(&st, &v, &o, &p);
	for (i = 0; i < p.n; i++)
		if (strcmp(p.item[i].label, "handover") == 0)
			break;
	assert_true(i < p.n);
	perf_format(&p.item[i], out, sizeof(out));
	assert_string_equal(out, "handover=0.042s;;;0");
	cfg.output = OUTPUT_JSON;
	fp = open_memstream(&text, &len);
	print_cfg(fp, &cfg, &st, &v, 1);
	fclose(fp);
	assert_non_null(strstr(text, "\"text\":\"handover=0.042s;;;0\""));
	free(text);
	state_clear(&st);
	config_clear(&cfg);
}

static void
test_json(void **unused)
{
	struct state st;
	struct verdict v;
	struct mc_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	(void)unused;
	setup_cfg();
	cfg.output = OUTPUT_JSON;
	state_init(&st);
	evaluate(&st, 1, &cfg.warning, &cfg.critical, &v);
	fp = open_memstream(&text, &len);
	assert_int_equal(print_cfg(fp, &cfg, &st, &v, 1), MC_UNKNOWN);
	fclose(fp);
	assert_non_null(strstr(text, "\"verdict\":\"UNKNOWN\""));
	assert_non_null(strstr(text, "\"code\":\"none\""));
	assert_non_null(strstr(text, "\"perfdata\":["));
	free(text);
	fp = open_memstream(&text, &len);
	error_set(&err, MC_ERR_CONFIG, "bad \"input\"\n|x");
	output_error(fp, OUTPUT_JSON, MC_UNKNOWN, &err);
	fclose(fp);
	assert_non_null(strstr(text, "bad \\\"input\\\" /x"));
	assert_non_null(strstr(text, "\"code\":\"config\""));
	free(text);
	state_clear(&st);
	config_clear(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_format),
		cmocka_unit_test(test_handover),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_hidden_line),
		cmocka_unit_test(test_clock_step),
		cmocka_unit_test(test_long_output_cap),
		cmocka_unit_test(test_json),
	};

	return RUN_TESTS(tests);
}
