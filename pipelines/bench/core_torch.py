#!/usr/bin/python3
"""core_torch.py -- the PyTorch side of `make bench-core`.

    /usr/bin/python3 pipelines/bench/core_torch.py ROW [REPEATS]

Runs one benchmark row -- forward + backward of one op at ActionFormer sizes
(B=2, C=512, T=2304), or of a whole ActionFormer-style network -- REPEATS
times after a warm-up and prints one line:

    ROW <median seconds> <peak RSS KiB> <RSS KiB before the inputs existed>

The network follows ActionFormer's code as reference-methods.md describes
it (masked convs, its channel LayerNorm written out, MHCA with depthwise
convs, LayerScale, drop-path, max-pool skip, LayerNorm neck, shared heads).
Its local attention comes in two forms: rows ending in "_af" use the
sliding-chunk algorithm ActionFormer runs (Longformer's), the others a
leaner chunked band written for this benchmark; both are checked against a
direct (T,T) computation by --selftest.
The C side is pipelines/bench/core_bench.c; pipelines/bench-core.sh runs both.
"""
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = 2
torch.set_num_threads(THREADS)
torch.manual_seed(0)

B, C, T = 2, 512, 2304


def rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---------------------------------------------------------------------------
# ActionFormer-style pieces

class ChannelLayerNorm(nn.Module):
    """ActionFormer's LayerNorm: over channels of (B,C,T), biased variance"""

    def __init__(self, c, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(1, c, 1))
        self.bias = nn.Parameter(torch.zeros(1, c, 1))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(dim=1, keepdim=True)
        r = x - mu
        sigma = (r ** 2).mean(dim=1, keepdim=True)
        return r / torch.sqrt(sigma + self.eps) * self.weight + self.bias


class MaskedConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, pad=0, groups=1, bias=True):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride, pad, groups=groups, bias=bias)
        self.stride = stride

    def forward(self, x, m):
        y = self.conv(x)
        if self.stride > 1:
            m = F.interpolate(m.to(x.dtype), size=y.size(-1), mode="nearest")
        else:
            m = m.to(x.dtype)
        return y * m.detach(), m.bool()


def band_attention(q, k, v, kv_mask, w):
    """q, k, v (BH, T, D) already scaled; kv_mask (B, 1, T) bool, heads
    folded into BH in order (b, h); query t sees keys t-w..t+w.  Chunks of w
    queries against the 3w keys around them, the band read off by skewing."""
    BH, T0, D = q.shape
    n = -(-T0 // w)
    Tn = n * w
    if Tn != T0:   # pad to whole chunks; the padding lies outside the sequence
        q, k, v = [F.pad(t, (0, 0, 0, Tn - T0)) for t in (q, k, v)]
        kv_mask = F.pad(kv_mask, (0, Tn - T0))
    qc = q.view(BH, n, w, D)
    kp = F.pad(k, (0, 0, w, w))
    vp = F.pad(v, (0, 0, w, w))
    kc = kp.as_strided((BH, n, 3 * w, D), (kp.stride(0), w * kp.stride(1), kp.stride(1), kp.stride(2)))
    vc = vp.as_strided((BH, n, 3 * w, D), (vp.stride(0), w * vp.stride(1), vp.stride(1), vp.stride(2)))
    s = torch.einsum("bcxd,bcyd->bcxy", qc, kc)                      # (BH, n, w, 3w)
    s = F.pad(s.reshape(BH, n, w * 3 * w), (0, w)).view(BH, n, w, 3 * w + 1)[..., : 2 * w + 1]
    s = s.reshape(BH, Tn, 2 * w + 1)                                  # s[t, j]: key t + j - w
    # keys outside the sequence: -inf; padded keys: -1e4; rows of padded queries: 0
    idx = torch.arange(Tn, device=q.device)[:, None] + torch.arange(2 * w + 1, device=q.device)[None, :] - w
    outside = (idx < 0) | (idx >= T0)
    H = BH // kv_mask.shape[0]
    km = F.pad(kv_mask[:, 0, :].to(q.dtype), (w, w)).unfold(-1, 2 * w + 1, 1)   # (B, T, 2w+1)
    km = km.repeat_interleave(H, dim=0)
    s = s + (1.0 - km) * -1e4
    s = s.masked_fill(outside[None], float("-inf"))
    p = F.softmax(s, dim=-1)
    p = p * kv_mask[:, 0, :].repeat_interleave(H, dim=0)[:, :, None].to(q.dtype)
    # back to (n, w, 3w) tiles with p[x][j] at column x + j
    pc = p.view(BH, n, w, 2 * w + 1)
    pc = F.pad(pc, (0, w)).reshape(BH, n, w * (3 * w + 1))[..., : w * 3 * w].view(BH, n, w, 3 * w)
    out = torch.einsum("bcxy,bcyd->bcxd", pc, vc)
    return out.reshape(BH, Tn, D)[:, :T0]


# ActionFormer's own local attention (LocalMaskedMHCA) computes the band
# with Longformer's sliding chunks: chunks of 2w queries against 2w keys,
# overlapping by w, re-assembled into diagonals.  The same algorithm,
# written here from its description, is the PyTorch side of the rows named
# "...af" (the ActionFormer one); band_attention above is a leaner PyTorch
# formulation of the same band, for the rows without the suffix.

def _overlapping_chunks(x, w):
    """(BH, T, D) -> (BH, T/w - 1, 2w, D), chunks of 2w with stride w"""
    BH, Tn, D = x.shape
    x = x.view(BH, Tn // (2 * w), 2 * w, D)
    size = [BH, 2 * (Tn // (2 * w)) - 1, 2 * w, D]
    stride = [x.stride(0), x.stride(1) // 2, x.stride(2), x.stride(3)]
    return x.as_strided(size=size, stride=stride)


def _skew_transpose(x):
    """pad one row at the bottom and reinterpret (.., R+1, C) as (.., C, R+1)"""
    x = F.pad(x, (0, 0, 0, 1))
    return x.view(*x.shape[:-2], x.shape[-1], x.shape[-2])


def _chunked_band_scores(q, k, w):
    """(BH, T, 2w+1) scores q[t].k[t+j-w], from 2w x 2w chunk products"""
    BH, Tn, D = q.shape
    nc = Tn // w - 1
    prod = torch.einsum("bcxd,bcyd->bcxy", _overlapping_chunks(q, w), _overlapping_chunks(k, w))
    sk = _skew_transpose(prod)                                  # (BH, nc, 2w, 2w+1)
    band = sk.new_empty(BH, nc + 1, w, 2 * w + 1)
    band[:, :-1, :, w:] = sk[:, :, :w, : w + 1]                 # keys at or after the query
    band[:, -1, :, w:] = sk[:, -1, w:, : w + 1]
    band[:, 1:, :, :w] = sk[:, :, -(w + 1): -1, w + 1:]         # keys before it
    band[:, 0, 1:w, 1:w] = sk[:, 0, : w - 1, 1 - w:]
    band = band.view(BH, Tn, 2 * w + 1)
    # the corners no chunk covers lie outside the sequence
    # (device=: the same index on the CPU; on a GPU, where cuda_torch.py runs
    # this network, the mask must live beside the scores)
    i = torch.arange(Tn, device=band.device)[:, None] + torch.arange(2 * w + 1, device=band.device)[None, :] - w
    return band.masked_fill(((i < 0) | (i >= Tn))[None], float("-inf"))


def _chunked_band_apply(p, v, w):
    """sum_j p[t, j] v[t + j - w] via chunks of w queries against 3w values"""
    BH, Tn, D = v.shape
    nc = Tn // w
    vp = F.pad(v, (0, 0, w, w), value=-1.0)
    vc = vp.as_strided((BH, nc, 3 * w, D), (vp.stride(0), w * vp.stride(1), vp.stride(1), vp.stride(2)))
    pc = p.view(BH, nc, w, 2 * w + 1)
    pc = F.pad(pc, (0, w + 1)).view(BH, nc, -1)[:, :, :-w].view(BH, nc, w, 3 * w + 1)[..., :-1]
    return torch.einsum("bcxy,bcyd->bcxd", pc, vc).reshape(BH, Tn, D)


def af_attention(q, k, v, kv_mask, w):
    """ActionFormer's masking on the sliding-chunk band: padded keys -1e4
    (itself computed as a chunked band product), keys outside the sequence
    -inf, rows of padded queries 0.  T is padded to a multiple of 2w."""
    BH, T0, D = q.shape
    Tn = -(-T0 // (2 * w)) * 2 * w
    if Tn != T0:
        q, k, v = [F.pad(t, (0, 0, 0, Tn - T0)) for t in (q, k, v)]
        kv_mask = F.pad(kv_mask, (0, Tn - T0))
    Bn = kv_mask.shape[0]
    H = BH // Bn
    att = _chunked_band_scores(q, k, w)
    inv = torch.logical_not(kv_mask[:, 0, :, None])                     # (B, T, 1)
    finv = inv.to(q.dtype).masked_fill(inv, -1e4)
    dmask = _chunked_band_scores(torch.ones_like(finv), finv, w)       # (B, T, 2w+1)
    att = (att.view(Bn, H, Tn, 2 * w + 1) + dmask[:, None]).view(BH, Tn, 2 * w + 1)
    if Tn != T0:   # the padding added here is outside the sequence
        j = torch.arange(Tn, device=q.device)[:, None] + torch.arange(2 * w + 1, device=q.device)[None, :] - w
        att = att.masked_fill((j >= T0)[None], float("-inf"))
    att = F.softmax(att, dim=-1)
    att = att.masked_fill(inv.repeat_interleave(H, dim=0), 0.0)
    return _chunked_band_apply(att, v, w)[:, :T0]


def global_attention(q, k, v, kv_mask):
    att = q @ k.transpose(-2, -1)
    H = q.shape[0] // kv_mask.shape[0]
    att = att.masked_fill(~kv_mask.repeat_interleave(H, dim=0), float("-inf"))
    return F.softmax(att, dim=-1) @ v


class MHCA(nn.Module):
    def __init__(self, c, heads, window, stride, af=True):
        super().__init__()
        self.heads, self.w, self.af = heads, window // 2 if window > 1 else -1, af
        self.convs = nn.ModuleList([MaskedConv(c, c, 3, stride, 1, c, bias=False) for _ in range(3)])
        self.norms = nn.ModuleList([ChannelLayerNorm(c) for _ in range(3)])
        self.proj_in = nn.ModuleList([nn.Conv1d(c, c, 1) for _ in range(3)])
        self.proj = nn.Conv1d(c, c, 1)

    def forward(self, x, m):
        qkv, om = [], m
        for conv, norm, proj in zip(self.convs, self.norms, self.proj_in):
            t, om = conv(x, m)
            qkv.append(proj(norm(t)))
        Bn, Cn, Tn = qkv[0].shape
        D = Cn // self.heads
        q, k, v = [t.view(Bn, self.heads, D, Tn).transpose(2, 3).reshape(Bn * self.heads, Tn, D) for t in qkv]
        q = q * (1.0 / math.sqrt(D))
        if self.w > 0:
            out = (af_attention if self.af else band_attention)(q, k, v, om, self.w)
        else:
            out = global_attention(q, k, v, om)
        out = out.view(Bn, self.heads, Tn, D).transpose(2, 3).reshape(Bn, Cn, Tn)
        return self.proj(out) * om.to(out.dtype), om


class AffineDropPath(nn.Module):
    def __init__(self, c, p, init=1e-4):
        super().__init__()
        self.scale = nn.Parameter(init * torch.ones(1, c, 1))
        self.p = p

    def forward(self, x):
        x = self.scale * x
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        mask = (keep + torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)).floor_()
        return x.div(keep) * mask


class Block(nn.Module):
    def __init__(self, c, heads, window, stride, drop_path=0.1, af=True):
        super().__init__()
        self.ln1, self.ln2 = ChannelLayerNorm(c), ChannelLayerNorm(c)
        self.attn = MHCA(c, heads, window, stride, af)
        self.skip = nn.MaxPool1d(3, stride, 1) if stride > 1 else nn.Identity()
        self.mlp = nn.Sequential(nn.Conv1d(c, 4 * c, 1), nn.GELU(), nn.Conv1d(4 * c, c, 1))
        self.dp1, self.dp2 = AffineDropPath(c, drop_path), AffineDropPath(c, drop_path)

    def forward(self, x, m):
        a, om = self.attn(self.ln1(x), m)
        omf = om.to(x.dtype)
        y = self.skip(x) * omf + self.dp1(a)
        return y + self.dp2(self.mlp(self.ln2(y)) * omf), om


class Head(nn.Module):
    def __init__(self, c, nout, prior=None, scales=0):
        super().__init__()
        self.convs = nn.ModuleList([MaskedConv(c, c, 3, 1, 1, bias=False) for _ in range(2)])
        self.norms = nn.ModuleList([ChannelLayerNorm(c) for _ in range(2)])
        self.out = MaskedConv(c, nout, 3, 1, 1)
        if prior:
            nn.init.constant_(self.out.conv.bias, -math.log((1 - prior) / prior))
        self.scales = nn.ParameterList([nn.Parameter(torch.tensor(1.0)) for _ in range(scales)])

    def forward(self, feats, masks):
        outs = []
        for l, (f, m) in enumerate(zip(feats, masks)):
            h = f
            for conv, norm in zip(self.convs, self.norms):
                h, _ = conv(h, m)
                h = F.relu(norm(h))
            o, _ = self.out(h, m)
            outs.append(F.relu(o * self.scales[l]) if self.scales else o)
        return outs


class ActionFormerNet(nn.Module):
    def __init__(self, d_in, c, classes=20, heads=4, window=19, n_stem=2, n_branch=5, af=True):
        super().__init__()
        self.embd = nn.ModuleList([MaskedConv(d_in if i == 0 else c, c, 3, 1, 1, bias=False) for i in range(2)])
        self.embd_norm = nn.ModuleList([ChannelLayerNorm(c) for _ in range(2)])
        self.stem = nn.ModuleList([Block(c, heads, window, 1, af=af) for _ in range(n_stem)])
        self.branch = nn.ModuleList([Block(c, heads, window, 2, af=af) for _ in range(n_branch)])
        self.neck = nn.ModuleList([ChannelLayerNorm(c) for _ in range(n_branch + 1)])
        self.cls = Head(c, classes, prior=0.01)
        self.reg = Head(c, 2, scales=n_branch + 1)

    def forward(self, x, m):
        for conv, norm in zip(self.embd, self.embd_norm):
            x, m = conv(x, m)
            x = F.relu(norm(x))
        for blk in self.stem:
            x, m = blk(x, m)
        feats, masks = [x], [m]
        for blk in self.branch:
            x, m = blk(x, m)
            feats.append(x)
            masks.append(m)
        feats = [n(f) for n, f in zip(self.neck, feats)]
        return self.cls(feats, masks), self.reg(feats, masks)


def sigmoid_focal(x, y, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    pt = p * y + (1 - p) * (1 - y)
    return ce * ((1 - pt) ** gamma) * (alpha * y + (1 - alpha) * (1 - y))


# ---------------------------------------------------------------------------
# rows: each returns (step function, RSS before inputs)

def rnd(*shape, grad=True):
    return torch.randn(*shape).requires_grad_(grad)


def full_mask(Tn=T):
    m = torch.ones(B, 1, Tn, dtype=torch.bool)
    m[1, :, Tn - Tn // 8:] = False   # one sequence with padding at the end
    return m


def op_row(name):
    x = rnd(B, C, T)
    if name == "conv1x1":
        mod = nn.Conv1d(C, C, 1)
        return [x] + list(mod.parameters()), lambda: mod(x)
    if name == "conv_k3":
        mod = MaskedConv(C, C, 3, 1, 1, bias=False)
        m = full_mask()
        return [x] + list(mod.parameters()), lambda: mod(x, m)[0]
    if name == "conv_k3_2048":
        x = rnd(B, 2048, T, grad=False)
        mod = MaskedConv(2048, C, 3, 1, 1, bias=False)
        m = full_mask()
        return list(mod.parameters()), lambda: mod(x, m)[0]
    if name in ("dwconv_s1", "dwconv_s2"):
        s = 1 if name == "dwconv_s1" else 2
        mod = MaskedConv(C, C, 3, s, 1, C, bias=False)
        m = full_mask()
        return [x] + list(mod.parameters()), lambda: mod(x, m)[0]
    if name == "layernorm":
        mod = ChannelLayerNorm(C)
        return [x] + list(mod.parameters()), lambda: mod(x)
    if name == "relu":
        return [x], lambda: F.relu(x)
    if name == "gelu":
        return [x], lambda: F.gelu(x)
    if name == "sigmoid":
        return [x], lambda: torch.sigmoid(x)
    if name == "softmax_t":
        m = full_mask()
        return [x], lambda: F.softmax(x.masked_fill(~m, float("-inf")), dim=2)
    if name == "log_softmax_c":
        return [x], lambda: F.log_softmax(x, dim=1)
    if name == "maxpool":
        return [x], lambda: F.max_pool1d(x, 3, 2, 1)
    if name == "topk_mean":
        m = full_mask()
        return [x], lambda: torch.topk(x.masked_fill(~m, float("-inf")), T // 8, dim=2).values.mean(2)
    if name in ("attn_local", "attn_local_af", "attn_global"):
        q, k, v = rnd(B, C, T), rnd(B, C, T), rnd(B, C, T)
        m = full_mask()
        H, D = 4, C // 4

        def f():
            qh, kh, vh = [t.view(B, H, D, T).transpose(2, 3).reshape(B * H, T, D) for t in (q, k, v)]
            qh = qh * (1.0 / math.sqrt(D))
            if name == "attn_global":
                o = global_attention(qh, kh, vh, m)
            else:
                o = (af_attention if name == "attn_local_af" else band_attention)(qh, kh, vh, m, 9)
            return o.view(B, H, T, D).transpose(2, 3).reshape(B, C, T)
        return [q, k, v], f
    if name == "dropout":
        return [x], lambda: F.dropout(x, 0.1, True)
    if name == "drop_path":
        def f():
            mask = (0.9 + torch.rand(B, 1, 1)).floor_()
            return x.div(0.9) * mask
        return [x], f
    if name == "layer_scale":
        s = nn.Parameter(torch.full((1, C, 1), 1e-4))
        return [x, s], lambda: s * x
    if name == "concat":
        y, z = rnd(B, C, T), rnd(B, C, T)
        return [x, y, z], lambda: torch.cat([x, y, z], 1)
    if name == "slice":
        return [x], lambda: x[:, :, T // 4: 3 * T // 4]
    if name == "transpose":
        return [x], lambda: x.transpose(1, 2).contiguous()
    if name == "add_bcast":
        b = nn.Parameter(torch.randn(1, C, 1))
        return [x, b], lambda: x + b
    if name == "mul_mask":
        m = full_mask().float()
        return [x], lambda: x * m
    if name == "sum_t":
        return [x], lambda: x.sum(2)
    if name == "mean_c":
        return [x], lambda: x.mean(1)
    if name == "max_t":
        return [x], lambda: x.max(2).values
    if name == "resample_linear":
        return [x], lambda: F.interpolate(x, size=2 * T, mode="linear", align_corners=False)
    if name == "resample_nearest":
        return [x], lambda: F.interpolate(x, size=T // 2, mode="nearest")
    if name == "gather":
        idx = torch.randint(0, T, (T // 2,))
        return [x], lambda: x.index_select(2, idx)
    if name == "clamp":
        return [x], lambda: x.clamp(-0.5, 0.5)
    if name == "bce":
        y = torch.rand(B, C, T)
        return [x], lambda: F.binary_cross_entropy_with_logits(x, y, reduction="none")
    if name == "focal":
        y = (torch.rand(B, C, T) < 0.05).float()
        return [x], lambda: sigmoid_focal(x, y)
    if name == "qfl":
        y = torch.rand(B, C, T)
        return [x], lambda: F.binary_cross_entropy_with_logits(x, y, reduction="none") * \
            (y - torch.sigmoid(x)).abs().pow(2)
    if name == "cross_entropy":
        xl = rnd(B * T, C)
        tg = torch.randint(0, C, (B * T,))
        return [xl], lambda: F.cross_entropy(xl, tg, reduction="none")
    if name == "diou":
        p = (torch.rand(B * C * T // 2, 2) + 0.1).requires_grad_(True)
        g = torch.rand(B * C * T // 2, 2) + 0.1

        def f():
            lp, rp, lg, rg = p[:, 0], p[:, 1], g[:, 0], g[:, 1]
            inter = torch.min(lp, lg) + torch.min(rp, rg)
            union = lp + rp + lg + rg - inter
            iou = inter / union.clamp(min=1e-8)
            lc = torch.max(lp, lg) + torch.max(rp, rg)
            rho = 0.5 * (rp - lp - rg + lg)
            return 1.0 - iou + (rho / lc.clamp(min=1e-8)) ** 2
        return [p], f
    raise SystemExit(f"core_torch.py: unknown row '{name}'")


def model_row(name):
    d_in, c, Tn = (2048, 512, 2304) if name.startswith("model_thumos") else (256, 128, 256)
    net = ActionFormerNet(d_in, c, af=name.endswith("_af"))
    net.train()
    x = torch.randn(B, d_in, Tn)
    m = full_mask(Tn)
    ys = []
    t = Tn
    for l in range(6):
        ys.append((torch.rand(B, 20, t) < 0.02).float())
        t //= 2

    def f():
        cls, reg = net(x, m)
        loss = 0
        for cl, rg, y in zip(cls, reg, ys):
            loss = loss + sigmoid_focal(cl, y).sum() + rg.sum()
        return loss
    return list(net.parameters()), f


def selftest():
    """the chunked band attention against the direct (T,T) form"""
    torch.manual_seed(1)
    for Tn, w, H in [(23, 3, 2), (36, 9, 1), (7, 4, 2), (40, 9, 4), (72, 9, 2)]:
        Bn, D = 2, 3
        q, k, v = [torch.randn(Bn * H, Tn, D, dtype=torch.float64) for _ in range(3)]
        m = torch.ones(Bn, 1, Tn, dtype=torch.bool)
        m[1, :, Tn // 2:] = False
        got = band_attention(q, k, v, m, w)
        got_af = af_attention(q, k, v, m, w)
        s = q @ k.transpose(1, 2)
        i = torch.arange(Tn)
        s = s.masked_fill(((i[None, :] - i[:, None]).abs() > w)[None], float("-inf"))
        mm = m[:, 0, :].to(q.dtype).repeat_interleave(H, dim=0)
        s = s + (1 - mm)[:, None, :] * -1e4
        want = (F.softmax(s, -1) * mm[:, :, None]) @ v
        err = (got - want).abs().max().item()
        err_af = (got_af - want).abs().max().item()
        assert err < 1e-12 and err_af < 1e-12, (Tn, w, H, err, err_af)
    print("core_torch.py: both chunked band attentions match the direct form")


def main():
    if sys.argv[1] == "--selftest":
        return selftest()
    name = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    base = rss_kib()
    if name.startswith("model_"):
        leaves, fn = model_row(name)
    else:
        leaves, fn = op_row(name)
    gy = None
    times = []
    for it in range(reps + 2):
        for p in leaves:
            p.grad = None
        t0 = time.perf_counter()
        y = fn()
        if y.numel() == 1:
            y.backward()
        else:
            if gy is None:
                gy = torch.randn_like(y)
            y.backward(gy)
        times.append(time.perf_counter() - t0)
    times = sorted(times[-reps:])
    print(f"{name} {times[len(times) // 2]:.6f} {rss_kib()} {base}")


if __name__ == "__main__":
    main()
