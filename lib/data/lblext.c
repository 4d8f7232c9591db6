/* lblext.c — label extension (see lblext.h). */
#include "lblext.h"
#include "resize.h"
#include "timemap.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tal_lblext_ws {
    double *w, *x, *map;
    size_t w_cap, x_cap, map_cap;
    int32_t *snip;            /* each point's snippet */
    size_t snip_cap;
    unsigned char *lab;       /* labelled snippets */
    size_t lab_cap;
    float *feat;
    size_t feat_cap;
    tal_point *pts;
    size_t pts_cap;
    uint32_t npos;
};

tal_lblext_ws *tal_lblext_ws_new(void) { return tal_calloc(1, sizeof(tal_lblext_ws)); }

void tal_lblext_ws_free(tal_lblext_ws *w)
{
    if (!w)
        return;
    free(w->w);
    free(w->x);
    free(w->map);
    free(w->snip);
    free(w->lab);
    free(w->feat);
    free(w->pts);
    free(w);
}

const double *tal_lblext_positions(const tal_lblext_ws *w, uint32_t *n)
{
    *n = w->npos;
    return w->x;
}

static int reserve(void *p, size_t *cap, size_t n, size_t size)
{
    void *v = *(void **)p;
    if (tal_grow(&v, cap, n ? n : 1, size))
        return TAL_ENOMEM;
    *(void **)p = v;
    return 0;
}

/* the points' snippets, after checking that they are in order and inside */
static int point_snippets(tal_lblext_ws *w, const tal_record *r, const tal_grid *g)
{
    if (reserve(&w->snip, &w->snip_cap, r->npoints, sizeof *w->snip))
        return TAL_ENOMEM;
    double end = tal_record_pos_to_sec(r, g, r->T - 0.5);
    if (r->duration > 0 && r->duration > end)
        end = r->duration;
    for (uint32_t k = 0; k < r->npoints; k++) {
        double t = r->points[k].time;
        if (k && t < r->points[k - 1].time)
            return tal_err(TAL_EINVAL, "points are not in time order: point %u at %.6g s comes after one at %.6g s",
                           k, t, r->points[k - 1].time);
        if (t < 0 || t > end)
            return tal_err(TAL_EINVAL, "point %u at %.6g s is outside the sequence (0 .. %.6g s)", k, t, end);
        if (r->points[k].cls < 0)
            return tal_err(TAL_EINVAL, "point %u at %.6g s has no class", k, t);
        double p = floor(tal_record_sec_to_pos(r, g, t) + 0.5);
        w->snip[k] = p < 0 ? 0 : p > r->T - 1 ? (int32_t)r->T - 1 : (int32_t)p;
    }
    return 0;
}

/* eq. 1: tau1 on runs of labelled snippets, tau2 one snippet either side */
static double weights(tal_lblext_ws *w, uint32_t T, uint32_t np, const tal_lblext_opts *o)
{
    memset(w->lab, 0, T);
    for (uint32_t k = 0; k < np; k++)
        w->lab[w->snip[k]] = 1;
    for (uint32_t j = 0; j < T; j++)
        w->w[j] = 1;
    for (uint32_t j = 0; j < T;) {
        if (!w->lab[j]) {
            j++;
            continue;
        }
        uint32_t e = j;
        while (e + 1 < T && w->lab[e + 1])
            e++;
        for (uint32_t k = j; k <= e; k++)
            w->w[k] = o->tau1;
        if (j > 0)
            w->w[j - 1] = o->tau2;
        if (e + 1 < T)
            w->w[e + 1] = o->tau2;
        j = e + 1;
    }
    double s = 0;
    for (uint32_t j = 0; j < T; j++)
        s += w->w[j];
    return s;
}

/* x_i = the inverse CDF of the weights at (i + 1/2) S / n */
static void positions(tal_lblext_ws *w, uint32_t T, double S, uint32_t n)
{
    double step = S / n, below = 0;   /* weight of snippets before j */
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
        double m = (i + 0.5) * step;
        while (j + 1 < T && below + w->w[j] <= m) {
            below += w->w[j];
            j++;
        }
        double x = (double)j - 0.5 + (m - below) / w->w[j];
        /* rounding must not reorder or leave the last snippet's span */
        if (i && x <= w->x[i - 1])
            x = nextafter(w->x[i - 1], INFINITY);
        w->x[i] = x > T - 0.5 ? T - 0.5 : x;
    }
}

/* each point copied to the new positions within theta of its snippet */
static int spread_points(tal_lblext_ws *w, const tal_record *r, uint32_t n, double theta, uint32_t *np)
{
    uint32_t m = 0;
    for (uint32_t k = 0; k < r->npoints; k++) {
        double c = w->snip[k];
        /* the first position at or after c - theta, and the nearest to c */
        uint32_t lo = 0, near = 0;
        while (lo < n && w->x[lo] < c - theta)
            lo++;
        for (uint32_t i = 1; i < n; i++)
            if (fabs(w->x[i] - c) < fabs(w->x[near] - c))
                near = i;
        uint32_t hi = lo;
        while (hi < n && w->x[hi] <= c + theta)
            hi++;
        if (hi == lo) {
            lo = near;
            hi = near + 1;
        }
        for (uint32_t i = lo; i < hi; i++) {
            if (reserve(&w->pts, &w->pts_cap, (size_t)m + 1, sizeof *w->pts))
                return TAL_ENOMEM;
            w->pts[m++] = (tal_point){ w->map[i], r->points[k].cls, r->points[k].weight };
        }
    }
    /* two points of one class on one snippet label it once (the larger weight) */
    {
        tal_record tmp = { .points = w->pts, .npoints = m };
        tal_record_sort_points(&tmp);
    }
    uint32_t u = 0;
    for (uint32_t q = 0; q < m; q++) {
        if (u && w->pts[u - 1].time == w->pts[q].time && w->pts[u - 1].cls == w->pts[q].cls) {
            if (w->pts[q].weight > w->pts[u - 1].weight)
                w->pts[u - 1].weight = w->pts[q].weight;
            continue;
        }
        w->pts[u++] = w->pts[q];
    }
    m = u;
    *np = m;
    return 0;
}

int tal_lblext_record(tal_lblext_ws *w, tal_record *r, const tal_grid *g, const tal_lblext_opts *o)
{
    if (!(r->present & TAL_HAS_FEATURES) || !r->T)
        return tal_err(TAL_EINVAL, "no features to extend");
    if (!r->npoints)
        return tal_err(TAL_EINVAL, "no points: a point-supervised sequence needs at least one");
    if (!(o->tau1 > 0) || !(o->tau2 > 0) || !(o->theta >= 0))
        return tal_err(TAL_EINVAL, "tau1 and tau2 must be positive, theta not negative");
    if ((r->present & TAL_HAS_TIMEMAP) && r->ntimemap != r->T)
        return tal_err(TAL_EINVAL, "the time map has %u entries for %u snippets", r->ntimemap, r->T);
    uint32_t T = r->T, D = r->D;
    if (reserve(&w->w, &w->w_cap, T, sizeof *w->w) || reserve(&w->lab, &w->lab_cap, T, 1))
        return TAL_ENOMEM;
    int rc = point_snippets(w, r, g);
    if (rc)
        return rc;
    double S = weights(w, T, r->npoints, o), rn = floor(S + 0.5);
    if (!(rn >= 1) || rn > 67108864.0)
        return tal_err(TAL_EINVAL, "the extended sequence would have %.0f snippets", rn);
    uint32_t n = (uint32_t)rn;
    size_t nf;
    if (tal_mul_size(n, D, &nf))
        return tal_err(TAL_ENOMEM, "out of memory: %u x %u features", n, D);
    if (reserve(&w->x, &w->x_cap, n, sizeof *w->x) || reserve(&w->map, &w->map_cap, n, sizeof *w->map) ||
        reserve(&w->feat, &w->feat_cap, nf, sizeof *w->feat))
        return TAL_ENOMEM;
    positions(w, T, S, n);
    w->npos = n;
    for (uint32_t i = 0; i < n; i++)
        w->map[i] = tal_record_pos_to_sec(r, g, w->x[i]);
    for (uint32_t i = 1; i < n; i++)
        if (!(w->map[i] > w->map[i - 1]))
            return tal_err(TAL_EINVAL, "new positions %u and %u fall on the same time %.17g s", i - 1, i, w->map[i]);
    for (uint32_t i = 0; i < n; i++)
        tal_features_at(w->feat + (size_t)i * D, r->feat, T, D, w->x[i]);
    uint32_t np;
    if ((rc = spread_points(w, r, n, o->theta, &np)))
        return rc;
    /* commit: only memory can fail from here, and r is whole until the
     * buffers have grown */
    void *tm = r->timemap;
    if (tal_grow(&tm, &r->timemap_cap, n, sizeof *r->timemap))
        return TAL_ENOMEM;
    r->timemap = tm;
    if ((rc = tal_floats_reserve(&r->feat, &r->feat_cap, nf)))
        return rc;
    r->ntimemap = n;
    r->present |= TAL_HAS_TIMEMAP;
    r->T = n;
    memcpy(r->timemap, w->map, (size_t)n * sizeof *w->map);
    memcpy(r->feat, w->feat, nf * sizeof *w->feat);
    r->npoints = 0;
    for (uint32_t k = 0; k < np; k++)
        if ((rc = tal_record_add_point(r, w->pts[k].time, w->pts[k].cls, w->pts[k].weight)))
            return rc;
    r->present &= ~TAL_HAS_DIST;
    r->dist_T = r->dist_K = 0;
    return 0;
}
