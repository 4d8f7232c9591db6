/* linear_detector.c — the baseline every detector must beat clearly: a
 * linear classifier of each snippet's features into C classes or
 * background, trained with cross-entropy, and at inference the connected
 * runs of snippets with the same most probable class, each scored by the
 * mean probability of that class over the run.
 *
 * A snippet's target is the class of the instance that contains its
 * centre (the shortest one if several do), else background.
 */
#include "detector.h"
#include "../data/snippets.h"
#include "../nn/init.h"
#include "../nn/ops.h"
#include "../post/nms.h"
#include "../util/error.h"
#include "../util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tal_tensor *w, *b;
    float *x, *host;
    int32_t *target;
    size_t x_cap, host_cap, t_cap;
    tal_nms_ws *nms;
} lin_state;

static lin_state *S(tal_detector *d) { return d->model; }

static int lin_define(tal_detector *d)
{
    lin_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    int K = d->num_classes + 1;
    s->w = tal_param(d->P, "linear.weight", TAL_PARAM_DECAY, 2, (int64_t[]){ K, d->input_dim });
    s->b = tal_param(d->P, "linear.bias", 0, 1, (int64_t[]){ K });
    s->nms = tal_nms_ws_new();
    return s->w && s->b && s->nms ? 0 : tal_errcode() ? tal_errcode() : TAL_ENOMEM;
}

static int lin_init(tal_detector *d, tal_rng *r)
{
    lin_state *s = S(d);
    int rc = tal_init_kaiming_uniform(d->P, s->w, sqrtf(5.0f), r);
    return rc ? rc : tal_init_bias_default(d->P, s->b, d->input_dim, r);
}

static void lin_free(tal_detector *d)
{
    lin_state *s = S(d);
    if (!s)
        return;
    free(s->x);
    free(s->host);
    free(s->target);
    tal_nms_ws_free(s->nms);
    free(s);
    d->model = NULL;
}

/* Snippet targets of one record: class of the shortest instance holding
 * the snippet's centre, else background C. */
static void snippet_targets(const tal_detector *d, const tal_record *r, int32_t *tgt)
{
    tal_grid g = tal_detector_grid(d, r);
    tal_snippet_classes(&r->segs, &g, r->T, d->num_classes, 0, tgt);
}

static tal_tensor *lin_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *r,
                            tal_loss_log *log)
{
    (void)r;
    lin_state *s = S(d);
    int D = d->input_dim;
    size_t N = 0;
    for (int b = 0; b < B; b++)
        N += batch[b]->T;
    if (tal_reserve(&s->x, &s->x_cap, N * D, sizeof *s->x) || tal_reserve(&s->target, &s->t_cap, N, sizeof *s->target))
        return NULL;
    size_t at = 0;
    int positives = 0;
    for (int b = 0; b < B; b++) {
        memcpy(s->x + at * D, batch[b]->feat, (size_t)batch[b]->T * D * sizeof *s->x);
        snippet_targets(d, batch[b], s->target + at);
        for (uint32_t t = 0; t < batch[b]->T; t++)
            positives += s->target[at + t] != d->num_classes;
        at += batch[b]->T;
    }
    tal_tensor *x = tal_tensor_from(g, 2, (int64_t[]){ (int64_t)N, D }, s->x);
    tal_tensor *ce = tal_cross_entropy(g, tal_linear(g, x, s->w, s->b), s->target);
    /* the mean over the whole batch's snippets (over every process's: graph.h) */
    double total = (double)N;
    if (tal_graph_batch_sum(g, &total, 1))
        return NULL;
    tal_tensor *loss = total == (double)N ? tal_mean_all(g, ce) : tal_scale(g, tal_sum_all(g, ce), (float)(1.0 / total));
    if (tal_graph_status(g))
        return NULL;
    float v = 0;
    tal_tensor_download(g, loss, &v);
    log->n = 1;
    log->name[0] = "ce";
    log->value[0] = v;
    log->total = v;
    log->positives = positives;
    return loss;
}

static int lin_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    lin_state *s = S(d);
    int C = d->num_classes, K = C + 1, T = (int)rec->T;
    tal_tensor *x = tal_tensor_from(g, 2, (int64_t[]){ T, d->input_dim }, rec->feat);
    tal_tensor *p = tal_softmax(g, tal_linear(g, x, s->w, s->b), -1, NULL);
    if (tal_graph_status(g) || tal_reserve(&s->host, &s->host_cap, (size_t)T * K, sizeof *s->host))
        return tal_graph_status(g) ? tal_graph_status(g) : TAL_ENOMEM;
    int rc = tal_tensor_download(g, p, s->host);
    if (rc)
        return rc;
    tal_segset_clear(dets);
    tal_grid grid = tal_detector_grid(d, rec);
    int run_cls = -1, run_start = 0;
    double run_sum = 0;
    for (int t = 0; t <= T; t++) {
        int k = C;
        if (t < T) {
            const float *pt = s->host + (size_t)t * K;
            for (int j = 0; j < K; j++)
                if (pt[j] > pt[k])
                    k = j;
        }
        if (k != run_cls || t == T) {
            if (run_cls >= 0 && run_cls < C) {
                /* the run covers grid positions run_start - 0.5 .. t - 0.5 */
                double a = tal_grid_to_sec(&grid, run_start - 0.5), b = tal_grid_to_sec(&grid, t - 0.5);
                tal_segment seg = { fmax(a, 0), rec->duration > 0 ? fmin(b, rec->duration) : b,
                                    run_sum / (t - run_start), run_cls, 0, { 0 } };
                if ((rc = tal_segset_push(dets, &seg)))
                    return rc;
            }
            run_cls = k;
            run_start = t;
            run_sum = 0;
        }
        if (t < T && k < C)
            run_sum += s->host[(size_t)t * K + k];
    }
    if (dist) {
        if ((rc = tal_record_alloc_dist(dist, (uint32_t)T, (uint32_t)K)))
            return rc;
        memcpy(dist->dist, s->host, (size_t)T * K * sizeof *s->host);
    }
    const tal_det_config *c = &d->cfg;
    tal_nms_opts no = { .method = TAL_NMS_HARD, .iou_thresh = 1, .min_score = c->min_score,
                        .max_keep = (uint32_t)c->max_seg_num };
    return tal_nms(s->nms, dets, 0, &no);   /* runs do not overlap: this only orders and caps */
}

const tal_det_ops tal_det_linear_ops = {
    .name = "linear",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_FULL),
    .define = lin_define,
    .init = lin_init,
    .loss = lin_loss,
    .detect = lin_detect,
    .data_parallel = tal_det_splits_by_record,
    .free = lin_free,
};
