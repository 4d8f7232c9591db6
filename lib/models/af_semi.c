/* af_semi.c — ActionFormer-style targets on pseudo labels (see af_semi.h). */
#include "af_semi.h"
#include "../semi/partition.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdlib.h>
#include <string.h>

int tal_af_semi_targets(const tal_af_semi_cfg *c, int nlevels, int T, int valid, int C, const float *dist,
                        const uint8_t *cand, const uint8_t *pos, tal_rng *rng, float *y, float *w)
{
    int K = C + 1;
    if (!dist && (c->mode == TAL_SEMI_SOFT || c->mode == TAL_SEMI_NONTARGET))
        return tal_err(TAL_EINVAL, "semi.loss %s needs pseudo distributions (pseudolabel --snippets)",
                       c->mode == TAL_SEMI_SOFT ? "soft" : "nontarget");
    uint8_t *part = tal_malloc((size_t)K);
    uint64_t *scratch = tal_malloc((size_t)K * sizeof *scratch);
    int *free_cls = tal_malloc((size_t)C * sizeof *free_cls);
    float *row = tal_malloc((size_t)K * sizeof *row);
    if (!part || !scratch || !free_cls || !row) {
        free(part);
        free(scratch);
        free(free_cls);
        free(row);
        return TAL_ENOMEM;
    }
    int64_t i = 0;
    int last_t = -1, last_pos = -1;
    for (int l = 0; l < nlevels; l++) {
        for (int k = 0; k < (T >> l); k++, i++) {
            float *yi = y + i * C, *wi = w + i * C;
            int t = k << l;
            if (t >= valid || (cand[i] && !pos[i])) {
                for (int j = 0; j < C; j++)
                    wi[j] = 0.0f;
                continue;
            }
            const float *q = dist ? dist + (size_t)t * K : NULL;
            switch (c->mode) {
            case TAL_SEMI_HARD:
                for (int j = 0; j < C; j++)
                    wi[j] = 1.0f;
                break;
            case TAL_SEMI_SOFT:
                for (int j = 0; j < C; j++) {
                    wi[j] = 1.0f;
                    yi[j] = pos[i] ? q[j] : 0.0f;
                }
                break;
            case TAL_SEMI_COMPLEMENTARY: {
                int n = 0;
                for (int j = 0; j < C; j++) {
                    wi[j] = yi[j] > 0 ? 1.0f : 0.0f;
                    if (!(yi[j] > 0))
                        free_cls[n++] = j;
                }
                if (n)
                    wi[free_cls[tal_rng_below(rng, (uint32_t)n)]] = 1.0f;
                break;
            }
            default: {
                /* the partition of the snippet's distribution: at a position
                 * a pseudo instance claims, of its classes alone (that it is
                 * an action is settled; which one is the question) */
                if (t != last_t || pos[i] != last_pos) {
                    if (pos[i]) {
                        tal_class_distribution(q, C, row);
                        tal_partition(row, C, c->lambda, part, scratch);
                    } else {
                        tal_partition(q, K, c->lambda, part, scratch);
                    }
                    last_t = t;
                    last_pos = pos[i];
                }
                for (int j = 0; j < C; j++) {
                    if (yi[j] > 0) {
                        wi[j] = 1.0f;                              /* l_tgt */
                    } else if (part[j] == TAL_PART_NEG) {
                        wi[j] = c->neg ? 1.0f : 0.0f;              /* l_neg */
                    } else if ((part[j] == TAL_PART_POS || part[j] == TAL_PART_TARGET) && pos[i] && c->pos) {
                        wi[j] = 1.0f;                              /* l_pos */
                        yi[j] = 1.0f;
                    } else {
                        wi[j] = 0.0f;                              /* ambiguous, or off centre */
                    }
                }
                break;
            }
            }
        }
    }
    free(part);
    free(scratch);
    free(free_cls);
    free(row);
    return 0;
}
