/*
 * snap.h - what mailcanaryd shows of a probe: the snapshot of a probe
 * cycle's report (the MIB's condition, counters, latencies, canary rows),
 * and, when a new snapshot replaces the one served, the log lines and the
 * notifications the change calls for.
 */
#ifndef MC_SNAP_H
#define MC_SNAP_H

#include "agent.h"
#include "config.h"
#include "probe.h"

/*
 * Fills s (zeroed by the caller) from a cycle's report; s owns the canary
 * rows it gets (agent_snapshot_free). Out of memory, s has no canary row.
 */
void	snap_from_report(struct snapshot *s, const struct config *,
	    const struct probe_report *);
/* Fills s (zeroed by the caller) for a cycle that failed: UNKNOWN, msg. */
void	snap_from_error(struct snapshot *s, const char *name,
	    const char *msg);
/* A row before its first cycle: index and name, state unknown. */
void	snap_unknown(struct snapshot *s, unsigned long index,
	    const char *name);
/* Zeroes the counters (a reload changed the probe's settings). */
void	snap_reset_counters(struct snapshot *s);
/*
 * Replaces the served snapshot cur with a cycle's next, keeping cur's
 * index, discontinuity and (unless the state or condition changed) last
 * change; logs the first result, a new UNKNOWN text and every change,
 * and sends the notification a change calls for when notify is set.
 * cur's canary rows are freed, next's move to cur (next keeps none).
 * first: no result was taken before. Main thread only (Net-SNMP).
 */
void	snap_take(struct snapshot *cur, struct snapshot *next, int first,
	    int notify);

#endif
