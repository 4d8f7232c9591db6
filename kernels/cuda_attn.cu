/* cuda_attn.cu — multi-head attention over channel-first (B, H*D, T)
 * tensors: the twin of lib/backends/cpu_attn.c.
 *
 * Local (banded) attention is one fused kernel per pass.  A block owns
 * AT_TQ = 32 queries of one (batch, head); it stages the queries and the
 * keys they see (32 + 2w of them) in shared memory, DC channels at a time,
 * accumulates the (2w+1) x 32 scores there, takes the masked softmax of
 * each query's column, writes the probabilities (B,H,2w+1,T) that backward
 * needs, and applies them to the values staged the same way: scores, the
 * probabilities and the products never leave the chip.  Backward is two
 * such kernels: one per query tile (dP from dout and v, the softmax
 * backward, dS written to ws, dq from dS and k) and one per key tile (dk
 * from dS and q, dv from P and dout, gathered over the 2w+1 queries that
 * see each key).  Nothing is accumulated with atomics.
 *
 * Masking as ActionFormer's LocalMaskedMHCA: keys outside the sequence are
 * excluded, keys whose mask is 0 get -1e4 added, and the probabilities of a
 * query whose mask is 0 are zeroed after the softmax.
 *
 * Global attention (w < 0) goes through batched cuBLAS products and a
 * row softmax; masked keys are excluded, a query with no key left gets 0. */
#include "cuda_common.cuh"

#define AT_TQ 32
#define AT_THREADS 256

/* channels staged per step: fewer for wide windows, to bound shared memory
 * (at most about 43 KiB for w = 127, the widest the op allows) */
static int at_dc(int w) { return w <= 32 ? 32 : w <= 64 ? 16 : 8; }

/* ---- query-tile kernel ---------------------------------------------------------
 * mode 0 (forward): S = q.k, P = masked softmax(scale S), prob = P,
 *                   out = P v.
 * mode 1 (backward): S = dout.v (= dP), P read from prob,
 *                   dS = P (dP - sum P dP) into ws, dq (+)= scale dS k. */
__global__ void k_band_query(float *out, float *pw, const float *A, const float *Bm, const float *Cm,
                             const float *prob, const float *mask, int H, int D, int T, int w, float scale, int DC,
                             int mode, int acc)
{
    extern __shared__ float smem[];
    const int W = 2 * w + 1, KS = AT_TQ + 2 * w;
    float *S = smem, *abuf = S + W * AT_TQ, *bbuf = abuf + DC * AT_TQ;
    int t0 = blockIdx.x * AT_TQ, h = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
    int64_t base = ((int64_t)b * H + h) * D * T;   /* channel h*D of batch b */
    int64_t pbase = ((int64_t)b * H + h) * W * T;
    const float *mb = mask ? mask + (int64_t)b * T : NULL;

    /* phase 1: S[j][tt] = sum_d A[d][t0+tt] Bm[d][t0+tt+j-w] */
    for (int p = tid; p < W * AT_TQ; p += blockDim.x)
        S[p] = 0.0f;
    for (int d0 = 0; d0 < D; d0 += DC) {
        int nd = D - d0 < DC ? D - d0 : DC;
        __syncthreads();
        for (int p = tid; p < DC * AT_TQ; p += blockDim.x) {
            int dc = p / AT_TQ, tt = p - dc * AT_TQ, t = t0 + tt;
            abuf[p] = dc < nd && t < T ? A[base + (int64_t)(d0 + dc) * T + t] : 0.0f;
        }
        for (int p = tid; p < DC * KS; p += blockDim.x) {
            int dc = p / KS, u = p - dc * KS, key = t0 - w + u;
            bbuf[p] = dc < nd && key >= 0 && key < T ? Bm[base + (int64_t)(d0 + dc) * T + key] : 0.0f;
        }
        __syncthreads();
        for (int p = tid; p < W * AT_TQ; p += blockDim.x) {
            int j = p / AT_TQ, tt = p - j * AT_TQ;
            float s = 0.0f;
            for (int dc = 0; dc < nd; dc++)
                s += abuf[dc * AT_TQ + tt] * bbuf[dc * KS + tt + j];
            S[p] += s;
        }
    }
    __syncthreads();

    /* phase 2: one thread per query column */
    if (tid < AT_TQ) {
        int tt = tid, t = t0 + tt;
        if (t >= T) {
            for (int j = 0; j < W; j++)
                S[j * AT_TQ + tt] = 0.0f;
        } else if (mode == 0) {
            float mx = -INFINITY, sum = 0.0f;
            for (int j = 0; j < W; j++) {
                int key = t + j - w, in = key >= 0 && key < T;
                float v = S[j * AT_TQ + tt] * scale;
                if (mb && in)
                    v += mb[key] != 0.0f ? 0.0f : -1e4f;
                v = in ? v : -INFINITY;
                S[j * AT_TQ + tt] = v;
                mx = fmaxf(mx, v);
            }
            for (int j = 0; j < W; j++) {
                float v = S[j * AT_TQ + tt];
                float e = v == -INFINITY ? 0.0f : expf(v - mx);
                S[j * AT_TQ + tt] = e;
                sum += e;
            }
            float r = sum > 0.0f ? 1.0f / sum : 0.0f;
            if (mb && mb[t] == 0.0f)
                r = 0.0f;   /* a padded query: its row is zeroed */
            for (int j = 0; j < W; j++) {
                float pv = S[j * AT_TQ + tt] * r;
                S[j * AT_TQ + tt] = pv;
                pw[pbase + (int64_t)j * T + t] = pv;
            }
        } else {
            float s = 0.0f;
            for (int j = 0; j < W; j++)
                s += prob[pbase + (int64_t)j * T + t] * S[j * AT_TQ + tt];
            for (int j = 0; j < W; j++) {
                float pv = prob[pbase + (int64_t)j * T + t];
                float ds = pv * (S[j * AT_TQ + tt] - s);
                S[j * AT_TQ + tt] = ds;
                pw[pbase + (int64_t)j * T + t] = ds;
            }
        }
    }
    if (!out)
        return;   /* uniform over the block: no barrier is skipped by some threads only */

    /* phase 3: out[d][t0+tt] (+)= scale' sum_j S[j][tt] Cm[d][t0+tt+j-w] */
    float alpha = mode == 0 ? 1.0f : scale;
    for (int d0 = 0; d0 < D; d0 += DC) {
        int nd = D - d0 < DC ? D - d0 : DC;
        __syncthreads();
        for (int p = tid; p < DC * KS; p += blockDim.x) {
            int dc = p / KS, u = p - dc * KS, key = t0 - w + u;
            bbuf[p] = dc < nd && key >= 0 && key < T ? Cm[base + (int64_t)(d0 + dc) * T + key] : 0.0f;
        }
        __syncthreads();
        for (int p = tid; p < DC * AT_TQ; p += blockDim.x) {
            int dc = p / AT_TQ, tt = p - dc * AT_TQ, t = t0 + tt;
            if (dc >= nd || t >= T)
                continue;
            float s = 0.0f;
            for (int j = 0; j < W; j++)
                s += S[j * AT_TQ + tt] * bbuf[dc * KS + tt + j];
            float *o = out + base + (int64_t)(d0 + dc) * T + t;
            *o = acc ? *o + alpha * s : alpha * s;
        }
    }
}

/* ---- key-tile kernel -------------------------------------------------------------
 * out[d][s] (+)= alpha sum_j R[j][s-j+w] A[d][s-j+w] for the keys s of the
 * tile, over the queries t = s-j+w inside [0, T); R is (B,H,2w+1,T).
 * Query positions of the tile span QS = 32 + 2w; R is staged JC rows at a
 * time, A DC channels at a time. */
__global__ void k_band_key(float *out, const float *R, const float *A, int H, int D, int T, int w, float alpha,
                           int DC, int JC, int acc)
{
    extern __shared__ float smem[];
    const int W = 2 * w + 1, QS = AT_TQ + 2 * w;
    float *abuf = smem, *rbuf = abuf + DC * QS;
    int s0 = blockIdx.x * AT_TQ, h = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
    int64_t base = ((int64_t)b * H + h) * D * T, rbase = ((int64_t)b * H + h) * W * T;
    int npair = (DC * AT_TQ + blockDim.x - 1) / blockDim.x;   /* at most 4 */
    for (int d0 = 0; d0 < D; d0 += DC) {
        int nd = D - d0 < DC ? D - d0 : DC;
        float accv[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
        __syncthreads();
        for (int p = tid; p < DC * QS; p += blockDim.x) {
            int dc = p / QS, u = p - dc * QS, t = s0 - w + u;
            abuf[p] = dc < nd && t >= 0 && t < T ? A[base + (int64_t)(d0 + dc) * T + t] : 0.0f;
        }
        for (int j0 = 0; j0 < W; j0 += JC) {
            int jn = W - j0 < JC ? W - j0 : JC;
            __syncthreads();
            for (int p = tid; p < JC * QS; p += blockDim.x) {
                int jj = p / QS, u = p - jj * QS, t = s0 - w + u;
                rbuf[p] = jj < jn && t >= 0 && t < T ? R[rbase + (int64_t)(j0 + jj) * T + t] : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int q = 0; q < 4; q++) {
                int p = tid + q * blockDim.x, dc = p / AT_TQ, ss = p - dc * AT_TQ;
                if (q >= npair || dc >= nd)
                    continue;
                float s = 0.0f;
                for (int jj = 0; jj < jn; jj++) {
                    int u = ss - (j0 + jj) + 2 * w;
                    s += rbuf[jj * QS + u] * abuf[dc * QS + u];
                }
                accv[q] += s;
            }
        }
#pragma unroll
        for (int q = 0; q < 4; q++) {
            int p = tid + q * blockDim.x, dc = p / AT_TQ, ss = p - dc * AT_TQ, s = s0 + ss;
            if (q >= npair || dc >= nd || s >= T)
                continue;
            float *o = out + base + (int64_t)(d0 + dc) * T + s;
            *o = acc ? *o + alpha * accv[q] : alpha * accv[q];
        }
    }
}

static size_t query_smem(int w, int DC) { return sizeof(float) * (size_t)((2 * w + 1) * AT_TQ + DC * AT_TQ + DC * (AT_TQ + 2 * w)); }

static int key_jc(int w)
{
    int QS = AT_TQ + 2 * w, jc = 4096 / QS;
    return jc < 1 ? 1 : jc > 2 * w + 1 ? 2 * w + 1 : jc;
}

static size_t key_smem(int w, int DC) { return sizeof(float) * (size_t)((DC + key_jc(w)) * (AT_TQ + 2 * w)); }

/* ---- global attention --------------------------------------------------------------- */

/* rows of T scores (B*H*T of them), each a warp: masked keys excluded */
__global__ void k_global_softmax(float *P, const float *mask, int64_t rows, int HT, int T)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float *p = P + r * T;
        const float *m = mask ? mask + (r / HT) * T : NULL;
        float mx = -INFINITY;
        for (int j = lane; j < T; j += 32)
            if (!m || m[j] != 0.0f)
                mx = fmaxf(mx, p[j]);
        mx = tcu_warp_max(mx);
        float s = 0.0f;
        for (int j = lane; j < T; j += 32) {
            float e = mx != -INFINITY && (!m || m[j] != 0.0f) ? expf(p[j] - mx) : 0.0f;
            p[j] = e;
            s += e;
        }
        s = tcu_warp_sum(s);
        float r1 = s > 0.0f ? 1.0f / s : 0.0f;
        for (int j = lane; j < T; j += 32)
            p[j] *= r1;
    }
}

/* d = P (d - sum P d), rows of T, in place over d */
__global__ void k_global_softmax_back(float *d, const float *P, int T)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); r < T; r += warps) {
        float *dr = d + r * T;
        const float *p = P + r * T;
        float s = 0.0f;
        for (int j = lane; j < T; j += 32)
            s += p[j] * dr[j];
        s = tcu_warp_sum(s);
        for (int j = lane; j < T; j += 32)
            dr[j] = p[j] * (dr[j] - s);
    }
}

/* ---- entry points ------------------------------------------------------------------- */

void tcu_attn_forward(float *out, float *prob, const float *q, const float *k, const float *v, const float *mask,
                      int B, int H, int D, int T, int w, float scale, float *ws)
{
    (void)ws;
    if (w >= 0) {
        int DC = at_dc(w);
        dim3 grid((T + AT_TQ - 1) / AT_TQ, H, B);
        TCU_LAUNCH(k_band_query, grid, AT_THREADS, query_smem(w, DC), out, prob, q, k, v, (const float *)NULL, mask, H,
                   D, T, w, scale, DC, 0, 0);
        return;
    }
    long long sx = (long long)D * T, sp = (long long)T * T;
    int BH = B * H;
    /* S[t][s] = scale sum_d q[d][t] k[d][s]; out[d][t] = sum_s v[d][s] P[t][s] */
    tcu_sgemm_batched(1, 0, T, T, D, scale, q, T, sx, k, T, sx, 0.0f, prob, T, sp, BH);
    TCU_LAUNCH(k_global_softmax, tcu_blocks((int64_t)BH * T * 32, TCU_THREADS), TCU_THREADS, 0, prob, mask,
               (int64_t)BH * T, H * T, T);
    tcu_sgemm_batched(0, 1, D, T, T, 1.0f, v, T, sx, prob, T, sp, 0.0f, out, T, sx, BH);
}

void tcu_attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                       const float *v, const float *prob, const float *mask, int B, int H, int D, int T, int w,
                       float scale, int acc_q, int acc_k, int acc_v, float *ws)
{
    (void)mask;
    if (w >= 0) {
        int DC = at_dc(w);
        dim3 grid((T + AT_TQ - 1) / AT_TQ, H, B);
        /* dS into ws and dq, per query tile */
        TCU_LAUNCH(k_band_query, grid, AT_THREADS, query_smem(w, DC), dq, ws, dout, v, k, prob, (const float *)NULL, H,
                   D, T, w, scale, DC, 1, acc_q);
        /* dk and dv per key tile */
        if (dk)
            TCU_LAUNCH(k_band_key, grid, AT_THREADS, key_smem(w, DC), dk, (const float *)ws, q, H, D, T, w, scale, DC,
                       key_jc(w), acc_k);
        if (dv)
            TCU_LAUNCH(k_band_key, grid, AT_THREADS, key_smem(w, DC), dv, prob, dout, H, D, T, w, 1.0f, DC, key_jc(w),
                       acc_v);
        return;
    }
    long long sx = (long long)D * T, sp = (long long)T * T;
    int BH = B * H;
    /* dV[d][s] = sum_t dO[d][t] P[t][s] */
    if (dv)
        tcu_sgemm_batched(0, 0, D, T, T, 1.0f, dout, T, sx, prob, T, sp, acc_v ? 1.0f : 0.0f, dv, T, sx, BH);
    if (!dq && !dk)
        return;
    for (int bh = 0; bh < BH; bh++) {
        int64_t off = (int64_t)bh * sx;
        /* dP[t][s] = sum_d dO[d][t] v[d][s], then dS in place (ws is T x T) */
        tcu_sgemm(1, 0, T, T, D, 1.0f, dout + off, T, v + off, T, 0.0f, ws, T);
        TCU_LAUNCH(k_global_softmax_back, tcu_blocks((int64_t)T * 32, TCU_THREADS), TCU_THREADS, 0, ws,
                   prob + (int64_t)bh * sp, T);
        /* dQ[d][t] = scale sum_s k[d][s] dS[t][s]; dK[d][s] = scale sum_t q[d][t] dS[t][s] */
        if (dq)
            tcu_sgemm(0, 1, D, T, T, scale, k + off, T, ws, T, acc_q ? 1.0f : 0.0f, dq + off, T);
        if (dk)
            tcu_sgemm(0, 0, D, T, T, scale, q + off, T, ws, T, acc_k ? 1.0f : 0.0f, dk + off, T);
    }
}
