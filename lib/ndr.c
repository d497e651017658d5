/*
 * ndr.c - bounce reading and classification.
 *
 * GMime parses the MIME structure (bounces are hostile input: a well
 * fuzzed parser, not a home-made one) and decodes transfer encodings and
 * charsets. On top of it this module reads RFC 3464 delivery-status
 * groups, the returned original's headers, and the text of the common
 * non-standard reports, then gives every recipient one class. Nothing
 * here does I/O.
 */
#include <gmime/gmime.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "message.h"
#include "mimescan.h"
#include "ndr.h"
#include "text.h"

#define NDR_TEXT_MAX	(1024 * 1024)	/* report text we look at */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

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
 * Length of an RFC 3463 status code at s ("5.1.1"): class 2, 4 or 5, then
 * 1-3 digits, then 1-3 digits; 0 if there is none. Like Postfix's
 * dsn_valid(), it validates before anything is copied.
 */
static size_t
status_span(const char *s)
{
	size_t n = 0, d;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	if (s[1] != '.')
		return 0;
	n = 2;
	for (d = 0; isdigit((unsigned char)s[n]) && d < 4; d++)
		n++;
	if (d < 1 || d > 3 || s[n] != '.')
		return 0;
	n++;
	for (d = 0; isdigit((unsigned char)s[n]) && d < 4; d++)
		n++;
	if (d < 1 || d > 3 || isdigit((unsigned char)s[n]) || s[n] == '.')
		return 0;
	return n;
}

/* The first status code in s that stands alone; copied to out[16]. */
static int
find_status(const char *s, char *out)
{
	const char *p;
	size_t n;

	for (p = s; p && *p; p++) {
		if (p > s && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		if ((n = status_span(p)) > 0 && n < 16) {
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* The SMTP reply code (e.g. 450) a diagnostic carries, 0 if none. */
static int
reply_code(const char *diag)
{
	const char *p = diag;

	int pass;

	if (diag == NULL)
		return 0;
	/* "450 ...", "#550 ...", then after the type: "smtp; 450 ..." */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && (p = strchr(diag, ';')) == NULL)
			break;
		if (pass == 1)
			p++;
		while (*p == ' ' || *p == '\t' || *p == '#' || *p == '\'')
			p++;
		if ((p[0] == '2' || p[0] == '4' || p[0] == '5') &&
		    isdigit((unsigned char)p[1]) &&
		    isdigit((unsigned char)p[2]) &&
		    (p[3] == ' ' || p[3] == '-' || p[3] == '\0'))
			return (p[0] - '0') * 100 + (p[1] - '0') * 10 +
			    (p[2] - '0');
	}
	return 0;
}

int
ndr_classify(const char *action, const char *status, const char *diag)
{
	int code = reply_code(diag);

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

static void
set(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

/* "rfc822; user@host" -> "user@host"; also strips "dns;" and spaces. */
static void
set_typed(char **dst, const char *v)
{
	const char *semi = strchr(v, ';');
	char *s, *e;

	s = strdup(semi ? semi + 1 : v);
	if (s == NULL)
		return;
	for (e = s; *e == ' ' || *e == '\t'; e++)
		;
	memmove(s, e, strlen(e) + 1);
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	*e = '\0';
	/* Some MTAs wrap the address in <>. */
	if (s[0] == '<' && e > s + 1 && e[-1] == '>') {
		e[-1] = '\0';
		memmove(s, s + 1, strlen(s));
	}
	free(*dst);
	*dst = s;
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

/* What the MIME walk collects. */
struct walk {
	int		 parts;
	int		 too_deep;
	int		 too_many;
	int		 interrupted;	/* the run's deadline or a signal */
	const char	*over;		/* a part of the report past its cap */
	int		 mdn;		/* a read receipt */
	int		 report;	/* multipart/report; delivery-status */
	char		*dsn;		/* first delivery-status, decoded */
	char		*orig;		/* first returned original's headers */
	struct buf	 text;		/* text of the report itself */
	struct buf	 all;		/* every text, originals included */
};

/*
 * The decoded content of a part, at most cap bytes: transfer encoding
 * undone, and with to_utf8 the charset converted as GMime does for text
 * parts. It reads through filters into a capped buffer, so a large part
 * costs cap bytes, never its own size. Returns NULL with *too_big set when
 * there is more than cap, or NULL when it cannot be read.
 */
static char *
part_bytes(GMimePart *part, size_t cap, int to_utf8, int *too_big)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *filtered;
	GMimeFilter *f;
	const char *charset;
	struct buf b;
	char chunk[16384];
	ssize_t n;

	*too_big = 0;
	if (dw == NULL || g_mime_data_wrapper_get_stream(dw) == NULL)
		return NULL;
	g_mime_stream_reset(g_mime_data_wrapper_get_stream(dw));
	filtered = g_mime_stream_filter_new(g_mime_data_wrapper_get_stream(dw));
	f = g_mime_filter_basic_new(g_mime_data_wrapper_get_encoding(dw), FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
	g_object_unref(f);
	charset = to_utf8 ? g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset") : NULL;
	if (charset != NULL && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
	    g_ascii_strcasecmp(charset, "us-ascii") != 0 &&
	    (f = g_mime_filter_charset_new(charset, "utf-8")) != NULL) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
		g_object_unref(f);
	}
	buf_init(&b, cap);
	while ((n = g_mime_stream_read(filtered, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			*too_big = 1;
			break;
		}
	g_object_unref(filtered);
	if (*too_big) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static void
walk(GMimeObject *obj, int depth, int in_original, struct walk *w)
{
	GMimeContentType *ct;
	int i, n, big;

	if (obj == NULL)
		return;
	if (depth > NDR_DEPTH_MAX) {
		w->too_deep = 1;
		return;
	}
	if (deadline_expired()) {
		w->interrupted = 1;
		return;
	}
	if (++w->parts > NDR_PARTS_MAX) {
		w->too_many = 1;
		return;
	}
	ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART(obj)) {
		if (!in_original && g_mime_content_type_is_type(ct,
		    "multipart", "report")) {
			const char *rt = g_mime_content_type_get_parameter(ct,
			    "report-type");

			if (rt && strcasecmp(rt, "delivery-status") == 0)
				w->report = 1;
			if (rt && strcasecmp(rt,
			    "disposition-notification") == 0)
				w->mdn = 1;
		}
		n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (i = 0; i < n && !w->too_many && !w->too_deep &&
		    !w->interrupted; i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    depth + 1, in_original, w);
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));
		char *hdrs;

		if (inner == NULL)
			return;
		hdrs = g_mime_object_get_headers(GMIME_OBJECT(inner), NULL);
		if (hdrs != NULL) {
			if (!in_original && w->orig == NULL)
				w->orig = strdup(hdrs);
			buf_addstr(&w->all, hdrs);
			g_free(hdrs);
		}
		/* A returned original: only its text, for the token. */
		walk(g_mime_message_get_mime_part(inner), depth + 1, 1, w);
		return;
	}
	if (!GMIME_IS_PART(obj))
		return;
	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message",
	    "global-delivery-status")) {
		if (!in_original && w->dsn == NULL) {
			w->dsn = part_bytes(GMIME_PART(obj), NDR_TEXT_MAX, 0,
			    &big);
			if (big)
				w->over = "a delivery-status part larger than "
				    "the reader takes (the cap is 1048576 "
				    "bytes)";
		}
		return;
	}
	if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	    g_mime_content_type_is_type(ct, "message", "rfc822-headers")) {
		char *h = part_bytes(GMIME_PART(obj), NDR_TEXT_MAX, 0, &big);

		if (h != NULL) {
			buf_addstr(&w->all, h);
			if (!in_original && w->orig == NULL)
				w->orig = h;
			else
				free(h);
		}
		return;
	}
	if (g_mime_content_type_is_type(ct, "message",
	    "disposition-notification")) {
		w->mdn = 1;
		return;
	}
	if (GMIME_IS_TEXT_PART(obj) &&
	    !g_mime_content_type_is_type(ct, "text", "html")) {
		/*
		 * Converted to UTF-8. The report's own text is capped and
		 * passing the cap is said; of a returned original only the
		 * headers matter (the token), so its text is read as far
		 * as the cap and the rest left alone.
		 */
		char *t = part_bytes(GMIME_PART(obj), NDR_TEXT_MAX, 1, &big);

		if (big && !in_original)
			w->over = "a text part of the report larger than the "
			    "reader takes (the cap is 1048576 bytes)";
		if (t != NULL) {
			if (!in_original && buf_addf(&w->text, "%s\n", t) ==
			    -1)
				w->over = "more report text than the reader "
				    "takes (the cap is 1048576 bytes)";
			buf_addf(&w->all, "%s\n", t);
			free(t);
		}
	}
}

static void
add_x(struct ndr_report *r, const char *name, const char *value)
{
	if (r->nx >= NDR_XFIELDS_MAX)
		return;
	r->x[r->nx].name = strdup(name);
	r->x[r->nx].value = strdup(value);
	r->nx++;
}

/* Reads RFC 3464 groups: per-message first, then one per recipient. */
static int
parse_dsn(struct ndr_report *r, const char *dsn, struct mc_error *err)
{
	struct headers *h;
	const char *p = dsn, *end, *v;
	char st[16];
	size_t i, glen;
	int group = 0;

	if ((h = malloc(sizeof(*h))) == NULL)
		return error_set(err, "out of memory");
	while (*p) {
		/* A group ends at an empty line (CRLF or LF). */
		while (*p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		end = p;
		for (;;) {
			const char *nl = strchr(end, '\n');

			if (nl == NULL) {
				end += strlen(end);
				break;
			}
			end = nl + 1;
			if (*end == '\n' || (end[0] == '\r' && end[1] == '\n'))
				break;
		}
		glen = (size_t)(end - p);
		if (headers_parse(p, glen, h, err) == -1) {
			free(h);
			return error_prefix(err, "delivery-status group %d",
			    group + 1);
		}
		if (group == 0) {
			if ((v = headers_get(h, "Reporting-MTA")) != NULL)
				set_typed(&r->reporting_mta, v);
			if ((v = headers_get(h, "Arrival-Date")) != NULL)
				set(&r->arrival_date, v);
			for (i = 0; i < h->n; i++)
				if (strncasecmp(h->f[i].name, "X-", 2) == 0)
					add_x(r, h->f[i].name, h->f[i].value);
		} else {
			struct ndr_rcpt *rc;

			if (r->nrcpt >= NDR_RCPTS_MAX) {
				headers_free(h);
				free(h);
				return error_set(err, "more than %d recipients "
				    "in one report", NDR_RCPTS_MAX);
			}
			rc = &r->rcpt[r->nrcpt++];
			if ((v = headers_get(h, "Final-Recipient")) != NULL)
				set_typed(&rc->final_recipient, v);
			if ((v = headers_get(h, "Original-Recipient")) != NULL)
				set_typed(&rc->original_recipient, v);
			if ((v = headers_get(h, "Action")) != NULL) {
				set_typed(&rc->action, v);
				for (char *c = rc->action; *c; c++)
					*c = (char)tolower((unsigned char)*c);
			}
			if ((v = headers_get(h, "Status")) != NULL &&
			    find_status(v, st) == 0)
				set(&rc->status, st);
			if ((v = headers_get(h, "Diagnostic-Code")) != NULL)
				set(&rc->diagnostic_code, v);
			if ((v = headers_get(h, "Remote-MTA")) != NULL)
				set_typed(&rc->remote_mta, v);
		}
		headers_free(h);
		group++;
		p = end;
	}
	free(h);
	return 0;
}

/* Copies the line of s that contains at, without its end of line. */
static char *
line_at(const char *s, const char *at)
{
	const char *b = at, *e = at;

	while (b > s && b[-1] != '\n')
		b--;
	while (*e && *e != '\n' && *e != '\r')
		e++;
	return strndup(b, (size_t)(e - b));
}

/* The next non-empty line after the line holding at, trimmed. */
static char *
next_line(const char *at)
{
	const char *p = strchr(at, '\n'), *e;

	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\r' && *p != '\n' && *p != '\0')
			break;
		if (*p == '\0')
			return NULL;
		p = strchr(p, '\n');
	}
	if (p == NULL)
		return NULL;
	for (e = p; *e && *e != '\r' && *e != '\n'; e++)
		;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	return strndup(p, (size_t)(e - p));
}

/* The first address-like word (with '@') in s, without <>, or NULL. */
static char *
address_in(const char *s)
{
	const char *at = strchr(s, '@'), *b, *e;

	if (at == NULL)
		return NULL;
	for (b = at; b > s && !isspace((unsigned char)b[-1]) && b[-1] != '<' &&
	    b[-1] != '"' && b[-1] != '(' && b[-1] != ':'; b--)
		;
	for (e = at; *e && !isspace((unsigned char)*e) && *e != '>' &&
	    *e != '"' && *e != ')' && *e != ','; e++)
		;
	while (e > at && (e[-1] == '.' || e[-1] == ':' || e[-1] == ';'))
		e--;
	if (b == at || e == at + 1)
		return NULL;
	return strndup(b, (size_t)(e - b));
}

/* The address on the last non-empty line before the line holding at. */
static char *
address_before(const char *s, const char *at)
{
	const char *p = at;
	char *line, *a;

	while (p > s && p[-1] != '\n')
		p--;
	while (p > s) {
		const char *e = p - 1, *b;

		while (e > s && (e[-1] == '\r'))
			e--;
		b = e;
		while (b > s && b[-1] != '\n')
			b--;
		line = strndup(b, (size_t)(e - b));
		a = line ? address_in(line) : NULL;
		free(line);
		if (a != NULL)
			return a;
		p = b;
	}
	return NULL;
}

/* Joins the lines from at up to an empty line into one, spaces folded. */
static char *
paragraph(const char *at, size_t max)
{
	struct buf b;
	const char *p = at;
	int space = 0;

	buf_init(&b, max);
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p && b.len < max; p++) {
		if (*p == '\n' && (p[1] == '\n' || (p[1] == '\r' &&
		    p[2] == '\n')))
			break;
		if (isspace((unsigned char)*p)) {
			space = 1;
			continue;
		}
		if (space && b.len)
			buf_add(&b, " ", 1);
		space = 0;
		buf_add(&b, p, 1);
	}
	return buf_steal(&b);
}

static struct ndr_rcpt *
text_rcpt(struct ndr_report *r)
{
	if (r->nrcpt >= NDR_RCPTS_MAX)
		return NULL;
	return &r->rcpt[r->nrcpt++];
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

static void
rcpt_from_diag(struct ndr_rcpt *rc, const char *action)
{
	static const char *const unknown_user[] = { "not listed in",
	    "user unknown", "unknown user", "no such user",
	    "does not exist", NULL };
	char st[16];
	size_t i;

	set(&rc->action, action);
	if (rc->status == NULL && rc->diagnostic_code != NULL &&
	    find_status(rc->diagnostic_code, st) == 0)
		set(&rc->status, st);
	/*
	 * Reports without any code (Lotus Domino's "not listed in Domino
	 * Directory"): a failure naming an unknown user is RFC 3463's
	 * 5.1.1 "bad destination mailbox address", and nothing else is
	 * inferred.
	 */
	if (rc->status == NULL && strcmp(action, "failed") == 0 &&
	    rc->diagnostic_code != NULL &&
	    reply_code(rc->diagnostic_code) == 0)
		for (i = 0; unknown_user[i]; i++)
			if (strcasestr(rc->diagnostic_code, unknown_user[i])) {
				set(&rc->status, "5.1.1");
				break;
			}
}

/* Exchange 2000/2003: "rcpt on date\n    #4.7.1 smtp;450 4.7.1 <x>..." */
static int
parse_exchange2003(struct ndr_report *r, const char *t)
{
	const char *p;
	struct ndr_rcpt *rc;
	char st[16];

	for (p = strchr(t, '#'); p != NULL; p = strchr(p + 1, '#')) {
		size_t n = status_span(p + 1);
		char *line;

		if (n == 0 || strncasecmp(p + 1 + n, " smtp;", 6) != 0 ||
		    (rc = text_rcpt(r)) == NULL)
			continue;
		memcpy(st, p + 1, n);
		st[n] = '\0';
		set(&rc->status, st);
		line = line_at(t, p);
		if (line != NULL) {
			set(&rc->diagnostic_code, strstr(line, "smtp;"));
			free(line);
		}
		rc->final_recipient = address_before(t, p);
		rcpt_from_diag(rc, "failed");
	}
	return r->nrcpt > 0 ? 0 : -1;
}

/* Exchange 2007+: "Remote Server returned '550 5.1.1 ...'" or "#550 ...##". */
static int
parse_exchange2007(struct ndr_report *r, const char *t)
{
	const char *p, *q;
	struct ndr_rcpt *rc;

	if ((p = strstr(t, "Remote Server returned '")) != NULL &&
	    (q = strchr(p + 24, '\'')) != NULL && (rc = text_rcpt(r))) {
		rc->diagnostic_code = strndup(p + 24, (size_t)(q - p - 24));
		rc->final_recipient = address_before(t, p);
		rcpt_from_diag(rc, "failed");
		return 0;
	}
	for (p = strchr(t, '#'); p != NULL; p = strchr(p + 1, '#')) {
		if (reply_code(p) == 0 || (q = strstr(p, " ##")) == NULL ||
		    memchr(p, '\n', (size_t)(q - p)) != NULL ||
		    (rc = text_rcpt(r)) == NULL)
			continue;
		rc->diagnostic_code = strndup(p + 1, (size_t)(q - p - 1));
		rc->final_recipient = address_before(t, p);
		rcpt_from_diag(rc, "failed");
		return 0;
	}
	return -1;
}

static int
delayed_text(const char *t)
{
	return strcasestr(t, "has not yet been delivered") != NULL ||
	    strcasestr(t, "will continue to try") != NULL ||
	    strcasestr(t, "will be retried") != NULL ||
	    strcasestr(t, "Delivery Status Notification (Delay)") != NULL ||
	    strcasestr(t, "Delivery is delayed") != NULL ||
	    strcasestr(t, "delivery has been delayed") != NULL;
}

/* Exim, qmail, Sendmail, Domino and anything with a reply in its text. */
static int
parse_generic(struct ndr_report *r, const char *t, const char *failed_rcpt)
{
	static const char *const leads[] = { "SMTP error from remote mail "
	    "server after", "Remote host said:", "<<< ", "(reason: ",
	    "because:", NULL };
	const char *p = NULL, *q;
	struct ndr_rcpt *rc;
	size_t i;

	for (i = 0; leads[i] && p == NULL; i++)
		p = strstr(t, leads[i]);
	if (p != NULL && (rc = text_rcpt(r)) != NULL) {
		i--;
		if (i == 0 || i == 4) {
			/* The reply is on the following line(s). */
			q = strchr(p, '\n');
			rc->diagnostic_code = q ? paragraph(q + 1, 1000) : NULL;
		} else {
			rc->diagnostic_code = paragraph(p + strlen(leads[i]),
			    1000);
		}
		if (rc->diagnostic_code && i == 3) {
			char *close = strrchr(rc->diagnostic_code, ')');

			if (close)
				*close = '\0';
		}
		if (failed_rcpt != NULL)
			rc->final_recipient = address_in(failed_rcpt);
		if (rc->final_recipient == NULL)
			rc->final_recipient = address_before(t, p);
		rcpt_from_diag(rc, delayed_text(t) ? "delayed" : "failed");
		return 0;
	}
	return -1;
}

static int
text_format(const char *t, const char *from, const char *xfailed)
{
	if (strstr(t, "This is the mail system at host"))
		return NDR_FMT_POSTFIX;
	if (strstr(t, "Hi. This is the qmail-send program"))
		return NDR_FMT_QMAIL;
	if (xfailed != NULL || strstr(t, "This message was created "
	    "automatically by mail delivery software"))
		return NDR_FMT_EXIM;
	if (strstr(t, "Remote Server returned '") ||
	    strstr(t, "Diagnostic information for administrators"))
		return NDR_FMT_EXCHANGE2007;
	if (strstr(t, " smtp;") && strchr(t, '#') &&
	    (strstr(t, "did not reach") || strstr(t, "could not be "
	    "delivered") || strstr(t, "Your message")))
		return NDR_FMT_EXCHANGE2003;
	if (strstr(t, "Transcript of session follows") ||
	    strstr(t, "The original message was received at"))
		return NDR_FMT_SENDMAIL;
	if (strstr(t, "Domino Directory") || strstr(t, "was not delivered "
	    "to:") || (from && strcasestr(from, "domino")))
		return NDR_FMT_DOMINO;
	return NDR_FMT_UNKNOWN;
}

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
find_token(struct ndr_report *r, struct walk *w)
{
	struct headers *h;
	const char *v;
	size_t i;

	if (w->orig && (h = malloc(sizeof(*h))) != NULL) {
		if (headers_parse(w->orig, strlen(w->orig), h, NULL) == 0) {
			if ((v = headers_get(h, "Message-ID")) != NULL)
				set(&r->original_message_id, v);
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
	if (!r->token[0] && w->all.data &&
	    token_find(w->all.data, w->all.len, r->token) == -1)
		r->token[0] = '\0';
}

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
	set(&r->error, why);
}

/*
 * The pre-scan (mimescan.c) over the whole stream: a message past one of
 * its caps never reaches GMime's parser. Checks the deadline per chunk.
 * Returns 0 to go on, 1 when the report is decided (a cap passed), -1 when
 * interrupted.
 */
static int
prescan(GMimeStream *stream, struct ndr_report *r, struct mc_error *err)
{
	const struct mimescan_result *res;
	struct mimescan *ms;
	char chunk[65536];
	ssize_t n;
	int rc = 0;

	if ((ms = mimescan_new()) == NULL)
		return error_set(err, "out of memory");
	while ((n = g_mime_stream_read(stream, chunk, sizeof(chunk))) > 0) {
		if (deadline_expired()) {
			mimescan_free(ms);
			return error_set(err, "%s while reading a message",
			    deadline_signal ? "terminated by a signal" :
			    "ran out of time");
		}
		if (mimescan_push(ms, chunk, (size_t)n) == -1)
			break;
	}
	res = mimescan_finish(ms);
	if (res->over) {
		char *v;

		/* What a person needs to find it: Subject and From. */
		if (res->subject[0] && (v = g_mime_utils_header_decode_text(
		    NULL, res->subject)) != NULL) {
			set(&r->subject, g_strstrip(v));
			g_free(v);
		}
		if (res->from[0] && (v = g_mime_utils_header_decode_text(NULL,
		    res->from)) != NULL) {
			set(&r->from, g_strstrip(v));
			g_free(v);
		}
		r->format = NDR_FMT_UNKNOWN;
		unparseable(r, res->why);
		if (!res->report && !looks_like_bounce(r->subject, r->from))
			r->class = NDR_NOT_BOUNCE;
		rc = 1;
	}
	mimescan_free(ms);
	return rc;
}

static int parse_stream(GMimeStream *, struct ndr_report *,
    struct mc_error *);

int
ndr_parse(const char *buf, size_t len, struct ndr_report *r,
    struct mc_error *err)
{
	GMimeStream *stream;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > NDR_MESSAGE_MAX)
		return error_set(err, "message larger than %d bytes",
		    NDR_MESSAGE_MAX);
	pthread_once(&gmime_once, g_mime_init);
	stream = g_mime_stream_mem_new_with_buffer(buf, len);
	rc = parse_stream(stream, r, err);
	g_object_unref(stream);
	return rc;
}

int
ndr_parse_fd(int fd, struct ndr_report *r, struct mc_error *err)
{
	GMimeStream *stream;
	int d, rc;

	memset(r, 0, sizeof(*r));
	pthread_once(&gmime_once, g_mime_init);
	if ((d = dup(fd)) == -1)
		return error_set(err, "cannot read the message: %s",
		    strerror(errno));
	if (lseek(d, 0, SEEK_SET) == -1) {
		close(d);
		return error_set(err, "cannot rewind the message: %s",
		    strerror(errno));
	}
	/* Owns d; parts become windows on the file, never copies. */
	stream = g_mime_stream_fs_new(d);
	rc = parse_stream(stream, r, err);
	g_object_unref(stream);
	return rc;
}

static int
parse_stream(GMimeStream *stream, struct ndr_report *r, struct mc_error *err)
{
	GMimeParser *parser;
	GMimeMessage *msg;
	struct mc_error e;
	struct walk w;
	const char *v, *xfailed;
	size_t i;
	int rc;

	deadline_step("reading a bounce");
	if ((rc = prescan(stream, r, err)) != 0)
		return rc == 1 ? 0 : -1;
	if (g_mime_stream_reset(stream) == -1)
		return error_set(err, "cannot rewind the message");
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (msg == NULL)
		return error_set(err, "not a message: no header block");
	memset(&w, 0, sizeof(w));
	buf_init(&w.text, NDR_TEXT_MAX);
	buf_init(&w.all, NDR_TEXT_MAX);
	if ((v = g_mime_message_get_subject(msg)) != NULL)
		set(&r->subject, v);
	if ((v = g_mime_object_get_header(GMIME_OBJECT(msg), "From")) != NULL)
		set(&r->from, v);
	xfailed = g_mime_object_get_header(GMIME_OBJECT(msg),
	    "X-Failed-Recipients");
	walk(g_mime_message_get_mime_part(msg), 0, 0, &w);

	if (w.interrupted || deadline_expired()) {
		rc = error_set(err, "%s while reading a message",
		    deadline_signal ? "terminated by a signal" :
		    "ran out of time");
		goto done;
	}
	if (w.too_deep || w.too_many) {
		r->format = NDR_FMT_UNKNOWN;
		unparseable(r, w.too_deep ? "MIME nesting deeper than the cap" :
		    "more MIME parts than the cap");
		if (!w.report && !looks_like_bounce(r->subject, r->from))
			r->class = NDR_NOT_BOUNCE;
		goto done;
	}
	if (w.over != NULL) {
		/* Never a guess from what was left: say which cap. */
		r->format = NDR_FMT_UNKNOWN;
		unparseable(r, w.over);
		if (!w.report && !looks_like_bounce(r->subject, r->from))
			r->class = NDR_NOT_BOUNCE;
		goto token;
	}
	if (w.mdn && w.dsn == NULL) {
		r->class = NDR_NOT_BOUNCE;	/* a read receipt */
		goto done;
	}
	r->format = text_format(w.text.data ? w.text.data : "", r->from,
	    xfailed);
	if (w.dsn != NULL) {
		if (parse_dsn(r, w.dsn, &e) == -1) {
			unparseable(r, e.msg);
			goto token;
		}
		if (r->format == NDR_FMT_UNKNOWN)
			r->format = NDR_FMT_DSN;
	} else if (w.text.data != NULL) {
		const char *t = w.text.data;

		switch (r->format) {
		case NDR_FMT_EXCHANGE2003:
			parse_exchange2003(r, t);
			break;
		case NDR_FMT_EXCHANGE2007:
			if (parse_exchange2007(r, t) == -1)
				parse_generic(r, t, NULL);
			break;
		case NDR_FMT_UNKNOWN:
			if (!looks_like_bounce(r->subject, r->from)) {
				r->class = NDR_NOT_BOUNCE;
				goto done;
			}
			parse_generic(r, t, xfailed);
			break;
		default:
			parse_generic(r, t, xfailed);
			break;
		}
		if (r->format == NDR_FMT_DOMINO && r->nrcpt == 1 &&
		    (v = strstr(t, "was not delivered to:")) != NULL) {
			char *l = next_line(v), *a = l ? address_in(l) : NULL;

			if (a != NULL || l != NULL) {
				free(r->rcpt[0].final_recipient);
				r->rcpt[0].final_recipient = a ? a : strdup(l);
			}
			free(l);
		}
		if (r->format == NDR_FMT_QMAIL && r->nrcpt == 1 &&
		    r->rcpt[0].final_recipient == NULL)
			r->rcpt[0].final_recipient = address_before(t,
			    strstr(t, "Remote host said:") ?
			    strstr(t, "Remote host said:") : t);
	} else if (!looks_like_bounce(r->subject, r->from)) {
		r->class = NDR_NOT_BOUNCE;
		goto done;
	}
	for (i = 0; i < r->nrcpt; i++) {
		squeeze(r->rcpt[i].diagnostic_code);
		r->rcpt[i].class = ndr_classify(r->rcpt[i].action,
		    r->rcpt[i].status, r->rcpt[i].diagnostic_code);
	}
	r->class = overall_class(r);
	if (r->class == NDR_UNPARSEABLE && r->error == NULL)
		set(&r->error, r->nrcpt ? "no usable Action, Status or reply" :
		    "a bounce, but no recipient or reason could be read");
	if (r->reporting_mta == NULL && r->from != NULL) {
		const char *at = strrchr(r->from, '@');

		if (at != NULL) {
			char *m = strdup(at + 1), *gt;

			if (m && (gt = strpbrk(m, "> \"")) != NULL)
				*gt = '\0';
			free(r->reporting_mta);
			r->reporting_mta = m;
		}
	}
token:
	find_token(r, &w);
done:
	free(w.dsn);
	free(w.orig);
	buf_free(&w.text);
	buf_free(&w.all);
	g_object_unref(msg);
	return rc;
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
