#!/bin/bash
# t-cli.sh: the command line as a user meets it: --help, --version, and every bad start-up
# ends with one line saying what is wrong and exit status 1.
# budget: 120 (about 5 s)
. "$(dirname "$0")/../lib/common.sh"

K=$SRCDIR/build/payloads/boot.elf
make -s -C "$SRCDIR" payloads >&2

"$SKIFF" --help >"$TMP/help" 2>&1
check "skiff --help answers with status 0" test $? -eq 0
for opt in -m -smp -cpu -kernel -initrd -append -serial -chardev -device -object -netdev -nic -net -nographic -no-reboot -qtest -accel; do
    grep -q -- "^  $opt\b" "$TMP/help" || { not_ok "--help lists $opt"; continue; }
    ok "--help lists $opt"
done
check "--help shows -drive's whole syntax, not cut short" grep -q "aio=A\]$" "$TMP/help"
"$SKIFF" --version >"$TMP/ver" 2>&1
check "skiff --version names the version" grep -q "^skiff version $(cat "$SRCDIR/VERSION")" "$TMP/ver"
"$SKIFF" -device help >"$TMP/dev" 2>&1
check "-device help lists isa-serial and isa-debug-exit" sh -c "grep -q isa-serial '$TMP/dev' && grep -q isa-debug-exit '$TMP/dev'"
"$SKIFF" -device isa-serial,help >"$TMP/dev" 2>&1
check "-device isa-serial,help lists its properties" sh -c "grep -q 'iobase=' '$TMP/dev' && grep -q 'chardev=' '$TMP/dev'"
"$SKIFF" -device pci-testdev,help >"$TMP/dev" 2>&1
check "-device pci-testdev,help lists what the PCI bus gives every device (addr, romfile, multifunction, bus)" \
    sh -c "grep -q '^  addr=' '$TMP/dev' && grep -q '^  romfile=' '$TMP/dev' && grep -q '^  multifunction=' '$TMP/dev' && grep -q '^  bus=<PCI bus>' '$TMP/dev'"
"$SKIFF" -cpu help >"$TMP/cpu" 2>&1
check "-cpu help lists models and features" sh -c "grep -q qemu64 '$TMP/cpu' && grep -q xsave '$TMP/cpu'"

expect_error() {   # label pattern args...
    local label=$1 pat=$2; shift 2
    timeout 10 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    local status=$?
    if [ "$status" -eq 1 ] && grep -q -- "$pat" "$TMP/err" && [ "$(wc -l <"$TMP/err")" -eq 1 ]; then
        ok "$label: \"$(cat "$TMP/err")\""
    else
        not_ok "$label (status $status)"
        sed 's/^/# /' "$TMP/err" | head -10
    fi
}
expect_error "an unknown option" "-frobnicate: unknown option (see skiff --help)" "$SKIFF" -frobnicate
expect_error "an option without its argument" "-m needs an argument" "$SKIFF" -kernel "$K" -m
expect_error "a missing firmware image" "firmware '/nonexistent/bios.bin': No such file" "$SKIFF" -bios /nonexistent/bios.bin
expect_error "a bad RAM size" "-m lots: give the RAM size" "$SKIFF" -kernel "$K" -m lots
expect_error "more RAM than the host has" "this host has only" "$SKIFF" -kernel "$K" -m 64T
expect_error "a -smp topology that does not fit" "does not fit 8 CPUs" "$SKIFF" -kernel "$K" -smp 8,sockets=1,cores=2,threads=2
expect_error "an unknown CPU model" "unknown CPU model 'pentium9'" "$SKIFF" -kernel "$K" -cpu pentium9
expect_error "an unknown CPU feature" "unknown CPU feature 'warp-drive'" "$SKIFF" -kernel "$K" -cpu host,+warp-drive
# -device is parsed the same under any accelerator: the test one needs no /dev/kvm
DEV=(-accel qtest -qtest null)
expect_error "an unknown device" "'flux-capacitor' is not a device skiff can create" "$SKIFF" "${DEV[@]}" -device flux-capacitor
expect_error "an unknown device property" "isa-serial: no property 'colour'" "$SKIFF" "${DEV[@]}" -device isa-serial,colour=red
expect_error "a bad property value" "does not take the value 'x'" "$SKIFF" "${DEV[@]}" -device isa-debug-exit,iobase=x
expect_error "a bus that does not exist" "pci-testdev: bus 'pci.7' not found" "$SKIFF" "${DEV[@]}" -device pci-testdev,bus=pci.7
expect_error "a bus of another type" "bus 'isa.0' takes ISA devices, and this is a PCI device" \
    "$SKIFF" "${DEV[@]}" -device pci-testdev,bus=isa.0
expect_error "a PCI device's romfile= that is not there" "'/nonexistent/x.rom'" \
    "$SKIFF" "${DEV[@]}" -device pci-testdev,romfile=/nonexistent/x.rom
# -object, as QEMU spells it: the types a device names by id, each refused mistake in one line
"$SKIFF" -object help >"$TMP/obj" 2>&1
check "-object help lists iothread, rng-random and rng-builtin" \
    sh -c "grep -q '^  iothread ' '$TMP/obj' && grep -q '^  rng-random ' '$TMP/obj' && grep -q '^  rng-builtin ' '$TMP/obj'"
"$SKIFF" -object rng-random,help >"$TMP/obj" 2>&1
check "-object rng-random,help lists filename=, /dev/urandom by default" grep -q "^  filename=.*(default: /dev/urandom)" "$TMP/obj"
check "-device help does not list objects" sh -c "! \"\$SKIFF\" -device help | grep -q iothread"
expect_error "an unknown object type" "-object flux-capacitor,id=f: no object type 'flux-capacitor' (see -object help)" \
    "$SKIFF" "${DEV[@]}" -object flux-capacitor,id=f
expect_error "an unknown object property" "iothread: no property 'colour' (see -object iothread,help)" \
    "$SKIFF" "${DEV[@]}" -object iothread,id=io0,colour=red
expect_error "rng-random on a file that is not there" "rng-random 'rng0': cannot open '/nonexistent/rng': No such file or directory" \
    "$SKIFF" "${DEV[@]}" -object rng-random,id=rng0,filename=/nonexistent/rng
expect_error "two objects with one id" "-object rng-builtin,id=x: there is already an object or device with id 'x'" \
    "$SKIFF" "${DEV[@]}" -object iothread,id=x -object rng-builtin,id=x
expect_error "an object without an id" "-object iothread: an object needs an id (id=...)" "$SKIFF" "${DEV[@]}" -object iothread
expect_error "-object naming a device" "'isa-serial' is a device, not an object: give it with -device" \
    "$SKIFF" "${DEV[@]}" -object isa-serial,id=s
expect_error "-device naming an object" "'iothread' is an object, not a device: give it as -object iothread,id=ID" \
    "$SKIFF" "${DEV[@]}" -device iothread,id=io0
expect_error "an I/O thread asked to busy-poll, which skiff's do not" "poll-max-ns=32768: skiff's I/O threads sleep until there is work and never busy-poll" \
    "$SKIFF" "${DEV[@]}" -object iothread,id=io0,poll-max-ns=32768
# what they make runs and goes cleanly: the I/O thread stopped and joined, the rng file closed
# (the sanitizer build, where there is one, reports anything left behind)
echo quit | timeout 10 "${SKIFF_SAN:-$SKIFF}" "${DEV[@]}" -nodefaults -monitor stdio -object qom-type=iothread,id=io0 \
    -object iothread,id=io1,poll-max-ns=0,poll-grow=2,poll-shrink=2 -object rng-random,id=rng0 \
    -object rng-random,id=rng1,filename=/dev/random -object rng-builtin,id=rng2 >"$TMP/out" 2>"$TMP/err"
status=$?
check "two I/O threads (poll-max-ns=0 and its tuning taken), rng-random twice and rng-builtin start, and quit leaves cleanly (status $status)" \
    sh -c "[ $status -eq 0 ] && [ ! -s '$TMP/err' ]"
# twelve virtio disks (each a run-state listener for werror=stop): they start and quit cleanly
truncate -s 1M "$TMP/v.img"
VDISKS=()
for i in $(seq 12); do VDISKS+=(-drive "file=$TMP/v.img,if=virtio,format=raw,snapshot=on"); done
printf 'info block\nquit\n' | timeout 20 "${SKIFF_SAN:-$SKIFF}" "${DEV[@]}" -nodefaults -monitor stdio "${VDISKS[@]}" \
    >"$TMP/out" 2>"$TMP/err"
status=$?
check "twelve -drive if=virtio disks start, info block names virtio0 to virtio11, and quit leaves cleanly (status $status)" \
    sh -c "[ $status -eq 0 ] && [ ! -s '$TMP/err' ] && grep -q '^virtio11: ' '$TMP/out' && [ \$(grep -c 'Attached to:      virtio-blk-pci' '$TMP/out') -eq 12 ]"
# devices without addr= take the first free slot, as QEMU's: with no default VGA (-nodefaults) the
# first NIC is at 02.0, and a VGA from -device goes where the next one would
printf 'info pci\nquit\n' | timeout 10 "$SKIFF" "${DEV[@]}" -nodefaults -monitor stdio -device rtl8139,romfile= \
    -device VGA,romfile= 2>"$TMP/err" | tr -d '\r' >"$TMP/out"
check "-nodefaults: -device rtl8139 takes 02.0 and -device VGA 03.0 (the first free slots, as QEMU's)" \
    sh -c "grep -A1 '^  Bus  0, device   2, function 0:' '$TMP/out' | grep -q 'Ethernet controller: PCI device 10ec:8139' &&
        grep -A1 '^  Bus  0, device   3, function 0:' '$TMP/out' | grep -q 'VGA controller: PCI device 1234:1111'"
expect_error "-blockdev in JSON, which skiff does not read yet" "not JSON yet" "$SKIFF" "${DEV[@]}" \
    -blockdev '{"driver":"file","node-name":"f","filename":"/dev/null"}'
expect_error "-blockdev with a driver skiff lacks" "driver=nbd: skiff's drivers are file, host_device, raw and qcow2" \
    "$SKIFF" "${DEV[@]}" -blockdev driver=nbd,node-name=n
expect_error "-blockdev file= naming no file node" "file=nope names no file node" \
    "$SKIFF" "${DEV[@]}" -blockdev driver=qcow2,node-name=q,file=nope
expect_error "-blockdev without node-name" "give driver= and node-name=" "$SKIFF" "${DEV[@]}" -blockdev driver=file,filename=x
expect_error "-drive if=floppy names what is missing" "if=floppy: skiff has no floppy controller" \
    "$SKIFF" "${DEV[@]}" -drive if=floppy,file=x
expect_error "two drives with one id" "there is already a drive with id 'd'" \
    "$SKIFF" "${DEV[@]}" -drive if=none,id=d -blockdev driver=file,node-name=d,filename=x
expect_error "a device whose ports another device has is refused, naming both" \
    "isa-serial: serial at port 0x70-0x77 overlaps rtc at 0x70-0x71" "$SKIFF" "${DEV[@]}" -device isa-serial,iobase=0x70
if [ -n "${SKIFF_SAN:-}" ]; then
    expect_error "and the refused device leaves nothing behind (sanitizer build, leaks checked)" \
        "overlaps rtc" "$SKIFF_SAN" "${DEV[@]}" -device isa-serial,iobase=0x70
fi
expect_error "QMP, which skiff does not have yet" "skiff has no QMP yet" "$SKIFF" -kernel "$K" -qmp unix:/tmp/q,server=on
expect_error "-mon naming a chardev that does not exist" "no -chardev with id 'nope'" "$SKIFF" "${DEV[@]}" -mon chardev=nope
expect_error "-mon mode=control (QMP)" "no QMP (mode=control) yet" "$SKIFF" "${DEV[@]}" -chardev null,id=n -mon chardev=n,mode=control
expect_error "an unknown monitor backend" "unknown character device" "$SKIFF" "${DEV[@]}" -monitor carrier-pigeon:1
expect_error "an unknown serial backend" "unknown character device" "$SKIFF" -kernel "$K" -serial carrier-pigeon:1
expect_error "a chardev id that does not exist" "no chardev with id 'nope'" "$SKIFF" -kernel "$K" -serial chardev:nope
expect_error "an unknown chardev backend" "unknown backend 'tape'" "$SKIFF" -kernel "$K" -chardev tape,id=t
expect_error "a socket path that cannot be listened on" "cannot listen on socket" "$SKIFF" -kernel "$K" -serial unix:/nonexistent-dir/s,server=on,wait=off
# QEMU's chardev options that skiff does not implement are refused by name, never ignored
SRV=socket,id=s,host=127.0.0.1,port=0,server=on,wait=off
expect_error "-chardev socket,telnet=on" "chardev 's': skiff does not implement telnet=on (the telnet protocol)" \
    "$SKIFF" "${DEV[@]}" -chardev $SRV,telnet=on
expect_error "the old spelling ,telnet" "skiff does not implement telnet=on" "$SKIFF" "${DEV[@]}" -serial tcp::4555,server,nowait,telnet
expect_error "-chardev socket,websocket=on" "skiff does not implement websocket=on" "$SKIFF" "${DEV[@]}" -chardev $SRV,websocket=on
expect_error "-chardev socket,reconnect=5" "skiff does not implement reconnect=5" \
    "$SKIFF" "${DEV[@]}" -chardev socket,id=s,host=127.0.0.1,port=4555,reconnect=5
expect_error "-chardev socket,tls-creds=" "skiff does not implement tls-creds=tls0 (TLS)" "$SKIFF" "${DEV[@]}" -chardev $SRV,tls-creds=tls0
expect_error "-chardev socket,ipv6=on" "skiff does not implement ipv6=on" "$SKIFF" "${DEV[@]}" -chardev $SRV,ipv6=on
expect_error "-chardev socket,to=" "skiff does not implement to=4560" "$SKIFF" "${DEV[@]}" -chardev $SRV,to=4560
expect_error "-chardev socket,abstract=on" "skiff does not implement abstract=on" \
    "$SKIFF" "${DEV[@]}" -chardev socket,id=s,path=sock,server=on,wait=off,abstract=on
expect_error "nodelay= on a unix socket" "nodelay= is for TCP sockets" \
    "$SKIFF" "${DEV[@]}" -chardev socket,id=s,path="$TMP/s",server=on,wait=off,nodelay=on
expect_error "wait= on a client, as QEMU refuses it" "wait= is for a server (server=on)" \
    "$SKIFF" "${DEV[@]}" -chardev socket,id=s,host=127.0.0.1,port=4555,wait=off
expect_error "a socket with both path= and port=" "path= (unix) or host= and port= (TCP), not both" \
    "$SKIFF" "${DEV[@]}" -chardev socket,id=s,path="$TMP/s",port=4555,server=on,wait=off
expect_error "-chardev pty,path= (QEMU's symlink)" "skiff does not implement path=$TMP/pty (a symlink to the pty)" \
    "$SKIFF" "${DEV[@]}" -chardev pty,id=p,path="$TMP/pty"
expect_error "-chardev logfile=" "skiff does not implement logfile=$TMP/log (a log of the output)" \
    "$SKIFF" "${DEV[@]}" -chardev null,id=n,logfile="$TMP/log"
expect_error "a parameter of another backend" "chardev 'f': file has no parameter 'signal'" \
    "$SKIFF" "${DEV[@]}" -chardev file,id=f,path="$TMP/f",signal=off
echo precious >"$TMP/keep"
expect_error "a -chardev file with a bad parameter" "file has no parameter 'colour'" \
    "$SKIFF" "${DEV[@]}" -chardev file,id=f,path="$TMP/keep",colour=red
check "is refused before the file is opened: what it held is still there" grep -q precious "$TMP/keep"
expect_error "-mon pretty=on (QMP's, not the human monitor's)" "pretty=on is for QMP (mode=control), not the human monitor" \
    "$SKIFF" "${DEV[@]}" -chardev null,id=n -mon chardev=n,pretty=on
# the values that ask for what skiff does anyway are taken: the machine starts
timeout 2 "$SKIFF" "${DEV[@]}" -display none -chardev $SRV,telnet=off,websocket=off,reconnect=0,nodelay=on \
    -chardev null,id=n,logappend=off -mon chardev=n,pretty=off >"$TMP/out" 2>"$TMP/err" </dev/null
status=$?
check "telnet=off, websocket=off, reconnect=0, nodelay=on, logappend=off and -mon pretty=off start the machine (status $status)" \
    sh -c "[ $status -eq 124 ] && ! grep -v 'terminating on signal' '$TMP/err'"
expect_error "a malformed -uuid" "is not a UUID: give 32 hex digits" "$SKIFF" -kernel "$K" -uuid 1234
expect_error "an -smbios type skiff does not set" "skiff sets the system (type=1) and chassis (type=3)" \
    "$SKIFF" -kernel "$K" -smbios type=17,part=x
expect_error "an -smbios field that is not there" "no field 'colour'" "$SKIFF" -kernel "$K" -smbios type=1,colour=red
# what libvirt and scripts pass that skiff takes as is: a versioned machine name, -no-user-config,
# -no-hpet: the machine starts (and runs until stopped here)
timeout 2 "$SKIFF" -machine pc-i440fx-7.2 -no-user-config -no-hpet -boot strict=on -accel qtest \
    -qtest null -display none -nodefaults >"$TMP/out" 2>"$TMP/err" </dev/null
status=$?
check "-machine pc-i440fx-7.2, -no-user-config, -no-hpet and -boot strict=on start the machine (status $status)" \
    sh -c "[ $status -eq 124 ] && ! grep -v 'terminating on signal' '$TMP/err'"
expect_error "-d with a log item skiff does not have" "-d debug,bogus: no log item 'bogus' (-d help lists them)" \
    "$SKIFF" -d debug,bogus -kernel "$K"
"$SKIFF" -d help >"$TMP/out" 2>&1
status=$?
check "-d help lists the log items, QEMU's cpu_reset among them (status $status)" \
    sh -c "[ $status -eq 0 ] && grep -q '^cpu_reset ' '$TMP/out' && grep -q '^debug ' '$TMP/out'"
expect_error "-msg timestamp=on: the message starts with its UTC time, as QEMU's" \
    "^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]*\.[0-9]\{6\}Z skiff: -m lots" "$SKIFF" -msg timestamp=on -m lots
# -daemonize: the caller gets status 0 once the VM is set up; the daemon (the pid file's) runs
# in a session of its own with the guest going on, until SIGTERM. Without a usable /dev/kvm the
# daemon runs the board alone (-accel qtest).
daemon_acc=()
kvm_usable || daemon_acc=(-accel qtest -qtest null)
"$SKIFF" -daemonize -pidfile "$TMP/d.pid" -m 64 -kernel "$SRCDIR/build/payloads/echo.elf" -nodefaults \
    -serial file:"$TMP/d.out" -display none "${daemon_acc[@]}" >"$TMP/d.stdout" 2>"$TMP/d.err"
status=$?
pid=$(cat "$TMP/d.pid" 2>/dev/null)
check "-daemonize: the caller gets status 0 once the VM is set up (status $status)" [ "$status" -eq 0 ]
check "the pid file names the daemon, which leads a session of its own" \
    sh -c "[ -n '$pid' ] && [ \"\$(awk '{ print \$6 }' /proc/$pid/stat 2>/dev/null)\" = '$pid' ]"
if kvm_usable; then
    for _ in $(seq 1 100); do grep -q "echo ready" "$TMP/d.out" 2>/dev/null && break; sleep 0.05; done
    check "the guest runs on in the background (its serial port says so)" grep -q "echo ready" "$TMP/d.out"
else
    skip "no usable /dev/kvm: the daemon ran the board without a guest" "the guest runs on in the background"
fi
[ -n "$pid" ] && kill "$pid" 2>/dev/null
for _ in $(seq 1 100); do [ -n "$pid" ] && [ -d "/proc/$pid" ] || break; sleep 0.05; done
check "SIGTERM ends the daemon" sh -c "[ -n '$pid' ] && [ ! -d /proc/$pid ]"
expect_error "-daemonize with the terminal" "cannot be used by a daemon" "$SKIFF" -daemonize -nographic -kernel "$K"
expect_error "-daemonize: an error while setting up reaches the caller with status 1" "cannot read kernel" \
    "$SKIFF" -daemonize -kernel /nonexistent-kernel -nodefaults "${daemon_acc[@]}"
expect_error "a bare image name that does not exist (the first disk, as QEMU takes it)" "no such file" "$SKIFF" disk.img

# the network's options, as QEMU spells them: help, and each refused mistake in one line
"$SKIFF" -netdev help >"$TMP/nd" 2>&1
check "-netdev help lists the backend types (socket, hubport) under QEMU's heading" \
    sh -c "head -1 '$TMP/nd' | grep -qx 'Available netdev backend types:' && grep -qx socket '$TMP/nd' && grep -qx hubport '$TMP/nd'"
"$SKIFF" -netdev socket,help >"$TMP/nd" 2>&1
check "-netdev socket,help gives its options" sh -c "grep -q 'listen=' '$TMP/nd' && grep -q 'mcast=' '$TMP/nd'"
"$SKIFF" -net nic,model=help >"$TMP/nd" 2>&1
status=$?
check "-net nic,model=help answers with QEMU's heading and status 0" sh -c "[ $status -eq 0 ] && head -1 '$TMP/nd' | grep -qx 'Supported NIC models:'"
"$SKIFF" -nic help >"$TMP/nd" 2>&1
check "-nic help lists the backend types, then the NIC models, as QEMU's" \
    sh -c "grep -qx socket '$TMP/nd' && grep -qx 'Supported NIC models:' '$TMP/nd'"
expect_error "-netdev without an id" "-netdev socket,listen=:4000: a netdev needs an id" "$SKIFF" "${DEV[@]}" -netdev socket,listen=:4000
expect_error "-netdev with an id that is no identifier" "id '1a': an id is letters, digits" "$SKIFF" "${DEV[@]}" -netdev socket,id=1a,listen=:1
expect_error "an unknown backend type" "no network backend type 'warp' (-netdev help lists them)" "$SKIFF" "${DEV[@]}" -netdev warp,id=w
expect_error "-netdev socket with none of its ways" "give exactly one of listen=, connect=, udp=, mcast= or fd=" \
    "$SKIFF" "${DEV[@]}" -netdev socket,id=s
expect_error "a port past 65535 (QEMU would take 99999 as 34463)" "the port is a number, 0 to 65535" \
    "$SKIFF" "${DEV[@]}" -netdev socket,id=s,listen=127.0.0.1:99999
expect_error "udp= without localaddr=" "udp= needs the local address too" "$SKIFF" "${DEV[@]}" -netdev socket,id=s,udp=127.0.0.1:5
expect_error "mcast= of an address that is not multicast" "127.0.0.1 is not a multicast address" \
    "$SKIFF" "${DEV[@]}" -netdev socket,id=s,mcast=127.0.0.1:5000
expect_error "an option the backend does not have" "hubport: unknown parameter 'colour'" \
    "$SKIFF" "${DEV[@]}" -netdev hubport,id=h,hubid=0,colour=red
expect_error "two netdevs with one id" "there is already a netdev with id 'h'" \
    "$SKIFF" "${DEV[@]}" -netdev hubport,id=h,hubid=0 -netdev hubport,id=h,hubid=1
expect_error "a NIC model skiff does not have" "-net nic,model=e1000: skiff has no NIC model 'e1000' (model=help lists them)" \
    "$SKIFF" "${DEV[@]}" -net nic,model=e1000
expect_error "a multicast MAC for a NIC" "a NIC cannot have a multicast address" "$SKIFF" "${DEV[@]}" -net nic,macaddr=01:00:5e:00:00:01
expect_error "a MAC that is no address" "mac 'zz': give a MAC address as 52:54:00:12:34:56" "$SKIFF" "${DEV[@]}" -nic hubport,hubid=0,mac=zz
expect_error "-net nic,netdev= of nothing" "netdev 'nope' not found" "$SKIFF" "${DEV[@]}" -net nic,netdev=nope
expect_error "-net without a type (model=help is -net nic's)" "-net model=help: give nic, none or a backend type first" \
    "$SKIFF" "${DEV[@]}" -net model=help
expect_error "-netdev without a type" "-netdev ,id=x: give the backend's type first" "$SKIFF" "${DEV[@]}" -netdev ,id=x
expect_error "-net hubport" "hub ports are made with -netdev hubport,id=ID,hubid=N" "$SKIFF" "${DEV[@]}" -net hubport,hubid=1
expect_error "-object filter-dump without netdev=" "filter-dump 'f': give the netdev it watches (netdev=ID)" \
    "$SKIFF" "${DEV[@]}" -object filter-dump,id=f,file="$TMP/d.pcap"
expect_error "-object filter-dump of a netdev that is not there" "filter-dump 'f': no netdev 'n0'" \
    "$SKIFF" "${DEV[@]}" -object filter-dump,id=f,netdev=n0,file="$TMP/d.pcap"
expect_error "-object filter-dump without file=" "filter-dump 'f': give the file it writes (file=PATH)" \
    "$SKIFF" "${DEV[@]}" -netdev hubport,id=n0,hubid=0 -object filter-dump,id=f,netdev=n0
expect_error "-object filter-dump into a folder that is not there" "cannot open '/nonexistent-dir/d.pcap'" \
    "$SKIFF" "${DEV[@]}" -netdev hubport,id=n0,hubid=0 -object filter-dump,id=f,netdev=n0,file=/nonexistent-dir/d.pcap
expect_error "-object filter-dump,queue= of neither way" "queue=sideways: give all, rx" \
    "$SKIFF" "${DEV[@]}" -netdev hubport,id=n0,hubid=0 -object filter-dump,id=f,netdev=n0,file="$TMP/d.pcap",queue=sideways
# what they make starts and goes cleanly; sockets only in a network namespace of the test's own
if command -v unshare >/dev/null && [ "$(id -u)" -eq 0 ]; then
    printf 'info network\nquit\n' | timeout 10 unshare -n sh -c "ip link set lo up 2>/dev/null; exec '${SKIFF_SAN:-$SKIFF}' \
        -accel qtest -qtest null -nodefaults -monitor stdio -netdev socket,id=s0,listen=127.0.0.1:4000 \
        -netdev socket,id=u0,udp=127.0.0.1:4001,localaddr=127.0.0.1:4002 -net none -nic none \
        -object filter-dump,id=f0,netdev=s0,file='$TMP/d.pcap',maxlen=128" >"$TMP/out" 2>"$TMP/err"
    status=$?
    tr -d '\r' <"$TMP/out" >"$TMP/mon"
    check "socket listen= and udp= backends, -net none, -nic none and a filter-dump start, and quit leaves cleanly (status $status)" \
        [ "$status" -eq 0 ]
    check "a backend no NIC uses gets QEMU's warning, and the machine runs" \
        sh -c "grep -q 'warning: netdev s0 has no peer' '$TMP/err' && grep -q 'warning: netdev u0 has no peer' '$TMP/err'"
    check "info network lists them, the filter under its netdev, as QEMU's" \
        sh -c "grep -qx 's0: index=0,type=socket,' '$TMP/mon' && grep -qx 'u0: index=0,type=socket,socket: udp=127.0.0.1:4001' '$TMP/mon' &&
               grep -qx '  - f0: type=filter-dump,file=$TMP/d.pcap,maxlen=128,position=tail,status=on,insert=behind,netdev=s0,queue=all' '$TMP/mon'"
    check "the pcap file has its header (24 bytes, snaplen 128)" \
        sh -c "[ \$(stat -c %s '$TMP/d.pcap') -eq 24 ] && od -An -tx4 -j16 -N4 '$TMP/d.pcap' | grep -q 00000080"
else
    skip "needs root and unshare (a network namespace)" "socket backends and filter-dump start and quit"
fi

# the network on the monitor: info network in QEMU's layout, set_link and its refusals in QEMU's words
printf 'info network\nset_link h0 off\nset_link nope off\nset_link h0 maybe\nhelp set_link\nquit\n' |
    timeout 10 "${SKIFF_SAN:-$SKIFF}" "${DEV[@]}" -nodefaults -monitor stdio \
    -netdev hubport,id=h0,hubid=1 -netdev hubport,id=h1,hubid=1 >"$TMP/out" 2>"$TMP/err"
status=$?
tr -d '\r' <"$TMP/out" >"$TMP/mon"
check "info network: hub 1, then its ports, the newest first, as QEMU lists them (status $status)" \
    sh -c "[ $status -eq 0 ] && grep -A3 '^(skiff) info network' '$TMP/mon' | tail -3 | tr '\n' '|' | grep -qx 'hub 1| \\\\ h1| \\\\ h0|'"
check "set_link h0 off is taken without a word" sh -c "grep -A1 '^(skiff) set_link h0 off' '$TMP/mon' | tail -1 | grep -q '^(skiff) set_link nope'"
check "set_link of nothing: \"Error: Device 'nope' not found\"" grep -qx "Error: Device 'nope' not found" "$TMP/mon"
check "set_link h0 maybe: \"Expected 'on' or 'off'\", as QEMU says" grep -qx "Expected 'on' or 'off'" "$TMP/mon"
check "help set_link says how it is used" grep -q "^set_link name on|off -- " "$TMP/mon"
check "QEMU's warnings for hub ports nothing is on" grep -q "warning: hub port h0 has no peer" "$TMP/err"

# KVM access errors, in a private /dev: none at all, then one that only root may open (a node
# for the kvm device; its permission is checked before any driver is asked)
if command -v unshare >/dev/null && command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
    expect_error "no /dev/kvm" "no /dev/kvm: is the kvm module loaded" \
        unshare -m sh -c "mount -t tmpfs none /dev && exec '$SKIFF' -nodefaults -kernel '$K'"
    expect_error "no permission on /dev/kvm" "no permission on /dev/kvm: add yourself to the kvm group" \
        unshare -m sh -c "mount -t tmpfs none /dev && mknod -m 600 /dev/kvm c 10 232 &&
            exec setpriv --reuid 65534 --regid 65534 --clear-groups '$SKIFF' -nodefaults -kernel '$K'"
else
    skip "needs root, unshare and setpriv" "KVM access errors"
fi
done_testing
