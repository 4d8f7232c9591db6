/* core_bench.c — the talcore side of `make bench-core`.
 *
 *     build/rel/bench/core-bench ROW [REPEATS]
 *
 * Runs one benchmark row — forward + backward of one op at ActionFormer
 * sizes (B=2, C=512, T=2304), or of the ActionFormer-style network — REPEATS
 * times after a warm-up, with 2 threads, and prints one line:
 *
 *     ROW <median seconds> <peak RSS KiB> <RSS KiB before the inputs existed>
 *
 * Each row does the same work as the row of the same name in
 * pipelines/bench/core_torch.py; pipelines/bench-core.sh runs both.  Rows
 * ending in "_af" differ only on the PyTorch side (ActionFormer's own
 * sliding-chunk attention); here they are the rows without the suffix.
 * Inputs that need gradients are parameters (their gradients persist
 * between steps, as a leaf's .grad does in PyTorch); masks and targets are
 * plain tensors made once.  A step is: reset the graph, forward, backward
 * with a fixed random output gradient.
 */
#include "tal.h"
#include "backends/cpu.h"
#include "nn/profile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { B = 2, C = 512, T = 2304 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static tal_rng rng;

static void randn(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)tal_rng_normal(&rng);
}

/* a tensor that lives outside any graph (masks, targets, fixed inputs) */
static tal_tensor *ext(int ndim, const int64_t *shape, int kind)
{
    tal_tensor *t = calloc(1, sizeof *t);
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++)
        t->shape[d] = shape[d];
    tal_strides(ndim, shape, t->stride);
    t->node = -1;
    size_t n = (size_t)tal_numel(t);
    t->data = tal_malloc_aligned(n * sizeof(float));
    if (kind == 0)
        randn(t->data, n);
    for (size_t i = 0; kind == 1 && i < n; i++)
        t->data[i] = tal_rng_float(&rng);
    for (size_t i = 0; kind == 2 && i < n; i++)
        t->data[i] = tal_rng_float(&rng) < 0.05f ? 1.0f : 0.0f;
    return t;
}

#define SHAPE(...) (sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t)), (int64_t[]){ __VA_ARGS__ }

/* (B, Tn) mask: sequence 1 padded over its last eighth */
static tal_tensor *mask_of(int64_t Tn)
{
    tal_tensor *m = ext(SHAPE(B, Tn), 3);
    for (int64_t i = 0; i < B * Tn; i++)
        m->data[i] = (i / Tn == 1 && i % Tn >= Tn - Tn / 8) ? 0.0f : 1.0f;
    return m;
}

typedef struct {
    const char *name;
    tal_params *P;
    tal_tensor *in[4];      /* parameters the op reads */
    tal_tensor *mask, *aux;
    int32_t *idx;
    tal_af_model model;
    tal_tensor *ys[6];
} row;

static tal_tensor *param(row *r, const char *name, int ndim, const int64_t *shape) { return tal_param(r->P, name, 0, ndim, shape); }

static tal_tensor *run_op(tal_graph *g, row *r)
{
    const char *n = r->name;
    tal_tensor *x = r->in[0];
    if (!strcmp(n, "conv1x1"))
        return tal_conv1d(g, x, r->in[1], r->in[2], 1, 0, 1, NULL);
    if (!strcmp(n, "conv_k3"))
        return tal_conv1d(g, x, r->in[1], NULL, 1, 1, 1, r->mask);
    if (!strcmp(n, "conv_k3_2048"))
        return tal_conv1d(g, r->aux, r->in[1], NULL, 1, 1, 1, r->mask);
    if (!strcmp(n, "dwconv_s1"))
        return tal_conv1d(g, x, r->in[1], NULL, 1, 1, C, r->mask);
    if (!strcmp(n, "dwconv_s2"))
        return tal_conv1d(g, x, r->in[1], NULL, 2, 1, C, r->mask);
    if (!strcmp(n, "layernorm"))
        return tal_layernorm(g, x, r->in[1], r->in[2], 1e-5f);
    if (!strcmp(n, "relu"))
        return tal_relu(g, x);
    if (!strcmp(n, "gelu"))
        return tal_gelu(g, x);
    if (!strcmp(n, "sigmoid"))
        return tal_sigmoid(g, x);
    if (!strcmp(n, "softmax_t"))
        return tal_softmax(g, x, 2, r->aux);
    if (!strcmp(n, "log_softmax_c"))
        return tal_log_softmax(g, x, 1, NULL);
    if (!strcmp(n, "maxpool"))
        return tal_maxpool1d(g, x, 3, 2, 1);
    if (!strcmp(n, "topk_mean"))
        return tal_topk_mean(g, x, T / 8, r->mask);
    if (!strcmp(n, "attn_local") || !strcmp(n, "attn_local_af"))
        return tal_attention(g, x, r->in[1], r->in[2], r->mask, 4, 19);
    if (!strcmp(n, "attn_global"))
        return tal_attention(g, x, r->in[1], r->in[2], r->mask, 4, 0);
    if (!strcmp(n, "dropout"))
        return tal_dropout(g, x, 0.1f);
    if (!strcmp(n, "drop_path"))
        return tal_drop_path(g, x, 0.1f);
    if (!strcmp(n, "layer_scale"))
        return tal_layer_scale(g, x, r->in[1]);
    if (!strcmp(n, "concat"))
        return tal_concat(g, 3, r->in, 1);
    if (!strcmp(n, "slice"))
        return tal_slice(g, x, 2, T / 4, 3 * T / 4);
    if (!strcmp(n, "transpose"))
        return tal_contiguous(g, tal_transpose(g, x, 1, 2));
    if (!strcmp(n, "add_bcast"))
        return tal_add(g, x, r->in[1]);
    if (!strcmp(n, "mul_mask"))
        return tal_mul(g, x, r->aux);
    if (!strcmp(n, "sum_t"))
        return tal_sum(g, x, 2, 0);
    if (!strcmp(n, "mean_c"))
        return tal_mean(g, x, 1, 0);
    if (!strcmp(n, "max_t"))
        return tal_max(g, x, 2, 0);
    if (!strcmp(n, "resample_linear"))
        return tal_resample(g, x, 2 * T, TAL_RESAMPLE_LINEAR);
    if (!strcmp(n, "resample_nearest"))
        return tal_resample(g, x, T / 2, TAL_RESAMPLE_NEAREST);
    if (!strcmp(n, "gather"))
        return tal_gather(g, x, 2, r->idx, T / 2);
    if (!strcmp(n, "clamp"))
        return tal_clamp(g, x, -0.5f, 0.5f);
    if (!strcmp(n, "bce"))
        return tal_bce_logits(g, x, r->aux);
    if (!strcmp(n, "focal"))
        return tal_sigmoid_focal(g, x, r->aux, 0.25f, 2.0f);
    if (!strcmp(n, "qfl"))
        return tal_quality_focal(g, x, r->aux, 2.0f);
    if (!strcmp(n, "cross_entropy"))
        return tal_cross_entropy(g, x, r->idx);
    if (!strcmp(n, "diou"))
        return tal_diou_1d(g, x, r->aux);
    return NULL;
}

static tal_tensor *run_model(tal_graph *g, row *r)
{
    tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *ms[TAL_AF_MAX_LEVELS];
    int L = tal_af_forward(g, &r->model, r->aux, r->mask, cls, reg, ms);
    if (L < 0)
        return NULL;
    tal_tensor *loss = NULL;
    for (int l = 0; l < L; l++) {
        tal_tensor *t = tal_add(g, tal_sum_all(g, tal_sigmoid_focal(g, cls[l], r->ys[l], 0.25f, 2.0f)),
                                tal_sum_all(g, reg[l]));
        loss = loss ? tal_add(g, loss, t) : t;
    }
    return loss;
}

static int setup(row *r)
{
    const char *n = r->name;
    r->P = tal_params_new();
    if (!strncmp(n, "model_", 6)) {
        tal_af_config c = tal_af_config_thumos();
        int64_t Tn = T;
        if (!strcmp(n, "model_small") || !strcmp(n, "model_small_af")) {
            c.d_in = 256;
            c.ch = 128;
            Tn = 256;
        } else if (strcmp(n, "model_thumos") && strcmp(n, "model_thumos_af")) {
            return -1;
        }
        if (tal_af_define(&r->model, r->P, &c) || tal_params_alloc(r->P, NULL) || tal_af_init(&r->model, r->P, &rng))
            return -1;
        r->aux = ext(SHAPE(B, c.d_in, Tn), 0);
        r->mask = mask_of(Tn);
        for (int l = 0; l < 6; l++, Tn /= 2) {
            r->ys[l] = ext(SHAPE(B, c.num_classes, Tn), 3);
            for (int64_t i = 0; i < tal_numel(r->ys[l]); i++)
                r->ys[l]->data[i] = tal_rng_float(&rng) < 0.02f ? 1.0f : 0.0f;
        }
        return 0;
    }
    int64_t bct[3] = { B, C, T };
    if (!strcmp(n, "cross_entropy")) {
        r->in[0] = param(r, "x", SHAPE(B * T, C));
        r->idx = malloc(sizeof(int32_t) * B * T);
        for (int i = 0; i < B * T; i++)
            r->idx[i] = (int32_t)tal_rng_below(&rng, C);
    } else if (!strcmp(n, "diou")) {
        r->in[0] = param(r, "p", SHAPE((int64_t)B * C * T / 2, 2));
        r->aux = ext(SHAPE((int64_t)B * C * T / 2, 2), 1);
        for (int64_t i = 0; i < tal_numel(r->aux); i++)
            r->aux->data[i] += 0.1f;
    } else if (strcmp(n, "conv_k3_2048")) {
        r->in[0] = param(r, "x", 3, bct);
    }
    if (!strcmp(n, "conv1x1")) {
        r->in[1] = param(r, "w", SHAPE(C, C, 1));
        r->in[2] = param(r, "b", SHAPE(C));
    } else if (!strcmp(n, "conv_k3")) {
        r->in[1] = param(r, "w", SHAPE(C, C, 3));
    } else if (!strcmp(n, "conv_k3_2048")) {
        r->in[1] = param(r, "w", SHAPE(C, 2048, 3));
        r->aux = ext(SHAPE(B, 2048, T), 0);
    } else if (!strncmp(n, "dwconv", 6)) {
        r->in[1] = param(r, "w", SHAPE(C, 1, 3));
    } else if (!strcmp(n, "layernorm")) {
        r->in[1] = param(r, "w", SHAPE(1, C, 1));
        r->in[2] = param(r, "b", SHAPE(1, C, 1));
    } else if (!strncmp(n, "attn_", 5) || !strcmp(n, "concat")) {
        r->in[1] = param(r, "k", 3, bct);
        r->in[2] = param(r, "v", 3, bct);
    } else if (!strcmp(n, "layer_scale") || !strcmp(n, "add_bcast")) {
        r->in[1] = param(r, "s", SHAPE(1, C, 1));
    }
    if (tal_params_alloc(r->P, NULL))
        return -1;
    for (int i = 0; i < tal_params_count(r->P); i++) {
        tal_tensor *t = tal_params_get(r->P, i);
        randn(t->data, (size_t)tal_numel(t));
    }
    if (!strcmp(n, "diou"))
        for (int64_t i = 0; i < tal_numel(r->in[0]); i++)
            r->in[0]->data[i] = 0.1f + tal_rng_float(&rng);
    r->mask = mask_of(!strcmp(n, "dwconv_s2") ? T / 2 : T);   /* the output's mask */
    if (!strcmp(n, "softmax_t") || !strcmp(n, "mul_mask"))
        r->aux = ext(SHAPE(B, 1, T), 3), memcpy(r->aux->data, r->mask->data, sizeof(float) * B * T);
    if (!strcmp(n, "bce") || !strcmp(n, "qfl"))
        r->aux = ext(3, bct, 1);
    if (!strcmp(n, "focal"))
        r->aux = ext(3, bct, 2);
    if (!strcmp(n, "gather")) {
        r->idx = malloc(sizeof(int32_t) * T / 2);
        for (int i = 0; i < T / 2; i++)
            r->idx[i] = (int32_t)tal_rng_below(&rng, T);
    }
    return 0;
}

/* One step: reset, forward, backward with the fixed output gradient. */
static int step(tal_graph *g, row *r, int model, tal_rng *sr, float **gy)
{
    tal_graph_reset(g);
    tal_graph_set_training(g, 1);
    tal_graph_set_rng(g, sr);
    tal_params_zero_grad(r->P);
    tal_tensor *y = model ? run_model(g, r) : run_op(g, r);
    if (!y)
        return -1;
    int rc;
    if (tal_numel(y) == 1) {
        rc = tal_backward(g, y);
    } else {
        if (!*gy) {
            *gy = malloc(sizeof(float) * (size_t)tal_numel(y));
            randn(*gy, (size_t)tal_numel(y));
        }
        rc = tal_backward_seed(g, y, *gy);
    }
    if (rc)
        return rc;
    tal_params_finish_grads(r->P);
    return 0;
}

/* The best rate of one product of the given shape (2 threads), GFLOP/s. */
static double sgemm_rate(int M, int N, int K)
{
    float *A = malloc(sizeof(float) * (size_t)M * K), *Bm = malloc(sizeof(float) * (size_t)K * N);
    float *Cm = malloc(sizeof(float) * (size_t)M * N);
    randn(A, (size_t)M * K);
    randn(Bm, (size_t)K * N);
    double best = 1e30;
    for (int i = 0; i < 6; i++) {
        double t0 = now();
        tal_cpu_sgemm(0, 0, M, N, K, 1.0f, A, K, Bm, N, 0.0f, Cm, N);
        double t = now() - t0;
        if (i && t < best)
            best = t;
    }
    free(A);
    free(Bm);
    free(Cm);
    return 2.0 * M * N * K / best / 1e9;
}

/* How close the THUMOS-size network comes to the rate of its matrix
 * products: what it multiplies per step, the time it spends there, and the
 * floor that time would have at the best rate a plain product reaches. */
static int gemm_floor(int reps)
{
    double r1 = sgemm_rate(512, 4608, 1536), r2 = sgemm_rate(2048, 2048, 2048);
    double best = r1 > r2 ? r1 : r2;
    row r = { .name = "model_thumos" };
    if (setup(&r))
        return 1;
    tal_graph *g = tal_graph_new(NULL);
    float *gy = NULL;
    tal_rng sr = tal_rng_split(&rng, 7);
    for (int it = 0; it < 2; it++)
        if (step(g, &r, 1, &sr, &gy))
            return 1;
    tal_cpu_gemm_account(1, NULL);
    double t0 = now();
    for (int it = 0; it < reps; it++)
        if (step(g, &r, 1, &sr, &gy))
            return 1;
    double t = (now() - t0) / reps;
    tal_cpu_gemm_stats st;
    tal_cpu_gemm_account(0, &st);
    double fl = st.flops / reps, gs = st.seconds / reps;
    printf("gemm-floor: model_thumos: %.1f GFLOP of matrix products per step (%.0f calls); %.3f s of the %.3f s "
           "step in them (%.0f GFLOP/s); one product alone: %.0f GFLOP/s (512x4608x1536), %.0f GFLOP/s (2048^3); "
           "floor at the best: %.3f s\n",
           fl / 1e9, (double)st.calls / reps, gs, t, fl / gs / 1e9, r1, r2, fl / best / 1e9);
    tal_graph_free(g);
    return 0;
}

/* Per op: where one step of a row goes (nn/profile.h), averaged over
 * reps steps after two warm-up steps. */
static int profile_row(const char *name, int reps)
{
    row r = { .name = name };
    if (setup(&r))
        return 1;
    int model = !strncmp(name, "model_", 6);
    tal_graph *g = tal_graph_new(NULL);
    float *gy = NULL;
    tal_rng sr = tal_rng_split(&rng, 11);
    for (int it = 0; it < 2; it++)
        if (step(g, &r, model, &sr, &gy))
            return 1;
    tal_cpu_gemm_account(1, NULL);
    tal_profile(1);
    double t0 = now();
    for (int it = 0; it < reps; it++) {
        tal_profile_mark();
        if (step(g, &r, model, &sr, &gy))
            return 1;
    }
    double t = (now() - t0) / reps;
    tal_profile(0);
    tal_cpu_gemm_stats st;
    tal_cpu_gemm_account(0, &st);
    tal_profile_row rows[128];
    int n = tal_profile_rows(rows, 128);
    double fsum = 0, bsum = 0;
    printf("profile: %s: %.1f ms per step (%d steps), %.1f ms of it in matrix products (%.0f GFLOP/s)\n", name,
           1e3 * t, reps, 1e3 * st.seconds / reps, st.flops / st.seconds / 1e9);
    printf("%-22s %10s %10s %10s %7s %8s\n", "op", "fwd_ms", "bwd_ms", "total_ms", "share", "calls");
    for (int i = 0; i < n; i++) {
        double f = 1e3 * rows[i].fwd / reps, b = 1e3 * rows[i].bwd / reps;
        fsum += f, bsum += b;
        printf("%-22s %10.2f %10.2f %10.2f %6.1f%% %8.0f\n", rows[i].op, f, b, f + b, 100 * (f + b) / (1e3 * t),
               (double)(rows[i].nfwd + rows[i].nbwd) / reps);
    }
    printf("%-22s %10.2f %10.2f %10.2f %6.1f%%\n", "(all ops)", fsum, bsum, fsum + bsum,
           100 * (fsum + bsum) / (1e3 * t));
    tal_graph_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: core-bench ROW [REPEATS] | core-bench --gemm-floor [REPEATS] | core-bench --profile ROW [REPEATS]\n");
        return 2;
    }
    tal_set_progname("core-bench");
    tal_cpu_set_threads(2);
    tal_rng_seed(&rng, 1);
    if (!strcmp(argv[1], "--profile") && argc > 2) {
        int rc = profile_row(argv[2], argc > 3 ? atoi(argv[3]) : 3);
        if (rc)
            fprintf(stderr, "core-bench: --profile: %s\n", tal_errmsg());
        return rc;
    }
    if (!strcmp(argv[1], "--gemm-floor")) {
        int rc = gemm_floor(argc > 2 ? atoi(argv[2]) : 3);
        if (rc)
            fprintf(stderr, "core-bench: --gemm-floor: %s\n", tal_errmsg());
        return rc;
    }
    row r = { .name = argv[1] };
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    int model = !strncmp(r.name, "model_", 6);
    long base = rss_kib();
    if (setup(&r)) {
        fprintf(stderr, "core-bench: %s: %s\n", r.name, tal_errmsg()[0] ? tal_errmsg() : "unknown row");
        return 1;
    }
    tal_graph *g = tal_graph_new(NULL);
    float *gy = NULL;
    double *times = calloc((size_t)reps + 2, sizeof *times);
    int warm = 2;   /* the first step grows the arena, the second moves it into one block */
    tal_rng step_rng = tal_rng_split(&rng, 99);
    for (int it = 0; it < reps + warm; it++) {
        double t0 = now();
        tal_rng sr = tal_rng_split(&step_rng, (uint64_t)it);
        if (step(g, &r, model, &sr, &gy)) {
            fprintf(stderr, "core-bench: %s: %s\n", r.name, tal_errmsg());
            return 1;
        }
        if (it >= warm)
            times[it - warm] = now() - t0;
    }
    /* median */
    for (int i = 1; i < reps; i++)
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double t = times[j];
            times[j] = times[j - 1];
            times[j - 1] = t;
        }
    printf("%s %.6f %ld %ld\n", r.name, times[reps / 2], rss_kib(), base);
    return 0;
}
