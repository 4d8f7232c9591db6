/* test_nn_grad.c — finite-difference gradient checks of every op on random
 * shapes (three draws per variant, the third as op(x) + op(x) so that every
 * backward kernel's accumulating path runs too), with masks, strides,
 * transposed views, broadcasting and aliasing; and planted backward bugs
 * that the same check must catch. */
#include "harness.h"
#include "gradcheck.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- building cases ------------------------------------------------------ */

static int rnd(tal_rng *r, int lo, int hi) { return lo + (int)tal_rng_below(r, (uint32_t)(hi - lo + 1)); }


typedef gc_build_fn builder;

/* run every variant of a builder on three random draws; "" or a failure */
static const char *run_cases(const tal_backend *be, builder b, int *ncases)
{
    static char msg[512];
    msg[0] = 0;
    for (int v = 0;; v++) {
        for (int s = 0; s < 3; s++) {
            gc_case c;
            memset(&c, 0, sizeof c);
            tal_rng r;
            tal_rng_seed(&r, (uint64_t)(v * 131 + s * 7 + 1));
            if (b(&c, v, &r))
                return msg;
            c.twice = s == 2;
            gc_result res;
            int rc = gradcheck(be, &c, (uint64_t)(1000 + v * 10 + s), &res);
            (*ncases)++;
            if (rc) {
                snprintf(msg, sizeof msg, "%s (variant %d, draw %d): %s", c.name, v, s, res.why);
                return msg;
            }
        }
    }
}

#define RUN_BUILDER(b)                                                  \
    do {                                                                \
        int n_ = 0;                                                     \
        const char *m_ = run_cases(NULL, b, &n_);                       \
        CHECK_MSG(!m_[0], "%s", m_);                                    \
        CHECK(n_ >= 3);                                                 \
    } while (0)

/* ---- linear, matmul -------------------------------------------------------- */

static tal_tensor *f_linear(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_linear(g, in[0], in[1], c->ia[0] ? in[2] : NULL);
}

static int b_linear(gc_case *c, int v, tal_rng *r)
{
    if (v > 2)
        return 1;
    int N = rnd(r, 1, 9), Cin = rnd(r, 1, 12), Cout = rnd(r, 1, 10);
    snprintf(c->name, sizeof c->name, "linear v%d", v);
    c->fn = f_linear;
    c->ia[0] = v != 1;
    if (v == 1)
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(2, N, Cin));
    else
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(N, Cin));
    c->transpose[0] = v == 2;
    gc_in(c, 1, GC_NORMAL, 1, GC_SH(Cout, Cin));
    gc_in(c, 2, GC_NORMAL, 1, GC_SH(Cout));
    return 0;
}

static tal_tensor *f_matmul(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_matmul(g, in[0], in[1], c->ia[0], c->ia[1]);
}

static int b_matmul(gc_case *c, int v, tal_rng *r)
{
    if (v > 7)
        return 1;
    int ta = v & 1, tb = (v >> 1) & 1, bat = v >> 2;
    int M = rnd(r, 1, 8), N = rnd(r, 1, 8), K = rnd(r, 1, 8), B = rnd(r, 1, 3);
    snprintf(c->name, sizeof c->name, "matmul ta=%d tb=%d batched=%d", ta, tb, bat);
    c->fn = f_matmul;
    c->ia[0] = ta;
    c->ia[1] = tb;
    int64_t as[3] = { B, ta ? K : M, ta ? M : K }, bs[3] = { B, tb ? N : K, tb ? K : N };
    gc_in(c, 0, GC_NORMAL, 1, bat ? 3 : 2, bat ? as : as + 1);
    gc_in(c, 1, GC_NORMAL, 1, bat ? 3 : 2, bat ? bs : bs + 1);
    return 0;
}

TEST(nn_grad_linear) { RUN_BUILDER(b_linear); }
TEST(nn_grad_matmul) { RUN_BUILDER(b_matmul); }

/* ---- convolution ---------------------------------------------------------- */

static tal_tensor *f_conv(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_conv1d(g, in[0], in[1], c->ia[3] ? in[2] : NULL, c->ia[0], c->ia[1], c->ia[2],
                      c->ia[4] ? in[3] : NULL);
}

static int b_conv(gc_case *c, int v, tal_rng *r)
{
    /* K, stride, pad, kind (0 dense, 1 grouped by 2, 2 depthwise), bias, mask, transposed input */
    static const int V[][7] = {
        { 3, 1, 1, 0, 1, 1, 0 }, { 3, 2, 1, 0, 0, 1, 0 }, { 1, 1, 0, 0, 1, 0, 0 }, { 5, 1, 2, 0, 1, 1, 1 },
        { 3, 1, 1, 1, 1, 1, 0 }, { 3, 1, 1, 2, 0, 1, 0 }, { 3, 2, 1, 2, 0, 1, 0 }, { 3, 1, 0, 0, 1, 0, 0 },
        { 5, 2, 2, 2, 1, 0, 0 }, { 4, 3, 1, 0, 1, 1, 0 }, { 3, 2, 1, 1, 1, 0, 1 }, { 3, 1, 1, 0, 1, 2, 0 },
        { 1, 1, 0, 0, 1, 2, 0 }, { 3, 1, 1, 0, 1, 3, 0 }, { 3, 1, 1, 2, 1, 3, 0 },
    };
    if (v >= (int)(sizeof V / sizeof V[0]))
        return 1;
    int K = V[v][0], S = V[v][1], P = V[v][2], kind = V[v][3];
    int B = rnd(r, V[v][5] == 2 ? 2 : 1, 3), T = rnd(r, K, 14);   /* mask 2: the last sequence all padding */
    int Cin = rnd(r, 1, 6), Cout = rnd(r, 1, 6), groups = 1;
    if (kind == 1) {
        groups = 2;
        Cin *= 2;
        Cout *= 2;
    } else if (kind == 2) {
        Cout = Cin;
        groups = Cin;
    }
    int Tout = (T + 2 * P - K) / S + 1;
    snprintf(c->name, sizeof c->name, "conv1d K=%d stride=%d pad=%d groups=%d bias=%d mask=%d transposed=%d", K, S, P,
             groups, V[v][4], V[v][5], V[v][6]);
    c->fn = f_conv;
    c->ia[0] = S;
    c->ia[1] = P;
    c->ia[2] = groups;
    c->ia[3] = V[v][4];
    c->ia[4] = V[v][5];
    gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, Cin, T));
    c->transpose[0] = V[v][6];
    gc_in(c, 1, GC_NORMAL, 1, GC_SH(Cout, Cin / groups, K));
    gc_in(c, 2, GC_NORMAL, V[v][4], GC_SH(Cout));
    /* mask 2: the last sequence all padding; 3: holes anywhere */
    gc_in(c, 3, V[v][5] == 2 ? GC_MASK0 : V[v][5] == 3 ? GC_BINARY : GC_MASK, 0, GC_SH(B, Tout));
    return 0;
}

TEST(nn_grad_conv1d) { RUN_BUILDER(b_conv); }

/* ---- LayerNorm ---------------------------------------------------------------- */

static tal_tensor *f_ln(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_layernorm(g, in[0], c->ia[0] ? in[1] : NULL, c->ia[0] ? in[2] : NULL, 1e-5f);
}

static int b_ln(gc_case *c, int v, tal_rng *r)
{
    if (v > 3)
        return 1;
    int B = rnd(r, 1, 3), C = rnd(r, 3, 9), T = rnd(r, 1, 12);
    snprintf(c->name, sizeof c->name, "layernorm v%d", v);
    c->fn = f_ln;
    c->ia[0] = v != 2;
    if (v == 1)
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(B * T, C));
    else
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T));
    c->transpose[0] = v == 3;
    gc_in(c, 1, GC_NORMAL, c->ia[0], GC_SH(C));
    gc_in(c, 2, GC_NORMAL, c->ia[0], GC_SH(C));
    return 0;
}

TEST(nn_grad_layernorm) { RUN_BUILDER(b_ln); }

static tal_tensor *f_lnact(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_layernorm_act(g, in[0], c->ia[0] ? in[1] : NULL, c->ia[0] ? in[2] : NULL, 1e-5f, c->ia[1]);
}

/* ReLU: |x_hat| <= sqrt(C-1) < 3, so weights of at most 0.2 and biases of
 * at least 0.8 in size keep every LayerNorm output 0.2 away from the kink */
static void fix_lnact(float **x, const gc_case *c)
{
    if (c->ia[1] != TAL_ACT_RELU || !c->ia[0])
        return;
    for (int64_t i = 0; i < c->shape[1][0]; i++) {
        float w = 0.1f * x[1][i];
        x[1][i] = w > 0.2f ? 0.2f : w < -0.2f ? -0.2f : w;
        x[2][i] = x[2][i] < 0 ? x[2][i] - 0.8f : x[2][i] + 0.8f;
    }
}

/* relu, gelu, sigmoid with affine parameters; gelu, sigmoid without
 * (ReLU right after a bare LayerNorm has outputs at its kink); relu on (N,C) */
static int b_lnact(gc_case *c, int v, tal_rng *r)
{
    if (v > 5)
        return 1;
    static const int acts[6] = { TAL_ACT_RELU, TAL_ACT_GELU, TAL_ACT_SIGMOID, TAL_ACT_GELU, TAL_ACT_SIGMOID,
                                 TAL_ACT_RELU };
    int act = acts[v], affine = v < 3 || v == 5;
    int B = rnd(r, 1, 3), C = rnd(r, 3, 9), T = rnd(r, 1, 12);
    snprintf(c->name, sizeof c->name, "layernorm_act %s affine=%d%s",
             act == TAL_ACT_RELU ? "relu" : act == TAL_ACT_GELU ? "gelu" : "sigmoid", affine, v == 5 ? " (N,C)" : "");
    c->fn = f_lnact;
    c->ia[0] = affine;
    c->ia[1] = act;
    if (v == 5)
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(B * T, C));
    else
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T));
    gc_in(c, 1, GC_NORMAL, affine, GC_SH(C));
    gc_in(c, 2, GC_NORMAL, affine, GC_SH(C));
    c->fix = fix_lnact;
    return 0;
}

TEST(nn_grad_layernorm_act) { RUN_BUILDER(b_lnact); }

/* ---- activations, softmax ----------------------------------------------------- */

static tal_tensor *f_act(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    switch (c->ia[0]) {
    case 0: return tal_relu(g, in[0]);
    case 1: return tal_gelu(g, in[0]);
    case 2: return tal_sigmoid(g, in[0]);
    case 3: return tal_abs(g, in[0]);
    case 4: return tal_reciprocal(g, in[0]);
    case 5: return tal_rsqrt(g, in[0]);
    case 6: return tal_softsign_gate(g, in[0]);
    default: return tal_step_st(g, in[0]);
    }
}

/* relu, gelu, sigmoid, abs, reciprocal, rsqrt, softsign gate: inputs away
 * from kinks (relu, abs) and positive where the function needs it */
static int b_act(gc_case *c, int v, tal_rng *r)
{
    static const char *names[] = { "relu", "gelu", "sigmoid", "abs", "reciprocal", "rsqrt", "softsign_gate" };
    static const int kinds[] = { GC_AWAY0, GC_NORMAL, GC_NORMAL, GC_AWAY0, GC_POS, GC_POS, GC_NORMAL };
    if (v > 6)
        return 1;
    snprintf(c->name, sizeof c->name, "%s", names[v]);
    c->fn = f_act;
    c->ia[0] = v;
    gc_in(c, 0, kinds[v], 1, GC_SH(rnd(r, 1, 3), rnd(r, 1, 6), rnd(r, 1, 9)));
    return 0;
}

/* the straight-through step: its gradient is a surrogate, not the
 * derivative, so it is not a finite-difference case (test_nn_elementwise.c
 * checks it directly); the CUDA parity suite runs it from here */
static int b_step(gc_case *c, int v, tal_rng *r)
{
    if (v > 0)
        return 1;
    snprintf(c->name, sizeof c->name, "step_st");
    c->fn = f_act;
    c->ia[0] = 7;
    gc_in(c, 0, GC_AWAY0, 1, GC_SH(rnd(r, 1, 3), rnd(r, 1, 6), rnd(r, 1, 9)));
    return 0;
}

static tal_tensor *f_softmax(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    tal_tensor *m = c->ia[2] ? in[1] : NULL;
    return c->ia[1] ? tal_log_softmax(g, in[0], c->ia[0], m) : tal_softmax(g, in[0], c->ia[0], m);
}

static int b_softmax(gc_case *c, int v, tal_rng *r)
{
    if (v > 11)
        return 1;
    int dim = v % 3, log = (v / 3) % 2, masked = v / 6;
    int B = rnd(r, 1, 3), C = rnd(r, 1, 6), T = rnd(r, 1, 9);
    snprintf(c->name, sizeof c->name, "%s dim=%d mask=%d", log ? "log_softmax" : "softmax", dim, masked);
    c->fn = f_softmax;
    c->ia[0] = dim == 2 ? -1 : dim;
    c->ia[1] = log;
    c->ia[2] = masked;
    gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T));
    gc_in(c, 1, GC_MASK, 0, GC_SH(B, 1, T));   /* a (B,1,T) mask broadcast over C */
    return 0;
}

TEST(nn_grad_activations) { RUN_BUILDER(b_act); }
TEST(nn_grad_softmax) { RUN_BUILDER(b_softmax); }

/* ---- pooling, top-k, gather ---------------------------------------------------- */

static tal_tensor *f_maxpool(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_maxpool1d(g, in[0], c->ia[0], c->ia[1], c->ia[2]);
}

static int b_maxpool(gc_case *c, int v, tal_rng *r)
{
    static const int V[][3] = { { 3, 2, 1 }, { 2, 2, 0 }, { 3, 1, 1 }, { 5, 3, 2 } };
    if (v > 3)
        return 1;
    snprintf(c->name, sizeof c->name, "maxpool1d k=%d s=%d p=%d", V[v][0], V[v][1], V[v][2]);
    c->fn = f_maxpool;
    memcpy(c->ia, V[v], sizeof V[v]);
    gc_in(c, 0, GC_DISTINCT, 1, GC_SH(rnd(r, 1, 2), rnd(r, 1, 4), rnd(r, V[v][0], 13)));
    return 0;
}

static tal_tensor *f_topk(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_topk_mean(g, in[0], c->ia[0], c->ia[1] ? in[1] : NULL);
}

static int b_topk(gc_case *c, int v, tal_rng *r)
{
    if (v > 3)
        return 1;
    int B = rnd(r, 1, 3), C = rnd(r, 1, 4), T = rnd(r, 2, 12);
    int k = v % 2 == 0 ? 1 + T / 3 : T + 2;   /* k above T: all valid positions */
    snprintf(c->name, sizeof c->name, "topk_mean k=%d mask=%d", k, v / 2);
    c->fn = f_topk;
    c->ia[0] = k;
    c->ia[1] = v / 2;
    gc_in(c, 0, GC_DISTINCT, 1, GC_SH(B, C, T));
    gc_in(c, 1, GC_MASK, 0, GC_SH(B, T));
    return 0;
}

static tal_tensor *f_gather(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_gather(g, in[0], c->ia[0], c->idx, c->ia[1]);
}

static int b_gather(gc_case *c, int v, tal_rng *r)
{
    if (v > 2)
        return 1;
    int64_t sh[3] = { rnd(r, 1, 4), rnd(r, 1, 5), rnd(r, 1, 6) };
    int n = rnd(r, 1, 8);
    snprintf(c->name, sizeof c->name, "gather dim=%d n=%d", v, n);
    c->fn = f_gather;
    c->ia[0] = v;
    c->ia[1] = n;
    for (int j = 0; j < n; j++)   /* repeats included */
        c->idx[j] = (int32_t)tal_rng_below(r, (uint32_t)sh[v]);
    gc_in(c, 0, GC_NORMAL, 1, 3, sh);
    return 0;
}

TEST(nn_grad_maxpool) { RUN_BUILDER(b_maxpool); }
TEST(nn_grad_topk_mean) { RUN_BUILDER(b_topk); }
TEST(nn_grad_gather) { RUN_BUILDER(b_gather); }

/* ---- attention -------------------------------------------------------------------- */

static tal_tensor *f_attn(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_attention(g, in[0], in[1], in[2], c->ia[2] ? in[3] : NULL, c->ia[0], c->ia[1]);
}

static tal_tensor *f_self_attn(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_attention(g, in[0], in[0], in[0], in[1], c->ia[0], c->ia[1]);
}

static int b_attn(gc_case *c, int v, tal_rng *r)
{
    /* heads, window, mask */
    /* mask 3: the last sequence all padding */
    static const int V[][3] = { { 1, 3, 0 }, { 2, 5, 1 }, { 2, 19, 1 }, { 3, 7, 1 }, { 1, 0, 0 }, { 2, 1, 1 }, { 2, 5, 2 },
                                { 2, 0, 3 }, { 2, 5, 3 } };
    if (v > 8)
        return 1;
    int H = V[v][0], D = rnd(r, 1, 4), B = rnd(r, V[v][2] == 3 ? 2 : 1, 2), T = rnd(r, 2, 16);
    snprintf(c->name, sizeof c->name, "attention heads=%d window=%d mask=%d%s", H, V[v][1], V[v][2] != 0,
             V[v][2] == 2 ? " q=k=v" : "");
    c->fn = V[v][2] == 2 ? f_self_attn : f_attn;
    c->ia[0] = H;
    c->ia[1] = V[v][1];
    c->ia[2] = V[v][2];
    if (V[v][2] == 2) {
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, H * D, T));
        gc_in(c, 1, GC_MASK, 0, GC_SH(B, T));
        return 0;
    }
    for (int k = 0; k < 3; k++)
        gc_in(c, k, GC_NORMAL, 1, GC_SH(B, H * D, T));
    gc_in(c, 3, V[v][2] == 3 ? GC_MASK0 : GC_MASK, 0, GC_SH(B, T));
    return 0;
}

TEST(nn_grad_attention) { RUN_BUILDER(b_attn); }

/* ---- regularisers ------------------------------------------------------------------ */

static tal_tensor *f_reg(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    switch (c->ia[0]) {
    case 0: return tal_dropout(g, in[0], 0.3f);
    case 1: return tal_drop_path(g, in[0], 0.4f);
    case 2: return tal_layer_scale(g, in[0], in[1]);
    default: return tal_layer_scale(g, in[0], in[2]);
    }
}

static int b_reg(gc_case *c, int v, tal_rng *r)
{
    if (v > 3)
        return 1;
    static const char *names[] = { "dropout", "drop_path", "layer_scale (C)", "layer_scale (1,C,1)" };
    int B = rnd(r, 3, 5), C = rnd(r, 1, 5), T = rnd(r, 1, 8);
    snprintf(c->name, sizeof c->name, "%s", names[v]);
    c->fn = f_reg;
    c->ia[0] = v;
    c->training = 1;
    gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T));
    gc_in(c, 1, GC_NORMAL, v == 2, GC_SH(C));
    gc_in(c, 2, GC_NORMAL, v == 3, GC_SH(1, C, 1));
    return 0;
}

TEST(nn_grad_regularisers) { RUN_BUILDER(b_reg); }

/* ---- shapes ------------------------------------------------------------------------- */

static tal_tensor *f_shape(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    switch (c->ia[0]) {
    case 0: return tal_concat(g, 3, in, c->ia[1]);
    case 1: return tal_slice(g, in[0], c->ia[1], c->ia[2], c->ia[3]);
    case 2: return tal_reshape(g, in[0], 2, (int64_t[]){ -1, in[0]->shape[2] });
    case 3: return tal_contiguous(g, tal_transpose(g, in[0], 0, 2));
    case 4: /* a slice of a transposed view, then a reshape */
        return tal_reshape(g, tal_slice(g, tal_transpose(g, in[0], 1, 2), 1, c->ia[2], c->ia[3]), 1,
                           (int64_t[]){ -1 });
    default: /* two overlapping slices of one tensor, multiplied */
        return tal_mul(g, tal_slice(g, in[0], 2, 0, c->ia[3] - c->ia[2]), tal_slice(g, in[0], 2, c->ia[2], c->ia[3]));
    }
}

static int b_shape(gc_case *c, int v, tal_rng *r)
{
    if (v > 7)
        return 1;
    int64_t sh[3] = { rnd(r, 1, 3), rnd(r, 1, 4), rnd(r, 2, 6) };
    c->fn = f_shape;
    if (v < 3) {   /* concat along dim v, the middle input without gradient */
        snprintf(c->name, sizeof c->name, "concat dim=%d", v);
        c->ia[0] = 0;
        c->ia[1] = v;
        for (int k = 0; k < 3; k++) {
            int64_t s2[3] = { sh[0], sh[1], sh[2] };
            s2[v] = rnd(r, 1, 3);
            gc_in(c, k, GC_NORMAL, k != 1, 3, s2);
        }
        return 0;
    }
    int kind = v - 2;   /* 1..5 */
    c->ia[0] = kind;
    gc_in(c, 0, GC_NORMAL, 1, 3, sh);
    int dim = (int)tal_rng_below(r, 3);
    int len = kind == 4 ? (int)sh[2] : (int)sh[dim];
    if (kind == 5)
        len = (int)sh[2];
    int a = (int)tal_rng_below(r, (uint32_t)len), b = a + 1 + (int)tal_rng_below(r, (uint32_t)(len - a));
    c->ia[1] = dim;
    c->ia[2] = a;
    c->ia[3] = b;
    snprintf(c->name, sizeof c->name, "%s", kind == 1 ? "slice" : kind == 2 ? "reshape" :
             kind == 3 ? "transpose+contiguous" : kind == 4 ? "slice of transpose, reshape" : "overlapping slices");
    return 0;
}

TEST(nn_grad_shapes) { RUN_BUILDER(b_shape); }

/* ---- elementwise ----------------------------------------------------------------------- */

static tal_tensor *f_bin(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    tal_tensor *b = c->ia[1] == 5 ? in[0] : in[1];
    switch (c->ia[0]) {
    case 0: return tal_add(g, in[0], b);
    case 1: return tal_sub(g, in[0], b);
    default: return tal_mul(g, in[0], b);
    }
}

static int b_bin(gc_case *c, int v, tal_rng *r)
{
    if (v > 17)
        return 1;
    int op = v % 3, form = v / 3;
    int64_t B = rnd(r, 1, 3), C = rnd(r, 1, 4), T = rnd(r, 1, 6);
    static const char *ops[] = { "add", "sub", "mul" };
    static const char *forms[] = { "same shape", "b (1,C,1)", "b (B,1,T)", "b scalar", "(C,1) x (1,T)",
                                   "x with itself" };
    snprintf(c->name, sizeof c->name, "%s %s", ops[op], forms[form]);
    c->fn = f_bin;
    c->ia[0] = op;
    c->ia[1] = form;
    switch (form) {
    case 0: gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T)); gc_in(c, 1, GC_NORMAL, 1, GC_SH(B, C, T)); break;
    case 1: gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T)); gc_in(c, 1, GC_NORMAL, 1, GC_SH(1, C, 1)); break;
    case 2: gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T)); gc_in(c, 1, GC_NORMAL, 1, GC_SH(B, 1, T)); break;
    case 3: gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T)); gc_in(c, 1, GC_NORMAL, 1, GC_SH(1)); break;
    case 4: gc_in(c, 0, GC_NORMAL, 1, GC_SH(C, 1)); gc_in(c, 1, GC_NORMAL, 1, GC_SH(1, T)); break;
    default: gc_in(c, 0, GC_NORMAL, 1, GC_SH(B, C, T)); break;
    }
    c->transpose[0] = form == 0 && T > 1;
    return 0;
}

static tal_tensor *f_unary(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    switch (c->ia[0]) {
    case 0: return tal_affine(g, in[0], -1.7f, 0.3f);
    case 1: return tal_scale(g, in[0], 2.5f);
    case 2: return tal_clamp(g, in[0], -0.5125f, 0.7375f);
    default: return tal_clamp(g, in[0], -INFINITY, 0.1375f);
    }
}

static int b_unary(gc_case *c, int v, tal_rng *r)
{
    if (v > 3)
        return 1;
    snprintf(c->name, sizeof c->name, "%s", v == 0 ? "affine" : v == 1 ? "scale" : "clamp");
    c->fn = f_unary;
    c->h = 4e-3f;   /* the ladder's points are 0.0125 from the clamp bounds */
    c->ia[0] = v;
    gc_in(c, 0, v >= 2 ? GC_DISTINCT : GC_NORMAL, 1, GC_SH(rnd(r, 1, 3), rnd(r, 1, 5), rnd(r, 2, 8)));
    return 0;
}

TEST(nn_grad_broadcast) { RUN_BUILDER(b_bin); }
TEST(nn_grad_affine_clamp) { RUN_BUILDER(b_unary); }

/* ---- reductions, resampling ---------------------------------------------------------- */

static tal_tensor *f_reduce(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    int dim = c->ia[1], keep = c->ia[2];
    switch (c->ia[0]) {
    case 0: return dim < 3 ? tal_sum(g, in[0], dim, keep) : tal_sum_all(g, in[0]);
    case 1: return dim < 3 ? tal_mean(g, in[0], dim, keep) : tal_mean_all(g, in[0]);
    default: return dim < 3 ? tal_max(g, in[0], dim, keep) : tal_max_all(g, in[0]);
    }
}

static int b_reduce(gc_case *c, int v, tal_rng *r)
{
    if (v > 23)
        return 1;
    int op = v % 3, dim = (v / 3) % 4, keep = v / 12;
    static const char *ops[] = { "sum", "mean", "max" };
    snprintf(c->name, sizeof c->name, "%s dim=%d keepdim=%d", ops[op], dim == 3 ? -99 : dim, keep);
    c->fn = f_reduce;
    c->ia[0] = op;
    c->ia[1] = dim;
    c->ia[2] = keep;
    gc_in(c, 0, op == 2 ? GC_DISTINCT : GC_NORMAL, 1, GC_SH(rnd(r, 1, 3), rnd(r, 1, 5), rnd(r, 1, 7)));
    return 0;
}

static tal_tensor *f_resample(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_resample(g, in[0], c->ia[0], c->ia[1]);
}

static int b_resample(gc_case *c, int v, tal_rng *r)
{
    if (v > 5)
        return 1;
    int T = rnd(r, 2, 9), mode = v % 2, kind = v / 2;
    int Tout = kind == 0 ? 2 * T + rnd(r, 0, 3) : kind == 1 ? 1 + T / 2 : 2 * T;
    snprintf(c->name, sizeof c->name, "resample %s %d -> %d", mode ? "linear" : "nearest", T, Tout);
    c->fn = f_resample;
    c->ia[0] = Tout;
    c->ia[1] = mode;
    gc_in(c, 0, GC_NORMAL, 1, GC_SH(rnd(r, 1, 2), rnd(r, 1, 3), T));
    return 0;
}

TEST(nn_grad_reductions) { RUN_BUILDER(b_reduce); }
TEST(nn_grad_resample) { RUN_BUILDER(b_resample); }

/* ---- losses ---------------------------------------------------------------------- */

static tal_tensor *f_loss(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    switch (c->ia[0]) {
    case 0: return tal_bce_logits(g, in[0], in[1]);
    case 1: return tal_sigmoid_focal(g, in[0], in[1], 0.25f, 2.0f);
    case 2: return tal_sigmoid_focal(g, in[0], in[1], -1.0f, 1.5f);
    case 3: return tal_quality_focal(g, in[0], in[1], 2.0f);
    case 4: return tal_quality_focal(g, in[0], in[1], 1.5f);
    case 5: return tal_cross_entropy(g, in[0], c->idx);
    case 6: return tal_diou_1d(g, in[0], in[1]);
    case 7: return tal_softmax_pn(g, in[0], in[1], in[2]);
    case 8: return tal_softmax_pn(g, in[0], NULL, in[1]);
    default: return tal_softmax_pn(g, in[0], in[1], NULL);
    }
}

/* keep |y - sigmoid(x)| >= 0.05 (|.|^1.5 has a kink there) */
static void fix_qfl(float **x, const gc_case *c)
{
    int64_t n = c->shape[0][0] * c->shape[0][1];
    for (int64_t i = 0; i < n; i++) {
        float p = 1.0f / (1.0f + expf(-x[0][i]));
        if (fabsf(x[1][i] - p) < 0.05f)
            x[1][i] = p < 0.5f ? p + 0.1f : p - 0.1f;
    }
}

/* keep predictions and targets apart (min/max have kinks at ties) */
static void fix_diou(float **x, const gc_case *c)
{
    for (int64_t i = 0; i < 2 * c->shape[0][0]; i++)
        if (fabsf(x[0][i] - x[1][i]) < 0.05f)
            x[1][i] = x[0][i] + 0.1f;
}

/* one row in three gets a logit 12 above the rest: p near 1, where
 * log(1 - p) must be taken apart to stay exact */
static void fix_pn(float **x, const gc_case *c)
{
    int64_t K = c->shape[0][1];
    for (int64_t i = 0; i < c->shape[0][0]; i += 3)
        x[0][i * K + (i / 3) % K] += 12.0f;
}

static int b_loss(gc_case *c, int v, tal_rng *r)
{
    if (v > 9)
        return 1;
    static const char *names[] = { "bce_logits", "sigmoid_focal a=.25 g=2", "sigmoid_focal soft g=1.5",
                                   "quality_focal b=2", "quality_focal b=1.5", "cross_entropy", "diou_1d",
                                   "softmax_pn", "softmax_pn negative only", "softmax_pn positive only" };
    int N = rnd(r, 1, 8), K = rnd(r, 1, 6);
    snprintf(c->name, sizeof c->name, "%s", names[v]);
    c->fn = f_loss;
    c->ia[0] = v;
    if (v == 5) {
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(N, K));
        for (int i = 0; i < N; i++)
            c->idx[i] = i == N - 1 && N > 1 ? -1 : (int32_t)tal_rng_below(r, (uint32_t)K);
    } else if (v == 6) {
        gc_in(c, 0, GC_POS, 1, GC_SH(N, 2));
        gc_in(c, 1, GC_POS, 0, GC_SH(N, 2));
        c->fix = fix_diou;
    } else if (v >= 7) {
        K = rnd(r, 2, 7);
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(N, K));
        gc_in(c, 1, v == 8 ? GC_BINARY : GC_UNIT, 0, GC_SH(N, K));
        if (v == 7)
            gc_in(c, 2, GC_BINARY, 0, GC_SH(N, K));
        c->fix = fix_pn;
    } else {
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(N, K));
        gc_in(c, 1, v == 1 ? GC_BINARY : GC_UNIT, 0, GC_SH(N, K));
        if (v == 4)
            c->fix = fix_qfl;
    }
    return 0;
}

TEST(nn_grad_losses) { RUN_BUILDER(b_loss); }

/* ---- FS-PTAL's ops: focal BCE on probabilities, L2 normalisation ---------------- */

static tal_tensor *f_bcep(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return c->fa[1] ? tal_quality_focal_prob(g, in[0], in[1], c->fa[0]) : tal_bce_prob(g, in[0], in[1], c->fa[0]);
}

/* variants 0-3: focal weights; 4-7: quality focal weights (APL) */
static int b_bcep(gc_case *c, int v, tal_rng *r)
{
    static const float gammas[] = { 0.0f, 2.0f, 1.5f, 1.0f };
    if (v > 7)
        return 1;
    int quality = v >= 4;
    v %= 4;
    snprintf(c->name, sizeof c->name, "%s gamma=%g %s", quality ? "quality_focal_prob" : "bce_prob", gammas[v],
             v % 2 ? "binary" : "soft");
    c->fn = f_bcep;
    c->fa[0] = gammas[v];
    c->fa[1] = (float)quality;
    int64_t N = rnd(r, 1, 7), K = rnd(r, 1, 6);
    gc_in(c, 0, GC_UNIT, 1, GC_SH(N, K));
    gc_in(c, 1, v % 2 ? GC_BINARY : GC_UNIT, 0, GC_SH(N, K));
    c->h = 2e-3f;   /* p stays inside (0, 1) */
    return 0;
}

static tal_tensor *f_l2n(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_l2_normalize(g, in[0], c->fa[0]);
}

/* row 0 far below the floor eps (the linear part) */
static void fix_l2n_floor(float **x, const gc_case *c)
{
    int64_t C = c->shape[0][c->ndim[0] - 1];
    for (int64_t i = 0; i < C; i++)
        x[0][i] *= 0.01f;
}

static int b_l2n(gc_case *c, int v, tal_rng *r)
{
    if (v > 2)
        return 1;
    snprintf(c->name, sizeof c->name, "l2_normalize v%d", v);
    c->fn = f_l2n;
    c->fa[0] = v == 2 ? 0.5f : 1e-12f;
    if (v == 1)
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(rnd(r, 1, 3), rnd(r, 1, 4), rnd(r, 1, 40)));
    else
        gc_in(c, 0, GC_NORMAL, 1, GC_SH(rnd(r, 1, 6), rnd(r, 2, 70)));
    if (v == 2)
        c->fix = fix_l2n_floor;
    return 0;
}

/* ---- APL's supervised-contrastive InfoNCE (a composition of ops) --------------------- */

static tal_tensor *f_supcon(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_supcon(g, tal_l2_normalize(g, in[0], 1e-12f), c->idx, c->fa[0]);
}

/* v0: two labels; v1: four, one of them a singleton (an anchor without
 * positives); v2: a raw temperature of 1 and three labels */
static int b_supcon(gc_case *c, int v, tal_rng *r)
{
    if (v > 2)
        return 1;
    int64_t N = v == 1 ? 12 : rnd(r, 3, 9), E = rnd(r, 2, 7);
    snprintf(c->name, sizeof c->name, "supcon v%d %lldx%lld", v, (long long)N, (long long)E);
    c->fn = f_supcon;
    c->fa[0] = v == 2 ? 1.0f : 0.1f;
    for (int64_t i = 0; i < N; i++)
        c->idx[i] = v == 0 ? (int32_t)(i % 2) : v == 1 ? (i == 11 ? 3 : (int32_t)(i % 3)) : (int32_t)(i % 3);
    gc_in(c, 0, GC_NORMAL, 1, GC_SH(N, E));
    c->tol = 1e-2f;   /* a log-sum-exp over logits up to 1/tau in float32 (test_acp.c checks the gradient in double) */
    return 0;
}

TEST(nn_grad_supcon) { RUN_BUILDER(b_supcon); }
TEST(nn_grad_bce_prob) { RUN_BUILDER(b_bcep); }
TEST(nn_grad_l2_normalize) { RUN_BUILDER(b_l2n); }

/* ---- every builder, for the CUDA parity suite (test_cuda.c) ------------------------ */

const gc_builder gc_builders[] = {
    { "linear", b_linear },   { "matmul", b_matmul },       { "conv1d", b_conv },       { "layernorm", b_ln },
    { "layernorm_act", b_lnact }, { "activations", b_act }, { "softmax", b_softmax },   { "maxpool", b_maxpool },
    { "topk_mean", b_topk },  { "gather", b_gather },       { "attention", b_attn },    { "regularisers", b_reg },
    { "shapes", b_shape },    { "broadcast", b_bin },       { "affine_clamp", b_unary }, { "reductions", b_reduce },
    { "resample", b_resample }, { "losses", b_loss },       { "step_st", b_step },      { "bce_prob", b_bcep },
    { "l2_normalize", b_l2n },  { "supcon", b_supcon },     { NULL, NULL },
};

/* ---- planted bugs: the check must fail -------------------------------------------- */

static void (*real_ln_bwd)(float *, float *, float *, const float *, const float *, const float *, const float *,
                           const float *, int, int, int, int, int, int);

/* a 1% error in the input gradient */
static void bug_ln_scale(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, const float *mean, const float *rstd, int B, int C, int T, int ai,
                         int aw, int ab)
{
    real_ln_bwd(dinp, dweight, dbias, dout, inp, weight, mean, rstd, B, C, T, ai, aw, ab);
    if (dinp && !ai)
        for (int64_t i = 0; i < (int64_t)B * C * T; i++)
            dinp[i] *= 1.01f;
}

static void (*real_conv_bwd)(float *, float *, float *, const float *, const float *, const float *, const float *,
                             int, int, int, int, int, int, int, int, int, int, int, int, float *);

/* the last tap of the weight gradient forgotten */
static void bug_conv_tap(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp,
                         const float *weight, const float *mask, int B, int Cin, int Cout, int T, int Tout, int K,
                         int stride, int pad, int groups, int ai, int aw, int ab, float *ws)
{
    real_conv_bwd(dinp, dweight, dbias, dout, inp, weight, mask, B, Cin, Cout, T, Tout, K, stride, pad, groups, ai, aw,
                  ab, ws);
    if (dweight && !aw)
        for (int64_t i = 0; i < (int64_t)Cout * (Cin / groups); i++)
            dweight[i * K + K - 1] = 0.0f;
}

static void (*real_attn_bwd)(float *, float *, float *, const float *, const float *, const float *, const float *,
                             const float *, const float *, int, int, int, int, int, float, int, int, int, float *);

/* the key gradient computed without the softmax scale */
static void bug_attn_scale(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                           const float *v, const float *prob, const float *mask, int B, int H, int D, int T, int w,
                           float scale, int aq, int ak, int av, float *ws)
{
    real_attn_bwd(dq, dk, dv, dout, q, k, v, prob, mask, B, H, D, T, w, scale, aq, ak, av, ws);
    if (dk && !ak)
        for (int64_t i = 0; i < (int64_t)B * H * D * T; i++)
            dk[i] /= scale;
}

static void (*real_act_bwd)(float *, const float *, const float *, const float *, size_t, int, int);

/* GELU's derivative without the x * pdf term */
static void bug_gelu(float *d, const float *dout, const float *inp, const float *out, size_t n, int kind, int acc)
{
    if (kind != TAL_ACT_GELU) {
        real_act_bwd(d, dout, inp, out, n, kind, acc);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        float v = dout[i] * 0.5f * (1.0f + erff(inp[i] / sqrtf(2.0f)));
        d[i] = acc ? d[i] + v : v;
    }
}

TEST(nn_grad_planted_bugs_are_caught)
{
    tal_backend bad;
    int n;
    const char *m;

    /* the right kernels pass on the same cases */
    n = 0;
    m = run_cases(NULL, b_ln, &n);
    CHECK_MSG(!m[0], "%s", m);

    bad = tal_backend_cpu;
    real_ln_bwd = bad.layernorm_backward;
    bad.layernorm_backward = bug_ln_scale;
    n = 0;
    m = run_cases(&bad, b_ln, &n);
    CHECK_MSG(m[0], "a 1%% error in LayerNorm's input gradient went unnoticed");

    bad = tal_backend_cpu;
    real_conv_bwd = bad.conv1d_backward;
    bad.conv1d_backward = bug_conv_tap;
    n = 0;
    m = run_cases(&bad, b_conv, &n);
    CHECK_MSG(m[0], "a missing tap in conv1d's weight gradient went unnoticed");

    bad = tal_backend_cpu;
    real_attn_bwd = bad.attn_backward;
    bad.attn_backward = bug_attn_scale;
    n = 0;
    m = run_cases(&bad, b_attn, &n);
    CHECK_MSG(m[0], "a missing scale in attention's key gradient went unnoticed");

    bad = tal_backend_cpu;
    real_act_bwd = bad.act_backward;
    bad.act_backward = bug_gelu;
    n = 0;
    m = run_cases(&bad, b_act, &n);
    CHECK_MSG(m[0], "GELU's derivative without its x*pdf term went unnoticed");
}
