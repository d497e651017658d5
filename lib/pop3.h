/*
 * pop3.h - the POP3 handler of the mailbox module (see mailbox.h) and the
 * parser of the POP3 reply it sizes messages with.
 */
#ifndef MC_POP3_H
#define MC_POP3_H

struct mailbox_handler;

extern const struct mailbox_handler pop3_handler;

/*
 * Parses the single-line reply to LIST n, "+OK n size" (RFC 1939 5),
 * NUL-terminated: 0 with size (32 bits), or -1 on bad input or another n.
 */
int	pop3_parse_list(const char *, unsigned long n, unsigned long *size);

#endif
