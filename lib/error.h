/*
 * error.h - the caller-owned error a library function fills on failure:
 * a code the caller can act on and a sentence a person can.
 */
#ifndef MC_ERROR_H
#define MC_ERROR_H

#define MC_ERROR_MAX 512

/*
 * What kind of failure, so that a caller decides by code, never by the
 * text or by global state. The JSON output names them (error_code_name).
 */
enum mc_errcode {
	MC_ERR_NONE = 0,	/* no error recorded */
	MC_ERR_INTERNAL,	/* a bug: a case the code did not expect */
	MC_ERR_NOMEM,		/* an allocation failed */
	MC_ERR_CONFIG,		/* a setting, an option, a configuration */
	MC_ERR_FILE,		/* a local file: state, key, lock, password */
	MC_ERR_LOCKED,		/* another run holds this probe's lock */
	MC_ERR_SERVER,		/* a server refused, failed or was not there */
	MC_ERR_INPUT,		/* untrusted data failed validation */
	MC_ERR_LIMIT,		/* a cap was reached */
	MC_ERR_TIMEOUT,		/* the run's deadline passed */
	MC_ERR_SIGNAL		/* SIGTERM or SIGINT asked the run to end */
};
#define MC_ERR_MAX	MC_ERR_SIGNAL

struct mc_error {
	enum mc_errcode	code;
	char		msg[MC_ERROR_MAX];	/* a sentence, no newline */
};

/* Sets err (if not NULL) to code and a formatted sentence; returns -1. */
int	error_set(struct mc_error *, enum mc_errcode, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Prefixes the message already in err with a formatted context. */
int	error_prefix(struct mc_error *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* "nomem", "server", "timeout", ...; "internal" for an unknown code. */
const char *error_code_name(enum mc_errcode);
/* Whether the run was stopped (deadline or signal) rather than failed. */
int	error_stopped(const struct mc_error *);

#endif
