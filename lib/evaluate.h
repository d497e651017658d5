/*
 * evaluate.h - the verdict of a probe, computed from its state, the time
 * and the thresholds only: no clock, no network, no files. Every rule of
 * the canary lifecycle in DESIGN.md lives here and is table-tested.
 */
#ifndef MC_EVALUATE_H
#define MC_EVALUATE_H

#include <stddef.h>

#include "range.h"
#include "state.h"

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
	REASON_INTERNAL		/* anything else that stopped this run */
};

#define VERDICT_REASONS_MAX	16

struct reason {
	int		 state;
	int		 code;
	long		 canary;	/* index into state, -1 none */
	unsigned long	 count;		/* canaries this reason covers */
	char		 detail[400];	/* run errors: the sentence */
};

struct verdict {
	int		 state;
	size_t		 n;
	struct reason	 r[VERDICT_REASONS_MAX];
	long		 outcome;	/* index of the deciding canary, -1 */
	long		 last_delivered;	/* newest delivery, -1 */
	size_t		 inflight;
	double		 oldest_inflight;	/* seconds, 0 when none */
	unsigned long	 hidden_open;	/* hidden since the last good news */
	/* The wall clock stepped back: canaries sent "in the future". Their
	 * age counts as 0, so a step never makes a verdict by itself. */
	size_t		 clock_steps;
	double		 clock_step;	/* the largest, seconds */
};

/* Worst of two states: OK < WARNING < UNKNOWN < CRITICAL. */
int	mc_state_worst(int, int);
const char *mc_state_name(int);

/*
 * Advances the lifecycle to `now`: canaries in flight longer than
 * lost_after become HIDDEN (counted, resolved_at = now). Returns how many.
 */
size_t	evaluate_advance(struct state *, double now, long lost_after);

/* The state one resolved canary stands for on its own. */
int	evaluate_canary(const struct canary *, const struct range *warn,
	    const struct range *crit, int *code);

/* Computes the verdict. Run errors are added after with verdict_add(). */
void	evaluate(const struct state *, double now, const struct range *warn,
	    const struct range *crit, struct verdict *);
void	verdict_add(struct verdict *, int state, int code, long canary,
	    const char *detail);

#endif
