#!/usr/bin/perl
# netpeer.pl PORTFILE OUTFILE: the far end of a payload's -netdev socket,connect= (QEMU's framing:
# a 32-bit big-endian length, then the frame). It listens on 127.0.0.1 (a free port, written to
# PORTFILE), takes one connection and sends every frame back with its addresses swapped, so that
# the guest receives what it sent; an IPv4 TCP or UDP frame has its IP and transport checksums
# checked first. At the end of the stream it writes "frames=N tcp=T bad=B" to OUTFILE.
use strict;
use warnings;
use IO::Socket::INET;

my ($portfile, $outfile) = @ARGV;
$SIG{ALRM} = sub { die "netpeer: no end of stream within 120 s\n" };
alarm 120;
my $l = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp')
    or die "netpeer: listen: $!\n";
open(my $pf, '>', "$portfile.tmp") or die;
print $pf $l->sockport, "\n";
close $pf;
rename "$portfile.tmp", $portfile;
my $c = $l->accept or die "netpeer: accept: $!\n";
binmode $c;

sub read_exact {
    my ($n) = @_;
    my $buf = '';
    while (length($buf) < $n) {
        my $got = sysread($c, $buf, $n - length($buf), length($buf));
        return undef unless $got;
    }
    return $buf;
}

# the ones' complement sum of 16-bit big-endian words
sub csum {
    my ($data) = @_;
    $data .= "\0" if length($data) % 2;
    my $sum = 0;
    $sum += $_ for unpack('n*', $data);
    $sum = ($sum & 0xffff) + ($sum >> 16) while $sum >> 16;
    return $sum;
}

my ($frames, $tcp, $bad) = (0, 0, 0);
while (defined(my $h = read_exact(4))) {
    my $len = unpack('N', $h);
    my $f = read_exact($len);
    last unless defined $f;
    $frames++;
    if ($len >= 34 && unpack('n', substr($f, 12, 2)) == 0x0800) {
        my $ihl = (ord(substr($f, 14, 1)) & 15) * 4;
        my $total = unpack('n', substr($f, 16, 2));
        my $proto = ord(substr($f, 23, 1));
        my $l4 = substr($f, 14 + $ihl, $total - $ihl);
        my $ph = substr($f, 26, 8) . pack('CCn', 0, $proto, length($l4));
        $tcp++ if $proto == 6;
        $bad++ if csum(substr($f, 14, $ihl)) != 0xffff ||
            (($proto == 6 || $proto == 17) && csum($ph . $l4) != 0xffff);
    }
    # back to where it came from
    substr($f, 0, 12) = substr($f, 6, 6) . substr($f, 0, 6) if $len >= 12;
    syswrite($c, pack('N', $len) . $f) or last;
}
open(my $of, '>', $outfile) or die;
print $of "frames=$frames tcp=$tcp bad=$bad\n";
close $of;
