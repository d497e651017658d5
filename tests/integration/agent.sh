#!/bin/bash
# mailcanaryd against a real snmpd (AgentX master, private socket, high
# loopback port) and snmptrapd, with probes through the real mail path:
# one healthy route, one whose relay swallows every canary.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v snmpd >/dev/null && command -v snmpget >/dev/null &&
    command -v snmptrapd >/dev/null || { echo "Bail out! snmpd, snmp or snmptrapd missing"; exit 1; }
DAEMON=$top_builddir/snmp-agent/mailcanaryd
start_mailpath "${AGENT_TEST_PORT:-12700}"
X=$(mktemp -d /tmp/mailcanary-agent.XXXXXX); CLEANUP+=("rm -rf $X")
SNMP_PORT=${AGENT_SNMP_PORT:-13761}; TRAP_PORT=$((SNMP_PORT + 1))
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist" "$X/state"
cat >"$X/snmpd.conf" <<EOT
master agentx
agentXSocket $X/agentx.sock
agentXPerms 0660 0770
rocommunity public 127.0.0.1
trap2sink 127.0.0.1:$TRAP_PORT public
EOT
printf 'disableAuthorization yes\n' >"$X/snmptrapd.conf"
start_snmpd() {
	snmpd -Lf "$X/snmpd.log" -C -c "$X/snmpd.conf" -I -smux,mta_sendmail \
	    -p "$X/snmpd.pid" udp:127.0.0.1:$SNMP_PORT
}
# Our own servers, or none: a port already taken means another snmpd.
for p in $SNMP_PORT $TRAP_PORT; do
	if ss -Hlun "sport = :$p" 2>/dev/null | grep -q .; then
		echo "Bail out! udp 127.0.0.1:$p is already in use"; exit 1
	fi
done
start_snmpd
CLEANUP+=("stop_pid \$(cat $X/snmpd.pid 2>/dev/null)")
snmptrapd -Lf "$X/traps.log" -On -C -c "$X/snmptrapd.conf" -p "$X/snmptrapd.pid" \
    udp:127.0.0.1:$TRAP_PORT
CLEANUP+=("stop_pid \$(cat $X/snmptrapd.pid 2>/dev/null)")
write_conf() {
	cat >"$X/mc.conf" <<EOT
[global]
state_dir = $X/state
agentx_socket = $X/agentx.sock
smtp = $MP_SMTP
from = $MP_FROM
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = $MP_ROOT/mbox.pw
ca_file = $MP_CA
interval = 3

[probe healthy]
to = $MP_TO
snmp_index = 7
EOT
	[ "${1:-}" = both ] && printf '\n[probe void]\nto = canary@void.test\nlost_after = 12\n' >>"$X/mc.conf"
	return 0
}
write_conf both
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
walk_names() { snmpwalk -v2c -c public -Oqn 127.0.0.1:$SNMP_PORT $E.2 2>&1; }
wait_get() {	# OID VALUE SECONDS
	local i
	for i in $(seq 1 "$3"); do [ "$(get "$1")" = "$2" ] && return 0; sleep 1; done
	return 1
}

OUT=$("$DAEMON" -n -c "$X/mc.conf"); RC=$?
check "-n: checks the config and prints both probes" bash -c "[ $RC = 0 ] && grep -q '^\[probe healthy\]' <<<'$OUT' && grep -q '^\[probe void\]' <<<'$OUT'"
"$DAEMON" -f -c "$X/mc.conf" >"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
check "the table has a row per probe, at snmp_index or position" \
    wait_get $E.2.7 '"healthy"' 20
check "void probe at index 2" test "$(get $E.2.2)" = '"void"'
check "route and recipient" bash -c "[ '$(get $E.3.7)' = '\"127.0.0.1:${MP_SMTP##*:}\"' ] && [ '$(get $E.4.7)' = '\"$MP_TO\"' ]"
check "healthy: condition delivered(1) within 30 s" wait_get $E.6.7 1 30
check "healthy: state ok(1)" test "$(get $E.5.7)" = 1
check "healthy: delivered counter >= 1" test "$(get $E.9.7)" -ge 1
check "healthy: last latency in ms >= the greylist delay - 1 s" \
    test "$(get $E.18.7)" -ge $(( (MP_GREYLIST_DELAY - 1) * 1000 ))
check "void: condition hidden(4) once lost_after passes" wait_get $E.6.2 4 40
check "void: state critical(3)" test "$(get $E.5.2)" = 3
check "void: the status text says hidden" grep -q 'canar.* hidden' <<<"$(get $E.7.2)"
check "void: hidden counter matches the state file (>= 1, <= its count now)" \
    bash -c "[ '$(get $E.13.2)' -le \$(jq .counters.hidden '$X/state/void.json') ] && [ '$(get $E.13.2)' -ge 1 ]"
check "mcCanaryHidden reached snmptrapd with the probe name and queue id" \
    bash -c "grep 'OID: .1.3.6.1.4.1.32473.0.1' '$X/traps.log' | grep -q 'STRING: \"void\"'"
check "no mcProbeRecovered without a problem before it" \
    bash -c "! grep -q 'OID: .1.3.6.1.4.1.32473.0.3' '$X/traps.log'"
run --config "$X/mc.conf" --probe void --no-send
check "check_mailcanary reads the daemon's state: CRITICAL hidden" bash -c "[ $RC = 2 ] && grep -q hidden <<<'$OUT'"

# SIGHUP: the void probe goes away, then comes back.
write_conf
kill -HUP $DPID
check "SIGHUP: a removed probe's row disappears" \
    bash -c "for i in \$(seq 1 20); do snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT $E.2.2 | grep -q 'No Such' && exit 0; sleep 1; done; exit 1"
check "SIGHUP: the other row stays" test "$(get $E.2.7)" = '"healthy"'
write_conf both
kill -HUP $DPID
check "SIGHUP: an added probe's row appears" wait_get $E.2.2 '"void"' 20

# snmpd restarts: the subagent reconnects within a few ping intervals.
stop_pid "$(cat "$X/snmpd.pid")"
start_snmpd
check "snmpd restarted: the table is back within 30 s" wait_get $E.2.7 '"healthy"' 30

# SIGTERM: stops cleanly, state saved and loadable.
kill -TERM $DPID
for i in $(seq 1 40); do kill -0 $DPID 2>/dev/null || break; sleep 0.25; done
check "SIGTERM: stopped within 10 s" bash -c "! kill -0 $DPID 2>/dev/null"
check "SIGTERM: state files load" jqt '.format_version == 1' "$X/state/healthy.json"
done_testing
