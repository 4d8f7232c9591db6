/* ops_reduce.c — sum, mean, max over one dimension or everything. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

static void reduce_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->reduce_backward(d, n->out->grad, n->save[0], n->i[0], n->i[1], n->i[2], (int)n->i[3], acc);
}

static tal_tensor *reduce(tal_graph *g, tal_tensor *x, int dim, int keepdim, int all, int op, const char *name)
{
    if (tal__bad(g, 1, x))
        return NULL;
    int d = dim < 0 ? dim + x->ndim : dim;
    if (!all && (d < 0 || d >= x->ndim))
        return tal__fail(g, TAL_EINVAL, "%s: dimension %d out of range for %d dimensions", name, dim, x->ndim);
    if (tal_numel(x) == 0 || (!all && x->shape[d] == 0))
        return tal__fail(g, TAL_EINVAL, "%s: empty input", name);
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t O = 1, D, I = 1, shape[TAL_MAX_DIMS];
    int nd = 0;
    if (all) {
        D = tal_numel(x);
    } else {
        D = x->shape[d];
        for (int k = 0; k < x->ndim; k++) {
            if (k < d)
                O *= x->shape[k];
            if (k > d)
                I *= x->shape[k];
            if (k != d)
                shape[nd++] = x->shape[k];
            else if (keepdim)
                shape[nd++] = 1;
        }
    }
    tal_tensor *o = tal__out(g, nd, shape);
    int32_t *idx = op == TAL_RED_MAX ? tal__save(g, sizeof(int32_t) * (size_t)(O * I)) : NULL;
    if (!o || (op == TAL_RED_MAX && !idx))
        return NULL;
    tal__be(g)->reduce_forward(o->data, idx, x->data, O, D, I, op);
    tal_node *n = tal__record(g, name, reduce_backward, o, 1, &x);
    if (n) {
        n->i[0] = O;
        n->i[1] = D;
        n->i[2] = I;
        n->i[3] = op;
        n->save[0] = idx;
    }
    return o;
}

tal_tensor *tal_sum(tal_graph *g, tal_tensor *x, int dim, int keepdim)
{
    return reduce(g, x, dim, keepdim, 0, TAL_RED_SUM, "sum");
}
tal_tensor *tal_mean(tal_graph *g, tal_tensor *x, int dim, int keepdim)
{
    return reduce(g, x, dim, keepdim, 0, TAL_RED_MEAN, "mean");
}
tal_tensor *tal_max(tal_graph *g, tal_tensor *x, int dim, int keepdim)
{
    return reduce(g, x, dim, keepdim, 0, TAL_RED_MAX, "max");
}
tal_tensor *tal_sum_all(tal_graph *g, tal_tensor *x) { return reduce(g, x, 0, 0, 1, TAL_RED_SUM, "sum"); }
tal_tensor *tal_mean_all(tal_graph *g, tal_tensor *x) { return reduce(g, x, 0, 0, 1, TAL_RED_MEAN, "mean"); }
tal_tensor *tal_max_all(tal_graph *g, tal_tensor *x) { return reduce(g, x, 0, 0, 1, TAL_RED_MAX, "max"); }
