/* backend.h — the compute backends behind one function table.
 *
 * Every numerical kernel the nn layer needs is a pointer in tal_backend.
 * The nn layer (lib/nn/ops_*.c) checks shapes, allocates outputs, records
 * the tape and calls these; it never touches a number itself.  The CPU
 * backend (cpu_*.c, OpenBLAS + OpenMP) is the first one and the oracle
 * every other backend is checked against; a CUDA backend fills in the same
 * table.  Call sites never test which backend they run on.
 *
 * Conventions (llm.c style): outputs first, then inputs, then shapes.
 * Tensors are contiguous float32 in row-major order unless a stride is
 * passed; `// inp is (B,C,T)` comments give the shapes.  A gradient output
 * comes with an `acc` flag: acc = 0 sets it (=), acc = 1 adds to it (+=).
 * Scratch memory a kernel needs is passed in by the caller (`ws`), sized by
 * the *_ws functions below, so that kernels never allocate.
 *
 * Randomness: kernels that draw random numbers take a Philox key and a
 * counter base; element i uses word i%4 of block (base + i/4), so the same
 * (key, base) gives the same mask on any backend and any thread count.
 */
#ifndef TAL_BACKENDS_BACKEND_H
#define TAL_BACKENDS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* unary activations */
enum { TAL_ACT_RELU = 0, TAL_ACT_GELU = 1, TAL_ACT_SIGMOID = 2 };
/* elementwise functions on the same kernels (formulas.h): |x|, 1/x, 1/sqrt(x),
 * the softsign gate (x/(1+|x|)+1)/2 and a step x > 0 with an identity gradient */
enum { TAL_ACT_ABS = 3, TAL_ACT_RECIP = 4, TAL_ACT_RSQRT = 5, TAL_ACT_SOFTSIGN = 6, TAL_ACT_STEP = 7 };
/* broadcast binary operations */
enum { TAL_BIN_ADD = 0, TAL_BIN_SUB = 1, TAL_BIN_MUL = 2 };
/* reductions */
enum { TAL_RED_SUM = 0, TAL_RED_MEAN = 1, TAL_RED_MAX = 2 };
/* resampling along time */
enum { TAL_RESAMPLE_NEAREST = 0, TAL_RESAMPLE_LINEAR = 1 };

/* Strided views are described on 4 dimensions (leading dimensions of
 * size 1 pad smaller tensors). */
#define TAL_BE_DIMS 4

typedef struct tal_backend {
    const char *name;

    /* 0, or the first error of a backend whose kernels run asynchronously
     * (a failed CUDA call or launch): the error is sticky, later kernels do
     * nothing, and every call of status() records its message again with
     * tal_err and returns its code.  Callers check it where results reach
     * the host (downloads, the end of backward, optimiser steps,
     * checkpoints).  The CPU's is always 0. */
    int (*status)(void);

    /* ---- memory ------------------------------------------------------ */
    void *(*alloc)(size_t bytes);             /* 64-byte aligned; NULL on failure */
    void (*free)(void *p);
    void (*zero)(float *p, size_t n);
    void (*fill)(float *p, float v, size_t n);
    void (*copy)(float *dst, const float *src, size_t n);
    void (*upload)(void *dst, const void *host, size_t bytes);
    void (*download)(void *host, const void *src, size_t bytes);

    /* ---- matrix multiply --------------------------------------------- */
    /* C (M,N) = alpha * op(A) @ op(B) + beta * C, row-major; op(A) is (M,K),
     * op(B) is (K,N); ta/tb = 1 transposes. */
    void (*sgemm)(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);

    /* ---- copies, views, elementwise ---------------------------------- */
    /* out (contiguous, shape[4]) = inp viewed with strides istride[4] */
    void (*strided_copy)(float *out, const float *inp, const int64_t shape[4], const int64_t istride[4]);
    /* dst viewed with strides dstride[4] (+)= src (contiguous, shape[4]) */
    void (*strided_store)(float *dst, const int64_t dstride[4], const float *src, const int64_t shape[4], int acc);
    /* 2-D block: dst[r*dld + c] (+)= src[r*sld + c], r < rows, c < cols */
    void (*copy2d)(float *dst, int64_t dld, const float *src, int64_t sld, int64_t rows, int64_t cols, int acc);
    /* dst (+)= alpha * src */
    void (*axpy)(float *dst, const float *src, float alpha, size_t n, int acc);
    /* out = alpha * inp + beta */
    void (*affine)(float *out, const float *inp, float alpha, float beta, size_t n);
    /* out = op(a, b) with broadcasting: a and b are read through strides
     * (0 on broadcast dimensions) over the output shape */
    void (*binary_forward)(float *out, const float *a, const float *b, const int64_t shape[4],
                           const int64_t astride[4], const int64_t bstride[4], int op);
    /* dst (shape dshape[4], each dimension 1 or the output's) (+)=
     * alpha * sum over broadcast dimensions of dout * other, where dout has
     * shape oshape[4] and other (may be NULL = 1) is read through ostride[4] */
    void (*broadcast_reduce)(float *dst, const int64_t dshape[4], const float *dout, const int64_t oshape[4],
                             const float *other, const int64_t ostride[4], float alpha, int acc);
    /* y = x clamped to [lo, hi]; the gradient passes where lo <= x <= hi */
    void (*clamp_forward)(float *out, const float *inp, size_t n, float lo, float hi);
    void (*clamp_backward)(float *dinp, const float *dout, const float *inp, size_t n, float lo, float hi, int acc);
    /* inverted dropout: keep with probability 1-p, scale by 1/(1-p) */
    void (*dropout_forward)(float *out, const float *inp, size_t n, float p, const uint32_t key[2], uint64_t ctr);
    void (*dropout_backward)(float *dinp, const float *dout, size_t n, float p, const uint32_t key[2], uint64_t ctr, int acc);
    /* out[r, i] (+)= inp[r, i] * scale[r]  (inp is (R, inner)); drop-path */
    void (*rowscale)(float *out, const float *inp, const float *scale, int64_t R, int64_t inner, int acc);

    /* ---- linear / convolution ---------------------------------------- */
    /* out (B,Cout,Tout) = mask[b,t] * (conv(inp, weight) + bias)
     * inp (B,Cin,T), weight (Cout, Cin/groups, K), bias (Cout) or NULL,
     * mask (B,Tout) or NULL; zero padding `pad` on both sides. */
    void (*conv1d_forward)(float *out, const float *inp, const float *weight, const float *bias, const float *mask,
                           int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups,
                           float *ws);
    /* dout is the gradient of the masked output; the kernel applies the
     * mask (NULL: none).  ws: tal_conv1d_ws(0, ...) floats, plus B*Cout*Tout
     * when there is a mask.  Any of dinp, dweight, dbias may be NULL. */
    void (*conv1d_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                            const float *weight, const float *mask, int B, int Cin, int Cout, int T, int Tout,
                            int K, int stride, int pad, int groups, int acc_inp, int acc_w, int acc_b, float *ws);

    /* ---- normalisation ----------------------------------------------- */
    /* channel LayerNorm: for each (b,t), normalise inp[b,:,t] over C with
     * biased variance; mean, rstd are (B,T) */
    void (*layernorm_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                              const float *bias, int B, int C, int T, float eps);
    void (*layernorm_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int B, int C, int T,
                               int acc_inp, int acc_w, int acc_b);

    /* LayerNorm followed by activation `act` (TAL_ACT_*), in one pass where
     * the backend can: out = act(layernorm(inp)).  The backward recomputes
     * the normalised values from inp, mean and rstd (out is read for the
     * sigmoid), so the LayerNorm's own output is never kept.
     * ws: tal_lnact_ws(fwd, ...) floats. */
    void (*layernorm_act_forward)(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                                  const float *bias, int B, int C, int T, float eps, int act, float *ws);
    void (*layernorm_act_backward)(float *dinp, float *dweight, float *dbias, const float *dout, const float *out,
                                   const float *inp, const float *weight, const float *bias, const float *mean,
                                   const float *rstd, int B, int C, int T, int act, int acc_inp, int acc_w,
                                   int acc_b, float *ws);

    /* ---- activations ------------------------------------------------- */
    void (*act_forward)(float *out, const float *inp, size_t n, int kind);
    /* uses inp (GELU, ReLU) or out (sigmoid) */
    void (*act_backward)(float *dinp, const float *dout, const float *inp, const float *out, size_t n, int kind,
                         int acc);
    /* softmax or log-softmax over dimension `dim` of a contiguous tensor of
     * shape[4]; mask (may be NULL) is read through mstride[4]; masked
     * entries give 0 (both variants) and no gradient; an all-masked row is 0 */
    void (*softmax_forward)(float *out, const float *inp, const float *mask, const int64_t shape[4],
                            const int64_t mstride[4], int dim, int log);
    void (*softmax_backward)(float *dinp, const float *dout, const float *out, const float *mask,
                             const int64_t shape[4], const int64_t mstride[4], int dim, int log, int acc);

    /* ---- pooling, selection ------------------------------------------ */
    /* inp (R,T) -> out (R,Tout), window K, stride S, -inf padding P;
     * idx (R,Tout) holds the argmax (first maximum) */
    void (*maxpool1d_forward)(float *out, int32_t *idx, const float *inp, int64_t R, int T, int Tout, int K, int S,
                              int P);
    void (*maxpool1d_backward)(float *dinp, const float *dout, const int32_t *idx, int64_t R, int T, int Tout,
                               int acc);
    /* inp (B,C,T) -> out (B,C): mean of the k largest valid values of each
     * row; mask (B,T) or NULL; kb (B) receives min(k, valid count);
     * idx (B,C,k) the chosen positions; ws holds B*C*T ints */
    void (*topk_mean_forward)(float *out, int32_t *idx, int32_t *kb, const float *inp, const float *mask, int B,
                              int C, int T, int k, int32_t *ws);
    void (*topk_mean_backward)(float *dinp, const float *dout, const int32_t *idx, const int32_t *kb, int B, int C,
                               int T, int k, int acc);
    /* inp (O,D,I) -> out (O,n,I): out[o,j,i] = inp[o,index[j],i] */
    void (*gather_forward)(float *out, const float *inp, const int32_t *index, int64_t O, int64_t D, int64_t I,
                           int64_t n);
    void (*gather_backward)(float *dinp, const float *dout, const int32_t *index, int64_t O, int64_t D, int64_t I,
                            int64_t n, int acc);
    /* reduce inp (O,D,I) over D -> out (O,I); idx (O,I) = argmax for MAX */
    void (*reduce_forward)(float *out, int32_t *idx, const float *inp, int64_t O, int64_t D, int64_t I, int op);
    void (*reduce_backward)(float *dinp, const float *dout, const int32_t *idx, int64_t O, int64_t D, int64_t I,
                            int op, int acc);
    /* inp (R,Tin) -> out (R,Tout), PyTorch interpolate semantics
     * (align_corners = False) */
    void (*resample_forward)(float *out, const float *inp, int64_t R, int Tin, int Tout, int mode);
    void (*resample_backward)(float *dinp, const float *dout, int64_t R, int Tin, int Tout, int mode, int acc);

    /* ---- attention --------------------------------------------------- */
    /* q, k, v, out (B, H*D, T) channel-first; head h owns channels
     * [h*D, (h+1)*D).  Local: query t sees keys t-w..t+w; keys outside the
     * sequence are excluded, keys with mask 0 get -1e4 added, rows of
     * queries with mask 0 are zeroed after the softmax.  prob is
     * (B,H,2w+1,T).  Global (w < 0): every key, masked keys excluded, prob is
     * (B,H,T,T) as [query][key]. */
    void (*attn_forward)(float *out, float *prob, const float *q, const float *k, const float *v, const float *mask,
                         int B, int H, int D, int T, int w, float scale, float *ws);
    void (*attn_backward)(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                          const float *v, const float *prob, const float *mask, int B, int H, int D, int T, int w, float scale,
                          int acc_q, int acc_k, int acc_v, float *ws);

    /* ---- losses (elementwise, no reduction) -------------------------- */
    /* BCE with logits: max(x,0) - x*y + log(1 + exp(-|x|)) */
    void (*bce_forward)(float *out, const float *x, const float *y, size_t n);
    void (*bce_backward)(float *dx, const float *dout, const float *x, const float *y, size_t n, int acc);
    /* sigmoid focal: alpha_t * (1-p_t)^gamma * bce; alpha < 0 disables alpha_t */
    void (*focal_forward)(float *out, const float *x, const float *y, size_t n, float alpha, float gamma);
    void (*focal_backward)(float *dx, const float *dout, const float *x, const float *y, size_t n, float alpha,
                           float gamma, int acc);
    /* quality focal: bce(x, y) * |y - sigmoid(x)|^beta */
    void (*qfl_forward)(float *out, const float *x, const float *y, size_t n, float beta);
    void (*qfl_backward)(float *dx, const float *dout, const float *x, const float *y, size_t n, float beta,
                         int acc);
    /* cross-entropy of logits x (N,K) against class targets; target < 0
     * is ignored (loss 0); lsm (N,K) keeps the log-softmax */
    void (*ce_forward)(float *out, float *lsm, const float *x, const int32_t *target, int64_t N, int K);
    void (*ce_backward)(float *dx, const float *dout, const float *lsm, const int32_t *target, int64_t N, int K,
                        int acc);
    /* positive-negative learning on a softmax: for each row i of logits
     * x (N,K), out[i] = sum_c wpos[i,c] (-log p_ic) + wneg[i,c] (-log(1 - p_ic))
     * with p = softmax(x[i]); wpos or wneg may be NULL (all 0) */
    void (*pn_forward)(float *out, const float *x, const float *wpos, const float *wneg, int64_t N, int K);
    void (*pn_backward)(float *dx, const float *dout, const float *x, const float *wpos, const float *wneg,
                        int64_t N, int K, int acc);
    /* 1-D DIoU of (left, right) offsets: pred, target (N,2) -> out (N) */
    void (*diou_forward)(float *out, const float *pred, const float *target, int64_t N, float eps);
    void (*diou_backward)(float *dpred, const float *dout, const float *pred, const float *target, int64_t N,
                          float eps, int acc);
    /* focal BCE on probabilities p (not logits), formulas.h tal_bce_prob:
     * -[y (1-p)^gamma log p + (1-y) p^gamma log(1-p)]; quality: both
     * terms weighted by |y - p|^gamma */
    void (*bcep_forward)(float *out, const float *p, const float *y, size_t n, float gamma, int quality);
    void (*bcep_backward)(float *dp, const float *dout, const float *p, const float *y, size_t n, float gamma,
                          int quality, int acc);
    /* rows of inp (R,C) to unit L2 norm: out = inp / norm, norm (R) =
     * max(|row|, eps); backward: (dout - out (out . dout)) / norm, or
     * dout / eps where the norm was eps */
    void (*l2norm_forward)(float *out, float *norm, const float *inp, int64_t R, int64_t C, float eps);
    void (*l2norm_backward)(float *dinp, const float *dout, const float *out, const float *norm, int64_t R, int64_t C,
                            float eps, int acc);

    /* ---- optimisers -------------------------------------------------- */
    /* Adam(W) on n parameters; bc1 = 1 - beta1^t, bc2 = 1 - beta2^t.
     * decoupled = 1: p -= lr*wd*p (AdamW); 0: g += wd*p (Adam's L2). */
    void (*adam_update)(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2,
                        float eps, float wd, float bc1, float bc2, int decoupled);
    /* SGD with momentum (PyTorch form, dampening 0): buf = mu*buf + g
     * (buf = g on the first step); p -= lr * (nesterov ? g + mu*buf : buf) */
    void (*sgd_update)(float *p, const float *g, float *buf, size_t n, float lr, float momentum, float wd,
                       int nesterov, int first);
    /* e = decay*e + (1-decay)*p */
    void (*ema_update)(float *e, const float *p, size_t n, float decay);
    /* sum of squares, accumulated in double */
    double (*sumsq)(const float *x, size_t n);
} tal_backend;

/* The CPU backend (always present). */
extern const tal_backend tal_backend_cpu;

/* Threads the CPU kernels use (OpenMP); 0 = the OpenMP default. */
void tal_cpu_set_threads(int n);
int tal_cpu_threads(void);

/* Scratch sizes (in floats) a backend kernel needs from its caller. */
size_t tal_conv1d_ws(int fwd, int B, int Cin, int Cout, int T, int Tout, int K, int stride, int pad, int groups);
size_t tal_attn_ws(int fwd, int B, int H, int D, int T, int w);
size_t tal_lnact_ws(int fwd, int B, int C, int T);

#endif
