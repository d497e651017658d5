/* Config: the table, INI files with file:line errors, injection refused,
 * long lines, repeats, NUL bytes, special files, secrets and owners. */
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file.h"

static char tmpdir[] = "/tmp/mc-config-XXXXXX";

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

static void
test_defaults(void **unused)
{
	struct config cfg;

	(void)unused;
	config_init(&cfg);
	assert_int_equal(cfg.timeout, 30);
	assert_int_equal(cfg.lost_after, 7200);
	assert_int_equal(cfg.interval, 0);
	assert_int_equal(cfg.fresh_address, 1);
	assert_int_equal(cfg.starttls, STARTTLS_REQUIRED);
	assert_string_equal(cfg.warning.text, "1800");
	assert_string_equal(cfg.critical.text, "3600");
	assert_string_equal(cfg.state_dir, "/var/lib/mailcanary");
	config_clear(&cfg);
}

static void
test_values(void **unused)
{
	static const struct {
		const char	*key, *value;
		int		 ok;
		const char	*msg;
	} cases[] = {
		{ "smtp", "smtp://127.0.0.1:2525", 1, NULL },
		{ "smtp", "smtps://mail.example.org", 1, NULL },
		{ "smtp", "http://x", 0, "scheme" },
		{ "smtp", "smtp://u:secret@host", 0, "password" },
		{ "mailbox", "imaps://h/INBOX", 1, NULL },
		{ "mailbox", "pop3://h:1110", 1, NULL },
		{ "mailbox", "ftp://h", 0, "scheme" },
		{ "from", "probe@corp.test", 1, NULL },
		{ "from", "probe@corp.test\r\nBcc: x@y", 0, "line break" },
		{ "to", "a@b\nX-Evil: 1", 0, "line break" },
		{ "to", "<a@b>", 0, "bare address" },
		{ "to", "no-at-sign", 0, "bare address" },
		{ "to", "a@b@c", 0, "bare address" },
		{ "to", "a b@c", 0, "bare address" },
		{ "interval", "300", 1, NULL },
		{ "interval", "-1", 0, "whole number" },
		{ "interval", "5m", 0, "whole number" },
		{ "timeout", "0", 0, "from 1" },
		{ "lost_after", "99999999999999999999", 0, "whole number" },
		/* Seconds are seconds; counts are counts. */
		{ "lost_after", "5", 0, "lost_after must be a whole number of "
		    "seconds from 10 to 2592000, not '5'" },
		{ "history", "0", 0, "history must be a whole number from 1 "
		    "to 1000, not '0'" },
		{ "history", "1000", 1, NULL },
		{ "history", "x", 0, "history must be a whole number from" },
		{ "workers", "257", 0, "workers must be a whole number from 1 "
		    "to 256, not '257'" },
		{ "snmp_index", "-1", 0, "snmp_index must be a whole number "
		    "from 0 to 4294967295, not '-1'" },
		{ "warning", "10:", 1, NULL },
		{ "warning", "ten", 0, "range" },
		{ "starttls", "optional", 1, NULL },
		{ "starttls", "maybe", 0, "required, optional or never" },
		{ "fresh_address", "off", 1, NULL },
		{ "fresh_address", "perhaps", 0, "on or off" },
		{ "output", "json", 1, NULL },
		{ "metrics_listen", "127.0.0.1:9555", 1, NULL },
		{ "metrics_listen", "[::1]:9555", 1, NULL },
		{ "metrics_listen", "localhost:9555", 0, "numeric IPv4" },
		{ "metrics_listen", "::1:9555", 0, "in brackets" },
		{ "metrics_listen", "127.0.0.1:0", 0, "not '127.0.0.1:0'" },
		{ "metrics_listen", "127.0.0.1:65536", 0, "numeric" },
		{ "metrics_listen", "[::1]9555", 0, "numeric" },
		{ "metrics_listen", "127.0.0.1:", 0, "numeric" },
		{ "nonsense", "1", 0, "unknown setting" },
		{ "smtp_user", "x\001y", 0, "control" },
	};
	struct mc_error err;
	struct config cfg;
	size_t i;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&cfg);
		err.msg[0] = '\0';
		print_message("# %s = %s\n", cases[i].key, cases[i].value);
		assert_int_equal(config_set(&cfg, cases[i].key,
		    cases[i].value, &err), cases[i].ok ? 0 : -1);
		if (!cases[i].ok)
			assert_non_null(strstr(err.msg, cases[i].msg));
		config_clear(&cfg);
	}
}

/*
 * The table drives the command line: every setting has a long option (its
 * key with '-' for '_') and a line of help; the short letters and the
 * plugin's options are those scripts already use.
 */
static void
test_table(void **unused)
{
	static const char *const plugin[] = { "smtp", "starttls",
	    "smtp-user", "smtp-password-file", "from", "to", "fresh-address",
	    "mailbox", "mailbox-starttls", "mailbox-user",
	    "mailbox-password-file", "bounce-mailbox", "bounce-user",
	    "bounce-password-file", "ca-file", "insecure", "ipv4", "ipv6",
	    "state-dir",
	    "interval", "warning", "critical", "lost-after", "keep", "no-send",
	    "timeout", "history", "max-message-size", "junk-folders", "junk",
	    "authserv-id", "auth-results", "output", "metrics-file",
	    "smtp-oauth2", "smtp-token-file", "mailbox-oauth2",
	    "mailbox-token-file", "bounce-oauth2", "bounce-token-file",
	    NULL };
	static const char *const switches[] = { "insecure", "ipv4",
	    "ipv6", "keep", "no-send", NULL };
	static const char letters[] = "SfrM46wct";
	static const char *const lettered[] = { "smtp", "from", "to",
	    "mailbox", "ipv4", "ipv6", "warning", "critical", "timeout" };
	struct config_option o;
	struct config cfg;
	struct mc_error err;
	char seen[128] = "";
	size_t i, k, nplugin = 0;

	(void)unused;
	for (i = 0; config_option(i, &o) == 0; i++) {
		print_message("# %s\n", o.key);
		assert_true(i < CONFIG_SETTINGS_MAX);
		assert_non_null(o.key);
		assert_true(strlen(o.key) <= CONFIG_KEY_MAX);
		assert_int_equal(strlen(o.option), strlen(o.key));
		for (k = 0; o.key[k]; k++)
			assert_int_equal(o.option[k], o.key[k] == '_' ? '-' :
			    o.key[k]);
		assert_non_null(o.help);
		assert_true(strlen(o.help) > 0);
		assert_null(strchr(o.help, '\n'));
		assert_true(o.programs != 0);
		/* A switch is off unless given; an argument has a name. */
		if (o.arg == NULL)
			assert_string_equal(o.def, "off");
		else
			assert_true(strlen(o.arg) > 0);
		/* The key is a setting; its default passes its own check. */
		config_init(&cfg);
		assert_int_equal(config_set(&cfg, o.key, o.def ? o.def :
		    "x", &err), o.def ? 0 : config_set(&cfg, o.key, "x",
		    &err));
		config_clear(&cfg);
		if (o.letter) {
			assert_null(strchr(seen, o.letter));
			seen[strlen(seen)] = (char)o.letter;
			k = (size_t)(strchr(letters, o.letter) - letters);
			assert_true(strchr(letters, o.letter) != NULL);
			assert_string_equal(o.key, lettered[k]);
		}
		if (o.programs & CONFIG_PLUGIN) {
			assert_string_equal(o.option, plugin[nplugin]);
			nplugin++;
			for (k = 0; switches[k] &&
			    strcmp(switches[k], o.option) != 0; k++)
				;
			assert_int_equal(switches[k] != NULL, o.arg == NULL);
		}
	}
	assert_int_equal(strlen(seen), strlen(letters));
	assert_null(plugin[nplugin]);
	assert_int_equal(config_option(i, &o), -1);
}

/* The next line of help that starts an option (indented 6 or less). */
static const char *
next_option(const char *p)
{
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strspn(p, " ") <= 6 && *p != '\0')
			return p;
	}
	return NULL;
}

/* --help lists every setting a program reads, with its default. */
static void
test_help(void **unused)
{
	struct config_option o;
	char *text = NULL, want[128], *line;
	size_t len = 0, i;
	FILE *fp;

	(void)unused;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	config_help(fp, CONFIG_PLUGIN);
	fclose(fp);
	for (i = 0; config_option(i, &o) == 0; i++) {
		snprintf(want, sizeof(want), "--%s%s%s", o.option,
		    o.arg ? " " : "", o.arg ? o.arg : "");
		line = strstr(text, want);
		if (!(o.programs & CONFIG_PLUGIN)) {
			assert_null(line);
			continue;
		}
		assert_non_null(line);
		/* The default follows before the next option. */
		if (o.def != NULL) {
			const char *next = next_option(line);

			snprintf(want, sizeof(want), "(default %s)", o.def);
			line = strstr(line, want);
			assert_non_null(line);
			if (next != NULL)
				assert_true(line < next);
		}
	}
	/* Wrapped before column 80. */
	for (line = text; *line; line += strcspn(line, "\n") + 1)
		assert_true(strcspn(line, "\n") < 80);
	assert_non_null(strstr(text, "  -S, --smtp URL"));
	assert_non_null(strstr(text, "  -t, --timeout SECONDS"));
	assert_non_null(strstr(text, "--history N"));
	assert_null(strstr(text, "--workers"));
	free(text);

	/* The daemon's [global] settings are there for the daemon. */
	text = NULL;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	config_help(fp, CONFIG_GLOBAL);
	fclose(fp);
	assert_non_null(strstr(text, "--workers N"));
	assert_non_null(strstr(text, "(default 16)"));
	assert_non_null(strstr(text, "--agentx-socket ADDR"));
	assert_null(strstr(text, "--smtp"));
	free(text);
}

static void
test_probe_name(void **unused)
{
	struct mc_error err;

	(void)unused;
	assert_int_equal(config_check_name("probe", "web-1.corp_x", &err), 0);
	assert_int_equal(config_check_name("probe", "a\nb", &err), -1);
	assert_non_null(strstr(err.msg, "line break"));
	assert_int_equal(config_check_name("probe", "a b", &err), -1);
	assert_int_equal(config_check_name("probe", "../x", &err), -1);
	assert_int_equal(config_check_name("probe", "", &err), -1);
}

static void
test_ini(void **unused)
{
	struct mc_error err;
	struct config cfg;
	const char *path;

	(void)unused;
	path = write_file("good.conf",
	    "[probe exch]\n"
	    "smtp = smtp://127.0.0.1:2525\n"
	    "from = probe@corp.test\n"
	    "; comment\n"
	    "to = canary@greylist.test\n"
	    "mailbox = imap://127.0.0.1:1143/INBOX\n"
	    "interval = 300\n"
	    "[global]\n"
	    "state_dir = /tmp\n"
	    "warning = 600\n"
	    "interval = 60\n"
	    "[probe other]\n"
	    "smtp = smtps://x\n", 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "exch", &err), 0);
	/* The probe section wins over [global], whatever the order. */
	assert_int_equal(cfg.interval, 300);
	assert_string_equal(cfg.warning.text, "600");
	assert_string_equal(cfg.state_dir, "/tmp");
	assert_string_equal(cfg.smtp, "smtp://127.0.0.1:2525");
	assert_int_equal(config_finish(&cfg, &err), 0);
	assert_string_equal(cfg.name, "exch");
	config_clear(&cfg);

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "missing", &err), -1);
	assert_non_null(strstr(err.msg, "no section [probe missing]"));
	config_clear(&cfg);

	/* An unknown key in another probe's section is still an error. */
	path = write_file("bad.conf",
	    "[probe a]\nsmtp = smtp://h\n\n[probe b]\nsmtpp = smtp://h\n",
	    0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "a", &err), -1);
	assert_non_null(strstr(err.msg, "bad.conf:5: unknown setting "
	    "'smtpp'"));
	config_clear(&cfg);

	path = write_file("inject.conf",
	    "[probe a]\nfrom = a@b\\r\\nBcc: c@d\nto = x@y z\n", 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "a", &err), -1);
	assert_non_null(strstr(err.msg, "inject.conf:2:"));
	config_clear(&cfg);

	path = write_file("section.conf", "[probes a]\nsmtp = smtp://h\n",
	    0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "a", &err), -1);
	assert_non_null(strstr(err.msg, "unknown section"));
	config_clear(&cfg);

	path = write_file("syntax.conf", "[probe a]\njust words\n", 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "a", &err), -1);
	assert_non_null(strstr(err.msg, "syntax.conf:2:"));
	config_clear(&cfg);

	/* A probe with no keys of its own takes [global]: it is found, and
	 * listed in order with the others. */
	{
		char **names = NULL;
		size_t n = 0;

		path = write_file("bare.conf", "[global]\nsmtp = smtp://h\n"
		    "[probe solo]\n\n  [probe two]\nto = x@y\n", 0644);
		config_init(&cfg);
		assert_int_equal(config_load(&cfg, path, "solo", &err), 0);
		assert_string_equal(cfg.smtp, "smtp://h");
		config_clear(&cfg);
		assert_int_equal(config_probe_names(path, &names, &n, &err),
		    0);
		assert_int_equal(n, 2);
		assert_string_equal(names[0], "solo");
		assert_string_equal(names[1], "two");
		free(names[0]);
		free(names[1]);
		free(names);
	}

	config_init(&cfg);
	assert_int_equal(config_load(&cfg, "/nonexistent/x.conf", "a", &err),
	    -1);
	assert_non_null(strstr(err.msg, "cannot open"));
	config_clear(&cfg);
}

static void
test_secrets(void **unused)
{
	struct mc_error err;
	struct config cfg;
	const char *path;
	char *pw = NULL;

	(void)unused;
	path = write_file("pw", "s3cret\nignored\n", 0600);
	assert_int_equal(config_read_secret(path, &pw, &err), 0);
	assert_string_equal(pw, "s3cret");
	free(pw);
	path = write_file("pw-open", "s3cret\n", 0644);
	assert_int_equal(config_read_secret(path, &pw, &err), -1);
	assert_non_null(strstr(err.msg, "readable by group or others"));
	path = write_file("pw-empty", "\n", 0600);
	assert_int_equal(config_read_secret(path, &pw, &err), -1);

	/* The environment is the other way in; the command line is none. */
	config_init(&cfg);
	config_set(&cfg, "smtp", "smtp://h", NULL);
	config_set(&cfg, "from", "a@b", NULL);
	config_set(&cfg, "to", "c@d", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	setenv("MAILCANARY_MAILBOX_PASSWORD", "envpw", 1);
	assert_int_equal(config_finish(&cfg, &err), 0);
	assert_string_equal(cfg.mailbox_password, "envpw");
	unsetenv("MAILCANARY_MAILBOX_PASSWORD");
	/* No probe name: the route names the state file. */
	assert_int_equal(strncmp(cfg.name, "route-", 6), 0);
	assert_int_equal(strlen(cfg.name), 18);
	config_clear(&cfg);
}

static void
test_finish_checks(void **unused)
{
	struct mc_error err;
	struct config cfg;

	(void)unused;
	config_init(&cfg);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "--smtp"));
	config_set(&cfg, "smtp", "smtp://h", NULL);
	config_set(&cfg, "from", "a@b", NULL);
	config_set(&cfg, "to", "c+x@d", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "'+' extension"));
	config_clear(&cfg);
	/* --no-send needs only the mailbox. */
	config_init(&cfg);
	config_set(&cfg, "no_send", "on", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	assert_int_equal(config_finish(&cfg, &err), 0);
	config_clear(&cfg);
	/* -4 and -6 exclude each other; either alone is fine. */
	config_init(&cfg);
	config_set(&cfg, "no_send", "on", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	config_set(&cfg, "ipv6", "on", NULL);
	assert_int_equal(config_finish(&cfg, &err), 0);
	config_set(&cfg, "ipv4", "on", NULL);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "not both"));
	config_clear(&cfg);
}

/*
 * A probe may not be named like an OAuth2 token cache (oauth2-NAME-HASH):
 * the two would share NAME.json and NAME.lock in state_dir. An [oauth2
 * NAME] section that is missing is said with the option every program
 * takes (--config FILE; check_mailcanary has no -C).
 */
static void
test_probe_name_oauth2(void **unused)
{
	struct mc_error err;
	struct config cfg;
	const char *path;

	(void)unused;
	path = write_file("cache-name.conf", "[global]\nsmtp = smtp://h\n"
	    "from = a@b\nto = a@b\nmailbox = imap://h\n\n"
	    "[probe oauth2-lab-0123456789abcdef]\nstate_dir = /tmp\n", 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "oauth2-lab-0123456789abcdef",
	    &err), -1);
	assert_non_null(strstr(err.msg, "must not start with 'oauth2-'"));
	config_clear(&cfg);
	/* --probe NAME without a file; any case. */
	config_init(&cfg);
	config_set(&cfg, "no_send", "on", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	cfg.probe = strdup("OAuth2-x");
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "must not start with 'oauth2-'"));
	free(cfg.probe);
	cfg.probe = strdup("oauth2x");
	assert_int_equal(config_finish(&cfg, &err), 0);
	config_clear(&cfg);
	/* No such [oauth2 NAME]: the hint names --config. */
	config_init(&cfg);
	config_set(&cfg, "no_send", "on", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	config_set(&cfg, "mailbox_user", "a@b", NULL);
	config_set(&cfg, "mailbox_oauth2", "lab", NULL);
	assert_int_equal(config_finish(&cfg, &err), -1);
	if (strstr(err.msg, "no section [oauth2 lab] in the config file "
	    "(give it with --config FILE)") == NULL)
		fail_msg("%s", err.msg);
	config_clear(&cfg);
}

/* Lines far past inih's 200: a long path, a long user name. */
static void
test_long_lines(void **unused)
{
	struct mc_error err;
	struct config cfg;
	char *text, *dir, *user;
	const char *path;
	size_t i;

	(void)unused;
	dir = malloc(5000);
	user = malloc(4200);
	text = malloc(20000);
	assert_non_null(dir);
	assert_non_null(user);
	assert_non_null(text);
	for (i = 0; i < 4999; i++)
		dir[i] = i % 10 == 0 ? '/' : 'd';
	dir[4999] = '\0';
	memset(user, 'u', 4199);
	user[4199] = '\0';
	snprintf(text, 20000, "[global]\nca_file = %s/ca.pem\n[probe long]\n"
	    "mailbox_user = %s ; a comment\nmailbox = imap://h\n", dir, user);
	path = write_file("long.conf", text, 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "long", &err), 0);
	assert_int_equal(strlen(cfg.ca_file), 4999 + 7);
	assert_int_equal(strncmp(cfg.ca_file, dir, 4999), 0);
	assert_string_equal(cfg.mailbox_user, user);
	config_clear(&cfg);

	/* Past the cap: an error naming the line, not a truncation. */
	memset(text, 'x', 19999);
	memcpy(text, "[probe a]\nsmtp_user = ", 22);
	text[19999] = '\0';
	path = write_file("huge-line.conf", text, 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "a", &err), -1);
	assert_non_null(strstr(err.msg, "huge-line.conf:2: line longer"));
	config_clear(&cfg);
	free(dir);
	free(user);
	free(text);
}

/* A section or key given twice is an error naming both lines. */
static void
test_duplicates(void **unused)
{
	static const struct {
		const char	*text, *msg;
	} cases[] = {
		{ "[probe x]\nto = a@b\n[probe y]\nto = c@d\n[probe x]\n"
		    "to = e@f\n", "dup.conf:5: [probe x] again (first at "
		    "line 1)" },
		{ "[probe x]\nto = a@b\nsmtp = smtp://h\nto = c@d\n",
		    "dup.conf:4: 'to' again in [probe x] (first at line 2)" },
		{ "[global]\ninterval = 1\n[probe x]\n[global]\n"
		    "interval = 2\n", "dup.conf:4: [global] again (first at "
		    "line 1)" },
		{ "[global]\nkeep=on\nkeep: off\n", "dup.conf:3: 'keep' again"
		    " in [global] (first at line 2)" },
	};
	struct mc_error err;
	struct config cfg;
	const char *path;
	char **names;
	size_t i, n;

	(void)unused;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# case %zu\n", i);
		path = write_file("dup.conf", cases[i].text, 0644);
		config_init(&cfg);
		assert_int_equal(config_load(&cfg, path, "x", &err), -1);
		print_message("# %s\n", err.msg);
		assert_non_null(strstr(err.msg, cases[i].msg));
		config_clear(&cfg);
		names = NULL;
		assert_int_equal(config_probe_names(path, &names, &n, &err),
		    -1);
		assert_null(names);
	}
	/* The same key in [global] and in a probe is an override. */
	path = write_file("override.conf", "[global]\ninterval = 1\n"
	    "[probe x]\ninterval = 2\n", 0644);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "x", &err), 0);
	assert_int_equal(cfg.interval, 2);
	config_clear(&cfg);
}

/* A NUL byte in a config or a password file is an error, never a cut. */
static void
test_nul(void **unused)
{
	static const char conf[] = "[probe a]\nsmtp_user = adm\0in\n";
	static const char pw[] = "s3c\0ret\n";
	struct mc_error err;
	struct config cfg;
	char path[256], *out = NULL;
	FILE *fp;

	(void)unused;
	snprintf(path, sizeof(path), "%s/nul.conf", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(conf, 1, sizeof(conf) - 1, fp);
	fclose(fp);
	config_init(&cfg);
	assert_int_equal(config_load(&cfg, path, "a", &err), -1);
	assert_non_null(strstr(err.msg, "nul.conf:2: NUL byte"));
	config_clear(&cfg);

	snprintf(path, sizeof(path), "%s/nul.pw", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(pw, 1, sizeof(pw) - 1, fp);
	fclose(fp);
	chmod(path, 0600);
	assert_int_equal(config_read_secret(path, &out, &err), -1);
	assert_null(out);
	assert_non_null(strstr(err.msg, "NUL byte"));
	assert_non_null(strstr(err.msg, path));
}

/*
 * A directory, a device or a FIFO as config or password file is refused
 * at once. alarm() turns a hang (a FIFO's open, /dev/zero's endless read)
 * into a failure instead of a stuck test.
 */
static void
test_special_files(void **unused)
{
	static const char *const confs[] = { "/dev/zero", "/dev/null",
	    "fifo", "dir" };
	struct mc_error err;
	struct config cfg;
	char path[256], *out = NULL;
	char **names = NULL;
	size_t i, n;

	(void)unused;
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/dir", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	alarm(5);
	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		if (confs[i][0] == '/')
			snprintf(path, sizeof(path), "%s", confs[i]);
		else
			snprintf(path, sizeof(path), "%s/%s", tmpdir,
			    confs[i]);
		print_message("# %s\n", path);
		config_init(&cfg);
		assert_int_equal(config_load(&cfg, path, "a", &err), -1);
		assert_non_null(strstr(err.msg, path));
		assert_non_null(strstr(err.msg, "not a regular file"));
		config_clear(&cfg);
		assert_int_equal(config_probe_names(path, &names, &n, &err),
		    -1);
		assert_non_null(strstr(err.msg, "not a regular file"));
		assert_int_equal(config_read_secret(path, &out, &err), -1);
		assert_non_null(strstr(err.msg, "not a regular file"));
	}
	alarm(0);
}

/* $CREDENTIALS_DIRECTORY: systemd's LoadCredential= for bare names. */
static void
test_credentials(void **unused)
{
	struct mc_error err;
	struct config cfg;
	char dir[256], path[300];
	FILE *fp;

	(void)unused;
	snprintf(dir, sizeof(dir), "%s/creds", tmpdir);
	assert_int_equal(mkdir(dir, 0500), 0);
	snprintf(path, sizeof(path), "%s/mbox.pw", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("fromcreds\n", fp);
	fclose(fp);
	chmod(path, 0400);

	config_init(&cfg);
	config_set(&cfg, "no_send", "on", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	config_set(&cfg, "mailbox_user", "u", NULL);
	config_set(&cfg, "mailbox_password_file", "mbox.pw", NULL);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(config_finish(&cfg, &err), 0);
	assert_string_equal(cfg.mailbox_password, "fromcreds");
	config_clear(&cfg);

	/* Not set: the bare name is not found, and the error says why. */
	unsetenv("CREDENTIALS_DIRECTORY");
	config_init(&cfg);
	config_set(&cfg, "no_send", "on", NULL);
	config_set(&cfg, "mailbox", "imap://h", NULL);
	config_set(&cfg, "mailbox_user", "u", NULL);
	config_set(&cfg, "mailbox_password_file", "mbox.pw", NULL);
	assert_int_equal(config_finish(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "CREDENTIALS_DIRECTORY"));
	config_clear(&cfg);
}

/* Owners, not only modes: a password file of another user is refused. */
static void
test_secret_owner(void **unused)
{
	struct mc_error err;
	const char *path;
	char *pw = NULL;

	(void)unused;
	if (geteuid() != 0) {
		print_message("# not root: the owner cases need chown\n");
		goto modes;
	}
	path = write_file("pw-nobody", "s3cret\n", 0600);
	assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(config_read_secret(path, &pw, &err), -1);
	print_message("# %s\n", err.msg);
	assert_non_null(strstr(err.msg, "is owned by"));
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "chown root"));
	/* mailcanaryd --user: the account it will run as is trusted. */
	file_trust_uid(65534);
	assert_int_equal(config_read_secret(path, &pw, &err), 0);
	assert_string_equal(pw, "s3cret");
	free(pw);
	file_trust_uid((uid_t)-1);
modes:
	path = write_file("pw-gw", "s3cret\n", 0620);
	assert_int_equal(config_read_secret(path, &pw, &err), -1);
	assert_non_null(strstr(err.msg, "writable by group or others"));
}

/* A reload restarts a probe only when one of its own settings changed. */
static void
test_same(void **unused)
{
	struct config a, b;

	(void)unused;
	config_init(&a);
	config_init(&b);
	snprintf(a.name, sizeof(a.name), "p1");
	snprintf(b.name, sizeof(b.name), "p1");
	assert_true(config_same(&a, &b));
	/* The daemon's and the plugin's own values are no probe's. */
	assert_int_equal(config_set(&b, "workers", "4", NULL), 0);
	assert_int_equal(config_set(&b, "agentx_socket", "tcp:1:705",
	    NULL), 0);
	assert_int_equal(config_set(&b, "output", "json", NULL), 0);
	assert_true(config_same(&a, &b));
	assert_int_equal(config_set(&b, "timeout", "31", NULL), 0);
	assert_false(config_same(&a, &b));
	assert_int_equal(config_set(&a, "timeout", "31", NULL), 0);
	assert_true(config_same(&a, &b));
	assert_int_equal(config_set(&b, "critical", "100", NULL), 0);
	assert_false(config_same(&a, &b));
	config_clear(&a);
	config_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_probe_name),
		cmocka_unit_test(test_probe_name_oauth2),
		cmocka_unit_test(test_ini),
		cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_finish_checks),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_special_files),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_secret_owner),
		cmocka_unit_test(test_same),
	};
	int rc;

	if (tap_tmpdir(tmpdir) == NULL)
		return 1;
	rc = RUN_TESTS(tests);
	return rc;
}
