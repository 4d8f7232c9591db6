/* instfeat.c — max-pooled instance features (see instfeat.h). */
#include "instfeat.h"
#include "timemap.h"
#include "../util/error.h"

#include <math.h>

int tal_instance_in_features(const tal_record *r, const tal_grid *g, double start, double end)
{
    if (!(r->present & TAL_HAS_FEATURES) || !r->T || !isfinite(start) || !isfinite(end) || start > end)
        return 0;
    return tal_record_sec_to_pos(r, g, end) >= -0.5 && tal_record_sec_to_pos(r, g, start) <= (double)r->T - 0.5;
}

int tal_instance_feature(const tal_record *r, const tal_grid *g, double start, double end, float *out)
{
    if (!(r->present & TAL_HAS_FEATURES) || !r->T)
        return tal_err(TAL_EINVAL, "no features to pool");
    if (!isfinite(start) || !isfinite(end) || start > end)
        return tal_err(TAL_EINVAL, "instance [%g, %g] s is not a segment", start, end);
    double a = tal_record_sec_to_pos(r, g, start), b = tal_record_sec_to_pos(r, g, end);
    double last = (double)r->T - 1;
    /* half a snippet of slack at each end: an instance may start at 0 s,
     * before the first snippet's centre, or end at the duration */
    if (b < -0.5 || a > last + 0.5)
        return tal_err(TAL_EINVAL, "instance [%g, %g] s lies outside the sequence (snippets 0 to %u, %g to %g s)",
                       start, end, r->T - 1, tal_record_pos_to_sec(r, g, 0), tal_record_pos_to_sec(r, g, last));
    double lo = ceil(a), hi = floor(b);
    if (lo < 0)
        lo = 0;
    if (hi > last)
        hi = last;
    if (lo > hi) {   /* between two positions: the one nearest the middle */
        double m = floor(0.5 * (a + b) + 0.5);
        lo = hi = m < 0 ? 0 : m > last ? last : m;
    }
    uint32_t D = r->D, t0 = (uint32_t)lo, t1 = (uint32_t)hi;
    const float *f = r->feat + (size_t)t0 * D;
    for (uint32_t k = 0; k < D; k++)
        out[k] = f[k];
    for (uint32_t t = t0 + 1; t <= t1; t++) {
        f = r->feat + (size_t)t * D;
        for (uint32_t k = 0; k < D; k++)
            out[k] = f[k] > out[k] ? f[k] : out[k];
    }
    return 0;
}
