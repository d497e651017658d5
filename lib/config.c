/*
 * config.c - the table of settings, their parsing and range checks by
 * kind, the command line's and --help's view of the table
 * (config_option()), the INI loader and the final consistency checks of
 * a probe.
 *
 * The INI loader is a small strict parser of our own, not inih: Debian
 * builds inih with INI_MAX_LINE 200 on the stack and no realloc, so any
 * longer line (a long ca_file path) is a syntax error, and
 * ini_parse_string() and ini_parse_stream() share that line buffer. inih
 * also merges a repeated section or key without a word and reports a
 * section only through its keys; GLib's GKeyFile merges repeats too and
 * gives no line numbers. Ours reads the file whole under a cap, refuses
 * NUL bytes and repeats, and reports "FILE:LINE: message".
 */
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "junk.h"
#include "metrics.h"
#include "oauth2.h"
#include "output.h"

enum setting_type {
	T_STRING,	/* free text without control characters */
	T_ADDRESS,	/* a bare mailbox address */
	T_PATH,
	T_URL_SMTP,
	T_URL_MAILBOX,
	T_SECONDS,	/* a duration: whole number of seconds in [min, max] */
	T_COUNT,	/* how many of something: whole number in [min, max] */
	T_BYTES,	/* a size in bytes, with an optional k or M suffix */
	T_BOOL,		/* on/off, yes/no, true/false, 1/0 */
	T_STARTTLS,
	T_OUTPUT,
	T_RANGE,
	T_LISTEN,	/* IPv4:PORT or [IPv6]:PORT, numeric (metrics.h) */
	T_JUNK,		/* ok, warning or critical: enum mc_state */
	T_AUTHRES	/* report or require (enum auth_results) */
};

struct setting {
	const char		*name;
	enum setting_type	 type;
	size_t			 offset;
	const char		*def;	/* NULL: unset */
	long			 min;
	long			 max;
	int			 letter;	/* short option; 0: none */
	const char		*arg;	/* for --help; NULL: a switch */
	unsigned		 programs;	/* CONFIG_PLUGIN... */
	const char		*help;
};

/*
 * The settings, in the order of --show-config and --help. Each line is
 * the INI key (the long option is the same with '-' for '_'), its kind,
 * default and bounds, then what the command line and --help need: the
 * short option, the argument's name (NULL: a switch that means "on"),
 * the programs that read it and one line of help without the default.
 */
#define P	CONFIG_PLUGIN
#define D	CONFIG_DAEMON
#define G	(CONFIG_DAEMON | CONFIG_GLOBAL)
#define S(n, t, d, lo, hi, l, a, p, h) \
	{ #n, t, offsetof(struct config, n), d, lo, hi, l, a, p, h }
static const struct setting settings[] = {
	S(smtp, T_URL_SMTP, NULL, 0, 0, 'S', "URL", P | D,
	    "smtp://host[:port] or smtps://host[:port]"),
	S(starttls, T_STARTTLS, "required", 0, 0, 0, "POLICY", P | D,
	    "STARTTLS for smtp://: required, optional or never"),
	S(smtp_user, T_STRING, NULL, 0, 0, 0, "USER", P | D,
	    "SMTP AUTH user"),
	S(smtp_password_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "its password: the first line of FILE"),
	S(from, T_ADDRESS, NULL, 0, 0, 'f', "ADDR", P | D,
	    "envelope sender and From: (bounces go here)"),
	S(to, T_ADDRESS, NULL, 0, 0, 'r', "ADDR", P | D,
	    "the test mailbox address"),
	S(fresh_address, T_BOOL, "on", 0, 0, 0, "on|off", P | D,
	    "send to LOCAL+TOKEN@DOMAIN"),
	S(mailbox, T_URL_MAILBOX, NULL, 0, 0, 'M', "URL", P | D,
	    "imap[s]://host[:port][/FOLDER] or pop3[s]://host[:port]"),
	S(mailbox_starttls, T_STARTTLS, "required", 0, 0, 0, "POLICY",
	    P | D, "STARTTLS for imap:// and pop3://"),
	S(mailbox_user, T_STRING, NULL, 0, 0, 0, "USER", P | D,
	    "test mailbox user"),
	S(mailbox_password_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "its password: the first line of FILE"),
	S(bounce_mailbox, T_URL_MAILBOX, NULL, 0, 0, 0, "URL", P | D,
	    "where bounces to --from land: every bounce is read, tied to "
	    "its canary and classified"),
	S(bounce_user, T_STRING, NULL, 0, 0, 0, "USER", P | D,
	    "bounce mailbox user"),
	S(bounce_password_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "its password: the first line of FILE"),
	S(ca_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "CA bundle for TLS"),
	S(insecure, T_BOOL, "off", 0, 0, 0, NULL, P | D,
	    "skip TLS certificate verification"),
	S(ipv4, T_BOOL, "off", 0, 0, '4', NULL, P | D,
	    "connect over IPv4 only (every server)"),
	S(ipv6, T_BOOL, "off", 0, 0, '6', NULL, P | D,
	    "connect over IPv6 only (every server)"),
	S(state_dir, T_PATH, CONFIG_DEFAULT_STATEDIR, 0, 0, 0, "DIR", P | D,
	    "where state, lock and key files live"),
	S(interval, T_SECONDS, "0", 0, 86400 * 7, 0, "SECONDS", P | D,
	    "least time between canaries"),
	S(warning, T_RANGE, "1800", 0, 0, 'w', "RANGE", P | D,
	    "latency warning threshold, seconds"),
	S(critical, T_RANGE, "3600", 0, 0, 'c', "RANGE", P | D,
	    "latency critical threshold, seconds"),
	S(lost_after, T_SECONDS, "7200", 10, 86400 * 30, 0, "SECONDS", P | D,
	    "a canary neither arrived nor bounced by then is HIDDEN"),
	S(keep, T_BOOL, "off", 0, 0, 0, NULL, P | D,
	    "leave found canaries in the mailbox"),
	S(no_send, T_BOOL, "off", 0, 0, 0, NULL, P | D,
	    "scan and evaluate only"),
	S(timeout, T_SECONDS, "30", 1, 3600, 't', "SECONDS", P | D,
	    "bound on the whole run"),
	S(history, T_COUNT, "50", 1, 1000, 0, "N", P | D,
	    "resolved canaries kept in state"),
	S(max_message_size, T_BYTES, "10M", 64 * 1024, 1024L * 1024 * 1024,
	    0, "SIZE", P | D, "larger mail is skipped unread and reported; "
	    "bytes, or a k or M suffix"),
	S(junk_folders, T_STRING, NULL, 0, 0, 0, "LIST", P | D,
	    "IMAP folders also scanned for canaries, separated by commas or "
	    "blanks (\"Junk E-mail\" in quotes); a canary found there is "
	    "delivered to junk"),
	S(junk, T_JUNK, "warning", 0, 0, 0, "STATE", P | D,
	    "the state of a canary delivered to a junk folder: ok, warning "
	    "or critical"),
	S(authserv_id, T_STRING, NULL, 0, 0, 0, "ID", P | D,
	    "read the SPF, DKIM and DMARC results of a delivered canary "
	    "from the Authentication-Results fields with this authserv-id "
	    "(the receiving server's); unset: none read"),
	S(auth_results, T_AUTHRES, "report", 0, 0, 0, "report|require", P | D,
	    "require: a delivered canary whose SPF, DKIM or DMARC did not "
	    "pass makes the verdict WARNING"),
	S(output, T_OUTPUT, "nagios", 0, 0, 0, "FORMAT", P,
	    "nagios or json"),
	S(snmp_index, T_COUNT, "0", 0, 4294967295L, 0, "N", D,
	    "the probe's row in the MIB table; 0: its place in the file"),
	S(agentx_socket, T_STRING, "unix:/var/agentx/master", 0, 0, 0,
	    "ADDR", G, "snmpd's AgentX socket"),
	S(notifications, T_BOOL, "on", 0, 0, 0, "on|off", D,
	    "send notifications when a probe's condition changes"),
	S(workers, T_COUNT, "16", 1, 256, 0, "N", G,
	    "most probe cycles running at once"),
	S(metrics_listen, T_LISTEN, NULL, 0, 0, 0, "ADDR:PORT", G,
	    "serve Prometheus metrics on http://ADDR:PORT/metrics "
	    "(ADDR numeric; [ADDR] for IPv6); unset: off"),
	S(metrics_file, T_PATH, NULL, 0, 0, 0, "FILE", P,
	    "write the probe's Prometheus metrics to FILE (node_exporter's "
	    "textfile collector)"),
	/* OAuth2 (oauth2.h): a provider section by name, or a token file. */
	S(smtp_oauth2, T_STRING, NULL, 0, 0, 0, "NAME", P | D,
	    "SMTP AUTH with an OAuth2 token of the [oauth2 NAME] section of "
	    "the --config file (XOAUTH2 or OAUTHBEARER)"),
	S(smtp_token_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "SMTP AUTH with the bearer token in FILE, read on every run"),
	S(mailbox_oauth2, T_STRING, NULL, 0, 0, 0, "NAME", P | D,
	    "test mailbox login with an OAuth2 token of [oauth2 NAME] of the "
	    "--config file"),
	S(mailbox_token_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "test mailbox login with the bearer token in FILE"),
	S(bounce_oauth2, T_STRING, NULL, 0, 0, 0, "NAME", P | D,
	    "bounce mailbox login with an OAuth2 token of [oauth2 NAME] of the "
	    "--config file"),
	S(bounce_token_file, T_PATH, NULL, 0, 0, 0, "FILE", P | D,
	    "bounce mailbox login with the bearer token in FILE"),
};
#undef S
#undef P
#undef D
#undef G

static void	oauth2_free(struct config *);

#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))
_Static_assert(NSETTINGS <= CONFIG_SETTINGS_MAX,
    "CONFIG_SETTINGS_MAX is too small for the table");

static const struct setting *
setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, key) == 0)
			return &settings[i];
	return NULL;
}

int
config_option(size_t i, struct config_option *out)
{
	const struct setting *s;
	size_t k;

	if (i >= NSETTINGS)
		return -1;
	s = &settings[i];
	memset(out, 0, sizeof(*out));
	out->key = s->name;
	/* The table's names are short constants; the unit test checks. */
	for (k = 0; s->name[k] != '\0' && k < CONFIG_KEY_MAX; k++)
		out->option[k] = s->name[k] == '_' ? '-' : s->name[k];
	out->letter = s->letter;
	out->arg = s->arg;
	out->help = s->help;
	out->def = s->def;
	out->programs = s->programs;
	return 0;
}

/*
 * One entry of --help: "  -S, --smtp URL" or "      --starttls POLICY",
 * then the help and the default from column HELP_COLUMN, words wrapped
 * before column HELP_WIDTH (a word longer than a line stays whole).
 */
#define HELP_COLUMN	30
#define HELP_WIDTH	79

void
config_option_help(const struct config_option *o, FILE *fp)
{
	char left[128], text[512];
	const char *p;
	size_t n, room = HELP_WIDTH - HELP_COLUMN;
	int col;

	if (o->letter)
		snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->letter,
		    o->option, o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(left, sizeof(left), "      --%s%s%s", o->option,
		    o->arg ? " " : "", o->arg ? o->arg : "");
	/* "(default X)" stays on one line: its blank is '\001' until
	 * printed. */
	if (o->def != NULL)
		snprintf(text, sizeof(text), "%s (default\001%s)", o->help,
		    o->def);
	else
		snprintf(text, sizeof(text), "%s", o->help);
	col = fprintf(fp, "%s", left);
	if (col > HELP_COLUMN - 2 || text[0] == '\0') {
		fputc('\n', fp);
		col = 0;
	}
	for (p = text; *p != '\0'; ) {
		fprintf(fp, "%*s", HELP_COLUMN - col, "");
		n = strlen(p);
		if (n > room) {
			/* The last blank that fits, else the first at all. */
			for (n = room; n > 0 && p[n] != ' '; n--)
				;
			if (n == 0)
				n = strcspn(p, " ");
		}
		for (; n > 0; n--, p++)
			fputc(*p == '\001' ? ' ' : *p, fp);
		fputc('\n', fp);
		p += strspn(p, " ");
		col = 0;
	}
}

void
config_help(FILE *fp, unsigned programs)
{
	struct config_option o;
	size_t i;

	for (i = 0; config_option(i, &o) == 0; i++)
		if (o.programs & programs)
			config_option_help(&o, fp);
}

static int
check_text(const char *what, const char *s, struct mc_error *err)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return error_set(err, MC_ERR_CONFIG,
			    "%s contains a line break",
			    what);
		if (*p < 0x20 || *p == 0x7f)
			return error_set(err, MC_ERR_CONFIG,
			    "%s contains a control "
			    "character", what);
	}
	return 0;
}

int
config_check_address(const char *what, const char *addr,
    struct mc_error *err)
{
	const char *at;
	size_t len = strlen(addr);

	if (check_text(what, addr, err) == -1)
		return -1;
	if (len == 0 || len > 254)
		return error_set(err, MC_ERR_CONFIG,
		    "%s must be an address of 1 to 254 "
		    "characters", what);
	if (strpbrk(addr, " \t<>()[],;:\"\\") != NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "%s '%s' must be a bare address like "
		    "user@example.org", what, addr);
	at = strchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || at - addr > 64)
		return error_set(err, MC_ERR_CONFIG,
		    "%s '%s' must be a bare address like "
		    "user@example.org", what, addr);
	return 0;
}

int
config_check_name(const char *what, const char *name, struct mc_error *err)
{
	size_t len = strlen(name), i;

	if (check_text(what, name, err) == -1)
		return -1;
	if (len == 0 || len > CONFIG_NAME_MAX || name[0] == '.' ||
	    name[0] == '-')
		goto bad;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' &&
		    name[i] != '_' && name[i] != '-')
			goto bad;
	return 0;
bad:
	return error_set(err, MC_ERR_CONFIG,
	    "%s '%s' must be 1 to %d letters, digits, "
	    "'.', '_' or '-'", what, name, CONFIG_NAME_MAX);
}

/*
 * A probe's name names its files in state_dir (NAME.json, NAME.lock);
 * "oauth2-..." are the OAuth2 token caches' (oauth2_cache_stem()), so a
 * probe may not take such a name.
 */
static int
check_probe_name(const char *name, struct mc_error *err)
{
	if (config_check_name("probe name", name, err) == -1)
		return -1;
	if (strncasecmp(name, "oauth2-", 7) == 0)
		return error_set(err, MC_ERR_CONFIG, "probe name '%s' must "
		    "not start with 'oauth2-': state_dir's OAuth2 token "
		    "caches are named so", name);
	return 0;
}

static int
check_url(const char *key, const char *url, const char *const *schemes,
    struct mc_error *err)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *pw = NULL;
	int rc = -1, i;

	if (check_text(key, url, err) == -1)
		return -1;
	if ((u = curl_url()) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		error_set(err, MC_ERR_CONFIG, "%s '%s' is not a URL", key, url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK) {
		error_set(err, MC_ERR_CONFIG,
		    "%s must not carry a password: use a password "
		    "file or the environment", key);
		goto out;
	}
	for (i = 0; schemes[i]; i++)
		if (strcasecmp(scheme, schemes[i]) == 0)
			break;
	if (schemes[i] == NULL) {
		char want[64] = "";
		size_t off = 0;

		/* The lists are short constants: "smtp, smtps" at most 31. */
		for (i = 0; schemes[i] && off < sizeof(want); i++)
			off += (size_t)snprintf(want + off, sizeof(want) - off,
			    "%s%s", i ? ", " : "", schemes[i]);
		error_set(err, MC_ERR_CONFIG,
		    "%s '%s': scheme must be one of %s", key, url,
		    want);
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(pw);
	curl_url_cleanup(u);
	return rc;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "on", "yes", "true", "1", NULL };
	static const char *no[] = { "off", "no", "false", "0", NULL };
	int i;

	for (i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
	for (i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	return -1;
}

/* Digits only, no sign, no suffix; fits a long. */
static int
parse_whole(const char *v, long *out)
{
	char *end;
	long n;

	if (*v == '\0' || strspn(v, "0123456789") != strlen(v))
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = n;
	return 0;
}

/* "10485760", "10240k", "10M": bytes, KiB, MiB. */
static int
parse_bytes(const char *v, long *out)
{
	size_t digits = strspn(v, "0123456789");
	long n, mult = 1;

	if (digits == 0 || digits > 12)
		return -1;
	if (v[digits] == 'k' || v[digits] == 'K')
		mult = 1024;
	else if (v[digits] == 'm' || v[digits] == 'M')
		mult = 1024 * 1024;
	else if (v[digits] != '\0')
		return -1;
	if (mult > 1 && v[digits + 1] != '\0')
		return -1;
	errno = 0;
	n = strtol(v, NULL, 10);
	if (errno || n > LONG_MAX / mult)
		return -1;
	*out = n * mult;
	return 0;
}

/* A string setting: an owned copy replaces the old value. */
static int
set_string(void *field, const char *value, struct mc_error *err)
{
	char **str = field;

	free(*str);
	if ((*str = strdup(value)) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	return 0;
}

/* A number of seconds, a count or a size, within the setting's range. */
static int
set_number(const struct setting *s, void *field, const char *key,
    const char *value, struct mc_error *err)
{
	long n;
	int bad;

	bad = (s->type == T_BYTES ? parse_bytes(value, &n) :
	    parse_whole(value, &n)) == -1 || n < s->min || n > s->max;
	if (bad && s->type == T_SECONDS)
		return error_set(err, MC_ERR_CONFIG, "%s must be a whole "
		    "number of seconds from %ld to %ld, not '%s'", key,
		    s->min, s->max, value);
	if (bad && s->type == T_BYTES)
		return error_set(err, MC_ERR_CONFIG, "%s must be a size from "
		    "%ldk to %ldM (bytes, or with a k or M suffix), not '%s'",
		    key, s->min / 1024, s->max / (1024 * 1024), value);
	if (bad)
		return error_set(err, MC_ERR_CONFIG, "%s must be a whole "
		    "number from %ld to %ld, not '%s'", key, s->min, s->max,
		    value);
	*(long *)field = n;
	return 0;
}

/* One of a few words, stored as its index (the enum's value). */
static int
set_keyword(void *field, const char *key, const char *value,
    const char *const *words, const char *want, struct mc_error *err)
{
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(value, words[i]) == 0) {
			*(int *)field = i;
			return 0;
		}
	return error_set(err, MC_ERR_CONFIG, "%s must be %s, not '%s'", key,
	    want, value);
}

int
config_set(struct config *cfg, const char *key, const char *value,
    struct mc_error *err)
{
	/* In the order of enum starttls and enum output_format. */
	static const char *const starttls[] = { "required", "optional",
	    "never", NULL };
	static const char *const formats[] = { "nagios", "json", NULL };
	static const char *const junk_states[] = { "ok", "warning",
	    "critical", NULL };	/* MC_OK, MC_WARNING, MC_CRITICAL */
	static const char *const authres[] = { "report", "require", NULL };
	static const char *const smtp_schemes[] = { "smtp", "smtps", NULL };
	static const char *const mbox_schemes[] = { "imap", "imaps", "pop3",
	    "pop3s", NULL };
	const struct setting *s = setting_find(key);
	void *field;
	int b;

	if (s == NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "unknown setting '%s'", key);
	field = (char *)cfg + s->offset;
	switch (s->type) {
	case T_ADDRESS:
		if (config_check_address(key, value, err) == -1)
			return -1;
		return set_string(field, value, err);
	case T_URL_SMTP:
	case T_URL_MAILBOX:
		if (check_url(key, value, s->type == T_URL_SMTP ?
		    smtp_schemes : mbox_schemes, err) == -1)
			return -1;
		return set_string(field, value, err);
	case T_LISTEN:
		if (metrics_parse_listen(value, NULL, NULL, err) == -1)
			return error_prefix(err, "%s", key);
		return set_string(field, value, err);
	case T_STRING:
	case T_PATH:
		if (check_text(key, value, err) == -1)
			return -1;
		if (*value == '\0')
			return error_set(err, MC_ERR_CONFIG,
			    "%s must not be empty", key);
		return set_string(field, value, err);
	case T_SECONDS:
	case T_COUNT:
	case T_BYTES:
		return set_number(s, field, key, value, err);
	case T_BOOL:
		if (parse_bool(value, &b) == -1)
			return error_set(err, MC_ERR_CONFIG,
			    "%s must be on or off, not '%s'", key, value);
		*(int *)field = b;
		return 0;
	case T_STARTTLS:
		return set_keyword(field, key, value, starttls,
		    "required, optional or never", err);
	case T_OUTPUT:
		return set_keyword(field, key, value, formats,
		    "nagios or json", err);
	case T_AUTHRES:
		return set_keyword(field, key, value, authres,
		    "report or require", err);
	case T_RANGE:
		if (range_parse(field, value, err) == -1)
			return error_prefix(err, "%s", key);
		return 0;
	case T_JUNK:
		return set_keyword(field, key, value, junk_states,
		    "ok, warning or critical", err);
	}
	return error_set(err, MC_ERR_CONFIG, "setting '%s' has no type", key);
}

void
config_init(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NSETTINGS; i++)
		if (settings[i].def != NULL &&
		    config_set(cfg, settings[i].name, settings[i].def,
		    NULL) == -1)
			abort();	/* a broken table is a programming error */
}

void
config_clear(struct config *cfg)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++) {
		switch (settings[i].type) {
		case T_STRING: case T_ADDRESS: case T_PATH:
		case T_URL_SMTP: case T_URL_MAILBOX: case T_LISTEN:
			free(*(char **)((char *)cfg + settings[i].offset));
			break;
		default:
			break;
		}
	}
	free(cfg->probe);
	if (cfg->smtp_password)
		OPENSSL_cleanse(cfg->smtp_password,
		    strlen(cfg->smtp_password));
	if (cfg->mailbox_password)
		OPENSSL_cleanse(cfg->mailbox_password,
		    strlen(cfg->mailbox_password));
	if (cfg->bounce_password)
		OPENSSL_cleanse(cfg->bounce_password,
		    strlen(cfg->bounce_password));
	free(cfg->smtp_password);
	free(cfg->mailbox_password);
	free(cfg->bounce_password);
	oauth2_free(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

/*
 * The INI file, read whole (capped) and split in place. Lines are
 * "[global]", "[probe NAME]", "key = value" (or "key: value"), blank, or
 * comments starting with ';' or '#'; a ';' after a blank ends a value, as
 * with inih before. Surrounding blanks and a leading UTF-8 BOM are
 * dropped. There are no continuation lines.
 */
struct ini_section {
	const char	*name;		/* "global" or "probe NAME" */
	int		 line;
};

struct ini_entry {
	size_t		 section;	/* index into ini.s */
	const char	*key;
	const char	*value;
	int		 line;
};

struct ini {
	char			*data;
	struct ini_section	*s;
	size_t			 ns;
	struct ini_entry	*e;
	size_t			 ne;
};

static void
ini_free(struct ini *ini)
{
	free(ini->data);
	free(ini->s);
	free(ini->e);
	memset(ini, 0, sizeof(*ini));
}

static char *
lskip(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\v' ||
	    *s == '\f')
		s++;
	return s;
}

static char *
rstrip(char *s)
{
	char *p = s + strlen(s);

	while (p > s && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r' ||
	    p[-1] == '\v' || p[-1] == '\f'))
		*--p = '\0';
	return s;
}

/* The first of chars, or a ';' after a blank (a comment), or the end. */
static char *
find_or_comment(char *s, const char *chars)
{
	int was_blank = 0;

	for (; *s; s++) {
		if (chars != NULL && strchr(chars, *s) != NULL)
			break;
		if (was_blank && *s == ';')
			break;
		was_blank = *s == ' ' || *s == '\t';
	}
	return s;
}

/* Grows an array of n elements of size sz by one; NULL when out of
 * memory. The caps on the file bound n. */
static void *
grow(void *v, size_t n, size_t sz)
{
	/* Capacities 8, 16, 32...: full when n is one of them. */
	if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
		return v;
	return realloc(v, (n ? n * 2 : 8) * sz);
}

static int
ini_line(struct ini *ini, char *p, int line, size_t *cur,
    struct mc_error *err)
{
	struct ini_section *ns;
	struct ini_entry *ne;
	struct mc_error e;
	char *s = rstrip(lskip(p)), *end, *key, *value;

	if (*s == '\0' || *s == ';' || *s == '#')
		return 0;
	if (*s == '[') {
		end = find_or_comment(s + 1, "]");
		if (*end != ']')
			return error_set(err, MC_ERR_CONFIG,
			    "%d: '[' without ']'", line);
		*end = '\0';
		value = lskip(end + 1);
		if (*value != '\0' && *value != ';' && *value != '#')
			return error_set(err, MC_ERR_CONFIG,
			    "%d: text after ']'", line);
		if (strncmp(s + 1, "probe ", 6) == 0) {
			if (check_probe_name(s + 7, &e) == -1)
				return error_set(err, MC_ERR_CONFIG,
				    "%d: %s", line, e.msg);
		} else if (strncmp(s + 1, "oauth2 ", 7) == 0) {
			if (config_check_name("oauth2 name", s + 8, &e) == -1)
				return error_set(err, MC_ERR_CONFIG,
				    "%d: %s", line, e.msg);
		} else if (strcmp(s + 1, "global") != 0) {
			return error_set(err, MC_ERR_CONFIG,
			    "%d: unknown section [%s] (want [global], "
			    "[probe NAME] or [oauth2 NAME])", line, s + 1);
		}
		if ((ns = grow(ini->s, ini->ns, sizeof(*ns))) == NULL)
			return error_set(err, MC_ERR_NOMEM,
			    "%d: out of memory", line);
		ini->s = ns;
		ns[ini->ns].name = s + 1;
		ns[ini->ns].line = line;
		*cur = ini->ns++;
		return 0;
	}
	end = find_or_comment(s, "=:");
	if (*end != '=' && *end != ':')
		return error_set(err, MC_ERR_CONFIG,
		    "%d: syntax error (want [section] or "
		    "key = value)", line);
	*end = '\0';
	key = rstrip(s);
	value = lskip(end + 1);
	*find_or_comment(value, NULL) = '\0';
	rstrip(value);
	if (*key == '\0')
		return error_set(err, MC_ERR_CONFIG,
		    "%d: no key before '%c'", line,
		    end == s ? '=' : *end);
	if (*cur == (size_t)-1)
		return error_set(err, MC_ERR_CONFIG,
		    "%d: '%s' before any section (want "
		    "[global] or [probe NAME] first)", line, key);
	if ((ne = grow(ini->e, ini->ne, sizeof(*ne))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "%d: out of memory", line);
	ini->e = ne;
	ne[ini->ne].section = *cur;
	ne[ini->ne].key = key;
	ne[ini->ne].value = value;
	ne[ini->ne].line = line;
	ini->ne++;
	return 0;
}

/* For the duplicate checks: indices sorted by what must be unique, then
 * by line (qsort_r: the daemon may load files on more than one thread). */
static int
section_cmp(const void *a, const void *b, void *arg)
{
	const struct ini *ini = arg;
	const struct ini_section *x = &ini->s[*(const size_t *)a];
	const struct ini_section *y = &ini->s[*(const size_t *)b];
	int c = strcmp(x->name, y->name);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int
entry_cmp(const void *a, const void *b, void *arg)
{
	const struct ini *ini = arg;
	const struct ini_entry *x = &ini->e[*(const size_t *)a];
	const struct ini_entry *y = &ini->e[*(const size_t *)b];
	int c;

	if (x->section != y->section)
		return (x->section > y->section) - (x->section < y->section);
	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * A section or a key given twice is an error, not a merge: the second
 * would silently win (or mix two probes into one). The repeat nearest the
 * top of the file is reported, with the line of the first.
 */
static int
ini_duplicates(struct ini *ini, const char *path, struct mc_error *err)
{
	size_t *ix, n = ini->ns > ini->ne ? ini->ns : ini->ne, i;
	int line = 0, first = 0, is_key = 0;
	const char *what = NULL, *sect = NULL;

	if (n == 0)
		return 0;
	if ((ix = calloc(n, sizeof(*ix))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "%s: out of memory", path);
	for (i = 0; i < ini->ns; i++)
		ix[i] = i;
	qsort_r(ix, ini->ns, sizeof(*ix), section_cmp, ini);
	for (i = 1; i < ini->ns; i++) {
		const struct ini_section *a = &ini->s[ix[i - 1]];
		const struct ini_section *b = &ini->s[ix[i]];

		if (strcmp(a->name, b->name) == 0 &&
		    (line == 0 || b->line < line)) {
			line = b->line;
			first = a->line;
			what = b->name;
		}
	}
	for (i = 0; i < ini->ne; i++)
		ix[i] = i;
	qsort_r(ix, ini->ne, sizeof(*ix), entry_cmp, ini);
	for (i = 1; i < ini->ne; i++) {
		const struct ini_entry *a = &ini->e[ix[i - 1]];
		const struct ini_entry *b = &ini->e[ix[i]];

		if (a->section == b->section && strcmp(a->key, b->key) == 0 &&
		    (line == 0 || b->line < line)) {
			line = b->line;
			first = a->line;
			what = b->key;
			sect = ini->s[b->section].name;
			is_key = 1;
		}
	}
	free(ix);
	if (line == 0)
		return 0;
	if (is_key)
		return error_set(err, MC_ERR_CONFIG,
		    "%s:%d: '%s' again in [%s] (first at "
		    "line %d): give each key once", path, line, what, sect,
		    first);
	return error_set(err, MC_ERR_CONFIG,
	    "%s:%d: [%s] again (first at line %d): give "
	    "each section once", path, line, what, first);
}

/*
 * Reads and splits the file: syntax, section names and repeats are
 * checked here, values by config_set() later.
 */
static int
ini_read(const char *path, struct ini *ini, struct mc_error *err)
{
	struct mc_error e;
	char *p, *end, *nl, *nul;
	size_t len, cur = (size_t)-1;
	int line = 1;

	memset(ini, 0, sizeof(*ini));
	if (file_read(path, "config file", 0, CONFIG_FILE_MAX, &ini->data,
	    &len, err) == -1)
		return -1;
	p = ini->data;
	end = p + len;
	if ((nul = memchr(p, '\0', len)) != NULL) {
		for (; p < nul; p++)
			line += *p == '\n';
		ini_free(ini);
		return error_set(err, MC_ERR_CONFIG,
		    "%s:%d: NUL byte: not a text file", path,
		    line);
	}
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	for (; p < end; p = nl + 1, line++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';
		if (nl - p > CONFIG_LINE_MAX) {
			ini_free(ini);
			return error_set(err, MC_ERR_CONFIG,
			    "%s:%d: line longer than %d "
			    "characters", path, line, CONFIG_LINE_MAX);
		}
		if (ini_line(ini, p, line, &cur, &e) == -1) {
			ini_free(ini);
			return error_set(err, MC_ERR_CONFIG,
			    "%s:%s", path, e.msg);
		}
	}
	if (ini_duplicates(ini, path, err) == -1) {
		ini_free(ini);
		return -1;
	}
	return 0;
}

/* Frees the [oauth2 NAME] sections a config holds. */
static void
oauth2_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->noauth2; i++) {
		free(cfg->oauth2[i].name);
		free(cfg->oauth2[i].token_url);
		free(cfg->oauth2[i].client_id);
		free(cfg->oauth2[i].client_secret_file);
		free(cfg->oauth2[i].scope);
		free(cfg->oauth2[i].refresh_token_file);
	}
	free(cfg->oauth2);
	cfg->oauth2 = NULL;
	cfg->noauth2 = 0;
}

/* One key of an [oauth2 NAME] section. */
static int
oauth2_set(struct config_oauth2 *o, const char *key, const char *value,
    struct mc_error *err)
{
	static const char *const grants[] = { "client_credentials",
	    "refresh_token", NULL };
	char **field;

	if (strcmp(key, "grant") == 0)
		return set_keyword(&o->grant, key, value, grants,
		    "client_credentials or refresh_token", err);
	if (strcmp(key, "token_url") == 0)
		field = &o->token_url;
	else if (strcmp(key, "client_id") == 0)
		field = &o->client_id;
	else if (strcmp(key, "client_secret_file") == 0)
		field = &o->client_secret_file;
	else if (strcmp(key, "scope") == 0)
		field = &o->scope;
	else if (strcmp(key, "refresh_token_file") == 0)
		field = &o->refresh_token_file;
	else
		return error_set(err, MC_ERR_CONFIG, "unknown oauth2 setting "
		    "'%s' (want token_url, client_id, client_secret_file, "
		    "scope, grant or refresh_token_file)", key);
	if (check_text(key, value, err) == -1)
		return -1;
	if (*value == '\0')
		return error_set(err, MC_ERR_CONFIG, "%s must not be empty",
		    key);
	if (field == &o->token_url && oauth2_url_check(value, err) == -1)
		return -1;
	return set_string(field, value, err);
}

/*
 * Reads every [oauth2 NAME] section of the file into cfg->oauth2 (they
 * replace what an earlier load left): each key checked, what a grant
 * needs present.
 */
static int
oauth2_sections(struct config *cfg, const struct ini *ini, const char *path,
    struct mc_error *err)
{
	struct config_oauth2 *o;
	struct mc_error e;
	size_t i, k, n = 0;

	oauth2_free(cfg);
	for (i = 0; i < ini->ns; i++)
		n += strncmp(ini->s[i].name, "oauth2 ", 7) == 0;
	if (n == 0)
		return 0;
	if (n > CONFIG_OAUTH2_MAX)
		return error_set(err, MC_ERR_LIMIT, "%s: more than %d [oauth2 "
		    "NAME] sections", path, CONFIG_OAUTH2_MAX);
	if ((cfg->oauth2 = calloc(n, sizeof(*cfg->oauth2))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	for (i = 0; i < ini->ns; i++) {
		if (strncmp(ini->s[i].name, "oauth2 ", 7) != 0)
			continue;
		o = &cfg->oauth2[cfg->noauth2++];
		o->line = ini->s[i].line;
		if ((o->name = strdup(ini->s[i].name + 7)) == NULL)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		for (k = 0; k < ini->ne; k++) {
			if (ini->e[k].section != i)
				continue;
			if (oauth2_set(o, ini->e[k].key, ini->e[k].value,
			    &e) == -1)
				return error_set(err, MC_ERR_CONFIG,
				    "%s:%d: [oauth2 %s]: %s", path,
				    ini->e[k].line, o->name, e.msg);
		}
		if (o->token_url == NULL || o->client_id == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "%s:%d: [oauth2 %s] needs token_url and "
			    "client_id", path, o->line, o->name);
		if (o->grant == OAUTH2_REFRESH_TOKEN &&
		    o->refresh_token_file == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "%s:%d: [oauth2 %s]: grant = refresh_token needs "
			    "refresh_token_file", path, o->line, o->name);
		if (o->grant == OAUTH2_CLIENT_CREDENTIALS &&
		    o->client_secret_file == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "%s:%d: [oauth2 %s]: grant = client_credentials "
			    "needs client_secret_file", path, o->line, o->name);
		if (o->grant == OAUTH2_CLIENT_CREDENTIALS &&
		    o->refresh_token_file != NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "%s:%d: [oauth2 %s]: refresh_token_file is for "
			    "grant = refresh_token", path, o->line, o->name);
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, const char *probe,
    struct mc_error *err)
{
	struct config scratch;
	struct mc_error e;
	struct ini ini;
	size_t i, mine = (size_t)-1;
	int pass;

	if (ini_read(path, &ini, err) == -1)
		return -1;
	for (i = 0; probe != NULL && i < ini.ns; i++)
		if (strncmp(ini.s[i].name, "probe ", 6) == 0 &&
		    strcmp(ini.s[i].name + 6, probe) == 0)
			mine = i;
	if (probe != NULL && mine == (size_t)-1) {
		ini_free(&ini);
		return error_set(err, MC_ERR_CONFIG,
		    "%s: no section [probe %s]", path, probe);
	}
	/*
	 * Pass 1 checks every value in file order, so the first error of the
	 * file is the one reported, and sets [global]; pass 2 lays the
	 * probe's own section over it, whatever the order of the two.
	 */
	if (oauth2_sections(cfg, &ini, path, err) == -1) {
		ini_free(&ini);
		return -1;
	}
	config_init(&scratch);
	for (pass = 1; pass <= 2; pass++)
		for (i = 0; i < ini.ne; i++) {
			const struct ini_entry *en = &ini.e[i];
			struct config *target;

			if (strncmp(ini.s[en->section].name, "oauth2 ", 7) == 0)
				continue;	/* oauth2_sections() */
			if (pass == 1)
				target = strcmp(ini.s[en->section].name,
				    "global") == 0 ? cfg : &scratch;
			else if (en->section == mine)
				target = cfg;
			else
				continue;
			if (config_set(target, en->key, en->value, &e) == -1) {
				error_set(err, MC_ERR_CONFIG,
				    "%s:%d: %s", path, en->line,
				    e.msg);
				config_clear(&scratch);
				ini_free(&ini);
				return -1;
			}
		}
	config_clear(&scratch);
	ini_free(&ini);
	if (probe != NULL && (cfg->probe = strdup(probe)) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	return 0;
}

int
config_probe_names(const char *path, char ***names, size_t *n,
    struct mc_error *err)
{
	struct ini ini;
	char **v;
	size_t i, k = 0;

	if (ini_read(path, &ini, err) == -1)
		return -1;
	if ((v = calloc(ini.ns + 1, sizeof(*v))) == NULL) {
		ini_free(&ini);
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	/* Repeats were refused: each name once, in file order. */
	for (i = 0; i < ini.ns; i++) {
		if (strncmp(ini.s[i].name, "probe ", 6) != 0)
			continue;
		if ((v[k] = strdup(ini.s[i].name + 6)) == NULL) {
			while (k > 0)
				free(v[--k]);
			free(v);
			ini_free(&ini);
			return error_set(err, MC_ERR_NOMEM, "out of memory");
		}
		k++;
	}
	ini_free(&ini);
	*names = v;
	*n = k;
	return 0;
}

int
config_read_secret(const char *path, char **out, struct mc_error *err)
{
	return config_read_secret_max(path, "password file", CONFIG_SECRET_MAX,
	    out, err);
}

int
config_read_secret_max(const char *path, const char *what, size_t max,
    char **out, struct mc_error *err)
{
	char *data;
	size_t len, first;
	int rc = -1;

	if (file_read(path, what, FILE_PRIVATE | FILE_NOFOLLOW,
	    CONFIG_SECRET_FILE_MAX, &data, &len, err) == -1)
		return -1;
	first = strcspn(data, "\r\n");
	if (memchr(data, '\0', len) != NULL)
		error_set(err, MC_ERR_CONFIG,
		    "%s %s contains a NUL byte", what, path);
	else if (first > max)
		error_set(err, MC_ERR_CONFIG,
		    "%s %s: first line is longer than "
		    "%zu bytes", what, path, max);
	else if (first == 0)
		error_set(err, MC_ERR_CONFIG,
		    "%s %s is empty", what, path);
	else if ((*out = strndup(data, first)) == NULL)
		error_set(err, MC_ERR_NOMEM, "out of memory");
	else
		rc = 0;
	OPENSSL_cleanse(data, len);
	free(data);
	return rc;
}

/*
 * A password file given as a bare name (no '/') is a systemd credential
 * when $CREDENTIALS_DIRECTORY is set: LoadCredential=NAME:/path puts it
 * there, readable by the service's user, and it is reread from there on
 * every reload.
 */
static int
load_password(const char *file, const char *env, char **out,
    struct mc_error *err)
{
	const char *v, *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	int rc;

	if (file != NULL && strchr(file, '/') == NULL && dir != NULL &&
	    *dir != '\0') {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >=
		    sizeof(path))
			return error_set(err, MC_ERR_LIMIT,
			    "$CREDENTIALS_DIRECTORY/%s is "
			    "too long a path", file);
		return config_read_secret(path, out, err);
	}
	if (file != NULL) {
		rc = config_read_secret(file, out, err);
		if (rc == -1 && errno == ENOENT && strchr(file, '/') == NULL)
			error_prefix(err, "a bare name is read from "
			    "$CREDENTIALS_DIRECTORY, which is not set");
		return rc;
	}
	if ((v = getenv(env)) != NULL && *v != '\0') {
		if ((*out = strdup(v)) == NULL)
			return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	return 0;
}

/* junk_folders: a list junk.h can parse, of an IMAP mailbox's folders. */
static int
config_finish_junk(const struct config *cfg, struct mc_error *err)
{
	struct junk_list list;
	int rc;

	if (cfg->junk_folders == NULL)
		return 0;
	if (strncasecmp(cfg->mailbox, "pop3", 4) == 0)
		return error_set(err, MC_ERR_CONFIG,
		    "junk_folders needs an IMAP mailbox: POP3 has no folders "
		    "(mailbox is '%s')", cfg->mailbox);
	if (junk_list_parse(cfg->junk_folders, &list, err) == -1)
		return -1;
	rc = junk_list_check_mailbox(&list, cfg->mailbox, err);
	junk_list_clear(&list);
	return rc;
}

/*
 * One login's OAuth2 settings: the [oauth2 NAME] a probe names, and no
 * second way to log in beside it.
 */
static int
oauth2_resolve(const struct config *cfg, const char *what, const char *user,
    const char *name, const char *token_file, const char *password_file,
    const struct config_oauth2 **out, struct mc_error *err)
{
	size_t i;

	*out = NULL;
	if (name == NULL && token_file == NULL)
		return 0;
	if (name != NULL && token_file != NULL)
		return error_set(err, MC_ERR_CONFIG, "%s_oauth2 and "
		    "%s_token_file exclude each other: give one", what, what);
	if (password_file != NULL)
		return error_set(err, MC_ERR_CONFIG, "%s_password_file and "
		    "%s_%s exclude each other: a login takes a password or "
		    "an OAuth2 token", what, what, name ? "oauth2" :
		    "token_file");
	if (user == NULL)
		return error_set(err, MC_ERR_CONFIG, "%s_%s needs %s_user (the "
		    "mailbox the token logs in to)", what, name ? "oauth2" :
		    "token_file", what);
	if (name == NULL)
		return 0;
	for (i = 0; i < cfg->noauth2; i++)
		if (strcmp(cfg->oauth2[i].name, name) == 0) {
			*out = &cfg->oauth2[i];
			return 0;
		}
	return error_set(err, MC_ERR_CONFIG, "%s_oauth2 = %s: no section "
	    "[oauth2 %s] in the config file (give it with --config FILE)",
	    what, name, name);
}

static int
oauth2_finish(struct config *cfg, struct mc_error *err)
{
	if (oauth2_resolve(cfg, "smtp", cfg->smtp_user, cfg->smtp_oauth2,
	    cfg->smtp_token_file, cfg->smtp_password_file,
	    &cfg->smtp_provider, err) == -1 ||
	    oauth2_resolve(cfg, "mailbox", cfg->mailbox_user,
	    cfg->mailbox_oauth2, cfg->mailbox_token_file,
	    cfg->mailbox_password_file, &cfg->mailbox_provider, err) == -1 ||
	    oauth2_resolve(cfg, "bounce", cfg->bounce_user, cfg->bounce_oauth2,
	    cfg->bounce_token_file, cfg->bounce_password_file,
	    &cfg->bounce_provider, err) == -1)
		return -1;
	return 0;
}

int
config_finish(struct config *cfg, struct mc_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	int i;

	if (cfg->probe != NULL && check_probe_name(cfg->probe, err) == -1)
		return -1;
	if (!cfg->no_send) {
		if (cfg->smtp == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "no submission server: give "
			    "--smtp URL");
		if (cfg->from == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "no sender: give --from ADDR");
		if (cfg->to == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "no test mailbox address: give "
			    "--to ADDR");
	}
	if (cfg->mailbox == NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "no test mailbox: give --mailbox URL");
	if (cfg->ipv4 && cfg->ipv6)
		return error_set(err, MC_ERR_CONFIG,
		    "ipv4 and ipv6 exclude each other: give -4 or -6, "
		    "not both");
	if (cfg->to != NULL && cfg->fresh_address && strchr(cfg->to, '+'))
		return error_set(err, MC_ERR_CONFIG,
		    "to '%s' already has a '+' extension; "
		    "with fresh_address on, give the bare address", cfg->to);
	if (range_alert(&cfg->warning, 0) || range_alert(&cfg->critical, 0))
		return error_set(err, MC_ERR_CONFIG,
		    "a latency threshold that alerts at 0 "
		    "seconds makes every canary a problem");
	if (cfg->auth_results == AUTH_RESULTS_REQUIRE &&
	    cfg->authserv_id == NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "auth_results = require needs authserv_id: the "
		    "receiving server's Authentication-Results name");
	if (cfg->smtp_user == NULL && cfg->smtp_password_file != NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "smtp_password_file without smtp_user");
	if (cfg->mailbox_user == NULL && cfg->mailbox_password_file != NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "mailbox_password_file without "
		    "mailbox_user");
	if (cfg->smtp_oauth2 == NULL && cfg->smtp_token_file == NULL &&
	    load_password(cfg->smtp_password_file, "MAILCANARY_SMTP_PASSWORD",
	    &cfg->smtp_password, err) == -1)
		return -1;
	if (cfg->mailbox_oauth2 == NULL && cfg->mailbox_token_file == NULL &&
	    load_password(cfg->mailbox_password_file,
	    "MAILCANARY_MAILBOX_PASSWORD", &cfg->mailbox_password, err) == -1)
		return -1;
	if (cfg->bounce_user == NULL && cfg->bounce_password_file != NULL)
		return error_set(err, MC_ERR_CONFIG,
		    "bounce_password_file without "
		    "bounce_user");
	if (oauth2_finish(cfg, err) == -1)
		return -1;
	if (cfg->bounce_mailbox != NULL && cfg->bounce_oauth2 == NULL &&
	    cfg->bounce_token_file == NULL && load_password(
	    cfg->bounce_password_file, "MAILCANARY_BOUNCE_PASSWORD",
	    &cfg->bounce_password, err) == -1)
		return -1;
	if (config_finish_junk(cfg, err) == -1)
		return -1;

	if (cfg->probe != NULL) {
		snprintf(cfg->name, sizeof(cfg->name), "%s", cfg->probe);
		return 0;
	}
	/* No name: the route names the state, so two routes never share. */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, cfg->smtp ? cfg->smtp : "", strlen(cfg->smtp ?
	    cfg->smtp : "") + 1);
	EVP_DigestUpdate(ctx, cfg->from ? cfg->from : "", strlen(cfg->from ?
	    cfg->from : "") + 1);
	EVP_DigestUpdate(ctx, cfg->to ? cfg->to : "", strlen(cfg->to ?
	    cfg->to : "") + 1);
	EVP_DigestUpdate(ctx, cfg->mailbox, strlen(cfg->mailbox) + 1);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	memcpy(cfg->name, "route-", 6);
	for (i = 0; i < 6; i++)
		snprintf(cfg->name + 6 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static void	oauth2_dump(const struct config *, FILE *);

void
config_dump(const struct config *cfg, FILE *fp)
{
	static const char *tls[] = { "required", "optional", "never" };
	static const char *out[] = { "nagios", "json" };
	static const char *junk_names[] = { "ok", "warning", "critical" };
	const struct setting *s;
	const void *field;
	size_t i;

	fprintf(fp, "[probe %s]\n", cfg->name[0] ? cfg->name : "?");
	for (i = 0; i < NSETTINGS; i++) {
		s = &settings[i];
		field = (const char *)cfg + s->offset;
		fprintf(fp, "%s = ", s->name);
		switch (s->type) {
		case T_STRING: case T_ADDRESS: case T_PATH:
		case T_URL_SMTP: case T_URL_MAILBOX: case T_LISTEN:
			fprintf(fp, "%s", *(char *const *)field ?
			    *(char *const *)field : "");
			break;
		case T_SECONDS:
		case T_COUNT:
		case T_BYTES:
			fprintf(fp, "%ld", *(const long *)field);
			break;
		case T_BOOL:
			fprintf(fp, "%s", *(const int *)field ? "on" : "off");
			break;
		case T_STARTTLS:
			fprintf(fp, "%s", tls[*(const int *)field]);
			break;
		case T_OUTPUT:
			fprintf(fp, "%s", out[*(const int *)field]);
			break;
		case T_AUTHRES:
			fprintf(fp, "%s", *(const int *)field ==
			    AUTH_RESULTS_REQUIRE ? "require" : "report");
			break;
		case T_RANGE:
			fprintf(fp, "%s", ((const struct range *)field)->text);
			break;
		case T_JUNK:
			fprintf(fp, "%s", junk_names[*(const int *)field]);
			break;
		}
		fputc('\n', fp);
	}
	fprintf(fp, "# smtp password: %s\n# mailbox password: %s\n"
	    "# bounce mailbox password: %s\n",
	    cfg->smtp_password ? "set" : "not set",
	    cfg->mailbox_password ? "set" : "not set",
	    cfg->bounce_password ? "set" : "not set");
	oauth2_dump(cfg, fp);
}

/* The [oauth2 NAME] sections the probe uses: files named, never read. */
static void
oauth2_dump(const struct config *cfg, FILE *fp)
{
	static const char *grants[] = { "client_credentials",
	    "refresh_token" };
	const struct config_oauth2 *o;
	size_t i;

	for (i = 0; i < cfg->noauth2; i++) {
		o = &cfg->oauth2[i];
		if (o != cfg->smtp_provider && o != cfg->mailbox_provider &&
		    o != cfg->bounce_provider)
			continue;
		fprintf(fp, "\n[oauth2 %s]\ntoken_url = %s\nclient_id = %s\n"
		    "client_secret_file = %s\nscope = %s\ngrant = %s\n"
		    "refresh_token_file = %s\n", o->name, o->token_url,
		    o->client_id, o->client_secret_file ?
		    o->client_secret_file : "", o->scope ? o->scope : "",
		    grants[o->grant], o->refresh_token_file ?
		    o->refresh_token_file : "");
	}
}

static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether two probes use the same provider settings (or none). */
static int
oauth2_same(const struct config_oauth2 *a, const struct config_oauth2 *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return str_same(a->name, b->name) &&
	    str_same(a->token_url, b->token_url) &&
	    str_same(a->client_id, b->client_id) &&
	    str_same(a->client_secret_file, b->client_secret_file) &&
	    str_same(a->scope, b->scope) && a->grant == b->grant &&
	    str_same(a->refresh_token_file, b->refresh_token_file);
}

int
config_same(const struct config *a, const struct config *b)
{
	const struct setting *s;
	const void *fa, *fb;
	size_t i;

	if (strcmp(a->name, b->name) != 0 ||
	    !oauth2_same(a->smtp_provider, b->smtp_provider) ||
	    !oauth2_same(a->mailbox_provider, b->mailbox_provider) ||
	    !oauth2_same(a->bounce_provider, b->bounce_provider) ||
	    !a->smtp_password != !b->smtp_password ||
	    !a->mailbox_password != !b->mailbox_password ||
	    !a->bounce_password != !b->bounce_password)
		return 0;
	for (i = 0; i < NSETTINGS; i++) {
		s = &settings[i];
		/* A probe's own: not the plugin's, not [global]'s only. */
		if (!(s->programs & CONFIG_DAEMON) ||
		    (s->programs & CONFIG_GLOBAL))
			continue;
		fa = (const char *)a + s->offset;
		fb = (const char *)b + s->offset;
		switch (s->type) {
		case T_STRING: case T_ADDRESS: case T_PATH:
		case T_URL_SMTP: case T_URL_MAILBOX: case T_LISTEN:
			if (!str_same(*(char *const *)fa, *(char *const *)fb))
				return 0;
			break;
		case T_SECONDS:
		case T_COUNT:
		case T_BYTES:
			if (*(const long *)fa != *(const long *)fb)
				return 0;
			break;
		case T_BOOL:
		case T_STARTTLS:
		case T_OUTPUT:
		case T_JUNK:
		case T_AUTHRES:
			if (*(const int *)fa != *(const int *)fb)
				return 0;
			break;
		case T_RANGE:
			if (strcmp(((const struct range *)fa)->text,
			    ((const struct range *)fb)->text) != 0)
				return 0;
			break;
		}
	}
	return 1;
}

void
config_output_opts(const struct config *cfg, struct output_opts *o)
{
	o->probe = cfg->name;
	o->format = cfg->output;
	o->warning = cfg->warning.text;
	o->critical = cfg->critical.text;
}
