/*
 * pool.h - mailcanaryd's bounded worker pool: jobs wait in a first-in,
 * first-out queue and at most a fixed number of threads run them. A
 * thread is started when a job waits and none is free, and ends when the
 * queue is empty, so an idle daemon holds no worker thread and a thousand
 * jobs that hang never mean a thousand threads.
 */
#ifndef MC_POOL_H
#define MC_POOL_H

#include <stddef.h>

struct pool;

/*
 * A pool that runs run(job) on at most max threads (max >= 1). run is
 * called without any lock of the pool held. Returns NULL when out of
 * memory.
 */
struct pool	*pool_new(size_t max, void (*run)(void *job));
/*
 * Queues job (borrowed until run() is called with it, or it is replaced
 * or cleared) and starts a thread if one is needed and allowed. Returns
 * -1 when out of memory (the job is not queued). When no thread can be
 * started the job waits; pool_reap() tries again.
 */
int		 pool_submit(struct pool *, void *job);
/*
 * Puts new in old's place in the queue, or takes old out when new is
 * NULL. Returns 1 if old was waiting there, 0 if not (a thread has taken
 * it, or it was never queued).
 */
int		 pool_replace(struct pool *, void *old, void *new);
/* Empties the queue, calling drop(job) for each job that never ran. */
void		 pool_clear(struct pool *, void (*drop)(void *job));
/* Joins threads that have ended; starts threads for waiting jobs. Only
 * the thread that owns the pool calls it. */
void		 pool_reap(struct pool *);
/* Threads alive (running a job or about to take one). */
size_t		 pool_threads(struct pool *);
/* Jobs waiting in the queue. */
size_t		 pool_waiting(struct pool *);
/*
 * Drops the waiting jobs, waits for the running ones to return and for
 * every thread to end, and frees the pool. Accepts NULL; returns NULL.
 */
struct pool	*pool_free(struct pool *);

#endif
