#!/bin/bash
# mailcanaryd's bounded worker pool, under a real snmpd: with workers = 2
# and ten probes whose server accepts and never says a word, the daemon
# holds at most two worker threads (and two hung connections) however long
# the probes are due; two probes whose server answers at once still get
# their cycles, again and again; SNMP answers meanwhile; a reload while
# cycles wait keeps the pool bounded; SIGTERM stops it promptly.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v snmpd >/dev/null && command -v snmpget >/dev/null ||
    { echo "Bail out! snmpd or snmp missing"; exit 1; }
DAEMON=$top_builddir/snmp-agent/mailcanaryd
HANG_PORT=${WORKERS_TEST_PORT:-13780}; SNMP_PORT=${WORKERS_SNMP_PORT:-13781}
CLOSED_PORT=$((HANG_PORT + 1))
WORKERS=2 STUCK=10
for p in $HANG_PORT $CLOSED_PORT; do
	if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
		echo "Bail out! tcp 127.0.0.1:$p is already in use"; exit 1
	fi
done
if ss -Hlun "sport = :$SNMP_PORT" 2>/dev/null | grep -q .; then
	echo "Bail out! udp 127.0.0.1:$SNMP_PORT is already in use"; exit 1
fi
X=$(mktemp -d /tmp/mailcanary-workers.XXXXXX); CLEANUP+=("rm -rf $X")
start_scripted "$HANG_PORT" hang
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist" "$X/state"
printf 'master agentx\nagentXSocket %s\nrocommunity public 127.0.0.1\n' "$X/agentx.sock" >"$X/snmpd.conf"
snmpd -Lf "$X/snmpd.log" -C -c "$X/snmpd.conf" -I -smux,mta_sendmail -p "$X/snmpd.pid" udp:127.0.0.1:$SNMP_PORT
CLEANUP+=("stop_pid \$(cat $X/snmpd.pid 2>/dev/null)")
printf 'x\n' >"$X/pw"; chmod 600 "$X/pw"
write_conf() {	# the stuck probes first: the answering ones queue behind them
	local i
	{
		printf '[global]\nstate_dir = %s\nagentx_socket = %s\nworkers = %s\n' "$X/state" "$X/agentx.sock" $WORKERS
		printf 'from = mc@example.org\nto = canary@example.org\nstarttls = never\nmailbox_starttls = never\n'
		printf 'mailbox_user = canary\nmailbox_password_file = %s\ninterval = 2\ntimeout = 4\n' "$X/pw"
		for i in $(seq 1 $STUCK); do
			printf '\n[probe stuck%02d]\nsmtp = smtp://127.0.0.1:%s\nmailbox = imap://127.0.0.1:%s/INBOX\n' "$i" "$HANG_PORT" "$HANG_PORT"
		done
		for i in 1 2; do
			printf '\n[probe answers%d]\nsmtp = smtp://127.0.0.1:%s\nmailbox = imap://127.0.0.1:%s/INBOX\n' "$i" "$CLOSED_PORT" "$CLOSED_PORT"
			[ "${1:-}" = changed ] && printf 'warning = 1700\n'
		done
	} >"$X/mc.conf"
	return 0
}
write_conf
OUT=$("$DAEMON" -n -c "$X/mc.conf"); RC=$?
check "-n: the effective settings show workers = $WORKERS" \
    bash -c "[ $RC = 0 ] && grep -q '^workers = $WORKERS\$' <<<'$OUT'"

"$DAEMON" -f -c "$X/mc.conf" >"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
# Samples the threads and the hung connections every 0.2 s until stopped.
(
	while kill -0 $DPID 2>/dev/null; do
		printf '%s %s\n' "$(ls /proc/$DPID/task 2>/dev/null | wc -l)" \
		    "$(ss -Htn state established "dport = :$HANG_PORT" | wc -l)"
		sleep 0.2
	done
) >"$X/samples" &
SAMPLER=$!
CLEANUP+=("kill $SAMPLER 2>/dev/null")
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv -t 2 -r 0 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
wait_ge() {	# OID MIN SECONDS: a counter reaches MIN
	local i v
	for i in $(seq 1 "$3"); do
		v=$(get "$1"); [[ $v =~ ^[0-9]+$ ]] && [ "$v" -ge "$2" ] && return 0
		sleep 1
	done
	return 1
}
hung_now() { ss -Htn state established "dport = :$HANG_PORT" | wc -l; }
saturated() {	# both workers hold a silent connection
	local i
	for i in $(seq 1 40); do [ "$(hung_now)" -ge $WORKERS ] && return 0; sleep 0.25; done
	return 1
}
check "the workers hang on the silent server" saturated
check "SNMP answers while every worker hangs: stuck01's row" test "$(get $E.2.1)" = '"stuck01"'
# Behind 10 stuck cycles of 4 s on 2 workers: about 20 s to the first.
check "answers1 gets its first cycle behind the stuck ones (submission failed, counted)" \
    wait_ge $E.15.11 1 60
check "answers2 too" wait_ge $E.15.12 1 30
check "answers1 gets its cycles again while the stuck probes stay due" wait_ge $E.15.11 3 60
write_conf changed
kill -HUP $DPID
check "a reload while cycles wait: 12 probes, 2 changed" \
    bash -c "for i in \$(seq 1 20); do grep -q 'configuration reloaded: 12 probes, 2 changed' '$X/daemon.log' && exit 0; sleep 0.5; done; exit 1"
check "after the reload, answers2 gets its cycles (its counters restarted)" wait_ge $E.15.12 2 60
check "the workers still hang on the silent server" saturated
kill -TERM $DPID
for i in $(seq 1 40); do kill -0 $DPID 2>/dev/null || break; sleep 0.25; done
wait $DPID; RC=$?
kill $SAMPLER 2>/dev/null; wait $SAMPLER 2>/dev/null
check "SIGTERM: the hung cycles are aborted, stopped within 10 s, exit 0" test "$RC" = 0
MAXT=$(sort -n "$X/samples" | tail -1 | cut -d' ' -f1)
MAXH=$(sort -k2 -n "$X/samples" | tail -1 | cut -d' ' -f2)
N=$(wc -l <"$X/samples")
check "threads never above 1 + workers ($MAXT at most, $N samples)" \
    test "${MAXT:-99}" -le $((1 + WORKERS)) -a "$N" -ge 100
check "hung connections never above workers ($MAXH at most)" test "${MAXH:-99}" -le $WORKERS
check "the stuck probes' cycles end at their timeout: UNKNOWN, timed out" \
    grep -q 'probe stuck01: first cycle: MAILCANARY UNKNOWN - .*timed out after 4s' "$X/daemon.log"
check "the daemon logged its stop" grep -q 'mailcanaryd: stopped' "$X/daemon.log"
done_testing
