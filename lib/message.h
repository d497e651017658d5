/*
 * message.h - composing a canary, and reading the header block of a
 * message (unfolded, capped) with the dates and Received: chain in it.
 */
#ifndef MC_MESSAGE_H
#define MC_MESSAGE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "error.h"

#define MESSAGE_HEADER_MAX	(256 * 1024)	/* whole header block */
#define MESSAGE_LINE_MAX	8192		/* one unfolded field */
#define MESSAGE_FIELDS_MAX	512
#define MESSAGE_HOPS_MAX	32

struct header_field {
	char	*name;
	char	*value;		/* unfolded, surrounding space trimmed */
};

struct headers {
	size_t			 n;
	struct header_field	 f[MESSAGE_FIELDS_MAX];
};

/*
 * Parses the header block at the start of buf (up to the first empty
 * line or the end). Returns 0, or -1 when a cap is passed or a line is
 * not a header field; err says which. Free with headers_free().
 */
int	headers_parse(const char *buf, size_t len, struct headers *,
	    struct mc_error *);
void	headers_free(struct headers *);
/* First field of that name (case-insensitive), NULL if none. */
const char *headers_get(const struct headers *, const char *name);

/* RFC 5322 date-time (obsolete zones too) to epoch seconds. */
int	date_parse_rfc5322(const char *, time_t *);
/* IMAP INTERNALDATE "22-Nov-2026 05:30:01 +0000" to epoch seconds. */
int	date_parse_imap(const char *, time_t *);

struct hop {
	char	by[128];
	char	from[128];
	time_t	at;		/* 0 when the field had no readable date */
};

struct received_chain {
	size_t		n;		/* hops, oldest first */
	struct hop	hop[MESSAGE_HOPS_MAX];
	int		greylisted;
	long		greylist_delay;	/* seconds, -1 unknown */
	char		greylist_source[16];	/* "x-greylist", "received" */
	char		greylist_at[128];	/* host the canary waited at */
};

/* Reads the Received: chain and X-Greylist: of a parsed header block. */
void	received_parse(const struct headers *, struct received_chain *);

/*
 * Composes the canary. rcpt receives the envelope recipient (with the
 * token as '+' extension when fresh is set). Addresses and the probe name
 * must have passed config_check_*; they are checked again here.
 */
int	message_compose(const char *probe, const char *from, const char *to,
	    int fresh, const char *token, time_t now, struct buf *out,
	    char *rcpt, size_t rcptlen, struct mc_error *);

#endif
