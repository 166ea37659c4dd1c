# bench/lib.sh: what the benches share (sourced). Each figure is taken over several runs and
# reported as the median with the runs' spread: one run of a VM, and most of all one of the svm
# lane's emulated L1, can be several times slower or faster than the next.

# bench_reduce N: lines of N key fields and a number on stdin, one a run, to one line a key, in
# the order the keys first came: "KEY... MEDIAN MIN MAX RUNS"
# bench_awk_median: awk's median(a, n), which sorts a[1..n] in place; for the programs below
bench_awk_median='
    function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++)
            for (j = i + 1; j <= n; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }'

bench_reduce() {
    awk -v nk="$1" "$bench_awk_median"'
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

# bench_pairs LOWER: stdin "SET RUN VMM CASE FIGURE VALUE", a line a figure a run, VMM "skiff" or
# the other one. A run of skiff and the other's run of the same SET and RUN (next to it in time)
# are a pair. Per CASE FIGURE, in the order they first came: "CASE FIGURE PAIRS WON MEDIAN LOW
# HIGH", the pairs' ratios skiff/other (other/skiff for figures matching the regex LOWER, where
# less is better), WON the pairs at 1 or above, LOW-HIGH the median's 90% confidence interval by
# the sign test: the K-th smallest and K-th largest ratio, K the largest with P(Bin(PAIRS, 1/2) < K)
# <= 5%; "-" for both below five pairs, where even all of them on one side is no evidence.
bench_pairs() {
    awk -v lower="$1" "$bench_awk_median"'
    NF == 6 {
        key = $4 " " $5
        if (!(key in seen)) { seen[key] = 1; order[++keys] = key }
        id = $1 " " $2
        side = $3 == "skiff" ? "s" : "o"
        val[key, id, side] = $6 + 0
        if (!((key, id) in ided)) { ided[key, id] = 1; ids[key, ++nid[key]] = id }
    }
    END {
        for (k = 1; k <= keys; k++) {
            key = order[k]; split(key, kf, " ")
            n = 0; won = 0
            for (i = 1; i <= nid[key]; i++) {
                id = ids[key, i]
                if (!((key, id, "s") in val) || !((key, id, "o") in val)) continue
                s = val[key, id, "s"]; o = val[key, id, "o"]
                if (s <= 0 || o <= 0) continue
                r = kf[2] ~ lower ? o / s : s / o
                a[++n] = r
                if (r >= 1) won++
            }
            if (n == 0) { print key, 0, 0, "-", "-", "-"; continue }
            # median() sorted a: the interval is read from it
            m = median(a, n)
            # the sign test: the largest K with P(X <= K - 1) <= 0.05, X ~ Bin(n, 1/2)
            kk = 0; c = 0; p = 0.5 ^ n; term = p
            for (j = 0; j < n; j++) {
                c += term
                if (c > 0.05) break
                kk = j + 1
                term = term * (n - j) / (j + 1)
            }
            if (kk >= 1)
                printf "%s %d %d %.4f %.4f %.4f\n", key, n, won, m, a[kk], a[n - kk + 1]
            else
                printf "%s %d %d %.4f - -\n", key, n, won, m
        }
    }'
}
