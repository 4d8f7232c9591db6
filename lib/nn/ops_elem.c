/* ops_elem.c — broadcast add/sub/mul, affine, clamp, dropout, drop-path,
 * LayerScale. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

#include <math.h>

/* ---- broadcasting --------------------------------------------------------- */

/* output shape of a op b (NumPy rules) into osh; 4-dimension forms */
static int broadcast_shape(tal_graph *g, const char *op, const tal_tensor *a, const tal_tensor *b, int *ndim,
                           int64_t osh[4])
{
    int64_t as[4], ast[4], bs[4], bst[4];
    tal_shape4(a, as, ast);
    tal_shape4(b, bs, bst);
    *ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int d = 0; d < 4; d++) {
        if (as[d] != bs[d] && as[d] != 1 && bs[d] != 1) {
            char x[96], y[96];
            tal__fail(g, TAL_EINVAL, "%s: shapes %s and %s do not broadcast", op, tal_shape_str(a, x, sizeof x),
                      tal_shape_str(b, y, sizeof y));
            return -1;
        }
        osh[d] = as[d] == 1 ? bs[d] : as[d];
    }
    return 0;
}

/* strides of t read over the 4-d output shape (0 where t is broadcast) */
static void bstrides(const tal_tensor *t, const int64_t osh[4], int64_t st[4])
{
    int64_t sh[4];
    tal_shape4(t, sh, st);
    for (int d = 0; d < 4; d++)
        if (sh[d] == 1 && osh[d] != 1)
            st[d] = 0;
}

static void binary_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    tal_tensor *a = n->in[0], *b = n->in[1], *o = n->out;
    int op = (int)n->i[0];
    int64_t osh[4], ost[4], dsh[4], dst[4], other[4] = { 0, 0, 0, 0 };
    tal_shape4(o, osh, ost);
    for (int side = 0; side < 2; side++) {
        tal_tensor *t = side ? b : a, *u = side ? a : b;
        int acc;
        float *d = tal__grad(g, t, &acc);
        if (!d)
            continue;
        tal_shape4(t, dsh, dst);
        float alpha = (op == TAL_BIN_SUB && side) ? -1.0f : 1.0f;
        if (op == TAL_BIN_MUL) {
            bstrides(u, osh, other);
            be->broadcast_reduce(d, dsh, o->grad, osh, u->data, other, alpha, acc);
        } else {
            be->broadcast_reduce(d, dsh, o->grad, osh, NULL, other, alpha, acc);
        }
    }
}

static tal_tensor *binary(tal_graph *g, tal_tensor *a, tal_tensor *b, int op, const char *name)
{
    if (tal__bad(g, 2, a, b))
        return NULL;
    int ndim;
    int64_t osh[4], ast[4], bst[4];
    if (broadcast_shape(g, name, a, b, &ndim, osh))
        return NULL;
    tal_tensor *o = tal__out(g, ndim, osh + (4 - ndim));
    if (!o)
        return NULL;
    bstrides(a, osh, ast);
    bstrides(b, osh, bst);
    tal__be(g)->binary_forward(o->data, a->data, b->data, osh, ast, bst, op);
    tal_tensor *in[2] = { a, b };
    tal_node *n = tal__record(g, name, binary_backward, o, 2, in);
    if (n)
        n->i[0] = op;
    return o;
}

tal_tensor *tal_add(tal_graph *g, tal_tensor *a, tal_tensor *b) { return binary(g, a, b, TAL_BIN_ADD, "add"); }
tal_tensor *tal_sub(tal_graph *g, tal_tensor *a, tal_tensor *b) { return binary(g, a, b, TAL_BIN_SUB, "sub"); }
tal_tensor *tal_mul(tal_graph *g, tal_tensor *a, tal_tensor *b) { return binary(g, a, b, TAL_BIN_MUL, "mul"); }

/* ---- affine ------------------------------------------------------------------- */

static void affine_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->axpy(d, n->out->grad, n->f[0], (size_t)tal_numel(n->out), acc);
}

tal_tensor *tal_affine(tal_graph *g, tal_tensor *x, float alpha, float beta)
{
    if (tal__bad(g, 1, x) || !(x = tal__contig(g, x)))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    if (!o)
        return NULL;
    tal__be(g)->affine(o->data, x->data, alpha, beta, (size_t)tal_numel(x));
    tal_node *n = tal__record(g, "affine", affine_backward, o, 1, &x);
    if (n)
        n->f[0] = alpha;
    return o;
}

tal_tensor *tal_scale(tal_graph *g, tal_tensor *x, float alpha) { return tal_affine(g, x, alpha, 0.0f); }

/* ---- clamp --------------------------------------------------------------------- */

static void clamp_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->clamp_backward(d, n->out->grad, n->in[0]->data, (size_t)tal_numel(n->out), n->f[0], n->f[1],
                                   acc);
}

tal_tensor *tal_clamp(tal_graph *g, tal_tensor *x, float lo, float hi)
{
    if (tal__bad(g, 1, x) || !(x = tal__contig(g, x)))
        return NULL;
    if (!(lo <= hi))
        return tal__fail(g, TAL_EINVAL, "clamp: lower bound %g above upper bound %g", lo, hi);
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    if (!o)
        return NULL;
    tal__be(g)->clamp_forward(o->data, x->data, (size_t)tal_numel(x), lo, hi);
    tal_node *n = tal__record(g, "clamp", clamp_backward, o, 1, &x);
    if (n) {
        n->f[0] = lo;
        n->f[1] = hi;
    }
    return o;
}

/* ---- dropout ---------------------------------------------------------------------- */

static void dropout_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    if (d)
        tal__be(g)->dropout_backward(d, n->out->grad, (size_t)tal_numel(n->out), n->f[0], n->key, n->ctr, acc);
}

tal_tensor *tal_dropout(tal_graph *g, tal_tensor *x, float p)
{
    if (tal__bad(g, 1, x))
        return NULL;
    if (!(p >= 0.0f && p < 1.0f))
        return tal__fail(g, TAL_EINVAL, "dropout: probability %g outside [0, 1)", p);
    if (!tal_graph_training(g) || p == 0.0f)
        return x;
    if (!(x = tal__contig(g, x)))
        return NULL;
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    if (!o)
        return NULL;
    /* in a data-parallel step (graph.h) a stream of its own for each
     * process, keyed by the global row of its first record */
    tal_rng r = tal__next_rng(g);
    if (tal_graph_row(g, 0) > 0)
        r = tal_graph_row_rng(g, &r, 0);
    tal__be(g)->dropout_forward(o->data, x->data, (size_t)tal_numel(x), p, r.key, 0);
    tal_node *n = tal__record(g, "dropout", dropout_backward, o, 1, &x);
    if (n) {
        n->f[0] = p;
        n->key[0] = r.key[0];
        n->key[1] = r.key[1];
        n->ctr = 0;
    }
    return o;
}

static void drop_path_backward(tal_graph *g, tal_node *n)
{
    int acc;
    float *d = tal__grad(g, n->in[0], &acc);
    int64_t B = n->out->shape[0], inner = tal_numel(n->out) / (B ? B : 1);
    if (d)
        tal__be(g)->rowscale(d, n->out->grad, n->save[0], B, inner, acc);
}

tal_tensor *tal_drop_path(tal_graph *g, tal_tensor *x, float p)
{
    if (tal__bad(g, 1, x))
        return NULL;
    if (!(p >= 0.0f && p < 1.0f))
        return tal__fail(g, TAL_EINVAL, "drop_path: probability %g outside [0, 1)", p);
    if (!tal_graph_training(g) || p == 0.0f)
        return x;
    if (x->ndim < 1)
        return tal__fail(g, TAL_EINVAL, "drop_path: needs a batch dimension");
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t B = x->shape[0], inner = tal_numel(x) / (B ? B : 1);
    tal_tensor *o = tal__out(g, x->ndim, x->shape);
    float *scale = tal__save(g, sizeof(float) * (size_t)(B ? B : 1));
    if (!o || !scale)
        return NULL;
    /* sample b is kept when u_b >= p, u_b uniform in [0,1) and drawn from
     * the stream of b's row in the global batch (graph.h: the same draws
     * however the batch is shared out among processes) */
    tal_rng r = tal__next_rng(g);
    float host[256];
    const tal_backend *be = tal__be(g);
    for (int64_t b0 = 0; b0 < B; b0 += 256) {
        int64_t m = B - b0 < 256 ? B - b0 : 256;
        for (int64_t b = 0; b < m; b++) {
            tal_rng rb = tal_graph_row_rng(g, &r, b0 + b);
            host[b] = tal_rng_float(&rb) >= p ? 1.0f / (1.0f - p) : 0.0f;
        }
        be->upload(scale + b0, host, sizeof(float) * (size_t)m);
    }
    be->rowscale(o->data, x->data, scale, B, inner, 0);
    tal_node *n = tal__record(g, "drop_path", drop_path_backward, o, 1, &x);
    if (n)
        n->save[0] = scale;
    return o;
}

tal_tensor *tal_layer_scale(tal_graph *g, tal_tensor *x, tal_tensor *scale)
{
    if (tal__bad(g, 2, x, scale))
        return NULL;
    int64_t C = tal_numel(scale);
    if (x->ndim != 3 || x->shape[1] != C) {
        char a[96], b[96];
        return tal__fail(g, TAL_EINVAL, "layer_scale: input %s and scale %s do not match", tal_shape_str(x, a, sizeof a),
                         tal_shape_str(scale, b, sizeof b));
    }
    tal_tensor *s = scale;
    if (!(scale->ndim == 3 && scale->shape[0] == 1 && scale->shape[2] == 1))
        s = tal_reshape(g, scale, 3, (int64_t[]){ 1, C, 1 });
    return tal_mul(g, x, s);
}
