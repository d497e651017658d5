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
#define MAILBOX_UID_MAX		4294967295UL	/* RFC 3501 2.3.1.1 */

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

/*
 * Parsers of server replies, exposed for unit tests. UIDs, UIDVALIDITY
 * and UIDNEXT are non-zero 32-bit numbers; anything else is unreadable.
 */
int	mailbox_parse_status(const char *, unsigned long *uidvalidity,
	    unsigned long *uidnext);
/* Parses "* SEARCH n n n": the count, or -1 on bad input or more than max. */
long	mailbox_parse_search(const char *, unsigned long *out, size_t max);
/*
 * Parses the reply to "UID FETCH uid (UID INTERNALDATE RFC822.SIZE)":
 * 0 with size and arrived (0 when its date is unreadable), 1 when no
 * FETCH line is for uid (the message is gone), -1 when unreadable.
 */
int	mailbox_parse_fetch(const char *, unsigned long uid,
	    unsigned long *size, time_t *arrived);
/* Parses "+OK n size" (RFC 1939 5, LIST n): 0, or -1 on bad input. */
int	mailbox_parse_list(const char *, unsigned long n, unsigned long *size);

#endif
