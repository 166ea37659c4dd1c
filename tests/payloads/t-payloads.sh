#!/bin/bash
# t-payloads.sh: boot every bare-metal payload (tests/payloads/*.c) on this machine's KVM, with
# ./skiff and with the sanitizer build, and report the payload's own checks from COM1.
#
# A payload names its runs in comments: "/* skiff-args: -smp 4 */" (one run per line; the
# arguments are also its -append command line), "/* skiff-initrd: ... */" for multiboot
# modules made by this script, "/* skiff-drive: data */" for an IDE disk at index 0 whose 32-bit
# words each hold their own index (64 MiB), "/* skiff-drive: virtio-data */" for a fresh copy of
# that disk as -drive if=none,id=data (the run's own -device ...,drive=data puts it on a bus),
# "/* skiff-expect-exit: N */" for another expected status,
# "/* skiff-also-as: FILE (why) */" to boot build/payloads/FILE too, the same payload in another form.
# Then the multiboot images skiff must refuse before any guest code runs.
# budget: 300 (about 40 s on KVM, half of it the virtio-blk runs; more in the svm lane where there is none)
. "$(dirname "$0")/../lib/common.sh"

make -s -C "$SRCDIR" payloads >&2 || { not_ok "the payloads build"; done_testing; }

native_lane "bare-metal payloads"

printf 'first\n' >"$TMP/mod1"
printf 'second\n' >"$TMP/mod2"

run_payload() {   # bin name args expect [kernel file in build/payloads]
    local bin=$1 name=$2 args=$3 expect=$4 kernel=${5:-$2.elf} label initrd=() drive=() disk
    label="$name${args:+ ($args)}"
    [ "$kernel" != "$name.elf" ] && label="$kernel${args:+ ($args)}"
    [ "$bin" != "$SKIFF" ] && label="$label [sanitizers]"
    if grep -q "skiff-initrd: modules" "$SRCDIR/tests/payloads/$name.c"; then
        initrd=(-initrd "$TMP/mod1 arg1,$TMP/mod2")
    fi
    disk=$(sed -n 's|.*skiff-drive: *\([a-z-]*\).*|\1|p' "$SRCDIR/tests/payloads/$name.c" | head -1)
    if [ -n "$disk" ]; then
        [ -f "$TMP/data.img" ] || perl -e 'print pack("V*", 0 .. 16777215)' >"$TMP/data.img"
        if [ "$disk" = virtio-data ]; then
            # the payload writes to it: a fresh copy each run, which the run's -device attaches
            cp "$TMP/data.img" "$TMP/vdata.img"
            drive=(-drive "file=$TMP/vdata.img,format=raw,if=none,id=data")
        else
            drive=(-drive "file=$TMP/data.img,format=raw,if=ide,index=0")
        fi
    fi
    # skiff-net: reflect: the netdev n0 its arguments name is a socket backend to netpeer.pl
    local net=() peer=
    if grep -q "skiff-net: reflect" "$SRCDIR/tests/payloads/$name.c" && [[ "$args" == *netdev=n0* ]]; then
        rm -f "$TMP/peer.port" "$TMP/peer.out"
        perl "$SRCDIR/tests/payloads/netpeer.pl" "$TMP/peer.port" "$TMP/peer.out" 2>"$TMP/peer.err" &
        peer=$!
        for _ in $(seq 50); do [ -s "$TMP/peer.port" ] && break; sleep 0.1; done
        net=(-netdev "socket,id=n0,connect=127.0.0.1:$(cat "$TMP/peer.port" 2>/dev/null)")
    fi
    local status
    # a skiff that refuses its command line writes no COM1 file: do not read the last run's
    rm -f "$TMP/out"
    # shellcheck disable=SC2086
    vm_run 60 "$label" /dev/null "$TMP/err" \
        "$bin" -m 64 -kernel "$SRCDIR/build/payloads/$kernel" "${initrd[@]}" "${drive[@]}" \
        -append "$args hello=world" $args "${net[@]}" -nodefaults -serial "file:$TMP/out" \
        -device isa-debug-exit,iobase=0xf4,iosize=4 -display none
    local n=0 bad=0
    while IFS= read -r l; do
        l=${l%$'\r'}
        case "$l" in
        "ok "*) n=$((n + 1)); ok "$label: ${l#ok * - }" ;;
        "not ok "*) n=$((n + 1)); bad=1; not_ok "$label: ${l#not ok * - }" ;;
        esac
    done <"$TMP/out"
    if [ "$status" -eq "$expect" ] && [ "$n" -gt 0 ]; then
        ok "$label: ran $n checks and skiff exited with status $status as expected"
    else
        not_ok "$label: exit status $status (expected $expect) after $n checks"
        sed 's/^/# /' "$TMP/err" | head -40
        [ "$n" -eq 0 ] && sed 's/^/# out: /' "$TMP/out" | head -20
    fi
    if [ -n "$peer" ]; then
        # skiff has exited: the peer ends with its stream; one skiff never reached is stopped
        for _ in $(seq 100); do kill -0 "$peer" 2>/dev/null || break; sleep 0.1; done
        kill "$peer" 2>/dev/null
        wait "$peer" 2>/dev/null
        if grep -q "^frames=[1-9][0-9]* tcp=[1-9][0-9]* bad=0$" "$TMP/peer.out" 2>/dev/null; then
            ok "$label: the peer on its socket backend got every frame, checksums right ($(cat "$TMP/peer.out"))"
        else
            not_ok "$label: the peer on its socket backend: $(cat "$TMP/peer.out" "$TMP/peer.err" 2>/dev/null)"
        fi
    fi
    # what skiff must say on stderr
    while IFS= read -r want; do
        [ -n "$want" ] || continue
        if grep -qF -- "$want" "$TMP/err"; then
            ok "$label: skiff reports \"$want\""
        else
            not_ok "$label: skiff's stderr lacks \"$want\""
            sed 's/^/# /' "$TMP/err" | head -20
        fi
    done < <(sed -n 's|.*skiff-expect-stderr: *\(.*\) \*/.*|\1|p' "$SRCDIR/tests/payloads/$name.c")
    # the sanitizer build must stay silent
    if grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error:" "$TMP/err"; then
        not_ok "$label: the sanitizers reported a problem"
        sed 's/^/# /' "$TMP/err" | head -40
    fi
}

for src in "$SRCDIR"/tests/payloads/*.c; do
    name=$(basename "$src" .c)
    [ -e "$SRCDIR/build/payloads/$name.elf" ] || continue
    grep -q "skiff-no-auto-run" "$src" && continue
    only=$(sed -n 's|.*skiff-only-with-module: *\([a-z_0-9]*\).*|\1|p' "$src")
    if [ -n "$only" ] && [ ! -d "/sys/module/$only" ]; then
        skip "this host's KVM is not $only: $(sed -n 's|.*skiff-only-with-module: *[a-z_0-9]* *\(.*\) \*/.*|\1|p' "$src")" "$name"
        continue
    fi
    not=$(sed -n 's|.*skiff-only-without-module: *\([a-z_0-9]*\).*|\1|p' "$src")
    if [ -n "$not" ] && [ -d "/sys/module/$not" ]; then
        skip "this host's KVM is $not: $(sed -n 's|.*skiff-only-without-module: *[a-z_0-9]* *\(.*\) \*/.*|\1|p' "$src")" "$name"
        continue
    fi
    expect=$(sed -n 's|.*skiff-expect-exit: *\([0-9]*\).*|\1|p' "$src" | head -1)
    expect=${expect:-1}
    mapfile -t runs < <(sed -n 's|.*skiff-args: *\(.*\) \*/.*|\1|p' "$src")
    [ ${#runs[@]} -eq 0 ] && runs=("")
    mapfile -t forms < <(sed -n 's|.*skiff-also-as: *\([^ ]*\).*|\1|p' "$src")
    for args in "${runs[@]}"; do
        for kernel in "$name.elf" "${forms[@]}"; do
            run_payload "$SKIFF" "$name" "$args" "$expect" "$kernel"
            [ -n "${SKIFF_SAN:-}" ] && run_payload "$SKIFF_SAN" "$name" "$args" "$expect" "$kernel"
        done
    done
done

# refused KERNEL LABEL PATTERN [SKIFF-ARGS...]: skiff refuses the kernel with one line on stderr
# matching PATTERN and status 1, before the guest writes a byte to COM1. The images made by
# mkkernel.pl write "X" and leave through debug-exit (status 177) when they run at all.
refused() {
    local k=$1 label=$2 pat=$3 bin l; shift 3
    for bin in "$SKIFF" ${SKIFF_SAN:+"$SKIFF_SAN"}; do
        l=$label
        [ "$bin" != "$SKIFF" ] && l="$label [sanitizers]"
        rm -f "$TMP/out"
        vm_run 20 "$l" /dev/null "$TMP/err" "$bin" -m 64 -kernel "$k" "$@" -nodefaults \
            -serial "file:$TMP/out" -device isa-debug-exit,iobase=0xf4,iosize=4 -display none
        if [ "$status" -eq 1 ] && grep -q -- "$pat" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
            [ ! -s "$TMP/out" ]; then
            ok "$l: refused before the guest ran (\"$(head -1 "$TMP/err")\")"
        else
            not_ok "$l: status $status (expected 1, one line on stderr and no guest output)"
            sed 's/^/# /' "$TMP/err" | head -10
            [ -s "$TMP/out" ] && note "the guest wrote: $(head -c 200 "$TMP/out" | tr -d '\r\n')"
        fi
    done
}
mkkernel() { perl "$SRCDIR/tests/payloads/mkkernel.pl" "$@"; }

mkkernel elf 0x8000 0x98000 >"$TMP/k-lowfill.elf"
refused "$TMP/k-lowfill.elf" "a multiboot ELF covering low memory to 640 KiB, over the EBDA" \
    "loads at 0x8000-0x9ffff, over 0x9fc00-0x9ffff, which the memory map reserves (the EBDA)"
mkkernel aout 0x10000 0x90000 >"$TMP/k-lowfill.bin"
refused "$TMP/k-lowfill.bin" "an a.out kludge image whose bss runs over the EBDA" \
    "loads at 0x10000-0x9ffff, over 0x9fc00-0x9ffff, which the memory map reserves"
mkkernel elf 0xa0000 0x1000 >"$TMP/k-vga.elf"
refused "$TMP/k-vga.elf" "a multiboot ELF in the VGA window" \
    "loads at 0xa0000-0xa0fff, over 0xa0000-0xdffff, which is not RAM"
mkkernel elf 0xe0000 0x1000 >"$TMP/k-bios.elf"
refused "$TMP/k-bios.elf" "a multiboot ELF over the ACPI and MP tables" \
    "over 0xe0000-0xfffff, which the memory map reserves (the BIOS area"
mkkernel elf 0x3f00000 0x200000 >"$TMP/k-high.elf"
refused "$TMP/k-high.elf" "a multiboot ELF past the end of -m 64" "needs 66 MiB of RAM; give it more with -m"
truncate -s 70M "$TMP/big.mod"
refused "$SRCDIR/build/payloads/multiboot-low.elf" "modules larger than guest RAM" \
    "multiboot modules (2, 71 MiB in all) do not fit in guest RAM beside the kernel" \
    -initrd "$TMP/big.mod,$TMP/mod1"

# the info moves above 1 MiB when the image leaves no room for it below 640 KiB
mkkernel elf 0x1000 0x9ec00 >"$TMP/k-full.elf"
vm_run 20 "full low memory" /dev/null "$TMP/err" "$SKIFF" -m 64 -kernel "$TMP/k-full.elf" \
    -nodefaults -serial "file:$TMP/out" -device isa-debug-exit,iobase=0xf4,iosize=4 -display none
check "a multiboot ELF filling RAM from 4 KiB to the EBDA runs (status $status)" \
    sh -c "[ $status -eq 177 ] && grep -q X '$TMP/out'"
done_testing
