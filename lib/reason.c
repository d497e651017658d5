/*
 * reason.c - the one table of reasons and the one table of states. The
 * verdict picks reasons by code; the Nagios and JSON output name them
 * from here, and the daemon maps them to the MIB's mcProbeCondition from
 * here, so a new reason is one row (the unit test holds the conditions
 * against the MIB text).
 */
#include <stddef.h>

#include "reason.h"

static const struct reason_info reasons[] = {
	{ REASON_DELIVERED, "delivered", MC_COND_DELIVERED, MC_OK },
	{ REASON_PENDING, "pending", MC_COND_PENDING, MC_OK },
	{ REASON_NONE, "none", MC_COND_PENDING, MC_UNKNOWN },
	{ REASON_SLOW, "slow", MC_COND_DELIVERED, MC_WARNING },
	{ REASON_LATE, "late", MC_COND_HIDDEN, MC_WARNING },
	{ REASON_HIDDEN, "hidden", MC_COND_HIDDEN, MC_CRITICAL },
	{ REASON_BOUNCED, "bounced", MC_COND_BOUNCED, MC_CRITICAL },
	{ REASON_BOGUS_BOUNCE, "bogus_bounce", MC_COND_BOGUS_BOUNCE,
	    MC_CRITICAL },
	{ REASON_SUBMIT_FAILED, "submit_failed", MC_COND_SUBMIT_FAILED,
	    MC_CRITICAL },
	{ REASON_OVERDUE, "overdue", MC_COND_OVERDUE, MC_WARNING },
	{ REASON_DELAYED, "delayed", MC_COND_DELAYED, MC_WARNING },
	{ REASON_MAILBOX_FAILED, "mailbox_failed", MC_COND_MAILBOX_FAILED,
	    MC_UNKNOWN },
	{ REASON_STATE_RESET, "state_reset", MC_COND_PENDING, MC_UNKNOWN },
	{ REASON_UNPARSEABLE, "unparseable_bounce", MC_COND_DELIVERED,
	    MC_WARNING },
	{ REASON_OVERSIZE, "oversize", MC_COND_DELIVERED, MC_WARNING },
	{ REASON_AUTH_RESULTS, "auth_results", MC_COND_DELIVERED, MC_WARNING },
	{ REASON_INTERNAL, "internal", MC_COND_PENDING, MC_UNKNOWN },
	/* Its state is the `junk` setting's; WARNING is the default. */
	{ REASON_JUNK, "junk", MC_COND_DELIVERED, MC_WARNING },
};

/* MAILCANARY-MIB McCondition labels, by value. */
static const char *const condition_names[] = {
	[MC_COND_DELIVERED] = "delivered",
	[MC_COND_PENDING] = "pending",
	[MC_COND_OVERDUE] = "overdue",
	[MC_COND_HIDDEN] = "hidden",
	[MC_COND_BOUNCED] = "bounced",
	[MC_COND_BOGUS_BOUNCE] = "bogusBounce",
	[MC_COND_DELAYED] = "delayed",
	[MC_COND_SUBMIT_FAILED] = "submitFailed",
	[MC_COND_MAILBOX_FAILED] = "mailboxFailed"
};

static const struct {
	const char	*name;
	int		 rank;	/* severity: the worst state wins */
	int		 mib;	/* McState */
} states[] = {
	[MC_OK] = { "OK", 0, 1 },
	[MC_WARNING] = { "WARNING", 1, 2 },
	[MC_CRITICAL] = { "CRITICAL", 3, 3 },
	[MC_UNKNOWN] = { "UNKNOWN", 2, 4 }
};

const struct reason_info *
reason_info(int code)
{
	if (code < 0 || code > REASON_MAX)
		code = REASON_INTERNAL;
	return &reasons[code];
}

const char *
reason_name(int code)
{
	return reason_info(code)->name;
}

enum mc_condition
reason_condition(int code)
{
	return reason_info(code)->condition;
}

const char *
reason_condition_name(int condition)
{
	if (condition < MC_COND_DELIVERED || condition > MC_COND_MAX)
		return "none";
	return condition_names[condition];
}

enum mc_state
reason_state(int code)
{
	return reason_info(code)->state;
}

const char *
mc_state_name(int s)
{
	return (s >= MC_OK && s <= MC_UNKNOWN) ? states[s].name : "UNKNOWN";
}

int
mc_state_rank(int s)
{
	return (s >= MC_OK && s <= MC_UNKNOWN) ? states[s].rank :
	    states[MC_UNKNOWN].rank;
}

int
mc_state_worst(int a, int b)
{
	return mc_state_rank(a) >= mc_state_rank(b) ? a : b;
}

int
mc_state_mib(int s)
{
	return (s >= MC_OK && s <= MC_UNKNOWN) ? states[s].mib :
	    states[MC_UNKNOWN].mib;
}
