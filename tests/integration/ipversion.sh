#!/bin/bash
# -4 / -6 on the real loopback mail path. Postfix and Dovecot listen on
# 127.0.0.1 only, so socat forwards to them from two listeners on one port
# each, one on ::1 and one on 127.0.0.1, and logs which one a connection
# reached. libcurl resolves "localhost" to both ::1 and 127.0.0.1 (RFC
# 6761, whatever /etc/hosts says): -6 must land on the ::1 listener, -4 on
# 127.0.0.1; -6 to an IPv4 literal fails in one clear line; -4 with -6 is
# refused; a canary over [::1] is delivered (OK) and its submission's
# hand-over time is in the perfdata (handover=) and the state.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v socat >/dev/null || { echo "Bail out! socat is not installed (scripts/deps)"; exit 1; }
BASE=${IPVER_TEST_PORT:-17600}
MAILPATH_GREYLIST_DELAY=2 start_mailpath "$BASE"
STATE=$(mktemp -d /tmp/mailcanary-ipver.XXXXXX); CLEANUP+=("rm -rf $STATE")
F_SMTP=$((BASE + 100)) F_IMAP=$((BASE + 101))

# forward PORT TARGET: listeners on [::1]:PORT and 127.0.0.1:PORT to
# 127.0.0.1:TARGET, logging to $STATE/PORT.6 and $STATE/PORT.4.
forward() {
	local i
	socat -d -d TCP6-LISTEN:"$1",bind=[::1],ipv6only=1,reuseaddr,fork \
	    TCP4:127.0.0.1:"$2" 2>"$STATE/$1.6" &
	CLEANUP+=("stop_pid $!")
	socat -d -d TCP4-LISTEN:"$1",bind=127.0.0.1,reuseaddr,fork \
	    TCP4:127.0.0.1:"$2" 2>"$STATE/$1.4" &
	CLEANUP+=("stop_pid $!")
	for i in $(seq 1 50); do
		grep -q listening "$STATE/$1.6" 2>/dev/null &&
		    grep -q listening "$STATE/$1.4" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! socat did not listen on $1"; exit 1
}
MP_SMTP_PORT=${MP_SMTP##*:}
MP_IMAP_PORT=${MP_IMAP##*:}; MP_IMAP_PORT=${MP_IMAP_PORT%%/*}
forward $F_SMTP "$MP_SMTP_PORT"
forward $F_IMAP "$MP_IMAP_PORT"
# accepted PORT FAMILY: connections that listener has taken so far.
accepted() { grep -c "accepting connection" "$STATE/$1.$2" 2>/dev/null || true; }
counts() { echo "$(accepted $F_SMTP 6) $(accepted $F_SMTP 4) $(accepted $F_IMAP 6) $(accepted $F_IMAP 4)"; }

mbox=(--mailbox-user "$MP_TO_USER" --mailbox-password-file "$MP_ROOT/mbox.pw"
    --ca-file "$MP_CA" --state-dir "$STATE" -t 20)
via() {	# via HOST PROBE ARGS...: a run through the forwarders at HOST
	local host=$1 probe=$2
	shift 2
	run --probe "$probe" -S "smtp://$host:$F_SMTP" -f "$MP_FROM" -r "$MP_TO" \
	    -M "imap://$host:$F_IMAP/INBOX" "${mbox[@]}" "$@"
}

# ---- -6 with a name that resolves to both: ::1 ----
before=$(counts)
via localhost six -6
check "-6 localhost: the canary is sent (OK, in flight)" bash -c '[ "$1" = 0 ] && grep -q "in flight" <<<"$2"' _ "$RC" "$OUT"
diag_last
read -r s6 s4 i6 i4 <<<"$before"
read -r S6 S4 I6 I4 <<<"$(counts)"
check "-6 localhost: SMTP reached the ::1 listener" test "$S6" -gt "$s6"
check "-6 localhost: and not the 127.0.0.1 one" test "$S4" = "$s4"
check "-6 localhost: IMAP reached the ::1 listener" test "$I6" -gt "$i6"
check "-6 localhost: and not the 127.0.0.1 one" test "$I4" = "$i4"
check "-6 localhost: handover= in the perfdata" bash -c 'grep -Eq "\| .*handover=[0-9]+\.[0-9]{3}s;;;0" <<<"$1"' _ "$OUT"
check "-6 localhost: the hand-over kept on the canary" jqt '.canaries[-1].handover > 0 and .canaries[-1].handover < 20' "$STATE/six.json"

# ---- -4 with the same name: 127.0.0.1 ----
before=$(counts)
via localhost four -4
check "-4 localhost: the canary is sent (OK)" rc_is 0
read -r s6 s4 i6 i4 <<<"$before"
read -r S6 S4 I6 I4 <<<"$(counts)"
check "-4 localhost: SMTP reached the 127.0.0.1 listener" test "$S4" -gt "$s4"
check "-4 localhost: and not the ::1 one" test "$S6" = "$s6"
check "-4 localhost: IMAP reached the 127.0.0.1 listener" test "$I4" -gt "$i4"
check "-4 localhost: and not the ::1 one" test "$I6" = "$i6"

# ---- -6 to an IPv4 literal: one clear UNKNOWN line ----
run --probe lit4 --no-send -6 -M "imap://127.0.0.1:$F_IMAP/INBOX" "${mbox[@]}"
check "-6 to 127.0.0.1: UNKNOWN" bash -c '[ "$1" = 3 ] && [ "$(wc -l <<<"$2")" = 1 ]' _ "$RC" "$OUT"
check "-6 to 127.0.0.1: the line names the server and IPv6 only" bash -c 'case $1 in "MAILCANARY UNKNOWN - "*"IMAP 127.0.0.1:'$F_IMAP' failed at IMAP connect: "*" over IPv6 only (-6)"*) ;; *) exit 1 ;; esac' _ "$OUT"
diag_last

# ---- -4 to an IPv6 literal: the same (localhost alone cannot show -4:
# libcurl lists 127.0.0.1 first, so it goes there without -4 too) ----
run --probe lit6only --no-send -4 -M "imap://[::1]:$F_IMAP/INBOX" "${mbox[@]}"
check "-4 to [::1]: UNKNOWN in one line naming IPv4 only" bash -c '[ "$1" = 3 ] && [ "$(wc -l <<<"$2")" = 1 ] && case $2 in "MAILCANARY UNKNOWN - "*"IMAP [::1]:'$F_IMAP' failed at IMAP connect: "*" over IPv4 only (-4)"*) ;; *) exit 1 ;; esac' _ "$RC" "$OUT"
diag_last

# ---- -4 with -6: refused in one line ----
via localhost both -4 -6
check "-4 -6: UNKNOWN in one line, nothing sent" bash -c '[ "$1" = 3 ] && [ "$2" = "MAILCANARY UNKNOWN - ipv4 and ipv6 exclude each other: give -4 or -6, not both" ]' _ "$RC" "$OUT"
check "-4 -6: no state written" test ! -e "$STATE/both.json"

# ---- a canary over [::1] literals, delivered ----
before=$(counts)
via '[::1]' lit6 -6 --insecure
check "[::1]: the canary is sent (OK)" rc_is 0
for i in $(seq 1 40); do
	via '[::1]' lit6 -6 --insecure --no-send
	jqt '.canaries[-1].status == "delivered"' "$STATE/lit6.json" && break
	sleep 1
done
check "[::1]: delivered (OK)" bash -c '[ "$1" = 0 ] && jq -e ".canaries[-1].status == \"delivered\"" "$2" >/dev/null' _ "$RC" "$STATE/lit6.json"
diag_last
check "[::1]: the OK line carries latency= and handover=" bash -c 'grep -q "^MAILCANARY OK - .*| latency=.* handover=[0-9.]*s;;;0" <<<"$1"' _ "$OUT"
read -r s6 s4 i6 i4 <<<"$before"
read -r S6 S4 I6 I4 <<<"$(counts)"
check "[::1]: only the ::1 listeners were used" bash -c '[ "$1" -gt "$2" ] && [ "$3" = "$4" ] && [ "$5" -gt "$6" ] && [ "$7" = "$8" ]' _ "$S6" "$s6" "$S4" "$s4" "$I6" "$i6" "$I4" "$i4"
run --probe lit6 --no-send -6 --insecure -M "imap://[::1]:$F_IMAP/INBOX" "${mbox[@]}" --output json
check "[::1]: JSON output carries handover" bash -c 'jq -e "[.perfdata[] | select(.label == \"handover\" and .uom == \"s\" and .value > 0)] | length == 1" <<<"$1" >/dev/null' _ "$OUT"
done_testing
