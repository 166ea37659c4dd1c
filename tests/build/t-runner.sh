#!/bin/bash
# t-runner.sh: tests/run as a developer meets it, on a tree of made-up suites: its last line
# counts their results, and a suite that passes but leaves files in its TMPDIR fails for it.
# budget: 60
. "$(dirname "$0")/../lib/common.sh"

tree=$TMP/tree
mkdir -p "$tree/tests/x"
cp "$SRCDIR/tests/run" "$tree/tests/run"
# suite NAME BODY: a script suite that runs BODY and then reports two passes, and a third result
# of BODY's (OK3: "ok" or "not ok")
suite() {
    printf '#!/bin/bash\n# budget: 20\n%s\necho "ok 1 - one"\necho "ok 2 - two"\necho "%s 3 - three"\necho "1..3"\n' \
        "$2" "$3" >"$tree/tests/x/$1"
    chmod +x "$tree/tests/x/$1"
}
suite t-clean.sh 'f=$(mktemp "$TMPDIR/x.XXXXXX"); rm -f "$f"' ok
suite t-leaves.sh 'touch "$TMPDIR/skiff-left-behind.log"' ok
suite t-fails.sh 'touch "$TMPDIR/kept-for-a-look"' "not ok"

TMPDIR=$TMP "$tree/tests/run" >"$TMP/out" 2>&1
status=$?
check "the run fails (status $status)" test "$status" -ne 0
check "its last line counts every result: 8 passed, 2 failed" sh -c "tail -n 1 '$TMP/out' | grep -qx '8 passed, 2 failed, 0 skipped'"
check "a suite that leaves a file in its TMPDIR fails, and the file is named" \
    grep -q "^FAIL tests/x/t-leaves.sh: left files in its TMPDIR: skiff-left-behind.log" "$TMP/out"
check "the file is kept beside the suite's log" test -e "$tree/build/test-logs/tests_x_t-leaves.sh.log.tmp/skiff-left-behind.log"
check "a suite whose TMPDIR ends empty passes" grep -q "tests/x/t-clean.sh .* passed" "$TMP/out"
check "a failed suite is not failed again for what it left, which is kept" \
    sh -c "! grep -q 't-fails.sh: left files' '$TMP/out' && test -e '$tree/build/test-logs/tests_x_t-fails.sh.log.tmp/kept-for-a-look'"
check "nothing is left where the run kept its state" sh -c "! ls -d '$TMP'/skiff-run.* 2>/dev/null"

# the suite mended, a run of it alone passes and drops what the last run kept
suite t-leaves.sh ':' ok
TMPDIR=$TMP "$tree/tests/run" t-leaves >"$TMP/out" 2>&1
status=$?
check "once it leaves nothing, it passes (status $status)" sh -c "test $status -eq 0 && tail -n 1 '$TMP/out' | grep -qx '3 passed, 0 failed, 0 skipped'"
check "and what the earlier run kept for it is gone" test ! -e "$tree/build/test-logs/tests_x_t-leaves.sh.log.tmp"
done_testing
