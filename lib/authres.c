/*
 * authres.c - a parser of Authentication-Results (RFC 8601) of our own,
 * and the choice of which fields of a delivered copy to believe.
 *
 * No C library on Debian parses RFC 8601: GMime 3 reads header fields
 * but has no parser for this one, OpenDKIM and OpenDMARC carry private
 * ones inside their filters. Ours walks the value once with a cursor
 * that only moves forward and stops at the NUL, copies every word into
 * a fixed buffer (cut at its cap), and skips a result it cannot read to
 * the next ';', as a receiver must not lose the results after one odd
 * entry (RFC 8601 2.7: unknown methods and properties are ignored).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "message.h"
#include "text.h"

static const char *const method_names[AUTHRES_NMETHODS] = {
	[AUTHRES_SPF] = "spf",
	[AUTHRES_DKIM] = "dkim",
	[AUTHRES_DMARC] = "dmarc"
};

static const char *const result_names[] = {
	[AUTHRES_NONE] = "none",
	[AUTHRES_PASS] = "pass",
	[AUTHRES_FAIL] = "fail",
	[AUTHRES_SOFTFAIL] = "softfail",
	[AUTHRES_NEUTRAL] = "neutral",
	[AUTHRES_TEMPERROR] = "temperror",
	[AUTHRES_PERMERROR] = "permerror",
	[AUTHRES_POLICY] = "policy",
	[AUTHRES_UNKNOWN] = "unknown",
	[AUTHRES_MISSING] = "missing"
};

const char *
authres_method_name(int m)
{
	return m >= 0 && m < AUTHRES_NMETHODS ? method_names[m] : "?";
}

const char *
authres_result_name(int r)
{
	return r >= AUTHRES_NONE && r <= AUTHRES_MISSING ? result_names[r] :
	    "unknown";
}

int
authres_result_parse(const char *s)
{
	int r;

	for (r = AUTHRES_NONE; r <= AUTHRES_MISSING; r++)
		if (strcmp(s, result_names[r]) == 0)
			return r;
	return -1;
}

void
authres_init(struct authres *a)
{
	int m;

	memset(a, 0, sizeof(*a));
	for (m = 0; m < AUTHRES_NMETHODS; m++)
		a->result[m] = AUTHRES_MISSING;
}

int
authres_all_pass(const struct authres *a)
{
	int m;

	for (m = 0; m < AUTHRES_NMETHODS; m++)
		if (a->result[m] != AUTHRES_PASS)
			return 0;
	return 1;
}

/* Appends c to out (of size outlen, *n used), dropping what passes. */
static void
put(char *out, size_t outlen, size_t *n, char c)
{
	if (*n + 1 < outlen)
		out[(*n)++] = c;
	out[*n] = '\0';
}

/*
 * Skips CFWS. The text of the first comment met is copied into comment
 * when that is still empty (comment NULL: not kept), blanks collapsed.
 */
static void
cfws(const char **pp, char *comment, size_t clen)
{
	const char *p = *pp, *end, *q;
	size_t n;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			break;
		end = text_skip_comment(p);
		if (comment != NULL && comment[0] == '\0') {
			n = 0;
			/* Between the outer parentheses, quoted-pairs
			 * unquoted. */
			for (q = p + 1; q < end && *q; q++) {
				if (q == end - 1 && *q == ')')
					break;
				if (*q == '\\' && q + 1 < end && q[1])
					q++;
				if (isspace((unsigned char)*q)) {
					if (n > 0 && comment[n - 1] != ' ')
						put(comment, clen, &n, ' ');
				} else {
					put(comment, clen, &n, *q);
				}
			}
			while (n > 0 && comment[n - 1] == ' ')
				comment[--n] = '\0';
		}
		p = end;
	}
	*pp = p;
}

/* A Keyword (letters, digits, '-', '_'), lower-cased into out; 0 or -1
 * for none. */
static int
keyword(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	out[0] = '\0';
	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_') {
		put(out, outlen, &n, (char)tolower((unsigned char)*p));
		p++;
	}
	if (p == *pp)
		return -1;
	*pp = p;
	return 0;
}

/* A quoted-string at '"': its content into out (n used). */
static void
quoted(const char **pp, char *out, size_t outlen, size_t *n)
{
	const char *p = *pp + 1;

	while (*p && *p != '"') {
		if (*p == '\\' && p[1])
			p++;
		put(out, outlen, n, *p);
		p++;
	}
	if (*p == '"')
		p++;
	*pp = p;
}

/* MIME token characters: no space, control or tspecial. */
static int
token_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* value = token / quoted-string. 0, or -1 for neither. */
static int
value(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	out[0] = '\0';
	if (*p == '"') {
		quoted(&p, out, outlen, &n);
	} else {
		while (token_char((unsigned char)*p))
			put(out, outlen, &n, *p++);
		if (p == *pp)
			return -1;
	}
	*pp = p;
	return 0;
}

/*
 * pvalue: a value, or [[local-part] "@"] domain-name: everything up to
 * a blank, ';' or '(' outside a quoted-string. 0, or -1 when empty.
 */
static int
pvalue(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	out[0] = '\0';
	while (*p && !isspace((unsigned char)*p) && *p != ';' && *p != '(') {
		if (*p == '"')
			quoted(&p, out, outlen, &n);
		else if ((unsigned char)*p < 32 || *p == 127 || *p == ')')
			break;
		else
			put(out, outlen, &n, *p++);
	}
	if (p == *pp)
		return -1;
	*pp = p;
	return 0;
}

/* Past the next ';' outside comments and quoted-strings, or to the end. */
static void
skip_resinfo(const char **pp)
{
	const char *p = *pp;
	char scratch[2];
	size_t n = 0;

	while (*p && *p != ';') {
		if (*p == '(')
			p = text_skip_comment(p);
		else if (*p == '"')
			quoted(&p, scratch, sizeof(scratch), &n);
		else
			p++;
	}
	*pp = p;
}

/* Digits, at most 9 of them kept: a version. */
static int
digits(const char **pp, long *out)
{
	const char *p = *pp;
	long v = 0;
	int k = 0;

	while (isdigit((unsigned char)*p)) {
		if (k++ < 9)
			v = v * 10 + (*p - '0');
		p++;
	}
	if (p == *pp)
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

/*
 * One resinfo after its ';': methodspec [reasonspec] [propspec...].
 * 0 with r filled, -1 when it does not read (the cursor is then
 * somewhere inside it; the caller skips to the next ';').
 */
static int
resinfo(const char **pp, struct authres_resinfo *r)
{
	char word[AUTHRES_WORD_MAX + 1];
	struct authres_prop *pr;
	const char *p = *pp;
	long ver;

	memset(r, 0, sizeof(*r));
	cfws(&p, NULL, 0);
	if (keyword(&p, r->method, sizeof(r->method)) == -1)
		return -1;
	cfws(&p, NULL, 0);
	if (*p == '/') {		/* method-version */
		p++;
		cfws(&p, NULL, 0);
		if (digits(&p, &ver) == -1)
			return -1;
		cfws(&p, NULL, 0);
	}
	if (*p != '=')
		return -1;
	p++;
	cfws(&p, NULL, 0);
	if (keyword(&p, r->result, sizeof(r->result)) == -1)
		return -1;
	cfws(&p, r->comment, sizeof(r->comment));
	while (*p && *p != ';') {
		if (keyword(&p, word, sizeof(word)) == -1)
			return -1;
		cfws(&p, r->comment, sizeof(r->comment));
		if (*p == '=' && strcmp(word, "reason") == 0) {
			p++;
			cfws(&p, r->comment, sizeof(r->comment));
			if (value(&p, r->reason, sizeof(r->reason)) == -1)
				return -1;
		} else if (*p == '.') {
			p++;
			cfws(&p, NULL, 0);
			pr = r->nprops < AUTHRES_PROPS_MAX ?
			    &r->prop[r->nprops] : NULL;
			if (pr != NULL)
				snprintf(pr->ptype, sizeof(pr->ptype), "%s",
				    word);
			if (keyword(&p, word, sizeof(word)) == -1)
				return -1;
			cfws(&p, NULL, 0);
			if (*p != '=')
				return -1;
			p++;
			cfws(&p, r->comment, sizeof(r->comment));
			if (pr != NULL) {
				snprintf(pr->property, sizeof(pr->property),
				    "%s", word);
				if (pvalue(&p, pr->value,
				    sizeof(pr->value)) == -1)
					return -1;
				r->nprops++;
			} else if (pvalue(&p, word, sizeof(word)) == -1) {
				return -1;
			}
		} else {
			return -1;
		}
		cfws(&p, r->comment, sizeof(r->comment));
	}
	*pp = p;
	return 0;
}

int
authres_parse(const char *v, struct authres_field *f)
{
	struct authres_resinfo *r;
	const char *p = v, *q;
	char word[AUTHRES_WORD_MAX + 1];

	memset(f, 0, sizeof(*f));
	f->version = 1;
	cfws(&p, NULL, 0);
	if (value(&p, f->authserv_id, sizeof(f->authserv_id)) == -1 ||
	    f->authserv_id[0] == '\0')
		return -1;
	cfws(&p, NULL, 0);
	if (isdigit((unsigned char)*p)) {
		if (digits(&p, &f->version) == -1)
			return -1;
		cfws(&p, NULL, 0);
	}
	while (*p) {
		if (*p != ';') {
			/* Junk where a ';' belongs: the rest is not read. */
			f->skipped++;
			break;
		}
		p++;
		cfws(&p, NULL, 0);
		q = p;
		if (keyword(&q, word, sizeof(word)) == 0 &&
		    strcmp(word, "none") == 0) {
			cfws(&q, NULL, 0);
			if (*q == '\0' || *q == ';') {
				f->none = 1;
				p = q;
				continue;
			}
		}
		if (*p == '\0' || *p == ';')
			continue;		/* an empty entry */
		r = &f->r[f->n < AUTHRES_RESINFO_MAX ? f->n :
		    AUTHRES_RESINFO_MAX - 1];
		if (f->n < AUTHRES_RESINFO_MAX && resinfo(&p, r) == 0) {
			f->n++;
		} else {
			f->skipped++;
			if (f->n < AUTHRES_RESINFO_MAX)
				memset(r, 0, sizeof(*r));
			skip_resinfo(&p);
		}
	}
	return f->n > 0 || f->none ? 0 : -1;
}

static int
method_index(const char *name)
{
	int m;

	for (m = 0; m < AUTHRES_NMETHODS; m++)
		if (strcmp(name, method_names[m]) == 0)
			return m;
	return -1;
}

/* The result word as kept: RFC 8601's results, the old "hardfail" of
 * SPF as fail, anything else unknown. */
static int
result_of(const char *word)
{
	int r;

	if (strcmp(word, "hardfail") == 0)
		return AUTHRES_FAIL;
	r = authres_result_parse(word);
	return r == -1 || r == AUTHRES_MISSING ? AUTHRES_UNKNOWN : r;
}

/*
 * The results of one trusted field, where a method has none yet. A
 * message may carry several DKIM signatures (its domain's and a
 * relay's): one that passes is what counts, so a later pass replaces an
 * earlier result that is not one; otherwise the first result wins.
 */
static void
take(const struct authres_field *f, struct authres *out)
{
	const struct authres_resinfo *r;
	size_t i;
	int m;

	for (i = 0; i < f->n; i++) {
		r = &f->r[i];
		if ((m = method_index(r->method)) == -1)
			continue;
		if (out->result[m] != AUTHRES_MISSING &&
		    (out->result[m] == AUTHRES_PASS ||
		    result_of(r->result) != AUTHRES_PASS))
			continue;
		out->result[m] = result_of(r->result);
		snprintf(out->reason[m], sizeof(out->reason[m]), "%s",
		    r->reason[0] ? r->reason : r->comment);
		text_sanitize(out->reason[m]);
	}
}

void
authres_read(const struct headers *h, const char *authserv_id,
    struct authres *out)
{
	struct authres_field *f;
	size_t i, looked = 0;
	int started = 0;

	authres_init(out);
	if (authserv_id == NULL || authserv_id[0] == '\0')
		return;
	out->checked = 1;
	if ((f = malloc(sizeof(*f))) == NULL)
		return;
	/* Fields are newest first: the receiving server's are on top. */
	for (i = 0; i < h->n; i++) {
		if (started && strcasecmp(h->f[i].name, "Received") == 0)
			break;
		if (strcasecmp(h->f[i].name, "Authentication-Results") != 0)
			continue;
		if (++looked > AUTHRES_FIELDS_MAX)
			break;
		if (authres_parse(h->f[i].value, f) == -1 ||
		    strcasecmp(f->authserv_id, authserv_id) != 0)
			continue;
		started = 1;
		take(f, out);
	}
	free(f);
}
