/* conv_primitives.c — talcore's convolutions against oneDNN's own
 * convolution primitives, same process, same threads (make bench-conv).
 *
 *     build/rel/bench/conv-primitives [REPEATS]
 *
 * talcore runs a dense stride-1 convolution as one matrix product per tap
 * on a shifted view of the (B, C, T) input (lib/backends/cpu_conv.c); its
 * products go through oneDNN's sgemm.  oneDNN also has convolution
 * primitives, JIT kernels that read the input once for all taps; they want
 * their own blocked layouts (channels in blocks of 16), and with the plain
 * (B, C, T) layout talcore keeps they fall back to im2col + sgemm.  This
 * program times, for the convolutions of the THUMOS-size network, forward,
 * backward to the input and backward to the weights of
 *   - talcore (tal_cpu_conv1d_forward / _backward, bias on),
 *   - oneDNN with the plain layout (what a drop-in replacement would run),
 *   - oneDNN with the layouts it chooses, without the reorders the rest of
 *     the network would then need (the best a primitive can do here),
 * each the smallest of REPEATS calls after one warm-up, the three sides
 * taking turns per repeat.  One line per shape and side, in ms and GFLOP/s.
 */
#include "tal.h"
#include "backends/cpu.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DNNL_OK(call)                                                                                          \
    do {                                                                                                       \
        dnnl_status_t st_ = (call);                                                                            \
        if (st_ != dnnl_success) {                                                                             \
            fprintf(stderr, "conv-primitives: %s: oneDNN status %d\n", #call, (int)st_);                       \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)((i * 2654435761u + seed) % 2001) / 1000.0f - 1.0f;
}

static float *alloc_filled(size_t n, unsigned seed)
{
    float *x = malloc(n * sizeof *x);
    if (!x) {
        fprintf(stderr, "conv-primitives: out of memory\n");
        exit(1);
    }
    fill(x, n, seed);
    return x;
}

static dnnl_memory_t dnnl_mem(const dnnl_memory_desc_t *md, unsigned seed)
{
    dnnl_memory_t m;
    DNNL_OK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
    void *p;
    DNNL_OK(dnnl_memory_get_data_handle(m, &p));
    fill(p, dnnl_memory_desc_get_size(md) / sizeof(float), seed);
    return m;
}

/* one oneDNN side: the three primitives and their arguments */
typedef struct {
    dnnl_primitive_desc_t pd[3];
    dnnl_memory_t mem[8];
    dnnl_primitive_t prim[3];
    dnnl_exec_arg_t args[3][4];
    int nargs[3];
    const char *impl[3];
} dnnl_side;

static void dnnl_side_init(dnnl_side *s, int B, int Ci, int Co, int T, int K, int blocked)
{
    dnnl_format_tag_t any = dnnl_format_tag_any;
    dnnl_dims_t sd = { B, Ci, T }, wd = { Co, Ci, K }, dd = { B, Co, T }, bd = { Co };
    dnnl_memory_desc_t src, wei, dst, bias;
    DNNL_OK(dnnl_memory_desc_init_by_tag(&src, 3, sd, dnnl_f32, blocked ? any : dnnl_ncw));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&wei, 3, wd, dnnl_f32, blocked ? any : dnnl_oiw));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&dst, 3, dd, dnnl_f32, blocked ? any : dnnl_ncw));
    DNNL_OK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x));
    dnnl_dims_t stride = { 1 }, pad = { K / 2 };
    dnnl_convolution_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t pf, pd, pw;
    DNNL_OK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei,
                                               &bias, &dst, stride, pad, pad));
    DNNL_OK(dnnl_primitive_desc_create(&pf, &fd, NULL, engine, NULL));
    DNNL_OK(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &src, &wei, &dst, stride, pad,
                                                     pad));
    DNNL_OK(dnnl_primitive_desc_create(&pd, &bdd, NULL, engine, pf));
    DNNL_OK(dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src, &wei, &bias, &dst,
                                                        stride, pad, pad));
    DNNL_OK(dnnl_primitive_desc_create(&pw, &bwd, NULL, engine, pf));
    /* the layouts the forward chose serve all three */
    const dnnl_memory_desc_t *S = dnnl_primitive_desc_query_md(pf, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *W = dnnl_primitive_desc_query_md(pf, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *D = dnnl_primitive_desc_query_md(pf, dnnl_query_dst_md, 0);
    dnnl_memory_t x = dnnl_mem(S, 1), w = dnnl_mem(W, 2), b = dnnl_mem(&bias, 3), y = dnnl_mem(D, 4);
    dnnl_memory_t dx = dnnl_mem(S, 5), dw = dnnl_mem(W, 6), db = dnnl_mem(&bias, 7), dy = dnnl_mem(D, 8);
    s->pd[0] = pf, s->pd[1] = pd, s->pd[2] = pw;
    for (int i = 0; i < 3; i++) {
        DNNL_OK(dnnl_primitive_create(&s->prim[i], s->pd[i]));
        DNNL_OK(dnnl_primitive_desc_query(s->pd[i], dnnl_query_impl_info_str, 0, &s->impl[i]));
    }
    dnnl_memory_t all[8] = { x, w, b, y, dx, dw, db, dy };
    for (int i = 0; i < 8; i++)
        s->mem[i] = all[i];
    dnnl_exec_arg_t a0[4] = { { DNNL_ARG_SRC, x }, { DNNL_ARG_WEIGHTS, w }, { DNNL_ARG_BIAS, b }, { DNNL_ARG_DST, y } };
    dnnl_exec_arg_t a1[3] = { { DNNL_ARG_DIFF_SRC, dx }, { DNNL_ARG_WEIGHTS, w }, { DNNL_ARG_DIFF_DST, dy } };
    dnnl_exec_arg_t a2[4] = {
        { DNNL_ARG_SRC, x }, { DNNL_ARG_DIFF_WEIGHTS, dw }, { DNNL_ARG_DIFF_BIAS, db }, { DNNL_ARG_DIFF_DST, dy }
    };
    for (int j = 0; j < 4; j++)
        s->args[0][j] = a0[j], s->args[2][j] = a2[j];
    for (int j = 0; j < 3; j++)
        s->args[1][j] = a1[j];
    s->nargs[0] = 4, s->nargs[1] = 3, s->nargs[2] = 4;
}

static void dnnl_side_free(dnnl_side *s)
{
    for (int i = 0; i < 3; i++)
        dnnl_primitive_destroy(s->prim[i]), dnnl_primitive_desc_destroy(s->pd[i]);
    for (int i = 0; i < 8; i++)
        dnnl_memory_destroy(s->mem[i]);
}

static double dnnl_run(dnnl_side *s, int which)
{
    double t0 = now();
    DNNL_OK(dnnl_primitive_execute(s->prim[which], stream, s->nargs[which], s->args[which]));
    DNNL_OK(dnnl_stream_wait(stream));
    return now() - t0;
}

/* talcore's side: its buffers, in the (B, C, T) layout */
typedef struct {
    int B, Ci, Co, T, K;
    float *x, *w, *b, *y, *dx, *dw, *db, *dy, *ws;
} tal_side;

static void tal_side_init(tal_side *s, int B, int Ci, int Co, int T, int K)
{
    *s = (tal_side){ .B = B, .Ci = Ci, .Co = Co, .T = T, .K = K };
    size_t nx = (size_t)B * Ci * T, ny = (size_t)B * Co * T, nw = (size_t)Co * Ci * K;
    s->x = alloc_filled(nx, 1), s->w = alloc_filled(nw, 2), s->b = alloc_filled(Co, 3), s->y = alloc_filled(ny, 4);
    s->dx = alloc_filled(nx, 5), s->dw = alloc_filled(nw, 6), s->db = alloc_filled(Co, 7), s->dy = alloc_filled(ny, 8);
    size_t ws = tal_conv1d_ws(0, B, Ci, Co, T, T, K, 1, K / 2, 1) + ny;
    s->ws = alloc_filled(ws ? ws : 1, 9);
}

static double tal_run(tal_side *s, int which)
{
    double t0 = now();
    int B = s->B, Ci = s->Ci, Co = s->Co, T = s->T, K = s->K;
    if (which == 0)
        tal_cpu_conv1d_forward(s->y, s->x, s->w, s->b, NULL, B, Ci, Co, T, T, K, 1, K / 2, 1, s->ws);
    else if (which == 1)
        tal_cpu_conv1d_backward(s->dx, NULL, NULL, s->dy, s->x, s->w, NULL, B, Ci, Co, T, T, K, 1, K / 2, 1, 0, 0,
                                0, s->ws);
    else
        tal_cpu_conv1d_backward(NULL, s->dw, s->db, s->dy, s->x, s->w, NULL, B, Ci, Co, T, T, K, 1, K / 2, 1, 0, 0,
                                0, s->ws);
    return now() - t0;
}

static void tal_side_free(tal_side *s)
{
    free(s->x), free(s->w), free(s->b), free(s->y), free(s->dx), free(s->dw), free(s->db), free(s->dy), free(s->ws);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    if (argc > 2 || reps < 1) {
        fprintf(stderr, "usage: conv-primitives [REPEATS]\n");
        return 2;
    }
    tal_cpu_set_threads(2);
    DNNL_OK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    DNNL_OK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    /* the THUMOS-size network's dense convolutions: embedding (2048 -> 512,
     * k 3), heads (k 3), projections and MLP (k 1), at the finest level
     * and at the coarsest (72 positions) */
    static const int shapes[][5] = {
        { 2, 2048, 512, 2304, 3 }, { 2, 512, 512, 2304, 3 }, { 2, 512, 512, 2304, 1 },
        { 2, 512, 2048, 2304, 1 }, { 2, 2048, 512, 2304, 1 }, { 2, 512, 512, 576, 3 }, { 2, 512, 512, 288, 1 }, { 2, 512, 512, 72, 3 },
    };
    static const char *what[3] = { "forward", "backward-data", "backward-weights" };
    static const char *side_name[3] = { "talcore", "onednn-plain", "onednn-blocked" };
    printf("%-26s %-16s %-15s %9s %8s  %s\n", "shape (B Cin->Cout T K)", "pass", "side", "ms", "GFLOP/s",
           "oneDNN implementation");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int *sh = shapes[i];
        tal_side ts;
        dnnl_side plain, blocked;
        tal_side_init(&ts, sh[0], sh[1], sh[2], sh[3], sh[4]);
        dnnl_side_init(&plain, sh[0], sh[1], sh[2], sh[3], sh[4], 0);
        dnnl_side_init(&blocked, sh[0], sh[1], sh[2], sh[3], sh[4], 1);
        double gflop = 2.0 * sh[0] * sh[3] * sh[1] * sh[2] * sh[4] / 1e9;
        char label[64];
        snprintf(label, sizeof label, "%d %d->%d %d %d", sh[0], sh[1], sh[2], sh[3], sh[4]);
        for (int pass = 0; pass < 3; pass++) {
            double best[3] = { 1e30, 1e30, 1e30 };
            for (int r = 0; r <= reps; r++)   /* r = 0: warm-up */
                for (int k = 0; k < 3; k++) {
                    int side = (k + r) % 3;
                    double t = side == 0 ? tal_run(&ts, pass) : dnnl_run(side == 1 ? &plain : &blocked, pass);
                    if (r > 0 && t < best[side])
                        best[side] = t;
                }
            for (int side = 0; side < 3; side++)
                printf("%-26s %-16s %-15s %9.2f %8.0f  %s\n", label, what[pass], side_name[side], 1e3 * best[side],
                       gflop / best[side], side == 0 ? "-" : (side == 1 ? plain : blocked).impl[pass]);
        }
        tal_side_free(&ts);
        dnnl_side_free(&plain);
        dnnl_side_free(&blocked);
    }
    return 0;
}
