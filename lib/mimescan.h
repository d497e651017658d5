/*
 * mimescan.h - a cheap pass over the raw bytes of a message, before GMime
 * builds its tree, that bounds what the tree can cost: GMime creates one
 * object per MIME part and keeps every header in memory, so a message of
 * ten million empty parts or a hundred thousand header fields costs
 * gigabytes there. The scan counts what GMime will build (parts, nested
 * messages, multipart boundaries, header lines and bytes) and stops at
 * the first cap it passes, naming it. It also picks up the top-level
 * Subject and From, so a message refused here can still be told apart
 * from a bounce.
 */
#ifndef MC_MIMESCAN_H
#define MC_MIMESCAN_H

#include <stddef.h>

#define MIMESCAN_PARTS_MAX	64	/* parts of all multiparts */
#define MIMESCAN_MESSAGES_MAX	16	/* nested message/rfc822 */
#define MIMESCAN_BOUNDARIES_MAX	32	/* distinct multipart boundaries */
#define MIMESCAN_HEADER_LINES_MAX 5000	/* in all header blocks */
#define MIMESCAN_HEADER_BYTES_MAX (1024 * 1024)
#define MIMESCAN_FIELD_MAX	4096	/* of a Content-Type, Subject, From */

struct mimescan;

struct mimescan_result {
	int		 over;		/* a cap was passed */
	char		 why[160];	/* which one, when over */
	int		 report;	/* top level is multipart/report */
	char		 subject[MIMESCAN_FIELD_MAX];	/* raw, unfolded */
	char		 from[MIMESCAN_FIELD_MAX];
	size_t		 parts, messages, boundaries;
	size_t		 header_lines, header_bytes;
};

struct mimescan *mimescan_new(void);
/* Feeds the next len bytes; returns -1 once a cap is passed. */
int	mimescan_push(struct mimescan *, const char *, size_t);
/* Ends the input; the result lives as long as the scanner. */
const struct mimescan_result *mimescan_finish(struct mimescan *);
struct mimescan *mimescan_free(struct mimescan *);

#endif
