/* probe.c — linear probes of snippet representations (see probe.h). */
#include "probe.h"
#include "acp.h"
#include "af_backbone.h"
#include "../data/snippets.h"
#include "../nn/ops.h"
#include "../nn/optim.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TRAIN = 20000, MAX_TEST = 50000, STEPS = 200 };

/* The representation of every snippet of r: (T, E) into *out (malloc'd). */
static int represent(tal_detector *d, const tal_record *r, float **out, int *E)
{
    int D = (int)r->D;
    if (!d) {
        *E = D;
        *out = tal_malloc((size_t)r->T * D * sizeof **out);
        if (!*out)
            return TAL_ENOMEM;
        memcpy(*out, r->feat, (size_t)r->T * D * sizeof **out);
        return 0;
    }
    const tal_af_model *m = tal_acp_network(d);
    if (!m)
        return tal_err(TAL_EINVAL, "a linear probe reads the representation of a contrastively pre-trained network");
    int Tv = (int)r->T, T = tal_af_padded(Tv, d->cfg.branch_blocks);
    float *x = tal_calloc((size_t)D * T, sizeof *x), *mk = tal_calloc((size_t)T, sizeof *mk);
    int32_t *rows = tal_malloc((size_t)Tv * sizeof *rows);
    tal_graph *g = tal_graph_new(tal_params_backend(d->P));
    int rc = x && mk && rows && g ? 0 : TAL_ENOMEM;
    if (!rc) {
        tal_graph_set_training(g, 0);
        tal_graph_set_grad(g, 0);
        tal_af_fill_input(x, mk, r->feat, Tv, D, T);
        for (int t = 0; t < Tv; t++)
            rows[t] = t;
        tal_tensor *fpn[TAL_AF_MAX_LEVELS], *masks[TAL_AF_MAX_LEVELS];
        int L = tal_af_forward_q(g, m, tal_tensor_from(g, 3, (int64_t[]){ 1, D, T }, x),
                                 tal_tensor_from(g, 2, (int64_t[]){ 1, T }, mk), NULL, NULL, NULL, fpn, masks);
        tal_tensor *z = L > 0 ? tal_acp_embed(g, fpn, L, 1, T, rows, Tv) : NULL;
        if (!z)
            rc = tal_graph_status(g) ? tal_graph_status(g) : TAL_EINVAL;
        else {
            *E = (int)z->shape[1];
            if (!(*out = tal_malloc((size_t)Tv * *E * sizeof **out)))
                rc = TAL_ENOMEM;
            else
                rc = tal_tensor_download(g, z, *out);
        }
    }
    tal_graph_free(g);
    free(x);
    free(mk);
    free(rows);
    return rc;
}

/* Gather every `step`-th snippet's representation and class (at most cap). */
static int collect(tal_detector *d, const tal_record *const *recs, uint32_t n, const tal_header *h, uint64_t cap,
                   float **X, int32_t **Y, uint64_t *count, int *E)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += recs[i]->T;
    uint64_t step = total > cap ? (total + cap - 1) / cap : 1, m = (total + step - 1) / step, at = 0, k = 0;
    *X = NULL;
    *Y = tal_malloc((size_t)(m ? m : 1) * sizeof **Y);
    int32_t *cls = NULL;
    int rc = *Y ? 0 : TAL_ENOMEM;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const tal_record *r = recs[i];
        float *rep = NULL;
        int e = 0;
        if (!(cls = tal_malloc((size_t)(r->T ? r->T : 1) * sizeof *cls)) || (rc = represent(d, r, &rep, &e))) {
            rc = rc ? rc : TAL_ENOMEM;
            free(cls);
            break;
        }
        if (!*X) {
            *E = e;
            if (!(*X = tal_malloc((size_t)(m ? m : 1) * e * sizeof **X)))
                rc = TAL_ENOMEM;
        }
        tal_grid g = tal_record_grid(r, h);   /* each snippet's class, background C */
        tal_snippet_classes(&r->segs, &g, r->T, (int32_t)h->classes.n, TAL_SEG_PSEUDO, cls);
        for (uint32_t t = 0; t < r->T && !rc; t++, k++)
            if (k % step == 0 && at < m) {
                memcpy(*X + (size_t)at * e, rep + (size_t)t * e, (size_t)e * sizeof **X);
                (*Y)[at++] = cls[t];
            }
        free(rep);
        free(cls);
    }
    *count = at;
    return rc;
}

int tal_probe(tal_detector *d, const tal_record *const *train, uint32_t ntrain, const tal_record *const *test,
              uint32_t ntest, const tal_header *h, tal_probe_result *out)
{
    int K = (int)h->classes.n + 1, E = 0, E2 = 0;
    float *X = NULL, *Xt = NULL;
    int32_t *Y = NULL, *Yt = NULL;
    uint64_t n = 0, nt = 0;
    tal_params *P = NULL;
    tal_optim *opt = NULL;
    int rc = collect(d, train, ntrain, h, MAX_TRAIN, &X, &Y, &n, &E);
    if (!rc)
        rc = collect(d, test, ntest, h, MAX_TEST, &Xt, &Yt, &nt, &E2);
    if (!rc && (!n || !nt))
        rc = tal_err(TAL_EINVAL, "linear probe: no snippets to %s", n ? "test on" : "train on");
    double *mu = NULL, *sd = NULL;
    if (!rc && !((mu = tal_calloc((size_t)E, sizeof *mu)) && (sd = tal_calloc((size_t)E, sizeof *sd))))
        rc = TAL_ENOMEM;
    if (!rc) {   /* standardise both by the training snippets */
        for (uint64_t i = 0; i < n; i++)
            for (int j = 0; j < E; j++)
                mu[j] += X[i * E + j];
        for (int j = 0; j < E; j++)
            mu[j] /= (double)n;
        for (uint64_t i = 0; i < n; i++)
            for (int j = 0; j < E; j++)
                sd[j] += (X[i * E + j] - mu[j]) * (X[i * E + j] - mu[j]);
        for (int j = 0; j < E; j++)
            sd[j] = sqrt(sd[j] / (double)n) + 1e-6;
        for (uint64_t i = 0; i < n; i++)
            for (int j = 0; j < E; j++)
                X[i * E + j] = (float)((X[i * E + j] - mu[j]) / sd[j]);
        for (uint64_t i = 0; i < nt; i++)
            for (int j = 0; j < E; j++)
                Xt[i * E + j] = (float)((Xt[i * E + j] - mu[j]) / sd[j]);
    }
    tal_tensor *W = NULL, *b = NULL;
    if (!rc) {
        P = tal_params_new();
        W = P ? tal_param(P, "probe.weight", TAL_PARAM_DECAY, 2, (int64_t[]){ K, E }) : NULL;
        b = W ? tal_param(P, "probe.bias", 0, 1, (int64_t[]){ K }) : NULL;
        if (!b || tal_params_alloc(P, NULL))
            rc = tal_errcode() ? tal_errcode() : TAL_ENOMEM;
    }
    if (!rc) {   /* zero start: nothing random */
        memset(tal_params_data(P), 0, tal_params_size(P) * sizeof(float));
        tal_optim_config oc = tal_optim_defaults(TAL_OPT_ADAMW);
        oc.weight_decay = 1e-4f;
        if (!(opt = tal_optim_new(P, &oc)))
            rc = TAL_ENOMEM;
    }
    for (int step = 0; step < STEPS && !rc; step++) {
        tal_graph *g = tal_graph_new(NULL);
        tal_graph_set_training(g, 1);
        tal_params_zero_grad(P);
        tal_tensor *logits = tal_linear(g, tal_tensor_from(g, 2, (int64_t[]){ (int64_t)n, E }, X), W, b);
        tal_tensor *loss = tal_mean_all(g, tal_cross_entropy(g, logits, Y));
        if (!loss || (rc = tal_backward(g, loss)))
            rc = rc ? rc : tal_graph_status(g);
        if (!rc) {
            tal_params_finish_grads(P);
            rc = tal_optim_step(opt, 1e-2f);
        }
        tal_graph_free(g);
    }
    if (!rc) {
        float *lg = tal_malloc((size_t)nt * K * sizeof *lg);
        uint64_t *hit = tal_calloc((size_t)K, sizeof *hit), *all = tal_calloc((size_t)K, sizeof *all);
        tal_graph *g = tal_graph_new(NULL);
        tal_tensor *logits = g ? tal_linear(g, tal_tensor_from(g, 2, (int64_t[]){ (int64_t)nt, E }, Xt), W, b) : NULL;
        if (!lg || !hit || !all || !logits || (rc = tal_tensor_download(g, logits, lg)))
            rc = rc ? rc : TAL_ENOMEM;
        uint64_t right = 0;
        for (uint64_t i = 0; i < nt && !rc; i++) {
            int best = 0;
            for (int k = 1; k < K; k++)
                best = lg[i * K + k] > lg[i * K + best] ? k : best;
            all[Yt[i]]++;
            hit[Yt[i]] += best == Yt[i];
            right += best == Yt[i];
        }
        if (!rc) {
            double cm = 0;
            int seen = 0;
            for (int k = 0; k < K; k++)
                if (all[k]) {
                    cm += (double)hit[k] / (double)all[k];
                    seen++;
                }
            *out = (tal_probe_result){ (double)right / (double)nt, seen ? cm / seen : 0, n, nt };
        }
        tal_graph_free(g);
        free(lg);
        free(hit);
        free(all);
    }
    tal_optim_free(opt);
    tal_params_free(P);
    free(mu);
    free(sd);
    free(X);
    free(Xt);
    free(Y);
    free(Yt);
    return rc;
}
