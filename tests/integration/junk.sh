#!/bin/bash
# Junk folders on the real path: the mx delivers through Dovecot's LMTP,
# whose Sieve files every canary into "Junk Email" (a name with a blank,
# quoted for IMAP). The canary found there is delivered and flagged:
# WARNING by default, as junk = ok|warning|critical says; counted in
# perfdata, JSON, the --metrics-file and the MIB (mailcanaryd under a
# private snmpd). A junk folder that does not exist is a WARNING naming
# it while the inbox is still read; each folder keeps its own cursor in
# the state; POP3 with junk_folders is refused.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in snmpd snmpget curl; do
	command -v $c >/dev/null || { echo "Bail out! $c missing"; exit 1; }
done
[ -x /usr/lib/dovecot/lmtp ] && [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] ||
    { echo "Bail out! dovecot-lmtpd and dovecot-sieve are needed (scripts/deps)"; exit 1; }
DAEMON=$top_builddir/snmp-agent/mailcanaryd
BASE=${JUNK_TEST_PORT:-18200}
SNMP_PORT=$((BASE + 50)); MPORT=$((BASE + 51))
if ss -Hlun "sport = :$SNMP_PORT" 2>/dev/null | grep -q . ||
    ss -Hltn "sport = :$MPORT" 2>/dev/null | grep -q .; then
	echo "Bail out! port $SNMP_PORT (udp) or $MPORT (tcp) is already in use"; exit 1
fi
start_mailpath "$BASE"
MAILPATH_JUNK_FOLDER="Junk Email" "$MAILPATH" mode "$MP_ROOT" junk >>"$MP_ROOT.log" 2>&1 ||
    { echo "Bail out! junk mode did not start: $(cat "$MP_ROOT.log")"; exit 1; }
X=$(mktemp -d /tmp/mailcanary-junk.XXXXXX); CLEANUP+=("rm -rf $X")
mkdir -p "$X/state"
JUNK_DIR="$MP_MAILDIR/.Junk Email"

# [global] for the plugin and the daemon, one probe; JUNK: its junk_folders.
write_conf() {
	cat >"$X/mc.conf" <<EOT
[global]
state_dir = $X/state
$(mailpath_global "$X")
to = $MP_TO
metrics_listen = 127.0.0.1:$MPORT

[probe j]
snmp_index = 3
junk_folders = $1
EOT
}
write_conf '"Junk Email"'
mc() { run --config "$X/mc.conf" --probe j "$@"; }
# line1 REGEX: the status line matches.
line1() { head -1 <<<"$OUT" | grep -q -- "$1"; }
# jstate FILTER: jq -e on the state file.
jstate() { jqt "$@" "$X/state/j.json"; }
# until_json FILTER SECONDS: runs (--no-send, JSON) until FILTER holds.
until_json() {
	local i
	for i in $(seq 1 "$2"); do
		mc --no-send --output json
		jqt "$1" <<<"$OUT" && return 0
		sleep 1
	done
	return 1
}

# ---- a canary filed into Junk by Sieve ----
mc
check "first run sends canary #1 (in flight)" grep -q '^#1 sent .*in flight' <<<"$OUT"
# Sieve creates the folder with the first canary it files.
check "... the junk folder is not there yet: WARNING naming it, exit 1" \
    eval 'rc_is 1 && line1 "^MAILCANARY WARNING - junk folder \"Junk Email\" cannot be read (does it exist?): .*NO"'
# The run that finds it under valgrind: two junk folders, one missing,
# the find, the deletion, the state and the metrics file.
for i in $(seq 1 40); do
	find "$JUNK_DIR/new" "$JUNK_DIR/cur" -type f 2>/dev/null | grep -q . && break
	sleep 1
done
vlog=$X/valgrind.log
valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=99 --log-file="$vlog" "$PLUGIN" --config "$X/mc.conf" --probe j \
    --no-send --junk-folders '"Junk Email", Spam' --metrics-file "$X/vg.prom" \
    >/dev/null 2>&1 && vrc=0 || vrc=$?
check "valgrind: a run reading two junk folders (one missing) has no memory error or leak (rc $vrc)" \
    bash -c "[ $vrc != 99 ] && ! grep -q . '$vlog'"
[ -s "$vlog" ] && diag "$(head -20 "$vlog")"
check "valgrind: and that run found canary #1 in the junk folder" jstate '.counters.junk == 1'
check "canary #1 is found in the junk folder" \
    until_json 'any(.reasons[]; .code == "junk")' 40
check "... the run is WARNING (exit 1), the junk reason names canary, folder and time" \
    jqt '.verdict == "WARNING" and .exit_code == 1 and
    any(.reasons[]; .state == "WARNING" and .code == "junk" and
    (.text | test("^delivered to Junk: canary #1 in Junk Email after [0-9.]+s$")))' <<<"$OUT"
check "JSON: the canary is delivered, flagged with its folder" \
    jqt '.canaries[0] | .status == "delivered" and .junk_folder == "Junk Email"' <<<"$OUT"
check "JSON: counters junk 1, delivered 1" jqt '.counters.junk == 1 and .counters.delivered == 1' <<<"$OUT"
check "JSON: perfdata junk=1c" jqt 'any(.perfdata[]; .label == "junk" and .text == "junk=1c")' <<<"$OUT"
mc --no-send --metrics-file "$X/j.prom"
check "Nagios: WARNING with the reason on the status line, exit 1" \
    eval 'rc_is 1 && line1 "^MAILCANARY WARNING - delivered to Junk: canary #1 in Junk Email after [0-9.]*s |"'
check "Nagios: perfdata junk=1c" line1 ' junk=1c'
check "long output: the canary's line names the junk folder" grep -q '^#1 sent .*(in junk folder Junk Email)$' <<<"$OUT"
mc --no-send --junk ok
check "junk = ok: OK, exit 0" eval 'rc_is 0 && line1 "^MAILCANARY OK - canary #1 delivered"'
mc --no-send --junk critical
check "junk = critical: CRITICAL, exit 2, the same reason" \
    eval 'rc_is 2 && line1 "^MAILCANARY CRITICAL - delivered to Junk: canary #1 in Junk Email"'
check "metrics file: mailcanary_canaries_junk_total 1" grep -qx 'mailcanary_canaries_junk_total{probe="j"} 1' "$X/j.prom"
ARRIVED=$(jq -r '.canaries[0].arrived_at | floor' "$X/state/j.json")
check "metrics file: mailcanary_last_junk_timestamp_seconds is the arrival ($ARRIVED)" \
    grep -qx "mailcanary_last_junk_timestamp_seconds{probe=\"j\"} $ARRIVED" "$X/j.prom"
if command -v promtool >/dev/null; then
	check "promtool check metrics: the file is clean" bash -c "promtool check metrics <'$X/j.prom'"
else
	skip "promtool check metrics" "promtool is not installed"
fi
check "the canary was deleted from the junk folder" \
    test -d "$JUNK_DIR" -a -z "$(find "$JUNK_DIR/new" "$JUNK_DIR/cur" -type f)"

# ---- the junk folder's own cursor, kept across runs ----
STATE=$X/state/j.json
check "state: a cursor for the junk folder, by its URL, with UIDVALIDITY and the UID handled" \
    jstate '.junk_mailboxes | length == 1 and (.[0].url | endswith("/Junk%20Email")) and
    .[0].uidvalidity > 0 and .[0].last_uid >= 1 and .[0].pending_delete == []'
CUR=$(jq -c '.junk_mailboxes[0]' "$STATE")
mc --no-send --output json
check "state: the next run keeps the cursor, the count stays 1" \
    jstate --argjson c "$CUR" '.junk_mailboxes[0] == $c and .counters.junk == 1'

# ---- a junk folder that does not exist; the inbox still read ----
"$MAILPATH" mode "$MP_ROOT" healthy >>"$MP_ROOT.log" 2>&1
write_conf '"Junk Email", Spam'
mc
check "healthy mode, junk_folders with Spam: canary #2 sent" grep -q '^#2 sent .*in flight' <<<"$OUT"
check "canary #2 is found in the inbox although Spam does not exist" \
    until_json 'any(.reasons[]; .code == "delivered" and .canary == 2)' 40
check "... WARNING naming the missing folder and the server's answer" \
    jqt '.verdict == "WARNING" and any(.reasons[]; .state == "WARNING" and .code == "mailbox_failed" and
    (.text | test("^junk folder \"Spam\" cannot be read \\(does it exist\\?\\): .*Spam")))' <<<"$OUT"
check "... and canary #2 is the delivered one, not junk" \
    jqt 'any(.reasons[]; .code == "delivered" and .canary == 2) and all(.reasons[]; .code != "junk") and
    (.canaries[0] | .seq == 2 and .junk_folder == null)' <<<"$OUT"
check "state: each folder its own cursor: Junk Email's unchanged, Spam's never set" \
    jstate --argjson c "$CUR" '.junk_mailboxes | length == 2 and .[0] == $c and
    (.[1].url | endswith("/Spam")) and .[1].uidvalidity == 0'
write_conf '"Junk Email"'
mc --no-send
check "inbox delivery in healthy mode: OK, exit 0" eval 'rc_is 0 && line1 "^MAILCANARY OK - canary #2 delivered"'
check "state: Spam, left out of junk_folders, took its cursor with it" \
    jstate --argjson c "$CUR" '.junk_mailboxes == [$c]'

# ---- POP3 has no folders ----
run --config "$X/mc.conf" --probe j --mailbox "$MP_POP3" --no-send
check "POP3 with junk_folders: refused, UNKNOWN, saying why" \
    eval 'rc_is 3 && line1 "junk_folders needs an IMAP mailbox: POP3 has no folders"'

# ---- the MIB: mailcanaryd under a private snmpd ----
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist"
start_agentx_snmpd "$X" "$SNMP_PORT"
# The daemon reads the same state (no sending: the counters are the file's).
sed -i 's/^\[probe j\]$/[probe j]\nno_send = on/' "$X/mc.conf"
"$DAEMON" -f -c "$X/mc.conf" >>"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
wait_get() {	# OID VALUE SECONDS
	local i
	for i in $(seq 1 "$3"); do [ "$(get "$1")" = "$2" ] && return 0; sleep 1; done
	return 1
}
check "mailcanaryd serves the probe" wait_get $E.2.3 '"j"' 20
check "mcProbeJunk (mcProbeEntry 27) is 1" test "$(get $E.27.3)" = 1
SINCE=$(get $E.28.3); NOW=$(date +%s)
check "mcProbeSecondsSinceJunk (mcProbeEntry 28) is the time since canary #1 arrived ($SINCE s)" \
    bash -c "[ '$SINCE' -gt 0 ] && [ \$(( $NOW - $ARRIVED - $SINCE )) -ge -2 ] && [ \$(( $NOW - $ARRIVED - $SINCE )) -le 2 ]"
check "mcProbeJunk is a Counter32, mcProbeSecondsSinceJunk a Gauge32" \
    bash -c "snmpget -v2c -c public -On 127.0.0.1:$SNMP_PORT $E.27.3 $E.28.3 | grep -c 'Counter32: 1\|Gauge32: ' | grep -qx 2"
curl -sf --max-time 5 "http://127.0.0.1:$MPORT/metrics" >"$X/metrics.txt"
check "mailcanaryd /metrics: mailcanary_canaries_junk_total 1" \
    grep -qx 'mailcanary_canaries_junk_total{probe="j"} 1' "$X/metrics.txt"
check "mailcanaryd /metrics: mailcanary_last_junk_timestamp_seconds is the arrival" \
    grep -qx "mailcanary_last_junk_timestamp_seconds{probe=\"j\"} $ARRIVED" "$X/metrics.txt"

# ---- the graph kit ----
G=$top_srcdir/packaging/grafana
missing=""
for m in mailcanary_canaries_junk_total mailcanary_last_junk_timestamp_seconds; do
	jqt --arg m "$m" '[.panels[].targets[].expr | contains($m)] | any' "$G/mailcanary-native-dashboard.json" &&
	    grep -q "^$m{" "$X/metrics.txt" || missing="$missing $m"
done
check "native Grafana dashboard: panels of both junk series, which /metrics serves${missing:+ (not:$missing)}" test -z "$missing"
if command -v prometheus-snmp-exporter >/dev/null; then
	EXP_PORT=$((BASE + 52))
	prometheus-snmp-exporter --config.file="$top_srcdir/packaging/snmp_exporter/snmp.yml" \
	    --web.listen-address=127.0.0.1:$EXP_PORT >"$X/exporter.log" 2>&1 &
	CLEANUP+=("stop_pid $!")
	for i in $(seq 1 50); do
		curl -sf "http://127.0.0.1:$EXP_PORT/snmp?module=mailcanary&target=127.0.0.1:$SNMP_PORT" \
		    >"$X/scrape" 2>/dev/null && break
		sleep 0.2
	done
	check "snmp_exporter (shipped snmp.yml): mcProbeJunk 1 for probe j" \
	    grep -q '^mcProbeJunk{mcProbeIndex="3",mcProbeName="j",.*} 1$' "$X/scrape"
	missing=""
	for m in mcProbeJunk mcProbeSecondsSinceJunk; do
		jqt --arg m "$m" '[.panels[].targets[].expr | contains($m + "{")] | any' "$G/mailcanary-dashboard.json" &&
		    grep -q "^$m{.*mcProbeName=\"j\"" "$X/scrape" || missing="$missing $m"
	done
	check "SNMP Grafana dashboard: panels of both junk columns, which snmp_exporter scrapes${missing:+ (not:$missing)}" test -z "$missing"
else
	skip "snmp_exporter: mcProbeJunk" "prometheus-snmp-exporter is not installed"
	skip "SNMP Grafana dashboard: junk panels" "prometheus-snmp-exporter is not installed"
fi
done_testing
