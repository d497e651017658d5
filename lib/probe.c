/*
 * probe.c - one cycle of a probe. The order matters for "no state is
 * lost": results are saved before anything is deleted from the mailbox,
 * and what is to be deleted is itself saved first, so a run killed at any
 * point leaves either the old or the new state and never a found canary
 * that is gone from both the mailbox and the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "deadline.h"
#include "junk.h"
#include "log.h"
#include "mailbox.h"
#include "message.h"
#include "ndr.h"
#include "oauth2.h"
#include "probe.h"
#include "submit.h"
#include "text.h"
#include "token.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)
/* Oversize or unreadable messages reported one by one in a run. */
#define SCAN_SKIPPED_NOTES	4

struct scan_ctx {
	const struct config	*cfg;
	struct state		*st;
	const struct token_key	*key;
	double			 now;
	size_t			 found;
	struct verdict		*runerr;	/* news of this run */
	const char		*where;		/* "test mailbox", ... */
	size_t			 skipped;	/* not read, this run */
	size_t			 oversize_more;	/* oversize, not noted */
	size_t			 unparseable;	/* unreadable bounces, this run */
	const char		*junk;		/* the junk folder read; NULL:
						 * the test mailbox */
	struct cursor		*junk_cur;	/* its cursor */
};

/* A header field of a skipped message, short and safe to print. */
static void
skipped_field(const struct headers *hs, const char *name, char *out,
    size_t outlen)
{
	const char *v = hs != NULL ? headers_get(hs, name) : NULL;

	snprintf(out, outlen, "%s", v != NULL ? v : "?");
	text_sanitize(out);
}

/*
 * A message the scan did not download: over max_message_size, or its
 * download failed. Counted and reported once, with what little is known
 * of it; the scan passes it, so it never blocks the messages after it.
 */
static void
scan_skipped(struct scan_ctx *ctx, const struct mailbox_msg *m)
{
	struct headers *hs = NULL;
	char note[400], subj[100], from[100], why[300];

	ctx->skipped++;
	if (m->kind == MAILBOX_OVERSIZE)
		canary_count_oversize(ctx->st);
	if (ctx->skipped > SCAN_SKIPPED_NOTES) {
		/* Summed up after the scan. */
		if (m->kind == MAILBOX_OVERSIZE)
			ctx->oversize_more++;
		return;
	}
	if (m->kind == MAILBOX_FAILED) {
		snprintf(why, sizeof(why), "%s", m->error ? m->error : "?");
		text_sanitize(why);
		snprintf(note, sizeof(note), "message %s %s in the %s could "
		    "not be read and was skipped: %s", m->refname, m->ref,
		    ctx->where, why);
		verdict_add(ctx->runerr, MC_WARNING, REASON_MAILBOX_FAILED, -1,
		    note);
		return;
	}
	if (m->hdr != NULL && m->len > 0 &&
	    (hs = malloc(sizeof(*hs))) != NULL &&
	    headers_parse(m->hdr, m->len, hs, NULL) == -1) {
		free(hs);
		hs = NULL;
	}
	skipped_field(hs, "Subject", subj, sizeof(subj));
	skipped_field(hs, "From", from, sizeof(from));
	if (hs != NULL) {
		headers_free(hs);
		free(hs);
	}
	snprintf(note, sizeof(note), "message %s %s in the %s is %lu bytes, "
	    "over max_message_size (%ld): skipped unread and kept (Subject: "
	    "%s; From: %s)", m->refname, m->ref, ctx->where, m->size,
	    ctx->cfg->max_message_size, subj, from);
	verdict_add(ctx->runerr, MC_WARNING, REASON_OVERSIZE, -1, note);
}

static int
scan_found(void *arg, const struct mailbox_msg *m, struct mc_error *err)
{
	struct scan_ctx *ctx = arg;
	struct received_chain rc;
	struct authres ar;
	struct headers *hs;
	struct canary *c;
	const char *v;
	char token[TOKEN_MAX];

	if (m->kind != MAILBOX_HEADERS) {
		scan_skipped(ctx, m);
		return 0;
	}
	/* Out of memory, the message is read again by the next run. */
	if ((hs = malloc(sizeof(*hs))) == NULL)
		return error_set(err, MC_ERR_NOMEM, "out of memory");
	if (headers_parse(m->hdr, m->len, hs, err) == -1) {
		headers_free(hs);
		free(hs);
		/* Else it is not a message of ours. */
		return err->code == MC_ERR_NOMEM ? -1 : 0;
	}
	token[0] = '\0';
	if ((v = headers_get(hs, "X-Mailcanary-Token")) != NULL &&
	    strlen(v) < TOKEN_MAX)
		snprintf(token, sizeof(token), "%s", v);
	else if ((v = headers_get(hs, "Subject")) != NULL &&
	    token_find(v, strlen(v), token) == -1)
		token[0] = '\0';
	/* A bad or foreign token is neither counted nor deleted. */
	if (token[0] == '\0' ||
	    token_verify(ctx->key, ctx->cfg->name, token, NULL, NULL) == -1) {
		log_debug("message %s: no token of probe %s", m->ref,
		    ctx->cfg->name);
		goto out;
	}
	if ((c = state_find_token(ctx->st, token)) != NULL &&
	    (c->status == CANARY_IN_FLIGHT || c->status == CANARY_HIDDEN)) {
		received_parse(hs, &rc);
		if (canary_deliver(ctx->st, c, (double)m->arrived, &rc,
		    ctx->now) == 0 || canary_late(ctx->st, c,
		    (double)m->arrived, &rc, ctx->now) == 0) {
			ctx->found++;
			if (ctx->junk != NULL)
				canary_junk(ctx->st, c, ctx->junk);
			authres_read(hs, ctx->cfg->authserv_id, &ar);
			canary_set_authres(ctx->st, c, &ar);
		}
	}
	/* Ours (verified), so it may go, even if its record is gone. */
	if (!ctx->cfg->keep)
		cursor_add_pending(ctx->junk_cur != NULL ? ctx->junk_cur :
		    &ctx->st->mbox, m->ref);
out:
	headers_free(hs);
	free(hs);
	return 0;
}

/* What the report says of the canary's recipient rc. */
static void
bounce_report(const struct ndr_report *rep, const struct ndr_rcpt *rc,
    time_t arrived, double now, struct canary_report *out)
{
	out->class = (enum ndr_class)rc->class;
	out->status = rc->status;
	out->diagnostic = rc->diagnostic_code;
	out->reporting_mta = rep->reporting_mta;
	out->remote_mta = rc->remote_mta;
	out->at = arrived > 0 ? (double)arrived : now;
}

/* The recipient of a report that is this canary's, else the first. */
static const struct ndr_rcpt *
report_rcpt(const struct ndr_report *rep, const char *token)
{
	size_t i;

	for (i = 0; i < rep->nrcpt; i++)
		if ((rep->rcpt[i].final_recipient &&
		    strstr(rep->rcpt[i].final_recipient, token)) ||
		    (rep->rcpt[i].original_recipient &&
		    strstr(rep->rcpt[i].original_recipient, token)))
			return &rep->rcpt[i];
	return rep->nrcpt ? &rep->rcpt[0] : NULL;
}

/*
 * A new message in the bounce mailbox. Only a report that carries one of
 * this probe's verified tokens changes a canary or is deleted; mail that
 * is not a bounce is left alone; an unreadable bounce is counted,
 * reported and kept for a person to read. Returns -1, the message not
 * handled, only when the parse was cut short by the deadline or a signal.
 */
static int
bounce_found(void *arg, const struct mailbox_msg *m, struct mc_error *e)
{
	struct scan_ctx *ctx = arg;
	struct ndr_report rep;
	struct mc_error err;
	const struct ndr_rcpt *rc;
	struct canary_report cr;
	struct canary *c = NULL;
	const char *ref = m->ref;
	time_t arrived = m->arrived;
	char note[400], subj[120], from[120];

	if (m->kind != MAILBOX_WHOLE) {
		scan_skipped(ctx, m);
		return 0;
	}
	deadline_step("parsing a bounce");
	if (ndr_parse_fd(m->fd, &rep, &err) == -1) {
		if (error_stopped(&err) || err.code == MC_ERR_NOMEM) {
			*e = err;
			return -1;	/* read again by the next run */
		}
		canary_count_unparseable(ctx->st);
		/* A few notes, the rest summed: the verdict has few slots. */
		if (++ctx->unparseable > SCAN_SKIPPED_NOTES)
			return 0;
		snprintf(note, sizeof(note), "unreadable message %s %s in the "
		    "bounce mailbox: %s", m->refname, ref, err.msg);
		verdict_add(ctx->runerr, MC_WARNING, REASON_UNPARSEABLE, -1,
		    note);
		return 0;
	}
	if (rep.class == NDR_NOT_BOUNCE)
		goto out;
	if (rep.token[0] && token_verify(ctx->key, ctx->cfg->name, rep.token,
	    NULL, NULL) == 0)
		c = state_find_token(ctx->st, rep.token);
	else if (rep.token[0])
		goto out;		/* another probe's, or forged */
	if (rep.class == NDR_UNPARSEABLE) {
		canary_count_unparseable(ctx->st);
		if (++ctx->unparseable > SCAN_SKIPPED_NOTES)
			goto out;
		snprintf(subj, sizeof(subj), "%s", rep.subject ? rep.subject :
		    "");
		snprintf(from, sizeof(from), "%s", rep.from ? rep.from : "");
		snprintf(note, sizeof(note), "unparseable bounce%s kept in "
		    "the bounce mailbox (Subject: %s; From: %s; %s)",
		    c ? " for one of our canaries" : "", subj, from,
		    rep.error ? rep.error : "no details");
		verdict_add(ctx->runerr, MC_WARNING, REASON_UNPARSEABLE, -1,
		    note);
		goto out;
	}
	if (c == NULL)
		goto out;		/* not tied to a canary we know */
	rc = report_rcpt(&rep, rep.token);
	switch (rc ? rc->class : NDR_UNPARSEABLE) {
	case NDR_PERMANENT:
	case NDR_BOGUS:
		bounce_report(&rep, rc, arrived, ctx->now, &cr);
		if (canary_bounce(ctx->st, c, &cr, ctx->now) == 0)
			ctx->found++;
		break;
	case NDR_DELAYED:
		bounce_report(&rep, rc, arrived, ctx->now, &cr);
		canary_delay(ctx->st, c, &cr);
		break;
	default:
		log_info("canary #%lu: %s notice from %s", c->seq,
		    ndr_class_name(rc ? rc->class : NDR_UNPARSEABLE),
		    rep.reporting_mta ? rep.reporting_mta : "?");
		break;
	}
	if (!ctx->cfg->keep)
		cursor_add_pending(&ctx->st->bounce, ref);
out:
	ndr_report_clear(&rep);
	return 0;
}

/*
 * Sends the next canary. It is recorded first, as "submitting", and the
 * record saved, so a canary that cannot be recorded is never sent and a
 * run killed while sending leaves a record the next run can find. When
 * the record is full, the oldest outcome makes room (state_make_room).
 */
static int
send_canary(const struct config *cfg, struct state *st,
    const struct token_key *key, struct verdict *runerr)
{
	struct submit_result res;
	struct mc_error err;
	struct canary *c;
	struct buf msg;
	char token[TOKEN_MAX], rcpt[320];
	double now = clock_wall();
	unsigned long seq = st->next_seq, folded = st->count.folded;
	char *bearer = NULL;
	int rc;

	/* No token, no canary: the login could only fail. */
	if (oauth2_bearer(cfg, OAUTH2_SMTP, &bearer, &err) == -1) {
		error_prefix(&err, "no canary sent");
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1, err.msg);
		return -1;
	}
	token_make(key, cfg->name, seq, (time_t)now, token);
	buf_init(&msg, 64 * 1024);
	if (message_compose(cfg->name, cfg->from, cfg->to, cfg->fresh_address,
	    token, (time_t)now, &msg, rcpt, sizeof(rcpt), &err) == -1) {
		buf_free(&msg);
		oauth2_free_token(bearer);
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1, err.msg);
		return -1;
	}
	if (state_make_room(st) == -1) {
		buf_free(&msg);
		oauth2_free_token(bearer);
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1, "no canary "
		    "sent: the state holds " STR(STATE_CANARIES_MAX) " canaries "
		    "and every one is still in flight");
		return -1;
	}
	if (folded == 0 && st->count.folded > 0)
		log_warnx("probe %s: the state holds its most canaries (%d); "
		    "from now on the oldest outcome leaves the record for "
		    "each new canary (counted as folded; no count is lost)",
		    cfg->name, STATE_CANARIES_MAX);
	if ((c = state_add(st)) == NULL) {
		buf_free(&msg);
		oauth2_free_token(bearer);
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1, "no canary "
		    "sent: out of memory for its record");
		return -1;
	}
	/*
	 * The seq is taken before the record is saved: a state file never
	 * holds a canary at or beyond its next_seq (such a file is refused
	 * as corrupt), so a run killed while sending leaves a file the next
	 * run loads, and takes the canary as in flight.
	 */
	st->next_seq = seq + 1;
	if ((rc = canary_submitting(c, seq, token, rcpt, now)) == -1)
		error_set(&err, MC_ERR_NOMEM, "out of memory");
	else
		rc = state_save(cfg->state_dir, cfg->name, st, &err);
	if (rc == -1) {
		buf_free(&msg);
		oauth2_free_token(bearer);
		state_drop_last(st);
		st->next_seq = seq;
		error_prefix(&err, "no canary sent: it could not be recorded");
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1, err.msg);
		return -1;
	}
	rc = submit_send(cfg, bearer, rcpt, msg.data, msg.len, &res, &err);
	bearer = oauth2_free_token(bearer);
	buf_free(&msg);
	/* The record is the last one: nothing was added while sending. */
	c = &st->c[st->n - 1];
	if (rc == -1 && error_stopped(&err)) {
		/*
		 * Out of time or told to stop: the server's answer is
		 * unknown, so there is no outcome to record (UNKNOWN).
		 */
		state_drop_last(st);
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1, err.msg);
		return -1;
	}
	if (rc == 0) {
		canary_submitted(st, c, res.via, res.reply, res.queue_id,
		    res.submitted_at);
		c->handover = res.handover;
		log_debug("canary #%lu submitted to %s: %s", seq, res.via,
		    res.reply);
	} else {
		canary_submit_failed(st, c, res.via, res.reply, err.msg,
		    clock_wall());
		log_debug("canary #%lu not submitted: %s", seq, err.msg);
	}
	return rc;
}

/*
 * A canary left "submitting" by a run that was killed while sending it:
 * the server may have taken it, so it is in flight from its sending time
 * and counted as sent; if it never arrives it becomes hidden as usual.
 */
static void
adopt_submitting(struct state *st)
{
	size_t i;

	for (i = 0; i < st->n; i++)
		if (canary_adopt(st, &st->c[i]) == 0)
			log_info("canary #%lu: its run was stopped while "
			    "sending it; taken as in flight", st->c[i].seq);
}

static void
merge_run_errors(struct verdict *v, const struct verdict *runerr)
{
	size_t i;

	for (i = 0; i < runerr->n; i++)
		verdict_add(v, runerr->r[i].state, runerr->r[i].code,
		    runerr->r[i].canary, runerr->r[i].detail);
}

/* Reads one mailbox with cb; a failure is this run's UNKNOWN reason. */
static int
scan_one(struct scan_ctx *ctx, struct mailbox **mb, const char *url,
    const char *user, const char *password, int bounces, struct cursor *cur,
    mailbox_cb cb)
{
	struct mc_error e;

	ctx->where = bounces ? "bounce mailbox" : "test mailbox";
	if ((*mb = mailbox_open(ctx->cfg, url, user, password, bounces,
	    &e)) == NULL || mailbox_bearer(*mb, bounces ? OAUTH2_BOUNCE :
	    OAUTH2_MAILBOX, &e) == -1 || mailbox_scan(*mb, cur,
	    ctx->cfg->name, cb, ctx, &e) == -1) {
		error_prefix(&e, "cannot read the %s", ctx->where);
		verdict_add(ctx->runerr, MC_UNKNOWN, REASON_MAILBOX_FAILED, -1,
		    e.msg);
		return -1;
	}
	return 0;
}

/* The junk folders of a run: each one's mailbox (NULL: not read). */
struct junk_scan {
	struct mailbox	*mb[JUNK_FOLDERS_MAX];
	char		*url[JUNK_FOLDERS_MAX];
	size_t		 n;
};

/*
 * A junk folder that could not be read: one the server refuses (most
 * often, it does not exist) is a WARNING naming it; a broken link, the
 * deadline or a signal is UNKNOWN, as for the test mailbox.
 */
static void
junk_failed(struct scan_ctx *ctx, const char *folder, struct mc_error *e)
{
	char note[sizeof(e->msg) + 128];

	/* A folder the server will not open: a refused SELECT, EXAMINE or
	 * STATUS. A refused login or anything else is said as it is. */
	if (e->code == MC_ERR_SERVER && (strstr(e->msg, "IMAP SELECT") !=
	    NULL || strstr(e->msg, "IMAP EXAMINE") != NULL ||
	    strstr(e->msg, "IMAP STATUS") != NULL)) {
		snprintf(note, sizeof(note), "junk folder \"%s\" cannot be "
		    "read (does it exist?): %s", folder, e->msg);
		verdict_add(ctx->runerr, MC_WARNING, REASON_MAILBOX_FAILED, -1,
		    note);
		return;
	}
	if (e->code == MC_ERR_SERVER || e->code == MC_ERR_CONFIG) {
		snprintf(note, sizeof(note), "junk folder \"%s\" cannot be "
		    "read: %s", folder, e->msg);
		verdict_add(ctx->runerr, MC_WARNING, REASON_MAILBOX_FAILED, -1,
		    note);
		return;
	}
	snprintf(note, sizeof(note), "cannot read junk folder \"%s\": %s",
	    folder, e->msg);
	verdict_add(ctx->runerr, MC_UNKNOWN, REASON_MAILBOX_FAILED, -1, note);
}

/*
 * Reads each junk folder as the test mailbox is read (headers of the
 * probe's messages only), each with its own cursor, on a connection of
 * its own. A canary found there is delivered and flagged junk. What
 * happens here never stops the other folders from being read.
 */
static void
scan_junk(struct scan_ctx *ctx, struct junk_scan *js)
{
	const struct config *cfg = ctx->cfg;
	struct junk_list list;
	struct mc_error e;
	size_t i;

	memset(js, 0, sizeof(*js));
	if (cfg->junk_folders == NULL)
		return;
	if (junk_list_parse(cfg->junk_folders, &list, &e) == -1) {
		verdict_add(ctx->runerr, MC_UNKNOWN, REASON_INTERNAL, -1, e.msg);
		return;
	}
	ctx->where = "junk folder";
	for (i = 0; i < list.n; i++) {
		if ((js->url[i] = junk_folder_url(cfg->mailbox, list.name[i],
		    &e)) == NULL) {
			junk_failed(ctx, list.name[i], &e);
			continue;
		}
		if ((ctx->junk_cur = junk_cursor(ctx->st, js->url[i])) ==
		    NULL) {
			verdict_add(ctx->runerr, MC_UNKNOWN, REASON_INTERNAL,
			    -1, "out of memory for a junk folder's cursor");
			continue;
		}
		ctx->junk = list.name[i];
		deadline_step("reading a junk folder");
		if ((js->mb[i] = mailbox_open(cfg, js->url[i],
		    cfg->mailbox_user, cfg->mailbox_password, 0, &e)) == NULL ||
		    mailbox_bearer(js->mb[i], OAUTH2_MAILBOX, &e) == -1 ||
		    mailbox_scan(js->mb[i], ctx->junk_cur, cfg->name,
		    scan_found, ctx, &e) == -1) {
			js->mb[i] = mailbox_close(js->mb[i]);
			junk_failed(ctx, list.name[i], &e);
		}
	}
	js->n = list.n;
	ctx->junk = NULL;
	ctx->junk_cur = NULL;
	/* A folder left out of junk_folders takes its cursor with it. */
	for (i = 0; i < js->n && js->url[i] != NULL; i++)
		;
	if (i == js->n)
		junk_cursors_keep(ctx->st, js->url, js->n);
	junk_list_clear(&list);
}

/* Whether a junk folder read has found canaries to delete. */
static int
junk_pending(struct state *st, const struct junk_scan *js)
{
	struct cursor *cur;
	size_t i;

	for (i = 0; i < js->n; i++)
		if (js->mb[i] != NULL && (cur = junk_cursor(st,
		    js->url[i])) != NULL && cur->npending > 0)
			return 1;
	return 0;
}

/* Deletes what was found in the junk folders read. */
static void
junk_delete(struct state *st, const struct junk_scan *js)
{
	struct mc_error e;
	struct cursor *cur;
	size_t i;

	for (i = 0; i < js->n; i++)
		if (js->mb[i] != NULL && (cur = junk_cursor(st,
		    js->url[i])) != NULL && cur->npending > 0 &&
		    !deadline_expired() && mailbox_delete(js->mb[i], cur,
		    &e) == -1)
			log_warnx("found canaries stay in a junk folder until "
			    "the next run: %s", e.msg);
}

static void
junk_close(struct junk_scan *js)
{
	size_t i;

	for (i = 0; i < js->n; i++) {
		mailbox_close(js->mb[i]);
		free(js->url[i]);
	}
	memset(js, 0, sizeof(*js));
}

/* The notes past the first few, summed. */
static void
scan_sums(const struct scan_ctx *ctx)
{
	char note[200];

	if (ctx->skipped > SCAN_SKIPPED_NOTES) {
		snprintf(note, sizeof(note), "%zu more messages skipped unread "
		    "(%zu of them over max_message_size); see the mailboxes",
		    ctx->skipped - SCAN_SKIPPED_NOTES, ctx->oversize_more);
		verdict_add(ctx->runerr, MC_WARNING, REASON_OVERSIZE, -1, note);
	}
	if (ctx->unparseable > SCAN_SKIPPED_NOTES) {
		snprintf(note, sizeof(note), "%zu more unparseable bounces kept "
		    "in the bounce mailbox", ctx->unparseable -
		    SCAN_SKIPPED_NOTES);
		verdict_add(ctx->runerr, MC_WARNING, REASON_UNPARSEABLE, -1,
		    note);
	}
}

/*
 * Locks the probe and loads its state and key: the lock's fd, or -1 with
 * err set (nothing held). A state file moved aside is a run error.
 */
static int
probe_open(const struct config *cfg, unsigned flags, struct state *st,
    struct token_key *key, struct verdict *runerr, struct mc_error *err)
{
	struct mc_error e;
	int lockfd, rc;

	if ((lockfd = state_lock(cfg->state_dir, cfg->name, err)) == -1)
		return -1;
	deadline_step("loading state");
	rc = state_load(cfg->state_dir, cfg->name, st, &e);
	if (rc == STATE_LOAD_ERROR) {
		state_unlock(lockfd);
		*err = e;
		return -1;
	}
	if (rc == STATE_LOAD_CORRUPT)
		verdict_add(runerr, MC_UNKNOWN, REASON_STATE_RESET, -1, e.msg);
	adopt_submitting(st);
	if (flags & PROBE_RESET_COUNTERS)
		memset(&st->count, 0, sizeof(st->count));
	if (token_key_load(cfg->state_dir, key, err) == -1) {
		state_unlock(lockfd);
		state_clear(st);
		return -1;
	}
	return lockfd;
}

/* A new canary when the interval has passed since the last one. */
static void
send_if_due(const struct config *cfg, struct probe_report *rep,
    const struct token_key *key, struct verdict *runerr)
{
	if (cfg->no_send || (rep->st.last_sent != 0 && rep->now -
	    rep->st.last_sent < (double)cfg->interval))
		return;
	if (deadline_expired())
		verdict_add(runerr, MC_UNKNOWN, REASON_INTERNAL, -1,
		    deadline_signal ? "terminated by a signal before the "
		    "canary was submitted" : "ran out of time before the "
		    "canary was submitted");
	else if (send_canary(cfg, &rep->st, key, runerr) == 0)
		rep->sent = 1;
}

/*
 * Saves the state, then deletes what it no longer needs from the
 * mailboxes read (mb, bmb: NULL when not read), then saves again: a
 * crash between leaves messages to be deleted next time, never a canary
 * forgotten.
 */
static void
save_and_delete(const struct config *cfg, struct probe_report *rep,
    struct mailbox *mb, struct mailbox *bmb, const struct junk_scan *js)
{
	struct mc_error e;

	deadline_step("saving state");
	if (state_save(cfg->state_dir, cfg->name, &rep->st, &e) == -1) {
		verdict_add(&rep->v, MC_UNKNOWN, REASON_INTERNAL, -1, e.msg);
		return;
	}
	if ((mb == NULL || rep->st.mbox.npending == 0) &&
	    (bmb == NULL || rep->st.bounce.npending == 0) &&
	    !junk_pending(&rep->st, js))
		return;
	if (mb != NULL && rep->st.mbox.npending > 0 && !deadline_expired() &&
	    mailbox_delete(mb, &rep->st.mbox, &e) == -1)
		log_warnx("found canaries stay in the mailbox until the next "
		    "run: %s", e.msg);
	if (bmb != NULL && rep->st.bounce.npending > 0 && !deadline_expired() &&
	    mailbox_delete(bmb, &rep->st.bounce, &e) == -1)
		log_warnx("bounces stay in the bounce mailbox until the next "
		    "run: %s", e.msg);
	junk_delete(&rep->st, js);
	if (state_save(cfg->state_dir, cfg->name, &rep->st, &e) == -1)
		verdict_add(&rep->v, MC_UNKNOWN, REASON_INTERNAL, -1, e.msg);
}

int
probe_run(const struct config *cfg, unsigned flags,
    struct probe_report *rep, struct mc_error *err)
{
	struct token_key key;
	struct scan_ctx ctx;
	struct verdict runerr;
	struct mailbox *mb = NULL, *bmb = NULL;
	struct junk_scan js;
	int lockfd, mailbox_ok, bounce_ok = 0;
	unsigned long pin[VERDICT_REASONS_MAX + 1];
	size_t i, npin;

	memset(rep, 0, sizeof(*rep));
	memset(&runerr, 0, sizeof(runerr));
	state_init(&rep->st);
	if ((lockfd = probe_open(cfg, flags, &rep->st, &key, &runerr,
	    err)) == -1)
		return -1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.st = &rep->st;
	ctx.key = &key;
	ctx.now = clock_wall();
	ctx.runerr = &runerr;
	mailbox_ok = scan_one(&ctx, &mb, cfg->mailbox, cfg->mailbox_user,
	    cfg->mailbox_password, 0, &rep->st.mbox, scan_found) == 0;
	scan_junk(&ctx, &js);
	if (cfg->bounce_mailbox != NULL)
		bounce_ok = scan_one(&ctx, &bmb, cfg->bounce_mailbox,
		    cfg->bounce_user, cfg->bounce_password, 1,
		    &rep->st.bounce, bounce_found) == 0;
	scan_sums(&ctx);
	rep->found = ctx.found;

	rep->now = clock_wall();
	evaluate_advance(&rep->st, rep->now, cfg->lost_after);
	send_if_due(cfg, rep, &key, &runerr);

	rep->now = clock_wall();
	deadline_step("evaluating");
	evaluate(&rep->st, rep->now, &cfg->warning, &cfg->critical, &rep->v);
	evaluate_junk(&rep->st, cfg->junk, &rep->v);
	evaluate_auth(&rep->st, cfg->auth_results == AUTH_RESULTS_REQUIRE,
	    &rep->v);
	/* The verdict names canaries by seq: those it names stay. */
	npin = 0;
	if (rep->v.outcome >= 0)
		pin[npin++] = (unsigned long)rep->v.outcome;
	for (i = 0; i < rep->v.n; i++)
		if (rep->v.r[i].canary >= 0)
			pin[npin++] = (unsigned long)rep->v.r[i].canary;
	state_prune(&rep->st, (size_t)cfg->history, pin, npin, rep->now);
	merge_run_errors(&rep->v, &runerr);

	save_and_delete(cfg, rep, mailbox_ok ? mb : NULL, bounce_ok ? bmb :
	    NULL, &js);
	deadline_step("closing the mailbox");
	mailbox_close(mb);
	mailbox_close(bmb);
	junk_close(&js);
	state_unlock(lockfd);
	deadline_step("printing");
	return 0;
}

void
probe_report_clear(struct probe_report *rep)
{
	state_clear(&rep->st);
}
