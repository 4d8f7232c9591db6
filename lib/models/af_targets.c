/* af_targets.c — ActionFormer-style label assignment and training crops
 * (see af_targets.h).  Arithmetic is in float, as in the reference, so
 * that boundary cases fall the same way. */
#include "af_targets.h"
#include "../util/error.h"

#include <math.h>
#include <string.h>

void tal_af_assign_default(tal_af_assign_cfg *c, int nlevels)
{
    memset(c, 0, sizeof *c);
    if (nlevels > TAL_AF_TARGET_LEVELS)
        nlevels = TAL_AF_TARGET_LEVELS;
    c->nlevels = nlevels;
    c->center_radius = 1.5f;
    for (int l = 0; l < nlevels; l++) {
        c->strides[l] = 1 << l;
        c->reg_lo[l] = l == 0 ? 0.0f : (float)(4 << (l - 1));
        c->reg_hi[l] = l == nlevels - 1 ? 10000.0f : (float)(4 << l);
    }
}

int64_t tal_af_positions(const tal_af_assign_cfg *c, int T)
{
    int64_t n = 0;
    for (int l = 0; l < c->nlevels; l++)
        n += T / c->strides[l];
    return n;
}

/* Does position t (level stride s, range [lo, hi]) qualify for segment g? */
static int qualifies(const tal_af_assign_cfg *c, const tal_af_seg *g, float t, float s, float lo, float hi)
{
    float gs = g->start, ge = g->end, inside;
    if (c->center_radius > 0) {
        float ctr = 0.5f * (gs + ge);
        float tmin = ctr - s * c->center_radius, tmax = ctr + s * c->center_radius;
        inside = fminf(t - fmaxf(tmin, gs), fminf(tmax, ge) - t);
    } else {
        inside = fminf(t - gs, ge - t);
    }
    float far = fmaxf(t - gs, ge - t);
    return inside > 0 && far >= lo && far <= hi;
}

int tal_af_assign(const tal_af_assign_cfg *c, int T, int valid, const tal_af_seg *segs, int nseg, int ncls,
                  float *cls, float *reg, uint8_t *pos)
{
    int64_t i = 0;
    int npos = 0;
    for (int l = 0; l < c->nlevels; l++) {
        int s = c->strides[l];
        float fs = (float)s, lo = c->reg_lo[l], hi = c->reg_hi[l];
        for (int k = 0; k < T / s; k++, i++) {
            float t = (float)(k * s);
            float *ci = cls + i * ncls;
            memset(ci, 0, (size_t)ncls * sizeof *ci);
            reg[2 * i] = reg[2 * i + 1] = 0;
            pos[i] = 0;
            if (k * s >= valid)
                continue;
            float best_len = INFINITY;
            int best = -1;
            for (int j = 0; j < nseg; j++)
                if (segs[j].end - segs[j].start < best_len && qualifies(c, &segs[j], t, fs, lo, hi)) {
                    best_len = segs[j].end - segs[j].start;
                    best = j;
                }
            if (best < 0)
                continue;
            /* every qualifying segment as short as the winner adds its class */
            for (int j = 0; j < nseg; j++)
                if (segs[j].end - segs[j].start <= best_len + 1e-3f && segs[j].cls >= 0 && segs[j].cls < ncls &&
                    qualifies(c, &segs[j], t, fs, lo, hi))
                    ci[segs[j].cls] = 1;
            reg[2 * i] = (t - segs[best].start) / fs;
            reg[2 * i + 1] = (segs[best].end - t) / fs;
            pos[i] = 1;
            npos++;
        }
    }
    return npos;
}

/* Fraction of segment g inside [st - offset, ed + offset]; the clipped
 * bounds in *l, *r. */
static double inside_ratio(const tal_af_seg *g, int st, int ed, double offset, double *l, double *r)
{
    *l = fmax(st - offset, g->start);
    *r = fmin(ed + offset, g->end);
    double area = fabs((double)g->end - g->start);
    return area > 0 ? fmax(*r - *l, 0) / area : 0;
}

/* uniform integer in [a, b] */
static int randint(tal_rng *g, int a, int b) { return a + (int)tal_rng_below(g, (uint32_t)(b - a + 1)); }

int tal_af_crop(tal_rng *g, int T, int max_len, double lo, double hi, double trunc, double offset,
                tal_af_seg *segs, int nseg, int *start, int *len)
{
    int crop;
    *start = 0;
    *len = T;
    if (T <= max_len) {
        if (lo >= 1.0)
            return nseg;
        int a = (int)nearbyint(lo * T), b = (int)nearbyint(hi * T);   /* half to even, like Python */
        if (a < 1)
            a = 1;
        if (b > T)
            b = T;
        crop = randint(g, a, b < a ? a : b);
        if (crop == T)
            return nseg;
    } else {
        crop = max_len;
    }
    int st = 0;
    for (int trial = 0; trial < 200; trial++) {
        st = randint(g, 0, T - crop);
        int ed = st + crop, any = 0;
        double l, r;
        for (int j = 0; j < nseg && !any; j++)
            any = inside_ratio(&segs[j], st, ed, offset, &l, &r) >= trunc;
        if (any || nseg == 0)
            break;
    }
    int ed = st + crop, kept = 0;
    for (int j = 0; j < nseg; j++) {
        double l, r;
        if (inside_ratio(&segs[j], st, ed, offset, &l, &r) >= trunc)
            segs[kept++] = (tal_af_seg){ (float)(l - st), (float)(r - st), segs[j].cls };
    }
    *start = st;
    *len = crop;
    return kept;
}
