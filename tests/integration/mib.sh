#!/bin/bash
# MAILCANARY-MIB is SMIv2 and lint-clean: smilint -l 6 prints nothing
# (it exits 0 even on errors, so its output is what is checked).
. "$(dirname "$0")/../lib.sh"
if ! command -v smilint >/dev/null; then
	[ "${MAILCANARY_REQUIRE_INTEGRATION:-0}" = 1 ] && { echo "Bail out! smilint (smitools) is missing"; exit 1; }
	echo "1..0 # SKIP smilint (smitools) is not installed"; exit 0
fi
MIB=$top_srcdir/mibs/MAILCANARY-MIB.txt
# smilint needs the IETF base modules beside ours.
find_base_mibs || { echo "1..0 # SKIP $BASE_MIBS_WHY"; exit 0; }
base=$BASE_MIBS
OUT=$(SMIPATH="$base:$top_srcdir/mibs" smilint -l 6 -s "$MIB" 2>&1)
check "smilint -l 6 -s prints nothing" test -z "$OUT"
[ -n "$OUT" ] && diag "$OUT"
ids=$(SMIPATH="$base:$top_srcdir/mibs" smidump -f identifiers "$MIB" 2>/dev/null)
check "rooted under enterprises 32473 (RFC 5612's documentation number)" \
    grep -q 'mailcanaryMIB *node *1.3.6.1.4.1.32473$' <<<"$ids"
for o in mcProbeTable mcCanaryTable mcCanaryHidden mcCanaryBounced mcProbeRecovered mcCompliance; do
	check "defines $o" grep -q "^MAILCANARY-MIB $o " <<<"$ids"
done
# Every object and notification is in a group.
objs=$(awk '$3 ~ /column|scalar|notification/ {print $2}' <<<"$ids" | grep -v -e Index -e Seq)
check "smidump lists the module's objects ($(echo $objs | wc -w))" test "$(echo $objs | wc -w)" -ge 30
grouped=$(sed -n '/OBJECT-GROUP\|NOTIFICATION-GROUP/,/STATUS/p' "$MIB")
missing=""
for o in $objs; do grep -qw "$o" <<<"$grouped" || missing="$missing $o"; done
check "every object and notification is in a conformance group${missing:+ (missing:$missing)}" test -z "$missing"
done_testing
