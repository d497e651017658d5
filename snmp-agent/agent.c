/*
 * agent.c - the Net-SNMP AgentX glue of mailcanaryd: a table iterator
 * over the published snapshots, the notifications, sysORTable. Nothing
 * here blocks on anything but the AgentX socket.
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

#include <string.h>
#include <sys/select.h>

#include "agent.h"

#define MC_OID	1, 3, 6, 1, 4, 1, AGENT_ENTERPRISE

static const oid table_oid[] = { MC_OID, 1, 1 };
static const oid module_oid[] = { MC_OID };
static const oid trap_oids[][10] = {
	{ MC_OID, 0, 1 }, { MC_OID, 0, 2 }, { MC_OID, 0, 3 }
};
static const oid snmptrap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };

static const struct snapshot *rows;
static size_t nrows;
static struct timeval started;

unsigned long
agent_uptime(void)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (unsigned long)((now.tv_sec - started.tv_sec) * 100 +
	    (now.tv_usec - started.tv_usec) / 10000);
}

static netsnmp_variable_list *
table_next(void **loop, void **data, netsnmp_variable_list *index,
    netsnmp_iterator_info *info)
{
	size_t i = (size_t)(uintptr_t)*loop;
	u_long idx;

	(void)info;
	if (i >= nrows)
		return NULL;
	idx = rows[i].index;
	snmp_set_var_value(index, &idx, sizeof(idx));
	*data = (void *)&rows[i];
	*loop = (void *)(uintptr_t)(i + 1);
	return index;
}

static netsnmp_variable_list *
table_first(void **loop, void **data, netsnmp_variable_list *index,
    netsnmp_iterator_info *info)
{
	*loop = (void *)(uintptr_t)0;
	return table_next(loop, data, index, info);
}

static void
set_str(netsnmp_request_info *r, const char *s)
{
	snmp_set_var_typed_value(r->requestvb, ASN_OCTET_STR, s, strlen(s));
}

static void
set_num(netsnmp_request_info *r, u_char type, unsigned long v)
{
	u_long x = v;

	if (type == ASN_INTEGER) {
		long i = (long)v;

		snmp_set_var_typed_value(r->requestvb, type, &i, sizeof(i));
		return;
	}
	snmp_set_var_typed_value(r->requestvb, type, &x, sizeof(x));
}

static int
table_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *requests)
{
	netsnmp_request_info *r;
	netsnmp_table_request_info *ti;
	const struct snapshot *s;

	(void)h; (void)reg;
	if (ri->mode != MODE_GET)
		return SNMP_ERR_NOERROR;
	for (r = requests; r != NULL; r = r->next) {
		s = netsnmp_extract_iterator_context(r);
		ti = netsnmp_extract_table_info(r);
		if (s == NULL || ti == NULL) {
			netsnmp_set_request_error(ri, r, SNMP_NOSUCHINSTANCE);
			continue;
		}
		switch (ti->colnum) {
		case 2: set_str(r, s->name); break;
		case 3: set_str(r, s->route); break;
		case 4: set_str(r, s->recipient); break;
		case 5: set_num(r, ASN_INTEGER, (unsigned long)s->state); break;
		case 6: set_num(r, ASN_INTEGER, (unsigned long)s->condition);
			break;
		case 7: set_str(r, s->text); break;
		case 8: set_num(r, ASN_COUNTER, s->sent); break;
		case 9: set_num(r, ASN_COUNTER, s->delivered); break;
		case 10: set_num(r, ASN_COUNTER, s->bounced); break;
		case 11: set_num(r, ASN_COUNTER, s->bogus); break;
		case 12: set_num(r, ASN_COUNTER, s->delayed); break;
		case 13: set_num(r, ASN_COUNTER, s->hidden); break;
		case 14: set_num(r, ASN_COUNTER, s->late); break;
		case 15: set_num(r, ASN_COUNTER, s->submit_failed); break;
		case 16: set_num(r, ASN_GAUGE, s->inflight); break;
		case 17: set_num(r, ASN_GAUGE, s->oldest_inflight); break;
		case 18: set_num(r, ASN_GAUGE, s->last_latency_ms); break;
		case 19: set_num(r, ASN_GAUGE, s->median_ms); break;
		case 20: set_num(r, ASN_GAUGE, s->p95_ms); break;
		case 21: set_num(r, ASN_GAUGE, s->greylist_delay); break;
		case 22: set_num(r, ASN_GAUGE, s->since_delivery); break;
		case 23: set_str(r, s->bounce_status); break;
		case 24: set_str(r, s->bounce_diag); break;
		case 25: set_num(r, ASN_TIMETICKS, s->last_change); break;
		case 26: set_num(r, ASN_TIMETICKS, s->discontinuity); break;
		default:
			netsnmp_set_request_error(ri, r, SNMP_NOSUCHOBJECT);
		}
	}
	return SNMP_ERR_NOERROR;
}

int
agent_init(const char *socket, int ping_seconds)
{
	netsnmp_handler_registration *reg;
	netsnmp_table_registration_info *ti;
	netsnmp_iterator_info *ii;

	gettimeofday(&started, NULL);
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

	reg = netsnmp_create_handler_registration("mcProbeTable",
	    table_handler, table_oid, OID_LENGTH(table_oid),
	    HANDLER_CAN_RONLY);
	ti = SNMP_MALLOC_TYPEDEF(netsnmp_table_registration_info);
	ii = SNMP_MALLOC_TYPEDEF(netsnmp_iterator_info);
	if (reg == NULL || ti == NULL || ii == NULL)
		return -1;
	netsnmp_table_helper_add_indexes(ti, ASN_UNSIGNED, 0);
	ti->min_column = 2;
	ti->max_column = 26;
	ii->get_first_data_point = table_first;
	ii->get_next_data_point = table_next;
	ii->table_reginfo = ti;
	if (netsnmp_register_table_iterator2(reg, ii) != SNMPERR_SUCCESS)
		return -1;
	register_sysORTable((oid *)module_oid, OID_LENGTH(module_oid),
	    "MAILCANARY-MIB: canary messages through mail paths");
	init_snmp("mailcanaryd");
	return 0;
}

void
agent_publish(const struct snapshot *s, size_t n)
{
	rows = s;
	nrows = n;
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
}
