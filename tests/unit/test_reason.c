/*
 * The table of reasons and of states: each row where its code says, and
 * the conditions the daemon reports held against MAILCANARY-MIB's
 * McCondition (and the states against McState), read from the MIB text.
 */
#include "tap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "reason.h"

#define MIB_LABELS_MAX	32

struct mib_enum {
	size_t	n;
	char	label[MIB_LABELS_MAX][64];
	long	value[MIB_LABELS_MAX];
};

static char *
mib_text(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	FILE *fp;
	char *buf;
	size_t n;

	snprintf(path, sizeof(path), "%s/mibs/MAILCANARY-MIB.txt",
	    top != NULL ? top : ".");
	if ((fp = fopen(path, "r")) == NULL)
		fail_msg("cannot open %s", path);
	buf = calloc(1, 256 * 1024);
	assert_non_null(buf);
	n = fread(buf, 1, 256 * 1024 - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* The labels and values of NAME ::= TEXTUAL-CONVENTION ... INTEGER { }. */
static void
mib_enum(const char *text, const char *name, struct mib_enum *e)
{
	char head[128];
	const char *p, *end;
	char *q;

	memset(e, 0, sizeof(*e));
	snprintf(head, sizeof(head), "%s ::= TEXTUAL-CONVENTION", name);
	if ((p = strstr(text, head)) == NULL)
		fail_msg("no %s in the MIB", head);
	if ((p = strstr(p, "SYNTAX")) == NULL ||
	    (p = strstr(p, "INTEGER")) == NULL ||
	    (p = strchr(p, '{')) == NULL || (end = strchr(p, '}')) == NULL)
		fail_msg("no INTEGER { } for %s", name);
	p++;
	while (p < end) {
		size_t len = 0;

		while (p < end && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (p >= end)
			break;
		while (isalnum((unsigned char)p[len]))
			len++;
		assert_true(len > 0 && len < sizeof(e->label[0]));
		assert_true(e->n < MIB_LABELS_MAX);
		memcpy(e->label[e->n], p, len);
		e->label[e->n][len] = '\0';
		p += len;
		assert_int_equal(*p, '(');
		e->value[e->n] = strtol(p + 1, &q, 10);
		assert_true(q > p + 1 && *q == ')');
		p = q + 1;
		e->n++;
	}
}

static void
test_table_order(void **unused)
{
	int i;

	(void)unused;
	for (i = 0; i <= REASON_MAX; i++) {
		const struct reason_info *r = reason_info(i);

		assert_int_equal(r->code, i);
		assert_non_null(r->name);
		assert_true(r->state >= MC_OK && r->state <= MC_UNKNOWN);
	}
	/* Names the JSON output has always given. */
	assert_string_equal(reason_name(REASON_BOGUS_BOUNCE), "bogus_bounce");
	assert_string_equal(reason_name(REASON_UNPARSEABLE),
	    "unparseable_bounce");
	assert_string_equal(reason_name(REASON_INTERNAL), "internal");
	assert_string_equal(reason_name(99), "internal");
	/* One name, one reason. */
	for (i = 0; i <= REASON_MAX; i++) {
		int j;

		for (j = i + 1; j <= REASON_MAX; j++)
			assert_string_not_equal(reason_name(i), reason_name(j));
	}
}

static void
test_conditions_match_mib(void **unused)
{
	struct mib_enum e;
	char *text = mib_text();
	size_t k;
	int i, c;

	(void)unused;
	mib_enum(text, "McCondition", &e);
	assert_int_equal(e.n, MC_COND_MAX);
	/* Every MIB condition is ours, by number and label... */
	for (k = 0; k < e.n; k++) {
		assert_true(e.value[k] >= 1 && e.value[k] <= MC_COND_MAX);
		if (strcmp(reason_condition_name((int)e.value[k]),
		    e.label[k]) != 0)
			fail_msg("McCondition %s(%ld): the table says %s",
			    e.label[k], e.value[k],
			    reason_condition_name((int)e.value[k]));
	}
	/* ...and every reason maps to one of them. */
	for (i = 0; i <= REASON_MAX; i++) {
		c = reason_condition(i);
		for (k = 0; k < e.n; k++)
			if (e.value[k] == c)
				break;
		if (k == e.n)
			fail_msg("reason %s: condition %d is not in the MIB",
			    reason_name(i), c);
	}
	assert_string_equal(reason_condition_name(0), "none");

	mib_enum(text, "McState", &e);
	assert_int_equal(e.n, 4);
	for (k = 0; k < e.n; k++) {
		for (i = MC_OK; i <= MC_UNKNOWN; i++)
			if (mc_state_mib(i) == e.value[k])
				break;
		assert_true(i <= MC_UNKNOWN);
		/* McState labels are the state names in lower case. */
		for (c = 0; e.label[k][c]; c++)
			e.label[k][c] = (char)toupper((unsigned char)
			    e.label[k][c]);
		assert_string_equal(mc_state_name(i), e.label[k]);
	}
	free(text);
}

static void
test_states(void **unused)
{
	(void)unused;
	/* OK < WARNING < UNKNOWN < CRITICAL. */
	assert_int_equal(mc_state_worst(MC_OK, MC_WARNING), MC_WARNING);
	assert_int_equal(mc_state_worst(MC_UNKNOWN, MC_WARNING), MC_UNKNOWN);
	assert_int_equal(mc_state_worst(MC_UNKNOWN, MC_CRITICAL),
	    MC_CRITICAL);
	assert_int_equal(mc_state_worst(MC_CRITICAL, MC_UNKNOWN),
	    MC_CRITICAL);
	assert_string_equal(mc_state_name(MC_WARNING), "WARNING");
	assert_string_equal(mc_state_name(7), "UNKNOWN");
}

static void
test_verdict_condition(void **unused)
{
	struct verdict v;

	(void)unused;
	memset(&v, 0, sizeof(v));
	assert_int_equal(verdict_condition(&v), MC_COND_PENDING);
	verdict_add(&v, MC_OK, REASON_DELIVERED, -1, NULL);
	assert_int_equal(verdict_condition(&v), MC_COND_DELIVERED);
	verdict_add(&v, MC_WARNING, REASON_DELAYED, -1, NULL);
	verdict_add(&v, MC_WARNING, REASON_OVERDUE, -1, NULL);
	/* The first reason of the worst state. */
	assert_int_equal(verdict_condition(&v), MC_COND_DELAYED);
	verdict_add(&v, MC_UNKNOWN, REASON_MAILBOX_FAILED, -1, "x");
	assert_int_equal(verdict_condition(&v), MC_COND_MAILBOX_FAILED);
	verdict_add(&v, MC_CRITICAL, REASON_LATE, -1, NULL);
	assert_int_equal(verdict_condition(&v), MC_COND_HIDDEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_order),
		cmocka_unit_test(test_conditions_match_mib),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_verdict_condition),
	};

	return RUN_TESTS(tests);
}
