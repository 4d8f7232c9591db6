/* af_decode.h — from ActionFormer-style head outputs to candidate segments
 * (reference-methods.md §1.6).
 *
 * Per pyramid level: class probabilities (sigmoid of the logits) of the
 * valid positions, flattened position-major (index t*C + c); those above
 * a threshold; the top k by probability (ties: lower index first); each
 * decoded to [t - left*s, t + right*s] in snippets of level 0; segments
 * not longer than a minimum dropped.  The candidates of all levels go to
 * Soft-NMS (post/) and then to seconds with tal_af_to_seconds.
 */
#ifndef TAL_MODELS_AF_DECODE_H
#define TAL_MODELS_AF_DECODE_H

#include "../data/grid.h"
#include "../data/record.h"

typedef struct {
    float pre_nms_thresh;    /* 0.001 */
    int pre_nms_topk;        /* per level: 2000 (THUMOS), 5000 default */
    float duration_thresh;   /* minimum length in snippets: 0.05 */
    int alqa;                /* quality branches (TAL_ALQA_*, af_quality.h): 0 none */
} tal_af_decode_cfg;

void tal_af_decode_default(tal_af_decode_cfg *c);

/* One level of one sequence: logits (C, Tl) channel-first, reg (2, Tl)
 * distances in strides, the first `valid` positions used, position t at
 * t*stride.  Appends candidates (start, end in snippets; score; class) to
 * out.  With quality branches, qual (outputs, Tl) holds their logits: the
 * score that is thresholded, ranked and kept is the joint score P_cls x r,
 * and each candidate carries the quality fields of tal_alqa_fill.
 * Returns the number appended or <0. */
int tal_af_decode_level(const tal_af_decode_cfg *c, const float *logits, const float *reg, const float *qual, int C,
                        int Tl, int valid, int stride, tal_segset *out);

/* Snippet class scores from the candidates of one sequence (segments in
 * snippets of level 0, before suppression): dist (T x (C+1), row-major)
 * gets, for snippet t and class c, the highest score of a class-c
 * candidate whose [start, end] holds position t (0 if none), and in its
 * last column background = 1 - the largest class score.  A position's own
 * class output means "an instance of this class and scale is centred
 * here", not "this snippet is inside one"; the candidates' extents carry
 * the latter. */
void tal_af_coverage(const tal_segset *cands, int T, int C, float *dist);

/* Snippets to seconds on grid g, then clamp to [0, duration] the way
 * ActionFormer does (duration 0: no upper clamp). */
void tal_af_to_seconds(tal_segset *s, const tal_grid *g, double duration);

#endif
