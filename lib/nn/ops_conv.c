/* ops_conv.c — masked 1-D convolution (dense, grouped, depthwise). */
#include "nn/graph_impl.h"
#include "nn/ops.h"

static void conv1d_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    tal_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2], *mask = n->in[3];
    int B = (int)n->i[0], Cin = (int)n->i[1], Cout = (int)n->i[2], T = (int)n->i[3], Tout = (int)n->i[4];
    int K = (int)n->i[5], stride = (int)n->i[6], pad = (int)n->i[7], groups = (int)n->i[8];
    float *ws = NULL;
    /* the kernel applies the mask to dout itself (skipping the work when
     * the mask is a valid prefix of each sequence) */
    size_t wsn = tal_conv1d_ws(0, B, Cin, Cout, T, Tout, K, stride, pad, groups) + (mask ? (size_t)B * Cout * Tout : 0);
    if (wsn && !(ws = tal__scratch(g, wsn)))
        return;
    int ax = 0, aw = 0, ab = 0;
    float *dx = tal__grad(g, x, &ax), *dw = tal__grad(g, w, &aw), *db = b ? tal__grad(g, b, &ab) : NULL;
    if (dx || dw || db)
        be->conv1d_backward(dx, dw, db, n->out->grad, x->data, w->data, mask ? mask->data : NULL, B, Cin, Cout, T,
                            Tout, K, stride, pad, groups, ax, aw, ab, ws);
    tal__scratch_free(g, ws);
}

tal_tensor *tal_conv1d(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b, int stride, int pad, int groups,
                       tal_tensor *mask)
{
    if (tal__bad(g, 2, x, w))
        return NULL;
    char s1[96], s2[96];
    if (x->ndim != 3 || w->ndim != 3 || groups < 1 || x->shape[1] % groups || w->shape[0] % groups ||
        w->shape[1] * groups != x->shape[1])
        return tal__fail(g, TAL_EINVAL, "conv1d: input %s and weight %s do not match (groups %d)",
                         tal_shape_str(x, s1, sizeof s1), tal_shape_str(w, s2, sizeof s2), groups);
    int64_t B = x->shape[0], Cin = x->shape[1], T = x->shape[2], Cout = w->shape[0], K = w->shape[2];
    if (K < 1 || K > 64 || stride < 1 || pad < 0 || pad >= K + T)
        return tal__fail(g, TAL_EINVAL, "conv1d: kernel %lld, stride %d, padding %d not supported", (long long)K,
                         stride, pad);
    int64_t Tout = (T + 2 * pad - K) / stride + 1;
    if (T + 2 * pad < K)
        return tal__fail(g, TAL_EINVAL, "conv1d: input of length %lld is shorter than the kernel %lld", (long long)T,
                         (long long)K);
    if (B * Cout * Tout > INT32_MAX || B * Cin * T > INT32_MAX || Cout * Cin * K > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "conv1d: too large");
    if (b && tal_numel(b) != Cout)
        return tal__fail(g, TAL_EINVAL, "conv1d: bias %s for %lld output channels", tal_shape_str(b, s1, sizeof s1),
                         (long long)Cout);
    if (mask && (mask->ndim != 2 || mask->shape[0] != B || mask->shape[1] != Tout))
        return tal__fail(g, TAL_EINVAL, "conv1d: mask %s for output (%lld,%lld,%lld)",
                         tal_shape_str(mask, s1, sizeof s1), (long long)B, (long long)Cout, (long long)Tout);
    if (!(x = tal__contig(g, x)) || !(w = tal__contig(g, w)) || (b && !(b = tal__contig(g, b))) ||
        (mask && !(mask = tal__contig(g, mask))))
        return NULL;
    tal_tensor *o = tal__out(g, 3, (int64_t[]){ B, Cout, Tout });
    if (!o)
        return NULL;
    size_t wsn = tal_conv1d_ws(1, (int)B, (int)Cin, (int)Cout, (int)T, (int)Tout, (int)K, stride, pad, groups);
    float *ws = wsn ? tal__scratch(g, wsn) : NULL;
    if (wsn && !ws)
        return NULL;
    tal__be(g)->conv1d_forward(o->data, x->data, w->data, b ? b->data : NULL, mask ? mask->data : NULL, (int)B,
                               (int)Cin, (int)Cout, (int)T, (int)Tout, (int)K, stride, pad, groups, ws);
    tal__scratch_free(g, ws);
    tal_tensor *in[4] = { x, w, b, mask };
    tal_node *n = tal__record(g, "conv1d", conv1d_backward, o, 4, in);
    if (n) {
        int64_t v[8] = { B, Cin, Cout, T, Tout, K, stride, pad };
        for (int k = 0; k < 8; k++)
            n->i[k] = v[k];
        n->i[8] = groups;
    }
    return o;
}
