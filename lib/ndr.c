/*
 * ndr.c - the bounce reader's entry points and its judgement: reads a
 * message through ndr_mime.c, hands its delivery-status part to dsn.c
 * (RFC 3464) or its text to ndr_text.c (the non-standard formats), then
 * gives every recipient one class and the report the worst of them,
 * decides what is not a bounce at all, finds the canary's token, and
 * writes the report as JSON. It owns struct ndr_report: its clear, and
 * the setters that keep its caps (recipients, X- fields) for the other
 * parts. Nothing here does I/O or knows GMime; ndr_int.h maps the reader.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "ndr.h"
#include "ndr_int.h"
#include "text.h"

static const char *const class_names[] = { "not_a_bounce", "permanent",
    "transient_as_permanent", "delayed", "delivered", "relayed", "expanded",
    "unparseable" };
static const char *const format_names[] = { "unknown", "dsn", "exchange2003",
    "exchange2007", "exim", "qmail", "sendmail", "postfix", "domino" };

const char *
ndr_class_name(int c)
{
	return (c >= 0 && c <= NDR_UNPARSEABLE) ? class_names[c] : "?";
}

const char *
ndr_format_name(int f)
{
	return (f >= 0 && f <= NDR_FMT_DOMINO) ? format_names[f] : "?";
}

/*
 * RFC 3464 section 2.3.3 names the action; the class of a failure comes
 * from RFC 3463 (class 4: persistent transient, class 5: permanent) or,
 * without a status, from the SMTP reply (RFC 5321 section 4.2.1).
 */
int
ndr_classify(const char *action, const char *status, const char *diag)
{
	int code = dsn_reply_code(diag);

	if (action == NULL)
		return NDR_UNPARSEABLE;
	if (strcasecmp(action, "failed") == 0) {
		/* The bogus NDR: a failure built from a temporary answer. */
		if ((status && status[0] == '4') || (code >= 400 && code < 500))
			return NDR_BOGUS;
		if ((status && status[0] == '5') || code >= 500)
			return NDR_PERMANENT;
		return NDR_UNPARSEABLE;
	}
	if (strcasecmp(action, "delayed") == 0)
		return NDR_DELAYED;
	if (strcasecmp(action, "delivered") == 0)
		return NDR_DELIVERED;
	if (strcasecmp(action, "relayed") == 0)
		return NDR_RELAYED;
	if (strcasecmp(action, "expanded") == 0)
		return NDR_EXPANDED;
	return NDR_UNPARSEABLE;
}

void
ndr_set(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

struct ndr_rcpt *
ndr_rcpt_new(struct ndr_report *r)
{
	if (r->nrcpt >= NDR_RCPTS_MAX)
		return NULL;
	return &r->rcpt[r->nrcpt++];
}

void
ndr_x_add(struct ndr_report *r, const char *name, const char *value)
{
	if (r->nx >= NDR_XFIELDS_MAX)
		return;
	r->x[r->nx].name = strdup(name);
	r->x[r->nx].value = strdup(value);
	r->nx++;
}

void
ndr_report_clear(struct ndr_report *r)
{
	size_t i;

	for (i = 0; i < r->nrcpt; i++) {
		free(r->rcpt[i].final_recipient);
		free(r->rcpt[i].original_recipient);
		free(r->rcpt[i].action);
		free(r->rcpt[i].status);
		free(r->rcpt[i].diagnostic_code);
		free(r->rcpt[i].remote_mta);
	}
	for (i = 0; i < r->nx; i++) {
		free(r->x[i].name);
		free(r->x[i].value);
	}
	free(r->reporting_mta);
	free(r->arrival_date);
	free(r->subject);
	free(r->from);
	free(r->original_message_id);
	free(r->error);
	memset(r, 0, sizeof(*r));
}

/* Folding leaves runs of blanks in a value: one space each, trimmed. */
static void
squeeze(char *s)
{
	char *r = s, *w = s;
	int space = 0;

	if (s == NULL)
		return;
	while (isspace((unsigned char)*r))
		r++;
	for (; *r; r++) {
		if (isspace((unsigned char)*r)) {
			space = 1;
			continue;
		}
		if (space)
			*w++ = ' ';
		space = 0;
		*w++ = *r;
	}
	*w = '\0';
}

/* Mail that names itself a bounce, for a report whose parts say nothing. */
static int
looks_like_bounce(const char *subject, const char *from)
{
	static const char *const subj[] = { "undeliver", "undelivered",
	    "delivery status notification", "failure notice",
	    "mail delivery failed", "returned mail", "delivery failure",
	    "nondeliverable", "non-delivery", "delivery has failed",
	    "could not be delivered", NULL };
	size_t i;

	for (i = 0; subject && subj[i]; i++)
		if (strcasestr(subject, subj[i]))
			return 1;
	return from && (strcasestr(from, "mailer-daemon") ||
	    strcasestr(from, "postmaster"));
}

/* Token: returned headers, then recipient extensions, then anywhere. */
static void
find_token(struct ndr_report *r, const struct ndr_mime *m)
{
	struct headers *h;
	const char *v;
	size_t i;

	if (m->orig && (h = malloc(sizeof(*h))) != NULL) {
		if (headers_parse(m->orig, strlen(m->orig), h, NULL) == 0) {
			if ((v = headers_get(h, "Message-ID")) != NULL)
				ndr_set(&r->original_message_id, v);
			if ((v = headers_get(h, "X-Mailcanary-Token")) &&
			    strlen(v) < TOKEN_MAX && token_span(v,
			    strlen(v)) == strlen(v))
				snprintf(r->token, sizeof(r->token), "%s", v);
			headers_free(h);
		}
		free(h);
	}
	for (i = 0; !r->token[0] && i < r->nrcpt; i++) {
		const char *a[2] = { r->rcpt[i].final_recipient,
		    r->rcpt[i].original_recipient };
		int k;

		for (k = 0; k < 2 && !r->token[0]; k++) {
			const char *plus = a[k] ? strchr(a[k], '+') : NULL;

			if (plus && token_find(plus + 1, strlen(plus + 1),
			    r->token) == -1)
				r->token[0] = '\0';
		}
	}
	if (!r->token[0] && r->subject &&
	    token_find(r->subject, strlen(r->subject), r->token) == -1)
		r->token[0] = '\0';
	if (!r->token[0] && m->all.data &&
	    token_find(m->all.data, m->all.len, r->token) == -1)
		r->token[0] = '\0';
}

/* The worst class among the recipients; a failure outranks the rest. */
static int
overall_class(const struct ndr_report *r)
{
	static const int rank[] = { 0, 6, 7, 5, 2, 3, 1, 4 };
	int best = NDR_UNPARSEABLE;
	size_t i;

	if (r->nrcpt == 0)
		return NDR_UNPARSEABLE;
	best = r->rcpt[0].class;
	for (i = 1; i < r->nrcpt; i++)
		if (rank[r->rcpt[i].class] > rank[best])
			best = r->rcpt[i].class;
	return best;
}

static void
unparseable(struct ndr_report *r, const char *why)
{
	r->class = NDR_UNPARSEABLE;
	ndr_set(&r->error, why);
}

/*
 * A message past a cap is unparseable and says which cap, never a guess
 * from what was left; unless nothing in it says bounce, then it is other
 * mail that happens to be large.
 */
static void
over_cap(struct ndr_report *r, const struct ndr_mime *m, const char *why)
{
	r->format = NDR_FMT_UNKNOWN;
	unparseable(r, why);
	if (!m->report && !looks_like_bounce(r->subject, r->from))
		r->class = NDR_NOT_BOUNCE;
}

/* The report from what the message holds; m is left to the caller. */
static void
report_read(struct ndr_report *r, struct ndr_mime *m)
{
	struct mc_error e;
	const char *t = m->text.data;
	size_t i;

	r->subject = m->subject;
	m->subject = NULL;
	r->from = m->from;
	m->from = NULL;
	if (m->limit[0] != '\0') {
		over_cap(r, m, m->limit);
		return;
	}
	if (m->over != NULL) {
		over_cap(r, m, m->over);
		goto token;
	}
	if (m->mdn && m->dsn == NULL) {
		r->class = NDR_NOT_BOUNCE;	/* a read receipt */
		return;
	}
	r->format = ndr_text_format(t ? t : "", r->from, m->xfailed);
	if (m->dsn != NULL) {
		if (dsn_parse(r, m->dsn, &e) == -1) {
			unparseable(r, e.msg);
			goto token;
		}
		if (r->format == NDR_FMT_UNKNOWN)
			r->format = NDR_FMT_DSN;
	} else if (t != NULL) {
		/* Text that matches no format must name itself a bounce. */
		if (r->format == NDR_FMT_UNKNOWN &&
		    !looks_like_bounce(r->subject, r->from)) {
			r->class = NDR_NOT_BOUNCE;
			return;
		}
		ndr_text_parse(r, t, m->xfailed);
	} else if (!looks_like_bounce(r->subject, r->from)) {
		r->class = NDR_NOT_BOUNCE;
		return;
	}
	for (i = 0; i < r->nrcpt; i++) {
		squeeze(r->rcpt[i].diagnostic_code);
		r->rcpt[i].class = ndr_classify(r->rcpt[i].action,
		    r->rcpt[i].status, r->rcpt[i].diagnostic_code);
	}
	r->class = overall_class(r);
	if (r->class == NDR_UNPARSEABLE && r->error == NULL)
		ndr_set(&r->error, r->nrcpt ? "no usable Action, Status or "
		    "reply" : "a bounce, but no recipient or reason could be "
		    "read");
	/* Without Reporting-MTA, the domain the report came from. */
	if (r->reporting_mta == NULL && r->from != NULL) {
		const char *at = strrchr(r->from, '@');

		if (at != NULL) {
			char *mta = strdup(at + 1), *gt;

			if (mta && (gt = strpbrk(mta, "> \"")) != NULL)
				*gt = '\0';
			free(r->reporting_mta);
			r->reporting_mta = mta;
		}
	}
token:
	find_token(r, m);
}

int
ndr_parse(const char *buf, size_t len, struct ndr_report *r,
    struct mc_error *err)
{
	struct ndr_mime m;

	memset(r, 0, sizeof(*r));
	if (len > NDR_MESSAGE_MAX)
		return error_set(err, MC_ERR_LIMIT,
		    "message larger than %d bytes",
		    NDR_MESSAGE_MAX);
	if (ndr_mime_read(buf, len, &m, err) == -1)
		return -1;
	report_read(r, &m);
	ndr_mime_clear(&m);
	return 0;
}

int
ndr_parse_fd(int fd, struct ndr_report *r, struct mc_error *err)
{
	struct ndr_mime m;

	memset(r, 0, sizeof(*r));
	if (ndr_mime_read_fd(fd, &m, err) == -1)
		return -1;
	report_read(r, &m);
	ndr_mime_clear(&m);
	return 0;
}

static void
jset(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, text_json(v));
}

static json_t *
rcpt_json(const struct ndr_rcpt *rc)
{
	json_t *o = json_object();

	jset(o, "class", ndr_class_name(rc->class));
	jset(o, "action", rc->action);
	jset(o, "status", rc->status);
	jset(o, "diagnostic_code", rc->diagnostic_code);
	jset(o, "remote_mta", rc->remote_mta);
	jset(o, "final_recipient", rc->final_recipient);
	jset(o, "original_recipient", rc->original_recipient);
	return o;
}

json_t *
ndr_report_json(const struct ndr_report *r)
{
	json_t *o = json_object(), *a, *x;
	const struct ndr_rcpt *first = r->nrcpt ? &r->rcpt[0] : NULL;
	size_t i;

	jset(o, "class", ndr_class_name(r->class));
	jset(o, "format", ndr_format_name(r->format));
	jset(o, "action", first ? first->action : NULL);
	jset(o, "status", first ? first->status : NULL);
	jset(o, "diagnostic_code", first ? first->diagnostic_code : NULL);
	jset(o, "reporting_mta", r->reporting_mta);
	jset(o, "remote_mta", first ? first->remote_mta : NULL);
	jset(o, "final_recipient", first ? first->final_recipient : NULL);
	jset(o, "original_recipient", first ? first->original_recipient :
	    NULL);
	jset(o, "original_message_id", r->original_message_id);
	jset(o, "token", r->token[0] ? r->token : NULL);
	jset(o, "arrival_date", r->arrival_date);
	jset(o, "subject", r->subject);
	jset(o, "from", r->from);
	if (r->error)
		jset(o, "error", r->error);
	if (r->nx > 0) {
		x = json_object();
		for (i = 0; i < r->nx; i++)
			if (r->x[i].name && r->x[i].value)
				json_object_set_new(x, r->x[i].name,
				    json_string(r->x[i].value));
		json_object_set_new(o, "x_fields", x);
	}
	if (r->nrcpt > 1) {
		a = json_array();
		for (i = 0; i < r->nrcpt; i++)
			json_array_append_new(a, rcpt_json(&r->rcpt[i]));
		json_object_set_new(o, "recipients", a);
	}
	return o;
}
