/*
 * ndr_mime.c - the MIME side of the bounce reader: reads a message into
 * a struct ndr_mime (ndr_int.h) of plain strings, and is the only part of
 * the reader that knows GMime.
 *
 * Bounces are hostile input, so the structure is GMime's (a well fuzzed
 * parser, not a home-made one), and GMime only sees a message that
 * mimescan.c's raw-byte pass found within its caps. The walk over
 * GMime's tree picks out what a report is made of (RFC 6522): the
 * multipart/report and its report-type, the first message/delivery-status
 * (RFC 3464) or message/global-delivery-status (RFC 6533), the returned
 * original (message/rfc822, or its headers alone as text/rfc822-headers),
 * the text for a person with transfer encoding and charset undone, and
 * whether it is a read receipt (RFC 8098) instead. Every part it copies
 * is capped; passing a cap is said, never silently cut.
 */
#include <gmime/gmime.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deadline.h"
#include "mimescan.h"
#include "ndr_int.h"

_Static_assert(sizeof(((struct ndr_mime *)0)->limit) >=
    sizeof(((struct mimescan_result *)0)->why),
    "ndr_mime.limit holds any reason mimescan gives");

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* Where the walk is; what it finds goes to m. */
struct walk {
	struct ndr_mime	*m;
	int		 parts;
	int		 too_deep;
	int		 too_many;
	int		 interrupted;	/* the run's deadline or a signal */
};

/*
 * The decoded content of a part, at most cap bytes: transfer encoding
 * undone, and with to_utf8 the charset converted as GMime does for text
 * parts. It reads through filters into a capped buffer, so a large part
 * costs cap bytes, never its own size. Returns NULL with *too_big set when
 * there is more than cap, or NULL when it cannot be read.
 */
static char *
part_bytes(GMimePart *part, size_t cap, int to_utf8, int *too_big)
{
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	GMimeStream *filtered;
	GMimeFilter *f;
	const char *charset;
	struct buf b;
	char chunk[16384];
	ssize_t n;

	*too_big = 0;
	if (dw == NULL || g_mime_data_wrapper_get_stream(dw) == NULL)
		return NULL;
	g_mime_stream_reset(g_mime_data_wrapper_get_stream(dw));
	filtered = g_mime_stream_filter_new(g_mime_data_wrapper_get_stream(dw));
	f = g_mime_filter_basic_new(g_mime_data_wrapper_get_encoding(dw), FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
	g_object_unref(f);
	charset = to_utf8 ? g_mime_object_get_content_type_parameter(
	    GMIME_OBJECT(part), "charset") : NULL;
	if (charset != NULL && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
	    g_ascii_strcasecmp(charset, "us-ascii") != 0 &&
	    (f = g_mime_filter_charset_new(charset, "utf-8")) != NULL) {
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
		g_object_unref(f);
	}
	buf_init(&b, cap);
	while ((n = g_mime_stream_read(filtered, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) == -1) {
			*too_big = 1;
			break;
		}
	g_object_unref(filtered);
	if (*too_big) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/*
 * One object of the tree, and below it. in_original: inside a returned
 * original, whose parts are read only for the token and never taken for
 * the report's own.
 */
static void	walk(GMimeObject *, int, int, struct walk *);

static void
walk_multipart(GMimeObject *obj, GMimeContentType *ct, int depth,
    int in_original, struct walk *w)
{
	int i, n;

	/* RFC 6522 section 3: report-type names the second part. */
	if (!in_original && g_mime_content_type_is_type(ct, "multipart",
	    "report")) {
		const char *rt = g_mime_content_type_get_parameter(ct,
		    "report-type");

		if (rt && strcasecmp(rt, "delivery-status") == 0)
			w->m->report = 1;
		if (rt && strcasecmp(rt, "disposition-notification") == 0)
			w->m->mdn = 1;
	}
	n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
	for (i = 0; i < n && !w->too_many && !w->too_deep && !w->interrupted;
	    i++)
		walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
		    depth + 1, in_original, w);
}

/* A message/rfc822 inside: its headers, and its text for the token. */
static void
walk_message(GMimeObject *obj, int depth, int in_original, struct walk *w)
{
	GMimeMessage *inner = g_mime_message_part_get_message(
	    GMIME_MESSAGE_PART(obj));
	char *hdrs;

	if (inner == NULL)
		return;
	hdrs = g_mime_object_get_headers(GMIME_OBJECT(inner), NULL);
	if (hdrs != NULL) {
		if (!in_original && w->m->orig == NULL)
			w->m->orig = strdup(hdrs);
		buf_addstr(&w->m->all, hdrs);
		g_free(hdrs);
	}
	/* A returned original: only its text, for the token. */
	walk(g_mime_message_get_mime_part(inner), depth + 1, 1, w);
}

/*
 * A text part, converted to UTF-8. The report's own text is capped and
 * passing the cap is said; of a returned original only the headers
 * matter (the token), so its text is read as far as the cap and the
 * rest left alone.
 */
static void
walk_text(GMimeObject *obj, int in_original, struct walk *w)
{
	struct ndr_mime *m = w->m;
	char *t;
	int big;

	t = part_bytes(GMIME_PART(obj), NDR_TEXT_MAX, 1, &big);
	if (big && !in_original)
		m->over = "a text part of the report larger than the reader "
		    "takes (the cap is 1048576 bytes)";
	if (t == NULL)
		return;
	if (!in_original && buf_addf(&m->text, "%s\n", t) == -1)
		m->over = "more report text than the reader takes (the cap "
		    "is 1048576 bytes)";
	buf_addf(&m->all, "%s\n", t);
	free(t);
}

/* A leaf: a delivery-status, returned headers, a receipt or text. */
static void
walk_part(GMimeObject *obj, GMimeContentType *ct, int in_original,
    struct walk *w)
{
	struct ndr_mime *m = w->m;
	char *h;
	int big;

	if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message",
	    "global-delivery-status")) {
		if (!in_original && m->dsn == NULL) {
			m->dsn = part_bytes(GMIME_PART(obj), NDR_TEXT_MAX, 0,
			    &big);
			if (big)
				m->over = "a delivery-status part larger than "
				    "the reader takes (the cap is 1048576 "
				    "bytes)";
		}
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	    g_mime_content_type_is_type(ct, "message", "rfc822-headers")) {
		/* message/rfc822-headers is not registered, but is sent. */
		if ((h = part_bytes(GMIME_PART(obj), NDR_TEXT_MAX, 0,
		    &big)) == NULL)
			return;
		buf_addstr(&m->all, h);
		if (!in_original && m->orig == NULL)
			m->orig = h;
		else
			free(h);
	} else if (g_mime_content_type_is_type(ct, "message",
	    "disposition-notification")) {
		m->mdn = 1;
	} else if (GMIME_IS_TEXT_PART(obj) &&
	    !g_mime_content_type_is_type(ct, "text", "html")) {
		walk_text(obj, in_original, w);
	}
}

static void
walk(GMimeObject *obj, int depth, int in_original, struct walk *w)
{
	GMimeContentType *ct;

	if (obj == NULL)
		return;
	if (depth > NDR_DEPTH_MAX) {
		w->too_deep = 1;
		return;
	}
	if (deadline_expired()) {
		w->interrupted = 1;
		return;
	}
	if (++w->parts > NDR_PARTS_MAX) {
		w->too_many = 1;
		return;
	}
	ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART(obj))
		walk_multipart(obj, ct, depth, in_original, w);
	else if (GMIME_IS_MESSAGE_PART(obj))
		walk_message(obj, depth, in_original, w);
	else if (GMIME_IS_PART(obj))
		walk_part(obj, ct, in_original, w);
}

/*
 * The pre-scan (mimescan.c) over the whole stream: a message past one of
 * its caps never reaches GMime's parser. Checks the deadline per chunk.
 * Returns 0 to go on, 1 when a cap passed (m->limit says which; Subject
 * and From are kept, what a person needs to find the message), -1 when
 * interrupted.
 */
static int
prescan(GMimeStream *stream, struct ndr_mime *m, struct mc_error *err)
{
	const struct mimescan_result *res;
	struct mimescan *ms;
	char chunk[65536];
	ssize_t n;
	int rc = 0;

	if ((ms = mimescan_new()) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	while ((n = g_mime_stream_read(stream, chunk, sizeof(chunk))) > 0) {
		if (deadline_expired()) {
			mimescan_free(ms);
			return error_set(err, deadline_signal ? MC_ERR_SIGNAL :
			    MC_ERR_TIMEOUT,
			    "%s while reading a message",
			    deadline_signal ? "terminated by a signal" :
			    "ran out of time");
		}
		if (mimescan_push(ms, chunk, (size_t)n) == -1)
			break;
	}
	res = mimescan_finish(ms);
	if (res->over) {
		char *v;

		if (res->subject[0] && (v = g_mime_utils_header_decode_text(
		    NULL, res->subject)) != NULL) {
			ndr_set(&m->subject, g_strstrip(v));
			g_free(v);
		}
		if (res->from[0] && (v = g_mime_utils_header_decode_text(NULL,
		    res->from)) != NULL) {
			ndr_set(&m->from, g_strstrip(v));
			g_free(v);
		}
		snprintf(m->limit, sizeof(m->limit), "%s", res->why);
		m->report = res->report;
		rc = 1;
	}
	mimescan_free(ms);
	return rc;
}

/* Pre-scan, parse, walk. Returns 0 or -1 (err set, nothing held). */
static int
read_stream(GMimeStream *stream, struct ndr_mime *m, struct mc_error *err)
{
	GMimeParser *parser;
	GMimeMessage *msg;
	struct walk w;
	const char *v;
	int rc;

	memset(m, 0, sizeof(*m));
	buf_init(&m->text, NDR_TEXT_MAX);
	buf_init(&m->all, NDR_TEXT_MAX);
	deadline_step("reading a bounce");
	if ((rc = prescan(stream, m, err)) == 1)
		return 0;
	if (rc == -1)
		goto fail;
	if (g_mime_stream_reset(stream) == -1) {
		error_set(err, MC_ERR_FILE, "cannot rewind the message");
		goto fail;
	}
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	msg = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	if (msg == NULL) {
		error_set(err, MC_ERR_INPUT, "not a message: no header block");
		goto fail;
	}
	if ((v = g_mime_message_get_subject(msg)) != NULL)
		ndr_set(&m->subject, v);
	if ((v = g_mime_object_get_header(GMIME_OBJECT(msg), "From")) != NULL)
		ndr_set(&m->from, v);
	if ((v = g_mime_object_get_header(GMIME_OBJECT(msg),
	    "X-Failed-Recipients")) != NULL)
		ndr_set(&m->xfailed, v);
	memset(&w, 0, sizeof(w));
	w.m = m;
	walk(g_mime_message_get_mime_part(msg), 0, 0, &w);
	if (w.interrupted || deadline_expired()) {
		g_object_unref(msg);
		error_set(err, deadline_signal ? MC_ERR_SIGNAL : MC_ERR_TIMEOUT,
		    "%s while reading a message", deadline_signal ?
		    "terminated by a signal" : "ran out of time");
		goto fail;
	}
	if (w.too_deep || w.too_many)
		snprintf(m->limit, sizeof(m->limit), "%s", w.too_deep ?
		    "MIME nesting deeper than the cap" :
		    "more MIME parts than the cap");
	g_object_unref(msg);
	return 0;
fail:
	ndr_mime_clear(m);
	return -1;
}

int
ndr_mime_read(const char *buf, size_t len, struct ndr_mime *m,
    struct mc_error *err)
{
	GMimeStream *stream;
	int rc;

	pthread_once(&gmime_once, g_mime_init);
	stream = g_mime_stream_mem_new_with_buffer(buf, len);
	rc = read_stream(stream, m, err);
	g_object_unref(stream);
	return rc;
}

int
ndr_mime_read_fd(int fd, struct ndr_mime *m, struct mc_error *err)
{
	GMimeStream *stream;
	int d, rc;

	pthread_once(&gmime_once, g_mime_init);
	if ((d = dup(fd)) == -1)
		return error_set(err, MC_ERR_FILE,
		    "cannot read the message: %s",
		    strerror(errno));
	if (lseek(d, 0, SEEK_SET) == -1) {
		close(d);
		return error_set(err, MC_ERR_FILE,
		    "cannot rewind the message: %s",
		    strerror(errno));
	}
	/* Owns d; parts become windows on the file, never copies. */
	stream = g_mime_stream_fs_new(d);
	rc = read_stream(stream, m, err);
	g_object_unref(stream);
	return rc;
}

void
ndr_mime_clear(struct ndr_mime *m)
{
	free(m->subject);
	free(m->from);
	free(m->xfailed);
	free(m->dsn);
	free(m->orig);
	buf_free(&m->text);
	buf_free(&m->all);
	memset(m, 0, sizeof(*m));
}
