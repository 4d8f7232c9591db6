/* partition.h — the label-space partition of learning from non-target
 * classes (METHODS.md §2; seed 0, eqs. 7-10).
 *
 * Given a distribution p over K classes (a snippet's pseudo label, the
 * background included), every class falls into one subspace:
 *   target     argmax p (the first of equal maxima);
 *   negative   the bottom k non-target classes, k the largest count whose
 *              cumulative probability (ascending order, ties by index) is
 *              <= max p (eq. 8);
 *   positive   non-target classes with p_c >= lambda * max p (eq. 10);
 *   ambiguous  the rest, left out of the loss.
 * The paper's two rules can both claim a class (p = 0.5, 0.45, 0.05 with
 * lambda 0.85: the bottom two sum to exactly max p): such a class is
 * positive, so no class is pushed both ways.
 */
#ifndef TAL_SEMI_PARTITION_H
#define TAL_SEMI_PARTITION_H

#include <stdint.h>

enum { TAL_PART_TARGET = 0, TAL_PART_POS = 1, TAL_PART_NEG = 2, TAL_PART_AMB = 3, TAL_PART_COUNT = 4 };

const char *tal_part_name(int part);   /* "target", "positive", "negative", "ambiguous" */

/* Partition p (K values in [0, 1]) into part[K]; scratch holds K values.
 * Returns the target class. */
int tal_partition(const float *p, int K, double lambda, uint8_t *part, uint64_t *scratch);

/* The classes alone: the first C entries of a distribution over C classes
 * and background, renormalised into out (uniform if they are all 0). */
void tal_class_distribution(const float *p, int C, float *out);

#endif
