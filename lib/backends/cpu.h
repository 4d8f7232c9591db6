/* cpu.h — internal to the CPU backend: the kernels the table in cpu.c
 * points at, and the helpers the kernel files share. */
#ifndef TAL_BACKENDS_CPU_H
#define TAL_BACKENDS_CPU_H

#include "backend.h"
#include "cpu_math.h"

#include <stddef.h>
#include <stdint.h>

/* Elementwise work is split into chunks of this many elements; a loop of
 * one chunk runs on the calling thread without an OpenMP region. */
#define TAL_CPU_CHUNK 16384

/* Run `body` over [lo, hi) chunks of [0, n) in parallel (static schedule,
 * so each thread gets the same chunks on every call). */
#define TAL_PAR_CHUNKS(n, lo, hi, body)                                              \
    do {                                                                              \
        size_t n_ = (n), nc_ = (n_ + TAL_CPU_CHUNK - 1) / TAL_CPU_CHUNK;              \
        _Pragma("omp parallel for schedule(static) if (nc_ > 1)")                     \
        for (size_t c_ = 0; c_ < nc_; c_++) {                                        \
            size_t lo = c_ * TAL_CPU_CHUNK;                                          \
            size_t hi = lo + TAL_CPU_CHUNK < n_ ? lo + TAL_CPU_CHUNK : n_;            \
            body;                                                                    \
        }                                                                            \
    } while (0)

/* cpu_gemm.c */
void tal_cpu_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                   int ldb, float beta, float *C, int ldc);
/* Benchmark accounting of the products above: returns what was counted
 * since the last call (calls, floating-point operations, seconds outside
 * parallel regions), then turns counting on or off and starts again. */
typedef struct {
    uint64_t calls;
    double flops, seconds;
} tal_cpu_gemm_stats;
void tal_cpu_gemm_account(int on, tal_cpu_gemm_stats *s);

/* cpu_elem.c */
void tal_cpu_zero(float *p, size_t n);
void tal_cpu_fill(float *p, float v, size_t n);
void tal_cpu_copy(float *dst, const float *src, size_t n);
void tal_cpu_strided_copy(float *out, const float *inp, const int64_t shape[4], const int64_t istride[4]);
void tal_cpu_strided_store(float *dst, const int64_t dstride[4], const float *src, const int64_t shape[4], int acc);
void tal_cpu_copy2d(float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int64_t cols, int acc);
void tal_cpu_axpy(float *dst, const float *src, float alpha, size_t n, int acc);
void tal_cpu_affine(float *out, const float *inp, float alpha, float beta, size_t n);
void tal_cpu_binary_forward(float *out, const float *a, const float *b, const int64_t shape[4],
                            const int64_t astride[4], const int64_t bstride[4], int op);
void tal_cpu_broadcast_reduce(float *dst, const int64_t dshape[4], const float *dout, const int64_t oshape[4],
                              const float *other, const int64_t ostride[4], float alpha, int acc);
void tal_cpu_clamp_forward(float *out, const float *inp, size_t n, float lo, float hi);
void tal_cpu_clamp_backward(float *dinp, const float *dout, const float *inp, size_t n, float lo, float hi, int acc);
void tal_cpu_dropout_forward(float *out, const float *inp, size_t n, float p, const uint32_t key[2], uint64_t ctr);
void tal_cpu_dropout_backward(float *dinp, const float *dout, size_t n, float p, const uint32_t key[2], uint64_t ctr,
                              int acc);
void tal_cpu_rowscale(float *out, const float *inp, const float *scale, int64_t R, int64_t inner, int acc);

/* cpu_conv.c */
void tal_cpu_conv1d_forward(float *out, const float *inp, const float *weight, const float *bias, const float *mask,
                            int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups,
                            float *ws);
void tal_cpu_conv1d_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                             const float *weight, const float *mask, int B, int Cin, int Cout, int T, int Tout,
                             int K, int stride, int pad, int groups, int acc_inp, int acc_w, int acc_b, float *ws);

/* cpu_norm.c */
void tal_cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                               const float *bias, int B, int C, int T, float eps);
void tal_cpu_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                                const float *weight, const float *mean, const float *rstd, int B, int C, int T,
                                int acc_inp, int acc_w, int acc_b);
void tal_cpu_layernorm_act_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                   const float *bias, int B, int C, int T, float eps, int act, float *ws);
void tal_cpu_layernorm_act_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *out,
                                    const float *inp, const float *weight, const float *bias, const float *mean,
                                    const float *rstd, int B, int C, int T, int act, int acc_inp, int acc_w,
                                    int acc_b, float *ws);

/* cpu_act.c */
void tal_cpu_act_forward(float *out, const float *inp, size_t n, int kind);
void tal_cpu_act_backward(float *dinp, const float *dout, const float *inp, const float *out, size_t n, int kind,
                          int acc);
void tal_cpu_softmax_forward(float *out, const float *inp, const float *mask, const int64_t shape[4],
                             const int64_t mstride[4], int dim, int log);
void tal_cpu_softmax_backward(float *dinp, const float *dout, const float *out, const float *mask,
                              const int64_t shape[4], const int64_t mstride[4], int dim, int log, int acc);

/* cpu_pool.c */
void tal_cpu_maxpool1d_forward(float *out, int32_t *idx, const float *inp, int64_t R, int T, int Tout, int K, int S,
                               int P);
void tal_cpu_maxpool1d_backward(float *dinp, const float *dout, const int32_t *idx, int64_t R, int T, int Tout,
                                int acc);
void tal_cpu_topk_mean_forward(float *out, int32_t *idx, int32_t *kb, const float *inp, const float *mask, int B,
                               int C, int T, int k, int32_t *ws);
void tal_cpu_topk_mean_backward(float *dinp, const float *dout, const int32_t *idx, const int32_t *kb, int B, int C,
                                int T, int k, int acc);
void tal_cpu_gather_forward(float *out, const float *inp, const int32_t *index, int64_t O, int64_t D, int64_t I,
                            int64_t n);
void tal_cpu_gather_backward(float *dinp, const float *dout, const int32_t *index, int64_t O, int64_t D, int64_t I,
                             int64_t n, int acc);
void tal_cpu_reduce_forward(float *out, int32_t *idx, const float *inp, int64_t O, int64_t D, int64_t I, int op);
void tal_cpu_reduce_backward(float *dinp, const float *dout, const int32_t *idx, int64_t O, int64_t D, int64_t I,
                             int op, int acc);
void tal_cpu_resample_forward(float *out, const float *inp, int64_t R, int Tin, int Tout, int mode);
void tal_cpu_resample_backward(float *dinp, const float *dout, int64_t R, int Tin, int Tout, int mode, int acc);

/* cpu_attn.c */
void tal_cpu_attn_forward(float *out, float *prob, const float *q, const float *k, const float *v, const float *mask,
                          int B, int H, int D, int T, int w, float scale, float *ws);
void tal_cpu_attn_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, const float *prob, const float *mask, int B, int H, int D, int T, int w, float scale,
                           int acc_q, int acc_k, int acc_v, float *ws);

/* cpu_loss.c */
void tal_cpu_bce_forward(float *out, const float *x, const float *y, size_t n);
void tal_cpu_bce_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, int acc);
void tal_cpu_focal_forward(float *out, const float *x, const float *y, size_t n, float alpha, float gamma);
void tal_cpu_focal_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float alpha,
                            float gamma, int acc);
void tal_cpu_bcep_forward(float *out, const float *p, const float *y, size_t n, float gamma, int quality);
void tal_cpu_bcep_backward(float *dp, const float *dout, const float *p, const float *y, size_t n, float gamma,
                           int quality, int acc);
void tal_cpu_l2norm_forward(float *out, float *norm, const float *inp, int64_t R, int64_t C, float eps);
void tal_cpu_l2norm_backward(float *dinp, const float *dout, const float *out, const float *norm, int64_t R, int64_t C,
                             float eps, int acc);
void tal_cpu_qfl_forward(float *out, const float *x, const float *y, size_t n, float beta);
void tal_cpu_qfl_backward(float *dx, const float *dout, const float *x, const float *y, size_t n, float beta, int acc);
void tal_cpu_ce_forward(float *out, float *lsm, const float *x, const int32_t *target, int64_t N, int K);
void tal_cpu_pn_forward(float *out, const float *x, const float *wpos, const float *wneg, int64_t N, int K);
void tal_cpu_pn_backward(float *dx, const float *dout, const float *x, const float *wpos, const float *wneg, int64_t N,
                         int K, int acc);
void tal_cpu_ce_backward(float *dx, const float *dout, const float *lsm, const int32_t *target, int64_t N, int K,
                         int acc);
void tal_cpu_diou_forward(float *out, const float *pred, const float *target, int64_t N, float eps);
void tal_cpu_diou_backward(float *dpred, const float *dout, const float *pred, const float *target, int64_t N,
                           float eps, int acc);

/* cpu_optim.c */
void tal_cpu_adam_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                         float eps, float wd, float bc1, float bc2, int decoupled);
void tal_cpu_sgd_update(float *p, const float *g, float *buf, size_t n, float lr, float momentum, float wd,
                        int nesterov, int first);
void tal_cpu_ema_update(float *e, const float *p, size_t n, float decay);
double tal_cpu_sumsq(const float *x, size_t n);

#endif
