/* Tokens: verifiable, bound to the probe, unforgeable, findable in text. */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "token.h"

static struct token_key key = { { 1, 2, 3, 4, 5, 6, 7, 8 } };

static void
test_roundtrip(void **unused)
{
	char tok[TOKEN_MAX];
	unsigned long seq;
	time_t t;

	(void)unused;
	token_make(&key, "web", 41, 1763790601, tok);
	assert_int_equal(token_verify(&key, "web", tok, &seq, &t), 0);
	assert_int_equal(seq, 41);
	assert_int_equal(t, 1763790601);
	/* Only lowercase hex, digits and '-': fits a '+' extension. */
	assert_int_equal(strspn(tok, "0123456789abcdef-"), strlen(tok));
	assert_true(strlen(tok) < 48);
}

static void
test_foreign_and_forged(void **unused)
{
	struct token_key other = { { 9 } };
	char tok[TOKEN_MAX], bad[TOKEN_MAX];
	size_t i;

	(void)unused;
	token_make(&key, "web", 7, 1763790601, tok);
	/* Another probe, another key: not ours. */
	assert_int_equal(token_verify(&key, "web2", tok, NULL, NULL), -1);
	assert_int_equal(token_verify(&other, "web", tok, NULL, NULL), -1);
	/* Any changed character breaks it. */
	for (i = 0; i < strlen(tok); i++) {
		memcpy(bad, tok, sizeof(bad));
		bad[i] = bad[i] == '1' ? '2' : '1';
		if (strcmp(bad, tok) != 0)
			assert_int_equal(token_verify(&key, "web", bad, NULL,
			    NULL), -1);
	}
	assert_int_equal(token_verify(&key, "web", "", NULL, NULL), -1);
	assert_int_equal(token_verify(&key, "web", "1-2-3", NULL, NULL), -1);
	snprintf(bad, sizeof(bad), "%s0", tok);
	assert_int_equal(token_verify(&key, "web", bad, NULL, NULL), -1);
}

static void
test_find(void **unused)
{
	char tok[TOKEN_MAX], found[TOKEN_MAX], text[256];

	(void)unused;
	token_make(&key, "web", 12, 1763790601, tok);
	snprintf(text, sizeof(text), "Re: mailcanary web %s (bounce)", tok);
	assert_int_equal(token_find(text, strlen(text), found), 0);
	assert_string_equal(found, tok);
	snprintf(text, sizeof(text), "<canary+%s@greylist.test>", tok);
	assert_int_equal(token_find(text, strlen(text), found), 0);
	assert_string_equal(found, tok);
	assert_int_equal(token_find("no token here 12-ab-cd", 22, found), -1);
}

static void
test_key_file(void **unused)
{
	char dir[] = "/tmp/mc-token-XXXXXX", path[64];
	struct token_key k1, k2;
	struct mc_error err;
	struct stat st;

	(void)unused;
	assert_non_null(tap_tmpdir(dir));
	assert_int_equal(token_key_load(dir, &k1, &err), 0);
	snprintf(path, sizeof(path), "%s/key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(token_key_load(dir, &k2, &err), 0);
	assert_memory_equal(k1.bytes, k2.bytes, TOKEN_KEY_LEN);
	/* A key others can read is refused, not used. */
	chmod(path, 0644);
	assert_int_equal(token_key_load(dir, &k2, &err), -1);
	assert_non_null(strstr(err.msg, "chmod 600"));
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_foreign_and_forged),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_key_file),
	};

	return RUN_TESTS(tests);
}
