/*
 * junk.h - the junk folders of a test mailbox: the `junk_folders` list,
 * the URL of each folder (the mailbox URL with the folder as its path),
 * and the cursor of each in the probe's state. A canary found in one is
 * delivered and flagged (canary.h's canary_junk()); the verdict for it
 * comes from the `junk` setting (evaluate.h's evaluate_junk()).
 */
#ifndef MC_JUNK_H
#define MC_JUNK_H

#include <stddef.h>

#include "cursor.h"
#include "error.h"

#define JUNK_FOLDERS_MAX	16	/* folders in junk_folders */
#define JUNK_FOLDER_MAX		255	/* bytes of one folder name */

struct state;

/* A parsed junk_folders value: owned names, in the order given. */
struct junk_list {
	char	*name[JUNK_FOLDERS_MAX];
	size_t	 n;
};

/*
 * Parses a junk_folders value: names separated by commas or blanks; a
 * name in double quotes may hold blanks and commas ("Junk E-mail").
 * Refused, with err saying why: an empty list, an empty or unterminated
 * quoted name, a name with a backslash, a double quote or a control
 * character (IMAP quoted strings), a name over JUNK_FOLDER_MAX bytes,
 * more than JUNK_FOLDERS_MAX names, or one given twice. Names are
 * taken as they are: modified UTF-7 (RFC 3501 5.1.3) is the operator's.
 * list may be NULL (a check only); free it with junk_list_clear().
 */
int	junk_list_parse(const char *, struct junk_list *, struct mc_error *);
void	junk_list_clear(struct junk_list *);
/*
 * Refuses (-1, err set) a list that names the folder of mailbox_url
 * itself (INBOX when the URL has none; INBOX in any case): it is
 * scanned already, and a canary there is no junk.
 */
int	junk_list_check_mailbox(const struct junk_list *,
	    const char *mailbox_url, struct mc_error *);
/*
 * The URL of folder in the mailbox at mailbox_url (an imap[s]:// URL):
 * its path replaced by the folder, percent-encoded. Malloc'd; NULL with
 * err set when the URL cannot be parsed or out of memory.
 */
char	*junk_folder_url(const char *mailbox_url, const char *folder,
	    struct mc_error *);
/*
 * The cursor of the junk folder at url in st: the one kept for it, or a
 * new, empty one claimed for it. NULL: out of memory.
 */
struct cursor *junk_cursor(struct state *, const char *url);
/*
 * Drops the cursors of folders no longer configured (urls[0..n-1] are
 * the configured ones), except those with deletions still pending.
 */
void	junk_cursors_keep(struct state *, char *const *urls, size_t n);

#endif
