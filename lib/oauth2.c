/*
 * oauth2.c - OAuth2 access tokens: the token endpoint's URL rules, the
 * request (a form POST over libcurl, HTTPS verified), the reply (Jansson),
 * the per-provider cache in the state directory and its lock, the
 * refresh token's rotation, and the bearer token files.
 *
 * Secrets never leave this file except to libcurl: the request is sent
 * without CURLOPT_VERBOSE, errors name the provider, the endpoint and the
 * provider's own words, never a token or the client secret.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "file.h"
#include "log.h"
#include "oauth2.h"
#include "statefile.h"
#include "text.h"

#define CACHE_VERSION	1

static void	error_append(struct mc_error *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

char *
oauth2_free_token(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
	return NULL;
}

void
oauth2_token_clear(struct oauth2_token *tok)
{
	tok->access_token = oauth2_free_token(tok->access_token);
	tok->refresh_token = oauth2_free_token(tok->refresh_token);
	memset(tok, 0, sizeof(*tok));
}

int
oauth2_token_check(const char *s)
{
	size_t n, len = strlen(s);

	/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
	 * "~" / "+" / "/" ) *"=". Nothing else may reach the SASL framing
	 * (XOAUTH2 ends its fields with ^A). */
	n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/");
	if (n == 0 || len > OAUTH2_TOKEN_MAX)
		return -1;
	while (s[n] == '=')
		n++;
	return s[n] == '\0' ? 0 : -1;
}

int
oauth2_read_token(const char *path, char **out, struct mc_error *err)
{
	*out = NULL;
	return config_read_secret_max(path, "token file", OAUTH2_TOKEN_MAX,
	    out, err);
}

int
oauth2_url_check(const char *url, struct mc_error *err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL;
	unsigned char a[16];
	size_t n;
	int rc = -1;

	if ((u = curl_url()) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		error_set(err, MC_ERR_CONFIG, "token_url '%s' is not a URL",
		    url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		error_set(err, MC_ERR_CONFIG, "token_url must not carry user "
		    "information: give client_id and client_secret_file");
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0) {
		rc = 0;
		goto out;
	}
	if (strcasecmp(scheme, "http") != 0) {
		error_set(err, MC_ERR_CONFIG, "token_url '%s': scheme must be "
		    "https", url);
		goto out;
	}
	/* Plain HTTP carries the client secret in clear: loopback only. */
	n = strlen(host);
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, a) == 1 &&
		    memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)
			rc = 0;
	} else if (inet_pton(AF_INET, host, a) == 1 && a[0] == 127)
		rc = 0;
	if (rc == -1)
		error_set(err, MC_ERR_CONFIG, "token_url '%s': http:// only to "
		    "a loopback address (127.0.0.1, [::1]); use https://",
		    url);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

double
oauth2_refresh_at(double fetched, long expires_in)
{
	double margin;

	if (expires_in <= 0)
		return fetched;
	margin = expires_in >= 600 ? 60 : (double)expires_in / 10;
	return fetched + (double)expires_in - margin;
}

/* What a person should do about a provider's error code. */
static const char *
error_hint(const char *code)
{
	static const struct {
		const char *code, *hint;
	} hints[] = {
		{ "invalid_client", "check client_id and the secret in "
		    "client_secret_file (expired? the secret's value, not "
		    "its id?)" },
		{ "invalid_grant", "the refresh token (or grant) was "
		    "refused: expired or revoked? put a new refresh token "
		    "into refresh_token_file" },
		{ "unauthorized_client", "the app registration does not "
		    "allow this grant: ask the tenant admin" },
		{ "invalid_scope", "check scope (Microsoft 365: "
		    "https://outlook.office365.com/.default; Google: "
		    "https://mail.google.com/)" },
		{ "unsupported_grant_type", "check grant" },
	};
	size_t i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strcmp(code, hints[i].code) == 0)
			return hints[i].hint;
	return NULL;
}

/* A string member of a reply, sanitized into out; "" when absent. */
static void
member_text(json_t *o, const char *key, char *out, size_t outlen)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(out, outlen, "%s", v != NULL ? v : "");
	text_sanitize(out);
}

int
oauth2_parse_reply(const char *what, long status, const char *body,
    size_t len, double now, struct oauth2_token *tok, struct mc_error *err)
{
	json_error_t je;
	json_t *o, *v;
	const char *at, *rt;
	char code[64], desc[240], hint[400];
	const char *h;

	memset(tok, 0, sizeof(*tok));
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		if (status < 200 || status > 299)
			return error_set(err, MC_ERR_SERVER, "%s answered "
			    "HTTP %ld (%zu bytes, not a JSON reply): is "
			    "token_url right, is the provider up?", what,
			    status, len);
		return error_set(err, MC_ERR_SERVER, "%s answered HTTP %ld "
		    "with %zu bytes that are not JSON: is token_url the "
		    "token endpoint?", what, status, len);
	}
	member_text(o, "error", code, sizeof(code));
	if (code[0] != '\0' || status < 200 || status > 299) {
		/* Microsoft's first line says it; Trace and Correlation IDs
		 * follow on the next ones (or after the sentence). */
		v = json_object_get(o, "error_description");
		snprintf(desc, sizeof(desc), "%.*s", (int)strcspn(
		    json_string_value(v) ? json_string_value(v) : "", "\r\n"),
		    json_string_value(v) ? json_string_value(v) : "");
		if ((h = strstr(desc, " Trace ID:")) != NULL)
			desc[h - desc] = '\0';
		text_sanitize(desc);
		h = code[0] ? error_hint(code) : NULL;
		snprintf(hint, sizeof(hint), "%s%s", h ? "; " : "",
		    h ? h : "");
		json_decref(o);
		return error_set(err, MC_ERR_SERVER, "%s refused: %s%s%s "
		    "(HTTP %ld)%s", what, code[0] ? code : "no error code",
		    desc[0] ? ": " : "", desc, status, hint);
	}
	at = json_string_value(json_object_get(o, "access_token"));
	if (at == NULL || *at == '\0') {
		json_decref(o);
		return error_set(err, MC_ERR_SERVER, "%s answered without an "
		    "access_token", what);
	}
	if (strlen(at) > OAUTH2_TOKEN_MAX) {
		json_decref(o);
		return error_set(err, MC_ERR_SERVER, "%s answered an "
		    "access_token longer than %d bytes", what,
		    OAUTH2_TOKEN_MAX);
	}
	if (oauth2_token_check(at) == -1) {
		json_decref(o);
		return error_set(err, MC_ERR_SERVER, "%s answered an "
		    "access_token that is not a bearer token (characters "
		    "other than A-Z a-z 0-9 - . _ ~ + / and a trailing =)",
		    what);
	}
	member_text(o, "token_type", tok->token_type,
	    sizeof(tok->token_type));
	if (tok->token_type[0] != '\0' &&
	    strcasecmp(tok->token_type, "bearer") != 0) {
		json_decref(o);
		return error_set(err, MC_ERR_SERVER, "%s answered token_type "
		    "'%s', not Bearer", what, tok->token_type);
	}
	v = json_object_get(o, "expires_in");
	/* Some providers send the number as a string. */
	if (json_is_integer(v))
		tok->expires_in = (long)json_integer_value(v);
	else if (json_is_string(v))
		tok->expires_in = strtol(json_string_value(v), NULL, 10);
	else
		tok->expires_in = 3600;		/* RFC 6749 5.1: RECOMMENDED */
	if (tok->expires_in <= 0 || tok->expires_in > 86400 * 366)
		tok->expires_in = 0;		/* use once */
	rt = json_string_value(json_object_get(o, "refresh_token"));
	if ((tok->access_token = strdup(at)) == NULL ||
	    (rt != NULL && *rt != '\0' && strlen(rt) <= OAUTH2_TOKEN_MAX &&
	    (tok->refresh_token = strdup(rt)) == NULL)) {
		json_decref(o);
		oauth2_token_clear(tok);
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	json_decref(o);
	tok->fetched_at = now;
	tok->expires_at = now + (double)tok->expires_in;
	tok->refresh_at = oauth2_refresh_at(now, tok->expires_in);
	return 0;
}

/* sha256 hex of data (NUL-terminated), first n hex digits. */
static void
sha256_hex(const void *data, size_t len, char *out, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen && 2 * i + 2 <= n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[n] = '\0';
}

int
oauth2_cache_stem(const struct config_oauth2 *p, char *stem, size_t stemlen)
{
	struct buf b;
	char hex[17];

	buf_init(&b, 16384);
	buf_addf(&b, "%s%c%s%c%s", p->token_url, 0, p->client_id, 0,
	    p->scope ? p->scope : "");
	if (b.overflow || b.data == NULL) {
		buf_free(&b);
		return -1;
	}
	sha256_hex(b.data, b.len, hex, 16);
	buf_free(&b);
	if ((size_t)snprintf(stem, stemlen, "oauth2-%s-%s", p->name, hex) >=
	    stemlen)
		return -1;
	return 0;
}

/* Whether a JSON value is the string s. */
static int
same_text(const json_t *v, const char *s)
{
	const char *t = json_string_value(v);

	return t != NULL && strcmp(t, s) == 0;
}

int
oauth2_cache_load(const char *path, const struct config_oauth2 *p,
    struct oauth2_token *tok, struct mc_error *err)
{
	json_error_t je;
	json_t *o;
	const char *at, *rt, *seed;
	char *data;
	size_t len;

	memset(tok, 0, sizeof(*tok));
	if (file_read(path, "OAuth2 token cache", FILE_PRIVATE |
	    FILE_NOFOLLOW, OAUTH2_CACHE_MAX, &data, &len, err) == -1) {
		if (errno == ENOENT)
			return 1;
		/* Not ours, others may read it, a link, too large: the
		 * person fixes it (or removes it); never used, never
		 * overwritten. */
		return error_prefix(err, "OAuth2 token cache");
	}
	o = json_loadb(data, len, 0, &je);
	OPENSSL_cleanse(data, len);
	free(data);
	at = json_string_value(json_object_get(o, "access_token"));
	rt = json_string_value(json_object_get(o, "refresh_token"));
	seed = json_string_value(json_object_get(o, "refresh_seed"));
	if (!json_is_object(o) || json_integer_value(json_object_get(o,
	    "version")) != CACHE_VERSION || at == NULL ||
	    !json_is_number(json_object_get(o, "refresh_at")) ||
	    !json_is_number(json_object_get(o, "expires_at")) ||
	    !same_text(json_object_get(o, "token_url"), p->token_url) ||
	    !same_text(json_object_get(o, "client_id"), p->client_id)) {
		log_debug("%s cannot be used (corrupt, or another provider's); "
		    "fetching a new token", path);
		json_decref(o);
		return 1;
	}
	if (oauth2_token_check(at) == -1) {
		log_warnx("%s holds an access_token that is not a bearer token "
		    "(characters other than A-Z a-z 0-9 - . _ ~ + / and a "
		    "trailing =): not used, fetching a new token", path);
		json_decref(o);
		return 1;
	}
	if ((tok->access_token = strdup(at)) == NULL ||
	    (rt != NULL && (tok->refresh_token = strdup(rt)) == NULL)) {
		json_decref(o);
		oauth2_token_clear(tok);
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	tok->refresh_at = json_number_value(json_object_get(o, "refresh_at"));
	tok->expires_at = json_number_value(json_object_get(o, "expires_at"));
	tok->fetched_at = json_number_value(json_object_get(o, "fetched_at"));
	tok->expires_in = (long)json_integer_value(json_object_get(o,
	    "expires_in"));
	snprintf(tok->refresh_seed, sizeof(tok->refresh_seed), "%s",
	    seed ? seed : "");
	snprintf(tok->token_type, sizeof(tok->token_type), "Bearer");
	json_decref(o);
	return 0;
}

/* Writes data to path atomically: temp file 0600, fsync, rename, fsync
 * of the directory. */
static int
write_atomic(const char *dir, const char *path, const char *data,
    struct mc_error *err)
{
	char tmp[4200];
	size_t len = strlen(data), off = 0;
	ssize_t n;
	int fd, dfd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp))
		return error_set(err, MC_ERR_LIMIT, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		return error_set(err, MC_ERR_FILE, "cannot create a temporary "
		    "file beside %s: %s", path, strerror(errno));
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (off < len || fchmod(fd, 0600) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return error_set(err, MC_ERR_FILE, "cannot write %s: %s", tmp,
		    strerror(saved));
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		return error_set(err, MC_ERR_FILE, "cannot replace %s: %s",
		    path, strerror(saved));
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int
oauth2_cache_save(const char *dir, const char *path,
    const struct config_oauth2 *p, const struct oauth2_token *tok,
    struct mc_error *err)
{
	json_t *o;
	char *data;
	int rc;

	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f, "
	    "s:I}", "version", CACHE_VERSION, "provider", p->name,
	    "token_url", p->token_url, "client_id", p->client_id, "scope",
	    p->scope ? p->scope : "", "token_type", "Bearer", "access_token",
	    tok->access_token, "fetched_at", tok->fetched_at, "refresh_at",
	    tok->refresh_at, "expires_at", tok->expires_at, "expires_in",
	    (json_int_t)tok->expires_in);
	if (o != NULL && tok->refresh_token != NULL)
		json_object_set_new(o, "refresh_token",
		    json_string(tok->refresh_token));
	if (o != NULL && tok->refresh_seed[0] != '\0')
		json_object_set_new(o, "refresh_seed",
		    json_string(tok->refresh_seed));
	data = o ? json_dumps(o, JSON_INDENT(1)) : NULL;
	json_decref(o);
	if (data == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	rc = write_atomic(dir, path, data, err);
	OPENSSL_cleanse(data, strlen(data));
	free(data);
	return rc;
}

/* The reply, capped. */
struct reply {
	struct buf	b;
};

static size_t
reply_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;

	if (buf_add(&r->b, data, size * nmemb) == -1)
		return 0;	/* past the cap: libcurl stops */
	return size * nmemb;
}

/* Appends "&key=value" (value URL-encoded) to a form; -1 out of memory. */
static int
form_add(CURL *h, struct buf *form, const char *key, const char *value)
{
	char *enc;
	int rc;

	if (value == NULL)
		return 0;
	if ((enc = curl_easy_escape(h, value, 0)) == NULL)
		return -1;
	rc = buf_addf(form, "%s%s=%s", form->len ? "&" : "", key, enc);
	OPENSSL_cleanse(enc, strlen(enc));
	curl_free(enc);
	return rc;
}

/*
 * POSTs the grant to p's token endpoint and reads the reply into tok.
 * secret and refresh may be NULL.
 */
static int
fetch(const struct config_oauth2 *p, const char *ca_file, long ipresolve,
    const char *secret, const char *refresh, struct oauth2_token *tok,
    struct mc_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "", what[600];
	struct reply r;
	struct buf form;
	CURLcode rc;
	CURL *h;
	long status = 0, left = deadline_left_ms();
	int ret = -1;

	snprintf(what, sizeof(what), "token endpoint %s of [oauth2 %s]",
	    p->token_url, p->name);
	if (deadline_signal)
		return error_set(err, MC_ERR_SIGNAL, "terminated by a signal "
		    "before asking the %s", what);
	if (left <= 50)
		return error_set(err, MC_ERR_TIMEOUT, "timed out after %.0fs "
		    "before asking the %s", deadline_budget(), what);
	if ((h = curl_easy_init()) == NULL)
		return error_set(err, MC_ERR_INTERNAL, "cannot start libcurl");
	buf_init(&form, 3 * OAUTH2_TOKEN_MAX);
	buf_init(&r.b, OAUTH2_REPLY_MAX);
	if (form_add(h, &form, "grant_type", p->grant ==
	    OAUTH2_REFRESH_TOKEN ? "refresh_token" : "client_credentials") ||
	    form_add(h, &form, "client_id", p->client_id) ||
	    form_add(h, &form, "client_secret", secret) ||
	    form_add(h, &form, "refresh_token", refresh) ||
	    form_add(h, &form, "scope", p->scope) || form.overflow) {
		error_set(err, MC_ERR_NOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, p->token_url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h, CURLOPT_IPRESOLVE, ipresolve);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, left);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form.data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form.len);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mailcanary");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	/* No CURLOPT_VERBOSE: the body holds the client secret. */
	log_debug("oauth2 %s: POST %s (grant %s, scope %s)", p->name,
	    p->token_url, p->grant == OAUTH2_REFRESH_TOKEN ? "refresh_token" :
	    "client_credentials", p->scope ? p->scope : "none");
	deadline_step("fetching an OAuth2 token");
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_WRITE_ERROR && r.b.overflow) {
		error_set(err, MC_ERR_LIMIT, "%s answered more than %d bytes",
		    what, OAUTH2_REPLY_MAX);
		goto out;
	}
	if (rc != CURLE_OK) {
		text_sanitize(errbuf);
		if (rc == CURLE_OPERATION_TIMEDOUT || deadline_expired())
			error_set(err, deadline_signal ? MC_ERR_SIGNAL :
			    MC_ERR_TIMEOUT, "%s did not answer within %.1fs "
			    "(-t): is it reachable from here, is it slow?",
			    what, (double)left / 1000);
		else
			error_set(err, MC_ERR_SERVER, "cannot reach the %s: %s",
			    what, errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	log_debug("oauth2 %s: HTTP %ld, %zu bytes", p->name, status,
	    r.b.len);
	ret = oauth2_parse_reply(what, status, r.b.data ? r.b.data : "",
	    r.b.len, clock_wall(), tok, err);
out:
	if (form.data != NULL)
		OPENSSL_cleanse(form.data, form.len);
	if (r.b.data != NULL)
		OPENSSL_cleanse(r.b.data, r.b.len);
	buf_free(&form);
	buf_free(&r.b);
	curl_easy_cleanup(h);
	return ret;
}

/*
 * The refresh token to send: the one the cache holds (the newest, after
 * rotation) while refresh_token_file still holds the one it came from or
 * that one itself; else the file's (an operator put in a new one). When
 * the file cannot be read, the cache's, with a warning.
 */
static int
pick_refresh(const struct config_oauth2 *p, const struct oauth2_token *cached,
    char **out, char *seed, struct mc_error *err)
{
	char *file;

	if (oauth2_read_token(p->refresh_token_file, &file, err) == -1) {
		if (cached == NULL || cached->refresh_token == NULL)
			return error_prefix(err, "refresh_token_file");
		log_warnx("oauth2 %s: refresh_token_file: %s; using the "
		    "refresh token of the token cache", p->name, err->msg);
		snprintf(seed, 65, "%s", cached->refresh_seed);
		if ((*out = strdup(cached->refresh_token)) == NULL)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		return 0;
	}
	sha256_hex(file, strlen(file), seed, 64);
	if (cached != NULL && cached->refresh_token != NULL &&
	    (strcmp(seed, cached->refresh_seed) == 0 ||
	    strcmp(file, cached->refresh_token) == 0)) {
		oauth2_free_token(file);
		if ((*out = strdup(cached->refresh_token)) == NULL)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		return 0;
	}
	*out = file;
	return 0;
}

/*
 * A rotated refresh token goes back into refresh_token_file too when it
 * is a regular file of ours and we may write it and its directory: so
 * the file never holds one the provider has revoked. A symbolic link or
 * another's file is left alone (rename() would replace it). Best effort:
 * the cache holds it anyway. 0 when written, -1 when not.
 */
static int
rewrite_refresh_file(const char *path, const char *token)
{
	struct mc_error e;
	struct stat st;
	char dir[4096], *slash, *line;
	int rc;

	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    !file_owner_ok(st.st_uid)) {
		log_debug("%s is not a regular file of ours: not rewritten "
		    "with the rotated refresh token", path);
		return -1;
	}
	if (access(path, W_OK) == -1)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (access(dir, W_OK) == -1)
		return -1;
	if (asprintf(&line, "%s\n", token) == -1)
		return -1;
	if ((rc = write_atomic(dir, path, line, &e)) == -1)
		log_debug("cannot rewrite %s: %s (the token cache holds the "
		    "rotated refresh token)", path, e.msg);
	oauth2_free_token(line);
	return rc;
}

/* Seconds as a short text: "3600s". */
static long
secs(double d)
{
	return d < 0 ? 0 : (long)floor(d + 0.5);
}

/*
 * Saves a token just fetched (the refresh token sent in *refresh, taken
 * from seed's file) before it is used, so a rotated refresh token is
 * never lost: into the cache, and into refresh_token_file, even when the
 * cache cannot be saved (the provider has revoked the old one).
 */
static int
store_fetched(const struct config_oauth2 *p, const char *state_dir,
    const char *path, struct oauth2_token *fresh, char **refresh,
    const char *seed, struct mc_error *err)
{
	int rotated;

	if (p->grant == OAUTH2_REFRESH_TOKEN) {
		snprintf(fresh->refresh_seed, sizeof(fresh->refresh_seed), "%s",
		    seed);
		/* Not rotated: the one sent stays the one to send. */
		if (fresh->refresh_token == NULL) {
			fresh->refresh_token = *refresh;
			*refresh = NULL;
		}
	}
	rotated = p->grant == OAUTH2_REFRESH_TOKEN && *refresh != NULL &&
	    strcmp(*refresh, fresh->refresh_token) != 0;
	if (oauth2_cache_save(state_dir, path, p, fresh, err) == -1) {
		error_prefix(err, "OAuth2 token cache");
		if (rotated && rewrite_refresh_file(p->refresh_token_file,
		    fresh->refresh_token) == 0)
			error_append(err, "; the rotated refresh token was "
			    "written to %s", p->refresh_token_file);
		else if (rotated)
			error_append(err, "; the rotated refresh token is "
			    "LOST (%s cannot be rewritten): put a new refresh "
			    "token into refresh_token_file",
			    p->refresh_token_file);
		if (rotated)
			log_warnx("oauth2 %s: %s", p->name, err->msg);
		return -1;
	}
	if (rotated)
		rewrite_refresh_file(p->refresh_token_file,
		    fresh->refresh_token);
	return 0;
}

int
oauth2_get(const struct config_oauth2 *p, const char *state_dir,
    const char *ca_file, long ipresolve, char **token, char *info,
    size_t infolen, struct mc_error *err)
{
	struct oauth2_token cached, fresh;
	struct mc_error e;
	char stem[256], path[4096], seed[65] = "";
	char *secret = NULL, *refresh = NULL;
	double now;
	int lockfd, have, rc = -1;

	*token = NULL;
	memset(&fresh, 0, sizeof(fresh));
	if (oauth2_cache_stem(p, stem, sizeof(stem)) == -1 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s.json", state_dir,
	    stem) >= sizeof(path))
		return error_set(err, MC_ERR_LIMIT, "state directory path is "
		    "too long");
	/* One fetch per provider at a time, across threads and processes. */
	if ((lockfd = state_lock(state_dir, stem, err)) == -1)
		return error_prefix(err, "OAuth2 token cache of [oauth2 %s]",
		    p->name);
	if ((have = oauth2_cache_load(path, p, &cached, err)) == -1)
		goto out;
	now = clock_wall();
	if (have == 0 && now < cached.refresh_at && now >= cached.fetched_at -
	    300) {
		*token = cached.access_token;
		cached.access_token = NULL;
		if (info != NULL)
			snprintf(info, infolen, "cached, expires in %lds",
			    secs(cached.expires_at - now));
		rc = 0;
		goto out;
	}
	if (p->client_secret_file != NULL &&
	    config_read_secret(p->client_secret_file, &secret, err) == -1) {
		error_prefix(err, "[oauth2 %s] client_secret_file", p->name);
		goto out;
	}
	if (p->grant == OAUTH2_REFRESH_TOKEN && pick_refresh(p, have == 0 ?
	    &cached : NULL, &refresh, seed, err) == -1) {
		error_prefix(err, "[oauth2 %s]", p->name);
		goto out;
	}
	if (fetch(p, ca_file, ipresolve, secret, refresh, &fresh, &e) == -1) {
		/* A token still valid is better than none: used, and said. */
		if (have == 0 && now < cached.expires_at - 5 &&
		    !error_stopped(&e)) {
			log_warnx("oauth2 %s: %s; using the cached token "
			    "(expires in %lds)", p->name, e.msg,
			    secs(cached.expires_at - now));
			*token = cached.access_token;
			cached.access_token = NULL;
			if (info != NULL)
				snprintf(info, infolen, "cached, expires in "
				    "%lds; refresh failed", secs(
				    cached.expires_at - now));
			rc = 0;
		} else
			*err = e;
		goto out;
	}
	if (store_fetched(p, state_dir, path, &fresh, &refresh, seed,
	    err) == -1)
		goto out;
	*token = fresh.access_token;
	fresh.access_token = NULL;
	if (info != NULL)
		snprintf(info, infolen, "fetched, expires in %lds",
		    fresh.expires_in);
	rc = 0;
out:
	if (have == 0)
		oauth2_token_clear(&cached);
	oauth2_token_clear(&fresh);
	oauth2_free_token(secret);
	oauth2_free_token(refresh);
	state_unlock(lockfd);
	return rc;
}

static const char *const use_name[] = { "SMTP", "test mailbox",
	"bounce mailbox" };

/* The settings of one login of cfg. */
static void
login_of(const struct config *cfg, enum oauth2_use use,
    const struct config_oauth2 **p, const char **file)
{
	switch (use) {
	case OAUTH2_SMTP:
		*p = cfg->smtp_provider;
		*file = cfg->smtp_token_file;
		break;
	case OAUTH2_MAILBOX:
		*p = cfg->mailbox_provider;
		*file = cfg->mailbox_token_file;
		break;
	default:
		*p = cfg->bounce_provider;
		*file = cfg->bounce_token_file;
		break;
	}
}

int
oauth2_bearer(const struct config *cfg, enum oauth2_use use, char **token,
    struct mc_error *err)
{
	const struct config_oauth2 *p;
	const char *file;
	char info[100];

	*token = NULL;
	login_of(cfg, use, &p, &file);
	if (file != NULL) {
		if (oauth2_read_token(file, token, err) == -1)
			return error_prefix(err, "%s token_file",
			    use_name[use]);
		if (oauth2_token_check(*token) == -1) {
			*token = oauth2_free_token(*token);
			return error_set(err, MC_ERR_CONFIG, "%s token_file: "
			    "token file %s does not hold a bearer token "
			    "(characters other than A-Z a-z 0-9 - . _ ~ + / "
			    "and a trailing =)", use_name[use], file);
		}
		return 0;
	}
	if (p == NULL)
		return 0;
	if (oauth2_get(p, cfg->state_dir, cfg->ca_file, cfg->ipv4 ?
	    CURL_IPRESOLVE_V4 : cfg->ipv6 ? CURL_IPRESOLVE_V6 :
	    CURL_IPRESOLVE_WHATEVER, token, info, sizeof(info), err) == -1)
		return error_prefix(err, "%s OAuth2 token", use_name[use]);
	log_debug("oauth2 %s: %s token %s", p->name, use_name[use], info);
	return 0;
}

/* Adds a sentence to the end of err's message (cut at the cap). */
static void
error_append(struct mc_error *err, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(err->msg);

	va_start(ap, fmt);
	if (n < sizeof(err->msg))
		vsnprintf(err->msg + n, sizeof(err->msg) - n, fmt, ap);
	va_end(ap);
}

void
oauth2_refused(const struct config *cfg, enum oauth2_use use,
    struct mc_error *err)
{
	const struct config_oauth2 *p;
	struct oauth2_token tok;
	struct mc_error e;
	char stem[256], path[4096];
	const char *file;
	int lockfd;

	login_of(cfg, use, &p, &file);
	if (file != NULL) {
		error_append(err, "; the token of %s was refused (expired? "
		    "the wrong scope or mailbox?)", file);
		return;
	}
	if (p == NULL)
		return;
	error_append(err, "; the OAuth2 token of [oauth2 %s] was refused: "
	    "check scope and that the app may use this mailbox (a new "
	    "token is fetched for the next login)", p->name);
	if (oauth2_cache_stem(p, stem, sizeof(stem)) == -1 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s.json",
	    cfg->state_dir, stem) >= sizeof(path) ||
	    (lockfd = state_lock(cfg->state_dir, stem, &e)) == -1)
		return;
	/* Stale from now: the refresh token, if any, is kept. */
	if (oauth2_cache_load(path, p, &tok, &e) == 0) {
		tok.refresh_at = 0;
		tok.expires_at = 0;
		if (oauth2_cache_save(cfg->state_dir, path, p, &tok, &e) == -1)
			log_warnx("%s", e.msg);
		oauth2_token_clear(&tok);
	}
	state_unlock(lockfd);
}
