#!/bin/bash
# The OAuth2 lab (tests/oauth2/lab) on its own, without mailcanary's code:
# tokens from tests/oauth2/mkjwt, logins with curl's command line. Real
# Dovecot validates the JWTs locally (oauth2 passdb) for IMAP and POP3,
# real Postfix asks it over SASL for SMTP AUTH; each of XOAUTH2 and
# OAUTHBEARER is offered alone in turn, and curl must use it. A good
# token logs in everywhere; an expired one, one signed with another key,
# one for another user, for another audience, from another issuer,
# without the scope, or naming an unknown key id is refused, and
# Dovecot's log must give that reason (so a refusal for some other cause
# does not pass). The mail sent over SMTP is then read over IMAP and POP3.
# After "lab rotate" the old key's tokens are refused and the new key's
# accepted; after "lab stop" nothing is left.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
LAB=$top_srcdir/tests/oauth2/lab
MKJWT=$top_srcdir/tests/oauth2/mkjwt
MP_ROOT=$(mktemp -d /tmp/mailcanary-oauth2lab.XXXXXX)	# on_exit keeps its log/ on failure
CLEANUP+=("$LAB stop $MP_ROOT; rm -rf $MP_ROOT $MP_ROOT.log")
OAUTH2_LAB_PORT=${OAUTH2_LAB_PORT:-18100} "$LAB" start "$MP_ROOT" >"$MP_ROOT.log" 2>&1 ||
    { echo "Bail out! the OAuth2 lab did not start: $(cat "$MP_ROOT.log")"; exit 1; }
# shellcheck disable=SC1091
. "$MP_ROOT/env"
WORK=$(mktemp -d); CLEANUP+=("rm -rf $WORK")
head -c 32 /dev/urandom >"$WORK/wrong.key"
GOOD=(iss="$ISSUER" sub="$LOGIN" email="$LOGIN" aud="$AUDIENCE"
    azp="$CLIENT_ID" scope="$SCOPE")
jwt() { "$MKJWT" "$@"; }
good_jwt() { jwt "$KEYFILE" "${GOOD[@]}" "$@"; }

# login PROTO TOKEN [CURL ARGS...]: one curl session with the token,
# STARTTLS required; sets RC and OUT (curl's verbose trace and output).
login() {
	local proto=$1 tok=$2 url
	shift 2
	case $proto in
	imap) url=$IMAP; set -- -X NOOP "$@" ;;
	pop3) url=$POP3 ;;
	smtp) url=$SMTP; set -- --mail-from "$LOGIN" --mail-rcpt "$LOGIN" -T "$WORK/msg" "$@" ;;
	esac
	OUT=$(curl -v -sS --max-time 20 --cacert "$CA" --ssl-reqd --user "$LOGIN" \
	    --oauth2-bearer "$tok" "$@" "$url" 2>&1 | tr -d '\r'; exit "${PIPESTATUS[0]}") &&
	    RC=0 || RC=$?
}
# capabilities URL: what the server offers before login (over TLS).
capabilities() {
	OUT=$(curl -v -sS --max-time 20 --cacert "$CA" --ssl-reqd "$@" 2>&1 | tr -d '\r')
}
# sent MECH: the trace shows the client starting that mechanism.
sent() {
	local m=${1^^}
	grep -qE "^> (A[0-9]+ AUTHENTICATE|AUTH) $m( |\$)" <<<"$OUT"
}
accepted() { [ "$RC" = 0 ] && grep -qE '^< (A[0-9]+ OK .*Logged in|\+OK Logged in|235 )' <<<"$OUT"; }
# logged REGEX FILE BEFORE: FILE has more lines matching REGEX than
# BEFORE, within 3 s (Dovecot logs through its log process).
count() { grep -cE "$1" "$2" 2>/dev/null || true; }
logged() {
	local i
	for i in $(seq 1 30); do
		[ "$(count "$1" "$2")" -gt "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# refused DESC PROTO REASON MKJWT-ARGS...: the login with that token fails
# and Dovecot's log gives REASON for it.
refused() {
	local desc=$1 proto=$2 reason=$3 before tok
	shift 3
	before=$(count "$reason" "$DOVECOT_LOG")
	tok=$(jwt "$@")
	login "$proto" "$tok"
	if [ "$RC" != 0 ] && ! accepted && logged "$reason" "$DOVECOT_LOG" "$before"; then
		ok "$desc"
	else
		not_ok "$desc"; diag "rc=$RC"; diag "$(tail -n 5 <<<"$OUT")"
		diag "$(tail -n 3 "$DOVECOT_LOG")"
	fi
}

printf 'From: %s\r\nTo: %s\r\nSubject: lab check %s\r\n\r\nbody\r\n' \
    "$LOGIN" "$LOGIN" "$$" >"$WORK/msg"
check "lab env names the key file, and it holds 32 random bytes" \
    test "$(stat -c %s "$KEYFILE")" = 32
check "Dovecot's key dict holds the key's base64 under CLIENT_ID/HS256/default" \
    test "$(cat "$LAB_DIR/keys/$CLIENT_ID/HS256/default")" = "$(base64 -w0 <"$KEYFILE")"

for mech in xoauth2 oauthbearer; do
	other=oauthbearer; [ $mech = oauthbearer ] && other=xoauth2
	M=${mech^^}
	"$LAB" mechs "$MP_ROOT" "$mech" >"$MP_ROOT.log" 2>&1 ||
	    { echo "Bail out! lab mechs $mech: $(cat "$MP_ROOT.log")"; exit 1; }
	capabilities "${IMAP%/INBOX}" -X CAPABILITY
	check "$M: IMAP offers AUTH=$M and not the other" \
	    bash -c 'grep -q "AUTH=$1" <<<"$3" && ! grep -qi "AUTH=$2" <<<"$3"' _ "$M" "$other" "$OUT"
	capabilities "$SMTP" -X NOOP
	check "$M: SMTP AUTH (Postfix, from Dovecot's SASL) offers only $M" \
	    grep -qE "^< 250-AUTH $M\$" <<<"$OUT"
	tok=$(good_jwt)
	for proto in imap pop3 smtp; do
		P=${proto^^}
		login "$proto" "$tok"
		check "$M: $P accepts a good token" accepted
		check "$M: $P: curl used $M" sent "$mech"
	done
	check "$M: Dovecot logged the IMAP and POP3 logins with method=$M" \
	    bash -c '[ "$(grep -cE "(imap|pop3)-login: Info: Login: user=<$1>, method=$2," "$3")" -ge 2 ]' \
	    _ "$LOGIN" "$M" "$DOVECOT_LOG"
	check "$M: Postfix logged the SMTP login with sasl_method=$M" \
	    grep -q "sasl_method=$M, sasl_username=$LOGIN" "$POSTFIX_LOG"
	for proto in imap pop3 smtp; do
		P=${proto^^}
		refused "$M: $P refuses an expired token" "$proto" "Token has expired" \
		    "$KEYFILE" "${GOOD[@]}" iat=-600 exp=-60
		refused "$M: $P refuses a token signed with another key" "$proto" \
		    "Incorrect JWT signature" "$WORK/wrong.key" "${GOOD[@]}"
		refused "$M: $P refuses a token for another user" "$proto" \
		    "Username '$LOGIN' did not match 'other@oauth2.test'" \
		    "$KEYFILE" "${GOOD[@]}" sub=other@oauth2.test email=other@oauth2.test
	done
done

"$LAB" mechs "$MP_ROOT" "xoauth2 oauthbearer" >"$MP_ROOT.log" 2>&1 ||
    { echo "Bail out! lab mechs: $(cat "$MP_ROOT.log")"; exit 1; }
capabilities "$SMTP" -X NOOP
check "both: SMTP AUTH offers XOAUTH2 and OAUTHBEARER" \
    grep -qE "^< 250-AUTH XOAUTH2 OAUTHBEARER\$" <<<"$OUT"
refused "IMAP refuses a token for another audience" imap \
    "Token audience does not include '$AUDIENCE'" "$KEYFILE" "${GOOD[@]}" aud=https://other.test/
refused "IMAP refuses a token without an audience" imap \
    "Token audience does not include '$AUDIENCE'" "$KEYFILE" "${GOOD[@]}" aud=
refused "IMAP refuses a token from another issuer" imap \
    "Issuer 'https://evil.test/' is not allowed" "$KEYFILE" "${GOOD[@]}" iss=https://evil.test/
refused "IMAP refuses a token without the scope" imap \
    "configured scope '$SCOPE' missing from token scope 'other'" "$KEYFILE" "${GOOD[@]}" scope=other
refused "IMAP refuses a token naming an unknown key id" imap \
    "HS256 key 'other' not found" --kid other "$KEYFILE" "${GOOD[@]}"
refused "IMAP refuses a token of an unknown client (azp)" imap \
    "HS256 key 'default' not found" "$KEYFILE" "${GOOD[@]}" azp=stranger
login imap "$(good_jwt azp=)"
check "IMAP accepts a token without azp (the key under default/)" accepted

# The mail sent over SMTP (once per mechanism) is in the Maildir and
# readable with a token over IMAP and POP3.
subj="lab check $$"
for i in $(seq 1 100); do
	[ "$(grep -l "^Subject: $subj" "$MAILDIR"/new/* "$MAILDIR"/cur/* 2>/dev/null | wc -l)" -ge 2 ] && break
	sleep 0.1
done
check "both messages sent over SMTP were delivered to the Maildir" \
    test "$(grep -l "^Subject: $subj" "$MAILDIR"/new/* "$MAILDIR"/cur/* 2>/dev/null | wc -l)" = 2
login imap "$(good_jwt)" -X "SEARCH SUBJECT \"$subj\""
check "IMAP finds them (SEARCH SUBJECT)" grep -qE '^\* SEARCH 1 2' <<<"$OUT"
OUT=$(curl -sS --cacert "$CA" --ssl-reqd --user "$LOGIN" \
    --oauth2-bearer "$(good_jwt)" "$POP3/1" 2>&1) && RC=0 || RC=$?
check "POP3 retrieves the first one (RETR 1)" grep -q "^Subject: $subj" <<<"$OUT"

# Rotation: Dovecot trusts the new key only.
"$LAB" rotate "$MP_ROOT" >"$MP_ROOT.log" 2>&1 ||
    { echo "Bail out! lab rotate: $(cat "$MP_ROOT.log")"; exit 1; }
check "rotate: the old key is kept as KEYFILE.old, KEYFILE is new" \
    bash -c '! cmp -s "$1" "$1.old"' _ "$KEYFILE"
for proto in imap smtp; do
	P=${proto^^}
	refused "rotate: $P refuses a token signed with the old key" $proto \
	    "Incorrect JWT signature" "$KEYFILE.old" "${GOOD[@]}"
	login $proto "$(good_jwt)"
	check "rotate: $P accepts a token signed with the new key" accepted
done

"$LAB" stop "$MP_ROOT"
check "stop: nothing listens on the lab's ports any more" \
    bash -c '! (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/$2) 2>/dev/null && ! (exec 3<>/dev/tcp/127.0.0.1/$3) 2>/dev/null' \
    _ "$SMTP_PORT" "$IMAP_PORT" "$POP3_PORT"
check "stop: no Dovecot or Postfix master of the lab runs" \
    bash -c '! kill -0 "$(cat "$1/run/dovecot/master.pid" 2>/dev/null)" 2>/dev/null && ! kill -0 "$(head -1 "$1/postfix/queue/pid/master.pid" 2>/dev/null | tr -dc 0-9)" 2>/dev/null' _ "$MP_ROOT"
done_testing
