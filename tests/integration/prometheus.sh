#!/bin/bash
# mailcanaryd's native /metrics under a private snmpd, through the real
# mail path, scraped every second by a real Prometheus (Debian's) that
# loads the shipped alerting rules: the values Prometheus stores are the
# state files'. Then /metrics against abusive clients while SNMP and
# scrapes still answer, IPv6, metrics off by default, the plugin's
# --metrics-file, the rules' unit tests and the native Grafana dashboard.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in snmpd snmpget prometheus promtool curl jq perl; do
	command -v $c >/dev/null || { echo "Bail out! $c missing"; exit 1; }
done
DAEMON=$top_builddir/snmp-agent/mailcanaryd
BASE=${PROMETHEUS_TEST_PORT:-17000}
SNMP_PORT=$((BASE + 150)); MPORT=$((BASE + 160)); PPORT=$((BASE + 170))
for p in $MPORT $PPORT; do
	if ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
		echo "Bail out! tcp port $p is already in use"; exit 1
	fi
done
if ss -Hlun "sport = :$SNMP_PORT" 2>/dev/null | grep -q .; then
	echo "Bail out! udp 127.0.0.1:$SNMP_PORT is already in use"; exit 1
fi
start_mailpath "$BASE"
X=$(mktemp -d /tmp/mailcanary-prom.XXXXXX); CLEANUP+=("rm -rf $X")
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist" "$X/state" "$X/tsdb" "$X/textfile"
start_agentx_snmpd "$X" "$SNMP_PORT"
write_conf() {	# [LISTEN]: metrics_listen, none when empty
	cat >"$X/mc.conf" <<EOT
[global]
state_dir = $X/state
$(mailpath_global "$X")
interval = 3
${1:+metrics_listen = $1}

[probe healthy]
to = $MP_TO
snmp_index = 7
authserv_id = mx.greylist.test

[probe void]
to = canary@void.test
lost_after = 12
EOT
}
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
wait_get() {	# OID VALUE SECONDS
	local i
	for i in $(seq 1 "$3"); do [ "$(get "$1")" = "$2" ] && return 0; sleep 1; done
	return 1
}
DPID=
start_daemon() {
	"$DAEMON" -f -c "$X/mc.conf" >>"$X/daemon.log" 2>&1 &
	DPID=$!
	CLEANUP+=("stop_pid $DPID")
	wait_get $E.2.7 '"healthy"' 20
}
stop_daemon() { stop_pid "$DPID"; for i in $(seq 1 50); do kill -0 "$DPID" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
listens() { ss -Hltnp 2>/dev/null | grep -q "pid=$DPID,"; }

# Off by default: no metrics_listen, no listening socket at all.
write_conf ""
check "-n: metrics_listen is off by default" bash -c "'$DAEMON' -n -c '$X/mc.conf' | grep -qx '# metrics_listen = (off)'"
check "daemon without metrics_listen serves SNMP" start_daemon
check "... and listens on no TCP port" bash -c "! ss -Hltnp | grep -q 'pid=$DPID,'"
stop_daemon

write_conf "127.0.0.1:$MPORT"
OUT=$("$DAEMON" -n -c "$X/mc.conf")
check "-n: metrics_listen shown" grep -qx "# metrics_listen = 127.0.0.1:$MPORT" <<<"$OUT"
sed 's/^metrics_listen = .*/metrics_listen = localhost:80/' "$X/mc.conf" >"$X/bad.conf"
OUT=$("$DAEMON" -n -c "$X/bad.conf" 2>&1); RC=$?
check "a host name for metrics_listen is refused, with the line" \
    bash -c "[ $RC = 1 ] && grep -q 'bad.conf:[0-9]*: metrics_listen: must be a numeric' <<<'$OUT'"
OUT=
check "daemon with metrics_listen = 127.0.0.1:$MPORT serves SNMP" start_daemon
check "... and listens on 127.0.0.1:$MPORT" bash -c "ss -Hltnp 'sport = :$MPORT' | grep -q 'pid=$DPID,' && ss -Hltn 'sport = :$MPORT' | grep -q '127.0.0.1:$MPORT'"

cat >"$X/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $top_srcdir/packaging/prometheus/mailcanary.rules.yml
scrape_configs:
  - job_name: mailcanary
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOT
prometheus --config.file="$X/prometheus.yml" --storage.tsdb.path="$X/tsdb" \
    --web.listen-address=127.0.0.1:$PPORT --log.level=warn >"$X/prometheus.log" 2>&1 &
CLEANUP+=("stop_pid $!")
M=http://127.0.0.1:$MPORT/metrics
# pq QUERY: the value of the query's only sample ("" when none).
pq() {
	curl -sf --max-time 5 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
	    jq -r 'if (.data.result | length) == 1 then .data.result[0].value[1] else "" end'
}
# pq_equals QUERY COMMAND SECONDS: until Prometheus's value is COMMAND's.
pq_equals() {
	local i v w
	for i in $(seq 1 "$3"); do
		v=$(pq "$1"); w=$(eval "$2")
		[ -n "$v" ] && [ "$v" = "$w" ] && return 0
		sleep 1
	done
	echo "# $1: Prometheus says '$v', want '$w'"
	return 1
}
wait_prom() { for i in $(seq 1 30); do [ "$(pq 'up{job="mailcanary"}')" = 1 ] && return 0; sleep 1; done; return 1; }
check "Prometheus scrapes mailcanaryd (up == 1)" wait_prom

curl -sf "$M" >"$X/metrics.txt"
check "/metrics: promtool check metrics finds nothing" bash -c "promtool check metrics <'$X/metrics.txt' >'$X/lint' 2>&1; rc=\$?; cat '$X/lint' | sed 's/^/# /'; [ \$rc = 0 ] && [ ! -s '$X/lint' ]"
missing=""
for f in mailcanary_canaries_sent_total mailcanary_canaries_delivered_total \
    mailcanary_canaries_hidden_total mailcanary_canaries_late_total \
    mailcanary_bounces_total mailcanary_delivery_latency_seconds \
    mailcanary_greylist_delay_seconds mailcanary_in_flight \
    mailcanary_oldest_in_flight_seconds mailcanary_last_delivery_timestamp_seconds \
    mailcanary_probe_state mailcanary_probe_condition mailcanary_build_info; do
	grep -q "^# TYPE $f " "$X/metrics.txt" || missing="$missing $f"
done
check "/metrics: every family${missing:+ (missing:$missing)}" test -z "$missing"
check "/metrics: every per-probe sample is labelled probe=\"healthy\" or \"void\"" \
    bash -c "! grep -v '^#' '$X/metrics.txt' | grep -v '^mailcanary_build_info{' | grep -qv '{probe=\"\(healthy\|void\)\"'"
check "/metrics: one state of four and one condition of nine per probe" \
    bash -c "[ \$(grep -c '^mailcanary_probe_state{probe=\"void\"' '$X/metrics.txt') = 4 ] && [ \$(grep -c '^mailcanary_probe_condition{probe=\"void\"' '$X/metrics.txt') = 9 ] && [ \$(grep '^mailcanary_probe_condition{probe=\"void\"' '$X/metrics.txt' | grep -c ' 1\$') = 1 ]"
check "/metrics: build_info with the version" grep -q '^mailcanary_build_info{version="[0-9.]*"} 1$' "$X/metrics.txt"
check "/metrics: Content-Type is the text format 0.0.4" \
    bash -c "curl -sfI '$M' | grep -qi '^content-type: text/plain; version=0.0.4'"

state() { jq -r "$2" "$X/state/$1.json"; }
check "healthy: state ok in Prometheus" pq_equals 'mailcanary_probe_state{probe="healthy",state="ok"}' 'echo 1' 40
check "healthy: delivered counter in Prometheus = the state file's" \
    pq_equals 'mailcanary_canaries_delivered_total{probe="healthy"}' 'state healthy .counters.delivered' 20
check "healthy: sent counter in Prometheus = the state file's" \
    pq_equals 'mailcanary_canaries_sent_total{probe="healthy"}' 'state healthy .counters.sent' 20
check "void: condition hidden in Prometheus" pq_equals 'mailcanary_probe_condition{probe="void",condition="hidden"}' 'echo 1' 40
check "void: state critical in Prometheus" pq_equals 'mailcanary_probe_state{probe="void",state="critical"}' 'echo 1' 5
check "void: hidden counter in Prometheus = the state file's (>= 1)" \
    pq_equals 'mailcanary_canaries_hidden_total{probe="void"} >= 1' 'state void .counters.hidden' 20
check "void: the MailcanaryCanaryHidden alert fires in Prometheus" \
    pq_equals 'count(ALERTS{alertname="MailcanaryCanaryHidden",alertstate="firing",probe="void"})' 'echo 1' 20
check "healthy: no alert fires for it" test -z "$(pq 'count(ALERTS{probe="healthy",alertstate="firing"})')"
check "healthy: last delivery timestamp = the newest arrival in the state file" \
    pq_equals 'mailcanary_last_delivery_timestamp_seconds{probe="healthy"}' \
    "state healthy '[.canaries[] | select(.status == \"delivered\") | .arrived_at] | max'" 20
check "healthy: the histogram counts each delivered canary (count >= 1, le=1 bucket 0: greylisted for ${MP_GREYLIST_DELAY}s)" \
    bash -c "[ \"\$(curl -sf '$M' | awk '/^mailcanary_delivery_latency_seconds_count{probe=\"healthy\"}/ {print \$2}')\" -ge 1 ] && curl -sf '$M' | grep -q '^mailcanary_delivery_latency_seconds_bucket{probe=\"healthy\",le=\"1\"} 0\$'"
monotonic() {	# every probe's buckets never decrease, +Inf = _count
	curl -sf "$M" | awk '
	/^mailcanary_delivery_latency_seconds_bucket/ { split($1, a, "\""); if (a[2] == p && $2 < last) bad = 1; p = a[2]; last = $2; inf[a[2]] = $2 }
	/^mailcanary_delivery_latency_seconds_count/ { split($1, a, "\""); if (inf[a[2]] != $2) bad = 1; n++ }
	END { exit bad || n != 2 }'
}
check "histogram: cumulative buckets monotonic, +Inf = _count" monotonic
check "Prometheus: histogram_quantile of the latency is a number > 1 s (greylisted)" \
    bash -c "v=\$(curl -sf 'http://127.0.0.1:$PPORT/api/v1/query' --data-urlencode 'query=histogram_quantile(0.5, sum by (le) (mailcanary_delivery_latency_seconds_bucket{probe=\"healthy\"}))' | jq -r '.data.result[0].value[1]'); echo \"# p50 \$v\"; [ \"\$(echo \"\$v > 1\" | bc)\" = 1 ]"
C1=$(curl -sf "$M" | awk '/^mailcanary_delivery_latency_seconds_count{probe="healthy"}/ {print $2}')
check "histogram: a canary is counted once (count = delivered canaries seen since start, never more)" \
    bash -c "d=\$(curl -sf '$M' | awk '/^mailcanary_canaries_delivered_total{probe=\"healthy\"}/ {print \$2}'); c=\$(curl -sf '$M' | awk '/^mailcanary_delivery_latency_seconds_count{probe=\"healthy\"}/ {print \$2}'); echo \"# count \$c delivered \$d\"; [ \"\$c\" -le \"\$d\" ] && [ \"\$c\" -ge $C1 ]"

# Status codes.
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
check "GET /: 404" test "$(code "http://127.0.0.1:$MPORT/")" = 404
check "GET /metricsx: 404" test "$(code "http://127.0.0.1:$MPORT/metricsx")" = 404
check "POST /metrics: 405 with Allow: GET, HEAD" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x '$M')\" = 405 ] && curl -s -D - -o /dev/null -X DELETE '$M' | grep -qi '^allow: GET, HEAD'"
check "HEAD /metrics: 200, no body" bash -c "[ \"\$(curl -s -I -o /dev/null -w '%{http_code} %{size_download}' '$M')\" = '200 0' ]"

# Abuse from another address (127.0.0.2, as another host would be): a
# slowloris on more connections than one address may hold, a request
# line of 1 MiB, 300 connections opened at once and left idle. Meanwhile
# SNMP GETs and scrapes from 127.0.0.1 answer, each well within 1 s.
cat >"$X/abuse.pl" <<'EOT'
use strict; use warnings; use IO::Socket::INET; use Time::HiRes qw(sleep time);
my ($port, $secs, $out) = @ARGV; my (@slow, @idle);
open(my $o, '>', $out) or die;
for (1 .. 40) {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    LocalAddr => '127.0.0.2', Proto => 'tcp') or next;
	$s->autoflush(1); print $s "GET /metrics HTTP/1.1\r\nHost: x\r\n"; push @slow, $s;
}
for (1 .. 300) {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
	    LocalAddr => '127.0.0.2', Proto => 'tcp') or next; push @idle, $s;
}
my $h = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
    LocalAddr => '127.0.0.2', Proto => 'tcp') or die;
local $SIG{PIPE} = 'IGNORE';
my $t0 = time; print $h "GET /" . ("a" x (1024 * 1024)) . " HTTP/1.1\r\n\r\n";
$h->shutdown(1); my $reply = ''; $h->recv($reply, 200);
printf $o "huge %s %.2f\n", ($reply =~ m{^HTTP/1\.\d (\d+)} ? $1 : 'closed'), time - $t0;
my $end = time + $secs;
while (time < $end) { for my $s (@slow) { print $s "X"; } sleep 0.5; }
print $o "done\n"; close $o;
EOT
perl "$X/abuse.pl" "$MPORT" 12 "$X/abuse.out" &
APID=$!
CLEANUP+=("kill $APID 2>/dev/null")
sleep 2
worst_snmp=0 worst_http=0 fails=0
for i in $(seq 1 20); do
	t=$( { /usr/bin/time -f %e snmpget -v2c -c public -Oqv -t 2 -r 0 127.0.0.1:$SNMP_PORT $E.2.7 >/dev/null || fails=$((fails + 1)); } 2>&1 | tail -1)
	[ "$(echo "$t > $worst_snmp" | bc)" = 1 ] && worst_snmp=$t
	t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$M")
	[ "${t%% *}" = 200 ] || fails=$((fails + 1))
	t=${t#* }
	[ "$(echo "$t > $worst_http" | bc)" = 1 ] && worst_http=$t
	sleep 0.4
done
check "under abuse: 20 SNMP GETs and 20 scrapes all answered (slowest: snmp ${worst_snmp}s, scrape ${worst_http}s)" \
    bash -c "[ $fails = 0 ] && [ \$(echo '$worst_snmp < 1 && $worst_http < 1' | bc) = 1 ]"
check "under abuse: Prometheus kept scraping (up == 1, no failed scrape in the last 10 s)" \
    pq_equals 'min_over_time(up{job="mailcanary"}[10s])' 'echo 1' 3
wait "$APID"
check "the 1 MiB request line was refused at once (HTTP 4xx or closed, < 2 s)" \
    bash -c "grep -Eq '^huge (4[0-9][0-9]|closed) (0|1)\.' '$X/abuse.out' && cat '$X/abuse.out' | sed 's/^/# /'"
check "the daemon still runs and serves after the abuse" bash -c "kill -0 $DPID && curl -sf --max-time 2 '$M' | grep -q '^mailcanary_build_info'"

# The native Grafana dashboard: valid, on the Prometheus input, and it
# asks only for series the daemon serves.
D=$top_srcdir/packaging/grafana/mailcanary-native-dashboard.json
check "native dashboard: valid JSON with a Prometheus __inputs entry" \
    jqt '.__inputs | map(select(.type == "datasource" and .pluginId == "prometheus" and .name == "DS_PROMETHEUS")) | length == 1' "$D"
check "native dashboard: every panel and target uses that input" \
    jqt '[.panels[] | .datasource.uid, (.targets[].datasource.uid)] | all(. == "${DS_PROMETHEUS}")' "$D"
for want in 'heatmap:mailcanary_delivery_latency_seconds_bucket' 'state-timeline:mailcanary_probe_state' \
    'timeseries:mailcanary_canaries_hidden_total' 'timeseries:mailcanary_bounces_total'; do
	check "native dashboard: a ${want%%:*} panel of ${want#*:}" \
	    jqt --arg t "${want%%:*}" --arg e "${want#*:}" '[.panels[] | select(.type == $t) | .targets[].expr | contains($e)] | any' "$D"
done
curl -sf "$M" >"$X/metrics2.txt"
missing="" n=0
for m in $(jq -r '.panels[].targets[].expr' "$D" | grep -o 'mailcanary_[a-z_]*' | sort -u); do
	n=$((n + 1))
	grep -q "^$m{" "$X/metrics2.txt" || missing="$missing $m"
done
check "native dashboard: asks only for series /metrics serves ($n)${missing:+ (not served:$missing)}" \
    test -z "$missing" -a "$n" -ge 5
bad=""
while IFS= read -r q; do
	r=$(curl -sf "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$(sed 's/\$__rate_interval/1m/g; s/\$__interval/1m/g; s/\$probe/.*/g; s/\$job/.*/g' <<<"$q")" | jq -r .status)
	[ "$r" = success ] || bad="$bad [$q]"
done < <(jq -r '.panels[].targets[].expr' "$D")
check "native dashboard: Prometheus accepts every query${bad:+ (refused:$bad)}" test -z "$bad"

# The rules: promtool's checks and unit tests.
check "promtool check rules" promtool check rules "$top_srcdir/packaging/prometheus/mailcanary.rules.yml"
check "promtool test rules: each alert firing and not firing" \
    bash -c "cd '$top_srcdir/packaging/prometheus' && promtool test rules mailcanary.rules.test.yml"

# The plugin's --metrics-file, on a copy of the daemon's state.
cp -r "$X/state" "$X/copy"
run --config "$X/mc.conf" --probe void --no-send --state-dir "$X/copy" --metrics-file "$X/textfile/void.prom"
check "plugin --metrics-file: the check's line is as before (CRITICAL hidden)" bash -c "[ $RC = 2 ] && grep -q hidden <<<'$OUT'"
check "plugin --metrics-file: promtool check metrics finds nothing" \
    bash -c "promtool check metrics <'$X/textfile/void.prom' >'$X/lint2' 2>&1; rc=\$?; [ \$rc = 0 ] && [ ! -s '$X/lint2' ]"
check "plugin --metrics-file: void's hidden counter = the copy's state file" \
    bash -c "grep -qx \"mailcanary_canaries_hidden_total{probe=\\\"void\\\"} \$(jq .counters.hidden '$X/copy/void.json')\" '$X/textfile/void.prom'"
check "plugin --metrics-file: condition hidden, build_info labelled with the probe, no histogram" \
    bash -c "grep -qx 'mailcanary_probe_condition{probe=\"void\",condition=\"hidden\"} 1' '$X/textfile/void.prom' && grep -q '^mailcanary_build_info{probe=\"void\",version=' '$X/textfile/void.prom' && ! grep -q latency '$X/textfile/void.prom'"
check "plugin --metrics-file: mode 0644, no temporary file left" \
    bash -c "[ \$(stat -c %a '$X/textfile/void.prom') = 644 ] && [ \$(ls '$X/textfile' | wc -l) = 1 ]"
run --config "$X/mc.conf" --probe void --no-send --state-dir "$X/copy" --metrics-file "$X/nodir/void.prom"
check "plugin --metrics-file into a missing directory: WARNING at least, saying so" \
    bash -c "[ $RC -ge 1 ] && grep -q 'metrics_file' <<<'$OUT'"

# IPv6: the same daemon on [::1].
stop_daemon
write_conf "[::1]:$MPORT"
check "daemon with metrics_listen = [::1]:$MPORT serves SNMP" start_daemon
# Before its first cycle a probe's counters read 0 (a restart is a counter
# reset to Prometheus); after it, the state file's.
v6_counts() {
	for i in $(seq 1 20); do
		curl -sfg --max-time 5 "http://[::1]:$MPORT/metrics" |
		    grep -q '^mailcanary_canaries_delivered_total{probe="healthy"} [1-9]' && return 0
		sleep 1
	done
	return 1
}
check "[::1]: /metrics answers, with the counters kept in the state file" v6_counts
check "[::1]: nothing on 127.0.0.1:$MPORT" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 'http://127.0.0.1:$MPORT/metrics')\" = 000 ]"
stop_daemon
check "no leftover listener once stopped" bash -c "! ss -Hltn 'sport = :$MPORT' | grep -q ."
done_testing
