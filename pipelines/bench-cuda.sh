#!/bin/sh
# bench-cuda.sh — one training step on a GPU, talcore beside PyTorch (make bench-cuda).
#
# STATUS: written without a GPU and NEVER RUN.  No machine with an NVIDIA
# GPU was available when the CUDA backend was built (kernels/README.md), so
# no number in this file's output has ever been seen; run it on a GPU
# machine, check the parity suite first (make check-cuda-sanitize), and
# record the result in pipelines/RESULTS-cuda.md.
#
# The step (issue 5): forward + backward + AdamW of the ActionFormer-style
# backbone and both heads at THUMOS size — batch 2, T = 2304, D_in = 2048,
# 512 channels, 4 heads, window 19 — with the focal loss on every level plus
# the sum of the regression outputs, the batch copied from host memory each
# step.  float32 on both sides (TF32 off on both unless TAL_CUDA_TF32=1).
#   talcore  pipelines/bench/cuda_bench.c on the CUDA backend (cuBLAS, the
#            fused banded attention and LayerNorm + ReLU kernels)
#   pytorch  pipelines/bench/cuda_torch.py: core_torch.py's network (the one
#            make bench-core uses) on the same GPU, eager mode, cuDNN
#            autotuned; row "pytorch" with core_torch.py's lean band
#            attention, row "pytorch_af" with ActionFormer's sliding chunks.
# Each side runs WARMUP steps (default 5), then times STEPS steps (default
# 30) one by one, each ended by a device synchronisation, and reports the
# median and its allocator's peak device memory over the timed steps
# (talcore: bytes in use and reserved from the driver; PyTorch: the caching
# allocator's max_memory_allocated and max_memory_reserved).  The sides run
# ROUNDS times (default 3) taking turns to go first; each side's time is the
# smallest of its medians.
#
# Prints a table, then one line:
#     cuda: talcore/pytorch step time <r>x, peak memory <m>x on <device>
# against the faster PyTorch row (below 1: talcore is better).
#
# Needs: nvcc (a CUDA build: make CUDA=1), an NVIDIA GPU and driver, and a
# Python with a CUDA build of PyTorch (PYTHON=..., default python3; Debian's
# python3-torch is CPU-only).  Cost: about 2 minutes on an H100.
#
# Environment: STEPS, WARMUP, ROUNDS, PYTHON, CUDA_BENCH (the talcore
# binary), OUT (raw lines, default .bench/cuda-results.txt).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

BIN=${CUDA_BENCH:-build/rel-cuda/bench/cuda-bench}
PY=${PYTHON:-python3}
STEPS=${STEPS:-30}
WARMUP=${WARMUP:-5}
ROUNDS=${ROUNDS:-3}
OUT=${OUT:-.bench/cuda-results.txt}

[ -x "$BIN" ] || { echo "bench-cuda: '$BIN' is missing: run make CUDA=1 bench-cuda" >&2; exit 1; }
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    echo "bench-cuda: '$PY' has no PyTorch that sees a CUDA GPU (set PYTHON=)" >&2
    exit 1
fi
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

run_talcore() { "$BIN" "$STEPS" "$WARMUP" >> "$OUT" || exit 1; }
run_torch() {
    for row in pytorch pytorch_af; do
        "$PY" pipelines/bench/cuda_torch.py "$row" "$STEPS" "$WARMUP" >> "$OUT" || exit 1
    done
}

r=1
while [ "$r" -le "$ROUNDS" ]; do
    if [ $((r % 2)) -eq 1 ]; then run_talcore; run_torch; else run_torch; run_talcore; fi
    r=$((r + 1))
done

# per row: the smallest median, the largest peaks, the device
awk '
{
    row = $1; t = $2 + 0; live = $3 + 0; res = $4 + 0
    dev = $5; for (i = 6; i <= NF; i++) dev = dev " " $i
    if (!(row in best) || t < best[row]) best[row] = t
    if (live > plive[row]) plive[row] = live
    if (res > pres[row]) pres[row] = res
    devname[row] = dev
}
END {
    printf "%-12s %12s %16s %16s  %s\n", "side", "step (ms)", "peak in use MiB", "peak reserved MiB", "device"
    n = split("talcore pytorch pytorch_af", order, " ")
    for (k = 1; k <= n; k++) {
        row = order[k]
        if (!(row in best)) continue
        printf "%-12s %12.1f %16.0f %16.0f  %s\n", row, 1000 * best[row], plive[row] / 1048576, pres[row] / 1048576, devname[row]
    }
    ref = best["pytorch"] <= best["pytorch_af"] ? "pytorch" : "pytorch_af"
    printf "cuda: talcore/pytorch step time %.2fx, peak memory %.2fx on %s\n",
        best["talcore"] / best[ref], pres["talcore"] / pres[ref], devname["talcore"]
}' "$OUT"
