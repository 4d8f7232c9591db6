/* spot_semi.c — SPOT-style weights on pseudo labels (see spot_semi.h). */
#include "spot_semi.h"
#include "../semi/partition.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdlib.h>
#include <string.h>

int tal_spot_semi_weights(const tal_det_config *c, const float *q, const int32_t *cls, int T, int K, tal_rng *rng,
                          float *wtgt, float *wpos, float *wneg)
{
    int mode = c->semi_loss;
    if (!q && (mode == TAL_SEMI_SOFT || mode == TAL_SEMI_NONTARGET))
        return tal_err(TAL_EINVAL, "semi.loss %s needs pseudo distributions (pseudolabel --snippets)",
                       mode == TAL_SEMI_SOFT ? "soft" : "nontarget");
    uint8_t *part = tal_malloc((size_t)K);
    uint64_t *scratch = tal_malloc((size_t)K * sizeof *scratch);
    if (!part || !scratch) {
        free(part);
        free(scratch);
        return TAL_ENOMEM;
    }
    size_t n = (size_t)T * K;
    memset(wtgt, 0, n * sizeof *wtgt);
    if (wpos)
        memset(wpos, 0, n * sizeof *wpos);
    if (wneg)
        memset(wneg, 0, n * sizeof *wneg);
    for (int t = 0; t < T; t++) {
        const float *qt = q ? q + (size_t)t * K : NULL;
        float *wt = wtgt + (size_t)t * K;
        int y = cls ? cls[t] : 0;
        if (qt) {
            y = tal_partition(qt, K, c->semi_lambda, part, scratch);
        }
        switch (mode) {
        case TAL_SEMI_SOFT:
            for (int k = 0; k < K; k++)
                wt[k] = qt[k];
            break;
        case TAL_SEMI_COMPLEMENTARY:
            wt[y] = 1.0f;
            if (wneg && K > 1) {
                int r = (int)tal_rng_below(rng, (uint32_t)(K - 1));
                wneg[(size_t)t * K + (r < y ? r : r + 1)] = 1.0f;
            }
            break;
        case TAL_SEMI_NONTARGET:
            wt[y] = 1.0f;
            for (int k = 0; k < K; k++) {
                if (wpos && c->semi_pos && part[k] == TAL_PART_POS)
                    wpos[(size_t)t * K + k] = 1.0f;
                if (wneg && c->semi_neg && part[k] == TAL_PART_NEG)
                    wneg[(size_t)t * K + k] = 1.0f;
            }
            break;
        default:
            wt[y] = 1.0f;
            break;
        }
    }
    free(part);
    free(scratch);
    return 0;
}

void tal_spot_labelled_neg(const int32_t *cls, int T, int K, float *wneg)
{
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++)
            wneg[(size_t)t * K + k] = k == cls[t] ? 0.0f : 1.0f;
}
