#!/bin/bash
# t-cli.sh: the command line as a user meets it: --help, --version, and every bad start-up
# ends with one line saying what is wrong and exit status 1.
# budget: 120 (about 5 s)
. "$(dirname "$0")/../lib/common.sh"

K=$SRCDIR/build/payloads/boot.elf
make -s -C "$SRCDIR" payloads >&2

"$SKIFF" --help >"$TMP/help" 2>&1
check "skiff --help answers with status 0" test $? -eq 0
for opt in -m -smp -cpu -kernel -initrd -append -serial -chardev -device -nographic -no-reboot -qtest -accel; do
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
    "$SKIFF" -daemonize -kernel /nonexistent-kernel -nodefaults
expect_error "a bare image name that does not exist (the first disk, as QEMU takes it)" "no such file" "$SKIFF" disk.img

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
