#!/bin/bash
# Distributed Icinga 2: a master and a satellite, two real Icinga 2
# instances on loopback, each with its own directories, API port and
# certificate (from icinga2 pki new-ca/new-cert/sign-csr in private
# directories). packaging/icinga2/mailcanary.conf, unmodified, sits in the
# master's global zone and reaches the satellite by config sync; the
# service is defined on the master with command_endpoint on the
# satellite, which runs the installed check_mailcanary against the
# loopback mail path. The result is read from the master's API.
. "$(dirname "$0")/../lib.sh"
require_servers
# is JQ [FILE]: jq prints exactly true (jq 1.6's -e passes an empty input).
is() { [ "$(jq "$@" 2>/dev/null)" = true ]; }
if ! command -v icinga2 >/dev/null || ! command -v curl >/dev/null; then
	[ "${MAILCANARY_REQUIRE_INTEGRATION:-0}" = 1 ] &&
	    { echo "Bail out! icinga2 or curl is not installed"; exit 1; }
	echo "1..0 # SKIP icinga2 or curl is not installed"; exit 0
fi
M_PORT=${ICINGA2_DIST_API_PORT:-16301}
S_PORT=$((M_PORT + 1))
CONF=$top_srcdir/packaging/icinga2/mailcanary.conf

W=$(mktemp -d /tmp/mailcanary-icinga2-dist.XXXXXX); CLEANUP+=("rm -rf $W")
make -s -C "$top_builddir" install DESTDIR="$W/root" >"$W/install.log" 2>&1 ||
    { echo "Bail out! make install DESTDIR failed: $(tail -5 "$W/install.log")"; exit 1; }
INSTALLED=$(find "$W/root" -name check_mailcanary -type f -perm -u+x | head -1)
[ -n "$INSTALLED" ] || { echo "Bail out! make install put no check_mailcanary in $W/root"; exit 1; }
PLUGINDIR=$(dirname "$INSTALLED")

# defs NAME: the -D options that put every path of instance NAME in $W/NAME.
defs() {
	local d=$W/$1
	echo "-D ConfigDir=$d/etc -D ZonesDir=$d/etc/zones.d -D DataDir=$d/data"
	echo "-D LogDir=$d/log -D CacheDir=$d/cache -D SpoolDir=$d/spool"
	echo "-D InitRunDir=$d/run -D RunAsUser=root -D RunAsGroup=root"
}
for n in master satellite; do
	mkdir -p "$W/$n/etc/zones.d" "$W/$n/data/certs" "$W/$n/log" "$W/$n/cache" \
	    "$W/$n/spool" "$W/$n/run"
done
# shellcheck disable=SC2046
MDEFS=($(defs master)); SDEFS=($(defs satellite))

# ---- certificates: the master's CA signs both ----
pki() {
	icinga2 pki new-ca "${MDEFS[@]}" &&
	for n in master satellite; do
		icinga2 pki new-cert --cn $n --key "$W/$n/data/certs/$n.key" \
		    --csr "$W/$n.csr" "${MDEFS[@]}" &&
		icinga2 pki sign-csr --csr "$W/$n.csr" \
		    --cert "$W/$n/data/certs/$n.crt" "${MDEFS[@]}" &&
		cp "$W/master/data/ca/ca.crt" "$W/$n/data/certs/ca.crt" || return 1
	done
}
pki >"$W/pki.log" 2>&1 || { echo "Bail out! icinga2 pki: $(tail -3 "$W/pki.log")"; exit 1; }
OUT=$(openssl verify -CAfile "$W/master/data/certs/ca.crt" \
    "$W/master/data/certs/master.crt" "$W/satellite/data/certs/satellite.crt" 2>&1)
check "pki: both certificates are signed by the private CA" \
    test "$(grep -c ': OK$' <<<"$OUT")" = 2
OUT=$(openssl x509 -noout -subject -in "$W/satellite/data/certs/satellite.crt")
check "pki: the satellite's certificate names it" has "CN = satellite"

start_mailpath "${ICINGA_DIST_MAIL_PORT:-16300}"
STATE=$W/satellite-state; mkdir -m 700 "$STATE"
APIPW=$(openssl rand -hex 12)

# zones NAME: the zone tree both instances share; the satellite knows
# where the master listens and connects to it.
zones() {
	cat <<EOF
const NodeName = "$1"
const ZoneName = "$1"
object Endpoint "master" {$( [ "$1" = satellite ] && echo " host = \"127.0.0.1\"; port = $M_PORT")}
object Endpoint "satellite" { }
object Zone "master" { endpoints = [ "master" ] }
object Zone "satellite" { endpoints = [ "satellite" ]; parent = "master" }
object Zone "global-templates" { global = true }
include <itl>
object FileLogger "main" { path = LogDir + "/icinga2.log"; severity = "information" }
object ApiUser "test" { password = "$APIPW"; permissions = [ "*" ] }
EOF
	# The master has no plugins: only the satellite can run the check.
	if [ "$1" = satellite ]; then
		echo "const PluginDir = \"$PLUGINDIR\""
	else
		echo "const PluginDir = \"$W/master/no-plugins\""
	fi
}
{
	zones master
	cat <<EOF
object CheckerComponent "checker" { }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = $M_PORT }
EOF
} >"$W/master/etc/icinga2.conf"
# The monitored objects live in the master's zone; the check runs on the
# satellite.
mkdir -p "$W/master/etc/zones.d/master"
cat >"$W/master/etc/zones.d/master/mailpath.conf" <<EOF
object Host "mailpath" { check_command = "dummy" }
object Service "canary" {
	host_name = "mailpath"
	check_command = "mailcanary"
	command_endpoint = "satellite"
	check_interval = 3s
	retry_interval = 2s
	max_check_attempts = 2
	vars.mailcanary_probe = "canary"
	vars.mailcanary_smtp = "$MP_SMTP"
	vars.mailcanary_from = "$MP_FROM"
	vars.mailcanary_to = "$MP_TO"
	vars.mailcanary_mailbox = "$MP_IMAP"
	vars.mailcanary_mailbox_user = "$MP_TO_USER"
	vars.mailcanary_mailbox_password_file = "$MP_ROOT/mbox.pw"
	vars.mailcanary_ca_file = "$MP_CA"
	vars.mailcanary_state_dir = "$STATE"
}
EOF
{
	zones satellite
	cat <<EOF
object ApiListener "api" {
	bind_host = "127.0.0.1"
	bind_port = $S_PORT
	accept_commands = true
	accept_config = true
}
EOF
} >"$W/satellite/etc/icinga2.conf"
mkdir -p "$W/master/etc/zones.d/global-templates"
cp "$CONF" "$W/master/etc/zones.d/global-templates/mailcanary.conf"

OUT=$(icinga2 daemon -C -c "$W/master/etc/icinga2.conf" "${MDEFS[@]}" 2>&1) && RC=0 || RC=$?
check "icinga2 daemon -C accepts the master (shipped file in its global zone)" rc_is 0
OUT=$(icinga2 daemon -C -c "$W/satellite/etc/icinga2.conf" "${SDEFS[@]}" 2>&1) && RC=0 || RC=$?
check "icinga2 daemon -C accepts the satellite" rc_is 0

# stop_icinga PID: TERM to the umbrella process, which stops its worker;
# its whole session after 20 s.
stop_icinga() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 1 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 -- -"$1" 2>/dev/null || true
}
setsid icinga2 daemon -c "$W/satellite/etc/icinga2.conf" "${SDEFS[@]}" \
    >"$W/satellite/log/daemon.out" 2>&1 &
SPID=$!; CLEANUP+=("stop_icinga $SPID")
setsid icinga2 daemon -c "$W/master/etc/icinga2.conf" "${MDEFS[@]}" \
    >"$W/master/log/daemon.out" 2>&1 &
MPID=$!; CLEANUP+=("stop_icinga $MPID")

# api NAME PORT PATH [CURL ARGS]: the instance's API, its certificate
# checked against its name.
api() {
	curl -sS --cacert "$W/master/data/certs/ca.crt" --resolve "$1:$2:127.0.0.1" \
	    -u "test:$APIPW" -H 'Accept: application/json' "https://$1:$2/v1/$3" "${@:4}"
}
m_api() { api master "$M_PORT" "$@"; }
s_api() { api satellite "$S_PORT" "$@"; }
# until SECONDS CMD...: retries the command every second.
until_ok() {
	local i n=$1; shift
	for i in $(seq 1 "$n"); do "$@" && return 0; sleep 1; done
	return 1
}
connected() {
	OUT=$(m_api 'objects/endpoints/satellite?attrs=connected' 2>&1)
	is '.results[0].attrs.connected == true' <<<"$OUT"
}
check "the satellite connects to the master within 60 s" until_ok 60 connected ||
    diag "$(tail -n 5 "$W/master/log/daemon.out" "$W/satellite/log/daemon.out")"
synced() {
	OUT=$(s_api 'objects/checkcommands/mailcanary?attrs=command&attrs=package' 2>&1)
	is '.results[0].attrs.package == "_cluster"' <<<"$OUT"
}
check "the CheckCommand reaches the satellite by config sync within 120 s" until_ok 120 synced
check "... with the satellite's PluginDir" \
    is ".results[0].attrs.command[0] == \"$INSTALLED\"" <<<"$OUT"
check "... byte for byte the shipped file" \
    cmp -s "$CONF" "$W/satellite/data/api/zones/global-templates/_etc/mailcanary.conf"

SVC='objects/services/mailpath!canary?attrs=last_check_result&attrs=state&attrs=state_type'
delivered() {
	OUT=$(m_api "$SVC" 2>&1 | jq -c '.results[0].attrs | {state, state_type,
	    source: .last_check_result.check_source, output: .last_check_result.output,
	    perfdata: .last_check_result.performance_data,
	    command: .last_check_result.command}')
	is '.state == 0 and (.output | test("^MAILCANARY OK - canary #[0-9]+ delivered in"))' <<<"$OUT"
}
check "master: OK with a delivered canary within 120 s" until_ok 120 delivered
check "master: the result came from the satellite (check_source)" \
    is '.source == "satellite"' <<<"$OUT"
check "master: with the plugin's perfdata" \
    is '.perfdata | map(split("=")[0]) | index("latency") and index("inflight") and index("hidden")' <<<"$OUT"
check "master: the installed plugin ran" is ".command[0] == \"$INSTALLED\"" <<<"$OUT"
check "the satellite's run wrote the state file" test -s "$STATE/canary.json"

# The master never runs the check itself: with its satellite gone no
# result comes, or (once the master has been up 5 minutes) UNKNOWN "not
# connected"; the state is not touched.
stop_icinga "$SPID"
disconnected() {
	OUT=$(m_api 'objects/endpoints/satellite?attrs=connected' 2>&1)
	is '.results[0].attrs.connected == false' <<<"$OUT"
}
check "satellite stopped: the master sees it disconnected" until_ok 30 disconnected
t0=$(date +%s)
sum=$(md5sum <"$STATE/canary.json")
m_api actions/reschedule-check -X POST \
    -d '{"type":"Service","filter":"service.name == \"canary\"","force":true}' >/dev/null
sleep 8
OUT=$(m_api "$SVC" 2>&1 | jq -c '.results[0].attrs.last_check_result | {execution_start, state, output}')
check "satellite stopped: no result since but UNKNOWN \"not connected\" (a forced check included)" \
    is ".execution_start < $t0 or (.state == 3 and (.output | test(\"^Remote Icinga instance .satellite. is not connected\")))" <<<"$OUT"
check "satellite stopped: the state file is untouched" test "$(md5sum <"$STATE/canary.json")" = "$sum"

done_testing
