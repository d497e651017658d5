#!/bin/bash
# Protocol edge cases against small scripted servers: a server that never
# answers, one that sends garbage or an endless line, one that rejects.
# The plugin must answer in time, with one clear line, and never crash.
. "$(dirname "$0")/../lib.sh"
command -v bc >/dev/null || { echo "1..0 # SKIP bc is not installed"; exit 0; }
BASE=${MISBEHAVING_PORT:-13600}
STATE=$(mktemp -d); CLEANUP+=("rm -rf $STATE")
DEAD=127.0.0.1:$((BASE + 99))

start_scripted $((BASE + 1)) hang
start_scripted $((BASE + 2)) smtp-garbage
start_scripted $((BASE + 3)) smtp-endless
start_scripted $((BASE + 4)) smtp-rcpt
start_scripted $((BASE + 5)) imap-garbage
start_scripted $((BASE + 6)) imap-bye
start_scripted $((BASE + 7)) imap-status
start_scripted $((BASE + 8)) smtp-tempfail

base=(-f probe@corp.test -r canary@greylist.test --state-dir "$STATE"
    --starttls never --mailbox-starttls never)

# SMTP accepts and never answers: UNKNOWN within -t + 0.5 s, naming the step.
run --probe hang "${base[@]}" -S smtp://127.0.0.1:$((BASE + 1)) \
    -M imap://$DEAD -t 2
check "silent SMTP server: UNKNOWN" rc_is 3
check "silent SMTP server: within -t + 0.5 s ($SECS s)" faster_than 2.5
check "silent SMTP server: says it timed out and where" has "timed out after 2s at SMTP"
check "silent SMTP server: nothing on stderr without -v" test -z "$ERR"
check "silent SMTP server: no canary recorded as failed" \
    jqt '.counters.submit_failed == 0 and .counters.sent == 0' "$STATE/hang.json"

# IMAP accepts and never answers.
run --probe hang2 --no-send -M imap://127.0.0.1:$((BASE + 1)) \
    --state-dir "$STATE" --mailbox-starttls never -t 2
check "silent IMAP server: UNKNOWN" rc_is 3
check "silent IMAP server: within -t + 0.5 s ($SECS s)" faster_than 2.5
check "silent IMAP server: names the step" has "at IMAP greeting"

# SIGTERM (Icinga's timeout) ends the run the same way, state saved.
t0=$(date +%s.%N)
OUT=$("$PLUGIN" --probe term "${base[@]}" -S smtp://127.0.0.1:$((BASE + 1)) \
    -M imap://$DEAD -t 20 2>/dev/null & pid=$!; sleep 1; kill -TERM $pid; wait $pid; echo "rc=$?")
secs=$(echo "$(date +%s.%N) - $t0" | bc)
RC=${OUT##*rc=}
check "SIGTERM: UNKNOWN" rc_is 3
check "SIGTERM: ends within 1.5 s of the signal ($secs s)" test "$(echo "$secs < 2.5" | bc)" = 1
check "SIGTERM: says so" has "terminated by a signal"
check "SIGTERM: state saved" jqt '.format_version == 1' "$STATE/term.json"
check "SIGTERM: no lock left held" flock -n "$STATE/term.lock" true

# Garbage and endless lines from the submission server.
# No valid greeting ever comes: a timeout (UNKNOWN) at the greeting.
run --probe garbage "${base[@]}" -S smtp://127.0.0.1:$((BASE + 2)) \
    -M imap://$DEAD -t 2
check "garbage SMTP: UNKNOWN" rc_is 3
check "garbage SMTP: within -t + 0.5 s ($SECS s)" faster_than 2.5
check "garbage SMTP: one status line from us, naming the greeting" \
    has "timed out after 2s at SMTP greeting"
check "garbage SMTP: no control characters in the output" \
    sh -c "! printf '%s' \"\$1\" | LC_ALL=C grep -q '[[:cntrl:]]'" _ "$(echo "$OUT" | tr -d '\n')"
run --probe endless "${base[@]}" -S smtp://127.0.0.1:$((BASE + 3)) \
    -M imap://$DEAD -t 3
check "endless SMTP line: a verdict, not a crash (rc $RC)" test "$RC" -ge 2
check "endless SMTP line: within -t + 0.5 s ($SECS s)" faster_than 3.5
check "endless SMTP line: output stays short" test "${#OUT}" -lt 4096

# A recipient rejected at submission: CRITICAL with the step and the reply.
run --probe rcpt "${base[@]}" -S smtp://127.0.0.1:$((BASE + 4)) \
    -M imap://$DEAD -t 5
check "rejected recipient: CRITICAL" rc_is 2
check "rejected recipient: names RCPT TO" has "at SMTP RCPT TO"
check "rejected recipient: quotes the reply" has "550 5.1.1"
run --probe tempfail "${base[@]}" -S smtp://127.0.0.1:$((BASE + 8)) \
    -M imap://$DEAD -t 5
check "451 after DATA: CRITICAL naming end of data" has "at SMTP end of data"
check "451 after DATA: quotes the reply" has "451 4.3.0"

# Hostile IMAP servers: UNKNOWN with a reason; canaries in flight listed.
for m in 5:garbage 6:bye 7:status; do
	run --probe imap-${m#*:} --no-send -M imap://127.0.0.1:$((BASE + ${m%%:*})) \
	    --state-dir "$STATE" --mailbox-starttls never -t 5
	check "IMAP ${m#*:}: UNKNOWN" rc_is 3
	check "IMAP ${m#*:}: says it cannot read the mailbox" has "cannot read the test mailbox"
done

# Bad options and config: UNKNOWN (3) with a usage hint, on stdout only.
run --no-such-option
check "unknown option: UNKNOWN" rc_is 3
check "unknown option: usage hint" has "see check_mailcanary --help"
check "unknown option: nothing on stderr" test -z "$ERR"
run -w 10:x -S smtp://h -f a@b -r c@d -M imap://h
check "bad range: UNKNOWN" rc_is 3
check "bad range: says which" has "bad threshold range '10:x'"
run -S smtp://h -f 'a@b.test
Bcc: victim@example.org' -r c@d -M imap://h
check "header injection in --from: refused" has "line break"
run --help
check "--help exits 3" rc_is 3
run --version
check "--version exits 3" rc_is 3
run -S 'smtp://u:pw@h' -f a@b -r c@d -M imap://h
check "password in a URL: refused" has "must not carry a password"
printf 'pw\n' >"$STATE/open.pw"; chmod 644 "$STATE/open.pw"
run -S smtp://h -f a@b -r c@d -M imap://h --mailbox-user u \
    --mailbox-password-file "$STATE/open.pw" --state-dir "$STATE"
check "world-readable password file: refused" has "readable by group or others"
printf '[probe x]\nsmtp = smtp://h\nfrom = a@b\nto = c@d\nmailbox = imap://h\nlost_after = soon\n' >"$STATE/bad.conf"
run --config "$STATE/bad.conf" --probe x
check "bad config value: names file, line and key" has "bad.conf:6: lost_after must be"
run -S smtp://h -f a@b -r c@d -M imap://h --state-dir /nonexistent/state
check "missing state dir: UNKNOWN" rc_is 3
check "missing state dir: names it" has "/nonexistent/state"

# The shipped example configuration parses, every probe of it (its
# password files pointed at one that exists).
printf 'pw\n' >"$STATE/example.pw"; chmod 600 "$STATE/example.pw"
sed "s|/etc/mailcanary/[a-z.-]*\.pw|$STATE/example.pw|" \
    "$top_srcdir/doc/mailcanary.conf.example" >"$STATE/example.conf"
for p in exchange backup-mx; do
	run --config "$STATE/example.conf" --probe "$p" --show-config
	check "example config: [probe $p] parses (--show-config)" has "[probe $p]"
done
check "example config: [global] applies, the probe overrides it" \
    grep -q '^interval = 900$' <<<"$OUT"

done_testing
