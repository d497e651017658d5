/*
 * net.h - what every libcurl transfer of mailcanary shares: TLS policy,
 * limits derived from the run's deadline, abort on a termination signal,
 * and a protocol trace that remembers the step and the server's last
 * reply so an error can name both.
 */
#ifndef MC_NET_H
#define MC_NET_H

#include <curl/curl.h>

#include "config.h"
#include "error.h"

enum net_proto { NET_SMTP, NET_IMAP, NET_POP3 };

#define NET_SECRETS	4	/* the password and its three base64 cores */
#define NET_SECRET_MAX	200

struct net_trace {
	enum net_proto	 proto;
	int		 ipver;		/* 4 or 6: -4 or -6 given; 0: any */
	const char	*step;		/* static, also given to deadline_step */
	char		 reply[512];	/* last line the server sent */
	/* A refusal (4xx/5xx, NO/BAD, -ERR) of the latest command and that
	 * command's step: libcurl says QUIT after a failure, and that must
	 * not hide it. */
	char		 fail_reply[512];
	const char	*fail_step;
	char		 host[300];	/* host:port, for messages */
	/* Between the command that starts authentication and the server's
	 * final answer to it: no client line is shown. */
	int		 auth;
	/* LOGOUT or QUIT was sent: the replies no longer name the step. */
	int		 closing;
	/* Last resort: a line holding one of these is never shown. */
	char		 secret[NET_SECRETS][NET_SECRET_MAX];
};

/*
 * Sets the options every transfer needs; tls is a STARTTLS_* policy. The
 * trace (borrowed by the handle for its life) logs the protocol at debug
 * level without credentials: user and password are only passed to
 * libcurl, and the trace keeps base64 forms of the password to filter on.
 */
int	net_setup(CURL *, const struct config *, int tls, const char *user,
	    const char *password, struct net_trace *, char *errbuf);
/*
 * Logs in with an OAuth2 bearer token instead of a password (libcurl's
 * SASL picks OAUTHBEARER where the server offers it, else XOAUTH2); the
 * trace filters the token and its base64 forms like a password. After
 * net_setup() with a NULL password; the token is borrowed.
 */
void	net_bearer(CURL *, struct net_trace *, const char *token);
/* Sets the time limits from what is left of the deadline. */
int	net_limits(CURL *, struct net_trace *, struct mc_error *);
/*
 * Describes a failed transfer: step, server reply, curl's reason; the
 * code is MC_ERR_TIMEOUT or MC_ERR_SIGNAL once the run's deadline has
 * passed, whatever libcurl said, else MC_ERR_SERVER (MC_ERR_NOMEM).
 */
int	net_error(struct mc_error *, const char *what, CURLcode,
	    const struct net_trace *, const char *errbuf);
/* host:port of a URL, with the scheme's default port. */
void	net_hostport(const char *url, char *out, size_t outlen);
/*
 * The CURLOPT_DEBUGFUNCTION that net_setup installs (arg: the trace):
 * tracks the step, the server's replies and refusals, and logs the
 * exchange with every authentication command and response hidden.
 * Public so that tests can play an exchange through it; returns 0.
 */
int	net_debug(CURL *, curl_infotype, char *data, size_t len, void *arg);

#endif
