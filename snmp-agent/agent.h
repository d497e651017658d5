/*
 * agent.h - mailcanaryd's SNMP side: MAILCANARY-MIB's mcProbeTable served
 * from snapshots (never from mail I/O), and its notifications. Only the
 * main thread calls these: Net-SNMP is not thread-safe.
 */
#ifndef MC_AGENT_H
#define MC_AGENT_H

#include <stddef.h>

#include "metrics.h"

/* enterprises.32473: RFC 5612's documentation number, until the project
 * has its own Private Enterprise Number. The one place it is written. */
#define AGENT_ENTERPRISE	32473

enum agent_condition {
	COND_DELIVERED = 1, COND_PENDING, COND_OVERDUE, COND_HIDDEN,
	COND_BOUNCED, COND_BOGUS, COND_DELAYED, COND_SUBMIT_FAILED,
	COND_MAILBOX_FAILED
};

/* One row of mcCanaryTable. */
struct canary_row {
	unsigned long	seq;
	char		token[64 + 1];
	double		sent_at;	/* wall clock */
	int		outcome;	/* McOutcome: 1 inFlight .. 6 */
	unsigned long	latency_ms;
	char		queue_id[129];
	char		bounce_status[17];
};

/* Rows of mcCanaryTable per probe: the oldest in flight, then the newest
 * resolved. */
#define AGENT_CANARIES_INFLIGHT	32
#define AGENT_CANARIES_RESOLVED	5

/* A canary delivered (or late) and its latency, seconds. */
struct snap_seen {
	unsigned long	seq;
	double		latency;
};

/* What the tables show of one probe: a copy, made after each cycle. The
 * canary rows are owned by the snapshot (agent_snapshot_free). */
struct snapshot {
	unsigned long	index;
	char		name[65];
	char		route[300];
	char		recipient[320];
	int		state;		/* 1 ok .. 4 unknown */
	int		condition;	/* enum agent_condition */
	char		text[512];
	unsigned long	sent, delivered, bounced, bogus, delayed, hidden, late,
			submit_failed;
	unsigned long	inflight, oldest_inflight;
	unsigned long	last_latency_ms, median_ms, p95_ms;
	unsigned long	greylist_delay, since_delivery;
	char		bounce_status[17];
	char		bounce_diag[256];
	/* Canaries delivered to a junk folder; seconds since the newest
	 * of them arrived (0: none in the state). */
	unsigned long	junk, since_junk;
	unsigned long	last_change;	/* sysUpTime, centiseconds */
	unsigned long	discontinuity;
	/* For notifications: the canary that changed things. */
	unsigned long	canary_seq;
	unsigned long	canary_age;
	char		canary_queue_id[129];
	char		canary_bounce_status[17];
	struct canary_row *canaries;	/* ordered by seq */
	size_t		ncanaries;
	/* The cycle failed (no report): snap_take() keeps the counters. */
	int		failed;
	/* /metrics (http.c): the same in metrics.h's terms, with the
	 * latency histogram that snap_take() keeps across cycles. */
	struct metrics_probe metrics;
	/* A cycle's: the canaries delivered or late in its state; the
	 * served one's: those the histogram has counted. By seq; owned. */
	struct snap_seen *seen;
	size_t		nseen;
};

/* Connects as an AgentX subagent and registers the tables and
 * sysORTable; Net-SNMP's messages go to syslog or stderr. */
int	agent_init(const char *socket, int ping_seconds, int to_syslog);
/* Publishes the current rows (sorted by index, no index twice); the
 * array and its canary rows are borrowed until the next call. Returns -1
 * when out of memory: the probe rows are served, the canary rows not. */
int	agent_publish(const struct snapshot *, size_t);
void	agent_snapshot_free(struct snapshot *);
/* Runs Net-SNMP for at most timeout_ms: requests, pings, reconnects. */
void	agent_poll(int timeout_ms);
unsigned long	agent_uptime(void);
enum agent_notification { NOTIFY_HIDDEN, NOTIFY_BOUNCED, NOTIFY_RECOVERED };
void	agent_notify(enum agent_notification, const struct snapshot *);
void	agent_shutdown(void);

#endif
