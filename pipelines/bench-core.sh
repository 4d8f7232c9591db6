#!/bin/sh
# bench-core.sh — the compute core against PyTorch, side by side (make bench-core).
#
# Each row is forward + backward of one op at ActionFormer sizes (B=2,
# C=512, T=2304; attention with 4 heads, window 19), or of the
# ActionFormer-style network with both heads at THUMOS size (T=2304,
# D_in=2048, 512 channels, batch 2) and at a small size (T=256, D_in=256,
# 128 channels).  Rows ending in "_af" run, on the PyTorch side, the local
# attention the way ActionFormer's code computes it (Longformer's sliding
# chunks); the rows without the suffix use a leaner PyTorch formulation of
# the same band, so both what ActionFormer runs and a tighter PyTorch
# baseline are in the table.  Both sides run with 2 threads, each row in a fresh process
# (so that peak RSS is the row's own), and report the median time of
# REPEATS steps after a warm-up.  The talcore side is
# pipelines/bench/core_bench.c, the PyTorch side (Debian's python3-torch)
# pipelines/bench/core_torch.py.
#
# Prints a table; with the THUMOS network among the rows, a line on its
# matrix products (core-bench --gemm-floor: GFLOP per step, the time spent
# in them, the best rate a plain product reaches here, and the floor that
# rate puts under the step); then one line:
#     core: talcore/pytorch time <r>x, memory <m>x
# with geometric means over the rows of the time ratio and of the peak-RSS
# ratio (below 1: talcore is better).  The table also shows peak RSS above
# each process's RSS before its inputs existed, since PyTorch's libraries
# alone take a few hundred MiB.
#
# Each row is measured in ROUNDS rounds (default 3), the two sides taking
# turns to go first; a side's time is the smallest of its per-round medians
# and its memory the largest peak.  Other work on the machine only ever
# slows a run down, so the least disturbed round is the best estimate, and
# taking turns keeps a burst of load from landing on one side only.
#
# Cost: about 15 minutes on 2 cores when the machine is quiet.  Before
# each round the script waits for other work to leave the machine idle
# (see quiet() below); rows it could not measure quietly are marked.
#
# Per op: build/<variant>/bench/core-bench --profile ROW [REPEATS] prints where
# one step of a row goes, op by op (nn/profile.h).
#
# Environment: REPEATS (default 9; 5 for the THUMOS network), ROUNDS, QUIET_WAIT, ROWS
# (a subset), CORE_BENCH (the talcore binary), OUT (where the raw lines go,
# default .bench/core-results.txt).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

sh build-aux/deps.sh torch || exit 1
PY=/usr/bin/python3
BIN=${CORE_BENCH:-build/rel/bench/core-bench}
[ -x "$BIN" ] || { echo "bench-core: '$BIN' is missing: run make bench-core" >&2; exit 1; }
$PY pipelines/bench/core_torch.py --selftest >/dev/null || exit 1
export OMP_NUM_THREADS=2

ALL="conv1x1 conv_k3 conv_k3_2048 dwconv_s1 dwconv_s2 layernorm relu gelu sigmoid softmax_t log_softmax_c
maxpool topk_mean attn_local attn_local_af attn_global dropout drop_path layer_scale concat slice transpose add_bcast mul_mask
sum_t mean_c max_t resample_linear resample_nearest gather clamp bce focal qfl cross_entropy diou
model_small model_small_af model_thumos model_thumos_af"
ROWS=${ROWS:-$ALL}
OUT=${OUT:-.bench/core-results.txt}
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

# Fraction of the machine busy over one second, from /proc/stat (our own
# processes are idle while this runs).
busy() {
    a=$(awk '/^cpu /{ print $2+$3+$4+$5+$6+$7+$8, $5+$6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu /{ print $2+$3+$4+$5+$6+$7+$8, $5+$6 }' /proc/stat)
    echo "$a $b" | awk '{ t = $3 - $1; i = $4 - $2; printf "%.2f", (t > 0) ? 1 - i / t : 0 }'
}
# Wait (at most QUIET_WAIT seconds, default 900) until other work leaves
# the machine idle (below 10% busy), so that both sides see the same quiet
# machine; a row measured without that is marked "busy".
quiet() {
    waited=0
    while [ "$(busy | awk '{ print ($1 > 0.10) }')" = 1 ]; do
        if [ "$waited" -ge "${QUIET_WAIT:-900}" ]; then
            return 1
        fi
        sleep 4
        waited=$((waited + 5))
    done
    return 0
}

cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
echo "bench-core: $(nproc) cores ($cpu), 2 threads each side; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-core: torch $($PY -c 'import torch; print(torch.__version__)'), $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-17s %10s %10s %7s %10s %10s %7s %9s\n' row talcore_ms torch_ms time talc_MiB torch_MiB mem "mem>base"
for row in $ROWS; do
    reps=${REPEATS:-9}
    case $row in model_thumos*) reps=${REPEATS:-5} ;; esac
    cs="" ps="" note=""
    r=0
    while [ "$r" -lt "${ROUNDS:-3}" ]; do
        quiet || note=" busy"
        if [ $((r % 2)) = 0 ]; then
            c=$("$BIN" "$row" "$reps") || { echo "bench-core: talcore failed on $row" >&2; exit 1; }
            p=$($PY pipelines/bench/core_torch.py "$row" "$reps") || { echo "bench-core: pytorch failed on $row" >&2; exit 1; }
        else
            p=$($PY pipelines/bench/core_torch.py "$row" "$reps") || { echo "bench-core: pytorch failed on $row" >&2; exit 1; }
            c=$("$BIN" "$row" "$reps") || { echo "bench-core: talcore failed on $row" >&2; exit 1; }
        fi
        cs="$cs$c
" ps="$ps$p
"
        r=$((r + 1))
    done
    # smallest median time, largest peak RSS, largest base
    c=$(printf '%s' "$cs" | awk 'NR == 1 || $2 < t { t = $2 } $3 > m { m = $3 } $4 > b { b = $4 } { n = $1 } END { print n, t, m, b }')
    p=$(printf '%s' "$ps" | awk 'NR == 1 || $2 < t { t = $2 } $3 > m { m = $3 } $4 > b { b = $4 } { n = $1 } END { print n, t, m, b }')
    echo "$c $p" >> "$OUT"
    echo "$c $p" | awk -v note="$note" '{ printf "%-17s %10.2f %10.2f %6.2fx %10.1f %10.1f %6.2fx %8.2fx%s\n", $1, 1000*$2,
        1000*$6, $2/$6, $3/1024, $7/1024, $3/$7, ($3-$4)/($7-$8), note }'
done
echo "bench-core: load average $(cut -d' ' -f1-3 /proc/loadavg)"
# how far the THUMOS-size network is from the rate of its matrix products
case " $ROWS " in *" model_thumos "*)
    quiet || true
    "$BIN" --gemm-floor | sed 's/^/bench-core: /' ;;
esac
awk '{ t += log($2/$6); m += log($3/$7); d += log(($3-$4)/($7-$8)); n++ }
     END { printf "bench-core: geometric mean over %d rows of memory above each process'"'"'s base: %.2fx\n", n, exp(d/n);
           printf "core: talcore/pytorch time %.2fx, memory %.2fx\n", exp(t/n), exp(m/n) }' "$OUT"
