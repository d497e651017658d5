/*
 * start.h - mailcanaryd's start-up watchdog: from the first instruction
 * until it serves, the daemon either finishes starting within its
 * --start-timeout or exits saying at which step it was stuck.
 */
#ifndef MC_START_H
#define MC_START_H

/*
 * Arms the watchdog: start-up must finish within seconds from now
 * (monotonic). Called again in the child after daemon(), as threads do
 * not survive fork(): the deadline stays. Returns -1 if the watchdog
 * thread cannot be started.
 */
int	start_watch(long seconds);
int	start_rewatch(void);
/* Names the step start-up is at: a static string, for the last words. */
void	start_at(const char *step);
/* Start-up is done: the watchdog is stopped and joined. */
void	start_finished(void);

#endif
