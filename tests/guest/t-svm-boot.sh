#!/bin/bash
# tests/guest/t-svm-boot.sh: skiff boots Debian's kernel in the svm lane: busybox shell with
# -smp 1 and -smp 2, commands typed on the serial console, poweroff, reboot, -no-reboot, panic,
# and a CPU feature masked with -cpu host,-xsave.
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"

kit_suite_needs_lane 19

# the guests: an interactive shell, and two scripts
kit_initramfs "$TMP/shell.cpio.gz" --shell
cat >"$TMP/reboot.sh" <<'EOF'
echo "cmdline=$(cat /proc/cmdline)"
reboot -f
EOF
kit_initramfs "$TMP/reboot.cpio.gz" --script "$TMP/reboot.sh"
echo 'echo c >/proc/sysrq-trigger' >"$TMP/panic.sh"
kit_initramfs "$TMP/panic.cpio.gz" --script "$TMP/panic.sh"

kit_svm_reset
for f in shell reboot panic; do kit_svm_file "$TMP/$f.cpio.gz" "$f.cpio.gz"; done
BOOT=(-m 512 -kernel /kit/bzImage -nographic)

# -smp 2: commands typed into skiff's stdin reach the guest's shell; `poweroff` ends skiff
cat >"$TMP/smp2.in" <<'EOF'
wait (skiff guest)
send echo typed-$((6*7)) kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online) xsave=$(grep -cw xsave /proc/cpuinfo); echo end-$((1+1))
wait end-2
send poweroff
EOF
kit_svm_add smp2 --timeout 120 --input "$TMP/smp2.in" -- "${BOOT[@]}" -smp 2 \
    -initrd /kit/f/shell.cpio.gz -append "console=ttyS0 quiet"

# -smp 1: the same shell, then `poweroff -f` (straight to the ACPI power-off, no init);
# -cpu host,-xsave hides a CPU feature from the guest
cat >"$TMP/smp1.in" <<'EOF'
wait (skiff guest)
send echo cpus=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online) xsave=$(grep -cw xsave /proc/cpuinfo); echo end-$((1+1))
wait end-2
send poweroff -f
EOF
kit_svm_add smp1 --timeout 120 --input "$TMP/smp1.in" -- "${BOOT[@]}" -smp 1 -cpu host,-xsave \
    -initrd /kit/f/shell.cpio.gz -append "console=ttyS0 quiet"

# reboot: the guest comes up a second time (the kit stops skiff then)
printf 'waitn 2 %s\nkill\n' "$KIT_L2_MARKER" >"$TMP/reboot.in"
kit_svm_add reboot --timeout 60 --input "$TMP/reboot.in" -- "${BOOT[@]}" -smp 1 \
    -initrd /kit/f/reboot.cpio.gz -append "console=ttyS0 quiet kit.token=r1"

# -no-reboot: the guest's reboot ends skiff instead
kit_svm_add noreboot --timeout 120 -- "${BOOT[@]}" -smp 1 -no-reboot \
    -initrd /kit/f/reboot.cpio.gz -append "console=ttyS0 quiet kit.token=r2"

# a kernel panic shows on the console; panic=-1 reboots, which -no-reboot turns into exit
kit_svm_add panic --timeout 120 -- "${BOOT[@]}" -smp 2 -no-reboot \
    -initrd /kit/f/panic.cpio.gz -append "console=ttyS0 quiet panic=-1"

# the whole console stays beside the suite's log, for a look after a failure
LOG="$SRCDIR/build/test-logs/t-svm-boot.console.log"
mkdir -p "$(dirname "$LOG")"
kit_svm_run "$LOG" 600
lane=$?
if [ $lane -ne 0 ]; then
    note "the svm lane did not finish; its console:"
    tail -n 40 "$LOG" | sed 's/^/#   /'
    sed 's/^/#   stderr: /' "$LOG.stderr" | grep -v 'TCG doesn.t support' | tail -n 5
fi
grep '^@@kit end' "$LOG" | tr -d '\r' | sed 's/^@@kit end /# scenario /'

# has NAME TEXT: the scenario's console holds TEXT; count NAME TEXT: how many times
has() { kit_section "$LOG" "$1" | grep -qF -- "$2"; }
count() { kit_section "$LOG" "$1" | grep -oF -- "$2" | wc -l; }
show_on_fail() { [ "$1" = ok ] || kit_section "$LOG" "$2" | tail -n 25 | sed 's/^/#   /'; }

check "svm lane: L1 booted with a hardware-style /dev/kvm" grep -q '^kit: L1 host up, /dev/kvm ready' "$LOG"

r=ok
check "-smp 2: the Debian kernel boots to the busybox shell" has smp2 "(skiff guest) / #" || r=bad
check "-smp 2: a command typed into skiff's stdin runs in the guest's shell" has smp2 "typed-42" || r=bad
check "-smp 2: the guest runs Debian's kernel ($KIT_KVER)" has smp2 "kernel=$KIT_KVER " || r=bad
check "-smp 2: /proc/cpuinfo shows 2 CPUs, both online" has smp2 "cpus=2 online=0-1 " || r=bad
check "-cpu host (the default): the guest sees xsave" has smp2 "online=0-1 xsave=2" || r=bad
check "-smp 2: poweroff powers the guest down" has smp2 "reboot: Power down" || r=bad
check "-smp 2: skiff exits with status 0 after poweroff" [ "$(kit_status "$LOG" smp2)" = 0 ] || r=bad
show_on_fail $r smp2

r=ok
check "-smp 1: the Debian kernel boots to the busybox shell" has smp1 "(skiff guest) / #" || r=bad
check "-smp 1: /proc/cpuinfo shows 1 CPU" has smp1 "cpus=1 online=0 " || r=bad
check "-cpu host,-xsave: the guest does not see xsave" has smp1 "online=0 xsave=0" || r=bad
check "-smp 1: skiff exits with status 0 after poweroff -f" [ "$(kit_status "$LOG" smp1)" = 0 ] || r=bad
show_on_fail $r smp1

r=ok
check "the guest sees the -append command line" has reboot "cmdline=console=ttyS0 quiet kit.token=r1" || r=bad
check "reboot: the guest boots a second time" [ "$(count reboot "$KIT_L2_MARKER")" -ge 2 ] || r=bad
check "reboot: skiff keeps running across the reset" [ "$(kit_status "$LOG" reboot)" = killed ] || r=bad
show_on_fail $r reboot

r=ok
noreboot_ok() { [ "$(kit_status "$LOG" noreboot)" = 0 ] && [ "$(count noreboot "$KIT_L2_MARKER")" -eq 1 ]; }
check "-no-reboot: the guest's reboot ends skiff with status 0, after one boot" noreboot_ok || r=bad
show_on_fail $r noreboot

r=ok
check "panic: the kernel panic shows on the console" has panic "Kernel panic - not syncing: sysrq triggered crash" || r=bad
check "panic: the panic's call trace shows too" has panic "Call Trace:" || r=bad
check "panic: with panic=-1 and -no-reboot skiff exits (status 0)" [ "$(kit_status "$LOG" panic)" = 0 ] || r=bad
show_on_fail $r panic

done_testing
