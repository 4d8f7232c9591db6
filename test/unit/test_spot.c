/* test_spot.c — the SPOT-style detector on cases worked out by hand:
 * resampling to the fixed scale, segment spans, class and mask targets,
 * each loss (value and gradient), inference candidates, the mapping back
 * to seconds; and a tiny detector end to end.  Planted mistakes (a
 * transposed mask layout, a 1% error in a gradient kernel) must fail the
 * same checks. */
#include "harness.h"
#include "gradcheck.h"
#include "tal.h"
#include "models/detector.h"
#include "models/spot.h"
#include "nn/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- resampling ----------------------------------------------------------------- */

TEST(spot_resample_linear_by_hand)
{
    /* 4 -> 2: source positions 0.5 and 2.5 */
    float x[4] = { 1, 3, 10, 20 }, y[2];
    tal_spot_resample(x, 1, 1, 4, 1, 2, TAL_SPOT_LINEAR, y, 1, 1);
    CHECK(y[0] == 2 && y[1] == 15);
    /* 2 -> 4: positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the end: the last) */
    float z[4];
    tal_spot_resample(x, 1, 1, 2, 1, 4, TAL_SPOT_LINEAR, z, 1, 1);
    CHECK(z[0] == 1 && z[1] == 1.5f && z[2] == 2.5f && z[3] == 3);
}

TEST(spot_resample_area_by_hand)
{
    /* 3 -> 2: cells [0, 1.5) and [1.5, 3) */
    float x[3] = { 3, 6, 9 }, y[2];
    tal_spot_resample(x, 1, 1, 3, 1, 2, TAL_SPOT_AREA, y, 1, 1);
    CHECK_NEAR(y[0], (3 + 0.5 * 6) / 1.5, 1e-6);
    CHECK_NEAR(y[1], (0.5 * 6 + 9) / 1.5, 1e-6);
    /* 2 -> 4: each input value twice */
    float z[4];
    tal_spot_resample(x, 1, 1, 2, 1, 4, TAL_SPOT_AREA, z, 1, 1);
    CHECK(z[0] == 3 && z[1] == 3 && z[2] == 6 && z[3] == 6);
}

TEST(spot_resample_linear_is_the_resample_op)
{
    /* (T, D) row-major in, (D, T_out) out, against tal_resample on (D, T) */
    int Ts[3][2] = { { 7, 4 }, { 5, 11 }, { 300, 256 } };
    tal_rng r;
    tal_rng_seed(&r, 5);
    for (int k = 0; k < 3; k++) {
        int T = Ts[k][0], To = Ts[k][1], D = 3;
        float *x = malloc(sizeof *x * T * D), *xt = malloc(sizeof *xt * T * D), *y = malloc(sizeof *y * D * To),
              *ref = malloc(sizeof *ref * D * To);
        for (int i = 0; i < T * D; i++)
            x[i] = (float)tal_rng_normal(&r);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < D; c++)
                xt[c * T + t] = x[t * D + c];
        tal_spot_resample(x, D, 1, T, D, To, TAL_SPOT_LINEAR, y, 1, To);
        tal_graph *g = tal_graph_new(NULL);
        tal_tensor *o = tal_resample(g, tal_tensor_from(g, 2, (int64_t[]){ D, T }, xt), To, TAL_RESAMPLE_LINEAR);
        int bad = !o || tal_tensor_download(g, o, ref);
        /* the same formula; the op's kernel is built for vectorisation and may
         * fuse the multiply-add, so agreement is to rounding, not to the bit */
        for (int i = 0; !bad && i < D * To; i++)
            bad = fabsf(y[i] - ref[i]) > 1e-6f * (1 + fabsf(ref[i]));
        tal_graph_free(g);
        free(x);
        free(xt);
        free(y);
        free(ref);
        CHECK_MSG(!bad, "%d -> %d differs from tal_resample", T, To);
    }
}

/* ---- spans and targets ------------------------------------------------------------- */

TEST(spot_span_by_hand)
{
    tal_spot_map m = tal_spot_map_make(8, 4);   /* 2 input snippets per output snippet */
    int lo, hi;
    CHECK(m.s == 2);
    /* grid [1.5, 5.5] -> cells [1, 3]: centres 1.5 and 2.5 inside */
    CHECK(tal_spot_span(&m, 1.5, 5.5, &lo, &hi) && lo == 1 && hi == 2);
    /* start and end given the wrong way round: the same */
    CHECK(tal_spot_span(&m, 5.5, 1.5, &lo, &hi) && lo == 1 && hi == 2);
    /* grid [2.0, 2.4] -> cells [1.25, 1.45]: no centre; the midpoint is in snippet 1 */
    CHECK(tal_spot_span(&m, 2.0, 2.4, &lo, &hi) && lo == 1 && hi == 1);
    /* cells [5.25, 6.25]: past the end */
    CHECK(!tal_spot_span(&m, 10, 12, &lo, &hi));
    /* cells [-1.25, 0.25]: overlaps the start without a centre: snippet 0 */
    CHECK(tal_spot_span(&m, -3, 0, &lo, &hi) && lo == 0 && hi == 0);
    /* cells [-5, 3.25]: clipped at 0 */
    CHECK(tal_spot_span(&m, -10.5, 6, &lo, &hi) && lo == 0 && hi == 2);
    /* upsampling 2 -> 8 (s = 1/4): grid [0, 1] -> cells [2, 6] -> snippets 2..5 */
    tal_spot_map u = tal_spot_map_make(2, 8);
    CHECK(tal_spot_span(&u, 0, 1, &lo, &hi) && lo == 2 && hi == 5);
}

/* the hand-worked case: T_in 8 -> T 4, C = 2
 *   A = grid [1.5, 5.5], class 0: snippets 1, 2
 *   B = grid [2.0, 2.4], class 1: snippet 1 (shorter: owns it)
 *   Z = grid [10, 12], class 1: outside, no snippet
 * cls = [2, 1, 0, 2]; row 1 = B's span {1}, row 2 = A's span {1, 2} */
static const tal_spot_seg hand_segs[3] = { { 1.5, 5.5, 0 }, { 2.0, 2.4, 1 }, { 10, 12, 1 } };

static const char *check_targets(const int32_t *cls, const float *mask)
{
    static const int32_t want_cls[4] = { 2, 1, 0, 2 };
    for (int t = 0; t < 4; t++)
        if (cls[t] != want_cls[t])
            return "class targets";
    for (int t = 0; t < 4; t++)
        for (int j = 0; j < 4; j++) {
            int want = (t == 1 && j == 1) || (t == 2 && (j == 1 || j == 2));
            if (mask[j * 4 + t] != (float)want)   /* column j of row t */
                return "mask targets";
        }
    return NULL;
}

TEST(spot_targets_by_hand)
{
    tal_spot_map m = tal_spot_map_make(8, 4);
    int32_t cls[4];
    float mask[16];
    CHECK_EQ_INT(tal_spot_targets(&m, hand_segs, 3, 2, cls, mask), 2);
    const char *e = check_targets(cls, mask);
    CHECK_MSG(!e, "%s", e);
    /* no instance: all background, empty mask */
    CHECK_EQ_INT(tal_spot_targets(&m, hand_segs, 0, 2, cls, mask), 0);
    for (int i = 0; i < 16; i++)
        CHECK(mask[i] == 0 && (i >= 4 || cls[i] == 2));
    /* equal lengths: the first instance owns the snippets */
    tal_spot_seg same[2] = { { 1.5, 5.5, 1 }, { 1.5, 5.5, 0 } };
    CHECK_EQ_INT(tal_spot_targets(&m, same, 2, 2, cls, NULL), 2);
    CHECK(cls[1] == 1 && cls[2] == 1);
    /* a class outside [0, C) is left out */
    tal_spot_seg odd[1] = { { 1.5, 5.5, 7 } };
    CHECK_EQ_INT(tal_spot_targets(&m, odd, 1, 2, cls, NULL), 0);
}

TEST(spot_targets_planted_transpose_fails)
{
    /* the mask written row-major (mask[t*T + j]) instead of column-major
     * must not pass the check the right layout passes */
    tal_spot_map m = tal_spot_map_make(8, 4);
    int32_t cls[4];
    float mask[16], tr[16];
    tal_spot_targets(&m, hand_segs, 3, 2, cls, mask);
    for (int t = 0; t < 4; t++)
        for (int j = 0; j < 4; j++)
            tr[t * 4 + j] = mask[j * 4 + t];
    CHECK(check_targets(cls, tr) != NULL);
    /* and a longest-wins owner rule would give snippet 1 to class 0 */
    int32_t bad[4] = { 2, 0, 0, 2 };
    CHECK(check_targets(bad, mask) != NULL);
}

TEST(spot_bce_weights_by_hand)
{
    double wp, wn;
    tal_spot_bce_weights(25, 100, &wp, &wn);   /* r = 4 */
    CHECK_NEAR(wp, 2, 1e-12);
    CHECK_NEAR(wn, 2.0 / 3, 1e-12);
    CHECK_NEAR(wp * 25 + wn * 75, 100, 1e-9);  /* each side carries half */
    tal_spot_bce_weights(0, 100, &wp, &wn);
    CHECK(wp == 0 && wn == 0.5);
    tal_spot_bce_weights(100, 100, &wp, &wn);
    CHECK(wp == 0.5 && wn == 0);
}

/* ---- losses --------------------------------------------------------------------- */

static float value(tal_graph *g, tal_tensor *t)
{
    float v = NAN;
    if (t && tal_numel(t) == 1)
        tal_tensor_download(g, t, &v);
    return v;
}

TEST(spot_losses_by_hand)
{
    tal_graph *g = tal_graph_new(NULL);
    /* CE: logits (1, K=2, T=3), channel-first; snippet 0 = (0, ln 3) with
     * target 1, snippet 1 = (1, 0) with target 0, snippet 2 = (0, 0) with
     * target 1: mean(-ln 0.75, ln(1 + 1/e), ln 2) */
    float lg[6] = { 0, 1, 0, logf(3), 0, 0 };
    int32_t tgt[3] = { 1, 0, 1 };
    float ce = value(g, tal_spot_cls_loss(g, tal_tensor_from(g, 3, (int64_t[]){ 1, 2, 3 }, lg), tgt));
    /* weighted BCE: p = 0.5 everywhere, one positive of 4: weights 2 and
     * 2/3, sum ln2 (2 + 3 x 2/3) / 4 = ln 2 */
    float z4[4] = { 0, 0, 0, 0 }, y4[4] = { 1, 0, 0, 0 };
    tal_tensor *y = tal_tensor_from(g, 3, (int64_t[]){ 1, 2, 2 }, y4);
    float bce = value(g, tal_spot_mask_bce(g, tal_tensor_from(g, 3, (int64_t[]){ 1, 2, 2 }, z4), y, 1));
    /* Dice: p = 0.5; sample 0 y = (1,1,0,0): 1 - 3/4; sample 1 y = 0: 1 - 1/2 */
    float z8[8] = { 0 }, y8[8] = { 1, 1, 0, 0, 0, 0, 0, 0 };
    float dice = value(g, tal_spot_dice(g, tal_tensor_from(g, 3, (int64_t[]){ 2, 2, 2 }, z8),
                                        tal_tensor_from(g, 3, (int64_t[]){ 2, 2, 2 }, y8)));
    float a[2] = { 1, 2 }, b[2] = { 0, 0 };
    float mse = value(g, tal_spot_mse(g, tal_tensor_from(g, 1, (int64_t[]){ 2 }, a),
                                      tal_tensor_from(g, 1, (int64_t[]){ 2 }, b)));
    int st = tal_graph_status(g);
    tal_graph_free(g);
    CHECK(!st);
    CHECK_NEAR(ce, (-log(0.75) + log(1 + exp(-1.0)) + log(2)) / 3, 1e-6);
    CHECK_NEAR(bce, log(2), 1e-6);
    CHECK_NEAR(dice, 0.375, 1e-6);
    CHECK_NEAR(mse, 2.5, 1e-6);
}

/* gradients against finite differences */
static tal_tensor *f_dice(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    (void)c;
    return tal_spot_dice(g, in[0], in[1]);
}

static tal_tensor *f_mask_bce(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    (void)c;
    int64_t n = tal_numel(in[1]);
    float *y = malloc(sizeof *y * (size_t)n);
    if (!y || tal_tensor_download(g, in[1], y)) {
        free(y);
        return NULL;
    }
    double npos = 0;
    for (int64_t i = 0; i < n; i++)
        npos += y[i];
    free(y);
    return tal_spot_mask_bce(g, in[0], in[1], npos);
}

static tal_tensor *f_cls(tal_graph *g, tal_tensor **in, const gc_case *c)
{
    return tal_spot_cls_loss(g, in[0], c->idx);
}

static gc_case loss_case(const char *name, gc_fn fn, int B, int N1, int N2)
{
    gc_case c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    c.fn = fn;
    c.nin = 2;
    for (int k = 0; k < 2; k++) {
        c.ndim[k] = 3;
        c.shape[k][0] = B;
        c.shape[k][1] = N1;
        c.shape[k][2] = N2;
    }
    c.kind[0] = GC_NORMAL;
    c.kind[1] = GC_BINARY;
    c.grad[0] = 1;
    return c;
}

static const char *check_loss_grads(const tal_backend *be)
{
    static char msg[600];
    gc_case cs[3] = { loss_case("dice", f_dice, 3, 5, 5), loss_case("mask_bce", f_mask_bce, 2, 6, 6),
                      loss_case("cls", f_cls, 2, 4, 5) };
    cs[2].nin = 1;
    cs[2].h = 0.05f;   /* a mean of many terms: its float rounding needs a wider step (the loss is smooth) */
    for (int i = 0; i < 10; i++)
        cs[2].idx[i] = i % 4;
    for (int k = 0; k < 3; k++)
        for (uint64_t s = 1; s <= 3; s++) {
            gc_result res;
            int rc = gradcheck(be, &cs[k], s, &res);
            if (rc) {
                snprintf(msg, sizeof msg, "%.60s (draw %llu): %.400s", cs[k].name, (unsigned long long)s,
                         rc < 0 ? tal_errmsg() : res.why);
                return msg;
            }
        }
    return NULL;
}

TEST(spot_loss_gradients)
{
    const char *m = check_loss_grads(NULL);
    CHECK_MSG(!m, "%s", m);
}

static void (*real_act_bwd)(float *, const float *, const float *, const float *, size_t, int, int);
static void (*real_bce_bwd)(float *, const float *, const float *, const float *, size_t, int);

static void bug_sigmoid(float *d, const float *dout, const float *inp, const float *out, size_t n, int kind, int acc)
{
    real_act_bwd(d, dout, inp, out, n, kind, acc);
    if (kind == TAL_ACT_SIGMOID && !acc)
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.01f;
}

static void bug_bce(float *d, const float *dout, const float *x, const float *y, size_t n, int acc)
{
    real_bce_bwd(d, dout, x, y, n, acc);
    if (!acc)
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.01f;
}

TEST(spot_loss_gradients_planted_bugs_fail)
{
    tal_backend bad = tal_backend_cpu;
    real_act_bwd = bad.act_backward;
    bad.act_backward = bug_sigmoid;
    const char *m = check_loss_grads(&bad);
    CHECK_MSG(m && strstr(m, "dice"), "a 1%% error in the sigmoid's gradient went unnoticed by the Dice check");
    bad = tal_backend_cpu;
    real_bce_bwd = bad.bce_backward;
    bad.bce_backward = bug_bce;
    m = check_loss_grads(&bad);
    CHECK_MSG(m && strstr(m, "mask_bce"), "a 1%% error in the BCE gradient went unnoticed");
}

/* ---- inference candidates ------------------------------------------------------------ */

/* T = 8, C = 2 (K = 3):
 *   class 0 probable at 1, 2 (0.9, 0.6); class 1 at 4..6 (0.3, 0.7, 0.95)
 *   mask rows: 1 -> columns 0..2; 2 -> 1..2; 5, 6 -> 4..6; the rest 0 */
static void hand_outputs(float *prob, float *mask)
{
    static const float p0[8] = { 0.1f, 0.9f, 0.6f, 0, 0, 0, 0, 0 };
    static const float p1[8] = { 0, 0, 0, 0, 0.3f, 0.7f, 0.95f, 0 };
    for (int t = 0; t < 8; t++) {
        prob[t * 3] = p0[t];
        prob[t * 3 + 1] = p1[t];
        prob[t * 3 + 2] = 1 - p0[t] - p1[t];
    }
    memset(mask, 0, sizeof(float) * 64);
    for (int j = 0; j <= 2; j++)
        mask[j * 8 + 1] = 1;
    for (int j = 1; j <= 2; j++)
        mask[j * 8 + 2] = 1;
    for (int j = 4; j <= 6; j++)
        mask[j * 8 + 5] = mask[j * 8 + 6] = 1;
}

typedef struct {
    double a, b, score;
    int cls;
} want_seg;

static const char *same_segs(const tal_segset *s, const want_seg *w, int n)
{
    static char msg[200];
    if ((int)s->n != n) {
        snprintf(msg, sizeof msg, "%u candidates, %d expected", s->n, n);
        return msg;
    }
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (uint32_t k = 0; k < s->n; k++)
            found |= s->v[k].cls == w[i].cls && fabs(s->v[k].start - w[i].a) < 1e-9 &&
                     fabs(s->v[k].end - w[i].b) < 1e-9 && fabs(s->v[k].score - w[i].score) < 1e-6;
        if (!found) {
            snprintf(msg, sizeof msg, "no candidate [%g, %g) class %d score %g", w[i].a, w[i].b, w[i].cls, w[i].score);
            return msg;
        }
    }
    return NULL;
}

/* Worked out: thresholds class {0.5}, mask {0.5}.
 *   class 0 run [1, 2]: mean p 0.75; soft tIoU row 1: 2 / (3 + 2 - 2),
 *     row 2: 2 / 2 -> mean 5/6 -> 0.625
 *   class 1 run [5, 6]: mean p 0.825; rows 5, 6: 2 / (3 + 2 - 2) -> 0.55
 *   seeds: snippet 1 (class 0, 0.9) and 6 (class 1, 0.95)
 *   seed 6, row 6 above 0.5: [4, 6]; mean p (0.3 + 0.7 + 0.95) / 3 = 0.65;
 *     rows 4: 0, 5: 1, 6: 1 -> 2/3 -> 0.433333
 *   seed 1, row 1: [0, 2]; mean p 1.6 / 3; rows 0: 0, 1: 1, 2: 2/3 -> 5/9
 *     -> 0.296296 */
static const want_seg hand_want[4] = {
    { 1, 3, 0.625, 0 }, { 5, 7, 0.55, 1 }, { 4, 7, 0.65 * 2 / 3, 1 }, { 0, 3, 1.6 / 3 * 5 / 9, 0 },
};

TEST(spot_candidates_by_hand)
{
    float prob[24], mask[64];
    hand_outputs(prob, mask);
    double kc[1] = { 0.5 }, km[1] = { 0.5 };
    tal_spot_infer_cfg c = { kc, 1, km, 1, 0 };
    tal_segset s = { 0 };
    CHECK(!tal_spot_candidates(&c, prob, mask, 8, 2, &s));
    const char *e = same_segs(&s, hand_want, 4);
    /* top_k 1: only the most probable seed (snippet 6) */
    tal_segset_clear(&s);
    c.top_k = 1;
    int rc = tal_spot_candidates(&c, prob, mask, 8, 2, &s);
    const char *e1 = rc ? "failed" : same_segs(&s, hand_want, 3);
    /* a second class threshold adds the runs above 0.8: class 0's [1, 1]
     * (0.9 x 1 / (3 + 1 - 1)) and class 1's [6, 6] (0.95 x 1/3), and
     * repeats the others, which are kept once */
    double kc2[2] = { 0.5, 0.8 };
    c = (tal_spot_infer_cfg){ kc2, 2, km, 1, 0 };
    tal_segset_clear(&s);
    rc = tal_spot_candidates(&c, prob, mask, 8, 2, &s);
    want_seg w6[6] = { hand_want[0], hand_want[1], hand_want[2], hand_want[3], { 1, 2, 0.3, 0 }, { 6, 7, 0.95 / 3, 1 } };
    const char *e2 = rc ? "failed" : same_segs(&s, w6, 6);
    free(s.v);
    CHECK_MSG(!e, "%s", e);
    CHECK_MSG(!e1, "top_k 1: %s", e1);
    CHECK_MSG(!e2, "two class thresholds: %s", e2);
}

TEST(spot_candidates_planted_transpose_fails)
{
    float prob[24], mask[64], tr[64];
    hand_outputs(prob, mask);
    for (int t = 0; t < 8; t++)
        for (int j = 0; j < 8; j++)
            tr[t * 8 + j] = mask[j * 8 + t];
    double kc[1] = { 0.5 }, km[1] = { 0.5 };
    tal_spot_infer_cfg c = { kc, 1, km, 1, 0 };
    tal_segset s = { 0 };
    CHECK(!tal_spot_candidates(&c, prob, tr, 8, 2, &s));
    const char *e = same_segs(&s, hand_want, 4);
    free(s.v);
    CHECK(e != NULL);
}

TEST(spot_cells_to_seconds)
{
    /* T_in 16 -> T 8 (s = 2) on a grid of 10 fps, stride 1, clip 1: cell u
     * is grid 2u - 0.5, i.e. (2u - 0.5 + 0.5) / 10 = u / 5 seconds */
    tal_spot_map m = tal_spot_map_make(16, 8);
    tal_grid g = { 10, 1, 1 };
    tal_segset s = { 0 };
    tal_segment a = { 1, 3, 0.5, 0, 0, { 0 } }, b = { 0, 8, 0.5, 1, 0, { 0 } };
    CHECK(!tal_segset_push(&s, &a) && !tal_segset_push(&s, &b));
    tal_spot_cells_to_sec(&m, &g, 1.5, &s);
    CHECK_NEAR(s.v[0].start, 0.2, 1e-12);
    CHECK_NEAR(s.v[0].end, 0.6, 1e-12);
    CHECK_NEAR(s.v[1].start, 0, 1e-12);
    CHECK_NEAR(s.v[1].end, 1.5, 1e-12);   /* 1.6 clamped to the duration */
    free(s.v);
}

/* ---- the detector end to end ---------------------------------------------------------- */

TEST(spot_detector_tiny_end_to_end)
{
    tal_det_config cfg;
    const char *sets[] = { "model.kind=spot", "model.channels=8", "model.heads=2", "model.embd_layers=1",
                           "model.stem_blocks=1", "model.window=0", "spot.temporal_scale=16", "train.ema_decay=0" };
    CHECK(!tal_det_config_load(&cfg, NULL, 0, sets, 8));
    tal_header h;
    tal_header_init(&h);
    CHECK(!tal_classes_add(&h.classes, "a", -1) && !tal_classes_add(&h.classes, "b", -1));
    h.feat_dim = 3;
    h.fps = 10;
    h.stride = 1;
    h.clip = 1;
    tal_detector *d = tal_detector_new(&cfg, &h, NULL);
    CHECK_MSG(d, "%s", tal_errmsg());
    tal_rng r;
    tal_rng_seed(&r, 1);
    tal_record rec[2];
    for (int i = 0; i < 2; i++) {
        tal_record_init(&rec[i]);
        tal_record_set_id(&rec[i], i ? "b" : "a");
        tal_record_alloc_features(&rec[i], i ? 37 : 12, 3);
        for (uint32_t k = 0; k < rec[i].T * 3; k++)
            rec[i].feat[k] = (float)tal_rng_normal(&r);
        rec[i].duration = rec[i].T / 10.0;
        rec[i].supervision = TAL_SUP_FULL;
        tal_segment s = { 0.3, 0.9, 1, i, 0, { 0 } };
        tal_segset_push(&rec[i].segs, &s);
        rec[i].present |= TAL_HAS_SEGMENTS;
    }
    int ok = !tal_detector_init(d, &r);
    tal_graph *g = tal_graph_new(NULL);
    tal_loss_log log;
    const tal_record *batch[2] = { &rec[0], &rec[1] };
    tal_graph_set_training(g, 1);
    tal_tensor *loss = ok ? tal_detector_loss(d, g, batch, 2, &r, &log) : NULL;
    ok = ok && loss && isfinite(log.total) && log.n == 4 && log.positives > 0;
    double sum = 0;
    for (int i = 0; i < log.n; i++)
        sum += log.value[i];
    ok = ok && fabs(sum - log.total) < 1e-4 * (1 + fabs(log.total)) && !tal_backward(g, loss);
    /* detection: segments in seconds inside the sequence, distributions on its snippets */
    tal_graph_reset(g);
    tal_graph_set_training(g, 0);
    tal_graph_set_grad(g, 0);
    tal_segset dets = { 0 };
    tal_record dist;
    tal_record_init(&dist);
    int drc = ok ? tal_detector_detect(d, g, &rec[1], &dets, &dist) : -1;
    const char *why = drc ? tal_errmsg() : NULL;
    for (uint32_t i = 0; !drc && i < dets.n; i++)
        if (!(dets.v[i].start >= 0 && dets.v[i].end <= rec[1].duration && dets.v[i].start <= dets.v[i].end &&
              dets.v[i].cls >= 0 && dets.v[i].cls < 2))
            why = "a detection outside the sequence";
    if (!why && (dist.dist_T != 37 || dist.dist_K != 3))
        why = "distributions of the wrong shape";
    for (uint32_t t = 0; !why && t < dist.dist_T; t++) {
        double s = dist.dist[t * 3] + dist.dist[t * 3 + 1] + dist.dist[t * 3 + 2];
        if (fabs(s - 1) > 1e-5)
            why = "a distribution that does not sum to 1";
    }
    uint32_t ndets = dets.n;
    free(dets.v);
    tal_record_free(&dist);
    tal_graph_free(g);
    tal_detector_free(d);
    tal_header_free(&h);
    for (int i = 0; i < 2; i++)
        tal_record_free(&rec[i]);
    CHECK_MSG(ok, "loss: %s", tal_errmsg());
    CHECK_MSG(!why, "%s", why);
    CHECK(ndets > 0);
}
