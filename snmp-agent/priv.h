/*
 * priv.h - mailcanaryd's privileges: the --user account looked up before
 * anything else happens, and the drop to it once snmpd is connected.
 */
#ifndef MC_PRIV_H
#define MC_PRIV_H

#include <sys/types.h>

#include "error.h"

/*
 * Looks up USER and checks that this process may become it (root only).
 * Fills uid and gid; -1 with err naming --user USER otherwise.
 */
int	priv_lookup(const char *user, uid_t *uid, gid_t *gid,
	    struct mc_error *err);
/* Becomes uid:gid with gid as the only group; -1, logged, on failure. */
int	priv_drop(uid_t uid, gid_t gid);

#endif
