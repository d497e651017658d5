/*
 * config.c - the table of settings, their parsing and range checks, the
 * INI loader (inih) and the final consistency checks of a probe.
 */
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

enum setting_type {
	T_STRING,	/* free text without control characters */
	T_ADDRESS,	/* a bare mailbox address */
	T_PATH,
	T_URL_SMTP,
	T_URL_MAILBOX,
	T_SECONDS,	/* whole number in [min, max] */
	T_BYTES,	/* a size in bytes, with an optional k or M suffix */
	T_BOOL,		/* on/off, yes/no, true/false, 1/0 */
	T_STARTTLS,
	T_OUTPUT,
	T_RANGE
};

struct setting {
	const char		*name;
	enum setting_type	 type;
	size_t			 offset;
	const char		*def;	/* NULL: unset */
	long			 min;
	long			 max;
};

#define S(n, t, d, lo, hi) { #n, t, offsetof(struct config, n), d, lo, hi }
static const struct setting settings[] = {
	S(smtp,			T_URL_SMTP,	NULL,		0, 0),
	S(starttls,		T_STARTTLS,	"required",	0, 0),
	S(smtp_user,		T_STRING,	NULL,		0, 0),
	S(smtp_password_file,	T_PATH,		NULL,		0, 0),
	S(from,			T_ADDRESS,	NULL,		0, 0),
	S(to,			T_ADDRESS,	NULL,		0, 0),
	S(fresh_address,	T_BOOL,		"on",		0, 0),
	S(mailbox,		T_URL_MAILBOX,	NULL,		0, 0),
	S(mailbox_starttls,	T_STARTTLS,	"required",	0, 0),
	S(mailbox_user,		T_STRING,	NULL,		0, 0),
	S(mailbox_password_file, T_PATH,	NULL,		0, 0),
	S(bounce_mailbox,	T_URL_MAILBOX,	NULL,		0, 0),
	S(bounce_user,		T_STRING,	NULL,		0, 0),
	S(bounce_password_file,	T_PATH,		NULL,		0, 0),
	S(ca_file,		T_PATH,		NULL,		0, 0),
	S(insecure,		T_BOOL,		"off",		0, 0),
	S(state_dir,		T_PATH,		CONFIG_DEFAULT_STATEDIR, 0, 0),
	S(interval,		T_SECONDS,	"0",		0, 86400 * 7),
	S(warning,		T_RANGE,	"1800",		0, 0),
	S(critical,		T_RANGE,	"3600",		0, 0),
	S(lost_after,		T_SECONDS,	"7200",		10, 86400 * 30),
	S(keep,			T_BOOL,		"off",		0, 0),
	S(no_send,		T_BOOL,		"off",		0, 0),
	S(timeout,		T_SECONDS,	"30",		1, 3600),
	S(history,		T_SECONDS,	"50",		1, 1000),
	S(max_message_size,	T_BYTES,	"10M",		64 * 1024,
	    1024L * 1024 * 1024),
	S(output,		T_OUTPUT,	"nagios",	0, 0),
	S(snmp_index,		T_SECONDS,	"0",		0, 4294967295L),
	S(agentx_socket,	T_STRING,	"unix:/var/agentx/master", 0, 0),
	S(notifications,	T_BOOL,		"on",		0, 0),
};
#undef S

static const struct setting *
setting_find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (strcmp(settings[i].name, key) == 0)
			return &settings[i];
	return NULL;
}

static int
check_text(const char *what, const char *s, struct mc_error *err)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return error_set(err, "%s contains a line break",
			    what);
		if (*p < 0x20 || *p == 0x7f)
			return error_set(err, "%s contains a control "
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
		return error_set(err, "%s must be an address of 1 to 254 "
		    "characters", what);
	if (strpbrk(addr, " \t<>()[],;:\"\\") != NULL)
		return error_set(err, "%s '%s' must be a bare address like "
		    "user@example.org", what, addr);
	at = strchr(addr, '@');
	if (at == NULL || at == addr || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL || at - addr > 64)
		return error_set(err, "%s '%s' must be a bare address like "
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
	return error_set(err, "%s '%s' must be 1 to %d letters, digits, "
	    "'.', '_' or '-'", what, name, CONFIG_NAME_MAX);
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
		return error_set(err, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		error_set(err, "%s '%s' is not a URL", key, url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK) {
		error_set(err, "%s must not carry a password: use a password "
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
		error_set(err, "%s '%s': scheme must be one of %s", key, url,
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

static int
parse_seconds(const char *v, long *out)
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

int
config_set(struct config *cfg, const char *key, const char *value,
    struct mc_error *err)
{
	static const char *const smtp_schemes[] = { "smtp", "smtps", NULL };
	static const char *const mbox_schemes[] = { "imap", "imaps", "pop3",
	    "pop3s", NULL };
	const struct setting *s = setting_find(key);
	void *field;
	char **str;
	long n;
	int b;

	if (s == NULL)
		return error_set(err, "unknown setting '%s'", key);
	field = (char *)cfg + s->offset;
	switch (s->type) {
	case T_ADDRESS:
		if (config_check_address(key, value, err) == -1)
			return -1;
		goto string;
	case T_URL_SMTP:
		if (check_url(key, value, smtp_schemes, err) == -1)
			return -1;
		goto string;
	case T_URL_MAILBOX:
		if (check_url(key, value, mbox_schemes, err) == -1)
			return -1;
		goto string;
	case T_STRING:
	case T_PATH:
		if (check_text(key, value, err) == -1)
			return -1;
		if (*value == '\0')
			return error_set(err, "%s must not be empty", key);
	string:
		str = field;
		free(*str);
		if ((*str = strdup(value)) == NULL)
			return error_set(err, "out of memory");
		return 0;
	case T_SECONDS:
		if (parse_seconds(value, &n) == -1 || n < s->min ||
		    n > s->max)
			return error_set(err, "%s must be a whole number of "
			    "seconds from %ld to %ld, not '%s'", key, s->min,
			    s->max, value);
		*(long *)field = n;
		return 0;
	case T_BYTES:
		if (parse_bytes(value, &n) == -1 || n < s->min ||
		    n > s->max)
			return error_set(err, "%s must be a size from %ldk to "
			    "%ldM (bytes, or with a k or M suffix), not '%s'",
			    key, s->min / 1024, s->max / (1024 * 1024), value);
		*(long *)field = n;
		return 0;
	case T_BOOL:
		if (parse_bool(value, &b) == -1)
			return error_set(err, "%s must be on or off, not '%s'",
			    key, value);
		*(int *)field = b;
		return 0;
	case T_STARTTLS:
		if (strcmp(value, "required") == 0)
			*(int *)field = STARTTLS_REQUIRED;
		else if (strcmp(value, "optional") == 0)
			*(int *)field = STARTTLS_OPTIONAL;
		else if (strcmp(value, "never") == 0)
			*(int *)field = STARTTLS_NEVER;
		else
			return error_set(err, "%s must be required, optional "
			    "or never, not '%s'", key, value);
		return 0;
	case T_OUTPUT:
		if (strcmp(value, "nagios") == 0)
			*(int *)field = OUTPUT_NAGIOS;
		else if (strcmp(value, "json") == 0)
			*(int *)field = OUTPUT_JSON;
		else
			return error_set(err, "%s must be nagios or json, not "
			    "'%s'", key, value);
		return 0;
	case T_RANGE:
		if (range_parse(field, value, err) == -1)
			return error_prefix(err, "%s", key);
		return 0;
	}
	return error_set(err, "setting '%s' has no type", key);
}

void
config_init(struct config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (settings[i].def != NULL &&
		    config_set(cfg, settings[i].name, settings[i].def,
		    NULL) == -1)
			abort();	/* a broken table is a programming error */
}

void
config_clear(struct config *cfg)
{
	size_t i;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		switch (settings[i].type) {
		case T_STRING: case T_ADDRESS: case T_PATH:
		case T_URL_SMTP: case T_URL_MAILBOX:
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
	memset(cfg, 0, sizeof(*cfg));
}

/* What the INI handler needs between calls. */
struct ini_ctx {
	struct config	*cfg;
	struct config	 scratch;	/* other probes, checked not kept */
	const char	*probe;
	int		 pass;		/* 1: [global] and checks, 2: probe */
	int		 found;
	struct mc_error	 err;
	int		 failed;
};

static int
config_ini_line(void *user, const char *section, const char *key,
    const char *value)
{
	struct ini_ctx *ctx = user;
	struct config *target;
	struct mc_error e;
	const char *pname;

	if (ctx->failed)
		return 1;	/* keep only the first error */
	if (key == NULL)
		return 1;	/* section start, when inih reports them */
	if (strcmp(section, "global") == 0) {
		if (ctx->pass != 1)
			return 1;
		target = ctx->cfg;
	} else if (strncmp(section, "probe ", 6) == 0) {
		pname = section + 6;
		if (config_check_name("probe name", pname, &e) == -1)
			goto fail;
		if (ctx->probe != NULL && strcmp(pname, ctx->probe) == 0) {
			ctx->found = 1;
			if (ctx->pass != 2)
				return 1;
			target = ctx->cfg;
		} else {
			if (ctx->pass != 1)
				return 1;
			target = &ctx->scratch;
		}
	} else {
		error_set(&e, "unknown section [%s] (want [global] or "
		    "[probe NAME])", section);
		goto fail;
	}
	if (config_set(target, key, value, &e) == 0)
		return 1;
fail:
	ctx->err = e;
	ctx->failed = 1;
	return 0;
}

struct names_ctx {
	char	**v;
	size_t	  n;
};

static int
names_add(struct names_ctx *c, const char *section)
{
	char **nv;
	size_t i;

	if (strncmp(section, "probe ", 6) != 0)
		return 1;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i], section + 6) == 0)
			return 1;
	if ((nv = realloc(c->v, (c->n + 1) * sizeof(*nv))) == NULL)
		return 0;
	c->v = nv;
	if ((c->v[c->n] = strdup(section + 6)) == NULL)
		return 0;
	c->n++;
	return 1;
}

static int
names_line(void *user, const char *section, const char *key,
    const char *value)
{
	(void)user; (void)section; (void)key; (void)value;
	return 1;
}

/*
 * The section headers of an INI file, in order, as inih reads them: a line
 * whose first non-blank character is '[', up to the first ']'. inih (as
 * Debian builds it) reports a section only through its keys, so a
 * [probe NAME] that takes everything from [global] would go unseen.
 */
static int
ini_sections(const char *path, struct names_ctx *c)
{
	char line[1024], *p, *end;
	FILE *f;
	int rc = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		p = line;
		if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[' || (end = strchr(p + 1, ']')) == NULL)
			continue;
		*end = '\0';
		if (names_add(c, p + 1) == 0)
			rc = -2;
	}
	fclose(f);
	return rc;
}

int
config_load(struct config *cfg, const char *path, const char *probe,
    struct mc_error *err)
{
	struct ini_ctx ctx;
	int line, pass;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.probe = probe;
	config_init(&ctx.scratch);
	/* Two passes so that [global] is a default whatever the order. */
	for (pass = 1; pass <= 2; pass++) {
		ctx.pass = pass;
		line = ini_parse(path, config_ini_line, &ctx);
		if (line == -1) {
			config_clear(&ctx.scratch);
			return error_set(err, "cannot open %s: %s", path,
			    strerror(errno));
		}
		if (line == -2) {
			config_clear(&ctx.scratch);
			return error_set(err, "%s: out of memory", path);
		}
		if (line > 0) {
			config_clear(&ctx.scratch);
			if (ctx.failed)
				return error_set(err, "%s:%d: %s", path, line,
				    ctx.err.msg);
			return error_set(err, "%s:%d: syntax error (want "
			    "[section] or key = value)", path, line);
		}
	}
	config_clear(&ctx.scratch);
	if (probe != NULL && !ctx.found) {
		/* A section with no keys of its own is found by its header. */
		struct names_ctx c = { NULL, 0 };
		size_t i;

		if (ini_sections(path, &c) == 0)
			for (i = 0; i < c.n; i++)
				if (strcmp(c.v[i], probe) == 0)
					ctx.found = 1;
		while (c.n > 0)
			free(c.v[--c.n]);
		free(c.v);
	}
	if (probe != NULL && !ctx.found)
		return error_set(err, "%s: no section [probe %s]", path, probe);
	if (probe != NULL && (cfg->probe = strdup(probe)) == NULL)
		return error_set(err, "out of memory");
	return 0;
}

int
config_probe_names(const char *path, char ***names, size_t *n,
    struct mc_error *err)
{
	struct names_ctx c = { NULL, 0 };
	int line;

	/* Syntax first (inih), then the headers in order. */
	line = ini_parse(path, names_line, NULL);
	if (line == 0)
		line = ini_sections(path, &c);
	if (line != 0) {
		while (c.n > 0)
			free(c.v[--c.n]);
		free(c.v);
		if (line == -1)
			return error_set(err, "cannot open %s: %s", path,
			    strerror(errno));
		return error_set(err, "%s:%d: syntax error", path, line);
	}
	*names = c.v;
	*n = c.n;
	return 0;
}

int
config_read_secret(const char *path, char **out, struct mc_error *err)
{
	struct stat st;
	char buf[1025];
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return error_set(err, "cannot open password file %s: %s",
		    path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error_set(err, "password file %s is not a regular "
		    "file", path);
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		close(fd);
		return error_set(err, "password file %s is readable by group "
		    "or others: chmod 600 it", path);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return error_set(err, "cannot read password file %s: %s",
		    path, strerror(errno));
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	if ((size_t)n == sizeof(buf) - 1 && len == (size_t)n)
		return error_set(err, "password file %s: first line is "
		    "longer than 1024 bytes", path);
	buf[len] = '\0';
	if (len == 0)
		return error_set(err, "password file %s is empty", path);
	*out = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (*out == NULL)
		return error_set(err, "out of memory");
	return 0;
}

static int
load_password(const char *file, const char *env, char **out,
    struct mc_error *err)
{
	const char *v;

	if (file != NULL)
		return config_read_secret(file, out, err);
	if ((v = getenv(env)) != NULL && *v != '\0') {
		if ((*out = strdup(v)) == NULL)
			return error_set(err, "out of memory");
	}
	return 0;
}

int
config_finish(struct config *cfg, struct mc_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	int i;

	if (cfg->probe != NULL &&
	    config_check_name("probe name", cfg->probe, err) == -1)
		return -1;
	if (!cfg->no_send) {
		if (cfg->smtp == NULL)
			return error_set(err, "no submission server: give "
			    "--smtp URL");
		if (cfg->from == NULL)
			return error_set(err, "no sender: give --from ADDR");
		if (cfg->to == NULL)
			return error_set(err, "no test mailbox address: give "
			    "--to ADDR");
	}
	if (cfg->mailbox == NULL)
		return error_set(err, "no test mailbox: give --mailbox URL");
	if (cfg->to != NULL && cfg->fresh_address && strchr(cfg->to, '+'))
		return error_set(err, "to '%s' already has a '+' extension; "
		    "with fresh_address on, give the bare address", cfg->to);
	if (range_alert(&cfg->warning, 0) || range_alert(&cfg->critical, 0))
		return error_set(err, "a latency threshold that alerts at 0 "
		    "seconds makes every canary a problem");
	if (cfg->smtp_user == NULL && cfg->smtp_password_file != NULL)
		return error_set(err, "smtp_password_file without smtp_user");
	if (cfg->mailbox_user == NULL && cfg->mailbox_password_file != NULL)
		return error_set(err, "mailbox_password_file without "
		    "mailbox_user");
	if (load_password(cfg->smtp_password_file, "MAILCANARY_SMTP_PASSWORD",
	    &cfg->smtp_password, err) == -1)
		return -1;
	if (load_password(cfg->mailbox_password_file,
	    "MAILCANARY_MAILBOX_PASSWORD", &cfg->mailbox_password, err) == -1)
		return -1;
	if (cfg->bounce_user == NULL && cfg->bounce_password_file != NULL)
		return error_set(err, "bounce_password_file without "
		    "bounce_user");
	if (cfg->bounce_mailbox != NULL && load_password(
	    cfg->bounce_password_file, "MAILCANARY_BOUNCE_PASSWORD",
	    &cfg->bounce_password, err) == -1)
		return -1;

	if (cfg->probe != NULL) {
		snprintf(cfg->name, sizeof(cfg->name), "%s", cfg->probe);
		return 0;
	}
	/* No name: the route names the state, so two routes never share. */
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return error_set(err, "out of memory");
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

void
config_dump(const struct config *cfg, FILE *fp)
{
	static const char *tls[] = { "required", "optional", "never" };
	static const char *out[] = { "nagios", "json" };
	const struct setting *s;
	const void *field;
	size_t i;

	fprintf(fp, "[probe %s]\n", cfg->name[0] ? cfg->name : "?");
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		s = &settings[i];
		field = (const char *)cfg + s->offset;
		fprintf(fp, "%s = ", s->name);
		switch (s->type) {
		case T_STRING: case T_ADDRESS: case T_PATH:
		case T_URL_SMTP: case T_URL_MAILBOX:
			fprintf(fp, "%s", *(char *const *)field ?
			    *(char *const *)field : "");
			break;
		case T_SECONDS:
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
		case T_RANGE:
			fprintf(fp, "%s", ((const struct range *)field)->text);
			break;
		}
		fputc('\n', fp);
	}
	fprintf(fp, "# smtp password: %s\n# mailbox password: %s\n"
	    "# bounce mailbox password: %s\n",
	    cfg->smtp_password ? "set" : "not set",
	    cfg->mailbox_password ? "set" : "not set",
	    cfg->bounce_password ? "set" : "not set");
}
