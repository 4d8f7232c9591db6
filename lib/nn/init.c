/* init.c — see init.h. */
#include "nn/init.h"
#include "util/error.h"
#include "util/mem.h"

#include <math.h>
#include <stdlib.h>

int64_t tal_fan_in(const tal_tensor *t)
{
    if (t->ndim < 2)
        return t->ndim ? t->shape[0] : 1;
    int64_t f = t->shape[1];
    for (int d = 2; d < t->ndim; d++)
        f *= t->shape[d];
    return f;
}

/* fill through a host buffer: kind 0 const (a), 1 uniform [a, b), 2 normal (a, b) */
static int fill(tal_params *P, tal_tensor *t, int kind, double a, double b, tal_rng *r)
{
    if (!t || !t->data)
        return tal_err(TAL_EINVAL, "init: parameter not allocated");
    size_t n = (size_t)tal_numel(t);
    float *h = tal_malloc((n ? n : 1) * sizeof *h);
    if (!h)
        return TAL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        h[i] = kind == 0 ? (float)a : kind == 1 ? (float)(a + (b - a) * tal_rng_float(r))
                                                : (float)(a + b * tal_rng_normal(r));
    tal_params_backend(P)->upload(t->data, h, n * sizeof *h);
    free(h);
    return 0;
}

int tal_init_const(tal_params *P, tal_tensor *t, float v) { return fill(P, t, 0, v, 0, NULL); }

int tal_init_uniform(tal_params *P, tal_tensor *t, float lo, float hi, tal_rng *r)
{
    return fill(P, t, 1, lo, hi, r);
}

int tal_init_normal(tal_params *P, tal_tensor *t, float mean, float std, tal_rng *r)
{
    return fill(P, t, 2, mean, std, r);
}

int tal_init_kaiming_uniform(tal_params *P, tal_tensor *t, float a, tal_rng *r)
{
    int64_t fan = tal_fan_in(t);
    if (fan < 1)
        return tal_err(TAL_EINVAL, "init: '%s' has no fan-in", t->name ? t->name : "tensor");
    double gain = sqrt(2.0 / (1.0 + (double)a * a));
    double bound = sqrt(3.0) * gain / sqrt((double)fan);
    return fill(P, t, 1, -bound, bound, r);
}

int tal_init_bias_default(tal_params *P, tal_tensor *b, int64_t fan_in, tal_rng *r)
{
    double bound = fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0.0;
    return fill(P, b, 1, -bound, bound, r);
}

int tal_init_prior_bias(tal_params *P, tal_tensor *b, float prior)
{
    if (!(prior > 0.0f && prior < 1.0f))
        return tal_err(TAL_EINVAL, "init: prior probability %g outside (0, 1)", prior);
    return fill(P, b, 0, -log((1.0 - prior) / prior), 0, NULL);
}

int tal_init_values(tal_params *P, tal_tensor *t, const float *v)
{
    if (!t || !t->data)
        return tal_err(TAL_EINVAL, "init: parameter not allocated");
    tal_params_backend(P)->upload(t->data, v, (size_t)tal_numel(t) * sizeof *v);
    return 0;
}
