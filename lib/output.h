/*
 * output.h - the one result builder: Nagios status line, perfdata and
 * long output, or the same facts as one JSON object. Every string that
 * came from mail or a server is sanitised on the way out.
 */
#ifndef MC_OUTPUT_H
#define MC_OUTPUT_H

#include <stdio.h>

#include "error.h"
#include "evaluate.h"
#include "state.h"

enum output_format {
	OUTPUT_NAGIOS = 0,
	OUTPUT_JSON
};

/* What rendering needs of the configuration, borrowed. */
struct output_opts {
	const char	*probe;		/* the probe's name */
	int		 format;	/* enum output_format */
	const char	*warning;	/* latency thresholds as given, for */
	const char	*critical;	/* the perfdata; may be "" */
};

#define OUTPUT_LONG_MAX		3000	/* long output, well under 4 KB */
#define OUTPUT_LONG_LINES	20
#define OUTPUT_PERF_MAX		24

struct perf_item {
	char	label[32];
	double	value;
	char	uom[4];
	char	warn[48];
	char	crit[48];
	int	has_min;
	int	precision;
};

struct perfdata {
	size_t			n;
	struct perf_item	item[OUTPUT_PERF_MAX];
};

void	perf_add(struct perfdata *, const char *label, double value,
	    const char *uom, const char *warn, const char *crit, int has_min,
	    int precision);
/* Formats one item as 'label'=value[UOM];warn;crit;min;max. */
void	perf_format(const struct perf_item *, char *out, size_t outlen);

/* "12.4s", "45s", "120m", "3.5h". */
void	output_duration(double secs, char *out, size_t outlen);
/* The text of one reason, sanitised. */
void	output_reason(const struct state *, const struct reason *,
	    double now, char *out, size_t outlen);
/* One line describing a canary for the long output. */
void	output_canary(const struct canary *, double now, char *out,
	    size_t outlen);
void	output_perfdata(const struct state *, const struct verdict *,
	    const struct output_opts *, struct perfdata *);

/* "MAILCANARY STATE - reasons", without perfdata, into line. */
void	output_status_line(const struct output_opts *, const struct state *,
	    const struct verdict *, double now, char *line, size_t linelen);
/* Prints the whole result; returns the plugin exit code. */
int	output_print(FILE *, const struct output_opts *, const struct state *,
	    const struct verdict *, double now);
/*
 * "MAILCANARY UNKNOWN - msg" for an error before any verdict; in JSON,
 * one reason whose code is the error's (error_code_name()).
 */
int	output_error(FILE *, int format, int state, const struct mc_error *);

#endif
