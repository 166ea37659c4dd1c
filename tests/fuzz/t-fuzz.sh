#!/bin/bash
# t-fuzz.sh: a short libFuzzer run of every fuzz target (tests/fuzz/fuzz-*.c), seeded from
# tests/fuzz/corpus/NAME/, plus a replay of every saved crash in tests/fuzz/crashes/NAME/.
# FUZZ_SECONDS (default 15) per target.
. "$(dirname "$0")/../lib/common.sh"

need_pkg clang libclang-rt-14-dev || { skip "missing Debian packages: $MISSING_PKGS" "fuzz targets"; done_testing; }
if ! make -s -C "$SRCDIR" FUZZ=1 fuzz >"$TMP/build.log" 2>&1; then
    not_ok "the fuzz targets build with clang and libFuzzer"
    sed 's/^/# /' "$TMP/build.log" | tail -20
    done_testing
fi
secs=${FUZZ_SECONDS:-15}
for bin in "$SRCDIR"/build-fuzz/tests/fuzz/fuzz-*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    corpus="$TMP/corpus-$name"
    mkdir -p "$corpus"
    [ -d "$SRCDIR/tests/fuzz/corpus/${name#fuzz-}" ] && cp -r "$SRCDIR/tests/fuzz/corpus/${name#fuzz-}/." "$corpus/"
    if [ -d "$SRCDIR/tests/fuzz/crashes/${name#fuzz-}" ]; then
        if "$bin" "$SRCDIR/tests/fuzz/crashes/${name#fuzz-}"/* >"$TMP/replay.log" 2>&1; then
            ok "$name: every saved crash input now runs clean"
        else
            not_ok "$name: a saved crash input fails again"
            tail -30 "$TMP/replay.log" | sed 's/^/# /'
        fi
    fi
    ASAN_OPTIONS=detect_leaks=1 timeout $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$TMP/$name-" -print_final_stats=1 "$corpus" \
        >"$TMP/$name.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/$name.log")
    if [ "$status" -eq 0 ]; then
        ok "$name: ${runs:-?} inputs in ${secs} s without a crash, hang, leak or sanitizer report"
    else
        not_ok "$name: libFuzzer found a problem (status $status); reproducer in the log"
        grep -m1 -A30 "ERROR\|==ERROR\|runtime error\|deadly signal\|timeout" "$TMP/$name.log" | sed 's/^/# /'
        for a in "$TMP/$name-"*; do
            [ -e "$a" ] && { note "reproducer (base64):"; base64 -w0 "$a" | head -c 4000; echo; }
        done
    fi
done
done_testing
