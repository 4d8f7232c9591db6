/* fsptal_detector.c — the point-supervised FS-PTAL detector (METHODS.md
 * §5; man fs-ptal gives every reading of the paper this implements).
 *
 * One sequence at a time (whole, never cropped), channel-first (1, D, T):
 *   F     = ReLU(conv3(X))                              feature embedding, H channels
 *   E     = conv1(ReLU(conv3(F))); F = F * sigmoid(E)   feature separation only: the
 *                                                       embedding and its attention
 *   M     = conv1(dropout(F)), no bias                  class activation map, C + 1
 *   S     = sigmoid(M): q (C classes) and b (background, the last row)
 *   fused = S (1 - b): row c < C is the final score qhat[c], row C is b (1 - b)
 * Losses of one sequence, k = max(1, T / fs_ptal.topk_ratio):
 *   L_vid   = BCE(topk(fused), [y; 0]) + BCE(topk(S), [y; 1]), summed over C + 1
 *   L_point = focal BCE of qhat at the action points (annotated and mined)
 *             against their classes, / their count; + focal BCE at the
 *             background points of qhat against 0 and b against 1, / their count
 *   L_score = (1 / classes) sum over classes of (1 - R_c)^2, R_c the mean
 *             outer-inner contrast of qhat[c] over the class's pseudo segments
 *   L_fs    = the hinge losses on cosine similarities of the embedding E at
 *             background/background, action/action, action/background points
 * and the batch's loss is the mean over its sequences of
 * lambda_vid L_vid + lambda_point L_point + lambda_score L_score + lambda_fs L_fs.
 * Mining (fsptal.h) runs on each step's own scores, which get no gradient
 * through it.  With fs_ptal.mined_trains_b false, the point loss at mined
 * action points and the score contrast (whose segments mining makes) see
 * b as a constant: mining then reads a score that what it writes does not
 * train (b learns from the annotated and background points and L_vid).
 *
 * Inference: the classes whose video score topk(S) passes
 * test.fs_ptal_video_thresh (none: the best); for each, every maximal run of
 * qhat[c] above each of test.fs_ptal_thresh is a proposal, scored by its
 * outer-inner contrast plus test.fs_ptal_video_weight times the video
 * score; then NMS as test.* says (the configs: hard, 0.7).
 */
#include "detector.h"
#include "fsptal.h"
#include "../nn/init.h"
#include "../nn/ops.h"
#include "../post/nms.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define V(...) (sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ }
#define L2N_EPS 1e-8f

typedef struct {
    tal_tensor *feat_w, *feat_b, *emb1_w, *emb1_b, *emb2_w, *emb2_b, *cas_w;
    float *x, *host, *tgt, *wts, *omb;
    size_t x_cap, host_cap, tgt_cap, wts_cap, omb_cap;
    int32_t *idx, *idx2;
    size_t idx_cap, idx2_cap;
    tal_fsptal_labels L;
    tal_fsptal_seg *segs;
    size_t seg_cap;
    tal_runs runs;
    tal_nms_ws *nms;
} fsp_state;

static fsp_state *S(tal_detector *d) { return d->model; }

static int fsp_define(tal_detector *d)
{
    fsp_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    const tal_det_config *c = &d->cfg;
    int H = c->channels, D = d->input_dim, K = d->num_classes + 1;
    s->feat_w = tal_param(d->P, "fs_ptal.feature.weight", TAL_PARAM_DECAY, V(H, D, 3));
    s->feat_b = tal_param(d->P, "fs_ptal.feature.bias", 0, V(H));
    if (c->fsp_feature_sep) {
        s->emb1_w = tal_param(d->P, "fs_ptal.embedding.0.weight", TAL_PARAM_DECAY, V(H, H, 3));
        s->emb1_b = tal_param(d->P, "fs_ptal.embedding.0.bias", 0, V(H));
        s->emb2_w = tal_param(d->P, "fs_ptal.embedding.1.weight", TAL_PARAM_DECAY, V(H, H, 1));
        s->emb2_b = tal_param(d->P, "fs_ptal.embedding.1.bias", 0, V(H));
    }
    s->cas_w = tal_param(d->P, "fs_ptal.cas.weight", TAL_PARAM_DECAY, V(K, H, 1));
    s->nms = tal_nms_ws_new();
    return s->cas_w && s->nms ? 0 : tal_errcode() ? tal_errcode() : TAL_ENOMEM;
}

static int init_conv(tal_params *P, tal_tensor *w, tal_tensor *b, tal_rng *r)
{
    int rc = tal_init_kaiming_uniform(P, w, sqrtf(5.0f), r);
    return !rc && b ? tal_init_bias_default(P, b, tal_fan_in(w), r) : rc;
}

static int fsp_init(tal_detector *d, tal_rng *r)
{
    fsp_state *s = S(d);
    int rc = init_conv(d->P, s->feat_w, s->feat_b, r);
    if (!rc && s->emb1_w)
        rc = init_conv(d->P, s->emb1_w, s->emb1_b, r) || init_conv(d->P, s->emb2_w, s->emb2_b, r);
    return rc ? rc : init_conv(d->P, s->cas_w, NULL, r);
}

static void fsp_free(tal_detector *d)
{
    fsp_state *s = S(d);
    if (!s)
        return;
    free(s->x);
    free(s->host);
    free(s->tgt);
    free(s->wts);
    free(s->omb);
    free(s->idx);
    free(s->idx2);
    free(s->segs);
    tal_fsptal_labels_free(&s->L);
    tal_runs_free(&s->runs);
    tal_nms_ws_free(s->nms);
    free(s);
    d->model = NULL;
}

/* ---- the network ------------------------------------------------------------------ */

typedef struct {
    tal_tensor *S, *fused, *qhat, *E;
} fsp_out;

static int forward(tal_detector *d, tal_graph *g, const tal_record *r, fsp_out *o)
{
    fsp_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int D = d->input_dim, T = (int)r->T, C = d->num_classes;
    if (tal_reserve(&s->x, &s->x_cap, (size_t)D * T, sizeof *s->x))
        return TAL_ENOMEM;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < D; k++)
            s->x[(size_t)k * T + t] = r->feat[(size_t)t * D + k];
    tal_tensor *x = tal_tensor_from(g, 3, (int64_t[]){ 1, D, T }, s->x);
    tal_tensor *f = tal_relu(g, tal_conv1d(g, x, s->feat_w, s->feat_b, 1, 1, 1, NULL));
    o->E = NULL;
    if (s->emb1_w) {
        tal_tensor *h = tal_relu(g, tal_conv1d(g, f, s->emb1_w, s->emb1_b, 1, 1, 1, NULL));
        o->E = tal_conv1d(g, h, s->emb2_w, s->emb2_b, 1, 0, 1, NULL);
        f = tal_mul(g, f, tal_sigmoid(g, o->E));
    }
    f = tal_dropout(g, f, (float)c->fsp_dropout);
    o->S = tal_sigmoid(g, tal_conv1d(g, f, s->cas_w, NULL, 1, 0, 1, NULL));
    tal_tensor *b = tal_slice(g, o->S, 1, C, C + 1);
    o->fused = tal_mul(g, o->S, tal_affine(g, b, -1.0f, 1.0f));
    o->qhat = tal_slice(g, o->fused, 1, 0, C);
    return tal_graph_status(g);
}

/* video scores: the mean of the top max(1, T / ratio) snippets */
static int top_k(const tal_det_config *c, int T) { return T / c->fsp_topk_ratio > 1 ? T / c->fsp_topk_ratio : 1; }

/* The record's points on its snippets, and what mining adds with the
 * scores of forward pass o (no gradient: host copies) into s->L; s->host
 * keeps fused (K x T) then S (K x T). */
static int label_and_mine(tal_detector *d, tal_graph *g, const tal_record *rec, const fsp_out *o)
{
    fsp_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, K = C + 1, T = (int)rec->T, rc;
    if (tal_reserve(&s->host, &s->host_cap, (size_t)2 * K * T, sizeof *s->host))
        return TAL_ENOMEM;
    if ((rc = tal_tensor_download(g, o->fused, s->host)) ||
        (rc = tal_tensor_download(g, o->S, s->host + (size_t)K * T)))
        return rc;
    tal_grid grid = tal_detector_grid(d, rec);
    tal_fsptal_mine_cfg mc = { c->fsp_mining, c->fsp_gamma_bkg, c->fsp_gamma_act, c->fsp_class_check,
                               c->fsp_mine_reach == TAL_FSPTAL_REACH_CONTIGUOUS };
    if ((rc = tal_fsptal_labels_reset(&s->L, T, C)) || (rc = tal_fsptal_label_points(&s->L, rec, &grid)))
        return rc;
    return tal_fsptal_mine(&s->L, s->host + (size_t)K * T + (size_t)C * T, s->host, &mc);
}

/* ---- training -------------------------------------------------------------------- */

/* the snippets where flag[t] or flag2[t] (flag2 may be NULL), at most
 * cap of them drawn at random (cap 0: all), in time order; the count */
static int pick(int32_t **v, size_t *vcap, const uint8_t *flag, const uint8_t *flag2, int T, int cap, tal_rng *r)
{
    int n = 0;
    for (int t = 0; t < T; t++)
        if (flag[t] || (flag2 && flag2[t])) {
            if (tal_reserve(v, vcap, (size_t)n + 1, sizeof **v))
                return TAL_ENOMEM;
            (*v)[n++] = t;
        }
    if (cap > 0 && n > cap) {
        /* a partial Fisher-Yates draw of cap, then back in time order */
        for (int i = 0; i < cap; i++) {
            int j = i + (int)tal_rng_below(r, (uint32_t)(n - i));
            int32_t x = (*v)[i];
            (*v)[i] = (*v)[j];
            (*v)[j] = x;
        }
        n = cap;
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && (*v)[j - 1] > (*v)[j]; j--) {
                int32_t x = (*v)[j];
                (*v)[j] = (*v)[j - 1];
                (*v)[j - 1] = x;
            }
    }
    return n;
}

static tal_tensor *host_tensor(tal_graph *g, int ndim, const int64_t *shape, const float *v)
{
    return tal_tensor_from(g, ndim, shape, v);
}

/* s->tgt (C, n): the classes of the n labelled snippets s->idx */
static void class_targets(fsp_state *s, int n, int C)
{
    for (int k = 0; k < C; k++)
        for (int i = 0; i < n; i++)
            s->tgt[(size_t)k * n + i] = s->L.act[(size_t)s->idx[i] * C + k];
}

/* sum of focal BCE of the gathered columns idx of x (1, K, T) against
 * tgt (1, K, n) (row-major), divided by n */
static tal_tensor *point_term(tal_graph *g, tal_tensor *x, const int32_t *idx, int n, const float *tgt, float gamma)
{
    int64_t K = x->shape[1];
    tal_tensor *p = tal_gather(g, x, 2, idx, n);
    tal_tensor *y = host_tensor(g, 3, (int64_t[]){ 1, K, n }, tgt);
    return tal_scale(g, tal_sum_all(g, tal_bce_prob(g, p, y, gamma)), 1.0f / (float)n);
}

/* L_score: the classes' mean outer-inner contrasts of qhat over their
 * pseudo segments, as a product of qhat's rows with fixed weights */
static tal_tensor *score_term(tal_detector *d, tal_graph *g, tal_tensor *qhat, int nseg, int T)
{
    fsp_state *s = S(d);
    int C = d->num_classes;
    if (tal_reserve(&s->wts, &s->wts_cap, (size_t)nseg * T, sizeof *s->wts) ||
        tal_reserve(&s->idx2, &s->idx2_cap, (size_t)nseg, sizeof *s->idx2))
        return NULL;
    memset(s->wts, 0, (size_t)nseg * T * sizeof *s->wts);
    int ncls = 0;
    for (int i = 0; i < nseg; i++) {
        const tal_fsptal_seg *q = &s->segs[i];
        float *w = s->wts + (size_t)i * T;
        int nin = q->e - q->s + 1, nout = (q->le - q->ls + 1) + (q->re - q->rs + 1);
        for (int t = q->s; t <= q->e; t++)
            w[t] = 1.0f / (float)nin;
        for (int t = q->ls; t <= q->le; t++)
            w[t] = -1.0f / (float)nout;
        for (int t = q->rs; t <= q->re; t++)
            w[t] = -1.0f / (float)nout;
        s->idx2[i] = q->cls;
        ncls += i == 0 || q->cls != s->segs[i - 1].cls;
    }
    /* the mean over each class's segments: a (classes x segments) average */
    if (tal_reserve(&s->tgt, &s->tgt_cap, (size_t)ncls * nseg, sizeof *s->tgt))
        return NULL;
    memset(s->tgt, 0, (size_t)ncls * nseg * sizeof *s->tgt);
    for (int i = 0, k = -1; i < nseg; i++) {
        if (i == 0 || s->segs[i].cls != s->segs[i - 1].cls) {
            k++;
            int n = 0;
            for (int j = i; j < nseg && s->segs[j].cls == s->segs[i].cls; j++)
                n++;
            for (int j = i; j < i + n; j++)
                s->tgt[(size_t)k * nseg + j] = 1.0f / (float)n;
        }
    }
    tal_tensor *q2 = tal_reshape(g, qhat, 2, (int64_t[]){ C, T });
    tal_tensor *rows = tal_gather(g, q2, 0, s->idx2, nseg);
    tal_tensor *w = host_tensor(g, 2, (int64_t[]){ nseg, T }, s->wts);
    tal_tensor *r = tal_sum(g, tal_mul(g, rows, w), 1, 1);                        /* (nseg, 1) */
    tal_tensor *avg = host_tensor(g, 2, (int64_t[]){ ncls, nseg }, s->tgt);
    tal_tensor *u = tal_affine(g, tal_matmul(g, avg, r, 0, 0), -1.0f, 1.0f);     /* 1 - R_c */
    return tal_scale(g, tal_sum_all(g, tal_mul(g, u, u)), 1.0f / (float)ncls);
}

/* hinge on the hardest pair of a similarity matrix: same kind, the
 * least similar other point, mean of max(psi - it, 0); different kinds, the
 * most similar, mean of max(it - psi, 0) */
static tal_tensor *hinge(tal_graph *g, tal_tensor *a, tal_tensor *b, int same, float psi)
{
    tal_tensor *sim = tal_matmul(g, a, b, 0, 1);
    if (same)   /* psi - min = psi + max(-sim) */
        return tal_mean_all(g, tal_relu(g, tal_affine(g, tal_max(g, tal_scale(g, sim, -1.0f), 1, 0), 1.0f, psi)));
    return tal_mean_all(g, tal_relu(g, tal_affine(g, tal_max(g, sim, 1, 0), 1.0f, -psi)));
}

static tal_tensor *fs_term(tal_detector *d, tal_graph *g, tal_tensor *E, int T, tal_rng *r)
{
    fsp_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int H = c->channels;
    int na = pick(&s->idx, &s->idx_cap, s->L.annot, s->L.mined, T, c->fsp_fs_points, r);
    int nb = na < 0 ? na : pick(&s->idx2, &s->idx2_cap, s->L.bkg, NULL, T, c->fsp_fs_points, r);
    if (nb < 0)
        return NULL;
    tal_tensor *et = tal_transpose(g, tal_reshape(g, E, 2, (int64_t[]){ H, T }), 0, 1);   /* (T, H) */
    tal_tensor *A = na ? tal_l2_normalize(g, tal_gather(g, et, 0, s->idx, na), L2N_EPS) : NULL;
    tal_tensor *B = nb ? tal_l2_normalize(g, tal_gather(g, et, 0, s->idx2, nb), L2N_EPS) : NULL;
    tal_tensor *sum = NULL;
    if (nb >= 2)
        sum = hinge(g, B, B, 1, (float)c->fsp_psi_same);
    if (na >= 2) {
        tal_tensor *t = hinge(g, A, A, 1, (float)c->fsp_psi_same);
        sum = sum ? tal_add(g, sum, t) : t;
    }
    if (na && nb) {
        tal_tensor *t = hinge(g, A, B, 0, (float)c->fsp_psi_diff);
        sum = sum ? tal_add(g, sum, t) : t;
    }
    return sum ? sum : tal_tensor_zeros(g, 0, NULL);
}

enum { T_VID, T_POINT, T_SCORE, T_FS, T_MINED, T_BKG, T_N };

static tal_tensor *fsp_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *rng,
                            tal_loss_log *log)
{
    fsp_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, K = C + 1;
    const float wt[4] = { (float)c->fsp_w_vid, (float)c->fsp_w_point, (float)c->fsp_w_score, (float)c->fsp_w_fs };
    double val[T_N] = { 0 }, Bg = (double)tal_graph_batch_rows(g, B);   /* over every process (graph.h) */
    tal_tensor *total = NULL;
    int positives = 0;
    for (int bi = 0; bi < B; bi++) {
        const tal_record *rec = batch[bi];
        int T = (int)rec->T;
        tal_rng r = tal_graph_row_rng(g, rng, bi);   /* the record's draws */
        fsp_out o;
        /* mining on this step's scores (annotated points and what it adds) */
        if (forward(d, g, rec, &o) || label_and_mine(d, g, rec, &o))
            return NULL;
        if (!s->L.nact) {
            tal_err(TAL_EINVAL, "sequence '%s' has no point labels to train on", rec->id);
            return NULL;
        }
        /* the video's classes, from its points (mining adds none) */
        if (tal_reserve(&s->tgt, &s->tgt_cap, (size_t)2 * K, sizeof *s->tgt))
            return NULL;
        float *yf = s->tgt, *yb = s->tgt + K;
        for (int k = 0; k < K; k++)
            yf[k] = yb[k] = 0;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < C; k++)
                if (s->L.act[(size_t)t * C + k])
                    yf[k] = yb[k] = 1;
        yb[C] = 1;
        tal_tensor *qf = tal_topk_mean(g, o.fused, top_k(c, T), NULL), *qv = tal_topk_mean(g, o.S, top_k(c, T), NULL);
        tal_tensor *term[4] = { NULL };
        term[0] = tal_add(g, tal_sum_all(g, tal_bce_prob(g, qf, host_tensor(g, 2, (int64_t[]){ 1, K }, yf), 0.0f)),
                          tal_sum_all(g, tal_bce_prob(g, qv, host_tensor(g, 2, (int64_t[]){ 1, K }, yb), 0.0f)));
        val[T_MINED] += s->L.nmined;
        val[T_BKG] += s->L.nbkg;
        positives += s->L.nact;
        /* what mining labels trains qhat through b too, or (mined_trains_b
         * false) through q alone: the same values, b without gradient */
        tal_tensor *qhat_mined = o.qhat;
        if (!c->fsp_mined_trains_b && c->fsp_mining != TAL_FSPTAL_MINE_NONE) {
            if (tal_reserve(&s->omb, &s->omb_cap, (size_t)T, sizeof *s->omb))
                return NULL;
            const float *b = s->host + (size_t)K * T + (size_t)C * T;
            for (int t = 0; t < T; t++)
                s->omb[t] = 1.0f - b[t];
            qhat_mined = tal_mul(g, tal_slice(g, o.S, 1, 0, C), host_tensor(g, 3, (int64_t[]){ 1, 1, T }, s->omb));
        }
        if (c->fsp_point_loss) {
            int na = pick(&s->idx, &s->idx_cap, s->L.annot, s->L.mined, T, 0, &r);
            if (na < 0 || tal_reserve(&s->tgt, &s->tgt_cap, (size_t)K * (na > T ? na : T), sizeof *s->tgt))
                return NULL;
            if (qhat_mined == o.qhat) {
                class_targets(s, na, C);
                term[1] = point_term(g, o.qhat, s->idx, na, s->tgt, (float)c->fsp_focal_gamma);
            } else {   /* annotated points on qhat, mined ones on qhat_mined, both over na */
                for (int m = 0; m < 2; m++) {
                    int n = pick(&s->idx, &s->idx_cap, m ? s->L.mined : s->L.annot, NULL, T, 0, &r);
                    if (n < 0)
                        return NULL;
                    if (!n)
                        continue;
                    class_targets(s, n, C);
                    tal_tensor *x = tal_scale(g, point_term(g, m ? qhat_mined : o.qhat, s->idx, n, s->tgt,
                                                            (float)c->fsp_focal_gamma), (float)n / (float)na);
                    term[1] = term[1] ? tal_add(g, term[1], x) : x;
                }
            }
            int nb = pick(&s->idx, &s->idx_cap, s->L.bkg, NULL, T, 0, &r);
            if (nb < 0)
                return NULL;
            if (nb) {
                /* eq. 6: qhat against 0 and b itself against 1.  Not the
                 * fused map's background row: b (1 - b) is at most 1/4, so
                 * a target of 1 there would pull every background point's
                 * b toward 1/2 and no snippet would pass gamma_bkg again. */
                float gamma = (float)c->fsp_focal_gamma;
                for (size_t i = 0; i < (size_t)C * nb; i++)
                    s->tgt[i] = 0;
                tal_tensor *bq = point_term(g, o.qhat, s->idx, nb, s->tgt, gamma);
                for (int i = 0; i < nb; i++)
                    s->tgt[i] = 1;
                bq = tal_add(g, bq, point_term(g, tal_slice(g, o.S, 1, C, C + 1), s->idx, nb, s->tgt, gamma));
                term[1] = tal_add(g, term[1], bq);
            }
        }
        if (c->fsp_score_contrast) {
            int nseg = tal_fsptal_segments(&s->L, c->fsp_delta, c->fsp_oic, &s->segs, &s->seg_cap);
            if (nseg < 0)
                return NULL;
            if (nseg && !(term[2] = score_term(d, g, qhat_mined, nseg, T)))
                return NULL;
        }
        if (o.E && !(term[3] = fs_term(d, g, o.E, T, &r)))
            return NULL;
        tal_tensor *seq = NULL;
        for (int i = 0; i < 4; i++) {
            if (!term[i])
                continue;
            float v = 0;
            if (tal_graph_status(g) || tal_tensor_download(g, term[i], &v))
                return NULL;
            val[i] += v;
            tal_tensor *x = tal_scale(g, term[i], wt[i]);
            seq = seq ? tal_add(g, seq, x) : x;
        }
        total = total ? tal_add(g, total, seq) : seq;
    }
    total = tal_scale(g, total, (float)(1.0 / Bg));
    if (tal_graph_status(g))
        return NULL;
    static const char *names[T_N] = { "vid", "point", "score", "fs", "mined_act", "mined_bkg" };
    log->n = T_N;
    log->total = 0;
    for (int i = 0; i < T_N; i++) {
        log->name[i] = names[i];
        log->value[i] = val[i] / Bg;
        if (i < 4)
            log->total += wt[i] * val[i] / Bg;
    }
    log->positives = positives;
    return total;
}

/* ---- inference --------------------------------------------------------------------- */

static int fsp_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    fsp_state *s = S(d);
    const tal_det_config *c = &d->cfg;
    int C = d->num_classes, K = C + 1, T = (int)rec->T;
    fsp_out o;
    int rc = forward(d, g, rec, &o);
    if (rc)
        return rc;
    tal_tensor *qv = tal_topk_mean(g, o.S, top_k(c, T), NULL);
    if (tal_graph_status(g))
        return tal_graph_status(g);
    if (tal_reserve(&s->host, &s->host_cap, (size_t)K * (2 * T + 1), sizeof *s->host))
        return TAL_ENOMEM;
    float *fused = s->host, *sig = fused + (size_t)K * T, *vid = sig + (size_t)K * T;
    if ((rc = tal_tensor_download(g, o.fused, fused)) || (dist && (rc = tal_tensor_download(g, o.S, sig))) ||
        (rc = tal_tensor_download(g, qv, vid)))
        return rc;
    tal_segset_clear(dets);
    tal_grid grid = tal_detector_grid(d, rec);
    int best = 0, any = 0;
    for (int k = 0; k < C; k++) {
        best = vid[k] > vid[best] ? k : best;
        any |= vid[k] > c->fsp_video_thresh;
    }
    for (int k = 0; k < C; k++) {
        if (any ? !(vid[k] > c->fsp_video_thresh) : k != best)
            continue;
        const float *q = fused + (size_t)k * T;
        for (int i = 0; i < c->n_fsp_thresh; i++) {
            s->runs.n = 0;
            if ((rc = tal_runs_above(&s->runs, q, 1, T, c->fsp_thresh[i])) < 0)
                return rc;
            for (size_t j = 0; j < s->runs.n; j++) {
                tal_run run = s->runs.v[j];
                int n = run.end - run.start, w = tal_fsptal_flank(n, c->fsp_delta);
                tal_fsptal_seg sg = { k, run.start, run.end - 1, run.start - w < 0 ? 0 : run.start - w, run.start - 1,
                                      run.end, run.end - 1 + w > T - 1 ? T - 1 : run.end - 1 + w };
                tal_segment seg = { 0, 0, tal_fsptal_oic(q, &sg) + c->fsp_video_weight * vid[k], k, 0, { 0 } };
                tal_run_to_sec(&grid, run, rec->duration, &seg.start, &seg.end);
                if ((rc = tal_segset_push(dets, &seg)))
                    return rc;
            }
        }
    }
    if (dist) {
        /* per snippet: the final class scores and the background score */
        if ((rc = tal_record_alloc_dist(dist, (uint32_t)T, (uint32_t)K)))
            return rc;
        for (int t = 0; t < T; t++) {
            for (int k = 0; k < C; k++)
                dist->dist[(size_t)t * K + k] = fused[(size_t)k * T + t];
            dist->dist[(size_t)t * K + C] = sig[(size_t)C * T + t];
        }
    }
    /* proposal scores are contrasts and may be negative: no minimum */
    tal_nms_opts no = { .method = c->nms_method, .sigma = c->nms_sigma, .iou_thresh = c->iou_thresh,
                        .min_score = -INFINITY, .max_keep = (uint32_t)c->max_seg_num,
                        .class_agnostic = c->class_agnostic, .vote_iou = c->voting_iou };
    return tal_nms(s->nms, dets, rec->duration, &no);
}

/* ---- pseudo labels, for inspection -------------------------------------------------- */

/* runs of flag (stride `step` from x) as segments of class cls */
static int push_runs(tal_segset *out, const uint8_t *x, size_t step, int T, int cls, const tal_grid *grid,
                     double duration)
{
    tal_run run;
    for (int t = 0; tal_run_next_set(x, (ptrdiff_t)step, T, &t, &run);) {
        tal_segment seg = { 0, 0, 1.0, cls, TAL_SEG_PSEUDO, { 0 } };
        tal_run_to_sec(grid, run, duration, &seg.start, &seg.end);
        int rc = tal_segset_push(out, &seg);
        if (rc)
            return rc;
    }
    return 0;
}

/* what mining labels on the record with the model's scores (as at
 * inference: no dropout): action runs by class, background runs as -1 */
static int fsp_pseudo(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *out)
{
    fsp_state *s = S(d);
    int C = d->num_classes, T = (int)rec->T;
    fsp_out o;
    int rc = forward(d, g, rec, &o);
    if (rc || (rc = label_and_mine(d, g, rec, &o)))
        return rc;
    tal_grid grid = tal_detector_grid(d, rec);
    tal_segset_clear(out);
    for (int k = 0; k < C && !rc; k++)
        rc = push_runs(out, s->L.act + k, (size_t)C, T, k, &grid, rec->duration);
    return rc ? rc : push_runs(out, s->L.bkg, 1, T, -1, &grid, rec->duration);
}

const tal_det_ops tal_det_fsptal_ops = {
    .name = "fs-ptal",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_POINT),
    .reads_timemap = 1,
    .define = fsp_define,
    .init = fsp_init,
    .loss = fsp_loss,
    .detect = fsp_detect,
    .data_parallel = tal_det_splits_by_record,
    .pseudo = fsp_pseudo,
    .free = fsp_free,
};
