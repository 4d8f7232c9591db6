/* cpu_norm.c — channel LayerNorm on (B,C,T): each time step normalised
 * over its C channels (biased variance), then scaled and shifted per
 * channel; and rows scaled to unit L2 norm.  Work is split into blocks of time steps so that the loops
 * over channels run along contiguous time and vectorise. */
#include "cpu.h"
#include "formulas.h"

#include <math.h>

#define LN_TB 64   /* time steps per block */

/* out = (x - mu) * rs * w + b over a block of n time steps; shared by the
 * forward and by the LayerNorm + activation backward, which recomputes
 * the forward's values (one expression in one place: the same code, the
 * same rounding) */
static inline __attribute__((always_inline)) void ln_apply(float *restrict out, const float *restrict x,
                                                           const float *restrict mu, const float *restrict rs,
                                                           const float *restrict w, const float *restrict bias,
                                                           int C, int T, int n)
{
    for (int c = 0; c < C; c++) {
        const float *xr = x + (size_t)c * T;
        float *o = out + (size_t)c * T;
        float wc = w ? w[c] : 1.0f, bc = bias ? bias[c] : 0.0f;
        for (int t = 0; t < n; t++)
            o[t] = (xr[t] - mu[t]) * rs[t] * wc + bc;
    }
}

TAL_KERNEL static void ln_fwd_block(float *restrict out, float *restrict mean, float *restrict rstd,
                                    const float *restrict x, const float *restrict w, const float *restrict bias,
                                    int C, int T, int n, float eps)
{
    float mu[LN_TB], rs[LN_TB];
    for (int t = 0; t < n; t++)
        mu[t] = 0.0f;
    for (int c = 0; c < C; c++) {
        const float *xr = x + (size_t)c * T;
        for (int t = 0; t < n; t++)
            mu[t] += xr[t];
    }
    for (int t = 0; t < n; t++) {
        mu[t] *= 1.0f / (float)C;
        rs[t] = 0.0f;
    }
    for (int c = 0; c < C; c++) {
        const float *xr = x + (size_t)c * T;
        for (int t = 0; t < n; t++) {
            float d = xr[t] - mu[t];
            rs[t] += d * d;
        }
    }
    for (int t = 0; t < n; t++) {
        rs[t] = 1.0f / sqrtf(rs[t] * (1.0f / (float)C) + eps);
        mean[t] = mu[t];
        rstd[t] = rs[t];
    }
    ln_apply(out, x, mu, rs, w, bias, C, T, n);
}

void tal_cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                               const float *bias, int B, int C, int T, float eps)
{
    int nb = (T + LN_TB - 1) / LN_TB;
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int j = 0; j < nb; j++) {
            int t0 = j * LN_TB, n = T - t0 < LN_TB ? T - t0 : LN_TB;
            size_t off = (size_t)b * C * T + t0;
            ln_fwd_block(out + off, mean + (size_t)b * T + t0, rstd + (size_t)b * T + t0, inp + off, weight, bias, C,
                         T, n, eps);
        }
}

/* dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * w */
TAL_KERNEL static void ln_bwd_block(float *restrict dx, const float *restrict dy, const float *restrict x,
                                    const float *restrict w, const float *restrict mean, const float *restrict rstd,
                                    int C, int T, int n, int acc)
{
    float m1[LN_TB], m2[LN_TB];
    for (int t = 0; t < n; t++)
        m1[t] = m2[t] = 0.0f;
    for (int c = 0; c < C; c++) {
        const float *xr = x + (size_t)c * T, *g = dy + (size_t)c * T;
        float wc = w ? w[c] : 1.0f;
        for (int t = 0; t < n; t++) {
            float dxh = g[t] * wc;
            m1[t] += dxh;
            m2[t] += dxh * (xr[t] - mean[t]) * rstd[t];
        }
    }
    for (int t = 0; t < n; t++) {
        m1[t] *= 1.0f / (float)C;
        m2[t] *= 1.0f / (float)C;
    }
    for (int c = 0; c < C; c++) {
        const float *xr = x + (size_t)c * T, *g = dy + (size_t)c * T;
        float *d = dx + (size_t)c * T;
        float wc = w ? w[c] : 1.0f;
        for (int t = 0; t < n; t++) {
            float xh = (xr[t] - mean[t]) * rstd[t];
            float v = rstd[t] * (g[t] * wc - m1[t] - xh * m2[t]);
            d[t] = acc ? d[t] + v : v;
        }
    }
}

/* sums over t of dy*xhat and dy for one channel row */
TAL_KERNEL static void ln_wgrad_row(double *sw, double *sb, const float *restrict g, const float *restrict x,
                                    const float *restrict mean, const float *restrict rstd, int T)
{
    float a = 0, s = 0;
#pragma omp simd reduction(+ : a, s)
    for (int t = 0; t < T; t++) {
        a += g[t] * (x[t] - mean[t]) * rstd[t];
        s += g[t];
    }
    *sw += a;
    *sb += s;
}

void tal_cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                const float *weight, const float *mean, const float *rstd, int B, int C, int T,
                                int acc_inp, int acc_w, int acc_b)
{
    int nb = (T + LN_TB - 1) / LN_TB;
    if (dinp) {
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * T > TAL_CPU_CHUNK)
        for (int b = 0; b < B; b++)
            for (int j = 0; j < nb; j++) {
                int t0 = j * LN_TB, n = T - t0 < LN_TB ? T - t0 : LN_TB;
                size_t off = (size_t)b * C * T + t0;
                ln_bwd_block(dinp + off, dout + off, inp + off, weight, mean + (size_t)b * T + t0,
                             rstd + (size_t)b * T + t0, C, T, n, acc_inp);
            }
    }
    if (dweight || dbias) {
#pragma omp parallel for schedule(static) if ((size_t)B * C * T > TAL_CPU_CHUNK)
        for (int c = 0; c < C; c++) {
            double sw = 0, sb = 0;
            for (int b = 0; b < B; b++) {
                size_t off = ((size_t)b * C + c) * T;
                ln_wgrad_row(&sw, &sb, dout + off, inp + off, mean + (size_t)b * T, rstd + (size_t)b * T, T);
            }
            if (dweight)
                dweight[c] = (acc_w ? dweight[c] : 0.0f) + (float)sw;
            if (dbias)
                dbias[c] = (acc_b ? dbias[c] : 0.0f) + (float)sb;
        }
    }
}

/* ---- LayerNorm + activation ----------------------------------------------
 * The oracle of the fused GPU kernel is the two CPU kernels in turn,
 * through ws: bit for bit what layernorm then the activation op compute,
 * so switching a model to the fused op leaves CPU training unchanged.  The
 * backward recomputes the LayerNorm output instead of keeping it. */

size_t tal_lnact_ws(int fwd, int B, int C, int T)
{
    size_t n = (size_t)B * C * T;
    return fwd ? n : 2 * n;
}

void tal_cpu_layernorm_act_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                   const float *bias, int B, int C, int T, float eps, int act, float *ws)
{
    tal_cpu_layernorm_forward(ws, mean, rstd, inp, weight, bias, B, C, T, eps);
    tal_cpu_act_forward(out, ws, (size_t)B * C * T, act);
}

TAL_KERNEL static void ln_recompute_block(float *restrict out, const float *restrict x, const float *restrict mean,
                                          const float *restrict rstd, const float *restrict w,
                                          const float *restrict bias, int C, int T, int n)
{
    ln_apply(out, x, mean, rstd, w, bias, C, T, n);
}

void tal_cpu_layernorm_act_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *out,
                                    const float *inp, const float *weight, const float *bias, const float *mean,
                                    const float *rstd, int B, int C, int T, int act, int acc_inp, int acc_w,
                                    int acc_b, float *ws)
{
    size_t n = (size_t)B * C * T;
    float *pre = ws, *dpre = ws + n;
    /* the forward's LayerNorm output, from the mean and rstd it saved */
    int nb = (T + LN_TB - 1) / LN_TB;
#pragma omp parallel for schedule(static) collapse(2) if (n > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int j = 0; j < nb; j++) {
            int t0 = j * LN_TB, m = T - t0 < LN_TB ? T - t0 : LN_TB;
            size_t off = (size_t)b * C * T + t0;
            ln_recompute_block(pre + off, inp + off, mean + (size_t)b * T + t0, rstd + (size_t)b * T + t0, weight,
                               bias, C, T, m);
        }
    tal_cpu_act_backward(dpre, dout, pre, out, n, act, 0);
    tal_cpu_layernorm_backward(dinp, dweight, dbias, dpre, inp, weight, mean, rstd, B, C, T, acc_inp, acc_w, acc_b);
}

/* ---- L2 normalisation of rows ------------------------------------------------ */

TAL_KERNEL static void l2n_fwd_row(float *restrict o, float *restrict norm, const float *restrict x, int64_t C,
                                   float eps)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; c++)
        s += x[c] * x[c];
    float n = tal_l2n_norm(s, eps), r = 1.0f / n;
    *norm = n;
#pragma omp simd
    for (int64_t c = 0; c < C; c++)
        o[c] = x[c] * r;
}

void tal_cpu_l2norm_forward(float *out, float *norm, const float *inp, int64_t R, int64_t C, float eps)
{
#pragma omp parallel for schedule(static) if (R * C > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < R; r++)
        l2n_fwd_row(out + r * C, norm + r, inp + r * C, C, eps);
}

/* (g - y (y . g)) / n; a row held at the floor eps is x / eps, linear */
TAL_KERNEL static void l2n_bwd_row(float *restrict d, const float *restrict g, const float *restrict y, float n,
                                   int64_t C, float eps, int acc)
{
    float dot = 0.0f;
    if (n > eps) {
#pragma omp simd reduction(+ : dot)
        for (int64_t c = 0; c < C; c++)
            dot += y[c] * g[c];
    }
    float r = 1.0f / n;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
        float v = (g[c] - y[c] * dot) * r;
        d[c] = acc ? d[c] + v : v;
    }
}

void tal_cpu_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int64_t R, int64_t C,
                             float eps, int acc)
{
#pragma omp parallel for schedule(static) if (R * C > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < R; r++)
        l2n_bwd_row(dinp + r * C, dout + r * C, out + r * C, norm[r], C, eps, acc);
}
