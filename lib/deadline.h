/*
 * deadline.h - the single time budget of one run (-t), the step it has
 * reached, and the flag a termination signal raises. Every blocking step
 * (lock wait, each libcurl transfer) derives its own limit from here.
 */
#ifndef MC_DEADLINE_H
#define MC_DEADLINE_H

#include <signal.h>

/* Time kept back for saving state and printing once the budget runs out. */
#define DEADLINE_RESERVE_MS	300

void	deadline_start(double seconds);
/*
 * Sets a new budget for the run deadline_start() began, counted from that
 * same start: the plugin starts with -t or the default before it reads
 * anything, and learns the configuration's timeout later.
 */
void	deadline_rebudget(double seconds);
/* Seconds until the budget ends, the reserve included; for timers. */
double	deadline_remaining(void);
/* Milliseconds left for blocking work (budget minus reserve); may be <= 0. */
long	deadline_left_ms(void);
/* Whether the budget for blocking work is spent or a signal arrived. */
int	deadline_expired(void);
double	deadline_budget(void);

/* The step this run is in, e.g. "SMTP RCPT TO"; a static string. */
void	deadline_step(const char *);
const char *deadline_current_step(void);

/* Set from a signal handler (SIGTERM, SIGINT); read everywhere. */
extern volatile sig_atomic_t deadline_signal;

/* Monotonic and wall clocks in seconds. */
double	clock_mono(void);
double	clock_wall(void);

#endif
