/* probe.h — how linearly separable snippet classes are in a
 * representation (APL's Tab. S2/S5 check of contrastive pre-training).
 *
 * Every snippet of the labelled sequences is labelled with the class of
 * the shortest true instance whose span holds its centre, or background
 * (class C); a softmax regression (C + 1 outputs, AdamW lr 1e-2, full
 * batch, 200 steps, inputs standardised by the training snippets' mean and
 * deviation) learns from at most 20000 training snippets (evenly spaced
 * when there are more) and is scored on the test snippets: accuracy, and
 * the mean over classes of per-class accuracy (background dominates the
 * first).  Deterministic.
 */
#ifndef TAL_MODELS_PROBE_H
#define TAL_MODELS_PROBE_H

#include "detector.h"

typedef struct {
    double accuracy, class_mean;
    uint64_t train, test;     /* snippets used */
} tal_probe_result;

/* The representation a probe reads: d NULL for the input features; else
 * the model.kind acp network's multi-scale representation (acp.h). */
int tal_probe(tal_detector *d, const tal_record *const *train, uint32_t ntrain, const tal_record *const *test,
              uint32_t ntest, const tal_header *h, tal_probe_result *out);

#endif
