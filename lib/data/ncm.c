/* ncm.c — nearest-class-mean tests of snippet features (ncm.h). */
#include "ncm.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int tal_ncm_init(tal_ncm *m, uint32_t C, uint32_t D)
{
    memset(m, 0, sizeof *m);
    m->C = C;
    m->D = D;
    size_t cd;
    if (!C || !D || tal_mul_size((size_t)C + 1, D, &cd))
        return tal_err(TAL_EINVAL, "nearest-class-mean test needs classes and features");
    m->sum = tal_calloc(cd, sizeof *m->sum);
    m->mean = tal_calloc(cd, sizeof *m->mean);
    m->mean_sq = tal_calloc((size_t)C + 1, sizeof *m->mean_sq);
    m->count = tal_calloc((size_t)C + 1, sizeof *m->count);
    m->confusion = tal_calloc((size_t)C * C, sizeof *m->confusion);
    m->dist = tal_calloc(C, sizeof *m->dist);
    if (!m->sum || !m->mean || !m->mean_sq || !m->count || !m->confusion || !m->dist) {
        tal_ncm_free(m);
        return TAL_ENOMEM;
    }
    return 0;
}

void tal_ncm_free(tal_ncm *m)
{
    free(m->sum);
    free(m->mean);
    free(m->mean_sq);
    free(m->count);
    free(m->confusion);
    free(m->dist);
    free(m->items);
    memset(m, 0, sizeof *m);
}

void tal_ncm_add(tal_ncm *m, const float *x, int32_t label)
{
    if (label < 0 || (uint32_t)label > m->C)
        return;
    double *s = m->sum + (size_t)label * m->D;
    for (uint32_t d = 0; d < m->D; d++)
        s[d] += x[d];
    m->count[label]++;
}

int tal_ncm_fit(tal_ncm *m)
{
    uint64_t act = 0;
    for (uint32_t c = 0; c <= m->C; c++) {
        double *mu = m->mean + (size_t)c * m->D, sq = 0;
        const double *s = m->sum + (size_t)c * m->D;
        for (uint32_t d = 0; d < m->D && m->count[c]; d++) {
            mu[d] = s[d] / (double)m->count[c];
            sq += mu[d] * mu[d];
        }
        m->mean_sq[c] = sq;
        if (c < m->C)
            act += m->count[c];
    }
    if (!act || !m->count[m->C])
        return tal_err(TAL_EINVAL, "nearest-class-mean test: the reference part has no %s snippets",
                       act ? "background" : "action");
    m->fitted = 1;
    return 0;
}

/* |x - mean_c|^2 without the |x|^2 term (the same for every c) */
static double dist(const tal_ncm *m, const float *x, uint32_t c)
{
    const double *mu = m->mean + (size_t)c * m->D;
    double dot = 0;
    for (uint32_t d = 0; d < m->D; d++)
        dot += x[d] * mu[d];
    return m->mean_sq[c] - 2 * dot;
}

int tal_ncm_eval(tal_ncm *m, const float *x, int32_t label)
{
    if (label < 0 || (uint32_t)label > m->C || !m->fitted)
        return 0;
    uint32_t C = m->C, truth = (uint32_t)label;
    if (truth < C && !m->count[truth])
        return 0;   /* a class never seen in the reference part */
    int first = -1, second = -1;
    for (uint32_t c = 0; c < C; c++) {
        if (!m->count[c])
            continue;
        double dc = m->dist[c] = dist(m, x, c);
        if (first < 0 || dc < m->dist[first]) {
            second = first;
            first = (int)c;
        } else if (second < 0 || dc < m->dist[second]) {
            second = (int)c;
        }
    }
    double score = dist(m, x, C) - m->dist[first];
    void *v = m->items;
    if (tal_grow(&v, &m->items_cap, m->nitems + 1, sizeof *m->items))
        return TAL_ENOMEM;
    m->items = v;
    m->items[m->nitems++] = (struct tal_ncm_item){ (float)score, truth < C };
    if (truth < C) {
        m->n_act++;
        m->confusion[(size_t)truth * C + (uint32_t)first]++;
        if ((uint32_t)first == truth)
            m->n_top1++;
        if ((uint32_t)first == truth || (second >= 0 && (uint32_t)second == truth)) {
            m->n_top2++;
            if ((uint32_t)first != truth)
                m->n_second++;
        }
        m->bin_tp += score > 0;
    } else {
        m->n_bg++;
        m->bin_tn += score <= 0;
    }
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    float x = ((const struct tal_ncm_item *)a)->score, y = ((const struct tal_ncm_item *)b)->score;
    return (x > y) - (x < y);
}

/* Mann-Whitney: the chance a random action snippet outscores a random
 * background one, ties counting one half.  Sorts the items. */
static double auc(struct tal_ncm_item *it, size_t n, uint64_t npos, uint64_t nneg)
{
    if (!npos || !nneg)
        return NAN;
    qsort(it, n, sizeof *it, cmp_item);
    double ranksum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && it[j].score == it[i].score)
            j++;
        double rank = (i + 1 + j) / 2.0;   /* mean of ranks i+1..j */
        for (size_t k = i; k < j; k++)
            if (it[k].pos)
                ranksum += rank;
        i = j;
    }
    return (ranksum - (double)npos * (npos + 1) / 2) / ((double)npos * nneg);
}

void tal_ncm_result_get(tal_ncm *m, tal_ncm_result *r)
{
    memset(r, 0, sizeof *r);
    r->n_act = m->n_act;
    r->n_bg = m->n_bg;
    for (uint32_t c = 0; c < m->C; c++) {
        r->ref_act += m->count[c];
        r->classes += m->count[c] > 0;
    }
    r->ref_bg = m->count[m->C];
    double na = (double)m->n_act, wrong = na - (double)m->n_top1;
    r->accuracy = na ? m->n_top1 / na : NAN;
    r->top2 = na ? m->n_top2 / na : NAN;
    r->second = wrong > 0 ? m->n_second / wrong : NAN;
    r->balanced = na && m->n_bg ? (m->bin_tp / na + m->bin_tn / (double)m->n_bg) / 2 : NAN;
    r->auc = auc(m->items, m->nitems, m->n_act, m->n_bg);
}

void tal_snippet_labels(int32_t *lab, uint32_t T, double fps, double stride, double clip, const tal_segset *segs,
                        uint32_t C)
{
    for (uint32_t t = 0; t < T; t++) {
        double c = (t * stride + clip / 2) / fps, best_start = INFINITY;
        int32_t l = (int32_t)C;
        int amb = 0;
        for (uint32_t i = 0; i < segs->n; i++) {
            const tal_segment *g = &segs->v[i];
            if (c < g->start || c >= g->end)
                continue;
            if ((g->flags & TAL_SEG_AMBIGUOUS) || g->cls < 0 || (uint32_t)g->cls >= C) {
                amb = 1;
            } else if (g->start < best_start) {
                best_start = g->start;
                l = g->cls;
            }
        }
        lab[t] = l == (int32_t)C && amb ? -1 : l;
    }
}
