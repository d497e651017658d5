/*
 * probe.h - one probe cycle, the single entry point the plugin and the
 * daemon share: lock, load state, scan the mailbox, advance the
 * lifecycle, send a canary when due, evaluate, save, delete what was
 * found, save again, unlock.
 */
#ifndef MC_PROBE_H
#define MC_PROBE_H

#include "config.h"
#include "error.h"
#include "evaluate.h"
#include "state.h"

struct probe_report {
	struct state	st;
	struct verdict	v;
	double		now;
	int		sent;		/* a canary was submitted this run */
	size_t		found;		/* canaries found this run */
};

/* probe_run() flags. */
#define PROBE_RESET_COUNTERS	0x01	/* zero the counters in the state
					 * first: mailcanaryd, after a
					 * reload changed the probe */

/*
 * Runs one cycle. Returns 0 with a report (errors of the run are reasons
 * in rep->v), or -1 with err set when no verdict could be formed (state
 * directory unusable, lock not obtained). Free with probe_report_clear().
 */
int	probe_run(const struct config *, unsigned flags, struct probe_report *,
	    struct mc_error *);
void	probe_report_clear(struct probe_report *);

#endif
