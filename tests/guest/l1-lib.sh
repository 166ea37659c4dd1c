# tests/guest/l1-lib.sh: run inside L1: kit_run runs one scenario and frames its console
# between "@@kit begin NAME" and "@@kit end NAME status=S time=T".

kit_uptime() { cut -d' ' -f1 /proc/uptime; }

# kit_feed SCRIPT PID: type into skiff's stdin (the fifo /tmp/in) as SCRIPT says
kit_feed() {
    exec 3>/tmp/in
    while read -r cmd arg; do
        case "$cmd" in
        wait) until grep -qF -- "$arg" /tmp/out; do sleep 0.1; done ;;
        waitn)
            n=${arg%% *} t=${arg#* }
            until [ "$(grep -oF -- "$t" /tmp/out | wc -l)" -ge "$n" ]; do sleep 0.1; done ;;
        # Enter on a terminal sends a carriage return
        send) printf '%s\r' "$arg" >&3 ;;
        # raw bytes, printf escapes: "keys \001c" is Ctrl-A c (to the monitor and back)
        keys) printf "$arg" >&3 ;;
        sleep) sleep "$arg" ;;
        kill) touch /tmp/killed; kill "$2" ;;
        esac
    done <"$1"
    # keep the write end open: skiff sees no end of input
    while :; do sleep 10; done
}

# kit_run NAME TIMEOUT INPUT|- PROGRAM ARGS...: one scenario. One that hits its timeout, or
# whose guest's kernel died of a fatal exception, runs once more, saying so: the outer machine
# (Debian's QEMU emulating SVM) now and then resumes an L2 vCPU at a wrong instruction after a
# port I/O exit, which hangs the guest or kills its kernel; QEMU as L2's VMM is hit the same
# way (docs/svm-lane.md, "Known flaws of the svm lane"). Each run is a process group of its own
# (setsid), killed whole when it ends: a timed-out run leaves no VMM behind to hold the ports,
# taps and files the next run needs.
kit_run() {
    kit_run_once "$@"
    case "$rc" in
    timeout) why="timed out" ;;
    stalled) why="was silent for ${2#*:} s (its guest hung)" ;;
    crashed) why="crashed (its guest's kernel died of a fatal exception)" ;;
    *) return ;;
    esac
    echo "kit: $1 $why: running it once more (a known flaw of the emulated SVM)"
    kit_run_once "$@"
}

kit_run_once() {
    # TIMEOUT, or TIMEOUT:QUIET (kit_svm_add --quiet)
    name=$1 tmo=${2%%:*} quiet=0 input=$3 bin=$4
    case "$2" in *:*) quiet=${2#*:} ;; esac
    shift 4
    echo "@@kit begin $name"
    rm -f /tmp/out /tmp/in /tmp/killed /tmp/timedout /tmp/crashed /tmp/stalled
    : >/tmp/out
    t0=$(kit_uptime)
    feeder=""
    # (a background job of a shell without job control leads no group: setsid makes one, pid's)
    if [ "$input" = - ]; then
        setsid "$bin" "$@" </dev/null >/tmp/out 2>&1 &
        pid=$!
    else
        mkfifo /tmp/in
        setsid "$bin" "$@" </tmp/in >/tmp/out 2>&1 &
        pid=$!
        kit_feed "$input" "$pid" &
        feeder=$!
    fi
    # the watchdog: the run's timeout, or at once when the guest's kernel died of a fatal
    # exception (an oops in an interrupt, a double fault: what the emulated SVM's flaws do to
    # an L2 guest; it would sit halted until the timeout). A deliberate panic says otherwise.
    # With a QUIET, a console silent that long is a hung guest too.
    (
        i=0 size=0 still=0
        while [ $i -lt "$tmo" ]; do
            sleep 2
            i=$((i + 2))
            if tail -c 4096 /tmp/out | grep -q 'Kernel panic - not syncing: Fatal exception'; then
                touch /tmp/crashed
                kill -9 -"$pid"
                exit
            fi
            now=$(wc -c </tmp/out)
            if [ "$now" != "$size" ]; then
                size=$now still=0
            else
                still=$((still + 2))
            fi
            if [ "$quiet" -gt 0 ] && [ $still -ge "$quiet" ]; then
                touch /tmp/stalled
                kill -9 -"$pid"
                exit
            fi
        done
        touch /tmp/timedout
        kill -9 -"$pid"
    ) &
    wd=$!
    wait "$pid"
    rc=$?
    t1=$(kit_uptime)
    kill $wd $feeder 2>/dev/null
    # what the run started and left (a VMM of a timed-out run, a server), gone before the next run
    kill -9 -"$pid" 2>/dev/null
    kr_i=0
    while kill -0 -"$pid" 2>/dev/null && [ $kr_i -lt 50 ]; do sleep 0.1; kr_i=$((kr_i + 1)); done
    cat /tmp/out
    [ -e /tmp/killed ] && rc=killed
    [ -e /tmp/timedout ] && rc=timeout
    [ -e /tmp/crashed ] && rc=crashed
    [ -e /tmp/stalled ] && rc=stalled
    echo
    echo "@@kit end $name status=$rc time=$(echo "$t1 $t0" | awk '{ printf "%.2f", $1 - $2 }')"
}

# kit_console NAME TIMEOUT - PROGRAM ARGS...: run on L1's console, in the foreground
kit_console() {
    name=$1 bin=$4
    shift 4
    "$bin" "$@"
    echo "kit: skiff exited with status $?"
}

# kit_each_new VAR FILE PATTERN CMD...: for each value that sed's "s/PATTERN/\1/p" finds in FILE
# (carriage returns dropped) and the word list in the variable VAR does not hold yet, add it
# there and run CMD... VALUE. Called again while FILE grows, it acts on each value once.
kit_each_new() {
    ken_var=$1
    ken_file=$2
    ken_pat=$3
    shift 3
    for ken_v in $(sed -n "s/$ken_pat/\1/p" "$ken_file" | tr -d '\r'); do
        eval "ken_seen=\${$ken_var}"
        case " $ken_seen " in *" $ken_v "*) continue ;; esac
        eval "$ken_var=\"\$ken_seen \$ken_v\""
        "$@" "$ken_v"
    done
}

# kit_exits CMD...: run CMD (a VMM) while L1's kernel counts its L2 guest's exits (a hist
# trigger on the kvm_exit tracepoint, summed in the kernel). For each "@@phase NAME" line CMD
# prints, "@@exits NAME N" gives the count when L1 saw the line (polled every 0.1 s); those
# lines follow CMD's output, which is shown when it ends. Returns CMD's status. One VM at a time.
kit_exits() {
    ke_ev=/sys/kernel/tracing/events/kvm/kvm_exit
    [ -e $ke_ev ] || mount -t tracefs none /sys/kernel/tracing 2>/dev/null
    echo 'hist:keys=exit_reason' >$ke_ev/trigger 2>/dev/null || echo "l1: no kvm_exit tracepoint: no exit counts"
    : >/tmp/exits.out
    : >/tmp/exits
    "$@" </dev/null >/tmp/exits.out 2>&1 &
    ke_pid=$!
    ke_seen=""
    while kill -0 $ke_pid 2>/dev/null; do
        kit_each_new ke_seen /tmp/exits.out '^@@phase \([A-Za-z0-9_.-]*\).*' kit_exits_now
        sleep 0.1
    done
    wait $ke_pid
    ke_rc=$?
    echo '!hist:keys=exit_reason' >$ke_ev/trigger 2>/dev/null
    cat /tmp/exits.out /tmp/exits
    return $ke_rc
}

# kit_exits_now PHASE: the exits counted so far, as the line "@@exits PHASE N" in /tmp/exits
kit_exits_now() {
    echo "@@exits $1 $(awk '/hitcount:/ { n += $NF } END { print n + 0 }' $ke_ev/hist 2>/dev/null)" >>/tmp/exits
}

# kit_bridge: in a scenario's own network namespace, lo up and the bridge br0 holding 10.77.0.1/24,
# which /kit/ifup joins a VMM's tap to, with iperf3's server on it where L1 has iperf3
# (kit_svm_tool iperf3); kit_bridge_end stops the server
kit_bridge() {
    ip link set lo up
    ip link add br0 type bridge
    ip addr add 10.77.0.1/24 dev br0
    ip link set br0 up
    kb_iperf=""
    if command -v iperf3 >/dev/null; then
        iperf3 -s -B 10.77.0.1 >/dev/null 2>&1 &
        kb_iperf=$!
    fi
}

kit_bridge_end() {
    [ -z "$kb_iperf" ] || kill $kb_iperf
}
