/*
 * error.c - fills the caller-owned error struct that every library
 * function takes. Library code never prints; it explains here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int
error_set(struct mc_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
error_prefix(struct mc_error *err, const char *fmt, ...)
{
	char prefix[MC_ERROR_MAX], old[MC_ERROR_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
	return -1;
}
