#!/bin/bash
# SPF, DKIM and DMARC from Authentication-Results on the real mail path:
# real OpenDKIM signs corp.test at the relay and verifies at the mx, real
# OpenDMARC at the mx checks SPF and DMARC, both writing
# Authentication-Results as mx.greylist.test (mailpath's dkim modes with
# MAILPATH_DMARC=yes; the relay sends from 192.0.2.25, as libspf2 passes
# a loopback client unasked). SPF and DMARC need DNS: the test runs in a network
# and mount namespace of its own, where a dnsmasq on 127.0.0.1:53 (port
# 53 of that namespace only, seen by nothing else) answers corp.test's
# SPF and _dmarc records and /etc/resolv.conf (bind-mounted, in the
# namespace only) points at it; no query leaves the namespace.
# All pass: shown in the long output, JSON, perfdata and the MIB, OK even
# with auth_results = require. The relay signing with the wrong key:
# dkim=fail, a WARNING naming dkim and its reason with require, OK with
# report. A forged field of another authserv-id is ignored (one claiming
# ours is removed by the mx's OpenDKIM, as RFC 8601 section 5 asks; one
# below the receiving server's Received: would not be read either:
# test_authres). Without authserv_id nothing is read.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in opendkim opendkim-genkey opendmarc dnsmasq unshare ip snmpd snmpget jq; do
	command -v $c >/dev/null || { echo "Bail out! $c missing (scripts/deps)"; exit 1; }
done
if [ -z "${AUTHRES_NETNS:-}" ]; then
	exec env AUTHRES_NETNS=1 unshare --net --mount bash "$0" "$@"
fi
ip link set lo up
# The relay's address as the mx sees it: libspf2 passes a loopback
# client without asking DNS, so the relay sends from this one (TEST-NET-1,
# on this namespace's loopback only).
RELAY_ADDR=192.0.2.25
ip addr add "$RELAY_ADDR/32" dev lo
DAEMON=$top_builddir/snmp-agent/mailcanaryd
BASE=${AUTHRES_TEST_PORT:-18300}
SNMP_PORT=$((BASE + 50))
X=$(mktemp -d /tmp/mailcanary-authres.XXXXXX); CLEANUP+=("rm -rf $X")
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$X/resolv.conf"
mount --bind "$X/resolv.conf" /etc/resolv.conf || { echo "Bail out! cannot bind-mount resolv.conf in the namespace"; exit 1; }
CLEANUP+=("umount /etc/resolv.conf")
dnsmasq --conf-file=/dev/null --pid-file="$X/dnsmasq.pid" --user=root \
    --listen-address=127.0.0.1 --bind-interfaces --port=53 --no-resolv \
    --no-hosts --log-queries --log-facility="$X/dnsmasq.log" \
    --txt-record=corp.test,"v=spf1 ip4:$RELAY_ADDR -all" \
    --txt-record=_dmarc.corp.test,"v=DMARC1; p=reject" ||
    { echo "Bail out! dnsmasq did not start"; exit 1; }
CLEANUP+=("stop_pid \$(cat $X/dnsmasq.pid 2>/dev/null)")
MAILPATH_DMARC=yes MAILPATH_RELAY_SOURCE=$RELAY_ADDR MAILPATH_GREYLIST_DELAY=1 \
    start_mailpath "$BASE"
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

# ---- dkim: signed and verified, SPF and DMARC checked: all pass ----
mode dkim
check "dkim mode: a canary is delivered" canary pass --authserv-id mx.greylist.test
diag_last
check "long output: spf=pass dkim=pass dmarc=pass, with the filters' comments" \
    bash -c 'grep -q "delivered in .*; spf=pass dkim=pass (1024-bit key) dmarc=pass (p=reject dis=none)$" <<<"$1"' _ "$OUT"
check "report (the default): OK" bash -c '[ "$1" = 0 ] && grep -q "^MAILCANARY OK - canary #1 delivered" <<<"$2"' _ "$RC" "$OUT"
check "perfdata: auth_pass=3 and auth_not_passed=0c" \
    bash -c 'grep -Eq "\| .* auth_pass=3;;;0 auth_not_passed=0c" <<<"$1"' _ "$OUT"
scan pass --authserv-id mx.greylist.test --auth-results require
check "require, all pass: OK" bash -c '[ "$1" = 0 ] && grep -q "^MAILCANARY OK - canary #1 delivered" <<<"$2"' _ "$RC" "$OUT"
scan pass --authserv-id mx.greylist.test --output json
check "JSON: auth_results of the newest delivery, all pass" \
    jqt '.auth_results.spf == "pass" and .auth_results.dkim == "pass" and .auth_results.dmarc == "pass" and .auth_results.canary == 1' <<<"$OUT"
check "JSON: the canary's auth_results, the comments as reasons" \
    jqt '.canaries[0].auth_results == {"spf": "pass", "dkim": "pass", "dkim_reason": "1024-bit key", "dmarc": "pass", "dmarc_reason": "p=reject dis=none"}' <<<"$OUT"
check "JSON: counters.auth_not_passed 0" jqt '.counters.auth_not_passed == 0' <<<"$OUT"
check "the state file keeps the results" jqt '.canaries[0].auth_results.dkim == "pass"' "$X/pass/pass.json"

# ---- dkim-wrongkey: signed with a key not published: dkim=fail ----
mode dkim-wrongkey
check "dkim-wrongkey: a canary is delivered" canary wrong --authserv-id mx.greylist.test
diag_last
check "report: still OK" bash -c '[ "$1" = 0 ] && grep -q "^MAILCANARY OK - canary #1 delivered" <<<"$2"' _ "$RC" "$OUT"
check "report: the long output shows dkim=fail and its reason (SPF and DMARC pass: SPF aligns)" \
    bash -c 'grep -q "; spf=pass dkim=fail (signature verification failed) dmarc=pass (p=reject dis=none)$" <<<"$1"' _ "$OUT"
check "perfdata: auth_pass=2, auth_not_passed=1c" bash -c 'grep -q " auth_pass=2;;;0 auth_not_passed=1c " <<<"$1"' _ "$OUT"
scan wrong --authserv-id mx.greylist.test --auth-results require
check "require: WARNING (exit 1)" rc_is 1
check "require: the status line names dkim and its reason, and only dkim" \
    bash -c 'grep -q "^MAILCANARY WARNING - canary #1 delivered but dkim=fail (signature verification failed) |" <<<"$1"' _ "$OUT"
diag_last
scan wrong --authserv-id mx.greylist.test --auth-results require --output json
check "require, JSON: one WARNING reason auth_results for canary 1" \
    jqt '.verdict == "WARNING" and ([.reasons[] | select(.code == "auth_results" and .state == "WARNING" and .canary == 1)] | length) == 1' <<<"$OUT"
scan wrong --auth-results require
check "require without authserv_id: refused as a configuration error" \
    bash -c '[ "$1" = 3 ] && grep -q "auth_results = require needs authserv_id" <<<"$2"' _ "$RC" "$OUT"

# ---- the MIB: mailcanaryd on both states (interval: no new canary) ----
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
start_agentx_snmpd "$X" "$SNMP_PORT"
cat >"$X/mc.conf" <<EOT
[global]
$(mailpath_global "$X")
to = $MP_TO
interval = 3600
authserv_id = mx.greylist.test
auth_results = require

[probe pass]
state_dir = $X/pass

[probe wrong]
state_dir = $X/wrong
EOT
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
"$DAEMON" -f -c "$X/mc.conf" >>"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
for i in $(seq 1 20); do [ "$(get $E.5.2)" = 2 ] && break; sleep 1; done
check "MIB, all pass: mcProbeLast{Spf,Dkim,Dmarc}Result.1 = pass(2)" \
    test "$(get $E.29.1 $E.30.1 $E.31.1 | tr '\n' ' ')" = "2 2 2 "
check "MIB, all pass: mcProbeAuthNotPassed.1 = 0, mcProbeState.1 ok(1)" \
    test "$(get $E.32.1 $E.5.1 | tr '\n' ' ')" = "0 1 "
check "MIB, wrong key: spf pass(2), dkim fail(3), dmarc pass(2)" \
    test "$(get $E.29.2 $E.30.2 $E.31.2 | tr '\n' ' ')" = "2 3 2 "
check "MIB, wrong key: mcProbeAuthNotPassed.2 = 1, mcProbeState.2 warning(2)" \
    test "$(get $E.32.2 $E.5.2 | tr '\n' ' ')" = "1 2 "
check "MIB, wrong key: the status text names dkim and its reason" \
    bash -c 'grep -q "delivered but dkim=fail (signature verification failed)" <<<"$1"' _ "$(get $E.7.2)"
stop_pid "$DPID"

# ---- dkim-forged: the relay adds two forged fields ----
mode dkim-forged
check "dkim-forged: a canary is delivered (kept in the mailbox)" canary forged --authserv-id mx.greylist.test --keep
check "forged fields ignored: what the mx found, all pass" \
    bash -c 'grep -q "; spf=pass dkim=pass (1024-bit key) dmarc=pass (p=reject dis=none)$" <<<"$1"' _ "$OUT"
diag_last
check "the relay prepended both forged fields" \
    bash -c '[ "$(grep -c "prepend: header .*: Authentication-Results: \(forged.example\|mx.greylist.test\);" "$1")" -ge 2 ]' _ "$MP_ROOT/log/relay.log"
copy=$(grep -l "^X-Mailcanary-Probe: forged" "$MP_MAILDIR"/cur/* "$MP_MAILDIR"/new/* 2>/dev/null | head -1)
check "the copy carries the one of forged.example" grep -q "^Authentication-Results: forged.example; spf=fail" "$copy"
check "the mx removed the one claiming its authserv-id (RFC 8601 section 5)" \
    bash -c '[ -f "$1" ] && ! grep -q "^Authentication-Results: mx.greylist.test; spf=pass; dkim=pass" "$1"' _ "$copy"
# The same copy read with the forger's authserv-id: its claims, so the
# pass above came from the authserv-id, not from the first field alone.
rm -f "$X/forged/forged.json"
canary forged --authserv-id forged.example --keep
check "read as forged.example, the same path shows the forger's fail" \
    bash -c 'grep -q "; spf=fail dkim=fail (forged) dmarc=fail$" <<<"$1"' _ "$OUT"

# ---- no authserv_id: nothing read ----
mode dkim
canary off
check "no authserv_id: delivered, no results in the long output" \
    bash -c 'grep -q "delivered in" <<<"$1" && ! grep -q "dkim=" <<<"$1"' _ "$OUT"
check "no authserv_id: no auth_ perfdata" bash -c '! grep -q "auth_" <<<"$1"' _ "$OUT"
scan off --output json
check "no authserv_id: no auth_results in the JSON" jqt '(has("auth_results") | not) and (.canaries[0] | has("auth_results") | not)' <<<"$OUT"
check "the namespace's dnsmasq answered the SPF and DMARC queries" \
    bash -c 'grep -q "query\[TXT\] _dmarc.corp.test" "$1" && grep -q "query\[TXT\] corp.test" "$1"' _ "$X/dnsmasq.log"
done_testing
