/* series.c — window statistics of multichannel time series (series.h). */
#include "series.h"
#include "../util/error.h"

#include <math.h>

const char *const tal_series_stat_names[TAL_SERIES_NSTATS] = { "mean", "sd", "min", "max", "energy", "mad" };

uint32_t tal_series_nsnippets(uint64_t n, uint32_t window, uint32_t hop)
{
    if (!window || !hop || n < window)
        return 0;
    uint64_t t = (n - window) / hop + 1;
    return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

int tal_series_magnitude(float *out, const float *x, uint64_t n, uint32_t c,
                         const tal_chan_range *r, uint32_t nr)
{
    for (uint32_t k = 0; k < nr; k++)
        if (!r[k].count || r[k].first > c || r[k].count > c - r[k].first)
            return tal_err(TAL_EINVAL, "channel range %u-%u is outside the %u channels", r[k].first + 1,
                           r[k].first + r[k].count, c);
    uint32_t oc = c + nr;
    for (uint64_t i = 0; i < n; i++) {
        const float *in = x + i * c;
        float *o = out + i * oc;
        for (uint32_t j = 0; j < c; j++)
            o[j] = in[j];
        for (uint32_t k = 0; k < nr; k++) {
            double s = 0;
            for (uint32_t j = r[k].first; j < r[k].first + r[k].count; j++)
                s += (double)in[j] * in[j];
            o[c + k] = (float)sqrt(s);
        }
    }
    return 0;
}

void tal_series_window(float *out, const float *x, uint64_t n, uint32_t c,
                       uint32_t window, uint32_t hop)
{
    uint32_t T = tal_series_nsnippets(n, window, hop);
    for (uint32_t t = 0; t < T; t++) {
        const float *w = x + (uint64_t)t * hop * c;
        float *o = out + (uint64_t)t * c * TAL_SERIES_NSTATS;
        for (uint32_t j = 0; j < c; j++) {
            double sum = 0, sq = 0, mad = 0, lo = w[j], hi = w[j];
            for (uint32_t i = 0; i < window; i++) {
                double v = w[(uint64_t)i * c + j];
                sum += v;
                sq += v * v;
                if (v < lo)
                    lo = v;
                if (v > hi)
                    hi = v;
                if (i)
                    mad += fabs(v - w[(uint64_t)(i - 1) * c + j]);
            }
            double mean = sum / window, energy = sq / window, var = 0;
            for (uint32_t i = 0; i < window; i++) {
                double d = w[(uint64_t)i * c + j] - mean;
                var += d * d;
            }
            var /= window;
            float *s = o + (uint64_t)j * TAL_SERIES_NSTATS;
            s[0] = (float)mean;
            s[1] = (float)sqrt(var);
            s[2] = (float)lo;
            s[3] = (float)hi;
            s[4] = (float)energy;
            s[5] = (float)(window > 1 ? mad / (window - 1) : 0);
        }
    }
}
