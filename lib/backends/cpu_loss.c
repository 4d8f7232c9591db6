/* cpu_loss.c — loss primitives, elementwise (the caller reduces):
 * BCE with logits, sigmoid focal, quality focal, cross-entropy,
 * positive-negative learning on a softmax, 1-D DIoU, focal BCE on
 * probabilities.
 * Formulas as reference-methods.md §1.4 and torchvision/mmdet state them. */
#include "cpu.h"
#include "formulas.h"

#include <math.h>

TAL_KERNEL static void bce_fwd(float *restrict o, const float *restrict x, const float *restrict y, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        o[i] = tal_bce_logits(x[i], y[i]);
}

TAL_KERNEL static void bce_bwd(float *restrict d, const float *restrict g, const float *restrict x,
                               const float *restrict y, size_t n, int acc)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float v = tal_bce_logits_grad(g[i], x[i], y[i]);
        d[i] = acc ? d[i] + v : v;
    }
}

void tal_cpu_bce_forward(float *out, const float *x, const float *y, size_t n)
{
    TAL_PAR_CHUNKS(n, lo, hi, bce_fwd(out + lo, x + lo, y + lo, hi - lo));
}

void tal_cpu_bce_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, int acc)
{
    TAL_PAR_CHUNKS(n, lo, hi, bce_bwd(dx + lo, dout + lo, x + lo, y + lo, hi - lo, acc));
}

/* The loops below are instantiated per exponent kind (a constant in each
 * copy), so that each copy is straight-line code the compiler vectorises. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* sigmoid focal loss: alpha_t (1-p_t)^gamma bce, p_t = p y + (1-p)(1-y) */
ALWAYS_INLINE void focal_fwd_k(float *restrict o, const float *restrict x, const float *restrict y, size_t n,
                               float alpha, float gamma, const int gk)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float p = tal_sigmoidf(x[i]), yy = y[i];
        float pt = p * yy + (1.0f - p) * (1.0f - yy);
        float l = tal_bce_logits(x[i], yy) * tal_pow_k(1.0f - pt, gamma, gk);
        o[i] = l * tal_focal_alpha_t(alpha, yy);
    }
}

TAL_KERNEL static void focal_fwd(float *restrict o, const float *restrict x, const float *restrict y, size_t n,
                                 float alpha, float gamma)
{
    switch (tal_pow_kind(gamma)) {
    case 0: focal_fwd_k(o, x, y, n, alpha, gamma, 0); break;
    case 1: focal_fwd_k(o, x, y, n, alpha, gamma, 1); break;
    case 2: focal_fwd_k(o, x, y, n, alpha, gamma, 2); break;
    default: focal_fwd_k(o, x, y, n, alpha, gamma, 3); break;
    }
}

/* d/dx = alpha_t [ -gamma (1-p_t)^(gamma-1) (2y-1) p (1-p) bce + (1-p_t)^gamma (p - y) ] */
ALWAYS_INLINE void focal_bwd_k(float *restrict d, const float *restrict g, const float *restrict x,
                               const float *restrict y, size_t n, float alpha, float gamma, int acc, const int gk,
                               const int gk1)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float p = tal_sigmoidf(x[i]), yy = y[i];
        float q = 1.0f - (p * yy + (1.0f - p) * (1.0f - yy));
        float dpt = (2.0f * yy - 1.0f) * p * (1.0f - p);
        float v = tal_pow_k(q, gamma, gk) * (p - yy);
        v -= gk == 0 ? 0.0f : gamma * tal_pow_k(q, gamma - 1.0f, gk1) * dpt * tal_bce_logits(x[i], yy);
        v *= tal_focal_alpha_t(alpha, yy) * g[i];
        d[i] = acc ? d[i] + v : v;
    }
}

TAL_KERNEL static void focal_bwd(float *restrict d, const float *restrict g, const float *restrict x,
                                 const float *restrict y, size_t n, float alpha, float gamma, int acc)
{
    switch (tal_pow_kind(gamma)) {
    case 0: focal_bwd_k(d, g, x, y, n, alpha, gamma, acc, 0, 3); break;
    case 1: focal_bwd_k(d, g, x, y, n, alpha, gamma, acc, 1, 0); break;
    case 2: focal_bwd_k(d, g, x, y, n, alpha, gamma, acc, 2, 1); break;
    default: focal_bwd_k(d, g, x, y, n, alpha, gamma, acc, 3, 3); break;
    }
}

void tal_cpu_focal_forward(float *out, const float *x, const float *y, size_t n, float alpha, float gamma)
{
    TAL_PAR_CHUNKS(n, lo, hi, focal_fwd(out + lo, x + lo, y + lo, hi - lo, alpha, gamma));
}

void tal_cpu_focal_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float alpha,
                            float gamma, int acc)
{
    TAL_PAR_CHUNKS(n, lo, hi, focal_bwd(dx + lo, dout + lo, x + lo, y + lo, hi - lo, alpha, gamma, acc));
}

/* quality focal loss: bce(x, y) |y - p|^beta */
ALWAYS_INLINE void qfl_fwd_k(float *restrict o, const float *restrict x, const float *restrict y, size_t n,
                             float beta, const int bk)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        o[i] = tal_qfl(x[i], y[i], beta, bk);
}

TAL_KERNEL static void qfl_fwd(float *restrict o, const float *restrict x, const float *restrict y, size_t n,
                               float beta)
{
    switch (tal_pow_kind(beta)) {
    case 0: qfl_fwd_k(o, x, y, n, beta, 0); break;
    case 1: qfl_fwd_k(o, x, y, n, beta, 1); break;
    case 2: qfl_fwd_k(o, x, y, n, beta, 2); break;
    default: qfl_fwd_k(o, x, y, n, beta, 3); break;
    }
}

/* d/dx = (p - y)|y-p|^beta + bce * beta |y-p|^(beta-1) sign(p-y) p(1-p) */
ALWAYS_INLINE void qfl_bwd_k(float *restrict d, const float *restrict g, const float *restrict x,
                             const float *restrict y, size_t n, float beta, int acc, const int bk, const int bk1)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float v = tal_qfl_grad(g[i], x[i], y[i], beta, bk, bk1);
        d[i] = acc ? d[i] + v : v;
    }
}

TAL_KERNEL static void qfl_bwd(float *restrict d, const float *restrict g, const float *restrict x,
                               const float *restrict y, size_t n, float beta, int acc)
{
    switch (tal_pow_kind(beta)) {
    case 0: qfl_bwd_k(d, g, x, y, n, beta, acc, 0, 3); break;
    case 1: qfl_bwd_k(d, g, x, y, n, beta, acc, 1, 0); break;
    case 2: qfl_bwd_k(d, g, x, y, n, beta, acc, 2, 1); break;
    default: qfl_bwd_k(d, g, x, y, n, beta, acc, 3, 3); break;
    }
}

void tal_cpu_qfl_forward(float *out, const float *x, const float *y, size_t n, float beta)
{
    TAL_PAR_CHUNKS(n, lo, hi, qfl_fwd(out + lo, x + lo, y + lo, hi - lo, beta));
}

void tal_cpu_qfl_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float beta, int acc)
{
    TAL_PAR_CHUNKS(n, lo, hi, qfl_bwd(dx + lo, dout + lo, x + lo, y + lo, hi - lo, beta, acc));
}

/* focal BCE on probabilities: formulas.h tal_bce_prob (quality: its
 * quality-focal form) */
ALWAYS_INLINE void bcep_fwd_k(float *restrict o, const float *restrict p, const float *restrict y, size_t n,
                              float gamma, const int gk, const int quality)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        o[i] = tal_bce_prob(p[i], y[i], gamma, gk, quality);
}

TAL_KERNEL static void bcep_fwd(float *restrict o, const float *restrict p, const float *restrict y, size_t n,
                                float gamma, int quality)
{
    int k = tal_pow_kind(gamma);
    if (quality) {
        switch (k) {
        case 0: bcep_fwd_k(o, p, y, n, gamma, 0, 1); break;
        case 1: bcep_fwd_k(o, p, y, n, gamma, 1, 1); break;
        case 2: bcep_fwd_k(o, p, y, n, gamma, 2, 1); break;
        default: bcep_fwd_k(o, p, y, n, gamma, 3, 1); break;
        }
        return;
    }
    switch (k) {
    case 0: bcep_fwd_k(o, p, y, n, gamma, 0, 0); break;
    case 1: bcep_fwd_k(o, p, y, n, gamma, 1, 0); break;
    case 2: bcep_fwd_k(o, p, y, n, gamma, 2, 0); break;
    default: bcep_fwd_k(o, p, y, n, gamma, 3, 0); break;
    }
}

ALWAYS_INLINE void bcep_bwd_k(float *restrict d, const float *restrict g, const float *restrict p,
                              const float *restrict y, size_t n, float gamma, int acc, const int gk, const int gk1,
                              const int quality)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float v = tal_bce_prob_grad(g[i], p[i], y[i], gamma, gk, gk1, quality);
        d[i] = acc ? d[i] + v : v;
    }
}

TAL_KERNEL static void bcep_bwd(float *restrict d, const float *restrict g, const float *restrict p,
                                const float *restrict y, size_t n, float gamma, int acc, int quality)
{
    int k = tal_pow_kind(gamma);
    if (quality) {
        switch (k) {
        case 0: bcep_bwd_k(d, g, p, y, n, gamma, acc, 0, 3, 1); break;
        case 1: bcep_bwd_k(d, g, p, y, n, gamma, acc, 1, 0, 1); break;
        case 2: bcep_bwd_k(d, g, p, y, n, gamma, acc, 2, 1, 1); break;
        default: bcep_bwd_k(d, g, p, y, n, gamma, acc, 3, 3, 1); break;
        }
        return;
    }
    switch (k) {
    case 0: bcep_bwd_k(d, g, p, y, n, gamma, acc, 0, 3, 0); break;
    case 1: bcep_bwd_k(d, g, p, y, n, gamma, acc, 1, 0, 0); break;
    case 2: bcep_bwd_k(d, g, p, y, n, gamma, acc, 2, 1, 0); break;
    default: bcep_bwd_k(d, g, p, y, n, gamma, acc, 3, 3, 0); break;
    }
}

void tal_cpu_bcep_forward(float *out, const float *p, const float *y, size_t n, float gamma, int quality)
{
    TAL_PAR_CHUNKS(n, lo, hi, bcep_fwd(out + lo, p + lo, y + lo, hi - lo, gamma, quality));
}

void tal_cpu_bcep_backward(float *dp, const float *dout, const float *p, const float *y, size_t n, float gamma,
                           int quality, int acc)
{
    TAL_PAR_CHUNKS(n, lo, hi, bcep_bwd(dp + lo, dout + lo, p + lo, y + lo, hi - lo, gamma, acc, quality));
}

/* ---- cross-entropy ---------------------------------------------------- */

TAL_KERNEL static void lsm_row(float *restrict l, const float *restrict x, int K)
{
    float mx = x[0];
#pragma omp simd reduction(max : mx)
    for (int k = 1; k < K; k++)
        mx = x[k] > mx ? x[k] : mx;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int k = 0; k < K; k++)
        s += tal_expf(x[k] - mx);
    float ls = mx + logf(s);
#pragma omp simd
    for (int k = 0; k < K; k++)
        l[k] = x[k] - ls;
}

void tal_cpu_ce_forward(float *out, float *lsm, const float *x, const int32_t *target, int64_t N, int K)
{
#pragma omp parallel for schedule(static) if (N * K > TAL_CPU_CHUNK)
    for (int64_t i = 0; i < N; i++) {
        lsm_row(lsm + i * K, x + i * K, K);
        out[i] = target[i] >= 0 ? -lsm[i * K + target[i]] : 0.0f;
    }
}

TAL_KERNEL static void ce_back_row(float *restrict d, const float *restrict l, float g, int K, int acc)
{
#pragma omp simd
    for (int k = 0; k < K; k++) {
        float v = g * tal_expf(l[k]);
        d[k] = acc ? d[k] + v : v;
    }
}

void tal_cpu_ce_backward(float *dx, const float *dout, const float *lsm, const int32_t *target, int64_t N, int K,
                         int acc)
{
#pragma omp parallel for schedule(static) if (N * K > TAL_CPU_CHUNK)
    for (int64_t i = 0; i < N; i++) {
        float g = target[i] >= 0 ? dout[i] : 0.0f;
        ce_back_row(dx + i * K, lsm + i * K, g, K, acc);
        if (target[i] >= 0)
            dx[i * K + target[i]] -= g;
    }
}

/* ---- positive-negative learning on a softmax (formulas.h) ------------------- */

void tal_cpu_pn_forward(float *out, const float *x, const float *wpos, const float *wneg, int64_t N, int K)
{
#pragma omp parallel for schedule(static) if (N * K > TAL_CPU_CHUNK)
    for (int64_t i = 0; i < N; i++) {
        const float *z = x + i * K, *wp = wpos ? wpos + i * K : NULL, *wn = wneg ? wneg + i * K : NULL;
        tal_pn_row s;
        tal_pn_row_stats(z, wp, wn, K, &s);
        out[i] = tal_pn_row_loss(z, wp, wn, K, &s);
    }
}

void tal_cpu_pn_backward(float *dx, const float *dout, const float *x, const float *wpos, const float *wneg, int64_t N,
                         int K, int acc)
{
#pragma omp parallel for schedule(static) if (N * K > TAL_CPU_CHUNK)
    for (int64_t i = 0; i < N; i++) {
        const float *z = x + i * K, *wp = wpos ? wpos + i * K : NULL, *wn = wneg ? wneg + i * K : NULL;
        tal_pn_row s;
        tal_pn_row_stats(z, wp, wn, K, &s);
        float *d = dx + i * K;
        for (int j = 0; j < K; j++) {
            float v = dout[i] * tal_pn_grad(z, wp, wn, j, &s);
            d[j] = acc ? d[j] + v : v;
        }
    }
}

/* ---- 1-D DIoU ------------------------------------------------------------ */

void tal_cpu_diou_forward(float *out, const float *pred, const float *target, int64_t N, float eps)
{
#pragma omp parallel for schedule(static) if (N > TAL_CPU_CHUNK)
    for (int64_t i = 0; i < N; i++) {
        out[i] = tal_diou_loss(pred[2 * i], pred[2 * i + 1], target[2 * i], target[2 * i + 1], eps);
    }
}

void tal_cpu_diou_backward(float *dpred, const float *dout, const float *pred, const float *target, int64_t N,
                           float eps, int acc)
{
#pragma omp parallel for schedule(static) if (N > TAL_CPU_CHUNK)
    for (int64_t i = 0; i < N; i++) {
        float vl, vr;
        tal_diou_grad(pred[2 * i], pred[2 * i + 1], target[2 * i], target[2 * i + 1], eps, dout[i], &vl, &vr);
        dpred[2 * i] = acc ? dpred[2 * i] + vl : vl;
        dpred[2 * i + 1] = acc ? dpred[2 * i + 1] + vr : vr;
    }
}
