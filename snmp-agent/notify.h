/*
 * notify.h - mailcanaryd's messages to its service manager (sd_notify):
 * READY=1 once every probe has finished its first cycle, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 at SIGTERM, STATUS= lines, and
 * the watchdog ping from the main loop. Without $NOTIFY_SOCKET, or when
 * built without libsystemd, every call does nothing.
 */
#ifndef MC_NOTIFY_H
#define MC_NOTIFY_H

#include <stddef.h>

/* STATUS=: one line for systemctl status. Main thread only. */
void	notify_status(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * The daemon serves nprobes probes from now: READY=1 comes when each has
 * finished its first cycle, or ready_after seconds from now, whichever
 * is first. summary is the STATUS= line once ready (copied).
 */
void	notify_serving(size_t nprobes, long ready_after, const char *summary);
/* A probe's first cycle has ended and its result is served. */
void	notify_first_cycle(void);
/*
 * From every turn of the main loop: READY=1 when the ready time has
 * passed, and WATCHDOG=1 at half the manager's WatchdogSec=. A loop that
 * is stuck pings no more.
 */
void	notify_tick(void);
/* Around a reload: RELOADING=1, then READY=1 with how it went. */
void	notify_reloading(void);
void	notify_reloaded(int ok);
/* STOPPING=1, once; busy cycles are still saving their state. */
void	notify_stopping(size_t busy);

#endif
