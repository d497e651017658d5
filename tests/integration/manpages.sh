#!/bin/bash
# The man pages: every doc/*.[1-8] (also pages added later) is clean under
# mandoc -Tlint -W warning, and mailcanary.conf(5) documents every key of
# the one settings table, with the default the programs use and the range
# they accept. The keys come from the programs, not from a list here:
# check_mailcanary --show-config prints every key of the table, --help
# the defaults of the plugin's options; each range the page states is
# tried on mailcanaryd -n at both ends and one past each.
. "$(dirname "$0")/../lib.sh"
command -v mandoc >/dev/null || { echo "Bail out! mandoc is missing (Debian package mandoc)"; exit 1; }
DAEMON=$top_builddir/snmp-agent/mailcanaryd
PAGE=${MANPAGES_CONF_PAGE:-$top_srcdir/doc/mailcanary.conf.5}
X=$(mktemp -d /tmp/mailcanary-man.XXXXXX); CLEANUP+=("rm -rf $X")

# 1. Lint, every page.
n=0
for f in "$top_srcdir"/doc/*.[1-8]; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	OUT=$(mandoc -Tlint -W warning "$f" 2>&1) && RC=0 || RC=$?
	check "mandoc -Tlint -W warning: ${f#"$top_srcdir"/}" \
	    bash -c "[ $RC = 0 ] && [ -z \"\$1\" ]" _ "$OUT"
done
check "pages found under doc/ (mailcanary.conf.5 among them)" \
    bash -c "[ $n -ge 4 ] && [ -f '$PAGE' ]"
OUT=$(mandoc -Tascii "$PAGE" 2>&1 | head -3)
check "mailcanary.conf.5 renders as section 5" grep -q 'MAILCANARY.CONF(5)' <<<"$OUT"

# 2. The keys of the settings table, with their defaults.
printf '[probe p]\nmailbox = imap://127.0.0.1\nno_send = on\n' >"$X/min.conf"
"$PLUGIN" --config "$X/min.conf" --probe p --show-config >"$X/show" 2>&1
"$PLUGIN" --help >"$X/help" 2>&1
# The two keys min.conf sets show its values, not defaults: drop those.
sed -n 's/^\([a-z_][a-z_0-9]*\) = \(.*\)$/\1 \2/p' "$X/show" |
    sed -E 's/^(mailbox|no_send) .*/\1/' >"$X/keys"
check "--show-config lists the settings table (>= 30 keys)" \
    test "$(wc -l <"$X/keys")" -ge 30
# --help, one entry a line: "--lost-after SECONDS ... (default 7200)".
awk '/^  (-., )?--|^      --/ { if (e != "") print e; e = $0; next }
    /^                    / && e != "" { sub(/^ +/, " "); e = e $0; next }
    { if (e != "") print e; e = "" } END { if (e != "") print e }' \
    "$X/help" >"$X/help1"
# help_of KEY: "ARG DEFAULT" of its option ("-" for none), or nothing.
help_of() {
	local opt=--${1//_/-} l arg def
	l=$(grep -E -- "(^| )$opt( |$)" "$X/help1" | head -1) || return 0
	[ -n "$l" ] || return 0
	arg=$(sed -E "s/.*$opt ([A-Z|a-z]+) .*/\\1/;t;s/.*/-/" <<<"$l")
	def=$(sed -nE 's/.*\(default ([^)]*)\).*/\1/p' <<<"$l")
	echo "$arg ${def:--}"
}
# entry KEY: the text of KEY's tagged paragraph in the page (.TP, then
# ".B key" or ".BI key ...", up to the next .TP, .PP or .SH).
entry() {
	awk -v k="$1" '
	    want && /^\.(TP|PP|SH|SS)/ { exit }
	    want { print }
	    tp && ($1 == ".B" || $1 == ".BI") && $2 == k { want = 1; print; next }
	    { tp = ($0 == ".TP") }' "$PAGE"
}
missing=() baddef=() norange=() rangekeys=()
while read -r key val; do
	e=$(entry "$key")
	if [ -z "$e" ]; then missing+=("$key"); continue; fi
	h=$(help_of "$key")
	if [ -n "$h" ] && [ "${h#* }" != - ]; then
		want=${h#* }
	elif [ -n "$val" ]; then
		want=$val
	else
		want=none
	fi
	grep -qE "^Default: $(sed 's/[].[*^$\\/]/\\&/g' <<<"$want")([.;]| \()" <<<"$e" ||
	    baddef+=("$key (want Default: $want)")
	# Numeric keys have a range: the option's argument says so, or,
	# for a key the plugin has no option for, a numeric default.
	if { [ -n "$h" ] && [[ ${h%% *} =~ ^(SECONDS|N|SIZE)$ ]]; } ||
	    { [ -z "$h" ] && [[ $val =~ ^[0-9]+$ ]]; }; then
		if grep -qE '^Default: .*Range: [0-9]+[kM]? to [0-9]+[kM]?\.$' <<<"$e"; then
			rangekeys+=("$key")
		else
			norange+=("$key")
		fi
	fi
done <"$X/keys"
RC=-; OUT="missing: ${missing[*]}"
check "mailcanary.conf(5) has an entry for every key of the table" test ${#missing[@]} = 0
RC=-; OUT="wrong or missing default: ${baddef[*]}"
check "each entry states the program's default (Default: X)" test ${#baddef[@]} = 0
RC=-; OUT="no 'Range: A to B.': ${norange[*]}"
check "each numeric key states its range" test ${#norange[@]} = 0

# 3. The ranges the page states are the ones the programs enforce.
bytes() { case $1 in *k) echo $(( ${1%k} * 1024 )) ;; *M) echo $(( ${1%M} * 1048576 )) ;; *) echo "$1" ;; esac; }
accepts() {	# KEY VALUE: mailcanaryd -n loads the value ([global])
	printf '[global]\n%s = %s\n[probe p]\nmailbox = imap://127.0.0.1\nno_send = on\n' \
	    "$1" "$2" >"$X/r.conf"
	"$DAEMON" -n -c "$X/r.conf" >/dev/null 2>&1
}
bad=()
for key in "${rangekeys[@]}"; do
	r=$(entry "$key" | sed -nE 's/.*Range: ([0-9]+[kM]?) to ([0-9]+[kM]?)\.$/\1 \2/p')
	lo=$(bytes "${r% *}"); hi=$(bytes "${r#* }")
	accepts "$key" "$lo" || bad+=("$key=$lo refused")
	accepts "$key" "$hi" || bad+=("$key=$hi refused")
	if [ "$lo" -gt 0 ]; then accepts "$key" $((lo - 1)) && bad+=("$key=$((lo - 1)) accepted"); fi
	accepts "$key" $((hi + 1)) && bad+=("$key=$((hi + 1)) accepted")
done
RC=-; OUT="${bad[*]}"
check "the ranges of the page hold at both ends (${#rangekeys[@]} keys, tried on mailcanaryd -n)" \
    bash -c "[ ${#rangekeys[@]} -ge 7 ] && [ ${#bad[@]} = 0 ]"
check "a value past a range is refused with one line naming file, line and key" \
    bash -c "accepts() { :; }; printf '[global]\ntimeout = 3601\n[probe p]\nmailbox = imap://x\nno_send = on\n' >'$X/t.conf'; o=\$('$DAEMON' -n -c '$X/t.conf' 2>&1); rc=\$?; [ \$rc = 1 ] && [ \$(wc -l <<<\"\$o\") = 1 ] && grep -q 't.conf:2: timeout' <<<\"\$o\""
done_testing
