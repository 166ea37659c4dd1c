#!/bin/bash
# t-qcow2-interop.sh: skiff-img and qemu-img/qemu-io read each other's qcow2 images, and print the same reports
# budget: 240 (about 40 s)
. "$(dirname "$0")/../lib/common.sh"

BLKIO="${BLKIO:-$SRCDIR/build/tests/block/blk-io}"
S="$SKIFF_IMG"
cd "$TMP" || exit 1

if ! need_pkg qemu-utils; then
    skip "needs the Debian package $MISSING_PKGS (run as root to install it)" "qemu-img interop"
    done_testing
fi
if [ ! -x "$BLKIO" ]; then
    not_ok "the block test driver $BLKIO is built (run make)"
    done_testing
fi

same_file() { [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]; }

# --- images qemu-io writes, read by skiff-img ---
for v in 0.10 1.1; do
    for cs in 512 65536 2M; do
        t="compat=$v cluster_size=$cs"
        rm -f q.qcow2 q2.qcow2 ref.raw s.raw
        qemu-img create -q -f qcow2 -o compat=$v,cluster_size=$cs q.qcow2 8M
        qemu-io -c 'write -P 0x11 0 1M' -c 'write -c -P 0x22 2M 1M' -c 'write -z 512k 256k' \
            -c 'discard 0 64k' -c 'write -P 0x33 3000000 100000' q.qcow2 >/dev/null
        qemu-img snapshot -c snap q.qcow2
        qemu-io -c 'write -P 0x44 0 128k' q.qcow2 >/dev/null
        qemu-img create -q -f qcow2 -o compat=$v -b q.qcow2 -F qcow2 q2.qcow2
        qemu-io -c 'write -P 0x55 1M 512k' -c 'write -z 2M 64k' q2.qcow2 >/dev/null
        qemu-img convert -O raw q2.qcow2 ref.raw
        check "$t: a qemu-made chain (compressed, zero, snapshot, backing) compares identical to qemu's raw" \
            "$S" compare -q q2.qcow2 ref.raw
        "$S" convert -O raw q2.qcow2 s.raw
        check "$t: skiff-img convert gives the same checksum as qemu-img convert" same_file ref.raw s.raw
        check "$t: skiff-img check finds a qemu-made image clean" "$S" check -q q.qcow2
        check "$t: skiff-img check prints what qemu-img check prints" \
            diff <("$S" check q.qcow2 2>&1) <(qemu-img check q.qcow2 2>&1)
        check "$t: skiff-img info prints what qemu-img info prints (but disk usage)" \
            diff <("$S" info q2.qcow2 | grep -v '^disk size') <(qemu-img info q2.qcow2 | grep -v '^disk size')
        check "$t: skiff-img map --output=json prints what qemu-img prints" \
            diff <("$S" map --output=json q2.qcow2) <(qemu-img map --output=json q2.qcow2)
        check "$t: skiff-img map prints what qemu-img prints" \
    diff <("$S" map q2.qcow2 2>&1 | sed s/^skiff-img:/qemu-img:/; echo "rc=${PIPESTATUS[0]}") <(qemu-img map q2.qcow2 2>&1; echo "rc=$?")
        check "$t: skiff-img snapshot -l prints what qemu-img prints" \
            diff <("$S" snapshot -l q.qcow2) <(qemu-img snapshot -l q.qcow2)
        # reverting to the snapshot qemu made
        qemu-img convert -O raw -l snapshot.name=snap q.qcow2 snap.raw
        "$S" snapshot -a snap q.qcow2
        check "$t: skiff-img snapshot -a restores what qemu saw in the snapshot" qemu-img compare -q q.qcow2 snap.raw
        check "$t: and the image passes qemu-img check" qemu-img check -q q.qcow2
    done
done

# --- images skiff writes, judged by qemu-img ---
for spec in "0.10 65536 16" "1.1 512 16" "1.1 4096 1" "1.1 4096 8" "1.1 65536 64" "1.1 2M 32" "1.1 65536 2"; do
    set -- $spec
    t="compat=$1 cluster_size=$2 refcount_bits=$3"
    rm -f w.qcow2 m.raw
    "$S" create -q -f qcow2 -o compat=$1,cluster_size=$2,refcount_bits=$3 w.qcow2 48M
    check "$t: a random workload (writes, zeroes, discards, flushes) reads back right" \
        "$BLKIO" w.qcow2 workload 11 1500 m.raw
    check "$t: qemu-img check passes" qemu-img check -q w.qcow2
    check "$t: qemu-img compare finds the expected content" qemu-img compare -q -f qcow2 -F raw w.qcow2 m.raw
done

# snapshots, backing files and compression, all skiff-made
rm -f base.qcow2 top.qcow2 m*.raw c.qcow2
mkdir -p sub
"$S" create -q -f qcow2 sub/base.qcow2 32M
"$BLKIO" sub/base.qcow2 workload 21 400 mb.raw
"$S" snapshot -c first sub/base.qcow2
cp mb.raw mfirst.raw
"$BLKIO" sub/base.qcow2 workload 22 300 mb.raw
"$S" snapshot -c second sub/base.qcow2
"$BLKIO" sub/base.qcow2 workload 23 300 mb.raw
check "skiff snapshots: qemu-img check passes with two snapshots" qemu-img check -q sub/base.qcow2
check "skiff snapshots: qemu-img lists them as skiff-img does" \
    diff <("$S" snapshot -l sub/base.qcow2) <(qemu-img snapshot -l sub/base.qcow2)
qemu-img convert -O raw -l snapshot.name=first sub/base.qcow2 first.raw
check "skiff snapshots: qemu-img reads the first snapshot's content" same_file first.raw mfirst.raw
"$S" snapshot -d second sub/base.qcow2
check "skiff snapshots: after deleting one, qemu-img check passes" qemu-img check -q sub/base.qcow2
check "skiff snapshots: the active content is untouched by the delete" qemu-img compare -q sub/base.qcow2 mb.raw
"$S" create -q -f qcow2 -b sub/base.qcow2 -F qcow2 top.qcow2
cp mb.raw mt.raw
"$BLKIO" top.qcow2 workload 24 500 mt.raw
check "skiff overlay: qemu-img check passes" qemu-img check -q top.qcow2
check "skiff overlay: qemu-img compare sees base plus overlay writes" qemu-img compare -q top.qcow2 mt.raw
check "skiff overlay: the base is unchanged" qemu-img compare -q sub/base.qcow2 mb.raw
"$S" create -q -f qcow2 -o cluster_size=512 -b sub/base.qcow2 -F qcow2 small.qcow2
"$BLKIO" small.qcow2 write 9 1000 5000
check "an overlay with 512-byte clusters (no room for the feature table) passes qemu-img check" qemu-img check -q small.qcow2
cp mb.raw ms.raw
head -c 5000 /dev/zero | tr '\0' '\011' | dd of=ms.raw bs=1 seek=1000 conv=notrunc status=none
check "and qemu-img sees the write over the backing file's content" qemu-img compare -q small.qcow2 ms.raw
"$S" convert -c -O qcow2 top.qcow2 c.qcow2
check "convert -c: qemu-img check passes" qemu-img check -q c.qcow2
check "convert -c: qemu-img compare finds the content" qemu-img compare -q c.qcow2 mt.raw
check "convert -c: the image is compressed (qemu-img check counts compressed clusters)" \
    bash -c "qemu-img check c.qcow2 | grep -q ' [1-9][0-9.]*% compressed'"
cp mt.raw mc.raw
"$BLKIO" c.qcow2 workload 25 300 mc.raw
check "writes over compressed clusters: qemu-img check passes" qemu-img check -q c.qcow2
check "writes over compressed clusters: content right" qemu-img compare -q c.qcow2 mc.raw
"$S" convert -O qcow2 -B sub/base.qcow2 -F qcow2 mt.raw diff.qcow2
check "convert -B: the new overlay holds only the difference (qemu-img compare)" qemu-img compare -q diff.qcow2 mt.raw
check "convert -B: qemu-img check passes" qemu-img check -q diff.qcow2

# qemu reads skiff-made raw too, and skiff's convert to raw
"$S" convert -O raw top.qcow2 t.raw
check "convert -O raw: byte-identical to the expected content" same_file t.raw mt.raw

# rebase, commit, resize
"$S" rebase -b "" top.qcow2
check "rebase -b '': the image stands alone with the same content" qemu-img compare -q top.qcow2 mt.raw
check "rebase -b '': qemu-img sees no backing file" bash -c "! qemu-img info top.qcow2 | grep -q '^backing file'"
"$S" create -q -f qcow2 other.qcow2 32M
"$BLKIO" other.qcow2 workload 26 200 mo.raw
"$S" rebase -b other.qcow2 -F qcow2 top.qcow2
check "rebase onto another image keeps the content" qemu-img compare -q top.qcow2 mt.raw
check "rebase: qemu-img check passes" qemu-img check -q top.qcow2
"$S" rebase -u -b sub/base.qcow2 -F qcow2 diff.qcow2
check "rebase -u: only the name changes" bash -c "qemu-img info diff.qcow2 | grep -q '^backing file: sub/base.qcow2'"
"$S" commit -q top.qcow2
check "commit: the base now holds the overlay's content" qemu-img compare -q other.qcow2 mt.raw
check "commit: the emptied overlay still reads the same" qemu-img compare -q top.qcow2 mt.raw
check "commit: qemu-img check passes on base and overlay" bash -c "qemu-img check -q other.qcow2 && qemu-img check -q top.qcow2"
"$S" resize -q top.qcow2 +16M
truncate -s +16M mt.raw
check "resize +16M: qemu-img sees the new size" bash -c "qemu-img info --output=json top.qcow2 | grep -q '\"virtual-size\": 50331648'"
check "resize: content kept and the new space reads as zeros" qemu-img compare -q top.qcow2 mt.raw
"$BLKIO" top.qcow2 workload 27 300 mt.raw
check "resize: writes past the old end land right" qemu-img compare -q top.qcow2 mt.raw
check "resize: qemu-img check passes" qemu-img check -q top.qcow2
# 512-byte clusters: 1 GiB needs a 256 KiB L1 table, 512 clusters in a row, more than one
# refcount block counts; new refcount blocks must not cut the run (and snapshot -a, taking a
# snapshot, or a repair's tables make runs like that too)
"$S" create -q -f qcow2 -o cluster_size=512 small512.qcow2 64K
"$BLKIO" small512.qcow2 write 3 0 8k
"$S" resize -q small512.qcow2 1G 2>err.txt
check "resize of a 512-byte-cluster image to 1 GiB works" bash -c "[ ! -s err.txt ] && qemu-img info small512.qcow2 | grep -q '^virtual size: 1 GiB'"
check "and qemu-img check passes, the data reads back" bash -c "qemu-img check -q small512.qcow2 &&
    qemu-io -r -c 'read -P 3 0 8k' -c 'read -P 0 8k 1016k' small512.qcow2 >/dev/null"
"$S" snapshot -c s1 small512.qcow2 2>err.txt
check "a snapshot of it (its 256 KiB L1 table copied) is taken and qemu-img check passes" \
    bash -c "[ ! -s err.txt ] && qemu-img check -q small512.qcow2 && qemu-img snapshot -l small512.qcow2 | grep -q ' s1 '"
# the largest image 512-byte clusters allow, 128 GiB (an L1 table of exactly 32 MiB), as qemu-img
# has it: skiff-img creates, opens and resizes to it, and refuses a sector more as qemu-img does
rm -f small512.qcow2
qemu-img create -q -f qcow2 -o cluster_size=512 q128.qcow2 128G
check "skiff-img opens qemu-img's 128 GiB image with 512-byte clusters" \
    bash -c "'$S' info q128.qcow2 | grep -q '^virtual size: 128 GiB'"
rm -f q128.qcow2
"$S" create -q -f qcow2 -o cluster_size=512 s128.qcow2 128G
check "skiff-img creates one, which qemu-img check passes" qemu-img check -q s128.qcow2
rm -f s128.qcow2
check "a sector more is refused, as qemu-img refuses it" bash -c "
    ! '$S' create -q -f qcow2 -o cluster_size=512 s129.qcow2 $((128 * 1024 * 1024 * 1024 + 512)) 2>/dev/null &&
    ! qemu-img create -q -f qcow2 -o cluster_size=512 q129.qcow2 $((128 * 1024 * 1024 * 1024 + 512)) 2>/dev/null"
"$S" create -q -f qcow2 -o cluster_size=512 r128.qcow2 64K
"$S" resize -q r128.qcow2 128G
check "resize to 128 GiB leaves an image skiff-img opens and qemu-img check passes" \
    bash -c "'$S' info r128.qcow2 | grep -q '^virtual size: 128 GiB' && qemu-img check -q r128.qcow2"
rm -f r128.qcow2 s129.qcow2 q129.qcow2

# JSON the way qemu-img prints it
check "info --output=json matches qemu-img (but actual-size)" \
    diff <("$S" info --output=json c.qcow2 | grep -v actual-size) <(qemu-img info --output=json c.qcow2 | grep -v actual-size)
check "info --backing-chain --output=json matches qemu-img (but actual-size)" \
    diff <("$S" info --backing-chain --output=json top.qcow2 | grep -v actual-size) \
         <(qemu-img info --backing-chain --output=json top.qcow2 | grep -v actual-size)
qemu-img create -q -f raw plain.raw 10M
check "info of a raw image matches qemu-img's (human and JSON, but disk usage)" bash -c "
    diff <('$S' info -f raw plain.raw | grep -v '^disk size') <(qemu-img info -f raw plain.raw | grep -v '^disk size') &&
    diff <('$S' info -f raw --output=json plain.raw | grep -v actual-size) \
         <(qemu-img info -f raw --output=json plain.raw | grep -v actual-size)"
check "map of a raw image matches qemu-img's" diff <("$S" map -f raw --output=json plain.raw) <(qemu-img map -f raw --output=json plain.raw)
check "check --output=json matches qemu-img" diff <("$S" check --output=json c.qcow2) <(qemu-img check --output=json c.qcow2)
check "compare on different images reports the offset as qemu-img does" \
    diff <("$S" compare top.qcow2 mo.raw; echo "rc=$?") <(qemu-img compare top.qcow2 mo.raw; echo "rc=$?")
done_testing
