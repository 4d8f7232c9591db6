/* ops.h — the op set: each op computes its forward value now and records
 * its backward on the graph's tape (graph.h).
 *
 * Every op takes the graph first and returns a new tensor (or a view, where
 * said), or NULL after recording an error (tal_graph_status).  Inputs may be
 * views with any strides; ops that need contiguous memory copy first, and
 * the copy is part of the tape.  Shapes follow ActionFormer: sequences are
 * channel-first (B,C,T); a validity mask is a (B,T) tensor of 0/1 floats
 * that never gets a gradient.  Integer arguments (class targets, indices)
 * are host arrays and are copied.
 */
#ifndef TAL_NN_OPS_H
#define TAL_NN_OPS_H

#include "nn/graph.h"

/* ---- linear algebra (ops_linear.c) ------------------------------------- */

/* a (M,K) @ b (K,N) -> (M,N), or batched (B,M,K) @ (B,K,N) -> (B,M,N);
 * ta/tb: use a's / b's last two dimensions transposed */
tal_tensor *tal_matmul(tal_graph *g, tal_tensor *a, tal_tensor *b, int ta, int tb);
/* x (..., Cin), w (Cout, Cin), b (Cout) or NULL -> (..., Cout) */
tal_tensor *tal_linear(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b);

/* ---- convolution (ops_conv.c) ----------------------------------------- */

/* x (B,Cin,T), w (Cout, Cin/groups, K), b (Cout) or NULL, zero padding `pad`
 * on both sides -> (B,Cout,Tout), Tout = (T + 2 pad - K)/stride + 1; the
 * output is multiplied by mask (B,Tout) when given (a masked convolution).
 * K <= 64. */
tal_tensor *tal_conv1d(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b, int stride, int pad, int groups,
                       tal_tensor *mask);

/* ---- normalisation (ops_norm.c) ------------------------------------------- */

/* channel LayerNorm: x (B,C,T) normalised over C for each (b,t) with
 * biased variance; w, b (C) or NULL.  x (N,C) is treated as (N,C,1). */
tal_tensor *tal_layernorm(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b, float eps);
/* act(layernorm(x)), act one of TAL_ACT_RELU, _GELU, _SIGMOID: the same
 * values as the two ops in turn, in one kernel where the backend fuses
 * them, and without keeping the LayerNorm's output for backward */
tal_tensor *tal_layernorm_act(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b, float eps, int act);

/* each row of the last dimension scaled to unit Euclidean norm:
 * x / max(|x|, eps) (cosine similarities are products of such rows) */
tal_tensor *tal_l2_normalize(tal_graph *g, tal_tensor *x, float eps);

/* ---- activations (ops_act.c) ------------------------------------------------ */

tal_tensor *tal_relu(tal_graph *g, tal_tensor *x);
tal_tensor *tal_gelu(tal_graph *g, tal_tensor *x);          /* erf form */
tal_tensor *tal_sigmoid(tal_graph *g, tal_tensor *x);
/* |x| (gradient 0 at 0); 1/x; 1/sqrt(x) (x > 0: callers add an epsilon) */
tal_tensor *tal_abs(tal_graph *g, tal_tensor *x);
tal_tensor *tal_reciprocal(tal_graph *g, tal_tensor *x);
tal_tensor *tal_rsqrt(tal_graph *g, tal_tensor *x);
/* softsign as a gate in (0, 1): (x / (1 + |x|) + 1) / 2 */
tal_tensor *tal_softsign_gate(tal_graph *g, tal_tensor *x);
/* binarisation: 1 where x > 0, else 0, with the straight-through gradient
 * (backward passes the output's gradient unchanged, as the identity would) */
tal_tensor *tal_step_st(tal_graph *g, tal_tensor *x);
/* softmax / log-softmax over `dim` (negative counts from the end); mask
 * (may be NULL) broadcasts against x; masked entries give 0 and get no
 * gradient; a row with every entry masked is 0 */
tal_tensor *tal_softmax(tal_graph *g, tal_tensor *x, int dim, tal_tensor *mask);
tal_tensor *tal_log_softmax(tal_graph *g, tal_tensor *x, int dim, tal_tensor *mask);

/* ---- pooling and selection (ops_pool.c) ------------------------------------ */

/* max-pool over the last dimension, -inf padding: (..., T) -> (..., Tout) */
tal_tensor *tal_maxpool1d(tal_graph *g, tal_tensor *x, int kernel, int stride, int pad);
/* x (B,C,T) -> (B,C): mean of the k largest values over time among the
 * positions where mask (B,T) is 1 (all when NULL); fewer valid positions
 * than k: the mean of those; none: 0 */
tal_tensor *tal_topk_mean(tal_graph *g, tal_tensor *x, int k, tal_tensor *mask);
/* index_select: out takes x's slices index[0..n) along dim */
tal_tensor *tal_gather(tal_graph *g, tal_tensor *x, int dim, const int32_t *index, int64_t n);

/* ---- attention (ops_attn.c) ----------------------------------------------- */

/* multi-head attention of q, k, v (B, C, T), C = heads * D, scale 1/sqrt(D).
 * window >= 2: query t sees keys t-w..t+w with w = window/2 (window 19 ->
 * w = 9); keys outside the sequence excluded, padded keys (mask 0) -1e4,
 * rows of padded queries 0.  window <= 1: every key, padded keys excluded.
 * mask (B,T) or NULL.  Returns (B,C,T). */
tal_tensor *tal_attention(tal_graph *g, tal_tensor *q, tal_tensor *k, tal_tensor *v, tal_tensor *mask, int heads,
                          int window);

/* ---- regularisers (ops_elem.c) -------------------------------------------- */

/* inverted dropout (training mode only; identity otherwise or when p = 0) */
tal_tensor *tal_dropout(tal_graph *g, tal_tensor *x, float p);
/* drop-path: each sample of the batch (dimension 0) kept with probability
 * 1-p and scaled by 1/(1-p) (training only) */
tal_tensor *tal_drop_path(tal_graph *g, tal_tensor *x, float p);
/* LayerScale: x (B,C,T) times a per-channel scale (C) or (1,C,1) */
tal_tensor *tal_layer_scale(tal_graph *g, tal_tensor *x, tal_tensor *scale);

/* ---- elementwise (ops_elem.c) ----------------------------------------------- */

/* broadcasting (NumPy rules, up to 4 dimensions) */
tal_tensor *tal_add(tal_graph *g, tal_tensor *a, tal_tensor *b);
tal_tensor *tal_sub(tal_graph *g, tal_tensor *a, tal_tensor *b);
tal_tensor *tal_mul(tal_graph *g, tal_tensor *a, tal_tensor *b);
/* alpha * x + beta */
tal_tensor *tal_affine(tal_graph *g, tal_tensor *x, float alpha, float beta);
tal_tensor *tal_scale(tal_graph *g, tal_tensor *x, float alpha);
/* clamp to [lo, hi] (use -INFINITY / INFINITY for one side); the gradient
 * passes where lo <= x <= hi */
tal_tensor *tal_clamp(tal_graph *g, tal_tensor *x, float lo, float hi);

/* ---- shapes (ops_shape.c) ----------------------------------------------- */

tal_tensor *tal_concat(tal_graph *g, int n, tal_tensor **xs, int dim);
/* view of x[start:end] along dim */
tal_tensor *tal_slice(tal_graph *g, tal_tensor *x, int dim, int64_t start, int64_t end);
/* view with a new shape (one entry may be -1); copies if x is not contiguous */
tal_tensor *tal_reshape(tal_graph *g, tal_tensor *x, int ndim, const int64_t *shape);
/* view with two dimensions swapped */
tal_tensor *tal_transpose(tal_graph *g, tal_tensor *x, int d0, int d1);
tal_tensor *tal_contiguous(tal_graph *g, tal_tensor *x);

/* ---- reductions (ops_reduce.c) -------------------------------------------- */

tal_tensor *tal_sum(tal_graph *g, tal_tensor *x, int dim, int keepdim);
tal_tensor *tal_mean(tal_graph *g, tal_tensor *x, int dim, int keepdim);
/* max over dim; the gradient goes to the first maximum */
tal_tensor *tal_max(tal_graph *g, tal_tensor *x, int dim, int keepdim);
/* over every element: a tensor of one element (0 dimensions) */
tal_tensor *tal_sum_all(tal_graph *g, tal_tensor *x);
tal_tensor *tal_mean_all(tal_graph *g, tal_tensor *x);
tal_tensor *tal_max_all(tal_graph *g, tal_tensor *x);

/* ---- resampling (ops_resample.c) -------------------------------------------- */

/* resample the last dimension to Tout: TAL_RESAMPLE_NEAREST or _LINEAR,
 * as PyTorch's interpolate with align_corners=False */
tal_tensor *tal_resample(tal_graph *g, tal_tensor *x, int Tout, int mode);

/* ---- losses (ops_loss.c); elementwise, no reduction ------------------------- */

/* targets y have x's shape and get no gradient */
tal_tensor *tal_bce_logits(tal_graph *g, tal_tensor *x, tal_tensor *y);
/* sigmoid focal loss (alpha < 0: no alpha weighting) */
tal_tensor *tal_sigmoid_focal(tal_graph *g, tal_tensor *x, tal_tensor *y, float alpha, float gamma);
/* quality focal loss: bce(x, y) * |y - sigmoid(x)|^beta, y soft in [0,1] */
tal_tensor *tal_quality_focal(tal_graph *g, tal_tensor *x, tal_tensor *y, float beta);
/* x (N,K) logits, target (N) class indices (negative: ignored, loss 0) -> (N) */
tal_tensor *tal_cross_entropy(tal_graph *g, tal_tensor *x, const int32_t *target);
/* positive-negative learning on a softmax (METHODS.md §2): x (N,K) logits,
 * wpos, wneg (N,K) weights or NULL (no gradient) ->
 * (N): sum_c wpos[.,c] (-log p_c) + wneg[.,c] (-log(1 - p_c)), p = softmax
 * of the row.  wpos one-hot is cross-entropy; a distribution, soft
 * labels; wneg on chosen classes, negative learning.  K >= 2. */
tal_tensor *tal_softmax_pn(tal_graph *g, tal_tensor *x, tal_tensor *wpos, tal_tensor *wneg);
/* 1-D DIoU of (left, right) distances: pred, target (N,2) -> (N) */
tal_tensor *tal_diou_1d(tal_graph *g, tal_tensor *pred, tal_tensor *target);
/* focal BCE on probabilities p in [0,1] (a product of sigmoids, say), not
 * logits: -[y (1-p)^gamma log p + (1-y) p^gamma log(1-p)]; gamma 0 is
 * plain BCE.  p is clamped to [1e-6, 1 - 1e-6] inside the logarithms and
 * gets no gradient where the clamp bites.  y has p's shape, no gradient. */
tal_tensor *tal_bce_prob(tal_graph *g, tal_tensor *p, tal_tensor *y, float gamma);
/* quality focal loss on probabilities p in [0,1] (APL's joint score, a
 * product of sigmoids): -|y - p|^beta [y log p + (1-y) log(1-p)], y soft
 * in [0,1], no gradient; the same clamp as bce_prob.  Equal to bce_prob
 * where y is 0 or 1. */
tal_tensor *tal_quality_focal_prob(tal_graph *g, tal_tensor *p, tal_tensor *y, float beta);
/* supervised-contrastive InfoNCE (APL's ACP, METHODS.md §3): z (N,E)
 * embeddings (normalise them first), labels (N) -> a scalar: the mean over
 * anchors i with a positive (another j of its label) of
 * -1/|P(i)| sum_{p in P(i)} log(exp(z_i.z_p/tau) / sum_{a != i} exp(z_i.z_a/tau)).
 * 0 when no anchor has a positive. */
tal_tensor *tal_supcon(tal_graph *g, tal_tensor *z, const int32_t *labels, float tau);

#endif
