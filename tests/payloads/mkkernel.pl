#!/usr/bin/perl
# mkkernel.pl KIND ADDR MEMSZ: a tiny kernel image on stdout, for the loader's placement checks.
# KIND is elf (ELF32 with a multiboot header), aout (a flat binary with a multiboot a.out kludge
# header) or pvh (ELF32 with a Xen PVH entry note). It loads at ADDR and takes MEMSZ bytes of
# memory, zeros after its code. Its code writes "X" to COM1 and leaves through isa-debug-exit
# at 0xf4 (skiff's status 177), so that a test sees whether any of it ran.
use strict;
use warnings;

my ($kind, $addr, $memsz) = @ARGV;
die "usage: $0 elf|aout|pvh ADDR MEMSZ\n" unless defined $memsz && $kind =~ /^(elf|aout|pvh)$/;
$addr = oct($addr) if $addr =~ /^0/;
$memsz = oct($memsz) if $memsz =~ /^0/;

# mov $0x3f8,%dx; mov $'X',%al; out %al,%dx; mov $0xf4,%dx; out %al,%dx; 1: hlt; jmp 1b
my $code = "\x66\xba\xf8\x03\xb0\x58\xee\x66\xba\xf4\x00\xee\xf4\xeb\xfd";
my $mb_magic = 0x1badb002;
sub mb_header {
    my ($flags, @fields) = @_;
    return pack("V3", $mb_magic, $flags, (-($mb_magic + $flags)) & 0xffffffff) . pack("V*", @fields);
}

if ($kind eq 'aout') {
    # header at offset 0: header_addr, load_addr, load_end_addr (0: the whole file),
    # bss_end_addr, entry_addr
    my $hdr = mb_header(0x10000, $addr, $addr, 0, $addr + $memsz, $addr + 32);
    print $hdr, "\0" x (32 - length $hdr), $code;
    exit 0;
}

my $nph = $kind eq 'pvh' ? 2 : 1;
my $off = 52 + 32 * $nph;           # what follows the headers
my ($body, $note_off) = ("", 0);
if ($kind eq 'pvh') {
    $note_off = $off;
    # XEN_ELFNOTE_PHYS32_ENTRY (18): the 32-bit entry, just after the note
    $body = pack("V3", 4, 4, 18) . "Xen\0" . pack("V", $addr + $off + 20);
} else {
    $body = mb_header(0);
}
my $entry = $addr + $off + length $body;
$body .= $code;
my $filesz = $off + length $body;
die "MEMSZ is smaller than the image's $filesz bytes\n" if $memsz < $filesz;

print "\x7fELF\x01\x01\x01", "\0" x 9;
# e_type EXEC, e_machine 386, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize,
# e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
print pack("v v V V V V V v v v v v v", 2, 3, 1, $entry, 52, 0, 0, 52, 32, $nph, 40, 0, 0);
# PT_LOAD (RWX) of the whole file, zeros up to MEMSZ
print pack("V8", 1, 0, $addr, $addr, $filesz, $memsz, 7, 0x1000);
print pack("V8", 4, $note_off, $addr + $note_off, $addr + $note_off, 20, 20, 4, 4) if $kind eq 'pvh';
print $body;
