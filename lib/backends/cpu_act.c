/* cpu_act.c — ReLU, GELU (erf form), sigmoid and the elementwise functions
 * of formulas.h (|x|, 1/x, 1/sqrt(x), softsign gate, straight-through
 * step); softmax and log-softmax along any dimension with an optional
 * broadcast mask. */
#include "cpu.h"
#include "formulas.h"

#include <math.h>

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

TAL_KERNEL static void act_fwd_range(float *restrict o, const float *restrict x, size_t n, int kind)
{
    switch (kind) {
    case TAL_ACT_RELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            o[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case TAL_ACT_GELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            o[i] = 0.5f * x[i] * (1.0f + tal_erff(x[i] * INV_SQRT2));
        break;
    case TAL_ACT_SIGMOID:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            o[i] = tal_sigmoidf(x[i]);
        break;
    default:
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            o[i] = tal_act_extra(x[i], kind);
        break;
    }
}

TAL_KERNEL static void act_bwd_range(float *restrict d, const float *restrict g, const float *restrict x,
                                     const float *restrict y, size_t n, int kind, int acc)
{
    switch (kind) {
    case TAL_ACT_RELU:
        if (acc)
    #pragma omp simd
        for (size_t i = 0; i < n; i++) d[i] += x[i] > 0.0f ? g[i] : 0.0f;
        else
    #pragma omp simd
        for (size_t i = 0; i < n; i++) d[i] = x[i] > 0.0f ? g[i] : 0.0f;
        break;
    case TAL_ACT_GELU:
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            float cdf = 0.5f * (1.0f + tal_erff(v * INV_SQRT2));
            float pdf = INV_SQRT_2PI * tal_expf(-0.5f * v * v);
            float r = g[i] * (cdf + v * pdf);
            d[i] = acc ? d[i] + r : r;
        }
        break;
    case TAL_ACT_SIGMOID:
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float r = g[i] * y[i] * (1.0f - y[i]);
            d[i] = acc ? d[i] + r : r;
        }
        break;
    default:
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            float r = tal_act_extra_grad(g[i], x[i], y[i], kind);
            d[i] = acc ? d[i] + r : r;
        }
        break;
    }
}

void tal_cpu_act_forward(float *out, const float *inp, size_t n, int kind)
{
    TAL_PAR_CHUNKS(n, lo, hi, act_fwd_range(out + lo, inp + lo, hi - lo, kind));
}

void tal_cpu_act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, int kind,
                          int acc)
{
    TAL_PAR_CHUNKS(n, lo, hi,
                   act_bwd_range(dinp + lo, dout + lo, inp ? inp + lo : NULL, out ? out + lo : NULL, hi - lo, kind,
                                 acc));
}

/* ---- softmax -------------------------------------------------------------
 * The tensor is seen as (O, L, I): L the softmax dimension, O the
 * dimensions before it, I those after.  Rows with I = 1 are contiguous; for
 * I > 1 a block of up to SB columns is processed together so that the loops
 * over L run along contiguous memory. */

#define SB 16

typedef struct {
    int64_t O, L, I;
    int64_t shape[4];
    int dim;
} sm_geom;

static sm_geom sm_layout(const int64_t shape[4], int dim)
{
    sm_geom g = { 1, shape[dim], 1, { shape[0], shape[1], shape[2], shape[3] }, dim };
    for (int d = 0; d < dim; d++)
        g.O *= shape[d];
    for (int d = dim + 1; d < 4; d++)
        g.I *= shape[d];
    return g;
}

/* mask offset of element (o, l=0, i) */
static int64_t sm_moff(const sm_geom *g, const int64_t mstride[4], int64_t o, int64_t i)
{
    int64_t off = 0;
    for (int d = 3; d > g->dim; d--) {
        off += (i % g->shape[d]) * mstride[d];
        i /= g->shape[d];
    }
    for (int d = g->dim - 1; d >= 0; d--) {
        off += (o % g->shape[d]) * mstride[d];
        o /= g->shape[d];
    }
    return off;
}

/* one strided row of length L (x stride I), mask stride ms */
TAL_KERNEL static void sm_row(float *restrict y, const float *restrict x, const float *restrict m, int64_t ms,
                              int64_t L, int64_t st, int log)
{
    float mx = -INFINITY;
    for (int64_t l = 0; l < L; l++)
        if (!m || m[l * ms] != 0.0f)
            mx = x[l * st] > mx ? x[l * st] : mx;
    if (mx == -INFINITY) {   /* every entry masked */
        for (int64_t l = 0; l < L; l++)
            y[l * st] = 0.0f;
        return;
    }
    float s = 0.0f;
    if (!m && st == 1) {
        for (int64_t l = 0; l < L; l++) {
            float e = tal_expf(x[l] - mx);
            y[l] = e;
            s += e;
        }
    } else {
        for (int64_t l = 0; l < L; l++) {
            float e = (!m || m[l * ms] != 0.0f) ? tal_expf(x[l * st] - mx) : 0.0f;
            y[l * st] = e;
            s += e;
        }
    }
    if (log) {
        float ls = mx + logf(s);
        for (int64_t l = 0; l < L; l++)
            y[l * st] = (!m || m[l * ms] != 0.0f) ? x[l * st] - ls : 0.0f;
    } else {
        float r = 1.0f / s;
        for (int64_t l = 0; l < L; l++)
            y[l * st] *= r;
    }
}

/* a block of nb <= SB contiguous columns (stride I between rows of L);
 * instantiated for each (masked, log) pair so that the loops are
 * straight-line code */
static inline __attribute__((always_inline)) void sm_cols_k(float *restrict y, const float *restrict x,
                                                            const float *m, const int64_t *moff, int64_t ms,
                                                            int64_t L, int64_t I, int nb, const int masked,
                                                            const int log)
{
    float mx[SB], s[SB];
    for (int j = 0; j < SB; j++) {
        mx[j] = -INFINITY;
        s[j] = 0.0f;
    }
    for (int64_t l = 0; l < L; l++) {
        const float *xr = x + l * I;
        for (int j = 0; j < nb; j++) {
            int ok = !masked || m[moff[j] + l * ms] != 0.0f;
            float v = ok ? xr[j] : -INFINITY;
            mx[j] = v > mx[j] ? v : mx[j];
        }
    }
    for (int64_t l = 0; l < L; l++) {
        const float *xr = x + l * I;
        float *yr = y + l * I;
        for (int j = 0; j < nb; j++) {
            int ok = (!masked || m[moff[j] + l * ms] != 0.0f) && mx[j] != -INFINITY;
            float e = tal_expf(xr[j] - (mx[j] == -INFINITY ? 0.0f : mx[j]));
            e = ok ? e : 0.0f;
            if (!log)
                yr[j] = e;
            s[j] += e;
        }
    }
    for (int j = 0; j < nb; j++)
        s[j] = s[j] > 0.0f ? (log ? mx[j] + logf(s[j]) : 1.0f / s[j]) : 0.0f;
    for (int64_t l = 0; l < L; l++) {
        const float *xr = x + l * I;
        float *yr = y + l * I;
        for (int j = 0; j < nb; j++) {
            if (log) {
                int ok = (!masked || m[moff[j] + l * ms] != 0.0f) && mx[j] != -INFINITY;
                yr[j] = ok ? xr[j] - s[j] : 0.0f;
            } else {
                yr[j] *= s[j];
            }
        }
    }
}

TAL_KERNEL static void sm_cols(float *restrict y, const float *restrict x, const float *m, const int64_t *moff,
                               int64_t ms, int64_t L, int64_t I, int nb, int log)
{
    if (m)
        log ? sm_cols_k(y, x, m, moff, ms, L, I, nb, 1, 1) : sm_cols_k(y, x, m, moff, ms, L, I, nb, 1, 0);
    else
        log ? sm_cols_k(y, x, m, moff, ms, L, I, nb, 0, 1) : sm_cols_k(y, x, m, moff, ms, L, I, nb, 0, 0);
}

void tal_cpu_softmax_forward(float *out, const float *inp, const float *mask, const int64_t shape[4],
                             const int64_t mstride[4], int dim, int log)
{
    sm_geom g = sm_layout(shape, dim);
    int64_t ms = mask ? mstride[dim] : 0;
    int64_t ib = (g.I + SB - 1) / SB;
    size_t n = (size_t)g.O * g.L * g.I;
#pragma omp parallel for schedule(static) collapse(2) if (n > TAL_CPU_CHUNK)
    for (int64_t o = 0; o < g.O; o++)
        for (int64_t b = 0; b < ib; b++) {
            size_t base = (size_t)o * g.L * g.I + b * SB;
            if (g.I == 1) {
                sm_row(out + base, inp + base, mask ? mask + sm_moff(&g, mstride, o, 0) : NULL, ms, g.L, 1, log);
            } else {
                int nb = g.I - b * SB < SB ? (int)(g.I - b * SB) : SB;
                int64_t moff[SB];
                for (int j = 0; j < nb; j++)
                    moff[j] = mask ? sm_moff(&g, mstride, o, b * SB + j) : 0;
                sm_cols(out + base, inp + base, mask, moff, ms, g.L, g.I, nb, log);
            }
        }
}

/* softmax: dx = y * (g - sum(g*y)); log-softmax: dx = g - exp(y) * sum(g),
 * sums over unmasked entries, masked entries get 0 */
TAL_KERNEL static void sm_bwd_row(float *restrict d, const float *restrict g, const float *restrict y,
                                  const float *restrict m, int64_t ms, int64_t L, int64_t st, int log, int acc)
{
    float s = 0.0f;
    for (int64_t l = 0; l < L; l++)
        if (!m || m[l * ms] != 0.0f)
            s += log ? g[l * st] : g[l * st] * y[l * st];
    for (int64_t l = 0; l < L; l++) {
        int ok = !m || m[l * ms] != 0.0f;
        float v = !ok ? 0.0f : log ? g[l * st] - tal_expf(y[l * st]) * s : y[l * st] * (g[l * st] - s);
        d[l * st] = acc ? d[l * st] + v : v;
    }
}

/* the same for a block of nb <= SB contiguous columns */
static inline __attribute__((always_inline)) void sm_bwd_cols_k(float *restrict d, const float *restrict g,
                                                                const float *restrict y, const float *m,
                                                                const int64_t *moff, int64_t ms, int64_t L,
                                                                int64_t I, int nb, const int masked, const int log,
                                                                const int acc)
{
    float s[SB];
    for (int j = 0; j < SB; j++)
        s[j] = 0.0f;
    for (int64_t l = 0; l < L; l++) {
        const float *gr = g + l * I, *yr = y + l * I;
        for (int j = 0; j < nb; j++) {
            float ok = (!masked || m[moff[j] + l * ms] != 0.0f) ? 1.0f : 0.0f;
            s[j] += ok * (log ? gr[j] : gr[j] * yr[j]);
        }
    }
    for (int64_t l = 0; l < L; l++) {
        const float *gr = g + l * I, *yr = y + l * I;
        float *dr = d + l * I;
        for (int j = 0; j < nb; j++) {
            int ok = !masked || m[moff[j] + l * ms] != 0.0f;
            float v = log ? gr[j] - tal_expf(yr[j]) * s[j] : yr[j] * (gr[j] - s[j]);
            v = ok ? v : 0.0f;
            dr[j] = acc ? dr[j] + v : v;
        }
    }
}

TAL_KERNEL static void sm_bwd_cols(float *restrict d, const float *restrict g, const float *restrict y,
                                   const float *m, const int64_t *moff, int64_t ms, int64_t L, int64_t I, int nb,
                                   int log, int acc)
{
    int k = (m ? 4 : 0) + (log ? 2 : 0) + (acc ? 1 : 0);
    switch (k) {
    case 0: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 0, 0, 0); break;
    case 1: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 0, 0, 1); break;
    case 2: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 0, 1, 0); break;
    case 3: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 0, 1, 1); break;
    case 4: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 1, 0, 0); break;
    case 5: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 1, 0, 1); break;
    case 6: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 1, 1, 0); break;
    default: sm_bwd_cols_k(d, g, y, m, moff, ms, L, I, nb, 1, 1, 1); break;
    }
}

void tal_cpu_softmax_backward(float *dinp, const float *dout, const float *out, const float *mask,
                              const int64_t shape[4], const int64_t mstride[4], int dim, int log, int acc)
{
    sm_geom g = sm_layout(shape, dim);
    int64_t ms = mask ? mstride[dim] : 0;
    int64_t ib = (g.I + SB - 1) / SB;
    size_t n = (size_t)g.O * g.L * g.I;
    /* for log-softmax an all-masked row must stay 0: exp(0) = 1 would leak,
     * so the mask is consulted; a row whose entries are all masked has every
     * entry skipped */
#pragma omp parallel for schedule(static) collapse(2) if (n > TAL_CPU_CHUNK)
    for (int64_t o = 0; o < g.O; o++)
        for (int64_t b = 0; b < ib; b++) {
            size_t base = (size_t)o * g.L * g.I + b * SB;
            if (g.I == 1) {
                sm_bwd_row(dinp + base, dout + base, out + base, mask ? mask + sm_moff(&g, mstride, o, 0) : NULL, ms,
                           g.L, 1, log, acc);
            } else {
                int nb = g.I - b * SB < SB ? (int)(g.I - b * SB) : SB;
                int64_t moff[SB];
                for (int j = 0; j < nb; j++)
                    moff[j] = mask ? sm_moff(&g, mstride, o, b * SB + j) : 0;
                sm_bwd_cols(dinp + base, dout + base, out + base, mask, moff, ms, g.L, g.I, nb, log, acc);
            }
        }
}
