/*
 * state.c - the data model of a probe: its canaries in seq order, its
 * counters and its mailbox cursors, and the rules of what the record
 * keeps (room for one more, pruning). No JSON (state_json.c) and no
 * files (statefile.c); a canary's transitions are canary.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

int
state_set_str(char **dst, const char *s)
{
	char *n = NULL;

	if (s != NULL && (n = strdup(s)) == NULL)
		return -1;
	free(*dst);
	*dst = n;
	return 0;
}

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	st->next_seq = 1;
}

void
state_clear(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		canary_clear(&st->c[i]);
	free(st->c);
	cursor_reset(&st->mbox, 0);
	cursor_reset(&st->bounce, 0);
	for (i = 0; i < st->njunk; i++)
		cursor_reset(&st->junk[i], 0);
	free(st->junk);
	state_init(st);
}

struct canary *
state_add(struct state *st)
{
	struct canary *nc;
	size_t ncap;

	if (st->n >= STATE_CANARIES_MAX)
		return NULL;
	if (st->n == st->cap) {
		ncap = st->cap ? st->cap * 2 : 16;
		if ((nc = realloc(st->c, ncap * sizeof(*nc))) == NULL)
			return NULL;
		st->c = nc;
		st->cap = ncap;
	}
	memset(&st->c[st->n], 0, sizeof(st->c[0]));
	st->c[st->n].greylist_delay = -1;
	return &st->c[st->n++];
}

void
state_drop_last(struct state *st)
{
	if (st->n > 0)
		canary_clear(&st->c[--st->n]);
}

static void
state_remove(struct state *st, size_t i)
{
	canary_clear(&st->c[i]);
	memmove(&st->c[i], &st->c[i + 1], (st->n - i - 1) * sizeof(st->c[0]));
	st->n--;
}

int
state_make_room(struct state *st)
{
	size_t i;

	if (st->n < STATE_CANARIES_MAX)
		return 0;
	/* In seq order: the first match is the oldest. */
	for (i = 0; i < st->n; i++)
		if (st->c[i].status == CANARY_DELIVERED ||
		    st->c[i].status == CANARY_LATE ||
		    st->c[i].status == CANARY_BOUNCED ||
		    st->c[i].status == CANARY_SUBMIT_FAILED)
			break;
	if (i == st->n)
		for (i = 0; i < st->n; i++)
			if (st->c[i].status == CANARY_HIDDEN)
				break;
	if (i == st->n)
		return -1;
	state_remove(st, i);
	st->count.folded++;
	return 0;
}

const struct canary *
state_find_seq(const struct state *st, long seq)
{
	size_t lo = 0, hi = st->n, mid;

	if (seq < 0)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st->c[mid].seq == (unsigned long)seq)
			return &st->c[mid];
		if (st->c[mid].seq < (unsigned long)seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct canary *
state_find_token(struct state *st, const char *token)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->c[i].token, token) == 0)
			return &st->c[i];
	return NULL;
}

static int
prune_keeps(const struct canary *c, const unsigned long *pin, size_t npin,
    double now)
{
	size_t i;

	for (i = 0; i < npin; i++)
		if (c->seq == pin[i])
			return 1;
	return c->status == CANARY_IN_FLIGHT || (c->status == CANARY_HIDDEN &&
	    now - c->hidden_at < STATE_HIDDEN_KEEP);
}

void
state_prune(struct state *st, size_t keep, const unsigned long *pin,
    size_t npin, double now)
{
	size_t i, j, droppable = 0, drop;

	for (i = 0; i < st->n; i++)
		if (!prune_keeps(&st->c[i], pin, npin, now))
			droppable++;
	if (droppable <= keep)
		return;
	drop = droppable - keep;
	/* Canaries are in seq order: the oldest go first. */
	for (i = 0, j = 0; i < st->n; i++) {
		struct canary *c = &st->c[i];

		if (drop > 0 && !prune_keeps(c, pin, npin, now)) {
			canary_clear(c);
			drop--;
			continue;
		}
		if (i != j)
			st->c[j] = *c;
		j++;
	}
	st->n = j;
}
