#!/bin/bash
# tests/guest/t-svm-grub.sh: Debian's GRUB, booted by SeaBIOS in skiff (svm lane), from an IDE
# disk and from an El Torito ISO on the IDE CD-ROM: it lists the drives, reads a file of known
# content from each through the BIOS (int 13h), then again through GRUB's own ATA driver
# (nativedisk pata), shows the board's PCI functions with lspci, and powers off with halt.
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"
. "$SRCDIR/tests/guest/disks.sh"

PLAN=21
disks_need || { for _ in $(seq 1 $PLAN); do skip "missing Debian packages: $MISSING_PKGS" "GRUB"; done; done_testing; }
kit_suite_needs_lane $PLAN

# one grub.cfg for both: results on the serial console, one per line, then ACPI power-off
cat >"$TMP/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
insmod halt
insmod hashsum
insmod gcry_sha256
insmod ls
insmod lspci
insmod test
insmod nativedisk
echo "grub: up"
echo "grub: bios drives:"
ls
echo
for f in (hd0,msdos1)/data.bin (hd1,msdos1)/data.bin (cd)/data.bin; do
  if [ -f $f ]; then echo "grub: read $f"; sha256sum $f; fi
done
echo "grub: lspci:"
lspci
insmod ata
nativedisk pata
echo "grub: native root=$root"
echo "grub: native drives:"
ls
echo
for f in (ata0,msdos1)/data.bin (ata1,msdos1)/data.bin (ata2)/data.bin (ata3)/data.bin; do
  if [ -f $f ]; then echo "grub: read $f"; sha256sum $f; fi
done
echo "grub: halting"
halt
EOF

# the disk: GRUB in the MBR and its gap, a FAT partition with one file; the ISO: another file
head -c 196608 /dev/urandom >"$TMP/disk-data.bin"
head -c 163840 /dev/urandom >"$TMP/cd-data.bin"
DISK_SHA=$(sha_of "$TMP/disk-data.bin")
CD_SHA=$(sha_of "$TMP/cd-data.bin")
built=ok
disk_mbr "$TMP/disk.img" 8 1:7:06:boot &&
    disk_fat "$TMP/disk.img" 1 GRUBDISK "$TMP/disk-data.bin:data.bin" &&
    disk_grub "$TMP/disk.img" "$TMP/grub.cfg" pata ata scsi pci || built=bad
mkdir -p "$TMP/iso" && cp "$TMP/cd-data.bin" "$TMP/iso/data.bin"
iso_grub "$TMP/grub.iso" "$TMP/grub.cfg" "$TMP/iso" pata ata scsi pci || built=bad
check "the GRUB disk and ISO images build (grub-mkimage, xorriso, mtools; nothing mounted)" \
    [ $built = ok ]

kit_svm_reset
kit_svm_firmware
kit_svm_file "$TMP/disk.img" grub-disk.img
kit_svm_file "$TMP/grub.iso" grub.iso
FW=(-m 256 -nographic -hda /kit/f/grub-disk.img -cdrom /kit/f/grub.iso)
kit_svm_add grub-disk --timeout 120 -- "${FW[@]}" -boot c
kit_svm_add grub-cd --timeout 120 -- "${FW[@]}" -boot d

LOG="$SRCDIR/build/test-logs/t-svm-grub.console.log"
mkdir -p "$(dirname "$LOG")"
kit_svm_run "$LOG" 400
if [ $? -ne 0 ]; then
    note "the svm lane did not finish; its console:"
    tail -n 40 "$LOG" | sed 's/^/#   /'
fi
grep '^@@kit end' "$LOG" | tr -d '\r' | sed 's/^/# scenario /'

has() { kit_section "$LOG" "$1" | grep -qF -- "$2"; }
# GRUB wraps its lines at 80 columns: sha256sum's "HASH (dev)/file" may come on two lines
read_ok() { kit_section "$LOG" "$1" | tr -d '\n' | grep -qF -- "$2 $3/data.bin"; }
show_on_fail() { [ "$1" = ok ] || kit_section "$LOG" "$2" | tail -n 40 | sed 's/^/#   /'; }

r=ok
check "disk: SeaBIOS boots GRUB from the IDE disk" has grub-disk "grub: up" || r=bad
check "disk: GRUB lists the BIOS disk and its partition" has grub-disk "(hd0) (hd0,msdos1)" || r=bad
check "disk: GRUB reads the disk's file through the BIOS, checksum right" \
    read_ok grub-disk "$DISK_SHA" "(hd0,msdos1)" || r=bad
check "disk: lspci shows the i440FX, PIIX3 ISA and IDE, PIIX4 PM and VGA" \
    has grub-disk "00:01.3 8086:7113" || r=bad
check "disk: GRUB's ATA driver finds the disk and the CD-ROM" has grub-disk "(ata0) (ata0,msdos1) (ata2)" || r=bad
check "disk: GRUB's ATA driver reads the disk's file, checksum right" \
    read_ok grub-disk "$DISK_SHA" "(ata0,msdos1)" || r=bad
check "disk: GRUB's ATA driver reads the CD's file over ATAPI, checksum right" \
    read_ok grub-disk "$CD_SHA" "(ata2)" || r=bad
check "disk: halt powers off through ACPI and skiff exits with status 0" \
    [ "$(kit_status "$LOG" grub-disk)" = 0 ] || r=bad
show_on_fail $r grub-disk

r=ok
lspci_all() {
    local f
    for f in "00:00.0 8086:1237" "00:01.0 8086:7000" "00:01.1 8086:7010" "00:01.3 8086:7113" "00:02.0 1234:1111"; do
        has grub-cd "$f" || return 1
    done
}
check "CD: SeaBIOS boots GRUB from the ISO on the IDE CD-ROM (El Torito)" has grub-cd "grub: up" || r=bad
check "CD: GRUB lists the disk, its partition and the boot CD" has grub-cd "(hd0) (hd0,msdos1) (cd)" || r=bad
check "CD: GRUB reads the CD's file through the BIOS, checksum right" \
    read_ok grub-cd "$CD_SHA" "(cd)" || r=bad
check "CD: GRUB reads the disk's file through the BIOS, checksum right" \
    read_ok grub-cd "$DISK_SHA" "(hd0,msdos1)" || r=bad
check "CD: lspci lists the board: 00:00.0 i440FX, 00:01.0/1/3 PIIX, 00:02.0 VGA" lspci_all || r=bad
check "CD: lspci shows the IDE function as a PCI IDE controller" has grub-cd "8086:7010 [0101] IDE Controller" || r=bad
check "CD: GRUB's ATA driver finds the disk and the CD-ROM" has grub-cd "(ata0) (ata0,msdos1) (ata2)" || r=bad
check "CD: after nativedisk GRUB's root is the CD on its ATA driver" has grub-cd "grub: native root=ata2" || r=bad
check "CD: GRUB's ATA driver reads the CD's file over ATAPI, checksum right" \
    read_ok grub-cd "$CD_SHA" "(ata2)" || r=bad
check "CD: GRUB's ATA driver reads the disk's file, checksum right" \
    read_ok grub-cd "$DISK_SHA" "(ata0,msdos1)" || r=bad
check "CD: GRUB got to the end of its script" has grub-cd "grub: halting" || r=bad
check "CD: halt powers off through ACPI and skiff exits with status 0" \
    [ "$(kit_status "$LOG" grub-cd)" = 0 ] || r=bad
show_on_fail $r grub-cd

done_testing
