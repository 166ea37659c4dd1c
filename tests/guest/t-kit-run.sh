#!/bin/bash
# t-kit-run.sh: how the svm lane's L1 runs one scenario (tests/guest/l1-lib.sh's kit_run), here on
# this machine with a made-up scenario in place of a VMM: one that ends is framed with its status
# and runs once; one that hangs silently ends at its --quiet limit, not at its timeout, and runs
# once more; one that talks on past its timeout is killed at the timeout, with all it started.
# kit_run keeps its files in /tmp, as it does in L1: here it gets a /tmp of its own (a mount
# namespace with a tmpfs), so it needs root.
# budget: 90 (about 25 s)
. "$(dirname "$0")/../lib/common.sh"

if [ "$(id -u)" -ne 0 ] || ! unshare -m true 2>/dev/null; then
    skip "a /tmp of its own needs root (unshare -m)" "kit_run's scenarios"
    done_testing
fi

# run_kit SCENARIO-LINE: kit_run as L1 runs it, in a private /tmp; its console to $TMP/out. The
# library is read through a descriptor opened before: the tree may be under /tmp (a fresh clone)
run_kit() {
    unshare -m /bin/sh -c 'mount -t tmpfs tmpfs /tmp && eval "$(cat <&3)" && eval "$1"' sh "$1" \
        3<"$SRCDIR/tests/guest/l1-lib.sh" >"$TMP/out" 2>&1
}
ends() { grep -c "^@@kit end $1 status=$2 " "$TMP/out"; }
took() { sed -n "s/^@@kit end $1 status=$2 time=\([0-9]*\).*/\1/p" "$TMP/out" | head -n 1; }

# (the made-up guests are sh -c scripts: the private /tmp hides this machine's, where TMP may be)
run_kit "kit_run fine 30:10 - /bin/sh -c 'echo guest: up; sleep 1; echo guest: done'"
check "a scenario that ends is framed with its status 0, once" \
    sh -c "[ $(ends fine 0) -eq 1 ] && grep -q '^@@kit begin fine' '$TMP/out' && grep -q '^guest: done' '$TMP/out'"

# a guest that prints, then hangs with nothing more (the lane's hang after a port I/O exit)
start=$SECONDS
run_kit "kit_run hang 120:6 - /bin/sh -c 'echo guest: up; sleep 317'"
wall=$((SECONDS - start)) t=$(took hang stalled)
check "a scenario silent for its --quiet 6 s ends as stalled, and runs once more, stalled again" \
    sh -c "[ $(ends hang stalled) -eq 2 ] && grep -q 'kit: hang was silent for 6 s (its guest hung): running it once more' '$TMP/out'"
check "each run ends within seconds of the limit, not at the 120 s timeout (took ${t:-?} s; both $wall s)" \
    test "${t:-0}" -ge 6 -a "${t:-99}" -le 12 -a "$wall" -lt 40
# none_left PATTERN: no process runs whose command line is PATTERN
none_left() { ! pgrep -x -f "$1" >/dev/null; }
check "and nothing it started is left running" none_left "sleep 317"

# a guest that keeps talking is no hang: it runs to its timeout
run_kit "kit_run_once chatty 8:4 - /bin/sh -c 'while :; do echo guest: tick; sleep 1.01; done'"
t=$(took chatty timeout)
check "a scenario that keeps printing is not taken as hung: it ends at its 8 s timeout (${t:-?} s)" \
    test "$(ends chatty timeout)" -eq 1 -a "$(ends chatty stalled)" -eq 0 -a "${t:-0}" -ge 8
check "and nothing it started is left running" none_left "/bin/sh -c while :; do echo guest: tick; sleep 1.01; done"
done_testing
