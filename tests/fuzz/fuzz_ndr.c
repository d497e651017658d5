/*
 * fuzz_ndr.c - libFuzzer target for the bounce reader: GMime's MIME
 * parsing under our walk, RFC 3464 groups, the text formats, the JSON.
 * Seeded with every message of the NDR corpus.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ndr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ndr_report rep;
	struct mc_error err;
	json_t *o;
	char *s;

	if (ndr_parse((const char *)data, len, &rep, &err) == 0) {
		o = ndr_report_json(&rep);
		s = json_dumps(o, JSON_COMPACT);
		if (s == NULL)
			abort();	/* every report must serialise */
		free(s);
		json_decref(o);
		ndr_report_clear(&rep);
	}
	return 0;
}
