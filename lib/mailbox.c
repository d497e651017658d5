/*
 * mailbox.c - the scanning half of a probe cycle: the part of the mailbox
 * module that IMAP and POP3 share. mailbox_open() picks the protocol's
 * handler (imap.c, pop3.c) once, from the URL's scheme; scanning and
 * deleting are the handler's. This file owns the libcurl handle and the
 * one request helper every command goes through, where each reply lands
 * (memory with a cap, or the temporary file), the mailbox cursor's tie to
 * its URL, and handing each message to the caller, as it is or as one
 * that could not be downloaded.
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
#include "imap.h"
#include "mailbox.h"
#include "mailbox_handler.h"
#include "net.h"
#include "oauth2.h"
#include "text.h"
#include "pop3.h"

/*
 * libcurl keeps only the first 40 bytes of a reply line longer than half
 * its receive buffer. The untagged SEARCH reply is one line: with the
 * default 16 KiB buffer, a search that matched more than some 700 UIDs
 * came back as a dozen of them, and the cursor passed the rest unread.
 * The buffer is made large enough for the longest reply a chunk can give
 * ("* SEARCH" and up to IMAP_SEARCH_CHUNK UIDs of 10 digits).
 */
#define MAILBOX_CURL_BUFFER	(512 * 1024)
_Static_assert(MAILBOX_CURL_BUFFER / 2 > 8 + IMAP_SEARCH_CHUNK * 11 + 2,
    "a SEARCH reply of a whole chunk fits half the receive buffer");

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

/*
 * Every server line, for single-line replies; not one that answers
 * libcurl's own LOGOUT or QUIT (net's trace says when it sent them).
 */
static size_t
mailbox_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mailbox *mb = arg;
	size_t n = size * nmemb, k = n;

	if (mb->t.closing)
		return n;
	while (k > 0 && (p[k - 1] == '\n' || p[k - 1] == '\r'))
		k--;
	if (k >= sizeof(mb->line))
		k = sizeof(mb->line) - 1;
	memcpy(mb->line, p, k);
	mb->line[k] = '\0';
	return n;
}

void
mailbox_sink_buf(struct mailbox *mb, size_t cap, int drop)
{
	mb->sink_fd = -1;
	mb->sink_cap = cap;
	mb->sink_drop = drop;
}

void
mailbox_sink_file(struct mailbox *mb, size_t cap)
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
	mb->handler->close(mb);
	if (mb->tmpfd != -1)
		close(mb->tmpfd);
	buf_free(&mb->out);
	free(mb->base);
	oauth2_free_token(mb->bearer);
	free(mb);
	return NULL;
}

int
mailbox_bearer(struct mailbox *mb, int use, struct mc_error *err)
{
	if (oauth2_bearer(mb->cfg, use, &mb->bearer, err) == -1)
		return -1;
	mb->bearer_use = use;
	net_bearer(mb->h, &mb->t, mb->bearer);
	return 0;
}

struct mailbox *
mailbox_open(const struct config *cfg, const char *url, const char *user,
    const char *password, int whole, struct mc_error *err)
{
	struct mailbox *mb;
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int tls;

	if ((mb = calloc(1, sizeof(*mb))) == NULL) {
		error_set(err, MC_ERR_NOMEM, "out of memory");
		return NULL;
	}
	mb->cfg = cfg;
	mb->url = url;
	mb->whole = whole;
	mb->tmpfd = -1;
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	mailbox_sink_buf(mb, MAILBOX_REPLY_MAX, 0);
	/* The one place the protocol is chosen; the rest asks the handler. */
	mb->handler = strncasecmp(url, "pop3", 4) == 0 ? &pop3_handler :
	    &imap_handler;
	mb->t.proto = mb->handler->net_proto;
	net_hostport(url, mb->t.host, sizeof(mb->t.host));
	if ((u = curl_url()) == NULL ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) !=
	    CURLUE_OK) {
		error_set(err, MC_ERR_CONFIG,
		    "mailbox URL '%s' cannot be parsed", url);
		goto fail;
	}
	if (asprintf(&mb->base, "%s://%s:%s/", scheme, host, port) == -1) {
		mb->base = NULL;
		error_set(err, MC_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (mb->handler->open(mb, path, err) == -1)
		goto fail;
	if ((mb->h = curl_easy_init()) == NULL) {
		error_set(err, MC_ERR_INTERNAL, "cannot start libcurl");
		goto fail;
	}
	tls = (strcasecmp(scheme, "imaps") == 0 ||
	    strcasecmp(scheme, "pop3s") == 0) ? STARTTLS_NEVER :
	    cfg->mailbox_starttls;
	net_setup(mb->h, cfg, tls, user, password, &mb->t, mb->errbuf);
	mb->connect_step = mb->t.step;
	curl_easy_setopt(mb->h, CURLOPT_PROTOCOLS_STR, mb->handler->protocols);
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

int
mailbox_request(struct mailbox *mb, const char *url, const char *cmd,
    int nobody, const char *step, struct mc_error *err)
{
	const char *name = mb->handler->name;
	CURLcode rc;
	long nconn = 0;
	size_t cap = mb->sink_cap;
	int to_file = mb->sink_fd != -1;

	buf_reset(&mb->out);
	mb->sink_got = 0;
	mb->sink_over = 0;
	mb->sink_errno = 0;
	mb->line[0] = '\0';
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
		mailbox_sink_buf(mb, MAILBOX_REPLY_MAX, 0);
		return error_prefix(err, "%s %s", name, mb->t.host);
	}
	rc = curl_easy_perform(mb->h);
	mailbox_sink_buf(mb, MAILBOX_REPLY_MAX, 0);
	if (curl_easy_getinfo(mb->h, CURLINFO_NUM_CONNECTS, &nconn) ==
	    CURLE_OK && nconn > 0)
		mb->sessions += nconn;
	mb->closed = rc != CURLE_OK;
	if (rc == CURLE_OK)
		return 0;
	if (mb->sink_errno != 0 && to_file)
		return error_set(err, MC_ERR_FILE,
		    "cannot write a message to a temporary "
		    "file in %s: %s", mb->cfg->state_dir,
		    strerror(mb->sink_errno));
	if (mb->sink_errno != 0)
		return error_set(err, MC_ERR_NOMEM,
		    "%s %s: out of memory for the reply to "
		    "%s", name, mb->t.host, step);
	if (rc == CURLE_WRITE_ERROR && mb->sink_over) {
		/* Listings are all-or-nothing; a message is only itself. */
		if (to_file)
			mb->fail = FAIL_MESSAGE;
		return error_set(err, MC_ERR_LIMIT,
		    "%s %s: reply to %s larger than %zu "
		    "bytes", name, mb->t.host, step, cap);
	}
	/* net's trace never lets libcurl's LOGOUT or QUIT stand for it. */
	net_error(err, name, rc, &mb->t, mb->errbuf);
	/* The server refused the token: say what to check, fetch anew. */
	if (mb->bearer != NULL && mb->t.fail_step != NULL &&
	    strstr(mb->t.fail_step, "AUTH") != NULL)
		oauth2_refused(mb->cfg, mb->bearer_use, err);
	/*
	 * A refusal on a session that was already there answers the
	 * command itself: only this message is lost. On a new session it
	 * may be the login or SELECT refused, which is no message's fault.
	 */
	if (err->code == MC_ERR_SERVER && rc != CURLE_OPERATION_TIMEDOUT &&
	    rc != CURLE_ABORTED_BY_CALLBACK && nconn == 0 &&
	    (mb->t.fail_step != NULL ||
	    rc == CURLE_REMOTE_FILE_NOT_FOUND ||
	    (rc == CURLE_FILESIZE_EXCEEDED && to_file)))
		mb->fail = FAIL_MESSAGE;
	return -1;
}

int
mailbox_stopped(struct mailbox *mb, struct mc_error *err)
{
	if (deadline_signal)
		return error_set(err, MC_ERR_SIGNAL,
		    "%s %s: terminated by a signal at %s",
		    mb->handler->name, mb->t.host, deadline_current_step());
	return error_set(err, MC_ERR_TIMEOUT,
	    "%s %s: timed out after %.0fs at %s",
	    mb->handler->name, mb->t.host, deadline_budget(),
	    deadline_current_step());
}

/*
 * Past half the budget, a first scan of a huge mailbox spreads over runs
 * instead of timing out again and again; but only once it has made some
 * progress.
 */
int
mailbox_enough(const struct mailbox *mb)
{
	return mb->fetched > 0 && deadline_left_ms() <
	    deadline_budget() * 500;
}

int
mailbox_tmpfile(struct mailbox *mb, struct mc_error *err)
{
	const char *dir = mb->cfg->state_dir;
	char *path;
	int fd, saved;

	if (mb->tmpfd != -1) {
		if (ftruncate(mb->tmpfd, 0) == -1 ||
		    lseek(mb->tmpfd, 0, SEEK_SET) == -1)
			return error_set(err, MC_ERR_FILE,
			    "cannot reuse the temporary "
			    "file in %s: %s", dir, strerror(errno));
		return 0;
	}
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		/* No O_TMPFILE here: a named file, unlinked at once. */
		if (asprintf(&path, "%s/mailcanary-msg.XXXXXX", dir) == -1)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		if ((fd = mkostemp(path, O_CLOEXEC)) != -1 &&
		    unlink(path) == -1) {
			error_set(err, MC_ERR_FILE,
			    "cannot unlink %s: %s", path,
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
		return error_set(err, MC_ERR_FILE,
		    "cannot create a temporary file in %s: "
		    "%s", dir, strerror(errno));
	mb->tmpfd = fd;
	return 0;
}

int
mailbox_parse_nz32(const char *p, const char **end, unsigned long *out)
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

int
mailbox_parse_num32(const char *p, const char **end, unsigned long *out)
{
	if (p[0] == '0' && !isdigit((unsigned char)p[1])) {
		*end = p + 1;
		*out = 0;
		return 0;
	}
	return mailbox_parse_nz32(p, end, out);
}





int
mailbox_deliver(struct mailbox *mb, const struct mailbox_msg *m,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	if (cb(arg, m, err) == 0)
		return 0;
	if (error_stopped(err))
		return mailbox_stopped(mb, err);
	return error_prefix(err, "%s %s %s %s", mb->handler->name, mb->t.host,
	    m->refname, m->ref);
}

int
mailbox_skip(struct mailbox *mb, struct mailbox_msg *m, const char *step,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	char why[MC_ERROR_MAX];

	snprintf(why, sizeof(why), "%s %s %s: %s", step, m->refname, m->ref,
	    err->msg);
	m->kind = MAILBOX_FAILED;
	m->error = why;
	m->fd = -1;
	m->hdr = NULL;
	m->len = 0;
	return mailbox_deliver(mb, m, cb, arg, err);
}

void
mailbox_pending_drop(struct cursor *cur, size_t idx)
{
	free(cur->pending[idx]);
	cur->pending[idx] = cur->pending[--cur->npending];
}

int
mailbox_scan(struct mailbox *mb, struct cursor *cur, const char *probe,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	/* A cursor belongs to one mailbox; another URL starts afresh. */
	if (cursor_claim(cur, mb->url) == -1)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	mb->fetched = 0;
	return mb->handler->scan(mb, cur, probe, cb, arg, err);
}

int
mailbox_delete(struct mailbox *mb, struct cursor *cur, struct mc_error *err)
{
	if (cur->npending == 0)
		return 0;
	return mb->handler->delete(mb, cur, err);
}
