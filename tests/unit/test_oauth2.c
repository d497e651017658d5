/*
 * OAuth2 tokens: the token endpoint's replies (good, refusals, garbage),
 * when a token is fetched anew, the token_url rules, the cache file's
 * round trip and refusals, and the trace's filter for a bearer token.
 */
#include "tap.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "oauth2.h"

#define AT	"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl"

static const char *what = "token endpoint https://idp.test/token";

static void
test_reply_good(void **unused)
{
	struct oauth2_token tok;
	struct mc_error err;
	const char *r = "{\"access_token\":\"" AT "\","
	    "\"token_type\":\"Bearer\",\"expires_in\":3599,\"refresh_token\":\"rt-2\",\"scope\":\"x\"}";

	(void)unused;
	assert_int_equal(oauth2_parse_reply(what, 200, r, strlen(r), 1000.0,
	    &tok, &err), 0);
	assert_string_equal(tok.access_token, AT);
	assert_string_equal(tok.refresh_token, "rt-2");
	assert_string_equal(tok.token_type, "Bearer");
	assert_int_equal(tok.expires_in, 3599);
	assert_true(tok.expires_at == 4599.0);
	assert_true(tok.refresh_at == 4539.0);
	oauth2_token_clear(&tok);
	assert_null(tok.access_token);

	/* expires_in as a string (some providers), token_type in lowercase,
	 * no refresh token; no expires_in at all: an hour (RFC 6749 5.1). */
	r = "{\"access_token\":\"" AT "\",\"token_type\":\"bearer\","
	    "\"expires_in\":\"300\"}";
	assert_int_equal(oauth2_parse_reply(what, 200, r, strlen(r), 0, &tok,
	    &err), 0);
	assert_int_equal(tok.expires_in, 300);
	assert_null(tok.refresh_token);
	oauth2_token_clear(&tok);
	r = "{\"access_token\":\"" AT "\"}";
	assert_int_equal(oauth2_parse_reply(what, 200, r, strlen(r), 0, &tok,
	    &err), 0);
	assert_int_equal(tok.expires_in, 3600);
	oauth2_token_clear(&tok);
}

/* The reply r (status) is an error whose message holds every want. */
static void
refused(long status, const char *r, const char *want1, const char *want2)
{
	struct oauth2_token tok;
	struct mc_error err;

	assert_int_equal(oauth2_parse_reply(what, status, r, strlen(r), 0,
	    &tok, &err), -1);
	assert_int_equal(err.code, MC_ERR_SERVER);
	if (strstr(err.msg, want1) == NULL || (want2 != NULL &&
	    strstr(err.msg, want2) == NULL))
		fail_msg("'%s' lacks '%s' or '%s'", err.msg, want1,
		    want2 ? want2 : "");
	assert_null(tok.access_token);
	assert_null(strchr(err.msg, '\n'));
}

static void
test_reply_errors(void **unused)
{
	(void)unused;
	refused(400, "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000215: Invalid client secret provided.\"}",
	    "refused: invalid_client: AADSTS7000215: Invalid client secret "
	    "provided. (HTTP 400)", "check client_id and the secret in "
	    "client_secret_file");
	refused(400, "{\"error\":\"invalid_grant\"}", "invalid_grant (HTTP "
	    "400)", "put a new refresh token into refresh_token_file");
	refused(400, "{\"error\":\"invalid_scope\"}", "check scope", NULL);
	refused(401, "{\"error\":\"whatever\"}", "whatever (HTTP 401)", NULL);
	/* An error even with status 200; a 4xx without an error code. */
	refused(200, "{\"error\":\"invalid_request\"}", "invalid_request",
	    NULL);
	refused(403, "{}", "no error code (HTTP 403)", NULL);
	refused(200, "<html>this is not JSON\n", "HTTP 200 with 23 bytes "
	    "that are not JSON", NULL);
	refused(500, "<html>Internal Server Error</html>", "HTTP 500", "not a "
	    "JSON reply");
	refused(200, "[1, 2]", "not JSON", NULL);
	refused(200, "", "0 bytes", NULL);
	refused(200, "{\"token_type\":\"Bearer\"}", "without an access_token",
	    NULL);
	refused(200, "{\"access_token\":\"\"}", "without an access_token",
	    NULL);
	refused(200, "{\"access_token\":\"a b\"}", "not a bearer token", NULL);
	/* Only RFC 6750 b64token characters: a ^A would end the XOAUTH2
	 * field early, a ',' or '"' break other framings. */
	refused(200, "{\"access_token\":\"ab\\u0001auth=x\"}",
	    "not a bearer token (characters other than A-Z a-z 0-9", NULL);
	refused(200, "{\"access_token\":\"a,b\"}", "not a bearer token",
	    NULL);
	refused(200, "{\"access_token\":\"ab=c\"}", "not a bearer token",
	    NULL);
	refused(200, "{\"access_token\":\"" AT "\",\"token_type\":\"mac\"}",
	    "token_type 'mac', not Bearer", NULL);
	/* The provider's words are sanitized: no '|', no control character;
	 * only the first line, without Microsoft's Trace ID and the rest. */
	refused(400, "{\"error\":\"x\",\"error_description\":\"a\\tb|c\"}",
	    "x: a b/c (HTTP 400)", NULL);
	refused(400, "{\"error\":\"x\",\"error_description\":\"first\\r\\n"
	    "Trace ID: 1\\r\\nCorrelation ID: 2\"}", "x: first (HTTP 400)",
	    NULL);
	refused(401, "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000222: The provided client secret keys for app 'x' are "
	    "expired. Trace ID: 9 Correlation ID: 8 Timestamp: 2026-01-01\"}",
	    "invalid_client: AADSTS7000222: The provided client secret keys for "
	    "app 'x' are expired. (HTTP 401); check client_id", NULL);
}

/* RFC 6750 2.1 b64token: 1*( ALPHA / DIGIT / "-._~+/" ) *"=". */
static void
test_token_check(void **unused)
{
	static const char *good[] = { AT, "a", "Zz09-._~+/", "abc=", "abc==",
	    "EwBwA+/x~y_z.0-9===", NULL };
	static const char *bad[] = { "", "=", "==abc", "ab=c", "a b", "a\tb",
	    "a\001b", "a\r\n", "a,b", "a\"b", "a\\b", "\303\251t\303\251",
	    "abc=\n", NULL };
	char *big;
	int i;

	(void)unused;
	for (i = 0; good[i]; i++)
		if (oauth2_token_check(good[i]) != 0)
			fail_msg("'%s' refused", good[i]);
	for (i = 0; bad[i]; i++)
		if (oauth2_token_check(bad[i]) != -1)
			fail_msg("bad token %d taken", i);
	assert_non_null(big = malloc(OAUTH2_TOKEN_MAX + 2));
	memset(big, 'A', OAUTH2_TOKEN_MAX);
	big[OAUTH2_TOKEN_MAX] = '\0';
	assert_int_equal(oauth2_token_check(big), 0);
	big[OAUTH2_TOKEN_MAX] = 'A';
	big[OAUTH2_TOKEN_MAX + 1] = '\0';
	assert_int_equal(oauth2_token_check(big), -1);
	free(big);
}

/* Writes len bytes of c and a newline to dir/name, mode 600. */
static void
write_token(const char *dir, const char *name, size_t len, char *out,
    size_t outlen)
{
	FILE *f;
	size_t i;

	snprintf(out, outlen, "%s/%s", dir, name);
	assert_non_null(f = fopen(out, "w"));
	for (i = 0; i < len; i++)
		fputc('A' + (int)(i % 26), f);
	fputc('\n', f);
	fclose(f);
	chmod(out, 0600);
}

/*
 * Token files (bearer token files, refresh_token_file) hold tokens past a
 * password's 1 KiB (Microsoft's access tokens are 1.5 to 3 KB, refresh
 * tokens can be larger), under a password file's rules, called what they
 * are in errors.
 */
static void
test_token_file(void **unused)
{
	char tmpl[] = "/tmp/test_oauth2.XXXXXX", path[4096], link[4200];
	struct mc_error err;
	const char *dir;
	char *tok;

	(void)unused;
	assert_non_null(dir = tap_tmpdir(tmpl));
	write_token(dir, "at", 3000, path, sizeof(path));
	assert_int_equal(oauth2_read_token(path, &tok, &err), 0);
	assert_int_equal(strlen(tok), 3000);
	assert_int_equal(strncmp(tok, "ABC", 3), 0);
	tok = oauth2_free_token(tok);
	write_token(dir, "max", OAUTH2_TOKEN_MAX, path, sizeof(path));
	assert_int_equal(oauth2_read_token(path, &tok, &err), 0);
	tok = oauth2_free_token(tok);
	write_token(dir, "over", OAUTH2_TOKEN_MAX + 1, path, sizeof(path));
	assert_int_equal(oauth2_read_token(path, &tok, &err), -1);
	assert_null(tok);
	if (strstr(err.msg, "token file") == NULL ||
	    strstr(err.msg, "longer than 16384 bytes") == NULL)
		fail_msg("%s", err.msg);
	/* A password file's rules, a token file's name. */
	write_token(dir, "open", 2000, path, sizeof(path));
	chmod(path, 0644);
	assert_int_equal(oauth2_read_token(path, &tok, &err), -1);
	if (strstr(err.msg, "token file") == NULL || strstr(err.msg,
	    "chmod 600") == NULL || strstr(err.msg, "password") != NULL)
		fail_msg("%s", err.msg);
	chmod(path, 0600);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(oauth2_read_token(link, &tok, &err), -1);
	assert_non_null(strstr(err.msg, "token file"));
	write_token(dir, "empty", 0, path, sizeof(path));
	assert_int_equal(oauth2_read_token(path, &tok, &err), -1);
	assert_non_null(strstr(err.msg, "token file"));
	assert_non_null(strstr(err.msg, "empty"));
}

static void
test_refresh_at(void **unused)
{
	(void)unused;
	/* 60 s early for tokens of 10 minutes or more, a tenth before. */
	assert_true(oauth2_refresh_at(1000, 3600) == 4540);
	assert_true(oauth2_refresh_at(1000, 600) == 1540);
	assert_true(oauth2_refresh_at(1000, 599) == 1000 + 599 - 59.9);
	assert_true(oauth2_refresh_at(1000, 120) == 1108);
	assert_true(oauth2_refresh_at(1000, 10) == 1009);
	/* No lifetime: due at once (fetched again next time). */
	assert_true(oauth2_refresh_at(1000, 0) == 1000);
	assert_true(oauth2_refresh_at(1000, -5) == 1000);
}

static void
test_url_rules(void **unused)
{
	static const char *good[] = { "https://login.microsoftonline.com/t/"
	    "oauth2/v2.0/token", "https://oauth2.googleapis.com/token",
	    "http://127.0.0.1:8080/token", "http://127.5.6.7/t",
	    "http://[::1]:8080/token", "HTTPS://idp.test/", NULL };
	static const char *bad[] = { "http://localhost/token",
	    "http://10.0.0.1/token", "http://[::2]/token",
	    "http://128.0.0.1/token", "ftp://127.0.0.1/token",
	    "https://user:pw@idp.test/token", "not a url", "", NULL };
	struct mc_error err;
	int i;

	(void)unused;
	for (i = 0; good[i]; i++)
		if (oauth2_url_check(good[i], &err) != 0)
			fail_msg("%s refused: %s", good[i], err.msg);
	for (i = 0; bad[i]; i++) {
		if (oauth2_url_check(bad[i], &err) != -1)
			fail_msg("%s taken", bad[i]);
		assert_int_equal(err.code, MC_ERR_CONFIG);
	}
	assert_int_equal(oauth2_url_check("http://192.0.2.1/t", &err), -1);
	assert_non_null(strstr(err.msg, "loopback"));
}

static void
test_cache(void **unused)
{
	struct config_oauth2 p = { .name = "m365", .token_url =
	    "https://idp.test/token", .client_id = "app", .scope = "s" };
	struct config_oauth2 q = p;
	struct oauth2_token tok, back;
	struct mc_error err;
	struct stat st;
	char stem[256], stem2[256], path[4096];
	char tmpl[] = "/tmp/test_oauth2.XXXXXX";
	const char *dir;
	FILE *f;

	(void)unused;
	assert_non_null(dir = tap_tmpdir(tmpl));
	assert_int_equal(oauth2_cache_stem(&p, stem, sizeof(stem)), 0);
	assert_int_equal(strncmp(stem, "oauth2-m365-", 12), 0);
	assert_int_equal(strlen(stem), 12 + 16);
	/* Another scope (or endpoint, or client): another file. */
	q.scope = "t";
	assert_int_equal(oauth2_cache_stem(&q, stem2, sizeof(stem2)), 0);
	assert_string_not_equal(stem, stem2);
	snprintf(path, sizeof(path), "%s/%s.json", dir, stem);

	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), 1);
	memset(&tok, 0, sizeof(tok));
	tok.access_token = strdup(AT);
	tok.refresh_token = strdup("rt-7");
	tok.expires_in = 3600;
	tok.fetched_at = 1000.5;
	tok.refresh_at = 4540.5;
	tok.expires_at = 4600.5;
	snprintf(tok.refresh_seed, sizeof(tok.refresh_seed), "abc");
	assert_int_equal(oauth2_cache_save(dir, path, &p, &tok, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), 0);
	assert_string_equal(back.access_token, AT);
	assert_string_equal(back.refresh_token, "rt-7");
	assert_string_equal(back.refresh_seed, "abc");
	assert_int_equal(back.expires_in, 3600);
	assert_true(back.refresh_at == 4540.5 && back.expires_at == 4600.5 &&
	    back.fetched_at == 1000.5);
	oauth2_token_clear(&back);

	/* Another client's file under this name: not used. */
	q = p;
	q.client_id = "other";
	assert_int_equal(oauth2_cache_load(path, &q, &back, &err), 1);
	/* Others may read it: refused, saying how to fix it. */
	chmod(path, 0640);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), -1);
	assert_non_null(strstr(err.msg, "OAuth2 token cache"));
	assert_non_null(strstr(err.msg, "chmod"));
	chmod(path, 0600);
	/* Corrupt, or not a cache: fetched anew (1), never a crash. */
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"version\": 1, \"access_token\": ", f);
	fclose(f);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), 1);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"version\": 1, \"access_token\": 5, \"refresh_at\": 1, "
	    "\"expires_at\": 2, \"token_url\": \"https://idp.test/token\", "
	    "\"client_id\": \"app\"}", f);
	fclose(f);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), 1);
	/* An access token that is not a b64token (a ^A, a blank): not
	 * used, fetched anew. */
	tok.access_token[5] = '\001';
	assert_int_equal(oauth2_cache_save(dir, path, &p, &tok, &err), 0);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), 1);
	assert_null(back.access_token);
	tok.access_token[5] = ' ';
	assert_int_equal(oauth2_cache_save(dir, path, &p, &tok, &err), 0);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), 1);
	/* A symbolic link is refused. */
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(oauth2_cache_load(path, &p, &back, &err), -1);
	unlink(path);
	oauth2_token_clear(&tok);
}

/* The trace never shows a line holding the bearer token, whatever the
 * server echoes. */
static void
test_trace_filter(void **unused)
{
	static char logpath[] = "/tmp/test_oauth2.XXXXXX";
	struct config cfg;
	struct net_trace t;
	char errbuf[CURL_ERROR_SIZE], line[1024], buf[8192];
	CURL *h;
	FILE *f;
	size_t n;
	int fd;

	(void)unused;
	assert_true((fd = mkstemp(logpath)) != -1);
	close(fd);
	config_init(&cfg);
	assert_non_null(h = curl_easy_init());
	memset(&t, 0, sizeof(t));
	t.proto = NET_SMTP;
	snprintf(t.host, sizeof(t.host), "h:1");
	log_init("t", LOG_LEVEL_DEBUG);
	assert_int_equal(net_setup(h, &cfg, STARTTLS_NEVER, "canary@x.test",
	    NULL, &t, errbuf), 0);
	net_bearer(h, &t, AT);
	fflush(stderr);
	assert_non_null(freopen(logpath, "w", stderr));
	snprintf(line, sizeof(line), "535 5.7.8 token %s not accepted\r\n",
	    AT);
	net_debug(NULL, CURLINFO_HEADER_IN, line, strlen(line), &t);
	fflush(stderr);
	assert_non_null(f = fopen(logpath, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(logpath);
	assert_null(strstr(buf, "c2lnbmF0dXJl"));
	assert_null(strstr(t.reply, "c2lnbmF0dXJl"));
	assert_non_null(strstr(t.reply, "reply hidden"));
	curl_easy_cleanup(h);
	config_clear(&cfg);
}

/* Writes text to dir/name; the path in out. */
static void
write_conf(const char *dir, const char *name, const char *text, char *out,
    size_t outlen)
{
	FILE *f;

	snprintf(out, outlen, "%s/%s", dir, name);
	assert_non_null(f = fopen(out, "w"));
	fputs(text, f);
	fclose(f);
}

#define CONF_HEAD \
	"[oauth2 m365]\ntoken_url = https://idp.test/token\n" \
	"client_id = app\nclient_secret_file = /nonexistent/secret\n"
#define CONF_PROBE \
	"[probe p]\nsmtp = smtp://127.0.0.1:1\nfrom = a@b.test\n" \
	"to = a@b.test\nmailbox = imap://127.0.0.1:1/\n" \
	"smtp_user = a@b.test\nsmtp_oauth2 = m365\n"

/* A probe's provider settings are part of its identity (the daemon
 * restarts a probe whose provider changed on reload). */
static void
test_config_same(void **unused)
{
	struct config a, b;
	struct mc_error err;
	char tmpl[] = "/tmp/test_oauth2.XXXXXX", p1[4096], p2[4096];
	const char *dir;

	(void)unused;
	assert_non_null(dir = tap_tmpdir(tmpl));
	write_conf(dir, "1.conf", CONF_HEAD "scope = s\n" CONF_PROBE, p1,
	    sizeof(p1));
	write_conf(dir, "2.conf", CONF_HEAD "scope = t\n" CONF_PROBE, p2,
	    sizeof(p2));
	config_init(&a);
	config_init(&b);
	assert_int_equal(config_load(&a, p1, "p", &err), 0);
	assert_int_equal(config_finish(&a, &err), 0);
	assert_non_null(a.smtp_provider);
	assert_string_equal(a.smtp_provider->scope, "s");
	assert_int_equal(config_load(&b, p1, "p", &err), 0);
	assert_int_equal(config_finish(&b, &err), 0);
	assert_true(config_same(&a, &b));
	config_clear(&b);
	config_init(&b);
	assert_int_equal(config_load(&b, p2, "p", &err), 0);
	assert_int_equal(config_finish(&b, &err), 0);
	assert_false(config_same(&a, &b));
	config_clear(&a);
	config_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_good),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_token_check),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_refresh_at),
		cmocka_unit_test(test_url_rules),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_trace_filter),
		cmocka_unit_test(test_config_same),
	};

	return RUN_TESTS(tests);
}
