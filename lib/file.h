/*
 * file.h - opening the files mailcanary takes on trust: the configuration,
 * password files, the token key, state and lock files. Nothing here blocks
 * (a FIFO, a device or a directory is refused, never read), every read is
 * capped, and a file another user could have planted or could change is
 * refused with the command that fixes it.
 */
#ifndef MC_FILE_H
#define MC_FILE_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

#include "error.h"

/* What a file must satisfy besides being a regular file. */
#define FILE_OWNED	0x01	/* owned by us or root; not writable by
				 * group or others */
#define FILE_PRIVATE	0x02	/* FILE_OWNED, and not readable by group or
				 * others either */
#define FILE_NOFOLLOW	0x04	/* a symbolic link is refused */
#define FILE_CREATE	0x08	/* file_open: O_RDWR, created 0600 if
				 * missing */

/*
 * Trusts files owned by uid too, besides the effective user and root:
 * mailcanaryd's --user account while it still runs as root. Call it before
 * any thread starts; (uid_t)-1 trusts nobody more.
 */
void	file_trust_uid(uid_t);

/*
 * Opens path for reading (FILE_CREATE: read-write, created 0600), without
 * blocking and close-on-exec, and checks it: a regular file, and the
 * flags. what names the file in errors ("password file"). Returns the
 * descriptor, or -1 with err set and errno that of the failure (ENOENT
 * when the file does not exist, EINVAL when a check refused it).
 */
int	file_open(const char *path, const char *what, int flags,
	    struct mc_error *);
/* The checks of file_open() on a descriptor already open. 0 or -1. */
int	file_check_fd(int fd, const char *path, const char *what, int flags,
	    struct mc_error *);
/*
 * Reads all of path, at most max bytes, into a NUL-terminated buffer the
 * caller frees (*len excludes the NUL). A larger file is an error, never a
 * truncation. Returns 0, or -1 with err set and errno as file_open().
 */
int	file_read(const char *path, const char *what, int flags, size_t max,
	    char **data, size_t *len, struct mc_error *);
/*
 * Checks a directory that holds trusted files: a directory, and not
 * writable by others unless sticky (/tmp-like: others cannot replace our
 * files there, and each file's owner is checked when it is opened).
 */
int	file_check_dir(const char *path, const char *what, struct mc_error *);
/* Whether a file with this owner is ours: the effective user, root, or the
 * uid of file_trust_uid(). */
int	file_owner_ok(uid_t);

#endif
