/*
 * main.c - mailcanaryd's start: the options, then, under the start-up
 * watchdog, the --user lookup, the configuration, detaching, the AgentX
 * connection and the drop of privileges; then the scheduler runs until
 * SIGTERM. Exit status: 0 after a clean stop or -n, 1 when something
 * cannot be set up, 2 for a usage error. Under systemd (Type=notify, -f)
 * the reason for a failed start is also the unit's STATUS= line.
 */
#include <curl/curl.h>

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "file.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "priv.h"
#include "scheduler.h"
#include "start.h"

#define PROGNAME	"mailcanaryd"
#define START_TIMEOUT	60	/* seconds to start serving, default */

struct options {
	const char	*path;
	const char	*user;
	long		 start_timeout;
	int		 fg;
	int		 check;
};

static void
usage(void)
{
	fprintf(stderr, "usage: " PROGNAME " [-f] [-n] [-c|--config FILE] "
	    "[--user USER] [--start-timeout SECONDS]\n");
	exit(2);
}

static void
parse_options(int argc, char *argv[], struct options *o)
{
	enum { OPT_USER = 256, OPT_START_TIMEOUT };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, OPT_USER },
		{ "start-timeout", required_argument, NULL, OPT_START_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	int ch;

	o->path = CONFIG_DEFAULT_FILE;
	o->user = NULL;
	o->start_timeout = START_TIMEOUT;
	o->fg = o->check = 0;
	opterr = 0;	/* the usage line says it all */
	while ((ch = getopt_long(argc, argv, "+fnc:", longopts, NULL)) != -1)
		switch (ch) {
		case 'f':
			o->fg = 1;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'c':
			o->path = optarg;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_START_TIMEOUT:
			errno = 0;
			o->start_timeout = strtol(optarg, &end, 10);
			if (errno || *end != '\0' || optarg[0] == '\0' ||
			    o->start_timeout < 1 || o->start_timeout > 3600)
				usage();
			break;
		default:
			usage();
		}
	if (optind != argc)
		usage();
}

/* Into the background, logging to syslog; the watchdog goes along. */
static int
detach(void)
{
	if (daemon(0, 0) == -1) {
		perror(PROGNAME ": daemon");
		return -1;
	}
	log_init(PROGNAME, LOG_LEVEL_INFO);
	log_syslog(LOG_DAEMON);
	if (start_rewatch() == -1) {
		log_warnx("cannot start the start-up watchdog");
		return -1;
	}
	return 0;
}

/*
 * Drops to the --user account. A reload reads the files as USER: try
 * that now, so a password file only root can read is told at start, not
 * at the first SIGHUP.
 */
static int
become_user(const struct options *o, uid_t uid, gid_t gid)
{
	struct mc_error err;

	if (priv_drop(uid, gid) == -1)
		return -1;
	start_at("reading the configuration as the --user account");
	if (sched_try_load(o->path, &err) == -1)
		log_warnx("as %s, a reload (SIGHUP) would be refused: %s",
		    o->user, err.msg);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct options o;
	struct config global;
	struct mc_error err;
	char summary[256];
	uid_t uid = 0;
	gid_t gid = 0;

	parse_options(argc, argv, &o);
	log_init(PROGNAME, o.fg ? LOG_LEVEL_INFO : LOG_LEVEL_QUIET);
	/* From here, serving within start_timeout or exiting: nothing in
	 * the start-up may hang the daemon before it serves. */
	if (start_watch(o.start_timeout) == -1) {
		fprintf(stderr, PROGNAME ": cannot start the start-up "
		    "watchdog\n");
		return 1;
	}
	/* Worker threads mostly wait on sockets: glibc's arena per thread
	 * would cost memory and buy nothing. */
	mallopt(M_ARENA_MAX, 2);
	start_at("looking up the --user account");
	if (o.user != NULL && priv_lookup(o.user, &uid, &gid, &err) == -1) {
		fprintf(stderr, PROGNAME ": %s\n", err.msg);
		notify_status("failed: %s", err.msg);
		return 1;
	}
	/* Read as root, the files are for USER: theirs are trusted too. */
	if (o.user != NULL)
		file_trust_uid(uid);
	start_at("reading the configuration");
	config_init(&global);
	if (sched_load(o.path, &err) == -1 ||
	    config_load(&global, o.path, NULL, &err) == -1) {
		fprintf(stderr, PROGNAME ": %s\n", err.msg);
		notify_status("failed: %s", err.msg);
		return 1;
	}
	if (o.check) {
		sched_dump(stdout);
		printf("# agentx_socket = %s\n", global.agentx_socket);
		printf("# metrics_listen = %s\n", global.metrics_listen ?
		    global.metrics_listen : "(off)");
		return 0;
	}
	start_at("detaching");
	if (!o.fg && detach() == -1)
		return 1;
	sched_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	start_at("connecting to snmpd (AgentX)");
	if (agent_init(global.agentx_socket, 5, !o.fg) == -1) {
		log_warnx("cannot start the SNMP agent");
		notify_status("failed: cannot start the SNMP agent on %s",
		    global.agentx_socket);
		return 1;
	}
	/* Before the drop of privileges: the port may be one below 1024. */
	start_at("listening for /metrics");
	if (global.metrics_listen != NULL &&
	    http_start(global.metrics_listen, &err) == -1) {
		log_warnx("%s", err.msg);
		notify_status("failed: %s", err.msg);
		return 1;
	}
	if (o.user != NULL && become_user(&o, uid, gid) == -1) {
		notify_status("failed: cannot drop to user %s", o.user);
		return 1;
	}
	if (sched_start(global.workers) == -1) {
		log_warnx("cannot start the worker pool: out of memory");
		notify_status("failed: out of memory");
		return 1;
	}
	start_finished();
	log_info("running %zu probes, AgentX on %s", sched_count(),
	    global.agentx_socket);
	/* READY=1 once every probe's first cycle has ended: by then the
	 * table shows results, not rows of unknown state. A probe stuck on
	 * a dead server delays it --start-timeout seconds at most. */
	snprintf(summary, sizeof(summary), "running %zu probes, AgentX on %s",
	    sched_count(), global.agentx_socket);
	notify_serving(sched_count(), o.start_timeout, summary);
	sched_run(o.path);
	http_stop();
	config_clear(&global);
	agent_shutdown();
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
