/*
 * text.c - making text from outside safe for JSON without losing it.
 */
#include <stdlib.h>
#include <string.h>

#include "text.h"

json_t *
text_json(const char *s)
{
	unsigned char *p;
	json_t *j;
	char *c;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	if ((c = strdup(s)) == NULL)
		return json_null();
	for (p = (unsigned char *)c; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j ? j : json_null();
}

const char *
text_skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return p;
}

void
text_sanitize(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == '|')
			*p = '/';
		else if (*p >= 0x80)
			*p = '?';
	}
}
