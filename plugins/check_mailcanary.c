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
#include "output.h"
#include "probe.h"

#define PROGNAME	"check_mailcanary"
#define HARD_STOP_GRACE	0.4	/* seconds past -t before _exit */
#define TERM_GRACE	0.3	/* seconds from SIGTERM to the hard stop */

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

enum {
	OPT_CONFIG = 256, OPT_PROBE, OPT_STARTTLS, OPT_SMTP_USER,
	OPT_SMTP_PWFILE, OPT_FRESH, OPT_MBOX_USER, OPT_MBOX_PWFILE,
	OPT_MBOX_STARTTLS, OPT_CAFILE, OPT_INSECURE, OPT_STATEDIR,
	OPT_INTERVAL, OPT_LOST_AFTER, OPT_KEEP, OPT_NO_SEND, OPT_OUTPUT,
	OPT_SHOW_CONFIG, OPT_HISTORY, OPT_BOUNCE, OPT_BOUNCE_USER,
	OPT_BOUNCE_PWFILE, OPT_MAX_MESSAGE
};

/* Option to setting; flags map to "on". */
static const struct {
	int		 opt;
	const char	*key;
} opt_keys[] = {
	{ 'S', "smtp" }, { OPT_STARTTLS, "starttls" },
	{ OPT_SMTP_USER, "smtp_user" }, { OPT_SMTP_PWFILE,
	"smtp_password_file" }, { 'f', "from" }, { 'r', "to" },
	{ OPT_FRESH, "fresh_address" }, { 'M', "mailbox" },
	{ OPT_MBOX_USER, "mailbox_user" }, { OPT_MBOX_PWFILE,
	"mailbox_password_file" }, { OPT_MBOX_STARTTLS, "mailbox_starttls" },
	{ OPT_CAFILE, "ca_file" }, { OPT_INSECURE, "insecure" },
	{ OPT_STATEDIR, "state_dir" }, { OPT_INTERVAL, "interval" },
	{ 'w', "warning" }, { 'c', "critical" },
	{ OPT_LOST_AFTER, "lost_after" }, { OPT_KEEP, "keep" },
	{ OPT_NO_SEND, "no_send" }, { 't', "timeout" },
	{ OPT_OUTPUT, "output" }, { OPT_HISTORY, "history" },
	{ OPT_BOUNCE, "bounce_mailbox" }, { OPT_BOUNCE_USER, "bounce_user" },
	{ OPT_BOUNCE_PWFILE, "bounce_password_file" },
	{ OPT_MAX_MESSAGE, "max_message_size" },
};

static const struct option longopts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "probe", required_argument, NULL, OPT_PROBE },
	{ "smtp", required_argument, NULL, 'S' },
	{ "starttls", required_argument, NULL, OPT_STARTTLS },
	{ "smtp-user", required_argument, NULL, OPT_SMTP_USER },
	{ "smtp-password-file", required_argument, NULL, OPT_SMTP_PWFILE },
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 'r' },
	{ "fresh-address", required_argument, NULL, OPT_FRESH },
	{ "mailbox", required_argument, NULL, 'M' },
	{ "mailbox-user", required_argument, NULL, OPT_MBOX_USER },
	{ "mailbox-password-file", required_argument, NULL, OPT_MBOX_PWFILE },
	{ "mailbox-starttls", required_argument, NULL, OPT_MBOX_STARTTLS },
	{ "bounce-mailbox", required_argument, NULL, OPT_BOUNCE },
	{ "bounce-user", required_argument, NULL, OPT_BOUNCE_USER },
	{ "bounce-password-file", required_argument, NULL, OPT_BOUNCE_PWFILE },
	{ "ca-file", required_argument, NULL, OPT_CAFILE },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "state-dir", required_argument, NULL, OPT_STATEDIR },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "warning", required_argument, NULL, 'w' },
	{ "critical", required_argument, NULL, 'c' },
	{ "lost-after", required_argument, NULL, OPT_LOST_AFTER },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "no-send", no_argument, NULL, OPT_NO_SEND },
	{ "timeout", required_argument, NULL, 't' },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "max-message-size", required_argument, NULL, OPT_MAX_MESSAGE },
	{ "show-config", no_argument, NULL, OPT_SHOW_CONFIG },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

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
	printf(PROGNAME " " PACKAGE_VERSION " - follow canary messages through "
	    "a mail path\n\n");
	usage(stdout);
	printf(
"\nEach run scans the test mailbox for canaries in flight, sends a new\n"
"canary when --interval has passed, and reports what happened to every\n"
"canary: delivered (and how fast), bounced, or hidden. It never waits for\n"
"its own canary: the next run finds it.\n\n"
"  --config FILE            read settings from [global] and [probe NAME]\n"
"  --probe NAME             the probe (names the state file)\n"
"  -S, --smtp URL           smtp://host[:port] or smtps://host[:port]\n"
"      --starttls POLICY    required|optional|never (default required)\n"
"      --smtp-user USER     --smtp-password-file FILE\n"
"  -f, --from ADDR          envelope sender and From: (bounces go here)\n"
"  -r, --to ADDR            the test mailbox address\n"
"      --fresh-address on|off  send to LOCAL+TOKEN@DOMAIN (default on)\n"
"  -M, --mailbox URL        imap[s]://host[:port][/FOLDER] or pop3[s]://host[:port]\n"
"      --mailbox-user USER  --mailbox-password-file FILE\n"
"      --mailbox-starttls POLICY  for imap:// and pop3:// (default required)\n"
"      --bounce-mailbox URL where bounces to --from land: every bounce is\n"
"                           read, tied to its canary and classified\n"
"      --bounce-user USER   --bounce-password-file FILE\n"
"      --ca-file FILE       CA bundle for TLS; --insecure skips verification\n"
"      --state-dir DIR      default " CONFIG_DEFAULT_STATEDIR "\n"
"      --interval SECONDS   least time between canaries (default 0)\n"
"  -w, --warning RANGE      latency warning threshold, seconds (1800)\n"
"  -c, --critical RANGE     latency critical threshold, seconds (3600)\n"
"      --lost-after SECONDS a canary neither arrived nor bounced by then\n"
"                           is HIDDEN (default 7200)\n"
"      --keep               leave found canaries in the mailbox\n"
"      --no-send            scan and evaluate only\n"
"  -t, --timeout SECONDS    bound on the whole run (default 30)\n"
"      --output FORMAT      nagios|json (default nagios)\n"
"      --history N          resolved canaries kept in state (default 50)\n"
"      --max-message-size SIZE  larger mail is skipped unread and reported\n"
"                           (bytes, or k/M suffix; default 10M)\n"
"      --show-config        print the effective settings and exit\n"
"  -v, --verbose            log to stderr; twice for protocol traces\n"
"  -h, --help               -V, --version\n\n"
"Passwords come only from files readable by their owner alone, or from\n"
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
	snprintf(hard_timeout, sizeof(hard_timeout), json ?
	    "{\"verdict\":\"UNKNOWN\",\"exit_code\":3,\"reasons\":[{\"state\":"
	    "\"UNKNOWN\",\"code\":\"timeout\",\"text\":\"timed out after %.0fs"
	    " at " : "MAILCANARY UNKNOWN - timed out after %.0fs at ",
	    deadline_budget());
	snprintf(hard_term, sizeof(hard_term), "%s", json ?
	    "{\"verdict\":\"UNKNOWN\",\"exit_code\":3,\"reasons\":[{\"state\":"
	    "\"UNKNOWN\",\"code\":\"signal\",\"text\":\"terminated by a "
	    "signal at " : "MAILCANARY UNKNOWN - terminated by a signal at ");
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
fail(int format, const char *msg)
{
	disarm_backstop();
	return output_error(stdout, format, 3, msg);
}

/* A signal came while reading: said at once, naming the step. */
static int
interrupted(int format)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "terminated by a signal while %s",
	    deadline_current_step());
	return fail(format, msg);
}

struct cli_setting {
	const char	*key;
	const char	*value;
};

int
main(int argc, char *argv[])
{
	struct cli_setting set[64];
	struct probe_report rep;
	struct config cfg;
	struct mc_error err;
	const char *cfgfile = NULL, *probe = NULL, *tval = NULL;
	size_t nset = 0, i, k;
	int ch, verbose = 0, show = 0, format = OUTPUT_NAGIOS, rc;

	/*
	 * The budget and its backstop hold from here, before anything is
	 * read: the default timeout now, -t once the options are parsed,
	 * the configuration's once it is read, all from this one start.
	 */
	config_init(&cfg);
	deadline_start((double)cfg.timeout);
	if (backstop_init() == -1) {
		snprintf(err.msg, sizeof(err.msg), "cannot create the "
		    "backstop timer: %s", strerror(errno));
		return output_error(stdout, OUTPUT_NAGIOS, 3, err.msg);
	}
	arm_backstop(0);
	signal(SIGPIPE, SIG_IGN);
	deadline_step("parsing the command line");

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":S:f:r:M:w:c:t:vhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG:
			cfgfile = optarg;
			continue;
		case OPT_PROBE:
			probe = optarg;
			continue;
		case 'v':
			verbose++;
			continue;
		case 'h':
			disarm_backstop();
			help();
			return 3;
		case 'V':
			disarm_backstop();
			printf(PROGNAME " " PACKAGE_VERSION " (libcurl %s)\n",
			    curl_version_info(CURLVERSION_NOW)->version);
			return 3;
		case OPT_SHOW_CONFIG:
			show = 1;
			continue;
		case '?':
		case ':':
			/* getopt stays quiet (opterr = 0): stdout only. */
			snprintf(err.msg, sizeof(err.msg), "%s option '%s'; "
			    "see " PROGNAME " --help", ch == ':' ?
			    "missing value for" : "unknown or malformed",
			    argv[optind - 1]);
			return fail(OUTPUT_NAGIOS, err.msg);
		}
		for (k = 0; k < sizeof(opt_keys) / sizeof(opt_keys[0]); k++)
			if (opt_keys[k].opt == ch)
				break;
		if (k == sizeof(opt_keys) / sizeof(opt_keys[0]) ||
		    nset == sizeof(set) / sizeof(set[0]))
			return fail(OUTPUT_NAGIOS, "bad command line; see "
			    PROGNAME " --help");
		set[nset].key = opt_keys[k].key;
		set[nset].value = optarg ? optarg : "on";
		if (strcmp(set[nset].key, "output") == 0 &&
		    strcmp(optarg, "json") == 0)
			format = OUTPUT_JSON;
		if (ch == 't')
			tval = optarg;
		nset++;
	}
	if (optind < argc)
		return fail(format, "unexpected argument; see " PROGNAME
		    " --help");
	/* A bad -t is reported below, with the other settings. */
	if (tval != NULL && config_set(&cfg, "timeout", tval, NULL) == 0)
		deadline_rebudget((double)cfg.timeout);
	arm_backstop(format == OUTPUT_JSON);
	log_init(PROGNAME, verbose == 0 ? LOG_LEVEL_QUIET : verbose == 1 ?
	    LOG_LEVEL_INFO : LOG_LEVEL_DEBUG);

	deadline_step("reading the configuration");
	if (cfgfile != NULL) {
		if (probe == NULL)
			return fail(format, "--config needs --probe NAME");
		if (config_load(&cfg, cfgfile, probe, &err) == -1) {
			config_clear(&cfg);
			return fail(format, err.msg);
		}
	} else if (probe != NULL && (cfg.probe = strdup(probe)) == NULL) {
		return fail(format, "out of memory");
	}
	for (i = 0; i < nset; i++)
		if (config_set(&cfg, set[i].key, set[i].value, &err) == -1) {
			config_clear(&cfg);
			return fail(format, err.msg);
		}
	format = cfg.output;
	deadline_rebudget((double)cfg.timeout);
	arm_backstop(format == OUTPUT_JSON);
	if (deadline_signal) {
		config_clear(&cfg);
		return interrupted(format);
	}
	deadline_step("reading the password files");
	if (config_finish(&cfg, &err) == -1) {
		config_clear(&cfg);
		return fail(format, err.msg);
	}
	if (deadline_signal) {
		config_clear(&cfg);
		return interrupted(format);
	}
	if (show) {
		disarm_backstop();
		config_dump(&cfg, stdout);
		config_clear(&cfg);
		return 3;
	}

	deadline_step("starting the probe");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (probe_run(&cfg, &rep, &err) == -1) {
		rc = fail(format, err.msg);
	} else {
		disarm_backstop();
		rc = output_print(stdout, &cfg, &rep.st, &rep.v, rep.now);
		probe_report_clear(&rep);
	}
	fflush(stdout);
	config_clear(&cfg);
	curl_global_cleanup();
	return rc;
}
