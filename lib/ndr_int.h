/*
 * ndr_int.h - what the parts of the bounce reader share; callers outside
 * it use ndr.h. The reader is split by concern, one prefix a file:
 *
 *   ndr.c       ndr_*: the entry points, the report (its one owner: every
 *               setter, the clear), the class of each recipient and of
 *               the whole report, the not-a-bounce decision, the token,
 *               the JSON;
 *   ndr_mime.c  ndr_mime_*: the MIME walk over GMime, after mimescan.c's
 *               pre-scan: what a message holds, as plain strings;
 *   dsn.c       dsn_*: RFC 3464 delivery-status groups, RFC 3463 status
 *               codes and the RFC 5321 reply code in a diagnostic;
 *   ndr_text.c  ndr_text_*: the text of non-standard reports (Exchange
 *               2000/2003 and 2007+, Exim, qmail, Sendmail, Postfix,
 *               Domino): which format, and the recipients read from it.
 *
 * Data flows one way: ndr_mime reads a message into a struct ndr_mime;
 * ndr.c hands its parts to dsn and ndr_text, which fill the report
 * through ndr.c's setters; ndr.c classifies what they found.
 */
#ifndef MC_NDR_INT_H
#define MC_NDR_INT_H

#include <stddef.h>

#include "buf.h"
#include "error.h"
#include "ndr.h"

#define NDR_TEXT_MAX	(1024 * 1024)	/* report text we look at */
#define NDR_STATUS_MAX	16		/* a status code and its NUL */

/* ndr.c: the report's setters. */

/* Replaces *dst with a copy of s (NULL when s is NULL). */
void	ndr_set(char **dst, const char *s);
/* The next free recipient of r, zeroed and counted; NULL past the cap. */
struct ndr_rcpt *ndr_rcpt_new(struct ndr_report *r);
/* Keeps one X- per-message field, copied; past the cap it is dropped. */
void	ndr_x_add(struct ndr_report *r, const char *name, const char *value);

/* ndr_mime.c: what a message holds. */

struct ndr_mime {
	/*
	 * The message's structure passed a cap (the pre-scan's, MIME depth
	 * or parts): nothing below was read. As long as mimescan's why.
	 */
	char		 limit[160];
	const char	*over;		/* a part of the report past its cap */
	int		 report;	/* a multipart/report */
	int		 mdn;		/* a read receipt */
	char		*subject;	/* top-level Subject, decoded */
	char		*from;		/* top-level From, raw */
	char		*xfailed;	/* top-level X-Failed-Recipients */
	char		*dsn;		/* first delivery-status, decoded */
	char		*orig;		/* first returned original's headers */
	struct buf	 text;		/* text of the report itself */
	struct buf	 all;		/* every text, originals included */
};

/*
 * Reads the message in buf (len bytes, at most NDR_MESSAGE_MAX, checked
 * by the caller) or in the seekable file fd (from offset 0; fd is not
 * moved for the caller, a duplicate is read) into m, which the caller
 * frees with ndr_mime_clear() after a return of 0. Returns -1 with err
 * set, and nothing held, when the input is not a message, when it cannot
 * be read, or when the run's deadline passes or a termination signal
 * arrives. A message past a cap is not an error: m->limit or m->over
 * says which.
 */
int	ndr_mime_read(const char *buf, size_t len, struct ndr_mime *m,
	    struct mc_error *err);
int	ndr_mime_read_fd(int fd, struct ndr_mime *m, struct mc_error *err);
void	ndr_mime_clear(struct ndr_mime *m);

/* dsn.c: RFC 3464 and RFC 3463. */

/* Length of the RFC 3463 status code at s ("5.1.1"), 0 if there is none. */
size_t	dsn_status_span(const char *s);
/*
 * Copies the first status code in s that stands alone (not inside a
 * longer run of digits and dots) to out; returns 0, or -1 if none.
 */
int	dsn_status_find(const char *s, char out[NDR_STATUS_MAX]);
/* The SMTP reply code (e.g. 450) a diagnostic carries, 0 if none. */
int	dsn_reply_code(const char *diag);
/*
 * Reads the delivery-status body dsn (NUL-terminated) into r: the
 * per-message group, then one recipient per further group. Returns -1
 * with err set when a group is not a header block or there are more
 * than NDR_RCPTS_MAX recipients; r keeps what was read before.
 */
int	dsn_parse(struct ndr_report *r, const char *dsn, struct mc_error *err);

/* ndr_text.c: non-standard reports. */

/*
 * The format of a report from its text t, its From and its
 * X-Failed-Recipients (either may be NULL); NDR_FMT_UNKNOWN if none fits.
 */
int	ndr_text_format(const char *t, const char *from, const char *xfailed);
/*
 * Reads recipients, statuses and diagnostics from the text t of a report
 * whose format r->format names (NDR_FMT_UNKNOWN reads it as generically
 * as it can). Adds nothing when nothing is found.
 */
void	ndr_text_parse(struct ndr_report *r, const char *t,
	    const char *xfailed);

#endif
