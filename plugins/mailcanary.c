/*
 * mailcanary - the operator's tool. "mailcanary classify FILE|-" reads
 * one message and prints what the bounce reader makes of it, as one JSON
 * object: exit 0 for a bounce, 1 for mail that is not a bounce, 2 for
 * input that cannot be read.
 *
 * "mailcanary oauth2-token -C FILE NAME" gets the access token of the
 * [oauth2 NAME] section of FILE as the probes would (from the cache in
 * the state directory, or fetched and cached) and prints what it knows of
 * it, as JSON; the token itself only with --print-token. Exit 0 with a
 * token, 1 when none could be had, 2 for a usage or configuration error.
 */
#include <sys/stat.h>

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "deadline.h"
#include "log.h"
#include "ndr.h"
#include "oauth2.h"

#define PROGNAME	"mailcanary"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: " PROGNAME " classify FILE|-\n"
	    "       " PROGNAME " oauth2-token [-v] [-t SECONDS] "
	    "[--state-dir DIR] [--print-token] --config FILE NAME\n"
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

/*
 * oauth2-token: [global] of the file gives state_dir, ca_file, -4/-6 and
 * the timeout; the options override them.
 */
static int
oauth2_token(int argc, char *argv[])
{
	const struct config_oauth2 *p = NULL;
	struct config cfg;
	struct mc_error err;
	const char *file = NULL, *name = NULL, *dir = NULL, *t = NULL;
	char *token = NULL, info[100];
	int i, print = 0, verbose = 0, rc = 2;
	size_t k;
	json_t *o;
	char *s;

	for (i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "-C") == 0 ||
		    strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "--state-dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
			t = argv[++i];
		else if (strcmp(argv[i], "--print-token") == 0)
			print = 1;
		else if (strcmp(argv[i], "-v") == 0)
			verbose++;
		else if (argv[i][0] != '-' && name == NULL)
			name = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (file == NULL || name == NULL) {
		usage(stderr);
		return 2;
	}
	log_init(PROGNAME, verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN);
	config_init(&cfg);
	if (config_load(&cfg, file, NULL, &err) == -1 ||
	    (dir != NULL && config_set(&cfg, "state_dir", dir, &err) == -1) ||
	    (t != NULL && config_set(&cfg, "timeout", t, &err) == -1)) {
		fprintf(stderr, PROGNAME ": %s\n", err.msg);
		goto out;
	}
	for (k = 0; k < cfg.noauth2; k++)
		if (strcmp(cfg.oauth2[k].name, name) == 0)
			p = &cfg.oauth2[k];
	if (p == NULL) {
		fprintf(stderr, PROGNAME ": %s: no section [oauth2 %s]\n", file,
		    name);
		goto out;
	}
	deadline_start((double)cfg.timeout);
	if (oauth2_get(p, cfg.state_dir, cfg.ca_file, cfg.ipv4 ?
	    CURL_IPRESOLVE_V4 : cfg.ipv6 ? CURL_IPRESOLVE_V6 :
	    CURL_IPRESOLVE_WHATEVER, &token, info, sizeof(info), &err) == -1) {
		o = json_pack("{s:s, s:s, s:s}", "provider", p->name, "error",
		    err.msg, "code", error_code_name(err.code));
		rc = 1;
	} else {
		o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "provider", p->name,
		    "token_url", p->token_url, "scope", p->scope ? p->scope :
		    "", "status", info, "token_length", (int)strlen(token));
		if (print)
			json_object_set_new(o, "access_token",
			    json_string(token));
		rc = 0;
	}
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	if (s != NULL)
		oauth2_free_token(s);
	json_decref(o);
out:
	oauth2_free_token(token);
	config_clear(&cfg);
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
	if (argc >= 2 && strcmp(argv[1], "oauth2-token") == 0)
		return oauth2_token(argc, argv);
	usage(stderr);
	return 2;
}
