/* test_ttc.c — the TTC-Loc detector against a direct computation in
 * double: the network's scores and threshold, each loss term (L_clas,
 * L_reg in its four forms, L_loc) under every pooling, gate and threshold
 * rule; the gradient of the whole loss by finite differences; inference
 * on planted scores (gates, kept classes, runs in seconds, both segment
 * scores, the manual threshold); the class-table check of a loaded model. */
#include "harness.h"
#include "tal.h"
#include "models/detector.h"
#include "models/ttc_loc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { D = 4, H = 5, C = 3 };

/* ---- a direct computation ---------------------------------------------------- */

typedef struct {
    const float *w1, *b1, *w2, *b2, *w3, *b3;
} net;

static net net_of(const tal_detector *d)
{
    net n;
    n.w1 = tal_params_find(d->P, "ttc.embed.weight")->data;
    n.b1 = tal_params_find(d->P, "ttc.embed.bias")->data;
    n.w2 = tal_params_find(d->P, "ttc.conv.weight")->data;
    n.b2 = tal_params_find(d->P, "ttc.conv.bias")->data;
    n.w3 = tal_params_find(d->P, "ttc.out.weight")->data;
    n.b3 = tal_params_find(d->P, "ttc.out.bias")->data;
    return n;
}

/* s[c*T + t], b[t] of features x (T x D) */
static void ref_forward(const net *n, const float *x, int T, double *s, double *b)
{
    double *h1 = calloc((size_t)T * H, sizeof *h1), *h2 = calloc((size_t)T * H, sizeof *h2);
    for (int t = 0; t < T; t++)
        for (int j = 0; j < H; j++) {
            double v = n->b1[j];
            for (int k = 0; k < D; k++)
                v += n->w1[j * D + k] * (double)x[t * D + k];
            h1[t * H + j] = v > 0 ? v : 0;
        }
    for (int t = 0; t < T; t++)
        for (int j = 0; j < H; j++) {
            double v = n->b2[j];
            for (int k = 0; k < H; k++)
                for (int q = 0; q < 3; q++) {
                    int u = t + q - 1;
                    if (u >= 0 && u < T)
                        v += n->w2[(j * H + k) * 3 + q] * h1[u * H + k];
                }
            v += h1[t * H + j];
            h2[t * H + j] = v > 0 ? v : 0;
        }
    for (int t = 0; t < T; t++)
        for (int c = 0; c <= C; c++) {
            double v = n->b3[c];
            for (int j = 0; j < H; j++)
                v += n->w3[c * H + j] * h2[t * H + j];
            if (c < C)
                s[c * T + t] = v;
            else
                b[t] = v;
        }
    free(h1);
    free(h2);
}

static double gate_of(int kind, double z) { return tal_ttc_gate(kind, z); }

/* the three terms for a batch; targets a[c*T + t] per full record (NULL: tags) */
typedef struct {
    const tal_record *rec;
    const float *a;      /* C x T, full records */
    const int *tags;     /* C, 0/1 */
} ref_item;

static void ref_losses(const tal_det_config *cfg, const net *n, const ref_item *items, int B, double out[4])
{
    double clas = 0, reg = 0, locsum = 0, locn = 0, wb = cfg->ttc_bg_weight > 0 ? cfg->ttc_bg_weight : 1.0 / C;
    for (int i = 0; i < B; i++) {
        const tal_record *r = items[i].rec;
        int T = (int)r->T;
        double *s = malloc(sizeof *s * C * T), *b = malloc(sizeof *b * T), pooled[C + 1];
        ref_forward(n, r->feat, T, s, b);
        /* gates of the training rule */
        double thr[C];
        for (int c = 0; c < C; c++) {
            double lo = INFINITY, hi = -INFINITY;
            for (int t = 0; t < T; t++)
                lo = fmin(lo, s[c * T + t]), hi = fmax(hi, s[c * T + t]);
            thr[c] = 0.5 * (lo + hi);
        }
        double g[C][64];
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                g[c][t] = gate_of(cfg->ttc_gate,
                                  s[c * T + t] - (cfg->ttc_train_threshold == TAL_TTC_MANUAL ? thr[c] : b[t]));
        for (int c = 0; c < C; c++) {
            if (cfg->ttc_pool == TAL_TTC_POOL_TOPK) {
                int k = T / cfg->ttc_topk_ratio;
                k = k < 1 ? 1 : k;
                double v[64];
                for (int t = 0; t < T; t++)
                    v[t] = s[c * T + t];
                for (int x = 0; x < k; x++)   /* selection: the k largest first */
                    for (int y = x + 1; y < T; y++)
                        if (v[y] > v[x]) {
                            double w = v[x];
                            v[x] = v[y];
                            v[y] = w;
                        }
                double m = 0;
                for (int x = 0; x < k; x++)
                    m += v[x] / k;
                pooled[c] = m;
                continue;
            }
            double num = 0, den = 0;
            for (int t = 0; t < T; t++) {
                double w = cfg->ttc_pool == TAL_TTC_POOL_ATTENTION ? gate_of(cfg->ttc_gate, -b[t]) : g[c][t];
                num += w * s[c * T + t];
                den += w;
            }
            pooled[c] = num / (den + 1e-6);
        }
        double bm = 0;
        for (int t = 0; t < T; t++)
            bm += b[t] / T;
        pooled[C] = bm;
        double mx = -INFINITY, z = 0;
        for (int c = 0; c <= C; c++)
            mx = fmax(mx, pooled[c]);
        for (int c = 0; c <= C; c++)
            z += exp(pooled[c] - mx);
        double ysum = 0;
        for (int c = 0; c < C; c++)
            ysum += items[i].tags[c];
        for (int c = 0; c < C; c++)
            if (items[i].tags[c])
                clas -= (1.0 / ysum) * (pooled[c] - mx - log(z)) / B;
        clas -= wb * (pooled[C] - mx - log(z)) / B;
        /* L_reg */
        double st[64], dot = 0, ss = 0, bb = 0, hinge = 0, l1 = 0, l2 = 0;
        for (int t = 0; t < T; t++) {
            st[t] = -INFINITY;
            for (int c = 0; c < C; c++)
                if (items[i].tags[c])
                    st[t] = fmax(st[t], s[c * T + t]);
            dot += st[t] * b[t];
            ss += st[t] * st[t];
            bb += b[t] * b[t];
            hinge += fmax(st[t] * b[t] + 1, 0);
            l1 += fmax(1 - fabs(st[t] - b[t]), 0) / T;
            l2 += fmax(1 - (st[t] - b[t]) * (st[t] - b[t]), 0) / T;
        }
        double nrm = sqrt(ss + 1e-8) * sqrt(bb + 1e-8);
        switch (cfg->ttc_reg) {
        case TAL_TTC_REG_INNER: reg += hinge / nrm / B; break;
        case TAL_TTC_REG_COSINE: reg += (dot / nrm + 1) / B; break;
        case TAL_TTC_REG_L1: reg += l1 / B; break;
        case TAL_TTC_REG_L2: reg += l2 / B; break;
        default: break;
        }
        if (items[i].a)
            for (int c = 0; c < C; c++)
                for (int t = 0; t < T && (!cfg->ttc_loc_tagged || items[i].tags[c]); t++) {
                    locsum += fabs(g[c][t] - items[i].a[c * T + t]);
                    locn += 1;
                }
        free(s);
        free(b);
    }
    out[0] = clas;
    out[1] = reg;
    out[2] = locn > 0 ? locsum / locn : 0;
    out[3] = cfg->ttc_lambda * clas + (cfg->ttc_reg == TAL_TTC_REG_NONE ? 0 : (1 - cfg->ttc_lambda) * reg) +
             cfg->ttc_eta * out[2];
}

/* ---- the fixture: a tiny detector, one full and one tagged record --------------- */

typedef struct {
    tal_header h;
    tal_record rec[2];
    float a[C * 64];
    int tags[2][C];
} fixture;

static void fixture_make(fixture *f)
{
    memset(f, 0, sizeof *f);
    tal_header_init(&f->h);
    tal_classes_add(&f->h.classes, "a", -1);
    tal_classes_add(&f->h.classes, "b", -1);
    tal_classes_add(&f->h.classes, "c", -1);
    f->h.feat_dim = D;
    f->h.fps = 1;
    f->h.stride = 1;
    f->h.clip = 1;   /* snippet t is centred at t + 0.5 s */
    tal_rng r;
    tal_rng_seed(&r, 3);
    int Ts[2] = { 23, 17 };
    for (int i = 0; i < 2; i++) {
        tal_record *x = &f->rec[i];
        tal_record_init(x);
        tal_record_set_id(x, i ? "tagged" : "full");
        tal_record_alloc_features(x, (uint32_t)Ts[i], D);
        for (int k = 0; k < Ts[i] * D; k++)
            x->feat[k] = (float)tal_rng_normal(&r);
        x->duration = Ts[i];
    }
    /* full: class 0 over snippets 3..8 (centres 3.5..8.5), class 2 over 15..16 */
    tal_segment s0 = { 3.2, 8.9, 1, 0, 0, { 0 } }, s1 = { 15.0, 17.0, 1, 2, 0, { 0 } };
    tal_segset_push(&f->rec[0].segs, &s0);
    tal_segset_push(&f->rec[0].segs, &s1);
    f->rec[0].present |= TAL_HAS_SEGMENTS;
    f->rec[0].supervision = TAL_SUP_FULL;
    for (int t = 3; t <= 8; t++)
        f->a[0 * 23 + t] = 1;
    for (int t = 15; t <= 16; t++)
        f->a[2 * 23 + t] = 1;
    f->tags[0][0] = f->tags[0][2] = 1;
    /* tagged: classes 1 and 2 */
    tal_record_add_label(&f->rec[1], 1, 1);
    tal_record_add_label(&f->rec[1], 2, 1);
    f->rec[1].present |= TAL_HAS_LABELS;
    f->rec[1].supervision = TAL_SUP_VIDEO;
    f->tags[1][1] = f->tags[1][2] = 1;
}

static void fixture_free(fixture *f)
{
    tal_record_free(&f->rec[0]);
    tal_record_free(&f->rec[1]);
    tal_header_free(&f->h);
}

static tal_detector *tiny(const fixture *f, const char *const *extra, int nextra)
{
    const char *sets[16] = { "model.kind=ttc-loc", "model.channels=5", "model.max_seq_len=64", "ttc.dropout=0",
                             "ttc.bg_weight=0.3", "ttc.eta=2", "train.ema_decay=0" };
    int n = 7;
    for (int i = 0; i < nextra; i++)
        sets[n++] = extra[i];
    tal_det_config cfg;
    if (tal_det_config_load(&cfg, NULL, 0, sets, n))
        return NULL;
    tal_detector *d = tal_detector_new(&cfg, &f->h, NULL);
    tal_rng r;
    tal_rng_seed(&r, 9);
    if (d && tal_detector_init(d, &r)) {
        tal_detector_free(d);
        return NULL;
    }
    return d;
}

static const char *variants[][4] = {
    { "ttc.pool=gated", "ttc.gate=sigmoid", "ttc.reg=inner", "ttc.train_threshold=predicted" },
    { "ttc.pool=attention", "ttc.gate=softsign", "ttc.reg=cosine", "ttc.train_threshold=predicted" },
    { "ttc.pool=topk", "ttc.gate=sigmoid", "ttc.reg=l1", "ttc.train_threshold=manual" },
    { "ttc.pool=gated", "ttc.gate=binary", "ttc.reg=l2", "ttc.train_threshold=manual" },
    { "ttc.pool=gated", "ttc.gate=softsign", "ttc.reg=none", "ttc.topk_ratio=3" },
    { "ttc.pool=topk", "ttc.gate=sigmoid", "ttc.reg=inner", "ttc.topk_ratio=3" },
    { "ttc.pool=gated", "ttc.gate=sigmoid", "ttc.reg=inner", "ttc.loc_classes=tagged" },
};

TEST(ttc_losses_match_a_direct_computation)
{
    fixture f;
    fixture_make(&f);
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        tal_detector *d = tiny(&f, variants[v], 4);
        CHECK_MSG(d, "%s", tal_errmsg());
        tal_graph *g = tal_graph_new(NULL);
        tal_graph_set_training(g, 1);
        tal_rng r;
        tal_rng_seed(&r, 1);
        const tal_record *batch[2] = { &f.rec[0], &f.rec[1] };
        tal_loss_log log;
        tal_tensor *loss = tal_detector_loss(d, g, batch, 2, &r, &log);
        CHECK_MSG(loss, "%s", tal_errmsg());
        net n = net_of(d);
        ref_item items[2] = { { &f.rec[0], f.a, f.tags[0] }, { &f.rec[1], NULL, f.tags[1] } };
        double want[4];
        ref_losses(&d->cfg, &n, items, 2, want);
        CHECK_EQ_INT(log.n, 3);
        for (int k = 0; k < 3; k++)
            CHECK_MSG(fabs(log.value[k] - want[k]) <= 2e-5 * (1 + fabs(want[k])), "variant %zu: %s %.9g, want %.9g",
                      v, log.name[k], log.value[k], want[k]);
        CHECK_MSG(fabs(log.total - want[3]) <= 2e-5 * (1 + fabs(want[3])), "variant %zu: total %.9g, want %.9g", v,
                  log.total, want[3]);
        CHECK(want[2] > 0 && want[0] > 0);
        CHECK_EQ_INT(log.positives, 8);   /* 6 + 2 action snippets */
        CHECK(!tal_backward(g, loss));
        tal_graph_free(g);
        tal_detector_free(d);
    }
    fixture_free(&f);
}

/* every third parameter value's gradient, by central differences of the
 * direct computation (in double, so a small step stays clear of the
 * network's ReLU kinks) */
TEST(ttc_loss_gradient_by_finite_differences)
{
    fixture f;
    fixture_make(&f);
    for (int v = 0; v < 7; v++) {
        if (v == 3)
            continue;   /* the binary gate's gradient is a surrogate */
        tal_detector *d = tiny(&f, variants[v], 4);
        CHECK_MSG(d, "%s", tal_errmsg());
        tal_graph *g = tal_graph_new(NULL);
        tal_graph_set_training(g, 1);
        const tal_record *batch[2] = { &f.rec[0], &f.rec[1] };
        tal_loss_log log;
        tal_rng r;
        tal_rng_seed(&r, 1);
        tal_params_zero_grad(d->P);
        tal_tensor *loss = tal_detector_loss(d, g, batch, 2, &r, &log);
        CHECK(loss && !tal_backward(g, loss));
        tal_params_finish_grads(d->P);
        size_t N = tal_params_size(d->P);
        float *p = tal_params_data(d->P), *gr = malloc(N * sizeof *gr);
        memcpy(gr, tal_params_grads(d->P), N * sizeof *gr);
        net n = net_of(d);
        ref_item items[2] = { { &f.rec[0], f.a, f.tags[0] }, { &f.rec[1], NULL, f.tags[1] } };
        int checked = 0;
        double worst = 0;
        for (int i = 0; i < tal_params_count(d->P); i++) {
            tal_tensor *t = tal_params_get(d->P, i);
            size_t off = tal_params_offset(d->P, i);
            for (int64_t e = 0; e < tal_numel(t); e += 3) {
                float keep = p[off + e];
                double h = 1e-5 * fmax(1, fabs(keep)), lo[4], hi[4];   /* small: ReLU kinks */
                p[off + e] = (float)(keep + h);
                h = (double)p[off + e] - keep;
                ref_losses(&d->cfg, &n, items, 2, hi);
                p[off + e] = (float)(keep - h);
                ref_losses(&d->cfg, &n, items, 2, lo);
                p[off + e] = keep;
                double num = (hi[3] - lo[3]) / (2 * h), ana = gr[off + e];
                double err = fabs(num - ana) / (fabs(num) + 1e-2);
                worst = fmax(worst, err);
                CHECK_MSG(err < 2e-3, "variant %d: %s[%lld]: analytic %.6g, numerical %.6g", v, t->name, (long long)e,
                          ana, num);
                checked++;
            }
        }
        CHECK(checked > 20);
        free(gr);
        tal_graph_free(g);
        tal_detector_free(d);
    }
    fixture_free(&f);
}

/* ---- inference on planted scores ------------------------------------------------ */

TEST(ttc_inference_on_planted_scores)
{
    tal_det_config cfg;
    const char *sets[] = { "model.kind=ttc-loc" };
    CHECK(!tal_det_config_load(&cfg, NULL, 0, sets, 1));
    enum { T = 12 };
    /* class 0 above b over snippets 2..4 and 8..9; class 1 above b over 6;
     * class 2 never: scores in [-2, 3], threshold 0 */
    float s[C * T] = { 0 }, b[T] = { 0 };
    for (int t = 0; t < T; t++) {
        s[0 * T + t] = (t >= 2 && t <= 4) || t == 8 || t == 9 ? 3.0f : -2.0f;
        s[1 * T + t] = t == 6 ? 0.5f : -1.0f;
        s[2 * T + t] = -1.5f;
    }
    double p[C + 1];
    tal_ttc_video_probs(&cfg, s, b, C, T, p);
    /* gated pooling: class 0's gates are sigmoid(3) on 5 snippets and
     * sigmoid(-2) on 7 */
    double g3 = 1 / (1 + exp(-3.0)), g2 = 1 / (1 + exp(2.0));
    double s0 = (5 * g3 * 3 + 7 * g2 * -2) / (5 * g3 + 7 * g2 + 1e-6);
    double g05 = 1 / (1 + exp(-0.5)), g1 = 1 / (1 + exp(1.0));
    double s1 = (g05 * 0.5 + 11 * g1 * -1) / (g05 + 11 * g1 + 1e-6);
    double G = 12 / (1 + exp(1.5)), s2 = -1.5 * G / (G + 1e-6);
    double z = exp(s0) + exp(s1) + exp(s2) + exp(0.0);
    CHECK_NEAR(p[0], exp(s0) / z, 1e-9);
    CHECK_NEAR(p[1], exp(s1) / z, 1e-9);
    CHECK_NEAR(p[3], 1 / z, 1e-9);
    /* kept: p above the mean of the three classes -> class 0 only */
    CHECK(p[0] > (p[0] + p[1] + p[2]) / 3 && p[1] < (p[0] + p[1] + p[2]) / 3);
    tal_grid grid = { 2, 1, 1 };   /* 2 fps, one frame a snippet: snippet t spans [t/2, t/2 + 0.5) s */
    tal_runs runs = { 0 };
    tal_segset dets = { 0 };
    CHECK(!tal_ttc_segments(&cfg, s, b, C, T, &grid, 5.8, &runs, &dets));
    CHECK_EQ_INT(dets.n, 2);
    CHECK(dets.v[0].cls == 0 && dets.v[1].cls == 0);
    CHECK_NEAR(dets.v[0].start, 1.0, 1e-12);
    CHECK_NEAR(dets.v[0].end, 2.5, 1e-12);
    CHECK_NEAR(dets.v[1].start, 4.0, 1e-12);
    CHECK_NEAR(dets.v[1].end, 5.0, 1e-12);
    CHECK_NEAR(dets.v[0].score, p[0] * g3, 1e-9);   /* video probability x mean gate inside */
    /* the other segment score: sigmoid of the mean class score inside */
    cfg.ttc_score = TAL_TTC_SCORE_MEAN;
    tal_segset_clear(&dets);
    CHECK(!tal_ttc_segments(&cfg, s, b, C, T, &grid, 5.8, &runs, &dets));
    CHECK(dets.n == 2 && fabs(dets.v[1].score - 1 / (1 + exp(-3.0))) < 1e-9);
    /* a threshold above every score: no segment, whatever the video scores */
    for (int t = 0; t < T; t++)
        b[t] = 4;
    tal_segset_clear(&dets);
    CHECK(!tal_ttc_segments(&cfg, s, b, C, T, &grid, 5.8, &runs, &dets));
    CHECK_EQ_INT(dets.n, 0);
    /* manual: each class against (max + min) / 2 of its own scores -> class
     * 0 above 0.5 where it is 3; duration clamps the last run */
    cfg.ttc_test_threshold = TAL_TTC_MANUAL;
    for (int t = 0; t < T; t++)
        b[t] = -4;   /* class 0 kept: the threshold no longer decides */
    tal_segset_clear(&dets);
    CHECK(!tal_ttc_segments(&cfg, s, b, C, T, &grid, 4.6, &runs, &dets));
    int n0 = 0;
    for (uint32_t i = 0; i < dets.n; i++)
        if (dets.v[i].cls == 0) {
            n0++;
            CHECK(dets.v[i].end <= 4.6);
        }
    CHECK_EQ_INT(n0, 2);
    tal_segset_clear(&dets);
    free(dets.v);
    tal_runs_free(&runs);
}

TEST(ttc_video_probs_pools_as_configured)
{
    tal_det_config cfg;
    const char *sets[] = { "model.kind=ttc-loc", "ttc.pool=topk", "ttc.topk_ratio=4" };
    CHECK(!tal_det_config_load(&cfg, NULL, 0, sets, 3));
    enum { T = 9 };
    float s[C * T], b[T];
    for (int t = 0; t < T; t++) {
        b[t] = 0.25f * t;
        for (int c = 0; c < C; c++)
            s[c * T + t] = (float)((c + 1) * ((t * 7) % T)) / T;
    }
    double p[C + 1], want[C + 1];
    tal_ttc_video_probs(&cfg, s, b, C, T, p);
    /* k = 9 / 4 = 2: the two largest of (c+1) (7t mod 9)/9, i.e. 8/9 and 7/9 */
    for (int c = 0; c < C; c++)
        want[c] = (c + 1) * (8.0 + 7.0) / 18;
    want[C] = 0.25 * 36 / 9;
    double z = 0;
    for (int c = 0; c <= C; c++)
        z += exp(want[c]);
    for (int c = 0; c <= C; c++)
        CHECK_NEAR(p[c], exp(want[c]) / z, 1e-6);
    /* attention: the class-agnostic weights sigmoid(-b) */
    cfg.ttc_pool = TAL_TTC_POOL_ATTENTION;
    tal_ttc_video_probs(&cfg, s, b, C, T, p);
    double num[C] = { 0 }, den = 0;
    for (int t = 0; t < T; t++) {
        double w = 1 / (1 + exp(b[t]));
        den += w;
        for (int c = 0; c < C; c++)
            num[c] += w * s[c * T + t];
    }
    z = 0;
    for (int c = 0; c < C; c++)
        z += exp(want[c] = num[c] / (den + 1e-6));
    z += exp(want[C]);
    for (int c = 0; c < C; c++)
        CHECK_NEAR(p[c], exp(want[c]) / z, 1e-6);
}

/* ---- end to end: detect, distributions, the class table ------------------------- */

TEST(ttc_detect_and_class_table)
{
    fixture f;
    fixture_make(&f);
    tal_detector *d = tiny(&f, NULL, 0);
    CHECK_MSG(d, "%s", tal_errmsg());
    tal_graph *g = tal_graph_new(NULL);
    tal_graph_set_grad(g, 0);
    tal_segset dets = { 0 };
    tal_record dist;
    tal_record_init(&dist);
    CHECK(!tal_detector_detect(d, g, &f.rec[0], &dets, &dist));
    CHECK(dist.dist_T == 23 && dist.dist_K == C + 1);
    for (uint32_t t = 0; t < dist.dist_T; t++) {
        double sum = 0;
        for (int k = 0; k <= C; k++)
            sum += dist.dist[t * (C + 1) + k];
        CHECK_NEAR(sum, 1, 1e-5);
    }
    /* each detection is a run where the class beats the background column */
    for (uint32_t i = 0; i < dets.n; i++) {
        const tal_segment *x = &dets.v[i];
        CHECK(x->start >= 0 && x->end <= 23 && x->start < x->end && x->cls >= 0 && x->cls < C);
        for (int t = (int)floor(x->start + 0.5); t < (int)floor(x->end + 0.5); t++)
            CHECK(dist.dist[t * (C + 1) + x->cls] > dist.dist[t * (C + 1) + C]);
    }
    /* the class table: same count, other names -> refused */
    CHECK(!tal_detector_compatible(d, &f.h));
    tal_header other;
    tal_header_init(&other);
    CHECK(!tal_header_copy(&other, &f.h));
    free(other.classes.names[1]);
    other.classes.names[1] = strdup("B");
    CHECK(tal_detector_compatible(d, &other) == TAL_EINCOMPAT);
    CHECK(strstr(tal_errmsg(), "another class table"));
    tal_err_clear();
    tal_header_free(&other);
    free(dets.v);
    tal_record_free(&dist);
    tal_graph_free(g);
    tal_detector_free(d);
    fixture_free(&f);
}
