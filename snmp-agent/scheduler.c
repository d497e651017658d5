/*
 * scheduler.c - the scheduler of mailcanaryd. Every probe of the
 * configuration has a slot: its settings, when it runs next, the snapshot
 * SNMP shows and the one its last cycle left. The main thread owns the
 * slots, Net-SNMP and the schedule: it queues each probe as it falls due
 * on a bounded worker pool, where the cycle runs through the same
 * probe_run() the plugin uses, and takes the results back. A probe stuck
 * on a server that never answers holds one worker until its own timeout,
 * never an SNMP request, and never more than `workers` threads in all.
 * SIGHUP rereads the configuration. Every duration is on the monotonic
 * clock.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "config.h"
#include "deadline.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "pool.h"
#include "probe.h"
#include "scheduler.h"
#include "snap.h"

struct sched_slot {
	struct config	 cfg;
	/* A reload changed the settings: the next cycle zeroes the
	 * counters in the state file. Only the running worker clears it. */
	int		 reset_counters;
	double		 next_run;	/* monotonic */
	int		 queued;	/* handed to the pool, not begun */
	int		 running;
	int		 done;		/* a result is in snap_new */
	int		 retired;	/* removed by a reload, not ended */
	unsigned long	 collected;	/* results taken */
	struct snapshot	 snap;		/* what SNMP shows */
	struct snapshot	 snap_new;	/* the cycle's latest */
};

/* Guards the slots' flags and results between the main thread and the
 * workers; the main thread alone adds and frees slots. */
static pthread_mutex_t sched_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sched_slot **slots;
static size_t nslots;
static size_t nretired;		/* slots retired and not ended */
static struct snapshot *published;
static struct pool *pool;
static int finished;		/* a worker has a result (under lock) */
static volatile sig_atomic_t got_term, got_hup;

static void
sched_on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else {
		got_term = 1;
		/* Workers abort their transfers, save state and finish. */
		deadline_signal = 1;
	}
}

void
sched_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sched_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* One probe cycle, on a worker thread of the pool. */
static void
sched_cycle(void *arg)
{
	struct sched_slot *p = arg;
	struct probe_report rep;
	struct mc_error err;
	struct snapshot s;

	pthread_mutex_lock(&sched_lock);
	p->queued = 0;
	if (got_term) {
		/* Stopping: a cycle that has not begun does not begin. */
		finished = 1;
		pthread_mutex_unlock(&sched_lock);
		return;
	}
	p->running = 1;
	pthread_mutex_unlock(&sched_lock);

	deadline_start((double)p->cfg.timeout);
	memset(&s, 0, sizeof(s));
	if (probe_run(&p->cfg, p->reset_counters ? PROBE_RESET_COUNTERS : 0,
	    &rep, &err) == 0) {
		snap_from_report(&s, &p->cfg, &rep);
		probe_report_clear(&rep);
		/* Only this thread reads the slot's settings while the
		 * cycle runs. */
		p->reset_counters = 0;
	} else {
		snap_from_error(&s, p->cfg.name, err.msg);
	}
	pthread_mutex_lock(&sched_lock);
	p->snap_new = s;
	p->done = 1;
	p->running = 0;
	finished = 1;
	pthread_mutex_unlock(&sched_lock);
}

/* A cycle dropped from the queue at stop (pool_clear, locked). */
static void
sched_drop(void *arg)
{
	struct sched_slot *p = arg;

	p->queued = 0;
}

static void
sched_free_slot(struct sched_slot *p)
{
	config_clear(&p->cfg);
	agent_snapshot_free(&p->snap);
	if (p->done)
		agent_snapshot_free(&p->snap_new);
	free(p);
}

static struct sched_slot **
sched_load_slots(const char *path, size_t *np, struct mc_error *err)
{
	struct sched_slot **v;
	char **names = NULL;
	size_t n = 0, i, k;

	if (config_probe_names(path, &names, &n, err) == -1)
		return NULL;
	if (n == 0) {
		error_set(err, MC_ERR_CONFIG,
		    "%s: no [probe NAME] section", path);
		free(names);
		return NULL;
	}
	v = calloc(n, sizeof(*v));
	for (i = 0; v && i < n; i++) {
		if ((v[i] = calloc(1, sizeof(*v[i]))) == NULL) {
			error_set(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		config_init(&v[i]->cfg);
		if (config_load(&v[i]->cfg, path, names[i], err) == -1 ||
		    config_finish(&v[i]->cfg, err) == -1) {
			error_prefix(err, "[probe %s]", names[i]);
			break;
		}
		/* Until its first cycle: the row exists, state unknown. */
		snap_unknown(&v[i]->snap, v[i]->cfg.snmp_index > 0 ?
		    (unsigned long)v[i]->cfg.snmp_index : i + 1,
		    v[i]->cfg.name);
		for (k = 0; k < i; k++)
			if (v[k]->snap.index == v[i]->snap.index) {
				error_set(err, MC_ERR_CONFIG,
				    "%s: [probe %s] and [probe %s] "
				    "both take row %lu of mcProbeTable: give "
				    "each its own snmp_index", path, names[k],
				    names[i], v[i]->snap.index);
				break;
			}
		if (k < i)
			break;
	}
	if (v == NULL)
		error_set(err, MC_ERR_NOMEM, "out of memory");
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

int
sched_load(const char *path, struct mc_error *err)
{
	return (slots = sched_load_slots(path, &nslots, err)) == NULL ?
	    -1 : 0;
}

int
sched_try_load(const char *path, struct mc_error *err)
{
	struct sched_slot **trial;
	size_t ntrial, k;

	if ((trial = sched_load_slots(path, &ntrial, err)) == NULL)
		return -1;
	for (k = 0; k < ntrial; k++)
		sched_free_slot(trial[k]);
	free(trial);
	return 0;
}

void
sched_dump(FILE *fp)
{
	size_t k;

	for (k = 0; k < nslots; k++)
		config_dump(&slots[k]->cfg, fp);
}

size_t
sched_count(void)
{
	return nslots;
}

static int
sched_snap_cmp(const void *a, const void *b)
{
	const struct snapshot *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* Rebuilds the published rows from the slots (main thread, locked). */
static void
sched_republish(void)
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
		http_publish(NULL, 0);
		return;
	}
	for (i = 0; i < nslots; i++)
		if (!slots[i]->retired)
			v[n++] = slots[i]->snap;
	qsort(v, n, sizeof(*v), sched_snap_cmp);
	if (agent_publish(v, n) == -1)
		log_warnx("out of memory: mcCanaryTable is empty until the "
		    "next cycle");
	http_publish(v, n);
	free(published);
	published = v;
}

/* Takes a worker's result into the served snapshot (locked). */
static void
sched_collect(struct sched_slot *p)
{
	if (p->collected == 0)
		notify_first_cycle();
	snap_take(&p->snap, &p->snap_new, p->collected++ == 0,
	    p->cfg.notifications);
	p->done = 0;
}

/*
 * Rereads the configuration. A probe of the same name keeps its row, its
 * schedule, its place in the queue and its counters; if its settings
 * changed, its counters restart (in its state file, at its next cycle)
 * and its discontinuity time is now. One still running is retired and
 * its result dropped.
 */
static int
sched_reload(const char *path)
{
	struct sched_slot **nv, **all, *n, *o;
	struct mc_error err;
	size_t nn, i, k, nall = 0, changed = 0;
	unsigned long now = agent_uptime();

	if ((nv = sched_load_slots(path, &nn, &err)) == NULL) {
		log_warnx("reload refused, keeping the running probes: %s",
		    err.msg);
		return -1;
	}
	if ((all = calloc(nn + nslots, sizeof(*all))) == NULL) {
		log_warnx("reload refused: out of memory");
		for (i = 0; i < nn; i++)
			sched_free_slot(nv[i]);
		free(nv);
		return -1;
	}
	pthread_mutex_lock(&sched_lock);
	for (i = 0; i < nn; i++) {
		n = nv[i];
		o = NULL;
		for (k = 0; k < nslots; k++)
			if (!slots[k]->retired && strcmp(slots[k]->cfg.name,
			    n->cfg.name) == 0) {
				o = slots[k];
				break;
			}
		if (o == NULL) {
			n->snap.discontinuity = now;
			all[nall++] = n;
			continue;
		}
		if (o->done && !o->running)
			sched_collect(o);
		agent_snapshot_free(&n->snap);
		n->snap = o->snap;
		o->snap.canaries = NULL;
		o->snap.ncanaries = 0;
		o->snap.seen = NULL;
		o->snap.nseen = 0;
		n->snap.index = n->cfg.snmp_index > 0 ?
		    (unsigned long)n->cfg.snmp_index : i + 1;
		n->next_run = o->next_run;
		/* A reset not yet done survives another reload. */
		n->reset_counters = o->reset_counters;
		if (!config_same(&o->cfg, &n->cfg)) {
			/* Its new settings are tried at once. */
			n->next_run = 0;
			n->reset_counters = 1;
			n->snap.discontinuity = now;
			snap_reset_counters(&n->snap);
			changed++;
		}
		/* A cycle waiting for a worker waits on, with the new
		 * settings, in the same place. */
		if (o->queued && pool_replace(pool, o, n)) {
			o->queued = 0;
			n->queued = 1;
		}
		all[nall++] = n;
	}
	for (k = 0; k < nslots; k++) {
		o = slots[k];
		if (o->queued && pool_replace(pool, o, NULL))
			o->queued = 0;
		if (o->running || o->queued) {
			/* Begun, or taken by a worker: freed when it ends. */
			if (!o->retired)
				nretired++;
			o->retired = 1;
			all[nall++] = o;
		} else {
			sched_free_slot(o);
		}
	}
	free(slots);
	free(nv);
	slots = all;
	nslots = nall;
	sched_republish();
	pthread_mutex_unlock(&sched_lock);
	log_info("configuration reloaded: %zu probes, %zu changed", nn,
	    changed);
	return 0;
}

/* A reload retired a cycle of this probe that has not ended: wait for
 * it, rather than queue behind its lock. */
static int
sched_retired_running(const char *name)
{
	size_t k;

	for (k = 0; nretired > 0 && k < nslots; k++)
		if (slots[k]->retired && strcmp(slots[k]->cfg.name, name) == 0)
			return 1;
	return 0;
}

int
sched_start(long workers)
{
	double start, spread, ival;
	size_t k;

	if ((pool = pool_new((size_t)workers, sched_cycle)) == NULL)
		return -1;
	/* First cycles spread out, not all at once: over 10 seconds, or at
	 * 20 a second for many probes, but never beyond a probe's interval. */
	start = clock_mono();
	spread = nslots > 200 ? (double)nslots / 20 : 10;
	for (k = 0; k < nslots; k++) {
		ival = (double)(slots[k]->cfg.interval > 0 ?
		    slots[k]->cfg.interval : 60);
		slots[k]->next_run = start + (double)k *
		    (ival < spread ? ival : spread) / (double)nslots;
	}
	pthread_mutex_lock(&sched_lock);
	sched_republish();
	pthread_mutex_unlock(&sched_lock);
	return 0;
}

/*
 * One look at the slots (locked): takes results, frees retired slots
 * that ended, queues the probes that are due. Returns the number of
 * cycles queued or running; *next_due is lowered to the earliest run.
 */
static size_t
sched_pass(double now, double *next_due)
{
	struct sched_slot *p;
	size_t k, busy = 0;
	int changed = 0;

	if (got_term)
		pool_clear(pool, sched_drop);
	pool_reap(pool);
	for (k = 0; k < nslots; k++) {
		p = slots[k];
		if (p->done && !p->retired) {
			sched_collect(p);
			changed = 1;
		}
		if (p->queued || p->running) {
			busy++;
			continue;
		}
		if (p->retired) {
			sched_free_slot(p);
			nretired--;
			slots[k] = slots[--nslots];
			k--;
			changed = 1;
			continue;
		}
		if (p->next_run < *next_due)
			*next_due = p->next_run;
		if (!got_term && now >= p->next_run &&
		    !sched_retired_running(p->cfg.name) &&
		    pool_submit(pool, p) == 0) {
			p->queued = 1;
			p->next_run = now + (double)(p->cfg.interval > 0 ?
			    p->cfg.interval : 60);
			busy++;
		}
	}
	if (changed)
		sched_republish();
	return busy;
}

void
sched_run(const char *path)
{
	double now, next_due = 0;
	size_t k, busy;

	for (;;) {
		agent_poll(200);
		notify_tick();
		if (got_hup) {
			got_hup = 0;
			notify_reloading();
			notify_reloaded(sched_reload(path));
			next_due = 0;
		}
		now = clock_mono();
		pthread_mutex_lock(&sched_lock);
		/* The slots are looked at only when there is something to do:
		 * a result, a cycle due, a reload, a stop. Not per request. */
		if (!finished && !got_term && now < next_due) {
			pthread_mutex_unlock(&sched_lock);
			continue;
		}
		finished = 0;
		next_due = now + 1;
		busy = sched_pass(now, &next_due);
		pthread_mutex_unlock(&sched_lock);
		if (got_term)
			notify_stopping(busy);
		if (got_term && busy == 0)
			break;
	}
	/* Workers saved their state; nothing is left running. */
	pool = pool_free(pool);
	for (k = 0; k < nslots; k++)
		sched_free_slot(slots[k]);
	free(slots);
	slots = NULL;
	nslots = 0;
	free(published);
	published = NULL;
}
