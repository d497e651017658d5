/*
 * snap.c - mailcanaryd's snapshots: what a probe cycle's report becomes
 * in mcProbeTable and mcCanaryTable (the condition map from the verdict's
 * reasons, counters, latencies over the last hour, the canary rows), and
 * what a new snapshot changes: LastChange, the log lines, and which
 * notification goes out. Worker threads build snapshots; only the main
 * thread takes them (snap_take), as only it may call Net-SNMP.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "output.h"
#include "snap.h"
#include "sort.h"
#include "text.h"

/* Latencies kept for the median and 95th percentile, at most. */
#define SNAP_LATENCIES	2000

/* mcCanaryTable rows: the oldest canaries in flight (the missing ones),
 * and the newest resolved. */
static void
snap_canaries(struct snapshot *s, const struct state *st)
{
	size_t i, nin = 0, nres = 0, from = st->n;

	s->canaries = calloc(AGENT_CANARIES_INFLIGHT + AGENT_CANARIES_RESOLVED,
	    sizeof(*s->canaries));
	s->ncanaries = 0;
	if (s->canaries == NULL)
		return;
	for (i = st->n; i-- > 0 && nres < AGENT_CANARIES_RESOLVED;)
		if (st->c[i].status != CANARY_IN_FLIGHT) {
			nres++;
			from = i;
		}
	for (i = 0; i < st->n; i++) {
		const struct canary *c = &st->c[i];
		struct canary_row *r;

		if (c->status == CANARY_IN_FLIGHT ?
		    nin++ >= AGENT_CANARIES_INFLIGHT : i < from)
			continue;
		r = &s->canaries[s->ncanaries++];
		r->seq = c->seq;
		snprintf(r->token, sizeof(r->token), "%s", c->token);
		r->sent_at = c->sent_at;
		r->outcome = c->status + 1;
		r->latency_ms = c->status == CANARY_DELIVERED ||
		    c->status == CANARY_LATE ? (unsigned long)(c->latency *
		    1000) : 0;
		snprintf(r->queue_id, sizeof(r->queue_id), "%s",
		    c->queue_id ? c->queue_id : "");
		snprintf(r->bounce_status, sizeof(r->bounce_status), "%s",
		    c->bounce_status ? c->bounce_status : "");
		text_sanitize(r->queue_id);
		text_sanitize(r->bounce_status);
	}
}

/* The canaries delivered or late in the state, for the histogram.
 * Out of memory, none: snap_take() then counts nothing this cycle. */
static void
snap_seen(struct snapshot *s, const struct state *st)
{
	size_t i, n = 0;

	for (i = 0; i < st->n; i++)
		if (st->c[i].status == CANARY_DELIVERED ||
		    st->c[i].status == CANARY_LATE)
			n++;
	s->nseen = 0;
	if (n == 0 || (s->seen = calloc(n, sizeof(*s->seen))) == NULL)
		return;
	for (i = 0; i < st->n; i++)
		if (st->c[i].status == CANARY_DELIVERED ||
		    st->c[i].status == CANARY_LATE) {
			s->seen[s->nseen].seq = st->c[i].seq;
			s->seen[s->nseen++].latency = st->c[i].latency;
		}
}

/* The metrics of a probe without a report: state unknown. */
static void
snap_metrics_unknown(struct snapshot *s)
{
	memset(&s->metrics, 0, sizeof(s->metrics));
	snprintf(s->metrics.name, sizeof(s->metrics.name), "%s", s->name);
	s->metrics.state = s->state;
	s->metrics.condition = s->condition;
	s->metrics.greylist_delay = -1;
	s->metrics.has_hist = 1;
}

/* mcJunkGroup: canaries delivered to junk, and since the newest. */
static void
snap_junk(struct snapshot *s, const struct probe_report *rep)
{
	const struct state *st = &rep->st;
	double newest = 0;
	size_t i;

	s->junk = st->count.junk;
	for (i = 0; i < st->n; i++)
		if (st->c[i].junk_folder != NULL &&
		    st->c[i].arrived_at > newest)
			newest = st->c[i].arrived_at;
	s->since_junk = newest > 0 && rep->now > newest ?
	    (unsigned long)(rep->now - newest) : 0;
}

void
snap_from_report(struct snapshot *s, const struct config *cfg,
    const struct probe_report *rep)
{
	const struct state *st = &rep->st;
	const struct verdict *v = &rep->v;
	const struct canary *c, *d;
	struct output_opts opts;
	unsigned long lat[SNAP_LATENCIES];
	double newest_bounce = 0;
	size_t i, n = 0;

	snprintf(s->name, sizeof(s->name), "%s", cfg->name);
	net_hostport(cfg->smtp ? cfg->smtp : "", s->route, sizeof(s->route));
	snprintf(s->recipient, sizeof(s->recipient), "%s",
	    cfg->to ? cfg->to : "");
	s->state = v->state + 1;
	s->condition = verdict_condition(v);
	config_output_opts(cfg, &opts);
	output_status_line(&opts, st, v, rep->now, s->text, sizeof(s->text));
	s->sent = st->count.sent;
	s->delivered = st->count.delivered;
	s->bounced = st->count.bounced;
	s->bogus = st->count.bogus_ndr;
	s->delayed = st->count.delayed_dsn;
	s->hidden = st->count.hidden;
	s->late = st->count.late;
	s->submit_failed = st->count.submit_failed;
	s->inflight = v->inflight;
	s->oldest_inflight = (unsigned long)v->oldest_inflight;
	s->last_latency_ms = s->greylist_delay = s->since_delivery = 0;
	if ((d = state_find_seq(st, v->last_delivered)) != NULL) {
		s->last_latency_ms = (unsigned long)(d->latency * 1000);
		s->greylist_delay = d->greylist_delay > 0 ?
		    (unsigned long)d->greylist_delay : 0;
		s->since_delivery = rep->now > d->arrived_at ?
		    (unsigned long)(rep->now - d->arrived_at) : 0;
	}
	s->bounce_status[0] = s->bounce_diag[0] = '\0';
	for (i = 0; i < st->n; i++) {
		c = &st->c[i];
		if ((c->status == CANARY_DELIVERED ||
		    c->status == CANARY_LATE) && c->arrived_at >=
		    rep->now - 3600 && n < SNAP_LATENCIES)
			lat[n++] = (unsigned long)(c->latency * 1000);
		if (c->bounce_status && c->bounced_at > newest_bounce) {
			newest_bounce = c->bounced_at;
			snprintf(s->bounce_status, sizeof(s->bounce_status),
			    "%s", c->bounce_status);
			snprintf(s->bounce_diag, sizeof(s->bounce_diag), "%s",
			    c->bounce_diag ? c->bounce_diag : "");
		}
	}
	qsort(lat, n, sizeof(lat[0]), sort_ulong_cmp);
	s->median_ms = n ? lat[(n - 1) / 2] : 0;
	s->p95_ms = n ? lat[(size_t)ceil(0.95 * (double)n) - 1] : 0;
	s->canary_seq = 0;
	if ((c = state_find_seq(st, v->outcome)) != NULL) {
		s->canary_seq = c->seq;
		s->canary_age = (unsigned long)(rep->now - c->sent_at);
		snprintf(s->canary_queue_id, sizeof(s->canary_queue_id), "%s",
		    c->queue_id ? c->queue_id : "");
		snprintf(s->canary_bounce_status,
		    sizeof(s->canary_bounce_status), "%s",
		    c->bounce_status ? c->bounce_status : "");
	}
	text_sanitize(s->text);
	text_sanitize(s->bounce_diag);
	snap_junk(s, rep);
	snap_canaries(s, st);
	metrics_from_report(&s->metrics, cfg->name, rep);
	s->metrics.has_hist = 1;
	snap_seen(s, st);
}

void
snap_from_error(struct snapshot *s, const char *name, const char *msg)
{
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->state = 4;
	s->condition = COND_PENDING;
	snprintf(s->text, sizeof(s->text), "MAILCANARY UNKNOWN - %s", msg);
	text_sanitize(s->text);
	s->failed = 1;
	snap_metrics_unknown(s);
}

void
snap_unknown(struct snapshot *s, unsigned long index, const char *name)
{
	s->index = index;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->state = 4;
	s->condition = COND_PENDING;
	snap_metrics_unknown(s);
}

void
snap_reset_counters(struct snapshot *s)
{
	s->sent = s->delivered = 0;
	s->bounced = s->bogus = 0;
	s->delayed = s->hidden = 0;
	s->late = s->submit_failed = 0;
	s->junk = 0;
	s->metrics.junk = 0;
	/* The canaries counted stay counted: the counters restart from
	 * what happens next. */
	s->metrics.sent = s->metrics.delivered = 0;
	s->metrics.hidden = s->metrics.late = 0;
	s->metrics.bounced = s->metrics.bogus = 0;
	s->metrics.delayed = s->metrics.unparseable = 0;
	s->metrics.auth_not_passed = 0;
	memset(&s->metrics.hist, 0, sizeof(s->metrics.hist));
}

/*
 * The histogram of a served snapshot s, whose old one counted old->seen:
 * each canary of s->seen that old did not count is counted now, once.
 * Both lists are by seq. s->seen becomes what is counted.
 */
static void
snap_count(struct snapshot *s, const struct snapshot *old)
{
	size_t i, k = 0;

	s->metrics.hist = old->metrics.hist;
	for (i = 0; i < s->nseen; i++) {
		while (k < old->nseen && old->seen[k].seq < s->seen[i].seq)
			k++;
		if (k < old->nseen && old->seen[k].seq == s->seen[i].seq)
			continue;
		metrics_observe(&s->metrics.hist, s->seen[i].latency);
	}
}

/* A failed cycle tells nothing of the counters and gauges: s keeps
 * old's, and what old counted. */
static void
snap_keep(struct snapshot *s, struct snapshot *old)
{
	int state = s->metrics.state, condition = s->metrics.condition;

	s->sent = old->sent;
	s->delivered = old->delivered;
	s->bounced = old->bounced;
	s->bogus = old->bogus;
	s->delayed = old->delayed;
	s->hidden = old->hidden;
	s->late = old->late;
	s->submit_failed = old->submit_failed;
	s->junk = old->junk;
	s->since_junk = old->since_junk;
	s->metrics = old->metrics;
	s->metrics.state = state;
	s->metrics.condition = condition;
	free(s->seen);
	s->seen = old->seen;
	s->nseen = old->nseen;
	old->seen = NULL;
	old->nseen = 0;
}

static const char *
snap_state_name(int state)
{
	static const char *const names[] = {
		"OK", "WARNING", "CRITICAL", "UNKNOWN"
	};

	return state >= 1 && state <= 4 ? names[state - 1] : "none";
}

/* The notification a change of condition calls for: on a change only,
 * never once per cycle. */
static void
snap_notify(const struct snapshot *s, const struct snapshot *old)
{
	if (s->condition == COND_HIDDEN && old->condition != COND_HIDDEN)
		agent_notify(NOTIFY_HIDDEN, s);
	else if ((s->condition == COND_BOUNCED || s->condition ==
	    COND_BOGUS) && s->condition != old->condition)
		agent_notify(NOTIFY_BOUNCED, s);
	else if (s->state == 1 && s->condition == COND_DELIVERED &&
	    (old->state == 2 || old->state == 3))
		agent_notify(NOTIFY_RECOVERED, s);
}

void
snap_take(struct snapshot *cur, struct snapshot *next, int first,
    int notify)
{
	struct snapshot s = *next, old = *cur;
	unsigned long now = agent_uptime();

	s.index = old.index;
	s.discontinuity = old.discontinuity;
	s.last_change = old.last_change;
	if (s.failed)
		snap_keep(&s, cur);
	else
		snap_count(&s, &old);
	if (first)
		log_info("probe %s: first cycle: %s", s.name, s.text);
	else if (s.state == 4 && strcmp(s.text, old.text) != 0)
		log_warnx("probe %s: %s", s.name, s.text);
	if (s.state != old.state || s.condition != old.condition) {
		s.last_change = now;
		log_info("probe %s: %s (%s) -> %s (%s): %s", s.name,
		    snap_state_name(old.state),
		    reason_condition_name(old.condition),
		    snap_state_name(s.state), reason_condition_name(s.condition),
		    s.text);
		if (notify)
			snap_notify(&s, &old);
	}
	agent_snapshot_free(cur);
	*cur = s;
	next->canaries = NULL;
	next->ncanaries = 0;
	next->seen = NULL;
	next->nseen = 0;
}
