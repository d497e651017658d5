/*
 * The canary lifecycle as a table: each row is a canary in one status,
 * one transition, and what must follow (the status, whether it was
 * allowed, and the counters it moves). A refused transition changes
 * nothing.
 */
#include "tap.h"

#include <stdio.h>
#include <string.h>

#include "canary.h"
#include "state.h"

#define NOW	100000.0
#define SENT	(NOW - 100.5)	/* when the canary left */

enum op {
	OP_SUBMITTED, OP_SUBMIT_FAILED, OP_ADOPT, OP_HIDE, OP_DELIVER,
	OP_LATE, OP_BOUNCE_PERMANENT, OP_BOUNCE_BOGUS, OP_BOUNCE_DELAYED,
	OP_DELAY
};

/* The counters a transition may move, in the order of struct state. */
struct counts {
	unsigned long	sent, delivered, bounced, hidden, late,
			submit_failed, bogus_ndr, delayed_dsn;
};

struct row {
	const char		*name;
	enum canary_status	 from;
	enum op			 op;
	int			 rc;
	enum canary_status	 to;
	struct counts		 delta;
};

#define SUB	CANARY_SUBMITTING
#define IF	CANARY_IN_FLIGHT
#define DL	CANARY_DELIVERED
#define BO	CANARY_BOUNCED
#define HI	CANARY_HIDDEN
#define LA	CANARY_LATE
#define SF	CANARY_SUBMIT_FAILED

static const struct row rows[] = {
	{ "submitted", SUB, OP_SUBMITTED, 0, IF, { .sent = 1 } },
	{ "submission failed", SUB, OP_SUBMIT_FAILED, 0, SF,
	    { .sent = 1, .submit_failed = 1 } },
	{ "a killed run's canary adopted", SUB, OP_ADOPT, 0, IF,
	    { .sent = 1 } },
	{ "in flight is not submitted twice", IF, OP_SUBMITTED, -1, IF,
	    { 0 } },
	{ "in flight is not adopted", IF, OP_ADOPT, -1, IF, { 0 } },
	{ "in flight found: delivered", IF, OP_DELIVER, 0, DL,
	    { .delivered = 1 } },
	{ "in flight is not late", IF, OP_LATE, -1, IF, { 0 } },
	{ "in flight hidden", IF, OP_HIDE, 0, HI, { .hidden = 1 } },
	{ "in flight bounced", IF, OP_BOUNCE_PERMANENT, 0, BO,
	    { .bounced = 1 } },
	{ "in flight bogus NDR", IF, OP_BOUNCE_BOGUS, 0, BO,
	    { .bounced = 1, .bogus_ndr = 1 } },
	{ "a delay report is not a bounce", IF, OP_BOUNCE_DELAYED, -1, IF,
	    { 0 } },
	{ "in flight delay notice: stays in flight", IF, OP_DELAY, 0, IF,
	    { .delayed_dsn = 1 } },
	{ "hidden found: late", HI, OP_LATE, 0, LA, { .late = 1 } },
	{ "hidden is not delivered", HI, OP_DELIVER, -1, HI, { 0 } },
	{ "hidden bounced after all", HI, OP_BOUNCE_PERMANENT, 0, BO,
	    { .bounced = 1 } },
	{ "hidden is not hidden twice", HI, OP_HIDE, -1, HI, { 0 } },
	{ "hidden delay notice: counted only", HI, OP_DELAY, -1, HI,
	    { .delayed_dsn = 1 } },
	{ "delivered is not bounced", DL, OP_BOUNCE_PERMANENT, -1, DL,
	    { 0 } },
	{ "delivered is not found twice", DL, OP_DELIVER, -1, DL, { 0 } },
	{ "delivered is not hidden", DL, OP_HIDE, -1, DL, { 0 } },
	{ "bounced is not bounced twice", BO, OP_BOUNCE_BOGUS, -1, BO,
	    { 0 } },
	{ "late is not found twice", LA, OP_LATE, -1, LA, { 0 } },
	{ "submit failed is not found", SF, OP_DELIVER, -1, SF, { 0 } },
	{ "submit failed is not hidden", SF, OP_HIDE, -1, SF, { 0 } },
	{ "submitting is not hidden", SUB, OP_HIDE, -1, SUB, { 0 } },
	{ "submitting is not found", SUB, OP_DELIVER, -1, SUB, { 0 } },
};

static void
counts_of(const struct state *st, struct counts *k)
{
	k->sent = st->count.sent;
	k->delivered = st->count.delivered;
	k->bounced = st->count.bounced;
	k->hidden = st->count.hidden;
	k->late = st->count.late;
	k->submit_failed = st->count.submit_failed;
	k->bogus_ndr = st->count.bogus_ndr;
	k->delayed_dsn = st->count.delayed_dsn;
}

static int
apply(struct state *st, struct canary *c, enum op op)
{
	struct canary_report r = { NDR_PERMANENT, "5.1.1", "smtp; 550 5.1.1 "
	    "no such user", "mx.example", "next.example", NOW - 10 };
	struct received_chain rc;

	memset(&rc, 0, sizeof(rc));
	rc.greylist_delay = -1;
	switch (op) {
	case OP_SUBMITTED:
		return canary_submitted(st, c, "smtp.example:587",
		    "250 2.0.0 Ok: queued as ABC", "ABC", SENT);
	case OP_SUBMIT_FAILED:
		return canary_submit_failed(st, c, "smtp.example:587",
		    "554 no", "rejected", NOW);
	case OP_ADOPT:
		return canary_adopt(st, c);
	case OP_HIDE:
		return canary_hide(st, c, NOW);
	case OP_DELIVER:
		return canary_deliver(st, c, NOW - 40, &rc, NOW);
	case OP_LATE:
		return canary_late(st, c, NOW - 40, &rc, NOW);
	case OP_BOUNCE_PERMANENT:
		return canary_bounce(st, c, &r, NOW);
	case OP_BOUNCE_BOGUS:
		r.class = NDR_BOGUS;
		return canary_bounce(st, c, &r, NOW);
	case OP_BOUNCE_DELAYED:
		r.class = NDR_DELAYED;
		return canary_bounce(st, c, &r, NOW);
	case OP_DELAY:
		r.class = NDR_DELAYED;
		return canary_delay(st, c, &r);
	}
	return -2;
}

static void
test_table(void **unused)
{
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct counts before, after, want;
		struct canary *c, saved;
		struct state st;
		int rc;

		state_init(&st);
		c = state_add(&st);
		assert_non_null(c);
		assert_int_equal(canary_submitting(c, 1, "1-0-x",
		    "canary+1-0-x@example", SENT), 0);
		st.next_seq = 2;
		c->status = r->from;
		if (r->from != SUB)
			c->submitted_at = SENT;
		counts_of(&st, &before);
		saved = *c;
		rc = apply(&st, c, r->op);
		counts_of(&st, &after);
		want = before;
		want.sent += r->delta.sent;
		want.delivered += r->delta.delivered;
		want.bounced += r->delta.bounced;
		want.hidden += r->delta.hidden;
		want.late += r->delta.late;
		want.submit_failed += r->delta.submit_failed;
		want.bogus_ndr += r->delta.bogus_ndr;
		want.delayed_dsn += r->delta.delayed_dsn;
		if (rc != r->rc || c->status != r->to ||
		    memcmp(&after, &want, sizeof(want)) != 0)
			fail_msg("row \"%s\": rc %d (want %d), status %s (want "
			    "%s), counters %s", r->name, rc, r->rc,
			    canary_status_name(c->status),
			    canary_status_name(r->to), memcmp(&after, &want,
			    sizeof(want)) ? "wrong" : "right");
		/* Refused: not one field of the canary moved. */
		if (rc == -1 && memcmp(&saved, c, sizeof(saved)) != 0)
			fail_msg("row \"%s\": refused, yet changed", r->name);
		state_clear(&st);
	}
}

static void
test_times(void **unused)
{
	struct canary_report r = { NDR_BOGUS, "4.7.1", "smtp; 450 4.7.1 "
	    "greylisted", "exch.example", "mx.example", NOW - 5 };
	struct received_chain rc;
	struct state st;
	struct canary *c;

	(void)unused;
	memset(&rc, 0, sizeof(rc));
	rc.greylisted = 1;
	rc.greylist_delay = 300;
	snprintf(rc.greylist_at, sizeof(rc.greylist_at), "mx.example");
	state_init(&st);
	c = state_add(&st);
	assert_int_equal(canary_submitting(c, 1, "1-0-x", "a@example",
	    SENT), 0);
	/* Before the final reply, the canary left when sending began. */
	assert_true(canary_since(c) == SENT);
	assert_int_equal(canary_submitted(&st, c, "smtp:587", "", "", SENT +
	    2), 0);
	assert_true(canary_since(c) == SENT + 2);
	assert_true(st.last_sent == SENT);
	assert_null(c->smtp_reply);
	assert_null(c->queue_id);
	/* Whole seconds on both sides: 99999 - 99901 = 98, never less. */
	assert_int_equal(canary_deliver(&st, c, NOW - 1, &rc, NOW), 0);
	assert_true(c->latency == 98);
	assert_true(c->resolved_at == NOW);
	assert_true(c->arrived_at == NOW - 1);
	assert_int_equal(c->greylisted, 1);
	assert_int_equal(c->greylist_delay, 300);
	assert_string_equal(c->greylist_at, "mx.example");
	state_clear(&st);

	state_init(&st);
	c = state_add(&st);
	canary_submitting(c, 1, "1-0-x", "a@example", SENT);
	canary_submitted(&st, c, "smtp:587", "250 ok", "Q1", SENT);
	/* Arrival unknown: taken as now. */
	assert_int_equal(canary_hide(&st, c, NOW - 50), 0);
	assert_true(c->hidden_at == NOW - 50 && c->resolved_at == NOW - 50);
	assert_int_equal(canary_late(&st, c, 0, &rc, NOW), 0);
	assert_true(c->arrived_at == NOW);
	state_clear(&st);

	state_init(&st);
	c = state_add(&st);
	canary_submitting(c, 1, "1-0-x", "a@example", SENT);
	canary_submitted(&st, c, "smtp:587", "250 ok", "Q1", SENT);
	r.class = NDR_DELAYED;
	assert_int_equal(canary_delay(&st, c, &r), 0);
	assert_int_equal(c->delayed, 1);
	assert_int_equal(c->bounce_class, NDR_DELAYED);
	r.class = NDR_BOGUS;
	assert_int_equal(canary_bounce(&st, c, &r, NOW), 0);
	assert_int_equal(c->bounce_class, NDR_BOGUS);
	assert_string_equal(c->bounce_status, "4.7.1");
	assert_string_equal(c->bounce_reporting_mta, "exch.example");
	assert_true(c->bounced_at == NOW - 5 && c->resolved_at == NOW);
	state_clear(&st);
}

static void
test_names(void **unused)
{
	static const char *const classes[] = { "not_a_bounce", "permanent",
	    "transient_as_permanent", "delayed", "delivered", "relayed",
	    "expanded", "unparseable" };
	enum ndr_class k;
	size_t i;

	(void)unused;
	/* The state file's names for the bounce class, as they always were. */
	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		assert_int_equal(canary_bounce_class_parse(classes[i], &k), 0);
		assert_int_equal(k, (int)i);
		assert_string_equal(ndr_class_name(k), classes[i]);
	}
	assert_int_equal(canary_bounce_class_parse("bogus", &k), -1);
	assert_int_equal(canary_status_parse("in_flight"), CANARY_IN_FLIGHT);
	assert_int_equal(canary_status_parse("flying"), -1);
	assert_string_equal(canary_status_name(CANARY_SUBMIT_FAILED),
	    "submit_failed");
	assert_string_equal(canary_status_name(99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_names),
	};

	return RUN_TESTS(tests);
}
