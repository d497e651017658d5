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

struct net_trace {
	enum net_proto	 proto;
	const char	*step;		/* static, also given to deadline_step */
	char		 reply[512];	/* last line the server sent */
	/* A refusal (4xx/5xx, NO/BAD, -ERR) of the latest command and that
	 * command's step: libcurl says QUIT after a failure, and that must
	 * not hide it. */
	char		 fail_reply[512];
	const char	*fail_step;
	char		 host[300];	/* host:port, for messages */
	/* LOGOUT or QUIT was sent: the replies no longer name the step. */
	int		 closing;
};

/* Sets the options every transfer needs; tls is a STARTTLS_* policy. */
int	net_setup(CURL *, const struct config *, int tls, const char *user,
	    const char *password, struct net_trace *, char *errbuf);
/* Sets the time limits from what is left of the deadline. */
int	net_limits(CURL *, struct net_trace *, struct mc_error *);
/* Describes a failed transfer: step, server reply, curl's reason. */
int	net_error(struct mc_error *, const char *what, CURLcode,
	    const struct net_trace *, const char *errbuf);
/* host:port of a URL, with the scheme's default port. */
void	net_hostport(const char *url, char *out, size_t outlen);
/* Replaces control characters and '|' so text is safe to print. */
void	net_sanitize(char *);

#endif
