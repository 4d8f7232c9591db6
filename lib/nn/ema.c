/* ema.c — see ema.h. */
#include "nn/ema.h"
#include "util/error.h"
#include "util/mem.h"

#include <stdlib.h>

struct tal_ema {
    tal_params *P;
    float *avg;
    float decay;
};

tal_ema *tal_ema_new(tal_params *P, float decay)
{
    if (!tal_params_data(P) || !(decay >= 0 && decay <= 1)) {
        tal_err(TAL_EINVAL, "ema: parameters not allocated or decay %g outside [0, 1]", decay);
        return NULL;
    }
    tal_ema *e = tal_calloc(1, sizeof *e);
    if (!e)
        return NULL;
    const tal_backend *be = tal_params_backend(P);
    size_t n = tal_params_size(P);
    e->P = P;
    e->decay = decay;
    e->avg = be->alloc((n ? n : 1) * sizeof(float));
    if (!e->avg) {
        free(e);
        tal_err(TAL_ENOMEM, "out of memory: EMA of %zu parameters", n);
        return NULL;
    }
    be->copy(e->avg, tal_params_data(P), n);
    return e;
}

void tal_ema_free(tal_ema *e)
{
    if (!e)
        return;
    tal_params_backend(e->P)->free(e->avg);
    free(e);
}

void tal_ema_update(tal_ema *e)
{
    tal_params_backend(e->P)->ema_update(e->avg, tal_params_data(e->P), tal_params_size(e->P), e->decay);
}

float *tal_ema_data(const tal_ema *e) { return e->avg; }
float tal_ema_decay(const tal_ema *e) { return e->decay; }

int tal_ema_swap(tal_ema *e)
{
    /* pointers into the parameter buffer stay valid: swap the contents */
    const tal_backend *be = tal_params_backend(e->P);
    size_t n = tal_params_size(e->P);
    float *live = tal_params_data(e->P), *tmp = be->alloc((n ? n : 1) * sizeof(float));
    if (!tmp)
        return tal_err(TAL_ENOMEM, "out of memory: swapping the EMA weights");
    be->copy(tmp, live, n);
    be->copy(live, e->avg, n);
    be->copy(e->avg, tmp, n);
    be->free(tmp);
    return 0;
}
