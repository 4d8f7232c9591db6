/* quality.c — pseudo labels against the truth (see quality.h). */
#include "quality.h"
#include "../data/snippets.h"
#include "../eval/eval.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tal_pl_quality_init(tal_pl_quality *q, double lambda)
{
    memset(q, 0, sizeof *q);
    q->lambda = lambda;
}

void tal_pl_quality_free(tal_pl_quality *q)
{
    free(q->cls);
    free(q->part);
    free(q->sort);
    free(q->row);
    tal_pl_quality_init(q, q->lambda);
}

static int is_instance(const tal_segment *s) { return !(s->flags & TAL_SEG_AMBIGUOUS) && s->cls >= 0; }

static void add_instances(tal_pl_quality *q, const tal_record *pseudo, const tal_record *truth)
{
    const tal_segset *P = &pseudo->segs, *G = &truth->segs;
    for (uint32_t i = 0; i < P->n; i++) {
        const tal_segment *p = &P->v[i];
        if (!(p->flags & TAL_SEG_PSEUDO) || p->cls < 0)
            continue;
        int pos = !(p->flags & TAL_SEG_CANDIDATE);
        double best = 0;
        int best_cls = -1;
        for (uint32_t j = 0; j < G->n; j++) {
            if (!is_instance(&G->v[j]))
                continue;
            double t = tal_tiou_anet(p->start, p->end, G->v[j].start, G->v[j].end);
            if (t > best) {
                best = t;
                best_cls = G->v[j].cls;
            }
        }
        int right = best_cls == p->cls;
        q->pseudo++;
        q->tiou_sum += best;
        q->right_class += right;
        if (pos) {
            q->positives++;
            q->pos_tiou_sum += best;
            q->pos_right_class += right;
            q->pos_accurate += right && best > 0.5;
        } else {
            q->candidates++;
        }
    }
    for (uint32_t j = 0; j < G->n; j++) {
        const tal_segment *g = &G->v[j];
        if (!is_instance(g))
            continue;
        q->truth++;
        for (uint32_t i = 0; i < P->n; i++) {
            const tal_segment *p = &P->v[i];
            if ((p->flags & (TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE)) == TAL_SEG_PSEUDO && p->cls == g->cls &&
                tal_tiou_anet(p->start, p->end, g->start, g->end) > 0.5) {
                q->recalled++;
                break;
            }
        }
    }
}

/* the partition in q->part (K classes, target tgt) leaves no class
 * positive or ambiguous */
static int all_negative(const tal_pl_quality *q, int K, int tgt)
{
    for (int c = 0; c < K; c++)
        if (c != tgt && q->part[c] != TAL_PART_NEG)
            return 0;
    return 1;
}

int tal_pl_quality_add(tal_pl_quality *q, const tal_record *pseudo, const tal_record *truth, const tal_grid *g, int C)
{
    q->sequences++;
    add_instances(q, pseudo, truth);
    if (!(pseudo->present & TAL_HAS_DIST))
        return 0;
    uint32_t T = pseudo->dist_T, K = pseudo->dist_K;
    if (K != (uint32_t)C + 1)
        return tal_err(TAL_EINVAL, "sequence '%s': snippet distributions of %u columns for %d classes and background",
                       pseudo->id, K, C);
    if (tal_reserve(&q->cls, &q->cls_cap, T ? T : 1, sizeof *q->cls) ||
        tal_reserve(&q->part, &q->part_cap, K, sizeof *q->part) ||
        tal_reserve(&q->sort, &q->sort_cap, K, sizeof *q->sort) ||
        tal_reserve(&q->row, &q->row_cap, K, sizeof *q->row))
        return TAL_ENOMEM;
    tal_snippet_classes(&truth->segs, g, T, C, 0, q->cls);
    for (uint32_t t = 0; t < T; t++) {
        int tgt = tal_partition(pseudo->dist + (size_t)t * K, (int)K, q->lambda, q->part, q->sort);
        int kind = q->cls[t] == C ? TAL_QS_BACKGROUND : TAL_QS_ACTION;
        q->snippets[kind]++;
        q->in_part[kind][q->part[q->cls[t]]]++;
        q->all_negative[kind] += (uint64_t)all_negative(q, (int)K, tgt);
        if (kind == TAL_QS_ACTION && C > 1) {
            tal_class_distribution(pseudo->dist + (size_t)t * K, C, q->row);
            tgt = tal_partition(q->row, C, q->lambda, q->part, q->sort);
            q->snippets[TAL_QS_ACTION_CLASSES]++;
            q->in_part[TAL_QS_ACTION_CLASSES][q->part[q->cls[t]]]++;
            q->all_negative[TAL_QS_ACTION_CLASSES] += (uint64_t)all_negative(q, C, tgt);
        }
    }
    return 0;
}

static double ratio(double a, uint64_t b) { return b ? a / (double)b : NAN; }

void tal_pl_quality_summary(const tal_pl_quality *q, tal_pl_summary *s)
{
    s->class_acc = ratio((double)q->right_class, q->pseudo);
    s->mean_tiou = ratio(q->tiou_sum, q->pseudo);
    s->pos_class_acc = ratio((double)q->pos_right_class, q->positives);
    s->pos_mean_tiou = ratio(q->pos_tiou_sum, q->positives);
    s->pos_accuracy = ratio((double)q->pos_accurate, q->positives);
    s->recall = ratio((double)q->recalled, q->truth);
    for (int k = 0; k < 3; k++) {
        for (int p = 0; p < TAL_PART_COUNT; p++)
            s->part[k][p] = ratio((double)q->in_part[k][p], q->snippets[k]);
        s->all_negative[k] = ratio((double)q->all_negative[k], q->snippets[k]);
    }
}
