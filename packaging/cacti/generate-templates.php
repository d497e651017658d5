<?php
/*
 * generate-templates.php - writes the Cacti 1.2 template XML for the
 * mailcanary data query (mailcanary.xml): one data template and one
 * graph template per group of mcProbeTable columns, the query's graph
 * associations and two CDEFs. Hashes are derived from fixed names, so a
 * second run gives the same file and a re-import updates, not duplicates.
 *
 * The committed cacti_data_query_mailcanary.xml is not this output as is:
 * it was imported into a private Cacti 1.2.24 and exported again with
 * Cacti's own export code (lib/export.php), see README.md.
 *
 * usage: php generate-templates.php >templates.xml
 */

function h($type, $key)
{
	return 'hash_' . $type . '0103' . md5('mailcanary:' . $key);
}

function x($s)
{
	return htmlspecialchars($s, ENT_QUOTES | ENT_XML1);
}

/* Cacti's own: "Get SNMP Data (Indexed)", "5 Minute Collection", "Normal". */
$DI = 'hash_030103bf566c869ac6443b0c75d1c32b5a350e';
$PROFILE = 'hash_200103d62c52891f4f9688729a5bc9fad91b18';
$GPRINT = 'hash_060103e9c43831e54eca8069317a2ce8c6f751';
/* Its input fields; the last three are per data source (index, output). */
$DI_FIELDS = array(
	'617cdc8a230615e59f06f361ef6e7728' => '',	/* management_ip */
	'acb449d1451e8a2a655c2c99d31142c7' => '',	/* snmp_community */
	'f4facc5e2ca7ebee621f09bc6d9fc792' => '',	/* snmp_username */
	'1cc1493a6781af2c478fa4de971531cf' => '',	/* snmp_password */
	'b5c23f246559df38662c255f4aa21d6b' => '',	/* snmp_version */
	'6027a919c7c7731fbe095b6f53ab127b' => 'on',	/* index_type */
	'cbbe5c1ddfb264a6e5d509ce1c78c95f' => 'on',	/* index_value */
	'e6deda7be0f391399c5130e7c4a48b28' => 'on',	/* output_type */
	'c1f36ee60c3dc98945556d57f26e475b' => '',	/* snmp_port */
	'2cf7129ad3ff819a7a7ac189bee48ce8' => '',	/* snmp_auth_protocol */
	'6b13ac0a0194e171d241d4b06f913158' => '',	/* snmp_priv_passphrase */
	'3a33d4fc65b8329ab2ac46a36da26b72' => '',	/* snmp_priv_protocol */
);

/* CDEFs: milliseconds to seconds, per second to per hour. */
$CDEFS = array(
	'ms_to_s' => array('mailcanary - Milliseconds to Seconds', '1000', 4),
	'per_hour' => array('mailcanary - Per Second to Per Hour', '3600', 3),
);

define('GAUGE', 1);
define('COUNTER', 2);
/*
 * Groups: key => title, vertical label, CDEF, lower limit, upper limit,
 * rigid, data sources (rrd name => query field, legend, type, min, max,
 * colour, graph item type 4 LINE1 5 LINE2 7 AREA 8 STACK).
 */
$GROUPS = array(
	'latency' => array('Delivery Latency', 'seconds', 'ms_to_s', 0, 100, '', array(
		'last_latency' => array('mcProbeLastLatency', 'Last canary', GAUGE, 0, 86400000, '0000FF', 5),
		'latency_median' => array('mcProbeLatencyMedian', 'Median, 1 h', GAUGE, 0, 86400000, '00A000', 5),
		'latency_p95' => array('mcProbeLatencyP95', '95th percentile, 1 h', GAUGE, 0, 86400000, 'FF8000', 5),
	)),
	'greylist' => array('Greylisting Delay', 'seconds', '', 0, 100, '', array(
		'greylist_delay' => array('mcProbeLastGreylistDelay', 'Greylisting delay', GAUGE, 0, 'U', '8000FF', 7),
	)),
	'inflight' => array('Canaries In Flight', 'canaries / seconds', '', 0, 10, '', array(
		'in_flight' => array('mcProbeInFlight', 'In flight', GAUGE, 0, 'U', '0000FF', 5),
		'oldest_in_flight' => array('mcProbeOldestInFlight', 'Oldest in flight (s)', GAUGE, 0, 'U', 'FF8000', 5),
	)),
	'outcomes' => array('Outcomes', 'canaries per hour', 'per_hour', 0, 10, '', array(
		'sent' => array('mcProbeSent', 'Sent', COUNTER, 0, 1000, '000000', 4),
		'delivered' => array('mcProbeDelivered', 'Delivered', COUNTER, 0, 1000, '00A000', 5),
		'hidden' => array('mcProbeHidden', 'Hidden', COUNTER, 0, 1000, 'FF0000', 5),
		'bogus_ndr' => array('mcProbeBogusBounces', 'Bogus NDRs', COUNTER, 0, 1000, 'C00060', 5),
		'bounced' => array('mcProbeBounced', 'Bounced', COUNTER, 0, 1000, 'FF8000', 4),
		'delayed_dsn' => array('mcProbeDelayedDsns', 'Delay notices', COUNTER, 0, 1000, 'C0C000', 4),
		'late' => array('mcProbeLate', 'Late', COUNTER, 0, 1000, '8000FF', 4),
		'submit_failures' => array('mcProbeSubmitFailures', 'Submission failures', COUNTER, 0, 1000, '606060', 4),
	)),
	'state' => array('State', '1 ok 2 warn 3 crit 4 unkn', '', 0, 4, 'on', array(
		'state' => array('mcProbeState', 'State', GAUGE, 1, 4, 'FF8000', 7),
	)),
	'since' => array('Since Last Delivery', 'seconds', '', 0, 100, '', array(
		'since_delivery' => array('mcProbeSecondsSinceDelivery', 'Since last delivery', GAUGE, 0, 'U', '0080C0', 7),
	)),
	'junk' => array('Junk', 'canaries per hour', 'per_hour', 0, 10, '', array(
		'junk' => array('mcProbeJunk', 'Delivered to a junk folder', COUNTER, 0, 1000, 'FF8000', 7),
	)),
	'authfail' => array('Authentication Failures', 'canaries per hour', 'per_hour', 0, 10, '', array(
		'auth_not_passed' => array('mcProbeAuthNotPassed', 'SPF, DKIM or DMARC not pass', COUNTER, 0, 1000, 'FF0000', 7),
	)),
	'authres' => array('Authentication Results', '2 pass 3 fail 10 missing', '', 0, 10, 'on', array(
		'spf_result' => array('mcProbeLastSpfResult', 'SPF', GAUGE, 1, 10, '0000FF', 5),
		'dkim_result' => array('mcProbeLastDkimResult', 'DKIM', GAUGE, 1, 10, '00A000', 5),
		'dmarc_result' => array('mcProbeLastDmarcResult', 'DMARC', GAUGE, 1, 10, 'FF8000', 5),
	)),
);

$out = array();
$o = function ($depth, $s) use (&$out) {
	$out[] = str_repeat("\t", $depth) . $s;
};

/* The data query and its graph associations. */
$o(1, '<' . h('04', 'query') . '>');
$o(2, '<name>mailcanary - Probes (MAILCANARY-MIB mcProbeTable)</name>');
$o(2, '<description>Probes of mailcanaryd: state, canaries sent, delivered, bounced and hidden, latency, junk folders, SPF, DKIM and DMARC</description>');
$o(2, '<xml_path>&lt;path_cacti&gt;/resource/snmp_queries/mailcanary.xml</xml_path>');
$o(2, "<data_input_id>$DI</data_input_id>");
$o(2, '<graphs>');
foreach ($GROUPS as $g => $G) {
	$o(3, '<' . h('11', "qg:$g") . '>');
	$o(4, '<graph_template_id>' . h('00', "gt:$g") . '</graph_template_id>');
	$o(4, '<name>' . x($G[0]) . '</name>');
	$o(4, '<rrd>');
	$i = 0;
	foreach ($G[6] as $ds => $D) {
		$n = sprintf('item_%03d', $i++);
		$o(5, "<$n>");
		$o(6, "<snmp_field_name>$D[0]</snmp_field_name>");
		$o(6, '<data_template_id>' . h('01', "dt:$g") . '</data_template_id>');
		$o(6, '<data_template_rrd_id>' . h('08', "dtr:$g:$ds") . '</data_template_rrd_id>');
		$o(5, "</$n>");
	}
	$o(4, '</rrd>');
	$o(4, '<sv_graph>');
	$o(4, '</sv_graph>');
	$o(4, '<sv_data_source>');
	$o(4, '</sv_data_source>');
	$o(3, '</' . h('11', "qg:$g") . '>');
}
$o(2, '</graphs>');
$o(1, '</' . h('04', 'query') . '>');

foreach ($CDEFS as $c => $C) {
	$o(1, '<' . h('05', "cdef:$c") . '>');
	$o(2, '<name>' . x($C[0]) . '</name>');
	$o(2, '<items>');
	/* type 4 special data source, 6 custom string, 2 operator (3 *, 4 /) */
	foreach (array(array(4, 'CURRENT_DATA_SOURCE'), array(6, $C[1]), array(2, $C[2])) as $s => $it) {
		$o(3, '<' . h('14', "cdef:$c:$s") . '>');
		$o(4, '<sequence>' . ($s + 1) . '</sequence>');
		$o(4, "<type>$it[0]</type>");
		$o(4, "<value>$it[1]</value>");
		$o(3, '</' . h('14', "cdef:$c:$s") . '>');
	}
	$o(2, '</items>');
	$o(1, '</' . h('05', "cdef:$c") . '>');
}

foreach ($GROUPS as $g => $G) {
	/* The data template: one RRD file per probe and group. */
	$dt = h('01', "dt:$g");
	$o(1, "<$dt>");
	$o(2, '<name>mailcanary - ' . x($G[0]) . '</name>');
	$o(2, '<ds>');
	$o(3, '<t_name></t_name>');
	$o(3, '<name>|host_description| - mailcanary ' . x($G[0]) . ' - |query_mcProbeName|</name>');
	$o(3, '<data_source_path></data_source_path>');
	$o(3, "<data_input_id>$DI</data_input_id>");
	$o(3, '<t_data_source_profile_id></t_data_source_profile_id>');
	$o(3, "<data_source_profile_id>$PROFILE</data_source_profile_id>");
	$o(3, '<t_rrd_step></t_rrd_step>');
	$o(3, '<rrd_step>300</rrd_step>');
	$o(3, '<t_active></t_active>');
	$o(3, '<active>on</active>');
	$o(2, '</ds>');
	$o(2, '<items>');
	foreach ($G[6] as $ds => $D) {
		$o(3, '<' . h('08', "dtr:$g:$ds") . '>');
		foreach (array('data_source_name' => $ds, 'rrd_minimum' => $D[3],
		    'rrd_maximum' => $D[4], 'data_source_type_id' => $D[2],
		    'rrd_heartbeat' => 600, 'data_input_field_id' => 0) as $k => $v) {
			$o(4, "<t_$k></t_$k>");
			$o(4, "<$k>$v</$k>");
		}
		$o(3, '</' . h('08', "dtr:$g:$ds") . '>');
	}
	$o(2, '</items>');
	$o(2, '<data>');
	$i = 0;
	foreach ($DI_FIELDS as $f => $t) {
		$n = sprintf('item_%03d', $i++);
		$o(3, "<$n>");
		$o(4, "<data_input_field_id>hash_070103$f</data_input_field_id>");
		$o(4, "<t_value>$t</t_value>");
		$o(4, '<value></value>');
		$o(3, "</$n>");
	}
	$o(2, '</data>');
	$o(1, "</$dt>");

	/* The graph template: a line or area per data source, with legend. */
	$gt = h('00', "gt:$g");
	$o(1, "<$gt>");
	$o(2, '<name>mailcanary - ' . x($G[0]) . '</name>');
	$o(2, '<multiple></multiple>');
	$o(2, '<test_source></test_source>');
	$o(2, '<graph>');
	$gf = array(
	    'title' => '|host_description| - mailcanary ' . $G[0] . ' - |query_mcProbeName|',
	    'vertical_label' => $G[1], 'image_format_id' => 1, 'height' => 200,
	    'width' => 700, 'base_value' => 1000, 'slope_mode' => 'on',
	    'auto_scale' => 'on', 'auto_scale_opts' => 2, 'auto_scale_log' => '',
	    'scale_log_units' => '', 'auto_scale_rigid' => $G[5],
	    'upper_limit' => $G[4], 'lower_limit' => $G[3], 'unit_value' => '',
	    'unit_exponent_value' => '', 'unit_length' => '', 'no_gridfit' => '',
	    'alt_y_grid' => '', 'right_axis' => '', 'right_axis_label' => '',
	    'right_axis_format' => 0, 'right_axis_formatter' => '',
	    'left_axis_formatter' => '', 'auto_padding' => 'on',
	    'dynamic_labels' => '', 'force_rules_legend' => '', 'tab_width' => '',
	    'legend_position' => '', 'legend_direction' => '');
	if ($G[5] == 'on')
		$gf['auto_scale'] = '';	/* fixed: --lower/--upper-limit, --rigid */
	foreach ($gf as $k => $v) {
		$o(3, "<t_$k></t_$k>");
		$o(3, "<$k>" . x($v) . "</$k>");
	}
	$o(2, '</graph>');
	$o(2, '<items>');
	$seq = 1;
	$inputs = array();
	$cdef = $G[2] == '' ? '0' : h('05', "cdef:$G[2]");
	foreach ($G[6] as $ds => $D) {
		$task = h('08', "dtr:$g:$ds");
		$items = array(
		    array($D[6], $D[5], 'FF', 1, $D[1], ''),
		    array(9, '0', 'FF', 4, 'Current:', ''),
		    array(9, '0', 'FF', 1, 'Average:', ''),
		    array(9, '0', 'FF', 3, 'Maximum:', 'on'));
		foreach ($items as $k => $it) {
			$ih = h('10', "gti:$g:$ds:$k");
			$inputs[$ds][] = $ih;
			$o(3, "<$ih>");
			$o(4, "<graph_type_id>$it[0]</graph_type_id>");
			$o(4, "<task_item_id>$task</task_item_id>");
			$o(4, "<color_id>$it[1]</color_id>");
			$o(4, "<alpha>$it[2]</alpha>");
			$o(4, "<consolidation_function_id>$it[3]</consolidation_function_id>");
			$o(4, "<cdef_id>$cdef</cdef_id>");
			$o(4, '<vdef_id>0</vdef_id>');
			$o(4, '<shift></shift>');
			$o(4, '<value></value>');
			$o(4, "<gprint_id>$GPRINT</gprint_id>");
			$o(4, '<textalign></textalign>');
			$o(4, '<text_format>' . x($it[4]) . '</text_format>');
			$o(4, "<hard_return>$it[5]</hard_return>");
			$o(4, '<line_width>' . ($it[0] == 5 ? '2.00' : ($it[0] == 4 ? '1.00' : '0.00')) . '</line_width>');
			$o(4, '<dashes></dashes>');
			$o(4, '<dash_offset>0</dash_offset>');
			$o(4, '<sequence>' . $seq++ . '</sequence>');
			$o(3, "</$ih>");
		}
	}
	if ($g == 'state') {
		/* The line between ok and warning. */
		$ih = h('10', "gti:$g:hrule");
		$o(3, "<$ih>");
		foreach (array('graph_type_id' => 2, 'task_item_id' => 0,
		    'color_id' => 'FF0000', 'alpha' => 'FF',
		    'consolidation_function_id' => 1, 'cdef_id' => 0, 'vdef_id' => 0,
		    'shift' => '', 'value' => '2', 'gprint_id' => $GPRINT,
		    'textalign' => '', 'text_format' => 'warning and worse',
		    'hard_return' => 'on', 'line_width' => '1.00', 'dashes' => '',
		    'dash_offset' => 0, 'sequence' => $seq++) as $k => $v)
			$o(4, "<$k>$v</$k>");
		$o(3, "</$ih>");
	}
	$o(2, '</items>');
	$o(2, '<inputs>');
	foreach ($inputs as $ds => $ihs) {
		$inh = h('09', "gtin:$g:$ds");
		$o(3, "<$inh>");
		$o(4, "<name>Data Source [$ds]</name>");
		$o(4, '<description></description>');
		$o(4, '<column_name>task_item_id</column_name>');
		$o(4, '<items>' . implode('|', array_map(function ($s) {
			return str_replace('hash_10', 'hash_00', $s);
		}, $ihs)) . '</items>');
		$o(3, "</$inh>");
	}
	$o(2, '</inputs>');
	$o(1, "</$gt>");
}

print "<cacti>\n" . implode("\n", $out) . "\n</cacti>\n";
