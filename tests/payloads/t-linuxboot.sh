#!/bin/bash
# t-linuxboot.sh: the Linux boot protocol on this machine's KVM, with a synthetic kernel: a
# bzImage whose 64-bit entry checks boot_params and whose compressed payload (gzip, xz, lz4,
# zstd) is a PVH ELF that checks start_info. Covers host-side unpacking, its cache, the
# fallback to the in-guest path, ELF vmlinux through PVH (at 16 MiB and linked low, at 32 KiB),
# where skiff puts the boot data, and bad kernels.
# budget: 300 (about 10 s on KVM; more in the svm lane where there is none)
. "$(dirname "$0")/../lib/common.sh"

need_pkg xz-utils lz4 zstd gzip || { skip "missing Debian packages: $MISSING_PKGS" "linux boot"; done_testing; }
make -s -C "$SRCDIR" payloads >&2 || { not_ok "the test kernels build"; done_testing; }
native_lane "linux boot protocol"

LB=$SRCDIR/build/payloads/linux
printf 'INITRD-MAGIC%4084s' x >"$TMP/initrd"

# boot KERNEL ARGS...: run skiff; output in $TMP/out, stderr in $TMP/err, status in $status
boot() {
    local k=$1; shift
    vm_run 30 "boot of $(basename "$k")" /dev/null "$TMP/err" \
        "$SKIFF" -m 128 -kernel "$k" -initrd "$TMP/initrd" -append "hello=world" \
        -nodefaults -serial "file:$TMP/out" -device isa-debug-exit,iobase=0xf4,iosize=4 "$@"
}

# guest_passed LABEL: every check the guest made passed and it exited through debug-exit
guest_passed() {
    local label=$1 n
    n=$(grep -c '^ok ' "$TMP/out")
    if [ "$status" -eq 1 ] && [ "$n" -ge 6 ] && ! grep -q '^not ok' "$TMP/out"; then
        ok "$label ($n checks passed in the guest)"
    else
        not_ok "$label (status $status, $n checks)"
        sed 's/^/# /' "$TMP/out" "$TMP/err" | head -30
    fi
}

# expect_error LABEL PATTERN SKIFF-ARGS...: one clear line matching PATTERN, status 1
expect_error() {
    local label=$1 pat=$2; shift 2
    timeout 10 "$SKIFF" -nodefaults -serial null "$@" >"$TMP/out" 2>"$TMP/err"
    status=$?
    if [ "$status" -eq 1 ] && grep -q "$pat" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -le 2 ]; then
        ok "$label: \"$(head -1 "$TMP/err")\""
    else
        not_ok "$label (status $status)"
        sed 's/^/# /' "$TMP/err" | head -10
    fi
}

for fmt in gz xz lz4 zst; do
    rm -rf "$TMP/cache"
    boot "$LB/bzImage.$fmt" -kernel-cache "$TMP/cache" -d debug
    guest_passed "a $fmt-compressed kernel is unpacked on the host and entered through PVH"
    check "  and the guest says it came in through PVH" grep -q "entered through the PVH entry" "$TMP/out"
    check "  the unpacked kernel is cached under -kernel-cache" \
        sh -c "ls '$TMP/cache'/*.vmlinux >/dev/null 2>&1"
    boot "$LB/bzImage.$fmt" -kernel-cache "$TMP/cache" -d debug
    guest_passed "the $fmt kernel boots again from the cache"
    check "  and skiff says it used the cached kernel" grep -q "using the unpacked kernel cached" "$TMP/err"
done

boot "$LB/bzImage.xz" -no-kernel-unpack
guest_passed "-no-kernel-unpack enters the bzImage's 64-bit entry with boot_params"
check "  and the guest says it came in at the 64-bit entry" grep -q "64-bit entry" "$TMP/out"

# a damaged payload: skiff cannot unpack it and leaves it to the kernel
cp "$LB/bzImage.xz" "$TMP/bad.bz"
size=$(stat -c %s "$TMP/bad.bz")
printf '\xde\xad\xbe\xef\xde\xad\xbe\xef' | dd of="$TMP/bad.bz" bs=1 seek=$((size - 64)) conv=notrunc 2>/dev/null
boot "$TMP/bad.bz" -kernel-cache off
guest_passed "a payload that does not unpack falls back to the kernel's own 64-bit entry"

boot "$LB/vmlinux"
guest_passed "an ELF vmlinux boots through its PVH note"

# linked at 32 KiB, where start_info used to be written: skiff places it where the image is not
boot "$LB/vmlinux-low"
guest_passed "an ELF vmlinux linked at 32 KiB boots through its PVH note"
check "  and start_info, the command line, memory map and initrd lie outside its image" \
    grep -q "^ok .*lie outside the image (0x8000-" "$TMP/out"

# a bzImage is loaded at 1 MiB whatever its header prefers; all skiff writes for it lies below
cp "$LB/bzImage.xz" "$TMP/lowpref.bz"
printf '\x00\x80\x00\x00\x00\x00\x00\x00' | dd of="$TMP/lowpref.bz" bs=1 seek=$((0x258)) conv=notrunc 2>/dev/null
boot "$TMP/lowpref.bz" -no-kernel-unpack
guest_passed "a bzImage whose pref_address is 32 KiB still runs at 1 MiB"
check "  and boot_params, the command line and the initrd lie outside the kernel" \
    grep -q "^ok .*lie outside the kernel (0x0*100000 " "$TMP/out"

# -kernel with -bios: SeaBIOS runs QEMU's Linux loader ROM, which takes the kernel from fw_cfg
# and enters its real-mode setup; that asks the BIOS for the e820 map and goes to long mode
if need_pkg seabios qemu-system-data; then
    boot "$LB/bzImage.xz" -bios bios-256k.bin -chardev file,id=d,path="$TMP/bios.log" \
        -device isa-debugcon,iobase=0x402,chardev=d
    guest_passed "-kernel with -bios: SeaBIOS boots the bzImage through the linuxboot ROM"
    check "  and the kernel came in through its real-mode setup, loaded by QEMU's ROM (type 0xb0)" \
        grep -q "type_of_loader is 0xb0" "$TMP/out"
    check "  SeaBIOS's log shows it booting the ROM first" grep -q "Booting from ROM" "$TMP/bios.log"
    check "  the e820 map came from the BIOS (int 15h E820) and adds up to -m 128" \
        grep -q "^ok .* e820 map in boot_params .* adds up to -m 128" "$TMP/out"
    check "  the RSDP is where the firmware put it, in the BIOS area" \
        grep -q "^ok .*RSDP is in the BIOS area" "$TMP/out"
    expect_error "-kernel with -bios: a PVH vmlinux is refused by name" \
        "not a bzImage: with -bios" -bios bios-256k.bin -kernel "$LB/vmlinux"
else
    for _ in 1 2 3 4 5 6; do skip "missing Debian packages: $MISSING_PKGS" "-kernel with -bios"; done
fi

# bad kernels: one clear line, status 1
head -c 100000 /dev/urandom >"$TMP/random"
expect_error "a file that is no kernel" "is not a bzImage, an ELF with a PVH note or a multiboot" -kernel "$TMP/random"
expect_error "a missing kernel" "cannot read kernel.*No such file" -kernel "$TMP/nonexistent"
expect_error "a folder as the kernel" "cannot read kernel" -kernel "$TMP"
head -c 3000 "$LB/bzImage.xz" >"$TMP/trunc.bz"
expect_error "a truncated bzImage" "truncated\|does not fit\|not a bzImage" -kernel "$TMP/trunc.bz"
cp "$LB/bzImage.xz" "$TMP/old.bz"
printf '\x05\x02' | dd of="$TMP/old.bz" bs=1 seek=$((0x206)) conv=notrunc 2>/dev/null
expect_error "boot protocol 2.05" "boot protocol 2.05; skiff needs 2.06" -kernel "$TMP/old.bz"
truncate -s 200M "$TMP/big.initrd"
expect_error "an initrd larger than guest RAM" "does not fit in guest RAM" -m 64 -kernel "$LB/bzImage.xz" -initrd "$TMP/big.initrd"
expect_error "a missing initrd" "cannot read initrd" -kernel "$LB/bzImage.xz" -initrd "$TMP/none"
perl "$SRCDIR/tests/payloads/mkkernel.pl" pvh 0xe0000 0x1000 >"$TMP/pvh-bios.elf"
expect_error "a PVH ELF over the ACPI and MP tables" \
    "loads at 0xe0000-0xe0fff, over 0xe0000-0xfffff, which the memory map reserves" -kernel "$TMP/pvh-bios.elf"
perl "$SRCDIR/tests/payloads/mkkernel.pl" pvh 0x8000 0x98000 >"$TMP/pvh-low.elf"
expect_error "a PVH ELF covering low memory to 640 KiB, over the EBDA" \
    "loads at 0x8000-0x9ffff, over 0x9fc00-0x9ffff, which the memory map reserves" -kernel "$TMP/pvh-low.elf"
expect_error "a command line longer than the kernel takes" "command line is" -kernel "$LB/bzImage.xz" -no-kernel-unpack -append "$(head -c 3000 /dev/zero | tr '\0' x)"
done_testing
