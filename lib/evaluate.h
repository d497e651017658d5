/*
 * evaluate.h - the verdict of a probe, computed from its state, the time
 * and the thresholds only: no clock, no network, no files. Every rule of
 * the canary lifecycle in DESIGN.md lives here and is table-tested.
 */
#ifndef MC_EVALUATE_H
#define MC_EVALUATE_H

#include <stddef.h>

#include "range.h"
#include "reason.h"
#include "state.h"

#define VERDICT_REASONS_MAX	16

struct reason {
	enum mc_state	 state;
	enum reason_code code;
	long		 canary;	/* its seq, -1 none */
	unsigned long	 count;		/* canaries this reason covers */
	char		 detail[400];	/* run errors: the sentence */
};

struct verdict {
	enum mc_state	 state;
	size_t		 n;
	struct reason	 r[VERDICT_REASONS_MAX];
	long		 outcome;	/* seq of the deciding canary, -1 */
	long		 last_delivered;	/* seq of the newest delivery, -1 */
	size_t		 inflight;
	double		 oldest_inflight;	/* seconds, 0 when none */
	unsigned long	 hidden_open;	/* hidden since the last good news */
	/* The wall clock stepped back: canaries sent "in the future". Their
	 * age counts as 0, so a step never makes a verdict by itself. */
	size_t		 clock_steps;
	double		 clock_step;	/* the largest, seconds */
};

/* mc_state_worst(), mc_state_name() and the reasons: reason.h. */

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
/*
 * Adds the junk reason when the verdict's outcome canary was delivered
 * (or late) into a junk folder: in state junk_state (the `junk` setting:
 * MC_OK, MC_WARNING or MC_CRITICAL). Call after evaluate().
 */
void	evaluate_junk(const struct state *, int junk_state, struct verdict *);
void	verdict_add(struct verdict *, int state, int code, long canary,
	    const char *detail);
/*
 * auth_results = require (require set): WARNING when the newest
 * delivered (or late) canary whose Authentication-Results were read has
 * an SPF, DKIM or DMARC result other than pass, or none. The reason
 * names the canary; its text the methods (output_reason()).
 */
void	evaluate_auth(const struct state *, int require, struct verdict *);
/*
 * The mcProbeCondition of a verdict: that of its first reason of the
 * worst state (MC_COND_PENDING when it has none). The daemon reports it.
 */
enum mc_condition verdict_condition(const struct verdict *);

#endif
