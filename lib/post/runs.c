/* runs.c — runs of a score sequence above a threshold (see runs.h). */
#include "runs.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>

int tal_runs_above(tal_runs *out, const float *x, ptrdiff_t step, int T, double thresh)
{
    int n = 0;
    for (int t = 0; t < T;) {
        if (!(x[(ptrdiff_t)t * step] > thresh)) {
            t++;
            continue;
        }
        int a = t;
        while (t < T && x[(ptrdiff_t)t * step] > thresh)
            t++;
        if (out->n == out->cap && tal_reserve(&out->v, &out->cap, out->cap ? 2 * out->cap : 16, sizeof *out->v))
            return TAL_ENOMEM;
        out->v[out->n++] = (tal_run){ a, t };
        n++;
    }
    return n;
}

int tal_run_next_set(const uint8_t *x, ptrdiff_t step, int T, int *t, tal_run *r)
{
    int a = *t;
    while (a < T && !x[(ptrdiff_t)a * step])
        a++;
    if (a >= T) {
        *t = T;
        return 0;
    }
    int e = a;
    while (e < T && x[(ptrdiff_t)e * step])
        e++;
    *r = (tal_run){ a, e };
    *t = e;
    return 1;
}

void tal_runs_free(tal_runs *r)
{
    free(r->v);
    *r = (tal_runs){ 0 };
}

void tal_run_to_sec(const tal_grid *g, tal_run r, double duration, double *start, double *end)
{
    double a = fmax(tal_grid_to_sec(g, r.start - 0.5), 0), b = fmax(tal_grid_to_sec(g, r.end - 0.5), 0);
    if (duration > 0) {
        a = fmin(a, duration);
        b = fmin(b, duration);
    }
    *start = a;
    *end = b;
}
