#!/bin/bash
# The far-side kit (packaging/testmailbox): its setup script applied under
# --root to a private directory (dry run, real run, a second run that
# changes nothing, refusal of a foreign main.cf without --force, one-line
# errors on bad input with nothing written), the produced configuration
# checked by postconf and doveconf, then started for real on 127.0.0.1
# (Postfix, postgrey, Dovecot): a message to the canary address gets 450
# first, is accepted after the delay, lands in the canary Maildir and is
# read over IMAP with the configured user.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in openssl curl doveconf postgrey; do
	command -v $c >/dev/null || { echo "Bail out! $c is missing (scripts/deps)"; exit 1; }
done
BASE=${TESTMAILBOX_TEST_PORT:-16500}
P_SMTP=$((BASE + 25)) P_POSTGREY=$((BASE + 30)) P_IMAP=$((BASE + 43))
P_IMAPS=$((BASE + 93)) P_POP3=$((BASE + 10)) P_POP3S=$((BASE + 95))
DELAY=3
SETUP=$top_srcdir/packaging/testmailbox/setup
T=$(mktemp -d /tmp/mailcanary-tmb.XXXXXX)
CLEANUP+=("rm -rf $T")
chmod 755 "$T"		# Postfix's and Dovecot's users walk into it
R=$T/root
MP_ROOT=$T		# on failure, lib.sh keeps $T/log
mkdir -p "$R" "$T/tls" "$T/log"
chmod 755 "$R" "$T/log"

# A CA and a certificate for 127.0.0.1, and a key that is not its.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=testmailbox CA" \
    -keyout "$T/tls/ca.key" -out "$T/tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=mx.greylist.test" \
    -keyout "$T/tls/key.pem" -out "$T/tls/req.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:mx.greylist.test\n' >"$T/tls/san"
openssl x509 -req -in "$T/tls/req.csr" -CA "$T/tls/ca.crt" -CAkey "$T/tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$T/tls/san" -out "$T/tls/cert.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/tls/other.pem" 2>/dev/null
chmod 600 "$T/tls/"*.key "$T/tls/key.pem" "$T/tls/other.pem"
CPASS=canary-Pa55-$$ BPASS=bounce-Pa55-$$
printf '%s\n' "$CPASS" >"$T/canary.pw"
printf '%s\n' "$BPASS" >"$T/bounce.pw"

# setup [ARGS...]: the kit's setup with the test's arguments (the bounce
# password on standard input), under --root $R unless ROOT_ is set; sets
# OUT, ERR, RC.
setup() {
	OUT=$("$SETUP" --root "${ROOT_:-$R}" --domain greylist.test \
	    --hostname mx.greylist.test --delay $DELAY --mail-owner nobody \
	    --tls-cert "$T/tls/cert.pem" --tls-key "$T/tls/key.pem" \
	    --canary-password-file "$T/canary.pw" --bounce-password-file - \
	    "$@" <"$T/bounce.pw" 2>"$T/err") && RC=0 || RC=$?
	ERR=$(cat "$T/err")
}
# raw ARGS...: the setup with only these arguments.
raw() {
	OUT=$("$SETUP" "$@" 2>"$T/err" <"$T/bounce.pw") && RC=0 || RC=$?
	ERR=$(cat "$T/err")
}
empty_dir() { [ -z "$(find "$1" -mindepth 1 | head -1)" ]; }
one_line_error() {	# rc 2, one line on stderr naming the setup, nothing on stdout
	[ "$RC" = 2 ] && [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] &&
	    case $ERR in "setup: "*) true ;; *) false ;; esac && [ -z "$OUT" ]
}
err_has() { case $ERR in *"$1"*) return 0 ;; esac; return 1; }
diag_err() { diag "rc=$RC stderr: $ERR" "stdout: $(printf '%s' "$OUT" | head -5)"; }
chk() {	# chk DESC CMD...: check, with setup's output on failure
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; diag_err; fi
}

# ---- dry run: says what it would do, writes nothing ----
setup --dry-run
chk "dry run: succeeds" rc_is 0
chk "dry run: lists main.cf to create" has "create $R/etc/postfix/main.cf"
chk "dry run: shows the settings (recipient_delimiter)" has "+ recipient_delimiter = +"
chk "dry run: shows postgrey's options" has "--auto-whitelist-clients=0"
chk "dry run: shows the users, not their hashes" bash -c \
    "grep -q 'canary@greylist.test:{SHA512-CRYPT}<hash>' <<<\"\$1\" && ! grep -q '[\$]6[\$]' <<<\"\$1\"" _ "$OUT"
chk "dry run: nothing written under the root" empty_dir "$R"

# ---- the real run ----
setup
chk "run: succeeds" rc_is 0
chk "run: names each file it wrote" bash -c '[ "$(grep -c "^setup: wrote " <<<"$1")" = 8 ]' _ "$OUT"
pf=$R/etc/postfix
pn=$(postconf -c "$pf" -n 2>&1)
OUT=$pn
check "postconf accepts main.cf without a warning" bash -c '! grep -qi "warning\|fatal\|error" <<<"$1"' _ "$pn"
check "main.cf: recipient_delimiter = +" grep -qx 'recipient_delimiter = +' <<<"$pn"
check "main.cf: greylist.test is a virtual mailbox domain" grep -qx 'virtual_mailbox_domains = greylist.test' <<<"$pn"
check "main.cf: postgrey asked for every recipient" grep -q '^smtpd_recipient_restrictions = .*check_policy_service inet:127.0.0.1:10023' <<<"$pn"
check "main.cf: no relaying" grep -qx 'smtpd_relay_restrictions = reject_unauth_destination' <<<"$pn"
check "main.cf: STARTTLS with the given certificate" bash -c \
    "grep -qx 'smtpd_tls_cert_file = $T/tls/cert.pem' <<<\"\$1\" && grep -qx 'smtpd_tls_security_level = may' <<<\"\$1\"" _ "$pn"
check "main.cf: paths point into the root" grep -qx "virtual_mailbox_base = $R/var/mail/testmailbox" <<<"$pn"
OUT=$(postconf -c "$pf" -M 2>&1)
check "postconf accepts master.cf" grep -q '^smtp  *inet .* smtpd$' <<<"$OUT"
dn=$(doveconf -c "$R/etc/dovecot/dovecot.conf" -n 2>&1) && drc=0 || drc=$?
OUT=$dn
check "doveconf accepts dovecot.conf" test "$drc" = 0
check "dovecot.conf: TLS required, the given certificate" bash -c \
    "grep -qx 'ssl = required' <<<\"\$1\" && grep -qx 'ssl_cert = <$T/tls/cert.pem' <<<\"\$1\"" _ "$dn"
OUT=$(doveconf -c "$R/etc/dovecot/dovecot.conf" -h disable_plaintext_auth 2>&1)
check "dovecot.conf: no plaintext login without TLS" test "$OUT" = yes
check "dovecot.conf: the users file as passdb" grep -q "args = scheme=SHA512-CRYPT username_format=%u $R/etc/dovecot/testmailbox-users" <<<"$dn"
OUT=$(cat "$R/etc/default/postgrey")
pg_opt() { grep -q "^POSTGREY_OPTS=\".* $1 " "$R/etc/default/postgrey"; }
check "postgrey: the chosen delay" pg_opt "--delay=$DELAY"
check "postgrey: no automatic whitelisting of clients" pg_opt --auto-whitelist-clients=0
check "postgrey: the kit's empty whitelist" pg_opt "--whitelist-clients=$R/etc/postgrey/testmailbox-whitelist"
OUT=$(cat "$pf/testmailbox/mailboxes")
check "mailboxes: canary, bounces, postmaster to bounces" test "$OUT" = "canary@greylist.test greylist.test/canary/
bounces@greylist.test greylist.test/bounces/
postmaster@greylist.test greylist.test/bounces/"
check "users file: mode 0640, group dovecot" test "$(stat -c '%a %G' "$R/etc/dovecot/testmailbox-users")" = "640 dovecot"
check "no password in clear anywhere under the root" bash -c "! grep -rqF -e '$CPASS' -e '$BPASS' '$R'"
check "the Maildirs exist, owned by the mail owner" test \
    "$(stat -c %U "$R/var/mail/testmailbox/greylist.test/canary/new")" = nobody
check "no temporary file left" bash -c "! find '$R' -name '*.testmailbox.*' | grep -q ."

# ---- again: nothing to change, nothing touched ----
sums() { find "$R" -type f -printf '%p %T@ %m\n' | sort; (cd "$R" && find . -type f -exec md5sum {} + | sort); }
before=$(sums)
setup
chk "second run: succeeds" rc_is 0
chk "second run: nothing to change" test "$OUT" = "setup: nothing to change under $R"
check "second run: no file rewritten (content, time, mode)" test "$(sums)" = "$before"
setup --dry-run
chk "dry run after: nothing to change" test "$OUT" = "setup: nothing to change under $R"
# A changed input is a change, and only of what it touches.
setup --dry-run --delay 7
chk "dry run, new delay: only postgrey's options change" bash -c \
    '[ "$(grep -c "^change " <<<"$1")" = 1 ] && grep -q "^change .*/etc/default/postgrey" <<<"$1" && grep -q "^  +POSTGREY_OPTS=.*--delay=7 " <<<"$1"' _ "$OUT"
printf 'a-new-one\n' >"$T/canary2.pw"
setup --dry-run --canary-password-file "$T/canary2.pw"
chk "dry run, new password: only the users file changes" bash -c \
    '[ "$(grep -c "^change " <<<"$1")" = 1 ] && grep -q "^change .*/testmailbox-users" <<<"$1"' _ "$OUT"
check "dry runs touched nothing" test "$(sums)" = "$before"

# ---- an existing Postfix configuration is not ours to replace ----
R2=$T/root2
mkdir -p "$R2/etc/postfix"
printf 'myhostname = other.example\n' >"$R2/etc/postfix/main.cf"
ROOT_=$R2 setup
chk "foreign main.cf: refused in one line" one_line_error
chk "foreign main.cf: the error names it and --force" bash -c \
    'case $1 in *"$2/etc/postfix/main.cf"*--force*) ;; *) exit 1 ;; esac' _ "$ERR" "$R2"
check "foreign main.cf: left as it was" test "$(cat "$R2/etc/postfix/main.cf")" = "myhostname = other.example"
check "foreign main.cf: nothing else written" test "$(find "$R2" -mindepth 1 | sort | tr '\n' ' ')" = \
    "$R2/etc $R2/etc/postfix $R2/etc/postfix/main.cf "
ROOT_=$R2 setup --dry-run
chk "foreign main.cf: refused on a dry run too" one_line_error
ROOT_=$R2 setup --force
chk "foreign main.cf, --force: replaced" bash -c \
    "[ $RC = 0 ] && head -1 '$R2/etc/postfix/main.cf' | grep -q '^# mailcanary-testmailbox:'"
check "foreign main.cf, --force: the old one kept" test \
    "$(cat "$R2/etc/postfix/main.cf.before-testmailbox" 2>/dev/null)" = "myhostname = other.example"
# Debian's untouched master.cf is replaced without --force.
R4=$T/root4
mkdir -p "$R4/etc/postfix"
cp /usr/share/postfix/master.cf.dist "$R4/etc/postfix/master.cf" 2>/dev/null || : >"$R4/etc/postfix/master.cf"
ROOT_=$R4 setup --dry-run
if [ -f /usr/share/postfix/master.cf.dist ]; then
	chk "Debian's own master.cf: replaced without --force" bash -c '[ "$1" = 0 ] && grep -q "^change .*/etc/postfix/master.cf" <<<"$2"' _ "$RC" "$OUT"
else
	skip "Debian's own master.cf: replaced without --force" "no /usr/share/postfix/master.cf.dist"
fi

# ---- bad input: one line, exit 2, nothing written ----
R3=$T/root3
mkdir -p "$R3"
: >"$T/empty.pw"
bad() {	# DESC WORD ARGS...: the setup (raw) fails in one line naming WORD
	local desc=$1 word=$2
	shift 2
	rm -rf "$R3"; mkdir -p "$R3"	# each on its own
	raw "$@"
	if one_line_error && err_has "$word" && empty_dir "$R3"; then
		ok "bad input: $desc"
	else
		not_ok "bad input: $desc"; diag_err
	fi
}
good=(--root "$R3" --domain greylist.test --mail-owner nobody --tls-cert "$T/tls/cert.pem"
    --tls-key "$T/tls/key.pem" --canary-password-file "$T/canary.pw" --bounce-password-file -)
bad "no domain" "--domain is required" "${good[@]:0:2}" "${good[@]:4}"
bad "a domain that is not one" "'greylist test' is not a domain" "${good[@]}" --domain "greylist test"
bad "a one-label domain" "is not a domain" "${good[@]}" --domain localhost
bad "delay 0" "--delay '0'" "${good[@]}" --delay 0
bad "delay not a number" "--delay '5m'" "${good[@]}" --delay 5m
bad "a + in a mailbox user" "no '+'" "${good[@]}" --canary-user can+ary
bad "the same user twice" "must differ" "${good[@]}" --bounce-user canary
bad "a password on the command line" "never taken from the command line" "${good[@]}" --password secret
bad "a missing password file" "is not a readable file" "${good[@]}" --canary-password-file "$T/none.pw"
bad "an empty password file" "is empty" "${good[@]}" --canary-password-file "$T/empty.pw"
bad "both passwords on standard input" "only one password" "${good[@]}" --canary-password-file -
bad "a key that is not the certificate's" "does not belong" "${good[@]}" --tls-key "$T/tls/other.pem"
bad "a certificate that is not one" "is not a PEM certificate" "${good[@]}" --tls-cert "$T/canary.pw"
bad "a relative TLS path" "must be an absolute path" "${good[@]}" --tls-cert tls/cert.pem
bad "a root that does not exist" "is not a directory" "${good[@]}" --root "$T/nowhere"
bad "an unknown mail owner" "does not exist" "${good[@]}" --mail-owner no-such-user-here
bad "an unknown option" "unknown option '--colour'" "${good[@]}" --colour
bad "an option without its value" "--delay needs a value" "${good[@]}" --delay

# ---- the produced configuration, started on 127.0.0.1 ----
# Postfix from a copy of the produced directory (the produced one stays as
# the setup wrote it) with only the loopback's differences: 127.0.0.1, the
# test's ports, a log file. postgrey with the produced options (its port
# replaced), Dovecot from the produced dovecot.conf with a local.conf.
[ -f "$pf/main.cf" ] && [ -f "$R/etc/dovecot/dovecot.conf" ] &&
    [ -f "$R/etc/default/postgrey" ] ||
    { echo "Bail out! the setup produced no configuration to start"; exit 1; }
pf2=$T/postfix
cp -r "$pf" "$pf2"
sed -i "s/^smtp      inet /127.0.0.1:$P_SMTP  inet /" "$pf2/master.cf"
rr=$(postconf -c "$pf2" -h smtpd_recipient_restrictions)
postconf -c "$pf2" -e "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
    "smtpd_recipient_restrictions = ${rr/:10023/:$P_POSTGREY}" \
    "syslog_name = testmailbox-$BASE" "maillog_file = $T/log/postfix.log" \
    "maillog_file_prefixes = $T/log"
cat >"$R/etc/dovecot/local.conf" <<EOT
listen = 127.0.0.1
log_path = $T/log/dovecot.log
service imap-login {
  inet_listener imap {
    port = $P_IMAP
  }
  inet_listener imaps {
    port = $P_IMAPS
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $P_POP3
  }
  inet_listener pop3s {
    port = $P_POP3S
  }
}
EOT
queue=$R/var/spool/postfix
mkdir -p "$queue" "$R/var/lib/postfix"
stop_postfix() {	# the master by pid, then every daemon working in its queue
	local q i p left
	[ -f "$queue/pid/master.pid" ] || return 0
	q=$(cd "$queue" && pwd -P)
	stop_pid "$(head -1 "$queue/pid/master.pid" | tr -dc 0-9)"
	for i in $(seq 1 50); do
		left=""
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/cwd" 2>/dev/null)" = "$q" ] && left="$left ${p#/proc/}"
		done
		[ -z "$left" ] && return 0
		[ "$i" = 40 ] && kill -9 $left 2>/dev/null
		sleep 0.1
	done
}
pidof_file() { [ -f "$1" ] && head -1 "$1" | tr -dc 0-9; }
CLEANUP+=("stop_pid \"\$(pidof_file $R/run/dovecot/master.pid)\"")
CLEANUP+=("stop_pid \"\$(pidof_file $T/postgrey.pid)\"")
CLEANUP+=("stop_postfix")
# shellcheck disable=SC1091
POSTGREY_OPTS=$(. "$R/etc/default/postgrey"; echo "$POSTGREY_OPTS")
# shellcheck disable=SC2086
postgrey ${POSTGREY_OPTS/--inet=127.0.0.1:10023/--inet=127.0.0.1:$P_POSTGREY} \
    --pidfile="$T/postgrey.pid" --daemonize 2>>"$T/log/postgrey.log" ||
    { echo "Bail out! postgrey did not start: $(tail -3 "$T/log/postgrey.log")"; exit 1; }
dovecot -c "$R/etc/dovecot/dovecot.conf" ||
    { echo "Bail out! dovecot did not start"; exit 1; }
postfix -c "$pf2" set-permissions >/dev/null 2>&1 || true
postfix -c "$pf2" start >/dev/null 2>&1 ||
    { echo "Bail out! postfix did not start: $(tail -3 "$T/log/postfix.log")"; exit 1; }
for p in $P_SMTP $P_POSTGREY $P_IMAP $P_IMAPS $P_POP3 $P_POP3S; do
	for i in $(seq 1 100); do
		(exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null && break
		[ "$i" = 100 ] && { echo "Bail out! nothing listens on 127.0.0.1:$p"; exit 1; }
		sleep 0.1
	done
done

# smtp RCPT: one SMTP session to the far side; EHLO, RCPT and (when the
# recipient is accepted) DATA replies in EHLO_R, RCPT_R, DATA_R.
reply() {
	local l
	R_=""
	while IFS= read -r -t 10 l <&3; do
		l=${l%$'\r'}
		R_="${R_:+$R_
}$l"
		[ "${l:3:1}" = - ] || return 0
	done
	return 1
}
smtp() {
	EHLO_R="" RCPT_R="" DATA_R=""
	exec 3<>/dev/tcp/127.0.0.1/$P_SMTP || return 1
	reply
	printf 'EHLO relay.corp.test\r\n' >&3; reply; EHLO_R=$R_
	printf 'MAIL FROM:<probe@corp.test>\r\n' >&3; reply
	printf 'RCPT TO:<%s>\r\n' "$1" >&3; reply; RCPT_R=$R_
	if [ "${RCPT_R:0:3}" = 250 ]; then
		printf 'DATA\r\n' >&3; reply
		printf 'From: <probe@corp.test>\r\nTo: <%s>\r\nSubject: testmailbox %s\r\nMessage-ID: <%s@corp.test>\r\n\r\nfar side\r\n.\r\n' \
		    "$1" "$$" "tmb-$$" >&3
		reply; DATA_R=$R_
	fi
	printf 'QUIT\r\n' >&3; reply
	exec 3>&-
	OUT="EHLO: $EHLO_R RCPT: $RCPT_R DATA: $DATA_R"
}
RCPT=canary+$$-1@greylist.test
t0=$(date +%s)
smtp "$RCPT"
check "live: STARTTLS offered" grep -qx '250-STARTTLS' <<<"$EHLO_R"
check "live: the first attempt is greylisted (450)" bash -c 'case $1 in "450 4.2.0 "*Greylisted*) ;; *) exit 1 ;; esac' _ "$RCPT_R"
smtp "$RCPT"
check "live: again at once, still 450" bash -c 'case $1 in "450 "*) ;; *) exit 1 ;; esac' _ "$RCPT_R"
smtp "other@elsewhere.test"
check "live: no relaying (554 Relay access denied)" bash -c 'case $1 in "554 "*"Relay access denied"*) ;; *) exit 1 ;; esac' _ "$RCPT_R"
accepted=0
for i in $(seq 1 20); do
	sleep 1
	smtp "$RCPT"
	[ "${RCPT_R:0:3}" = 450 ] && continue
	accepted=$(($(date +%s) - t0))
	break
done
check "live: accepted after the delay (250 after ${accepted}s, delay ${DELAY}s)" bash -c \
    '[ "${1:0:3}" = 250 ] && [ "$2" -ge $(('"$DELAY"' - 1)) ] && case $3 in "250 2.0.0 Ok: queued"*) ;; *) exit 1 ;; esac' _ "$RCPT_R" "$accepted" "$DATA_R"
md=$R/var/mail/testmailbox/greylist.test/canary
for i in $(seq 1 50); do
	[ -n "$(find "$md/new" -type f 2>/dev/null | head -1)" ] && break
	sleep 0.2
done
msg=$(find "$md/new" -type f | head -1)
OUT=$(cat "$msg" 2>/dev/null)
check "live: it landed in the canary Maildir" grep -q "^Message-ID: <tmb-$$@corp.test>" <<<"$OUT"
check "live: with postgrey's X-Greylist header" grep -q "^X-Greylist: delayed [0-9]* seconds by postgrey-.* at mx.greylist.test" <<<"$OUT"
check "live: delivered to the canary address with its extension" grep -qx "Delivered-To: $RCPT" <<<"$OUT"
# IMAP with the configured user, over STARTTLS (the credentials go to curl
# on standard input, not its command line).
imap() {	# USER PASSWORD URL [CURL ARGS]
	local u=$1 pw=$2 url=$3
	shift 3
	OUT=$(printf 'user = "%s:%s"\n' "$u" "$pw" | curl -s -K - --max-time 10 \
	    --cacert "$T/tls/ca.crt" "$@" "$url" 2>&1) && RC=0 || RC=$?
}
imap canary@greylist.test "$CPASS" "imap://127.0.0.1:$P_IMAP/INBOX;UID=1" --ssl-reqd
check "live: IMAP (STARTTLS) as canary@greylist.test reads the message" \
    bash -c '[ "$1" = 0 ] && grep -q "^X-Greylist: " <<<"$2"' _ "$RC" "$OUT"
imap canary@greylist.test "$CPASS" "imaps://127.0.0.1:$P_IMAPS/INBOX" -X 'STATUS INBOX (MESSAGES)'
check "live: IMAPS too, one message" bash -c '[ "$1" = 0 ] && grep -q "MESSAGES 1" <<<"$2"' _ "$RC" "$OUT"
imap canary@greylist.test wrong-password "imaps://127.0.0.1:$P_IMAPS/INBOX" -X 'STATUS INBOX (MESSAGES)'
check "live: a wrong password is refused" test "$RC" != 0
# Dovecot trusts a client whose address is its own: this one comes from
# 127.0.0.2.
imap canary@greylist.test "$CPASS" "imap://127.0.0.1:$P_IMAP/INBOX" -X 'STATUS INBOX (MESSAGES)' \
    --interface 127.0.0.2
check "live: no login without TLS (from 127.0.0.2)" test "$RC" != 0
imap canary@greylist.test "$CPASS" "imap://127.0.0.1:$P_IMAP/INBOX" -X 'STATUS INBOX (MESSAGES)' \
    --interface 127.0.0.2 --ssl-reqd
check "live: and with STARTTLS from there, it logs in" bash -c '[ "$1" = 0 ] && grep -q "MESSAGES 1" <<<"$2"' _ "$RC" "$OUT"
imap bounces@greylist.test "$BPASS" "pop3s://127.0.0.1:$P_POP3S/"
# (curl prints the empty LIST's lone CR)
check "live: the bounce mailbox over POP3S, empty" bash -c '[ "$1" = 0 ] && [ -z "$(tr -d "\r\n" <<<"$2")" ]' _ "$RC" "$OUT"
done_testing
