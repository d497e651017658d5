/*
 * mailcanary - the operator's tool. "mailcanary classify FILE|-" reads
 * one message and prints what the bounce reader makes of it, as one JSON
 * object: exit 0 for a bounce, 1 for mail that is not a bounce, 2 for
 * input that cannot be read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ndr.h"

#define PROGNAME	"mailcanary"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: " PROGNAME " classify FILE|-\n"
	    "       " PROGNAME " --version\n");
}

/*
 * An fd holding the message: the file itself, or stdin copied to an
 * unlinked temporary file (the reader needs to go back to the start).
 */
static int
open_input(const char *path, char *why, size_t whylen)
{
	char chunk[65536], tmpl[] = "/tmp/mailcanary-classify.XXXXXX";
	struct stat st;
	size_t total = 0;
	ssize_t n;
	int fd;

	if (strcmp(path, "-") != 0) {
		if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
		    O_CLOEXEC)) == -1 || fstat(fd, &st) == -1) {
			snprintf(why, whylen, "cannot open %s: %s", path,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			snprintf(why, whylen, "%s is not a regular file",
			    path);
			close(fd);
			return -1;
		}
		if (st.st_size > NDR_MESSAGE_MAX) {
			snprintf(why, whylen, "%s is larger than %d bytes",
			    path, NDR_MESSAGE_MAX);
			close(fd);
			return -1;
		}
		return fd;
	}
	if ((fd = mkstemp(tmpl)) == -1) {
		snprintf(why, whylen, "cannot make a temporary file: %s",
		    strerror(errno));
		return -1;
	}
	unlink(tmpl);
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
		total += (size_t)n;
		if (total > NDR_MESSAGE_MAX) {
			snprintf(why, whylen, "the input is larger than %d "
			    "bytes", NDR_MESSAGE_MAX);
			close(fd);
			return -1;
		}
		if (write(fd, chunk, (size_t)n) != n) {
			snprintf(why, whylen, "cannot write a temporary "
			    "file: %s", strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (n == -1) {
		snprintf(why, whylen, "cannot read the input: %s",
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
classify(const char *path)
{
	struct ndr_report rep;
	struct mc_error err;
	char why[512] = "";
	json_t *o;
	char *s;
	int rc, fd;

	if ((fd = open_input(path, why, sizeof(why))) == -1 ||
	    ndr_parse_fd(fd, &rep, &err) == -1) {
		if (!why[0])
			snprintf(why, sizeof(why), "%s", err.msg);
		o = json_pack("{s:s, s:s}", "class", "unreadable", "error",
		    why);
		s = json_dumps(o, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
		json_decref(o);
		if (fd != -1)
			close(fd);
		return 2;
	}
	close(fd);
	o = ndr_report_json(&rep);
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	rc = rep.class == NDR_NOT_BOUNCE ? 1 : 0;
	ndr_report_clear(&rep);
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
