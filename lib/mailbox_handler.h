/*
 * mailbox_handler.h - what the mailbox core (mailbox.c) shares with its
 * protocol handlers (imap.c, pop3.c), and nothing else includes: the
 * mailbox object, the handler table mailbox_open() picks one entry of,
 * and the core's helpers for requests, downloads and hand-offs.
 */
#ifndef MC_MAILBOX_HANDLER_H
#define MC_MAILBOX_HANDLER_H

#include <curl/curl.h>

#include "buf.h"
#include "mailbox.h"
#include "message.h"
#include "net.h"

#define MAILBOX_REPLY_MAX	(8 * 1024 * 1024)	/* listings */
#define MAILBOX_HEADER_FETCH	(MESSAGE_HEADER_MAX + 1)

/* How a failed request bears on the scan. */
enum mailbox_fail {
	FAIL_BROKEN = 0,	/* link, deadline, signal, local: stop */
	FAIL_MESSAGE		/* refused, gone, too big: this one only */
};

/*
 * One protocol. Every function gets the mailbox the core opened; errors
 * are returned as -1 with err set, as the public functions they serve.
 */
struct mailbox_handler {
	const char	*name;		/* "IMAP": starts error texts */
	enum net_proto	 net_proto;	/* for net's trace */
	const char	*protocols;	/* CURLOPT_PROTOCOLS_STR */
	/*
	 * Checks the URL's decoded path (never NULL) and keeps what the
	 * protocol needs of it in mb->proto; no I/O.
	 */
	int	(*open)(struct mailbox *, const char *path, struct mc_error *);
	/* mailbox_scan() after the cursor was made this mailbox's. */
	int	(*scan)(struct mailbox *, struct cursor *, const char *probe,
		    mailbox_cb, void *, struct mc_error *);
	/* mailbox_delete() with at least one ref pending. */
	int	(*delete)(struct mailbox *, struct cursor *, struct mc_error *);
	/* Frees mb->proto (perhaps NULL); the connection is closed. */
	void	(*close)(struct mailbox *);
};

struct mailbox {
	const struct config	*cfg;
	const char		*url;
	int			 whole;	/* whole messages, every new one */
	const struct mailbox_handler *handler;
	void			*proto;		/* the handler's own */
	CURL			*h;
	struct net_trace	 t;
	char			 errbuf[CURL_ERROR_SIZE];
	char			*base;		/* scheme://host:port/ */
	struct buf		 out;
	/* Where the data of the current request goes. */
	int			 sink_fd;	/* -1: into out */
	size_t			 sink_cap;	/* most bytes kept */
	size_t			 sink_got;	/* bytes that came */
	int			 sink_drop;	/* past the cap: drop */
	int			 sink_over;	/* the cap was passed */
	int			 sink_errno;	/* a write failed */
	/* The last server line, but for answers to LOGOUT or QUIT. */
	char			 line[512];
	const char		*connect_step;	/* net's first step */
	long			 sessions;	/* connections opened */
	int			 closed;	/* last request failed */
	int			 fail;		/* enum mailbox_fail */
	int			 tmpfd;		/* whole messages */
	size_t			 fetched;	/* examined this run */
	char			*bearer;	/* OAuth2 token; NULL: none */
	int			 bearer_use;	/* enum oauth2_use */
};

/*
 * One request on the shared connection, to url (borrowed). cmd NULL: a
 * plain URL fetch; nobody: the reply is a single line (mb->line). step
 * (static) names the request in errors until libcurl's trace names the
 * command it sends. The data lands where mailbox_sink_buf() or
 * mailbox_sink_file() said, else in mb->out (MAILBOX_REPLY_MAX at most);
 * the sink is back to that default afterwards. 0, or -1 with err set and
 * mb->fail saying whether only this message or the whole scan is lost.
 */
int	mailbox_request(struct mailbox *, const char *url, const char *cmd,
	    int nobody, const char *step, struct mc_error *);
/*
 * The next request's data goes to mb->out, at most cap bytes kept; drop:
 * the rest is read and dropped, else the transfer fails past the cap.
 */
void	mailbox_sink_buf(struct mailbox *, size_t cap, int drop);
/*
 * The next request's data goes to mb->tmpfd (see mailbox_tmpfile()); more
 * than cap bytes fail the transfer as this message's fault.
 */
void	mailbox_sink_file(struct mailbox *, size_t cap);
/*
 * Makes mb->tmpfd an empty, unlinked file in the state directory at
 * offset 0, reused across messages: 0, or -1 with err set.
 */
int	mailbox_tmpfile(struct mailbox *, struct mc_error *);
/* Why a scan stopped between messages (deadline or signal): always -1. */
int	mailbox_stopped(struct mailbox *, struct mc_error *);
/*
 * Whether this scan should leave the rest to the next run: past half the
 * budget once something was examined (mb->fetched).
 */
int	mailbox_enough(const struct mailbox *);
/* Hands m to cb: 0 when it was handled, -1 (err set) when the scan stops. */
int	mailbox_deliver(struct mailbox *, const struct mailbox_msg *,
	    mailbox_cb, void *, struct mc_error *);
/*
 * Hands over a message that could not be downloaded at step, as
 * MAILBOX_FAILED with err's text (prefixed with step and m's ref), so
 * that it is reported once and passed. Returns as mailbox_deliver().
 */
int	mailbox_skip(struct mailbox *, struct mailbox_msg *, const char *step,
	    mailbox_cb, void *, struct mc_error *);
/* Drops cur->pending[idx] (the last one takes its place). */
void	mailbox_pending_drop(struct cursor *, size_t idx);
/*
 * Digits only, 1 to 10 of them, a non-zero value of 32 bits; *end after
 * them. 0, or -1 (nothing set).
 */
int	mailbox_parse_nz32(const char *, const char **end, unsigned long *);
/* The same, zero allowed (RFC 3501 "number"). */
int	mailbox_parse_num32(const char *, const char **end, unsigned long *);

#endif
