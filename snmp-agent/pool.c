/*
 * pool.c - the bounded worker pool of mailcanaryd: a first-in, first-out
 * queue of jobs and at most max threads taking jobs from it. A thread
 * runs jobs while any wait and ends when the queue is empty; the owner
 * joins the ended ones (pool_reap). A job that hangs holds one thread
 * until it returns, never more. Knows nothing of probes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct pool {
	pthread_mutex_t	  lock;
	pthread_cond_t	  gone;		/* a thread ended */
	void		(*run)(void *);
	size_t		  max;
	void		**q;		/* ring of jobs */
	size_t		  qcap, qhead, qlen;
	size_t		  nthreads;	/* alive, until they end */
	size_t		  nbusy;	/* of them, running a job */
	pthread_t	 *dead;		/* ended, not joined (<= max) */
	size_t		  ndead;
};

static void *
pool_thread(void *arg)
{
	struct pool *p = arg;
	void *job;

	pthread_mutex_lock(&p->lock);
	while (p->qlen > 0) {
		job = p->q[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
		p->nbusy++;
		pthread_mutex_unlock(&p->lock);
		p->run(job);
		pthread_mutex_lock(&p->lock);
		p->nbusy--;
	}
	/* Nothing waits: end, and be joined by the owner. Never takes the
	 * lock again, so the owner may join while holding it. */
	p->nthreads--;
	p->dead[p->ndead++] = pthread_self();
	pthread_cond_broadcast(&p->gone);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Joins the ended threads (locked). */
static void
pool_join_locked(struct pool *p)
{
	while (p->ndead > 0)
		pthread_join(p->dead[--p->ndead], NULL);
}

/*
 * Starts threads while jobs wait that no thread will take, up to max
 * (locked). A thread alive and not busy takes a job before it ends.
 */
static void
pool_spawn_locked(struct pool *p)
{
	pthread_t t;

	while (p->nthreads + p->ndead < p->max &&
	    p->qlen > p->nthreads - p->nbusy) {
		if (pthread_create(&t, NULL, pool_thread, p) != 0)
			break;	/* jobs wait; pool_reap() tries again */
		p->nthreads++;
	}
}

struct pool *
pool_new(size_t max, void (*run)(void *job))
{
	struct pool *p;

	if (max < 1 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->dead = calloc(max, sizeof(*p->dead))) == NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->gone, NULL);
	p->run = run;
	p->max = max;
	return p;
}

int
pool_submit(struct pool *p, void *job)
{
	void **nq;
	size_t i, ncap;

	pthread_mutex_lock(&p->lock);
	if (p->qlen == p->qcap) {
		ncap = p->qcap ? p->qcap * 2 : 16;
		if ((nq = calloc(ncap, sizeof(*nq))) == NULL) {
			pthread_mutex_unlock(&p->lock);
			return -1;
		}
		for (i = 0; i < p->qlen; i++)
			nq[i] = p->q[(p->qhead + i) % p->qcap];
		free(p->q);
		p->q = nq;
		p->qcap = ncap;
		p->qhead = 0;
	}
	p->q[(p->qhead + p->qlen) % p->qcap] = job;
	p->qlen++;
	pool_join_locked(p);
	pool_spawn_locked(p);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int
pool_replace(struct pool *p, void *old, void *new)
{
	size_t i, j;
	int found = 0;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->qlen; i++)
		if (p->q[(p->qhead + i) % p->qcap] == old) {
			found = 1;
			break;
		}
	if (found && new != NULL) {
		p->q[(p->qhead + i) % p->qcap] = new;
	} else if (found) {
		/* Close the gap: the jobs behind it move up one place. */
		for (j = i; j + 1 < p->qlen; j++)
			p->q[(p->qhead + j) % p->qcap] =
			    p->q[(p->qhead + j + 1) % p->qcap];
		p->qlen--;
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

void
pool_clear(struct pool *p, void (*drop)(void *job))
{
	pthread_mutex_lock(&p->lock);
	while (p->qlen > 0) {
		if (drop != NULL)
			drop(p->q[p->qhead]);
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
	}
	pthread_mutex_unlock(&p->lock);
}

void
pool_reap(struct pool *p)
{
	pthread_mutex_lock(&p->lock);
	pool_join_locked(p);
	pool_spawn_locked(p);
	pthread_mutex_unlock(&p->lock);
}

size_t
pool_threads(struct pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->nthreads;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t
pool_waiting(struct pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->qlen;
	pthread_mutex_unlock(&p->lock);
	return n;
}

struct pool *
pool_free(struct pool *p)
{
	if (p == NULL)
		return NULL;
	pool_clear(p, NULL);
	pthread_mutex_lock(&p->lock);
	while (p->nthreads > 0)
		pthread_cond_wait(&p->gone, &p->lock);
	pool_join_locked(p);
	pthread_mutex_unlock(&p->lock);
	pthread_cond_destroy(&p->gone);
	pthread_mutex_destroy(&p->lock);
	free(p->q);
	free(p->dead);
	free(p);
	return NULL;
}
