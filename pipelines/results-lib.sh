# results-lib.sh — helpers the results recipes share (sourced, POSIX sh).
# Over tal-map --json files and "seconds peak-KB" cost files.

# the mAP of each threshold, in %, 2 decimals, space-separated
ap() { jq -r '[.mAP[] * 100] | map(. * 100 | round / 100 | tostring) | join(" ")' "$1"; }
# the average mAP in %
avg() { jq -r '.average * 100' "$1"; }
# "S s, M MiB" of a cost file
cost() { awk '{ printf "%.0f s, %.0f MiB", $1, $2 / 1024 }' "$1"; }
# mean and sample sd of the numbers on stdin, as "m ± s"
msd() { awk '{ s += $1; q += $1 * $1; n++ } END { m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0;
                 printf "%.2f ± %.2f", m, sqrt(v > 0 ? v : 0) }'; }
# per-threshold means over the files given
mean_ap() { for f in "$@"; do jq -r '[.mAP[] * 100] | map(tostring) | join(" ")' "$f"; done |
            awk '{ for (i = 1; i <= NF; i++) s[i] += $i; n = NF; c++ } END { for (i = 1; i <= n; i++) printf "%s%.2f", (i > 1 ? " " : ""), s[i] / c }'; }

# Over runs laid out as $out/BENCH-MODEL-10-SEED/NAME.json for the seeds in
# $seeds (the callers set both):
# the difference of two methods at 10 %, per seed (same split and seed), mean ± sd
paired() { # BENCH MODEL A B
    for s in $seeds; do
        [ -f "$out/$1-$2-10-$s/$3.json" ] && [ -f "$out/$1-$2-10-$s/$4.json" ] || continue
        echo "$(avg "$out/$1-$2-10-$s/$4.json") - $(avg "$out/$1-$2-10-$s/$3.json")" | bc -l
    done | msd
}
spread() { for s in $seeds; do [ -f "$out/$1-$2-10-$s/$3.json" ] && avg "$out/$1-$2-10-$s/$3.json"; done | msd | sed 's/.*± //'; }
verdict() { # BENCH MODEL A B: does B beat A by more than the seed-to-seed spread of both?
    d=$(paired "$@") n=0
    for s in $seeds; do [ -f "$out/$1-$2-10-$s/$3.json" ] && [ -f "$out/$1-$2-10-$s/$4.json" ] && n=$((n + 1)); done
    if [ "$n" = 0 ]; then
        echo "not run on a common seed yet"
        return
    elif [ "$n" = 1 ]; then
        echo "one seed, no spread to judge by: ${d%% ±*} points"
        return
    fi
    dm=${d%% ±*}
    sa=$(spread "$1" "$2" "$3") sb=$(spread "$1" "$2" "$4")
    if [ "$(echo "$dm > $sa && $dm > $sb" | bc -l)" = 1 ]; then
        echo "yes: $d points (spread $sa, $sb)"
    elif [ "$(echo "$dm > 0" | bc -l)" = 1 ]; then
        echo "not beyond the spread: $d points (spread $sa, $sb)"
    else
        echo "no: $d points (spread $sa, $sb)"
    fi
}

# invocations LOG WHAT: a recipe's log of its invocations (a line each:
# seconds, fresh or resumed, date, parts side by side) as two sentences,
# WHAT saying what the fresh one ran
invocations() {
    awk -v what="$2" '
        $2 == "fresh" { printf "A fresh invocation of %s: %s s of wall time, %s part(s) side by side (%s).\n", $3, $1, $4, what; next }
        { n++; secs += $1; last = $3 }
        END { if (n) printf "Resumed %d time(s) since (only what was missing each time; the last on %s): %d s of wall time in all.\n", n, last, secs }' "$1"
}

# run_lanes JOBS DIR UNITS: JOBS lanes side by side, each taking the next
# unclaimed line of UNITS (a command: a function of the recipe and its
# arguments, run in the lane's subshell, so its variables stay there) in
# the order given (the longest first makes the lanes end together); a
# claim is a directory under DIR/.claims.  Under set -e a failing unit
# ends its lane; lanes_failed is then 1 (else 0).  Call it as a plain
# command, not in an && or || list: there the shell ignores set -e in
# everything the lanes run.
run_lanes() {
    _jobs=$1 _claims=$2/.claims _units=$3
    rm -rf "$_claims" && mkdir "$_claims"
    _n=$(echo "$_units" | wc -l) _pids="" _failed=0
    for _j in $(seq "$_jobs"); do
        (
            for _i in $(seq "$_n"); do
                mkdir "$_claims/$_i" 2>/dev/null || continue
                # shellcheck disable=SC2046
                set -- $(echo "$_units" | sed -n "${_i}p")
                "$@"
            done
        ) &
        _pids="$_pids $!"
    done
    for _p in $_pids; do wait "$_p" || _failed=1; done
    rm -rf "$_claims"
    lanes_failed=$_failed
}
