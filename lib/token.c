/*
 * token.c - making and verifying canary tokens. A token proves that this
 * probe sent the message: a foreign or forged token is never counted and
 * never causes a message to be deleted.
 */
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file.h"
#include "token.h"

static int
key_read(int fd, const char *path, struct token_key *key,
    struct mc_error *err)
{
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) == -1)
		return error_set(err, MC_ERR_FILE, "cannot stat %s: %s", path,
		    strerror(errno));
	if (st.st_size != TOKEN_KEY_LEN)
		return error_set(err, MC_ERR_FILE,
		    "key file %s has %lld bytes, not %d",
		    path, (long long)st.st_size, TOKEN_KEY_LEN);
	n = read(fd, key->bytes, TOKEN_KEY_LEN);
	if (n != TOKEN_KEY_LEN)
		return error_set(err, MC_ERR_FILE,
		    "cannot read key file %s", path);
	return 0;
}

int
token_key_load(const char *dir, struct token_key *key, struct mc_error *err)
{
	char path[4096], tmp[4200];
	int fd, rc, saved;

	if ((size_t)snprintf(path, sizeof(path), "%s/key", dir) >=
	    sizeof(path))
		return error_set(err, MC_ERR_LIMIT,
		    "state directory path is too long");
	/*
	 * Whoever can write the key can forge tokens: a key of another user
	 * (planted in a shared directory), or one group or others may read
	 * or write, is refused. A FIFO or device is refused without
	 * blocking.
	 */
	if ((fd = file_open(path, "key file", FILE_PRIVATE | FILE_NOFOLLOW,
	    err)) != -1) {
		rc = key_read(fd, path, key, err);
		close(fd);
		return rc;
	}
	if (errno != ENOENT)
		return -1;
	if (RAND_bytes(key->bytes, TOKEN_KEY_LEN) != 1)
		return error_set(err, MC_ERR_INTERNAL,
		    "no randomness for a new key");
	/*
	 * Written aside and linked into place: link() is atomic and never
	 * replaces, so a run that starts at the same moment (the daemon runs
	 * probes in parallel) sees no key or a whole one, never a half.
	 */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/key.XXXXXX", dir) >=
	    sizeof(tmp) || (fd = mkstemp(tmp)) == -1)
		return error_set(err, MC_ERR_FILE,
		    "cannot create a key file in %s: %s",
		    dir, strerror(errno));
	if (fchmod(fd, 0600) == -1 ||
	    write(fd, key->bytes, TOKEN_KEY_LEN) != TOKEN_KEY_LEN ||
	    fsync(fd) == -1) {
		rc = errno;
		close(fd);
		unlink(tmp);
		return error_set(err, MC_ERR_FILE,
		    "cannot write key file %s: %s", tmp,
		    strerror(rc));
	}
	close(fd);
	rc = link(tmp, path);
	saved = errno;
	unlink(tmp);
	if (rc == -1 && saved == EEXIST)	/* another run made it first */
		return token_key_load(dir, key, err);
	if (rc == -1)
		return error_set(err, MC_ERR_FILE,
		    "cannot create key file %s: %s", path,
		    strerror(saved));
	return 0;
}

static void
token_mac(const struct token_key *key, const char *probe, unsigned long seq,
    time_t t, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char msg[256];
	int n, i;

	/* NUL-separated so no two (probe, seq, time) share a message. */
	n = snprintf(msg, sizeof(msg), "mailcanary-v1%c%s%c%lu%c%lld", 0,
	    probe, 0, seq, 0, (long long)t);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	HMAC(EVP_sha256(), key->bytes, TOKEN_KEY_LEN, (unsigned char *)msg,
	    (size_t)n, md, &mdlen);
	for (i = 0; i < TOKEN_MAC_HEX / 2; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void
token_make(const struct token_key *key, const char *probe, unsigned long seq,
    time_t t, char *out)
{
	char mac[TOKEN_MAC_HEX + 1];

	token_mac(key, probe, seq, t, mac);
	snprintf(out, TOKEN_MAX, "%lu-%llx-%s", seq, (unsigned long long)t,
	    mac);
}

static size_t
span_of(const char *s, size_t len, const char *set, size_t max)
{
	size_t n = 0;

	while (n < len && n <= max && s[n] != '\0' && strchr(set, s[n]))
		n++;
	return n;
}

size_t
token_span(const char *s, size_t len)
{
	static const char dec[] = "0123456789";
	static const char hex[] = "0123456789abcdef";
	size_t a, b, c;

	a = span_of(s, len, dec, 10);
	if (a == 0 || a > 10 || a >= len || s[a] != '-')
		return 0;
	b = span_of(s + a + 1, len - a - 1, hex, 16);
	if (b < 1 || b > 16 || a + 1 + b >= len || s[a + 1 + b] != '-')
		return 0;
	c = span_of(s + a + b + 2, len - a - b - 2, hex, TOKEN_MAC_HEX);
	if (c != TOKEN_MAC_HEX)
		return 0;
	return a + b + c + 2;
}

int
token_find(const char *s, size_t len, char *out)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		/* A token starts a word: not in the middle of digits. */
		if (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
			continue;
		if ((n = token_span(s + i, len - i)) > 0 && n < TOKEN_MAX) {
			memcpy(out, s + i, n);
			out[n] = '\0';
			return 0;
		}
	}
	return -1;
}

int
token_verify(const struct token_key *key, const char *probe,
    const char *token, unsigned long *seqp, time_t *tp)
{
	char mac[TOKEN_MAC_HEX + 1], *end;
	unsigned long long t;
	unsigned long seq;
	size_t len = strlen(token);
	const char *dash;

	if (token_span(token, len) != len)
		return -1;
	seq = strtoul(token, &end, 10);
	if (*end != '-')
		return -1;
	dash = end;
	t = strtoull(dash + 1, &end, 16);
	if (*end != '-' || t > (unsigned long long)0x7fffffff * 4)
		return -1;
	token_mac(key, probe, seq, (time_t)t, mac);
	if (CRYPTO_memcmp(mac, end + 1, TOKEN_MAC_HEX) != 0)
		return -1;
	if (seqp)
		*seqp = seq;
	if (tp)
		*tp = (time_t)t;
	return 0;
}
