/* optim.c — see optim.h. */
#include "nn/optim.h"
#include "util/error.h"
#include "util/mem.h"

#include <math.h>
#include <stdlib.h>

struct tal_optim {
    tal_params *P;
    tal_optim_config c;
    int64_t t;           /* steps taken */
    float *state[2];
    int nstate;
};

tal_optim_config tal_optim_defaults(int kind)
{
    tal_optim_config c = { .kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f };
    if (kind == TAL_OPT_ADAMW)
        c.weight_decay = 0.01f;
    if (kind == TAL_OPT_SGD)
        c.momentum = 0.9f;
    return c;
}

const char *tal_optim_kind_name(int kind)
{
    return kind == TAL_OPT_ADAMW ? "adamw" : kind == TAL_OPT_ADAM ? "adam" : kind == TAL_OPT_SGD ? "sgd" : "?";
}

tal_optim *tal_optim_new(tal_params *P, const tal_optim_config *cfg)
{
    if (!tal_params_data(P)) {
        tal_err(TAL_EINVAL, "optimiser: parameters are not allocated");
        return NULL;
    }
    if (cfg->kind < TAL_OPT_ADAMW || cfg->kind > TAL_OPT_SGD || !(cfg->weight_decay >= 0) ||
        !(cfg->beta1 >= 0 && cfg->beta1 < 1) || !(cfg->beta2 >= 0 && cfg->beta2 < 1) || !(cfg->eps >= 0) ||
        !(cfg->momentum >= 0)) {
        tal_err(TAL_EINVAL, "optimiser: invalid settings");
        return NULL;
    }
    tal_optim *o = tal_calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->P = P;
    o->c = *cfg;
    o->nstate = cfg->kind == TAL_OPT_SGD ? (cfg->momentum > 0) : 2;
    const tal_backend *be = tal_params_backend(P);
    size_t n = tal_params_size(P);
    for (int k = 0; k < o->nstate; k++) {
        o->state[k] = be->alloc((n ? n : 1) * sizeof(float));
        if (!o->state[k]) {
            tal_optim_free(o);
            tal_err(TAL_ENOMEM, "out of memory: optimiser state for %zu parameters", n);
            return NULL;
        }
        be->zero(o->state[k], n);
    }
    return o;
}

void tal_optim_free(tal_optim *o)
{
    if (!o)
        return;
    for (int k = 0; k < o->nstate; k++)
        if (o->state[k])
            tal_params_backend(o->P)->free(o->state[k]);
    free(o);
}

int tal_optim_step(tal_optim *o, float lr)
{
    if (!isfinite(lr) || lr < 0)
        return tal_err(TAL_EINVAL, "optimiser: learning rate %g", lr);
    tal_params *P = o->P;
    const tal_backend *be = tal_params_backend(P);
    tal_params_finish_grads(P);
    o->t++;
    const tal_optim_config *c = &o->c;
    float bc1 = (float)(1.0 - pow(c->beta1, (double)o->t)), bc2 = (float)(1.0 - pow(c->beta2, (double)o->t));
    for (int i = 0; i < tal_params_count(P); i++) {
        tal_tensor *t = tal_params_get(P, i);
        size_t off = tal_params_offset(P, i), n = (size_t)tal_numel(t);
        float wd = (c->decay_all || (tal_params_flags(P, i) & TAL_PARAM_DECAY)) ? c->weight_decay : 0.0f;
        if (c->kind == TAL_OPT_SGD)
            be->sgd_update(t->data, t->grad, o->nstate ? o->state[0] + off : NULL, n, lr, c->momentum, wd,
                           c->nesterov, o->t == 1);
        else
            be->adam_update(t->data, t->grad, o->state[0] + off, o->state[1] + off, n, lr, c->beta1, c->beta2, c->eps,
                            wd, bc1, bc2, c->kind == TAL_OPT_ADAMW);
    }
    return be->status();
}

const tal_optim_config *tal_optim_get_config(const tal_optim *o) { return &o->c; }
int64_t tal_optim_steps(const tal_optim *o) { return o->t; }
void tal_optim_set_steps(tal_optim *o, int64_t steps) { o->t = steps; }
int tal_optim_nstate(const tal_optim *o) { return o->nstate; }
float *tal_optim_state(const tal_optim *o, int k) { return k >= 0 && k < o->nstate ? o->state[k] : NULL; }

const char *tal_optim_state_name(const tal_optim *o, int k)
{
    if (o->c.kind == TAL_OPT_SGD)
        return "momentum_buffer";
    return k == 0 ? "exp_avg" : "exp_avg_sq";
}
