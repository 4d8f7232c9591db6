/* ops_shape.c — views (slice, transpose, reshape), concatenation,
 * contiguous copies.
 *
 * A view shares its base's memory.  Its gradient is its own contiguous
 * buffer, added into the base's gradient at the view's positions by the
 * view's backward.  Views are made of contiguous bases only (a strided base
 * is copied first), so a view's strides into the base's memory are also its
 * strides into the base's gradient. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

#include <string.h>

static int norm_dim(tal_graph *g, const char *op, const tal_tensor *x, int dim)
{
    int d = dim < 0 ? dim + x->ndim : dim;
    if (d < 0 || d >= x->ndim) {
        tal__fail(g, TAL_EINVAL, "%s: dimension %d out of range for %d dimensions", op, dim, x->ndim);
        return -1;
    }
    return d;
}

static void view_backward(tal_graph *g, tal_node *n)
{
    tal_tensor *base = n->in[0], *v = n->out;
    int acc;
    float *d = tal__grad(g, base, &acc);
    if (!d)
        return;
    const tal_backend *be = tal__be(g);
    int64_t sh[4], st[4];
    tal_shape4(v, sh, st);
    for (int k = 0; k < 4; k++)
        st[k] = n->i[k];
    if (!acc && !n->i[5]) {
        be->zero(d, (size_t)tal_numel(base));
        acc = 1;
    }
    be->strided_store(d + n->i[4], st, v->grad, sh, acc);
}

/* a view of contiguous `base`; covers_all: every element of base appears */
static tal_tensor *make_view(tal_graph *g, const char *op, tal_tensor *base, int ndim, const int64_t *shape,
                             const int64_t *stride, int64_t offset, int covers_all)
{
    tal_tensor *v = tal__view(g, base, ndim, shape, stride, offset);
    if (!v)
        return NULL;
    tal_node *n = tal__record(g, op, view_backward, v, 1, &base);
    if (n) {
        int64_t sh[4], st[4];
        tal_shape4(v, sh, st);
        for (int k = 0; k < 4; k++)
            n->i[k] = st[k];
        n->i[4] = offset;
        n->i[5] = covers_all;
    }
    return v;
}

tal_tensor *tal_slice(tal_graph *g, tal_tensor *x, int dim, int64_t start, int64_t end)
{
    if (tal__bad(g, 1, x))
        return NULL;
    int d = norm_dim(g, "slice", x, dim);
    if (d < 0)
        return NULL;
    if (start < 0 || end > x->shape[d] || start > end)
        return tal__fail(g, TAL_EINVAL, "slice: range [%lld, %lld) outside dimension %d of size %lld",
                         (long long)start, (long long)end, d, (long long)x->shape[d]);
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t shape[TAL_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[d] = end - start;
    return make_view(g, "slice", x, x->ndim, shape, x->stride, start * x->stride[d], end - start == x->shape[d]);
}

tal_tensor *tal_transpose(tal_graph *g, tal_tensor *x, int d0, int d1)
{
    if (tal__bad(g, 1, x))
        return NULL;
    int a = norm_dim(g, "transpose", x, d0), b = norm_dim(g, "transpose", x, d1);
    if (a < 0 || b < 0)
        return NULL;
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t shape[TAL_MAX_DIMS], stride[TAL_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    memcpy(stride, x->stride, sizeof stride);
    shape[a] = x->shape[b];
    shape[b] = x->shape[a];
    stride[a] = x->stride[b];
    stride[b] = x->stride[a];
    return make_view(g, "transpose", x, x->ndim, shape, stride, 0, 1);
}

tal_tensor *tal_reshape(tal_graph *g, tal_tensor *x, int ndim, const int64_t *shape)
{
    if (tal__bad(g, 1, x))
        return NULL;
    if (ndim < 0 || ndim > TAL_MAX_DIMS)
        return tal__fail(g, TAL_EINVAL, "reshape: %d dimensions (at most %d)", ndim, TAL_MAX_DIMS);
    int64_t sh[TAL_MAX_DIMS], known = 1, n = tal_numel(x);
    int free_dim = -1;
    for (int d = 0; d < ndim; d++) {
        sh[d] = shape[d];
        if (shape[d] == -1 && free_dim < 0)
            free_dim = d;
        else if (shape[d] < 0)
            return tal__fail(g, TAL_EINVAL, "reshape: bad size %lld", (long long)shape[d]);
        else
            known *= shape[d];
    }
    if (free_dim >= 0) {
        if (known == 0 || n % known)
            goto mismatch;
        sh[free_dim] = n / known;
        known = n;
    }
    if (known != n)
        goto mismatch;
    if (!(x = tal__contig(g, x)))
        return NULL;
    int64_t st[TAL_MAX_DIMS];
    tal_strides(ndim, sh, st);
    return make_view(g, "reshape", x, ndim, sh, st, 0, 1);
mismatch:;
    char b[96];
    return tal__fail(g, TAL_EINVAL, "reshape: cannot view %s (%lld elements) as %d dimensions",
                     tal_shape_str(x, b, sizeof b), (long long)n, ndim);
}

tal_tensor *tal_contiguous(tal_graph *g, tal_tensor *x)
{
    if (tal__bad(g, 1, x))
        return NULL;
    return tal__contig(g, x);
}

/* ---- concat --------------------------------------------------------------- */

static void concat_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    tal_tensor **xs = n->inv ? n->inv : n->in;
    int64_t rows = n->i[0], inner = n->i[1], total = n->i[2], off = 0;
    int dim = (int)n->i[3];
    for (int k = 0; k < n->nin; k++) {
        int64_t cols = xs[k]->shape[dim] * inner;
        int acc;
        float *d = tal__grad(g, xs[k], &acc);
        if (d)
            be->copy2d(d, cols, n->out->grad + off, total * inner, rows, cols, acc);
        off += cols;
    }
}

tal_tensor *tal_concat(tal_graph *g, int n, tal_tensor **xs, int dim)
{
    if (g && tal_graph_status(g))
        return NULL;
    if (n < 1 || !xs)
        return tal__fail(g, TAL_EINVAL, "concat: no inputs");
    for (int k = 0; k < n; k++)
        if (tal__bad(g, 1, xs[k]))
            return NULL;
    int d = norm_dim(g, "concat", xs[0], dim);
    if (d < 0)
        return NULL;
    int64_t shape[TAL_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[d] = 0;
    tal_tensor **cx = tal__host(g, sizeof(tal_tensor *) * (size_t)n);
    if (!cx)
        return NULL;
    for (int k = 0; k < n; k++) {
        const tal_tensor *x = xs[k];
        int ok = x->ndim == xs[0]->ndim;
        for (int j = 0; ok && j < x->ndim; j++)
            ok = j == d || x->shape[j] == xs[0]->shape[j];
        if (!ok) {
            char a[96], b[96];
            return tal__fail(g, TAL_EINVAL, "concat: %s does not match %s outside dimension %d",
                             tal_shape_str(x, a, sizeof a), tal_shape_str(xs[0], b, sizeof b), d);
        }
        shape[d] += x->shape[d];
        if (!(cx[k] = tal__contig(g, xs[k])))
            return NULL;
    }
    tal_tensor *o = tal__out(g, xs[0]->ndim, shape);
    if (!o)
        return NULL;
    int64_t rows = 1, inner = 1;
    for (int j = 0; j < d; j++)
        rows *= shape[j];
    for (int j = d + 1; j < o->ndim; j++)
        inner *= shape[j];
    const tal_backend *be = tal__be(g);
    int64_t off = 0;
    for (int k = 0; k < n; k++) {
        int64_t cols = cx[k]->shape[d] * inner;
        be->copy2d(o->data + off, shape[d] * inner, cx[k]->data, cols, rows, cols, 0);
        off += cols;
    }
    tal_node *nd = tal__record(g, "concat", concat_backward, o, n, cx);
    if (nd) {
        nd->i[0] = rows;
        nd->i[1] = inner;
        nd->i[2] = shape[d];
        nd->i[3] = d;
    }
    return o;
}
