#!/bin/bash
# The OAuth2 client, driven through the real programs: `mailcanary
# oauth2-token` and check_mailcanary against tests/oauth2/tokenserver
# (an HTTPS token endpoint with a throwaway certificate; plain HTTP on
# loopback) and tests/oauth2/mailserver (SMTP and IMAP that take only
# XOAUTH2/OAUTHBEARER and check each JWT). First fetch, cache hit, refresh
# ahead of expiry, the refresh token's rotation, a token the server
# refuses before it was due to expire, every error of the token endpoint,
# the configuration's refusals, two runs sharing a provider, both SASL
# mechanisms, and no token, secret or refresh token in any output, JSON,
# state file or -vv trace. The real Dovecot/Postfix logins are the lab's
# (tests/integration/oauth2-lab.sh). Ports: OAUTH2_TEST_PORT (18000) to +9.
. "$(dirname "$0")/../lib.sh"
for c in python3 openssl jq; do
	command -v $c >/dev/null || { echo "1..0 # SKIP $c is not installed"; exit 0; }
done
BASE=${OAUTH2_TEST_PORT:-18000}
TS_PORT=$((BASE + 1)) HTTP_PORT=$((BASE + 2)) SMTP_PORT=$((BASE + 3))
IMAP_PORT=$((BASE + 4)) SNMP_PORT=$((BASE + 8)) DEAD_PORT=$((BASE + 9))
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
start_mail() {
	python3 "$MAILSERVER" --smtp-port "$SMTP_PORT" --imap-port "$IMAP_PORT" \
	    --key "$D/jwt.key" --log "$D/mail.log" --mechs "$1" 2>"$D/mail.err" &
	MAIL_PID=$!
	CLEANUP+=("stop_pid $MAIL_PID")
	wait_port "$SMTP_PORT"; wait_port "$IMAP_PORT"
}
start_mail "XOAUTH2 OAUTHBEARER"
wait_port "$TS_PORT"; wait_port "$HTTP_PORT"

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
}
probe() { run --config "$1" --probe p "${@:2}"; ALL+="$OUT$ERR"; }
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
# The operator puts a new refresh token into the file: that one wins.
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
ctl

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
refused "an unknown key in [oauth2 NAME]" "unknown oauth2 setting 'secret'" \
    "[oauth2 x]" "token_url = https://127.0.0.1/" "client_id = c" "secret = s"
run --smtp-oauth2 lab -S smtp://127.0.0.1:1 -f "$LOGIN" -r "$LOGIN" --smtp-user "$LOGIN" \
    -M imap://127.0.0.1:1/ --state-dir "$D/st" --show-config
check "--smtp-oauth2 on the command line without --config: says where the section comes from" \
    bash -c '[ "$1" = 3 ] && [[ $2 == *"no section [oauth2 lab] in the config file (give it with"* ]]' _ "$RC" "$OUT"
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
ALL+="$(cat "$D/bearer")"	# not a leak: the search must not match itself
ALL=${ALL//$(cat "$D/bearer")/}

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
	printf '%s\n' "$SECRET" "$SEED_RT"
	grep -ho 'rt-[0-9]*-[A-Za-z0-9_-]*' "$D/refresh" "$D"/st/*.json 2>/dev/null
	jq -r .access_token "$D"/st/oauth2-*.json
	# the token's middle (the part of a JWT that is unique) and its
	# base64 forms as SASL carries them
	jq -r '.access_token | split(".")[1]' "$D"/st/oauth2-*.json
	for s in "n,a=$LOGIN,"$'\x01'"auth=Bearer " "user=$LOGIN"$'\x01'"auth=Bearer "; do
		printf '%s%s\x01\x01' "$s" "$(jq -r .access_token "$D"/st/oauth2-*.json)" |
		    base64 -w0 | cut -c1-60; echo
	done
} | grep -v '^$' >"$D/secrets"
check "the secret list holds the client secret, refresh tokens and the access token" \
    test "$(wc -l <"$D/secrets")" -ge 6
check "the search finds a token in a planted trace line" \
    bash -c 'grep -qF -f "$1" <<<"x > AUTH XOAUTH2 $(sed -n 6p "$1")"' _ "$D/secrets"
check "no token, secret or refresh token in any output, JSON, state file or -vv trace" \
    bash -c '! grep -F -f "$1" <<<"$2" >&2' _ "$D/secrets" "$ALL"
check "the JSON output of the last OAuth2 run was there to search" \
    bash -c '[[ $1 == *"\"probe\""* ]]' _ "$ALL"

done_testing
