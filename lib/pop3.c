/*
 * pop3.c - the POP3 handler of the mailbox module: scanning a maildrop
 * for new messages, deleting the canaries found, and parsing the replies
 * this needs. The connection, downloads and hand-off to the caller are
 * the core's (mailbox.c).
 *
 * UIDL lists the mailbox; only UIDLs not examined before are read, each
 * sized with LIST n first, then TOP n 0 (headers) or RETR n (whole).
 * Arrival is the date of the topmost Received: field. The cursor is the
 * set of UIDLs examined and still present. Deletion is DELE of the
 * numbers the refs have in a fresh UIDL listing; it takes effect at the
 * QUIT libcurl sends when the mailbox is closed.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "log.h"
#include "mailbox_handler.h"
#include "message.h"
#include "pop3.h"

struct uidl {
	unsigned long	 num;
	char		*uidl;
};

int
pop3_parse_list(const char *s, unsigned long n, unsigned long *size)
{
	const char *p, *end;
	unsigned long v;

	if (strncmp(s, "+OK ", 4) != 0 ||
	    mailbox_parse_nz32(s + 4, &p, &v) == -1 || v != n || *p != ' ')
		return -1;
	if (mailbox_parse_num32(p + 1, &end, size) == -1 ||
	    (*end != '\0' && *end != ' ' && *end != '\r' && *end != '\n'))
		return -1;
	return 0;
}

/* A uidl is 1 to 70 characters 0x21-0x7E (RFC 1939 7). */
static int
uidl_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
			return 0;
	return n >= 1 && n <= 70;
}

/*
 * Parses "n uidl" lines (RFC 1939 7) in place; returns the count or -1.
 * Each line is validated before anything of it is kept.
 */
static long
pop3_parse_uidl(char *s, struct uidl **out)
{
	struct uidl *v = NULL, *nv;
	size_t n = 0, cap = 0, len;
	char *line = s, *next, *sp;
	const char *end;

	for (; *line != '\0'; line = next) {
		len = strcspn(line, "\r\n");
		next = line + len;
		next += strspn(next, "\r\n");
		line[len] = '\0';
		if (len == 0)
			continue;
		if ((sp = strchr(line, ' ')) == NULL)
			goto bad;
		*sp = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto bad;
			v = nv;
		}
		if (mailbox_parse_nz32(line, &end, &v[n].num) == -1 ||
		    *end != '\0' || !uidl_valid(sp + 1))
			goto bad;
		v[n].uidl = sp + 1;
		n++;
	}
	*out = v;
	return (long)n;
bad:
	free(v);
	return -1;
}

/* The date of the topmost Received: field of a header block, or 0. */
static time_t
received_date(const char *hdr, size_t len)
{
	struct headers *hs;
	const char *rv, *semi;
	time_t at = 0;

	if (hdr == NULL || (hs = malloc(sizeof(*hs))) == NULL)
		return 0;
	if (headers_parse(hdr, len, hs, NULL) == 0) {
		rv = headers_get(hs, "Received");
		if (rv && (semi = strrchr(rv, ';')) &&
		    date_parse_rfc5322(semi + 1, &at) == -1)
			at = 0;
		headers_free(hs);
	}
	free(hs);
	return at;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A POP3 URL names the maildrop, never a folder. */
static int
pop3_open(struct mailbox *mb, const char *path, struct mc_error *err)
{
	if (path[0] != '\0' && strcmp(path, "/") != 0)
		return error_set(err, MC_ERR_CONFIG,
		    "a POP3 mailbox URL has no folder: '%s'",
		    mb->url);
	return 0;
}

static void
pop3_close(struct mailbox *mb)
{
	(void)mb;		/* nothing of its own */
}

/*
 * After libcurl opened a new session (a failed request closes one), the
 * numbers of the first UIDL listing hold only if nothing was expunged in
 * between: "UIDL n" must still name the same message. It also opens the
 * session, so that a refusal after it is the message's own. 0 yes, 1 no,
 * -1 the session failed (err set).
 */
static int
pop3_same(struct mailbox *mb, unsigned long num, const char *key,
    struct mc_error *err)
{
	char cmd[64], want[128];

	snprintf(cmd, sizeof(cmd), "UIDL %lu", num);
	if (mailbox_request(mb, mb->base, cmd, 1, "POP3 UIDL", err) == -1)
		return -1;
	snprintf(want, sizeof(want), "+OK %lu %s", num, key);
	return strcmp(mb->line, want) == 0 ? 0 : 1;
}

/* One message of a POP3 scan: 0 handled or passed, -1 stop (err set). */
static int
pop3_message(struct mailbox *mb, unsigned long num, const char *key,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	struct mailbox_msg m;
	char cmd[64], *hdr;
	unsigned long size;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.ref = key;
	m.refname = "UIDL";
	m.fd = -1;
	snprintf(cmd, sizeof(cmd), "LIST %lu", num);
	if (mailbox_request(mb, mb->base, cmd, 1, "POP3 LIST", err) == -1) {
		if (mb->fail == FAIL_BROKEN)
			return -1;
		return mailbox_skip(mb, &m, "POP3 LIST", cb, arg, err);
	}
	if (pop3_parse_list(mb->line, num, &size) == -1) {
		error_set(err, MC_ERR_SERVER,
		    "POP3 %s: unreadable reply to LIST %lu",
		    mb->t.host, num);
		return mailbox_skip(mb, &m, "POP3 LIST", cb, arg, err);
	}
	m.size = size;
	snprintf(cmd, sizeof(cmd), "TOP %lu 0", num);
	if (size > (unsigned long)mb->cfg->max_message_size) {
		/* Never download it: the start of its header, for a person. */
		mailbox_sink_buf(mb, MAILBOX_PEEK_MAX, 1);
		if (mailbox_request(mb, mb->base, cmd, 0, "POP3 TOP", err) ==
		    -1 && mb->fail == FAIL_BROKEN)
			return -1;
		m.kind = MAILBOX_OVERSIZE;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
		m.arrived = received_date(m.hdr, m.len);
		return mailbox_deliver(mb, &m, cb, arg, err);
	}
	if (!mb->whole) {
		mailbox_sink_buf(mb, MAILBOX_HEADER_FETCH, 1);
		if (mailbox_request(mb, mb->base, cmd, 0, "POP3 TOP", err) ==
		    -1) {
			if (mb->fail == FAIL_BROKEN)
				return -1;
			return mailbox_skip(mb, &m, "POP3 TOP", cb, arg, err);
		}
		m.kind = MAILBOX_HEADERS;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
		m.arrived = received_date(m.hdr, m.len);
		return mailbox_deliver(mb, &m, cb, arg, err);
	}
	if (mailbox_tmpfile(mb, err) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "RETR %lu", num);
	mailbox_sink_file(mb, (size_t)mb->cfg->max_message_size);
	if (mailbox_request(mb, mb->base, cmd, 0, "POP3 RETR", err) == -1) {
		if (mb->fail == FAIL_BROKEN)
			return -1;
		return mailbox_skip(mb, &m, "POP3 RETR", cb, arg, err);
	}
	/* The arrival date is in the header block at the file's start. */
	if ((hdr = malloc(MESSAGE_HEADER_MAX)) != NULL) {
		if ((n = pread(mb->tmpfd, hdr, MESSAGE_HEADER_MAX, 0)) > 0)
			m.arrived = received_date(hdr, (size_t)n);
		free(hdr);
	}
	if (lseek(mb->tmpfd, 0, SEEK_SET) == -1)
		return error_set(err, MC_ERR_FILE,
		    "cannot rewind the temporary file: %s",
		    strerror(errno));
	m.kind = MAILBOX_WHOLE;
	m.fd = mb->tmpfd;
	return mailbox_deliver(mb, &m, cb, arg, err);
}

/* The probe's name is not used: POP3 cannot search on the server. */
static int
pop3_scan(struct mailbox *mb, struct cursor *cur, const char *probe,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	struct uidl *list = NULL;
	char **seen = NULL, *listing = NULL, *key;
	size_t nseen = 0, i;
	long n, sessions;
	int rc = -1, stop = 0, failed = 0, same;

	(void)probe;
	if (mailbox_request(mb, mb->base, "UIDL", 0, "POP3 UIDL", err) == -1)
		return -1;
	sessions = mb->sessions;
	listing = buf_steal(&mb->out);
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	if ((n = pop3_parse_uidl(listing, &list)) < 0) {
		error_set(err, MC_ERR_SERVER,
		    "POP3 %s: unreadable reply to UIDL", mb->t.host);
		goto out;
	}
	if ((size_t)n > CURSOR_SEEN_MAX) {
		error_set(err, MC_ERR_LIMIT,
		    "POP3 %s: more than %d messages", mb->t.host,
		    CURSOR_SEEN_MAX);
		goto out;
	}
	qsort(cur->seen, cur->nseen, sizeof(char *), str_cmp);
	if ((seen = calloc((size_t)n + 1, sizeof(char *))) == NULL) {
		error_set(err, MC_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < (size_t)n; i++) {
		key = list[i].uidl;
		if (bsearch(&key, cur->seen, cur->nseen, sizeof(char *),
		    str_cmp) == NULL) {
			/*
			 * Once stopped, the loop goes on only to keep the
			 * UIDLs examined before: they are not read again.
			 */
			if (stop)
				continue;
			if (deadline_expired()) {
				mailbox_stopped(mb, err);
				stop = failed = 1;
				continue;
			}
			if (mb->fetched >= MAILBOX_FETCH_MAX ||
			    mailbox_enough(mb)) {
				log_info("POP3 %s: examined %zu new messages; "
				    "the rest next run", mb->t.host,
				    mb->fetched);
				stop = 1;
				continue;
			}
			if ((mb->closed || mb->sessions != sessions) &&
			    (same = pop3_same(mb, list[i].num, key,
			    err)) != 0) {
				if (same == 1)
					log_info("POP3 %s: the mailbox changed "
					    "under a new session; the rest "
					    "next run", mb->t.host);
				stop = 1;
				failed = same == -1;
				continue;
			}
			if (pop3_message(mb, list[i].num, key, cb, arg,
			    err) == -1) {
				stop = failed = 1;
				continue;
			}
			mb->fetched++;
		}
		/* Remember every UIDL still present and examined. */
		if ((seen[nseen] = strdup(key)) == NULL) {
			error_set(err, MC_ERR_NOMEM, "out of memory");
			goto out;
		}
		nseen++;
	}
	/* Replace the seen set: UIDLs that left the mailbox drop out. */
	for (i = 0; i < cur->nseen; i++)
		free(cur->seen[i]);
	free(cur->seen);
	cur->seen = seen;
	cur->nseen = nseen;
	seen = NULL;
	rc = failed ? -1 : 0;
out:
	if (seen != NULL) {
		for (i = 0; i < nseen; i++)
			free(seen[i]);
		free(seen);
	}
	free(list);
	free(listing);
	return rc;
}

/*
 * The refs are UIDLs: a fresh listing gives their numbers now. A ref no
 * longer listed is gone already and leaves the list too.
 */
static int
pop3_delete(struct mailbox *mb, struct cursor *cur, struct mc_error *err)
{
	struct uidl *list = NULL;
	char cmd[64], *listing;
	size_t i, k;
	long n;

	if (mailbox_request(mb, mb->base, "UIDL", 0, "POP3 UIDL", err) == -1)
		return -1;
	listing = buf_steal(&mb->out);
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	if ((n = pop3_parse_uidl(listing, &list)) < 0) {
		free(listing);
		return error_set(err, MC_ERR_SERVER,
		    "POP3 %s: unreadable reply to UIDL",
		    mb->t.host);
	}
	for (i = 0; i < cur->npending;) {
		for (k = 0; k < (size_t)n; k++)
			if (strcmp(list[k].uidl, cur->pending[i]) == 0)
				break;
		if (k == (size_t)n) {		/* already gone */
			mailbox_pending_drop(cur, i);
			continue;
		}
		snprintf(cmd, sizeof(cmd), "DELE %lu", list[k].num);
		if (mailbox_request(mb, mb->base, cmd, 1, "POP3 DELE",
		    err) == -1) {
			free(list);
			free(listing);
			return -1;
		}
		mailbox_pending_drop(cur, i);
	}
	free(list);
	free(listing);
	return 0;
}

const struct mailbox_handler pop3_handler = {
	.name = "POP3",
	.net_proto = NET_POP3,
	.protocols = "pop3,pop3s",
	.open = pop3_open,
	.scan = pop3_scan,
	.delete = pop3_delete,
	.close = pop3_close,
};
