/* spot_semi.h — the SPOT-style detector's classification weights on a
 * pseudo-labelled sequence (tal-train --unlabelled; man tal-train).
 *
 * The head is a (C+1)-way softmax per snippet, as the paper's, so its
 * losses are the paper's as written, each a softmax_pn term (nn/ops.h):
 *   target  (u_tgt)  hard: -log p_y, y = argmax of the snippet's pseudo
 *                    distribution q (of its pseudo instances' classes when
 *                    the stream has no distributions); soft: -sum q_c log p_c;
 *   positive (u_pos) -sum over the partition's positive classes of log p_c
 *                    (nontarget, semi.pos);
 *   negative (u_neg) -sum over the partition's negative classes of
 *                    log(1 - p_c) (nontarget, semi.neg), or over one
 *                    non-target class drawn at random (complementary).
 * On labelled snippets, nontarget with semi.neg adds -log(1 - p_c) of
 * every non-target class to the cross-entropy.
 */
#ifndef TAL_MODELS_SPOT_SEMI_H
#define TAL_MODELS_SPOT_SEMI_H

#include "det_config.h"
#include "../util/rng.h"

#include <stdint.h>

/* T snippets of K = C + 1 classes: q (T x K) the pseudo distributions at
 * the fixed scale, or NULL with hard classes in cls (T).  Fills wtgt,
 * wpos, wneg (T x K each; wpos and wneg may be NULL when the mode has no
 * such term).  0 or <0. */
int tal_spot_semi_weights(const tal_det_config *c, const float *q, const int32_t *cls, int T, int K, tal_rng *rng,
                          float *wtgt, float *wpos, float *wneg);

/* The negative weights of labelled snippets: every class but the target. */
void tal_spot_labelled_neg(const int32_t *cls, int T, int K, float *wneg);

#endif
