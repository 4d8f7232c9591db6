/* icd.h — APL's instance consistency discriminator (model.kind icd;
 * METHODS.md §3 ICD; man icd-filter).
 *
 * D(f_i, f_j) = sigmoid(MLP([f_i; f_j])): a hidden layer of icd.hidden
 * ReLU units and one output.  The first layer on the concatenation is
 * kept as two matrices, W_a f_i + W_b f_j + b, the same function, so that
 * scoring one instance against many computes W_b f_j once per reference
 * instance.  f is an instance's feature: the maximum over time of the
 * input features inside it (data/instfeat.h).
 *
 * Training (tal_train, like any detector kind): before the first step the
 * model collects every labelled instance of the training records (the
 * pool); a step takes the instances of its batch's records as anchors,
 * and for each draws icd.same partners of its class (other than itself)
 * and icd.other partners of other classes from the pool, uniformly with
 * replacement; the loss is the mean binary cross-entropy, target 1 for a
 * same-class pair.  An anchor whose class has no other instance gets no
 * same-class pairs.
 */
#ifndef TAL_MODELS_ICD_H
#define TAL_MODELS_ICD_H

#include "detector.h"

/* The mean of D(q_i, ref_j) over the m reference instances, for each of
 * the n query features (q: n x D, ref: m x D, row-major).  Inference: no
 * tape.  0 or <0. */
int tal_icd_score(tal_detector *d, tal_graph *g, const float *q, int n, const float *ref, int m, double *out);

/* The instances of a record that the discriminator learns from and
 * compares against: true, not ambiguous, with a class. */
int tal_icd_instance(const tal_segment *s);

#endif
