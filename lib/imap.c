/*
 * imap.c - the IMAP handler of the mailbox module: scanning a folder for
 * new messages, deleting the canaries found, and parsing the replies
 * this needs. The connection, downloads and hand-off to the caller are
 * the core's (mailbox.c).
 *
 * STATUS gives UIDVALIDITY and UIDNEXT; when nothing is new the scan ends
 * there. UIDNEXT only says that something may be new: how far the scan
 * goes is the highest UID the server lists ("UID SEARCH UID *"), so a
 * UIDNEXT that jumps never carries the cursor past UIDs still to come. A
 * server-side UID SEARCH over the new UIDs picks the candidates (for
 * canaries: only the messages that carry X-Mailcanary-Probe), and
 * "UID FETCH n (... RFC822.SIZE)" sizes each before anything of it is
 * downloaded. libcurl passes the untagged lines of custom commands to
 * the write callback but drops literals, so message data is fetched
 * through ";UID=n;SECTION=..." URLs instead. Deletion is UID STORE
 * \Deleted then UID EXPUNGE of exactly those UIDs (RFC 4315).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "imap.h"
#include "log.h"
#include "mailbox_handler.h"
#include "message.h"
#include "sort.h"

/* What of the URL an IMAP scan needs (mb->proto). */
struct imap {
	char	*folder;	/* IMAP mailbox name */
	char	*folder_url;	/* base + escaped folder */
};

/* "KEY n" in one parenthesised STATUS list; KEY preceded by ( or space. */
static int
status_item(const char *list, size_t len, const char *key,
    unsigned long *out)
{
	size_t klen = strlen(key), i;
	const char *end;

	for (i = 1; i + klen < len; i++)
		if ((list[i - 1] == '(' || list[i - 1] == ' ') &&
		    strncasecmp(list + i, key, klen) == 0 &&
		    list[i + klen] == ' ') {
			if (mailbox_parse_nz32(list + i + klen + 1, &end,
			    out) == -1 || (*end != ' ' && *end != ')'))
				return -1;
			return 0;
		}
	return -1;
}

int
imap_parse_status(const char *s, unsigned long *uidvalidity,
    unsigned long *uidnext)
{
	const char *p = strstr(s, "* STATUS "), *open, *close;
	size_t eol;

	if (p == NULL)
		return -1;
	/* The attribute list is last: the folder name may hold parens. */
	eol = strcspn(p, "\r\n");
	if ((open = memrchr(p, '(', eol)) == NULL ||
	    (close = memchr(open, ')', eol - (size_t)(open - p))) == NULL)
		return -1;
	if (status_item(open, (size_t)(close - open + 1), "UIDVALIDITY",
	    uidvalidity) == -1 ||
	    status_item(open, (size_t)(close - open + 1), "UIDNEXT",
	    uidnext) == -1)
		return -1;
	return 0;
}

long
imap_parse_search(const char *s, unsigned long *out, size_t max)
{
	const char *p = strstr(s, "* SEARCH"), *end;
	unsigned long v;
	size_t n = 0;

	if (p == NULL)
		return -1;
	p += 8;
	if (*p != ' ' && *p != '\r' && *p != '\n' && *p != '\0')
		return -1;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\r' || *p == '\n' || *p == '\0')
			break;
		if (mailbox_parse_nz32(p, &end, &v) == -1 ||
		    (*end != ' ' && *end != '\r' && *end != '\n' &&
		    *end != '\0'))
			return -1;
		if (n == max)
			return -1;	/* more than a range can hold */
		out[n++] = v;
		p = end;
	}
	return (long)n;
}

/* Skips one fetch value: atom, number, quoted string or list; NULL if bad. */
static const char *
fetch_value(const char *p)
{
	int depth = 0;

	do {
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\0' || *p == '\r' || *p == '\n')
					return NULL;
			}
			p++;
		} else if (*p == '(') {
			depth++;
			p++;
		} else if (*p == ')' && depth > 0) {
			depth--;
			p++;
		} else if (*p == '{' || *p == '\0' || *p == '\r' ||
		    *p == '\n') {
			return NULL;	/* literals are not asked for */
		} else {
			while (*p != ' ' && *p != '(' && *p != ')' &&
			    *p != '"' && *p != '\0' && *p != '\r' &&
			    *p != '\n')
				p++;
		}
		while (depth > 0 && *p == ' ')
			p++;
	} while (depth > 0);
	return p;
}

int
imap_parse_fetch(const char *s, unsigned long uid, unsigned long *size,
    time_t *arrived)
{
	const char *p = s, *q, *end, *name;
	unsigned long v, luid, lsize;
	size_t nlen;
	int found = 0, hassize;
	time_t at;
	char date[64];

	/* Lines "* n FETCH (NAME value ...)"; other lines are skipped. */
	for (; *p != '\0'; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncmp(p, "* ", 2) != 0 ||
		    mailbox_parse_nz32(p + 2, &q, &v) == -1 ||
		    strncasecmp(q, " FETCH (", 8) != 0)
			continue;
		q += 8;
		luid = lsize = 0;
		hassize = 0;
		at = 0;
		while (*q != ')') {
			name = q;
			while (isalnum((unsigned char)*q) || *q == '.' ||
			    *q == '-' || *q == '[' || *q == ']')
				q++;
			nlen = (size_t)(q - name);
			if (nlen == 0 || *q != ' ')
				return -1;
			q++;
			if (nlen == 3 && strncasecmp(name, "UID", 3) == 0) {
				if (mailbox_parse_nz32(q, &end, &luid) == -1)
					return -1;
			} else if (nlen == 11 &&
			    strncasecmp(name, "RFC822.SIZE", 11) == 0) {
				if (mailbox_parse_num32(q, &end, &lsize) == -1)
					return -1;
				hassize = 1;
			} else if (nlen == 12 &&
			    strncasecmp(name, "INTERNALDATE", 12) == 0 &&
			    *q == '"') {
				if ((end = fetch_value(q)) == NULL ||
				    (size_t)(end - q) - 2 >= sizeof(date))
					return -1;
				memcpy(date, q + 1, (size_t)(end - q) - 2);
				date[end - q - 2] = '\0';
				if (date_parse_imap(date, &at) == -1)
					at = 0;
			} else if ((end = fetch_value(q)) == NULL) {
				return -1;
			}
			q = end;
			if (*q == ' ')
				q++;
			else if (*q != ')')
				return -1;
		}
		if (luid != uid)
			continue;	/* another message's news */
		found = 1;
		if (hassize) {
			*size = lsize;
			*arrived = at;
			return 0;
		}
	}
	/* UID n said, but not its size: that is no answer. */
	return found ? -1 : 1;
}

/* The folder is the URL's path, INBOX when there is none. */
static int
imap_open(struct mailbox *mb, const char *path, struct mc_error *err)
{
	struct imap *im;
	const char *f = path[0] == '/' ? path + 1 : path;
	char *esc;
	size_t i;

	if ((im = calloc(1, sizeof(*im))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	mb->proto = im;
	im->folder = strdup(*f ? f : "INBOX");
	/* The name goes inside a quoted string (RFC 3501 4.3). */
	for (i = 0; im->folder && im->folder[i]; i++)
		if (im->folder[i] == '"' || im->folder[i] == '\\' ||
		    (unsigned char)im->folder[i] < 0x20)
			return error_set(err, MC_ERR_CONFIG,
			    "mailbox folder name must not "
			    "contain quotes, backslashes or control "
			    "characters");
	esc = curl_easy_escape(NULL, im->folder, 0);
	if (im->folder == NULL || esc == NULL ||
	    asprintf(&im->folder_url, "%s%s", mb->base, esc) == -1) {
		curl_free(esc);
		im->folder_url = NULL;
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	curl_free(esc);
	return 0;
}

static void
imap_close(struct mailbox *mb)
{
	struct imap *im = mb->proto;

	if (im == NULL)
		return;
	free(im->folder);
	free(im->folder_url);
	free(im);
	mb->proto = NULL;
}

/* One message of an IMAP scan: 0 handled or passed, -1 stop (err set). */
static int
imap_message(struct mailbox *mb, unsigned long uid, mailbox_cb cb,
    void *arg, struct mc_error *err)
{
	struct imap *im = mb->proto;
	struct mailbox_msg m;
	char cmd[128], ref[16], *url = NULL;
	unsigned long size;
	time_t arrived;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	snprintf(ref, sizeof(ref), "%lu", uid);
	m.ref = ref;
	m.refname = "UID";
	m.fd = -1;
	/* A session first, so that a refusal below is this message's. */
	if (mb->closed && mailbox_request(mb, im->folder_url, "NOOP", 0,
	    "IMAP NOOP", err) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "UID FETCH %lu (UID INTERNALDATE "
	    "RFC822.SIZE)", uid);
	if (mailbox_request(mb, im->folder_url, cmd, 0, "IMAP FETCH size",
	    err) == -1) {
		if (mb->fail == FAIL_BROKEN)
			return -1;
		return mailbox_skip(mb, &m, "IMAP FETCH size", cb, arg, err);
	}
	switch (imap_parse_fetch(mb->out.data ? mb->out.data : "", uid,
	    &size, &arrived)) {
	case 1:
		log_debug("%s: UID %lu is gone", im->folder, uid);
		return 0;
	case -1:
		error_set(err, MC_ERR_SERVER,
		    "IMAP %s: unreadable reply to UID FETCH %lu "
		    "(RFC822.SIZE)", mb->t.host, uid);
		return mailbox_skip(mb, &m, "IMAP FETCH size", cb, arg, err);
	}
	m.size = size;
	m.arrived = arrived;
	if (size > (unsigned long)mb->cfg->max_message_size) {
		/* Never download it: the start of its header, for a person. */
		if (asprintf(&url, "%s;UID=%lu;SECTION=HEADER;PARTIAL=0.%d",
		    im->folder_url, uid, MAILBOX_PEEK_MAX) == -1)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		mailbox_sink_buf(mb, MAILBOX_PEEK_MAX, 1);
		if (mailbox_request(mb, url, NULL, 0, "IMAP FETCH header",
		    err) == -1 && mb->fail == FAIL_BROKEN)
			goto out;
		m.kind = MAILBOX_OVERSIZE;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
		rc = mailbox_deliver(mb, &m, cb, arg, err);
		goto out;
	}
	if (mb->whole) {
		if (mailbox_tmpfile(mb, err) == -1)
			return -1;
		if (asprintf(&url, "%s;UID=%lu", im->folder_url, uid) == -1)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		mailbox_sink_file(mb, (size_t)mb->cfg->max_message_size);
		if (mailbox_request(mb, url, NULL, 0, "IMAP FETCH message",
		    err) == -1) {
			if (mb->fail == FAIL_MESSAGE)
				rc = mailbox_skip(mb, &m, "IMAP FETCH message",
				    cb, arg, err);
			goto out;
		}
		if (lseek(mb->tmpfd, 0, SEEK_SET) == -1) {
			error_set(err, MC_ERR_FILE,
			    "cannot rewind the temporary file: %s",
			    strerror(errno));
			goto out;
		}
		m.kind = MAILBOX_WHOLE;
		m.fd = mb->tmpfd;
	} else {
		if (asprintf(&url, "%s;UID=%lu;SECTION=HEADER;PARTIAL=0.%d",
		    im->folder_url, uid, MAILBOX_HEADER_FETCH) == -1)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		mailbox_sink_buf(mb, MAILBOX_HEADER_FETCH, 1);
		if (mailbox_request(mb, url, NULL, 0, "IMAP FETCH header",
		    err) == -1) {
			if (mb->fail == FAIL_MESSAGE)
				rc = mailbox_skip(mb, &m, "IMAP FETCH header",
				    cb, arg, err);
			goto out;
		}
		m.kind = MAILBOX_HEADERS;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
	}
	rc = mailbox_deliver(mb, &m, cb, arg, err);
out:
	free(url);
	return rc;
}

/*
 * Searches UIDs lo..top and hands over the candidates in UID order; the
 * cursor follows each one handled. Returns 0 when the range is done,
 * 1 when the rest waits for the next run, -1 on error (err set).
 */
static int
imap_scan_range(struct mailbox *mb, struct cursor *cur, const char *probe,
    unsigned long lo, unsigned long top, unsigned long *uids, mailbox_cb cb,
    void *arg, struct mc_error *err)
{
	struct imap *im = mb->proto;
	char cmd[512];
	long n, i;

	if (mb->whole)
		snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lu:%lu", lo, top);
	else
		snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lu:%lu HEADER "
		    "X-Mailcanary-Probe \"%s\"", lo, top, probe);
	if (mailbox_request(mb, im->folder_url, cmd, 0, "IMAP SEARCH", err) ==
	    -1)
		return -1;
	n = imap_parse_search(mb->out.data ? mb->out.data : "", uids,
	    IMAP_SEARCH_CHUNK + 1);
	if (n < 0)
		return error_set(err, MC_ERR_SERVER,
		    "IMAP %s: unreadable reply to UID "
		    "SEARCH UID %lu:%lu", mb->t.host, lo, top);
	qsort(uids, (size_t)n, sizeof(*uids), sort_ulong_cmp);
	for (i = 0; i < n; i++) {
		/* "n:m" also matches the highest UID below n (RFC 3501). */
		if (uids[i] < lo || uids[i] > top ||
		    (i > 0 && uids[i] == uids[i - 1]))
			continue;
		if (deadline_expired())
			return mailbox_stopped(mb, err);
		if (mb->fetched >= MAILBOX_FETCH_MAX || mailbox_enough(mb))
			return 1;
		if (imap_message(mb, uids[i], cb, arg, err) == -1)
			return -1;
		mb->fetched++;
		cur->last_uid = uids[i];
	}
	cur->last_uid = top;
	return 0;
}

static int
imap_scan(struct mailbox *mb, struct cursor *cur, const char *probe,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	struct imap *im = mb->proto;
	unsigned long uidvalidity, uidnext, hi, *uids = NULL;
	char cmd[512];
	long n;
	int rc = -1, r;

	snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY UIDNEXT)",
	    im->folder);
	if (mailbox_request(mb, mb->base, cmd, 0, "IMAP STATUS", err) == -1)
		return -1;
	if (imap_parse_status(mb->out.data ? mb->out.data : "",
	    &uidvalidity, &uidnext) == -1)
		return error_set(err, MC_ERR_SERVER,
		    "IMAP %s: unreadable reply to STATUS "
		    "for %s", mb->t.host, im->folder);
	if (uidvalidity != cur->uidvalidity) {
		/* RFC 3501 2.3.1.1: old UIDs mean nothing now; rescan. */
		if (cur->uidvalidity != 0)
			log_info("UIDVALIDITY of %s changed; rescanning",
			    im->folder);
		cur->uidvalidity = uidvalidity;
		cur->last_uid = 0;
		while (cur->npending > 0)
			free(cur->pending[--cur->npending]);
	}
	if (cur->last_uid >= uidnext) {
		/*
		 * Past every UID the server ever gave (an older version
		 * trusted a UIDNEXT that jumped): what lies below was
		 * perhaps never read. Rescan.
		 */
		log_info("%s: cursor UID %lu is past UIDNEXT %lu; rescanning",
		    im->folder, cur->last_uid, uidnext);
		cur->last_uid = 0;
	}
	if (uidnext - 1 <= cur->last_uid)
		return 0;		/* nothing new: STATUS was enough */
	/*
	 * UIDNEXT only says something may be new. How far the cursor may
	 * go is the highest UID that is there: a UIDNEXT that jumps must
	 * not carry it past UIDs still to be assigned.
	 */
	if (mailbox_request(mb, im->folder_url, "UID SEARCH UID *", 0,
	    "IMAP SEARCH", err) == -1)
		return -1;
	if ((n = imap_parse_search(mb->out.data ? mb->out.data : "", &hi,
	    1)) < 0)
		return error_set(err, MC_ERR_SERVER,
		    "IMAP %s: unreadable reply to UID "
		    "SEARCH UID *", mb->t.host);
	if (n == 0 || hi <= cur->last_uid)
		return 0;		/* empty, or what was new is gone */
	if (hi > uidnext - 1)
		log_debug("%s: UID %lu is there, UIDNEXT was %lu", im->folder,
		    hi, uidnext);
	if ((uids = calloc(IMAP_SEARCH_CHUNK + 1, sizeof(*uids))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	/*
	 * New UIDs are searched in chunks, and the cursor moves after each:
	 * a first scan of a huge mailbox spreads over runs instead of
	 * timing out again and again without progress.
	 */
	while (cur->last_uid < hi) {
		unsigned long lo = cur->last_uid + 1, top = hi;

		if (top - lo >= IMAP_SEARCH_CHUNK)
			top = lo + IMAP_SEARCH_CHUNK - 1;
		if ((r = imap_scan_range(mb, cur, probe, lo, top, uids, cb,
		    arg, err)) == -1)
			goto out;
		if (r == 1 || (cur->last_uid < hi &&
		    deadline_left_ms() < deadline_budget() * 500)) {
			log_info("%s: scanned up to UID %lu of %lu; the rest "
			    "next run", im->folder, cur->last_uid, hi);
			break;
		}
	}
	rc = 0;
out:
	free(uids);
	return rc;
}

/* The refs are UIDs; all of them go in one STORE and one EXPUNGE. */
static int
imap_delete(struct mailbox *mb, struct cursor *cur, struct mc_error *err)
{
	struct imap *im = mb->proto;
	struct buf set;
	char *cmd;
	size_t i;

	buf_init(&set, 1024 * 1024);
	for (i = 0; i < cur->npending; i++)
		buf_addf(&set, "%s%s", i ? "," : "", cur->pending[i]);
	if (set.overflow) {
		buf_free(&set);
		return error_set(err, MC_ERR_LIMIT,
		    "too many messages to delete");
	}
	/* RFC 4315 UID EXPUNGE: only these, never another's \Deleted. */
	if (asprintf(&cmd, "UID STORE %s +FLAGS.SILENT (\\Deleted)",
	    set.data) == -1 || mailbox_request(mb, im->folder_url, cmd, 0,
	    "IMAP STORE", err) == -1) {
		buf_free(&set);
		free(cmd);
		return -1;
	}
	free(cmd);
	if (asprintf(&cmd, "UID EXPUNGE %s", set.data) == -1 ||
	    mailbox_request(mb, im->folder_url, cmd, 0, "IMAP EXPUNGE",
	    err) == -1) {
		buf_free(&set);
		free(cmd);
		return -1;
	}
	free(cmd);
	buf_free(&set);
	while (cur->npending > 0)
		mailbox_pending_drop(cur, cur->npending - 1);
	return 0;
}

const struct mailbox_handler imap_handler = {
	.name = "IMAP",
	.net_proto = NET_IMAP,
	.protocols = "imap,imaps",
	.open = imap_open,
	.scan = imap_scan,
	.delete = imap_delete,
	.close = imap_close,
};
