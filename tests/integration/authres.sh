#!/bin/bash
# SPF, DKIM and DMARC from Authentication-Results, on the real mail path
# with real OpenDKIM: the relay signs corp.test, the mx verifies and
# writes Authentication-Results as mx.greylist.test (mailpath's dkim
# modes). dkim=pass is shown in the long output, JSON, perfdata and the
# MIB (mailcanaryd under a private snmpd); a relay signing with the
# wrong key gives dkim=fail, a WARNING naming dkim and its reason with
# auth_results = require, OK with report; forged fields (another
# authserv-id) are ignored (one claiming ours is removed by the mx's
# OpenDKIM, as RFC 8601 section 5 asks; below the receiving server's
# Received: it would not be read either: test_authres); without
# authserv_id nothing is read.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in opendkim opendkim-genkey snmpd snmpget jq; do
	command -v $c >/dev/null || { echo "Bail out! $c missing (scripts/deps)"; exit 1; }
done
DAEMON=$top_builddir/snmp-agent/mailcanaryd
BASE=${AUTHRES_TEST_PORT:-18300}
SNMP_PORT=$((BASE + 50))
if ss -Hlun "sport = :$SNMP_PORT" 2>/dev/null | grep -q .; then
	echo "Bail out! udp 127.0.0.1:$SNMP_PORT is already in use"; exit 1
fi
MAILPATH_GREYLIST_DELAY=1 start_mailpath "$BASE"
X=$(mktemp -d /tmp/mailcanary-authres.XXXXXX); CLEANUP+=("rm -rf $X")
mode() { "$MAILPATH" mode "$MP_ROOT" "$1" >>"$X/mode.log" 2>&1 || { echo "Bail out! mode $1: $(tail -3 "$X/mode.log")"; exit 1; }; }

base=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" -M "$MP_IMAP"
    --mailbox-user "$MP_TO_USER" --mailbox-password-file "$MP_ROOT/mbox.pw"
    --ca-file "$MP_CA" -t 20)
# canary PROBE ARGS...: sends one canary, then scans (no new one) until
# it is delivered, 40 s at most; OUT/RC of the last run.
canary() {
	local probe=$1 i
	shift
	run --probe "$probe" --state-dir "$X/$probe" "${base[@]}" "$@"
	for i in $(seq 1 40); do
		sleep 1
		run --probe "$probe" --state-dir "$X/$probe" "${base[@]}" --no-send "$@"
		has "delivered in" && return 0
	done
	return 1
}
scan() { local probe=$1; shift; run --probe "$probe" --state-dir "$X/$probe" "${base[@]}" --no-send "$@"; }
mkdir -p "$X"/{pass,wrong,forged,off,persist}

# ---- dkim: the relay signs, the mx verifies: dkim=pass ----
mode dkim
check "dkim mode: a canary is delivered" canary pass --authserv-id mx.greylist.test
diag_last
check "long output: dkim=pass, spf and dmarc missing (no SPF or DMARC on this path)" \
    bash -c 'grep -q "delivered in .*; spf=missing dkim=pass (1024-bit key) dmarc=missing" <<<"$1"' _ "$OUT"
check "report (the default): OK" bash -c '[ "$1" = 0 ] && grep -q "^MAILCANARY OK - canary #1 delivered" <<<"$2"' _ "$RC" "$OUT"
check "perfdata: auth_pass=1 (of three) and auth_not_passed=1c" \
    bash -c 'grep -Eq "\| .* auth_pass=1;;;0 auth_not_passed=1c" <<<"$1"' _ "$OUT"
scan pass --authserv-id mx.greylist.test --output json
check "JSON: auth_results of the newest delivery, dkim pass" \
    jqt '.auth_results.dkim == "pass" and .auth_results.spf == "missing" and .auth_results.canary == 1' <<<"$OUT"
check "JSON: the canary's auth_results, with the filter's comment as reason" \
    jqt '.canaries[0].auth_results == {"spf": "missing", "dkim": "pass", "dkim_reason": "1024-bit key", "dmarc": "missing"}' <<<"$OUT"
check "JSON: counters.auth_not_passed 1" jqt '.counters.auth_not_passed == 1' <<<"$OUT"
check "state file keeps the results" jqt '.canaries[0].auth_results.dkim == "pass"' "$X/pass/pass.json"

# The MIB: mailcanaryd on the same state (interval: no new canary).
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
start_agentx_snmpd "$X" "$SNMP_PORT"
cat >"$X/mc.conf" <<EOT
[global]
agentx_socket = $X/agentx.sock
state_dir = $X/pass
smtp = $MP_SMTP
from = $MP_FROM
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = $MP_ROOT/mbox.pw
ca_file = $MP_CA
interval = 3600

[probe pass]
to = $MP_TO
authserv_id = mx.greylist.test
auth_results = require
EOT
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
"$DAEMON" -f -c "$X/mc.conf" >>"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
for i in $(seq 1 20); do [ "$(get $E.2.1)" = '"pass"' ] && break; sleep 1; done
check "MIB: mcProbeLastDkimResult.1 = pass(2)" test "$(get $E.30.1)" = 2
check "MIB: mcProbeLastSpfResult.1 = missing(10)" test "$(get $E.29.1)" = 10
check "MIB: mcProbeLastDmarcResult.1 = missing(10)" test "$(get $E.31.1)" = 10
check "MIB: mcProbeAuthNotPassed.1 = 1" test "$(get $E.32.1)" = 1
check "MIB: auth_results = require makes the row warning(2)" test "$(get $E.5.1)" = 2
check "MIB: its status text names the methods" bash -c 'grep -q "delivered but spf=missing, dmarc=missing" <<<"$1"' _ "$(get $E.7.1)"
stop_pid "$DPID"

# ---- dkim-wrongkey: signed with a key not published: dkim=fail ----
mode dkim-wrongkey
check "dkim-wrongkey: a canary is delivered" canary wrong --authserv-id mx.greylist.test
diag_last
check "report: still OK" bash -c '[ "$1" = 0 ] && grep -q "^MAILCANARY OK - canary #1 delivered" <<<"$2"' _ "$RC" "$OUT"
check "report: the long output shows dkim=fail and its reason" \
    bash -c 'grep -q "; spf=missing dkim=fail (signature verification failed) dmarc=missing" <<<"$1"' _ "$OUT"
check "perfdata: auth_pass=0" bash -c 'grep -q " auth_pass=0;;;0 " <<<"$1"' _ "$OUT"
scan wrong --authserv-id mx.greylist.test --auth-results require
check "require: WARNING (exit 1)" rc_is 1
check "require: the status line names dkim and its reason" \
    bash -c 'grep -q "^MAILCANARY WARNING - canary #1 delivered but spf=missing, dkim=fail (signature verification failed), dmarc=missing" <<<"$1"' _ "$OUT"
diag_last
scan wrong --authserv-id mx.greylist.test --auth-results require --output json
check "require, JSON: a WARNING reason auth_results for canary 1" \
    jqt '.verdict == "WARNING" and ([.reasons[] | select(.code == "auth_results" and .state == "WARNING" and .canary == 1)] | length) == 1' <<<"$OUT"
scan wrong --auth-results require
check "require without authserv_id: refused as a configuration error" \
    bash -c '[ "$1" = 3 ] && grep -q "auth_results = require needs authserv_id" <<<"$2"' _ "$RC" "$OUT"

# ---- dkim-forged: the relay adds two forged fields ----
mode dkim-forged
check "dkim-forged: a canary is delivered (kept in the mailbox)" canary forged --authserv-id mx.greylist.test --keep
check "the relay prepended both forged fields" \
    bash -c '[ "$(grep -c "prepend: header .*: Authentication-Results: \(forged.example\|mx.greylist.test\);" "$1")" -ge 2 ]' _ "$MP_ROOT/log/relay.log"
copy=$(grep -l "^X-Mailcanary-Probe: forged" "$MP_MAILDIR"/cur/* "$MP_MAILDIR"/new/* 2>/dev/null | head -1)
check "the copy carries the one of forged.example" grep -q "^Authentication-Results: forged.example; spf=fail" "$copy"
check "the mx's OpenDKIM removed the one claiming its authserv-id (RFC 8601 section 5)" \
    bash -c '[ -f "$1" ] && ! grep -q "^Authentication-Results: mx.greylist.test; spf=pass" "$1"' _ "$copy"
check "forged fields ignored: dkim=pass (the mx's), spf and dmarc missing" \
    bash -c 'grep -q "; spf=missing dkim=pass (1024-bit key) dmarc=missing" <<<"$1"' _ "$OUT"
diag_last

# ---- no authserv_id: nothing read ----
mode dkim
canary off
check "no authserv_id: delivered, no results in the long output" \
    bash -c 'grep -q "delivered in" <<<"$1" && ! grep -q "dkim=" <<<"$1"' _ "$OUT"
check "no authserv_id: no auth_ perfdata" bash -c '! grep -q "auth_" <<<"$1"' _ "$OUT"
scan off --output json
check "no authserv_id: no auth_results in the JSON" jqt '(has("auth_results") | not) and (.canaries[0] | has("auth_results") | not)' <<<"$OUT"
done_testing
