#!/bin/bash
# tests/guest/t-svm-demo.sh: scripts/demo, the README's first command, run non-interactively:
# the lines piped into it are typed into the guest's shell, and poweroff ends it with status 0.
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"

kit_suite_needs_lane 5

OUT="$TMP/demo.out"
printf 'uname -a\necho demo-$((2*21)) cpus=$(nproc)\npoweroff\n' |
    DEMO_TIMEOUT=300 timeout 600 "$SRCDIR/scripts/demo" >"$OUT" 2>&1
status=$?
out() { tr -d '\r' <"$OUT"; }
has() { out | grep -q -- "$1"; }
lacks() { ! has "$1"; }

if kit_host_runs_linux; then
    check "the demo runs skiff on this host's KVM" lacks "running the demo inside the svm lane"
else
    check "the demo says in one line that it runs in the svm lane" \
        [ "$(out | grep -c "KVM cannot run Linux.*running the demo inside the svm lane")" -eq 1 ]
fi
check "the guest's console shows Debian's kernel booting" has "Linux version"
check "uname -a typed into the demo runs in the guest" has "^Linux (none) .* x86_64 GNU/Linux"
check "the guest has 2 CPUs and runs typed commands" has "^demo-42 cpus=2"
check "poweroff ends the demo with status 0" [ "$status" -eq 0 ]
[ "$status" -eq 0 ] || out | tail -n 30 | sed 's/^/#   /'
done_testing
