/* cpu_pool.c — max-pooling, top-k mean, gather, reductions and
 * resampling along the last dimension. */
#include "cpu.h"

#include <math.h>
#include <string.h>

/* ---- max-pool 1-D ------------------------------------------------------- */

TAL_KERNEL static void maxpool_row(float *restrict o, int32_t *restrict ix, const float *restrict x, int T, int Tout,
                                   int K, int S, int P)
{
    for (int t = 0; t < Tout; t++) {
        int lo = t * S - P, hi = lo + K;
        if (lo < 0)
            lo = 0;
        if (hi > T)
            hi = T;
        float best = -INFINITY;
        int bi = lo < T ? lo : T - 1;
        for (int i = lo; i < hi; i++)
            if (x[i] > best || (i == lo && x[i] == -INFINITY)) {
                best = x[i];
                bi = i;
            }
        o[t] = best;
        ix[t] = bi;
    }
}

void tal_cpu_maxpool1d_forward(float *out, int32_t *idx, const float *inp, int64_t R, int T, int Tout, int K, int S,
                               int P)
{
#pragma omp parallel for schedule(static) if (R * T > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < R; r++)
        maxpool_row(out + r * Tout, idx + r * Tout, inp + r * T, T, Tout, K, S, P);
}

void tal_cpu_maxpool1d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t R, int T, int Tout,
                                int acc)
{
#pragma omp parallel for schedule(static) if (R * T > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < R; r++) {
        float *d = dinp + r * T;
        const float *g = dout + r * Tout;
        const int32_t *ix = idx + r * Tout;
        if (!acc)
            memset(d, 0, (size_t)T * sizeof *d);
        for (int t = 0; t < Tout; t++)
            d[ix[t]] += g[t];
    }
}

/* ---- top-k mean ---------------------------------------------------------
 * Quickselect on positions, ordered by value (descending), ties by position
 * (ascending), so the chosen set is unique. */

static int before(const float *x, int32_t a, int32_t b)
{
    return x[a] > x[b] || (x[a] == x[b] && a < b);
}

/* rearrange p[0..n) so that its first k entries are the k first in order */
static void select_k(int32_t *p, int n, int k, const float *x)
{
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        /* median of three as pivot, moved to hi */
        if (before(x, p[mid], p[lo])) { int32_t t = p[mid]; p[mid] = p[lo]; p[lo] = t; }
        if (before(x, p[hi], p[lo])) { int32_t t = p[hi]; p[hi] = p[lo]; p[lo] = t; }
        if (before(x, p[mid], p[hi])) { int32_t t = p[mid]; p[mid] = p[hi]; p[hi] = t; }
        int32_t piv = p[hi];
        int s = lo;
        for (int i = lo; i < hi; i++)
            if (before(x, p[i], piv)) {
                int32_t t = p[i]; p[i] = p[s]; p[s] = t;
                s++;
            }
        p[hi] = p[s];
        p[s] = piv;
        if (s == k - 1 || s == k)
            return;
        if (s > k)
            hi = s - 1;
        else
            lo = s + 1;
    }
}

void tal_cpu_topk_mean_forward(float *out, int32_t *idx, int32_t *kb, const float *inp, const float *mask, int B,
                               int C, int T, int k, int32_t *ws)
{
    for (int b = 0; b < B; b++) {
        int n = 0;
        for (int t = 0; t < T; t++)
            n += !mask || mask[(size_t)b * T + t] != 0.0f;
        kb[b] = n < k ? n : k;
    }
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t row = (size_t)b * C + c;
            const float *x = inp + row * T;
            int32_t *p = ws + row * T, *ix = idx + row * k;
            int n = 0;
            for (int t = 0; t < T; t++)
                if (!mask || mask[(size_t)b * T + t] != 0.0f)
                    p[n++] = t;
            int kk = kb[b];
            if (kk > 0 && kk < n)
                select_k(p, n, kk, x);
            double s = 0;
            for (int j = 0; j < kk; j++) {
                ix[j] = p[j];
                s += x[p[j]];
            }
            for (int j = kk; j < k; j++)
                ix[j] = -1;
            out[row] = kk > 0 ? (float)(s / kk) : 0.0f;
        }
}

void tal_cpu_topk_mean_backward(float *dinp, const float *dout, const int32_t *idx, const int32_t *kb, int B, int C,
                                int T, int k, int acc)
{
#pragma omp parallel for schedule(static) collapse(2) if ((size_t)B * C * T > TAL_CPU_CHUNK)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t row = (size_t)b * C + c;
            float *d = dinp + row * T;
            if (!acc)
                memset(d, 0, (size_t)T * sizeof *d);
            int kk = kb[b];
            if (kk <= 0)
                continue;
            float g = dout[row] / (float)kk;
            for (int j = 0; j < kk; j++)
                d[idx[row * k + j]] += g;
        }
}

/* ---- gather (index_select) ----------------------------------------------- */

void tal_cpu_gather_forward(float *out, const float *inp, const int32_t *index, int64_t O, int64_t D, int64_t I,
                            int64_t n)
{
#pragma omp parallel for schedule(static) collapse(2) if (O * n * I > TAL_CPU_CHUNK)
    for (int64_t o = 0; o < O; o++)
        for (int64_t j = 0; j < n; j++)
            memcpy(out + (o * n + j) * I, inp + (o * D + index[j]) * I, (size_t)I * sizeof *out);
}

void tal_cpu_gather_backward(float *dinp, const float *dout, const int32_t *index, int64_t O, int64_t D, int64_t I,
                             int64_t n, int acc)
{
    if (!acc)
        tal_cpu_zero(dinp, (size_t)(O * D * I));
    /* parallel over (o, column blocks); the rows j are added in order, so
     * repeated indices accumulate deterministically */
    int64_t cb = 256, nb = (I + cb - 1) / cb;
#pragma omp parallel for schedule(static) collapse(2) if (O * n * I > TAL_CPU_CHUNK)
    for (int64_t o = 0; o < O; o++)
        for (int64_t b = 0; b < nb; b++) {
            int64_t lo = b * cb, hi = lo + cb < I ? lo + cb : I;
            for (int64_t j = 0; j < n; j++) {
                float *d = dinp + (o * D + index[j]) * I;
                const float *g = dout + (o * n + j) * I;
                for (int64_t i = lo; i < hi; i++)
                    d[i] += g[i];
            }
        }
}

/* ---- reductions over the middle dimension of (O,D,I) ---------------------- */

TAL_KERNEL static void red_cols(float *restrict o, int32_t *restrict ix, const float *restrict x, int64_t D,
                                int64_t I, int64_t n, int op)
{
    if (op == TAL_RED_MAX) {
        for (int64_t i = 0; i < n; i++) {
            o[i] = x[i];
            ix[i] = 0;
        }
        for (int64_t d = 1; d < D; d++) {
            const float *xr = x + d * I;
            for (int64_t i = 0; i < n; i++)
                if (xr[i] > o[i]) {
                    o[i] = xr[i];
                    ix[i] = (int32_t)d;
                }
        }
        return;
    }
    for (int64_t i = 0; i < n; i++)
        o[i] = 0.0f;
    for (int64_t d = 0; d < D; d++) {
        const float *xr = x + d * I;
        for (int64_t i = 0; i < n; i++)
            o[i] += xr[i];
    }
    if (op == TAL_RED_MEAN)
        for (int64_t i = 0; i < n; i++)
            o[i] *= 1.0f / (float)D;
}

/* contiguous x[0..n): sum (double) or max with its first index */
TAL_KERNEL static double red_span(const float *restrict x, int64_t n, int op, int32_t *arg)
{
    if (op == TAL_RED_MAX) {
        float m = x[0];
        int64_t a = 0;
        for (int64_t i = 1; i < n; i++)
            if (x[i] > m) {
                m = x[i];
                a = i;
            }
        *arg = (int32_t)a;
        return m;
    }
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

void tal_cpu_reduce_forward(float *out, int32_t *idx, const float *inp, int64_t O, int64_t D, int64_t I, int op)
{
    if (I > 1) {
        int64_t cb = 256, nb = (I + cb - 1) / cb;
#pragma omp parallel for schedule(static) collapse(2) if (O * D * I > TAL_CPU_CHUNK)
        for (int64_t o = 0; o < O; o++)
            for (int64_t b = 0; b < nb; b++) {
                int64_t lo = b * cb, n = I - lo < cb ? I - lo : cb;
                red_cols(out + o * I + lo, idx ? idx + o * I + lo : NULL, inp + o * D * I + lo, D, I, n, op);
            }
        return;
    }
    if (O >= 64 || D <= TAL_CPU_CHUNK) {
#pragma omp parallel for schedule(static) if (O * D > TAL_CPU_CHUNK)
        for (int64_t o = 0; o < O; o++) {
            int32_t a = 0;
            double r = red_span(inp + o * D, D, op, &a);
            out[o] = op == TAL_RED_MEAN ? (float)(r / D) : (float)r;
            if (op == TAL_RED_MAX)
                idx[o] = a;
        }
        return;
    }
    /* few long rows: fixed blocks, combined in order */
    enum { NP = 64 };
    for (int64_t o = 0; o < O; o++) {
        const float *x = inp + o * D;
        double part[NP];
        int32_t arg[NP];
#pragma omp parallel for schedule(static)
        for (int p = 0; p < NP; p++) {
            int64_t lo = D * p / NP, hi = D * (p + 1) / NP;
            part[p] = red_span(x + lo, hi - lo, op, &arg[p]);
            arg[p] += (int32_t)lo;
        }
        double r = part[0];
        int32_t a = arg[0];
        for (int p = 1; p < NP; p++) {
            if (op == TAL_RED_MAX) {
                if (part[p] > r) {
                    r = part[p];
                    a = arg[p];
                }
            } else {
                r += part[p];
            }
        }
        out[o] = op == TAL_RED_MEAN ? (float)(r / D) : (float)r;
        if (op == TAL_RED_MAX)
            idx[o] = a;
    }
}

TAL_KERNEL static void red_back_cols(float *restrict d, const float *restrict g, const int32_t *restrict ix,
                                     int64_t D, int64_t I, int64_t n, int op, int acc)
{
    float sc = op == TAL_RED_MEAN ? 1.0f / (float)D : 1.0f;
    for (int64_t dd = 0; dd < D; dd++) {
        float *dr = d + dd * I;
        for (int64_t i = 0; i < n; i++) {
            float v = op == TAL_RED_MAX ? (ix[i] == dd ? g[i] : 0.0f) : g[i] * sc;
            dr[i] = acc ? dr[i] + v : v;
        }
    }
}

void tal_cpu_reduce_backward(float *dinp, const float *dout, const int32_t *idx, int64_t O, int64_t D, int64_t I,
                             int op, int acc)
{
    if (I > 1) {
        int64_t cb = 256, nb = (I + cb - 1) / cb;
#pragma omp parallel for schedule(static) collapse(2) if (O * D * I > TAL_CPU_CHUNK)
        for (int64_t o = 0; o < O; o++)
            for (int64_t b = 0; b < nb; b++) {
                int64_t lo = b * cb, n = I - lo < cb ? I - lo : cb;
                red_back_cols(dinp + o * D * I + lo, dout + o * I + lo, idx ? idx + o * I + lo : NULL, D, I, n, op,
                              acc);
            }
        return;
    }
    /* I == 1: rows of D, split into chunks */
    int64_t nb = (D + TAL_CPU_CHUNK - 1) / TAL_CPU_CHUNK;
#pragma omp parallel for schedule(static) collapse(2) if (O * D > TAL_CPU_CHUNK)
    for (int64_t o = 0; o < O; o++)
        for (int64_t b = 0; b < nb; b++) {
            int64_t lo = b * TAL_CPU_CHUNK, hi = lo + TAL_CPU_CHUNK < D ? lo + TAL_CPU_CHUNK : D;
            float *d = dinp + o * D;
            float v = op == TAL_RED_MEAN ? dout[o] / (float)D : dout[o];
            for (int64_t i = lo; i < hi; i++) {
                float r = op == TAL_RED_MAX ? (idx[o] == i ? v : 0.0f) : v;
                d[i] = acc ? d[i] + r : r;
            }
        }
}

/* ---- resampling ------------------------------------------------------------
 * PyTorch's interpolate(align_corners=False) index arithmetic, in float as
 * PyTorch computes it for float tensors, so that the indices agree. */

static void linear_coef(int Tin, int Tout, int t, int *i0, int *i1, float *l0, float *l1)
{
    float scale = (float)Tin / (float)Tout;
    float src = scale * ((float)t + 0.5f) - 0.5f;
    if (src < 0)
        src = 0;
    int a = (int)src;
    int off = a < Tin - 1 ? 1 : 0;
    float lam = src - (float)a;
    lam = lam < 0 ? 0 : lam > 1 ? 1 : lam;
    *i0 = a;
    *i1 = a + off;
    *l1 = lam;
    *l0 = 1.0f - lam;
}

static int nearest_src(int Tin, int Tout, int t)
{
    if (Tin == Tout)
        return t;
    if (Tout == 2 * Tin)
        return t >> 1;
    float scale = (float)Tin / (float)Tout;
    int s = (int)floorf((float)t * scale);
    return s < Tin - 1 ? s : Tin - 1;
}

/* Output columns are handled in blocks of RB whose source indices and
 * weights are computed once, then applied to a group of rows. */
#define RB 512
#define RG 32

static void resample_coefs(int Tin, int Tout, int t0, int n, int mode, int *i0, int *i1, float *l0, float *l1)
{
    for (int j = 0; j < n; j++) {
        if (mode == TAL_RESAMPLE_NEAREST) {
            i0[j] = i1[j] = nearest_src(Tin, Tout, t0 + j);
            l0[j] = 1.0f;
            l1[j] = 0.0f;
        } else {
            linear_coef(Tin, Tout, t0 + j, &i0[j], &i1[j], &l0[j], &l1[j]);
        }
    }
}

TAL_KERNEL static void resample_rows(float *restrict out, const float *restrict inp, int64_t rows, int Tin, int Tout,
                                     int n, const int *i0, const int *i1, const float *l0, const float *l1)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *x = inp + r * Tin;
        float *o = out + r * Tout;
        for (int j = 0; j < n; j++)
            o[j] = l0[j] * x[i0[j]] + l1[j] * x[i1[j]];
    }
}

void tal_cpu_resample_forward(float *out, const float *inp, int64_t R, int Tin, int Tout, int mode)
{
    int nb = (Tout + RB - 1) / RB;
    int64_t ng = (R + RG - 1) / RG;
#pragma omp parallel for schedule(static) collapse(2) if (R * Tout > TAL_CPU_CHUNK)
    for (int b = 0; b < nb; b++)
        for (int64_t gi = 0; gi < ng; gi++) {
            int i0[RB], i1[RB];
            float l0[RB], l1[RB];
            int t0 = b * RB, n = Tout - t0 < RB ? Tout - t0 : RB;
            int64_t r0 = gi * RG, rows = R - r0 < RG ? R - r0 : RG;
            resample_coefs(Tin, Tout, t0, n, mode, i0, i1, l0, l1);
            resample_rows(out + r0 * Tout + t0, inp + r0 * Tin, rows, Tin, Tout, n, i0, i1, l0, l1);
        }
}

void tal_cpu_resample_backward(float *dinp, const float *dout, int64_t R, int Tin, int Tout, int mode, int acc)
{
    /* scatter-add, a row at a time in order, rows in parallel */
    int64_t ng = (R + RG - 1) / RG;
#pragma omp parallel for schedule(static) if (R * Tout > TAL_CPU_CHUNK)
    for (int64_t gi = 0; gi < ng; gi++) {
        int i0[RB], i1[RB];
        float l0[RB], l1[RB];
        int64_t r0 = gi * RG, rows = R - r0 < RG ? R - r0 : RG;
        if (!acc)
            memset(dinp + r0 * Tin, 0, sizeof(float) * (size_t)(rows * Tin));
        for (int t0 = 0; t0 < Tout; t0 += RB) {
            int n = Tout - t0 < RB ? Tout - t0 : RB;
            resample_coefs(Tin, Tout, t0, n, mode, i0, i1, l0, l1);
            for (int64_t r = r0; r < r0 + rows; r++) {
                float *d = dinp + r * Tin;
                const float *g = dout + r * Tout + t0;
                for (int j = 0; j < n; j++) {
                    d[i0[j]] += l0[j] * g[j];
                    d[i1[j]] += l1[j] * g[j];
                }
            }
        }
    }
}
