# lib.sh - TAP helpers and fixtures for the integration tests (sourced).
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PLUGIN=$top_builddir/plugins/check_mailcanary
MAILPATH=$top_srcdir/tests/mailpath/mailpath
SCRIPTED=$top_srcdir/tests/scripted_server.pl
TAP_N=0
TAP_FAILED=0
CLEANUP=()

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() {
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}
# check DESC CMD...: one TAP result from a command's exit status.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; diag_last; fi
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
diag_last() { [ -n "${OUT:-}" ] && diag "rc=${RC:-?} output: $OUT"; return 0; }
done_testing() { echo "1..$TAP_N"; }

on_exit() {
	local c keep
	# Failed: keep the servers' logs for a person (and say where).
	if [ "$TAP_FAILED" -gt 0 ] && [ -n "${MP_ROOT:-}" ] && [ -d "$MP_ROOT/log" ]; then
		keep=/tmp/mailcanary-failed-logs.$$
		cp -r "$MP_ROOT/log" "$keep" 2>/dev/null && diag "server logs kept in $keep"
	fi
	# Last registered first: a server is stopped before its directory goes.
	for ((c = ${#CLEANUP[@]} - 1; c >= 0; c--)); do
		eval "${CLEANUP[c]}" || true
	done
}
trap on_exit EXIT

# Integration tests need root and Debian's servers. Under the project's
# test command (MAILCANARY_REQUIRE_INTEGRATION=1) their absence fails.
# What the sanitizer builds (tests/fuzz, agent-asan.sh) compile the library
# from, without automake: its sources and the packages it needs.
LIB_SOURCES=$(echo "$top_srcdir"/lib/*.c)
LIB_PKGS="libcurl jansson libcrypto gmime-3.0 libmicrohttpd"
# What configure defines for the library, for the sanitizer builds.
LIB_DEFS='-D_GNU_SOURCE -DPACKAGE_VERSION="0-sanitizer"'
# lsan_glib_suppressions FILE: GLib keeps its type system for the life of
# the process; LeakSanitizer is told those are not leaks.
lsan_glib_suppressions() {
	printf 'leak:g_type_register\nleak:g_type_class_ref\nleak:g_mime_init\nleak:libglib\nleak:libgobject\n' >"$1"
}

# skip DESC WHY: one TAP result that did not run, and why.
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }

# The IETF base MIB modules (SNMPv2-SMI, ...) that MIB tools need beside
# MAILCANARY-MIB. Debian ships them only in non-free snmp-mibs-downloader,
# which fetches them from the network; a checkout may have ../shared/mibs.
# Sets BASE_MIBS to the first directory that holds them, or "".
find_base_mibs() {
	local d dirs=${MIBDIRS:-}
	BASE_MIBS=""
	for d in ${MAILCANARY_BASE_MIBS:-} ${dirs//:/ } "$top_srcdir/../shared/mibs" \
	    /usr/share/snmp/mibs/ietf /var/lib/mibs/ietf /usr/share/mibs/ietf; do
		if [ -f "$d/SNMPv2-SMI.txt" ] || [ -f "$d/SNMPv2-SMI" ]; then
			BASE_MIBS=$(cd "$d" && pwd); return 0
		fi
	done
	return 1
}
BASE_MIBS_WHY="the IETF base MIB modules (SNMPv2-SMI, ...) are not on this machine: install Debian's snmp-mibs-downloader (non-free; it fetches them) or point MIBDIRS at a directory holding them"

require_servers() {
	local why=""
	[ "$(id -u)" = 0 ] || why="not root"
	command -v postfix >/dev/null || why="postfix is not installed"
	command -v jq >/dev/null || why="jq is not installed"
	command -v valgrind >/dev/null || why="valgrind is not installed"
	if [ -n "$why" ]; then
		if [ "${MAILCANARY_REQUIRE_INTEGRATION:-0}" = 1 ]; then
			echo "Bail out! $why"; exit 1
		fi
		echo "1..0 # SKIP $why"; exit 0
	fi
}

# run ARGS...: runs the plugin; sets OUT (stdout), RC, ERR (stderr), SECS.
run() {
	local t0 t1 errf
	errf=$(mktemp)
	t0=$(date +%s.%N)
	OUT=$("$PLUGIN" "$@" 2>"$errf") && RC=0 || RC=$?
	t1=$(date +%s.%N)
	ERR=$(cat "$errf"); rm -f "$errf"
	SECS=$(echo "$t1 - $t0" | bc)
}

has() { case $OUT in *"$1"*) return 0 ;; esac; return 1; }
status_is() { [ "${OUT%% *}" = MAILCANARY ] && [ "$(echo "$OUT" | head -1 | cut -d' ' -f2)" = "$1" ]; }
rc_is() { [ "$RC" = "$1" ]; }
# jqt EXPR [FILE]: jq -e on FILE or stdin; a missing or empty input is
# false (jq 1.6 -e says true to nothing).
jqt() {
	local in
	if [ $# -ge 2 ]; then
		[ -s "${!#}" ] && jq -e "$@" >/dev/null
		return
	fi
	in=$(cat)
	[ -n "$in" ] && printf '%s\n' "$in" | jq -e "$@" >/dev/null
}
faster_than() { [ "$(echo "$SECS < $1" | bc)" = 1 ]; }

# stop_pid PID: TERM, then wait up to 5 s (KILL after), so that what it
# writes is done before its directory is removed.
stop_pid() {
	local pid=${1:-} i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
}

# start_agentx_snmpd DIR PORT: a private snmpd, AgentX master on
# DIR/agentx.sock, SNMP on udp 127.0.0.1:PORT, stopped by pid at exit;
# returns once the socket is there.
start_agentx_snmpd() {
	local d=$1 port=$2 i
	cat >"$d/snmpd.conf" <<EOT
master agentx
agentXSocket $d/agentx.sock
agentXPerms 0660 0770
rocommunity public 127.0.0.1
EOT
	snmpd -Lf "$d/snmpd.log" -C -c "$d/snmpd.conf" -I -smux,mta_sendmail \
	    -p "$d/snmpd.pid" udp:127.0.0.1:"$port"
	CLEANUP+=("stop_pid \$(cat $d/snmpd.pid 2>/dev/null)")
	for i in $(seq 1 50); do [ -S "$d/agentx.sock" ] && break; sleep 0.1; done
}

# start_scripted PORT MODE: a misbehaving server, stopped by pid at exit.
start_scripted() {
	local pidf i
	pidf=$(mktemp)
	perl "$SCRIPTED" "$1" "$2" "$pidf" &
	CLEANUP+=("kill $! 2>/dev/null")
	for i in $(seq 1 50); do
		[ -s "$pidf" ] && (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! scripted server on $1 did not start"; exit 1
}

# The [global] lines a test's mc.conf shares for the mail path of
# start_mailpath: the relay, the test mailbox, its CA, and the AgentX
# socket in DIR. In a heredoc: $(mailpath_global "$X").
mailpath_global() {	# DIR
	cat <<EOT
agentx_socket = $1/agentx.sock
smtp = $MP_SMTP
from = $MP_FROM
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = $MP_ROOT/mbox.pw
ca_file = $MP_CA
EOT
}

# start_mailpath PORTBASE: the real mail path in a private directory.
start_mailpath() {
	MP_ROOT=$(mktemp -d /tmp/mailcanary-mp.XXXXXX)
	CLEANUP+=("$MAILPATH stop $MP_ROOT; rm -rf $MP_ROOT $MP_ROOT.log")
	MAILPATH_PORT=$1 "$MAILPATH" start "$MP_ROOT" healthy >"$MP_ROOT.log" 2>&1 ||
	    { echo "Bail out! mail path did not start: $(cat "$MP_ROOT.log")"; exit 1; }
	# shellcheck disable=SC1090,SC1091
	. "$MP_ROOT/env"
	printf '%s\n' "$MP_TO_PASSWORD" >"$MP_ROOT/mbox.pw"
	printf '%s\n' "$MP_FROM_PASSWORD" >"$MP_ROOT/smtp.pw"
	chmod 600 "$MP_ROOT/mbox.pw" "$MP_ROOT/smtp.pw"
}
