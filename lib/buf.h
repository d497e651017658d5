/*
 * buf.h - a growable byte buffer with a cap fixed at construction.
 * Passing the cap is a reported error, never a silent truncation.
 */
#ifndef MC_BUF_H
#define MC_BUF_H

#include <stddef.h>

struct buf {
	char	*data;		/* always NUL-terminated when not NULL */
	size_t	 len;
	size_t	 size;
	size_t	 cap;		/* most bytes it may ever hold */
	int	 overflow;	/* set once an append passed the cap */
};

void	buf_init(struct buf *, size_t cap);
/* Appends n bytes; returns -1 (and sets overflow) past the cap or on ENOMEM. */
int	buf_add(struct buf *, const void *, size_t);
int	buf_addstr(struct buf *, const char *);
int	buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	buf_reset(struct buf *);
void	buf_free(struct buf *);
/* Returns the string (never NULL) and gives up ownership of it. */
char	*buf_steal(struct buf *);

#endif
