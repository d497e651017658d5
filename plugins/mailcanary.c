/*
 * mailcanary - the operator's tool. "mailcanary classify FILE|-" reads
 * one message and prints what the bounce reader makes of it, as one JSON
 * object: exit 0 for a bounce, 1 for mail that is not a bounce, 2 for
 * input that cannot be read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ndr.h"

#define PROGNAME	"mailcanary"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: " PROGNAME " classify FILE|-\n"
	    "       " PROGNAME " --version\n");
}

static int
read_input(const char *path, struct buf *b, char *why, size_t whylen)
{
	char chunk[65536];
	FILE *fp;
	size_t n;

	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (fp == NULL) {
		snprintf(why, whylen, "cannot open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (buf_add(b, chunk, n) == -1) {
			snprintf(why, whylen, "%s is larger than %d bytes",
			    path, NDR_MESSAGE_MAX);
			break;
		}
	if (ferror(fp) && !b->overflow)
		snprintf(why, whylen, "cannot read %s: %s", path,
		    strerror(errno));
	if (fp != stdin)
		fclose(fp);
	return (b->overflow || why[0]) ? -1 : 0;
}

static int
classify(const char *path)
{
	struct ndr_report rep;
	struct mc_error err;
	struct buf b;
	char why[512] = "";
	json_t *o;
	char *s;
	int rc;

	buf_init(&b, NDR_MESSAGE_MAX);
	if (read_input(path, &b, why, sizeof(why)) == -1 ||
	    ndr_parse(b.data ? b.data : "", b.len, &rep, &err) == -1) {
		if (!why[0])
			snprintf(why, sizeof(why), "%s", err.msg);
		o = json_pack("{s:s, s:s}", "class", "unreadable", "error",
		    why);
		s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(o);
		buf_free(&b);
		return 2;
	}
	o = ndr_report_json(&rep);
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	rc = rep.class == NDR_NOT_BOUNCE ? 1 : 0;
	ndr_report_clear(&rep);
	buf_free(&b);
	return rc;
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf(PROGNAME " " PACKAGE_VERSION "\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "classify") == 0)
		return classify(argv[2]);
	usage(stderr);
	return 2;
}
