/* acp_check.h — how much truth ACP's stand-in labels carry
 * (tal-pretrain-acp --clusters).
 *
 * ACP contrasts frames by k-means clusters of their input features in
 * place of classes (acp.h).  This draws the frames and clusters a
 * pre-training step would — the same crop, the same partitions, k = 2 per
 * sequence, acp.fine_k over the batch's frames — on fully labelled
 * sequences, and counts over the pairs of frames the contrast sees: how
 * often a pair the clusters call positive (same cluster) is of one true
 * label, against how often any pair is (chance).  The true label of a
 * frame is its snippet's class or background (data/snippets.h), and, coarser, action
 * or background.  No network is involved.  Deterministic for a seed.
 */
#ifndef TAL_MODELS_ACP_CHECK_H
#define TAL_MODELS_ACP_CHECK_H

#include "det_config.h"
#include "../data/record.h"

typedef struct {
    uint64_t pairs, same_cluster;   /* pairs of frames; of them, in one cluster */
    uint64_t same_class, same_class_clustered;   /* pairs of one true class (background a class) */
    uint64_t same_action, same_action_clustered; /* pairs both action or both background */
} tal_acp_pairs;

typedef struct {
    tal_acp_pairs coarse, fine;
    uint64_t frames, batches;
} tal_acp_agreement;

/* `passes` times over the records in a seeded order, in batches of
 * c->batch_size; c's acp settings and crop.  0 or TAL_ENOMEM/TAL_EINVAL. */
int tal_acp_check(const tal_det_config *c, const tal_record *const *recs, uint32_t n, const tal_header *h,
                  uint64_t seed, int passes, tal_acp_agreement *out);

#endif
