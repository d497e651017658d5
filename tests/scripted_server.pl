#!/usr/bin/perl
# scripted_server.pl - small misbehaving servers for protocol edge cases.
# Not a stand-in for the real mail path: it only plays one bad script.
#
# Usage: scripted_server.pl PORT MODE PIDFILE
#   hang          accept, never say a word
#   smtp-garbage  greet with binary junk, answer everything with junk
#   smtp-endless  one endless greeting line, never a newline
#   smtp-rcpt     a polite server that rejects the recipient with 550 5.1.1
#   smtp-tempfail a server that answers DATA's end with 451 4.3.0
#   imap-garbage  a valid greeting, then junk for every command
#   imap-bye      greeting, then BYE and close on the first command
#   imap-status   logs in, then a STATUS reply with no UIDVALIDITY
#   imap-script, pop3-script  scripted mailboxes: see the end of the file
use strict;
use warnings;
use IO::Socket::INET;

my ($port, $mode, $pidfile) = @ARGV;
die "usage: $0 PORT MODE PIDFILE\n" unless defined $pidfile;
$SIG{PIPE} = 'IGNORE';
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
    Listen => 16, ReuseAddr => 1, Proto => 'tcp')
    or die "listen 127.0.0.1:$port: $!\n";
open(my $fh, '>', $pidfile) or die "$pidfile: $!\n";
print $fh "$$\n";
close $fh;

my @held;	# "hang" keeps every connection open and silent
while (my $c = $srv->accept) {
	$c->autoflush(1);
	if ($mode eq 'hang') { push @held, $c; next; }
	eval { play($c) };
	close $c;
}

sub line { my $c = shift; my $l = <$c>; return defined $l ? $l : ''; }

sub play {
	my $c = shift;
	return play_script($c) if $mode =~ /-script$/;
	if ($mode eq 'smtp-garbage') {
		print $c "\x00\xff\x1b[31m garbage |\r\n";
		while (line($c) ne '') { print $c "\x01\x02 what?\r\n"; }
	} elsif ($mode eq 'smtp-endless') {
		print $c "220 ";
		my $chunk = 'A' x 65536;
		for (1 .. 20000) { print $c $chunk or last; }
	} elsif ($mode eq 'smtp-rcpt' || $mode eq 'smtp-tempfail') {
		print $c "220 scripted ESMTP\r\n";
		while ((my $l = line($c)) ne '') {
			if ($l =~ /^EHLO/i) { print $c "250-scripted\r\n250 8BITMIME\r\n"; }
			elsif ($l =~ /^MAIL/i) { print $c "250 2.1.0 Ok\r\n"; }
			elsif ($l =~ /^RCPT/i) {
				if ($mode eq 'smtp-rcpt') {
					print $c "550 5.1.1 <x>: Recipient address rejected: User unknown\r\n";
				} else { print $c "250 2.1.5 Ok\r\n"; }
			} elsif ($l =~ /^DATA/i) {
				print $c "354 go ahead\r\n";
				while ((my $d = line($c)) ne '') { last if $d =~ /^\.\r?\n$/; }
				print $c "451 4.3.0 Error: queue file write error\r\n";
			} elsif ($l =~ /^QUIT/i) { print $c "221 bye\r\n"; return; }
			else { print $c "250 Ok\r\n"; }
		}
	} elsif ($mode =~ /^imap-/) {
		print $c "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] scripted\r\n";
		while ((my $l = line($c)) ne '') {
			my ($tag) = $l =~ /^(\S+)/;
			$tag = '*' unless defined $tag;
			if ($mode eq 'imap-bye') { print $c "* BYE going away\r\n"; return; }
			if ($mode eq 'imap-garbage') { print $c "\x00\x7f junk )(\"\r\n"; next; }
			if ($l =~ /^\S+ CAPABILITY/i) {
				print $c "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n$tag OK done\r\n";
			} elsif ($l =~ /^\S+ (LOGIN|AUTHENTICATE)/i) {
				print $c "$tag OK logged in\r\n";
			} elsif ($l =~ /^\S+ STATUS/i) {
				print $c "* STATUS INBOX (MESSAGES 3)\r\n$tag OK done\r\n";
			} else { print $c "$tag OK done\r\n"; }
		}
	} elsif ($mode =~ /^steps-|^noauth-proxy:\d+$/) {
		# The step an error names (tests/integration/steps.sh): each
		# steps- mode refuses or garbles one command, then answers
		# LOGOUT or QUIT oddly, which must not stand for the failure.
		#   steps-pop3-retr       UIDL and TOP work, RETR is refused,
		#                         QUIT gets -ERR
		#   steps-imap-uidfetch   UID FETCH is refused, LOGOUT gets NO
		#   steps-imap-weirdfetch the header fetch comes without its
		#                         literal (libcurl fails on its own),
		#                         LOGOUT gets BAD
		#   steps-smtp-mailfrom   MAIL FROM is refused, QUIT gets 421
		#   noauth-proxy:PORT     relays to a real IMAP or POP3 server
		#                         on PORT, hiding its SASL mechanisms
		#                         (AUTH=, SASL-IR, CAPA's SASL line) so
		#                         that libcurl logs in with IMAP LOGIN or
		#                         POP3 USER/PASS (tests/integration/
		#                         secrets.sh); plain text only
		if ($mode =~ /^noauth-proxy:(\d+)$/) {
			my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
			    PeerPort => $1, Proto => 'tcp') or return;
			my ($from_s, $eof) = ('', 0);
			while (!$eof) {
				my $ready = '';
				vec($ready, fileno($_), 1) = 1 for ($c, $s);
				select($ready, undef, undef, undef) > 0 or last;
				for my $in ($c, $s) {
					next unless vec($ready, fileno($in), 1);
					my $n = sysread($in, my $buf, 65536);
					if (!$n) { $eof = 1; last; }
					if ($in == $c) { syswrite($s, $buf); next; }
					$from_s .= $buf;
					while ($from_s =~ s/^([^\n]*\n)//) {
						my $l = $1;
						next if $l =~ /^SASL\b/;
						$l =~ s/ (?:AUTH=[^\s\]]+|SASL-IR)//g if $l =~ /CAPABILITY/;
						syswrite($c, $l);
					}
				}
			}
			close $s;
		} elsif ($mode eq 'steps-pop3-retr') {
			print $c "+OK scripted POP3\r\n";
			while ((my $l = line($c)) ne '') {
				if ($l =~ /^CAPA/i) { print $c "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n"; }
				elsif ($l =~ /^UIDL \d/i) { print $c "+OK 1 scripted-1\r\n"; }
				elsif ($l =~ /^UIDL/i) { print $c "+OK\r\n1 scripted-1\r\n.\r\n"; }
				elsif ($l =~ /^LIST \d/i) { print $c "+OK 1 40\r\n"; }
				elsif ($l =~ /^TOP/i) { print $c "+OK\r\nSubject: not a canary\r\n\r\n.\r\n"; }
				elsif ($l =~ /^RETR/i) { print $c "-ERR [SYS/TEMP] message 1 went away\r\n"; }
				elsif ($l =~ /^QUIT/i) { print $c "-ERR not now\r\n"; return; }
				else { print $c "+OK\r\n"; }
			}
		} elsif ($mode =~ /^steps-imap-(uidfetch|weirdfetch)$/) {
			my $refuse = $1 eq 'uidfetch';
			print $c "* OK [CAPABILITY IMAP4rev1 UIDPLUS] scripted\r\n";
			while ((my $l = line($c)) ne '') {
				my ($tag) = $l =~ /^(\S+)/;
				if ($l =~ /^\S+ CAPABILITY/i) {
					print $c "* CAPABILITY IMAP4rev1 UIDPLUS\r\n$tag OK done\r\n";
				} elsif ($l =~ /^\S+ STATUS/i) {
					print $c "* STATUS INBOX (UIDVALIDITY 7 UIDNEXT 4)\r\n$tag OK done\r\n";
				} elsif ($l =~ /^\S+ (SELECT|EXAMINE)/i) {
					print $c "* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n$tag OK [READ-WRITE] done\r\n";
				} elsif ($l =~ /^\S+ UID SEARCH/i) {
					print $c "* SEARCH 3\r\n$tag OK done\r\n";
				} elsif ($l =~ /^\S+ UID FETCH \d+ \(UID INTERNALDATE/i) {
					print $c $refuse ? "$tag NO [SERVERBUG] UID FETCH refused\r\n" :
					    "* 3 FETCH (UID 3 INTERNALDATE \"01-Jan-2026 00:00:00 +0000\" RFC822.SIZE 40)\r\n$tag OK done\r\n";
				} elsif ($l =~ /^\S+ UID FETCH/i) {
					print $c "* 3 FETCH (UID 3)\r\n$tag OK done\r\n";
				} elsif ($l =~ /^\S+ LOGOUT/i) {
					print $c "* BYE\r\n", $refuse ? "$tag NO [ALERT] not logging you out\r\n" :
					    "$tag BAD LOGOUT what?\r\n";
					return;
				} else { print $c "$tag OK done\r\n"; }
			}
		} elsif ($mode eq 'steps-smtp-mailfrom') {
			print $c "220 scripted ESMTP\r\n";
			while ((my $l = line($c)) ne '') {
				if ($l =~ /^EHLO/i) { print $c "250-scripted\r\n250 8BITMIME\r\n"; }
				elsif ($l =~ /^MAIL/i) {
					print $c "553 5.7.1 <probe\@corp.test>: Sender address rejected: not owned by user\r\n";
				} elsif ($l =~ /^QUIT/i) { print $c "421 4.3.2 odd goodbye\r\n"; return; }
				else { print $c "250 Ok\r\n"; }
			}
		}
	}
}

# ---- scripted mailboxes: imap-script and pop3-script ----
# A small mailbox read from the file $SCRIPTED_CTL at every command, so a
# test can change it between runs: "uidnext N" (STATUS), "uids 1 2 3"
# (imap) or "msgs 3" (pop3), "fail 2" (UID FETCH 2 BODY[] answered NO,
# RETR of it -ERR), "gone 3" (UID FETCH 3 BODY[] answered OK with no
# data). Every command it gets is appended to $SCRIPTED_CTL.log.
sub play_script {
	my $c = shift;
	return $mode eq 'imap-script' ? play_imap_script($c) : play_pop3_script($c);
}

sub ctl {
	my %c = (uidnext => 1, uids => [], fail => {}, gone => {});
	my $f = $ENV{SCRIPTED_CTL};
	open(my $fh, '<', $f) or return %c;
	while (<$fh>) {
		my ($k, @v) = split;
		next unless defined $k;
		if ($k eq 'uidnext') { $c{uidnext} = $v[0]; }
		elsif ($k eq 'uids') { $c{uids} = [@v]; }
		elsif ($k eq 'msgs') { $c{uids} = [1 .. $v[0]]; }
		elsif ($k eq 'fail' || $k eq 'gone') { $c{$k}{$_} = 1 for @v; }
	}
	close $fh;
	return %c;
}

sub logcmd {
	my $l = shift;
	open(my $fh, '>>', "$ENV{SCRIPTED_CTL}.log") or return;
	$l =~ s/\r?\n$//;
	print $fh "$l\n";
	close $fh;
}

sub message {
	my ($u, $hdr) = @_;
	my $h = "From: Sender $u <s$u\@example.org>\r\nTo: probe\@corp.test\r\n" .
	    "Subject: message $u\r\n\r\n";
	return $hdr ? $h : $h . "body of message $u\r\n";
}

sub play_imap_script {
	my $c = shift;
	print $c "* OK [CAPABILITY IMAP4rev1] scripted\r\n";
	while ((my $l = line($c)) ne '') {
		logcmd($l);
		my %m = ctl();
		my @uids = @{$m{uids}};
		my ($tag, $cmd) = $l =~ /^(\S+) (.*?)\r?\n?$/ or next;
		my %seq = map { $uids[$_] => $_ + 1 } 0 .. $#uids;
		if ($cmd =~ /^CAPABILITY/i) {
			print $c "* CAPABILITY IMAP4rev1\r\n$tag OK done\r\n";
		} elsif ($cmd =~ /^STATUS/i) {
			print $c "* STATUS INBOX (UIDVALIDITY 7 UIDNEXT $m{uidnext})\r\n$tag OK done\r\n";
		} elsif ($cmd =~ /^(SELECT|EXAMINE)/i) {
			print $c "* " . scalar(@uids) . " EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n$tag OK [READ-WRITE] done\r\n";
		} elsif ($cmd =~ /^UID SEARCH UID \*$/i) {
			print $c "* SEARCH" . (@uids ? " $uids[-1]" : "") . "\r\n$tag OK done\r\n";
		} elsif ($cmd =~ /^UID SEARCH UID (\d+):(\d+)/i) {
			my @r = grep { $_ >= $1 && $_ <= $2 } @uids;
			print $c "* SEARCH" . join('', map { " $_" } @r) . "\r\n$tag OK done\r\n";
		} elsif ($cmd =~ /^UID FETCH (\d+) \(UID INTERNALDATE RFC822.SIZE\)/i) {
			my $u = $1;
			print $c "* $seq{$u} FETCH (UID $u INTERNALDATE \"30-Nov-2026 10:00:00 +0000\" RFC822.SIZE " .
			    length(message($u)) . ")\r\n" if $seq{$u};
			print $c "$tag OK done\r\n";
		} elsif ($cmd =~ /^UID FETCH (\d+) BODY\[(HEADER)?\]/i) {
			my ($u, $hdr) = ($1, $2);
			if (!$hdr && $m{fail}{$u}) {
				print $c "$tag NO [UNAVAILABLE] cannot read message $u\r\n";
			} elsif (!$seq{$u} || (!$hdr && $m{gone}{$u})) {
				print $c "$tag OK done\r\n";
			} else {
				my $d = message($u, $hdr);
				print $c "* $seq{$u} FETCH (UID $u BODY[" . ($hdr ? 'HEADER' : '') .
				    "] {" . length($d) . "}\r\n$d)\r\n$tag OK done\r\n";
			}
		} elsif ($cmd =~ /^LOGOUT/i) {
			print $c "* BYE bye\r\n$tag OK done\r\n";
			return;
		} else {
			print $c "$tag OK done\r\n";
		}
	}
}

sub play_pop3_script {
	my $c = shift;
	print $c "+OK scripted\r\n";
	while ((my $l = line($c)) ne '') {
		logcmd($l);
		my %m = ctl();
		my @uids = @{$m{uids}};
		if ($l =~ /^CAPA/i) {
			print $c "+OK\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n";
		} elsif ($l =~ /^UIDL (\d+)/i) {
			print $c $1 <= @uids ? "+OK $1 uidl-$uids[$1 - 1]\r\n" : "-ERR no such message\r\n";
		} elsif ($l =~ /^UIDL/i) {
			print $c "+OK\r\n" . join('', map { "$_ uidl-$uids[$_ - 1]\r\n" } 1 .. @uids) . ".\r\n";
		} elsif ($l =~ /^LIST (\d+)/i) {
			print $c $1 <= @uids ? "+OK $1 " . length(message($uids[$1 - 1])) . "\r\n" : "-ERR no such message\r\n";
		} elsif ($l =~ /^(RETR|TOP) (\d+)/i) {
			my ($v, $n) = (uc $1, $2);
			my $u = $uids[$n - 1];
			if (!defined $u) { print $c "-ERR no such message\r\n"; }
			elsif ($v eq 'RETR' && $m{fail}{$u}) { print $c "-ERR [SYS/TEMP] cannot read message $u\r\n"; }
			else { print $c "+OK\r\n" . message($u, $v eq 'TOP') . ".\r\n"; }
		} elsif ($l =~ /^QUIT/i) {
			print $c "+OK bye\r\n";
			return;
		} else {
			print $c "+OK\r\n";
		}
	}
}
