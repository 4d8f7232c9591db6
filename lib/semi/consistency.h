/* consistency.h — APL's instance-consistency rules on pseudo labels
 * (METHODS.md §3, ICD; man icd-filter).
 *
 * Each pseudo instance carries s, the mean consistency of its features
 * with the labelled instances of its class (quality field icd).  Of the
 * positives, EAP ("eliminate ambiguous positives") drops those with
 * s < tau1; of the candidates, MPP ("mine potential positives") promotes
 * those with s > tau2 to positives.
 */
#ifndef TAL_SEMI_CONSISTENCY_H
#define TAL_SEMI_CONSISTENCY_H

#include "../data/record.h"

typedef struct {
    double tau1, tau2;   /* 0.3, 0.7 */
    int eap, mpp;
} tal_icd_rule;

typedef struct {
    uint32_t positives, candidates;   /* scored, before the rule */
    uint32_t dropped, promoted;
} tal_icd_count;

/* In place on one record's segments: the pseudo ones with the icd field
 * (segs->qmask must hold it) are judged; others pass untouched.  Order is
 * kept. */
void tal_icd_apply_rule(tal_segset *segs, const tal_icd_rule *r, tal_icd_count *n);

#endif
