/*
 * scheduler.h - mailcanaryd's scheduler: a slot per probe (its settings,
 * its schedule, its snapshots), the reload on SIGHUP, and the probe
 * cycles run on a bounded worker pool while the main thread serves SNMP.
 */
#ifndef MC_SCHEDULER_H
#define MC_SCHEDULER_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

/*
 * Loads every [probe NAME] of path into the slots. -1 with err naming
 * the file and the probe when one does not load, when there is none, or
 * when two probes take one row of mcProbeTable.
 */
int	sched_load(const char *path, struct mc_error *err);
/* Loads path as sched_load() would, keeping nothing: whether a reload
 * would be accepted. */
int	sched_try_load(const char *path, struct mc_error *err);
/* Prints the effective settings of every loaded probe (-n). */
void	sched_dump(FILE *);
size_t	sched_count(void);
/* SIGHUP reloads, SIGTERM and SIGINT stop; SIGPIPE is ignored. */
void	sched_signals(void);
/*
 * Spreads the first cycles and publishes the rows. At most workers
 * probe cycles run at once. -1 when out of memory.
 */
int	sched_start(long workers);
/*
 * Serves SNMP and runs the schedule until SIGTERM or SIGINT; path is
 * reread on SIGHUP. Returns once every cycle has saved its state and
 * ended, with everything freed.
 */
void	sched_run(const char *path);

#endif
