/*
 * message.c - the canary message, and the header reading that scanning
 * needs: an unfolding header parser with caps, RFC 5322 and IMAP dates,
 * the Received: chain and greylisting evidence.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "message.h"
#include "text.h"

/* Dwell at the first hop that counts as greylisting without X-Greylist. */
#define GREYLIST_DWELL_MIN	2

void
headers_free(struct headers *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->f[i].name);
		free(h->f[i].value);
	}
	h->n = 0;
}

static int
headers_add(struct headers *h, const char *line, size_t len,
    struct mc_error *err)
{
	const char *colon;
	size_t nlen, vstart, vend;

	colon = memchr(line, ':', len);
	if (colon == NULL || colon == line)
		return error_set(err, MC_ERR_INPUT,
		    "header line without a field name");
	nlen = (size_t)(colon - line);
	/* RFC 5322 2.2: field names are printable ASCII but ':'. */
	for (size_t i = 0; i < nlen; i++)
		if (line[i] <= 32 || line[i] >= 127)
			return error_set(err, MC_ERR_INPUT,
			    "header field name with "
			    "invalid characters");
	if (h->n >= MESSAGE_FIELDS_MAX)
		return error_set(err, MC_ERR_LIMIT,
		    "more than %d header fields",
		    MESSAGE_FIELDS_MAX);
	vstart = nlen + 1;
	while (vstart < len && (line[vstart] == ' ' || line[vstart] == '\t'))
		vstart++;
	vend = len;
	while (vend > vstart && isspace((unsigned char)line[vend - 1]))
		vend--;
	h->f[h->n].name = strndup(line, nlen);
	h->f[h->n].value = strndup(line + vstart, vend - vstart);
	if (h->f[h->n].name == NULL || h->f[h->n].value == NULL) {
		free(h->f[h->n].name);
		free(h->f[h->n].value);
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	h->n++;
	return 0;
}

int
headers_parse(const char *buf, size_t len, struct headers *h,
    struct mc_error *err)
{
	char *field;
	size_t pos = 0, flen = 0, eol, next, llen, i;

	h->n = 0;
	if (len > MESSAGE_HEADER_MAX) {
		/* Only the header block is capped; look for its end. */
		len = MESSAGE_HEADER_MAX;
	}
	if ((field = malloc(MESSAGE_LINE_MAX + 1)) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		eol = nl ? (size_t)(nl - buf) : len;
		next = nl ? eol + 1 : len;
		llen = eol - pos;
		if (llen > 0 && buf[pos + llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break;			/* end of the header block */
		if (buf[pos] == ' ' || buf[pos] == '\t') {
			if (flen == 0) {
				free(field);
				headers_free(h);
				return error_set(err, MC_ERR_INPUT,
				    "continuation line "
				    "before any header field");
			}
		} else if (flen > 0) {
			if (headers_add(h, field, flen, err) == -1)
				goto fail;
			flen = 0;
		}
		if (flen + llen > MESSAGE_LINE_MAX) {
			error_set(err, MC_ERR_INPUT,
			    "header field longer than %d bytes",
			    MESSAGE_LINE_MAX);
			goto fail;
		}
		/* Unfold: CRLF before WSP is removed (RFC 5322 2.2.3). */
		for (i = 0; i < llen; i++) {
			char c = buf[pos + i];

			field[flen++] = (c == '\0') ? ' ' : c;
		}
		pos = next;
	}
	if (pos >= len && len == MESSAGE_HEADER_MAX) {
		error_set(err, MC_ERR_INPUT,
		    "header block longer than %d bytes",
		    MESSAGE_HEADER_MAX);
		goto fail;
	}
	if (flen > 0 && headers_add(h, field, flen, err) == -1)
		goto fail;
	free(field);
	return 0;
fail:
	free(field);
	headers_free(h);
	return -1;
}

const char *
headers_get(const struct headers *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->f[i].name, name) == 0)
			return h->f[i].value;
	return NULL;
}

static const char *const months[] = { "jan", "feb", "mar", "apr", "may",
    "jun", "jul", "aug", "sep", "oct", "nov", "dec" };

static int
month_index(const char *s, size_t len)
{
	int i;

	if (len != 3)
		return -1;
	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i;
	return -1;
}

/* Reads 1..max digits at *pp; advances only on success. */
static int
read_num(const char **pp, int min, int max, long *out)
{
	const char *p = *pp;
	long v = 0;
	int n = 0;

	while (isdigit((unsigned char)*p) && n < max) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n < min || isdigit((unsigned char)*p))
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

static void
skip_cfws(const char **pp)
{
	const char *p = *pp;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '(')
			break;
		p = text_skip_comment(p);
	}
	*pp = p;
}

static int
read_zone(const char **pp, long *offset)
{
	static const struct { const char *name; int hours; } zones[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	const char *p = *pp;
	long v;
	size_t i, n;

	if (*p == '+' || *p == '-') {
		int sign = (*p == '-') ? -1 : 1;

		p++;
		if (read_num(&p, 4, 4, &v) == -1 || v % 100 > 59)
			return -1;
		*offset = sign * ((v / 100) * 3600 + (v % 100) * 60);
		*pp = p;
		return 0;
	}
	n = 0;
	while (isalpha((unsigned char)p[n]))
		n++;
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strlen(zones[i].name) == n &&
		    strncasecmp(p, zones[i].name, n) == 0) {
			*offset = zones[i].hours * 3600L;
			*pp = p + n;
			return 0;
		}
	/* RFC 5322 4.3: other obsolete zones are treated as -0000. */
	if (n > 0) {
		*offset = 0;
		*pp = p + n;
		return 0;
	}
	return -1;
}

static int
make_time(long year, int mon, long day, long hh, long mm, long ss,
    long offset, time_t *out)
{
	struct tm tm;
	time_t t;

	if (year < 50)
		year += 2000;
	else if (year < 1000)
		year += 1900;	/* RFC 5322 4.3 two- and three-digit years */
	if (year < 1970 || year > 9999 || day < 1 || day > 31 || hh > 23 ||
	    mm > 59 || ss > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = (int)day;
	tm.tm_hour = (int)hh;
	tm.tm_min = (int)mm;
	tm.tm_sec = (int)(ss == 60 ? 59 : ss);
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t - offset;
	return 0;
}

int
date_parse_rfc5322(const char *s, time_t *out)
{
	const char *p = s;
	long day, year, hh, mm, ss = 0, offset;
	size_t n;
	int mon;

	skip_cfws(&p);
	/* Optional day-of-week and comma. */
	if (isalpha((unsigned char)*p)) {
		n = 0;
		while (isalpha((unsigned char)p[n]))
			n++;
		p += n;
		skip_cfws(&p);
		if (*p != ',')
			return -1;
		p++;
		skip_cfws(&p);
	}
	if (read_num(&p, 1, 2, &day) == -1)
		return -1;
	skip_cfws(&p);
	n = 0;
	while (isalpha((unsigned char)p[n]))
		n++;
	if ((mon = month_index(p, n)) == -1)
		return -1;
	p += n;
	skip_cfws(&p);
	if (read_num(&p, 2, 4, &year) == -1)
		return -1;
	skip_cfws(&p);
	if (read_num(&p, 1, 2, &hh) == -1 || *p++ != ':' ||
	    read_num(&p, 2, 2, &mm) == -1)
		return -1;
	if (*p == ':') {
		p++;
		if (read_num(&p, 2, 2, &ss) == -1)
			return -1;
	}
	skip_cfws(&p);
	if (read_zone(&p, &offset) == -1)
		return -1;
	return make_time(year, mon, day, hh, mm, ss, offset, out);
}

int
date_parse_imap(const char *s, time_t *out)
{
	const char *p = s;
	long day, year, hh, mm, ss, offset;
	int mon;

	/* RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " d". */
	if (*p == ' ')
		p++;
	if (read_num(&p, 1, 2, &day) == -1 || *p++ != '-')
		return -1;
	if ((mon = month_index(p, 3)) == -1 || p[3] != '-')
		return -1;
	p += 4;
	if (read_num(&p, 4, 4, &year) == -1 || *p++ != ' ' ||
	    read_num(&p, 2, 2, &hh) == -1 || *p++ != ':' ||
	    read_num(&p, 2, 2, &mm) == -1 || *p++ != ':' ||
	    read_num(&p, 2, 2, &ss) == -1 || *p++ != ' ' ||
	    (*p != '+' && *p != '-') || read_zone(&p, &offset) == -1 ||
	    *p != '\0')
		return -1;
	return make_time(year, mon, day, hh, mm, ss, offset, out);
}

/* Copies the word after keyword (" by ", "from ") in a Received: value. */
static void
received_word(const char *v, const char *kw, char *out, size_t outlen)
{
	const char *p = v, *q;
	size_t klen = strlen(kw), n;

	out[0] = '\0';
	for (;;) {
		p = strcasestr(p, kw);
		if (p == NULL)
			return;
		if (p == v || p[-1] == ' ' || p[-1] == '\t' || p[-1] == ')')
			break;
		p += klen;
	}
	p += klen;
	while (*p == ' ' || *p == '\t')
		p++;
	for (q = p; *q && !isspace((unsigned char)*q) && *q != ';' &&
	    *q != '(' && *q != ')'; q++)
		;
	n = (size_t)(q - p);
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

void
received_parse(const struct headers *h, struct received_chain *rc)
{
	const char *xg, *semi, *d;
	struct hop *hop;
	size_t i;
	long secs;
	char *end;

	memset(rc, 0, sizeof(*rc));
	rc->greylist_delay = -1;
	/* Fields are newest first; hops are kept oldest first. */
	for (i = h->n; i-- > 0;) {
		if (strcasecmp(h->f[i].name, "Received") != 0)
			continue;
		if (rc->n >= MESSAGE_HOPS_MAX)
			break;
		hop = &rc->hop[rc->n++];
		received_word(h->f[i].value, "by ", hop->by, sizeof(hop->by));
		received_word(h->f[i].value, "from ", hop->from,
		    sizeof(hop->from));
		if ((semi = strrchr(h->f[i].value, ';')) == NULL ||
		    date_parse_rfc5322(semi + 1, &hop->at) == -1)
			hop->at = 0;
	}
	if (rc->n > 0)
		snprintf(rc->greylist_at, sizeof(rc->greylist_at), "%s",
		    rc->hop[0].by);
	if ((xg = headers_get(h, "X-Greylist")) != NULL) {
		rc->greylisted = 1;
		snprintf(rc->greylist_source, sizeof(rc->greylist_source),
		    "x-greylist");
		/* postgrey: "delayed 8 seconds by postgrey-1.37 at mx; ..." */
		if ((d = strcasestr(xg, "delayed ")) != NULL) {
			secs = strtol(d + 8, &end, 10);
			if (end != d + 8 && secs >= 0 && secs < 86400 * 30)
				rc->greylist_delay = secs;
		}
	}
	if (rc->n >= 2 && rc->hop[0].at && rc->hop[1].at) {
		secs = (long)(rc->hop[1].at - rc->hop[0].at);
		if (!rc->greylisted && secs >= GREYLIST_DWELL_MIN) {
			rc->greylisted = 1;
			snprintf(rc->greylist_source,
			    sizeof(rc->greylist_source), "received");
		}
		if (rc->greylisted && rc->greylist_delay < 0 && secs >= 0)
			rc->greylist_delay = secs;
	}
}

int
message_compose(const char *probe, const char *from, const char *to,
    int fresh, const char *token, time_t now, struct buf *out, char *rcpt,
    size_t rcptlen, struct mc_error *err)
{
	const char *at = strchr(to, '@'), *fdom = strchr(from, '@');
	char date[64];
	struct tm tm;
	int n;

	if (config_check_name("probe name", probe, err) == -1 ||
	    config_check_address("from", from, err) == -1 ||
	    config_check_address("to", to, err) == -1)
		return -1;
	if (fresh)
		n = snprintf(rcpt, rcptlen, "%.*s+%s%s", (int)(at - to), to,
		    token, at);
	else
		n = snprintf(rcpt, rcptlen, "%s", to);
	if (n < 0 || (size_t)n >= rcptlen || (fresh && at - to + 1 +
	    (long)strlen(token) > 64))
		return error_set(err, MC_ERR_CONFIG,
		    "recipient '%s' with the token is too "
		    "long for an address", to);
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	buf_reset(out);
	buf_addf(out,
	    "Date: %s\r\n"
	    "From: <%s>\r\n"
	    "To: <%s>\r\n"
	    "Subject: mailcanary %s %s\r\n"
	    "Message-ID: <mailcanary.%s@%s>\r\n"
	    "X-Mailcanary-Token: %s\r\n"
	    "X-Mailcanary-Probe: %s\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "This is a mailcanary test message (a \"canary\") sent by the\r\n"
	    "probe \"%s\" to check that mail sent through this route really\r\n"
	    "arrives, and how long it takes.\r\n"
	    "\r\n"
	    "mailcanary finds this message again in the test mailbox and\r\n"
	    "deletes it. If you are reading it, it may be deleted; if it\r\n"
	    "came back to you as a bounce, the bounce tells what went wrong.\r\n"
	    "\r\n"
	    "Token: %s\r\n",
	    date, from, rcpt, probe, token, token, fdom + 1, token, probe,
	    probe, token);
	if (out->overflow)
		return error_set(err, MC_ERR_LIMIT,
		    "canary message is too large");
	return 0;
}
