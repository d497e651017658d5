/*
 * imap.h - the IMAP handler of the mailbox module (see mailbox.h) and the
 * parsers of the IMAP replies it reads.
 */
#ifndef MC_IMAP_H
#define MC_IMAP_H

#include <stddef.h>
#include <time.h>

/*
 * UIDs one UID SEARCH covers: the new UIDs of a large mailbox are
 * searched chunk by chunk, the cursor moving after each.
 */
#define IMAP_SEARCH_CHUNK	20000

struct mailbox_handler;

extern const struct mailbox_handler imap_handler;

/*
 * The parsers take a NUL-terminated reply (untagged lines as libcurl
 * passes them) and never write past what they are given. UIDs,
 * UIDVALIDITY and UIDNEXT are non-zero 32-bit numbers; anything else is
 * unreadable.
 */
/* Parses "* STATUS name (... UIDVALIDITY n UIDNEXT n ...)": 0, or -1. */
int	imap_parse_status(const char *, unsigned long *uidvalidity,
	    unsigned long *uidnext);
/*
 * Parses "* SEARCH n n n" into out: the count, or -1 on bad input or
 * more than max UIDs.
 */
long	imap_parse_search(const char *, unsigned long *out, size_t max);
/*
 * Parses the reply to "UID FETCH uid (UID INTERNALDATE RFC822.SIZE)":
 * 0 with size and arrived (0 when its date is unreadable), 1 when no
 * FETCH line is for uid (the message is gone), -1 when unreadable.
 * Literals are never asked for, so one makes the reply unreadable.
 */
int	imap_parse_fetch(const char *, unsigned long uid, unsigned long *size,
	    time_t *arrived);

#endif
