/*
 * cursor.h - where the scan of one mailbox stands, so that only what is
 * new since is read: the mailbox module's own record (mailbox.c, imap.c
 * and pop3.c move it), kept in the probe's state between runs (the
 * state's JSON codec reads and writes it, nothing else touches it).
 */
#ifndef MC_CURSOR_H
#define MC_CURSOR_H

#include <stddef.h>

#define CURSOR_SEEN_MAX		200000	/* POP3 UIDLs remembered */

struct cursor {
	char		*url;		/* the mailbox the cursor belongs to */
	unsigned long	 uidvalidity;	/* IMAP */
	unsigned long	 last_uid;	/* IMAP: the last UID handled */
	char		**seen;		/* POP3 UIDLs already examined */
	size_t		 nseen;
	char		**pending;	/* refs found and to be deleted */
	size_t		 npending;
};

/*
 * Ties the cursor to the mailbox at url: one that belonged to another
 * mailbox starts afresh. 0, or -1 out of memory.
 */
int	cursor_claim(struct cursor *, const char *url);
/* Adds ref to the refs to delete (once); 0, or -1 out of memory. */
int	cursor_add_pending(struct cursor *, const char *ref);
/*
 * Forgets everything a cursor knew (another mailbox, a new UIDVALIDITY);
 * keep_url: it still belongs to the same mailbox. Frees what it held.
 */
void	cursor_reset(struct cursor *, int keep_url);

#endif
