/* cpu_conv.c — 1-D convolution, forward and backward, on the CPU.
 *
 * Three paths:
 *  - dense, stride 1 (the embedding, head and 1x1 projection convolutions):
 *    one sgemm per tap and batch element on a shifted view of the input,
 *    with the weight repacked to (K, Cout, Cin); no im2col buffer at all;
 *  - depthwise (groups = Cin = Cout): direct loops;
 *  - anything else (stride 2 dense, grouped): im2col per batch element and
 *    group, then sgemm.
 * Layout: inp (B,Cin,T), out (B,Cout,Tout), weight (Cout, Cin/groups, K).
 */
#include "cpu.h"
#include "formulas.h"

#include <omp.h>
#include <string.h>

size_t tal_conv1d_ws(int fwd, int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups)
{
    (void)B, (void)T, (void)pad;
    size_t n;
    switch (tal_conv_path(Cin, Cout, stride, groups)) {
    case TAL_CONV_SHIFT:
        n = K == 1 ? 0 : (size_t)K * Cout * Cin;
        return fwd ? n : n + (size_t)K * Cout * Cin;
    case TAL_CONV_DEPTHWISE:
        return 0;
    default:
        n = (size_t)(Cin / groups) * K * Tout;
        return fwd ? n : 2 * n;
    }
}

/* wrep[k][co][ci] = weight[co][ci][k] */
static void repack(float *wrep, const float *weight, int Cout, int Cin, int K)
{
#pragma omp parallel for schedule(static) if ((size_t)Cout * Cin * K > TAL_CPU_CHUNK)
    for (int co = 0; co < Cout; co++)
        for (int ci = 0; ci < Cin; ci++)
            for (int k = 0; k < K; k++)
                wrep[((size_t)k * Cout + co) * Cin + ci] = weight[((size_t)co * Cin + ci) * K + k];
}

TAL_KERNEL static void bias_mask_row(float *restrict o, float b, float m, int n, int addb)
{
    if (addb)
        for (int t = 0; t < n; t++) o[t] = (o[t] + b) * m;
    else
        for (int t = 0; t < n; t++) o[t] *= m;
}

TAL_KERNEL static void bias_maskv_row(float *restrict o, float b, const float *restrict m, int n)
{
    for (int t = 0; t < n; t++) o[t] = (o[t] + b) * m[t];
}

/* out[b,c,:] = (out + bias[c]) * mask[b,:] (bias or mask may be NULL) */
static void finish_rows(float *out, const float *bias, const float *mask, int B, int C, int T)
{
    if (!bias && !mask)
        return;
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float *o = out + ((size_t)b * C + c) * T;
            if (mask)
                bias_maskv_row(o, bias ? bias[c] : 0.0f, mask + (size_t)b * T, T);
            else
                bias_mask_row(o, bias[c], 1.0f, T, 1);
        }
}

/* ---- depthwise ------------------------------------------------------------ */

TAL_KERNEL static void dw_row(float *restrict o, const float *restrict x, const float *restrict w, float bias, int T,
                              int Tout, int K, int S, int P)
{
    /* interior: every tap inside the input */
    int t0 = (P + S - 1) / S, t1 = T - K + P >= 0 ? (T - K + P) / S + 1 : 0;
    if (t1 > Tout)
        t1 = Tout;
    if (t0 > t1)
        t0 = t1;
    for (int t = 0; t < Tout; t++) {
        if (t == t0 && t1 > t0) {
            if (K == 3 && S == 1) {
                float w0 = w[0], w1 = w[1], w2 = w[2];
                const float *xb = x - P;
                for (int u = t0; u < t1; u++)
                    o[u] = bias + w0 * xb[u] + w1 * xb[u + 1] + w2 * xb[u + 2];
            } else if (K == 3 && S == 2) {
                float w0 = w[0], w1 = w[1], w2 = w[2];
                const float *xb = x - P;
                for (int u = t0; u < t1; u++)
                    o[u] = bias + w0 * xb[2 * u] + w1 * xb[2 * u + 1] + w2 * xb[2 * u + 2];
            } else {
                for (int u = t0; u < t1; u++) {
                    float s = bias;
                    for (int k = 0; k < K; k++)
                        s += w[k] * x[u * S + k - P];
                    o[u] = s;
                }
            }
            t = t1 - 1;
            continue;
        }
        float s = bias;
        for (int k = 0; k < K; k++) {
            int i = t * S + k - P;
            if (i >= 0 && i < T)
                s += w[k] * x[i];
        }
        o[t] = s;
    }
}

static void dw_forward(float *out, const float *inp, const float *weight, const float *bias, const float *mask, int B,
                       int C, int T, int Tout, int K, int S, int P)
{
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * Tout > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            float *o = out + ((size_t)b * C + c) * Tout;
            dw_row(o, inp + ((size_t)b * C + c) * T, weight + (size_t)c * K, bias ? bias[c] : 0.0f, T, Tout, K, S, P);
            if (mask)
                bias_maskv_row(o, 0.0f, mask + (size_t)b * Tout, Tout);
        }
}

/* dx[t*S + k - P] (+)= w[k] * g[t] */
static void dw_back_row(float *restrict dx, const float *restrict g, const float *restrict w, int T, int Tout, int K,
                        int S, int P, int acc)
{
    if (!acc)
        memset(dx, 0, (size_t)T * sizeof *dx);
    if (S == 1) {
        /* gather form, vectorisable: dx[i] = sum_k w[k] * g[i - k + P] */
        for (int k = 0; k < K; k++) {
            int lo = k - P > 0 ? k - P : 0;              /* i with t = i-k+P >= 0 */
            int hi = Tout + k - P < T ? Tout + k - P : T; /* t < Tout */
            float wk = w[k];
            const float *gb = g - k + P;
            for (int i = lo; i < hi; i++)
                dx[i] += wk * gb[i];
        }
        return;
    }
    for (int t = 0; t < Tout; t++)
        for (int k = 0; k < K; k++) {
            int i = t * S + k - P;
            if (i >= 0 && i < T)
                dx[i] += w[k] * g[t];
        }
}

TAL_KERNEL static void dw_back_rows(float *dx, const float *g, const float *w, int T, int Tout, int K, int S, int P,
                                    int acc)
{
    dw_back_row(dx, g, w, T, Tout, K, S, P, acc);
}

/* sum_t g[t] * x[t*S + k - P] for every k */
TAL_KERNEL static void dw_wgrad_row(double *acc, const float *restrict g, const float *restrict x, int T, int Tout,
                                    int K, int S, int P)
{
    for (int k = 0; k < K; k++) {
        int lo = 0, hi = Tout;
        while (lo < hi && lo * S + k - P < 0)
            lo++;
        while (hi > lo && (hi - 1) * S + k - P >= T)
            hi--;
        float s = 0;
        const float *xb = x + k - P;
        if (S == 1) {
#pragma omp simd reduction(+ : s)
            for (int t = lo; t < hi; t++)
                s += g[t] * xb[t];
        } else {
#pragma omp simd reduction(+ : s)
            for (int t = lo; t < hi; t++)
                s += g[t] * xb[t * S];
        }
        acc[k] += s;
    }
}

TAL_KERNEL static double row_sum(const float *restrict g, int n)
{
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int t = 0; t < n; t++)
        s += g[t];
    return s;
}

static void dw_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                        const float *weight, int B, int C, int T, int Tout, int K, int S, int P, int acc_inp,
                        int acc_w, int acc_b)
{
    if (dinp) {
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * T > TAL_CPU_CHUNK)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                dw_back_rows(dinp + ((size_t)b * C + c) * T, dout + ((size_t)b * C + c) * Tout,
                             weight + (size_t)c * K, T, Tout, K, S, P, acc_inp);
    }
    if (dweight || dbias) {
#pragma omp parallel for schedule(static) if ((size_t)B * C * T > TAL_CPU_CHUNK)
        for (int c = 0; c < C; c++) {
            double wacc[64] = { 0 }, bacc = 0;
            for (int b = 0; b < B; b++) {
                const float *g = dout + ((size_t)b * C + c) * Tout;
                if (dweight)
                    dw_wgrad_row(wacc, g, inp + ((size_t)b * C + c) * T, T, Tout, K, S, P);
                if (dbias)
                    bacc += row_sum(g, Tout);
            }
            if (dweight)
                for (int k = 0; k < K; k++)
                    dweight[(size_t)c * K + k] = (acc_w ? dweight[(size_t)c * K + k] : 0.0f) + (float)wacc[k];
            if (dbias)
                dbias[c] = (acc_b ? dbias[c] : 0.0f) + (float)bacc;
        }
    }
}

/* ---- im2col ------------------------------------------------------------ */

/* col[(ci*K + k), t] = x[ci, t*S + k - P] for ci < Cg */
static void im2col(float *col, const float *x, int Cg, int T, int Tout, int K, int S, int P)
{
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)Cg * K * Tout > TAL_CPU_CHUNK)
    for (int ci = 0; ci < Cg; ci++)
        for (int k = 0; k < K; k++) {
            float *c = col + ((size_t)ci * K + k) * Tout;
            const float *xr = x + (size_t)ci * T;
            for (int t = 0; t < Tout; t++) {
                int i = t * S + k - P;
                c[t] = i >= 0 && i < T ? xr[i] : 0.0f;
            }
        }
}

/* dx[ci, t*S + k - P] += col[(ci*K + k), t] */
static void col2im(float *dx, const float *col, int Cg, int T, int Tout, int K, int S, int P)
{
#pragma omp parallel for schedule(static) if ((size_t)Cg * K * Tout > TAL_CPU_CHUNK)
    for (int ci = 0; ci < Cg; ci++)
        for (int k = 0; k < K; k++) {
            const float *c = col + ((size_t)ci * K + k) * Tout;
            float *xr = dx + (size_t)ci * T;
            for (int t = 0; t < Tout; t++) {
                int i = t * S + k - P;
                if (i >= 0 && i < T)
                    xr[i] += c[t];
            }
        }
}

/* one past the last column whose mask is not 0 */
static int valid_end(const float *m, int n)
{
    while (n > 0 && m[n - 1] == 0.0f)
        n--;
    return n;
}

/* o[c][lo..hi) = 0 for every row c */
static void zero_cols(float *o, int C, int ld, int lo, int hi)
{
    if (hi <= lo)
        return;
#pragma omp parallel for schedule(static) if ((size_t)C * (hi - lo) > TAL_CPU_CHUNK)
    for (int c = 0; c < C; c++)
        memset(o + (size_t)c * ld + lo, 0, sizeof(float) * (size_t)(hi - lo));
}

/* is each sequence's mask ones up to some point and zeros after it? */
static int prefix_masks(const float *mask, int B, int T)
{
    for (int b = 0; b < B; b++) {
        const float *m = mask + (size_t)b * T;
        int t = 0;
        while (t < T && m[t] == 1.0f)
            t++;
        while (t < T && m[t] == 0.0f)
            t++;
        if (t < T)
            return 0;
    }
    return 1;
}

TAL_KERNEL static void mul_row(float *restrict o, const float *restrict g, const float *restrict m, int n)
{
    for (int t = 0; t < n; t++)
        o[t] = g[t] * m[t];
}

/* Threads over batch elements, or inside each product?  One product split
 * into a block per thread runs each block below the rate of the whole
 * product, far below on short sequences (the coarse pyramid levels).
 * Measured with bench/conv-primitives (2 threads, B 2, oneDNN products;
 * the split forced by a switch used for the measurement alone), GFLOP/s
 * split against whole products one batch element per thread:
 * 512 -> 512, k 3: 360 / 386 at 2304 positions, 312 / 360 at 576;
 * 512 -> 512, k 1, 288 positions: 295 / 419.  So the batch elements go to
 * the threads whenever that keeps the threads even: each thread's share of
 * columns (a masked tail is skipped, so sequences of a batch differ) within
 * 10 % of the largest share; otherwise, say one long and one short
 * sequence on two threads, every product is split as before.  The choice is
 * a function of the shapes, masks and thread count, so a run repeats bit
 * for bit. */
static int by_batch(const int *cols, int B, int nt)
{
    enum { MAX_THREADS = 256 };
    if (nt < 2 || B < nt || nt > MAX_THREADS || omp_in_parallel())
        return 0;
    long load[MAX_THREADS] = { 0 };
    for (int b = 0; b < B; b++)
        load[b % nt] += cols[b];   /* schedule(static, 1) below */
    long lo = load[0], hi = load[0];
    for (int i = 1; i < nt; i++)
        lo = load[i] < lo ? load[i] : lo, hi = load[i] > hi ? load[i] : hi;
    return hi > 0 && 10 * lo >= 9 * hi;
}

/* One shifted-product pass over a batch: x (B, Cx, Tx) against the
 * repacked weight, into y (B, Cy, Ty), sequence b's columns below vend[b]. */
typedef struct {
    float *y;
    const float *x, *wrep;
    int Cx, Cy, Tx, Ty, K, pad;
    const int *vend;
    int acc;   /* backward: add to y */
} shift_pass;

/* batch element b of the forward: out[:, t] (+)= W_k @ inp[:, t + k - pad] */
static void shift_forward(const shift_pass *p, int b)
{
    int Cin = p->Cx, Cout = p->Cy, T = p->Tx, Tout = p->Ty, K = p->K, pad = p->pad, vend = p->vend[b];
    const float *x = p->x + (size_t)b * Cin * T;
    float *o = p->y + (size_t)b * Cout * Tout;
    if (vend < Tout)
        zero_cols(o, Cout, Tout, vend, Tout);
    int full = tal_conv_full_tap(K, pad, T, vend, 0);
    if (full < 0)
        zero_cols(o, Cout, Tout, 0, vend);
    for (int i = 0; i < K; i++) {
        int k = tal_conv_tap_at(i, full), lo, hi;
        tal_conv_tap_range(k, pad, T, vend, &lo, &hi);
        if (hi <= lo)
            continue;
        tal_cpu_sgemm(0, 0, Cout, hi - lo, Cin, 1.0f, p->wrep + (size_t)k * Cout * Cin, Cin, x + lo + (k - pad), T,
                      k == full ? 0.0f : 1.0f, o + lo, Tout);
    }
}

/* batch element b of the gradient to the input (x is dout, y dinp):
 * dinp[:, t + k - pad] (+)= W_k^T @ dout[:, t] over t < vend */
static void shift_backward_data(const shift_pass *p, int b)
{
    int Cout = p->Cx, Cin = p->Cy, Tout = p->Tx, T = p->Ty, K = p->K, pad = p->pad, vend = p->vend[b];
    const float *g = p->x + (size_t)b * Cout * Tout;
    float *dx = p->y + (size_t)b * Cin * T;
    int full = tal_conv_full_tap(K, pad, T, vend, 1);
    if (full < 0 && !p->acc)
        zero_cols(dx, Cin, T, 0, T);
    for (int i = 0; i < K; i++) {
        int k = tal_conv_tap_at(i, full), lo, hi;
        tal_conv_tap_range(k, pad, T, vend, &lo, &hi);
        if (hi <= lo)
            continue;
        float beta = (k == full && !p->acc) ? 0.0f : 1.0f;
        tal_cpu_sgemm(1, 0, Cin, hi - lo, Cout, 1.0f, p->wrep + (size_t)k * Cout * Cin, Cin, g + lo, Tout, beta,
                      dx + lo + (k - pad), T);
    }
}

/* every batch element of a pass, a thread each when by_batch says so.  Not
 * one loop with an if clause: a parallel region that the clause turns off
 * still nests the products' own regions, and libgomp starts fresh threads
 * for every nested team. */
static void shift_over_batch(void (*one)(const shift_pass *, int), const shift_pass *p, int B)
{
    int nt = tal_cpu_threads();
    if (by_batch(p->vend, B, nt)) {
#pragma omp parallel for schedule(static, 1) num_threads(nt)
        for (int b = 0; b < B; b++)
            one(p, b);
    } else {
        for (int b = 0; b < B; b++)
            one(p, b);
    }
}

/* ---- forward ------------------------------------------------------------- */

void tal_cpu_conv1d_forward(float *out, const float *inp, const float *weight, const float *bias, const float *mask,
                            int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups,
                            float *ws)
{
    int path = tal_conv_path(Cin, Cout, stride, groups);
    if (path == TAL_CONV_DEPTHWISE) {
        dw_forward(out, inp, weight, bias, mask, B, Cin, T, Tout, K, stride, pad);
        return;
    }
    if (path == TAL_CONV_IM2COL) {
        int Cg = Cin / groups, Og = Cout / groups;
        for (int b = 0; b < B; b++)
            for (int g = 0; g < groups; g++) {
                im2col(ws, inp + ((size_t)b * Cin + (size_t)g * Cg) * T, Cg, T, Tout, K, stride, pad);
                tal_cpu_sgemm(0, 0, Og, Tout, Cg * K, 1.0f, weight + (size_t)g * Og * Cg * K, Cg * K, ws, Tout, 0.0f,
                              out + ((size_t)b * Cout + (size_t)g * Og) * Tout, Tout);
            }
        finish_rows(out, bias, mask, B, Cout, Tout);
        return;
    }
    /* shifted sgemms: out[:, t] += W_k @ inp[:, t + k - pad] */
    const float *wrep = weight;
    if (K > 1) {
        repack(ws, weight, Cout, Cin, K);
        wrep = ws;
    }
    /* columns from the last valid one on are zeroed by the mask: skip them */
    int vend[B > 0 ? B : 1];
    for (int b = 0; b < B; b++)
        vend[b] = mask ? valid_end(mask + (size_t)b * Tout, Tout) : Tout;
    shift_over_batch(shift_forward,
                     &(shift_pass){ .y = out, .x = inp, .wrep = wrep, .Cx = Cin, .Cy = Cout, .Tx = T, .Ty = Tout,
                                    .K = K, .pad = pad, .vend = vend },
                     B);
    finish_rows(out, bias, mask, B, Cout, Tout);
}

/* ---- backward ----------------------------------------------------------- */

/* sums over b and t < len[b] (len NULL: all T) */
static void bias_grad(float *dbias, const float *dout, const int *len, int B, int C, int T, int acc)
{
#pragma omp parallel for schedule(static) if ((size_t)B * C * T > TAL_CPU_CHUNK)
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int b = 0; b < B; b++)
            s += row_sum(dout + ((size_t)b * C + c) * T, len ? len[b] : T);
        dbias[c] = (acc ? dbias[c] : 0.0f) + (float)s;
    }
}

void tal_cpu_conv1d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, const float *mask, int B, int Cin, int Cout, int T, int Tout,
                             int K, int stride, int pad, int groups, int acc_inp, int acc_w, int acc_b, float *ws)
{
    int path = tal_conv_path(Cin, Cout, stride, groups);
    /* the masked gradient: when every sequence's mask is a run of ones
     * followed by zeros, the shifted path needs no copy (it stops at the
     * run's end); otherwise dout * mask goes to the end of ws */
    if (mask && !(path == TAL_CONV_SHIFT && prefix_masks(mask, B, Tout))) {
        float *dm = ws + tal_conv1d_ws(0, B, Cin, Cout, T, Tout, K, stride, pad, groups);
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * Cout * Tout > TAL_CPU_CHUNK)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < Cout; c++)
                mul_row(dm + ((size_t)b * Cout + c) * Tout, dout + ((size_t)b * Cout + c) * Tout,
                        mask + (size_t)b * Tout, Tout);
        dout = dm;
    }
    if (path == TAL_CONV_DEPTHWISE) {
        dw_backward(dinp, dweight, dbias, dout, inp, weight, B, Cin, T, Tout, K, stride, pad, acc_inp, acc_w, acc_b);
        return;
    }
    if (dbias && path == TAL_CONV_IM2COL)
        bias_grad(dbias, dout, NULL, B, Cout, Tout, acc_b);
    if (path == TAL_CONV_IM2COL) {
        int Cg = Cin / groups, Og = Cout / groups;
        float *col = ws, *dcol = ws + (size_t)Cg * K * Tout;
        if (dinp && !acc_inp)
            tal_cpu_zero(dinp, (size_t)B * Cin * T);
        for (int b = 0; b < B; b++)
            for (int g = 0; g < groups; g++) {
                const float *go = dout + ((size_t)b * Cout + (size_t)g * Og) * Tout;
                if (dweight) {
                    im2col(col, inp + ((size_t)b * Cin + (size_t)g * Cg) * T, Cg, T, Tout, K, stride, pad);
                    tal_cpu_sgemm(0, 1, Og, Cg * K, Tout, 1.0f, go, Tout, col, Tout, (acc_w || b > 0) ? 1.0f : 0.0f,
                                  dweight + (size_t)g * Og * Cg * K, Cg * K);
                }
                if (dinp) {
                    tal_cpu_sgemm(1, 0, Cg * K, Tout, Og, 1.0f, weight + (size_t)g * Og * Cg * K, Cg * K, go, Tout,
                                  0.0f, dcol, Tout);
                    col2im(dinp + ((size_t)b * Cin + (size_t)g * Cg) * T, dcol, Cg, T, Tout, K, stride, pad);
                }
            }
        return;
    }
    /* shifted sgemms, over the columns before each sequence's masked tail
     * (dout is zero there) */
    int vend[B > 0 ? B : 1];
    for (int b = 0; b < B; b++)
        vend[b] = mask ? valid_end(mask + (size_t)b * Tout, Tout) : Tout;
    if (dbias)
        bias_grad(dbias, dout, vend, B, Cout, Tout, acc_b);
    size_t wn = (size_t)K * Cout * Cin;
    float *dwrep = K == 1 ? NULL : ws;
    const float *wrep = weight;
    if (K > 1 && dinp) {
        repack(ws + wn, weight, Cout, Cin, K);
        wrep = ws + wn;
    }
    if (dweight) {
        for (int k = 0; k < K; k++) {
            float *dst = K == 1 ? dweight : dwrep + (size_t)k * Cout * Cin;
            int started = K == 1 && acc_w;
            for (int b = 0; b < B; b++) {
                int lo, hi;
                tal_conv_tap_range(k, pad, T, vend[b], &lo, &hi);
                if (hi <= lo)
                    continue;
                tal_cpu_sgemm(0, 1, Cout, Cin, hi - lo, 1.0f, dout + (size_t)b * Cout * Tout + lo, Tout,
                              inp + (size_t)b * Cin * T + lo + (k - pad), T, started ? 1.0f : 0.0f, dst, Cin);
                started = 1;
            }
            if (!started)
                tal_cpu_zero(dst, (size_t)Cout * Cin);
        }
        if (K > 1) {
#pragma omp parallel for schedule(static) if (wn > TAL_CPU_CHUNK)
            for (int co = 0; co < Cout; co++)
                for (int ci = 0; ci < Cin; ci++)
                    for (int k = 0; k < K; k++) {
                        float v = dwrep[((size_t)k * Cout + co) * Cin + ci];
                        float *d = dweight + ((size_t)co * Cin + ci) * K + k;
                        *d = acc_w ? *d + v : v;
                    }
        }
    }
    if (dinp) {
        shift_over_batch(shift_backward_data,
                         &(shift_pass){ .y = dinp, .x = dout, .wrep = wrep, .Cx = Cout, .Cy = Cin, .Tx = Tout, .Ty = T,
                                        .K = K, .pad = pad, .vend = vend, .acc = acc_inp },
                         B);
    }
}
