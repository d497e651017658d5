/*
 * check_mailcanary - Nagios/Icinga plugin: one probe cycle per run.
 * Parses options into a config, runs probe_run(), prints the verdict and
 * exits with its state. SIGTERM (Icinga's own timeout) and -t end the run
 * within the budget, with the step it reached; a hard backstop timer
 * guarantees it even if a library call does not return. Both hold from
 * the first instruction, before the configuration is read.
 */
#include <sys/syscall.h>

#include <curl/curl.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "deadline.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "probe.h"

#define PROGNAME	"check_mailcanary"
#define HARD_STOP_GRACE	0.4	/* seconds past -t before _exit */
#define TERM_GRACE	0.3	/* seconds from SIGTERM to the hard stop */
/* output_error()'s JSON up to the text, for the signal handlers. */
#define JSON_ERROR_HEAD	"{\"verdict\":\"UNKNOWN\",\"exit_code\":3," \
	"\"reasons\":[{\"state\":\"UNKNOWN\",\"code\":\"%s\",\"text\":\""

/* Not in glibc's headers before 2.41; the kernel's name for the field. */
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id	_sigev_un._tid
#endif

/* The backstop: a monotonic timer, its lines prepared beforehand. */
static timer_t backstop;
static volatile sig_atomic_t backstop_armed;
static char hard_timeout[256];
static char hard_term[256];
static int hard_json;

/*
 * The command line: the settings of the table that the plugin reads (see
 * config_option()), each under its long option and short letter, and the
 * plugin's own few options around them.
 */
enum {
	OPT_CONFIG = 256, OPT_PROBE, OPT_SHOW_CONFIG,
	OPT_SETTING		/* + the index into cli.set */
};

/* The plugin's own options; those before --show-config lead --help. */
static const struct {
	struct config_option	 o;
	int			 val;
} own[] = {
	{ { NULL, "config", 0, "FILE", "read settings from [global] and "
	    "[probe NAME]", NULL, CONFIG_PLUGIN }, OPT_CONFIG },
	{ { NULL, "probe", 0, "NAME", "the probe (names the state file)",
	    NULL, CONFIG_PLUGIN }, OPT_PROBE },
	{ { NULL, "show-config", 0, NULL, "print the effective settings "
	    "and exit", NULL, CONFIG_PLUGIN }, OPT_SHOW_CONFIG },
	{ { NULL, "verbose", 'v', NULL, "log to stderr; twice for protocol "
	    "traces", NULL, CONFIG_PLUGIN }, 'v' },
	{ { NULL, "help", 'h', NULL, "print this help and exit", NULL,
	    CONFIG_PLUGIN }, 'h' },
	{ { NULL, "version", 'V', NULL, "print the version and exit", NULL,
	    CONFIG_PLUGIN }, 'V' },
};
#define NOWN		(sizeof(own) / sizeof(own[0]))
#define NOWN_LEAD	2

struct cli {
	struct config_option	 set[CONFIG_SETTINGS_MAX];
	size_t			 nset;
	struct option		 longopts[CONFIG_SETTINGS_MAX + NOWN + 1];
	char			 shortopts[1 + 2 * (CONFIG_SETTINGS_MAX + NOWN)
				    + 1];
};

/* Fills the option arrays for getopt_long() from the table. */
static void
cli_build(struct cli *cli)
{
	struct config_option o;
	struct option *lo = cli->longopts;
	char *so = cli->shortopts;
	size_t i;

	memset(cli, 0, sizeof(*cli));
	*so++ = ':';	/* a missing value is ':', not '?' */
	for (i = 0; config_option(i, &o) == 0; i++) {
		if (!(o.programs & CONFIG_PLUGIN))
			continue;
		cli->set[cli->nset] = o;
		lo->name = cli->set[cli->nset].option;
		lo->has_arg = o.arg ? required_argument : no_argument;
		lo->val = o.letter ? o.letter : OPT_SETTING + (int)cli->nset;
		lo++;
		if (o.letter) {
			*so++ = (char)o.letter;
			if (o.arg)
				*so++ = ':';
		}
		cli->nset++;
	}
	for (i = 0; i < NOWN; i++) {
		lo->name = own[i].o.option;
		lo->has_arg = own[i].o.arg ? required_argument : no_argument;
		lo->val = own[i].val;
		lo++;
		if (own[i].o.letter) {
			*so++ = (char)own[i].o.letter;
			if (own[i].o.arg)
				*so++ = ':';
		}
	}
	*so = '\0';
}

/* The setting getopt_long() returned ch for; NULL if none. */
static const struct config_option *
cli_setting(const struct cli *cli, int ch)
{
	size_t i;

	if (ch >= OPT_SETTING && (size_t)(ch - OPT_SETTING) < cli->nset)
		return &cli->set[ch - OPT_SETTING];
	for (i = 0; i < cli->nset; i++)
		if (cli->set[i].letter != 0 && cli->set[i].letter == ch)
			return &cli->set[i];
	return NULL;
}

static void
usage(FILE *fp)
{
	fprintf(fp,
"Usage: " PROGNAME " [--config FILE --probe NAME] [-S URL] [-f ADDR] [-r ADDR]\n"
"         [-M URL] [-w RANGE] [-c RANGE] [-t SECONDS] [options]\n");
}

static void
help(void)
{
	size_t i;

	printf(PROGNAME " " PACKAGE_VERSION " - follow canary messages through "
	    "a mail path\n\n");
	usage(stdout);
	printf(
"\nEach run scans the test mailbox for canaries in flight, sends a new\n"
"canary when --interval has passed, and reports what happened to every\n"
"canary: delivered (and how fast), bounced, or hidden. It never waits for\n"
"its own canary: the next run finds it. Every setting is also a key of\n"
"the --config file: the long option with '_' for '-'.\n\n");
	for (i = 0; i < NOWN_LEAD; i++)
		config_option_help(&own[i].o, stdout);
	config_help(stdout, CONFIG_PLUGIN);
	for (i = NOWN_LEAD; i < NOWN; i++)
		config_option_help(&own[i].o, stdout);
	printf(
"\nPasswords come only from files readable by their owner alone, or from\n"
"MAILCANARY_SMTP_PASSWORD, MAILCANARY_MAILBOX_PASSWORD and\n"
"MAILCANARY_BOUNCE_PASSWORD.\n"
"Exit: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. See check_mailcanary(8).\n");
}

static void
write_str(const char *s)
{
	ssize_t r = write(STDOUT_FILENO, s, strlen(s));

	(void)r;
}

/* The backstop: async-signal-safe writes, then _exit. */
static void
on_alarm(int sig)
{
	(void)sig;
	write_str(deadline_signal ? hard_term : hard_timeout);
	write_str(deadline_current_step());
	write_str(hard_json ? " (hard stop)\"}]}\n" : " (hard stop)\n");
	_exit(3);
}

static void
on_term(int sig)
{
	struct itimerspec cur, it;

	(void)sig;
	deadline_signal = 1;
	/*
	 * The run sees the flag at its next step, saves its state and
	 * prints. Should it be stuck in a call that does not return, the
	 * backstop ends it TERM_GRACE from now (timer_gettime and
	 * timer_settime are async-signal-safe).
	 */
	if (!backstop_armed || timer_gettime(backstop, &cur) == -1 ||
	    (cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <
	    (long)(TERM_GRACE * 1e9)))
		return;
	memset(&it, 0, sizeof(it));
	it.it_value.tv_nsec = (long)(TERM_GRACE * 1e9);
	timer_settime(backstop, 0, &it, NULL);
}

/*
 * The timer signals the main thread, whose step the line names (libcurl's
 * resolver threads have steps of their own). Then SIGTERM and SIGINT are
 * caught: their handler needs the timer.
 */
static int
backstop_init(void)
{
	struct sigaction sa;
	struct sigevent sev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &backstop) == -1)
		return -1;
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return 0;
}

/*
 * (Re)arms the backstop at the end of the budget (deadline_rebudget()
 * moves it, from the same start) plus HARD_STOP_GRACE. After a SIGTERM
 * its shorter fuse stays.
 */
static void
arm_backstop(int json)
{
	struct itimerspec it;
	sigset_t block, old;
	double left;

	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	/* The handlers read the lines: not while they are rewritten. */
	sigprocmask(SIG_BLOCK, &block, &old);
	hard_json = json;
	/* As output_error() writes them, built now for the handlers. */
	if (json) {
		snprintf(hard_timeout, sizeof(hard_timeout), JSON_ERROR_HEAD
		    "timed out after %.0fs at ", error_code_name(MC_ERR_TIMEOUT),
		    deadline_budget());
		snprintf(hard_term, sizeof(hard_term), JSON_ERROR_HEAD
		    "terminated by a signal at ", error_code_name(MC_ERR_SIGNAL));
	} else {
		snprintf(hard_timeout, sizeof(hard_timeout), "MAILCANARY "
		    "UNKNOWN - timed out after %.0fs at ", deadline_budget());
		snprintf(hard_term, sizeof(hard_term), "MAILCANARY UNKNOWN - "
		    "terminated by a signal at ");
	}
	if (!deadline_signal || !backstop_armed) {
		left = deadline_remaining() + HARD_STOP_GRACE;
		if (deadline_signal && left > TERM_GRACE)
			left = TERM_GRACE;
		if (left < 0.001)
			left = 0.001;
		memset(&it, 0, sizeof(it));
		it.it_value.tv_sec = (time_t)left;
		it.it_value.tv_nsec = (long)((left -
		    (double)it.it_value.tv_sec) * 1e9);
		timer_settime(backstop, 0, &it, NULL);
		backstop_armed = 1;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void
disarm_backstop(void)
{
	struct itimerspec it;

	backstop_armed = 0;
	memset(&it, 0, sizeof(it));
	timer_settime(backstop, 0, &it, NULL);
}

/* An UNKNOWN line with the backstop out of the way. */
static int
fail(int format, const struct mc_error *err)
{
	disarm_backstop();
	return output_error(stdout, format, 3, err);
}

/* The same for an error of the command line itself. */
static int
fail_usage(int format, const char *msg)
{
	struct mc_error err;

	error_set(&err, MC_ERR_CONFIG, "%s", msg);
	return fail(format, &err);
}

struct cli_setting {
	const char	*key;
	const char	*value;
};

/* What the command line said, before the configuration is read. */
struct cmdline {
	struct cli_setting	 set[64];
	size_t			 nset;
	const char		*cfgfile;
	const char		*probe;
	const char		*tval;		/* -t, applied first */
	int			 verbose;
	int			 show;		/* --show-config */
	int			 format;	/* from --output, for errors */
};

/*
 * Parses the options into cl: 0 to go on, or 1 with *rc the exit code
 * when the run ends here (--help, --version, a bad option, said).
 */
static int
parse_cmdline(int argc, char *argv[], struct cmdline *cl, int *rc)
{
	const struct config_option *o;
	struct mc_error err;
	struct cli cli;
	int ch;

	memset(cl, 0, sizeof(*cl));
	cl->format = OUTPUT_NAGIOS;
	cli_build(&cli);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, cli.shortopts, cli.longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG:
			cl->cfgfile = optarg;
			continue;
		case OPT_PROBE:
			cl->probe = optarg;
			continue;
		case 'v':
			cl->verbose++;
			continue;
		case 'h':
			disarm_backstop();
			help();
			*rc = 3;
			return 1;
		case 'V':
			disarm_backstop();
			printf(PROGNAME " " PACKAGE_VERSION " (libcurl %s)\n",
			    curl_version_info(CURLVERSION_NOW)->version);
			*rc = 3;
			return 1;
		case OPT_SHOW_CONFIG:
			cl->show = 1;
			continue;
		case '?':
		case ':':
			/* getopt stays quiet (opterr = 0): stdout only. */
			error_set(&err, MC_ERR_CONFIG, "%s option '%s'; "
			    "see " PROGNAME " --help", ch == ':' ?
			    "missing value for" : "unknown or malformed",
			    argv[optind - 1]);
			*rc = fail(OUTPUT_NAGIOS, &err);
			return 1;
		}
		if ((o = cli_setting(&cli, ch)) == NULL ||
		    cl->nset == sizeof(cl->set) / sizeof(cl->set[0])) {
			*rc = fail_usage(OUTPUT_NAGIOS, "bad command line; see "
			    PROGNAME " --help");
			return 1;
		}
		/* A switch means "on"; its setting is checked later. */
		cl->set[cl->nset].key = o->key;
		cl->set[cl->nset].value = optarg ? optarg : "on";
		if (strcmp(o->key, "output") == 0 &&
		    strcmp(optarg, "json") == 0)
			cl->format = OUTPUT_JSON;
		if (strcmp(o->key, "timeout") == 0)
			cl->tval = optarg;
		cl->nset++;
	}
	if (optind < argc) {
		*rc = fail_usage(cl->format, "unexpected argument; see "
		    PROGNAME " --help");
		return 1;
	}
	return 0;
}

/* Fails with a signal's error if one came. */
static int
check_signal(struct mc_error *err)
{
	if (!deadline_signal)
		return 0;
	return error_set(err, MC_ERR_SIGNAL, "terminated by a signal while %s",
	    deadline_current_step());
}

/*
 * The configuration file's probe, then the options over it, then the
 * password files: 0, or -1 with err set. The budget follows the timeout
 * as soon as each is known, and *format (for the error) the output.
 */
static int
configure(const struct cmdline *cl, struct config *cfg, int *format,
    struct mc_error *err)
{
	size_t i;

	deadline_step("reading the configuration");
	if (cl->cfgfile != NULL) {
		if (cl->probe == NULL)
			return error_set(err, MC_ERR_CONFIG,
			    "--config needs --probe NAME");
		if (config_load(cfg, cl->cfgfile, cl->probe, err) == -1)
			return -1;
	} else if (cl->probe != NULL &&
	    (cfg->probe = strdup(cl->probe)) == NULL) {
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < cl->nset; i++)
		if (config_set(cfg, cl->set[i].key, cl->set[i].value,
		    err) == -1)
			return -1;
	*format = cfg->output;
	deadline_rebudget((double)cfg->timeout);
	arm_backstop(cfg->output == OUTPUT_JSON);
	if (check_signal(err) == -1)
		return -1;
	deadline_step("reading the password files");
	if (config_finish(cfg, err) == -1)
		return -1;
	return check_signal(err);
}

/*
 * --metrics-file: the probe's families for node_exporter's textfile
 * collector (without the latency histogram: the daemon's counts each
 * canary once as it arrives, and a plugin run, remembering nothing but
 * the state file, cannot). A file that cannot be written is a WARNING.
 */
static void
write_metrics(const struct config *cfg, struct probe_report *rep)
{
	struct metrics_probe m;
	struct mc_error err;
	char detail[400];

	deadline_step("writing the metrics file");
	metrics_from_report(&m, cfg->name, rep);
	if (metrics_write_file(cfg->metrics_file, &m, &err) == -1) {
		snprintf(detail, sizeof(detail), "metrics_file: %s", err.msg);
		verdict_add(&rep->v, MC_WARNING, REASON_INTERNAL, -1, detail);
	}
}

int
main(int argc, char *argv[])
{
	struct cmdline cl;
	struct probe_report rep;
	struct output_opts opts;
	struct config cfg;
	struct mc_error err;
	int rc, format;

	/*
	 * The budget and its backstop hold from here, before anything is
	 * read: the default timeout now, -t once the options are parsed,
	 * the configuration's once it is read, all from this one start.
	 */
	config_init(&cfg);
	deadline_start((double)cfg.timeout);
	if (backstop_init() == -1) {
		error_set(&err, MC_ERR_INTERNAL, "cannot create the "
		    "backstop timer: %s", strerror(errno));
		return output_error(stdout, OUTPUT_NAGIOS, 3, &err);
	}
	arm_backstop(0);
	signal(SIGPIPE, SIG_IGN);
	deadline_step("parsing the command line");
	if (parse_cmdline(argc, argv, &cl, &rc))
		return rc;
	/* A bad -t is reported with the other settings. */
	if (cl.tval != NULL && config_set(&cfg, "timeout", cl.tval, NULL) == 0)
		deadline_rebudget((double)cfg.timeout);
	arm_backstop(cl.format == OUTPUT_JSON);
	log_init(PROGNAME, cl.verbose == 0 ? LOG_LEVEL_QUIET :
	    cl.verbose == 1 ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG);

	format = cl.format;
	if (configure(&cl, &cfg, &format, &err) == -1) {
		rc = fail(format, &err);
		config_clear(&cfg);
		return rc;
	}
	if (cl.show) {
		disarm_backstop();
		config_dump(&cfg, stdout);
		config_clear(&cfg);
		return 3;
	}

	deadline_step("starting the probe");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (probe_run(&cfg, 0, &rep, &err) == -1) {
		rc = fail(cfg.output, &err);
	} else {
		if (cfg.metrics_file != NULL)
			write_metrics(&cfg, &rep);
		disarm_backstop();
		config_output_opts(&cfg, &opts);
		rc = output_print(stdout, &opts, &rep.st, &rep.v, rep.now);
		probe_report_clear(&rep);
	}
	fflush(stdout);
	config_clear(&cfg);
	curl_global_cleanup();
	return rc;
}
