/* cuda_common.cuh — what the .cu files of kernels/ share (internal to
 * kernels/): checked CUDA calls and launches, the backend's scratch memory
 * and cuBLAS, reductions, and device versions of the small math the CPU
 * kernels use.  The entry points below are the CUDA backend's table
 * (cuda_backend.cu); each has the contract of its tal_backend entry in
 * lib/backends/backend.h and a CPU twin in lib/backends/cpu_*.c.
 *
 * Errors: every CUDA call goes through TCU_CHECK and every launch through
 * TCU_LAUNCH, which name the failing call or kernel and its place in the
 * error.  The first error is sticky (a failed launch or a device fault
 * leaves the context unusable anyway): later kernels are skipped and
 * tal_backend.status() reports it where results reach the host.  Set
 * TAL_CUDA_SYNC=1 to wait after every launch, so that an asynchronous
 * fault is pinned on the kernel that caused it.
 *
 * Determinism: no kernel adds floats with atomics; every reduction has a
 * fixed shape that depends only on the sizes, so a run repeats bit for bit
 * on the same GPU (cuBLAS gives the same guarantee for one GPU model and
 * toolkit). */
#ifndef TAL_KERNELS_CUDA_COMMON_CUH
#define TAL_KERNELS_CUDA_COMMON_CUH

#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "backends/backend.h"
#include "backends/cuda.h"
#include "backends/formulas.h"
#include "util/error.h"
}

/* ---- errors ------------------------------------------------------------- */

bool tcu_ok();
void tcu_fail(const char *call, const char *file, int line, cudaError_t e);
void tcu_fail_msg(const char *call, const char *file, int line, const char *msg);
void tcu_launched(const char *kernel, const char *file, int line);

#define TCU_CHECK(call)                                                          \
    do {                                                                         \
        cudaError_t e_ = (call);                                                 \
        if (e_ != cudaSuccess)                                                   \
            tcu_fail(#call, __FILE__, __LINE__, e_);                             \
    } while (0)

/* kernel<<<grid, block, smem>>>(args...) unless the backend has failed or
 * the grid is empty, then the launch checked (kernel: a plain name) */
#define TCU_LAUNCH(kernel, grid, block, smem, ...)                               \
    do {                                                                         \
        dim3 g_ = (grid);                                                        \
        if (tcu_ok() && g_.x && g_.y && g_.z) {                                  \
            kernel<<<g_, (block), (smem)>>>(__VA_ARGS__);                        \
            tcu_launched(#kernel, __FILE__, __LINE__);                           \
        }                                                                        \
    } while (0)

/* ---- launch shapes ---------------------------------------------------------- */

#define TCU_THREADS 256
#define TCU_MAX_BLOCKS (1 << 20)

/* blocks of `threads` for n elements of a grid-stride loop */
static inline unsigned tcu_blocks(int64_t n, int threads)
{
    int64_t b = (n + threads - 1) / threads;
    return b < 1 ? 0 : b > TCU_MAX_BLOCKS ? TCU_MAX_BLOCKS : (unsigned)b;
}

#define TCU_FOR(i, n)                                                            \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (int64_t)(n); \
         i += (int64_t)gridDim.x * blockDim.x)

/* 4-dimension shapes and strides passed by value */
struct tcu_dims {
    int64_t d[4];
};

static inline tcu_dims tcu_dims_of(const int64_t v[4])
{
    tcu_dims r;
    for (int i = 0; i < 4; i++)
        r.d[i] = v[i];
    return r;
}

/* offset of row-major element i of `shape` read through `stride` */
__device__ __forceinline__ int64_t tcu_offset(int64_t i, const tcu_dims &shape, const tcu_dims &stride)
{
    int64_t off = 0;
    for (int d = 3; d >= 0; d--) {
        int64_t n = shape.d[d];
        if (n > 1) {
            int64_t q = i / n;
            off += (i - q * n) * stride.d[d];
            i = q;
        }
    }
    return off;
}

/* ---- memory and cuBLAS (cuda_backend.cu) ------------------------------------------ */

void *tcu_alloc(size_t bytes);
void tcu_free(void *p);
/* backend-owned device memory for one kernel sequence (reduction partials,
 * ...), grown on demand and reused: valid until the next tcu_scratch */
void *tcu_scratch(size_t bytes);

/* row-major sgemm as tal_backend.sgemm; the batched form steps A, B, C by
 * sA, sB, sC floats (0: the same matrix for every item) */
void tcu_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);
void tcu_sgemm_batched(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, long long sA,
                       const float *B, int ldb, long long sB, float beta, float *C, int ldc, long long sC, int batch);

/* ---- reductions ------------------------------------------------------------- */

__device__ __forceinline__ float tcu_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double tcu_warp_sum_d(double v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float tcu_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* the sum of v over the block (blockDim.x a multiple of 32, at most 1024),
 * returned to every thread; sh holds 32 floats */
__device__ __forceinline__ float tcu_block_sum(float v, float *sh)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = tcu_warp_sum(v);
    __syncthreads();   /* sh may still be read from a previous call */
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0f;
    return tcu_warp_sum(v);
}

__device__ __forceinline__ double tcu_block_sum_d(double v, double *sh)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = tcu_warp_sum_d(v);
    __syncthreads();
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    v = lane < nw ? sh[lane] : 0.0;
    return tcu_warp_sum_d(v);
}

/* ---- math shared with the CPU kernels' formulas ------------------------------------ */

__device__ __forceinline__ float tcu_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

#define TCU_INV_SQRT2 0.70710678118654752f
#define TCU_INV_SQRT_2PI 0.39894228040143268f

__device__ __forceinline__ float tcu_act(float x, int kind)
{
    if (kind == TAL_ACT_RELU)
        return x > 0.0f ? x : 0.0f;
    if (kind == TAL_ACT_GELU)
        return 0.5f * x * (1.0f + erff(x * TCU_INV_SQRT2));
    if (kind == TAL_ACT_SIGMOID)
        return tcu_sigmoid(x);
    return tal_act_extra(x, kind);
}

/* d act / dx times g, from the input x or the output y (sigmoid) */
__device__ __forceinline__ float tcu_act_grad(float g, float x, float y, int kind)
{
    if (kind == TAL_ACT_RELU)
        return x > 0.0f ? g : 0.0f;
    if (kind == TAL_ACT_GELU) {
        float cdf = 0.5f * (1.0f + erff(x * TCU_INV_SQRT2));
        float pdf = TCU_INV_SQRT_2PI * expf(-0.5f * x * x);
        return g * (cdf + x * pdf);
    }
    if (kind == TAL_ACT_SIGMOID)
        return g * y * (1.0f - y);
    return tal_act_extra_grad(g, x, y, kind);
}

/* ---- the table's entries, by file -------------------------------------------------- */

/* cuda_elem.cu */
void tcu_zero(float *p, size_t n);
void tcu_fill(float *p, float v, size_t n);
void tcu_copy(float *dst, const float *src, size_t n);
void tcu_strided_copy(float *out, const float *inp, const int64_t shape[4], const int64_t istride[4]);
void tcu_strided_store(float *dst, const int64_t dstride[4], const float *src, const int64_t shape[4], int acc);
void tcu_copy2d(float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int64_t cols, int acc);
void tcu_axpy(float *dst, const float *src, float alpha, size_t n, int acc);
void tcu_affine(float *out, const float *inp, float alpha, float beta, size_t n);
void tcu_binary_forward(float *out, const float *a, const float *b, const int64_t shape[4], const int64_t astride[4],
                        const int64_t bstride[4], int op);
void tcu_broadcast_reduce(float *dst, const int64_t dshape[4], const float *dout, const int64_t oshape[4],
                          const float *other, const int64_t ostride[4], float alpha, int acc);
void tcu_clamp_forward(float *out, const float *inp, size_t n, float lo, float hi);
void tcu_clamp_backward(float *dinp, const float *dout, const float *inp, size_t n, float lo, float hi, int acc);
void tcu_dropout_forward(float *out, const float *inp, size_t n, float p, const uint32_t key[2], uint64_t ctr);
void tcu_dropout_backward(float *dinp, const float *dout, size_t n, float p, const uint32_t key[2], uint64_t ctr,
                          int acc);
void tcu_rowscale(float *out, const float *inp, const float *scale, int64_t R, int64_t inner, int acc);
void tcu_act_forward(float *out, const float *inp, size_t n, int kind);
void tcu_act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, int kind,
                      int acc);
void tcu_softmax_forward(float *out, const float *inp, const float *mask, const int64_t shape[4],
                         const int64_t mstride[4], int dim, int log);
void tcu_softmax_backward(float *dinp, const float *dout, const float *out, const float *mask, const int64_t shape[4],
                          const int64_t mstride[4], int dim, int log, int acc);

/* cuda_conv.cu */
void tcu_conv1d_forward(float *out, const float *inp, const float *weight, const float *bias, const float *mask,
                        int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups, float *ws);
void tcu_conv1d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, const float *mask, int B, int Cin, int Cout, int T, int Tout, int K,
                         int stride, int pad, int groups, int acc_inp, int acc_w, int acc_b, float *ws);
/* dst[c] (+)= sum over b < B, t < T of x[(b*C + c)*T + t] (a channel's
 * rows of a (B,C,T) tensor), one block per channel */
void tcu_channel_sum(float *dst, const float *x, int B, int C, int T, int acc);

/* cuda_norm.cu */
void tcu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                           const float *bias, int B, int C, int T, float eps);
void tcu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const float *mean, const float *rstd, int B, int C, int T,
                            int acc_inp, int acc_w, int acc_b);
void tcu_layernorm_act_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                               const float *bias, int B, int C, int T, float eps, int act, float *ws);
void tcu_layernorm_act_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *out,
                                const float *inp, const float *weight, const float *bias, const float *mean,
                                const float *rstd, int B, int C, int T, int act, int acc_inp, int acc_w, int acc_b,
                                float *ws);
void tcu_l2norm_forward(float *out, float *norm, const float *inp, int64_t R, int64_t C, float eps);
void tcu_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int64_t R, int64_t C,
                         float eps, int acc);

/* cuda_pool.cu */
void tcu_maxpool1d_forward(float *out, int32_t *idx, const float *inp, int64_t R, int T, int Tout, int K, int S,
                           int P);
void tcu_maxpool1d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t R, int T, int Tout, int acc);
void tcu_topk_mean_forward(float *out, int32_t *idx, int32_t *kb, const float *inp, const float *mask, int B, int C,
                           int T, int k, int32_t *ws);
void tcu_topk_mean_backward(float *dinp, const float *dout, const int32_t *idx, const int32_t *kb, int B, int C,
                            int T, int k, int acc);
void tcu_gather_forward(float *out, const float *inp, const int32_t *index, int64_t O, int64_t D, int64_t I,
                        int64_t n);
void tcu_gather_backward(float *dinp, const float *dout, const int32_t *index, int64_t O, int64_t D, int64_t I,
                         int64_t n, int acc);
void tcu_reduce_forward(float *out, int32_t *idx, const float *inp, int64_t O, int64_t D, int64_t I, int op);
void tcu_reduce_backward(float *dinp, const float *dout, const int32_t *idx, int64_t O, int64_t D, int64_t I, int op,
                         int acc);
void tcu_resample_forward(float *out, const float *inp, int64_t R, int Tin, int Tout, int mode);
void tcu_resample_backward(float *dinp, const float *dout, int64_t R, int Tin, int Tout, int mode, int acc);

/* cuda_attn.cu */
void tcu_attn_forward(float *out, float *prob, const float *q, const float *k, const float *v, const float *mask,
                      int B, int H, int D, int T, int w, float scale, float *ws);
void tcu_attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                       const float *v, const float *prob, const float *mask, int B, int H, int D, int T, int w,
                       float scale, int acc_q, int acc_k, int acc_v, float *ws);

/* cuda_loss.cu */
void tcu_bce_forward(float *out, const float *x, const float *y, size_t n);
void tcu_bce_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, int acc);
void tcu_focal_forward(float *out, const float *x, const float *y, size_t n, float alpha, float gamma);
void tcu_focal_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float alpha,
                        float gamma, int acc);
void tcu_qfl_forward(float *out, const float *x, const float *y, size_t n, float beta);
void tcu_qfl_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float beta, int acc);
void tcu_ce_forward(float *out, float *lsm, const float *x, const int32_t *target, int64_t N, int K);
void tcu_pn_forward(float *out, const float *x, const float *wpos, const float *wneg, int64_t N, int K);
void tcu_pn_backward(float *dx, const float *dout, const float *x, const float *wpos, const float *wneg, int64_t N,
                     int K, int acc);
void tcu_ce_backward(float *dx, const float *dout, const float *lsm, const int32_t *target, int64_t N, int K,
                     int acc);
void tcu_diou_forward(float *out, const float *pred, const float *target, int64_t N, float eps);
void tcu_diou_backward(float *dpred, const float *dout, const float *pred, const float *target, int64_t N, float eps,
                       int acc);
void tcu_bcep_forward(float *out, const float *p, const float *y, size_t n, float gamma, int quality);
void tcu_bcep_backward(float *dp, const float *dout, const float *p, const float *y, size_t n, float gamma, int quality,
                       int acc);

/* cuda_optim.cu */
void tcu_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                     float eps, float wd, float bc1, float bc2, int decoupled);
void tcu_sgd_update(float *p, const float *g, float *buf, size_t n, float lr, float momentum, float wd, int nesterov,
                    int first);
void tcu_ema_update(float *e, const float *p, size_t n, float decay);
double tcu_sumsq(const float *x, size_t n);

#endif
