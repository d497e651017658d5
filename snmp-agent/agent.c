/*
 * agent.c - the Net-SNMP AgentX glue of mailcanaryd: mcProbeTable and
 * mcCanaryTable served from the published snapshots, the notifications,
 * sysORTable. Nothing here blocks on anything but the AgentX socket.
 */
/* Net-SNMP's config header defines these as well. */
#undef PACKAGE_NAME
#undef PACKAGE_STRING
#undef PACKAGE_TARNAME
#undef PACKAGE_VERSION
#undef PACKAGE_BUGREPORT
#undef PACKAGE_URL
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_sysORTable.h>

#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <syslog.h>
#include <time.h>

#include "agent.h"
#include "deadline.h"

#define MC_OID	1, 3, 6, 1, 4, 1, AGENT_ENTERPRISE

static const oid probe_entry_oid[] = { MC_OID, 1, 1, 1 };
static const oid canary_entry_oid[] = { MC_OID, 1, 2, 1 };
static const oid module_oid[] = { MC_OID };
static const oid trap_oids[][10] = {
	{ MC_OID, 0, 1 }, { MC_OID, 0, 2 }, { MC_OID, 0, 3 }
};
static const oid snmptrap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };

/* What the handlers serve: probe rows by index, canary rows by (probe
 * index, seq), both sorted, both rebuilt by agent_publish(). */
struct canary_ref {
	const struct snapshot	*probe;
	const struct canary_row	*c;
};
static const struct snapshot *rows;
static size_t nrows;
static struct canary_ref *crows;
static size_t ncrows;

/* The master's sysUpTime: the subagent library synchronises its clock
 * with every response from snmpd, so TimeStamps are on the manager's
 * scale. */
unsigned long
agent_uptime(void)
{
	return netsnmp_get_agent_uptime();
}

/* A TimeStamp from before the master's last restart reads as 0. */
static unsigned long
timestamp(unsigned long t)
{
	return t <= agent_uptime() ? t : 0;
}

/*
 * A table served from a sorted array, without the iterator helper: GET
 * and GETNEXT find a row by binary search, so a walk of n rows costs
 * n log n, not n squared. GETBULK arrives as GETNEXTs (bulk_to_next).
 */
struct table_def {
	const oid	*entry;
	size_t		 entry_len;
	unsigned long	 min_col, max_col;
	size_t		 nidx;		/* sub-identifiers in an index */
	size_t		(*count)(void);
	void		(*index)(size_t row, oid *out);
	void		(*value)(size_t row, unsigned long col,
			    netsnmp_variable_list *);
};

#define TABLE_OID_MAX	32

/* entry.col.index of a row into out; returns its length. */
static size_t
table_name(const struct table_def *t, unsigned long col, size_t row,
    oid *out)
{
	memcpy(out, t->entry, t->entry_len * sizeof(oid));
	out[t->entry_len] = (oid)col;
	t->index(row, out + t->entry_len + 1);
	return t->entry_len + 1 + t->nidx;
}

/* The first row of a column whose name is greater than (or, exact, equal
 * to) name; count() when there is none. */
static size_t
table_search(const struct table_def *t, unsigned long col, const oid *name,
    size_t len, int exact)
{
	oid cand[TABLE_OID_MAX];
	size_t lo = 0, hi = t->count(), mid, n;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		n = table_name(t, col, mid, cand);
		c = snmp_oid_compare(cand, n, name, len);
		if (c < 0 || (c == 0 && !exact))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
table_get(const struct table_def *t, netsnmp_agent_request_info *ri,
    netsnmp_request_info *r)
{
	const oid *name = r->requestvb->name;
	size_t len = r->requestvb->name_length, row;
	oid cand[TABLE_OID_MAX];
	unsigned long col;

	if (len <= t->entry_len || snmp_oid_compare(name, t->entry_len,
	    t->entry, t->entry_len) != 0 || name[t->entry_len] < t->min_col ||
	    name[t->entry_len] > t->max_col) {
		netsnmp_set_request_error(ri, r, SNMP_NOSUCHOBJECT);
		return;
	}
	col = name[t->entry_len];
	row = table_search(t, col, name, len, 1);
	if (len != t->entry_len + 1 + t->nidx || row >= t->count() ||
	    snmp_oid_compare(cand, table_name(t, col, row, cand), name,
	    len) != 0) {
		netsnmp_set_request_error(ri, r, SNMP_NOSUCHINSTANCE);
		return;
	}
	r->requestvb->type = ASN_NULL;
	t->value(row, col, r->requestvb);
	/* A column between min_col and max_col that this build lacks. */
	if (r->requestvb->type == ASN_NULL)
		netsnmp_set_request_error(ri, r, SNMP_NOSUCHOBJECT);
}

static void
table_getnext(const struct table_def *t, netsnmp_request_info *r)
{
	const oid *name = r->requestvb->name;
	size_t len = r->requestvb->name_length, row = 0, n;
	oid cand[TABLE_OID_MAX], orig[MAX_OID_LEN];
	unsigned long col = t->min_col;
	int c;

	if (t->count() == 0)
		return;
	/* Against the entry's prefix: past it, before it, or inside. */
	n = len < t->entry_len ? len : t->entry_len;
	c = snmp_oid_compare(name, n, t->entry, n);
	if (c > 0)
		return;		/* past the table: the next subtree answers */
	if (c == 0 && len > t->entry_len && name[t->entry_len] >= t->min_col) {
		if (name[t->entry_len] > t->max_col)
			return;
		col = name[t->entry_len];
		row = table_search(t, col, name, len, 0);
		if (row >= t->count()) {
			if (++col > t->max_col)
				return;
			row = 0;
		}
	}
	if (len > MAX_OID_LEN)
		return;
	memcpy(orig, name, len * sizeof(oid));
	for (;;) {
		n = table_name(t, col, row, cand);
		snmp_set_var_objid(r->requestvb, cand, n);
		r->requestvb->type = ASN_NULL;
		t->value(row, col, r->requestvb);
		if (r->requestvb->type != ASN_NULL)
			return;
		/* A column this build lacks (a gap): the next one. */
		if (++col > t->max_col)
			break;
		row = 0;
	}
	/* Past the last column: as asked, the next subtree answers. */
	snmp_set_var_objid(r->requestvb, orig, len);
}

static int
table_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *requests)
{
	const struct table_def *t = h->myvoid;
	netsnmp_request_info *r;

	(void)reg;
	for (r = requests; r != NULL; r = r->next) {
		if (r->processed)
			continue;
		if (ri->mode == MODE_GET)
			table_get(t, ri, r);
		else if (ri->mode == MODE_GETNEXT)
			table_getnext(t, r);
	}
	return SNMP_ERR_NOERROR;
}

static void
set_str(netsnmp_variable_list *v, const char *s)
{
	snmp_set_var_typed_value(v, ASN_OCTET_STR, s, strlen(s));
}

static void
set_num(netsnmp_variable_list *v, u_char type, unsigned long n)
{
	u_long x = n;
	long i = (long)n;

	if (type == ASN_INTEGER)
		snmp_set_var_typed_value(v, type, &i, sizeof(i));
	else
		snmp_set_var_typed_value(v, type, &x, sizeof(x));
}

static size_t
probe_count(void)
{
	return nrows;
}

static void
probe_index(size_t row, oid *out)
{
	out[0] = (oid)rows[row].index;
}

/* mcProbeLast{Spf,Dkim,Dmarc}Result: McAuthResult, missing(10) unless
 * the newest delivery's were read. */
static unsigned long
auth_result(const struct snapshot *s, int method)
{
	int r = s->metrics.auth[method];

	return s->metrics.has_auth && r >= AUTHRES_NONE &&
	    r <= AUTHRES_MISSING ? (unsigned long)r : AUTHRES_MISSING;
}

static void
probe_value(size_t row, unsigned long col, netsnmp_variable_list *v)
{
	const struct snapshot *s = &rows[row];

	switch (col) {
	case 2: set_str(v, s->name); break;
	case 3: set_str(v, s->route); break;
	case 4: set_str(v, s->recipient); break;
	case 5: set_num(v, ASN_INTEGER, (unsigned long)s->state); break;
	case 6: set_num(v, ASN_INTEGER, (unsigned long)s->condition); break;
	case 7: set_str(v, s->text); break;
	case 8: set_num(v, ASN_COUNTER, s->sent); break;
	case 9: set_num(v, ASN_COUNTER, s->delivered); break;
	case 10: set_num(v, ASN_COUNTER, s->bounced); break;
	case 11: set_num(v, ASN_COUNTER, s->bogus); break;
	case 12: set_num(v, ASN_COUNTER, s->delayed); break;
	case 13: set_num(v, ASN_COUNTER, s->hidden); break;
	case 14: set_num(v, ASN_COUNTER, s->late); break;
	case 15: set_num(v, ASN_COUNTER, s->submit_failed); break;
	case 16: set_num(v, ASN_GAUGE, s->inflight); break;
	case 17: set_num(v, ASN_GAUGE, s->oldest_inflight); break;
	case 18: set_num(v, ASN_GAUGE, s->last_latency_ms); break;
	case 19: set_num(v, ASN_GAUGE, s->median_ms); break;
	case 20: set_num(v, ASN_GAUGE, s->p95_ms); break;
	case 21: set_num(v, ASN_GAUGE, s->greylist_delay); break;
	case 22: set_num(v, ASN_GAUGE, s->since_delivery); break;
	case 23: set_str(v, s->bounce_status); break;
	case 24: set_str(v, s->bounce_diag); break;
	case 25: set_num(v, ASN_TIMETICKS, timestamp(s->last_change)); break;
	case 26: set_num(v, ASN_TIMETICKS, timestamp(s->discontinuity));
		break;
	case 27: set_num(v, ASN_COUNTER, s->junk); break;
	case 28: set_num(v, ASN_GAUGE, s->since_junk); break;
	case 29: case 30: case 31:
		set_num(v, ASN_INTEGER, auth_result(s, (int)col - 29));
		break;
	case 32: set_num(v, ASN_COUNTER, s->metrics.auth_not_passed); break;
	}
}

static size_t
canary_count(void)
{
	return ncrows;
}

static void
canary_index(size_t row, oid *out)
{
	out[0] = (oid)crows[row].probe->index;
	out[1] = (oid)crows[row].c->seq;
}

/* DateAndTime, UTC: year(2) month day hour minutes seconds deci-seconds
 * '+' 0 0. */
static void
set_date(netsnmp_variable_list *v, double t)
{
	u_char d[11];
	time_t sec = (time_t)t;
	struct tm tm;

	gmtime_r(&sec, &tm);
	d[0] = (u_char)((tm.tm_year + 1900) >> 8);
	d[1] = (u_char)((tm.tm_year + 1900) & 0xff);
	d[2] = (u_char)(tm.tm_mon + 1);
	d[3] = (u_char)tm.tm_mday;
	d[4] = (u_char)tm.tm_hour;
	d[5] = (u_char)tm.tm_min;
	d[6] = (u_char)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	d[7] = (u_char)((t - (double)sec) * 10);
	d[8] = '+';
	d[9] = d[10] = 0;
	snmp_set_var_typed_value(v, ASN_OCTET_STR, d, sizeof(d));
}

static void
canary_value(size_t row, unsigned long col, netsnmp_variable_list *v)
{
	const struct canary_row *c = crows[row].c;
	/* The wall clock: sent_at is a stored wall time, maybe written by
	 * the plugin; every interval of the daemon is monotonic. */
	double now = clock_wall();

	switch (col) {
	case 2: set_str(v, c->token); break;
	case 3: set_date(v, c->sent_at); break;
	case 4: set_num(v, ASN_GAUGE, now > c->sent_at ?
		    (unsigned long)(now - c->sent_at) : 0); break;
	case 5: set_num(v, ASN_INTEGER, (unsigned long)c->outcome); break;
	case 6: set_num(v, ASN_GAUGE, c->latency_ms); break;
	case 7: set_str(v, c->queue_id); break;
	case 8: set_str(v, c->bounce_status); break;
	}
}

static const struct table_def probe_table = {
	probe_entry_oid, OID_LENGTH(probe_entry_oid), 2, 32, 1,
	probe_count, probe_index, probe_value
};
static const struct table_def canary_table = {
	canary_entry_oid, OID_LENGTH(canary_entry_oid), 2, 8, 2,
	canary_count, canary_index, canary_value
};

static int
table_register(const char *name, const struct table_def *t)
{
	netsnmp_handler_registration *reg;

	/* Registered at the table's OID, the entry without its last arc. */
	reg = netsnmp_create_handler_registration(name, table_handler,
	    t->entry, t->entry_len - 1, HANDLER_CAN_RONLY);
	if (reg == NULL)
		return -1;
	reg->handler->myvoid = (void *)t;
	return netsnmp_register_handler(reg) == SNMPERR_SUCCESS ? 0 : -1;
}

int
agent_init(const char *socket, int ping_seconds, int to_syslog)
{
	/* Net-SNMP's own messages (lost master, reconnects) go where ours
	 * go. */
	if (to_syslog)
		snmp_enable_syslog_ident("mailcanaryd", LOG_DAEMON);
	else
		snmp_enable_stderrlog();
	/* No MIB files at run time: everything here is numeric. */
	setenv("MIBS", "", 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_ROLE, 1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_X_SOCKET, socket);
	if (init_agent("mailcanaryd") != 0)
		return -1;
	/* init_agent() resets the ping interval (5.9): set it after. */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, ping_seconds);

	if (table_register("mcProbeTable", &probe_table) == -1 ||
	    table_register("mcCanaryTable", &canary_table) == -1)
		return -1;
	register_sysORTable((oid *)module_oid, OID_LENGTH(module_oid),
	    "MAILCANARY-MIB: canary messages through mail paths");
	init_snmp("mailcanaryd");
	return 0;
}

int
agent_publish(const struct snapshot *s, size_t n)
{
	struct canary_ref *c;
	size_t i, k, total = 0;

	rows = s;
	nrows = n;
	free(crows);
	crows = NULL;
	ncrows = 0;
	for (i = 0; i < n; i++)
		total += s[i].ncanaries;
	/* Out of memory: the probe rows still, the canary rows not. */
	if ((c = calloc(total + 1, sizeof(*c))) == NULL)
		return -1;
	total = 0;
	for (i = 0; i < n; i++)
		for (k = 0; k < s[i].ncanaries; k++) {
			c[total].probe = &s[i];
			c[total++].c = &s[i].canaries[k];
		}
	crows = c;
	ncrows = total;
	return 0;
}

void
agent_snapshot_free(struct snapshot *s)
{
	free(s->canaries);
	s->canaries = NULL;
	s->ncanaries = 0;
	free(s->seen);
	s->seen = NULL;
	s->nseen = 0;
}

void
agent_poll(int timeout_ms)
{
	struct timeval tv = { 0, 0 };
	fd_set fds;
	int n = 0, block = 0;

	FD_ZERO(&fds);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	snmp_select_info(&n, &fds, &tv, &block);
	if (select(n, &fds, NULL, NULL, &tv) > 0)
		snmp_read(&fds);
	else
		snmp_timeout();
	/* Alarms carry the AgentX pings and the reconnects to snmpd. */
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
}

/* A column instance: mcProbeTable { mcObjects 1 1 col index }, or with
 * seq, mcCanaryTable { mcObjects 2 1 col index seq }. */
static void
add_col(netsnmp_variable_list **vars, int col, unsigned long index,
    unsigned long seq, u_char type, const void *val, size_t len)
{
	oid name[16] = { MC_OID, 1, 1, 1 };
	size_t n;

	name[10] = (oid)col;
	name[11] = (oid)index;
	n = 12;
	if (seq) {
		name[8] = 2;
		name[12] = (oid)seq;
		n = 13;
	}
	snmp_varlist_add_variable(vars, name, n, type, val, len);
}

void
agent_notify(enum agent_notification which, const struct snapshot *s)
{
	netsnmp_variable_list *vars = NULL;
	const oid *t = trap_oids[which];
	long cond = s->condition;
	u_long age = s->canary_age, lat = s->last_latency_ms;

	snmp_varlist_add_variable(&vars, snmptrap_oid,
	    OID_LENGTH(snmptrap_oid), ASN_OBJECT_ID, (const u_char *)t,
	    9 * sizeof(oid));
	add_col(&vars, 2, s->index, 0, ASN_OCTET_STR, s->name,
	    strlen(s->name));
	add_col(&vars, 6, s->index, 0, ASN_INTEGER, &cond, sizeof(cond));
	switch (which) {
	case NOTIFY_HIDDEN:
		add_col(&vars, 4, s->index, s->canary_seq, ASN_GAUGE, &age,
		    sizeof(age));
		add_col(&vars, 7, s->index, s->canary_seq, ASN_OCTET_STR,
		    s->canary_queue_id, strlen(s->canary_queue_id));
		break;
	case NOTIFY_BOUNCED:
		add_col(&vars, 8, s->index, s->canary_seq, ASN_OCTET_STR,
		    s->canary_bounce_status, strlen(s->canary_bounce_status));
		add_col(&vars, 24, s->index, 0, ASN_OCTET_STR, s->bounce_diag,
		    strlen(s->bounce_diag));
		break;
	case NOTIFY_RECOVERED:
		add_col(&vars, 18, s->index, 0, ASN_GAUGE, &lat, sizeof(lat));
		break;
	}
	send_v2trap(vars);
	snmp_free_varbind(vars);
}

void
agent_shutdown(void)
{
	snmp_shutdown("mailcanaryd");
	free(crows);
	crows = NULL;
	ncrows = nrows = 0;
}
