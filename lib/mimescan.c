/*
 * mimescan.c - the raw-byte pass that bounds a bounce before GMime sees
 * it (see mimescan.h for why).
 *
 * It follows the structure of RFC 2045/2046 as far as counting needs: a
 * header block at the top, after every delimiter line of a multipart and
 * after the header block of a message/rfc822 part; a body everywhere
 * else. A delimiter is a body line that starts with "--" and a boundary
 * declared anywhere before (prefix match, like GMime's scanner, so a
 * delimiter is never missed; a line counted that GMime would not take is
 * only a stricter cap). Only the first MIMESCAN_LINE_KEEP bytes of a line
 * are kept; the rest is counted, so memory is fixed whatever the lines.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimescan.h"
#include "text.h"

#define MIMESCAN_LINE_KEEP	1024	/* enough for any boundary */
#define MIMESCAN_BOUNDARY_LEN	200	/* RFC 2046 5.1.1 allows 70 */

enum field_kind { F_NONE, F_CTYPE, F_SUBJECT, F_FROM, F_OTHER };

struct mimescan {
	struct mimescan_result	 res;
	int			 in_header;
	int			 top;		/* in the top header block */
	int			 next_message;	/* body is a message */
	char			 line[MIMESCAN_LINE_KEEP + 1];
	size_t			 keep;		/* bytes of line kept */
	size_t			 len;		/* bytes of line seen */
	enum field_kind		 kind;		/* field being collected */
	char			 field[MIMESCAN_FIELD_MAX];
	size_t			 flen;
	char			*boundary[MIMESCAN_BOUNDARIES_MAX];
	size_t			 blen[MIMESCAN_BOUNDARIES_MAX];
};

struct mimescan *
mimescan_new(void)
{
	struct mimescan *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->in_header = 1;
	s->top = 1;
	return s;
}

struct mimescan *
mimescan_free(struct mimescan *s)
{
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < s->res.boundaries; i++)
		free(s->boundary[i]);
	free(s);
	return NULL;
}

static void
over(struct mimescan *s, const char *why, long cap)
{
	if (s->res.over)
		return;
	s->res.over = 1;
	snprintf(s->res.why, sizeof(s->res.why), "%s (the cap is %ld)", why,
	    cap);
}

static void
field_add(struct mimescan *s, const char *p, size_t n)
{
	/* A Content-Type cut short could hide its boundary: refuse it. */
	if (s->kind == F_CTYPE && (n > sizeof(s->field) - 1 - s->flen ||
	    s->len > MIMESCAN_LINE_KEEP))
		over(s, "a Content-Type field longer than the reader takes",
		    MIMESCAN_FIELD_MAX);
	if (n > sizeof(s->field) - 1 - s->flen)
		n = sizeof(s->field) - 1 - s->flen;
	memcpy(s->field + s->flen, p, n);
	s->flen += n;
	s->field[s->flen] = '\0';
}

static void
boundary_add(struct mimescan *s, const char *b, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	if (n > MIMESCAN_BOUNDARY_LEN)
		n = MIMESCAN_BOUNDARY_LEN;
	for (i = 0; i < s->res.boundaries; i++)
		if (s->blen[i] == n && memcmp(s->boundary[i], b, n) == 0)
			return;
	if (s->res.boundaries == MIMESCAN_BOUNDARIES_MAX) {
		over(s, "more multipart boundaries than the reader takes",
		    MIMESCAN_BOUNDARIES_MAX);
		return;
	}
	if ((s->boundary[i] = malloc(n + 1)) == NULL) {
		over(s, "out of memory for a multipart boundary", 0);
		return;
	}
	memcpy(s->boundary[i], b, n);
	s->boundary[i][n] = '\0';
	s->blen[i] = n;
	s->res.boundaries++;
}

/* Skips blanks and (nested) comments, RFC 5322 3.2.2 CFWS. */
static const char *
skip_cfws(const char *p)
{
	for (;;) {
		/* Any control byte too: GMime takes a bare CR as a blank. */
		while (*p != '\0' && (unsigned char)*p <= ' ')
			p++;
		if (*p != '(')
			return p;
		p = text_skip_comment(p);
	}
}

/* Adds b[0..n) as a boundary, trailing blanks off (a shorter prefix
 * matches every delimiter line the longer one would). */
static void
boundary_trimmed(struct mimescan *s, const char *b, size_t n)
{
	while (n > 0 && (unsigned char)b[n - 1] <= ' ')
		n--;
	boundary_add(s, b, n);
}

/*
 * Every boundary parameter of a field, in every form GMime reads: a
 * token, a quoted string, comments around it, RFC 2231 (boundary*=
 * charset'language'value, and pieces boundary*0, boundary*1... joined in
 * order). Each plain boundary parameter counts on its own, so a repeated
 * one cannot hide the one GMime takes.
 */
static void
field_boundaries(struct mimescan *s, const char *v)
{
	char one[MIMESCAN_BOUNDARY_LEN + 1], pieces[MIMESCAN_BOUNDARY_LEN + 1];
	const char *p = v, *name, *q;
	size_t n, np = 0, nl;
	int ext, piece;

	while ((p = strchr(p, ';')) != NULL) {
		p = skip_cfws(p + 1);
		name = p;
		for (nl = 0; p[nl] != '\0' && (unsigned char)p[nl] > ' ' &&
		    strchr("=;(", p[nl]) == NULL; nl++)
			;
		p = skip_cfws(p + nl);
		if (*p != '=' || nl < 8 || strncasecmp(name, "boundary", 8))
			continue;
		if (nl > 8 && name[8] != '*')
			continue;		/* "boundaryx" is another */
		ext = nl > 8 && name[nl - 1] == '*';
		piece = nl > 9 && isdigit((unsigned char)name[9]);
		p = skip_cfws(p + 1);
		n = 0;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (n < sizeof(one) - 1)
					one[n++] = *p;
			}
		} else {
			for (q = p; *q != '\0' && (unsigned char)*q > ' ' &&
			    *q != ';' && *q != '('; q++)
				;
			/* charset'language'value: the value is after both. */
			if (ext && (name = memchr(p, '\'', (size_t)(q - p))) &&
			    (name = memchr(name + 1, '\'', (size_t)(q -
			    name - 1))))
				p = name + 1;
			for (; p < q; p++)
				if (n < sizeof(one) - 1)
					one[n++] = *p;
		}
		if (piece) {
			if (n > sizeof(pieces) - 1 - np)
				n = sizeof(pieces) - 1 - np;
			memcpy(pieces + np, one, n);
			np += n;
		} else {
			boundary_trimmed(s, one, n);
		}
	}
	if (np > 0)
		boundary_trimmed(s, pieces, np);
}

static void
field_end(struct mimescan *s)
{
	const char *v = s->field;
	size_t n;

	if (s->kind == F_NONE)
		return;
	/*
	 * A boundary is taken from any field that has one: GMime may read
	 * as Content-Type what is spelt oddly here, and a boundary learnt
	 * in vain only makes the count stricter.
	 */
	if (strcasestr(s->field, "boundary") != NULL)
		field_boundaries(s, s->field);
	if (s->kind == F_CTYPE) {
		v = skip_cfws(v);
		/* type/subtype: token characters (RFC 2045 5.1), as GMime
		 * stops at the first other byte. */
		for (n = 0; v[n] != '\0' && (isalnum((unsigned char)v[n]) ||
		    strchr("!#$%&'*+-.^_`{|}~/", v[n]) != NULL); n++)
			;
		if (s->top && n == 16 && strncasecmp(v, "multipart/report",
		    16) == 0)
			s->res.report = 1;
		if ((n == 14 && !strncasecmp(v, "message/rfc822", 14)) ||
		    (n == 15 && !strncasecmp(v, "message/rfc2822", 15)) ||
		    (n == 12 && !strncasecmp(v, "message/news", 12)) ||
		    (n == 14 && !strncasecmp(v, "message/global", 14))) {
			/* GMime parses the body as a message of its own. */
			s->next_message = 1;
			if (++s->res.messages > MIMESCAN_MESSAGES_MAX)
				over(s, "more nested messages than the reader "
				    "takes", MIMESCAN_MESSAGES_MAX);
		}
	} else if (s->kind == F_SUBJECT && !s->res.subject[0]) {
		memcpy(s->res.subject, s->field, s->flen + 1);
	} else if (s->kind == F_FROM && !s->res.from[0]) {
		memcpy(s->res.from, s->field, s->flen + 1);
	}
	s->kind = F_NONE;
	s->flen = 0;
	s->field[0] = '\0';
}

/* Whether l[0..n) is name, ignoring case and blanks before the colon
 * (the obsolete syntax of RFC 5322 4.5, which GMime takes). */
static int
name_is(const char *l, size_t n, const char *name)
{
	size_t len = strlen(name);

	while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	return n == len && strncasecmp(l, name, len) == 0;
}

static void
header_line(struct mimescan *s, const char *l, size_t keep)
{
	size_t n;

	if (++s->res.header_lines > MIMESCAN_HEADER_LINES_MAX)
		over(s, "more header lines than the reader takes",
		    MIMESCAN_HEADER_LINES_MAX);
	s->res.header_bytes += s->len + 1;
	if (s->res.header_bytes > MIMESCAN_HEADER_BYTES_MAX)
		over(s, "more header bytes than the reader takes",
		    MIMESCAN_HEADER_BYTES_MAX);
	if (keep > 0 && (l[0] == ' ' || l[0] == '\t')) {
		if (s->kind != F_NONE)
			field_add(s, l, keep);	/* folded: unfold */
		return;
	}
	field_end(s);
	/*
	 * Every line starts a field, even one GMime might not take as a
	 * header (no colon, 8-bit name, an mbox "From " line): its boundary
	 * parameters are learnt all the same.
	 */
	n = strcspn(l, ":");
	if (n < keep && name_is(l, n, "Content-Type"))
		s->kind = F_CTYPE;
	else if (n < keep && s->top && name_is(l, n, "Subject"))
		s->kind = F_SUBJECT;
	else if (n < keep && s->top && name_is(l, n, "From"))
		s->kind = F_FROM;
	else
		s->kind = F_OTHER;
	if (n < keep)
		field_add(s, l + n + 1, keep - n - 1);
	else
		field_add(s, l, keep);
}

/*
 * Whether a line is a delimiter of a boundary declared before: 0 no, 1 a
 * part starts, 2 the close delimiter. GMime checks its boundaries on every
 * line, in header blocks too (a part may end before its headers do).
 */
static int
delimiter(struct mimescan *s, const char *l, size_t keep)
{
	size_t i, bl;

	if (keep < 3 || l[0] != '-' || l[1] != '-')
		return 0;
	for (i = 0; i < s->res.boundaries; i++) {
		bl = s->blen[i];
		if (keep < 2 + bl || memcmp(l + 2, s->boundary[i], bl) != 0)
			continue;
		if (keep >= 4 + bl && l[2 + bl] == '-' && l[3 + bl] == '-')
			return 2;
		return 1;
	}
	return 0;
}

/* One whole line, its end of line removed. */
static void
line_done(struct mimescan *s)
{
	size_t keep = s->keep;
	int d;

	if (keep > 0 && s->line[keep - 1] == '\r' && keep == s->len) {
		keep--;
		s->len--;
	}
	s->line[keep] = '\0';
	/*
	 * Only an empty line ends a header block here. GMime may end one
	 * earlier, at a line it does not take as a header; then what it
	 * reads as body is counted here as header, against the stricter
	 * caps, so no delimiter GMime sees goes uncounted.
	 */
	if ((d = delimiter(s, s->line, keep)) != 0) {
		field_end(s);
		s->top = 0;
		s->next_message = 0;
		/* A part starts with its header block; after the close
		 * delimiter comes the epilogue, a body. */
		s->in_header = d == 1;
		if (d == 1 && ++s->res.parts > MIMESCAN_PARTS_MAX)
			over(s, "more MIME parts than the reader takes",
			    MIMESCAN_PARTS_MAX);
	} else if (!s->in_header) {
		/* Body text: nothing to count. */
	} else if (s->len == 0) {
		/* The end of a header block. */
		field_end(s);
		s->top = 0;
		s->in_header = s->next_message;
		s->next_message = 0;
	} else {
		header_line(s, s->line, keep);
	}
	s->keep = 0;
	s->len = 0;
}

int
mimescan_push(struct mimescan *s, const char *p, size_t n)
{
	const char *nl;
	size_t take;

	/* Past a cap, the top header block is still read for Subject/From. */
	while (n > 0 && (!s->res.over || s->top)) {
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) : n;
		if (s->keep < MIMESCAN_LINE_KEEP) {
			size_t k = take;

			if (k > MIMESCAN_LINE_KEEP - s->keep)
				k = MIMESCAN_LINE_KEEP - s->keep;
			memcpy(s->line + s->keep, p, k);
			s->keep += k;
		}
		s->len += take;
		if (nl == NULL)
			break;
		line_done(s);
		p = nl + 1;
		n -= take + 1;
	}
	return s->res.over && !s->top ? -1 : 0;
}

const struct mimescan_result *
mimescan_finish(struct mimescan *s)
{
	if ((!s->res.over || s->top) && (s->len > 0 || s->keep > 0))
		line_done(s);
	if (!s->res.over || s->top)
		field_end(s);
	return &s->res;
}
