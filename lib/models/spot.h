/* spot.h — the pieces of the SPOT-style detector (METHODS.md §1,
 * reference-methods.md §2): resampling to a fixed temporal scale, training
 * targets, the network, its losses, and candidate generation at inference.
 * spot_detector.c joins them into the tal_det_ops of model.kind spot; the
 * semi-supervised methods reuse them (the network's snippet embedding is
 * returned for the contrastive refinement they add).
 *
 * Coordinates.  A record has T_in snippets on its grid (data/grid.h): grid
 * position g is the centre of input snippet g, which covers [g-0.5, g+0.5].
 * Resampled to T snippets, output snippet j covers the input interval
 * [j*s, (j+1)*s) in "cell" coordinates (input snippet i = cell [i, i+1)),
 * s = T_in / T, so
 *     output cell u  <->  grid position u*s - 0.5.
 * This is the geometry of PyTorch's interpolate with align_corners=False,
 * which SPOT uses to resample its features.
 */
#ifndef TAL_MODELS_SPOT_H
#define TAL_MODELS_SPOT_H

#include "af_backbone.h"
#include "../data/grid.h"
#include "../data/record.h"
#include "../nn/graph.h"
#include "../nn/params.h"
#include "../util/rng.h"

#include <stddef.h>
#include <stdint.h>

enum { TAL_SPOT_LINEAR = 0, TAL_SPOT_AREA = 1 };

/* ---- resampling (spot_targets.c) -------------------------------------------- */

/* Resample C channels of a sequence from T_in to T_out samples along time.
 * Element (t, c) of x is x[t*xt + c*xc], of y y[t*yt + c*yc] (strides in
 * floats), so one function serves (T,D) row-major input and (D,T)
 * channel-first output.  TAL_SPOT_LINEAR: PyTorch's interpolate(mode=
 * 'linear', align_corners=False) (source position (j+0.5)*s-0.5, clamped at
 * 0; no antialiasing when shrinking).  TAL_SPOT_AREA: each output sample is
 * the mean of the input over its cell [j*s, (j+1)*s), partial input cells
 * weighted by their overlap (PyTorch's 'area' mode when T_in is a multiple
 * of T_out).  T_in, T_out >= 1. */
void tal_spot_resample(const float *x, ptrdiff_t xt, ptrdiff_t xc, int T_in, int C, int T_out, int mode, float *y,
                       ptrdiff_t yt, ptrdiff_t yc);

/* ---- the fixed scale and training targets (spot_targets.c) ------------------- */

typedef struct {
    int T_in, T;       /* record's snippets, fixed temporal scale */
    double s;          /* T_in / T: input snippets per output snippet */
} tal_spot_map;

tal_spot_map tal_spot_map_make(int T_in, int T);
/* grid position -> output cell coordinate, and back */
static inline double tal_spot_to_cell(const tal_spot_map *m, double g) { return (g + 0.5) / m->s; }
static inline double tal_spot_to_grid(const tal_spot_map *m, double u) { return u * m->s - 0.5; }

/* An instance on the input grid (grid positions of its start and end). */
typedef struct {
    double start, end;
    int cls;
} tal_spot_seg;

/* The output snippets an instance covers: those whose centre j+0.5 lies
 * in [cell(start), cell(end)], clipped to [0, T).  An instance that
 * overlaps the sequence but holds no centre (shorter than an output
 * snippet) gets the one snippet that holds its midpoint, so no instance
 * vanishes.  Returns 1 with *lo <= *hi, or 0 for an instance entirely
 * outside the sequence. */
int tal_spot_span(const tal_spot_map *m, double start, double end, int *lo, int *hi);

/* Targets of one sequence at the fixed scale T = m->T:
 *   cls[t] (T): the class of the instance snippet t belongs to, C for
 *     background; where instances overlap, the shortest (the first of
 *     equal lengths) owns the snippet;
 *   mask (T x T, mask[j*T + t]: column j of row t, the layout of the mask
 *     head's (T, T) channel-first output): row t is the foreground of the
 *     instance that owns snippet t (1 on its span, 0 elsewhere), all zero
 *     for background rows.
 * mask may be NULL.  Returns the number of foreground snippets. */
int tal_spot_targets(const tal_spot_map *m, const tal_spot_seg *segs, int nseg, int C, int32_t *cls, float *mask);

/* BMN's weighted BCE coefficients for npos positives among n entries:
 * r = n / npos, positives weighted 0.5 r, negatives 0.5 r / (r - 1) (each
 * side then carries half the weight).  Without positives (or negatives)
 * the missing side's weight is 0 and the other's its limit, 0.5 (resp.
 * 0.5 for positives when every entry is positive). */
void tal_spot_bce_weights(double npos, double n, double *w_pos, double *w_neg);

/* ---- inference candidates (spot_targets.c) ------------------------------------ */

#define TAL_SPOT_MAX_THRESH 32

typedef struct {
    const double *cls_thresh;    /* thresholds on class probability (test.spot_class_thresh) */
    int n_cls;
    const double *mask_thresh;   /* thresholds on mask score (test.spot_mask_thresh) */
    int n_mask;
    int top_k;                   /* mask seeds at most (0: all) */
} tal_spot_infer_cfg;

/* Candidate instances of one sequence from the network's outputs at the
 * fixed scale: prob (T x K, row-major, K = C+1, background last) and mask
 * (T x T probabilities, mask[j*T + t] = column j of row t).
 *   class candidates: for each class threshold k and class c, every
 *     maximal run of snippets with prob(t, c) > k;
 *   mask candidates: seeds are the most probable snippet of each maximal
 *     run of snippets that share their most probable action class c with
 *     prob(t, c) >= the lowest class threshold; the top_k most probable
 *     seeds (all when top_k is 0), and for each mask threshold k the
 *     maximal run of the seed's mask row above k that holds the seed (none
 *     when mask(t, t) <= k), with the seed's class.
 * Every candidate [a, b] of class c gets the same confidence:
 *     (mean of prob(t, c) over t in [a, b]) x (mask score),
 *     mask score = mean over t in [a, b] of the soft tIoU of row t with
 *     [a, b]: sum_{j in [a,b]} mask(t, j) / (sum_j mask(t, j) + (b-a+1)
 *     - sum_{j in [a,b]} mask(t, j)),
 * i.e. how well the snippets' own masks agree with the candidate.
 * Candidates are segments in output cells, [a, b + 1), appended to out
 * (start, end, score, cls), one per (class, start, end).  0 or <0 (no
 * memory). */
int tal_spot_candidates(const tal_spot_infer_cfg *c, const float *prob, const float *mask, int T, int C,
                        tal_segset *out);

/* Segments in output cells to seconds on the record's grid, clamped to
 * [0, duration] (duration <= 0: only at 0). */
void tal_spot_cells_to_sec(const tal_spot_map *m, const tal_grid *g, double duration, tal_segset *s);

/* ---- the network (spot_detector.c) -------------------------------------------- */

typedef struct {
    int d_in;          /* input feature dimension */
    int ch;            /* embedding width (model.channels) */
    int n_embd;        /* embedding convolutions (model.embd_layers) */
    int kernel;        /* their kernel size (model.kernel) */
    int n_blocks;      /* transformer blocks (model.stem_blocks) */
    int heads, window, mlp_ratio;
    float drop_path, layer_scale;
    int T;             /* fixed temporal scale (spot.temporal_scale) */
    int num_classes;   /* C: the classifier has C + 1 outputs */
    int pos_encoding;  /* add sinusoidal positions after the embedding */
} tal_spot_config;

typedef struct {
    tal_spot_config cfg;
    tal_tensor *embd_w[4], *embd_ln_w[4], *embd_ln_b[4];
    tal_af_block blk[TAL_AF_MAX_BLOCKS];
    tal_tensor *norm_w, *norm_b;
    tal_tensor *cls_w, *cls_b;               /* (C+1, ch, 1) */
    tal_tensor *mask1_w, *mask1_b, *mask2_w; /* (ch, ch, 3), (T, ch, 1) */
    tal_tensor *rec_w, *rec_b;               /* (d_in, ch, 1) */
    float *pos;                              /* (ch, T) sinusoids, host */
    float *ones;                             /* (T) */
    size_t ones_cap;
} tal_spot_model;

/* What the network gives for x (B, d_in, T):
 *   emb   (B, ch, T)     the snippet embedding (encoder output)
 *   cls   (B, C+1, T)    class logits
 *   mask  (B, T, T)      mask logits, mask[b][j][t] = column j of row t
 *   recon (B, d_in, T)   the input reconstructed from emb */
typedef struct {
    tal_tensor *emb, *cls, *mask, *recon;
} tal_spot_out;

int tal_spot_define(tal_spot_model *m, tal_params *P, const tal_spot_config *cfg);
int tal_spot_init(tal_spot_model *m, tal_params *P, tal_rng *r);
void tal_spot_release(tal_spot_model *m);
int tal_spot_forward(tal_graph *g, tal_spot_model *m, tal_tensor *x, tal_spot_out *o);

/* ---- losses (spot_detector.c); each a one-element tensor ---------------------- */

/* mean cross-entropy of class logits (B, K, T) against target (B*T, b-major) */
tal_tensor *tal_spot_cls_loss(tal_graph *g, tal_tensor *logits, const int32_t *target);
/* BMN-weighted BCE of mask logits against y (same shape, 0/1) with npos
 * ones among its elements: sum(w * bce) / numel, w from tal_spot_bce_weights */
tal_tensor *tal_spot_mask_bce(tal_graph *g, tal_tensor *logits, tal_tensor *y, double npos);
/* Dice loss of sigmoid(logits) against y (B, ...): per sample
 * 1 - (2 sum(p y) + 1) / (sum(p^2) + sum(y^2) + 1), mean over the batch */
tal_tensor *tal_spot_dice(tal_graph *g, tal_tensor *logits, tal_tensor *y);
/* mean squared error */
tal_tensor *tal_spot_mse(tal_graph *g, tal_tensor *a, tal_tensor *b);

#endif
