#!/bin/bash
# tests/block/t-bench-virtio-blk.sh: bench/virtio-blk's native lane runs its bare-metal driver
# under skiff and QEMU in every mode and prints each line with both VMMs' medians, the ratio and
# the runs' spread (each run passed its own data checks); the timings themselves decide nothing
# budget: 240 (about 50 s alone)
. "$(dirname "$0")/../lib/common.sh"

if ! need_pkg qemu-system-x86 seabios; then
    skip "missing Debian packages: $MISSING_PKGS (run as root)" "bench/virtio-blk"
    done_testing
fi
if ! kvm_usable; then
    skip "no usable /dev/kvm: the bench's native lane runs both VMMs on this machine's KVM" "bench/virtio-blk"
    done_testing
fi

OUT="$TMP/bench.out"
TMPDIR=$TMP timeout 600 "$SRCDIR/bench/virtio-blk" --no-svm -n 1 -r 300 >"$OUT" 2>&1
status=$?
sed 's/^/# /' "$OUT" | tail -n 14
# a line: the mode, skiff's and QEMU's requests per second, the ratio, each VMM's run
lines() { grep -cE "^4 KiB random read, QD[0-9]+, cache=$1 +[1-9][0-9]* +[1-9][0-9]* +[0-9.]+ +\(runs [0-9]+-[0-9]+ and [0-9]+-[0-9]+\)$" "$OUT"; }

check "bench/virtio-blk exits with status 0" [ "$status" -eq 0 ]
check "QD1 and QD32 lines for cache=writeback, in the main loop and on an iothread" [ "$(lines 'writeback(, iothread)?')" -eq 4 ]
check "QD1 and QD32 lines for cache=none,aio=native, likewise" [ "$(lines 'none,aio=native(, iothread)?')" -eq 4 ]
check "no run failed its data checks" sh -c "! grep -qE 'runs none|payload failed' '$OUT'"
done_testing
