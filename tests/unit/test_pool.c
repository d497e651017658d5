/*
 * The daemon's worker pool: never more threads than its bound however
 * many jobs hang, the queue taken in order, threads ended when idle, a
 * queued job replaced or removed, and a stop that drops what waits.
 */
#include "tap.h"

#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "pool.h"

/* Jobs that hang until released, counting how many run at once. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released, running, most, ran[32], order[32], nran;

static void
job(void *arg)
{
	int id = (int)(intptr_t)arg;

	pthread_mutex_lock(&mu);
	order[nran++] = id;
	if (++running > most)
		most = running;
	while (!released)
		pthread_cond_wait(&cv, &mu);
	running--;
	ran[id]++;
	pthread_mutex_unlock(&mu);
}

static void
reset(int release)
{
	pthread_mutex_lock(&mu);
	released = release;
	running = most = nran = 0;
	memset(ran, 0, sizeof(ran));
	memset(order, 0, sizeof(order));
	pthread_mutex_unlock(&mu);
}

static void
release_all(void)
{
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int
running_now(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = running;
	pthread_mutex_unlock(&mu);
	return n;
}

/* Threads of this process, as ls /proc/PID/task counts them. */
static int
tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Waits (up to 5 s) until cond() holds. */
static int
eventually(int (*cond)(struct pool *), struct pool *p)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (cond(p))
			return 1;
		usleep(10000);
	}
	return 0;
}

/*
 * Waits (up to 5 s) until the process is back to n threads: a thread
 * joined has left the pool, but the kernel may list its task in
 * /proc/self/task a moment longer.
 */
static int
tasks_back_to(int n)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (tasks() == n)
			return 1;
		usleep(10000);
	}
	return 0;
}

static int two_running(struct pool *p) { (void)p; return running_now() == 2; }
static int no_thread(struct pool *p) { return pool_threads(p) == 0; }

static void
test_bounded(void **unused)
{
	struct pool *p;
	int i, base = tasks();

	(void)unused;
	reset(0);
	assert_non_null(p = pool_new(2, job));
	for (i = 0; i < 10; i++)
		assert_int_equal(pool_submit(p, (void *)(intptr_t)i), 0);
	assert_true(eventually(two_running, p));
	/* Ten jobs hang; two threads hold two of them, eight wait. */
	usleep(100000);
	assert_int_equal(running_now(), 2);
	assert_int_equal(pool_threads(p), 2);
	assert_int_equal(pool_waiting(p), 8);
	assert_true(tasks() <= base + 2);
	release_all();
	assert_true(eventually(no_thread, p));
	pool_reap(p);
	assert_true(tasks_back_to(base));
	for (i = 0; i < 10; i++)
		assert_int_equal(ran[i], 1);
	assert_int_equal(most, 2);
	p = pool_free(p);
	assert_null(p);
}

static int one_running(struct pool *p) { (void)p; return running_now() == 1; }

static void
test_fifo_replace(void **unused)
{
	struct pool *p;
	int i;

	(void)unused;
	reset(0);
	assert_non_null(p = pool_new(1, job));
	for (i = 0; i < 4; i++)
		assert_int_equal(pool_submit(p, (void *)(intptr_t)i), 0);
	assert_true(eventually(one_running, p));
	/* 0 runs; 1, 2, 3 wait in that order: 2 becomes 5, 1 goes. */
	assert_int_equal(pool_replace(p, (void *)(intptr_t)2,
	    (void *)(intptr_t)5), 1);
	assert_int_equal(pool_replace(p, (void *)(intptr_t)1, NULL), 1);
	assert_int_equal(pool_replace(p, (void *)(intptr_t)0, NULL), 0);
	assert_int_equal(pool_replace(p, (void *)(intptr_t)9, NULL), 0);
	assert_int_equal(pool_waiting(p), 2);
	release_all();
	assert_true(eventually(no_thread, p));
	assert_int_equal(nran, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 5);
	assert_int_equal(order[2], 3);
	assert_int_equal(ran[1] + ran[2], 0);
	p = pool_free(p);
}

static int ndropped;

static void
drop(void *arg)
{
	(void)arg;
	ndropped++;
}

static void
test_clear_and_free(void **unused)
{
	struct pool *p;
	int i;

	(void)unused;
	reset(0);
	ndropped = 0;
	assert_non_null(p = pool_new(1, job));
	for (i = 0; i < 3; i++)
		assert_int_equal(pool_submit(p, (void *)(intptr_t)i), 0);
	assert_true(eventually(one_running, p));
	pool_clear(p, drop);
	assert_int_equal(ndropped, 2);
	assert_int_equal(pool_waiting(p), 0);
	/* Free waits for the running job; the queue is gone. */
	release_all();
	p = pool_free(p);
	assert_int_equal(ran[0], 1);
	assert_int_equal(ran[1] + ran[2], 0);
	/* A queue that grows past its first allocation keeps its order. */
	reset(0);
	assert_non_null(p = pool_new(1, job));
	for (i = 0; i < 30; i++)
		assert_int_equal(pool_submit(p, (void *)(intptr_t)i), 0);
	release_all();
	assert_true(eventually(no_thread, p));
	for (i = 0; i < 30; i++)
		assert_int_equal(order[i], i);
	p = pool_free(p);
	assert_null(pool_free(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_fifo_replace),
		cmocka_unit_test(test_clear_and_free),
	};

	return RUN_TESTS(tests);
}
