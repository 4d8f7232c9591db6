/* acp_check.c — agreement of ACP's k-means stand-in labels with the truth
 * (see acp_check.h). */
#include "acp_check.h"
#include "acp.h"
#include "../data/snippets.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdlib.h>
#include <string.h>

/* every pair (i < j) of the n frames with cluster labels lab and true
 * classes cls (background = bg) */
static void count_pairs(const int32_t *lab, const int32_t *cls, int n, int32_t bg, tal_acp_pairs *p)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int clustered = lab[i] == lab[j];
            int same_class = cls[i] == cls[j], same_action = (cls[i] == bg) == (cls[j] == bg);
            p->pairs++;
            p->same_cluster += clustered;
            p->same_class += same_class;
            p->same_class_clustered += same_class && clustered;
            p->same_action += same_action;
            p->same_action_clustered += same_action && clustered;
        }
}

int tal_acp_check(const tal_det_config *c, const tal_record *const *recs, uint32_t n, const tal_header *h,
                  uint64_t seed, int passes, tal_acp_agreement *out)
{
    memset(out, 0, sizeof *out);
    int B = c->batch_size > 0 ? c->batch_size : 1, P = c->acp_partitions, D = (int)h->feat_dim;
    if (!n || P < 2 || !D)
        return tal_err(TAL_EINVAL, "nothing to cluster: %u sequences, %d partitions, %d-d features", n, P, D);
    tal_det_config both = *c;   /* both contrasts' labels, whichever the config trains */
    both.acp_coarse = both.acp_fine = 1;
    uint32_t Tmax = 0;
    for (uint32_t i = 0; i < n; i++)
        Tmax = recs[i]->T > Tmax ? recs[i]->T : Tmax;
    size_t M = (size_t)B * (size_t)P;
    uint32_t *order = malloc(n * sizeof *order);
    int32_t *cls_all = malloc((size_t)Tmax * sizeof *cls_all);
    int32_t *pos = malloc(M * sizeof *pos), *cls = malloc(M * sizeof *cls), *lab = malloc(2 * M * sizeof *lab);
    float *feat = malloc(M * (size_t)D * sizeof *feat);
    int *nf = malloc((size_t)B * sizeof *nf);
    int rc = 0;
    if (!order || !cls_all || !pos || !cls || !lab || !feat || !nf) {
        rc = TAL_ENOMEM;
        goto done;
    }
    tal_rng root;
    tal_rng_seed(&root, seed);
    int32_t bg = (int32_t)h->classes.n;
    for (int pass = 0; pass < passes && !rc; pass++) {
        tal_rng r = tal_rng_split(&root, (uint64_t)pass);
        for (uint32_t i = 0; i < n; i++)
            order[i] = i;
        tal_rng_shuffle_u32(&r, order, n);
        for (uint32_t at = 0; at < n && !rc; at += (uint32_t)B) {
            int nb = n - at < (uint32_t)B ? (int)(n - at) : B, m = 0;
            for (int b = 0; b < nb; b++) {   /* the frames, and their true labels */
                const tal_record *rec = recs[order[at + (uint32_t)b]];
                int start, len;
                tal_acp_window(&r, c, (int)rec->T, &start, &len);
                tal_grid g = tal_record_grid(rec, h);
                tal_snippet_classes(&rec->segs, &g, rec->T, bg, TAL_SEG_PSEUDO, cls_all);
                nf[b] = tal_acp_draw(&r, rec->feat + (size_t)start * D, len, D, P, pos + m, feat + (size_t)m * D);
                for (int i = 0; i < nf[b]; i++)
                    cls[m + i] = cls_all[start + pos[m + i]];
                m += nf[b];
            }
            if ((rc = tal_acp_cluster(&r, &both, feat, nb, nf, D, lab)))
                break;
            for (int b = 0, o = 0; b < nb; o += nf[b++])
                count_pairs(lab + o, cls + o, nf[b], bg, &out->coarse);   /* none when nf[b] < 2 */
            count_pairs(lab + m, cls, m, bg, &out->fine);
            out->frames += (uint64_t)m;
            out->batches++;
        }
    }
done:
    free(order);
    free(cls_all);
    free(pos);
    free(cls);
    free(lab);
    free(feat);
    free(nf);
    return rc;
}
