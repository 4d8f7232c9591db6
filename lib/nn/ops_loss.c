/* ops_loss.c — loss primitives, elementwise (sum or mean them after), and the
 * supervised-contrastive InfoNCE built from other ops. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

#include <stdlib.h>

enum { L_BCE, L_FOCAL, L_QFL, L_BCEP, L_QFLP };

static void pointwise_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (!d)
        return;
    size_t ne = (size_t)tal_numel(n->out);
    const float *x = n->in[0]->data, *y = n->in[1]->data, *go = n->out->grad;
    switch (n->i[0]) {
    case L_BCE:
        be->bce_backward(d, go, x, y, ne, acc);
        break;
    case L_FOCAL:
        be->focal_backward(d, go, x, y, ne, n->f[0], n->f[1], acc);
        break;
    case L_QFL:
        be->qfl_backward(d, go, x, y, ne, n->f[0], acc);
        break;
    default:
        be->bcep_backward(d, go, x, y, ne, n->f[0], n->i[0] == L_QFLP, acc);
        break;
    }
}

static tal_tensor *pointwise(tal_graph *g, tal_tensor *x, tal_tensor *y, int kind, float a, float b, const char *name)
{
    if (tal__bad(g, 2, x, y))
        return NULL;
    if (!tal_same_shape(x, y)) {
        char s1[96], s2[96];
        return tal__fail(g, TAL_EINVAL, "%s: logits %s and targets %s differ", name, tal_shape_str(x, s1, sizeof s1),
                         tal_shape_str(y, s2, sizeof s2));
    }
    if (!(x = tal__contig(g, x)) || !(y = tal__contig(g, y)))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    if (!o)
        return NULL;
    const tal_backend *be = tal__be(g);
    size_t ne = (size_t)tal_numel(x);
    if (kind == L_BCE)
        be->bce_forward(o->data, x->data, y->data, ne);
    else if (kind == L_FOCAL)
        be->focal_forward(o->data, x->data, y->data, ne, a, b);
    else if (kind == L_QFL)
        be->qfl_forward(o->data, x->data, y->data, ne, a);
    else
        be->bcep_forward(o->data, x->data, y->data, ne, a, kind == L_QFLP);
    tal_tensor *in[2] = { x, y };
    tal_node *n = tal__record(g, name, pointwise_backward, o, 2, in);
    if (n) {
        n->i[0] = kind;
        n->f[0] = a;
        n->f[1] = b;
    }
    return o;
}

tal_tensor *tal_bce_logits(tal_graph *g, tal_tensor *x, tal_tensor *y)
{
    return pointwise(g, x, y, L_BCE, 0, 0, "bce_logits");
}

tal_tensor *tal_sigmoid_focal(tal_graph *g, tal_tensor *x, tal_tensor *y, float alpha, float gamma)
{
    if (!(gamma >= 0.0f))
        return tal__fail(g, TAL_EINVAL, "sigmoid_focal: gamma %g is negative", gamma);
    return pointwise(g, x, y, L_FOCAL, alpha, gamma, "sigmoid_focal");
}

tal_tensor *tal_quality_focal(tal_graph *g, tal_tensor *x, tal_tensor *y, float beta)
{
    if (!(beta >= 0.0f))
        return tal__fail(g, TAL_EINVAL, "quality_focal: beta %g is negative", beta);
    return pointwise(g, x, y, L_QFL, beta, 0, "quality_focal");
}

/* ---- positive-negative learning on a softmax --------------------------------------- */

static void pn_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (!d)
        return;
    /* the weights follow x among the inputs, each when present */
    const float *wp = n->i[2] ? n->in[1]->data : NULL, *wn = n->i[3] ? n->in[1 + n->i[2]]->data : NULL;
    tal__be(g)->pn_backward(d, n->out->grad, n->in[0]->data, wp, wn, n->i[0], (int)n->i[1], acc);
}

tal_tensor *tal_softmax_pn(tal_graph *g, tal_tensor *x, tal_tensor *wpos, tal_tensor *wneg)
{
    if (tal__bad(g, 1, x))
        return NULL;
    char s1[96], s2[96];
    if (x->ndim != 2 || x->shape[1] < 2 || x->shape[1] > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "softmax_pn: logits %s are not (N,K) with K >= 2", tal_shape_str(x, s1, sizeof s1));
    tal_tensor *w[2] = { wpos, wneg };
    for (int i = 0; i < 2; i++)
        if (w[i] && !tal_same_shape(x, w[i]))
            return tal__fail(g, TAL_EINVAL, "softmax_pn: logits %s and %s weights %s differ",
                             tal_shape_str(x, s1, sizeof s1), i ? "negative" : "positive",
                             tal_shape_str(w[i], s2, sizeof s2));
    if (!(x = tal__contig(g, x)) || (wpos && !(wpos = tal__contig(g, wpos))) || (wneg && !(wneg = tal__contig(g, wneg))))
        return NULL;
    int64_t N = x->shape[0], K = x->shape[1];
    tal_tensor *o = tal__out(g, 1, &N);
    if (!o)
        return NULL;
    const float *wp = wpos ? wpos->data : NULL, *wn = wneg ? wneg->data : NULL;
    tal__be(g)->pn_forward(o->data, x->data, wp, wn, N, (int)K);
    tal_tensor *in[3] = { x };
    int nin = 1;
    if (wpos)
        in[nin++] = wpos;
    if (wneg)
        in[nin++] = wneg;
    tal_node *n = tal__record(g, "softmax_pn", pn_backward, o, nin, in);
    if (n) {
        n->i[0] = N;
        n->i[1] = K;
        n->i[2] = wpos != NULL;
        n->i[3] = wneg != NULL;
    }
    return o;
}

tal_tensor *tal_bce_prob(tal_graph *g, tal_tensor *p, tal_tensor *y, float gamma)
{
    if (!(gamma >= 0.0f))
        return tal__fail(g, TAL_EINVAL, "bce_prob: gamma %g is negative", gamma);
    return pointwise(g, p, y, L_BCEP, gamma, 0, "bce_prob");
}

/* ---- cross-entropy ------------------------------------------------------------ */

static void ce_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->ce_backward(d, n->out->grad, n->save[0], n->save[1], n->i[0], (int)n->i[1], acc);
}

tal_tensor *tal_cross_entropy(tal_graph *g, tal_tensor *x, const int32_t *target)
{
    if (tal__bad(g, 1, x))
        return NULL;
    char s1[96];
    if (x->ndim != 2 || x->shape[1] < 1 || x->shape[1] > INT32_MAX || (x->shape[0] && !target))
        return tal__fail(g, TAL_EINVAL, "cross_entropy: logits %s are not (N,K)", tal_shape_str(x, s1, sizeof s1));
    int64_t N = x->shape[0], K = x->shape[1];
    for (int64_t i = 0; i < N; i++)
        if (target[i] >= K)
            return tal__fail(g, TAL_EINVAL, "cross_entropy: target %d at row %lld for %lld classes", target[i],
                             (long long)i, (long long)K);
    if (!(x = tal__contig(g, x)))
        return NULL;
    tal_tensor *o = tal__out(g, 1, &N);
    float *lsm = tal__save(g, sizeof(float) * (size_t)(N * K));
    int32_t *tg = tal__save(g, sizeof(int32_t) * (size_t)(N ? N : 1));
    if (!o || !lsm || !tg)
        return NULL;
    const tal_backend *be = tal__be(g);
    if (N)
        be->upload(tg, target, sizeof(int32_t) * (size_t)N);
    be->ce_forward(o->data, lsm, x->data, tg, N, (int)K);
    tal_node *n = tal__record(g, "cross_entropy", ce_backward, o, 1, &x);
    if (n) {
        n->i[0] = N;
        n->i[1] = K;
        n->save[0] = lsm;
        n->save[1] = tg;
    }
    return o;
}

/* ---- 1-D DIoU -------------------------------------------------------------------- */

#define DIOU_EPS 1e-8f

static void diou_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->diou_backward(d, n->out->grad, n->in[0]->data, n->in[1]->data, n->i[0], DIOU_EPS, acc);
}

tal_tensor *tal_diou_1d(tal_graph *g, tal_tensor *pred, tal_tensor *target)
{
    if (tal__bad(g, 2, pred, target))
        return NULL;
    char s1[96], s2[96];
    if (pred->ndim != 2 || pred->shape[1] != 2 || !tal_same_shape(pred, target))
        return tal__fail(g, TAL_EINVAL, "diou_1d: prediction %s and target %s are not both (N,2)",
                         tal_shape_str(pred, s1, sizeof s1), tal_shape_str(target, s2, sizeof s2));
    if (!(pred = tal__contig(g, pred)) || !(target = tal__contig(g, target)))
        return NULL;
    int64_t N = pred->shape[0];
    tal_tensor *o = tal__out(g, 1, &N);
    if (!o)
        return NULL;
    tal__be(g)->diou_forward(o->data, pred->data, target->data, N, DIOU_EPS);
    tal_tensor *in[2] = { pred, target };
    tal_node *n = tal__record(g, "diou_1d", diou_backward, o, 2, in);
    if (n)
        n->i[0] = N;
    return o;
}

tal_tensor *tal_quality_focal_prob(tal_graph *g, tal_tensor *p, tal_tensor *y, float beta)
{
    if (!(beta >= 0.0f))
        return tal__fail(g, TAL_EINVAL, "quality_focal_prob: beta %g is negative", beta);
    return pointwise(g, p, y, L_QFLP, beta, 0, "quality_focal_prob");
}

/* ---- supervised contrastive InfoNCE ------------------------------------------------------- */

/* Built from matmul, log-softmax (its mask leaves out each anchor itself)
 * and a weighted sum: its kernels, gradient checks and parity tests are
 * theirs.  The weights say, for anchor i, 1/|P(i)| at each positive. */
tal_tensor *tal_supcon(tal_graph *g, tal_tensor *z, const int32_t *labels, float tau)
{
    if (tal__bad(g, 1, z))
        return NULL;
    char s1[96];
    if (z->ndim != 2 || z->shape[0] < 1)
        return tal__fail(g, TAL_EINVAL, "supcon: embeddings %s are not (N,E)", tal_shape_str(z, s1, sizeof s1));
    if (!(tau > 0.0f))
        return tal__fail(g, TAL_EINVAL, "supcon: temperature %g is not positive", tau);
    int64_t N = z->shape[0];
    float *w = malloc((size_t)(N * N) * sizeof *w), *keep = malloc((size_t)(N * N) * sizeof *keep);
    if (!w || !keep) {
        free(w);
        free(keep);
        return tal__fail(g, TAL_ENOMEM, "supcon: out of memory for %lld x %lld", (long long)N, (long long)N);
    }
    int64_t anchors = 0;
    for (int64_t i = 0; i < N; i++) {
        int64_t np = 0;
        for (int64_t j = 0; j < N; j++) {
            keep[i * N + j] = j != i;
            np += j != i && labels[j] == labels[i];
        }
        for (int64_t j = 0; j < N; j++)
            w[i * N + j] = np && j != i && labels[j] == labels[i] ? -1.0f / (float)np : 0.0f;
        anchors += np > 0;
    }
    tal_tensor *out = NULL;
    if (anchors) {
        int64_t sh[2] = { N, N };
        tal_tensor *sim = tal_scale(g, tal_matmul(g, z, z, 0, 1), 1.0f / tau);
        tal_tensor *ls = tal_log_softmax(g, sim, 1, tal_tensor_from(g, 2, sh, keep));
        out = tal_scale(g, tal_sum_all(g, tal_mul(g, ls, tal_tensor_from(g, 2, sh, w))), 1.0f / (float)anchors);
    } else {
        out = tal_scale(g, tal_sum_all(g, z), 0.0f);   /* no anchor has a positive: 0, still on the tape */
    }
    free(w);
    free(keep);
    return out;
}
