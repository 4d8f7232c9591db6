/* ops_norm.c — channel LayerNorm; L2 normalisation of rows. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

static void layernorm_backward(tal_graph *g, tal_node *n)
{
    tal_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int B = (int)n->i[0], C = (int)n->i[1], T = (int)n->i[2];
    int ax = 0, aw = 0, ab = 0;
    float *dx = tal__grad(g, x, &ax), *dw = w ? tal__grad(g, w, &aw) : NULL, *db = b ? tal__grad(g, b, &ab) : NULL;
    if (dx || dw || db)
        tal__be(g)->layernorm_backward(dx, dw, db, n->out->grad, x->data, w ? w->data : NULL, n->save[0], n->save[1],
                                       B, C, T, ax, aw, ab);
}

tal_tensor *tal_layernorm(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b, float eps)
{
    if (tal__bad(g, 1, x))
        return NULL;
    char s1[96];
    if (x->ndim != 2 && x->ndim != 3)
        return tal__fail(g, TAL_EINVAL, "layernorm: input %s is not (B,C,T) or (N,C)", tal_shape_str(x, s1, sizeof s1));
    int64_t B = x->shape[0], C = x->shape[1], T = x->ndim == 3 ? x->shape[2] : 1;
    if ((w && tal_numel(w) != C) || (b && tal_numel(b) != C))
        return tal__fail(g, TAL_EINVAL, "layernorm: affine parameters do not have %lld channels", (long long)C);
    if (B * C * T > INT32_MAX || C < 1)
        return tal__fail(g, TAL_EINVAL, "layernorm: input %s not supported", tal_shape_str(x, s1, sizeof s1));
    if (!(x = tal__contig(g, x)) || (w && !(w = tal__contig(g, w))) || (b && !(b = tal__contig(g, b))))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    float *mean = tal__save(g, sizeof(float) * (size_t)(B * T)), *rstd = tal__save(g, sizeof(float) * (size_t)(B * T));
    if (!o || !mean || !rstd)
        return NULL;
    tal__be(g)->layernorm_forward(o->data, mean, rstd, x->data, w ? w->data : NULL, b ? b->data : NULL, (int)B, (int)C,
                                  (int)T, eps);
    tal_tensor *in[3] = { x, w, b };
    tal_node *n = tal__record(g, "layernorm", layernorm_backward, o, 3, in);
    if (n) {
        n->i[0] = B;
        n->i[1] = C;
        n->i[2] = T;
        n->save[0] = mean;
        n->save[1] = rstd;
    }
    return o;
}

/* ---- LayerNorm + activation ---------------------------------------------------- */

static void layernorm_act_backward(tal_graph *g, tal_node *n)
{
    tal_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int B = (int)n->i[0], C = (int)n->i[1], T = (int)n->i[2], act = (int)n->i[3];
    float *ws = tal__scratch(g, tal_lnact_ws(0, B, C, T));
    if (!ws)
        return;
    int ax = 0, aw = 0, ab = 0;
    float *dx = tal__grad(g, x, &ax), *dw = w ? tal__grad(g, w, &aw) : NULL, *db = b ? tal__grad(g, b, &ab) : NULL;
    if (dx || dw || db)
        tal__be(g)->layernorm_act_backward(dx, dw, db, n->out->grad, n->out->data, x->data, w ? w->data : NULL,
                                           b ? b->data : NULL, n->save[0], n->save[1], B, C, T, act, ax, aw, ab, ws);
    tal__scratch_free(g, ws);
}

tal_tensor *tal_layernorm_act(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b, float eps, int act)
{
    if (tal__bad(g, 1, x))
        return NULL;
    char s1[96];
    if (x->ndim != 2 && x->ndim != 3)
        return tal__fail(g, TAL_EINVAL, "layernorm_act: input %s is not (B,C,T) or (N,C)",
                         tal_shape_str(x, s1, sizeof s1));
    if (act != TAL_ACT_RELU && act != TAL_ACT_GELU && act != TAL_ACT_SIGMOID)
        return tal__fail(g, TAL_EINVAL, "layernorm_act: unknown activation %d", act);
    int64_t B = x->shape[0], C = x->shape[1], T = x->ndim == 3 ? x->shape[2] : 1;
    if ((w && tal_numel(w) != C) || (b && tal_numel(b) != C))
        return tal__fail(g, TAL_EINVAL, "layernorm_act: affine parameters do not have %lld channels", (long long)C);
    if (B * C * T > INT32_MAX || C < 1)
        return tal__fail(g, TAL_EINVAL, "layernorm_act: input %s not supported", tal_shape_str(x, s1, sizeof s1));
    if (!(x = tal__contig(g, x)) || (w && !(w = tal__contig(g, w))) || (b && !(b = tal__contig(g, b))))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    float *mean = tal__save(g, sizeof(float) * (size_t)(B * T)), *rstd = tal__save(g, sizeof(float) * (size_t)(B * T));
    float *ws = o && mean && rstd ? tal__scratch(g, tal_lnact_ws(1, (int)B, (int)C, (int)T)) : NULL;
    if (!ws)
        return NULL;
    tal__be(g)->layernorm_act_forward(o->data, mean, rstd, x->data, w ? w->data : NULL, b ? b->data : NULL, (int)B,
                                      (int)C, (int)T, eps, act, ws);
    tal__scratch_free(g, ws);
    tal_tensor *in[3] = { x, w, b };
    tal_node *n = tal__record(g, "layernorm_act", layernorm_act_backward, o, 3, in);
    if (n) {
        n->i[0] = B;
        n->i[1] = C;
        n->i[2] = T;
        n->i[3] = act;
        n->save[0] = mean;
        n->save[1] = rstd;
    }
    return o;
}

/* ---- L2 normalisation ------------------------------------------------------------ */

static void l2norm_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->l2norm_backward(d, n->out->grad, n->out->data, n->save[0], n->i[0], n->i[1], n->f[0], acc);
}

tal_tensor *tal_l2_normalize(tal_graph *g, tal_tensor *x, float eps)
{
    if (tal__bad(g, 1, x))
        return NULL;
    char s1[96];
    if (x->ndim < 1 || x->shape[x->ndim - 1] < 1 || !(eps > 0.0f))
        return tal__fail(g, TAL_EINVAL, "l2_normalize: input %s with eps %g not supported",
                         tal_shape_str(x, s1, sizeof s1), eps);
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t C = x->shape[x->ndim - 1], R = tal_numel(x) / C;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    float *norm = tal__save(g, sizeof(float) * (size_t)(R ? R : 1));
    if (!o || !norm)
        return NULL;
    tal__be(g)->l2norm_forward(o->data, norm, x->data, R, C, eps);
    tal_node *n = tal__record(g, "l2_normalize", l2norm_backward, o, 1, &x);
    if (n) {
        n->i[0] = R;
        n->i[1] = C;
        n->f[0] = eps;
        n->save[0] = norm;
    }
    return o;
}
