/* cuda_pool.cu — max-pooling, top-k mean, gather, reductions and
 * resampling along the last dimension: the twin of lib/backends/cpu_pool.c.
 * The backward kernels gather instead of scattering, so that every sum is
 * formed by one thread in a fixed order (no float atomics). */
#include "cuda_common.cuh"

/* ---- max-pool 1-D ------------------------------------------------------------
 * The first maximum of each window, -inf padding; a window of nothing but
 * -inf picks its first position, as on the CPU. */

__global__ void k_maxpool(float *out, int32_t *idx, const float *x, int64_t R, int T, int Tout, int K, int S, int P)
{
    TCU_FOR(o, R * Tout) {
        int64_t r = o / Tout;
        int t = (int)(o - r * Tout);
        const float *xr = x + r * T;
        int lo = t * S - P, hi = lo + K;
        lo = lo < 0 ? 0 : lo;
        hi = hi > T ? T : hi;
        float best = -INFINITY;
        int bi = lo < T ? lo : T - 1;
        for (int i = lo; i < hi; i++)
            if (xr[i] > best || (i == lo && xr[i] == -INFINITY)) {
                best = xr[i];
                bi = i;
            }
        out[o] = best;
        idx[o] = bi;
    }
}

void tcu_maxpool1d_forward(float *out, int32_t *idx, const float *inp, int64_t R, int T, int Tout, int K, int S, int P)
{
    TCU_LAUNCH(k_maxpool, tcu_blocks(R * Tout, TCU_THREADS), TCU_THREADS, 0, out, idx, inp, R, T, Tout, K, S, P);
}

/* Windows move right and each takes its first maximum, so a row's argmax
 * positions never decrease (a later window that still holds an earlier
 * window's first maximum cannot prefer a position before it).  The outputs
 * choosing input i are therefore one run of t, found by binary search, and
 * their gradients are added in t order, as the CPU adds them. */
__global__ void k_maxpool_back(float *dx, const float *g, const int32_t *idx, int64_t R, int T, int Tout, int acc)
{
    TCU_FOR(o, R * T) {
        int64_t r = o / T;
        int i = (int)(o - r * T);
        const int32_t *ix = idx + r * Tout;
        const float *gr = g + r * Tout;
        int lo = 0, hi = Tout;   /* first t with ix[t] >= i */
        while (lo < hi) {
            int mid = (lo + hi) >> 1;
            if (ix[mid] < i)
                lo = mid + 1;
            else
                hi = mid;
        }
        float s = acc ? dx[o] : 0.0f;
        for (int t = lo; t < Tout && ix[t] == i; t++)
            s += gr[t];
        dx[o] = s;
    }
}

void tcu_maxpool1d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t R, int T, int Tout, int acc)
{
    TCU_LAUNCH(k_maxpool_back, tcu_blocks(R * T, TCU_THREADS), TCU_THREADS, 0, dinp, dout, idx, R, T, Tout, acc);
}

/* ---- top-k mean ------------------------------------------------------------------
 * Positions ordered by value (descending), then position (ascending): the
 * chosen set is the CPU's.  A block per row picks the k first in k rounds,
 * each round the first in that order after the last one picked. */

__global__ void k_topk_count(int32_t *kb, const float *mask, int B, int T, int k)
{
    __shared__ float sh[32];
    int b = blockIdx.x;
    float n = 0.0f;
    for (int t = threadIdx.x; t < T; t += blockDim.x)
        n += !mask || mask[(int64_t)b * T + t] != 0.0f ? 1.0f : 0.0f;
    n = tcu_block_sum(n, sh);   /* exact: counts below 2^24 */
    if (threadIdx.x == 0)
        kb[b] = (int)n < k ? (int)n : k;
}

/* is (v, i) before (w, j)? */
__device__ __forceinline__ bool topk_before(float v, int i, float w, int j) { return v > w || (v == w && i < j); }

__global__ void k_topk(float *out, int32_t *idx, const int32_t *kb, const float *x, const float *mask, int C, int T,
                       int k)
{
    __shared__ float sv[32];
    __shared__ int si[32];
    int64_t row = blockIdx.x;
    int b = (int)(row / C);
    const float *xr = x + row * T;
    const float *mr = mask ? mask + (int64_t)b * T : NULL;
    int32_t *ix = idx + row * k;
    int kk = kb[b], lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float pv = INFINITY;   /* the last pick: nothing is before (+inf, -1) */
    int pi = -1;
    double s = 0.0;
    for (int j = 0; j < kk; j++) {
        float bv = -INFINITY;
        int bi = -1;
        for (int t = threadIdx.x; t < T; t += blockDim.x) {
            if (mr && mr[t] == 0.0f)
                continue;
            float v = xr[t];
            if (topk_before(pv, pi, v, t) && (bi < 0 || topk_before(v, t, bv, bi))) {
                bv = v;
                bi = t;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (oi >= 0 && (bi < 0 || topk_before(ov, oi, bv, bi))) {
                bv = ov;
                bi = oi;
            }
        }
        __syncthreads();
        if (lane == 0) {
            sv[warp] = bv;
            si[warp] = bi;
        }
        __syncthreads();
        bv = -INFINITY;
        bi = -1;
        for (int w = 0; w < nw; w++)
            if (si[w] >= 0 && (bi < 0 || topk_before(sv[w], si[w], bv, bi))) {
                bv = sv[w];
                bi = si[w];
            }
        pv = bv;
        pi = bi;
        if (threadIdx.x == 0)
            ix[j] = bi;
        s += bv;
    }
    if (threadIdx.x == 0) {
        for (int j = kk; j < k; j++)
            ix[j] = -1;
        out[row] = kk > 0 ? (float)(s / kk) : 0.0f;
    }
}

void tcu_topk_mean_forward(float *out, int32_t *idx, int32_t *kb, const float *inp, const float *mask, int B, int C,
                           int T, int k, int32_t *ws)
{
    (void)ws;
    TCU_LAUNCH(k_topk_count, B, TCU_THREADS, 0, kb, mask, B, T, k);
    TCU_LAUNCH(k_topk, (unsigned)B * C, TCU_THREADS, 0, out, idx, kb, inp, mask, C, T, k);
}

/* a row's picks are distinct positions: a thread per pick, one add each */
__global__ void k_topk_back(float *dx, const float *g, const int32_t *idx, const int32_t *kb, int64_t rows, int C,
                            int T, int k)
{
    TCU_FOR(o, rows * k) {
        int64_t row = o / k;
        int j = (int)(o - row * k), kk = kb[row / C];
        if (j < kk)
            dx[row * T + idx[o]] += g[row] / (float)kk;
    }
}

void tcu_topk_mean_backward(float *dinp, const float *dout, const int32_t *idx, const int32_t *kb, int B, int C, int T,
                            int k, int acc)
{
    int64_t rows = (int64_t)B * C;
    if (!acc)
        tcu_zero(dinp, (size_t)(rows * T));
    TCU_LAUNCH(k_topk_back, tcu_blocks(rows * k, TCU_THREADS), TCU_THREADS, 0, dinp, dout, idx, kb, rows, C, T, k);
}

/* ---- gather (index_select) ---------------------------------------------------------- */

__global__ void k_gather(float *out, const float *inp, const int32_t *index, int64_t O, int64_t D, int64_t I,
                         int64_t n)
{
    TCU_FOR(e, O * n * I) {
        int64_t i = e % I, r = e / I, j = r % n, o = r / n;
        out[e] = inp[(o * D + index[j]) * I + i];
    }
}

void tcu_gather_forward(float *out, const float *inp, const int32_t *index, int64_t O, int64_t D, int64_t I, int64_t n)
{
    TCU_LAUNCH(k_gather, tcu_blocks(O * n * I, TCU_THREADS), TCU_THREADS, 0, out, inp, index, O, D, I, n);
}

/* a thread per column (o, i) adds the selected rows j in order: repeated
 * indices accumulate in the CPU's order */
__global__ void k_gather_back(float *dinp, const float *dout, const int32_t *index, int64_t O, int64_t D, int64_t I,
                              int64_t n)
{
    TCU_FOR(c, O * I) {
        int64_t i = c % I, o = c / I;
        for (int64_t j = 0; j < n; j++)
            dinp[(o * D + index[j]) * I + i] += dout[(o * n + j) * I + i];
    }
}

void tcu_gather_backward(float *dinp, const float *dout, const int32_t *index, int64_t O, int64_t D, int64_t I,
                         int64_t n, int acc)
{
    if (!acc)
        tcu_zero(dinp, (size_t)(O * D * I));
    TCU_LAUNCH(k_gather_back, tcu_blocks(O * I, TCU_THREADS), TCU_THREADS, 0, dinp, dout, index, O, D, I, n);
}

/* ---- reductions over the middle dimension of (O,D,I) ---------------------------------
 * I > 1: a thread per output column, down D in order.  I == 1: the rows
 * are contiguous; a block per row, split into P fixed slices for long
 * rows, the slices combined in order (the first maximum wins ties). */

__global__ void k_reduce_cols(float *out, int32_t *idx, const float *x, int64_t O, int64_t D, int64_t I, int op)
{
    TCU_FOR(c, O * I) {
        int64_t i = c % I, o = c / I;
        const float *xc = x + o * D * I + i;
        if (op == TAL_RED_MAX) {
            float m = xc[0];
            int32_t a = 0;
            for (int64_t d = 1; d < D; d++)
                if (xc[d * I] > m) {
                    m = xc[d * I];
                    a = (int32_t)d;
                }
            out[c] = m;
            idx[c] = a;
        } else {
            float s = 0.0f;
            for (int64_t d = 0; d < D; d++)
                s += xc[d * I];
            out[c] = op == TAL_RED_MEAN ? s * (1.0f / (float)D) : s;
        }
    }
}

/* block (o, p): slice p of row o; P == 1 writes the result */
__global__ void k_reduce_rows(float *out, int32_t *idx, float *pv, int32_t *pi, const float *x, int64_t D, int P,
                              int op)
{
    __shared__ float sv[32];
    __shared__ int32_t si[32];
    int64_t o = blockIdx.x;
    int p = blockIdx.y;
    int64_t lo = D * p / P, hi = D * (p + 1) / P;
    const float *xr = x + o * D;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    float v;
    int32_t a = -1;
    if (op == TAL_RED_MAX) {
        v = -INFINITY;
        for (int64_t d = lo + threadIdx.x; d < hi; d += blockDim.x)
            if (a < 0 || xr[d] > v) {
                v = xr[d];
                a = (int32_t)d;
            }
        for (int s = 16; s > 0; s >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, v, s);
            int32_t oa = __shfl_xor_sync(0xffffffffu, a, s);
            if (oa >= 0 && (a < 0 || ov > v || (ov == v && oa < a))) {
                v = ov;
                a = oa;
            }
        }
        __syncthreads();
        if (lane == 0) {
            sv[warp] = v;
            si[warp] = a;
        }
        __syncthreads();
        v = -INFINITY;
        a = -1;
        for (int w = 0; w < nw; w++)
            if (si[w] >= 0 && (a < 0 || sv[w] > v || (sv[w] == v && si[w] < a))) {
                v = sv[w];
                a = si[w];
            }
    } else {
        float s = 0.0f;
        for (int64_t d = lo + threadIdx.x; d < hi; d += blockDim.x)
            s += xr[d];
        v = tcu_block_sum(s, sv);
    }
    if (threadIdx.x)
        return;
    if (P > 1) {
        pv[o * P + p] = v;
        if (op == TAL_RED_MAX)
            pi[o * P + p] = a;
        return;
    }
    out[o] = op == TAL_RED_MEAN ? v / (float)D : v;
    if (op == TAL_RED_MAX)
        idx[o] = a;
}

__global__ void k_reduce_finish(float *out, int32_t *idx, const float *pv, const int32_t *pi, int64_t O, int64_t D,
                                int P, int op)
{
    TCU_FOR(o, O) {
        float v = pv[o * P];
        int32_t a = op == TAL_RED_MAX ? pi[o * P] : 0;
        for (int p = 1; p < P; p++) {
            float u = pv[o * P + p];
            if (op != TAL_RED_MAX)
                v += u;
            else if (pi[o * P + p] >= 0 && (a < 0 || u > v)) {
                v = u;
                a = pi[o * P + p];
            }
        }
        out[o] = op == TAL_RED_MEAN ? v / (float)D : v;
        if (op == TAL_RED_MAX)
            idx[o] = a;
    }
}

void tcu_reduce_forward(float *out, int32_t *idx, const float *inp, int64_t O, int64_t D, int64_t I, int op)
{
    if (I > 1 || D == 0) {
        TCU_LAUNCH(k_reduce_cols, tcu_blocks(O * I, TCU_THREADS), TCU_THREADS, 0, out, idx, inp, O, D, I, op);
        return;
    }
    int64_t P = D / 16384;
    P = P < 1 ? 1 : P > 64 ? 64 : P;
    if (O > 65536)
        P = 1;
    float *pv = NULL;
    int32_t *pi = NULL;
    if (P > 1) {
        pv = (float *)tcu_scratch(sizeof(float) * (size_t)(2 * O * P));
        if (!pv)
            return;
        pi = (int32_t *)(pv + O * P);
    }
    TCU_LAUNCH(k_reduce_rows, dim3((unsigned)O, (unsigned)P), TCU_THREADS, 0, out, idx, pv, pi, inp, D, (int)P, op);
    if (P > 1)
        TCU_LAUNCH(k_reduce_finish, tcu_blocks(O, TCU_THREADS), TCU_THREADS, 0, out, idx, pv, pi, O, D, (int)P, op);
}

__global__ void k_reduce_back(float *dx, const float *g, const int32_t *idx, int64_t O, int64_t D, int64_t I, int op,
                              int acc)
{
    TCU_FOR(e, O * D * I) {
        int64_t i = e % I, r = e / I, d = r % D, o = r / D, c = o * I + i;
        float v = op == TAL_RED_MAX ? (idx[c] == d ? g[c] : 0.0f)
                                    : op == TAL_RED_MEAN ? g[c] * (1.0f / (float)D) : g[c];
        dx[e] = acc ? dx[e] + v : v;
    }
}

void tcu_reduce_backward(float *dinp, const float *dout, const int32_t *idx, int64_t O, int64_t D, int64_t I, int op,
                         int acc)
{
    TCU_LAUNCH(k_reduce_back, tcu_blocks(O * D * I, TCU_THREADS), TCU_THREADS, 0, dinp, dout, idx, O, D, I, op, acc);
}

/* ---- resampling --------------------------------------------------------------------
 * PyTorch's interpolate(align_corners=False) index arithmetic in float, as
 * the CPU does it; the _rn intrinsics keep the compiler from fusing a
 * multiply and an add, which could move an index across a boundary. */

__device__ __forceinline__ void linear_coef(int Tin, int Tout, int t, int *i0, int *i1, float *l0, float *l1)
{
    float scale = __fdiv_rn((float)Tin, (float)Tout);
    float src = __fsub_rn(__fmul_rn(scale, __fadd_rn((float)t, 0.5f)), 0.5f);
    if (src < 0)
        src = 0;
    int a = (int)src;
    int off = a < Tin - 1 ? 1 : 0;
    float lam = __fsub_rn(src, (float)a);
    lam = lam < 0 ? 0 : lam > 1 ? 1 : lam;
    *i0 = a;
    *i1 = a + off;
    *l1 = lam;
    *l0 = __fsub_rn(1.0f, lam);
}

__device__ __forceinline__ int nearest_src(int Tin, int Tout, int t)
{
    if (Tin == Tout)
        return t;
    if (Tout == 2 * Tin)
        return t >> 1;
    float scale = __fdiv_rn((float)Tin, (float)Tout);
    int s = (int)floorf(__fmul_rn((float)t, scale));
    return s < Tin - 1 ? s : Tin - 1;
}

__device__ __forceinline__ void resample_coef(int Tin, int Tout, int t, int mode, int *i0, int *i1, float *l0,
                                              float *l1)
{
    if (mode == TAL_RESAMPLE_NEAREST) {
        *i0 = *i1 = nearest_src(Tin, Tout, t);
        *l0 = 1.0f;
        *l1 = 0.0f;
    } else {
        linear_coef(Tin, Tout, t, i0, i1, l0, l1);
    }
}

__global__ void k_resample(float *out, const float *inp, int64_t R, int Tin, int Tout, int mode)
{
    TCU_FOR(e, R * Tout) {
        int64_t r = e / Tout;
        int t = (int)(e - r * Tout), i0, i1;
        float l0, l1;
        resample_coef(Tin, Tout, t, mode, &i0, &i1, &l0, &l1);
        const float *x = inp + r * Tin;
        out[e] = __fadd_rn(__fmul_rn(l0, x[i0]), __fmul_rn(l1, x[i1]));
    }
}

void tcu_resample_forward(float *out, const float *inp, int64_t R, int Tin, int Tout, int mode)
{
    TCU_LAUNCH(k_resample, tcu_blocks(R * Tout, TCU_THREADS), TCU_THREADS, 0, out, inp, R, Tin, Tout, mode);
}

/* a thread per row, adding in the CPU's order (resampling backward only
 * ever meets masks and small tensors: nothing here needs to be fast) */
__global__ void k_resample_back(float *dinp, const float *dout, int64_t R, int Tin, int Tout, int mode, int acc)
{
    TCU_FOR(r, R) {
        float *d = dinp + r * Tin;
        const float *g = dout + r * Tout;
        if (!acc)
            for (int i = 0; i < Tin; i++)
                d[i] = 0.0f;
        for (int t = 0; t < Tout; t++) {
            int i0, i1;
            float l0, l1;
            resample_coef(Tin, Tout, t, mode, &i0, &i1, &l0, &l1);
            d[i0] = __fadd_rn(d[i0], __fmul_rn(l0, g[t]));
            d[i1] = __fadd_rn(d[i1], __fmul_rn(l1, g[t]));
        }
    }
}

void tcu_resample_backward(float *dinp, const float *dout, int64_t R, int Tin, int Tout, int mode, int acc)
{
    TCU_LAUNCH(k_resample_back, tcu_blocks(R, 64), 64, 0, dinp, dout, R, Tin, Tout, mode, acc);
}
