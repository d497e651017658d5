#!/bin/bash
# Nagios 4 and packaging/nagios/mailcanary.cfg: the shipped commands and
# service template, unmodified, pass the real nagios4 -v in a private
# nagios.cfg; then that Nagios runs for real (every path in one temporary
# directory) and schedules the installed check_mailcanary against the
# loopback mail path: the command given on the command line (its password
# file found through a $USER3$ resource macro) and the read-only command
# for mailcanaryd's probes, results read from Nagios' status file.
. "$(dirname "$0")/../lib.sh"
require_servers
if ! command -v nagios4 >/dev/null; then
	[ "${MAILCANARY_REQUIRE_INTEGRATION:-0}" = 1 ] &&
	    { echo "Bail out! nagios4 is not installed"; exit 1; }
	echo "1..0 # SKIP nagios4 is not installed"; exit 0
fi
# is JQ [FILE]: jq prints exactly true (jq 1.6's -e passes an empty input).
is() { [ "$(jq "$@" 2>/dev/null)" = true ]; }
CFG=$top_srcdir/packaging/nagios/mailcanary.cfg

N=$(mktemp -d /tmp/mailcanary-nagios.XXXXXX); CLEANUP+=("rm -rf $N")
make -s -C "$top_builddir" install DESTDIR="$N/root" >"$N/install.log" 2>&1 ||
    { echo "Bail out! make install DESTDIR failed: $(tail -5 "$N/install.log")"; exit 1; }
INSTALLED=$(find "$N/root" -name check_mailcanary -type f -perm -u+x | head -1)
[ -n "$INSTALLED" ] || { echo "Bail out! make install put no check_mailcanary in $N/root"; exit 1; }

start_mailpath "${NAGIOS_TEST_PORT:-16400}"
mkdir -p "$N/spool" "$N/rw" "$N/secrets" "$N/state" "$N/log"
chmod 700 "$N/secrets" "$N/state"
# The password file the $USER3$ macro leads to; and mailcanaryd's
# configuration for the read-only command, with the probe the other
# service sends.
cp "$MP_ROOT/mbox.pw" "$N/secrets/loopback.mailbox.pw"
cat >"$N/mailcanary.conf" <<EOF
[global]
state_dir = $N/state
[probe loopback]
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = $N/secrets/loopback.mailbox.pw
ca_file = $MP_CA
EOF
cat >"$N/resource.cfg" <<EOF
\$USER1\$=$(dirname "$INSTALLED")
\$USER3\$=$N/secrets
\$USER4\$=$N/mailcanary.conf
EOF
chmod 600 "$N/resource.cfg"
# What a site has beside the shipped file: a time period, a contact, the
# generic templates, a host; and the services.
cat >"$N/objects.cfg" <<EOF
define timeperiod {
	timeperiod_name	24x7
	alias		always
	sunday		00:00-24:00
	monday		00:00-24:00
	tuesday		00:00-24:00
	wednesday	00:00-24:00
	thursday	00:00-24:00
	friday		00:00-24:00
	saturday	00:00-24:00
}
define command {
	command_name	notify-nobody
	command_line	/bin/true
}
define contact {
	contact_name			nobody
	host_notifications_enabled	0
	service_notifications_enabled	0
	host_notification_period	24x7
	service_notification_period	24x7
	host_notification_options	n
	service_notification_options	n
	host_notification_commands	notify-nobody
	service_notification_commands	notify-nobody
}
define host {
	host_name		mailpath
	address			127.0.0.1
	max_check_attempts	1
	check_period		24x7
	contacts		nobody
	notification_period	24x7
	active_checks_enabled	0
}
define service {
	name			generic-service
	register		0
	check_period		24x7
	contacts		nobody
	notification_period	24x7
	notifications_enabled	0
}
define service {
	use			mailcanary-service,generic-service
	host_name		mailpath
	service_description	mailcanary loopback
	check_command		check_mailcanary!loopback!$MP_SMTP!$MP_FROM!$MP_TO!$MP_IMAP!$MP_TO_USER!--ca-file $MP_CA --state-dir $N/state
}
define service {
	use			mailcanary-service,generic-service
	host_name		mailpath
	service_description	mailcanaryd loopback
	check_command		check_mailcanaryd!loopback
}
define service {
	use			mailcanary-service,generic-service
	host_name		mailpath
	service_description	mailcanary config
	check_command		check_mailcanary_config!loopback!--no-send --output nagios
}
EOF
# interval_length=1: the template's check_interval 5 is 5 seconds here.
cat >"$N/nagios.cfg" <<EOF
log_file=$N/log/nagios.log
cfg_file=$CFG
cfg_file=$N/objects.cfg
object_cache_file=$N/objects.cache
precached_object_file=$N/objects.precache
resource_file=$N/resource.cfg
status_file=$N/status.dat
status_update_interval=1
nagios_user=root
nagios_group=root
check_external_commands=1
command_file=$N/rw/nagios.cmd
query_socket=$N/rw/nagios.qh
debug_file=$N/log/nagios.debug
log_archive_path=$N/log
state_retention_file=$N/retention.dat
lock_file=$N/nagios.pid
temp_file=$N/nagios.tmp
temp_path=$N
check_result_path=$N/spool
use_syslog=0
retain_state_information=0
interval_length=1
max_service_check_spread=1
check_result_reaper_frequency=1
service_check_timeout=60
enable_notifications=0
enable_flap_detection=0
process_performance_data=0
check_for_updates=0
illegal_macro_output_chars=\`~\$&|'"<>
EOF

OUT=$(nagios4 -v "$N/nagios.cfg" 2>&1) && RC=0 || RC=$?
check "nagios4 -v: the shipped file passes" \
    bash -c '[ "$0" = 0 ] && grep -q "Total Errors: *0" <<<"$1"' "$RC" "$OUT"
check "nagios4 -v: no warnings either" grep -q "Total Warnings: *0" <<<"$OUT"
check "nagios4 -v: the 3 services on the shipped commands and template checked" \
    bash -c 'grep -q "Checked 3 services" <<<"$0" && grep -q "Read object config files okay" <<<"$0"' "$OUT"
OUT=$(grep '^[[:space:]]*command_line' "$CFG" | grep -Eio -- '-[a-z-]*pass[a-z-]*' | sort -u)
check "no command line carries a password, only password files" \
    test "$OUT" = "--mailbox-password-file"
OUT=$(grep '^[[:space:]]*command_line' "$CFG" | grep -o -- '--timeout [0-9]*' | sort | uniq -c)
check "every command bounds the plugin (--timeout 30) below service_check_timeout (60)" \
    test "$(echo $OUT)" = "3 --timeout 30"

# ---- the real Nagios ----
nagios4 "$N/nagios.cfg" >"$N/log/daemon.out" 2>&1 &
NPID=$!
CLEANUP+=("stop_pid $NPID")
# status SERVICE: that service's block of status.dat, as key=value lines.
status() {
	awk -v s="$1" '/^servicestatus \{/ { b = ""; on = 1; next }
	    on && /^\t}/ { if (b ~ "\nservice_description=" s "\n") print b; on = 0; next }
	    on { sub(/^\t/, ""); b = b "\n" $0 }' "$N/status.dat" 2>/dev/null
}
field() { sed -n "s/^$1=//p" <<<"$2" | head -1; }
# wait_status SERVICE REGEX SECONDS: until plugin_output matches.
wait_status() {
	local i
	for i in $(seq 1 "$3"); do
		OUT=$(status "$1")
		[ "$(field has_been_checked "$OUT")" = 1 ] &&
		    grep -Eq "^plugin_output=$2" <<<"$OUT" && return 0
		sleep 1
	done
	return 1
}
check "Nagios runs" bash -c "sleep 2; kill -0 $NPID"
check "check_mailcanary: a result within 90 s, OK" \
    wait_status "mailcanary loopback" "MAILCANARY OK" 90
check "check_mailcanary: perfdata" grep -q '^performance_data=.*inflight=[0-9]' <<<"$OUT"
check "check_mailcanary: a canary found again (the \$USER3\$ password file opened the mailbox)" \
    wait_status "mailcanary loopback" "MAILCANARY OK - canary #[0-9]+ delivered in" 90
check "check_mailcanary: the state OK (0), from an active check" \
    bash -c '[ "$(sed -n "s/^current_state=//p" <<<"$0")" = 0 ] && [ "$(sed -n "s/^check_type=//p" <<<"$0")" = 0 ]' "$OUT"
check "check_mailcanaryd: OK, reporting the canaries the other service sends" \
    wait_status "mailcanaryd loopback" "MAILCANARY OK - canary #[0-9]+ delivered" 60
check "check_mailcanary_config: OK too" \
    wait_status "mailcanary config" "MAILCANARY OK" 60
check "the state file holds the canaries of both" \
    is '.counters.sent >= 1 and .counters.delivered >= 1' "$N/state/loopback.json"
OUT=$(grep -E 'SERVICE ALERT: [^;]*;[^;]*;(WARNING|CRITICAL|UNKNOWN);' "$N/log/nagios.log")
check "Nagios logged no problem alert (every result OK from the start)" test -z "$OUT"

done_testing
