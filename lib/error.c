/*
 * error.c - fills the caller-owned error struct that every library
 * function takes. Library code never prints; it explains here, and says
 * by code what kind of failure it was.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const code_names[] = {
	[MC_ERR_NONE] = "none",
	[MC_ERR_INTERNAL] = "internal",
	[MC_ERR_NOMEM] = "nomem",
	[MC_ERR_CONFIG] = "config",
	[MC_ERR_FILE] = "file",
	[MC_ERR_LOCKED] = "locked",
	[MC_ERR_SERVER] = "server",
	[MC_ERR_INPUT] = "input",
	[MC_ERR_LIMIT] = "limit",
	[MC_ERR_TIMEOUT] = "timeout",
	[MC_ERR_SIGNAL] = "signal"
};

int
error_set(struct mc_error *err, enum mc_errcode code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->code = code;
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

const char *
error_code_name(enum mc_errcode code)
{
	if ((int)code < 0 || code > MC_ERR_MAX)
		return code_names[MC_ERR_INTERNAL];
	return code_names[code];
}

int
error_stopped(const struct mc_error *err)
{
	return err->code == MC_ERR_TIMEOUT || err->code == MC_ERR_SIGNAL;
}
