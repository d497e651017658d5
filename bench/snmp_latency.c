/*
 * snmp_latency - times SNMP requests in-process, so that the numbers are
 * the agent's and not a command's start-up:
 *   snmp_latency get HOST:PORT OID N     N GETs of one cell: p50 p99 max ms
 *   snmp_latency walk HOST:PORT OID N    N GETBULK walks of a subtree:
 *                                        rows, median and max ms per walk
 * SNMPv2c, community public. One line of output, "key=value" pairs.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
pct(const double *v, int n, double p)
{
	int i = (int)(p * n + 0.999999) - 1;

	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* One request; returns the response or NULL (error printed). */
static netsnmp_pdu *
ask(netsnmp_session *ss, int type, const oid *name, size_t len)
{
	netsnmp_pdu *pdu = snmp_pdu_create(type), *resp = NULL;

	if (type == SNMP_MSG_GETBULK) {
		pdu->non_repeaters = 0;
		pdu->max_repetitions = 50;
	}
	snmp_add_null_var(pdu, name, len);
	if (snmp_synch_response(ss, pdu, &resp) != STAT_SUCCESS ||
	    resp == NULL || resp->errstat != SNMP_ERR_NOERROR) {
		snmp_sess_perror("snmp_latency", ss);
		if (resp)
			snmp_free_pdu(resp);
		return NULL;
	}
	return resp;
}

/* A GETBULK walk of the subtree at root; returns the varbinds seen. */
static long
walk(netsnmp_session *ss, const oid *root, size_t rootlen)
{
	oid name[MAX_OID_LEN];
	size_t len = rootlen;
	netsnmp_variable_list *v;
	netsnmp_pdu *resp;
	long rows = 0;

	memcpy(name, root, rootlen * sizeof(oid));
	for (;;) {
		if ((resp = ask(ss, SNMP_MSG_GETBULK, name, len)) == NULL)
			return -1;
		for (v = resp->variables; v; v = v->next_variable) {
			if (v->name_length < rootlen || snmp_oid_compare(root,
			    rootlen, v->name, rootlen) != 0 ||
			    v->type == SNMP_ENDOFMIBVIEW) {
				snmp_free_pdu(resp);
				return rows;
			}
			rows++;
			memcpy(name, v->name, v->name_length * sizeof(oid));
			len = v->name_length;
		}
		snmp_free_pdu(resp);
	}
}

int
main(int argc, char *argv[])
{
	netsnmp_session s, *ss;
	oid name[MAX_OID_LEN];
	size_t len = MAX_OID_LEN;
	double *t, t0;
	long rows = 0;
	int n, i;

	if (argc != 5 || (strcmp(argv[1], "get") && strcmp(argv[1], "walk"))) {
		fprintf(stderr, "usage: snmp_latency get|walk HOST:PORT OID N\n");
		return 2;
	}
	n = atoi(argv[4]);
	if (n < 1 || (t = calloc((size_t)n, sizeof(*t))) == NULL)
		return 2;
	setenv("MIBS", "", 1);
	init_snmp("snmp_latency");
	if (!read_objid(argv[3], name, &len)) {
		fprintf(stderr, "snmp_latency: bad OID %s\n", argv[3]);
		return 2;
	}
	snmp_sess_init(&s);
	s.peername = argv[2];
	s.version = SNMP_VERSION_2c;
	s.community = (u_char *)"public";
	s.community_len = 6;
	s.timeout = 2000000;
	s.retries = 0;
	if ((ss = snmp_open(&s)) == NULL) {
		snmp_perror("snmp_latency");
		return 1;
	}
	for (i = 0; i < n; i++) {
		t0 = now_ms();
		if (argv[1][0] == 'g') {
			netsnmp_pdu *r = ask(ss, SNMP_MSG_GET, name, len);

			if (r == NULL)
				return 1;
			snmp_free_pdu(r);
		} else if ((rows = walk(ss, name, len)) < 0) {
			return 1;
		}
		t[i] = now_ms() - t0;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp);
	if (argv[1][0] == 'g')
		printf("n=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", n,
		    pct(t, n, 0.50), pct(t, n, 0.99), t[n - 1]);
	else
		printf("n=%d varbinds=%ld median_ms=%.1f max_ms=%.1f\n", n,
		    rows, pct(t, n, 0.50), t[n - 1]);
	snmp_close(ss);
	free(t);
	return 0;
}
