/*
 * The verdict rules of DESIGN.md as a table: each row is a probe's
 * canaries at `now` and the verdict they must give.
 */
#include "tap.h"

#include <stdio.h>
#include <string.h>

#include "evaluate.h"

#define NOW	100000.0
#define X	-1	/* unused field */

#define IF	CANARY_IN_FLIGHT
#define DL	CANARY_DELIVERED
#define BO	CANARY_BOUNCED
#define HI	CANARY_HIDDEN
#define LA	CANARY_LATE
#define SF	CANARY_SUBMIT_FAILED

struct row_canary {
	unsigned long	 seq;
	enum canary_status status;
	double		 age;		/* now - submitted_at */
	double		 resolved_ago;	/* now - resolved_at */
	double		 latency;
	const char	*bounce_class;
	int		 delayed;
};

struct row {
	const char		*name;
	struct row_canary	 c[5];
	int			 state;
	long			 outcome_seq;	/* -1: no outcome */
	int			 codes[4];	/* reason codes, -1 ends */
};

static const struct row rows[] = {
	{ "no canary at all", { { 0 } }, MC_UNKNOWN, -1,
	    { REASON_NONE, -1 } },
	{ "first canary in flight", { { 1, IF, 10, X, X, NULL, 0 } }, MC_OK,
	    -1, { REASON_PENDING, -1 } },
	{ "in flight past warning", { { 1, IF, 2000, X, X, NULL, 0 } },
	    MC_WARNING, -1, { REASON_PENDING, REASON_OVERDUE, -1 } },
	{ "in flight past critical", { { 1, IF, 4000, X, X, NULL, 0 } },
	    MC_CRITICAL, -1, { REASON_PENDING, REASON_OVERDUE, -1 } },
	{ "delivered in time", { { 1, DL, 100, 50, 12, NULL, 0 } }, MC_OK, 1,
	    { REASON_DELIVERED, -1 } },
	{ "delivered slow: warning", { { 1, DL, 3000, 50, 2000, NULL, 0 } },
	    MC_WARNING, 1, { REASON_SLOW, -1 } },
	{ "delivered slow: critical", { { 1, DL, 5000, 50, 4000, NULL, 0 } },
	    MC_CRITICAL, 1, { REASON_SLOW, -1 } },
	{ "hidden", { { 1, HI, 8000, 10, X, NULL, 0 } }, MC_CRITICAL, 1,
	    { REASON_HIDDEN, -1 } },
	{ "hidden, then a later canary delivered: clears",
	    { { 1, HI, 9000, 100, X, NULL, 0 }, { 2, DL, 200, 50, 12, NULL,
	    0 } }, MC_OK, 2, { REASON_DELIVERED, -1 } },
	{ "newer delivered first, older found hidden after: alert",
	    { { 1, HI, 9000, 10, X, NULL, 0 }, { 2, DL, 5000, 4900, 12, NULL,
	    0 } }, MC_CRITICAL, 1, { REASON_HIDDEN, -1 } },
	{ "bounced, then an OLDER canary delivered: does not clear",
	    { { 1, DL, 1000, 10, 900, NULL, 0 }, { 2, BO, 500, 400, X,
	    "permanent", 0 } }, MC_CRITICAL, 2, { REASON_BOUNCED, -1 } },
	{ "bogus NDR", { { 1, BO, 60, 50, X, "transient_as_permanent",
	    0 } }, MC_CRITICAL, 1, { REASON_BOGUS_BOUNCE, -1 } },
	{ "today's bogus NDR does not hide behind yesterday's success",
	    { { 1, DL, 86400, 86000, 8, NULL, 0 }, { 2, BO, 60, 50, X,
	    "transient_as_permanent", 0 } }, MC_CRITICAL, 2,
	    { REASON_BOGUS_BOUNCE, -1 } },
	{ "submit failed", { { 1, SF, 5, 5, X, NULL, 0 } }, MC_CRITICAL, 1,
	    { REASON_SUBMIT_FAILED, -1 } },
	{ "submit failed, later delivered: clears",
	    { { 1, SF, 600, 600, X, NULL, 0 }, { 2, DL, 300, 280, 15, NULL,
	    0 } }, MC_OK, 2, { REASON_DELIVERED, -1 } },
	{ "problem stays while the next canary is only in flight",
	    { { 1, HI, 9000, 100, X, NULL, 0 }, { 2, IF, 30, X, X, NULL,
	    0 } }, MC_CRITICAL, 1, { REASON_HIDDEN, -1 } },
	{ "old hidden canary turning up late does not undo a newer OK",
	    { { 1, LA, 9000, 5, 8990, NULL, 0 }, { 2, DL, 600, 500, 12, NULL,
	    0 } }, MC_OK, 2, { REASON_DELIVERED, -1 } },
	{ "late arrival as newest news: at least warning",
	    { { 1, LA, 9000, 5, 8990, NULL, 0 } }, MC_CRITICAL, 1,
	    { REASON_LATE, -1 } },
	{ "delay DSN while in flight: warning",
	    { { 1, DL, 900, 800, 10, NULL, 0 }, { 2, IF, 300, X, X, NULL,
	    1 } }, MC_WARNING, 1, { REASON_DELIVERED, REASON_DELAYED, -1 } },
	{ "delivered OK but the next one is overdue: critical",
	    { { 1, DL, 5000, 4900, 10, NULL, 0 }, { 2, IF, 3700, X, X, NULL,
	    0 } }, MC_CRITICAL, 1, { REASON_DELIVERED, REASON_OVERDUE, -1 } },
	{ "clock stepped back 60s: a canary sent 'in the future' is not "
	    "overdue", { { 1, DL, 900, 800, 10, NULL, 0 }, { 2, IF, -60, X, X,
	    NULL, 0 } }, MC_OK, 1, { REASON_DELIVERED, -1 } },
	{ "clock stepped back a day: still not overdue, nor hidden",
	    { { 1, IF, -86400, X, X, NULL, 0 } }, MC_OK, -1,
	    { REASON_PENDING, -1 } },
	{ "a slow delivery of a later canary replaces a hidden one",
	    { { 1, HI, 9000, 100, X, NULL, 0 }, { 2, DL, 2500, 50, 2400, NULL,
	    0 } }, MC_WARNING, 2, { REASON_SLOW, -1 } },
};

static void
build(const struct row *r, struct state *st, const struct range *w,
    const struct range *c)
{
	size_t i;

	(void)w; (void)c;
	state_init(st);
	for (i = 0; i < 5 && r->c[i].seq; i++) {
		struct canary *k = state_add(st);

		k->seq = r->c[i].seq;
		snprintf(k->token, sizeof(k->token), "%lu-0-x", k->seq);
		k->status = r->c[i].status;
		k->submitted_at = NOW - r->c[i].age;
		k->sent_at = k->submitted_at;
		if (r->c[i].status != IF)
			k->resolved_at = NOW - r->c[i].resolved_ago;
		if (r->c[i].status == HI)
			k->hidden_at = k->resolved_at;
		k->latency = r->c[i].latency;
		if (r->c[i].bounce_class)
			assert_int_equal(canary_bounce_class_parse(
			    r->c[i].bounce_class, &k->bounce_class), 0);
		k->delayed = r->c[i].delayed;
		st->next_seq = k->seq + 1;
	}
}

static void
test_table(void **unused)
{
	struct range w, c;
	struct state st;
	struct verdict v;
	size_t i, j;

	(void)unused;
	range_parse(&w, "1800", NULL);
	range_parse(&c, "3600", NULL);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		build(r, &st, &w, &c);
		evaluate(&st, NOW, &w, &c, &v);
		print_message("# %s\n", r->name);
		assert_int_equal(v.state, r->state);
		if (r->outcome_seq == -1)
			assert_int_equal(v.outcome, -1);
		else {
			assert_int_equal(v.outcome, r->outcome_seq);
			assert_non_null(state_find_seq(&st, v.outcome));
		}
		for (j = 0; r->codes[j] != -1; j++) {
			assert_true(j < v.n);
			assert_int_equal(v.r[j].code, r->codes[j]);
		}
		assert_int_equal(v.n, j);
		state_clear(&st);
	}
}

static void
test_advance_to_hidden(void **unused)
{
	struct state st;
	struct canary *c;

	(void)unused;
	state_init(&st);
	c = state_add(&st);
	c->seq = 1;
	c->status = IF;
	c->submitted_at = NOW - 7200;
	c = state_add(&st);
	c->seq = 2;
	c->status = IF;
	c->submitted_at = NOW - 7201;
	st.next_seq = 3;
	/* Exactly lost_after is still in flight; past it, hidden. */
	assert_int_equal(evaluate_advance(&st, NOW, 7200), 1);
	assert_int_equal(st.c[0].status, IF);
	assert_int_equal(st.c[1].status, HI);
	assert_true(st.c[1].resolved_at == NOW);
	assert_int_equal(st.count.hidden, 1);
	/* A canary sent "after now" (the clock went back) is not hidden. */
	c = state_add(&st);
	c->seq = 3;
	c->status = IF;
	c->submitted_at = NOW + 86400;
	assert_int_equal(evaluate_advance(&st, NOW, 7200), 0);
	assert_int_equal(st.c[2].status, IF);
	st.c[2].submitted_at = NOW;
	/* Advancing again does not count it twice. */
	assert_int_equal(evaluate_advance(&st, NOW, 7200), 0);
	assert_int_equal(st.count.hidden, 1);
	state_clear(&st);
}

/* The verdict names canaries by seq, so it still holds after a prune. */
static void
test_verdict_outlives_prune(void **unused)
{
	struct range w, c;
	struct state st;
	struct verdict v;
	struct canary *k;
	unsigned long seq, pin;

	(void)unused;
	assert_int_equal(range_parse(&w, "1800", NULL), 0);
	assert_int_equal(range_parse(&c, "3600", NULL), 0);
	state_init(&st);
	for (seq = 1; seq <= 10; seq++) {
		k = state_add(&st);
		k->seq = seq;
		k->status = seq == 3 ? HI : DL;
		k->submitted_at = k->sent_at = NOW - 1000 + (double)seq;
		/* #3 was found hidden last: it is the newest news. */
		k->resolved_at = seq == 3 ? NOW - 1 : NOW - 500 + (double)seq;
		k->hidden_at = k->resolved_at;
		k->latency = 10;
	}
	st.next_seq = 11;
	evaluate(&st, NOW, &w, &c, &v);
	assert_int_equal(v.outcome, 3);
	assert_int_equal(v.r[0].canary, 3);
	assert_int_equal(v.last_delivered, 10);
	/* Keep two resolved canaries; #3 is pinned. */
	pin = (unsigned long)v.outcome;
	state_prune(&st, 2, &pin, 1, NOW);
	assert_non_null(state_find_seq(&st, v.outcome));
	assert_int_equal(state_find_seq(&st, v.outcome)->status, HI);
	assert_non_null(state_find_seq(&st, v.last_delivered));
	assert_null(state_find_seq(&st, 1));
	assert_null(state_find_seq(&st, -1));
	state_clear(&st);
}

static void
test_worst(void **unused)
{
	(void)unused;
	assert_int_equal(mc_state_worst(MC_OK, MC_WARNING), MC_WARNING);
	assert_int_equal(mc_state_worst(MC_WARNING, MC_UNKNOWN), MC_UNKNOWN);
	assert_int_equal(mc_state_worst(MC_UNKNOWN, MC_CRITICAL), MC_CRITICAL);
	assert_int_equal(mc_state_worst(MC_CRITICAL, MC_UNKNOWN), MC_CRITICAL);
	assert_int_equal(mc_state_worst(MC_OK, MC_OK), MC_OK);
}

static void
test_run_errors(void **unused)
{
	struct range w, c;
	struct state st;
	struct verdict v;
	const struct row *hidden = &rows[7], *ok = &rows[4];

	(void)unused;
	range_parse(&w, "1800", NULL);
	range_parse(&c, "3600", NULL);
	/* Mailbox unreadable: UNKNOWN, but a known CRITICAL stays. */
	build(ok, &st, &w, &c);
	evaluate(&st, NOW, &w, &c, &v);
	verdict_add(&v, MC_UNKNOWN, REASON_MAILBOX_FAILED, -1, "x");
	assert_int_equal(v.state, MC_UNKNOWN);
	state_clear(&st);
	build(hidden, &st, &w, &c);
	evaluate(&st, NOW, &w, &c, &v);
	verdict_add(&v, MC_UNKNOWN, REASON_MAILBOX_FAILED, -1, "x");
	assert_int_equal(v.state, MC_CRITICAL);
	state_clear(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_advance_to_hidden),
		cmocka_unit_test(test_worst),
		cmocka_unit_test(test_verdict_outlives_prune),
		cmocka_unit_test(test_run_errors),
	};

	return RUN_TESTS(tests);
}
