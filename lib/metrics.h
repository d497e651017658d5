/*
 * metrics.h - a probe in the Prometheus text exposition format (0.0.4):
 * the one renderer that mailcanaryd's /metrics and check_mailcanary's
 * --metrics-file share. Both fill the same neutral struct, the daemon
 * from its snapshots, the plugin from its probe report.
 */
#ifndef MC_METRICS_H
#define MC_METRICS_H

#include <sys/socket.h>

#include <stddef.h>

#include "authres.h"
#include "buf.h"
#include "config.h"

struct probe_report;

/* Upper bounds of the latency histogram, seconds: greylisting retries
 * come after minutes, a slow queue after hours. +Inf follows. */
#define METRICS_NBUCKETS	13
extern const double metrics_buckets[METRICS_NBUCKETS];

/* Canaries by latency, each counted once (not cumulative: the renderer
 * sums). bucket[METRICS_NBUCKETS] is past the last bound. */
struct metrics_hist {
	unsigned long	bucket[METRICS_NBUCKETS + 1];
	unsigned long	count;
	double		sum;
};

/* One probe: everything the families show of it. */
struct metrics_probe {
	char		name[CONFIG_NAME_MAX + 1];
	int		state;		/* McState: 1 ok .. 4 unknown */
	int		condition;	/* McCondition: 1 delivered .. 9 */
	unsigned long	sent, delivered, hidden, late;
	unsigned long	bounced, bogus, delayed, unparseable;
	unsigned long	inflight;
	double		oldest_inflight;	/* seconds */
	double		last_delivery;	/* wall clock; 0: none yet */
	double		greylist_delay;	/* the newest delivery's; < 0:
					 * unknown */
	unsigned long	junk;		/* delivered to a junk folder */
	double		last_junk;	/* wall clock, the newest of them
					 * arrived; 0: none in the state */
	/* Authentication-Results (authres.h): has_auth when the newest
	 * delivered canary's were read; auth[] its results by method. */
	int		has_auth;
	int		auth[AUTHRES_NMETHODS];	/* authres_result */
	unsigned long	auth_not_passed;
	int		has_hist;	/* the plugin has none */
	struct metrics_hist hist;
};

/*
 * Parses a listen address: a numeric IPv4 address and a port
 * ("127.0.0.1:9555") or a numeric IPv6 address in brackets and a port
 * ("[::1]:9555"); the port is 1 to 65535. ss and len may be NULL (a
 * check only). -1 with err saying what is wrong.
 */
int	metrics_parse_listen(const char *s, struct sockaddr_storage *ss,
	    socklen_t *len, struct mc_error *err);
/* Adds one latency (seconds) to h. */
void	metrics_observe(struct metrics_hist *h, double latency);
/* Fills m (all of it but the histogram, which is left empty) from a
 * cycle's report of probe name. */
void	metrics_from_report(struct metrics_probe *m, const char *name,
	    const struct probe_report *rep);
/* metrics_render() flags. */
#define METRICS_BUILD_INFO_PROBE	0x01	/* build_info labelled with
						 * the (first) probe: one file
						 * per probe for node_exporter,
						 * whose series must differ */
/*
 * Appends every family, with its HELP and TYPE once, then a sample per
 * probe labelled probe="NAME" (escaped as the format says), then
 * mailcanary_build_info. -1 when b's cap is passed or out of memory.
 */
int	metrics_render(struct buf *b, const struct metrics_probe *p,
	    size_t n, unsigned flags);
/*
 * Writes one probe's families to path for node_exporter's textfile
 * collector: a temporary file in the same directory, mode 0644, synced
 * and renamed over path, so a reader sees the old file or the new one.
 */
int	metrics_write_file(const char *path, const struct metrics_probe *m,
	    struct mc_error *err);

#endif
