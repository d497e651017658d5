#!/bin/bash
# The mailbox scan against small scripted IMAP and POP3 servers: a STATUS
# whose UIDNEXT jumps never carries the cursor past UIDs still to come;
# a message the server refuses to hand over is reported, named by the
# command that failed, and passed, and the messages after it are read.
. "$(dirname "$0")/../lib.sh"
command -v jq >/dev/null || { echo "1..0 # SKIP jq is not installed"; exit 0; }
BASE=${MAILBOX_REPLIES_PORT:-13800}
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")

# script PORT MODE: a scripted mailbox; its control file is $STATE/PORT.
script() {
	: >"$STATE/$1"
	SCRIPTED_CTL=$STATE/$1 start_scripted "$1" "$2"
}
ctl() { local f=$STATE/$1; shift; printf '%s\n' "$@" >"$f"; }
sent() { grep -c "$2" "$STATE/$1.log" 2>/dev/null; }
last_uid() { jq -r ".$2.last_uid" "$STATE/$1.json"; }

script $((BASE + 0)) imap-script	# test mailbox
script $((BASE + 1)) imap-script	# bounce mailbox
script $((BASE + 2)) pop3-script	# bounce mailbox
script $((BASE + 3)) imap-script	# bounce mailbox, message gone

base=(--no-send --state-dir "$STATE" --mailbox-starttls never -t 10)
M=imap://127.0.0.1:$((BASE + 0))/INBOX

# ---- a UIDNEXT past 32 bits is unreadable: UNKNOWN, the cursor stays ----
ctl $((BASE + 0)) "uidnext 4294967296" "uids 1 2 3"
run --probe uidnext -M "$M" "${base[@]}"
check "UIDNEXT 4294967296: UNKNOWN" rc_is 3
check "UIDNEXT 4294967296: refused as an unreadable STATUS reply" \
    has "cannot read the test mailbox: IMAP 127.0.0.1:$((BASE + 0)): unreadable reply to STATUS"
check "UIDNEXT 4294967296: the cursor did not move" \
    test "$(last_uid uidnext mailbox)" = 0

# ---- a UIDNEXT that jumps: the cursor stops at the highest real UID ----
ctl $((BASE + 0)) "uidnext 4000000000" "uids 1 2 3"
run --probe uidnext -M "$M" "${base[@]}"
check "UIDNEXT 4000000000, UIDs 1-3: the mailbox is read" \
    bash -c "! grep -q 'cannot read' <<<'$OUT'"
check "UIDNEXT 4000000000, UIDs 1-3: the cursor stops at UID 3 ($(last_uid uidnext mailbox))" \
    test "$(last_uid uidnext mailbox)" = 3
ctl $((BASE + 0)) "uidnext 4000000000" "uids 1 2 3 4"
run --probe uidnext -M "$M" "${base[@]}"
check "a later UID 4 is still read" test "$(sent $((BASE + 0)) 'UID FETCH 4 ')" -ge 1
check "... and the cursor moves onto it" test "$(last_uid uidnext mailbox)" = 4
run --probe uidnext -M "$M" "${base[@]}"
check "nothing new: UID 4 is not fetched again" \
    test "$(sent $((BASE + 0)) 'UID FETCH 4 (')" = 1

# ---- IMAP: the server refuses UID 2; UIDs 1 and 3 are read ----
ctl $((BASE + 0)) "uidnext 1" "uids"
ctl $((BASE + 1)) "uidnext 4" "uids 1 2 3" "fail 2"
run --probe fetchno -M "$M" "${base[@]}" \
    --bounce-mailbox imap://127.0.0.1:$((BASE + 1))/INBOX
check "IMAP refused FETCH: a WARNING, not UNKNOWN for the mailbox" \
    bash -c "! grep -q 'cannot read the bounce mailbox' <<<'$OUT'"
check "IMAP refused FETCH: reported with UID, the command and the reply" \
    has "message UID 2 in the bounce mailbox could not be read and was skipped: IMAP FETCH message UID 2: IMAP 127.0.0.1:$((BASE + 1)) failed at IMAP UID FETCH: A"
check "IMAP refused FETCH: ... the server's words" has "NO [UNAVAILABLE] cannot read message 2"
check "IMAP refused FETCH: UID 3 after it is read" \
    test "$(sent $((BASE + 1)) 'UID FETCH 3 BODY\[\]')" = 1
check "IMAP refused FETCH: the cursor passes it" test "$(last_uid fetchno bounce_mailbox)" = 3
run --probe fetchno -M "$M" "${base[@]}" \
    --bounce-mailbox imap://127.0.0.1:$((BASE + 1))/INBOX
check "IMAP refused FETCH: reported once" bash -c "! grep -q 'UID 2' <<<'$OUT'"

# ---- IMAP: UID 2 vanishes between SEARCH and FETCH (OK, no data) ----
ctl $((BASE + 3)) "uidnext 4" "uids 1 2 3" "gone 2"
run --probe gone -M "$M" "${base[@]}" \
    --bounce-mailbox imap://127.0.0.1:$((BASE + 3))/INBOX
check "IMAP FETCH with no data: reported, naming the FETCH, not LOGOUT" \
    has "UID 2: IMAP 127.0.0.1:$((BASE + 3)) failed at IMAP UID FETCH: A"
check "IMAP FETCH with no data: libcurl's LOGOUT is not what is named" \
    bash -c "! grep -q 'LOGOUT' <<<'$OUT'"
check "IMAP FETCH with no data: UID 3 is read" \
    test "$(sent $((BASE + 3)) 'UID FETCH 3 BODY\[\]')" = 1

# ---- POP3: RETR 2 gets -ERR; message 3 is read ----
ctl $((BASE + 2)) "msgs 3" "fail 2"
run --probe retr -M "$M" "${base[@]}" \
    --bounce-mailbox pop3://127.0.0.1:$((BASE + 2))
check "POP3 RETR -ERR: reported as RETR with the reply, not as UIDL" \
    has "message UIDL uidl-2 in the bounce mailbox could not be read and was skipped: POP3 RETR UIDL uidl-2: POP3 127.0.0.1:$((BASE + 2)) failed at POP3 RETR: -ERR [SYS/TEMP] cannot read message 2"
check "POP3 RETR -ERR: the message after it is read" \
    test "$(sent $((BASE + 2)) '^RETR 3')" = 1
check "POP3 RETR -ERR: all three examined" \
    jqt '.bounce_mailbox.seen == ["uidl-1", "uidl-2", "uidl-3"]' "$STATE/retr.json"
check "POP3 RETR -ERR: the new session was checked before RETR 3 (UIDL 3)" \
    test "$(sent $((BASE + 2)) '^UIDL 3')" = 1

done_testing
