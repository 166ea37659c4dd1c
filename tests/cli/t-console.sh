#!/bin/bash
# t-console.sh: the terminal as a user drives it: typing reaches the guest, -nographic's
# Ctrl-A escapes (h help, x quit, C-a C-a a literal C-a), the monitor's commands, as in QEMU.
# budget: 300 (about 40 s on KVM; more in the svm lane where there is none)
. "$(dirname "$0")/../lib/common.sh"

make -s -C "$SRCDIR" payloads >&2
native_lane "console"
K=$SRCDIR/build/payloads/echo.elf
DX="-device isa-debug-exit,iobase=0xf4,iosize=4"

# type OUT KEYS...: once the guest has said "echo ready" in OUT (its UART is set up: what came
# before would be lost, as on a real PC), type each KEYS (printf format), 0.3 s apart; a KEYS
# of "@TEXT" types nothing but waits (up to 20 s) until OUT has TEXT, for what must have
# reached the guest before the next keys end skiff
type_keys() {
    local out=$1 k i
    shift
    for _ in $(seq 1 400); do
        grep -q "echo ready" "$out" 2>/dev/null && break
        sleep 0.05
    done
    for k in "$@"; do
        if [ "${k#@}" != "$k" ]; then
            for i in $(seq 1 400); do
                grep -qF -- "${k#@}" "$out" 2>/dev/null && break
                sleep 0.05
            done
            continue
        fi
        printf "$k"
        sleep 0.3
    done
}

# plain -serial stdio: lines typed reach the guest, which echoes them and exits on "quit"
rm -f "$TMP/out"
type_keys "$TMP/out" 'hello skiff\r' 'quit\r' |
    timeout 20 "$SKIFF" -kernel "$K" -nodefaults -serial stdio $DX >"$TMP/out" 2>"$TMP/err"
status=$?
check "with -serial stdio, a typed line reaches the guest" grep -q "echo: hello skiff" "$TMP/out"
check "and the guest's \"quit\" ends skiff through debug-exit (status $status)" test "$status" -eq 1

# -nographic: Ctrl-A h prints help, Ctrl-A x quits with status 0
rm -f "$TMP/out2"
(type_keys "$TMP/out2" 'abc\r' '\001h' 'x\001\001y\r' "@$(printf 'echo: x\001y')" '\001x'; sleep 5) |
    timeout 20 "$SKIFF" -kernel "$K" -nographic $DX >"$TMP/out2" 2>"$TMP/err"
status=$?
check "with -nographic, typed lines reach the guest" grep -q "echo: abc" "$TMP/out2"
check "Ctrl-A h lists the escape keys" grep -q "C-a x    exit skiff" "$TMP/out2"
check "Ctrl-A Ctrl-A sends one Ctrl-A to the guest" grep -q $'echo: x\001y' "$TMP/out2"
check "Ctrl-A x ends skiff with status 0 (status $status)" test "$status" -eq 0
check "and says so" grep -q "skiff: terminated" "$TMP/out2"

# Ctrl-A c: the monitor on the same terminal; quit there ends skiff with status 0
rm -f "$TMP/out3"
(type_keys "$TMP/out3" '\001c' 'info status\r' 'quit\r'; sleep 5) |
    timeout 20 "$SKIFF" -kernel "$K" -nographic $DX >"$TMP/out3" 2>"$TMP/err"
status=$?
check "Ctrl-A c switches the terminal to the monitor" grep -q "monitor - type 'help'" "$TMP/out3"
check "info status there: the VM runs" grep -q "VM status: running" "$TMP/out3"
check "the monitor's quit ends skiff with status 0 (status $status)" test "$status" -eq 0

# nmi, as QEMU's: every CPU takes a non-maskable interrupt; the guest's handler says so, and the
# guest goes on (a line typed afterwards is echoed)
rm -f "$TMP/out5"
(type_keys "$TMP/out5" '\001c' 'nmi\r' '\001c' 'after nmi\r' 'quit\r'; sleep 5) |
    timeout 20 "$SKIFF" -kernel "$K" -nographic $DX >"$TMP/out5" 2>"$TMP/err"
status=$?
check "the monitor's nmi reaches the guest's NMI handler" grep -q "echo: NMI 1" "$TMP/out5"
check "and the guest runs on (status $status)" grep -q "echo: after nmi" "$TMP/out5"

# info registers looks at the running guest's CPUs and the guest goes on (a line typed after
# it is echoed); info cpus names each vCPU's thread (QEMU's "* CPU #0: thread_id=N", which
# management tools parse to pin them), each a thread of the running skiff, which -name
# process= renamed and whose vCPU threads debug-threads=on named "CPU N/KVM". As in QEMU.
rm -f "$TMP/out4" "$TMP/tids"
(type_keys "$TMP/out4" '\001c' 'info registers\r' 'info registers -a\r' 'info registers -x\r' 'info cpus\r' \
    'cpu 1\r' 'info cpus\r' 'cpu 7\r' 'info pci\r' "pmemsave 0xf0000 16 $TMP/mp.bin\r" \
    'pmemsave 0xffffffff000 16 /dev/null\r' 'xp /4xb 0xf0000\r' 'xp /2xw 0xf0000\r' 'xp /4c 0xf0000\r' \
    'info name\r'
    for tid in $(tr -d '\r' <"$TMP/out4" | sed -n 's/^[* ] CPU #[0-9]*: thread_id=\([0-9]*\)$/\1/p'); do
        echo "$tid $(cat "/proc/$(awk '/^Tgid:/ { print $2 }' "/proc/$tid/status")/comm") $(cat "/proc/$tid/comm")" >>"$TMP/tids"
    done
    type_keys "$TMP/out4" '\001c' 'after\r' 'quit\r'; sleep 5) |
    timeout 20 "$SKIFF" -kernel "$K" -nographic -smp 2 -name guest=vm1,process=skiffvm,debug-threads=on \
        $DX >"$TMP/out4" 2>"$TMP/err"
status=$?
tr -d '\r' <"$TMP/out4" >"$TMP/regs"
check "info registers shows CPU 0 in protected mode (CR0.PE)" grep -qE '^CR0=[0-9a-f]{7}[13579bdf] ' "$TMP/regs"
check "with its instruction pointer and flags" grep -qE '^RIP=[0-9a-f]{16} RFL=[0-9a-f]{8}$' "$TMP/regs"
check "and its flat 32-bit code segment" grep -qE '^CS +=[0-9a-f]{4} 0{16} ffffffff .* DB$' "$TMP/regs"
check "info registers -a shows both CPUs" grep -q '^CPU#1$' "$TMP/regs"
check "a bad option is named" grep -q "unknown option '-x'" "$TMP/regs"
check "the guest ran on: the line typed afterwards was echoed (status $status)" \
    grep -q "echo: after" "$TMP/regs"
check "info pci lists the PIIX3 IDE function with the I/O BAR the board gave it" \
    sh -c "grep -A3 '^  Bus  0, device   1, function 1:' '$TMP/regs' | grep -q 'BAR4: I/O at 0x[0-9a-f]* \[0x[0-9a-f]*\]'"
check "and the VGA with its framebuffer BAR, in QEMU's words" \
    sh -c "grep -q 'VGA controller: PCI device 1234:1111' '$TMP/regs' && grep -q 'BAR0: 32 bit prefetchable memory at 0x' '$TMP/regs'"
check "pmemsave saves guest memory: the MP table's floating pointer (_MP_) at 0xf0000" \
    sh -c "head -c 4 '$TMP/mp.bin' | grep -q '^_MP_$'"
check "pmemsave past the guest's RAM says so" grep -q "0xffffffff000 is not guest RAM" "$TMP/regs"
check "xp /4xb shows the same bytes as QEMU's xp would" grep -q "^00000000000f0000: 0x5f 0x4d 0x50 0x5f$" "$TMP/regs"
check "xp /2xw as little-endian words: _MP_ and the MP table's address" \
    grep -q "^00000000000f0000: 0x5f504d5f 0x000f0010$" "$TMP/regs"
check "xp /4c as characters" grep -q "^00000000000f0000: '_' 'M' 'P' '_'$" "$TMP/regs"
check "cpu 1 makes CPU 1 the monitor's: info cpus stars it" grep -q '^\* CPU #1: thread_id=' "$TMP/regs"
check "cpu 7 with two CPUs: invalid CPU index, as QEMU says" grep -q "invalid CPU index" "$TMP/regs"
check "info cpus gives both vCPUs' thread ids, threads of skiff, named skiffvm by -name process= ($(tr '\n' ' ' <"$TMP/tids"))" \
    test "$(awk '$2 == "skiffvm" { print $1 }' "$TMP/tids" 2>/dev/null | sort -u | wc -l)" -eq 2
check "-name debug-threads=on names the vCPU threads CPU 0/KVM and CPU 1/KVM" \
    sh -c "grep -q ' CPU 0/KVM$' '$TMP/tids' && grep -q ' CPU 1/KVM$' '$TMP/tids'"
check "info name gives -name guest=" grep -q "^vm1$" "$TMP/regs"

# -no-shutdown, as QEMU: the guest's ACPI poweroff stops the machine where it was ("paused
# (shutdown)"; the payload's "skiff exited" failure line never comes), cont wants a reset first,
# and after system_reset and cont the guest runs again from the start
P=$SRCDIR/build/payloads/poweroff.elf
rm -f "$TMP/po.com1"
wait_for() {   # wait_for N: until the payload has printed its plan N times
    for _ in $(seq 1 200); do
        [ "$(grep -c '^1\.\.1' "$TMP/po.com1" 2>/dev/null)" -ge "$1" ] && return
        sleep 0.05
    done
}
(wait_for 1; sleep 0.5; printf 'info pci\ninfo status\ncont\nsystem_reset\n'; sleep 0.5
    printf 'info status\ncont\n'; wait_for 2; sleep 0.5; printf 'info status\nquit\n') |
    timeout 30 "$SKIFF" -m 64 -kernel "$P" -nodefaults -serial file:"$TMP/po.com1" -monitor stdio \
        -no-shutdown $DX >"$TMP/po.mon" 2>"$TMP/po.err"
status=$?
tr -d '\r' <"$TMP/po.mon" >"$TMP/po.txt"
check "-nodefaults: no VGA, as QEMU's (info pci lists the PIIX3 IDE function and no VGA controller)" \
    sh -c "grep -q '^  Bus  0, device   1, function 1:' '$TMP/po.txt' && ! grep -q 'VGA controller' '$TMP/po.txt'"
check "-no-shutdown: after the guest powers off, info status says paused (shutdown)" \
    sh -c "grep -m1 'VM status' '$TMP/po.txt' | grep -q 'paused (shutdown)'"
check "and the guest went no further than its poweroff" sh -c "! grep -q 'not ok' '$TMP/po.com1'"
check "cont then says a reset is needed" grep -q "Resetting the Virtual Machine is required" "$TMP/po.txt"
check "after system_reset the machine waits to be started: paused (prelaunch)" \
    grep -q "^VM status: paused (prelaunch)$" "$TMP/po.txt"
check "and cont runs the guest again from its start (its plan printed twice)" \
    test "$(grep -c '^1\.\.1' "$TMP/po.com1")" -eq 2
check "which powers off again: paused (shutdown); quit ends skiff with status 0 (status $status)" \
    sh -c "grep 'VM status' '$TMP/po.txt' | tail -1 | grep -q 'paused (shutdown)' && [ $status -eq 0 ]"

# ACPI S3, as QEMU: the suspend payload (with no alarm) puts itself to sleep; info status says
# paused (suspended); stop makes it paused, when system_wakeup is refused in QEMU's words, and cont
# makes it suspended again, not awake; system_wakeup wakes it: it resumes at its waking vector,
# reports the power button as the wake source (QEMU's way) and leaves through debug-exit
S=$SRCDIR/build/payloads/suspend.elf
rm -f "$TMP/s3.com1"
wait_line() {   # wait_line PATTERN: until the payload's COM1 has the line
    for _ in $(seq 1 200); do
        grep -q "$1" "$TMP/s3.com1" 2>/dev/null && return
        sleep 0.05
    done
}
(printf 'system_wakeup\n'; wait_line 'suspending to RAM'; sleep 0.5
    printf 'info status\nstop\ninfo status\nsystem_wakeup\ncont\ninfo status\nsystem_wakeup\n'
    wait_line '^1\.\.'; sleep 1) |
    timeout 30 "$SKIFF" -m 64 -kernel "$S" -append wake=monitor -nodefaults -serial file:"$TMP/s3.com1" \
        -monitor stdio $DX >"$TMP/s3.mon" 2>"$TMP/s3.err"
status=$?
tr -d '\r' <"$TMP/s3.mon" >"$TMP/s3.txt"
check "system_wakeup of a running guest: Unable to wake up: guest is not in suspended state" \
    sh -c "grep -m1 'Error:' '$TMP/s3.txt' | grep -q 'Unable to wake up: guest is not in suspended state'"
check "the guest's S3: info status says paused (suspended), as QEMU's" \
    sh -c "grep 'VM status' '$TMP/s3.txt' | sed -n 1p | grep -qx 'VM status: paused (suspended)'"
check "stop: paused; system_wakeup refused; cont: paused (suspended) again" \
    sh -c "grep 'VM status' '$TMP/s3.txt' | sed -n 2,3p | tr '\n' '|' | grep -qx 'VM status: paused|VM status: paused (suspended)|' &&
        [ \$(grep -c 'Unable to wake up' '$TMP/s3.txt') -eq 2 ]"
check "system_wakeup wakes it: it resumes at its waking vector with its RAM intact" \
    grep -q "^ok .* - the guest resumes at its waking vector with its RAM as it left it" "$TMP/s3.com1"
check "with WAK_STS and the power button as the wake source" \
    sh -c "grep -q '^ok .* - WAK_STS is set' '$TMP/s3.com1' && grep -q '^ok .* - the power button (system_wakeup) is the wake source' '$TMP/s3.com1'"
check "and runs on to its end: every check passed, debug-exit status 1 (status $status)" \
    sh -c "! grep -q '^not ok' '$TMP/s3.com1' && grep -q '^1\.\.' '$TMP/s3.com1' && [ $status -eq 1 ]"

# a vCPU that KVM cannot run on (an emulation failure): as QEMU, skiff says why with the registers
# and the code's bytes, and the VM stops in internal-error where the monitor can look at it; cont
# wants a reset first, system_reset leaves it waiting to be started, quit ends skiff
if [ -d /sys/module/kvm_pvm ]; then
    EF=$SRCDIR/build/payloads/emulfail.elf EFPAT="cc 90 90 90"
else
    EF=$SRCDIR/build/payloads/emulfail-mmio.elf EFPAT="Code at 0000000010000000: not in guest RAM"
fi
rm -f "$TMP/ef.err"
wait_err() {   # wait_err PATTERN: until skiff's stderr has it
    for _ in $(seq 1 200); do
        grep -q "$1" "$TMP/ef.err" 2>/dev/null && return
        sleep 0.05
    done
}
(wait_err 'KVM internal error'; sleep 0.3
    printf 'info status\ncont\ninfo registers\nsystem_reset\n'; sleep 0.5; printf 'info status\nquit\n'; sleep 2) |
    timeout 30 "$SKIFF" -m 64 -kernel "$EF" -nodefaults -serial file:"$TMP/ef.com1" -monitor stdio \
        $DX >"$TMP/ef.mon" 2>"$TMP/ef.err"
status=$?
tr -d '\r' <"$TMP/ef.mon" >"$TMP/ef.txt"
check "an emulation failure is reported with the registers and the code ($(basename "$EF"))" \
    sh -c "grep -q 'KVM internal error' '$TMP/ef.err' && grep -q '$EFPAT' '$TMP/ef.err'"
check "and stops the VM: info status says paused (internal-error), as QEMU's" \
    grep -qx "VM status: paused (internal-error)" "$TMP/ef.txt"
check "cont wants a reset; info registers still shows the stopped CPU" \
    sh -c "grep -q 'Resetting the Virtual Machine is required' '$TMP/ef.txt' && grep -q '^EAX=\|^RAX=' '$TMP/ef.txt'"
check "system_reset leaves it paused (prelaunch), and quit ends skiff with status 0 (status $status)" \
    sh -c "grep -qx 'VM status: paused (prelaunch)' '$TMP/ef.txt' && [ $status -eq 0 ]"

# end of input does not spin or quit: the guest keeps running until it exits
timeout 5 "$SKIFF" -kernel "$K" -nodefaults -serial stdio $DX </dev/null >"$TMP/out" 2>"$TMP/err"
status=$?
check "with stdin at its end the guest keeps running (status $status = timeout)" test "$status" -eq 124
done_testing
