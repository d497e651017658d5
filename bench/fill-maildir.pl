#!/usr/bin/perl
# fill-maildir.pl DIR N: writes N unrelated messages into DIR/new.
use strict;
use warnings;
my ($dir, $n) = @ARGV;
die "usage: $0 MAILDIR N\n" unless defined $n && -d "$dir/new";
my $t = time;
for my $i (1 .. $n) {
	open(my $fh, '>', "$dir/new/$t.bench$i.localhost") or die "$dir: $!\n";
	print $fh "From: someone$i\@example.org\nTo: bulk\@greylist.test\n",
	    "Subject: unrelated message $i\nMessage-ID: <bench$i\@example.org>\n",
	    "Date: Sun, 22 Nov 2026 05:00:00 +0000\n\nNothing to see, $i.\n";
	close $fh;
}
