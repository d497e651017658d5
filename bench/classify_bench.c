/*
 * classify_bench - in-process cost of the bounce reader: loads every
 * tests/ndr/<case>/message.eml into memory, then parses the whole corpus
 * ROUNDS times and prints microseconds per message.
 * Usage: classify_bench CORPUS_DIR [ROUNDS]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "ndr.h"

int
main(int argc, char *argv[])
{
	struct buf msgs[256];
	struct ndr_report rep;
	struct mc_error err;
	struct timespec t0, t1;
	struct dirent *de;
	size_t n = 0, i, r, rounds;
	char path[4096], chunk[8192];
	DIR *d;
	FILE *fp;
	double us;

	if (argc < 2 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: classify_bench CORPUS_DIR [ROUNDS]\n");
		return 2;
	}
	rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	while ((de = readdir(d)) != NULL && n < 256) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/message.eml", argv[1],
		    de->d_name);
		if ((fp = fopen(path, "rb")) == NULL)
			continue;
		buf_init(&msgs[n], NDR_MESSAGE_MAX);
		while ((i = fread(chunk, 1, sizeof(chunk), fp)) > 0)
			buf_add(&msgs[n], chunk, i);
		fclose(fp);
		n++;
	}
	closedir(d);
	/* One warm-up round: GMime's first use initialises its tables. */
	for (i = 0; i < n; i++)
		if (ndr_parse(msgs[i].data ? msgs[i].data : "", msgs[i].len,
		    &rep, &err) == 0)
			ndr_report_clear(&rep);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			if (ndr_parse(msgs[i].data ? msgs[i].data : "",
			    msgs[i].len, &rep, &err) == 0)
				ndr_report_clear(&rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / (double)(rounds * n);
	printf("%zu messages x %zu rounds: %.1f us per message, %.0f per "
	    "second\n", n, rounds, us, 1e6 / us);
	for (i = 0; i < n; i++)
		buf_free(&msgs[i]);
	return 0;
}
