#!/bin/bash
# tests/guest/t-svm-boot.sh: skiff boots Debian's kernel in the svm lane: busybox shell with
# -smp 1 and -smp 2, commands typed on the serial console, poweroff, reboot, -no-reboot, panic,
# a CPU feature masked with -cpu host,-popcnt, and suspend to RAM (ACPI S3) woken by the RTC.
# budget: 180 (its two phases, about 10 s; its scenarios are the shared L1's: tests/guest/lane.sh)
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"

kit_suite_needs_lane 31

# the guests and the scenarios (once, in the register phase when L1 is shared: kit.sh)
if kit_registering; then
    # the guests: an interactive shell, and two scripts
    kit_initramfs "$TMP/shell.cpio.gz" --shell
    cat >"$TMP/reboot.sh" <<'EOF'
echo "cmdline=$(cat /proc/cmdline)"
reboot -f
EOF
    kit_initramfs "$TMP/reboot.cpio.gz" --script "$TMP/reboot.sh"
    echo 'echo c >/proc/sysrq-trigger' >"$TMP/panic.sh"
    kit_initramfs "$TMP/panic.cpio.gz" --script "$TMP/panic.sh"

    # the power button: busybox's acpid hears it through the kernel's ACPI button driver and evdev
    cat >"$TMP/button.sh" <<'EOF'
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\necho kit: acpid saw the power button\npoweroff\n' >/etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -d 2>&1 &
sleep 1
echo "kit: input devices: $(cat /sys/class/input/*/name | tr '\n' ',')"
echo "kit: waiting for the power button"
sleep 300
EOF
    kit_initramfs "$TMP/button.cpio.gz" --script "$TMP/button.sh" --module button --module evdev

    # a guest that tells the time (its uptime, from kvmclock) every second
    cat >"$TMP/ticks.sh" <<'EOF'
i=0
while [ $i -lt 14 ]; do
    echo "kit: tick $i $(cut -d' ' -f1 /proc/uptime)"
    i=$((i + 1))
    sleep 1
done
EOF
    kit_initramfs "$TMP/ticks.cpio.gz" --script "$TMP/ticks.sh"

    # suspend to RAM as rtcwake does it (busybox has no rtcwake): the RTC alarm 8 s ahead, then mem
    # (deep: ACPI S3) into /sys/power/state, which returns once the guest has resumed
    cat >"$TMP/s3.sh" <<'EOF'
echo "kit: mem_sleep: $(cat /sys/power/mem_sleep)"
echo deep >/sys/power/mem_sleep
echo 0 >/sys/class/rtc/rtc0/wakealarm
echo +8 >/sys/class/rtc/rtc0/wakealarm
echo "kit: suspending at $(cut -d' ' -f1 /proc/uptime)"
echo mem >/sys/power/state && echo "kit: resumed at $(cut -d' ' -f1 /proc/uptime)"
EOF
    kit_initramfs "$TMP/s3.cpio.gz" --script "$TMP/s3.sh"

    kit_svm_reset
    for f in shell reboot panic button ticks s3; do kit_svm_file "$TMP/$f.cpio.gz" "$f.cpio.gz"; done
    BOOT=(-m 512 -kernel /kit/bzImage -nographic)

    # -smp 2: commands typed into skiff's stdin reach the guest's shell; `poweroff` ends skiff
    cat >"$TMP/smp2.in" <<'EOF'
wait (skiff guest)
send echo typed-$((6*7)) kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online) popcnt=$(grep -cw popcnt /proc/cpuinfo); echo end-$((1+1))
wait end-2
send echo timer=$(cat /sys/devices/system/clockevents/clockevent0/current_device) tscdl=$(grep -cw tsc_deadline_timer /proc/cpuinfo); echo end-$((1+2))
wait end-3
send poweroff
EOF
    kit_svm_add smp2 --timeout 90 --input "$TMP/smp2.in" -- "${BOOT[@]}" -smp 2 \
        -initrd /kit/f/shell.cpio.gz -append "console=ttyS0 quiet"

    # -smp 1: the same shell, then `poweroff -f` (straight to the ACPI power-off, no init);
    # -cpu host,-popcnt hides a CPU feature from the guest
    cat >"$TMP/smp1.in" <<'EOF'
wait (skiff guest)
send echo cpus=$(grep -c ^processor /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online) popcnt=$(grep -cw popcnt /proc/cpuinfo); echo end-$((1+1))
wait end-2
send poweroff -f
EOF
    kit_svm_add smp1 --timeout 90 --input "$TMP/smp1.in" -- "${BOOT[@]}" -smp 1 -cpu host,-popcnt \
        -initrd /kit/f/shell.cpio.gz -append "console=ttyS0 quiet"

    # reboot: the guest comes up again after each reset, twice (the kit stops skiff then)
    printf 'waitn 3 %s\nkill\n' "$KIT_L2_MARKER" >"$TMP/reboot.in"
    kit_svm_add reboot --timeout 90 --input "$TMP/reboot.in" -- "${BOOT[@]}" -smp 1 \
        -initrd /kit/f/reboot.cpio.gz -append "console=ttyS0 quiet kit.token=r1"

    # -no-reboot: the guest's reboot ends skiff instead
    kit_svm_add noreboot --timeout 90 -- "${BOOT[@]}" -smp 1 -no-reboot \
        -initrd /kit/f/reboot.cpio.gz -append "console=ttyS0 quiet kit.token=r2"

    # a kernel panic shows on the console; panic=-1 reboots, which -no-reboot turns into exit
    kit_svm_add panic --timeout 90 -- "${BOOT[@]}" -smp 2 -no-reboot \
        -initrd /kit/f/panic.cpio.gz -append "console=ttyS0 quiet panic=-1"

    # the monitor shares the terminal with the serial console (Ctrl-A c, as QEMU's -nographic):
    # system_powerdown presses the power button, and the guest shuts itself down
    cat >"$TMP/button.in" <<'EOF'
wait kit: waiting for the power button
keys \001c
wait (skiff)
send info status
wait VM status: running
send system_powerdown
EOF
    kit_svm_add button --timeout 90 --input "$TMP/button.in" -- "${BOOT[@]}" -smp 1 \
        -initrd /kit/f/button.cpio.gz -append "console=ttyS0 quiet"

    # stop and cont in the monitor, 15 s apart: as on QEMU, the stopped guest does not see that time
    # pass (its kvmclock is held; without that, its uptime jumped 16 s between two ticks)
    cat >"$TMP/pause.in" <<'EOF'
wait kit: tick 3
keys \001c
wait (skiff)
send stop
sleep 15
send cont
send info status
wait VM status: running
keys \001c
EOF
    kit_svm_add pause --timeout 120 --input "$TMP/pause.in" -- "${BOOT[@]}" -smp 2 \
        -initrd /kit/f/ticks.cpio.gz -append "console=ttyS0 quiet"

    # ACPI S3: Linux suspends to RAM (its last line before SLP_EN stays on the console with
    # no_console_suspend, and without quiet); the monitor says paused (suspended); the RTC alarm
    # wakes it, skiff enters its waking vector as SeaBIOS would, and it runs on to its poweroff
    cat >"$TMP/s3.in" <<'EOF'
wait Disabling non-boot CPUs
sleep 1
keys \001c
wait (skiff)
send info status
wait VM status
keys \001c
EOF
    kit_svm_add s3 --timeout 90 --input "$TMP/s3.in" -- "${BOOT[@]}" -smp 1 \
        -initrd /kit/f/s3.cpio.gz -append "console=ttyS0 no_console_suspend"
fi

kit_suite_run t-svm-boot 880
# count NAME TEXT: how many times the scenario's console holds TEXT
count() { kit_section "$KIT_LOG" "$1" | grep -oF -- "$2" | wc -l; }

check "svm lane: L1 booted with a hardware-style /dev/kvm" grep -q '^kit: L1 host up, /dev/kvm ready' "$KIT_LOG"

check "-smp 2: the Debian kernel boots to the busybox shell" kit_has smp2 "(skiff guest) / #"
check "-smp 2: a command typed into skiff's stdin runs in the guest's shell" kit_has smp2 "typed-42"
check "-smp 2: the guest runs Debian's kernel ($KIT_KVER)" kit_has smp2 "kernel=$KIT_KVER "
check "-smp 2: /proc/cpuinfo shows 2 CPUs, both online" kit_has smp2 "cpus=2 online=0-1 "
check "-cpu host (the default): the guest sees popcnt" kit_has smp2 "online=0-1 popcnt=2"
check "-cpu host: the guest's timer is the local APIC in TSC-deadline mode, on both CPUs" kit_has smp2 "timer=lapic-deadline tscdl=2"
check "-smp 2: poweroff powers the guest down" kit_has smp2 "reboot: Power down"
check "-smp 2: skiff exits with status 0 after poweroff" [ "$(kit_status "$KIT_LOG" smp2)" = 0 ]
kit_show_on_fail smp2

check "-smp 1: the Debian kernel boots to the busybox shell" kit_has smp1 "(skiff guest) / #"
check "-smp 1: /proc/cpuinfo shows 1 CPU" kit_has smp1 "cpus=1 online=0 "
check "-cpu host,-popcnt: the guest does not see popcnt" kit_has smp1 "online=0 popcnt=0"
check "-smp 1: skiff exits with status 0 after poweroff -f" [ "$(kit_status "$KIT_LOG" smp1)" = 0 ]
kit_show_on_fail smp1

check "the guest sees the -append command line" kit_has reboot "cmdline=console=ttyS0 quiet kit.token=r1"
check "reboot: the guest boots again after each reset (3 boots)" [ "$(count reboot "$KIT_L2_MARKER")" -ge 3 ]
check "reboot: skiff keeps running across the resets" [ "$(kit_status "$KIT_LOG" reboot)" = killed ]
kit_show_on_fail reboot

noreboot_ok() { [ "$(kit_status "$KIT_LOG" noreboot)" = 0 ] && [ "$(count noreboot "$KIT_L2_MARKER")" -eq 1 ]; }
check "-no-reboot: the guest's reboot ends skiff with status 0, after one boot" noreboot_ok
kit_show_on_fail noreboot

check "panic: the kernel panic shows on the console" kit_has panic "Kernel panic - not syncing: sysrq triggered crash"
check "panic: the panic's call trace shows too" kit_has panic "Call Trace:"
check "panic: with panic=-1 and -no-reboot skiff exits (status 0)" [ "$(kit_status "$KIT_LOG" panic)" = 0 ]
kit_show_on_fail panic

check "power button: the guest has the ACPI power button as an input device" kit_has button "Power Button,"
check "power button: Ctrl-A c switches the terminal to skiff's monitor" kit_has button "skiff $(sed -n 's/.*SKIFF_VERSION "\(.*\)"/\1/p' "$SRCDIR/config-host.h") monitor - type 'help'"
check "power button: info status in the monitor says running" kit_has button "VM status: running"
check "power button: system_powerdown reaches the guest's acpid" kit_has button "kit: acpid saw the power button"
check "power button: the guest shuts down and skiff exits with status 0" [ "$(kit_status "$KIT_LOG" button)" = 0 ]
kit_show_on_fail button

# the largest step of the guest's uptime between two of its ticks, in whole seconds
step=$(kit_section "$KIT_LOG" pause | awk '/^kit: tick [0-9]+ [0-9.]+$/ {
    if (n++ && $4 - t > m) m = $4 - t; t = $4 } END { printf "%d", m }')
pause_ran() { [ "$(kit_status "$KIT_LOG" pause)" = 0 ] && kit_has pause "kit: tick 13 "; }
check "stop/cont: the guest runs on to its last tick and powers off" pause_ran
check "stop/cont: the guest's clock did not see the 15 s stop (largest step between its ticks: ${step:-?} s)" \
    [ "${step:-99}" -lt 8 ]
kit_show_on_fail pause

# how long the guest slept, by its own uptime (Linux adds the RTC's sleep time at resume)
slept=$(kit_section "$KIT_LOG" s3 | awk '/^kit: suspending at / { t = $4 } /^kit: resumed at / { printf "%d", $4 - t }')
s3_resumed() { kit_has s3 "ACPI: PM: Waking up from system sleep state S3" && kit_has s3 "kit: resumed at "; }
s3_slept() { [ "${slept:-0}" -ge 5 ] && [ "$(kit_status "$KIT_LOG" s3)" = 0 ]; }
check "S3: Linux sees deep sleep (ACPI S3) offered, from the DSDT's \\_S3" kit_has s3 "kit: mem_sleep: s2idle [deep]"
check "S3: while the guest sleeps, info status says paused (suspended)" kit_has s3 "VM status: paused (suspended)"
check "S3: the RTC alarm wakes it and Linux resumes at its waking vector" s3_resumed
check "S3: it slept until its alarm (${slept:-?} s by its uptime), ran on and powered off (status 0)" s3_slept
kit_show_on_fail s3

done_testing
