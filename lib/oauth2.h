/*
 * oauth2.h - OAuth2 access tokens for the SASL logins (XOAUTH2,
 * OAUTHBEARER): fetched from an identity provider's token endpoint
 * (RFC 6749 client_credentials or refresh_token grant), cached per
 * provider and scope in the state directory until shortly before they
 * expire, or read from a bearer token file another tool keeps fresh.
 */
#ifndef MC_OAUTH2_H
#define MC_OAUTH2_H

#include "config.h"
#include "error.h"

#define OAUTH2_REPLY_MAX	(64 * 1024)	/* bytes of a token reply */
#define OAUTH2_TOKEN_MAX	(16 * 1024)	/* bytes of one token */
#define OAUTH2_CACHE_MAX	(64 * 1024)	/* bytes of a cache file */

/* Which login of a probe a token is for. */
enum oauth2_use {
	OAUTH2_SMTP,
	OAUTH2_MAILBOX,
	OAUTH2_BOUNCE
};

/* An access token and what the provider said of it. */
struct oauth2_token {
	char	*access_token;		/* owned; never printed */
	char	*refresh_token;		/* owned; NULL: none given */
	char	 token_type[32];	/* "Bearer" */
	long	 expires_in;		/* seconds, as the provider said */
	double	 fetched_at;		/* wall clock */
	double	 refresh_at;		/* fetch anew from then on */
	double	 expires_at;		/* fetched_at + expires_in */
	char	 refresh_seed[65];	/* sha256 hex of the refresh_token_file
					 * the refresh token came from */
};

/*
 * Whether s is a bearer token as RFC 6750 2.1 has it (b64token: letters,
 * digits, "-._~+/", then "=" only) of at most OAUTH2_TOKEN_MAX bytes.
 * 0 or -1.
 */
int	oauth2_token_check(const char *s);
/*
 * Reads a token file (a bearer token file, refresh_token_file): its
 * first line, of at most OAUTH2_TOKEN_MAX bytes, under the rules of a
 * password file (config_read_secret(): a regular file of ours, mode 600,
 * not a symbolic link); errors call it a "token file". *out is the
 * caller's to oauth2_free_token().
 */
int	oauth2_read_token(const char *path, char **out, struct mc_error *);

/*
 * Checks a token_url: https://, or http:// only to a loopback address
 * (127.0.0.0/8, [::1]); no user information. 0 or -1 (MC_ERR_CONFIG).
 */
int	oauth2_url_check(const char *url, struct mc_error *);

/*
 * Reads a token endpoint's reply (status, body of len bytes) into tok,
 * whose strings become the caller's (oauth2_token_clear). The provider's
 * error and error_description, a body that is not JSON, a missing
 * access_token or a token_type other than Bearer are errors naming what
 * to fix (MC_ERR_SERVER); what names the provider in them.
 */
int	oauth2_parse_reply(const char *what, long status, const char *body,
	    size_t len, double now, struct oauth2_token *tok,
	    struct mc_error *);

/*
 * When a token of the given lifetime fetched at `fetched` is fetched
 * anew: 60 seconds before it expires, or a tenth of its life before when
 * it lives less than 10 minutes.
 */
double	oauth2_refresh_at(double fetched, long expires_in);

/*
 * The cache file of a provider in dir: dir/oauth2-NAME-HASH.json, HASH
 * from token_url, client_id and scope (so a changed section never uses
 * an old token). stem gets "oauth2-NAME-HASH". -1 when too long.
 */
int	oauth2_cache_stem(const struct config_oauth2 *, char *stem,
	    size_t stemlen);

/*
 * Loads a cache file for p: 0 and tok filled; 1 when there is none or it
 * cannot be used (another provider's, corrupt: it is replaced on the
 * next save, with a note at debug level); -1 when it is not ours, others
 * may read it, it is a symbolic link or too large (err says what to fix).
 */
int	oauth2_cache_load(const char *path, const struct config_oauth2 *p,
	    struct oauth2_token *tok, struct mc_error *);
/* Saves tok for p atomically (temp file 0600, fsync, rename, fsync dir). */
int	oauth2_cache_save(const char *dir, const char *path,
	    const struct config_oauth2 *p, const struct oauth2_token *tok,
	    struct mc_error *);

/*
 * The access token of provider p, from the cache in state_dir while it is
 * fresh, else fetched (the cache locked meanwhile, so two probes or two
 * threads sharing a provider fetch once and never tear the file). A
 * rotated refresh token is saved before the access token is returned.
 * ca_file (may be NULL) verifies the endpoint; ipresolve is CURL_IPRESOLVE_*.
 * The run's deadline bounds it all. *token is the caller's to
 * oauth2_free_token(); info (may be NULL) gets "cached, 3300s left" or
 * "fetched, expires in 3600s".
 */
int	oauth2_get(const struct config_oauth2 *p, const char *state_dir,
	    const char *ca_file, long ipresolve, char **token, char *info,
	    size_t infolen, struct mc_error *);

/*
 * The bearer token of one login of cfg: from its token file (read afresh)
 * or its [oauth2 NAME] provider. 0 with *token NULL when the login uses
 * none. Errors are prefixed with the login ("SMTP OAuth2 token: ...").
 */
int	oauth2_bearer(const struct config *, enum oauth2_use, char **token,
	    struct mc_error *);
/*
 * The mail server refused the token of this login: the cached token is
 * marked stale (the next login fetches a new one) and err gets a hint on
 * what to check.
 */
void	oauth2_refused(const struct config *, enum oauth2_use,
	    struct mc_error *);

/* Wipes and frees a token string; takes NULL, returns NULL. */
char	*oauth2_free_token(char *);
/* Wipes and frees what tok holds. */
void	oauth2_token_clear(struct oauth2_token *);

#endif
