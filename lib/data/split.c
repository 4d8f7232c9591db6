/* split.c — labelled/unlabelled splits and weaker supervision (see split.h). */
#include "split.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tal_seqclasses_init(tal_seqclasses *s, uint32_t ncls)
{
    memset(s, 0, sizeof *s);
    s->ncls = ncls;
}

void tal_seqclasses_free(tal_seqclasses *s)
{
    free(s->off);
    free(s->cls);
    memset(s, 0, sizeof *s);
}

int tal_seqclasses_add(tal_seqclasses *s, const tal_record *r)
{
    uint32_t *off = tal_reallocarray(s->off, (size_t)s->n + 2, sizeof *off);
    if (!off)
        return TAL_ENOMEM;
    s->off = off;
    if (s->n == 0)
        off[0] = 0;
    uint32_t start = off[s->n], end = start;
    /* a class is listed once per sequence */
    uint8_t *seen = tal_calloc(s->ncls ? s->ncls : 1, 1);
    if (!seen)
        return TAL_ENOMEM;
    int32_t k;
#define ADD(c)                                                                   \
    do {                                                                         \
        k = (c);                                                                 \
        if (k >= 0 && (uint32_t)k < s->ncls && !seen[k]) {                       \
            void *v = s->cls;                                                    \
            if (tal_grow(&v, &s->cls_cap, (size_t)end + 1, sizeof *s->cls)) {    \
                free(seen);                                                      \
                return TAL_ENOMEM;                                               \
            }                                                                    \
            s->cls = v;                                                          \
            s->cls[end++] = (uint32_t)k;                                         \
            seen[k] = 1;                                                         \
        }                                                                        \
    } while (0)
    for (uint32_t i = 0; i < r->segs.n; i++)
        if (!(r->segs.v[i].flags & TAL_SEG_AMBIGUOUS))
            ADD(r->segs.v[i].cls);
    for (uint32_t i = 0; i < r->npoints; i++)
        ADD(r->points[i].cls);
    for (uint32_t i = 0; i < r->nlabels; i++)
        ADD(r->labels[i].cls);
#undef ADD
    free(seen);
    off[++s->n] = end;
    return 0;
}

int tal_split_random(const tal_seqclasses *s, double frac, int stratify, uint64_t seed,
                     uint8_t *labelled, uint32_t *extra)
{
    uint32_t n = s->n;
    memset(labelled, 0, n);
    if (extra)
        *extra = 0;
    if (!n)
        return 0;
    uint32_t want = (uint32_t)floor(frac * n + 0.5);
    if (frac > 0 && want == 0)
        want = 1;
    if (want > n)
        want = n;
    uint32_t *perm = tal_malloc((size_t)n * sizeof *perm);
    if (!perm)
        return TAL_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    tal_rng g;
    tal_rng_seed(&g, seed);
    tal_rng_shuffle_u32(&g, perm, n);
    uint32_t chosen = 0;
    if (stratify && s->ncls) {
        /* walk the classes in a random order; for each not yet covered,
         * label the first sequence of the shuffled order that has it */
        uint32_t *corder = tal_malloc(s->ncls * sizeof *corder);
        uint8_t *covered = tal_calloc(s->ncls, 1);
        if (!corder || !covered) {
            free(corder);
            free(covered);
            free(perm);
            return TAL_ENOMEM;
        }
        for (uint32_t c = 0; c < s->ncls; c++)
            corder[c] = c;
        tal_rng_shuffle_u32(&g, corder, s->ncls);
        for (uint32_t ci = 0; ci < s->ncls; ci++) {
            uint32_t c = corder[ci];
            if (covered[c])
                continue;
            for (uint32_t pi = 0; pi < n; pi++) {
                uint32_t i = perm[pi];
                int has = 0;
                for (uint32_t j = s->off[i]; j < s->off[i + 1] && !has; j++)
                    has = s->cls[j] == c;
                if (!has || labelled[i])
                    continue;
                labelled[i] = 1;
                chosen++;
                for (uint32_t j = s->off[i]; j < s->off[i + 1]; j++)
                    covered[s->cls[j]] = 1;
                break;
            }
        }
        free(corder);
        free(covered);
        if (chosen > want && extra)
            *extra = chosen - want;
    }
    for (uint32_t pi = 0; pi < n && chosen < want; pi++)
        if (!labelled[perm[pi]]) {
            labelled[perm[pi]] = 1;
            chosen++;
        }
    free(perm);
    return 0;
}

int tal_split_per_class(const tal_seqclasses *s, uint32_t k, int shuffle, uint64_t seed, uint8_t *labelled,
                        int32_t *short_cls, uint32_t *unused)
{
    memset(labelled, 0, s->n);
    *short_cls = -1;
    uint32_t *count = tal_calloc(s->ncls ? s->ncls : 1, sizeof *count);
    uint32_t *order = tal_malloc((s->n ? s->n : 1) * sizeof *order);
    if (!count || !order) {
        free(count);
        free(order);
        return TAL_ENOMEM;
    }
    /* enough sequences for every class that has any */
    for (uint32_t j = 0; j < s->off[s->n]; j++)
        count[s->cls[j]]++;
    uint32_t none = 0;
    for (uint32_t c = 0; c < s->ncls; c++) {
        none += count[c] == 0;
        if (count[c] && count[c] < k && *short_cls < 0)
            *short_cls = (int32_t)c;
    }
    if (unused)
        *unused = none;
    if (*short_cls >= 0) {
        free(count);
        free(order);
        return TAL_EINVAL;
    }
    for (uint32_t i = 0; i < s->n; i++)
        order[i] = i;
    if (shuffle) {
        tal_rng g;
        tal_rng_seed(&g, seed ^ 0x73656d696bull);   /* apart from the other draws of the seed */
        tal_rng_shuffle_u32(&g, order, s->n);
    }
    /* a sequence is labelled while one of its classes has fewer than k;
     * once labelled it counts for every class it holds */
    memset(count, 0, (s->ncls ? s->ncls : 1) * sizeof *count);
    for (uint32_t oi = 0; oi < s->n; oi++) {
        uint32_t i = order[oi];
        int take = 0;
        for (uint32_t j = s->off[i]; j < s->off[i + 1]; j++)
            take |= count[s->cls[j]] < k;
        labelled[i] = (uint8_t)take;
        if (take)
            for (uint32_t j = s->off[i]; j < s->off[i + 1]; j++)
                count[s->cls[j]]++;
    }
    free(count);
    free(order);
    return 0;
}

int tal_points_from_segments(tal_record *r, int mode, double spread, tal_rng *g)
{
    r->npoints = 0;
    r->present |= TAL_HAS_POINTS;
    for (uint32_t i = 0; i < r->segs.n; i++) {
        const tal_segment *s = &r->segs.v[i];
        if ((s->flags & TAL_SEG_AMBIGUOUS) || s->cls < 0)
            continue;
        double lo = fmin(s->start, s->end), hi = fmax(s->start, s->end), len = hi - lo, t;
        switch (mode) {
        case TAL_POINTS_UNIFORM:
            t = lo + tal_rng_double(g) * len;
            break;
        case TAL_POINTS_GAUSSIAN:
            t = 0.5 * (lo + hi) + tal_rng_normal(g) * spread * len;
            t = fmin(fmax(t, lo), hi);
            break;
        default:
            t = 0.5 * (lo + hi);
        }
        if (tal_record_add_point(r, t, s->cls, 1.0f))
            return TAL_ENOMEM;
    }
    return 0;
}
