/* gridfit.c — see gridfit.h. */
#include "gridfit.h"
#include "../util/error.h"

#include <math.h>
#include <stdio.h>

/* seconds T snippets cover on a grid, and how far from the duration
 * they may end: one snippet plus 2 % */
static double span(double fps, double stride, double clip, uint32_t T) { return ((T - 1) * stride + clip) / fps; }
static double tolerance(double fps, double stride, double duration) { return stride / fps + 0.02 * duration; }

int tal_grid_check(const tal_grid *g, uint32_t T, double duration, tal_gridfit *f)
{
    if (!T || !(duration > 0) || !(g->fps > 0) || !(g->stride > 0) || !isfinite(duration))
        return -1;
    f->duration = duration;
    f->span = span(g->fps, g->stride, g->clip, T);
    f->tolerance = tolerance(g->fps, g->stride, duration);
    /* A clip equal to the stride (snippets tile the time) scales with it;
     * a clip of its own (I3D's 16 frames) stays and the stride takes the
     * rest.  One snippet: only the clip can fit. */
    double frames = duration * g->fps;
    if (g->clip == g->stride || T == 1)
        f->fit_stride = frames / T;
    else
        f->fit_stride = (frames - g->clip) / (T - 1);
    if (!(f->fit_stride > 0))
        f->fit_stride = frames / T;
    /* extractors step by whole frames: name the whole stride when it fits */
    double whole = round(f->fit_stride);
    if (whole >= 1 && whole != f->fit_stride) {
        double clip = g->clip == g->stride ? whole : g->clip;
        if (fabs(span(g->fps, whole, clip, T) - duration) <= tolerance(g->fps, whole, duration))
            f->fit_stride = whole;
    }
    return fabs(f->span - duration) <= f->tolerance;
}

void tal_gridfit_describe(char *buf, size_t n, const tal_grid *g, uint32_t T, const tal_gridfit *f)
{
    snprintf(buf, n, "%u snippets on the grid (%g fps, stride %g, clip %g) span %.2f s but the sequence lasts %.2f s; "
             "stride %.4g would fit", T, g->fps, g->stride, g->clip, f->span, f->duration, f->fit_stride);
}

uint32_t tal_grid_warn_records(const tal_record *v, uint32_t n, const tal_header *h, const char *name,
                               const char *hint)
{
    uint32_t bad = 0, checked = 0;
    for (uint32_t i = 0; i < n; i++) {
        const tal_record *r = &v[i];
        if (!(r->present & TAL_HAS_FEATURES) || (r->present & TAL_HAS_TIMEMAP))
            continue;
        tal_grid g = tal_record_grid(r, h);
        tal_gridfit f;
        int fit = tal_grid_check(&g, r->T, r->duration, &f);
        checked += fit >= 0;
        if (fit != 0)
            continue;
        if (!bad++) {
            char what[320];
            tal_gridfit_describe(what, sizeof what, &g, r->T, &f);
            tal_warn_wrong("'%s': sequence '%s': %s (%s)", name, r->id, what, hint);
        }
    }
    if (bad)
        tal_warn_wrong("'%s': %u of %u sequences do not fit their time grid: labels land on the wrong snippets and "
                 "detections come back at the wrong times", name, bad, checked);
    return bad;
}
