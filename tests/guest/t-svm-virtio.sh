#!/bin/bash
# tests/guest/t-svm-virtio.sh: Debian's kernel on skiff's virtio devices (svm lane), with its own
# modules: virtio_pci, virtio_blk (an ext2 file system that L1 reads back with debugfs, two
# queues served by an I/O thread, a qcow2 image that qemu-img checks, discards that give the
# image's space back, a read-only drive, cache=none,aio=native, a modern-only disk on INTx),
# virtio_rng (/dev/hwrng reads the host's file) and virtio_balloon (the monitor's balloon: the
# guest's memory and skiff's RSS drop, and it comes back), then a system_reset in the middle of
# writes to four disks and a second boot that finds them whole. Then SeaBIOS boots GRUB from a
# virtio disk through extboot (boot=on), and GRUB boots Linux from it, which finds the disk with
# virtio_blk.
# Two scenarios, three L2 boots: main (-kernel, booted twice) and grub (firmware). L1's time:
# main 49-89 s, grub 28-34 s on a quiet machine; 155-210 s and 60-70 s with other L1s on the 2 cores.
# budget: 180 (its two phases, about 15 s; its scenarios are the shared L1's: tests/guest/lane.sh)
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"
. "$SRCDIR/tests/guest/disks.sh"

PLAN=59
disks_suite_needs $PLAN
if [ "$KIT_PHASE" != check ] && ! need_pkg e2fsprogs qemu-utils; then
    for _ in $(seq 1 $PLAN); do skip "missing Debian packages: $MISSING_PKGS" "virtio guests"; done
    done_testing
fi

# the guests and the scenarios (once, in the register phase when L1 is shared: kit.sh)
if kit_registering; then
    # one guest for both scenarios; kit.t= on its command line says which part it runs
    cat >"$TMP/guest.sh" <<'EOF'
t=$(sed -n 's/.*kit\.t=\([a-z]*\).*/\1/p' /proc/cmdline)
arg() { sed -n "s/.*kit\.$1=\([0-9]*\).*/\1/p" /proc/cmdline; }
sha() { sha256sum | cut -d' ' -f1; }
wait_blk() {
    i=0
    for b in "$@"; do while [ ! -b /dev/$b ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; done
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# irqs NAME: the interrupts of the /proc/interrupts lines that name NAME (MSI-X: NAME-config,
# NAME-req.0, ...), summed over the CPUs
irqs() {
    awk -v n="$1" 'NR == 1 { ncpu = NF; next }
        { mine = 0; for (i = ncpu + 2; i <= NF; i++) { f = $i; sub(/,$/, "", f); if (f == n || index(f, n "-") == 1) mine = 1 } }
        mine { for (i = 2; i <= ncpu + 1; i++) s += $i } END { print s + 0 }' /proc/interrupts
}
# one line per virtio device: its driver, its disk, its PCI IDs, virtio 1.x (VERSION_1, bit 32
# of what was negotiated) or legacy, the MSI-X vectors it has and the interrupts it took
devs() {
    for v in /sys/bus/virtio/devices/virtio*; do
        n=${v##*/}
        p=$(readlink -f "$v/..")
        echo "l2: $n driver=$(basename "$(readlink "$v/driver")") disk=$(ls "$v/block" 2>/dev/null || echo none)" \
            "pci=$(cat "$p/vendor"):$(cat "$p/device") v1=$(cut -c33 "$v/features") msix=$(ls "$p/msi_irqs" 2>/dev/null | wc -l) irqs=$(irqs $n)"
    done
}
blkinfo() {
    for b in "$@"; do
        echo "l2: $b sectors=$(cat /sys/block/$b/size) serial=$(cat /sys/block/$b/serial 2>/dev/null)" \
            "queues=$(ls /sys/block/$b/mq | wc -l) ro=$(cat /sys/block/$b/ro) discard_max=$(cat /sys/block/$b/queue/discard_max_bytes)"
    done
}
# rawrw DISK MIB [AT [LABEL]]: write MIB MiB of random bytes at AT MiB (1) into DISK, read them
# back from the disk
rawrw() {
    dd if=/dev/urandom of=/tmp/raw bs=1M count=$2 2>/dev/null
    dd if=/tmp/raw of=/dev/$1 bs=1M seek=${3:-1} conv=fsync 2>/dev/null && drop
    echo "l2: ${4:-$1 raw} wrote=$(sha </tmp/raw) read=$(dd if=/dev/$1 bs=1M skip=${3:-1} count=$2 2>/dev/null | sha)"
    rm -f /tmp/raw
}
# stamp NAME: the guest's uptime at a step (where a scenario's time goes)
stamp() { echo "l2: uptime $1=$(cut -d' ' -f1 /proc/uptime)"; }
memtotal() { sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo; }
echo "l2: cmdline=$(cat /proc/cmdline)"
stamp init
mkdir -p /mnt
# the boot after the monitor's system_reset in main: vdd has the mark main left there
if [ "$t" = main ]; then
    wait_blk vda vdb vdc vdd vde
    [ "$(head -c 10 /dev/vdd)" = kit-boot-1 ] && t=after
    stamp disks
fi

case $t in
after)
    # the boot after the monitor's system_reset in the middle of writes (below): the disks
    # are all there, what was synced before is intact, and each disk writes and reads again
    echo "l2: boot 2, after the reset: block devices: $(ls /sys/block | tr '\n' ' ')"
    mount -t ext2 /dev/vda /mnt && echo "l2: after the reset a.bin sha=$(sha </mnt/a.bin) b.bin sha=$(sha </mnt/b.bin)"
    dd if=/dev/urandom of=/tmp/n bs=1M count=1 2>/dev/null
    cp /tmp/n /mnt/after.bin
    umount /mnt && drop && mount -t ext2 /dev/vda /mnt
    echo "l2: vda after the reset wrote=$(sha </tmp/n) read=$(sha </mnt/after.bin)"
    umount /mnt
    rawrw vdc 1 15 "vdc after the reset"
    rawrw vdd 1 1 "vdd after the reset"
    rawrw vde 1 24 "vde after the reset"
    devs
    stamp boot2
    ;;
main)
    echo "l2: block devices: $(ls /sys/block | tr '\n' ' ')"
    blkinfo vda vdb vdc vdd vde
    # vda: ext2 (busybox mke2fs; the kernel's ext4 driver mounts it), files written from both
    # vCPUs at once (blk-mq gives each its own queue), read back after a remount
    stamp mkfs
    mke2fs -L kitfs /dev/vda >/tmp/mkfs.log 2>&1 && echo "l2: mkfs done"
    mount -t ext2 /dev/vda /mnt && echo "l2: mounted ext2"
    dd if=/dev/urandom of=/tmp/a bs=1M count=4 2>/dev/null
    dd if=/dev/urandom of=/tmp/b bs=1M count=4 2>/dev/null
    echo "l2: a.bin sha=$(sha </tmp/a) b.bin sha=$(sha </tmp/b)"
    taskset 1 dd if=/tmp/a of=/mnt/a.bin bs=64k conv=fsync 2>/dev/null &
    taskset 2 dd if=/tmp/b of=/mnt/b.bin bs=64k conv=fsync 2>/dev/null &
    wait
    mkdir /mnt/dir
    i=1
    while [ $i -le 200 ]; do echo "small file $i" >/mnt/dir/f$i; i=$((i + 1)); done
    # written and deleted: fstrim gives its blocks back
    dd if=/dev/zero of=/mnt/gone.bin bs=1M count=8 conv=fsync 2>/dev/null
    rm /mnt/gone.bin
    umount /mnt && drop && mount -t ext2 /dev/vda /mnt
    echo "l2: read back a.bin sha=$(sha </mnt/a.bin) b.bin sha=$(sha </mnt/b.bin) files=$(ls /mnt/dir | wc -l) f137=$(cat /mnt/dir/f137 | tr ' ' _)"
    echo "l2: fstrim: $(fstrim -v /mnt 2>&1)"
    umount /mnt && echo "l2: unmounted"
    stamp readonly
    # vdb, read-only: it reads, and a write is refused
    echo "l2: vdb sha=$(sha </dev/vdb)"
    if dd if=/dev/zero of=/dev/vdb bs=4k count=1 conv=fsync 2>/tmp/ro.err; then
        echo "l2: vdb write accepted"
    else
        echo "l2: vdb write refused: $(head -n 1 /tmp/ro.err)"
    fi
    drop
    echo "l2: vdb after the write sha=$(sha </dev/vdb)"
    stamp direct
    # vdc, cache=none,aio=native (over a RAM disk of L1's)
    rawrw vdc 8
    # vdd, modern only on INTx, in the I/O thread
    rawrw vdd 2
    stamp qcow2
    # vde (qcow2): 8 MiB at 4 MiB, the 2 MiB at 6 MiB discarded, the rest read back
    dd if=/dev/urandom of=/tmp/q bs=1M count=8 2>/dev/null
    dd if=/tmp/q of=/dev/vde bs=1M seek=4 conv=fsync 2>/dev/null
    blkdiscard -o $((6 * 1048576)) -l $((2 * 1048576)) /dev/vde && echo "l2: vde blkdiscard done"
    drop
    echo "l2: vde kept1 wrote=$(dd if=/tmp/q bs=1M count=2 2>/dev/null | sha) read=$(dd if=/dev/vde bs=1M skip=4 count=2 2>/dev/null | sha)"
    echo "l2: vde kept2 wrote=$(dd if=/tmp/q bs=1M skip=4 count=4 2>/dev/null | sha) read=$(dd if=/dev/vde bs=1M skip=8 count=4 2>/dev/null | sha)"
    rm -f /tmp/a /tmp/b /tmp/q
    stamp rng
    # virtio-rng: the host feeds it a file of numbered 16-byte records (khwrngd takes its share
    # too, so they need not come in order here)
    echo "l2: hwrng current=$(cat /sys/class/misc/hw_random/rng_current) available=$(cat /sys/class/misc/hw_random/rng_available)"
    head -c 65536 /dev/hwrng >/tmp/rng
    echo "l2: hwrng first records: $(head -n 4 /tmp/rng | tr '\n' ' ')"
    echo "l2: hwrng bytes=$(wc -c </tmp/rng) records=$(grep -c '^skiff-rng [0-9][0-9][0-9][0-9][0-9]$' /tmp/rng)"
    rm -f /tmp/rng
    devs
    grep 'virtio' /proc/interrupts | awk '{ s = 0; for (i = 2; i < NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print "l2: irq " $NF "=" s }'
    # the balloon: the monitor's balloon takes RAM away and gives it back; L1 notes skiff's RSS
    # at each step. The kernel zeroes each page it allocates (init_on_alloc, Debian's default),
    # the balloon's included: skiff's RSS grows by what the balloon holds unless skiff gives
    # those pages back to the host
    before=$(memtotal)
    echo "l2: $(dmesg | sed -n 's/^\[[ 0-9.]*\] mem auto-init: /mem auto-init: /p' | tr ' ' _)"
    echo "l2: balloon ready, MemTotal before=$before kB"
    ram=$(arg ram) keep=$(arg keep)
    # the balloon holds (RAM - keep) MiB: MemTotal drops by that much
    want=$((before - (ram - keep) * 1024))
    i=0
    while [ "$(memtotal)" -gt $want ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
    sleep 1
    # (a line of its own: the monitor's prompt may wait at the end of the last one)
    echo
    echo "l2: inflated MemTotal=$(memtotal) kB"
    stamp inflated
    i=0
    while [ "$(memtotal)" -lt $before ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
    sleep 1
    echo
    echo "l2: deflated MemTotal=$(memtotal) kB"
    stamp deflated
    # until the monitor has shown the balloon back at full size (the feeder types a line)
    read -t 120 line
    # writes to four disks (the I/O thread's queues, INTx in the I/O thread, libaio, qcow2 in the
    # main loop) until the monitor's system_reset; the next boot finds the mark on vdd
    printf kit-boot-1 | dd of=/dev/vdd conv=fsync 2>/dev/null
    mount -t ext2 /dev/vda /mnt && mkdir -p /mnt/loop
    i=0
    while :; do
        dd if=/dev/zero of=/mnt/loop/f$((i % 8)) bs=64k count=4 conv=fsync 2>/dev/null
        dd if=/dev/zero of=/dev/vdd bs=64k count=4 seek=$((16 + i % 32)) conv=fsync 2>/dev/null
        dd if=/dev/zero of=/dev/vdc bs=64k count=4 seek=$((160 + i % 64)) conv=fsync 2>/dev/null
        dd if=/dev/zero of=/dev/vde bs=64k count=4 seek=$((256 + i % 64)) conv=fsync 2>/dev/null
        i=$((i + 1))
        [ $i = 2 ] && echo "l2: write loop running"
    done
    ;;
grub)
    wait_blk vda vda1
    echo "l2: block devices: $(ls /sys/block | tr '\n' ' ')"
    blkinfo vda
    devs
    echo "l2: vda1 sha=$(sha </dev/vda1)"
    # 1 MiB past the partition, which L1 reads back from the image
    dd if=/dev/urandom of=/tmp/w bs=1M count=1 2>/dev/null
    dd if=/tmp/w of=/dev/vda bs=1M seek=22 conv=fsync 2>/dev/null && echo "l2: tail wrote=$(sha </tmp/w)"
    ;;
esac
EOF
    kit_initramfs "$TMP/initrd.gz" --script "$TMP/guest.sh" --module virtio_pci --module virtio_blk \
        --module virtio_rng --module virtio_balloon --module crc32c_generic --module ext4
    built=ok
    [ -s "$TMP/initrd.gz" ] || built=bad

    # L1's side of each scenario (/kit/f/virtio-run.sh MODE SKIFF-ARGS...): fresh images in
    # /tmp/vt (tmpfs: a discard punches holes there) and a RAM disk (brd, which takes O_DIRECT),
    # skiff, then what the guest left, judged with tools that are not skiff's (debugfs, qemu-img)
    cat >"$TMP/run.sh" <<'EOF'
#!/bin/sh
mode=$1
shift
W=/tmp/vt
rm -rf $W
mkdir -p $W
out=$(readlink /proc/$$/fd/1)
sha() { sha256sum | cut -d' ' -f1; }
dbg() { debugfs -R "$1" "$2" 2>/dev/null; }
# rss PID: a process's resident memory in kB (the guest's RAM, a shared memory file, included)
rss() { awk '$1 == "VmRSS:" { print $2 }' /proc/$1/status; }
sampler=""
case $mode in
main)
    # allocated through and through (zeros written, not a sparse file)
    dd if=/dev/zero of=$W/vda.img bs=1M count=64 2>/dev/null
    dd if=/dev/urandom of=$W/ro.img bs=1M count=8 2>/dev/null
    echo "l1: vdb ro.img sha=$(sha <$W/ro.img)"
    [ -b /dev/ram0 ] || insmod /kit/f/virtio-brd.ko rd_nr=1 rd_size=16384
    dd if=/dev/zero of=/dev/ram0 bs=1M count=16 2>/dev/null
    qemu-img create -q -f qcow2 $W/vde.qcow2 48M
    dd if=/dev/zero of=$W/vdd.img bs=1M count=4 2>/dev/null
    echo "l1: vda allocated before=$(du -k $W/vda.img | cut -f1) kB"
    ;;
grub)
    cp /kit/f/virtio-grub.img $W/grub.img
    ;;
esac
# skiff in the background with the feeder's stdin (an asynchronous command's would be /dev/null);
# it goes with this script, should the kit kill it (SIGKILL at its timeout, SIGTERM for "kill")
exec 3<&0
/bin/skiff "$@" <&3 3<&- &
pid=$!
exec 3<&-
trap 'kill $pid 2>/dev/null' TERM
( while kill -0 $$ 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 1; done; kill -9 $pid 2>/dev/null ) &
guard=$!
if [ $mode = main ]; then
    # skiff's RSS when the guest says its balloon is ready, when the balloon has inflated and when
    # it has deflated: the feeder waits for these lines before it works the monitor
    (
        # (the whole line: a line of ours must not split the guest's)
        for m in ready inflated deflated; do
            case $m in ready) pat="balloon ready, MemTotal before" ;; *) pat="$m MemTotal" ;; esac
            until grep -q "l2: $pat=[0-9]* kB" "$out"; do sleep 0.2; done
            # (one write, the newline first: a guest's partial line must not prefix ours)
            r=$(rss $pid)
            printf '\nl1: rss %s=%s kB\n' "$m" "$r"
        done
    ) &
    sampler=$!
fi
wait $pid
rc=$?
# (wait again: a TERM handled ends the first wait early)
kill -0 $pid 2>/dev/null && wait $pid && rc=$?
kill $guard $sampler 2>/dev/null
echo
case $mode in
main)
    echo "l1: vda allocated after=$(du -k $W/vda.img | cut -f1) kB"
    echo "l1: vda a.bin sha=$(dbg 'cat /a.bin' $W/vda.img | sha) b.bin sha=$(dbg 'cat /b.bin' $W/vda.img | sha)"
    echo "l1: vda after.bin sha=$(dbg 'cat /after.bin' $W/vda.img | sha)"
    echo "l1: vda dir files=$(dbg 'ls -p /dir' $W/vda.img | grep -c '/f[0-9]*/') f137=$(dbg 'cat /dir/f137' $W/vda.img | tr ' ' _)"
    echo "l1: vdb ro.img after sha=$(sha <$W/ro.img)"
    echo "l1: vdc ram0 sha=$(dd if=/dev/ram0 bs=1M skip=1 count=8 2>/dev/null | sha)"
    qemu-img check $W/vde.qcow2 >$W/check.txt 2>&1
    echo "l1: qemu-img check status=$? says: $(tr '\n' ' ' <$W/check.txt)"
    qemu-img convert -f qcow2 -O raw $W/vde.qcow2 $W/vde.raw
    echo "l1: vde kept1 sha=$(dd if=$W/vde.raw bs=1M skip=4 count=2 2>/dev/null | sha) kept2 sha=$(dd if=$W/vde.raw bs=1M skip=8 count=4 2>/dev/null | sha)"
    echo "l1: vde discarded nonzero bytes=$(dd if=$W/vde.raw bs=1M skip=6 count=2 2>/dev/null | tr -d '\000' | wc -c)"
    qemu-img map -f qcow2 $W/vde.qcow2 >$W/map.txt
    sed 's/^/l1: map: /' $W/map.txt
    # what the image maps below 16 MiB (the writes before the reset came after), and of the
    # discarded 2 MiB at 6 MiB
    total=0 gone=0
    while read -r off len rest; do
        case $off in 0x*) ;; *) continue ;; esac
        s=$((off)) e=$((off + len))
        [ $s -lt $((16 << 20)) ] || continue
        total=$((total + len))
        [ $s -lt $((6 << 20)) ] && s=$((6 << 20))
        [ $e -gt $((8 << 20)) ] && e=$((8 << 20))
        [ $e -gt $s ] && gone=$((gone + e - s))
    done <$W/map.txt
    echo "l1: vde mapped bytes=$total discarded range=$gone"
    ;;
grub)
    echo "l1: tail sha=$(dd if=$W/grub.img bs=1M skip=22 count=1 2>/dev/null | sha)"
    tr -d '\001\002\003\r' <$W/bios.log | sed 's/^/bios: /'
    ;;
esac
exit $rc
EOF
    chmod +x "$TMP/run.sh"

    # the rng's source: numbered 16-byte records, "skiff-rng 00000\n" on
    seq -f 'skiff-rng %05g' 0 99999 >"$TMP/rng.txt"
    BRD=$(find "$KIT_MODROOT" -name 'brd.ko*' | head -n 1)
    [ -n "$BRD" ] || built=bad

    # the GRUB disk, as t-svm-grub's: GRUB in the MBR and its gap, a FAT partition with a file
    # of known content, the kernel and this initrd; GRUB's modules from a memdisk with what
    # they depend on (GRUB's moddep.lst)
    grub_closure() {
        awk -v want="$*" '{ sub(/:$/, "", $1); m = $1; $1 = ""; deps[m] = $0 }
            function visit(x,   d, n, i) { if (x in seen) return; seen[x] = 1
                n = split(deps[x], d, " "); for (i = 1; i <= n; i++) visit(d[i]); print x }
            END { n = split(want, w, " "); for (i = 1; i <= n; i++) visit(w[i]) }' "$GRUB_PC/moddep.lst"
    }
    cat >"$TMP/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
insmod ls
insmod lspci
insmod hashsum
insmod gcry_sha256
insmod memrw
insmod regexp
insmod linux
echo "grub: up"
echo "grub: bios drives:"
ls
echo
echo "grub: read (hd0,msdos1)/data.bin"
sha256sum (hd0,msdos1)/data.bin
# the int 13h vector, and the 8 bytes at offset 8 of the segment it points into: extboot's ROM
# says "SKIFF EXTBOOT" there
read_dword -v vec 0x4c
regexp --set=1:seg '^(....)' "$vec"
read_dword -v sig0 0x${seg}8
read_dword -v sig1 0x${seg}c
echo "grub: int13 vector=$vec segment=$seg rom says $sig0 $sig1"
echo "grub: lspci:"
lspci
linux (hd0,msdos1)/vmlinuz console=ttyS0 quiet kit.t=grub
initrd (hd0,msdos1)/initrd.gz
echo "grub: kernel and initrd loaded"
boot
EOF
    head -c 196608 /dev/urandom >"$TMP/data.bin"
    DATA_SHA=$(sha_of "$TMP/data.bin")
    # partition 1: 1-21 MiB; the guest writes at 22 MiB
    disk_mbr "$TMP/grub.img" 24 1:20:06:boot &&
        disk_fat "$TMP/grub.img" 1 VIRTIOBOOT "$TMP/data.bin" "$KIT_KERNEL:vmlinuz" "$TMP/initrd.gz" &&
        disk_grub "$TMP/grub.img" "$TMP/grub.cfg" $(grub_closure pci linux memrw regexp) || built=bad
    P1_SHA=$(sha_of "$TMP/grub.img" $((1 * 1048576)) $((20 * 1048576)))
    kit_svm_reset
    kit_svm_firmware
    kit_svm_tool debugfs qemu-img || built=bad
    check "the guest, the GRUB virtio disk and L1's script build; debugfs and qemu-img go into L1" [ $built = ok ]

    kit_svm_file "$TMP/initrd.gz" virtio.cpio.gz
    kit_svm_file "$TMP/run.sh" virtio-run.sh
    kit_svm_file "$TMP/rng.txt" virtio-rng.txt
    kit_svm_file "$TMP/grub.img" virtio-grub.img
    kit_svm_file "$BRD" virtio-brd.ko
    svmv_add() { local n=$1; shift; case " ${SVMV_ONLY:-main grub} " in *" $n "*) kit_svm_add "$n" "$@";; esac; }

    # main: no IDE disk. vda raw over -device virtio-blk-pci (modern, MSI-X, two queues served by
    # an I/O thread, discard=unmap); vdb read-only with one queue; vdc cache=none,aio=native over
    # L1's RAM disk; vde a qcow2 image by -drive if=virtio; virtio-rng fed from a file; the
    # balloon worked from the monitor while L1 watches skiff's RSS
    RAM=320 KEEP=256
    cat >"$TMP/main.in" <<EOF
wait l1: rss ready=
keys \\001c
wait (skiff)
send info block
wait vde-qcow2
send balloon $KEEP
wait l1: rss inflated=
send info balloon
wait balloon: actual=
send balloon $RAM
wait l1: rss deflated=
send info balloon
waitn 2 balloon: actual=
keys \\001c
send balloon-done
wait l2: write loop running
sleep 2
keys \\001c
sleep 1
send system_reset
keys \\001c
waitn 2 $KIT_L2_MARKER
EOF
    svmv_add main --timeout 360 --input "$TMP/main.in" --bin /kit/f/virtio-run.sh -- main \
        -nographic -kernel /kit/bzImage -initrd /kit/f/virtio.cpio.gz -m $RAM -smp 2 \
        -append "console=ttyS0 quiet kit.t=main kit.ram=$RAM kit.keep=$KEEP" \
        -object iothread,id=io0 \
        -drive if=none,id=vda-raw,file=/tmp/vt/vda.img,format=raw,discard=unmap \
        -device virtio-blk-pci,drive=vda-raw,serial=SKIFF-VBLK-0001,num-queues=2,iothread=io0 \
        -drive if=none,id=vdb-ro,file=/tmp/vt/ro.img,format=raw,readonly=on \
        -device virtio-blk-pci,drive=vdb-ro,num-queues=1 \
        -drive if=none,id=vdc-direct,file=/dev/ram0,format=raw,cache=none,aio=native \
        -device virtio-blk-pci,drive=vdc-direct \
        -object rng-random,id=r0,filename=/kit/f/virtio-rng.txt -device virtio-rng-pci,rng=r0 \
        -device virtio-balloon-pci \
        -drive if=none,id=vdd-intx,file=/tmp/vt/vdd.img,format=raw \
        -device virtio-blk-pci,drive=vdd-intx,disable-legacy=on,vectors=0,iothread=io0 \
        -drive id=vde-qcow2,file=/tmp/vt/vde.qcow2,if=virtio,format=qcow2,discard=unmap

    # grub: SeaBIOS boots the virtio disk through extboot (boot=on), no IDE disk; GRUB reads it
    # through int 13h, then boots Linux from it; SeaBIOS's log on an isa-debugcon
    svmv_add grub --timeout 240 --quiet 60 --bin /kit/f/virtio-run.sh -- grub \
        -nographic -m 512 -drive file=/tmp/vt/grub.img,if=virtio,format=raw,boot=on \
        -chardev file,id=dbg,path=/tmp/vt/bios.log -device isa-debugcon,iobase=0x402,chardev=dbg
fi

kit_suite_run t-svm-virtio 600

# out SCENARIO: its console (a guest's line may follow the monitor's prompt)
out() { kit_section "$KIT_LOG" "$1" | sed 's/^(skiff) //'; }
# after SCENARIO PATTERN: the word after PATTERN (a sed expression) in its last line that has it
after() { out "$1" | sed -n "s/^$2\([^ ]*\).*/\1/p" | tail -n 1; }
# same A B: two values, not empty, equal; gt A B: A is a number above B
same() { [ -n "$1" ] && [ "$1" = "$2" ]; }
gt() { [ -n "$1" ] && [ "$1" -gt "$2" ] 2>/dev/null; }
# wr SCENARIO PREFIX: the guest's last "PREFIX wrote=X read=Y" has X = Y
wr() { same "$(after "$1" "$2 wrote=")" "$(after "$1" "$2 wrote=[^ ]* read=")"; }
# dev SCENARIO DISK: the guest's last line for the virtio device of that disk; field LINE KEY
dev() { out "$1" | grep "^l2: virtio[0-9]* driver=virtio_blk disk=$2 " | tail -n 1; }
field() { echo "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }
# clean SCENARIO: skiff printed no warning or error
clean() { ! out "$1" | grep -q '^skiff: \(warning\|error\)'; }
ends_well() { kit_has "$1" "reboot: Power down" && [ "$(kit_status "$KIT_LOG" "$1")" = 0 ]; }

S=main
check "main: virtio_blk finds the five disks and no other (no IDE disk): vda vdb vdc vdd vde" \
    kit_has $S "l2: block devices: vda vdb vdc vdd vde"
check "main: vda has the image's size (64 MiB), -device's serial= (/sys/block/vda/serial) and num-queues=2's two queues" \
    kit_has $S "l2: vda sectors=131072 serial=SKIFF-VBLK-0001 queues=2 ro=0 "
check "main: vdb (readonly=on, num-queues=1) is 8 MiB, read-only to the kernel, with one queue" \
    kit_has $S "l2: vdb sectors=16384 serial= queues=1 ro=1 "
check "main: vdc (cache=none,aio=native) is L1's 16 MiB RAM disk, two queues (as many as vCPUs by default)" \
    kit_has $S "l2: vdc sectors=32768 serial= queues=2 ro=0 "
check "main: vde, the qcow2 image of -drive if=virtio, has its virtual size (48 MiB)" kit_has $S "l2: vde sectors=98304 "
discards() { gt "$(after $S "l2: vda .* discard_max=")" 0 && gt "$(after $S "l2: vde .* discard_max=")" 0; }
check "main: vda and vde take discards (discard_max_bytes > 0)" discards
VDA=$(dev $S vda)
VN=$(echo "$VDA" | sed -n 's/^l2: \(virtio[0-9]*\) .*/\1/p')
modern_msix() { [ "$(field "$VDA" pci)" = 0x1af4:0x1001 ] && [ "$(field "$VDA" v1)" = 1 ] && [ "$(field "$VDA" msix)" = 3 ]; }
check "main: vda is transitional (1af4:1001), driven as virtio 1.x, with MSI-X: a vector for each queue and the config ($VDA)" \
    modern_msix
Q0=$(after $S "l2: irq $VN-req.0=") Q1=$(after $S "l2: irq $VN-req.1=")
queues() { gt "$Q0" 0 && gt "$Q1" 0; }
check "main: both of vda's queues interrupted (writers on both vCPUs, the I/O thread serving): req.0 ${Q0:-?}, req.1 ${Q1:-?}" queues
mkfs_ok() { kit_has $S "l2: mkfs done" && kit_has $S "l2: mounted ext2"; }
check "main: busybox mke2fs makes an ext2 file system on vda and the kernel mounts it" mkfs_ok
A_SHA=$(after $S "l2: a.bin sha=") B_SHA=$(after $S "l2: a.bin sha=[^ ]* b.bin sha=")
check "main: a file written from vCPU 0 reads back after a remount (page cache dropped), SHA-256 right" \
    same "$A_SHA" "$(after $S "l2: read back a.bin sha=")"
check "main: and one written from vCPU 1 at the same time" same "$B_SHA" "$(after $S "l2: read back a.bin sha=[^ ]* b.bin sha=")"
check "main: and 200 small files in a directory" kit_has $S "files=200 f137=small_file_137"
dbg_files() {
    same "$A_SHA" "$(after $S "l1: vda a.bin sha=")" && same "$B_SHA" "$(after $S "l1: vda a.bin sha=[^ ]* b.bin sha=")"
}
check "main: after skiff exits, debugfs (e2fsprogs) reads both files from the image, SHA-256 right" dbg_files
check "main: ... and the directory's 200 files" kit_has $S "l1: vda dir files=200 f137=small_file_137"
TRIMMED=$(out $S | sed -n 's/^l2: fstrim: .*: \([0-9]*\) bytes trimmed.*/\1/p' | tail -n 1)
check "main: fstrim trims the file system's free space, a deleted file's included (${TRIMMED:-?} bytes)" \
    gt "$TRIMMED" $((40 * 1048576))
BEFORE=$(after $S "l1: vda allocated before=") AFTER=$(after $S "l1: vda allocated after=")
given_back() { gt "$BEFORE" 65535 && gt 24576 "$AFTER"; }
check "main: with discard=unmap the image file gives that space back: ${BEFORE:-?} kB allocated before, ${AFTER:-?} after" \
    given_back
RO_SHA=$(after $S "l1: vdb ro.img sha=")
check "main: the guest reads the read-only drive's image as L1 wrote it (SHA-256)" same "$RO_SHA" "$(after $S "l2: vdb sha=")"
RO_ERR=$(out $S | sed -n 's/^l2: vdb write \(.*\)/\1/p' | tail -n 1)
check "main: a write to the read-only drive is refused (${RO_ERR:-?})" kit_has $S "l2: vdb write refused: "
ro_kept() { same "$RO_SHA" "$(after $S "l2: vdb after the write sha=")" && same "$RO_SHA" "$(after $S "l1: vdb ro.img after sha=")"; }
check "main: ... and the image is unchanged, in the guest and in L1 after skiff exits" ro_kept
check "main: vdc (cache=none,aio=native): the guest reads back 8 MiB it wrote" wr $S "l2: vdc raw"
check "main: ... and L1 finds them on its RAM disk after skiff exits, SHA-256 right" \
    same "$(after $S "l2: vdc raw wrote=")" "$(after $S "l1: vdc ram0 sha=")"
info_block() {
    out $S | grep -A2 '^vdc-direct:' | grep -q 'Cache mode: *writeback, direct' &&
        out $S | grep -q '^vdb-ro: .*(raw, read-only)'
}
check "main: info block shows vdc's cache mode 'writeback, direct' and vdb read-only" info_block
VDD=$(dev $S vdd)
modern_intx() {
    kit_has $S "l2: vdd sectors=8192 serial= queues=2 ro=0 " && [ "$(field "$VDD" pci)" = 0x1af4:0x1042 ] &&
        [ "$(field "$VDD" v1)" = 1 ] && [ "$(field "$VDD" msix)" = 0 ] && gt "$(field "$VDD" irqs)" 0
}
check "main: vdd (disable-legacy=on, vectors=0, iothread=) is modern only (1af4:1042), 4 MiB, and interrupts on INTx ($VDD)" \
    modern_intx
check "main: ... and reads back 2 MiB it wrote" wr $S "l2: vdd raw"
vde_rw() { wr $S "l2: vde kept1" && wr $S "l2: vde kept2"; }
check "main: vde (qcow2): the guest reads back what it wrote around 2 MiB it discarded" vde_rw
check "main: qemu-img check finds no error in the qcow2 image skiff wrote (through a reset in the middle of writes)" \
    kit_has $S "l1: qemu-img check status=0 says: No errors were found on the image."
qcow2_data() {
    same "$(after $S "l2: vde kept1 wrote=")" "$(after $S "l1: vde kept1 sha=")" &&
        same "$(after $S "l2: vde kept2 wrote=")" "$(after $S "l1: vde kept1 sha=[^ ]* kept2 sha=")"
}
check "main: qemu-img reads the guest's data from the qcow2 image, SHA-256 right" qcow2_data
MAPPED=$(after $S "l1: vde mapped bytes=") UNMAPPED=$(after $S "l1: vde mapped bytes=[0-9]* discarded range=")
unmapped() { [ "$(after $S "l1: vde discarded nonzero bytes=")" = 0 ] && [ "$UNMAPPED" = 0 ] && [ "$MAPPED" = $((6 << 20)) ]; }
check "main: the discarded 2 MiB read as zeros and qemu-img map shows them unallocated, the 6 MiB kept allocated (${MAPPED:-?} bytes mapped)" \
    unmapped
check "main: virtio_rng is the kernel's hardware RNG" kit_has $S "l2: hwrng current=virtio_rng"
check "main: /dev/hwrng gives 64 KiB, all of it the host file's records (4096 whole ones)" \
    kit_has $S "l2: hwrng bytes=65536 records=4096"
BAL=$(out $S | grep '^l2: virtio[0-9]* driver=virtio_balloon ' | tail -n 1)
balloon_dev() { [ "$(field "$BAL" v1)" = 1 ] && gt "$(field "$BAL" msix)" 0; }
check "main: virtio_balloon drives the balloon (virtio 1.x, MSI-X)" balloon_dev
MT0=$(after $S "l2: balloon ready, MemTotal before=") MT1=$(after $S "l2: inflated MemTotal=") MT2=$(after $S "l2: deflated MemTotal=")
TAKEN=$(((${MT0:-0} - ${MT1:-0}) / 1024))
check "main: 'balloon $KEEP' takes $((RAM - KEEP)) MiB from the guest: MemTotal ${MT0:-?} -> ${MT1:-?} kB ($TAKEN MiB)" \
    [ "$TAKEN" = $((RAM - KEEP)) ]
# actual MIB: info balloon said actual=MIB (its statistics may follow)
actual() { out $S | grep -Eq "^balloon: actual=$1( |$)"; }
check "main: info balloon then says actual=$KEEP" actual $KEEP
R0=$(after $S "l1: rss ready=") R1=$(after $S "l1: rss inflated=") R2=$(after $S "l1: rss deflated=")
AUTOINIT=$(out $S | sed -n 's/^l2: mem_auto-init:_//p' | tail -n 1 | tr _ ' ')
rss_drops() { [ -n "$R0" ] && echo "$AUTOINIT" | grep -q 'heap alloc:on' && gt "$R0" "${R1:-999999999}"; }
check "main: skiff's RSS drops, though the guest zeroed the $((RAM - KEEP)) MiB it gave the balloon (${AUTOINIT:-?}): ${R0:-?} -> ${R1:-?} kB" \
    rss_drops
check "main: 'balloon $RAM' gives it back: MemTotal ${MT2:-?} kB" same "$MT2" "$MT0"
check "main: info balloon then says actual=$RAM" actual $RAM
check "main: and skiff's RSS does not grow with the deflate (the pages come back as the guest touches them): ${R2:-?} kB" \
    gt $((${R1:-0} + 8192)) "${R2:-999999999}"
rebooted() { kit_has $S "l2: write loop running" && kit_has $S "l2: boot 2, after the reset: block devices: vda vdb vdc vdd vde"; }
check "main: after the monitor's system_reset in the middle of writes to four disks the guest boots again and finds all five" \
    rebooted
synced() { same "$A_SHA" "$(after $S "l2: after the reset a.bin sha=")" && same "$B_SHA" "$(after $S "l2: after the reset a.bin sha=[^ ]* b.bin sha=")"; }
check "main: ... the files synced before the reset read back from ext2, SHA-256 right" synced
rw_again() { wr $S "l2: vda after the reset" && wr $S "l2: vdc after the reset" && wr $S "l2: vdd after the reset" && wr $S "l2: vde after the reset"; }
check "main: ... vda (ext2), vdc (aio=native), vdd (INTx) and vde (qcow2) each write and read back" rw_again
check "main: ... and debugfs finds the file written after the reset in the image, SHA-256 right" \
    same "$(after $S "l2: vda after the reset wrote=")" "$(after $S "l1: vda after.bin sha=")"
check "main: skiff printed no warning or error" clean $S
check "main: the guest powers off after its second boot and skiff exits with status 0" ends_well $S
kit_show_on_fail $S

S=grub
# GRUB wraps its lines at 80 columns: sha256sum's "HASH (dev)/file" may come on two lines
read_ok() { out "$1" | tr -d '\n' | grep -qF -- "$2 $3/data.bin"; }
check "grub: SeaBIOS's boot order names extboot's ROM first" kit_has $S "bios: 1: /rom@genroms/extboot.bin"
ROMSEG=$(out $S | sed -n 's/^bios: Running option rom at \([0-9a-f]*\):0003.*/\1/p' | tail -n 1)
check "grub: SeaBIOS runs extboot's ROM as a boot connection vector (at offset 3 of segment ${ROMSEG:-?})" [ -n "$ROMSEG" ]
no_ata() { out $S | grep -q '^bios: ' && ! out $S | grep -q '^bios: ata[0-9]-[0-9]'; }
check "grub: SeaBIOS finds no ATA disk (the IDE channels are empty)" no_ata
check "grub: SeaBIOS boots GRUB from the virtio disk" kit_has $S "grub: up"
check "grub: GRUB lists the BIOS disk and its partition" kit_has $S "(hd0) (hd0,msdos1)"
check "grub: GRUB reads the 192 KiB file through int 13h, checksum right" read_ok $S "$DATA_SHA" "(hd0,msdos1)"
check "grub: int 13h points into extboot's ROM (segment ${ROMSEG:-?}), which says 'SKIFF EXTBOOT' there" \
    kit_has $S "segment=${ROMSEG:-none} rom says 46494b53 58452046"
check "grub: GRUB's lspci lists the virtio disk (1af4:1001)" kit_has $S "1af4:1001"
check "grub: GRUB loads the kernel and the initrd from the virtio disk" kit_has $S "grub: kernel and initrd loaded"
check "grub: GRUB boots Linux from the virtio disk" kit_has $S "l2: cmdline=BOOT_IMAGE=(hd0,msdos1)/vmlinuz console=ttyS0 quiet kit.t=grub"
vda_found() { kit_has $S "l2: block devices: vda" && kit_has $S "l2: vda sectors=49152 "; }
check "grub: Linux finds the disk through virtio_blk: vda, 24 MiB" vda_found
check "grub: Linux reads the partition GRUB booted from as the host built it (SHA-256 of 20 MiB)" \
    same "$(after $S "l2: vda1 sha=")" "$P1_SHA"
check "grub: what Linux wrote is in the image after skiff exits" same "$(after $S "l2: tail wrote=")" "$(after $S "l1: tail sha=")"
check "grub: skiff printed no warning or error" clean $S
check "grub: the guest powers off and skiff exits with status 0" ends_well $S
kit_show_on_fail $S

done_testing
