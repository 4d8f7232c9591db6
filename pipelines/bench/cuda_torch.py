#!/usr/bin/python3
"""cuda_torch.py -- the PyTorch side of `make bench-cuda`.

    python3 pipelines/bench/cuda_torch.py ROW [STEPS [WARMUP]]

ROW is "pytorch" (core_torch.py's lean chunked band attention) or
"pytorch_af" (ActionFormer's own sliding-chunk attention).  One training
step of core_torch.py's ActionFormer-style network at THUMOS size (batch 2,
T=2304, D_in=2048, 512 channels, 4 heads, window 19) on the first CUDA GPU:
copy the batch from host memory, forward, the sigmoid focal loss of every
level plus the sum of the regression outputs (core_torch.py's model rows),
backward, AdamW (PyTorch's default implementation for CUDA tensors).
float32 throughout: TF32 is off for matrix products and cuDNN unless
TAL_CUDA_TF32=1, as on the talcore side.  The network is core_torch.py's,
imported, not a second copy.  After WARMUP steps (default 5), STEPS steps
(default 30) are timed one by one, each ended by torch.cuda.synchronize(),
and one line is printed:

    ROW <median s> <peak bytes allocated> <peak bytes reserved> <device>

with PyTorch's caching allocator's peaks over the timed steps.  The talcore
side is pipelines/bench/cuda_bench.c; pipelines/bench-cuda.sh runs both.
Never run yet: no GPU was available where it was written.
"""
import os
import sys
import time

import torch

import core_torch as ct


def main():
    row = sys.argv[1] if len(sys.argv) > 1 else "pytorch"
    if row not in ("pytorch", "pytorch_af"):
        raise SystemExit(f"cuda_torch.py: unknown row '{row}' (pytorch or pytorch_af)")
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    warm = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    if not torch.cuda.is_available():
        raise SystemExit("cuda_torch.py: PyTorch sees no CUDA GPU")
    tf32 = os.environ.get("TAL_CUDA_TF32", "0") not in ("", "0")
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True   # PyTorch at its best: tuned convolutions
    dev = torch.device("cuda")

    B, d_in, c, Tn = ct.B, 2048, 512, ct.T
    net = ct.ActionFormerNet(d_in, c, af=row.endswith("_af")).to(dev)
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.05)
    # the batch on the host, as core_torch.py's model rows draw it
    x = torch.randn(B, d_in, Tn)
    m = ct.full_mask(Tn)
    ys, t = [], Tn
    for _ in range(6):
        ys.append((torch.rand(B, 20, t) < 0.02).float())
        t //= 2

    def step():
        xd, md = x.to(dev), m.to(dev)
        cls, reg = net(xd, md)
        loss = 0
        for cl, rg, y in zip(cls, reg, ys):
            loss = loss + ct.sigmoid_focal(cl, y.to(dev)).sum() + rg.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times = []
    for it in range(warm + steps):
        if it == warm:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        if it >= warm:
            times.append(time.perf_counter() - t0)
    times.sort()
    print(f"{row} {times[len(times) // 2]:.6f} {torch.cuda.max_memory_allocated()} "
          f"{torch.cuda.max_memory_reserved()} {torch.cuda.get_device_name()}")


if __name__ == "__main__":
    main()
