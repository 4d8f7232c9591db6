/* quality.h — how good pseudo labels are, measured against the true
 * labels of the same sequences (for benchmarks: the unlabelled part's
 * oracle, which training never sees).
 *
 * Instances (APL Fig. 3c): every pseudo instance is compared with the
 * true instance of highest tIoU (ActivityNet tIoU, eval.h), whatever its
 * class:
 *   class accuracy  share whose best-matching true instance has its class
 *   mean tIoU       mean of that best tIoU (0 when none overlaps)
 *   accuracy of positives  share of positives with the right class and
 *                   best tIoU > 0.5
 *   recall          share of true instances that some positive of their
 *                   class overlaps with tIoU > 0.5
 * Snippets (seed 0 Fig. 5): each snippet's pseudo distribution is
 * partitioned (partition.h) and its true class (the class of the true
 * instance holding its centre, data/snippets.h; background otherwise) is
 * looked up: the share of snippets whose true class falls in each
 * subspace, over action snippets and over background snippets apart.
 * For action snippets also the partition of the classes alone (the
 * distribution without its background entry, renormalised): where the
 * true class falls once "is it an action" is settled, as a detector that
 * decides actionness apart (pseudo instances) sees it.
 * And, whatever the truth, the share of snippets whose partition makes
 * every non-target class negative (no positive, no ambiguous class): there
 * non-target learning's targets are the hard pseudo label's.  It is so
 * wherever the target holds half the probability or more (the bottom-k
 * rule then takes every other class) and no class comes within lambda of
 * it.
 */
#ifndef TAL_SEMI_QUALITY_H
#define TAL_SEMI_QUALITY_H

#include "partition.h"
#include "../data/grid.h"
#include "../data/record.h"

enum { TAL_QS_ACTION = 0, TAL_QS_BACKGROUND = 1, TAL_QS_ACTION_CLASSES = 2 };

typedef struct {
    double lambda;             /* of the partition */
    uint64_t sequences;
    /* instances */
    uint64_t pseudo, positives, candidates, truth;
    uint64_t right_class, pos_right_class, pos_accurate, recalled;
    double tiou_sum, pos_tiou_sum;
    /* snippets, [TAL_QS_*][TAL_PART_*] */
    uint64_t snippets[3], in_part[3][TAL_PART_COUNT], all_negative[3];
    /* scratch */
    int32_t *cls;
    uint8_t *part;
    uint64_t *sort;
    float *row;
    size_t cls_cap, part_cap, sort_cap, row_cap;
} tal_pl_quality;

void tal_pl_quality_init(tal_pl_quality *q, double lambda);
void tal_pl_quality_free(tal_pl_quality *q);
/* Add one sequence: pseudo labels in `pseudo` (its PSEUDO segments, its
 * DIST when it has one) against the true segments of `truth`, on grid g;
 * C classes (a DIST has C + 1 columns).  0 or <0. */
int tal_pl_quality_add(tal_pl_quality *q, const tal_record *pseudo, const tal_record *truth, const tal_grid *g, int C);

/* The figures, as ratios (NaN where the count under them is 0). */
typedef struct {
    double class_acc, mean_tiou, pos_class_acc, pos_mean_tiou, pos_accuracy, recall;
    double part[3][TAL_PART_COUNT], all_negative[3];
} tal_pl_summary;
void tal_pl_quality_summary(const tal_pl_quality *q, tal_pl_summary *s);

#endif
