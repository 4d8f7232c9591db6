/* test_nn_ref.c — every op, an ActionFormer-style block (stride 1 and 2,
 * window 5 and 19), a tiny whole network and the optimisers against
 * PyTorch's float64 results stored in test/data/ref (make reference).
 *
 * Bound: |ours - torch| <= atol * max|torch| + rtol * |torch| per element;
 * ops rtol 1e-4, atol 1e-5; the block and network, whose outputs pass
 * through a dozen float32 ops, rtol 1e-3, atol 1e-4. */
#include "harness.h"
#include "refdata.h"
#include "models/af_backbone.h"
#include "nn/clip.h"
#include "nn/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef tal_tensor *(*ref_fn)(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                              const float *fa);

/* run every case "<fam>/<i>" of a family; "" or the first mismatch */
static const char *run_family(const char *file, const char *fam, const char *const *names, ref_fn fn, int *ncases)
{
    static char why[512];
    why[0] = 0;
    ref_file f;
    if (ref_load(&f, file)) {
        snprintf(why, sizeof why, "%s", tal_errmsg());
        return why;
    }
    *ncases = 0;
    for (int i = 0; ref_get(&f, "%s/%d/y", fam, i); i++) {
        char cs[64];
        snprintf(cs, sizeof cs, "%s/%d", fam, i);
        const int32_t *ia = ref_i(ref_get(&f, "%s/args", cs));
        const float *fa = ref_f(ref_get(&f, "%s/fargs", cs));
        tal_graph *g = tal_graph_new(NULL);
        tal_rng r;
        tal_rng_seed(&r, (uint64_t)ia[0]);
        tal_graph_set_rng(g, &r);
        tal_graph_set_training(g, 1);
        tal_tensor *in[8] = { 0 };
        int k;
        for (k = 0; names[k]; k++) {
            const ref_arr *a = ref_get(&f, "%s/%s", cs, names[k]);
            if (a && a->dtype == 0) {
                in[k] = ref_tensor(g, a);
                if (ref_get(&f, "%s/g%s", cs, names[k]))
                    tal_tensor_requires_grad(in[k]);
            }
        }
        tal_tensor *y = fn(g, in, &f, cs, ia, fa);
        int bad = !y;
        if (bad)
            snprintf(why, sizeof why, "%s: op failed: %s", cs, tal_errmsg());
        if (!bad)
            bad = ref_compare_tensor(g, y, 0, ref_get(&f, "%s/y", cs), 1e-4, 1e-5, why, sizeof why);
        const ref_arr *gy = ref_get(&f, "%s/gy", cs);
        if (!bad && (y->flags & TAL_T_REQUIRES_GRAD) && tal_backward_seed(g, y, ref_f(gy))) {
            snprintf(why, sizeof why, "%s: backward failed: %s", cs, tal_errmsg());
            bad = 1;
        }
        for (k = 0; names[k] && !bad; k++) {
            const ref_arr *ga = ref_get(&f, "%s/g%s", cs, names[k]);
            if (ga)
                bad = ref_compare_tensor(g, in[k], 1, ga, 1e-4, 1e-5, why, sizeof why);
        }
        tal_graph_free(g);
        (*ncases)++;
        if (bad)
            break;
    }
    ref_free(&f);
    if (!why[0] && *ncases == 0)
        snprintf(why, sizeof why, "no cases of %s in %s", fam, file);
    return why;
}

#define FAMILY(fam, fn, ...)                                                              \
    do {                                                                                  \
        static const char *const names_[] = { __VA_ARGS__, NULL };                        \
        int n_;                                                                           \
        const char *m_ = run_family("test/data/ref/ops.ref", fam, names_, fn, &n_);       \
        CHECK_MSG(!m_[0], "%s", m_);                                                      \
    } while (0)

static tal_tensor *r_linear(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_linear(g, in[0], in[1], ia[0] ? in[2] : NULL);
}

static tal_tensor *r_matmul(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_matmul(g, in[0], in[1], ia[0], ia[1]);
}

static tal_tensor *r_conv(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                          const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_conv1d(g, in[0], in[1], ia[3] ? in[2] : NULL, ia[0], ia[1], ia[2], ia[4] ? in[3] : NULL);
}

static tal_tensor *r_ln(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                        const float *fa)
{
    (void)f, (void)cs;
    return tal_layernorm(g, in[0], ia[0] ? in[1] : NULL, ia[0] ? in[2] : NULL, fa[0]);
}

static tal_tensor *r_act(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                         const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return ia[0] == 0 ? tal_relu(g, in[0]) : ia[0] == 1 ? tal_gelu(g, in[0]) : tal_sigmoid(g, in[0]);
}

static tal_tensor *r_softmax(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                             const float *fa)
{
    (void)f, (void)cs, (void)fa;
    tal_tensor *m = ia[2] ? in[1] : NULL;
    return ia[1] ? tal_log_softmax(g, in[0], ia[0], m) : tal_softmax(g, in[0], ia[0], m);
}

static tal_tensor *r_maxpool(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                             const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_maxpool1d(g, in[0], ia[0], ia[1], ia[2]);
}

static tal_tensor *r_topk(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                          const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_topk_mean(g, in[0], ia[0], ia[1] ? in[1] : NULL);
}

static tal_tensor *r_attn(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                          const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_attention(g, in[0], in[1], in[2], ia[2] ? in[3] : NULL, ia[0], ia[1]);
}

static tal_tensor *r_dropout(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                             const float *fa)
{
    (void)f, (void)cs, (void)ia;
    return tal_dropout(g, in[0], fa[0]);
}

static tal_tensor *r_drop_path(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                               const float *fa)
{
    (void)f, (void)cs, (void)ia;
    return tal_drop_path(g, in[0], fa[0]);
}

static tal_tensor *r_layer_scale(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs,
                                 const int32_t *ia, const float *fa)
{
    (void)f, (void)cs, (void)ia, (void)fa;
    return tal_layer_scale(g, in[0], in[1]);
}

static tal_tensor *r_concat(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_concat(g, 3, in, ia[0]);
}

static tal_tensor *r_slice(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                           const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_slice(g, in[0], ia[0], ia[1], ia[2]);
}

static tal_tensor *r_transpose(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                               const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_contiguous(g, tal_transpose(g, in[0], ia[0], ia[1]));
}

static tal_tensor *r_binary(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return ia[0] == 0 ? tal_add(g, in[0], in[1]) : ia[0] == 1 ? tal_sub(g, in[0], in[1]) : tal_mul(g, in[0], in[1]);
}

static tal_tensor *r_affine(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)f, (void)cs, (void)ia;
    return tal_affine(g, in[0], fa[0], fa[1]);
}

static tal_tensor *r_clamp(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                           const float *fa)
{
    (void)f, (void)cs, (void)ia;
    return tal_clamp(g, in[0], fa[0], fa[1]);
}

static tal_tensor *r_reduce(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)f, (void)cs, (void)fa;
    int op = ia[0], dim = ia[1], keep = ia[2];
    if (dim == -99)
        return op == 0 ? tal_sum_all(g, in[0]) : op == 1 ? tal_mean_all(g, in[0]) : tal_max_all(g, in[0]);
    return op == 0 ? tal_sum(g, in[0], dim, keep) : op == 1 ? tal_mean(g, in[0], dim, keep)
                                                            : tal_max(g, in[0], dim, keep);
}

static tal_tensor *r_resample(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                              const float *fa)
{
    (void)f, (void)cs, (void)fa;
    return tal_resample(g, in[0], ia[0], ia[1]);
}

static tal_tensor *r_gather(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                            const float *fa)
{
    (void)fa;
    const ref_arr *idx = ref_get(f, "%s/idx", cs);
    return tal_gather(g, in[0], ia[0], ref_i(idx), idx->n);
}

static tal_tensor *r_bce(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                         const float *fa)
{
    (void)f, (void)cs, (void)ia, (void)fa;
    return tal_bce_logits(g, in[0], in[1]);
}

static tal_tensor *r_focal(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                           const float *fa)
{
    (void)f, (void)cs, (void)ia;
    return tal_sigmoid_focal(g, in[0], in[1], fa[0], fa[1]);
}

static tal_tensor *r_qfl(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                         const float *fa)
{
    (void)f, (void)cs, (void)ia;
    return tal_quality_focal(g, in[0], in[1], fa[0]);
}

static tal_tensor *r_ce(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                        const float *fa)
{
    (void)ia, (void)fa;
    return tal_cross_entropy(g, in[0], ref_i(ref_get(f, "%s/target", cs)));
}

static tal_tensor *r_diou(tal_graph *g, tal_tensor **in, const ref_file *f, const char *cs, const int32_t *ia,
                          const float *fa)
{
    (void)f, (void)cs, (void)ia, (void)fa;
    return tal_diou_1d(g, in[0], in[1]);
}

TEST(nn_ref_linear) { FAMILY("linear", r_linear, "x", "w", "b"); }
TEST(nn_ref_matmul) { FAMILY("matmul", r_matmul, "a", "b"); }
TEST(nn_ref_conv1d) { FAMILY("conv1d", r_conv, "x", "w", "b", "mask"); }
TEST(nn_ref_layernorm) { FAMILY("layernorm", r_ln, "x", "w", "b"); }
TEST(nn_ref_activations) { FAMILY("act", r_act, "x"); }
TEST(nn_ref_softmax) { FAMILY("softmax", r_softmax, "x", "mask"); }
TEST(nn_ref_maxpool) { FAMILY("maxpool", r_maxpool, "x"); }
TEST(nn_ref_topk_mean) { FAMILY("topk", r_topk, "x", "mask"); }
TEST(nn_ref_attention) { FAMILY("attention", r_attn, "q", "k", "v", "mask"); }
TEST(nn_ref_dropout) { FAMILY("dropout", r_dropout, "x"); }
TEST(nn_ref_drop_path) { FAMILY("drop_path", r_drop_path, "x"); }
TEST(nn_ref_layer_scale) { FAMILY("layer_scale", r_layer_scale, "x", "s"); }
TEST(nn_ref_concat) { FAMILY("concat", r_concat, "a", "b", "c"); }
TEST(nn_ref_slice) { FAMILY("slice", r_slice, "x"); }
TEST(nn_ref_transpose) { FAMILY("transpose", r_transpose, "x"); }
TEST(nn_ref_broadcast) { FAMILY("binary", r_binary, "a", "b"); }
TEST(nn_ref_affine) { FAMILY("affine", r_affine, "x"); }
TEST(nn_ref_clamp) { FAMILY("clamp", r_clamp, "x"); }
TEST(nn_ref_reductions) { FAMILY("reduce", r_reduce, "x"); }
TEST(nn_ref_resample) { FAMILY("resample", r_resample, "x"); }
TEST(nn_ref_gather) { FAMILY("gather", r_gather, "x"); }
TEST(nn_ref_bce) { FAMILY("bce", r_bce, "x", "t"); }
TEST(nn_ref_focal) { FAMILY("focal", r_focal, "x", "t"); }
TEST(nn_ref_quality_focal) { FAMILY("qfl", r_qfl, "x", "t"); }
TEST(nn_ref_cross_entropy) { FAMILY("ce", r_ce, "x"); }
TEST(nn_ref_diou) { FAMILY("diou", r_diou, "pred", "target"); }

/* ---- networks ------------------------------------------------------------------ */

/* load every parameter of P from "<cs>/p:<name>" */
static int load_params(tal_params *P, const ref_file *f, const char *cs, char *why, size_t nwhy)
{
    for (int i = 0; i < tal_params_count(P); i++) {
        tal_tensor *t = tal_params_get(P, i);
        const ref_arr *a = ref_get(f, "%s/p:%s", cs, t->name);
        if (!a || a->n != tal_numel(t)) {
            snprintf(why, nwhy, "%s: parameter '%s' missing or of another size", cs, t->name);
            return 1;
        }
        tal_params_backend(P)->upload(t->data, a->data, sizeof(float) * (size_t)a->n);
    }
    return 0;
}

/* forward outputs y0.., loss sum(y_i * gy_i), backward, compare everything */
static int check_net(tal_graph *g, tal_params *P, const ref_file *f, const char *cs, tal_tensor *x, tal_tensor **ys,
                     int ny, char *why, size_t nwhy)
{
    tal_tensor *loss = NULL;
    for (int i = 0; i < ny; i++) {
        const ref_arr *want = ref_get(f, "%s/y%d", cs, i);
        if (ref_compare_tensor(g, ys[i], 0, want, 1e-3, 1e-4, why, nwhy))
            return 1;
        tal_tensor *s = tal_sum_all(g, tal_mul(g, ys[i], ref_tensor(g, ref_get(f, "%s/gy%d", cs, i))));
        loss = loss ? tal_add(g, loss, s) : s;
    }
    tal_params_zero_grad(P);
    if (tal_backward(g, loss)) {
        snprintf(why, nwhy, "%s: backward failed: %s", cs, tal_errmsg());
        return 1;
    }
    tal_params_finish_grads(P);
    /* some gradients are 0 in exact arithmetic (a key bias shifts every
     * score of a query alike): bound them by the rounding of the largest */
    double gmax = 0;
    for (int i = 0; i < f->n; i++)
        if (strstr(f->a[i].name, cs) == f->a[i].name && strstr(f->a[i].name, "/gp:"))
            for (int64_t j = 0; j < f->a[i].n; j++)
                gmax = fabs(ref_f(&f->a[i])[j]) > gmax ? fabs(ref_f(&f->a[i])[j]) : gmax;
    ref_abs_floor = 1e-6 * gmax;
    int bad = ref_compare_tensor(g, x, 1, ref_get(f, "%s/gx", cs), 1e-3, 1e-4, why, nwhy);
    for (int i = 0; i < tal_params_count(P) && !bad; i++) {
        tal_tensor *t = tal_params_get(P, i);
        bad = ref_compare_tensor(g, t, 1, ref_get(f, "%s/gp:%s", cs, t->name), 1e-3, 1e-4, why, nwhy);
    }
    ref_abs_floor = 0;
    return bad;
}

static const char *run_block(const char *cs)
{
    static char why[512];
    why[0] = 0;
    ref_file f;
    if (ref_load(&f, "test/data/ref/block.ref"))
        return snprintf(why, sizeof why, "%s", tal_errmsg()), why;
    const ref_arr *xa = ref_get(&f, "%s/x", cs);
    const int32_t *ia = ref_i(ref_get(&f, "%s/args", cs));
    int C = (int)xa->shape[1];
    tal_params *P = tal_params_new();
    tal_af_block blk;
    tal_graph *g = tal_graph_new(NULL);
    if (tal_af_block_define(&blk, P, "blk", C, 4) || tal_params_alloc(P, NULL))
        snprintf(why, sizeof why, "%s", tal_errmsg());
    else if (!load_params(P, &f, cs, why, sizeof why)) {
        tal_tensor *x = ref_tensor(g, xa), *m = ref_tensor(g, ref_get(&f, "%s/mask", cs));
        tal_tensor_requires_grad(x);
        tal_tensor *y = tal_af_block_forward(g, &blk, x, m, ia[0], ia[1], ia[2], 0.0f, NULL);
        if (!y)
            snprintf(why, sizeof why, "%s: forward failed: %s", cs, tal_errmsg());
        else
            check_net(g, P, &f, cs, x, &y, 1, why, sizeof why);
    }
    tal_graph_free(g);
    tal_params_free(P);
    ref_free(&f);
    return why;
}

TEST(nn_ref_block_stride1) { const char *m = run_block("block/s1"); CHECK_MSG(!m[0], "%s", m); }
TEST(nn_ref_block_stride2) { const char *m = run_block("block/s2"); CHECK_MSG(!m[0], "%s", m); }
TEST(nn_ref_block_window19) { const char *m = run_block("block/w19"); CHECK_MSG(!m[0], "%s", m); }

/* the tiny network of block.ref with its reference weights; nonzero and
 * why[] on failure */
static int tiny_network(ref_file *f, tal_params *P, tal_af_model *m, tal_af_config *cfg, char *why, size_t wsize)
{
    const int32_t *a = ref_i(ref_get(f, "model/tiny/args"));
    *cfg = (tal_af_config){ .d_in = a[0], .ch = a[1], .n_embd = a[2], .n_stem = a[3], .n_branch = a[4],
                            .heads = a[5], .window = a[6], .mlp_ratio = a[7], .kernel = a[8], .num_classes = a[9],
                            .head_layers = a[10], .drop_path = 0.0f, .layer_scale = 1e-4f, .prior = 0.01f };
    if (tal_af_define(m, P, cfg) || tal_params_alloc(P, NULL)) {
        snprintf(why, wsize, "%s", tal_errmsg());
        return 1;
    }
    return load_params(P, f, "model/tiny", why, wsize);
}

TEST(nn_ref_tiny_network)
{
    ref_file f;
    CHECK_MSG(!ref_load(&f, "test/data/ref/block.ref"), "%s", tal_errmsg());
    const char *cs = "model/tiny";
    tal_af_config cfg;
    tal_params *P = tal_params_new();
    tal_af_model m;
    tal_graph *g = tal_graph_new(NULL);
    char why[512] = "";
    int bad = tiny_network(&f, P, &m, &cfg, why, sizeof why);
    if (!bad) {
        tal_tensor *x = ref_tensor(g, ref_get(&f, "%s/x", cs)), *mk = ref_tensor(g, ref_get(&f, "%s/mask", cs));
        tal_tensor_requires_grad(x);
        tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *ms[TAL_AF_MAX_LEVELS], *ys[2 * TAL_AF_MAX_LEVELS];
        int L = tal_af_forward(g, &m, x, mk, cls, reg, ms);
        bad = L != cfg.n_branch + 1;
        if (bad)
            snprintf(why, sizeof why, "forward failed: %s", tal_errmsg());
        for (int l = 0; l < L && !bad; l++) {
            ys[l] = cls[l];
            ys[L + l] = reg[l];
        }
        if (!bad)
            bad = check_net(g, P, &f, cs, x, ys, 2 * L, why, sizeof why);
    }
    tal_graph_free(g);
    tal_params_free(P);
    ref_free(&f);
    CHECK_MSG(!why[0], "%s", why);
}

/* inference (tape off) releases each block's working set as it goes: the
 * outputs must be the very numbers the tape-on forward gives, in less memory */
TEST(nn_tiny_network_inference_matches_training_forward)
{
    ref_file f;
    CHECK_MSG(!ref_load(&f, "test/data/ref/block.ref"), "%s", tal_errmsg());
    const char *cs = "model/tiny";
    tal_af_config cfg;
    tal_params *P = tal_params_new();
    tal_af_model m;
    char why[512] = "";
    int bad = tiny_network(&f, P, &m, &cfg, why, sizeof why);
    float *out[2] = { NULL, NULL };
    size_t total = 0, peak[2] = { 0, 0 };
    for (int tape = 1; tape >= 0 && !bad; tape--) {
        tal_graph *g = tal_graph_new(NULL);
        tal_graph_set_grad(g, tape);
        tal_tensor *x = ref_tensor(g, ref_get(&f, "%s/x", cs)), *mk = ref_tensor(g, ref_get(&f, "%s/mask", cs));
        tal_tensor *cls[TAL_AF_MAX_LEVELS], *reg[TAL_AF_MAX_LEVELS], *ms[TAL_AF_MAX_LEVELS];
        int L = tal_af_forward(g, &m, x, mk, cls, reg, ms);
        bad = L != cfg.n_branch + 1;
        total = 0;
        for (int l = 0; l < L && !bad; l++)
            total += (size_t)(tal_numel(cls[l]) + tal_numel(reg[l]));
        out[tape] = bad ? NULL : malloc(total * sizeof(float));
        size_t at = 0;
        for (int l = 0; l < L && out[tape]; l++) {
            bad |= tal_tensor_download(g, cls[l], out[tape] + at) != 0;
            at += (size_t)tal_numel(cls[l]);
            bad |= tal_tensor_download(g, reg[l], out[tape] + at) != 0;
            at += (size_t)tal_numel(reg[l]);
        }
        tal_graph_stats st;
        tal_graph_get_stats(g, &st);
        peak[tape] = st.arena_peak;
        tal_graph_free(g);
        if (bad || !out[tape])
            snprintf(why, sizeof why, "forward (tape %d) failed: %s", tape, tal_errmsg());
    }
    if (!why[0] && memcmp(out[0], out[1], total * sizeof(float)))
        snprintf(why, sizeof why, "inference outputs differ from the tape-on forward");
    if (!why[0] && !(peak[0] * 2 < peak[1]))
        snprintf(why, sizeof why, "inference arena peak %zu, tape-on %zu: not half", peak[0], peak[1]);
    free(out[0]);
    free(out[1]);
    tal_params_free(P);
    ref_free(&f);
    CHECK_MSG(!why[0], "%s", why);
}

/* ---- optimisers, clipping --------------------------------------------------------- */

static void set_grad(tal_params *P, tal_tensor *t, const ref_arr *g)
{
    tal_params_backend(P)->upload(t->grad, g->data, sizeof(float) * (size_t)g->n);
    t->grad_valid = 1;
}

TEST(nn_ref_optimisers)
{
    ref_file f;
    CHECK_MSG(!ref_load(&f, "test/data/ref/optim.ref"), "%s", tal_errmsg());
    static const char *names[] = { "adamw", "adam", "sgd", "sgd_nesterov" };
    char why[512] = "";
    for (int s = 0; s < 4 && !why[0]; s++) {
        const char *nm = names[s];
        const float *fa = ref_f(ref_get(&f, "optim/%s/fargs", nm));
        const float *lrs = ref_f(ref_get(&f, "optim/%s/lrs", nm));
        int kind = ref_i(ref_get(&f, "optim/%s/args", nm))[0];
        tal_params *P = tal_params_new();
        tal_tensor *p0 = tal_param(P, "p0", TAL_PARAM_DECAY, 2, (int64_t[]){ 5, 3 });
        tal_tensor *p1 = tal_param(P, "p1", 0, 1, (int64_t[]){ 4 });
        CHECK(!tal_params_alloc(P, NULL));
        tal_params_backend(P)->upload(p0->data, ref_get(&f, "optim/%s/p0", nm)->data, 15 * 4);
        tal_params_backend(P)->upload(p1->data, ref_get(&f, "optim/%s/p1", nm)->data, 4 * 4);
        tal_optim_config c = tal_optim_defaults(kind);
        c.beta1 = fa[0];
        c.beta2 = fa[1];
        c.eps = fa[2];
        c.weight_decay = fa[3];
        c.momentum = fa[4];
        c.nesterov = fa[5] != 0;
        tal_optim *o = tal_optim_new(P, &c);
        CHECK(o);
        for (int step = 0; step < 3; step++) {
            tal_params_zero_grad(P);
            set_grad(P, p0, ref_get(&f, "optim/%s/g0_%d", nm, step));
            set_grad(P, p1, ref_get(&f, "optim/%s/g1_%d", nm, step));
            CHECK(!tal_optim_step(o, lrs[step]));
        }
        tal_graph *g = tal_graph_new(NULL);
        if (!ref_compare_tensor(g, p0, 0, ref_get(&f, "optim/%s/p0_final", nm), 1e-5, 1e-6, why, sizeof why))
            ref_compare_tensor(g, p1, 0, ref_get(&f, "optim/%s/p1_final", nm), 1e-5, 1e-6, why, sizeof why);
        tal_graph_free(g);
        tal_optim_free(o);
        tal_params_free(P);
    }
    ref_free(&f);
    CHECK_MSG(!why[0], "%s", why);
}

TEST(nn_ref_clip_grad_norm)
{
    ref_file f;
    CHECK_MSG(!ref_load(&f, "test/data/ref/optim.ref"), "%s", tal_errmsg());
    char why[512] = "";
    for (int i = 0; i < 2 && !why[0]; i++) {
        const float *fa = ref_f(ref_get(&f, "clip/%d/fargs", i));
        tal_params *P = tal_params_new();
        tal_tensor *p0 = tal_param(P, "p0", TAL_PARAM_DECAY, 2, (int64_t[]){ 5, 3 });
        tal_tensor *p1 = tal_param(P, "p1", 0, 1, (int64_t[]){ 4 });
        CHECK(!tal_params_alloc(P, NULL));
        set_grad(P, p0, ref_get(&f, "clip/%d/g0", i));
        set_grad(P, p1, ref_get(&f, "clip/%d/g1", i));
        double norm = tal_clip_grad_norm(P, fa[0]);
        CHECK_NEAR(norm, fa[1], 1e-5 * fa[1]);
        tal_graph *g = tal_graph_new(NULL);
        if (!ref_compare_tensor(g, p0, 1, ref_get(&f, "clip/%d/g0_clipped", i), 1e-5, 1e-6, why, sizeof why))
            ref_compare_tensor(g, p1, 1, ref_get(&f, "clip/%d/g1_clipped", i), 1e-5, 1e-6, why, sizeof why);
        tal_graph_free(g);
        tal_params_free(P);
    }
    ref_free(&f);
    CHECK_MSG(!why[0], "%s", why);
}
