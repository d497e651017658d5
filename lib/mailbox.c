/*
 * mailbox.c - the scanning half of a probe cycle.
 *
 * IMAP: STATUS gives UIDVALIDITY and UIDNEXT; when nothing is new the
 * scan ends there. Otherwise a server-side UID SEARCH over the new UIDs
 * only picks the messages that carry X-Mailcanary-Probe, and only their
 * headers are fetched. libcurl passes the untagged lines of custom
 * commands to the write callback but drops literals, so headers are
 * fetched through ";UID=n;SECTION=HEADER" URLs instead.
 *
 * POP3: UIDL lists the mailbox; only UIDLs not examined before are read
 * with TOP n 0. Arrival is the date of the topmost Received: field.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "deadline.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "net.h"
#include "sort.h"

#define MAILBOX_REPLY_MAX	(8 * 1024 * 1024)
#define MAILBOX_SEARCH_CHUNK	20000	/* UIDs one SEARCH covers */

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
};

static size_t
mailbox_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	if (buf_add(b, p, size * nmemb) == -1)
		return 0;	/* past the cap: libcurl aborts the transfer */
	return size * nmemb;
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
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
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
	curl_easy_setopt(mb->h, CURLOPT_PROTOCOLS_STR,
	    mb->pop3 ? "pop3,pop3s" : "imap,imaps");
	curl_easy_setopt(mb->h, CURLOPT_WRITEFUNCTION, mailbox_write);
	curl_easy_setopt(mb->h, CURLOPT_WRITEDATA, &mb->out);
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
 * One request on the shared connection. cmd NULL: plain URL fetch.
 * The reply lands in mb->out.
 */
static int
mailbox_request(struct mailbox *mb, const char *url, const char *cmd,
    int nobody, struct mc_error *err)
{
	CURLcode rc;

	buf_reset(&mb->out);
	mb->errbuf[0] = '\0';
	curl_easy_setopt(mb->h, CURLOPT_URL, url);
	curl_easy_setopt(mb->h, CURLOPT_CUSTOMREQUEST, cmd);
	curl_easy_setopt(mb->h, CURLOPT_NOBODY, nobody ? 1L : 0L);
	if (net_limits(mb->h, &mb->t, err) == -1)
		return error_prefix(err, "%s %s", mb->pop3 ? "POP3" : "IMAP",
		    mb->t.host);
	rc = curl_easy_perform(mb->h);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR && mb->out.overflow)
			return error_set(err, "%s %s: reply larger than %d "
			    "bytes at %s", mb->pop3 ? "POP3" : "IMAP",
			    mb->t.host, MAILBOX_REPLY_MAX, mb->t.step);
		return net_error(err, mb->pop3 ? "POP3" : "IMAP", rc, &mb->t,
		    mb->errbuf);
	}
	return 0;
}

static int
parse_ulong_after(const char *s, const char *key, unsigned long *out)
{
	const char *p = strcasestr(s, key);
	char *end;
	unsigned long v;

	if (p == NULL)
		return -1;
	p += strlen(key);
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || (*end != ' ' && *end != ')' && *end != ']' &&
	    *end != '\r' && *end != '\n' && *end != '\0'))
		return -1;
	*out = v;
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

/* Searches UIDs lo..top for this probe's canaries; moves the cursor. */
static int
imap_scan_range(struct mailbox *mb, struct cursor *cur, const char *probe,
    unsigned long lo, unsigned long top, unsigned long *uids, mailbox_cb cb,
    void *arg, struct mc_error *err)
{
	char cmd[512], *url = NULL, *line, refbuf[32];
	long n, i, j;
	time_t arrived;
	int rc = -1;

	if (mb->whole)
		snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lu:%lu", lo, top);
	else
		snprintf(cmd, sizeof(cmd), "UID SEARCH UID %lu:%lu HEADER "
		    "X-Mailcanary-Probe \"%s\"", lo, top, probe);
	if (mailbox_request(mb, mb->folder_url, cmd, 0, err) == -1)
		return -1;
	n = mailbox_parse_search(mb->out.data ? mb->out.data : "", uids,
	    MAILBOX_SEARCH_CHUNK + 1);
	if (n < 0)
		return error_set(err, "IMAP %s: unreadable SEARCH reply",
		    mb->t.host);
	qsort(uids, (size_t)n, sizeof(*uids), sort_ulong_cmp);
	for (i = 0; i < n && i < MAILBOX_FETCH_MAX; i++) {
		/* "n:m" also matches the highest UID below n (RFC 3501). */
		if (uids[i] < lo || uids[i] > top)
			continue;
		if (i == MAILBOX_FETCH_MAX - 1)
			top = uids[i];	/* the rest waits for the next run */
		snprintf(cmd, sizeof(cmd), "UID FETCH %lu (UID INTERNALDATE "
		    "RFC822.SIZE)", uids[i]);
		if (mailbox_request(mb, mb->folder_url, cmd, 0, err) == -1)
			goto out;
		arrived = 0;
		line = mb->out.data ? strstr(mb->out.data, "INTERNALDATE \"") :
		    NULL;
		if (line != NULL) {
			char date[64];

			line += 14;
			for (j = 0; line[j] && line[j] != '"' &&
			    j < (long)sizeof(date) - 1; j++)
				date[j] = line[j];
			date[j] = '\0';
			if (date_parse_imap(date, &arrived) == -1)
				arrived = 0;
		}
		if (mb->whole) {
			unsigned long size = 0;

			/* Never fetch what the parser would refuse anyway. */
			if (parse_ulong_after(mb->out.data ? mb->out.data : "",
			    "RFC822.SIZE ", &size) == -1 ||
			    size > MAILBOX_WHOLE_MAX) {
				log_info("UID %lu: %lu bytes, not fetched",
				    uids[i], size);
				continue;
			}
		}
		free(url);
		if (asprintf(&url, mb->whole ? "%s;UID=%lu" :
		    "%s;UID=%lu;SECTION=HEADER", mb->folder_url,
		    uids[i]) == -1) {
			url = NULL;
			error_set(err, "out of memory");
			goto out;
		}
		if (mailbox_request(mb, url, NULL, 0, err) == -1)
			goto out;
		snprintf(refbuf, sizeof(refbuf), "%lu", uids[i]);
		cb(arg, refbuf, arrived, mb->out.data ? mb->out.data : "",
		    mb->out.len);
	}
	cur->last_uid = top;
	rc = 0;
out:
	free(url);
	return rc;
}

static int
imap_scan(struct mailbox *mb, struct cursor *cur, const char *probe,
    mailbox_cb cb, void *arg, struct mc_error *err)
{
	unsigned long uidvalidity, uidnext, hi, *uids = NULL;
	char cmd[512];
	int rc = -1;

	snprintf(cmd, sizeof(cmd), "STATUS \"%s\" (UIDVALIDITY UIDNEXT)",
	    mb->folder);
	if (mailbox_request(mb, mb->base, cmd, 0, err) == -1)
		return -1;
	if (mailbox_parse_status(mb->out.data ? mb->out.data : "",
	    &uidvalidity, &uidnext) == -1)
		return error_set(err, "IMAP %s: no usable STATUS reply for "
		    "%s", mb->t.host, mb->folder);
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
	hi = uidnext - 1;
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
		if (imap_scan_range(mb, cur, probe, lo, top, uids, cb, arg,
		    err) == -1)
			goto out;
		if (cur->last_uid < hi &&
		    deadline_left_ms() < deadline_budget() * 500) {
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

static int
pop3_scan(struct mailbox *mb, struct cursor *cur, mailbox_cb cb, void *arg,
    struct mc_error *err)
{
	struct uidl *list = NULL;
	char **seen = NULL, cmd[64], *listing = NULL, *key;
	size_t nseen = 0, i, fetched = 0;
	long n;
	time_t arrived;
	int rc = -1;

	if (mailbox_request(mb, mb->base, "UIDL", 0, err) == -1)
		return -1;
	listing = buf_steal(&mb->out);
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	if ((n = pop3_parse_uidl(listing, &list)) < 0) {
		error_set(err, "POP3 %s: unreadable UIDL reply", mb->t.host);
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
			if (fetched >= MAILBOX_FETCH_MAX)
				continue;	/* examined next run */
			fetched++;
			snprintf(cmd, sizeof(cmd), mb->whole ? "RETR %lu" :
			    "TOP %lu 0", list[i].num);
			if (mailbox_request(mb, mb->base, cmd, 0, err) == -1)
				goto out;
			arrived = 0;
			{
				struct headers *hs = malloc(sizeof(*hs));
				const char *rv, *semi;

				if (hs != NULL && headers_parse(mb->out.data ?
				    mb->out.data : "", mb->out.len, hs,
				    NULL) == 0) {
					rv = headers_get(hs, "Received");
					if (rv && (semi = strrchr(rv, ';')) &&
					    date_parse_rfc5322(semi + 1,
					    &arrived) == -1)
						arrived = 0;
					headers_free(hs);
				}
				free(hs);
			}
			cb(arg, key, arrived, mb->out.data ? mb->out.data : "",
			    mb->out.len);
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
	rc = 0;
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
		    set.data) == -1 ||
		    mailbox_request(mb, mb->folder_url, listing, 0, err) == -1) {
			buf_free(&set);
			free(listing);
			return -1;
		}
		free(listing);
		if (asprintf(&listing, "UID EXPUNGE %s", set.data) == -1 ||
		    mailbox_request(mb, mb->folder_url, listing, 0, err) == -1) {
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
	if (mailbox_request(mb, mb->base, "UIDL", 0, err) == -1)
		return -1;
	listing = buf_steal(&mb->out);
	buf_init(&mb->out, MAILBOX_REPLY_MAX);
	if ((n = pop3_parse_uidl(listing, &list)) < 0) {
		free(listing);
		return error_set(err, "POP3 %s: unreadable UIDL reply",
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
		if (mailbox_request(mb, mb->base, cmd, 1, err) == -1) {
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
