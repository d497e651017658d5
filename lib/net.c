/*
 * net.c - common libcurl setup. Every limit comes from the run's single
 * deadline, so no transfer can outlive -t; a SIGTERM aborts the transfer
 * at the next progress callback.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "deadline.h"
#include "log.h"
#include "net.h"
#include "text.h"

/* What a command is, for the trace. */
enum verb_kind {
	VERB_PLAIN,	/* shown as sent */
	VERB_SASL,	/* starts a SASL exchange; only the mechanism shown */
	VERB_CREDS,	/* carries a name or a password: only the verb shown */
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
	{ NET_SMTP, "AUTH", "SMTP AUTH", VERB_SASL },
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
	{ NET_IMAP, "LOGIN", "IMAP LOGIN", VERB_CREDS },
	{ NET_IMAP, "AUTHENTICATE", "IMAP AUTHENTICATE", VERB_SASL },
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
	{ NET_POP3, "USER", "POP3 USER", VERB_CREDS },
	{ NET_POP3, "PASS", "POP3 PASS", VERB_CREDS },
	{ NET_POP3, "APOP", "POP3 APOP", VERB_CREDS },
	{ NET_POP3, "AUTH", "POP3 AUTH", VERB_SASL },
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

#define TRACE_SHOW	200	/* bytes of a line shown in the trace */
/* Bytes of a line looked at: more than is shown or kept, so that no
 * credential is cut in two at the end of what is looked at. */
#define TRACE_LINE	1024

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

/*
 * Whether a server line is the final answer to an authentication command,
 * not a challenge. Only a well-formed final answer counts: on anything
 * else the client's lines stay hidden.
 */
static int
is_auth_end(enum net_proto proto, const char *line)
{
	const char *p;

	switch (proto) {
	case NET_SMTP:
		/* RFC 4954 4: 334 asks for more, any other reply ends it. */
		return isdigit((unsigned char)line[0]) &&
		    isdigit((unsigned char)line[1]) &&
		    isdigit((unsigned char)line[2]) &&
		    strncmp(line, "334", 3) != 0;
	case NET_POP3:
		/* RFC 5034 4: "+ " asks for more; +OK and -ERR end it. */
		return strncmp(line, "+OK", 3) == 0 ||
		    strncmp(line, "-ERR", 4) == 0;
	case NET_IMAP:
		/* RFC 3501 7.5, 6.2.2: "+" asks for more, a tagged OK, NO
		 * or BAD ends it; untagged lines may come in between. */
		if (line[0] == '*' || line[0] == '+' ||
		    (p = strchr(line, ' ')) == NULL)
			return 0;
		return strncmp(p, " OK", 3) == 0 || strncmp(p, " NO", 3) == 0 ||
		    strncmp(p, " BAD", 4) == 0;
	}
	return 0;
}

/*
 * Copies the last complete line of data (without its line end) to dst,
 * as a C string; 0 when there is none.
 */
static size_t
last_line(char *dst, size_t dstlen, const char *data, size_t len)
{
	size_t n;

	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	n = len;
	while (n > 0 && data[n - 1] != '\n')
		n--;
	data += n;
	len -= n;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, data, len);
	dst[len] = '\0';
	return len;
}

/* Whether s holds the password or one of its base64 forms. */
static int
has_secret(const struct net_trace *t, const char *s)
{
	size_t i;

	for (i = 0; i < NET_SECRETS; i++)
		if (t->secret[i][0] != '\0' && strstr(s, t->secret[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Keeps what the filter looks for: the password (from 6 bytes on) and,
 * for each of the three positions it can take in a base64 stream (after
 * "\0user\0" in PLAIN, alone in LOGIN, ...), the characters that encode
 * only password bytes (from 8 on). Shorter ones would hide innocent
 * lines; the SASL masking does not depend on them.
 */
static void
set_secrets(struct net_trace *t, const char *password)
{
	unsigned char enc[NET_SECRET_MAX];
	size_t len, skip, n;

	memset(t->secret, 0, sizeof(t->secret));
	if (password == NULL)
		return;
	len = strlen(password);
	if (len >= 6)
		snprintf(t->secret[0], NET_SECRET_MAX, "%s", password);
	for (skip = 0; skip < 3 && skip < len; skip++) {
		n = (len - skip) / 3 * 3;
		if (n > (NET_SECRET_MAX - 1) / 4 * 3)
			n = (NET_SECRET_MAX - 1) / 4 * 3;
		if (n < 6)
			continue;
		EVP_EncodeBlock(enc, (const unsigned char *)password + skip,
		    (int)n);
		snprintf(t->secret[1 + skip], NET_SECRET_MAX, "%s", enc);
	}
	OPENSSL_cleanse(enc, sizeof(enc));
}

/*
 * Copies src to dst with the user information of URLs
 * ("scheme://user:pw@host") replaced by "***": libcurl's informational
 * text names a proxy it takes from the environment (all_proxy,
 * imap_proxy, ...) with its credentials.
 */
static void
hide_userinfo(char *dst, size_t dstlen, const char *src)
{
	const char *p, *at;
	size_t n, i, o = 0;

	while (*src != '\0' && o + 1 < dstlen) {
		if (strncmp(src, "://", 3) != 0) {
			dst[o++] = *src++;
			continue;
		}
		src += 3;
		n = strcspn(src, "/?#'\" \t");
		for (at = NULL, p = src; p < src + n; p++)
			if (*p == '@')
				at = p;
		for (p = at != NULL ? "://***" : "://", i = 0; p[i] != '\0' &&
		    o + 1 < dstlen; i++)
			dst[o++] = p[i];
		if (at != NULL)
			src = at;
	}
	dst[o] = '\0';
}

/* Logs one line of the exchange; dir is '<', '>' or '*'. */
static void
trace_log(const struct net_trace *t, char dir, const char *line)
{
	char show[TRACE_SHOW + 1];

	if (has_secret(t, line)) {
		log_debug("%s %c (line hidden: it holds a credential)",
		    t->host, dir);
		return;
	}
	snprintf(show, sizeof(show), "%s", line);
	text_sanitize(show);
	log_debug("%s %c %s", t->host, dir, show);
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

/* Length of an RFC 4422 3.1 mechanism name at p (then space or end). */
static size_t
sasl_mech_len(const char *p)
{
	size_t n;

	for (n = 0; n <= 20 && (isupper((unsigned char)p[n]) ||
	    isdigit((unsigned char)p[n]) || p[n] == '-' || p[n] == '_'); n++)
		;
	return n > 0 && n <= 20 && (p[n] == '\0' || p[n] == ' ') ? n : 0;
}

static void
trace_command(struct net_trace *t, const char *data, size_t len)
{
	char line[TRACE_LINE], verb[32];
	const struct verb_step *v;
	const char *p, *rest;
	size_t n, m, mech;
	int hidden;

	/*
	 * Between the command that starts authentication and the server's
	 * final answer, every client line is a SASL response or a password.
	 * None is shown, whatever the mechanism; none names a step.
	 */
	if (t->auth) {
		log_debug("%s > [hidden]", t->host);
		return;
	}
	last_line(line, sizeof(line), data, len);
	p = line;
	if (t->proto == NET_IMAP) {	/* commands start with a tag */
		p += strcspn(p, " ");
		if (*p == ' ')
			p++;
	}
	for (n = 0; n < sizeof(verb) - 1 && isalpha((unsigned char)p[n]);
	    n++)
		verb[n] = (char)toupper((unsigned char)p[n]);
	verb[n] = '\0';
	rest = p + n;
	/* "UID FETCH" is another command than "UID STORE" (RFC 3501 6.4.8). */
	if (t->proto == NET_IMAP && strcmp(verb, "UID") == 0 && *rest == ' ') {
		verb[n++] = ' ';
		for (m = 1; n < sizeof(verb) - 1 &&
		    isalpha((unsigned char)rest[m]); m++)
			verb[n++] = (char)toupper((unsigned char)rest[m]);
		verb[n] = '\0';
		rest += m;
	}
	v = find_verb(t->proto, verb);
	if (v != NULL && v->kind == VERB_CLOSE) {
		/*
		 * libcurl logs out after a failure too: what the server says
		 * to that must not stand for the command that failed. Only
		 * the signal backstop learns that the session is ending.
		 */
		t->closing = 1;
		deadline_step(v->step);
		if (log_level() >= LOG_LEVEL_DEBUG)
			trace_log(t, '>', line);
		return;
	}
	if (v != NULL)
		t->step = v->step;
	else if (strncmp(verb, "UID ", 4) == 0)
		t->step = "IMAP UID command";
	else
		t->step = other_step[t->proto];
	deadline_step(t->step);
	/* A refusal stands for the failure only if nothing was sent after. */
	t->fail_step = NULL;
	t->fail_reply[0] = '\0';
	if (v != NULL && (v->kind == VERB_SASL || v->kind == VERB_CREDS)) {
		t->auth = 1;
		/* The tag, the verb and a SASL mechanism's name, no more. */
		mech = v->kind == VERB_SASL && *rest == ' ' ?
		    sasl_mech_len(rest + 1) : 0;
		if (mech > 0)
			rest += 1 + mech;
		hidden = *rest != '\0';
		line[rest - line] = '\0';
		text_sanitize(line);
		log_debug("%s > %s%s", t->host, line,
		    hidden ? " [hidden]" : "");
		return;
	}
	if (log_level() >= LOG_LEVEL_DEBUG)
		trace_log(t, '>', line);
}

static void
trace_reply(struct net_trace *t, const char *data, size_t len)
{
	char line[TRACE_LINE];
	int refused;

	if (last_line(line, sizeof(line), data, len) == 0)
		return;
	if (log_level() >= LOG_LEVEL_DEBUG)
		trace_log(t, '<', line);
	if (t->auth && is_auth_end(t->proto, line))
		t->auth = 0;
	if (t->closing)
		return;
	refused = is_refusal(t->proto, line);
	/* The reply reaches the status line and the state file. */
	if (has_secret(t, line))
		snprintf(line, sizeof(line), "(reply hidden: it holds a "
		    "credential)");
	snprintf(t->reply, sizeof(t->reply), "%s", line);
	text_sanitize(t->reply);
	if (t->fail_step == NULL && refused) {
		memcpy(t->fail_reply, t->reply, sizeof(t->fail_reply));
		t->fail_step = t->step;
	}
	/* After 354 the server waits for the message itself. */
	if (t->proto == NET_SMTP && strncmp(t->reply, "354", 3) == 0) {
		t->step = "SMTP end of data";
		deadline_step(t->step);
	}
}

/* A new connection: no session state carries over. */
static void
trace_connect(struct net_trace *t)
{
	t->step = connect_step[t->proto];
	deadline_step(t->step);
	t->auth = 0;
	t->closing = 0;
}

static void
trace_text(struct net_trace *t, const char *data, size_t len)
{
	char line[TRACE_LINE], shown[TRACE_LINE];

	last_line(line, sizeof(line), data, len);
	if (strncmp(line + strspn(line, " "), "Trying ", 7) == 0)
		trace_connect(t);
	if (t->step == connect_step[t->proto] &&
	    strncmp(line, "Connected to", 12) == 0) {
		t->step = greeting_step[t->proto];
		deadline_step(t->step);
	}
	if (log_level() >= LOG_LEVEL_DEBUG) {
		hide_userinfo(shown, sizeof(shown), line);
		trace_log(t, '*', shown);
	}
}

int
net_debug(CURL *h, curl_infotype type, char *data, size_t len, void *arg)
{
	struct net_trace *t = arg;

	(void)h;
	switch (type) {
	case CURLINFO_HEADER_IN:
		trace_reply(t, data, len);
		break;
	case CURLINFO_HEADER_OUT:
		trace_command(t, data, len);
		break;
	case CURLINFO_TEXT:
		trace_text(t, data, len);
		break;
	default:
		/* Message data and TLS records are never logged. */
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
	text_sanitize(out);
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
	/* -4 / -6: every connection, whatever the name resolves to. */
	t->ipver = cfg->ipv4 ? 4 : cfg->ipv6 ? 6 : 0;
	curl_easy_setopt(h, CURLOPT_IPRESOLVE, t->ipver == 4 ?
	    CURL_IPRESOLVE_V4 : t->ipver == 6 ? CURL_IPRESOLVE_V6 :
	    CURL_IPRESOLVE_WHATEVER);
	if (user != NULL)
		curl_easy_setopt(h, CURLOPT_USERNAME, user);
	if (password != NULL)
		curl_easy_setopt(h, CURLOPT_PASSWORD, password);
	/*
	 * SMTP: the initial response rides on the AUTH command. RFC 4954 4
	 * (and RFC 2554 before it) make it part of the command, so every
	 * server takes it, and it saves a round trip per login; libcurl
	 * still waits for the challenge where the line would pass 512
	 * bytes. Not for IMAP, where libcurl sends it whenever this is set
	 * although RFC 4959 allows it only after SASL-IR is advertised (and
	 * libcurl follows that capability by itself), nor for POP3, where
	 * RFC 1734 servers predate the initial response of RFC 5034.
	 */
	if (t->proto == NET_SMTP)
		curl_easy_setopt(h, CURLOPT_SASL_IR, 1L);
	/* Bound what a hostile server can make us hold per response line. */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)64 * 1024 * 1024);
	set_secrets(t, password);
	trace_connect(t);
	t->reply[0] = '\0';
	t->fail_reply[0] = '\0';
	t->fail_step = NULL;
	return 0;
}

void
net_bearer(CURL *h, struct net_trace *t, const char *token)
{
	if (token == NULL)
		return;
	curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, token);
	set_secrets(t, token);
}

int
net_limits(CURL *h, struct net_trace *t, struct mc_error *err)
{
	long left = deadline_left_ms();

	if (deadline_signal)
		return error_set(err, MC_ERR_SIGNAL,
		    "terminated by a signal before %s",
		    t->step);
	if (left <= 50)
		return error_set(err, MC_ERR_TIMEOUT,
		    "timed out after %.0fs before %s",
		    deadline_budget(), t->step);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left);
	t->fail_reply[0] = '\0';
	t->fail_step = NULL;
	t->auth = 0;
	t->closing = 0;
	deadline_step(t->step);
	return 0;
}

int
net_error(struct mc_error *err, const char *what, CURLcode rc,
    const struct net_trace *t, const char *errbuf)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	enum mc_errcode code = MC_ERR_SERVER;

	/* Whatever libcurl says, the run ended it if its time is up. */
	if (deadline_expired())
		code = deadline_signal ? MC_ERR_SIGNAL : MC_ERR_TIMEOUT;
	else if (rc == CURLE_OUT_OF_MEMORY)
		code = MC_ERR_NOMEM;
	if (rc == CURLE_ABORTED_BY_CALLBACK && deadline_signal)
		return error_set(err, MC_ERR_SIGNAL,
		    "%s %s: terminated by a signal at %s",
		    what, t->host, t->step);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return error_set(err, MC_ERR_TIMEOUT,
		    "%s %s: timed out after %.0fs at %s%s%s",
		    what, t->host, deadline_budget(), t->step,
		    t->reply[0] ? ", last reply: " : "", t->reply);
	/* The server's own words are the most useful part. */
	if (t->fail_step != NULL)
		return error_set(err, code,
		    "%s %s failed at %s: %s (%s)", what,
		    t->host, t->fail_step, t->fail_reply, why);
	if (t->reply[0] && rc != CURLE_COULDNT_CONNECT &&
	    rc != CURLE_COULDNT_RESOLVE_HOST && rc !=
	    CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_SSL_CONNECT_ERROR)
		return error_set(err, code,
		    "%s %s failed at %s: %s (%s)", what,
		    t->host, t->step, t->reply, why);
	/* With -4 or -6, a name of the other family cannot be reached. */
	if (t->ipver != 0 && (rc == CURLE_COULDNT_CONNECT ||
	    rc == CURLE_COULDNT_RESOLVE_HOST))
		return error_set(err, code,
		    "%s %s failed at %s: %s over IPv%d only (-%d)", what,
		    t->host, t->step, why, t->ipver, t->ipver);
	return error_set(err, code,
	    "%s %s failed at %s: %s", what, t->host,
	    t->step, why);
}
