/*
 * range.h - Nagios threshold ranges as in the Monitoring Plugins
 * guidelines: "10" (alert outside 0..10), "10:" (below 10), "~:10"
 * (above 10), "10:20" (outside), "@10:20" (inside).
 */
#ifndef MC_RANGE_H
#define MC_RANGE_H

#include "error.h"

struct range {
	double	start;
	double	end;
	int	start_inf;	/* "~" */
	int	end_inf;	/* "N:" */
	int	inside;		/* "@": alert when inside */
	char	text[48];	/* as given, for perfdata */
};

/* Parses s; rejects trailing junk, empty parts and start > end. */
int	range_parse(struct range *, const char *, struct mc_error *);
/* Returns 1 when value raises an alert for this range. */
int	range_alert(const struct range *, double);

#endif
