/*
 * token.h - canary tokens: "<seq>-<time hex>-<mac>", where mac is the
 * first 96 bits of HMAC-SHA256(key, probe, seq, time) in lowercase hex.
 * Lowercase letters, digits and '-' only, so it fits a '+' extension.
 */
#ifndef MC_TOKEN_H
#define MC_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "error.h"

#define TOKEN_KEY_LEN	32
#define TOKEN_MAX	64
#define TOKEN_MAC_HEX	24

struct token_key {
	unsigned char	bytes[TOKEN_KEY_LEN];
};

/*
 * Loads DIR/key, creating it (0600, random) on first use. The key must be a
 * regular file of TOKEN_KEY_LEN bytes owned by the effective user or root
 * (see file_trust_uid()), neither readable nor writable by group or others.
 */
int	token_key_load(const char *dir, struct token_key *, struct mc_error *);
/* Writes the token of (probe, seq, t) into out[TOKEN_MAX]. */
void	token_make(const struct token_key *, const char *probe,
	    unsigned long seq, time_t t, char *out);
/*
 * Checks a token's form and MAC for this probe. Returns 0 and fills seq
 * and t when it is ours, -1 when it is malformed or foreign.
 */
int	token_verify(const struct token_key *, const char *probe,
	    const char *token, unsigned long *seq, time_t *t);
/* Length of a token-shaped run at s (0 if none); does not verify. */
size_t	token_span(const char *s, size_t len);
/* Finds the first token-shaped run in s[0..len); copies it to out. */
int	token_find(const char *s, size_t len, char *out);

#endif
