/* cuda_norm.cu — channel LayerNorm on (B,C,T), alone and fused with the
 * activation after it: the twin of lib/backends/cpu_norm.c.
 *
 * A block is 32 time steps by 8 channel lanes: the 32 threads of a warp
 * read 32 neighbouring time steps of one channel (one 128-byte line), and
 * the 8 lanes' partial sums over channels meet in shared memory in a fixed
 * order.  Statistics are two-pass (the mean, then the mean square
 * deviation), as on the CPU.
 *
 * The fused forward writes act(LayerNorm(x)) and never the LayerNorm
 * output; the fused backward recomputes each normalised value from x and
 * the saved mean and rstd where it needs it, so the LayerNorm + ReLU pairs
 * of the embedding and the heads each save one full read and write of the
 * activations in both passes, and one activation-sized buffer kept from
 * forward to backward.
 *
 * L2 normalisation of rows (FS-PTAL's embeddings, before their cosine
 * similarities) is a warp per row: the sum of squares of a row, or its dot
 * product with the gradient, is one warp sum. */
#include "cuda_common.cuh"

#define LN_TT 32   /* time steps per block */
#define LN_CL 8    /* channel lanes */

/* sum over the lanes of column tx, in lane order, to every lane */
__device__ __forceinline__ float ln_lanes(float v, float (*sh)[LN_TT + 1])
{
    int tx = threadIdx.x, ty = threadIdx.y;
    __syncthreads();
    sh[ty][tx] = v;
    __syncthreads();
    float s = 0.0f;
    for (int l = 0; l < LN_CL; l++)
        s += sh[l][tx];
    return s;
}

/* act < 0: plain LayerNorm */
__global__ void k_ln_forward(float *out, float *mean, float *rstd, const float *x, const float *w, const float *bias,
                             int C, int T, int nbt, float eps, int act)
{
    __shared__ float sh[LN_CL][LN_TT + 1];
    int b = blockIdx.x / nbt, tx = threadIdx.x, ty = threadIdx.y;
    int t = (blockIdx.x % nbt) * LN_TT + tx;
    int ok = t < T;
    int64_t base = (int64_t)b * C * T + t;
    const float *xb = x + base;
    float s = 0.0f;
    if (ok)
        for (int c = ty; c < C; c += LN_CL)
            s += xb[(int64_t)c * T];
    float mu = ln_lanes(s, sh) * (1.0f / (float)C);
    s = 0.0f;
    if (ok)
        for (int c = ty; c < C; c += LN_CL) {
            float d = xb[(int64_t)c * T] - mu;
            s += d * d;
        }
    float rs = 1.0f / sqrtf(ln_lanes(s, sh) * (1.0f / (float)C) + eps);
    if (!ok)
        return;
    if (ty == 0) {
        mean[(int64_t)b * T + t] = mu;
        rstd[(int64_t)b * T + t] = rs;
    }
    float *ob = out + base;
    for (int c = ty; c < C; c += LN_CL) {
        float v = (xb[(int64_t)c * T] - mu) * rs * (w ? w[c] : 1.0f) + (bias ? bias[c] : 0.0f);
        ob[(int64_t)c * T] = act < 0 ? v : tcu_act(v, act);
    }
}

/* the gradient reaching the LayerNorm output: dout itself, or through the
 * activation, whose input is recomputed (and whose output y is read for
 * the sigmoid) */
__device__ __forceinline__ float ln_grad_in(float g, float x, float mu, float rs, float wc, float bc, const float *y,
                                            int64_t i, int act)
{
    if (act < 0)
        return g;
    float pre = (x - mu) * rs * wc + bc;
    return tcu_act_grad(g, pre, y ? y[i] : 0.0f, act);
}

/* dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy w */
__global__ void k_ln_backward(float *dx, const float *dy, const float *y, const float *x, const float *w,
                              const float *bias, const float *mean, const float *rstd, int C, int T, int nbt, int act,
                              int acc)
{
    __shared__ float sh[LN_CL][LN_TT + 1];
    int b = blockIdx.x / nbt, tx = threadIdx.x, ty = threadIdx.y;
    int t = (blockIdx.x % nbt) * LN_TT + tx;
    int ok = t < T;
    int64_t base = (int64_t)b * C * T + t;
    float mu = ok ? mean[(int64_t)b * T + t] : 0.0f, rs = ok ? rstd[(int64_t)b * T + t] : 0.0f;
    float m1 = 0.0f, m2 = 0.0f;
    if (ok)
        for (int c = ty; c < C; c += LN_CL) {
            int64_t i = base + (int64_t)c * T;
            float wc = w ? w[c] : 1.0f, xv = x[i];
            float dxh = ln_grad_in(dy[i], xv, mu, rs, wc, bias ? bias[c] : 0.0f, y, i, act) * wc;
            m1 += dxh;
            m2 += dxh * (xv - mu) * rs;
        }
    m1 = ln_lanes(m1, sh) * (1.0f / (float)C);
    m2 = ln_lanes(m2, sh) * (1.0f / (float)C);
    if (!ok)
        return;
    for (int c = ty; c < C; c += LN_CL) {
        int64_t i = base + (int64_t)c * T;
        float wc = w ? w[c] : 1.0f, xv = x[i];
        float g = ln_grad_in(dy[i], xv, mu, rs, wc, bias ? bias[c] : 0.0f, y, i, act);
        float xh = (xv - mu) * rs;
        float v = rs * (g * wc - m1 - xh * m2);
        dx[i] = acc ? dx[i] + v : v;
    }
}

/* block c: dweight[c] (+)= sum dy xhat, dbias[c] (+)= sum dy over (b, t) */
__global__ void k_ln_wgrad(float *dw, float *db, const float *dy, const float *y, const float *x, const float *w,
                           const float *bias, const float *mean, const float *rstd, int B, int C, int T, int act,
                           int acc_w, int acc_b)
{
    __shared__ float sh[32];
    int c = blockIdx.x;
    float wc = w ? w[c] : 1.0f, bc = bias ? bias[c] : 0.0f;
    float sw = 0.0f, sb = 0.0f;
    int64_t n = (int64_t)B * T;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        int64_t b = j / T, t = j - b * T, i = (b * C + c) * T + t;
        float mu = mean[j], rs = rstd[j], xv = x[i];
        float g = ln_grad_in(dy[i], xv, mu, rs, wc, bc, y, i, act);
        sw += g * (xv - mu) * rs;
        sb += g;
    }
    sw = tcu_block_sum(sw, sh);
    sb = tcu_block_sum(sb, sh);
    if (threadIdx.x == 0) {
        if (dw)
            dw[c] = (acc_w ? dw[c] : 0.0f) + sw;
        if (db)
            db[c] = (acc_b ? db[c] : 0.0f) + sb;
    }
}

static void ln_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight, const float *bias,
                       int B, int C, int T, float eps, int act)
{
    int nbt = (T + LN_TT - 1) / LN_TT;
    TCU_LAUNCH(k_ln_forward, (unsigned)B * nbt, dim3(LN_TT, LN_CL), 0, out, mean, rstd, inp, weight, bias, C, T, nbt,
               eps, act);
}

static void ln_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *out,
                        const float *inp, const float *weight, const float *bias, const float *mean,
                        const float *rstd, int B, int C, int T, int act, int acc_inp, int acc_w, int acc_b)
{
    int nbt = (T + LN_TT - 1) / LN_TT;
    if (dinp)
        TCU_LAUNCH(k_ln_backward, (unsigned)B * nbt, dim3(LN_TT, LN_CL), 0, dinp, dout, out, inp, weight, bias, mean,
                   rstd, C, T, nbt, act, acc_inp);
    if (dweight || dbias)
        TCU_LAUNCH(k_ln_wgrad, C, TCU_THREADS, 0, dweight, dbias, dout, out, inp, weight, bias, mean, rstd, B, C, T,
                   act, acc_w, acc_b);
}

void tcu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                           const float *bias, int B, int C, int T, float eps)
{
    ln_forward(out, mean, rstd, inp, weight, bias, B, C, T, eps, -1);
}

void tcu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const float *mean, const float *rstd, int B, int C, int T,
                            int acc_inp, int acc_w, int acc_b)
{
    ln_backward(dinp, dweight, dbias, dout, NULL, inp, weight, NULL, mean, rstd, B, C, T, -1, acc_inp, acc_w, acc_b);
}

void tcu_layernorm_act_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                               const float *bias, int B, int C, int T, float eps, int act, float *ws)
{
    (void)ws;
    ln_forward(out, mean, rstd, inp, weight, bias, B, C, T, eps, act);
}

void tcu_layernorm_act_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *out,
                                const float *inp, const float *weight, const float *bias, const float *mean,
                                const float *rstd, int B, int C, int T, int act, int acc_inp, int acc_w, int acc_b,
                                float *ws)
{
    (void)ws;
    ln_backward(dinp, dweight, dbias, dout, out, inp, weight, bias, mean, rstd, B, C, T, act, acc_inp, acc_w, acc_b);
}

/* ---- L2 normalisation of rows: a warp per row -------------------------------------- */

__global__ void k_l2n_forward(float *out, float *norm, const float *x, int64_t R, int64_t C, float eps)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); r < R; r += warps) {
        const float *xr = x + r * C;
        float s = 0.0f;
        for (int64_t c = lane; c < C; c += 32)
            s += xr[c] * xr[c];
        float n = tal_l2n_norm(tcu_warp_sum(s), eps), inv = 1.0f / n;
        for (int64_t c = lane; c < C; c += 32)
            out[r * C + c] = xr[c] * inv;
        if (lane == 0)
            norm[r] = n;
    }
}

void tcu_l2norm_forward(float *out, float *norm, const float *inp, int64_t R, int64_t C, float eps)
{
    TCU_LAUNCH(k_l2n_forward, tcu_blocks(R * 32, TCU_THREADS), TCU_THREADS, 0, out, norm, inp, R, C, eps);
}

__global__ void k_l2n_backward(float *d, const float *g, const float *y, const float *norm, int64_t R, int64_t C,
                               float eps, int acc)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); r < R; r += warps) {
        const float *gr = g + r * C, *yr = y + r * C;
        float n = norm[r], dot = 0.0f;
        if (n > eps) {
            for (int64_t c = lane; c < C; c += 32)
                dot += yr[c] * gr[c];
            dot = tcu_warp_sum(dot);
        }
        float inv = 1.0f / n;
        for (int64_t c = lane; c < C; c += 32) {
            float v = (gr[c] - yr[c] * dot) * inv;
            d[r * C + c] = acc ? d[r * C + c] + v : v;
        }
    }
}

void tcu_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int64_t R, int64_t C,
                         float eps, int acc)
{
    TCU_LAUNCH(k_l2n_backward, tcu_blocks(R * 32, TCU_THREADS), TCU_THREADS, 0, dinp, dout, out, norm, R, C, eps, acc);
}
