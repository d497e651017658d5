/*
 * submit.h - hands one canary to the submission server over SMTP and
 * keeps the evidence: the final reply to DATA and the queue id in it.
 */
#ifndef MC_SUBMIT_H
#define MC_SUBMIT_H

#include "config.h"
#include "error.h"

struct submit_result {
	char	reply[512];	/* final reply, sanitised */
	char	queue_id[128];	/* "" when the reply names none */
	char	via[300];	/* host:port */
	double	submitted_at;	/* wall clock at the final reply */
	double	handover;	/* seconds, connect to the final reply */
};

/*
 * Submits msg (CRLF lines) from cfg->from to rcpt. Returns 0 on a 2xx
 * final reply, -1 with err naming the step and the server's reply.
 */
int	submit_send(const struct config *, const char *bearer,
	    const char *rcpt, const char *msg,
	    size_t len, struct submit_result *, struct mc_error *);
/* Extracts the queue id from a final reply (Postfix, Exim, Sendmail, ...). */
void	submit_queue_id(const char *reply, char *out, size_t outlen);

#endif
