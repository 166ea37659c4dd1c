#!/bin/bash
# tests/guest/t-svm-syslinux.sh: Debian's SYSLINUX and ISOLINUX, booted by SeaBIOS in skiff
# (svm lane): SYSLINUX from a FAT partition on an IDE disk, ISOLINUX from an ISO on the IDE
# CD-ROM. Each reads its configuration, then Debian's kernel and an initrd through the BIOS,
# and boots them; the guest says what command line it got and powers off.
# budget: 180 (its two phases, about 5 s; its scenarios are the shared L1's: tests/guest/lane.sh)
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"
. "$SRCDIR/tests/guest/disks.sh"

PLAN=11
disks_suite_needs $PLAN

# the guests and the scenarios (once, in the register phase when L1 is shared: kit.sh)
if kit_registering; then
    # the guest: its command line on the console, then power-off (the kit's script runner)
    echo 'echo "l2: cmdline=$(cat /proc/cmdline)"' >"$TMP/guest.sh"
    kit_initramfs "$TMP/initrd.gz" --script "$TMP/guest.sh"

    # syslinux_cfg FROM: the same configuration for both, each naming where it came from
    syslinux_cfg() {
        printf 'SERIAL 0 115200\nPROMPT 0\nTIMEOUT 0\nDEFAULT linux\nLABEL linux\n'
        printf '  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND console=ttyS0 quiet kit.from=%s\n' "$1"
    }
    syslinux_cfg syslinux-disk >"$TMP/syslinux.cfg"
    mkdir -p "$TMP/iso/isolinux"
    syslinux_cfg isolinux-cd >"$TMP/iso/isolinux/isolinux.cfg"
    cp "$KIT_KERNEL" "$TMP/iso/vmlinuz"
    cp "$TMP/initrd.gz" "$TMP/iso/initrd.gz"

    built=ok
    disk_mbr "$TMP/disk.img" 16 1:15:0e:boot &&
        disk_fat "$TMP/disk.img" 1 SYSLINUX "$TMP/syslinux.cfg" "$KIT_KERNEL:vmlinuz" "$TMP/initrd.gz" &&
        disk_syslinux "$TMP/disk.img" 1 || built=bad
    iso_isolinux "$TMP/isolinux.iso" "$TMP/iso" || built=bad
    check "the SYSLINUX disk and the ISOLINUX ISO build (mtools, syslinux --install, xorriso; nothing mounted)" \
        [ $built = ok ]

    kit_svm_reset
    kit_svm_firmware
    kit_svm_file "$TMP/disk.img" syslinux-disk.img
    kit_svm_file "$TMP/isolinux.iso" isolinux.iso
    kit_svm_add syslinux-disk --timeout 150 --quiet 60 -- -m 512 -nographic -hda /kit/f/syslinux-disk.img
    kit_svm_add isolinux-cd --timeout 150 --quiet 60 -- -m 512 -nographic -cdrom /kit/f/isolinux.iso -boot d
fi

kit_suite_run t-svm-syslinux 480


check "disk: SeaBIOS boots SYSLINUX from the FAT partition of the IDE disk" kit_has syslinux-disk "SYSLINUX"
check "disk: SYSLINUX loads Debian's kernel and the initrd, and the kernel starts them" \
    kit_has syslinux-disk "$KIT_L2_MARKER"
check "disk: the kernel got SYSLINUX's APPEND line" \
    kit_has syslinux-disk "BOOT_IMAGE=/vmlinuz console=ttyS0 quiet kit.from=syslinux-disk initrd=/initrd.gz"
check "disk: the guest powers off through ACPI" kit_has syslinux-disk "reboot: Power down"
check "disk: skiff exits with status 0" [ "$(kit_status "$KIT_LOG" syslinux-disk)" = 0 ]
kit_show_on_fail syslinux-disk

check "CD: SeaBIOS boots ISOLINUX from the ISO on the IDE CD-ROM" kit_has isolinux-cd "ISOLINUX"
check "CD: ISOLINUX loads Debian's kernel and the initrd from the CD, and the kernel starts them" \
    kit_has isolinux-cd "$KIT_L2_MARKER"
check "CD: the kernel got ISOLINUX's APPEND line" \
    kit_has isolinux-cd "BOOT_IMAGE=/vmlinuz console=ttyS0 quiet kit.from=isolinux-cd initrd=/initrd.gz"
check "CD: the guest powers off through ACPI" kit_has isolinux-cd "reboot: Power down"
check "CD: skiff exits with status 0" [ "$(kit_status "$KIT_LOG" isolinux-cd)" = 0 ]
kit_show_on_fail isolinux-cd

done_testing
