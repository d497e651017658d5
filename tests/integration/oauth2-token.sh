#!/bin/bash
# The OAuth2 client, driven through the real programs: `mailcanary
# oauth2-token` and check_mailcanary against tests/oauth2/tokenserver
# (an HTTPS token endpoint with a throwaway certificate; plain HTTP on
# loopback) and tests/oauth2/mailserver (SMTP and IMAP that take only
# XOAUTH2/OAUTHBEARER and check each JWT). First fetch, cache hit, refresh
# ahead of expiry, the refresh token's rotation, a token the server
# refuses before it was due to expire, every error of the token endpoint,
# the configuration's refusals, two runs sharing a provider, both SASL
# mechanisms, a junk folder's login, tokens past 1 KiB in token files,
# refresh_token_file unreadable, a link or another's, a cache that cannot
# be saved, a cached token with a control character, and no token, secret
# or refresh token in any output, JSON, state file or -vv trace. The real
# Dovecot/Postfix logins are the lab's (tests/integration/oauth2-lab.sh).
# Ports: OAUTH2_TEST_PORT (18000) to +9.
. "$(dirname "$0")/../lib.sh"
for c in python3 openssl jq; do
	command -v $c >/dev/null || { echo "1..0 # SKIP $c is not installed"; exit 0; }
done
BASE=${OAUTH2_TEST_PORT:-18000}
TS_PORT=$((BASE + 1)) HTTP_PORT=$((BASE + 2)) SMTP_PORT=$((BASE + 3)) BIG_PORT=$((BASE + 6))
IMAP_PORT=$((BASE + 4)) POP3_PORT=$((BASE + 5)) SNMP_PORT=$((BASE + 8)) DEAD_PORT=$((BASE + 9))
TOOL=$top_builddir/plugins/mailcanary
TOKENSERVER=$top_srcdir/tests/oauth2/tokenserver
MAILSERVER=$top_srcdir/tests/oauth2/mailserver
D=$(mktemp -d /tmp/mailcanary-oauth2.XXXXXX); CLEANUP+=("rm -rf $D")
chmod 700 "$D"
LOGIN=canary@oauth2.test SECRET=client-secret-$RANDOM-$RANDOM-s3cr3t
SEED_RT=rt-seed-$RANDOM$RANDOM-refresh

head -c 32 /dev/urandom >"$D/jwt.key"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$D/ts.key" -out "$D/ts.crt" 2>/dev/null ||
    { echo "Bail out! openssl could not make a certificate"; exit 1; }
printf '%s\n' "$SECRET" >"$D/secret"
printf '%s\n' "$SEED_RT" >"$D/rt.seed"
cp "$D/rt.seed" "$D/refresh"
chmod 600 "$D/secret" "$D/refresh"

# wait_port PORT: until something listens there (5 s).
wait_port() {
	local i
	for i in $(seq 1 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! nothing listens on $1"; exit 1
}
python3 "$TOKENSERVER" --port "$TS_PORT" --key "$D/jwt.key" \
    --cert "$D/ts.crt" --certkey "$D/ts.key" --log "$D/ts.log" \
    --control "$D/ts.ctl" --client-secret-file "$D/secret" \
    --refresh-token-file "$D/rt.seed" --user "$LOGIN" 2>"$D/ts.err" &
CLEANUP+=("stop_pid $!")
python3 "$TOKENSERVER" --http --port "$HTTP_PORT" --key "$D/jwt.key" \
    --log "$D/http.log" --control "$D/http.ctl" --user "$LOGIN" \
    2>"$D/http.err" &
CLEANUP+=("stop_pid $!")
# A provider whose first refresh token is 2 KB (past a password's 1 KiB).
BIG_RT=rt-big-$(head -c 1500 /dev/urandom | base64 -w0 | tr '+/' '-_')
printf '%s\n' "$BIG_RT" >"$D/big.seed"
python3 "$TOKENSERVER" --http --port "$BIG_PORT" --key "$D/jwt.key" \
    --log "$D/big.log" --control "$D/big.ctl" --user "$LOGIN" --rotate \
    --refresh-token-file "$D/big.seed" 2>"$D/big.err" &
CLEANUP+=("stop_pid $!")
start_mail() {
	python3 "$MAILSERVER" --smtp-port "$SMTP_PORT" --imap-port "$IMAP_PORT" \
	    --pop3-port "$POP3_PORT" --key "$D/jwt.key" --log "$D/mail.log" --mechs "$1" 2>"$D/mail.err" &
	MAIL_PID=$!
	CLEANUP+=("stop_pid $MAIL_PID")
	wait_port "$SMTP_PORT"; wait_port "$IMAP_PORT"; wait_port "$POP3_PORT"
}
start_mail "XOAUTH2 OAUTHBEARER"
wait_port "$TS_PORT"; wait_port "$HTTP_PORT"; wait_port "$BIG_PORT"

# conf FILE [oauth2 section lines...]: a config with [global], the
# provider "lab" (client credentials unless lines say otherwise) and the
# probe p that logs in to both servers with it.
conf() {
	local f=$1; shift
	mkdir -p "$D/st"; chmod 700 "$D/st"
	{
		printf '[global]\nstate_dir = %s\nca_file = %s\n\n' "$D/st" "$D/ts.crt"
		printf '[oauth2 lab]\ntoken_url = https://127.0.0.1:%s/token\n' "$TS_PORT"
		printf 'client_id = mailcanary-app\nscope = imap smtp\n'
		printf '%s\n' "$@"
		printf '\n[probe p]\nsmtp = smtp://127.0.0.1:%s\nstarttls = never\n' "$SMTP_PORT"
		printf 'smtp_user = %s\nsmtp_oauth2 = lab\nfrom = %s\nto = %s\n' "$LOGIN" "$LOGIN" "$LOGIN"
		printf 'mailbox = imap://127.0.0.1:%s/INBOX\nmailbox_starttls = never\n' "$IMAP_PORT"
		printf 'mailbox_user = %s\nmailbox_oauth2 = lab\n' "$LOGIN"
	} >"$f"
}
CC="client_secret_file = $D/secret"
conf "$D/cc.conf" "$CC"
ctl() { printf '%s\n' "$@" >"$D/ts.ctl"; }
fresh() { rm -rf "$D/st"; mkdir -m 700 "$D/st"; }
fetches() { grep -c "result=ok" "$D/ts.log" 2>/dev/null || true; }
# tool ARGS...: mailcanary oauth2-token; OUT, ERR, RC, SECS like run().
tool() {
	local t0 errf
	errf=$(mktemp)
	t0=$(date +%s.%N)
	OUT=$("$TOOL" oauth2-token "$@" 2>"$errf") && RC=0 || RC=$?
	SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	ERR=$(cat "$errf"); rm -f "$errf"
	ALL+="$OUT$ERR"
	harvest
}
probe() { run --config "$1" --probe p "${@:2}"; ALL+="$OUT$ERR"; harvest; }
# Every access and refresh token the cache ever held, for the search.
harvest() {
	local f
	for f in "$D"/st/oauth2-*.json; do
		[ -f "$f" ] && jq -r '.access_token, (.refresh_token // empty)' "$f" 2>/dev/null
	done >>"$D/seen"
	return 0
}
ALL=""
CACHE() { ls "$D"/st/oauth2-lab-*.json 2>/dev/null | head -1; }

# ---- first fetch, cache hit, refresh ahead ----
tool --config "$D/cc.conf" lab
check "first fetch: a token, fetched" \
    jqt '.status | startswith("fetched, expires in 3600s")' <<<"$OUT"
check "first fetch: one request to the token endpoint" test "$(fetches)" = 1
check "the cache is a file of mode 600 in the state directory" \
    test "$(stat -c %a "$(CACHE)" 2>/dev/null)" = 600
check "the cache says when to refresh: 60 s before expiry" \
    jqt '.refresh_at == .fetched_at + 3540 and .expires_at == .fetched_at + 3600' "$(CACHE)"
tool --config "$D/cc.conf" lab
check "second run: cached, no request" \
    bash -c '[[ $1 == *'"'"'"cached, expires in'"'"'* ]] && [ "$2" = 1 ]' _ "$OUT" "$(fetches)"
# Time passes to the refresh point, the token still valid for 60 s.
jq '.refresh_at = (now - 1) | .expires_at = (now + 59)' "$(CACHE)" >"$D/c.json" &&
    cat "$D/c.json" >"$(CACHE)"
tool --config "$D/cc.conf" lab
check "past refresh_at (token not yet expired): fetched anew" \
    bash -c '[[ $1 == *fetched* ]] && [ "$2" = 2 ]' _ "$OUT" "$(fetches)"
ctl expires_in=120
fresh; tool --config "$D/cc.conf" lab
check "a short token (120 s) is refreshed a tenth of its life early" \
    jqt '.refresh_at == .fetched_at + 108' "$(CACHE)"
ctl

# ---- the probe logs in with the token, both mechanisms ----
fresh; : >"$D/mail.log"
probe "$D/cc.conf" -vv
check "check_mailcanary with OAuth2 for SMTP and IMAP: OK, canary submitted" \
    bash -c '[ "$1" = 0 ] && [[ $2 == "MAILCANARY OK"*"(queue id OA"* ]]' _ "$RC" "$OUT"
check "OAUTHBEARER where offered, for SMTP and IMAP" \
    test "$(grep -c 'mech=OAUTHBEARER user='"$LOGIN"' result=ok' "$D/mail.log")" = 2
check "the -vv trace shows the AUTH commands with the response hidden" \
    bash -c 'grep -q "> AUTH OAUTHBEARER" <<<"$1" && grep -q "AUTHENTICATE OAUTHBEARER" <<<"$1" && grep -q "> \[hidden\]" <<<"$1"' _ "$ERR"
check "one token for both logins (same provider and scope)" \
    test "$(fetches)" = 4
# The bounce mailbox over POP3, with its own login.
{ cat "$D/cc.conf"; printf 'bounce_mailbox = pop3://127.0.0.1:%s\nbounce_user = %s\nbounce_oauth2 = lab\n' "$POP3_PORT" "$LOGIN"; } >"$D/pop.conf"
: >"$D/mail.log"
probe "$D/pop.conf" -vv
check "bounce_oauth2: the POP3 bounce mailbox logs in with the token (AUTH OAUTHBEARER)" \
    bash -c '[ "$1" = 0 ] && grep -q "pop3 mech=OAUTHBEARER .*result=ok" "$2" && grep -q "> AUTH OAUTHBEARER" <<<"$3"' _ "$RC" "$D/mail.log" "$ERR"
# A junk folder (IMAP) logs in with the mailbox's token too; the server
# opens no folder before an OAuth2 login and has only INBOX and Junk.
{ cat "$D/cc.conf"; printf 'junk_folders = Junk\n'; } >"$D/junk.conf"
: >"$D/mail.log"
probe "$D/junk.conf" -vv
check "junk_folders: the Junk folder logs in with the mailbox's OAuth2 token too" \
    bash -c '[ "$1" = 0 ] && [[ $2 != *"junk folder"* ]] && [ "$(grep -c "imap mech=OAUTHBEARER user='"$LOGIN"' result=ok" "$3")" = 2 ] && grep -q "STATUS \"Junk\"" <<<"$4"' _ "$RC" "$OUT" "$D/mail.log" "$ERR"
sed 's/^junk_folders = Junk/junk_folders = Nope/' "$D/junk.conf" >"$D/nojunk.conf"
probe "$D/nojunk.conf"
check "... a junk folder the server does not have: a warning naming it (the check can fail)" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *"junk folder \"Nope\" cannot be read (does it exist?)"* ]]' _ "$RC" "$OUT"
stop_pid "$MAIL_PID"; start_mail XOAUTH2; : >"$D/mail.log"
probe "$D/cc.conf" -vv
check "XOAUTH2 where only that is offered (Microsoft), for SMTP and IMAP" \
    bash -c '[ "$1" = 0 ] && [ "$(grep -c "mech=XOAUTH2 .*result=ok" "$2")" = 2 ]' _ "$RC" "$D/mail.log"
stop_pid "$MAIL_PID"; start_mail "XOAUTH2 OAUTHBEARER"

# ---- a token the server refuses before its time (expired early) ----
fresh; ctl jwt_lifetime=2; : >"$D/mail.log"; n0=$(fetches)
probe "$D/cc.conf"
sleep 3
probe "$D/cc.conf"
check "a cached token the server refuses: UNKNOWN naming the reply, the provider, what to check" \
    bash -c '[ "$2" = 3 ] && [[ $1 == *"IMAP AUTHENTICATE: A002 NO [AUTHENTICATIONFAILED] OAuth2 token refused"*"the OAuth2 token of [oauth2 lab] was refused: check scope"* ]]' _ "$OUT" "$RC"
check "... and the SMTP login of the same run fetched a new one and sent the canary" \
    bash -c '[ "$(tail -1 "$1" | grep -c "smtp mech=OAUTHBEARER .*result=ok")" = 1 ] && [[ $2 == *"#2 sent"*"(queue id OA"* ]]' _ "$D/mail.log" "$OUT"
ctl
probe "$D/cc.conf"
check "the next run fetches a new token and logs in" \
    bash -c '[ "$1" = 0 ] && [ "$2" = $(($3 + 2)) ]' _ "$RC" "$(fetches)" "$n0"

# ---- refresh token grant and rotation ----
conf "$D/rt.conf" "client_secret_file = $D/secret" "grant = refresh_token" \
    "refresh_token_file = $D/refresh"
fresh; ctl rotate=1
tool --config "$D/rt.conf" lab
check "refresh_token grant: the seed refresh token was used" \
    bash -c '[ "$1" = 0 ] && tail -1 "$2" | grep -q "grant=refresh_token .*refresh=rt#0 result=ok"' _ "$RC" "$D/ts.log"
check "the rotated refresh token is in the cache" \
    jqt '.refresh_token | startswith("rt-1-")' "$(CACHE)"
check "refresh_token_file was rewritten with it (still mode 600)" \
    bash -c 'grep -q "^rt-1-" "$1" && [ "$(stat -c %a "$1")" = 600 ]' _ "$D/refresh"
jq '.refresh_at = (now - 1)' "$(CACHE)" >"$D/c.json" && cat "$D/c.json" >"$(CACHE)"
tool --config "$D/rt.conf" lab
check "the next refresh sends the rotated token (the old one is revoked)" \
    bash -c '[ "$1" = 0 ] && tail -1 "$2" | grep -q "refresh=rt#1 result=ok"' _ "$RC" "$D/ts.log"
due() { jq '.refresh_at = (now - 1)' "$(CACHE)" >"$D/c.json" && cat "$D/c.json" >"$(CACHE)"; }
# refresh_token_file cannot be read (others may read it): the cache's.
chmod 644 "$D/refresh"; due
tool --config "$D/rt.conf" lab
check "refresh_token_file unreadable: the cache's refresh token, a warning calling it a token file" \
    bash -c '[ "$1" = 0 ] && tail -1 "$2" | grep -q "refresh=rt#2 result=ok" && [[ $3 == *"refresh_token_file: token file $4 is readable by group or others"*"using the refresh token of the token cache"* ]]' _ "$RC" "$D/ts.log" "$ERR" "$D/refresh"
check "... and the file, ours, was rewritten with the rotated token, mode 600" \
    bash -c 'grep -q "^rt-3-" "$1" && [ "$(stat -c %a "$1")" = 600 ]' _ "$D/refresh"
# A symbolic link is neither read nor replaced by a regular file.
mv "$D/refresh" "$D/refresh.real"; ln -s refresh.real "$D/refresh"; due
tool --config "$D/rt.conf" lab
check "refresh_token_file a symbolic link: the cache's token used, the link left alone" \
    bash -c '[ "$1" = 0 ] && tail -1 "$2" | grep -q "refresh=rt#3 result=ok" && [ -L "$3" ] && grep -q "^rt-3-" "$3.real"' _ "$RC" "$D/ts.log" "$D/refresh"
# Another user's file: neither read nor replaced.
rm "$D/refresh"; mv "$D/refresh.real" "$D/refresh"; chown nobody "$D/refresh"; due
tool --config "$D/rt.conf" lab
check "refresh_token_file another user's: the cache's token used, the file left alone" \
    bash -c '[ "$1" = 0 ] && tail -1 "$2" | grep -q "refresh=rt#4 result=ok" && [ "$(stat -c %U "$3")" = nobody ] && grep -q "^rt-3-" "$3"' _ "$RC" "$D/ts.log" "$D/refresh"
chown 0 "$D/refresh"
# The operator puts a new refresh token into the file: that one wins.
VALID_RT=$(jq -r .refresh_token "$(CACHE)")
printf '%s\n' "$SEED_RT" >"$D/refresh"
jq '.refresh_at = (now - 1)' "$(CACHE)" >"$D/c.json" && cat "$D/c.json" >"$(CACHE)"
tool --config "$D/rt.conf" lab
check "a refresh token the operator changed in the file is used (not the cache's)" \
    bash -c 'tail -1 "$1" | grep -q "refresh=rt#?.*invalid_grant"' _ "$D/ts.log"
check "a refresh that fails while the cached token is valid: that token, and a warning" \
    bash -c '[ "$1" = 0 ] && [[ $2 == *"refresh failed"* && $3 == *"invalid_grant"*"using the cached token"* ]]' _ "$RC" "$OUT" "$ERR"
jq '.refresh_at = (now - 2) | .expires_at = (now - 1)' "$(CACHE)" >"$D/c.json" && cat "$D/c.json" >"$(CACHE)"
tool --config "$D/rt.conf" lab
check "a revoked refresh token, the access token expired: invalid_grant, with what to do" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *"invalid_grant"*"put a new refresh token into refresh_token_file"* ]]' _ "$RC" "$OUT"
# The cache cannot be saved (a file size limit; its long scope makes it
# 2 KB, the refresh token's line is 40 bytes): the rotated refresh token
# still goes into refresh_token_file, loudly.
fresh; printf '%s\n' "$VALID_RT" >"$D/refresh2"; chmod 600 "$D/refresh2"
sed -e "s|^scope = .*|scope = imap smtp $(printf 'x%.0s' {1..600})|" \
    -e "s|^refresh_token_file = .*|refresh_token_file = $D/refresh2|" "$D/rt.conf" >"$D/rt2.conf"
OUT=$( (trap '' XFSZ; ulimit -f 1; exec "$TOOL" oauth2-token --config "$D/rt2.conf" lab) 2>"$D/xfsz.err") && RC=0 || RC=$?
ERR=$(cat "$D/xfsz.err"); ALL+="$OUT$ERR"
check "the cache cannot be saved: an error, the rotated refresh token written to refresh_token_file" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *"OAuth2 token cache"*"the rotated refresh token was written to $4"* && $3 == *"the rotated refresh token was written to $4"* ]] && grep -q "^rt-[0-9]*-" "$4" && ! grep -qF "$5" "$4"' _ "$RC" "$OUT" "$ERR" "$D/refresh2" "$VALID_RT"
tool --config "$D/rt2.conf" lab
check "... so the next run refreshes with it (the one sent before is revoked)" \
    bash -c '[ "$1" = 0 ] && tail -1 "$2" | grep -q "refresh=rt#[0-9]* result=ok"' _ "$RC" "$D/ts.log"
ctl

# ---- token files past a password's 1 KiB ----
conf "$D/big.conf" "grant = refresh_token" "refresh_token_file = $D/bigrefresh"
sed -i "s|^token_url = .*|token_url = http://127.0.0.1:$BIG_PORT/token|" "$D/big.conf"
cp "$D/big.seed" "$D/bigrefresh"; chmod 600 "$D/bigrefresh"
fresh; tool --config "$D/big.conf" lab
check "a refresh token of 2 KB in refresh_token_file is read and sent" \
    bash -c '[ "$1" = 0 ] && [ "${#4}" -gt 2000 ] && tail -1 "$2" | grep -q "refresh=rt#0 result=ok" && grep -q "^rt-1-" "$3"' _ "$RC" "$D/big.log" "$D/bigrefresh" "$BIG_RT"
# A cached access token with a control character (it would end the
# XOAUTH2 field early): not used, a warning, a new one fetched.
jq '.access_token |= .[0:10] + "\u0001" + .[10:]' "$(CACHE)" >"$D/c.json" && cat "$D/c.json" >"$(CACHE)"
tool --config "$D/big.conf" lab
check "a cached access token with a control character: not used, fetched anew, said" \
    bash -c '[ "$1" = 0 ] && [[ $2 == *fetched* && $3 == *"not a bearer token"* ]] && tail -1 "$4" | grep -q "refresh=rt#1 result=ok"' _ "$RC" "$OUT" "$ERR" "$D/big.log"

# ---- the token endpoint's errors ----
err_case() {	# DESC CTL EXPECT...
	local desc=$1 c=$2 e ok=1; shift 2
	fresh; ctl "$c"
	tool --config "$D/cc.conf" lab -t "${T:-10}"
	[ "$RC" = 1 ] || ok=0
	for e in "$@"; do [[ $OUT == *"$e"* ]] || ok=0; done
	if [ $ok = 1 ]; then ok "$desc"; else not_ok "$desc"; diag "rc=$RC $OUT $ERR"; fi
}
err_case "invalid_client: the provider's words and what to check" mode=invalid_client \
    'refused: invalid_client: AADSTS7000215' 'check client_id and the secret in client_secret_file' '(HTTP 400)'
err_case "invalid_grant: named" mode=invalid_grant 'refused: invalid_grant: AADSTS70008'
err_case "an answer that is not JSON" mode=garbage 'HTTP 200 with 23 bytes that are not JSON'
err_case "HTTP 500" mode=500 'answered HTTP 500' 'not a JSON reply'
err_case "a reply past 64 KiB is cut off, not read" mode=huge 'answered more than 65536 bytes' '"code": "limit"'
T=3 err_case "a hanging endpoint: bounded by -t" mode=hang 'did not answer within' '"code": "timeout"'
check "... and the run ended within -t (3 s)" faster_than 4
ctl
fresh; printf 'wrong-secret\n' >"$D/secret2"; chmod 600 "$D/secret2"
conf "$D/bad.conf" "client_secret_file = $D/secret2"
tool --config "$D/bad.conf" lab
check "a wrong client secret: invalid_client" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *invalid_client* ]]' _ "$RC" "$OUT"
probe "$D/bad.conf"
check "check_mailcanary: UNKNOWN, the mailbox unread and no canary sent, naming invalid_client" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"test mailbox OAuth2 token: token endpoint"*invalid_client* && $2 == *"no canary sent: SMTP OAuth2 token"* ]]' _ "$RC" "$OUT"
sed "s|127.0.0.1:$TS_PORT|127.0.0.1:$DEAD_PORT|" "$D/cc.conf" >"$D/dead.conf"
fresh; tool --config "$D/dead.conf" lab
check "an unreachable endpoint: cannot reach, and why" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *"cannot reach the token endpoint https://127.0.0.1:'"$DEAD_PORT"'/token"* ]]' _ "$RC" "$OUT"
sed "s|ca_file = .*|ca_file = /etc/ssl/certs/ca-certificates.crt|" "$D/cc.conf" >"$D/noca.conf"
fresh; tool --config "$D/noca.conf" lab
check "an endpoint whose certificate is not trusted is refused" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *"cannot reach"*certificate* ]]' _ "$RC" "$OUT"

# ---- URL rules: http only to loopback ----
sed "s|https://127.0.0.1:$TS_PORT|http://127.0.0.1:$HTTP_PORT|" "$D/cc.conf" >"$D/http.conf"
fresh; tool --config "$D/http.conf" lab
check "http:// to 127.0.0.1 is allowed" \
    bash -c '[ "$1" = 0 ] && grep -q result=ok "$2"' _ "$RC" "$D/http.log"
for u in http://192.0.2.1/token http://localhost:$HTTP_PORT/token http://[::2]/token ftp://127.0.0.1/x; do
	sed "s|^token_url = .*|token_url = $u|" "$D/cc.conf" >"$D/u.conf"
	tool --config "$D/u.conf" lab
	check "token_url $u is refused" \
	    bash -c '[ "$1" = 2 ] && [[ $2 == *"token_url"* ]]' _ "$RC" "$ERR"
done

# ---- configuration refusals (check_mailcanary, exit 3) ----
refused() {	# DESC EXPECT CONFIG-EDIT...
	local desc=$1 e=$2; shift 2
	conf "$D/r.conf" "$CC"
	printf '%s\n' "$@" >>"$D/r.conf"
	run --config "$D/r.conf" --probe p --show-config
	if [ "$RC" = 3 ] && [[ $OUT == *"$e"* ]]; then ok "$desc"; else not_ok "$desc"; diag_last; fi
}
refused "a password file beside smtp_oauth2" "smtp_password_file and smtp_oauth2 exclude each other" \
    "smtp_password_file = $D/secret"
refused "oauth2 and token_file together" "mailbox_oauth2 and mailbox_token_file exclude each other" \
    "mailbox_token_file = $D/secret"
refused "a name with no section" "bounce_oauth2 = nope: no section [oauth2 nope]" \
    "bounce_mailbox = imap://127.0.0.1:$IMAP_PORT/INBOX" "bounce_user = $LOGIN" "bounce_oauth2 = nope"
refused "an unknown grant" "grant must be client_credentials or refresh_token" \
    "[oauth2 x]" "token_url = https://127.0.0.1/" "client_id = c" "grant = password"
refused "a section without client_id" "[oauth2 x] needs token_url and client_id" \
    "[oauth2 x]" "token_url = https://127.0.0.1/"
refused "refresh_token grant without refresh_token_file" "grant = refresh_token needs refresh_token_file" \
    "[oauth2 x]" "token_url = https://127.0.0.1/" "client_id = c" "grant = refresh_token"
refused "a probe named like a token cache (oauth2-NAME-HASH)" "probe name 'oauth2-lab-0123456789abcdef' must not start with 'oauth2-'" \
    "[probe oauth2-lab-0123456789abcdef]" "smtp = smtp://127.0.0.1:1"
refused "an unknown key in [oauth2 NAME]" "unknown oauth2 setting 'secret'" \
    "[oauth2 x]" "token_url = https://127.0.0.1/" "client_id = c" "secret = s"
sed '/^smtp_user = /d' "$D/cc.conf" >"$D/r.conf"
run --config "$D/r.conf" --probe p --show-config
check "smtp_oauth2 without smtp_user (the mailbox the token logs in to)" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"smtp_oauth2 needs smtp_user"* ]]' _ "$RC" "$OUT"
run --smtp-oauth2 lab -S smtp://127.0.0.1:1 -f "$LOGIN" -r "$LOGIN" --smtp-user "$LOGIN" \
    -M imap://127.0.0.1:1/ --state-dir "$D/st" --show-config
check "--smtp-oauth2 on the command line without --config: says where the section comes from" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"no section [oauth2 lab] in the config file (give it with --config FILE)"* ]]' _ "$RC" "$OUT"
run --config "$D/cc.conf" --probe p --show-config
check "--show-config shows the provider, the secret's file, never the secret" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"[oauth2 lab]"*"client_secret_file = '"$D/secret"'"* ]] && [[ $2 != *"$3"* ]]' _ "$RC" "$OUT" "$SECRET"
ALL+="$OUT"

# ---- a bearer token file (another tool keeps it fresh) ----
fresh
"$TOOL" oauth2-token --config "$D/cc.conf" --print-token lab | jq -r .access_token >"$D/bearer"
chmod 600 "$D/bearer"
sed -e 's/^smtp_oauth2 = lab/smtp_token_file = '"${D//\//\\/}"'\/bearer/' \
    -e 's/^mailbox_oauth2 = lab/mailbox_token_file = '"${D//\//\\/}"'\/bearer/' "$D/cc.conf" >"$D/tf.conf"
n0=$(fetches); : >"$D/mail.log"
probe "$D/tf.conf"
check "smtp_token_file and mailbox_token_file: both log in, no token request" \
    bash -c '[ "$1" = 0 ] && [ "$(grep -c result=ok "$2")" = 2 ] && [ "$3" = "$4" ]' _ "$RC" "$D/mail.log" "$(fetches)" "$n0"
chmod 644 "$D/bearer"
probe "$D/tf.conf"
check "a token file others can read is refused like a password file" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"token_file"*"$3"* ]]' _ "$RC" "$OUT" "$D/bearer"
check "... and the error calls it a token file" \
    bash -c '[[ $1 == *"token file $2 is readable by group or others"* && $1 != *"password file"* ]]' _ "$OUT" "$D/bearer"
# Microsoft's access tokens are 1.5 to 3 KB: this one is 3.5 KB.
python3 "$top_srcdir/tests/oauth2/mkjwt" "$D/jwt.key" sub="$LOGIN" email="$LOGIN" \
    exp=+3600 pad="$(head -c 2400 /dev/urandom | base64 -w0 | tr -d '+/=')" >"$D/bearer"
chmod 600 "$D/bearer"; : >"$D/mail.log"
probe "$D/tf.conf"
check "a bearer token file of 3.5 KB: both log in with it" \
    bash -c '[ "$1" = 0 ] && [ "$(wc -c <"$3")" -gt 3500 ] && [ "$(grep -c result=ok "$2")" = 2 ]' _ "$RC" "$D/mail.log" "$D/bearer"
head -c 2000 "$D/bearer" >"$D/bearer.cut"; printf '\001%s\n' "$(tail -c +2001 "$D/bearer")" >>"$D/bearer.cut"
cat "$D/bearer.cut" >"$D/bearer"; : >"$D/mail.log"
probe "$D/tf.conf"
check "a bearer token file with a control character: refused before any login" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"does not hold a bearer token"* ]] && [ ! -s "$3" ]' _ "$RC" "$OUT" "$D/mail.log"

# ---- two runs at once share one provider: one fetch, a whole cache ----
fresh; ctl delay=1; n0=$(fetches)
pids=()
for i in 1 2 3 4; do
	"$TOOL" oauth2-token --config "$D/cc.conf" lab >"$D/par.$i" 2>&1 &
	pids+=($!)
done
wait_all=0; for i in "${pids[@]}"; do wait "$i" || wait_all=1; done
check "four runs at once: all get a token, one request to the endpoint" \
    bash -c '[ "$1" = 0 ] && [ "$2" = $(($3 + 1)) ] && [ "$(grep -l "\"status\"" "$4"/par.* | wc -l)" = 4 ]' _ "$wait_all" "$(fetches)" "$n0" "$D"
check "the cache is whole JSON afterwards" jqt '.access_token | length > 100' "$(CACHE)"
ctl

# ---- mailcanaryd: four probes on worker threads share the provider ----
if command -v snmpd >/dev/null; then
	mkdir -p "$D/snmp"
	start_agentx_snmpd "$D/snmp" "$SNMP_PORT"
	{
		sed -n '/^\[global\]/,/^\[probe p\]/p' "$D/cc.conf" | sed '$d'
		for i in 1 2 3 4; do
			sed -n '/^\[probe p\]/,$p' "$D/cc.conf" | sed "s/^\[probe p\]/[probe d$i]/"
			printf 'interval = 2\ntimeout = 10\n\n'
		done
	} >"$D/daemon.conf"
	sed -i "s|^ca_file = .*|&\nagentx_socket = $D/snmp/agentx.sock\nworkers = 4|" "$D/daemon.conf"
	fresh; ctl delay=1; n0=$(fetches); : >"$D/mail.log"
	"$top_builddir/snmp-agent/mailcanaryd" -f -c "$D/daemon.conf" >"$D/daemon.log" 2>&1 &
	DPID=$!
	CLEANUP+=("stop_pid $DPID")
	for i in $(seq 1 100); do
		[ "$(grep -c 'smtp mech=.*result=ok' "$D/mail.log")" -ge 8 ] && break
		sleep 0.1
	done
	stop_pid "$DPID"
	check "mailcanaryd: four probes in parallel, two cycles each, one token request" \
	    bash -c '[ "$(grep -c "smtp mech=.*result=ok" "$1")" -ge 8 ] && [ "$2" = $(($3 + 1)) ]' _ "$D/mail.log" "$(fetches)" "$n0"
	check "mailcanaryd: no login refused, the cache whole" \
	    bash -c '! grep -v result=ok "$1" && jq -e ".access_token | length > 100" "$2" >/dev/null' _ "$D/mail.log" "$(CACHE)"
	ALL+="$(cat "$D/daemon.log")"
	ctl
else
	skip "mailcanaryd with a shared provider" "snmpd is not installed"
	skip "mailcanaryd: the cache whole" "snmpd is not installed"
fi

# ---- a cache file that is not ours, corrupt, or readable by others ----
printf '{"version": 1, "access_token": ' >"$(CACHE)"; n0=$(fetches)
tool --config "$D/cc.conf" lab
check "a corrupt cache file: fetched anew and replaced" \
    bash -c '[ "$1" = 0 ] && [ "$2" = $(($3 + 1)) ]' _ "$RC" "$(fetches)" "$n0"
chmod 644 "$(CACHE)"
tool --config "$D/cc.conf" lab
check "a cache file others can read: refused, saying how to fix it" \
    bash -c '[ "$1" = 1 ] && [[ $2 == *"OAuth2 token cache"*"chmod"* ]]' _ "$RC" "$OUT"
chmod 600 "$(CACHE)"

# ---- secrecy: every output, JSON, state file and -vv trace ----
fresh; probe "$D/cc.conf" -vv --output json
probe "$D/cc.conf" -vv
for f in "$D"/st/*.json; do
	case $f in */oauth2-*) ;; *) ALL+="$(cat "$f")" ;; esac
done
{
	printf '%s\n' "$SECRET" "$SEED_RT" "$BIG_RT"
	grep -ho 'rt-[0-9]*-[A-Za-z0-9_-]*' "$D/refresh" "$D/refresh2" "$D/bigrefresh" "$D"/st/*.json 2>/dev/null
	sort -u "$D/seen"
	# the token's middle (the part of a JWT that is unique) and its
	# base64 forms as SASL carries them
	jq -r '.access_token | split(".")[1]' "$D"/st/oauth2-*.json
	for s in "n,a=$LOGIN,"$'\x01'"auth=Bearer " "user=$LOGIN"$'\x01'"auth=Bearer "; do
		printf '%s%s\x01\x01' "$s" "$(jq -r .access_token "$D"/st/oauth2-*.json)" |
		    base64 -w0 | cut -c1-60; echo
	done
} | grep -v '^$' >"$D/secrets"
check "the secret list holds the client secret, refresh tokens and the access tokens" \
    test "$(wc -l <"$D/secrets")" -ge 12
diag "$(wc -l <"$D/secrets") secrets to search for"
check "the search finds a token in a planted trace line" \
    bash -c 'grep -qF -f "$1" <<<"x > AUTH XOAUTH2 $(sed -n 6p "$1")"' _ "$D/secrets"
check "no token, secret or refresh token in any output, JSON, state file or -vv trace" \
    bash -c '! grep -F -f "$1" <<<"$2" >&2' _ "$D/secrets" "$ALL"
check "the JSON output of the last OAuth2 run was there to search" \
    bash -c '[[ $1 == *"\"probe\""* ]]' _ "$ALL"

done_testing
