/*
 * start.c - the start-up watchdog of mailcanaryd. A thread waits until
 * the start-up deadline; if the main thread has not begun to serve by
 * then (a file system that does not answer, a name service that hangs on
 * the --user lookup, a master agent that accepts but never replies), it
 * logs the step the main thread was at and ends the process with exit
 * status 1. start_finished() wakes it through a pipe and joins it.
 * Each step is also the service manager's STATUS= line (notify.c).
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "notify.h"
#include "start.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t start_thread;
static int start_pipe[2] = { -1, -1 };
static int start_done;
static double start_deadline;		/* monotonic */
static long start_timeout;
static const char *start_step = "starting";

void
start_at(const char *step)
{
	pthread_mutex_lock(&start_lock);
	start_step = step;
	pthread_mutex_unlock(&start_lock);
	notify_status("starting: %s", step);
}

static void *
start_watchdog(void *arg)
{
	struct pollfd pfd;
	double left;
	int done;

	pfd.fd = (int)(intptr_t)arg;
	pfd.events = POLLIN;
	while ((left = start_deadline - clock_mono()) > 0)
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0)
			break;
	pthread_mutex_lock(&start_lock);
	if ((done = start_done) == 0) {
		log_warnx("start-up did not finish within %ld seconds, stuck "
		    "%s: giving up", start_timeout, start_step);
		notify_status("failed: start-up did not finish within %ld "
		    "seconds, stuck %s", start_timeout, start_step);
	}
	pthread_mutex_unlock(&start_lock);
	if (!done)
		_exit(1);
	return NULL;
}

int
start_rewatch(void)
{
	if (start_pipe[0] != -1) {
		close(start_pipe[0]);
		close(start_pipe[1]);
	}
	if (pipe2(start_pipe, O_CLOEXEC) == -1)
		return -1;
	return pthread_create(&start_thread, NULL, start_watchdog,
	    (void *)(intptr_t)start_pipe[0]) == 0 ? 0 : -1;
}

int
start_watch(long seconds)
{
	start_timeout = seconds;
	start_deadline = clock_mono() + (double)seconds;
	return start_rewatch();
}

void
start_finished(void)
{
	ssize_t n;

	pthread_mutex_lock(&start_lock);
	start_done = 1;
	pthread_mutex_unlock(&start_lock);
	n = write(start_pipe[1], "", 1);
	(void)n;
	pthread_join(start_thread, NULL);
	close(start_pipe[0]);
	close(start_pipe[1]);
	start_pipe[0] = start_pipe[1] = -1;
}
