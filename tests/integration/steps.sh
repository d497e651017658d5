#!/bin/bash
# The step an error names: the command whose reply was bad, with that
# reply, never the LOGOUT or QUIT libcurl sends after a failure (each
# scripted server answers those oddly), and every command its own step
# (POP3 RETR, IMAP UID FETCH, not the last known verb).
. "$(dirname "$0")/../lib.sh"
BASE=${STEPS_PORT:-15350}
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")

start_scripted "$BASE" steps-pop3-retr
start_scripted $((BASE + 1)) steps-imap-uidfetch
start_scripted $((BASE + 2)) steps-imap-weirdfetch
start_scripted $((BASE + 3)) steps-smtp-mailfrom
start_scripted $((BASE + 4)) steps-pop3-retr	# one connection at a time

lacks() { ! has "$1"; }
err_has() { case $ERR in *"$1"*) return 0 ;; esac; return 1; }

# POP3: TOP (the test mailbox) works, RETR (the bounce mailbox) is refused.
run --probe retr --no-send -M pop3://127.0.0.1:$((BASE + 4)) \
    --bounce-mailbox pop3://127.0.0.1:$BASE \
    --mailbox-starttls never --state-dir "$STATE" -t 10 -vv
# One message refused is skipped and reported (the mailbox is not given up).
check "RETR refused: UNKNOWN (no canary yet)" rc_is 3
check "RETR refused: names POP3 RETR and quotes the refusal" \
    has "message UIDL scripted-1 in the bounce mailbox could not be read and was skipped: POP3 RETR UIDL scripted-1: POP3 127.0.0.1:$BASE failed at POP3 RETR: -ERR [SYS/TEMP] message 1 went away"
check "RETR refused: the test mailbox (TOP) was read" lacks "cannot read the test mailbox"
check "RETR refused: QUIT was sent and answered -ERR" err_has "< -ERR not now"
check "RETR refused: neither QUIT nor its answer is reported" \
    bash -c '! grep -q "QUIT\|not now" <<<"$1"' _ "$OUT"

# IMAP: UID FETCH refused; LOGOUT answered NO.
run --probe uidfetch --no-send -M imap://127.0.0.1:$((BASE + 1))/INBOX \
    --mailbox-starttls never --state-dir "$STATE" -t 10 -vv
check "UID FETCH refused: UNKNOWN" rc_is 3
check "UID FETCH refused: names IMAP UID FETCH" \
    has "failed at IMAP UID FETCH: A00"
check "UID FETCH refused: quotes the refusal" has "NO [SERVERBUG] UID FETCH refused"
check "UID FETCH refused: LOGOUT was sent and answered NO" \
    err_has "NO [ALERT] not logging you out"
check "UID FETCH refused: neither LOGOUT nor its answer is reported" \
    bash -c '! grep -q "LOGOUT\|ALERT" <<<"$1"' _ "$OUT"

# IMAP: a FETCH reply libcurl cannot parse (no refusal); LOGOUT answered BAD.
run --probe weird --no-send -M imap://127.0.0.1:$((BASE + 2))/INBOX \
    --mailbox-starttls never --state-dir "$STATE" -t 10 -vv
check "garbled FETCH: UNKNOWN" rc_is 3
check "garbled FETCH: names IMAP UID FETCH and the reply" \
    has "failed at IMAP UID FETCH: * 3 FETCH (UID 3)"
check "garbled FETCH: LOGOUT was sent and answered BAD" err_has "BAD LOGOUT what?"
check "garbled FETCH: neither LOGOUT nor its answer is reported" \
    bash -c '! grep -q "LOGOUT" <<<"$1"' _ "$OUT"

# SMTP: MAIL FROM refused; QUIT answered 421.
run --probe mailfrom -S smtp://127.0.0.1:$((BASE + 3)) -f probe@corp.test \
    -r canary@greylist.test -M imap://127.0.0.1:$((BASE + 1))/INBOX \
    --starttls never --mailbox-starttls never --state-dir "$STATE" -t 10 -vv
check "MAIL FROM refused: CRITICAL" rc_is 2
check "MAIL FROM refused: names SMTP MAIL FROM and quotes the reply" \
    has "failed at SMTP MAIL FROM: 553 5.7.1"
check "MAIL FROM refused: QUIT was sent and answered 421" err_has "< 421 4.3.2 odd goodbye"
check "MAIL FROM refused: neither QUIT nor its answer is reported" \
    bash -c '! grep -q "QUIT\|421" <<<"$1"' _ "$OUT"

done_testing
