#!/usr/bin/python3
"""train_torch.py -- the PyTorch side of `make bench-train`.

    train_torch.py train  --config CFG --init INIT.ckpt [options] TRAIN.tal
    train_torch.py detect --config CFG --model MODEL.ckpt [options] TEST.tal
    train_torch.py compare [--talcore M.jsonl --torch T.jsonl] [--dets D.tal --torch-dets D.jsonl]

A PyTorch implementation of talcore's ActionFormer-style detector
(lib/models/af_*.c), written for the benchmark: the network is
core_torch.ActionFormerNet (masked-conv embedding, pre-LN transformer blocks
with multi-head conv attention over a local window, max-pool skips,
LayerScale, drop-path, LayerNorm neck, shared heads); training adds
ActionFormer's label assignment with centre sampling (vectorised over
points x instances, as ActionFormer computes it on every step), sigmoid
focal + DIoU losses over the valid positions normalised by a moving average
of the positive count, AdamW with decay on convolution weights only, linear
warmup + cosine per iteration, gradient clipping at the global L2 norm, and
a weight EMA; detection runs the EMA weights, then per-level thresholding
and top-k, decoding, per-class Gaussian Soft-NMS and conversion to seconds.

Same data and same work as tal-train / tal-detect:
  - the config is talcore's, resolved (`tal-train --print-config`);
  - the starting weights are read from a talcore checkpoint (--init), and
    detection runs on the EMA weights of talcore's trained checkpoint;
  - the batch order, the random crops and the drop-path masks are drawn
    from talcore's own random streams (talio.Rng: the same seed, the same
    splits), so every step has the same sequences, crops and padded length;
  - each batch is padded to its longest crop rounded up to
    2^branch_blocks, each test sequence to a multiple of 2^branch_blocks.

Prints JSON lines on standard output: with --log-every, one per step
(loss terms, positives, padded length); at the end one "epoch" or
"detect" line with the times.  Times exclude reading the training stream
(it is loaded first, as tal-train does) and include reading the test stream
(read one record at a time, as tal-detect does).
"""
import argparse
import json
import math
import os
import re
import resource
import sys
import time
import types

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core_torch as ct  # noqa: E402
import talio  # noqa: E402


# ---------------------------------------------------------------------------
# config: the flat "key: value" text of tal-train --print-config

def load_config(path):
    cfg = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            k, v = [s.strip() for s in line.split(":", 1)]
            if v.startswith("["):
                cfg[k] = json.loads(v)
            elif v in ("true", "false"):
                cfg[k] = v == "true"
            else:
                try:
                    cfg[k] = int(v)
                except ValueError:
                    try:
                        cfg[k] = float(v)
                    except ValueError:
                        cfg[k] = v
    if cfg.get("model.kind") != "actionformer":
        raise SystemExit("train_torch.py: the config is not an ActionFormer-style model")
    fixed = {"model.embd_layers": 2, "model.head_layers": 2, "model.mlp_ratio": 4, "model.kernel": 3}
    for k, v in fixed.items():
        if cfg[k] != v:
            raise SystemExit(f"train_torch.py: {k} must be {v} (core_torch.ActionFormerNet is built so)")
    return cfg


# ---------------------------------------------------------------------------
# the network, its parameter names in talcore's checkpoints, drop-path

def build_net(cfg, d_in, classes):
    net = ct.ActionFormerNet(d_in, cfg["model.channels"], classes, cfg["model.heads"], cfg["model.window"],
                             cfg["model.stem_blocks"], cfg["model.branch_blocks"])
    for m in net.modules():
        if isinstance(m, ct.AffineDropPath):
            m.p = cfg["model.drop_path"]
            m.forward = types.MethodType(_drop_path_forward, m)
    return net


class _Draws:
    """talcore's drop-path draws for the current step: call i of the
    forward pass takes split(step stream, i) and one float per sample"""
    rng = None
    calls = 0


def _drop_path_forward(self, x):
    x = self.scale * x
    if not self.training or self.p == 0:
        return x
    r = _Draws.rng.split(_Draws.calls)
    _Draws.calls += 1
    p = float(np.float32(self.p))
    keep = torch.tensor([1.0 / (1.0 - self.p) if r.float() >= p else 0.0 for _ in range(x.shape[0])],
                        dtype=x.dtype).view(-1, *([1] * (x.ndim - 1)))
    return x * keep


_QKV = {"query": 0, "key": 1, "value": 2}
_RULES = [
    (r"^backbone\.embd\.(\d+)\.conv\.weight$", r"embd.\1.conv.weight"),
    (r"^backbone\.embd_norm\.(\d+)\.(weight|bias)$", r"embd_norm.\1.\2"),
    (r"^backbone\.(stem|branch)\.(\d+)\.(ln[12])\.(weight|bias)$", r"\1.\2.\3.\4"),
    (r"^backbone\.(stem|branch)\.(\d+)\.attn\.(query|key|value)_conv\.conv\.weight$", r"\1.\2.attn.convs.{\3}.conv.weight"),
    (r"^backbone\.(stem|branch)\.(\d+)\.attn\.(query|key|value)_norm\.(weight|bias)$", r"\1.\2.attn.norms.{\3}.\4"),
    (r"^backbone\.(stem|branch)\.(\d+)\.attn\.(query|key|value)\.(weight|bias)$", r"\1.\2.attn.proj_in.{\3}.\4"),
    (r"^backbone\.(stem|branch)\.(\d+)\.attn\.proj\.(weight|bias)$", r"\1.\2.attn.proj.\3"),
    (r"^backbone\.(stem|branch)\.(\d+)\.mlp\.0\.(weight|bias)$", r"\1.\2.mlp.0.\3"),
    (r"^backbone\.(stem|branch)\.(\d+)\.mlp\.3\.(weight|bias)$", r"\1.\2.mlp.2.\3"),
    (r"^backbone\.(stem|branch)\.(\d+)\.drop_path_attn\.scale$", r"\1.\2.dp1.scale"),
    (r"^backbone\.(stem|branch)\.(\d+)\.drop_path_mlp\.scale$", r"\1.\2.dp2.scale"),
    (r"^neck\.fpn_norms\.(\d+)\.(weight|bias)$", r"neck.\1.\2"),
    (r"^(cls|reg)_head\.head\.(\d+)\.conv\.weight$", r"\1.convs.\2.conv.weight"),
    (r"^(cls|reg)_head\.norm\.(\d+)\.(weight|bias)$", r"\1.norms.\2.\3"),
    (r"^cls_head\.cls_head\.conv\.(weight|bias)$", r"cls.out.conv.\1"),
    (r"^reg_head\.offset_head\.conv\.(weight|bias)$", r"reg.out.conv.\1"),
    (r"^reg_head\.scale\.(\d+)\.scale$", r"reg.scales.\1"),
]


def torch_name(name):
    for pat, rep in _RULES:
        if re.match(pat, name):
            s = re.sub(pat, rep, name)
            return re.sub(r"\{(query|key|value)\}", lambda m: str(_QKV[m.group(1)]), s)
    raise SystemExit(f"train_torch.py: no PyTorch parameter for talcore's '{name}'")


def load_weights(net, tensors):
    """copy a talcore parameter set into the network; every parameter once"""
    own = dict(net.named_parameters())
    seen = set()
    with torch.no_grad():
        for name, a in tensors.items():
            tn = torch_name(name)
            p = own.get(tn)
            if p is None or p.numel() != a.size:
                raise SystemExit(f"train_torch.py: '{name}' -> '{tn}' does not fit")
            p.copy_(torch.from_numpy(a).view(p.shape))
            seen.add(tn)
    missing = set(own) - seen
    if missing:
        raise SystemExit(f"train_torch.py: not in the checkpoint: {sorted(missing)[:5]}")


# ---------------------------------------------------------------------------
# label assignment and losses

class Points:
    """every position of every level, levels concatenated: t (grid units
    of level 0), stride, regression range"""

    def __init__(self, cfg, T):
        L = cfg["model.branch_blocks"] + 1
        rr = cfg["model.reg_range"]
        t, s, lo, hi = [], [], [], []
        for l in range(L):
            st = 1 << l
            n = T // st
            a = rr[2 * l] if rr else (0.0 if l == 0 else float(4 << (l - 1)))
            b = rr[2 * l + 1] if rr else (10000.0 if l == L - 1 else float(4 << l))
            t.append(torch.arange(n, dtype=torch.float32) * st)
            s.append(torch.full((n,), float(st)))
            lo.append(torch.full((n,), a))
            hi.append(torch.full((n,), b))
        self.t, self.s, self.lo, self.hi = [torch.cat(v) for v in (t, s, lo, hi)]
        self.n = len(self.t)
        self.levels = L


@torch.no_grad()
def assign(pts, segs, cls, valid_len, C, radius):
    """ActionFormer's assignment for one sequence: (P, C) class targets,
    (P, 2) regression targets in units of the stride, (P,) positives"""
    P = pts.n
    if len(segs) == 0:
        return torch.zeros(P, C), torch.zeros(P, 2), torch.zeros(P, dtype=torch.bool)
    g = torch.from_numpy(segs)
    gs, ge = g[:, 0][None], g[:, 1][None]                    # (1, N)
    t, s = pts.t[:, None], pts.s[:, None]                     # (P, 1)
    left, right = t - gs, ge - t
    if radius > 0:
        ctr = 0.5 * (gs + ge)
        inside = torch.minimum(t - torch.maximum(ctr - s * radius, gs), torch.minimum(ctr + s * radius, ge) - t) > 0
    else:
        inside = torch.minimum(left, right) > 0
    far = torch.maximum(left, right)
    ok = inside & (far >= pts.lo[:, None]) & (far <= pts.hi[:, None])
    lens = torch.where(ok, (ge - gs).expand_as(ok), torch.full_like(left, math.inf))
    best, arg = lens.min(1)
    pos = torch.isfinite(best) & (pts.t < valid_len)
    hot = ok & (lens <= best[:, None] + np.float32(1e-3)) & pos[:, None]
    y = torch.zeros(P, C)
    nz = torch.nonzero(hot)
    y[nz[:, 0], torch.from_numpy(cls)[nz[:, 1]]] = 1.0
    i = torch.arange(P)
    reg = torch.stack([left[i, arg], right[i, arg]], 1) / pts.s[:, None]
    return y, reg * pos[:, None], pos


def diou_1d(p, g):
    lp, rp, lg, rg = p[:, 0], p[:, 1], g[:, 0], g[:, 1]
    inter = torch.minimum(lp, lg) + torch.minimum(rp, rg)
    union = lp + rp + lg + rg - inter
    iou = inter / union.clamp(min=1e-8)
    enclose = torch.maximum(lp, lg) + torch.maximum(rp, rg)
    rho = 0.5 * (rp - lp - rg + lg)
    return 1.0 - iou + (rho / enclose.clamp(min=1e-8)) ** 2


# ---------------------------------------------------------------------------
# training

def lr_at(cfg, step, iters):
    """talcore's tal_sched_lr for warmup + cosine"""
    base, wu = cfg["train.lr"], cfg["train.warmup_epochs"] * iters
    total = (cfg["train.warmup_epochs"] + cfg["train.epochs"]) * iters
    if wu > 0 and step < wu:
        return base if wu == 1 else step * base / (wu - 1)
    span = total - wu
    if span <= 0:
        return cfg["train.eta_min"]
    p = min((step - wu) / span, 1.0)
    return cfg["train.eta_min"] + 0.5 * (base - cfg["train.eta_min"]) * (1 + math.cos(math.pi * p))


def train(a, cfg):
    t_load = time.perf_counter()
    hdr, it = talio.read_stream(a.stream)
    recs = [r for r in it if r.supervision == talio.SUP_FULL]
    if a.head:
        recs = recs[:a.head]
    C, D = len(hdr.classes), recs[0].feat.shape[1]
    segs = [talio.grid_segments(r, hdr) for r in recs]
    t_load = time.perf_counter() - t_load

    net = build_net(cfg, D, C)
    load_weights(net, talio.read_checkpoint(a.init, ("params",))["params"])
    net.train()
    conv_w = {id(m.weight) for m in net.modules() if isinstance(m, torch.nn.Conv1d)}
    params = list(net.parameters())
    decay = [p for p in params if id(p) in conv_w]
    rest = [p for p in params if id(p) not in conv_w]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["train.weight_decay"]},
                             {"params": rest, "weight_decay": 0.0}], lr=cfg["train.lr"], betas=(0.9, 0.999), eps=1e-8)
    ema = [p.detach().clone() for p in params] if cfg["train.ema_decay"] > 0 else None

    B = min(cfg["train.batch_size"], len(recs))
    iters = len(recs) // B
    div = 1 << cfg["model.branch_blocks"]
    crop_lo, crop_hi = (cfg["train.crop_ratio"] + [1.0, 1.0])[:2] if cfg["train.crop_ratio"] else (1.0, 1.0)
    offset = 0.5 * hdr.clip / hdr.stride
    root = talio.Rng(cfg["train.seed"])
    r_order, r_crop, r_drop = root.split(2), root.split(3), root.split(4)
    norm = cfg["loss.init_loss_norm"]
    mom, alpha, gamma = cfg["loss.loss_norm_momentum"], cfg["loss.focal_alpha"], cfg["loss.focal_gamma"]
    eps_ls = cfg["loss.label_smoothing"]
    points = {}
    epochs = a.epochs
    step = 0
    rows = []
    for epoch in range(epochs):
        order = r_order.split(epoch).shuffle(list(range(len(recs))))
        t0 = time.perf_counter()
        steps_run = 0
        for i in range(iters):
            if a.steps and steps_run >= a.steps:
                break
            ts = time.perf_counter()
            batch = [order[i * B + b] for b in range(B)]
            cr = r_crop.split(step)
            _Draws.rng, _Draws.calls = r_drop.split(step), 0
            crops = []
            for k in batch:
                sg, cl = segs[k]
                crops.append(talio.crop(cr, recs[k].T, cfg["model.max_seq_len"], crop_lo, crop_hi,
                                        cfg["train.trunc_thresh"], offset, sg, cl))
            T = -(-max(c[1] for c in crops) // div) * div
            x = torch.zeros(B, D, T)
            mask = torch.zeros(B, 1, T, dtype=torch.bool)
            for b, (k, (st, n, _, _)) in enumerate(zip(batch, crops)):
                x[b, :, :n] = torch.from_numpy(recs[k].feat[st:st + n]).t()
                mask[b, :, :n] = True
            if T not in points:
                points[T] = Points(cfg, T)
            pts = points[T]
            tg = [assign(pts, c[2], c[3], c[1], C, cfg["model.center_radius"]) for c in crops]
            y = torch.stack([v[0] for v in tg])
            reg_t = torch.stack([v[1] for v in tg])
            pos = torch.stack([v[2] for v in tg])
            valid = torch.stack([pts.t < c[1] for c in crops])
            if eps_ls > 0:
                y = y * (1 - eps_ls) + eps_ls / (C + 1)

            cls, reg = net(x, mask)
            logits = torch.cat([c.transpose(1, 2) for c in cls], 1)       # (B, P, C)
            offs = torch.cat([r.transpose(1, 2) for r in reg], 1)         # (B, P, 2)
            cls_loss = ct.sigmoid_focal(logits[valid], y[valid], alpha, gamma).sum()
            npos = int(pos.sum())
            reg_loss = diou_1d(offs[pos], reg_t[pos]).sum() if npos else logits.new_zeros(())
            norm = mom * norm + (1 - mom) * max(npos, 1)
            loss = cls_loss / norm + cfg["loss.reg_weight"] * reg_loss / norm

            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg["train.clip_grad"] > 0:
                gnorm = float(torch.nn.utils.clip_grad_norm_(params, cfg["train.clip_grad"]))
            else:
                gnorm = float("nan")
            lr = lr_at(cfg, step, iters)
            for grp in opt.param_groups:
                grp["lr"] = lr
            opt.step()
            if ema is not None:
                with torch.no_grad():
                    d = cfg["train.ema_decay"]
                    torch._foreach_mul_(ema, d)
                    torch._foreach_add_(ema, [p.detach() for p in params], alpha=1 - d)
            step += 1
            steps_run += 1
            if a.log_every and step % a.log_every == 0:
                print(json.dumps({"kind": "step", "step": step, "T": T, "loss": float(loss),
                                  "cls": float(cls_loss) / norm, "reg": cfg["loss.reg_weight"] * float(reg_loss) / norm,
                                  "positives": npos, "lr": lr, "grad_norm": gnorm,
                                  "seconds": time.perf_counter() - ts}), flush=True)
        rows.append(time.perf_counter() - t0)
        print(json.dumps({"kind": "epoch", "epoch": epoch + 1, "steps": steps_run, "time": rows[-1],
                          "load_time": t_load, "threads": torch.get_num_threads(),
                          "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)
    if a.save:
        np.savez(a.save, **{n: p.detach().numpy() for n, p in net.named_parameters()})


# ---------------------------------------------------------------------------
# detection

def soft_nms(seg, score, label, C, sigma, min_score, max_keep):
    """per-class Gaussian Soft-NMS, every class at once: each round takes
    each class's best remaining detection and decays the others of its
    class by exp(-IoU^2/sigma) (IoU as talcore computes it: no 1e-6 on the
    lengths, 0 when the union is not positive); detections below min_score
    leave.  At most max_keep taken per class; then all classes by score,
    max_keep kept."""
    if len(score) == 0:
        return seg, score, label
    order = torch.argsort(label, stable=True)
    seg, score, label = seg[order], score[order], label[order]
    counts = torch.bincount(label, minlength=C)
    present = counts > 0
    G, M = int(present.sum()), int(counts.max())
    gid = torch.cumsum(present, 0)[label] - 1
    col = torch.arange(len(label)) - (torch.cumsum(counts, 0) - counts)[label]
    S = torch.zeros(G, M, dtype=torch.float64)
    st, en = torch.zeros(G, M, dtype=torch.float64), torch.ones(G, M, dtype=torch.float64)
    alive = torch.zeros(G, M, dtype=torch.bool)
    S[gid, col], st[gid, col], en[gid, col], alive[gid, col] = score, seg[:, 0], seg[:, 1], True
    length = en - st
    lab = torch.arange(C)[present]
    ninf = torch.tensor(-math.inf, dtype=torch.float64)
    taken = []
    for _ in range(max_keep if max_keep > 0 else M):
        val, best = torch.where(alive, S, ninf).max(1, keepdim=True)
        has = val[:, 0] > -math.inf
        if not bool(has.any()):
            break
        bs, be = st.gather(1, best), en.gather(1, best)
        taken.append(torch.cat([bs, be, val, lab[:, None].double()], 1)[has])
        alive.scatter_(1, best, False)
        inter = (torch.minimum(en, be) - torch.maximum(st, bs)).clamp_(min=0)
        union = length + (be - bs) - inter
        iou = torch.where(union > 0, inter / union, torch.zeros_like(union))
        S.mul_(torch.exp(iou.square_().div_(-sigma)))
        alive &= S >= min_score
    k = torch.cat(taken)
    o = torch.argsort(-k[:, 2], stable=True)
    if max_keep > 0:
        o = o[:max_keep]
    return k[o, :2], k[o, 2], k[o, 3].long()


@torch.inference_mode()
def detect(a, cfg):
    t_start = time.perf_counter()
    hdr, it = talio.read_stream(a.stream)
    C = len(hdr.classes)
    net = build_net(cfg, hdr.feat_dim, C)
    sets = talio.read_checkpoint(a.model, ("params", "ema"))
    load_weights(net, sets["ema" if "ema" in sets and not a.no_ema else "params"])
    net.eval()
    div = 1 << cfg["model.branch_blocks"]
    L = cfg["model.branch_blocks"] + 1
    thr, topk, dur_thr = cfg["test.pre_nms_thresh"], cfg["test.pre_nms_topk"], cfg["test.duration_thresh"]
    if cfg["test.nms"] != "gaussian" or cfg["test.class_agnostic"] or cfg["test.voting_iou"] > 0:
        raise SystemExit("train_torch.py: only per-class Gaussian Soft-NMS without voting is implemented")
    out = open(a.output, "w") if a.output else None
    t_net = t_post = 0.0
    n = ndet = 0
    t_loop = time.perf_counter()
    for rec in it:
        t0 = time.perf_counter()
        Tv = rec.T
        T = -(-Tv // div) * div
        x = torch.zeros(1, hdr.feat_dim, T)
        x[0, :, :Tv] = torch.from_numpy(rec.feat).t()
        mask = torch.zeros(1, 1, T, dtype=torch.bool)
        mask[0, :, :Tv] = True
        cls, reg = net(x, mask)
        t1 = time.perf_counter()
        segs, scores, labels = [], [], []
        for l in range(L):
            s = 1 << l
            valid = -(-Tv // s)
            p = torch.sigmoid(cls[l][0, :, :valid]).t().reshape(-1)    # index t*C + k
            keep = torch.nonzero(p > thr)[:, 0]
            pk = p[keep]
            if topk > 0 and len(pk) > topk:
                pk, j = torch.topk(pk, topk)
                keep = keep[j]
            t, k = keep // C, keep % C
            pt = (t * s).to(torch.float32)
            r = reg[l][0]
            st = pt - r[0, t] * s
            en = pt + r[1, t] * s
            ok = (en - st) > dur_thr
            segs.append(torch.stack([st[ok], en[ok]], 1))
            scores.append(pk[ok])
            labels.append(k[ok])
        seg = torch.cat(segs).double()
        sc = torch.cat(scores).double()
        lb = torch.cat(labels)
        seg, sc, lb = soft_nms(seg, sc, lb, C, cfg["test.nms_sigma"], cfg["test.min_score"], cfg["test.max_seg_num"])
        fps = rec.fps if rec.fps > 0 else hdr.fps
        sec = (seg * hdr.stride + 0.5 * hdr.clip) / fps
        sec = sec.clamp(min=0)
        if rec.duration > 0:
            sec = sec.clamp(max=rec.duration)
        if out:
            out.write(json.dumps({"id": rec.id, "dets": [[float(u), float(v), float(w), int(c)] for (u, v), w, c
                                                         in zip(sec.tolist(), sc.tolist(), lb.tolist())]}) + "\n")
        t2 = time.perf_counter()
        t_net += t1 - t0
        t_post += t2 - t1
        n += 1
        ndet += len(sc)
    if out:
        out.close()
    t_end = time.perf_counter()
    print(json.dumps({"kind": "detect", "sequences": n, "detections": ndet, "time": t_end - t_start,
                      "loop_time": t_end - t_loop, "network_time": t_net, "post_time": t_post,
                      "threads": torch.get_num_threads(),
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}), flush=True)


# ---------------------------------------------------------------------------
# the two sides' results, side by side

def compare(a):
    def steps(path):
        out = []
        for line in open(path):
            d = json.loads(line)
            if d.get("kind") == "step":
                out.append(d)
        return out
    if a.talcore and a.torch:
        c, p = steps(a.talcore), steps(a.torch)
        n = min(len(c), len(p))
        rel = max((abs(x["loss"] - y["loss"]) / max(abs(x["loss"]), 1e-12) for x, y in zip(c, p)), default=0.0)
        bad = sum(x["positives"] != y["positives"] for x, y in zip(c, p))
        print(f"training losses of {n} steps: max relative difference {rel:.2e}; "
              f"positives differ in {bad} steps; final loss {c[n - 1]['loss']:.6f} vs {p[n - 1]['loss']:.6f}")
    if a.dets and a.torch_dets:
        _, it = talio.read_stream(a.dets)
        mine = {r.id: r.dets for r in it}
        same_n = total = 0
        dmax = []
        for line in open(a.torch_dets):
            d = json.loads(line)
            c = mine[d["id"]]
            q = np.array(d["dets"], dtype=np.float64).reshape(-1, 4)
            total += 1
            same_n += len(c) == len(q)
            k = min(len(c), len(q), 10)
            if k:
                dmax.append(float(np.abs(np.sort(c["score"])[::-1][:k] - np.sort(q[:, 2])[::-1][:k]).max()))
        print(f"detections: {same_n}/{total} sequences with as many detections on both sides; "
              f"top-10 scores differ by at most {max(dmax, default=0.0):.2e} (median {np.median(dmax) if dmax else 0:.2e})")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "compare":
        ap = argparse.ArgumentParser(description="compare the two sides' losses and detections")
        ap.add_argument("what")
        ap.add_argument("--talcore", help="tal-train --metrics (--log-every 1)")
        ap.add_argument("--torch", help="train_torch.py train --log-every 1 output")
        ap.add_argument("--dets", help="tal-detect output stream")
        ap.add_argument("--torch-dets", help="train_torch.py detect -o output")
        return compare(ap.parse_args())
    ap = argparse.ArgumentParser(description="PyTorch twin of talcore's ActionFormer-style detector")
    ap.add_argument("what", choices=["train", "detect"])
    ap.add_argument("stream")
    ap.add_argument("--config", required=True, help="tal-train --print-config output")
    ap.add_argument("--init", help="train: talcore checkpoint with the starting weights")
    ap.add_argument("--model", help="detect: talcore checkpoint to run")
    ap.add_argument("--no-ema", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0, help="at most this many steps an epoch")
    ap.add_argument("--head", type=int, default=0, help="only the first N training sequences")
    ap.add_argument("--log-every", type=int, default=0)
    ap.add_argument("--save", help="train: the final weights as .npz")
    ap.add_argument("-o", "--output", help="detect: detections as JSON lines")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = load_config(a.config)
    if a.what == "train":
        if not a.init:
            ap.error("train needs --init")
        train(a, cfg)
    else:
        if not a.model:
            ap.error("detect needs --model")
        detect(a, cfg)


if __name__ == "__main__":
    main()
