/*
 * state_json.c - the state file's format: a probe's state to and from
 * JSON values and text. Decoding is strict (JSON_REJECT_DUPLICATES, every
 * field type-checked, caps on every list); nothing here touches a file
 * (statefile.c does), as OpenSMTPD's envelope.c only fills buffers.
 */
#include <stddef.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "junk.h"
#include "state.h"
#include "state_json.h"
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
	{ "junk", offsetof(struct state, count.junk) },
	{ "auth_not_passed", offsetof(struct state, count.auth_not_passed) },
};

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

/* "auth_results": {"spf": "pass", "dkim": "fail", "dkim_reason": ...}. */
static json_t *
authres_to_json(const struct authres *a)
{
	json_t *o = json_object();
	char key[32];
	int m;

	for (m = 0; m < AUTHRES_NMETHODS; m++) {
		json_object_set_new(o, authres_method_name(m),
		    json_string(authres_result_name(a->result[m])));
		snprintf(key, sizeof(key), "%s_reason", authres_method_name(m));
		if (a->reason[m][0])
			json_object_set_new(o, key, text_json(a->reason[m]));
	}
	return o;
}

/* The object authres_to_json() makes; absent (older files): not read.
 * -1 for a wrong type, an unknown result or a reason over its cap. */
static int
authres_from_json(json_t *o, struct authres *a)
{
	json_t *v;
	char key[32];
	int m, r = 0;

	authres_init(a);
	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return -1;
	a->checked = 1;
	for (m = 0; m < AUTHRES_NMETHODS; m++) {
		v = json_object_get(o, authres_method_name(m));
		if (v != NULL && (!json_is_string(v) ||
		    (r = authres_result_parse(json_string_value(v))) == -1))
			return -1;
		if (v != NULL)
			a->result[m] = r;
		snprintf(key, sizeof(key), "%s_reason", authres_method_name(m));
		v = json_object_get(o, key);
		if (v != NULL && (!json_is_string(v) ||
		    json_string_length(v) > AUTHRES_REASON_MAX))
			return -1;
		if (v != NULL)
			memcpy(a->reason[m], json_string_value(v),
			    json_string_length(v) + 1);
	}
	return 0;
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
	/* A duration, not a time; absent (older files, failed sends): 0. */
	if (c->handover > 0)
		json_object_set_new(o, "handover", json_real(c->handover));
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
	/* Absent (older files, the mailbox's own folder): NULL. */
	set_str(o, "junk_folder", c->junk_folder);
	if (c->auth.checked)
		json_object_set_new(o, "auth_results",
		    authres_to_json(&c->auth));
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
	    get_num(o, "handover", &c->handover) == -1 ||
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
	    get_num(o, "bounced_at", &c->bounced_at) == -1 ||
	    get_str(o, "junk_folder", &c->junk_folder) == -1)
		return -1;
	if (authres_from_json(json_object_get(o, "auth_results"),
	    &c->auth) == -1)
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
	    &cur->nseen, CURSOR_SEEN_MAX) == -1 ||
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

/* "junk_mailboxes": one cursor per junk folder, each with its url. */
static int
junk_cursors_from_json(json_t *a, struct state *st)
{
	json_t *v;
	size_t i;

	if (a == NULL)
		return 0;		/* older files, or no junk folders */
	if (!json_is_array(a) || json_array_size(a) > JUNK_FOLDERS_MAX * 4 ||
	    (st->junk = calloc(json_array_size(a) + 1,
	    sizeof(*st->junk))) == NULL)
		return -1;
	json_array_foreach(a, i, v) {
		st->njunk++;
		if (cursor_from_json(v, &st->junk[i]) == -1 ||
		    st->junk[i].url == NULL)
			return -1;
	}
	return 0;
}

static json_t *
junk_cursors_to_json(const struct state *st)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < st->njunk; i++)
		json_array_append_new(a, cursor_to_json(&st->junk[i]));
	return a;
}

int
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
	*why = "bad junk folder cursors";
	if (junk_cursors_from_json(json_object_get(root, "junk_mailboxes"),
	    st) == -1)
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

json_t *
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
	if (st->njunk > 0)
		json_object_set_new(root, "junk_mailboxes",
		    junk_cursors_to_json(st));
	a = json_array();
	for (i = 0; i < st->n; i++)
		json_array_append_new(a, canary_to_json(&st->c[i]));
	json_object_set_new(root, "canaries", a);
	return root;
}

char *
state_json_dump(const struct state *st)
{
	json_t *root = state_to_json(st);
	char *data;

	data = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
	json_decref(root);
	return data;
}

int
state_json_parse(const char *data, size_t len, struct state *st, char *why,
    size_t whylen)
{
	json_error_t jerr;
	const char *w = NULL;
	json_t *root;

	state_init(st);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(why, whylen, "not JSON: %s at line %d", jerr.text,
		    jerr.line);
		return -1;
	}
	if (state_from_json(root, st, &w) == -1) {
		json_decref(root);
		state_clear(st);
		snprintf(why, whylen, "%s", w);
		return -1;
	}
	json_decref(root);
	return 0;
}
