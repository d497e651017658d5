/*
 * text.h - text from mail and servers on its way into JSON.
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

#endif
