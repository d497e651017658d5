/*
 * ndr_text.c - the reports that carry no delivery-status part, only text
 * for a person: Exchange 2000/2003 ("#4.7.1 smtp;450 ..."), Exchange
 * 2007+ ("Remote Server returned '550 5.1.1 ...'"), Exim, qmail,
 * Sendmail, Postfix and Lotus Domino. Which format a text is, and then,
 * per format, the recipients, the RFC 3463 status and the server's reply
 * read from it. These texts follow no standard: the rules are drawn from
 * real reports (tests/ndr). What is not found is left empty, never
 * guessed (ndr.c then says the bounce is unparseable).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ndr_int.h"

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

/* Action, and the status a diagnostic carries or implies. */
static void
rcpt_from_diag(struct ndr_rcpt *rc, const char *action)
{
	static const char *const unknown_user[] = { "not listed in",
	    "user unknown", "unknown user", "no such user",
	    "does not exist", NULL };
	char st[NDR_STATUS_MAX];
	size_t i;

	ndr_set(&rc->action, action);
	if (rc->status == NULL && rc->diagnostic_code != NULL &&
	    dsn_status_find(rc->diagnostic_code, st) == 0)
		ndr_set(&rc->status, st);
	/*
	 * Reports without any code (Lotus Domino's "not listed in Domino
	 * Directory"): a failure naming an unknown user is RFC 3463's
	 * 5.1.1 "bad destination mailbox address", and nothing else is
	 * inferred.
	 */
	if (rc->status == NULL && strcmp(action, "failed") == 0 &&
	    rc->diagnostic_code != NULL &&
	    dsn_reply_code(rc->diagnostic_code) == 0)
		for (i = 0; unknown_user[i]; i++)
			if (strcasestr(rc->diagnostic_code, unknown_user[i])) {
				ndr_set(&rc->status, "5.1.1");
				break;
			}
}

/* Exchange 2000/2003: "rcpt on date\n    #4.7.1 smtp;450 4.7.1 <x>..." */
static int
parse_exchange2003(struct ndr_report *r, const char *t)
{
	const char *p;
	struct ndr_rcpt *rc;
	char st[NDR_STATUS_MAX];

	for (p = strchr(t, '#'); p != NULL; p = strchr(p + 1, '#')) {
		size_t n = dsn_status_span(p + 1);
		char *line;

		if (n == 0 || strncasecmp(p + 1 + n, " smtp;", 6) != 0 ||
		    (rc = ndr_rcpt_new(r)) == NULL)
			continue;
		memcpy(st, p + 1, n);
		st[n] = '\0';
		ndr_set(&rc->status, st);
		line = line_at(t, p);
		if (line != NULL) {
			ndr_set(&rc->diagnostic_code, strstr(line, "smtp;"));
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
	    (q = strchr(p + 24, '\'')) != NULL && (rc = ndr_rcpt_new(r))) {
		rc->diagnostic_code = strndup(p + 24, (size_t)(q - p - 24));
		rc->final_recipient = address_before(t, p);
		rcpt_from_diag(rc, "failed");
		return 0;
	}
	for (p = strchr(t, '#'); p != NULL; p = strchr(p + 1, '#')) {
		if (dsn_reply_code(p) == 0 || (q = strstr(p, " ##")) == NULL ||
		    memchr(p, '\n', (size_t)(q - p)) != NULL ||
		    (rc = ndr_rcpt_new(r)) == NULL)
			continue;
		rc->diagnostic_code = strndup(p + 1, (size_t)(q - p - 1));
		rc->final_recipient = address_before(t, p);
		rcpt_from_diag(rc, "failed");
		return 0;
	}
	return -1;
}

/* A warning that delivery goes on, not a failure. */
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
	if (p != NULL && (rc = ndr_rcpt_new(r)) != NULL) {
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

int
ndr_text_format(const char *t, const char *from, const char *xfailed)
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

void
ndr_text_parse(struct ndr_report *r, const char *t, const char *xfailed)
{
	const char *v;

	switch (r->format) {
	case NDR_FMT_EXCHANGE2003:
		parse_exchange2003(r, t);
		break;
	case NDR_FMT_EXCHANGE2007:
		if (parse_exchange2007(r, t) == -1)
			parse_generic(r, t, NULL);
		break;
	default:
		parse_generic(r, t, xfailed);
		break;
	}
	/* Domino names the recipient on the line after its phrase. */
	if (r->format == NDR_FMT_DOMINO && r->nrcpt == 1 &&
	    (v = strstr(t, "was not delivered to:")) != NULL) {
		char *l = next_line(v), *a = l ? address_in(l) : NULL;

		if (a != NULL || l != NULL) {
			free(r->rcpt[0].final_recipient);
			r->rcpt[0].final_recipient = a ? a : strdup(l);
		}
		free(l);
	}
	/* qmail: "<rcpt>:" on a line above "Remote host said:". */
	if (r->format == NDR_FMT_QMAIL && r->nrcpt == 1 &&
	    r->rcpt[0].final_recipient == NULL)
		r->rcpt[0].final_recipient = address_before(t,
		    strstr(t, "Remote host said:") ?
		    strstr(t, "Remote host said:") : t);
}
