/* trainer.c — see trainer.h. */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char CONFIG[] = "model: tiny\nseed: 7\n";

int trainer_init(trainer *t, uint64_t seed, int medium) { return trainer_init_on(t, seed, medium, NULL); }

int trainer_init_on(trainer *t, uint64_t seed, int medium, const tal_backend *be)
{
    memset(t, 0, sizeof *t);
    tal_af_config c = { .d_in = 6, .ch = 8, .n_embd = 2, .n_stem = 1, .n_branch = 2, .heads = 2, .window = 5,
                        .mlp_ratio = 2, .kernel = 3, .num_classes = 3, .head_layers = 2, .drop_path = 0.2f,
                        .layer_scale = 0.5f, .prior = 0.01f };
    t->B = 2;
    t->T = 24;
    if (medium) {
        c.d_in = 48;
        c.ch = 96;
        c.heads = 4;
        c.window = 9;
        c.mlp_ratio = 4;
        t->T = 192;
    }
    t->P = tal_params_new();
    tal_rng r;
    tal_rng_seed(&r, seed);
    tal_rng init = tal_rng_split(&r, 0);
    t->data_rng = tal_rng_split(&r, 1);
    t->train_rng = tal_rng_split(&r, 2);
    if (tal_af_define(&t->m, t->P, &c) || tal_params_alloc(t->P, be) || tal_af_init(&t->m, t->P, &init))
        return -1;
    tal_optim_config oc = tal_optim_defaults(TAL_OPT_ADAMW);
    oc.weight_decay = 0.05f;
    t->opt = tal_optim_new(t->P, &oc);
    t->ema = tal_ema_new(t->P, 0.9f);
    t->g = tal_graph_new(be);
    t->sched = (tal_sched){ .kind = TAL_SCHED_COSINE, .base_lr = 3e-3, .warmup_steps = 3, .total_steps = 20,
                            .eta_min = 1e-6 };
    t->loss_norm = 100;
    return t->opt && t->ema && t->g ? 0 : -1;
}

void trainer_free(trainer *t)
{
    tal_graph_free(t->g);
    tal_ema_free(t->ema);
    tal_optim_free(t->opt);
    tal_params_free(t->P);
    memset(t, 0, sizeof *t);
}

static int grad(trainer *t, float *x, float *mk);
static int update(trainer *t);

/* the batch's inputs, on the host */
static int with_buffers(trainer *t, int nsteps, int only_grad)
{
    const tal_af_config *c = &t->m.cfg;
    const int TB = t->B, TT = t->T;
    float *x = tal_malloc(sizeof(float) * (size_t)(TB * c->d_in * TT)), *mk = tal_malloc(sizeof(float) * (size_t)(TB * TT));
    int rc = x && mk ? 0 : TAL_ENOMEM;
    for (int s = 0; s < nsteps && !rc; s++)
        if (!(rc = grad(t, x, mk)) && !only_grad)
            rc = update(t);
    free(x);
    free(mk);
    return rc;
}

int trainer_run(trainer *t, int nsteps) { return with_buffers(t, nsteps, 0); }
int trainer_grad(trainer *t) { return with_buffers(t, 1, 1); }
int trainer_update(trainer *t) { return update(t); }

/* draw a batch, forward, loss, backward and clipping */
static int grad(trainer *t, float *x, float *mk)
{
    const tal_af_config *c = &t->m.cfg;
    const int TB = t->B, TT = t->T;
    for (int i = 0; i < TB * c->d_in * TT; i++)
        x[i] = (float)tal_rng_normal(&t->data_rng);
    for (int b = 0; b < TB; b++) {
        int len = b ? 8 + (int)tal_rng_below(&t->data_rng, TT - 8) : TT;
        for (int i = 0; i < TT; i++)
            mk[b * TT + i] = i < len ? 1.0f : 0.0f;
    }
    tal_graph *g = t->g;
    tal_graph_reset(g);
    tal_graph_set_training(g, 1);
    tal_rng sr = tal_rng_split(&t->train_rng, (uint64_t)t->step);
    tal_graph_set_rng(g, &sr);
    tal_tensor *xt = tal_tensor_from(g, 3, (int64_t[]){ TB, c->d_in, TT }, x);
    tal_tensor *mt = tal_tensor_from(g, 2, (int64_t[]){ TB, TT }, mk);
    tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *ms[TAL_AF_MAX_LEVELS];
    int L = tal_af_forward(g, &t->m, xt, mt, cls, reg, ms);
    if (L < 0)
        return L;
    /* targets: one positive class per 5th valid time step */
    tal_tensor *loss = NULL;
    int npos = 0;
    for (int l = 0; l < L; l++) {
        int64_t Tl = cls[l]->shape[2], K = cls[l]->shape[1];
        float *y = tal_malloc(sizeof(float) * (size_t)(TB * K * Tl));
        for (int64_t i = 0; i < TB * K * Tl; i++)
            y[i] = tal_rng_below(&t->data_rng, 5) == 0 ? 1.0f : 0.0f;
        for (int64_t i = 0; i < TB * K * Tl; i++)
            npos += y[i] != 0;
        tal_tensor *yt = tal_tensor_from(g, 3, cls[l]->shape, y);
        free(y);
        tal_tensor *term = tal_add(g, tal_sum_all(g, tal_sigmoid_focal(g, cls[l], yt, 0.25f, 2.0f)),
                                   tal_scale(g, tal_mean_all(g, reg[l]), 0.1f));
        loss = loss ? tal_add(g, loss, term) : term;
    }
    t->loss_norm = 0.9 * t->loss_norm + 0.1 * (npos > 1 ? npos : 1);
    loss = tal_scale(g, loss, (float)(1.0 / t->loss_norm));
    float lv;
    if (!loss || tal_tensor_download(g, loss, &lv))
        return -1;
    t->last_loss = lv;
    tal_params_zero_grad(t->P);
    int rc = tal_backward(g, loss);
    if (rc)
        return rc;
    double norm = tal_clip_grad_norm(t->P, 1.0);
    if (!isfinite(norm))
        return -1;
    return 0;
}

/* the optimiser step and the weight average */
static int update(trainer *t)
{
    int rc = tal_optim_step(t->opt, (float)tal_sched_lr(&t->sched, t->step));
    if (rc)
        return rc;
    tal_ema_update(t->ema);
    t->step++;
    return 0;
}

static void fill_ckpt(trainer *t, tal_ckpt *c)
{
    memset(c, 0, sizeof *c);
    c->params = t->P;
    c->optim = t->opt;
    c->ema = t->ema;
    c->step = t->step;
    c->config = (char *)CONFIG;
    c->nrng = 2;
    c->rng_name[0] = "data";
    c->rng[0] = &t->data_rng;
    c->rng_name[1] = "train";
    c->rng[1] = &t->train_rng;
    c->nscalar = 1;
    c->scalar_name[0] = "loss_norm";
    c->scalar[0] = t->loss_norm;
}

int trainer_save(trainer *t, const char *path)
{
    tal_ckpt c;
    fill_ckpt(t, &c);
    return tal_checkpoint_save(path, &c);
}

int trainer_load(trainer *t, const char *path)
{
    tal_ckpt c;
    fill_ckpt(t, &c);
    c.config = NULL;
    int rc = tal_checkpoint_load(path, &c, 0);
    if (rc)
        return rc;
    t->step = c.step;
    t->loss_norm = c.scalar[0];
    int same = c.config && !strcmp(c.config, CONFIG);
    free(c.config);
    return same ? 0 : tal_err(TAL_EINVAL, "config text did not survive the checkpoint");
}

int trainer_same(const trainer *a, const trainer *b)
{
    size_t n = tal_params_size(a->P) * sizeof(float);
    if (n != tal_params_size(b->P) * sizeof(float) || memcmp(tal_params_data(a->P), tal_params_data(b->P), n) ||
        memcmp(tal_ema_data(a->ema), tal_ema_data(b->ema), n))
        return 0;
    for (int k = 0; k < tal_optim_nstate(a->opt); k++)
        if (memcmp(tal_optim_state(a->opt, k), tal_optim_state(b->opt, k), n))
            return 0;
    return a->step == b->step && a->loss_norm == b->loss_norm && tal_optim_steps(a->opt) == tal_optim_steps(b->opt);
}
