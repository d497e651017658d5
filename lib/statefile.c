/*
 * statefile.c - a probe's state on disk: the flock lock for the length
 * of a cycle, loading with a size cap (a file that fails is moved aside
 * and reported, never silently replaced, while a file a person must look
 * at is refused), and atomic saving, so a run killed at any point leaves
 * the old or the new file. What the file says is state_json.c's, as
 * OpenSMTPD's queue_fs.c handles files and envelope.c their content.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "file.h"
#include "state.h"
#include "state_json.h"
#include "statefile.h"

int
state_lock(const char *dir, const char *name, struct mc_error *err)
{
	char path[4096];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.lock", dir, name) >=
	    sizeof(path))
		return error_set(err, MC_ERR_LIMIT,
		    "state directory path is too long");
	/* Others may not swap the files of a shared directory under us. */
	if (file_check_dir(dir, "state directory", err) == -1)
		return -1;
	/* A lock file of another user would let that user stall every
	 * run: ours or root's only, and never a FIFO or a device. */
	fd = file_open(path, "lock file", FILE_OWNED | FILE_NOFOLLOW |
	    FILE_CREATE, err);
	if (fd == -1) {
		if (errno == EINVAL)
			return -1;
		return error_set(err, MC_ERR_FILE,
		    "cannot create lock file %s (is the "
		    "state directory writable?): %s", path, strerror(errno));
	}
	deadline_step("waiting for the state lock");
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			error_set(err, MC_ERR_FILE, "cannot lock %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		if (deadline_expired()) {
			close(fd);
			if (deadline_signal)
				return error_set(err, MC_ERR_SIGNAL,
				    "terminated by a signal "
				    "while waiting for the lock %s", path);
			return error_set(err, MC_ERR_LOCKED,
			    "another run of this probe holds "
			    "%s; gave up waiting for it", path);
		}
		usleep(20 * 1000);
	}
	return fd;
}

void
state_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}

static int
move_aside(const char *path, const char *why, struct mc_error *err)
{
	char aside[4200], stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(aside, sizeof(aside), "%s.corrupt-%s", path, stamp);
	if (rename(path, aside) == -1)
		return error_set(err, MC_ERR_FILE,
		    "state file %s is unusable (%s) and "
		    "cannot be moved aside: %s", path, why, strerror(errno));
	error_set(err, MC_ERR_INPUT,
	    "state file %s was unusable (%s); moved aside to %s, "
	    "starting afresh", path, why, aside);
	return STATE_LOAD_CORRUPT;
}

/*
 * Removes NAME.json.XXXXXX files: mkstemp leftovers of a run killed
 * before its rename. Called under the lock, so no live writer owns one.
 */
static void
remove_stale_temps(const char *dir, const char *name)
{
	char prefix[128], path[4200];
	struct dirent *de;
	struct stat sb;
	size_t plen;
	DIR *d;

	if ((size_t)snprintf(prefix, sizeof(prefix), "%s.json.", name) >=
	    sizeof(prefix) || (d = opendir(dir)) == NULL)
		return;
	plen = strlen(prefix);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    strlen(de->d_name) != plen + 6 ||
		    strspn(de->d_name + plen, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != 6)
			continue;
		/* Only our own leftovers (or root's): in a shared, sticky
		 * directory a name like ours may be another user's file. */
		if (fstatat(dirfd(d), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode) ||
		    !file_owner_ok(sb.st_uid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

int
state_load(const char *dir, const char *name, struct state *st,
    struct mc_error *err)
{
	char path[4096], reason[256];
	struct mc_error e;
	struct stat sb;
	char *data;
	ssize_t n;
	size_t got = 0;
	int fd, rc;

	state_init(st);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, name) >=
	    sizeof(path))
		return error_set(err, MC_ERR_LIMIT,
		    "state directory path is too long");
	remove_stale_temps(dir, name);
	/*
	 * A FIFO or a device is refused without blocking, and so is a file
	 * of another user or one others may write: a person must look, so
	 * they are not moved aside. What cannot be opened (a symbolic
	 * link) is moved aside as before.
	 */
	if ((fd = file_open(path, "state file", FILE_OWNED | FILE_NOFOLLOW,
	    &e)) == -1) {
		if (errno == ENOENT)
			return STATE_LOAD_OK;
		if (errno == EINVAL) {
			if (err != NULL)
				*err = e;
			return STATE_LOAD_ERROR;
		}
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		return move_aside(path, reason, err);
	}
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return move_aside(path, "cannot stat it", err);
	}
	if (sb.st_size > STATE_FILE_MAX) {
		close(fd);
		return move_aside(path, "larger than the 16 MiB cap", err);
	}
	if ((data = malloc((size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return error_set(err, MC_ERR_NOMEM,
		    "out of memory reading %s", path);
	}
	while (got < (size_t)sb.st_size) {
		n = read(fd, data + got, (size_t)sb.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)sb.st_size) {
		free(data);
		return move_aside(path, "short read", err);
	}
	rc = state_json_parse(data, got, st, reason, sizeof(reason));
	free(data);
	if (rc == -1)
		return move_aside(path, reason, err);
	return STATE_LOAD_OK;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
state_save(const char *dir, const char *name, const struct state *st,
    struct mc_error *err)
{
	char path[4096], tmp[4200];
	char *data;
	int fd, dfd, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, name) >=
	    sizeof(path))
		return error_set(err, MC_ERR_LIMIT,
		    "state directory path is too long");
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((data = state_json_dump(st)) == NULL)
		return error_set(err, MC_ERR_NOMEM,
		    "out of memory serialising state");
	if (strlen(data) > STATE_FILE_MAX) {
		free(data);
		return error_set(err, MC_ERR_LIMIT,
		    "state would pass the 16 MiB cap");
	}
	if ((fd = mkstemp(tmp)) == -1) {
		free(data);
		return error_set(err, MC_ERR_FILE,
		    "cannot create a temporary file in %s: "
		    "%s", dir, strerror(errno));
	}
	if (write_all(fd, data, strlen(data)) == -1 ||
	    write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		saved = errno;
		free(data);
		close(fd);
		unlink(tmp);
		return error_set(err, MC_ERR_FILE, "cannot write %s: %s", tmp,
		    strerror(saved));
	}
	free(data);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		return error_set(err, MC_ERR_FILE,
		    "cannot replace %s: %s", path,
		    strerror(saved));
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		saved = errno;
		if (dfd != -1)
			close(dfd);
		return error_set(err, MC_ERR_FILE,
		    "cannot sync directory %s: %s", dir,
		    strerror(saved));
	}
	close(dfd);
	return 0;
}
