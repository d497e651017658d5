/*
 * mailcanaryd - the long-running form of the probe cycle. Every probe of
 * the configuration runs on its own schedule, on a worker thread, through
 * the same probe_run() the plugin uses; the main thread owns Net-SNMP and
 * the schedule and answers SNMP from snapshots, so a probe stuck on a
 * server that never answers cannot slow a request. Start-up runs under a
 * watchdog: the daemon serves within --start-timeout or exits saying
 * where it was stuck. Every duration here is on the monotonic clock.
 */
#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "deadline.h"
#include "file.h"
#include "log.h"
#include "net.h"
#include "output.h"
#include "probe.h"
#include "sort.h"

#define PROGNAME	"mailcanaryd"
#define START_TIMEOUT	60	/* seconds to start serving, by default */

struct probe_slot {
	struct config	 cfg;
	double		 next_run;	/* monotonic */
	int		 running;
	int		 done;		/* a result waits in snap_new */
	int		 retired;	/* removed by a reload, still running */
	unsigned long	 collected;	/* results taken */
	struct snapshot	 snap;		/* what SNMP shows */
	struct snapshot	 snap_new;	/* the worker's latest */
	pthread_t	 thread;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct probe_slot **slots;
static size_t nslots;
static size_t nretired;		/* slots retired and still running */
static struct snapshot *published;
static int finished;		/* a worker has a result (under lock) */
static volatile sig_atomic_t got_term, got_hup;

/* The start-up watchdog: what it waits for, until when, and where the
 * main thread is (a static string). */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t start_thread;
static int start_pipe[2] = { -1, -1 };
static int start_done;
static double start_deadline;		/* monotonic */
static long start_timeout;
static const char *start_step = "starting";

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else {
		got_term = 1;
		/* Workers abort their transfers, save state and finish. */
		deadline_signal = 1;
	}
}

static int
condition_of(const struct verdict *v)
{
	static const int map[] = {
		[REASON_DELIVERED] = COND_DELIVERED,
		[REASON_PENDING] = COND_PENDING,
		[REASON_NONE] = COND_PENDING,
		[REASON_SLOW] = COND_DELIVERED,
		[REASON_LATE] = COND_HIDDEN,
		[REASON_HIDDEN] = COND_HIDDEN,
		[REASON_BOUNCED] = COND_BOUNCED,
		[REASON_BOGUS_BOUNCE] = COND_BOGUS,
		[REASON_SUBMIT_FAILED] = COND_SUBMIT_FAILED,
		[REASON_OVERDUE] = COND_OVERDUE,
		[REASON_DELAYED] = COND_DELAYED,
		[REASON_MAILBOX_FAILED] = COND_MAILBOX_FAILED,
		[REASON_STATE_RESET] = COND_PENDING,
		[REASON_UNPARSEABLE] = COND_DELIVERED,
		[REASON_OVERSIZE] = COND_DELIVERED,
		[REASON_INTERNAL] = COND_PENDING,
	};
	int best = -1, code = REASON_NONE;
	size_t i;

	/* The condition is the reason of the worst state, first of those. */
	for (i = 0; i < v->n; i++)
		if (best == -1 || mc_state_worst(v->r[i].state, best) !=
		    best) {
			best = v->r[i].state;
			code = v->r[i].code;
		}
	return map[code] ? map[code] : COND_PENDING;
}

/* mcCanaryTable rows: the oldest canaries in flight (the missing ones),
 * and the newest resolved. */
static void
snapshot_canaries(struct snapshot *s, const struct state *st)
{
	size_t i, nin = 0, nres = 0, from = st->n;

	s->canaries = calloc(AGENT_CANARIES_INFLIGHT + AGENT_CANARIES_RESOLVED,
	    sizeof(*s->canaries));
	s->ncanaries = 0;
	if (s->canaries == NULL)
		return;
	for (i = st->n; i-- > 0 && nres < AGENT_CANARIES_RESOLVED;)
		if (st->c[i].status != CANARY_IN_FLIGHT) {
			nres++;
			from = i;
		}
	for (i = 0; i < st->n; i++) {
		const struct canary *c = &st->c[i];
		struct canary_row *r;

		if (c->status == CANARY_IN_FLIGHT ?
		    nin++ >= AGENT_CANARIES_INFLIGHT : i < from)
			continue;
		r = &s->canaries[s->ncanaries++];
		r->seq = c->seq;
		snprintf(r->token, sizeof(r->token), "%s", c->token);
		r->sent_at = c->sent_at;
		r->outcome = c->status + 1;
		r->latency_ms = c->status == CANARY_DELIVERED ||
		    c->status == CANARY_LATE ? (unsigned long)(c->latency *
		    1000) : 0;
		snprintf(r->queue_id, sizeof(r->queue_id), "%s",
		    c->queue_id ? c->queue_id : "");
		snprintf(r->bounce_status, sizeof(r->bounce_status), "%s",
		    c->bounce_status ? c->bounce_status : "");
		net_sanitize(r->queue_id);
		net_sanitize(r->bounce_status);
	}
}

static void
snapshot_fill(struct snapshot *s, const struct config *cfg,
    const struct probe_report *rep)
{
	const struct state *st = &rep->st;
	const struct verdict *v = &rep->v;
	unsigned long lat[2000];
	double newest_bounce = 0;
	size_t i, n = 0;

	snprintf(s->name, sizeof(s->name), "%s", cfg->name);
	net_hostport(cfg->smtp ? cfg->smtp : "", s->route, sizeof(s->route));
	snprintf(s->recipient, sizeof(s->recipient), "%s",
	    cfg->to ? cfg->to : "");
	s->state = v->state + 1;
	s->condition = condition_of(v);
	output_status_line(cfg, st, v, rep->now, s->text, sizeof(s->text));
	s->sent = st->count.sent;
	s->delivered = st->count.delivered;
	s->bounced = st->count.bounced;
	s->bogus = st->count.bogus_ndr;
	s->delayed = st->count.delayed_dsn;
	s->hidden = st->count.hidden;
	s->late = st->count.late;
	s->submit_failed = st->count.submit_failed;
	s->inflight = v->inflight;
	s->oldest_inflight = (unsigned long)v->oldest_inflight;
	s->last_latency_ms = s->greylist_delay = s->since_delivery = 0;
	if (v->last_delivered >= 0) {
		const struct canary *d = &st->c[v->last_delivered];

		s->last_latency_ms = (unsigned long)(d->latency * 1000);
		s->greylist_delay = d->greylist_delay > 0 ?
		    (unsigned long)d->greylist_delay : 0;
		s->since_delivery = rep->now > d->arrived_at ?
		    (unsigned long)(rep->now - d->arrived_at) : 0;
	}
	s->bounce_status[0] = s->bounce_diag[0] = '\0';
	for (i = 0; i < st->n; i++) {
		const struct canary *c = &st->c[i];

		if ((c->status == CANARY_DELIVERED ||
		    c->status == CANARY_LATE) && c->arrived_at >=
		    rep->now - 3600 && n < 2000)
			lat[n++] = (unsigned long)(c->latency * 1000);
		if (c->bounce_status && c->bounced_at > newest_bounce) {
			newest_bounce = c->bounced_at;
			snprintf(s->bounce_status, sizeof(s->bounce_status),
			    "%s", c->bounce_status);
			snprintf(s->bounce_diag, sizeof(s->bounce_diag), "%s",
			    c->bounce_diag ? c->bounce_diag : "");
		}
	}
	qsort(lat, n, sizeof(lat[0]), sort_ulong_cmp);
	s->median_ms = n ? lat[(n - 1) / 2] : 0;
	s->p95_ms = n ? lat[(size_t)ceil(0.95 * (double)n) - 1] : 0;
	s->canary_seq = 0;
	if (v->outcome >= 0) {
		const struct canary *c = &st->c[v->outcome];

		s->canary_seq = c->seq;
		s->canary_age = (unsigned long)(rep->now - c->sent_at);
		snprintf(s->canary_queue_id, sizeof(s->canary_queue_id), "%s",
		    c->queue_id ? c->queue_id : "");
		snprintf(s->canary_bounce_status,
		    sizeof(s->canary_bounce_status), "%s",
		    c->bounce_status ? c->bounce_status : "");
	}
	net_sanitize(s->text);
	net_sanitize(s->bounce_diag);
	snapshot_canaries(s, st);
}

static void *
worker(void *arg)
{
	struct probe_slot *p = arg;
	struct probe_report rep;
	struct mc_error err;
	struct snapshot s;

	deadline_start((double)p->cfg.timeout);
	memset(&s, 0, sizeof(s));
	if (probe_run(&p->cfg, &rep, &err) == 0) {
		snapshot_fill(&s, &p->cfg, &rep);
		probe_report_clear(&rep);
		/* Only this thread reads cfg while the cycle runs. */
		p->cfg.reset_counters = 0;
	} else {
		snprintf(s.name, sizeof(s.name), "%s", p->cfg.name);
		s.state = 4;
		s.condition = COND_PENDING;
		snprintf(s.text, sizeof(s.text), "MAILCANARY UNKNOWN - %s",
		    err.msg);
		net_sanitize(s.text);
	}
	pthread_mutex_lock(&lock);
	p->snap_new = s;
	p->done = 1;
	p->running = 0;
	finished = 1;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static struct probe_slot **
load_probes(const char *path, size_t *np, struct mc_error *err)
{
	struct probe_slot **v;
	char **names = NULL;
	size_t n = 0, i, k;

	if (config_probe_names(path, &names, &n, err) == -1)
		return NULL;
	if (n == 0) {
		error_set(err, "%s: no [probe NAME] section", path);
		free(names);
		return NULL;
	}
	v = calloc(n, sizeof(*v));
	for (i = 0; v && i < n; i++) {
		if ((v[i] = calloc(1, sizeof(*v[i]))) == NULL) {
			error_set(err, "out of memory");
			break;
		}
		config_init(&v[i]->cfg);
		if (config_load(&v[i]->cfg, path, names[i], err) == -1 ||
		    config_finish(&v[i]->cfg, err) == -1) {
			error_prefix(err, "[probe %s]", names[i]);
			break;
		}
		/* Until its first cycle: the row exists, state unknown. */
		v[i]->snap.index = v[i]->cfg.snmp_index > 0 ?
		    (unsigned long)v[i]->cfg.snmp_index : i + 1;
		snprintf(v[i]->snap.name, sizeof(v[i]->snap.name), "%s",
		    v[i]->cfg.name);
		v[i]->snap.state = 4;
		v[i]->snap.condition = COND_PENDING;
		for (k = 0; k < i; k++)
			if (v[k]->snap.index == v[i]->snap.index) {
				error_set(err, "%s: [probe %s] and [probe %s] "
				    "both take row %lu of mcProbeTable: give "
				    "each its own snmp_index", path, names[k],
				    names[i], v[i]->snap.index);
				break;
			}
		if (k < i)
			break;
	}
	if (v == NULL)
		error_set(err, "out of memory");
	if (v == NULL || i < n) {
		for (k = 0; v && k < n && v[k]; k++) {
			config_clear(&v[k]->cfg);
			free(v[k]);
		}
		free(v);
		v = NULL;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	*np = n;
	return v;
}

static int
snap_cmp(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* Rebuilds the published rows from the slots (main thread, locked). */
static void
republish(void)
{
	struct snapshot *v;
	size_t i, n = 0;

	if ((v = calloc(nslots + 1, sizeof(*v))) == NULL) {
		/* The old rows may point at freed canaries: serve none. */
		log_warnx("out of memory: mcProbeTable is empty until the "
		    "next cycle");
		free(published);
		published = NULL;
		agent_publish(NULL, 0);
		return;
	}
	for (i = 0; i < nslots; i++)
		if (!slots[i]->retired)
			v[n++] = slots[i]->snap;
	qsort(v, n, sizeof(*v), snap_cmp);
	if (agent_publish(v, n) == -1)
		log_warnx("out of memory: mcCanaryTable is empty until the "
		    "next cycle");
	free(published);
	published = v;
}

static const char *
state_name(int state)
{
	static const char *const names[] = {
		"OK", "WARNING", "CRITICAL", "UNKNOWN"
	};

	return state >= 1 && state <= 4 ? names[state - 1] : "none";
}

static const char *
condition_name(int cond)
{
	static const char *const names[] = {
		"delivered", "pending", "overdue", "hidden", "bounced",
		"bogusBounce", "delayed", "submitFailed", "mailboxFailed"
	};

	return cond >= COND_DELIVERED && cond <= COND_MAILBOX_FAILED ?
	    names[cond - COND_DELIVERED] : "none";
}

/* Takes a worker's result: counters, LastChange, notifications. */
static void
collect(struct probe_slot *p)
{
	struct snapshot s = p->snap_new, old = p->snap;
	unsigned long now = agent_uptime();

	s.index = old.index;
	s.discontinuity = old.discontinuity;
	s.last_change = old.last_change;
	if (!p->collected++)
		log_info("probe %s: first cycle: %s", s.name, s.text);
	else if (s.state == 4 && strcmp(s.text, old.text) != 0)
		log_warnx("probe %s: %s", s.name, s.text);
	if (s.state != old.state || s.condition != old.condition) {
		s.last_change = now;
		log_info("probe %s: %s (%s) -> %s (%s): %s", s.name,
		    state_name(old.state), condition_name(old.condition),
		    state_name(s.state), condition_name(s.condition), s.text);
		if (p->cfg.notifications) {
			if (s.condition == COND_HIDDEN &&
			    old.condition != COND_HIDDEN)
				agent_notify(NOTIFY_HIDDEN, &s);
			else if ((s.condition == COND_BOUNCED ||
			    s.condition == COND_BOGUS) && s.condition !=
			    old.condition)
				agent_notify(NOTIFY_BOUNCED, &s);
			else if (s.state == 1 && s.condition ==
			    COND_DELIVERED && (old.state == 2 ||
			    old.state == 3))
				agent_notify(NOTIFY_RECOVERED, &s);
		}
	}
	agent_snapshot_free(&p->snap);
	p->snap = s;
	p->snap_new.canaries = NULL;
	p->snap_new.ncanaries = 0;
	p->done = 0;
}

static void
free_slot(struct probe_slot *p)
{
	config_clear(&p->cfg);
	agent_snapshot_free(&p->snap);
	if (p->done)
		agent_snapshot_free(&p->snap_new);
	free(p);
}

/* The effective settings as text, to tell a changed probe. */
static char *
config_text(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	config_dump(cfg, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int
config_differs(const struct config *a, const struct config *b)
{
	char *x = config_text(a), *y = config_text(b);
	int differs = x == NULL || y == NULL || strcmp(x, y) != 0;

	free(x);
	free(y);
	return differs;
}

/*
 * Rereads the configuration. A probe of the same name keeps its row, its
 * schedule and its counters; if its settings changed, its counters
 * restart (in its state file, at its next cycle) and its discontinuity
 * time is now. One still running is retired and its result dropped.
 */
static int
reload(const char *path)
{
	struct probe_slot **nv, **all;
	struct mc_error err;
	size_t nn, i, k, nall = 0, changed = 0;
	unsigned long now = agent_uptime();

	if ((nv = load_probes(path, &nn, &err)) == NULL) {
		log_warnx("reload refused, keeping the running probes: %s",
		    err.msg);
		return -1;
	}
	if ((all = calloc(nn + nslots, sizeof(*all))) == NULL) {
		log_warnx("reload refused: out of memory");
		for (i = 0; i < nn; i++)
			free_slot(nv[i]);
		free(nv);
		return -1;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nn; i++) {
		struct probe_slot *n = nv[i], *o = NULL;

		for (k = 0; k < nslots; k++)
			if (!slots[k]->retired && strcmp(slots[k]->cfg.name,
			    n->cfg.name) == 0) {
				o = slots[k];
				break;
			}
		if (o == NULL) {
			n->snap.discontinuity = now;
		} else {
			if (o->done && !o->running)
				collect(o);
			agent_snapshot_free(&n->snap);
			n->snap = o->snap;
			o->snap.canaries = NULL;
			o->snap.ncanaries = 0;
			n->snap.index = n->cfg.snmp_index > 0 ?
			    (unsigned long)n->cfg.snmp_index : i + 1;
			n->next_run = o->next_run;
			if (config_differs(&o->cfg, &n->cfg)) {
				/* Its new settings are tried at once. */
				n->next_run = 0;
				n->cfg.reset_counters = 1;
				n->snap.discontinuity = now;
				n->snap.sent = n->snap.delivered = 0;
				n->snap.bounced = n->snap.bogus = 0;
				n->snap.delayed = n->snap.hidden = 0;
				n->snap.late = n->snap.submit_failed = 0;
				changed++;
			}
		}
		all[nall++] = n;
	}
	for (k = 0; k < nslots; k++) {
		if (slots[k]->running) {
			slots[k]->retired = 1;	/* freed when it finishes */
			nretired++;
			all[nall++] = slots[k];
		} else {
			free_slot(slots[k]);
		}
	}
	free(slots);
	free(nv);
	slots = all;
	nslots = nall;
	republish();
	pthread_mutex_unlock(&lock);
	log_info("configuration reloaded: %zu probes, %zu changed", nn,
	    changed);
	return 0;
}

/* A reload retired a running cycle of this probe: wait for it, rather
 * than queue behind its lock. */
static int
retired_running(const char *name)
{
	size_t k;

	for (k = 0; nretired > 0 && k < nslots; k++)
		if (slots[k]->retired && strcmp(slots[k]->cfg.name, name) == 0)
			return 1;
	return 0;
}

static void
start_at(const char *step)
{
	pthread_mutex_lock(&start_lock);
	start_step = step;
	pthread_mutex_unlock(&start_lock);
}

/*
 * Waits until the start-up deadline; if the main thread has not begun to
 * serve by then (a file system that does not answer, a name service that
 * hangs on the --user lookup, a master agent that accepts but never
 * replies), says where it was and ends the process. start_finished()
 * wakes it through the pipe: it returns and is joined.
 */
static void *
start_watchdog(void *arg)
{
	struct pollfd pfd;
	double left;
	int done;

	pfd.fd = (int)(intptr_t)arg;
	pfd.events = POLLIN;
	while ((left = start_deadline - clock_mono()) > 0)
		if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0)
			break;
	pthread_mutex_lock(&start_lock);
	if ((done = start_done) == 0)
		log_warnx("start-up did not finish within %ld seconds, stuck "
		    "%s: giving up", start_timeout, start_step);
	pthread_mutex_unlock(&start_lock);
	if (!done)
		_exit(1);
	return NULL;
}

/* Started at once, and again in the child after daemon(): threads do not
 * survive fork(). The deadline stays: the monotonic clock is the
 * system's. */
static int
start_watchdog_run(void)
{
	if (start_pipe[0] != -1) {
		close(start_pipe[0]);
		close(start_pipe[1]);
	}
	if (pipe2(start_pipe, O_CLOEXEC) == -1)
		return -1;
	return pthread_create(&start_thread, NULL, start_watchdog,
	    (void *)(intptr_t)start_pipe[0]) == 0 ? 0 : -1;
}

static void
start_finished(void)
{
	ssize_t n;

	pthread_mutex_lock(&start_lock);
	start_done = 1;
	pthread_mutex_unlock(&start_lock);
	n = write(start_pipe[1], "", 1);
	(void)n;
	pthread_join(start_thread, NULL);
	close(start_pipe[0]);
	close(start_pipe[1]);
	start_pipe[0] = start_pipe[1] = -1;
}

/* The account to run as, looked up before anything else happens. */
static int
user_lookup(const char *user, uid_t *uid, gid_t *gid, struct mc_error *err)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return error_set(err, "--user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
	if (geteuid() != 0)
		return error_set(err, "--user %s: only root can change user",
		    user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int
drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		log_warn("cannot drop privileges to uid %lu",
		    (unsigned long)uid);
		return -1;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: " PROGNAME " [-f] [-n] [-c|--config FILE] "
	    "[--user USER] [--start-timeout SECONDS]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *path = CONFIG_DEFAULT_FILE, *user = NULL;
	struct config global;
	struct mc_error err;
	struct sigaction sa;
	uid_t uid = 0;
	gid_t gid = 0;
	double start, spread, next_due;
	int fg = 0, check = 0, i, running;
	char *end;
	size_t k;

	start_timeout = START_TIMEOUT;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			fg = 1;
		else if (strcmp(argv[i], "-n") == 0)
			check = 1;
		else if ((strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--start-timeout") == 0 &&
		    i + 1 < argc) {
			errno = 0;
			start_timeout = strtol(argv[++i], &end, 10);
			if (errno || *end != '\0' || argv[i][0] == '\0' ||
			    start_timeout < 1 || start_timeout > 3600)
				usage();
		} else
			usage();
	}
	log_init(PROGNAME, fg ? LOG_LEVEL_INFO : LOG_LEVEL_QUIET);
	/* From here, serving within start_timeout or exiting: nothing in
	 * the start-up may hang the daemon before it serves. */
	start_deadline = clock_mono() + (double)start_timeout;
	if (start_watchdog_run() == -1) {
		fprintf(stderr, PROGNAME ": cannot start the start-up "
		    "watchdog\n");
		return 1;
	}
	/* Hundreds of worker threads, mostly waiting on sockets: glibc's
	 * arena per thread would cost memory and buy nothing. */
	mallopt(M_ARENA_MAX, 2);
	start_at("looking up the --user account");
	if (user != NULL && user_lookup(user, &uid, &gid, &err) == -1) {
		fprintf(stderr, PROGNAME ": %s\n", err.msg);
		return 1;
	}
	/* Read as root, the files are for USER: theirs are trusted too. */
	if (user != NULL)
		file_trust_uid(uid);
	start_at("reading the configuration");
	if ((slots = load_probes(path, &nslots, &err)) == NULL) {
		fprintf(stderr, PROGNAME ": %s\n", err.msg);
		return 1;
	}
	config_init(&global);
	if (config_load(&global, path, NULL, &err) == -1) {
		fprintf(stderr, PROGNAME ": %s\n", err.msg);
		return 1;
	}
	if (check) {
		for (k = 0; k < nslots; k++)
			config_dump(&slots[k]->cfg, stdout);
		printf("# agentx_socket = %s\n", global.agentx_socket);
		return 0;
	}
	start_at("detaching");
	if (!fg && daemon(0, 0) == -1) {
		perror(PROGNAME ": daemon");
		return 1;
	}
	if (!fg) {
		log_init(PROGNAME, LOG_LEVEL_INFO);
		log_syslog(LOG_DAEMON);
		if (start_watchdog_run() == -1) {
			log_warnx("cannot start the start-up watchdog");
			return 1;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	start_at("connecting to snmpd (AgentX)");
	if (agent_init(global.agentx_socket, 5, !fg) == -1) {
		log_warnx("cannot start the SNMP agent");
		return 1;
	}
	if (user != NULL) {
		struct probe_slot **trial;
		size_t ntrial;

		if (drop_privileges(uid, gid) == -1)
			return 1;
		/*
		 * A reload reads the files as USER: try that now, so a
		 * password file only root can read is told at start, not at
		 * the first SIGHUP.
		 */
		start_at("reading the configuration as the --user account");
		if ((trial = load_probes(path, &ntrial, &err)) == NULL) {
			log_warnx("as %s, a reload (SIGHUP) would be refused: "
			    "%s", user, err.msg);
		} else {
			for (k = 0; k < ntrial; k++)
				free_slot(trial[k]);
			free(trial);
		}
	}
	/* First cycles spread out, not all at once: over 10 seconds, or at
	 * 20 a second for many probes, but never beyond a probe's interval. */
	start = clock_mono();
	spread = nslots > 200 ? (double)nslots / 20 : 10;
	for (k = 0; k < nslots; k++) {
		double ival = (double)(slots[k]->cfg.interval > 0 ?
		    slots[k]->cfg.interval : 60);

		slots[k]->next_run = start + (double)k *
		    (ival < spread ? ival : spread) / (double)nslots;
	}
	pthread_mutex_lock(&lock);
	republish();
	pthread_mutex_unlock(&lock);
	start_finished();
	log_info("running %zu probes, AgentX on %s", nslots,
	    global.agentx_socket);

	next_due = 0;
	for (;;) {
		double now;
		int changed = 0;

		agent_poll(200);
		if (got_hup) {
			got_hup = 0;
			reload(path);
			next_due = 0;
		}
		now = clock_mono();
		pthread_mutex_lock(&lock);
		/* The slots are looked at only when there is something to do:
		 * a result, a cycle due, a reload, a stop. Not per request. */
		if (!finished && !got_term && now < next_due) {
			pthread_mutex_unlock(&lock);
			continue;
		}
		finished = 0;
		next_due = now + 1;
		running = 0;
		for (k = 0; k < nslots; k++) {
			struct probe_slot *p = slots[k];

			if (p->done && !p->retired) {
				collect(p);
				changed = 1;
			}
			if (p->running) {
				running++;
				continue;
			}
			if (p->retired) {
				pthread_join(p->thread, NULL);
				free_slot(p);
				nretired--;
				slots[k] = slots[--nslots];
				k--;
				changed = 1;
				continue;
			}
			if (p->thread)
				pthread_join(p->thread, NULL), p->thread = 0;
			if (p->next_run < next_due)
				next_due = p->next_run;
			if (!got_term && now >= p->next_run &&
			    !retired_running(p->cfg.name)) {
				p->running = 1;
				p->next_run = now + (double)(p->cfg.interval > 0 ?
				    p->cfg.interval : 60);
				if (pthread_create(&p->thread, NULL, worker,
				    p) != 0) {
					p->running = 0;
					p->thread = 0;
				} else {
					running++;
				}
			}
		}
		if (changed)
			republish();
		pthread_mutex_unlock(&lock);
		if (got_term && running == 0)
			break;
	}
	/* Workers saved their state; nothing is left running. */
	for (k = 0; k < nslots; k++) {
		if (slots[k]->thread)
			pthread_join(slots[k]->thread, NULL);
		free_slot(slots[k]);
	}
	free(slots);
	free(published);
	config_clear(&global);
	agent_shutdown();
	curl_global_cleanup();
	log_info("stopped");
	return 0;
}
