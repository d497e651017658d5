/*
 * buf.c - capped growable buffer, in the spirit of curl's dynbuf.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t want;
	char *nd;

	if (b->overflow || n > b->cap || b->len > b->cap - n) {
		b->overflow = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want > b->size) {
		size_t ns = b->size ? b->size : 256;

		while (ns < want)
			ns *= 2;
		if ((nd = realloc(b->data, ns)) == NULL)
			return -1;
		b->data = nd;
		b->size = ns;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	char small[512], *big;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return buf_add(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->overflow = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->size = 0;
}

char *
buf_steal(struct buf *b)
{
	char *s = b->data;

	if (s == NULL)
		s = strdup("");
	b->data = NULL;
	b->len = b->size = 0;
	return s;
}
