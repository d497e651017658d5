#!/bin/bash
# The product end to end on the real loopback mail path: Postfix relay,
# Postfix mx with postgrey, Dovecot. Healthy, blackhole and hold modes,
# the TLS and POP3 variants, many canaries at once, foreign mail, state
# corruption, and runs killed at random points.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v bc >/dev/null || { echo "Bail out! bc is not installed"; exit 1; }
start_mailpath "${MAILPATH_TEST_PORT:-12600}"
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")
DELAY=$MP_GREYLIST_DELAY
# postgrey counts whole seconds (a first try at :47.99 and a retry at :52.00
# are "5 seconds"), so a canary can pass a 5 s greylist after 4.01 s: the
# latency measured at the mailbox is at least DELAY - 1.
MIN=$((DELAY - 1))

mb=(-M "$MP_IMAP" --mailbox-user "$MP_TO_USER"
    --mailbox-password-file "$MP_ROOT/mbox.pw" --ca-file "$MP_CA")
route=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" "${mb[@]}" --state-dir "$STATE")
maildir_count() { find "$MP_MAILDIR/new" "$MP_MAILDIR/cur" -type f 2>/dev/null | wc -l; }

# wait_for PROBE JQ-EXPR [SECONDS] [ARGS...]: re-runs the plugin with
# --no-send until its JSON state satisfies the expression.
wait_for() {
	local probe=$1 expr=$2 secs=${3:-40} i
	shift 3 2>/dev/null || shift $#
	for i in $(seq 1 "$secs"); do
		run --probe "$probe" "${route[@]}" --no-send "$@"
		jqt "$expr" "$STATE/$probe.json" 2>/dev/null && return 0
		sleep 1
	done
	return 1
}

# ---- healthy: the canary meets the greylist, retries, and arrives ----
run --probe healthy "${route[@]}"
check "healthy: first run sends and reports OK" rc_is 0
check "healthy: first run says in flight" has "in flight"
check "healthy: the relay's reply is kept" jqt '.canaries[0].smtp_reply | test("^250 .*queued as [0-9A-F]+$")' "$STATE/healthy.json"
qid=$(jq -r '.canaries[0].queue_id' "$STATE/healthy.json")
check "healthy: the queue id is in the relay's log" grep -q "$qid: " "$MP_DIR/log/relay.log"
check "healthy: fresh address with the token" jqt '.canaries[0].rcpt | test("^canary\\+[0-9]+-[0-9a-f]+-[0-9a-f]{24}@greylist.test$")' "$STATE/healthy.json"
check "healthy: the relay was greylisted (450 in its log)" \
    bash -c "sleep 1; grep -q '$qid: .*450 4.2.0.*Greylisted' '$MP_DIR/log/relay.log'"
check "healthy: delivered within 40 s" wait_for healthy '.canaries[0].status == "delivered"' 40
check "healthy: OK" rc_is 0
check "healthy: status line says delivered" has "delivered in"
check "healthy: latency at least the greylist delay ($DELAY s, postgrey's whole seconds)" \
    jqt ".canaries[0].latency >= $MIN" "$STATE/healthy.json"
check "healthy: greylisting detected, with postgrey's delay" jqt '.canaries[0].greylisted == true and .canaries[0].greylist_source == "x-greylist" and .canaries[0].greylist_delay >= '"$DELAY" "$STATE/healthy.json"
check "healthy: hops recorded with times" jqt '(.canaries[0].hops | length) >= 2 and all(.canaries[0].hops[]; .at > 0)' "$STATE/healthy.json"
check "healthy: perfdata has the latency" has "latency="
check "healthy: found canary deleted from the mailbox" test "$(maildir_count)" = 0
run --probe healthy "${route[@]}" --no-send --output json
check "healthy: JSON output parses" jqt '.verdict == "OK" and .counters.delivered == 1' <<<"$OUT"
check "healthy: JSON perfdata" jqt '[.perfdata[].label] | index("latency") != null' <<<"$OUT"

# ---- memory: a whole cycle (find, delete, send) under valgrind ----
run --probe vg "${route[@]}"
# The canary must be in the mailbox before the cycle under valgrind.
for i in $(seq 1 60); do
	grep -rqs '^X-Mailcanary-Probe: vg' "$MP_MAILDIR/new" "$MP_MAILDIR/cur" && break
	sleep 1
done
vlog=$(mktemp); CLEANUP+=("rm -f $vlog")
valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --log-file="$vlog" "$PLUGIN" --probe vg "${route[@]}" \
    >/dev/null 2>&1 && vrc=0 || vrc=$?
check "valgrind: a full cycle has no memory error or leak (rc $vrc)" \
    bash -c "[ $vrc != 99 ] && ! grep -q . '$vlog'"
[ -s "$vlog" ] && diag "$(head -20 "$vlog")"
check "valgrind: and it found the canary" jqt '.counters.delivered == 1 and .counters.sent == 2' "$STATE/vg.json"

# ---- foreign mail: never counted, never deleted ----
tok=$(jq -r '.canaries[0].token' "$STATE/healthy.json")
forged="${tok%??}00"
for n in 1 2 3; do
	case $n in
	1) hdr="X-Mailcanary-Probe: healthy\nX-Mailcanary-Token: $forged" ;;
	2) hdr="X-Mailcanary-Probe: healthy\nX-Mailcanary-Token: not-a-token" ;;
	3) hdr="Subject: lunch?" ;;
	esac
	printf "From: someone@example.org\nTo: canary@greylist.test\n$hdr\n\nhello\n" \
	    >"$MP_MAILDIR/new/foreign$n.msg"
done
chown -R 65534:65534 "$MP_MAILDIR"
run --probe healthy "${route[@]}"
check "foreign mail: still OK" rc_is 0
check "foreign mail: not counted" jqt '.counters.delivered == 1' "$STATE/healthy.json"
check "foreign mail: all 3 left in the mailbox" test "$(find "$MP_MAILDIR" -name 'foreign*' | wc -l)" = 3
wait_for healthy '.counters.delivered == 2' 40 >/dev/null
check "foreign mail: own canary found and deleted beside them" \
    bash -c "! grep -rqs '^Subject: mailcanary healthy ' '$MP_MAILDIR/new' '$MP_MAILDIR/cur'"
check "foreign mail: still all 3 there" test "$(find "$MP_MAILDIR" -name 'foreign*' | wc -l)" = 3

# ---- SMTPS, STARTTLS with AUTH, IMAPS, POP3 and POP3S ----
run --probe smtps -S "$MP_SMTPS" -f "$MP_FROM" -r "$MP_TO" "${mb[@]}" --state-dir "$STATE"
check "SMTPS: submitted" jqt '.canaries[0].status == "in_flight"' "$STATE/smtps.json"
run --probe auth "${route[@]}" --smtp-user "$MP_FROM_USER" --smtp-password-file "$MP_ROOT/smtp.pw"
check "STARTTLS + AUTH: submitted" jqt '.canaries[0].status == "in_flight"' "$STATE/auth.json"
printf 'wrong\n' >"$STATE/bad.pw"; chmod 600 "$STATE/bad.pw"
run --probe authbad "${route[@]}" --smtp-user "$MP_FROM_USER" --smtp-password-file "$STATE/bad.pw"
check "AUTH rejected: CRITICAL" rc_is 2
check "AUTH rejected: names AUTH and the reply" has "at SMTP AUTH: 535"
run --probe tlsbad -S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" -M "$MP_IMAP" \
    --mailbox-user "$MP_TO_USER" --mailbox-password-file "$MP_ROOT/mbox.pw" --state-dir "$STATE"
check "TLS not trusted (no --ca-file): CRITICAL" rc_is 2
check "TLS not trusted: says so" has "SSL certificate"
for v in imaps:"$MP_IMAPS" pop3:"$MP_POP3" pop3s:"$MP_POP3S"; do
	name=${v%%:*} url=${v#*:}
	r=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" -M "$url" --mailbox-user "$MP_TO_USER"
	    --mailbox-password-file "$MP_ROOT/mbox.pw" --ca-file "$MP_CA" --state-dir "$STATE")
	run --probe "$name" "${r[@]}"
	ok_found=1
	for i in $(seq 1 40); do
		run --probe "$name" "${r[@]}" --no-send
		jqt '.canaries[0].status == "delivered"' "$STATE/$name.json" && { ok_found=0; break; }
		sleep 1
	done
	check "$name: canary found" test $ok_found = 0
	check "$name: OK with latency >= $MIN s" jqt ".canaries[0].latency >= $MIN" "$STATE/$name.json"
done

# ---- blackhole: accepted, then gone -> HIDDEN ----
check "mode blackhole: relay restarted" "$MAILPATH" mode "$MP_ROOT" blackhole
run --probe blackhole "${route[@]}" --lost-after 12
check "blackhole: accepted by the relay" jqt '.canaries[0].status == "in_flight"' "$STATE/blackhole.json"
sleep 13
run --probe blackhole "${route[@]}" --lost-after 12 --no-send
check "blackhole: CRITICAL once lost-after passes" rc_is 2
check "blackhole: says hidden, with the queue id" \
    has "1 canary hidden: #1 sent"
check "blackhole: queue id in the status line" has "(queue id $(jq -r '.canaries[0].queue_id' "$STATE/blackhole.json"))"
check "blackhole: counted" jqt '.counters.hidden == 1' "$STATE/blackhole.json"
check "blackhole: perfdata hidden=1c" has "hidden=1c"

# ---- hold: stuck in a queue nobody releases -> HIDDEN, then clears ----
check "mode hold: relay restarted" "$MAILPATH" mode "$MP_ROOT" hold
run --probe hold "${route[@]}" --lost-after 12
sleep 13
run --probe hold "${route[@]}" --lost-after 12 --no-send
check "hold: CRITICAL hidden" rc_is 2
check "hold: says hidden" has "canary hidden"
check "hold: the canary sits in the relay's hold queue" \
    bash -c "ls '$MP_DIR/relay/queue/hold' | grep -q ."
check "mode healthy: relay restarted" "$MAILPATH" mode "$MP_ROOT" healthy
run --probe hold "${route[@]}" --lost-after 60
check "hold: still CRITICAL while the next canary is in flight" rc_is 2
check "hold: clears once a later canary is delivered" \
    wait_for hold '.canaries[-1].status == "delivered"' 40 --lost-after 60
check "hold: OK again" rc_is 0

# ---- bounces: glitch (the bogus NDR), reject, down (delay DSN) ----
bounce=(--bounce-mailbox "$MP_BOUNCE_IMAP" --bounce-user "$MP_FROM_USER"
    --bounce-password-file "$MP_ROOT/smtp.pw")
printf 'From: MAILER-DAEMON@elsewhere.example\nTo: probe@corp.test\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\nContent-Type: text/plain\n\nfailed\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; elsewhere.example\n\nFinal-Recipient: rfc822; canary+9-6b000000-0123456789abcdef01234567@greylist.test\nAction: failed\nStatus: 5.1.1\n\n--B--\n' \
    >"$MP_BOUNCE_MAILDIR/new/foreign-bounce.msg"
printf 'From: friend@example.org\nTo: probe@corp.test\nSubject: lunch?\n\nhi\n' >"$MP_BOUNCE_MAILDIR/new/foreign-mail.msg"
chown -R 65534:65534 "$MP_BOUNCE_MAILDIR"

check "mode glitch: relay restarted" "$MAILPATH" mode "$MP_ROOT" glitch
run --probe glitch "${route[@]}" "${bounce[@]}"
check "glitch: canary bounced within 40 s" \
    wait_for glitch '.canaries[0].status == "bounced"' 40 "${bounce[@]}"
check "glitch: CRITICAL" rc_is 2
check "glitch: the status line names the bogus NDR, the 4xx and the reporting MTA" \
    has 'bogus NDR for #1: exchange.corp.test turned a temporary "450 4.2.0'
check "glitch: ... and the next hop that said it" has 'from 127.0.0.1 into a permanent failure'
check "glitch: classed transient_as_permanent with status 4.2.0" \
    jqt '.canaries[0].bounce_class == "transient_as_permanent" and .canaries[0].bounce_status == "4.2.0"' "$STATE/glitch.json"
check "glitch: counted" jqt '.counters.bounced == 1 and .counters.bogus_ndr == 1' "$STATE/glitch.json"
check "glitch: perfdata bogus_ndr=1c" has "bogus_ndr=1c"
check "glitch: the bounce was deleted" \
    bash -c "! grep -rqs 'X-Mailcanary-Probe: glitch' '$MP_BOUNCE_MAILDIR/new' '$MP_BOUNCE_MAILDIR/cur'"
check "glitch: another probe's bounce and other mail are left alone" \
    test "$(find "$MP_BOUNCE_MAILDIR" -name 'foreign-*' | wc -l)" = 2
run --probe glitch "${route[@]}" "${bounce[@]}" --output json
check "glitch: JSON carries the parsed fields" \
    jqt '.canaries[] | select(.seq == 1) | .bounce_reporting_mta == "exchange.corp.test" and .bounce_remote_mta == "127.0.0.1" and (.bounce_diagnostic | test("450 4.2.0"))' <<<"$OUT"
check "mode healthy: relay restarted" "$MAILPATH" mode "$MP_ROOT" healthy
run --probe glitch "${route[@]}" "${bounce[@]}"
check "glitch, then healthy: OK once a later canary is delivered" \
    wait_for glitch '[.canaries[] | select(.status == "delivered")] | length >= 1' 40 "${bounce[@]}"
check "glitch, then healthy: OK" rc_is 0
printf 'From: postmaster@webmail.example.org\nTo: probe@corp.test\nSubject: Undeliverable: mailcanary glitch\nMIME-Version: 1.0\nContent-Type: text/html\n\n<p>Your message could not be delivered.</p>\n' \
    >"$MP_BOUNCE_MAILDIR/new/unparseable.msg"
chown 65534:65534 "$MP_BOUNCE_MAILDIR/new/unparseable.msg"
run --probe glitch "${route[@]}" "${bounce[@]}" --no-send
check "unparseable bounce: WARNING, reported with its Subject and sender" \
    has "unparseable bounce kept in the bounce mailbox (Subject: Undeliverable: mailcanary glitch; From: postmaster@webmail.example.org"
check "unparseable bounce: WARNING" rc_is 1
check "unparseable bounce: counted" jqt '.counters.unparseable == 1' "$STATE/glitch.json"
check "unparseable bounce: kept" test -n "$(find "$MP_BOUNCE_MAILDIR" -name 'unparseable.msg*')"

check "mode reject: relay and mx restarted" "$MAILPATH" mode "$MP_ROOT" reject
run --probe reject "${route[@]}" "${bounce[@]}"
check "reject: canary bounced within 30 s" \
    wait_for reject '.canaries[0].status == "bounced"' 30 "${bounce[@]}"
check "reject: CRITICAL" rc_is 2
check "reject: a permanent rejection, with the 5.1.1 reply" has 'rejected it permanently with "550 5.1.1'
check "reject: classed permanent" jqt '.canaries[0].bounce_class == "permanent" and .counters.bogus_ndr == 0' "$STATE/reject.json"
check "mode healthy: restarted" "$MAILPATH" mode "$MP_ROOT" healthy
run --probe reject "${route[@]}" "${bounce[@]}"
check "reject, then healthy: OK again" \
    wait_for reject '[.canaries[] | select(.status == "delivered")] | length >= 1' 40 "${bounce[@]}"
check "reject, then healthy: OK" rc_is 0

check "mode down: relay restarted" "$MAILPATH" mode "$MP_ROOT" down
run --probe down "${route[@]}" "${bounce[@]}" --lost-after 25
check "down: a delay DSN arrives within 20 s" \
    wait_for down '.canaries[0].delayed == true' 20 "${bounce[@]}" --lost-after 25
check "down: WARNING while the canary is still queued" rc_is 1
check "down: says so, naming the reporting MTA" has "delay notice for canary #1 from exchange.corp.test"
check "down: canary still in flight, delay counted" jqt '.canaries[0].status == "in_flight" and .counters.delayed_dsn >= 1' "$STATE/down.json"
# Until lost-after (25 s) has passed since submission, whenever the DSN came.
sub=$(jq -r '.canaries[0].submitted_at' "$STATE/down.json")
sleep "$(echo "$sub + 27 - $(date +%s.%N)" | bc | sed 's/^-.*/0/')"
run --probe down "${route[@]}" "${bounce[@]}" --lost-after 25 --no-send
check "down: HIDDEN once lost-after passes (the queue never drains)" has "canary hidden: #1"
check "down: CRITICAL" rc_is 2
check "mode healthy: restarted" "$MAILPATH" mode "$MP_ROOT" healthy
run --probe down "${route[@]}" "${bounce[@]}" --lost-after 25
check "down, then healthy: OK once a later canary is delivered" \
    wait_for down '.canaries[-1].status == "delivered"' 40 "${bounce[@]}" --lost-after 25
check "down, then healthy: OK" rc_is 0

# ---- SMTP down -> CRITICAL; IMAP down -> UNKNOWN, in flight listed ----
run --probe down -S "$MP_SMTP_DEAD" -f "$MP_FROM" -r "$MP_TO" "${mb[@]}" --state-dir "$STATE"
check "SMTP down: CRITICAL" rc_is 2
check "SMTP down: names the step" has "at SMTP connect"
run --probe imapdown "${route[@]}"
run --probe imapdown -S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" -M "$MP_IMAP_DEAD" \
    --mailbox-user "$MP_TO_USER" --mailbox-password-file "$MP_ROOT/mbox.pw" \
    --ca-file "$MP_CA" --state-dir "$STATE"
check "IMAP down: UNKNOWN" rc_is 3
check "IMAP down: says it cannot read the mailbox" has "cannot read the test mailbox"
check "IMAP down: canaries in flight still listed" has "#2 sent"
printf 'wrong\n' >"$STATE/mbad.pw"; chmod 600 "$STATE/mbad.pw"
run --probe loginbad --no-send -M "$MP_IMAP" --mailbox-user "$MP_TO_USER" \
    --mailbox-password-file "$STATE/mbad.pw" --ca-file "$MP_CA" --state-dir "$STATE"
check "IMAP login failed: UNKNOWN" rc_is 3
check "IMAP login failed: names the step and the reply" has "at IMAP AUTHENTICATE: A004 NO [AUTHENTICATIONFAILED]"

# ---- 50 canaries in flight at once ----
# Submitted with the mailbox unreachable, so none is found early: all 50
# are in flight together, then one scan of the real mailbox finds them.
for i in $(seq 1 50); do
	run --probe many -S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" -M "$MP_IMAP_DEAD" \
	    --mailbox-user "$MP_TO_USER" --mailbox-password-file "$MP_ROOT/mbox.pw" \
	    --ca-file "$MP_CA" --state-dir "$STATE" --lost-after 600
done
check "50 in flight: all 50 in flight at once" jqt '([.canaries[] | select(.status == "in_flight")] | length) == 50 and .counters.submit_failed == 0' "$STATE/many.json"
check "50 in flight: all delivered" wait_for many '.counters.delivered == 50' 60 --lost-after 600
check "50 in flight: OK and none left in flight" jqt '.verdict == "OK" and .inflight == 0' <<<"$("$PLUGIN" --probe many "${route[@]}" --no-send --lost-after 600 --output json)"
check "50 in flight: every latency at least the greylist delay" jqt "all(.canaries[]; .latency >= $MIN)" "$STATE/many.json"

# ---- state corruption: moved aside, UNKNOWN once, then a fresh start ----
printf '{"format_version": 1, "next_seq": 3, "canar' >"$STATE/healthy.json"
run --probe healthy "${route[@]}" --no-send
check "corrupt state: UNKNOWN" rc_is 3
check "corrupt state: names where it was moved" has "moved aside to $STATE/healthy.json.corrupt-"
check "corrupt state: the file is kept" bash -c "ls '$STATE'/healthy.json.corrupt-* >/dev/null"
run --probe healthy "${route[@]}" --no-send
check "corrupt state: the next run starts afresh" bash -c "! grep -q 'moved aside' <<<'$OUT'"

# ---- two runs at once: the second waits for the lock, then UNKNOWN ----
flock "$STATE/healthy.lock" sleep 4 &
sleep 0.3
run --probe healthy "${route[@]}" --no-send -t 2
check "lock held: UNKNOWN" rc_is 3
check "lock held: within -t + 0.5 s ($SECS s)" faster_than 2.5
check "lock held: says another run holds it" has "another run of this probe"
wait

# ---- SIGKILL at random points, 200 times: the state always loads ----
bad=0
for i in $(seq 1 200); do
	"$PLUGIN" --probe kill "${route[@]}" --lost-after 600 >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
	if [ -e "$STATE/kill.json" ] && ! jqt '.format_version == 1' "$STATE/kill.json"; then
		bad=$((bad + 1))
	fi
done
# A full run: on a loaded machine no killed run may have got as far as
# saving, and then there is no canary yet to report on (UNKNOWN).
run --probe kill "${route[@]}" --lost-after 600
check "SIGKILL x200: every state file loaded ($bad bad)" test $bad = 0
check "SIGKILL x200: the next run is not a reset" bash -c "! grep -q 'moved aside' <<<'$OUT' && [ $RC -le 2 ]"
check "SIGKILL x200: no temporary files left" bash -c "! ls '$STATE'/kill.json.?????? 2>/dev/null | grep -q ."

done_testing
