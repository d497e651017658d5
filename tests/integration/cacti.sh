#!/bin/bash
# Debian's Cacti 1.2 graphs mailcanaryd: a private MariaDB and a private
# copy of Cacti import packaging/cacti's package with Cacti's own CLI, add
# a device for snmpd with mailcanaryd behind it, create the graphs of the
# probe table, poll, and the RRD files hold what snmpget returns; a graph
# comes back from graph_image.php (PHP's built-in web server). The mail
# path files every canary into Junk (its junk mode) and writes no
# Authentication-Results there, so healthy's junk and auth_not_passed
# counters grow too.
# Ports: CACTI_TEST_PORT (mail path) and +150 snmpd, +160 MariaDB, +170 web.
# CACTI_SCREENSHOT=FILE: also a headless Chromium screenshot of the graph
# page (scripts/cacti-screenshot), after CACTI_POLLS minutes of 30 s polls.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in snmpd snmpget mariadbd mariadb-install-db php rrdtool; do
	command -v $c >/dev/null || { echo "Bail out! $c missing (scripts/deps)"; exit 1; }
done
[ -f /usr/share/cacti/conf_templates/cacti.sql ] ||
    { echo "Bail out! Debian's cacti is not installed (scripts/deps)"; exit 1; }
php -m | grep -qx snmp || { echo "Bail out! php-snmp missing (scripts/deps)"; exit 1; }
BASE=${CACTI_TEST_PORT:-17300}
SNMP_PORT=$((BASE + 150)); DB_PORT=$((BASE + 160)); WEB_PORT=$((BASE + 170))
SHOT=${CACTI_SCREENSHOT:-}
if [ -n "$SHOT" ]; then
	command -v chromium >/dev/null || { echo "Bail out! chromium missing"; exit 1; }
	case $SHOT in /*) ;; *) SHOT=$PWD/$SHOT ;; esac
fi
PKG=$top_srcdir/packaging/cacti/mailcanary-package.xml.gz
for p in udp:$SNMP_PORT tcp:$DB_PORT tcp:$WEB_PORT; do
	if ss -Hln${p:0:1} "sport = :${p#*:}" 2>/dev/null | grep -q .; then
		echo "Bail out! $p on 127.0.0.1 is already in use"; exit 1
	fi
done
# The mail path as start_mailpath (tests/lib.sh) makes it, but started in
# junk mode: switching a running one restarts Dovecot, which can race.
MP_ROOT=$(mktemp -d /tmp/mailcanary-mp.XXXXXX)
CLEANUP+=("$MAILPATH stop $MP_ROOT; rm -rf $MP_ROOT $MP_ROOT.log")
MAILPATH_PORT=$BASE MAILPATH_JUNK_FOLDER=Junk "$MAILPATH" start "$MP_ROOT" junk >"$MP_ROOT.log" 2>&1 ||
    { echo "Bail out! mail path did not start in junk mode: $(tail -3 "$MP_ROOT.log")"; exit 1; }
# shellcheck disable=SC1091
. "$MP_ROOT/env"
printf '%s\n' "$MP_TO_PASSWORD" >"$MP_ROOT/mbox.pw"
chmod 600 "$MP_ROOT/mbox.pw"
X=$(mktemp -d /tmp/mailcanary-cacti.XXXXXX); CLEANUP+=("rm -rf $X")
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist" "$X/state"

# snmpd with mailcanaryd: one route that delivers (into Junk, results
# missing), one that swallows.
start_agentx_snmpd "$X" "$SNMP_PORT"
cat >"$X/mc.conf" <<EOT
[global]
state_dir = $X/state
$(mailpath_global "$X")
interval = 3

[probe healthy]
to = $MP_TO
snmp_index = 7
junk_folders = Junk
authserv_id = mx.greylist.test

[probe void]
to = canary@void.test
snmp_index = 2
lost_after = 12
EOT
"$top_builddir/snmp-agent/mailcanaryd" -f -c "$X/mc.conf" >"$X/daemon.log" 2>&1 &
CLEANUP+=("stop_pid $!")
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }

# MariaDB: its own data directory, socket, port and pid file.
mariadb-install-db --no-defaults --datadir="$X/db" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$X/db-install.log" 2>&1 ||
    { echo "Bail out! mariadb-install-db: $(tail -3 "$X/db-install.log")"; exit 1; }
mariadbd --no-defaults --datadir="$X/db" --socket="$X/db.sock" \
    --port=$DB_PORT --bind-address=127.0.0.1 --pid-file="$X/db.pid" \
    --user=root --skip-log-bin --innodb-buffer-pool-size=32M \
    --log-error="$X/db.err" >"$X/db.out" 2>&1 &
CLEANUP+=("stop_pid $!")
SQL() { mariadb --no-defaults -S "$X/db.sock" -uroot -N -B cacti "$@"; }
for i in $(seq 1 100); do [ -S "$X/db.sock" ] && break; sleep 0.1; done
mariadb --no-defaults -S "$X/db.sock" -uroot -e "
	CREATE DATABASE cacti CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
	CREATE USER cacti@'127.0.0.1' IDENTIFIED BY 'cacti';
	GRANT ALL ON cacti.* TO cacti@'127.0.0.1';
	GRANT SELECT ON mysql.time_zone_name TO cacti@'127.0.0.1';" &&
    SQL </usr/share/cacti/conf_templates/cacti.sql ||
    { echo "Bail out! MariaDB did not start or take Cacti's schema: $(tail -3 "$X/db.err")"; exit 1; }

# Cacti: a private copy, so that include/config.php (a link to
# /etc/cacti/debian.php) and the rra, log and cache links are our own.
C=$X/cacti; S=$C/site
cp -a /usr/share/cacti "$C"
# Debian's links out of the tree (jQuery, fonts, ...) are relative: made
# absolute, they work from the copy; links inside it (resource) stay ours.
while IFS= read -r l; do
	r=$(readlink -f "/usr/share/cacti/${l#"$C"/}")
	case $r in /usr/share/cacti/*|"") ;; *) [ -e "$r" ] && ln -sfn "$r" "$l" ;; esac
done < <(find "$C" -type l)
rm -f "$S/include/config.php" "$S/rra" "$S/log" "$S/cache"
mkdir -p "$S/rra" "$S/log" "$S/cache" "$X/csrf"
cp -a /var/lib/cacti/cache/. "$S/cache/" 2>/dev/null || true
cat >"$S/include/config.php" <<EOT
<?php
\$database_type = 'mysql';
\$database_default = 'cacti';
\$database_hostname = '127.0.0.1';
\$database_username = 'cacti';
\$database_password = 'cacti';
\$database_port = '$DB_PORT';
\$database_retries = 2;
\$database_ssl = false;
\$database_ssl_key = '';
\$database_ssl_cert = '';
\$database_ssl_ca = '';
\$database_persist = false;
\$poller_id = 1;
\$url_path = '/';
\$cacti_session_name = 'Cacti';
\$cacti_db_session = false;
\$disable_log_rotation = true;
\$path_csrf_secret = '$X/csrf/secret.php';
EOT
# Installed, cmd.php as the poller, the guest account may view graphs.
SQL -e "UPDATE version SET cacti = '1.2.24';
	REPLACE INTO settings (name, value) VALUES
	    ('path_cactilog', '$S/log/cacti.log'), ('poller_type', '1'),
	    ('log_verbosity', '2'), ('guest_user', 'guest');
	UPDATE user_auth SET enabled = 'on', policy_graphs = 1, policy_trees = 1,
	    policy_hosts = 1, policy_graph_templates = 1 WHERE username = 'guest';
	REPLACE INTO user_auth_realm (realm_id, user_id)
	    SELECT 7, id FROM user_auth WHERE username = 'guest';"
# No network discovery (its default network is not ours).
SQL -e "UPDATE automation_networks SET enabled = ''"
cli() { (cd "$C/cli" && php "$@" 2>&1); }
# poller.php starts its helpers (maintenance, automation, commands) in the
# background: the test waits for them, and kills what outlives the test.
helpers() { pgrep -f "^[^ ]*php .*$C/" | grep -vx $$; }
wait_helpers() {
	local i
	for i in $(seq 1 ${1:-100}); do [ -z "$(helpers)" ] && return 0; sleep 0.2; done
	return 1
}
CLEANUP+=('for p in $(helpers); do kill -9 $p; done')
OUT=$(cli add_device.php --list-host-templates); RC=$?
check "Cacti's CLI runs against the private database" bash -c "[ $RC = 0 ] && grep -q '^0.None' <<<'$OUT'"
[ $RC = 0 ] || { echo "Bail out! Cacti does not run: $OUT"; exit 1; }

# The package, with Cacti's own importer.
PROFILE=1
if [ -n "$SHOT" ]; then
	# For a picture within minutes: 30 s steps, and each poller.php polls
	# twice, 30 s apart, as when cron starts it every minute.
	PROFILE=2
	SQL -e "REPLACE INTO settings (name, value) VALUES ('poller_interval', '30'), ('cron_interval', '60')"
fi
OUT=$(cli import_package.php --filename="$PKG" --profile-id=$PROFILE); RC=$?
# (Its lines name the templates, "[success] mailcanary - Authentication
# Failures [new]": those are not failures.)
check "import_package.php takes the package (signature, templates, query XML)" \
    bash -c "[ $RC = 0 ] && ! grep -v '^\[success\] ' <<<'$OUT' | grep -qi 'fail\|error'"
check "it wrote the data query's XML into resource/snmp_queries" \
    cmp "$C/resource/snmp_queries/mailcanary.xml" "$top_srcdir/packaging/cacti/mailcanary.xml"
check "the package's template is cacti_data_query_mailcanary.xml" bash -c \
    "zcat '$PKG' | sed -n 's/.*<data>\(.*\)<\/data>.*/\1/p' | sed -n 2p | base64 -d | cmp - '$top_srcdir/packaging/cacti/cacti_data_query_mailcanary.xml'"
Q=$(SQL -e "SELECT id FROM snmp_query WHERE xml_path = '<path_cacti>/resource/snmp_queries/mailcanary.xml'")
check "the data query is there ($Q)" test -n "$Q"
[ -n "$Q" ] || { echo "Bail out! the package did not import: $(tail -3 <<<"$OUT")"; exit 1; }
NGT=$(SQL -e "SELECT COUNT(*) FROM graph_templates WHERE name LIKE 'mailcanary - %'")
NDT=$(SQL -e "SELECT COUNT(*) FROM data_template WHERE name LIKE 'mailcanary - %'")
NQG=$(SQL -e "SELECT COUNT(*) FROM snmp_query_graph WHERE snmp_query_id = '$Q'")
NRRD=$(SQL -e "SELECT COUNT(DISTINCT r.data_template_rrd_id) FROM snmp_query_graph_rrd r JOIN snmp_query_graph g ON g.id = r.snmp_query_graph_id WHERE g.snmp_query_id = '$Q'")
check "9 graph templates, 9 data templates, 9 query graphs, 21 data sources mapped ($NGT, $NDT, $NQG, $NRRD)" \
    test "$NGT $NDT $NQG $NRRD" = "9 9 9 21"
OUT=$(cli import_package.php --filename="$PKG" --profile-id=$PROFILE)
NGT2=$(SQL -e "SELECT COUNT(*) FROM graph_templates WHERE name LIKE 'mailcanary - %'")
check "importing it again updates, does not duplicate ($NGT2 graph templates)" test "$NGT2" = 9

# The daemon has something to show: a delivery, a hidden canary.
wait_get() {	# OID MIN SECONDS: an integer cell reaches MIN
	local i v
	for i in $(seq 1 "$3"); do
		v=$(get "$1"); [ "$v" -ge "$2" ] 2>/dev/null && return 0; sleep 1
	done
	return 1
}
check "mailcanaryd: healthy delivered a canary" wait_get $E.9.7 1 40
check "mailcanaryd: void hid one" wait_get $E.13.2 1 45
check "mailcanaryd: healthy's canary went to Junk (mcProbeJunk)" wait_get $E.27.7 1 20
check "mailcanaryd: ... without SPF, DKIM, DMARC passes (mcProbeAuthNotPassed)" wait_get $E.32.7 1 20

# The device, the query, a graph of each template for each probe.
OUT=$(cli add_device.php --description=localhost --ip=127.0.0.1 --template=0 \
    --version=2 --community=public --port=$SNMP_PORT --avail=snmp --timeout=2000); RC=$?
H=$(sed -n 's/.*device-id: (\([0-9]*\)).*/\1/p' <<<"$OUT")
check "add_device.php: device $H" bash -c "[ $RC = 0 ] && [ -n '$H' ]"
OUT=$(cli add_data_query.php --host-id="$H" --data-query-id="$Q" --reindex-method=0); RC=$?
check "add_data_query.php: the query on the device" test $RC = 0
ROWS=$(SQL -e "SELECT GROUP_CONCAT(CONCAT(snmp_index, '=', field_value) ORDER BY snmp_index) FROM host_snmp_cache WHERE host_id = '$H' AND snmp_query_id = '$Q' AND field_name = 'mcProbeName'")
check "the query indexed both probes by name ($ROWS)" test "$ROWS" = "2=void,7=healthy"
bad=""
for probe in healthy void; do
	for qg in $(SQL -e "SELECT id FROM snmp_query_graph WHERE snmp_query_id = '$Q' ORDER BY id"); do
		gt=$(SQL -e "SELECT graph_template_id FROM snmp_query_graph WHERE id = $qg")
		OUT=$(cli add_graphs.php --host-id="$H" --graph-type=ds --graph-template-id="$gt" \
		    --snmp-query-id="$Q" --snmp-query-type-id="$qg" \
		    --snmp-field=mcProbeName --snmp-value=$probe) ||
		    bad="$bad $probe/$gt"
		grep -q 'Graph Added' <<<"$OUT" || bad="$bad $probe/$gt"
	done
done
OUT=""
NG=$(SQL -e "SELECT COUNT(*) FROM graph_local WHERE host_id = '$H'")
check "add_graphs.php: 18 graphs, 9 per probe ($NG)${bad:+ (failed:$bad)}" \
    bash -c "[ -z '$bad' ] && [ '$NG' = 18 ]"

# Polls. Each cell read before and after a poll brackets what it wrote.
snap() {	# FILE: every output column of both probes, "OID VALUE"
	snmpwalk -v2c -c public -On -Oq 127.0.0.1:$SNMP_PORT $E >"$1.tmp" 2>&1
	grep -E "^\.$E\.([5-9]|1[0-9]|2[0-2]|2[7-9]|3[0-2])\.(2|7) " "$1.tmp" >"$1"
}
poll() {
	snap "$X/before"
	(cd "$S" && timeout 150 php poller.php --force >>"$X/poller.log" 2>&1)
	wait_helpers 150 || HELPERS_LEFT="$HELPERS_LEFT $(helpers | tr '\n' ' ')"
	snap "$X/after"
}
POLLS=${CACTI_POLLS:-3}; HELPERS_LEFT=""
for i in $(seq 1 "$POLLS"); do
	[ "$i" -gt 1 ] && [ -z "$SHOT" ] && sleep 2
	poll
done
# Cacti 1.2.24 on PHP 8.2 logs deprecations (dynamic properties): not ours.
errors() { grep -hi 'error\|fatal' "$X/poller.log" "$S/log/cacti.log" | grep -v 'PHP DEPRECATED\|PHP ERROR Backtrace'; }
check "poller.php's helpers finished within 30 s of each poll${HELPERS_LEFT:+ (left:$HELPERS_LEFT)}" test -z "$HELPERS_LEFT"
ERRS=$(errors)
check "poller.php: no errors in its output and cacti.log" test -z "$ERRS"
[ -n "$ERRS" ] && diag "$(head -5 <<<"$ERRS")"

# Each RRD file: which probe, which data sources, from which column.
SQL -e "SELECT dl.snmp_index, REPLACE(dtd.data_source_path, '<path_rra>', '$S/rra'),
	    dtr.data_source_name, sqgr.snmp_field_name, dtr.data_source_type_id
	FROM data_local dl
	JOIN data_template_data dtd ON dtd.local_data_id = dl.id
	JOIN data_template_rrd dtr ON dtr.local_data_id = dl.id
	JOIN snmp_query_graph_rrd sqgr ON sqgr.data_template_rrd_id = dtr.local_data_template_rrd_id
	WHERE dl.host_id = '$H'" | sort -u >"$X/sources"
oid_of() {	# column name -> its OID, from the MIB (not from the query XML)
	local n
	n=$(awk -v c="$1" '$1 == c && $2 == "OBJECT-TYPE" { f = 1 }
		f && /::= *\{ *mcProbeEntry/ { print $(NF - 1); exit }' "$top_srcdir/mibs/MAILCANARY-MIB.txt")
	echo "$E.${n:-0}"
}
NS=$(wc -l <"$X/sources"); NF=$(cut -f2 "$X/sources" | sort -u | wc -l)
check "42 data sources in 18 RRD files ($NS in $NF)" test "$NS $NF" = "42 18"
bad=""; nz=""
while IFS=$'\t' read -r idx file ds field type; do
	oid=$(oid_of "$field").$idx
	v=$(rrdtool lastupdate "$file" 2>&1 | awk -v ds="$ds" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == ds) c = i }
		NR == 3 { print $(c + 1) }')
	a=$(awk -v o=".$oid" '$1 == o { print $2 }' "$X/before")
	b=$(awk -v o=".$oid" '$1 == o { print $2 }' "$X/after")
	# A counter grows between the two reads; a gauge is one of them.
	if [ "$type" = 2 ]; then
		{ [ "$a" -le "$v" ] && [ "$v" -le "$b" ]; } 2>/dev/null || bad="$bad $ds.$idx=$v($a..$b)"
	else
		{ [ "$v" = "$a" ] || [ "$v" = "$b" ]; } || bad="$bad $ds.$idx=$v($a|$b)"
	fi
	[ "$v" -gt 0 ] 2>/dev/null && nz="$nz $ds.$idx"
done <"$X/sources"
check "rrdtool lastupdate: every data source holds what snmpget returned for its cell${bad:+ (not:$bad)}" test -z "$bad"
check "... delivered, junk, auth_not_passed of healthy, hidden of void, both states and SPF results are among the non-zero ones" \
    bash -c "for d in delivered.7 junk.7 auth_not_passed.7 hidden.2 state.7 state.2 spf_result.7 spf_result.2 last_latency.7; do grep -qw \"\$d\" <<<'$nz' || exit 1; done"
diag "non-zero:$nz"
STATEF=$(awk -F'\t' '$1 == 2 && $3 == "state" { print $2 }' "$X/sources")
check "void's state RRD says critical(3)" \
    bash -c "rrdtool lastupdate '$STATEF' | awk 'NR == 3 { exit !(\$2 == 3) }'"
DELF=$(awk -F'\t' '$1 == 7 && $3 == "delivered" { print $2 }' "$X/sources")
check "healthy's outcomes RRD: COUNTER data sources, 300 s step (or 30 s)" \
    bash -c "rrdtool info '$DELF' | grep -q '^ds\[delivered\].type = \"COUNTER\"' && rrdtool info '$DELF' | grep -qE '^step = (300|30)$'"
JUNKF=$(awk -F'\t' '$1 == 7 && $3 == "junk" { print $2 }' "$X/sources")
AUTHF=$(awk -F'\t' '$1 == 7 && $3 == "auth_not_passed" { print $2 }' "$X/sources")
check "healthy's Junk and Authentication Failures RRDs: COUNTER data sources" \
    bash -c "rrdtool info '$JUNKF' | grep -q '^ds\[junk\].type = \"COUNTER\"' && rrdtool info '$AUTHF' | grep -q '^ds\[auth_not_passed\].type = \"COUNTER\"'"
RESF=$(awk -F'\t' '$1 == 7 && $3 == "spf_result" { print $2 }' "$X/sources")
check "healthy's Authentication Results RRD: SPF, DKIM and DMARC missing(10)" \
    bash -c "rrdtool lastupdate '$RESF' | awk 'NR == 1 { n = NF } NR == 3 { for (i = 2; i <= n + 1; i++) if (\$i != 10) exit 1; ok = n == 3 } END { exit !ok }'"

# A graph through graph_image.php, from PHP's built-in web server.
mkdir -p "$X/sessions"
php -d session.save_path="$X/sessions" -S 127.0.0.1:$WEB_PORT -t "$S" >"$X/web.log" 2>&1 &
CLEANUP+=("stop_pid $!")
for i in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$WEB_PORT/" && break; sleep 0.1; done
G=$(SQL -e "SELECT gl.id FROM graph_local gl JOIN graph_templates gt ON gt.id = gl.graph_template_id
	WHERE gl.host_id = '$H' AND gl.snmp_index = '7' AND gt.name = 'mailcanary - Outcomes'")
read -r GW GH <<<"$(SQL -e "SELECT width, height FROM graph_templates_graph WHERE local_graph_id = '$G'")"
curl -s -o "$X/graph.png" "http://127.0.0.1:$WEB_PORT/graph_image.php?local_graph_id=$G&rra_id=1"
check "graph_image.php: a PNG for graph $G" \
    bash -c "head -c 8 '$X/graph.png' | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a"
PW=$(od -An -tu1 -j16 -N4 "$X/graph.png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
PH=$(od -An -tu1 -j20 -N4 "$X/graph.png" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
# rrdtool draws the canvas at width x height; Cacti's title, axis labels
# and the legend (a line a data source here) go around it. graph_json.php
# is Cacti's rrdtool graphv of the same graph: the canvas and the margins.
curl -s -o "$X/graph.json" "http://127.0.0.1:$WEB_PORT/graph_json.php?local_graph_id=$G&rra_id=1"
read -r JGW JGH JL JT JIW JIH <<<"$(jq -r '[.graph_width, .graph_height, .graph_left, .graph_top, .image_width, .image_height] | map(. // 0 | tostring) | join(" ")' "$X/graph.json" 2>/dev/null)"
check "graph_json.php: rrdtool drew the ${GW}x$GH canvas of the template (${JGW:-?}x${JGH:-?} at ${JL:-?},${JT:-?})" \
    test "${JGW:-}x${JGH:-}" = "${GW}x$GH"
check "the PNG is ${PW}x$PH: the canvas plus Cacti's margins, ${JIW:-?}x${JIH:-?}" \
    bash -c "[ '${PW}x$PH' = '${JIW:-}x${JIH:-}' ] && [ $PW -gt $((GW + ${JL:-0})) ] && [ $PH -gt $((GH + ${JT:-0} + 8 * 12)) ]"
diag "graph $G: ${GW}x$GH at ${JL:-?},${JT:-?} in a ${PW}x$PH PNG"

if [ -n "$SHOT" ]; then
	# The graph page as the guest account sees it: healthy's nine graphs,
	# the last half hour, two columns.
	SQL -e "REPLACE INTO settings_user (user_id, name, value)
		SELECT id, 'default_timespan', '1' FROM user_auth WHERE username = 'guest'"
	mkdir -p "$X/chromium"
	timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	    --user-data-dir="$X/chromium" --window-size=1500,2080 \
	    --virtual-time-budget=15000 --screenshot="$SHOT" \
	    "http://127.0.0.1:$WEB_PORT/graph_view.php?action=preview&host_id=$H&rfilter=healthy&columns=2&graphs=9" \
	    >"$X/chromium.log" 2>&1
	check "chromium: a screenshot of graph_view.php in $SHOT" \
	    bash -c "head -c 8 '$SHOT' | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a"
fi
# CACTI_PAUSE=SECONDS: everything stays up that long, for a person.
[ -n "${CACTI_PAUSE:-}" ] && diag "pausing: http://127.0.0.1:$WEB_PORT/, $X" && sleep "$CACTI_PAUSE"
done_testing
