#!/bin/bash
# tests/guest/t-svm-grub.sh: Debian's GRUB, booted by SeaBIOS in skiff (svm lane), from an IDE
# disk and from an El Torito ISO on the IDE CD-ROM: it lists the drives, reads a file of known
# content from each through the BIOS (int 13h), then again through GRUB's own ATA driver
# (nativedisk pata), shows the board's PCI functions with lspci, and powers off with halt.
# budget: 180 (its two phases, about 5 s; its scenarios are the shared L1's: tests/guest/lane.sh)
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"
. "$SRCDIR/tests/guest/disks.sh"

PLAN=20
disks_suite_needs $PLAN

# the guests and the scenarios (once, in the register phase when L1 is shared: kit.sh)
if kit_registering; then
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
    kit_svm_add grub-disk --timeout 120 --quiet 60 -- "${FW[@]}" -boot c
    kit_svm_add grub-cd --timeout 120 --quiet 60 -- "${FW[@]}" -boot d
fi

kit_suite_run t-svm-grub 400

# GRUB wraps its lines at 80 columns: sha256sum's "HASH (dev)/file" may come on two lines
read_ok() { kit_section "$KIT_LOG" "$1" | tr -d '\n' | grep -qF -- "$2 $3/data.bin"; }

check "disk: SeaBIOS boots GRUB from the IDE disk" kit_has grub-disk "grub: up"
check "disk: GRUB lists the BIOS disk and its partition" kit_has grub-disk "(hd0) (hd0,msdos1)"
check "disk: GRUB reads the disk's file through the BIOS, checksum right" \
    read_ok grub-disk "$DISK_SHA" "(hd0,msdos1)"
# lspci_all SCENARIO: GRUB's lspci listed the board's functions, with their IDs
lspci_all() {
    local f
    for f in "00:00.0 8086:1237" "00:01.0 8086:7000" "00:01.1 8086:7010 [0101] IDE Controller" \
        "00:01.3 8086:7113" "00:02.0 1234:1111"; do
        kit_has "$1" "$f" || return 1
    done
}
check "disk: lspci lists the board: 00:00.0 i440FX, 00:01.0/1 PIIX3 ISA and IDE, 00:01.3 PIIX4 PM, 00:02.0 VGA" \
    lspci_all grub-disk
check "disk: GRUB's ATA driver finds the disk and the CD-ROM" kit_has grub-disk "(ata0) (ata0,msdos1) (ata2)"
check "disk: GRUB's ATA driver reads the disk's file, checksum right" \
    read_ok grub-disk "$DISK_SHA" "(ata0,msdos1)"
check "disk: GRUB's ATA driver reads the CD's file over ATAPI, checksum right" \
    read_ok grub-disk "$CD_SHA" "(ata2)"
check "disk: halt powers off through ACPI and skiff exits with status 0" \
    [ "$(kit_status "$KIT_LOG" grub-disk)" = 0 ]
kit_show_on_fail grub-disk

check "CD: SeaBIOS boots GRUB from the ISO on the IDE CD-ROM (El Torito)" kit_has grub-cd "grub: up"
check "CD: GRUB lists the disk, its partition and the boot CD" kit_has grub-cd "(hd0) (hd0,msdos1) (cd)"
check "CD: GRUB reads the CD's file through the BIOS, checksum right" \
    read_ok grub-cd "$CD_SHA" "(cd)"
check "CD: GRUB reads the disk's file through the BIOS, checksum right" \
    read_ok grub-cd "$DISK_SHA" "(hd0,msdos1)"
check "CD: lspci lists the board's functions" lspci_all grub-cd
check "CD: GRUB's ATA driver finds the disk and the CD-ROM" kit_has grub-cd "(ata0) (ata0,msdos1) (ata2)"
check "CD: after nativedisk GRUB's root is the CD on its ATA driver" kit_has grub-cd "grub: native root=ata2"
check "CD: GRUB's ATA driver reads the CD's file over ATAPI, checksum right" \
    read_ok grub-cd "$CD_SHA" "(ata2)"
check "CD: GRUB's ATA driver reads the disk's file, checksum right" \
    read_ok grub-cd "$DISK_SHA" "(ata0,msdos1)"
check "CD: GRUB got to the end of its script" kit_has grub-cd "grub: halting"
check "CD: halt powers off through ACPI and skiff exits with status 0" \
    [ "$(kit_status "$KIT_LOG" grub-cd)" = 0 ]
kit_show_on_fail grub-cd

done_testing
