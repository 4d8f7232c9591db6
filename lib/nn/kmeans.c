/* kmeans.c — k-means++ and Lloyd's iterations (see kmeans.h). */
#include "nn/kmeans.h"
#include "util/error.h"
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

static double dist2(const float *a, const double *c, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) {
        double v = a[j] - c[j];
        s += v * v;
    }
    return s;
}

int tal_kmeans(const float *x, int n, int d, int k, int iters, tal_rng *r, int32_t *labels)
{
    if (n < 1 || d < 1 || k < 1)
        return tal_err(TAL_EINVAL, "k-means of %d points of %d dimensions into %d clusters", n, d, k);
    if (k > n)
        k = n;
    double *cen = tal_malloc((size_t)k * d * sizeof *cen), *near = tal_malloc((size_t)n * sizeof *near);
    double *sum = tal_malloc((size_t)k * d * sizeof *sum);
    int64_t *cnt = tal_malloc((size_t)k * sizeof *cnt);
    if (!cen || !near || !sum || !cnt) {
        free(cen);
        free(near);
        free(sum);
        free(cnt);
        return TAL_ENOMEM;
    }
    /* k-means++: the first centre uniformly, each next one with probability
     * proportional to the squared distance to the nearest chosen centre */
    int first = (int)tal_rng_below(r, (uint32_t)n);
    for (int j = 0; j < d; j++)
        cen[j] = x[(size_t)first * d + j];
    for (int i = 0; i < n; i++)
        near[i] = dist2(x + (size_t)i * d, cen, d);
    for (int c = 1; c < k; c++) {
        double total = 0;
        for (int i = 0; i < n; i++)
            total += near[i];
        int pick = n - 1;
        if (total > 0) {
            double u = tal_rng_double(r) * total, acc = 0;
            for (int i = 0; i < n; i++) {
                acc += near[i];
                if (u < acc) {
                    pick = i;
                    break;
                }
            }
        } else {   /* every point on a centre already: any */
            pick = (int)tal_rng_below(r, (uint32_t)n);
        }
        double *cc = cen + (size_t)c * d;
        for (int j = 0; j < d; j++)
            cc[j] = x[(size_t)pick * d + j];
        for (int i = 0; i < n; i++) {
            double v = dist2(x + (size_t)i * d, cc, d);
            near[i] = v < near[i] ? v : near[i];
        }
    }
    for (int i = 0; i < n; i++)
        labels[i] = -1;
    for (int it = 0; it < (iters > 0 ? iters : 1); it++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            double bd = dist2(x + (size_t)i * d, cen, d);
            for (int c = 1; c < k; c++) {
                double v = dist2(x + (size_t)i * d, cen + (size_t)c * d, d);
                if (v < bd) {
                    bd = v;
                    best = c;
                }
            }
            changed += labels[i] != best;
            labels[i] = best;
        }
        if (!changed)
            break;
        memset(sum, 0, (size_t)k * d * sizeof *sum);
        memset(cnt, 0, (size_t)k * sizeof *cnt);
        for (int i = 0; i < n; i++) {
            cnt[labels[i]]++;
            for (int j = 0; j < d; j++)
                sum[(size_t)labels[i] * d + j] += x[(size_t)i * d + j];
        }
        for (int c = 0; c < k; c++)
            if (cnt[c])
                for (int j = 0; j < d; j++)
                    cen[(size_t)c * d + j] = sum[(size_t)c * d + j] / (double)cnt[c];
    }
    free(cen);
    free(near);
    free(sum);
    free(cnt);
    return 0;
}
