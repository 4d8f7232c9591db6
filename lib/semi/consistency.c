/* consistency.c — EAP and MPP (see consistency.h). */
#include "consistency.h"

void tal_icd_apply_rule(tal_segset *segs, const tal_icd_rule *r, tal_icd_count *n)
{
    if (!(segs->qmask & (1u << TAL_Q_ICD)))
        return;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < segs->n; i++) {
        tal_segment s = segs->v[i];
        if (s.flags & TAL_SEG_PSEUDO) {
            double v = s.q[TAL_Q_ICD];
            if (s.flags & TAL_SEG_CANDIDATE) {
                n->candidates++;
                if (r->mpp && v > r->tau2) {
                    s.flags &= ~TAL_SEG_CANDIDATE;
                    n->promoted++;
                }
            } else {
                n->positives++;
                if (r->eap && v < r->tau1) {
                    n->dropped++;
                    continue;
                }
            }
        }
        segs->v[kept++] = s;
    }
    segs->n = kept;
}
