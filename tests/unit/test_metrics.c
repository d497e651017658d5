/* Metrics: the text format's families, escaping, the histogram. */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void
probe(struct metrics_probe *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->state = 3;
	m->condition = 4;
	m->sent = 7;
	m->hidden = 2;
	m->bogus = 1;
	m->greylist_delay = -1;
	m->has_hist = 1;
}

/* The escaping of label values: backslash, double quote, newline. */
static void
test_escape(void **unused)
{
	struct metrics_probe m;
	struct buf b;

	(void)unused;
	probe(&m, "a\\b\"c\nd");
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&b, &m, 1, 0), 0);
	assert_non_null(strstr(b.data,
	    "mailcanary_canaries_sent_total{probe=\"a\\\\b\\\"c\\nd\"} 7\n"));
	assert_null(strstr(b.data, "c\nd"));
	buf_free(&b);
}

/* Each family once, its samples together; one state and condition. */
static void
test_families(void **unused)
{
	struct metrics_probe m[2];
	struct buf b;
	const char *p;

	(void)unused;
	probe(&m[0], "one");
	probe(&m[1], "two");
	m[1].last_delivery = 1700000000.5;
	m[1].greylist_delay = 300;
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&b, m, 2, 0), 0);
	p = strstr(b.data, "# TYPE mailcanary_canaries_hidden_total counter\n"
	    "mailcanary_canaries_hidden_total{probe=\"one\"} 2\n"
	    "mailcanary_canaries_hidden_total{probe=\"two\"} 2\n");
	assert_non_null(p);
	assert_null(strstr(p + 1, "# TYPE mailcanary_canaries_hidden_total"));
	assert_non_null(strstr(b.data, "mailcanary_probe_state{probe=\"one\","
	    "state=\"critical\"} 1\n"));
	assert_non_null(strstr(b.data, "mailcanary_probe_state{probe=\"one\","
	    "state=\"ok\"} 0\n"));
	assert_non_null(strstr(b.data, "mailcanary_probe_condition{probe="
	    "\"one\",condition=\"hidden\"} 1\n"));
	assert_non_null(strstr(b.data, "mailcanary_bounces_total{probe="
	    "\"one\",class=\"bogus\"} 1\n"));
	/* The greylist delay only where a delivery tells it. */
	assert_null(strstr(b.data, "mailcanary_greylist_delay_seconds{probe="
	    "\"one\"}"));
	assert_non_null(strstr(b.data, "mailcanary_greylist_delay_seconds{"
	    "probe=\"two\"} 300\n"));
	assert_non_null(strstr(b.data, "mailcanary_last_delivery_timestamp_"
	    "seconds{probe=\"two\"} 1700000000.5\n"));
	assert_non_null(strstr(b.data, "mailcanary_build_info{version=\""));
	buf_free(&b);
	/* A file of one probe: build_info carries it. */
	buf_init(&b, 1 << 20);
	m[0].has_hist = 0;
	assert_int_equal(metrics_render(&b, m, 1,
	    METRICS_BUILD_INFO_PROBE), 0);
	assert_non_null(strstr(b.data, "mailcanary_build_info{probe=\"one\","
	    "version=\""));
	assert_null(strstr(b.data, "latency"));
	buf_free(&b);
}

/* Buckets: le is inclusive, cumulative counts, +Inf is the count. */
static void
test_histogram(void **unused)
{
	struct metrics_probe m;
	struct buf b;

	(void)unused;
	probe(&m, "h");
	metrics_observe(&m.hist, 0.5);
	metrics_observe(&m.hist, 5);
	metrics_observe(&m.hist, 301);
	metrics_observe(&m.hist, 99999);
	metrics_observe(&m.hist, -3);
	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(&b, &m, 1, 0), 0);
	assert_non_null(strstr(b.data, "_bucket{probe=\"h\",le=\"1\"} 2\n"));
	assert_non_null(strstr(b.data, "_bucket{probe=\"h\",le=\"5\"} 3\n"));
	assert_non_null(strstr(b.data, "_bucket{probe=\"h\",le=\"300\"} 3\n"));
	assert_non_null(strstr(b.data, "_bucket{probe=\"h\",le=\"600\"} 4\n"));
	assert_non_null(strstr(b.data, "_bucket{probe=\"h\",le=\"14400\"} 4\n"));
	assert_non_null(strstr(b.data, "_bucket{probe=\"h\",le=\"+Inf\"} 5\n"));
	assert_non_null(strstr(b.data, "_count{probe=\"h\"} 5\n"));
	assert_non_null(strstr(b.data, "_sum{probe=\"h\"} 100305.5\n"));
	buf_free(&b);
}

static void
test_listen(void **unused)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct mc_error err;

	(void)unused;
	assert_int_equal(metrics_parse_listen("127.0.0.1:9555", &ss, &len,
	    &err), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(metrics_parse_listen("[::1]:1", &ss, &len, &err), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(metrics_parse_listen("[::1]", &ss, &len, &err), -1);
	assert_int_equal(metrics_parse_listen("[127.0.0.1]:80", &ss, &len,
	    &err), -1);
	assert_int_equal(metrics_parse_listen("127.0.0.1:80x", &ss, &len,
	    &err), -1);
	assert_int_equal(metrics_parse_listen(":80", &ss, &len, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_listen),
	};

	return RUN_TESTS(tests);
}
