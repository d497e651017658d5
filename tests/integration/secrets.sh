#!/bin/bash
# No credential in a -vv trace, for every way libcurl logs in, against the
# real servers: Postfix's SMTP AUTH (SASL through Dovecot), Dovecot IMAP
# and POP3. The mail path offers one mechanism at a time (mailpath auth);
# each run's stdout and stderr are searched for each password as it goes
# over the wire: itself, base64 alone (LOGIN) and the PLAIN blob
# "\0user\0password". Each case also shows that the exchange it is about
# took place and succeeded.
. "$(dirname "$0")/../lib.sh"
require_servers
start_mailpath "${SECRETS_MAILPATH_PORT:-15200}"
PROXY=${SECRETS_PROXY_PORT:-15360}
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")
SMTP_PORT=${MP_SMTP##*:}
IMAP_HP=${MP_IMAP#imap://}; IMAP_HP=${IMAP_HP%%/*}
POP3_HP=${MP_POP3#pop3://}
BAD_PW=wrong-password-7

# The forms a password takes on the wire, one a line, for grep -F -f.
forms() {
	printf '%s\n' "$2"
	printf '%s' "$2" | base64 -w0; echo
	printf '\0%s\0%s' "$1" "$2" | base64 -w0; echo
}
{
	forms "$MP_FROM_USER" "$MP_FROM_PASSWORD"
	forms "$MP_TO_USER" "$MP_TO_PASSWORD"
	forms "$MP_BULK" "$MP_TO_PASSWORD"
	forms "$MP_FROM_USER" "$BAD_PW"
} >"$STATE/forms"
printf '%s\n' "$BAD_PW" >"$STATE/bad.pw"; chmod 600 "$STATE/bad.pw"
leaks() { printf '%s\n' "$1" | grep -F -f "$STATE/forms"; }
finds() { leaks "$1" >/dev/null; }
no_leak() { ! leaks "$OUT
$ERR" >&2; }
# trace HOST:PORT ERE: a line of the -vv trace for that server matches.
trace() { grep -qE "^check_mailcanary: $1 $2" <<<"$ERR"; }

# The search itself finds what it must: a trace line with the PLAIN blob
# (what check_mailcanary printed before this was fixed), or the password.
blob=$(sed -n 6p "$STATE/forms")
check "the search finds a PLAIN blob in a trace" \
    finds "check_mailcanary: $IMAP_HP > $blob"
check "the search finds a LOGIN password in a trace" \
    finds "check_mailcanary: 127.0.0.1:$SMTP_PORT > $(sed -n 2p "$STATE/forms")"
check "the search finds nothing in a clean trace" \
    bash -c '! grep -qF -f "$1" <<<"check_mailcanary: h:1 > AUTH PLAIN [hidden]"' _ "$STATE/forms"

smtp=(-S "$MP_SMTP" -f "$MP_FROM" -r "$MP_TO" --smtp-user "$MP_FROM_USER"
    --smtp-password-file "$MP_ROOT/smtp.pw")
imap=(-M "$MP_IMAP" --mailbox-user "$MP_TO_USER"
    --mailbox-password-file "$MP_ROOT/mbox.pw")
pop3=(--bounce-mailbox "$MP_POP3" --bounce-user "$MP_BULK"
    --bounce-password-file "$MP_ROOT/mbox.pw")
# cycle PROBE: SMTP AUTH, the IMAP test mailbox, the POP3 bounce mailbox.
cycle() {
	run --probe "$1" "${smtp[@]}" "${imap[@]}" "${pop3[@]}" \
	    --ca-file "$MP_CA" --state-dir "$STATE" -vv
}
logged_in() {
	check "$1: SMTP AUTH succeeded" trace "127.0.0.1:$SMTP_PORT" "< 235 "
	check "$1: IMAP login succeeded" trace "$IMAP_HP" "< A[0-9]+ OK .*Logged in"
	check "$1: POP3 login succeeded" trace "$POP3_HP" "< \+OK Logged in"
	check "$1: the canary was submitted" has "in flight"
	check "$1: no password in the output or the trace" no_leak
}

# ---- PLAIN: SMTP with the initial response (mailcanary sets
# CURLOPT_SASL_IR for SMTP), IMAP with it (Dovecot advertises SASL-IR),
# POP3 without (in a continuation) ----
cycle plain
logged_in "PLAIN"
check "PLAIN: SMTP sent AUTH PLAIN with a hidden initial response" \
    trace "127.0.0.1:$SMTP_PORT" "> AUTH PLAIN \[hidden\]$"
check "PLAIN: IMAP sent AUTHENTICATE PLAIN with a hidden initial response (SASL-IR)" \
    trace "$IMAP_HP" "> A[0-9]+ AUTHENTICATE PLAIN \[hidden\]$"
check "PLAIN: POP3 sent AUTH PLAIN, then the response hidden" \
    bash -c 'grep -A2 -E "$1 > AUTH PLAIN$" <<<"$2" | grep -qE "$1 > \[hidden\]$"' \
    _ "$POP3_HP" "$ERR"
run --probe plainbad "${smtp[@]:0:8}" --smtp-password-file "$STATE/bad.pw" \
    "${imap[@]}" --ca-file "$MP_CA" --state-dir "$STATE" -vv
check "wrong SMTP password: refused at SMTP AUTH" has "at SMTP AUTH: 535"
check "wrong SMTP password: not in the output or the trace" no_leak

# ---- PLAIN without SASL-IR: IMAP waits for "+", then the response ----
"$MAILPATH" auth "$MP_ROOT" plain no-sasl-ir
cycle plainnoir
logged_in "PLAIN without SASL-IR"
check "PLAIN without SASL-IR: IMAP sent AUTHENTICATE PLAIN alone, then the response hidden" \
    bash -c 'grep -A3 -E "$1 > A[0-9]+ AUTHENTICATE PLAIN$" <<<"$2" | grep -qE "$1 > \[hidden\]$"' \
    _ "$IMAP_HP" "$ERR"

# ---- LOGIN: the name and the password each in its own response ----
"$MAILPATH" auth "$MP_ROOT" login sasl-ir
cycle login
logged_in "LOGIN"
check "LOGIN: SMTP AUTH LOGIN with the name hidden, password asked, hidden" \
    bash -c 'grep -A2 -E "$1 > AUTH LOGIN \[hidden\]$" <<<"$2" | tr "\n" " " | grep -qE "< 334 UGFzc3dvcmQ6 .*> \[hidden\]"' \
    _ "127.0.0.1:$SMTP_PORT" "$ERR"
check "LOGIN: IMAP AUTHENTICATE LOGIN, the password asked for" \
    trace "$IMAP_HP" "< \+ UGFzc3dvcmQ6"
check "LOGIN: POP3 AUTH LOGIN, the name asked for" trace "$POP3_HP" "< \+ VXNlcm5hbWU6"
"$MAILPATH" auth "$MP_ROOT" login no-sasl-ir
cycle loginnoir
logged_in "LOGIN without SASL-IR"
check "LOGIN without SASL-IR: IMAP asked for the name" trace "$IMAP_HP" "< \+ VXNlcm5hbWU6"

# ---- CRAM-MD5: a challenge (shown), a response (hidden) ----
"$MAILPATH" auth "$MP_ROOT" cram-md5 sasl-ir
cycle cram
logged_in "CRAM-MD5"
for hp in "127.0.0.1:$SMTP_PORT" "$IMAP_HP" "$POP3_HP"; do
	check "CRAM-MD5: $hp used it, the response hidden" \
	    bash -c 'grep -A2 -E "$1 > (A[0-9]+ AUTHENTICATE|AUTH) CRAM-MD5$" <<<"$2" | grep -qE "$1 > \[hidden\]$"' \
	    _ "$hp" "$ERR"
done

# ---- APOP (POP3) ----
"$MAILPATH" auth "$MP_ROOT" apop
run --probe apop --no-send -M "$MP_POP3" --mailbox-user "$MP_TO_USER" \
    --mailbox-password-file "$MP_ROOT/mbox.pw" --ca-file "$MP_CA" \
    --state-dir "$STATE" -vv
check "APOP: logged in" trace "$POP3_HP" "< \+OK Logged in"
check "APOP: the command hidden" trace "$POP3_HP" "> APOP \[hidden\]$"
check "APOP: no password in the output or the trace" no_leak

# ---- IMAP LOGIN and POP3 USER/PASS: the password itself on the line.
# A relay hides the SASL mechanisms from libcurl, Dovecot checks. ----
"$MAILPATH" auth "$MP_ROOT" "plain login"
start_scripted "$PROXY" "noauth-proxy:${IMAP_HP##*:}"
start_scripted $((PROXY + 1)) "noauth-proxy:${POP3_HP##*:}"
run --probe clear --no-send -M "imap://127.0.0.1:$PROXY/INBOX" \
    --mailbox-user "$MP_TO_USER" --mailbox-password-file "$MP_ROOT/mbox.pw" \
    --bounce-mailbox "pop3://127.0.0.1:$((PROXY + 1))" --bounce-user "$MP_BULK" \
    --bounce-password-file "$MP_ROOT/mbox.pw" --mailbox-starttls never \
    --state-dir "$STATE" -vv
check "IMAP LOGIN: logged in" trace "127.0.0.1:$PROXY" "< A[0-9]+ OK Logged in"
check "IMAP LOGIN: the command hidden" trace "127.0.0.1:$PROXY" "> A[0-9]+ LOGIN \[hidden\]$"
check "POP3 USER/PASS: logged in" trace "127.0.0.1:$((PROXY + 1))" "< \+OK Logged in"
check "POP3 USER/PASS: both hidden" \
    bash -c 'grep -q "$1 > USER \[hidden\]$" <<<"$2" && grep -q "$1 > PASS \[hidden\]$" <<<"$2"' \
    _ "127.0.0.1:$((PROXY + 1))" "$ERR"
check "IMAP LOGIN, POP3 USER/PASS: no password in the output or the trace" no_leak

# ---- libcurl's own text: a proxy from the environment, with its
# password (nothing listens there) ----
printf 'px-secret-4711\n' >>"$STATE/forms"
OUT=$(env -u no_proxy -u NO_PROXY ALL_PROXY=socks5h://px:px-secret-4711@127.0.0.1:$((PROXY + 39)) \
    "$PLUGIN" --probe proxy --no-send "${imap[@]}" --ca-file "$MP_CA" \
    --state-dir "$STATE" -vv -t 5 2>&1); ERR=$OUT
check "proxy from the environment: named in the trace without its password" \
    trace "$IMAP_HP" "\* Uses proxy env variable ALL_PROXY == 'socks5h://\*\*\*@127"
check "proxy from the environment: its password nowhere" no_leak

done_testing
