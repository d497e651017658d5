/*
 * ndr.h - reads a bounce: RFC 3464 delivery status notifications and the
 * common non-standard formats (Exchange 2000/2003 and 2007+, Exim, qmail,
 * Sendmail, Postfix, Lotus Domino), and classifies it. MIME is GMime's;
 * what is ours is the grammar of the reports and the classification.
 * The reader is split by concern (ndr.c, ndr_mime.c, dsn.c, ndr_text.c);
 * ndr_int.h says which part does what.
 */
#ifndef MC_NDR_H
#define MC_NDR_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "token.h"

#define NDR_MESSAGE_MAX	(10 * 1024 * 1024)	/* whole message */
#define NDR_DEPTH_MAX	8			/* MIME nesting */
#define NDR_PARTS_MAX	64			/* MIME parts */
#define NDR_RCPTS_MAX	32			/* recipients in one report */
#define NDR_XFIELDS_MAX	16			/* X- fields kept */

enum ndr_class {
	NDR_NOT_BOUNCE = 0,	/* an auto-reply, a receipt, other mail */
	NDR_PERMANENT,		/* failed, 5.x.x: a real rejection */
	NDR_BOGUS,		/* failed, but 4.x.x or a 4xx reply */
	NDR_DELAYED,		/* still queued somewhere */
	NDR_DELIVERED,
	NDR_RELAYED,
	NDR_EXPANDED,
	NDR_UNPARSEABLE		/* a bounce, but its details are unreadable */
};

enum ndr_format {
	NDR_FMT_UNKNOWN = 0, NDR_FMT_DSN, NDR_FMT_EXCHANGE2003,
	NDR_FMT_EXCHANGE2007, NDR_FMT_EXIM, NDR_FMT_QMAIL, NDR_FMT_SENDMAIL,
	NDR_FMT_POSTFIX, NDR_FMT_DOMINO
};

struct ndr_rcpt {
	char	*final_recipient;
	char	*original_recipient;
	char	*action;
	char	*status;
	char	*diagnostic_code;
	char	*remote_mta;
	int	 class;
};

struct ndr_field {
	char	*name;
	char	*value;
};

struct ndr_report {
	int		 class;
	int		 format;
	char		*reporting_mta;
	char		*arrival_date;
	char		*subject;
	char		*from;
	char		*original_message_id;
	char		 token[TOKEN_MAX];	/* "" if none; not verified */
	char		*error;			/* why it is unparseable */
	size_t		 nrcpt;
	struct ndr_rcpt	 rcpt[NDR_RCPTS_MAX];
	size_t		 nx;
	struct ndr_field x[NDR_XFIELDS_MAX];	/* X- per-message fields */
};

/*
 * Parses one message. Returns 0 with rep filled (rep->class says whether
 * it is a bounce at all), or -1 with err set when the input cannot be
 * read as a message (too large, not MIME). A bounce whose details pass a
 * cap or do not parse is NDR_UNPARSEABLE with rep->error, never a guess.
 * Free with ndr_report_clear().
 */
int	ndr_parse(const char *buf, size_t len, struct ndr_report *,
	    struct mc_error *);
/*
 * The same for a message in a file: fd is readable and seekable, the
 * message starts at offset 0. The parse reads through the file, so its
 * memory does not grow with the message. Returns -1 with err set when
 * the run's deadline passes or a termination signal arrives mid-parse
 * (the message was not handled), as for ndr_parse otherwise.
 */
int	ndr_parse_fd(int fd, struct ndr_report *, struct mc_error *);
void	ndr_report_clear(struct ndr_report *);
/* The report as JSON (new reference), as `mailcanary classify` prints. */
json_t	*ndr_report_json(const struct ndr_report *);
const char *ndr_class_name(int);
const char *ndr_format_name(int);
/* Classifies one recipient from its Action, Status and Diagnostic-Code. */
int	ndr_classify(const char *action, const char *status, const char *diag);

#endif
