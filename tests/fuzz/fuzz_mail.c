/*
 * fuzz_mail.c - libFuzzer target for every parser of mail and server
 * replies in scanning: header blocks, Received: chains, RFC 5322 and IMAP
 * dates, tokens, IMAP STATUS/SEARCH/FETCH and POP3 LIST replies, SMTP
 * queue ids, and the MIME pre-scan of bounces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap.h"
#include "mailbox.h"
#include "pop3.h"
#include "message.h"
#include "mimescan.h"
#include "submit.h"
#include "token.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct headers h;
	struct received_chain rc;
	unsigned long a, b, uids[16];
	struct mimescan *ms;
	char tok[TOKEN_MAX], qid[64], *s;
	time_t t;

	if (headers_parse((const char *)data, len, &h, NULL) == 0) {
		received_parse(&h, &rc);
		headers_free(&h);
	}
	/* The string parsers take NUL-terminated input. */
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	(void)date_parse_rfc5322(s, &t);
	(void)date_parse_imap(s, &t);
	(void)token_find(s, strlen(s), tok);
	(void)imap_parse_status(s, &a, &b);
	(void)imap_parse_search(s, uids, 16);
	(void)imap_parse_fetch(s, 7, &a, &t);
	(void)pop3_parse_list(s, 7, &a);
	/* The pre-scan, fed in two pieces: a line may straddle a push. */
	if ((ms = mimescan_new()) != NULL) {
		mimescan_push(ms, (const char *)data, len / 2);
		mimescan_push(ms, (const char *)data + len / 2, len - len / 2);
		(void)mimescan_finish(ms);
		mimescan_free(ms);
	}
	submit_queue_id(s, qid, sizeof(qid));
	free(s);
	return 0;
}
