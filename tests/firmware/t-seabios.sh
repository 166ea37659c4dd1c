#!/bin/bash
# t-seabios.sh: native lane: Debian's SeaBIOS on skiff boots a test program from an IDE disk
# (a sparse 300 GiB raw image), from an El Torito CD, and from a disk that only skiff's extboot
# option ROM serves; the program checks int 13h (extended reads past 128 GiB, writes, CHS, the
# CD's volume descriptors, extboot's calls) and reports TAP over COM1.
# SeaBIOS's own log (isa-debugcon at 0x402) must show what it found.
# budget: 600 (about 120 s on KVM; more in the svm lane where there is none)
. "$(dirname "$0")/../lib/common.sh"

need_pkg seabios xorriso || { skip "missing Debian packages: $MISSING_PKGS" "SeaBIOS boot tests"; done_testing; }
# alone where L1 stands in: beside other work its port-I/O guests hung there more often
native_lane "SeaBIOS boot tests" --alone
# in L1 each run ends in 1-2 s: one that hung (the lane's port-I/O flaw) is seen in 30 s, not 120
VM_RUN_L1_FIRST=30
make -s -C "$SRCDIR" build/firmware/boot.bin >"$TMP/build.log" 2>&1 || {
    not_ok "the test boot image builds"; sed 's/^/# /' "$TMP/build.log"; done_testing; }
BOOT=$SRCDIR/build/firmware/boot.bin

# make_disk FILE: boot image at LBA 0, markers at 256 GiB and in the last sector of 300 GiB
make_disk() {
    truncate -s 300G "$1"
    dd if="$BOOT" of="$1" conv=notrunc status=none
    printf 'SKIFF FAR SECTOR' | dd of="$1" bs=512 seek=$((0x20000000)) conv=notrunc status=none
    printf 'SKIFF LAST SECTOR' | dd of="$1" bs=512 seek=$((300 * 2097152 - 1)) conv=notrunc status=none
}
DISK=$TMP/disk.img
make_disk "$DISK"
# the CD: the same image as a no-emulation boot image of 24 virtual sectors
mkdir -p "$TMP/iso/boot"
cp "$BOOT" "$TMP/iso/boot/boot.bin"
echo "hello from the CD" >"$TMP/iso/hello.txt"
ISO=$TMP/test.iso
xorriso -as mkisofs -quiet -V SKIFFTEST -b boot/boot.bin -no-emul-boot -boot-load-size 24 \
    -o "$ISO" "$TMP/iso" >"$TMP/xorriso.log" 2>&1 || { not_ok "xorriso builds the test ISO"; done_testing; }

# run NAME ARGS...: boot with SeaBIOS's log on debugcon and COM1 in a file; sets $status
run() {
    local name=$1; shift
    LOG=$TMP/$name.debugcon
    OUT=$TMP/$name.com1
    vm_run 120 "SeaBIOS run $name" "$TMP/$name.stdout" "$TMP/$name.stderr" \
        "$SKIFF" -m 128 -display none -chardev file,id=dbg,path="$LOG" \
        -device isa-debugcon,iobase=0x402,chardev=dbg -device isa-debug-exit,iobase=0xf4,iosize=4 \
        -serial file:"$OUT" "$@"
}

# relay the guest's TAP lines as ours, and check its plan and exit status (debug-exit: failures*2+1)
relay() {
    local what=$1 n=0 plan=""
    while IFS= read -r l; do
        l=${l%$'\r'}
        case "$l" in
        "ok "*) n=$((n + 1)); ok "$what: ${l#ok * - }" ;;
        "not ok "*) n=$((n + 1)); not_ok "$what: ${l#not ok * - }" ;;
        "1.."*) plan=${l#1..} ;;
        esac
    done <"$OUT"
    if [ -n "$plan" ] && [ "$plan" = "$n" ] && [ "$status" -eq 1 ]; then
        ok "$what: the guest ran all $n checks and left through debug-exit"
    else
        not_ok "$what: the guest ran $n of ${plan:-?} checks, skiff exited with $status"
        sed 's/^/# /' "$TMP/$name.stderr" | head -5
        tail -5 "$OUT" | sed 's/^/# com1: /'
    fi
}

logged() {  # logged DESCRIPTION PATTERN: the SeaBIOS log has the line
    if grep -qF -- "$2" "$LOG"; then ok "$1"; else not_ok "$1 (no \"$2\" in SeaBIOS's log)"; fi
}

name=disk
run disk -hda "$DISK"
relay "disk boot"
logged "SeaBIOS finds the QEMU fw_cfg interface" "Found QEMU fw_cfg"
logged "and its DMA interface" "QEMU fw_cfg DMA interface supported"
logged "SeaBIOS takes the ACPI tables from the table-loader (RSDP in the F segment)" "table(50434146)="
logged "SeaBIOS lists the e820 map" "e820 map has"
for id in "00:00.0 id=8086:1237" "00:01.0 id=8086:7000" "00:01.1 id=8086:7010" "00:01.3 id=8086:7113" "00:02.0 id=1234:1111"; do
    logged "SeaBIOS initializes PCI $id" "PCI: init bdf=$id"
done
logged "the VGA BIOS runs from the VGA's ROM BAR" "Start SeaVGABIOS"
logged "SeaBIOS sees the IDE disk with its model and size" "ata0-0: SKIFF HARDDISK ATA-7 Hard-Disk (300 GiBytes)"
logged "SeaBIOS reads our boot order" "1: /pci@i0cf8/ide@1,1/drive@0/disk@0"
logged "SeaBIOS boots from the hard disk" "Booting from Hard Disk..."
check "without extboot int 13h is SeaBIOS's own: its vector is in the F segment" \
    sh -c "grep -q '^# int 13h vector: 0xf' '$OUT' && ! grep -q 'served by extboot' '$OUT'"
check "the sector the guest wrote with int 13h AH=43h is in the image file" \
    sh -c "dd if='$DISK' bs=512 skip=1000 count=1 status=none | head -c 18 | grep -q 'WRITTEN BY INT 13H'"

# -snapshot: the guest's int 13h write lands in a temporary overlay; the image keeps its zeros
# and the overlay is gone afterwards
dd if=/dev/zero of="$DISK" bs=512 seek=1000 count=1 conv=notrunc status=none
mkdir -p "$TMP/snapdir"
name=snapshot
TMPDIR=$TMP/snapdir run snapshot -hda "$DISK" -snapshot
relay "-snapshot"
check "-snapshot: the image file does not get the sector the guest wrote" \
    sh -c "dd if='$DISK' bs=512 skip=1000 count=1 status=none | tr -d '\\0' | wc -c | grep -qx 0"
check "-snapshot: the temporary overlay is gone when skiff is" sh -c "[ -z \"\$(ls -A '$TMP/snapdir')\" ]"

name=cd
run cd -cdrom "$ISO" -boot d
relay "CD boot"
logged "SeaBIOS sees the CD-ROM" "DVD/CD [ata1-0: SKIFF DVD-ROM ATAPI-4 DVD/CD]"
logged "SeaBIOS boots from the CD" "Booting from DVD/CD..."

# QEMU's -drive spelling, with the boot order choosing between the two
name=drive_dc
run drive_dc -drive file="$DISK",if=ide,index=0,media=disk,format=raw \
    -drive file="$ISO",if=ide,index=2,media=cdrom -boot order=dc
check "-drive ... -boot order=dc boots the CD" grep -q "booted from drive 0x000000e0" "$OUT"
logged "with both drives SeaBIOS lists the CD first" "1: /pci@i0cf8/ide@1,1/drive@1/disk@0"
name=drive_cd
run drive_cd -drive file="$DISK",if=ide,index=0,media=disk,format=raw \
    -drive file="$ISO",if=ide,index=2,media=cdrom -boot order=cd
check "-boot order=cd boots the disk" grep -q "booted from drive 0x00000080" "$OUT"

# libvirt's spelling: -drive if=none,id=ID and -device ide-hd|ide-cd,drive=ID,bus=ide.B,unit=U,
# with bootindex= deciding the boot order, as in QEMU
name=devices
run devices -drive if=none,id=d0,file="$DISK",format=raw \
    -device "ide-hd,drive=d0,bus=ide.0,unit=0,bootindex=2,model=Acme Disk 3000" \
    -drive if=none,id=c0,file="$ISO",media=cdrom -device ide-cd,drive=c0,bus=ide.1,unit=0,bootindex=1,id=cd0
check "-drive if=none with -device ide-hd and ide-cd: bootindex=1 on the CD boots it" \
    grep -q "booted from drive 0x000000e0" "$OUT"
logged "SeaBIOS's boot list puts the CD (ide.1 unit 0) first, from the bootindexes" \
    "1: /pci@i0cf8/ide@1,1/drive@1/disk@0"
logged "ide-hd,model= is the model the disk reports to SeaBIOS" "ata0-0: Acme Disk 3000 ATA-7 Hard-Disk"
name=devices2
run devices2 -drive if=none,id=d0,file="$DISK",format=raw -device ide-hd,drive=d0,bootindex=1 \
    -drive if=none,id=c0,file="$ISO" -device ide-cd,drive=c0,bootindex=3
check "bootindex=1 on the disk boots the disk" grep -q "booted from drive 0x00000080" "$OUT"
logged "without bus= and unit= the CD-ROM takes the first free place, ide.0 unit 1" \
    "2: /pci@i0cf8/ide@1,1/drive@0/disk@1"

# -boot strict=on (libvirt always passes it): only the devices with a bootindex boot. The empty
# CD-ROM drive has one and the disk none: without strict SeaBIOS falls back on the disk, with it
# SeaBIOS gives up (and -no-reboot ends skiff at its retry)
name=notstrict
run notstrict -drive if=none,id=d0,file="$DISK",format=raw -device ide-hd,drive=d0 \
    -device ide-cd,bus=ide.1,unit=0,bootindex=1 -boot reboot-timeout=100 -no-reboot
check "without -boot strict=on SeaBIOS boots the disk after the empty CD-ROM drive" \
    grep -q "booted from drive 0x00000080" "$OUT"
name=strict
run strict -drive if=none,id=d0,file="$DISK",format=raw -device ide-hd,drive=d0 \
    -device ide-cd,bus=ide.1,unit=0,bootindex=1 -boot strict=on,reboot-timeout=100 -no-reboot
logged "with -boot strict=on SeaBIOS's boot list ends in HALT" "2: HALT"
check "and it boots nothing past the list: no bootable device, the disk's program never runs" \
    sh -c "grep -q 'No bootable device' '$LOG' && ! grep -q 'booted from drive' '$OUT'"

# extboot (roms/extboot.S, hw/pc/extboot.c): a disk no BIOS driver reaches (for now a -drive
# if=none that no device takes; later virtio-blk's), served by skiff's option ROM, which hooks
# int 13h as a boot connection vector. The program finds the int 13h vector in that ROM.
sector_has() {  # sector_has IMAGE LBA TEXT: the sector starts with TEXT
    dd if="$1" bs=512 skip="$2" count=1 status=none | head -c ${#3} | grep -qxF -- "$3"
}
EDISK=$TMP/extboot.img
make_disk "$EDISK"
name=extboot
run extboot -drive if=none,id=eb,file="$EDISK",format=raw,boot=on
relay "extboot boot"
check "the boot program finds int 13h served by extboot's ROM" grep -q "^ok .* - int 13h is served by extboot" "$OUT"
check "from drive 0x80, the only hard disk" grep -q "booted from drive 0x00000080" "$OUT"
logged "-drive boot=on: SeaBIOS's boot order starts with extboot's ROM" "1: /rom@genroms/extboot.bin"
seg=$(sed -n 's/^# int 13h vector: 0x\(....\).*/\1/p' "$OUT" | tr -d '\r')
logged "SeaBIOS ran the ROM as a boot connection vector at the segment int 13h leads to ($seg)" \
    "Running option rom at $seg:0003"
check "SeaBIOS has no disk of its own here (no ata0-0 in its log)" sh -c "! grep -q 'ata0-0' '$LOG'"
check "the sector the guest wrote through extboot with AH=43h is in the image file" \
    sector_has "$EDISK" 1000 "WRITTEN BY INT 13H"
check "and the one it wrote with the CHS call AH=03h (C0 H1 S1: LBA 63)" sector_has "$EDISK" 63 "WRITTEN BY CHS"

# boot=on before an IDE disk: extboot's drive is 0x80 and boots; SeaBIOS numbers its disk 0x81,
# which the program reads through extboot's ROM, which passes it on to SeaBIOS
IDEDISK=$TMP/ide.img
truncate -s 1M "$IDEDISK"
printf 'SKIFF IDE DISK' | dd of="$IDEDISK" bs=512 seek=100 conv=notrunc status=none
make_disk "$EDISK"
name=extboot_ide
run extboot_ide -hda "$IDEDISK" -drive if=none,id=eb,file="$EDISK",format=raw,boot=on
relay "extboot before an IDE disk"
check "boot=on boots extboot's drive (0x80) before the IDE disk" \
    sh -c "grep -q 'booted from drive 0x00000080' '$OUT' && grep -q '^ok .* - int 13h is served by extboot' '$OUT'"
check "the IDE disk is drive 0x81, served by SeaBIOS through the ROM's chain" \
    grep -q "^ok .* - the other drive is the IDE disk" "$OUT"
logged "SeaBIOS's boot order: extboot's ROM, then the IDE disk" "2: /pci@i0cf8/ide@1,1/drive@0/disk@0"

# without boot=on, SeaBIOS and the boot order decide, as in QEMU: the IDE disk boots as 0x80 and
# extboot's drive comes after it as 0x81
make_disk "$EDISK"
make_disk "$DISK"
printf 'SKIFF IDE DISK' | dd of="$DISK" bs=512 seek=100 conv=notrunc status=none
name=extboot_after
run extboot_after -hda "$DISK" -drive if=none,id=eb,file="$EDISK",format=raw -device extboot,drive=eb
relay "extboot after an IDE disk"
check "-device extboot without a boot index: SeaBIOS boots its IDE disk, 0x80" \
    grep -q "booted from drive 0x00000080" "$OUT"
check "and extboot serves the next drive, 0x81" grep -q "^# extboot's drive: 129" "$OUT"
check "beside it the IDE disk, 0x80, is still SeaBIOS's, through the ROM's chain" \
    grep -q "^ok .* - the other drive is the IDE disk" "$OUT"

# virtio-blk: -drive if=virtio,boot=on is served by extboot, which boots it as 0x80 (SeaBIOS's
# own virtio-blk driver finds the same disk too and numbers it after: a BIOS sees it twice, as
# with qemu-kvm's extboot beside a firmware that drives virtio itself)
make_disk "$EDISK"
name=virtio_extboot
run virtio_extboot -drive file="$EDISK",if=virtio,format=raw,boot=on
check "-drive if=virtio,boot=on: the boot program finds int 13h served by extboot's ROM" \
    grep -q "^ok .* - int 13h is served by extboot" "$OUT"
check "  it booted from extboot's drive, 0x80" \
    sh -c "grep -q 'booted from drive 0x00000080' '$OUT' && grep -q \"^# extboot's drive: 128\" '$OUT'"
check "  extboot's calls on the virtio disk pass (AH=15h, AH=08h, CHS and extended reads and writes)" \
    sh -c "grep -q '^ok .* - extboot AH=15h' '$OUT' && grep -q '^ok .* - extboot AH=08h' '$OUT' &&
        grep -q '^ok .* - and AH=42h reads it back at LBA 63' '$OUT'"
logged "  SeaBIOS's boot order starts with extboot's ROM" "1: /rom@genroms/extboot.bin"
check "  the sector written with AH=43h reached the virtio disk's image" sector_has "$EDISK" 1000 "WRITTEN BY INT 13H"

# without boot=on, SeaBIOS's own virtio-blk driver boots it, by bootindex, through either interface
for mode in modern legacy; do
    make_disk "$EDISK"
    name=virtio_$mode
    extra=""
    [ "$mode" = legacy ] && extra=,disable-modern=on
    run "$name" -drive if=none,id=v0,file="$EDISK",format=raw -device virtio-blk-pci,drive=v0,bootindex=1$extra
    relay "SeaBIOS's virtio-blk ($mode)"
    check "  int 13h is SeaBIOS's own (no extboot ROM)" sh -c "! grep -q 'served by extboot' '$OUT'"
    logged "  SeaBIOS found the disk" "found virtio-blk at 00:03.0"
    if [ "$mode" = modern ]; then
        logged "  and drove it through the modern interface" "using modern (1.0) virtio mode"
    else
        logged "  and drove it through the legacy interface (disable-modern=on)" "using legacy (0.9.5) virtio mode"
    fi
    logged "  bootindex=1 put it first in the boot order, at QEMU's path" "1: /pci@i0cf8/scsi@3/disk@0,0"
    check "  the sector written with AH=43h reached the image" sector_has "$EDISK" 1000 "WRITTEN BY INT 13H"
done

# -nographic: the firmware's console on the serial port, as QEMU does
name=nographic
vm_run 120 "SeaBIOS run nographic" "$TMP/nographic.out" "$TMP/nographic.out" \
    "$SKIFF" -m 128 -nographic -hda "$DISK" -device isa-debug-exit,iobase=0xf4,iosize=4
check "-nographic shows SeaBIOS's banner on the serial console" grep -q "SeaBIOS (version" "$TMP/nographic.out"
# SeaBIOS's serial console sends its last line ("Booting from Hard Disk...") lazily, on a timer
# tick, so its dots and line end can land inside what the boot loader writes to COM1 itself
# (seen: "booted from d.<CR><LF>rive"), on QEMU as here: read past them
if tr -d '.\r\n' <"$TMP/nographic.out" | grep -q "stage2: booted from drive 0x00000080" &&
    [ "$status" -eq 1 ]; then
    ok "and what the boot loader prints, to the end of its checks (debug-exit status 1)"
else
    not_ok "and what the boot loader prints (skiff exited with $status)"
    tail -n 8 "$TMP/nographic.out" | cat -v | sed 's/^/# console: /'
fi

# bad input: one clear line, exit 1
expect_fail() {   # DESCRIPTION PATTERN ARGS...
    local d=$1 pat=$2; shift 2
    timeout 20 "$SKIFF" -display none "$@" >"$TMP/err.out" 2>"$TMP/err" </dev/null
    local st=$?
    if [ "$st" -eq 1 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q -- "$pat" "$TMP/err"; then
        ok "$d: \"$(cat "$TMP/err")\""
    else
        not_ok "$d (status $st)"; sed 's/^/# /' "$TMP/err" | head -3
    fi
}
expect_fail "a missing disk image" "no such file" -hda "$TMP/nonexistent.img"
expect_fail "a missing CD image" "no such file" -cdrom "$TMP/nonexistent.iso"
expect_fail "a missing firmware image" "No such file" -bios "$TMP/nonexistent.bin"
expect_fail "a -drive index beyond IDE's four" "IDE has indexes 0-3" -drive file="$DISK",index=7
expect_fail "two drives at one index" "is taken" -hda "$DISK" -drive file="$ISO",index=0,media=cdrom
expect_fail "-drive if=scsi" "if=ide" -drive file="$DISK",if=scsi
expect_fail "boot=on on two drives" "has it already" -drive if=none,id=a,file="$DISK",format=raw,boot=on \
    -drive if=none,id=b,file="$EDISK",format=raw,boot=on
expect_fail "-device ide-hd naming no drive" "no drive 'd9'" -drive if=none,id=d0,file="$DISK",format=raw \
    -device ide-hd,drive=d9
expect_fail "one drive under two devices" "already another device's" -drive if=none,id=d0,file="$DISK",format=raw \
    -device ide-hd,drive=d0 -device ide-hd,drive=d0
expect_fail "an IDE bus that is not there" "bus 'ide.2' not found" \
    -drive if=none,id=d0,file="$DISK",format=raw -device ide-hd,drive=d0,bus=ide.2
expect_fail "a unit that is taken" "unit 0 of ide.0 is taken" \
    -drive file="$DISK",format=raw,index=0 -drive if=none,id=d1,file="$DISK",format=raw,readonly=on \
    -device ide-hd,drive=d1,bus=ide.0,unit=0
expect_fail "a bootindex below -1" "does not take the value '-2'" -device ide-cd,bootindex=-2
done_testing
