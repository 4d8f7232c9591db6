/* cuda_loss.cu — loss primitives, elementwise (the caller reduces): BCE
 * with logits, sigmoid focal, quality focal, cross-entropy, positive-
 * negative learning on a softmax, 1-D DIoU, focal BCE on probabilities;
 * the twin of lib/backends/cpu_loss.c, formula for formula.
 *
 * Each loss is one fused kernel per pass: the sigmoid, the BCE, the
 * modulating factor and the class weight of the focal loss (or the
 * intersection, union, enclosure and centre distance of the DIoU loss) are
 * computed in registers from x and y and only the loss or its gradient is
 * written, where a framework composing elementwise ops would make a pass
 * over memory for each. */
#include "cuda_common.cuh"

/* the kind of e - 1 for e of kind k (k = 0: unused) */
static int pow_kind1(int k) { return k == 1 ? 0 : k == 2 ? 1 : 3; }

#define LOSS_LAUNCH(kernel, n, ...) TCU_LAUNCH(kernel, tcu_blocks((int64_t)(n), TCU_THREADS), TCU_THREADS, 0, __VA_ARGS__)

/* ---- BCE ---------------------------------------------------------------------- */

__global__ void k_bce(float *o, const float *x, const float *y, int64_t n)
{
    TCU_FOR(i, n) o[i] = tal_bce_logits(x[i], y[i]);
}

__global__ void k_bce_back(float *d, const float *g, const float *x, const float *y, int64_t n, int acc)
{
    TCU_FOR(i, n) {
        float v = tal_bce_logits_grad(g[i], x[i], y[i]);
        d[i] = acc ? d[i] + v : v;
    }
}

void tcu_bce_forward(float *out, const float *x, const float *y, size_t n)
{
    LOSS_LAUNCH(k_bce, n, out, x, y, (int64_t)n);
}

void tcu_bce_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, int acc)
{
    LOSS_LAUNCH(k_bce_back, n, dx, dout, x, y, (int64_t)n, acc);
}

/* ---- sigmoid focal: alpha_t (1 - p_t)^gamma bce, p_t = p y + (1-p)(1-y) -------------- */

__global__ void k_focal(float *o, const float *x, const float *y, int64_t n, float alpha, float gamma, int gk)
{
    TCU_FOR(i, n) {
        float p = tal_sigmoid_elem(x[i]), yy = y[i];
        float pt = p * yy + (1.0f - p) * (1.0f - yy);
        o[i] = tal_bce_logits(x[i], yy) * tal_pow_k(1.0f - pt, gamma, gk) * tal_focal_alpha_t(alpha, yy);
    }
}

/* d/dx = alpha_t [ (1-p_t)^gamma (p - y) - gamma (1-p_t)^(gamma-1) (2y-1) p (1-p) bce ] */
__global__ void k_focal_back(float *d, const float *g, const float *x, const float *y, int64_t n, float alpha,
                             float gamma, int gk, int gk1, int acc)
{
    TCU_FOR(i, n) {
        float p = tal_sigmoid_elem(x[i]), yy = y[i];
        float q = 1.0f - (p * yy + (1.0f - p) * (1.0f - yy));
        float dpt = (2.0f * yy - 1.0f) * p * (1.0f - p);
        float v = tal_pow_k(q, gamma, gk) * (p - yy);
        if (gk)
            v -= gamma * tal_pow_k(q, gamma - 1.0f, gk1) * dpt * tal_bce_logits(x[i], yy);
        v *= tal_focal_alpha_t(alpha, yy) * g[i];
        d[i] = acc ? d[i] + v : v;
    }
}

void tcu_focal_forward(float *out, const float *x, const float *y, size_t n, float alpha, float gamma)
{
    LOSS_LAUNCH(k_focal, n, out, x, y, (int64_t)n, alpha, gamma, tal_pow_kind(gamma));
}

void tcu_focal_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float alpha,
                        float gamma, int acc)
{
    int k = tal_pow_kind(gamma);
    LOSS_LAUNCH(k_focal_back, n, dx, dout, x, y, (int64_t)n, alpha, gamma, k, pow_kind1(k), acc);
}

/* ---- quality focal: bce(x, y) |y - p|^beta ------------------------------------------- */

__global__ void k_qfl(float *o, const float *x, const float *y, int64_t n, float beta, int bk)
{
    TCU_FOR(i, n) o[i] = tal_qfl(x[i], y[i], beta, bk);
}

/* d/dx = (p - y)|y-p|^beta + bce beta |y-p|^(beta-1) sign(p-y) p (1-p) */
__global__ void k_qfl_back(float *d, const float *g, const float *x, const float *y, int64_t n, float beta, int bk,
                           int bk1, int acc)
{
    TCU_FOR(i, n) {
        float v = tal_qfl_grad(g[i], x[i], y[i], beta, bk, bk1);
        d[i] = acc ? d[i] + v : v;
    }
}

void tcu_qfl_forward(float *out, const float *x, const float *y, size_t n, float beta)
{
    LOSS_LAUNCH(k_qfl, n, out, x, y, (int64_t)n, beta, tal_pow_kind(beta));
}

void tcu_qfl_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float beta, int acc)
{
    int k = tal_pow_kind(beta);
    LOSS_LAUNCH(k_qfl_back, n, dx, dout, x, y, (int64_t)n, beta, k, pow_kind1(k), acc);
}

/* ---- cross-entropy: a warp per row ---------------------------------------------- */

__global__ void k_ce(float *out, float *lsm, const float *x, const int32_t *target, int64_t N, int K)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t r = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); r < N; r += warps) {
        const float *xr = x + r * K;
        float *l = lsm + r * K;
        float mx = -INFINITY;
        for (int k = lane; k < K; k += 32)
            mx = fmaxf(mx, xr[k]);
        mx = tcu_warp_max(mx);
        float s = 0.0f;
        for (int k = lane; k < K; k += 32)
            s += expf(xr[k] - mx);
        s = tcu_warp_sum(s);
        float ls = mx + logf(s);
        for (int k = lane; k < K; k += 32)
            l[k] = xr[k] - ls;
        __syncwarp();
        if (lane == 0)
            out[r] = target[r] >= 0 ? -l[target[r]] : 0.0f;
    }
}

void tcu_ce_forward(float *out, float *lsm, const float *x, const int32_t *target, int64_t N, int K)
{
    TCU_LAUNCH(k_ce, tcu_blocks(N * 32, TCU_THREADS), TCU_THREADS, 0, out, lsm, x, target, N, K);
}

__global__ void k_ce_back(float *d, const float *g, const float *lsm, const int32_t *target, int64_t N, int K, int acc)
{
    TCU_FOR(e, N * K) {
        int64_t r = e / K;
        int k = (int)(e - r * K), t = target[r];
        float gr = t >= 0 ? g[r] : 0.0f;
        float v = gr * expf(lsm[e]);
        v = acc ? d[e] + v : v;
        d[e] = k == t ? v - gr : v;
    }
}

void tcu_ce_backward(float *dx, const float *dout, const float *lsm, const int32_t *target, int64_t N, int K, int acc)
{
    LOSS_LAUNCH(k_ce_back, N * K, dx, dout, lsm, target, N, K, acc);
}

/* ---- positive-negative learning on a softmax: a thread per row ------------------------
 * (rows are snippets, K a class count: the row statistics are a few loops
 * over K in registers, formulas.h) */

__global__ void k_pn(float *out, const float *x, const float *wpos, const float *wneg, int64_t N, int K)
{
    TCU_FOR(i, N) {
        const float *z = x + i * K, *wp = wpos ? wpos + i * K : NULL, *wn = wneg ? wneg + i * K : NULL;
        tal_pn_row s;
        tal_pn_row_stats(z, wp, wn, K, &s);
        out[i] = tal_pn_row_loss(z, wp, wn, K, &s);
    }
}

__global__ void k_pn_back(float *dx, const float *dout, const float *x, const float *wpos, const float *wneg,
                          int64_t N, int K, int acc)
{
    TCU_FOR(i, N) {
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

void tcu_pn_forward(float *out, const float *x, const float *wpos, const float *wneg, int64_t N, int K)
{
    LOSS_LAUNCH(k_pn, N, out, x, wpos, wneg, N, K);
}

void tcu_pn_backward(float *dx, const float *dout, const float *x, const float *wpos, const float *wneg, int64_t N,
                     int K, int acc)
{
    LOSS_LAUNCH(k_pn_back, N, dx, dout, x, wpos, wneg, N, K, acc);
}

/* ---- 1-D DIoU of (left, right) offsets ------------------------------------------------- */

__global__ void k_diou(float *out, const float *pred, const float *target, int64_t N, float eps)
{
    TCU_FOR(i, N) {
        out[i] = tal_diou_loss(pred[2 * i], pred[2 * i + 1], target[2 * i], target[2 * i + 1], eps);
    }
}

__global__ void k_diou_back(float *dpred, const float *dout, const float *pred, const float *target, int64_t N,
                            float eps, int acc)
{
    TCU_FOR(i, N) {
        float vl, vr;
        tal_diou_grad(pred[2 * i], pred[2 * i + 1], target[2 * i], target[2 * i + 1], eps, dout[i], &vl, &vr);
        dpred[2 * i] = acc ? dpred[2 * i] + vl : vl;
        dpred[2 * i + 1] = acc ? dpred[2 * i + 1] + vr : vr;
    }
}

void tcu_diou_forward(float *out, const float *pred, const float *target, int64_t N, float eps)
{
    LOSS_LAUNCH(k_diou, N, out, pred, target, N, eps);
}

void tcu_diou_backward(float *dpred, const float *dout, const float *pred, const float *target, int64_t N, float eps,
                       int acc)
{
    LOSS_LAUNCH(k_diou_back, N, dpred, dout, pred, target, N, eps, acc);
}

/* ---- focal BCE on probabilities: formulas.h tal_bce_prob -------------------------------- */

__global__ void k_bcep(float *o, const float *p, const float *y, int64_t n, float gamma, int gk, int quality)
{
    TCU_FOR(i, n) o[i] = tal_bce_prob(p[i], y[i], gamma, gk, quality);
}

__global__ void k_bcep_back(float *d, const float *g, const float *p, const float *y, int64_t n, float gamma, int gk,
                            int gk1, int quality, int acc)
{
    TCU_FOR(i, n) {
        float v = tal_bce_prob_grad(g[i], p[i], y[i], gamma, gk, gk1, quality);
        d[i] = acc ? d[i] + v : v;
    }
}

void tcu_bcep_forward(float *out, const float *p, const float *y, size_t n, float gamma, int quality)
{
    LOSS_LAUNCH(k_bcep, n, out, p, y, (int64_t)n, gamma, tal_pow_kind(gamma), quality);
}

void tcu_bcep_backward(float *dp, const float *dout, const float *p, const float *y, size_t n, float gamma, int quality,
                       int acc)
{
    int k = tal_pow_kind(gamma);
    LOSS_LAUNCH(k_bcep_back, n, dp, dout, p, y, (int64_t)n, gamma, k, pow_kind1(k), quality, acc);
}
