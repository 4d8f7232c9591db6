/* ops_attn.c — multi-head attention, banded (local) or global. */
#include "nn/graph_impl.h"
#include "nn/ops.h"

#include <math.h>

static void attn_backward(tal_graph *g, tal_node *n)
{
    const tal_backend *be = tal__be(g);
    tal_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2], *mask = n->in[3];
    const float *md = mask ? mask->data : NULL;
    int B = (int)n->i[0], H = (int)n->i[1], D = (int)n->i[2], T = (int)n->i[3], w = (int)n->i[4];
    float scale = n->f[0];
    size_t ne = (size_t)B * H * D * T;
    float *ws = NULL, *tmp = NULL;
    size_t wsn = tal_attn_ws(0, B, H, D, T, w);
    if (wsn && !(ws = tal__scratch(g, wsn)))
        return;
    if (q != k && k != v && q != v) {
        int aq = 0, ak = 0, av = 0;
        float *dq = tal__grad(g, q, &aq), *dk = tal__grad(g, k, &ak), *dv = tal__grad(g, v, &av);
        be->attn_backward(dq, dk, dv, n->out->grad, q->data, k->data, v->data, n->save[0], md, B, H, D, T, w, scale, aq,
                          ak, av, ws);
    } else if ((tmp = tal__scratch(g, 3 * ne))) {
        /* the same tensor in two roles: gradients apart, then added */
        tal_tensor *t[3] = { q, k, v };
        int need[3];
        for (int r = 0; r < 3; r++)
            need[r] = tal__needs_grad(t[r]);
        be->attn_backward(need[0] ? tmp : NULL, need[1] ? tmp + ne : NULL, need[2] ? tmp + 2 * ne : NULL,
                          n->out->grad, q->data, k->data, v->data, n->save[0], md, B, H, D, T, w, scale, 0, 0, 0, ws);
        for (int r = 0; r < 3; r++) {
            int acc;
            float *d = tal__grad(g, t[r], &acc);
            if (d)
                be->axpy(d, tmp + r * ne, 1.0f, ne, acc);
        }
    }
    tal__scratch_free(g, tmp);
    tal__scratch_free(g, ws);
}

tal_tensor *tal_attention(tal_graph *g, tal_tensor *q, tal_tensor *k, tal_tensor *v, tal_tensor *mask, int heads,
                          int window)
{
    if (tal__bad(g, 3, q, k, v))
        return NULL;
    char s1[96], s2[96];
    if (q->ndim != 3 || !tal_same_shape(q, k) || !tal_same_shape(q, v) || heads < 1 || q->shape[1] % heads)
        return tal__fail(g, TAL_EINVAL, "attention: q %s, k %s and %d heads do not match",
                         tal_shape_str(q, s1, sizeof s1), tal_shape_str(k, s2, sizeof s2), heads);
    int64_t B = q->shape[0], C = q->shape[1], T = q->shape[2], D = C / heads;
    int w = window >= 2 ? window / 2 : -1;
    if (w > 127)
        return tal__fail(g, TAL_EINVAL, "attention: window %d too wide (at most 255)", window);
    if (mask && (mask->ndim != 2 || mask->shape[0] != B || mask->shape[1] != T))
        return tal__fail(g, TAL_EINVAL, "attention: mask %s for input %s", tal_shape_str(mask, s1, sizeof s1),
                         tal_shape_str(q, s2, sizeof s2));
    int64_t np = w >= 0 ? B * heads * (2 * w + 1) * T : B * heads * T * T;
    if (B * C * T > INT32_MAX || np > ((int64_t)1 << 34))
        return tal__fail(g, TAL_EINVAL, "attention: too large");
    if (!(q = tal__contig(g, q)) || !(k = tal__contig(g, k)) || !(v = tal__contig(g, v)) ||
        (mask && !(mask = tal__contig(g, mask))))
        return NULL;
    tal_tensor *o = tal__out(g, 3, q->shape);
    float *prob = tal__save(g, sizeof(float) * (size_t)np);
    if (!o || !prob)
        return NULL;
    float scale = 1.0f / sqrtf((float)D);
    tal__be(g)->attn_forward(o->data, prob, q->data, k->data, v->data, mask ? mask->data : NULL, (int)B, heads, (int)D,
                             (int)T, w, scale, NULL);
    tal_tensor *in[4] = { q, k, v, mask };
    tal_node *n = tal__record(g, "attention", attn_backward, o, 4, in);
    if (n) {
        int64_t a[5] = { B, heads, D, T, w };
        for (int j = 0; j < 5; j++)
            n->i[j] = a[j];
        n->f[0] = scale;
        n->save[0] = prob;
    }
    return o;
}
