/* formulas.h — per-element formulas that both backends compute.
 *
 * The CPU loops (lib/backends/cpu_*.c) and the CUDA kernels (kernels/cuda_*.cu)
 * call the same functions, so each formula is written once and the GPU is
 * checked against the very arithmetic the CPU does (test/unit/test_cuda.c).
 * Under nvcc they are host and device functions; in C, static inline
 * functions the loops inline (and vectorise) as if written in place.
 * Only scalar arithmetic lives here: no memory layout, no threading.
 */
#ifndef TAL_BACKENDS_FORMULAS_H
#define TAL_BACKENDS_FORMULAS_H

#include "backend.h"

#ifdef __CUDACC__
#define TAL_HD static __host__ __device__ __forceinline__
#else
#include <math.h>
#include "cpu_math.h"
#define TAL_HD static inline __attribute__((always_inline))
#endif

/* ---- 1-D convolution: which path, and where a tap reads ------------------- */

enum { TAL_CONV_SHIFT, TAL_CONV_DEPTHWISE, TAL_CONV_IM2COL };

/* dense stride 1: a product per tap on a shifted view; depthwise: direct;
 * anything else: im2col then a product */
TAL_HD int tal_conv_path(int Cin, int Cout, int stride, int groups)
{
    if (groups == 1 && stride == 1)
        return TAL_CONV_SHIFT;
    if (groups == Cin && groups == Cout)
        return TAL_CONV_DEPTHWISE;
    return TAL_CONV_IM2COL;
}

/* output columns [lo, hi) that tap k reads from inside the input */
TAL_HD void tal_conv_tap_range(int k, int pad, int T, int Tout, int *lo, int *hi)
{
    int s = k - pad;
    *lo = s < 0 ? -s : 0;
    *hi = T - s < Tout ? T - s : Tout;
}

/* The shifted-product path runs one product per tap.  A tap whose product
 * writes every column its pass must fill goes first, with beta 0, so that
 * nothing has to be zeroed before the products: its index, or -1.
 * to_input: the pass to the input's gradient, whose tap k writes input
 * columns [lo + k - pad, hi + k - pad) and must cover [0, T); otherwise the
 * forward pass, covering output columns [0, Tout). */
TAL_HD int tal_conv_full_tap(int K, int pad, int T, int Tout, int to_input)
{
    for (int k = 0; k < K; k++) {
        int lo, hi;
        tal_conv_tap_range(k, pad, T, Tout, &lo, &hi);
        if (to_input ? lo + (k - pad) == 0 && hi + (k - pad) == T : lo == 0 && hi == Tout)
            return k;
    }
    return -1;
}

/* The i-th tap in that order (i = 0 .. K-1): the full tap first, then the
 * others in index order. */
TAL_HD int tal_conv_tap_at(int i, int full)
{
    if (full < 0)
        return i;
    if (i == 0)
        return full;
    return i - 1 < full ? i - 1 : i;
}

/* ---- 1-D DIoU of (left, right) distances ------------------------------------ */

/* derivative of min(a,b) / max(a,b) with respect to a; ties split in half
 * as PyTorch's minimum/maximum do */
TAL_HD float tal_dmin_a(float a, float b) { return a < b ? 1.0f : a == b ? 0.5f : 0.0f; }
TAL_HD float tal_dmax_a(float a, float b) { return a > b ? 1.0f : a == b ? 0.5f : 0.0f; }

/* 1 - IoU + (centre distance / enclosing length)^2 */
TAL_HD float tal_diou_loss(float lp, float rp, float lg, float rg, float eps)
{
    float inter = fminf(lp, lg) + fminf(rp, rg);
    float uni = lp + rp + lg + rg - inter;
    float iou = inter / fmaxf(uni, eps);
    float lc = fmaxf(lp, lg) + fmaxf(rp, rg);
    float rho = 0.5f * (rp - lp - rg + lg);
    float r = rho / fmaxf(lc, eps);
    return 1.0f - iou + r * r;
}

/* g times the loss's derivative in the predicted left and right distances */
TAL_HD void tal_diou_grad(float lp, float rp, float lg, float rg, float eps, float g, float *vl, float *vr)
{
    float al = tal_dmin_a(lp, lg), ar = tal_dmin_a(rp, rg);
    float inter = fminf(lp, lg) + fminf(rp, rg);
    float uni = lp + rp + lg + rg - inter;
    float U = fmaxf(uni, eps), uok = uni >= eps ? 1.0f : 0.0f;
    float cl = tal_dmax_a(lp, lg), cr = tal_dmax_a(rp, rg);
    float len = fmaxf(lp, lg) + fmaxf(rp, rg);
    float L = fmaxf(len, eps), lok = len >= eps ? 1.0f : 0.0f;
    float rho = 0.5f * (rp - lp - rg + lg);
    /* d iou / d lp, d rp */
    float diou_l = al / U - inter / (U * U) * uok * (1.0f - al);
    float diou_r = ar / U - inter / (U * U) * uok * (1.0f - ar);
    /* d (rho/L)^2 */
    float q = rho / L;
    float dq_l = -0.5f / L - rho / (L * L) * lok * cl;
    float dq_r = 0.5f / L - rho / (L * L) * lok * cr;
    *vl = g * (-diou_l + 2.0f * q * dq_l);
    *vr = g * (-diou_r + 2.0f * q * dq_r);
}

/* ---- sigmoid losses: BCE with logits, focal, quality focal ---------------- */

/* exp, log and log1p are each side's own: the CPU's vectorisable tal_expf,
 * tal_logf, tal_log1pf (cpu_math.h), the device's expf, logf, log1pf */
#ifdef __CUDACC__
#define TAL_EXPF expf
#define TAL_LOGF logf
#define TAL_LOG1PF log1pf
#else
#define TAL_EXPF tal_expf
#define TAL_LOGF tal_logf
#define TAL_LOG1PF tal_log1pf
#endif

TAL_HD float tal_sigmoid_elem(float x) { return 1.0f / (1.0f + TAL_EXPF(-x)); }

/* BCE with logits, stable for both signs of x: max(x,0) - x*y + log(1 + exp(-|x|)) */
TAL_HD float tal_bce_logits(float x, float y)
{
    float ax = x < 0 ? -x : x;
    return (x > 0 ? x : 0.0f) - x * y + TAL_LOG1PF(TAL_EXPF(-ax));
}

/* d bce / dx times g */
TAL_HD float tal_bce_logits_grad(float g, float x, float y) { return g * (tal_sigmoid_elem(x) - y); }

/* b^e for b >= 0 (0^e = 0 for e > 0, 1 for e == 0); branch-free so that
 * the CPU loops calling it vectorise. */
TAL_HD float tal_pow_nonneg(float b, float e)
{
    float p = TAL_EXPF(e * TAL_LOGF(b > 0.0f ? b : 1.0f));
    return b > 0.0f ? p : (e == 0.0f ? 1.0f : 0.0f);
}

/* Exponent kinds: callers classify e once per call (tal_pow_kind) so that
 * e == 0, 1, 2 are exact and cheap in the per-element code. */
static inline int tal_pow_kind(float e) { return e == 0.0f ? 0 : e == 1.0f ? 1 : e == 2.0f ? 2 : 3; }

/* b^e with e of kind 0..3 */
TAL_HD float tal_pow_k(float b, float e, int kind)
{
    return kind == 0 ? 1.0f : kind == 1 ? b : kind == 2 ? b * b : tal_pow_nonneg(b, e);
}

/* focal class weight alpha_t = alpha y + (1-alpha)(1-y); alpha < 0 disables it */
TAL_HD float tal_focal_alpha_t(float alpha, float y)
{
    return alpha >= 0.0f ? alpha * y + (1.0f - alpha) * (1.0f - y) : 1.0f;
}

/* quality focal loss: bce(x, y) |y - p|^beta; bk = kind of beta */
TAL_HD float tal_qfl(float x, float y, float beta, int bk)
{
    float p = tal_sigmoid_elem(x);
    float a = y - p;
    a = a < 0 ? -a : a;
    return tal_bce_logits(x, y) * tal_pow_k(a, beta, bk);
}

/* d qfl / dx times g: (p - y)|y-p|^beta + bce beta |y-p|^(beta-1) sign(p-y) p(1-p);
 * bk1 = kind of beta - 1 (unused when bk == 0) */
TAL_HD float tal_qfl_grad(float g, float x, float y, float beta, int bk, int bk1)
{
    float p = tal_sigmoid_elem(x), diff = p - y;
    float a = diff < 0 ? -diff : diff, sg = diff > 0 ? 1.0f : diff < 0 ? -1.0f : 0.0f;
    float v = diff * tal_pow_k(a, beta, bk);
    v += bk == 0 ? 0.0f : tal_bce_logits(x, y) * beta * tal_pow_k(a, beta - 1.0f, bk1) * sg * p * (1.0f - p);
    v *= g;
    return v;
}

/* ---- elementwise functions beyond the activations (TAL_ACT_ABS ...) ------- */

/* The value of kind k at x, for the kinds after the sigmoid. */
TAL_HD float tal_act_extra(float x, int kind)
{
    float a = x < 0 ? -x : x;
    switch (kind) {
    case TAL_ACT_ABS: return a;
    case TAL_ACT_RECIP: return 1.0f / x;
    case TAL_ACT_RSQRT: return 1.0f / sqrtf(x);
    case TAL_ACT_SOFTSIGN: return 0.5f * (x / (1.0f + a) + 1.0f);
    default: return x > 0.0f ? 1.0f : 0.0f;   /* TAL_ACT_STEP */
    }
}

/* g times its derivative, from the input x or the output y; the step
 * passes g unchanged (the straight-through estimator: the identity's
 * gradient stands in for the step's, which is 0 almost everywhere) */
TAL_HD float tal_act_extra_grad(float g, float x, float y, int kind)
{
    float a = 1.0f + (x < 0 ? -x : x);
    switch (kind) {
    case TAL_ACT_ABS: return x > 0.0f ? g : x < 0.0f ? -g : 0.0f;
    case TAL_ACT_RECIP: return -g * y * y;
    case TAL_ACT_RSQRT: return -0.5f * g * y * y * y;
    case TAL_ACT_SOFTSIGN: return g * 0.5f / (a * a);
    default: return g;   /* TAL_ACT_STEP */
    }
}

/* ---- BCE on probabilities, focal-weighted (FS-PTAL's video and point losses) ---- */

/* p is clamped to [eps, 1 - eps] inside the logarithms, and gets no
 * gradient where the clamp bites (a saturated sigmoid product) */
#define TAL_BCEP_EPS 1e-6f

TAL_HD float tal_bcep_clamp(float p)
{
    return p < TAL_BCEP_EPS ? TAL_BCEP_EPS : p > 1.0f - TAL_BCEP_EPS ? 1.0f - TAL_BCEP_EPS : p;
}

/* -[y (1-p)^gamma log p + (1-y) p^gamma log(1-p)]; gk = kind of gamma.
 * quality: both terms weighted by |y - p|^gamma instead, the quality
 * focal loss of Generalized Focal Loss on a probability (APL's joint
 * score); the two agree where y is 0 or 1 */
TAL_HD float tal_bce_prob(float p, float y, float gamma, int gk, int quality)
{
    float c = tal_bcep_clamp(p);
    if (quality) {
        float a = y - c;
        a = a < 0 ? -a : a;
        return -tal_pow_k(a, gamma, gk) * (y * TAL_LOGF(c) + (1.0f - y) * TAL_LOGF(1.0f - c));
    }
    return -(y * tal_pow_k(1.0f - c, gamma, gk) * TAL_LOGF(c) + (1.0f - y) * tal_pow_k(c, gamma, gk) * TAL_LOGF(1.0f - c));
}

/* d/dp times g: -y [(1-p)^gamma / p - gamma (1-p)^(gamma-1) log p]
 *              - (1-y) [gamma p^(gamma-1) log(1-p) - p^gamma / (1-p)];
 * quality: w = |y-p|^gamma, b = -[y log p + (1-y) log(1-p)]:
 *   gamma |y-p|^(gamma-1) sign(p-y) b + w [(1-y)/(1-p) - y/p]
 *   (the first part 0 where p = y);
 * gk1 = kind of gamma - 1 (unused when gk == 0) */
TAL_HD float tal_bce_prob_grad(float g, float p, float y, float gamma, int gk, int gk1, int quality)
{
    float c = tal_bcep_clamp(p), q = 1.0f - c;
    float lp = TAL_LOGF(c), lq = TAL_LOGF(q);
    float d;
    if (quality) {
        float diff = c - y, a = diff < 0 ? -diff : diff;
        float w = tal_pow_k(a, gamma, gk), b = -(y * lp + (1.0f - y) * lq);
        float dw = gk == 0 || a == 0.0f ? 0.0f : gamma * tal_pow_k(a, gamma - 1.0f, gk1) * (diff > 0 ? 1.0f : -1.0f);
        d = dw * b + w * ((1.0f - y) / q - y / c);
    } else {
        float a = tal_pow_k(q, gamma, gk), b = tal_pow_k(c, gamma, gk);
        float da = gk == 0 ? 0.0f : gamma * tal_pow_k(q, gamma - 1.0f, gk1);   /* -d/dp (1-p)^gamma */
        float db = gk == 0 ? 0.0f : gamma * tal_pow_k(c, gamma - 1.0f, gk1);   /* d/dp p^gamma */
        d = -y * (a / c - da * lp) - (1.0f - y) * (db * lq - b / q);
    }
    return c == p ? g * d : 0.0f;
}

/* ---- L2 normalisation of rows ------------------------------------------------ */

/* the divisor of a row whose squares sum to s: max(|x|, eps) */
TAL_HD float tal_l2n_norm(float s, float eps)
{
    float n = sqrtf(s);
    return n > eps ? n : eps;
}

/* ---- optimisers ----------------------------------------------------------- */

/* One Adam(W) step of one parameter: updates the moments in place and
 * returns the new value.  step = lr / bias correction 1, bc2s = the square
 * root of bias correction 2; decoupled: AdamW's weight decay. */
TAL_HD float tal_adam_elem(float pi, float gi, float *m, float *v, float lr, float b1, float b2, float eps, float wd,
                           float step, float bc2s, int decoupled)
{
    if (decoupled)
        pi *= 1.0f - lr * wd;
    else
        gi += wd * pi;
    float mi = *m * b1 + gi * (1.0f - b1);
    float vi = *v * b2 + gi * gi * (1.0f - b2);
    *m = mi;
    *v = vi;
    return pi - step * (mi / (sqrtf(vi) / bc2s + eps));
}

/* One SGD step of one parameter (PyTorch's momentum and Nesterov forms);
 * buf is read and written only when mu != 0. */
TAL_HD float tal_sgd_elem(float pi, float gi, float *buf, float lr, float mu, float wd, int nesterov, int first)
{
    float d = gi + wd * pi;
    if (mu != 0.0f) {
        float b = first ? d : *buf * mu + d;
        *buf = b;
        d = nesterov ? d + mu * b : b;
    }
    return pi - lr * d;
}


/* ---- positive-negative learning on a softmax (seed 0, eqs. 5, 9, 11) --------------- */

/* One row of K logits z with weights wp (on -log p_c) and wn (on
 * -log(1 - p_c)), either may be NULL for none.  log(1 - p_c) loses
 * everything to rounding once p_c is near 1, so it is taken apart: for
 * every class but the most probable one, p_c <= 1/2 and log1p(-p_c) is
 * exact; for the most probable one a, 1 - p_a is the mass of the others,
 * log(1 - p_a) = L2 - L with L the log-sum-exp of the row and L2 that of
 * the row without a.  The gradient uses the same split (r_c = p_c / (1 -
 * p_c) <= 1 for c != a, and p_a p_j / (1 - p_a) = p_a exp(z_j - L2)), so
 * nothing overflows for any logits. */
typedef struct {
    float L, L2;      /* log-sum-exp of the row, and of the row without a */
    int a;            /* the most probable class (first of equal logits) */
    float wp_sum;     /* sum of wp */
    float A;          /* sum over c != a of wn_c r_c */
} tal_pn_row;

TAL_HD float tal_pn_log1m(const float *z, int c, const tal_pn_row *s)
{
    return c == s->a ? s->L2 - s->L : TAL_LOG1PF(-TAL_EXPF(z[c] - s->L));
}

TAL_HD void tal_pn_row_stats(const float *z, const float *wp, const float *wn, int K, tal_pn_row *s)
{
    int a = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[a])
            a = k;
    float m2 = -INFINITY;
    for (int k = 0; k < K; k++)
        if (k != a && z[k] > m2)
            m2 = z[k];
    float S = 0.0f, S2 = 0.0f;
    for (int k = 0; k < K; k++) {
        S += TAL_EXPF(z[k] - z[a]);
        if (k != a)
            S2 += TAL_EXPF(z[k] - m2);
    }
    s->a = a;
    s->L = z[a] + TAL_LOGF(S);
    s->L2 = K > 1 ? m2 + TAL_LOGF(S2) : -INFINITY;
    s->wp_sum = 0.0f;
    s->A = 0.0f;
    for (int k = 0; k < K; k++) {
        if (wp)
            s->wp_sum += wp[k];
        if (wn && k != a && wn[k] != 0.0f)
            s->A += wn[k] * TAL_EXPF(z[k] - s->L - tal_pn_log1m(z, k, s));
    }
}

/* sum_c wp_c (-log p_c) + wn_c (-log(1 - p_c)) */
TAL_HD float tal_pn_row_loss(const float *z, const float *wp, const float *wn, int K, const tal_pn_row *s)
{
    float l = 0.0f;
    for (int k = 0; k < K; k++) {
        if (wp && wp[k] != 0.0f)
            l += wp[k] * (s->L - z[k]);
        if (wn && wn[k] != 0.0f)
            l -= wn[k] * tal_pn_log1m(z, k, s);
    }
    return l;
}

/* d loss / d z_j */
TAL_HD float tal_pn_grad(const float *z, const float *wp, const float *wn, int j, const tal_pn_row *s)
{
    float pj = TAL_EXPF(z[j] - s->L);
    float wpj = wp ? wp[j] : 0.0f, wnj = wn ? wn[j] : 0.0f;
    float d = pj * s->wp_sum - wpj + wnj * pj - pj * s->A;
    if (j != s->a) {
        float r = TAL_EXPF(z[j] - s->L - tal_pn_log1m(z, j, s));
        float wna = wn ? wn[s->a] : 0.0f;
        d += pj * wnj * r - wna * TAL_EXPF(z[s->a] - s->L) * TAL_EXPF(z[j] - s->L2);
    }
    return d;
}

#endif
