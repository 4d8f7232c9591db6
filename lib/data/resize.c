/* resize.c — see resize.h. */
#include "resize.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

void tal_features_at(float *out, const float *f, uint32_t T, uint32_t D, double p)
{
    double fl = floor(p);
    if (p <= 0 || p >= T - 1 || p == fl) {
        uint32_t k = p <= 0 ? 0 : p >= T - 1 ? T - 1 : (uint32_t)fl;
        memcpy(out, f + (size_t)k * D, (size_t)D * sizeof *out);
        return;
    }
    uint32_t k = (uint32_t)fl;
    double a = p - fl;
    const float *f0 = f + (size_t)k * D, *f1 = f0 + D;
    for (uint32_t d = 0; d < D; d++)
        out[d] = (float)((1 - a) * f0[d] + a * f1[d]);
}

void tal_features_resize(float *dst, uint32_t N, const float *src, uint32_t T, uint32_t D)
{
    double scale = (double)T / N;
    for (uint32_t i = 0; i < N; i++)
        tal_features_at(dst + (size_t)i * D, src, T, D, (i + 0.5) * scale - 0.5);
}
