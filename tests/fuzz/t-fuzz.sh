#!/bin/bash
# t-fuzz.sh: every fuzz target (tests/fuzz/fuzz-*.c) replays its seeds (tests/fuzz/corpus/NAME/)
# and every input that once crashed it (tests/fuzz/crashes/NAME/), which must all run clean: the
# gate. Then each fuzzes for a bounded time from its seeds.
#
#   FUZZ_SECONDS        how long each target fuzzes (default 15: the whole suite takes about
#                       two minutes); 0 replays only
#   FUZZ_TARGETS        only these targets (names without fuzz-, separated by spaces)
#   FUZZ_CORPUS_DIR     keep what each target finds in FUZZ_CORPUS_DIR/NAME/ (seeded from
#                       tests/fuzz/corpus/NAME/), and its crashes in FUZZ_CORPUS_DIR/NAME-crashes/,
#                       so that campaigns build on each other (make fuzz-long does); by default
#                       a scratch copy of the seeds, thrown away
# budget: 300 (about 2 minutes)
. "$(dirname "$0")/../lib/common.sh"

need_pkg clang libclang-rt-14-dev || { skip "missing Debian packages: $MISSING_PKGS" "fuzz targets"; done_testing; }
# scripts/check has built them; a suite run on its own builds what is missing
if ! make -s -j2 -C "$SRCDIR" FUZZ=1 fuzz >"$TMP/build.log" 2>&1; then
    not_ok "the fuzz targets build with clang and libFuzzer"
    sed 's/^/# /' "$TMP/build.log" | tail -20
    done_testing
fi
secs=${FUZZ_SECONDS:-15}
export ASAN_OPTIONS=detect_leaks=1
LIBFUZZER_OPTS=(-timeout=10 -rss_limit_mb=2048)

# show_problem LOG: which input (in a replay) and where libFuzzer or a sanitizer said what went wrong
show_problem() {
    grep "^Running: " "$1" | tail -n 1 | sed 's/^/# /'
    grep -m1 -A30 "ERROR\|runtime error\|deadly signal\|timeout\|out-of-memory" "$1" | sed 's/^/# /'
}

for bin in "$SRCDIR"/build-fuzz/tests/fuzz/fuzz-*; do
    [ -x "$bin" ] || continue
    [ "${bin%.d}" = "$bin" ] || continue
    name=$(basename "$bin")
    short=${name#fuzz-}
    if [ -n "${FUZZ_TARGETS:-}" ] && ! [[ " $FUZZ_TARGETS " == *" $short "* ]]; then
        continue
    fi
    seeds=("$SRCDIR/tests/fuzz/corpus/$short"/*)
    crashes=("$SRCDIR/tests/fuzz/crashes/$short"/*)
    [ -e "${seeds[0]}" ] || seeds=()
    [ -e "${crashes[0]}" ] || crashes=()

    # the gate: each input once, as libFuzzer does with files named on its command line
    if [ ${#seeds[@]} -eq 0 ]; then
        not_ok "$name has seeds in tests/fuzz/corpus/$short/"
    elif "$bin" "${LIBFUZZER_OPTS[@]}" "${seeds[@]}" >"$TMP/$name-seeds.log" 2>&1; then
        ok "$name: its ${#seeds[@]} seeds run clean"
    else
        not_ok "$name: a seed fails"
        show_problem "$TMP/$name-seeds.log"
    fi
    if [ ${#crashes[@]} -gt 0 ]; then
        if "$bin" "${LIBFUZZER_OPTS[@]}" "${crashes[@]}" >"$TMP/$name-crashes.log" 2>&1; then
            ok "$name: the ${#crashes[@]} inputs that once crashed it now run clean"
        else
            not_ok "$name: an input that once crashed it fails again"
            show_problem "$TMP/$name-crashes.log"
        fi
    fi
    [ "$secs" -gt 0 ] || continue

    # bounded fuzzing from the seeds
    if [ -n "${FUZZ_CORPUS_DIR:-}" ]; then
        corpus="$FUZZ_CORPUS_DIR/$short"
        artifacts="$FUZZ_CORPUS_DIR/$short-crashes"
    else
        corpus="$TMP/corpus-$short"
        artifacts="$TMP/$short-crashes"
    fi
    mkdir -p "$corpus" "$artifacts"
    [ ${#seeds[@]} -gt 0 ] && cp -n "${seeds[@]}" "$corpus/"
    timeout $((secs + 60)) "$bin" -max_total_time="$secs" "${LIBFUZZER_OPTS[@]}" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$TMP/$name.log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMP/$name.log")
    if [ "$status" -eq 0 ]; then
        ok "$name: ${runs:-?} inputs in $secs s without a crash, hang, leak or sanitizer report"
    else
        not_ok "$name: libFuzzer found a problem (status $status); reproducer in the log"
        show_problem "$TMP/$name.log"
        for a in "$artifacts"/*; do
            [ -f "$a" ] || continue
            note "reproducer $a (base64; save it in tests/fuzz/crashes/$short/ with the fix):"
            base64 -w0 "$a" | head -c 4000
            echo
        done
    fi
done
done_testing
