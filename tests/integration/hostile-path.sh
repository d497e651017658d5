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

done_testing
