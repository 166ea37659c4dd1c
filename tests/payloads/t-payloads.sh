#!/bin/bash
# t-payloads.sh: boot every bare-metal payload (tests/payloads/*.c) on this machine's KVM, with
# ./skiff and with the sanitizer build, and report the payload's own checks from COM1.
#
# A payload names its runs in comments: "/* skiff-args: -smp 4 */" (one run per line; the
# arguments are also its -append command line), "/* skiff-initrd: ... */" for multiboot
# modules made by this script, "/* skiff-drive: data */" for an IDE disk at index 0 whose 32-bit
# words each hold their own index (64 MiB), "/* skiff-expect-exit: N */" for another expected status.
. "$(dirname "$0")/../lib/common.sh"

make -s -C "$SRCDIR" payloads >&2 || { not_ok "the payloads build"; done_testing; }

native_lane "bare-metal payloads"

printf 'first\n' >"$TMP/mod1"
printf 'second\n' >"$TMP/mod2"

run_payload() {   # bin name args expect
    local bin=$1 name=$2 args=$3 expect=$4 label initrd=() drive=()
    label="$name${args:+ ($args)}"
    [ "$bin" != "$SKIFF" ] && label="$label [sanitizers]"
    if grep -q "skiff-initrd: modules" "$SRCDIR/tests/payloads/$name.c"; then
        initrd=(-initrd "$TMP/mod1 arg1,$TMP/mod2")
    fi
    if grep -q "skiff-drive: data" "$SRCDIR/tests/payloads/$name.c"; then
        [ -f "$TMP/data.img" ] || perl -e 'print pack("V*", 0 .. 16777215)' >"$TMP/data.img"
        drive=(-drive "file=$TMP/data.img,format=raw,if=ide,index=0")
    fi
    local status
    # a skiff that refuses its command line writes no COM1 file: do not read the last run's
    rm -f "$TMP/out"
    # shellcheck disable=SC2086
    vm_run 60 "$label" /dev/null "$TMP/err" \
        "$bin" -m 64 -kernel "$SRCDIR/build/payloads/$name.elf" "${initrd[@]}" "${drive[@]}" \
        -append "$args hello=world" $args -nodefaults -serial "file:$TMP/out" \
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
    for args in "${runs[@]}"; do
        run_payload "$SKIFF" "$name" "$args" "$expect"
        [ -n "${SKIFF_SAN:-}" ] && run_payload "$SKIFF_SAN" "$name" "$args" "$expect"
    done
done
done_testing
