/*
 * range.c - threshold range parsing and checking. Numbers go through
 * strtod with an end-pointer check; nothing after the range is allowed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

static int
range_number(const char *s, size_t len, double *out)
{
	char tmp[40], *end;
	double v;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	/* strtod accepts hex, inf and nan: a threshold is a plain decimal. */
	if (strspn(tmp, "+-0123456789.") != len)
		return -1;
	errno = 0;
	v = strtod(tmp, &end);
	if (errno || end != tmp + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
range_parse(struct range *r, const char *s, struct mc_error *err)
{
	const char *p = s, *colon;
	size_t len = strlen(s);

	memset(r, 0, sizeof(*r));
	if (len == 0 || len >= sizeof(r->text))
		return error_set(err, MC_ERR_CONFIG,
		    "bad threshold range '%s'", s);
	memcpy(r->text, s, len + 1);
	if (*p == '@') {
		r->inside = 1;
		p++;
	}
	if ((colon = strchr(p, ':')) == NULL) {
		r->start = 0;
		if (range_number(p, strlen(p), &r->end) == -1)
			goto bad;
	} else {
		if (colon - p == 1 && *p == '~')
			r->start_inf = 1;
		else if (range_number(p, (size_t)(colon - p), &r->start) == -1)
			goto bad;
		if (colon[1] == '\0')
			r->end_inf = 1;
		else if (range_number(colon + 1, strlen(colon + 1),
		    &r->end) == -1)
			goto bad;
	}
	if (r->start_inf && r->end_inf)
		goto bad;		/* "~:" bounds nothing */
	if (!r->start_inf && !r->end_inf && r->start > r->end)
		return error_set(err, MC_ERR_CONFIG,
		    "bad threshold range '%s': start is "
		    "greater than end", s);
	return 0;
bad:
	return error_set(err, MC_ERR_CONFIG,
	    "bad threshold range '%s' (want N, N:, ~:N, "
	    "N:M or @N:M)", s);
}

int
range_alert(const struct range *r, double v)
{
	int outside = 0;

	if (!r->start_inf && v < r->start)
		outside = 1;
	if (!r->end_inf && v > r->end)
		outside = 1;
	return r->inside ? !outside : outside;
}
