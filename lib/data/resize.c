/* resize.c — see resize.h. */
#include "resize.h"

#include <math.h>
#include <stddef.h>

void tal_features_resize(float *dst, uint32_t N, const float *src, uint32_t T, uint32_t D)
{
    double scale = (double)T / N;
    for (uint32_t i = 0; i < N; i++) {
        double x = (i + 0.5) * scale - 0.5;
        if (x < 0)
            x = 0;
        if (x > T - 1)
            x = T - 1;
        uint32_t a = (uint32_t)floor(x), b = a + 1 < T ? a + 1 : a;
        double w = x - a;
        const float *p = src + (size_t)a * D, *q = src + (size_t)b * D;
        float *o = dst + (size_t)i * D;
        for (uint32_t d = 0; d < D; d++)
            o[d] = (float)((1 - w) * p[d] + w * q[d]);
    }
}
