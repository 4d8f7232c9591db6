#!/usr/bin/python3
"""gen_reference.py -- reference outputs and gradients of every op, one
ActionFormer-style block (stride 1 and 2), a tiny whole network, and the
optimisers, computed with PyTorch (Debian's python3-torch) in float64 from
fixed-seed float32 inputs, written to test/data/ref/*.ref for the C unit
tests (test/unit/test_nn_ref.c), which read them without Python.

    make reference          # or: /usr/bin/python3 test/ref/gen_reference.py test/data/ref

File format (all little-endian):
    magic   8 bytes  "TALREF1\\n"
    count   u32
    count entries of
        name_len u16, name (UTF-8), dtype u8 (0 float32, 1 int32), ndim u8,
        shape i64[ndim], data (4 bytes per element, row-major)
Entries are named "<case>/<tensor>": inputs by their role, "y" the output,
"gy" the gradient fed to backward, "g<input>" the gradients, "args" and
"fargs" the op's integer and float arguments.

The random masks of dropout and drop-path are the ones talcore draws:
Philox4x32-10 keyed as lib/util/rng.c keys it, reimplemented below.
"""
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
DT = torch.float64


# ---------------------------------------------------------------------------
# the file

class RefWriter:
    def __init__(self):
        self.entries = []
        self.names = set()

    def add(self, name, arr):
        arr = np.asarray(arr)
        if arr.dtype.kind in "iu":
            arr = arr.astype("<i4")
            code = 1
        else:
            arr = arr.astype("<f4")
            code = 0
        assert name not in self.names, name
        self.names.add(name)
        self.entries.append((name, code, np.ascontiguousarray(arr)))

    def save(self, path):
        with open(path + ".tmp", "wb") as f:
            f.write(b"TALREF1\n")
            f.write(struct.pack("<I", len(self.entries)))
            for name, code, arr in self.entries:
                nb = name.encode()
                f.write(struct.pack("<H", len(nb)))
                f.write(nb)
                f.write(struct.pack("<BB", code, arr.ndim))
                f.write(struct.pack("<%dq" % arr.ndim, *arr.shape))
                f.write(arr.tobytes())
        os.replace(path + ".tmp", path)


RNG = np.random.RandomState(20240601)


def randn(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def uniform(lo, hi, *shape):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def distinct(*shape):
    n = int(np.prod(shape))
    return (0.05 * (RNG.permutation(n) - n / 2)).astype(np.float32).reshape(shape)


def mask(B, T, full_first=True):
    m = np.zeros((B, T), np.float32)
    for b in range(B):
        n = T if (b == 0 and full_first) else RNG.randint(1, T + 1)
        m[b, :n] = 1
    return m


def case(W, name, inputs, fn, grads, args=(), fargs=()):
    """inputs: dict of float32 (or int32) arrays; fn(t) -> output tensor."""
    t = {}
    for k, v in inputs.items():
        if v.dtype.kind in "iu":
            t[k] = torch.tensor(v.astype(np.int64))
        else:
            t[k] = torch.tensor(v.astype(np.float64), requires_grad=k in grads)
    y = fn(t)
    gy = randn(*y.shape)
    y.backward(torch.tensor(gy.astype(np.float64)))
    for k, v in inputs.items():
        W.add(f"{name}/{k}", v)
    W.add(f"{name}/y", y.detach().numpy())
    W.add(f"{name}/gy", gy)
    for k in grads:
        g = t[k].grad
        g = torch.zeros_like(t[k]) if g is None else g
        W.add(f"{name}/g{k}", torch.nan_to_num(g, nan=0.0).numpy())
    W.add(f"{name}/args", np.array(list(args) + [0], np.int32))
    W.add(f"{name}/fargs", np.array(list(fargs) + [0], np.float32))


# ---------------------------------------------------------------------------
# Philox4x32-10 and talcore's key derivation (lib/util/rng.c)

M64 = (1 << 64) - 1


def mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def seed_key(seed):
    k = mix64(seed & M64)
    return (k & 0xFFFFFFFF, k >> 32)


def split_key(key, index):
    pk = key[0] | (key[1] << 32)
    return seed_key(mix64(pk ^ mix64((index + 0x632BE59BD9B4E019) & M64)))


def philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & 0xFFFFFFFF, p1 & 0xFFFFFFFF, \
            ((p0 >> 32) ^ c3 ^ k1) & 0xFFFFFFFF, p0 & 0xFFFFFFFF
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return [c0, c1, c2, c3]


def words(key, n):
    """the first n 32-bit words of the stream (counter 0, 1, ...)"""
    out = []
    c = 0
    while len(out) < n:
        out += philox((c & 0xFFFFFFFF, c >> 32, 0, 0), key)
        c += 1
    return out[:n]


def dropout_keep(seed, n, p):
    """talcore's dropout mask of the first random op of a step seeded `seed`"""
    key = split_key(seed_key(seed), 0)
    thr = min(int(p * 4294967296.0), 0xFFFFFFFF)
    return np.array([w >= thr for w in words(key, n)], np.float64)


def drop_path_keep(seed, B, p):
    """row b kept when the first float of the op's stream split by b is >= p"""
    key = split_key(seed_key(seed), 0)
    u = [(words(split_key(key, b), 1)[0] >> 8) * 2.0 ** -24 for b in range(B)]
    return np.array([1.0 if x >= p else 0.0 for x in u])


# ---------------------------------------------------------------------------
# op definitions in PyTorch, as talcore defines them

def ln_c(x, w, b, eps=1e-5):
    """ActionFormer's channel LayerNorm on (B,C,T): biased variance over C"""
    mu = x.mean(1, keepdim=True)
    r = x - mu
    s = (r * r).mean(1, keepdim=True)
    out = r / torch.sqrt(s + eps)
    if w is not None:
        out = out * w.reshape(1, -1, 1) + b.reshape(1, -1, 1)
    return out


def masked_softmax(x, dim, m, log):
    if m is None:
        return F.log_softmax(x, dim) if log else F.softmax(x, dim)
    keep = (m != 0).expand_as(x)
    xm = x.masked_fill(~keep, -math.inf)
    y = F.log_softmax(xm, dim) if log else F.softmax(xm, dim)
    return torch.where(keep & torch.isfinite(y), y, torch.zeros_like(y))


def band_attention(q, k, v, m, heads, window):
    """direct (T,T) formulation of ActionFormer's masking rules"""
    B, C, T = q.shape
    D = C // heads
    qh = q.reshape(B, heads, D, T).transpose(2, 3) / math.sqrt(D)
    kh = k.reshape(B, heads, D, T).transpose(2, 3)
    vh = v.reshape(B, heads, D, T).transpose(2, 3)
    s = qh @ kh.transpose(-1, -2)
    if m is None:
        m = torch.ones(B, T)
    if window >= 2:
        w = window // 2
        idx = torch.arange(T)
        band = (idx[None, :] - idx[:, None]).abs() <= w
        s = s.masked_fill(~band, -math.inf)
        s = s + (1.0 - m)[:, None, None, :] * -1e4
        p = F.softmax(s, -1) * m[:, None, :, None]
    else:
        s = s.masked_fill((m == 0)[:, None, None, :], -math.inf)
        p = torch.nan_to_num(F.softmax(s, -1), nan=0.0)
    return (p @ vh).transpose(2, 3).reshape(B, C, T)


def topk_mean(x, k, m):
    B, C, T = x.shape
    outs = []
    for b in range(B):
        valid = torch.ones(T, dtype=torch.bool) if m is None else m[b] != 0
        n = int(valid.sum())
        kk = min(k, n)
        xb = x[b].masked_fill(~valid[None, :], -math.inf)
        if kk == 0:
            outs.append(torch.zeros(C))
        else:
            outs.append(torch.topk(xb, kk, dim=1).values.mean(1))
    return torch.stack(outs)


def focal(x, y, alpha, gamma):
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    pt = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - pt) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    return loss


def qfl(x, y, beta):
    return F.binary_cross_entropy_with_logits(x, y, reduction="none") * (y - torch.sigmoid(x)).abs() ** beta


def diou(pred, tgt, eps=1e-8):
    lp, rp, lg, rg = pred[:, 0], pred[:, 1], tgt[:, 0], tgt[:, 1]
    inter = torch.min(lp, lg) + torch.min(rp, rg)
    union = lp + rp + lg + rg - inter
    iou = inter / union.clamp(min=eps)
    lc = torch.max(lp, lg) + torch.max(rp, rg)
    rho = 0.5 * (rp - lp - rg + lg)
    return 1.0 - iou + (rho / lc.clamp(min=eps)) ** 2


# ---------------------------------------------------------------------------
# ActionFormer-style network (the C side: lib/models/af_backbone.c)

QKV = ("query", "key", "value")


def block_params(pre, C, ratio):
    P = {}
    P[pre + ".ln1.weight"] = uniform(0.7, 1.3, 1, C, 1)
    P[pre + ".ln1.bias"] = randn(1, C, 1, scale=0.1)
    for nm in QKV:
        P[f"{pre}.attn.{nm}_conv.conv.weight"] = uniform(-0.6, 0.6, C, 1, 3)
        P[f"{pre}.attn.{nm}_norm.weight"] = uniform(0.7, 1.3, 1, C, 1)
        P[f"{pre}.attn.{nm}_norm.bias"] = randn(1, C, 1, scale=0.1)
        P[f"{pre}.attn.{nm}.weight"] = uniform(-1, 1, C, C, 1) / math.sqrt(C)
        P[f"{pre}.attn.{nm}.bias"] = randn(C, scale=0.1)
    P[pre + ".attn.proj.weight"] = uniform(-1, 1, C, C, 1) / math.sqrt(C)
    P[pre + ".attn.proj.bias"] = randn(C, scale=0.1)
    P[pre + ".ln2.weight"] = uniform(0.7, 1.3, 1, C, 1)
    P[pre + ".ln2.bias"] = randn(1, C, 1, scale=0.1)
    P[pre + ".mlp.0.weight"] = uniform(-1, 1, ratio * C, C, 1) / math.sqrt(C)
    P[pre + ".mlp.0.bias"] = randn(ratio * C, scale=0.1)
    P[pre + ".mlp.3.weight"] = uniform(-1, 1, C, ratio * C, 1) / math.sqrt(ratio * C)
    P[pre + ".mlp.3.bias"] = randn(C, scale=0.1)
    P[pre + ".drop_path_attn.scale"] = uniform(0.5, 1.0, 1, C, 1)
    P[pre + ".drop_path_mlp.scale"] = uniform(0.5, 1.0, 1, C, 1)
    return P


def down_mask(m, Tout):
    return F.interpolate(m[:, None, :], size=Tout, mode="nearest")[:, 0, :]


def block_fwd(x, m, P, pre, stride, heads, window):
    C, T = x.shape[1], x.shape[2]
    Tout = (T + 2 - 3) // stride + 1 if stride > 1 else T
    m2 = down_mask(m, Tout) if stride > 1 else m
    h = ln_c(x, P[pre + ".ln1.weight"], P[pre + ".ln1.bias"])
    qkv = []
    for nm in QKV:
        t = F.conv1d(h, P[f"{pre}.attn.{nm}_conv.conv.weight"], None, stride, 1, 1, C) * m2[:, None, :]
        t = ln_c(t, P[f"{pre}.attn.{nm}_norm.weight"], P[f"{pre}.attn.{nm}_norm.bias"])
        qkv.append(F.conv1d(t, P[f"{pre}.attn.{nm}.weight"], P[f"{pre}.attn.{nm}.bias"]))
    a = band_attention(*qkv, m2, heads, window)
    a = F.conv1d(a, P[pre + ".attn.proj.weight"], P[pre + ".attn.proj.bias"]) * m2[:, None, :]
    skip = F.max_pool1d(x, 3, stride, 1) if stride > 1 else x
    y = skip * m2[:, None, :] + a * P[pre + ".drop_path_attn.scale"]
    h = ln_c(y, P[pre + ".ln2.weight"], P[pre + ".ln2.bias"])
    h = F.gelu(F.conv1d(h, P[pre + ".mlp.0.weight"], P[pre + ".mlp.0.bias"]))
    h = F.conv1d(h, P[pre + ".mlp.3.weight"], P[pre + ".mlp.3.bias"]) * m2[:, None, :]
    return y + h * P[pre + ".drop_path_mlp.scale"], m2


def model_params(cfg):
    C, K, d_in = cfg["ch"], cfg["kernel"], cfg["d_in"]
    P = {}
    for i in range(cfg["n_embd"]):
        P[f"backbone.embd.{i}.conv.weight"] = uniform(-1, 1, C, C if i else d_in, K) / math.sqrt((C if i else d_in) * K)
        P[f"backbone.embd_norm.{i}.weight"] = uniform(0.7, 1.3, 1, C, 1)
        P[f"backbone.embd_norm.{i}.bias"] = randn(1, C, 1, scale=0.1)
    for i in range(cfg["n_stem"]):
        P.update(block_params(f"backbone.stem.{i}", C, cfg["mlp_ratio"]))
    for i in range(cfg["n_branch"]):
        P.update(block_params(f"backbone.branch.{i}", C, cfg["mlp_ratio"]))
    for l in range(cfg["n_branch"] + 1):
        P[f"neck.fpn_norms.{l}.weight"] = uniform(0.7, 1.3, 1, C, 1)
        P[f"neck.fpn_norms.{l}.bias"] = randn(1, C, 1, scale=0.1)
    for i in range(cfg["head_layers"]):
        for h in ("cls", "reg"):
            P[f"{h}_head.head.{i}.conv.weight"] = uniform(-1, 1, C, C, K) / math.sqrt(C * K)
            P[f"{h}_head.norm.{i}.weight"] = uniform(0.7, 1.3, 1, C, 1)
            P[f"{h}_head.norm.{i}.bias"] = randn(1, C, 1, scale=0.1)
    P["cls_head.cls_head.conv.weight"] = uniform(-1, 1, cfg["num_classes"], C, K) / math.sqrt(C * K)
    P["cls_head.cls_head.conv.bias"] = randn(cfg["num_classes"], scale=0.1)
    P["reg_head.offset_head.conv.weight"] = uniform(-1, 1, 2, C, K) / math.sqrt(C * K)
    P["reg_head.offset_head.conv.bias"] = randn(2, scale=0.1)
    for l in range(cfg["n_branch"] + 1):
        P[f"reg_head.scale.{l}.scale"] = uniform(0.5, 1.5, 1)
    return P


def model_fwd(x, m, P, cfg):
    pad = cfg["kernel"] // 2
    for i in range(cfg["n_embd"]):
        x = F.conv1d(x, P[f"backbone.embd.{i}.conv.weight"], None, 1, pad) * m[:, None, :]
        x = F.relu(ln_c(x, P[f"backbone.embd_norm.{i}.weight"], P[f"backbone.embd_norm.{i}.bias"]))
    for i in range(cfg["n_stem"]):
        x, _ = block_fwd(x, m, P, f"backbone.stem.{i}", 1, cfg["heads"], cfg["window"])
    feats, masks = [x], [m]
    for i in range(cfg["n_branch"]):
        x, m = block_fwd(x, m, P, f"backbone.branch.{i}", 2, cfg["heads"], cfg["window"])
        feats.append(x)
        masks.append(m)
    cls, reg = [], []
    for l, (f, ml) in enumerate(zip(feats, masks)):
        f = ln_c(f, P[f"neck.fpn_norms.{l}.weight"], P[f"neck.fpn_norms.{l}.bias"])
        hc, hr = f, f
        for i in range(cfg["head_layers"]):
            hc = F.conv1d(hc, P[f"cls_head.head.{i}.conv.weight"], None, 1, pad) * ml[:, None, :]
            hc = F.relu(ln_c(hc, P[f"cls_head.norm.{i}.weight"], P[f"cls_head.norm.{i}.bias"]))
            hr = F.conv1d(hr, P[f"reg_head.head.{i}.conv.weight"], None, 1, pad) * ml[:, None, :]
            hr = F.relu(ln_c(hr, P[f"reg_head.norm.{i}.weight"], P[f"reg_head.norm.{i}.bias"]))
        cls.append(F.conv1d(hc, P["cls_head.cls_head.conv.weight"], P["cls_head.cls_head.conv.bias"], 1, pad)
                   * ml[:, None, :])
        r = F.conv1d(hr, P["reg_head.offset_head.conv.weight"], P["reg_head.offset_head.conv.bias"], 1, pad)
        reg.append(F.relu(r * ml[:, None, :] * P[f"reg_head.scale.{l}.scale"]))
    return cls, reg


def net_case(W, name, P, inputs, fn, args):
    """a block or network: grads of x and of every parameter"""
    t = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in P.items()}
    x = torch.tensor(inputs["x"].astype(np.float64), requires_grad=True)
    m = torch.tensor(inputs["mask"].astype(np.float64))
    outs = fn(x, m, t)
    loss = 0
    for i, o in enumerate(outs):
        gy = randn(*o.shape)
        W.add(f"{name}/y{i}", o.detach().numpy())
        W.add(f"{name}/gy{i}", gy)
        loss = loss + (o * torch.tensor(gy.astype(np.float64))).sum()
    loss.backward()
    W.add(f"{name}/x", inputs["x"])
    W.add(f"{name}/mask", inputs["mask"])
    W.add(f"{name}/gx", x.grad.numpy())
    for k, v in P.items():
        W.add(f"{name}/p:{k}", v)
        W.add(f"{name}/gp:{k}", t[k].grad.numpy())
    W.add(f"{name}/args", np.array(list(args) + [0], np.int32))


# ---------------------------------------------------------------------------

def gen_ops(W):
    # linear
    for i, (shape, bias) in enumerate([((7, 12), 1), ((2, 5, 9), 0), ((33, 64), 1)]):
        Cout = 10
        x, w, b = randn(*shape), randn(Cout, shape[-1]), randn(Cout)
        case(W, f"linear/{i}", {"x": x, "w": w, "b": b},
             lambda t, bias=bias: F.linear(t["x"], t["w"], t["b"] if bias else None), ["x", "w", "b"], [bias])
    # matmul
    for i, (ta, tb, bat) in enumerate([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 1), (0, 0, 1)]):
        M, N, K, B = 6, 9, 5, 3
        sa = (K, M) if ta else (M, K)
        sb = (N, K) if tb else (K, N)
        a, b = randn(*(((B,) if bat else ()) + sa)), randn(*(((B,) if bat else ()) + sb))

        def mm(t, ta=ta, tb=tb):
            A = t["a"].transpose(-1, -2) if ta else t["a"]
            Bm = t["b"].transpose(-1, -2) if tb else t["b"]
            return A @ Bm
        case(W, f"matmul/{i}", {"a": a, "b": b}, mm, ["a", "b"], [ta, tb])
    # conv1d: Cin, Cout, K, stride, pad, groups, bias, mask
    convs = [(6, 5, 3, 1, 1, 1, 1, 1), (6, 4, 3, 2, 1, 1, 0, 1), (8, 8, 3, 1, 1, 8, 0, 1), (8, 8, 3, 2, 1, 8, 0, 1),
             (6, 4, 1, 1, 0, 1, 1, 0), (4, 6, 5, 1, 2, 2, 1, 1), (5, 3, 4, 3, 1, 1, 1, 0), (16, 12, 3, 1, 1, 1, 0, 1)]
    for i, (Cin, Cout, K, S, Pd, G, bias, msk) in enumerate(convs):
        B, T = 2, 23
        Tout = (T + 2 * Pd - K) // S + 1
        inp = {"x": randn(B, Cin, T), "w": randn(Cout, Cin // G, K), "b": randn(Cout), "mask": mask(B, Tout)}

        def conv(t, S=S, Pd=Pd, G=G, bias=bias, msk=msk):
            y = F.conv1d(t["x"], t["w"], t["b"] if bias else None, S, Pd, 1, G)
            return y * t["mask"][:, None, :] if msk else y
        case(W, f"conv1d/{i}", inp, conv, ["x", "w", "b"], [S, Pd, G, bias, msk])
    # layernorm
    for i, (shape, aff) in enumerate([((2, 16, 19), 1), ((2, 7, 5), 0), ((9, 12), 1)]):
        C = shape[1]
        inp = {"x": randn(*shape, scale=2.0) + 0.5, "w": uniform(0.5, 1.5, C), "b": randn(C)}

        def ln(t, aff=aff, nd=len(shape)):
            x = t["x"] if nd == 3 else t["x"][:, :, None]
            y = ln_c(x, t["w"] if aff else None, t["b"] if aff else None)
            return y if nd == 3 else y[:, :, 0]
        case(W, f"layernorm/{i}", inp, ln, ["x", "w", "b"], [aff], [1e-5])
    # activations
    for i, f in enumerate([F.relu, F.gelu, torch.sigmoid]):
        x = randn(2, 8, 31, scale=2.0)
        if i == 0:
            x = np.where(np.abs(x) < 1e-3, 0.5, x).astype(np.float32)
        case(W, f"act/{i}", {"x": x}, lambda t, f=f: f(t["x"]), ["x"], [i])
    # softmax / log-softmax with a (B,1,T) mask
    i = 0
    for dim in (1, 2):
        for log in (0, 1):
            for msk in (0, 1):
                inp = {"x": randn(3, 5, 11, scale=2.0), "mask": mask(3, 11)[:, None, :]}
                case(W, f"softmax/{i}", inp,
                     lambda t, d=dim, lg=log, mk=msk: masked_softmax(t["x"], d, t["mask"] if mk else None, lg),
                     ["x"], [dim, log, msk])
                i += 1
    # max-pool
    for i, (k, s, p) in enumerate([(3, 2, 1), (2, 2, 0), (3, 1, 1)]):
        case(W, f"maxpool/{i}", {"x": distinct(2, 4, 17)}, lambda t, k=k, s=s, p=p: F.max_pool1d(t["x"], k, s, p),
             ["x"], [k, s, p])
    # top-k mean over time
    for i, (k, msk) in enumerate([(4, 0), (4, 1), (30, 1)]):
        inp = {"x": distinct(3, 5, 13), "mask": mask(3, 13)}
        case(W, f"topk/{i}", inp, lambda t, k=k, msk=msk: topk_mean(t["x"], k, t["mask"] if msk else None),
             ["x"], [k, msk])
    # attention: heads, window, mask, T
    for i, (H, win, msk, T) in enumerate([(2, 19, 1, 40), (4, 7, 1, 23), (1, 5, 0, 9), (2, 0, 1, 17), (2, 1, 0, 12)]):
        C = 4 * H
        inp = {"q": randn(2, C, T), "k": randn(2, C, T), "v": randn(2, C, T), "mask": mask(2, T)}
        case(W, f"attention/{i}", inp,
             lambda t, H=H, win=win, msk=msk: band_attention(t["q"], t["k"], t["v"], t["mask"] if msk else None, H,
                                                             win), ["q", "k", "v"], [H, win, msk])
    # dropout and drop-path with talcore's random streams
    x = randn(3, 5, 37)
    keep = dropout_keep(77, x.size, 0.3).reshape(x.shape)
    case(W, "dropout/0", {"x": x}, lambda t: t["x"] * torch.tensor(keep) / 0.7, ["x"], [77], [0.3])
    x = randn(6, 4, 9)
    keep = drop_path_keep(78, 6, 0.4)
    case(W, "drop_path/0", {"x": x}, lambda t: t["x"] * torch.tensor(keep)[:, None, None] / 0.6, ["x"], [78], [0.4])
    case(W, "layer_scale/0", {"x": randn(2, 6, 10), "s": uniform(0.5, 1.5, 1, 6, 1)},
         lambda t: t["x"] * t["s"], ["x", "s"])
    # shapes
    for d in range(3):
        s = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
        for j in range(3):
            s[j][d] = j + 1
        case(W, f"concat/{d}", {"a": randn(*s[0]), "b": randn(*s[1]), "c": randn(*s[2])},
             lambda t, d=d: torch.cat([t["a"], t["b"], t["c"]], d), ["a", "b", "c"], [d])
    for i, (d, a, b) in enumerate([(0, 1, 3), (1, 2, 5), (2, 3, 7)]):
        case(W, f"slice/{i}", {"x": randn(4, 6, 9)}, lambda t, d=d, a=a, b=b: t["x"].narrow(d, a, b - a) * 1.0,
             ["x"], [d, a, b])
    case(W, "transpose/0", {"x": randn(3, 4, 5)}, lambda t: t["x"].transpose(0, 2).contiguous(), ["x"], [0, 2])
    # broadcast arithmetic
    forms = [((2, 3, 5), (2, 3, 5)), ((2, 3, 5), (1, 3, 1)), ((2, 3, 5), (2, 1, 5)), ((4, 1), (1, 6)),
             ((2, 3, 5), (1,))]
    i = 0
    for op in range(3):
        for sa, sb in forms:
            f = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b][op]
            case(W, f"binary/{i}", {"a": randn(*sa), "b": randn(*sb)}, lambda t, f=f: f(t["a"], t["b"]), ["a", "b"],
                 [op])
            i += 1
    case(W, "affine/0", {"x": randn(3, 7)}, lambda t: t["x"] * -1.7 + 0.3, ["x"], [], [-1.7, 0.3])
    for i, (lo, hi) in enumerate([(-0.5125, 0.7375), (-math.inf, 0.1375)]):
        case(W, f"clamp/{i}", {"x": distinct(3, 4, 5)}, lambda t, lo=lo, hi=hi: t["x"].clamp(lo, hi), ["x"], [],
             [lo, hi])
    # reductions: op (0 sum 1 mean 2 max), dim (-99 all), keepdim
    i = 0
    for op in range(3):
        for dim, keep in [(0, 0), (1, 1), (2, 0), (-99, 0)]:
            def red(t, op=op, dim=dim, keep=keep):
                x = t["x"]
                if dim == -99:
                    return [x.sum(), x.mean(), x.max()][op]
                if op == 2:
                    return x.max(dim, keepdim=bool(keep)).values
                return (x.sum if op == 0 else x.mean)(dim, keepdim=bool(keep))
            case(W, f"reduce/{i}", {"x": distinct(3, 4, 6) if op == 2 else randn(3, 4, 6)}, red, ["x"],
                 [op, dim, keep])
            i += 1
    # resampling
    for i, (T, Tout, mode) in enumerate([(9, 20, 1), (10, 4, 1), (9, 20, 0), (10, 4, 0), (6, 12, 0), (7, 7, 1),
                                         (288, 2304, 1)]):
        x = randn(2, 3, T)
        md = "linear" if mode else "nearest"
        case(W, f"resample/{i}", {"x": x},
             lambda t, Tout=Tout, md=md: F.interpolate(t["x"], size=Tout, mode=md,
                                                       **({"align_corners": False} if md == "linear" else {})),
             ["x"], [Tout, mode])
    # gather (index_select)
    for d in range(3):
        x = randn(3, 4, 5)
        idx = RNG.randint(0, x.shape[d], size=7).astype(np.int32)
        case(W, f"gather/{d}", {"x": x, "idx": idx}, lambda t, d=d: t["x"].index_select(d, t["idx"]), ["x"], [d])
    # losses
    x = randn(6, 5, scale=2.0)
    case(W, "bce/0", {"x": x, "t": uniform(0, 1, 6, 5)},
         lambda t: F.binary_cross_entropy_with_logits(t["x"], t["t"], reduction="none"), ["x"])
    yb = (RNG.uniform(size=(6, 5)) < 0.3).astype(np.float32)
    case(W, "focal/0", {"x": x, "t": yb}, lambda t: focal(t["x"], t["t"], 0.25, 2.0), ["x"], [], [0.25, 2.0])
    case(W, "focal/1", {"x": x, "t": uniform(0.05, 0.95, 6, 5)}, lambda t: focal(t["x"], t["t"], -1.0, 1.5), ["x"],
         [], [-1.0, 1.5])
    case(W, "qfl/0", {"x": x, "t": uniform(0, 1, 6, 5)}, lambda t: qfl(t["x"], t["t"], 2.0), ["x"], [], [2.0])
    tg = RNG.randint(0, 5, size=6).astype(np.int32)
    tg[2] = -1
    case(W, "ce/0", {"x": x, "target": tg},
         lambda t: F.cross_entropy(t["x"], t["target"], reduction="none", ignore_index=-1), ["x"])
    pred, tgt = uniform(0.2, 3, 9, 2), uniform(0.2, 3, 9, 2)
    tgt = np.where(np.abs(pred - tgt) < 0.05, tgt + 0.1, tgt).astype(np.float32)
    case(W, "diou/0", {"pred": pred, "target": tgt}, lambda t: diou(t["pred"], t["target"]), ["pred"])


def gen_block(W):
    for name, stride, heads, window, C, T in [("block/s1", 1, 2, 5, 8, 26), ("block/s2", 2, 2, 5, 8, 26),
                                              ("block/w19", 1, 4, 19, 16, 40)]:
        P = block_params("blk", C, 4)
        inp = {"x": randn(2, C, T), "mask": mask(2, T)}
        net_case(W, name, P, inp,
                 lambda x, m, t, s=stride, h=heads, w=window: [block_fwd(x, m, t, "blk", s, h, w)[0]],
                 [stride, heads, window])
    cfg = dict(d_in=6, ch=8, n_embd=2, n_stem=1, n_branch=2, heads=2, window=5, mlp_ratio=2, kernel=3,
               num_classes=3, head_layers=2)
    P = model_params(cfg)
    inp = {"x": randn(2, cfg["d_in"], 24), "mask": mask(2, 24)}

    def net(x, m, t):
        cls, reg = model_fwd(x, m, t, cfg)
        return cls + reg
    net_case(W, "model/tiny", P, inp, net,
             [cfg[k] for k in ("d_in", "ch", "n_embd", "n_stem", "n_branch", "heads", "window", "mlp_ratio",
                               "kernel", "num_classes", "head_layers")])


def gen_optim(W):
    """three steps of each optimiser on two parameter groups (decay, no decay)"""
    settings = [("adamw", 0, dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)),
                ("adam", 1, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
                ("sgd", 2, dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=False)),
                ("sgd_nesterov", 2, dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True))]
    for name, kind, kw in settings:
        p0, p1 = randn(5, 3), randn(4)
        t0 = torch.tensor(p0.astype(np.float64), requires_grad=True)
        t1 = torch.tensor(p1.astype(np.float64), requires_grad=True)
        groups = [{"params": [t0]}, {"params": [t1], "weight_decay": 0.0}]
        opt = {0: torch.optim.AdamW, 1: torch.optim.Adam, 2: torch.optim.SGD}[kind](groups, **kw)
        W.add(f"optim/{name}/p0", p0)
        W.add(f"optim/{name}/p1", p1)
        lrs = [kw["lr"], kw["lr"] * 0.5, kw["lr"] * 0.25]
        for s, lr in enumerate(lrs):
            for gr in opt.param_groups:
                gr["lr"] = lr
            g0, g1 = randn(5, 3), randn(4)
            t0.grad = torch.tensor(g0.astype(np.float64))
            t1.grad = torch.tensor(g1.astype(np.float64))
            opt.step()
            W.add(f"optim/{name}/g0_{s}", g0)
            W.add(f"optim/{name}/g1_{s}", g1)
        W.add(f"optim/{name}/p0_final", t0.detach().numpy())
        W.add(f"optim/{name}/p1_final", t1.detach().numpy())
        W.add(f"optim/{name}/lrs", np.array(lrs, np.float32))
        f = [kw.get("betas", (0, 0))[0], kw.get("betas", (0, 0))[1], kw.get("eps", 0), kw["weight_decay"],
             kw.get("momentum", 0), float(kw.get("nesterov", False))]
        W.add(f"optim/{name}/fargs", np.array(f, np.float32))
        W.add(f"optim/{name}/args", np.array([kind, 0], np.int32))
    # global-norm clipping
    for i, mx in enumerate([1.0, 100.0]):
        g0, g1 = randn(5, 3), randn(4)
        t0 = torch.zeros(5, 3, requires_grad=True)
        t1 = torch.zeros(4, requires_grad=True)
        t0.grad = torch.tensor(g0.astype(np.float64))
        t1.grad = torch.tensor(g1.astype(np.float64))
        norm = torch.nn.utils.clip_grad_norm_([t0, t1], mx)
        W.add(f"clip/{i}/g0", g0)
        W.add(f"clip/{i}/g1", g1)
        W.add(f"clip/{i}/g0_clipped", t0.grad.numpy())
        W.add(f"clip/{i}/g1_clipped", t1.grad.numpy())
        W.add(f"clip/{i}/fargs", np.array([mx, float(norm)], np.float32))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "data", "ref")
    os.makedirs(out, exist_ok=True)
    for fname, gen in [("ops.ref", gen_ops), ("block.ref", gen_block), ("optim.ref", gen_optim)]:
        W = RefWriter()
        gen(W)
        W.save(os.path.join(out, fname))
        print(f"gen_reference: {os.path.join(out, fname)}: {len(W.entries)} arrays", file=sys.stderr)


if __name__ == "__main__":
    main()
