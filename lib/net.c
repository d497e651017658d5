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

/* What a command is, for the trace. */
enum verb_kind {
	VERB_PLAIN,
	VERB_CLOSE	/* LOGOUT/QUIT: ends the session, names no step */
};

struct verb_step {
	enum net_proto	 proto;
	const char	*verb;		/* upper case; IMAP "UID x" as two */
	const char	*step;
	enum verb_kind	 kind;
};

/*
 * Every command mailcanary or libcurl may send. Steps are static strings:
 * the signal backstop prints them.
 */
static const struct verb_step verb_steps[] = {
	{ NET_SMTP, "EHLO", "SMTP EHLO", VERB_PLAIN },
	{ NET_SMTP, "HELO", "SMTP HELO", VERB_PLAIN },
	{ NET_SMTP, "STARTTLS", "SMTP STARTTLS", VERB_PLAIN },
	{ NET_SMTP, "AUTH", "SMTP AUTH", VERB_PLAIN },
	{ NET_SMTP, "MAIL", "SMTP MAIL FROM", VERB_PLAIN },
	{ NET_SMTP, "RCPT", "SMTP RCPT TO", VERB_PLAIN },
	{ NET_SMTP, "DATA", "SMTP DATA", VERB_PLAIN },
	{ NET_SMTP, "BDAT", "SMTP BDAT", VERB_PLAIN },
	{ NET_SMTP, "RSET", "SMTP RSET", VERB_PLAIN },
	{ NET_SMTP, "NOOP", "SMTP NOOP", VERB_PLAIN },
	{ NET_SMTP, "VRFY", "SMTP VRFY", VERB_PLAIN },
	{ NET_SMTP, "EXPN", "SMTP EXPN", VERB_PLAIN },
	{ NET_SMTP, "HELP", "SMTP HELP", VERB_PLAIN },
	{ NET_SMTP, "QUIT", "SMTP QUIT", VERB_CLOSE },
	{ NET_IMAP, "CAPABILITY", "IMAP CAPABILITY", VERB_PLAIN },
	{ NET_IMAP, "STARTTLS", "IMAP STARTTLS", VERB_PLAIN },
	{ NET_IMAP, "LOGIN", "IMAP LOGIN", VERB_PLAIN },
	{ NET_IMAP, "AUTHENTICATE", "IMAP AUTHENTICATE", VERB_PLAIN },
	{ NET_IMAP, "ID", "IMAP ID", VERB_PLAIN },
	{ NET_IMAP, "ENABLE", "IMAP ENABLE", VERB_PLAIN },
	{ NET_IMAP, "NAMESPACE", "IMAP NAMESPACE", VERB_PLAIN },
	{ NET_IMAP, "SELECT", "IMAP SELECT", VERB_PLAIN },
	{ NET_IMAP, "EXAMINE", "IMAP EXAMINE", VERB_PLAIN },
	{ NET_IMAP, "STATUS", "IMAP STATUS", VERB_PLAIN },
	{ NET_IMAP, "LIST", "IMAP LIST", VERB_PLAIN },
	{ NET_IMAP, "LSUB", "IMAP LSUB", VERB_PLAIN },
	{ NET_IMAP, "CREATE", "IMAP CREATE", VERB_PLAIN },
	{ NET_IMAP, "DELETE", "IMAP DELETE", VERB_PLAIN },
	{ NET_IMAP, "RENAME", "IMAP RENAME", VERB_PLAIN },
	{ NET_IMAP, "SUBSCRIBE", "IMAP SUBSCRIBE", VERB_PLAIN },
	{ NET_IMAP, "UNSUBSCRIBE", "IMAP UNSUBSCRIBE", VERB_PLAIN },
	{ NET_IMAP, "APPEND", "IMAP APPEND", VERB_PLAIN },
	{ NET_IMAP, "IDLE", "IMAP IDLE", VERB_PLAIN },
	{ NET_IMAP, "NOOP", "IMAP NOOP", VERB_PLAIN },
	{ NET_IMAP, "CHECK", "IMAP CHECK", VERB_PLAIN },
	{ NET_IMAP, "CLOSE", "IMAP CLOSE", VERB_PLAIN },
	{ NET_IMAP, "UNSELECT", "IMAP UNSELECT", VERB_PLAIN },
	{ NET_IMAP, "SEARCH", "IMAP SEARCH", VERB_PLAIN },
	{ NET_IMAP, "FETCH", "IMAP FETCH", VERB_PLAIN },
	{ NET_IMAP, "STORE", "IMAP STORE", VERB_PLAIN },
	{ NET_IMAP, "COPY", "IMAP COPY", VERB_PLAIN },
	{ NET_IMAP, "MOVE", "IMAP MOVE", VERB_PLAIN },
	{ NET_IMAP, "EXPUNGE", "IMAP EXPUNGE", VERB_PLAIN },
	{ NET_IMAP, "UID SEARCH", "IMAP UID SEARCH", VERB_PLAIN },
	{ NET_IMAP, "UID FETCH", "IMAP UID FETCH", VERB_PLAIN },
	{ NET_IMAP, "UID STORE", "IMAP UID STORE", VERB_PLAIN },
	{ NET_IMAP, "UID COPY", "IMAP UID COPY", VERB_PLAIN },
	{ NET_IMAP, "UID MOVE", "IMAP UID MOVE", VERB_PLAIN },
	{ NET_IMAP, "UID EXPUNGE", "IMAP UID EXPUNGE", VERB_PLAIN },
	{ NET_IMAP, "LOGOUT", "IMAP LOGOUT", VERB_CLOSE },
	{ NET_POP3, "CAPA", "POP3 CAPA", VERB_PLAIN },
	{ NET_POP3, "STLS", "POP3 STLS", VERB_PLAIN },
	{ NET_POP3, "USER", "POP3 USER", VERB_PLAIN },
	{ NET_POP3, "PASS", "POP3 PASS", VERB_PLAIN },
	{ NET_POP3, "APOP", "POP3 APOP", VERB_PLAIN },
	{ NET_POP3, "AUTH", "POP3 AUTH", VERB_PLAIN },
	{ NET_POP3, "STAT", "POP3 STAT", VERB_PLAIN },
	{ NET_POP3, "LIST", "POP3 LIST", VERB_PLAIN },
	{ NET_POP3, "UIDL", "POP3 UIDL", VERB_PLAIN },
	{ NET_POP3, "TOP", "POP3 TOP", VERB_PLAIN },
	{ NET_POP3, "RETR", "POP3 RETR", VERB_PLAIN },
	{ NET_POP3, "DELE", "POP3 DELE", VERB_PLAIN },
	{ NET_POP3, "NOOP", "POP3 NOOP", VERB_PLAIN },
	{ NET_POP3, "RSET", "POP3 RSET", VERB_PLAIN },
	{ NET_POP3, "QUIT", "POP3 QUIT", VERB_CLOSE },
};

static const char *const connect_step[] = {
	"SMTP connect", "IMAP connect", "POP3 connect"
};
static const char *const greeting_step[] = {
	"SMTP greeting", "IMAP greeting", "POP3 greeting"
};
/* A command not in the table still moves the step on. */
static const char *const other_step[] = {
	"SMTP command", "IMAP command", "POP3 command"
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

static const struct verb_step *
find_verb(enum net_proto proto, const char *verb)
{
	size_t i;

	for (i = 0; i < sizeof(verb_steps) / sizeof(verb_steps[0]); i++)
		if (verb_steps[i].proto == proto &&
		    strcmp(verb_steps[i].verb, verb) == 0)
			return &verb_steps[i];
	return NULL;
}

static void
trace_command(struct net_trace *t, const char *data, size_t len)
{
	char word[32];
	const struct verb_step *v;
	const char *p = data, *end = data + len;
	size_t n, m;

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
	/* "UID FETCH" is another command than "UID STORE" (RFC 3501 6.4.8). */
	if (t->proto == NET_IMAP && strcmp(word, "UID") == 0 &&
	    p + n < end && p[n] == ' ') {
		word[n] = ' ';
		for (m = n + 1; p + m < end && m < sizeof(word) - 1 &&
		    isalpha((unsigned char)p[m]); m++)
			word[m] = (char)toupper((unsigned char)p[m]);
		word[m] = '\0';
	}
	v = find_verb(t->proto, word);
	if (v != NULL && v->kind == VERB_CLOSE) {
		/*
		 * libcurl logs out after a failure too: what the server says
		 * to that must not stand for the command that failed. Only
		 * the signal backstop learns that the session is ending.
		 */
		t->closing = 1;
		deadline_step(v->step);
	} else {
		if (v != NULL)
			t->step = v->step;
		else if (strncmp(word, "UID ", 4) == 0)
			t->step = "IMAP UID command";
		else
			t->step = other_step[t->proto];
		deadline_step(t->step);
		/* A refusal stands for the failure only if nothing was sent
		 * after it. */
		t->fail_step = NULL;
		t->fail_reply[0] = '\0';
	}
	if (log_level() >= LOG_LEVEL_DEBUG) {
		/* Credentials never reach the log. */
		if (strncmp(word, "AUTH", 4) == 0 || strcmp(word,
		    "LOGIN") == 0 || strcmp(word, "PASS") == 0 ||
		    t->step == NULL)
			log_debug("%s > %s ...", t->host, word);
		else
			log_debug("%s > %.*s", t->host, (int)(len > 200 ? 200 :
			    len - (len && data[len - 1] == '\n') -
			    (len > 1 && data[len - 2] == '\r')), data);
	}
}

/* A new connection: no session state carries over. */
static void
trace_connect(struct net_trace *t)
{
	t->step = connect_step[t->proto];
	deadline_step(t->step);
	t->closing = 0;
}

static int
net_debug(CURL *h, curl_infotype type, char *data, size_t len, void *arg)
{
	struct net_trace *t = arg;
	char line[512];
	size_t n;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_IN:
		if (t->closing) {
			trace_line(line, sizeof(line), data, len);
			log_debug("%s < %s", t->host, line);
			break;
		}
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
		for (n = 0; n < len && data[n] == ' '; n++)
			;
		if (len - n > 7 && strncmp(data + n, "Trying ", 7) == 0)
			trace_connect(t);
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
	trace_connect(t);
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
	t->closing = 0;
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
