/*
 * state.c - persistence of a probe's canaries. Loading is strict (size
 * cap, JSON_REJECT_DUPLICATES, every field type-checked); a file that
 * fails is moved aside and reported, never silently replaced. Saving is
 * atomic, so a run killed at any point leaves the old or the new file.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "file.h"
#include "state.h"
#include "text.h"

/* The counters, named once for the state file and the JSON output. */
static const struct {
	const char	*name;
	size_t		 offset;
} counters[] = {
	{ "sent", offsetof(struct state, count.sent) },
	{ "delivered", offsetof(struct state, count.delivered) },
	{ "bounced", offsetof(struct state, count.bounced) },
	{ "hidden", offsetof(struct state, count.hidden) },
	{ "late", offsetof(struct state, count.late) },
	{ "submit_failed", offsetof(struct state, count.submit_failed) },
	{ "bogus_ndr", offsetof(struct state, count.bogus_ndr) },
	{ "delayed_dsn", offsetof(struct state, count.delayed_dsn) },
	{ "unparseable", offsetof(struct state, count.unparseable) },
	{ "oversize", offsetof(struct state, count.oversize) },
	{ "folded", offsetof(struct state, count.folded) },
};

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

static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
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

struct canary *
state_find_token(struct state *st, const char *token)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->c[i].token, token) == 0)
			return &st->c[i];
	return NULL;
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

static int
prune_keeps(const struct canary *c, unsigned long pin, double now)
{
	return c->status == CANARY_IN_FLIGHT || c->seq == pin ||
	    (c->status == CANARY_HIDDEN && now - c->hidden_at <
	    STATE_HIDDEN_KEEP);
}

void
state_prune(struct state *st, size_t keep, unsigned long pin, double now)
{
	size_t i, j, droppable = 0, drop;

	for (i = 0; i < st->n; i++)
		if (!prune_keeps(&st->c[i], pin, now))
			droppable++;
	if (droppable <= keep)
		return;
	drop = droppable - keep;
	/* Canaries are in seq order: the oldest go first. */
	for (i = 0, j = 0; i < st->n; i++) {
		struct canary *c = &st->c[i];

		if (drop > 0 && !prune_keeps(c, pin, now)) {
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

/* ---- locking ---- */

int
state_lock(const char *dir, const char *name, struct mc_error *err)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lock", dir, name) >=
	    sizeof(path))
		return error_set(err, "state directory path is too long");
	/* Others may not swap the files of a shared directory under us. */
	if (file_check_dir(dir, "state directory", err) == -1)
		return -1;
	/* A lock file of another user would let that user stall every
	 * run: ours or root's only, and never a FIFO or a device. */
	fd = file_open(path, "lock file", FILE_OWNED | FILE_NOFOLLOW |
	    FILE_CREATE, err);
	if (fd == -1) {
		if (errno == EINVAL)
			return -1;
		return error_set(err, "cannot create lock file %s (is the "
		    "state directory writable?): %s", path, strerror(errno));
	}
	deadline_step("waiting for the state lock");
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error_set(err, "cannot lock %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (deadline_expired()) {
			close(fd);
			if (deadline_signal)
				return error_set(err, "terminated by a signal "
				    "while waiting for the lock %s", path);
			return error_set(err, "another run of this probe holds "
			    "%s; gave up waiting for it", path);
		}
		usleep(20 * 1000);
	}
	return fd;
}

void
state_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

/* ---- JSON ---- */

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, text_json(v));
}

static void
set_time(json_t *o, const char *key, double v)
{
	if (v > 0)
		json_object_set_new(o, key, json_real(v));
}

json_t *
canary_to_json(const struct canary *c)
{
	json_t *o = json_object(), *hops, *h;
	size_t i;

	json_object_set_new(o, "seq", json_integer((json_int_t)c->seq));
	json_object_set_new(o, "token", json_string(c->token));
	json_object_set_new(o, "status",
	    json_string(canary_status_name(c->status)));
	set_str(o, "rcpt", c->rcpt);
	set_str(o, "via", c->via);
	set_time(o, "sent_at", c->sent_at);
	set_time(o, "submitted_at", c->submitted_at);
	if (c->delayed)
		json_object_set_new(o, "delayed", json_true());
	set_str(o, "smtp_reply", c->smtp_reply);
	set_str(o, "queue_id", c->queue_id);
	set_str(o, "error", c->error);
	set_time(o, "arrived_at", c->arrived_at);
	set_time(o, "resolved_at", c->resolved_at);
	set_time(o, "hidden_at", c->hidden_at);
	if (c->status == CANARY_DELIVERED || c->status == CANARY_LATE)
		json_object_set_new(o, "latency", json_real(c->latency));
	if (c->greylisted) {
		json_object_set_new(o, "greylisted", json_true());
		if (c->greylist_delay >= 0)
			json_object_set_new(o, "greylist_delay",
			    json_integer(c->greylist_delay));
		set_str(o, "greylist_at", c->greylist_at);
		set_str(o, "greylist_source", c->greylist_source);
	}
	if (c->nhops > 0) {
		hops = json_array();
		for (i = 0; i < c->nhops; i++) {
			h = json_object();
			set_str(h, "by", c->hops[i].by);
			set_str(h, "from", c->hops[i].from);
			if (c->hops[i].at)
				json_object_set_new(h, "at",
				    json_integer(c->hops[i].at));
			json_array_append_new(hops, h);
		}
		json_object_set_new(o, "hops", hops);
	}
	if (c->bounce_class != NDR_NOT_BOUNCE)
		set_str(o, "bounce_class", ndr_class_name(c->bounce_class));
	set_str(o, "bounce_status", c->bounce_status);
	set_str(o, "bounce_diagnostic", c->bounce_diag);
	set_str(o, "bounce_reporting_mta", c->bounce_reporting_mta);
	set_str(o, "bounce_remote_mta", c->bounce_remote_mta);
	set_time(o, "bounced_at", c->bounced_at);
	return o;
}

/* Typed getters: each returns -1 when present with the wrong type. */
static int
get_str(json_t *o, const char *key, char **dst)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	return state_set_str(dst, json_string_value(v));
}

static int
get_num(json_t *o, const char *key, double *dst)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return -1;
	*dst = json_number_value(v);
	return 0;
}

static int
get_ulong(json_t *o, const char *key, unsigned long *dst)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*dst = (unsigned long)json_integer_value(v);
	return 0;
}

static int
canary_from_json(json_t *o, struct canary *c, const char **why)
{
	json_t *v, *h;
	unsigned long seq = 0, gd;
	char *tmp = NULL;
	size_t i;
	int status;

	*why = "a canary is not an object";
	if (!json_is_object(o))
		return -1;
	*why = "a canary has a bad field";
	v = json_object_get(o, "token");
	if (get_ulong(o, "seq", &seq) == -1 || seq == 0 ||
	    !json_is_string(v) || json_string_length(v) >= TOKEN_MAX)
		return -1;
	c->seq = seq;
	memcpy(c->token, json_string_value(v), json_string_length(v) + 1);
	if (get_str(o, "status", &tmp) == -1 || tmp == NULL ||
	    (status = canary_status_parse(tmp)) == -1) {
		free(tmp);
		return -1;
	}
	free(tmp);
	tmp = NULL;
	c->status = (enum canary_status)status;
	/* The names ndr_class_name() gives; not_a_bounce is "none". */
	if (get_str(o, "bounce_class", &tmp) == -1 || (tmp != NULL &&
	    canary_bounce_class_parse(tmp, &c->bounce_class) == -1)) {
		free(tmp);
		return -1;
	}
	free(tmp);
	if (get_str(o, "rcpt", &c->rcpt) == -1 ||
	    get_str(o, "via", &c->via) == -1 ||
	    get_num(o, "sent_at", &c->sent_at) == -1 ||
	    get_num(o, "submitted_at", &c->submitted_at) == -1 ||
	    get_str(o, "smtp_reply", &c->smtp_reply) == -1 ||
	    get_str(o, "queue_id", &c->queue_id) == -1 ||
	    get_str(o, "error", &c->error) == -1 ||
	    get_num(o, "arrived_at", &c->arrived_at) == -1 ||
	    get_num(o, "resolved_at", &c->resolved_at) == -1 ||
	    get_num(o, "hidden_at", &c->hidden_at) == -1 ||
	    get_num(o, "latency", &c->latency) == -1 ||
	    get_str(o, "greylist_at", &c->greylist_at) == -1 ||
	    get_str(o, "greylist_source", &c->greylist_source) == -1 ||
	    get_str(o, "bounce_status", &c->bounce_status) == -1 ||
	    get_str(o, "bounce_diagnostic", &c->bounce_diag) == -1 ||
	    get_str(o, "bounce_reporting_mta", &c->bounce_reporting_mta) == -1 ||
	    get_str(o, "bounce_remote_mta", &c->bounce_remote_mta) == -1 ||
	    get_num(o, "bounced_at", &c->bounced_at) == -1)
		return -1;
	c->delayed = json_is_true(json_object_get(o, "delayed"));
	c->greylisted = json_is_true(json_object_get(o, "greylisted"));
	gd = 0;
	c->greylist_delay = -1;
	if (json_object_get(o, "greylist_delay") != NULL) {
		if (get_ulong(o, "greylist_delay", &gd) == -1)
			return -1;
		c->greylist_delay = (long)gd;
	}
	v = json_object_get(o, "hops");
	if (v != NULL) {
		if (!json_is_array(v) || json_array_size(v) > MESSAGE_HOPS_MAX)
			return -1;
		c->hops = calloc(json_array_size(v) + 1, sizeof(*c->hops));
		if (c->hops == NULL)
			return -1;
		json_array_foreach(v, i, h) {
			json_t *by = json_object_get(h, "by");
			json_t *from = json_object_get(h, "from");
			json_t *at = json_object_get(h, "at");

			if (!json_is_object(h) || (by && !json_is_string(by)) ||
			    (from && !json_is_string(from)) ||
			    (at && !json_is_integer(at)))
				return -1;
			snprintf(c->hops[i].by, sizeof(c->hops[i].by), "%s",
			    by ? json_string_value(by) : "");
			snprintf(c->hops[i].from, sizeof(c->hops[i].from), "%s",
			    from ? json_string_value(from) : "");
			c->hops[i].at = at ? (time_t)json_integer_value(at) : 0;
			c->nhops++;
		}
	}
	return 0;
}

static int
strv_from_json(json_t *a, char ***vp, size_t *np, size_t max)
{
	json_t *v;
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > max)
		return -1;
	if ((*vp = calloc(json_array_size(a) + 1, sizeof(char *))) == NULL)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return -1;
		if (((*vp)[i] = strdup(json_string_value(v))) == NULL)
			return -1;
		(*np)++;
	}
	return 0;
}

static int
cursor_from_json(json_t *o, struct cursor *cur)
{
	if (o == NULL)
		return 0;
	if (!json_is_object(o) ||
	    get_str(o, "url", &cur->url) == -1 ||
	    get_ulong(o, "uidvalidity", &cur->uidvalidity) == -1 ||
	    get_ulong(o, "last_uid", &cur->last_uid) == -1 ||
	    strv_from_json(json_object_get(o, "seen"), &cur->seen,
	    &cur->nseen, STATE_SEEN_MAX) == -1 ||
	    strv_from_json(json_object_get(o, "pending_delete"),
	    &cur->pending, &cur->npending, STATE_CANARIES_MAX) == -1)
		return -1;
	return 0;
}

static json_t *
cursor_to_json(const struct cursor *cur)
{
	json_t *o = json_object(), *a;
	size_t i;

	set_str(o, "url", cur->url);
	json_object_set_new(o, "uidvalidity", json_integer(cur->uidvalidity));
	json_object_set_new(o, "last_uid", json_integer(cur->last_uid));
	if (cur->nseen > 0) {
		a = json_array();
		for (i = 0; i < cur->nseen; i++)
			json_array_append_new(a, json_string(cur->seen[i]));
		json_object_set_new(o, "seen", a);
	}
	a = json_array();
	for (i = 0; i < cur->npending; i++)
		json_array_append_new(a, json_string(cur->pending[i]));
	json_object_set_new(o, "pending_delete", a);
	return o;
}

static int
state_from_json(json_t *root, struct state *st, const char **why)
{
	json_t *v, *counts, *a;
	json_int_t fv;
	size_t i;

	*why = "not a JSON object";
	if (!json_is_object(root))
		return -1;
	v = json_object_get(root, "format_version");
	*why = "no format_version";
	if (!json_is_integer(v))
		return -1;
	fv = json_integer_value(v);
	*why = "unsupported format_version";
	if (fv != STATE_FORMAT_VERSION)
		return -1;
	*why = "bad next_seq or last_sent";
	if (get_ulong(root, "next_seq", &st->next_seq) == -1 ||
	    st->next_seq == 0 ||
	    get_num(root, "last_sent", &st->last_sent) == -1)
		return -1;
	counts = json_object_get(root, "counters");
	*why = "bad counters";
	if (counts != NULL && !json_is_object(counts))
		return -1;
	for (i = 0; counts && i < sizeof(counters) / sizeof(counters[0]); i++)
		if (get_ulong(counts, counters[i].name, (unsigned long *)
		    ((char *)st + counters[i].offset)) == -1)
			return -1;
	*why = "bad mailbox cursor";
	if (cursor_from_json(json_object_get(root, "mailbox"), &st->mbox) ==
	    -1 || cursor_from_json(json_object_get(root, "bounce_mailbox"),
	    &st->bounce) == -1)
		return -1;
	a = json_object_get(root, "canaries");
	*why = "bad canaries list";
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > STATE_CANARIES_MAX)
		return -1;
	json_array_foreach(a, i, v) {
		struct canary *c = state_add(st);

		if (c == NULL || canary_from_json(v, c, why) == -1)
			return -1;
		if (st->n > 1 && c->seq <= st->c[st->n - 2].seq) {
			*why = "canaries out of order";
			return -1;
		}
		if (c->seq >= st->next_seq) {
			*why = "a canary's seq is beyond next_seq";
			return -1;
		}
	}
	return 0;
}

json_t *
state_counters_json(const struct state *st)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		json_object_set_new(o, counters[i].name, json_integer(
		    (json_int_t)*(const unsigned long *)((const char *)st +
		    counters[i].offset)));
	return o;
}

static json_t *
state_to_json(const struct state *st)
{
	json_t *root = json_object(), *a;
	size_t i;

	json_object_set_new(root, "format_version",
	    json_integer(STATE_FORMAT_VERSION));
	json_object_set_new(root, "next_seq", json_integer(st->next_seq));
	json_object_set_new(root, "last_sent", json_real(st->last_sent));
	json_object_set_new(root, "counters", state_counters_json(st));
	json_object_set_new(root, "mailbox", cursor_to_json(&st->mbox));
	if (st->bounce.url != NULL)
		json_object_set_new(root, "bounce_mailbox",
		    cursor_to_json(&st->bounce));
	a = json_array();
	for (i = 0; i < st->n; i++)
		json_array_append_new(a, canary_to_json(&st->c[i]));
	json_object_set_new(root, "canaries", a);
	return root;
}

static int
move_aside(const char *path, const char *why, struct mc_error *err)
{
	char aside[4200], stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(aside, sizeof(aside), "%s.corrupt-%s", path, stamp);
	if (rename(path, aside) == -1)
		return error_set(err, "state file %s is unusable (%s) and "
		    "cannot be moved aside: %s", path, why, strerror(errno));
	error_set(err, "state file %s was unusable (%s); moved aside to %s, "
	    "starting afresh", path, why, aside);
	return STATE_LOAD_CORRUPT;
}

/*
 * Removes NAME.json.XXXXXX files: mkstemp leftovers of a run killed
 * before its rename. Called under the lock, so no live writer owns one.
 */
static void
remove_stale_temps(const char *dir, const char *name)
{
	char prefix[128], path[4200];
	struct dirent *de;
	struct stat sb;
	size_t plen;
	DIR *d;

	if ((size_t)snprintf(prefix, sizeof(prefix), "%s.json.", name) >=
	    sizeof(prefix) || (d = opendir(dir)) == NULL)
		return;
	plen = strlen(prefix);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    strlen(de->d_name) != plen + 6 ||
		    strspn(de->d_name + plen, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 6)
			continue;
		/* Only our own leftovers (or root's): in a shared, sticky
		 * directory a name like ours may be another user's file. */
		if (fstatat(dirfd(d), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode) ||
		    !file_owner_ok(sb.st_uid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

int
state_load(const char *dir, const char *name, struct state *st,
    struct mc_error *err)
{
	char path[4096], reason[256];
	struct mc_error e;
	json_error_t jerr;
	struct stat sb;
	const char *why = NULL;
	json_t *root;
	char *data;
	ssize_t n;
	size_t got = 0;
	int fd;

	state_init(st);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, name) >=
	    sizeof(path))
		return error_set(err, "state directory path is too long");
	remove_stale_temps(dir, name);
	/*
	 * A FIFO or a device is refused without blocking, and so is a file
	 * of another user or one others may write: a person must look, so
	 * they are not moved aside. What cannot be opened (a symbolic
	 * link) is moved aside as before.
	 */
	if ((fd = file_open(path, "state file", FILE_OWNED | FILE_NOFOLLOW,
	    &e)) == -1) {
		if (errno == ENOENT)
			return STATE_LOAD_OK;
		if (errno == EINVAL) {
			if (err != NULL)
				*err = e;
			return STATE_LOAD_ERROR;
		}
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		return move_aside(path, reason, err);
	}
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return move_aside(path, "cannot stat it", err);
	}
	if (sb.st_size > STATE_FILE_MAX) {
		close(fd);
		return move_aside(path, "larger than the 16 MiB cap", err);
	}
	if ((data = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return error_set(err, "out of memory reading %s", path);
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, data + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(data);
		return move_aside(path, "short read", err);
	}
	root = json_loadb(data, got, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL) {
		snprintf(reason, sizeof(reason), "not JSON: %s at line %d",
		    jerr.text, jerr.line);
		return move_aside(path, reason, err);
	}
	if (state_from_json(root, st, &why) == -1) {
		json_decref(root);
		state_clear(st);
		return move_aside(path, why, err);
	}
	json_decref(root);
	return STATE_LOAD_OK;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
state_save(const char *dir, const char *name, const struct state *st,
    struct mc_error *err)
{
	char path[4096], tmp[4200];
	json_t *root;
	char *data;
	int fd, dfd, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, name) >=
	    sizeof(path))
		return error_set(err, "state directory path is too long");
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	root = state_to_json(st);
	data = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	json_decref(root);
	if (data == NULL)
		return error_set(err, "out of memory serialising state");
	if (strlen(data) > STATE_FILE_MAX) {
		free(data);
		return error_set(err, "state would pass the 16 MiB cap");
	}
	if ((fd = mkstemp(tmp)) == -1) {
		free(data);
		return error_set(err, "cannot create a temporary file in %s: "
		    "%s", dir, strerror(errno));
	}
	if (write_all(fd, data, strlen(data)) == -1 ||
	    write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		saved = errno;
		free(data);
		close(fd);
		unlink(tmp);
		return error_set(err, "cannot write %s: %s", tmp,
		    strerror(saved));
	}
	free(data);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		return error_set(err, "cannot replace %s: %s", path,
		    strerror(saved));
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		saved = errno;
		if (dfd != -1)
			close(dfd);
		return error_set(err, "cannot sync directory %s: %s", dir,
		    strerror(saved));
	}
	close(dfd);
	return 0;
}
