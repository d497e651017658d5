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
				elsif ($l =~ /^UIDL/i) { print $c "+OK\r\n1 scripted-1\r\n.\r\n"; }
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
