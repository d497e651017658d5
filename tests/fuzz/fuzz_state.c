/*
 * fuzz_state.c - libFuzzer target for the state loader: whatever bytes
 * are in a state file, loading either succeeds or moves the file aside.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char dir[] = "/tmp/mc-fuzz-state-XXXXXX";
	static int ready;
	char path[128], aside[256];
	struct mc_error err;
	struct state st;
	int fd, rc;

	if (!ready && mkdtemp(dir) == NULL)
		abort();
	ready = 1;
	snprintf(path, sizeof(path), "%s/f.json", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		abort();
	if (write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
	rc = state_load(dir, "f", &st, &err);
	if (rc == STATE_LOAD_OK) {
		/* What loads must save and load again to the same. */
		if (state_save(dir, "f", &st, &err) != 0)
			abort();
		state_clear(&st);
		if (state_load(dir, "f", &st, &err) != STATE_LOAD_OK)
			abort();
	} else if (rc == STATE_LOAD_CORRUPT) {
		char *p = strstr(err.msg, "moved aside to ");

		if (p == NULL)
			abort();
		snprintf(aside, sizeof(aside), "%s", p + 15);
		if ((p = strchr(aside, ',')) != NULL)
			*p = '\0';
		unlink(aside);
	}
	state_clear(&st);
	unlink(path);
	return 0;
}
