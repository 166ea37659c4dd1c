#!/bin/bash
# tests/block/t-bench-img.sh: bench/img runs on small images and prints every line of its table
# with both tools' figures and the ratio, and skiff-img's converts hold the input's content
# (the timings themselves decide nothing)
# budget: 180 (about 25 s alone)
. "$(dirname "$0")/../lib/common.sh"

if ! need_pkg qemu-utils; then
    skip "missing Debian packages: $MISSING_PKGS (run as root)" "bench/img"
    done_testing
fi

OUT="$TMP/bench.out"
BENCH_SIZE=16M BENCH_TRIES=1 BENCH_DIR="$TMP/img" timeout 600 "$SRCDIR/bench/img" >"$OUT" 2>&1
status=$?
sed 's/^/# /' "$OUT" | head -n 60
# a line: a name, qemu-img's figure, skiff-img's figure, the ratio
lines() { grep -cE "^$1 .* \((IOPS|MiB/s)\) +[0-9]+ +[0-9]+ +[0-9.]+$" "$OUT"; }

check "bench/img exits with status 0" [ "$status" -eq 0 ]
check "26 raw bench lines, each with both tools' figures and the ratio" [ "$(lines raw)" -eq 26 ]
check "26 qcow2 bench lines, likewise" [ "$(lines qcow2)" -eq 26 ]
check "aio=native lines for both formats" [ "$(lines '(raw|qcow2) none,aio=native')" -eq 4 ]
check "convert lines, with and without -c" [ "$(lines 'convert raw->qcow2')" -eq 2 ]
check "no line failed and skiff-img's converts match their input" \
    sh -c "! grep -qE ' - *\$|fail|different content' '$OUT'"
done_testing
