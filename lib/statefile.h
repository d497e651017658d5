/*
 * statefile.h - a probe's state on disk: STATE_DIR/NAME.json, locked
 * with flock on NAME.lock for the length of a cycle, loaded with a size
 * cap, saved atomically, moved aside when it cannot be used.
 */
#ifndef MC_STATEFILE_H
#define MC_STATEFILE_H

#include "error.h"

#define STATE_FILE_MAX		(16 * 1024 * 1024)

struct state;

/*
 * Takes the exclusive lock of DIR/NAME, waiting within the run's
 * deadline. Returns the lock fd, or -1 with err set.
 */
int	state_lock(const char *dir, const char *name, struct mc_error *);
/* Releases and closes a lock fd; accepts -1. */
void	state_unlock(int);

enum state_load_result {
	STATE_LOAD_ERROR = -1,	/* err set; nothing was touched */
	STATE_LOAD_OK = 0,	/* loaded, or fresh when there was none */
	STATE_LOAD_CORRUPT = 1	/* moved aside; err names the new path */
};

/*
 * Loads DIR/NAME.json into st (initialised here). Call with the lock
 * held: also removes temp files of killed writers. A file that is not
 * ours, or others may write, or not a regular file, is refused
 * (STATE_LOAD_ERROR); one that cannot be read as a state is moved aside
 * (STATE_LOAD_CORRUPT) and st starts afresh.
 */
int	state_load(const char *dir, const char *name, struct state *,
	    struct mc_error *);
/* temp file, write, fsync, rename, fsync(dir); every step checked. */
int	state_save(const char *dir, const char *name, const struct state *,
	    struct mc_error *);

#endif
