/*
 * evaluate.c - the verdict rules of DESIGN.md, pure.
 *
 * The outcome is that of the newest resolved canary, in the order the
 * outcomes became known, with one guard: a good outcome replaces a
 * problem only when its canary was sent later (higher seq). So a problem
 * clears only when a *later* canary is delivered in time, and a hidden
 * canary discovered after a newer delivery still raises the alert. A
 * canary that turns up LATE never replaces the outcome of a newer one.
 */
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"

size_t
evaluate_advance(struct state *st, double now, long lost_after)
{
	size_t i, n = 0;

	for (i = 0; i < st->n; i++) {
		struct canary *c = &st->c[i];

		/* A clock stepped back gives a negative age: never hidden. */
		if (c->status == CANARY_IN_FLIGHT &&
		    now - canary_since(c) > (double)lost_after &&
		    canary_hide(st, c, now) == 0)
			n++;
	}
	return n;
}

static int
latency_state(double latency, const struct range *warn,
    const struct range *crit)
{
	if (range_alert(crit, latency))
		return MC_CRITICAL;
	if (range_alert(warn, latency))
		return MC_WARNING;
	return MC_OK;
}

int
evaluate_canary(const struct canary *c, const struct range *warn,
    const struct range *crit, int *code)
{
	int s;

	switch (c->status) {
	case CANARY_DELIVERED:
		s = latency_state(c->latency, warn, crit);
		*code = s == MC_OK ? REASON_DELIVERED : REASON_SLOW;
		return s;
	case CANARY_LATE:
		*code = REASON_LATE;
		return mc_state_worst(MC_WARNING,
		    latency_state(c->latency, warn, crit));
	case CANARY_HIDDEN:
		*code = REASON_HIDDEN;
		break;
	case CANARY_BOUNCED:
		*code = c->bounce_class == NDR_BOGUS ? REASON_BOGUS_BOUNCE :
		    REASON_BOUNCED;
		break;
	case CANARY_SUBMIT_FAILED:
		*code = REASON_SUBMIT_FAILED;
		break;
	case CANARY_IN_FLIGHT:
	case CANARY_SUBMITTING:
		*code = REASON_PENDING;
		break;
	}
	return reason_state(*code);
}

void
evaluate_junk(const struct state *st, int junk_state, struct verdict *v)
{
	const struct canary *c = state_find_seq(st, v->outcome);

	/* A problem clears only when a later canary reaches the inbox:
	 * then the outcome is that canary, which has no junk folder. */
	if (c != NULL && c->junk_folder != NULL &&
	    (c->status == CANARY_DELIVERED || c->status == CANARY_LATE))
		verdict_add(v, junk_state, REASON_JUNK, v->outcome, NULL);
}

void
verdict_add(struct verdict *v, int state, int code, long canary,
    const char *detail)
{
	struct reason *r;

	v->state = mc_state_worst(v->state, state);
	if (v->n >= VERDICT_REASONS_MAX)
		return;
	r = &v->r[v->n++];
	memset(r, 0, sizeof(*r));
	r->state = state;
	r->code = code;
	r->canary = canary;
	r->count = 1;
	if (detail != NULL) {
		strncpy(r->detail, detail, sizeof(r->detail) - 1);
		r->detail[sizeof(r->detail) - 1] = '\0';
	}
}

void
evaluate_auth(const struct state *st, int require, struct verdict *v)
{
	const struct canary *c;
	size_t i;

	if (!require)
		return;
	for (i = st->n; i-- > 0;) {
		c = &st->c[i];
		if ((c->status != CANARY_DELIVERED &&
		    c->status != CANARY_LATE) || !c->auth.checked)
			continue;
		if (!authres_all_pass(&c->auth))
			verdict_add(v, MC_WARNING, REASON_AUTH_RESULTS,
			    (long)c->seq, NULL);
		return;
	}
}

enum mc_condition
verdict_condition(const struct verdict *v)
{
	enum reason_code code = REASON_NONE;
	int best = -1;
	size_t i;

	for (i = 0; i < v->n; i++)
		if (best == -1 || mc_state_worst(v->r[i].state, best) != best) {
			best = v->r[i].state;
			code = v->r[i].code;
		}
	return reason_condition(code);
}

struct order {
	double	at;
	size_t	idx;
};

static int
order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

/* What the pass over the canaries in flight found. */
struct inflight {
	size_t	overdue[4];	/* by state */
	long	oldest;		/* index, -1: none */
	long	worst_overdue;
	long	delayed;
	int	worst;
};

/* One canary in flight: its age against the thresholds. */
static void
eval_inflight(const struct canary *c, long i, double now,
    const struct range *warn, const struct range *crit, struct verdict *v,
    struct inflight *f)
{
	double age = now - canary_since(c);
	int s;

	if (age < 0) {
		/* Sent after now: the clock went back. */
		v->clock_steps++;
		if (-age > v->clock_step)
			v->clock_step = -age;
		age = 0;
	}
	v->inflight++;
	if (f->oldest == -1 || age > v->oldest_inflight) {
		v->oldest_inflight = age;
		f->oldest = i;
	}
	s = latency_state(age, warn, crit);
	if (s != MC_OK) {
		f->overdue[s]++;
		if (f->worst_overdue == -1 || s == MC_CRITICAL)
			f->worst_overdue = i;
		f->worst = mc_state_worst(f->worst, s);
	}
	if (c->delayed)
		f->delayed = i;
}

/*
 * The outcome: of the resolved canaries in the order their outcomes were
 * learnt, the newest, unless a later-learnt one is a problem (a late
 * arrival is not). Its index, -1 for none; *state its state.
 */
static long
eval_outcome(const struct state *st, const struct range *warn,
    const struct range *crit, int *state)
{
	struct order ord[STATE_CANARIES_MAX];
	size_t i, n = 0;
	long cur = -1;
	int s, code;

	for (i = 0; i < st->n && n < STATE_CANARIES_MAX; i++) {
		if (st->c[i].status == CANARY_IN_FLIGHT)
			continue;
		ord[n].at = st->c[i].resolved_at;
		ord[n].idx = i;
		n++;
	}
	qsort(ord, n, sizeof(ord[0]), order_cmp);
	for (i = 0; i < n; i++) {
		const struct canary *c = &st->c[ord[i].idx];

		s = evaluate_canary(c, warn, crit, &code);
		if (cur == -1 || c->seq > st->c[cur].seq ||
		    (s != MC_OK && c->status != CANARY_LATE)) {
			cur = (long)ord[i].idx;
			*state = s;
		}
	}
	return cur;
}

/* Hidden canaries with no good delivery after them: still open. */
static unsigned long
eval_hidden_open(const struct state *st, const struct range *warn,
    const struct range *crit)
{
	unsigned long good_seq = 0, open = 0;
	size_t i;
	int code;

	for (i = 0; i < st->n; i++)
		if (st->c[i].status == CANARY_DELIVERED &&
		    evaluate_canary(&st->c[i], warn, crit, &code) == MC_OK &&
		    st->c[i].seq > good_seq)
			good_seq = st->c[i].seq;
	for (i = 0; i < st->n; i++)
		if (st->c[i].status == CANARY_HIDDEN && st->c[i].seq > good_seq)
			open++;
	return open;
}

void
evaluate(const struct state *st, double now, const struct range *warn,
    const struct range *crit, struct verdict *v)
{
	struct inflight f = { { 0 }, -1, -1, -1, MC_OK };
	long cur, last = -1;
	int cur_state = MC_OK, code;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < st->n; i++) {
		if (st->c[i].status == CANARY_IN_FLIGHT)
			eval_inflight(&st->c[i], (long)i, now, warn, crit, v,
			    &f);
		else if (st->c[i].status == CANARY_DELIVERED ||
		    st->c[i].status == CANARY_LATE)
			last = (long)i;		/* seq order */
	}
	cur = eval_outcome(st, warn, crit, &cur_state);
	/* Canaries are named by seq: the verdict outlives a prune. */
	v->outcome = cur == -1 ? -1 : (long)st->c[cur].seq;
	v->last_delivered = last == -1 ? -1 : (long)st->c[last].seq;
	v->hidden_open = eval_hidden_open(st, warn, crit);

	if (cur != -1) {
		evaluate_canary(&st->c[cur], warn, crit, &code);
		verdict_add(v, cur_state, code, v->outcome, NULL);
		if (code == REASON_HIDDEN)
			v->r[v->n - 1].count = v->hidden_open;
	} else if (v->inflight > 0) {
		verdict_add(v, MC_OK, REASON_PENDING,
		    (long)st->c[f.oldest].seq, NULL);
	} else {
		verdict_add(v, MC_UNKNOWN, REASON_NONE, -1, NULL);
	}
	if (f.worst_overdue != -1) {
		verdict_add(v, f.worst, REASON_OVERDUE,
		    (long)st->c[f.worst_overdue].seq, NULL);
		v->r[v->n - 1].count = f.overdue[MC_WARNING] +
		    f.overdue[MC_CRITICAL];
	}
	if (f.delayed != -1)
		verdict_add(v, MC_WARNING, REASON_DELAYED,
		    (long)st->c[f.delayed].seq, NULL);
}
