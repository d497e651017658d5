/*
 * The protocol trace: scripted exchanges played through net_debug, for
 * every way libcurl may authenticate (and the XOAUTH2 and OAUTHBEARER a
 * later release adds), the last-resort filter, and the step an error
 * names when the server refuses a command or answers LOGOUT oddly.
 */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config.h"
#include "log.h"
#include "net.h"

#define USER		"canary@greylist.test"
#define PASSWORD	"canary-secret"
#define TOKEN		"ya29.bearer-token-for-the-canary"

static char logpath[] = "/tmp/test_net_trace.XXXXXX";
static char logbuf[65536];
static struct config cfg;
static struct net_trace t;
static CURL *h;
static char errbuf[CURL_ERROR_SIZE];

static void
b64(const char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in,
	    (int)len);
}

/* A fresh trace for proto, logging to a file that is read back. */
static void
start(enum net_proto proto)
{
	memset(&t, 0, sizeof(t));
	t.proto = proto;
	snprintf(t.host, sizeof(t.host), "h:1");
	assert_int_equal(net_setup(h, &cfg, STARTTLS_NEVER, USER, PASSWORD,
	    &t, errbuf), 0);
	fflush(stderr);
	assert_non_null(freopen(logpath, "w", stderr));
}

static void
feed(curl_infotype type, const char *line)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s", line,
	    type == CURLINFO_TEXT ? "\n" : "\r\n");
	assert_int_equal(net_debug(NULL, type, buf, strlen(buf), &t), 0);
}

#define C(line)	feed(CURLINFO_HEADER_OUT, line)	/* client */
#define S(line)	feed(CURLINFO_HEADER_IN, line)	/* server */
#define I(line)	feed(CURLINFO_TEXT, line)	/* libcurl's own text */

/* What the exchange logged, one "t: h:1 > ..." line each. */
static const char *
logged(void)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	assert_non_null(f = fopen(logpath, "r"));
	n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
	logbuf[n] = '\0';
	fclose(f);
	return logbuf;
}

static void
has(const char *s)
{
	if (strstr(logged(), s) == NULL)
		fail_msg("'%s' not in the trace:\n%s", s, logbuf);
}

static void
lacks(const char *s)
{
	if (s[0] != '\0' && strstr(logged(), s) != NULL)
		fail_msg("'%s' in the trace:\n%s", s, logbuf);
}

/* None of the forms a password takes on the wire is in the trace. */
static void
no_secret(void)
{
	char blob[256], enc[512];
	int n;

	lacks(PASSWORD);
	b64(PASSWORD, strlen(PASSWORD), enc);
	lacks(enc);
	n = snprintf(blob, sizeof(blob), "%c%s%c%s", 0, USER, 0, PASSWORD);
	b64(blob, (size_t)n, enc);
	lacks(enc);
	n = snprintf(blob, sizeof(blob), "%s%c%s%c%s", USER, 0, USER, 0,
	    PASSWORD);
	b64(blob, (size_t)n, enc);
	lacks(enc);
	lacks(TOKEN);
}

static void
test_smtp_plain_ir(void **unused)
{
	char blob[256], enc[512], cmd[600];
	int n;

	(void)unused;
	start(NET_SMTP);
	n = snprintf(blob, sizeof(blob), "%c%s%c%s", 0, USER, 0, PASSWORD);
	b64(blob, (size_t)n, enc);
	snprintf(cmd, sizeof(cmd), "AUTH PLAIN %s", enc);
	C("EHLO probe");
	S("250 AUTH PLAIN LOGIN CRAM-MD5");
	C(cmd);
	assert_string_equal(t.step, "SMTP AUTH");
	S("235 2.7.0 Authentication successful");
	C("MAIL FROM:<probe@corp.test>");
	has("h:1 > AUTH PLAIN [hidden]\n");
	has("h:1 > MAIL FROM:<probe@corp.test>\n");
	assert_string_equal(t.step, "SMTP MAIL FROM");
	no_secret();
}

static void
test_smtp_login(void **unused)
{
	char enc[512], cmd[600];

	(void)unused;
	start(NET_SMTP);
	b64(USER, strlen(USER), enc);
	snprintf(cmd, sizeof(cmd), "AUTH LOGIN %s", enc);
	C(cmd);
	S("334 UGFzc3dvcmQ6");
	b64(PASSWORD, strlen(PASSWORD), enc);
	C(enc);
	S("235 2.7.0 Authentication successful");
	C("RCPT TO:<canary@greylist.test>");
	has("h:1 > AUTH LOGIN [hidden]\nt: h:1 < 334 UGFzc3dvcmQ6\n"
	    "t: h:1 > [hidden]\nt: h:1 < 235");
	has("> RCPT TO:<canary@greylist.test>");
	assert_string_equal(t.step, "SMTP RCPT TO");
	no_secret();
}

static void
test_smtp_plain_continuation(void **unused)
{
	char blob[256], enc[512];
	int n;

	(void)unused;
	start(NET_SMTP);
	C("AUTH PLAIN");
	S("334 ");
	n = snprintf(blob, sizeof(blob), "%c%s%c%s", 0, USER, 0, PASSWORD);
	b64(blob, (size_t)n, enc);
	C(enc);
	S("535 5.7.8 Error: authentication failed");
	C("QUIT");
	S("221 2.0.0 Bye");
	has("h:1 > AUTH PLAIN\nt: h:1 < 334 \nt: h:1 > [hidden]\n");
	no_secret();
	assert_string_equal(t.fail_step, "SMTP AUTH");
}

/* XOAUTH2 (SMTP): the token, and the empty line after an error. */
static void
test_smtp_xoauth2(void **unused)
{
	char blob[256], enc[512], cmd[600];
	struct mc_error err;
	int n;

	(void)unused;
	start(NET_SMTP);
	n = snprintf(blob, sizeof(blob), "user=%s\001auth=Bearer %s\001\001",
	    USER, TOKEN);
	b64(blob, (size_t)n, enc);
	snprintf(cmd, sizeof(cmd), "AUTH XOAUTH2 %s", enc);
	C(cmd);
	S("334 eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIn0=");
	C("");
	S("535 5.7.8 Username and Password not accepted");
	C("QUIT");
	S("221 2.0.0 closing connection");
	has("h:1 > AUTH XOAUTH2 [hidden]\n");
	lacks(enc);
	lacks(TOKEN);
	net_error(&err, "SMTP", CURLE_LOGIN_DENIED, &t, "Login denied");
	assert_string_equal(err.msg, "SMTP h:1 failed at SMTP AUTH: 535 5.7.8 "
	    "Username and Password not accepted (Login denied)");
}

/* OAUTHBEARER (RFC 7628) with SASL-IR (RFC 4959). */
static void
test_imap_oauthbearer(void **unused)
{
	char blob[256], enc[512], cmd[600];
	int n;

	(void)unused;
	start(NET_IMAP);
	n = snprintf(blob, sizeof(blob), "n,a=%s,\001host=h\001port=1\001"
	    "auth=Bearer %s\001\001", USER, TOKEN);
	b64(blob, (size_t)n, enc);
	snprintf(cmd, sizeof(cmd), "A002 AUTHENTICATE OAUTHBEARER %s", enc);
	C(cmd);
	S("A002 OK Logged in");
	C("A003 STATUS \"INBOX\" (UIDVALIDITY UIDNEXT)");
	has("h:1 > A002 AUTHENTICATE OAUTHBEARER [hidden]\n");
	has("h:1 > A003 STATUS");
	lacks(enc);
	no_secret();
}

/* PLAIN without SASL-IR: the untagged CAPABILITY does not end it. */
static void
test_imap_plain_continuation(void **unused)
{
	char blob[256], enc[512];
	int n;

	(void)unused;
	start(NET_IMAP);
	C("A004 AUTHENTICATE PLAIN");
	S("+ ");
	n = snprintf(blob, sizeof(blob), "%c%s%c%s", 0, USER, 0, PASSWORD);
	b64(blob, (size_t)n, enc);
	C(enc);
	S("* CAPABILITY IMAP4rev1 UIDPLUS");
	assert_int_equal(t.auth, 1);
	S("A004 OK Logged in");
	assert_int_equal(t.auth, 0);
	C("A005 SELECT INBOX");
	has("h:1 > A004 AUTHENTICATE PLAIN\nt: h:1 < + \n"
	    "t: h:1 > [hidden]\n");
	has("h:1 > A005 SELECT INBOX\n");
	assert_string_equal(t.step, "IMAP SELECT");
	no_secret();
}

/* CRAM-MD5, and a mechanism of several rounds (SCRAM). */
static void
test_imap_cram_scram(void **unused)
{
	(void)unused;
	start(NET_IMAP);
	C("A004 AUTHENTICATE CRAM-MD5");
	S("+ PDEyMzQ1Njc4OTAuMTIzNDVAdm0+");
	C("Y2FuYXJ5QGdyZXlsaXN0LnRlc3QgMGFmNGJmNjE5YmE0ZjcxNjdjYmRhZGJm");
	S("A004 OK Logged in");
	C("A005 AUTHENTICATE SCRAM-SHA-256 biwsbj1jYW5hcnkscj1ub25jZQ==");
	S("+ cj1ub25jZXNlcnZlcixzPXNhbHQsaT00MDk2");
	C("Yz1iaXdzLHI9bm9uY2VzZXJ2ZXIscD1wcm9vZg==");
	S("+ dj1zZXJ2ZXJzaWduYXR1cmU=");
	C("");
	S("A005 OK Logged in");
	has("h:1 > A004 AUTHENTICATE CRAM-MD5\nt: h:1 < + PDEy");
	has("h:1 > A005 AUTHENTICATE SCRAM-SHA-256 [hidden]\n");
	lacks("Y2FuYXJ5QGdyZXlsaXN0");
	lacks("biwsbj1j");
	lacks("Yz1iaXdz");
	assert_int_equal(t.auth, 0);
}

static void
test_imap_login(void **unused)
{
	(void)unused;
	start(NET_IMAP);
	C("A003 LOGIN \"" USER "\" \"" PASSWORD "\"");
	S("A003 OK Logged in");
	C("A004 EXAMINE INBOX");
	has("h:1 > A003 LOGIN [hidden]\nt: h:1 < A003 OK Logged in\n"
	    "t: h:1 > A004 EXAMINE INBOX\n");
	no_secret();
	lacks(USER);
}

static void
test_pop3_user_pass_apop(void **unused)
{
	(void)unused;
	start(NET_POP3);
	C("USER " USER);
	S("+OK");
	C("PASS " PASSWORD);
	S("-ERR [AUTH] Authentication failed.");
	assert_string_equal(t.fail_step, "POP3 PASS");
	C("APOP " USER " c4c9334bac560ecc979e58001b3e22fb");
	S("+OK Logged in.");
	C("STAT");
	has("h:1 > USER [hidden]\nt: h:1 < +OK\nt: h:1 > PASS [hidden]\n");
	has("h:1 > APOP [hidden]\nt: h:1 < +OK Logged in.\nt: h:1 > STAT\n");
	lacks("c4c9334b");
	no_secret();
	assert_null(t.fail_step);
	assert_string_equal(t.step, "POP3 STAT");
}

/* On an answer that is neither a challenge nor final, nothing is shown. */
static void
test_odd_server_keeps_hiding(void **unused)
{
	(void)unused;
	start(NET_POP3);
	C("AUTH LOGIN");
	S("+ VXNlcm5hbWU6");
	C("Y2FuYXJ5QGdyZXlsaXN0LnRlc3Q=");
	S("OK? what");
	C("Y2FuYXJ5LXNlY3JldA==");
	S("+OK Logged in.");
	C("UIDL");
	has("h:1 > AUTH LOGIN\n");
	has("h:1 < OK? what\nt: h:1 > [hidden]\nt: h:1 < +OK Logged in.\n"
	    "t: h:1 > UIDL\n");
	no_secret();
	/* Base64 that reads like a command moves no step. */
	start(NET_SMTP);
	C("AUTH LOGIN");
	S("334 VXNlcm5hbWU6");
	C("RSET");
	assert_string_equal(t.step, "SMTP AUTH");
	/* Neither does a name that is not a SASL mechanism show. */
	start(NET_SMTP);
	C("AUTH plain AHVzZXIAcGFzcw==");
	has("h:1 > AUTH [hidden]\n");
	lacks("plain");
}

/* A new connection starts outside any exchange. */
static void
test_reconnect(void **unused)
{
	(void)unused;
	start(NET_IMAP);
	C("A004 AUTHENTICATE PLAIN");
	I("  Trying 127.0.0.1:143...");
	assert_int_equal(t.auth, 0);
	assert_string_equal(t.step, "IMAP connect");
	I("Connected to 127.0.0.1 (127.0.0.1) port 143 (#1)");
	assert_string_equal(t.step, "IMAP greeting");
}

/* The filter: a server echoing a credential, a proxy URL in libcurl's text. */
static void
test_filter(void **unused)
{
	char blob[256], enc[512], line[600];
	int n;

	(void)unused;
	start(NET_SMTP);
	C("AUTH PLAIN");
	S("535 5.7.8 no such password: " PASSWORD);
	has("h:1 < (line hidden: it holds a credential)\n");
	assert_null(strstr(t.reply, PASSWORD));
	assert_string_equal(t.fail_reply,
	    "(reply hidden: it holds a credential)");
	/* Every alignment of the password in a base64 stream. */
	for (n = 0; n < 3; n++) {
		start(NET_SMTP);
		snprintf(blob, sizeof(blob), "%.*s%s", n, "xyz", PASSWORD);
		b64(blob, strlen(blob), enc);
		snprintf(line, sizeof(line), "501 5.5.2 cannot decode %s", enc);
		S(line);
		has("(line hidden: it holds a credential)");
		no_secret();
	}
	start(NET_IMAP);
	I("Uses proxy env variable all_proxy == "
	    "'socks5h://px:px-secret@127.0.0.1:1080'");
	I("Uses proxy env variable imap_proxy == 'http://px@proxy/x@y'");
	has("h:1 * Uses proxy env variable all_proxy == "
	    "'socks5h://***@127.0.0.1:1080'\n");
	has("'http://***@proxy/x@y'\n");
	lacks("px-secret");
}

struct step_case {
	enum net_proto	 proto;
	const char	*cmd;
	const char	*step;
};

static void
test_steps(void **unused)
{
	static const struct step_case cases[] = {
		{ NET_IMAP, "A1 UID SEARCH UID 1:5 HEADER X \"p\"",
		    "IMAP UID SEARCH" },
		{ NET_IMAP, "A1 UID FETCH 3 BODY[HEADER]", "IMAP UID FETCH" },
		{ NET_IMAP, "A1 UID STORE 3 +FLAGS.SILENT (\\Deleted)",
		    "IMAP UID STORE" },
		{ NET_IMAP, "A1 UID EXPUNGE 3", "IMAP UID EXPUNGE" },
		{ NET_IMAP, "A1 UID XYZZY 3", "IMAP UID command" },
		{ NET_IMAP, "A1 uid fetch 3 (UID)", "IMAP UID FETCH" },
		{ NET_IMAP, "A1 FETCH 3 BODY[TEXT]", "IMAP FETCH" },
		{ NET_IMAP, "A1 EXAMINE INBOX", "IMAP EXAMINE" },
		{ NET_IMAP, "A1 SELECT INBOX", "IMAP SELECT" },
		{ NET_IMAP, "A1 SEARCH ALL", "IMAP SEARCH" },
		{ NET_IMAP, "A1 STORE 3 +FLAGS (\\Seen)", "IMAP STORE" },
		{ NET_IMAP, "A1 EXPUNGE", "IMAP EXPUNGE" },
		{ NET_IMAP, "A1 LIST \"\" *", "IMAP LIST" },
		{ NET_IMAP, "A1 NOOP", "IMAP NOOP" },
		{ NET_IMAP, "A1 XYZZY", "IMAP command" },
		{ NET_POP3, "RETR 1", "POP3 RETR" },
		{ NET_POP3, "LIST", "POP3 LIST" },
		{ NET_POP3, "TOP 1 0", "POP3 TOP" },
		{ NET_POP3, "NOOP", "POP3 NOOP" },
		{ NET_POP3, "STAT", "POP3 STAT" },
		{ NET_POP3, "RSET", "POP3 RSET" },
		{ NET_POP3, "DELE 1", "POP3 DELE" },
		{ NET_POP3, "UIDL", "POP3 UIDL" },
		{ NET_SMTP, "MAIL FROM:<a@b>", "SMTP MAIL FROM" },
		{ NET_SMTP, "RCPT TO:<a@b>", "SMTP RCPT TO" },
		{ NET_SMTP, "RSET", "SMTP RSET" },
		{ NET_SMTP, "VRFY a", "SMTP VRFY" },
		{ NET_SMTP, "XCLIENT ADDR=1.2.3.4", "SMTP command" },
	};
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(cases[i].proto);
		C(cases[i].cmd);
		if (strcmp(t.step, cases[i].step) != 0)
			fail_msg("'%s': step '%s', not '%s'", cases[i].cmd,
			    t.step, cases[i].step);
	}
}

/* The refusal of RETR is reported, not UIDL's step nor QUIT's answer. */
static void
test_pop3_retr_refused(void **unused)
{
	struct mc_error err;

	(void)unused;
	start(NET_POP3);
	C("UIDL");
	S("+OK");
	S("1 00000001");
	S(".");
	C("RETR 1");
	S("-ERR [SYS/TEMP] message went away");
	C("QUIT");
	S("-ERR not now");
	net_error(&err, "POP3", CURLE_RECV_ERROR, &t, "Failure");
	assert_string_equal(err.msg, "POP3 h:1 failed at POP3 RETR: -ERR "
	    "[SYS/TEMP] message went away (Failure)");
}

/* A failure without refusal, then LOGOUT answered NO, then OK. */
static void
test_imap_logout_after_failure(void **unused)
{
	struct mc_error err;

	(void)unused;
	start(NET_IMAP);
	C("A007 UID FETCH 3 (UID INTERNALDATE RFC822.SIZE)");
	S("A007 NO [SERVERBUG] refused");
	C("A008 LOGOUT");
	S("A008 NO [ALERT] stay");
	net_error(&err, "IMAP", CURLE_QUOTE_ERROR, &t, "");
	assert_string_equal(err.msg, "IMAP h:1 failed at IMAP UID FETCH: "
	    "A007 NO [SERVERBUG] refused (Quote command returned error)");
	start(NET_IMAP);
	C("A009 UID FETCH 3 BODY[HEADER]");
	S("* 3 FETCH (UID 3)");
	C("A010 LOGOUT");
	S("* BYE");
	S("A010 OK Logout completed.");
	net_error(&err, "IMAP", CURLE_WEIRD_SERVER_REPLY, &t,
	    "Failed to parse FETCH response.");
	assert_string_equal(err.msg, "IMAP h:1 failed at IMAP UID FETCH: "
	    "* 3 FETCH (UID 3) (Failed to parse FETCH response.)");
}

/* A refusal that libcurl got past (EHLO, then HELO) is not the failure. */
static void
test_refusal_superseded(void **unused)
{
	(void)unused;
	start(NET_SMTP);
	C("EHLO probe");
	S("502 5.5.2 Error: command not recognized");
	assert_string_equal(t.fail_step, "SMTP EHLO");
	C("HELO probe");
	S("250 ok");
	assert_null(t.fail_step);
	assert_string_equal(t.step, "SMTP HELO");
}

static int
setup(void **unused)
{
	int fd;

	(void)unused;
	if ((fd = mkstemp(logpath)) == -1)
		return -1;
	close(fd);
	config_init(&cfg);
	log_init("t", LOG_LEVEL_DEBUG);
	return (h = curl_easy_init()) == NULL ? -1 : 0;
}

static int
teardown(void **unused)
{
	(void)unused;
	curl_easy_cleanup(h);
	unlink(logpath);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_plain_ir),
		cmocka_unit_test(test_smtp_login),
		cmocka_unit_test(test_smtp_plain_continuation),
		cmocka_unit_test(test_smtp_xoauth2),
		cmocka_unit_test(test_imap_oauthbearer),
		cmocka_unit_test(test_imap_plain_continuation),
		cmocka_unit_test(test_imap_cram_scram),
		cmocka_unit_test(test_imap_login),
		cmocka_unit_test(test_pop3_user_pass_apop),
		cmocka_unit_test(test_odd_server_keeps_hiding),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_pop3_retr_refused),
		cmocka_unit_test(test_imap_logout_after_failure),
		cmocka_unit_test(test_refusal_superseded),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
