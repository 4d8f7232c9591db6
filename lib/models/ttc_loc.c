/* ttc_loc.c — the TTC-Loc detector (METHODS.md §4; man tal-train,
 * "TTC-Loc"): a per-snippet classifier of C class scores and one
 * threshold, trained from video-level tags (and the segments of the fully
 * annotated sequences, when there are some) with a gate that localises in
 * training as inference does.
 *
 * Network, channel-first over a batch padded to its longest clip:
 *   h1 = relu(FC(x))                  FC: D -> H, a kernel-1 convolution
 *   h2 = relu(h1 + conv3(h1))         the residual temporal convolution
 *   o  = FC(dropout(h2))              H -> C + 1: s = o[0..C), b = o[C]
 * Every layer's output is masked, so padding never reaches a valid
 * snippet (the kernel-3 convolution sees zeros there, as at a sequence's
 * end).
 *
 * Losses of a batch of B clips (tags y normalised to sum 1):
 *   L_clas = -(1/B) sum_i [ sum_c y_ic log p_ic + w_b log p_i,C ]
 *   L_reg  (ttc.reg; inner by default)
 *       inner   (1/B) sum_i sum_t max(s~_t b_t + 1, 0) / (|s~| |b|)
 *       cosine  (1/B) sum_i (sum_t s~_t b_t / (|s~| |b|) + 1)
 *       l1, l2  (1/B) sum_i mean_t max(1 - |s~_t - b_t|, 0)  (l2: squared)
 *     s~_t = max over the clip's tagged classes of s_tc; clips without a
 *     tag (a fully annotated clip between actions) add 0
 *   L_loc  = sum |g - a| / (C x snippets) over the fully annotated clips
 *            (ttc.loc_classes tagged, a diagnostic: over the clip's classes only)
 *   L = lambda L_clas + (1 - lambda) L_reg + eta L_loc
 * Inference is ttc_decode.c's, on the whole sequence.
 */
#include "detector.h"
#include "ttc_loc.h"
#include "../nn/init.h"
#include "../nn/ops.h"
#include "../post/nms.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TTC_POOL_EPS 1e-6f   /* as ttc_decode.c's */
#define TTC_NORM_EPS 1e-8f   /* inside the square roots of L_reg's norms */
#define TTC_OFF -1e30f       /* added where a maximum must not look */

#define CLASSES 0            /* index of the class-table CRC in d->state */

typedef struct {
    tal_tensor *w1, *b1, *w2, *b2, *w3, *b3;
    tal_nms_ws *nms;
    tal_runs runs;
    /* host scratch, reused between steps */
    float *x, *mask, *neg, *yw, *offs, *a, *wl, *wc, *rw, *invT, *host;
    int *start, *len;
    tal_tensor **rows;   /* ttc.pool topk: each clip's video scores */
    size_t rows_cap;
    size_t x_cap, mask_cap, neg_cap, yw_cap, offs_cap, a_cap, wl_cap, wc_cap, rw_cap, invT_cap, host_cap, start_cap, len_cap;
} ttc_state;

static ttc_state *S(tal_detector *d) { return d->model; }

static int ttc_define(tal_detector *d)
{
    ttc_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    int H = d->cfg.channels, D = d->input_dim, K = d->num_classes + 1;
    s->w1 = tal_param(d->P, "ttc.embed.weight", TAL_PARAM_DECAY, 3, (int64_t[]){ H, D, 1 });
    s->b1 = tal_param(d->P, "ttc.embed.bias", 0, 1, (int64_t[]){ H });
    s->w2 = tal_param(d->P, "ttc.conv.weight", TAL_PARAM_DECAY, 3, (int64_t[]){ H, H, 3 });
    s->b2 = tal_param(d->P, "ttc.conv.bias", 0, 1, (int64_t[]){ H });
    s->w3 = tal_param(d->P, "ttc.out.weight", TAL_PARAM_DECAY, 3, (int64_t[]){ K, H, 1 });
    s->b3 = tal_param(d->P, "ttc.out.bias", 0, 1, (int64_t[]){ K });
    s->nms = tal_nms_ws_new();
    d->nstate = 1;
    d->state_name[CLASSES] = "class_table_crc";
    d->classes_state = CLASSES;
    return s->w1 && s->b1 && s->w2 && s->b2 && s->w3 && s->b3 && s->nms ? 0 : tal_errcode() ? tal_errcode() : TAL_ENOMEM;
}

/* PyTorch's defaults for Conv1d, as the paper's layers would have them */
static int ttc_init(tal_detector *d, tal_rng *r)
{
    ttc_state *s = S(d);
    tal_tensor *w[3] = { s->w1, s->w2, s->w3 }, *b[3] = { s->b1, s->b2, s->b3 };
    for (int i = 0; i < 3; i++) {
        int rc = tal_init_kaiming_uniform(d->P, w[i], sqrtf(5.0f), r);
        if (rc || (rc = tal_init_bias_default(d->P, b[i], tal_fan_in(w[i]), r)))
            return rc;
    }
    return 0;
}

static void ttc_free(tal_detector *d)
{
    ttc_state *s = S(d);
    if (!s)
        return;
    tal_nms_ws_free(s->nms);
    tal_runs_free(&s->runs);
    float *bufs[] = { s->x, s->mask, s->neg, s->yw, s->offs, s->a, s->wl, s->wc, s->rw, s->invT, s->host };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        free(bufs[i]);
    free(s->start);
    free(s->len);
    free(s->rows);
    free(s);
    d->model = NULL;
}

/* scores s (B,C,T) and threshold b (B,1,T) of x (B,D,T); mask (B,T) or NULL */
static int ttc_forward(tal_detector *d, tal_graph *g, tal_tensor *x, tal_tensor *m, tal_tensor **s, tal_tensor **b)
{
    ttc_state *st = S(d);
    int C = d->num_classes;
    tal_tensor *h = tal_relu(g, tal_conv1d(g, x, st->w1, st->b1, 1, 0, 1, m));
    h = tal_relu(g, tal_add(g, h, tal_conv1d(g, h, st->w2, st->b2, 1, 1, 1, m)));
    tal_tensor *o = tal_conv1d(g, tal_dropout(g, h, (float)d->cfg.ttc_dropout), st->w3, st->b3, 1, 0, 1, m);
    *s = tal_slice(g, o, 1, 0, C);
    *b = tal_slice(g, o, 1, C, C + 1);
    return tal_graph_status(g);
}

static tal_tensor *gate(tal_graph *g, tal_tensor *z, int kind)
{
    switch (kind) {
    case TAL_TTC_GATE_SOFTSIGN: return tal_softsign_gate(g, z);
    case TAL_TTC_GATE_BINARY: return tal_step_st(g, z);
    default: return tal_sigmoid(g, z);
    }
}

/* (max_t + min_t) / 2 of s (B,C,T) over the valid snippets; neg (B,1,T)
 * is 0 where valid, TTC_OFF where padded -> (B,C,1) */
static tal_tensor *manual_threshold(tal_graph *g, tal_tensor *s, tal_tensor *neg)
{
    tal_tensor *mx = tal_max(g, tal_add(g, s, neg), 2, 1);
    tal_tensor *mn = tal_max(g, tal_add(g, tal_scale(g, s, -1), neg), 2, 1);
    return tal_scale(g, tal_sub(g, mx, mn), 0.5f);
}

/* A record's clip [start, start + len): tags into y (C, unnormalised) and,
 * for full supervision, the snippet targets a (C x Tm, at column offset 0)
 * and the weights wl (Tm) of L_loc (0 inside ambiguous segments).  A
 * snippet is in a segment when its centre is; a segment that holds no
 * centre marks the snippet nearest its middle.  Returns the number of
 * action snippets. */
static int clip_targets(const tal_detector *d, const tal_record *r, int start, int len, int Tm, float *y, float *a,
                        float *wl)
{
    int C = d->num_classes, n = 0;
    for (int c = 0; c < C; c++)
        y[c] = 0;
    if (r->supervision != TAL_SUP_FULL) {
        for (uint32_t i = 0; i < r->nlabels; i++)
            if (r->labels[i].cls >= 0 && r->labels[i].cls < C && r->labels[i].score > 0)
                y[r->labels[i].cls] = 1;
        return 0;
    }
    tal_grid gr = tal_detector_grid(d, r);
    for (int t = 0; t < len; t++)
        wl[t] = 1;
    for (uint32_t i = 0; i < r->segs.n; i++) {
        const tal_segment *x = &r->segs.v[i];
        double ga = tal_grid_from_sec(&gr, fmin(x->start, x->end)) - start;
        double gb = tal_grid_from_sec(&gr, fmax(x->start, x->end)) - start;
        if (gb < -0.5 || ga > len - 0.5)
            continue;   /* outside the clip */
        int lo = (int)ceil(ga), hi = (int)floor(gb);
        if (lo > hi)
            lo = hi = (int)floor(0.5 * (ga + gb) + 0.5);
        lo = lo < 0 ? 0 : lo;
        hi = hi > len - 1 ? len - 1 : hi;
        int amb = (x->flags & TAL_SEG_AMBIGUOUS) || x->cls < 0 || x->cls >= C;
        for (int t = lo; t <= hi; t++) {
            if (amb)
                wl[t] = 0;
            else
                a[(size_t)x->cls * Tm + t] = 1;
        }
        if (!amb)
            y[x->cls] = 1;
    }
    for (int c = 0; c < C; c++)
        for (int t = 0; t < len; t++)
            n += a[(size_t)c * Tm + t] > 0 && wl[t] > 0;
    return n;
}

static int reserve_all(ttc_state *s, int B, int D, int C, int Tm)
{
    size_t BT = (size_t)B * Tm;
    return tal_reserve(&s->x, &s->x_cap, BT * D, sizeof *s->x) || tal_reserve(&s->mask, &s->mask_cap, BT, sizeof *s->mask) ||
           tal_reserve(&s->neg, &s->neg_cap, BT, sizeof *s->neg) ||
           tal_reserve(&s->yw, &s->yw_cap, (size_t)B * (C + 1), sizeof *s->yw) ||
           tal_reserve(&s->offs, &s->offs_cap, (size_t)B * C, sizeof *s->offs) ||
           tal_reserve(&s->a, &s->a_cap, BT * C, sizeof *s->a) || tal_reserve(&s->wl, &s->wl_cap, BT, sizeof *s->wl) ||
           tal_reserve(&s->wc, &s->wc_cap, (size_t)B * C, sizeof *s->wc) ||
           tal_reserve(&s->rw, &s->rw_cap, (size_t)B, sizeof *s->rw) ||
           tal_reserve(&s->invT, &s->invT_cap, (size_t)B, sizeof *s->invT);
}

/* L_reg per clip (B): s~ (B,T), b (B,T), m (B,T) */
static tal_tensor *reg_terms(tal_detector *d, tal_graph *g, tal_tensor *st, tal_tensor *b, tal_tensor *m, tal_tensor *invT)
{
    int kind = d->cfg.ttc_reg;
    if (kind == TAL_TTC_REG_L1 || kind == TAL_TTC_REG_L2) {
        tal_tensor *diff = tal_sub(g, st, b);
        diff = kind == TAL_TTC_REG_L1 ? tal_abs(g, diff) : tal_mul(g, diff, diff);
        tal_tensor *h = tal_mul(g, tal_relu(g, tal_affine(g, diff, -1, 1)), m);
        return tal_mul(g, tal_sum(g, h, 1, 0), invT);
    }
    tal_tensor *sm = tal_mul(g, st, m), *bm = tal_mul(g, b, m);
    tal_tensor *ns = tal_rsqrt(g, tal_affine(g, tal_sum(g, tal_mul(g, sm, sm), 1, 0), 1, TTC_NORM_EPS));
    tal_tensor *nb = tal_rsqrt(g, tal_affine(g, tal_sum(g, tal_mul(g, bm, bm), 1, 0), 1, TTC_NORM_EPS));
    tal_tensor *prod = tal_mul(g, sm, bm);
    if (kind == TAL_TTC_REG_COSINE)
        return tal_affine(g, tal_mul(g, tal_mul(g, tal_sum(g, prod, 1, 0), ns), nb), 1, 1);
    tal_tensor *hinge = tal_mul(g, tal_relu(g, tal_affine(g, prod, 1, 1)), m);
    return tal_mul(g, tal_mul(g, tal_sum(g, hinge, 1, 0), ns), nb);
}

static float scalar(tal_graph *g, tal_tensor *t)
{
    float v = 0;
    if (t)
        tal_tensor_download(g, t, &v);
    return v;
}

static tal_tensor *ttc_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *r,
                            tal_loss_log *log)
{
    ttc_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, D = d->input_dim, Tm = 1;
    if (tal_reserve(&s->start, &s->start_cap, (size_t)B, sizeof *s->start) ||
        tal_reserve(&s->len, &s->len_cap, (size_t)B, sizeof *s->len))
        return NULL;
    /* random clips of at most max_seq_len snippets, each drawn from its
     * record's stream (graph.h); the batch's size over every process */
    double Bg = (double)tal_graph_batch_rows(g, B);
    for (int i = 0; i < B; i++) {
        int T = (int)batch[i]->T, L = T < c->max_seq_len ? T : c->max_seq_len;
        tal_rng ri = tal_graph_row_rng(g, r, i);
        s->start[i] = T > L ? (int)tal_rng_below(&ri, (uint32_t)(T - L + 1)) : 0;
        s->len[i] = L;
        Tm = L > Tm ? L : Tm;
    }
    if (reserve_all(s, B, D, C, Tm))
        return NULL;
    size_t BT = (size_t)B * Tm;
    memset(s->x, 0, BT * D * sizeof *s->x);
    memset(s->mask, 0, BT * sizeof *s->mask);
    memset(s->a, 0, BT * C * sizeof *s->a);
    memset(s->wl, 0, BT * sizeof *s->wl);
    double wb = c->ttc_bg_weight > 0 ? c->ttc_bg_weight : 1.0 / C;
    int positives = 0, nfull = 0;
    for (int i = 0; i < B; i++) {
        const tal_record *rec = batch[i];
        int L = s->len[i];
        const float *f = rec->feat + (size_t)s->start[i] * D;
        float *xb = s->x + (size_t)i * D * Tm;
        for (int t = 0; t < L; t++)
            for (int k = 0; k < D; k++)
                xb[(size_t)k * Tm + t] = f[(size_t)t * D + k];
        for (int t = 0; t < Tm; t++) {
            s->mask[(size_t)i * Tm + t] = t < L;
            s->neg[(size_t)i * Tm + t] = t < L ? 0 : TTC_OFF;
        }
        float *y = s->yw + (size_t)i * (C + 1);
        positives += clip_targets(d, rec, s->start[i], L, Tm, y, s->a + (size_t)i * C * Tm, s->wl + (size_t)i * Tm);
        nfull += rec->supervision == TAL_SUP_FULL;
        float sum = 0;
        for (int k = 0; k < C; k++)
            sum += y[k];
        for (int k = 0; k < C; k++) {
            s->offs[(size_t)i * C + k] = sum > 0 && !y[k] ? TTC_OFF : 0;   /* s~: the maximum over tagged classes */
            s->wc[(size_t)i * C + k] = y[k] > 0;                            /* ttc.loc_classes tagged */
            y[k] = sum > 0 ? y[k] / sum : 0;
        }
        y[C] = (float)wb;
        s->rw[i] = sum > 0 ? (float)(1.0 / Bg) : 0;
        s->invT[i] = 1.0f / L;
    }

    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ B, D, Tm }, s->x);
    tal_tensor *m2 = tal_tensor_from(g, 2, (int64_t[]){ B, Tm }, s->mask);
    tal_tensor *m3 = tal_reshape(g, m2, 3, (int64_t[]){ B, 1, Tm });
    tal_tensor *neg = tal_tensor_from(g, 3, (int64_t[]){ B, 1, Tm }, s->neg);
    tal_tensor *sc, *bt;
    if (ttc_forward(d, g, x, m2, &sc, &bt))
        return NULL;
    /* the training gate: s against b, or against the manual threshold */
    tal_tensor *thr = c->ttc_train_threshold == TAL_TTC_MANUAL ? manual_threshold(g, sc, neg) : bt;
    tal_tensor *gt = tal_mul(g, gate(g, tal_sub(g, sc, thr), c->ttc_gate), m3);
    /* video scores (B,C) */
    tal_tensor *pooled;
    if (c->ttc_pool == TAL_TTC_POOL_TOPK) {
        if (tal_reserve(&s->rows, &s->rows_cap, (size_t)B, sizeof *s->rows))
            return NULL;
        tal_tensor **rows = s->rows;
        for (int i = 0; i < B; i++) {
            int k = s->len[i] / c->ttc_topk_ratio;
            rows[i] = tal_topk_mean(g, tal_slice(g, sc, 0, i, i + 1), k < 1 ? 1 : k, tal_slice(g, m2, 0, i, i + 1));
        }
        pooled = tal_concat(g, B, rows, 0);
    } else {
        tal_tensor *w = c->ttc_pool == TAL_TTC_POOL_ATTENTION ? tal_mul(g, gate(g, tal_scale(g, bt, -1), c->ttc_gate), m3)
                                                              : gt;
        tal_tensor *num = tal_sum(g, tal_mul(g, w, sc), 2, 0);
        tal_tensor *den = tal_affine(g, tal_sum(g, w, 2, 0), 1, TTC_POOL_EPS);
        pooled = tal_mul(g, num, tal_reciprocal(g, den));
    }
    tal_tensor *invT = tal_tensor_from(g, 1, (int64_t[]){ B }, s->invT);
    tal_tensor *bmean = tal_mul(g, tal_sum(g, tal_mul(g, bt, m3), 2, 0), tal_reshape(g, invT, 2, (int64_t[]){ B, 1 }));
    tal_tensor *logits = tal_concat(g, 2, (tal_tensor *[]){ pooled, bmean }, 1);
    tal_tensor *yw = tal_tensor_from(g, 2, (int64_t[]){ B, C + 1 }, s->yw);
    tal_tensor *l_clas = tal_scale(g, tal_sum_all(g, tal_mul(g, tal_log_softmax(g, logits, -1, NULL), yw)), (float)(-1.0 / Bg));
    tal_tensor *total = tal_scale(g, l_clas, (float)c->ttc_lambda);
    /* L_reg */
    tal_tensor *l_reg = NULL;
    if (c->ttc_reg != TAL_TTC_REG_NONE) {
        tal_tensor *offs = tal_tensor_from(g, 3, (int64_t[]){ B, C, 1 }, s->offs);
        tal_tensor *stil = tal_max(g, tal_add(g, sc, offs), 1, 0);   /* (B,T) */
        tal_tensor *b2 = tal_reshape(g, bt, 2, (int64_t[]){ B, Tm });
        tal_tensor *per = reg_terms(d, g, stil, b2, m2, invT);
        tal_tensor *rw = tal_tensor_from(g, 1, (int64_t[]){ B }, s->rw);
        l_reg = tal_sum_all(g, tal_mul(g, per, rw));
        total = tal_add(g, total, tal_scale(g, l_reg, (float)(1 - c->ttc_lambda)));
    }
    /* L_loc over the fully annotated clips */
    tal_tensor *l_loc = NULL;
    double wsum = 0;   /* the (snippet, class) entries L_loc averages over */
    for (int i = 0; i < B; i++) {
        double n = 0, k = C;
        for (int t = 0; t < Tm; t++)
            n += s->wl[(size_t)i * Tm + t];
        if (c->ttc_loc_tagged) {
            k = 0;
            for (int j = 0; j < C; j++)
                k += s->wc[(size_t)i * C + j] > 0;
        }
        wsum += n * k;
    }
    double wsum_all = wsum;   /* over every process's records */
    if (tal_graph_batch_sum(g, &wsum_all, 1))
        return NULL;
    if (nfull && wsum > 0 && c->ttc_eta > 0) {
        tal_tensor *a = tal_tensor_from(g, 3, (int64_t[]){ B, C, Tm }, s->a);
        tal_tensor *wl = tal_tensor_from(g, 3, (int64_t[]){ B, 1, Tm }, s->wl);
        tal_tensor *err = tal_mul(g, tal_abs(g, tal_sub(g, gt, a)), wl);
        if (c->ttc_loc_tagged)
            err = tal_mul(g, err, tal_tensor_from(g, 3, (int64_t[]){ B, C, 1 }, s->wc));
        l_loc = tal_scale(g, tal_sum_all(g, err), (float)(1.0 / wsum_all));
        total = tal_add(g, total, tal_scale(g, l_loc, (float)c->ttc_eta));
    }
    if (tal_graph_status(g))
        return NULL;
    log->n = 3;
    log->name[0] = "clas";
    log->name[1] = "reg";
    log->name[2] = "loc";
    log->value[0] = scalar(g, l_clas);
    log->value[1] = scalar(g, l_reg);
    log->value[2] = scalar(g, l_loc);
    log->total = scalar(g, total);
    log->positives = positives;
    return total;
}

static int ttc_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    ttc_state *s = S(d);
    int C = d->num_classes, K = C + 1, T = (int)rec->T, D = d->input_dim;
    if (T <= 0) {
        tal_segset_clear(dets);
        return dist ? tal_record_alloc_dist(dist, 0, (uint32_t)K) : 0;
    }
    /* channel-first input */
    if (tal_reserve(&s->x, &s->x_cap, (size_t)T * D, sizeof *s->x) ||
        tal_reserve(&s->host, &s->host_cap, (size_t)T * K, sizeof *s->host))
        return TAL_ENOMEM;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < D; k++)
            s->x[(size_t)k * T + t] = rec->feat[(size_t)t * D + k];
    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ 1, D, T }, s->x), *sc, *bt;
    int rc = ttc_forward(d, g, x, NULL, &sc, &bt);
    /* s (C x T) then b (T), one after the other */
    if (rc || (rc = tal_tensor_download(g, sc, s->host)) || (rc = tal_tensor_download(g, bt, s->host + (size_t)C * T)))
        return rc ? rc : TAL_EINVAL;
    const float *sh = s->host, *bh = s->host + (size_t)C * T;
    tal_segset_clear(dets);
    tal_grid grid = tal_detector_grid(d, rec);
    if ((rc = tal_ttc_segments(&d->cfg, sh, bh, C, T, &grid, rec->duration, &s->runs, dets)))
        return rc;
    if (dist) {
        /* per snippet: softmax over the C scores and the threshold (the
         * background), so that p_c > p_bg exactly where s_c > b */
        float *row = malloc((size_t)K * sizeof *row);
        if (!row || (rc = tal_record_alloc_dist(dist, (uint32_t)T, (uint32_t)K))) {
            free(row);
            return rc ? rc : TAL_ENOMEM;
        }
        for (int t = 0; t < T; t++) {
            double mx = bh[t], z = 0;
            for (int k = 0; k < C; k++)
                mx = fmax(mx, sh[(size_t)k * T + t]);
            for (int k = 0; k < K; k++)
                z += row[k] = (float)exp((k < C ? sh[(size_t)k * T + t] : bh[t]) - mx);
            for (int k = 0; k < K; k++)
                dist->dist[(size_t)t * K + k] = (float)(row[k] / z);
        }
        free(row);
    }
    const tal_det_config *c = &d->cfg;
    tal_nms_opts no = { .method = c->nms_method, .sigma = c->nms_sigma, .iou_thresh = c->iou_thresh,
                        .min_score = c->min_score, .max_keep = (uint32_t)c->max_seg_num,
                        .class_agnostic = c->class_agnostic, .vote_iou = c->voting_iou };
    return tal_nms(s->nms, dets, rec->duration, &no);
}

const tal_det_ops tal_det_ttc_ops = {
    .name = "ttc-loc",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_FULL) | TAL_TRAINS_ON(TAL_SUP_VIDEO),
    .define = ttc_define,
    .init = ttc_init,
    .loss = ttc_loss,
    .detect = ttc_detect,
    .data_parallel = tal_det_splits_by_record,
    .free = ttc_free,
};
