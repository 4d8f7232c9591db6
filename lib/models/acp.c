/* acp.c — contrastive pre-training of the ActionFormer-style backbone (see acp.h). */
#include "acp.h"
#include "af_backbone.h"
#include "af_targets.h"
#include "../nn/kmeans.h"
#include "../nn/ops.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tal_af_model m;
    float *x, *mask, *feat;
    int32_t *rows, *lab;
    size_t x_cap, mask_cap, feat_cap, rows_cap, lab_cap;
} acp_state;

static acp_state *S(tal_detector *d) { return d->model; }

const tal_af_model *tal_acp_network(const tal_detector *d)
{
    return d->ops == &tal_det_acp_ops ? &((const acp_state *)d->model)->m : NULL;
}

static int acp_define(tal_detector *d)
{
    acp_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    tal_af_config bc = tal_af_config_of(&d->cfg, d->input_dim, d->num_classes);   /* no heads: kind acp */
    return tal_af_define(&s->m, d->P, &bc);
}

static int acp_init(tal_detector *d, tal_rng *r) { return tal_af_init(&S(d)->m, d->P, r); }

static void acp_free(tal_detector *d)
{
    acp_state *s = S(d);
    if (!s)
        return;
    free(s->x);
    free(s->mask);
    free(s->feat);
    free(s->rows);
    free(s->lab);
    free(s);
    d->model = NULL;
}

int tal_acp_sample(tal_rng *r, int len, int P, int32_t *pos)
{
    int n = P < len ? P : len;
    for (int p = 0; p < n; p++) {
        int a = (int)((int64_t)p * len / n), b = (int)((int64_t)(p + 1) * len / n);
        pos[p] = a + (int32_t)tal_rng_below(r, (uint32_t)(b - a));
    }
    return n;
}

void tal_acp_window(tal_rng *r, const tal_det_config *c, int T, int *start, int *len)
{
    double lo = c->n_crop_ratio == 2 ? c->crop_ratio[0] : 1, hi = c->n_crop_ratio == 2 ? c->crop_ratio[1] : 1;
    tal_af_crop(r, T, c->max_seq_len, lo, hi, 0, 0, NULL, 0, start, len);
}

int tal_acp_draw(tal_rng *r, const float *f, int len, int D, int P, int32_t *pos, float *feat)
{
    int n = tal_acp_sample(r, len, P, pos);
    for (int i = 0; i < n; i++)
        memcpy(feat + (size_t)i * D, f + (size_t)pos[i] * D, (size_t)D * sizeof *feat);
    return n;
}

int tal_acp_cluster(tal_rng *r, const tal_det_config *c, const float *feat, int B, const int *nf, int D,
                    int32_t *lab)
{
    int rc = 0, m = 0;
    for (int b = 0; b < B; b++)
        m += nf[b];
    for (int b = 0, at = 0; b < B && !rc && c->acp_coarse; at += nf[b++])
        if (nf[b] >= 2)
            rc = tal_kmeans(feat + (size_t)at * D, nf[b], D, 2, c->acp_iters, r, lab + at);
    if (!rc && c->acp_fine && m >= 2)
        rc = tal_kmeans(feat, m, D, c->acp_fine_k, c->acp_iters, r, lab + m);
    return rc;
}

tal_tensor *tal_acp_embed(tal_graph *g, tal_tensor *const *fpn, int L, int B, int T, const int32_t *rows, int m)
{
    tal_tensor *up[TAL_AF_MAX_LEVELS];
    for (int l = 0; l < L; l++)
        up[l] = l ? tal_resample(g, fpn[l], T, TAL_RESAMPLE_NEAREST) : fpn[l];
    tal_tensor *rep = tal_transpose(g, tal_concat(g, L, up, 1), 1, 2);   /* (B,T,ch*L) */
    if (!rep)
        return NULL;
    rep = tal_reshape(g, rep, 2, (int64_t[]){ (int64_t)B * T, rep->shape[2] });
    return tal_l2_normalize(g, tal_gather(g, rep, 0, rows, m), 1e-12f);
}

void tal_acp_contrast(tal_graph *g, tal_tensor *z, int B, const int *nf, const int32_t *coarse_lab,
                      const int32_t *fine_lab, float tau, tal_tensor **coarse, tal_tensor **fine)
{
    *coarse = *fine = NULL;
    int at = 0, used = 0;
    for (int b = 0; b < B && coarse_lab; b++) {
        if (nf[b] >= 2) {
            tal_tensor *lb = tal_supcon(g, tal_slice(g, z, 0, at, at + nf[b]), coarse_lab + at, tau);
            *coarse = *coarse ? tal_add(g, *coarse, lb) : lb;
            used++;
        }
        at += nf[b];
    }
    if (*coarse && used > 1)
        *coarse = tal_scale(g, *coarse, 1.0f / (float)used);
    if (fine_lab && z && z->shape[0] >= 2)
        *fine = tal_supcon(g, z, fine_lab, tau);
}

static tal_tensor *acp_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *r,
                            tal_loss_log *log)
{
    acp_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int D = d->input_dim, Pp = c->acp_partitions;
    int *start = tal_malloc((size_t)B * sizeof *start), *len = tal_malloc((size_t)B * sizeof *len);
    int *nf = tal_malloc((size_t)B * sizeof *nf);
    tal_tensor *out = NULL;
    if (!start || !len || !nf)
        goto done;
    int Tmax = 1;
    for (int b = 0; b < B; b++) {
        tal_acp_window(r, c, (int)batch[b]->T, &start[b], &len[b]);
        Tmax = len[b] > Tmax ? len[b] : Tmax;
    }
    int T = tal_af_padded(Tmax, c->branch_blocks);
    size_t M = (size_t)B * Pp;
    if (tal_reserve(&s->x, &s->x_cap, (size_t)B * D * T, sizeof *s->x) ||
        tal_reserve(&s->mask, &s->mask_cap, (size_t)B * T, sizeof *s->mask) ||
        tal_reserve(&s->feat, &s->feat_cap, M * D, sizeof *s->feat) ||
        tal_reserve(&s->rows, &s->rows_cap, M, sizeof *s->rows) || tal_reserve(&s->lab, &s->lab_cap, 2 * M, sizeof *s->lab))
        goto done;
    memset(s->x, 0, (size_t)B * D * T * sizeof *s->x);
    memset(s->mask, 0, (size_t)B * T * sizeof *s->mask);
    /* the frames: positions in the flattened (B*T) rows, and their input features */
    int m = 0;
    for (int b = 0; b < B; b++) {
        const float *f = batch[b]->feat + (size_t)start[b] * D;
        tal_af_fill_input(s->x + (size_t)b * D * T, s->mask + (size_t)b * T, f, len[b], D, T);
        nf[b] = tal_acp_draw(r, f, len[b], D, Pp, s->rows + m, s->feat + (size_t)m * D);
        for (int i = 0; i < nf[b]; i++)
            s->rows[m + i] += b * T;
        m += nf[b];
    }
    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ B, D, T }, s->x);
    tal_tensor *mk = tal_tensor_from(g, 2, (int64_t[]){ B, T }, s->mask);
    tal_tensor *fpn[TAL_AF_MAX_LEVELS], *masks[TAL_AF_MAX_LEVELS];
    int L = tal_af_forward_q(g, &s->m, x, mk, NULL, NULL, NULL, fpn, masks);
    if (L < 0)
        goto done;
    tal_tensor *z = tal_acp_embed(g, fpn, L, B, T, s->rows, m);
    /* the labels: k-means clusters of the frames' input features */
    int rc = tal_acp_cluster(r, c, s->feat, B, nf, D, s->lab);
    tal_tensor *coarse = NULL, *fine = NULL;
    if (!rc)
        tal_acp_contrast(g, z, B, nf, c->acp_coarse ? s->lab : NULL, c->acp_fine ? s->lab + m : NULL,
                         (float)c->acp_tau, &coarse, &fine);
    if (rc)
        goto done;
    out = coarse && fine ? tal_add(g, coarse, fine) : coarse ? coarse : fine;
    if (!out)
        out = tal_scale(g, tal_sum_all(g, z), 0.0f);
    if (tal_graph_status(g)) {
        out = NULL;
        goto done;
    }
    log->n = 0;
    tal_tensor *term[2] = { coarse, fine };
    static const char *name[2] = { "coarse", "fine" };
    int on[2] = { c->acp_coarse, c->acp_fine };
    for (int i = 0; i < 2; i++) {
        if (!on[i])
            continue;
        float v = 0;
        if (term[i])
            tal_tensor_download(g, term[i], &v);
        log->name[log->n] = name[i];
        log->value[log->n++] = v;
    }
    float v = 0;
    tal_tensor_download(g, out, &v);
    log->total = v;
    log->positives = m;
done:
    free(start);
    free(len);
    free(nf);
    return out;
}

static int acp_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    (void)d, (void)g, (void)rec, (void)dets, (void)dist;
    return tal_err(TAL_EINVAL, "a contrastively pre-trained backbone has no heads: start a detector from it "
                   "(tal-train --init)");
}

const tal_det_ops tal_det_acp_ops = {
    .name = "acp",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_NONE) | TAL_TRAINS_ON(TAL_SUP_FULL) | TAL_TRAINS_ON(TAL_SUP_POINT) |
                 TAL_TRAINS_ON(TAL_SUP_VIDEO),
    .define = acp_define,
    .init = acp_init,
    .loss = acp_loss,
    .detect = acp_detect,
    .free = acp_free,
};
