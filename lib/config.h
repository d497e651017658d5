/*
 * config.h - the settings of one probe. Every setting is declared once in
 * a table in config.c (key, kind, default, bounds, short option, argument
 * name, help, programs); the INI file, the command line, --help and the
 * effective-config dump all go through that table.
 */
#ifndef MC_CONFIG_H
#define MC_CONFIG_H

#include <stdio.h>

#include "error.h"
#include "range.h"

/* auth_results: what a delivered canary's SPF, DKIM and DMARC mean. */
enum auth_results {
	AUTH_RESULTS_REPORT = 0,	/* shown, never a verdict */
	AUTH_RESULTS_REQUIRE		/* not all pass: WARNING */
};

enum starttls {
	STARTTLS_REQUIRED = 0,
	STARTTLS_OPTIONAL,
	STARTTLS_NEVER
};

#define CONFIG_DEFAULT_FILE	"/etc/mailcanary/mailcanary.conf"
#define CONFIG_DEFAULT_STATEDIR	"/var/lib/mailcanary"
#define CONFIG_NAME_MAX		64
#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes of an INI file */
#define CONFIG_LINE_MAX		16384		/* characters of a line */
#define CONFIG_SECRET_MAX	1024		/* bytes of a password */
#define CONFIG_SECRET_FILE_MAX	(64 * 1024)	/* bytes of its file */
#define CONFIG_KEY_MAX		31		/* characters of a key */
#define CONFIG_SETTINGS_MAX	64		/* entries of the table */
#define CONFIG_OAUTH2_MAX	16		/* [oauth2 NAME] sections */

/* Which programs read a setting (struct config_option.programs). */
#define CONFIG_PLUGIN	0x01	/* check_mailcanary: a key and an option */
#define CONFIG_DAEMON	0x02	/* mailcanaryd: a key of a probe */
#define CONFIG_GLOBAL	0x04	/* mailcanaryd: one value, from [global] */

/*
 * One setting of the table as the command line and --help see it. The
 * long option is the INI key with '_' turned into '-'. A switch (arg
 * NULL) takes no value on the command line and means "on".
 */
struct config_option {
	const char	*key;			/* INI key: "lost_after" */
	char		 option[CONFIG_KEY_MAX + 1];	/* "lost-after" */
	int		 letter;		/* short option; 0: none */
	const char	*arg;			/* "SECONDS"; NULL: switch */
	const char	*help;			/* one line, no default */
	const char	*def;			/* NULL: no default */
	unsigned	 programs;		/* CONFIG_PLUGIN... */
};

/* grant = of an [oauth2 NAME] section. */
enum oauth2_grant {
	OAUTH2_CLIENT_CREDENTIALS = 0,
	OAUTH2_REFRESH_TOKEN
};

/*
 * One [oauth2 NAME] section: an identity provider's app registration that
 * probes name in smtp_oauth2, mailbox_oauth2 and bounce_oauth2. Secrets
 * are never held here: only the files that hold them.
 */
struct config_oauth2 {
	char		*name;
	char		*token_url;
	char		*client_id;
	char		*client_secret_file;
	char		*scope;
	int		 grant;			/* enum oauth2_grant */
	char		*refresh_token_file;
	int		 line;			/* of the section, for errors */
};

/*
 * One probe's configuration. The settings are fields of the table in
 * config.c (config_option() lists them with the programs that read
 * them); the groups below say who reads each. The runtime fields at the
 * end are never set by a key or an option.
 */
struct config {
	char		*probe;		/* [probe NAME] or --probe; NULL:
					 * derived */

	/* Settings of a probe: check_mailcanary and mailcanaryd alike. */
	char		*smtp;
	int		 starttls;
	char		*smtp_user;
	char		*smtp_password_file;
	char		*from;
	char		*to;
	int		 fresh_address;
	char		*mailbox;
	int		 mailbox_starttls;
	char		*mailbox_user;
	char		*mailbox_password_file;
	char		*bounce_mailbox;	/* where bounces to `from`
						 * land */
	char		*bounce_user;
	char		*bounce_password_file;
	char		*ca_file;
	int		 insecure;
	int		 ipv4;		/* resolve and connect over IPv4 only */
	int		 ipv6;		/* over IPv6 only; not with ipv4 */
	char		*state_dir;
	long		 interval;
	struct range	 warning;
	struct range	 critical;
	long		 lost_after;
	int		 keep;
	int		 no_send;
	long		 timeout;
	long		 history;
	long		 max_message_size;	/* bytes; larger mail
						 * skipped */
	char		*junk_folders;	/* IMAP folders also scanned, as
					 * given (junk.h parses it) */
	int		 junk;		/* enum mc_state of a canary found
					 * in one: MC_OK, _WARNING, _CRITICAL */
	char		*authserv_id;	/* trusted Authentication-Results;
					 * NULL: none read */
	int		 auth_results;	/* enum auth_results */

	/* OAuth2: an [oauth2 NAME] section, or a bearer token file read
	 * afresh on every run; either instead of the password file. */
	char		*smtp_oauth2;
	char		*smtp_token_file;
	char		*mailbox_oauth2;
	char		*mailbox_token_file;
	char		*bounce_oauth2;
	char		*bounce_token_file;

	/* check_mailcanary only. */
	int		 output;	/* enum output_format (output.h) */
	char		*metrics_file;	/* Prometheus textfile; NULL: none */

	/* mailcanaryd only, per probe. */
	long		 snmp_index;		/* table row; 0: position */
	int		 notifications;		/* send traps */

	/* mailcanaryd only, [global]: one value for the daemon. */
	char		*agentx_socket;
	long		 workers;		/* most cycles running at
						 * once */
	char		*metrics_listen;	/* /metrics; NULL: off */

	/* Runtime: derived by config_finish(). */
	char		*smtp_password;		/* from file or environment */
	char		*mailbox_password;
	char		*bounce_password;
	char		 name[CONFIG_NAME_MAX + 1];	/* state file stem */
	/* Every [oauth2 NAME] section of the file (config_load), and the
	 * ones the probe names (config_finish; borrowed from oauth2[]). */
	struct config_oauth2	*oauth2;
	size_t			 noauth2;
	const struct config_oauth2 *smtp_provider;
	const struct config_oauth2 *mailbox_provider;
	const struct config_oauth2 *bounce_provider;
};

/*
 * Fills *out with the i-th setting of the table (0 first), in the order
 * of config_dump(): 0, or -1 past the last one. The strings are the
 * table's constants. At most CONFIG_SETTINGS_MAX settings.
 */
int	config_option(size_t i, struct config_option *out);
/*
 * Prints one option's --help entry: short and long option, argument,
 * help and default, wrapped before column 80. Used for a program's own
 * options too (key NULL, option filled in).
 */
void	config_option_help(const struct config_option *, FILE *);
/* Prints the entries of every setting that programs (CONFIG_PLUGIN...)
 * read, in the order of the table. */
void	config_help(FILE *, unsigned programs);

void	config_init(struct config *);
void	config_clear(struct config *);
/* Sets one setting by its INI key (long option name with '_'). */
int	config_set(struct config *, const char *key, const char *value,
	    struct mc_error *);
/*
 * Loads [global] and then [probe NAME] from an INI file; every section is
 * checked, so an unknown key anywhere is an error "FILE:LINE: ...", and
 * so are a repeated section or key, a NUL byte, a line longer than
 * CONFIG_LINE_MAX and a file larger than CONFIG_FILE_MAX. The file must be
 * a regular file (a FIFO or a device is refused, never read).
 * A NULL probe loads [global] only. Fails if [probe NAME] is missing.
 */
int	config_load(struct config *, const char *path, const char *probe,
	    struct mc_error *);
/* The NAMEs of every [probe NAME] of a file, in order, after the checks of
 * the file's form that config_load() makes; free each and the array. */
int	config_probe_names(const char *path, char ***names, size_t *n,
	    struct mc_error *);
/*
 * Checks what is required, reads password files, derives the name. A
 * password file named without a '/' is read from $CREDENTIALS_DIRECTORY
 * when that is set (systemd's LoadCredential=).
 */
int	config_finish(struct config *, struct mc_error *);
/*
 * Whether two probes' settings are the same: every setting a probe of
 * mailcanaryd has (CONFIG_DAEMON), the name, and which passwords are set
 * (not their values). The daemon's own [global] values (workers,
 * agentx_socket) and the plugin's (output) are no probe's.
 */
int	config_same(const struct config *, const struct config *);
/* Prints the effective settings as INI, secrets masked. */
void	config_dump(const struct config *, FILE *);

/* Shared checks, also used by the message composer. */
int	config_check_address(const char *what, const char *addr,
	    struct mc_error *);
int	config_check_name(const char *what, const char *name,
	    struct mc_error *);
/*
 * Reads a secret: the first line of a regular file (not a symbolic link)
 * owned by the effective user or root (see file_trust_uid()), neither
 * readable nor writable by group or others, without NUL bytes, at most
 * CONFIG_SECRET_FILE_MAX bytes. *out is the caller's to free.
 */
int	config_read_secret(const char *path, char **out, struct mc_error *);
/*
 * config_read_secret() with a first line of at most max bytes (max below
 * CONFIG_SECRET_FILE_MAX), what naming the file in errors ("token file").
 */
int	config_read_secret_max(const char *path, const char *what, size_t max,
	    char **out, struct mc_error *);

struct output_opts;
/* What the output needs of cfg, borrowed from it (output.h). */
void	config_output_opts(const struct config *, struct output_opts *);

#endif
