/*
 * fuzz_ndr.c - libFuzzer target for the bounce reader: GMime's MIME
 * parsing under our walk, RFC 3464 groups, the text formats, the JSON.
 * Seeded with every message of the NDR corpus.
 *
 * It also holds the pre-scan (mimescan.c) to its promise: whenever the
 * scan lets a message through, GMime's tree of it stays within the caps
 * (at most the top, one object per part and one per nested message). A
 * message that GMime splits where the scan did not look is a way around
 * the caps, and aborts here; a miscount by a part or two within the caps
 * costs nothing and is left to the walk's own cap.
 */
#include <gmime/gmime.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "mimescan.h"
#include "ndr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
tree_size(GMimeObject *o, int depth)
{
	size_t n = 1;
	int i;

	if (o == NULL || depth > 200)
		return 0;
	if (GMIME_IS_MULTIPART(o)) {
		for (i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o));
		    i++)
			n += tree_size(g_mime_multipart_get_part(
			    GMIME_MULTIPART(o), i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(o));

		if (m != NULL)
			n += tree_size(g_mime_message_get_mime_part(m),
			    depth + 1);
	}
	return n;
}

static void
check_prescan(const uint8_t *data, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const struct mimescan_result *res;
	struct mimescan *ms;
	GMimeStream *st;
	GMimeParser *p;
	GMimeMessage *msg;
	size_t n;

	if ((ms = mimescan_new()) == NULL)
		return;
	mimescan_push(ms, (const char *)data, len);
	res = mimescan_finish(ms);
	if (!res->over) {
		pthread_once(&once, g_mime_init);
		st = g_mime_stream_mem_new_with_buffer((const char *)data, len);
		p = g_mime_parser_new_with_stream(st);
		msg = g_mime_parser_construct_message(p, NULL);
		if (msg != NULL) {
			n = tree_size(g_mime_message_get_mime_part(msg), 0);
			if (n > 1 + res->parts + res->messages &&
			    n > 1 + MIMESCAN_PARTS_MAX + MIMESCAN_MESSAGES_MAX)
				abort();	/* GMime saw what the scan missed */
			g_object_unref(msg);
		}
		g_object_unref(p);
		g_object_unref(st);
	}
	mimescan_free(ms);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ndr_report rep;
	struct mc_error err;
	json_t *o;
	char *s;

	check_prescan(data, len);
	if (ndr_parse((const char *)data, len, &rep, &err) == 0) {
		o = ndr_report_json(&rep);
		s = json_dumps(o, JSON_COMPACT);
		if (s == NULL)
			abort();	/* every report must serialise */
		free(s);
		json_decref(o);
		ndr_report_clear(&rep);
	}
	return 0;
}
