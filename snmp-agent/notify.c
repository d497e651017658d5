/*
 * notify.c - what mailcanaryd tells its service manager, through
 * libsystemd's sd_notify(3) (Type=notify in the unit): READY=1 once every
 * probe has finished its first cycle, so "started" means the tables show
 * results, not just rows; RELOADING=1 and READY=1 around a SIGHUP reload;
 * STOPPING=1 at SIGTERM; STATUS= lines for systemctl status; WATCHDOG=1
 * from the main loop itself, never from a thread of its own, so a main
 * loop that hangs stops the pings and WatchdogSec= fires.
 *
 * Without $NOTIFY_SOCKET sd_notify() does nothing; built without
 * libsystemd (configure --without-systemd, or no libsystemd-dev) neither
 * does any function here. The ready time is on the monotonic clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "deadline.h"
#include "notify.h"

static size_t notify_nprobes;		/* first cycles awaited */
static size_t notify_ndone;		/* first cycles ended */
static int notify_serving_now;		/* notify_serving() was called */
static int notify_ready;		/* READY=1 was sent */
static int notify_stopped;		/* STOPPING=1 was sent */
static double notify_ready_at;		/* monotonic: READY=1 by then */
static double notify_next_ping;		/* monotonic */
static double notify_ping_every;	/* seconds; 0: no watchdog */
static char notify_summary[256];

#ifdef HAVE_LIBSYSTEMD
/* STATE lines, and STATUS= made one line (a message may hold any byte). */
static void
notify_send(const char *state, const char *status)
{
	char line[512];
	size_t i;

	snprintf(line, sizeof(line), "%s", status != NULL ? status : "");
	for (i = 0; line[i] != '\0'; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (status != NULL)
		sd_notifyf(0, "%s%sSTATUS=%s", state, *state ? "\n" : "",
		    line);
	else
		sd_notify(0, state);
}
#else
static void
notify_send(const char *state, const char *status)
{
	(void)state;
	(void)status;
}
#endif

void
notify_status(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	notify_send("", line);
}

static void
notify_go_ready(void)
{
	notify_ready = 1;
	notify_send("READY=1", notify_summary);
}

void
notify_serving(size_t nprobes, long ready_after, const char *summary)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t usec;

	/* WatchdogSec= of the unit; pinged at half of it. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		notify_ping_every = (double)usec / 2e6;
		notify_next_ping = clock_mono();
	}
#endif
	snprintf(notify_summary, sizeof(notify_summary), "%s", summary);
	notify_nprobes = nprobes;
	notify_ndone = 0;
	notify_ready_at = clock_mono() + (double)ready_after;
	notify_serving_now = 1;
	notify_status("serving; first cycles: 0 of %zu probes done", nprobes);
}

void
notify_first_cycle(void)
{
	if (!notify_serving_now || notify_ready || notify_stopped)
		return;
	if (++notify_ndone >= notify_nprobes)
		notify_go_ready();
	else
		notify_status("serving; first cycles: %zu of %zu probes done",
		    notify_ndone, notify_nprobes);
}

void
notify_tick(void)
{
	double now;

	if (!notify_serving_now)
		return;
	now = clock_mono();
	if (!notify_ready && !notify_stopped && now >= notify_ready_at) {
		char line[512];

		notify_ready = 1;
		snprintf(line, sizeof(line), "%s; %zu of %zu first cycles "
		    "still running", notify_summary,
		    notify_nprobes - notify_ndone, notify_nprobes);
		notify_send("READY=1", line);
	}
	if (notify_ping_every > 0 && now >= notify_next_ping) {
		notify_send("WATCHDOG=1", NULL);
		notify_next_ping = now + notify_ping_every;
	}
}

void
notify_reloading(void)
{
#ifdef HAVE_LIBSYSTEMD
	struct timespec ts;
	char state[64];

	if (notify_stopped)
		return;
	/* MONOTONIC_USEC: what systemd 253's notify-reload wants with it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify_send(state, "reloading the configuration");
#endif
}

void
notify_reloaded(int ok)
{
	/* A reload before the first cycles ended makes the service ready:
	 * the manager waits for READY=1 after RELOADING=1. */
	notify_ready = 1;
	if (notify_stopped)
		return;
	if (ok == 0)
		notify_send("READY=1", "configuration reloaded");
	else
		notify_send("READY=1", "reload refused, running the previous "
		    "configuration: see the log");
}

void
notify_stopping(size_t busy)
{
	if (notify_stopped)
		return;
	notify_stopped = 1;
	if (busy > 0) {
		char line[128];

		snprintf(line, sizeof(line), "stopping: %zu cycles are saving "
		    "their state", busy);
		notify_send("STOPPING=1", line);
	} else
		notify_send("STOPPING=1", "stopping");
}
