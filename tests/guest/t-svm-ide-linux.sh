#!/bin/bash
# tests/guest/t-svm-ide-linux.sh: Debian's kernel booted by firmware in skiff (svm lane), and
# its own IDE drivers on our PIIX3 IDE: SeaBIOS boots SYSLINUX from the IDE disk, which loads
# the kernel and initrd; ata_piix and sd_mod read a partition and write another, sr_mod reads
# the whole CD; the guest powers off through ACPI. After skiff exits, L1 checks the disk image
# holds what the guest wrote. Then -kernel with -bios: SeaBIOS boots the same kernel from fw_cfg
# through QEMU's linuxboot ROM.
# budget: 180 (its two phases, about 10 s; its scenarios are the shared L1's: tests/guest/lane.sh)
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"
. "$SRCDIR/tests/guest/disks.sh"

PLAN=25
disks_suite_needs $PLAN

# the guests and the scenarios (once, in the register phase when L1 is shared: kit.sh)
if kit_registering; then
    # the disk: partition 1 (FAT) holds SYSLINUX, the kernel and the initrd; partition 2 (4 MiB)
    # is what the guest overwrites
    P2_START=25
    P2_MIB=4
    cat >"$TMP/guest.sh" <<'EOF'
i=0
while [ ! -b /dev/sr0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
while [ -e /sys/block/sda ] && [ ! -b /dev/sda2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sha() { sha256sum | cut -d' ' -f1; }
echo "l2: cmdline=$(cat /proc/cmdline)"
echo "l2: block devices: $(ls /sys/block | tr '\n' ' ')"
echo "l2: dmi vendor=$(cat /sys/class/dmi/id/sys_vendor) product=$(cat /sys/class/dmi/id/product_name)"
echo "l2: dmi serial=$(cat /sys/class/dmi/id/product_serial) uuid=$(cat /sys/class/dmi/id/product_uuid) asset=$(cat /sys/class/dmi/id/chassis_asset_tag)"
echo "l2: sda model=$(echo $(cat /sys/block/sda/device/model)) sectors=$(cat /sys/block/sda/size)"
# libata answers SCSI INQUIRY's unit serial number page from IDENTIFY's serial (after a 4-byte header)
echo "l2: sda serial=$(tail -c +5 /sys/block/sda/device/vpd_pg80 | tr -d ' \0')"
echo "l2: sr0 vendor=$(echo $(cat /sys/block/sr0/device/vendor)) model=$(echo $(cat /sys/block/sr0/device/model))"
dmesg | grep -E 'ata[0-9]|sd 0:0:0:0|sr 1:0:0:0|scsi [01]:0:0:0' | sed 's/^\[[ 0-9.]*\] /l2: dmesg: /'
for d in /sys/class/ata_device/dev*; do echo "l2: ${d##*/} xfer_mode=$(cat "$d/xfer_mode")"; done
echo "l2: p1 sha=$(sha </dev/sda1)"
echo "l2: cd sha=$(sha </dev/sr0)"
dd if=/dev/urandom of=/tmp/w bs=1M count=4 2>/dev/null
echo "l2: wrote sha=$(sha </tmp/w)"
dd if=/tmp/w of=/dev/sda2 bs=64k conv=fsync 2>/dev/null && echo "l2: write done"
# read it back from the disk, not from the page cache
echo 3 >/proc/sys/vm/drop_caches
echo "l2: read back sha=$(sha </dev/sda2)"
# TRIM: 2 MiB past the partitions, which the host filled with 0xaa
echo "l2: discard_max_bytes=$(cat /sys/block/sda/queue/discard_max_bytes)"
blkdiscard -o $((29 * 1048576)) -l $((2 * 1048576)) /dev/sda && echo "l2: blkdiscard done"
EOF
    kit_initramfs "$TMP/initrd.gz" --script "$TMP/guest.sh" --module ata_piix --module sd_mod \
        --module sr_mod

    # the CD: a plain ISO 9660 disc with a file
    mkdir -p "$TMP/cd"
    head -c 1048576 /dev/urandom >"$TMP/cd/data.bin"
    printf 'SERIAL 0 115200\nPROMPT 0\nTIMEOUT 0\nDEFAULT linux\nLABEL linux\n  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND console=ttyS0 quiet kit.from=ide-disk\n' \
        >"$TMP/syslinux.cfg"
    built=ok
    disk_mbr "$TMP/disk.img" 32 1:24:0e:boot "$P2_START:$P2_MIB:83" &&
        disk_fat "$TMP/disk.img" 1 LINUXDISK "$TMP/syslinux.cfg" "$KIT_KERNEL:vmlinuz" "$TMP/initrd.gz" &&
        disk_syslinux "$TMP/disk.img" 1 &&
        iso_make "$TMP/data.iso" "$TMP/cd" DATACD || built=bad
    # the 2 MiB the guest will TRIM, at 29 MiB: 0xaa, not zeros
    head -c $((2 * 1048576)) /dev/zero | tr '\0' '\252' |
        dd of="$TMP/disk.img" bs=1048576 seek=29 conv=notrunc status=none || built=bad
    check "the disk (SYSLINUX, kernel, initrd) and the data CD build (mtools, syslinux, xorriso)" [ $built = ok ]
    P1_SHA=$(sha_of "$TMP/disk.img" $((1 * 1048576)) $((24 * 1048576)))
    CD_SHA=$(sha_of "$TMP/data.iso")

    # L1 runs skiff, then reads partition 2 back from the image file skiff wrote
    cat >"$TMP/run.sh" <<EOF
#!/bin/sh
/bin/skiff "\$@"
rc=\$?
echo "l1: p2 sha=\$(dd if=/kit/f/linux-disk.img bs=1048576 skip=$P2_START count=$P2_MIB 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo "l1: trimmed nonzero bytes=\$(dd if=/kit/f/linux-disk.img bs=1048576 skip=29 count=2 2>/dev/null | tr -d '\\000' | wc -c)"
exit \$rc
EOF
    chmod +x "$TMP/run.sh"

    kit_svm_reset
    kit_svm_firmware
    kit_svm_file "$TMP/disk.img" linux-disk.img
    kit_svm_file "$TMP/data.iso" data.iso
    kit_svm_file "$TMP/run.sh" run.sh
    kit_svm_file "$TMP/initrd.gz" initrd.gz
    kit_svm_add ide-linux --timeout 180 --bin /kit/f/run.sh -- -m 512 -nographic \
        -uuid 123e4567-e89b-12d3-a456-426614174000 -smbios type=1,serial=SKIFF-0042 -smbios type=3,asset=RACK-7 \
        -drive file=/kit/f/linux-disk.img,if=none,id=hd0,format=raw,discard=unmap \
        -device ide-hd,drive=hd0,bus=ide.0,unit=0,serial=SKIFF-SN-0042,bootindex=1 \
        -drive file=/kit/f/data.iso,if=ide,index=2,media=cdrom
    # -kernel with -bios: no disk to read the kernel from; the firmware gets it through fw_cfg
    kit_svm_add fw-kernel --timeout 120 --quiet 60 -- -m 512 -nographic -bios bios-256k.bin \
        -kernel /kit/bzImage -initrd /kit/f/initrd.gz -append "console=ttyS0 quiet kit.from=fw-cfg" \
        -cdrom /kit/f/data.iso
fi

kit_suite_run t-svm-ide-linux 480

# val SCENARIO KEY: the value the guest printed as "KEY=VALUE"
val() { kit_section "$KIT_LOG" "$1" | sed -n "s/^$2=\([^ ]*\).*/\1/p" | tail -n 1; }

S=ide-linux
check "SeaBIOS boots SYSLINUX from the IDE disk, which boots Debian's kernel" \
    kit_has $S "kit.from=ide-disk initrd=/initrd.gz"
check "Linux reads the machine from skiff's SMBIOS tables (/sys/class/dmi/id)" \
    kit_has $S "l2: dmi vendor=skiff product=Standard PC (i440FX + PIIX, 1996)"
check "and what -uuid and -smbios set: the serial, the UUID, the chassis asset tag" \
    kit_has $S "l2: dmi serial=SKIFF-0042 uuid=123e4567-e89b-12d3-a456-426614174000 asset=RACK-7"
check "ata_piix finds the disk and the CD-ROM: sda and sr0" kit_has $S "l2: block devices: sda sr0"
check "the kernel sees the disk's model and its size (64 Ki sectors)" \
    kit_has $S "l2: sda model=SKIFF HARDDISK sectors=65536"
check "sr_mod sees the CD-ROM drive (SKIFF DVD-ROM)" kit_has $S "l2: sr0 vendor=SKIFF model=DVD-ROM"
check "the disk's serial number is -device ide-hd,serial= (the kernel reads it from IDENTIFY)" \
    kit_has $S "l2: sda serial=SKIFF-SN-0042"
check "libata runs the disk in multiword DMA mode 2, the PIIX3's best (bus-master DMA)" \
    kit_has $S "l2: dev1.0 xfer_mode=XFER_MW_DMA_2"
check "and the CD-ROM too" kit_has $S "l2: dev2.0 xfer_mode=XFER_MW_DMA_2"
check "partition 1 reads back as the host built it (SHA-256 of 24 MiB)" [ "$(val $S "l2: p1 sha")" = "$P1_SHA" ]
check "sr_mod reads the whole CD as the host built it (SHA-256)" [ "$(val $S "l2: cd sha")" = "$CD_SHA" ]
check "the guest writes 4 MiB to partition 2 and syncs" kit_has $S "l2: write done"
check "what it reads back from the disk is what it wrote" \
    [ -n "$(val $S "l2: wrote sha")" ] && [ "$(val $S "l2: wrote sha")" = "$(val $S "l2: read back sha")" ]
check "after skiff exits, the image file holds what the guest wrote" \
    [ -n "$(val $S "l2: wrote sha")" ] && [ "$(val $S "l2: wrote sha")" = "$(val $S "l1: p2 sha")" ]
check "libata offers TRIM: the disk takes discards (discard_max_bytes > 0)" \
    sh -c "[ '$(val $S "l2: discard_max_bytes")' -gt 0 ] 2>/dev/null"
trim_ok() { kit_has $S "l2: blkdiscard done" && [ "$(val $S "l1: trimmed nonzero bytes")" = 0 ]; }
check "blkdiscard of 2 MiB reaches the image with discard=unmap: it reads zeros on the host" trim_ok
check "the guest powers off through ACPI" kit_has $S "reboot: Power down"
check "skiff exits with status 0" [ "$(kit_status "$KIT_LOG" $S)" = 0 ]
kit_show_on_fail $S

S=fw-kernel
check "-kernel with -bios: SeaBIOS boots from the linuxboot ROM" kit_has $S "Booting from ROM"
check "-kernel with -bios: Debian's kernel runs its initrd" kit_has $S "$KIT_L2_MARKER"
check "-kernel with -bios: the kernel got -append" kit_has $S "l2: cmdline=console=ttyS0 quiet kit.from=fw-cfg"
check "-kernel with -bios: the kernel found the ACPI tables SeaBIOS placed, and powers off" \
    kit_has $S "reboot: Power down"
check "-kernel with -bios: sr_mod reads the CD (no disk: SeaBIOS booted the kernel, not a drive)" \
    [ "$(val $S "l2: cd sha")" = "$CD_SHA" ]
check "-kernel with -bios: skiff exits with status 0" [ "$(kit_status "$KIT_LOG" $S)" = 0 ]
kit_show_on_fail $S

done_testing
