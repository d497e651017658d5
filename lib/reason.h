/*
 * reason.h - the states a probe can be in and the reasons it gives, each
 * named once: one table of reasons {code, JSON name, MIB condition,
 * default state} and one of states {name, rank, MIB value}, used by the
 * verdict, the output, the plugin and the daemon.
 */
#ifndef MC_REASON_H
#define MC_REASON_H

enum mc_state {
	MC_OK = 0,
	MC_WARNING = 1,
	MC_CRITICAL = 2,
	MC_UNKNOWN = 3
};

enum reason_code {
	REASON_DELIVERED,	/* newest outcome: delivered in time */
	REASON_PENDING,		/* nothing resolved yet, canaries in flight */
	REASON_NONE,		/* no canary at all */
	REASON_SLOW,		/* delivered past a latency threshold */
	REASON_LATE,		/* turned up after it was declared hidden */
	REASON_HIDDEN,
	REASON_BOUNCED,
	REASON_BOGUS_BOUNCE,
	REASON_SUBMIT_FAILED,
	REASON_OVERDUE,		/* in flight past a latency threshold */
	REASON_DELAYED,		/* in flight, a delay DSN came back */
	REASON_MAILBOX_FAILED,	/* this run could not read the mailbox */
	REASON_STATE_RESET,	/* the state file was moved aside */
	REASON_UNPARSEABLE,	/* a bounce came back that cannot be read */
	REASON_OVERSIZE,	/* a message over max_message_size, skipped */
	REASON_AUTH_RESULTS,	/* delivered, SPF/DKIM/DMARC not all pass
				 * (auth_results = require) */
	REASON_INTERNAL,	/* anything else that stopped this run */
	REASON_JUNK		/* newest outcome: delivered to a junk folder */
};
#define REASON_MAX	REASON_JUNK

/* MAILCANARY-MIB McCondition: why a probe is in its state. */
enum mc_condition {
	MC_COND_DELIVERED = 1,
	MC_COND_PENDING,
	MC_COND_OVERDUE,
	MC_COND_HIDDEN,
	MC_COND_BOUNCED,
	MC_COND_BOGUS_BOUNCE,
	MC_COND_DELAYED,
	MC_COND_SUBMIT_FAILED,
	MC_COND_MAILBOX_FAILED
};
#define MC_COND_MAX	MC_COND_MAILBOX_FAILED

struct reason_info {
	enum reason_code	 code;
	const char		*name;		/* "code" in the JSON output */
	enum mc_condition	 condition;	/* mcProbeCondition */
	enum mc_state		 state;		/* the state it stands for
						 * unless the rule says more */
};

/* The row of a reason code; the row of REASON_INTERNAL for any other. */
const struct reason_info *reason_info(int code);
/* "bogus_bounce", ...: the JSON name of a reason code. */
const char *reason_name(int code);
/* The mcProbeCondition a reason code stands for. */
enum mc_condition reason_condition(int code);
/* "bogusBounce", ...: the MIB's label of a condition; "none" if none. */
const char *reason_condition_name(int condition);
/* The state a reason stands for on its own. */
enum mc_state reason_state(int code);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN"; "UNKNOWN" for any other. */
const char *mc_state_name(int);
/* Severity: OK 0 < WARNING 1 < UNKNOWN 2 < CRITICAL 3. */
int	mc_state_rank(int);
/* Worst of two states (the higher rank; a on a tie). */
int	mc_state_worst(int, int);
/* MAILCANARY-MIB McState: ok(1) ... unknown(4). */
int	mc_state_mib(int);

#endif
