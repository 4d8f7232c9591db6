/* cuda_bench.c — the talcore side of `make bench-cuda`.
 *
 *     build/rel-cuda/bench/cuda-bench [STEPS [WARMUP]]
 *
 * One training step of the ActionFormer-style network with both heads at
 * THUMOS size (batch 2, T = 2304, D_in = 2048, 512 channels, 4 heads,
 * window 19: tal_af_config_thumos), on the CUDA backend in float32 (TF32
 * only with TAL_CUDA_TF32=1): copy the batch (features, mask, targets) from
 * host memory, forward, sigmoid focal loss on every level plus the sum of
 * the regression outputs, backward, AdamW.  The loss is the one
 * pipelines/bench/core_torch.py's model rows use; cuda_torch.py does the same step
 * on the same GPU with that file's PyTorch network.  After WARMUP steps
 * (default 5), STEPS steps (default 30) are timed one by one, each ended by
 * a device synchronisation, and one line is printed:
 *
 *     talcore <median s> <peak bytes in use> <peak bytes reserved> <device>
 *
 * Peak memory is the backend allocator's (lib/backends/cuda.h), from the
 * start of the first timed step: bytes handed out at most, and bytes taken
 * from the driver (in use plus cached) at most.  Never run yet: no GPU was
 * available where it was written (kernels/README.md).
 */
#include "tal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { B = 2, T = 2304, LEVELS = 6 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int fail(const char *what)
{
    fprintf(stderr, "cuda-bench: %s: %s\n", what, tal_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    tal_set_progname("cuda-bench");
    int steps = argc > 1 ? atoi(argv[1]) : 30, warm = argc > 2 ? atoi(argv[2]) : 5;
    if (steps < 1 || warm < 0) {
        fprintf(stderr, "usage: cuda-bench [STEPS [WARMUP]]\n");
        return 2;
    }
    const tal_backend *be = tal_backend_for("cuda");
    if (!be)
        return fail("--device cuda");

    tal_rng rng;
    tal_rng_seed(&rng, 1);
    tal_af_config c = tal_af_config_thumos();
    tal_af_model model;
    tal_params *P = tal_params_new();
    if (!P || tal_af_define(&model, P, &c) || tal_params_alloc(P, be) || tal_af_init(&model, P, &rng))
        return fail("model");
    tal_optim_config oc = tal_optim_defaults(TAL_OPT_ADAMW);
    oc.weight_decay = 0.05f;
    tal_optim *opt = tal_optim_new(P, &oc);
    tal_graph *g = tal_graph_new(be);
    if (!opt || !g)
        return fail("optimiser");

    /* the batch on the host: features N(0,1), sequence 1 padded over its
     * last eighth, 2 % positive targets on each level (as core_torch.py) */
    size_t nx = (size_t)B * c.d_in * T, ny = 0;
    for (int l = 0, t = T; l < LEVELS; l++, t /= 2)
        ny += (size_t)B * c.num_classes * t;
    float *x = malloc(nx * sizeof *x), *m = malloc((size_t)B * T * sizeof *m), *y = malloc(ny * sizeof *y);
    double *times = malloc((size_t)steps * sizeof *times);
    if (!x || !m || !y || !times)
        return fail("out of memory");
    for (size_t i = 0; i < nx; i++)
        x[i] = (float)tal_rng_normal(&rng);
    for (int i = 0; i < B * T; i++)
        m[i] = (i / T == 1 && i % T >= T - T / 8) ? 0.0f : 1.0f;
    for (size_t i = 0; i < ny; i++)
        y[i] = tal_rng_float(&rng) < 0.02f ? 1.0f : 0.0f;

    tal_rng step_rng = tal_rng_split(&rng, 99);
    for (int it = 0; it < warm + steps; it++) {
        if (it == warm)
            tal_cuda_mem_reset_peak();
        if (tal_cuda_synchronize())
            return fail("step");
        double t0 = now();
        tal_graph_reset(g);
        tal_graph_set_training(g, 1);
        tal_rng sr = tal_rng_split(&step_rng, (uint64_t)it);
        tal_graph_set_rng(g, &sr);
        tal_tensor *xt = tal_tensor_from(g, 3, (int64_t[]){ B, c.d_in, T }, x);
        tal_tensor *mt = tal_tensor_from(g, 2, (int64_t[]){ B, T }, m);
        tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *ms[TAL_AF_MAX_LEVELS];
        int L = tal_af_forward(g, &model, xt, mt, cls, reg, ms);
        if (L != LEVELS)
            return fail("forward");
        tal_tensor *loss = NULL;
        size_t off = 0;
        for (int l = 0; l < L; l++) {
            tal_tensor *yt = tal_tensor_from(g, 3, cls[l]->shape, y + off);
            off += (size_t)tal_numel(cls[l]);
            tal_tensor *term = tal_add(g, tal_sum_all(g, tal_sigmoid_focal(g, cls[l], yt, 0.25f, 2.0f)),
                                       tal_sum_all(g, reg[l]));
            loss = loss ? tal_add(g, loss, term) : term;
        }
        if (!loss)
            return fail("loss");
        tal_params_zero_grad(P);
        if (tal_backward(g, loss) || tal_optim_step(opt, 1e-4f) || tal_cuda_synchronize())
            return fail("backward");
        if (it >= warm)
            times[it - warm] = now() - t0;
    }
    qsort(times, (size_t)steps, sizeof *times, cmp_double);
    tal_cuda_mem mem;
    tal_cuda_mem_stats(&mem);
    printf("talcore %.6f %zu %zu %s\n", times[steps / 2], mem.peak_live, mem.peak_reserved, tal_cuda_device_name());
    tal_graph_free(g);
    tal_optim_free(opt);
    tal_params_free(P);
    free(x);
    free(m);
    free(y);
    free(times);
    return 0;
}
