/* ops_resample.c — nearest and linear resampling of the last dimension. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

static void resample_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->resample_backward(d, n->out->grad, n->i[0], (int)n->i[1], (int)n->i[2], (int)n->i[3], acc);
}

tal_tensor *tal_resample(tal_graph *g, tal_tensor *x, int Tout, int mode)
{
    if (tal__bad(g, 1, x))
        return NULL;
    if (x->ndim < 1 || Tout < 1 || (mode != TAL_RESAMPLE_NEAREST && mode != TAL_RESAMPLE_LINEAR))
        return tal__fail(g, TAL_EINVAL, "resample: output length %d, mode %d not supported", Tout, mode);
    int64_t T = x->shape[x->ndim - 1], R = T ? tal_numel(x) / T : 0;
    if (T < 1 || T > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "resample: input length %lld", (long long)T);
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t shape[TAL_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[d];
    shape[x->ndim - 1] = Tout;
    tal_tensor *o = tal__out(g, x->ndim, shape);
    if (!o)
        return NULL;
    tal__be(g)->resample_forward(o->data, x->data, R, (int)T, Tout, mode);
    tal_node *n = tal__record(g, "resample", resample_backward, o, 1, &x);
    if (n) {
        n->i[0] = R;
        n->i[1] = T;
        n->i[2] = Tout;
        n->i[3] = mode;
    }
    return o;
}
