/* cuda_elem.cu — copies, strided views, broadcast arithmetic and its
 * reduction, clamp, dropout, drop-path, activations, softmax: the CUDA
 * twins of lib/backends/cpu_elem.c and cpu_act.c. */
#include "cuda_common.cuh"

/* ---- plain memory ------------------------------------------------------ */

void tcu_zero(float *p, size_t n)
{
    if (n && tcu_ok())
        TCU_CHECK(cudaMemsetAsync(p, 0, n * sizeof *p, 0));
}

__global__ void k_fill(float *p, float v, int64_t n)
{
    TCU_FOR(i, n) p[i] = v;
}

void tcu_fill(float *p, float v, size_t n)
{
    TCU_LAUNCH(k_fill, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, p, v, (int64_t)n);
}

void tcu_copy(float *dst, const float *src, size_t n)
{
    if (n && dst != src && tcu_ok())
        TCU_CHECK(cudaMemcpyAsync(dst, src, n * sizeof *dst, cudaMemcpyDeviceToDevice, 0));
}

/* ---- strided views ------------------------------------------------------ */

static int64_t numel4(const int64_t s[4]) { return s[0] * s[1] * s[2] * s[3]; }

__global__ void k_strided_copy(float *out, const float *inp, tcu_dims sh, tcu_dims st, int64_t n)
{
    TCU_FOR(i, n) out[i] = inp[tcu_offset(i, sh, st)];
}

void tcu_strided_copy(float *out, const float *inp, const int64_t shape[4], const int64_t istride[4])
{
    int64_t n = numel4(shape);
    TCU_LAUNCH(k_strided_copy, tcu_blocks(n, TCU_THREADS), TCU_THREADS, 0, out, inp, tcu_dims_of(shape),
               tcu_dims_of(istride), n);
}

__global__ void k_strided_store(float *dst, tcu_dims dst_st, const float *src, tcu_dims sh, int64_t n, int acc)
{
    TCU_FOR(i, n) {
        float *d = dst + tcu_offset(i, sh, dst_st);
        *d = acc ? *d + src[i] : src[i];
    }
}

void tcu_strided_store(float *dst, const int64_t dstride[4], const float *src, const int64_t shape[4], int acc)
{
    int64_t n = numel4(shape);
    TCU_LAUNCH(k_strided_store, tcu_blocks(n, TCU_THREADS), TCU_THREADS, 0, dst, tcu_dims_of(dstride), src,
               tcu_dims_of(shape), n, acc);
}

__global__ void k_copy2d(float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int64_t cols, int acc)
{
    TCU_FOR(i, rows * cols) {
        int64_t r = i / cols, c = i - r * cols;
        float *d = dst + r * dld + c;
        float v = src[r * sld + c];
        *d = acc ? *d + v : v;
    }
}

void tcu_copy2d(float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int64_t cols, int acc)
{
    TCU_LAUNCH(k_copy2d, tcu_blocks(rows * cols, TCU_THREADS), TCU_THREADS, 0, dst, dld, src, sld, rows, cols, acc);
}

/* ---- scaled copies ---------------------------------------------------------- */

__global__ void k_axpy(float *dst, const float *src, float a, int64_t n, int acc)
{
    TCU_FOR(i, n) dst[i] = acc ? dst[i] + a * src[i] : a * src[i];
}

void tcu_axpy(float *dst, const float *src, float alpha, size_t n, int acc)
{
    TCU_LAUNCH(k_axpy, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, dst, src, alpha, (int64_t)n, acc);
}

__global__ void k_affine(float *out, const float *inp, float a, float b, int64_t n)
{
    TCU_FOR(i, n) out[i] = a * inp[i] + b;
}

void tcu_affine(float *out, const float *inp, float alpha, float beta, size_t n)
{
    TCU_LAUNCH(k_affine, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, out, inp, alpha, beta, (int64_t)n);
}

/* ---- broadcast binary ----------------------------------------------------------- */

/* out may be a (the in-place bias add of linear): each thread reads the
 * element it writes, nothing else */
__global__ void k_binary(float *out, const float *a, const float *b, tcu_dims sh, tcu_dims as, tcu_dims bs,
                         int64_t n, int op)
{
    TCU_FOR(i, n) {
        float x = a[tcu_offset(i, sh, as)], y = b[tcu_offset(i, sh, bs)];
        out[i] = op == TAL_BIN_ADD ? x + y : op == TAL_BIN_SUB ? x - y : x * y;
    }
}

void tcu_binary_forward(float *out, const float *a, const float *b, const int64_t shape[4], const int64_t astride[4],
                        const int64_t bstride[4], int op)
{
    int64_t n = numel4(shape);
    TCU_LAUNCH(k_binary, tcu_blocks(n, TCU_THREADS), TCU_THREADS, 0, out, a, b, tcu_dims_of(shape),
               tcu_dims_of(astride), tcu_dims_of(bstride), n, op);
}

/* ---- broadcast reduction ----------------------------------------------------------
 * dst (shape ds) (+)= alpha * sum over the broadcast dimensions of
 * dout (shape os, contiguous) * other (read through ost).  Each dst element
 * j owns R = numel(os) / numel(ds) terms, enumerated by r over the reduced
 * dimensions (rs[d] = os[d] where ds[d] == 1 != os[d], else 1).
 *  - no broadcasting: elementwise;
 *  - otherwise, when the innermost dimension is reduced or there are few
 *    dst elements: blocks of threads over r (coalesced along the inner
 *    dimension), each dst element's terms split into P fixed slices whose
 *    sums are added in order by a second kernel;
 *  - else one thread per dst element, adding its terms in order (threads
 *    next to each other read memory next to each other). */

struct bred_geom {
    tcu_dims ds, rs, gst, ost;
    int64_t R, dn;
    int has_other;
};

/* the dout and other offsets of term r of dst element j */
__device__ __forceinline__ void bred_offsets(const bred_geom &g, int64_t j, int64_t r, int64_t *go, int64_t *oo)
{
    int64_t a = 0, b = 0;
    for (int d = 3; d >= 0; d--) {
        int64_t c;
        if (g.rs.d[d] > 1) {
            int64_t q = r / g.rs.d[d];
            c = r - q * g.rs.d[d];
            r = q;
        } else if (g.ds.d[d] > 1) {
            int64_t q = j / g.ds.d[d];
            c = j - q * g.ds.d[d];
            j = q;
        } else {
            c = 0;
        }
        a += c * g.gst.d[d];
        b += c * g.ost.d[d];
    }
    *go = a;
    *oo = b;
}

__global__ void k_bred_elem(float *dst, const float *g, const float *o, tcu_dims sh, tcu_dims ost, int64_t n,
                            float alpha, int acc)
{
    TCU_FOR(i, n) {
        float v = alpha * g[i];
        if (o)
            v *= o[tcu_offset(i, sh, ost)];
        dst[i] = acc ? dst[i] + v : v;
    }
}

/* grid (dn, P): block (j, p) sums slice p of j's terms; P == 1 writes dst */
__global__ void k_bred_block(float *dst, float *part, const float *g, const float *o, bred_geom geo, int P,
                             float alpha, int acc)
{
    __shared__ float sh[32];
    int64_t j = blockIdx.x;
    int p = blockIdx.y;
    int64_t lo = geo.R * p / P, hi = geo.R * (p + 1) / P;
    float s = 0.0f;
    for (int64_t r = lo + threadIdx.x; r < hi; r += blockDim.x) {
        int64_t go, oo;
        bred_offsets(geo, j, r, &go, &oo);
        s += o ? g[go] * o[oo] : g[go];
    }
    s = tcu_block_sum(s, sh);
    if (threadIdx.x == 0) {
        if (P == 1)
            dst[j] = (acc ? dst[j] : 0.0f) + alpha * s;
        else
            part[j * P + p] = s;
    }
}

__global__ void k_bred_finish(float *dst, const float *part, int64_t dn, int P, float alpha, int acc)
{
    TCU_FOR(j, dn) {
        float s = 0.0f;
        for (int p = 0; p < P; p++)
            s += part[j * P + p];
        dst[j] = (acc ? dst[j] : 0.0f) + alpha * s;
    }
}

__global__ void k_bred_thread(float *dst, const float *g, const float *o, bred_geom geo, float alpha, int acc)
{
    TCU_FOR(j, geo.dn) {
        float s = 0.0f;
        for (int64_t r = 0; r < geo.R; r++) {
            int64_t go, oo;
            bred_offsets(geo, j, r, &go, &oo);
            s += o ? g[go] * o[oo] : g[go];
        }
        dst[j] = (acc ? dst[j] : 0.0f) + alpha * s;
    }
}

void tcu_broadcast_reduce(float *dst, const int64_t ds[4], const float *dout, const int64_t os[4], const float *other,
                          const int64_t ost[4], float alpha, int acc)
{
    int64_t dn = numel4(ds), on = numel4(os);
    if (dn == on) {
        TCU_LAUNCH(k_bred_elem, tcu_blocks(on, TCU_THREADS), TCU_THREADS, 0, dst, dout, other, tcu_dims_of(os),
                   tcu_dims_of(ost), on, alpha, acc);
        return;
    }
    if (dn == 0)
        return;
    bred_geom geo;
    int64_t s = 1;
    for (int d = 3; d >= 0; d--) {
        geo.ds.d[d] = ds[d];
        geo.rs.d[d] = ds[d] == 1 && os[d] != 1 ? os[d] : 1;
        geo.gst.d[d] = s;
        geo.ost.d[d] = other ? ost[d] : 0;
        s *= os[d];
    }
    geo.R = on / dn;
    geo.dn = dn;
    geo.has_other = other != NULL;
    if (geo.R == 0) {   /* an empty output: dst gets alpha * 0 */
        TCU_LAUNCH(k_bred_finish, tcu_blocks(dn, TCU_THREADS), TCU_THREADS, 0, dst, dst, dn, 0, alpha, acc);
        return;
    }
    if (geo.rs.d[3] > 1 || dn < 1024) {
        int64_t P = geo.R / 8192;
        P = P < 1 ? 1 : P > 64 ? 64 : P;
        if (dn > 65535 * (int64_t)1024)   /* keep the partials small for huge dst */
            P = 1;
        float *part = P > 1 ? (float *)tcu_scratch(sizeof(float) * (size_t)(dn * P)) : NULL;
        if (P > 1 && !part)
            return;
        if (dn > 0x7fffffff)
            return;
        TCU_LAUNCH(k_bred_block, dim3((unsigned)dn, (unsigned)P), TCU_THREADS, 0, dst, part, dout, other, geo, (int)P,
                   alpha, acc);
        if (P > 1)
            TCU_LAUNCH(k_bred_finish, tcu_blocks(dn, TCU_THREADS), TCU_THREADS, 0, dst, part, dn, (int)P, alpha, acc);
        return;
    }
    TCU_LAUNCH(k_bred_thread, tcu_blocks(dn, TCU_THREADS), TCU_THREADS, 0, dst, dout, other, geo, alpha, acc);
}

/* ---- clamp --------------------------------------------------------------------- */

__global__ void k_clamp(float *out, const float *x, int64_t n, float lo, float hi)
{
    TCU_FOR(i, n) {
        float v = x[i] < lo ? lo : x[i];
        out[i] = v > hi ? hi : v;
    }
}

__global__ void k_clamp_back(float *d, const float *g, const float *x, int64_t n, float lo, float hi, int acc)
{
    TCU_FOR(i, n) {
        float v = (x[i] >= lo && x[i] <= hi) ? g[i] : 0.0f;
        d[i] = acc ? d[i] + v : v;
    }
}

void tcu_clamp_forward(float *out, const float *inp, size_t n, float lo, float hi)
{
    TCU_LAUNCH(k_clamp, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, out, inp, (int64_t)n, lo, hi);
}

void tcu_clamp_backward(float *dinp, const float *dout, const float *inp, size_t n, float lo, float hi, int acc)
{
    TCU_LAUNCH(k_clamp_back, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, dinp, dout, inp, (int64_t)n, lo, hi,
               acc);
}

/* ---- dropout: Philox4x32-10 exactly as lib/util/rng.c --------------------------- */

__device__ __forceinline__ void philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                           uint32_t k1, uint32_t out[4])
{
    for (int round = 0; round < 10; round++) {
        uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* element i keeps word i%4 of block ctr + i/4: one thread per block of 4 */
__global__ void k_dropout(float *y, const float *x, int64_t n, uint32_t thr, float scale, uint32_t k0, uint32_t k1,
                          uint64_t ctr, int acc)
{
    TCU_FOR(q, (n + 3) / 4) {
        uint64_t c = ctr + (uint64_t)q;
        uint32_t u[4];
        philox4x32((uint32_t)c, (uint32_t)(c >> 32), 0, 0, k0, k1, u);
        for (int j = 0; j < 4; j++) {
            int64_t i = 4 * q + j;
            if (i < n) {
                float v = u[j] >= thr ? x[i] * scale : 0.0f;
                y[i] = acc ? y[i] + v : v;
            }
        }
    }
}

static uint32_t drop_threshold(float p)
{
    double t = (double)p * 4294967296.0;
    return t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
}

void tcu_dropout_forward(float *out, const float *inp, size_t n, float p, const uint32_t key[2], uint64_t ctr)
{
    float scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    TCU_LAUNCH(k_dropout, tcu_blocks(((int64_t)n + 3) / 4, TCU_THREADS), TCU_THREADS, 0, out, inp, (int64_t)n,
               drop_threshold(p), scale, key[0], key[1], ctr, 0);
}

void tcu_dropout_backward(float *dinp, const float *dout, size_t n, float p, const uint32_t key[2], uint64_t ctr,
                          int acc)
{
    float scale = p < 1 ? 1.0f / (1.0f - p) : 0.0f;
    TCU_LAUNCH(k_dropout, tcu_blocks(((int64_t)n + 3) / 4, TCU_THREADS), TCU_THREADS, 0, dinp, dout, (int64_t)n,
               drop_threshold(p), scale, key[0], key[1], ctr, acc);
}

__global__ void k_rowscale(float *out, const float *inp, const float *scale, int64_t R, int64_t inner, int acc)
{
    TCU_FOR(i, R * inner) {
        float v = inp[i] * scale[i / inner];
        out[i] = acc ? out[i] + v : v;
    }
}

void tcu_rowscale(float *out, const float *inp, const float *scale, int64_t R, int64_t inner, int acc)
{
    TCU_LAUNCH(k_rowscale, tcu_blocks(R * inner, TCU_THREADS), TCU_THREADS, 0, out, inp, scale, R, inner, acc);
}

/* ---- activations ------------------------------------------------------------------- */

__global__ void k_act(float *out, const float *x, int64_t n, int kind)
{
    TCU_FOR(i, n) out[i] = tcu_act(x[i], kind);
}

__global__ void k_act_back(float *d, const float *g, const float *x, const float *y, int64_t n, int kind, int acc)
{
    TCU_FOR(i, n) {
        float v = tcu_act_grad(g[i], x ? x[i] : 0.0f, y ? y[i] : 0.0f, kind);
        d[i] = acc ? d[i] + v : v;
    }
}

void tcu_act_forward(float *out, const float *inp, size_t n, int kind)
{
    TCU_LAUNCH(k_act, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, out, inp, (int64_t)n, kind);
}

void tcu_act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, int kind, int acc)
{
    TCU_LAUNCH(k_act_back, tcu_blocks((int64_t)n, TCU_THREADS), TCU_THREADS, 0, dinp, dout, inp, out, (int64_t)n, kind,
               acc);
}

/* ---- softmax ----------------------------------------------------------------------
 * The tensor seen as (O, L, I), L the softmax dimension.  I == 1: a warp
 * per row (contiguous); I > 1: a thread per column (neighbouring threads,
 * neighbouring columns).  Masked entries give 0 and get no gradient; a row
 * with nothing left (every entry masked or -inf) is 0, as on the CPU. */

struct sm_geom {
    int64_t O, L, I, ms;
    tcu_dims shape, mst;
    int dim, masked;
};

/* mask offset of element (o, l = 0, i) */
__device__ __forceinline__ int64_t sm_moff(const sm_geom &g, int64_t o, int64_t i)
{
    int64_t off = 0;
    for (int d = 3; d > g.dim; d--) {
        int64_t n = g.shape.d[d], q = i / n;
        off += (i - q * n) * g.mst.d[d];
        i = q;
    }
    for (int d = g.dim - 1; d >= 0; d--) {
        int64_t n = g.shape.d[d], q = o / n;
        off += (o - q * n) * g.mst.d[d];
        o = q;
    }
    return off;
}

/* one line of L elements at stride st; lanes [0, nl) of a group share it */
__device__ __forceinline__ void sm_line(float *y, const float *x, const float *m, int64_t ms, int64_t L, int64_t st,
                                        int log, int lane, int nl)
{
    float mx = -INFINITY;
    for (int64_t l = lane; l < L; l += nl)
        if (!m || m[l * ms] != 0.0f)
            mx = fmaxf(mx, x[l * st]);
    if (nl == 32)
        mx = tcu_warp_max(mx);
    float s = 0.0f;
    if (mx != -INFINITY)
        for (int64_t l = lane; l < L; l += nl)
            if (!m || m[l * ms] != 0.0f)
                s += expf(x[l * st] - mx);
    if (nl == 32)
        s = tcu_warp_sum(s);
    float ls = mx + logf(s), r = 1.0f / s;
    for (int64_t l = lane; l < L; l += nl) {
        int ok = mx != -INFINITY && (!m || m[l * ms] != 0.0f);
        float v = x[l * st];
        y[l * st] = !ok ? 0.0f : log ? v - ls : expf(v - mx) * r;
    }
}

__global__ void k_softmax_rows(float *y, const float *x, const float *mask, sm_geom g, int log)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t o = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); o < g.O; o += warps)
        sm_line(y + o * g.L, x + o * g.L, g.masked ? mask + sm_moff(g, o, 0) : NULL, g.ms, g.L, 1, log, lane, 32);
}

__global__ void k_softmax_cols(float *y, const float *x, const float *mask, sm_geom g, int log)
{
    TCU_FOR(c, g.O * g.I) {
        int64_t o = c / g.I, i = c - o * g.I, base = o * g.L * g.I + i;
        sm_line(y + base, x + base, g.masked ? mask + sm_moff(g, o, i) : NULL, g.ms, g.L, g.I, log, 0, 1);
    }
}

static sm_geom sm_layout(const int64_t shape[4], const int64_t mstride[4], const float *mask, int dim)
{
    sm_geom g;
    g.O = 1;
    g.I = 1;
    g.L = shape[dim];
    for (int d = 0; d < dim; d++)
        g.O *= shape[d];
    for (int d = dim + 1; d < 4; d++)
        g.I *= shape[d];
    g.shape = tcu_dims_of(shape);
    for (int d = 0; d < 4; d++)
        g.mst.d[d] = mask ? mstride[d] : 0;
    g.ms = mask ? mstride[dim] : 0;
    g.dim = dim;
    g.masked = mask != NULL;
    return g;
}

void tcu_softmax_forward(float *out, const float *inp, const float *mask, const int64_t shape[4],
                         const int64_t mstride[4], int dim, int log)
{
    sm_geom g = sm_layout(shape, mstride, mask, dim);
    if (g.I == 1)
        TCU_LAUNCH(k_softmax_rows, tcu_blocks(g.O * 32, TCU_THREADS), TCU_THREADS, 0, out, inp, mask, g, log);
    else
        TCU_LAUNCH(k_softmax_cols, tcu_blocks(g.O * g.I, TCU_THREADS), TCU_THREADS, 0, out, inp, mask, g, log);
}

/* softmax: dx = y (g - sum g y); log-softmax: dx = g - exp(y) sum g; sums
 * over unmasked entries, masked entries 0 */
__device__ __forceinline__ void sm_back_line(float *d, const float *g, const float *y, const float *m, int64_t ms,
                                             int64_t L, int64_t st, int log, int acc, int lane, int nl)
{
    float s = 0.0f;
    for (int64_t l = lane; l < L; l += nl)
        if (!m || m[l * ms] != 0.0f)
            s += log ? g[l * st] : g[l * st] * y[l * st];
    if (nl == 32)
        s = tcu_warp_sum(s);
    for (int64_t l = lane; l < L; l += nl) {
        int ok = !m || m[l * ms] != 0.0f;
        float v = !ok ? 0.0f : log ? g[l * st] - expf(y[l * st]) * s : y[l * st] * (g[l * st] - s);
        d[l * st] = acc ? d[l * st] + v : v;
    }
}

__global__ void k_softmax_back_rows(float *d, const float *gr, const float *y, const float *mask, sm_geom g, int log,
                                    int acc)
{
    int lane = threadIdx.x & 31;
    int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
    for (int64_t o = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); o < g.O; o += warps)
        sm_back_line(d + o * g.L, gr + o * g.L, y + o * g.L, g.masked ? mask + sm_moff(g, o, 0) : NULL, g.ms, g.L, 1,
                     log, acc, lane, 32);
}

__global__ void k_softmax_back_cols(float *d, const float *gr, const float *y, const float *mask, sm_geom g, int log,
                                    int acc)
{
    TCU_FOR(c, g.O * g.I) {
        int64_t o = c / g.I, i = c - o * g.I, base = o * g.L * g.I + i;
        sm_back_line(d + base, gr + base, y + base, g.masked ? mask + sm_moff(g, o, i) : NULL, g.ms, g.L, g.I, log,
                     acc, 0, 1);
    }
}

void tcu_softmax_backward(float *dinp, const float *dout, const float *out, const float *mask, const int64_t shape[4],
                          const int64_t mstride[4], int dim, int log, int acc)
{
    sm_geom g = sm_layout(shape, mstride, mask, dim);
    if (g.I == 1)
        TCU_LAUNCH(k_softmax_back_rows, tcu_blocks(g.O * 32, TCU_THREADS), TCU_THREADS, 0, dinp, dout, out, mask, g,
                   log, acc);
    else
        TCU_LAUNCH(k_softmax_back_cols, tcu_blocks(g.O * g.I, TCU_THREADS), TCU_THREADS, 0, dinp, dout, out, mask, g,
                   log, acc);
}
