/*
 * output.c - renders a verdict for Nagios/Icinga (Monitoring Plugins
 * conventions) or as JSON. Status line first, then perfdata, then capped
 * long output; reasons are ordered worst first.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "output.h"
#include "text.h"

void
perf_add(struct perfdata *p, const char *label, double value,
    const char *uom, const char *warn, const char *crit, int has_min,
    int precision)
{
	struct perf_item *it;

	if (p->n >= OUTPUT_PERF_MAX)
		return;
	it = &p->item[p->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->label, sizeof(it->label), "%s", label);
	it->value = value;
	snprintf(it->uom, sizeof(it->uom), "%s", uom ? uom : "");
	snprintf(it->warn, sizeof(it->warn), "%s", warn ? warn : "");
	snprintf(it->crit, sizeof(it->crit), "%s", crit ? crit : "");
	it->has_min = has_min;
	it->precision = precision;
}

void
perf_format(const struct perf_item *it, char *out, size_t outlen)
{
	/* Labels are ours and plain; quoting is only needed for spaces. */
	snprintf(out, outlen, "%s=%.*f%s;%s;%s;%s", it->label, it->precision,
	    it->value, it->uom, it->warn, it->crit, it->has_min ? "0" : "");
	/* Drop empty trailing fields: "inflight=2;;;0" keeps its shape. */
	while (strlen(out) > 0 && out[strlen(out) - 1] == ';')
		out[strlen(out) - 1] = '\0';
}

void
output_duration(double secs, char *out, size_t outlen)
{
	if (!(secs >= 0))
		secs = 0;		/* negative, or not a number */
	if (secs >= 1e9) {
		snprintf(out, outlen, "over 30 years");
		return;
	}
	if (secs < 10)
		snprintf(out, outlen, "%.1fs", secs);
	else if (secs < 120)
		snprintf(out, outlen, "%.0fs", secs);
	else if (secs < 2 * 3600)
		snprintf(out, outlen, "%.0fm", secs / 60);
	else
		snprintf(out, outlen, "%.1fh", secs / 3600);
}

/*
 * A wall-clock time for people: the time of day when it is today, else
 * the date too; as epoch seconds when it cannot be turned into a date.
 */
static void
clock_text(double t, double now, char *out, size_t outlen)
{
	time_t tt, tn;
	struct tm tm, tmn;

	/* Converting a double out of time_t's range is undefined. */
	if (!(t > -1e15 && t < 1e15 && now > -1e15 && now < 1e15)) {
		snprintf(out, outlen, "@%.0f", t);
		return;
	}
	tt = (time_t)t;
	tn = (time_t)now;
	if (localtime_r(&tt, &tm) == NULL || localtime_r(&tn, &tmn) == NULL ||
	    strftime(out, outlen, tm.tm_year == tmn.tm_year && tm.tm_yday ==
	    tmn.tm_yday ? "%H:%M:%S" : "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, outlen, "@%.0f", t);
}

static void
clean(const char *in, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", in ? in : "");
	text_sanitize(out);
}

static double
canary_age(const struct canary *c, double now)
{
	return now - canary_since(c);
}

/*
 * The methods of a canary's Authentication-Results: all of them
 * ("spf=pass dkim=fail (why) dmarc=none") or, failed_only, those that
 * did not pass, joined by ", ". "" when they were not read.
 */
static void
auth_text(const struct canary *c, int failed_only, char *out, size_t outlen)
{
	char why[AUTHRES_REASON_MAX + 1];
	size_t n = 0;
	int m, k;

	out[0] = '\0';
	if (!c->auth.checked)
		return;
	for (m = 0; m < AUTHRES_NMETHODS; m++) {
		if (failed_only && c->auth.result[m] == AUTHRES_PASS)
			continue;
		clean(c->auth.reason[m], why, sizeof(why));
		k = snprintf(out + n, outlen - n, "%s%s=%s%s%s%s",
		    n > 0 ? (failed_only ? ", " : " ") : "",
		    authres_method_name(m),
		    authres_result_name(c->auth.result[m]), why[0] ? " (" : "",
		    why, why[0] ? ")" : "");
		if (k < 0 || (size_t)k >= outlen - n)
			break;
		n += (size_t)k;
	}
}

/* "; spf=... dkim=... dmarc=..." after a delivered canary's line. */
static void
output_canary_auth(const struct canary *c, char *out, size_t outlen)
{
	char at[3 * (AUTHRES_REASON_MAX + 32)];
	size_t n = strlen(out);

	if (!c->auth.checked || n + 1 >= outlen)
		return;
	auth_text(c, 0, at, sizeof(at));
	snprintf(out + n, outlen - n, "; %s", at);
}

void
output_canary(const struct canary *c, double now, char *out, size_t outlen)
{
	char sent[32], d1[16], d2[16], extra[256], qid[140], err[300];

	clock_text(c->sent_at, now, sent, sizeof(sent));
	clean(c->queue_id, qid, sizeof(qid));
	extra[0] = '\0';
	switch (c->status) {
	case CANARY_IN_FLIGHT:
		output_duration(canary_age(c, now), d1, sizeof(d1));
		snprintf(out, outlen, "#%lu sent %s, in flight %s%s%s%s%s",
		    c->seq, sent, d1, c->delayed ? ", delay notice received" :
		    "", qid[0] ? " (queue id " : "", qid, qid[0] ? ")" : "");
		return;
	case CANARY_DELIVERED:
	case CANARY_LATE:
		output_duration(c->latency, d1, sizeof(d1));
		if (c->greylisted && c->greylist_delay >= 0) {
			clean(c->greylist_at, err, sizeof(err));
			output_duration((double)c->greylist_delay, d2,
			    sizeof(d2));
			snprintf(extra, sizeof(extra), ", greylisted %s%s%s",
			    d2, err[0] ? " at " : "", err);
		}
		clean(c->junk_folder, qid, sizeof(qid));
		snprintf(out, outlen, "#%lu sent %s, %s in %s%s%s%s%s", c->seq,
		    sent, c->status == CANARY_LATE ? "LATE: arrived" :
		    "delivered", d1, extra, qid[0] ? " (in junk folder " : "",
		    qid, qid[0] ? ")" : "");
		output_canary_auth(c, out, outlen);
		return;
	case CANARY_HIDDEN:
		output_duration(c->hidden_at - canary_since(c), d1, sizeof(d1));
		snprintf(out, outlen, "#%lu sent %s, HIDDEN after %s%s%s%s",
		    c->seq, sent, d1, qid[0] ? " (queue id " : "", qid,
		    qid[0] ? ")" : "");
		return;
	case CANARY_BOUNCED:
		clean(c->bounce_status, d1, sizeof(d1));
		clean(c->bounce_diag, err, 200);
		snprintf(out, outlen, "#%lu sent %s, %s %s %s", c->seq, sent,
		    c->bounce_class == NDR_BOGUS ? "BOGUS NDR" : "BOUNCED",
		    d1, err);
		return;
	case CANARY_SUBMIT_FAILED:
		clean(c->error, err, sizeof(err));
		snprintf(out, outlen, "#%lu sent %s, NOT SUBMITTED: %s", c->seq,
		    sent, err);
		return;
	case CANARY_SUBMITTING:
		break;		/* taken as in flight by the next run */
	}
	snprintf(out, outlen, "#%lu ?", c->seq);
}

/* Delivered, slow or late: how long it took, and the greylisting seen. */
static void
reason_delivered(const struct canary *c, int code, char *out, size_t outlen)
{
	char d1[16], d2[16], at[400];

	output_duration(c->latency, d1, sizeof(d1));
	if (c->greylisted && c->greylist_delay >= 0) {
		output_duration((double)c->greylist_delay, d2, sizeof(d2));
		clean(c->greylist_at, at, sizeof(at));
	} else {
		d2[0] = at[0] = '\0';
	}
	snprintf(out, outlen, "canary #%lu %s in %s%s%s%s%s%s", c->seq,
	    code == REASON_LATE ?
	    "turned up late, after it was declared hidden, arriving" :
	    code == REASON_SLOW ? "was slow: delivered" : "delivered", d1,
	    d2[0] ? ", greylisted " : "", d2, at[0] ? " at " : "", at,
	    c->greylisted || code != REASON_DELIVERED ? "" :
	    " (no greylisting seen)");
}

/* A permanent failure, or a bogus one built from a temporary reply. */
static void
reason_bounced(const struct canary *c, int code, char *out, size_t outlen)
{
	char d1[16], status[16], txt[200], rmta[140], remote[140];
	const char *reply = c->bounce_diag ? c->bounce_diag : "";
	const char *semi = strchr(reply, ';');

	/* "smtp; 450 4.2.0 ..." -> the reply itself. */
	if (semi != NULL && semi - reply < 12)
		reply = semi + 1;
	while (*reply == ' ')
		reply++;
	clean(reply, txt, sizeof(txt));
	clean(c->bounce_reporting_mta, rmta, sizeof(rmta));
	clean(c->bounce_remote_mta, remote, sizeof(remote));
	clean(c->bounce_status, status, sizeof(status));
	output_duration(c->bounced_at - canary_since(c), d1, sizeof(d1));
	if (code == REASON_BOGUS_BOUNCE)
		snprintf(out, outlen, "bogus NDR for #%lu: %s turned a "
		    "temporary \"%s\"%s%s into a permanent failure %s after "
		    "submission; the sending server gave up instead of "
		    "retrying", c->seq, rmta[0] ? rmta : "the sending server",
		    txt, remote[0] ? " from " : "", remote, d1);
	else
		snprintf(out, outlen, "canary #%lu bounced: %s%s%s rejected it "
		    "permanently with \"%s\" (status %s)", c->seq, remote[0] ?
		    remote : "the next hop", rmta[0] ? ", reported by " : "",
		    rmta, txt, status[0] ? status : "?");
}

/* Hidden or overdue: which canary, sent when and where, for how long. */
static void
reason_missing(const struct canary *c, const struct reason *r, double now,
    char *out, size_t outlen)
{
	char sent[32], d1[16], via[300], qid[140];
	unsigned long n = r->count ? r->count : 1;

	clock_text(c->sent_at, now, sent, sizeof(sent));
	clean(c->via, via, sizeof(via));
	clean(c->queue_id, qid, sizeof(qid));
	output_duration(r->code == REASON_HIDDEN ? c->hidden_at -
	    canary_since(c) : canary_age(c, now), d1, sizeof(d1));
	snprintf(out, outlen, "%lu canar%s %s: #%lu sent %s via %s%s%s%s %s "
	    "%s", n, n > 1 ? "ies" : "y", r->code == REASON_HIDDEN ?
	    "hidden" : "overdue", c->seq, sent, via, qid[0] ?
	    " (queue id " : "", qid, qid[0] ? ")" : "",
	    r->code == REASON_HIDDEN ? "neither arrived nor bounced in" :
	    "in flight for", d1);
}

/* Delivered, but into a junk folder: which canary, where, how fast. */
static void
reason_junk(const struct canary *c, char *out, size_t outlen)
{
	char d1[16], folder[300];

	output_duration(c->latency, d1, sizeof(d1));
	clean(c->junk_folder, folder, sizeof(folder));
	snprintf(out, outlen, "delivered to Junk: canary #%lu in %s after %s",
	    c->seq, folder, d1);
}

void
output_reason(const struct state *st, const struct reason *r, double now,
    char *out, size_t outlen)
{
	const struct canary *c = state_find_seq(st, r->canary);
	char d1[16], via[300], txt[400];

	/* Only the reasons about no canary in particular go without one. */
	if (c == NULL && r->code != REASON_NONE) {
		clean(r->detail, out, outlen);
		return;
	}
	switch (r->code) {
	case REASON_DELIVERED:
	case REASON_SLOW:
	case REASON_LATE:
		reason_delivered(c, r->code, out, outlen);
		return;
	case REASON_PENDING:
		output_duration(canary_age(c, now), d1, sizeof(d1));
		snprintf(out, outlen, "canary #%lu in flight for %s, no "
		    "outcome yet", c->seq, d1);
		return;
	case REASON_NONE:
		snprintf(out, outlen, "no canary has been sent yet");
		return;
	case REASON_HIDDEN:
	case REASON_OVERDUE:
		reason_missing(c, r, now, out, outlen);
		return;
	case REASON_BOUNCED:
	case REASON_BOGUS_BOUNCE:
		reason_bounced(c, r->code, out, outlen);
		return;
	case REASON_SUBMIT_FAILED:
		clean(c->error, txt, sizeof(txt));
		snprintf(out, outlen, "cannot submit canary #%lu: %s", c->seq,
		    txt);
		return;
	case REASON_AUTH_RESULTS:
		auth_text(c, 1, txt, sizeof(txt));
		snprintf(out, outlen, "canary #%lu delivered but %s", c->seq,
		    txt);
		return;
	case REASON_DELAYED:
		clean(c->bounce_reporting_mta, via, sizeof(via));
		clean(c->bounce_diag, txt, 200);
		snprintf(out, outlen, "delay notice for canary #%lu%s%s: it "
		    "sits in a queue on the way%s%s%s", c->seq,
		    via[0] ? " from " : "", via, txt[0] ? " (\"" : "", txt,
		    txt[0] ? "\")" : "");
		return;
	case REASON_JUNK:
		reason_junk(c, out, outlen);
		return;
	default:
		clean(r->detail, out, outlen);
		return;
	}
}

void
output_perfdata(const struct state *st, const struct verdict *v,
    const struct output_opts *opts, struct perfdata *p)
{
	const struct canary *d = state_find_seq(st, v->last_delivered);
	size_t i, n;

	memset(p, 0, sizeof(*p));
	if (d != NULL)
		perf_add(p, "latency", d->latency, "s", opts->warning,
		    opts->critical, 1, 1);
	perf_add(p, "inflight", (double)v->inflight, "", NULL, NULL, 1, 0);
	perf_add(p, "oldest_inflight", floor(v->oldest_inflight), "s",
	    opts->warning, opts->critical, 1, 0);
	perf_add(p, "sent", (double)st->count.sent, "c", NULL, NULL, 0, 0);
	perf_add(p, "delivered", (double)st->count.delivered, "c", NULL, NULL,
	    0, 0);
	perf_add(p, "hidden", (double)st->count.hidden, "c", NULL, NULL, 0, 0);
	perf_add(p, "late", (double)st->count.late, "c", NULL, NULL, 0, 0);
	perf_add(p, "submit_failed", (double)st->count.submit_failed, "c",
	    NULL, NULL, 0, 0);
	perf_add(p, "bounced", (double)st->count.bounced, "c", NULL, NULL, 0,
	    0);
	perf_add(p, "bogus_ndr", (double)st->count.bogus_ndr, "c", NULL, NULL,
	    0, 0);
	perf_add(p, "delayed_dsn", (double)st->count.delayed_dsn, "c", NULL,
	    NULL, 0, 0);
	perf_add(p, "junk", (double)st->count.junk, "c", NULL, NULL, 0, 0);
	if (d != NULL && d->greylisted && d->greylist_delay >= 0)
		perf_add(p, "greylist_delay", (double)d->greylist_delay, "s",
		    NULL, NULL, 0, 0);
	/* Authentication-Results of the newest delivery: how many of SPF,
	 * DKIM and DMARC passed (0-3), and the deliveries that did not
	 * pass them all. */
	if ((d != NULL && d->auth.checked) || st->count.auth_not_passed > 0) {
		for (i = 0, n = 0; d != NULL && i < AUTHRES_NMETHODS; i++)
			n += d->auth.result[i] == AUTHRES_PASS;
		if (d != NULL && d->auth.checked)
			perf_add(p, "auth_pass", (double)n, "", NULL, NULL, 1,
			    0);
		perf_add(p, "auth_not_passed",
		    (double)st->count.auth_not_passed, "c", NULL, NULL, 0, 0);
	}
	/* The newest submission's hand-over: the server, not the path. */
	for (i = st->n; i > 0; i--)
		if (st->c[i - 1].handover > 0) {
			perf_add(p, "handover", st->c[i - 1].handover, "s",
			    NULL, NULL, 1, 3);
			break;
		}
}

/* Reasons worst first, keeping their order otherwise. */
static void
reason_order(const struct verdict *v, size_t *idx)
{
	size_t i, k = 0;
	int r;

	for (r = mc_state_rank(MC_CRITICAL); r >= mc_state_rank(MC_OK); r--)
		for (i = 0; i < v->n; i++)
			if (mc_state_rank(v->r[i].state) == r)
				idx[k++] = i;
}

void
output_status_line(const struct output_opts *opts, const struct state *st,
    const struct verdict *v, double now, char *line, size_t linelen)
{
	char text[600];
	struct buf out;
	size_t idx[VERDICT_REASONS_MAX], i;

	buf_init(&out, 8192);
	buf_addf(&out, "MAILCANARY %s - ", mc_state_name(v->state));
	reason_order(v, idx);
	for (i = 0; i < v->n; i++) {
		/* The status line carries the problems; OK news only alone. */
		if (i > 0 && v->r[idx[i]].state == MC_OK)
			continue;
		output_reason(st, &v->r[idx[i]], now, text, sizeof(text));
		buf_addf(&out, "%s%s", i ? "; " : "", text);
	}
	snprintf(line, linelen, "%s", out.data ? out.data : "");
	buf_free(&out);
}

static int
print_nagios(FILE *fp, const struct output_opts *opts, const struct state *st,
    const struct verdict *v, double now)
{
	char line[8192];
	struct perfdata p;
	struct buf out;
	size_t i, lines = 0;

	buf_init(&out, 16384);
	output_status_line(opts, st, v, now, line, sizeof(line));
	buf_addstr(&out, line);
	output_perfdata(st, v, opts, &p);
	buf_addstr(&out, " |");
	for (i = 0; i < p.n; i++) {
		perf_format(&p.item[i], line, sizeof(line));
		buf_addf(&out, " %s", line);
	}
	buf_addstr(&out, "\n");
	fputs(out.data, fp);
	buf_free(&out);
	/* Long output: newest canary first, capped in lines and bytes. */
	buf_init(&out, OUTPUT_LONG_MAX);
	if (v->clock_steps > 0) {
		output_duration(v->clock_step, line, sizeof(line));
		buf_addf(&out, "clock step: the system clock is %s behind the "
		    "sending time of %zu canar%s in flight; %s counted as "
		    "0\n", line, v->clock_steps, v->clock_steps == 1 ? "y" :
		    "ies", v->clock_steps == 1 ? "its age is" : "their ages "
		    "are");
		lines++;
	}
	for (i = st->n; i-- > 0 && lines < OUTPUT_LONG_LINES;) {
		output_canary(&st->c[i], now, line, sizeof(line));
		if (buf_addf(&out, "%s\n", line) == -1)
			break;
		lines++;
	}
	if (out.data)
		fputs(out.data, fp);
	buf_free(&out);
	return v->state;
}

/* "auth_results": the newest delivery's, with its canary, when read. */
static void
print_json_auth(json_t *root, const struct state *st, const struct verdict *v)
{
	const struct canary *d = state_find_seq(st, v->last_delivered);
	json_t *c, *a;

	if (d == NULL || !d->auth.checked)
		return;
	c = canary_to_json(d);
	if ((a = json_object_get(c, "auth_results")) != NULL) {
		json_object_set_new(a, "canary",
		    json_integer((json_int_t)d->seq));
		json_object_set(root, "auth_results", a);
	}
	json_decref(c);
}

static int
print_json(FILE *fp, const struct output_opts *opts, const struct state *st,
    const struct verdict *v, double now)
{
	json_t *root = json_object(), *a, *o;
	char text[600], line[200];
	struct perfdata p;
	size_t idx[VERDICT_REASONS_MAX], i;
	char *s;

	json_object_set_new(root, "probe", json_string(opts->probe));
	json_object_set_new(root, "verdict",
	    json_string(mc_state_name(v->state)));
	json_object_set_new(root, "exit_code", json_integer(v->state));
	json_object_set_new(root, "time", json_real(now));
	a = json_array();
	reason_order(v, idx);
	for (i = 0; i < v->n; i++) {
		const struct reason *r = &v->r[idx[i]];

		output_reason(st, r, now, text, sizeof(text));
		o = json_pack("{s:s, s:s, s:s}", "state",
		    mc_state_name(r->state), "code", reason_name(r->code), "text",
		    text);
		if (r->canary >= 0)
			json_object_set_new(o, "canary",
			    json_integer((json_int_t)r->canary));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "reasons", a);
	output_perfdata(st, v, opts, &p);
	a = json_array();
	for (i = 0; i < p.n; i++) {
		perf_format(&p.item[i], line, sizeof(line));
		o = json_pack("{s:s, s:f, s:s, s:s}", "label",
		    p.item[i].label, "value", p.item[i].value, "uom",
		    p.item[i].uom, "text", line);
		if (p.item[i].warn[0])
			json_object_set_new(o, "warn",
			    json_string(p.item[i].warn));
		if (p.item[i].crit[0])
			json_object_set_new(o, "crit",
			    json_string(p.item[i].crit));
		json_array_append_new(a, o);
	}
	json_object_set_new(root, "perfdata", a);
	json_object_set_new(root, "counters", state_counters_json(st));
	if (v->clock_steps > 0)
		json_object_set_new(root, "clock_step", json_pack("{s:I, s:f}",
		    "canaries", (json_int_t)v->clock_steps, "seconds",
		    v->clock_step));
	json_object_set_new(root, "inflight", json_integer(
	    (json_int_t)v->inflight));
	print_json_auth(root, st, v);
	a = json_array();
	for (i = st->n; i-- > 0;)
		json_array_append_new(a, canary_to_json(&st->c[i]));
	json_object_set_new(root, "canaries", a);
	/* JSON escapes control characters; nothing raw reaches the line. */
	s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (s != NULL) {
		fprintf(fp, "%s\n", s);
		free(s);
	}
	return v->state;
}

int
output_print(FILE *fp, const struct output_opts *opts, const struct state *st,
    const struct verdict *v, double now)
{
	if (opts->format == OUTPUT_JSON)
		return print_json(fp, opts, st, v, now);
	return print_nagios(fp, opts, st, v, now);
}

int
output_error(FILE *fp, int format, int state, const struct mc_error *err)
{
	char text[1024];
	json_t *o;
	char *s;

	clean(err->msg, text, sizeof(text));
	if (format == OUTPUT_JSON) {
		o = json_pack("{s:s, s:i, s:[{s:s, s:s, s:s}]}", "verdict",
		    mc_state_name(state), "exit_code", state, "reasons",
		    "state", mc_state_name(state), "code",
		    error_code_name(err->code), "text", text);
		s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		if (s != NULL)
			fprintf(fp, "%s\n", s);
		free(s);
	} else {
		fprintf(fp, "MAILCANARY %s - %s\n", mc_state_name(state), text);
	}
	return state;
}
