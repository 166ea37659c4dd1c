#!/bin/bash
# t-qcow2-damage.sh: skiff-img check agrees with qemu-img check on damaged images, and the repairs hold
# budget: 120 (about 3 s)
. "$(dirname "$0")/../lib/common.sh"

S="$SKIFF_IMG"
BLKIO="${BLKIO:-$SRCDIR/build/tests/block/blk-io}"
cd "$TMP" || exit 1
if ! need_pkg qemu-utils; then
    skip "needs the Debian package $MISSING_PKGS (run as root to install it)" "damaged-image agreement"
    done_testing
fi

# big-endian fields: rd N FILE OFF (N = 16 or 64) prints the value; wr N FILE OFF VALUE
rd() { echo $((16#$(od -An -t x$(($1 / 8)) --endian=big -j "$3" -N $(($1 / 8)) "$2" | tr -d ' \n'))); }
wr() {
    local hex
    hex=$(printf "%0$(($1 / 4))x" "$4")
    printf "$(echo "$hex" | sed 's/../\\x&/g')" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}
COPIED=$((1 << 63))
MASK=$((0x00fffffffffffe00))

qemu-img create -q -f qcow2 pristine.qcow2 8M
qemu-io -c 'write -P 7 0 192k' -c 'write -P 8 1M 64k' pristine.qcow2 >/dev/null
L1=$(rd 64 pristine.qcow2 40)
RT=$(rd 64 pristine.qcow2 48)
L2=$(($(rd 64 pristine.qcow2 "$L1") & MASK))
RB=$(rd 64 pristine.qcow2 "$RT")
D0=$(($(rd 64 pristine.qcow2 "$L2") & MASK))

damage() {
    local what=$1
    cp pristine.qcow2 d.qcow2
    case $what in
    refcount-zero) wr 16 d.qcow2 $((RB + 2 * D0 / 65536)) 0 ;;
    refcount-high) wr 16 d.qcow2 $((RB + 2 * D0 / 65536)) 2 ;;
    l2-unaligned) wr 64 d.qcow2 $((L2 + 8)) $(($(rd 64 d.qcow2 $((L2 + 8))) + 512)) ;;
    l2-past-eof) wr 64 d.qcow2 $((L2 + 16)) $((0x10000000 | COPIED)) ;;
    l2-copied-cleared) wr 64 d.qcow2 "$L2" $(($(rd 64 d.qcow2 "$L2") & ~COPIED)) ;;
    l2-duplicate) wr 64 d.qcow2 $((L2 + 8 * 40)) "$(rd 64 d.qcow2 "$L2")" ;;
    l1-unaligned) wr 64 d.qcow2 "$L1" $(($(rd 64 d.qcow2 "$L1") + 512)) ;;
    l1-past-eof) wr 64 d.qcow2 "$L1" $((0x80000000 | COPIED)) ;;
    reftable-past-eof) wr 64 d.qcow2 "$RT" $((0x40000000)) ;;
    reftable-unaligned) wr 64 d.qcow2 "$RT" $((RB + 512)) ;;
    header-l1-past-eof) wr 64 d.qcow2 40 $((0x40000000)) ;;
    header-cluster-bits) wr 32 d.qcow2 20 40 ;;
    header-magic) wr 32 d.qcow2 0 0x51464900 ;;
    esac
}

norm() { sed 's/^skiff-img: /qemu-img: /'; }
for what in refcount-zero refcount-high l2-unaligned l2-past-eof l2-copied-cleared l2-duplicate l1-unaligned \
            l1-past-eof reftable-past-eof reftable-unaligned header-l1-past-eof header-cluster-bits header-magic; do
    damage "$what"
    "$S" check d.qcow2 >s.out 2>s.err; src=$?
    qemu-img check d.qcow2 >q.out 2>q.err; qrc=$?
    check "$what: skiff-img check exits $qrc as qemu-img check does (got $src)" [ "$src" = "$qrc" ]
    if [ "$qrc" -ge 2 ]; then
        # (over an unaligned L1 entry QEMU walks whatever lies there; skiff does not)
        [ "$what" = l1-unaligned ] ||
        check "$what: the summary matches qemu-img's" diff <(grep -E 'errors were found|leaked clusters were found|No errors' s.out) \
            <(grep -E 'errors were found|leaked clusters were found|No errors' q.out)
    elif [ ! -s s.out ]; then
        check "$what: an open error is a clear one-line message naming the file" \
            bash -c "[ \$(wc -l <s.err) = 1 ] && grep -q \"'d.qcow2'\" s.err"
    fi
    # what a guest sees: reads fail or succeed, nothing crashes
    "$BLKIO" d.qcow2 read 7 0 64k >/dev/null 2>&1
    rc=$?
    check "$what: reading the damaged image fails cleanly or works (exit $rc)" [ "$rc" -le 1 ]
    if [ "$qrc" -ge 2 ] && [ "$qrc" -le 3 ]; then
        cp pristine.qcow2 p.qcow2; damage "$what"; cp d.qcow2 q.qcow2
        "$S" check -r all d.qcow2 >/dev/null 2>&1
        qemu-img check -r all q.qcow2 >/dev/null 2>&1
        qemu-img check q.qcow2 >/dev/null 2>&1; qafter=$?
        qemu-img check d.qcow2 >/dev/null 2>&1; safter=$?
        check "$what: after skiff-img check -r all, qemu-img check is as happy as after its own repair ($safter vs $qafter)" \
            [ "$safter" -le "$qafter" ]
    fi
done

# a guest write that meets damage fails, and the image is marked corrupt rather than made worse
damage l2-past-eof
"$BLKIO" d.qcow2 write 9 128k 4k >/dev/null 2>err.txt
check "a write through an L2 entry past the end of the file fails" [ $? -ne 0 ]
check "the failure names the image and says it is corrupt" grep -q "'d.qcow2': image is corrupt" err.txt
check "the image is marked corrupt (qemu-img info says so)" bash -c "qemu-img info d.qcow2 | grep -q 'corrupt: true'"
"$BLKIO" d.qcow2 write 9 0 4k >/dev/null 2>err.txt
check "a corrupt image is refused for writing, with the way out in the message" grep -q "check -r all" err.txt
check "but reads of the sound part still work read-only" "$BLKIO" -r d.qcow2 read 7 0 64k
"$S" check -r all d.qcow2 >/dev/null 2>&1
check "check -r all clears the corrupt bit" bash -c "qemu-img info d.qcow2 | grep -q 'corrupt: false'"
check "and qemu-img check passes afterwards" qemu-img check -q d.qcow2
# Guest data never lands on live metadata (issue #11, 9; QEMU's default "cached" overlap check):
# a crafted L2 entry points a guest cluster at the image's own L2 table, a refcount block or a
# snapshot's L1 table, or a zeroed refcount hands out the L2 table's cluster to a new write.
# The write is refused naming what it would overwrite, the image is marked corrupt, the metadata
# stays as it was (qemu-img check finds no more than before) and the rest of the data reads back.
cluster() { dd if="$1" bs=64k skip=$(($2 / 65536)) count=1 status=none | od -An -tx1; }
for target in l2 refblock snapshot-l1 alloc; do
    cp pristine.qcow2 o.qcow2
    case $target in
    l2) at=$L2; name="an active L2 table" ;;
    refblock) at=$RB; name="a refcount block" ;;
    snapshot-l1)
        qemu-img snapshot -c s1 o.qcow2
        at=$(rd 64 o.qcow2 "$(rd 64 o.qcow2 64)"); name="an inactive L1 table" ;;
    alloc) at=$L2; name="an active L2 table" ;;
    esac
    if [ "$target" = alloc ]; then
        wr 16 o.qcow2 $((RB + 2 * L2 / 65536)) 0     # the L2 table's cluster counted free
        off=2M
    else
        wr 64 o.qcow2 $((L2 + 8 * 4)) $((at | COPIED))  # guest cluster 4 (256k) -> the table
        off=256k
    fi
    qemu-img check o.qcow2 >before.txt 2>&1
    cluster o.qcow2 "$at" >meta-before.txt
    "$BLKIO" o.qcow2 write 9 "$off" 4k >/dev/null 2>err.txt
    check "$target: a guest write that would land on $name fails" [ $? -ne 0 ]
    check "$target: the error names the image and the overlap" \
        grep -q "'o.qcow2': image is corrupt: a data write to 0x[0-9a-f]* would overwrite $name" err.txt
    check "$target: the image is marked corrupt (qemu-img info says so)" bash -c "qemu-img info o.qcow2 | grep -q 'corrupt: true'"
    check "$target: $name is as it was" diff meta-before.txt <(cluster o.qcow2 "$at")
    qemu-img check o.qcow2 >after.txt 2>&1
    check "$target: qemu-img check finds what it found before the write, nothing more" diff before.txt after.txt
    check "$target: the image's data reads back (qemu-io)" \
        bash -c "qemu-io -r -c 'read -P 7 0 192k' -c 'read -P 8 1M 64k' o.qcow2 >/dev/null"
done
done_testing
