/*
 * agent.h - mailcanaryd's SNMP side: MAILCANARY-MIB's mcProbeTable served
 * from snapshots (never from mail I/O), and its notifications. Only the
 * main thread calls these: Net-SNMP is not thread-safe.
 */
#ifndef MC_AGENT_H
#define MC_AGENT_H

#include <stddef.h>

/* enterprises.32473: RFC 5612's documentation number, until the project
 * has its own Private Enterprise Number. The one place it is written. */
#define AGENT_ENTERPRISE	32473

enum agent_condition {
	COND_DELIVERED = 1, COND_PENDING, COND_OVERDUE, COND_HIDDEN,
	COND_BOUNCED, COND_BOGUS, COND_DELAYED, COND_SUBMIT_FAILED,
	COND_MAILBOX_FAILED
};

/* What the table shows of one probe: a copy, made after each cycle. */
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
	unsigned long	last_change;	/* sysUpTime, centiseconds */
	unsigned long	discontinuity;
	/* For notifications: the canary that changed things. */
	unsigned long	canary_seq;
	unsigned long	canary_age;
	char		canary_queue_id[129];
	char		canary_bounce_status[17];
};

/* Connects as an AgentX subagent and registers the table and sysORTable. */
int	agent_init(const char *socket, int ping_seconds);
/* Publishes the current rows (sorted by index); the array is borrowed. */
void	agent_publish(const struct snapshot *, size_t);
/* Runs Net-SNMP for at most timeout_ms: requests, pings, reconnects. */
void	agent_poll(int timeout_ms);
unsigned long	agent_uptime(void);
enum agent_notification { NOTIFY_HIDDEN, NOTIFY_BOUNCED, NOTIFY_RECOVERED };
void	agent_notify(enum agent_notification, const struct snapshot *);
void	agent_shutdown(void);

#endif
