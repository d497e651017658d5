/*
 * metrics.c - the Prometheus text exposition format (version 0.0.4) of
 * probes: one family after another, each with its HELP and TYPE once
 * and a sample per probe, label values escaped (backslash, double quote
 * and newline). mailcanaryd serves it on /metrics; check_mailcanary
 * --metrics-file writes it for node_exporter's textfile collector.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "canary.h"
#include "metrics.h"
#include "probe.h"
#include "reason.h"
#include "state.h"

#define METRICS_FILE_MAX	(64 * 1024)

const double metrics_buckets[METRICS_NBUCKETS] = {
	1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400
};

/* McState 1..4 and McCondition 1..9 as label values. */
static const char *const state_labels[] = {
	"ok", "warning", "critical", "unknown"
};
#define NSTATES		(sizeof(state_labels) / sizeof(state_labels[0]))

int
metrics_parse_listen(const char *s, struct sockaddr_storage *ss,
    socklen_t *len, struct mc_error *err)
{
	struct sockaddr_storage sa;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = s, *end;
	size_t hl;
	long port;
	char *pe;

	memset(&sa, 0, sizeof(sa));
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			goto bad;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			goto bad;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	port = strtol(colon + 1, &pe, 10);
	if (errno || *pe != '\0' || port < 1 || port > 65535)
		goto bad;
	if (*s == '[') {
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	} else {
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	}
	if (ss != NULL)
		*ss = sa;
	if (len != NULL)
		*len = *s == '[' ? sizeof(*s6) : sizeof(*s4);
	return 0;
bad:
	return error_set(err, MC_ERR_CONFIG, "must be a numeric IPv4 "
	    "address and a port (127.0.0.1:9555) or an IPv6 address in "
	    "brackets and a port ([::1]:9555), not '%s'", s);
}

void
metrics_observe(struct metrics_hist *h, double latency)
{
	size_t i;

	if (latency < 0)
		latency = 0;
	for (i = 0; i < METRICS_NBUCKETS && latency > metrics_buckets[i]; i++)
		;
	h->bucket[i]++;
	h->count++;
	h->sum += latency;
}

/* The junk counter, and when the newest canary found in junk arrived. */
static void
metrics_junk(struct metrics_probe *m, const struct state *st)
{
	size_t i;

	m->junk = st->count.junk;
	for (i = 0; i < st->n; i++)
		if (st->c[i].junk_folder != NULL &&
		    st->c[i].arrived_at > m->last_junk)
			m->last_junk = st->c[i].arrived_at;
}

/* The Authentication-Results part of a report: d the newest delivery. */
static void
metrics_auth_from_report(struct metrics_probe *m, const struct state *st,
    const struct canary *d)
{
	int k;

	m->auth_not_passed = st->count.auth_not_passed;
	m->has_auth = d != NULL && d->auth.checked;
	for (k = 0; k < AUTHRES_NMETHODS; k++)
		m->auth[k] = m->has_auth ? d->auth.result[k] : AUTHRES_MISSING;
}

void
metrics_from_report(struct metrics_probe *m, const char *name,
    const struct probe_report *rep)
{
	const struct state *st = &rep->st;
	const struct verdict *v = &rep->v;
	const struct canary *d;

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->state = mc_state_mib(v->state);
	m->condition = verdict_condition(v);
	m->sent = st->count.sent;
	m->delivered = st->count.delivered;
	m->hidden = st->count.hidden;
	m->late = st->count.late;
	/* count.bounced counts the bogus reports too. */
	m->bogus = st->count.bogus_ndr;
	m->bounced = st->count.bounced > m->bogus ?
	    st->count.bounced - m->bogus : 0;
	m->delayed = st->count.delayed_dsn;
	m->unparseable = st->count.unparseable;
	m->inflight = v->inflight;
	m->oldest_inflight = v->oldest_inflight;
	m->greylist_delay = -1;
	metrics_junk(m, st);
	if ((d = state_find_seq(st, v->last_delivered)) != NULL) {
		m->last_delivery = d->arrived_at;
		m->greylist_delay = (double)d->greylist_delay;
	}
	metrics_auth_from_report(m, st, d);
}

/* A label value: \, " and newline escaped, as the format says; the runs
 * between them copied whole. */
static void
add_label(struct buf *b, const char *v)
{
	size_t n;

	for (;;) {
		n = strcspn(v, "\\\"\n");
		buf_add(b, v, n);
		v += n;
		switch (*v) {
		case '\0':
			return;
		case '\\':
			buf_addstr(b, "\\\\");
			break;
		case '"':
			buf_addstr(b, "\\\"");
			break;
		default:
			buf_addstr(b, "\\n");
		}
		v++;
	}
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{probe="P"[,extra]} */
static void
series(struct buf *b, const char *name, const struct metrics_probe *m,
    const char *extra)
{
	buf_addstr(b, name);
	buf_addstr(b, "{probe=\"");
	add_label(b, m->name);
	buf_addstr(b, "\"");
	if (extra != NULL) {
		buf_addstr(b, ",");
		buf_addstr(b, extra);
	}
	buf_addstr(b, "} ");
}

/* Doubles print without exponents for any value the families hold. */
static void
value(struct buf *b, double v)
{
	buf_addf(b, "%.15g\n", v);
}

struct counter_family {
	const char	*name;
	const char	*help;
	size_t		 offset;
};

static void
render_hist(struct buf *b, const struct metrics_probe *m)
{
	char le[64];
	unsigned long cum = 0;
	size_t i;

	for (i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += m->hist.bucket[i];
		if (i < METRICS_NBUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"", metrics_buckets[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		series(b, "mailcanary_delivery_latency_seconds_bucket", m, le);
		buf_addf(b, "%lu\n", cum);
	}
	series(b, "mailcanary_delivery_latency_seconds_sum", m, NULL);
	value(b, m->hist.sum);
	series(b, "mailcanary_delivery_latency_seconds_count", m, NULL);
	buf_addf(b, "%lu\n", m->hist.count);
}

/*
 * SPF, DKIM and DMARC: the deliveries that did not pass them all, and
 * the newest delivery's result per method, one series per possible
 * result (1 for its result, 0 for the others) as the state is shown.
 */
static void
render_auth(struct buf *b, const struct metrics_probe *p, size_t n)
{
	char extra[64];
	size_t i;
	int m, r;

	family(b, "mailcanary_auth_not_passed_total", "counter", "Canaries "
	    "delivered whose SPF, DKIM or DMARC result (Authentication-"
	    "Results of the configured authserv_id) was not pass.");
	for (i = 0; i < n; i++) {
		series(b, "mailcanary_auth_not_passed_total", &p[i], NULL);
		buf_addf(b, "%lu\n", p[i].auth_not_passed);
	}
	family(b, "mailcanary_auth_result", "gauge", "The newest delivered "
	    "canary's result per method (spf, dkim, dmarc): 1 for its "
	    "result, 0 for the others; only while authserv_id is set.");
	for (i = 0; i < n; i++)
		for (m = 0; p[i].has_auth && m < AUTHRES_NMETHODS; m++)
			for (r = AUTHRES_NONE; r <= AUTHRES_MISSING; r++) {
				snprintf(extra, sizeof(extra), "method=\"%s\","
				    "result=\"%s\"", authres_method_name(m),
				    authres_result_name(r));
				series(b, "mailcanary_auth_result", &p[i], extra);
				buf_addf(b, "%d\n", p[i].auth[m] == r);
			}
}

/* The counter families: canaries by outcome, and reports by class. */
static void
render_counters(struct buf *b, const struct metrics_probe *p, size_t n)
{
	static const struct counter_family counters[] = {
		{ "mailcanary_canaries_sent_total", "Canaries submitted, or "
		    "whose submission failed.",
		    offsetof(struct metrics_probe, sent) },
		{ "mailcanary_canaries_delivered_total", "Canaries found in "
		    "the test mailbox in time.",
		    offsetof(struct metrics_probe, delivered) },
		{ "mailcanary_canaries_hidden_total", "Canaries neither "
		    "delivered nor bounced within lost_after.",
		    offsetof(struct metrics_probe, hidden) },
		{ "mailcanary_canaries_late_total", "Hidden canaries that "
		    "turned up after all.",
		    offsetof(struct metrics_probe, late) },
		{ "mailcanary_canaries_junk_total", "Canaries found in a "
		    "junk folder (junk_folders): delivered, to junk.",
		    offsetof(struct metrics_probe, junk) },
	};
	static const struct {
		const char	*class;
		size_t		 offset;
	} bounces[] = {
		{ "permanent", offsetof(struct metrics_probe, bounced) },
		{ "bogus", offsetof(struct metrics_probe, bogus) },
		{ "delayed", offsetof(struct metrics_probe, delayed) },
		{ "unparseable", offsetof(struct metrics_probe, unparseable) },
	};
	char extra[64];
	size_t i, k, j;

	for (k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
		family(b, counters[k].name, "counter", counters[k].help);
		for (i = 0; i < n; i++) {
			series(b, counters[k].name, &p[i], NULL);
			buf_addf(b, "%lu\n", *(const unsigned long *)
			    (const void *)((const char *)&p[i] +
			    counters[k].offset));
		}
	}
	family(b, "mailcanary_bounces_total", "counter", "Reports that came "
	    "back for canaries, by class: permanent (a real rejection), "
	    "bogus (a failure report for a temporary error), delayed (a "
	    "delay notice), unparseable (a report that cannot be read).");
	for (i = 0; i < n; i++)
		for (j = 0; j < sizeof(bounces) / sizeof(bounces[0]); j++) {
			snprintf(extra, sizeof(extra), "class=\"%s\"",
			    bounces[j].class);
			series(b, "mailcanary_bounces_total", &p[i], extra);
			buf_addf(b, "%lu\n", *(const unsigned long *)
			    (const void *)((const char *)&p[i] +
			    bounces[j].offset));
		}
}

/* The gauges of times and counts, one series per probe. */
static void
render_gauges(struct buf *b, const struct metrics_probe *p, size_t n)
{
	static const struct {
		const char	*name;
		const char	*help;
		size_t		 offset;	/* of a double */
	} times[] = {
		{ "mailcanary_oldest_in_flight_seconds", "Age of the oldest "
		    "canary in flight; 0 when none is.",
		    offsetof(struct metrics_probe, oldest_inflight) },
		{ "mailcanary_last_delivery_timestamp_seconds", "When the "
		    "newest delivered canary arrived (Unix time); 0 when none "
		    "has.", offsetof(struct metrics_probe, last_delivery) },
		{ "mailcanary_last_junk_timestamp_seconds", "When the newest "
		    "canary found in a junk folder arrived (Unix time); 0 when "
		    "none is in the state.",
		    offsetof(struct metrics_probe, last_junk) },
	};
	size_t i, k;

	family(b, "mailcanary_greylist_delay_seconds", "gauge", "Greylisting "
	    "delay of the newest delivered canary, when its headers tell.");
	for (i = 0; i < n; i++)
		if (p[i].last_delivery > 0 && p[i].greylist_delay >= 0) {
			series(b, "mailcanary_greylist_delay_seconds", &p[i],
			    NULL);
			value(b, p[i].greylist_delay);
		}
	family(b, "mailcanary_in_flight", "gauge", "Canaries sent and not "
	    "yet resolved.");
	for (i = 0; i < n; i++) {
		series(b, "mailcanary_in_flight", &p[i], NULL);
		buf_addf(b, "%lu\n", p[i].inflight);
	}
	for (k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
		family(b, times[k].name, "gauge", times[k].help);
		for (i = 0; i < n; i++) {
			series(b, times[k].name, &p[i], NULL);
			value(b, *(const double *)(const void *)
			    ((const char *)&p[i] + times[k].offset));
		}
	}
}

/* The probe's state and condition: one series per value, 1 for its own. */
static void
render_states(struct buf *b, const struct metrics_probe *p, size_t n)
{
	char extra[64];
	size_t i, j;

	family(b, "mailcanary_probe_state", "gauge", "The probe's state: 1 "
	    "for the current one, 0 for the others.");
	for (i = 0; i < n; i++)
		for (j = 0; j < NSTATES; j++) {
			snprintf(extra, sizeof(extra), "state=\"%s\"",
			    state_labels[j]);
			series(b, "mailcanary_probe_state", &p[i], extra);
			buf_addf(b, "%d\n", p[i].state == (int)j + 1);
		}
	family(b, "mailcanary_probe_condition", "gauge", "What decided the "
	    "probe's state (MAILCANARY-MIB McCondition): 1 for the current "
	    "one, 0 for the others.");
	for (i = 0; i < n; i++)
		for (j = MC_COND_DELIVERED; j <= MC_COND_MAX; j++) {
			snprintf(extra, sizeof(extra), "condition=\"%s\"",
			    reason_condition_name((int)j));
			series(b, "mailcanary_probe_condition", &p[i], extra);
			buf_addf(b, "%d\n", p[i].condition == (int)j);
		}
}

int
metrics_render(struct buf *b, const struct metrics_probe *p, size_t n,
    unsigned flags)
{
	size_t i;
	int hist = 0;

	render_counters(b, p, n);
	for (i = 0; i < n; i++)
		hist |= p[i].has_hist;
	if (hist) {
		family(b, "mailcanary_delivery_latency_seconds", "histogram",
		    "Submission to arrival of each canary delivered (or late) "
		    "since the daemon started.");
		for (i = 0; i < n; i++)
			if (p[i].has_hist)
				render_hist(b, &p[i]);
	}
	render_gauges(b, p, n);
	render_states(b, p, n);
	render_auth(b, p, n);
	family(b, "mailcanary_build_info", "gauge", "Always 1; the version "
	    "of mailcanary that made these metrics.");
	buf_addstr(b, "mailcanary_build_info{");
	if ((flags & METRICS_BUILD_INFO_PROBE) && n > 0) {
		buf_addstr(b, "probe=\"");
		add_label(b, p[0].name);
		buf_addstr(b, "\",");
	}
	buf_addstr(b, "version=\"");
	add_label(b, PACKAGE_VERSION);
	buf_addstr(b, "\"} 1\n");
	return b->overflow ? -1 : 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
metrics_write_file(const char *path, const struct metrics_probe *m,
    struct mc_error *err)
{
	struct buf b;
	char tmp[4200];
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return error_set(err, MC_ERR_LIMIT, "metrics_file path is too "
		    "long");
	buf_init(&b, METRICS_FILE_MAX);
	if (metrics_render(&b, m, 1, METRICS_BUILD_INFO_PROBE) == -1) {
		buf_free(&b);
		return error_set(err, MC_ERR_NOMEM, "out of memory rendering "
		    "the metrics");
	}
	/* node_exporter's textfile collector reads *.prom only: the
	 * temporary name ends otherwise. */
	if ((fd = mkstemp(tmp)) == -1) {
		saved = errno;
		buf_free(&b);
		return error_set(err, MC_ERR_FILE, "cannot create a temporary "
		    "file for %s: %s", path, strerror(saved));
	}
	if (fchmod(fd, 0644) == -1 || write_all(fd, b.data, b.len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		buf_free(&b);
		return error_set(err, MC_ERR_FILE, "cannot write %s: %s", tmp,
		    strerror(saved));
	}
	buf_free(&b);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		return error_set(err, MC_ERR_FILE, "cannot replace %s: %s",
		    path, strerror(saved));
	}
	return 0;
}
