#!/bin/bash
# mailcanaryd built with AddressSanitizer, LeakSanitizer and UBSan runs
# hundreds of probe cycles through the real mail path, serves walks of both
# tables and notifications, takes a reload that adds, removes and changes
# probes, and stops: no leak, no memory error, no undefined behaviour.
. "$(dirname "$0")/../lib.sh"
require_servers
CLANG=$(command -v clang-14 || command -v clang || true)
[ -n "$CLANG" ] || { echo "Bail out! clang-14 is missing (scripts/deps)"; exit 1; }
CYCLES=${AGENT_ASAN_CYCLES:-300}
X=$(mktemp -d /tmp/mailcanary-asan.XXXXXX); CLEANUP+=("rm -rf $X")
src=$top_srcdir
# shellcheck disable=SC2086
if "$CLANG" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
    -fno-sanitize-recover=undefined -pthread $LIB_DEFS -I"$src/lib" -I"$top_builddir" \
    $(pkg-config --cflags $LIB_PKGS) \
    -o "$X/mailcanaryd" "$src"/snmp-agent/*.c $LIB_SOURCES \
    $(pkg-config --libs $LIB_PKGS) -lnetsnmpagent -lnetsnmp -lm \
    2>"$X/build.log"; then
	ok "mailcanaryd builds with ASan, LSan and UBSan"
else
	not_ok "mailcanaryd builds with ASan, LSan and UBSan"; diag "$(tail -5 "$X/build.log")"
	done_testing; exit 1
fi
start_mailpath "${AGENT_ASAN_TEST_PORT:-12800}"
SNMP_PORT=${AGENT_ASAN_SNMP_PORT:-13771}; TRAP_PORT=$((SNMP_PORT + 1))
for p in $SNMP_PORT $TRAP_PORT; do
	if ss -Hlun "sport = :$p" 2>/dev/null | grep -q .; then
		echo "Bail out! udp 127.0.0.1:$p is already in use"; exit 1
	fi
done
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist" "$X/state"
printf 'master agentx\nagentXSocket %s\nrocommunity public 127.0.0.1\ntrap2sink 127.0.0.1:%s public\n' \
    "$X/agentx.sock" "$TRAP_PORT" >"$X/snmpd.conf"
snmpd -Lf "$X/snmpd.log" -C -c "$X/snmpd.conf" -I -smux,mta_sendmail -p "$X/snmpd.pid" udp:127.0.0.1:$SNMP_PORT
CLEANUP+=("stop_pid \$(cat $X/snmpd.pid 2>/dev/null)")
printf 'disableAuthorization yes\n' >"$X/snmptrapd.conf"
snmptrapd -Lf "$X/traps.log" -On -C -c "$X/snmptrapd.conf" -p "$X/snmptrapd.pid" udp:127.0.0.1:$TRAP_PORT
CLEANUP+=("stop_pid \$(cat $X/snmptrapd.pid 2>/dev/null)")
write_conf() {	# PROBE...: healthy ones, plus one that always hides
	{
		printf '[global]\nstate_dir = %s\nagentx_socket = %s\nsmtp = %s\nfrom = %s\n' \
		    "$X/state" "$X/agentx.sock" "$MP_SMTP" "$MP_FROM"
		printf 'mailbox = %s\nmailbox_user = %s\nmailbox_password_file = %s\nca_file = %s\ninterval = 1\n' \
		    "$MP_IMAP" "$MP_TO_USER" "$MP_ROOT/mbox.pw" "$MP_CA"
		printf 'bounce_mailbox = %s\nbounce_user = %s\nbounce_password_file = %s\n' \
		    "$MP_BOUNCE_IMAP" "$MP_FROM_USER" "$MP_ROOT/smtp.pw"
		for p in "$@"; do
			case $p in
			void) printf '\n[probe void]\nto = canary@void.test\nlost_after = 10\n' ;;
			*) printf '\n[probe %s]\nto = %s\n' "$p" "$MP_TO" ;;
			esac
		done
	} >"$X/mc.conf"
}
write_conf a b c d void
lsan_glib_suppressions "$X/lsan.supp"
ASAN_OPTIONS=detect_leaks=1:log_path=$X/asan:abort_on_error=0 \
    LSAN_OPTIONS=suppressions=$X/lsan.supp UBSAN_OPTIONS=print_stacktrace=1:log_path=$X/ubsan \
    "$X/mailcanaryd" -f -c "$X/mc.conf" >"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
sent() { cat "$X"/state/*.json 2>/dev/null | jq -s 'map(.counters.sent) | add // 0'; }
E=1.3.6.1.4.1.32473.1
reloaded=0 walks=0
for i in $(seq 1 600); do
	n=$(sent)
	[ "$n" -ge "$CYCLES" ] && break
	if [ $reloaded = 0 ] && [ "$n" -ge $((CYCLES / 2)) ]; then
		# Remove b, change c, add e, keep a, d and void.
		write_conf a c d e void
		sed -i '/^\[probe c\]/a warning = 1700' "$X/mc.conf"
		kill -HUP $DPID
		reloaded=1
	fi
	snmpbulkwalk -v2c -c public -On 127.0.0.1:$SNMP_PORT $E >/dev/null 2>&1 && walks=$((walks + 1))
	sleep 1
done
check "$(sent) canaries sent (>= $CYCLES cycles) under the sanitizers" test "$(sent)" -ge "$CYCLES"
check "a reload happened halfway" test $reloaded = 1
check "$walks walks of both tables answered meanwhile" test $walks -ge 10
ROWS=$(snmpwalk -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT $E.1.1.2 | tr -d '"' | sort | xargs)
check "the table has the reloaded probes ($ROWS)" test "$ROWS" = "a c d e void"
check "the changed probe's counters restarted" grep -q 'reloaded: 5 probes, 1 changed' "$X/daemon.log"
check "a notification went out (void's canaries hide)" grep -q 'OID: .1.3.6.1.4.1.32473.0.1' "$X/traps.log"
kill -TERM $DPID
for i in $(seq 1 100); do kill -0 $DPID 2>/dev/null || break; sleep 0.2; done
wait $DPID; RC=$?
check "SIGTERM: stopped cleanly (exit 0)" test $RC = 0
reports=$(cat "$X"/asan.* "$X"/ubsan.* 2>/dev/null)
check "no AddressSanitizer, LeakSanitizer or UBSan report" test -z "$reports"
[ -n "$reports" ] && diag "$(grep -E 'ERROR|SUMMARY|runtime error|#[0-9] ' <<<"$reports" | head -30)"
done_testing
