/*
 * canary.h - one canary and its lifecycle. Every transition of DESIGN.md
 * (submitting, submitted or failed, delivered, late, bounced, hidden, a
 * delay notice) is a function here that sets the status, the times and
 * the probe's counters together, and refuses a transition its canary's
 * status does not allow.
 */
#ifndef MC_CANARY_H
#define MC_CANARY_H

#include <stddef.h>

#include "authres.h"
#include "message.h"
#include "ndr.h"
#include "token.h"

struct state;

enum canary_status {
	CANARY_IN_FLIGHT = 0,
	CANARY_DELIVERED,
	CANARY_BOUNCED,
	CANARY_HIDDEN,
	CANARY_LATE,
	CANARY_SUBMIT_FAILED,
	CANARY_SUBMITTING	/* recorded, being sent; a run killed meanwhile
				 * leaves it, and the next run takes it as in
				 * flight (the server may have taken it) */
};

struct canary {
	unsigned long	 seq;
	char		 token[TOKEN_MAX];
	char		*rcpt;
	char		*via;		/* submission host:port */
	double		 sent_at;	/* wall clock, submission began */
	double		 submitted_at;	/* wall clock, final reply to DATA */
	double		 handover;	/* seconds from connect to the final
					 * reply to DATA; 0: not measured */
	enum canary_status status;
	int		 delayed;	/* a delay DSN came back */
	char		*smtp_reply;	/* final reply, e.g. "250 2.0.0 Ok" */
	char		*queue_id;
	char		*error;		/* why submission failed */
	double		 arrived_at;	/* mailbox server receive time */
	double		 resolved_at;	/* when a run learnt the outcome */
	double		 hidden_at;
	double		 latency;	/* arrived_at - submitted_at */
	int		 greylisted;
	long		 greylist_delay;	/* -1 unknown */
	char		*greylist_at;
	char		*greylist_source;
	size_t		 nhops;
	struct hop	*hops;
	/* The class of the report that came back; NDR_NOT_BOUNCE while
	 * none has (then the state file has no bounce_class). */
	enum ndr_class	 bounce_class;
	char		*bounce_status;
	char		*bounce_diag;
	char		*bounce_reporting_mta;
	char		*bounce_remote_mta;
	double		 bounced_at;	/* when the report reached the mailbox */
	char		*junk_folder;	/* found in this junk folder; NULL:
					 * in the mailbox's own folder */
	/* SPF, DKIM and DMARC of the delivered copy, from the trusted
	 * Authentication-Results (authres.h); auth.checked 0: not read. */
	struct authres	 auth;
};

/* What one report says about a canary: borrowed views, any may be NULL. */
struct canary_report {
	enum ndr_class	 class;
	const char	*status;
	const char	*diagnostic;
	const char	*reporting_mta;
	const char	*remote_mta;
	double		 at;		/* when it reached the mailbox */
};

/* Frees what a canary owns and zeroes it. */
void	canary_clear(struct canary *);
/* "in_flight", ... as in the state file; "?" for no status. */
const char *canary_status_name(int);
/* The status of a name, or -1. */
int	canary_status_parse(const char *);
/* The class of an ndr_class_name() name; -1 when there is none. */
int	canary_bounce_class_parse(const char *, enum ndr_class *);
/* When the canary left: the final reply to DATA, else when sending began. */
double	canary_since(const struct canary *);

/*
 * The transitions. Each takes the probe's state for its counters and
 * returns 0 when it happened, or -1, changing nothing, when the canary's
 * status does not allow it (a bounce for a canary already delivered).
 */

/* (new) -> SUBMITTING: recorded before it is sent. -1 out of memory. */
int	canary_submitting(struct canary *, unsigned long seq,
	    const char *token, const char *rcpt, double now);
/* SUBMITTING -> IN_FLIGHT: the server took it (counted as sent). */
int	canary_submitted(struct state *, struct canary *, const char *via,
	    const char *reply, const char *queue_id, double submitted_at);
/* SUBMITTING -> SUBMIT_FAILED, resolved at now (counted as sent). */
int	canary_submit_failed(struct state *, struct canary *,
	    const char *via, const char *reply, const char *error, double now);
/* SUBMITTING -> IN_FLIGHT for the canary of a run killed while sending:
 * the server may have taken it. */
int	canary_adopt(struct state *, struct canary *);
/* IN_FLIGHT -> HIDDEN at now. */
int	canary_hide(struct state *, struct canary *, double now);
/*
 * IN_FLIGHT -> DELIVERED, or (canary_late) HIDDEN -> LATE: found in the
 * mailbox, arrived at `arrived` (0: unknown, taken as now), with the
 * Received: chain of the copy found.
 */
int	canary_deliver(struct state *, struct canary *, double arrived,
	    const struct received_chain *, double now);
int	canary_late(struct state *, struct canary *, double arrived,
	    const struct received_chain *, double now);
/*
 * The Authentication-Results read from the copy of a canary just
 * delivered (or late): kept with it, and counted in
 * count.auth_not_passed when a method did not pass. Nothing when they
 * were not read (a->checked 0).
 */
void	canary_set_authres(struct state *, struct canary *,
	    const struct authres *);
/* IN_FLIGHT or HIDDEN -> BOUNCED by a permanent or bogus report. */
int	canary_bounce(struct state *, struct canary *,
	    const struct canary_report *, double now);
/*
 * A delay notice: counted always; while the canary is in flight it is
 * flagged delayed and the report kept (it stays IN_FLIGHT). Returns 0
 * when the canary was flagged.
 */
int	canary_delay(struct state *, struct canary *,
	    const struct canary_report *);

/*
 * A canary just delivered (or late) was found in junk folder `folder`:
 * flagged with it and counted (count.junk). 0, or -1 (nothing changed)
 * when it was not delivered or late, or out of memory.
 */
int	canary_junk(struct state *, struct canary *, const char *folder);

/*
 * Mail that is no canary's outcome but is counted with them: a report
 * in the bounce mailbox that cannot be read (kept for a person), and a
 * message over max_message_size (skipped unread and kept).
 */
void	canary_count_unparseable(struct state *);
void	canary_count_oversize(struct state *);

#endif
