#!/bin/bash
# files.sh - what a file or a signal can do to mailcanary, as root:
# FIFOs, devices and directories are refused without blocking; the
# plugin's backstop and SIGTERM hold before the configuration is read (a
# preloaded shim makes opening "hang.*" files hang, as a dead NFS server
# would); key, password, state and lock files of another user are refused
# with the path; mailcanaryd starts within --start-timeout; and the
# documented --user setup reloads on SIGHUP with a secret from
# $CREDENTIALS_DIRECTORY, and keeps the old configuration when a secret
# cannot be read. No mail server: the mailbox is a closed port.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v gcc >/dev/null && command -v useradd >/dev/null ||
    { echo "Bail out! gcc or useradd missing"; exit 1; }
DAEMON=$top_builddir/snmp-agent/mailcanaryd
PORT=${FILES_TEST_PORT:-15400}	# nothing listens here: connects fail
X=$(mktemp -d /tmp/mailcanary-files.XXXXXX); CLEANUP+=("rm -rf $X")
chmod 711 "$X"		# the --user account walks through to its files
export SNMP_PERSISTENT_DIR=$X/persist MIBS=

cat >"$X/hang.c" <<'EOT'
/* Opening a file whose name has "/hang." never returns. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static void hang(const char *p)
{
	if (p != NULL && strstr(p, "/hang.") != NULL)
		for (;;)
			pause();
}
#define OPEN(name) int name(const char *p, int f, ...) \
{ \
	int (*real)(const char *, int, ...) = \
	    (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
	va_list ap; mode_t m = 0; \
	if (f & O_CREAT) { va_start(ap, f); m = va_arg(ap, int); va_end(ap); } \
	hang(p); \
	return real(p, f, m); \
}
OPEN(open)
OPEN(open64)
#define FOPEN(name) FILE *name(const char *p, const char *m) \
{ \
	FILE *(*real)(const char *, const char *) = \
	    (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, #name); \
	hang(p); \
	return real(p, m); \
}
FOPEN(fopen)
FOPEN(fopen64)
EOT
gcc -shared -fPIC -o "$X/hang.so" "$X/hang.c" -ldl ||
    { echo "Bail out! cannot build the hang shim"; exit 1; }
HANG=$X/hang.so

# trun LIMIT ARGS...: the plugin, killed after LIMIT seconds (rc 124 or
# 137); with PRE set, under that preload. Sets OUT, RC, SECS.
trun() {
	local lim=$1 t0 t1; shift
	t0=$(date +%s.%N)
	OUT=$(timeout -k 1 "$lim" env ${PRE:+LD_PRELOAD=$PRE} "$PLUGIN" "$@" \
	    2>/dev/null) && RC=0 || RC=$?
	t1=$(date +%s.%N)
	SECS=$(echo "$t1 - $t0" | bc)
}
# drun LIMIT ARGS...: the same for mailcanaryd, stderr in OUT.
drun() {
	local lim=$1 t0 t1; shift
	t0=$(date +%s.%N)
	OUT=$(timeout -k 1 "$lim" env ${PRE:+LD_PRELOAD=$PRE} "$DAEMON" "$@" \
	    2>&1 >/dev/null) && RC=0 || RC=$?
	t1=$(date +%s.%N)
	SECS=$(echo "$t1 - $t0" | bc)
}
alive() {	# PID: running, not a zombie (no fork: read /proc)
	local st
	read -r _ _ st _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ "$st" != Z ]
}
# term_after DELAY ARGS...: the plugin under the hang shim, SIGTERM after
# DELAY; SECS is the time from the signal to the end (5 means never).
term_after() {
	local delay=$1 pid t0 t1 i; shift
	LD_PRELOAD=$HANG "$PLUGIN" "$@" >"$X/term.out" 2>/dev/null &
	pid=$!
	sleep "$delay"
	t0=$(date +%s.%N)
	kill -TERM "$pid"
	for i in $(seq 1 250); do alive "$pid" || break; sleep 0.02; done
	t1=$(date +%s.%N)
	if alive "$pid"; then kill -KILL "$pid"; SECS=5; else SECS=$(echo "$t1 - $t0" | bc); fi
	wait "$pid" && RC=0 || RC=$?
	OUT=$(cat "$X/term.out")
}
within() { [ "$(echo "$SECS < $1" | bc)" = 1 ]; }
waitfor() {	# SECONDS CMD...: until CMD succeeds
	local i n=$(($1 * 10)); shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
	return 1
}
unknown_with() {	# TEXT...: rc 3, an UNKNOWN line carrying every TEXT
	local t
	[ "$RC" = 3 ] && status_is UNKNOWN || return 1
	for t in "$@"; do has "$t" || return 1; done
}

# ---- the plugin: special files, the backstop, SIGTERM ----
mkfifo "$X/fifo.conf" "$X/fifo.pw"
mkdir "$X/dir.conf"
printf '[probe x]\nno_send = on\nmailbox = imap://127.0.0.1:%s\n' "$PORT" >"$X/hang.conf"
printf '[probe x]\nno_send = on\nmailbox = imap://127.0.0.1:%s\nmailbox_user = u\nmailbox_password_file = %s\ntimeout = 1\nstate_dir = %s\n' \
    "$PORT" "$X/hang.pw" "$X" >"$X/pwhang.conf"
printf 'secret\n' >"$X/hang.pw"; chmod 600 "$X/hang.pw"

trun 10 --config /dev/zero --probe x -t 2
check "--config /dev/zero: refused at once, naming it" \
    eval 'unknown_with "/dev/zero" "not a regular file" && within 0.5'
trun 10 --config "$X/fifo.conf" --probe x -t 2
check "--config FIFO: refused at once, naming it" \
    eval 'unknown_with "$X/fifo.conf" "FIFO" && within 0.5'
trun 10 --config "$X/dir.conf" --probe x -t 2
check "--config DIRECTORY: refused as a directory" \
    eval 'unknown_with "$X/dir.conf" "is a directory"'
trun 10 --no-send -M "imap://127.0.0.1:$PORT" --mailbox-user u \
    --mailbox-password-file "$X/fifo.pw" --state-dir "$X" -t 2
check "FIFO as password file: refused at once, naming it" \
    eval 'unknown_with "$X/fifo.pw" "FIFO" && within 0.5'
PRE=$HANG trun 10 --config "$X/hang.conf" --probe x -t 2
check "a config read that hangs: the backstop answers within -t + 0.5 s, naming the step" \
    eval 'unknown_with "timed out after 2s at reading the configuration" && within 2.5'
PRE=$HANG trun 10 --config "$X/hang.conf" --probe x -t 2 --output json
check "... and in JSON when --output json is on the command line" \
    eval '[ "$RC" = 3 ] && jqt ".verdict == \"UNKNOWN\" and (.reasons[0].text | test(\"reading the configuration\"))" <<<"$OUT" && within 2.5'
PRE=$HANG trun 10 --config "$X/pwhang.conf" --probe x
check "a password read that hangs: the config's timeout (1 s) re-arms the backstop from the start" \
    eval 'unknown_with "timed out after 1s at reading the password files" && within 1.5'
term_after 0.3 --config "$X/hang.conf" --probe x -t 20
check "SIGTERM while the config read hangs: UNKNOWN naming the step within 0.5 s" \
    eval 'unknown_with "terminated by a signal at reading the configuration" && within 0.5'

# ---- the plugin: owners, modes, the state directory ----
S=$X/own; mkdir -m 700 "$S"
own() { trun 15 --no-send -M "imap://127.0.0.1:$PORT" --probe own --state-dir "$S" -t 5 "$@"; }
own
check "baseline: the run gets as far as the mailbox (key and state created)" \
    eval 'unknown_with "cannot read the test mailbox" && [ -f "$S/key" ] && [ -f "$S/own.json" ]'
for f in key own.json own.lock; do
	chown nobody "$S/$f"
	own
	check "$f owned by nobody: refused, naming the path and the fix" \
	    eval 'unknown_with "$S/$f is owned by nobody" "chown root $S/$f"'
	chown root "$S/$f"
done
chmod 660 "$S/own.json"
own
check "a state file others may write: refused (chmod go-w)" \
    eval 'unknown_with "$S/own.json is writable by group or others" "chmod go-w"'
chmod 600 "$S/own.json"
install -m 600 -o nobody /dev/null "$X/nobody.pw"; echo pw >"$X/nobody.pw"
own --mailbox-user u --mailbox-password-file "$X/nobody.pw"
check "a password file owned by nobody: refused, naming it" \
    eval 'unknown_with "password file $X/nobody.pw is owned by nobody" "chown root"'
chmod 777 "$S"
own
check "a state directory writable by others: refused" \
    eval 'unknown_with "state directory $S is writable by others"'
chmod 1777 "$S"
own
check "... but sticky, with our own files: used" unknown_with "cannot read the test mailbox"
rm "$S/key"; install -m 600 -o nobody /dev/null "$S/key"
head -c 32 /dev/urandom >"$S/key"
own
check "a key planted by nobody in the sticky directory: refused, not used" \
    eval 'unknown_with "key file $S/key is owned by nobody"'
chmod 700 "$S"; rm -f "$S/key"; mkfifo -m 600 "$S/key"
own
check "a FIFO as key: refused at once" eval 'unknown_with "key file $S/key is a FIFO" && within 1'
rm "$S/key" "$S/own.json"; mkfifo -m 600 "$S/own.json"
own
check "a FIFO as state file: refused at once" eval 'unknown_with "state file $S/own.json is a FIFO" && within 1'
rm "$S/own.json"
# Another run holds the lock: SIGTERM ends the wait at once, saying so.
perl -e 'use Fcntl ":flock"; open(my $f, ">>", $ARGV[0]) or die; flock($f, LOCK_EX) or die; sleep 30' "$S/own.lock" &
LPID=$!; CLEANUP+=("kill $LPID 2>/dev/null")
sleep 0.3
term_after 0.5 --no-send -M "imap://127.0.0.1:$PORT" --probe own --state-dir "$S" -t 20
check "SIGTERM while waiting for the state lock: UNKNOWN naming the wait within 0.5 s" \
    eval 'unknown_with "terminated by a signal while waiting for the lock $S/own.lock" && within 0.5'
kill "$LPID"

# ---- mailcanaryd: special files, the start-up watchdog ----
drun 10 -f -c "$X/fifo.conf"
check "mailcanaryd --config FIFO: refused at once, naming it" \
    eval '[ "$RC" = 1 ] && grep -qF "$X/fifo.conf is a FIFO" <<<"$OUT" && within 0.5'
drun 10 -f -c /dev/zero
check "mailcanaryd --config /dev/zero: refused at once" \
    eval '[ "$RC" = 1 ] && grep -qF "/dev/zero is a character device" <<<"$OUT" && within 0.5'
drun 10 -f -c "$X/dir.conf"
check "mailcanaryd --config DIRECTORY: refused as a directory" \
    eval '[ "$RC" = 1 ] && grep -qF "$X/dir.conf is a directory" <<<"$OUT"'
PRE=$HANG drun 10 -f -c "$X/hang.conf" --start-timeout 2
check "mailcanaryd: a config read that hangs ends start-up after --start-timeout, naming the step" \
    eval '[ "$RC" = 1 ] && grep -q "start-up did not finish within 2 seconds, stuck reading the configuration" <<<"$OUT" && within 3'

# A reload (SIGHUP) meets a FIFO where the configuration was: refused at
# once, and the daemon goes on (the next reload works).
R=$X/r; mkdir -m 700 "$R" "$R/state"
printf '[global]\nstate_dir = %s\nagentx_socket = %s/agentx.sock\nno_send = on\nmailbox = imap://127.0.0.1:%s\ninterval = 2\n\n[probe r]\n' \
    "$R/state" "$R" "$PORT" >"$R/good.conf"
cp "$R/good.conf" "$R/mc.conf"
: >"$R/daemon.log"
"$DAEMON" -f -c "$R/mc.conf" >"$R/daemon.log" 2>&1 &
RPID=$!
CLEANUP+=("stop_pid $RPID")
rlogged() { grep -qF -- "$1" "$R/daemon.log"; }
waitfor 15 rlogged "probe r: first cycle" || diag "mailcanaryd did not start: $(cat "$R/daemon.log")"
rm "$R/mc.conf"; mkfifo "$R/mc.conf"
kill -HUP "$RPID"
check "SIGHUP with a FIFO as config: refused within 2 s, naming it" \
    waitfor 2 eval 'grep -F "reload refused" "$R/daemon.log" | grep -qF "$R/mc.conf is a FIFO"'
rm "$R/mc.conf"; cp "$R/good.conf" "$R/mc.conf"; echo 'history = 20' >>"$R/mc.conf"
kill -HUP "$RPID"
check "... and the daemon goes on: the next SIGHUP reloads" \
    waitfor 5 rlogged "configuration reloaded: 1 probes, 1 changed"
stop_pid "$RPID"

# ---- mailcanaryd --user, as documented: a service account owning its
# state directory (0700) and its secrets (0600, or a credential in
# $CREDENTIALS_DIRECTORY as LoadCredential= provides), root starting it ----
U=mcfiles$$
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$U" ||
    { echo "Bail out! cannot create user $U"; exit 1; }
CLEANUP+=("userdel $U 2>/dev/null; groupdel $U 2>/dev/null")
D=$X/d; mkdir -m 711 "$D"
install -d -m 700 -o "$U" -g "$U" "$D/state" "$D/creds" "$SNMP_PERSISTENT_DIR"
printf 'mailbox-secret\n' >"$D/creds/mbox.pw"
chown "$U:$U" "$D/creds/mbox.pw"; chmod 600 "$D/creds/mbox.pw"
chmod 500 "$D/creds"
write_conf() {	# [two]: a second probe
	cat >"$D/mc.conf" <<EOT
[global]
state_dir = $D/state
agentx_socket = $D/agentx.sock
no_send = on
mailbox = imap://127.0.0.1:$PORT
interval = 2

[probe one]
mailbox_user = canary
mailbox_password_file = mbox.pw
EOT
	[ "${1:-}" = two ] && printf '\n[probe two]\n' >>"$D/mc.conf"
	return 0
}
write_conf
logged() { grep -qF -- "$1" "$D/daemon.log"; }
: >"$D/daemon.log"	# there before the checks look
CREDENTIALS_DIRECTORY=$D/creds "$DAEMON" -f -c "$D/mc.conf" --user "$U" \
    >"$D/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
check "--user with a secret from \$CREDENTIALS_DIRECTORY: starts and runs probe one" \
    waitfor 15 logged "probe one: first cycle"
check "probe one's state file is written by the service account" \
    eval '[ "$(stat -c %U "$D/state/one.json" 2>/dev/null)" = "$U" ]'
check "... which holds the process" eval '[ "$(ps -o euser= -p $DPID)" = "$U" ]'
check "no warning that a reload would be refused" eval '! logged "would be refused"'
write_conf two
kill -HUP "$DPID"
check "SIGHUP as the service account: reloaded (the secret reread from \$CREDENTIALS_DIRECTORY)" \
    waitfor 10 logged "configuration reloaded: 2 probes"
check "... and the new probe runs: two.json appears, owned by the service account" \
    waitfor 10 eval '[ "$(stat -c %U "$D/state/two.json" 2>/dev/null)" = "$U" ]'
# The secret becomes root's: the service account cannot read it.
chmod 700 "$D/creds"; chown root:root "$D/creds/mbox.pw"; chmod 500 "$D/creds"
write_conf
kill -HUP "$DPID"
check "a reload that cannot read the secret is refused, naming the file and why" \
    waitfor 10 eval 'grep -F "reload refused, keeping the running probes" "$D/daemon.log" | grep -F "$D/creds/mbox.pw" | grep -qF "Permission denied"'
T0=$(stat -c %Y "$D/state/two.json")
check "... and the old configuration keeps running (probe two still cycles)" \
    waitfor 10 eval '[ "$(stat -c %Y "$D/state/two.json")" -gt "$T0" ]'
check "the daemon is still alive" alive "$DPID"
stop_pid "$DPID"
# A secret only root can read: start-up says at once that a reload would fail.
: >"$D/daemon2.log"
CREDENTIALS_DIRECTORY=$D/creds "$DAEMON" -f -c "$D/mc.conf" --user "$U" \
    >"$D/daemon2.log" 2>&1 &
DPID2=$!
CLEANUP+=("stop_pid $DPID2")
check "a root-only secret under --user: warned at start-up, naming the file" \
    waitfor 10 eval 'grep -F "as $U, a reload (SIGHUP) would be refused" "$D/daemon2.log" | grep -qF "$D/creds/mbox.pw"'
stop_pid "$DPID2"
done_testing
