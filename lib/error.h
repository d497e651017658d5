/*
 * error.h - the caller-owned error a library function fills on failure.
 */
#ifndef MC_ERROR_H
#define MC_ERROR_H

#define MC_ERROR_MAX 512

struct mc_error {
	char	msg[MC_ERROR_MAX];	/* one sentence, no trailing newline */
};

/* Sets err (if not NULL) to a formatted sentence; always returns -1. */
int	error_set(struct mc_error *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prefixes the message already in err with a formatted context. */
int	error_prefix(struct mc_error *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
