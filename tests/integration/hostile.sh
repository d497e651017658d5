#!/bin/bash
# Hostile bounces: inputs made at test time by tests/hostile/generate, each
# just under the 10 MiB message cap and aimed at one cost of the MIME
# tree. `mailcanary classify` must answer each within a fixed address
# space (256 MB, where the tree of ten million empty parts took 2.7 GB)
# and name the cap it passed: a bounce past a cap is unparseable, never
# classified from what was left.
. "$(dirname "$0")/../lib.sh"
MC=$top_builddir/plugins/mailcanary
command -v python3 >/dev/null || { echo "Bail out! python3 is missing (scripts/deps)"; exit 1; }
H=$(mktemp -d /tmp/mailcanary-hostile.XXXXXX); CLEANUP+=("rm -rf $H")
python3 "$top_srcdir/tests/hostile/generate" "$H" || { echo "Bail out! generate failed"; exit 1; }

# classify NAME: sets OUT and RC, within 256 MB of address space and 10 s.
classify() {
	OUT=$(prlimit --as=$((256 * 1024 * 1024)) timeout 10 "$MC" classify "$H/$1.eml" 2>&1) && RC=0 || RC=$?
}
expect() {
	local name=$1 class=$2 why=$3
	classify "$name"
	check "$name: $class${why:+, naming \"$why\"} (rc $RC)" \
	    bash -c "[ $RC -le 1 ] && jq -e --arg c '$class' --arg w '$why' '.class == \$c and ((.error // \"\") | contains(\$w))' >/dev/null <<<'$(printf '%s' "$OUT" | head -c 4000 | sed "s/'/ /g")'"
}
expect empty-parts unparseable "MIME parts"
expect flat-parts unparseable "MIME parts"
expect deep-multipart unparseable "multipart boundaries"
expect deep-rfc822 unparseable "nested messages"
expect long-header-lines unparseable "header bytes"
expect many-headers unparseable "header lines"
expect many-recipients-header unparseable "header lines"
expect many-recipients-dsn unparseable "delivery-status part larger"
expect dsn-over-cap unparseable "delivery-status part larger"
expect qp-garbage unparseable "text part of the report larger"
expect base64-garbage unparseable ""
expect ordinary-9m not_a_bounce ""
# The boundary spelt as only a lenient reader finds it.
for v in ct-blank-before-colon ct-comment ct-boundary-twice ct-rfc2231-pieces \
    ct-long-line ct-trailing-blank ct-after-8bit-name ct-after-mbox-from; do
	expect $v unparseable ""
done
# The subject of a message refused early is still read, for the report.
classify long-header-lines
check "long-header-lines: Subject read past the capped header bytes" \
    bash -c "jq -e '.subject == \"Undelivered Mail Returned to Sender\"' >/dev/null <<<'$OUT'"
# A cap passed by a message that is not a bounce is not an alarm.
sed 's/^Subject: Undelivered Mail Returned to Sender/Subject: weekly report/; s/^From: MAILER-DAEMON@/From: alice@/' \
    "$H/empty-parts.eml" >"$H/parts-not-bounce.eml"
classify parts-not-bounce
check "ten million parts in mail that is not a bounce: not_a_bounce" \
    bash -c "[ $RC = 1 ] && jq -e '.class == \"not_a_bounce\"' >/dev/null <<<'$OUT'"
# stdin is read the same way (through a temporary file).
OUT=$(prlimit --as=$((256 * 1024 * 1024)) timeout 10 "$MC" classify - <"$H/empty-parts.eml" 2>&1) && RC=0 || RC=$?
check "from stdin: empty-parts unparseable" bash -c "[ $RC = 0 ] && jq -e '.class == \"unparseable\"' >/dev/null <<<'$OUT'"
OUT=$("$MC" classify /dev/zero 2>&1) && RC=0 || RC=$?
check "a device is refused, not read forever" bash -c "[ $RC = 2 ] && grep -q 'not a regular file' <<<'$OUT'"
done_testing
