#!/bin/bash
# tests/guest/t-bench-boot.sh: bench/boot runs and prints its figures with ratios (native lane,
# one run; the timings themselves decide nothing)
. "$(dirname "$0")/../lib/common.sh"

if ! need_pkg qemu-system-x86; then
    skip "missing Debian packages: $MISSING_PKGS (run as root)" "bench/boot"
    done_testing
fi
native_lane "bench/boot" --linux

OUT="$TMP/bench.out"
timeout 300 "$SRCDIR/bench/boot" -n 1 --no-svm >"$OUT" 2>&1
status=$?
sed 's/^/# /' "$OUT" | head -n 20
row() { grep -E "^native +($1)? +$2 " "$OUT"; }
# a row holds a figure for skiff, one for QEMU, and their ratio
figures() { row "$1" "$2" | grep -qE '[0-9.]+ (ms|s|MiB) +[0-9.]+ (ms|s|MiB) +[0-9.]+$'; }

check "bench/boot exits with status 0" [ "$status" -eq 0 ]
check "it times the bare-metal payload's first serial byte on both VMMs, with the ratio" \
    figures "bare-metal payload, -m 64" "first serial byte"
check "it times the payload's init marker on both VMMs" figures "" "init started"
check "it times poweroff to exit on both VMMs" figures "" "poweroff -> exit"
check "it measures both VMMs' memory beside the guest's RAM" figures "" "VMM overhead"
done_testing
