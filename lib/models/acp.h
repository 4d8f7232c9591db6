/* acp.h — APL's action-aware contrastive pre-training (model.kind acp;
 * METHODS.md §3 ACP; man tal-pretrain-acp).
 *
 * The model is the ActionFormer-style backbone and neck without heads,
 * with the parameter names of the detector, so that `tal-train --init`
 * starts a detector from it (heads fresh).  A step crops and pads its
 * sequences as the detector does; each pyramid level's neck output is
 * upsampled (nearest, as F.interpolate's default) to the input length and
 * the levels are concatenated along channels; each sequence's valid
 * snippets are cut into acp.partitions equal parts and one frame is drawn
 * from each; the frames' representations, L2-normalised, are contrasted by
 * supervised InfoNCE (tal_supcon, temperature acp.tau) with the labels of
 * k-means clusters of the same frames' input features:
 *   coarse  k = 2, per sequence, the mean over the batch's sequences
 *   fine    k = acp.fine_k, over every frame of the batch
 * L_acp = L_coarse + L_fine (acp.coarse, acp.fine switch each).
 */
#ifndef TAL_MODELS_ACP_H
#define TAL_MODELS_ACP_H

#include "af_backbone.h"
#include "detector.h"

/* The frames a step contrasts: for a sequence of `len` valid snippets and
 * P parts, part p covers [p len / P, (p + 1) len / P) (integer division;
 * min(P, len) parts when shorter) and one snippet is drawn uniformly from
 * each.  Writes at most P positions (ascending) to pos; returns how many. */
int tal_acp_sample(tal_rng *r, int len, int P, int32_t *pos);

/* The window a step crops from a sequence of T snippets, as the detector
 * crops (train.crop_ratio, model.max_seq_len; no instance to keep). */
void tal_acp_window(tal_rng *r, const tal_det_config *c, int T, int *start, int *len);

/* The frames of one window f (len snippets of D features): the positions
 * tal_acp_sample draws, relative to f, into pos, and their features into
 * feat (one row each).  Returns how many. */
int tal_acp_draw(tal_rng *r, const float *f, int len, int D, int P, int32_t *pos, float *feat);

/* The stand-in labels of m frames (feat, m x D), nf[b] of sequence b in
 * order: the coarse clusters (k = 2 within each sequence of 2 frames or
 * more) into lab[0, m), the fine ones (acp.fine_k over all) into
 * lab[m, 2m), each when its acp switch is on.  0 or tal_kmeans's error. */
int tal_acp_cluster(tal_rng *r, const tal_det_config *c, const float *feat, int B, const int *nf, int D,
                    int32_t *lab);

/* The network of a model.kind acp detector. */
const tal_af_model *tal_acp_network(const tal_detector *d);

/* The contrasted frames' embeddings: each level's neck output fpn[l]
 * (B,ch,T>>l) upsampled to T, concatenated, the rows (b*T + t) taken,
 * L2-normalised: (m, ch*L). */
tal_tensor *tal_acp_embed(tal_graph *g, tal_tensor *const *fpn, int L, int B, int T, const int32_t *rows, int m);

/* The two contrasts of m frames, nf[b] of sequence b in order: coarse
 * within each sequence (mean over sequences with 2 frames or more) by
 * coarse_lab, fine across all by fine_lab; a NULL label array leaves its
 * term NULL. */
void tal_acp_contrast(tal_graph *g, tal_tensor *z, int B, const int *nf, const int32_t *coarse_lab,
                      const int32_t *fine_lab, float tau, tal_tensor **coarse, tal_tensor **fine);

#endif
