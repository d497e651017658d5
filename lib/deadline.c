/*
 * deadline.c - one monotonic budget for a whole run. libcurl timeouts,
 * the lock wait and the hard backstop in the plugin all read it, so a run
 * ends within -t plus a fraction of a second whatever the servers do.
 */
#include <time.h>

#include "deadline.h"

volatile sig_atomic_t deadline_signal;

/* Per thread: the daemon runs several probe cycles at once. */
static __thread double dl_start;
static __thread double dl_end;
static __thread double dl_budget;
static __thread const char *volatile dl_step = "starting";

double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
clock_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
deadline_start(double seconds)
{
	dl_start = clock_mono();
	dl_budget = seconds;
	dl_end = dl_start + seconds;
}

void
deadline_rebudget(double seconds)
{
	dl_budget = seconds;
	dl_end = dl_start + seconds;
}

double
deadline_remaining(void)
{
	return dl_end - clock_mono();
}

double
deadline_budget(void)
{
	return dl_budget;
}

long
deadline_left_ms(void)
{
	if (dl_end == 0)
		return 3600 * 1000L;
	return (long)((dl_end - clock_mono()) * 1000.0) - DEADLINE_RESERVE_MS;
}

int
deadline_expired(void)
{
	return deadline_signal != 0 || deadline_left_ms() <= 0;
}

void
deadline_step(const char *step)
{
	dl_step = step;
}

const char *
deadline_current_step(void)
{
	return dl_step;
}
