/*
 * state.h - the state of one probe: its canaries, counters and mailbox
 * cursor. Kept as JSON (state_json.h) in STATE_DIR/NAME.json, written
 * atomically, locked with flock on NAME.lock for the length of a cycle
 * (statefile.h). A canary and its transitions are canary.h's.
 */
#ifndef MC_STATE_H
#define MC_STATE_H

#include <stddef.h>

#include "canary.h"
#include "error.h"
#include "message.h"
#include "cursor.h"
#include "token.h"

#define STATE_CANARIES_MAX	2000
#define STATE_HIDDEN_KEEP	(7 * 86400)	/* a hidden canary may turn up */

struct state {
	unsigned long	 next_seq;
	double		 last_sent;
	struct {
		unsigned long	sent, delivered, bounced, hidden, late,
				submit_failed, bogus_ndr, delayed_dsn,
				unparseable, oversize, folded;
		unsigned long	junk;	/* delivered, into a junk folder */
		unsigned long	auth_not_passed;	/* delivered, a
							 * method not pass */
	} count;
	struct cursor	 mbox;		/* the test mailbox */
	struct cursor	 bounce;	/* where bounces to the sender land */
	struct cursor	*junk;		/* one per junk folder, by URL */
	size_t		 njunk;
	struct canary	*c;		/* ordered by seq */
	size_t		 n;
	size_t		 cap;
};

void	state_init(struct state *);
void	state_clear(struct state *);
/* Appends a zeroed canary; returns NULL when full or out of memory. */
struct canary *state_add(struct state *);
/* Drops the newest canary (one that was added and never sent). */
void	state_drop_last(struct state *);
/*
 * Makes room for one more canary when the record is full: the oldest
 * resolved canary (delivered, late, bounced, not submitted), else the
 * oldest hidden one, leaves the record. Its outcome was counted when it
 * happened, so nothing is lost from the counters; count.folded says how
 * many left this way. Returns 0 (room, or folded one) or -1 when every
 * canary is still in flight.
 */
int	state_make_room(struct state *);
struct canary *state_find_token(struct state *, const char *token);
/* The canary of sequence number seq (canaries are in seq order); NULL if
 * it is not in the record, or seq is negative. */
const struct canary *state_find_seq(const struct state *, long seq);
int	state_set_str(char **, const char *);

/*
 * Drops resolved canaries beyond the newest `keep`, but never one in
 * flight, one of the npin seqs of `pin` (those the verdict names), or a
 * hidden canary younger than STATE_HIDDEN_KEEP.
 */
void	state_prune(struct state *, size_t keep, const unsigned long *pin,
	    size_t npin, double now);

/* The JSON codec and the state file; declared apart, reached from here. */
#include "state_json.h"
#include "statefile.h"

#endif
