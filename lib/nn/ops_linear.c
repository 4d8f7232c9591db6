/* ops_linear.c — matrix products through the backend's sgemm. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

/* ---- linear: x (N,Cin) @ w (Cout,Cin)^T + b ------------------------------- */

static void linear_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    tal_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    int N = (int)n->i[0], Cin = (int)n->i[1], Cout = (int)n->i[2];
    const float *dout = n->out->grad;   // dout is (N,Cout)
    int acc;
    float *d;
    if ((d = tal__grad(g, x, &acc)))    // dx (N,Cin) (+)= dout @ w
        be->sgemm(0, 0, N, Cin, Cout, 1.0f, dout, Cout, w->data, Cin, acc ? 1.0f : 0.0f, d, Cin);
    if ((d = tal__grad(g, w, &acc)))    // dw (Cout,Cin) (+)= dout^T @ x
        be->sgemm(1, 0, Cout, Cin, N, 1.0f, dout, Cout, x->data, Cin, acc ? 1.0f : 0.0f, d, Cin);
    if (b && (d = tal__grad(g, b, &acc))) {   // db (Cout) (+)= sum over rows
        int64_t dsh[4] = { 1, 1, 1, Cout }, osh[4] = { 1, 1, N, Cout }, z[4] = { 0, 0, 0, 0 };
        be->broadcast_reduce(d, dsh, dout, osh, NULL, z, 1.0f, acc);
    }
}

tal_tensor *tal_linear(tal_graph *g, tal_tensor *x, tal_tensor *w, tal_tensor *b)
{
    if (tal__bad(g, 2, x, w))
        return NULL;
    char s1[96], s2[96];
    if (x->ndim < 1 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1] ||
        (b && tal_numel(b) != w->shape[0]))
        return tal__fail(g, TAL_EINVAL, "linear: input %s and weight %s do not match", tal_shape_str(x, s1, sizeof s1),
                         tal_shape_str(w, s2, sizeof s2));
    if (!(x = tal__contig(g, x)) || !(w = tal__contig(g, w)) || (b && !(b = tal__contig(g, b))))
        return NULL;
    int64_t Cin = w->shape[1], Cout = w->shape[0], N = Cin ? tal_numel(x) / Cin : 0;
    if (N > INT32_MAX || Cin > INT32_MAX || Cout > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "linear: too large");
    int64_t shape[TAL_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[d];
    shape[x->ndim - 1] = Cout;
    tal_tensor *o = tal__out(g, x->ndim, shape);
    if (!o)
        return NULL;
    const tal_backend *be = tal__be(g);
    be->sgemm(0, 1, (int)N, (int)Cout, (int)Cin, 1.0f, x->data, (int)Cin, w->data, (int)Cin, 0.0f, o->data,
              (int)Cout);
    if (b) {
        int64_t sh[4] = { 1, 1, N, Cout }, ost[4] = { 0, 0, Cout, 1 }, bst[4] = { 0, 0, 0, 1 };
        be->binary_forward(o->data, o->data, b->data, sh, ost, bst, TAL_BIN_ADD);
    }
    tal_tensor *in[3] = { x, w, b };
    tal_node *n = tal__record(g, "linear", linear_backward, o, b ? 3 : 2, in);
    if (n) {
        n->i[0] = N;
        n->i[1] = Cin;
        n->i[2] = Cout;
    }
    return o;
}

/* ---- matmul: op(a) @ op(b), optionally batched ------------------------------- */

static void matmul_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    tal_tensor *a = n->in[0], *b = n->in[1];
    int ta = (int)n->i[0], tb = (int)n->i[1], M = (int)n->i[2], N = (int)n->i[3], K = (int)n->i[4];
    int64_t nb = n->i[5];
    int lda = ta ? M : K, ldb = tb ? K : N;
    int acc;
    float *d;
    if ((d = tal__grad(g, a, &acc))) {
        float beta = acc ? 1.0f : 0.0f;
        for (int64_t i = 0; i < nb; i++) {
            const float *dc = n->out->grad + i * M * N, *B = b->data + i * (int64_t)K * N;
            float *da = d + i * (int64_t)M * K;
            if (!ta)   // dA (M,K) = dC @ op(B)^T
                be->sgemm(0, !tb, M, K, N, 1.0f, dc, N, B, ldb, beta, da, lda);
            else       // dA (K,M) = op(B) @ dC^T
                be->sgemm(tb, 1, K, M, N, 1.0f, B, ldb, dc, N, beta, da, lda);
        }
    }
    if ((d = tal__grad(g, b, &acc))) {
        float beta = acc ? 1.0f : 0.0f;
        for (int64_t i = 0; i < nb; i++) {
            const float *dc = n->out->grad + i * M * N, *A = a->data + i * (int64_t)M * K;
            float *db = d + i * (int64_t)K * N;
            if (!tb)   // dB (K,N) = op(A)^T @ dC
                be->sgemm(!ta, 0, K, N, M, 1.0f, A, lda, dc, N, beta, db, ldb);
            else       // dB (N,K) = dC^T @ op(A)
                be->sgemm(1, ta, N, K, M, 1.0f, dc, N, A, lda, beta, db, ldb);
        }
    }
}

tal_tensor *tal_matmul(tal_graph *g, tal_tensor *a, tal_tensor *b, int ta, int tb)
{
    if (tal__bad(g, 2, a, b))
        return NULL;
    char s1[96], s2[96];
    int batched = a->ndim == 3;
    if (a->ndim != b->ndim || (a->ndim != 2 && a->ndim != 3) || (batched && a->shape[0] != b->shape[0]))
        goto mismatch;
    int64_t M = a->shape[a->ndim - (ta ? 1 : 2)], K = a->shape[a->ndim - (ta ? 2 : 1)];
    int64_t K2 = b->shape[b->ndim - (tb ? 1 : 2)], N = b->shape[b->ndim - (tb ? 2 : 1)];
    if (K != K2)
        goto mismatch;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX)
        return tal__fail(g, TAL_EINVAL, "matmul: too large");
    if (!(a = tal__contig(g, a)) || !(b = tal__contig(g, b)))
        return NULL;
    int64_t nb = batched ? a->shape[0] : 1;
    int64_t shape[3] = { nb, M, N };
    tal_tensor *o = tal__out(g, a->ndim, batched ? shape : shape + 1);
    if (!o)
        return NULL;
    const tal_backend *be = tal__be(g);
    for (int64_t i = 0; i < nb; i++)
        be->sgemm(ta, tb, (int)M, (int)N, (int)K, 1.0f, a->data + i * M * K, ta ? (int)M : (int)K,
                  b->data + i * K * N, tb ? (int)K : (int)N, 0.0f, o->data + i * M * N, (int)N);
    tal_tensor *in[2] = { a, b };
    tal_node *n = tal__record(g, "matmul", matmul_backward, o, 2, in);
    if (n) {
        n->i[0] = ta;
        n->i[1] = tb;
        n->i[2] = M;
        n->i[3] = N;
        n->i[4] = K;
        n->i[5] = nb;
    }
    return o;
mismatch:
    return tal__fail(g, TAL_EINVAL, "matmul: shapes %s%s and %s%s do not multiply", tal_shape_str(a, s1, sizeof s1),
                     ta ? "^T" : "", tal_shape_str(b, s2, sizeof s2), tb ? "^T" : "");
}
