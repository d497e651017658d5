/*
 * authres.h - Authentication-Results header fields (RFC 8601): parsing
 * one field, and reading the SPF, DKIM and DMARC results of a delivered
 * copy from the fields its receiving server (the configured authserv-id)
 * wrote, ignoring any other (RFC 8601 section 5: they may be forged).
 */
#ifndef MC_AUTHRES_H
#define MC_AUTHRES_H

#include <stddef.h>

struct headers;

#define AUTHRES_ID_MAX		255	/* authserv-id, bytes */
#define AUTHRES_WORD_MAX	63	/* method, result, ptype, property */
#define AUTHRES_VALUE_MAX	255	/* reason, comment, property value */
#define AUTHRES_RESINFO_MAX	16	/* results kept of one field */
#define AUTHRES_PROPS_MAX	8	/* properties kept of one result */
#define AUTHRES_REASON_MAX	120	/* kept per canary and method */
#define AUTHRES_FIELDS_MAX	64	/* fields looked at in one copy */

/* The methods kept per canary, in this order everywhere. */
enum authres_method {
	AUTHRES_SPF = 0,
	AUTHRES_DKIM,
	AUTHRES_DMARC
};
#define AUTHRES_NMETHODS	3

/*
 * A method's result. The numbers are MAILCANARY-MIB's McAuthResult;
 * AUTHRES_MISSING is "no trusted field said anything of this method".
 */
enum authres_result {
	AUTHRES_NONE = 1,
	AUTHRES_PASS,
	AUTHRES_FAIL,
	AUTHRES_SOFTFAIL,
	AUTHRES_NEUTRAL,
	AUTHRES_TEMPERROR,
	AUTHRES_PERMERROR,
	AUTHRES_POLICY,
	AUTHRES_UNKNOWN,	/* a result word RFC 8601 does not define */
	AUTHRES_MISSING
};

struct authres_prop {
	char	ptype[AUTHRES_WORD_MAX + 1];	/* "header", "smtp", ... */
	char	property[AUTHRES_WORD_MAX + 1];	/* "d", "mailfrom", ... */
	char	value[AUTHRES_VALUE_MAX + 1];
};

struct authres_resinfo {
	char		method[AUTHRES_WORD_MAX + 1];	/* lower case */
	char		result[AUTHRES_WORD_MAX + 1];	/* lower case */
	char		reason[AUTHRES_VALUE_MAX + 1];	/* reason=, "" */
	char		comment[AUTHRES_VALUE_MAX + 1];	/* the first, "" */
	size_t		nprops;
	struct authres_prop prop[AUTHRES_PROPS_MAX];
};

/* One field. Values longer than their cap are cut (at a byte). */
struct authres_field {
	char		authserv_id[AUTHRES_ID_MAX + 1];
	long		version;	/* 1 unless given */
	int		none;		/* "; none": nothing was checked */
	size_t		n;		/* results kept */
	size_t		skipped;	/* results not understood, or past
					 * AUTHRES_RESINFO_MAX */
	struct authres_resinfo r[AUTHRES_RESINFO_MAX];
};

/*
 * What a canary keeps: per method its result and a short reason (the
 * reason= of the result, else its comment), sanitised. checked is set
 * when the copy's fields were read at all (authserv_id configured).
 */
struct authres {
	int	checked;
	int	result[AUTHRES_NMETHODS];	/* enum authres_result */
	char	reason[AUTHRES_NMETHODS][AUTHRES_REASON_MAX + 1];
};

/*
 * Parses the value of one Authentication-Results field (unfolded, NUL
 * terminated, any length). Returns 0, or -1 when it has no authserv-id
 * or no version, result list or "none" the grammar allows. Never reads
 * past the NUL; a result it cannot read is skipped (counted) and the
 * next one after ';' read.
 */
int	authres_parse(const char *value, struct authres_field *out);

/*
 * Reads the trusted results of a header block: only fields whose
 * authserv-id equals authserv_id (case-insensitively), and of those
 * only the topmost run, the fields from the first such one down to the
 * next Received: field (a field further down was there before the
 * receiving server got the message, and may be the sender's). Of
 * several results for a method, the first is taken. authserv_id NULL or
 * "": nothing is read (out->checked 0).
 */
void	authres_read(const struct headers *, const char *authserv_id,
	    struct authres *out);

/* Marks every method missing, checked 0. */
void	authres_init(struct authres *);
/* "spf", "dkim", "dmarc". */
const char *authres_method_name(int method);
/* "pass", ...; "missing" for AUTHRES_MISSING, "unknown" for others. */
const char *authres_result_name(int result);
/* The result of a name (as authres_result_name gives), or -1. */
int	authres_result_parse(const char *);
/* Whether every method passed. */
int	authres_all_pass(const struct authres *);

#endif
