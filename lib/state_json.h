/*
 * state_json.h - the format of a probe's state file: the state to and
 * from JSON values and text. No files here (statefile.h).
 */
#ifndef MC_STATE_JSON_H
#define MC_STATE_JSON_H

#include <jansson.h>
#include <stddef.h>

#define STATE_FORMAT_VERSION	1

struct state;
struct canary;

/* The whole state as a JSON object (new reference). */
json_t	*state_to_json(const struct state *);
/*
 * Fills an initialised, empty state from root. Returns 0, or -1 with
 * *why a static sentence saying what is wrong (the state is then partly
 * filled: the caller clears it). Every field is type-checked; lists are
 * capped by STATE_CANARIES_MAX and CURSOR_SEEN_MAX.
 */
int	state_from_json(json_t *root, struct state *, const char **why);
/* The state as the text of a state file (malloc'd), or NULL: no memory. */
char	*state_json_dump(const struct state *);
/*
 * Reads the text of a state file (len bytes, any content) into st, which
 * it initialises. Returns 0, or -1 with st cleared and why (whylen
 * bytes) saying what is wrong. Duplicate keys are refused.
 */
int	state_json_parse(const char *data, size_t len, struct state *,
	    char *why, size_t whylen);

/* The counters as a JSON object (new reference). */
json_t	*state_counters_json(const struct state *);
/* A canary as JSON (new reference); also used by the JSON output. */
json_t	*canary_to_json(const struct canary *);

#endif
