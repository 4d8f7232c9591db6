/* af_decode.c — candidates from ActionFormer-style heads (see af_decode.h). */
#include "af_decode.h"
#include "af_quality.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>

void tal_af_decode_default(tal_af_decode_cfg *c)
{
    c->pre_nms_thresh = 0.001f;
    c->pre_nms_topk = 2000;
    c->duration_thresh = 0.05f;
    c->alqa = 0;
}

typedef struct {
    float p;
    int32_t idx;
} scored;

/* descending probability, then ascending index: a total order, so the
 * result does not depend on the sort */
static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int tal_af_decode_level(const tal_af_decode_cfg *c, const float *logits, const float *reg, const float *qual, int C,
                        int Tl, int valid, int stride, tal_segset *out)
{
    int alqa = qual ? c->alqa : 0;
    float prob[2] = { 0, 0 };
    if (valid > Tl)
        valid = Tl;
    size_t n = 0, cap = (size_t)valid * (size_t)C;
    scored *v = tal_malloc((cap ? cap : 1) * sizeof *v);
    if (!v)
        return TAL_ENOMEM;
    for (int t = 0; t < valid; t++) {
        float rel = alqa ? tal_alqa_reliability_at(alqa, qual + t, (size_t)Tl, prob) : 1.0f;
        for (int k = 0; k < C; k++) {
            float p = 1.0f / (1.0f + expf(-logits[(size_t)k * Tl + t]));
            if (alqa)
                p *= rel;
            if (p > c->pre_nms_thresh)
                v[n++] = (scored){ p, (int32_t)(t * C + k) };
        }
    }
    qsort(v, n, sizeof *v, cmp_scored);
    if (c->pre_nms_topk > 0 && n > (size_t)c->pre_nms_topk)
        n = (size_t)c->pre_nms_topk;
    int added = 0;
    for (size_t i = 0; i < n; i++) {
        int t = v[i].idx / C, k = v[i].idx % C;
        float pt = (float)(t * stride);
        float s = pt - reg[t] * (float)stride, e = pt + reg[Tl + t] * (float)stride;
        if (e - s <= c->duration_thresh)
            continue;
        tal_segment g = { s, e, v[i].p, k, 0, { 0 } };
        if (alqa) {
            tal_alqa_reliability_at(alqa, qual + t, (size_t)Tl, prob);
            tal_alqa_fill(alqa, 1.0f / (1.0f + expf(-logits[(size_t)k * Tl + t])), prob, &g);
        }
        if (tal_segset_push(out, &g)) {
            free(v);
            return TAL_ENOMEM;
        }
        added++;
    }
    free(v);
    return added;
}

void tal_af_coverage(const tal_segset *cands, int T, int C, float *dist)
{
    int K = C + 1;
    for (size_t i = 0; i < (size_t)T * K; i++)
        dist[i] = 0.0f;
    for (uint32_t i = 0; i < cands->n; i++) {
        const tal_segment *g = &cands->v[i];
        if (g->cls < 0 || g->cls >= C)
            continue;
        double a = ceil(fmax(g->start, 0)), b = floor(fmin(g->end, (double)T - 1));
        float sc = (float)g->score;
        for (double u = a; u <= b; u++) {
            float *d = dist + (size_t)u * K + g->cls;
            if (sc > *d)
                *d = sc;
        }
    }
    for (int t = 0; t < T; t++) {
        float *row = dist + (size_t)t * K, mx = 0.0f;
        for (int c = 0; c < C; c++)
            mx = row[c] > mx ? row[c] : mx;
        row[C] = 1.0f - mx;
    }
}

void tal_af_to_seconds(tal_segset *s, const tal_grid *g, double duration)
{
    for (uint32_t i = 0; i < s->n; i++) {
        double a = tal_grid_to_sec(g, s->v[i].start), b = tal_grid_to_sec(g, s->v[i].end);
        /* values at or below 0 become 0; at or above the duration, the duration */
        if (a <= 0)
            a = 0;
        if (b <= 0)
            b = 0;
        if (duration > 0) {
            if (a >= duration)
                a = duration;
            if (b >= duration)
                b = duration;
        }
        s->v[i].start = a;
        s->v[i].end = b;
    }
}
