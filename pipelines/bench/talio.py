"""talio.py -- what the PyTorch side of `make bench-train` needs from talcore,
in Python, for the benchmark only:

  - a reader of talcore streams (data-spec.md): the header (classes, feature
    width, time grid) and each record's id, duration, frame rate, segments
    and features (f32 or f16, row-major T x D, returned as float32);
  - a reader of the parameter sets of a talcore checkpoint
    (lib/io/checkpoint.h: "params", "ema");
  - talcore's random numbers (lib/util/rng.c: Philox4x32-10 with SplitMix64
    keys, Lemire's bounded integers, Fisher-Yates), so that the PyTorch
    side draws the same batch order, crops and drop-path masks;
  - the ActionFormer-style training crop of lib/models/af_targets.c
    (tal_af_crop), on the same numbers.

Checksums are not verified (talcore wrote and checked these files); the
reader stops at the first EOF marker (no concatenated streams).
"""
import struct
import zlib

import numpy as np

# ---------------------------------------------------------------------------
# streams

FRAME_MAGIC = b"\x8aTAL"
SEC_CORE, SEC_FEATURES, SEC_SEGMENTS, SEC_DETECTIONS = 1, 2, 3, 4
AMBIGUOUS = 1
SUP_FULL = 1


class _Logical:
    """the decoded payloads of a stream's frames, read as one byte stream"""

    def __init__(self, f):
        self.f = f
        self.cur = b""
        self.pos = 0
        self.done = False

    def _next_frame(self):
        h = self.f.read(24)
        if len(h) < 24:
            raise ValueError("talio: truncated frame header")
        magic, codec, flags, _, csize, usize, _, _ = struct.unpack("<4sBBHIIII", h)
        if magic != FRAME_MAGIC or flags:
            raise ValueError("talio: bad frame")
        if usize == 0:
            self.done = True
            return False
        p = self.f.read(csize)
        if len(p) < csize:
            raise ValueError("talio: truncated frame")
        self.cur = zlib.decompress(p, -15) if codec == 1 else p
        self.pos = 0
        return True

    def read(self, n):
        """exactly n bytes, or None at the EOF marker (between chunks)"""
        parts, need = [], n
        while need:
            if self.pos == len(self.cur) and (self.done or not self._next_frame()):
                if need == n:
                    return None
                raise ValueError("talio: EOF marker inside a chunk")
            k = min(need, len(self.cur) - self.pos)
            parts.append(self.cur[self.pos:self.pos + k])
            self.pos += k
            need -= k
        return parts[0] if len(parts) == 1 else b"".join(parts)


def _str(b, o):
    (n,) = struct.unpack_from("<I", b, o)
    return b[o + 4:o + 4 + n].decode(), o + 4 + n


def _sections(body, o=0):
    while o < len(body):
        t, _, n = struct.unpack_from("<IIQ", body, o)
        yield t, o + 16, n
        o += 16 + n


class Header:
    def __init__(self, body):
        self.classes, self.feat_dim, self.fps, self.stride, self.clip = [], 0, 0.0, 1.0, 1.0
        for t, o, n in _sections(body, 12):
            if t == 1:
                (k,) = struct.unpack_from("<I", body, o)
                p = o + 4
                for _ in range(k):
                    p += 4
                    name, p = _str(body, p)
                    self.classes.append(name)
            elif t == 2:
                (self.feat_dim,) = struct.unpack_from("<I", body, o)
            elif t == 3:
                self.fps, self.stride, self.clip = struct.unpack_from("<ddd", body, o)


SEG_DTYPE = np.dtype([("start", "<f8"), ("end", "<f8"), ("score", "<f8"), ("cls", "<i4"), ("flags", "<u4")])


class Record:
    __slots__ = ("id", "duration", "fps", "supervision", "segs", "dets", "feat", "T")

    def __init__(self, body):
        self.segs = self.dets = np.zeros(0, SEG_DTYPE)
        self.feat, self.T = None, 0
        for t, o, n in _sections(body):
            if t == SEC_CORE:
                self.id, p = _str(body, o)
                _, p = _str(body, p)
                self.duration, self.fps, self.supervision = struct.unpack_from("<ddB", body, p)
            elif t in (SEC_SEGMENTS, SEC_DETECTIONS):
                k, qmask = struct.unpack_from("<II", body, o)
                size = 32 + 4 * bin(qmask).count("1")
                raw = np.frombuffer(body, np.uint8, k * size, o + 8).reshape(k, size)
                v = np.ascontiguousarray(raw[:, :32]).view(SEG_DTYPE).reshape(k)
                if t == SEC_SEGMENTS:
                    self.segs = v
                else:
                    self.dets = v
            elif t == SEC_FEATURES:
                T, D, dt = struct.unpack_from("<IIB", body, o)
                a = np.frombuffer(body, "<f4" if dt == 1 else "<f2", T * D, o + 12)
                self.feat = a.reshape(T, D).astype(np.float32)   # always a copy: the chunk can go
                self.T = T


def read_stream(path):
    """(header, generator of records), one record in memory at a time"""
    f = open(path, "rb")
    src = _Logical(f)

    def chunk():
        h = src.read(16)
        if h is None:
            return None, None
        t, _, n = struct.unpack("<IIQ", h)
        return t, src.read(n)

    t, body = chunk()
    if t != 1:
        raise ValueError(f"talio: '{path}' does not start with a header")
    hdr = Header(body)

    def records():
        try:
            while True:
                t, body = chunk()
                if t is None:
                    return
                if t == 2:
                    yield Record(body)
        finally:
            f.close()
    return hdr, records()


# ---------------------------------------------------------------------------
# checkpoints

def read_checkpoint(path, sets=("params", "ema")):
    """{set name: {tensor name: float32 array}} for the tensor sets asked for"""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89TALCKPT":
        raise ValueError(f"talio: '{path}' is not a talcore checkpoint")
    o = 16
    while o < len(data):
        t, _, n = struct.unpack_from("<IIQ", data, o)
        p = o + 24
        if t == 3:
            (ilen,) = struct.unpack_from("<Q", data, p)
            q = p + 8
            (k,) = struct.unpack_from("<H", data, q)
            name = data[q + 2:q + 2 + k].decode()
            q += 2 + k
            (count,) = struct.unpack_from("<I", data, q)
            q += 4
            index = []
            for _ in range(count):
                (k,) = struct.unpack_from("<H", data, q)
                tn = data[q + 2:q + 2 + k].decode()
                q += 2 + k
                nd = data[q]
                shape = struct.unpack_from(f"<{nd}Q", data, q + 1)
                (off,) = struct.unpack_from("<Q", data, q + 1 + 8 * nd)
                q += 1 + 8 * nd + 8
                index.append((tn, shape, off))
            (total,) = struct.unpack_from("<Q", data, q)
            if name in sets:
                flat = np.frombuffer(data, "<f4", total, p + ilen)
                out[name] = {tn: flat[off:off + int(np.prod(shape))].reshape(shape).copy()
                             for tn, shape, off in index}
        if t == 0x7FFFFFFF:
            break
        o = p + n
    return out


# ---------------------------------------------------------------------------
# talcore's random numbers

M32, M64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def _mix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _philox(c0, c1, c2, c3, k0, k1):
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & M32, p1 & M32, ((p0 >> 32) ^ c3 ^ k1) & M32, p0 & M32
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return [c0, c1, c2, c3]


class Rng:
    def __init__(self, seed):
        k = _mix64(seed & M64)
        self.k0, self.k1 = k & M32, k >> 32
        self.counter = 0
        self.buf = []

    def split(self, index):
        pk = self.k0 | (self.k1 << 32)
        return Rng(_mix64(pk ^ _mix64((index + 0x632BE59BD9B4E019) & M64)))

    def u32(self):
        if not self.buf:
            self.buf = _philox(self.counter & M32, self.counter >> 32, 0, 0, self.k0, self.k1)[::-1]
            self.counter += 1
        return self.buf.pop()

    def float(self):
        """uniform in [0, 1) with 24 bits (exact in float32)"""
        return (self.u32() >> 8) * 2.0 ** -24

    def below(self, n):
        m = self.u32() * n
        if (m & M32) < n:
            t = ((1 << 32) - n) % n
            while (m & M32) < t:
                m = self.u32() * n
        return m >> 32

    def shuffle(self, v):
        for i in range(len(v), 1, -1):
            j = self.below(i)
            v[i - 1], v[j] = v[j], v[i - 1]
        return v


# ---------------------------------------------------------------------------
# the training crop (tal_af_crop), segments in float32 grid units

def grid_segments(rec, hdr):
    """the record's instances on its feature grid: float32 (n, 2) and classes;
    ambiguous ones and those without a class left out"""
    fps = rec.fps if rec.fps > 0 else hdr.fps
    keep = (rec.segs["flags"] & AMBIGUOUS) == 0
    keep &= rec.segs["cls"] >= 0
    s = rec.segs[keep]
    a, b = np.minimum(s["start"], s["end"]), np.maximum(s["start"], s["end"])
    g = lambda sec: (sec * fps - 0.5 * hdr.clip) / hdr.stride
    return np.stack([g(a), g(b)], 1).astype(np.float32).reshape(-1, 2), s["cls"].astype(np.int64)


def crop(rng, T, max_len, lo, hi, trunc, offset, segs, cls):
    """(start, length, kept segments (float32, shifted), their classes)"""
    if T <= max_len:
        if lo >= 1.0:
            return 0, T, segs, cls
        a, b = max(round(lo * T), 1), min(round(hi * T), T)
        n = rng.below(max(a, b) - a + 1) + a
        if n == T:
            return 0, T, segs, cls
    else:
        n = max_len
    s64, e64 = segs[:, 0].astype(np.float64), segs[:, 1].astype(np.float64)
    area = np.abs(e64 - s64)

    def ratio(st):
        l, r = np.maximum(st - offset, s64), np.minimum(st + n + offset, e64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(area > 0, np.maximum(r - l, 0) / area, 0.0), l, r
    st = 0
    for _ in range(200):
        st = rng.below(T - n + 1)
        if len(segs) == 0 or (ratio(st)[0] >= trunc).any():
            break
    q, l, r = ratio(st)
    k = q >= trunc
    kept = np.stack([l[k] - st, r[k] - st], 1).astype(np.float32).reshape(-1, 2)
    return st, n, kept, cls[k]
