/* af_quality.h — APL's adaptive label-quality assessment (ALQA) on the
 * ActionFormer-style detector (METHODS.md §3; man tal-train, ALQA).
 *
 * Beside the regression head, one or two outputs per position and level
 * (sharing the head's layers but its last) predict how good the decoded
 * segment is.  Their targets at a positive position are measured on the
 * regression head's own prediction against the assigned instance, both as
 * (left, right) distances from the position:
 *   tIoU = |pred ∩ gt| / |pred ∪ gt|,  tND = d²/c²  (d: distance between
 *   the centres, c: length of the smallest segment covering both) —
 * DIoU's two parts, so that 1 - L_DIoU = tIoU - tND.  They are data, not
 * graph: no gradient reaches the regression head through them.
 *
 * The variants (alqa.branches) and what each predicts, the reliability r
 * it gives and the soft label of the quality focal loss:
 *   tiou      one output: tIoU            r = P            label tIoU
 *   diou      one output: max(tIoU-tND,0) r = P            label tIoU - tND
 *   tiou-tnd  two outputs: tIoU, tND      r = P_1 - P_2    label tIoU - tND
 * r and the labels are floored at 1e-3 (the paper's "small positive
 * value"); the joint score is P_cls x r.
 */
#ifndef TAL_MODELS_AF_QUALITY_H
#define TAL_MODELS_AF_QUALITY_H

#include "../data/record.h"
#include "../nn/graph.h"

#define TAL_ALQA_FLOOR 1e-3f

/* The number of outputs of a variant (TAL_ALQA_*): 0, 1 or 2. */
int tal_alqa_outputs(int kind);

/* tIoU and tND of a predicted against a target segment, both as (left,
 * right) distances from one position. */
void tal_alqa_measure(float lp, float rp, float lg, float rg, float *tiou, float *tnd);

/* For P positive positions with predicted and target distances (P,2):
 * the branch targets (P, outputs) and the soft-label quality (P) of each,
 * as the table above says. */
void tal_alqa_targets(int kind, const float *pred, const float *target, int P, float *branch, float *quality);

/* The reliability (N,1) from the branch logits q (N, outputs): graph ops,
 * so that the quality focal loss trains the branches as well. */
tal_tensor *tal_alqa_reliability(tal_graph *g, int kind, tal_tensor *q);

/* The same on the host, from the logits of one position (outputs values
 * `stride` apart); the probabilities go to prob (outputs values). */
float tal_alqa_reliability_at(int kind, const float *q, size_t stride, float *prob);

/* Which quality fields a detection of this variant carries (a qmask over
 * TAL_Q_*), and their values from the class probability and the branch
 * probabilities.  tiou and diou models write their one prediction as
 * `tiou` (no `tnd`), so that the joint score cls x max(tiou - tnd, 1e-3)
 * of pseudolabel --rank joint is theirs as well. */
uint32_t tal_alqa_qmask(int kind);
void tal_alqa_fill(int kind, float cls, const float *prob, tal_segment *s);

#endif
