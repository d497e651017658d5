#!/bin/bash
# remake.sh - remakes cacti_data_query_mailcanary.xml and
# mailcanary-package.xml.gz from generate-templates.php: a scratch copy of
# Debian's Cacti 1.2 (its own MariaDB on 127.0.0.1, in a private
# directory) imports the generated templates with import_template.php and
# exports them again with Cacti's own get_item_xml() (lib/export.php).
# As root (mariadbd --user=root), with Debian's cacti, mariadb-server and
# php-cli installed; nothing of the machine's own Cacti or MariaDB is used.
#
# usage: remake.sh [VERSION]	(port: CACTI_REMAKE_PORT, default 17390)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
version=${1:-1.0}
port=${CACTI_REMAKE_PORT:-17390}
[ -f /usr/share/cacti/conf_templates/cacti.sql ] || { echo "remake.sh: Debian's cacti is missing" >&2; exit 1; }
X=$(mktemp -d /tmp/mailcanary-cacti-remake.XXXXXX)
dbpid=""
cleanup() {
	[ -n "$dbpid" ] && kill "$dbpid" 2>/dev/null && wait "$dbpid" 2>/dev/null
	rm -rf "$X"
}
trap cleanup EXIT

mariadb-install-db --no-defaults --datadir="$X/db" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$X/db-install.log" 2>&1
mariadbd --no-defaults --datadir="$X/db" --socket="$X/db.sock" \
    --port="$port" --bind-address=127.0.0.1 --pid-file="$X/db.pid" \
    --user=root --skip-log-bin --innodb-buffer-pool-size=32M \
    --log-error="$X/db.err" >"$X/db.out" 2>&1 &
dbpid=$!
for i in $(seq 1 100); do [ -S "$X/db.sock" ] && break; sleep 0.1; done
mariadb --no-defaults -S "$X/db.sock" -uroot -e "
	CREATE DATABASE cacti CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
	CREATE USER cacti@'127.0.0.1' IDENTIFIED BY 'cacti';
	GRANT ALL ON cacti.* TO cacti@'127.0.0.1';"
mariadb --no-defaults -S "$X/db.sock" -uroot cacti </usr/share/cacti/conf_templates/cacti.sql
mariadb --no-defaults -S "$X/db.sock" -uroot cacti -e "UPDATE version SET cacti = '1.2.24'"

# A private copy of Cacti, so that include/config.php is our own.
C=$X/cacti
cp -a /usr/share/cacti "$C"
rm -f "$C/site/include/config.php" "$C/site/log" "$C/site/rra" "$C/site/cache"
mkdir -p "$C/site/log" "$C/site/rra" "$C/site/cache" "$X/csrf"
cat >"$C/site/include/config.php" <<EOT
<?php
\$database_type = 'mysql';
\$database_default = 'cacti';
\$database_hostname = '127.0.0.1';
\$database_username = 'cacti';
\$database_password = 'cacti';
\$database_port = '$port';
\$database_retries = 2;
\$database_ssl = false;
\$poller_id = 1;
\$url_path = '/';
\$cacti_session_name = 'Cacti';
\$cacti_db_session = false;
\$disable_log_rotation = true;
\$path_csrf_secret = '$X/csrf/secret.php';
EOT
mariadb --no-defaults -S "$X/db.sock" -uroot cacti -e \
    "REPLACE INTO settings (name, value) VALUES ('path_cactilog', '$C/site/log/cacti.log')"

php "$here/generate-templates.php" >"$X/templates.xml"
(cd "$C/cli" && php import_template.php --filename="$X/templates.xml" >"$X/import.log" 2>&1) ||
    { cat "$X/import.log" >&2; exit 1; }
# Every template line says [success]; none says fail or error.
if grep -v '^\[success\]' "$X/import.log" | grep -qi 'error\|fail'; then cat "$X/import.log" >&2; exit 1; fi
cat >"$C/cli/mc_export.php" <<'EOT'
<?php
include(__DIR__ . '/../site/include/cli_check.php');
include_once($config['base_path'] . '/lib/export.php');
$id = db_fetch_cell("SELECT id FROM snmp_query WHERE hash = '" .
    substr($argv[1], 0, 32) . "'");
if (empty($id)) {
	fwrite(STDERR, "mc_export: no such data query\n");
	exit(1);
}
print get_item_xml('data_query', $id, true);
EOT
hash=$(sed -n 's/^\t<hash_040103\([0-9a-f]*\)>$/\1/p' "$X/templates.xml")
(cd "$C/cli" && php mc_export.php "$hash" >"$X/export.xml" 2>"$X/export.err") ||
    { cat "$X/export.err" >&2; exit 1; }
grep -q '<cacti>' "$X/export.xml" || { echo "remake.sh: empty export" >&2; exit 1; }
cp "$X/export.xml" "$here/cacti_data_query_mailcanary.xml"
(cd "$here" && php mkpackage.php cacti_data_query_mailcanary.xml mailcanary.xml "$version" \
    >mailcanary-package.xml.gz)
echo "remake.sh: wrote cacti_data_query_mailcanary.xml and mailcanary-package.xml.gz"
