#!/bin/bash
# t-qcow2-crash.sh: kill -9 in the middle of a write-and-flush workload, many times: qemu-img check finds
# at most leaked clusters, and every write a completed flush covered reads back (through qemu-img too)
# budget: 180 (about 25 s)
. "$(dirname "$0")/../lib/common.sh"

S="$SKIFF_IMG"
BLKIO="${BLKIO:-$SRCDIR/build/tests/block/blk-io}"
cd "$TMP" || exit 1
if ! need_pkg qemu-utils; then
    skip "needs the Debian package $MISSING_PKGS (run as root to install it)" "crash consistency"
    done_testing
fi
ROUNDS=${CRASH_ROUNDS:-16}

for i in $(seq 1 "$ROUNDS"); do
    case $((i % 4)) in
    0) cs=4096 cache=writeback lazy=off ;;
    1) cs=65536 cache=writeback lazy=off ;;
    2) cs=65536 cache=none lazy=off ;;
    3) cs=4096 cache=writeback lazy=on ;;
    esac
    t="round $i (cluster_size=$cs cache=$cache lazy_refcounts=$lazy)"
    rm -f c.qcow2 log.txt c.raw
    "$S" create -q -f qcow2 -o cluster_size=$cs,lazy_refcounts=$lazy c.qcow2 32M
    "$BLKIO" -t "$cache" c.qcow2 crash "$i" log.txt 2>/dev/null &
    pid=$!
    # let it run a while, then kill it wherever it is
    sleep "0.$((RANDOM % 7 + 2))"
    check "$t: the writer was still at work when killed (no request failed)" kill -0 "$pid"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    if [ "$lazy" = on ]; then
        # a dirty image's refcounts are rebuilt on the next read-write open, as QEMU does
        "$S" check -q -r all c.qcow2 >/dev/null 2>&1
    fi
    qemu-img check c.qcow2 >check.out 2>&1
    rc=$?
    check "$t: qemu-img check finds at most leaked clusters (exit $rc)" bash -c "[ $rc = 0 ] || [ $rc = 3 ]"
    [ "$rc" = 0 ] || [ "$rc" = 3 ] || sed 's/^/# /' check.out | head -20
    check "$t: every write covered by a completed flush reads back ($(grep -c '^F' log.txt) flushes)" \
        "$BLKIO" -r c.qcow2 verify log.txt
    qemu-img convert -O raw c.qcow2 c.raw
    check "$t: and reads back through qemu-img too" "$BLKIO" -r -f raw c.raw verify log.txt
    "$S" check -q -r leaks c.qcow2 >/dev/null 2>&1
    check "$t: skiff-img check -r leaks leaves nothing for qemu-img check to find" qemu-img check -q c.qcow2
done
done_testing
