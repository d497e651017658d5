/*
 * mailbox.h - finds canaries in a mailbox over IMAP or POP3 (libcurl).
 * Only messages not seen before are read, and only their headers, so the
 * cost of a run does not grow with unrelated mail. Deletion takes the
 * refs the probe recorded; nothing else is ever deleted. One interface
 * for both protocols: imap.c and pop3.c do the protocol's part.
 */
#ifndef MC_MAILBOX_H
#define MC_MAILBOX_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "cursor.h"

#define MAILBOX_FETCH_MAX	2000	/* messages examined in one run */
#define MAILBOX_PEEK_MAX	(64 * 1024)	/* header of a skipped one */
#define MAILBOX_UID_MAX		4294967295UL	/* RFC 3501 2.3.1.1 */

struct mailbox;

enum mailbox_kind {
	MAILBOX_HEADERS,	/* hdr/len: its header block (test mailbox) */
	MAILBOX_WHOLE,		/* fd: the whole message (bounce mailbox) */
	/*
	 * Over max_message_size, not downloaded. hdr/len: the start of
	 * its header block (MAILBOX_PEEK_MAX at most), perhaps empty.
	 */
	MAILBOX_OVERSIZE,
	MAILBOX_FAILED		/* not downloaded; error says why */
};

/* One new message, as the scan hands it to the caller. */
struct mailbox_msg {
	enum mailbox_kind	 kind;
	const char		*ref;		/* UID or UIDL */
	const char		*refname;	/* "UID" or "UIDL" */
	time_t			 arrived;	/* at the server, or 0 */
	unsigned long		 size;		/* as announced */
	const char		*hdr;		/* NUL-terminated */
	size_t			 len;
	int			 fd;		/* at offset 0, or -1 */
	const char		*error;		/* MAILBOX_FAILED */
};

/*
 * Called for each new candidate, in order. Returns 0 when the message was
 * handled (the cursor may pass it), or -1 with err set when the scan must
 * stop before it (MC_ERR_TIMEOUT, MC_ERR_SIGNAL, MC_ERR_NOMEM): the
 * message is read again by the next run. The fd belongs to the scan:
 * read it, never close it.
 */
typedef int (*mailbox_cb)(void *arg, const struct mailbox_msg *,
    struct mc_error *);

/*
 * Prepares a scan of url (no I/O yet). whole: hand every new message to
 * the callback in full, in an unlinked file in cfg->state_dir (bounces);
 * otherwise only messages carrying X-Mailcanary-Probe, headers only
 * (canaries). Messages larger than cfg->max_message_size are never
 * downloaded either way: the callback gets them as MAILBOX_OVERSIZE.
 */
struct mailbox *mailbox_open(const struct config *, const char *url,
	    const char *user, const char *password, int whole,
	    struct mc_error *);
/*
 * Logs in with the OAuth2 bearer token of this login of the probe
 * (use: enum oauth2_use), if it has one: from its token file or its
 * [oauth2 NAME] provider. Call after mailbox_open(), before the first
 * request. 0, or -1 with err saying why there is no token.
 */
int	mailbox_bearer(struct mailbox *, int use, struct mc_error *);
/*
 * Reads what is new since the cursor, calls cb for candidates, and
 * advances the cursor only past what was handled and only onto UIDs the
 * server listed. A message that cannot be downloaded is handed over as
 * MAILBOX_FAILED and passed; a broken connection, an unreadable listing,
 * the deadline or a signal ends the scan with -1 and err set, the cursor
 * kept at the last message handled.
 */
int	mailbox_scan(struct mailbox *, struct cursor *, const char *probe,
	    mailbox_cb, void *, struct mc_error *);
/* Deletes cur->pending; what was deleted leaves the list. */
int	mailbox_delete(struct mailbox *, struct cursor *, struct mc_error *);
struct mailbox *mailbox_close(struct mailbox *);

#endif
