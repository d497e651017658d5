/*
 * http.h - mailcanaryd's /metrics: the Prometheus text format of the
 * published snapshots, served by libmicrohttpd on a thread of its own
 * (metrics_listen). A scrape never waits on mail I/O nor on SNMP, and
 * a slow or abusive client never on either.
 */
#ifndef MC_HTTP_H
#define MC_HTTP_H

#include <stddef.h>

#include "agent.h"
#include "error.h"

/* Listens on addr (metrics_listen) and serves GET and HEAD of /metrics
 * from its own thread. -1 with err when it cannot. */
int	http_start(const char *addr, struct mc_error *err);
/*
 * Hands the server the rows just published (main thread): their
 * metrics are copied, and a scrape renders from the copy. A no-op when
 * the server is not running.
 */
void	http_publish(const struct snapshot *, size_t);
/* Stops the server and frees the copy. */
void	http_stop(void);

#endif
