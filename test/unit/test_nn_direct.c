/* test_nn_direct.c — the ops that have no PyTorch reference in
 * test/data/ref (FS-PTAL's focal BCE on probabilities and L2
 * normalisation), forward and backward against a direct computation in
 * double precision written here from the formulas. */
#include "harness.h"
#include "tal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* |ours - direct| <= 1e-5 max|direct| + 1e-4 |direct| */
static int close_all(const float *got, const double *want, int n, char *why, size_t nwhy, const char *what)
{
    double mx = 0;
    for (int i = 0; i < n; i++)
        mx = fmax(mx, fabs(want[i]));
    for (int i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-5 * mx + 1e-4 * fabs(want[i]))) {
            snprintf(why, nwhy, "%s[%d] = %.9g, direct %.9g", what, i, got[i], want[i]);
            return 0;
        }
    return 1;
}

TEST(nn_direct_bce_prob)
{
    enum { N = 64 };
    tal_rng r;
    tal_rng_seed(&r, 11);
    float p[N], y[N], seed[N], out[N], grad[N];
    for (int i = 0; i < N; i++) {
        p[i] = 0.001f + 0.998f * tal_rng_float(&r);
        y[i] = i % 3 ? (float)(i % 2) : tal_rng_float(&r);
        seed[i] = (float)tal_rng_normal(&r);
    }
    p[0] = 0.0f;          /* clamped: loss at 1e-6, no gradient */
    p[1] = 1.0f;
    p[2] = 1e-7f;
    static const float gammas[] = { 0.0f, 1.0f, 2.0f, 1.5f };
    char why[256];
    for (int k = 0; k < 4; k++) {
        double gm = gammas[k], want[N], dwant[N];
        for (int i = 0; i < N; i++) {
            /* the clamp as float does it: float's 1 - 1e-6 is 1 - 1.013e-6 */
            double c = fminf(fmaxf(p[i], 1e-6f), 1.0f - 1e-6f), yy = y[i];
            want[i] = -(yy * pow(1 - c, gm) * log(c) + (1 - yy) * pow(c, gm) * log(1 - c));
            double d = -yy * (pow(1 - c, gm) / c - (gm > 0 ? gm * pow(1 - c, gm - 1) : 0) * log(c)) -
                       (1 - yy) * ((gm > 0 ? gm * pow(c, gm - 1) : 0) * log(1 - c) - pow(c, gm) / (1 - c));
            dwant[i] = (p[i] >= 1e-6f && p[i] <= 1.0f - 1e-6f) ? seed[i] * d : 0;
        }
        tal_graph *g = tal_graph_new(NULL);
        tal_tensor *pt = tal_tensor_from(g, 2, (int64_t[]){ 8, 8 }, p);
        tal_tensor *yt = tal_tensor_from(g, 2, (int64_t[]){ 8, 8 }, y);
        tal_tensor_requires_grad(pt);
        tal_tensor *l = tal_bce_prob(g, pt, yt, gammas[k]);
        CHECK_MSG(l, "%s", tal_errmsg());
        tal_tensor_download(g, l, out);
        CHECK_MSG(close_all(out, want, N, why, sizeof why, "loss"), "gamma %g: %s", gm, why);
        CHECK(tal_backward_seed(g, l, seed) == 0);
        memcpy(grad, pt->grad, sizeof grad);
        CHECK(grad[0] == 0 && grad[1] == 0 && grad[2] == 0);
        CHECK_MSG(close_all(grad + 3, dwant + 3, N - 3, why, sizeof why, "grad"), "gamma %g: %s", gm, why);
        tal_graph_free(g);
    }
}

/* the quality focal loss on probabilities against the formula in double */
TEST(nn_direct_quality_focal_prob)
{
    enum { N = 64 };
    tal_rng r;
    tal_rng_seed(&r, 13);
    float p[N], y[N], seed[N], out[N], grad[N];
    for (int i = 0; i < N; i++) {
        p[i] = 0.001f + 0.998f * tal_rng_float(&r);
        y[i] = i % 4 ? tal_rng_float(&r) : (float)(i % 8 == 0);
        seed[i] = (float)tal_rng_normal(&r);
    }
    p[0] = 0.0f;   /* clamped: no gradient */
    p[1] = 1.0f;
    p[2] = 1e-7f;
    p[5] = y[5];   /* |y - p| = 0: the weight's derivative is 0 there */
    static const float betas[] = { 0.0f, 1.0f, 2.0f, 1.5f };
    char why[256];
    for (int k = 0; k < 4; k++) {
        double b = betas[k], want[N], dwant[N];
        for (int i = 0; i < N; i++) {
            double c = fminf(fmaxf(p[i], 1e-6f), 1.0f - 1e-6f), yy = y[i], a = fabs(yy - c);
            double bce = -(yy * log(c) + (1 - yy) * log(1 - c));
            want[i] = pow(a, b) * bce;
            double dw = b > 0 && a > 0 ? b * pow(a, b - 1) * (c > yy ? 1 : -1) : 0;
            double d = dw * bce + pow(a, b) * ((1 - yy) / (1 - c) - yy / c);
            dwant[i] = (p[i] >= 1e-6f && p[i] <= 1.0f - 1e-6f) ? seed[i] * d : 0;
        }
        tal_graph *g = tal_graph_new(NULL);
        tal_tensor *pt = tal_tensor_from(g, 2, (int64_t[]){ 8, 8 }, p);
        tal_tensor *yt = tal_tensor_from(g, 2, (int64_t[]){ 8, 8 }, y);
        tal_tensor_requires_grad(pt);
        tal_tensor *l = tal_quality_focal_prob(g, pt, yt, betas[k]);
        CHECK_MSG(l, "%s", tal_errmsg());
        tal_tensor_download(g, l, out);
        CHECK_MSG(close_all(out, want, N, why, sizeof why, "loss"), "beta %g: %s", b, why);
        CHECK(tal_backward_seed(g, l, seed) == 0);
        memcpy(grad, pt->grad, sizeof grad);
        CHECK(grad[0] == 0 && grad[1] == 0 && grad[2] == 0);
        CHECK_MSG(close_all(grad + 3, dwant + 3, N - 3, why, sizeof why, "grad"), "beta %g: %s", b, why);
        tal_graph_free(g);
    }
    /* on 0/1 targets it is bce_prob */
    float yb[N], o2[N];
    for (int i = 0; i < N; i++)
        yb[i] = (float)(i % 2);
    tal_graph *g = tal_graph_new(NULL);
    tal_tensor *pt = tal_tensor_from(g, 1, (int64_t[]){ N }, p), *yt = tal_tensor_from(g, 1, (int64_t[]){ N }, yb);
    tal_tensor_download(g, tal_quality_focal_prob(g, pt, yt, 2.0f), out);
    tal_tensor_download(g, tal_bce_prob(g, pt, yt, 2.0f), o2);
    for (int i = 0; i < N; i++)
        CHECK_MSG(fabsf(out[i] - o2[i]) <= 1e-6f * (1 + fabsf(o2[i])), "binary target %d: %g vs %g", i, out[i], o2[i]);
    tal_graph_free(g);
}

TEST(nn_direct_l2_normalize)
{
    enum { R = 5, C = 37 };
    tal_rng r;
    tal_rng_seed(&r, 12);
    float x[R * C], seed[R * C], out[R * C];
    for (int i = 0; i < R * C; i++) {
        x[i] = (float)tal_rng_normal(&r);
        seed[i] = (float)tal_rng_normal(&r);
    }
    for (int c = 0; c < C; c++)
        x[3 * C + c] *= 1e-4f;   /* row 3 under the floor */
    const float eps = 1e-2f;
    double want[R * C], dwant[R * C];
    for (int i = 0; i < R; i++) {
        double s = 0, dot = 0;
        for (int c = 0; c < C; c++)
            s += (double)x[i * C + c] * x[i * C + c];
        double n = fmax(sqrt(s), eps);
        for (int c = 0; c < C; c++) {
            want[i * C + c] = x[i * C + c] / n;
            dot += want[i * C + c] * seed[i * C + c];
        }
        if (sqrt(s) <= eps)
            dot = 0;
        for (int c = 0; c < C; c++)
            dwant[i * C + c] = (seed[i * C + c] - want[i * C + c] * dot) / n;
    }
    tal_graph *g = tal_graph_new(NULL);
    tal_tensor *xt = tal_tensor_from(g, 2, (int64_t[]){ R, C }, x);
    tal_tensor_requires_grad(xt);
    tal_tensor *y = tal_l2_normalize(g, xt, eps);
    CHECK(y);
    tal_tensor_download(g, y, out);
    char why[256];
    CHECK_MSG(close_all(out, want, R * C, why, sizeof why, "out"), "%s", why);
    for (int i = 0; i < R; i++) {
        double s = 0;
        for (int c = 0; c < C; c++)
            s += (double)out[i * C + c] * out[i * C + c];
        if (i != 3)
            CHECK_NEAR(s, 1.0, 1e-5);
    }
    CHECK(tal_backward_seed(g, y, seed) == 0);
    CHECK_MSG(close_all(xt->grad, dwant, R * C, why, sizeof why, "grad"), "%s", why);
    tal_graph_free(g);
}
