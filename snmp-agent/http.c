/*
 * http.c - mailcanaryd's /metrics. libmicrohttpd runs on its own
 * thread (MHD_USE_INTERNAL_POLLING_THREAD: one event loop for every
 * connection), so a client that sends slowly, or never reads, holds a
 * connection slot and nothing else. The limits bound what clients may
 * take: connections in all and per address, an idle timeout, and the
 * memory of a request (a request line or header past it is refused).
 *
 * The main thread hands over each published set of rows (http_publish):
 * their metrics are copied into an immutable, reference-counted set. A
 * scrape takes a reference under the lock, renders from it without the
 * lock, and drops the reference: the lock is held for a pointer and a
 * count, never for rendering nor for a socket.
 */
#include <sys/socket.h>

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

#define HTTP_CONNECTIONS	256	/* at once, in all */
#define HTTP_PER_IP		16	/* at once, from one address */
#define HTTP_IDLE_TIMEOUT	10	/* seconds without a byte */
#define HTTP_REQUEST_MEMORY	(16 * 1024)	/* request line, headers */
#define HTTP_BODY_MAX		(256 * 1024 * 1024)	/* a rendering */
#define HTTP_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct http_set {
	unsigned long		refs;	/* under http_lock */
	size_t			n;
	struct metrics_probe	p[];
};

static pthread_mutex_t http_lock = PTHREAD_MUTEX_INITIALIZER;
static struct http_set *current;
static struct MHD_Daemon *mhd;

static void
http_unref(struct http_set *s)
{
	int last;

	if (s == NULL)
		return;
	pthread_mutex_lock(&http_lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&http_lock);
	if (last)
		free(s);
}

void
http_publish(const struct snapshot *v, size_t n)
{
	struct http_set *s, *old;
	size_t i;

	if (mhd == NULL)
		return;
	if ((s = malloc(sizeof(*s) + n * sizeof(s->p[0]))) == NULL) {
		log_warnx("out of memory: /metrics serves the rows of an "
		    "earlier cycle");
		return;
	}
	s->refs = 1;
	s->n = n;
	for (i = 0; i < n; i++)
		s->p[i] = v[i].metrics;
	pthread_mutex_lock(&http_lock);
	old = current;
	current = s;
	pthread_mutex_unlock(&http_lock);
	http_unref(old);
}

static enum MHD_Result
http_reply(struct MHD_Connection *c, unsigned status, const char *text,
    const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/plain; charset=utf-8");
	if (allow != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
http_answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **ctx)
{
	struct MHD_Response *r;
	struct http_set *s;
	enum MHD_Result ret;
	struct buf b;
	size_t len;

	if (strcmp(url, "/metrics") != 0)
		return http_reply(c, MHD_HTTP_NOT_FOUND, "Not Found: the "
		    "metrics are at /metrics\n", NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "Method Not Allowed: GET or HEAD\n", "GET, HEAD");
	pthread_mutex_lock(&http_lock);
	if ((s = current) != NULL)
		s->refs++;
	pthread_mutex_unlock(&http_lock);
	buf_init(&b, HTTP_BODY_MAX);
	ret = metrics_render(&b, s ? s->p : NULL, s ? s->n : 0, 0) == -1 ?
	    MHD_NO : MHD_YES;
	http_unref(s);
	if (ret == MHD_NO) {
		buf_free(&b);
		return http_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "out of memory\n", NULL);
	}
	len = b.len;
	r = MHD_create_response_from_buffer(len, buf_steal(&b),
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    HTTP_CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int
http_start(const char *addr, struct mc_error *err)
{
	struct sockaddr_storage ss;
	sigset_t all, old;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;

	if (metrics_parse_listen(addr, &ss, NULL, err) == -1)
		return error_prefix(err, "metrics_listen");
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Signals are the main thread's: MHD's thread starts with them
	 * blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_answer, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_REQUEST_MEMORY,
	    MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (mhd == NULL)
		return error_set(err, MC_ERR_CONFIG, "cannot serve /metrics "
		    "on %s: %s", addr, strerror(errno));
	return 0;
}

void
http_stop(void)
{
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	mhd = NULL;
	http_unref(current);
	current = NULL;
}
