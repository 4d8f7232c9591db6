/* test_cuda.c — the CUDA backend against the CPU backend, its oracle
 * (STYLE.md 11: ggml's test-backend-ops, llm.c's validate_result).
 *
 *   - every op, forward and backward, on the random cases of the gradient
 *     checks (test_nn_grad.c's builders), then on shapes large enough to
 *     cross the CUDA kernels' tiles (32 queries, 8-32 channels staged at a
 *     time, block reductions over hundreds of channels), compared element
 *     by element with gc_parity's bound;
 *   - one full training step of the ActionFormer-style test network
 *     (test/unit/trainer.c: drop-path, focal loss, clipping, AdamW, EMA):
 *     loss, gradients and the weights after the step;
 *   - the allocator: a second and third step reserve no new device memory;
 *     a request larger than the GPU fails with NULL, not a sticky error.
 *
 * Where no GPU can be used (no CUDA in this build, no driver, no device)
 * each GPU test is reported "ok N - cuda_... # skip no CUDA device (<why>)"; the
 * device-selection test runs everywhere.  On a GPU machine run these alone
 * with `build/rel-cuda/test/unit-tests cuda`, and under compute-sanitizer
 * with `make check-cuda-sanitize`. */
#include "harness.h"
#include "gradcheck.h"
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the CUDA backend, or NULL with the reason in why[] */
static const tal_backend *cuda_or_why(char *why, size_t size)
{
    const tal_backend *be = tal_backend_cuda();
    if (!be)
        snprintf(why, size, "%s", tal_errmsg());
    tal_err_clear();
    return be;
}

#define NEED_CUDA(be)                                                        \
    char why_[512];                                                          \
    const tal_backend *be = cuda_or_why(why_, sizeof why_);                  \
    if (!be)                                                                 \
        SKIP("no CUDA device (%s)", why_)

/* ---- device selection (runs without a GPU too) --------------------------------- */

TEST(cuda_device_selection)
{
    CHECK(tal_backend_for("cpu") == &tal_backend_cpu);
    CHECK(tal_backend_for("tpu") == NULL);
    CHECK(strstr(tal_errmsg(), "'tpu'"));
    tal_err_clear();
    const tal_backend *gpu = tal_backend_cuda();
    tal_err_clear();
    /* auto: the GPU when one can be used, else the CPU, and no error left */
    const tal_backend *a = tal_backend_for(NULL);
    CHECK(a == (gpu ? gpu : &tal_backend_cpu));
    CHECK(tal_backend_for("auto") == a);
    CHECK(!tal_errcode());
    /* cuda without a GPU: NULL and one line saying why */
    const tal_backend *c = tal_backend_for("cuda");
    CHECK(c == gpu);
    if (!c) {
        const char *m = tal_errmsg();
        CHECK_MSG(m[0] && !strchr(m, '\n'), "message '%s'", m);
        CHECK(!tal_cuda_device_name()[0]);
        tal_err_clear();
    } else {
        CHECK(!strcmp(c->name, "cuda") && tal_cuda_device_name()[0]);
    }
    CHECK(tal_cuda_built() == 0 || tal_cuda_built() == 1);
}

/* ---- every op on the gradient checks' random cases ----------------------------- */

/* tolerance of a family: |gpu - cpu| <= tol (|cpu| + rms(cpu)).  float32
 * on both sides; the GPU sums in other orders (cuBLAS, block reductions)
 * and uses CUDA's expf/erff/log1pf, so a few ulp per term, more where a
 * softmax or an exp chain amplifies them */
static double family_tol(const char *name)
{
    if (!strcmp(name, "attention") || !strcmp(name, "losses") || !strcmp(name, "softmax") || !strcmp(name, "bce_prob"))
        return 5e-4;
    return 2e-4;
}

typedef struct {
    int cases;
    double max_rel, nmse;
} tally;

static void tally_add(tally *t, const gc_parity_result *r)
{
    t->cases++;
    if (!(r->max_rel <= t->max_rel))
        t->max_rel = r->max_rel;
    if (!(r->nmse <= t->nmse))
        t->nmse = r->nmse;
}

/* one case on the CPU and on be; a failure is recorded and the run goes on
 * so that one report names every op that disagrees */
static void parity_case(const tal_backend *be, const gc_case *c, uint64_t seed, double tol, const char *family,
                        tally *t)
{
    gc_parity_result res;
    int rc = gc_parity(be, c, seed, tol, &res);
    if (rc)
        tal_test_fail(__FILE__, __LINE__, "%s: %s (seed %llu): %s", family, c->name, (unsigned long long)seed,
                      res.why);
    else
        tally_add(t, &res);
}

TEST(cuda_parity_ops)
{
    NEED_CUDA(be);
    for (const gc_builder *f = gc_builders; f->name; f++) {
        tally t = { 0 };
        double tol = family_tol(f->name);
        for (int v = 0;; v++) {
            int done = 0;
            for (int s = 0; s < 3 && !done; s++) {
                gc_case c;
                memset(&c, 0, sizeof c);
                tal_rng r;
                tal_rng_seed(&r, (uint64_t)(v * 131 + s * 7 + 1));
                if (f->build(&c, v, &r)) {
                    done = 1;
                    break;
                }
                c.twice = s == 2;   /* the accumulating (+=) backward paths */
                parity_case(be, &c, (uint64_t)(5000 + v * 10 + s), tol, f->name, &t);
            }
            if (done)
                break;
        }
        printf("# cuda parity %-14s %3d cases, max rel %.2e, max nmse %.2e\n", f->name, t.cases, t.max_rel, t.nmse);
        CHECK_MSG(be->status() == 0, "%s left the backend failed: %s", f->name, tal_errmsg());
    }
}

/* ---- shapes that cross the kernels' tiles --------------------------------------- */


static tal_tensor *f_attn(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_attention(g, in[0], in[1], in[2], in[3], c->ia[0], c->ia[1]);
}

static tal_tensor *f_conv(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_conv1d(g, in[0], in[1], in[2], c->ia[0], c->ia[1], c->ia[2], in[3]);
}

static tal_tensor *f_ln(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    (void)c;
    return tal_layernorm(g, in[0], in[1], in[2], 1e-5f);
}

static tal_tensor *f_lnact(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_layernorm_act(g, in[0], in[1], in[2], 1e-5f, c->ia[0]);
}

static tal_tensor *f_softmax(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return c->ia[0] ? tal_log_softmax(g, in[0], -1, NULL) : tal_softmax(g, in[0], -1, NULL);
}

static tal_tensor *f_matmul(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_matmul(g, in[0], in[1], c->ia[0], c->ia[1]);
}

static tal_tensor *f_topk(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_topk_mean(g, in[0], c->ia[0], in[1]);
}

static tal_tensor *f_sum(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_sum(g, in[0], c->ia[0], 0);
}

static tal_tensor *f_focal(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    (void)c;
    return tal_sigmoid_focal(g, in[0], in[1], 0.25f, 2.0f);
}

static tal_tensor *f_diou(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    (void)c;
    return tal_diou_1d(g, in[0], in[1]);
}

static tal_tensor *f_bcep(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return c->fa[1] ? tal_quality_focal_prob(g, in[0], in[1], 2.0f) : tal_bce_prob(g, in[0], in[1], 2.0f);
}

static tal_tensor *f_l2n(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    (void)c;
    return tal_l2_normalize(g, in[0], 1e-8f);
}

/* ReLU after LayerNorm: keep the normalised values off the kink (see
 * test_nn_grad.c's fix_lnact) so that both sides take the same branch */
static void fix_lnact(float **x, const gc_case *c)
{
    for (int64_t i = 0; i < c->shape[1][0]; i++) {
        float w = 0.1f * x[1][i];
        x[1][i] = w > 0.2f ? 0.2f : w < -0.2f ? -0.2f : w;
        x[2][i] = x[2][i] < 0 ? x[2][i] - 0.8f : x[2][i] + 0.8f;
    }
}

TEST(cuda_parity_large)
{
    NEED_CUDA(be);
    tally t = { 0 };
    gc_case c;
    uint64_t seed = 77;

    /* banded attention: windows 19 and 25 (the fused kernel's target),
     * 81 and 255 (fewer channels staged per step), and global; D = 40
     * crosses the 32-channel staging; T = 150 crosses query tiles */
    static const int win[][3] = { { 4, 19, 150 }, { 2, 25, 97 }, { 1, 81, 130 }, { 1, 255, 70 }, { 2, 0, 70 } };
    for (size_t i = 0; i < sizeof win / sizeof *win; i++) {
        memset(&c, 0, sizeof c);
        int H = win[i][0], D = 40, T = win[i][2];
        snprintf(c.name, sizeof c.name, "attention heads=%d window=%d D=%d T=%d", H, win[i][1], D, T);
        c.fn = f_attn;
        c.ia[0] = H;
        c.ia[1] = win[i][1];
        for (int k = 0; k < 3; k++)
            gc_in(&c, k, GC_SMALL, 1, GC_SH(2, H * D, T));
        gc_in(&c, 3, GC_MASK, 0, GC_SH(2, T));
        parity_case(be, &c, seed++, 5e-4, "large", &t);
    }

    /* conv1d: 3-tap over 70 -> 40 channels (stride 1 and 2, masked), and
     * depthwise (groups = channels) as ActionFormer's stem uses */
    static const int conv[][4] = { { 70, 40, 1, 1 }, { 70, 40, 2, 1 }, { 64, 64, 1, 64 } };
    for (size_t i = 0; i < sizeof conv / sizeof *conv; i++) {
        memset(&c, 0, sizeof c);
        int Cin = conv[i][0], Cout = conv[i][1], S = conv[i][2], G = conv[i][3], T = 203;
        int Tout = (T + 2 - 3) / S + 1;
        snprintf(c.name, sizeof c.name, "conv1d %d->%d stride=%d groups=%d T=%d", Cin, Cout, S, G, T);
        c.fn = f_conv;
        c.ia[0] = S;
        c.ia[1] = 1;
        c.ia[2] = G;
        gc_in(&c, 0, GC_NORMAL, 1, GC_SH(2, Cin, T));
        gc_in(&c, 1, GC_SMALL, 1, GC_SH(Cout, Cin / G, 3));
        gc_in(&c, 2, GC_NORMAL, 1, GC_SH(Cout));
        gc_in(&c, 3, GC_MASK, 0, GC_SH(2, Tout));
        parity_case(be, &c, seed++, 2e-4, "large", &t);
    }

    /* LayerNorm over 300 channels (block reductions), alone and fused with
     * each activation */
    for (int a = -1; a < 3; a++) {
        memset(&c, 0, sizeof c);
        snprintf(c.name, sizeof c.name, "layernorm%s C=300 T=77", a < 0 ? "" : a == 0 ? "+relu" : a == 1 ? "+gelu" : "+sigmoid");
        c.fn = a < 0 ? f_ln : f_lnact;
        c.ia[0] = a;
        gc_in(&c, 0, GC_NORMAL, 1, GC_SH(3, 300, 77));
        gc_in(&c, 1, GC_NORMAL, 1, GC_SH(300));
        gc_in(&c, 2, GC_NORMAL, 1, GC_SH(300));
        if (a == TAL_ACT_RELU)
            c.fix = fix_lnact;
        parity_case(be, &c, seed++, 2e-4, "large", &t);
    }

    /* softmax and log-softmax over rows of 1000 */
    for (int lg = 0; lg < 2; lg++) {
        memset(&c, 0, sizeof c);
        snprintf(c.name, sizeof c.name, "%ssoftmax rows of 1000", lg ? "log_" : "");
        c.fn = f_softmax;
        c.ia[0] = lg;
        gc_in(&c, 0, GC_NORMAL, 1, GC_SH(37, 1000));
        parity_case(be, &c, seed++, 5e-4, "large", &t);
    }

    /* matrix products through cuBLAS, every transpose */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            memset(&c, 0, sizeof c);
            snprintf(c.name, sizeof c.name, "matmul 130x257 @ 257x70 ta=%d tb=%d", ta, tb);
            c.fn = f_matmul;
            c.ia[0] = ta;
            c.ia[1] = tb;
            gc_in(&c, 0, GC_NORMAL, 1, 2, ta ? (int64_t[]){ 257, 130 } : (int64_t[]){ 130, 257 });
            gc_in(&c, 1, GC_NORMAL, 1, 2, tb ? (int64_t[]){ 70, 257 } : (int64_t[]){ 257, 70 });
            parity_case(be, &c, seed++, 2e-4, "large", &t);
        }

    /* top-k mean over 500 valid steps, a channel sum over 3000 */
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "topk_mean k=60 T=500");
    c.fn = f_topk;
    c.ia[0] = 60;
    gc_in(&c, 0, GC_DISTINCT, 1, GC_SH(2, 5, 500));
    gc_in(&c, 1, GC_MASK, 0, GC_SH(2, 500));
    parity_case(be, &c, seed++, 2e-4, "large", &t);
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "sum over 3000");
    c.fn = f_sum;
    c.ia[0] = 1;
    gc_in(&c, 0, GC_NORMAL, 1, GC_SH(4, 3000, 3));
    parity_case(be, &c, seed++, 2e-4, "large", &t);

    /* the fused losses at a detector's size: 20 classes x 4600 positions */
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "sigmoid focal 20x4600");
    c.fn = f_focal;
    gc_in(&c, 0, GC_NORMAL, 1, GC_SH(20, 4600));
    gc_in(&c, 1, GC_BINARY, 0, GC_SH(20, 4600));
    parity_case(be, &c, seed++, 5e-4, "large", &t);
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "diou 4600 offsets");
    c.fn = f_diou;
    gc_in(&c, 0, GC_POS, 1, GC_SH(4600, 2));
    gc_in(&c, 1, GC_POS, 0, GC_SH(4600, 2));
    parity_case(be, &c, seed++, 5e-4, "large", &t);

    /* FS-PTAL's point loss over 21 channels x 3000 snippets, and the
     * normalisation of 700 embeddings of 129 channels (rows longer than a
     * warp, more rows than one launch's warps) */
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "bce_prob gamma=2 21x3000");
    c.fn = f_bcep;
    gc_in(&c, 0, GC_UNIT, 1, GC_SH(21, 3000));
    gc_in(&c, 1, GC_BINARY, 0, GC_SH(21, 3000));
    parity_case(be, &c, seed++, 5e-4, "large", &t);
    /* APL's quality focal loss on the joint score: 4600 positions x 20 classes, soft targets */
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "quality_focal_prob beta=2 4600x20");
    c.fn = f_bcep;
    c.fa[1] = 1;
    gc_in(&c, 0, GC_UNIT, 1, GC_SH(4600, 20));
    gc_in(&c, 1, GC_UNIT, 0, GC_SH(4600, 20));
    parity_case(be, &c, seed++, 5e-4, "large", &t);
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "l2_normalize 700x129");
    c.fn = f_l2n;
    gc_in(&c, 0, GC_NORMAL, 1, GC_SH(700, 129));
    parity_case(be, &c, seed++, 2e-4, "large", &t);

    printf("# cuda parity %-14s %3d cases, max rel %.2e, max nmse %.2e\n", "large", t.cases, t.max_rel, t.nmse);
    CHECK_MSG(be->status() == 0, "the backend failed: %s", tal_errmsg());
}

/* ---- one training step of the ActionFormer-style network ------------------------ */

/* n floats of device (or host) memory, on the host */
static float *fetch(const tal_backend *be, const float *p, size_t n)
{
    float *h = malloc(sizeof(float) * (n ? n : 1));
    if (h)
        be->download(h, p, sizeof(float) * n);
    return h;
}

/* |g - c| <= tol (|c| + rms(c)) for every element; "" or the first failure */
static const char *close_to(const float *cpu, const float *gpu, size_t n, double tol, double *max_rel)
{
    static char msg[256];
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)cpu[i] * cpu[i];
    double rms = n ? sqrt(ss / (double)n) : 0;
    msg[0] = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)gpu[i] - cpu[i]), s = fabs(cpu[i]) + rms + 1e-30;
        if (d / s > *max_rel)
            *max_rel = d / s;
        if (!(d <= tol * s)) {
            snprintf(msg, sizeof msg, "element %zu: %.9g on the CPU, %.9g on the GPU (rms %.3g)", i, cpu[i], gpu[i], rms);
            return msg;
        }
    }
    return msg;
}

TEST(cuda_parity_training_step)
{
    NEED_CUDA(be);
    trainer a, b;   /* a on the CPU, b on the GPU: same seed, same weights, same batch */
    CHECK_MSG(!trainer_init_on(&a, 5, 1, NULL), "%s", tal_errmsg());
    CHECK_MSG(!trainer_init_on(&b, 5, 1, be), "%s", tal_errmsg());
    size_t n = tal_params_size(a.P);
    CHECK(n == tal_params_size(b.P));
    float *w0 = fetch(be, tal_params_data(b.P), n);
    CHECK(w0 && !memcmp(w0, tal_params_data(a.P), n * sizeof(float)));   /* initialised on the host, uploaded */
    free(w0);

    CHECK_MSG(!trainer_grad(&a), "CPU step: %s", tal_errmsg());
    CHECK_MSG(!trainer_grad(&b), "GPU step: %s", tal_errmsg());
    printf("# training step loss: cpu %.9g, cuda %.9g\n", a.last_loss, b.last_loss);
    CHECK_MSG(fabs(a.last_loss - b.last_loss) <= 1e-4 * fabs(a.last_loss), "loss %.9g on the CPU, %.9g on the GPU",
              a.last_loss, b.last_loss);

    /* clipped gradients of every parameter */
    double rel = 0;
    float *ga = tal_params_grads(a.P), *gb = fetch(be, tal_params_grads(b.P), n);
    CHECK(gb);
    const char *m = close_to(ga, gb, n, 2e-3, &rel);
    if (m[0]) {
        free(gb);
        CHECK_MSG(0, "gradients: %s", m);
    }
    printf("# training step gradients: max rel %.2e\n", rel);

    /* the weights after AdamW.  Its first step moves a weight by about
     * lr * g / |g|: where |g| is tiny against its neighbours the direction
     * rests on rounding, so those weights are only held to 2 lr */
    double lr = tal_sched_lr(&a.sched, a.step);
    CHECK_MSG(!trainer_update(&a), "%s", tal_errmsg());
    CHECK_MSG(!trainer_update(&b), "%s", tal_errmsg());
    float *pa = tal_params_data(a.P), *pb = fetch(be, tal_params_data(b.P), n);
    CHECK(pb);
    double gss = 0;
    for (size_t i = 0; i < n; i++)
        gss += (double)ga[i] * ga[i];
    double grms = sqrt(gss / (double)(n ? n : 1)), worst = 0;
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++) {
        double d = fabs((double)pb[i] - pa[i]);
        double bound = fabs(ga[i]) < 1e-3 * grms ? 2 * lr : 1e-5 * fabs(pa[i]) + 1e-2 * lr;
        if (d / bound > worst)
            worst = d / bound;
        if (!(d <= bound))
            bad = i;
    }
    float fa = bad < n ? pa[bad] : 0, fb = bad < n ? pb[bad] : 0, fg = bad < n ? ga[bad] : 0;
    free(gb);
    free(pb);
    CHECK_MSG(bad == n, "weight %zu after the step: %.9g on the CPU, %.9g on the GPU (gradient %.3g, lr %.3g)", bad,
              fa, fb, fg, lr);
    printf("# training step weights after AdamW: worst %.2f of the bound\n", worst);
    CHECK_MSG(be->status() == 0, "%s", tal_errmsg());
    trainer_free(&a);
    trainer_free(&b);
}

/* ---- the allocator ---------------------------------------------------------------- */

TEST(cuda_allocator_reuses_memory)
{
    NEED_CUDA(be);
    trainer t;
    CHECK_MSG(!trainer_init_on(&t, 9, 1, be), "%s", tal_errmsg());
    CHECK_MSG(!trainer_run(&t, 1), "%s", tal_errmsg());
    tal_cuda_mem m1, m3;
    tal_cuda_mem_stats(&m1);
    CHECK_MSG(!trainer_run(&t, 2), "%s", tal_errmsg());
    tal_cuda_mem_stats(&m3);
    printf("# device memory: %.1f MiB reserved after one step, %.1f MiB after three (peak in use %.1f MiB)\n",
           m1.reserved / 1048576.0, m3.reserved / 1048576.0, m3.peak_live / 1048576.0);
    /* the same graph every step: blocks come back from the cache */
    CHECK_MSG(m3.peak_reserved == m1.peak_reserved, "steps 2-3 reserved %zu more bytes",
              m3.peak_reserved - m1.peak_reserved);
    trainer_free(&t);

    /* more than any GPU has: NULL, and the backend still works */
    void *p = be->alloc((size_t)1 << 50);
    CHECK(p == NULL);
    CHECK_MSG(be->status() == 0, "an out-of-memory request left the backend failed: %s", tal_errmsg());
    float *d = be->alloc(4 * sizeof(float)), h[4] = { 1, 2, 3, 4 }, back[4] = { 0 };
    CHECK(d);
    be->upload(d, h, sizeof h);
    be->download(back, d, sizeof back);
    be->free(d);
    CHECK(!memcmp(h, back, sizeof h) && be->status() == 0);
}
