/* cpu_elem.c — copies, strided views, broadcast arithmetic, clamp,
 * dropout: the CPU kernels of backend.h's elementwise section. */
#include "cpu.h"
#include "util/rng.h"

#include <string.h>

/* ---- plain memory ---------------------------------------------------- */

void tal_cpu_zero(float *p, size_t n)
{
    TAL_PAR_CHUNKS(n, lo, hi, memset(p + lo, 0, (hi - lo) * sizeof *p));
}

TAL_KERNEL static void fill_range(float *restrict p, float v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = v;
}

void tal_cpu_fill(float *p, float v, size_t n)
{
    TAL_PAR_CHUNKS(n, lo, hi, fill_range(p + lo, v, hi - lo));
}

void tal_cpu_copy(float *dst, const float *src, size_t n)
{
    if (dst != src)
        TAL_PAR_CHUNKS(n, lo, hi, memcpy(dst + lo, src + lo, (hi - lo) * sizeof *dst));
}

/* ---- strided views ------------------------------------------------------ */

TAL_KERNEL static void row_gather(float *restrict o, const float *restrict in, int64_t n, int64_t st)
{
    if (st == 1)
        for (int64_t k = 0; k < n; k++)
            o[k] = in[k];
    else
        for (int64_t k = 0; k < n; k++)
            o[k] = in[k * st];
}

TAL_KERNEL static void row_scatter(float *restrict d, int64_t st, const float *restrict s, int64_t n, int acc)
{
    if (st == 1) {
        if (acc)
            for (int64_t k = 0; k < n; k++)
                d[k] += s[k];
        else
            for (int64_t k = 0; k < n; k++)
                d[k] = s[k];
    } else {
        if (acc)
            for (int64_t k = 0; k < n; k++)
                d[k * st] += s[k];
        else
            for (int64_t k = 0; k < n; k++)
                d[k * st] = s[k];
    }
}

void tal_cpu_strided_copy(float *out, const float *inp, const int64_t shape[4], const int64_t istride[4])
{
    int64_t rows = shape[0] * shape[1] * shape[2], n = shape[3];
#pragma omp parallel for schedule(static) if (rows > 1 && rows * n > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i2 = r % shape[2], t = r / shape[2], i1 = t % shape[1], i0 = t / shape[1];
        row_gather(out + r * n, inp + i0 * istride[0] + i1 * istride[1] + i2 * istride[2], n, istride[3]);
    }
}

void tal_cpu_strided_store(float *dst, const int64_t dstride[4], const float *src, const int64_t shape[4], int acc)
{
    int64_t rows = shape[0] * shape[1] * shape[2], n = shape[3];
#pragma omp parallel for schedule(static) if (rows > 1 && rows * n > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < rows; r++) {
        int64_t i2 = r % shape[2], t = r / shape[2], i1 = t % shape[1], i0 = t / shape[1];
        row_scatter(dst + i0 * dstride[0] + i1 * dstride[1] + i2 * dstride[2], dstride[3], src + r * n, n, acc);
    }
}

void tal_cpu_copy2d(float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int64_t cols, int acc)
{
#pragma omp parallel for schedule(static) if (rows > 1 && rows * cols > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < rows; r++)
        row_scatter(dst + r * dld, 1, src + r * sld, cols, acc);
}

/* ---- scaled copies ------------------------------------------------------ */

TAL_KERNEL static void axpy_range(float *restrict d, const float *restrict s, float a, size_t n, int acc)
{
    if (acc)
        for (size_t i = 0; i < n; i++)
            d[i] += a * s[i];
    else
        for (size_t i = 0; i < n; i++)
            d[i] = a * s[i];
}

void tal_cpu_axpy(float *dst, const float *src, float alpha, size_t n, int acc)
{
    TAL_PAR_CHUNKS(n, lo, hi, axpy_range(dst + lo, src + lo, alpha, hi - lo, acc));
}

TAL_KERNEL static void affine_range(float *o, const float *x, float a, float b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        o[i] = a * x[i] + b;
}

void tal_cpu_affine(float *out, const float *inp, float alpha, float beta, size_t n)
{
    TAL_PAR_CHUNKS(n, lo, hi, affine_range(out + lo, inp + lo, alpha, beta, hi - lo));
}

/* ---- broadcast binary ----------------------------------------------------- */

/* one output row: o[k] = a[k*as] op b[k*bs], as/bs in {0, 1} fast */
TAL_KERNEL static void bin_row(float *restrict o, const float *restrict a, int64_t as, const float *restrict b,
                               int64_t bs, int64_t n, int op)
{
    if (as == 1 && bs == 1) {
        if (op == TAL_BIN_ADD)
            for (int64_t k = 0; k < n; k++) o[k] = a[k] + b[k];
        else if (op == TAL_BIN_SUB)
            for (int64_t k = 0; k < n; k++) o[k] = a[k] - b[k];
        else
            for (int64_t k = 0; k < n; k++) o[k] = a[k] * b[k];
    } else if (as == 1 && bs == 0) {
        float y = b[0];
        if (op == TAL_BIN_ADD)
            for (int64_t k = 0; k < n; k++) o[k] = a[k] + y;
        else if (op == TAL_BIN_SUB)
            for (int64_t k = 0; k < n; k++) o[k] = a[k] - y;
        else
            for (int64_t k = 0; k < n; k++) o[k] = a[k] * y;
    } else if (as == 0 && bs == 1) {
        float x = a[0];
        if (op == TAL_BIN_ADD)
            for (int64_t k = 0; k < n; k++) o[k] = x + b[k];
        else if (op == TAL_BIN_SUB)
            for (int64_t k = 0; k < n; k++) o[k] = x - b[k];
        else
            for (int64_t k = 0; k < n; k++) o[k] = x * b[k];
    } else {
        for (int64_t k = 0; k < n; k++) {
            float x = a[k * as], y = b[k * bs];
            o[k] = op == TAL_BIN_ADD ? x + y : op == TAL_BIN_SUB ? x - y : x * y;
        }
    }
}

void tal_cpu_binary_forward(float *out, const float *a, const float *b, const int64_t shape[4],
                            const int64_t astride[4], const int64_t bstride[4], int op)
{
    /* rows x chunks, so that one long row is split as well */
    int64_t rows = shape[0] * shape[1] * shape[2], n = shape[3];
    int64_t nb = (n + TAL_CPU_CHUNK - 1) / TAL_CPU_CHUNK;
#pragma omp parallel for schedule(static) collapse(2) if (rows * n > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < nb; c++) {
            int64_t i2 = r % shape[2], t = r / shape[2], i1 = t % shape[1], i0 = t / shape[1];
            int64_t lo = c * TAL_CPU_CHUNK, m = n - lo < TAL_CPU_CHUNK ? n - lo : TAL_CPU_CHUNK;
            bin_row(out + r * n + lo, a + i0 * astride[0] + i1 * astride[1] + i2 * astride[2] + lo * astride[3],
                    astride[3], b + i0 * bstride[0] + i1 * bstride[1] + i2 * bstride[2] + lo * bstride[3],
                    bstride[3], m, op);
        }
}

/* d[k] (+)= alpha * g[k] * o[k*os] */
TAL_KERNEL static void red_row(float *restrict d, const float *restrict g, const float *restrict o, int64_t os,
                               int64_t n, float alpha, int acc)
{
    if (!o) {
        if (acc)
            for (int64_t k = 0; k < n; k++) d[k] += alpha * g[k];
        else
            for (int64_t k = 0; k < n; k++) d[k] = alpha * g[k];
    } else if (os == 1) {
        if (acc)
            for (int64_t k = 0; k < n; k++) d[k] += alpha * g[k] * o[k];
        else
            for (int64_t k = 0; k < n; k++) d[k] = alpha * g[k] * o[k];
    } else {
        float y = o[0];
        if (os == 0)
            for (int64_t k = 0; k < n; k++) d[k] = (acc ? d[k] : 0.0f) + alpha * g[k] * y;
        else
            for (int64_t k = 0; k < n; k++) d[k] = (acc ? d[k] : 0.0f) + alpha * g[k] * o[k * os];
    }
}

/* sum of g[k] * o[k*os] */
TAL_KERNEL static double dot_row(const float *restrict g, const float *restrict o, int64_t os, int64_t n)
{
    float s = 0;
    if (!o) {
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++) s += g[k];
    } else if (os == 1) {
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++) s += g[k] * o[k];
    } else if (os == 0) {
#pragma omp simd reduction(+ : s)
        for (int64_t k = 0; k < n; k++) s += g[k];
        s *= o[0];
    } else {
        for (int64_t k = 0; k < n; k++) s += g[k] * o[k * os];
    }
    return s;
}

void tal_cpu_broadcast_reduce(float *dst, const int64_t ds[4], const float *dout, const int64_t os[4],
                              const float *other, const int64_t ost[4], float alpha, int acc)
{
    int64_t gst[3] = { os[1] * os[2] * os[3], os[2] * os[3], os[3] };
    int64_t dn = ds[0] * ds[1] * ds[2] * ds[3], on = os[0] * os[1] * os[2] * os[3];
    if (dn == on) {   /* no broadcasting: one elementwise pass */
        int64_t rows = os[0] * os[1] * os[2], n = os[3];
        int64_t nb = (n + TAL_CPU_CHUNK - 1) / TAL_CPU_CHUNK;
#pragma omp parallel for schedule(static) collapse(2) if (on > TAL_CPU_CHUNK)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < nb; c++) {
                int64_t i2 = r % os[2], t = r / os[2], i1 = t % os[1], i0 = t / os[1];
                int64_t lo = c * TAL_CPU_CHUNK, m = n - lo < TAL_CPU_CHUNK ? n - lo : TAL_CPU_CHUNK;
                red_row(dst + r * n + lo, dout + r * n + lo,
                        other ? other + i0 * ost[0] + i1 * ost[1] + i2 * ost[2] + lo * ost[3] : NULL, ost[3], m,
                        alpha, acc);
            }
        return;
    }
    if (dn == 1) {   /* everything into one number: fixed chunks, fixed order */
        /* partial sums over fixed blocks of rows, added in order: the
         * result does not depend on the thread count */
        int64_t rows = os[0] * os[1] * os[2], n = os[3];
        enum { NP = 256 };
        double part[NP];
        int64_t np = rows < NP ? rows : NP;
#pragma omp parallel for schedule(static) if (on > TAL_CPU_CHUNK)
        for (int64_t p = 0; p < np; p++) {
            double s = 0;
            for (int64_t r = rows * p / np; r < rows * (p + 1) / np; r++) {
                int64_t i2 = r % os[2], t = r / os[2], i1 = t % os[1], i0 = t / os[1];
                s += dot_row(dout + r * n, other ? other + i0 * ost[0] + i1 * ost[1] + i2 * ost[2] : NULL, ost[3],
                             n);
            }
            part[p] = s;
        }
        double s = 0;
        for (int64_t p = 0; p < np; p++)
            s += part[p];
        dst[0] = (acc ? dst[0] : 0.0f) + alpha * (float)s;
        return;
    }
    int inner_b = ds[3] == 1 && os[3] != 1;
    int64_t drows = ds[0] * ds[1] * ds[2];
    int bc[3];
    for (int d = 0; d < 3; d++)
        bc[d] = ds[d] == 1 && os[d] != 1;
#pragma omp parallel for schedule(static) if (drows > 1 && on > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < drows; r++) {
        int64_t j2 = r % ds[2], t = r / ds[2], j1 = t % ds[1], j0 = t / ds[1];
        float *d = dst + r * ds[3];
        int first = 1;
        double s = 0;
        for (int64_t i0 = bc[0] ? 0 : j0; i0 < (bc[0] ? os[0] : j0 + 1); i0++)
            for (int64_t i1 = bc[1] ? 0 : j1; i1 < (bc[1] ? os[1] : j1 + 1); i1++)
                for (int64_t i2 = bc[2] ? 0 : j2; i2 < (bc[2] ? os[2] : j2 + 1); i2++) {
                    const float *g = dout + i0 * gst[0] + i1 * gst[1] + i2 * gst[2];
                    const float *o = other ? other + i0 * ost[0] + i1 * ost[1] + i2 * ost[2] : NULL;
                    if (inner_b) {
                        s += dot_row(g, o, ost[3], os[3]);
                    } else {
                        red_row(d, g, o, ost[3], os[3], alpha, acc || !first);
                        first = 0;
                    }
                }
        if (inner_b)
            d[0] = (acc ? d[0] : 0.0f) + alpha * (float)s;
    }
}

/* ---- clamp ----------------------------------------------------------- */

TAL_KERNEL static void clamp_range(float *restrict o, const float *restrict x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i] < lo ? lo : x[i];
        o[i] = v > hi ? hi : v;
    }
}

TAL_KERNEL static void clamp_back_range(float *restrict d, const float *restrict g, const float *restrict x, size_t n,
                                        float lo, float hi, int acc)
{
    for (size_t i = 0; i < n; i++) {
        float v = (x[i] >= lo && x[i] <= hi) ? g[i] : 0.0f;
        d[i] = acc ? d[i] + v : v;
    }
}

void tal_cpu_clamp_forward(float *out, const float *inp, size_t n, float lo, float hi)
{
    TAL_PAR_CHUNKS(n, a, b, clamp_range(out + a, inp + a, b - a, lo, hi));
}

void tal_cpu_clamp_backward(float *dinp, const float *dout, const float *inp, size_t n, float lo, float hi, int acc)
{
    TAL_PAR_CHUNKS(n, a, b, clamp_back_range(dinp + a, dout + a, inp + a, b - a, lo, hi, acc));
}

/* ---- dropout ----------------------------------------------------------- */

/* elements [lo, hi) with lo a multiple of 4: y (+)= x * keep * scale */
static void dropout_range(float *restrict y, const float *restrict x, size_t lo, size_t hi, uint32_t thr,
                          float scale, const uint32_t key[2], uint64_t ctr, int acc)
{
    for (size_t i = lo; i < hi; i += 4) {
        uint64_t c = ctr + i / 4;
        uint32_t cw[4] = { (uint32_t)c, (uint32_t)(c >> 32), 0, 0 }, u[4];
        tal_philox4x32(cw, key, u);
        for (size_t j = 0; j < 4 && i + j < hi; j++) {
            float v = u[j] >= thr ? x[i + j] * scale : 0.0f;
            y[i + j] = acc ? y[i + j] + v : v;
        }
    }
}

static uint32_t drop_threshold(float p)
{
    double t = (double)p * 4294967296.0;
    return t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
}

void tal_cpu_dropout_forward(float *out, const float *inp, size_t n, float p, const uint32_t key[2], uint64_t ctr)
{
    uint32_t thr = drop_threshold(p);
    float scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    TAL_PAR_CHUNKS(n, lo, hi, dropout_range(out, inp, lo, hi, thr, scale, key, ctr, 0));
}

void tal_cpu_dropout_backward(float *dinp, const float *dout, size_t n, float p, const uint32_t key[2], uint64_t ctr,
                              int acc)
{
    uint32_t thr = drop_threshold(p);
    float scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    TAL_PAR_CHUNKS(n, lo, hi, dropout_range(dinp, dout, lo, hi, thr, scale, key, ctr, acc));
}

TAL_KERNEL static void scale_row(float *restrict o, const float *restrict x, float s, int64_t n, int acc)
{
    if (acc)
        for (int64_t k = 0; k < n; k++) o[k] += x[k] * s;
    else
        for (int64_t k = 0; k < n; k++) o[k] = x[k] * s;
}

void tal_cpu_rowscale(float *out, const float *inp, const float *scale, int64_t R, int64_t inner, int acc)
{
    int64_t nb = (inner + TAL_CPU_CHUNK - 1) / TAL_CPU_CHUNK;
#pragma omp parallel for schedule(static) collapse(2) if (R * inner > TAL_CPU_CHUNK)
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < nb; c++) {
            int64_t lo = c * TAL_CPU_CHUNK, n = inner - lo < TAL_CPU_CHUNK ? inner - lo : TAL_CPU_CHUNK;
            scale_row(out + r * inner + lo, inp + r * inner + lo, scale[r], n, acc);
        }
}
