#!/bin/bash
# Hostile input on the real mail path (Postfix relay and mx with postgrey,
# Dovecot): a bounce mailbox full of the generated hostile messages ahead
# of a real glitch bounce, read by check_mailcanary over IMAP and POP3 and
# by mailcanaryd with several probes sharing it; and a state record that a
# long outage has filled.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v python3 >/dev/null || { echo "Bail out! python3 is missing"; exit 1; }
start_mailpath "${HOSTILE_TEST_PORT:-13000}"
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")
H=$(mktemp -d /tmp/mailcanary-hostile.XXXXXX); CLEANUP+=("rm -rf $H")
python3 "$top_srcdir/tests/hostile/generate" "$H" || { echo "Bail out! generate failed"; exit 1; }
mb=(-M "$MP_IMAP" --mailbox-user "$MP_TO_USER"
    --mailbox-password-file "$MP_ROOT/mbox.pw" --ca-file "$MP_CA")
route=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" "${mb[@]}" --state-dir "$STATE")
bounce=(--bounce-mailbox "$MP_BOUNCE_IMAP" --bounce-user "$MP_FROM_USER"
    --bounce-password-file "$MP_ROOT/smtp.pw")
wait_for() {	# PROBE JQ-EXPR SECONDS ARGS...: --no-send runs until true
	local probe=$1 expr=$2 secs=$3 i
	shift 3
	for i in $(seq 1 "$secs"); do
		run --probe "$probe" "${route[@]}" --no-send "$@"
		jqt "$expr" "$STATE/$probe.json" 2>/dev/null && return 0
		sleep 1
	done
	return 1
}

# ---- a full record: 2,000 hidden canaries younger than 7 days ----
# (about 1.4 days of outage at one check a minute)
python3 - "$STATE/full.json" <<'PY'
import json, sys, time
now = time.time()
c = [{"seq": i, "token": "%d-%d-deadbeef" % (i, int(now) - 90000 + i),
      "status": "hidden", "sent_at": now - 90000 + i * 40,
      "submitted_at": now - 90000 + i * 40,
      "resolved_at": now - 80000 + i * 40, "hidden_at": now - 80000 + i * 40}
     for i in range(1, 2001)]
json.dump({"format_version": 1, "next_seq": 2001, "last_sent": now - 3600,
           "counters": {"sent": 2000, "hidden": 2000}, "canaries": c},
          open(sys.argv[1], "w"))
PY
run --probe full "${route[@]}" --output json
check "full record: a canary is still sent and recorded (not UNKNOWN)" \
    bash -c "[ $RC != 3 ] && jq -e '.canaries | map(select(.seq == 2001 and .status == \"in_flight\")) | length == 1' '$STATE/full.json' >/dev/null"
check "full record: the oldest hidden canary folded, every count kept" \
    jqt '(.canaries | length) == 2000 and .counters.folded == 1 and .counters.hidden == 2000 and .counters.sent == 2001 and (.canaries[0].seq == 2)' "$STATE/full.json"
check "full record: recovery is seen (the new canary delivered: OK)" \
    wait_for full '.canaries[-1].status == "delivered"' 40
check "full record: OK after recovery" rc_is 0

# ---- a run killed while it submits: the record it saved is taken up ----
HANG=$(( ${HOSTILE_TEST_PORT:-13000} + 150 ))
start_scripted $HANG hang
"$PLUGIN" --probe killed "${route[@]}" -S smtp://127.0.0.1:$HANG -t 30 >/dev/null 2>&1 &
kpid=$!
for i in $(seq 1 50); do
	jqt '.canaries[0].status == "submitting"' "$STATE/killed.json" 2>/dev/null && break
	sleep 0.1
done
kill -KILL $kpid; wait $kpid 2>/dev/null
check "killed while submitting: the canary was recorded first, next_seq past it" \
    jqt '.canaries[0].status == "submitting" and .next_seq == 2' "$STATE/killed.json"
run --probe killed "${route[@]}" --no-send --output json
check "killed while submitting: the next run loads that state (not moved aside)" \
    bash -c "! ls '$STATE'/killed.json.corrupt-* >/dev/null 2>&1 && ! grep -q 'moved aside' <<<'$(sed "s/'/ /g" <<<"$OUT")'"
check "killed while submitting: the canary is taken as in flight and counted sent" \
    jqt '.canaries[0].status == "in_flight" and .counters.sent == 1' "$STATE/killed.json"

# ---- the bounce mailbox full of hostile mail, then a real glitch bounce ----
# Every hostile input sits ahead of the bounce, and one message over the
# cap; each run must stay within -t and never go UNKNOWN, and the real
# bogus NDR behind them must still be reported.
cp "$H/ordinary-9m.eml" "$H/oversize.eml"
head -c $((3 * 1024 * 1024)) /dev/zero | base64 >>"$H/oversize.eml"
for f in "$H"/*.eml; do cp "$f" "$MP_BOUNCE_MAILDIR/new/hostile-$(basename "$f" .eml).msg"; done
chown -R 65534:65534 "$MP_BOUNCE_MAILDIR"
NH=$(ls "$H"/*.eml | wc -l)
check "mode glitch" "$MAILPATH" mode "$MP_ROOT" glitch
unknown=0 slow=0 all=""
# hostile_runs PROBE BOUNCE-ARGS...: runs until the canary bounced (60 s)
hostile_runs() {
	local probe=$1 i; shift
	unknown=0 slow=0 all=""
	run --probe "$probe" "${route[@]}" "$@" -t 10
	all=$OUT
	[ "$RC" = 3 ] && unknown=$((unknown + 1))
	faster_than 10.5 || slow=$((slow + 1))
	for i in $(seq 1 60); do
		jqt '.canaries[0].status == "bounced"' "$STATE/$probe.json" 2>/dev/null && return 0
		sleep 1
		run --probe "$probe" "${route[@]}" --no-send "$@" -t 10
		all="$all
$OUT"
		[ "$RC" = 3 ] && { unknown=$((unknown + 1)); diag "$OUT"; }
		faster_than 10.5 || slow=$((slow + 1))
	done
	return 1
}
for via in IMAP POP3; do
	if [ $via = IMAP ]; then b=("${bounce[@]}"); p=himap; else
		b=(--bounce-mailbox "$MP_POP3" --bounce-user "$MP_FROM_USER"
		    --bounce-password-file "$MP_ROOT/smtp.pw"); p=hpop; fi
	check "$via: the glitch bounce behind $NH hostile messages is read" hostile_runs $p "${b[@]}"
	check "$via: no run UNKNOWN ($unknown), none past -t ($slow)" test $((unknown + slow)) = 0
	check "$via: CRITICAL, the bogus NDR named" bash -c "[ $RC = 2 ] && grep -q 'bogus NDR' <<<'$(sed "s/'/ /g" <<<"$OUT")'"
	check "$via: classed transient_as_permanent" \
	    jqt '.canaries[0].bounce_class == "transient_as_permanent" and .counters.bogus_ndr == 1' "$STATE/$p.json"
	check "$via: the message over the cap skipped, counted once" jqt '.counters.oversize == 1' "$STATE/$p.json"
	check "$via: the hostile bounces counted unparseable ($(jq .counters.unparseable "$STATE/$p.json"))" \
	    jqt '.counters.unparseable >= 10' "$STATE/$p.json"
	# (a scan may stop at half its budget and go on in the next run)
	check "$via: the oversize message reported once, with its size and Subject" \
	    test "$(grep -o 'over max_message_size ([0-9]*): skipped unread and kept (Subject: holiday pictures' <<<"$all" | wc -l)" = 1
done
check "the hostile messages are all still there (never deleted)" \
    test "$(find "$MP_BOUNCE_MAILDIR" -name 'hostile-*' | wc -l)" = "$NH"

# ---- mailcanaryd: four probes sharing that bounce mailbox ----
DAEMON=$top_builddir/snmp-agent/mailcanaryd
D=$STATE/d; mkdir -p "$D/state"; chmod 700 "$D/state"
{
	printf '[global]\nstate_dir = %s\nagentx_socket = %s\n' "$D/state" "$D/none.sock"
	printf 'smtp = %s\nfrom = %s\nto = %s\nmailbox = %s\nca_file = %s\n' "$MP_SMTP" "$MP_FROM" "$MP_TO" "$MP_IMAP" "$MP_CA"
	printf 'mailbox_user = %s\nmailbox_password_file = %s\n' "$MP_TO_USER" "$MP_ROOT/mbox.pw"
	printf 'bounce_mailbox = %s\nbounce_user = %s\n' "$MP_BOUNCE_IMAP" "$MP_FROM_USER"
	printf 'bounce_password_file = %s\ninterval = 5\ntimeout = 10\n' "$MP_ROOT/smtp.pw"
	for p in d1 d2 d3 d4; do printf '\n[probe %s]\n' "$p"; done
} >"$D/mc.conf"
"$DAEMON" -f -c "$D/mc.conf" >"$D/log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
all_bounced() {
	local p
	for p in d1 d2 d3 d4; do
		jqt '.canaries[0].bounce_class == "transient_as_permanent"' "$D/state/$p.json" 2>/dev/null || return 1
	done
}
wait_all() { local i; for i in $(seq 1 90); do all_bounced && return 0; sleep 1; done; return 1; }
check "mailcanaryd: each of 4 probes gets its bogus NDR past the hostile mail" wait_all
check "mailcanaryd: still running" kill -0 $DPID
check "mailcanaryd: each probe counted the message over the cap once" \
    bash -c "for p in d1 d2 d3 d4; do jq -e '.counters.oversize == 1' '$D/state/'\$p.json >/dev/null || exit 1; done"
t0=$(date +%s.%N); kill -TERM $DPID
for i in $(seq 1 100); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
SECS=$(echo "$(date +%s.%N) - $t0" | bc)
check "mailcanaryd: SIGTERM ends it within 5 s ($SECS s)" faster_than 5
check "mode healthy" "$MAILPATH" mode "$MP_ROOT" healthy

done_testing
