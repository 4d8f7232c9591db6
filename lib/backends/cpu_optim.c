/* cpu_optim.c — parameter updates (Adam/AdamW, SGD with momentum), weight
 * EMA and the sum of squares behind global-norm clipping.  The update
 * order follows PyTorch's single-tensor implementations. */
#include "cpu.h"
#include "formulas.h"

#include <math.h>

TAL_KERNEL static void adam_range(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                                  size_t n, float lr, float b1, float b2, float eps, float wd, float bc1,
                                  float bc2s, int decoupled)
{
    float step = lr / bc1;
    for (size_t i = 0; i < n; i++)
        p[i] = tal_adam_elem(p[i], g[i], &m[i], &v[i], lr, b1, b2, eps, wd, step, bc2s, decoupled);
}

void tal_cpu_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                         float eps, float wd, float bc1, float bc2, int decoupled)
{
    float bc2s = sqrtf(bc2);
    TAL_PAR_CHUNKS(n, lo, hi,
                   adam_range(p + lo, g + lo, m + lo, v + lo, hi - lo, lr, beta1, beta2, eps, wd, bc1, bc2s,
                              decoupled));
}

TAL_KERNEL static void sgd_range(float *restrict p, const float *restrict g, float *restrict buf, size_t n, float lr,
                                 float mu, float wd, int nesterov, int first)
{
    for (size_t i = 0; i < n; i++)
        p[i] = tal_sgd_elem(p[i], g[i], buf ? &buf[i] : NULL, lr, mu, wd, nesterov, first);
}

void tal_cpu_sgd_update(float *p, const float *g, float *buf, size_t n, float lr, float momentum, float wd,
                        int nesterov, int first)
{
    TAL_PAR_CHUNKS(n, lo, hi, sgd_range(p + lo, g + lo, buf ? buf + lo : NULL, hi - lo, lr, momentum, wd, nesterov,
                                        first));
}

TAL_KERNEL static void ema_range(float *restrict e, const float *restrict p, size_t n, float decay)
{
    for (size_t i = 0; i < n; i++)
        e[i] = decay * e[i] + (1.0f - decay) * p[i];
}

void tal_cpu_ema_update(float *e, const float *p, size_t n, float decay)
{
    TAL_PAR_CHUNKS(n, lo, hi, ema_range(e + lo, p + lo, hi - lo, decay));
}

TAL_KERNEL static double sumsq_range(const float *restrict x, size_t n)
{
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return s;
}

/* fixed chunks, added in order: independent of the thread count */
double tal_cpu_sumsq(const float *x, size_t n)
{
    size_t nc = (n + TAL_CPU_CHUNK - 1) / TAL_CPU_CHUNK;
    if (nc <= 1)
        return sumsq_range(x, n);
    double total = 0;
    enum { NP = 256 };
    double part[NP];
    for (size_t base = 0; base < nc; base += NP) {
        size_t m = nc - base < NP ? nc - base : NP;
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < m; c++) {
            size_t lo = (base + c) * TAL_CPU_CHUNK, hi = lo + TAL_CPU_CHUNK < n ? lo + TAL_CPU_CHUNK : n;
            part[c] = sumsq_range(x + lo, hi - lo);
        }
        for (size_t c = 0; c < m; c++)
            total += part[c];
    }
    return total;
}
