/* test_nn_elementwise.c — the elementwise functions that share the
 * activation kernels (|x|, 1/x, 1/sqrt(x), the softsign gate, the
 * straight-through step) against a direct computation in double:
 * forward values and, with a random seed gradient, backward values;
 * through the accumulating path too (op(x) + op(x)). */
#include "harness.h"
#include "tal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef tal_tensor *(*unary_fn)(tal_graph *, tal_tensor *);

/* f and its derivative at x, in double */
static double ref_value(int kind, double x, double *deriv)
{
    double a = fabs(x);
    switch (kind) {
    case 0: *deriv = x > 0 ? 1 : x < 0 ? -1 : 0; return a;
    case 1: *deriv = -1 / (x * x); return 1 / x;
    case 2: *deriv = -0.5 * pow(x, -1.5); return 1 / sqrt(x);
    case 3: *deriv = 0.5 / ((1 + a) * (1 + a)); return 0.5 * (x / (1 + a) + 1);
    default: *deriv = 1; return x > 0 ? 1 : 0;   /* straight-through: the identity's gradient */
    }
}

/* one function on n inputs; "" or what differs */
static const char *check_fn(int kind, unary_fn f, const float *x, int n, int twice)
{
    static char why[256];
    why[0] = 0;
    tal_graph *g = tal_graph_new(NULL);
    tal_rng r;
    tal_rng_seed(&r, 11 + kind);
    float *seed = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++)
        seed[i] = 2 * tal_rng_float(&r) - 1;
    tal_tensor *t = tal_tensor_from(g, 1, (int64_t[]){ n }, x);
    tal_tensor_requires_grad(t);
    tal_tensor *o = f(g, t);
    if (twice)
        o = tal_add(g, o, f(g, t));
    if (!o || tal_tensor_download(g, o, y) || tal_backward_seed(g, o, seed)) {
        snprintf(why, sizeof why, "op failed: %s", tal_errmsg());
        goto out;
    }
    for (int i = 0; i < n && !why[0]; i++) {
        double d, v = ref_value(kind, x[i], &d), m = twice ? 2 : 1;
        double gv = t->grad[i], gw = m * seed[i] * d;
        if (fabs(y[i] - m * v) > 2e-6 * fabs(m * v) + 1e-7)
            snprintf(why, sizeof why, "value at x=%g: %.9g, want %.9g", x[i], y[i], m * v);
        else if (fabs(gv - gw) > 2e-6 * fabs(gw) + 1e-7)
            snprintf(why, sizeof why, "gradient at x=%g: %.9g, want %.9g", x[i], gv, gw);
    }
out:
    free(seed);
    free(y);
    tal_graph_free(g);
    return why;
}

TEST(nn_elementwise_direct)
{
    static const char *names[] = { "abs", "reciprocal", "rsqrt", "softsign_gate", "step_st" };
    unary_fn fns[] = { tal_abs, tal_reciprocal, tal_rsqrt, tal_softsign_gate, tal_step_st };
    enum { N = 203 };   /* odd: the vector loops' tails run too */
    float any[N], pos[N];
    for (int i = 0; i < N; i++) {
        any[i] = -6.0f + 12.0f * (float)i / (N - 1);   /* includes 0 exactly at i = 101 */
        pos[i] = 1e-3f + 50.0f * (float)i * i / ((N - 1) * (N - 1));
    }
    CHECK(any[101] == 0.0f);
    for (int k = 0; k < 5; k++)
        for (int twice = 0; twice < 2; twice++) {
            const char *m = check_fn(k, fns[k], k == 1 || k == 2 ? pos : any, N, twice);
            CHECK_MSG(!m[0], "%s%s: %s", names[k], twice ? " (accumulating)" : "", m);
        }
    /* the reciprocal of negative numbers too */
    for (int i = 0; i < N; i++)
        pos[i] = -pos[i];
    const char *m = check_fn(1, tal_reciprocal, pos, N, 0);
    CHECK_MSG(!m[0], "reciprocal of negatives: %s", m);
}

/* a gate of any kind is in [0, 1], and 0.5 exactly where s equals b:
 * the gates the TTC-Loc detector binarises at 0.5 agree on where s > b */
TEST(nn_elementwise_gates_agree_on_the_threshold)
{
    tal_graph *g = tal_graph_new(NULL);
    float x[7] = { -3.0f, -0.5f, -1e-4f, 0.0f, 1e-4f, 0.5f, 3.0f }, a[7], b[7], c[7];
    tal_tensor *t = tal_tensor_from(g, 1, (int64_t[]){ 7 }, x);
    CHECK(!tal_tensor_download(g, tal_sigmoid(g, t), a));
    CHECK(!tal_tensor_download(g, tal_softsign_gate(g, t), b));
    CHECK(!tal_tensor_download(g, tal_step_st(g, t), c));
    for (int i = 0; i < 7; i++) {
        CHECK(a[i] >= 0 && a[i] <= 1 && b[i] >= 0 && b[i] <= 1);
        CHECK_EQ_INT(a[i] > 0.5f, x[i] > 0);
        CHECK_EQ_INT(b[i] > 0.5f, x[i] > 0);
        CHECK_EQ_INT(c[i] > 0.5f, x[i] > 0);
    }
    CHECK(b[3] == 0.5f && a[3] == 0.5f && c[3] == 0.0f);
    tal_graph_free(g);
}
