/* cpu_attn.c — multi-head attention over channel-first (B, H*D, T)
 * tensors: banded local attention (query t sees keys t-w..t+w) computed
 * directly on the band, and global attention through sgemm.
 *
 * Local masking (ActionFormer's LocalMaskedMHCA): keys outside the sequence
 * are excluded (-inf), keys whose mask is 0 get -1e4 added to their score,
 * and the probabilities of a query whose mask is 0 are set to 0 after the
 * softmax.  Global masking (MaskedMHCA): masked keys are excluded; a row
 * with no key left is 0.
 *
 * The band is processed in blocks of AT_TB queries: scores (2w+1, AT_TB)
 * live on the stack and every loop runs along contiguous time. */
#include "cpu.h"

#include <math.h>
#include <string.h>

#define AT_TB 64

size_t tal_attn_ws(int fwd, int B, int H, int D, int T, int w)
{
    (void)D;
    if (w >= 0)
        return fwd ? 0 : (size_t)B * H * (2 * w + 1) * T;
    return fwd ? 0 : (size_t)T * T;
}

/* query rows [lo, hi) of the block whose key t0+tt+j-w lies inside [0, T) */
static inline void band_range(int t0, int n, int j, int w, int T, int *lo, int *hi)
{
    int a = w - j - t0, b = T - t0 - j + w;
    *lo = a > 0 ? a : 0;
    *hi = b < n ? b : n;
}

/* S[j][tt] = sum_d A[d][t0+tt] * Bm[d][t0+tt+j-w] (in-range keys only) */
TAL_KERNEL static void band_scores(float *restrict S, const float *restrict A, const float *restrict Bm, int D, int T,
                                   int w, int t0, int n)
{
    int W = 2 * w + 1;
    memset(S, 0, sizeof(float) * (size_t)W * AT_TB);
    for (int d = 0; d < D; d++) {
        const float *a = A + (size_t)d * T + t0;
        const float *brow = Bm + (size_t)d * T;
        for (int j = 0; j < W; j++) {
            int lo, hi;
            band_range(t0, n, j, w, T, &lo, &hi);
            float *s = S + j * AT_TB;
            ptrdiff_t o = (ptrdiff_t)t0 + j - w;
            for (int tt = lo; tt < hi; tt++)
                s[tt] += a[tt] * brow[o + tt];
        }
    }
}

/* O[d][t0+tt] (+)= alpha * sum_j P[j][tt] * Bm[d][t0+tt+j-w] */
TAL_KERNEL static void band_apply(float *restrict O, const float *restrict P, const float *restrict Bm, int D, int T,
                                  int w, int t0, int n, float alpha, int acc)
{
    int W = 2 * w + 1;
    float accv[AT_TB];
    for (int d = 0; d < D; d++) {
        const float *brow = Bm + (size_t)d * T;
        for (int tt = 0; tt < n; tt++)
            accv[tt] = 0.0f;
        for (int j = 0; j < W; j++) {
            int lo, hi;
            band_range(t0, n, j, w, T, &lo, &hi);
            const float *p = P + j * AT_TB;
            ptrdiff_t o = (ptrdiff_t)t0 + j - w;
            for (int tt = lo; tt < hi; tt++)
                accv[tt] += p[tt] * brow[o + tt];
        }
        float *o = O + (size_t)d * T + t0;
        if (acc)
            for (int tt = 0; tt < n; tt++) o[tt] += alpha * accv[tt];
        else
            for (int tt = 0; tt < n; tt++) o[tt] = alpha * accv[tt];
    }
}

/* masked softmax over j of the block's scores, in place (S becomes P) */
TAL_KERNEL static void band_softmax(float *restrict S, const float *restrict mask, int T, int w, int t0, int n,
                                    float scale)
{
    int W = 2 * w + 1;
    float mx[AT_TB], sum[AT_TB];
    for (int tt = 0; tt < n; tt++) {
        mx[tt] = -INFINITY;
        sum[tt] = 0.0f;
    }
    for (int j = 0; j < W; j++) {
        int lo, hi;
        band_range(t0, n, j, w, T, &lo, &hi);
        float *s = S + j * AT_TB;
        for (int tt = 0; tt < n; tt++) {
            int in = tt >= lo && tt < hi;
            float v = s[tt] * scale;
            if (mask && in)
                v += mask[t0 + tt + j - w] != 0.0f ? 0.0f : -1e4f;
            v = in ? v : -INFINITY;
            s[tt] = v;
            mx[tt] = v > mx[tt] ? v : mx[tt];
        }
    }
    for (int j = 0; j < W; j++) {
        float *s = S + j * AT_TB;
        for (int tt = 0; tt < n; tt++) {
            float e = s[tt] == -INFINITY ? 0.0f : tal_expf(s[tt] - mx[tt]);
            s[tt] = e;
            sum[tt] += e;
        }
    }
    for (int tt = 0; tt < n; tt++) {
        float r = sum[tt] > 0.0f ? 1.0f / sum[tt] : 0.0f;
        if (mask && mask[t0 + tt] == 0.0f)
            r = 0.0f;   /* invalid query: its row is zeroed */
        sum[tt] = r;
    }
    for (int j = 0; j < W; j++) {
        float *s = S + j * AT_TB;
        for (int tt = 0; tt < n; tt++)
            s[tt] *= sum[tt];
    }
}

static void local_forward(float *out, float *prob, const float *q, const float *k, const float *v, const float *mask,
                          int B, int H, int D, int T, int w, float scale)
{
    int W = 2 * w + 1, nb = (T + AT_TB - 1) / AT_TB;
    size_t C = (size_t)H * D;
#pragma omp parallel for schedule(static) collapse(3) if ((size_t)B * H * D * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int blk = 0; blk < nb; blk++) {
                float S[W * AT_TB];
                int t0 = blk * AT_TB, n = T - t0 < AT_TB ? T - t0 : AT_TB;
                size_t off = (b * C + (size_t)h * D) * T;
                const float *m = mask ? mask + (size_t)b * T : NULL;
                band_scores(S, q + off, k + off, D, T, w, t0, n);
                band_softmax(S, m, T, w, t0, n, scale);
                float *pr = prob + ((size_t)b * H + h) * W * T;
                for (int j = 0; j < W; j++)
                    memcpy(pr + (size_t)j * T + t0, S + j * AT_TB, sizeof(float) * n);
                band_apply(out + off, S, v + off, D, T, w, t0, n, 1.0f, 0);
            }
}

/* dS = P * (dP - sum_j P*dP), in place over dP */
TAL_KERNEL static void band_softmax_back(float *restrict dP, const float *restrict P, int W, int n)
{
    float s[AT_TB];
    for (int tt = 0; tt < n; tt++)
        s[tt] = 0.0f;
    for (int j = 0; j < W; j++)
        for (int tt = 0; tt < n; tt++)
            s[tt] += P[j * AT_TB + tt] * dP[j * AT_TB + tt];
    for (int j = 0; j < W; j++)
        for (int tt = 0; tt < n; tt++)
            dP[j * AT_TB + tt] = P[j * AT_TB + tt] * (dP[j * AT_TB + tt] - s[tt]);
}

/* key block [s0, s0+n): G[d][s] (+)= alpha * sum_j R[j][s-j+w] * A[d][s-j+w]
 * (R is (W,T), rows for queries inside [0, T) only) */
TAL_KERNEL static void band_gather(float *restrict G, const float *restrict R, const float *restrict A, int D, int T,
                                   int w, int s0, int n, float alpha, int acc)
{
    int W = 2 * w + 1;
    float accv[AT_TB];
    for (int d = 0; d < D; d++) {
        const float *arow = A + (size_t)d * T;
        for (int ss = 0; ss < n; ss++)
            accv[ss] = 0.0f;
        for (int j = 0; j < W; j++) {
            /* query t = s - j + w must lie in [0, T) */
            int lo = j - w - s0, hi = T + j - w - s0;
            lo = lo > 0 ? lo : 0;
            hi = hi < n ? hi : n;
            const float *r = R + (size_t)j * T;
            ptrdiff_t o = (ptrdiff_t)s0 - j + w;
            for (int ss = lo; ss < hi; ss++)
                accv[ss] += r[o + ss] * arow[o + ss];
        }
        float *g = G + (size_t)d * T + s0;
        if (acc)
            for (int ss = 0; ss < n; ss++) g[ss] += alpha * accv[ss];
        else
            for (int ss = 0; ss < n; ss++) g[ss] = alpha * accv[ss];
    }
}

static void local_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, const float *prob, int B, int H, int D, int T, int w, float scale,
                           int acc_q, int acc_k, int acc_v, float *ws)
{
    int W = 2 * w + 1, nb = (T + AT_TB - 1) / AT_TB;
    size_t C = (size_t)H * D;
    /* phase 1, per query block: dS into ws (B,H,W,T), and dQ */
#pragma omp parallel for schedule(static) collapse(3) if ((size_t)B * H * D * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int blk = 0; blk < nb; blk++) {
                float dS[W * AT_TB], P[W * AT_TB];
                int t0 = blk * AT_TB, n = T - t0 < AT_TB ? T - t0 : AT_TB;
                size_t off = (b * C + (size_t)h * D) * T;
                const float *pr = prob + ((size_t)b * H + h) * W * T;
                float *wr = ws + ((size_t)b * H + h) * W * T;
                for (int j = 0; j < W; j++)
                    memcpy(P + j * AT_TB, pr + (size_t)j * T + t0, sizeof(float) * n);
                band_scores(dS, dout + off, v + off, D, T, w, t0, n);
                band_softmax_back(dS, P, W, n);
                for (int j = 0; j < W; j++)
                    memcpy(wr + (size_t)j * T + t0, dS + j * AT_TB, sizeof(float) * n);
                if (dq)
                    band_apply(dq + off, dS, k + off, D, T, w, t0, n, scale, acc_q);
            }
    if (!dk && !dv)
        return;
    /* phase 2, per key block: dK and dV gathered from the queries that see it */
#pragma omp parallel for schedule(static) collapse(3) if ((size_t)B * H * D * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int blk = 0; blk < nb; blk++) {
                int s0 = blk * AT_TB, n = T - s0 < AT_TB ? T - s0 : AT_TB;
                size_t off = (b * C + (size_t)h * D) * T;
                size_t poff = ((size_t)b * H + h) * W * T;
                if (dk)
                    band_gather(dk + off, ws + poff, q + off, D, T, w, s0, n, scale, acc_k);
                if (dv)
                    band_gather(dv + off, prob + poff, dout + off, D, T, w, s0, n, 1.0f, acc_v);
            }
}

/* ---- global ------------------------------------------------------------ */

TAL_KERNEL static void global_softmax_row(float *restrict s, const float *restrict m, int T)
{
    float mx = -INFINITY;
    for (int j = 0; j < T; j++) {
        float v = (!m || m[j] != 0.0f) ? s[j] : -INFINITY;
        s[j] = v;
        mx = v > mx ? v : mx;
    }
    if (mx == -INFINITY) {
        memset(s, 0, sizeof(float) * (size_t)T);
        return;
    }
    float sum = 0.0f;
    for (int j = 0; j < T; j++) {
        float e = s[j] == -INFINITY ? 0.0f : tal_expf(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    float r = 1.0f / sum;
    for (int j = 0; j < T; j++)
        s[j] *= r;
}

TAL_KERNEL static void global_softmax_back_row(float *restrict d, const float *restrict p, int T)
{
    float s = 0.0f;
    for (int j = 0; j < T; j++)
        s += p[j] * d[j];
    for (int j = 0; j < T; j++)
        d[j] = p[j] * (d[j] - s);
}

/* one past the last unmasked key: keys after it have probability 0, so
 * every product below stops there */
static int keys_end(const float *m, int T)
{
    if (!m)
        return T;
    while (T > 0 && m[T - 1] == 0.0f)
        T--;
    return T;
}

/* g[d][s] = 0 for s in [lo, T) (the gradient of keys nobody attends to) */
static void zero_tail(float *g, int D, int T, int lo, int acc)
{
    if (acc || lo >= T)
        return;
    for (int d = 0; d < D; d++)
        memset(g + (size_t)d * T + lo, 0, sizeof(float) * (size_t)(T - lo));
}

static void global_forward(float *out, float *prob, const float *q, const float *k, const float *v,
                           const float *mask, int B, int H, int D, int T, float scale)
{
    size_t C = (size_t)H * D;
    for (int b = 0; b < B; b++) {
        const float *m = mask ? mask + (size_t)b * T : NULL;
        int S = keys_end(m, T);
        for (int h = 0; h < H; h++) {
            size_t off = (b * C + (size_t)h * D) * T;
            float *P = prob + ((size_t)b * H + h) * T * T;   /* rows of T, the first S used */
            if (S == 0) {   /* no key at all: every row is 0 */
                memset(out + off, 0, sizeof(float) * (size_t)D * T);
                continue;
            }
            /* S[t][s] = scale * sum_d q[d][t] k[d][s] */
            tal_cpu_sgemm(1, 0, T, S, D, scale, q + off, T, k + off, T, 0.0f, P, T);
#pragma omp parallel for schedule(static) if ((size_t)T * S > TAL_CPU_CHUNK)
            for (int t = 0; t < T; t++)
                global_softmax_row(P + (size_t)t * T, m, S);
            /* out[d][t] = sum_s v[d][s] P[t][s] */
            tal_cpu_sgemm(0, 1, D, T, S, 1.0f, v + off, T, P, T, 0.0f, out + off, T);
        }
    }
}

static void global_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                            const float *v, const float *prob, const float *mask, int B, int H, int D, int T,
                            float scale, int acc_q, int acc_k, int acc_v, float *ws)
{
    size_t C = (size_t)H * D;
    for (int b = 0; b < B; b++) {
        int S = keys_end(mask ? mask + (size_t)b * T : NULL, T);
        for (int h = 0; h < H; h++) {
            size_t off = (b * C + (size_t)h * D) * T;
            const float *P = prob + ((size_t)b * H + h) * T * T;
            if (S == 0) {
                zero_tail(dq ? dq + off : NULL, dq ? D : 0, T, 0, acc_q);
                zero_tail(dk ? dk + off : NULL, dk ? D : 0, T, 0, acc_k);
                zero_tail(dv ? dv + off : NULL, dv ? D : 0, T, 0, acc_v);
                continue;
            }
            /* dV[d][s] = sum_t dO[d][t] P[t][s] */
            if (dv) {
                tal_cpu_sgemm(0, 0, D, S, T, 1.0f, dout + off, T, P, T, acc_v ? 1.0f : 0.0f, dv + off, T);
                zero_tail(dv + off, D, T, S, acc_v);
            }
            if (!dq && !dk)
                continue;
            /* dP[t][s] = sum_d dO[d][t] v[d][s] */
            tal_cpu_sgemm(1, 0, T, S, D, 1.0f, dout + off, T, v + off, T, 0.0f, ws, T);
#pragma omp parallel for schedule(static) if ((size_t)T * S > TAL_CPU_CHUNK)
            for (int t = 0; t < T; t++)
                global_softmax_back_row(ws + (size_t)t * T, P + (size_t)t * T, S);
            /* dQ[d][t] = scale sum_s k[d][s] dS[t][s]; dK[d][s] = scale sum_t q[d][t] dS[t][s] */
            if (dq)
                tal_cpu_sgemm(0, 1, D, T, S, scale, k + off, T, ws, T, acc_q ? 1.0f : 0.0f, dq + off, T);
            if (dk) {
                tal_cpu_sgemm(0, 0, D, S, T, scale, q + off, T, ws, T, acc_k ? 1.0f : 0.0f, dk + off, T);
                zero_tail(dk + off, D, T, S, acc_k);
            }
        }
    }
}

void tal_cpu_attn_forward(float *out, float *prob, const float *q, const float *k, const float *v, const float *mask,
                          int B, int H, int D, int T, int w, float scale, float *ws)
{
    (void)ws;
    if (w >= 0)
        local_forward(out, prob, q, k, v, mask, B, H, D, T, w, scale);
    else
        global_forward(out, prob, q, k, v, mask, B, H, D, T, scale);
}

void tal_cpu_attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, const float *prob, const float *mask, int B, int H, int D, int T, int w, float scale,
                           int acc_q, int acc_k, int acc_v, float *ws)
{
    if (w >= 0)
        local_backward(dq, dk, dv, dout, q, k, v, prob, B, H, D, T, w, scale, acc_q, acc_k, acc_v, ws);
    else
        global_backward(dq, dk, dv, dout, q, k, v, prob, mask, B, H, D, T, scale, acc_q, acc_k, acc_v, ws);
}
