<?php
/*
 * mkpackage.php - wraps the template XML and the data query's resource
 * file into a Cacti 1.2 package (gzipped XML) that import_package.php and
 * Import/Export -> Import Packages accept. Cacti checks a package's
 * signature against the public key the package carries, so this signs
 * with a key made for the occasion and thrown away: the signature only
 * guards against a damaged file.
 *
 * usage: php mkpackage.php TEMPLATE.xml QUERY.xml VERSION >package.xml.gz
 */
if ($argc != 4) {
	fwrite(STDERR, "usage: php mkpackage.php TEMPLATE.xml QUERY.xml VERSION\n");
	exit(1);
}
$key = openssl_pkey_new(array('private_key_bits' => 2048,
    'private_key_type' => OPENSSL_KEYTYPE_RSA));
$pub = openssl_pkey_get_details($key)['key'];

function sign($data, $key)
{
	if (!openssl_sign($data, $sig, $key, OPENSSL_ALGO_SHA256)) {
		fwrite(STDERR, "mkpackage: cannot sign\n");
		exit(1);
	}
	return base64_encode($sig);
}

function x($s)
{
	return htmlspecialchars($s, ENT_QUOTES | ENT_XML1);
}

$files = array(
	'resource/snmp_queries/mailcanary.xml' => $argv[2],
	basename($argv[1]) => $argv[1],
);
$xml = "<xml>\n   <info>\n" .
    "     <name>mailcanary probes</name>\n" .
    "     <author>mailcanary</author>\n" .
    "     <homepage></homepage>\n" .
    "     <email></email>\n" .
    "     <description>Graphs of mailcanaryd's mcProbeTable (MAILCANARY-MIB): latency, greylisting delay, canaries in flight, outcomes, state, time since the last delivery, canaries delivered to junk folders, SPF, DKIM and DMARC failures and results</description>\n" .
    "     <class>snmp</class>\n" .
    "     <tags>mail snmp mailcanary</tags>\n" .
    "     <installation>Add the data query \"mailcanary - Probes\" to the device whose snmpd has mailcanaryd as its AgentX subagent</installation>\n" .
    '     <version>' . x($argv[3]) . "</version>\n" .
    "     <copyright>GNU General Public License</copyright>\n" .
    "   </info>\n" .
    "   <publickey>" . base64_encode($pub) . "</publickey>\n" .
    "   <directories>\n       <directory>resource/snmp_queries</directory>\n   </directories>\n" .
    "   <files>\n";
foreach ($files as $name => $path) {
	$data = file_get_contents($path);
	if ($data === false)
		exit(1);
	$xml .= "       <file>\n" .
	    "           <name>$name</name>\n" .
	    (strpos($name, '/') !== false ? '           <opath>&lt;path_cacti&gt;/' . $name . "</opath>\n" : '') .
	    '           <data>' . base64_encode($data) . "</data>\n" .
	    '           <filesignature>' . sign($data, $key) . "</filesignature>\n" .
	    "       </file>\n";
}
$xml .= "   </files>\n";
/* Cacti verifies the text with this line emptied, then puts it back. */
$xml .= "   <signature></signature>\n</xml>\n";
$sig = sign($xml, $key);
$xml = str_replace("   <signature></signature>\n", "   <signature>$sig</signature>\n", $xml);
print gzencode($xml, 9, FORCE_GZIP);
