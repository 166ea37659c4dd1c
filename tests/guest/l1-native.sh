#!/bin/sh
# tests/guest/l1-native.sh: run in L1: a native-lane suite on L1's /dev/kvm, for a machine whose
# own KVM is missing. The host's root comes in through virtio-9p; the suite runs chrooted there,
# so it finds the same build, tools and packages, with L1's /dev, /proc and /sys, and a fresh
# tmpfs at TMP (a folder the host made; its /tmp may hold the suite itself) as TMPDIR.
# Usage: l1-native.sh TMP SUITE [NAME=VALUE...]   (SUITE: a path the host's bash runs)
tmp=$1 suite=$2
shift 2
mkdir -p /host
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose host /host; then
    echo "not ok 1 - the host's files reach L1 through virtio-9p"
    exit 1
fi
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mount -t devtmpfs devtmpfs /host/dev
mkdir -p /host/dev/pts
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs "/host$tmp"
[ -c /host/dev/kvm ] || echo "# L1 has no /dev/kvm"
# loopback up, as on the machine the suite stands in for (a socket backend's peer is on 127.0.0.1)
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# straight to the console, between the scenario's markers, so that its progress shows as it goes
exec >/dev/console 2>&1
exec chroot /host /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TMPDIR="$tmp" SKIFF_IN_L1=1 "$@" /bin/bash "$suite"
