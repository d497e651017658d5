/*
 * mailbox.c - the scanning half of a probe cycle.
 *
 * IMAP: STATUS gives UIDVALIDITY and UIDNEXT; when nothing is new the
 * scan ends there. UIDNEXT only says that something may be new: how far
 * the scan goes is the highest UID the server lists ("UID SEARCH UID *"),
 * so a UIDNEXT that jumps never carries the cursor past UIDs still to
 * come. A server-side UID SEARCH over the new UIDs picks the candidates
 * (for canaries: only the messages that carry X-Mailcanary-Probe), and
 * "UID FETCH n (... RFC822.SIZE)" sizes each before anything of it is
 * downloaded. libcurl passes the untagged lines of custom commands to
 * the write callback but drops literals, so message data is fetched
 * through ";UID=n;SECTION=..." URLs instead.
 *
 * POP3: UIDL lists the mailbox; only UIDLs not examined before are read,
 * each sized with LIST n first, then TOP n 0 (headers) or RETR n (whole).
 * Arrival is the date of the topmost Received: field.
 *
 * Whole messages go to an unlinked file in the state directory, never to
 * memory. A message over max_message_size is not downloaded: only the
 * start of its header block is, for the report. A message that cannot
 * be downloaded is reported to the caller and passed; only a broken
 * connection, an unreadable listing, the deadline or a signal ends a
 * scan early.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "net.h"
#include "sort.h"

#define MAILBOX_REPLY_MAX	(8 * 1024 * 1024)	/* listings */
#define MAILBOX_SEARCH_CHUNK	20000	/* UIDs one SEARCH covers */
/*
 * libcurl keeps only the first 40 bytes of a reply line longer than half
 * its receive buffer. The untagged SEARCH reply is one line: with the
 * default 16 KiB buffer, a search that matched more than some 700 UIDs
 * came back as a dozen of them, and the cursor passed the rest unread.
 * The buffer is made large enough for the longest reply a chunk can give
 * ("* SEARCH" and up to MAILBOX_SEARCH_CHUNK UIDs of 10 digits).
 */
#define MAILBOX_CURL_BUFFER	(512 * 1024)
#define MAILBOX_HEADER_FETCH	(MESSAGE_HEADER_MAX + 1)

/* How a failed request bears on the scan. */
enum mailbox_fail {
	FAIL_BROKEN = 0,	/* link, deadline, signal, local: stop */
	FAIL_MESSAGE		/* refused, gone, too big: this one only */
};

struct mailbox {
	const struct config	*cfg;
	const char		*url;
	int			 whole;	/* whole messages, every new one */
	CURL			*h;
	struct net_trace	 t;
	char			 errbuf[CURL_ERROR_SIZE];
	int			 pop3;
	char			*base;		/* scheme://host:port/ */
	char			*folder;	/* IMAP mailbox name */
	char			*folder_url;	/* base + escaped folder */
	struct buf		 out;
	/* Where the data of the current request goes. */
	int			 sink_fd;	/* -1: into out */
	size_t			 sink_cap;	/* most bytes kept */
	size_t			 sink_got;	/* bytes that came */
	int			 sink_drop;	/* past the cap: drop */
	int			 sink_over;	/* the cap was passed */
	int			 sink_errno;	/* a write failed */
	/* The last server line before libcurl's own LOGOUT or QUIT. */
	char			 line[512];
	const char		*line_step;
	const char		*connect_step;	/* net's first step */
	long			 sessions;	/* connections opened */
	int			 closed;	/* last request failed */
	int			 fail;		/* enum mailbox_fail */
	int			 tmpfd;		/* whole messages */
	size_t			 fetched;	/* examined this run */
};

/* libcurl says LOGOUT or QUIT after a failed transfer; that is no news. */
static int
closing_step(const char *step)
{
	return step != NULL && (strcmp(step, "IMAP LOGOUT") == 0 ||
	    strcmp(step, "POP3 QUIT") == 0);
}

static const char *
proto_name(const struct mailbox *mb)
{
	return mb->pop3 ? "POP3" : "IMAP";
}

static size_t
mailbox_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mailbox *mb = arg;
	size_t n = size * nmemb, keep = n, off;
	ssize_t w;

	if (n > mb->sink_cap || mb->sink_got > mb->sink_cap - n) {
		mb->sink_over = 1;
		if (!mb->sink_drop)
			return 0;	/* libcurl aborts the transfer */
		keep = mb->sink_got < mb->sink_cap ? mb->sink_cap -
		    mb->sink_got : 0;
	}
	mb->sink_got = mb->sink_got > (size_t)-1 - n ? (size_t)-1 :
	    mb->sink_got + n;
	if (keep == 0)
		return n;
	if (mb->sink_fd == -1) {
		if (buf_add(&mb->out, p, keep) == -1) {
			mb->sink_errno = mb->out.overflow ? EFBIG : ENOMEM;
			return 0;
		}
		return n;
	}
	for (off = 0; off < keep; off += (size_t)w)
		if ((w = write(mb->sink_fd, p + off, keep - off)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			mb->sink_errno = errno;
			return 0;
		}
	return n;
}

/* Every server line; kept unless it answers libcurl's LOGOUT or QUIT. */
static size_t
mailbox_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mailbox *mb = arg;
	size_t n = size * nmemb, k = n;

	if (closing_step(mb->t.step))
		return n;
	while (k > 0 && (p[k - 1] == '\n' || p[k - 1] == '\r'))
		k--;
	if (k >= sizeof(mb->line))
		k = sizeof(mb->line) - 1;
	memcpy(mb->line, p, k);
	mb->line[k] = '\0';
	mb->line_step = mb->t.step;
	return n;
}

/* The next request's data: into memory, at most cap bytes kept. */
static void
sink_buf(struct mailbox *mb, size_t cap, int drop)
{
	mb->sink_fd = -1;
	mb->sink_cap = cap;
	mb->sink_drop = drop;
}

/* The next request's data: into the temporary file, at most cap bytes. */
static void
sink_file(struct mailbox *mb, size_t cap)
{
	mb->sink_fd = mb->tmpfd;
	mb->sink_cap = cap;
	mb->sink_drop = 0;
}

struct mailbox *
mailbox_close(struct mailbox *mb)
{
	if (mb == NULL)
		return NULL;
	if (mb->h != NULL) {
		/* Cleanup sends LOGOUT/QUIT; POP3 deletions commit then. */
		if (deadline_left_ms() > 100)
			curl_easy_setopt(mb->h, CURLOPT_TIMEOUT_MS,
			    deadline_left_ms());
		curl_easy_cleanup(mb->h);
	}
	if (mb->tmpfd != -1)
		close(mb->tmpfd);
	buf_free(&mb->out);
	free(mb->base);
	free(mb->folder);
	free(mb->folder_url);
	free(mb);
	return NULL;
}

struct mailbox *
mailbox_open(const struct config *cfg, const char *url, const char *user,
    const char *password, int whole, struct mc_error *err)
{
	struct mailbox *mb;
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *esc;
	size_t i;
	int tls;

	if ((mb = calloc(1, sizeof(*mb))) == NULL) {
		error_set(err, "out of memory");
		return NULL;
	}
	mb->cfg = cfg;
	mb->url = url;
	mb->whole = whole;
	mb->tmpfd = -1;
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	sink_buf(mb, MAILBOX_REPLY_MAX, 0);
	mb->pop3 = strncasecmp(url, "pop3", 4) == 0;
	mb->t.proto = mb->pop3 ? NET_POP3 : NET_IMAP;
	net_hostport(url, mb->t.host, sizeof(mb->t.host));
	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
	    CURLUE_OK) {
		error_set(err, "mailbox URL '%s' cannot be parsed", url);
		goto fail;
	}
	if (asprintf(&mb->base, "%s://%s:%s/", scheme, host, port) == -1) {
		mb->base = NULL;
		error_set(err, "out of memory");
		goto fail;
	}
	if (!mb->pop3) {
		const char *f = path[0] == '/' ? path + 1 : path;

		mb->folder = strdup(*f ? f : "INBOX");
		/* The name goes inside a quoted string (RFC 3501 4.3). */
		for (i = 0; mb->folder && mb->folder[i]; i++)
			if (mb->folder[i] == '"' || mb->folder[i] == '\\' ||
			    (unsigned char)mb->folder[i] < 0x20) {
				error_set(err, "mailbox folder name must not "
				    "contain quotes, backslashes or control "
				    "characters");
				goto fail;
			}
		esc = curl_easy_escape(NULL, mb->folder, 0);
		if (mb->folder == NULL || esc == NULL ||
		    asprintf(&mb->folder_url, "%s%s", mb->base, esc) == -1) {
			curl_free(esc);
			mb->folder_url = NULL;
			error_set(err, "out of memory");
			goto fail;
		}
		curl_free(esc);
	} else if (path[0] != '\0' && strcmp(path, "/") != 0) {
		error_set(err, "a POP3 mailbox URL has no folder: '%s'", url);
		goto fail;
	}
	if ((mb->h = curl_easy_init()) == NULL) {
		error_set(err, "cannot start libcurl");
		goto fail;
	}
	tls = (strcasecmp(scheme, "imaps") == 0 ||
	    strcasecmp(scheme, "pop3s") == 0) ? STARTTLS_NEVER :
	    cfg->mailbox_starttls;
	net_setup(mb->h, cfg, tls, user, password, &mb->t, mb->errbuf);
	mb->connect_step = mb->t.step;
	curl_easy_setopt(mb->h, CURLOPT_PROTOCOLS_STR,
	    mb->pop3 ? "pop3,pop3s" : "imap,imaps");
	curl_easy_setopt(mb->h, CURLOPT_BUFFERSIZE, (long)MAILBOX_CURL_BUFFER);
	curl_easy_setopt(mb->h, CURLOPT_WRITEFUNCTION, mailbox_write);
	curl_easy_setopt(mb->h, CURLOPT_WRITEDATA, mb);
	curl_easy_setopt(mb->h, CURLOPT_HEADERFUNCTION, mailbox_header);
	curl_easy_setopt(mb->h, CURLOPT_HEADERDATA, mb);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return mb;
fail:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	mailbox_close(mb);
	return NULL;
}

/*
 * One request on the shared connection. cmd NULL: plain URL fetch. step
 * (static) names it until libcurl's trace names the command it sends.
 * The data lands where sink_buf()/sink_file() said, else in mb->out;
 * the sink is back to that default afterwards. On -1, mb->fail says
 * whether only this message or the whole scan is lost.
 */
static int
mailbox_request(struct mailbox *mb, const char *url, const char *cmd,
    int nobody, const char *step, struct mc_error *err)
{
	struct net_trace t;
	CURLcode rc;
	long nconn = 0;
	size_t cap = mb->sink_cap;
	int to_file = mb->sink_fd != -1;

	buf_reset(&mb->out);
	mb->sink_got = 0;
	mb->sink_over = 0;
	mb->sink_errno = 0;
	mb->line[0] = '\0';
	mb->line_step = NULL;
	mb->errbuf[0] = '\0';
	mb->fail = FAIL_BROKEN;
	/* Without a session, libcurl connects first: the trace names that. */
	mb->t.step = mb->sessions == 0 || mb->closed ? mb->connect_step :
	    step;
	curl_easy_setopt(mb->h, CURLOPT_URL, url);
	curl_easy_setopt(mb->h, CURLOPT_CUSTOMREQUEST, cmd);
	curl_easy_setopt(mb->h, CURLOPT_NOBODY, nobody ? 1L : 0L);
	/* A whole message may be larger than net's bound for a reply. */
	curl_easy_setopt(mb->h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(cap >
	    MAILBOX_REPLY_MAX ? cap : MAILBOX_REPLY_MAX));
	if (net_limits(mb->h, &mb->t, err) == -1) {
		sink_buf(mb, MAILBOX_REPLY_MAX, 0);
		return error_prefix(err, "%s %s", proto_name(mb), mb->t.host);
	}
	rc = curl_easy_perform(mb->h);
	sink_buf(mb, MAILBOX_REPLY_MAX, 0);
	if (curl_easy_getinfo(mb->h, CURLINFO_NUM_CONNECTS, &nconn) ==
	    CURLE_OK && nconn > 0)
		mb->sessions += nconn;
	mb->closed = rc != CURLE_OK;
	if (rc == CURLE_OK)
		return 0;
	if (mb->sink_errno != 0 && to_file)
		return error_set(err, "cannot write a message to a temporary "
		    "file in %s: %s", mb->cfg->state_dir,
		    strerror(mb->sink_errno));
	if (mb->sink_errno != 0)
		return error_set(err, "%s %s: out of memory for the reply to "
		    "%s", proto_name(mb), mb->t.host, step);
	if (rc == CURLE_WRITE_ERROR && mb->sink_over) {
		/* Listings are all-or-nothing; a message is only itself. */
		if (to_file)
			mb->fail = FAIL_MESSAGE;
		return error_set(err, "%s %s: reply to %s larger than %zu "
		    "bytes", proto_name(mb), mb->t.host, step, cap);
	}
	t = mb->t;
	if (t.fail_step == NULL && closing_step(t.step) &&
	    rc != CURLE_OPERATION_TIMEDOUT && rc != CURLE_ABORTED_BY_CALLBACK) {
		/* Name what failed, not libcurl's LOGOUT after it. */
		t.step = mb->line_step != NULL ? mb->line_step : step;
		snprintf(t.reply, sizeof(t.reply), "%s", mb->line);
		net_sanitize(t.reply);
	}
	net_error(err, proto_name(mb), rc, &t, mb->errbuf);
	/*
	 * A refusal on a session that was already there answers the
	 * command itself: only this message is lost. On a new session it
	 * may be the login or SELECT refused, which is no message's fault.
	 */
	if (rc != CURLE_OPERATION_TIMEDOUT && rc != CURLE_ABORTED_BY_CALLBACK &&
	    !deadline_expired() && nconn == 0 && (t.fail_step != NULL ||
	    rc == CURLE_REMOTE_FILE_NOT_FOUND ||
	    (rc == CURLE_FILESIZE_EXCEEDED && to_file)))
		mb->fail = FAIL_MESSAGE;
	return -1;
}

/* Why a scan stopped between messages: the deadline or a signal. */
static int
mailbox_stopped(struct mailbox *mb, struct mc_error *err)
{
	if (deadline_signal)
		return error_set(err, "%s %s: terminated by a signal at %s",
		    proto_name(mb), mb->t.host, deadline_current_step());
	return error_set(err, "%s %s: timed out after %.0fs at %s",
	    proto_name(mb), mb->t.host, deadline_budget(),
	    deadline_current_step());
}

/*
 * Whether this scan should leave the rest to the next run: past half the
 * budget (a first scan of a huge mailbox spreads over runs instead of
 * timing out again and again), but only once it has made some progress.
 */
static int
mailbox_enough(const struct mailbox *mb)
{
	return mb->fetched > 0 && deadline_left_ms() <
	    deadline_budget() * 500;
}

/* An empty, unlinked file in the state directory, at offset 0. */
static int
mailbox_tmpfile(struct mailbox *mb, struct mc_error *err)
{
	const char *dir = mb->cfg->state_dir;
	char *path;
	int fd, saved;

	if (mb->tmpfd != -1) {
		if (ftruncate(mb->tmpfd, 0) == -1 ||
		    lseek(mb->tmpfd, 0, SEEK_SET) == -1)
			return error_set(err, "cannot reuse the temporary "
			    "file in %s: %s", dir, strerror(errno));
		return 0;
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		/* No O_TMPFILE here: a named file, unlinked at once. */
		if (asprintf(&path, "%s/mailcanary-msg.XXXXXX", dir) == -1)
			return error_set(err, "out of memory");
		if ((fd = mkostemp(path, O_CLOEXEC)) != -1 &&
		    unlink(path) == -1) {
			error_set(err, "cannot unlink %s: %s", path,
			    strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		saved = errno;
		free(path);
		errno = saved;
	}
	if (fd == -1)
		return error_set(err, "cannot create a temporary file in %s: "
		    "%s", dir, strerror(errno));
	mb->tmpfd = fd;
	return 0;
}

/* Digits only, 1 to 10 of them, a non-zero value of 32 bits. */
static int
parse_nz32(const char *p, const char **end, unsigned long *out)
{
	unsigned long v = 0;
	size_t n;

	for (n = 0; isdigit((unsigned char)p[n]); n++) {
		if (n == 10)
			return -1;
		v = v * 10 + (unsigned long)(p[n] - '0');
	}
	if (n == 0 || v == 0 || v > MAILBOX_UID_MAX)
		return -1;
	*end = p + n;
	*out = v;
	return 0;
}

/* A 32-bit number, zero allowed (RFC 3501 "number"). */
static int
parse_num32(const char *p, const char **end, unsigned long *out)
{
	if (p[0] == '0' && !isdigit((unsigned char)p[1])) {
		*end = p + 1;
		*out = 0;
		return 0;
	}
	return parse_nz32(p, end, out);
}

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
			if (parse_nz32(list + i + klen + 1, &end, out) == -1 ||
			    (*end != ' ' && *end != ')'))
				return -1;
			return 0;
		}
	return -1;
}

int
mailbox_parse_status(const char *s, unsigned long *uidvalidity,
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
mailbox_parse_search(const char *s, unsigned long *out, size_t max)
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
		if (parse_nz32(p, &end, &v) == -1 ||
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
mailbox_parse_fetch(const char *s, unsigned long uid, unsigned long *size,
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
		    parse_nz32(p + 2, &q, &v) == -1 ||
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
				if (parse_nz32(q, &end, &luid) == -1)
					return -1;
			} else if (nlen == 11 &&
			    strncasecmp(name, "RFC822.SIZE", 11) == 0) {
				if (parse_num32(q, &end, &lsize) == -1)
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

int
mailbox_parse_list(const char *s, unsigned long n, unsigned long *size)
{
	const char *p, *end;
	unsigned long v;

	if (strncmp(s, "+OK ", 4) != 0 || parse_nz32(s + 4, &p, &v) == -1 ||
	    v != n || *p != ' ')
		return -1;
	if (parse_num32(p + 1, &end, size) == -1 ||
	    (*end != '\0' && *end != ' ' && *end != '\r' && *end != '\n'))
		return -1;
	return 0;
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

/*
 * Hands a message that could not be downloaded to the caller (err says
 * why), so that it is reported once and passed, and returns what the
 * callback says.
 */
static int
message_failed(struct mailbox_msg *m, const char *step, mailbox_cb cb,
    void *arg, struct mc_error *err)
{
	char why[MC_ERROR_MAX];

	snprintf(why, sizeof(why), "%s", err->msg);
	error_set(err, "%s %s %s: %s", step, m->refname, m->ref, why);
	m->kind = MAILBOX_FAILED;
	m->error = err->msg;
	m->fd = -1;
	m->hdr = NULL;
	m->len = 0;
	return cb(arg, m);
}

/* 0 when the callback handled m, -1 (err set) when the scan must stop. */
static int
deliver(struct mailbox *mb, const struct mailbox_msg *m, mailbox_cb cb,
    void *arg, struct mc_error *err)
{
	if (cb(arg, m) == 0)
		return 0;
	return mailbox_stopped(mb, err);
}

/* One message of an IMAP scan: 0 handled or passed, -1 stop (err set). */
static int
imap_message(struct mailbox *mb, unsigned long uid, mailbox_cb cb,
    void *arg, struct mc_error *err)
{
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
	if (mb->closed && mailbox_request(mb, mb->folder_url, "NOOP", 0,
	    "IMAP NOOP", err) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "UID FETCH %lu (UID INTERNALDATE "
	    "RFC822.SIZE)", uid);
	if (mailbox_request(mb, mb->folder_url, cmd, 0, "IMAP FETCH size",
	    err) == -1) {
		if (mb->fail == FAIL_BROKEN)
			return -1;
		return message_failed(&m, "IMAP FETCH size", cb, arg, err) ==
		    0 ? 0 : mailbox_stopped(mb, err);
	}
	switch (mailbox_parse_fetch(mb->out.data ? mb->out.data : "", uid,
	    &size, &arrived)) {
	case 1:
		log_debug("%s: UID %lu is gone", mb->folder, uid);
		return 0;
	case -1:
		error_set(err, "IMAP %s: unreadable reply to UID FETCH %lu "
		    "(RFC822.SIZE)", mb->t.host, uid);
		return message_failed(&m, "IMAP FETCH size", cb, arg, err) ==
		    0 ? 0 : mailbox_stopped(mb, err);
	}
	m.size = size;
	m.arrived = arrived;
	if (size > (unsigned long)mb->cfg->max_message_size) {
		/* Never download it: the start of its header, for a person. */
		if (asprintf(&url, "%s;UID=%lu;SECTION=HEADER;PARTIAL=0.%d",
		    mb->folder_url, uid, MAILBOX_PEEK_MAX) == -1)
			return error_set(err, "out of memory");
		sink_buf(mb, MAILBOX_PEEK_MAX, 1);
		if (mailbox_request(mb, url, NULL, 0, "IMAP FETCH header",
		    err) == -1 && mb->fail == FAIL_BROKEN)
			goto out;
		m.kind = MAILBOX_OVERSIZE;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
		rc = deliver(mb, &m, cb, arg, err);
		goto out;
	}
	if (mb->whole) {
		if (mailbox_tmpfile(mb, err) == -1)
			return -1;
		if (asprintf(&url, "%s;UID=%lu", mb->folder_url, uid) == -1)
			return error_set(err, "out of memory");
		sink_file(mb, (size_t)mb->cfg->max_message_size);
		if (mailbox_request(mb, url, NULL, 0, "IMAP FETCH message",
		    err) == -1) {
			if (mb->fail == FAIL_MESSAGE)
				rc = message_failed(&m, "IMAP FETCH message",
				    cb, arg, err) == 0 ? 0 :
				    mailbox_stopped(mb, err);
			goto out;
		}
		if (lseek(mb->tmpfd, 0, SEEK_SET) == -1) {
			error_set(err, "cannot rewind the temporary file: %s",
			    strerror(errno));
			goto out;
		}
		m.kind = MAILBOX_WHOLE;
		m.fd = mb->tmpfd;
	} else {
		if (asprintf(&url, "%s;UID=%lu;SECTION=HEADER;PARTIAL=0.%d",
		    mb->folder_url, uid, MAILBOX_HEADER_FETCH) == -1)
			return error_set(err, "out of memory");
		sink_buf(mb, MAILBOX_HEADER_FETCH, 1);
		if (mailbox_request(mb, url, NULL, 0, "IMAP FETCH header",
		    err) == -1) {
			if (mb->fail == FAIL_MESSAGE)
				rc = message_failed(&m, "IMAP FETCH header",
				    cb, arg, err) == 0 ? 0 :
				    mailbox_stopped(mb, err);
			goto out;
		}
		m.kind = MAILBOX_HEADERS;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
	}
	rc = deliver(mb, &m, cb, arg, err);
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
	char cmd[512];
	long n, i;

	if (mb->whole)
		snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lu:%lu", lo, top);
	else
		snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lu:%lu HEADER "
		    "X-Mailcanary-Probe \"%s\"", lo, top, probe);
	if (mailbox_request(mb, mb->folder_url, cmd, 0, "IMAP SEARCH", err) ==
	    -1)
		return -1;
	n = mailbox_parse_search(mb->out.data ? mb->out.data : "", uids,
	    MAILBOX_SEARCH_CHUNK + 1);
	if (n < 0)
		return error_set(err, "IMAP %s: unreadable reply to UID "
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
	unsigned long uidvalidity, uidnext, hi, *uids = NULL;
	char cmd[512];
	long n;
	int rc = -1, r;

	snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY UIDNEXT)",
	    mb->folder);
	if (mailbox_request(mb, mb->base, cmd, 0, "IMAP STATUS", err) == -1)
		return -1;
	if (mailbox_parse_status(mb->out.data ? mb->out.data : "",
	    &uidvalidity, &uidnext) == -1)
		return error_set(err, "IMAP %s: unreadable reply to STATUS "
		    "for %s", mb->t.host, mb->folder);
	if (uidvalidity != cur->uidvalidity) {
		/* RFC 3501 2.3.1.1: old UIDs mean nothing now; rescan. */
		if (cur->uidvalidity != 0)
			log_info("UIDVALIDITY of %s changed; rescanning",
			    mb->folder);
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
		    mb->folder, cur->last_uid, uidnext);
		cur->last_uid = 0;
	}
	if (uidnext - 1 <= cur->last_uid)
		return 0;		/* nothing new: STATUS was enough */
	/*
	 * UIDNEXT only says something may be new. How far the cursor may
	 * go is the highest UID that is there: a UIDNEXT that jumps must
	 * not carry it past UIDs still to be assigned.
	 */
	if (mailbox_request(mb, mb->folder_url, "UID SEARCH UID *", 0,
	    "IMAP SEARCH", err) == -1)
		return -1;
	if ((n = mailbox_parse_search(mb->out.data ? mb->out.data : "", &hi,
	    1)) < 0)
		return error_set(err, "IMAP %s: unreadable reply to UID "
		    "SEARCH UID *", mb->t.host);
	if (n == 0 || hi <= cur->last_uid)
		return 0;		/* empty, or what was new is gone */
	if (hi > uidnext - 1)
		log_debug("%s: UID %lu is there, UIDNEXT was %lu", mb->folder,
		    hi, uidnext);
	if ((uids = calloc(MAILBOX_SEARCH_CHUNK + 1, sizeof(*uids))) == NULL)
		return error_set(err, "out of memory");
	/*
	 * New UIDs are searched in chunks, and the cursor moves after each:
	 * a first scan of a huge mailbox spreads over runs instead of
	 * timing out again and again without progress.
	 */
	while (cur->last_uid < hi) {
		unsigned long lo = cur->last_uid + 1, top = hi;

		if (top - lo >= MAILBOX_SEARCH_CHUNK)
			top = lo + MAILBOX_SEARCH_CHUNK - 1;
		if ((r = imap_scan_range(mb, cur, probe, lo, top, uids, cb,
		    arg, err)) == -1)
			goto out;
		if (r == 1 || (cur->last_uid < hi &&
		    deadline_left_ms() < deadline_budget() * 500)) {
			log_info("%s: scanned up to UID %lu of %lu; the rest "
			    "next run", mb->folder, cur->last_uid, hi);
			break;
		}
	}
	rc = 0;
out:
	free(uids);
	return rc;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct uidl {
	unsigned long	 num;
	char		*uidl;
};

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
		if (parse_nz32(line, &end, &v[n].num) == -1 || *end != '\0' ||
		    !uidl_valid(sp + 1))
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
		return message_failed(&m, "POP3 LIST", cb, arg, err) == 0 ?
		    0 : mailbox_stopped(mb, err);
	}
	if (mailbox_parse_list(mb->line, num, &size) == -1) {
		error_set(err, "POP3 %s: unreadable reply to LIST %lu",
		    mb->t.host, num);
		return message_failed(&m, "POP3 LIST", cb, arg, err) == 0 ?
		    0 : mailbox_stopped(mb, err);
	}
	m.size = size;
	snprintf(cmd, sizeof(cmd), "TOP %lu 0", num);
	if (size > (unsigned long)mb->cfg->max_message_size) {
		/* Never download it: the start of its header, for a person. */
		sink_buf(mb, MAILBOX_PEEK_MAX, 1);
		if (mailbox_request(mb, mb->base, cmd, 0, "POP3 TOP", err) ==
		    -1 && mb->fail == FAIL_BROKEN)
			return -1;
		m.kind = MAILBOX_OVERSIZE;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
		m.arrived = received_date(m.hdr, m.len);
		return deliver(mb, &m, cb, arg, err);
	}
	if (!mb->whole) {
		sink_buf(mb, MAILBOX_HEADER_FETCH, 1);
		if (mailbox_request(mb, mb->base, cmd, 0, "POP3 TOP", err) ==
		    -1) {
			if (mb->fail == FAIL_BROKEN)
				return -1;
			return message_failed(&m, "POP3 TOP", cb, arg, err) ==
			    0 ? 0 : mailbox_stopped(mb, err);
		}
		m.kind = MAILBOX_HEADERS;
		m.hdr = mb->out.data ? mb->out.data : "";
		m.len = mb->out.len;
		m.arrived = received_date(m.hdr, m.len);
		return deliver(mb, &m, cb, arg, err);
	}
	if (mailbox_tmpfile(mb, err) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "RETR %lu", num);
	sink_file(mb, (size_t)mb->cfg->max_message_size);
	if (mailbox_request(mb, mb->base, cmd, 0, "POP3 RETR", err) == -1) {
		if (mb->fail == FAIL_BROKEN)
			return -1;
		return message_failed(&m, "POP3 RETR", cb, arg, err) == 0 ?
		    0 : mailbox_stopped(mb, err);
	}
	/* The arrival date is in the header block at the file's start. */
	if ((hdr = malloc(MESSAGE_HEADER_MAX)) != NULL) {
		if ((n = pread(mb->tmpfd, hdr, MESSAGE_HEADER_MAX, 0)) > 0)
			m.arrived = received_date(hdr, (size_t)n);
		free(hdr);
	}
	if (lseek(mb->tmpfd, 0, SEEK_SET) == -1)
		return error_set(err, "cannot rewind the temporary file: %s",
		    strerror(errno));
	m.kind = MAILBOX_WHOLE;
	m.fd = mb->tmpfd;
	return deliver(mb, &m, cb, arg, err);
}

static int
pop3_scan(struct mailbox *mb, struct cursor *cur, mailbox_cb cb, void *arg,
    struct mc_error *err)
{
	struct uidl *list = NULL;
	char **seen = NULL, *listing = NULL, *key;
	size_t nseen = 0, i;
	long n, sessions;
	int rc = -1, stop = 0, failed = 0, same;

	if (mailbox_request(mb, mb->base, "UIDL", 0, "POP3 UIDL", err) == -1)
		return -1;
	sessions = mb->sessions;
	listing = buf_steal(&mb->out);
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	if ((n = pop3_parse_uidl(listing, &list)) < 0) {
		error_set(err, "POP3 %s: unreadable reply to UIDL", mb->t.host);
		goto out;
	}
	if ((size_t)n > STATE_SEEN_MAX) {
		error_set(err, "POP3 %s: more than %d messages", mb->t.host,
		    STATE_SEEN_MAX);
		goto out;
	}
	qsort(cur->seen, cur->nseen, sizeof(char *), str_cmp);
	if ((seen = calloc((size_t)n + 1, sizeof(char *))) == NULL) {
		error_set(err, "out of memory");
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
			error_set(err, "out of memory");
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

int
mailbox_scan(struct mailbox *mb, struct cursor *cur, const char *probe,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	/* A cursor belongs to one mailbox; another URL starts afresh. */
	if (cur->url == NULL || strcmp(cur->url, mb->url) != 0) {
		cursor_reset(cur, 0);
		state_set_str(&cur->url, mb->url);
	}
	mb->fetched = 0;
	return mb->pop3 ? pop3_scan(mb, cur, cb, arg, err) :
	    imap_scan(mb, cur, probe, cb, arg, err);
}

static void
pending_remove(struct cursor *cur, size_t idx)
{
	free(cur->pending[idx]);
	cur->pending[idx] = cur->pending[--cur->npending];
}

int
mailbox_delete(struct mailbox *mb, struct cursor *cur, struct mc_error *err)
{
	struct buf set;
	struct uidl *list = NULL;
	char cmd[64], *listing;
	size_t i, k;
	long n;

	if (cur->npending == 0)
		return 0;
	if (!mb->pop3) {
		buf_init(&set, 1024 * 1024);
		for (i = 0; i < cur->npending; i++)
			buf_addf(&set, "%s%s", i ? "," : "", cur->pending[i]);
		if (set.overflow) {
			buf_free(&set);
			return error_set(err, "too many messages to delete");
		}
		/* RFC 4315 UID EXPUNGE: only these, never another's \Deleted. */
		if (asprintf(&listing, "UID STORE %s +FLAGS.SILENT (\\Deleted)",
		    set.data) == -1 || mailbox_request(mb, mb->folder_url,
		    listing, 0, "IMAP STORE", err) == -1) {
			buf_free(&set);
			free(listing);
			return -1;
		}
		free(listing);
		if (asprintf(&listing, "UID EXPUNGE %s", set.data) == -1 ||
		    mailbox_request(mb, mb->folder_url, listing, 0,
		    "IMAP EXPUNGE", err) == -1) {
			buf_free(&set);
			free(listing);
			return -1;
		}
		free(listing);
		buf_free(&set);
		while (cur->npending > 0)
			pending_remove(cur, cur->npending - 1);
		return 0;
	}
	if (mailbox_request(mb, mb->base, "UIDL", 0, "POP3 UIDL", err) == -1)
		return -1;
	listing = buf_steal(&mb->out);
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	if ((n = pop3_parse_uidl(listing, &list)) < 0) {
		free(listing);
		return error_set(err, "POP3 %s: unreadable reply to UIDL",
		    mb->t.host);
	}
	for (i = 0; i < cur->npending;) {
		for (k = 0; k < (size_t)n; k++)
			if (strcmp(list[k].uidl, cur->pending[i]) == 0)
				break;
		if (k == (size_t)n) {		/* already gone */
			pending_remove(cur, i);
			continue;
		}
		snprintf(cmd, sizeof(cmd), "DELE %lu", list[k].num);
		if (mailbox_request(mb, mb->base, cmd, 1, "POP3 DELE",
		    err) == -1) {
			free(list);
			free(listing);
			return -1;
		}
		pending_remove(cur, i);
	}
	free(list);
	free(listing);
	return 0;
}
