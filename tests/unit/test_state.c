/* State: round trip, atomic replace, corruption moved aside, the lock. */
#include "tap.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadline.h"
#include "state.h"

static char dir[64];

static void
fresh_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mc-state-XXXXXX");
	assert_non_null(tap_tmpdir(dir));
}

static void
put(const char *name, const char *text, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Whether DIR/NAME.json holds the text. */
static int
file_has(const char *d, const char *name, const char *text)
{
	char path[128], buf[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.json", d, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

static int
count_aside(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    strstr(de->d_name, ".corrupt-") != NULL)
			n++;
	closedir(d);
	return n;
}

static void
test_roundtrip(void **unused)
{
	struct state st, back;
	struct canary *c;
	struct mc_error err;

	(void)unused;
	fresh_dir();
	state_init(&st);
	st.next_seq = 3;
	st.last_sent = 1795325409.25;
	st.count.sent = 2;
	st.count.delivered = 1;
	st.mbox.uidvalidity = 77;
	st.mbox.last_uid = 12;
	state_set_str(&st.mbox.url, "imap://h/INBOX");
	cursor_add_pending(&st.mbox, "12");
	state_set_str(&st.bounce.url, "imap://h/Bounces");
	st.bounce.last_uid = 3;
	st.count.bogus_ndr = 4;
	c = state_add(&st);
	c->seq = 1;
	strcpy(c->token, "1-abc-0123456789abcdef01234567");
	c->status = CANARY_DELIVERED;
	c->latency = 12;
	c->handover = 0.125;
	c->greylisted = 1;
	c->greylist_delay = 8;
	state_set_str(&c->queue_id, "4F2A1A72667");
	/* 8-bit junk from a bounce: kept (as '?'), not dropped. */
	state_set_str(&c->bounce_diag, "550 Empf\xe4nger \xff");
	c->bounce_class = NDR_BOGUS;
	c->hops = calloc(1, sizeof(*c->hops));
	c->nhops = 1;
	strcpy(c->hops[0].by, "mx");
	c->hops[0].at = 1795325409;
	c = state_add(&st);
	c->seq = 2;
	strcpy(c->token, "2-abd-0123456789abcdef01234567");
	c->status = CANARY_IN_FLIGHT;
	assert_int_equal(state_save(dir, "p", &st, &err), 0);
	assert_int_equal(state_load(dir, "p", &back, &err), STATE_LOAD_OK);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.next_seq, 3);
	assert_true(back.last_sent == 1795325409.25);
	assert_int_equal(back.count.delivered, 1);
	assert_int_equal(back.mbox.last_uid, 12);
	assert_int_equal(back.mbox.npending, 1);
	assert_string_equal(back.bounce.url, "imap://h/Bounces");
	assert_int_equal(back.bounce.last_uid, 3);
	assert_int_equal(back.count.bogus_ndr, 4);
	assert_string_equal(back.c[0].queue_id, "4F2A1A72667");
	assert_string_equal(back.c[0].bounce_diag, "550 Empf?nger ?");
	assert_int_equal(back.c[0].greylist_delay, 8);
	/* The hand-over comes back; a canary without one keeps 0. */
	assert_true(back.c[0].handover == 0.125);
	assert_true(back.c[1].handover == 0);
	assert_int_equal(back.c[0].nhops, 1);
	assert_string_equal(back.c[0].hops[0].by, "mx");
	assert_int_equal(back.c[1].status, CANARY_IN_FLIGHT);
	/* The bounce class by its name, as ndr_class_name() gives it. */
	assert_int_equal(back.c[0].bounce_class, NDR_BOGUS);
	assert_int_equal(back.c[1].bounce_class, NDR_NOT_BOUNCE);
	assert_true(file_has(dir, "p", "\"bounce_class\": "
	    "\"transient_as_permanent\""));
	state_clear(&back);
	state_clear(&st);
	/* No file yet: a fresh state, not an error. */
	assert_int_equal(state_load(dir, "none", &back, &err), STATE_LOAD_OK);
	assert_int_equal(back.n, 0);
	assert_int_equal(back.next_seq, 1);
}

/* The codec alone: text to state and back, no file involved. */
static void
test_codec(void **unused)
{
	struct state st, back;
	struct canary *c;
	char why[256], *text, *again;

	(void)unused;
	state_init(&st);
	st.next_seq = 8;
	st.count.late = 3;
	c = state_add(&st);
	c->seq = 7;
	strcpy(c->token, "7-abc-0123456789abcdef01234567");
	c->status = CANARY_BOUNCED;
	c->bounce_class = NDR_PERMANENT;
	state_set_str(&c->bounce_status, "5.1.1");
	assert_non_null(text = state_json_dump(&st));
	assert_int_equal(state_json_parse(text, strlen(text), &back, why,
	    sizeof(why)), 0);
	assert_int_equal(back.n, 1);
	assert_int_equal(back.count.late, 3);
	assert_int_equal(back.c[0].bounce_class, NDR_PERMANENT);
	assert_non_null(again = state_json_dump(&back));
	assert_string_equal(text, again);
	free(again);
	state_clear(&back);
	assert_int_equal(state_json_parse(text, 10, &back, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "not JSON"));
	assert_int_equal(back.n, 0);
	free(text);
	/* A file from before the hand-over was kept loads: 0, not measured. */
	text = strdup("{\"format_version\": 1, \"next_seq\": 8, "
	    "\"canaries\": [{\"seq\": 7, \"token\": \"t\", \"status\": "
	    "\"in_flight\", \"submitted_at\": 1795325409.5}]}");
	assert_int_equal(state_json_parse(text, strlen(text), &back, why,
	    sizeof(why)), 0);
	assert_int_equal(back.n, 1);
	assert_true(back.c[0].handover == 0);
	state_clear(&back);
	free(text);
	/* A hand-over that is not a number is refused. */
	text = strdup("{\"format_version\": 1, \"next_seq\": 8, "
	    "\"canaries\": [{\"seq\": 7, \"token\": \"t\", \"status\": "
	    "\"in_flight\", \"handover\": \"fast\"}]}");
	assert_int_equal(state_json_parse(text, strlen(text), &back, why,
	    sizeof(why)), -1);
	assert_int_equal(back.n, 0);
	free(text);
	/* A canary at next_seq: the seq was not taken before it was saved. */
	text = strdup("{\"format_version\": 1, \"next_seq\": 7, "
	    "\"canaries\": [{\"seq\": 7, \"token\": \"t\", \"status\": "
	    "\"submitting\"}]}");
	assert_int_equal(state_json_parse(text, strlen(text), &back, why,
	    sizeof(why)), -1);
	assert_string_equal(why, "a canary's seq is beyond next_seq");
	assert_int_equal(back.n, 0);
	free(text);
	state_clear(&st);
}

static void
test_corrupt(void **unused)
{
	static const char *bad[] = {
		"",
		"{\"format_version\": 1, \"next_seq\": 2, \"canaries\": [",
		"not json at all",
		"[]",
		"{\"format_version\": 99, \"next_seq\": 1}",
		"{\"format_version\": 1, \"next_seq\": 1, \"next_seq\": 2}",
		"{\"format_version\": 1, \"next_seq\": \"x\"}",
		"{\"format_version\": 1, \"next_seq\": 5, \"canaries\": "
		    "[{\"seq\": 9, \"token\": \"t\", \"status\": \"delivered\"}]}",
		"{\"format_version\": 1, \"next_seq\": 5, \"canaries\": "
		    "[{\"seq\": 1, \"token\": \"t\", \"status\": \"eaten\"}]}",
		"{\"format_version\": 1, \"next_seq\": 5, \"canaries\": "
		    "[{\"seq\": 2, \"token\": \"t\", \"status\": \"hidden\"},"
		    "{\"seq\": 1, \"token\": \"u\", \"status\": \"hidden\"}]}",
		"{\"format_version\": 1, \"next_seq\": 5, \"counters\": []}",
		"{\"format_version\": 1, \"next_seq\": 5, \"canaries\": "
		    "[{\"seq\": 1, \"token\": \"t\", \"status\": \"bounced\", "
		    "\"bounce_class\": \"eaten\"}]}",
	};
	struct mc_error err;
	struct state st;
	size_t i;

	(void)unused;
	fresh_dir();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("# %s\n", bad[i]);
		put("p.json", bad[i], strlen(bad[i]));
		assert_int_equal(state_load(dir, "p", &st, &err),
		    STATE_LOAD_CORRUPT);
		assert_non_null(strstr(err.msg, "moved aside to"));
		assert_int_equal(st.n, 0);
		/* Moved, not deleted: the file is there to look at. */
		{
			char aside[256], *p = strstr(err.msg, "moved aside to ");

			assert_non_null(p);
			snprintf(aside, sizeof(aside), "%s", p + 15);
			*strchr(aside, ',') = '\0';
			assert_int_equal(access(aside, F_OK), 0);
			assert_int_equal(unlink(aside), 0);
		}
		state_clear(&st);
		/* The next load starts afresh without complaint. */
		assert_int_equal(state_load(dir, "p", &st, &err),
		    STATE_LOAD_OK);
		state_clear(&st);
		sleep(0);
	}
	assert_int_equal(count_aside("p.json"), 0);
}

static void
test_atomic_leftovers(void **unused)
{
	struct mc_error err;
	struct state st;
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)unused;
	fresh_dir();
	state_init(&st);
	assert_int_equal(state_save(dir, "p", &st, &err), 0);
	assert_int_equal(state_save(dir, "p", &st, &err), 0);
	/* Only the state file: no temporary file left behind. */
	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 1);
	/* A writer killed before its rename leaves NAME.json.XXXXXX; the
	 * next load (under the lock) removes it, and nothing else. */
	put("p.json.Ab12Cd", "{", 1);
	put("p.json.corrupt-20261122T053001Z", "{", 1);
	put("other.json.Ab12Cd", "{", 1);
	assert_int_equal(state_load(dir, "p", &st, &err), STATE_LOAD_OK);
	state_clear(&st);
	n = 0;
	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	assert_int_equal(n, 3);
	assert_int_equal(access("/nonexistent", F_OK), -1);
	/* A directory that does not exist is an error naming it. */
	assert_int_equal(state_save("/nonexistent-dir", "p", &st, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent-dir"));
}

static void
test_lock(void **unused)
{
	struct mc_error err;
	char path[128];
	double t0;
	int fd, other;

	(void)unused;
	fresh_dir();
	deadline_start(1.0);
	fd = state_lock(dir, "p", &err);
	assert_true(fd >= 0);
	/* A second holder (another open file description) must wait. */
	snprintf(path, sizeof(path), "%s/p.lock", dir);
	other = open(path, O_RDWR);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	close(other);
	t0 = clock_mono();
	assert_int_equal(state_lock(dir, "p", &err), -1);
	assert_non_null(strstr(err.msg, "another run"));
	/* It gave up when the budget (minus the reserve) was spent. */
	assert_true(clock_mono() - t0 < 1.0);
	state_unlock(fd);
	fd = state_lock(dir, "p", &err);
	assert_true(fd >= 0);
	state_unlock(fd);
	assert_int_equal(state_lock("/nonexistent-dir", "p", &err), -1);
	assert_non_null(strstr(err.msg, "state directory /nonexistent-dir"));
}

static void
test_prune(void **unused)
{
	struct state st;
	struct canary *c;
	unsigned long i, pin = 1;

	(void)unused;
	state_init(&st);
	for (i = 1; i <= 10; i++) {
		c = state_add(&st);
		c->seq = i;
		c->status = i == 3 ? CANARY_IN_FLIGHT : i == 2 ?
		    CANARY_HIDDEN : CANARY_DELIVERED;
		c->hidden_at = 1000;
	}
	state_prune(&st, 3, &pin, 1, 2000);
	/* Kept: pinned #1, young hidden #2, in flight #3, newest 3 others. */
	assert_int_equal(st.n, 6);
	assert_int_equal(st.c[0].seq, 1);
	assert_int_equal(st.c[1].seq, 2);
	assert_int_equal(st.c[2].seq, 3);
	assert_int_equal(st.c[3].seq, 8);
	assert_int_equal(st.c[5].seq, 10);
	state_clear(&st);
}

/* A full record makes room: the oldest outcome, then the oldest hidden. */
static void
test_make_room(void **unused)
{
	struct state st;
	struct canary *c;
	size_t i;

	(void)unused;
	state_init(&st);
	for (i = 0; i < STATE_CANARIES_MAX; i++) {
		assert_non_null(c = state_add(&st));
		c->seq = i + 1;
		c->status = i == 5 ? CANARY_DELIVERED : CANARY_HIDDEN;
	}
	assert_null(state_add(&st));
	st.count.hidden = STATE_CANARIES_MAX - 1;
	/* The one delivered goes first, though five hidden are older. */
	assert_int_equal(state_make_room(&st), 0);
	assert_int_equal(st.n, STATE_CANARIES_MAX - 1);
	assert_int_equal(st.c[5].seq, 7);
	assert_int_equal(st.count.folded, 1);
	assert_non_null(state_add(&st));
	st.c[st.n - 1].status = CANARY_IN_FLIGHT;
	/* Then the oldest hidden; the counters keep every outcome. */
	assert_int_equal(state_make_room(&st), 0);
	assert_int_equal(st.c[0].seq, 2);
	assert_int_equal(st.count.hidden, STATE_CANARIES_MAX - 1);
	assert_int_equal(st.count.folded, 2);
	/* Nothing but canaries in flight: no room, nothing dropped. */
	for (i = 0; i < st.n; i++)
		st.c[i].status = CANARY_IN_FLIGHT;
	assert_non_null(state_add(&st));
	assert_int_equal(state_make_room(&st), -1);
	assert_int_equal(st.n, STATE_CANARIES_MAX);
	/* A record not yet sent can be taken back. */
	st.c[st.n - 1].status = CANARY_SUBMITTING;
	state_drop_last(&st);
	assert_int_equal(st.n, STATE_CANARIES_MAX - 1);
	assert_string_equal(canary_status_name(CANARY_SUBMITTING),
	    "submitting");
	assert_int_equal(canary_status_parse("submitting"), CANARY_SUBMITTING);
	state_clear(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_atomic_leftovers),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_make_room),
	};

	return RUN_TESTS(tests);
}
