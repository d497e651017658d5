/*
 * cursor.c - the mailbox's cursor: what a scan has handled, and the refs
 * of found messages waiting to be deleted once the state that records
 * them is saved.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
cursor_reset(struct cursor *cur, int keep_url)
{
	char *url = keep_url ? cur->url : NULL;

	if (!keep_url)
		free(cur->url);
	strv_free(cur->seen, cur->nseen);
	strv_free(cur->pending, cur->npending);
	memset(cur, 0, sizeof(*cur));
	cur->url = url;
}

int
cursor_claim(struct cursor *cur, const char *url)
{
	if (cur->url != NULL && strcmp(cur->url, url) == 0)
		return 0;
	cursor_reset(cur, 0);
	return (cur->url = strdup(url)) == NULL ? -1 : 0;
}

int
cursor_add_pending(struct cursor *cur, const char *ref)
{
	char **nv;
	size_t i;

	for (i = 0; i < cur->npending; i++)
		if (strcmp(cur->pending[i], ref) == 0)
			return 0;
	if ((nv = realloc(cur->pending, (cur->npending + 1) *
	    sizeof(*nv))) == NULL)
		return -1;
	cur->pending = nv;
	if ((nv[cur->npending] = strdup(ref)) == NULL)
		return -1;
	cur->npending++;
	return 0;
}
