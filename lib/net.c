/*
 * net.c - common libcurl setup. Every limit comes from the run's single
 * deadline, so no transfer can outlive -t; a SIGTERM aborts the transfer
 * at the next progress callback.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "deadline.h"
#include "log.h"
#include "net.h"

struct verb_step {
	enum net_proto	 proto;
	const char	*verb;
	const char	*step;
};

/* Steps are static strings: the signal backstop prints them. */
static const struct verb_step verb_steps[] = {
	{ NET_SMTP, "EHLO", "SMTP EHLO" },
	{ NET_SMTP, "HELO", "SMTP HELO" },
	{ NET_SMTP, "STARTTLS", "SMTP STARTTLS" },
	{ NET_SMTP, "AUTH", "SMTP AUTH" },
	{ NET_SMTP, "MAIL", "SMTP MAIL FROM" },
	{ NET_SMTP, "RCPT", "SMTP RCPT TO" },
	{ NET_SMTP, "DATA", "SMTP DATA" },
	{ NET_SMTP, "QUIT", "SMTP QUIT" },
	{ NET_IMAP, "CAPABILITY", "IMAP CAPABILITY" },
	{ NET_IMAP, "STARTTLS", "IMAP STARTTLS" },
	{ NET_IMAP, "LOGIN", "IMAP LOGIN" },
	{ NET_IMAP, "AUTHENTICATE", "IMAP AUTHENTICATE" },
	{ NET_IMAP, "SELECT", "IMAP SELECT" },
	{ NET_IMAP, "STATUS", "IMAP STATUS" },
	{ NET_IMAP, "UID", "IMAP UID command" },
	{ NET_IMAP, "FETCH", "IMAP FETCH" },
	{ NET_IMAP, "LOGOUT", "IMAP LOGOUT" },
	{ NET_POP3, "CAPA", "POP3 CAPA" },
	{ NET_POP3, "STLS", "POP3 STLS" },
	{ NET_POP3, "USER", "POP3 USER" },
	{ NET_POP3, "PASS", "POP3 PASS" },
	{ NET_POP3, "AUTH", "POP3 AUTH" },
	{ NET_POP3, "UIDL", "POP3 UIDL" },
	{ NET_POP3, "TOP", "POP3 TOP" },
	{ NET_POP3, "DELE", "POP3 DELE" },
	{ NET_POP3, "QUIT", "POP3 QUIT" },
};

static const char *const connect_step[] = {
	"SMTP connect", "IMAP connect", "POP3 connect"
};
static const char *const greeting_step[] = {
	"SMTP greeting", "IMAP greeting", "POP3 greeting"
};

/* Whether a server line refuses what was asked. */
static int
is_refusal(enum net_proto proto, const char *line)
{
	const char *p;

	switch (proto) {
	case NET_SMTP:
		return (line[0] == '4' || line[0] == '5') &&
		    isdigit((unsigned char)line[1]) &&
		    isdigit((unsigned char)line[2]);
	case NET_POP3:
		return strncmp(line, "-ERR", 4) == 0;
	case NET_IMAP:
		/* "A001 NO ..." or "A001 BAD ...", not untagged lines. */
		if (line[0] == '*' || (p = strchr(line, ' ')) == NULL)
			return 0;
		return strncmp(p, " NO ", 4) == 0 || strncmp(p, " BAD ", 5) == 0;
	}
	return 0;
}

void
net_sanitize(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
		else if (*p == '|')
			*p = '/';
		else if (*p >= 0x80)
			*p = '?';
	}
}

static void
trace_line(char *dst, size_t dstlen, const char *data, size_t len)
{
	size_t n;

	/* Keep the last complete line of what arrived. */
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	n = len;
	while (n > 0 && data[n - 1] != '\n')
		n--;
	data += n;
	len -= n;
	if (len == 0)
		return;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, data, len);
	dst[len] = '\0';
	net_sanitize(dst);
}

static void
trace_command(struct net_trace *t, const char *data, size_t len)
{
	char word[32];
	const char *p = data, *end = data + len;
	size_t i, n;

	/* IMAP commands start with a tag. */
	if (t->proto == NET_IMAP) {
		while (p < end && *p != ' ')
			p++;
		if (p < end)
			p++;
	}
	for (n = 0; p + n < end && n < sizeof(word) - 1 &&
	    isalpha((unsigned char)p[n]); n++)
		word[n] = (char)toupper((unsigned char)p[n]);
	word[n] = '\0';
	for (i = 0; i < sizeof(verb_steps) / sizeof(verb_steps[0]); i++)
		if (verb_steps[i].proto == t->proto &&
		    strcmp(verb_steps[i].verb, word) == 0) {
			t->step = verb_steps[i].step;
			deadline_step(t->step);
			break;
		}
	if (log_level() >= LOG_LEVEL_DEBUG) {
		/* Credentials never reach the log. */
		if (strcmp(word, "AUTH") == 0 || strcmp(word, "LOGIN") == 0 ||
		    strcmp(word, "PASS") == 0 || strcmp(word,
		    "AUTHENTICATE") == 0 || t->step == NULL)
			log_debug("%s > %s ...", t->host, word);
		else
			log_debug("%s > %.*s", t->host, (int)(len > 200 ? 200 :
			    len - (len && data[len - 1] == '\n') -
			    (len > 1 && data[len - 2] == '\r')), data);
	}
}

static int
net_debug(CURL *h, curl_infotype type, char *data, size_t len, void *arg)
{
	struct net_trace *t = arg;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_IN:
		trace_line(t->reply, sizeof(t->reply), data, len);
		log_debug("%s < %s", t->host, t->reply);
		if (t->fail_step == NULL && is_refusal(t->proto, t->reply)) {
			memcpy(t->fail_reply, t->reply, sizeof(t->fail_reply));
			t->fail_step = t->step;
		}
		/* After 354 the server waits for the message itself. */
		if (t->proto == NET_SMTP && strncmp(t->reply, "354", 3) == 0) {
			t->step = "SMTP end of data";
			deadline_step(t->step);
		}
		break;
	case CURLINFO_HEADER_OUT:
		trace_command(t, data, len);
		break;
	case CURLINFO_TEXT:
		if (t->step == connect_step[t->proto] && len > 12 &&
		    strncmp(data, "Connected to", 12) == 0) {
			t->step = greeting_step[t->proto];
			deadline_step(t->step);
		}
		if (log_level() >= LOG_LEVEL_DEBUG)
			log_debug("%s * %.*s", t->host, (int)(len &&
			    data[len - 1] == '\n' ? len - 1 : len), data);
		break;
	default:
		break;
	}
	return 0;
}

static int
net_progress(void *arg, curl_off_t dltot, curl_off_t dlnow,
    curl_off_t ultot, curl_off_t ulnow)
{
	(void)arg; (void)dltot; (void)dlnow; (void)ultot; (void)ulnow;
	return deadline_signal != 0;
}

void
net_hostport(const char *url, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;

	snprintf(out, outlen, "?");
	if (u == NULL)
		return;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ==
	    CURLUE_OK)
		snprintf(out, outlen, "%s:%s", host, port);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	net_sanitize(out);
}

int
net_setup(CURL *h, const struct config *cfg, int tls, const char *user,
    const char *password, struct net_trace *t, char *errbuf)
{
	static const long use_ssl[] = { CURLUSESSL_ALL, CURLUSESSL_TRY,
	    CURLUSESSL_NONE };

	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, net_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, t);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, net_progress);
	curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl[tls]);
	if (cfg->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (user != NULL)
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
	if (password != NULL)
		curl_easy_setopt(h, CURLOPT_PASSWORD, password);
	/* Bound what a hostile server can make us hold per response line. */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)64 * 1024 * 1024);
	t->step = connect_step[t->proto];
	t->reply[0] = '\0';
	t->fail_reply[0] = '\0';
	t->fail_step = NULL;
	return 0;
}

int
net_limits(CURL *h, struct net_trace *t, struct mc_error *err)
{
	long left = deadline_left_ms();

	if (deadline_signal)
		return error_set(err, "terminated by a signal before %s",
		    t->step);
	if (left <= 50)
		return error_set(err, "timed out after %.0fs before %s",
		    deadline_budget(), t->step);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left);
	t->fail_reply[0] = '\0';
	t->fail_step = NULL;
	deadline_step(t->step);
	return 0;
}

int
net_error(struct mc_error *err, const char *what, CURLcode rc,
    const struct net_trace *t, const char *errbuf)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (rc == CURLE_ABORTED_BY_CALLBACK && deadline_signal)
		return error_set(err, "%s %s: terminated by a signal at %s",
		    what, t->host, t->step);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return error_set(err, "%s %s: timed out after %.0fs at %s%s%s",
		    what, t->host, deadline_budget(), t->step,
		    t->reply[0] ? ", last reply: " : "", t->reply);
	/* The server's own words are the most useful part. */
	if (t->fail_step != NULL)
		return error_set(err, "%s %s failed at %s: %s (%s)", what,
		    t->host, t->fail_step, t->fail_reply, why);
	if (t->reply[0] && rc != CURLE_COULDNT_CONNECT &&
	    rc != CURLE_COULDNT_RESOLVE_HOST && rc !=
	    CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_SSL_CONNECT_ERROR)
		return error_set(err, "%s %s failed at %s: %s (%s)", what,
		    t->host, t->step, t->reply, why);
	return error_set(err, "%s %s failed at %s: %s", what, t->host,
	    t->step, why);
}
