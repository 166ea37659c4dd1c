# bench/lib.sh: what the benches share (sourced). Each figure is taken over several runs and
# reported as the median with the runs' spread: one run of a VM, and most of all one of the svm
# lane's emulated L1, can be several times slower or faster than the next.

# bench_reduce N: lines of N key fields and a number on stdin, one a run, to one line a key, in
# the order the keys first came: "KEY... MEDIAN MIN MAX RUNS"
bench_reduce() {
    awk -v nk="$1" '
    function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++)
            for (j = i + 1; j <= n; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    NF == nk + 1 {
        key = $1
        for (i = 2; i <= nk; i++) key = key " " $i
        if (!(key in n)) order[++keys] = key
        v[key, ++n[key]] = $(nk + 1) + 0
    }
    END {
        for (k = 1; k <= keys; k++) {
            key = order[k]
            for (i = 1; i <= n[key]; i++) a[i] = v[key, i]
            m = median(a, n[key])
            # median() sorted a: the spread is its ends
            print key, m, a[1], a[n[key]], n[key]
        }
    }'
}

# bench_median: the median of the numbers on stdin, one a line (bench_reduce over one key)
bench_median() {
    sed 's/^/m /' | bench_reduce 1 | awk '{ print $2 }'
}

# bench_per_unit CONSOLE: the exits each phase cost per unit of its work. Stdin has "work PHASE
# UNITS" lines; CONSOLE has the "@@exits PHASE COUNT" lines kit_exits printed (tests/guest/
# l1-lib.sh), a phase's exits being the count at the next phase's line less its own. Prints
# "PHASE EXITS-PER-UNIT" for each phase with work.
bench_per_unit() {
    { cat; sed -n 's/^@@exits \([A-Za-z0-9_.-]*\) \([0-9]*\)$/exits \1 \2/p' "$1"; } | awk '
    /^work / { w[$2] = $3 }
    /^exits / { e[$2] = $3; order[++n] = $2 }
    END {
        for (i = 1; i < n; i++) {
            p = order[i]
            if (w[p] > 0 && e[order[i + 1]] >= e[p])
                printf "%s %.3f\n", p, (e[order[i + 1]] - e[p]) / w[p]
        }
    }'
}
