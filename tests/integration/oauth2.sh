#!/bin/bash
# OAuth2 end to end: check_mailcanary fetches tokens from the scripted
# token endpoint (tests/oauth2/tokenserver, HTTPS) and logs in with them
# to the real servers of the OAuth2 lab (tests/oauth2/lab: Postfix
# submission with Dovecot SASL, Dovecot IMAP and POP3 validating the JWTs
# locally). Canaries are sent and found over IMAP with XOAUTH2 alone and
# over POP3 with OAUTHBEARER alone (the servers' logs name the mechanism),
# one token fetch serving every login until it is refused; token files
# (smtp_, mailbox_, bounce_token_file) are read afresh on every run.
# Refusals: a token the mail server no longer trusts (the lab's key
# rotated, the endpoint still signing with the old one) and a token that
# expired before the client expected (the JWT's exp shorter than
# expires_in) make the run UNKNOWN with the server's reply, and the run
# after it fetches a new token and recovers.
. "$(dirname "$0")/../lib.sh"
require_servers
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
LAB=$top_srcdir/tests/oauth2/lab
MKJWT=$top_srcdir/tests/oauth2/mkjwt
TOKENSERVER=$top_srcdir/tests/oauth2/tokenserver
BASE=${OAUTH2_E2E_PORT:-18150}
TS_PORT=$((BASE + 40))
T=$(mktemp -d /tmp/mailcanary-oauth2.XXXXXX)
chmod 755 "$T"			# Postfix and Dovecot walk into the lab below
CLEANUP+=("rm -rf $T")
MP_ROOT=$T/lab			# on failure, lib.sh keeps its log/
CLEANUP+=("$LAB stop $T/lab")
OAUTH2_LAB_PORT=$BASE "$LAB" start "$T/lab" >"$T/lab.out" 2>&1 ||
    { echo "Bail out! the OAuth2 lab did not start: $(cat "$T/lab.out")"; exit 1; }
# shellcheck disable=SC1091
. "$T/lab/env"
STATE=$T/state
mkdir -m 700 "$STATE"
printf 'lab-client-secret-%s\n' "$$" >"$T/secret"
chmod 600 "$T/secret"
TSLOG=$T/tokenserver.log CONTROL=$T/tokenserver.control
: >"$TSLOG"

# The token endpoint, signing with the key in KEYFILE as it is now.
start_tokenserver() {
	local i
	python3 "$TOKENSERVER" --port "$TS_PORT" --key "$KEYFILE" \
	    --cert "$LAB_DIR/tls/server.crt" --certkey "$LAB_DIR/tls/server.key" \
	    --log "$TSLOG" --control "$CONTROL" --issuer "$ISSUER" \
	    --audience "$AUDIENCE" --user "$LOGIN" --client-secret-file "$T/secret" \
	    2>>"$T/tokenserver.err" &
	TS_PID=$!
	CLEANUP+=("stop_pid $TS_PID")
	for i in $(seq 1 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$TS_PORT") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! the token endpoint did not start: $(cat "$T/tokenserver.err")"
	exit 1
}
start_tokenserver

# Token files: a JWT for LOGIN (or the bounce login) made with mkjwt.
jwt_for() { "$MKJWT" "$KEYFILE" iss="$ISSUER" sub="$1" email="$1" \
    aud="$AUDIENCE" azp="$CLIENT_ID" scope="$SCOPE" "${@:2}"; }
token_file() {	# FILE LOGIN [CLAIM=VALUE...]
	(umask 077; jwt_for "${@:2}" >"$1")
}
token_file "$T/smtp.token" "$LOGIN"
token_file "$T/mailbox.token" "$LOGIN"
token_file "$T/bounce.token" "$BOUNCE_LOGIN"

cat >"$T/mailcanary.conf" <<EOT
[global]
state_dir = $STATE
ca_file = $CA
timeout = 20
from = $LOGIN
to = $LOGIN
smtp = $SMTP
smtp_user = $LOGIN
mailbox_user = $LOGIN

[oauth2 lab]
token_url = https://127.0.0.1:$TS_PORT/oauth2/v2.0/token
client_id = $CLIENT_ID
client_secret_file = $T/secret
scope = $SCOPE
grant = client_credentials

; the same registration asking for one more scope: its own cache
[oauth2 short]
token_url = https://127.0.0.1:$TS_PORT/oauth2/v2.0/token
client_id = $CLIENT_ID
client_secret_file = $T/secret
scope = $SCOPE offline
grant = client_credentials

[probe imap]
smtp_oauth2 = lab
mailbox = $IMAP
mailbox_oauth2 = lab

[probe pop3]
smtp_oauth2 = lab
mailbox = $POP3
mailbox_oauth2 = lab

[probe files]
smtp_token_file = $T/smtp.token
mailbox = $IMAP
mailbox_token_file = $T/mailbox.token
bounce_mailbox = $POP3
bounce_user = $BOUNCE_LOGIN
bounce_token_file = $T/bounce.token

[probe short]
smtp_oauth2 = short
mailbox = $IMAP
mailbox_oauth2 = short
EOT
chmod 600 "$T/mailcanary.conf"

mc() { run --config "$T/mailcanary.conf" "$@"; }
fetches() { grep -c "result=ok" "$TSLOG" || true; }
# wait_delivered_last PROBE: the same for its last canary, and the run OK.
wait_delivered_last() {
	local i
	for i in $(seq 1 20); do
		mc --probe "$1" --no-send
		[ "$RC" = 0 ] && jqt '.canaries[-1].status == "delivered"' "$STATE/$1.json" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
# wait_delivered PROBE: re-runs the probe with --no-send until its first
# canary is delivered (10 s at most).
wait_delivered() {
	local i
	for i in $(seq 1 20); do
		mc --probe "$1" --no-send
		jqt '.canaries[0].status == "delivered"' "$STATE/$1.json" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
count() { grep -cE "$1" "$2" 2>/dev/null || true; }
mechs() {
	"$LAB" mechs "$LAB_DIR" "$1" >"$T/lab.out" 2>&1 ||
	    { echo "Bail out! lab mechs $1: $(cat "$T/lab.out")"; exit 1; }
}
no_token_in_output() {
	local t
	for t in $(cat "$STATE"/oauth2-*.json "$T"/*.token 2>/dev/null |
	    grep -oE 'eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+'); do
		case "$OUT$ERR" in *"$t"*) return 1 ;; esac
	done
	return 0
}

# ---- IMAP, XOAUTH2 alone: the first fetch, then the cache ----
mechs xoauth2
mc --probe imap
check "imap/XOAUTH2: the first run sends a canary (OK)" rc_is 0
check "imap/XOAUTH2: ... the SMTP AUTH took the token" \
    jqt '.canaries[0].queue_id | length > 0' "$STATE/imap.json"
check "imap/XOAUTH2: one token fetched from the endpoint" test "$(fetches)" = 1
check "imap/XOAUTH2: the canary is found over IMAP" wait_delivered imap
check "imap/XOAUTH2: OK, delivered" bash -c '[ "$1" = 0 ] && grep -q "delivered in" <<<"$2"' _ "$RC" "$OUT"
check "imap/XOAUTH2: every later login used the cached token (still one fetch)" \
    test "$(fetches)" = 1
check "imap/XOAUTH2: Dovecot logged IMAP logins with method=XOAUTH2" \
    grep -qE "imap-login: Info: Login: user=<$LOGIN>, method=XOAUTH2," "$DOVECOT_LOG"
check "imap/XOAUTH2: Postfix logged the SMTP AUTH with sasl_method=XOAUTH2" \
    grep -q "sasl_method=XOAUTH2, sasl_username=$LOGIN" "$POSTFIX_LOG"
check "imap/XOAUTH2: the token cache is 0600" \
    bash -c 'for f in "$1"/oauth2-lab-*.json; do [ "$(stat -c %a "$f")" = 600 ] || exit 1; done' _ "$STATE"
check "imap/XOAUTH2: no token in the output" no_token_in_output

# ---- POP3, OAUTHBEARER alone: the same provider's cached token ----
mechs oauthbearer
mc --probe pop3
check "pop3/OAUTHBEARER: the run sends a canary (OK)" rc_is 0
check "pop3/OAUTHBEARER: the canary is found over POP3" wait_delivered pop3
check "pop3/OAUTHBEARER: still one fetch (the provider's cache serves both probes)" \
    test "$(fetches)" = 1
check "pop3/OAUTHBEARER: Dovecot logged POP3 logins with method=OAUTHBEARER" \
    grep -qE "pop3-login: Info: Login: user=<$LOGIN>, method=OAUTHBEARER," "$DOVECOT_LOG"
check "pop3/OAUTHBEARER: Postfix logged the SMTP AUTH with sasl_method=OAUTHBEARER" \
    grep -q "sasl_method=OAUTHBEARER, sasl_username=$LOGIN" "$POSTFIX_LOG"
mc --probe pop3 -vv --no-send
check "pop3/OAUTHBEARER: the -vv trace shows AUTH OAUTHBEARER, the token hidden" \
    bash -c 'grep -qE "> AUTH OAUTHBEARER" <<<"$1" && grep -q "\[hidden\]" <<<"$1"' _ "$ERR"
check "pop3/OAUTHBEARER: no token in the -vv trace" no_token_in_output

# ---- token files, both mechanisms offered ----
mechs "xoauth2 oauthbearer"
before=$(fetches)
mc --probe files
check "files: the run sends a canary with smtp_token_file (OK)" rc_is 0
check "files: the canary is found with mailbox_token_file" wait_delivered files
check "files: the POP3 bounce mailbox took bounce_token_file (no error)" \
    bash -c '[ "$1" = 0 ] && ! grep -qi "bounce mailbox" <<<"$2"' _ "$RC" "$OUT"
check "files: Dovecot logged the bounce login" \
    grep -qE "pop3-login: Info: Login: user=<$BOUNCE_LOGIN>, method=OAUTHBEARER," "$DOVECOT_LOG"
check "files: nothing fetched from the endpoint" test "$(fetches)" = "$before"
token_file "$T/mailbox.token" "$LOGIN" iat=-600 exp=-60
n=$(count "Token has expired" "$DOVECOT_LOG")
mc --probe files --no-send
check "files: an expired token in the file: UNKNOWN" rc_is 3
check "files: ... naming the IMAP server's reply" has "NO [AUTHENTICATIONFAILED]"
check "files: ... and Dovecot refused it as expired" \
    test "$(count "Token has expired" "$DOVECOT_LOG")" -gt "$n"
token_file "$T/mailbox.token" "$LOGIN"
mc --probe files --no-send
check "files: a fresh token in the file is read on the next run (OK)" rc_is 0

# ---- the mail server refuses the token: the lab's key rotated, the
# endpoint still signs with the old one ----
"$LAB" rotate "$LAB_DIR" >"$T/lab.out" 2>&1 ||
    { echo "Bail out! lab rotate: $(cat "$T/lab.out")"; exit 1; }
n=$(count "Incorrect JWT signature" "$DOVECOT_LOG")
before=$(fetches)
mc --probe imap
check "refused: CRITICAL (the canary could not be submitted)" rc_is 2
check "refused: ... the canary is recorded as not submitted" \
    jqt '.canaries[-1].status == "submit_failed"' "$STATE/imap.json"
check "refused: the error says the token of [oauth2 lab] was refused" \
    has "token of [oauth2 lab] was refused"
check "refused: ... with the IMAP server's reply" has "NO [AUTHENTICATIONFAILED]"
check "refused: ... and the SMTP server's (535)" has "535"
check "refused: Dovecot refused the signature" \
    test "$(count "Incorrect JWT signature" "$DOVECOT_LOG")" -gt "$n"
check "refused: the refused cached token was not used again (a new fetch)" \
    test "$(fetches)" -gt "$before"
check "refused: no token in the output" no_token_in_output
stop_pid "$TS_PID"
start_tokenserver		# now with the new key
before=$(fetches)
mc --probe imap
check "refused: with the endpoint on the new key, the next run logs in and submits" \
    jqt '.canaries[-1].queue_id | length > 0' "$STATE/imap.json"
check "refused: ... with a new token" test "$(fetches)" -gt "$before"
check "refused: ... no more refusals in the output" \
    bash -c '! grep -q "was refused: .*AUTHENTICATIONFAILED" <<<"$1"' _ "$OUT"
check "refused: ... and its canary is found" wait_delivered_last imap

# ---- a token that expires before the client expects: the endpoint
# says expires_in 3600 but the JWT's exp is 5 s away ----
printf 'jwt_lifetime=5\n' >"$CONTROL"
before=$(fetches)
mc --probe short
check "expired: the run with a fresh 5 s token is OK" rc_is 0
check "expired: ... after one fetch" test "$(fetches)" = $((before + 1))
sleep 6
: >"$CONTROL"
n=$(count "Token has expired" "$DOVECOT_LOG")
before=$(fetches)
mc --probe short
check "expired: the next run's mailbox login, on the cached token, fails: UNKNOWN" rc_is 3
check "expired: ... the token of [oauth2 short] was refused, with the server's reply" \
    bash -c 'grep -qF "token of [oauth2 short] was refused" <<<"$1" && grep -qF "NO [AUTHENTICATIONFAILED]" <<<"$1"' _ "$OUT"
check "expired: Dovecot refused it as expired" \
    test "$(count "Token has expired" "$DOVECOT_LOG")" -gt "$n"
check "expired: ... and the same run's SMTP AUTH, on a token fetched anew, submitted" \
    bash -c '[ "$1" -gt "$2" ] && jq -e ".canaries[-1].queue_id | length > 0" "$3" >/dev/null' \
    _ "$(fetches)" "$before" "$STATE/short.json"
check "expired: the run after is OK, and finds the canary" wait_delivered_last short
done_testing
