/*
 * The NDR corpus: every tests/ndr/<case>/message.eml is classified and
 * compared with the fields its expected.json names. One test per case.
 * Special keys: "exit" (what `mailcanary classify` would exit with) and
 * "recipients_count".
 */
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "ndr.h"

static char corpus[4096];

static void
run_case(void **state)
{
	const char *name = *state;
	char path[4200];
	struct ndr_report rep;
	struct mc_error err;
	json_error_t jerr;
	json_t *want, *got, *v;
	const char *key;
	struct buf b;
	FILE *fp;
	char chunk[8192];
	size_t n;
	int rc, exit_code;

	snprintf(path, sizeof(path), "%s/%s/expected.json", corpus, name);
	want = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (want == NULL)
		fail_msg("%s: %s", path, jerr.text);
	snprintf(path, sizeof(path), "%s/%s/message.eml", corpus, name);
	assert_non_null(fp = fopen(path, "rb"));
	buf_init(&b, NDR_MESSAGE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	rc = ndr_parse(b.data ? b.data : "", b.len, &rep, &err);
	if (rc == -1) {
		got = json_pack("{s:s}", "class", "unreadable");
		exit_code = 2;
	} else {
		got = ndr_report_json(&rep);
		exit_code = rep.class == NDR_NOT_BOUNCE ? 1 : 0;
		json_object_set_new(got, "recipients_count",
		    json_integer((json_int_t)(rep.nrcpt)));
		ndr_report_clear(&rep);
	}
	json_object_foreach(want, key, v) {
		json_t *g = json_object_get(got, key);

		if (strcmp(key, "exit") == 0) {
			assert_int_equal(exit_code, json_integer_value(v));
			continue;
		}
		if (!json_equal(g, v)) {
			char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;
			char *ws = json_dumps(v, JSON_ENCODE_ANY);

			print_error("%s: %s is %s, expected %s\n", name, key,
			    gs ? gs : "missing", ws);
			free(gs);
			free(ws);
			fail();
		}
	}
	json_decref(want);
	json_decref(got);
	buf_free(&b);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct CMUnitTest *)a)->name,
	    ((const struct CMUnitTest *)b)->name);
}

int
main(void)
{
	struct CMUnitTest *tests = NULL;
	const char *top = getenv("top_srcdir");
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(corpus, sizeof(corpus), "%s/tests/ndr", top ? top : ".");
	if ((d = opendir(corpus)) == NULL) {
		printf("Bail out! cannot open %s\n", corpus);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		tests = realloc(tests, (n + 1) * sizeof(*tests));
		memset(&tests[n], 0, sizeof(tests[n]));
		tests[n].name = strdup(de->d_name);
		tests[n].test_func = run_case;
		tests[n].initial_state = (void *)tests[n].name;
		n++;
	}
	closedir(d);
	qsort(tests, n, sizeof(*tests), name_cmp);
	for (size_t i = 0; i < n; i++)
		tests[i].initial_state = (void *)tests[i].name;
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests("ndr corpus", tests, n, NULL, NULL);
}
