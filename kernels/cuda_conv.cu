/* cuda_conv.cu — 1-D convolution, forward and backward, on the GPU: the
 * twin of lib/backends/cpu_conv.c, with the same three paths and the same
 * workspace layout (tal_conv1d_ws):
 *  - dense, stride 1: one cuBLAS product per tap, batched over the batch,
 *    on a shifted view of the input, the weight repacked to (K, Cout, Cin);
 *  - depthwise (groups = Cin = Cout): direct kernels;
 *  - anything else: im2col per batch element and group, then a product.
 * The CPU skips each sequence's masked tail, which needs the mask on the
 * host; here the whole length is computed and the mask applied after, the
 * same values.
 * Layout: inp (B,Cin,T), out (B,Cout,Tout), weight (Cout, Cin/groups, K). */
#include "cuda_common.cuh"

/* wrep[k][co][ci] = weight[co][ci][k] */
__global__ void k_repack(float *wrep, const float *w, int Cout, int Cin, int K)
{
    TCU_FOR(i, (int64_t)Cout * Cin * K) {
        int64_t k = i % K, r = i / K, ci = r % Cin, co = r / Cin;
        wrep[((int64_t)k * Cout + co) * Cin + ci] = w[i];
    }
}

/* weight[co][ci][k] (+)= wrep[k][co][ci] */
__global__ void k_unrepack(float *w, const float *wrep, int Cout, int Cin, int K, int acc)
{
    TCU_FOR(i, (int64_t)Cout * Cin * K) {
        int64_t k = i % K, r = i / K, ci = r % Cin, co = r / Cin;
        float v = wrep[((int64_t)k * Cout + co) * Cin + ci];
        w[i] = acc ? w[i] + v : v;
    }
}

/* out[b,c,t] = (out + bias[c]) * mask[b,t] (either may be NULL) */
__global__ void k_finish(float *out, const float *bias, const float *mask, int B, int C, int T)
{
    TCU_FOR(i, (int64_t)B * C * T) {
        int64_t t = i % T, r = i / T, c = r % C, b = r / C;
        float v = out[i] + (bias ? bias[c] : 0.0f);
        out[i] = mask ? v * mask[b * T + t] : v;
    }
}

/* dm = dout * mask (mask broadcast over channels) */
__global__ void k_mask_mul(float *dm, const float *g, const float *mask, int B, int C, int T)
{
    TCU_FOR(i, (int64_t)B * C * T) {
        int64_t t = i % T, b = i / ((int64_t)C * T);
        dm[i] = g[i] * mask[b * T + t];
    }
}

/* dst[c] (+)= sum of channel c's rows over the batch */
__global__ void k_channel_sum(float *dst, const float *x, int B, int C, int T, int acc)
{
    __shared__ float sh[32];
    int c = blockIdx.x;
    int64_t n = (int64_t)B * T;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        int64_t b = i / T, t = i - b * T;
        s += x[(b * C + c) * T + t];
    }
    s = tcu_block_sum(s, sh);
    if (threadIdx.x == 0)
        dst[c] = (acc ? dst[c] : 0.0f) + s;
}

void tcu_channel_sum(float *dst, const float *x, int B, int C, int T, int acc)
{
    TCU_LAUNCH(k_channel_sum, C, TCU_THREADS, 0, dst, x, B, C, T, acc);
}

/* ---- depthwise ---------------------------------------------------------------- */

__global__ void k_dw_forward(float *out, const float *x, const float *w, const float *bias, const float *mask, int B,
                             int C, int T, int Tout, int K, int S, int P)
{
    TCU_FOR(o, (int64_t)B * C * Tout) {
        int64_t t = o % Tout, bc = o / Tout, c = bc % C, b = bc / C;
        const float *xr = x + bc * T, *wr = w + c * K;
        float s = bias ? bias[c] : 0.0f;
        for (int k = 0; k < K; k++) {
            int64_t i = t * S + k - P;
            if (i >= 0 && i < T)
                s += wr[k] * xr[i];
        }
        out[o] = mask ? s * mask[b * Tout + t] : s;
    }
}

/* The output column whose tap k reads input column i (t*S + k - P = i), or
 * -1: the gather form of the input gradient, one thread per input column. */
__device__ __forceinline__ int64_t conv_reader(int64_t i, int k, int S, int P, int Tout)
{
    int64_t u = i + P - k;
    if (u < 0 || u % S)
        return -1;
    u /= S;
    return u < Tout ? u : -1;
}

/* dx[b,c,i] (+)= sum over the taps k with i = t*S + k - P of w[c,k] g[b,c,t] */
__global__ void k_dw_back_input(float *dx, const float *g, const float *w, int B, int C, int T, int Tout, int K,
                                int S, int P, int acc)
{
    TCU_FOR(o, (int64_t)B * C * T) {
        int64_t i = o % T, bc = o / T, c = bc % C;
        const float *gr = g + bc * Tout, *wr = w + c * K;
        float s = 0.0f;
        for (int k = 0; k < K; k++) {
            int64_t u = conv_reader(i, k, S, P, Tout);
            if (u >= 0)
                s += wr[k] * gr[u];
        }
        dx[o] = acc ? dx[o] + s : s;
    }
}

/* block (c, k): dw[c,k] (+)= sum over b, t of g[b,c,t] x[b,c,t*S + k - P] */
__global__ void k_dw_back_weight(float *dw, const float *g, const float *x, int B, int C, int T, int Tout, int K,
                                 int S, int P, int acc)
{
    __shared__ float sh[32];
    int c = blockIdx.x / K, k = blockIdx.x % K;
    int64_t n = (int64_t)B * Tout;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        int64_t b = j / Tout, t = j - b * Tout, i = t * S + k - P;
        if (i >= 0 && i < T)
            s += g[(b * C + c) * Tout + t] * x[(b * C + c) * T + i];
    }
    s = tcu_block_sum(s, sh);
    if (threadIdx.x == 0)
        dw[blockIdx.x] = (acc ? dw[blockIdx.x] : 0.0f) + s;
}

/* ---- im2col ----------------------------------------------------------------------- */

/* col[(ci*K + k), t] = x[ci, t*S + k - P] for ci < Cg */
__global__ void k_im2col(float *col, const float *x, int Cg, int T, int Tout, int K, int S, int P)
{
    TCU_FOR(o, (int64_t)Cg * K * Tout) {
        int64_t t = o % Tout, r = o / Tout, k = r % K, ci = r / K, i = t * S + k - P;
        col[o] = i >= 0 && i < T ? x[ci * T + i] : 0.0f;
    }
}

/* dx[ci, i] += sum over (k, t) with t*S + k - P = i of dcol[(ci*K + k), t] */
__global__ void k_col2im(float *dx, const float *dcol, int Cg, int T, int Tout, int K, int S, int P)
{
    TCU_FOR(o, (int64_t)Cg * T) {
        int64_t i = o % T, ci = o / T;
        float s = 0.0f;
        for (int k = 0; k < K; k++) {
            int64_t u = conv_reader(i, k, S, P, Tout);
            if (u >= 0)
                s += dcol[(ci * K + k) * Tout + u];
        }
        dx[o] += s;
    }
}

/* ---- forward ---------------------------------------------------------------------- */

void tcu_conv1d_forward(float *out, const float *inp, const float *weight, const float *bias, const float *mask,
                        int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups, float *ws)
{
    int path = tal_conv_path(Cin, Cout, stride, groups);
    int64_t no = (int64_t)B * Cout * Tout;
    if (path == TAL_CONV_DEPTHWISE) {
        TCU_LAUNCH(k_dw_forward, tcu_blocks(no, TCU_THREADS), TCU_THREADS, 0, out, inp, weight, bias, mask, B, Cin, T,
                   Tout, K, stride, pad);
        return;
    }
    if (path == TAL_CONV_IM2COL) {
        int Cg = Cin / groups, Og = Cout / groups;
        for (int b = 0; b < B; b++)
            for (int g = 0; g < groups; g++) {
                TCU_LAUNCH(k_im2col, tcu_blocks((int64_t)Cg * K * Tout, TCU_THREADS), TCU_THREADS, 0, ws,
                           inp + ((int64_t)b * Cin + (int64_t)g * Cg) * T, Cg, T, Tout, K, stride, pad);
                tcu_sgemm(0, 0, Og, Tout, Cg * K, 1.0f, weight + (int64_t)g * Og * Cg * K, Cg * K, ws, Tout, 0.0f,
                          out + ((int64_t)b * Cout + (int64_t)g * Og) * Tout, Tout);
            }
    } else {
        /* out[:, t] += W_k @ inp[:, t + k - pad], all of the batch at once */
        const float *wrep = weight;
        if (K > 1) {
            TCU_LAUNCH(k_repack, tcu_blocks((int64_t)Cout * Cin * K, TCU_THREADS), TCU_THREADS, 0, ws, weight, Cout,
                       Cin, K);
            wrep = ws;
        }
        int full = tal_conv_full_tap(K, pad, T, Tout, 0);
        if (full < 0)
            tcu_zero(out, (size_t)no);
        for (int i = 0; i < K; i++) {
            int k = tal_conv_tap_at(i, full), lo, hi;
            tal_conv_tap_range(k, pad, T, Tout, &lo, &hi);
            if (hi <= lo)
                continue;
            tcu_sgemm_batched(0, 0, Cout, hi - lo, Cin, 1.0f, wrep + (int64_t)k * Cout * Cin, Cin, 0,
                              inp + lo + (k - pad), T, (long long)Cin * T, k == full ? 0.0f : 1.0f, out + lo, Tout,
                              (long long)Cout * Tout, B);
        }
    }
    if (bias || mask)
        TCU_LAUNCH(k_finish, tcu_blocks(no, TCU_THREADS), TCU_THREADS, 0, out, bias, mask, B, Cout, Tout);
}

/* ---- backward --------------------------------------------------------------------- */

void tcu_conv1d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, const float *mask, int B, int Cin, int Cout, int T, int Tout, int K,
                         int stride, int pad, int groups, int acc_inp, int acc_w, int acc_b, float *ws)
{
    int path = tal_conv_path(Cin, Cout, stride, groups);
    int64_t no = (int64_t)B * Cout * Tout;
    if (mask) {   /* the masked gradient at the end of ws, as on the CPU */
        float *dm = ws + tal_conv1d_ws(0, B, Cin, Cout, T, Tout, K, stride, pad, groups);
        TCU_LAUNCH(k_mask_mul, tcu_blocks(no, TCU_THREADS), TCU_THREADS, 0, dm, dout, mask, B, Cout, Tout);
        dout = dm;
    }
    if (dbias)
        tcu_channel_sum(dbias, dout, B, Cout, Tout, acc_b);
    if (path == TAL_CONV_DEPTHWISE) {
        if (dinp)
            TCU_LAUNCH(k_dw_back_input, tcu_blocks((int64_t)B * Cin * T, TCU_THREADS), TCU_THREADS, 0, dinp, dout,
                       weight, B, Cin, T, Tout, K, stride, pad, acc_inp);
        if (dweight)
            TCU_LAUNCH(k_dw_back_weight, Cin * K, TCU_THREADS, 0, dweight, dout, inp, B, Cin, T, Tout, K, stride, pad,
                       acc_w);
        return;
    }
    if (path == TAL_CONV_IM2COL) {
        int Cg = Cin / groups, Og = Cout / groups;
        float *col = ws, *dcol = ws + (size_t)Cg * K * Tout;
        if (dinp && !acc_inp)
            tcu_zero(dinp, (size_t)B * Cin * T);
        for (int b = 0; b < B; b++)
            for (int g = 0; g < groups; g++) {
                const float *go = dout + ((int64_t)b * Cout + (int64_t)g * Og) * Tout;
                if (dweight) {
                    TCU_LAUNCH(k_im2col, tcu_blocks((int64_t)Cg * K * Tout, TCU_THREADS), TCU_THREADS, 0, col,
                               inp + ((int64_t)b * Cin + (int64_t)g * Cg) * T, Cg, T, Tout, K, stride, pad);
                    tcu_sgemm(0, 1, Og, Cg * K, Tout, 1.0f, go, Tout, col, Tout, (acc_w || b > 0) ? 1.0f : 0.0f,
                              dweight + (int64_t)g * Og * Cg * K, Cg * K);
                }
                if (dinp) {
                    tcu_sgemm(1, 0, Cg * K, Tout, Og, 1.0f, weight + (int64_t)g * Og * Cg * K, Cg * K, go, Tout, 0.0f,
                              dcol, Tout);
                    TCU_LAUNCH(k_col2im, tcu_blocks((int64_t)Cg * T, TCU_THREADS), TCU_THREADS, 0,
                               dinp + ((int64_t)b * Cin + (int64_t)g * Cg) * T, dcol, Cg, T, Tout, K, stride, pad);
                }
            }
        return;
    }
    /* shifted products; ws: dW repacked, then W repacked */
    size_t wn = (size_t)K * Cout * Cin;
    if (dweight) {
        float *dwrep = K == 1 ? dweight : ws;
        for (int k = 0; k < K; k++) {
            float *dst = dwrep + (size_t)k * Cout * Cin;
            int lo, hi, started = K == 1 && acc_w;
            tal_conv_tap_range(k, pad, T, Tout, &lo, &hi);
            for (int b = 0; b < B && hi > lo; b++) {
                tcu_sgemm(0, 1, Cout, Cin, hi - lo, 1.0f, dout + (int64_t)b * Cout * Tout + lo, Tout,
                          inp + (int64_t)b * Cin * T + lo + (k - pad), T, started ? 1.0f : 0.0f, dst, Cin);
                started = 1;
            }
            if (!started)
                tcu_zero(dst, (size_t)Cout * Cin);
        }
        if (K > 1)
            TCU_LAUNCH(k_unrepack, tcu_blocks((int64_t)wn, TCU_THREADS), TCU_THREADS, 0, dweight, dwrep, Cout, Cin, K,
                       acc_w);
    }
    if (dinp) {
        /* dinp[:, t + k - pad] += W_k^T @ dout[:, t] */
        const float *wrep = weight;
        if (K > 1) {
            TCU_LAUNCH(k_repack, tcu_blocks((int64_t)wn, TCU_THREADS), TCU_THREADS, 0, ws + wn, weight, Cout, Cin, K);
            wrep = ws + wn;
        }
        int full = tal_conv_full_tap(K, pad, T, Tout, 1);
        if (full < 0 && !acc_inp)
            tcu_zero(dinp, (size_t)B * Cin * T);
        for (int i = 0; i < K; i++) {
            int k = tal_conv_tap_at(i, full), lo, hi;
            tal_conv_tap_range(k, pad, T, Tout, &lo, &hi);
            if (hi <= lo)
                continue;
            float beta = (k == full && !acc_inp) ? 0.0f : 1.0f;
            tcu_sgemm_batched(1, 0, Cin, hi - lo, Cout, 1.0f, wrep + (int64_t)k * Cout * Cin, Cin, 0, dout + lo, Tout,
                              (long long)Cout * Tout, beta, dinp + lo + (k - pad), T, (long long)Cin * T, B);
        }
    }
}
