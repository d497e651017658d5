/*
 * dsn.c - the grammar of standard delivery reports: the fields of a
 * message/delivery-status body (RFC 3464) and of its UTF-8 variant
 * message/global-delivery-status (RFC 6533), the enhanced status codes in
 * them (RFC 3463), and the SMTP reply code (RFC 5321 section 4.2) at the
 * start of a diagnostic. The text formats (ndr_text.c) use the same
 * codes. Validate, then copy: nothing is copied that did not match.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "ndr_int.h"

/*
 * RFC 3463 section 2: class "." subject "." detail, where class is 2, 4
 * or 5 and subject and detail are 1-3 digits. Like Postfix's dsn_valid(),
 * it validates before anything is copied.
 */
size_t
dsn_status_span(const char *s)
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

int
dsn_status_find(const char *s, char out[NDR_STATUS_MAX])
{
	const char *p;
	size_t n;

	for (p = s; p && *p; p++) {
		if (p > s && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
			continue;
		if ((n = dsn_status_span(p)) > 0 && n < NDR_STATUS_MAX) {
			memcpy(out, p, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

int
dsn_reply_code(const char *diag)
{
	const char *p = diag;

	int pass;

	if (diag == NULL)
		return 0;
	/*
	 * "450 ...", "#550 ...", then after the diagnostic-type of RFC 3464
	 * section 2.3.6: "smtp; 450 ...".
	 */
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

/*
 * A typed value (RFC 3464 section 2.1.2, "rfc822; user@host", and the
 * "dns; mx.example" of Reporting-MTA and Remote-MTA): the value after the
 * type, spaces trimmed.
 */
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

/* RFC 3464 section 2.2: the per-message fields we keep. */
static void
per_message(struct ndr_report *r, const struct headers *h)
{
	const char *v;
	size_t i;

	if ((v = headers_get(h, "Reporting-MTA")) != NULL)
		set_typed(&r->reporting_mta, v);
	if ((v = headers_get(h, "Arrival-Date")) != NULL)
		ndr_set(&r->arrival_date, v);
	/* Section 2.4: extension fields, kept for the operator. */
	for (i = 0; i < h->n; i++)
		if (strncasecmp(h->f[i].name, "X-", 2) == 0)
			ndr_x_add(r, h->f[i].name, h->f[i].value);
}

/* RFC 3464 section 2.3: one recipient's fields. */
static void
per_recipient(struct ndr_rcpt *rc, const struct headers *h)
{
	const char *v;
	char st[NDR_STATUS_MAX];

	if ((v = headers_get(h, "Final-Recipient")) != NULL)
		set_typed(&rc->final_recipient, v);
	if ((v = headers_get(h, "Original-Recipient")) != NULL)
		set_typed(&rc->original_recipient, v);
	/* Section 2.3.3: the action-value is case-insensitive. */
	if ((v = headers_get(h, "Action")) != NULL) {
		set_typed(&rc->action, v);
		for (char *c = rc->action; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	/* Section 2.3.4: the code may be followed by a comment. */
	if ((v = headers_get(h, "Status")) != NULL &&
	    dsn_status_find(v, st) == 0)
		ndr_set(&rc->status, st);
	if ((v = headers_get(h, "Diagnostic-Code")) != NULL)
		ndr_set(&rc->diagnostic_code, v);
	if ((v = headers_get(h, "Remote-MTA")) != NULL)
		set_typed(&rc->remote_mta, v);
}

int
dsn_parse(struct ndr_report *r, const char *dsn, struct mc_error *err)
{
	struct headers *h;
	const char *p = dsn, *end;
	size_t glen;
	int group = 0;

	if ((h = malloc(sizeof(*h))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	while (*p) {
		/*
		 * RFC 3464 section 2.1: the per-message group, then one
		 * group per recipient, each after an empty line (CRLF or
		 * LF; more than one is taken as one).
		 */
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
		if (group == 0)
			per_message(r, h);
		else {
			struct ndr_rcpt *rc;

			if ((rc = ndr_rcpt_new(r)) == NULL) {
				headers_free(h);
				free(h);
				return error_set(err, MC_ERR_LIMIT,
				    "more than %d recipients "
				    "in one report", NDR_RCPTS_MAX);
			}
			per_recipient(rc, h);
		}
		headers_free(h);
		group++;
		p = end;
	}
	free(h);
	return 0;
}
