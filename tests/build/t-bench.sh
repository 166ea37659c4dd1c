#!/bin/bash
# t-bench.sh: what the benches' paired verdicts say, on runs made up here: bench_pairs'
# interval (bench/lib.sh) and `bench/net --pool`'s tables, which a developer reads to tell a
# real difference from the svm lane's noise. Runs no VM.
# budget: 30
. "$(dirname "$0")/../lib/common.sh"
. "$SRCDIR/bench/lib.sh"

# ten pairs, skiff's ratio 1.1, 1.2 ... 2.0: the median 1.55 and, by the sign test for ten
# pairs, the second smallest and second largest (P(X <= 1) = 1.1%, P(X <= 2) = 5.5%)
for i in 1 2 3 4 5 6 7 8 9 10; do
    echo "s1 $i qemu c up 10"
    echo "s1 $i skiff c up $((10 + i))"
    # less is better here: the other's value over skiff's, 2 throughout
    echo "s1 $i skiff c down 5"
    echo "s1 $i qemu c down 10"
done >"$TMP/ten"
bench_pairs '^down' <"$TMP/ten" >"$TMP/out"
check "ten pairs skiff won: 10 of 10, median 1.55, interval 1.20-1.90" grep -qx "c up 10 10 1.5500 1.2000 1.9000" "$TMP/out"
check "a figure where less is better is taken the other way round (2, not 0.5)" grep -qx "c down 10 10 2.0000 2.0000 2.0000" "$TMP/out"

# four pairs are too few for an interval; a run without its pair is no pair
{ for i in 1 2 3 4; do echo "s1 $i skiff c up 3"; echo "s1 $i qemu c up 2"; done; echo "s1 5 skiff c up 9"; } |
    bench_pairs x >"$TMP/out"
check "four pairs: no interval, and the lone run is not counted" grep -qx "c up 4 4 1.5000 - -" "$TMP/out"

# bench/net --pool: two sets of four runs; skiff ahead on TCP host -> guest in every pair, behind
# on UDP in every pair, and on TCP guest -> host as often ahead as behind
pool() {
    local set=$1 run figure s q
    for run in 1 2 3 4; do
        for figure in send recv udp; do
            case $figure in
            send) s=$((run % 2 ? 12 : 8)) q=10 ;;
            recv) s=15 q=10 ;;
            udp) s=6 q=10 ;;
            esac
            [ "$figure" = udp ] && figure=udp_pps || figure=${figure}_gbps
            echo "$set $run skiff virtio-net-pci $figure $s"
            echo "$set $run qemu virtio-net-pci $figure $q"
        done
    done
}
{ pool 12070100-abc; pool 12070200-abc; } >"$TMP/pool"
"$SRCDIR/bench/net" --pool "$TMP/pool" >"$TMP/out" 2>&1
status=$?
check "bench/net --pool reads a file --keep wrote (status $status)" test "$status" -eq 0
check "it names both sets" grep -q "pooled over 2 set(s): 12070100-abc 12070200-abc" "$TMP/out"
check "TCP host -> guest: eight pairs of eight won, ahead" \
    grep -Eq "^virtio-net-pci tap: TCP host -> guest +1.50 +1.50-1.50 +8/8  ahead$" "$TMP/out"
check "UDP: none of eight won, behind" grep -Eq "^virtio-net-pci tap: UDP 64-byte packets delivered +0.60 +0.60-0.60 +0/8  behind$" "$TMP/out"
check "TCP guest -> host, won half the time: even" grep -Eq "^virtio-net-pci tap: TCP guest -> host .* 4/8  even$" "$TMP/out"
check "the summary counts the lines" grep -q "lines at or above 1: 2 of 3 (exits aside); paired: 1 ahead, 1 even, 1 behind" "$TMP/out"
sed 's/^12070200-abc /12070200-abc-against /' "$TMP/pool" >"$TMP/mixed"
"$SRCDIR/bench/net" --pool "$TMP/mixed" >"$TMP/out" 2>&1
status=$?
check "sets against QEMU and against another skiff are not pooled (status $status)" \
    sh -c "test $status -eq 2 && grep -q 'do not pool' '$TMP/out'"
"$SRCDIR/bench/net" --pool "$TMP/nothing-here" >"$TMP/out" 2>&1
status=$?
check "a file that is not there is named (status $status)" \
    sh -c "test $status -eq 2 && grep -q 'cannot read $TMP/nothing-here' '$TMP/out'"
done_testing
