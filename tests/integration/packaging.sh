#!/bin/bash
# The graphing kit is what it says: snmp.yml is what Debian's generator
# makes of generator.yml, the 0.23+ layout carries the same module, the
# Cacti query names real MAILCANARY-MIB columns, the Grafana dashboard is
# importable and asks only for series the exporter module produces.
# (agent.sh scrapes a live mailcanaryd with all of them.)
. "$(dirname "$0")/../lib.sh"
for c in prometheus-snmp-generator prometheus-snmp-exporter xmllint python3 snmptranslate jq; do
	command -v $c >/dev/null || { echo "Bail out! $c is missing (scripts/deps)"; exit 1; }
done
# The generator and snmptranslate need the IETF base modules beside ours;
# without them only the checks by name are skipped.
P=$top_srcdir/packaging
X=$(mktemp -d /tmp/mailcanary-pkg.XXXXXX); CLEANUP+=("rm -rf $X")
if find_base_mibs; then
	base=$BASE_MIBS
else
	base=""
fi

# snmp_exporter
if [ -n "$base" ]; then
	check "regenerate: Debian's generator accepts generator.yml" \
	    env MIBDIRS="$top_srcdir/mibs:$base" "$P/snmp_exporter/regenerate" "$X"
	check "snmp.yml is what generator.yml generates (run regenerate after a MIB change)" \
	    diff -u "$P/snmp_exporter/snmp.yml" "$X/snmp.yml"
	check "snmp-auths.yml too" diff -u "$P/snmp_exporter/snmp-auths.yml" "$X/snmp-auths.yml"
else
	for t in "regenerate: Debian's generator accepts generator.yml" \
	    "snmp.yml is what generator.yml generates" "snmp-auths.yml too"; do
		skip "$t" "$BASE_MIBS_WHY"
	done
fi
check "snmp_exporter 0.21 accepts snmp.yml" bash -c \
    "prometheus-snmp-exporter --dry-run --config.file='$P/snmp_exporter/snmp.yml' 2>&1 | grep -q 'parsed successfully'"
check "snmp_exporter 0.21 refuses the 0.23+ layout (they differ, as they should)" \
    bash -c "! prometheus-snmp-exporter --dry-run --config.file='$P/snmp_exporter/snmp-auths.yml' 2>/dev/null"
yq() { python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' "$1"; }
yq "$P/snmp_exporter/snmp.yml" >"$X/old.json"
yq "$P/snmp_exporter/snmp-auths.yml" >"$X/new.json"
yq "$P/snmp_exporter/generator.yml" >"$X/gen-old.json"
yq "$P/snmp_exporter/generator-auths.yml" >"$X/gen-new.json"
check "snmp-auths.yml: top level is auths and modules only" \
    jqt '(keys == ["auths", "modules"]) and .auths.mailcanary_v2.version == 2 and .auths.mailcanary_v2.community == "public"' "$X/new.json"
check "snmp-auths.yml: the module is snmp.yml's, without version and auth" \
    bash -c "[ \"\$(jq -S '.mailcanary | del(.version, .auth)' '$X/old.json')\" = \"\$(jq -S '.modules.mailcanary' '$X/new.json')\" ]"
check "snmp.yml: version 2 and community public in the module (0.21)" \
    jqt '.mailcanary.version == 2 and .mailcanary.auth.community == "public"' "$X/old.json"
check "generator-auths.yml: the same module as generator.yml" \
    bash -c "[ \"\$(jq -S '.modules.mailcanary | del(.version, .auth)' '$X/gen-old.json')\" = \"\$(jq -S '.modules.mailcanary' '$X/gen-new.json')\" ]"
check "snmp.yml: every series labelled with mcProbeName and mcProbeRoute" \
    jqt '[.mailcanary.metrics[] | select(.indexes) | [.lookups[].labelname] == ["mcProbeName", "mcProbeRoute"]] | all' "$X/old.json"
check "snmp.yml: the counters are counters" \
    jqt '[.mailcanary.metrics[] | select(.name | test("^mcProbe(Sent|Delivered|Bounced|BogusBounces|DelayedDsns|Hidden|Late|SubmitFailures)$")) | .type == "counter"] | (all and length == 8)' "$X/old.json"

# Cacti
X1=$P/cacti/mailcanary.xml
check "Cacti data query: well-formed XML" xmllint --noout "$X1"
if [ -n "$base" ]; then
bad="" n=0
while read -r name oid; do
	n=$((n + 1))
	want=$(MIBS=MAILCANARY-MIB MIBDIRS="$top_srcdir/mibs:$base" snmptranslate -On "MAILCANARY-MIB::$name" 2>&1)
	[ "$want" = "$oid" ] || [ "$name" = mcProbeIndex ] || bad="$bad $name($oid!=$want)"
done < <(xmllint --xpath '/interface/fields/*' "$X1" | perl -0ne 'while (/<(\w+)>.*?<oid>([^<]+)<\/oid>/sg) { print "$1 $2\n" }')
check "Cacti data query: each field's OID ($n) is the MIB's column of that name${bad:+:$bad}" \
    test -z "$bad" -a "$n" -ge 20
check "Cacti data query: index walks mcProbeName" \
    test "$(xmllint --xpath 'string(/interface/oid_index)' "$X1")" = "$(MIBS=MAILCANARY-MIB MIBDIRS="$top_srcdir/mibs:$base" snmptranslate -On MAILCANARY-MIB::mcProbeName)"
else
	skip "Cacti data query: each field's OID is the MIB's column of that name" "$BASE_MIBS_WHY"
	skip "Cacti data query: index walks mcProbeName" "$BASE_MIBS_WHY"
fi
check "Cacti data query: the counters and gauges are outputs" \
    test "$(xmllint --xpath 'count(/interface/fields/*[direction="output"])' "$X1")" -ge 17

# Grafana
D=$P/grafana/mailcanary-dashboard.json
check "Grafana dashboard: valid JSON with a Prometheus __inputs entry" \
    jqt '.__inputs | map(select(.type == "datasource" and .pluginId == "prometheus" and .name == "DS_PROMETHEUS")) | length == 1' "$D"
check "Grafana dashboard: every panel and target uses that input" \
    jqt '[.panels[] | .datasource.uid, (.targets[].datasource.uid)] | all(. == "${DS_PROMETHEUS}")' "$D"
for want in 'state-timeline:mcProbeState' 'timeseries:mcProbeLastLatency' 'timeseries:mcProbeInFlight' \
    'timeseries:mcProbeOldestInFlight' 'timeseries:increase(mcProbeHidden' 'timeseries:increase(mcProbeBounced'; do
	check "Grafana dashboard: a ${want%%:*} panel of ${want#*:}" \
	    jqt --arg t "${want%%:*}" --arg e "${want#*:}" '[.panels[] | select(.type == $t) | .targets[].expr | startswith($e)] | any' "$D"
done
missing=""
for m in $(jq -r '.panels[].targets[].expr' "$D" | grep -o 'mcProbe[A-Za-z0-9]*{' | tr -d '{' | sort -u); do
	jq -e --arg m "$m" '.mailcanary.metrics | map(.name) | index($m)' "$X/old.json" >/dev/null || missing="$missing $m"
done
check "Grafana dashboard: asks only for series snmp.yml makes${missing:+ (not made:$missing)}" test -z "$missing"
done_testing
