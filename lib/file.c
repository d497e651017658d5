/*
 * file.c - opening the files mailcanary takes on trust. A path is looked
 * at before it is opened, because opening a FIFO blocks and opening some
 * devices acts (a tape rewinds); it is then opened O_NONBLOCK and checked
 * again on the descriptor, which is what counts. Ownership is checked as
 * well as the mode: a key or password file that another user planted in a
 * shared directory is refused, not used. Every read has a cap.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

static uid_t trusted = (uid_t)-1;

void
file_trust_uid(uid_t uid)
{
	trusted = uid;
}

int
file_owner_ok(uid_t uid)
{
	return uid == 0 || uid == geteuid() ||
	    (trusted != (uid_t)-1 && uid == trusted);
}

/* The account our files should belong to: the one we run as, or will. */
static uid_t
owner_wanted(void)
{
	uid_t e = geteuid();

	return e == 0 && trusted != (uid_t)-1 ? trusted : e;
}

static void
user_name(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[2048];

	/* The _r form: the daemon's worker threads open state files. */
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL)
		snprintf(out, len, "%s", res->pw_name);
	else
		snprintf(out, len, "%lu", (unsigned long)uid);
}

static const char *
kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "a special file";
}

static int
check_stat(const struct stat *st, const char *path, const char *what,
    int flags, struct mc_error *err)
{
	char have[64], want[64];

	if (!S_ISREG(st->st_mode))
		return error_set(err, MC_ERR_FILE,
		    "%s %s is %s, not a regular file", what,
		    path, kind(st->st_mode));
	if (!(flags & (FILE_OWNED | FILE_PRIVATE)))
		return 0;
	if (!file_owner_ok(st->st_uid)) {
		user_name(st->st_uid, have, sizeof(have));
		user_name(owner_wanted(), want, sizeof(want));
		return error_set(err, MC_ERR_FILE,
		    "%s %s is owned by %s, not by %s%s: "
		    "chown %s %s", what, path, have, want, owner_wanted() ==
		    0 ? "" : " or root", want, path);
	}
	if ((flags & FILE_PRIVATE) && (st->st_mode & (S_IRGRP | S_IROTH)))
		return error_set(err, MC_ERR_FILE,
		    "%s %s is readable by group or others: "
		    "chmod 600 %s", what, path, path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return error_set(err, MC_ERR_FILE,
		    "%s %s is writable by group or others: "
		    "chmod %s %s", what, path, flags & FILE_PRIVATE ? "600" :
		    "go-w", path);
	return 0;
}

int
file_check_fd(int fd, const char *path, const char *what, int flags,
    struct mc_error *err)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return error_set(err, MC_ERR_FILE,
		    "cannot stat %s %s: %s", what, path,
		    strerror(errno));
	return check_stat(&st, path, what, flags, err);
}

static int
open_failed(const char *path, const char *what, int saved,
    struct mc_error *err)
{
	error_set(err, MC_ERR_FILE,
	    "cannot open %s %s: %s", what, path, strerror(saved));
	errno = saved;
	return -1;
}

int
file_open(const char *path, const char *what, int flags,
    struct mc_error *err)
{
	struct stat st;
	int fd, oflags, rc;

	oflags = O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	oflags |= flags & FILE_CREATE ? O_RDWR | O_CREAT : O_RDONLY;
	if (flags & FILE_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	rc = flags & FILE_NOFOLLOW ? lstat(path, &st) : stat(path, &st);
	if (rc == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISLNK(st.st_mode))
			return open_failed(path, what, ELOOP, err);
		check_stat(&st, path, what, flags, err);
		errno = EINVAL;
		return -1;
	}
	if (rc == -1 && (errno != ENOENT || !(flags & FILE_CREATE)))
		return open_failed(path, what, errno, err);
	if ((fd = open(path, oflags, 0600)) == -1)
		return open_failed(path, what, errno, err);
	if (file_check_fd(fd, path, what, flags, err) == -1) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* Regular files ignore O_NONBLOCK; what reads it expects no EAGAIN. */
	if ((oflags = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, oflags & ~O_NONBLOCK);
	return fd;
}

static void
size_text(size_t n, char *out, size_t len)
{
	if (n % (1024 * 1024) == 0)
		snprintf(out, len, "%zu MiB", n / (1024 * 1024));
	else if (n % 1024 == 0)
		snprintf(out, len, "%zu KiB", n / 1024);
	else
		snprintf(out, len, "%zu bytes", n);
}

int
file_read(const char *path, const char *what, int flags, size_t max,
    char **data, size_t *len, struct mc_error *err)
{
	char *buf = NULL, *nb, cap[32];
	size_t got = 0, size = 0;
	ssize_t n;
	int fd, saved;

	*data = NULL;
	*len = 0;
	if ((fd = file_open(path, what, flags & ~FILE_CREATE, err)) == -1)
		return -1;
	for (;;) {
		/* One byte past the cap tells a file at the cap from a
		 * larger one, whatever st_size said (/proc lies). */
		if (got == size) {
			if (size > max) {
				size_text(max, cap, sizeof(cap));
				error_set(err, MC_ERR_LIMIT,
				    "%s %s is larger than %s", what,
				    path, cap);
				saved = EFBIG;
				goto fail;
			}
			size = size == 0 ? 4096 : size * 2;
			if (size > max + 1)
				size = max + 1;
			if ((nb = realloc(buf, size + 1)) == NULL) {
				error_set(err, MC_ERR_NOMEM,
				    "out of memory reading %s",
				    path);
				saved = ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		n = read(fd, buf + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			error_set(err, MC_ERR_FILE,
			    "cannot read %s %s: %s", what, path,
			    strerror(saved));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return error_set(err, MC_ERR_NOMEM,
		    "out of memory reading %s", path);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
fail:
	close(fd);
	free(buf);
	errno = saved;
	return -1;
}

int
file_check_dir(const char *path, const char *what, struct mc_error *err)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return error_set(err, MC_ERR_FILE, "%s %s: %s", what, path,
		    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(err, MC_ERR_FILE,
		    "%s %s is not a directory", what, path);
	/*
	 * Others may create files in a sticky directory but not remove or
	 * rename ours, and every file is checked for its owner when opened.
	 * Without the sticky bit they could swap our files at any moment.
	 */
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return error_set(err, MC_ERR_FILE,
		    "%s %s is writable by others: chmod o-w "
		    "%s (or, shared, chmod +t %s)", what, path, path, path);
	return 0;
}
