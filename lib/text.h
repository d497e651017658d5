/*
 * text.h - text from mail and servers: on its way into JSON, and the
 * comments of RFC 5322 that header grammars skip.
 */
#ifndef MC_TEXT_H
#define MC_TEXT_H

#include <jansson.h>

/*
 * A JSON string of s (null for NULL), new reference. Jansson takes only
 * UTF-8; a report with 8-bit junk is kept with those bytes as '?', never
 * dropped.
 */
json_t	*text_json(const char *s);
/*
 * p points at '(': returns the first byte after that RFC 5322 3.2.2
 * comment (nested, with quoted-pairs), or the end of the string when it
 * is not closed.
 */
const char *text_skip_comment(const char *p);
/*
 * Makes s safe for a status line, in place: control characters become
 * spaces, '|' (the perfdata separator) '/', 8-bit bytes '?'.
 */
void	text_sanitize(char *s);

#endif
