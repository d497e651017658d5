/*
 * junk.c - the junk folders of a test mailbox: parsing `junk_folders`,
 * the URL of each folder, and the per-folder cursors the state keeps
 * (one per folder URL, in the order they were first scanned).
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "junk.h"
#include "state.h"

static int
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Checks one name and adds it to list (NULL: check only). */
/*
 * Whether a name has a path segment "." or ".." between slashes: the URL
 * made from it would be normalized by libcurl into another folder (the
 * mailbox's own, with "X/../INBOX"). Dots inside a name ("INBOX.Junk")
 * are a hierarchy separator and fine.
 */
static int
dot_segment(const char *s, size_t len)
{
	size_t i = 0, start;

	while (i <= len) {
		start = i;
		while (i < len && s[i] != '/')
			i++;
		if ((i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return 1;
		i++;
	}
	return 0;
}

static int
junk_add(struct junk_list *list, size_t *n, const char *s, size_t len,
    struct mc_error *err)
{
	size_t i;

	if (len == 0)
		return error_set(err, MC_ERR_CONFIG,
		    "junk_folders: an empty folder name");
	if (len > JUNK_FOLDER_MAX)
		return error_set(err, MC_ERR_CONFIG,
		    "junk_folders: a folder name is longer than %d bytes",
		    JUNK_FOLDER_MAX);
	for (i = 0; i < len; i++)
		if (s[i] == '"' || s[i] == '\\' ||
		    (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return error_set(err, MC_ERR_CONFIG,
			    "junk_folders: folder name '%.*s' must not contain "
			    "quotes, backslashes or control characters",
			    (int)len, s);
	if (dot_segment(s, len))
		return error_set(err, MC_ERR_CONFIG,
		    "junk_folders: folder name '%.*s' has a '.' or '..' "
		    "path segment (the URL would name another folder)",
		    (int)len, s);
	if (*n >= JUNK_FOLDERS_MAX)
		return error_set(err, MC_ERR_CONFIG,
		    "junk_folders: more than %d folders", JUNK_FOLDERS_MAX);
	if (list != NULL) {
		for (i = 0; i < list->n; i++)
			if (strlen(list->name[i]) == len &&
			    memcmp(list->name[i], s, len) == 0)
				return error_set(err, MC_ERR_CONFIG,
				    "junk_folders: folder '%.*s' is named "
				    "twice", (int)len, s);
		if ((list->name[list->n] = strndup(s, len)) == NULL)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		list->n++;
	}
	(*n)++;
	return 0;
}

int
junk_list_parse(const char *v, struct junk_list *list, struct mc_error *err)
{
	struct junk_list tmp;
	const char *p = v, *q;
	size_t n = 0;

	/* Duplicates are found in a list, so a check builds one too. */
	memset(&tmp, 0, sizeof(tmp));
	if (list == NULL)
		list = &tmp;
	else
		memset(list, 0, sizeof(*list));
	for (;;) {
		while (is_sep(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p == '"') {
			if ((q = strchr(p + 1, '"')) == NULL) {
				error_set(err, MC_ERR_CONFIG, "junk_folders: "
				    "a quoted folder name has no closing "
				    "quote");
				goto fail;
			}
			if (junk_add(list, &n, p + 1, (size_t)(q - p - 1),
			    err) == -1)
				goto fail;
			p = q + 1;
			if (*p != '\0' && !is_sep(*p)) {
				error_set(err, MC_ERR_CONFIG, "junk_folders: "
				    "a quoted folder name must be followed by "
				    "a comma or a blank");
				goto fail;
			}
			continue;
		}
		for (q = p; *q != '\0' && !is_sep(*q); q++)
			;
		if (junk_add(list, &n, p, (size_t)(q - p), err) == -1)
			goto fail;
		p = q;
	}
	if (n == 0) {
		error_set(err, MC_ERR_CONFIG,
		    "junk_folders: no folder named");
		goto fail;
	}
	junk_list_clear(&tmp);
	return 0;
fail:
	junk_list_clear(list);
	junk_list_clear(&tmp);
	return -1;
}

void
junk_list_clear(struct junk_list *list)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		free(list->name[i]);
	memset(list, 0, sizeof(*list));
}

int
junk_list_check_mailbox(const struct junk_list *list, const char *url,
    struct mc_error *err)
{
	CURLU *u;
	char *path = NULL;
	const char *f;
	size_t i;
	int rc = 0;

	if ((u = curl_url()) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
	    CURLUE_OK) {
		curl_url_cleanup(u);
		return error_set(err, MC_ERR_CONFIG,
		    "mailbox URL '%s' cannot be parsed", url);
	}
	f = path[0] == '/' ? path + 1 : path;
	if (*f == '\0')
		f = "INBOX";
	for (i = 0; i < list->n && rc == 0; i++)
		if (strcmp(list->name[i], f) == 0 ||
		    (strcasecmp(f, "INBOX") == 0 &&
		    strcasecmp(list->name[i], "INBOX") == 0))
			rc = error_set(err, MC_ERR_CONFIG, "junk_folders: "
			    "'%s' is the test mailbox's own folder",
			    list->name[i]);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

char *
junk_folder_url(const char *mailbox_url, const char *folder,
    struct mc_error *err)
{
	CURLU *u;
	char *path = NULL, *url = NULL;

	if ((u = curl_url()) == NULL || asprintf(&path, "/%s", folder) == -1) {
		curl_url_cleanup(u);
		error_set(err, MC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	/* The query and fragment of the mailbox's URL are no folder's. */
	if (curl_url_set(u, CURLUPART_URL, mailbox_url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PATH, path, CURLU_URLENCODE) !=
	    CURLUE_OK || curl_url_set(u, CURLUPART_QUERY, NULL, 0) !=
	    CURLUE_OK || curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) !=
	    CURLUE_OK || curl_url_get(u, CURLUPART_URL, &url, 0) !=
	    CURLUE_OK)
		error_set(err, MC_ERR_CONFIG, "no URL for junk folder '%s' of "
		    "mailbox '%s'", folder, mailbox_url);
	free(path);
	curl_url_cleanup(u);
	if (url != NULL) {
		/* curl_free()'d memory is not ours to free() elsewhere. */
		path = strdup(url);
		curl_free(url);
		if (path == NULL)
			error_set(err, MC_ERR_NOMEM, "out of memory");
		return path;
	}
	return NULL;
}

struct cursor *
junk_cursor(struct state *st, const char *url)
{
	struct cursor *nc;
	size_t i;

	for (i = 0; i < st->njunk; i++)
		if (st->junk[i].url != NULL && strcmp(st->junk[i].url, url) == 0)
			return &st->junk[i];
	if ((nc = realloc(st->junk, (st->njunk + 1) * sizeof(*nc))) == NULL)
		return NULL;
	st->junk = nc;
	memset(&nc[st->njunk], 0, sizeof(*nc));
	if (cursor_claim(&nc[st->njunk], url) == -1)
		return NULL;
	return &nc[st->njunk++];
}

void
junk_cursors_keep(struct state *st, char *const *urls, size_t n)
{
	size_t i, k, out = 0;
	int keep;

	for (i = 0; i < st->njunk; i++) {
		keep = st->junk[i].npending > 0;
		for (k = 0; !keep && k < n; k++)
			keep = st->junk[i].url != NULL &&
			    strcmp(st->junk[i].url, urls[k]) == 0;
		if (keep)
			st->junk[out++] = st->junk[i];
		else
			cursor_reset(&st->junk[i], 0);
	}
	st->njunk = out;
}
