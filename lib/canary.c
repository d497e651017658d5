/*
 * canary.c - the lifecycle of one canary: the only place that changes a
 * canary's status, and with it its times and the probe's counters, so a
 * transition is written once (as Postfix's dsn_buf.c owns the setters of
 * its record). The rules of which status may follow which are here too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "state.h"

static const char *const status_names[] = {
	[CANARY_IN_FLIGHT] = "in_flight",
	[CANARY_DELIVERED] = "delivered",
	[CANARY_BOUNCED] = "bounced",
	[CANARY_HIDDEN] = "hidden",
	[CANARY_LATE] = "late",
	[CANARY_SUBMIT_FAILED] = "submit_failed",
	[CANARY_SUBMITTING] = "submitting"
};

const char *
canary_status_name(int s)
{
	if (s < 0 || s > CANARY_SUBMITTING)
		return "?";
	return status_names[s];
}

int
canary_status_parse(const char *s)
{
	int i;

	for (i = 0; i <= CANARY_SUBMITTING; i++)
		if (strcmp(s, status_names[i]) == 0)
			return i;
	return -1;
}

int
canary_bounce_class_parse(const char *s, enum ndr_class *class)
{
	int i;

	for (i = NDR_NOT_BOUNCE; i <= NDR_UNPARSEABLE; i++)
		if (strcmp(s, ndr_class_name(i)) == 0) {
			*class = (enum ndr_class)i;
			return 0;
		}
	return -1;
}

double
canary_since(const struct canary *c)
{
	return c->submitted_at > 0 ? c->submitted_at : c->sent_at;
}

void
canary_clear(struct canary *c)
{
	free(c->rcpt);
	free(c->via);
	free(c->smtp_reply);
	free(c->queue_id);
	free(c->error);
	free(c->greylist_at);
	free(c->greylist_source);
	free(c->hops);
	free(c->bounce_status);
	free(c->bounce_diag);
	free(c->bounce_reporting_mta);
	free(c->bounce_remote_mta);
	free(c->junk_folder);
	memset(c, 0, sizeof(*c));
}

int
canary_submitting(struct canary *c, unsigned long seq, const char *token,
    const char *rcpt, double now)
{
	c->seq = seq;
	c->status = CANARY_SUBMITTING;
	snprintf(c->token, sizeof(c->token), "%s", token);
	c->sent_at = now;
	return state_set_str(&c->rcpt, rcpt);
}

/* Both outcomes of a submission: the canary left, or tried to. */
static void
sent(struct state *st, struct canary *c, const char *via, const char *reply)
{
	st->last_sent = c->sent_at;
	st->count.sent++;
	state_set_str(&c->via, via);
	state_set_str(&c->smtp_reply, reply != NULL && reply[0] ? reply :
	    NULL);
}

int
canary_submitted(struct state *st, struct canary *c, const char *via,
    const char *reply, const char *queue_id, double submitted_at)
{
	if (c->status != CANARY_SUBMITTING)
		return -1;
	sent(st, c, via, reply);
	c->status = CANARY_IN_FLIGHT;
	c->submitted_at = submitted_at;
	state_set_str(&c->queue_id, queue_id != NULL && queue_id[0] ?
	    queue_id : NULL);
	return 0;
}

int
canary_submit_failed(struct state *st, struct canary *c, const char *via,
    const char *reply, const char *error, double now)
{
	if (c->status != CANARY_SUBMITTING)
		return -1;
	sent(st, c, via, reply);
	c->status = CANARY_SUBMIT_FAILED;
	c->resolved_at = now;
	state_set_str(&c->error, error);
	st->count.submit_failed++;
	return 0;
}

int
canary_adopt(struct state *st, struct canary *c)
{
	if (c->status != CANARY_SUBMITTING)
		return -1;
	c->status = CANARY_IN_FLIGHT;
	state_set_str(&c->smtp_reply, "(unknown: the run sending it was "
	    "stopped)");
	st->count.sent++;
	if (c->sent_at > st->last_sent)
		st->last_sent = c->sent_at;
	return 0;
}

int
canary_hide(struct state *st, struct canary *c, double now)
{
	if (c->status != CANARY_IN_FLIGHT)
		return -1;
	c->status = CANARY_HIDDEN;
	c->hidden_at = now;
	c->resolved_at = now;
	st->count.hidden++;
	return 0;
}

static void
arrival(struct canary *c, double arrived, const struct received_chain *rc,
    double now)
{
	c->arrived_at = arrived > 0 ? arrived : now;
	/*
	 * INTERNALDATE and Received: dates have whole seconds, so the
	 * submission time is taken at the same resolution: then a canary
	 * held N seconds never shows a latency below N.
	 */
	c->latency = floor(c->arrived_at) - floor(canary_since(c));
	if (c->latency < 0)
		c->latency = 0;
	c->resolved_at = now;
	free(c->hops);
	c->hops = NULL;
	c->nhops = 0;
	if (rc == NULL)
		return;
	if (rc->n > 0 && (c->hops = calloc(rc->n, sizeof(*c->hops))) != NULL) {
		memcpy(c->hops, rc->hop, rc->n * sizeof(*c->hops));
		c->nhops = rc->n;
	}
	c->greylisted = rc->greylisted;
	c->greylist_delay = rc->greylist_delay;
	state_set_str(&c->greylist_at, rc->greylist_at[0] ? rc->greylist_at :
	    NULL);
	state_set_str(&c->greylist_source, rc->greylist_source[0] ?
	    rc->greylist_source : NULL);
}

int
canary_deliver(struct state *st, struct canary *c, double arrived,
    const struct received_chain *rc, double now)
{
	if (c->status != CANARY_IN_FLIGHT)
		return -1;
	c->status = CANARY_DELIVERED;
	arrival(c, arrived, rc, now);
	st->count.delivered++;
	return 0;
}

int
canary_late(struct state *st, struct canary *c, double arrived,
    const struct received_chain *rc, double now)
{
	if (c->status != CANARY_HIDDEN)
		return -1;
	c->status = CANARY_LATE;
	arrival(c, arrived, rc, now);
	st->count.late++;
	return 0;
}

int
canary_junk(struct state *st, struct canary *c, const char *folder)
{
	if ((c->status != CANARY_DELIVERED && c->status != CANARY_LATE) ||
	    c->junk_folder != NULL || state_set_str(&c->junk_folder,
	    folder) == -1)
		return -1;
	st->count.junk++;
	return 0;
}

void
canary_set_authres(struct state *st, struct canary *c,
    const struct authres *a)
{
	if (!a->checked)
		return;
	c->auth = *a;
	if (!authres_all_pass(a))
		st->count.auth_not_passed++;
}

static void
report(struct canary *c, const struct canary_report *r)
{
	c->bounce_class = r->class;
	state_set_str(&c->bounce_status, r->status);
	state_set_str(&c->bounce_diag, r->diagnostic);
	state_set_str(&c->bounce_reporting_mta, r->reporting_mta);
	state_set_str(&c->bounce_remote_mta, r->remote_mta);
	c->bounced_at = r->at;
}

int
canary_bounce(struct state *st, struct canary *c,
    const struct canary_report *r, double now)
{
	if ((c->status != CANARY_IN_FLIGHT && c->status != CANARY_HIDDEN) ||
	    (r->class != NDR_PERMANENT && r->class != NDR_BOGUS))
		return -1;
	c->status = CANARY_BOUNCED;
	c->resolved_at = now;
	report(c, r);
	st->count.bounced++;
	if (r->class == NDR_BOGUS)
		st->count.bogus_ndr++;
	return 0;
}

int
canary_delay(struct state *st, struct canary *c,
    const struct canary_report *r)
{
	st->count.delayed_dsn++;
	if (c->status != CANARY_IN_FLIGHT)
		return -1;
	c->delayed = 1;
	report(c, r);
	return 0;
}

void
canary_count_unparseable(struct state *st)
{
	st->count.unparseable++;
}

void
canary_count_oversize(struct state *st)
{
	st->count.oversize++;
}
