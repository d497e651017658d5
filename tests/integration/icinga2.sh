#!/bin/bash
# A real Icinga 2 runs check_mailcanary: packaging/icinga2/mailcanary.conf,
# included unmodified, in a private Icinga 2 instance (every path in one
# temporary directory, its REST API on 127.0.0.1) that schedules the
# plugin installed with make install DESTDIR every few seconds against
# the loopback mail path. Read through the API: OK with perfdata on the
# healthy route, a hard CRITICAL "hidden" once the relay swallows mail,
# and OK again only after a canary sent after the heal is delivered.
# Also: every option of --help is an argument of the CheckCommand, no
# password is ever an argument, the apply rules make their services and
# the mailcanaryd read-only service runs with --no-send.
. "$(dirname "$0")/../lib.sh"
require_servers
# is JQ [FILE]: jq prints exactly true (jq 1.6's -e passes an empty input).
is() { [ "$(jq "$@" 2>/dev/null)" = true ]; }
if ! command -v icinga2 >/dev/null || ! command -v curl >/dev/null; then
	[ "${MAILCANARY_REQUIRE_INTEGRATION:-0}" = 1 ] &&
	    { echo "Bail out! icinga2 or curl is not installed"; exit 1; }
	echo "1..0 # SKIP icinga2 or curl is not installed"; exit 0
fi
API_PORT=${ICINGA2_API_PORT:-16300}
CONF=$top_srcdir/packaging/icinga2/mailcanary.conf
LOST=12

W=$(mktemp -d /tmp/mailcanary-icinga2.XXXXXX); CLEANUP+=("rm -rf $W")
make -s -C "$top_builddir" install DESTDIR="$W/root" >"$W/install.log" 2>&1 ||
    { echo "Bail out! make install DESTDIR failed: $(tail -5 "$W/install.log")"; exit 1; }
INSTALLED=$(find "$W/root" -name check_mailcanary -type f -perm -u+x | head -1)
[ -n "$INSTALLED" ] || { echo "Bail out! make install put no check_mailcanary in $W/root"; exit 1; }
PLUGINDIR=$(dirname "$INSTALLED")

# The private instance: -D moves every path Icinga 2 writes into $W/i.
I=$W/i
mkdir -p "$I/etc" "$I/data/certs" "$I/log" "$I/cache" "$I/spool" "$I/run"
DEFS=(-D "ConfigDir=$I/etc" -D "ZonesDir=$I/etc/zones.d" -D "DataDir=$I/data" -D "LogDir=$I/log"
    -D "CacheDir=$I/cache" -D "SpoolDir=$I/spool" -D "InitRunDir=$I/run"
    -D "RunAsUser=root" -D "RunAsGroup=root")
icinga() { icinga2 "$1" "${@:2}" "${DEFS[@]}"; }
has_all() { local s; for s; do has "$s" || return 1; done; }

# ---- the CheckCommand has every option of --help, no password argument ----
# (parsed by Icinga 2 itself: icinga2 object list after a config check)
cat >"$I/etc/syntax.conf" <<EOF
const PluginDir = "$PLUGINDIR"
include <itl>
include "$CONF"
EOF
OUT=$(icinga2 daemon -C -c "$I/etc/syntax.conf" "${DEFS[@]}" 2>&1) && RC=0 || RC=$?
check "icinga2 daemon -C accepts the shipped file" rc_is 0
icinga2 object list --type CheckCommand --name mailcanary "${DEFS[@]}" \
    >"$I/command.txt" 2>&1
# "--option $mailcanary_var$" for each argument
awk '/^    \* --/ { o = $2 } /^      \* (value|set_if) = / { print o, $4 }' \
    "$I/command.txt" | tr -d '"' >"$I/arguments"
"$INSTALLED" --help | sed -n 's/^ *\(-[a-zA-Z], \)\{0,1\}--\([a-z][a-z0-9-]*\).*/\2/p' \
    >"$I/help-options"
missing=()
while read -r o; do
	grep -qx -- "--$o \$mailcanary_${o//-/_}\\$" "$I/arguments" || missing+=("--$o")
done <"$I/help-options"
OUT="missing or misnamed: ${missing[*]:-}"
check "every option of --help ($(wc -l <"$I/help-options")) is an argument with its mailcanary_* variable" \
    test "$(wc -l <"$I/help-options")" -ge 30 -a ${#missing[@]} = 0
OUT=$(grep -i 'password\$' "$I/arguments")
check "no argument takes a password" test -z "$OUT"
OUT=$(grep -c 'MAILCANARY_\(SMTP\|MAILBOX\|BOUNCE\)_PASSWORD = "\$mailcanary_\(smtp\|mailbox\|bounce\)_password\$"' "$I/command.txt")
check "the three passwords go through env" test "$OUT" = 3
check "the command is PluginDir/check_mailcanary" \
    grep -qF "* command = [ \"$PLUGINDIR/check_mailcanary\" ]" "$I/command.txt"

# ---- the mail path and the instance ----
start_mailpath "${ICINGA_TEST_PORT:-16200}"
DELAY=$MP_GREYLIST_DELAY
STATE=$W/state; mkdir -m 700 "$STATE"
APIPW=$(openssl rand -hex 12)
icinga pki new-ca >"$I/pki.log" 2>&1 &&
    icinga pki new-cert --cn mc-icinga --key "$I/data/certs/mc-icinga.key" \
    --csr "$I/mc.csr" >>"$I/pki.log" 2>&1 &&
    icinga pki sign-csr --csr "$I/mc.csr" --cert "$I/data/certs/mc-icinga.crt" \
    >>"$I/pki.log" 2>&1 &&
    cp "$I/data/ca/ca.crt" "$I/data/certs/ca.crt" ||
    { echo "Bail out! icinga2 pki: $(tail -3 "$I/pki.log")"; exit 1; }
# The read-only service's mailcanaryd configuration: the same probe and
# state directory as the service that sends.
cat >"$W/mailcanary.conf" <<EOF
[global]
state_dir = $STATE
lost_after = $LOST
[probe canary]
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = $MP_ROOT/mbox.pw
ca_file = $MP_CA
EOF
cat >"$I/etc/icinga2.conf" <<EOF
const PluginDir = "$PLUGINDIR"
const NodeName = "mc-icinga"
const ZoneName = NodeName
object Endpoint NodeName { }
object Zone ZoneName { endpoints = [ NodeName ] }
include <itl>
include "$CONF"
object FileLogger "main" { path = LogDir + "/icinga2.log"; severity = "information" }
object CheckerComponent "checker" { }
object ApiListener "api" { bind_host = "127.0.0.1"; bind_port = $API_PORT }
object ApiUser "test" { password = "$APIPW"; permissions = [ "*" ] }

object Host "mailpath" {
	check_command = "dummy"
	/* the shipped apply rules: one sending probe, one read-only */
	vars.mailcanary_probes["loopback"] = {
		mailcanary_smtp = "$MP_SMTP"
		mailcanary_from = "$MP_FROM"
		mailcanary_to = "$MP_TO"
		mailcanary_mailbox = "$MP_IMAP"
		mailcanary_mailbox_user = "$MP_TO_USER"
		mailcanary_mailbox_password_file = "$MP_ROOT/mbox.pw"
		mailcanary_ca_file = "$MP_CA"
		mailcanary_state_dir = "$STATE"
	}
	vars.mailcanaryd_probes = [ "canary" ]
	vars.mailcanaryd_config = "$W/mailcanary.conf"
}

/* The probe under test, scheduled every few seconds. */
object Service "canary" {
	host_name = "mailpath"
	check_command = "mailcanary"
	check_interval = 3s
	retry_interval = 2s
	max_check_attempts = 2
	vars.mailcanary_probe = "canary"
	vars.mailcanary_smtp = "$MP_SMTP"
	vars.mailcanary_from = "$MP_FROM"
	vars.mailcanary_to = "$MP_TO"
	vars.mailcanary_mailbox = "$MP_IMAP"
	vars.mailcanary_mailbox_user = "$MP_TO_USER"
	vars.mailcanary_mailbox_password = "$MP_TO_PASSWORD"
	vars.mailcanary_ca_file = "$MP_CA"
	vars.mailcanary_state_dir = "$STATE"
	vars.mailcanary_lost_after = $LOST
}
EOF
OUT=$(icinga2 daemon -C -c "$I/etc/icinga2.conf" "${DEFS[@]}" 2>&1) && RC=0 || RC=$?
check "icinga2 daemon -C accepts the instance's configuration" rc_is 0
OUT=$(icinga2 object list --type Service "${DEFS[@]}" 2>&1 | grep "^Object '")
check "the apply rules made mailcanary-loopback and mailcanaryd-canary" \
    has_all "'mailpath!mailcanary-loopback'" "'mailpath!mailcanaryd-canary'"

setsid icinga2 daemon -c "$I/etc/icinga2.conf" "${DEFS[@]}" >"$I/log/daemon.out" 2>&1 &
IPID=$!
CLEANUP+=("stop_icinga $IPID")
# stop_icinga PID: TERM to the umbrella process, which stops its worker;
# its whole session after 20 s.
stop_icinga() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 1 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 -- -"$1" 2>/dev/null || true
}
# The API's certificate names the node: curl checks it against that name.
URL=https://mc-icinga:$API_PORT/v1
TLS=(--cacert "$I/data/certs/ca.crt" --resolve "mc-icinga:$API_PORT:127.0.0.1")
api() { curl -sS "${TLS[@]}" -u "test:$APIPW" -H 'Accept: application/json' "$@"; }
for i in $(seq 1 100); do
	api "$URL/status/IcingaApplication" >/dev/null 2>&1 && break
	kill -0 $IPID 2>/dev/null || break
	sleep 0.2
done
OUT=$(api "$URL/status/IcingaApplication" 2>&1) && RC=0 || RC=$?
check "Icinga 2 runs; its API answers over TLS with the ApiUser's password" \
    is '.results[0].status.icingaapplication.app.node_name == "mc-icinga"' <<<"$OUT"
[ "$RC" = 0 ] || { diag "$(tail -20 "$I/log/daemon.out")"; exit 1; }
OUT=$(curl -sS "${TLS[@]}" -u "test:wrong" -H 'Accept: application/json' "$URL/status" 2>&1)
check "... and refuses a wrong password" is '.error == 401' <<<"$OUT"

# The applied services run when the test says (forced checks run anyway),
# not on their own schedule while the relay is being switched.
for s in mailcanary-loopback mailcanaryd-canary; do
	api -X POST -d '{"attrs":{"enable_active_checks":false}}' \
	    "$URL/objects/services/mailpath!$s" >/dev/null
done

# Every check result and state change of the service, as they happen.
api -N -X POST "$URL/events?queue=mc$$&types=CheckResult&types=StateChange&filter=event.service==%22canary%22" \
    >"$W/events" 2>"$W/events.err" &
CLEANUP+=("kill $! 2>/dev/null")

SVC="$URL/objects/services/mailpath!canary"
# svc: the service's state, as one JSON object; appended to the history.
svc() {
	api -G "$SVC" --data-urlencode 'attrs=state' --data-urlencode 'attrs=state_type' \
	    --data-urlencode 'attrs=last_check_result' --data-urlencode 'attrs=last_hard_state_change' \
	    | jq -c '.results[0].attrs | {state, state_type, last_hard_state_change,
	    start: .last_check_result.execution_start, output: .last_check_result.output,
	    perfdata: .last_check_result.performance_data, command: .last_check_result.command}' \
	    | tee -a "$W/history"
}
# wait_svc JQ SECONDS: polls the service until the expression holds.
wait_svc() {
	local i
	for i in $(seq 1 "$2"); do
		OUT=$(svc) && is "$1" <<<"$OUT" && return 0
		sleep 1
	done
	return 1
}
# active on|off: the scheduler stops (and waits for a running check) or
# starts checking, so that a relay restarting is never a check result.
active() {
	api -X POST -d "{\"attrs\":{\"enable_active_checks\":$1}}" "$SVC" >/dev/null
	[ "$1" = true ] || sleep 2
}
first_line='(.output | split("\n")[0])'

# ---- healthy: OK, a canary delivered, with perfdata ----
check "healthy: OK with a delivered canary within 90 s" \
    wait_svc ".state == 0 and ($first_line | test(\"^MAILCANARY OK - canary #[0-9]+ delivered in\"))" 90
check "healthy: a hard state" is '.state_type == 1' <<<"$OUT"
check "healthy: perfdata with latency, inflight and hidden" \
    is '(.perfdata | map(split("=")[0])) as $l | ($l | index("latency")) and ($l | index("inflight")) and ($l | index("hidden"))' <<<"$OUT"
check "healthy: the latency is the greylist's (>= $((DELAY - 1)) s)" \
    is ".perfdata[] | select(startswith(\"latency=\")) | ltrimstr(\"latency=\") | split(\"s\")[0] | tonumber >= $((DELAY - 1))" <<<"$OUT"
check "healthy: the installed plugin ran, with the custom variables as arguments" \
    is ".command[0] == \"$INSTALLED\" and (.command | index(\"--probe\")) and (.command | index(\"--lost-after\"))" <<<"$OUT"
check "the password (through env) is not in the command line" \
    is "(.command | join(\" \") | contains(\"$MP_TO_PASSWORD\")) | not" <<<"$OUT"

# ---- blackhole: the relay swallows mail -> hard CRITICAL, hidden ----
active false
check "mode blackhole: relay restarted" "$MAILPATH" mode "$MP_ROOT" blackhole
active true
B=$(date +%s)
check "blackhole: a hard CRITICAL within $((LOST + 60)) s" \
    wait_svc '.state == 2 and .state_type == 1' $((LOST + 60))
check "blackhole: the output says hidden" \
    is '.output | test("^MAILCANARY CRITICAL - [0-9]+ canar(y|ies) hidden: #")' <<<"$OUT"
check "blackhole: perfdata hidden > 0" \
    is '.perfdata[] | select(startswith("hidden=")) | ltrimstr("hidden=") | rtrimstr("c") | tonumber > 0' <<<"$OUT"
hseq=$(jq -r "$first_line | capture(\"hidden: #(?<n>[0-9]+) sent\").n" <<<"$OUT")
check "blackhole: the hard state came --lost-after ($LOST s) after canary #$hseq was sent" \
    is "(.canaries[] | select(.seq == ${hseq:-0}) | .sent_at) + $LOST <= $(jq .last_hard_state_change <<<"$OUT")" "$STATE/canary.json"
check "blackhole: no check result on the way was anything but OK or CRITICAL hidden" \
    bash -c "jq -s -e --argjson b $B '[.[] | select(.type == \"CheckResult\" and .check_result.execution_start > \$b) | .check_result | select(.state != 0 and ((.output | test(\"canar(y|ies) hidden\")) | not))] | length == 0' '$W/events' >/dev/null"

# ---- healed: still CRITICAL until a later canary is delivered, then OK ----
active false
check "mode healthy: relay restarted" "$MAILPATH" mode "$MP_ROOT" healthy
active true
H=$(date +%s.%N)
check "healed: OK again within 90 s" wait_svc '.state == 0 and .state_type == 1' 90
seq=$(jq -r "$first_line | capture(\"canary #(?<n>[0-9]+) delivered\").n" <<<"$OUT")
check "healed: OK names the canary delivered (#$seq)" test -n "$seq"
check "healed: that canary was sent after the heal" \
    is "(.canaries[] | select(.seq == ${seq:-0}) | .sent_at) > $H" "$STATE/canary.json"
# The event stream may lag the objects a little: wait for the OK there.
for i in $(seq 1 20); do
	EV=$(jq -s -c --argjson h "$H" '[.[] | select(.check_result.execution_start > $h)]' "$W/events")
	is 'any(.[]; .type == "StateChange" and .state == 0)' <<<"$EV" && break
	sleep 0.5
done
check "healed: check results after the heal were CRITICAL hidden first (the rule)" \
    is '[.[] | select(.type == "CheckResult")][0].check_result | .state == 2 and (.output | test("hidden"))' <<<"$EV"
check "healed: the OK state change came at least the greylist delay after the heal" \
    is "[.[] | select(.type == \"StateChange\" and .state == 0)][0] | .state_type == 1 and .check_result.execution_start >= $H + $DELAY - 1" <<<"$EV"
diag "history after the heal (time, state, output):" \
    "$(jq -r --argjson h "$H" 'select(.type == "CheckResult") | .check_result | select(.execution_start > $h) | "\(.execution_start | floor - ($h | floor))s \(.state) \(.output | split("\n")[0])"' "$W/events" | head -12)"

# ---- the apply rules' services, run now ----
# resched NAME: a forced check now; result NAME: waits up to 60 s for
# its result.
resched() {
	T0=$(date +%s.%N)
	api -X POST -d "{\"type\":\"Service\",\"filter\":\"service.name == \\\"$1\\\"\",\"force\":true}" \
	    "$URL/actions/reschedule-check" >/dev/null
}
result() {
	local i
	for i in $(seq 1 60); do
		OUT=$(api "$URL/objects/services/mailpath!$1?attrs=last_check_result" |
		    jq -c '.results[0].attrs.last_check_result | {start: .execution_start, state, output, command}')
		is ".start > $T0" <<<"$OUT" && return 0
		sleep 1
	done
	return 1
}
resched mailcanaryd-canary
check "mailcanaryd-canary: a result of the forced check" result mailcanaryd-canary
check "mailcanaryd-canary: runs --no-send with the daemon's configuration" \
    is "(.command | index(\"--no-send\")) and (.command | index(\"--config\")) and (.command | index(\"$W/mailcanary.conf\")) and (.command | index(\"--smtp\") | not)" <<<"$OUT"
check "mailcanaryd-canary: OK, reporting the canaries the other service sent" \
    is '.state == 0 and (.output | test("^MAILCANARY OK - canary #[0-9]+ delivered"))' <<<"$OUT"
resched mailcanary-loopback
check "mailcanary-loopback: a result of the forced check" result mailcanary-loopback
check "mailcanary-loopback: OK, it sent its first canary" \
    is '.state == 0 and (.output | test("in flight"))' <<<"$OUT"
check "mailcanary-loopback: the probe is the dictionary's key" \
    is '.command | index("--probe") as $i | .[$i + 1] == "loopback"' <<<"$OUT"

done_testing
