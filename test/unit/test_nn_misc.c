/* test_nn_misc.c — the pieces around the ops: vector math accuracy, the
 * threaded sgemm, schedules, EMA, initialisers, gradient accumulation,
 * error reporting, and the memory behaviour of the arena and gradient pool. */
#include "harness.h"
#include "backends/cpu.h"
#include "backends/cpu_math.h"
#include "nn/ema.h"
#include "nn/init.h"
#include "nn/params.h"
#include "nn/profile.h"
#include "nn/sched.h"
#include "tal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- vector math ----------------------------------------------------------- */

static double rel(double got, double want) { return fabs(got - want) / (fabs(want) > 1e-30 ? fabs(want) : 1e-30); }

TEST(nn_math_accuracy)
{
    double worst_exp = 0, worst_log = 0, worst_log1p = 0, worst_erf = 0;
    for (int i = 0; i <= 200000; i++) {
        double x = -87.0 + 175.0 * i / 200000;
        worst_exp = fmax(worst_exp, rel(tal_expf((float)x), exp((double)(float)x)));
        double y = exp(-80.0 + 160.0 * i / 200000);
        worst_log = fmax(worst_log, fabs(tal_logf((float)y) - log((double)(float)y)) / fmax(1.0, fabs(log(y))));
        double u = pow(10.0, -12.0 + 13.0 * i / 200000);   /* 1e-12 .. 10 */
        worst_log1p = fmax(worst_log1p, rel(tal_log1pf((float)u), log1p((double)(float)u)));
        double z = -6.0 + 12.0 * i / 200000;
        worst_erf = fmax(worst_erf, fabs(tal_erff((float)z) - erf((double)(float)z)));
    }
    CHECK_MSG(worst_exp < 4e-7, "expf relative error %g", worst_exp);
    CHECK_MSG(worst_log < 4e-7, "logf error %g", worst_log);
    CHECK_MSG(worst_log1p < 4e-7, "log1pf relative error %g", worst_log1p);
    CHECK_MSG(worst_erf < 6e-7, "erff absolute error %g", worst_erf);
    CHECK(tal_expf(-1000.0f) < 1e-37f && tal_expf(1000.0f) > 1e38f && isfinite(tal_expf(1000.0f)));
    CHECK_NEAR(tal_sigmoidf(-200.0f), 0.0, 1e-30);
    CHECK_NEAR(tal_sigmoidf(200.0f), 1.0, 0);
}

/* ---- sgemm ------------------------------------------------------------------- */

TEST(nn_sgemm_split_matches_naive)
{
    /* sizes that are split across threads into uneven blocks */
    static const int S[][3] = { { 37, 301, 19 }, { 290, 33, 41 }, { 130, 130, 130 }, { 1, 700, 3 } };
    tal_rng r;
    tal_rng_seed(&r, 5);
    for (int s = 0; s < 4; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = S[s][0], N = S[s][1], K = S[s][2];
                float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N),
                      *C = malloc(sizeof(float) * M * N);
                for (int i = 0; i < M * K; i++) A[i] = tal_rng_float(&r) - 0.5f;
                for (int i = 0; i < K * N; i++) B[i] = tal_rng_float(&r) - 0.5f;
                for (int i = 0; i < M * N; i++) C[i] = 1.0f;
                tal_backend_cpu.sgemm(ta, tb, M, N, K, 2.0f, A, ta ? M : K, B, tb ? K : N, 0.5f, C, N);
                double worst = 0;
                for (int m = 0; m < M; m++)
                    for (int n = 0; n < N; n++) {
                        double acc = 0;
                        for (int k = 0; k < K; k++)
                            acc += (double)(ta ? A[k * M + m] : A[m * K + k]) * (tb ? B[n * K + k] : B[k * N + n]);
                        worst = fmax(worst, fabs(C[m * N + n] - (2.0 * acc + 0.5)));
                    }
                free(A);
                free(B);
                free(C);
                CHECK_MSG(worst < 1e-4, "M %d N %d K %d ta %d tb %d: error %g", M, N, K, ta, tb, worst);
            }
}

/* ---- schedules ------------------------------------------------------------------ */

/* max over a contiguous row: the value and the first position, as one
 * left-to-right scan with ">" finds them (ties, signed zeros, NaNs) */
TEST(nn_reduce_max_first_position)
{
    float nan = nanf("");
    struct {
        float x[8];
        int n, arg;
        float v;
    } rows[] = {
        { { 1, 3, -0.0f, 3, 2, 3, 0, 1 }, 8, 1, 3 },
        { { -0.0f, 0, 0, -0.0f, -1, -2, -3, -4 }, 8, 0, -0.0f },
        { { -5, -4, -3, -3, -4, -5, -6, -7 }, 8, 2, -3 },
        { { 1, nan, 7, nan, 7, 2, 1, 0 }, 8, 2, 7 },
        { { nan, 1, 2, 3, 4, 5, 6, 7 }, 8, 0, nan },
        { { 4 }, 1, 0, 4 },
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        float out;
        int32_t idx;
        tal_cpu_reduce_forward(&out, &idx, rows[k].x, 1, rows[k].n, 1, TAL_RED_MAX);
        int same = rows[k].v != rows[k].v ? out != out : out == rows[k].v && signbit(out) == signbit(rows[k].v);
        CHECK_MSG(idx == rows[k].arg && same, "row %zu: max %g at %d, expected %g at %d", k, out, idx, rows[k].v,
                  rows[k].arg);
    }
    /* long rows: the position of a planted maximum anywhere */
    enum { N = 3001 };
    float *x = malloc(sizeof *x * N);
    for (int at = 0; at < N; at += 97) {
        for (int i = 0; i < N; i++)
            x[i] = (float)((i * 7919) % 1000) / 1000.0f;
        x[at] = 2;
        float out;
        int32_t idx;
        tal_cpu_reduce_forward(&out, &idx, x, 1, N, 1, TAL_RED_MAX);
        CHECK_MSG(idx == at && out == 2, "planted at %d, found at %d", at, idx);
    }
    free(x);
}

TEST(nn_sched_cosine_and_step)
{
    tal_sched s = { .kind = TAL_SCHED_COSINE, .base_lr = 1e-4, .warmup_steps = 5, .total_steps = 35,
                    .eta_min = 1e-8 };
    CHECK_NEAR(tal_sched_lr(&s, 0), 0.0, 0);
    CHECK_NEAR(tal_sched_lr(&s, 1), 0.25e-4, 1e-18);
    CHECK_NEAR(tal_sched_lr(&s, 4), 1e-4, 1e-18);
    CHECK_NEAR(tal_sched_lr(&s, 5), 1e-4, 1e-18);
    CHECK_NEAR(tal_sched_lr(&s, 20), 1e-8 + 0.5 * (1e-4 - 1e-8), 1e-15);
    CHECK_NEAR(tal_sched_lr(&s, 35), 1e-8, 1e-18);
    CHECK_NEAR(tal_sched_lr(&s, 99), 1e-8, 1e-18);
    for (int i = 6; i <= 35; i++)
        CHECK(tal_sched_lr(&s, i) < tal_sched_lr(&s, i - 1));
    tal_sched st = { .kind = TAL_SCHED_STEP, .base_lr = 0.1, .nmilestones = 2, .milestones = { 10, 20 },
                     .gamma = 0.1 };
    CHECK_NEAR(tal_sched_lr(&st, 9), 0.1, 1e-15);
    CHECK_NEAR(tal_sched_lr(&st, 10), 0.01, 1e-15);
    CHECK_NEAR(tal_sched_lr(&st, 25), 0.001, 1e-15);
    tal_sched c = { .kind = TAL_SCHED_CONSTANT, .base_lr = 0.5 };
    CHECK_NEAR(tal_sched_lr(&c, 1000), 0.5, 0);
}

/* ---- EMA, initialisers, gradients ------------------------------------------------- */

TEST(nn_ema_update_and_swap)
{
    tal_params *P = tal_params_new();
    tal_tensor *w = tal_param(P, "w", 0, 1, (int64_t[]){ 3 });
    CHECK(!tal_params_alloc(P, NULL));
    w->data[0] = 1;
    w->data[1] = 2;
    w->data[2] = 3;
    tal_ema *e = tal_ema_new(P, 0.9f);
    CHECK(e);
    w->data[0] = 11;
    tal_ema_update(e);
    CHECK(tal_ema_data(e)[0] == 0.9f * 1.0f + (1.0f - 0.9f) * 11.0f);
    CHECK(tal_ema_data(e)[1] == 2.0f);
    CHECK(!tal_ema_swap(e));
    CHECK(w->data[0] == 0.9f * 1.0f + (1.0f - 0.9f) * 11.0f && tal_ema_data(e)[0] == 11.0f);
    tal_ema_free(e);
    tal_params_free(P);
}

TEST(nn_init_pytorch_defaults)
{
    tal_params *P = tal_params_new();
    tal_tensor *w = tal_param(P, "w", TAL_PARAM_DECAY, 3, (int64_t[]){ 64, 32, 3 });
    tal_tensor *b = tal_param(P, "b", 0, 1, (int64_t[]){ 64 });
    tal_tensor *w2 = tal_param(P, "w2", TAL_PARAM_DECAY, 3, (int64_t[]){ 64, 32, 3 });
    CHECK(!tal_params_alloc(P, NULL));
    CHECK_EQ_INT(tal_fan_in(w), 96);
    tal_rng r, r2;
    tal_rng_seed(&r, 1);
    tal_rng_seed(&r2, 1);
    CHECK(!tal_init_kaiming_uniform(P, w, sqrtf(5.0f), &r));
    CHECK(!tal_init_kaiming_uniform(P, w2, sqrtf(5.0f), &r2));
    CHECK(!memcmp(w->data, w2->data, sizeof(float) * 64 * 96));
    double bound = 1.0 / sqrt(96.0), sum = 0, sq = 0;
    for (int i = 0; i < 64 * 96; i++) {
        CHECK(fabs(w->data[i]) <= bound);
        sum += w->data[i];
        sq += w->data[i] * w->data[i];
    }
    CHECK_NEAR(sum / (64 * 96), 0.0, 0.01 * bound);
    CHECK_NEAR(sq / (64 * 96), bound * bound / 3, 0.05 * bound * bound / 3);
    CHECK(!tal_init_prior_bias(P, b, 0.01f));
    CHECK_NEAR(b->data[7], -4.59511985, 1e-6);
    CHECK(tal_init_prior_bias(P, b, 0.0f) == TAL_EINVAL);
    tal_params_free(P);
}

TEST(nn_params_layout_and_errors)
{
    tal_params *P = tal_params_new();
    tal_tensor *a = tal_param(P, "a", 0, 1, (int64_t[]){ 3 });
    tal_tensor *b = tal_param(P, "b", 0, 2, (int64_t[]){ 2, 5 });
    CHECK(a && b);
    CHECK(!tal_param(P, "a", 0, 1, (int64_t[]){ 3 }));
    CHECK(strstr(tal_errmsg(), "declared twice"));
    CHECK(tal_params_alloc(P, NULL) == TAL_EINVAL);   /* the failed declaration is reported */
    tal_params_free(P);
    P = tal_params_new();
    a = tal_param(P, "a", 0, 1, (int64_t[]){ 3 });
    b = tal_param(P, "b", 0, 2, (int64_t[]){ 2, 5 });
    CHECK(!tal_params_alloc(P, NULL));
    CHECK_EQ_INT(tal_params_offset(P, 1) % 16, 0);
    CHECK(b->data == tal_params_data(P) + tal_params_offset(P, 1));
    CHECK_EQ_INT(tal_params_numel(P), 13);
    CHECK(tal_params_find(P, "b") == b && !tal_params_find(P, "c"));
    CHECK(!tal_param(P, "late", 0, 1, (int64_t[]){ 1 }));
    tal_params_free(P);
}

TEST(nn_grad_accumulates_until_zero_grad)
{
    tal_params *P = tal_params_new();
    tal_tensor *w = tal_param(P, "w", 0, 1, (int64_t[]){ 4 });
    tal_tensor *u = tal_param(P, "unused", 0, 1, (int64_t[]){ 2 });
    CHECK(!tal_params_alloc(P, NULL));
    for (int i = 0; i < 4; i++)
        w->data[i] = (float)i;
    u->grad[0] = 123.0f;   /* stale garbage that must read as zero */
    tal_graph *g = tal_graph_new(NULL);
    tal_params_zero_grad(P);
    for (int pass = 0; pass < 2; pass++) {
        tal_graph_reset(g);
        tal_tensor *l = tal_sum_all(g, tal_mul(g, w, w));   /* d/dw = 2w */
        CHECK(!tal_backward(g, l));
    }
    tal_params_finish_grads(P);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(w->grad[i], 4.0 * i, 0);
    CHECK(u->grad[0] == 0.0f);
    tal_graph_free(g);
    tal_params_free(P);
}

/* ---- errors -------------------------------------------------------------------- */

TEST(nn_errors_propagate)
{
    tal_graph *g = tal_graph_new(NULL);
    tal_tensor *x = tal_tensor_zeros(g, 3, (int64_t[]){ 2, 4, 9 });
    tal_tensor *w = tal_tensor_zeros(g, 3, (int64_t[]){ 8, 5, 3 });
    CHECK(!tal_conv1d(g, x, w, NULL, 1, 1, 1, NULL));
    CHECK_MSG(strstr(tal_errmsg(), "conv1d: input (2,4,9) and weight (8,5,3) do not match"), "%s", tal_errmsg());
    CHECK(tal_graph_status(g) == TAL_EINVAL);
    /* later ops return NULL without replacing the first message */
    CHECK(!tal_relu(g, NULL));
    CHECK(!tal_add(g, x, x));
    CHECK(strstr(tal_errmsg(), "conv1d"));
    CHECK(tal_backward(g, x) == TAL_EINVAL);
    tal_graph_reset(g);
    CHECK(tal_graph_status(g) == 0);
    x = tal_tensor_zeros(g, 2, (int64_t[]){ 2, 3 });
    tal_tensor_requires_grad(x);
    CHECK(tal_backward(g, tal_relu(g, x)) == TAL_EINVAL);
    CHECK(strstr(tal_errmsg(), "one element"));
    CHECK(!tal_add(g, tal_tensor_zeros(g, 1, (int64_t[]){ 3 }), tal_tensor_zeros(g, 1, (int64_t[]){ 4 })));
    CHECK(strstr(tal_errmsg(), "do not broadcast"));
    tal_graph_reset(g);
    CHECK(!tal_gather(g, tal_tensor_zeros(g, 1, (int64_t[]){ 3 }), 0, (int32_t[]){ 3 }, 1));
    CHECK(strstr(tal_errmsg(), "outside [0, 3)"));
    tal_graph_reset(g);
    CHECK(!tal_reshape(g, tal_tensor_zeros(g, 1, (int64_t[]){ 6 }), 2, (int64_t[]){ 4, -1 }));
    tal_graph_free(g);
}

/* ---- memory --------------------------------------------------------------------- */

/* batches padded to their own length change shape every step: the pool
 * must not keep a set of gradient blocks for every shape it has seen */
TEST(nn_gradient_pool_is_bounded_when_shapes_change)
{
    tal_graph *g = tal_graph_new(NULL);
    for (int step = 0; step < 24; step++) {
        int64_t n = (int64_t)(1 + step % 12) << 14;
        tal_graph_reset(g);
        tal_tensor *x = tal_tensor_zeros(g, 1, &n);
        tal_tensor_requires_grad(x);
        tal_tensor *h = x;
        for (int i = 0; i < 8; i++)
            h = tal_affine(g, tal_gelu(g, h), 0.9f, 0.1f);
        CHECK(!tal_backward(g, tal_sum_all(g, h)));
    }
    tal_graph_stats st;
    tal_graph_get_stats(g, &st);
    CHECK_MSG(st.pool_reserved <= 3 * st.pool_peak_live, "gradient pool %zu bytes for at most %zu live",
              st.pool_reserved, st.pool_peak_live);
    tal_graph_free(g);
}

TEST(nn_gradient_memory_is_a_front)
{
    /* a chain of 40 ops on 256k-element tensors: the arena holds every
     * activation, but gradients are freed as backward passes them */
    tal_graph *g = tal_graph_new(NULL);
    int64_t n = 1 << 18;
    for (int step = 0; step < 3; step++) {
        tal_graph_reset(g);
        tal_tensor *x = tal_tensor_zeros(g, 1, &n);
        tal_tensor_requires_grad(x);
        tal_tensor *h = x;
        for (int i = 0; i < 40; i++)
            h = tal_affine(g, tal_gelu(g, h), 0.9f, 0.1f);
        CHECK(!tal_backward(g, tal_sum_all(g, h)));
    }
    tal_graph_stats st;
    tal_graph_get_stats(g, &st);
    size_t one = (size_t)n * sizeof(float);
    CHECK_MSG(st.arena_peak >= 80 * one, "arena %zu", st.arena_peak);
    CHECK_MSG(st.pool_peak_live <= 4 * one, "gradients alive at once: %zu bytes (%zu per tensor)", st.pool_peak_live, one);
    CHECK_MSG(st.pool_reserved <= 4 * one, "gradient pool %zu bytes", st.pool_reserved);
    /* after the first step the arena is one block */
    CHECK_MSG(st.arena_reserved < st.arena_peak + ((size_t)1 << 20), "arena reserved %zu for peak %zu",
              st.arena_reserved, st.arena_peak);
    tal_graph_free(g);
}

/* inference scopes: a release keeps the named tensors' values (a strided
 * view comes back contiguous), gives back the rest of the arena, and does
 * nothing while the tape is on */
TEST(nn_release_keeps_values_and_frees_the_rest)
{
    tal_graph *g = tal_graph_new(NULL);
    int64_t n = 1 << 16, sh[2] = { 64, 1024 };
    float *want_y = malloc(sizeof(float) * (size_t)n), *want_v = malloc(sizeof(float) * (size_t)n);
    float *got = malloc(sizeof(float) * (size_t)n);
    CHECK(want_y && want_v && got);
    for (int tape = 0; tape < 2; tape++) {
        tal_graph_reset(g);
        tal_graph_set_grad(g, tape);
        tal_tensor *x = tal_tensor_zeros(g, 2, sh);
        tal_tensor_requires_grad(x);
        x = tal_affine(g, x, 1.0f, 0.25f);
        tal_graph_stats before;
        tal_graph_get_stats(g, &before);
        tal_graph_mark mk = tal_graph_mark_get(g);
        /* more than one arena chunk of intermediates */
        tal_tensor *h = x;
        for (int i = 0; i < 80; i++)
            h = tal_affine(g, tal_gelu(g, h), 0.9f, 0.1f * (float)(i % 3));
        tal_tensor *y = h;
        tal_tensor *v = tal_transpose(g, h, 0, 1);   /* a view of h */
        CHECK(y && v && !tal_tensor_download(g, y, want_y) && !tal_tensor_download(g, v, want_v));
        CHECK(!tal_graph_release(g, mk, 3, (tal_tensor *[]){ y, v, y }));
        tal_graph_stats after;
        tal_graph_get_stats(g, &after);
        size_t one = (size_t)n * sizeof(float);
        if (tape) {
            /* backward still needs every activation: nothing given back */
            CHECK_MSG(after.arena_used >= before.arena_used + 160 * one, "tape on: %zu -> %zu", before.arena_used,
                      after.arena_used);
        } else {
            CHECK_MSG(after.arena_used <= before.arena_used + 2 * one + 256, "tape off: %zu -> %zu (tensor %zu)",
                      before.arena_used, after.arena_used, one);
            CHECK(tal_is_contiguous(v));
        }
        CHECK(!tal_tensor_download(g, y, got) && !memcmp(got, want_y, (size_t)one));
        CHECK(!tal_tensor_download(g, v, got) && !memcmp(got, want_v, (size_t)one));
        /* the arena goes on from the kept tensors: new work does not touch them */
        tal_tensor *z = tal_affine(g, y, 2.0f, 0.0f);
        CHECK(z && !tal_tensor_download(g, y, got) && !memcmp(got, want_y, (size_t)one));
        CHECK(!tal_graph_status(g));
    }
    /* inference steps that give memory back within the step: after a reset
     * the arena is one block for the step's peak, not for what was left at
     * its end, so the next such step allocates nothing (a new graph: this
     * one's arena is already large from the tape-on step) */
    tal_graph_free(g);
    g = tal_graph_new(NULL);
    for (int step = 0; step < 3; step++) {
        tal_graph_reset(g);
        tal_graph_set_grad(g, 0);
        tal_tensor *h = tal_tensor_zeros(g, 2, sh);
        tal_graph_mark mk = tal_graph_mark_get(g);
        for (int i = 0; i < 80; i++)
            h = tal_gelu(g, h);
        CHECK(!tal_graph_release(g, mk, 1, &h));
    }
    tal_graph_stats st;
    tal_graph_get_stats(g, &st);
    CHECK_MSG(st.arena_blocks == 1, "inference arena in %d blocks after three steps", st.arena_blocks);
    /* a mark from an earlier step is refused, even when this step has
     * already used as much (its chunk may be smaller than the mark says) */
    tal_graph_reset(g);
    tal_graph_mark old = tal_graph_mark_get(g);
    for (int i = 0; i < 8; i++)
        CHECK(tal_tensor_zeros(g, 2, sh));
    tal_graph_reset(g);
    tal_graph_set_grad(g, 0);
    tal_tensor *big = tal_tensor_zeros(g, 2, sh);
    for (int i = 0; i < 8; i++)
        big = tal_gelu(g, big);
    CHECK(big && tal_graph_release(g, old, 0, NULL) != 0);
    /* a scope the tape recorded in (it was turned off inside) keeps all */
    tal_graph_reset(g);
    tal_graph_set_grad(g, 1);
    tal_tensor *w = tal_tensor_zeros(g, 2, sh);
    tal_tensor_requires_grad(w);
    tal_graph_mark mk2 = tal_graph_mark_get(g);
    tal_tensor *r = tal_gelu(g, w);
    tal_graph_set_grad(g, 0);
    tal_graph_stats s1, s2;
    tal_graph_get_stats(g, &s1);
    CHECK(r && !tal_graph_release(g, mk2, 0, NULL));
    tal_graph_get_stats(g, &s2);
    CHECK_MSG(s1.arena_used == s2.arena_used, "released %zu -> %zu across recorded ops", s1.arena_used,
              s2.arena_used);
    tal_graph_set_grad(g, 1);
    CHECK(!tal_backward(g, tal_sum_all(g, r)));
    free(want_y);
    free(want_v);
    free(got);
    tal_graph_free(g);
}

/* The profiler charges each op that recorded itself, forward and backward,
 * and changes nothing about what the graph computes. */
TEST(nn_profile_counts_each_op)
{
    tal_params *P = tal_params_new();
    tal_tensor *w = tal_param(P, "w", 0, 1, (int64_t[]){ 4 });
    CHECK(!tal_params_alloc(P, NULL));
    for (int i = 0; i < 4; i++)
        w->data[i] = (float)i;
    tal_graph *g = tal_graph_new(NULL);
    tal_params_zero_grad(P);
    tal_profile(1);
    for (int pass = 0; pass < 3; pass++) {
        tal_graph_reset(g);
        tal_profile_mark();
        CHECK(!tal_backward(g, tal_sum_all(g, tal_mul(g, w, w))));
    }
    tal_profile(0);
    tal_profile_row rows[8];
    int n = tal_profile_rows(rows, 8), seen = 0;
    for (int i = 0; i < n; i++) {
        CHECK(rows[i].fwd >= 0 && rows[i].bwd >= 0);
        if (!strcmp(rows[i].op, "mul")) {
            seen++;
            CHECK_EQ_INT(rows[i].nfwd, 3);
            CHECK_EQ_INT(rows[i].nbwd, 3);
        }
    }
    CHECK_EQ_INT(seen, 1);
    tal_params_finish_grads(P);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(w->grad[i], 6.0 * i, 0);   /* three passes of d/dw = 2w */
    tal_graph_free(g);
    tal_params_free(P);
}
