/* spot_detector.c — the SPOT-style detector (METHODS.md §1,
 * reference-methods.md §2; the pieces are declared in spot.h).
 *
 * Every sequence (a random window of it in training, when train.crop_ratio
 * asks for one) is resampled to spot.temporal_scale snippets, so a batch is
 * (B, D, T) without padding.  The network: model.embd_layers convolutions
 * (+ LayerNorm + ReLU), sinusoidal positions, model.stem_blocks transformer
 * blocks at stride 1 (ActionFormer's block; model.window <= 1 gives SPOT's
 * global attention), a LayerNorm, then three heads on the snippet
 * embedding:
 *   classification  1x1 conv -> C+1 logits per snippet (softmax, background last)
 *   mask            3x3 conv + ReLU, 1x1 conv -> T logits per snippet: row t
 *                   is the foreground (sigmoid) of the instance t belongs to
 *   reconstruction  1x1 conv -> the resampled input features
 * Loss = spot.cls_weight x CE + w x weighted BCE + (1 - w) x Dice
 *        + spot.recon_weight x MSE,  w = spot.mask_bce_weight.
 * Inference: candidates from the threshold sets (tal_spot_candidates),
 * mapped back to seconds through the resampling, Soft-NMS (test.*).
 *
 * The semi-supervised methods add their terms (contrastive refinement,
 * losses on pseudo labels) on top of tal_spot_forward's outputs, the
 * snippet embedding included, and the loss functions of spot.h.
 */
#include "detector.h"
#include "spot.h"
#include "spot_semi.h"
#include "af_targets.h"
#include "../nn/init.h"
#include "../nn/ops.h"
#include "../post/nms.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LN_EPS 1e-5f

/* ---- the network ------------------------------------------------------------------ */

#define V(...) (sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ }

int tal_spot_define(tal_spot_model *m, tal_params *P, const tal_spot_config *cfg)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int C = cfg->ch, T = cfg->T;
    if (cfg->n_embd < 1 || cfg->n_embd > 4 || cfg->n_blocks < 0 || cfg->n_blocks > TAL_AF_MAX_BLOCKS ||
        cfg->heads < 1 || C % cfg->heads || T < 1 || cfg->d_in < 1 || cfg->num_classes < 1)
        return tal_err(TAL_EINVAL, "spot: unsupported configuration");
    char s[96];
    for (int i = 0; i < cfg->n_embd; i++) {
        snprintf(s, sizeof s, "spot.embd.%d.weight", i);
        m->embd_w[i] = tal_param(P, s, TAL_PARAM_DECAY, V(C, i ? C : cfg->d_in, cfg->kernel));
        snprintf(s, sizeof s, "spot.embd_norm.%d.weight", i);
        m->embd_ln_w[i] = tal_param(P, s, 0, V(1, C, 1));
        snprintf(s, sizeof s, "spot.embd_norm.%d.bias", i);
        m->embd_ln_b[i] = tal_param(P, s, 0, V(1, C, 1));
    }
    for (int i = 0; i < cfg->n_blocks; i++) {
        snprintf(s, sizeof s, "spot.encoder.%d", i);
        if (tal_af_block_define(&m->blk[i], P, s, C, cfg->mlp_ratio))
            return tal_errcode() ? tal_errcode() : TAL_EINVAL;
    }
    m->norm_w = tal_param(P, "spot.norm.weight", 0, V(1, C, 1));
    m->norm_b = tal_param(P, "spot.norm.bias", 0, V(1, C, 1));
    m->cls_w = tal_param(P, "spot.cls_head.weight", TAL_PARAM_DECAY, V(cfg->num_classes + 1, C, 1));
    m->cls_b = tal_param(P, "spot.cls_head.bias", 0, V(cfg->num_classes + 1));
    m->mask1_w = tal_param(P, "spot.mask_head.0.weight", TAL_PARAM_DECAY, V(C, C, 3));
    m->mask1_b = tal_param(P, "spot.mask_head.0.bias", 0, V(C));
    m->mask2_w = tal_param(P, "spot.mask_head.1.weight", TAL_PARAM_DECAY, V(T, C, 1));
    m->rec_w = tal_param(P, "spot.recon_head.weight", TAL_PARAM_DECAY, V(cfg->d_in, C, 1));
    m->rec_b = tal_param(P, "spot.recon_head.bias", 0, V(cfg->d_in));
    if (!m->rec_b)
        return tal_errcode() ? tal_errcode() : TAL_EINVAL;
    if (cfg->pos_encoding) {
        /* pos[c][t]: sin(t w_i) on even channels 2i, cos(t w_i) on odd ones,
         * w_i = 10000^(-2i/C) (Vaswani et al.) */
        if (!(m->pos = tal_malloc((size_t)C * T * sizeof *m->pos)))
            return TAL_ENOMEM;
        for (int c = 0; c < C; c++) {
            double w = pow(10000.0, -(double)(c / 2 * 2) / C);
            for (int t = 0; t < T; t++)
                m->pos[(size_t)c * T + t] = (float)(c % 2 ? cos(t * w) : sin(t * w));
        }
    }
    return 0;
}

void tal_spot_release(tal_spot_model *m)
{
    free(m->pos);
    free(m->ones);
    m->pos = m->ones = NULL;
    m->ones_cap = 0;
}

static int init_conv(tal_params *P, tal_tensor *w, tal_tensor *b, tal_rng *r)
{
    int rc = tal_init_kaiming_uniform(P, w, sqrtf(5.0f), r);
    return !rc && b ? tal_init_bias_default(P, b, tal_fan_in(w), r) : rc;
}

static int init_ln(tal_params *P, tal_tensor *w, tal_tensor *b)
{
    return tal_init_const(P, w, 1.0f) || tal_init_const(P, b, 0.0f);
}

int tal_spot_init(tal_spot_model *m, tal_params *P, tal_rng *r)
{
    const tal_spot_config *c = &m->cfg;
    int rc = 0;
    for (int i = 0; i < c->n_embd && !rc; i++)
        rc = init_conv(P, m->embd_w[i], NULL, r) || init_ln(P, m->embd_ln_w[i], m->embd_ln_b[i]);
    for (int i = 0; i < c->n_blocks && !rc; i++)
        rc = tal_af_block_init(&m->blk[i], P, c->layer_scale, r);
    if (!rc)
        rc = init_ln(P, m->norm_w, m->norm_b) || init_conv(P, m->cls_w, m->cls_b, r) ||
             init_conv(P, m->mask1_w, m->mask1_b, r) || init_conv(P, m->mask2_w, NULL, r) ||
             init_conv(P, m->rec_w, m->rec_b, r);
    return rc ? (tal_errcode() ? tal_errcode() : TAL_EINVAL) : 0;
}

int tal_spot_forward(tal_graph *g, tal_spot_model *m, tal_tensor *x, tal_spot_out *o)
{
    const tal_spot_config *c = &m->cfg;
    memset(o, 0, sizeof *o);
    if (!x)
        return tal_graph_status(g) ? tal_graph_status(g) : TAL_EINVAL;
    int64_t B = x->shape[0], T = x->shape[2];
    if (x->ndim != 3 || x->shape[1] != c->d_in || T != c->T)
        return tal_err(TAL_EINVAL, "spot: input of shape (%lld, %lld, %lld), the model takes (B, %d, %d)",
                       (long long)x->shape[0], (long long)x->shape[1], (long long)T, c->d_in, c->T);
    /* the blocks take a validity mask: every snippet is valid */
    if ((size_t)(B * T) > m->ones_cap) {
        float *p = tal_realloc(m->ones, (size_t)(B * T) * sizeof *p);
        if (!p)
            return TAL_ENOMEM;
        m->ones = p;
        m->ones_cap = (size_t)(B * T);
        for (size_t i = 0; i < m->ones_cap; i++)
            p[i] = 1;
    }
    tal_tensor *valid = tal_tensor_from(g, 2, (int64_t[]){ B, T }, m->ones);
    int pad = c->kernel / 2;
    for (int i = 0; i < c->n_embd; i++) {
        x = tal_conv1d(g, x, m->embd_w[i], NULL, 1, pad, 1, NULL);
        x = tal_relu(g, tal_layernorm(g, x, m->embd_ln_w[i], m->embd_ln_b[i], LN_EPS));
    }
    if (m->pos)
        x = tal_add(g, x, tal_tensor_from(g, 3, (int64_t[]){ 1, c->ch, T }, m->pos));
    for (int i = 0; i < c->n_blocks; i++)
        x = tal_af_block_forward(g, &m->blk[i], x, valid, 1, c->heads, c->window, c->drop_path, NULL);
    tal_tensor *h = tal_layernorm(g, x, m->norm_w, m->norm_b, LN_EPS);
    o->emb = h;
    o->cls = tal_conv1d(g, h, m->cls_w, m->cls_b, 1, 0, 1, NULL);
    tal_tensor *mh = tal_relu(g, tal_conv1d(g, h, m->mask1_w, m->mask1_b, 1, 1, 1, NULL));
    o->mask = tal_conv1d(g, mh, m->mask2_w, NULL, 1, 0, 1, NULL);
    o->recon = tal_conv1d(g, h, m->rec_w, m->rec_b, 1, 0, 1, NULL);
    return tal_graph_status(g);
}

/* ---- losses ---------------------------------------------------------------------- */

tal_tensor *tal_spot_cls_loss(tal_graph *g, tal_tensor *logits, const int32_t *target)
{
    if (!logits)
        return NULL;
    int64_t B = logits->shape[0], K = logits->shape[1], T = logits->shape[2];
    tal_tensor *x = tal_reshape(g, tal_transpose(g, logits, 1, 2), 2, (int64_t[]){ B * T, K });
    return tal_mean_all(g, tal_cross_entropy(g, x, target));
}

tal_tensor *tal_spot_mask_bce(tal_graph *g, tal_tensor *logits, tal_tensor *y, double npos)
{
    if (!logits || !y)
        return NULL;
    double n = (double)tal_numel(y), wp, wn;
    tal_spot_bce_weights(npos, n, &wp, &wn);
    tal_tensor *w = tal_affine(g, y, (float)(wp - wn), (float)wn);
    return tal_scale(g, tal_sum_all(g, tal_mul(g, tal_bce_logits(g, logits, y), w)), (float)(1.0 / n));
}

/* Dice needs a ratio of two sums and the op set has no division: the
 * tensor returned is the first-order expansion of the loss around the
 * current sums (alpha I + beta P2 + constant, alpha and beta the partial
 * derivatives there), which has the loss's value and its gradient. */
tal_tensor *tal_spot_dice(tal_graph *g, tal_tensor *logits, tal_tensor *y)
{
    if (!logits || !y || tal_graph_status(g))
        return NULL;
    int64_t B = logits->shape[0], N = tal_numel(logits) / (B ? B : 1);
    tal_tensor *p = tal_reshape(g, tal_sigmoid(g, logits), 2, (int64_t[]){ B, N });
    tal_tensor *yy = tal_reshape(g, y, 2, (int64_t[]){ B, N });
    tal_tensor *I = tal_sum(g, tal_mul(g, p, yy), 1, 0);     /* (B) */
    tal_tensor *P2 = tal_sum(g, tal_mul(g, p, p), 1, 0);
    tal_tensor *Y2 = tal_sum(g, tal_mul(g, yy, yy), 1, 0);
    if (tal_graph_status(g))
        return NULL;
    float *h = tal_malloc((size_t)B * 5 * sizeof *h);
    if (!h)
        return NULL;
    float *hi = h, *hp = h + B, *hy = h + 2 * B, *alpha = h + 3 * B, *beta = h + 4 * B;
    if (tal_tensor_download(g, I, hi) || tal_tensor_download(g, P2, hp) || tal_tensor_download(g, Y2, hy)) {
        free(h);
        return NULL;
    }
    double loss = 0, lin = 0;
    for (int64_t b = 0; b < B; b++) {
        double num = 2.0 * hi[b] + 1, den = (double)hp[b] + hy[b] + 1;
        loss += (1 - num / den) / B;
        alpha[b] = (float)(-2.0 / (den * B));
        beta[b] = (float)(num / (den * den * B));
        lin += (double)alpha[b] * hi[b] + (double)beta[b] * hp[b];
    }
    tal_tensor *ta = tal_tensor_from(g, 1, (int64_t[]){ B }, alpha), *tb = tal_tensor_from(g, 1, (int64_t[]){ B }, beta);
    free(h);
    tal_tensor *s = tal_add(g, tal_sum_all(g, tal_mul(g, I, ta)), tal_sum_all(g, tal_mul(g, P2, tb)));
    return tal_affine(g, s, 1.0f, (float)(loss - lin));
}

tal_tensor *tal_spot_mse(tal_graph *g, tal_tensor *a, tal_tensor *b)
{
    tal_tensor *d = tal_sub(g, a, b);
    return tal_mean_all(g, tal_mul(g, d, d));
}

/* ---- the detector ----------------------------------------------------------------- */

typedef struct {
    tal_spot_model m;
    tal_nms_ws *nms;
    float *x, *mask, *host, *w;
    int32_t *cls;
    tal_spot_seg *segs;
    tal_af_seg *crop;
    size_t x_cap, mask_cap, host_cap, cls_cap, seg_cap, crop_cap, w_cap;
} spot_state;

static spot_state *S(tal_detector *d) { return d->model; }

static int spot_define(tal_detector *d)
{
    spot_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    const tal_det_config *c = &d->cfg;
    if (!(s->nms = tal_nms_ws_new()))
        return TAL_ENOMEM;
    tal_spot_config sc = { .d_in = d->input_dim, .ch = c->channels, .n_embd = c->embd_layers, .kernel = c->kernel,
                           .n_blocks = c->stem_blocks, .heads = c->heads, .window = c->window,
                           .mlp_ratio = c->mlp_ratio, .drop_path = (float)c->drop_path,
                           .layer_scale = (float)c->layer_scale, .T = c->temporal_scale,
                           .num_classes = d->num_classes, .pos_encoding = c->pos_encoding };
    return tal_spot_define(&s->m, d->P, &sc);
}

static int spot_init(tal_detector *d, tal_rng *r) { return tal_spot_init(&S(d)->m, d->P, r); }

static void spot_free(tal_detector *d)
{
    spot_state *s = S(d);
    if (!s)
        return;
    tal_spot_release(&s->m);
    tal_nms_ws_free(s->nms);
    free(s->x);
    free(s->mask);
    free(s->host);
    free(s->w);
    free(s->cls);
    free(s->segs);
    free(s->crop);
    free(s);
    d->model = NULL;
}

/* Features of snippets [start, start + len) of a record at the fixed
 * scale, channel-first, into x (D x T). */
static int resample_record(tal_detector *d, const tal_record *r, int start, int len, float *x)
{
    int D = d->input_dim, T = d->cfg.temporal_scale;
    if (len < 1)
        return tal_err(TAL_EINVAL, "sequence '%s' has no snippets", r->id);
    tal_spot_resample(r->feat + (size_t)start * D, D, 1, len, D, T, d->cfg.resample, x, 1, T);
    return 0;
}

/* One training sequence at the fixed scale: a random window when
 * train.crop_ratio asks for one (ActionFormer's crop rule: instances with
 * less than train.trunc_thresh of their length inside are left out, the
 * others clipped), its features into x (D x T), its targets into cls (T)
 * and mask (T x T).  The instances of a pseudo-labelled record are its
 * positive pseudo instances.  The window goes to *start, *len.  Returns
 * the number of mask ones, or <0. */
static int64_t record_sample(tal_detector *d, const tal_record *r, tal_rng *rng, float *x, int32_t *cls, float *mask,
                             int *start_out, int *len_out)
{
    spot_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    tal_grid g = tal_detector_grid(d, r);
    size_t cap = r->segs.n ? r->segs.n : 1;
    if (tal_reserve(&s->segs, &s->seg_cap, cap, sizeof *s->segs) ||
        tal_reserve(&s->crop, &s->crop_cap, cap, sizeof *s->crop))
        return TAL_ENOMEM;
    int n = 0, pseudo = r->supervision == TAL_SUP_NONE;
    for (uint32_t i = 0; i < r->segs.n; i++) {
        const tal_segment *q = &r->segs.v[i];
        if ((q->flags & TAL_SEG_AMBIGUOUS) || q->cls < 0 ||
            (pseudo && (q->flags & (TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE)) != TAL_SEG_PSEUDO))
            continue;
        double a = fmin(q->start, q->end), b = fmax(q->start, q->end);
        s->crop[n++] = (tal_af_seg){ (float)tal_grid_from_sec(&g, a), (float)tal_grid_from_sec(&g, b), q->cls };
    }
    int start = 0, len = (int)r->T;
    if (c->n_crop_ratio == 2 && c->crop_ratio[0] < 1 && r->T > 1)
        n = tal_af_crop(rng, (int)r->T, (int)r->T, c->crop_ratio[0], c->crop_ratio[1], c->trunc_thresh,
                        0.5 * g.clip / g.stride, s->crop, n, &start, &len);
    for (int i = 0; i < n; i++)
        s->segs[i] = (tal_spot_seg){ s->crop[i].start, s->crop[i].end, s->crop[i].cls };
    int rc = resample_record(d, r, start, len, x);
    if (rc)
        return rc;
    *start_out = start;
    *len_out = len;
    tal_spot_map m = tal_spot_map_make(len, c->temporal_scale);
    int fg = tal_spot_targets(&m, s->segs, n, d->num_classes, cls, mask);
    if (fg < 0)
        return fg;
    int64_t ones = 0;
    size_t TT = (size_t)m.T * m.T;
    for (size_t i = 0; i < TT; i++)
        ones += mask[i] != 0;
    return ones;
}

/* Pseudo instances from the runs of a pseudo-labelled window's hard
 * classes (cls, at the fixed scale), for its mask targets when the
 * stream has snippet pseudo labels and no instances: the mask row of a
 * snippet is the run of its class. */
static int64_t mask_from_runs(const int32_t *cls, int T, int C, float *mask)
{
    int64_t ones = 0;
    memset(mask, 0, (size_t)T * T * sizeof *mask);
    for (int a = 0; a < T;) {
        int b = a + 1;
        while (b < T && cls[b] == cls[a])
            b++;
        if (cls[a] != C) {
            for (int t = a; t < b; t++)
                for (int j = a; j < b; j++)
                    mask[(size_t)j * T + t] = 1;
            ones += (int64_t)(b - a) * (b - a);
        }
        a = b;
    }
    return ones;
}

/* The loss terms of one part of a batch (labelled, or pseudo-labelled:
 * names prefixed u_), added to *out and logged.  cls_t (n*T) holds the
 * labelled targets; for the pseudo-labelled part wt/wp/wn (n*T*K) hold
 * its weights (spot_semi.h).  wn on a labelled part: the negative term of
 * non-target learning (NULL: none). */
typedef struct {
    tal_tensor *cls, *mask, *recon, *x;   /* slices of the batch's outputs and input */
    tal_tensor *y;                        /* mask targets */
    double mask_ones;
} spot_part;

static int add_term(tal_graph *g, tal_tensor **out, tal_loss_log *log, const char *name, tal_tensor *t, double w)
{
    if (!t)
        return tal_graph_status(g) ? tal_graph_status(g) : 0;
    tal_tensor *x = tal_scale(g, t, (float)w);
    *out = *out ? tal_add(g, *out, x) : x;
    float v = 0;
    int rc = tal_graph_status(g);
    if (rc || (rc = tal_tensor_download(g, x, &v)))
        return rc;
    log->name[log->n] = name;
    log->value[log->n++] = v;
    return 0;
}

/* mean over the part's snippets of softmax_pn(logits, wpos, wneg) */
static tal_tensor *pn_mean(tal_graph *g, tal_tensor *logits, const float *wpos, const float *wneg)
{
    int64_t B = logits->shape[0], K = logits->shape[1], T = logits->shape[2];
    int64_t shp[2] = { B * T, K };
    tal_tensor *x = tal_reshape(g, tal_transpose(g, logits, 1, 2), 2, shp);
    tal_tensor *wp = wpos ? tal_tensor_from(g, 2, shp, wpos) : NULL, *wn = wneg ? tal_tensor_from(g, 2, shp, wneg) : NULL;
    return tal_mean_all(g, tal_softmax_pn(g, x, wp, wn));
}

static tal_tensor *spot_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *r,
                             tal_loss_log *log)
{
    spot_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int D = d->input_dim, T = c->temporal_scale, C = d->num_classes, K = C + 1;
    size_t TT = (size_t)T * T;
    /* labelled records first, then pseudo-labelled ones (trainer.h) */
    int Bl = 0;
    while (Bl < B && batch[Bl]->supervision != TAL_SUP_NONE)
        Bl++;
    for (int b = Bl; b < B; b++)
        if (batch[b]->supervision != TAL_SUP_NONE) {
            tal_err(TAL_EINVAL, "spot: a labelled record after a pseudo-labelled one in a batch");
            return NULL;
        }
    int Bu = B - Bl;
    if (tal_reserve(&s->x, &s->x_cap, (size_t)B * D * T, sizeof *s->x) ||
        tal_reserve(&s->cls, &s->cls_cap, (size_t)B * T, sizeof *s->cls) ||
        tal_reserve(&s->mask, &s->mask_cap, (size_t)B * TT, sizeof *s->mask) ||
        (Bu && tal_reserve(&s->w, &s->w_cap, (size_t)(4 * Bu + Bl) * T * K, sizeof *s->w)))
        return NULL;
    double ones[2] = { 0, 0 };
    int positives = 0;
    /* for the pseudo-labelled part: distributions at the fixed scale, then
     * weights of the target, positive and negative terms */
    float *q = Bu ? s->w : NULL, *wt = q ? q + (size_t)Bu * T * K : NULL, *wp = wt ? wt + (size_t)Bu * T * K : NULL,
          *wn = wp ? wp + (size_t)Bu * T * K : NULL, *wl = wn ? wn + (size_t)Bu * T * K : NULL;
    for (int b = 0; b < B; b++) {
        const tal_record *rec = batch[b];
        int32_t *cls = s->cls + (size_t)b * T;
        float *mask = s->mask + (size_t)b * TT;
        int start = 0, len = 0, pseudo = b >= Bl;
        tal_rng rb = tal_graph_row_rng(g, r, b);   /* the record's draws (graph.h) */
        int64_t n1 = record_sample(d, rec, &rb, s->x + (size_t)b * D * T, cls, mask, &start, &len);
        if (n1 < 0)
            return NULL;
        if (pseudo) {
            int u = b - Bl;
            float *qb = NULL;
            if (rec->present & TAL_HAS_DIST) {
                if (rec->dist_T != rec->T || rec->dist_K != (uint32_t)K) {
                    tal_err(TAL_EINVAL, "pseudo-labelled sequence '%s': distributions of %u x %u for %u snippets, %d "
                            "classes and background", rec->id, rec->dist_T, rec->dist_K, rec->T, C);
                    return NULL;
                }
                qb = q + (size_t)u * T * K;
                tal_spot_resample(rec->dist + (size_t)start * K, K, 1, len, K, T, TAL_SPOT_LINEAR, qb, K, 1);
            }
            size_t o = (size_t)u * T * K;
            if (tal_spot_semi_weights(c, qb, cls, T, K, &rb, wt + o, wp + o, wn + o)) {
                tal_err_wrap(tal_errcode(), "pseudo-labelled sequence '%s'", rec->id);
                return NULL;
            }
            /* hard classes of the window: the mask runs when there are no instances */
            int has_inst = 0;
            for (uint32_t i = 0; i < rec->segs.n && !has_inst; i++)
                has_inst = (rec->segs.v[i].flags & (TAL_SEG_PSEUDO | TAL_SEG_CANDIDATE)) == TAL_SEG_PSEUDO;
            if (!has_inst && qb) {
                for (int t = 0; t < T; t++) {
                    const float *row = wt + o + (size_t)t * K;
                    int y = 0;
                    for (int k = 1; k < K; k++)
                        if (row[k] > row[y])
                            y = k;
                    cls[t] = y;
                }
                n1 = mask_from_runs(cls, T, C, mask);
            }
        } else if (Bu && c->semi_loss == TAL_SEMI_NONTARGET && c->semi_neg) {
            tal_spot_labelled_neg(cls, T, K, wl + (size_t)b * T * K);
        }
        ones[pseudo] += (double)n1;
        for (int t = 0; t < T; t++)
            positives += cls[t] != C;
    }
    /* every term is a mean over its part's records (each the same size at
     * the fixed scale): over several processes, this process's share of
     * the whole part's mean is its mean times its part of the records; the
     * mask BCE's class weights come from the whole part's count of ones */
    double all[4] = { Bl, Bu, ones[0], ones[1] };
    if (tal_graph_batch_sum(g, all, 4))
        return NULL;
    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ B, D, T }, s->x);
    tal_spot_out o;
    if (tal_spot_forward(g, &s->m, x, &o))
        return NULL;
    tal_tensor *y = tal_tensor_from(g, 3, (int64_t[]){ B, T, T }, s->mask);
    double w = c->mask_bce_weight;
    tal_tensor *out = NULL;
    log->n = 0;
    log->total = 0;
    for (int part = 0; part < 2; part++) {
        int lo = part ? Bl : 0, hi = part ? B : Bl;
        if (lo == hi)
            continue;
        int whole = lo == 0 && hi == B;
        tal_tensor *lc = whole ? o.cls : tal_slice(g, o.cls, 0, lo, hi), *lm = whole ? o.mask : tal_slice(g, o.mask, 0, lo, hi);
        tal_tensor *lr = whole ? o.recon : tal_slice(g, o.recon, 0, lo, hi), *lx = whole ? x : tal_slice(g, x, 0, lo, hi);
        tal_tensor *ly = whole ? y : tal_slice(g, y, 0, lo, hi);
        double share = (double)(hi - lo) / all[part], a = (part ? c->semi_weight : 1) * share;
        int rc;
        if (!part) {
            rc = add_term(g, &out, log, "cls", tal_spot_cls_loss(g, lc, s->cls), a * c->cls_weight);
            if (!rc && Bu && c->semi_loss == TAL_SEMI_NONTARGET && c->semi_neg)
                rc = add_term(g, &out, log, "neg", pn_mean(g, lc, NULL, wl), a * c->cls_weight);
        } else {
            int pos = c->semi_loss == TAL_SEMI_NONTARGET && c->semi_pos;
            int neg = (c->semi_loss == TAL_SEMI_NONTARGET && c->semi_neg) || c->semi_loss == TAL_SEMI_COMPLEMENTARY;
            rc = add_term(g, &out, log, "u_tgt", pn_mean(g, lc, wt, NULL), a * c->cls_weight);
            if (!rc && pos)
                rc = add_term(g, &out, log, "u_pos", pn_mean(g, lc, wp, NULL), a * c->cls_weight);
            if (!rc && neg)
                rc = add_term(g, &out, log, "u_neg", pn_mean(g, lc, NULL, wn), a * c->cls_weight);
        }
        if (!rc && w > 0)
            rc = add_term(g, &out, log, part ? "u_mask_bce" : "mask_bce", tal_spot_mask_bce(g, lm, ly, all[2 + part] * share), a * w);
        if (!rc && w < 1)
            rc = add_term(g, &out, log, part ? "u_dice" : "dice", tal_spot_dice(g, lm, ly), a * (1 - w));
        if (!rc && c->recon_weight > 0)
            rc = add_term(g, &out, log, part ? "u_recon" : "recon", tal_spot_mse(g, lr, lx), a * c->recon_weight);
        if (rc)
            return NULL;
    }
    float v = 0;
    if (!out || tal_graph_status(g) || tal_tensor_download(g, out, &v))
        return NULL;
    log->total = v;
    log->positives = positives;
    return out;
}

static int spot_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    spot_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, K = C + 1, D = d->input_dim, T = c->temporal_scale;
    size_t TT = (size_t)T * T;
    tal_segset_clear(dets);
    if (!rec->T)
        return 0;   /* nothing to detect in; no distributions either */
    if (tal_reserve(&s->x, &s->x_cap, (size_t)D * T, sizeof *s->x) ||
        tal_reserve(&s->host, &s->host_cap, (size_t)2 * K * T + TT, sizeof *s->host))
        return TAL_ENOMEM;
    int rc = resample_record(d, rec, 0, (int)rec->T, s->x);
    if (rc)
        return rc;
    tal_spot_out o;
    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ 1, D, T }, s->x);
    if ((rc = tal_spot_forward(g, &s->m, x, &o)))
        return rc;
    tal_tensor *p = tal_softmax(g, o.cls, 1, NULL), *mk = tal_sigmoid(g, o.mask);
    float *pk = s->host, *prob = s->host + (size_t)K * T, *mask = s->host + (size_t)2 * K * T;
    if ((rc = tal_graph_status(g)) || (rc = tal_tensor_download(g, p, pk)) || (rc = tal_tensor_download(g, mk, mask)))
        return rc;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++)
            prob[(size_t)t * K + k] = pk[(size_t)k * T + t];
    tal_spot_infer_cfg ic = { c->spot_class_thresh, c->n_spot_class_thresh, c->spot_mask_thresh,
                              c->n_spot_mask_thresh, c->spot_top_k };
    if ((rc = tal_spot_candidates(&ic, prob, mask, T, C, dets)))
        return rc;
    tal_spot_map m = tal_spot_map_make((int)rec->T, T);
    tal_grid grid = tal_detector_grid(d, rec);
    tal_spot_cells_to_sec(&m, &grid, rec->duration, dets);
    if (dist) {
        /* the class distributions back on the record's snippets */
        if ((rc = tal_record_alloc_dist(dist, rec->T, (uint32_t)K)))
            return rc;
        tal_spot_resample(pk, 1, T, T, K, (int)rec->T, TAL_SPOT_LINEAR, dist->dist, K, 1);
    }
    tal_nms_opts no = { .method = c->nms_method, .sigma = c->nms_sigma, .iou_thresh = c->iou_thresh,
                        .min_score = c->min_score, .max_keep = (uint32_t)c->max_seg_num,
                        .class_agnostic = c->class_agnostic, .vote_iou = c->voting_iou };
    return tal_nms(s->nms, dets, rec->duration, &no);
}

const tal_det_ops tal_det_spot_ops = {
    .name = "spot",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_FULL),
    .semi = 1,
    .define = spot_define,
    .init = spot_init,
    .loss = spot_loss,
    .detect = spot_detect,
    .data_parallel = tal_det_splits_by_record,
    .free = spot_free,
};
