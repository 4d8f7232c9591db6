/* icd.c — the instance consistency discriminator as a detector kind (see icd.h). */
#include "icd.h"
#include "../data/instfeat.h"
#include "../nn/init.h"
#include "../nn/ops.h"
#include "../util/error.h"
#include "../util/mem.h"
#include "../util/strmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tal_tensor *wa, *wb, *b1, *w2, *b2;
    /* the pool: every labelled instance of the training records, sorted
     * by class (stable), with where each record's instances start */
    float *feat;             /* n x D */
    int32_t *cls;
    uint32_t n, *class_start;   /* C + 1 offsets */
    uint32_t *rank;          /* pool position of the i-th instance in record order */
    tal_strmap first;        /* record id -> its first instance in record order */
    int have_pool;
    /* step scratch */
    float *fa, *fb, *y;
    int32_t *ia;
    size_t fa_cap, fb_cap, y_cap, ia_cap;
} icd_state;

enum { CLASSES = 0 };

static icd_state *S(tal_detector *d) { return d->model; }

int tal_icd_instance(const tal_segment *s)
{
    return s->cls >= 0 && !(s->flags & (TAL_SEG_AMBIGUOUS | TAL_SEG_PSEUDO));
}

static int icd_define(tal_detector *d)
{
    icd_state *s = tal_calloc(1, sizeof *s);
    if (!s)
        return TAL_ENOMEM;
    d->model = s;
    tal_strmap_init(&s->first);
    int H = d->cfg.icd_hidden, D = d->input_dim;
    s->wa = tal_param(d->P, "icd.fc1_a.weight", TAL_PARAM_DECAY, 2, (int64_t[]){ H, D });
    s->wb = tal_param(d->P, "icd.fc1_b.weight", TAL_PARAM_DECAY, 2, (int64_t[]){ H, D });
    s->b1 = tal_param(d->P, "icd.fc1.bias", 0, 1, (int64_t[]){ H });
    s->w2 = tal_param(d->P, "icd.fc2.weight", TAL_PARAM_DECAY, 2, (int64_t[]){ 1, H });
    s->b2 = tal_param(d->P, "icd.fc2.bias", 0, 1, (int64_t[]){ 1 });
    d->nstate = 1;
    d->state_name[CLASSES] = "class_table_crc";
    d->classes_state = CLASSES;
    return s->wa && s->wb && s->b1 && s->w2 && s->b2 ? 0 : tal_errcode() ? tal_errcode() : TAL_ENOMEM;
}

/* PyTorch's Linear defaults for one Linear(2D, H) (fan-in 2D) and one
 * Linear(H, 1) */
static int icd_init(tal_detector *d, tal_rng *r)
{
    icd_state *s = S(d);
    int64_t fan = 2 * (int64_t)d->input_dim;
    float bound = 1.0f / sqrtf((float)fan);
    int rc = tal_init_uniform(d->P, s->wa, -bound, bound, r) || tal_init_uniform(d->P, s->wb, -bound, bound, r) ||
             tal_init_bias_default(d->P, s->b1, fan, r) || tal_init_kaiming_uniform(d->P, s->w2, sqrtf(5.0f), r) ||
             tal_init_bias_default(d->P, s->b2, d->cfg.icd_hidden, r);
    return rc ? TAL_EINVAL : 0;
}

static void icd_free(tal_detector *d)
{
    icd_state *s = S(d);
    if (!s)
        return;
    free(s->feat);
    free(s->cls);
    free(s->class_start);
    free(s->rank);
    tal_strmap_free(&s->first);
    free(s->fa);
    free(s->fb);
    free(s->y);
    free(s->ia);
    free(s);
    d->model = NULL;
}

static int icd_prepare(tal_detector *d, const tal_record *const *recs, uint32_t n)
{
    icd_state *s = S(d);
    uint32_t D = (uint32_t)d->input_dim, C = (uint32_t)d->num_classes, N = 0, all = 0;
    for (uint32_t i = 0; i < n; i++) {
        tal_grid g = tal_detector_grid(d, recs[i]);
        for (uint32_t k = 0; k < recs[i]->segs.n; k++) {
            const tal_segment *x = &recs[i]->segs.v[k];
            if (!tal_icd_instance(x))
                continue;
            all++;
            N += (uint32_t)tal_instance_in_features(recs[i], &g, x->start, x->end);
        }
    }
    if (N < all)
        tal_warn("%u labelled instances lie beyond their sequences' features and are left out of the pool", all - N);
    if (N < 2)
        return tal_err(TAL_EINVAL, "the instance consistency discriminator needs at least 2 labelled instances, the "
                       "training sequences hold %u", N);
    float *feat = tal_malloc((size_t)N * D * sizeof *feat), *tmp = tal_malloc((size_t)N * D * sizeof *tmp);
    int32_t *cls = tal_malloc((size_t)N * sizeof *cls);
    /* rank: every instance in record order (those left out: UINT32_MAX) */
    uint32_t *start = tal_calloc((size_t)C + 1, sizeof *start), *rank = tal_malloc((size_t)all * sizeof *rank);
    int32_t *tcls = tal_malloc((size_t)N * sizeof *tcls);
    int rc = feat && tmp && cls && start && rank && tcls ? 0 : TAL_ENOMEM;
    /* in record order first; rank holds each instance's index among those
     * kept until the sort below turns it into its place in the pool */
    uint32_t at = 0, j = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const tal_record *r = recs[i];
        tal_grid g = tal_detector_grid(d, r);
        if ((rc = tal_strmap_put(&s->first, r->id, j)))
            break;
        for (uint32_t k = 0; k < r->segs.n && !rc; k++) {
            const tal_segment *x = &r->segs.v[k];
            if (!tal_icd_instance(x))
                continue;
            if (!tal_instance_in_features(r, &g, x->start, x->end)) {
                rank[j++] = UINT32_MAX;
                continue;
            }
            if ((rc = tal_instance_feature(r, &g, x->start, x->end, tmp + (size_t)at * D)))
                rc = tal_err_wrap(rc, "sequence '%s', instance %u", r->id, k);
            rank[j++] = at;
            tcls[at++] = x->cls;
        }
    }
    /* then stably by class */
    if (!rc) {
        for (uint32_t i = 0; i < N; i++)
            start[tcls[i] + 1]++;
        for (uint32_t c = 0; c < C; c++)
            start[c + 1] += start[c];
        uint32_t *fill = tal_malloc(((size_t)C + 1) * sizeof *fill);
        if (!fill)
            rc = TAL_ENOMEM;
        for (uint32_t c = 0; !rc && c <= C; c++)
            fill[c] = start[c];
        /* kept instances appear in rank in increasing order, so walking it
           meets them in the order of tmp */
        for (uint32_t i = 0; !rc && i < all; i++) {
            if (rank[i] == UINT32_MAX)
                continue;
            uint32_t t = rank[i], p = fill[tcls[t]]++;
            rank[i] = p;
            cls[p] = tcls[t];
            memcpy(feat + (size_t)p * D, tmp + (size_t)t * D, D * sizeof *feat);
        }
        free(fill);
    }
    free(tmp);
    free(tcls);
    if (rc) {
        free(feat);
        free(cls);
        free(start);
        free(rank);
        return rc;
    }
    free(s->feat);
    free(s->cls);
    free(s->class_start);
    free(s->rank);
    s->feat = feat;
    s->cls = cls;
    s->class_start = start;
    s->rank = rank;
    s->n = N;
    s->have_pool = 1;
    return 0;
}

/* D's logits for pairs: A = W_a fa (na x H), B = W_b fb + b (nb x H),
 * pair p joins row ia[p] of A with row p of B */
static tal_tensor *pair_logits(tal_graph *g, icd_state *s, tal_tensor *fa, tal_tensor *fb, const int32_t *ia, int64_t P)
{
    tal_tensor *a = tal_linear(g, fa, s->wa, NULL);
    tal_tensor *b = tal_linear(g, fb, s->wb, s->b1);
    tal_tensor *h = tal_relu(g, tal_add(g, tal_gather(g, a, 0, ia, P), b));
    return tal_linear(g, h, s->w2, s->b2);   /* (P, 1) */
}

static tal_tensor *icd_loss(tal_detector *d, tal_graph *g, const tal_record *const *batch, int B, tal_rng *r,
                            tal_loss_log *log)
{
    icd_state *s = S(d);
    if (!s->have_pool) {
        tal_err(TAL_EINVAL, "the discriminator has no instance pool (train it with icd-filter train or tal-train)");
        return NULL;
    }
    uint32_t D = (uint32_t)d->input_dim, ns = (uint32_t)d->cfg.icd_same, no = (uint32_t)d->cfg.icd_other;
    /* anchors: the batch's instances, by their pool positions */
    uint32_t na = 0, P = 0;
    for (int b = 0; b < B; b++)
        for (uint32_t k = 0; k < batch[b]->segs.n; k++)
            na += (uint32_t)tal_icd_instance(&batch[b]->segs.v[k]);   /* at most: some may be left out */
    size_t maxp = (size_t)na * (ns + no);
    if (tal_reserve(&s->fa, &s->fa_cap, (size_t)(na ? na : 1) * D, sizeof *s->fa) ||
        tal_reserve(&s->fb, &s->fb_cap, (maxp ? maxp : 1) * D, sizeof *s->fb) ||
        tal_reserve(&s->y, &s->y_cap, maxp ? maxp : 1, sizeof *s->y) ||
        tal_reserve(&s->ia, &s->ia_cap, maxp ? maxp : 1, sizeof *s->ia))
        return NULL;
    uint32_t a = 0;
    for (int b = 0; b < B; b++) {
        const tal_record *rec = batch[b];
        int64_t first = tal_strmap_get(&s->first, rec->id);
        if (first < 0) {
            tal_err(TAL_EINVAL, "sequence '%s' was not among the records the discriminator was prepared with", rec->id);
            return NULL;
        }
        uint32_t j = (uint32_t)first;
        for (uint32_t k = 0; k < rec->segs.n; k++) {
            if (!tal_icd_instance(&rec->segs.v[k]))
                continue;
            uint32_t self = s->rank[j++];
            if (self == UINT32_MAX)   /* beyond its sequence's features */
                continue;
            int32_t c = s->cls[self];
            uint32_t c0 = s->class_start[c], mc = s->class_start[c + 1] - c0, rest = s->n - mc;
            memcpy(s->fa + (size_t)a * D, s->feat + (size_t)self * D, D * sizeof *s->fa);
            for (uint32_t i = 0; i < ns && mc > 1; i++) {   /* same class, not itself */
                uint32_t u = c0 + tal_rng_below(r, mc - 1);
                u += u >= self;
                memcpy(s->fb + (size_t)P * D, s->feat + (size_t)u * D, D * sizeof *s->fb);
                s->ia[P] = (int32_t)a;
                s->y[P++] = 1.0f;
            }
            for (uint32_t i = 0; i < no && rest; i++) {     /* other classes */
                uint32_t u = tal_rng_below(r, rest);
                u += u >= c0 ? mc : 0;
                memcpy(s->fb + (size_t)P * D, s->feat + (size_t)u * D, D * sizeof *s->fb);
                s->ia[P] = (int32_t)a;
                s->y[P++] = 0.0f;
            }
            a++;
        }
    }
    log->n = 1;
    log->name[0] = "bce";
    log->positives = (int)P;
    if (!P) {   /* nothing to compare in this batch: a zero that is still a graph */
        tal_tensor *z = tal_scale(g, tal_sum_all(g, s->b2), 0.0f);
        log->value[0] = log->total = 0;
        return tal_graph_status(g) ? NULL : z;
    }
    tal_tensor *fa = tal_tensor_from(g, 2, (int64_t[]){ a, D }, s->fa);
    tal_tensor *fb = tal_tensor_from(g, 2, (int64_t[]){ P, D }, s->fb);
    tal_tensor *logit = pair_logits(g, s, fa, fb, s->ia, P);
    tal_tensor *y = tal_tensor_from(g, 2, (int64_t[]){ P, 1 }, s->y);
    tal_tensor *loss = tal_mean_all(g, tal_bce_logits(g, logit, y));
    if (tal_graph_status(g))
        return NULL;
    float v = 0;
    tal_tensor_download(g, loss, &v);
    log->value[0] = log->total = v;
    return loss;
}

static int icd_detect(tal_detector *d, tal_graph *g, const tal_record *rec, tal_segset *dets, tal_record *dist)
{
    (void)d, (void)g, (void)rec, (void)dets, (void)dist;
    return tal_err(TAL_EINVAL, "an instance consistency discriminator scores instances (icd-filter apply); it does "
                   "not detect");
}

int tal_icd_score(tal_detector *d, tal_graph *g, const float *q, int n, const float *ref, int m, double *out)
{
    if (d->ops != &tal_det_icd_ops)
        return tal_err(TAL_EINVAL, "the model is a %s detector, not an instance consistency discriminator",
                       d->ops->name);
    icd_state *s = S(d);
    int D = d->input_dim;
    if (n <= 0)
        return 0;
    if (m <= 0)
        return tal_err(TAL_EINVAL, "no reference instances to compare with");
    /* rows of queries per chunk: about 64k pairs at a time */
    int rows = 65536 / m;
    rows = rows < 1 ? 1 : rows > n ? n : rows;
    int32_t *ia = tal_malloc((size_t)rows * m * sizeof *ia);
    float *o = tal_malloc((size_t)rows * m * sizeof *o);
    int rc = ia && o ? 0 : TAL_ENOMEM;
    for (int i0 = 0; i0 < n && !rc; i0 += rows) {
        int k = n - i0 < rows ? n - i0 : rows;
        tal_graph_mark mk = tal_graph_mark_get(g);
        /* B for every pair: the reference rows repeated k times; A once per query */
        tal_tensor *fr = tal_tensor_from(g, 2, (int64_t[]){ m, D }, ref);
        tal_tensor *b = tal_linear(g, fr, s->wb, s->b1);
        int32_t *ib = tal_malloc((size_t)k * m * sizeof *ib);
        if (!ib) {
            rc = TAL_ENOMEM;
            break;
        }
        for (int r = 0; r < k; r++)
            for (int j = 0; j < m; j++) {
                ia[(size_t)r * m + j] = r;
                ib[(size_t)r * m + j] = j;
            }
        tal_tensor *a = tal_linear(g, tal_tensor_from(g, 2, (int64_t[]){ k, D }, q + (size_t)i0 * D), s->wa, NULL);
        tal_tensor *h = tal_relu(g, tal_add(g, tal_gather(g, a, 0, ia, (int64_t)k * m), tal_gather(g, b, 0, ib, (int64_t)k * m)));
        tal_tensor *p = tal_sigmoid(g, tal_linear(g, h, s->w2, s->b2));
        free(ib);
        if ((rc = tal_graph_status(g)) || (rc = tal_tensor_download(g, p, o)))
            break;
        for (int r = 0; r < k; r++) {
            double sum = 0;
            for (int j = 0; j < m; j++)
                sum += o[(size_t)r * m + j];
            out[i0 + r] = sum / m;
        }
        tal_graph_release(g, mk, 0, NULL);
    }
    free(ia);
    free(o);
    return rc;
}

const tal_det_ops tal_det_icd_ops = {
    .name = "icd",
    .trains_on = TAL_TRAINS_ON(TAL_SUP_FULL),
    .define = icd_define,
    .init = icd_init,
    .prepare = icd_prepare,
    .loss = icd_loss,
    .detect = icd_detect,
    .free = icd_free,
};
