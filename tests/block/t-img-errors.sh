#!/bin/bash
# t-img-errors.sh: bad input gets a clear error naming the file and the problem, never a crash or a hang
# budget: 60 (about 1 s)
. "$(dirname "$0")/../lib/common.sh"

S="$SKIFF_IMG"
BLKIO="${BLKIO:-$SRCDIR/build/tests/block/blk-io}"
cd "$TMP" || exit 1

wr() {
    local hex
    hex=$(printf "%0$(($1 / 4))x" "$4")
    printf "$(echo "$hex" | sed 's/../\\x&/g')" | dd of="$2" bs=1 seek="$3" conv=notrunc status=none
}
# expect_error DESCRIPTION PATTERN COMMAND...: fails (exit 1..63, no signal) with PATTERN in one stderr line
expect_error() {
    local d=$1 pat=$2; shift 2
    timeout -k 5 20 "$@" >out.txt 2>err.txt
    local rc=$?
    if [ "$rc" -ge 1 ] && [ "$rc" -lt 64 ] && grep -q -- "$pat" err.txt; then
        ok "$d"
    else
        not_ok "$d (exit $rc)"
        sed 's/^/# /' err.txt | head -5
    fi
}

"$S" create -q -f qcow2 good.qcow2 16M
"$BLKIO" good.qcow2 write 1 0 1M

expect_error "a missing file is named" "'nosuch.qcow2': no such file" "$S" info nosuch.qcow2
head -c 70000 good.qcow2 >trunc.qcow2
expect_error "a truncated image says so" "'trunc.qcow2'.*truncated" "$S" info trunc.qcow2
head -c 40 good.qcow2 >short.qcow2
expect_error "a header cut short says so" "'short.qcow2': too short" "$S" info -f qcow2 short.qcow2
"$S" create -q -f qcow2 -b gone.qcow2 -F qcow2 -u orphan.qcow2 16M
expect_error "a missing backing file is named with its image" \
    "'orphan.qcow2': cannot open backing file 'gone.qcow2': 'gone.qcow2': no such file" "$S" info --backing-chain orphan.qcow2
expect_error "and a guest read on it fails to open the same way" "cannot open backing file" "$BLKIO" orphan.qcow2 read 0 0 512
# a backing file (or image) that is a FIFO or a character device: refused at once, never waited on
mkfifo fifo
"$S" create -q -f qcow2 -b fifo -F raw -u onfifo.qcow2 16M
expect_error "a FIFO as backing file is refused, not waited on (info --backing-chain)" \
    "cannot open backing file 'fifo': 'fifo': is a FIFO, not a regular file or block device" \
    "$S" info --backing-chain onfifo.qcow2
expect_error "and a guest read through it the same way" "'fifo': is a FIFO" "$BLKIO" onfifo.qcow2 read 0 0 512
expect_error "a FIFO as the image itself too" "'fifo': is a FIFO" "$S" info fifo
expect_error "and skiff's -drive on a FIFO-backed image says so instead of hanging" "'fifo': is a FIFO" \
    "$SKIFF" -accel qtest -qtest null -nodefaults -drive file=onfifo.qcow2,if=ide
"$S" create -q -f qcow2 -b /dev/zero -F raw -u onchr.qcow2 16M
expect_error "a character device as backing file is refused" "'/dev/zero': is a character device" \
    "$S" info --backing-chain onchr.qcow2
"$S" create -q -f qcow2 -b good.qcow2 -F qcow2 l1.qcow2
"$S" create -q -f qcow2 -b l1.qcow2 -F qcow2 l2.qcow2
"$S" rebase -u -b l2.qcow2 -F qcow2 good.qcow2
expect_error "a backing chain that loops is refused, naming the loop" "backing chain loops: 'good.qcow2' names 'l2.qcow2'" \
    "$S" info --backing-chain l2.qcow2
"$S" rebase -u -b l1.qcow2 -F qcow2 l1.qcow2
expect_error "an image that is its own backing file too" "backing chain loops" "$BLKIO" l1.qcow2 read 0 0 512
"$S" rebase -u -b "" good.qcow2

cp good.qcow2 feat.qcow2
wr 64 feat.qcow2 72 $((1 << 2))
expect_error "an unknown incompatible feature is refused by its name" \
    "'feat.qcow2': unknown incompatible feature 'external data file' (bit 2): this image needs a newer skiff" "$S" info feat.qcow2
wr 64 feat.qcow2 72 $((1 << 40))
expect_error "an unnamed one by its bit" "unknown incompatible feature 'unnamed' (bit 40)" "$S" info feat.qcow2
cp good.qcow2 v4.qcow2
wr 32 v4.qcow2 4 4
expect_error "qcow2 version 4 is refused" "version 4 is not supported" "$S" info v4.qcow2
cp good.qcow2 huge.qcow2
wr 64 huge.qcow2 24 $((1 << 62))
expect_error "a huge virtual size is refused" "'huge.qcow2': virtual size .* is too large" "$S" info huge.qcow2
cp good.qcow2 l1big.qcow2
wr 32 l1big.qcow2 36 $((0x7fffffff))
expect_error "a huge L1 table is refused before anything is allocated" "'l1big.qcow2': L1 table size" "$S" info l1big.qcow2
cp good.qcow2 crypt.qcow2
wr 32 crypt.qcow2 32 1
expect_error "an encrypted image is refused" "encrypted qcow2 images are not supported" "$S" info crypt.qcow2
cp good.qcow2 zstd.qcow2
wr 64 zstd.qcow2 72 $((1 << 3))
printf '\x01' | dd of=zstd.qcow2 bs=1 seek=104 conv=notrunc status=none
expect_error "zstd compression is refused" "compression type 1 (zstd) is not supported" "$S" info zstd.qcow2

# an L2 entry past the end of the file: a guest request fails with EIO, the image is marked corrupt
cp good.qcow2 l2.qcow2
L1=$((16#$(od -An -t x8 --endian=big -j 40 -N 8 l2.qcow2 | tr -d ' ')))
L2=$((16#$(od -An -t x8 --endian=big -j "$L1" -N 8 l2.qcow2 | tr -d ' ') & 0x00fffffffffffe00))
wr 64 l2.qcow2 "$L2" $((0x40000000 | (1 << 63)))
expect_error "a read through an L2 entry past the end of the file fails, naming the problem" \
    "'l2.qcow2': image is corrupt: the L2 entry for guest offset 0x0 points to 0x40000000, past the end of the file" \
    "$BLKIO" l2.qcow2 read 1 0 4k
check "the rest of the disk still reads" "$BLKIO" -r l2.qcow2 read 1 64k 64k
expect_error "writing to a corrupt image is refused, saying how to repair it" "check -r all" "$BLKIO" l2.qcow2 write 1 0 1
expect_error "a write to a read-only image fails" "Read-only file system" "$BLKIO" -r good.qcow2 write 1 0 512

# A crafted snapshot table (issue #11, 10): an entry's l1_offset + 8 * l1_size that wraps past
# 2^64 is out of range like any other.
"$S" create -q -f qcow2 snap.qcow2 8M
"$BLKIO" snap.qcow2 write 5 0 64k
"$S" snapshot -c s1 snap.qcow2
SO=$((16#$(od -An -t x8 --endian=big -j 64 -N 8 snap.qcow2 | tr -d ' ')))   # the table; its first entry
cp snap.qcow2 wrap.qcow2
wr 64 wrap.qcow2 "$SO" $((0xffffffffffff0000))      # l1_offset: 64 KiB below 2^64
wr 32 wrap.qcow2 $((SO + 8)) $((0x4000))             # 128 KiB of L1: the end wraps to 64 KiB
expect_error "a snapshot L1 table whose end wraps past 2^64 is out of range" \
    "'wrap.qcow2': the snapshot table is damaged" "$S" info wrap.qcow2
expect_error "and snapshot -a does not get to it" "'wrap.qcow2': the snapshot table is damaged" "$S" snapshot -a s1 wrap.qcow2

# snapshot -a bounds the disk size a snapshot records (issue #11, 10): one no qcow2 image can
# have is refused (qemu-img refuses it too: "File too large"), leaving the image as it was; a
# large one that fits gets an L1 table that covers it, as qemu-img does.
cp snap.qcow2 dsize.qcow2
wr 64 dsize.qcow2 $((SO + 48)) $((1 << 60))          # the extra data's disk_size
expect_error "snapshot -a refuses a recorded disk size no qcow2 image can have" \
    "'dsize.qcow2': snapshot 's1' records a disk size of 1152921504606846976 bytes, which is out of range: the snapshot table is damaged" \
    "$S" snapshot -a s1 dsize.qcow2
check "the image keeps its size and opens" bash -c "'$S' info dsize.qcow2 | grep -q '^virtual size: 8 MiB (8388608 bytes)'"
check "and still checks clean" "$S" check -q dsize.qcow2
cp snap.qcow2 dbig.qcow2
wr 64 dbig.qcow2 $((SO + 48)) $((1 << 40))
check "snapshot -a of a snapshot that records 1 TiB succeeds" "$S" snapshot -a s1 dbig.qcow2
check "the image is 1 TiB then, with an L1 table that covers it (check is clean)" \
    bash -c "'$S' info dbig.qcow2 | grep -q '^virtual size: 1 TiB' && '$S' check -q dbig.qcow2"
check "and the snapshot's data reads back" "$BLKIO" -r dbig.qcow2 read 5 0 64k
if need_pkg qemu-utils; then
    check "qemu-img check agrees on both" bash -c "qemu-img check -q dsize.qcow2 && qemu-img check -q dbig.qcow2"
else
    skip "needs the Debian package $MISSING_PKGS" "qemu-img check agrees on both"
fi

expect_error "an unknown format is refused" "unknown format 'vdi'" "$S" info -f vdi good.qcow2
expect_error "create refuses a size qcow2 cannot hold" "too large" "$S" create -q -f qcow2 -o cluster_size=512 big.qcow2 1P
expect_error "create refuses an odd cluster size" "cluster size must be a power of two" \
    "$S" create -q -f qcow2 -o cluster_size=3000 odd.qcow2 1M
expect_error "an unknown -o option is named" "Invalid parameter 'colour'" "$S" create -q -f qcow2 -o colour=red x.qcow2 1M
expect_error "resize refuses to shrink without --shrink" "Use the --shrink option" "$S" resize good.qcow2 -- -1M
expect_error "qcow2 cannot shrink" "can only grow" "$S" resize --shrink good.qcow2 8M
expect_error "snapshot -a of a missing snapshot names it" "no snapshot 'nope'" "$S" snapshot -a nope good.qcow2
expect_error "an unknown subcommand is named" "Command not found: frobnicate" "$S" frobnicate
check "raw images are never probed into qcow2 by their content" bash -c "
    cp good.qcow2 guest.raw && '$S' info -f raw guest.raw | grep -q 'file format: raw'"
# a raw image whose format was guessed: QEMU's warning when it is opened for writing, none when read
truncate -s 1M guessed.raw
"$S" resize guessed.raw 2M >out.txt 2>err.txt
check "a guessed raw format opened for writing gets QEMU's warning, naming the image" \
    grep -q "skiff-img: warning: Image format was not specified for 'guessed.raw' and probing guessed raw.*Specify the 'raw' format explicitly to remove the restrictions" err.txt
"$S" resize -f raw guessed.raw 3M >out.txt 2>err.txt
"$S" info guessed.raw >out.txt 2>>err.txt
check "format=raw, or a read-only open, gets none" test ! -s err.txt
done_testing
