/* ncm.h — how hard snippet features are: nearest-class-mean tests.
 *
 * Two passes over labelled snippets.  First tal_ncm_add() the reference
 * snippets (label: an action class 0..C-1, C for background, < 0 to
 * leave out) and tal_ncm_fit() the means; then tal_ncm_eval() held-out
 * snippets.  tal_ncm_result() summarises:
 *
 *   accuracy   held-out action snippets whose nearest class mean (among
 *              the C action classes, background excluded) is their class
 *   top2       ... whose class is among the two nearest
 *   second     among the misclassified ones, the share whose class ranks
 *              second
 *   auc        action vs background: the area under the ROC curve of the
 *              score |x - mean_bg|^2 - min_c |x - mean_c|^2
 *   balanced   (TPR + TNR) / 2 of "action when some class mean is nearer
 *              than the background mean"
 *
 * The confusion matrix (true x predicted action class) is kept for the
 * most confused pairs.  Classes without reference snippets are left out
 * of both the prediction and the held-out counts.  Distances are
 * Euclidean, accumulated in double precision.
 */
#ifndef TAL_DATA_NCM_H
#define TAL_DATA_NCM_H

#include "record.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t C, D;
    double *sum;            /* (C + 1, D) */
    uint64_t *count;        /* (C + 1) */
    double *mean;           /* (C + 1, D), after fit */
    double *mean_sq;        /* (C + 1) squared norms */
    int fitted;
    uint64_t *confusion;    /* (C, C) */
    uint64_t n_act, n_top1, n_top2, n_second, n_bg, bin_tp, bin_tn;
    struct tal_ncm_item {   /* per held-out snippet, for the AUC */
        float score;
        uint8_t pos;        /* an action snippet */
    } *items;
    size_t nitems, items_cap;
    double *dist;           /* (C) scratch */
} tal_ncm;

typedef struct {
    double accuracy, top2, second, auc, balanced;
    uint64_t n_act, n_bg;          /* held-out snippets evaluated */
    uint64_t ref_act, ref_bg;      /* reference snippets */
    uint32_t classes;              /* classes with reference snippets */
} tal_ncm_result;

int tal_ncm_init(tal_ncm *m, uint32_t C, uint32_t D);
void tal_ncm_free(tal_ncm *m);
void tal_ncm_add(tal_ncm *m, const float *x, int32_t label);
/* 0, or TAL_EINVAL when there are no reference action or background snippets. */
int tal_ncm_fit(tal_ncm *m);
int tal_ncm_eval(tal_ncm *m, const float *x, int32_t label);
/* Sorts the held-out scores (for the AUC): call once, after the last eval. */
void tal_ncm_result_get(tal_ncm *m, tal_ncm_result *r);

/* Label each of T snippets on a grid (fps, stride, clip): the class of
 * the instance containing the snippet's centre (the earliest-starting one
 * when several do), -1 inside an ambiguous segment only, else C
 * (background). */
void tal_snippet_labels(int32_t *lab, uint32_t T, double fps, double stride, double clip, const tal_segset *segs,
                        uint32_t C);

#endif
