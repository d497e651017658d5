/*
 * priv.c - mailcanaryd's privilege handling: --user is looked up first
 * (a name service that hangs is caught by the start-up watchdog), and
 * the daemon drops to it after connecting to snmpd as root. Every thread
 * started later (every probe cycle, every reload) runs as that user.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

int
priv_lookup(const char *user, uid_t *uid, gid_t *gid, struct mc_error *err)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return error_set(err, MC_ERR_CONFIG, "--user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
	if (geteuid() != 0)
		return error_set(err, MC_ERR_CONFIG,
		    "--user %s: only root can change user",
		    user);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

int
priv_drop(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1) {
		log_warn("cannot drop privileges to uid %lu",
		    (unsigned long)uid);
		return -1;
	}
	return 0;
}
