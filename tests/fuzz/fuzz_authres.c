/*
 * fuzz_authres.c - libFuzzer target for Authentication-Results: the
 * input as one field's value, and as a header block whose trusted
 * fields are read for an authserv-id taken from its first line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "message.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct headers h;
	static struct authres_field f;
	struct authres a;
	char id[64], *s;
	size_t n;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	(void)authres_parse(s, &f);
	n = strcspn(s, "\r\n;");
	if (n >= sizeof(id))
		n = sizeof(id) - 1;
	memcpy(id, s, n);
	id[n] = '\0';
	free(s);
	if (headers_parse((const char *)data, len, &h, NULL) == 0) {
		authres_read(&h, id, &a);
		authres_read(&h, "mx.greylist.test", &a);
		headers_free(&h);
	}
	return 0;
}
