#!/bin/bash
# tests/guest/lane.sh: the svm lane's one L1 for a whole tests/run. Each svm-lane suite of the
# run has added its scenarios under DIR in its register phase (SKIFF_LANE_PHASE=register,
# tests/guest/kit.sh); this boots L1 once, runs them all, and leaves the console in
# build/test-logs/svm-lane.console.log for the suites' check phases. tests/run calls it.
#
#   lane.sh budget DIR     its time budget, in seconds: every scenario's --timeout, and 300 for
#                          the L1 image, L1's boot and one more boot should L1 stop
#   lane.sh run DIR        boot L1 and run the scenarios; exits 0 when every one ran to its end
#                          (a stalled L1 is booted again for those left, as kit_svm_run does)
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/tests/guest/kit.sh"

cmd=${1:-} dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 budget|run DIR" >&2; exit 2; }
KIT_SVM_DIR="$dir/svm"
scenarios="$KIT_SVM_DIR/root/kit/scenarios"

# a scenario's line: FUNCTION 'SUITE:NAME' TIMEOUT INPUT 'PROGRAM' ARGS...
lane_budget() {
    [ -s "$scenarios" ] || { echo 60; return; }
    awk '{ t += $3 + 0 } END { print t + 300 }' "$scenarios"
}

case "$cmd" in
budget)
    lane_budget
    exit 0 ;;
run) ;;
*) echo "usage: $0 budget|run DIR" >&2; exit 2 ;;
esac

if [ ! -s "$scenarios" ]; then
    echo "lane: no suite added a scenario: L1 not booted"
    exit 0
fi
total=$(wc -l <"$scenarios")
echo "lane: one L1 for $total scenarios: $(awk -F"'" '{ split($2, a, ":"); if (!(a[1] in n)) o[++k] = a[1]; n[a[1]]++ }
    END { for (i = 1; i <= k; i++) printf "%s%s (%d)", (i > 1 ? ", " : ""), o[i], n[o[i]] }' "$scenarios")"
# L1's own deadline comes before the budget's, so that a slow L1 still ends with this report
kit_svm_run "$KIT_LANE_LOG" $(($(lane_budget) - 30))
status=$?
kit_scenario_notes "$KIT_LANE_LOG"
boots=$(grep -c '^@@kit boot ' "$KIT_LANE_LOG")
ended=$(tr -d '\r' <"$KIT_LANE_LOG" | sed -n 's/^@@kit end \([^ ]*\) .*/\1/p' | sort -u | wc -l)
echo "lane: L1 booted $boots time(s); $ended of $total scenarios ran to their end"
exit $status
