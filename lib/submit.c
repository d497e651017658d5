/*
 * submit.c - SMTP submission with libcurl: STARTTLS policy, AUTH,
 * deadline-derived limits, and the final reply kept as evidence so an
 * operator can grep the relay's log for a canary that went missing.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "deadline.h"
#include "net.h"
#include "oauth2.h"
#include "submit.h"
#include "text.h"

struct upload {
	const char	*data;
	size_t		 len;
	size_t		 pos;
};

static size_t
submit_read(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;

	if (n > u->len - u->pos)
		n = u->len - u->pos;
	memcpy(dst, u->data + u->pos, n);
	u->pos += n;
	return n;
}

static void
copy_word(const char *p, char *out, size_t outlen)
{
	size_t n = 0;

	while (p[n] && !isspace((unsigned char)p[n]) && p[n] != ',' &&
	    p[n] != ';' && n < outlen - 1)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
	/* Trailing punctuation is not part of an id. */
	while (n > 0 && (out[n - 1] == '.' || out[n - 1] == ')'))
		out[--n] = '\0';
}

void
submit_queue_id(const char *reply, char *out, size_t outlen)
{
	const char *p;

	out[0] = '\0';
	if ((p = strcasestr(reply, "queued as ")) != NULL) {	/* Postfix */
		copy_word(p + 10, out, outlen);
		return;
	}
	if ((p = strcasestr(reply, " id=")) != NULL) {		/* Exim */
		copy_word(p + 4, out, outlen);
		return;
	}
	/* Sendmail: "250 2.0.0 4AM5U1xx012345 Message accepted for delivery" */
	if (strcasestr(reply, "Message accepted") != NULL &&
	    strlen(reply) > 10 && reply[3] == ' ') {
		p = reply + 4;
		if (isdigit((unsigned char)*p) && p[1] == '.')
			p += strcspn(p, " ") + 1;
		copy_word(p, out, outlen);
		return;
	}
	/* Exchange: "250 2.6.0 <message-id> Queued mail for delivery" */
	if ((p = strchr(reply, '<')) != NULL && strchr(p, '>') != NULL &&
	    strcasestr(reply, "queued") != NULL) {
		size_t n = (size_t)(strchr(p, '>') - p) + 1;

		if (n < outlen) {
			memcpy(out, p, n);
			out[n] = '\0';
		}
	}
}

int
submit_send(const struct config *cfg, const char *bearer, const char *rcpt,
    const char *msg,
    size_t len, struct submit_result *res, struct mc_error *err)
{
	char errbuf[CURL_ERROR_SIZE], from[320], to[330];
	struct curl_slist *rcpts = NULL;
	struct net_trace t;
	struct upload up = { msg, len, 0 };
	CURLcode rc;
	CURL *h;
	double start;
	long code = 0;
	int tls;

	memset(res, 0, sizeof(*res));
	memset(&t, 0, sizeof(t));
	t.proto = NET_SMTP;
	net_hostport(cfg->smtp, t.host, sizeof(t.host));
	snprintf(res->via, sizeof(res->via), "%s", t.host);
	if ((h = curl_easy_init()) == NULL)
		return error_set(err, MC_ERR_INTERNAL, "cannot start libcurl");
	tls = strncasecmp(cfg->smtp, "smtps:", 6) == 0 ? STARTTLS_NEVER :
	    cfg->starttls;
	net_setup(h, cfg, tls, cfg->smtp_user, cfg->smtp_password, &t,
	    errbuf);
	net_bearer(h, &t, bearer);
	snprintf(from, sizeof(from), "<%s>", cfg->from);
	snprintf(to, sizeof(to), "<%s>", rcpt);
	rcpts = curl_slist_append(NULL, to);
	curl_easy_setopt(h, CURLOPT_URL, cfg->smtp);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, submit_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	if (net_limits(h, &t, err) == -1) {
		error_prefix(err, "SMTP %s", t.host);
		goto fail;
	}
	/* The hand-over: connect through the final reply to DATA. */
	start = clock_mono();
	rc = curl_easy_perform(h);
	res->handover = clock_mono() - start;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK) {
		net_error(err, "SMTP", rc, &t, errbuf);
		if (bearer != NULL && t.fail_step != NULL &&
		    strstr(t.fail_step, "AUTH") != NULL)
			oauth2_refused(cfg, OAUTH2_SMTP, err);
		goto fail;
	}
	res->submitted_at = clock_wall();
	snprintf(res->reply, sizeof(res->reply), "%s", t.reply);
	submit_queue_id(res->reply, res->queue_id, sizeof(res->queue_id));
	text_sanitize(res->queue_id);
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(h);
	return 0;
fail:
	snprintf(res->reply, sizeof(res->reply), "%s", t.reply);
	curl_slist_free_all(rcpts);
	curl_easy_cleanup(h);
	return -1;
}
