#!/bin/bash
# t-block-san.sh: the bad-input and damaged-image suites again, on the ASan/UBSan build of skiff-img and blk-io
# budget: 120 (about 5 s)
. "$(dirname "$0")/../lib/common.sh"

SAN_IMG="$SRCDIR/build-san/skiff-img"
SAN_IO="$SRCDIR/build-san/tests/block/blk-io"
if [ ! -x "$SAN_IMG" ] || [ ! -x "$SAN_IO" ]; then
    skip "no sanitizer build (make SANITIZE=1)" "bad input under ASan/UBSan"
    done_testing
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}"
for suite in t-img-errors t-qcow2-damage; do
    SKIFF_IMG="$SAN_IMG" BLKIO="$SAN_IO" "$SRCDIR/tests/block/$suite.sh" >"$TMP/$suite.log" 2>&1
    fails=$(grep -c '^not ok' "$TMP/$suite.log")
    reports=$(grep -c 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error' "$TMP/$suite.log")
    if [ "$fails" = 0 ] && [ "$reports" = 0 ] && grep -q '^1\.\.' "$TMP/$suite.log"; then
        ok "$suite passes under ASan/UBSan with no sanitizer report"
    else
        not_ok "$suite under ASan/UBSan: $fails failures, $reports sanitizer reports"
        grep -A8 '^not ok\|ERROR: .*Sanitizer\|runtime error' "$TMP/$suite.log" | head -40 | sed 's/^/# /'
    fi
done
done_testing
