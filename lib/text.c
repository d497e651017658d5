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
