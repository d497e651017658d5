#!/bin/bash
# Message size and stopping, end to end on the real mail path: a 9 MiB
# message before a real bounce, over IMAP and POP3, under the default
# max_message_size (downloaded to a file, the bounce after it read) and
# over a smaller one (skipped unread, reported once, counted, the bounce
# after it read); the same in the test mailbox; a SIGTERM in the middle
# of a long bounce scan.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v bc >/dev/null || { echo "Bail out! bc is not installed"; exit 1; }
command -v curl >/dev/null || { echo "Bail out! curl is not installed"; exit 1; }
start_mailpath "${MAILBOX_LIMITS_TEST_PORT:-12900}"
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")
MP_BOUNCE_POP3=$MP_POP3
DOVECOT_LOG=$MP_DIR/log/dovecot.log

mb=(-M "$MP_IMAP" --mailbox-user "$MP_TO_USER"
    --mailbox-password-file "$MP_ROOT/mbox.pw" --ca-file "$MP_CA")
route=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" "${mb[@]}" --state-dir "$STATE")
bimap=(--bounce-mailbox "$MP_BOUNCE_IMAP" --bounce-user "$MP_FROM_USER"
    --bounce-password-file "$MP_ROOT/smtp.pw")
bpop=(--bounce-mailbox "$MP_BOUNCE_POP3" --bounce-user "$MP_FROM_USER"
    --bounce-password-file "$MP_ROOT/smtp.pw")

# big FILE [HEADER]: a plain 9 MiB message (Subject and From to report).
big() {
	perl -e 'print "From: Big Sender <big\@example.org>\nTo: probe\@corp.test\n";
	    print "$ARGV[0]\n" if length $ARGV[0];
	    print "Subject: holiday photos\nMIME-Version: 1.0\n\n";
	    my $l = ("A" x 76) . "\n"; print $l x int(9 * 1024 * 1024 / 77);' \
	    "${2:-}" >"$1"
	chown 65534:65534 "$1"
}
# uid_sync USER PASSWORD: Dovecot gives what is in the Maildir its UIDs
# now, so a message dropped in before one that arrives later has the
# lower UID (and the lower POP3 number).
uid_sync() {
	curl -s --ssl-reqd --cacert "$MP_CA" -u "$1:$2" -X 'UID SEARCH ALL' \
	    "$MP_BOUNCE_IMAP" >/dev/null
}
# dovecot_out USER: bytes the last IMAP session of USER sent us.
dovecot_out() {
	grep "imap($1)" "$DOVECOT_LOG" | grep 'Logged out' | tail -1 |
	    sed 's/.* out=\([0-9]*\).*/\1/'
}
# pop3_retr USER: bytes of the RETRs of the last POP3 session of USER.
pop3_retr() {
	grep "pop3($1)" "$DOVECOT_LOG" | grep 'Logged out' | tail -1 |
	    sed 's/.* retr=[0-9]*\/\([0-9]*\).*/\1/'
}
bounced() { jqt '.canaries[0].status == "bounced"' "$STATE/$1.json"; }

# ---- four canaries bounce behind a 9 MiB message ----
big "$MP_BOUNCE_MAILDIR/new/big.eml"
uid_sync "$MP_FROM_USER" "$MP_FROM_PASSWORD"
BIG_UID=$(curl -s --ssl-reqd --cacert "$MP_CA" -u "$MP_FROM_USER:$MP_FROM_PASSWORD" \
    -X 'UID SEARCH SUBJECT "holiday photos"' "$MP_BOUNCE_IMAP" | tr -dc '0-9')
check "mode reject: relay and mx restarted" "$MAILPATH" mode "$MP_ROOT" reject
for p in dimap dpop oimap opop; do
	run --probe $p "${route[@]}"
done
for i in $(seq 1 60); do
	[ "$(grep -rls '^X-Mailcanary-Probe: [do]i\?[mp][ao]p\?' \
	    "$MP_BOUNCE_MAILDIR/new" "$MP_BOUNCE_MAILDIR/cur" | wc -l)" -ge 4 ] && break
	sleep 1
done
check "four bounces behind the 9 MiB message (UID $BIG_UID)" \
    test "$(grep -rls '^X-Mailcanary-Probe: ' "$MP_BOUNCE_MAILDIR/new" "$MP_BOUNCE_MAILDIR/cur" | wc -l)" -ge 4
check "mode healthy: restarted" "$MAILPATH" mode "$MP_ROOT" healthy

# ---- default max_message_size (10M): 9 MiB is read, through a file ----
run --probe dimap "${route[@]}" "${bimap[@]}" --no-send
check "IMAP, 9 MiB under the default cap: the bounce mailbox is read" \
    bash -c "! grep -q 'cannot read the bounce mailbox' <<<'$OUT'"
check "IMAP, 9 MiB under the default cap: the bounce after it is read" bounced dimap
check "IMAP, 9 MiB under the default cap: nothing oversize" \
    jqt '.counters.oversize == 0' "$STATE/dimap.json"
check "IMAP, 9 MiB under the default cap: no temporary file left" \
    bash -c "! ls '$STATE' | grep -q mailcanary-msg"
run --probe dpop "${route[@]}" "${bpop[@]}" --no-send
check "POP3, 9 MiB under the default cap: the bounce mailbox is read" \
    bash -c "! grep -q 'cannot read the bounce mailbox' <<<'$OUT'"
check "POP3, 9 MiB under the default cap: the bounce after it is read" bounced dpop

# ---- --max-message-size 8M: 9 MiB is skipped unread, reported once ----
run --probe oimap "${route[@]}" "${bimap[@]}" --no-send --max-message-size 8M -vv
out=$(dovecot_out "$MP_FROM_USER")
check "IMAP oversize: WARNING with UID, size, Subject and From" \
    has "message UID $BIG_UID in the bounce mailbox is "
check "IMAP oversize: ... over max_message_size, Subject and From" \
    has "bytes, over max_message_size (8388608): skipped unread and kept (Subject: holiday photos; From: Big Sender <big@example.org>)"
check "IMAP oversize: counted" jqt '.counters.oversize == 1' "$STATE/oimap.json"
check "IMAP oversize: the bounce after it is read" bounced oimap
check "IMAP oversize: CRITICAL for the bounce, the size a reason beside it" rc_is 2
check "IMAP oversize: only its header was asked for" \
    grep -q "UID FETCH $BIG_UID BODY\[HEADER\]<0.65536>" <<<"$ERR"
check "IMAP oversize: never its body" bash -c "! grep -q 'UID FETCH $BIG_UID BODY\[\]' <<<\"\$1\"" _ "$ERR"
check "IMAP oversize: Dovecot sent under 1 MB in that session ($out bytes)" \
    test "${out:-99999999}" -lt 1000000
check "IMAP oversize: the cursor passed both" \
    jqt ".bounce_mailbox.last_uid > $BIG_UID" "$STATE/oimap.json"
run --probe oimap "${route[@]}" "${bimap[@]}" --no-send --max-message-size 8M
check "IMAP oversize: reported once" bash -c "! grep -q 'max_message_size' <<<'$OUT'"
check "IMAP oversize: counted once" jqt '.counters.oversize == 1' "$STATE/oimap.json"

run --probe opop "${route[@]}" "${bpop[@]}" --no-send --max-message-size 8M -vv
retr=$(pop3_retr "$MP_FROM_USER")
check "POP3 oversize: WARNING with UIDL, size, Subject and From" \
    has "bytes, over max_message_size (8388608): skipped unread and kept (Subject: holiday photos; From: Big Sender <big@example.org>)"
check "POP3 oversize: named by its UIDL" has "message UIDL "
check "POP3 oversize: counted" jqt '.counters.oversize == 1' "$STATE/opop.json"
check "POP3 oversize: the bounce after it is read" bounced opop
check "POP3 oversize: sized with LIST, its header read with TOP" \
    grep -q "TOP $BIG_UID 0" <<<"$ERR"
check "POP3 oversize: never RETR of it" bash -c "! grep -q '> RETR $BIG_UID\$' <<<\"\$1\"" _ "$ERR"
check "POP3 oversize: Dovecot's RETR bytes under 1 MB ($retr)" \
    test "${retr:-99999999}" -lt 1000000
run --probe opop "${route[@]}" "${bpop[@]}" --no-send --max-message-size 8M
check "POP3 oversize: reported once" bash -c "! grep -q 'max_message_size' <<<'$OUT'"

# ---- the same in the test mailbox: reported once, the canary after it found ----
big "$MP_MAILDIR/new/big.eml" "X-Mailcanary-Probe: tbig"
tm=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" --mailbox-user "$MP_TO_USER"
    --mailbox-password-file "$MP_ROOT/mbox.pw" --ca-file "$MP_CA"
    --state-dir "$STATE" --max-message-size 8M)
# found PROBE URL: re-runs until its canary is delivered; counts the runs
# that named the oversize message again.
found() {
	local i
	AGAIN=0
	for i in $(seq 1 40); do
		run --probe "$1" "${tm[@]}" -M "$2" --no-send
		has "max_message_size" && AGAIN=$((AGAIN + 1))
		jqt '.canaries[0].status == "delivered"' "$STATE/$1.json" && return 0
		sleep 1
	done
	return 1
}
run --probe tbig "${tm[@]}" -M "$MP_IMAP"
check "test mailbox, IMAP oversize: WARNING with UID, Subject and From" \
    has "message UID 1 in the test mailbox is "
check "test mailbox, IMAP oversize: ... Subject and From" \
    has "over max_message_size (8388608): skipped unread and kept (Subject: holiday photos; From: Big Sender <big@example.org>)"
check "test mailbox, IMAP oversize: counted" jqt '.counters.oversize == 1' "$STATE/tbig.json"
check "test mailbox, IMAP: the canary after it is found" found tbig "$MP_IMAP"
check "test mailbox, IMAP oversize: reported once ($AGAIN more)" test "$AGAIN" = 0
run --probe tpop "${tm[@]}" -M "$MP_POP3"
check "test mailbox, POP3 oversize: WARNING with UIDL, Subject and From" \
    has "in the test mailbox is "
check "test mailbox, POP3 oversize: ... Subject and From" \
    has "over max_message_size (8388608): skipped unread and kept (Subject: holiday photos; From: Big Sender <big@example.org>)"
check "test mailbox, POP3: the canary after it is found" found tpop "$MP_POP3"
check "test mailbox, POP3 oversize: reported once ($AGAIN more)" test "$AGAIN" = 0
check "test mailbox: the oversize message is kept" test -n "$(find "$MP_MAILDIR" -name 'big.eml*')"

# ---- SIGTERM in the middle of a long bounce scan: UNKNOWN within 0.5 s ----
# The cursor of "term" first passes what is there; then 1900 new messages.
run --probe term "${route[@]}" "${bimap[@]}" --no-send
first=$(jq -r '.bounce_mailbox.last_uid' "$STATE/term.json")
perl -e 'for my $i (1 .. 1900) {
	open(my $f, ">", sprintf("%s/new/term-%05d.eml", $ARGV[0], $i)) or die;
	print $f "From: list\@example.org\nTo: probe\@corp.test\nSubject: news $i\n\n",
	    ("news " x 15 . "\n") x 200;
	close $f; }' "$MP_BOUNCE_MAILDIR"
chown -R 65534:65534 "$MP_BOUNCE_MAILDIR"
outf=$(mktemp); CLEANUP+=("rm -f $outf $outf.err $outf.uids")
"$PLUGIN" --probe term "${route[@]}" "${bimap[@]}" --no-send -t 60 -vv \
    >"$outf" 2>"$outf.err" &
pid=$!
# Wait until the scan is well into the new messages, then stop it.
fetches() { grep -o '> A[0-9]* UID FETCH [0-9]* BODY\[\]' "$1" 2>/dev/null | awk '{ print $5 }'; }
for i in $(seq 1 100); do
	[ "$(fetches "$outf.err" | wc -l)" -ge 300 ] && break
	sleep 0.05
done
t0=$(date +%s.%N)
kill -TERM $pid
wait $pid && RC=0 || RC=$?
secs=$(echo "$(date +%s.%N) - $t0" | bc)
OUT=$(cat "$outf")
fetches "$outf.err" >"$outf.uids"
fetched=$(wc -l <"$outf.uids")
check "SIGTERM mid-scan: UNKNOWN" rc_is 3
check "SIGTERM mid-scan: within 0.5 s of the signal ($secs s)" \
    test "$(echo "$secs < 0.5" | bc)" = 1
check "SIGTERM mid-scan: says so" has "terminated by a signal"
check "SIGTERM mid-scan: not an OK" bash -c "! grep -q '^MAILCANARY OK' <<<'$OUT'"
last=$(jq -r '.bounce_mailbox.last_uid' "$STATE/term.json")
check "SIGTERM mid-scan: stopped in the middle ($fetched of 1900 fetched)" \
    test "$fetched" -ge 300 -a "$fetched" -lt 1900
check "SIGTERM mid-scan: what was read is behind the cursor (UID $last)" \
    test "$last" -ge $((first + 300))
check "SIGTERM mid-scan: no lock left held" flock -n "$STATE/term.lock" true
run --probe term "${route[@]}" "${bimap[@]}" --no-send -t 60 -vv
fetches <(printf '%s\n' "$ERR") >>"$outf.uids"
check "SIGTERM mid-scan: the next run goes on from there" \
    jqt ".bounce_mailbox.last_uid > $last" "$STATE/term.json"
# The one in flight when the signal came was not handled: read again.
check "1900 new bounce-mailbox messages: none skipped, none read twice but the one stopped ($(wc -l <"$outf.uids") fetches, $(sort -u "$outf.uids" | wc -l) distinct)" \
    test "$(sort -u "$outf.uids" | wc -l)" = 1900 -a "$(wc -l <"$outf.uids")" -le 1901

done_testing
