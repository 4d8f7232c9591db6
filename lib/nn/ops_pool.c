/* ops_pool.c — max-pooling, top-k mean over time, gather. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

/* ---- max-pool over the last dimension ------------------------------------------ */

static void maxpool_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->maxpool1d_backward(d, n->out->grad, n->save[0], n->i[0], (int)n->i[1], (int)n->i[2], acc);
}

tal_tensor *tal_maxpool1d(tal_graph *g, tal_tensor *x, int kernel, int stride, int pad)
{
    if (tal__bad(g, 1, x))
        return NULL;
    if (x->ndim < 1 || kernel < 1 || stride < 1 || pad < 0 || 2 * pad > kernel)
        return tal__fail(g, TAL_EINVAL, "maxpool1d: kernel %d, stride %d, padding %d not supported", kernel, stride,
                         pad);
    int64_t T = x->shape[x->ndim - 1], R = T ? tal_numel(x) / T : 0;
    if (T + 2 * pad < kernel || T > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "maxpool1d: input of length %lld for kernel %d", (long long)T, kernel);
    int64_t Tout = (T + 2 * pad - kernel) / stride + 1;
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t shape[TAL_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[d];
    shape[x->ndim - 1] = Tout;
    tal_tensor *o = tal__out(g, x->ndim, shape);
    int32_t *idx = tal__save(g, sizeof(int32_t) * (size_t)(R * Tout));
    if (!o || !idx)
        return NULL;
    tal__be(g)->maxpool1d_forward(o->data, idx, x->data, R, (int)T, (int)Tout, kernel, stride, pad);
    tal_node *n = tal__record(g, "maxpool1d", maxpool_backward, o, 1, &x);
    if (n) {
        n->i[0] = R;
        n->i[1] = T;
        n->i[2] = Tout;
        n->save[0] = idx;
    }
    return o;
}

/* ---- top-k mean ------------------------------------------------------------- */

static void topk_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->topk_mean_backward(d, n->out->grad, n->save[0], n->save[1], (int)n->i[0], (int)n->i[1],
                                       (int)n->i[2], (int)n->i[3], acc);
}

tal_tensor *tal_topk_mean(tal_graph *g, tal_tensor *x, int k, tal_tensor *mask)
{
    if (tal__bad(g, 1, x))
        return NULL;
    char s1[96];
    if (x->ndim != 3 || k < 1)
        return tal__fail(g, TAL_EINVAL, "topk_mean: input %s, k %d not supported", tal_shape_str(x, s1, sizeof s1), k);
    int64_t B = x->shape[0], C = x->shape[1], T = x->shape[2];
    if (mask && (mask->ndim != 2 || mask->shape[0] != B || mask->shape[1] != T))
        return tal__fail(g, TAL_EINVAL, "topk_mean: mask %s for input (%lld,%lld,%lld)",
                         tal_shape_str(mask, s1, sizeof s1), (long long)B, (long long)C, (long long)T);
    if (B * C * T > INT32_MAX || B * C * (int64_t)k > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "topk_mean: too large");
    if (k > T)
        k = (int)T;
    if (!(x = tal__contig(g, x)) || (mask && !(mask = tal__contig(g, mask))))
        return NULL;
    tal_tensor *o = tal__out(g, 2, (int64_t[]){ B, C });
    int32_t *idx = tal__save(g, sizeof(int32_t) * (size_t)(B * C * (k ? k : 1)));
    int32_t *kb = tal__save(g, sizeof(int32_t) * (size_t)(B ? B : 1));
    float *ws = tal__scratch(g, (size_t)(B * C * T));
    if (!o || !idx || !kb || !ws) {
        tal__scratch_free(g, ws);
        return NULL;
    }
    tal__be(g)->topk_mean_forward(o->data, idx, kb, x->data, mask ? mask->data : NULL, (int)B, (int)C, (int)T, k,
                                  (int32_t *)ws);
    tal__scratch_free(g, ws);
    tal_node *n = tal__record(g, "topk_mean", topk_backward, o, 1, &x);
    if (n) {
        n->i[0] = B;
        n->i[1] = C;
        n->i[2] = T;
        n->i[3] = k;
        n->save[0] = idx;
        n->save[1] = kb;
    }
    return o;
}

/* ---- gather (index_select) ---------------------------------------------------- */

static void gather_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->gather_backward(d, n->out->grad, n->save[0], n->i[0], n->i[1], n->i[2], n->i[3], acc);
}

tal_tensor *tal_gather(tal_graph *g, tal_tensor *x, int dim, const int32_t *index, int64_t n)
{
    if (tal__bad(g, 1, x))
        return NULL;
    int d = dim < 0 ? dim + x->ndim : dim;
    if (d < 0 || d >= x->ndim || n < 0 || (n > 0 && !index))
        return tal__fail(g, TAL_EINVAL, "gather: dimension %d of %d, %lld indices", dim, x->ndim, (long long)n);
    int64_t D = x->shape[d];
    for (int64_t j = 0; j < n; j++)
        if (index[j] < 0 || index[j] >= D)
            return tal__fail(g, TAL_EINVAL, "gather: index %d at position %lld outside [0, %lld)", index[j],
                             (long long)j, (long long)D);
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t O = 1, I = 1, shape[TAL_MAX_DIMS];
    for (int k = 0; k < x->ndim; k++) {
        shape[k] = x->shape[k];
        if (k < d)
            O *= x->shape[k];
        if (k > d)
            I *= x->shape[k];
    }
    shape[d] = n;
    tal_tensor *o = tal__out(g, x->ndim, shape);
    int32_t *ix = tal__save(g, sizeof(int32_t) * (size_t)(n ? n : 1));
    if (!o || !ix)
        return NULL;
    const tal_backend *be = tal__be(g);
    if (n)
        be->upload(ix, index, sizeof(int32_t) * (size_t)n);
    be->gather_forward(o->data, x->data, ix, O, D, I, n);
    tal_node *nd = tal__record(g, "gather", gather_backward, o, 1, &x);
    if (nd) {
        nd->i[0] = O;
        nd->i[1] = D;
        nd->i[2] = I;
        nd->i[3] = n;
        nd->save[0] = ix;
    }
    return o;
}
