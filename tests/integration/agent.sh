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
$(mailpath_global "$X")
interval = 3

[probe healthy]
to = $MP_TO
snmp_index = 7
bounce_mailbox = $MP_BOUNCE_IMAP
bounce_user = $MP_FROM_USER
bounce_password_file = $MP_ROOT/smtp.pw
EOT
	case " $* " in *" changed "*) echo 'warning = 1700' >>"$X/mc.conf" ;; esac
	case " $* " in *" both "*) printf '\n[probe void]\nto = canary@void.test\nlost_after = 12\n' >>"$X/mc.conf" ;; esac
	case " $* " in *" clash "*) sed -i 's/^snmp_index = 7/snmp_index = 2/' "$X/mc.conf" ;; esac
	return 0
}
write_conf both
E=1.3.6.1.4.1.32473.1.1.1
C=1.3.6.1.4.1.32473.1.2.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
trap_seen() {	# NOTIFICATION-NUMBER PATTERN...: a trap with all of them
	local n=$1 l; shift
	for i in $(seq 1 20); do
		while IFS= read -r l; do
			for p in "$@"; do grep -qF -- "$p" <<<"$l" || continue 2; done
			return 0
		done < <(grep -F "OID: .1.3.6.1.4.1.32473.0.$n" "$X/traps.log")
		sleep 1
	done
	return 1
}
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
# The row is there before its first cycle ends; the route comes with it.
route_ok() { wait_get $E.3.7 "\"127.0.0.1:${MP_SMTP##*:}\"" 20 && [ "$(get $E.4.7)" = "\"$MP_TO\"" ]; }
check "route and recipient" route_ok
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
check "mcCanaryHidden reached snmptrapd with the probe name, condition hidden, age and queue id" \
    trap_seen 1 'STRING: "void"' "$E.6.2 = INTEGER: 4" "$C.4.2." "$C.7.2."
HSEQ=$(grep -F 'OID: .1.3.6.1.4.1.32473.0.1' "$X/traps.log" | grep -o "$C\.7\.2\.[0-9]*" | head -1 | sed 's/.*\.//')
check "mcCanaryHidden names a hidden canary of the state file, with its queue id" \
    bash -c "[ -n '$HSEQ' ] && grep -F 'OID: .1.3.6.1.4.1.32473.0.1' '$X/traps.log' | head -1 | grep -qF \"\$(jq -r '.canaries[] | select(.seq == $HSEQ and .status == \"hidden\") | .queue_id' '$X/state/void.json')\""

# mcCanaryTable: in flight and the last resolved, as in the state files.
canary_rows_match() {	# probe-index state-file: every row's token and queue id
	local walk l seq tok qid n=0
	walk=$(snmpwalk -v2c -c public -Oqn 127.0.0.1:$SNMP_PORT $C.2.$1) || return 1
	while read -r l; do
		seq=${l%% *}; seq=${seq##*.}; tok=${l#* }; tok=${tok//\"/}
		qid=$(get $C.7.$1.$seq); qid=${qid//\"/}
		jq -e --arg t "$tok" --arg q "$qid" ".canaries[] | select(.seq == $seq and .token == \$t and ((.queue_id // \"\") == \$q))" "$2" >/dev/null ||
		    { echo "row $seq ($tok, $qid) not in $2"; return 1; }
		n=$((n + 1))
	done <<<"$walk"
	[ $n -ge 1 ]
}
check "mcCanaryTable: healthy's rows carry the tokens and queue ids of its state file" \
    canary_rows_match 7 "$X/state/healthy.json"
check "mcCanaryTable: void's rows too" canary_rows_match 2 "$X/state/void.json"
check "mcCanaryTable: a delivered(2) canary of healthy with its latency" \
    bash -c "snmpwalk -v2c -c public -Oqn 127.0.0.1:$SNMP_PORT $C.5.7 | grep -q ' 2\$'"
check "mcCanaryTable: the hidden canary of the notification, as hidden(4)" \
    test "$(get $C.5.2.$HSEQ)" = 4
check "mcCanarySentTime: 11-byte DateAndTime in UTC, this year" bash -c \
    "snmpget -v2c -c public -Oqvx 127.0.0.1:$SNMP_PORT $C.3.2.$HSEQ | tr -d '\" \n' | grep -qi '^$(printf '%04X' "$(date -u +%Y)")............2B0000\$'"
check "mcCanaryAge: at least lost_after for the hidden canary" test "$(get $C.4.2.$HSEQ)" -ge 12
check "a walk of the whole subtree is in order and covers both tables" bash -c \
    "snmpbulkwalk -v2c -c public -On 127.0.0.1:$SNMP_PORT 1.3.6.1.4.1.32473 >'$X/walk' 2>&1 && grep -q '^.$E.26.7 ' '$X/walk' && grep -q '^.$C.8.7.' '$X/walk' && ! grep -qi 'not increasing\|error' '$X/walk'"
check "GETNEXT from the last probe cell goes to the first canary cell" \
    bash -c "snmpgetnext -v2c -c public -On 127.0.0.1:$SNMP_PORT $E.32.7 | grep -q '^.$C.2.2.'"
check "GET of a missing row: noSuchInstance" bash -c "snmpget -v2c -c public 127.0.0.1:$SNMP_PORT $E.2.99 | grep -q 'No Such Instance'"
check "GET of a column that is not there: noSuchObject" bash -c "snmpget -v2c -c public 127.0.0.1:$SNMP_PORT $E.99.7 | grep -q 'No Such Object'"
# The graphing kit against the live table: snmp_exporter (Debian's 0.21)
# with the shipped module, the Cacti query's OIDs, the dashboard's series.
EXP_PORT=$((SNMP_PORT + 2))
if ss -Hltn "sport = :$EXP_PORT" 2>/dev/null | grep -q .; then
	echo "Bail out! tcp 127.0.0.1:$EXP_PORT is already in use"; exit 1
fi
prometheus-snmp-exporter --config.file="$top_srcdir/packaging/snmp_exporter/snmp.yml" \
    --web.listen-address=127.0.0.1:$EXP_PORT >"$X/exporter.log" 2>&1 &
CLEANUP+=("stop_pid $!")
scrape() { curl -sf "http://127.0.0.1:$EXP_PORT/snmp?module=mailcanary&target=127.0.0.1:$SNMP_PORT"; }
for i in $(seq 1 50); do scrape >"$X/scrape" 2>/dev/null && break; sleep 0.2; done
check "snmp_exporter: healthy's state, labelled with its name, route and index" \
    grep -q "^mcProbeState{mcProbeIndex=\"7\",mcProbeName=\"healthy\",mcProbeRoute=\"127.0.0.1:${MP_SMTP##*:}\"} 1\$" "$X/scrape"
check "snmp_exporter: void's state critical(3)" grep -q '^mcProbeState{mcProbeIndex="2",mcProbeName="void",.*} 3$' "$X/scrape"
D=$(awk '/^mcProbeDelivered\{.*mcProbeName="healthy"/ {print $2}' "$X/scrape")
check "snmp_exporter: healthy's delivered counter ($D) as in the state file" \
    bash -c "[ -n '$D' ] && [ '$D' -ge 1 ] && [ '$D' -le \$(jq .counters.delivered '$X/state/healthy.json') ]"
missing=""
for m in $(jq -r '.panels[].targets[].expr' "$top_srcdir/packaging/grafana/mailcanary-dashboard.json" | grep -o 'mcProbe[A-Za-z0-9]*{' | tr -d '{' | sort -u); do
	grep -q "^$m{.*mcProbeName=\"healthy\"" "$X/scrape" || missing="$missing $m"
done
check "snmp_exporter: every series the Grafana dashboard draws is scraped${missing:+ (missing:$missing)}" test -z "$missing"
bad=""
for oid in $(grep -o '<oid>[^<]*' "$top_srcdir/packaging/cacti/mailcanary.xml" | sed 's/<oid>//' | sort -u); do
	[ "$(snmpwalk -v2c -c public -On 127.0.0.1:$SNMP_PORT "$oid" | grep -c "^$oid\.[0-9]* = ")" = 2 ] || bad="$bad $oid"
done
check "Cacti data query: each of its OIDs walks to one value per probe${bad:+ (not:$bad)}" test -z "$bad"

check "no mcProbeRecovered without a problem before it" \
    bash -c "! grep -q 'OID: .1.3.6.1.4.1.32473.0.3' '$X/traps.log'"
run --config "$X/mc.conf" --probe void --no-send
check "check_mailcanary reads the daemon's state: CRITICAL hidden" bash -c "[ $RC = 2 ] && grep -q hidden <<<'$OUT'"
# snmptable, with the MIB, against the plugin's JSON for the same probe.
if find_base_mibs; then
TBL=$(snmptable -v2c -c public -M "$top_srcdir/mibs:$BASE_MIBS" -m MAILCANARY-MIB \
    -Cf '|' -CH 127.0.0.1:$SNMP_PORT MAILCANARY-MIB::mcProbeTable 2>&1)
run --config "$X/mc.conf" --probe void --no-send --output json
VOID_ROW=$(grep '^void|' <<<"$TBL")
check "snmptable: void's row says critical and hidden, as the plugin's JSON (exit_code 2)" \
    bash -c "[ '$(cut -d'|' -f4,5 <<<"$VOID_ROW")' = 'critical|hidden' ] && [ '$(jq .exit_code <<<"$OUT")' = 2 ]"
check "snmptable: void's hidden counter is the JSON's, or a cycle or two behind (the plugin read later)" \
    bash -c "h=\$(cut -d'|' -f12 <<<'$VOID_ROW'); j=\$(jq .counters.hidden <<<'$OUT'); [ \"\$h\" -ge 1 ] && [ \"\$h\" -le \"\$j\" ] && [ \"\$h\" -ge \$((j - 3)) ]"
check "snmptable: healthy's row: ok, delivered, and its recipient" \
    bash -c "grep -q '^healthy|127.0.0.1:${MP_SMTP##*:}|$MP_TO|ok|delivered|' <<<'$TBL'"
else
	for t in "void's row" "void's hidden counter" "healthy's row"; do
		skip "snmptable: $t" "$BASE_MIBS_WHY"
	done
fi

# glitch: the relay turns the greylisting 450 into a bounce (the bogus NDR),
# then healthy again: mcCanaryBounced, then mcProbeRecovered.
check "mode glitch" "$MAILPATH" mode "$MP_ROOT" glitch
check "glitch: healthy route shows bogusBounce(6)" wait_get $E.6.7 6 60
check "glitch: state critical(3)" test "$(get $E.5.7)" = 3
check "glitch: last bounce status 4.2.0 and the 450 in the diagnostic" \
    bash -c "[ '$(get $E.23.7)' = '\"4.2.0\"' ] && grep -q 450 <<<'$(get $E.24.7)'"
check "glitch: bogusBounces counter = the state file's" \
    bash -c "[ '$(get $E.11.7)' -ge 1 ] && [ '$(get $E.11.7)' -le \$(jq .counters.bogus_ndr '$X/state/healthy.json') ]"
check "mcCanaryBounced reached snmptrapd: probe, condition bogusBounce, status 4.2.0" \
    trap_seen 2 'STRING: "healthy"' "$E.6.7 = INTEGER: 6" '"4.2.0"'
check "mode healthy" "$MAILPATH" mode "$MP_ROOT" healthy
check "healthy again: delivered(1), ok(1)" wait_get $E.6.7 1 90
check "mcProbeRecovered reached snmptrapd with the probe and its latency" \
    trap_seen 3 'STRING: "healthy"' "$E.6.7 = INTEGER: 1" "$E.18.7 = Gauge32:"
NB=$(grep -cF 'OID: .1.3.6.1.4.1.32473.0.2' "$X/traps.log")
NR=$(grep -cF 'OID: .1.3.6.1.4.1.32473.0.3' "$X/traps.log")
check "mcCanaryBounced on a change only: no more than one per recovery ($NB bounced, $NR recovered, $(jq .counters.bogus_ndr "$X/state/healthy.json") bogus NDRs)" \
    test "$NB" -le $((NR + 1))

# SIGHUP: the void probe goes away, then comes back.
write_conf
kill -HUP $DPID
check "SIGHUP: a removed probe's row disappears" \
    bash -c "for i in \$(seq 1 20); do snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT $E.2.2 | grep -q 'No Such' && exit 0; sleep 1; done; exit 1"
check "SIGHUP: the other row stays" test "$(get $E.2.7)" = '"healthy"'
write_conf both
kill -HUP $DPID
check "SIGHUP: an added probe's row appears" wait_get $E.2.2 '"void"' 20
check "SIGHUP: an added probe's discontinuity time is set" test "$(get $E.26.2 | tr -dc 0-9)" -gt 0

# SIGHUP with healthy changed: its counters restart, void's do not.
SENT_BEFORE=$(jq .counters.sent "$X/state/healthy.json")
VOID_DISC=$(get $E.26.2)
HEALTHY_DISC=$(get $E.26.7)
write_conf both changed
kill -HUP $DPID
check "SIGHUP, probe changed: its discontinuity time moves" \
    bash -c "for i in \$(seq 1 20); do [ \"\$(snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT $E.26.7)\" != '$HEALTHY_DISC' ] && exit 0; sleep 1; done; exit 1"
check "SIGHUP, probe changed: its sent counter restarts (was $SENT_BEFORE)" \
    test "$(get $E.8.7)" -lt "$SENT_BEFORE"
check "SIGHUP, probe changed: ... in its state file too, at its next cycle" \
    bash -c "sleep 5; [ \$(jq .counters.sent '$X/state/healthy.json') -lt $SENT_BEFORE ]"
check "SIGHUP: an unchanged probe keeps its discontinuity time" test "$(get $E.26.2)" = "$VOID_DISC"
write_conf both changed clash
OUT=$("$DAEMON" -n -c "$X/mc.conf" 2>&1); RC=$?
check "two probes on one row: -n refuses, naming both" \
    bash -c "[ $RC = 1 ] && grep -q 'probe healthy.*probe void.*row 2' <<<'$OUT'"
kill -HUP $DPID
sleep 2
check "... a reload refuses it and keeps the rows" \
    bash -c "[ '$(get $E.2.7)' = '\"healthy\"' ] && [ '$(get $E.2.2)' = '\"void\"' ] && grep -q 'reload refused.*row 2' '$X/daemon.log'"
write_conf both changed

# snmpd restarts: the subagent reconnects within a few ping intervals.
stop_pid "$(cat "$X/snmpd.pid")"
start_snmpd
check "snmpd restarted: the table is back within 30 s" wait_get $E.2.7 '"healthy"' 30
tt() { snmpget -v2c -c public -Oqvt 127.0.0.1:$SNMP_PORT "$1" 2>&1; }
UP=$(tt 1.3.6.1.2.1.1.3.0); LC=$(tt $E.25.7); DC=$(tt $E.26.7)
check "after snmpd's restart, LastChange ($LC) and DiscontinuityTime ($DC) are not past its sysUpTime ($UP)" \
    bash -c "[ '$LC' -le '$UP' ] && [ '$DC' -le '$UP' ]"

# SIGTERM: stops cleanly, state saved and loadable.
kill -TERM $DPID
for i in $(seq 1 40); do kill -0 $DPID 2>/dev/null || break; sleep 0.25; done
check "SIGTERM: stopped within 10 s" bash -c "! kill -0 $DPID 2>/dev/null"
check "SIGTERM: state files load" jqt '.format_version == 1' "$X/state/healthy.json"
check "the daemon logged state changes to stderr in the foreground" \
    grep -qE 'probe healthy: [A-Z]+ \([a-zA-Z]+\) -> CRITICAL \(bogusBounce\): MAILCANARY CRITICAL - .*bogus NDR' "$X/daemon.log"
grep -q 'probe healthy: .* -> CRITICAL (bogusBounce)' "$X/daemon.log" ||
    diag "$(grep 'probe healthy' "$X/daemon.log" | cut -c1-160)"

# --user: drops to nobody after connecting; the table is still served.
OUT=$("$DAEMON" -n -c "$X/mc.conf" --user no-such-user-mc 2>&1); RC=$?
check "--user of an unknown account: one line, exit 1" \
    bash -c "[ $RC = 1 ] && [ '$OUT' = 'mailcanaryd: --user no-such-user-mc: no such user' ]"
mkdir -p "$X/state-nobody"
chown 65534:65534 "$X/state-nobody"
chmod 711 "$X"
write_conf
sed -i "s|^state_dir = .*|state_dir = $X/state-nobody|" "$X/mc.conf"
"$DAEMON" -f -c "$X/mc.conf" --user nobody >"$X/daemon-nobody.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
check "--user nobody: the row is served" wait_get $E.2.7 '"healthy"' 20
check "--user nobody: every thread runs as nobody" \
    bash -c "[ \"\$(ps -L -o user= -p $DPID | sort -u | tr -d ' ')\" = nobody ]"
check "--user nobody: its state file is written as nobody" \
    bash -c "for i in \$(seq 1 20); do [ \"\$(stat -c %U '$X/state-nobody/healthy.json' 2>/dev/null)\" = nobody ] && exit 0; sleep 1; done; exit 1"
stop_pid $DPID

# Started while snmpd is down, in the background: it logs to syslog, keeps
# probing, and serves the table once snmpd is up.
stop_pid "$(cat "$X/snmpd.pid")"
perl -MIO::Socket::UNIX -e '
	my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $ARGV[0]) or die "$ARGV[0]: $!";
	open(my $o, ">>", $ARGV[1]) or die; $o->autoflush(1);
	print $o "$m\n" while defined $s->recv($m, 8192);' "$X/log.sock" "$X/syslog" &
CLEANUP+=("stop_pid $!")
for i in $(seq 1 50); do [ -S "$X/log.sock" ] && break; sleep 0.1; done
write_conf
if [ -e /dev/log ]; then
	unshare -m sh -c "mount --bind '$X/log.sock' /dev/log && exec '$DAEMON' -c '$X/mc.conf'"
else
	ln -s "$X/log.sock" /dev/log
	CLEANUP+=("rm -f /dev/log")
	"$DAEMON" -c "$X/mc.conf"
fi
check "in the background: the shell gets its prompt back at once" test $? = 0
DPID=$(pgrep -f "mailcanaryd -c $X/mc.conf" | head -1)
CLEANUP+=("stop_pid $DPID")
SENT0=$(jq .counters.sent "$X/state/healthy.json")
check "snmpd absent: it keeps probing (sent grows past $SENT0)" \
    bash -c "for i in \$(seq 1 20); do [ \$(jq .counters.sent '$X/state/healthy.json') -gt $SENT0 ] && exit 0; sleep 1; done; exit 1"
check "syslog: started, with its pid" grep -q "mailcanaryd\[$DPID\]: running 1 probes" "$X/syslog"
check "syslog: Net-SNMP says the master is missing" grep -qi "agentx master" "$X/syslog"
start_snmpd
check "snmpd started later: the table appears within 30 s" wait_get $E.2.7 '"healthy"' 30
kill -TERM "$DPID"
check "syslog: stopped" bash -c "for i in \$(seq 1 40); do grep -q 'mailcanaryd\[$DPID\]: stopped' '$X/syslog' && exit 0; sleep 0.25; done; exit 1"
done_testing
