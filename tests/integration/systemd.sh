#!/bin/bash
# mailcanaryd under systemd, without a systemd: the unit passes
# systemd-analyze verify and security in their offline modes, and the
# built daemon speaks sd_notify for real to a unix datagram socket this
# test listens on ($NOTIFY_SOCKET), against a private snmpd and the
# loopback mail path, its secrets in $CREDENTIALS_DIRECTORY as
# LoadCredential= leaves them. Ports: SYSTEMD_TEST_PORT (default 16100)
# is the mail path's base (it takes +10..+99 of it); snmpd +50, a server
# that never answers +60.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in systemd-analyze snmpd snmpget python3; do
	command -v $c >/dev/null || { echo "Bail out! $c missing"; exit 1; }
done
DAEMON=$top_builddir/snmp-agent/mailcanaryd
UNIT=$top_srcdir/packaging/systemd/mailcanaryd.service
BASE=${SYSTEMD_TEST_PORT:-16100}
SNMP_PORT=$((BASE + 50)); HANG_PORT=$((BASE + 60))
X=$(mktemp -d /tmp/mailcanary-systemd.XXXXXX); CLEANUP+=("rm -rf $X")

# ---- the unit, offline ----
directive() { grep -qxF -- "$1" "$UNIT"; }
for d in Type=notify NotifyAccess=main User=mailcanary \
    'ExecStart=/usr/sbin/mailcanaryd -f -c /etc/mailcanary/mailcanary.conf' \
    'ExecReload=/bin/kill -HUP $MAINPID' ProtectSystem=strict \
    StateDirectory=mailcanary StateDirectoryMode=0700 PrivateTmp=yes \
    ProtectHome=yes NoNewPrivileges=yes \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
    SystemCallFilter=@system-service CapabilityBoundingSet= \
    Restart=on-failure RestartPreventExitStatus=2 StartLimitBurst=5; do
	check "unit: $d" directive "$d"
done
# verify needs ExecStart's binary: a copy of the unit whose ExecStart
# names the built one; everything else is the shipped file. (--root
# would need systemd's whole unit tree, sysinit.target and all, in the
# root.) Clean means exit 0 and not a word: verify exits 0 on an
# unknown key, printing only a warning.
sed "s|^ExecStart=/usr/sbin/mailcanaryd |ExecStart=$DAEMON |" "$UNIT" \
    >"$X/mailcanaryd.service"
OUT=$(cd "$X" && systemd-analyze verify --man=no "$X/mailcanaryd.service" 2>&1) && RC=0 || RC=$?
check "systemd-analyze verify: clean" bash -c "[ $RC = 0 ] && [ -z \"\$1\" ]" _ "$OUT"
OUT=$(systemd-analyze security --offline=yes "$UNIT" 2>&1) && RC=0 || RC=$?
EXPOSURE=$(sed -n 's/.*Overall exposure level for mailcanaryd.service: \([0-9.]*\).*/\1/p' <<<"$OUT")
diag "systemd-analyze security --offline=yes: exposure ${EXPOSURE:-?}" \
    "$(grep '✗' <<<"$OUT" | sed 's/  */ /g')"
check "systemd-analyze security --offline=yes: exposure $EXPOSURE <= 2.0 (OK or better)" \
    bash -c "[ -n '$EXPOSURE' ] && [ \$(echo '$EXPOSURE <= 2.0' | bc) = 1 ]"

# ---- sd_notify, for real ----
for p in $SNMP_PORT; do
	if ss -Hlun "sport = :$p" 2>/dev/null | grep -q .; then
		echo "Bail out! udp 127.0.0.1:$p is already in use"; exit 1
	fi
done
start_mailpath "$BASE"
start_scripted "$HANG_PORT" hang
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist" "$X/state" "$X/creds"
chmod 700 "$X/creds"
cp "$MP_ROOT/mbox.pw" "$X/creds/mailbox.pw"; cp "$MP_ROOT/smtp.pw" "$X/creds/bounce.pw"
start_agentx_snmpd "$X" "$SNMP_PORT"
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
# Two probes through the mail path; the passwords are credentials.
write_conf() {
	cat >"$X/mc.conf" <<EOT
[global]
state_dir = $X/state
agentx_socket = $X/agentx.sock
smtp = $MP_SMTP
from = $MP_FROM
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = mailbox.pw
ca_file = $MP_CA
interval = 3

[probe healthy]
to = $MP_TO
snmp_index = 1
bounce_mailbox = $MP_BOUNCE_IMAP
bounce_user = $MP_FROM_USER
bounce_password_file = bounce.pw

[probe void]
to = canary@void.test
snmp_index = 2
EOT
}
write_conf
# listen NAME [OID...]: a NOTIFY_SOCKET at $X/NAME.sock; every datagram
# becomes a line of $X/NAME.log ("SECONDS MESSAGE", newlines as |). At
# the first READY=1 it reads the OIDs from snmpd at once (AT-READY lines).
cat >"$X/listen.py" <<'EOT'
import os, socket, subprocess, sys, time
path, log, port, oids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
f = open(log, "a", buffering=1)
ready = False
while True:
    m = s.recv(65536).decode("utf-8", "replace")
    f.write("%.3f %s\n" % (time.monotonic(), m.replace("\n", "|")))
    if not ready and "READY=1" in m.split("\n"):
        ready = True
        for o in oids:
            r = subprocess.run(["snmpget", "-v2c", "-c", "public", "-Oqv",
                "127.0.0.1:" + port, o], capture_output=True, text=True)
            f.write("AT-READY %s %s\n" % (o, r.stdout.strip()))
EOT
listen() {
	local name=$1; shift
	python3 "$X/listen.py" "$X/$name.sock" "$X/$name.log" "$SNMP_PORT" "$@" &
	CLEANUP+=("kill $! 2>/dev/null")
	for i in $(seq 1 50); do [ -S "$X/$name.sock" ] && return 0; sleep 0.1; done
	echo "Bail out! the notify listener did not start"; exit 1
}
# states NAME: the state changes of the log, in order (no STATUS, WATCHDOG)
states() { grep -v '^AT-READY' "$X/$1.log" | cut -d' ' -f2- | tr '|' '\n' | grep -E '^(READY|RELOADING|STOPPING)='; }
wait_for() {	# NAME PATTERN SECONDS: a line of the log matching
	local i
	for i in $(seq 1 $(($3 * 10))); do grep -qE -- "$2" "$X/$1.log" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
count() { grep -cE -- "$2" "$X/$1.log" 2>/dev/null || true; }
# run_daemon NAME ARGS...: as under systemd: NOTIFY_SOCKET, WATCHDOG_USEC
# and WATCHDOG_PID (its own pid), the credentials; stderr to NAME.err.
run_daemon() {
	local name=$1; shift
	NOTIFY_SOCKET=$X/$name.sock WATCHDOG_USEC=2000000 CREDENTIALS_DIRECTORY=$X/creds \
	    bash -c 'WATCHDOG_PID=$$ exec "$@"' _ "$DAEMON" -f "$@" >"$X/$name.err" 2>&1 &
	DPID=$!
	CLEANUP+=("stop_pid $DPID")
}

# 1. Start, reload, refused reload, stop.
listen main "$E.7.1" "$E.7.2"
run_daemon main -c "$X/mc.conf"
check "READY=1 within 30 s" wait_for main '( |\|)READY=1' 30
OUT=$(cat "$X/main.log")
before_ready() {	# only STATUS= lines (and watchdog pings) before READY=1
	sed '/READY=1/,$d' "$X/main.log" | cut -d' ' -f2- |
	    grep -vE '^(STATUS=.*|WATCHDOG=1)$' | grep -q . && return 1
	grep -q 'STATUS=starting: connecting to snmpd' "$X/main.log"
}
check "before READY=1: STATUS lines of the start-up steps, no other state" before_ready
check "before READY=1: STATUS counts the first cycles (1 of 2 done)" bash -c \
    "sed '/READY=1/,\$d' '$X/main.log' | grep -q 'STATUS=serving; first cycles: 1 of 2 probes done'"
check "READY=1 after the first schedule: at READY both rows show a first result, read from credentials (OK)" bash -c \
    "grep -q '^AT-READY $E.7.1 \"MAILCANARY OK' '$X/main.log' && grep -q '^AT-READY $E.7.2 \"MAILCANARY OK' '$X/main.log'"
check "READY=1 carries STATUS=running 2 probes" grep -q 'READY=1|STATUS=running 2 probes, AgentX on' "$X/main.log"
kill -HUP $DPID
reloaded() {
	for i in $(seq 1 100); do [ "$(states main | wc -l)" -ge 3 ] && break; sleep 0.1; done
	[ "$(states main | tr '\n' ' ')" = 'READY=1 RELOADING=1 READY=1 ' ] &&
	    grep -q 'RELOADING=1|MONOTONIC_USEC=[0-9]*|STATUS=reloading' "$X/main.log" &&
	    grep -q 'READY=1|STATUS=configuration reloaded' "$X/main.log"
}
check "SIGHUP: RELOADING=1 (with MONOTONIC_USEC), then READY=1" reloaded
echo 'timeout = 0' >>"$X/mc.conf"
kill -HUP $DPID
refused() {
	for i in $(seq 1 100); do grep -q 'reload refused' "$X/main.log" && break; sleep 0.1; done
	[ "$(states main | tr '\n' ' ')" = 'READY=1 RELOADING=1 READY=1 RELOADING=1 READY=1 ' ] &&
	    grep -q 'READY=1|STATUS=reload refused, running the previous configuration' "$X/main.log"
}
check "a refused reload: RELOADING=1, then READY=1 saying so" refused
write_conf
check "the daemon still serves after the refused reload" test "$(get $E.2.2)" = '"void"'
for i in $(seq 1 100); do [ "$(count main 'WATCHDOG=1')" -ge 6 ] && break; sleep 0.1; done
PINGS=$(count main 'WATCHDOG=1')
kill -TERM $DPID
wait $DPID; RC=$?
OUT=$(tail -3 "$X/main.log")
stopped() {
	[ "$RC" = 0 ] && [ "$(states main | tail -1)" = STOPPING=1 ] || return 1
	! sed '1,/STOPPING=1/d' "$X/main.log" | cut -d' ' -f2- | grep -vx 'WATCHDOG=1' | grep -q .
}
check "SIGTERM: STOPPING=1, exit 0, nothing but watchdog pings after it" stopped
# With WATCHDOG_USEC=2 s the main loop pings every second; never a gap
# of 2 s while it ran (first ping to the last).
GAP=$(grep ' WATCHDOG=1$' "$X/main.log" | awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%.2f", m }')
check "watchdog: $PINGS+ pings from the main loop, the longest gap ${GAP}s < 2 s" \
    bash -c "[ $PINGS -ge 6 ] && [ \$(echo '$GAP < 2' | bc) = 1 ]"
check "the log (journal) says stopped" grep -q 'stopped' "$X/main.err"

# 2. A probe stuck on a server that never answers: READY=1 does not wait
# for it beyond --start-timeout.
cat >"$X/stuck.conf" <<EOT
[global]
state_dir = $X/state
agentx_socket = $X/agentx.sock
[probe stuck]
smtp = smtp://127.0.0.1:$HANG_PORT
starttls = never
from = $MP_FROM
to = $MP_TO
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = mailbox.pw
timeout = 60
snmp_index = 9
EOT
listen stuck "$E.7.9"
T0=$(date +%s)
run_daemon stuck -c "$X/stuck.conf" --start-timeout 4
check "a stuck first cycle: READY=1 after --start-timeout (4 s), not its timeout (60 s)" \
    wait_for stuck '( |\|)READY=1' 20
T1=$(date +%s)
check "  ...and not before it (took $((T1 - T0)) s)" test $((T1 - T0)) -ge 4
check "  ...STATUS says a first cycle is still running" \
    grep -q 'STATUS=running 1 probes, AgentX on .*; 1 of 1 first cycles still running' "$X/stuck.log"
stop_pid $DPID

# 3. Bad input: one line on stderr (the journal), exit 1, STATUS= says
# why, no READY=1, and the state files are not touched.
sum_state() { (cd "$X/state" && find . -type f | sort | xargs sha256sum); }
BEFORE=$(sum_state)
sed 's/^interval = 3$/interval = soon/' "$X/mc.conf" >"$X/bad.conf"
listen bad
NOTIFY_SOCKET=$X/bad.sock CREDENTIALS_DIRECTORY=$X/creds "$DAEMON" -f -c "$X/bad.conf" >"$X/bad.err" 2>&1; RC=$?
OUT=$(cat "$X/bad.err")
check "bad config: exit 1 and one line naming file, line and key" bash -c \
    "[ $RC = 1 ] && [ \$(wc -l <'$X/bad.err') = 1 ] && grep -q 'bad.conf:10: interval' '$X/bad.err'"
wait_for bad 'STATUS=failed' 5
check "bad config: STATUS=failed: with the same reason, no READY=1" bash -c \
    "grep -q 'STATUS=failed: .*bad.conf:10: interval' '$X/bad.log' && ! grep -q 'READY=1' '$X/bad.log'"
sed 's/^mailbox_password_file = mailbox.pw$/mailbox_password_file = missing.pw/' "$X/mc.conf" >"$X/nocred.conf"
OUT=$(NOTIFY_SOCKET=$X/bad.sock CREDENTIALS_DIRECTORY=$X/creds "$DAEMON" -f -c "$X/nocred.conf" 2>&1); RC=$?
check "a missing credential: exit 1, one line naming it" bash -c \
    "[ $RC = 1 ] && [ \$(wc -l <<<\"\$1\") = 1 ] && grep -q 'missing.pw' <<<\"\$1\"" _ "$OUT"
check "a refused start leaves the state files as they were" test "$(sum_state)" = "$BEFORE"

# 4. Without NOTIFY_SOCKET nothing changes: same log lines, same exit.
CREDENTIALS_DIRECTORY=$X/creds "$DAEMON" -f -c "$X/mc.conf" >"$X/plain.err" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
for i in $(seq 1 300); do [ "$(get $E.7.2 | cut -c2-11)" = MAILCANARY ] && break; sleep 0.1; done
kill -HUP $DPID
for i in $(seq 1 50); do grep -q 'configuration reloaded' "$X/plain.err" && break; sleep 0.1; done
kill -TERM $DPID; wait $DPID; RC=$?
# The same lines of start, reload and stop as with a NOTIFY_SOCKET, and
# no word of it. (Which state changes a run logs depends on the mail.)
plain_same() {
	local l
	[ "$RC" = 0 ] || return 1
	for l in 'AgentX subagent connected' 'running 2 probes, AgentX on' \
	    'configuration reloaded: 2 probes, 0 changed' 'mailcanaryd: stopped'; do
		grep -q "$l" "$X/main.err" && grep -q "$l" "$X/plain.err" || { echo "no '$l'"; return 1; }
	done
	! grep -qi 'notify\|watchdog' "$X/main.err" "$X/plain.err"
}
OUT=$(cat "$X/plain.err")
check "without NOTIFY_SOCKET: exit 0, the same start, reload and stop lines, no word of notify" plain_same
done_testing
