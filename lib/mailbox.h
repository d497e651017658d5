/*
 * mailbox.h - finds canaries in a mailbox over IMAP or POP3 (libcurl).
 * Only messages not seen before are read, and only their headers, so the
 * cost of a run does not grow with unrelated mail. Deletion takes the
 * refs the probe recorded; nothing else is ever deleted.
 */
#ifndef MC_MAILBOX_H
#define MC_MAILBOX_H

#include <stddef.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "state.h"

#define MAILBOX_FETCH_MAX	2000	/* message fetches in one run */
#define MAILBOX_WHOLE_MAX	(10 * 1024 * 1024)	/* larger: skipped */

struct mailbox;

/*
 * Called for each new candidate: ref names it for deletion, arrived is
 * the server's receive time (0 unknown), hdr its header block.
 */
typedef void (*mailbox_cb)(void *arg, const char *ref, time_t arrived,
    const char *hdr, size_t len);

/*
 * Prepares a scan of url (no I/O yet). whole: hand every new message to
 * the callback in full (bounces); otherwise only messages carrying
 * X-Mailcanary-Probe, headers only (canaries).
 */
struct mailbox *mailbox_open(const struct config *, const char *url,
	    const char *user, const char *password, int whole,
	    struct mc_error *);
/*
 * Reads what is new since the cursor, calls cb for candidates, and
 * advances the cursor only past what was fully handled.
 */
int	mailbox_scan(struct mailbox *, struct cursor *, const char *probe,
	    mailbox_cb, void *, struct mc_error *);
/* Deletes cur->pending; what was deleted leaves the list. */
int	mailbox_delete(struct mailbox *, struct cursor *, struct mc_error *);
struct mailbox *mailbox_close(struct mailbox *);

/* Parsers of server replies, exposed for unit tests. */
int	mailbox_parse_status(const char *, unsigned long *uidvalidity,
	    unsigned long *uidnext);
/* Parses "* SEARCH n n n"; returns the count, or -1 on bad input. */
long	mailbox_parse_search(const char *, unsigned long *out, size_t max);

#endif
