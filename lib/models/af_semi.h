/* af_semi.h — the ActionFormer-style detector's classification targets on
 * a pseudo-labelled sequence (tal-train --unlabelled; man tal-train,
 * "Semi-supervised training", gives the reading in full).
 *
 * The head has one sigmoid per class at every position of every pyramid
 * level, and a position is positive for a class when an instance of that
 * class and scale is centred near it (af_targets.h): pseudo instances
 * (the positives of pseudolabel --instances) are assigned to positions
 * exactly as ground truth is.  A sigmoid head has no background output
 * and no normalisation, so the paper's losses read per class:
 *   l_tgt = -log p_y at the positions assigned to a pseudo instance of y;
 *   l_neg = -log(1 - p_c) for a class the label-space partition of the
 *           snippet's pseudo distribution calls negative;
 *   l_pos = -log p_c for a positive class, or the teacher's own target
 *           class, at a position assigned to some pseudo instance (where
 *           the position says "an instance is centred here", the
 *           partition says which classes it may be); at other positions
 *           these classes are left out: pushing them up would teach the
 *           head to fire off centre, pushing them down is what the
 *           partition says not to do;
 *   ambiguous classes are left out everywhere.
 * At a position assigned to a pseudo instance the partition is of the
 * snippet's classes alone (its distribution without background,
 * renormalised): the instance has settled that an action is there, the
 * question is which; elsewhere it is of the whole distribution.
 * Each term keeps the focal weighting of the detector's loss.  With a
 * sigmoid head, target-only learning is the hard pseudo label (every
 * non-target class negative: softmax's normalisation pushes those down by
 * itself, a sigmoid head needs them said), so semi.loss hard is the
 * l_tgt row, nontarget without semi.pos the l_tgt + l_neg row, and
 * nontarget the full method.  Positions assigned to a candidate (a pseudo
 * instance the selection rule was unsure of) are left out entirely,
 * unless a positive claims them too.
 *   soft            targets at assigned positions are the snippet's pseudo
 *                   distribution (classes' entries), 0 elsewhere;
 *   complementary   the assigned class, and one non-target class drawn at
 *                   random as negative; everything else left out.
 */
#ifndef TAL_MODELS_AF_SEMI_H
#define TAL_MODELS_AF_SEMI_H

#include "det_config.h"
#include "../util/rng.h"

#include <stdint.h>

typedef struct {
    int mode;              /* TAL_SEMI_* */
    double lambda;
    int pos, neg;
} tal_af_semi_cfg;

/* Rewrite one sequence's targets for pseudo labels.  Positions are
 * level-major as tal_af_assign lays them out (strides[l] = 2^l, level l
 * holds T >> l of them), the first `valid` snippets real; on entry y
 * (npos x C) holds the assignment of the positive pseudo instances
 * (0/1), cand (npos) marks positions assigned to a candidate and pos
 * (npos) those assigned to a positive.  dist (valid x (C+1), row-major,
 * background last) is the window's pseudo distributions, or NULL (only
 * hard and complementary need none).  On return y holds the targets and
 * w (npos x C) the weights (0: left out), 0 on positions beyond valid.
 * rng draws the complementary classes.  0 or <0. */
int tal_af_semi_targets(const tal_af_semi_cfg *c, int nlevels, int T, int valid, int C, const float *dist,
                        const uint8_t *cand, const uint8_t *pos, tal_rng *rng, float *y, float *w);

#endif
