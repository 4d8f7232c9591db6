/* ops_act.c — ReLU, GELU, sigmoid, the elementwise functions that share
 * their kernels (|x|, 1/x, 1/sqrt(x), softsign gate, straight-through
 * step), softmax, log-softmax. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

static void act_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->act_backward(d, n->out->grad, n->in[0]->data, n->out->data, (size_t)tal_numel(n->out),
                                 (int)n->i[0], acc);
}

static tal_tensor *act(tal_graph *g, tal_tensor *x, int kind, const char *name)
{
    if (tal__bad(g, 1, x) || !(x = tal__contig(g, x)))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    if (!o)
        return NULL;
    tal__be(g)->act_forward(o->data, x->data, (size_t)tal_numel(x), kind);
    tal_node *n = tal__record(g, name, act_backward, o, 1, &x);
    if (n)
        n->i[0] = kind;
    return o;
}

tal_tensor *tal_relu(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_RELU, "relu"); }
tal_tensor *tal_gelu(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_GELU, "gelu"); }
tal_tensor *tal_sigmoid(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_SIGMOID, "sigmoid"); }
tal_tensor *tal_abs(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_ABS, "abs"); }
tal_tensor *tal_reciprocal(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_RECIP, "reciprocal"); }
tal_tensor *tal_rsqrt(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_RSQRT, "rsqrt"); }
tal_tensor *tal_softsign_gate(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_SOFTSIGN, "softsign_gate"); }
tal_tensor *tal_step_st(tal_graph *g, tal_tensor *x) { return act(g, x, TAL_ACT_STEP, "step_st"); }

/* ---- softmax ------------------------------------------------------------------ */

static void softmax_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (!d)
        return;
    int64_t sh[4], st[4], mst[4] = { 0, 0, 0, 0 };
    tal_shape4(n->out, sh, st);
    for (int k = 0; k < 4; k++)
        mst[k] = n->i[k];
    tal__be(g)->softmax_backward(d, n->out->grad, n->out->data, n->in[1] ? n->in[1]->data : NULL, sh, mst,
                                 (int)n->i[4], (int)n->i[5], acc);
}

static tal_tensor *softmax(tal_graph *g, tal_tensor *x, int dim, tal_tensor *mask, int log)
{
    const char *name = log ? "log_softmax" : "softmax";
    if (tal__bad(g, 1, x))
        return NULL;
    int d = dim < 0 ? dim + x->ndim : dim;
    if (d < 0 || d >= x->ndim)
        return tal__fail(g, TAL_EINVAL, "%s: dimension %d out of range for %d dimensions", name, dim, x->ndim);
    int64_t sh[4], st[4], msh[4], mst[4] = { 0, 0, 0, 0 };
    tal_shape4(x, sh, st);
    if (mask) {
        tal_shape4(mask, msh, mst);
        for (int k = 0; k < 4; k++) {
            if (msh[k] != sh[k] && msh[k] != 1) {
                char s1[96], s2[96];
                return tal__fail(g, TAL_EINVAL, "%s: mask %s does not broadcast to %s", name,
                                 tal_shape_str(mask, s1, sizeof s1), tal_shape_str(x, s2, sizeof s2));
            }
            if (msh[k] == 1)
                mst[k] = 0;
        }
    }
    if (!(x = tal__contig(g, x)))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    if (!o)
        return NULL;
    int d4 = d + 4 - x->ndim;
    tal__be(g)->softmax_forward(o->data, x->data, mask ? mask->data : NULL, sh, mst, d4, log);
    tal_tensor *in[2] = { x, mask };
    tal_node *n = tal__record(g, name, softmax_backward, o, 2, in);
    if (n) {
        for (int k = 0; k < 4; k++)
            n->i[k] = mst[k];
        n->i[4] = d4;
        n->i[5] = log;
    }
    return o;
}

tal_tensor *tal_softmax(tal_graph *g, tal_tensor *x, int dim, tal_tensor *mask) { return softmax(g, x, dim, mask, 0); }
tal_tensor *tal_log_softmax(tal_graph *g, tal_tensor *x, int dim, tal_tensor *mask)
{
    return softmax(g, x, dim, mask, 1);
}
