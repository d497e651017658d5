/*
 * log.h - one logging interface with fixed meanings. Plugins keep the
 * level at LOG_LEVEL_QUIET so nothing reaches stderr unless -v is given.
 */
#ifndef MC_LOG_H
#define MC_LOG_H

enum log_level {
	LOG_LEVEL_QUIET = 0,	/* nothing at all */
	LOG_LEVEL_WARN,		/* log_warn, log_warnx */
	LOG_LEVEL_INFO,		/* + log_info */
	LOG_LEVEL_DEBUG		/* + log_debug (protocol traces) */
};

void	log_init(const char *, enum log_level);
/* From now on, to syslog(3) with this facility instead of stderr. */
void	log_syslog(int facility);
int	log_level(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
