#!/bin/bash
# The packages: the Debian source package (packaging/debian as debian/ in
# a git export of HEAD) builds, lintian finds no error and no warning
# without an override, and the installed programs work on the loopback
# mail path: check_mailcanary from /usr/lib/nagios/plugins and mailcanaryd
# from /usr/sbin under a private snmpd, as the system user the package
# makes. An upgrade, a remove and a reinstall keep the state and the
# edited configuration; purge asks nothing and leaves nothing but the
# system user (Debian keeps system users). packaging/rpm/mailcanary.spec
# expands, builds (rpmbuild --nodeps) and passes rpmlint.
# It installs packages on this machine: it refuses to run where mailcanary
# packages, /etc/mailcanary or /var/lib/mailcanary are already there.
. "$(dirname "$0")/../lib.sh"
require_servers
for c in git dpkg-buildpackage lintian rpmbuild rpmspec rpmlint snmpd snmpget setpriv adduser; do
	command -v $c >/dev/null || { echo "Bail out! $c is missing (scripts/deps)"; exit 1; }
done
git -C "$top_srcdir" rev-parse -q --verify HEAD >/dev/null ||
    { echo "1..0 # SKIP $top_srcdir is not a git checkout: the packages are built from git archive HEAD"; exit 0; }
PKGS="mailcanary mailcanaryd mailcanary-mib"
for p in $PKGS; do
	if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
		echo "1..0 # SKIP package $p is on this machine (its own, not the test's): the test installs and purges its own"; exit 0
	fi
done
for d in /etc/mailcanary /var/lib/mailcanary; do
	[ -e $d ] && { echo "1..0 # SKIP $d exists (not the test's): the test's purge would remove it"; exit 0; }
done

PORT=${PACKAGES_TEST_PORT:-16000}
SNMP_PORT=${PACKAGES_SNMP_PORT:-16050}
CONF=/etc/mailcanary/mailcanary.conf
STATE=/var/lib/mailcanary
PLUGIN=/usr/lib/nagios/plugins/check_mailcanary
DAEMON=/usr/sbin/mailcanaryd
export DEBIAN_FRONTEND=noninteractive
X=$(mktemp -d /tmp/mailcanary-packages.XXXXXX)
CLEANUP+=("rm -rf $X")
chmod 711 "$X"
# Whatever the test installed goes, even on failure; the system user too
# if the test made it (the package keeps it).
getent passwd mailcanary >/dev/null && USER_BEFORE=1 || USER_BEFORE=0
CLEANUP+=("[ $USER_BEFORE = 1 ] || { userdel mailcanary && groupdel mailcanary; } 2>/dev/null || ! getent passwd mailcanary >/dev/null || diag 'could not remove the user mailcanary the test made'")
CLEANUP+=("dpkg_retry --purge $PKGS >/dev/null 2>&1; rm -rf /etc/mailcanary $STATE")

# dpkg_retry ARGS...: dpkg, waiting up to 60 s for a lock another
# installer holds; stdin is closed, so a question fails instead of waiting.
dpkg_retry() {
	local i rc
	for i in $(seq 1 60); do
		dpkg "$@" </dev/null >"$X/dpkg.out" 2>&1 && { cat "$X/dpkg.out"; return 0; }
		rc=$?
		grep -q 'lock' "$X/dpkg.out" || { cat "$X/dpkg.out"; return $rc; }
		sleep 1
	done
	cat "$X/dpkg.out"; return 1
}
# out_has / out_lacks GREP-ARGS...: whether the last command's OUT matches.
out_has() { grep -q "$@" <<<"$OUT"; }
out_lacks() { ! grep -q "$@" <<<"$OUT"; }
# The builds run as from a shell: nothing of the make check that runs
# this test (its MAKEFLAGS, TESTS, top_srcdir) reaches the package's make.
clean_env() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u TESTS \
	    -u top_srcdir -u top_builddir -u CMOCKA_MESSAGE_OUTPUT "$@"
}
T0=$(date +%s)

# ---- build: a clean export of HEAD, the source and binary packages ----
V=$(dpkg-parsechangelog -l "$top_srcdir/packaging/debian/changelog" -S Version)
UV=${V%-*}
SRC=$X/mailcanary-$UV
git -C "$top_srcdir" archive --prefix="mailcanary-$UV/" -o "$X/mailcanary_$UV.orig.tar.gz" HEAD
tar -xzf "$X/mailcanary_$UV.orig.tar.gz" -C "$X"
cp -r "$SRC/packaging/debian" "$SRC/debian"
(cd "$SRC" && DEB_BUILD_OPTIONS=parallel=2 clean_env dpkg-buildpackage -us -uc -j2) >"$X/deb-build.log" 2>&1
RC=$?
OUT=$(grep -E '^(FAIL|ERROR|XPASS):|error' "$X/deb-build.log" | head -20; tail -5 "$X/deb-build.log")
check "dpkg-buildpackage -us -uc builds the source and binary packages from git archive HEAD ($(($(date +%s) - T0)) s)" test "$RC" = 0
[ "$RC" = 0 ] || { diag "$(tail -40 "$X/deb-build.log")"; done_testing; exit 1; }
check "the build ran the unit tests, and they passed" \
    bash -c "grep -q '^PASS: tests/unit/test_state' '$X/deb-build.log' && ! grep -q '^FAIL:' '$X/deb-build.log'"
# What the build leaves in the tree is ignored by .gitignore (so never
# committed): git in the export lists nothing beside the exported files.
git -C "$SRC" init -q && git -C "$SRC" add -A
OUT=$(comm -13 <(tar -tzf "$X/mailcanary_$UV.orig.tar.gz" | sed "s|^mailcanary-$UV/||" | sort) \
    <(git -C "$SRC" ls-files | sort))
check "every file the build leaves in the tree is in .gitignore" test -z "$OUT"
DEB=$X/mailcanary_${V}_$(dpkg --print-architecture).deb
DEBD=$X/mailcanaryd_${V}_$(dpkg --print-architecture).deb
DEBM=$X/mailcanary-mib_${V}_all.deb

OUT=$(lintian -I --pedantic --show-overrides "$X"/mailcanary_${V}_*.changes 2>&1 | grep -v '^running with root'); RC=$?
diag "lintian (I: info, P: pedantic, X: experimental, O: overridden, N: its reason):" "$OUT"
check "lintian: no error, no warning left without an override" \
    out_lacks -E '^[EW]: '

# ---- what each package holds ----
has_file() {	# DEB LINE-PATTERN: dpkg -c lists a matching entry
	dpkg-deb -c "$1" | grep -qE "$2"
}
check "mailcanary: check_mailcanary in /usr/lib/nagios/plugins, executable" \
    has_file "$DEB" '^-rwxr-xr-x root/root .* \./usr/lib/nagios/plugins/check_mailcanary$'
check "mailcanary: nothing in a multiarch libdir" bash -c "! dpkg-deb -c '$DEB' | grep -q -- '-linux-gnu'"
check "mailcanary: mailcanary in /usr/bin" has_file "$DEB" ' \./usr/bin/mailcanary$'
check "mailcanary: the man pages mailcanary(1) and check_mailcanary(8)" \
    bash -c "dpkg-deb -c '$DEB' | grep -q 'man1/mailcanary.1.gz' && dpkg-deb -c '$DEB' | grep -q 'man8/check_mailcanary.8.gz'"
check "mailcanaryd: the daemon in /usr/sbin" has_file "$DEBD" '^-rwxr-xr-x .* \./usr/sbin/mailcanaryd$'
check "mailcanaryd: its systemd unit" has_file "$DEBD" ' \./lib/systemd/system/mailcanaryd.service$'
check "mailcanaryd: mailcanaryd(8) and mailcanary.conf(5)" \
    bash -c "dpkg-deb -c '$DEBD' | grep -q 'man8/mailcanaryd.8.gz' && dpkg-deb -c '$DEBD' | grep -q 'man5/mailcanary.conf.5.gz'"
check "mailcanaryd: the snmpd snippet in /usr/share/doc/mailcanaryd" \
    has_file "$DEBD" ' \./usr/share/doc/mailcanaryd/snmpd.conf.mailcanary$'
check "mailcanaryd: $CONF, 0640, a conffile" \
    bash -c "dpkg-deb -c '$DEBD' | grep -qE '^-rw-r----- .* \.$CONF\$' && [ \"\$(dpkg-deb -I '$DEBD' conffiles)\" = $CONF ]"
check "mailcanary-mib: MAILCANARY-MIB in /usr/share/snmp/mibs" \
    has_file "$DEBM" ' \./usr/share/snmp/mibs/MAILCANARY-MIB.txt$'

# ---- a user named mailcanary that is not a system user: postinst stops
# with one line, having made nothing ----
if [ $USER_BEFORE = 0 ]; then
	useradd -M -s /usr/sbin/nologin mailcanary
	OUT=$(dpkg_retry -i "$DEB" "$DEBD" "$DEBM" 2>&1); RC=$?
	check "a non-system user mailcanary: the install fails, saying so in one line" \
	    eval '[ $RC != 0 ] && out_has "^mailcanaryd: cannot create the system user mailcanary"'
	check "... and makes no $STATE" test ! -e $STATE
	dpkg_retry --purge $PKGS >/dev/null
	userdel mailcanary; groupdel mailcanary 2>/dev/null
else
	skip "a non-system user mailcanary: the install fails" "a user mailcanary was already there"
	skip "... and makes no $STATE" "a user mailcanary was already there"
fi

# ---- install ----
OUT=$(dpkg_retry -i "$DEB" "$DEBD" "$DEBM" 2>&1); RC=$?
check "dpkg -i installs the three packages, asking nothing" test "$RC" = 0
check "a system user mailcanary, home $STATE, no login shell" \
    bash -c "IFS=: read -r n x uid gid g home shell < <(getent passwd mailcanary) && [ \$uid -lt 1000 ] && [ \$home = $STATE ] && [ \$shell = /usr/sbin/nologin ]"
check "$STATE: mailcanary:mailcanary 0700" test "$(stat -c '%U:%G %a' $STATE)" = "mailcanary:mailcanary 700"
check "$CONF: root:mailcanary 0640" test "$(stat -c '%U:%G %a' $CONF)" = "root:mailcanary 640"
missing=""
for k in $("$PLUGIN" -S smtp://localhost -f a@b.invalid -r c@d.invalid -M imap://localhost --show-config | sed -n 's/^\([a-z_]*\) = .*/\1/p'); do
	grep -qE "^;$k =( |\$)" $CONF || missing="$missing $k"
done
check "$CONF names every key, commented out${missing:+ (missing:$missing)}" test -z "$missing"
check "$CONF as installed sets nothing and has no probe" \
    bash -c "! grep -qE '^[a-z_]+[[:space:]]*=|^\[probe ' $CONF"
OUT=$("$DAEMON" -n 2>&1); RC=$?
check "as installed, mailcanaryd -n refuses to run: no probe" \
    eval '[ $RC = 1 ] && out_has "no \[probe NAME\] section"'
check "the service is not enabled by the install" \
    test ! -e /etc/systemd/system/multi-user.target.wants/mailcanaryd.service

# ---- the installed programs on the loopback mail path ----
start_mailpath "$PORT"
mkdir "$X/secrets"
install -o mailcanary -g mailcanary -m 0600 "$MP_ROOT/mbox.pw" "$X/secrets/mbox.pw"
install -o mailcanary -g mailcanary -m 0600 "$MP_ROOT/smtp.pw" "$X/secrets/smtp.pw"
install -m 0644 "$MP_CA" "$X/ca.crt"
# The operator's edits: the AgentX socket in [global], a probe at the end.
sed -i "s|^;agentx_socket = .*|agentx_socket = $X/agentx.sock|" $CONF
cat >>$CONF <<EOT

[probe loop]
smtp = $MP_SMTP
from = $MP_FROM
to = $MP_TO
mailbox = $MP_IMAP
mailbox_user = $MP_TO_USER
mailbox_password_file = $X/secrets/mbox.pw
bounce_mailbox = $MP_BOUNCE_IMAP
bounce_user = $MP_FROM_USER
bounce_password_file = $X/secrets/smtp.pw
ca_file = $X/ca.crt
interval = 3
snmp_index = 5
EOT
cp $CONF "$X/conf.edited"
as_mc() { setpriv --reuid=mailcanary --regid=mailcanary --init-groups -- "$@"; }
plugin() {	# ARGS...: the installed plugin as mailcanary; sets OUT, RC
	OUT=$(as_mc "$PLUGIN" --config $CONF --probe loop "$@" 2>&1) && RC=0 || RC=$?
}
plugin
check "installed check_mailcanary, as mailcanary: the first run sends (OK)" rc_is 0
delivered() {
	local i
	for i in $(seq 1 40); do
		plugin --no-send
		[ "$RC" = 0 ] && has "delivered in" && return 0
		sleep 1
	done
	return 1
}
check "installed check_mailcanary: OK, the canary delivered, within 40 s" delivered
check "... with perfdata (latency, sent, delivered)" \
    out_has -E '^MAILCANARY OK - .*\| .*latency=[0-9.]+s;1800;3600;0 .*sent=1c delivered=1c'
check "the state file and the key in $STATE, owned by mailcanary" \
    bash -c "[ \"\$(stat -c %U $STATE/loop.json $STATE/key | sort -u)\" = mailcanary ]"

# snmpd from the shipped snippet, on a private socket and port.
sed -e "s|^agentXSocket .*|agentXSocket $X/agentx.sock|" \
    -e "s|^trap2sink .*|trap2sink 127.0.0.1:$((SNMP_PORT + 1)) public|" \
    /usr/share/doc/mailcanaryd/snmpd.conf.mailcanary >"$X/snmpd.conf"
export SNMP_PERSISTENT_DIR=$X/persist MIBS=
mkdir -p "$X/persist"
if ss -Hlun "sport = :$SNMP_PORT" 2>/dev/null | grep -q .; then
	echo "Bail out! udp 127.0.0.1:$SNMP_PORT is already in use"; exit 1
fi
snmpd -Lf "$X/snmpd.log" -C -c "$X/snmpd.conf" -I -smux,mta_sendmail \
    -p "$X/snmpd.pid" udp:127.0.0.1:$SNMP_PORT
CLEANUP+=("stop_pid \$(cat $X/snmpd.pid 2>/dev/null)")
# As the unit runs it: as mailcanary, the default configuration. setpriv
# execs it, so $! is the daemon's pid.
setpriv --reuid=mailcanary --regid=mailcanary --init-groups -- "$DAEMON" -f \
    >"$X/daemon.log" 2>&1 &
DPID=$!
CLEANUP+=("stop_pid $DPID")
E=1.3.6.1.4.1.32473.1.1.1
get() { snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT "$@" 2>&1; }
wait_get() {	# OID VALUE SECONDS
	local i
	for i in $(seq 1 "$3"); do [ "$(get "$1")" = "$2" ] && return 0; sleep 1; done
	return 1
}
check "installed mailcanaryd, as mailcanary, under snmpd: the probe's row (index 5) is served" \
    wait_get $E.2.5 '"loop"' 20
check "... its condition delivered(1) and state ok(1)" \
    bash -c "for i in \$(seq 1 30); do [ \"\$(snmpget -v2c -c public -Oqv 127.0.0.1:$SNMP_PORT $E.6.5 $E.5.5 | tr '\n' ' ')\" = '1 1 ' ] && exit 0; sleep 1; done; exit 1"
if find_base_mibs; then
	check "the installed MIB names the table snmpd serves" bash -c \
	    "snmpwalk -v2c -c public -M '/usr/share/snmp/mibs:$BASE_MIBS' -m MAILCANARY-MIB 127.0.0.1:$SNMP_PORT MAILCANARY-MIB::mcProbeName | grep -Eq 'mcProbeName[.]5 = STRING: \"?loop\"?\$'"
else
	skip "the installed MIB names the table snmpd serves" "$BASE_MIBS_WHY"
fi
stop_pid $DPID
check "mailcanaryd stopped on SIGTERM" bash -c "! kill -0 $DPID 2>/dev/null"
check "every file in $STATE is mailcanary's" test -z "$(find $STATE ! -user mailcanary)"
grep -q . "$X/daemon.log" && diag "mailcanaryd: $(head -3 "$X/daemon.log")"

# ---- upgrade, remove, reinstall: state, key and edits stay ----
KEY=$(sha256sum $STATE/key)
SENT=$(jq .counters.sent $STATE/loop.json)
V2=${V%-*}-$((${V##*-} + 1))
for d in "$DEB" "$DEBD" "$DEBM"; do	# the next version: the same files
	rm -rf "$X/repack"
	dpkg-deb -R "$d" "$X/repack"
	sed -i "s/^Version: .*/Version: $V2/" "$X/repack/DEBIAN/control"
	dpkg-deb -b "$X/repack" "$X/next-$(basename "$d")" >/dev/null
done
kept() {	# the key, the state and the edited configuration, as they were
	[ "$(sha256sum $STATE/key)" = "$KEY" ] &&
	    [ "$(jq .counters.sent $STATE/loop.json)" -ge "$SENT" ] &&
	    cmp -s $CONF "$X/conf.edited" &&
	    [ "$(stat -c '%U:%G %a' $CONF $STATE | tr '\n' ' ')" = "root:mailcanary 640 mailcanary:mailcanary 700 " ]
}
OUT=$(dpkg_retry -i "$X"/next-*.deb 2>&1); RC=$?
check "upgrade $V -> $V2: dpkg -i asks nothing" \
    bash -c "[ $RC = 0 ] && [ \"\$(dpkg-query -W -f '\${Version}' mailcanaryd)\" = $V2 ]"
check "upgrade: the key, the state file and the edited configuration are kept" kept
OUT=$(dpkg_retry -r mailcanaryd 2>&1); RC=$?
check "remove mailcanaryd: the daemon goes, the configuration and the state stay" \
    bash -c "[ $RC = 0 ] && [ ! -e $DAEMON ] && [ -f $CONF ] && [ -f $STATE/key ]"
OUT=$(dpkg_retry -i "$X/next-$(basename "$DEBD")" 2>&1); RC=$?
check "reinstall: dpkg -i asks nothing" test "$RC" = 0
check "reinstall: the key, the state file and the edited configuration are kept" kept
plugin --no-send
check "reinstall: the installed plugin still reads the state: OK, canary #1 from before" \
    eval '[ $RC = 0 ] && out_has "^#1 sent .*, delivered in "'

# ---- purge: asks nothing, leaves only the system user ----
OUT=$(dpkg_retry --purge $PKGS 2>&1); RC=$?
check "dpkg --purge asks nothing" test "$RC" = 0
check "purge: no /etc/mailcanary, no $STATE" test ! -e /etc/mailcanary -a ! -e $STATE
check "purge: the programs, the unit and the MIB are gone" \
    bash -c "for f in $PLUGIN /usr/bin/mailcanary $DAEMON /lib/systemd/system/mailcanaryd.service /usr/share/snmp/mibs/MAILCANARY-MIB.txt; do [ ! -e \$f ] || exit 1; done"
check "purge: dpkg knows none of the packages" \
    bash -c "! dpkg-query -W -f '\${db:Status-Status}\n' $PKGS 2>/dev/null | grep -qv '^not-installed\$'"
check "purge: no systemd state of the unit left" \
    test -z "$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked /etc/systemd -name '*mailcanary*' 2>/dev/null)"
check "purge: the system user mailcanary stays (Debian keeps system users)" getent passwd mailcanary

# ---- RPM: the spec expands, builds on Debian and passes rpmlint ----
R=$X/rpm
mkdir -p "$R/SOURCES" "$R/tmp"
git -C "$top_srcdir" archive --prefix="mailcanary-$UV/" -o "$R/SOURCES/mailcanary-$UV.tar.gz" HEAD
cp "$top_srcdir/packaging/rpm/mailcanary.sysusers" "$R/SOURCES/"
SPEC=$top_srcdir/packaging/rpm/mailcanary.spec
OUT=$(rpmspec -P "$SPEC" 2>&1); RC=$?
check "rpmspec -P: expands, systemd scriptlets included" \
    eval '[ $RC = 0 ] && out_has "systemctl --no-reload preset mailcanaryd.service" && out_lacks "%systemd_"'
check "rpmspec: the version is debian/changelog's" \
    test "$(rpmspec -q --srpm --qf '%{VERSION}' "$SPEC" 2>/dev/null)" = "$UV"
# Debian's rpm runs brp-compress, a bash script, with /bin/sh.
T1=$(date +%s)
clean_env rpmbuild -bb --nodeps --define "_topdir $R" --define "_tmppath $R/tmp" \
    --define '_smp_mflags -j2' \
    --define '__brp_compress bash %{_rpmconfigdir}/brp-compress %{?_prefix}' \
    "$SPEC" >"$X/rpm-build.log" 2>&1
RC=$?
OUT=$(grep -E '^(FAIL|ERROR|XPASS):|error' "$X/rpm-build.log" | head -20; tail -5 "$X/rpm-build.log")
check "rpmbuild -bb --nodeps builds the three packages ($(($(date +%s) - T1)) s)" \
    bash -c "[ $RC = 0 ] && [ \$(find '$R/RPMS' -name '*.rpm' | wc -l) = 3 ]"
check "rpmbuild: %check ran the unit tests, and they passed" \
    bash -c "grep -q '^PASS: tests/unit/test_state' '$X/rpm-build.log' && ! grep -q '^FAIL:' '$X/rpm-build.log'"
RPMD=$(find "$R/RPMS" -name 'mailcanaryd-*.rpm')
RPMP=$(find "$R/RPMS" -name "mailcanary-$UV-*.rpm")
check "rpm: check_mailcanary in %{_libdir}/nagios/plugins" \
    bash -c "rpm -qlp '$RPMP' | grep -qx '$(rpm --eval '%{_libdir}')/nagios/plugins/check_mailcanary'"
check "rpm: the configuration root:mailcanary 0640 (noreplace), the state directory 0700" \
    bash -c "rpm -qlvp '$RPMD' | grep -qE '^-rw-r----- .* root +mailcana.* /etc/mailcanary/mailcanary.conf\$' && rpm -qcp '$RPMD' | grep -qx /etc/mailcanary/mailcanary.conf && rpm -qlvp '$RPMD' | grep -qE '^drwx------ .* mailcana +mailcana .* /var/lib/mailcanary\$'"
# What only this host causes: Debian's rpm has no find-debuginfo (which
# strips on Fedora), the packages are not signed, and rpmlint 2.4 looks
# for a man page named after its section (fixed in later rpmlint).
cat "$top_srcdir/packaging/rpm/mailcanary.rpmlintrc" - >"$X/rpmlintrc" <<'EOT'
addFilter("unstripped-binary-or-object")
addFilter("no-signature")
addFilter("no-manual-page-for-binary")
EOT
OUT=$(rpmlint -c "$top_srcdir/packaging/rpm/rpmlint.toml" -r "$X/rpmlintrc" "$SPEC" $(find "$R/RPMS" -name '*.rpm') 2>&1); RC=$?
diag "rpmlint:" "$OUT"
check "rpmlint: the spec and the packages, 0 errors, 0 warnings" \
    eval '[ $RC = 0 ] && out_has " 0 errors, 0 warnings"'
diag "packages.sh ran $(($(date +%s) - T0)) s"
done_testing
