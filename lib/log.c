/*
 * log.c - logging with a level, to stderr or, for a daemon in the
 * background, to syslog. log_warn appends strerror(errno), log_warnx does
 * not. Library code logs only at debug level, for -vv.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_tag = "mailcanary";
static enum log_level log_lvl = LOG_LEVEL_QUIET;
static int log_use_syslog;

void
log_init(const char *tag, enum log_level level)
{
	log_tag = tag;
	log_lvl = level;
}

void
log_syslog(int facility)
{
	openlog(log_tag, LOG_PID | LOG_NDELAY, facility);
	log_use_syslog = 1;
}

int
log_level(void)
{
	return log_lvl;
}

static void
log_vprint(enum log_level level, int with_errno, const char *fmt,
    va_list ap)
{
	int saved = errno;

	if (log_lvl < level)
		return;
	if (log_use_syslog) {
		static const int prio[] = {
			[LOG_LEVEL_WARN] = LOG_WARNING,
			[LOG_LEVEL_INFO] = LOG_INFO,
			[LOG_LEVEL_DEBUG] = LOG_DEBUG
		};
		char msg[1024];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		if (with_errno)
			syslog(prio[level], "%s: %s", msg, strerror(saved));
		else
			syslog(prio[level], "%s", msg);
		errno = saved;
		return;
	}
	fprintf(stderr, "%s: ", log_tag);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(LOG_LEVEL_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}
